import { describe, expect, it } from 'vitest';
import { registry, workqueueAdds, workqueueDepth, workqueueRetries } from '../../../src/observability/metrics.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';
import { FakeClock, flush, metricValue } from './helpers.js';

let n = 0;
function queue(opts: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}) {
  const clock = new FakeClock();
  const q = new WorkQueue({ name: `wq-test-${++n}`, clock, ...opts });
  return { q, clock, name: q.name };
}

describe('WorkQueue', () => {
  it('ignores adds of a key that is already queued', async () => {
    const { q, name } = queue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.len()).toBe(2);
    expect(await metricValue(workqueueAdds, { name })).toBe(2);
    expect(await metricValue(workqueueDepth, { name })).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(await metricValue(workqueueDepth, { name })).toBe(0);
    q.shutDown();
  });

  it('never hands a key to a second worker; a re-add while processing is queued again on done', async () => {
    const { q } = queue();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await flush();
    expect(second).toBeUndefined();
    q.done('a');
    await flush();
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
    q.shutDown();
  });

  it('hands a key to a worker that is already waiting', async () => {
    const { q } = queue();
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
    q.shutDown();
  });

  it('backs off per key from 5 ms, doubling, capped; forget resets', () => {
    const { q } = queue({ maxDelayMs: 100, burst: 1000 });
    const delays = Array.from({ length: 8 }, () => q.when('k'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 100, 100, 100]);
    expect(q.when('other')).toBe(5);
    q.forget('k');
    expect(q.when('k')).toBe(5);
    q.shutDown();
  });

  it('uses client-go defaults: 5 ms base, cap at 1000 s', () => {
    const { q } = queue({ burst: 1000 });
    let d = 0;
    for (let i = 0; i < 30; i++) d = q.when('k');
    expect(d).toBe(1_000_000);
    q.shutDown();
  });

  it('max-es the per-key backoff with an overall token bucket', async () => {
    const { q, clock } = queue({ baseDelayMs: 0, qps: 10, burst: 2 });
    expect(q.when('a')).toBe(0);
    expect(q.when('b')).toBe(0);
    expect(q.when('c')).toBeCloseTo(100);
    expect(q.when('d')).toBeCloseTo(200);
    await clock.advance(1_000);
    // 10 tokens earned, 2 owed, capped by the burst of 2.
    expect(q.when('e')).toBe(0);
    expect(q.when('f')).toBe(0);
    expect(q.when('g')).toBeCloseTo(100);
    q.shutDown();
  });

  it('addRateLimited adds after the backoff and counts a retry', async () => {
    const { q, clock, name } = queue();
    q.addRateLimited('k');
    expect(await metricValue(workqueueRetries, { name })).toBe(1);
    await clock.advance(4);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('k');
    q.done('k');
    q.addRateLimited('k');
    await clock.advance(9);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    q.shutDown();
  });

  it('addAfter keeps the earlier of two delays and adds at once for ms <= 0', async () => {
    const { q, clock } = queue();
    q.addAfter('k', 100);
    q.addAfter('k', 500);
    q.addAfter('k', 50);
    await clock.advance(49);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    await clock.advance(1_000);
    expect(q.len()).toBe(1);
    q.addAfter('now', 0);
    expect(q.len()).toBe(2);
    q.shutDown();
  });

  it('shutDown wakes waiting workers with undefined and ignores later adds', async () => {
    const { q, clock } = queue();
    const waiting = q.get();
    q.addAfter('later', 10);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('x');
    await clock.advance(100);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(clock.pending()).toBe(0);
  });

  it('shutDownWithDrain waits for keys in process, up to the bound', async () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    await q.get();
    let drained: boolean | undefined;
    void q.shutDownWithDrain(1_000).then((d) => (drained = d));
    await flush();
    expect(drained).toBeUndefined();
    q.done('a');
    await flush();
    expect(drained).toBe(true);

    const other = queue();
    other.q.add('c');
    await other.q.get();
    let result: boolean | undefined;
    void other.q.shutDownWithDrain(1_000).then((d) => (result = d));
    await other.clock.advance(999);
    expect(result).toBeUndefined();
    await other.clock.advance(1);
    expect(result).toBe(false);
  });

  it('starts every workqueue series of its name at zero', async () => {
    const { q, name } = queue();
    const text = await registry.metrics();
    for (const metric of ['workqueue_depth', 'workqueue_adds_total', 'workqueue_retries_total', 'workqueue_unfinished_work_seconds', 'workqueue_longest_running_processor_seconds']) {
      expect(text, metric).toContain(`${metric}{name="${name}"} 0`);
    }
    q.shutDown();
  });
});

