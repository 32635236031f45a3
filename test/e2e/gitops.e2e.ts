import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentVariables } from './env/environment.js';
import { GitRepository, startGitServer, type GitServer } from './env/gitops-git.js';
import { ARGOCD_NAMESPACE, ensureGitOpsBinaries, FLUX_NAMESPACE, GITOPS_DOC as DOC, GITOPS_DOC_URL as DOC_URL, startArgoCd, startFlux, type ControllerSet } from './env/gitops.js';
import { AwsCli } from './support/aws.js';
import { sharedEnv } from './support/context.js';
import { blocksOf, objectOf, yamlBlockWith } from './support/doc-blocks.js';
import { eventually, Kubectl, run } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { clearRegistryObjects, policyStatement, RegistryDocuments, replicationRule, scanningConfiguration, waitForClusterObjectGone } from './support/registry.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForGone, waitForReady, type Condition, type Resource } from './support/scenario.js';

// GitOps for real: Flux's source-controller, kustomize-controller and helm-controller, and Argo CD's
// application controller and repo-server (with redis), built from their releases, run against the
// environment's API server and apply a Git repository of our objects served over HTTP on loopback.
// helm-controller installs the chart from that repository first, and the operator runs as the
// ServiceAccount and under the RBAC that install created. Checked with their own objects' status as
// a user reads it, with awscli for what is in AWS, and with the AWS layer's call counts.
// docs/gitops.md is used as written: its Flux and Argo CD objects and its health customization
// command, with only the repository URL replaced (and the HelmRelease told not to wait for pods:
// there is no node here; the node tier runs the chart's pods).
// Run by `make test` after the e2e tier (`make test-gitops` alone).

const RUN = Date.now().toString(36);
const FLUX_KEY = 'AKIAGITOPSFLUX000001';
const ARGO_KEY = 'AKIAGITOPSARGO000001';
const KIND_REPO = 'ecrrepository';
const KUSTOMIZATION = 'kustomizations.kustomize.toolkit.fluxcd.io';
const GIT_REPOSITORY = 'gitrepositories.source.toolkit.fluxcd.io';
const HELM_CHART = 'helmcharts.source.toolkit.fluxcd.io';
const HELM_RELEASE = 'helmreleases.helm.toolkit.fluxcd.io';
const APPLICATION = 'applications.argoproj.io';
// An invalid lifecycle policy that the CRD accepts (its text is a string) and the operator refuses.
const INVALID_LIFECYCLE = JSON.stringify({
  rules: [
    { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } },
    { rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 }, action: { type: 'expire' } },
  ],
});
const INVALID_MESSAGE = /rulePriority 1 is already used by rules\[0\]/;
const VALID_LIFECYCLE = JSON.stringify({
  rules: [{ rulePriority: 1, description: 'keep 30', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 30 }, action: { type: 'expire' } }],
});

/** The YAML block of docs/gitops.md that holds an object of that kind, with the URL replaced. */
const docObjects = (kind: string, url: string) => yamlBlockWith(DOC, kind, { [DOC_URL]: url });
/** The one object of that kind in docs/gitops.md, with the URL replaced. */
const docObject = (kind: string, url: string) => objectOf(DOC, kind, { [DOC_URL]: url });

/** The shell block of docs/gitops.md whose text matches. */
function docCommand(match: RegExp): string {
  const block = blocksOf(DOC).find((b) => /^(bash|sh)$/.test(b.lang) && match.test(b.text));
  if (!block) throw new Error(`${DOC} has no shell block matching ${match}`);
  return block.text;
}

function repository(ns: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'ECRRepository',
    metadata: { name, namespace: ns },
    spec: { providerRef: { name: 'aws' }, repositoryName: `${ns}/${name}`, ...spec },
  }, null, 2);
}

/** A condition's lastTransitionTime (the shared Condition type leaves it out). */
function transitioned(c: Condition | undefined): string {
  return (c as (Condition & { lastTransitionTime?: string }) | undefined)?.lastTransitionTime ?? '';
}

