import { round } from './stats.js';

/**
 * The figures table: every figure with its unit, and beside the ones that have a target the target
 * and whether it is met. The targets are stated for N = 1,000, 10,000 objects in the memory run and
 * 2,000 in the fairness run; a smaller run still shows them, marked as indicative.
 */

export interface Target {
  figure: string;
  max: number;
  /** What the target says, for the table. */
  text: string;
  /** The object counts the target is stated for. */
  statedFor: Partial<Counts>;
  /** The configuration it is judged on; every configuration when absent. */
  config?: string;
  /** Met also above `max` as long as the figure is reported: "within X, or the figure says by how much". */
  orReported?: boolean;
}

/** The object counts of a run, as the targets state them. */
export interface Counts {
  n: number;
  memoryN: number;
  faultN: number;
  resyncN: number;
  fairnessN: number;
}

export const TARGETS: Target[] = [
  { figure: 'create.operatorOverFloor', max: 1.5, text: '≤ 1.5 × floor', statedFor: { n: 1000 }, config: 'defaults' },
  { figure: 'create.awsCallsPerObject', max: 3.5, text: '≤ 3.5 calls', statedFor: { n: 1000 } },
  { figure: 'create.statusWritesPerObject', max: 3, text: '≤ 3 writes', statedFor: { n: 1000 } },
  { figure: 'sync.awsCallsPerRepository', max: 3.2, text: '≤ 3.2 calls', statedFor: { n: 1000 } },
  { figure: 'sync.describeRepositoriesPer1000', max: 10, text: '≤ 10 calls', statedFor: { n: 1000 } },
  { figure: 'sync.achievedOverSyncPeriod', max: 1, text: '≤ 1 × period, or reported', statedFor: { n: 1000 }, config: 'defaults', orReported: true },
  { figure: 'faults.overClean', max: 2, text: '≤ 2 × fault-free', statedFor: { faultN: 150 } },
  { figure: 'resync.createReadyMaxSeconds', max: 5, text: '≤ 5 s', statedFor: { resyncN: 10_000 } },
  { figure: 'resync.sweepOverDefaultPeriod', max: 1, text: '≤ 1 × the chart\'s period, or reported', statedFor: { resyncN: 10_000 }, config: 'defaults', orReported: true },
  { figure: 'fairness.bReadySeconds', max: 5, text: '≤ 5 s', statedFor: { fairnessN: 2000 } },
  { figure: 'fairness.throttledBReadySeconds', max: 5, text: '≤ 5 s', statedFor: { fairnessN: 2000 } },
  { figure: 'memory.rssAt1000MiB', max: 150, text: '≤ 150 MiB', statedFor: { memoryN: 10_000 } },
  { figure: 'memory.rssAtRestMiB', max: 200, text: '≤ 200 MiB', statedFor: { memoryN: 10_000 } },
  { figure: 'memory.restartRssAtRestMiB', max: 200, text: '≤ 200 MiB', statedFor: { memoryN: 10_000 } },
  { figure: 'memory.growthPer1000MiB', max: 10, text: '≤ 10 MiB', statedFor: { memoryN: 10_000 } },
];

interface Row {
  figure: string;
  label: string;
  unit: string;
}

