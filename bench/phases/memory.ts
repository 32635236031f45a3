import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import type { OperatorProcess } from '../../test/e2e/support/operator.js';
import { CONTROLLER, now, say, sleep, type Context } from '../context.js';
import { counters } from '../counters.js';
import { ECR_REPOSITORIES_PATH, namespacedRepositoryPath, readyCondition, type KubeResource } from '../kube-api.js';
import { BENCH_LABEL, type Layout } from '../manifests.js';
import { applyProviders, applyRepositories, layoutFor, namespacesOf, removeNamespaces } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { delta, procStats, waitIdle, type ProcStats } from '../operator-stats.js';
import { round, sumValues } from '../stats.js';

/**
 * Memory: 1,000 and then M objects whose provider cannot be reached, so that only the cache and the
 * queue hold memory; RSS once they settle and a minute later, and the same after a restart.
 */

/** The memory run's providers point here: nothing listens, so no object ever reaches AWS. */
const UNREACHABLE_ENDPOINT = 'http://127.0.0.1:9';

/** Lists the memory run's objects and tells whether every one shows ProviderNotReady for its generation. */
async function allProviderNotReady(ctx: Context, layout: Layout, n: number): Promise<{ done: boolean; seen: number; matching: number }> {
  const { items } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` });
  const ours = items.filter((o: KubeResource) => o.metadata.namespace.startsWith(`${layout.prefix}-${ctx.run}-`));
  const matching = ours.filter((o) => {
    const ready = readyCondition(o);
    return ready?.reason === 'ProviderNotReady' && ready.observedGeneration === o.metadata.generation;
  }).length;
  return { done: ours.length === n && matching === n, seen: ours.length, matching };
}

async function settleMemory(ctx: Context, op: OperatorProcess, layout: Layout, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await waitIdle(op, CONTROLLER, { minReconciles: n, timeoutMs: Math.max(1000, deadline - Date.now()), what: 'the memory run to settle', intervalMs: 1000 });
    const state = await allProviderNotReady(ctx, layout, n);
    if (state.done) return;
    if (Date.now() > deadline) throw new Error(`memory run: ${state.matching}/${n} ProviderNotReady (${state.seen} seen)`);
    await sleep(2000);
  }
}

/**
 * Memory once the queue has settled (5 s later), and again a minute on: objects waiting for their
 * provider are retried about once a minute, so one minute shows whether the footprint holds still,
 * and what those retries write to the API server meanwhile.
 */
interface AtRest {
  rest: ProcStats;
  later: ProcStats;
  /** Where the RSS a minute later goes, in MiB: V8's heap (used, and reserved), memory outside it. */
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  writesPerObjectPerMinute: number;
}

async function atRest(op: OperatorProcess, pid: number, n: number): Promise<AtRest> {
  await sleep(5000);
  const rest = await procStats(pid);
  const before = await counters(op);
  const t = now();
  await sleep(60_000);
  const after = await counters(op);
  const later = await procStats(pid);
  const minutes = (now() - t) / 60_000;
  const mib = (bytes: number) => bytes / 1024 / 1024;
  return {
    rest,
    later,
    heapUsedMiB: mib(after.heapUsed),
    heapTotalMiB: mib(after.heapTotal),
    externalMiB: mib(after.external),
    writesPerObjectPerMinute: sumValues(delta(after.byMethod, before.byMethod)) / n / minutes,
  };
}

/** The breakdown of an at-rest RSS for the results file: memory.heapUsedMiB, memory.restartHeapUsedMiB, ... */
function memoryBreakdown(run: '' | 'restart', r: AtRest): Record<string, number> {
  const key = (name: string) => (run ? `memory.${run}${name[0]!.toUpperCase()}${name.slice(1)}` : `memory.${name}`);
  return {
    [key('rssAnonMiB')]: r.later.rssAnonMiB,
    [key('heapUsedMiB')]: r.heapUsedMiB,
    [key('heapTotalMiB')]: r.heapTotalMiB,
    [key('externalMiB')]: r.externalMiB,
  };
}

/** With BENCH_HEAP_SNAPSHOTS: has the operator write a heap snapshot, waits for it and names it. */
export async function heapSnapshot(pid: number, label: string): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOTS;
  if (!dir) return;
  const target = path.resolve(dir);
  mkdirSync(target, { recursive: true });
  const before = new Set(readdirSync(target));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 300_000;
  for (;;) {
    await sleep(2000);
    const written = readdirSync(target).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    // V8 writes the file in one go and the operator answers again when it is done.
    if (written && statSync(path.join(target, written)).size > 0) {
      const size = statSync(path.join(target, written)).size;
      await sleep(2000);
      if (statSync(path.join(target, written)).size === size) {
        renameSync(path.join(target, written), path.join(target, `${label}.heapsnapshot`));
        say(`heap snapshot ${label}: ${path.join(target, `${label}.heapsnapshot`)}`);
        return;
      }
    }
    if (Date.now() > deadline) throw new Error(`no heap snapshot in ${target} within 5 minutes`);
  }
}

/** The memory run measures at 1,000 objects on the way to its full count. */
const MEMORY_STEP = 1000;

export async function memoryPhase(ctx: Context, ownEnvironment: boolean): Promise<void> {
  const { args, figures } = ctx;
  const n = args.memoryN;
  const layout = layoutFor(ctx, 'bench-mem');
  const timeoutMs = Math.max(900_000, n * 300);
  const first = await launchOperator(ctx, 'memory', args.syncPeriodMs);
  await applyProviders(ctx, layout, { status: 'False', reason: 'EndpointUnreachable' }, { endpoint: UNREACHABLE_ENDPOINT });
  // The baseline the objects add to: the running operator with its providers and no repositories.
  await waitIdle(first.op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle before the memory run' });
  await sleep(5000);
  const idle = await procStats(first.pid);
  // Retain: these repositories are never created, and Retain lets them go without a provider.
  let at1000: number | undefined;
  if (n > MEMORY_STEP) {
    say(`memory: applying ${MEMORY_STEP} ECRRepositories whose providers point at ${UNREACHABLE_ENDPOINT}`);
    await applyRepositories(ctx, layout, MEMORY_STEP, 'Retain');
    await settleMemory(ctx, first.op, layout, MEMORY_STEP, timeoutMs);
    at1000 = (await atRest(first.op, first.pid, MEMORY_STEP)).later.rssMiB;
    say(`memory: ${MEMORY_STEP} objects, RSS a minute after they settled ${round(at1000, 1)} MiB`);
    await heapSnapshot(first.pid, `objects-${MEMORY_STEP}`);
  }
  say(`memory: applying ${n} ECRRepositories whose providers point at ${UNREACHABLE_ENDPOINT}`);
  const t0 = now();
  await applyRepositories(ctx, layout, n, 'Retain');
  await settleMemory(ctx, first.op, layout, n, timeoutMs);
  const settleSeconds = (now() - t0) / 1000;
  const firstRest = await atRest(first.op, first.pid, n);
  say(`memory: settled in ${round(settleSeconds, 1)} s; RSS ${round(firstRest.rest.rssMiB, 1)} MiB, a minute later ${round(firstRest.later.rssMiB, 1)} MiB, peak ${round(firstRest.later.peakRssMiB, 1)} MiB`);
  await heapSnapshot(first.pid, `objects-${n}`);
  await stopOperator(ctx, first.op);

  // A restart with every object already there: the initial list is the other peak worth knowing.
  const second = await launchOperator(ctx, 'memory-restart', args.syncPeriodMs);
  await settleMemory(ctx, second.op, layout, n, timeoutMs);
  const secondRest = await atRest(second.op, second.pid, n);
  say(`memory: after a restart RSS ${round(secondRest.rest.rssMiB, 1)} MiB, a minute later ${round(secondRest.later.rssMiB, 1)} MiB, peak ${round(secondRest.later.peakRssMiB, 1)} MiB`);
  await heapSnapshot(second.pid, `restart-${n}`);
  Object.assign(figures, {
    'memory.objects': n,
    'memory.settleSeconds': settleSeconds,
    'memory.rssIdleMiB': idle.rssMiB,
    'memory.rssAtRestMiB': firstRest.rest.rssMiB,
    ...(at1000 !== undefined ? { 'memory.rssAt1000MiB': at1000 } : {}),
    // Once the burst's garbage is given back (a minute later), against the running operator with none.
    'memory.growthPer1000MiB': ((firstRest.later.rssMiB - idle.rssMiB) / n) * 1000,
    'memory.rssMinuteLaterMiB': firstRest.later.rssMiB,
    'memory.rssPeakMiB': firstRest.later.peakRssMiB,
    ...memoryBreakdown('', firstRest),
    'memory.kubeWritesPerObjectPerMinute': firstRest.writesPerObjectPerMinute,
    'memory.restartRssAtRestMiB': secondRest.rest.rssMiB,
    'memory.restartRssMinuteLaterMiB': secondRest.later.rssMiB,
    'memory.restartRssPeakMiB': secondRest.later.peakRssMiB,
    'memory.restartKubeWritesPerObjectPerMinute': secondRest.writesPerObjectPerMinute,
    ...memoryBreakdown('restart', secondRest),
  });
  if (!ownEnvironment || !ctx.args.skipResync) {
    // A shared environment keeps running, and the resync run comes next: leave nothing behind.
    // Retain lets the operator release these objects although their provider never became Ready.
    // One namespace at a time: thousands of deletions at once outlast the API server's timeout.
    for (const ns of namespacesOf(layout)) await ctx.api.deleteCollection(namespacedRepositoryPath(ns), `${BENCH_LABEL}=${ctx.run}`);
    const deadline = Date.now() + timeoutMs;
    while ((await allProviderNotReady(ctx, layout, n)).seen > 0) {
      if (Date.now() > deadline) throw new Error('memory run: the objects were not released in time');
      await sleep(2000);
    }
    await removeNamespaces(ctx, layout);
  }
  await stopOperator(ctx, second.op);
}
