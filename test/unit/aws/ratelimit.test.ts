import { describe, expect, it } from 'vitest';
import { AccountLimiter, AimdRate, ECR_OPERATION_RATES, RateLimiterRegistry, TokenBucket } from '../../../src/aws/ratelimit.js';

/** A clock that only moves when told to, and a sleep that moves it. */
function fakeTime() {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then paces at the rate', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 2, burst: 3, clock: t.clock });
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    // Each further caller waits for the next token in line: 0.5 s apart at 2/s.
    expect(bucket.reserve()).toBe(500);
    expect(bucket.reserve()).toBe(1000);
    expect(bucket.available()).toBe(-2);
  });

  it('refills with elapsed time but never above the burst', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, clock: t.clock });
    for (let i = 0; i < 5; i++) bucket.reserve();
    expect(bucket.available()).toBe(0);
    t.advance(250);
    expect(bucket.available()).toBeCloseTo(2.5);
    t.advance(60_000);
    expect(bucket.available()).toBe(5);
  });

  it('counts reservations that are still waiting when refilling', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock: t.clock });
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(1000);
    t.advance(500);
    // Half a token came back, but the second caller's reservation is still owed.
    expect(bucket.reserve()).toBe(1500);
  });

  it('acquire sleeps exactly as long as the reservation needs', async () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 1, clock: t.clock, sleep: t.sleep });
    await bucket.acquire();
    await bucket.acquire();
    await bucket.acquire();
    expect(t.sleeps).toEqual([250, 250]);
  });

  it('serves concurrent waiters in arrival order', async () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock: t.clock, sleep: (ms) => new Promise((r) => setTimeout(r, ms / 100)) });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => bucket.acquire().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('tryAcquire takes a token only when one is there', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock: t.clock });
    expect(bucket.tryAcquire()).toBe(true);
    expect(bucket.tryAcquire()).toBe(false);
    t.advance(1000);
    expect(bucket.tryAcquire()).toBe(true);
  });

  it('defaults the burst to the rate, at least one', () => {
    expect(new TokenBucket({ ratePerSecond: 20 }).burst).toBe(20);
    expect(new TokenBucket({ ratePerSecond: 0.5 }).burst).toBe(1);
  });

  it('rejects a rate or burst that cannot work', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: Number.NaN })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
    expect(() => new RateLimiterRegistry({ requestsPerSecond: -1 })).toThrow(RangeError);
  });
});

describe('RateLimiterRegistry', () => {
  it('gives every caller of one account the same bucket, and each account its own', () => {
    const t = fakeTime();
    const registry = new RateLimiterRegistry({ requestsPerSecond: 5, burst: 2, clock: t.clock });
    const a = registry.limiterFor('111122223333');
    expect(registry.limiterFor('111122223333')).toBe(a);
    const b = registry.limiterFor('444455556666');
    expect(b).not.toBe(a);
    expect([a.overall.ratePerSecond, a.overall.burst]).toEqual([5, 2]);

    // Draining one account's bucket leaves the other's untouched.
    a.overall.reserve();
    a.overall.reserve();
    expect(registry.limiterFor('111122223333').overall.reserve()).toBe(200);
    expect(b.overall.reserve()).toBe(0);
  });

  it('forgets a key so that it no longer holds memory', () => {
    const registry = new RateLimiterRegistry({ requestsPerSecond: 5 });
    const a = registry.limiterFor('ns/provider');
    expect(registry.keys()).toEqual(['ns/provider']);
    registry.forget('ns/provider');
    expect(registry.keys()).toEqual([]);
    expect(registry.limiterFor('ns/provider')).not.toBe(a);
  });
});

describe('AimdRate', () => {
  it('halves on a throttle, once per hold time, never below the floor', () => {
    const t = fakeTime();
    const rate = new AimdRate({ maxRate: 20, clock: t.clock });
    expect(rate.minRate).toBe(2);
    rate.throttled();
    expect(rate.rate()).toBe(10);
    // Ten answers of requests that were already in flight come back throttled together: one cut.
    for (let i = 0; i < 10; i++) rate.throttled();
    expect(rate.rate()).toBe(10);
    for (let i = 0; i < 10; i++) {
      t.advance(500);
      rate.throttled();
    }
    expect(rate.rate()).toBe(2);
  });

  it('climbs back to the configured rate within a few seconds once throttles stop', () => {
    const t = fakeTime();
    const rate = new AimdRate({ maxRate: 20, clock: t.clock });
    // Sustained throttling for ten seconds, every 100 ms: the rate sits at the floor.
    for (let i = 0; i < 100; i++) {
      t.advance(100);
      rate.throttled();
    }
    expect(rate.rate()).toBe(2);
    // Then AWS stops refusing: the rate holds for the quiet time and climbs linearly.
    const seen: number[] = [];
    for (let ms = 0; ms <= 3_000; ms += 500) {
      seen.push(Math.round(rate.rate() * 10) / 10);
      t.advance(500);
    }
    expect(seen).toEqual([2, 2, 6.5, 11, 15.5, 20, 20]);
  });

  it('a throttle during the climb cuts from where the climb had got to', () => {
    const t = fakeTime();
    const rate = new AimdRate({ maxRate: 20, clock: t.clock });
    for (let i = 0; i < 5; i++) {
      rate.throttled();
      t.advance(600);
    }
    // At the floor since the last throttle, 600 ms ago: 100 ms into the climb of 9/s per second.
    expect(rate.rate()).toBeCloseTo(2.9);
    t.advance(1_000);
    expect(rate.rate()).toBeCloseTo(11.9);
    rate.throttled();
    expect(rate.rate()).toBeCloseTo(5.95);
  });

  it('rejects a floor, factor or climb that cannot work', () => {
    expect(() => new AimdRate({ maxRate: 10, minRate: 0 })).toThrow(RangeError);
    expect(() => new AimdRate({ maxRate: 10, decreaseFactor: 1 })).toThrow(RangeError);
    expect(() => new AimdRate({ maxRate: 10, climbMs: 0 })).toThrow(RangeError);
    // A floor above the rate is the rate.
    expect(new AimdRate({ maxRate: 0.5 }).minRate).toBe(0.5);
  });
});

