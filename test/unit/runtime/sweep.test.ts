import { describe, expect, it } from 'vitest';
import { planSweep, Sweep, SweepingController, type SweepPlan } from '../../../src/runtime/sweep.js';
import type { KubeObject } from '../../../src/runtime/types.js';
import { captureLogger, FakeClock } from './helpers.js';

const MINUTE = 60_000;

describe('planSweep', () => {
  it('keeps the sync period when the busiest account fits, spread over what the pass needs', () => {
    // 1,000 objects × 4 calls at 80% of 20/s: 250 s, within 10 minutes, more than the usual 60 s.
    expect(planSweep({ objectsPerGroup: [1000], callsPerObject: 4, requestsPerSecond: 20, syncPeriodMs: 10 * MINUTE })).toEqual({
      periodMs: 10 * MINUTE, spreadMs: 250_000, neededMs: 250_000, stretched: false,
    });
    // A small pass keeps the usual spread of a tenth of the period.
    expect(planSweep({ objectsPerGroup: [100], callsPerObject: 4, requestsPerSecond: 20, syncPeriodMs: 10 * MINUTE }).spreadMs).toBe(MINUTE);
  });

  it('stretches the period to what the busiest account needs at its rate', () => {
    // 10,000 objects × 4 calls at 16/s: 2,500 s, more than 600 s.
    expect(planSweep({ objectsPerGroup: [500, 10_000, 300], callsPerObject: 4, requestsPerSecond: 20, syncPeriodMs: 10 * MINUTE })).toEqual({
      periodMs: 2_500_000, spreadMs: 2_500_000, neededMs: 2_500_000, stretched: true,
    });
    // Ten accounts of 1,000 each are paced separately: no stretch.
    expect(planSweep({ objectsPerGroup: Array.from({ length: 10 }, () => 1000), callsPerObject: 4, requestsPerSecond: 20, syncPeriodMs: 10 * MINUTE }).stretched).toBe(false);
  });

  it('an unlimited rate or no objects never stretches', () => {
    expect(planSweep({ objectsPerGroup: [10_000], callsPerObject: 4, requestsPerSecond: Number.POSITIVE_INFINITY, syncPeriodMs: MINUTE }).stretched).toBe(false);
    expect(planSweep({ objectsPerGroup: [], callsPerObject: 4, requestsPerSecond: 20, syncPeriodMs: MINUTE })).toMatchObject({ periodMs: MINUTE, neededMs: 0 });
  });
});

interface Obj {
  key: string;
  account: string;
}

function objects(n: number, accounts = 1): Obj[] {
  return Array.from({ length: n }, (_, i) => ({ key: `ns/r${String(i).padStart(5, '0')}`, account: `a${i % accounts}` }));
}

function harness(initial: Obj[], opts: { prefetch?: boolean; prefetchFails?: () => Error | undefined; shareOf?: (o: Obj) => number } = {}) {
  const clock = new FakeClock();
  const { logger, lines } = captureLogger('info');
  let live = initial;
  // Looked up by key for every key of every batch: a Map, not a scan of 10,000 objects each time.
  let byKey = new Map(live.map((o) => [o.key, o]));
  const enqueued: Array<{ key: string; at: number }> = [];
  const plans: SweepPlan[] = [];
  const prefetches: Array<{ group: string; keys: string[]; validForMs: number }> = [];
  const sweep = new Sweep<Obj>({
    name: 'ecrrepository',
    syncPeriodMs: 10 * MINUTE,
    budget: () => ({ requestsPerSecond: 20, callsPerObject: 4 }),
    list: () => live,
    keyOf: (o) => o.key,
    get: (key) => byKey.get(key),
    groupOf: (o) => o.account,
    ...(opts.shareOf ? { shareOf: opts.shareOf } : {}),
    ...(opts.prefetch
      ? {
        prefetch: async (group: string, objs: Obj[], validForMs: number) => {
          prefetches.push({ group, keys: objs.map((o) => o.key), validForMs });
          const failure = opts.prefetchFails?.();
          if (failure) throw failure;
        },
      }
      : {}),
    enqueue: (key, delayMs) => enqueued.push({ key, at: clock.now() + delayMs }),
    onPlan: (plan) => plans.push(plan),
    clock,
    logger,
  });
  return {
    clock, sweep, enqueued, plans, prefetches, lines,
    set: (next: Obj[]) => {
      live = next;
      byKey = new Map(live.map((o) => [o.key, o]));
    },
  };
}

