import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ADOPT_ANNOTATION, FINALIZER, FORCE_SYNC_ANNOTATION, OWNER_TAG } from '../../../../src/api/types.js';
import { type AWSProvider } from '../../../../src/kinds/awsprovider/types.js';
import { type ECRRepository } from '../../../../src/kinds/ecrrepository/types.js';
import { AWS_PROVIDER_REF } from '../../../../src/kinds/awsprovider/types.js';
import { ECR_REPOSITORY_REF } from '../../../../src/kinds/ecrrepository/types.js';
import { EcrRepositoryReconciler } from '../../../../src/kinds/ecrrepository/client.js';
import { providerChangeMatters } from '../../../../src/kinds/ecrrepository/watches.js';
import { EcrGateway } from '../../../../src/aws/ecr.js';
import { awsError as sdkError, FakeEcr as FakeEcrApi } from '../../aws/fake-ecr.js';
import { awsError, connectionFor, FakeApiServer, FakeEcr, FakeEvents, FakeWriter, readyProvider, repository, silentLogger, Store } from '../../reconcilers/fakes.js';
import type { Connection } from '../../../../src/providers/connections.js';
import { LifecyclePreviews } from '../../../../src/lifecycle/previews.js';
import type { LifecycleImage } from '../../../../src/lifecycle/evaluator.js';

const key = { namespace: 'team', name: 'app' };
const lifecycle = '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}';
const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}';
const MUTATING = ['create', 'update', 'delete'];

let ecr: FakeEcr;
let writer: FakeWriter;
let events: FakeEvents;
let repositories: Store<ECRRepository>;
let providers: Store<AWSProvider>;
let reconciler: EcrRepositoryReconciler;
let now: number;
/** The account the provider's credentials act in (as sts:GetCallerIdentity would answer). */
let account: string;
const ACCOUNT = '123456789012';

/** The fake gateway behind a session that acts in `account`. */
function connection(): Connection {
  return { ...connectionFor(ecr), session: { accountId: account } as Connection['session'] };
}

beforeEach(() => {
  ecr = new FakeEcr();
  const server = new FakeApiServer();
  writer = new FakeWriter(server);
  events = new FakeEvents();
  repositories = new Store(ECR_REPOSITORY_REF, server);
  providers = new Store(AWS_PROVIDER_REF, server);
  providers.put(readyProvider('aws', 'team', { 'managed-by': 'infra-operator' }));
  now = Date.parse('2026-11-23T10:00:00Z');
  account = ACCOUNT;
  reconciler = new EcrRepositoryReconciler({
    repositories, providers, writer, events, logger: silentLogger,
    connections: { get: async () => connection() },
    clock: () => new Date(now),
  });
});

function reason(): string | undefined {
  const conditions = writer.last().conditions as Array<{ type: string; reason: string }> | undefined;
  return conditions?.find((c) => c.type === 'Ready')?.reason;
}

