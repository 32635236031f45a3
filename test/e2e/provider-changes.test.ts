import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentVariables } from './env/environment.js';
import { AwsCli } from './support/aws.js';
import { sharedEnv } from './support/context.js';
import { eventually, Kubectl, run } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForGone, waitForReady, type Resource } from './support/scenario.js';

// What happens to repositories when their provider changes under them, end to end: the region of a
// provider cannot be changed at all; a provider whose Secret is rotated to keys of another account
// stalls its repositories (nothing created in the new account, nothing deleted) and brings them back
// when it is rotated back; an owner tag removed by hand is restored, and the repository that lost it
// is still deleted by deletionPolicy Delete. Driven with kubectl and awscli as a user would.

const OWNER = 'aws-infra-operator.runner.codes/owner';
const ACCOUNT = '123456789012';
/** The account the rotated-in keys belong to (moto answers a key's calls as its own account's). */
const OTHER_ACCOUNT = '210987654321';
const SYNC_SECONDS = 6;

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

function secretYaml(namespace: string, keys: Keys): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: aws-credentials
  namespace: ${namespace}
type: Opaque
stringData:
  access-key-id: ${keys.accessKeyId}
  secret-access-key: ${keys.secretAccessKey}
`;
}

function repositoryYaml(namespace: string, name: string, deletionPolicy: string, provider = 'aws'): string {
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  providerRef:
    name: ${provider}
  repositoryName: ${namespace}/${name}
  deletionPolicy: ${deletionPolicy}
`;
}

