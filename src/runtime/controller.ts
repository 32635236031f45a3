import type { Logger } from '../observability/logger.js';
import {
  activeWorkers, maxConcurrentReconciles, reconcileErrors, reconcileTime, reconcileTotal,
} from '../observability/metrics.js';
import { realClock, type Clock } from './clock.js';
import type { Informer, InformerEventType } from './informer.js';
import { errorText } from './kube.js';
import { keyOf, keyString, parseKey, type KubeObject, type ObjectKey, type ReconcileFn } from './types.js';
import { WorkQueue, type Priority, type WorkQueueOptions } from './workqueue.js';

/** The annotation whose change asks for an immediate full reconcile. */
export const FORCE_SYNC_ANNOTATION = 'force-sync';
/** The annotation that allows taking over an existing AWS resource; setting or changing it asks for work too. */
export const ADOPT_ANNOTATION = 'aws-infra-operator.runner.codes/adopt';
/** Annotations whose change is a user's request for a reconcile (every other metadata change is not). */
export const TRIGGER_ANNOTATIONS: readonly string[] = [FORCE_SYNC_ANNOTATION, ADOPT_ANNOTATION];

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
 * controller's removal can unblock us), a new `force-sync` or adopt annotation value, or a recreated
 * object (new uid).
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
    || TRIGGER_ANNOTATIONS.some((a) => o.annotations?.[a] !== n.annotations?.[a]);
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
  /** Priority of the keys this watch enqueues (default high: a change of a dependency is news). */
  priority?: Priority;
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

/** How many `cause` links retryAfterOf follows. */
const MAX_CAUSE_DEPTH = 5;

/**
 * The time after which to try again when a reconcile failed only because a budget shared with
 * other keys was spent at that moment (aws/errors.ts's ClientRateLimited carries it as
 * `retryAfterMs`), found on the error or on an error it was caused by; undefined otherwise.
 * Such a failure says nothing about the key: the controller queues it again after that time, at
 * its priority, without counting a failure for its backoff.
 */
export function retryAfterOf(err: unknown): number | undefined {
  let current: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current instanceof Error; depth++) {
    const ms = (current as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) return ms;
    current = current.cause;
  }
  return undefined;
}

/** Share of the resync period over which one resync pass is spread. */
const RESYNC_SPREAD = 0.1;

/** The `result` label values of controller_runtime_reconcile_total. */
const RESULTS = ['success', 'error', 'requeue', 'requeue_after'] as const;

/**
 * controller-runtime's controller: informer events pass the predicate into a work queue of keys,
 * `concurrency` workers reconcile keys, and the queue owns retries (error → per-key backoff,
 * success → reset, requeueAfterMs → delayed add). An error that carries a retry time (retryAfterOf:
 * a rate budget shared with other keys is spent) is no failure of the key: it is queued again after
 * that time at its own priority, and its backoff stays as it was.
 *
 * The queue exists only between start() and stop(), that is while this replica leads: a standby
 * replica's informers fill their caches, but it holds no queue and no keys. start() makes up for
 * everything it did not see with one full pass over the cache.
 *
 * Priorities: what users did (an event that passes the predicate: create, spec change, deletion,
 * force-sync, adopt) is queued high; the full pass at start, periodic resyncs and requeues after a
 * wait are queued low, and the queue keeps a share of its handouts for them. An error retry keeps
 * the priority its key was handed out with: a user's create that met one throttle does not fall
 * behind every resync. Within a priority the queue serves namespaces in turn.
 */