describe('ECRRepository reconciler', () => {
  it('creates a full-spec repository with two gateway calls, recording it before the policy calls', async () => {
    repositories.put(repository({ imageTagMutability: 'IMMUTABLE', scanOnPush: true, lifecyclePolicy: { policyText: lifecycle }, repositoryPolicyText: policy, tags: { team: 'a' } }));
    await reconciler.reconcile(key);
    expect(ecr.calls).toEqual(['create', 'update']);
    const stored = ecr.repos.get('team/app')!;
    expect(stored.live.imageTagMutability).toBe('IMMUTABLE');
    expect(stored.details.tags).toEqual({ team: 'a', 'managed-by': 'infra-operator', [OWNER_TAG]: 'team/app' });
    expect(stored.details.lifecyclePolicyText).toBe(lifecycle);
    expect(stored.details.repositoryPolicyText).toBe(policy);
    expect(writer.finalizersAdded).toBe(1);
    expect(writer.statuses).toHaveLength(2);
    expect(writer.statuses[0]?.status).toMatchObject({ ready: false, repositoryArn: stored.live.arn });
    expect(writer.last()).toMatchObject({ ready: true, repositoryArn: stored.live.arn, imageCount: 0, observedGeneration: 1, lastSyncTime: '2026-11-23T10:00:00Z' });
    expect(reason()).toBe('Available');
    expect(events.events.map((e) => e.reason)).toEqual(['Created']);
  });

  it('makes no mutating call for an unchanged repository', async () => {
    repositories.put(repository({ tags: { team: 'a' } }, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    repositories.watch();
    ecr.calls = [];
    now += 60_000;
    await reconciler.reconcile(key);
    expect(ecr.calls.filter((c) => MUTATING.includes(c))).toEqual([]);
    expect(ecr.calls).toEqual(['describe', 'tags', 'details']);
  });

  it('reverts drift made outside Kubernetes', async () => {
    repositories.put(repository({ imageTagMutability: 'IMMUTABLE', tags: { team: 'a' } }, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    repositories.watch();
    const entry = ecr.repos.get('team/app')!;
    entry.live.imageTagMutability = 'MUTABLE';
    entry.details.tags.team = 'changed';
    entry.details.lifecyclePolicyText = lifecycle;
    now += 60_000;
    await reconciler.reconcile(key);
    expect(entry.live.imageTagMutability).toBe('IMMUTABLE');
    expect(entry.details.tags.team).toBe('a');
    expect(entry.details.lifecyclePolicyText).toBeUndefined();
    expect(events.events.at(-1)?.reason).toBe('Updated');
  });

  it('refuses an existing repository without owner tag unless the adopt annotation is set', async () => {
    ecr.seed('team/app', { other: 'x' });
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: 30_000 });
    expect(reason()).toBe('AlreadyExists');
    expect(writer.last().message).toContain(ADOPT_ANNOTATION);
    expect(ecr.calls.filter((c) => c === 'update')).toEqual([]);

    repositories.watch();
    const stalled = repositories.get('team', 'app')!;
    repositories.put({ ...stalled, metadata: { ...stalled.metadata, annotations: { [ADOPT_ANNOTATION]: 'true' } } });
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('team/app');
    expect(events.events.some((e) => e.reason === 'Adopted')).toBe(true);
  });

  it('takes over silently a repository that carries its own owner tag (crash recovery)', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'team/app', 'managed-by': 'infra-operator' });
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(ecr.calls.filter((c) => c === 'update')).toEqual([]);
  });

  it('changes nothing in a repository owned by another object', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'team/first' });
    repositories.put(repository({}, { finalizers: [FINALIZER], annotations: { [ADOPT_ANNOTATION]: 'true' } }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('AlreadyOwned');
    expect(writer.last().message).toContain('team/first');
    expect(ecr.calls.filter((c) => MUTATING.includes(c) && c !== 'create')).toEqual([]);
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('team/first');
  });

  it('reports an invalid policy as InvalidSpec without calling AWS', async () => {
    repositories.put(repository({ lifecyclePolicy: { policyText: '{"rules": []}' } }, { finalizers: [FINALIZER] }));
    expect(await reconciler.reconcile(key)).toEqual({});
    expect(ecr.calls).toEqual([]);
    expect(reason()).toBe('InvalidSpec');
    expect(writer.last().message).toContain('spec.lifecyclePolicy.policyText');
    const conditions = writer.last().conditions as Array<{ type: string; status: string }>;
    expect(conditions.find((c) => c.type === 'Stalled')?.status).toBe('True');
  });

  it('reports tags over AWS\'s limit once merged with defaultTags as InvalidSpec, without calling AWS', async () => {
    const tags = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
    repositories.put(repository({ tags }, { finalizers: [FINALIZER] }));
    expect(await reconciler.reconcile(key)).toEqual({});
    expect(ecr.calls).toEqual([]);
    expect(reason()).toBe('InvalidSpec');
    expect(writer.last().message).toMatch(/spec.tags: 51 tags/);
  });

  it('records one Event per new state, not one per retry', async () => {
    providers.items.clear();
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    for (let i = 0; i < 3; i++) {
      await reconciler.reconcile(key);
      repositories.watch();
    }
    expect(events.events.filter((e) => e.reason === 'ProviderNotReady')).toHaveLength(1);
  });

  it('waits for a provider that is not Ready, with Reconciling=True', async () => {
    providers.items.clear();
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    const result = await reconciler.reconcile(key);
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(reason()).toBe('ProviderNotReady');
    const conditions = writer.last().conditions as Array<{ type: string; status: string }>;
    expect(conditions.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    expect(ecr.calls).toEqual([]);
  });

  it.each([
    ['AccessDenied', 'AccessDeniedException', 'AccessDenied'],
    ['KMSKeyInvalid', 'KmsException', 'KMSKeyInvalid'],
    ['InvalidParameter', 'InvalidParameterException', 'InvalidSpec'],
  ] as const)('maps %s to Stalled with reason %s, backing off without an error storm', async (kind, code, expected) => {
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    ecr.failNext.set('create', awsError(kind, code));
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: 30_000 });
    repositories.watch();
    ecr.failNext.set('describe', awsError(kind, code, 'DescribeRepositories'));
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: 60_000 });
    expect(reason()).toBe(expected);
    expect(writer.last().message).toContain(`${code} from AWS`);
  });

  it.each([
    ['Throttled', 'ThrottlingException', 'Throttled'],
    ['LimitExceeded', 'LimitExceededException', 'LimitExceeded'],
    ['AccessDenied', 'ExpiredTokenException', 'AccessDenied'],
    ['Transient', 'ServiceUnavailableException', 'AWSError'],
  ] as const)('keeps %s (%s), which clears by itself, Reconciling and never Stalled; the queue retries', async (kind, code, expected) => {
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    ecr.failNext.set('create', awsError(kind, code));
    await expect(reconciler.reconcile(key)).rejects.toThrow(code);
    expect(reason()).toBe(expected);
    const conditions = writer.last().conditions as Array<{ type: string; status: string }>;
    expect(conditions.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'Stalled')).toBeUndefined();
  });

  it('throws transient failures so that the queue backs off and retries', async () => {
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    ecr.failNext.set('create', awsError('Throttled', 'ThrottlingException'));
    await expect(reconciler.reconcile(key)).rejects.toThrow(/ThrottlingException/);
    expect(reason()).toBe('Throttled');
  });

  it('keeps a repository whose policy call failed during create managed, and finishes it next time', async () => {
    repositories.put(repository({ lifecyclePolicy: { policyText: lifecycle } }, { finalizers: [FINALIZER] }));
    ecr.failNext.set('update', awsError('Transient', 'ServiceUnavailable', 'PutLifecyclePolicy'));
    await expect(reconciler.reconcile(key)).rejects.toThrow();
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('team/app');
    await reconciler.reconcile(key);
    expect(ecr.repos.get('team/app')!.details.lifecyclePolicyText).toBe(lifecycle);
    expect(reason()).toBe('Available');
  });

  describe('bugs a real API server and AWS show', () => {
    function readyCondition(status: { conditions?: unknown } | undefined): { status: string; reason: string } | undefined {
      return (status?.conditions as Array<{ type: string; status: string; reason: string }> | undefined)?.find((c) => c.type === 'Ready');
    }
    function onServer(): ECRRepository {
      return repositories.onServer('team', 'app')!;
    }

    it('ends Ready on the server after a transient failure and a quick retry, though the cache is stale', async () => {
      repositories.put(repository({}, { finalizers: [FINALIZER] }));
      await reconciler.reconcile(key);
      repositories.watch();
      expect(readyCondition(onServer().status)?.status).toBe('True');
      ecr.failNext.set('details', awsError('Transient', 'ServiceUnavailableException', 'ListTagsForResource'));
      now += 60_000;
      await expect(reconciler.reconcile(key)).rejects.toThrow();
      expect(readyCondition(onServer().status)?.status).toBe('False');
      // The watch has not delivered the failure yet: the cache still says Ready=True.
      expect(readyCondition(repositories.get('team', 'app')!.status)?.status).toBe('True');
      await reconciler.reconcile(key);
      expect(readyCondition(onServer().status)).toMatchObject({ status: 'True', reason: 'Available' });
    });

    it('a ThrottlingException leaves a Ready object Ready and retries', async () => {
      repositories.put(repository({}, { finalizers: [FINALIZER] }));
      await reconciler.reconcile(key);
      repositories.watch();
      const writes = writer.statuses.length;
      ecr.failNext.set('details', awsError('Throttled', 'ThrottlingException', 'ListTagsForResource'));
      await expect(reconciler.reconcile(key)).rejects.toThrow(/ThrottlingException/);
      expect(writer.statuses).toHaveLength(writes);
      expect(readyCondition(onServer().status)?.status).toBe('True');
    });

    it('force-sync reads AWS afresh and records the value it served; the periodic sweep may use the listing', async () => {
      repositories.put(repository({ imageTagMutability: 'IMMUTABLE' }, { finalizers: [FINALIZER] }));
      await reconciler.reconcile(key);
      repositories.watch();
      ecr.snapshot();
      ecr.repos.get('team/app')!.live.imageTagMutability = 'MUTABLE';
      const current = repositories.get('team', 'app')!;
      repositories.put({ ...current, metadata: { ...current.metadata, annotations: { [FORCE_SYNC_ANNOTATION]: '1700000000' } } });
      now += 5_000;
      await reconciler.reconcile(key);
      expect(ecr.repos.get('team/app')!.live.imageTagMutability).toBe('IMMUTABLE');
      expect(onServer().status).toMatchObject({ imageTagMutability: 'IMMUTABLE', lastForceSync: '1700000000' });
      repositories.watch();
      const fresh = ecr.freshDescribes;
      await reconciler.reconcile(key);
      expect(ecr.freshDescribes).toBe(fresh);
    });

    it('a spec change reads AWS afresh', async () => {
      repositories.put(repository({}, { finalizers: [FINALIZER] }));
      await reconciler.reconcile(key);
      repositories.watch();
      ecr.snapshot();
      const current = repositories.get('team', 'app')!;
      repositories.put({ ...current, metadata: { ...current.metadata, generation: 2 }, spec: { ...current.spec, scanOnPush: true } });
      await reconciler.reconcile(key);
      expect(ecr.freshDescribes).toBe(1);
      expect(ecr.repos.get('team/app')!.live.scanOnPush).toBe(true);
    });

    it('an object stalled on AlreadyExists sends CreateRepository once, and adopting needs only the annotation', async () => {
      ecr.seed('team/app', {});
      repositories.put(repository({}, { finalizers: [FINALIZER] }));
      for (let i = 0; i < 4; i++) {
        await reconciler.reconcile(key);
        repositories.watch();
      }
      expect(ecr.calls.filter((c) => c === 'create')).toHaveLength(1);
      expect(reason()).toBe('AlreadyExists');
      const stalled = repositories.get('team', 'app')!;
      repositories.put({ ...stalled, metadata: { ...stalled.metadata, annotations: { [ADOPT_ANNOTATION]: 'true' } } });
      const fresh = ecr.freshDescribes;
      expect(await reconciler.reconcile(key)).toEqual({});
      expect(ecr.freshDescribes).toBe(fresh + 1);
      expect(reason()).toBe('Available');
    });

    it.each(['Orphan', 'Delete'] as const)('a create whose SetRepositoryPolicy fails, then deleted with %s, is carried out', async (deletionPolicy) => {
      repositories.put(repository({ repositoryPolicyText: policy, deletionPolicy }, { finalizers: [FINALIZER] }));
      ecr.failNext.set('update', awsError('InvalidParameter', 'InvalidParameterException', 'SetRepositoryPolicy'));
      await reconciler.reconcile(key);
      expect(reason()).toBe('InvalidSpec');
      repositories.watch();
      const current = repositories.get('team', 'app')!;
      expect(current.status?.repositoryArn).toBeTruthy();
      repositories.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-11-23T10:05:00Z' } });
      await reconciler.reconcile(key);
      expect(writer.finalizersRemoved).toBe(1);
      if (deletionPolicy === 'Delete') expect(ecr.repos.has('team/app')).toBe(false);
      else expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBeUndefined();
    });

    it.each([
      'arn:aws:kms:us-east-1:123456789012:alias/ecr',
      'alias/ecr',
      '1234abcd-12ab-34cd-56ef-1234567890ab',
    ])('a repository created with KMS key %s stays Ready across syncs', async (kmsKey) => {
      repositories.put(repository({ encryptionConfiguration: { encryptionType: 'KMS', kmsKey } }, { finalizers: [FINALIZER] }));
      await reconciler.reconcile(key);
      repositories.watch();
      now += 60_000;
      await reconciler.reconcile(key);
      expect(reason()).toBe('Available');
      expect(readyCondition(onServer().status)?.status).toBe('True');
    });

    it('a provider that is merely not verified yet gives no Warning event', async () => {
      const provider = readyProvider();
      delete provider.status;
      providers.put(provider);
      repositories.put(repository({}, { finalizers: [FINALIZER] }));
      await reconciler.reconcile(key);
      expect(reason()).toBe('ProviderNotReady');
      expect(events.events.filter((e) => e.type === 'Warning')).toEqual([]);
    });
  });

  describe('deletion', () => {
    function deleting(deletionPolicy: 'Delete' | 'Retain' | 'Orphan', created = true): ECRRepository {
      return repositories.put({
        ...repository({ deletionPolicy }, { finalizers: [FINALIZER], deletionTimestamp: '2026-11-23T10:00:00Z' }),
        status: created ? { repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/team/app' } : {},
      });
    }

    it('Delete removes an owned repository, images included', async () => {
      ecr.seed('team/app', { [OWNER_TAG]: 'team/app' });
      ecr.repos.get('team/app')!.details.imageCount = 3;
      deleting('Delete');
      await reconciler.reconcile(key);
      expect(ecr.repos.has('team/app')).toBe(false);
      expect(writer.finalizersRemoved).toBe(1);
      expect(events.events.at(-1)).toMatchObject({ reason: 'Deleted' });
    });

    it('Delete never removes a repository owned by someone else', async () => {
      ecr.seed('team/app', { [OWNER_TAG]: 'team/other' });
      deleting('Delete');
      await reconciler.reconcile(key);
      expect(ecr.repos.has('team/app')).toBe(true);
      expect(writer.finalizersRemoved).toBe(1);
    });

    it('Retain leaves AWS untouched and needs no provider', async () => {
      providers.items.clear();
      ecr.seed('team/app', { [OWNER_TAG]: 'team/app' });
      deleting('Retain');
      await reconciler.reconcile(key);
      expect(ecr.calls).toEqual([]);
      expect(writer.finalizersRemoved).toBe(1);
    });

    it('Orphan removes the owner tag and keeps the repository', async () => {
      ecr.seed('team/app', { [OWNER_TAG]: 'team/app', team: 'a' });
      deleting('Orphan');
      await reconciler.reconcile(key);
      expect(ecr.repos.get('team/app')!.details.tags).toEqual({ team: 'a' });
      expect(writer.finalizersRemoved).toBe(1);
    });

    it('Delete waits for a missing provider with a clear condition', async () => {
      providers.items.clear();
      ecr.seed('team/app', { [OWNER_TAG]: 'team/app' });
      deleting('Delete');
      const result = await reconciler.reconcile(key);
      expect(result.requeueAfterMs).toBeGreaterThan(0);
      expect(writer.finalizersRemoved).toBe(0);
      expect(reason()).toBe('ProviderNotReady');
      expect(writer.last().message).toMatch(/deletion waits/);
      expect(ecr.repos.has('team/app')).toBe(true);
    });

    it('Delete uses the last verified connection of a provider that is being deleted too (namespace deletion)', async () => {
      const asked: Array<number | undefined> = [];
      reconciler = new EcrRepositoryReconciler({
        repositories, providers, writer, events, logger: silentLogger,
        connections: { get: async (p) => (asked.push(p.metadata.generation), connection()) },
      });
      const p = readyProvider();
      // Setting deletionTimestamp bumps the generation; the Secret may be gone already.
      providers.put({ ...p, metadata: { ...p.metadata, generation: 2, finalizers: [FINALIZER], deletionTimestamp: '2026-11-23T10:00:00Z' } });
      ecr.seed('team/app', { [OWNER_TAG]: 'team/app' });
      deleting('Delete');
      await reconciler.reconcile(key);
      expect(asked).toEqual([1]);
      expect(ecr.repos.has('team/app')).toBe(false);
      expect(writer.finalizersRemoved).toBe(1);
    });

    it('Orphan of a repository that was never created does not wait for the provider', async () => {
      providers.items.clear();
      deleting('Orphan', false);
      await reconciler.reconcile(key);
      expect(writer.finalizersRemoved).toBe(1);
    });
  });
});

