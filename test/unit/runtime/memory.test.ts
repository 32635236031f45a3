import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdleCollector, lastResortCollection } from '../../../src/runtime/memory.js';
import { imageNodeFlags } from '../../e2e/support/operator.js';
import { FakeClock } from './helpers.js';

const MiB = 1024 * 1024;

/** A process whose work and resident set the test sets; the collection gives back what `held` says. */
function world() {
  const clock = new FakeClock();
  const state = { pending: 0, rss: 100 * MiB, held: 0 };
  const collections: Array<{ beforeBytes: number; afterBytes: number }> = [];
  const collector = new IdleCollector({
    pending: () => state.pending,
    rss: () => state.rss,
    collect: () => {
      state.rss -= state.held;
      state.held = 0;
    },
    clock,
    onCollect: (r) => collections.push(r),
  });
  /** A burst: work queued for a while, the resident set grown by `grownMiB`, of which V8 could give `heldMiB` back. */
  /** Past the collection of the first idle moment after start; returns what it reported. */
  const settle = async () => {
    collector.start();
    await clock.advance(6000);
    return collections.splice(0);
  };
  const burst = async (grownMiB: number, heldMiB: number, seconds = 10) => {
    state.pending = 50;
    state.rss += grownMiB * MiB;
    state.held += heldMiB * MiB;
    await clock.advance(seconds * 1000);
    state.pending = 0;
  };
  return { clock, state, collections, collector, settle, burst };
}

describe('IdleCollector', () => {
  it('collects once at the first idle moment after start: loading and starting leave garbage too', async () => {
    const { state, settle } = world();
    state.held = 10 * MiB;
    expect(await settle()).toEqual([{ beforeBytes: 100 * MiB, afterBytes: 90 * MiB, seconds: expect.any(Number) }]);
  });

  it('gives back what a burst left once the controllers have been idle for 5 s', async () => {
    const { clock, state, collections, settle, burst } = world();
    await settle();
    await burst(60, 40);
    await clock.advance(4000);
    expect(collections).toHaveLength(0);
    await clock.advance(2000);
    expect(collections).toEqual([{ beforeBytes: 160 * MiB, afterBytes: 120 * MiB, seconds: expect.any(Number) }]);
    expect(state.rss).toBe(120 * MiB);
  });

  it('does not collect while keys are queued or in process, however long the burst', async () => {
    const { clock, collections, settle, state } = world();
    await settle();
    state.pending = 3;
    state.rss += 80 * MiB;
    await clock.advance(600_000);
    expect(collections).toHaveLength(0);
  });

  it('does nothing at rest: no growth, no collection, and not the same collection again', async () => {
    const { clock, collections, settle, burst } = world();
    await settle();
    await clock.advance(600_000);
    expect(collections).toHaveLength(0);
    // A small burst (less than 8 MiB of growth) is not worth a collection.
    await burst(6, 6);
    await clock.advance(60_000);
    expect(collections).toHaveLength(0);
    // After a larger one, one collection; what it could not give back is the new baseline.
    await burst(40, 20);
    await clock.advance(60_000);
    expect(collections).toHaveLength(1);
    await clock.advance(600_000);
    expect(collections).toHaveLength(1);
  });

  it('measures growth from the lowest resident set seen when V8 gave memory back by itself', async () => {
    const { clock, collections, settle, state, burst } = world();
    await settle();
    await burst(30, 30);
    // V8's own reducer returns the burst and 10 MiB of start-up garbage besides: 90 MiB.
    state.rss -= 40 * MiB;
    state.held = 0;
    await clock.advance(10_000);
    expect(collections).toHaveLength(0);
    // 12 MiB grown from 90 is worth a collection (from the start's 100 it would be 2, not worth one).
    await burst(12, 12);
    await clock.advance(10_000);
    expect(collections).toEqual([{ beforeBytes: 102 * MiB, afterBytes: 90 * MiB, seconds: expect.any(Number) }]);
  });

  it('is off without a collection (Node.js without --expose-gc) and stops with stop()', async () => {
    const clock = new FakeClock();
    const off = new IdleCollector({ pending: () => 0, rss: () => 0, collect: undefined, clock });
    off.start();
    expect(off.enabled).toBe(false);
    expect(clock.pending()).toBe(0);

    const { clock: c2, collector, collections, burst } = world();
    collector.start();
    collector.stop();
    await burst(60, 60);
    await c2.advance(60_000);
    expect(collections).toHaveLength(0);
    expect(c2.pending()).toBe(0);
  });

  it('collects with V8 when Node.js exposes gc, and finds nothing to call when it does not', () => {
    const g = globalThis as { gc?: unknown };
    const saved = g.gc;
    try {
      const calls: unknown[] = [];
      g.gc = (options: unknown) => calls.push(options);
      lastResortCollection()!();
      expect(calls).toEqual([{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
      delete g.gc;
      expect(lastResortCollection()).toBeUndefined();
    } finally {
      if (saved === undefined) delete g.gc;
      else g.gc = saved;
    }
  });
});

describe("the image's Node.js", () => {
  // The leak this fixes, in a real V8 with the image's flags: a burst's garbage keeps the heap it
  // grew to while nothing allocates; the last-resort collection gives it back.
  it('keeps what a burst grew until the last-resort collection gives it back', () => {
    const script = `
      import { lastResortCollection } from './src/runtime/memory.ts';
      const rss = () => process.memoryUsage.rss();
      const start = rss();
      let burst = [];
      for (let i = 0; i < 300_000; i++) burst.push({ i, text: 'object ' + i + ' '.repeat(100), list: [i, i + 1, i + 2] });
      burst = undefined;
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const idle = rss();
      const collect = lastResortCollection();
      if (collect) collect();
      process.stdout.write(JSON.stringify({ start, idle, collected: Boolean(collect), after: rss() }));`;
    const root = path.resolve(import.meta.dirname, '../../..');
    const out = execFileSync(process.execPath, [...imageNodeFlags(), '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const { start, idle, collected, after } = JSON.parse(out) as { start: number; idle: number; collected: boolean; after: number };
    expect(collected).toBe(true);
    // Two seconds after the burst its memory is still held...
    expect(idle - start).toBeGreaterThan(30 * MiB);
    // ...and the collection gives most of it back.
    expect(after - start).toBeLessThan((idle - start) / 3);
  }, 60_000);
});