describe('Sweep on a fake clock', () => {
  it('stretches a sweep that cannot fit, paces it at the budget, reports the achieved period once', async () => {
    const h = harness(objects(10_000));
    const t0 = h.clock.now();
    h.sweep.start();
    await h.clock.advance(10 * MINUTE);
    expect(h.plans).toHaveLength(1);
    expect(h.plans[0]).toMatchObject({ periodMs: 2_500_000, stretched: true });

    // The whole pass is handed out over 2,500 s, at most 4 objects (16 calls) per second.
    await h.clock.advance(2_500_000 - 1);
    expect(new Set(h.enqueued.map((e) => e.key)).size).toBe(10_000);
    const perSecond = new Map<number, number>();
    for (const e of h.enqueued) {
      const s = Math.floor((e.at - t0 - 10 * MINUTE) / 1000);
      perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4);
    expect(Math.max(...perSecond.keys())).toBeLessThan(2_500);

    // The next pass starts 2,500 s after the first, not 600 s.
    expect(h.plans).toHaveLength(1);
    await h.clock.advance(1_000);
    expect(h.plans).toHaveLength(2);
    expect(h.clock.now() - t0).toBeGreaterThanOrEqual(10 * MINUTE + 2_500_000);

    // One log line for the stretch, not one per pass.
    const stretchedLines = h.lines().filter((l) => String(l.msg).startsWith('sync sweep'));
    expect(stretchedLines).toHaveLength(1);
    expect(stretchedLines[0]).toMatchObject({ level: 'warn', objects: 10_000, syncPeriodSeconds: 600, achievedPeriodSeconds: 2_500 });
    h.sweep.stop();
  });

  it('says once when the sweep fits again, and goes back to the sync period', async () => {
    const h = harness(objects(10_000));
    h.sweep.start();
    await h.clock.advance(10 * MINUTE);
    h.set(objects(1_000));
    await h.clock.advance(2_500_000);
    expect(h.plans.map((p) => p.periodMs)).toEqual([2_500_000, 10 * MINUTE]);
    await h.clock.advance(10 * MINUTE);
    expect(h.plans.map((p) => p.periodMs)).toEqual([2_500_000, 10 * MINUTE, 10 * MINUTE]);
    const lines = h.lines().filter((l) => String(l.msg).startsWith('sync sweep'));
    expect(lines.map((l) => [l.level, l.achievedPeriodSeconds])).toEqual([['warn', 2_500], ['info', 600]]);
    h.sweep.stop();
  });

  it('plans for the share of a reconcile each object costs a pass, not for every object listed', async () => {
    // 10,000 objects swept at one pass in 36 (a 6-hour period in 10-minute passes): 10,000 / 36 × 4
    // calls at 16/s is 70 s, within 10 minutes. Counted as whole objects they would stretch it to 2,500 s.
    const h = harness(objects(10_000), { shareOf: (o) => (o.account === 'a0' ? 1 / 36 : 1) });
    h.sweep.start();
    await h.clock.advance(20 * MINUTE);
    expect(h.plans.map((p) => [p.periodMs, p.stretched])).toEqual([[10 * MINUTE, false], [10 * MINUTE, false]]);
    expect(h.plans[0]!.neededMs).toBe(Math.ceil((10_000 / 36) * 4 * 1000 / 16));
    // Shares outside 0..1 count as the nearest bound: a full reconcile at most.
    const whole = harness(objects(10_000), { shareOf: () => 5 });
    whole.sweep.start();
    await whole.clock.advance(10 * MINUTE);
    expect(whole.plans[0]).toMatchObject({ periodMs: 2_500_000, stretched: true });
    h.sweep.stop();
    whole.sweep.stop();
  });

  it('a sweep that fits logs nothing and keeps the sync period', async () => {
    const h = harness(objects(1_000));
    h.sweep.start();
    await h.clock.advance(20 * MINUTE);
    expect(h.plans.map((p) => p.periodMs)).toEqual([10 * MINUTE, 10 * MINUTE]);
    expect(h.lines().filter((l) => String(l.msg).startsWith('sync sweep'))).toEqual([]);
    h.sweep.stop();
  });

  it('reads each account\'s objects in batches of at most 100 before queueing them', async () => {
    const h = harness(objects(1_000, 2), { prefetch: true });
    h.sweep.start();
    await h.clock.advance(13 * MINUTE);
    // Two accounts of 500 (each needs 125 s at 16/s): five batches each, never mixed.
    expect(h.prefetches).toHaveLength(10);
    for (const p of h.prefetches) {
      expect(p.keys.length).toBeLessThanOrEqual(100);
      expect(p.keys.every((k) => Number(k.slice(4)) % 2 === Number(p.group.slice(1)))).toBe(true);
      // Each batch is handed out over a fifth of the account's 125 s, and its read stays good a
      // minute longer for keys that wait in a busy queue.
      expect(p.validForMs).toBeCloseTo(85_000);
    }
    expect(h.enqueued).toHaveLength(1_000);
    h.sweep.stop();
  });

  it("puts a batch off, read and keys together, while the account's request budget is spent", async () => {
    const spent = () => Object.assign(new Error('not sent yet: the request budget is in use'), { retryAfterMs: 5_000 });
    let failures = 2;
    const h = harness(objects(100), { prefetch: true, prefetchFails: () => (failures-- > 0 ? spent() : undefined) });
    h.sweep.start();
    await h.clock.advance(10 * MINUTE);
    // The read was put off: no key queued without it, nothing logged.
    expect(h.prefetches).toHaveLength(1);
    expect(h.enqueued).toHaveLength(0);
    await h.clock.advance(5_000);
    expect(h.prefetches).toHaveLength(2);
    expect(h.enqueued).toHaveLength(0);
    await h.clock.advance(5_000);
    expect(h.prefetches).toHaveLength(3);
    expect(h.enqueued).toHaveLength(100);
    expect(h.lines().filter((l) => l.msg === 'sweep batch read failed; its objects read their own state')).toEqual([]);
    h.sweep.stop();
  });

  it('queues the keys without the read after ten put-offs, or at once on any other failure', async () => {
    const spent = () => Object.assign(new Error('not sent yet: the request budget is in use'), { retryAfterMs: 1_000 });
    const h = harness(objects(100), { prefetch: true, prefetchFails: spent });
    h.sweep.start();
    await h.clock.advance(10 * MINUTE + 10_000);
    expect(h.prefetches).toHaveLength(11);
    expect(h.enqueued).toHaveLength(100);
    expect(h.lines().filter((l) => l.msg === 'sweep batch read failed; its objects read their own state')).toHaveLength(1);
    h.sweep.stop();

    const broken = harness(objects(100), { prefetch: true, prefetchFails: () => new Error('AccessDenied') });
    broken.sweep.start();
    await broken.clock.advance(10 * MINUTE);
    expect(broken.prefetches).toHaveLength(1);
    expect(broken.enqueued).toHaveLength(100);
    broken.sweep.stop();
  });

  it('stop() cancels the pending pass and batches', async () => {
    const h = harness(objects(300));
    h.sweep.start();
    await h.clock.advance(10 * MINUTE);
    h.sweep.stop();
    expect(h.clock.pending()).toBe(0);
  });
});

