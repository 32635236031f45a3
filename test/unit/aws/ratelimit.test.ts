import { describe, expect, it } from 'vitest';
import { RateLimiterRegistry, TokenBucket } from '../../../src/aws/ratelimit.js';

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
    expect([a.ratePerSecond, a.burst]).toEqual([5, 2]);

    // Draining one account's bucket leaves the other's untouched.
    a.reserve();
    a.reserve();
    expect(registry.limiterFor('111122223333').reserve()).toBe(200);
    expect(b.reserve()).toBe(0);
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
