import { rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startOperator, type OperatorProcess } from '../test/e2e/support/operator.js';
import { durationFlag } from './args.js';
import { now, ROOT, say, type Context } from './context.js';
import { findOperatorPid } from './operator-stats.js';

/** The operator under measurement: the built dist/main.js as a process, with a configuration's flags. */

/**
 * NODE_OPTIONS for the operator: BENCH_PROFILE=<dir> writes a CPU profile of each operator process
 * there (see profile-hook.mjs); BENCH_OPERATOR_NODE_OPTIONS adds anything else node accepts there,
 * such as --inspect; BENCH_HEAP_SNAPSHOTS=<dir> has the memory run write a heap snapshot of the
 * operator there at 1,000 objects, at its full count and after the restart (they cost memory: figures of such a run
 * are not the ones to quote).
 */
function operatorNodeOptions(): Record<string, string> {
  const options: string[] = [];
  const env: Record<string, string> = {};
  if (process.env.BENCH_PROFILE) {
    options.push(`--import=${pathToFileURL(path.join(ROOT, 'bench', 'profile-hook.mjs')).href}`);
    env.BENCH_PROFILE_DIR = path.resolve(process.env.BENCH_PROFILE);
  }
  if (process.env.BENCH_HEAP_SNAPSHOTS) options.push(`--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${path.resolve(process.env.BENCH_HEAP_SNAPSHOTS)}`);
  if (process.env.BENCH_OPERATOR_NODE_OPTIONS) options.push(process.env.BENCH_OPERATOR_NODE_OPTIONS);
  return options.length ? { ...env, NODE_OPTIONS: options.join(' ') } : env;
}

export async function launchOperator(ctx: Context, phase: string, syncPeriodMs: number, extraArgs: string[] = []): Promise<{ op: OperatorProcess; pid: number; startedAt: number }> {
  const extraEnv = operatorNodeOptions();
  const startedAt = now();
  const op = await startOperator(ctx.env, {
    kubeconfig: ctx.saKubeconfig,
    args: [
      `--max-concurrent-reconciles=${ctx.config.concurrency}`,
      `--aws-requests-per-second=${ctx.config.awsRequestsPerSecond}`,
      `--aws-burst=${ctx.config.awsBurst}`,
      `--aws-operation-rate-limits=${ctx.config.operationRateLimits}`,
      `--sync-period=${durationFlag(syncPeriodMs)}`,
      // startOperator asks for debug logs, as tests want them; production runs at info.
      '--log-level=info',
      ...extraArgs,
    ],
    env: extraEnv,
  });
  ctx.res.operators.add(op);
  const pid = await findOperatorPid(op);
  ctx.operatorPids[phase] = pid;
  say(`operator for ${phase} (${ctx.config.name}): pid ${pid}, sync period ${durationFlag(syncPeriodMs)}, logs ${op.logFile}`);
  return { op, pid, startedAt };
}

export async function stopOperator(ctx: Context, op: OperatorProcess): Promise<void> {
  await op.stop();
  ctx.res.operators.delete(op);
  if (!process.env.BENCH_KEEP) rmSync(path.dirname(op.logFile), { recursive: true, force: true });
}
