import { SWEEP_CALLS_PER_REPOSITORY } from '../../src/kinds/ecrrepository/watches.js';
import { planSweep } from '../../src/runtime/sweep.js';
import type { OperatorProcess } from '../../test/e2e/support/operator.js';
import { CONTROLLER, now, say, sleep, type BenchConfiguration, type Context } from '../context.js';
import { counters } from '../counters.js';
import { ECR_REPOSITORIES_PATH, namespacedRepositoryPath } from '../kube-api.js';
import { BENCH_LABEL } from '../manifests.js';
import { applyProviders, createAll, layoutFor, namespacesOf, removeNamespaces } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { Metrics, procStats, waitIdle } from '../operator-stats.js';
import { phaseTable, type PhaseRow } from '../phase-table.js';
import { heapSnapshot } from './memory.js';
import { round } from '../stats.js';

/**
 * Memory after real work: one operator process, against the local AWS layer, so that every create
 * reaches AWS and succeeds. Its RSS with its providers Ready and no repository; then N full-spec
 * creates through the layout's providers (20 over 10 namespaces by default), read 15 s and 60 s
 * after the last Ready; again a minute after its first periodic sweep over them; and a minute after
 * they are deleted. Each reading gives where the memory is: V8's heap used and reserved, and what
 * lies outside V8's heap (code, native allocations, stacks), as the operator's own
 * process.memoryUsage() reports them through its metrics.
 *
 * Run once per configuration, so that a burst as fast as the machine allows and one paced by the
 * chart's AWS limits can each be read.
 */

/** The readings, in the order they are taken. */
const READINGS = ['idle', 'ready15s', 'ready60s', 'sweep', 'deleted'] as const;
type Reading = (typeof READINGS)[number];

/** After the last Ready: the first reading, and the second (when part of the burst has been given back). */
const FIRST_READING_MS = 15_000;
const SECOND_READING_MS = 60_000;
/** After the sweep's last reconcile and after the last deletion: what stays. */
const LATER_READING_MS = 60_000;

export interface MemorySample {
  rssMiB: number;
  rssAnonMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** Buffers and other memory V8 is told about (process.memoryUsage().external). */
  externalMiB: number;
  /** RSS less V8's reserved heap: code, native allocations, thread stacks. */
  outsideHeapMiB: number;
}

const mib = (bytes: number) => bytes / 1024 / 1024;

async function sample(op: OperatorProcess, pid: number): Promise<MemorySample> {
  const c = await counters(op);
  const proc = await procStats(pid);
  return {
    rssMiB: proc.rssMiB,
    rssAnonMiB: proc.rssAnonMiB,
    heapUsedMiB: mib(c.heapUsed),
    heapTotalMiB: mib(c.heapTotal),
    externalMiB: mib(c.external),
    outsideHeapMiB: proc.rssMiB - mib(c.heapTotal),
  };
}

/** Figure names: memoryWork.<config>.<reading>.<field>. */
export function workMemoryFigure(config: string, reading: Reading, field: keyof MemorySample): string {
  return `memoryWork.${config}.${reading}.${field}`;
}

/**
 * The operator's sync period in this phase: its first periodic sweep must come after the reading a
 * minute after the last Ready. The burst's length is estimated from the AWS budget (3 calls per
 * create at the configuration's rate, or about 100 calls a second when that does not bind), twice
 * over, plus the setup and the readings.
 */
export function sweepSyncPeriodMs(config: Pick<BenchConfiguration, 'awsRequestsPerSecond'>, n: number): number {
  const callsPerSecond = Math.min(config.awsRequestsPerSecond, 100);
  const burstMs = ((3 * n) / callsPerSecond) * 1000;
  return Math.ceil((60_000 + 2 * burstMs + FIRST_READING_MS + SECOND_READING_MS + 30_000) / 1000) * 1000;
}

const SWEEP_METRIC = 'infra_operator_sync_sweep_period_seconds';

