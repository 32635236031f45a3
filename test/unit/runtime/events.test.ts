import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../../src/runtime/events.js';
import { KubeApiError } from '../../../src/runtime/kube.js';
import type { KubeObject } from '../../../src/runtime/types.js';
import { FakeClock, captureLogger } from './helpers.js';

interface Call { method: 'post' | 'patch'; path: string; body: Record<string, unknown> }

class FakeEventsApi {
  readonly calls: Call[] = [];
  readonly events = new Map<string, Record<string, unknown>>();
  failWith?: Error;
  async post<T>(path: string, body: unknown): Promise<T> {
    this.calls.push({ method: 'post', path, body: body as Record<string, unknown> });
    if (this.failWith) throw this.failWith;
    const e = body as { metadata: { name: string } };
    this.events.set(e.metadata.name, structuredClone(body) as Record<string, unknown>);
    return body as T;
  }
  async patch<T>(path: string, body: unknown): Promise<T> {
    this.calls.push({ method: 'patch', path, body: body as Record<string, unknown> });
    if (this.failWith) throw this.failWith;
    const name = decodeURIComponent(path.split('/').pop() ?? '');
    const existing = this.events.get(name);
    if (!existing) throw new KubeApiError(404, 'not found', 'NotFound');
    Object.assign(existing, body);
    return existing as T;
  }
}

const repo: KubeObject = {
  apiVersion: 'example.com/v1',
  kind: 'Thing',
  metadata: { namespace: 'team', name: 'web', uid: 'u-1', resourceVersion: '7' },
};

function setup(opts: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}) {
  const api = new FakeEventsApi();
  const clock = new FakeClock();
  const { logger } = captureLogger();
  const recorder = new EventRecorder({ client: api, component: 'infra-operator', logger, clock, instance: 'pod-1', ...opts });
  return { api, clock, recorder };
}

describe('EventRecorder', () => {
  it('creates a core/v1 Event that points at the object', async () => {
    const { api, recorder } = setup();
    recorder.record(repo, 'Normal', 'Created', 'created repository web');
    await recorder.flush();
    expect(api.calls).toHaveLength(1);
    const call = api.calls[0]!;
    expect(call.method).toBe('post');
    expect(call.path).toBe('/api/v1/namespaces/team/events');
    expect(call.body).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace: 'team' },
      involvedObject: { apiVersion: 'example.com/v1', kind: 'Thing', name: 'web', namespace: 'team', uid: 'u-1' },
      type: 'Normal',
      reason: 'Created',
      message: 'created repository web',
      count: 1,
      source: { component: 'infra-operator' },
      reportingComponent: 'infra-operator',
    });
    expect(String((call.body.metadata as { name: string }).name)).toMatch(/^web\.[0-9a-f]+$/);
    expect(call.body.firstTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('aggregates repeats into count/lastTimestamp patches of the same Event', async () => {
    const { api, recorder, clock } = setup();
    recorder.record(repo, 'Warning', 'AccessDenied', 'denied');
    await recorder.flush();
    await clock.advance(5_000);
    recorder.record(repo, 'Warning', 'AccessDenied', 'denied');
    await recorder.flush();
    expect(api.calls.map((c) => c.method)).toEqual(['post', 'patch']);
    const name = (api.calls[0]!.body.metadata as { name: string }).name;
    expect(api.calls[1]!.path).toBe(`/api/v1/namespaces/team/events/${name}`);
    expect(api.calls[1]!.body).toMatchObject({ count: 2 });
    expect(api.calls[1]!.body.lastTimestamp).not.toBe(api.calls[0]!.body.lastTimestamp);
    // A different message is a different Event.
    recorder.record(repo, 'Warning', 'AccessDenied', 'denied again, differently');
    await recorder.flush();
    expect(api.calls.map((c) => c.method)).toEqual(['post', 'patch', 'post']);
  });

  it('folds repeats that arrive while a write is in flight into one write', async () => {
    const { api, recorder } = setup();
    for (let i = 0; i < 5; i++) recorder.record(repo, 'Warning', 'Throttled', 'slow down');
    await recorder.flush();
    expect(api.calls).toHaveLength(1);
    expect(api.calls[0]!.body.count).toBe(5);
  });

  it('starts a new Event after the aggregation window, or when the old one expired', async () => {
    const { api, recorder, clock } = setup({ aggregateWindowMs: 60_000 });
    recorder.record(repo, 'Normal', 'Synced', 'ok');
    await recorder.flush();
    await clock.advance(61_000);
    recorder.record(repo, 'Normal', 'Synced', 'ok');
    await recorder.flush();
    expect(api.calls.map((c) => c.method)).toEqual(['post', 'post']);
    api.events.clear();
    await clock.advance(1_000);
    recorder.record(repo, 'Normal', 'Synced', 'ok');
    await recorder.flush();
    expect(api.calls.map((c) => c.method)).toEqual(['post', 'post', 'patch', 'post']);
  });

  it('rate-limits per object so that a retry loop cannot flood', async () => {
    const { api, recorder, clock } = setup({ burst: 3, refillEveryMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      recorder.record(repo, 'Warning', 'Failed', `attempt ${i}`);
      await recorder.flush();
    }
    expect(api.calls).toHaveLength(3);
    // Another object has its own bucket.
    recorder.record({ ...repo, metadata: { ...repo.metadata, uid: 'u-2', name: 'api' } }, 'Warning', 'Failed', 'x');
    await recorder.flush();
    expect(api.calls).toHaveLength(4);
    await clock.advance(60_000);
    recorder.record(repo, 'Warning', 'Failed', 'after refill');
    await recorder.flush();
    expect(api.calls).toHaveLength(5);
  });

  it('never throws, whatever the API server or the object', async () => {
    const { api, recorder } = setup();
    api.failWith = new Error('connection refused');
    expect(() => recorder.record(repo, 'Warning', 'Failed', 'x')).not.toThrow();
    expect(() => recorder.record({}, 'Warning', 'Failed', 'x')).not.toThrow();
    await recorder.flush();
    api.failWith = undefined;
    recorder.record(repo, 'Warning', 'Failed', 'x');
    await recorder.flush();
    // The failed create is retried as a create, not as a patch of a missing Event.
    expect(api.calls.map((c) => c.method)).toEqual(['post', 'post']);
  });

  it('flush() waits for writes of Events already evicted from its memory', async () => {
    const { api, recorder } = setup({ maxEntries: 1 });
    const slow = api.post.bind(api);
    let delay = 50;
    api.post = async <T>(path: string, body: unknown): Promise<T> => {
      const wait = delay;
      delay = 0;
      await new Promise((r) => setTimeout(r, wait));
      return slow<T>(path, body);
    };
    recorder.record(repo, 'Warning', 'First', 'slow to write');
    // A second Event pushes the first one's aggregate out of the bounded map while it is in flight.
    recorder.record({ ...repo, metadata: { ...repo.metadata, uid: 'u-2', name: 'api' } }, 'Normal', 'Second', 'quick');
    await recorder.flush();
    expect([...api.events.values()].map((e) => e.reason).sort()).toEqual(['First', 'Second']);
  });
});
