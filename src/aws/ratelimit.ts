/**
 * Client-side request rate per AWS account, region and endpoint. AWS throttles per account and
 * region (and each service on its own endpoint), so every client that calls one endpoint for one
 * account draws from one bucket, however many providers or repositories share it, while the same
 * account's work in another region, or against another endpoint, has a budget of its own.
 *
 * Throttling is a rate signal, not a failure: each second the rate becomes the share of answers
 * AWS did not throttle times the rate plus a step (see AimdRate). A few throttles among many
 * answers cost nothing, a rate AWS refuses wholesale falls to a floor within a second or two, and
 * the configured rate is back within three seconds once throttles stop. The SDK's own "adaptive"
 * retry mode did the opposite: each client cut its rate towards 0.5 request per second on every
 * throttle and recovered over minutes, so a burst of throttling left the operator crawling long
 * after AWS had stopped refusing.
 *
 * No worker sleeps long on a spent budget: a request that would wait more than a short while
 * (AccountLimiter.acquireWithin) takes no token and is told when to come back, so the worker can
 * serve other accounts' work meanwhile. The callers sent away are given places in a line, a token
 * interval apart, so that they do not all come back at the same moment.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface AimdOptions {
  /** The rate is never cut below this. Default: a tenth of the configured rate, at least 1/s (or the rate itself when lower). */
  minRate?: number;
  /** How often the rate is set from what AWS answered. Default 1 s. */
  windowMs?: number;
  /** What a window adds back, as a fraction of the configured rate. Default 0.3. */
  step?: number;
}

export interface TokenBucketOptions {
  /** Tokens added per second (the sustained request rate). */
  ratePerSecond: number;
  /** Bucket size: how many requests may go at once after a quiet period. Defaults to max(1, rate). */
  burst?: number;
  /** Monotonic milliseconds; injected by tests. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** When given, the answers reported through `answered()` set the rate (see AimdRate). */
  adaptive?: AimdOptions;
}

function monotonicNow(): number {
  return performance.now();
}

function sleepMs(ms: number): Promise<void> {
  return delay(ms);
}

/**
 * Additive increase, multiplicative decrease, judged once a window: with f the share of the
 * window's answers that were throttles,
 *
 *   next rate = (1 − f) × (rate + step × configured rate), within [floor, configured rate].
 *
 * (1 − f) × rate is what AWS accepted of what was sent, so the decrease follows the evidence: a
 * window of nothing but throttles falls to the floor, a steady sprinkle (15% of answers, say)
 * keeps the configured rate, and the step brings the rate from the floor back to the configured
 * one in three quiet windows. Against a real limit L the rate settles a little above L, where the
 * throttles it still meets are the price of finding out that the limit has risen. A pure function
 * of the clock and the answers reported, so tests can step a fake clock and read it.
 */
export class AimdRate {
  readonly maxRate: number;
  readonly minRate: number;
  private readonly windowMs: number;
  private readonly step: number;
  private readonly clock: () => number;
  private current: number;
  private windowStart: number;
  private answers = 0;
  private throttles = 0;

  constructor(opts: AimdOptions & { maxRate: number; clock?: () => number }) {
    this.maxRate = opts.maxRate;
    this.minRate = Math.min(opts.maxRate, opts.minRate ?? Math.max(1, opts.maxRate / 10));
    this.windowMs = opts.windowMs ?? 1_000;
    this.step = opts.step ?? 0.3;
    this.clock = opts.clock ?? monotonicNow;
    if (!(this.minRate > 0) || !(this.windowMs > 0) || !(this.step > 0 && this.step <= 1)) {
      throw new RangeError('adaptive rate: the floor and the window must be positive and the step in (0, 1]');
    }
    this.current = this.maxRate;
    this.windowStart = this.clock();
  }

  rate(now: number = this.clock()): number {
    this.close(now);
    return this.current;
  }

