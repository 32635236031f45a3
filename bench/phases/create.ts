import { awsCalls, resetAwsCalls } from '../aws-layer.js';
import { CONTROLLER, now, say, sleep, type Context } from '../context.js';
import { counters, meanBetween, prefixed } from '../counters.js';
import { ECR_REPOSITORIES_PATH, readyCondition } from '../kube-api.js';
import { BENCH_LABEL } from '../manifests.js';
import { applyProviders, applyRepositories, layoutFor, watchRepositories } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { delta, procStats, waitIdle } from '../operator-stats.js';
import { percentile, round, sumValues } from '../stats.js';
import type { Tracker } from '../tracker.js';

/**
 * Create: N full-spec repositories applied over the layout's namespaces and providers, timed from
 * the first apply until every one is Ready; the AWS calls, Kubernetes writes, reconciles, CPU and
 * memory they cost.
 */

export async function createPhase(ctx: Context, tracker: Tracker): Promise<void> {
  const { args, figures } = ctx;
  const layout = layoutFor(ctx, 'bench');
  const { op, pid } = await launchOperator(ctx, 'create', args.syncPeriodMs);
  await applyProviders(ctx, layout, { status: 'True', reason: 'Authenticated' });
  await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle before the create' });

  const { resourceVersion } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` });
  const stopWatch = watchRepositories(ctx, tracker, resourceVersion);
  const before = await counters(op);
  const procBefore = await procStats(pid);
  await resetAwsCalls(ctx.env);

  say(`create: applying ${args.n} ECRRepositories in ${args.namespaces} namespaces`);
  const t0 = now();
  const applySeconds = await applyRepositories(ctx, layout, args.n, 'Delete');
  await tracker.until('all objects Ready', () => tracker.count((t) => t.readyAt !== undefined) >= args.n, Math.max(600_000, args.n * 600),
    () => `${tracker.count((t) => t.readyAt !== undefined)}/${args.n} Ready`);
  const readyTimes = [...tracker.objects.values()].map((t) => t.readyAt as number);
  const allReady = Math.max(...readyTimes);
  const seconds = (allReady - t0) / 1000;
  say(`create: all ${args.n} Ready in ${round(seconds, 2)} s; waiting for the operator to settle`);

  await waitIdle(op, CONTROLLER, { timeoutMs: 300_000, what: 'the operator to settle after the create' });
  await sleep(2000);
  const calls = await awsCalls(ctx.env);
  const after = await counters(op);
  const procAfter = await procStats(pid);
  // At rest: settled, and a moment for the garbage of the burst to be collected as it would be.
  await sleep(5000);
  const rest = await procStats(pid);
  stopWatch();

  const objects = [...tracker.objects.values()];
  const fromConditions = objects.map((t) => {
    const ready = t.last ? readyCondition(t.last) : undefined;
    return (Date.parse(ready?.lastTransitionTime ?? '') - Date.parse(t.last?.metadata.creationTimestamp ?? '')) / 1000;
  });
  const watched = objects.map((t) => ((t.readyAt as number) - (t.addedAt ?? t0)) / 1000);
  const writes = delta(after.byMethod, before.byMethod);
  const per = (v: number) => v / args.n;
  Object.assign(figures, {
    'create.seconds': seconds,
    'create.objectsPerSecond': args.n / seconds,
    'create.applySeconds': applySeconds,
    'create.readyP50Seconds': percentile(fromConditions, 50),
    'create.readyP95Seconds': percentile(fromConditions, 95),
    'create.watchReadyP50Seconds': percentile(watched, 50),
    'create.watchReadyP95Seconds': percentile(watched, 95),
    'create.awsCallsPerObject': per(sumValues(calls)),
    'create.awsErrorsPerObject': per(after.awsErrors - before.awsErrors),
    'create.kubeWritesPerObject': per(sumValues(writes)),
    'create.kubePatchesPerObject': per(writes.PATCH ?? 0),
    'create.kubePostsPerObject': per(writes.POST ?? 0),
    'create.statusWritesPerObject': per(objects.reduce((s, t) => s + t.statusWrites, 0)),
    'create.statusWritesToReadyPerObject': per(objects.reduce((s, t) => s + t.statusWritesToReady, 0)),
    'create.finalizerWritesPerObject': per(objects.reduce((s, t) => s + t.finalizerWrites, 0)),
    'create.otherWritesPerObject': per(objects.reduce((s, t) => s + t.otherWrites, 0)),
    'create.reconcilesPerObject': per(after.reconciles - before.reconciles),
    'create.reconcileMeanSeconds': meanBetween(after.reconcileTime, before.reconcileTime),
    'create.queueWaitMeanSeconds': meanBetween(after.queueWait, before.queueWait),
    'create.awsCallMeanSeconds': meanBetween(after.awsCallTime, before.awsCallTime),
    'create.operatorCpuSeconds': procAfter.cpuSeconds - procBefore.cpuSeconds,
    'create.rssPeakMiB': rest.peakRssMiB,
    'create.rssAtRestMiB': rest.rssMiB,
  });
  ctx.awsCalls.create = calls;
  ctx.kubeWrites.create = { ...prefixed('method', writes), ...prefixed('code', delta(after.byCode, before.byCode)) };
  await stopOperator(ctx, op);
}
