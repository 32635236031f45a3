import { describe, expect, it } from 'vitest';
import { reconcileErrors, reconcileTotal, registry, workqueueDepth } from '../../../src/observability/metrics.js';
import { AccountLimiter } from '../../../src/aws/ratelimit.js';
import { clientRateLimited } from '../../../src/aws/errors.js';
import { ADOPT_ANNOTATION, Controller, defaultPredicate, retryAfterOf } from '../../../src/runtime/controller.js';
import type { InformerEvent } from '../../../src/runtime/informer.js';
import { keyOf, keyString, type KubeObject, type ObjectKey, type ReconcileResult } from '../../../src/runtime/types.js';
import { FakeClock, captureLogger, deferred, flush, metricValue } from './helpers.js';

function obj(name: string, meta: Partial<NonNullable<KubeObject['metadata']>> = {}, status?: unknown): KubeObject {
  return { metadata: { namespace: 'ns', name, uid: `uid-${name}`, generation: 1, resourceVersion: '1', ...meta }, ...(status ? { status } : {}) };
}

describe('defaultPredicate', () => {
  const base = obj('a', { annotations: { x: '1' }, finalizers: ['f'] }, { ready: false });
  it('passes ADDED and DELETED', () => {
    expect(defaultPredicate(undefined, base, 'ADDED')).toBe(true);
    expect(defaultPredicate(base, base, 'DELETED')).toBe(true);
    expect(defaultPredicate(undefined, base)).toBe(true);
  });
  it('passes a new generation, a deletion timestamp, finalizer changes, force-sync and a new uid', () => {
    const m = (meta: Partial<NonNullable<KubeObject['metadata']>>) => ({ ...base, metadata: { ...base.metadata, resourceVersion: '2', ...meta } });
    expect(defaultPredicate(base, m({ generation: 2 }), 'MODIFIED')).toBe(true);
    expect(defaultPredicate(base, m({ deletionTimestamp: '2024-01-01T00:00:00Z' }), 'MODIFIED')).toBe(true);
    expect(defaultPredicate(base, m({ finalizers: [] }), 'MODIFIED')).toBe(true);
    expect(defaultPredicate(base, m({ finalizers: ['g'] }), 'MODIFIED')).toBe(true);
    // Adding a finalizer (the echo of our own write) asks for no work.
    expect(defaultPredicate(base, m({ finalizers: ['f', 'g'] }), 'MODIFIED')).toBe(false);
    expect(defaultPredicate(base, m({ annotations: { x: '1', 'force-sync': '123' } }), 'MODIFIED')).toBe(true);
    const synced = m({ annotations: { 'force-sync': '123' } });
    expect(defaultPredicate(synced, { ...synced, metadata: { ...synced.metadata, annotations: { 'force-sync': '124' } } }, 'MODIFIED')).toBe(true);
    expect(defaultPredicate(base, m({ uid: 'other' }), 'MODIFIED')).toBe(true);
  });
  it('passes setting, changing and removing the adopt annotation', () => {
    const m = (annotations: Record<string, string>) => ({ ...base, metadata: { ...base.metadata, resourceVersion: '2', annotations } });
    expect(ADOPT_ANNOTATION).toBe('aws-infra-operator.runner.codes/adopt');
    const adopting = m({ x: '1', [ADOPT_ANNOTATION]: 'true' });
    expect(defaultPredicate(base, adopting, 'MODIFIED')).toBe(true);
    expect(defaultPredicate(adopting, m({ x: '1', [ADOPT_ANNOTATION]: 'false' }), 'MODIFIED')).toBe(true);
    expect(defaultPredicate(adopting, m({ x: '1' }), 'MODIFIED')).toBe(true);
    expect(defaultPredicate(adopting, m({ x: '2', [ADOPT_ANNOTATION]: 'true' }), 'MODIFIED')).toBe(false);
  });
  it('drops status-only and other metadata updates', () => {
    expect(defaultPredicate(base, { ...base, metadata: { ...base.metadata, resourceVersion: '2' }, status: { ready: true } }, 'MODIFIED')).toBe(false);
    expect(defaultPredicate(base, { ...base, metadata: { ...base.metadata, resourceVersion: '3', labels: { a: 'b' }, annotations: { x: '2' } } }, 'MODIFIED')).toBe(false);
  });
});