describe('ECRRepository lifecycle preview, gate and image inventory', () => {
  const keepTenReleases = JSON.stringify({
    rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['release-*'], countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }],
  });

  /** An owned repository with 30 release images, one pushed per hour, and an object that manages it. */
  function thirtyReleases(spec: Partial<ECRRepository['spec']>): void {
    ecr.seed('team/app', { [OWNER_TAG]: 'team/app', 'managed-by': 'infra-operator' });
    ecr.images('team/app', Array.from({ length: 30 }, (_, i) => ({
      digest: `sha256:${String(i).padStart(64, '0')}`,
      tags: [`release-${i + 1}`],
      pushedAt: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 3_600_000),
      storageClass: 'STANDARD' as const,
      sizeBytes: 100 + i,
    })));
    repositories.put(repository(spec, { finalizers: [FINALIZER] }));
  }

  function condition(type: string): { status: string; reason: string; message: string } | undefined {
    return (writer.last().conditions as Array<{ type: string; status: string; reason: string; message: string }>).find((c) => c.type === type);
  }

  it('previews the policy in status, tells how many images it expires before applying it, and reports the inventory', async () => {
    thirtyReleases({ lifecyclePolicy: { policyText: keepTenReleases } });
    await reconciler.reconcile(key);
    expect(ecr.repos.get('team/app')!.details.lifecyclePolicyText).toBe(keepTenReleases);
    expect(reason()).toBe('Available');
    expect(writer.last()).toMatchObject({
      imageCount: 30,
      archivedImageCount: 0,
      imageSizeBytes: 30 * 100 + (29 * 30) / 2,
      lastImagePushedAt: '2026-11-02T05:00:00Z',
      lifecyclePreview: { imagesToExpire: 20, imagesToArchive: 0, evaluatedAt: '2026-11-23T10:00:00Z' },
    });
    expect((writer.last().lifecyclePreview as { sample: string[] }).sample.length).toBeGreaterThan(0);
    const reasons = events.events.map((e) => e.reason);
    expect(reasons).toEqual(['LifecyclePreview', 'Updated']);
    expect(events.events[0]).toMatchObject({ type: 'Normal', message: expect.stringMatching(/would expire 20 and archive 0 images/) });
  });

  it('holds back a policy that would expire more than maxImagesToExpire: Stalled, the rest applied, status recorded, stall backoff', async () => {
    thirtyReleases({ scanOnPush: true, lifecyclePolicy: { policyText: keepTenReleases, maxImagesToExpire: 5 } });
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: 30_000 });
    const entry = ecr.repos.get('team/app')!;
    expect(entry.details.lifecyclePolicyText).toBeUndefined();
    expect(entry.live.scanOnPush).toBe(true);
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'LifecyclePolicyUnsafe', message: expect.stringContaining('expire 20 images') });
    expect(condition('Stalled')).toMatchObject({ status: 'True', reason: 'LifecyclePolicyUnsafe' });
    expect(condition('Reconciling')?.status ?? 'False').toBe('False');
    expect(writer.last()).toMatchObject({
      ready: false,
      imageCount: 30,
      imageScanningConfiguration: { scanOnPush: true },
      lifecyclePreview: { imagesToExpire: 20 },
      lastSyncTime: '2026-11-23T10:00:00Z',
    });
    expect(events.events.map((e) => `${e.type}/${e.reason}`)).toEqual(['Normal/Updated', 'Warning/LifecyclePolicyUnsafe']);

    // Looked at again with the stall backoff, never applying it, one Warning only.
    repositories.watch();
    now += 30_000;
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: 60_000 });
    expect(ecr.calls.filter((c) => c === 'update')).toHaveLength(1);
    expect(events.events.filter((e) => e.type === 'Warning')).toHaveLength(1);

    // Raising the limit lets it through.
    repositories.watch();
    const current = repositories.get('team', 'app')!;
    repositories.put({ ...current, metadata: { ...current.metadata, generation: 2 }, spec: { ...current.spec, lifecyclePolicy: { policyText: keepTenReleases, maxImagesToExpire: 25 } } });
    expect(await reconciler.reconcile(key)).toEqual({});
    expect(entry.details.lifecyclePolicyText).toBe(keepTenReleases);
    expect(condition('Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(condition('Stalled')).toBeUndefined();
  });

  /** A reconciler like the others, whose kept previews the test can see. */
  function reconcilerWith(previews: LifecyclePreviews): EcrRepositoryReconciler {
    return new EcrRepositoryReconciler({
      repositories, providers, writer, events, logger: silentLogger,
      connections: { get: async () => connection() },
      clock: () => new Date(now),
      lifecyclePreviews: previews,
    });
  }

  it('evaluates the preview once while the policy and the images stay the same, and again after a push', async () => {
    const previews = new LifecyclePreviews();
    const withPreviews = reconcilerWith(previews);
    thirtyReleases({ lifecyclePolicy: { policyText: keepTenReleases } });
    await withPreviews.reconcile(key);
    expect(writer.last()).toMatchObject({ lifecyclePreview: { imagesToExpire: 20, evaluatedAt: '2026-11-23T10:00:00Z' } });

    // The periodic sweep: nothing changed, nothing evaluated, the status keeps the first preview.
    repositories.watch();
    now += 600_000;
    await withPreviews.reconcile(key);
    expect({ computed: previews.computed, reused: previews.reused }).toEqual({ computed: 1, reused: 1 });
    expect(repositories.onServer('team', 'app')!.status?.lifecyclePreview).toMatchObject({ imagesToExpire: 20, evaluatedAt: '2026-11-23T10:00:00Z' });

    // A push: the listing changed, the preview is evaluated again.
    const entry = ecr.repos.get('team/app')!;
    ecr.images('team/app', [...(entry.details.images ?? []), {
      digest: `sha256:${'f'.repeat(64)}`, tags: ['release-31'], pushedAt: new Date(now), storageClass: 'STANDARD', sizeBytes: 1,
    }]);
    repositories.watch();
    now += 600_000;
    await withPreviews.reconcile(key);
    expect(previews.computed).toBe(2);
    expect(repositories.onServer('team', 'app')!.status?.lifecyclePreview).toMatchObject({ imagesToExpire: 21, evaluatedAt: '2026-11-23T10:20:00Z' });
  });

  it('forgets the kept preview when the object goes', async () => {
    const previews = new LifecyclePreviews();
    const withPreviews = reconcilerWith(previews);
    thirtyReleases({ lifecyclePolicy: { policyText: keepTenReleases } });
    await withPreviews.reconcile(key);
    expect(previews.size).toBe(1);
    repositories.items.delete('team/app');
    await withPreviews.reconcile(key);
    expect(previews.size).toBe(0);
  });

  it('does not hold back a safe policy for a signed multi-platform push: its platform manifests and signature are not images to expire', async () => {
    // Keep 10 releases, expire untagged images after 14 days, and expire nothing else: maxImagesToExpire 0.
    const policyText = JSON.stringify({
      rules: [
        { rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['release-*'], countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } },
        { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } },
      ],
    });
    ecr.seed('team/app', { [OWNER_TAG]: 'team/app', 'managed-by': 'infra-operator' });
    const pushed = Date.parse('2026-10-01T00:00:00Z');
    const image = (digest: string, tags: string[], at: number, extra: Partial<LifecycleImage> = {}): LifecycleImage =>
      ({ digest: `sha256:${digest.padStart(64, '0')}`, tags, pushedAt: new Date(at), storageClass: 'STANDARD', sizeBytes: 10, ...extra });
    ecr.images('team/app', [
      image('a1', [], pushed - 2_000),
      image('a2', [], pushed - 1_000),
      image('a3', ['release-1'], pushed, { imageIndex: true }),
      image('a4', [], pushed + 60_000, { subject: `sha256:${'a3'.padStart(64, '0')}` }),
    ]);
    repositories.put(repository({ lifecyclePolicy: { policyText, maxImagesToExpire: 0 } }, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(ecr.repos.get('team/app')!.details.lifecyclePolicyText).toBe(policyText);
    expect(writer.last()).toMatchObject({ lifecyclePreview: { imagesToExpire: 0, imagesToArchive: 0 } });
  });

  it('drops the preview from status when the policy is removed', async () => {
    thirtyReleases({ lifecyclePolicy: { policyText: keepTenReleases } });
    await reconciler.reconcile(key);
    repositories.watch();
    const current = repositories.get('team', 'app')!;
    const { lifecyclePolicy: _removed, ...spec } = current.spec;
    repositories.put({ ...current, metadata: { ...current.metadata, generation: 2 }, spec });
    await reconciler.reconcile(key);
    expect(ecr.repos.get('team/app')!.details.lifecyclePolicyText).toBeUndefined();
    expect(repositories.onServer('team', 'app')!.status?.lifecyclePreview).toBeUndefined();
  });

  it('records a new repository\'s preview: nothing to expire', async () => {
    repositories.put(repository({ lifecyclePolicy: { policyText: keepTenReleases } }));
    await reconciler.reconcile(key);
    expect(writer.last()).toMatchObject({ ready: true, lifecyclePreview: { imagesToExpire: 0, imagesToArchive: 0 } });
  });

  it('reports the exclusion filters that an update set', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'team/app', 'managed-by': 'infra-operator' });
    repositories.put(repository({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }] }, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(ecr.repos.get('team/app')!.live.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(repositories.onServer('team', 'app')!.status).toMatchObject({
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
    });
  });
});

