import { afterEach, describe, expect, it } from 'vitest';
import { AwsError } from '../../../src/aws/errors.js';
import { EVENTS_READY, formatDuration, ProviderEvents, type RegistryObjectLike, type RepositoryLike } from '../../../src/events/events.js';
import type { QueueClient, QueueMessage } from '../../../src/events/receiver.js';
import type { AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import { queueEvents } from '../../../src/observability/metrics.js';
import type { Connection } from '../../../src/providers/connections.js';
import type { ObjectKey } from '../../../src/runtime/types.js';
import * as f from './fixtures.js';

const QUEUE = `https://sqs.${f.REGION}.amazonaws.com/${f.ACCOUNT}/ecr-events`;

function provider(name: string, opts: { queue?: string; account?: string; ready?: boolean; namespace?: string } = {}): AWSProvider {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'AWSProvider',
    metadata: { name, namespace: opts.namespace ?? 'team', generation: 1, uid: name, resourceVersion: '1' },
    spec: { region: f.REGION, ...(opts.queue ? { events: { queueURL: opts.queue } } : {}) },
    status: {
      accountID: opts.account ?? f.ACCOUNT,
      callerIdentity: f.OPERATOR_ARN,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', reason: 'Authenticated', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
    },
  };
}

/** A queue: messages pushed by the test, received in long polls, deleted by receipt handle. */
class FakeQueue implements QueueClient {
  messages: QueueMessage[] = [];
  inFlight = new Map<string, QueueMessage>();
  deleted: string[] = [];
  failWith: unknown;
  receives = 0;
  closed = false;
  private n = 0;

