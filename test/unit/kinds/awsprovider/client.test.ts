import { beforeEach, describe, expect, it } from 'vitest';
import { FINALIZER } from '../../../../src/api/types.js';
import { type AWSProvider } from '../../../../src/kinds/awsprovider/types.js';
import { type ECRRepository } from '../../../../src/kinds/ecrrepository/types.js';
import { ProviderConfigError, type Connection } from '../../../../src/providers/connections.js';
import { providerOfUser, userReleased } from '../../../../src/kinds/awsprovider/watches.js';
import { AWS_PROVIDER_REF } from '../../../../src/kinds/awsprovider/types.js';
import { AwsProviderReconciler, type ProviderUser } from '../../../../src/kinds/awsprovider/client.js';
import { ECR_REPOSITORY_REF } from '../../../../src/kinds/ecrrepository/types.js';
import { awsError, FakeApiServer, FakeEvents, FakeWriter, repository, silentLogger, Store } from '../../reconcilers/fakes.js';

const key = { namespace: 'team', name: 'aws' };
const POLL = 60_000;

function provider(meta: Partial<AWSProvider['metadata']> = {}): AWSProvider {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'AWSProvider',
    metadata: { name: 'aws', namespace: 'team', generation: 1, ...meta },
    spec: { region: 'us-east-1' },
  };
}

let writer: FakeWriter;
let events: FakeEvents;
let providers: Store<AWSProvider>;
let repositories: Store<ECRRepository>;
let stsCalls: number;
let refreshFailure: Error | undefined;
let identityFailure: Error | undefined;
let reconciler: AwsProviderReconciler;
/** Cluster-scoped objects that name a provider (account-wide kinds). */
let clusterUsers: ProviderUser[];

beforeEach(() => {
  const server = new FakeApiServer();
  writer = new FakeWriter(server);
  events = new FakeEvents();
  providers = new Store(AWS_PROVIDER_REF, server);
  repositories = new Store(ECR_REPOSITORY_REF, server);
  stsCalls = 0;
  clusterUsers = [];
  refreshFailure = undefined;
  identityFailure = undefined;
  const connection = {
    fingerprint: 'f',
    identity: 'static keys from Secret default/aws-credentials',
    ecr: {} as Connection['ecr'],
    session: {
      callerIdentity: async () => {
        stsCalls++;
        if (identityFailure) throw identityFailure;
        return { accountId: '123456789012', arn: 'arn:aws:iam::123456789012:user/ci' };
      },
    } as unknown as Connection['session'],
  };
  reconciler = new AwsProviderReconciler({
    providers, users: { list: () => [...repositories.list(), ...clusterUsers] }, writer, events, logger: silentLogger,
    connections: {
      refresh: async () => {
        if (refreshFailure) throw refreshFailure;
        return connection;
      },
      drop: () => undefined,
    },
    verifyPeriodMs: 600_000,
    secretPollPeriodMs: POLL,
    clock: () => new Date('2026-11-23T10:00:00Z'),
  });
});

function ready(): { status: string; reason: string; message: string } | undefined {
  const conditions = writer.last().conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined;
  return conditions?.find((c) => c.type === 'Ready');
}

