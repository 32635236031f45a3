/**
 * The benchmark: `npx tsx bench/run.ts [--n 1000] [--concurrency 10] [--memory-n 10000] ...`
 * (see bench/args.ts). Starts the local environment (or uses the one in BENCH_ENVIRONMENT), runs the
 * built operator as a process against it and prints figures: create, one periodic sync, delete, the
 * same work done by a plain SDK script (the floor), and memory with many objects. Writes every
 * figure to <out>/<date>-n<N>.json. It measures; it asserts nothing about speed.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEnvironment, type Environment, type EnvironmentInfo } from '../test/e2e/env/environment.js';
import { Kubectl } from '../test/e2e/support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from '../test/e2e/support/operator.js';
import { installCrds } from '../test/e2e/support/scenario.js';
import { exec } from './exec.js';
import { parse as parseYaml } from 'yaml';
import { durationFlag, parseArgs, UsageError, USAGE, type BenchArgs, type ConfigurationName } from './args.js';
import { parseDuration } from '../src/config.js';
import { AWS_PROVIDERS_PATH, ECR_REPOSITORIES_PATH, KubeApi, namespacedRepositoryPath, readyCondition, type KubeResource } from './kube-api.js';
import { BENCH_LABEL, namespaceName, namespaceYaml, placement, providersYaml, repositoriesByNamespace, repositoryYaml, type Layout } from './manifests.js';
import { delta, findOperatorPid, Metrics, procStats, waitIdle, type ProcStats } from './operator-stats.js';
import { table, verdicts } from './report.js';
import { percentile, round, sumValues } from './stats.js';
import { Tracker } from './tracker.js';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const FLOOR_SCRIPT = path.join(ROOT, 'bench', 'floor.ts');
const CONTROLLER = 'ecrrepository';
const UNREACHABLE_ENDPOINT = 'http://127.0.0.1:9';

const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

/** Everything the run started, so that an interrupt or a failure stops it all. */
class Resources {
  env?: Environment;
  envDir?: string;
  distDir?: string;
  api?: KubeApi;
  readonly operators = new Set<OperatorProcess>();
  readonly stopWatches = new Set<() => void>();
  private done?: Promise<void>;

  release(): Promise<void> {
    this.done ??= (async () => {
      for (const stop of this.stopWatches) stop();
      for (const op of this.operators) await op.stop().catch(() => undefined);
      this.api?.close();
      await this.env?.stop().catch(() => undefined);
      if (this.envDir && !process.env.BENCH_KEEP) rmSync(this.envDir, { recursive: true, force: true });
      if (this.distDir) {
        process.chdir(ROOT);
        rmSync(this.distDir, { recursive: true, force: true });
      }
    })();
    return this.done;
  }
}

/** One configuration of the operator (and of the floor's client-side limits) measured side by side. */
interface BenchConfiguration {
  name: ConfigurationName;
  awsRequestsPerSecond: number;
  awsBurst: number;
  operationRateLimits: boolean;
  concurrency: number;
  /** For the table's heading. */
  description: string;
}

interface ChartValues {
  operator: { awsRequestsPerSecond: number; awsBurst: number; awsOperationRateLimits?: boolean; maxConcurrentReconciles: number; syncPeriod: string };
}

function chartValues(): ChartValues {
  return parseYaml(readFileSync(path.join(ROOT, 'charts', 'infra-operator', 'values.yaml'), 'utf8')) as ChartValues;
}

/** The sync period a user gets from the chart. */
const CHART_SYNC_PERIOD_MS = parseDuration(chartValues().operator.syncPeriod) ?? 600_000;

/** The defaults a user gets from the chart, read from its values.yaml; or the unlimited one. */
function configuration(name: ConfigurationName, args: BenchArgs): BenchConfiguration {
  if (name === 'unlimited') {
    return {
      name, awsRequestsPerSecond: args.awsRequestsPerSecond, awsBurst: args.awsBurst, operationRateLimits: false, concurrency: args.concurrency,
      description: `--aws-requests-per-second=${args.awsRequestsPerSecond} --aws-burst=${args.awsBurst}, no per-operation limits, concurrency ${args.concurrency}`,
    };
  }
  const op = chartValues().operator;
  const operationRateLimits = op.awsOperationRateLimits ?? true;
  return {
    name, awsRequestsPerSecond: op.awsRequestsPerSecond, awsBurst: op.awsBurst, operationRateLimits, concurrency: op.maxConcurrentReconciles,
    description: `the chart's values: --aws-requests-per-second=${op.awsRequestsPerSecond} --aws-burst=${op.awsBurst}, per-operation limits ${operationRateLimits ? 'on' : 'off'}, concurrency ${op.maxConcurrentReconciles}`,
  };
}