const READ_ONLY = /^[A-Za-z]+:(Describe|List|Get|BatchGet|BatchCheck)/;
/** AWS calls that change something, between two snapshots of the layer's counts. */
function writesBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(after)) {
    if (READ_ONLY.test(op)) continue;
    const delta = n - (before[op] ?? 0);
    if (delta > 0) out[op] = delta;
  }
  return out;
}

interface FluxStatus {
  metadata: { annotations?: Record<string, string>; generation: number };
  status?: {
    conditions?: Condition[];
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    lastHandledReconcileAt?: string;
    artifact?: { revision: string };
    helmChart?: string;
    history?: Array<{ name: string; namespace: string; version: number; status: string; chartVersion: string }>;
  };
}

interface Deployment {
  metadata: { generation: number; resourceVersion: string; labels?: Record<string, string> };
  spec: { replicas: number; template: { spec: { serviceAccountName: string; containers: Array<{ name: string; readinessProbe?: unknown; livenessProbe?: unknown }> } } };
}

interface ResourceStatus {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
  status?: string;
  health?: { status: string; message?: string };
}

interface Application {
  status?: {
    sync?: { status: string; revision?: string };
    health?: { status: string; message?: string };
    resources?: ResourceStatus[];
    operationState?: { phase: string; message?: string; syncResult?: { revision: string } };
    conditions?: Array<{ type: string; message: string }>;
  };
}