describe('SweepingController', () => {
  it('runs the sweep while the controller runs: every object reconciled once per pass, none after stop', async () => {
    const clock = new FakeClock();
    const { logger } = captureLogger('info');
    const objects = new Map<string, KubeObject>();
    for (let i = 0; i < 5; i++) objects.set(`ns/o${i}`, { apiVersion: 'v1', kind: 'T', metadata: { namespace: 'ns', name: `o${i}` } });
    const informer = {
      onEvent: () => () => undefined,
      list: () => [...objects.values()],
      get: (namespace: string, name: string) => objects.get(`${namespace}/${name}`),
    };
    const reconciled: string[] = [];
    const controller = new SweepingController<KubeObject>(
      { name: 'sweep-ctrl-test', informer, logger, concurrency: 1, clock, reconcile: async (k) => {
        reconciled.push(`${k.namespace}/${k.name}`);
        return {};
      } },
      { syncPeriodMs: 10 * MINUTE, budget: () => ({ requestsPerSecond: 20, callsPerObject: 4 }), logger },
    );
    controller.start();
    // The full pass at start.
    await clock.advance(1_000);
    expect(reconciled).toHaveLength(5);
    await clock.advance(10 * MINUTE + MINUTE);
    expect(reconciled).toHaveLength(10);
    expect(controller.sweepPlan).toMatchObject({ periodMs: 10 * MINUTE, stretched: false });
    await controller.stop(1_000);
    await clock.advance(30 * MINUTE);
    expect(reconciled).toHaveLength(10);
  });
});
