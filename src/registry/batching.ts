import { realClock, type Clock } from '../runtime/clock.js';
import type { InformerEvent } from '../runtime/informer.js';
import type { KubeObject } from '../runtime/types.js';

/**
 * Holds back a burst of informer events and delivers it at once, when no event came for `quietMs`
 * or the oldest held event is `maxWaitMs` old. A registry's document is replaced whole on every
 * Put: `kubectl apply` of twenty objects arrives as twenty events over a second or two, and without
 * this window the first event starts a reconcile (and a Put) while the rest are still arriving.
 * Delivered in one go, the events add one work-queue key, which the queue deduplicates.
 */
export class BatchedEvents<T extends KubeObject> {
  private readonly held: InformerEvent<T>[] = [];
  private readonly handlers = new Set<(e: InformerEvent<T>) => void>();
  private quietTimer: unknown;
  private firstHeldAt = 0;
  private readonly clock: Clock;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: { onEvent(handler: (e: InformerEvent<T>) => void): () => void; list(namespace?: string): T[] },
    private readonly opts: { quietMs: number; maxWaitMs: number; clock?: Clock },
  ) {
    this.clock = opts.clock ?? realClock;
    this.unsubscribe = source.onEvent((e) => this.hold(e));
  }

  list(namespace?: string): T[] {
    return this.source.list(namespace);
  }

  onEvent(handler: (e: InformerEvent<T>) => void): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /** Delivers what is held now and stops listening. */
  close(): void {
    this.unsubscribe();
    this.flush();
  }

  private hold(e: InformerEvent<T>): void {
    const now = this.clock.now();
    if (this.held.length === 0) this.firstHeldAt = now;
    this.held.push(e);
    this.clock.clearTimeout(this.quietTimer);
    const wait = Math.max(0, Math.min(this.opts.quietMs, this.firstHeldAt + this.opts.maxWaitMs - now));
    this.quietTimer = this.clock.setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.clock.clearTimeout(this.quietTimer);
    const events = this.held.splice(0);
    for (const e of events) for (const h of this.handlers) h(e);
  }
}
