import { awsCalls, ecrOnly, resetAwsCalls } from '../aws-layer.js';
import { CONTROLLER, now, say, sleep, type Context } from '../context.js';
import { counters, meanBetween, prefixed } from '../counters.js';
import { ECR_REPOSITORIES_PATH } from '../kube-api.js';
import { BENCH_LABEL } from '../manifests.js';
import { watchRepositories } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { delta, Metrics, procStats, waitIdle } from '../operator-stats.js';
import { round, sumValues } from '../stats.js';
import type { Tracker } from '../tracker.js';

/**
 * One real periodic sync: a fresh operator with a short sync period does its startup pass (not
 * counted), then the counters are reset and the first timer-driven pass over all N objects is
 * counted until the queue is idle again, well before the next period. The period is chosen so that
 * the startup pass ends before the timer fires; if it does not, the run tries a longer one.
 */
export async function syncPhase(ctx: Context, tracker: Tracker): Promise<void> {
  const { args, figures } = ctx;
  let periodMs = args.measureSyncPeriodMs || Math.max(30_000, Math.ceil((figures['create.seconds'] ?? 10) * 3 + 15) * 1000);
  for (let attempt = 1; ; attempt++) {
    const { op, pid, startedAt } = await launchOperator(ctx, 'sync', periodMs);
    const startup = await waitIdle(op, CONTROLLER, { minReconciles: args.n, timeoutMs: periodMs * 3, what: 'the startup pass' });
    const startupSeconds = (now() - startedAt) / 1000;
    if (startupSeconds > (periodMs / 1000) * 0.8) {
      await stopOperator(ctx, op);
      if (attempt >= 3 || args.measureSyncPeriodMs) throw new Error(`the startup pass took ${round(startupSeconds, 1)} s of a ${periodMs / 1000} s sync period; pass a longer --measure-sync-period`);
      periodMs *= 2;
      say(`sync: the startup pass took ${round(startupSeconds, 1)} s, too close to the period; again with ${periodMs / 1000} s`);
      continue;
    }
    const base = startup.sum('controller_runtime_reconcile_total', { controller: CONTROLLER });
    say(`sync: startup pass done in ${round(startupSeconds, 1)} s (${base} reconciles); waiting for the periodic pass at ${periodMs / 1000} s`);
    await resetAwsCalls(ctx.env);
    const stopWatch = watchRepositories(ctx, tracker, (await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` })).resourceVersion);
    tracker.resetWrites();
    const before = await counters(op);
    const procBefore = await procStats(pid);

    // The first reconcile of the pass, to time it; then idle with all N done.
    let firstAt: number | undefined;
    for (;;) {
      const m = await Metrics.of(op);
      if (m.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) > base) {
        firstAt = now();
        break;
      }
      if (now() - startedAt > periodMs * 1.5) throw new Error('no periodic reconcile within 1.5 sync periods');
      await sleep(200);
    }
    const end = await waitIdle(op, CONTROLLER, { minReconciles: base + args.n, timeoutMs: periodMs, what: 'the periodic pass', intervalMs: 200 });
    const lastAt = now() - 400;
    const calls = await awsCalls(ctx.env);
    const after = await counters(op);
    const procAfter = await procStats(pid);
    stopWatch();
    const elapsed = now() - startedAt;
    const reconciles = end.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) - base;
    if (elapsed > periodMs * 2) throw new Error(`the periodic pass ran into the next one (${round(elapsed / 1000, 1)} s after start, period ${periodMs / 1000} s)`);
    if (reconciles !== args.n) ctx.notes.push(`sync: ${reconciles} reconciles in the window for ${args.n} objects`);

    const ecr = ecrOnly(calls);
    // The sweep's achieved period, as the operator reports it (absent from operators without it).
    const achieved = end.sum('infra_operator_sync_sweep_period_seconds', { controller: CONTROLLER });
    if (achieved > 0) {
      figures['sync.achievedPeriodSeconds'] = achieved;
      figures['sync.achievedOverSyncPeriod'] = achieved / (periodMs / 1000);
    }
    const writes = delta(after.byMethod, before.byMethod);
    const objects = [...tracker.objects.values()];
    Object.assign(figures, {
      'sync.periodSeconds': periodMs / 1000,
      'sync.startupPassSeconds': startupSeconds,
      'sync.seconds': (lastAt - firstAt) / 1000,
      'sync.reconcilesPerRepository': reconciles / args.n,
      'sync.reconcileMeanSeconds': meanBetween(after.reconcileTime, before.reconcileTime),
      'sync.awsCallsPerRepository': sumValues(ecr) / args.n,
      'sync.allAwsCallsPerRepository': sumValues(calls) / args.n,
      'sync.describeRepositoriesPer1000': ((calls['ECR:DescribeRepositories'] ?? 0) / args.n) * 1000,
      'sync.kubeWritesPerRepository': sumValues(writes) / args.n,
      'sync.statusWritesPerRepository': objects.reduce((s, t) => s + t.statusWrites, 0) / args.n,
      'sync.operatorCpuSeconds': procAfter.cpuSeconds - procBefore.cpuSeconds,
    });
    ctx.awsCalls.sync = calls;
    ctx.kubeWrites.sync = prefixed('method', writes);
    await stopOperator(ctx, op);
    return;
  }
}
