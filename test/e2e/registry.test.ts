import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForGone, waitForReady, type Resource } from './support/scenario.js';

// Registry-level settings end to end: ECRReplicationRule, ECRRegistryPolicyStatement and
// ECRRegistryScanningConfiguration objects of several namespaces merge into the one document per
// registry that ECR keeps; checked with kubectl and awscli, AWS calls counted by the local AWS layer.

const ACCOUNT = '123456789012';
const API = 'aws-infra-operator.runner.codes/v1alpha1';
const CRDS = ['ecrreplicationrules', 'ecrregistrypolicystatements', 'ecrregistryscanningconfigurations'];

interface Rule { destinations: Array<{ region: string; registryId: string }>; repositoryFilters?: Array<{ filter: string; filterType: string }> }

function ruleYaml(namespace: string, name: string, regions: string[], extra = ''): string {
  return `apiVersion: ${API}
kind: ECRReplicationRule
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  providerRef:
    name: aws
  destinations:
${regions.map((r) => `    - region: ${r}`).join('\n')}
${extra}`;
}

const statementBody = (principalAccount: string) => JSON.stringify({
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${principalAccount}:root` },
  Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
  Resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/*`,
});

function statementYaml(namespace: string, name: string, sid: string, principalAccount: string, extra = ''): string {
  return `apiVersion: ${API}
kind: ECRRegistryPolicyStatement
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  providerRef:
    name: aws
  sid: ${sid}
  statement: '${statementBody(principalAccount)}'
${extra}`;
}

function scanningYaml(namespace: string, name: string, scanType: string, frequency: string): string {
  return `apiVersion: ${API}
kind: ECRRegistryScanningConfiguration
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  providerRef:
    name: aws
  scanType: ${scanType}
  rules:
    - scanFrequency: ${frequency}
      repositoryFilters:
        - filter: "*"
          filterType: WILDCARD
`;
}

