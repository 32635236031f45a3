import { awsCalls, resetAwsCalls } from '../aws-layer.js';
import { CONTROLLER, now, say, type Context } from '../context.js';
import { counters, meanBetween, prefixed } from '../counters.js';
import { ECR_REPOSITORIES_PATH, namespacedRepositoryPath } from '../kube-api.js';
import { BENCH_LABEL } from '../manifests.js';
import { layoutFor, namespacesOf, removeNamespaces, watchRepositories } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { delta, procStats, waitIdle } from '../operator-stats.js';
import { round, sumValues } from '../stats.js';
import type { Tracker } from '../tracker.js';

/**
 * Delete: the create's N objects (deletionPolicy Delete) deleted one collection per namespace,
 * timed until every one is gone; then their namespaces.
 */

export async function deletePhase(ctx: Context, tracker: Tracker): Promise<void> {
  const { args, figures } = ctx;
  const layout = layoutFor(ctx, 'bench');
  const { op, pid } = await launchOperator(ctx, 'delete', args.syncPeriodMs);
  await waitIdle(op, CONTROLLER, { minReconciles: args.n, timeoutMs: 600_000, what: 'the startup pass before the delete' });
  const stopWatch = watchRepositories(ctx, tracker, (await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` })).resourceVersion);
  const before = await counters(op);
  const procBefore = await procStats(pid);
  await resetAwsCalls(ctx.env);

  say(`delete: deleting ${args.n} ECRRepositories`);
  const t0 = now();
  // One delete-collection request per namespace: `kubectl delete --all` deletes one object at a
  // time under its client-side rate limit, which took longer than the operator's work.
  await Promise.all(namespacesOf(layout).map((ns) => ctx.api.deleteCollection(namespacedRepositoryPath(ns), `${BENCH_LABEL}=${ctx.run}`)));
  await tracker.until('all objects gone', () => tracker.count((t) => t.deletedAt !== undefined) >= args.n, Math.max(600_000, args.n * 600),
    () => `${tracker.count((t) => t.deletedAt !== undefined)}/${args.n} gone`);
  const gone = Math.max(...[...tracker.objects.values()].map((t) => t.deletedAt as number));
  const seconds = (gone - t0) / 1000;
  await waitIdle(op, CONTROLLER, { timeoutMs: 300_000, what: 'the operator to settle after the delete' });
  const calls = await awsCalls(ctx.env);
  const after = await counters(op);
  const procAfter = await procStats(pid);
  stopWatch();
  const writes = delta(after.byMethod, before.byMethod);
  Object.assign(figures, {
    'delete.seconds': seconds,
    'delete.objectsPerSecond': args.n / seconds,
    'delete.awsCallsPerObject': sumValues(calls) / args.n,
    'delete.kubeWritesPerObject': sumValues(writes) / args.n,
    'delete.operatorCpuSeconds': procAfter.cpuSeconds - procBefore.cpuSeconds,
    'delete.reconcileMeanSeconds': meanBetween(after.reconcileTime, before.reconcileTime),
  });
  ctx.awsCalls.delete = calls;
  ctx.kubeWrites.delete = prefixed('method', writes);
  say(`delete: all gone in ${round(seconds, 2)} s`);
  await stopOperator(ctx, op);
  await removeNamespaces(ctx, layout);
}