describe('provider changes', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  /** The keys staticProviderYaml writes: the environment's own account. */
  const ownKeys: Keys = { accessKeyId: 'test', secretAccessKey: 'test' };
  let otherKeys: Keys;
  let ns: string;
  let operator: OperatorProcess;

  /** awscli with only the given credentials. */
  async function awsAs<T>(keys: Keys & { sessionToken?: string }, args: string[]): Promise<T> {
    const vars: NodeJS.ProcessEnv = { ...process.env, ...environmentVariables(env), AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey };
    for (const name of ['AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_PROFILE']) delete vars[name];
    if (keys.sessionToken) vars.AWS_SESSION_TOKEN = keys.sessionToken;
    const result = await run('aws', [...args, '--output', 'json'], { env: vars });
    if (result.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return (result.stdout.trim() ? JSON.parse(result.stdout) : {}) as T;
  }

  /**
   * A long-term key of an IAM user in another account, made as a user would: assume a role of that
   * account (moto lets a role of any account be assumed), then create the user and its key there.
   */
  async function keysInAccount(accountId: string, userName: string): Promise<Keys> {
    const { Credentials: role } = await awsAs<{ Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } }>(
      ownKeys, ['sts', 'assume-role', '--role-arn', `arn:aws:iam::${accountId}:role/provider-changes`, '--role-session-name', userName]);
    const asRole = { accessKeyId: role.AccessKeyId, secretAccessKey: role.SecretAccessKey, sessionToken: role.SessionToken };
    await awsAs(asRole, ['iam', 'create-user', '--user-name', userName]);
    const { AccessKey: key } = await awsAs<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(asRole, ['iam', 'create-access-key', '--user-name', userName]);
    const keys = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    const { Account: account } = await awsAs<{ Account: string }>(keys, ['sts', 'get-caller-identity']);
    if (account !== accountId) throw new Error(`the key made for account ${accountId} acts in account ${account}`);
    return keys;
  }

  /** Repositories of this namespace's prefix in the account of these keys. */
  async function repositoriesIn(keys: Keys): Promise<Array<{ repositoryName: string; repositoryArn: string; createdAt: unknown }>> {
    const out = await awsAs<{ repositories?: Array<{ repositoryName: string; repositoryArn: string; createdAt: unknown }> }>(keys, ['ecr', 'describe-repositories']);
    return (out.repositories ?? []).filter((r) => r.repositoryName.startsWith(`${ns}/`)).sort((a, b) => a.repositoryName.localeCompare(b.repositoryName));
  }

  const tagsOf = async (arn: string) => Object.fromEntries(
    (await aws.json<{ tags: Array<{ Key: string; Value: string }> }>(['ecr', 'list-tags-for-resource', '--resource-arn', arn])).tags.map((t) => [t.Key, t.Value]),
  );
  const eventsOf = async (name: string) =>
    (await kubectl.getJson<{ items: Array<{ reason: string; message: string; type: string }> }>(['events', '-n', ns, '--field-selector', `involvedObject.name=${name}`])).items;
  const accountOfProvider = async () => (await kubectl.getJson<Resource>(['awsprovider', 'aws', '-n', ns])).status?.accountID as string | undefined;
  const ecrCalls = async (operation: string) => (await aws.calls())[`ECR:${operation}`] ?? 0;

  beforeAll(async () => {
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'provchg');
    otherKeys = await keysInAccount(OTHER_ACCOUNT, `provider-changes-${ns}`);
    await kubectl.apply(staticProviderYaml(ns, 'aws'));
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`, '--secret-poll-period=2s'] });
    const provider = await waitForReady(kubectl, 'awsprovider', ns, 'aws');
    expect(provider.status?.accountID).toBe(ACCOUNT);
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('the API server refuses a change of a provider\'s region, naming the way to move', async () => {
    // A provider of its own, so that the others' region is never at stake here.
    await kubectl.apply(staticProviderYaml(ns, 'moving'));
    await waitForReady(kubectl, 'awsprovider', ns, 'moving');
    const patched = await kubectl.run(['patch', 'awsprovider', 'moving', '-n', ns, '--type=merge', '-p', '{"spec":{"region":"eu-west-1"}}']);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain('spec.region is immutable: to move to another region, create a new AWSProvider');
    // kubectl apply of the whole object, as GitOps does, is refused the same way.
    const applied = await kubectl.run(['apply', '-f', '-'], staticProviderYaml(ns, 'moving').replace('region: us-east-1', 'region: eu-west-1'));
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('spec.region is immutable');
    const provider = await kubectl.getJson<Resource>(['awsprovider', 'moving', '-n', ns]);
    expect(provider.spec.region).toBe('us-east-1');
    // Other fields stay editable.
    await kubectl.ok(['patch', 'awsprovider', 'moving', '-n', ns, '--type=merge', '-p', '{"spec":{"defaultTags":{"team":"platform"}}}']);
  });

  it('keys of another account stall the provider\'s repositories as ProviderAccountChanged with no CreateRepository; the old keys bring them back, with no duplicate', async () => {
    const names = ['one', 'two'];
    for (const name of names) await kubectl.apply(repositoryYaml(ns, name, 'Delete'));
    const arns: Record<string, string> = {};
    for (const name of names) arns[name] = (await waitForReady(kubectl, 'ecrrepository', ns, name)).status?.repositoryArn as string;
    const before = await repositoriesIn(ownKeys);
    expect(before.map((r) => r.repositoryName)).toEqual(names.map((n) => `${ns}/${n}`));
    const creates = await ecrCalls('CreateRepository');
    const deletes = await ecrCalls('DeleteRepository');

    // The Secret rotated to keys of another account.
    await kubectl.apply(secretYaml(ns, otherKeys));
    await eventually(`AWSProvider ${ns}/aws to resolve to account ${OTHER_ACCOUNT}`, async () => ((await accountOfProvider()) === OTHER_ACCOUNT ? true : undefined), 60_000);
    for (const name of names) {
      const stalled = await waitForReady(kubectl, 'ecrrepository', ns, name, { status: 'False', reason: 'ProviderAccountChanged' }, 60_000);
      const message = condition(stalled, 'Ready')?.message ?? '';
      expect(message).toContain(`account ${OTHER_ACCOUNT}`);
      expect(message).toContain(`account ${ACCOUNT}`);
      expect(condition(stalled, 'Stalled')?.status).toBe('True');
      expect(stalled.status?.repositoryArn).toBe(arns[name]);
      expect((await eventsOf(name)).find((e) => e.reason === 'ProviderAccountChanged')?.type).toBe('Warning');
    }
    // Periodic syncs and a force-sync go by: still nothing created or deleted anywhere.
    await kubectl.ok(['annotate', 'ecrrepository', 'one', '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);
    await new Promise((r) => setTimeout(r, (SYNC_SECONDS * 2 + 2) * 1000));
    expect(await ecrCalls('CreateRepository')).toBe(creates);
    expect(await ecrCalls('DeleteRepository')).toBe(deletes);
    expect((await aws.callsBySigner())[`ECR:CreateRepository@${otherKeys.accessKeyId}`]).toBeUndefined();
    expect(await repositoriesIn(otherKeys)).toEqual([]);
    for (const name of names) {
      expect(condition(await kubectl.getJson<Resource>(['ecrrepository', name, '-n', ns]), 'Ready')?.reason).toBe('ProviderAccountChanged');
    }

    // Rotated back.
    await kubectl.apply(secretYaml(ns, ownKeys));
    await eventually(`AWSProvider ${ns}/aws to resolve to account ${ACCOUNT}`, async () => ((await accountOfProvider()) === ACCOUNT ? true : undefined), 60_000);
    for (const name of names) {
      const ready = await waitForReady(kubectl, 'ecrrepository', ns, name, {}, 60_000);
      expect(ready.status?.repositoryArn).toBe(arns[name]);
      expect(condition(ready, 'Stalled')).toBeUndefined();
    }
    expect(await ecrCalls('CreateRepository')).toBe(creates);
    expect(await ecrCalls('DeleteRepository')).toBe(deletes);
    expect(await repositoriesIn(ownKeys)).toEqual(before);
    expect(await repositoriesIn(otherKeys)).toEqual([]);
  });

  it('an owner tag removed with awscli comes back after force-sync; Delete then deletes the repository, even with the tag removed again', async () => {
    // A provider of its own, whatever the rotation above left behind.
    await kubectl.apply(staticProviderYaml(ns, 'steady'));
    await waitForReady(kubectl, 'awsprovider', ns, 'steady');
    await kubectl.apply(repositoryYaml(ns, 'tagged', 'Delete', 'steady'));
    const created = await waitForReady(kubectl, 'ecrrepository', ns, 'tagged');
    const arn = created.status?.repositoryArn as string;
    expect((await tagsOf(arn))[OWNER]).toBe(`${ns}/tagged`);

    await aws.json(['ecr', 'untag-resource', '--resource-arn', arn, '--tag-keys', OWNER]);
    // (A periodic sync may restore it first; the force-sync makes sure one looks now.)
    await kubectl.ok(['annotate', 'ecrrepository', 'tagged', '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);
    await eventually('the owner tag to be restored', async () => ((await tagsOf(arn))[OWNER] === `${ns}/tagged` ? true : undefined), 30_000);
    const restored = await waitForReady(kubectl, 'ecrrepository', ns, 'tagged');
    expect(restored.status?.repositoryArn).toBe(arn);
    await eventually('an OwnerTagRestored Event', async () => (await eventsOf('tagged')).find((e) => e.reason === 'OwnerTagRestored'), 30_000);
    expect((await eventsOf('tagged')).some((e) => e.reason === 'AlreadyExists')).toBe(false);

    // Removed again, then the object is deleted: the repository its status records is still its own.
    await aws.json(['ecr', 'untag-resource', '--resource-arn', arn, '--tag-keys', OWNER]);
    const deletes = await ecrCalls('DeleteRepository');
    await kubectl.ok(['delete', 'ecrrepository', 'tagged', '-n', ns, '--wait=false']);
    await waitForGone(kubectl, 'ecrrepository', ns, 'tagged');
    const described = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', `${ns}/tagged`]);
    expect(described.code).not.toBe(0);
    expect(described.stderr).toContain('RepositoryNotFoundException');
    expect(await ecrCalls('DeleteRepository')).toBe(deletes + 1);
    expect((await eventsOf('tagged')).some((e) => e.reason === 'NotOwned')).toBe(false);
  });
});