  /** One answer from AWS to a request this rate paced: throttled or not (any other error is an answer too). */
  answered(throttled: boolean, now: number = this.clock()): void {
    this.close(now);
    this.answers += 1;
    if (throttled) this.throttles += 1;
  }

  /** Closes every window that has ended by `now`; windows without answers climb by a step. */
  private close(now: number): void {
    while (now - this.windowStart >= this.windowMs) {
      const accepted = this.answers === 0 ? 1 : 1 - this.throttles / this.answers;
      const next = accepted * (this.current + this.step * this.maxRate);
      this.current = Math.min(this.maxRate, Math.max(this.minRate, next));
      this.answers = 0;
      this.throttles = 0;
      this.windowStart += this.windowMs;
      // A long quiet stretch: the rest of the windows would only climb further.
      if (this.current >= this.maxRate && now - this.windowStart >= this.windowMs) {
        this.windowStart += Math.floor((now - this.windowStart) / this.windowMs) * this.windowMs;
      }
    }
  }
}

export class TokenBucket {
  /** The configured rate: the most this bucket ever lets through. */
  readonly ratePerSecond: number;
  /** The configured burst, at the configured rate. */
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly adaptive: AimdRate | undefined;
  /** When the next caller sent away (deferredSlot) is told to come back, on the bucket's clock. */
  private nextDeferred = -Infinity;

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
    this.adaptive = opts.adaptive ? new AimdRate({ ...opts.adaptive, maxRate: opts.ratePerSecond, clock: this.clock }) : undefined;
    this.tokens = burst;
    this.last = this.clock();
  }

  /** The rate in force now: the configured one, or less for a while after throttling. */
  currentRate(): number {
    return this.adaptive ? this.adaptive.rate() : this.ratePerSecond;
  }

  /** The burst in force now: it shrinks with the rate, so that recovery does not start with a spike. */
  private currentBurst(rate: number): number {
    return Math.max(1, (this.burst * rate) / this.ratePerSecond);
  }

  /**
   * AWS answered a request paced here, throttled or not. Without adaptive pacing this changes
   * nothing; with it, the answers set the rate (see AimdRate), and when the rate drops the tokens
   * saved up beyond the smaller burst go with it.
   */
  answered(throttled: boolean): void {
    if (!this.adaptive) return;
    this.refill();
    this.adaptive.answered(throttled);
  }

  private refill(): void {
    const now = this.clock();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    const rate = this.currentRate();
    this.tokens = Math.min(this.currentBurst(rate), this.tokens + (elapsed * rate) / 1000);
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
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.currentRate();
  }

  /** Milliseconds until a token is there for one more caller (0: one is there now). Takes nothing. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.currentRate();
  }

  /**
   * A place in the line of callers sent away instead of waiting: the first time at least
   * `minWaitMs` from now that no earlier one was given; the next one is told a token interval
   * later. Returns the milliseconds from now. Takes no token: the caller asks again then.
   */
  deferredSlot(minWaitMs: number): number {
    const now = this.clock();
    const at = Math.max(now + minWaitMs, this.nextDeferred);
    this.nextDeferred = at + 1000 / this.currentRate();
    return at - now;
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

/**
 * Client-side limits per ECR operation, in requests per second per account and region.
 *
 * ECR's service quotas page documents rates only for the image push and pull APIs (for example
 * GetAuthorizationToken 200/s, BatchGetImage 2,000/s, InitiateLayerUpload and CompleteLayerUpload
 * 10-100/s, PutImage 10/s); it publishes no rate for the repository management APIs this operator
 * calls (CreateRepository, DescribeRepositories, PutLifecyclePolicy, ListTagsForResource,
 * DescribeImages, ...). Those figures are therefore conservative choices of ours, not AWS's:
 * 10/s for anything that changes a repository, 20/s for reads. At the default overall cap
 * (--aws-requests-per-second=20) they bind only when one operation dominates; they keep a raised
 * overall cap from being spent on one API. Operations not listed (STS) have no limit of their own.
 */
const MUTATING_RATE = 10;
const READ_RATE = 20;
export const ECR_OPERATION_RATES: Readonly<Record<string, number>> = {
  CreateRepository: MUTATING_RATE,
  DeleteRepository: MUTATING_RATE,
  PutImageTagMutability: MUTATING_RATE,
  PutImageScanningConfiguration: MUTATING_RATE,
  PutLifecyclePolicy: MUTATING_RATE,
  DeleteLifecyclePolicy: MUTATING_RATE,
  SetRepositoryPolicy: MUTATING_RATE,
  DeleteRepositoryPolicy: MUTATING_RATE,
  TagResource: MUTATING_RATE,
  UntagResource: MUTATING_RATE,
  PutReplicationConfiguration: MUTATING_RATE,
  PutRegistryPolicy: MUTATING_RATE,
  DeleteRegistryPolicy: MUTATING_RATE,
  PutRegistryScanningConfiguration: MUTATING_RATE,
  DescribeRepositories: READ_RATE,
  ListTagsForResource: READ_RATE,
  GetLifecyclePolicy: READ_RATE,
  GetRepositoryPolicy: READ_RATE,
  ListImages: READ_RATE,
  DescribeImages: READ_RATE,
  DescribeRegistry: READ_RATE,
  GetRegistryPolicy: READ_RATE,
  GetRegistryScanningConfiguration: READ_RATE,
  StartLifecyclePolicyPreview: MUTATING_RATE,
  GetLifecyclePolicyPreview: READ_RATE,
};

/** A request that was not admitted: it took no token and may try again after `retryAfterMs`. */
export interface Deferral {
  retryAfterMs: number;
}

export interface AccountLimiterOptions {
  /** The overall cap for the account: every operation together. */
  requestsPerSecond: number;
  burst?: number;
  /** Per-operation limits under the overall cap; none by default. */
  operationRates?: Readonly<Record<string, number>>;
  /** Throttle handling; the defaults of AimdOptions unless false (a fixed rate). */
  adaptive?: AimdOptions | false;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * One account's pacing: an overall bucket and one bucket per limited operation. A request waits
 * for its operation's bucket first and then for the account's, so that a busy operation queues
 * behind its own limit without holding tokens of the account that others could use.
 */
export class AccountLimiter {
  readonly overall: TokenBucket;
  private readonly operations = new Map<string, TokenBucket>();

  constructor(private readonly opts: AccountLimiterOptions) {
    this.overall = new TokenBucket({
      ratePerSecond: opts.requestsPerSecond,
      ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
      ...this.common(),
    });
  }

  private common(): Pick<TokenBucketOptions, 'clock' | 'sleep' | 'adaptive'> {
    return {
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}),
      ...(this.opts.adaptive === false ? {} : { adaptive: this.opts.adaptive ?? {} }),
    };
  }

  /** The bucket of one operation, or undefined when it has no limit of its own. */
  operation(name: string): TokenBucket | undefined {
    const rate = this.opts.operationRates?.[name];
    if (rate === undefined) return undefined;
    let bucket = this.operations.get(name);
    if (!bucket) {
      // An operation's burst is its rate, and never above the account's burst.
      bucket = new TokenBucket({ ratePerSecond: rate, burst: Math.max(1, Math.min(rate, this.overall.burst)), ...this.common() });
      this.operations.set(name, bucket);
    }
    return bucket;
  }

  /** Resolves when one request of this operation may be sent, however long that takes. */
  async acquire(operation?: string): Promise<void> {
    const own = operation === undefined ? undefined : this.operation(operation);
    if (own) await own.acquire();
    await this.overall.acquire();
  }

  /**
   * One request of this operation, if its tokens (the operation's and the account's) are there
   * within `maxWaitMs`: then they are taken, the wait is slept and the result is undefined.
   * Otherwise nothing is taken, nothing is slept, and the answer says when to try again: the later
   * of the time the tokens would be there and the caller's place in the line of those sent away.
   */
  async acquireWithin(maxWaitMs: number, operation?: string): Promise<Deferral | undefined> {
    const own = operation === undefined ? undefined : this.operation(operation);
    const buckets = own ? [own, this.overall] : [this.overall];
    const waits = buckets.map((b) => b.waitMs());
    if (Math.max(...waits) > maxWaitMs) {
      let retryAfterMs = 0;
      buckets.forEach((b, i) => {
        const wait = waits[i] ?? 0;
        // Only a bucket that sends the caller away gives it a place in its line.
        if (wait > maxWaitMs) retryAfterMs = Math.max(retryAfterMs, b.deferredSlot(wait));
      });
      return { retryAfterMs: Math.ceil(retryAfterMs) };
    }
    const wait = Math.max(...buckets.map((b) => b.reserve()));
    if (wait > 0) await (this.opts.sleep ?? sleepMs)(wait);
    return undefined;
  }

  /** AWS answered a request of this operation: its own rate and the account's follow the answers. */
  answered(operation: string | undefined, throttled: boolean): void {
    if (operation !== undefined) this.operation(operation)?.answered(throttled);
    this.overall.answered(throttled);
  }

  /** Milliseconds until the account's overall bucket has a request to spare; takes nothing. */
  waitMs(): number {
    return this.overall.waitMs();
  }

  /** Tokens of the overall bucket; see TokenBucket.available. */
  available(): number {
    return this.overall.available();
  }

  currentRate(operation?: string): number {
    const overall = this.overall.currentRate();
    const own = operation === undefined ? undefined : this.operation(operation);
    return own ? Math.min(own.currentRate(), overall) : overall;
  }
}