interface Context {
  args: BenchArgs;
  config: BenchConfiguration;
  env: EnvironmentInfo;
  api: KubeApi;
  saKubeconfig: string;
  res: Resources;
  run: string;
  figures: Record<string, number>;
  awsCalls: Record<string, Record<string, number>>;
  kubeWrites: Record<string, Record<string, number>>;
  notes: string[];
  operatorPids: Record<string, number>;
}

// ----------------------------------------------------------------------------------------------
// The environment and its AWS endpoint

async function awsCalls(env: EnvironmentInfo): Promise<Record<string, number>> {
  return (await (await fetch(`${env.awsEndpoint}/__aws/calls`)).json()) as Record<string, number>;
}

async function resetAwsCalls(env: EnvironmentInfo): Promise<void> {
  const res = await fetch(`${env.awsEndpoint}/__aws/calls/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`resetting the AWS call counters failed: HTTP ${res.status}`);
}

function ecrOnly(calls: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).filter(([k]) => k.startsWith('ECR:')));
}

async function kubectlOk(ctx: Pick<Context, 'env'>, args: string[], input?: string, timeoutMs = 900_000): Promise<string> {
  const result = await exec('kubectl', args, { env: { ...process.env, KUBECONFIG: ctx.env.kubeconfig }, ...(input !== undefined ? { input } : {}), timeoutMs });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

// ----------------------------------------------------------------------------------------------
// The operator

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

async function launchOperator(ctx: Context, phase: string, syncPeriodMs: number): Promise<{ op: OperatorProcess; pid: number; startedAt: number }> {
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
    ],
    env: extraEnv,
  });
  ctx.res.operators.add(op);
  const pid = await findOperatorPid(op);
  ctx.operatorPids[phase] = pid;
  say(`operator for ${phase} (${ctx.config.name}): pid ${pid}, sync period ${durationFlag(syncPeriodMs)}, logs ${op.logFile}`);
  return { op, pid, startedAt };
}

async function stopOperator(ctx: Context, op: OperatorProcess): Promise<void> {
  await op.stop();
  ctx.res.operators.delete(op);
  if (!process.env.BENCH_KEEP) rmSync(path.dirname(op.logFile), { recursive: true, force: true });
}

// ----------------------------------------------------------------------------------------------
// Kubernetes objects

function layoutFor(ctx: Context, prefix: string): Layout {
  return { run: ctx.run, prefix, namespaces: ctx.args.namespaces, providersPerNamespace: ctx.args.providersPerNamespace };
}

function namespacesOf(layout: Layout): string[] {
  return Array.from({ length: layout.namespaces }, (_, i) => namespaceName(layout, i));
}

/** Namespaces, Secrets and AWSProviders; waits until every provider shows the expected Ready state. */
async function applyProviders(ctx: Context, layout: Layout, expect: { status: 'True' | 'False'; reason: string }, endpoint?: string): Promise<void> {
  const namespaces = namespacesOf(layout);
  await kubectlOk(ctx, ['apply', '-f', '-'], namespaces.map((ns) => namespaceYaml(ns, ctx.run)).join('---\n'));
  await Promise.all(namespaces.map((ns) => kubectlOk(ctx, ['apply', '-f', '-'], providersYaml(layout, ns, endpoint))));
  const expected = layout.namespaces * layout.providersPerNamespace;
  const wanted = new Set(namespaces);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { items } = await ctx.api.list(AWS_PROVIDERS_PATH);
    const ours = items.filter((p) => wanted.has(p.metadata.namespace));
    const matching = ours.filter((p) => {
      const ready = readyCondition(p);
      return ready?.status === expect.status && ready.reason === expect.reason && ready.observedGeneration === p.metadata.generation;
    });
    if (matching.length === expected) return;
    if (Date.now() > deadline) {
      const sample = ours.find((p) => !matching.includes(p));
      throw new Error(`AWSProviders not ${expect.reason} after 180 s (${matching.length}/${expected}); one of them: ${JSON.stringify(sample?.status ?? null)}`);
    }
    await sleep(500);
  }
}

/**
 * Applies the repositories as `kubectl apply --server-side` would, one stream of requests per
 * namespace, all namespaces at once, straight to the API server. Plain `kubectl apply` reads each
 * object before creating it and throttles itself on the client: 1,000 objects took 25 s that way
 * here, longer than the operator needs, so it would measure kubectl rather than the operator.
 * Returns the seconds the applies took.
 */
async function applyRepositories(ctx: Context, layout: Layout, n: number, deletionPolicy: 'Delete' | 'Retain'): Promise<number> {
  const byNamespace = repositoriesByNamespace(layout, n, deletionPolicy);
  const started = now();
  await Promise.all([...byNamespace.values()].map(async (docs) => {
    for (const { placement, yaml } of docs) {
      await ctx.api.apply(namespacedRepositoryPath(placement.namespace, placement.name), yaml, 'bench');
    }
  }));
  return (now() - started) / 1000;
}

function watchRepositories(ctx: Context, tracker: Tracker, resourceVersion: string, prefix = 'bench'): () => void {
  let failure: Error | undefined;
  const stop = ctx.api.watch(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` }, resourceVersion, (e) => {
    if (e.object.metadata.namespace.startsWith(`${prefix}-${ctx.run}-`)) tracker.onEvent(e);
  }, (err) => {
    failure = err;
    say(`watch failed: ${err.message}`);
  });
  const wrapped = () => {
    stop();
    ctx.res.stopWatches.delete(wrapped);
    if (failure) throw failure;
  };
  ctx.res.stopWatches.add(wrapped);
  return wrapped;
}

