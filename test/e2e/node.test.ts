import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAGS } from '../../src/config.js';
import { inject } from 'vitest';
import { sharedEnv } from './support/context.js';
import { Kubectl, eventually, run } from './support/kubectl.js';
import { AwsCli } from './support/aws.js';
import { objectOf } from './support/doc-blocks.js';
import { ensureGitOpsBinaries, FLUX_NAMESPACE, GITOPS_DOC, GITOPS_DOC_URL, startFlux, type ControllerSet } from './env/gitops.js';
import { GitRepository, startGitServer, type GitServer } from './env/gitops-git.js';
import { staticProviderYaml, waitForReady } from './support/scenario.js';

/**
 * The operator's image as `make image` builds it (hack/image-build.sh: buildah, the Dockerfile as it
 * stands), checked from its own file system: what the runtime stage holds and what it runs as.
 * The image is built before the tests start (hack/ensure-node.sh); a missing image or builder fails.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const IMG = inject('node').image;

interface ImageConfig { config: { User?: string; Entrypoint?: string[]; WorkingDir?: string; Env?: string[] } }

describe('the operator image (make image)', () => {
  let container = '';
  let root = '';
  let config: ImageConfig['config'] = {};

  beforeAll(async () => {
    const which = await run('bash', ['-c', 'command -v buildah']);
    expect(which.code, 'buildah is missing: run `bash hack/ensure-node.sh` (or `make image`) first').toBe(0);
    const inspect = await run('buildah', ['inspect', '--type', 'image', IMG]);
    expect(inspect.code, `the image ${IMG} is missing: run \`make image\` first\n${inspect.stderr}`).toBe(0);
    config = (JSON.parse(inspect.stdout) as { OCIv1: ImageConfig }).OCIv1.config;
    const from = await run('buildah', ['from', '--pull=never', IMG]);
    expect(from.code, from.stderr).toBe(0);
    container = from.stdout.trim().split('\n').pop() ?? '';
    const mount = await run('buildah', ['mount', container]);
    expect(mount.code, mount.stderr).toBe(0);
    root = mount.stdout.trim();
  }, 120_000);

  afterAll(async () => {
    if (container) await run('buildah', ['rm', container]);
  });

  const files = (dir: string, out: string[] = []): string[] => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) files(full, out);
      else out.push(full);
    }
    return out;
  };

  it('runs as 65532 with Node.js at /nodejs/bin/node', () => {
    expect(config.User).toBe('65532:65532');
    expect(config.Entrypoint?.[0]).toBe('/nodejs/bin/node');
    expect(config.Entrypoint).toContain('dist/main.js');
    expect(config.WorkingDir).toBe('/app');
    expect(statSync(path.join(root, 'nodejs/bin/node')).isFile()).toBe(true);
    expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).toMatch(/^nonroot:x:65532:65532:/m);
  });

  it('holds no shell, no package manager and no dev dependency', () => {
    const all = files(root).map((f) => '/' + path.relative(root, f));
    expect(all.length).toBeGreaterThan(100);
    for (const shell of ['sh', 'bash', 'dash', 'ash', 'busybox']) {
      expect(all.filter((f) => path.basename(f) === shell), `a shell named ${shell}`).toEqual([]);
    }
    expect(all.filter((f) => /\/(npm|npx|corepack)(-cli\.js)?$/.test(f) || f.includes('/node_modules/npm/')), 'npm').toEqual([]);
    expect(all.filter((f) => /\/(apt|apt-get|dpkg)$/.test(f)), 'a package manager').toEqual([]);
    const lock = JSON.parse(readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const dev = Object.entries(lock.packages).filter(([name, p]) => name.startsWith('node_modules/') && p.dev).map(([name]) => name);
    expect(dev.length).toBeGreaterThan(10);
    for (const name of dev) expect(existsSync(path.join(root, 'app', name)), `dev dependency ${name} in the image`).toBe(false);
    for (const name of ['pino', 'prom-client', 'ajv', '@aws-sdk/client-ecr']) {
      expect(existsSync(path.join(root, 'app/node_modules', name, 'package.json')), `${name} in the image`).toBe(true);
    }
    expect(existsSync(path.join(root, 'app/dist/main.js'))).toBe(true);
  });

  it("runs its entrypoint as 65532 and prints the operator's flags", async () => {
    // The image's own command line in its working directory, as uid 65532: no shell is involved.
    const result = await run('buildah', ['run', '--isolation=chroot', '--user=65532:65532', container, '--', ...(config.Entrypoint ?? []), '--help'], {
      timeoutMs: 60_000,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: infra-operator [flags]');
    for (const flag of FLAGS) expect(result.stdout).toContain(`--${flag.flag}`);
  });
});

describe('a node of the local environment', () => {
  const env = sharedEnv();
  const node = inject('node');
  const kubectl = new Kubectl(env.kubeconfig);

  it('registers with the API server and is Ready, with containerd 2 as its runtime', async () => {
    const info = JSON.parse(await kubectl.ok(['get', 'node', node.name, '-o', 'json'])) as {
      status: { nodeInfo: { containerRuntimeVersion: string; kubeletVersion: string }; conditions: Array<{ type: string; status: string }> };
    };
    expect(info.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(info.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/v?2\./);
    expect(info.status.nodeInfo.kubeletVersion).toBe(env.kubeVersion);
  });

  it('runs the imported image, never pulled, as a restricted pod, and kubectl logs shows its output', async () => {
    const ns = `node-${Date.now().toString(36)}`;
    await kubectl.ok(['create', 'namespace', ns]);
    await kubectl.ok(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
    try {
      await kubectl.apply(`apiVersion: v1
kind: Pod
metadata: {name: help, namespace: ${ns}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: operator
    image: ${IMG}
    imagePullPolicy: Never
    args: ["--help"]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`);
      const phase = await eventually('the pod to complete', async () => {
        const p = (await kubectl.run(['get', 'pod', 'help', '-n', ns, '-o', 'jsonpath={.status.phase}'])).stdout.trim();
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      }, 120_000, 500);
      const events = await kubectl.run(['get', 'events', '-n', ns]);
      expect(phase, events.stdout).toBe('Succeeded');
      const pod = JSON.parse(await kubectl.ok(['get', 'pod', 'help', '-n', ns, '-o', 'json'])) as {
        spec: { nodeName: string }; status: { podIP: string; containerStatuses: Array<{ imageID: string }> };
      };
      expect(pod.spec.nodeName).toBe(node.name);
      expect(pod.status.podIP).toMatch(/^10\.88\./);
      expect(events.stdout).not.toMatch(/Pulling image/);
      const logs = await kubectl.ok(['logs', 'help', '-n', ns]);
      expect(logs).toContain('Usage: infra-operator [flags]');
    } finally {
      await kubectl.run(['delete', 'namespace', ns, '--wait=false']);
    }
  });
});

describe('the Service network', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);

  it('a pod reaches the API server through the kubernetes Service and verifies it with its ServiceAccount CA', async () => {
    const ns = `svc-${Date.now().toString(36)}`;
    await kubectl.ok(['create', 'namespace', ns]);
    try {
      await eventually('the namespace\'s default ServiceAccount', async () => ((await kubectl.run(['get', 'sa', 'default', '-n', ns])).code === 0 ? true : undefined));
      const script = [
        "const fs = require('node:fs');",
        "const dir = '/var/run/secrets/kubernetes.io/serviceaccount/';",
        "const url = 'https://' + process.env.KUBERNETES_SERVICE_HOST + ':' + process.env.KUBERNETES_SERVICE_PORT + '/api/v1/namespaces/' + fs.readFileSync(dir + 'namespace', 'utf8') + '/serviceaccounts/default';",
        "require('node:https').get(url, { ca: fs.readFileSync(dir + 'ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(dir + 'token', 'utf8') } },",
        "  (res) => { let b = ''; res.on('data', (c) => b += c); res.on('end', () => { console.log(res.statusCode + ' ' + b.length); process.exit(0); }); })",
        "  .on('error', (e) => { console.log('error ' + e.message); process.exit(1); });",
      ].join('\n');
      await kubectl.apply(`apiVersion: v1
kind: Pod
metadata: {name: reach, namespace: ${ns}}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: reach
    image: ${IMG}
    imagePullPolicy: Never
    command: ["/nodejs/bin/node", "-e", ${JSON.stringify(script)}]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`);
      await eventually('the pod to complete', async () => {
        const p = (await kubectl.run(['get', 'pod', 'reach', '-n', ns, '-o', 'jsonpath={.status.phase}'])).stdout.trim();
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      }, 120_000, 500);
      const logs = await kubectl.ok(['logs', 'reach', '-n', ns]);
      // 403: the API server answered and authenticated the pod's ServiceAccount, which may not read ServiceAccounts.
      expect(logs.trim()).toMatch(/^(200|403) \d+$/);
    } finally {
      await kubectl.run(['delete', 'namespace', ns, '--wait=false']);
    }
  });
});

/**
 * The names not created exactly once: AWS answered CreateRepository with success other than once, or
 * more than one call of the operator reached AWS for it (a second create of an existing repository is
 * refused, 4xx). A call is one SDK invocation (its invocation id) with all its attempts: an attempt
 * that failed on the way, or whose answer was lost and that the SDK sent again, is the same create.
 */
