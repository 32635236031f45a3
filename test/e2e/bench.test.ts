import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';

// The benchmark (`make bench`) with a small case: it must run from start to end against a real
// control plane and moto and produce every figure. How fast is not asserted here; the benchmark
// prints its figures against their targets and that is where speed is judged.

/** Figures of each configuration, reported as `<configuration>.<figure>`. */
const PER_CONFIGURATION = [
  'create.seconds', 'create.objectsPerSecond', 'create.applySeconds',
  'create.readyP50Seconds', 'create.readyP95Seconds', 'create.watchReadyP50Seconds', 'create.watchReadyP95Seconds',
  'create.awsCallsPerObject', 'create.awsErrorsPerObject',
  'create.kubeWritesPerObject', 'create.kubePatchesPerObject', 'create.kubePostsPerObject',
  'create.statusWritesPerObject', 'create.statusWritesToReadyPerObject', 'create.finalizerWritesPerObject', 'create.reconcilesPerObject',
  'create.operatorCpuSeconds', 'create.rssPeakMiB', 'create.rssAtRestMiB', 'create.operatorOverFloor',
  'create.reconcileMeanSeconds', 'create.queueWaitMeanSeconds', 'create.awsCallMeanSeconds', 'floor.workerSecondsPerCreate',
  'floor.createSeconds', 'floor.deleteSeconds', 'floor.awsCallsPerCreate', 'floor.awsCallsPerDelete',
  'sync.periodSeconds', 'sync.seconds', 'sync.awsCallsPerRepository', 'sync.describeRepositoriesPer1000',
  'sync.kubeWritesPerRepository', 'sync.statusWritesPerRepository', 'sync.reconcilesPerRepository', 'sync.operatorCpuSeconds',
  'delete.seconds', 'delete.objectsPerSecond', 'delete.awsCallsPerObject', 'delete.kubeWritesPerObject', 'delete.operatorCpuSeconds', 'delete.operatorOverFloor',
  'sync.reconcileMeanSeconds', 'delete.reconcileMeanSeconds',
  'faults.objects', 'faults.cleanSeconds', 'faults.seconds', 'faults.overClean', 'faults.readyP95Seconds', 'faults.cleanAwsCallsPerObject',
  'faults.awsCallsPerObject', 'faults.injectedShare', 'faults.throttlesInjected', 'faults.serverErrorsInjected', 'faults.reconcileErrorsPerObject',
  'resync.objects', 'resync.createReadyP50Seconds', 'resync.createReadyMaxSeconds', 'resync.queueDepthAtApplyMin',
  'resync.reconcilesBeforeFirstCreate', 'resync.sweepPeriodSeconds', 'resync.sweepOverDefaultPeriod', 'resync.rssMiB',
];
const CONFIGURATIONS = ['defaults', 'unlimited'];
const FIGURES = [
  ...CONFIGURATIONS.flatMap((c) => PER_CONFIGURATION.map((f) => `${c}.${f}`)),
  'resync.setupCreateSeconds',
  'memory.objects', 'memory.rssIdleMiB', 'memory.growthPer1000MiB', 'memory.settleSeconds', 'memory.rssAtRestMiB', 'memory.rssPeakMiB',
  'memory.rssMinuteLaterMiB', 'memory.heapUsedMiB', 'memory.kubeWritesPerObjectPerMinute',
  'memory.restartRssAtRestMiB', 'memory.restartRssMinuteLaterMiB', 'memory.restartRssPeakMiB', 'memory.restartKubeWritesPerObjectPerMinute',
  'fairness.objects', 'fairness.aApplySeconds', 'fairness.aReadyBeforeB', 'fairness.queueDepthAtB', 'fairness.bReadySeconds', 'fairness.aReadyAtB',
  'fairness.throttledAApplySeconds', 'fairness.throttledAReadyBeforeB', 'fairness.throttledQueueDepthAtB', 'fairness.throttledBReadySeconds',
  'fairness.throttledAReadyAtB', 'fairness.throttlesInjected', 'fairness.throttledShareOfA',
];

interface BenchResult {
  date: string;
  machine: { cpus: number; memoryMiB: number; node: string };
  parameters: { n: number; memoryN: number; faultN: number; resyncN: number; fairnessN: number; concurrency: number; configurations: Record<string, { awsRequestsPerSecond: number; concurrency: number }> };
  figures: Record<string, unknown>;
  awsCallsByOperation: Record<string, Record<string, unknown>>;
  targets: Array<{ figure: string; met: boolean }>;
}