  push(body: unknown): string {
    const handle = `m${++this.n}`;
    this.messages.push({ receiptHandle: handle, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return handle;
  }

  waits: number[] = [];

  async receive(_url: string, wait: number, signal: AbortSignal): Promise<QueueMessage[]> {
    this.receives++;
    this.waits.push(wait);
    await new Promise((r) => setTimeout(r, 5));
    if (signal.aborted) throw new Error('aborted');
    if (this.failWith) throw this.failWith;
    const out = this.messages.splice(0, 10);
    for (const m of out) this.inFlight.set(m.receiptHandle, m);
    return out;
  }

  async delete(_url: string, handles: string[]): Promise<void> {
    for (const h of handles) this.inFlight.delete(h);
    this.deleted.push(...handles);
  }

  close(): void {
    this.closed = true;
  }
}

interface Harness {
  events: ProviderEvents;
  providers: Map<string, AWSProvider>;
  queues: FakeQueue[];
  enqueued: Array<{ key: ObjectKey; priority: string }>;
  registryEnqueued: Array<{ key: ObjectKey; priority: string }>;
  invalidated: string[];
  imagesChanged: string[];
  writes: number;
  controllersRun: boolean;
}

let running: ProviderEvents[] = [];
afterEach(async () => {
  await Promise.all(running.map((e) => e.stop()));
  running = [];
});

function harness(list: AWSProvider[], repositories: RepositoryLike[] = [], registryObjects: RegistryObjectLike[] = []): Harness {
  const providers = new Map(list.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const h: Harness = { providers, queues: [], enqueued: [], registryEnqueued: [], invalidated: [], imagesChanged: [], writes: 0, controllersRun: true } as unknown as Harness;
  h.events = new ProviderEvents({
    providers: {
      list: () => [...providers.values()],
      get: (ns, name) => providers.get(`${ns}/${name}`),
      onEvent: () => () => undefined,
    },
    connections: {
      get: async (p) => ({
        fingerprint: `fp-${p.metadata.name}`,
        identity: 'static keys',
        ecr: { invalidate: (name: string) => h.invalidated.push(name), imagesChanged: (name: string) => h.imagesChanged.push(name) },
        session: {},
      }) as unknown as Connection,
    },
    writer: {
      patchStatus: async (_ref, obj, build) => {
        const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
        const current = providers.get(key)!;
        const status = build(current as never);
        if (JSON.stringify(status) === JSON.stringify(current.status)) return undefined;
        h.writes++;
        providers.set(key, { ...current, status: status as AWSProvider['status'] });
        return undefined;
      },
    },
    repositories: {
      list: () => repositories,
      enqueue: (key, priority) => {
        if (!h.controllersRun) return false;
        h.enqueued.push({ key, priority });
        return true;
      },
    },
    registryObjects: [{
      list: () => registryObjects,
      enqueue: (key, priority) => {
        h.registryEnqueued.push({ key, priority });
        return true;
      },
    }],
    queueClient: () => {
      const q = new FakeQueue();
      h.queues.push(q);
      return q;
    },
    active: () => true,
    syncPeriodMs: 600_000,
    syncPeriodWithEventsMs: 6 * 3_600_000,
    logger: { info: () => undefined, warn: () => undefined },
    receiver: { waitSeconds: 1, minBackoffMs: 10, maxBackoffMs: 20 },
    recheckMs: 60_000,
  });
  running.push(h.events);
  return h;
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function condition(h: Harness, key: string) {
  return h.providers.get(key)?.status?.conditions?.find((c) => c.type === EVENTS_READY);
}

const repo = (name: string, repositoryName: string, providerName = 'a', namespace = 'team'): RepositoryLike => ({
  metadata: { name, namespace }, spec: { repositoryName, providerRef: { name: providerName } },
});

async function counter(outcome: string): Promise<number> {
  const m = await queueEvents.get();
  return m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

describe('one receiver per queue', () => {
  it('reads a queue once, whatever the number of providers naming it, with the first provider by name', async () => {
    const h = harness([provider('b', { queue: QUEUE }), provider('a', { queue: QUEUE }), provider('c', { namespace: 'other', queue: QUEUE })]);
    h.events.start();
    await until(() => condition(h, 'team/a')?.status === 'True' && condition(h, 'team/b')?.status === 'True' && condition(h, 'other/c')?.status === 'True');
    expect(h.queues).toHaveLength(1);
    expect(h.events.readers()).toEqual(new Map([[QUEUE, 'other/c']]));
    expect(h.providers.get('team/a')?.status?.events).toEqual({ mode: 'Events', queueURL: QUEUE, syncPeriod: '6h0m0s' });
    // A short poll first (health at once), long polls once the queue is known to be readable.
    expect(h.queues[0]!.waits[0]).toBe(0);
    await until(() => h.queues[0]!.waits.length >= 3);
    expect(h.queues[0]!.waits.slice(1, 3)).toEqual([1, 1]);
  });

  it('a provider without a queue gets no condition and no receiver, and costs no status write', async () => {
    const h = harness([provider('a')]);
    h.events.start();
    await h.events.schedule();
    expect(h.queues).toHaveLength(0);
    expect(h.writes).toBe(0);
    expect(condition(h, 'team/a')).toBeUndefined();
  });

  it("a queue of another account is refused by name, and not read", async () => {
    const h = harness([provider('a', { queue: `https://sqs.${f.REGION}.amazonaws.com/210987654321/ecr-events` })]);
    h.events.start();
    await until(() => condition(h, 'team/a') !== undefined);
    expect(condition(h, 'team/a')).toMatchObject({ status: 'False', reason: 'QueueNotInProviderAccount' });
    expect(h.providers.get('team/a')?.status?.events).toMatchObject({ mode: 'Polling', syncPeriod: '10m0s' });
    expect(h.queues).toHaveLength(0);
  });

  it('a provider whose credentials are not verified reports ProviderNotReady', async () => {
    const h = harness([provider('a', { queue: QUEUE, ready: false })]);
    h.events.start();
    await until(() => condition(h, 'team/a') !== undefined);
    expect(condition(h, 'team/a')).toMatchObject({ status: 'False', reason: 'ProviderNotReady' });
  });

  it('a queue that cannot be read: EventsReady=False with the reason and Polling; back: Events again', async () => {
    const h = harness([provider('a', { queue: QUEUE })]);
    h.events.start();
    await until(() => h.queues.length === 1);
    const q = h.queues[0]!;
    q.failWith = new AwsError({ kind: 'NotFound', code: 'AWS.SimpleQueueService.NonExistentQueue', service: 'SQS', operation: 'ReceiveMessage', retryable: false, awsMessage: 'The specified queue does not exist.', httpStatus: 400, requestId: undefined });
    await until(() => condition(h, 'team/a')?.reason === 'QueueNotFound');
    expect(condition(h, 'team/a')?.status).toBe('False');
    expect(h.providers.get('team/a')?.status?.events?.mode).toBe('Polling');
    q.failWith = undefined;
    await until(() => condition(h, 'team/a')?.status === 'True');
    expect(h.providers.get('team/a')?.status?.events?.mode).toBe('Events');
  });

  it('removing the queue stops its receiver and removes the condition and status.events', async () => {
    const h = harness([provider('a', { queue: QUEUE })]);
    h.events.start();
    await until(() => condition(h, 'team/a')?.status === 'True');
    const p = h.providers.get('team/a')!;
    h.providers.set('team/a', { ...p, spec: { region: f.REGION } });
    await h.events.schedule();
    expect(h.queues[0]!.closed).toBe(true);
    expect(condition(h, 'team/a')).toBeUndefined();
    expect(h.providers.get('team/a')?.status?.events).toBeUndefined();
    expect(h.providers.get('team/a')?.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
  });
});

describe('events to keys', () => {
  it("queues the repository of the event's registry, deletes the message after that; a change by someone else at high priority with a fresh read", async () => {
    const h = harness([provider('a', { queue: QUEUE }), provider('x', { namespace: 'elsewhere', account: '210987654321' })],
      [repo('app', 'team/app'), repo('other', 'team/other'), repo('foreign', 'team/app', 'x', 'elsewhere')]);
    h.events.start();
    await until(() => h.queues.length === 1);
    const q = h.queues[0]!;
    const handle = q.push(f.apiCall('PutLifecyclePolicy', { repositoryName: 'team/app' }));
    await until(() => q.deleted.includes(handle));
    expect(h.enqueued).toEqual([{ key: { namespace: 'team', name: 'app' }, priority: 'high' }]);
    expect(h.invalidated).toEqual(['team/app']);
  });

  it('an image push queues the repository at low priority, without dropping the shared read; its images are to be read again', async () => {
    const h = harness([provider('a', { queue: QUEUE })], [repo('app', 'team/app')]);
    h.events.start();
    await until(() => h.queues.length === 1);
    const handle = h.queues[0]!.push(f.imagePush);
    await until(() => h.queues[0]!.deleted.includes(handle));
    expect(h.enqueued).toEqual([{ key: { namespace: 'team', name: 'app' }, priority: 'low' }]);
    expect(h.invalidated).toEqual([]);
    expect(h.imagesChanged).toEqual(['team/app']);
  });

  it("the operator's own calls queue nothing and are counted", async () => {
    const h = harness([provider('a', { queue: QUEUE })], [repo('app', 'team/app')]);
    h.events.start();
    await until(() => h.queues.length === 1);
    const before = await counter('own_call');
    const handle = h.queues[0]!.push(f.apiCall('PutLifecyclePolicy', { repositoryName: 'team/app' }, { arn: f.OPERATOR_ARN }));
    await until(() => h.queues[0]!.deleted.includes(handle));
    expect(h.enqueued).toEqual([]);
    expect(await counter('own_call')).toBe(before + 1);
  });

  it('malformed and unknown events are counted and deleted, never retried', async () => {
    const h = harness([provider('a', { queue: QUEUE })], [repo('app', 'team/app')]);
    h.events.start();
    await until(() => h.queues.length === 1);
    const malformed = await counter('malformed');
    const unknown = await counter('unknown');
    const q = h.queues[0]!;
    const handles = [q.push('not json'), q.push({ ...f.imagePush, 'detail-type': 'ECR Something New' })];
    await until(() => handles.every((x) => q.deleted.includes(x)));
    expect(await counter('malformed')).toBe(malformed + 1);
    expect(await counter('unknown')).toBe(unknown + 1);
    expect(h.enqueued).toEqual([]);
  });

  it('registry-level changes queue the account-wide objects of that registry only', async () => {
    const h = harness([provider('a', { queue: QUEUE }), provider('x', { namespace: 'elsewhere', account: '210987654321' })], [], [
      { metadata: { name: 'mine' }, spec: { providerRef: { namespace: 'team', name: 'a' } } },
      { metadata: { name: 'theirs' }, spec: { providerRef: { namespace: 'elsewhere', name: 'x' } } },
    ]);
    h.events.start();
    await until(() => h.queues.length === 1);
    const handle = h.queues[0]!.push(f.apiCall('PutRegistryPolicy', { policyText: '{}' }));
    await until(() => h.queues[0]!.deleted.includes(handle));
    expect(h.registryEnqueued).toEqual([{ key: { namespace: '', name: 'mine' }, priority: 'high' }]);
  });

  it('a message whose keys cannot be queued (controllers not running) is kept for later', async () => {
    const h = harness([provider('a', { queue: QUEUE })], [repo('app', 'team/app')]);
    h.controllersRun = false;
    h.events.start();
    await until(() => h.queues.length === 1);
    const q = h.queues[0]!;
    const handle = q.push(f.imagePush);
    await until(() => q.inFlight.has(handle));
    await new Promise((r) => setTimeout(r, 50));
    expect(q.deleted).not.toContain(handle);
  });
});

describe('formatDuration', () => {
  it('writes durations as the flags take them', () => {
    expect(formatDuration(6 * 3_600_000)).toBe('6h0m0s');
    expect(formatDuration(600_000)).toBe('10m0s');
    expect(formatDuration(45_000)).toBe('45s');
  });
});
