import { describe, expect, it } from 'vitest';
import { workqueueAdds, workqueueDepth, workqueueRetries } from '../../../src/observability/metrics.js';
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
});
