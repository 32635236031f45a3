import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli } from './support/aws.js';
import { sharedEnv } from './support/context.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import {
  ADOPT_ANNOTATION, clearRegistryObjects, eventsOf, FINALIZER, manifest, policyStatement, REGISTRY_KINDS, RegistryDocuments, replicationRule,
  replicationStatement, scanningConfiguration, signedDelta, tenantUser, waitForClusterObjectGone, waitForEvent, waitForPart, watchHealth,
  type ProviderRef,
} from './support/registry.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForReady, type Resource } from './support/scenario.js';

// The account-wide kinds end to end: ECRReplicationRule, ECRRegistryPolicyStatement and
// ECRRegistryScanningConfiguration are cluster-scoped, so only cluster RBAC may create one; each
// object reads, changes and writes only its own part of its registry's document, with the
// credentials of the AWSProvider it names (namespace and name), never another object's. Checked as
// a user and an attacker would: kubectl as a tenant and as the administrator, awscli for what is in
// AWS (byte for byte where it must not change), and the AWS layer's calls counted by signing key.

const ACCOUNT = '123456789012';
// Two teams' providers: moto maps both keys to the same (default) account, so both name one registry.
const KEY_A = 'AKIAREGISTRYTEAMA001';
const KEY_B = 'AKIAREGISTRYTEAMB001';
const KEY_C = 'AKIAREGISTRYTEAMC001';
const KEY_D = 'AKIAREGISTRYTEAMD001';
const PUT_POLICY = 'ECR:PutRegistryPolicy';
const PUT_RULES = 'ECR:PutReplicationConfiguration';
const PUT_SCANNING = 'ECR:PutRegistryScanningConfiguration';

const RPS = 'ecrregistrypolicystatement';
const REPL = 'ecrreplicationrule';
const SCAN = 'ecrregistryscanningconfiguration';

// Cluster-scoped names are one per cluster: unique per run.
const RUN = Date.now().toString(36);
const N = {
  teamA: `team-a-${RUN}`,
  teamB: `team-b-${RUN}`,
  toIreland: `to-ireland-${RUN}`,
  toMumbai: `to-mumbai-${RUN}`,
  denied: `team-b-wide-${RUN}`,
  outside: `outside-${RUN}`,
  toSaoPaulo: `to-sao-paulo-${RUN}`,
  scanning: `scanning-${RUN}`,
  scanningSecond: `scanning-second-${RUN}`,
  teamC: `team-c-${RUN}`,
  toFrankfurt: `to-frankfurt-${RUN}`,
  clash: `clash-${RUN}`,
  evilFilter: `evil-filter-${RUN}`,
  deep: `deep-${RUN}`,
  keepC: `keep-c-${RUN}`,
  orphanC: `orphan-c-${RUN}`,
  dropC: `drop-c-${RUN}`,
  nsGoneStatement: `ns-gone-statement-${RUN}`,
  nsGoneRule: `ns-gone-rule-${RUN}`,
};