describe('GitOps: Flux and Argo CD apply our objects, wait on them and prune them', () => {
  const env = sharedEnv();
  const admin = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  const registry = new RegistryDocuments(aws);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-gitops-'));
  let binDir = '';
  let git: GitServer | undefined;
  let operator: OperatorProcess | undefined;
  let flux: ControllerSet | undefined;
  let argo: ControllerSet | undefined;
  const namespaces: string[] = [];
  // The Git repository Flux reads (GitRepository platform): the chart and, later, ecr/.
  let fluxRepo: GitRepository;
  const fluxGet = <T>(kind: string, name: string) => admin.getJson<T>([kind, name, '-n', FLUX_NAMESPACE]);
  const ready = (obj: FluxStatus) => obj.status?.conditions?.find((c) => c.type === 'Ready');
  const chartVersion = /^version:\s*(\S+)/m.exec(readFileSync('charts/infra-operator/Chart.yaml', 'utf8'))?.[1] ?? '';

  const faults = async (list: unknown[]) => {
    const res = await fetch(`${env.awsEndpoint}/__aws/faults`, { method: 'POST', body: JSON.stringify(list) });
    if (!res.ok) throw new Error(`setting faults failed: ${res.status}`);
  };
  const failCreates = (accessKeyId: string) =>
    faults([{ operation: 'CreateRepository', service: 'ECR', accessKeyId, status: 500, code: 'ServerException', message: 'injected: the create is slow today' }]);
  const describeRepo = async (name: string) => {
    const r = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', name]);
    if (r.code === 0) return (JSON.parse(r.stdout) as { repositories: Array<{ repositoryName: string; imageTagMutability: string; repositoryArn: string }> }).repositories[0];
    if (/RepositoryNotFoundException/.test(r.stderr)) return undefined;
    throw new Error(`aws ecr describe-repositories failed: ${r.stderr}`);
  };

  beforeAll(async () => {
    // Built by hack/ensure-gitops.sh before the tests (CI: .ci/run); here only found in the cache.
    binDir = ensureGitOpsBinaries();
    await installCrds(admin);
    // Account-wide objects that earlier files left must not own the registry's documents.
    await clearRegistryObjects(admin);
    await faults([]);
    await registry.reset();
    git = await startGitServer(path.join(scratch, 'git'));
    flux = await startFlux({ binDir, dir: path.join(scratch, 'flux'), kubeconfig: env.kubeconfig, kubectl: admin });
    // The operator from Git: helm-controller installs the chart from the repository's chart folder.
    fluxRepo = new GitRepository(path.join(scratch, 'git'), `flux-${RUN}`, scratch);
    fluxRepo.copy(path.resolve('charts/infra-operator'), 'charts/infra-operator');
    fluxRepo.commit('the operator chart');
    const url = git.repoUrl(`flux-${RUN}`);
    await admin.apply(JSON.stringify(docObject('GitRepository', url)));
    const release = docObject('HelmRelease', url);
    // No node runs pods here: helm-controller does not wait for the Deployment's pods to be Ready.
    // The node tier runs the chart's pods and checks their probes.
    for (const phase of ['install', 'upgrade']) release.spec[phase] = { ...(release.spec[phase] as object), disableWait: true };
    await admin.apply(JSON.stringify(release));
    await eventually('HelmRelease infra-operator Ready', async () => {
      const obj = await fluxGet<FluxStatus>(HELM_RELEASE, 'infra-operator');
      if (ready(obj)?.status === 'False' && ready(obj)?.reason !== 'Progressing') throw new Error(`HelmRelease failed: ${JSON.stringify(obj.status)}\n${flux?.logs(20) ?? ''}`);
      return ready(obj)?.status === 'True' ? obj : undefined;
    }, 240_000, 1_000);
    // The operator runs as the ServiceAccount that install created, under the chart's RBAC. With
    // the default sync period (10m): each sweep records its sync in status.lastSyncTime, a write of
    // the operator's own; the checks below look at what the GitOps controllers change.
    operator = await startOperator(env, { kubeconfig: await serviceAccountKubeconfig(env, admin, { installRbac: false }) });
  });

  afterAll(async () => {
    await faults([]).catch(() => undefined);
    // The GitOps controllers go first, so that nothing re-applies what is deleted next.
    await admin.run(['delete', APPLICATION, '--all', '-n', ARGOCD_NAMESPACE, '--ignore-not-found', '--wait=false']);
    await argo?.stop();
    await flux?.stop();
    // Our objects go while the operator runs: their deletion policies are carried out.
    for (const ns of namespaces) await admin.run(['delete', 'ecrrepositories', '--all', '-n', ns, '--wait=true', '--timeout=60s']);
    for (const kind of ['ecrreplicationrules', 'ecrregistrypolicystatements', 'ecrregistryscanningconfigurations']) {
      const names = (await admin.run(['get', kind, '-o', 'name'])).stdout.split('\n').map((l) => l.trim()).filter((l) => l.includes(RUN));
      if (names.length) await admin.run(['delete', ...names, '--wait=true', '--timeout=60s']);
    }
    for (const ns of namespaces) await admin.run(['delete', 'awsproviders', '--all', '-n', ns, '--wait=true', '--timeout=60s']);
    await operator?.stop();
    await clearRegistryObjects(admin).catch(() => undefined);
    if (namespaces.length) await admin.run(['delete', 'namespace', ...namespaces, '--wait=false', '--ignore-not-found']);
    await git?.stop();
    await registry.reset().catch(() => undefined);
  });

  describe('Flux', () => {
    let ns = '';
    const replication = `gitops-flux-${RUN}`;
    const statement = `gitops-flux-${RUN}`;
    const scanning = `gitops-flux-scanning-${RUN}`;
    const sid = `GitopsFlux${RUN}`;

    const get = fluxGet;
    /** Asks for a reconciliation now, as `flux reconcile` does, and waits until it was handled. */
    const reconcile = async (kind: string, name: string) => {
      const at = new Date().toISOString();
      await admin.ok(['annotate', kind, name, '-n', FLUX_NAMESPACE, `reconcile.fluxcd.io/requestedAt=${at}`, '--overwrite']);
      await eventually(`${kind} ${name} to handle the reconcile request ${at}`, async () => ((await get<FluxStatus>(kind, name)).status?.lastHandledReconcileAt === at ? true : undefined), 120_000, 500);
    };
    /** Pushes a commit and waits for the Kustomization to have attempted it; returns its status. */
    const commit = async (message: string): Promise<string> => {
      const sha = fluxRepo.commit(message);
      await reconcile(GIT_REPOSITORY, 'platform');
      await eventually(`the Kustomization to attempt ${sha}`, async () => ((await get<FluxStatus>(KUSTOMIZATION, 'ecr')).status?.lastAttemptedRevision?.includes(sha) ? true : undefined), 120_000, 500);
      return sha;
    };
    const kustomizationReady = (sha: string, status: 'True' | 'False', timeoutMs = 180_000) =>
      eventually(`Kustomization ecr Ready=${status} at ${sha}`, async () => {
        const k = await get<FluxStatus>(KUSTOMIZATION, 'ecr');
        const c = ready(k);
        if (!k.status?.lastAttemptedRevision?.includes(sha) || c?.status !== status || c.observedGeneration !== k.metadata.generation) return undefined;
        if (status === 'True' && !k.status.lastAppliedRevision?.includes(sha)) return undefined;
        return { k, c };
      }, timeoutMs, 500);

    const writeBase = () => {
      fluxRepo.write('ecr/provider.yaml', staticProviderYaml(ns, 'aws', { keyId: FLUX_KEY }));
      fluxRepo.write('ecr/repositories/gone.yaml', repository(ns, 'gone', { deletionPolicy: 'Delete' }));
      fluxRepo.write('ecr/repositories/kept.yaml', repository(ns, 'kept', { deletionPolicy: 'Retain' }));
      fluxRepo.write('ecr/repositories/web.yaml', repository(ns, 'web', { imageTagMutability: 'MUTABLE', lifecyclePolicy: { policyText: VALID_LIFECYCLE }, deletionPolicy: 'Delete' }));
      const provider = { namespace: ns, name: 'aws' };
      fluxRepo.write('ecr/registry.yaml', [
        replicationRule(replication, provider, ['eu-west-1'], { prefixes: [ns], deletionPolicy: 'Delete' }),
        policyStatement(statement, provider, sid, {
          Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::210987654321:root' }, Action: ['ecr:ReplicateImage'], Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/*',
        }, { deletionPolicy: 'Delete' }),
        scanningConfiguration(scanning, provider, 'BASIC', [{ scanFrequency: 'SCAN_ON_PUSH', filters: [`${ns}*`] }], { deletionPolicy: 'Delete' }),
      ].map((o) => JSON.stringify(o, null, 2)).join('\n---\n'));
    };

    beforeAll(async () => {
      ns = await freshNamespace(admin, 'gitops-flux');
      namespaces.push(ns);
    });

    it('helm-controller installs the chart from a path of the same repository; the operator runs under the RBAC it installed', async () => {
      const release = await get<FluxStatus>(HELM_RELEASE, 'infra-operator');
      expect(ready(release)?.reason).toBe('InstallSucceeded');
      expect(release.status?.history?.[0]).toMatchObject({ name: 'infra-operator', namespace: 'infra-operator-system', version: 1, status: 'deployed', chartVersion });
      // source-controller packaged the chart at the commit (the HelmChart helm-controller made).
      const chart = await get<FluxStatus>(HELM_CHART, release.status?.helmChart?.split('/')[1] ?? 'flux-system-infra-operator');
      expect(ready(chart)?.status).toBe('True');
      expect(chart.status?.artifact?.revision).toContain(chartVersion);
      // What the chart renders, with the HelmRelease's values.
      const deployment = await admin.getJson<Deployment>(['deployment', 'infra-operator-controller-manager', '-n', 'infra-operator-system']);
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
      expect(deployment.spec.template.spec.serviceAccountName).toBe('infra-operator-controller-manager');
      const manager = deployment.spec.template.spec.containers.find((c) => c.name === 'manager') ?? deployment.spec.template.spec.containers[0];
      expect(manager?.readinessProbe).toBeDefined();
      expect(manager?.livenessProbe).toBeDefined();
      const sa = await admin.getJson<{ metadata: { annotations?: Record<string, string> } }>(['serviceaccount', 'infra-operator-controller-manager', '-n', 'infra-operator-system']);
      expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::123456789012:role/infra-operator-ecr-role');
      // The operator, as that ServiceAccount, reads and writes our kinds: its RBAC came with the chart.
      expect((await admin.run(['auth', 'can-i', 'patch', 'ecrrepositories/status', '--as=system:serviceaccount:infra-operator-system:infra-operator-controller-manager', '-n', 'default'])).stdout.trim()).toBe('yes');
      expect(operator?.exited()).toBeFalsy();
    });

    it('the Kustomization with wait: true is Ready only once every ECRRepository is Ready', async () => {
      writeBase();
      // Creates fail for a while (AWS answers 500): the repositories stay Reconciling.
      await failCreates(FLUX_KEY);
      const sha = fluxRepo.commit('ECR repositories, the provider and the registry settings');
      await admin.apply(docObjects('Kustomization', git!.repoUrl(`flux-${RUN}`)));
      await eventually('the ECRRepositories to be applied and Reconciling', async () => {
        const list = await admin.getJson<{ items: Resource[] }>([KIND_REPO, '-n', ns]);
        return list.items.length === 3 && list.items.every((r) => condition(r, 'Reconciling')?.status === 'True') ? true : undefined;
      }, 120_000, 500);
      // Flux waits on them: for as long as they are not Ready, neither is the Kustomization.
      for (let i = 0; i < 8; i++) {
        const k = await get<FluxStatus>(KUSTOMIZATION, 'ecr');
        expect(ready(k)?.status, JSON.stringify(k.status)).not.toBe('True');
        await new Promise((r) => setTimeout(r, 1_000));
      }
      await faults([]);
      const { c } = await kustomizationReady(sha, 'True');
      const readyAt = Date.parse(transitioned(c));
      for (const name of ['gone', 'kept', 'web']) {
        const obj = await waitForReady(admin, KIND_REPO, ns, name, {}, 5_000);
        expect(Date.parse(transitioned(condition(obj, 'Ready')))).toBeLessThanOrEqual(readyAt);
        expect(await describeRepo(`${ns}/${name}`)).toBeDefined();
      }
      expect(await registry.statement(sid)).toBeDefined();
      expect((await registry.rules()).some((r) => r.repositoryFilters?.some((f) => f.filter === ns))).toBe(true);
    }, 420_000);

    it('a commit that changes a spec is applied, and the change reaches AWS', async () => {
      expect((await describeRepo(`${ns}/web`))?.imageTagMutability).toBe('MUTABLE');
      fluxRepo.write('ecr/repositories/web.yaml', repository(ns, 'web', { imageTagMutability: 'IMMUTABLE', lifecyclePolicy: { policyText: VALID_LIFECYCLE }, deletionPolicy: 'Delete' }));
      const sha = await commit('web: immutable tags');
      await kustomizationReady(sha, 'True');
      expect((await describeRepo(`${ns}/web`))?.imageTagMutability).toBe('IMMUTABLE');
    }, 300_000);

    it('with nothing committed, reconciliations change nothing: resourceVersions stay, and the operator writes nothing to AWS', async () => {
      const versions = async () => {
        const out: Record<string, string> = {};
        for (const args of [[KIND_REPO, '-n', ns], ['awsproviders', '-n', ns], ['secrets', 'aws-credentials', '-n', ns],
          ['ecrreplicationrules', replication], ['ecrregistrypolicystatements', statement], ['ecrregistryscanningconfigurations', scanning]]) {
          const json = await admin.getJson<{ items?: Resource[]; metadata: { name: string; resourceVersion?: string } }>(args);
          for (const item of json.items ?? [json as unknown as Resource]) {
            out[`${args[0]}/${item.metadata.name}`] = (item.metadata as { resourceVersion?: string }).resourceVersion ?? '';
          }
        }
        return out;
      };
      // Settle after the last change.
      await new Promise((r) => setTimeout(r, 6_000));
      const before = await versions();
      const revisions = (await get<FluxStatus>(HELM_RELEASE, 'infra-operator')).status?.history?.map((h) => h.version);
      const deploymentGeneration = (await admin.getJson<Deployment>(['deployment', 'infra-operator-controller-manager', '-n', 'infra-operator-system'])).metadata.generation;
      const callsBefore = await aws.calls();
      // Several full reconciliations, each applying every object with server-side apply and running
      // the health checks.
      for (let i = 0; i < 3; i++) {
        await reconcile(KUSTOMIZATION, 'ecr');
        await new Promise((r) => setTimeout(r, 4_000));
      }
      const k = await get<FluxStatus>(KUSTOMIZATION, 'ecr');
      expect(ready(k)?.status).toBe('True');
      expect(await versions()).toEqual(before);
      // Nor does helm-controller upgrade the release (commits that leave the chart's version alone
      // make no revision): still the first revision, the Deployment untouched.
      await reconcile(HELM_RELEASE, 'infra-operator');
      const release = await get<FluxStatus>(HELM_RELEASE, 'infra-operator');
      expect(ready(release)?.status).toBe('True');
      expect(revisions).toEqual([1]);
      expect(release.status?.history?.map((h) => h.version)).toEqual(revisions);
      expect((await admin.getJson<Deployment>(['deployment', 'infra-operator-controller-manager', '-n', 'infra-operator-system'])).metadata.generation).toBe(deploymentGeneration);
      expect(writesBetween(callsBefore, await aws.calls())).toEqual({});
    }, 300_000);

    it('an ECRRepository with an invalid lifecycle policy fails the Kustomization; the object carries our message', async () => {
      fluxRepo.write('ecr/repositories/invalid.yaml', repository(ns, 'invalid', { lifecyclePolicy: { policyText: INVALID_LIFECYCLE }, deletionPolicy: 'Delete' }));
      const sha = await commit('a repository with a lifecycle policy AWS would refuse');
      // kstatus reads Stalled=True as Failed at once: no waiting for the 5m timeout.
      const started = Date.now();
      const { c } = await kustomizationReady(sha, 'False', 120_000);
      expect(Date.now() - started).toBeLessThan(120_000);
      expect(c.reason).toBe('HealthCheckFailed');
      expect(c.message).toContain(`ECRRepository/${ns}/invalid status: 'Failed'`);
      const invalid = await waitForReady(admin, KIND_REPO, ns, 'invalid', { status: 'False', reason: 'InvalidSpec' }, 10_000);
      expect(condition(invalid, 'Stalled')?.message).toMatch(INVALID_MESSAGE);
      // The rest of the commit still applies; the valid repositories stay Ready.
      await waitForReady(admin, KIND_REPO, ns, 'web', {}, 10_000);
    }, 300_000);

    it('a commit that removes files prunes the objects, and their deletionPolicy is carried out in AWS (Delete gone, Retain kept)', async () => {
      fluxRepo.remove('ecr/repositories/invalid.yaml').remove('ecr/repositories/gone.yaml').remove('ecr/repositories/kept.yaml');
      const sha = await commit('remove three repositories');
      await kustomizationReady(sha, 'True');
      for (const name of ['invalid', 'gone', 'kept']) await waitForGone(admin, KIND_REPO, ns, name, 60_000);
      expect(await describeRepo(`${ns}/gone`)).toBeUndefined();
      expect(await describeRepo(`${ns}/kept`)).toBeDefined();
      expect(await describeRepo(`${ns}/web`)).toBeDefined();
      // An account-wide object removed from Git takes exactly its own part out of the registry.
      fluxRepo.write('ecr/registry.yaml', '# the registry settings moved elsewhere\n');
      const sha2 = await commit('remove the registry settings');
      await kustomizationReady(sha2, 'True');
      await waitForClusterObjectGone(admin, 'ecrregistrypolicystatements', statement, 60_000);
      await waitForClusterObjectGone(admin, 'ecrreplicationrules', replication, 60_000);
      expect(await registry.statement(sid)).toBeUndefined();
      expect((await registry.rules()).some((r) => r.repositoryFilters?.some((f) => f.filter === ns))).toBe(false);
    }, 420_000);
  });

  describe('Argo CD', () => {
    let ns = '';
    let repo: GitRepository;
    const replication = `gitops-argo-${RUN}`;
    const statement = `gitops-argo-${RUN}`;
    const sid = `GitopsArgo${RUN}`;

    const app = () => admin.getJson<Application>([APPLICATION, 'ecr', '-n', ARGOCD_NAMESPACE]);
    const resource = (a: Application, kind: string, name: string) => a.status?.resources?.find((r) => r.kind === kind && r.name === name);
    /** Asks Argo CD to look at Git now (as `argocd app get --refresh` or a webhook does). */
    const refresh = (mode: 'normal' | 'hard' = 'normal') => admin.ok(['annotate', APPLICATION, 'ecr', '-n', ARGOCD_NAMESPACE, `argocd.argoproj.io/refresh=${mode}`, '--overwrite']);
    const waitApp = <T>(what: string, probe: (a: Application) => T | undefined, timeoutMs = 180_000) => {
      let last: Application | undefined;
      return eventually(what, async () => {
        last = await app();
        return probe(last);
      }, timeoutMs, 500).catch((err: Error) => {
        throw new Error(`${err.message}\nlast status: ${JSON.stringify(last?.status ?? null)}\n${argo?.logs(20) ?? ''}`);
      });
    };
    const synced = (sha: string) => (a: Application) => (a.status?.sync?.status === 'Synced' && a.status.sync.revision === sha ? a : undefined);

    beforeAll(async () => {
      // The health customization exactly as docs/gitops.md installs it (argocd-cm exists first, as
      // in an install).
      argo = await startArgoCd({ binDir, dir: path.join(scratch, 'argocd'), kubeconfig: env.kubeconfig, kubectl: admin });
      const patch = await run('bash', ['-e', '-o', 'pipefail', '-c', docCommand(/argocd-cm/)], {
        env: { ...process.env, ...environmentVariables(env) },
      });
      // The command leaves its patch file where it ran, as it would in a user's checkout.
      rmSync('argocd-cm-patch.json', { force: true });
      if (patch.code !== 0) throw new Error(`the health customization of ${DOC} failed: ${patch.stderr}`);
      ns = await freshNamespace(admin, 'gitops-argo');
      namespaces.push(ns);
      repo = new GitRepository(path.join(scratch, 'git'), `argo-${RUN}`, scratch);
    });

    it('the health customization in argocd-cm is docs/argocd-health.lua itself', async () => {
      const cm = await admin.getJson<{ data: Record<string, string> }>(['configmap', 'argocd-cm', '-n', ARGOCD_NAMESPACE]);
      const lua = readFileSync('docs/argocd-health.lua', 'utf8');
      for (const kind of ['ECRRepository', 'AWSProvider', 'ECRReplicationRule', 'ECRRegistryPolicyStatement']) {
        expect(cm.data[`resource.customizations.health.aws-infra-operator.runner.codes_${kind}`]).toBe(lua);
      }
    });

    it('the Application is Progressing while a repository is being created, then Healthy once every object is Ready', async () => {
      repo.write('ecr/provider.yaml', staticProviderYaml(ns, 'aws', { keyId: ARGO_KEY }));
      repo.write('ecr/repositories/gone.yaml', repository(ns, 'gone', { deletionPolicy: 'Delete' }));
      repo.write('ecr/repositories/kept.yaml', repository(ns, 'kept', { deletionPolicy: 'Retain' }));
      repo.write('ecr/repositories/web.yaml', repository(ns, 'web', { lifecyclePolicy: { policyText: VALID_LIFECYCLE }, deletionPolicy: 'Delete' }));
      const provider = { namespace: ns, name: 'aws' };
      repo.write('ecr/registry.yaml', [
        replicationRule(replication, provider, ['ap-south-1'], { prefixes: [ns], deletionPolicy: 'Delete' }),
        policyStatement(statement, provider, sid, {
          Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::210987654321:root' }, Action: ['ecr:ReplicateImage'], Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/*',
        }, { deletionPolicy: 'Delete' }),
      ].map((o) => JSON.stringify(o, null, 2)).join('\n---\n'));
      await failCreates(ARGO_KEY);
      const sha = repo.commit('ECR repositories, the provider and the registry settings');
      await admin.apply(docObjects('Application', git!.repoUrl(`argo-${RUN}`)));
      try {
        const progressing = await waitApp('the Application synced and Progressing', (a) => (synced(sha)(a) && a.status?.health?.status === 'Progressing' ? a : undefined));
        const web = resource(progressing, 'ECRRepository', 'web');
        expect(web?.health?.status).toBe('Progressing');
        // Held for as long as the creates fail.
        await new Promise((r) => setTimeout(r, 5_000));
        await refresh();
        await new Promise((r) => setTimeout(r, 2_000));
        expect((await app()).status?.health?.status).toBe('Progressing');
      } finally {
        await faults([]);
      }
      const healthy = await waitApp('the Application Healthy', (a) => (synced(sha)(a) && a.status?.health?.status === 'Healthy' ? a : undefined));
      for (const name of ['gone', 'kept', 'web']) {
        expect(resource(healthy, 'ECRRepository', name)?.health?.status).toBe('Healthy');
        await waitForReady(admin, KIND_REPO, ns, name, {}, 5_000);
        expect(await describeRepo(`${ns}/${name}`)).toBeDefined();
      }
      expect(resource(healthy, 'AWSProvider', 'aws')?.health?.status).toBe('Healthy');
      expect(resource(healthy, 'ECRRegistryPolicyStatement', statement)?.health?.status).toBe('Healthy');
      expect(await registry.statement(sid)).toBeDefined();
    }, 420_000);

    it('never OutOfSync for fields only the operator or the API server set (status, finalizer, defaults)', async () => {
      const sha = repo.head();
      for (let i = 0; i < 3; i++) {
        await refresh(i === 1 ? 'hard' : 'normal');
        await new Promise((r) => setTimeout(r, 5_000));
        const a = await app();
        const outOfSync = (a.status?.resources ?? []).filter((r) => r.status !== 'Synced');
        expect(outOfSync, JSON.stringify(a.status?.resources)).toEqual([]);
        expect(a.status?.sync?.status).toBe('Synced');
        expect(a.status?.sync?.revision).toBe(sha);
        expect(a.status?.health?.status).toBe('Healthy');
      }
      // The operator did write what only it sets: a finalizer and status.
      const web = await admin.getJson<Resource>([KIND_REPO, 'web', '-n', ns]);
      expect(web.metadata.finalizers?.length).toBeGreaterThan(0);
      expect(condition(web, 'Ready')?.status).toBe('True');
    }, 180_000);

    it('an invalid lifecycle policy makes the Application Degraded with our message', async () => {
      repo.write('ecr/repositories/invalid.yaml', repository(ns, 'invalid', { lifecyclePolicy: { policyText: INVALID_LIFECYCLE }, deletionPolicy: 'Delete' }));
      const sha = repo.commit('a repository with a lifecycle policy AWS would refuse');
      await refresh();
      const degraded = await waitApp('the Application Degraded', (a) => (synced(sha)(a) && a.status?.health?.status === 'Degraded' ? a : undefined));
      const invalid = resource(degraded, 'ECRRepository', 'invalid');
      expect(invalid?.health?.status).toBe('Degraded');
      expect(invalid?.health?.message).toMatch(/^InvalidSpec: /);
      expect(invalid?.health?.message).toMatch(INVALID_MESSAGE);
      expect(resource(degraded, 'ECRRepository', 'web')?.health?.status).toBe('Healthy');
    }, 300_000);

    it('a prune carries out the deletion policy (Delete gone, Retain kept)', async () => {
      repo.remove('ecr/repositories/invalid.yaml').remove('ecr/repositories/gone.yaml').remove('ecr/repositories/kept.yaml');
      const sha = repo.commit('remove three repositories');
      await refresh();
      for (const name of ['invalid', 'gone', 'kept']) await waitForGone(admin, KIND_REPO, ns, name, 120_000);
      await waitApp('the Application Healthy after the prune', (a) => (synced(sha)(a) && a.status?.health?.status === 'Healthy' &&
        !resource(a, 'ECRRepository', 'gone') ? a : undefined));
      expect(await describeRepo(`${ns}/gone`)).toBeUndefined();
      expect(await describeRepo(`${ns}/kept`)).toBeDefined();
      expect(await describeRepo(`${ns}/web`)).toBeDefined();
    }, 300_000);
  });
});