// ----------------------------------------------------------------------------------------------
// Phases

interface FloorResult {
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

async function floor(ctx: Context, label: string, n: number): Promise<FloorResult> {
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

interface OperatorCounters {
  byMethod: Record<string, number>;
  byCode: Record<string, number>;
  reconciles: number;
  awsErrors: number;
  heapUsed: number;
  heapTotal: number;
  /** Memory of Buffers and other objects outside V8's heap. */
  external: number;
  /** Sums and counts of the histograms that say where a reconcile's time goes. */
  reconcileTime: { sum: number; count: number };
  queueWait: { sum: number; count: number };
  awsCallTime: { sum: number; count: number };
}

async function counters(op: OperatorProcess): Promise<OperatorCounters> {
  const m = await Metrics.of(op);
  const histogram = (name: string, labels: Record<string, string>) => ({ sum: m.sum(`${name}_sum`, labels), count: m.sum(`${name}_count`, labels) });
  return {
    byMethod: m.by('rest_client_requests_total', 'method'),
    byCode: m.by('rest_client_requests_total', 'code'),
    reconciles: m.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }),
    awsErrors: m.sum('aws_api_calls_total', { outcome: 'error' }),
    heapUsed: m.sum('nodejs_heap_size_used_bytes'),
    heapTotal: m.sum('nodejs_heap_size_total_bytes'),
    external: m.sum('nodejs_external_memory_bytes'),
    reconcileTime: histogram('controller_runtime_reconcile_time_seconds', { controller: CONTROLLER }),
    queueWait: histogram('workqueue_queue_duration_seconds', { name: CONTROLLER }),
    awsCallTime: histogram('aws_api_call_duration_seconds', { service: 'ECR' }),
  };
}

/** Mean of a histogram between two snapshots; 0 when nothing was observed. */
function meanBetween(after: { sum: number; count: number }, before: { sum: number; count: number }): number {
  const count = after.count - before.count;
  return count > 0 ? (after.sum - before.sum) / count : 0;
}

async function createPhase(ctx: Context, tracker: Tracker): Promise<void> {
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

function prefixed(prefix: string, record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [`${prefix}:${k}`, v]));
}

/**
 * One real periodic sync: a fresh operator with a short sync period does its startup pass (not
 * counted), then the counters are reset and the first timer-driven pass over all N objects is
 * counted until the queue is idle again, well before the next period. The period is chosen so that
 * the startup pass ends before the timer fires; if it does not, the run tries a longer one.
 */
