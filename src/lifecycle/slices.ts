/**
 * Long computations in slices that give the event loop back. A computation is written as a
 * generator that yields at points where it may pause (every few hundred units of work); the
 * driver runs it until the slice's time budget is spent, then waits one turn of the event loop
 * (setImmediate: timers, I/O and other reconciles run) and goes on. `runToEnd` runs the same
 * generator without pausing, for inputs known to be small.
 */
import { performance } from 'node:perf_hooks';

/** A computation that may pause at each `yield`. */
export type Work<T> = Generator<void, T, void>;

export interface SliceOptions {
  /** Time one slice may run before the event loop gets a turn; default SLICE_BUDGET_MS. */
  sliceMs?: number;
  /** Gives the event loop a turn; default a setImmediate. */
  yieldToLoop?: () => Promise<void>;
  /** A monotonic clock in milliseconds; default performance.now. */
  clock?: () => number;
}

export interface SliceStats {
  /** How many slices the computation took (1 when it never paused). */
  slices: number;
  /**
   * The longest slice in wall-clock time, in milliseconds. On a busy machine this includes time
   * the thread waited for a CPU, which no code of the operator can shorten.
   */
  longestSliceMs: number;
  /** The most CPU time one slice took on this thread, in milliseconds (wall-clock time where Node cannot tell). */
  longestSliceCpuMs: number;
  /** Wall-clock time spent computing, pauses left out, in milliseconds. */
  busyMs: number;
  /** CPU time this thread spent computing, in milliseconds (wall-clock time where Node cannot tell). */
  cpuMs: number;
}

/** This thread's CPU time in milliseconds (Node 23.9 and later), or undefined. */
function threadCpuMs(): number | undefined {
  if (typeof process.threadCpuUsage !== 'function') return undefined;
  const used = process.threadCpuUsage();
  return (used.user + used.system) / 1000;
}

/**
 * Well under the 20 ms that no slice may exceed: a pause point comes every few hundred units of
 * work (tens to hundreds of microseconds), so a slice overruns its budget by little.
 */
export const SLICE_BUDGET_MS = 8;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function runToEnd<T>(work: Work<T>): T {
  let step = work.next();
  while (!step.done) step = work.next();
  return step.value;
}

export async function runInSlices<T>(work: Work<T>, opts: SliceOptions = {}): Promise<{ value: T; stats: SliceStats }> {
  const budget = opts.sliceMs ?? SLICE_BUDGET_MS;
  const clock = opts.clock ?? (() => performance.now());
  const pause = opts.yieldToLoop ?? nextTurn;
  const stats: SliceStats = { slices: 1, longestSliceMs: 0, longestSliceCpuMs: 0, busyMs: 0, cpuMs: 0 };
  let start = clock();
  let startCpu = threadCpuMs();
  for (;;) {
    const step = work.next();
    const elapsed = clock() - start;
    if (step.done || elapsed >= budget) {
      const cpu = startCpu === undefined ? elapsed : (threadCpuMs() as number) - startCpu;
      stats.longestSliceMs = Math.max(stats.longestSliceMs, elapsed);
      stats.longestSliceCpuMs = Math.max(stats.longestSliceCpuMs, cpu);
      stats.busyMs += elapsed;
      stats.cpuMs += cpu;
    }
    if (step.done) return { value: step.value, stats };
    if (elapsed >= budget) {
      await pause();
      stats.slices += 1;
      start = clock();
      startCpu = threadCpuMs();
    }
  }
}
