/**
 * The periodic sync sweep: every object is reconciled again about once per sync period, to find
 * and revert drift. A sweep costs calls to the cloud, and the cloud's rate is limited per account;
 * when the objects of one account need more calls than the sync period allows at that rate, the
 * sweep is spread over a longer period instead of piling up a backlog that no one sees. The
 * achieved period is a metric and, when it changes, one log line.
 *
 * Knows nothing of AWS: the budget (requests per second, calls per object) and how objects map to
 * accounts are given.
 */
import { realClock, type Clock } from './clock.js';
import { Controller, retryAfterOf, type ControllerOptions } from './controller.js';
import type { Informer } from './informer.js';
import { keyOf, keyString, parseKey, type KubeObject } from './types.js';

export interface SweepBudget {
  /** Requests per second one account may send (the client-side cap). */
  requestsPerSecond: number;
  /** Calls to the cloud one object's periodic reconcile makes, on average. */
  callsPerObject: number;
  /** Share of the rate the sweep may take; the rest stays free for what users ask. Default 0.8. */
  share?: number;
}

export interface SweepPlanInput extends SweepBudget {
  /** Objects per account (or any group paced by one limit), each counted at its share of a reconcile. */
  objectsPerGroup: readonly number[];
  syncPeriodMs: number;
  /** Share of the sync period a pass is spread over when the budget allows. Default 0.1. */
  spreadShare?: number;
}

export interface SweepPlan {
  /** Time from the start of this pass to the start of the next one. */
  periodMs: number;
  /** The pass's objects are handed out evenly over this long (per group). */
  spreadMs: number;
  /** What the busiest group's calls take at the sweep's share of the rate. */
  neededMs: number;
  /** True when the sync period could not be kept. */
  stretched: boolean;
}

const DEFAULT_SHARE = 0.8;
const DEFAULT_SPREAD_SHARE = 0.1;
/**
 * How long a swept key may wait in the queue and still find its batch's read good. With every
 * worker busy (user changes go first, retries, a loaded machine) a periodic reconcile can run well
 * after its turn; had the read expired by then, it would describe its repository alone, and a busy
 * pass would cost one DescribeRepositories per repository instead of one per 100.
 */
const QUEUE_WAIT_ALLOWANCE_MS = 60_000;
/**
 * How often a batch's read may be put off because the account's request budget was spent for the
 * moment (an error with a retry time, see retryAfterOf). Its keys wait with it: queued without
 * the read, each would read its own state under the same spent budget, a hundred calls for one.
 */
const MAX_PREFETCH_DEFERRALS = 10;

/**
 * The period and spread of one pass. The busiest group decides: its objects × calls per object at
 * `share × requestsPerSecond` take `neededMs`. A pass is spread over the larger of the usual
 * spread and `neededMs`, so it goes at the pace the limiter allows rather than queueing everything
 * at once; the next pass starts after the larger of the sync period and `neededMs`.
 */
export function planSweep(input: SweepPlanInput): SweepPlan {
  const share = input.share ?? DEFAULT_SHARE;
  const spreadShare = input.spreadShare ?? DEFAULT_SPREAD_SHARE;
  const busiest = input.objectsPerGroup.reduce((a, b) => Math.max(a, b), 0);
  const rate = input.requestsPerSecond * share;
  const neededMs = rate > 0 && Number.isFinite(rate) ? Math.ceil((busiest * input.callsPerObject * 1000) / rate) : 0;
  const periodMs = Math.max(input.syncPeriodMs, neededMs);
  const spreadMs = Math.min(periodMs, Math.max(input.syncPeriodMs * spreadShare, neededMs));
  return { periodMs, spreadMs, neededMs, stretched: periodMs > input.syncPeriodMs };
}