describe('ECRRepository owner tag with --cluster-name', () => {
  const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/team/app';

  beforeEach(() => {
    reconciler = new EcrRepositoryReconciler({
      repositories, providers, writer, events, logger: silentLogger,
      connections: { get: async () => connection() },
      clock: () => new Date(now),
      clusterName: 'prod-eu-1',
    });
  });

  /** An object that has managed the repository before (its status records it). */
  function managedBefore(spec: Partial<ECRRepository['spec']> = {}): ECRRepository {
    return repositories.put({
      ...repository(spec, { finalizers: [FINALIZER] }),
      status: { repositoryArn: arn, conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: 'ok', lastTransitionTime: '2026-11-01T00:00:00Z', observedGeneration: 1 }] },
    });
  }

  it('tags a new repository <cluster>/<namespace>/<name>', async () => {
    repositories.put(repository());
    await reconciler.reconcile(key);
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('prod-eu-1/team/app');
    expect(reason()).toBe('Available');
  });

  it('takes over silently its own repository tagged with the cluster name', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'prod-eu-1/team/app', 'managed-by': 'infra-operator' });
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(ecr.calls).not.toContain('update');
  });

  it('upgrade: recognises the value it wrote before the cluster name was set on the repository it recorded, and retags it', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'team/app', 'managed-by': 'infra-operator' });
    managedBefore();
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('prod-eu-1/team/app');
  });

  it('does not take the legacy value of its name on a repository it never recorded (another cluster may own it)', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'team/app' });
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('AlreadyOwned');
    expect(writer.last().message).toMatch(/--cluster-name/);
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('team/app');
  });

  it('another cluster\'s value is another owner', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'prod-us-1/team/app' });
    managedBefore();
    await reconciler.reconcile(key);
    expect(reason()).toBe('AlreadyOwned');
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('prod-us-1/team/app');
  });

  it('Delete carries out on a repository tagged with the legacy value by this object', async () => {
    ecr.seed('team/app', { [OWNER_TAG]: 'team/app' });
    const obj = managedBefore({ deletionPolicy: 'Delete' });
    repositories.put({ ...obj, metadata: { ...obj.metadata, deletionTimestamp: '2026-11-23T10:00:00Z' } });
    await reconciler.reconcile(key);
    expect(ecr.repos.has('team/app')).toBe(false);
    expect(writer.finalizersRemoved).toBe(1);
  });
});