describe('WorkQueue priorities', () => {
  it('hands out high-priority keys before low-priority ones, each in the order added', async () => {
    const { q } = queue();
    q.add('resync-1', 'low');
    q.add('resync-2', 'low');
    q.add('user-1', 'high');
    q.add('user-2');
    const order = [];
    for (let i = 0; i < 4; i++) order.push(await q.get());
    expect(order).toEqual(['user-1', 'user-2', 'resync-1', 'resync-2']);
    q.shutDown();
  });

  it('serves a new key before 10,000 queued resync keys, and then the resyncs in order', async () => {
    const { q } = queue();
    for (let i = 0; i < 10_000; i++) q.add(`ns/resync-${i}`, 'low');
    // Workers have taken a few resyncs when the user's apply arrives.
    const first = [await q.get(), await q.get()];
    for (const k of first) q.done(k!);
    q.add('ns/new-repository', 'high');
    expect(await q.get()).toBe('ns/new-repository');
    q.done('ns/new-repository');
    expect(await q.get()).toBe('ns/resync-2');
    expect(q.len()).toBe(9_997);
    q.shutDown();
  });

  it('moves a queued low-priority key up when it is added as high priority, never down', async () => {
    const { q, name } = queue();
    q.add('a', 'low');
    q.add('b', 'low');
    q.add('b', 'high');
    q.add('c', 'high');
    q.add('c', 'low');
    expect(q.len()).toBe(3);
    expect(await metricValue(workqueueAdds, { name })).toBe(3);
    expect(q.priorityOf('b')).toBe('high');
    expect(q.priorityOf('c')).toBe('high');
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['b', 'c', 'a']);
    q.shutDown();
  });

  it('keeps a key re-added as high priority while in process at high priority', async () => {
    const { q } = queue();
    q.add('busy', 'low');
    expect(await q.get()).toBe('busy');
    q.add('busy', 'low');
    q.add('busy', 'high');
    q.add('other', 'low');
    q.done('busy');
    expect(await q.get()).toBe('busy');
    q.shutDown();
  });

  it('never starves low priority: one low key after at most maxHighInARow high ones', async () => {
    const { q } = queue({ maxHighInARow: 3 });
    q.add('low-1', 'low');
    q.add('low-2', 'low');
    let n = 0;
    const handed: string[] = [];
    for (let i = 0; i < 10; i++) {
      // A steady stream of user changes: there is always a high-priority key waiting.
      q.add(`high-${n++}`, 'high');
      q.add(`high-${n++}`, 'high');
      const key = (await q.get())!;
      handed.push(key);
      q.done(key);
    }
    expect(handed.slice(0, 8)).toEqual(['high-0', 'high-1', 'high-2', 'low-1', 'high-3', 'high-4', 'high-5', 'low-2']);
    expect(handed.filter((k) => k.startsWith('low'))).toHaveLength(2);
    q.shutDown();
  });

  it('queues delayed adds, and retries of keys not in process, at low priority, behind a user change', async () => {
    const { q, clock } = queue();
    q.addRateLimited('failed');
    q.addAfter('periodic', 5);
    await clock.advance(5);
    expect(q.priorityOf('failed')).toBe('low');
    expect(q.priorityOf('periodic')).toBe('low');
    q.add('user');
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['user', 'failed', 'periodic']);
    q.shutDown();
  });

  it('a delayed add asked again at high priority fires at high priority', async () => {
    const { q, clock } = queue();
    q.addAfter('k', 50, 'low');
    q.addAfter('k', 100, 'high');
    q.add('other', 'low');
    await clock.advance(50);
    expect(q.priorityOf('k')).toBe('high');
    expect(await q.get()).toBe('k');
    q.shutDown();
  });
});

