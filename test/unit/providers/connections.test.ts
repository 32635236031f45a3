import { describe, expect, it } from 'vitest';
import type { AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import type { AwsClientFactory, AwsSession } from '../../../src/aws/clients.js';
import type { CredentialSource } from '../../../src/aws/credentials.js';
import { ProviderConfigError, ProviderConnections, type ProviderKubeClient, type TenancyPolicy } from '../../../src/providers/connections.js';
import { KubeApiError } from '../../../src/runtime/kube.js';

const OPEN: TenancyPolicy = { allowCustomEndpoints: true, ambientIdentityNamespaces: '*' };

/** Sessions whose ECR client lists a registry of three repositories and counts the listings. */
function fakes(secrets: Record<string, Record<string, string>> = {}, serviceAccounts: string[] = []) {
  let listings = 0;
  const sources: CredentialSource[] = [];
  const posts: Array<{ path: string; body: unknown }> = [];
  const ecr = {
    send: async (command: { constructor: { name: string } }) => {
      if (command.constructor.name !== 'DescribeRepositoriesCommand') throw new Error(`unexpected ${command.constructor.name}`);
      listings += 1;
      return {
        repositories: ['a', 'b', 'c'].map((n) => ({
          repositoryName: n, repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${n}`, repositoryUri: `u/${n}`, registryId: '123456789012',
          createdAt: new Date(0), imageTagMutability: 'MUTABLE', imageScanningConfiguration: { scanOnPush: false }, encryptionConfiguration: { encryptionType: 'AES256' },
        })),
      };
    },
  };
  const sessions = new Map<string, AwsSession & { accountId?: string }>();
  const factory = {
    session(key: string, _fingerprint: string, source: CredentialSource) {
      sources.push(source);
      const session = { key, region: source.region, ecr, accountId: undefined } as unknown as AwsSession & { accountId?: string };
      sessions.set(key, session);
      return session;
    },
    drop() {},
  } as unknown as AwsClientFactory;
  let issued = 0;
  const kube: ProviderKubeClient = {
    async getOrUndefined<T>(path: string) {
      const name = path.split('/').pop() ?? '';
      const data = secrets[name];
      return (data ? { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } : undefined) as T | undefined;
    },
    async post<T>(path: string, body: unknown) {
      posts.push({ path, body });
      const sa = path.split('/').at(-2) ?? '';
      if (!serviceAccounts.includes(sa)) throw new KubeApiError(404, `serviceaccounts "${sa}" not found`, 'NotFound');
      issued += 1;
      return { status: { token: `sa-token-${issued}`, expirationTimestamp: new Date(Date.now() + 600_000).toISOString() } } as T;
    },
  };
  return { factory, kube, sessions, sources, posts, listings: () => listings };
}

function provider(name: string, spec: Partial<AWSProvider['spec']> = {}, namespace = 'team'): AWSProvider {
  return { apiVersion: 'aws-infra-operator.runner.codes/v1alpha1', kind: 'AWSProvider', metadata: { name, namespace, generation: 1 }, spec: { region: 'us-east-1', ...spec } };
}

const keys = { accessKeyIDRef: { name: 'creds', key: 'id' }, secretAccessKeyRef: { name: 'creds', key: 'secret' } };
const ROLE = 'arn:aws:iam::123456789012:role/team-ecr';

describe('ProviderConnections', () => {
  it("gives each provider its own registry view: a batch read with one provider's credentials never answers for another", async () => {
    const f = fakes();
    const connections = new ProviderConnections({ kube: f.kube, factory: f.factory, tenancy: OPEN, registrySnapshotMaxAgeMs: 60_000 });
    const one = provider('one');
    const two = provider('two');
    await connections.refresh(one);
    await connections.refresh(two);
    // Verified: the account is known now.
    for (const s of f.sessions.values()) (s as { accountId?: string }).accountId = '123456789012';
    const a = await connections.get(one);
    const b = await connections.get(two);
    await a.ecr.prefetch(['a', 'b', 'c'], 60_000);
    expect(await a.ecr.describe('a')).toMatchObject({ name: 'a' });
    expect(f.listings()).toBe(1);
    expect(await b.ecr.describe('b')).toMatchObject({ name: 'b' });
    expect(f.listings()).toBe(2);
  });

  it('keeps the last verified connection of a provider being deleted once its Secret is gone, whatever generation its status shows', async () => {
    const secrets: Record<string, Record<string, string>> = { creds: { id: 'AKIAEXAMPLE', secret: 's3cr3t' } };
    const f = fakes(secrets);
    const connections = new ProviderConnections({ kube: f.kube, factory: f.factory, tenancy: OPEN, registrySnapshotMaxAgeMs: 5_000 });
    const live = provider('p', keys);
    const verified = await connections.refresh(live);
    // The namespace is being deleted: the Secret goes at once, the provider waits on its finalizer,
    // and its deletion status was written for the generation the deletion bumped.
    delete secrets.creds;
    const deleting: AWSProvider = { ...live, metadata: { ...live.metadata, generation: 2, deletionTimestamp: new Date().toISOString() } };
    expect(await connections.get(deleting)).toBe(verified);
    // A provider that is not being deleted is read again when it changed, and names the missing Secret.
    await expect(connections.get({ ...live, metadata: { ...live.metadata, generation: 2 } })).rejects.toThrow('spec.accessKeyIDRef: Secret team/creds not found');
  });

  it('reads static keys from the referenced Secret, and names a missing Secret or key', async () => {
    const f = fakes({ creds: { id: 'AKIAEXAMPLE', secret: 's3cr3t' } });
    const connections = new ProviderConnections({ kube: f.kube, factory: f.factory, tenancy: OPEN, registrySnapshotMaxAgeMs: 5_000 });
    const ok = await connections.refresh(provider('ok', keys));
    expect(f.sources.at(-1)?.staticKeys).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t' });
    expect(ok.identity).toBe('static keys from Secret team/creds');

    const missingSecret = connections.refresh(provider('x', { accessKeyIDRef: { name: 'nope', key: 'id' }, secretAccessKeyRef: { name: 'nope', key: 'secret' } }));
    await expect(missingSecret).rejects.toThrow(ProviderConfigError);
    await expect(missingSecret).rejects.toThrow('spec.accessKeyIDRef: Secret team/nope not found');
    const missingKey = connections.refresh(provider('y', { accessKeyIDRef: { name: 'creds', key: 'id' }, secretAccessKeyRef: { name: 'creds', key: 'other' } }));
    await expect(missingKey).rejects.toThrow('spec.secretAccessKeyRef: Secret team/creds has no key "other"');
  });

  it('requests a token of the ServiceAccount (audience sts.amazonaws.com, 600 s) and hands a fresh one to each renewal', async () => {
    const f = fakes({}, ['ecr-access']);
    const connections = new ProviderConnections({ kube: f.kube, factory: f.factory, tenancy: OPEN, registrySnapshotMaxAgeMs: 5_000 });
    const conn = await connections.refresh(provider('sa', { roleARN: ROLE, serviceAccountRef: { name: 'ecr-access' } }));
    expect(conn.identity).toBe(`ServiceAccount team/ecr-access, assuming ${ROLE}`);
    expect(f.posts).toEqual([{
      path: '/api/v1/namespaces/team/serviceaccounts/ecr-access/token',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['sts.amazonaws.com'], expirationSeconds: 600 } },
    }]);
    const source = f.sources.at(-1);
    expect(source?.webIdentity?.subject).toBe('team/ecr-access');
    expect(source?.staticKeys).toBeUndefined();
    expect(await source?.webIdentity?.token()).toBe('sa-token-2');
    // A second verification reuses the cached token: no TokenRequest per poll.
    await connections.refresh(provider('sa', { roleARN: ROLE, serviceAccountRef: { name: 'ecr-access' } }));
    expect(f.posts).toHaveLength(2);
  });

  it('reports a missing ServiceAccount before any AWS session exists', async () => {
    const f = fakes();
    const connections = new ProviderConnections({ kube: f.kube, factory: f.factory, tenancy: OPEN, registrySnapshotMaxAgeMs: 5_000 });
    const err = await connections.refresh(provider('sa', { roleARN: ROLE, serviceAccountRef: { name: 'gone' } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderConfigError);
    expect(err).toMatchObject({ reason: 'ServiceAccountNotFound', message: 'spec.serviceAccountRef: ServiceAccount team/gone not found' });
    expect(f.sources).toHaveLength(0);
  });

  it('refuses, before reading any Secret or building any session, what the tenancy policy forbids', async () => {
    const f = fakes({ creds: { id: 'AKIAEXAMPLE', secret: 's3cr3t' } }, ['ecr-access']);
    const strict = new ProviderConnections({
      kube: f.kube, factory: f.factory, registrySnapshotMaxAgeMs: 5_000,
      tenancy: { allowCustomEndpoints: false, ambientIdentityNamespaces: ['platform'] },
    });
    const reasonOf = async (p: AWSProvider) => ((await strict.refresh(p).catch((e: unknown) => e)) as ProviderConfigError).reason;
    expect(await reasonOf(provider('e', { ...keys, endpoint: 'http://attacker:4566' }))).toBe('EndpointNotAllowed');
    expect(await reasonOf(provider('r', { roleARN: ROLE, endpoint: 'http://attacker:4566' }))).toBe('EndpointNotAllowed');
    expect(await reasonOf(provider('a', { roleARN: ROLE }))).toBe('IdentityNotAllowed');
    expect(await reasonOf(provider('n', {}))).toBe('IdentityNotAllowed');
    expect(f.sources).toHaveLength(0);
    expect(f.posts).toHaveLength(0);
    // Its own credentials work anywhere; the operator's identity only where allowed.
    expect((await strict.refresh(provider('k', keys))).identity).toBe('static keys from Secret team/creds');
    expect((await strict.refresh(provider('s', { roleARN: ROLE, serviceAccountRef: { name: 'ecr-access' } }))).identity).toContain('ServiceAccount team/ecr-access');
    expect((await strict.refresh(provider('p', { roleARN: ROLE }, 'platform'))).identity).toBe(`operator identity, assuming ${ROLE}`);

    const open = new ProviderConnections({ kube: f.kube, factory: f.factory, tenancy: OPEN, registrySnapshotMaxAgeMs: 5_000 });
    const err = (await open.refresh(provider('r', { roleARN: ROLE, endpoint: 'http://attacker:4566' })).catch((e: unknown) => e)) as ProviderConfigError;
    expect(err.reason).toBe('EndpointRequiresOwnCredentials');
  });
});