describe('account-wide registry kinds (cluster-scoped, each object with its own identity)', () => {
  const env = sharedEnv();
  const admin = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  const docs = new RegistryDocuments(aws);
  let operator: OperatorProcess | undefined;
  let nsA: string;
  let nsB: string;
  const extraNamespaces: string[] = [];
  let providerA: ProviderRef;
  let providerB: ProviderRef;

  const faults = async (list: unknown[]) => {
    const res = await fetch(`${env.awsEndpoint}/__aws/faults`, { method: 'POST', body: JSON.stringify(list) });
    if (!res.ok) throw new Error(`setting faults failed: ${res.status}`);
  };
  const putCalls = async () => {
    const all = await aws.callsBySigner();
    return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('ECR:Put') || k.startsWith('ECR:Delete')));
  };
  const get = (kind: string, name: string) => admin.getJson<Resource>([kind, name]);
  const annotate = (kind: string, name: string, annotation: string) => admin.ok(['annotate', kind, name, annotation, '--overwrite']);

  beforeAll(async () => {
    await installCrds(admin);
    for (const kind of REGISTRY_KINDS) {
      const scope = (await admin.ok(['get', 'crd', `${kind}.aws-infra-operator.runner.codes`, '-o', 'jsonpath={.spec.scope}'])).trim();
      if (scope !== 'Cluster') throw new Error(`CRD ${kind} is ${scope}-scoped in config/crd/bases; these tests need the cluster-scoped kinds`);
    }
    // Objects of these kinds that earlier files left must not act on the registry checked here.
    await clearRegistryObjects(admin);
    await faults([]);
    await docs.reset();
    nsA = await freshNamespace(admin, 'reg-a');
    nsB = await freshNamespace(admin, 'reg-b');
    providerA = { namespace: nsA, name: 'aws' };
    providerB = { namespace: nsB, name: 'aws' };
    await admin.apply(staticProviderYaml(nsA, 'aws', { keyId: KEY_A }));
    await admin.apply(staticProviderYaml(nsB, 'aws', { keyId: KEY_B }));
    const saKubeconfig = await serviceAccountKubeconfig(env, admin);
    // A Secret that disappears is noticed within 2 s; Ready objects are compared with AWS every 5 s.
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: ['--sync-period=5s', '--secret-poll-period=2s'] });
    await waitForReady(admin, 'awsprovider', nsA, 'aws');
    await waitForReady(admin, 'awsprovider', nsB, 'aws');
  });

  afterAll(async () => {
    await faults([]).catch(() => undefined);
    // Deleted while the operator runs: deletionPolicy Delete objects take their parts out of AWS.
    for (const kind of REGISTRY_KINDS) {
      const names = (await admin.run(['get', kind, '-o', 'name'])).stdout.split('\n').map((l) => l.trim()).filter((l) => l.endsWith(RUN));
      if (names.length) await admin.run(['delete', ...names, '--wait=true', '--timeout=30s']);
    }
    for (const ns of [nsA, nsB].filter(Boolean)) await admin.run(['delete', 'awsprovider', 'aws', '-n', ns, '--wait=true', '--timeout=30s']);
    await operator?.stop();
    // Whatever could not go with the operator's help goes now, without it.
    await clearRegistryObjects(admin).catch(() => undefined);
    await admin.run(['delete', 'namespace', ...[nsA, nsB, ...extraNamespaces].filter(Boolean), '--wait=false', '--ignore-not-found']);
    await docs.reset().catch(() => undefined);
  });

  it('a tenant with every right in its own namespace may create none of the three kinds: the API server answers 403', async () => {
    const ns = await freshNamespace(admin, 'reg-tenant');
    extraNamespaces.push(ns);
    const user = `registry-tenant-${ns}`;
    const tenant = tenantUser(env, user);
    // Every verb on every kind of the operator by a Role of its namespace, and the namespace's
    // cluster-admin on top: nothing a namespace role says reaches a cluster-scoped kind.
    await admin.apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: infra-operator-everything
  namespace: ${ns}
rules:
- apiGroups: ["aws-infra-operator.runner.codes"]
  resources: ["awsproviders", "ecrrepositories", "ecrreplicationrules", "ecrregistrypolicystatements", "ecrregistryscanningconfigurations"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: infra-operator-everything
  namespace: ${ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: infra-operator-everything
subjects:
- kind: User
  name: ${user}
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: namespace-admin
  namespace: ${ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: User
  name: ${user}
  apiGroup: rbac.authorization.k8s.io
`);
    await tenant.apply(staticProviderYaml(ns, 'aws', { keyId: 'AKIAREGISTRYTENANT01' }));
    expect((await tenant.run(['auth', 'can-i', 'create', 'ecrrepositories.aws-infra-operator.runner.codes', '-n', ns])).stdout.trim()).toBe('yes');
    expect((await tenant.run(['auth', 'can-i', '*', '*', '-n', ns])).stdout.trim()).toBe('yes');

    const own = { namespace: ns, name: 'aws' };
    const attempts: Array<[string, Record<string, unknown>]> = [
      ['ecrregistrypolicystatements', policyStatement(`tenant-grab-${RUN}`, own, 'TenantGrab', { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'ecr:*', Resource: '*' })],
      ['ecrreplicationrules', replicationRule(`tenant-copy-${RUN}`, own, ['eu-west-3'])],
      ['ecrregistryscanningconfigurations', scanningConfiguration(`tenant-scan-${RUN}`, own, 'BASIC', [])],
    ];
    for (const [plural, obj] of attempts) {
      const name = (obj.metadata as { name: string }).name;
      expect((await tenant.run(['auth', 'can-i', 'create', `${plural}.aws-infra-operator.runner.codes`])).stdout.trim()).toBe('no');
      // -v=6 prints each request with the HTTP status the API server answered.
      const result = await tenant.run(['create', '-f', '-', '-v=6'], manifest(obj));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(new RegExp(`POST https://[^ ]+/apis/aws-infra-operator\\.runner\\.codes/v1alpha1/${plural}[^\\n]*403 Forbidden`));
      expect(result.stderr).toContain(`cannot create resource "${plural}" in API group "aws-infra-operator.runner.codes" at the cluster scope`);
      expect((await admin.run(['get', plural, name, '--ignore-not-found', '-o', 'name'])).stdout.trim()).toBe('');
    }
    // Every account-wide kind, the ones added since included: the CRDs of cluster scope.
    const clusterKinds = readdirSync('config/crd/bases')
      .map((f) => parse(readFileSync(`config/crd/bases/${f}`, 'utf8')) as { spec: { scope: string; names: { plural: string } } })
      .filter((crd) => crd.spec.scope === 'Cluster')
      .map((crd) => crd.spec.names.plural);
    expect(clusterKinds.length).toBeGreaterThanOrEqual(8);
    for (const plural of clusterKinds) {
      expect((await tenant.run(['auth', 'can-i', 'create', `${plural}.aws-infra-operator.runner.codes`])).stdout.trim(), plural).toBe('no');
    }
    await tenant.run(['delete', 'awsprovider', 'aws', '-n', ns, '--wait=false']);
  });

  it("two providers of two namespaces name one registry: each object's Put is signed by its own provider's key, never the other's", async () => {
    const start = await aws.callsBySigner();
    await admin.apply(manifest(
      policyStatement(N.teamA, providerA, 'TeamA', replicationStatement(ACCOUNT, '111111111111'), { deletionPolicy: 'Delete' }),
      replicationRule(N.toIreland, providerA, ['eu-west-1'], { deletionPolicy: 'Delete' }),
    ));
    const teamA = await waitForPart(admin, RPS, N.teamA);
    await waitForPart(admin, REPL, N.toIreland);
    const afterA = await aws.callsBySigner();
    expect(signedDelta(start, afterA, PUT_POLICY)).toEqual({ [KEY_A]: 1 });
    expect(signedDelta(start, afterA, PUT_RULES)).toEqual({ [KEY_A]: 1 });
    expect(teamA.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1', statements: 1 });
    expect(teamA.metadata.finalizers).toContain(FINALIZER);
    expect(JSON.parse(teamA.status?.appliedStatement as string)).toMatchObject({ Sid: 'TeamA' });

    await admin.apply(manifest(
      policyStatement(N.teamB, providerB, 'TeamB', replicationStatement(ACCOUNT, '222222222222')),
      replicationRule(N.toMumbai, providerB, ['ap-south-1']),
    ));
    const teamB = await waitForPart(admin, RPS, N.teamB);
    const toMumbai = await waitForPart(admin, REPL, N.toMumbai);
    const afterB = await aws.callsBySigner();
    expect(signedDelta(afterA, afterB, PUT_POLICY)).toEqual({ [KEY_B]: 1 });
    expect(signedDelta(afterA, afterB, PUT_RULES)).toEqual({ [KEY_B]: 1 });
    // B's objects read the registry with B's key too.
    expect(signedDelta(afterA, afterB, 'ECR:GetRegistryPolicy')).toHaveProperty(KEY_B);
    expect(teamB.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1', statements: 2 });
    expect(toMumbai.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, rules: 2 });
    expect(toMumbai.status?.appliedRule).toEqual({ destinations: [{ region: 'ap-south-1', registryId: ACCOUNT }] });

    const policy = await docs.policy();
    expect(policy?.Statement).toEqual([
      { Sid: 'TeamA', ...replicationStatement(ACCOUNT, '111111111111') },
      { Sid: 'TeamB', ...replicationStatement(ACCOUNT, '222222222222') },
    ]);
    expect(await docs.ruleRegions()).toEqual(['ap-south-1', 'eu-west-1']);

    // B's identity may not change the registry policy: B's object is Stalled with AWS's refusal, and
    // nothing is written with A's key on its behalf.
    await faults([{ operation: 'PutRegistryPolicy', service: 'ECR', accessKeyId: KEY_B, status: 400, code: 'AccessDeniedException', message: 'User: arn:aws:iam::123456789012:user/team-b is not authorized to perform: ecr:PutRegistryPolicy' }]);
    try {
      const before = await aws.callsBySigner();
      await admin.apply(manifest(policyStatement(N.denied, providerB, 'TeamBWide', { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'ecr:*', Resource: '*' })));
      const denied = await waitForPart(admin, RPS, N.denied, { status: 'False', reason: 'AccessDenied' });
      expect(condition(denied, 'Ready')?.message).toContain('not authorized to perform: ecr:PutRegistryPolicy');
      expect(condition(denied, 'Stalled')?.status).toBe('True');
      expect(signedDelta(before, await aws.callsBySigner(), PUT_POLICY)).toEqual({ [KEY_B]: 1 });
      expect(await docs.sids()).toEqual(['TeamA', 'TeamB']);
      await admin.ok(['delete', RPS, N.denied, '--wait=false']);
      await waitForClusterObjectGone(admin, RPS, N.denied, 10_000);
    } finally {
      await faults([]);
    }
    expect(await docs.sids()).toEqual(['TeamA', 'TeamB']);
    await waitForPart(admin, RPS, N.teamB);
  });

  it('a statement, a replication rule and a scanning configuration set with awscli are left as they are (AlreadyExists) until adopted', async () => {
    // Set outside Kubernetes, next to the objects' parts.
    const policy = (await docs.policy())!;
    await docs.putPolicy({ ...policy, Statement: [...policy.Statement, { Sid: 'Outside', ...replicationStatement(ACCOUNT, '333333333333') }] });
    await docs.putRules([...(await docs.rules()), { destinations: [{ region: 'sa-east-1', registryId: ACCOUNT }] }]);
    await docs.putScanning({ scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: 'prod-*', filterType: 'WILDCARD' }] }] });
    const before = { policy: await docs.policyOutput(), registry: await docs.registryOutput(), scanning: await docs.scanningOutput() };
    const calls = await putCalls();

    // Objects naming the same Sid, the same rule and the registry's scanning configuration.
    await admin.apply(manifest(
      policyStatement(N.outside, providerA, 'Outside', replicationStatement(ACCOUNT, '444444444444')),
      replicationRule(N.toSaoPaulo, providerB, ['sa-east-1']),
      scanningConfiguration(N.scanning, providerA, 'BASIC', [{ scanFrequency: 'SCAN_ON_PUSH', filters: ['*'] }], { deletionPolicy: 'Delete' }),
    ));
    const found: Array<[string, string, RegExp, string]> = [
      [RPS, N.outside, /statement Outside already exists in the registry policy of 123456789012\/us-east-1 and was not written by this object/, 'ECRRegistryPolicyStatement'],
      [REPL, N.toSaoPaulo, /replication rule to 123456789012\/sa-east-1 already exists/, 'ECRReplicationRule'],
      [SCAN, N.scanning, /scanning .*already exists in the registry's scanning configuration/, 'ECRRegistryScanningConfiguration'],
    ];
    for (const [kind, name, message] of found) {
      const obj = await waitForPart(admin, kind, name, { status: 'False', reason: 'AlreadyExists' });
      console.log(`${kind} ${name}: ${condition(obj, 'Ready')?.message}`);
      expect(condition(obj, 'Ready')?.message).toMatch(message);
      expect(condition(obj, 'Ready')?.message).toContain(`${ADOPT_ANNOTATION}="true"`);
      expect(condition(obj, 'Stalled')?.status).toBe('True');
      expect(obj.status?.inForce).not.toBe(true);
    }
    // Nothing in AWS has changed, byte for byte, and nothing was written (the registry's other
    // objects went on syncing every 5 s meanwhile).
    expect(await docs.policyOutput()).toBe(before.policy);
    expect(await docs.registryOutput()).toBe(before.registry);
    expect(await docs.scanningOutput()).toBe(before.scanning);
    expect(await putCalls()).toEqual(calls);

    // Adopted on request: each object now owns its part, as its spec says.
    for (const [kind, name] of found) await annotate(kind, name, `${ADOPT_ANNOTATION}=true`);
    for (const [kind, name, , kindName] of found) {
      const obj = await waitForPart(admin, kind, name);
      expect(obj.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1' });
      expect((await waitForEvent(admin, kindName, name, 'Adopted')).message).toMatch(/^took over /);
    }
    expect(await docs.statement('Outside')).toEqual({ Sid: 'Outside', ...replicationStatement(ACCOUNT, '444444444444') });
    expect(await docs.ruleRegions()).toEqual(['ap-south-1', 'eu-west-1', 'sa-east-1']);
    expect(await docs.scanning()).toEqual({ scanType: 'BASIC', rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] });
    // Each write with the adopting object's own key; the identical rule needed none.
    const adopted = await aws.callsBySigner();
    expect(signedDelta(calls, adopted, PUT_POLICY)).toEqual({ [KEY_A]: 1 });
    expect(signedDelta(calls, adopted, PUT_RULES)).toEqual({});
    expect(signedDelta(calls, adopted, PUT_SCANNING)).toEqual({ [KEY_A]: 1 });

    // The registry's one scanning configuration now belongs to an object: another is a Conflict naming it.
    const scanning = await docs.scanningOutput();
    await admin.apply(manifest(scanningConfiguration(N.scanningSecond, providerB, 'ENHANCED', [{ scanFrequency: 'SCAN_ON_PUSH', filters: ['*'] }], { annotations: { [ADOPT_ANNOTATION]: 'true' } })));
    const second = await waitForPart(admin, SCAN, N.scanningSecond, { status: 'False', reason: 'Conflict' });
    expect(condition(second, 'Ready')?.message).toContain(N.scanning);
    expect(await docs.scanningOutput()).toBe(scanning);
    await admin.ok(['delete', SCAN, N.scanningSecond, '--wait=false']);
    await waitForClusterObjectGone(admin, SCAN, N.scanningSecond, 10_000);
  });

  it("objects' parts and foreign parts coexist; deleting a Delete object removes exactly its part, a Retain object leaves it", async () => {
    // More of each: a foreign statement and rule, and two more objects (of both providers).
    const policy = (await docs.policy())!;
    await docs.putPolicy({ ...policy, Statement: [...policy.Statement, { Sid: 'Platform', ...replicationStatement(ACCOUNT, '555555555555') }] });
    await docs.putRules([...(await docs.rules()), { destinations: [{ region: 'us-west-1', registryId: ACCOUNT }], repositoryFilters: [{ filter: 'platform/', filterType: 'PREFIX_MATCH' }] }]);
    await admin.apply(manifest(
      policyStatement(N.teamC, providerB, 'TeamC', replicationStatement(ACCOUNT, '666666666666'), { deletionPolicy: 'Delete' }),
      replicationRule(N.toFrankfurt, providerA, ['eu-central-1'], { deletionPolicy: 'Delete', prefixes: ['team-c/'] }),
    ));
    await waitForPart(admin, RPS, N.teamC);
    await waitForPart(admin, REPL, N.toFrankfurt);
    expect(await docs.sids()).toEqual(['Outside', 'Platform', 'TeamA', 'TeamB', 'TeamC']);
    expect(await docs.ruleRegions()).toEqual(['ap-south-1', 'eu-central-1', 'eu-west-1', 'sa-east-1', 'us-west-1']);
    expect((await docs.rules()).find((r) => r.destinations[0]!.region === 'eu-central-1')).toEqual({
      destinations: [{ region: 'eu-central-1', registryId: ACCOUNT }], repositoryFilters: [{ filter: 'team-c/', filterType: 'PREFIX_MATCH' }],
    });
    // Every object of the registry stays Ready with the others' parts around it.
    for (const name of [N.teamA, N.teamB, N.outside]) await waitForPart(admin, RPS, name);
    for (const name of [N.toIreland, N.toMumbai, N.toSaoPaulo]) await waitForPart(admin, REPL, name);

    // A Sid that another object applied: Conflict, naming it; nothing written.
    const policyBefore = (await docs.policyOutput())!;
    const calls = await putCalls();
    await admin.apply(manifest(policyStatement(N.clash, providerA, 'TeamB', replicationStatement(ACCOUNT, '777777777777'), { annotations: { [ADOPT_ANNOTATION]: 'true' } })));
    const clash = await waitForPart(admin, RPS, N.clash, { status: 'False', reason: 'Conflict' });
    expect(condition(clash, 'Ready')?.message).toContain(N.teamB);
    expect(condition(clash, 'Stalled')?.status).toBe('True');
    expect(await docs.policyOutput()).toBe(policyBefore);
    expect(await putCalls()).toEqual(calls);
    await admin.ok(['delete', RPS, N.clash, '--wait=false']);
    await waitForClusterObjectGone(admin, RPS, N.clash, 10_000);

    // deletionPolicy Delete: exactly the object's part goes, written with its own provider's key.
    const statementsBefore = (await docs.policy())!;
    const rulesBefore = await docs.rules();
    const beforeDelete = await aws.callsBySigner();
    await admin.ok(['delete', RPS, N.teamA, '--wait=false']);
    await admin.ok(['delete', REPL, N.toIreland, '--wait=false']);
    await waitForClusterObjectGone(admin, RPS, N.teamA);
    await waitForClusterObjectGone(admin, REPL, N.toIreland);
    expect(await docs.policy()).toEqual({ ...statementsBefore, Statement: statementsBefore.Statement.filter((s) => s.Sid !== 'TeamA') });
    expect(await docs.rules()).toEqual(rulesBefore.filter((r) => r.destinations[0]!.region !== 'eu-west-1'));
    const afterDelete = await aws.callsBySigner();
    expect(signedDelta(beforeDelete, afterDelete, PUT_POLICY)).toEqual({ [KEY_A]: 1 });
    expect(signedDelta(beforeDelete, afterDelete, PUT_RULES)).toEqual({ [KEY_A]: 1 });
    expect((await waitForEvent(admin, 'ECRRegistryPolicyStatement', N.teamA, 'Deleted')).message).toContain('removed statement TeamA');

    // deletionPolicy Retain (the default): the part stays, and no AWS call is made.
    const registryBefore = await docs.registryOutput();
    const retainCalls = await putCalls();
    await admin.ok(['delete', REPL, N.toMumbai, '--wait=false']);
    await waitForClusterObjectGone(admin, REPL, N.toMumbai, 10_000);
    expect(await docs.registryOutput()).toBe(registryBefore);
    expect(await putCalls()).toEqual(retainCalls);
    expect((await waitForEvent(admin, 'ECRReplicationRule', N.toMumbai, 'Retained')).message).toContain('deletionPolicy Retain');
    // The others are still Ready.
    for (const name of [N.teamB, N.teamC, N.outside]) await waitForPart(admin, RPS, name);
    for (const name of [N.toSaoPaulo, N.toFrankfurt]) await waitForPart(admin, REPL, name);
  });

  it("refuses a 40-character scanning filter at the API server within 1 s while /healthz answers; a statement nested 4,000 deep stalls only itself", async () => {
    const health = watchHealth(`${operator!.probeUrl}/healthz`);
    let record: Awaited<ReturnType<ReturnType<typeof watchHealth>['stop']>>;
    try {
      // The filter that backtracked for ever in the old pattern: the CRD's linear pattern refuses it.
      const filter = `${'a'.repeat(39)}!`;
      const started = Date.now();
      const refused = await admin.run(['create', '-f', '-'], manifest(scanningConfiguration(N.evilFilter, providerA, 'ENHANCED', [{ scanFrequency: 'SCAN_ON_PUSH', filters: [filter] }])));
      const elapsed = Date.now() - started;
      console.log(`the 40-character filter was refused in ${elapsed} ms`);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('spec.rules[0].repositoryFilters[0].filter');
      expect(refused.stderr).toMatch(/should match/);
      expect(elapsed).toBeLessThan(1_000);
      expect((await admin.run(['get', SCAN, N.evilFilter, '--ignore-not-found', '-o', 'name'])).stdout.trim()).toBe('');

      // 4,000 levels of nesting in 8,000 characters, inside the CRD's 10,240.
      const nested = '['.repeat(4000) + ']'.repeat(4000);
      const readySince = (obj: Resource) => (condition(obj, 'Ready') as { lastTransitionTime?: string } | undefined)?.lastTransitionTime;
      const teamBReadySince = readySince(await get(RPS, N.teamB));
      const created = await admin.run(['create', '-f', '-'], manifest(policyStatement(N.deep, providerA, 'Deep', nested, { deletionPolicy: 'Delete' })));
      if (created.code !== 0) {
        // Refused by the API server, naming the limit.
        expect(created.stderr).toMatch(/spec\.statement/);
        expect(created.stderr).toMatch(/32/);
      } else {
        const deep = await waitForPart(admin, RPS, N.deep, { status: 'False', reason: 'InvalidSpec' });
        expect(condition(deep, 'Ready')?.message).toMatch(/spec\.statement: nest(?:ed|ing) deeper than 32 levels \(the limit\)/);
        expect(condition(deep, 'Stalled')?.status).toBe('True');
        // A periodic sync of the registry's other objects meanwhile.
        await new Promise((r) => setTimeout(r, 6_000));
        // Never applied: released at once without AWS.
        const t = Date.now();
        await admin.ok(['delete', RPS, N.deep, '--wait=false']);
        await waitForClusterObjectGone(admin, RPS, N.deep, 10_000);
        console.log(`the nested statement's object was released ${Date.now() - t} ms after its deletion`);
      }
      // The registry's other object stayed Ready all along, and its statement stayed in AWS.
      const teamB = await waitForPart(admin, RPS, N.teamB);
      expect(readySince(teamB)).toBe(teamBReadySince);
      expect(teamB.status?.inForce).toBe(true);
      expect(await docs.statement('TeamB')).toEqual({ Sid: 'TeamB', ...replicationStatement(ACCOUNT, '222222222222') });
      expect(await docs.sids()).not.toContain('Deep');
    } finally {
      record = await health.stop();
    }
    console.log(`/healthz: ${record.probes} probes, slowest ${record.slowestMs} ms`);
    expect(record.failures).toEqual([]);
    expect(record.probes).toBeGreaterThan(5);
    expect(record.slowestMs).toBeLessThan(1_000);
    expect(operator!.exited()).toBe(false);
  });

  it("with the provider's Secret deleted first: Retain and Orphan objects go within 10 s; a Delete object is Stalled until switched to Retain", async () => {
    const ns = await freshNamespace(admin, 'reg-c');
    extraNamespaces.push(ns);
    const provider = { namespace: ns, name: 'aws' };
    await admin.apply(staticProviderYaml(ns, 'aws', { keyId: KEY_C }));
    await waitForReady(admin, 'awsprovider', ns, 'aws');
    await admin.apply(manifest(
      policyStatement(N.keepC, provider, 'KeepC', replicationStatement(ACCOUNT, '888888888888')),
      replicationRule(N.orphanC, provider, ['us-east-2'], { deletionPolicy: 'Orphan' }),
      policyStatement(N.dropC, provider, 'DropC', replicationStatement(ACCOUNT, '888888888888'), { deletionPolicy: 'Delete' }),
    ));
    for (const name of [N.keepC, N.dropC]) await waitForPart(admin, RPS, name);
    await waitForPart(admin, REPL, N.orphanC);
    expect(await docs.sids()).toEqual(expect.arrayContaining(['KeepC', 'DropC']));

    await admin.ok(['delete', 'secret', 'aws-credentials', '-n', ns]);
    const writes = await putCalls();
    const started = Date.now();
    await admin.ok(['delete', RPS, N.keepC, '--wait=false']);
    await admin.ok(['delete', REPL, N.orphanC, '--wait=false']);
    await waitForClusterObjectGone(admin, RPS, N.keepC, 10_000);
    await waitForClusterObjectGone(admin, REPL, N.orphanC, 10_000 - (Date.now() - started));
    console.log(`Retain and Orphan objects released ${Date.now() - started} ms after their deletion, the Secret gone`);
    expect(await docs.sids()).toEqual(expect.arrayContaining(['KeepC', 'DropC']));
    expect(await docs.ruleRegions()).toContain('us-east-2');
    expect(await putCalls()).toEqual(writes);

    // The provider notices at its next Secret poll; a Delete object then cannot be carried out.
    await waitForReady(admin, 'awsprovider', ns, 'aws', { status: 'False', reason: 'SecretNotFound' }, 20_000);
    const before = await aws.callsBySigner();
    await admin.ok(['delete', RPS, N.dropC, '--wait=false']);
    const stuck = await waitForPart(admin, RPS, N.dropC, { status: 'False', reason: 'ProviderNotReady' }, 20_000);
    const message = condition(stuck, 'Ready')?.message ?? '';
    expect(message).toContain(`AWSProvider ${ns}/aws`);
    expect(message).toMatch(/set spec\.deletionPolicy to Retain/);
    expect(condition(stuck, 'Stalled')?.status).toBe('True');
    expect(stuck.metadata.finalizers).toContain(FINALIZER);
    expect(await docs.sids()).toContain('DropC');
    // Not one ECR call with the key of a provider that cannot act.
    const ecrCallsOfC = (calls: Record<string, number>) => Object.fromEntries(Object.entries(calls).filter(([k]) => k.startsWith('ECR:') && k.endsWith(`@${KEY_C}`)));
    expect(ecrCallsOfC(await aws.callsBySigner())).toEqual(ecrCallsOfC(before));

    // Switched to Retain: released at once, its statement left in AWS.
    const t = Date.now();
    await admin.ok(['patch', RPS, N.dropC, '--type', 'merge', '-p', '{"spec":{"deletionPolicy":"Retain"}}']);
    await waitForClusterObjectGone(admin, RPS, N.dropC, 5_000);
    console.log(`the Delete object was released ${Date.now() - t} ms after the switch to Retain`);
    expect(await docs.sids()).toContain('DropC');
    await admin.ok(['delete', 'awsprovider', 'aws', '-n', ns, '--wait=true', '--timeout=30s']);
  });

  it("deleting a provider that cluster-scoped objects use, or its namespace, waits, naming them; once they are deleted the namespace goes", async () => {
    const ns = await freshNamespace(admin, 'reg-d');
    extraNamespaces.push(ns);
    const provider = { namespace: ns, name: 'aws' };
    await admin.apply(staticProviderYaml(ns, 'aws', { keyId: KEY_D }));
    await waitForReady(admin, 'awsprovider', ns, 'aws');
    await admin.apply(manifest(
      policyStatement(N.nsGoneStatement, provider, 'NamespaceD', replicationStatement(ACCOUNT, '121212121212')),
      replicationRule(N.nsGoneRule, provider, ['eu-north-1']),
    ));
    await waitForPart(admin, RPS, N.nsGoneStatement);
    await waitForPart(admin, REPL, N.nsGoneRule);

    // The provider deleted first (its namespace still active): it waits, naming the objects in its
    // Ready condition and in an Event.
    await admin.ok(['delete', 'awsprovider', 'aws', '-n', ns, '--wait=false']);
    const waiting = await waitForReady(admin, 'awsprovider', ns, 'aws', { status: 'False', reason: 'DeletionWaiting' }, 30_000);
    expect(condition(waiting, 'Ready')?.message).toMatch(/^deletion waits for 2 objects that use this provider: /);
    for (const name of [N.nsGoneStatement, N.nsGoneRule]) expect(condition(waiting, 'Ready')?.message).toContain(name);
    const event = await eventually('a DeletionWaiting Event naming both objects', async () => {
      const events = await eventsOf(admin, 'AWSProvider', 'aws', ns);
      return events.find((e) => e.reason === 'DeletionWaiting' && e.message.includes(N.nsGoneStatement) && e.message.includes(N.nsGoneRule));
    }, 20_000, 500);
    expect(event.type).toBe('Normal');

    // Then its namespace: it stays Terminating while the provider waits, and the provider's
    // condition still names the objects. (The API server takes no new Events in a namespace being
    // deleted, so the condition is what says why there.)
    await admin.ok(['delete', 'namespace', ns, '--wait=false']);
    await eventually(`namespace ${ns} Terminating`, async () => ((await admin.ok(['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}'])).trim() === 'Terminating' ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await admin.ok(['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}'])).trim()).toBe('Terminating');
    const stillWaiting = await waitForReady(admin, 'awsprovider', ns, 'aws', { status: 'False', reason: 'DeletionWaiting' }, 10_000);
    for (const name of [N.nsGoneStatement, N.nsGoneRule]) expect(condition(stillWaiting, 'Ready')?.message).toContain(name);

    await admin.ok(['delete', RPS, N.nsGoneStatement, '--wait=false']);
    await admin.ok(['delete', REPL, N.nsGoneRule, '--wait=false']);
    await waitForClusterObjectGone(admin, RPS, N.nsGoneStatement, 10_000);
    await waitForClusterObjectGone(admin, REPL, N.nsGoneRule, 10_000);
    await eventually(`namespace ${ns} to be gone`, async () => {
      const r = await admin.run(['get', 'namespace', ns, '--ignore-not-found', '-o', 'name']);
      return r.code === 0 && r.stdout.trim() === '' ? true : undefined;
    }, 120_000, 1_000);
    // Retain: their parts stay in AWS.
    expect(await docs.sids()).toContain('NamespaceD');
    expect(await docs.ruleRegions()).toContain('eu-north-1');
  });

  it('kubectl: explain, short names and printer columns; get without -n lists them cluster-wide', async () => {
    const resources = await admin.ok(['api-resources', '--api-group=aws-infra-operator.runner.codes', '--namespaced=false', '-o', 'name']);
    for (const kind of REGISTRY_KINDS) expect(resources).toContain(`${kind}.aws-infra-operator.runner.codes`);
    expect(await admin.ok(['explain', 'ecrrepl.spec.providerRef'])).toMatch(/namespace/);
    expect(await admin.ok(['explain', 'ecrrps.spec.providerRef.namespace'])).toMatch(/FIELD:\s+namespace/);
    expect(await admin.ok(['explain', 'ecrscan.spec.scanType'])).toContain('ENHANCED');
    expect(await admin.ok(['explain', 'ecrrps'])).toMatch(/cluster/i);

    const statements = await admin.ok(['get', 'ecrrps']);
    expect(statements).toMatch(/^NAME\s+READY\s+PROVIDER NAMESPACE\s+PROVIDER\s+SID\s+REGISTRY\s+REGION\s+REASON\s+AGE\n/);
    expect(statements).toMatch(new RegExp(`${N.teamB}\\s+true\\s+${nsB}\\s+aws\\s+TeamB\\s+${ACCOUNT}\\s+us-east-1\\s+Available`));
    expect(statements).toMatch(new RegExp(`${N.outside}\\s+true\\s+${nsA}\\s+aws\\s+Outside\\s+${ACCOUNT}\\s+us-east-1\\s+Available`));
    const rules = await admin.ok(['get', 'ecrrepl']);
    expect(rules).toMatch(/^NAME\s+READY\s+PROVIDER NAMESPACE\s+PROVIDER\s+RULES\s+REGISTRY\s+REGION\s+REASON\s+AGE\n/);
    expect(rules).toMatch(new RegExp(`${N.toFrankfurt}\\s+true\\s+${nsA}\\s+aws\\s+\\d+\\s+${ACCOUNT}\\s+us-east-1\\s+Available`));
    const scans = await admin.ok(['get', 'ecrscan']);
    expect(scans).toMatch(/^NAME\s+READY\s+PROVIDER NAMESPACE\s+PROVIDER\s+SCAN TYPE\s+REGISTRY\s+REGION\s+REASON\s+AGE\n/);
    expect(scans).toMatch(new RegExp(`${N.scanning}\\s+true\\s+${nsA}\\s+aws\\s+BASIC\\s+${ACCOUNT}\\s+us-east-1\\s+Available`));
    // No namespace column, whatever -n says: the objects belong to no namespace.
    expect(await admin.ok(['get', 'ecrrps', N.teamB, '-n', nsA, '-o', 'name'])).toContain(N.teamB);
    expect((await admin.getJson<Resource>([RPS, N.teamB])).metadata.namespace).toBeUndefined();
  });
});
