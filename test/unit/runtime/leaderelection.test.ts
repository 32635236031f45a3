import { describe, expect, it } from 'vitest';
import { leaderElectionStatus } from '../../../src/observability/metrics.js';
import { LeaderElector, microTime } from '../../../src/runtime/leaderelection.js';
import { FakeClock, LeaseClient, LeaseStore, captureLogger, metricValue } from './helpers.js';

let n = 0;
function candidates(count: number) {
  const clock = new FakeClock();
  const store = new LeaseStore();
  const name = `lease-test-${++n}`;
  const leading = new Set<string>();
  const history: string[] = [];
  let overlap = false;
  const list = Array.from({ length: count }, (_, i) => {
    const identity = `c${i}`;
    const client = new LeaseClient(store);
    const elector = new LeaderElector({
      client,
      namespace: 'ns',
      name,
      identity,
      logger: captureLogger().logger,
      clock,
      random: () => 0,
      onStartedLeading: () => {
        leading.add(identity);
        if (leading.size > 1) overlap = true;
        history.push(`start ${identity} @${clock.now()}`);
      },
      onStoppedLeading: () => {
        leading.delete(identity);
        history.push(`stop ${identity} @${clock.now()}`);
      },
    });
    return { identity, client, elector, run: elector.run() };
  });
  return { clock, store, list, leading, history, name, overlap: () => overlap };
}

describe('LeaderElector', () => {
  it('lets exactly one candidate lead and keeps renewing', async () => {
    const { clock, store, list, leading, name } = candidates(2);
    await clock.advance(0);
    expect(leading.size).toBe(1);
    const leader = [...leading][0];
    await clock.advance(60_000);
    expect([...leading]).toEqual([leader]);
    expect(store.lease?.spec?.holderIdentity).toBe(leader);
    expect(store.lease?.spec?.leaseDurationSeconds).toBe(15);
    expect(store.lease?.spec?.leaseTransitions).toBe(0);
    expect(store.lease?.spec?.renewTime).toBe(microTime(clock.now() - (clock.now() % 2_000)));
    expect(await metricValue(leaderElectionStatus, { name })).toBe(1);
    for (const c of list) await c.elector.release();
  });

  it('a leader cut off from the API server steps down within the renew deadline; another takes over after the lease expires', async () => {
    const { clock, store, list, leading, history, overlap } = candidates(2);
    await clock.advance(0);
    const leader = list.find((c) => leading.has(c.identity))!;
    const other = list.find((c) => c !== leader)!;
    await clock.advance(10_000);
    const cut = clock.now();
    leader.client.down = true;
    await clock.advance(12_000);
    // Last renew at most 2 s before the cut, then at most 10 s of failed renewals.
    expect(leading.has(leader.identity)).toBe(false);
    await clock.advance(6_000);
    expect(leading.has(other.identity)).toBe(true);
    expect(overlap()).toBe(false);
    const took = Number(history.find((h) => h.startsWith(`start ${other.identity}`))?.split('@')[1]) - cut;
    expect(took).toBeGreaterThanOrEqual(13_000);
    expect(took).toBeLessThanOrEqual(18_000);
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
    await leader.run;
    await other.elector.release();
  });

  it('release() hands the lease over at once, without calling onStoppedLeading', async () => {
    const { clock, store, list, leading, history } = candidates(2);
    await clock.advance(0);
    const leader = list.find((c) => leading.has(c.identity))!;
    const other = list.find((c) => c !== leader)!;
    await clock.advance(5_000);
    await leader.elector.release();
    expect(store.lease?.spec?.holderIdentity).toBe('');
    expect(history.some((h) => h.startsWith('stop'))).toBe(false);
    const released = clock.now();
    await clock.advance(2_000);
    expect(leading.has(other.identity)).toBe(true);
    const took = Number(history.find((h) => h.startsWith(`start ${other.identity}`))?.split('@')[1]) - released;
    expect(took).toBeLessThanOrEqual(2_000);
    await other.elector.release();
  });

  it('a follower respects an unexpired lease of a holder it has just seen for the first time', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    store.write({ metadata: { name: 'l', namespace: 'ns' }, spec: { holderIdentity: 'ghost', leaseDurationSeconds: 15, renewTime: microTime(0) } });
    let started = 0;
    const e = new LeaderElector({
      client: new LeaseClient(store), namespace: 'ns', name: `lease-test-${++n}`, identity: 'me', logger: captureLogger().logger, clock, random: () => 0,
      onStartedLeading: () => started++, onStoppedLeading: () => undefined,
    });
    void e.run();
    // The lease's own renewTime is ancient, but expiry counts from when we first saw the record.
    await clock.advance(14_000);
    expect(started).toBe(0);
    await clock.advance(4_000);
    expect(started).toBe(1);
    expect(store.lease?.spec?.holderIdentity).toBe('me');
    await e.release();
  });

  it('formats MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe('2024-01-02T03:04:05.678000Z');
  });
});