async function syncPhase(ctx: Context, tracker: Tracker): Promise<void> {
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

async function deletePhase(ctx: Context, tracker: Tracker): Promise<void> {
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

/**
 * Leaves nothing of a layout behind in an environment that goes on running (BENCH_ENVIRONMENT).
 * The local control plane runs no controller manager, so a deleted namespace never empties by
 * itself: the providers and Secrets are deleted first, and the namespaces only marked for deletion.
 * The ECRRepositories must be gone already.
 */
async function removeNamespaces(ctx: Context, layout: Layout): Promise<void> {
  await Promise.all(namespacesOf(layout).map(async (ns) => {
    await kubectlOk(ctx, ['delete', 'awsproviders,secrets', '--all', '-n', ns, '--wait=false']);
    await kubectlOk(ctx, ['delete', 'namespace', ns, '--wait=false']);
  }));
}

/** Lists the memory run's objects and tells whether every one shows ProviderNotReady for its generation. */
async function allProviderNotReady(ctx: Context, layout: Layout, n: number): Promise<{ done: boolean; seen: number; matching: number }> {
  const { items } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` });
  const ours = items.filter((o: KubeResource) => o.metadata.namespace.startsWith(`${layout.prefix}-${ctx.run}-`));
  const matching = ours.filter((o) => {
    const ready = readyCondition(o);
    return ready?.reason === 'ProviderNotReady' && ready.observedGeneration === o.metadata.generation;
  }).length;
  return { done: ours.length === n && matching === n, seen: ours.length, matching };
}

async function settleMemory(ctx: Context, op: OperatorProcess, layout: Layout, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await waitIdle(op, CONTROLLER, { minReconciles: n, timeoutMs: Math.max(1000, deadline - Date.now()), what: 'the memory run to settle', intervalMs: 1000 });
    const state = await allProviderNotReady(ctx, layout, n);
    if (state.done) return;
    if (Date.now() > deadline) throw new Error(`memory run: ${state.matching}/${n} ProviderNotReady (${state.seen} seen)`);
    await sleep(2000);
  }
}

/**
 * Memory once the queue has settled (5 s later), and again a minute on: objects waiting for their
 * provider are retried about once a minute, so one minute shows whether the footprint holds still,
 * and what those retries write to the API server meanwhile.
 */
interface AtRest {
  rest: ProcStats;
  later: ProcStats;
  /** Where the RSS a minute later goes, in MiB: V8's heap (used, and reserved), memory outside it. */
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  writesPerObjectPerMinute: number;
}

async function atRest(op: OperatorProcess, pid: number, n: number): Promise<AtRest> {
  await sleep(5000);
  const rest = await procStats(pid);
  const before = await counters(op);
  const t = now();
  await sleep(60_000);
  const after = await counters(op);
  const later = await procStats(pid);
  const minutes = (now() - t) / 60_000;
  const mib = (bytes: number) => bytes / 1024 / 1024;
  return {
    rest,
    later,
    heapUsedMiB: mib(after.heapUsed),
    heapTotalMiB: mib(after.heapTotal),
    externalMiB: mib(after.external),
    writesPerObjectPerMinute: sumValues(delta(after.byMethod, before.byMethod)) / n / minutes,
  };
}

/** The breakdown of an at-rest RSS for the results file: memory.heapUsedMiB, memory.restartHeapUsedMiB, ... */
function memoryBreakdown(run: '' | 'restart', r: AtRest): Record<string, number> {
  const key = (name: string) => (run ? `memory.${run}${name[0]!.toUpperCase()}${name.slice(1)}` : `memory.${name}`);
  return {
    [key('rssAnonMiB')]: r.later.rssAnonMiB,
    [key('heapUsedMiB')]: r.heapUsedMiB,
    [key('heapTotalMiB')]: r.heapTotalMiB,
    [key('externalMiB')]: r.externalMiB,
  };
}

/** With BENCH_HEAP_SNAPSHOTS: has the operator write a heap snapshot, waits for it and names it. */
async function heapSnapshot(pid: number, label: string): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOTS;
  if (!dir) return;
  const target = path.resolve(dir);
  mkdirSync(target, { recursive: true });
  const before = new Set(readdirSync(target));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 300_000;
  for (;;) {
    await sleep(2000);
    const written = readdirSync(target).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    // V8 writes the file in one go and the operator answers again when it is done.
    if (written && statSync(path.join(target, written)).size > 0) {
      const size = statSync(path.join(target, written)).size;
      await sleep(2000);
      if (statSync(path.join(target, written)).size === size) {
        renameSync(path.join(target, written), path.join(target, `${label}.heapsnapshot`));
        say(`heap snapshot ${label}: ${path.join(target, `${label}.heapsnapshot`)}`);
        return;
      }
    }
    if (Date.now() > deadline) throw new Error(`no heap snapshot in ${target} within 5 minutes`);
  }
}

/** The memory run measures at 1,000 objects on the way to its full count. */
const MEMORY_STEP = 1000;

async function memoryPhase(ctx: Context, ownEnvironment: boolean): Promise<void> {
  const { args, figures } = ctx;
  const n = args.memoryN;
  const layout = layoutFor(ctx, 'bench-mem');
  const timeoutMs = Math.max(900_000, n * 300);
  const first = await launchOperator(ctx, 'memory', args.syncPeriodMs);
  await applyProviders(ctx, layout, { status: 'False', reason: 'EndpointUnreachable' }, UNREACHABLE_ENDPOINT);
  // The baseline the objects add to: the running operator with its providers and no repositories.
  await waitIdle(first.op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle before the memory run' });
  await sleep(5000);
  const idle = await procStats(first.pid);
  // Retain: these repositories are never created, and Retain lets them go without a provider.
  let at1000: number | undefined;
  if (n > MEMORY_STEP) {
    say(`memory: applying ${MEMORY_STEP} ECRRepositories whose providers point at ${UNREACHABLE_ENDPOINT}`);
    await applyRepositories(ctx, layout, MEMORY_STEP, 'Retain');
    await settleMemory(ctx, first.op, layout, MEMORY_STEP, timeoutMs);
    at1000 = (await atRest(first.op, first.pid, MEMORY_STEP)).later.rssMiB;
    say(`memory: ${MEMORY_STEP} objects, RSS a minute after they settled ${round(at1000, 1)} MiB`);
    await heapSnapshot(first.pid, `objects-${MEMORY_STEP}`);
  }
  say(`memory: applying ${n} ECRRepositories whose providers point at ${UNREACHABLE_ENDPOINT}`);
  const t0 = now();
  await applyRepositories(ctx, layout, n, 'Retain');
  await settleMemory(ctx, first.op, layout, n, timeoutMs);
  const settleSeconds = (now() - t0) / 1000;
  const firstRest = await atRest(first.op, first.pid, n);
  say(`memory: settled in ${round(settleSeconds, 1)} s; RSS ${round(firstRest.rest.rssMiB, 1)} MiB, a minute later ${round(firstRest.later.rssMiB, 1)} MiB, peak ${round(firstRest.later.peakRssMiB, 1)} MiB`);
  await heapSnapshot(first.pid, `objects-${n}`);
  await stopOperator(ctx, first.op);

  // A restart with every object already there: the initial list is the other peak worth knowing.
  const second = await launchOperator(ctx, 'memory-restart', args.syncPeriodMs);
  await settleMemory(ctx, second.op, layout, n, timeoutMs);
  const secondRest = await atRest(second.op, second.pid, n);
  say(`memory: after a restart RSS ${round(secondRest.rest.rssMiB, 1)} MiB, a minute later ${round(secondRest.later.rssMiB, 1)} MiB, peak ${round(secondRest.later.peakRssMiB, 1)} MiB`);
  await heapSnapshot(second.pid, `restart-${n}`);
  Object.assign(figures, {
    'memory.objects': n,
    'memory.settleSeconds': settleSeconds,
    'memory.rssIdleMiB': idle.rssMiB,
    'memory.rssAtRestMiB': firstRest.rest.rssMiB,
    ...(at1000 !== undefined ? { 'memory.rssAt1000MiB': at1000 } : {}),
    // Once the burst's garbage is given back (a minute later), against the running operator with none.
    'memory.growthPer1000MiB': ((firstRest.later.rssMiB - idle.rssMiB) / n) * 1000,
    'memory.rssMinuteLaterMiB': firstRest.later.rssMiB,
    'memory.rssPeakMiB': firstRest.later.peakRssMiB,
    ...memoryBreakdown('', firstRest),
    'memory.kubeWritesPerObjectPerMinute': firstRest.writesPerObjectPerMinute,
    'memory.restartRssAtRestMiB': secondRest.rest.rssMiB,
    'memory.restartRssMinuteLaterMiB': secondRest.later.rssMiB,
    'memory.restartRssPeakMiB': secondRest.later.peakRssMiB,
    'memory.restartKubeWritesPerObjectPerMinute': secondRest.writesPerObjectPerMinute,
    ...memoryBreakdown('restart', secondRest),
  });
  if (!ownEnvironment || !ctx.args.skipResync) {
    // A shared environment keeps running, and the resync run comes next: leave nothing behind.
    // Retain lets the operator release these objects although their provider never became Ready.
    // One namespace at a time: thousands of deletions at once outlast the API server's timeout.
    for (const ns of namespacesOf(layout)) await ctx.api.deleteCollection(namespacedRepositoryPath(ns), `${BENCH_LABEL}=${ctx.run}`);
    const deadline = Date.now() + timeoutMs;
    while ((await allProviderNotReady(ctx, layout, n)).seen > 0) {
      if (Date.now() > deadline) throw new Error('memory run: the objects were not released in time');
      await sleep(2000);
    }
    await removeNamespaces(ctx, layout);
  }
  await stopOperator(ctx, second.op);
}

/** Applies N full-spec repositories of a layout and waits until every one is Ready. */
async function createAll(ctx: Context, layout: Layout, n: number, deletionPolicy: 'Delete' | 'Retain'): Promise<{ seconds: number; tracker: Tracker }> {
  const tracker = new Tracker();
  const { resourceVersion } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` });
  const stopWatch = watchRepositories(ctx, tracker, resourceVersion, layout.prefix);
  const t0 = now();
  try {
    await applyRepositories(ctx, layout, n, deletionPolicy);
    await tracker.until(`${n} objects Ready`, () => tracker.count((t) => t.readyAt !== undefined) >= n, Math.max(600_000, n * 600),
      () => `${tracker.count((t) => t.readyAt !== undefined)}/${n} Ready`);
  } finally {
    stopWatch();
  }
  const last = Math.max(...[...tracker.objects.values()].map((t) => t.readyAt ?? 0));
  return { seconds: (last - t0) / 1000, tracker };
}

