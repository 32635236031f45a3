import { describe, expect, it } from 'vitest';
import { AccountLimiter, AimdRate, ECR_OPERATION_RATES, RateLimiterRegistry, TokenBucket, limiterKey } from '../../../src/aws/ratelimit.js';

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

describe('limiterKey', () => {
  const base = { accountId: '111122223333', region: 'us-east-1', service: 'ECR' };

  it('keys by account, region and endpoint', () => {
    const keys = new Set([
      limiterKey(base),
      limiterKey({ ...base, accountId: '444455556666' }),
      limiterKey({ ...base, region: 'eu-west-1' }),
      limiterKey({ ...base, endpoint: 'https://ecr.vpce-1.example.internal' }),
      limiterKey({ ...base, endpoint: 'https://ecr.vpce-2.example.internal' }),
      limiterKey({ ...base, service: 'STS' }),
    ]);
    expect(keys.size).toBe(6);
    expect(limiterKey(base)).toBe('111122223333|us-east-1|aws:ecr');
  });

  it('gives two spellings of one endpoint one key, and keeps user info out of it', () => {
    const plain = limiterKey({ ...base, endpoint: 'http://localhost:4566' });
    expect(limiterKey({ ...base, endpoint: 'http://localhost:4566/' })).toBe(plain);
    expect(limiterKey({ ...base, endpoint: 'HTTP://LOCALHOST:4566' })).toBe(plain);
    const withUser = limiterKey({ ...base, endpoint: 'http://user:s3cret@localhost:4566/?x=1' });
    expect(withUser).toBe(plain);
    expect(withUser).not.toContain('s3cret');
    expect(plain).toBe('111122223333|us-east-1|http://localhost:4566');
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

/** Reports `answers` answers in the current window, the first `throttles` of them throttled. */
function report(rate: AimdRate, answers: number, throttles: number): void {
  for (let i = 0; i < answers; i++) rate.answered(i < throttles);
}

describe('AimdRate', () => {
  it('falls to the floor when AWS throttles everything, a window at a time', () => {
    const t = fakeTime();
    const rate = new AimdRate({ maxRate: 20, clock: t.clock });
    expect(rate.minRate).toBe(2);
    report(rate, 10, 10);
    // Nothing changes inside the window: ten answers to requests already in flight say one thing.
    expect(rate.rate()).toBe(20);
    t.advance(1_000);
    expect(rate.rate()).toBe(2);
  });

  it('keeps the configured rate under a steady sprinkle of throttles, and cuts in proportion to more', () => {
    const t = fakeTime();
    const sprinkled = new AimdRate({ maxRate: 20, clock: t.clock });
    const half = new AimdRate({ maxRate: 20, clock: t.clock });
    for (let s = 0; s < 30; s++) {
      report(sprinkled, 20, 3);
      report(half, 20, 10);
      t.advance(1_000);
      expect(sprinkled.rate()).toBe(20);
    }
    // Half refused: (rate + 6) / 2 settles at 6 per second.
    expect(half.rate()).toBeCloseTo(6, 3);
  });

  it('climbs back to the configured rate within three quiet windows', () => {
    const t = fakeTime();
    const rate = new AimdRate({ maxRate: 20, clock: t.clock });
    for (let s = 0; s < 10; s++) {
      report(rate, 5, 5);
      t.advance(1_000);
    }
    expect(rate.rate()).toBe(2);
    const seen: number[] = [];
    for (let s = 0; s < 4; s++) {
      t.advance(1_000);
      seen.push(Math.round(rate.rate() * 10) / 10);
    }
    expect(seen).toEqual([8, 14, 20, 20]);
  });

  it('after a long quiet stretch, is at the configured rate and judges the next window alone', () => {
    const t = fakeTime();
    const rate = new AimdRate({ maxRate: 20, clock: t.clock });
    report(rate, 4, 4);
    t.advance(3_600_000);
    expect(rate.rate()).toBe(20);
    report(rate, 4, 2);
    t.advance(1_000);
    expect(rate.rate()).toBe(13);
  });

  it('rejects a floor, window or step that cannot work', () => {
    expect(() => new AimdRate({ maxRate: 10, minRate: 0 })).toThrow(RangeError);
    expect(() => new AimdRate({ maxRate: 10, windowMs: 0 })).toThrow(RangeError);
    expect(() => new AimdRate({ maxRate: 10, step: 0 })).toThrow(RangeError);
    expect(() => new AimdRate({ maxRate: 10, step: 1.5 })).toThrow(RangeError);
    // A floor above the rate is the rate.
    expect(new AimdRate({ maxRate: 0.5 }).minRate).toBe(0.5);
  });
});

/**
 * Drives a bucket the way the clients do, against a fake AWS that throttles every request above
 * `awsRate` per second while `throttling(now)` holds, and counts the requests AWS accepted in each
 * second of fake time.
 */
async function simulate(bucket: TokenBucket, t: ReturnType<typeof fakeTime>, seconds: number, awsRate: number, throttling: (now: number) => boolean, sprinkle?: () => boolean) {
  const accepted: number[] = Array.from({ length: seconds }, () => 0);
  const start = t.clock();
  const awsBucket = new TokenBucket({ ratePerSecond: awsRate, burst: awsRate, clock: t.clock });
  while (t.clock() - start < seconds * 1000) {
    await bucket.acquire();
    const now = t.clock();
    const second = Math.floor((now - start) / 1000);
    if (second >= seconds) break;
    const throttled = (throttling(now) && !awsBucket.tryAcquire()) || (sprinkle?.() ?? false);
    bucket.answered(throttled);
    if (!throttled) accepted[second] = (accepted[second] ?? 0) + 1;
    // Each request takes at least a millisecond, so a fake clock with an open bucket still moves.
    t.advance(1);
  }
  return accepted;
}

describe('TokenBucket with adaptive pacing', () => {
  it('keeps its fixed rate when not adaptive', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 1, clock: t.clock });
    bucket.answered(true);
    t.advance(1_000);
    expect(bucket.currentRate()).toBe(20);
  });

  it('drops its saved burst with the rate, so recovery does not start with a spike', () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 40, clock: t.clock, adaptive: {} });
    expect(bucket.available()).toBe(40);
    bucket.answered(true);
    bucket.answered(false);
    t.advance(1_000);
    // Half throttled: (20 + 6) / 2.
    expect(bucket.currentRate()).toBe(13);
    expect(bucket.available()).toBe(26);
  });

  it('under 15% throttles at random, goes on sending at the configured rate', async () => {
    const t = fakeTime();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 20, clock: t.clock, sleep: t.sleep, adaptive: {} });
    let seed = 42;
    // A small linear congruential generator: the same sprinkle every run.
    const sprinkle = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) < 0.15;
    const accepted = await simulate(bucket, t, 30, 1_000, () => false, sprinkle);
    // 85% of 20 per second get through, every second: the rate never collapses towards the floor.
    for (const n of accepted.slice(1)) expect(n).toBeGreaterThanOrEqual(14);
    expect(accepted.slice(1).reduce((a, b) => a + b, 0) / 29).toBeGreaterThan(16);
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

  it('throttles lower the operation\'s rate and the account\'s, and quiet brings both back', () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 20, operationRates: ECR_OPERATION_RATES, clock: t.clock });
    for (let i = 0; i < 4; i++) limiter.answered('PutLifecyclePolicy', true);
    t.advance(1_000);
    expect(limiter.currentRate('PutLifecyclePolicy')).toBe(1);
    expect(limiter.currentRate()).toBe(2);
    expect(limiter.currentRate('ListTagsForResource')).toBe(2);
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