const ROWS: Array<Row | string> = [
  'Create (first apply → all Ready)',
  { figure: 'create.seconds', label: 'operator: N objects to Ready', unit: 's' },
  { figure: 'floor.createSeconds', label: 'floor: N repositories, plain SDK (best of runs)', unit: 's' },
  { figure: 'create.operatorOverFloor', label: 'operator time / floor time', unit: '×' },
  { figure: 'create.objectsPerSecond', label: 'throughput', unit: 'objects/s' },
  { figure: 'create.applySeconds', label: 'of which applying (server-side apply, a stream per namespace)', unit: 's' },
  { figure: 'create.readyP50Seconds', label: 'per object, Ready lastTransitionTime − creationTimestamp, p50', unit: 's' },
  { figure: 'create.readyP95Seconds', label: 'per object, Ready lastTransitionTime − creationTimestamp, p95', unit: 's' },
  { figure: 'create.watchReadyP50Seconds', label: 'per object, watched ADDED → Ready, p50', unit: 's' },
  { figure: 'create.watchReadyP95Seconds', label: 'per object, watched ADDED → Ready, p95', unit: 's' },
  { figure: 'create.awsCallsPerObject', label: 'AWS calls per full-spec create', unit: 'calls' },
  { figure: 'floor.awsCallsPerCreate', label: 'floor: AWS calls per create', unit: 'calls' },
  { figure: 'create.awsErrorsPerObject', label: 'AWS calls that failed, per create (operator metric)', unit: 'calls' },
  { figure: 'create.kubeWritesPerObject', label: 'Kubernetes API writes per object (all methods)', unit: 'writes' },
  { figure: 'create.kubePatchesPerObject', label: '  of which PATCH', unit: 'writes' },
  { figure: 'create.kubePostsPerObject', label: '  of which POST (Events)', unit: 'writes' },
  { figure: 'create.statusWritesPerObject', label: 'status writes per object, create → settled', unit: 'writes' },
  { figure: 'create.statusWritesToReadyPerObject', label: 'status writes per object, create → first Ready', unit: 'writes' },
  { figure: 'create.finalizerWritesPerObject', label: 'finalizer writes per object', unit: 'writes' },
  { figure: 'create.reconcilesPerObject', label: 'reconciles per object', unit: '' },
  { figure: 'create.reconcileMeanSeconds', label: 'mean reconcile time (a worker busy per object)', unit: 's' },
  { figure: 'floor.workerSecondsPerCreate', label: 'floor: a worker busy per repository', unit: 's' },
  { figure: 'create.awsCallMeanSeconds', label: 'mean ECR call latency seen by the operator', unit: 's' },
  { figure: 'create.queueWaitMeanSeconds', label: 'mean wait in the work queue', unit: 's' },
  { figure: 'create.operatorCpuSeconds', label: 'operator CPU', unit: 's' },
  { figure: 'create.rssPeakMiB', label: 'operator RSS peak (VmHWM)', unit: 'MiB' },
  { figure: 'create.rssAtRestMiB', label: 'operator RSS at rest, N objects', unit: 'MiB' },
  'Periodic sync of N unchanged objects (one real timer-driven pass)',
  { figure: 'sync.periodSeconds', label: 'sync period used', unit: 's' },
  { figure: 'sync.seconds', label: 'first to last reconcile of the pass', unit: 's' },
  { figure: 'sync.awsCallsPerRepository', label: 'ECR calls per repository', unit: 'calls' },
  { figure: 'sync.describeRepositoriesPer1000', label: 'DescribeRepositories per 1,000 managed repositories', unit: 'calls' },
  { figure: 'sync.achievedPeriodSeconds', label: 'achieved sweep period (infra_operator_sync_sweep_period_seconds)', unit: 's' },
  { figure: 'sync.achievedOverSyncPeriod', label: 'achieved period / sync period', unit: '×' },
  { figure: 'sync.kubeWritesPerRepository', label: 'Kubernetes API writes per repository', unit: 'writes' },
  { figure: 'sync.statusWritesPerRepository', label: 'status writes per repository', unit: 'writes' },
  { figure: 'sync.reconcileMeanSeconds', label: 'mean reconcile time', unit: 's' },
  { figure: 'sync.operatorCpuSeconds', label: 'operator CPU', unit: 's' },
  'Delete (deletionPolicy Delete; delete → all gone)',
  { figure: 'delete.seconds', label: 'operator: N objects gone', unit: 's' },
  { figure: 'floor.deleteSeconds', label: 'floor: N DeleteRepository (best of runs)', unit: 's' },
  { figure: 'delete.operatorOverFloor', label: 'operator time / floor time', unit: '×' },
  { figure: 'delete.objectsPerSecond', label: 'throughput', unit: 'objects/s' },
  { figure: 'delete.awsCallsPerObject', label: 'AWS calls per delete', unit: 'calls' },
  { figure: 'delete.kubeWritesPerObject', label: 'Kubernetes API writes per object', unit: 'writes' },
  { figure: 'delete.reconcileMeanSeconds', label: 'mean reconcile time', unit: 's' },
  { figure: 'delete.operatorCpuSeconds', label: 'operator CPU', unit: 's' },
  'Creates under faults (one operator: F creates, then F more while ECR answers 15% ThrottlingException, 10% ServerException)',
  { figure: 'faults.objects', label: 'creates in each half', unit: '' },
  { figure: 'faults.cleanSeconds', label: 'without faults: all Ready', unit: 's' },
  { figure: 'faults.seconds', label: 'with faults: all Ready', unit: 's' },
  { figure: 'faults.overClean', label: 'with faults / without', unit: '×' },
  { figure: 'faults.readyP95Seconds', label: 'with faults: per object, watched ADDED → Ready, p95', unit: 's' },
  { figure: 'faults.cleanAwsCallsPerObject', label: 'ECR calls per create without faults', unit: 'calls' },
  { figure: 'faults.awsCallsPerObject', label: 'ECR calls per create with faults (retries included)', unit: 'calls' },
  { figure: 'faults.injectedShare', label: 'share of ECR calls that met a fault', unit: '' },
  { figure: 'faults.throttlesInjected', label: 'throttles injected', unit: '' },
  { figure: 'faults.serverErrorsInjected', label: 'server errors injected', unit: '' },
  { figure: 'faults.reconcileErrorsPerObject', label: 'ECR calls that failed after the SDK\'s retries, per create', unit: 'calls' },
  'A create while R objects resync (an operator started on R Ready objects; creates applied one at a time)',
  { figure: 'resync.setupCreateSeconds', label: 'setup: R objects created to Ready (unlimited)', unit: 's' },
  { figure: 'resync.objects', label: 'objects being resynced', unit: '' },
  { figure: 'resync.reconcilesBeforeFirstCreate', label: 'resync reconciles done before the first create', unit: '' },
  { figure: 'resync.queueDepthAtApplyMin', label: 'keys queued when a create was applied (least)', unit: '' },
  { figure: 'resync.createReadyP50Seconds', label: 'create applied → Ready, p50', unit: 's' },
  { figure: 'resync.createReadyMaxSeconds', label: 'create applied → Ready, slowest', unit: 's' },
  { figure: 'resync.sweepPeriodSeconds', label: 'sweep period the operator reports for R objects (sync period 30 s)', unit: 's' },
  { figure: 'resync.sweepOverDefaultPeriod', label: 'that period / the chart\'s sync period (10 m), at least 1', unit: '×' },
  { figure: 'resync.rssMiB', label: 'operator RSS during the resync', unit: 'MiB' },
  'Fairness at the chart\'s defaults (namespace A applies A full-spec creates in an AWS account of its own; namespace B one, a second after A\'s last)',
  { figure: 'fairness.objects', label: 'creates namespace A applies', unit: '' },
  { figure: 'fairness.aApplySeconds', label: 'A\'s applies took', unit: 's' },
  { figure: 'fairness.aReadyBeforeB', label: 'A\'s objects Ready when B applied its one', unit: '' },
  { figure: 'fairness.queueDepthAtB', label: 'keys queued when B applied', unit: '' },
  { figure: 'fairness.bReadySeconds', label: 'B\'s create applied → Ready', unit: 's' },
  { figure: 'fairness.aReadyAtB', label: 'A\'s objects Ready when B\'s was', unit: '' },
  'The same while the AWS layer throttles 50% of the ECR calls of A\'s account',
  { figure: 'fairness.throttledAApplySeconds', label: 'A\'s applies took', unit: 's' },
  { figure: 'fairness.throttledAReadyBeforeB', label: 'A\'s objects Ready when B applied its one', unit: '' },
  { figure: 'fairness.throttledQueueDepthAtB', label: 'keys queued when B applied', unit: '' },
  { figure: 'fairness.throttledBReadySeconds', label: 'B\'s create applied → Ready', unit: 's' },
  { figure: 'fairness.throttledAReadyAtB', label: 'A\'s objects Ready when B\'s was', unit: '' },
  { figure: 'fairness.throttlesInjected', label: 'throttles A\'s calls met until then', unit: '' },
  { figure: 'fairness.throttledShareOfA', label: 'share of A\'s ECR calls throttled until then', unit: '' },
  'Memory (provider endpoint unreachable: cache and queue only)',
  { figure: 'memory.objects', label: 'objects', unit: '' },
  { figure: 'memory.settleSeconds', label: 'apply → all ProviderNotReady, queue settled', unit: 's' },
  { figure: 'memory.rssIdleMiB', label: 'RSS at rest with no objects', unit: 'MiB' },
  { figure: 'memory.rssAt1000MiB', label: 'RSS with 1,000 objects, a minute after they settled', unit: 'MiB' },
  { figure: 'memory.rssAtRestMiB', label: 'RSS at rest, objects applied while running', unit: 'MiB' },
  { figure: 'memory.growthPer1000MiB', label: 'RSS growth per 1,000 objects, a minute after they settled', unit: 'MiB' },
  { figure: 'memory.rssMinuteLaterMiB', label: '  the same, a minute later', unit: 'MiB' },
  { figure: 'memory.rssPeakMiB', label: 'RSS peak (VmHWM), objects applied while running', unit: 'MiB' },
  { figure: 'memory.rssAnonMiB', label: '  of it anonymous memory (RssAnon), a minute later', unit: 'MiB' },
  { figure: 'memory.heapTotalMiB', label: '  V8 heap reserved (nodejs_heap_size_total_bytes)', unit: 'MiB' },
  { figure: 'memory.heapUsedMiB', label: '  V8 heap used (nodejs_heap_size_used_bytes)', unit: 'MiB' },
  { figure: 'memory.externalMiB', label: '  outside V8\'s heap (nodejs_external_memory_bytes)', unit: 'MiB' },
  { figure: 'memory.kubeWritesPerObjectPerMinute', label: 'Kubernetes API writes per object per minute at rest', unit: 'writes' },
  { figure: 'memory.restartRssAtRestMiB', label: 'RSS at rest after a restart (initial list)', unit: 'MiB' },
  { figure: 'memory.restartRssMinuteLaterMiB', label: '  the same, a minute later', unit: 'MiB' },
  { figure: 'memory.restartRssAnonMiB', label: '  of it anonymous memory (RssAnon), a minute later', unit: 'MiB' },
  { figure: 'memory.restartHeapTotalMiB', label: '  V8 heap reserved', unit: 'MiB' },
  { figure: 'memory.restartHeapUsedMiB', label: '  V8 heap used', unit: 'MiB' },
  { figure: 'memory.restartExternalMiB', label: '  outside V8\'s heap', unit: 'MiB' },
  { figure: 'memory.restartRssPeakMiB', label: 'RSS peak after a restart (initial list)', unit: 'MiB' },
  { figure: 'memory.restartKubeWritesPerObjectPerMinute', label: 'Kubernetes API writes per object per minute at rest, after the restart', unit: 'writes' },
];