/** Deletes a layout's repositories and waits until the API server has none left; then its namespaces. */
async function removeLayout(ctx: Context, layout: Layout): Promise<void> {
  const selector = `${BENCH_LABEL}=${ctx.run}`;
  for (const ns of namespacesOf(layout)) await ctx.api.deleteCollection(namespacedRepositoryPath(ns), selector);
  const wanted = new Set(namespacesOf(layout));
  const deadline = Date.now() + 900_000;
  for (;;) {
    const { items } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: selector });
    const left = items.filter((o) => wanted.has(o.metadata.namespace)).length;
    if (left === 0) break;
    if (Date.now() > deadline) throw new Error(`${left} ECRRepositories of ${layout.prefix} were not released in 15 minutes`);
    await sleep(1000);
  }
  await removeNamespaces(ctx, layout);
}

/** ECR's answers in the fault run: 15% throttled, 10% failed with a server error, at random. */
const FAULT_MIX = [
  { operation: '*', service: 'ECR', rate: 0.15, status: 400, code: 'ThrottlingException', message: 'Rate exceeded' },
  { operation: '*', service: 'ECR', rate: 0.1, status: 500, code: 'ServerException', message: 'We encountered an internal error. Please try again.' },
];

async function setFaults(env: EnvironmentInfo, faults: readonly object[]): Promise<void> {
  const res = await fetch(`${env.awsEndpoint}/__aws/faults`, { method: 'POST', body: JSON.stringify(faults) });
  if (!res.ok) throw new Error(`setting the AWS layer's faults failed: HTTP ${res.status}`);
}