class FakeInformer {
  private readonly handlers = new Set<(e: InformerEvent<KubeObject>) => void>();
  readonly objects = new Map<string, KubeObject>();
  onEvent(h: (e: InformerEvent<KubeObject>) => void): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }
  list(): KubeObject[] {
    return [...this.objects.values()];
  }
  emit(type: InformerEvent<KubeObject>['type'], object: KubeObject): void {
    const key = keyString(keyOf(object));
    const old = this.objects.get(key);
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, object);
    for (const h of this.handlers) h({ type, object, old });
  }
}

let n = 0;
function setup(opts: { concurrency?: number; resyncPeriodMs?: number; reconcile?: (k: ObjectKey) => Promise<ReconcileResult>; clock?: FakeClock } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const informer = new FakeInformer();
  const calls: string[] = [];
  const { logger, lines } = captureLogger();
  const name = `ctrl-test-${++n}`;
  const controller = new Controller({
    name,
    informer,
    logger,
    concurrency: opts.concurrency ?? 1,
    resyncPeriodMs: opts.resyncPeriodMs ?? 0,
    clock,
    random: () => 0.5,
    reconcile: async (k) => {
      calls.push(keyString(k));
      return opts.reconcile ? opts.reconcile(k) : {};
    },
  });
  return { clock, informer, calls, controller, lines, name };
}