export async function workMemoryPhase(ctx: Context, n: number): Promise<void> {
  const { config, figures } = ctx;
  const layout = layoutFor(ctx, 'bench-wm');
  const periodMs = sweepSyncPeriodMs(config, n);
  const { op, pid, startedAt } = await launchOperator(ctx, 'memory-work', periodMs);
  const record = (reading: Reading, s: MemorySample) => {
    for (const [field, value] of Object.entries(s)) figures[workMemoryFigure(config.name, reading, field as keyof MemorySample)] = value;
    say(`memory after work (${config.name}), ${reading}: RSS ${round(s.rssMiB, 1)} MiB (V8 heap used ${round(s.heapUsedMiB, 1)} / reserved ${round(s.heapTotalMiB, 1)}, outside it ${round(s.outsideHeapMiB, 1)})`);
  };
  try {
    await applyProviders(ctx, layout, { status: 'True', reason: 'Authenticated' });
    await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle before the burst' });
    await sleep(FIRST_READING_MS);
    record('idle', await sample(op, pid));
    await heapSnapshot(pid, `work-${config.name}-idle`);

    say(`memory after work (${config.name}): ${n} full-spec creates over ${layout.namespaces * layout.providersPerNamespace} providers, sync period ${periodMs / 1000} s`);
    const { seconds } = await createAll(ctx, layout, n, 'Delete');
    const lastReady = now();
    figures[`memoryWork.${config.name}.createSeconds`] = seconds;
    await sleep(FIRST_READING_MS);
    record('ready15s', await sample(op, pid));
    await sleep(Math.max(0, lastReady + SECOND_READING_MS - now()));
    record('ready60s', await sample(op, pid));
    await heapSnapshot(pid, `work-${config.name}-ready60s`);
    if ((await Metrics.of(op)).sum(SWEEP_METRIC, { controller: CONTROLLER }) > 0) {
      throw new Error(`the periodic sweep (sync period ${periodMs / 1000} s) started before the reading a minute after the last Ready: the burst took ${round(seconds, 1)} s`);
    }

    // The first periodic pass: planned one sync period after the start, its reconciles handed out
    // over the plan's spread (the providers share one account: one group of n); done once the
    // spread is over and the queue is empty.
    const sweepDeadline = startedAt + periodMs * 3;
    while ((await Metrics.of(op)).sum(SWEEP_METRIC, { controller: CONTROLLER }) === 0) {
      if (now() > sweepDeadline) throw new Error('no periodic sweep within three sync periods');
      await sleep(1000);
    }
    const { spreadMs } = planSweep({ requestsPerSecond: config.awsRequestsPerSecond, callsPerObject: SWEEP_CALLS_PER_REPOSITORY, objectsPerGroup: [n], syncPeriodMs: periodMs });
    say(`memory after work (${config.name}): the periodic sweep started; its reconciles are spread over ${round(spreadMs / 1000, 1)} s`);
    await sleep(spreadMs);
    await waitIdle(op, CONTROLLER, { timeoutMs: periodMs * 2, what: 'the periodic sweep', intervalMs: 1000 });
    await sleep(LATER_READING_MS);
    record('sweep', await sample(op, pid));

    say(`memory after work (${config.name}): deleting the ${n} repositories`);
    const selector = `${BENCH_LABEL}=${ctx.run}`;
    await Promise.all(namespacesOf(layout).map((ns) => ctx.api.deleteCollection(namespacedRepositoryPath(ns), selector)));
    const wanted = new Set(namespacesOf(layout));
    const deadline = Date.now() + Math.max(600_000, n * 600);
    for (;;) {
      const { items } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: selector });
      if (!items.some((o) => wanted.has(o.metadata.namespace))) break;
      if (Date.now() > deadline) throw new Error('the repositories were not deleted in time');
      await sleep(1000);
    }
    await waitIdle(op, CONTROLLER, { timeoutMs: 300_000, what: 'the operator to settle after the delete' });
    await sleep(LATER_READING_MS);
    record('deleted', await sample(op, pid));
    await heapSnapshot(pid, `work-${config.name}-deleted`);
    figures[`memoryWork.${config.name}.rssPeakMiB`] = (await procStats(pid)).peakRssMiB;
    figures[`memoryWork.${config.name}.objects`] = n;
    await removeNamespaces(ctx, layout);
  } finally {
    await stopOperator(ctx, op);
  }
}

/** The object count the targets are stated for. */
const STATED_OBJECTS = 1000;

const LABELS: Record<Reading, string> = {
  idle: 'providers Ready, no repository',
  ready15s: '15 s after the last Ready',
  ready60s: '60 s after the last Ready',
  sweep: 'a minute after the first periodic sweep',
  deleted: 'a minute after all were deleted',
};

const TARGETS: Partial<Record<Reading, { max: number; text: string }>> = {
  idle: { max: 75, text: '≤ 75 MiB' },
  ready15s: { max: 110, text: '≤ 110 MiB' },
  ready60s: { max: 90, text: '≤ 90 MiB' },
};

function rows(config: string): PhaseRow[] {
  const out: PhaseRow[] = [
    { figure: `memoryWork.${config}.createSeconds`, label: 'the burst: first apply → all Ready', unit: 's' },
  ];
  for (const reading of READINGS) {
    const target = TARGETS[reading];
    out.push(
      { figure: workMemoryFigure(config, reading, 'rssMiB'), label: `RSS, ${LABELS[reading]}`, unit: 'MiB', ...(target ? { target } : {}) },
      { figure: workMemoryFigure(config, reading, 'heapUsedMiB'), label: '  V8 heap used', unit: 'MiB' },
      { figure: workMemoryFigure(config, reading, 'heapTotalMiB'), label: '  V8 heap reserved', unit: 'MiB' },
      { figure: workMemoryFigure(config, reading, 'outsideHeapMiB'), label: '  outside V8\'s heap (RSS − reserved heap)', unit: 'MiB' },
      { figure: workMemoryFigure(config, reading, 'externalMiB'), label: '    of it external (Buffers and the like)', unit: 'MiB' },
      { figure: workMemoryFigure(config, reading, 'rssAnonMiB'), label: '  RSS that is anonymous memory (RssAnon)', unit: 'MiB' },
    );
  }
  out.push({ figure: `memoryWork.${config}.rssPeakMiB`, label: 'RSS peak (VmHWM)', unit: 'MiB' });
  return out;
}

/** The printed sections, one per configuration that ran; '' when none did. */
export function workMemoryReport(figures: Record<string, number>, configs: readonly BenchConfiguration[]): string {
  return configs.map((c) => {
    const n = figures[`memoryWork.${c.name}.objects`];
    if (n === undefined) return '';
    return phaseTable(`Memory after real work, ${c.name} (${n} full-spec creates that reach AWS; ${c.description})`, rows(c.name), figures, n !== STATED_OBJECTS);
  }).filter(Boolean).join('\n\n');
}