/** How many calls the AWS layer's faults have failed, by error code. */
async function injectedFaults(env: EnvironmentInfo): Promise<Record<string, number>> {
  const faults = (await (await fetch(`${env.awsEndpoint}/__aws/faults`)).json()) as Array<{ code: string; injected?: number }>;
  const out: Record<string, number> = {};
  for (const f of faults) out[f.code] = (out[f.code] ?? 0) + (f.injected ?? 0);
  return out;
}

/**
 * F full-spec creates without faults, then F others while ECR answers 15% of calls with
 * ThrottlingException and 10% with a server error, one operator throughout: how much longer the
 * faults make it, and how many calls they cost.
 */
async function faultPhase(ctx: Context): Promise<void> {
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

/** The objects the resync run's operators find when they start: created once, shared by the configurations. */
interface ResyncSetup {
  layout: Layout;
  n: number;
  createSeconds: number;
}

/** Sync period of the operators in the resync run: short, so that their first periodic pass plans its sweep while they run. */
const RESYNC_SYNC_PERIOD_MS = 30_000;
const RESYNC_PROBES = 5;

async function resyncSetup(ctx: Context): Promise<ResyncSetup> {
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
async function resyncPhase(ctx: Context, setup: ResyncSetup): Promise<void> {
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

// ----------------------------------------------------------------------------------------------

async function gitState(): Promise<{ commit: string; dirtyFiles: number; distBuiltAt: string }> {
  const git = async (args: string[]) => (await exec('git', args, { timeoutMs: 10_000 }).catch(() => ({ code: 1, stdout: '', stderr: '' }))).stdout.trim();
  const commit = await git(['-C', ROOT, 'rev-parse', 'HEAD']);
  const status = await git(['-C', ROOT, 'status', '--porcelain']);
  // The operator that runs is dist/, which may be older or newer than the commit: say when it was built.
  const distBuiltAt = statSync(path.join(ROOT, 'dist', 'main.js')).mtime.toISOString();
  return { commit: commit || 'unknown', dirtyFiles: status ? status.split('\n').length : 0, distBuiltAt };
}

/**
 * A private copy of dist/ to run the operator from. Others rebuild dist/ while a long benchmark
 * runs; without a copy, the operators of later phases could run other code than the first ones.
 * The copy sits next to the repository's package.json and node_modules (linked), so that it loads
 * as an ES module with the same dependencies. startOperator runs dist/main.js from the working
 * directory, so the benchmark works from the copy's directory once the setup is done.
 */
function snapshotDist(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-bench-dist-'));
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function resultFileName(date: Date, n: number): string {
  return `${date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '')}-n${n}.json`;
}

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `bench: ${err.message}\n\n` : ''}${USAGE}`);
      process.exit(err.message ? 2 : 0);
    }
    throw err;
  }
  if (!existsSync(path.join(ROOT, 'dist', 'main.js'))) {
    throw new Error('dist/main.js is missing: the benchmark runs the built operator; run `npm run build` first');
  }

  // The operator and the environment run as unreferenced child processes, and waiting for one to
  // exit holds no handle: without this timer the event loop could run dry in such a wait (when no
  // AWS endpoint is served from here, with BENCH_ENVIRONMENT) and the process would end silently.
  setInterval(() => undefined, 1 << 30);

  // Relative paths given on the command line are the caller's; the run later works elsewhere.
  const startDir = process.cwd();
  if (process.env.BENCH_PROFILE) process.env.BENCH_PROFILE = path.resolve(process.env.BENCH_PROFILE);
  const res = new Resources();
  let saveProgress: ((failure?: string) => { outFile: string }) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping the operator and the environment`);
    void res.release().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const date = new Date();
    const git = await gitState();
    const given = process.env.BENCH_ENVIRONMENT;
    let env: EnvironmentInfo;
    if (given) {
      env = JSON.parse(given.trim().startsWith('{') ? given : readFileSync(given, 'utf8')) as EnvironmentInfo;
      say(`using the environment at ${env.apiServerUrl} (AWS endpoint ${env.awsEndpoint})`);
    } else {
      res.envDir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-bench-'));
      say('starting the local environment (etcd, kube-apiserver, moto)');
      res.env = await startEnvironment({ dir: res.envDir, verbose: true });
      env = res.env;
    }
    const kubectl = new Kubectl(env.kubeconfig);
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    res.distDir = snapshotDist();
    process.chdir(res.distDir);
    res.api = await KubeApi.connect(env.kubeconfig);
    const baseRun = Math.random().toString(36).slice(2, 7);
    const configs = args.configurations.map((name) => configuration(name, args));
    const load = [os.loadavg()[0] ?? 0];
    const f: Record<string, number> = {};
    const awsCallsByOperation: Record<string, Record<string, number>> = {};
    const kubeWrites: Record<string, Record<string, number>> = {};
    const notes: string[] = [];
    const operatorPids: Record<string, number> = {};
    const floorRuns: Record<string, Array<{ createSeconds: number; deleteSeconds: number }>> = {};
    const contextFor = (config: BenchConfiguration): Context => ({
      args, config, env, api: res.api as KubeApi, saKubeconfig, res,
      // A run id per configuration: its namespaces and labels are its own.
      run: `${baseRun}${config.name.slice(0, 1)}`,
      figures: {}, awsCalls: {}, kubeWrites: {}, notes: [], operatorPids: {},
    });

    /** Writes the results file with what has been measured so far: after every part, and when a part fails. */
    const save = (failure?: string) => {
      const rounded = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, round(v, 4)]));
      const configNames = configs.map((c) => c.name);
      const verdictList = verdicts(rounded, configNames, { n: args.n, memoryN: args.skipMemory ? 0 : args.memoryN, faultN: args.skipFaults ? 0 : args.faultN, resyncN: args.skipResync ? 0 : args.resyncN });
      const result = {
        date: date.toISOString(),
        machine: {
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model ?? 'unknown',
          memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
          node: process.version,
          platform: `${os.type()} ${os.release()} ${os.arch()}`,
          kubeApiServer: env.kubeVersion,
          loadAverage1m: load.map((l) => round(l, 2)),
        },
        source: git,
        parameters: {
          n: args.n,
          concurrency: args.concurrency,
          syncPeriod: durationFlag(args.syncPeriodMs),
          memoryN: args.skipMemory ? 0 : args.memoryN,
          faultN: args.skipFaults ? 0 : args.faultN,
          resyncN: args.skipResync ? 0 : args.resyncN,
          namespaces: args.namespaces,
          providersPerNamespace: args.providersPerNamespace,
          configurations: Object.fromEntries(configs.map((c) => [c.name, {
            awsRequestsPerSecond: c.awsRequestsPerSecond, awsBurst: c.awsBurst, operationRateLimits: c.operationRateLimits, concurrency: c.concurrency,
            measureSyncPeriod: durationFlag((f[`${c.name}.sync.periodSeconds`] ?? 0) * 1000),
          }])),
          syncMeasurement: 'restart with a short --sync-period; count one timer-driven pass after the startup pass',
        },
        figures: rounded,
        floorRuns,
        awsCallsByOperation,
        kubeWrites,
        targets: verdictList,
        operatorPids,
        notes: failure ? [...notes, `incomplete: the run stopped with ${failure}`] : notes,
      };
      const outDir = path.resolve(startDir, args.out);
      mkdirSync(outDir, { recursive: true });
      const outFile = path.join(outDir, resultFileName(date, args.n));
      writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
      return { result, verdictList, outFile };
    };
    saveProgress = save;

    let warmedUp = false;
    for (const config of configs) {
      const ctx = contextFor(config);
      say(`run ${ctx.run}: ${config.name} (${config.description}), N=${args.n}`);
      // moto loads its ECR backend on first use; neither side should pay for that.
      if (!warmedUp) await floor({ ...ctx, config: configuration('unlimited', args) }, 'warmup', Math.min(20, args.n));
      warmedUp = true;
      const floors = [await floor(ctx, 'a', args.n)];
      const tracker = new Tracker();
      await createPhase(ctx, tracker);
      await syncPhase(ctx, tracker);
      await deletePhase(ctx, tracker);
      if (!args.skipFaults) await faultPhase(ctx);
      // A second floor after the operator's run: the floor is the best of both, so noise from other
      // work on the machine cannot flatter the operator.
      floors.push(await floor(ctx, 'b', args.n));
      load.push(os.loadavg()[0] ?? 0);

      const cf = ctx.figures;
      cf['floor.createSeconds'] = Math.min(...floors.map((r) => r.createSeconds));
      cf['floor.deleteSeconds'] = Math.min(...floors.map((r) => r.deleteSeconds));
      cf['floor.awsCallsPerCreate'] = sumValues(floors[0]!.createCalls) / args.n;
      cf['floor.awsCallsPerDelete'] = sumValues(floors[0]!.deleteCalls) / args.n;
      // A worker's time per repository: with every worker busy, concurrency × elapsed / N.
      cf['floor.workerSecondsPerCreate'] = (cf['floor.createSeconds'] * config.concurrency) / args.n;
      cf['create.operatorOverFloor'] = cf['create.seconds']! / cf['floor.createSeconds'];
      cf['delete.operatorOverFloor'] = cf['delete.seconds']! / cf['floor.deleteSeconds'];
      ctx.awsCalls.floorCreate = floors[0]!.createCalls;
      ctx.awsCalls.floorDelete = floors[0]!.deleteCalls;
      for (const [k, v] of Object.entries(cf)) f[`${config.name}.${k}`] = v;
      for (const [k, v] of Object.entries(ctx.awsCalls)) awsCallsByOperation[`${config.name}.${k}`] = v;
      for (const [k, v] of Object.entries(ctx.kubeWrites)) kubeWrites[`${config.name}.${k}`] = v;
      for (const [k, v] of Object.entries(ctx.operatorPids)) operatorPids[`${config.name}.${k}`] = v;
      notes.push(...ctx.notes.map((n) => `${config.name}: ${n}`));
      floorRuns[config.name] = floors.map((r) => ({ createSeconds: round(r.createSeconds, 3), deleteSeconds: round(r.deleteSeconds, 3) }));
      save();
    }

    if (!args.skipMemory) {
      // Memory does not depend on the AWS limits; it runs with the chart's defaults (or the only configuration).
      const ctx = contextFor(configs.find((c) => c.name === 'defaults') ?? configs[0] ?? configuration('defaults', args));
      ctx.run = `${baseRun}m`;
      try {
        await memoryPhase(ctx, !given);
      } finally {
        // Kept even when the cleanup after the measurement fails.
        Object.assign(f, ctx.figures);
        for (const [k, v] of Object.entries(ctx.operatorPids)) operatorPids[k] = v;
        notes.push(...ctx.notes);
      }
      save();
    }
    if (!args.skipResync) {
      // One set of Ready objects, created as fast as possible; each configuration's operator then starts on them.
      const setupCtx = contextFor(configuration('unlimited', args));
      setupCtx.run = `${baseRun}r`;
      const setup = await resyncSetup(setupCtx);
      f['resync.setupCreateSeconds'] = setup.createSeconds;
      for (const config of configs) {
        const ctx = { ...contextFor(config), run: setupCtx.run };
        await resyncPhase(ctx, setup);
        for (const [k, v] of Object.entries(ctx.figures)) f[`${config.name}.${k}`] = v;
        for (const [k, v] of Object.entries(ctx.operatorPids)) operatorPids[`${config.name}.${k}`] = v;
      }
      if (given) {
        // A shared environment keeps running: an operator lets the objects go (Retain: no AWS calls).
        const { op } = await launchOperator(setupCtx, 'resync-cleanup', args.syncPeriodMs);
        await removeLayout(setupCtx, setup.layout);
        await stopOperator(setupCtx, op);
      }
    }
    load.push(os.loadavg()[0] ?? 0);

    const { result, verdictList, outFile } = save();
    const configNames = configs.map((c) => c.name);
    const rounded = result.figures;

    process.stdout.write(`\ninfra-operator benchmark: N=${args.n}, ${args.namespaces} namespaces × ${args.providersPerNamespace} AWSProviders, memory run ${args.skipMemory ? 'skipped' : `${args.memoryN} objects`}\n` +
      configs.map((c) => `  ${c.name}: ${c.description}\n`).join('') +
      `${result.machine.cpus} CPUs, ${result.machine.memoryMiB} MiB, node ${result.machine.node}, kube-apiserver ${env.kubeVersion}, load ${result.machine.loadAverage1m.join(' / ')}\n\n`);
    process.stdout.write(`${table(rounded, configNames, verdictList)}\n\n`);
    for (const [phase, calls] of Object.entries(awsCallsByOperation)) process.stdout.write(`AWS calls, ${phase}: ${JSON.stringify(calls)}\n`);
    for (const note of notes) process.stdout.write(`note: ${note}\n`);
    process.stdout.write(`\nresult: ${path.relative(startDir, outFile) || outFile}\n`);
  } catch (err) {
    // Said before cleaning up, so that nothing in the cleanup can hide it.
    process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
    try {
      const saved = saveProgress?.(err instanceof Error ? err.message : String(err));
      if (saved) process.stderr.write(`bench: what was measured before that is in ${saved.outFile}\n`);
    } catch {
      /* the failure above is what matters */
    }
  } finally {
    await res.release();
  }
}

main().then(() => process.exit(process.exitCode ?? 0), (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
