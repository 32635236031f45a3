import { CHART_SYNC_PERIOD_MS, CONTROLLER, now, say, sleep, type Context } from '../context.js';
import { ECR_REPOSITORIES_PATH, namespacedRepositoryPath } from '../kube-api.js';
import { BENCH_LABEL, placement, repositoryYaml, type Layout } from '../manifests.js';
import { applyProviders, createAll, layoutFor, watchRepositories } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { Metrics, procStats, waitIdle } from '../operator-stats.js';
import { percentile, round } from '../stats.js';
import { Tracker } from '../tracker.js';

/** The objects the resync run's operators find when they start: created once, shared by the configurations. */
export interface ResyncSetup {
  layout: Layout;
  n: number;
  createSeconds: number;
}

/** Sync period of the operators in the resync run: short, so that their first periodic pass plans its sweep while they run. */
const RESYNC_SYNC_PERIOD_MS = 30_000;
const RESYNC_PROBES = 5;

export async function resyncSetup(ctx: Context): Promise<ResyncSetup> {
  const n = ctx.args.resyncN;
  const layout = layoutFor(ctx, 'bench-rs');
  const { op } = await launchOperator(ctx, 'resync-setup', ctx.args.syncPeriodMs);
  await applyProviders(ctx, layout, { status: 'True', reason: 'Authenticated' });
  say(`resync: creating the ${n} repositories the resync run finds (${ctx.config.name})`);
  // Retain: the environment goes with the run; a shared one lets them go without AWS calls.
  const { seconds } = await createAll(ctx, layout, n, 'Retain');
  say(`resync: ${n} Ready in ${round(seconds, 1)} s`);
  await waitIdle(op, CONTROLLER, { timeoutMs: 600_000, what: 'the operator to settle after the resync setup' });
  await stopOperator(ctx, op);
  return { layout, n, createSeconds: seconds };
}

/**
 * An operator starts with R Ready objects, so its startup pass queues R resyncs; once that pass is
 * under way, single creates are applied one at a time and each is timed from apply to Ready.
 */
export async function resyncPhase(ctx: Context, setup: ResyncSetup): Promise<void> {
  const { figures } = ctx;
  const { layout, n } = setup;
  const { op, pid, startedAt } = await launchOperator(ctx, 'resync', RESYNC_SYNC_PERIOD_MS);
  const underWay = Math.min(200, Math.ceil(n / 10));
  for (;;) {
    const m = await Metrics.of(op);
    if (m.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) >= underWay) break;
    if (now() - startedAt > 600_000) throw new Error(`resync: fewer than ${underWay} reconciles in 10 minutes`);
    await sleep(250);
  }
  const tracker = new Tracker();
  const stopWatch = watchRepositories(ctx, tracker, (await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` })).resourceVersion, layout.prefix);
  const seconds: number[] = [];
  const depths: number[] = [];
  const done: number[] = [];
  try {
    for (let i = 0; i < RESYNC_PROBES; i++) {
      const p = placement(layout, n + i);
      const probe = { ...p, name: `probe-${ctx.config.name}-${i}`, repositoryName: `${p.repositoryName}-probe-${ctx.config.name}` };
      const m = await Metrics.of(op);
      depths.push(m.sum('workqueue_depth', { name: CONTROLLER }));
      done.push(m.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }));
      const key = `${probe.namespace}/${probe.name}`;
      const t0 = now();
      await ctx.api.apply(namespacedRepositoryPath(probe.namespace, probe.name), repositoryYaml(ctx.run, probe, 'Retain'), 'bench');
      await tracker.until(`${key} Ready`, () => tracker.objects.get(key)?.readyAt !== undefined, 120_000);
      seconds.push(((tracker.objects.get(key)?.readyAt as number) - t0) / 1000);
      say(`resync (${ctx.config.name}): a create applied with ${depths[i]} keys queued was Ready in ${round(seconds[i] as number, 2)} s`);
      await sleep(2000);
    }
  } finally {
    stopWatch();
  }
  // The first periodic pass plans the sweep: the period it reports for these objects.
  let sweep = 0;
  for (;;) {
    sweep = (await Metrics.of(op)).sum('infra_operator_sync_sweep_period_seconds', { controller: CONTROLLER });
    if (sweep > 0) break;
    if (now() - startedAt > RESYNC_SYNC_PERIOD_MS * 2) throw new Error('resync: no sweep period reported within two sync periods');
    await sleep(1000);
  }
  const proc = await procStats(pid);
  Object.assign(figures, {
    'resync.objects': n,
    'resync.createReadyP50Seconds': percentile(seconds, 50),
    'resync.createReadyMaxSeconds': Math.max(...seconds),
    'resync.queueDepthAtApplyMin': Math.min(...depths),
    'resync.reconcilesBeforeFirstCreate': done[0] ?? 0,
    'resync.sweepPeriodSeconds': sweep,
    'resync.sweepOverDefaultPeriod': Math.max(sweep, CHART_SYNC_PERIOD_MS / 1000) / (CHART_SYNC_PERIOD_MS / 1000),
    'resync.rssMiB': proc.rssMiB,
  });
  await stopOperator(ctx, op);
}