describe('registry-level settings', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let operator: OperatorProcess;
  let ns1: string;
  let ns2: string;
  let saKubeconfig: string;

  const replicationRules = async () => (await aws.json<{ replicationConfiguration?: { rules: Rule[] } }>(['ecr', 'describe-registry'])).replicationConfiguration?.rules ?? [];
  const regionsOf = (rules: Rule[]) => rules.map((r) => r.destinations.map((d) => d.region).sort().join('+')).sort();
  const registryPolicy = async () => {
    const r = await aws.attempt(['ecr', 'get-registry-policy']);
    return r.code === 0 ? (JSON.parse((JSON.parse(r.stdout) as { policyText: string }).policyText) as { Statement: Array<Record<string, unknown> & { Sid?: string }> }) : undefined;
  };
  const calls = async (operation: string) => (await aws.calls())[`ECR:${operation}`] ?? 0;
  const forceSync = (kind: string, namespace: string, name: string) =>
    kubectl.ok(['annotate', kind, name, '-n', namespace, `force-sync=${Date.now()}`, '--overwrite']);

  beforeAll(async () => {
    await installCrds(kubectl);
    await kubectl.ok(['wait', '--for=condition=Established', ...CRDS.map((c) => `crd/${c}.aws-infra-operator.runner.codes`), '--timeout=60s']);
    // The shared moto's registry starts empty of registry-level settings.
    await aws.json(['ecr', 'put-replication-configuration', '--replication-configuration', '{"rules":[]}']);
    await aws.attempt(['ecr', 'delete-registry-policy']);
    await aws.json(['ecr', 'put-registry-scanning-configuration', '--scan-type', 'BASIC', '--rules', '[]']);
    saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns1 = await freshNamespace(kubectl, 'reg-a');
    ns2 = await freshNamespace(kubectl, 'reg-b');
    await kubectl.apply(staticProviderYaml(ns1, 'aws'));
    await kubectl.apply(staticProviderYaml(ns2, 'aws'));
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: ['--sync-period=5s'] });
    await waitForReady(kubectl, 'awsprovider', ns1, 'aws');
    await waitForReady(kubectl, 'awsprovider', ns2, 'aws');
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('merges three ECRReplicationRules of two namespaces into one configuration; deleting one removes only its rule; a foreign rule survives', async () => {
    await kubectl.apply([
      ruleYaml(ns1, 'to-ireland', ['eu-west-1'], '  deletionPolicy: Delete\n'),
      ruleYaml(ns1, 'to-oregon', ['us-west-2'], '  repositoryFilters:\n    - filter: prod\n      filterType: PREFIX_MATCH\n'),
      ruleYaml(ns2, 'to-mumbai', ['ap-south-1']),
    ].join('---\n'));
    for (const [ns, name] of [[ns1, 'to-ireland'], [ns1, 'to-oregon'], [ns2, 'to-mumbai']] as const) {
      const obj = await waitForReady(kubectl, 'ecrreplicationrule', ns, name);
      expect(obj.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1' });
      expect(obj.metadata.finalizers).toContain('aws-infra-operator.runner.codes/finalizer');
    }
    const rules = await replicationRules();
    expect(regionsOf(rules)).toEqual(['ap-south-1', 'eu-west-1', 'us-west-2']);
    expect(rules.find((r) => r.destinations[0]!.region === 'us-west-2')).toEqual({
      destinations: [{ region: 'us-west-2', registryId: ACCOUNT }], repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }],
    });
    await eventually('every object to count 3 rules', async () => {
      const got = await kubectl.getJson<{ items: Resource[] }>(['ecrreplicationrules', '-A']);
      return got.items.every((o) => (o.status?.registry as { entries?: number } | undefined)?.entries === 3) || undefined;
    }, 20_000);

    // Someone else adds a rule with awscli: it survives every sync.
    const foreign = { destinations: [{ region: 'sa-east-1', registryId: ACCOUNT }] };
    await aws.json(['ecr', 'put-replication-configuration', '--replication-configuration', JSON.stringify({ rules: [...rules, foreign] })]);
    await forceSync('ecrreplicationrule', ns1, 'to-oregon');
    await new Promise((r) => setTimeout(r, 7_000)); // a force-sync and a periodic sync
    expect(regionsOf(await replicationRules())).toEqual(['ap-south-1', 'eu-west-1', 'sa-east-1', 'us-west-2']);
    await eventually('the foreign rule to be counted', async () => {
      const obj = await kubectl.getJson<Resource>(['ecrreplicationrule', 'to-oregon', '-n', ns1]);
      const registry = obj.status?.registry as { entries?: number; foreign?: number } | undefined;
      return registry?.entries === 4 && registry.foreign === 1 ? true : undefined;
    }, 20_000);

    // A restarted operator remembers nothing but what the objects' status records: deleting one
    // object (deletionPolicy Delete) then removes exactly its rule.
    await operator.stop();
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: ['--sync-period=5s'] });
    await kubectl.ok(['delete', 'ecrreplicationrule', 'to-ireland', '-n', ns1, '--wait=false']);
    await waitForGone(kubectl, 'ecrreplicationrule', ns1, 'to-ireland');
    expect(regionsOf(await replicationRules())).toEqual(['ap-south-1', 'sa-east-1', 'us-west-2']);
    await forceSync('ecrreplicationrule', ns2, 'to-mumbai');
    await new Promise((r) => setTimeout(r, 6_000));
    expect(regionsOf(await replicationRules())).toEqual(['ap-south-1', 'sa-east-1', 'us-west-2']);
  });

  it('refuses an eleventh replication rule naming the limit, before any AWS call', async () => {
    // Three rules are there (two objects, one foreign); seven more objects fill the configuration.
    const regions = ['eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'us-west-1', 'us-east-2', 'ap-northeast-1'];
    await kubectl.apply(regions.map((r) => ruleYaml(ns2, `fill-${r}`, [r], '  deletionPolicy: Delete\n')).join('---\n'));
    for (const r of regions) await waitForReady(kubectl, 'ecrreplicationrule', ns2, `fill-${r}`);
    expect(await replicationRules()).toHaveLength(10);
    const puts = await calls('PutReplicationConfiguration');
    await kubectl.apply(ruleYaml(ns2, 'eleventh', ['ca-central-1']));
    const refused = await waitForReady(kubectl, 'ecrreplicationrule', ns2, 'eleventh', { status: 'False', reason: 'LimitExceeded' });
    expect(refused.status?.message).toContain('more than 10 rules');
    expect(condition(refused, 'Stalled')?.status).toBe('True');
    expect(refused.status?.inForce).toBe(false);
    expect(await calls('PutReplicationConfiguration')).toBe(puts);
    expect(await replicationRules()).toHaveLength(10);
    // Room again: the waiting rule goes in.
    await kubectl.ok(['delete', 'ecrreplicationrule', `fill-${regions[0]}`, '-n', ns2]);
    await forceSync('ecrreplicationrule', ns2, 'eleventh');
    await waitForReady(kubectl, 'ecrreplicationrule', ns2, 'eleventh');
    expect(regionsOf(await replicationRules())).toContain('ca-central-1');
    // Retain (the default): deleting the object leaves its rule, which nobody claims from then on.
    await kubectl.ok(['delete', 'ecrreplicationrule', 'eleventh', '-n', ns2]);
    expect(regionsOf(await replicationRules())).toContain('ca-central-1');
    await forceSync('ecrreplicationrule', ns2, 'to-mumbai');
    await eventually('the retained rule to count as foreign', async () => {
      const obj = await kubectl.getJson<Resource>(['ecrreplicationrule', 'to-mumbai', '-n', ns2]);
      return (obj.status?.registry as { foreign?: number } | undefined)?.foreign === 2 ? true : undefined;
    }, 20_000);
    expect(regionsOf(await replicationRules())).toContain('ca-central-1');
  });

  it('merges ECRRegistryPolicyStatements into one registry policy; a clashing Sid is Stalled; an edit in AWS is restored by force-sync within 10 s', async () => {
    await kubectl.apply([statementYaml(ns1, 'pull-from-a', 'ReplicationFromA', '111111111111'), statementYaml(ns2, 'pull-from-b', 'ReplicationFromB', '222222222222')].join('---\n'));
    await waitForReady(kubectl, 'ecrregistrypolicystatement', ns1, 'pull-from-a');
    await waitForReady(kubectl, 'ecrregistrypolicystatement', ns2, 'pull-from-b');
    const policy = await registryPolicy();
    expect(policy?.Statement.map((s) => s.Sid).sort()).toEqual(['ReplicationFromA', 'ReplicationFromB']);

    const puts = await calls('PutRegistryPolicy');
    await kubectl.apply(statementYaml(ns2, 'clash', 'ReplicationFromA', '333333333333'));
    const clash = await waitForReady(kubectl, 'ecrregistrypolicystatement', ns2, 'clash', { status: 'False', reason: 'Conflict' });
    expect(clash.status?.message).toContain(`${ns1}/pull-from-a`);
    expect(condition(clash, 'Stalled')?.status).toBe('True');
    expect(await calls('PutRegistryPolicy')).toBe(puts);
    expect(await registryPolicy()).toEqual(policy);

    // Edited with awscli: the statement of pull-from-a now names another principal.
    const edited = { ...policy!, Statement: policy!.Statement.map((s) => (s.Sid === 'ReplicationFromA' ? { ...s, Principal: { AWS: 'arn:aws:iam::666666666666:root' } } : s)) };
    await aws.json(['ecr', 'put-registry-policy', '--policy-text', JSON.stringify(edited)]);
    const started = Date.now();
    await forceSync('ecrregistrypolicystatement', ns1, 'pull-from-a');
    await eventually('the edited statement to be restored', async () => {
      const now = await registryPolicy();
      const a = now?.Statement.find((s) => s.Sid === 'ReplicationFromA');
      return JSON.stringify(a?.Principal) === JSON.stringify({ AWS: 'arn:aws:iam::111111111111:root' }) ? true : undefined;
    }, 10_000, 200);
    console.log(`registry policy statement restored ${Date.now() - started} ms after force-sync`);
  });

  it('a statement that AWS refuses is Stalled with AWS\'s words; one applied with it still goes in', async () => {
    const refused = `apiVersion: ${API}
kind: ECRRegistryPolicyStatement
metadata:
  name: refused
  namespace: ${ns1}
spec:
  providerRef:
    name: aws
  sid: Refused
  statement: '${JSON.stringify({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'ecr:DeleteRepository', Resource: '*' })}'
`;
    await kubectl.apply([refused, statementYaml(ns2, 'accepted', 'Accepted', '777777777777')].join('---\n'));
    const obj = await waitForReady(kubectl, 'ecrregistrypolicystatement', ns1, 'refused', { status: 'False', reason: 'InvalidSpec' });
    expect(obj.status?.message).toContain('Invalid registry policy provided');
    expect(obj.status?.rejectedGeneration).toBe(obj.metadata.generation);
    await waitForReady(kubectl, 'ecrregistrypolicystatement', ns2, 'accepted');
    const sids = (await registryPolicy())?.Statement.map((s) => s.Sid);
    expect(sids).toContain('Accepted');
    expect(sids).not.toContain('Refused');
    // Not sent again until the spec changes.
    const puts = await calls('PutRegistryPolicy');
    await forceSync('ecrregistrypolicystatement', ns1, 'refused');
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await calls('PutRegistryPolicy')).toBe(puts);
    await kubectl.ok(['delete', 'ecrregistrypolicystatement', 'refused', '-n', ns1]);
  });

  it('twenty objects of one registry changed at once cost a handful of Puts', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `bulk-${i}`);
    const apply = (account: string) => kubectl.apply(names.map((n, i) => statementYaml(i % 2 ? ns1 : ns2, n, `Bulk${i}`, account)).join('---\n'));
    const waitAll = async (account: string) => {
      await eventually('all twenty statements in force', async () => {
        const policy = await registryPolicy();
        const bulk = policy?.Statement.filter((s) => s.Sid?.startsWith('Bulk')) ?? [];
        return bulk.length === 20 && bulk.every((s) => JSON.stringify(s.Principal) === JSON.stringify({ AWS: `arn:aws:iam::${account}:root` })) ? true : undefined;
      }, 60_000);
      for (const [i, n] of names.entries()) await waitForReady(kubectl, 'ecrregistrypolicystatement', i % 2 ? ns1 : ns2, n);
    };
    let before = await calls('PutRegistryPolicy');
    await apply('444444444444');
    await waitAll('444444444444');
    const created = (await calls('PutRegistryPolicy')) - before;
    before = await calls('PutRegistryPolicy');
    await apply('555555555555');
    await waitAll('555555555555');
    const changed = (await calls('PutRegistryPolicy')) - before;
    console.log(`PutRegistryPolicy calls: ${created} to create twenty statements, ${changed} to change all twenty`);
    expect(created).toBeLessThanOrEqual(4);
    expect(changed).toBeLessThanOrEqual(4);
    const policy = await registryPolicy();
    expect(policy?.Statement.map((s) => s.Sid).filter((s) => s?.startsWith('Replication')).sort()).toEqual(['ReplicationFromA', 'ReplicationFromB']);
  });

  it('sets ENHANCED scanning with a CONTINUOUS_SCAN rule; a second object for the registry is Stalled/AlreadyOwned', async () => {
    await kubectl.apply(scanningYaml(ns1, 'scanning', 'ENHANCED', 'CONTINUOUS_SCAN'));
    await waitForReady(kubectl, 'ecrregistryscanningconfiguration', ns1, 'scanning');
    const config = await aws.json<{ scanningConfiguration: { scanType: string; rules: Array<{ scanFrequency: string; repositoryFilters: unknown[] }> } }>(['ecr', 'get-registry-scanning-configuration']);
    expect(config.scanningConfiguration).toEqual({ scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] });

    const puts = await calls('PutRegistryScanningConfiguration');
    await kubectl.apply(scanningYaml(ns2, 'second', 'BASIC', 'SCAN_ON_PUSH'));
    const second = await waitForReady(kubectl, 'ecrregistryscanningconfiguration', ns2, 'second', { status: 'False', reason: 'AlreadyOwned' });
    expect(second.status?.message).toContain(`${ns1}/scanning`);
    expect(await calls('PutRegistryScanningConfiguration')).toBe(puts);
    expect((await aws.json<{ scanningConfiguration: unknown }>(['ecr', 'get-registry-scanning-configuration'])).scanningConfiguration).toEqual(config.scanningConfiguration);
    const columns = await kubectl.ok(['get', 'ecrscan', '-n', ns2]);
    expect(columns).toMatch(/READY\s+SCAN TYPE\s+IN FORCE\s+REGISTRY\s+REGION\s+AGE/);
  });

  it('documents every kind for kubectl explain, with short names', async () => {
    expect(await kubectl.ok(['explain', 'ecrreplicationrule.spec.destinations'])).toContain('Where images are replicated to');
    expect(await kubectl.ok(['explain', 'ecrrps.spec.sid'])).toContain('unique in the registry');
    expect(await kubectl.ok(['explain', 'ecrscan.spec.scanType'])).toContain('ENHANCED');
    const rules = await kubectl.ok(['get', 'ecrrepl', '-n', ns2]);
    expect(rules).toMatch(/READY\s+IN FORCE\s+RULES\s+REGISTRY\s+REGION\s+AGE/);
    expect(rules).toMatch(/to-mumbai\s+true\s+true\s+10\s+123456789012\s+us-east-1/);
  });

  it('deleting a namespace carries out its objects\' deletion policies and completes', async () => {
    const ns = await freshNamespace(kubectl, 'reg-gone');
    await kubectl.apply(staticProviderYaml(ns, 'aws'));
    await waitForReady(kubectl, 'awsprovider', ns, 'aws');
    await kubectl.apply([statementYaml(ns, 'leaving', 'LeavingWithNamespace', '888888888888', '  deletionPolicy: Delete\n'), statementYaml(ns, 'kept', 'KeptAfterNamespace', '888888888888')].join('---\n'));
    await waitForReady(kubectl, 'ecrregistrypolicystatement', ns, 'leaving');
    await waitForReady(kubectl, 'ecrregistrypolicystatement', ns, 'kept');
    expect((await registryPolicy())?.Statement.map((s) => s.Sid)).toEqual(expect.arrayContaining(['LeavingWithNamespace', 'KeptAfterNamespace']));
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
    await eventually(`namespace ${ns} to be gone`, async () => {
      const r = await kubectl.run(['get', 'namespace', ns, '--ignore-not-found', '-o', 'name']);
      return r.code === 0 && r.stdout.trim() === '' ? true : undefined;
    }, 120_000, 1_000);
    const sids = (await registryPolicy())?.Statement.map((s) => s.Sid);
    expect(sids).not.toContain('LeavingWithNamespace');
    expect(sids).toContain('KeptAfterNamespace');
  });
});
