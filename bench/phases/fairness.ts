import { accessKeyInAccount, awsCallsBySigner, injectedFaults, resetAwsCalls, setFaults, type Fault } from '../aws-layer.js';
import { CONTROLLER, now, say, sleep, type Context } from '../context.js';
import { ECR_REPOSITORIES_PATH, namespacedRepositoryPath } from '../kube-api.js';
import { BENCH_LABEL, namespaceName, placement, repositoriesByNamespace, repositoryYaml, type Layout } from '../manifests.js';
import { applyProviders, removeLayout, watchRepositories } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { Metrics, waitIdle } from '../operator-stats.js';
import { round } from '../stats.js';
import { Tracker } from '../tracker.js';

/**
 * Fairness between tenants, at the chart's defaults: namespace A applies A full-spec creates, and a
 * second after A's last apply namespace B applies one; the figure is the time from B's apply until
 * its object is Ready (target: 5 s), beside how many keys were queued then and how much of A's
 * burst was done. Then the same again while the AWS layer throttles half of the ECR calls of A's
 * account. B comes after the whole burst, not during it, so that however fast the API server takes
 * A's applies, B finds all of them there before it.
 *
 * A's provider acts in an AWS account of its own (a key of an IAM user there), B's in the
 * environment's: each account has its own client-side rate limit, as two tenants' accounts do,
 * and the throttles single out A's calls by their key. What B waits for is then the operator's
 * sharing of its queue and workers, not an AWS budget it shares with A.
 *
 * Each half runs a fresh operator on an empty queue and new namespaces, and lets every object go
 * afterwards (deletionPolicy Retain: no AWS call, so the release does not wait on A's account; the
 * repositories stay in the local AWS layer). Nothing waits for the rest of A's burst.
 */

/** A's account: any other than the environment's own (123456789012). */
const ACCOUNT_A = '210987654321';
/** B applies this long after A's last apply. */
const B_DELAY_MS = 1000;
/** A's burst is applied over this many concurrent request streams, as a fast client would. */
const A_STREAMS = 8;

interface Half {
  aApplySeconds: number;
  aReadyBeforeB: number;
  queueDepthAtB: number;
  bReadySeconds: number;
  aReadyAtB: number;
  throttles: number;
  aEcrCalls: number;
}

export async function fairnessPhase(ctx: Context): Promise<void> {
  const n = ctx.args.fairnessN;
  const keyA = await accessKeyInAccount(ctx.env, ACCOUNT_A, `bench-fairness-${ctx.run}`);
  say(`fairness: namespace A acts in account ${ACCOUNT_A} (access key ${keyA.accessKeyId}), namespace B in the environment's`);
  const clean = await half(ctx, 'clean', keyA.accessKeyId, []);
  const throttled = await half(ctx, 'throttled', keyA.accessKeyId, [
    { operation: '*', service: 'ECR', accessKeyId: keyA.accessKeyId, rate: 0.5, status: 400, code: 'ThrottlingException', message: 'Rate exceeded' },
  ]);
  Object.assign(ctx.figures, {
    'fairness.objects': n,
    'fairness.aApplySeconds': clean.aApplySeconds,
    'fairness.aReadyBeforeB': clean.aReadyBeforeB,
    'fairness.queueDepthAtB': clean.queueDepthAtB,
    'fairness.bReadySeconds': clean.bReadySeconds,
    'fairness.aReadyAtB': clean.aReadyAtB,
    'fairness.throttledAApplySeconds': throttled.aApplySeconds,
    'fairness.throttledAReadyBeforeB': throttled.aReadyBeforeB,
    'fairness.throttledQueueDepthAtB': throttled.queueDepthAtB,
    'fairness.throttledBReadySeconds': throttled.bReadySeconds,
    'fairness.throttledAReadyAtB': throttled.aReadyAtB,
    'fairness.throttlesInjected': throttled.throttles,
    'fairness.throttledShareOfA': throttled.throttles / Math.max(1, throttled.aEcrCalls),
  });
}