export interface RateLimiterOptions {
  requestsPerSecond: number;
  burst?: number;
  operationRates?: Readonly<Record<string, number>>;
  adaptive?: AimdOptions | false;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** What one limiter paces: the calls of one account to one endpoint (in one region). */
export interface LimiterScope {
  accountId: string;
  region: string;
  /** The service (ECR, STS): names AWS's own endpoint when no endpoint is configured. */
  service: string;
  /** A configured endpoint URL; undefined for AWS's own endpoint of the service in the region. */
  endpoint?: string | undefined;
}

/**
 * The limiter key of a scope: `account|region|endpoint`. A configured endpoint is reduced to its
 * scheme, host, port and path (user info and query dropped: keys may be logged, and two spellings
 * of one endpoint share a budget); AWS's own endpoint is `aws:<service>`.
 */
export function limiterKey(scope: LimiterScope): string {
  return `${scope.accountId}|${scope.region}|${endpointIdentity(scope.service, scope.endpoint)}`;
}

function endpointIdentity(service: string, endpoint: string | undefined): string {
  if (endpoint === undefined || endpoint.trim() === '') return `aws:${service.toLowerCase()}`;
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    // Not a URL: the clients refuse it before any call; a key that names nothing else is enough.
    return 'invalid-endpoint';
  }
}

/** One limiter per key (see limiterKey), created on first use with the configured rates. */
export class RateLimiterRegistry {
  private readonly limiters = new Map<string, AccountLimiter>();

  constructor(private readonly opts: RateLimiterOptions) {
    // Fail at startup on a bad rate rather than on the first AWS call.
    new AccountLimiter(opts);
    for (const [name, rate] of Object.entries(opts.operationRates ?? {})) {
      if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`the rate of ${name} must be positive, got ${rate}`);
    }
  }

  limiterFor(accountKey: string): AccountLimiter {
    let limiter = this.limiters.get(accountKey);
    if (!limiter) {
      limiter = new AccountLimiter(this.opts);
      this.limiters.set(accountKey, limiter);
    }
    return limiter;
  }

  /** Forgets a key that will not be used again (a dropped session's provisional key). */
  forget(accountKey: string): void {
    this.limiters.delete(accountKey);
  }

  keys(): string[] {
    return [...this.limiters.keys()];
  }
}