export interface Verdict {
  figure: string;
  /** The configuration judged ('' for figures that belong to no configuration, such as memory). */
  config: string;
  value: number;
  target: string;
  met: boolean;
  indicative: boolean;
  /** Above the figure (met only because the target accepts a reported figure). */
  over?: boolean;
}

/**
 * `figures` holds per-configuration figures as `<config>.<figure>` and shared ones (memory) as
 * `<figure>`; every target is judged on the configurations it names, or on all that have it.
 */
export function verdicts(figures: Record<string, number>, configs: readonly string[], counts: Counts): Verdict[] {
  const out: Verdict[] = [];
  for (const t of TARGETS) {
    const indicative = (Object.keys(t.statedFor) as Array<keyof Counts>).some((k) => t.statedFor[k] !== counts[k]);
    const candidates = ['', ...configs].filter((c) => t.config === undefined || c === t.config);
    for (const config of candidates) {
      const value = figures[config ? `${config}.${t.figure}` : t.figure];
      if (value === undefined) continue;
      const within = Number.isFinite(value) && value <= t.max;
      out.push({ figure: t.figure, config, value, target: t.text, met: within || (t.orReported === true && Number.isFinite(value)), indicative, ...(within ? {} : { over: true }) });
    }
  }
  return out;
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(round(value, Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3));
}