describe('WorkQueue retries keep their priority', () => {
  it("retries a failed user change ahead of 1,000 queued resync keys, after its backoff", async () => {
    const { q, clock } = queue();
    q.add('ns/user-create', 'high');
    for (let i = 0; i < 1_000; i++) q.add(`ns/resync-${i}`, 'low');
    const key = await q.get();
    expect(key).toBe('ns/user-create');
    // The create is throttled: the queue retries it with its backoff.
    q.addRateLimited(key!);
    q.done(key!);
    expect(q.priorityOf('ns/user-create')).toBeUndefined();
    await clock.advance(5);
    expect(q.priorityOf('ns/user-create')).toBe('high');
    expect(q.len()).toBe(1_001);
    const order: string[] = [];
    for (let i = 0; i < 1_001; i++) {
      const k = (await q.get())!;
      order.push(k);
      q.done(k);
    }
    // First of 1,001 (a retry queued low was last: position 1,001 of 1,001).
    expect(order.indexOf('ns/user-create') + 1).toBe(1);
    expect(order).toHaveLength(1_001);
    q.shutDown();
  });

  it('waits the backoff before a high-priority retry, and keeps low retries low', async () => {
    const { q, clock } = queue();
    q.add('ns/user', 'high');
    q.add('ns/resync', 'low');
    const user = (await q.get())!;
    const resync = (await q.get())!;
    expect([user, resync]).toEqual(['ns/user', 'ns/resync']);
    expect(q.processingPriority('ns/user')).toBe('high');
    expect(q.processingPriority('ns/resync')).toBe('low');
    q.addRateLimited(user);
    q.addRateLimited(resync);
    q.done(user);
    q.done(resync);
    expect(q.processingPriority('ns/user')).toBeUndefined();
    await clock.advance(4);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.priorityOf('ns/user')).toBe('high');
    expect(q.priorityOf('ns/resync')).toBe('low');
    // A second failure of the user's key: still high, after twice the delay.
    expect(await q.get()).toBe('ns/user');
    q.addRateLimited('ns/user');
    q.done('ns/user');
    await clock.advance(9);
    expect(q.priorityOf('ns/user')).toBeUndefined();
    await clock.advance(1);
    expect(q.priorityOf('ns/user')).toBe('high');
    q.shutDown();
  });

  it('a key handed out low and re-added high while in process is retried low and queued high', async () => {
    const { q, clock } = queue();
    q.add('ns/k', 'low');
    expect(await q.get()).toBe('ns/k');
    q.add('ns/k', 'high');
    q.addRateLimited('ns/k');
    q.done('ns/k');
    // The user's re-add is queued high at once; the retry comes later and changes nothing.
    expect(q.priorityOf('ns/k')).toBe('high');
    expect(await q.get()).toBe('ns/k');
    q.done('ns/k');
    await clock.advance(5);
    expect(q.priorityOf('ns/k')).toBe('low');
    q.shutDown();
  });
});

describe('WorkQueue fair shares across namespaces', () => {
  async function handOut(q: WorkQueue, count: number): Promise<string[]> {
    const order: string[] = [];
    for (let i = 0; i < count; i++) {
      const key = (await q.get())!;
      order.push(key);
      q.done(key);
    }
    return order;
  }

  it("hands out namespace B's key within the first two handouts after a burst of 2,000 from A", async () => {
    for (const priority of ['high', 'low'] as const) {
      const { q } = queue();
      for (let i = 0; i < 2_000; i++) q.add(`tenant-a/repo-${i}`, priority);
      q.add('tenant-b/repo-0', priority);
      const first = await handOut(q, 2);
      expect(first, priority).toContain('tenant-b/repo-0');
      expect(q.len()).toBe(1_999);
      q.shutDown();
    }
  });

  it('serves namespaces in turn, each in the order its keys were added; cluster-scoped keys are one more turn', async () => {
    const { q } = queue();
    for (const key of ['a/1', 'a/2', 'a/3', 'b/1', 'cluster-1', 'b/2', 'cluster-2', 'c/1']) q.add(key);
    expect(await handOut(q, 8)).toEqual(['a/1', 'b/1', 'cluster-1', 'c/1', 'a/2', 'b/2', 'cluster-2', 'a/3']);
    q.shutDown();
  });

  it('a namespace that joins later waits at most one handout per namespace already waiting', async () => {
    const { q } = queue();
    for (let i = 0; i < 100; i++) {
      q.add(`a/${i}`);
      q.add(`b/${i}`);
      q.add(`c/${i}`);
    }
    await handOut(q, 10);
    q.add('late/1');
    // Three namespaces wait: one handout each at most, then the newcomer.
    const next = await handOut(q, 4);
    expect(next).toEqual(['b/3', 'c/3', 'a/4', 'late/1']);
    q.shutDown();
  });

  it('keeps priorities above namespaces: every high key of any namespace before a low one (within maxHighInARow)', async () => {
    const { q } = queue({ maxHighInARow: 100 });
    for (let i = 0; i < 5; i++) q.add(`busy/resync-${i}`, 'low');
    q.add('quiet/resync', 'low');
    q.add('busy/user-1', 'high');
    q.add('other/user-1', 'high');
    q.add('busy/user-2', 'high');
    const order = await handOut(q, 5);
    expect(order.slice(0, 3)).toEqual(['busy/user-1', 'other/user-1', 'busy/user-2']);
    expect(order.slice(3)).toEqual(['busy/resync-0', 'quiet/resync']);
    q.shutDown();
  });

  it('moving a key up to high takes it out of its namespace\'s low line; dedup and metrics hold across namespaces', async () => {
    const { q, name } = queue();
    q.add('a/1', 'low');
    q.add('b/1', 'low');
    q.add('a/2', 'low');
    q.add('a/2', 'high');
    q.add('b/1');
    q.add('b/1');
    expect(q.len()).toBe(3);
    expect(await metricValue(workqueueAdds, { name })).toBe(3);
    expect(await metricValue(workqueueDepth, { name })).toBe(3);
    expect(await handOut(q, 3)).toEqual(['a/2', 'b/1', 'a/1']);
    expect(q.len()).toBe(0);
    expect(await metricValue(workqueueDepth, { name })).toBe(0);
    q.shutDown();
  });

  it('never hands one key to two workers, whatever its namespace\'s turn', async () => {
    const { q } = queue();
    q.add('a/1');
    q.add('b/1');
    expect(await q.get()).toBe('a/1');
    q.add('a/1');
    // a/1 is in process: its re-add waits for done, and b/1 is next.
    expect(await q.get()).toBe('b/1');
    let third: string | undefined;
    void q.get().then((k) => (third = k));
    await flush();
    expect(third).toBeUndefined();
    q.done('a/1');
    await flush();
    expect(third).toBe('a/1');
    q.shutDown();
  });
});

