import os from 'node:os';
import type { Logger } from '../observability/logger.js';
import { eventsDropped } from '../observability/metrics.js';
import { realClock, type Clock } from './clock.js';
import { errorText, isApiError, type KubeClient } from './kube.js';
import type { KubeObject } from './types.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: Pick<KubeClient, 'post' | 'patch'>;
  /** `source.component` / `reportingComponent` of every Event. */
  component: string;
  logger: Logger;
  clock?: Clock;
  /** `reportingInstance` / `source.host`; the host name when omitted. */
  instance?: string;
  /** A repeat within this window updates the existing Event (client-go: 10 minutes). */
  aggregateWindowMs?: number;
  /** Per-object token bucket (client-go's spam filter: burst 25, one token every 5 minutes). */
  burst?: number;
  refillEveryMs?: number;
  /** Bound on the remembered Events and buckets (client-go: 4096). */
  maxEntries?: number;
}

interface Aggregate {
  name?: string;
  namespace: string;
  count: number;
  /** The count the API server holds. */
  written: number;
  firstTimestamp: string;
  lastSeen: number;
  /** Writes of one Event happen in order; a repeat waits for the create before it patches. */
  chain: Promise<void>;
}

interface Bucket {
  tokens: number;
  last: number;
}

/** metav1.Time: RFC 3339 in whole seconds. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const MAX_MESSAGE = 1024;

/**
 * Records core/v1 Events on objects (what `kubectl describe` shows). Fire and forget: recording
 * never throws and never blocks a reconcile. Like client-go's EventCorrelator, a repeat of the same
 * object + type + reason + message within the window bumps count and lastTimestamp of the existing
 * Event instead of creating another, and a per-object token bucket keeps a retry loop from flooding
 * the API server.
 */
export class EventRecorder {
  private readonly opts: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly instance: string;
  private readonly window: number;
  private readonly burst: number;
  private readonly refillEveryMs: number;
  private readonly maxEntries: number;
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly buckets = new Map<string, Bucket>();
  /** Write chains not yet settled, even those of aggregates evicted from the map meanwhile. */
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;

  constructor(opts: EventRecorderOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.instance = opts.instance ?? os.hostname();
    this.window = opts.aggregateWindowMs ?? 600_000;
    this.burst = opts.burst ?? 25;
    this.refillEveryMs = opts.refillEveryMs ?? 300_000;
    this.maxEntries = opts.maxEntries ?? 4096;
  }

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    try {
      this.recordUnsafe(obj, type, reason, message);
    } catch (err) {
      eventsDropped.inc({ reason: 'error' });
      this.opts.logger.warn({ err: errorText(err), reason }, 'could not record event');
    }
  }

  /**
   * Resolves when every write recorded so far has finished, including repeats recorded while
   * waiting (for shutdown and tests). Never rejects: a failed write is already logged and counted.
   */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private recordUnsafe(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const meta = obj.metadata ?? {};
    if (!meta.name) throw new Error('object has no name');
    const now = this.clock.now();
    const objectKey = meta.uid ?? `${obj.apiVersion}/${obj.kind}/${meta.namespace ?? ''}/${meta.name}`;
    if (!this.take(objectKey, now)) {
      eventsDropped.inc({ reason: 'rate_limited' });
      this.opts.logger.debug({ namespace: meta.namespace, name: meta.name, reason }, 'event dropped by rate limit');
      return;
    }
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = [objectKey, type, reason, text].join('\u0000');
    let agg = this.aggregates.get(key);
    if (agg && now - agg.lastSeen > this.window) agg = undefined;
    if (!agg) {
      agg = { namespace: meta.namespace || 'default', count: 0, written: 0, firstTimestamp: timestamp(now), lastSeen: now, chain: Promise.resolve() };
    }
    // Re-inserting keeps the Map in least-recently-used order for eviction.
    this.aggregates.delete(key);
    this.aggregates.set(key, agg);
    this.evict(this.aggregates);
    agg.count += 1;
    agg.lastSeen = now;
    const entry = agg;
    const count = agg.count;
    const chain = entry.chain
      .then(() => this.write(entry, count, obj, type, reason, text, now))
      .catch((err: unknown) => {
        eventsDropped.inc({ reason: 'error' });
        this.opts.logger.warn({ err: errorText(err), namespace: meta.namespace, name: meta.name, reason }, 'could not write event');
      })
      .finally(() => this.pending.delete(chain));
    entry.chain = chain;
    this.pending.add(chain);
  }

  private async write(agg: Aggregate, count: number, obj: KubeObject, type: EventType, reason: string, message: string, now: number): Promise<void> {
    const base = `/api/v1/namespaces/${encodeURIComponent(agg.namespace)}/events`;
    if (agg.name) {
      // Repeats that arrived while an earlier write was in flight are folded into one write.
      if (count < agg.count || count <= agg.written) return;
      try {
        await this.opts.client.patch(`${base}/${encodeURIComponent(agg.name)}`, { count, lastTimestamp: timestamp(now) }, 'merge');
        agg.written = count;
        return;
      } catch (err) {
        // Events expire (one hour by default); start a new one.
        if (!isApiError(err, 404)) throw err;
        agg.name = undefined;
        agg.firstTimestamp = timestamp(now);
      }
    }
    const meta = obj.metadata ?? {};
    const name = `${meta.name}.${(BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: agg.namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.opts.component, host: this.instance },
      reportingComponent: this.opts.component,
      reportingInstance: this.instance,
      firstTimestamp: agg.firstTimestamp,
      lastTimestamp: timestamp(agg.lastSeen),
      count: agg.count,
    };
    agg.name = name;
    try {
      await this.opts.client.post(base, event);
      agg.written = event.count;
    } catch (err) {
      agg.name = undefined;
      throw err;
    }
  }

  private take(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (!b) b = { tokens: this.burst, last: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.last) / this.refillEveryMs);
    b.last = now;
    this.buckets.delete(key);
    this.buckets.set(key, b);
    this.evict(this.buckets);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private evict(map: Map<string, unknown>): void {
    while (map.size > this.maxEntries) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}