describe('AWSProvider reconciler', () => {
  it('verifies the credentials, adds its finalizer and polls the Secrets', async () => {
    providers.put(provider());
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: POLL });
    expect(writer.finalizersAdded).toBe(1);
    expect(ready()).toMatchObject({ status: 'True', reason: 'Authenticated' });
    expect(writer.last()).toMatchObject({ ready: true, accountID: '123456789012', identitySource: 'static keys from Secret default/aws-credentials' });
    expect(events.events.map((e) => e.reason)).toEqual(['Authenticated']);
  });

  it('turns any ProviderConfigError into Stalled with its reason and message, without an AWS call, polling the Secrets', async () => {
    providers.put(provider());
    refreshFailure = new ProviderConfigError('EndpointNotAllowed' as never, 'spec.endpoint: custom endpoints are not allowed');
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: POLL });
    expect(stsCalls).toBe(0);
    expect(ready()).toMatchObject({ status: 'False', reason: 'EndpointNotAllowed', message: 'spec.endpoint: custom endpoints are not allowed' });
    const stalled = (writer.last().conditions as Array<{ type: string; status: string }>).find((c) => c.type === 'Stalled');
    expect(stalled?.status).toBe('True');
  });

  it('names the ServiceAccount, not the operator\'s credentials, when AWS rejects a serviceAccountRef provider', async () => {
    providers.put({ ...provider(), spec: { region: 'us-east-1', serviceAccountRef: { name: 'ecr-writer' } } });
    identityFailure = awsError('AccessDenied', 'InvalidClientTokenId', 'GetCallerIdentity');
    await reconciler.reconcile(key);
    expect(ready()).toMatchObject({ status: 'False', reason: 'InvalidCredentials' });
    expect(ready()?.message).toContain('ServiceAccount team/ecr-writer');
    expect(ready()?.message).not.toContain("operator's own credentials");
  });

  it('retries a momentary failure of the credential source (IMDS, Pod Identity) as CredentialsUnavailable, never Stalled', async () => {
    providers.put(provider());
    identityFailure = awsError('Transient', 'CredentialsProviderError', 'GetCallerIdentity');
    await expect(reconciler.reconcile(key)).rejects.toThrow();
    expect(ready()).toMatchObject({ status: 'False', reason: 'CredentialsUnavailable' });
    const stalled = (writer.last().conditions as Array<{ type: string; status: string }>).find((c) => c.type === 'Stalled');
    expect(stalled?.status).not.toBe('True');
    identityFailure = undefined;
    await reconciler.reconcile(key);
    expect(ready()).toMatchObject({ status: 'True' });
  });

  it('keeps a Ready provider Ready through throttling of STS', async () => {
    providers.put(provider());
    await reconciler.reconcile(key);
    providers.watch();
    const p = providers.get('team', 'aws')!;
    providers.put({ ...p, metadata: { ...p.metadata, generation: 2 } });
    identityFailure = awsError('Throttled', 'Throttling', 'GetCallerIdentity');
    const writes = writer.statuses.length;
    await expect(reconciler.reconcile(key)).rejects.toThrow(/Throttling/);
    expect(writer.statuses).toHaveLength(writes);
  });

  describe('deletion while in use', () => {
    function deletingProvider(): void {
      providers.put(provider({ finalizers: [FINALIZER], deletionTimestamp: '2026-11-23T10:00:00Z' }));
    }

    it('keeps its finalizer while a repository that uses it has not finished its own finalization', async () => {
      deletingProvider();
      repositories.put(repository({}, { name: 'app', finalizers: [FINALIZER], deletionTimestamp: '2026-11-23T10:00:00Z' }));
      repositories.put(repository({ providerRef: { name: 'other' } }, { name: 'unrelated', finalizers: [FINALIZER] }));
      const result = await reconciler.reconcile(key);
      expect(result.requeueAfterMs).toBeGreaterThan(0);
      expect(writer.finalizersRemoved).toBe(0);
      expect(stsCalls).toBe(0);
      expect(events.events).toEqual([{ type: 'Normal', reason: 'DeletionWaiting', message: 'deletion waits for 1 objects that use this provider: ECRRepository app' }]);
    });

    it('waits for a cluster-scoped object of no namespace that names it, and for nothing that names another provider', async () => {
      deletingProvider();
      clusterUsers = [
        { kind: 'ECRRegistryPolicyStatement', metadata: { name: 'grant', finalizers: [FINALIZER] }, spec: { providerRef: { namespace: 'team', name: 'aws' } } },
        { kind: 'ECRRegistryPolicyStatement', metadata: { name: 'elsewhere', finalizers: [FINALIZER] }, spec: { providerRef: { namespace: 'other', name: 'aws' } } },
      ];
      const result = await reconciler.reconcile(key);
      expect(result.requeueAfterMs).toBeGreaterThan(0);
      expect(writer.finalizersRemoved).toBe(0);
      expect(events.events.at(-1)?.message).toBe('deletion waits for 1 objects that use this provider: ECRRegistryPolicyStatement grant');
      // The cluster-scoped object says it too, on itself: a namespace being deleted takes no new Events.
      expect(events.events).toContainEqual({ type: 'Normal', reason: 'ProviderDeletionWaiting', message: 'AWSProvider team/aws is being deleted and waits for this object to be deleted first' });
      // The condition says so too, for kubectl get and kstatus.
      expect(writer.last()).toMatchObject({ conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', reason: 'DeletionWaiting' })]) });
      clusterUsers = [clusterUsers[1]!];
      expect(await reconciler.reconcile(key)).toEqual({});
      expect(writer.finalizersRemoved).toBe(1);
    });

    it('lets go once no repository of its namespace needs it', async () => {
      deletingProvider();
      repositories.put(repository({}, { name: 'released' }));
      repositories.put({ ...repository({}, { name: 'elsewhere', finalizers: [FINALIZER] }), metadata: { name: 'elsewhere', namespace: 'other', generation: 1, finalizers: [FINALIZER] } });
      expect(await reconciler.reconcile(key)).toEqual({});
      expect(writer.finalizersRemoved).toBe(1);
      expect(providers.onServer('team', 'aws')).toBeUndefined();
    });
  });
});

describe('AWSProvider controller: the repositories it waits for', () => {
  it('is woken when a repository that names it lets go of it, and only then', () => {
    const held = repository({}, { finalizers: [FINALIZER] });
    const released = repository({}, { finalizers: [] });
    expect(providerOfUser(held)).toEqual([{ namespace: 'team', name: 'aws' }]);
    expect(userReleased(held, released, 'MODIFIED')).toBe(true);
    expect(userReleased(undefined, held, 'DELETED')).toBe(true);
    expect(userReleased(held, held, 'MODIFIED')).toBe(false);
    expect(userReleased(undefined, held, 'ADDED')).toBe(false);
  });

  it('maps a registry-level part to the provider it names, as a repository', () => {
    const rule = {
      apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
      kind: 'ECRReplicationRule',
      metadata: { name: 'to-eu', namespace: 'team', finalizers: [FINALIZER] },
      spec: { providerRef: { name: 'aws' }, destinations: [{ region: 'eu-west-1' }] },
    };
    expect(providerOfUser(rule)).toEqual([{ namespace: 'team', name: 'aws' }]);
    expect(userReleased(rule, { ...rule, metadata: { ...rule.metadata, finalizers: [] } }, 'MODIFIED')).toBe(true);
  });
});