function createdTwice(creates: Array<{ repositoryName: string; invocation: string; status: number }>, names: string[]): string[] {
  const answered = (status: number) => status >= 200 && status < 500;
  return names.filter((name) => {
    const mine = creates.filter((c) => c.repositoryName === name);
    const calls = new Set(mine.filter((c) => answered(c.status)).map((c, i) => c.invocation || `attempt ${i}`));
    return mine.filter((c) => c.status >= 200 && c.status < 300).length !== 1 || calls.size !== 1;
  });
}

/** The one shell block of README.md marked `<!-- needs: node -->`: the "Install with Helm" section. */
function installWithHelm(): string {
  const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/<!--\s*needs:\s*node\s*-->\s*\n```bash\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '');
  expect(blocks, 'README.md holds one bash block marked <!-- needs: node -->').toHaveLength(1);
  expect(blocks[0]).toContain('helm install infra-operator');
  return blocks[0] ?? '';
}

describe('the chart installed with helm on the node, as users install it', () => {
  const env = sharedEnv();
  const node = inject('node');
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  const NS = 'infra-operator-system';
  const DEPLOY = 'infra-operator-controller-manager';
  const LEASE = 'infra-operator.aws-infra-operator.runner.codes';
  const tenant = `tenant-${Date.now().toString(36)}`;
  const [repository, tag] = [IMG.slice(0, IMG.lastIndexOf(':')), IMG.slice(IMG.lastIndexOf(':') + 1)];
  let helm = '';
  const helmRun = (args: string[]) => run(helm, args, { env: { ...process.env, KUBECONFIG: env.kubeconfig }, timeoutMs: 300_000 });
  // The chart's values that differ from its defaults: the image built here, and the local AWS layer
  // that the tenant's provider names as its endpoint (the operator refuses custom endpoints by default).
  const values = ['--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'operator.allowCustomEndpoints=true'];

  const pods = async () => (JSON.parse(await kubectl.ok(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/name=infra-operator', '-o', 'json'])) as {
    items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status: { phase: string; conditions?: Array<{ type: string; status: string }> } }>;
  }).items.filter((p) => !p.metadata.deletionTimestamp);
  const readyPods = async () => (await pods()).filter((p) => p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const leader = async () => (await kubectl.run(['get', 'lease', LEASE, '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout.trim();
  const ecrRepository = (name: string) => `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata: {name: ${name}, namespace: ${tenant}}
spec:
  providerRef: {name: aws}
  repositoryName: ${tenant}/${name}
  deletionPolicy: Retain
`;

  beforeAll(async () => {
    const built = await run('bash', ['-c', 'bash hack/build-helm.sh | tail -1'], { timeoutMs: 1_200_000 });
    expect(built.code, built.stderr).toBe(0);
    helm = built.stdout.trim();
    // README's "Install with Helm" block, run as written. The one local difference: `helm` on PATH
    // is a wrapper that adds operator.allowCustomEndpoints=true to install and upgrade, since the
    // tenant's provider reaches the local AWS layer through its endpoint.
    const block = installWithHelm();
    const bin = mkdtempSync(path.join(os.tmpdir(), 'helm-wrapper-'));
    writeFileSync(path.join(bin, 'helm'), `#!/usr/bin/env bash\ncase "$1" in install|upgrade) exec ${JSON.stringify(helm)} "$@" --set operator.allowCustomEndpoints=true ;; *) exec ${JSON.stringify(helm)} "$@" ;; esac\n`);
    chmodSync(path.join(bin, 'helm'), 0o755);
    const installed = await run('bash', ['-euo', 'pipefail', '-c', block], {
      timeoutMs: 300_000,
      env: { ...process.env, KUBECONFIG: env.kubeconfig, PATH: `${bin}:${process.env.PATH ?? ''}`, IMG, ROLE_ARN: 'arn:aws:iam::123456789012:role/infra-operator-ecr-role' },
    });
    expect(installed.code, installed.stdout + installed.stderr + (await kubectl.run(['get', 'events', '-n', NS])).stdout).toBe(0);
    expect(JSON.parse(await kubectl.ok(['get', 'namespace', NS, '-o', 'json'])).metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  }, 600_000);

  it('runs both replicas Running and Ready through the chart\'s probes, in a restricted namespace, one of them the leader', async () => {
    const ready = await eventually('two Ready replicas', async () => {
      const r = await readyPods();
      return r.length === 2 ? r : undefined;
    }, 120_000);
    const holder = await eventually('a leader', async () => (await leader()) || undefined);
    expect(ready.filter((p) => holder.startsWith(`${p.metadata.name}_`))).toHaveLength(1);
  });

  it('kubectl logs deploy/infra-operator-controller-manager shows JSON logs', async () => {
    const logs = await kubectl.ok(['logs', `deploy/${DEPLOY}`, '-n', NS]);
    const lines = logs.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: expect.any(String), msg: expect.any(String) });
  });

  it("serves metrics through the chart's Service, and renders a ServiceMonitor for it", async () => {
    const metrics = await kubectl.ok(['get', '--raw', `/api/v1/namespaces/${NS}/services/http:${DEPLOY}-metrics-service:8080/proxy/metrics`]);
    expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
    const rendered = await helmRun(['template', 'infra-operator', 'charts/infra-operator', '-n', NS, ...values, '--set', 'metrics.serviceMonitor.enabled=true']);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout).toMatch(/kind: ServiceMonitor/);
  });

  it('reconciles: a provider and a repository become Ready, the repository in AWS', async () => {
    await kubectl.ok(['create', 'namespace', tenant]);
    await kubectl.apply(staticProviderYaml(tenant, 'aws', { endpoint: node.awsEndpointForPods }));
    await kubectl.apply(ecrRepository('first'));
    await waitForReady(kubectl, 'awsprovider', tenant, 'aws', {}, 120_000);
    await waitForReady(kubectl, 'ecrrepository', tenant, 'first', {}, 120_000);
    const described = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', `${tenant}/first`]);
    expect(described.code, described.stderr).toBe(0);
  });

  it('kubectl delete pod of the leader: the other takes over within the lease, a create meanwhile becomes Ready, no repository created twice', async () => {
    const before = await leader();
    const leaderPod = before.slice(0, before.lastIndexOf('_'));
    // The old leader's log to its last line: what it did with the object created meanwhile.
    const oldLeaderLog = kubectl.run(['logs', '-f', leaderPod, '-n', NS]);
    const started = Date.now();
    await kubectl.ok(['delete', 'pod', leaderPod, '-n', NS, '--wait=false']);
    await kubectl.apply(ecrRepository('during-handover'));
    const after = await eventually('another leader', async () => {
      const h = await leader();
      return h && !h.startsWith(`${leaderPod}_`) ? h : undefined;
    }, 60_000);
    // leaseDurationSeconds (15) plus one retry period: the lease is released on SIGTERM, or expires.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(after).not.toBe(before);
    await waitForReady(kubectl, 'ecrrepository', tenant, 'during-handover', {}, 120_000);
    const creates = await aws.creates();
    const names = [`${tenant}/first`, `${tenant}/during-handover`];
    const failed = creates.filter((c) => names.includes(c.repositoryName) && c.status !== 200);
    if (failed.length > 0) console.log(`CreateRepository calls not answered 200: ${JSON.stringify(failed)}`);
    const twice = createdTwice(creates, names);
    if (twice.length > 0) {
      // Both leaders' lines about those objects, to tell which replica sent what.
      const about = (log: string) => log.split('\n').filter((l) => twice.some((name) => l.includes(name.split('/')[1] ?? name))).join('\n');
      const newLeaderLog = await kubectl.run(['logs', after.slice(0, after.lastIndexOf('_')), '-n', NS]);
      expect.fail(`not created exactly once: ${twice.join(', ')} (CreateRepository and its HTTP status: ${JSON.stringify(await aws.creates())})\n--- old leader ${leaderPod}\n${about((await oldLeaderLog).stdout)}\n--- new leader\n${about(newLeaderLog.stdout)}`);
    }
    await oldLeaderLog;
    expect(twice).toEqual([]);
  });

  it('helm upgrade with a changed value rolls the pods, and every object stays Ready', async () => {
    const old = new Set((await pods()).map((p) => p.metadata.name));
    const upgraded = await helmRun(['upgrade', 'infra-operator', 'charts/infra-operator', '-n', NS, ...values, '--set', 'operator.logLevel=debug', '--wait', '--timeout', '4m']);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const fresh = await eventually('two Ready replicas of the new revision', async () => {
      const r = await readyPods();
      return r.length === 2 && r.every((p) => !old.has(p.metadata.name)) ? r : undefined;
    }, 180_000);
    expect(fresh).toHaveLength(2);
    for (const name of ['first', 'during-handover']) await waitForReady(kubectl, 'ecrrepository', tenant, name, {}, 60_000);
    expect(createdTwice(await aws.creates(), [`${tenant}/first`, `${tenant}/during-handover`])).toEqual([]);
  });

  it('helm uninstall leaves the CRDs and every AWS resource', async () => {
    const removed = await helmRun(['uninstall', 'infra-operator', '-n', NS, '--wait']);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await kubectl.run(['get', 'crd', 'ecrrepositories.aws-infra-operator.runner.codes'])).code).toBe(0);
    expect((await kubectl.run(['get', 'ecrrepository', 'first', '-n', tenant])).code).toBe(0);
    for (const name of ['first', 'during-handover']) {
      const described = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', `${tenant}/${name}`]);
      expect(described.code, described.stderr).toBe(0);
    }
  });
});