export class Controller<T extends KubeObject> {
  readonly name: string;
  private readonly opts: ControllerOptions<T>;
  private workQueue?: WorkQueue;
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
    // Every series of the controller exists from the start, at zero, as controller-runtime
    // initialises them: dashboards and alerts see 0, not "no data".
    const controller = this.name;
    maxConcurrentReconciles.set({ controller }, opts.concurrency);
    activeWorkers.set({ controller }, 0);
    for (const result of RESULTS) reconcileTotal.inc({ controller, result }, 0);
    reconcileErrors.inc({ controller }, 0);
  }

  /** The work queue while the controller runs (after start(), before stop()); undefined otherwise. */
  get queue(): WorkQueue | undefined {
    return this.workQueue;
  }

  /**
   * Queues a key that no informer event brought (an event from the cloud, say) at the given
   * priority. False when the controller is not running (not started, stopped, or not leading): the
   * caller keeps its event for later.
   */
  enqueue(key: ObjectKey, priority: Priority): boolean {
    const queue = this.workQueue;
    if (!queue || this.stopped) return false;
    queue.add(keyString(key), priority);
    return true;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const queue = new WorkQueue({ ...this.opts.queue, name: this.name, clock: this.clock });
    this.workQueue = queue;
    const predicate = this.opts.predicate ?? defaultPredicate;
    // Subscribed in the same synchronous step as the full pass below: no event falls in between.
    this.unsubscribe.push(this.opts.informer.onEvent((e) => {
      if (e.type === 'DELETED' || predicate(e.old, e.object, e.type)) queue.add(keyString(keyOf(e.object)), 'high');
    }));
    for (const s of this.opts.secondary ?? []) {
      this.unsubscribe.push(s.informer.onEvent((e) => {
        if (s.predicate && !s.predicate(e.old, e.object, e.type)) return;
        const keys = [...s.map(e.object), ...(e.type === 'MODIFIED' && e.old ? s.map(e.old) : [])];
        for (const k of keys) queue.add(keyString(k), s.priority ?? 'high');
      }));
    }
    // A full pass at start: whatever happened while another replica (or no one) was leading.
    for (const obj of this.opts.informer.list()) queue.add(keyString(keyOf(obj)), 'low');
    for (let i = 0; i < Math.max(1, this.opts.concurrency); i++) this.workers.push(this.worker(queue));
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
    const queue = this.workQueue;
    if (!queue) return;
    const inFlight = queue.inFlight();
    const drained = await queue.shutDownWithDrain(drainTimeoutMs);
    if (drained) await Promise.all(this.workers);
    this.opts.logger.info({ controller: this.name, inFlight, drained }, drained
      ? 'controller stopped'
      : 'controller stopped with reconciles still running');
  }

  private scheduleResync(): void {
    this.resyncHandle = this.clock.setTimeout(() => {
      const queue = this.workQueue;
      if (this.stopped || !queue) return;
      const spread = this.opts.resyncPeriodMs * RESYNC_SPREAD;
      for (const obj of this.opts.informer.list()) {
        queue.addAfter(keyString(keyOf(obj)), this.random() * spread, 'low');
      }
      this.scheduleResync();
    }, this.opts.resyncPeriodMs);
  }

  private async worker(queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await this.process(queue, key);
    }
  }

  private async process(queue: WorkQueue, key: string): Promise<void> {
    const controller = this.name;
    const { namespace, name } = parseKey(key);
    const started = this.clock.now();
    activeWorkers.inc({ controller });
    let result: 'success' | 'requeue' | 'error' = 'success';
    let metricResult: 'success' | 'requeue' | 'requeue_after' | 'error' = 'success';
    let requeueAfterMs: number | undefined;
    let error: unknown;
    let deferred: unknown;
    try {
      const res = await this.opts.reconcile({ namespace, name });
      if (res?.requeue) {
        queue.addRateLimited(key);
        result = 'requeue';
        metricResult = 'requeue';
      } else {
        queue.forget(key);
        if (res?.requeueAfterMs && res.requeueAfterMs > 0) {
          requeueAfterMs = res.requeueAfterMs;
          queue.addAfter(key, requeueAfterMs, 'low');
          result = 'requeue';
          metricResult = 'requeue_after';
        }
      }
    } catch (err) {
      const retryAfterMs = retryAfterOf(err);
      if (retryAfterMs !== undefined) {
        deferred = err;
        requeueAfterMs = retryAfterMs;
        queue.addAfter(key, retryAfterMs, queue.processingPriority(key) ?? 'low');
        result = 'requeue';
        metricResult = 'requeue_after';
      } else {
        error = err;
        queue.addRateLimited(key);
        result = 'error';
        metricResult = 'error';
        reconcileErrors.inc({ controller });
      }
    } finally {
      queue.done(key);
      activeWorkers.dec({ controller });
    }
    const durationMs = this.clock.now() - started;
    reconcileTotal.inc({ controller, result: metricResult });
    reconcileTime.observe({ controller }, durationMs / 1000);
    const line: Record<string, unknown> = { controller, namespace, name, result, durationMs };
    if (requeueAfterMs !== undefined) line.requeueAfterMs = requeueAfterMs;
    if (deferred !== undefined) {
      line.deferred = errorText(deferred);
      this.opts.logger.info(line, 'reconcile deferred');
    } else if (error !== undefined) {
      line.err = errorText(error);
      this.opts.logger.error(line, 'reconcile failed');
    } else {
      this.opts.logger.info(line, 'reconciled');
    }
  }
}
