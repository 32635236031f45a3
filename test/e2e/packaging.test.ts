import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { FLAGS } from '../../src/config.js';
import { kubeconfigYaml } from './env/pki.js';
import { sharedEnv } from './support/context.js';
import { Kubectl, eventually, run, type CommandResult } from './support/kubectl.js';
import { startOperator, type OperatorProcess } from './support/operator.js';
import { freshNamespace, installCrds, staticProviderYaml, waitForGone, waitForReady } from './support/scenario.js';
import { argocdHealth } from '../unit/packaging/argocd-health.js';

/**
 * The Helm chart and the image build, against the real API server: helm is built from the Go module
 * proxy (cached), the rendered chart is applied server-side, its pod template is admitted under the
 * "restricted" Pod Security Standard, its RBAC is the operator's RBAC and no more, and the
 * Dockerfile's steps produce a runtime that starts.
 */

const repo = fileURLToPath(new URL('../../', import.meta.url));
const CHART = path.join(repo, 'charts/infra-operator');
const NAMESPACE = 'infra-operator-system';
const SA = 'infra-operator-controller-manager';
const SA_USER = `system:serviceaccount:${NAMESPACE}:${SA}`;
const RESTRICTED_NS = 'packaging-restricted';
// A second release under other names, so that what its ServiceAccount may do comes from the chart
// alone and not from config/rbac, which other e2e files install under the default names.
const ISOLATED = 'packaging-e2e';

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};
type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] };
type PodSpec = Record<string, unknown> & {
  securityContext?: Record<string, unknown>;
  containers: Array<Record<string, unknown> & { securityContext?: Record<string, unknown> }>;
};

function documents(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** Rules as the set of (group, resource, verb, name) grants they make; order and grouping do not count. */
function grants(rules: Rule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    for (const verb of r.verbs) {
      for (const url of r.nonResourceURLs ?? []) out.add(`url ${url} ${verb}`);
      for (const group of r.apiGroups ?? []) {
        for (const resource of r.resources ?? []) {
          for (const name of r.resourceNames?.length ? r.resourceNames : ['*any*']) out.add(`${group}/${resource} ${verb} ${name}`);
        }
      }
    }
  }
  return [...out].sort();
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}

