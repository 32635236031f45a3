import type { Clock } from './clock.js';

/**
 * Gives back the memory a burst of work leaves behind.
 *
 * During a burst of reconciles V8 grows its heap; once the burst is over it keeps what it grew, as
 * reserved pages or as freed pages in its own pool, and hands them back to the system only under
 * allocation pressure, which an idle operator never creates: 1,000 creates leave about 60 MiB of
 * V8 heap reserved for 28 MiB in use, a minute and more after the last one (docs/performance.md).
 * Once no controller has had a key queued or in process for `idleMs`, and the resident set has
 * grown by `growthBytes` since the last collection, one last-resort collection, V8's own answer to
 * low memory (full collections that compact the heap and release the pooled pages), returns it. At
 * rest nothing grows, so nothing is collected: the cost is one collection of 60 to 100 ms after
 * each burst (measured with 1,000 objects). The start (loading the code, filling the caches,
 * verifying providers) counts as a burst: the first idle moment after it collects too.
 */
export interface IdleCollectorOptions {
  /** Keys queued or in process, over every controller. */
  pending: () => number;
  /** The process's resident set, in bytes. */
  rss: () => number;
  /**
   * The collection. Undefined when Node.js runs without --expose-gc (the image's ENTRYPOINT gives
   * it): the collector then never runs.
   */
  collect: (() => void) | undefined;
  clock: Clock;
  /** How long the controllers must have been idle. Default 5 s. */
  idleMs?: number;
  /** How often idleness and the resident set are read. Default 1 s. */
  checkEveryMs?: number;
  /** Growth of the resident set since the last collection that is worth one. Default 8 MiB. */
  growthBytes?: number;
  /** Reports each collection: resident set before and after, and how long it took. */
  onCollect?: (result: { beforeBytes: number; afterBytes: number; seconds: number }) => void;
}

const DEFAULT_IDLE_MS = 5_000;
const DEFAULT_CHECK_EVERY_MS = 1_000;
const DEFAULT_GROWTH_BYTES = 8 * 1024 * 1024;

export class IdleCollector {
  private readonly opts: IdleCollectorOptions;
  private handle: unknown;
  private running = false;
  /** The resident set after the last collection (0 before the first): what growth is measured from. */
  private baseline = 0;
  /** When the controllers were last seen with work. */
  private lastBusyAt = 0;

  constructor(opts: IdleCollectorOptions) {
    this.opts = opts;
  }

  /** False when there is nothing to collect with (no --expose-gc). */
  get enabled(): boolean {
    return this.opts.collect !== undefined;
  }

  start(): void {
    if (this.running || !this.enabled) return;
    this.running = true;
    this.baseline = 0;
    this.lastBusyAt = this.opts.clock.now();
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.opts.clock.clearTimeout(this.handle);
  }

  /** One reading: collects when the controllers have been idle long enough after growth. */
  check(): void {
    const { clock, collect } = this.opts;
    const now = clock.now();
    if (this.opts.pending() > 0) {
      this.lastBusyAt = now;
      return;
    }
    if (now - this.lastBusyAt < (this.opts.idleMs ?? DEFAULT_IDLE_MS)) return;
    const before = this.opts.rss();
    // Memory given back by other means (V8's own reducer) lowers what growth is measured from.
    if (before < this.baseline) this.baseline = before;
    if (!collect || before - this.baseline < (this.opts.growthBytes ?? DEFAULT_GROWTH_BYTES)) return;
    const started = performance.now();
    collect();
    const seconds = (performance.now() - started) / 1000;
    const after = this.opts.rss();
    this.baseline = after;
    this.opts.onCollect?.({ beforeBytes: before, afterBytes: after, seconds });
  }

  private schedule(): void {
    if (!this.running) return;
    this.handle = this.opts.clock.setTimeout(() => {
      try {
        this.check();
      } finally {
        this.schedule();
      }
    }, this.opts.checkEveryMs ?? DEFAULT_CHECK_EVERY_MS);
  }
}

/** V8's gc() when Node.js was started with --expose-gc, as a last-resort full collection; else undefined. */
export function lastResortCollection(): (() => void) | undefined {
  const gc = (globalThis as { gc?: (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void }).gc;
  if (typeof gc !== 'function') return undefined;
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