describe("the chart installed by Flux's helm-controller from Git, waiting for its pods (docs/gitops.md)", () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const NS = 'infra-operator-system';
  const HELM_RELEASE = 'helmreleases.helm.toolkit.fluxcd.io';
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-node-flux-'));
  let git: GitServer | undefined;
  let flux: ControllerSet | undefined;

  afterAll(async () => {
    // helm-controller uninstalls the release when the HelmRelease goes.
    if (flux) await kubectl.run(['delete', HELM_RELEASE, 'infra-operator', '-n', FLUX_NAMESPACE, '--wait=true', '--timeout=120s']);
    await flux?.stop();
    await git?.stop();
  });

  it('the HelmRelease as documented is Ready only once both replicas pass the chart\'s probes', async () => {
    const binDir = ensureGitOpsBinaries();
    git = await startGitServer(path.join(scratch, 'git'));
    flux = await startFlux({ binDir, dir: path.join(scratch, 'flux'), kubeconfig: env.kubeconfig, kubectl });
    new GitRepository(path.join(scratch, 'git'), 'platform', scratch).copy(path.join(repo, 'charts/infra-operator'), 'charts/infra-operator').commit('the operator chart');
    const url = { [GITOPS_DOC_URL]: git.repoUrl('platform') };
    await kubectl.apply(JSON.stringify(objectOf(GITOPS_DOC, 'GitRepository', url)));
    // As documented, with the image built here in place of the documented one.
    const release = objectOf(GITOPS_DOC, 'HelmRelease', url);
    const [repository, tag] = [IMG.slice(0, IMG.lastIndexOf(':')), IMG.slice(IMG.lastIndexOf(':') + 1)];
    release.spec.values = { ...(release.spec.values as object), image: { repository, tag } };
    await kubectl.apply(JSON.stringify(release));
    type Release = { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
    const readyCondition = await eventually('HelmRelease infra-operator Ready', async () => {
      const obj = JSON.parse(await kubectl.ok(['get', HELM_RELEASE, 'infra-operator', '-n', FLUX_NAMESPACE, '-o', 'json'])) as Release;
      const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'False' && /Failed$/.test(ready.reason)) throw new Error(`HelmRelease failed: ${ready.message}\n${flux?.logs(20) ?? ''}`);
      return ready?.status === 'True' ? ready : undefined;
    }, 360_000, 500);
    expect(readyCondition.reason).toBe('InstallSucceeded');
    // helm-controller waited for the Deployment: its replicas were Ready when the release was.
    const deployment = JSON.parse(await kubectl.ok(['get', 'deployment', 'infra-operator-controller-manager', '-n', NS, '-o', 'json'])) as {
      metadata: { labels: Record<string, string> }; status: { readyReplicas?: number; availableReplicas?: number };
    };
    expect(deployment.metadata.labels['helm.toolkit.fluxcd.io/name']).toBe('infra-operator');
    expect(deployment.status.readyReplicas).toBe(2);
    expect(deployment.status.availableReplicas).toBe(2);
  }, 600_000);
});