describe('ECRRepository ownership is decided before any listing', () => {
  /** A repository of 5,000 images (5 pages of DescribeImages) behind the real gateway. */
  function bigRepository(tags: Record<string, string>, logger = silentLogger): FakeEcrApi {
    const api = new FakeEcrApi();
    const seeded = api.seed('team/app', {}, 5_000);
    for (const [k, v] of Object.entries(tags)) seeded.tags.set(k, v);
    const gateway = new EcrGateway({ client: api.client });
    reconciler = new EcrRepositoryReconciler({
      repositories, providers, writer, events, logger,
      connections: { get: async () => ({ ...connection(), ecr: gateway }) },
      clock: () => new Date(now),
    });
    return api;
  }

  it.each([
    ['owned by an object of another namespace', { [OWNER_TAG]: 'payments/billing' }, 'AlreadyOwned'],
    ['without owner tag and without the adopt annotation', { team: 'x' }, 'AlreadyExists'],
  ])('a 5,000-image repository %s costs one describe and one tag read per retry, and no image listing', async (_what, tags, expected) => {
    const api = bigRepository(tags);
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe(expected);
    // The first attempt goes straight to CreateRepository, which finds the repository.
    expect(api.ops().sort()).toEqual(['CreateRepository', 'DescribeRepositories', 'ListTagsForResource']);
    for (let i = 0; i < 3; i++) {
      repositories.watch();
      api.reset();
      now += 60_000;
      await reconciler.reconcile(key);
      expect(reason()).toBe(expected);
      expect(api.ops().sort()).toEqual(['DescribeRepositories', 'ListTagsForResource']);
    }
    expect(api.count('DescribeImages')).toBe(0);
  });

  it('lists the images of a repository once it is this object\'s (adopted), with one tag read', async () => {
    const api = bigRepository({ team: 'x' });
    repositories.put(repository({}, { finalizers: [FINALIZER], annotations: { [ADOPT_ANNOTATION]: 'true' } }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(api.count('DescribeImages')).toBe(5);
    expect(api.count('ListTagsForResource')).toBe(1);
    expect(writer.last()).toMatchObject({ imageCount: 5_000 });
  });

  it('names the owner to the tenant only when it is in the same namespace; the log keeps the full name', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
    bigRepository({ [OWNER_TAG]: 'payments/billing' }, pino({ level: 'info' }, sink));
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('AlreadyOwned');
    const told = [String(writer.last().message), ...events.events.map((e) => e.message)];
    expect(told.join('\n')).not.toMatch(/payments|billing/);
    expect(writer.last().message).toContain('owned by another object');
    expect(lines.some((l) => l.level === 30 && l.owner === 'payments/billing')).toBe(true);
  });

  it.each([
    ['another cluster\'s object of the same namespace name', 'prod-us-1/team/first'],
    ['a shortened value', `team/${'a'.repeat(200)}_0123456789abcdef`],
  ])('%s is "another object" too', async (_what, owner) => {
    ecr.seed('team/app', { [OWNER_TAG]: owner });
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('AlreadyOwned');
    expect(writer.last().message).toContain('owned by another object');
  });
});

describe('ECRRepository when its provider now resolves to another account', () => {
  const OTHER = '210987654321';

  function readyCondition(type = 'Ready'): { status: string; reason: string; message: string } | undefined {
    return (writer.last().conditions as Array<{ type: string; status: string; reason: string; message: string }>).find((c) => c.type === type);
  }

  /** Creates the repository in ACCOUNT, then the provider's Secret is rotated to keys of OTHER. */
  async function createdThenRotated(spec: Partial<ECRRepository['spec']> = {}): Promise<{ original: FakeEcr; other: FakeEcr }> {
    repositories.put(repository(spec, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    repositories.watch();
    const original = ecr;
    const other = new FakeEcr();
    ecr = other;
    account = OTHER;
    now += 60_000;
    return { original, other };
  }

  it('is Stalled ProviderAccountChanged naming both accounts, sends nothing to the new account, and is Ready again when the provider resolves to the old one', async () => {
    const { original, other } = await createdThenRotated();
    const result = await reconciler.reconcile(key);
    expect(reason()).toBe('ProviderAccountChanged');
    expect(readyCondition()?.message).toContain(`account ${OTHER}`);
    expect(readyCondition()?.message).toContain(`account ${ACCOUNT}`);
    expect(readyCondition('Stalled')?.status).toBe('True');
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(other.calls).toEqual([]);
    expect(other.repos.size).toBe(0);
    expect(events.events.filter((e) => e.reason === 'ProviderAccountChanged')).toHaveLength(1);
    // Its record of the repository is kept.
    expect(repositories.onServer('team', 'app')!.status?.repositoryArn).toBe(`arn:aws:ecr:us-east-1:${ACCOUNT}:repository/team/app`);

    // Again and again: still nothing.
    repositories.watch();
    await reconciler.reconcile(key);
    expect(other.calls).toEqual([]);

    // The Secret rotated back.
    ecr = original;
    account = ACCOUNT;
    repositories.watch();
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(original.calls.filter((c) => c === 'create')).toHaveLength(1);
    expect(original.repos.size).toBe(1);
  });

  it('asks STS which account a session not verified yet acts in, before any ECR call', async () => {
    const { other } = await createdThenRotated();
    let asked = 0;
    const session = { accountId: undefined, callerIdentity: async () => (asked++, { accountId: OTHER, arn: `arn:aws:iam::${OTHER}:user/x`, userId: 'x' }) };
    reconciler = new EcrRepositoryReconciler({
      repositories, providers, writer, events, logger: silentLogger,
      connections: { get: async () => ({ ...connectionFor(ecr), session: session as unknown as Connection['session'] }) },
      clock: () => new Date(now),
    });
    await reconciler.reconcile(key);
    expect(asked).toBe(1);
    expect(reason()).toBe('ProviderAccountChanged');
    expect(other.calls).toEqual([]);
  });

  it.each(['Delete', 'Orphan'] as const)('deletion with %s waits in that state, touching neither account, and is carried out in the old account once the provider resolves to it', async (deletionPolicy) => {
    const { original, other } = await createdThenRotated({ deletionPolicy });
    other.seed('team/app', { [OWNER_TAG]: 'team/app' });
    other.calls = [];
    const current = repositories.get('team', 'app')!;
    repositories.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-11-23T10:05:00Z' } });
    const result = await reconciler.reconcile(key);
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(writer.finalizersRemoved).toBe(0);
    expect(reason()).toBe('ProviderAccountChanged');
    expect(writer.last().message).toMatch(/^deletion waits: /);
    expect(other.calls).toEqual([]);
    expect(other.repos.has('team/app')).toBe(true);
    expect(original.repos.has('team/app')).toBe(true);

    ecr = original;
    account = ACCOUNT;
    repositories.watch();
    await reconciler.reconcile(key);
    expect(writer.finalizersRemoved).toBe(1);
    if (deletionPolicy === 'Delete') expect(original.repos.has('team/app')).toBe(false);
    else expect(original.repos.get('team/app')!.details.tags[OWNER_TAG]).toBeUndefined();
    expect(other.repos.get('team/app')!.details.tags[OWNER_TAG]).toBe('team/app');
  });

  it('Retain needs no provider and finishes whatever account the provider names', async () => {
    await createdThenRotated({ deletionPolicy: 'Retain' });
    const current = repositories.get('team', 'app')!;
    repositories.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-11-23T10:05:00Z' } });
    await reconciler.reconcile(key);
    expect(writer.finalizersRemoved).toBe(1);
  });

  it('a provider that names another region than the recorded repository stalls the same way (a provider re-created under its name)', async () => {
    repositories.put(repository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    repositories.watch();
    const p = providers.get('team', 'aws')!;
    providers.put({ ...p, spec: { ...p.spec, region: 'eu-west-1' } });
    ecr.calls = [];
    await reconciler.reconcile(key);
    expect(reason()).toBe('ProviderRegionChanged');
    expect(writer.last().message).toContain('region eu-west-1');
    expect(writer.last().message).toContain('region us-east-1');
    expect(ecr.calls).toEqual([]);
  });

  it('a change of the provider\'s account wakes its repositories; a mere re-verification does not', () => {
    const before = readyProvider();
    before.status = { ...before.status, accountID: ACCOUNT, lastAuthenticationTime: '2026-11-23T10:00:00Z' };
    const reverified = { ...before, status: { ...before.status, lastAuthenticationTime: '2026-11-23T10:05:00Z' } };
    const rotated = { ...before, status: { ...before.status, accountID: OTHER } };
    expect(providerChangeMatters(before, reverified)).toBe(false);
    expect(providerChangeMatters(before, rotated)).toBe(true);
    expect(providerChangeMatters(rotated, before)).toBe(true);
  });

  it('the AWSProvider CRD (and the chart\'s copy) makes spec.region immutable, naming the way to move', () => {
    const files = ['config/crd/bases/aws-infra-operator.runner.codes_awsproviders.yaml', 'charts/infra-operator/crds/aws-infra-operator.runner.codes_awsproviders.yaml'];
    for (const file of files) {
      const crd = parse(readFileSync(file, 'utf8')) as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: { region: { 'x-kubernetes-validations'?: Array<{ rule: string; message: string }> } } } } } } }> } };
      const region = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.region;
      expect(region['x-kubernetes-validations'], file).toEqual([
        { rule: 'self == oldSelf', message: 'spec.region is immutable: to move to another region, create a new AWSProvider' },
      ]);
    }
  });
});

