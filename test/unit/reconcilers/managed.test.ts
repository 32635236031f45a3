import { beforeEach, describe, expect, it } from 'vitest';
import type { Condition } from '../../../src/api/types.js';
import type { ResourceRef } from '../../../src/runtime/kube.js';
import { ManagedReconciler, type ExternalClient, type ManagedObject, type ManagedStatus, type Observation } from '../../../src/reconcilers/managed.js';
import { FakeApiServer, FakeEvents, FakeWriter, silentLogger, Store } from './fakes.js';

// The generic lifecycle with a toy kind whose "external resource" is a counter.

interface ToyStatus extends ManagedStatus {
  value?: number;
  preview?: string;
}
type Toy = ManagedObject<ToyStatus> & { spec: { value: number; limit: number } };

const REF: ResourceRef = { group: 'example.com', version: 'v1', plural: 'toys' };
const key = { namespace: 'ns', name: 'toy' };

let external: { value: number | undefined; updates: number };
let writer: FakeWriter;
let events: FakeEvents;
let toys: Store<Toy>;
let reconciler: ManagedReconciler<Toy, ToyStatus>;

/** Applies spec.value when it is at most spec.limit; holds it back otherwise and says so. */
class ToyClient implements ExternalClient<Toy, ToyStatus> {
  async observe(obj: Toy): Promise<Observation<ToyStatus>> {
    if (external.value === undefined) return { exists: false, upToDate: false, status: {}, message: '' };
    return this.compare(obj);
  }
  private compare(obj: Toy): Observation<ToyStatus> {
    const held = obj.spec.value > obj.spec.limit;
    const observation: Observation<ToyStatus> = {
      exists: true,
      upToDate: held || external.value === obj.spec.value,
      status: { value: external.value ?? 0, preview: `would set ${obj.spec.value}` },
      message: 'in place',
    };
    if (!observation.upToDate) observation.event = { reason: 'Preview', message: `about to set ${obj.spec.value}` };
    if (held) observation.heldBack = { reason: 'OverLimit', message: `${obj.spec.value} is over the limit ${obj.spec.limit}` };
    return observation;
  }
  async create(obj: Toy) {
    external.value = 0;
    return { status: { value: 0 }, observation: this.compare(obj), event: { reason: 'Created', message: 'created' } };
  }
  async update(obj: Toy) {
    external.value = obj.spec.value;
    external.updates++;
    return { status: { value: obj.spec.value }, event: { reason: 'Updated', message: `set ${obj.spec.value}` } };
  }
  async delete() {
    return { done: true as const };
  }
}

beforeEach(() => {
  external = { value: undefined, updates: 0 };
  const server = new FakeApiServer();
  writer = new FakeWriter(server);
  events = new FakeEvents();
  toys = new Store<Toy>(REF, server);
  reconciler = new ManagedReconciler<Toy, ToyStatus>({
    name: 'toy', ref: REF, finalizer: 'example.com/finalizer', objects: toys,
    connect: () => new ToyClient(),
    userDriven: () => true,
    classify: () => undefined,
  }, { writer, events, logger: silentLogger, clock: () => new Date('2026-11-23T10:00:00Z') });
});

function toy(value: number, limit: number, generation = 1): Toy {
  return { apiVersion: 'example.com/v1', kind: 'Toy', metadata: { namespace: 'ns', name: 'toy', generation }, spec: { value, limit } };
}

function conditions(): Condition[] {
  return writer.last().conditions as Condition[];
}

describe('managed reconciler: part of the spec held back', () => {
  it('records the status fields with Ready=False and Stalled, retries with the stall backoff, and tells once', async () => {
    external.value = 1;
    toys.put(toy(9, 5));
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: 30_000 });
    expect(external.updates).toBe(0);
    expect(writer.last()).toMatchObject({ ready: false, message: '9 is over the limit 5', value: 1, preview: 'would set 9', observedGeneration: 1 });
    expect(conditions().find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'OverLimit' });
    expect(conditions().find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'OverLimit' });
    toys.watch();
    expect(await reconciler.reconcile(key)).toEqual({ requeueAfterMs: 60_000 });
    expect(events.events).toEqual([{ type: 'Warning', reason: 'OverLimit', message: '9 is over the limit 5' }]);

    // A new generation within the limit is applied, and the stall is over.
    toys.watch();
    toys.put(toy(4, 5, 2));
    expect(await reconciler.reconcile(key)).toEqual({});
    expect(external.value).toBe(4);
    expect(conditions().find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(conditions().find((c) => c.type === 'Stalled')).toBeUndefined();
    expect(events.events.slice(1).map((e) => e.reason)).toEqual(['Preview', 'Updated']);
  });

  it('tells the Event of the observation that creating returned, before the update', async () => {
    toys.put(toy(3, 5));
    expect(await reconciler.reconcile(key)).toEqual({});
    expect(events.events.map((e) => e.reason)).toEqual(['Created', 'Preview', 'Updated']);
    expect(writer.last()).toMatchObject({ ready: true, value: 3 });
  });
});