describe('Controller', () => {
  it('reconciles added objects once and ignores status-only updates; spec changes reconcile again', async () => {
    const { informer, calls, controller, lines, name } = setup();
    const a = obj('a');
    informer.emit('ADDED', a);
    controller.start();
    await flush();
    expect(calls).toEqual(['ns/a']);
    informer.emit('MODIFIED', { ...a, metadata: { ...a.metadata, resourceVersion: '2' }, status: { ready: true } });
    await flush();
    expect(calls).toEqual(['ns/a']);
    informer.emit('MODIFIED', { ...a, metadata: { ...a.metadata, resourceVersion: '3', generation: 2 } });
    await flush();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    informer.emit('DELETED', a);
    await flush();
    expect(calls).toHaveLength(3);
    expect(await metricValue(reconcileTotal, { controller: name, result: 'success' })).toBe(3);
    const line = lines().find((l) => l.msg === 'reconciled');
    expect(line).toMatchObject({ controller: name, namespace: 'ns', name: 'a', result: 'success' });
    expect(typeof line?.durationMs).toBe('number');
    await controller.stop(1_000);
  });

  it('holds no work queue before start (a standby replica); start runs a full pass over the cache', async () => {
    const { informer, calls, controller, name } = setup();
    informer.objects.set('ns/pre', obj('pre'));
    informer.emit('ADDED', obj('b'));
    await flush();
    expect(calls).toEqual([]);
    expect(controller.queue).toBeUndefined();
    // No queue was ever made under this controller's name: no workqueue series exists for it.
    expect(await registry.metrics()).not.toContain(`workqueue_depth{name="${name}"}`);
    controller.start();
    expect(controller.queue).toBeDefined();
    await flush();
    expect(calls.sort()).toEqual(['ns/b', 'ns/pre']);
    await controller.stop(1_000);
  });

  it('starts its controller_runtime series at zero, before any reconcile', async () => {
    const { name } = setup();
    const text = await registry.metrics();
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(text).toContain(`controller_runtime_reconcile_total{controller="${name}",result="${result}"} 0`);
    }
    expect(text).toContain(`controller_runtime_reconcile_errors_total{controller="${name}"} 0`);
    expect(text).toContain(`controller_runtime_active_workers{controller="${name}"} 0`);
    expect(text).toContain(`controller_runtime_max_concurrent_reconciles{controller="${name}"} 1`);
  });

  it("reconciles a user's change ahead of the start pass, resyncs and retries", async () => {
    let gate: ReturnType<typeof deferred<void>> | undefined = deferred<void>();
    const { informer, calls, controller, clock } = setup({
      resyncPeriodMs: 60_000,
      reconcile: async (k) => {
        const blocking = gate;
        gate = undefined;
        await blocking?.promise;
        if (k.name === 'failing') throw new Error('boom');
        return {};
      },
    });
    for (const x of ['a', 'b', 'c', 'failing']) informer.objects.set(`ns/${x}`, obj(x));
    const firstGate = gate!;
    controller.start();
    await flush();
    expect(calls).toEqual(['ns/a']);
    // While the one worker is busy: a user creates one object and changes the spec of another.
    informer.emit('ADDED', obj('new'));
    informer.emit('MODIFIED', obj('c', { generation: 2, resourceVersion: '2' }));
    expect(controller.queue?.priorityOf('ns/c')).toBe('high');
    expect(controller.queue?.priorityOf('ns/b')).toBe('low');
    firstGate.resolve();
    await flush();
    expect(calls.slice(0, 3)).toEqual(['ns/a', 'ns/new', 'ns/c']);
    expect(calls.slice(3).sort()).toEqual(['ns/b', 'ns/failing']);

    // The periodic resync queues every object at low priority, and so does the failing key's retry;
    // a user's change made meanwhile goes first.
    calls.length = 0;
    const resyncGate = deferred<void>();
    gate = resyncGate;
    await clock.advance(60_000 + 60_000 * 0.1);
    expect(calls).toHaveLength(1);
    const waiting = ['ns/a', 'ns/b', 'ns/c', 'ns/new', 'ns/failing'].filter((k) => k !== calls[0]);
    for (const k of waiting) expect(controller.queue?.priorityOf(k), k).toBe('low');
    const user = waiting[waiting.length - 1]!;
    informer.emit('MODIFIED', obj(user.slice(3), { generation: 5, resourceVersion: '9' }));
    expect(controller.queue?.priorityOf(user)).toBe('high');
    resyncGate.resolve();
    await flush();
    expect(calls[1]).toBe(user);
    await controller.stop(1_000);
  });

  it('retries a failing key with backoff (5 ms, 10 ms, ...) and forgets the backoff after success', async () => {
    let failures = 2;
    const { informer, calls, controller, clock, lines, name } = setup({
      reconcile: async () => {
        if (failures-- > 0) throw new Error('boom');
        return {};
      },
    });
    controller.start();
    informer.emit('ADDED', obj('a'));
    await flush();
    expect(calls).toHaveLength(1);
    await clock.advance(4);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    await clock.advance(9);
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls).toHaveLength(3);
    expect(controller.queue?.numRequeues('ns/a')).toBe(0);
    expect(await metricValue(reconcileErrors, { controller: name })).toBe(2);
    expect(await metricValue(reconcileTotal, { controller: name, result: 'error' })).toBe(2);
    const err = lines().find((l) => l.result === 'error');
    expect(err).toMatchObject({ controller: name, namespace: 'ns', name: 'a', err: 'boom' });
    await controller.stop(1_000);
  });

  it("retries a user's failed change at high priority, ahead of the start pass's keys", async () => {
    let fail = true;
    const clock = new FakeClock();
    const { informer, calls, controller } = setup({
      clock,
      reconcile: async (k) => {
        // Each reconcile takes 1 ms of the fake clock.
        await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 1));
        if (k.name === 'new' && fail) {
          fail = false;
          throw new Error('Rate exceeded');
        }
        return {};
      },
    });
    for (let i = 0; i < 200; i++) informer.objects.set(`ns/old-${i}`, obj(`old-${i}`));
    controller.start();
    await flush();
    // While the worker is on the first key of the start pass, the user creates an object.
    informer.emit('ADDED', obj('new'));
    await clock.advance(300);
    expect(calls).toHaveLength(202);
    expect(calls[1]).toBe('ns/new');
    // Failed, retried after its 5 ms backoff with the next free worker: not behind the 200 resync keys.
    const retry = calls.indexOf('ns/new', 2);
    expect(retry).toBeGreaterThan(1);
    expect(retry).toBeLessThanOrEqual(1 + 1 + 5 + 1);
    await controller.stop(1_000);
  });

  it('requeues after requeueAfterMs', async () => {
    const { informer, calls, controller, clock, name, lines } = setup({ reconcile: async () => ({ requeueAfterMs: 30_000 }) });
    controller.start();
    informer.emit('ADDED', obj('a'));
    await flush();
    expect(calls).toHaveLength(1);
    await clock.advance(29_999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(await metricValue(reconcileTotal, { controller: name, result: 'requeue_after' })).toBe(2);
    expect(lines().find((l) => l.msg === 'reconciled')?.result).toBe('requeue');
    await controller.stop(1_000);
  });

  it('never reconciles one key twice at once; an event during a reconcile runs it again afterwards', async () => {
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    let running = 0;
    let maxRunning = 0;
    const { informer, calls, controller } = setup({
      concurrency: 4,
      reconcile: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        const gate = deferred<void>();
        gates.push(gate);
        await gate.promise;
        running--;
        return {};
      },
    });
    controller.start();
    const a = obj('a');
    informer.emit('ADDED', a);
    await flush();
    informer.emit('MODIFIED', { ...a, metadata: { ...a.metadata, generation: 2, resourceVersion: '2' } });
    informer.emit('MODIFIED', { ...a, metadata: { ...a.metadata, generation: 3, resourceVersion: '3' } });
    await flush();
    expect(calls).toEqual(['ns/a']);
    gates[0]?.resolve();
    await flush();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    gates[1]?.resolve();
    await flush();
    expect(calls).toHaveLength(2);
    expect(maxRunning).toBe(1);
    await controller.stop(1_000);
  });

  it('runs different keys in parallel up to the concurrency', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const { informer, controller } = setup({
      concurrency: 2,
      reconcile: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await gate.promise;
        running--;
        return {};
      },
    });
    controller.start();
    for (const x of ['a', 'b', 'c']) informer.emit('ADDED', obj(x));
    await flush();
    expect(running).toBe(2);
    gate.resolve();
    await flush();
    expect(maxRunning).toBe(2);
    await controller.stop(1_000);
  });

  it('resyncs every cached object each period, spread over part of it', async () => {
    const { informer, calls, controller, clock, name } = setup({ resyncPeriodMs: 60_000 });
    informer.emit('ADDED', obj('a'));
    informer.emit('ADDED', obj('b'));
    controller.start();
    await flush();
    expect(calls).toHaveLength(2);
    await clock.advance(60_000);
    // random() = 0.5: each key waits half the 10 % spread (3 s) after the tick.
    expect(calls).toHaveLength(2);
    expect(await metricValue(workqueueDepth, { name })).toBe(0);
    await clock.advance(3_000);
    expect(calls).toHaveLength(4);
    await clock.advance(63_000);
    expect(calls).toHaveLength(6);
    await controller.stop(1_000);
  });

  it('stop() stops dequeuing and waits for in-flight reconciles up to the bound', async () => {
    const gate = deferred();
    const { informer, calls, controller, clock } = setup({
      reconcile: async () => {
        await gate.promise;
        return {};
      },
    });
    controller.start();
    informer.emit('ADDED', obj('a'));
    informer.emit('ADDED', obj('b'));
    await flush();
    let stopped = false;
    void controller.stop(10_000).then(() => (stopped = true));
    await clock.advance(5_000);
    expect(stopped).toBe(false);
    gate.resolve();
    await flush();
    expect(stopped).toBe(true);
    // 'b' was queued, not started: dropped.
    expect(calls).toEqual(['ns/a']);
    informer.emit('ADDED', obj('c'));
    await flush();
    expect(calls).toEqual(['ns/a']);

    const stuck = setup({ reconcile: () => new Promise<ReconcileResult>(() => undefined) });
    stuck.controller.start();
    stuck.informer.emit('ADDED', obj('x'));
    await flush();
    let done = false;
    void stuck.controller.stop(2_000).then(() => (done = true));
    await stuck.clock.advance(1_999);
    expect(done).toBe(false);
    await stuck.clock.advance(1);
    expect(done).toBe(true);
  });

  it('maps secondary objects to primary keys (old and new on MODIFIED)', async () => {
    const clock = new FakeClock();
    const primary = new FakeInformer();
    const secondary = new FakeInformer();
    const calls: string[] = [];
    const { logger } = captureLogger();
    const controller = new Controller({
      name: `ctrl-test-${++n}`,
      informer: primary,
      logger,
      concurrency: 1,
      resyncPeriodMs: 0,
      clock,
      reconcile: async (k) => {
        calls.push(keyString(k));
        return {};
      },
      secondary: [{ informer: secondary, map: (o) => [{ namespace: 'ns', name: String(o.metadata?.labels?.owner) }] }],
    });
    controller.start();
    const s = obj('secret', { labels: { owner: 'a' } });
    secondary.emit('ADDED', s);
    await flush();
    expect(calls).toEqual(['ns/a']);
    // A status-only change of a dependency still counts (no generation filter on secondaries).
    secondary.emit('MODIFIED', { ...s, metadata: { ...s.metadata, labels: { owner: 'b' } } });
    await flush();
    expect(calls.sort()).toEqual(['ns/a', 'ns/a', 'ns/b']);
    await controller.stop(1_000);
  });
});