export interface SweepLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SweepOptions<T> {
  /** For the log line and the metric's label. */
  name: string;
  syncPeriodMs: number;
  spreadShare?: number;
  /** Asked at every pass: the configured rate may be per account and the cost may be measured. */
  budget: () => SweepBudget;
  /** The objects to sweep, read at the start of every pass. */
  list: () => readonly T[];
  keyOf: (obj: T) => string;
  /** The current object for a key when its batch comes up, or undefined when it is gone. */
  get: (key: string) => T | undefined;
  /** Objects of one group share one rate limit (an account) and are read in batches together. */
  groupOf?: (obj: T) => string;
  /**
   * What an object costs a pass, as a share of a reconcile (0 to 1, default 1): an object that
   * `get` lets through at one pass in n costs 1/n. The plan counts the shares, so objects that are
   * listed but mostly skipped do not stretch the period of the others.
   */
  shareOf?: (obj: T) => number;
  /** Objects per batch. Default 100 (DescribeRepositories takes up to 100 names). */
  batchSize?: number;
  /**
   * Called when a batch comes up, before its keys are queued: a chance to read the state of all of
   * them at once. `validForMs` is how long the batch's keys keep coming, plus the time a key may
   * wait in the queue behind other work (QUEUE_WAIT_ALLOWANCE_MS). A failure that names a retry
   * time (a spent rate budget) puts the batch off by that long, read and keys together, a few times
   * at most; any other failure is logged and the keys are queued anyway: their reconciles read
   * what they need themselves.
   */
  prefetch?: (group: string, objects: T[], validForMs: number) => Promise<void>;
  /** Queues a key after the given delay (low priority: behind what users do). */
  enqueue: (key: string, delayMs: number) => void;
  /** Reports the achieved period after every pass (the metric). */
  onPlan?: (plan: SweepPlan, objects: number) => void;
  clock: Clock;
  logger: SweepLogger;
}

/** Runs passes at the planned period until stopped; the first pass after one period. */
export class Sweep<T> {
  private readonly opts: SweepOptions<T>;
  private handles = new Set<unknown>();
  private stopped = true;
  private lastLogged: { periodMs: number; stretched: boolean } | undefined;
  private current: SweepPlan | undefined;

  constructor(opts: SweepOptions<T>) {
    this.opts = opts;
  }

