/**
 * Client-side request rate per AWS account. AWS throttles per account and region, so every client
 * that acts for one account draws from one bucket, however many providers or repositories share it.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface TokenBucketOptions {
  /** Tokens added per second (the sustained request rate). */
  ratePerSecond: number;
  /** Bucket size: how many requests may go at once after a quiet period. Defaults to max(1, rate). */
  burst?: number;
  /** Monotonic milliseconds; injected by tests. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

function monotonicNow(): number {
  return performance.now();
}

function sleepMs(ms: number): Promise<void> {
  return delay(ms);
}

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: TokenBucketOptions) {
    if (!Number.isFinite(opts.ratePerSecond) || opts.ratePerSecond <= 0) {
      throw new RangeError(`rate must be a positive number of requests per second, got ${opts.ratePerSecond}`);
    }
    const burst = opts.burst ?? Math.max(1, opts.ratePerSecond);
    if (!Number.isFinite(burst) || burst < 1) throw new RangeError(`burst must be at least 1, got ${burst}`);
    this.ratePerSecond = opts.ratePerSecond;
    this.burst = burst;
    this.clock = opts.clock ?? monotonicNow;
    this.sleep = opts.sleep ?? sleepMs;
    this.tokens = burst;
    this.last = this.clock();
  }

  private refill(): void {
    const now = this.clock();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
  }

  /** Tokens available now; negative while callers are waiting for tokens they have reserved. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /**
   * Takes one token now and returns how many milliseconds the caller must wait before using it.
   * The balance may go negative: each caller reserves the next token in line, which serves callers
   * in arrival order with no timers or queues to manage.
   */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSecond;
  }

  /** Takes a token only if one is available without waiting. */
  tryAcquire(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Resolves when the caller may send one request. */
  async acquire(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await this.sleep(wait);
  }
}

export interface RateLimiterOptions {
  requestsPerSecond: number;
  burst?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** One bucket per account key, created on first use with the configured rate. */
export class RateLimiterRegistry {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly opts: RateLimiterOptions) {
    // Fail at startup on a bad rate rather than on the first AWS call.
    new TokenBucket({ ratePerSecond: opts.requestsPerSecond, burst: opts.burst });
  }

  limiterFor(accountKey: string): TokenBucket {
    let bucket = this.buckets.get(accountKey);
    if (!bucket) {
      bucket = new TokenBucket({
        ratePerSecond: this.opts.requestsPerSecond,
        ...(this.opts.burst !== undefined ? { burst: this.opts.burst } : {}),
        ...(this.opts.clock ? { clock: this.opts.clock } : {}),
        ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}),
      });
      this.buckets.set(accountKey, bucket);
    }
    return bucket;
  }

  /** Forgets a key that will not be used again (a dropped session's provisional key). */
  forget(accountKey: string): void {
    this.buckets.delete(accountKey);
  }

  keys(): string[] {
    return [...this.buckets.keys()];
  }
}
