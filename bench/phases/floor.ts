import { spawn } from 'node:child_process';
import path from 'node:path';
import { awsCalls, resetAwsCalls } from '../aws-layer.js';
import { ROOT, say, type Context } from '../context.js';
import { round } from '../stats.js';

/**
 * The floor: the same creates and deletes done by a plain SDK script (bench/floor.ts) at the same
 * concurrency and under the same client-side limits as the operator, so that the ratio measures the
 * operator.
 */

const FLOOR_SCRIPT = path.join(ROOT, 'bench', 'floor.ts');

export interface FloorResult {
  createSeconds: number;
  deleteSeconds: number;
  createCalls: Record<string, number>;
  deleteCalls: Record<string, number>;
}

function floorProcess(ctx: Context, mode: 'create' | 'delete', n: number, prefix: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FLOOR_SCRIPT, mode,
      '--endpoint', ctx.env.awsEndpoint, '--region', ctx.env.region, '--n', String(n), '--concurrency', String(ctx.config.concurrency), '--prefix', prefix,
      // The same client-side limits as the operator's, so that the ratio measures the operator.
      '--requests-per-second', String(ctx.config.awsRequestsPerSecond), '--burst', String(ctx.config.awsBurst),
      '--operation-rate-limits', String(ctx.config.operationRateLimits),
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`floor ${mode} failed (${code}): ${err.slice(-2000)}`));
      resolve((JSON.parse(out.trim().split('\n').pop() ?? '{}') as { seconds: number }).seconds);
    });
  });
}

export async function floor(ctx: Context, label: string, n: number): Promise<FloorResult> {
  const prefix = `bench-floor-${ctx.run}-${ctx.config.name}-${label}`;
  await resetAwsCalls(ctx.env);
  const createSeconds = await floorProcess(ctx, 'create', n, prefix);
  const createCalls = await awsCalls(ctx.env);
  await resetAwsCalls(ctx.env);
  const deleteSeconds = await floorProcess(ctx, 'delete', n, prefix);
  const deleteCalls = await awsCalls(ctx.env);
  say(`floor ${ctx.config.name} ${label}: create ${round(createSeconds, 2)} s, delete ${round(deleteSeconds, 2)} s`);
  return { createSeconds, deleteSeconds, createCalls, deleteCalls };
}