function runBench(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('bench/run.ts'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the benchmark', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-bench-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs a small case end to end and reports every figure as a finite number', async () => {
    // The run uses this suite's environment rather than starting a second one.
    const result = await runBench(['--n', '20', '--memory-n', '200', '--fault-n', '10', '--resync-n', '100', '--fairness-n', '50', '--skip-events', '--skip-public', '--skip-memory-work', '--concurrency', '4', '--out', out], {
      ...process.env,
      BENCH_ENVIRONMENT: JSON.stringify(sharedEnv()),
    });
    expect(result.code, `bench failed:\n${result.stderr.slice(-4000)}`).toBe(0);

    const files = readdirSync(out).filter((f) => f.endsWith('-n20.json'));
    expect(files, `no result file; the run said:\n${result.stderr.slice(-4000)}`).toHaveLength(1);
    const json = JSON.parse(readFileSync(path.join(out, files[0]!), 'utf8')) as BenchResult;
    expect(Number.isNaN(Date.parse(json.date))).toBe(false);
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(json.machine.memoryMiB).toBeGreaterThan(0);
    expect(json.machine.node).toMatch(/^v\d+/);
    expect(json.parameters).toMatchObject({ n: 20, memoryN: 200, faultN: 10, resyncN: 100, fairnessN: 50, concurrency: 4 });
    // The chart's defaults beside the unlimited configuration.
    expect(json.parameters.configurations.defaults).toMatchObject({ awsRequestsPerSecond: 20, concurrency: 10 });
    expect(json.parameters.configurations.unlimited).toMatchObject({ awsRequestsPerSecond: 10_000, concurrency: 4 });

    for (const figure of FIGURES) expect(json.figures, figure).toHaveProperty([figure]);
    for (const [key, value] of Object.entries(json.figures)) {
      expect(typeof value === 'number' && Number.isFinite(value), `${key} = ${String(value)}`).toBe(true);
    }
    for (const [phase, calls] of Object.entries(json.awsCallsByOperation)) {
      for (const [operation, count] of Object.entries(calls)) {
        expect(Number.isInteger(count) && (count as number) >= 0, `${phase} ${operation} = ${String(count)}`).toBe(true);
      }
    }
    // It did the work it reports on: every create reached AWS, through the operator and the floor.
    for (const c of CONFIGURATIONS) {
      expect(json.awsCallsByOperation[`${c}.create`]?.['ECR:CreateRepository']).toBeGreaterThanOrEqual(20);
      expect(json.awsCallsByOperation[`${c}.floorCreate`]?.['ECR:CreateRepository']).toBeGreaterThanOrEqual(20);
    }
    expect(json.figures['memory.objects']).toBe(200);
    // The fault run met faults at about the rates it set, and the resync run found its objects.
    for (const c of CONFIGURATIONS) {
      expect(json.figures[`${c}.faults.throttlesInjected`]).toBeGreaterThan(0);
      expect(json.figures[`${c}.faults.injectedShare`]).toBeGreaterThan(0.1);
      expect(json.figures[`${c}.faults.injectedShare`]).toBeLessThan(0.45);
      expect(json.figures[`${c}.resync.objects`]).toBe(100);
      expect(json.figures[`${c}.resync.reconcilesBeforeFirstCreate`]).toBeGreaterThanOrEqual(10);
    }
    // The fairness run applied A's creates and B's one, and throttled the calls of A's account at
    // about the rate it set. How soon B was Ready is printed beside its target, not judged here.
    expect(json.figures['fairness.objects']).toBe(50);
    expect(json.figures['fairness.aReadyAtB']).toBeLessThanOrEqual(50);
    expect(json.figures['fairness.throttledAReadyAtB']).toBeLessThanOrEqual(50);
    expect(json.figures['fairness.throttlesInjected']).toBeGreaterThan(0);
    expect(json.figures['fairness.throttledShareOfA']).toBeGreaterThan(0.3);
    expect(json.figures['fairness.throttledShareOfA']).toBeLessThan(0.7);
    expect(json.targets.map((t) => t.figure)).toEqual(expect.arrayContaining(['create.operatorOverFloor', 'sync.awsCallsPerRepository', 'sync.describeRepositoriesPer1000', 'memory.rssAtRestMiB', 'memory.growthPer1000MiB', 'faults.overClean', 'resync.createReadyMaxSeconds', 'fairness.bReadySeconds', 'fairness.throttledBReadySeconds']));

    // The table on stdout shows each target and whether it is met.
    expect(result.stdout).toMatch(/operator time \/ floor time\s+\S+ ×\s+\S+ ×\s+≤ 1\.5 × floor\s+defaults: (met|MISSED)/);
    expect(result.stdout).toMatch(/B's create applied → Ready\s+\S+ s\s+≤ 5 s\s+(met|reported|MISSED)/);
    expect(result.stdout).toContain(path.join(out, files[0]!).split(path.sep).pop());
  }, 1_800_000);

  it('measures memory after real work: each reading of a small burst that reached AWS, printed beside its target', async () => {
    const result = await runBench(['--only', 'memory-work', '--memory-work-n', '10', '--configurations', 'unlimited', '--out', out], {
      ...process.env,
      BENCH_ENVIRONMENT: JSON.stringify(sharedEnv()),
    });
    expect(result.code, `bench failed:\n${result.stderr.slice(-4000)}`).toBe(0);
    const files = readdirSync(out).filter((f) => f.endsWith('-memory-work-n10.json'));
    expect(files, `no result file; the run said:\n${result.stderr.slice(-4000)}`).toHaveLength(1);
    const json = JSON.parse(readFileSync(path.join(out, files[0]!), 'utf8')) as BenchResult;
    expect(json.figures['memoryWork.unlimited.objects']).toBe(10);
    // Every create became Ready (created in AWS), and every reading says where the memory is.
    expect(json.figures['memoryWork.unlimited.createSeconds']).toBeGreaterThan(0);
    for (const reading of ['idle', 'ready15s', 'ready60s', 'sweep', 'deleted']) {
      const rss = Number(json.figures[`memoryWork.unlimited.${reading}.rssMiB`]);
      const heap = Number(json.figures[`memoryWork.unlimited.${reading}.heapTotalMiB`]);
      expect(rss, reading).toBeGreaterThan(30);
      expect(heap, reading).toBeGreaterThan(1);
      expect(heap, reading).toBeLessThan(rss);
    }
    expect(result.stdout).toMatch(/RSS, 15 s after the last Ready\s+\S+ MiB\s+≤ 110 MiB/);
  }, 900_000);
});