/** One half: A's burst, B's one create a second later, B timed to Ready; then everything let go. */
async function half(ctx: Context, label: 'clean' | 'throttled', keyA: string, faults: Fault[]): Promise<Half> {
  const n = ctx.args.fairnessN;
  const tag = label === 'clean' ? '' : 't';
  const a: Layout = { run: ctx.run, prefix: `bench-fair${tag}a`, namespaces: 1, providersPerNamespace: 1 };
  const b: Layout = { run: ctx.run, prefix: `bench-fair${tag}b`, namespaces: 1, providersPerNamespace: 1 };
  const aNamespace = namespaceName(a, 0);
  const bNamespace = namespaceName(b, 0);
  const { op } = await launchOperator(ctx, `fairness-${label}`, ctx.args.syncPeriodMs);
  await applyProviders(ctx, a, { status: 'True', reason: 'Authenticated' }, { keyId: keyA });
  await applyProviders(ctx, b, { status: 'True', reason: 'Authenticated' });
  await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: `the operator to settle before the fairness run (${label})` });

  const aDocs = [...repositoriesByNamespace(a, n, 'Retain').values()].flat();
  const bPlacement = placement(b, 0);
  const bKey = `${bNamespace}/${bPlacement.name}`;
  const tracker = new Tracker();
  const { resourceVersion } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` });
  const stopWatch = watchRepositories(ctx, tracker, resourceVersion, (ns) => ns === aNamespace || ns === bNamespace);
  await resetAwsCalls(ctx.env);
  if (faults.length) await setFaults(ctx.env, faults);
  let result: Half;
  try {
    say(`fairness (${label}): namespace A applies ${n} ECRRepositories; namespace B one, ${B_DELAY_MS / 1000} s after A's last`);
    let next = 0;
    const t0 = now();
    await Promise.all(Array.from({ length: Math.min(A_STREAMS, n) }, async () => {
      while (next < aDocs.length) {
        const { placement: p, yaml } = aDocs[next++]!;
        await ctx.api.apply(namespacedRepositoryPath(p.namespace, p.name), yaml, 'bench');
      }
    }));
    const aApplySeconds = (now() - t0) / 1000;
    await sleep(B_DELAY_MS);

    const aReady = () => tracker.count((t) => t.readyAt !== undefined) - (tracker.objects.get(bKey)?.readyAt !== undefined ? 1 : 0);
    const aReadyBeforeB = aReady();
    const tB = now();
    const [metrics] = await Promise.all([
      Metrics.of(op),
      ctx.api.apply(namespacedRepositoryPath(bNamespace, bPlacement.name), repositoryYaml(ctx.run, bPlacement, 'Retain'), 'bench'),
    ]);
    const queueDepthAtB = metrics.sum('workqueue_depth', { name: CONTROLLER });
    await tracker.until(`${bKey} Ready`, () => tracker.objects.get(bKey)?.readyAt !== undefined, Math.max(600_000, n * 1500),
      () => `B not Ready yet; ${aReady()}/${n} of A Ready`);
    const bReadyAt = tracker.objects.get(bKey)?.readyAt as number;
    const aReadyAtB = aReady();
    const throttles = faults.length ? (await injectedFaults(ctx.env)).ThrottlingException ?? 0 : 0;
    const bySigner = await awsCallsBySigner(ctx.env);
    const aEcrCalls = Object.entries(bySigner).filter(([k]) => k.startsWith('ECR:') && k.endsWith(`@${keyA}`)).reduce((s, [, v]) => s + v, 0);
    result = { aApplySeconds, aReadyBeforeB, queueDepthAtB, bReadySeconds: (bReadyAt - tB) / 1000, aReadyAtB, throttles, aEcrCalls };
  } finally {
    if (faults.length) await setFaults(ctx.env, []);
    stopWatch();
  }
  say(`fairness (${label}): B's create was Ready in ${round(result.bReadySeconds, 2)} s (target 5 s); ${result.queueDepthAtB} keys queued when B applied, ${result.aReadyAtB} of A's ${n} Ready by then`);
  await removeLayout(ctx, a);
  await removeLayout(ctx, b);
  await stopOperator(ctx, op);
  return result;
}