describe('AccountLimiter.acquireWithin: no long sleeps', () => {
  it('keeps a short wait: takes the tokens and sleeps it', async () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 10, burst: 1, adaptive: false, clock: t.clock, sleep: t.sleep });
    expect(await limiter.acquireWithin(250)).toBeUndefined();
    expect(await limiter.acquireWithin(250)).toBeUndefined();
    expect(t.sleeps).toEqual([100]);
  });

  it('sends a caller away at once when the wait would be longer, without taking a token', async () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 2, burst: 1, adaptive: false, clock: t.clock, sleep: t.sleep });
    expect(await limiter.acquireWithin(250)).toBeUndefined();
    const before = limiter.available();
    const deferral = await limiter.acquireWithin(250);
    // The next token comes in 500 ms: longer than a worker may wait.
    expect(deferral).toEqual({ retryAfterMs: 500 });
    expect(t.sleeps).toEqual([]);
    expect(limiter.available()).toBe(before);
    // Had it taken a token, the caller who comes at the right time would find none.
    t.advance(500);
    expect(await limiter.acquireWithin(250)).toBeUndefined();
    expect(t.sleeps).toEqual([]);
  });

  it('gives callers sent away places a token interval apart, so that they do not come back at once', async () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 4, burst: 1, adaptive: false, clock: t.clock, sleep: t.sleep });
    await limiter.acquireWithin(100);
    const retries = [];
    for (let i = 0; i < 4; i++) retries.push((await limiter.acquireWithin(100))?.retryAfterMs);
    expect(retries).toEqual([250, 500, 750, 1000]);
    // Each one, coming back at its time, finds its token without waiting.
    for (const at of [250, 500, 750, 1000]) {
      t.advance(at - (t.clock() - 1_000));
      expect(await limiter.acquireWithin(100)).toBeUndefined();
    }
    expect(t.sleeps).toEqual([]);
  });

  it("a spent operation budget sends its callers away and leaves the account's line to others", async () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 100, burst: 10, operationRates: { CreateRepository: 1 }, adaptive: false, clock: t.clock, sleep: t.sleep });
    expect(await limiter.acquireWithin(250, 'CreateRepository')).toBeUndefined();
    expect(await limiter.acquireWithin(250, 'CreateRepository')).toEqual({ retryAfterMs: 1000 });
    expect(await limiter.acquireWithin(250, 'CreateRepository')).toEqual({ retryAfterMs: 2000 });
    for (let i = 0; i < 9; i++) expect(await limiter.acquireWithin(250, 'ListTagsForResource')).toBeUndefined();
    expect(t.sleeps).toEqual([]);
  });

  it('with no bound, waits as long as it takes', async () => {
    const t = fakeTime();
    const limiter = new AccountLimiter({ requestsPerSecond: 1, burst: 1, adaptive: false, clock: t.clock, sleep: t.sleep });
    expect(await limiter.acquireWithin(Infinity)).toBeUndefined();
    expect(await limiter.acquireWithin(Infinity)).toBeUndefined();
    expect(t.sleeps).toEqual([1000]);
  });
});
