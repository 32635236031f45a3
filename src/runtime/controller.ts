import type { Logger } from '../observability/logger.js';
import {
  activeWorkers, maxConcurrentReconciles, reconcileErrors, reconcileTime, reconcileTotal,
} from '../observability/metrics.js';
import { realClock, type Clock } from './clock.js';
import type { Informer, InformerEventType } from './informer.js';
import { errorText } from './kube.js';
import { keyOf, keyString, parseKey, type KubeObject, type ObjectKey, type ReconcileFn } from './types.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

/** The annotation whose change asks for an immediate full reconcile. */
export const FORCE_SYNC_ANNOTATION = 'force-sync';

/** Decides whether an informer event enqueues its object. `type` is given for ADDED/MODIFIED/DELETED. */
export type Predicate<T extends KubeObject> = (old: T | undefined, obj: T, type?: InformerEventType) => boolean;

/** True when a finalizer that `old` had is gone from `obj`. */
function finalizerRemoved(old: string[] | undefined, obj: string[] | undefined): boolean {
  const now = new Set(obj ?? []);
  return (old ?? []).some((f) => !now.has(f));
}

/**
 * Enqueue on ADDED and DELETED; on MODIFIED only for changes that ask for work: a new generation
 * (spec), a deletion timestamp, a removed finalizer (ours must be put back; during deletion another
 * controller's removal can unblock us), a new `force-sync` value, or a recreated object (new uid).
 * Status-only and other metadata updates, above all our own status and finalizer writes, enqueue
 * nothing; otherwise every object would be reconciled twice on create, or in a loop.
 */
export function defaultPredicate<T extends KubeObject>(old: T | undefined, obj: T, type?: InformerEventType): boolean {
  if (type === 'ADDED' || type === 'DELETED' || !old) return true;
  const o = old.metadata ?? {};
  const n = obj.metadata ?? {};
  return o.uid !== n.uid
    || o.generation !== n.generation
    || o.deletionTimestamp !== n.deletionTimestamp
    || finalizerRemoved(o.finalizers, n.finalizers)
    || o.annotations?.[FORCE_SYNC_ANNOTATION] !== n.annotations?.[FORCE_SYNC_ANNOTATION];
}

type EventSource<T extends KubeObject> = Pick<Informer<T>, 'onEvent' | 'list'>;

export interface SecondaryWatch {
  // Any kind: the map function turns its objects into keys of the primary kind.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  informer: EventSource<any>;
  /** Keys of primary objects affected by this object. On MODIFIED both old and new are mapped. */
  map: (obj: KubeObject) => ObjectKey[];
  /** Default: every change of the secondary object (a status flip of a dependency matters). */
  predicate?: Predicate<KubeObject>;
}

export interface ControllerOptions<T extends KubeObject> {
  name: string;
  informer: EventSource<T>;
  reconcile: ReconcileFn;
  logger: Logger;
  concurrency: number;
  /** Every cached object is reconciled again about this often (drift detection); 0 disables. */
  resyncPeriodMs: number;
  predicate?: Predicate<T>;
  secondary?: SecondaryWatch[];
  /** Backoff and rate limit of the queue (client-go's defaults otherwise). */
  queue?: Omit<WorkQueueOptions, 'name' | 'clock'>;
  clock?: Clock;
  random?: () => number;
}

/** Share of the resync period over which one resync pass is spread. */
const RESYNC_SPREAD = 0.1;

/**
 * controller-runtime's controller: informer events pass the predicate into a work queue of keys,
 * `concurrency` workers reconcile keys, and the queue owns retries (error → per-key backoff,
 * success → reset, requeueAfterMs → delayed add).
 */
export class Controller<T extends KubeObject> {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly opts: ControllerOptions<T>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly unsubscribe: Array<() => void> = [];
  private workers: Promise<void>[] = [];
  private resyncHandle: unknown;
  private started = false;
  private stopped = false;

