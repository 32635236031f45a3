import { awsCalls, ecrOnly, injectedFaults, resetAwsCalls, setFaults, type Fault } from '../aws-layer.js';
import { CONTROLLER, say, type Context } from '../context.js';
import { counters } from '../counters.js';
import { applyProviders, createAll, layoutFor, removeLayout } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { procStats, waitIdle } from '../operator-stats.js';
import { percentile, round, sumValues } from '../stats.js';
import type { Tracker } from '../tracker.js';

/** ECR's answers in the fault run: 15% throttled, 10% failed with a server error, at random. */
const FAULT_MIX: Fault[] = [
  { operation: '*', service: 'ECR', rate: 0.15, status: 400, code: 'ThrottlingException', message: 'Rate exceeded' },
  { operation: '*', service: 'ECR', rate: 0.1, status: 500, code: 'ServerException', message: 'We encountered an internal error. Please try again.' },
];

/**
 * F full-spec creates without faults, then F others while ECR answers 15% of calls with
 * ThrottlingException and 10% with a server error, one operator throughout: how much longer the
 * faults make it, and how many calls they cost.
 */
export async function faultPhase(ctx: Context): Promise<void> {
  const { args, figures } = ctx;
  const n = args.faultN;
  const clean = layoutFor(ctx, 'bench-fc');
  const faulty = layoutFor(ctx, 'bench-ff');
  const { op, pid } = await launchOperator(ctx, 'faults', args.syncPeriodMs);
  await applyProviders(ctx, clean, { status: 'True', reason: 'Authenticated' });
  await applyProviders(ctx, faulty, { status: 'True', reason: 'Authenticated' });
  await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle before the fault run' });

  await resetAwsCalls(ctx.env);
  say(`faults: ${n} creates without faults`);
  const cleanRun = await createAll(ctx, clean, n, 'Delete');
  const cleanCalls = ecrOnly(await awsCalls(ctx.env));
  await waitIdle(op, CONTROLLER, { timeoutMs: 300_000, what: 'the operator to settle after the fault-free creates' });

  await resetAwsCalls(ctx.env);
  const before = await counters(op);
  say(`faults: ${n} creates with 15% throttles and 10% server errors`);
  await setFaults(ctx.env, FAULT_MIX);
  let faultRun: { seconds: number; tracker: Tracker };
  let injected: Record<string, number>;
  try {
    faultRun = await createAll(ctx, faulty, n, 'Delete');
  } finally {
    injected = await injectedFaults(ctx.env);
    await setFaults(ctx.env, []);
  }
  const faultCalls = ecrOnly(await awsCalls(ctx.env));
  const after = await counters(op);
  const proc = await procStats(pid);
  const watched = [...faultRun.tracker.objects.values()].map((t) => ((t.readyAt as number) - (t.addedAt as number)) / 1000);
  Object.assign(figures, {
    'faults.objects': n,
    'faults.cleanSeconds': cleanRun.seconds,
    'faults.seconds': faultRun.seconds,
    'faults.overClean': faultRun.seconds / cleanRun.seconds,
    'faults.readyP95Seconds': percentile(watched, 95),
    'faults.cleanAwsCallsPerObject': sumValues(cleanCalls) / n,
    'faults.awsCallsPerObject': sumValues(faultCalls) / n,
    'faults.throttlesInjected': injected.ThrottlingException ?? 0,
    'faults.serverErrorsInjected': injected.ServerException ?? 0,
    'faults.injectedShare': ((injected.ThrottlingException ?? 0) + (injected.ServerException ?? 0)) / Math.max(1, sumValues(faultCalls)),
    'faults.reconcileErrorsPerObject': (after.awsErrors - before.awsErrors) / n,
    'faults.rssMiB': proc.rssMiB,
  });
  ctx.awsCalls.faults = faultCalls;
  say(`faults: ${round(cleanRun.seconds, 2)} s without, ${round(faultRun.seconds, 2)} s with (${JSON.stringify(injected)} injected)`);
  await removeLayout(ctx, clean);
  await removeLayout(ctx, faulty);
  await stopOperator(ctx, op);
}