describe('ECRRepository whose recorded repository lost its owner tag', () => {
  async function createdThenUntagged(spec: Partial<ECRRepository['spec']> = {}): Promise<void> {
    repositories.put(repository({ tags: { team: 'a' }, ...spec }, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    repositories.watch();
    delete ecr.repos.get('team/app')!.details.tags[OWNER_TAG];
    now += 60_000;
  }

  it('restores the tag as drift, with an OwnerTagRestored Event', async () => {
    await createdThenUntagged();
    const current = repositories.get('team', 'app')!;
    repositories.put({ ...current, metadata: { ...current.metadata, annotations: { [FORCE_SYNC_ANNOTATION]: '1' } } });
    await reconciler.reconcile(key);
    expect(reason()).toBe('Available');
    expect(ecr.repos.get('team/app')!.details.tags).toMatchObject({ [OWNER_TAG]: 'team/app', team: 'a' });
    expect(events.events.at(-1)).toMatchObject({ type: 'Normal', reason: 'OwnerTagRestored' });
    expect(ecr.calls.filter((c) => c === 'create')).toHaveLength(1);
  });

  it.each(['Delete', 'Orphan'] as const)('%s is carried out on it', async (deletionPolicy) => {
    await createdThenUntagged({ deletionPolicy });
    const current = repositories.get('team', 'app')!;
    repositories.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-11-23T10:05:00Z' } });
    await reconciler.reconcile(key);
    expect(writer.finalizersRemoved).toBe(1);
    expect(events.events.some((e) => e.reason === 'NotOwned')).toBe(false);
    if (deletionPolicy === 'Delete') expect(ecr.repos.has('team/app')).toBe(false);
    else expect(ecr.repos.get('team/app')!.details.tags).toEqual({ team: 'a', 'managed-by': 'infra-operator' });
  });

  it('a repository deleted and created again under the same name by someone else (another creation time) is not taken', async () => {
    await createdThenUntagged({ deletionPolicy: 'Delete' });
    ecr.repos.get('team/app')!.live.createdAt = new Date('2026-11-23T09:00:00Z');
    await reconciler.reconcile(key);
    expect(reason()).toBe('AlreadyExists');
    expect(ecr.repos.get('team/app')!.details.tags[OWNER_TAG]).toBeUndefined();
    const current = repositories.get('team', 'app')!;
    repositories.watch();
    repositories.put({ ...repositories.get('team', 'app')!, metadata: { ...current.metadata, deletionTimestamp: '2026-11-23T10:05:00Z' } });
    await reconciler.reconcile(key);
    expect(ecr.repos.has('team/app')).toBe(true);
    expect(events.events.at(-1)?.reason).toBe('NotOwned');
  });
});

describe('ECRRepository between full reads, while its provider\'s events are read', () => {
  const SIX_HOURS = 6 * 3_600_000;
  let api: FakeEcrApi;
  let gateway: EcrGateway;
  let inEventMode: boolean;

  /** A repository of 3 images that this object owns, behind the real gateway; reconciled once in full. */
  async function owned(): Promise<void> {
    api = new FakeEcrApi();
    const seeded = api.seed('team/app', {}, 3);
    seeded.tags.set(OWNER_TAG, 'team/app');
    seeded.tags.set('managed-by', 'infra-operator');
    seeded.lifecyclePolicy = lifecycle;
    seeded.policy = policy;
    gateway = new EcrGateway({ client: api.client, clock: () => now });
    inEventMode = true;
    reconciler = new EcrRepositoryReconciler({
      repositories, providers, writer, events, logger: silentLogger,
      connections: { get: async () => ({ ...connection(), ecr: gateway }) },
      clock: () => new Date(now),
      fullReadEveryMs: () => (inEventMode ? 3.5 * SIX_HOURS : undefined),
    });
    repositories.put(repository({ lifecyclePolicy: { policyText: lifecycle }, repositoryPolicyText: policy }, { finalizers: [FINALIZER], uid: 'uid-app' }));
    await reconciler.reconcile(key);
    repositories.watch();
    expect(reason()).toBe('Available');
    expect(api.ops()).toContain('DescribeImages');
    expect(writer.last()).toMatchObject({ imageCount: 3 });
    api.reset();
  }

  async function turn(): Promise<string[]> {
    api.reset();
    now += SIX_HOURS;
    await reconciler.reconcile(key);
    repositories.watch();
    return api.ops().sort();
  }

  it('reads settings and both policies only, keeping the image fields of status; every fourth turn reads tags and images too', async () => {
    await owned();
    for (let i = 0; i < 3; i++) {
      expect(await turn()).toEqual(['DescribeRepositories', 'GetLifecyclePolicy', 'GetRepositoryPolicy']);
      expect(writer.last()).toMatchObject({ ready: true, imageCount: 3 });
    }
    expect(await turn()).toEqual(['DescribeImages', 'DescribeRepositories', 'GetLifecyclePolicy', 'GetRepositoryPolicy', 'ListTagsForResource']);
    expect(writer.last()).toMatchObject({ ready: true, imageCount: 3 });
  });

  it('reverts a repository policy changed by someone else at the next turn; a lifecycle policy changed too is applied after a full read (its preview needs the images)', async () => {
    await owned();
    const entry = api.repos.get('team/app')!;
    entry.policy = '{"Version":"2012-10-17","Statement":[]}';
    expect(await turn()).toEqual(['DescribeRepositories', 'GetLifecyclePolicy', 'GetRepositoryPolicy', 'SetRepositoryPolicy']);
    expect(entry.policy).toBe(policy);
    entry.lifecyclePolicy = '{"rules":[]}';
    const ops = await turn();
    expect(ops).toContain('DescribeImages');
    expect(ops).toContain('PutLifecyclePolicy');
    expect(entry.lifecyclePolicy).toBe(lifecycle);
  });

  it('an image event, or a change by someone else, has the next reconcile read in full', async () => {
    await owned();
    gateway.imagesChanged('team/app');
    expect(await turn()).toContain('DescribeImages');
    expect(await turn()).not.toContain('DescribeImages');
    const entry = api.repos.get('team/app')!;
    entry.tags.set('managed-by', 'someone');
    gateway.invalidate('team/app');
    const ops = await turn();
    expect(ops).toContain('ListTagsForResource');
    expect(ops).toContain('TagResource');
    expect(entry.tags.get('managed-by')).toBe('infra-operator');
  });

  it('reads in full at every reconcile while the provider polls, and for a user\'s change', async () => {
    await owned();
    inEventMode = false;
    expect(await turn()).toContain('ListTagsForResource');
    expect(await turn()).toContain('DescribeImages');
    inEventMode = true;
    const stored = repositories.get('team', 'app')!;
    repositories.put({ ...stored, metadata: { ...stored.metadata, generation: 2 } });
    expect(await turn()).toContain('DescribeImages');
  });

  it('a tag change that failed is read and made again at the retry, not left to the next full read', async () => {
    await owned();
    const entry = api.repos.get('team/app')!;
    entry.tags.set('managed-by', 'someone');
    gateway.invalidate('team/app');
    api.failNext('TagResource', sdkError('ServiceUnavailableException', 'try again', 503));
    now += SIX_HOURS;
    await expect(reconciler.reconcile(key)).rejects.toThrow(/try again/);
    repositories.watch();
    expect(api.ops()).toContain('TagResource');
    expect(entry.tags.get('managed-by')).toBe('someone');
    const ops = await turn();
    expect(ops).toContain('ListTagsForResource');
    expect(entry.tags.get('managed-by')).toBe('infra-operator');
  });

  it('one object\'s full read never stands for another object naming the same repository', async () => {
    await owned();
    const stored = repositories.get('team', 'app')!;
    repositories.put({ ...stored, metadata: { ...stored.metadata, uid: 'uid-other' } });
    expect(await turn()).toContain('ListTagsForResource');
  });
});