  constructor(opts: ControllerOptions<T>) {
    this.opts = opts;
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.queue = new WorkQueue({ ...opts.queue, name: opts.name, clock: this.clock });
    const predicate = opts.predicate ?? defaultPredicate;
    // Subscribed now, not in start(): events of the informer's first list (which may come before
    // this replica leads) are kept in the queue, deduplicated, until the workers start.
    this.unsubscribe.push(opts.informer.onEvent((e) => {
      if (e.type === 'DELETED' || predicate(e.old, e.object, e.type)) this.queue.add(keyString(keyOf(e.object)));
    }));
    for (const s of opts.secondary ?? []) {
      this.unsubscribe.push(s.informer.onEvent((e) => {
        if (s.predicate && !s.predicate(e.old, e.object, e.type)) return;
        const keys = [...s.map(e.object), ...(e.type === 'MODIFIED' && e.old ? s.map(e.old) : [])];
        for (const k of keys) this.queue.add(keyString(k));
      }));
    }
    maxConcurrentReconciles.set({ controller: this.name }, opts.concurrency);
    activeWorkers.set({ controller: this.name }, 0);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    // A full pass at start: whatever happened while another replica (or no one) was leading.
    for (const obj of this.opts.informer.list()) this.queue.add(keyString(keyOf(obj)));
    for (let i = 0; i < Math.max(1, this.opts.concurrency); i++) this.workers.push(this.worker());
    if (this.opts.resyncPeriodMs > 0) this.scheduleResync();
    this.opts.logger.info({ controller: this.name, workers: this.opts.concurrency }, 'controller started');
  }

  /**
   * Stops dequeuing at once and waits for in-flight reconciles, at most drainTimeoutMs.
   * Queued keys are dropped: the next leader's full pass picks them up.
   */
  async stop(drainTimeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.resyncHandle);
    for (const u of this.unsubscribe.splice(0)) u();
    const inFlight = this.queue.inFlight();
    const drained = await this.queue.shutDownWithDrain(drainTimeoutMs);
    if (drained) await Promise.all(this.workers);
    this.opts.logger.info({ controller: this.name, inFlight, drained }, drained
      ? 'controller stopped'
      : 'controller stopped with reconciles still running');
  }

  private scheduleResync(): void {
    this.resyncHandle = this.clock.setTimeout(() => {
      if (this.stopped) return;
      const spread = this.opts.resyncPeriodMs * RESYNC_SPREAD;
      for (const obj of this.opts.informer.list()) {
        this.queue.addAfter(keyString(keyOf(obj)), this.random() * spread);
      }
      this.scheduleResync();
    }, this.opts.resyncPeriodMs);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const controller = this.name;
    const { namespace, name } = parseKey(key);
    const started = this.clock.now();
    activeWorkers.inc({ controller });
    let result: 'success' | 'requeue' | 'error' = 'success';
    let metricResult: 'success' | 'requeue' | 'requeue_after' | 'error' = 'success';
    let requeueAfterMs: number | undefined;
    let error: unknown;
    try {
      const res = await this.opts.reconcile({ namespace, name });
      if (res?.requeue) {
        this.queue.addRateLimited(key);
        result = 'requeue';
        metricResult = 'requeue';
      } else {
        this.queue.forget(key);
        if (res?.requeueAfterMs && res.requeueAfterMs > 0) {
          requeueAfterMs = res.requeueAfterMs;
          this.queue.addAfter(key, requeueAfterMs);
          result = 'requeue';
          metricResult = 'requeue_after';
        }
      }
    } catch (err) {
      error = err;
      this.queue.addRateLimited(key);
      result = 'error';
      metricResult = 'error';
      reconcileErrors.inc({ controller });
    } finally {
      this.queue.done(key);
      activeWorkers.dec({ controller });
    }
    const durationMs = this.clock.now() - started;
    reconcileTotal.inc({ controller, result: metricResult });
    reconcileTime.observe({ controller }, durationMs / 1000);
    const line: Record<string, unknown> = { controller, namespace, name, result, durationMs };
    if (requeueAfterMs !== undefined) line.requeueAfterMs = requeueAfterMs;
    if (error !== undefined) {
      line.err = errorText(error);
      this.opts.logger.error(line, 'reconcile failed');
    } else {
      this.opts.logger.info(line, 'reconciled');
    }
  }
}
