/**
 * The time a call takes, as the fastest of a few runs: a machine busy with other work adds time to
 * some runs, never to all, while input that makes the code slow (backtracking, deep nesting) makes
 * every run slow. Bounds checked with it fail for slow code, not for a busy machine.
 */
export function fastestMs(fn: () => unknown, runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}
