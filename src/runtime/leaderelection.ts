import type { Logger } from '../observability/logger.js';
import { leaderElectionStatus } from '../observability/metrics.js';
import { jitter, realClock, sleep, type Clock } from './clock.js';
import { errorText, isApiError, resourcePath, type KubeClient, type ResourceRef } from './kube.js';

export const LEASE: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

export interface LeaderElectorOptions {
  client: Pick<KubeClient, 'getOrUndefined' | 'post' | 'put'>;
  namespace: string;
  name: string;
  identity: string;
  /** How long a lease stays valid without renewal, as seen by the others. */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long. Must be shorter than leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew. */
  retryPeriodMs?: number;
  logger: Logger;
  onStartedLeading: () => void;
  /** Called when leadership is lost involuntarily (not after release()). */
  onStoppedLeading: () => void;
  clock?: Clock;
  random?: () => number;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits, as the API server parses it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * client-go's leader election on a coordination.k8s.io/v1 Lease. Expiry is judged by the local time
 * at which this process last saw the lease record change, never by the timestamps in it, so clock
 * skew between nodes does not matter. Every write carries the resourceVersion it was computed from
 * (optimistic concurrency): of two candidates racing for an expired lease, exactly one wins.
 */
const FOLLOWER_JITTER = 0.2;

export class LeaderElector {
  private readonly opts: LeaderElectorOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly path: string;
  private readonly stopController = new AbortController();
  private observed?: { raw: string; at: number; holder: string };
  private leading = false;
  private stopped = false;
  private attempt?: Promise<boolean>;

  constructor(opts: LeaderElectorOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error('renewDeadlineMs must be shorter than leaseDurationMs');
    this.path = resourcePath(LEASE, opts.namespace, opts.name);
    leaderElectionStatus.set({ name: opts.name }, 0);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the lease ('' when none). */
  observedHolder(): string {
    return this.observed?.holder ?? '';
  }

  /**
   * Campaigns until leading, then renews until leadership is lost or release() is called.
   * Resolves when it stops doing either.
   */
  async run(): Promise<void> {
    const signal = this.stopController.signal;
    this.opts.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'attempting to acquire leader lease');
    while (!this.stopped) {
      if (await this.tryOnce(this.renewDeadlineMs)) break;
      // A follower judges expiry from when it last saw the lease change, so its polling delay adds
      // to the takeover time twice; client-go's jitter (up to x2.2) would allow 15 + 2 x 4.4 s.
      // A 20 % jitter still spreads the candidates and keeps a takeover under 20 s with the defaults.
      await sleep(this.clock, jitter(this.retryPeriodMs, FOLLOWER_JITTER, this.random), signal);
    }
    if (this.stopped) return;
    this.setLeading(true);
    this.opts.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'acquired leader lease');
    this.opts.onStartedLeading();

    while (!this.stopped) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (this.stopped) return;
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!this.stopped) {
        const left = deadline - this.clock.now();
        if (left <= 0) break;
        if (await this.tryOnce(left)) {
          renewed = true;
          break;
        }
        await sleep(this.clock, Math.min(this.retryPeriodMs, Math.max(0, deadline - this.clock.now())), signal);
      }
      if (this.stopped) return;
      if (!renewed) {
        this.setLeading(false);
        this.opts.logger.error({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'failed to renew leader lease within the deadline; leadership lost');
        this.opts.onStoppedLeading();
        return;
      }
    }
  }

  /**
   * Stops campaigning and, when leading, hands the lease back (empty holder) so that another
   * candidate takes over at once instead of waiting for it to expire.
   */
  async release(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort();
    // A renew still in flight must not land after the release.
    await this.attempt?.catch(() => false);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.opts.client.getOrUndefined<Lease>(this.path);
      if (!lease || lease.spec?.holderIdentity !== this.opts.identity) return;
      const now = this.clock.now();
      await this.opts.client.put<Lease>(this.path, {
        ...lease,
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: lease.spec?.leaseTransitions ?? 0,
        },
      });
      this.opts.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'released leader lease');
    } catch (err) {
      this.opts.logger.warn({ err: errorText(err) }, 'could not release leader lease; the next leader waits for it to expire');
    }
  }

  /** One attempt, bounded by `timeoutMs`: a hung request counts as a failure. */
  private async tryOnce(timeoutMs: number): Promise<boolean> {
    this.attempt = this.tryAcquireOrRenew();
    let handle: unknown;
    const timeout = new Promise<boolean>((resolve) => {
      handle = this.clock.setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.attempt, timeout]);
    } finally {
      this.clock.clearTimeout(handle);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const durationSeconds = Math.max(1, Math.round(this.leaseDurationMs / 1000));
    try {
      const lease = await this.opts.client.getOrUndefined<Lease>(this.path);
      if (!lease) {
        const created = await this.opts.client.post<Lease>(resourcePath(LEASE, this.opts.namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: {
            holderIdentity: this.opts.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.observe(created, this.clock.now());
        return true;
      }
      this.observe(lease, now);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const validMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      const mine = holder === this.opts.identity;
      if (holder && !mine && (this.observed?.at ?? now) + validMs > now) return false;
      const updated = await this.opts.client.put<Lease>(this.path, {
        ...lease,
        spec: {
          holderIdentity: this.opts.identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: mine ? spec.leaseTransitions ?? 0 : (spec.leaseTransitions ?? 0) + 1,
        },
      });
      this.observe(updated, this.clock.now());
      return true;
    } catch (err) {
      // 409: someone else wrote first (we lost the race), 404/409 on create likewise.
      if (!isApiError(err, 409)) this.opts.logger.warn({ err: errorText(err) }, 'leader lease request failed');
      return false;
    }
  }

  private observe(lease: Lease, at: number): void {
    const raw = JSON.stringify(lease.spec ?? {});
    if (this.observed?.raw === raw) return;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.observed?.holder && holder !== this.opts.identity) {
      this.opts.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, holder: holder || undefined }, 'observed leader lease holder');
    }
    this.observed = { raw, at, holder };
  }

  private setLeading(value: boolean): void {
    this.leading = value;
    leaderElectionStatus.set({ name: this.opts.name }, value ? 1 : 0);
  }
}