/**
 * Drives a bucket the way the clients do, against a fake AWS that throttles every request above
 * `awsRate` per second while `throttling(now)` holds, and counts the requests AWS accepted in each
 * second of fake time.
 */
async function simulate(bucket: TokenBucket, t: ReturnType<typeof fakeTime>, seconds: number, awsRate: number, throttling: (now: number) => boolean) {
  const accepted: number[] = Array.from({ length: seconds }, () => 0);
  const start = t.clock();
  const awsBucket = new TokenBucket({ ratePerSecond: awsRate, burst: awsRate, clock: t.clock });
  while (t.clock() - start < seconds * 1000) {
    await bucket.acquire();
    const now = t.clock();
    const second = Math.floor((now - start) / 1000);
    if (second >= seconds) break;
    if (throttling(now) && !awsBucket.tryAcquire()) bucket.throttled();
    else accepted[second] = (accepted[second] ?? 0) + 1;
    // Each request takes at least a millisecond, so a fake clock with an open bucket still moves.
    t.advance(1);
  }
  return accepted;
}

describe('TokenBucket with adaptive pacing', () => {
  it('keeps its fixed rate when not adaptive', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 1, clock: t.clock });
    bucket.throttled();
    expect(bucket.currentRate()).toBe(20);
  });

  it('drops its saved burst with the rate, so recovery does not start with a spike', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 40, clock: t.clock, adaptive: {} });
    expect(bucket.available()).toBe(40);
    bucket.throttled();
    expect(bucket.currentRate()).toBe(10);
    expect(bucket.available()).toBe(20);
  });

  it('after throttling stops, sends at the configured rate again within three seconds', async () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 20, clock: t.clock, sleep: t.sleep, adaptive: {} });
    const throttleEnds = t.clock() + 10_000;
    // AWS accepts only 5/s for ten seconds, then everything.
    const accepted = await simulate(bucket, t, 16, 5, (now) => now < throttleEnds);
    // While throttled, the client settles near what AWS accepts instead of collapsing to 0.5/s.
    for (const n of accepted.slice(2, 10)) expect(n).toBeGreaterThanOrEqual(3);
    // From the third second after the throttles stopped, the full configured rate.
    for (const n of accepted.slice(13)) expect(n).toBeGreaterThanOrEqual(19);
  });
});

describe('AccountLimiter', () => {
  it('paces a limited operation at its own rate under the account cap, and others at the cap', async () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 20, burst: 1, operationRates: { CreateRepository: 5 }, adaptive: false, clock: t.clock, sleep: t.sleep });
    const start = t.clock();
    for (let i = 0; i < 10; i++) await limiter.acquire('CreateRepository');
    // The first goes at once (burst 1), nine more at 5/s.
    expect(t.clock() - start).toBeCloseTo(1800);
    const mid = t.clock();
    for (let i = 0; i < 10; i++) await limiter.acquire('ListTagsForResource');
    expect(t.clock() - mid).toBeLessThanOrEqual(500);
    expect(limiter.currentRate('CreateRepository')).toBe(5);
    expect(limiter.currentRate('ListTagsForResource')).toBe(20);
  });

  it('a throttle lowers the operation\'s rate and the account\'s', () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 20, operationRates: ECR_OPERATION_RATES, clock: t.clock });
    limiter.throttled('PutLifecyclePolicy');
    expect(limiter.currentRate('PutLifecyclePolicy')).toBe(5);
    expect(limiter.currentRate()).toBe(10);
    expect(limiter.currentRate('ListTagsForResource')).toBe(10);
    t.advance(3_000);
    expect(limiter.currentRate('PutLifecyclePolicy')).toBe(10);
    expect(limiter.currentRate()).toBe(20);
  });

  it('has a documented or conservative rate for every ECR operation the gateway calls', () => {
    for (const op of ['CreateRepository', 'DescribeRepositories', 'PutLifecyclePolicy', 'ListTagsForResource', 'DescribeImages', 'ListImages', 'GetLifecyclePolicy', 'GetRepositoryPolicy', 'SetRepositoryPolicy', 'TagResource', 'UntagResource', 'DeleteRepository']) {
      expect(ECR_OPERATION_RATES[op]).toBeGreaterThan(0);
    }
    expect(() => new RateLimiterRegistry({ requestsPerSecond: 20, operationRates: { CreateRepository: 0 } })).toThrow(RangeError);
  });
});
