import {
  workqueueAdds, workqueueDepth, workqueueLongestRunning, workqueueQueueDuration, workqueueRetries,
  workqueueUnfinishedWork, workqueueWorkDuration,
} from '../observability/metrics.js';
import { realClock, type Clock } from './clock.js';
import { parseKey } from './types.js';

/**
 * Who asked for the work. `high`: a user's change (create, spec change, deletion, force-sync,
 * adopt); `low`: periodic resyncs, the full pass at start, requeues after a wait. A retry keeps the
 * priority its key was handed out with. controller-runtime's priority queue makes the same split
 * (its LowPriority for resyncs and the informer's initial list).
 */
export type Priority = 'high' | 'low';

export interface WorkQueueOptions {
  /** The `name` label of the workqueue_* metrics. */
  name: string;
  /** First per-key retry delay; doubles on every failure of the key (client-go: 5 ms). */
  baseDelayMs?: number;
  /** Cap of the per-key delay (client-go: 1000 s). */
  maxDelayMs?: number;
  /** Overall token bucket for rate-limited adds (client-go's default controller rate limiter: 10 qps, burst 100). */
  qps?: number;
  burst?: number;
  /**
   * While low-priority keys wait, at most this many high-priority keys are handed out in a row
   * before one low-priority key is (default 5: low priority gets at least one slot in six), so that
   * a stream of user changes never starves resyncs and retries.
   */
  maxHighInARow?: number;
  /** The AWS budget of each key's work; without it every key is handed out as soon as a worker asks. */
  budget?: WorkBudget;
  clock?: Clock;
}

/** What the queue needs of one budget: an account's rate limiter (see AccountLimiter) fits. */
export interface Budget {
  /** Milliseconds until the budget has a request to spare (0: now). Takes nothing. */
  waitMs(): number;
  /** The requests per second the budget allows now (less than configured while AWS throttles). */
  currentRate(): number;
}

/**
 * The budget each key's work draws from (its account, region and endpoint). A key is handed to a
 * worker only when its budget has room: a request to spare now, and fewer keys of that budget in
 * process than half its current rate (at least one), so that a throttled account holds one worker
 * while the other workers serve other accounts. A key without room is held, in the order it was
 * taken and with its priority, and handed out before the queues' keys of that budget once there is
 * room again; it keeps its place instead of starting its work and sleeping on the limit.
 */
export interface WorkBudget {
  /** The budget of a key's work; undefined when none is known yet (handed out at once). */
  of(key: string): Budget | undefined;
}

/** Keys held for one budget: each priority in the order taken. */
interface Held {
  high: Set<string>;
  low: Set<string>;
}

/**
 * The keys of one priority: one first-in-first-out sub-queue per namespace, served in turn (round
 * robin), so that one namespace's burst of keys cannot hold the workers while another namespace
 * waits. Cluster-scoped keys (no namespace) are a sub-queue of their own.
 *
 * The sub-queues sit in a Map in the order of their turns: the first is served next and then goes
 * to the back of the line, and a namespace with nothing queued leaves it and rejoins at the back.
 * Every operation is O(1); a namespace waits at most one handout per other namespace.
 */
class FairQueue {
  private readonly byNamespace = new Map<string, Set<string>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(key: string): void {
    const namespace = namespaceOf(key);
    let queue = this.byNamespace.get(namespace);
    if (!queue) this.byNamespace.set(namespace, (queue = new Set()));
    if (queue.has(key)) return;
    queue.add(key);
    this.count += 1;
  }

  delete(key: string): boolean {
    const namespace = namespaceOf(key);
    const queue = this.byNamespace.get(namespace);
    if (!queue?.delete(key)) return false;
    this.count -= 1;
    if (queue.size === 0) this.byNamespace.delete(namespace);
    return true;
  }

  /** The oldest key of the namespace whose turn it is. */
  take(): string | undefined {
    const turn = this.byNamespace.entries().next();
    if (turn.done) return undefined;
    const [namespace, queue] = turn.value;
    const key = queue.values().next().value as string;
    queue.delete(key);
    this.count -= 1;
    // To the back of the line, or out of it when nothing of this namespace waits.
    this.byNamespace.delete(namespace);
    if (queue.size > 0) this.byNamespace.set(namespace, queue);
    return key;
  }
}

/** The namespace part of a queue key (`namespace/name`, or `name` for a cluster-scoped object). */
function namespaceOf(key: string): string {
  return parseKey(key).namespace;
}

