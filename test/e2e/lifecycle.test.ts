import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForGone, waitForReady, type Resource } from './support/scenario.js';

// The whole life of objects in a GitOps cluster, against a real control plane with
// kube-controller-manager: namespaces deleted at once, prunes, AWS failing for a while, changes
// made behind the operator's back, KMS keys named every way, repositories that already exist.

const OWNER = 'aws-infra-operator.runner.codes/owner';
const ADOPT = 'aws-infra-operator.runner.codes/adopt';
const SYNC_SECONDS = 30;
/** Faults of this suite hit only calls signed with this key, so other objects of moto are spared. */
const KEY_ID = 'AKIALIFECYCLE0000001';

type Policy = 'Delete' | 'Retain' | 'Orphan';

function repositoryYaml(namespace: string, name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'ECRRepository',
    metadata: { name, namespace, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { providerRef: { name: 'aws' }, ...spec },
  });
}

const policyText = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: ['ecr:BatchGetImage'] }],
});

describe('ECRRepository and AWSProvider through the life of a cluster', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let operator: OperatorProcess;

  const faults = async (list: unknown[]) => {
    const res = await fetch(`${env.awsEndpoint}/__aws/faults`, { method: 'POST', body: JSON.stringify(list) });
    if (!res.ok) throw new Error(`could not set faults: ${res.status}`);
  };
  const describeRepo = async (name: string) => {
    const r = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', name]);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { repositories: Array<{ repositoryArn: string; imageTagMutability: string }> }).repositories[0];
  };
  const tagsOf = async (arn: string) => Object.fromEntries(
    (await aws.json<{ tags: Array<{ Key: string; Value: string }> }>(['ecr', 'list-tags-for-resource', '--resource-arn', arn])).tags.map((t) => [t.Key, t.Value]),
  );
  /** CreateRepository requests that reached the AWS layer, from anyone (the suites run one at a time). */
  const createCalls = async () => (await aws.calls())['ECR:CreateRepository'] ?? 0;
  const setup = async (prefix: string) => {
    const ns = await freshNamespace(kubectl, prefix);
    await kubectl.apply(staticProviderYaml(ns, 'aws', { keyId: KEY_ID }));
    await waitForReady(kubectl, 'awsprovider', ns, 'aws');
    return ns;
  };
  /** Waits until AWS holds what each deletion policy promises. */
  const expectPoliciesCarriedOut = async (ns: string, policies: Array<[string, Policy]>) => {
    for (const [name, policy] of policies) {
      const live = await describeRepo(`${ns}/${name}`);
      if (policy === 'Delete') {
        expect(live, `${name} (Delete) is gone from AWS`).toBeUndefined();
        continue;
      }
      expect(live, `${name} (${policy}) stays in AWS`).toBeDefined();
      const tags = await tagsOf(live!.repositoryArn);
      if (policy === 'Retain') expect(tags[OWNER], `${name} (Retain) keeps its owner tag`).toBe(`${ns}/${name}`);
      else expect(tags[OWNER], `${name} (Orphan) is released`).toBeUndefined();
    }
  };
  const twentyRepositories = async (ns: string): Promise<Array<[string, Policy]>> => {
    const policies: Policy[] = ['Delete', 'Retain', 'Orphan'];
    const list = Array.from({ length: 20 }, (_, i) => [`repo-${i}`, policies[i % 3]!] as [string, Policy]);
    await kubectl.apply(list.map(([name, deletionPolicy]) => repositoryYaml(ns, name, { repositoryName: `${ns}/${name}`, deletionPolicy })).join('\n'));
    for (const [name] of list) await waitForReady(kubectl, 'ecrrepository', ns, name, {}, 90_000);
    return list;
  };

  beforeAll(async () => {
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    await faults([]);
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`, '--secret-poll-period=5s'] });
  });

  afterEach(async () => {
    await faults([]);
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('deleting a namespace with a provider, its Secret and 20 repositories carries out every policy and completes within 2 minutes', async () => {
    const ns = await setup('nsdel');
    const list = await twentyRepositories(ns);
    const started = Date.now();
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
    await eventually(`namespace ${ns} to be gone`, async () => {
      const r = await kubectl.run(['get', 'namespace', ns, '--ignore-not-found', '-o', 'name']);
      return r.code === 0 && r.stdout.trim() === '' ? true : undefined;
    }, 120_000, 1_000);
    console.log(`namespace with a provider and 20 repositories deleted in ${Math.round((Date.now() - started) / 1000)} s`);
    await expectPoliciesCarriedOut(ns, list);
  });

  it('a prune of the provider and its repositories at once carries out every policy', async () => {
    const ns = await setup('prune');
    const list = await twentyRepositories(ns);
    await kubectl.ok(['delete', '-n', ns, 'ecrrepository,awsprovider', '--all', '--wait=false']);
    await kubectl.ok(['delete', '-n', ns, 'secret', 'aws-credentials', '--wait=false']);
    for (const [name] of list) await waitForGone(kubectl, 'ecrrepository', ns, name, 120_000);
    await waitForGone(kubectl, 'awsprovider', ns, 'aws', 30_000);
    await expectPoliciesCarriedOut(ns, list);
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
  });

  it('after AWS failed one operation for a few seconds, every affected object is Ready within 30 s and stays so', async () => {
    const ns = await setup('fault');
    const names = ['a', 'b', 'c'];
    await kubectl.apply(names.map((n) => repositoryYaml(ns, n, { repositoryName: `${ns}/${n}` })).join('\n'));
    for (const n of names) await waitForReady(kubectl, 'ecrrepository', ns, n);
    await faults([{ operation: 'ListTagsForResource', accessKeyId: KEY_ID, status: 503, code: 'ServiceUnavailableException', message: 'injected outage' }]);
    for (const n of names) await kubectl.ok(['annotate', 'ecrrepository', n, '-n', ns, `force-sync=fault-${Date.now()}`, '--overwrite']);
    for (const n of names) await waitForReady(kubectl, 'ecrrepository', ns, n, { status: 'False' }, 20_000);
    await new Promise((r) => setTimeout(r, 3_000));
    await faults([]);
    const ended = Date.now();
    for (const n of names) await waitForReady(kubectl, 'ecrrepository', ns, n, {}, Math.max(1_000, 30_000 - (Date.now() - ended)));
    // And it stays so: the server does not fall back to an older status.
    await new Promise((r) => setTimeout(r, 5_000));
    for (const n of names) {
      const obj = await kubectl.getJson<Resource>(['ecrrepository', n, '-n', ns]);
      expect(condition(obj, 'Ready')?.status, n).toBe('True');
      expect(condition(obj, 'Reconciling'), n).toBeUndefined();
    }
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
  });

  it('force-sync right after a sync reverts a settings change made with awscli within 10 s, and status shows it', async () => {
    const ns = await setup('force');
    const name = `${ns}/app`;
    await kubectl.apply(repositoryYaml(ns, 'app', { repositoryName: name, imageTagMutability: 'IMMUTABLE', deletionPolicy: 'Delete' }));
    await waitForReady(kubectl, 'ecrrepository', ns, 'app');
    // A sync that has just listed the registry: its listing says IMMUTABLE.
    await kubectl.ok(['annotate', 'ecrrepository', 'app', '-n', ns, 'force-sync=first', '--overwrite']);
    await eventually('the first force-sync to be served', async () => {
      const obj = await kubectl.getJson<Resource>(['ecrrepository', 'app', '-n', ns]);
      return obj.status?.lastForceSync === 'first' ? obj : undefined;
    }, 10_000);
    await aws.json(['ecr', 'put-image-tag-mutability', '--repository-name', name, '--image-tag-mutability', 'MUTABLE']);
    const stamp = String(Date.now());
    await kubectl.ok(['annotate', 'ecrrepository', 'app', '-n', ns, `force-sync=${stamp}`, '--overwrite']);
    const obj = await eventually('the force-sync to revert the change', async () => {
      const o = await kubectl.getJson<Resource>(['ecrrepository', 'app', '-n', ns]);
      const live = await describeRepo(name);
      return o.status?.lastForceSync === stamp && live?.imageTagMutability === 'IMMUTABLE' ? o : undefined;
    }, 10_000);
    expect(obj.status?.imageTagMutability).toBe('IMMUTABLE');
    expect(condition(obj, 'Ready')?.status).toBe('True');
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
  });

  it('a repository created with an alias ARN, an alias name or a key id stays Ready across syncs', async () => {
    const ns = await setup('kms');
    const key = (await aws.json<{ KeyMetadata: { KeyId: string; Arn: string } }>(['kms', 'create-key', '--description', `ecr ${ns}`])).KeyMetadata;
    const alias = `alias/${ns}`;
    await aws.json(['kms', 'create-alias', '--alias-name', alias, '--target-key-id', key.KeyId]);
    const aliasArn = key.Arn.replace(/:key\/.*$/, `:${alias}`);
    const refs: Record<string, string> = { 'alias-arn': aliasArn, 'alias-name': alias, 'key-id': key.KeyId };
    await kubectl.apply(Object.entries(refs).map(([n, kmsKey]) =>
      repositoryYaml(ns, n, { repositoryName: `${ns}/${n}`, encryptionConfiguration: { encryptionType: 'KMS', kmsKey }, deletionPolicy: 'Delete' })).join('\n'));
    for (const n of Object.keys(refs)) await waitForReady(kubectl, 'ecrrepository', ns, n);
    // Two periodic syncs later, none has stalled on its key.
    const firstSync = Object.fromEntries(await Promise.all(Object.keys(refs).map(async (n) =>
      [n, (await kubectl.getJson<Resource>(['ecrrepository', n, '-n', ns])).status?.lastSyncTime] as const)));
    for (const n of Object.keys(refs)) {
      await eventually(`${n} synced twice more`, async () => {
        const obj = await kubectl.getJson<Resource>(['ecrrepository', n, '-n', ns]);
        return obj.status?.lastSyncTime !== firstSync[n] && Date.parse(String(obj.status?.lastSyncTime)) - Date.parse(String(firstSync[n])) >= SYNC_SECONDS * 1000 ? obj : undefined;
      }, SYNC_SECONDS * 3 * 1000, 1_000);
      const obj = await kubectl.getJson<Resource>(['ecrrepository', n, '-n', ns]);
      expect(condition(obj, 'Ready')?.status, n).toBe('True');
      expect(condition(obj, 'Stalled'), n).toBeUndefined();
    }
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
  });

  it('an object stalled on AlreadyExists sends one CreateRepository in a minute; the adopt annotation alone makes it Ready within 10 s', async () => {
    const ns = await setup('exists');
    const name = `${ns}/taken`;
    await aws.json(['ecr', 'create-repository', '--repository-name', name]);
    const before = await createCalls();
    await kubectl.apply(repositoryYaml(ns, 'taken', { repositoryName: name, deletionPolicy: 'Delete' }));
    await waitForReady(kubectl, 'ecrrepository', ns, 'taken', { status: 'False', reason: 'AlreadyExists' });
    await new Promise((r) => setTimeout(r, 60_000));
    expect(await createCalls() - before).toBeLessThanOrEqual(1);
    const started = Date.now();
    await kubectl.ok(['annotate', 'ecrrepository', 'taken', '-n', ns, `${ADOPT}=true`]);
    await waitForReady(kubectl, 'ecrrepository', ns, 'taken', { reason: 'Available' }, 10_000);
    console.log(`adopted ${Math.round((Date.now() - started) / 100) / 10} s after the annotation`);
    const live = await describeRepo(name);
    expect((await tagsOf(live!.repositoryArn))[OWNER]).toBe(`${ns}/taken`);
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
  }, 240_000);

  it.each(['Orphan', 'Delete'] as const)('a create whose SetRepositoryPolicy fails, then deleted with %s, ends as the policy says', async (deletionPolicy) => {
    const ns = await setup(`half-${deletionPolicy.toLowerCase()}`);
    const name = `${ns}/half`;
    await faults([{ operation: 'SetRepositoryPolicy', accessKeyId: KEY_ID, status: 400, code: 'InvalidParameterException', message: 'injected: invalid repository policy' }]);
    await kubectl.apply(repositoryYaml(ns, 'half', { repositoryName: name, repositoryPolicyText: policyText, deletionPolicy }));
    const failed = await waitForReady(kubectl, 'ecrrepository', ns, 'half', { status: 'False', reason: 'InvalidSpec' });
    expect(failed.status?.repositoryArn).toBeTruthy();
    await kubectl.ok(['delete', 'ecrrepository', 'half', '-n', ns, '--wait=false']);
    await waitForGone(kubectl, 'ecrrepository', ns, 'half', 30_000);
    const live = await describeRepo(name);
    if (deletionPolicy === 'Delete') {
      expect(live).toBeUndefined();
    } else {
      expect(live).toBeDefined();
      expect((await tagsOf(live!.repositoryArn))[OWNER]).toBeUndefined();
    }
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
  });
});