/** The figures table: one value column per configuration, then the target and the verdicts. */
export function table(figures: Record<string, number>, configs: readonly string[], verdictList: Verdict[]): string {
  const lines: string[][] = [];
  const sections: Array<{ index: number; title: string }> = [];
  for (const row of ROWS) {
    if (typeof row === 'string') {
      sections.push({ index: lines.length, title: row });
      continue;
    }
    const shared = figures[row.figure];
    const values = configs.map((c) => figures[`${c}.${row.figure}`]);
    if (shared === undefined && values.every((v) => v === undefined)) continue;
    const cells = shared !== undefined
      ? configs.map((_, i) => (i === 0 ? `${formatValue(shared)} ${row.unit}`.trim() : ''))
      : values.map((v) => (v === undefined ? '—' : `${formatValue(v)} ${row.unit}`.trim()));
    const vs = verdictList.filter((v) => v.figure === row.figure);
    const target = vs[0]?.target ?? '';
    const met = vs.map((v) => `${v.config ? `${v.config}: ` : ''}${v.met ? (v.over ? 'reported' : 'met') : 'MISSED'}${v.indicative ? ' (indicative)' : ''}`).join(', ');
    lines.push([row.label, ...cells, target, met]);
  }
  const header = ['figure', ...configs, 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const numeric = (i: number) => i >= 1 && i <= configs.length;
  const fmt = (cells: string[]) => cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [fmt(header), fmt(widths.map((w) => '-'.repeat(w)))];
  lines.forEach((l, i) => {
    // The section just before a row is its own; one whose figures are all absent (a part skipped) is not shown.
    const sec = sections.filter((s) => s.index === i).pop();
    if (sec) out.push('', sec.title);
    out.push(fmt(l));
  });
  return out.join('\n');
}