/**
 * client-go's rate-limited delaying work queue. The guarantees controllers rely on:
 * - adding a key that is already queued is a no-op (dedup);
 * - a key handed to a worker is never handed to a second worker until `done`; a key added while
 *   being processed is marked dirty and queued again on `done`;
 * - `addRateLimited` waits the larger of the key's exponential backoff and the overall bucket.
 * - Priorities: `high` keys are handed out before `low` ones; adding a queued low key as high
 *   moves it up (never down). Low keys still get a share of the handouts (`maxHighInARow`). A
 *   retry (`addRateLimited` while the key is in process) keeps the priority the key was handed out
 *   with: a user's change that failed once does not fall behind every resync.
 * - Fair shares: within a priority, namespaces are served in turn (see FairQueue).
 * One deliberate difference: after `shutDown`, `get` returns undefined at once even when keys are
 * still queued. State is level-based, so abandoned keys are picked up by the next start's full pass.
 */
export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly maxHighInARow: number;

  /** Keys waiting to be handed out, by priority; within one, namespaces in turn, each in the order added. */
  private high = new FairQueue();
  private low = new FairQueue();
  /** High-priority handouts since the last low-priority one while low keys were waiting. */
  private highInARow = 0;
  /** Keys that need processing (queued, or re-added while processing), with their priority. */
  private readonly dirty = new Map<string, Priority>();
  /** Keys handed to a worker, with the time they were handed out and the priority they had. */
  private readonly processing = new Map<string, { started: number; priority: Priority; budget: Budget | undefined }>();
  /** Keys taken from the queues whose budget had no room, by budget (see WorkBudget). */
  private readonly held = new Map<Budget, Held>();
  private readonly heldBudget = new Map<string, Budget>();
  /** Keys in process per budget. */
  private readonly budgetInFlight = new Map<Budget, number>();
  /** A wake-up for waiting workers when a held budget has a request to spare again. */
  private heldTimer: { handle: unknown; at: number } | undefined;
  /** When each dirty key was first added, for the queue-duration metric. */
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { readyAt: number; handle: unknown; priority: Priority }>();
  private readonly failures = new Map<string, number>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private drainWaiters: Array<() => void> = [];
  private tokens: number;
  private lastRefill: number;
  private shuttingDown = false;
  private readonly metricsTimer: NodeJS.Timeout;

  constructor(private readonly opts: WorkQueueOptions) {
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.maxHighInARow = Math.max(1, opts.maxHighInARow ?? 5);
    this.tokens = this.burst;
    this.lastRefill = this.clock.now();
    // Every series of the queue exists from the start, at zero, as client-go's metrics provider makes them.
    const labels = { name: this.name };
    workqueueDepth.set(labels, 0);
    workqueueAdds.inc(labels, 0);
    workqueueRetries.inc(labels, 0);
    workqueueUnfinishedWork.set(labels, 0);
    workqueueLongestRunning.set(labels, 0);
    // client-go refreshes the in-progress gauges every 500 ms rather than on scrape.
    this.metricsTimer = setInterval(() => this.updateUnfinishedWork(), 500);
    this.metricsTimer.unref();
  }

  /**
   * Queues the key (default: high priority). A key already queued stays queued once; adding it with
   * a higher priority than it has moves it up.
   */
  add(key: string, priority: Priority = 'high'): void {
    if (this.shuttingDown) return;
    const queued = this.dirty.get(key);
    if (queued !== undefined) {
      if (queued === 'low' && priority === 'high') {
        this.dirty.set(key, 'high');
        if (this.low.delete(key)) this.high.add(key);
        const budget = this.heldBudget.get(key);
        const held = budget && this.held.get(budget);
        if (held?.low.delete(key)) held.high.add(key);
      }
      return;
    }
    workqueueAdds.inc({ name: this.name });
    this.dirty.set(key, priority);
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.clock.now());
    this.updateDepth();
    if (this.processing.has(key)) return;
    this.enqueue(key, priority);
  }

  /**
   * Adds the key after `ms` (default: low priority, as periodic work is). When the key is already
   * waiting, the earlier time and the higher priority win.
   */
  addAfter(key: string, ms: number, priority: Priority = 'low'): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key, priority);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing) {
      if (priority === 'high') existing.priority = 'high';
      if (existing.readyAt <= readyAt) return;
      this.clock.clearTimeout(existing.handle);
    }
    const entry = { readyAt, handle: undefined as unknown, priority: existing?.priority ?? priority };
    entry.handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key, entry.priority);
    }, ms);
    this.delayed.set(key, entry);
  }

  /**
   * Adds the key after its backoff: per-key exponential, max'ed with the overall token bucket.
   * A retry keeps its key's priority: by default the one the key was handed out with when it is in
   * process (call this before `done`), else low.
   */
  addRateLimited(key: string, priority: Priority = this.processingPriority(key) ?? 'low'): void {
    if (this.shuttingDown) return;
    workqueueRetries.inc({ name: this.name });
    this.addAfter(key, this.when(key), priority);
  }

  /** The priority a key in process was handed out with; undefined when it is not in process. */
  processingPriority(key: string): Priority | undefined {
    return this.processing.get(key)?.priority;
  }

  /** The delay the next `addRateLimited` would use; counts as a failure of the key. */
  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    const perKey = Math.min(this.baseDelayMs * 2 ** exp, this.maxDelayMs);
    return Math.max(perKey, this.reserveToken());
  }

  /** Resets the key's backoff (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process; undefined once the queue is shut down. Call `done(key)` when finished. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const next = this.next();
    if (next !== undefined) return Promise.resolve(this.handOut(next.key, next.priority, next.budget));
    const waiting = new Promise<string | undefined>((resolve) => this.getters.push(resolve));
    this.wakeForHeld();
    return waiting;
  }

  done(key: string): void {
    const entry = this.processing.get(key);
    if (entry === undefined) return;
    this.processing.delete(key);
    if (entry.budget) {
      const left = (this.budgetInFlight.get(entry.budget) ?? 1) - 1;
      if (left > 0) this.budgetInFlight.set(entry.budget, left);
      else this.budgetInFlight.delete(entry.budget);
    }
    workqueueWorkDuration.observe({ name: this.name }, (this.clock.now() - entry.started) / 1000);
    const again = this.dirty.get(key);
    if (again !== undefined && !this.shuttingDown) this.enqueue(key, again);
    else this.serveWaiting();
    if (this.processing.size === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Keys waiting to be handed out (not counting delayed or in-process ones). */
  len(): number {
    return this.high.size + this.low.size + this.heldBudget.size;
  }

  /** The priority a queued (or re-added in-process) key has; undefined when it is not waiting. */
  priorityOf(key: string): Priority | undefined {
    return this.dirty.get(key);
  }

  /** Keys handed out and not yet done. */
  inFlight(): number {
    return this.processing.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out keys and drops queued and delayed ones; blocked `get` calls return undefined. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    this.high = new FairQueue();
    this.low = new FairQueue();
    this.held.clear();
    this.heldBudget.clear();
    if (this.heldTimer) this.clock.clearTimeout(this.heldTimer.handle);
    this.heldTimer = undefined;
    this.dirty.clear();
    this.addedAt.clear();
    this.updateDepth();
    clearInterval(this.metricsTimer);
    for (const g of this.getters.splice(0)) g(undefined);
  }

  /**
   * shutDown, then wait until every handed-out key is done, or `timeoutMs` passed.
   * Resolves true when drained.
   */
  async shutDownWithDrain(timeoutMs = Infinity): Promise<boolean> {
    this.shutDown();
    if (this.processing.size === 0) return true;
    const drained = new Promise<true>((resolve) => this.drainWaiters.push(() => resolve(true)));
    if (!Number.isFinite(timeoutMs)) return drained;
    let handle: unknown;
    const timeout = new Promise<false>((resolve) => {
      handle = this.clock.setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([drained, timeout]);
    this.clock.clearTimeout(handle);
    return result;
  }

  private enqueue(key: string, priority: Priority): void {
    (priority === 'high' ? this.high : this.low).add(key);
    this.serveWaiting();
  }

  /** Hands keys to waiting workers while there are keys with room. */
  private serveWaiting(): void {
    while (this.getters.length > 0) {
      const next = this.next();
      if (next === undefined) {
        this.wakeForHeld();
        return;
      }
      this.getters.shift()!(this.handOut(next.key, next.priority, next.budget));
    }
  }

  /**
   * The next key to hand out: held high-priority keys whose budget has room, then the queues
   * (high before low, low getting a turn after `maxHighInARow`; a key whose budget has no room is
   * held and the next one tried), then held low-priority keys.
   */
  private next(): { key: string; priority: Priority; budget: Budget | undefined } | undefined {
    const held = this.takeHeld('high');
    if (held) return held;
    for (;;) {
      const queued = this.nextQueued();
      if (queued === undefined) return this.takeHeld('low');
      const budget = this.opts.budget?.of(queued.key);
      if (budget === undefined || this.hasRoom(budget)) return { ...queued, budget };
      this.hold(queued.key, queued.priority, budget);
    }
  }

  /** High before low, except that low gets one turn after `maxHighInARow` high ones. */
  private nextQueued(): { key: string; priority: Priority } | undefined {
    const take = (priority: Priority) => {
      const key = (priority === 'high' ? this.high : this.low).take();
      return key === undefined ? undefined : { key, priority };
    };
    if (this.low.size === 0) {
      this.highInARow = 0;
      return take('high');
    }
    if (this.high.size > 0 && this.highInARow < this.maxHighInARow) {
      this.highInARow += 1;
      return take('high');
    }
    this.highInARow = 0;
    return take('low');
  }

  private hasRoom(budget: Budget): boolean {
    const limit = Math.max(1, Math.floor(budget.currentRate() / 2));
    return (this.budgetInFlight.get(budget) ?? 0) < limit && budget.waitMs() <= 0;
  }

  private hold(key: string, priority: Priority, budget: Budget): void {
    let held = this.held.get(budget);
    if (!held) this.held.set(budget, (held = { high: new Set(), low: new Set() }));
    held[priority].add(key);
    this.heldBudget.set(key, budget);
  }

  /** The oldest held key of this priority whose budget has room now. */
  private takeHeld(priority: Priority): { key: string; priority: Priority; budget: Budget } | undefined {
    for (const [budget, held] of this.held) {
      const keys = held[priority];
      if (keys.size === 0 || !this.hasRoom(budget)) continue;
      const key = keys.values().next().value as string;
      keys.delete(key);
      this.heldBudget.delete(key);
      if (held.high.size === 0 && held.low.size === 0) this.held.delete(budget);
      return { key, priority, budget };
    }
    return undefined;
  }

  /**
   * Workers wait and keys are held: wake them when the soonest held budget has a request to spare.
   * A budget at its limit of keys in process needs no timer: its `done` serves the waiting.
   */
  private wakeForHeld(): void {
    if (this.held.size === 0 || this.getters.length === 0 || this.shuttingDown) return;
    let soonest = Infinity;
    for (const budget of this.held.keys()) soonest = Math.min(soonest, Math.max(1, budget.waitMs()));
    if (!Number.isFinite(soonest)) return;
    const at = this.clock.now() + soonest;
    if (this.heldTimer && this.heldTimer.at <= at) return;
    if (this.heldTimer) this.clock.clearTimeout(this.heldTimer.handle);
    const timer = { at, handle: undefined as unknown };
    timer.handle = this.clock.setTimeout(() => {
      if (this.heldTimer === timer) this.heldTimer = undefined;
      this.serveWaiting();
    }, soonest);
    this.heldTimer = timer;
  }

  private handOut(key: string, priority: Priority, budget: Budget | undefined): string {
    const now = this.clock.now();
    this.processing.set(key, { started: now, priority, budget });
    if (budget) this.budgetInFlight.set(budget, (this.budgetInFlight.get(budget) ?? 0) + 1);
    this.dirty.delete(key);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) workqueueQueueDuration.observe({ name: this.name }, (now - added) / 1000);
    this.updateDepth();
    return key;
  }

  /** golang.org/x/time/rate's Reserve: take a token now, possibly into debt, and wait off the debt. */
  private reserveToken(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps);
    this.lastRefill = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  private updateDepth(): void {
    // Like client-go: depth counts keys that wait to be processed, including re-added in-process ones.
    workqueueDepth.set({ name: this.name }, this.dirty.size);
  }

  private updateUnfinishedWork(): void {
    const now = this.clock.now();
    let total = 0;
    let longest = 0;
    for (const { started } of this.processing.values()) {
      const s = (now - started) / 1000;
      total += s;
      longest = Math.max(longest, s);
    }
    workqueueUnfinishedWork.set({ name: this.name }, total);
    workqueueLongestRunning.set({ name: this.name }, longest);
  }
}