/** A budget on the fake clock: `spareAt` is when it next has a request to spare. */
class FakeBudget {
  spareAt = 0;
  constructor(private readonly clock: FakeClock, public rate = 20) {}
  waitMs(): number {
    return Math.max(0, this.spareAt - this.clock.now());
  }
  currentRate(): number {
    return this.rate;
  }
}

describe('WorkQueue with AWS budgets', () => {
  function budgeted() {
    const clock = new FakeClock();
    const a = new FakeBudget(clock);
    const b = new FakeBudget(clock);
    const q = new WorkQueue({ name: `wq-budget-${++n}`, clock, budget: { of: (key) => (key.startsWith('a/') ? a : key.startsWith('b/') ? b : undefined) } });
    return { q, clock, a, b };
  }

  it('hands out another account\'s key while a spent account\'s keys keep their place, and theirs once it has room', async () => {
    const { q, clock, a } = budgeted();
    a.spareAt = clock.now() + 1_000;
    for (let i = 0; i < 50; i++) q.add(`a/${i}`, 'low');
    q.add('b/0');
    // No worker starts a's work (it would only sleep on the limit): b's key is handed out first.
    expect(await q.get()).toBe('b/0');
    q.done('b/0');
    expect(q.len()).toBe(50);
    let next: string | undefined;
    void q.get().then((k) => (next = k));
    await clock.advance(999);
    expect(next).toBeUndefined();
    await clock.advance(1);
    expect(next).toBe('a/0');
    q.shutDown();
  });

  it('a user\'s change held for its budget goes before the resyncs held with it', async () => {
    const { q, clock, a } = budgeted();
    a.spareAt = clock.now() + 500;
    for (let i = 0; i < 100; i++) q.add(`a/resync-${i}`, 'low');
    q.add('a/create', 'high');
    const got: string[] = [];
    const worker = q.get().then((k) => got.push(k!));
    await clock.advance(500);
    await worker;
    // Every resync was taken and held before the create came up; room goes to the create first.
    expect(got).toEqual(['a/create']);
    q.shutDown();
  });

  it('a throttled account holds at most half its rate of workers, the rest serve others', async () => {
    const { q, a } = budgeted();
    a.rate = 2;
    for (let i = 0; i < 5; i++) q.add(`a/${i}`);
    for (let i = 0; i < 5; i++) q.add(`b/${i}`);
    // Six workers take work and keep it: one for the throttled account, five for the other.
    const taken: string[] = [];
    for (let i = 0; i < 6; i++) taken.push((await q.get())!);
    expect(taken).toEqual(['a/0', 'b/0', 'b/1', 'b/2', 'b/3', 'b/4']);
    let next: string | undefined;
    void q.get().then((k) => (next = k));
    await flush();
    expect(next).toBeUndefined();
    q.done('a/0');
    await flush();
    expect(next).toBe('a/1');
    q.shutDown();
  });

  it('a held low key raised to high moves up, and a key of no known budget is never held', async () => {
    const { q, clock, a } = budgeted();
    a.spareAt = clock.now() + 100;
    q.add('a/1', 'low');
    q.add('a/2', 'low');
    q.add('c/1', 'low');
    expect(await q.get()).toBe('c/1');
    q.add('a/2', 'high');
    expect(q.priorityOf('a/2')).toBe('high');
    await clock.advance(100);
    expect(await q.get()).toBe('a/2');
    expect(await q.get()).toBe('a/1');
    q.shutDown();
  });
});
