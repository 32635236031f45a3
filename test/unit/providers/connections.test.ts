import { describe, expect, it } from 'vitest';
import type { AWSProvider } from '../../../src/api/types.js';
import type { AwsClientFactory, AwsSession } from '../../../src/aws/clients.js';
import type { CredentialSource } from '../../../src/aws/credentials.js';
import { ProviderConfigError, ProviderConnections } from '../../../src/providers/connections.js';
import type { KubeClient } from '../../../src/runtime/kube.js';

/** Sessions whose ECR client lists a registry of three repositories and counts the listings. */
function fakes(secrets: Record<string, Record<string, string>> = {}) {
  let listings = 0;
  const sources: CredentialSource[] = [];
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
  const kube = {
    async getOrUndefined(path: string) {
      const name = path.split('/').pop() ?? '';
      const data = secrets[name];
      return data ? { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } : undefined;
    },
  } as unknown as KubeClient;
  return { factory, kube, sessions, sources, listings: () => listings };
}

function provider(name: string, spec: Partial<AWSProvider['spec']> = {}): AWSProvider {
  return { apiVersion: 'aws-infra-operator.runner.codes/v1alpha1', kind: 'AWSProvider', metadata: { name, namespace: 'team', generation: 1 }, spec: { region: 'us-east-1', ...spec } };
}

describe('ProviderConnections', () => {
  it('lets every provider of one account and region read through one registry listing', async () => {
    const f = fakes();
    const connections = new ProviderConnections({ kube: f.kube, factory: f.factory, registrySnapshotMaxAgeMs: 60_000 });
    const one = provider('one');
    const two = provider('two');
    await connections.refresh(one);
    await connections.refresh(two);
    // Verified: the account is known now.
    for (const s of f.sessions.values()) (s as { accountId?: string }).accountId = '123456789012';
    const a = await connections.get(one);
    const b = await connections.get(two);
    expect(await a.ecr.describe('a')).toMatchObject({ name: 'a' });
    expect(await b.ecr.describe('b')).toMatchObject({ name: 'b' });
    expect(f.listings()).toBe(1);
  });

  it('reads static keys from the referenced Secret, and names a missing Secret or key', async () => {
    const f = fakes({ creds: { id: 'AKIAEXAMPLE', secret: 's3cr3t' } });
    const connections = new ProviderConnections({ kube: f.kube, factory: f.factory, registrySnapshotMaxAgeMs: 5_000 });
    await connections.refresh(provider('ok', { accessKeyIDRef: { name: 'creds', key: 'id' }, secretAccessKeyRef: { name: 'creds', key: 'secret' } }));
    expect(f.sources.at(-1)?.staticKeys).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t' });

    const missingSecret = connections.refresh(provider('x', { accessKeyIDRef: { name: 'nope', key: 'id' }, secretAccessKeyRef: { name: 'nope', key: 'secret' } }));
    await expect(missingSecret).rejects.toThrow(ProviderConfigError);
    await expect(missingSecret).rejects.toThrow('spec.accessKeyIDRef: Secret team/nope not found');
    const missingKey = connections.refresh(provider('y', { accessKeyIDRef: { name: 'creds', key: 'id' }, secretAccessKeyRef: { name: 'creds', key: 'other' } }));
    await expect(missingKey).rejects.toThrow('spec.secretAccessKeyRef: Secret team/creds has no key "other"');
  });
});