// A subset of the Prometheus Operator's ServiceMonitor CRD: the fields the chart sets, with their
// real names and formats. No unknown fields are preserved, so kubectl's strict field validation
// rejects a misspelt field instead of dropping it.
const serviceMonitorCrd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: { plural: servicemonitors, singular: servicemonitor, kind: ServiceMonitor, listKind: ServiceMonitorList }
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        required: [spec]
        properties:
          spec:
            type: object
            required: [selector, endpoints]
            properties:
              selector:
                type: object
                properties:
                  matchLabels: { type: object, additionalProperties: { type: string } }
              namespaceSelector:
                type: object
                properties:
                  any: { type: boolean }
                  matchNames: { type: array, items: { type: string } }
              endpoints:
                type: array
                items:
                  type: object
                  properties:
                    port: { type: string }
                    path: { type: string }
                    scheme: { type: string, enum: [http, https, HTTP, HTTPS] }
                    interval: { type: string, pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' }
                    scrapeTimeout: { type: string, pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' }
`;

describe('packaging: Helm chart and image', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  let helmBin = '';
  let rendered: K8sObject[] = [];
  let renderedText = '';

  const helm = (args: string[], timeoutMs = 60_000): Promise<CommandResult> =>
    run(helmBin, args, { env: { ...process.env, KUBECONFIG: env.kubeconfig, HELM_CACHE_HOME: path.join(env.dir, 'helm-cache'), HELM_CONFIG_HOME: path.join(env.dir, 'helm-config'), HELM_DATA_HOME: path.join(env.dir, 'helm-data') }, timeoutMs });
  const helmOk = async (args: string[]): Promise<string> => {
    const result = await helm(args);
    if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  };
  const canI = async (user: string, args: string[]): Promise<string> => {
    // A real service account token carries these groups; impersonate them too.
    const groups = ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'].map((g) => `--as-group=${g}`);
    const result = await kubectl.run(['auth', 'can-i', ...args, `--as=${user}`, ...groups]);
    const answer = result.stdout.trim();
    if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i ${args.join(' ')}: ${result.stderr}`);
    return answer;
  };

  // The second release under other names, its ServiceAccount's token and a kubeconfig that uses it.
  let isolated: Promise<{ kubeconfig: string; user: string; objects: K8sObject[] }> | undefined;
  const isolatedRelease = () => (isolated ??= (async () => {
    await kubectl.run(['create', 'namespace', ISOLATED]);
    const text = await helmOk(['template', ISOLATED, CHART, '-n', ISOLATED, '--set', `fullnameOverride=${ISOLATED}`]);
    const objects = documents(text);
    expect(find(objects, 'ClusterRole').metadata.name).toBe(`${ISOLATED}-manager-role`);
    await kubectl.ok(['apply', '--server-side', '-f', '-'], text);
    const user = `system:serviceaccount:${ISOLATED}:${ISOLATED}-controller-manager`;
    const token = (await kubectl.ok(['create', 'token', `${ISOLATED}-controller-manager`, '-n', ISOLATED, '--duration=1h'])).trim();
    const kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-operator-packaging-')), 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(env.apiServerUrl, env.caCert, { token }, user), { mode: 0o600 });
    return { kubeconfig, user, objects };
  })());

  beforeAll(async () => {
    // Cached by version: only the first run on a machine builds (minutes); later runs reuse it.
    const build = await run('bash', [path.join(repo, 'hack/build-helm.sh')], { timeoutMs: 25 * 60_000 });
    if (build.code !== 0) throw new Error(`hack/build-helm.sh failed (${build.code}):\n${build.stderr.slice(-4000)}`);
    helmBin = lastLine(build.stdout);
    expect(path.isAbsolute(helmBin)).toBe(true);

    await kubectl.apply(serviceMonitorCrd);
    await kubectl.ok(['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=60s']);
    renderedText = await helmOk([
      'template', 'infra-operator', CHART, '-n', NAMESPACE, '--include-crds',
      '--set', 'metrics.serviceMonitor.enabled=true',
      '--set', 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/infra-operator-ecr-role',
    ]);
    rendered = documents(renderedText);
  }, 30 * 60_000);

  afterAll(async () => {
    // Only what nothing else installs; the RBAC under the default names is config/rbac's too.
    await kubectl.run(['delete', 'deployment', SA, 'service', `${SA}-metrics-service`, '-n', NAMESPACE, '--ignore-not-found']);
    // Deleting the CRD deletes the ServiceMonitor with it.
    await kubectl.run(['delete', 'crd', 'servicemonitors.monitoring.coreos.com', '--ignore-not-found']);
    await kubectl.run(['delete', 'clusterrolebinding', `${ISOLATED}-manager-rolebinding`, '--ignore-not-found']);
    await kubectl.run(['delete', 'clusterrole', `${ISOLATED}-manager-role`, `${ISOLATED}-registry-admin`, '--ignore-not-found']);
    await kubectl.run(['delete', 'namespace', ISOLATED, RESTRICTED_NS, '--ignore-not-found', '--wait=false']);
  });

  it('builds helm v3 with its version set, and a second build reuses the cache', async () => {
    const version = await helmOk(['version', '--template', '{{.Version}}']);
    expect(version).toMatch(/^v3\.\d+\.\d+$/);
    expect(helmBin).toContain(`helm-${version}`);
    const started = Date.now();
    const again = await run('bash', [path.join(repo, 'hack/build-helm.sh')], { timeoutMs: 60_000 });
    expect(again.code).toBe(0);
    expect(lastLine(again.stdout)).toBe(helmBin);
    expect(again.stderr).not.toContain('building');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('passes helm lint --strict, with the defaults and with the optional parts switched on', async () => {
    const lint = await helm(['lint', '--strict', CHART]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toContain('0 chart(s) failed');
    const full = await helm(['lint', '--strict', CHART, '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'operator.watchNamespace=team-a', '--set', 'priorityClassName=system-cluster-critical']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
  });

  it('renders the names the IRSA trust policy and the docs depend on', () => {
    const deployment = find(rendered, 'Deployment');
    expect(deployment.metadata).toMatchObject({ name: SA, namespace: NAMESPACE });
    const sa = find(rendered, 'ServiceAccount');
    expect(sa.metadata).toMatchObject({ name: SA, namespace: NAMESPACE });
    expect((sa.metadata as { annotations?: Record<string, string> }).annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/infra-operator-ecr-role' });
    const spec = (deployment as unknown as { spec: { replicas: number; template: { spec: PodSpec & { serviceAccountName: string; terminationGracePeriodSeconds: number } } } }).spec;
    expect(spec.replicas).toBe(2);
    expect(spec.template.spec.serviceAccountName).toBe(SA);
    const container = spec.template.spec.containers[0] as { env: Array<{ name: string; value?: string; valueFrom?: unknown }>; livenessProbe: unknown; readinessProbe: unknown };
    const envByName = new Map(container.env.map((e) => [e.name, e]));
    expect(envByName.get('POD_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(envByName.get('LEADER_ELECT')?.value).toBe('true');
    const shutdownSeconds = Number(/^(\d+)s$/.exec(envByName.get('SHUTDOWN_TIMEOUT')?.value ?? '')?.[1]);
    expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(shutdownSeconds);
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'health' } });
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'health' } });
    const service = find(rendered, 'Service');
    expect((service as unknown as { spec: { ports: unknown[] } }).spec.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
    // The chart ships every CRD of config/crd/bases, and nothing else.
    const bases = readdirSync(path.resolve('config/crd/bases')).filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/^aws-infra-operator\.runner\.codes_(.*)\.yaml$/, '$1.aws-infra-operator.runner.codes')).sort();
    expect(bases.length).toBeGreaterThanOrEqual(11);
    expect(rendered.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name).sort()).toEqual(bases);
  });

  it('renders no ServiceMonitor unless asked, and refuses values that would break shutdown or leader election', async () => {
    const plain = documents(await helmOk(['template', 'infra-operator', CHART, '-n', NAMESPACE]));
    expect(plain.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
    const grace = await helm(['template', 'infra-operator', CHART, '--set', 'terminationGracePeriodSeconds=20']);
    expect(grace.code).not.toBe(0);
    expect(grace.stderr).toContain('must be above operator.shutdownTimeoutSeconds');
    const noElection = await helm(['template', 'infra-operator', CHART, '--set', 'operator.leaderElect=false']);
    expect(noElection.code).not.toBe(0);
    expect(noElection.stderr).toContain('needs operator.leaderElect=true');
    const badLevel = await helm(['template', 'infra-operator', CHART, '--set', 'operator.logLevel=loud']);
    expect(badLevel.code).not.toBe(0);
  });

  it('is accepted object by object by the API server (server-side apply)', async () => {
    await kubectl.run(['create', 'namespace', NAMESPACE]);
    const out = await kubectl.ok(['apply', '--server-side', '-f', '-'], renderedText);
    const kinds = rendered.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining([
      `ServiceAccount/${SA}`, 'ClusterRole/infra-operator-manager-role', 'ClusterRoleBinding/infra-operator-manager-rolebinding',
      'Role/infra-operator-leader-election-role', 'RoleBinding/infra-operator-leader-election-rolebinding',
      `Service/${SA}-metrics-service`, `Deployment/${SA}`, `ServiceMonitor/${SA}-metrics-monitor`,
    ]));
    // One line per object ("<kind>.<group>/<name> serverside-applied"), and each object is really there.
    expect(out.trim().split('\n')).toHaveLength(rendered.length);
    for (const o of rendered) {
      const resource = `${o.kind.toLowerCase()}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, '');
      const args = ['get', resource, o.metadata.name, '-o', 'name'];
      if (o.metadata.namespace) args.push('-n', o.metadata.namespace);
      expect((await kubectl.ok(args)).trim(), `${o.kind}/${o.metadata.name}`).not.toBe('');
    }
  });

  it("admits the pod template in a namespace that enforces the restricted Pod Security Standard, and rejects a privileged variant", async () => {
    await kubectl.apply(`apiVersion: v1
kind: Namespace
metadata:
  name: ${RESTRICTED_NS}
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: infra-operator-controller-manager
  namespace: ${RESTRICTED_NS}
`);
    const deployment = find(rendered, 'Deployment') as unknown as { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
    const template = deployment.spec.template;
    const pod = (spec: PodSpec) => JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'infra-operator-template', namespace: RESTRICTED_NS, labels: template.metadata.labels },
      spec,
    });

    // Created directly, in dry-run, which still goes through admission (Pod Security and the
    // ServiceAccount plugin, hence the chart's ServiceAccount above), without running the image.
    const admitted = await kubectl.run(['create', '--dry-run=server', '-o', 'name', '-f', '-'], pod(template.spec));
    expect(admitted.code, admitted.stderr).toBe(0);
    expect(admitted.stderr).not.toContain('violate');
    expect(admitted.stdout.trim()).toBe('pod/infra-operator-template');

    const privileged: PodSpec = structuredClone(template.spec);
    delete privileged.securityContext;
    privileged.containers = privileged.containers.map((c) => ({ ...c, securityContext: { privileged: true, allowPrivilegeEscalation: true, runAsUser: 0 } }));
    const rejected = await kubectl.run(['create', '--dry-run=server', '-f', '-'], pod(privileged));
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toContain('violates PodSecurity "restricted:latest"');
    expect(rejected.stderr).toContain('privileged');
  });

  it("grants exactly config/rbac's rules, under the same names", () => {
    const fromConfig = ['role.yaml', 'leader_election_role.yaml', 'role_binding.yaml', 'service_account.yaml']
      .flatMap((f) => documents(readFileSync(path.join(repo, 'config/rbac', f), 'utf8')));
    for (const kind of ['ClusterRole', 'Role']) {
      const theirs = find(fromConfig, kind);
      const mine = find(rendered, kind, theirs.metadata.name);
      expect(mine.metadata.name).toBe(theirs.metadata.name);
      expect(mine.metadata.namespace).toBe(theirs.metadata.namespace);
      expect(grants(mine.rules as Rule[])).toEqual(grants(theirs.rules as Rule[]));
      expect(grants(mine.rules as Rule[]).length).toBeGreaterThan(0);
    }
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const mine = find(rendered, kind);
      const theirs = find(fromConfig, kind);
      expect(mine.metadata.name).toBe(theirs.metadata.name);
      expect(mine.roleRef).toEqual(theirs.roleRef);
      expect(mine.subjects).toEqual(theirs.subjects);
    }
    // config/rbac's four, and the chart's ClusterRole for administrators of the account-wide kinds.
    expect(rendered.filter((o) => /Role/.test(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/infra-operator-manager-role', 'ClusterRole/infra-operator-registry-admin', 'ClusterRoleBinding/infra-operator-manager-rolebinding',
      'Role/infra-operator-leader-election-role', 'RoleBinding/infra-operator-leader-election-rolebinding',
    ]);
  });

  it('ships config/crd/bases byte for byte in crds/', () => {
    const bases = path.join(repo, 'config/crd/bases');
    const crds = path.join(CHART, 'crds');
    const names = readdirSync(bases).sort();
    expect(readdirSync(crds).sort()).toEqual(names);
    for (const name of names) {
      const same = readFileSync(path.join(bases, name)).equals(readFileSync(path.join(crds, name)));
      expect(same, `${name} differs: run 'make manifests'`).toBe(true);
    }
  });

  it('lets the operator identity get Secrets but never list or watch them', async () => {
    expect(await canI(SA_USER, ['list', 'secrets', '-A'])).toBe('no');
    expect(await canI(SA_USER, ['watch', 'secrets', '-A'])).toBe('no');
    expect(await canI(SA_USER, ['list', 'secrets', '-n', 'default'])).toBe('no');
    expect(await canI(SA_USER, ['get', 'secrets', '-n', 'default'])).toBe('yes');
    // ECRPublicRepository's logo: get on ConfigMaps, never list or watch.
    expect(await canI(SA_USER, ['get', 'configmaps', '-n', 'default'])).toBe('yes');
    expect(await canI(SA_USER, ['list', 'configmaps', '-A'])).toBe('no');
    expect(await canI(SA_USER, ['watch', 'configmaps', '-n', 'default'])).toBe('no');
    expect(await canI(SA_USER, ['patch', 'ecrpublicrepositories.aws-infra-operator.runner.codes/status', '-n', 'default'])).toBe('yes');
    expect(await canI(SA_USER, ['delete', 'ecrpublicrepositories.aws-infra-operator.runner.codes', '-n', 'default'])).toBe('no');
    expect(await canI(SA_USER, ['patch', 'ecrrepositories.aws-infra-operator.runner.codes/status', '-n', 'default'])).toBe('yes');
    expect(await canI(SA_USER, ['delete', 'ecrrepositories.aws-infra-operator.runner.codes', '-n', 'default'])).toBe('no');
    expect(await canI(SA_USER, ['update', 'leases.coordination.k8s.io', '-n', NAMESPACE])).toBe('yes');
    expect(await canI(SA_USER, ['update', 'leases.coordination.k8s.io', '-n', 'default'])).toBe('no');
    // AWSProvider.spec.serviceAccountRef: tokens only; ServiceAccounts themselves stay out of reach.
    expect(await canI(SA_USER, ['create', 'serviceaccounts', '--subresource=token', '-n', 'default'])).toBe('yes');
    expect(await canI(SA_USER, ['get', 'serviceaccounts', '-n', 'default'])).toBe('no');
    expect(await canI(SA_USER, ['create', 'serviceaccounts', '-n', 'default'])).toBe('no');
  });

  it('renders the tenancy values as the variables the operator reads, and refuses values it would refuse', async () => {
    const envOf = (text: string) => {
      const deployment = find(documents(text), 'Deployment') as unknown as { spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } } };
      return Object.fromEntries((deployment.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    };
    const defaults = envOf(await helmOk(['template', 'infra-operator', CHART, '-n', NAMESPACE]));
    expect(defaults).toMatchObject({ ALLOW_CUSTOM_ENDPOINTS: 'false', AMBIENT_IDENTITY_NAMESPACES: '*', CREDENTIAL_REFRESH_MARGIN: '5m' });
    expect(defaults).not.toHaveProperty('CLUSTER_NAME');
    const shared = envOf(await helmOk([
      'template', 'infra-operator', CHART, '-n', NAMESPACE,
      '--set', 'operator.ambientIdentityNamespaces={platform,infra-operator-system}',
      '--set', 'operator.clusterName=prod-eu-1',
    ]));
    expect(shared).toMatchObject({ ALLOW_CUSTOM_ENDPOINTS: 'false', AMBIENT_IDENTITY_NAMESPACES: 'platform,infra-operator-system', CLUSTER_NAME: 'prod-eu-1' });
    const none = envOf(await helmOk(['template', 'infra-operator', CHART, '-n', NAMESPACE, '--set', 'operator.ambientIdentityNamespaces=null']));
    expect(none.AMBIENT_IDENTITY_NAMESPACES ?? '').toBe('');
    for (const bad of ['operator.ambientIdentityNamespaces={*,team-a}', 'operator.ambientIdentityNamespaces={Team_A}', 'operator.clusterName=has space', 'operator.allowCustomEndpoints=yes']) {
      const result = await helm(['template', 'infra-operator', CHART, '--set', bad]);
      expect(result.code, bad).not.toBe(0);
      expect(result.stderr, bad).toMatch(/values don't meet the specifications of the schema|schema/i);
    }
  });

  it('grants the same from the chart alone: a release under other names, checked with a real token', async () => {
    const { kubeconfig, user } = await isolatedRelease();
    const asOperator = new Kubectl(kubeconfig);
    const ask = async (args: string[]) => (await asOperator.run(['auth', 'can-i', ...args])).stdout.trim();

    expect((await asOperator.ok(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).trim()).toBe(user);
    expect(await ask(['list', 'secrets', '-A'])).toBe('no');
    expect(await ask(['get', 'secrets', '-n', 'default'])).toBe('yes');
    expect(await ask(['watch', 'ecrrepositories.aws-infra-operator.runner.codes', '-A'])).toBe('yes');
    expect(await ask(['create', 'events', '-n', 'default'])).toBe('yes');
    expect(await ask(['create', 'leases.coordination.k8s.io', '-n', ISOLATED])).toBe('yes');
    expect(await ask(['create', 'leases.coordination.k8s.io', '-n', NAMESPACE])).toBe('no');
    // And a real request, not only the authorizer's answer.
    const list = await asOperator.run(['get', 'secrets', '-A']);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toContain('forbidden');
  });

  it('grants serviceaccounts/token only in the namespaces an administrator lists, for the names listed', async () => {
    const release = 'tokens-e2e';
    const listed = await freshNamespace(kubectl, 'tokens-listed');
    const other = await freshNamespace(kubectl, 'tokens-other');
    const text = await helmOk(['template', release, CHART, '-n', NAMESPACE, '--set', `fullnameOverride=${release}`,
      '--set', `serviceAccountTokens.namespaces={${listed}}`, '--set', 'serviceAccountTokens.serviceAccountNames={ecr-access}']);
    const objects = documents(text);
    const clusterRole = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === `${release}-manager-role`)!;
    expect(JSON.stringify(clusterRole)).not.toContain('serviceaccounts/token');
    // The cluster-wide rules and the per-namespace token grants (the leader election Role is the release namespace's).
    const rbac = objects.filter((o) => ['ClusterRole', 'ClusterRoleBinding'].includes(o.kind) || (['Role', 'RoleBinding'].includes(o.kind) && o.metadata.name === `${release}-serviceaccount-tokens`));
    expect(rbac.filter((o) => o.kind === 'Role').map((o) => o.metadata.namespace)).toEqual([listed]);
    await kubectl.ok(['apply', '--server-side', '-f', '-'], rbac.map((o) => stringify(o)).join('---\n'));
    try {
      const user = `system:serviceaccount:${NAMESPACE}:${release}-controller-manager`;
      expect(await canI(user, ['create', 'serviceaccounts/ecr-access', '--subresource=token', '-n', listed])).toBe('yes');
      expect(await canI(user, ['create', 'serviceaccounts/default', '--subresource=token', '-n', listed])).toBe('no');
      expect(await canI(user, ['create', 'serviceaccounts/ecr-access', '--subresource=token', '-n', other])).toBe('no');
    } finally {
      await kubectl.run(['delete', 'clusterrole,clusterrolebinding', `${release}-manager-role`, `${release}-manager-rolebinding`, `${release}-registry-admin`, '--ignore-not-found']);
    }
  });

  it("runs two replicas with the chart's environment and RBAC: one leads, both are ready, the leader reconciles", async () => {
    const { kubeconfig, objects } = await isolatedRelease();
    const deployment = find(objects, 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } } };
    // The container's environment as the chart renders it; POD_NAMESPACE is what the downward API
    // would give. The bind addresses are moved to free loopback ports by startOperator's flags.
    const podEnv: Record<string, string> = { POD_NAMESPACE: ISOLATED };
    for (const e of deployment.spec.template.spec.containers[0]?.env ?? []) if (e.value !== undefined) podEnv[e.name] = e.value;
    expect(podEnv.LEADER_ELECT).toBe('true');
    // The chart's tenancy defaults: no custom endpoints; the operator's identity in every namespace.
    expect(podEnv.ALLOW_CUSTOM_ENDPOINTS).toBe('false');
    expect(podEnv.AMBIENT_IDENTITY_NAMESPACES).toBe('*');

    await installCrds(kubectl);
    const replicas: OperatorProcess[] = [];
    const ns = await freshNamespace(kubectl, 'packaging');
    try {
      for (let i = 0; i < deployment.spec.replicas; i++) replicas.push(await startOperator(env, { env: podEnv, kubeconfig, allowCustomEndpoints: false }));
      expect(replicas).toHaveLength(2);
      const lease = await eventually('the leader election Lease in the release namespace', async () => {
        const result = await kubectl.run(['get', 'lease', 'infra-operator.aws-infra-operator.runner.codes', '-n', ISOLATED, '-o', 'json']);
        if (result.code !== 0) return undefined;
        const holder = (JSON.parse(result.stdout) as { spec: { holderIdentity?: string } }).spec.holderIdentity;
        return holder ? holder : undefined;
      });
      expect(lease).toMatch(/_\d+$/);
      for (const r of replicas) expect((await fetch(`${r.probeUrl}/readyz`)).status).toBe(200);

      await kubectl.apply(staticProviderYaml(ns));
      await kubectl.apply(`apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata:
  name: images
  namespace: ${ns}
spec:
  providerRef:
    name: aws
  repositoryName: ${ns}/images
  deletionPolicy: Delete
`);
      const provider = await waitForReady(kubectl, 'awsprovider', ns, 'aws');
      const repository = await waitForReady(kubectl, 'ecrrepository', ns, 'images');
      // The Argo CD health check, on status exactly as the operator wrote it.
      expect(argocdHealth(provider).status).toBe('Healthy');
      expect(argocdHealth(repository)).toMatchObject({ status: 'Healthy', message: expect.stringContaining('Available') });
      await kubectl.ok(['delete', 'ecrrepository', 'images', '-n', ns, '--wait=false']);
      await waitForGone(kubectl, 'ecrrepository', ns, 'images');
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await kubectl.run(['delete', 'namespace', ns, '--wait=false']);
    }
  });

  it("runs the Dockerfile's steps without Docker, and the assembled image prints its flags", async () => {
    const result = await run('bash', [path.join(repo, 'hack/docker-build-steps.sh')], { timeoutMs: 9 * 60_000 });
    expect(result.code, result.stderr.slice(-4000)).toBe(0);
    expect(result.stderr).toContain('npm ci --omit=dev');
    expect(result.stdout).toContain('Usage: infra-operator [flags]');
    for (const flag of FLAGS) {
      expect(result.stdout).toContain(`--${flag.flag}`);
      expect(result.stdout).toContain(`env ${flag.env}`);
    }
  }, 10 * 60_000);
});