  /** The plan of the latest pass. */
  get plan(): SweepPlan | undefined {
    return this.current;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(() => this.pass(), this.opts.syncPeriodMs);
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.handles) this.opts.clock.clearTimeout(h);
    this.handles.clear();
  }

  private schedule(fn: () => void, ms: number): void {
    const handle: unknown = this.opts.clock.setTimeout(() => {
      this.handles.delete(handle);
      if (!this.stopped) fn();
    }, ms);
    this.handles.add(handle);
  }

  /** One pass: plans it, schedules its batches, and the next pass. */
  pass(): SweepPlan {
    const o = this.opts;
    const groups = new Map<string, string[]>();
    const shares = new Map<string, number>();
    for (const obj of o.list()) {
      const group = o.groupOf?.(obj) ?? '';
      let keys = groups.get(group);
      if (!keys) groups.set(group, (keys = []));
      keys.push(o.keyOf(obj));
      shares.set(group, (shares.get(group) ?? 0) + Math.min(1, Math.max(0, o.shareOf?.(obj) ?? 1)));
    }
    const budget = o.budget();
    const plan = planSweep({
      ...budget,
      objectsPerGroup: [...shares.values()],
      syncPeriodMs: o.syncPeriodMs,
      ...(o.spreadShare !== undefined ? { spreadShare: o.spreadShare } : {}),
    });
    this.current = plan;
    const total = [...groups.values()].reduce((n, k) => n + k.length, 0);
    this.report(plan, total, budget);

    const size = Math.max(1, o.batchSize ?? 100);
    for (const [group, keys] of groups) {
      keys.sort();
      // Even spacing within a group: a steady rate for its account, not random clumps.
      const step = plan.spreadMs / keys.length;
      for (let start = 0; start < keys.length; start += size) {
        const batch = keys.slice(start, start + size);
        const at = start * step;
        this.schedule(() => void this.runBatch(group, batch, step), at);
      }
    }
    this.schedule(() => this.pass(), plan.periodMs);
    return plan;
  }

  private async runBatch(group: string, keys: string[], step: number, deferrals = 0): Promise<void> {
    const o = this.opts;
    const objects: T[] = [];
    for (const key of keys) {
      const obj = o.get(key);
      if (obj !== undefined) objects.push(obj);
    }
    if (objects.length === 0) return;
    const started = o.clock.now();
    if (o.prefetch) {
      try {
        await o.prefetch(group, objects, step * keys.length + QUEUE_WAIT_ALLOWANCE_MS);
      } catch (err) {
        const retryAfterMs = retryAfterOf(err);
        if (retryAfterMs !== undefined && deferrals < MAX_PREFETCH_DEFERRALS) {
          if (!this.stopped) this.schedule(() => void this.runBatch(group, keys, step, deferrals + 1), retryAfterMs);
          return;
        }
        o.logger.warn({ sweep: o.name, group, objects: objects.length, err }, 'sweep batch read failed; its objects read their own state');
      }
    }
    if (this.stopped) return;
    // The time the prefetch took comes off the delays, so that the pass keeps its pace.
    const late = o.clock.now() - started;
    keys.forEach((key, i) => {
      if (o.get(key) !== undefined) o.enqueue(key, Math.max(0, i * step - late));
    });
  }

  private report(plan: SweepPlan, objects: number, budget: SweepBudget): void {
    this.opts.onPlan?.(plan, objects);
    const last = this.lastLogged;
    // One line when the achieved period changes noticeably, not one per pass.
    if (last && last.stretched === plan.stretched && Math.abs(last.periodMs - plan.periodMs) <= last.periodMs * 0.1) return;
    if (!last && !plan.stretched) {
      this.lastLogged = { periodMs: plan.periodMs, stretched: false };
      return;
    }
    this.lastLogged = { periodMs: plan.periodMs, stretched: plan.stretched };
    const fields = {
      sweep: this.opts.name,
      objects,
      syncPeriodSeconds: this.opts.syncPeriodMs / 1000,
      achievedPeriodSeconds: Math.round(plan.periodMs / 1000),
      requestsPerSecond: budget.requestsPerSecond,
      callsPerObject: budget.callsPerObject,
    };
    if (plan.stretched) {
      this.opts.logger.warn(fields, 'sync sweep does not fit the sync period at the configured AWS request rate; spread over a longer period');
    } else {
      this.opts.logger.info(fields, 'sync sweep fits the sync period again');
    }
  }
}

/**
 * A controller whose periodic resync is a Sweep: the controller's own resync is off, and the sweep
 * starts and stops with the controller (that is, while this replica leads), queueing its keys at
 * low priority, behind what users do.
 */
export class SweepingController<T extends KubeObject> extends Controller<T> {
  private readonly sweep: Sweep<T>;

  constructor(
    opts: Omit<ControllerOptions<T>, 'resyncPeriodMs' | 'informer'> & { informer: ControllerOptions<T>['informer'] & Pick<Informer<T>, 'get'> },
    sweep: Omit<SweepOptions<T>, 'name' | 'list' | 'keyOf' | 'get' | 'enqueue' | 'clock'> & { clock?: Clock },
  ) {
    super({ ...opts, resyncPeriodMs: 0 });
    const informer = opts.informer;
    this.sweep = new Sweep<T>({
      ...sweep,
      name: opts.name,
      clock: sweep.clock ?? opts.clock ?? realClock,
      list: () => informer.list(),
      keyOf: (obj) => keyString(keyOf(obj)),
      get: (key) => {
        const { namespace, name } = parseKey(key);
        return informer.get(namespace, name);
      },
      enqueue: (key, delayMs) => this.queue?.addAfter(key, delayMs, 'low'),
    });
  }

  /** The plan of the latest pass. */
  get sweepPlan(): SweepPlan | undefined {
    return this.sweep.plan;
  }

  override start(): void {
    super.start();
    this.sweep.start();
  }

  override async stop(drainTimeoutMs: number): Promise<void> {
    this.sweep.stop();
    await super.stop(drainTimeoutMs);
  }
}