/** What a reconcile throws when a budget shared with other keys is spent: it names the time to come back. */
function budgetSpent(retryAfterMs: number): Error {
  return Object.assign(new Error('not sent yet: the request budget is in use'), { retryAfterMs });
}

describe('Controller: a spent rate budget is no failure', () => {
  it('retryAfterOf finds the retry time on the error or on its causes, and nothing on other errors', () => {
    expect(retryAfterOf(budgetSpent(700))).toBe(700);
    expect(retryAfterOf(new Error('wrapped', { cause: new Error('again', { cause: budgetSpent(42) }) }))).toBe(42);
    expect(retryAfterOf(clientRateLimited('ECR', 'CreateRepository', 1_250))).toBe(1_250);
    expect(retryAfterOf(new Error('boom'))).toBeUndefined();
    expect(retryAfterOf(Object.assign(new Error('odd'), { retryAfterMs: Number.NaN }))).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: 5 })).toBeUndefined();
    expect(retryAfterOf(undefined)).toBeUndefined();
  });

  it("puts the key back after the budget's time at its own priority, without counting a failure", async () => {
    let spent = true;
    const gate = deferred<void>();
    const { informer, calls, controller, clock, name, lines } = setup({
      reconcile: async (k) => {
        if (k.name === 'user-create' && spent) throw budgetSpent(1_500);
        // The resyncs hold the one worker until the test lets them go.
        if (k.name.startsWith('resync-')) await gate.promise;
        return {};
      },
    });
    controller.start();
    informer.emit('ADDED', obj('user-create'));
    await flush();
    expect(calls).toEqual(['ns/user-create']);
    const queue = controller.queue!;
    expect(queue.numRequeues('ns/user-create')).toBe(0);
    expect(await metricValue(reconcileErrors, { controller: name })).toBe(0);
    expect(await metricValue(reconcileTotal, { controller: name, result: 'requeue_after' })).toBe(1);
    expect(lines().find((l) => l.msg === 'reconcile deferred')).toMatchObject({ name: 'user-create', requeueAfterMs: 1_500, result: 'requeue' });
    spent = false;
    for (let i = 0; i < 1_000; i++) queue.add(`ns/resync-${i}`, 'low');
    // Not after the 5 ms of a failure's backoff: after the time the budget named.
    await clock.advance(1_499);
    expect(queue.priorityOf('ns/user-create')).toBeUndefined();
    await clock.advance(1);
    // Back as the user's change it is, ahead of the 999 resyncs still waiting.
    expect(queue.priorityOf('ns/user-create')).toBe('high');
    gate.resolve();
    await flush();
    expect(calls.slice(0, 3)).toEqual(['ns/user-create', 'ns/resync-0', 'ns/user-create']);
    expect(calls).toHaveLength(1_002);
    expect(await metricValue(reconcileErrors, { controller: name })).toBe(0);
    await controller.stop(1_000);
  });

  it("keeps a failing key's backoff as it was through deferrals", async () => {
    const outcomes: Array<'fail' | 'spent' | 'ok'> = ['fail', 'fail', 'spent', 'fail', 'ok'];
    const { informer, calls, controller, clock } = setup({
      reconcile: async () => {
        const next = outcomes.shift();
        if (next === 'fail') throw new Error('boom');
        if (next === 'spent') throw budgetSpent(1_000);
        return {};
      },
    });
    controller.start();
    informer.emit('ADDED', obj('a'));
    await flush();
    await clock.advance(5);
    await clock.advance(10);
    expect(calls).toHaveLength(3);
    expect(controller.queue?.numRequeues('ns/a')).toBe(2);
    await clock.advance(1_000);
    expect(calls).toHaveLength(4);
    // The deferral neither counted nor forgot: the next failure waits 20 ms, the third step.
    expect(controller.queue?.numRequeues('ns/a')).toBe(3);
    await clock.advance(19);
    expect(calls).toHaveLength(4);
    await clock.advance(1);
    expect(calls).toHaveLength(5);
    await controller.stop(1_000);
  });

  it("one account's spent budget holds no worker: another account's key is reconciled at once", async () => {
    const clock = new FakeClock();
    const sleeps: number[] = [];
    const budget = (rate: number) => new AccountLimiter({
      requestsPerSecond: rate, burst: 1, adaptive: false, clock: () => clock.now(),
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise((resolve) => clock.setTimeout(() => resolve(), ms));
      },
    });
    // Namespace a's objects use an account that allows one call a second; b's another account.
    const accounts = { a: budget(1), b: budget(100) };
    const done: string[] = [];
    const { informer, controller, calls } = setup({
      clock,
      concurrency: 2,
      reconcile: async (k) => {
        const deferral = await accounts[k.namespace as 'a' | 'b'].acquireWithin(250, 'CreateRepository');
        if (deferral) throw clientRateLimited('ECR', 'CreateRepository', deferral.retryAfterMs);
        done.push(`${k.namespace}/${k.name}`);
        return {};
      },
    });
    controller.start();
    for (let i = 0; i < 50; i++) informer.emit('ADDED', obj(`repo-${i}`, { namespace: 'a' }));
    informer.emit('ADDED', obj('repo-0', { namespace: 'b' }));
    await flush();
    // Every key was tried once without the clock moving: no worker slept on a's budget.
    expect(calls).toHaveLength(51);
    expect(sleeps).toEqual([]);
    expect(done).toEqual(['a/repo-0', 'b/repo-0']);
    // a's keys come back one a second, each finding its token.
    await clock.advance(10_000);
    expect(done.filter((k) => k.startsWith('a/'))).toHaveLength(11);
    expect(sleeps).toEqual([]);
    await controller.stop(1_000);
  });
});
