import { describe, expect, it } from 'vitest';
import { SweepGate, sweptView } from '../../../src/events/sweep-gate.js';
import type { Clock } from '../../../src/runtime/clock.js';
import { Sweep } from '../../../src/runtime/sweep.js';
import { captureLogger, FakeClock } from '../runtime/helpers.js';

const HOUR = 3_600_000;

function clock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t, setTimeout: () => undefined, clearTimeout: () => undefined };
  return c;
}

const repo = (name: string, provider = 'aws') => ({ metadata: { name, namespace: 'team' }, spec: { providerRef: { name: provider } } });

describe('SweepGate', () => {
  it('sweeps objects of providers without a working queue at every pass', () => {
    const c = clock();
    const gate = new SweepGate({ inEventMode: () => false, periodWithEventsMs: 6 * HOUR, syncPeriodMs: 10 * 60_000, clock: c });
    for (let i = 0; i < 3; i++) {
      c.t += 10 * 60_000;
      expect(gate.due(repo('a'))).toBe(true);
    }
  });

  it('in event mode, lets an object through once per period-with-events, for both lookups of its batch', () => {
    const c = clock();
    const gate = new SweepGate({ inEventMode: () => true, periodWithEventsMs: 6 * HOUR, syncPeriodMs: 10 * 60_000, clock: c });
    let swept = 0;
    for (let pass = 0; pass < 12 * 6 + 1; pass++) {
      c.t = pass * 10 * 60_000;
      const first = gate.due(repo('a'));
      c.t += 2_000;
      const second = gate.due(repo('a'));
      expect(second).toBe(first);
      if (first) swept++;
    }
    // 12 hours of 10-minute passes: two turns, at 6 h and 12 h.
    expect(swept).toBe(2);
  });

  it('falls back to the normal period at once when the queue stops working, and starts over when it works again', () => {
    const c = clock();
    let events = true;
    const gate = new SweepGate({ inEventMode: () => events, periodWithEventsMs: 6 * HOUR, syncPeriodMs: 10 * 60_000, clock: c });
    expect(gate.due(repo('a'))).toBe(false);
    c.t += 10 * 60_000;
    events = false;
    expect(gate.due(repo('a'))).toBe(true);
    events = true;
    c.t += 10 * 60_000;
    expect(gate.due(repo('a'))).toBe(false);
  });

  it('asks about the provider the object names', () => {
    const asked: string[] = [];
    const gate = new SweepGate({ inEventMode: (ns, name) => (asked.push(`${ns}/${name}`), false), periodWithEventsMs: HOUR, syncPeriodMs: 2000 });
    gate.due(repo('a', 'other'));
    expect(asked).toEqual(['team/other']);
  });
});

describe('sweptView', () => {
  it('gates get() only; every other member is the informer itself', () => {
    const objects = new Map([['team/a', { name: 'a' }], ['team/b', { name: 'b' }]]);
    const informer = {
      calls: 0,
      get(namespace: string, name: string) {
        this.calls++;
        return objects.get(`${namespace}/${name}`);
      },
      list() {
        return [...objects.values()];
      },
    };
    const view = sweptView(informer, (o) => o.name === 'a');
    expect(view.get('team', 'a')).toEqual({ name: 'a' });
    expect(view.get('team', 'b')).toBeUndefined();
    expect(view.get('team', 'c')).toBeUndefined();
    expect(view.list()).toHaveLength(2);
    expect(informer.calls).toBe(3);
  });
});

describe('SweepGate with the sweep', () => {
  const share = (gate: SweepGate) => gate.shareOf(repo('a'));

  it('an object in event mode costs the sweep one pass in periodWithEvents / syncPeriod; any other a whole one', () => {
    let events = true;
    const gate = new SweepGate({ inEventMode: () => events, periodWithEventsMs: 6 * HOUR, syncPeriodMs: 10 * 60_000 });
    expect(share(gate)).toBeCloseTo(1 / 36, 10);
    events = false;
    expect(share(gate)).toBe(1);
    // A period with events shorter than the sweep's: a whole reconcile at most.
    const short = new SweepGate({ inEventMode: () => true, periodWithEventsMs: 60_000, syncPeriodMs: 10 * 60_000 });
    expect(share(short)).toBe(1);
  });

  it('in event mode, turns come a period apart (within one sweep) even when every object listed would not fit a sweep', async () => {
    // 200 repositories in event mode, swept every 10 s at 20 requests a second, a turn every 2 minutes:
    // counted whole, 200 × 4 calls would stretch each pass to 50 s and put turns 150 s apart.
    const c = new FakeClock();
    const gate = new SweepGate({ inEventMode: () => true, periodWithEventsMs: 120_000, syncPeriodMs: 10_000, clock: c });
    const repos = Array.from({ length: 200 }, (_, i) => repo(`r${String(i).padStart(3, '0')}`));
    const byKey = new Map(repos.map((r) => [`team/${r.metadata.name}`, r]));
    const turns = new Map<string, number[]>();
    const { logger } = captureLogger('info');
    const sweep = new Sweep<(typeof repos)[number]>({
      name: 'ecrrepository',
      syncPeriodMs: 10_000,
      budget: () => ({ requestsPerSecond: 20, callsPerObject: 4 }),
      list: () => repos,
      keyOf: (r) => `team/${r.metadata.name}`,
      get: (key) => {
        const r = byKey.get(key);
        return r && gate.due(r) ? r : undefined;
      },
      shareOf: (r) => gate.shareOf(r),
      enqueue: (key, delayMs) => turns.set(key, [...(turns.get(key) ?? []), c.now() + delayMs]),
      clock: c,
      logger,
    });
    sweep.start();
    await c.advance(10 * 60_000);
    sweep.stop();
    expect(turns.size).toBe(200);
    for (const at of turns.values()) {
      expect(at.length).toBeGreaterThanOrEqual(4);
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(120_000 + 10_000);
    }
  });
});
