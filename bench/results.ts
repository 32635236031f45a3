import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EnvironmentInfo } from '../test/e2e/env/environment.js';
import { durationFlag, type BenchArgs } from './args.js';
import type { BenchConfiguration, Context } from './context.js';
import { verdicts, type Counts, type Verdict } from './report.js';
import type { SourceState } from './source.js';
import { round } from './stats.js';

/**
 * Everything a run has measured, gathered from the phases' contexts, and the results file
 * `<out>/<date>-n<N>.json` it is written to: after every part, and when a part fails.
 */

/** `<date>-n<N>.json`; a run of one part alone says which: `<date>-fairness-n<A>.json`. */
export function resultFileName(date: Date, args: BenchArgs): string {
  const counts: Record<NonNullable<BenchArgs['only']>, number> = { fairness: args.fairnessN, memory: args.memoryN, 'memory-work': args.memoryWorkN ?? args.n, resync: args.resyncN, events: args.eventsN, public: args.publicN };
  const what = args.only ? `${args.only}-n${counts[args.only]}` : `n${args.n}`;
  return `${date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '')}-${what}.json`;
}

export class Results {
  /** Per-configuration figures as `<config>.<figure>`, shared ones (memory, fairness) as `<figure>`. */
  readonly figures: Record<string, number> = {};
  readonly awsCallsByOperation: Record<string, Record<string, number>> = {};
  readonly kubeWrites: Record<string, Record<string, number>> = {};
  readonly notes: string[] = [];
  readonly operatorPids: Record<string, number> = {};
  readonly floorRuns: Record<string, Array<{ createSeconds: number; deleteSeconds: number }>> = {};
  /** The machine's 1-minute load average, taken as the run goes. */
  readonly load: number[] = [os.loadavg()[0] ?? 0];

  constructor(private readonly run: {
    date: Date;
    args: BenchArgs;
    configs: readonly BenchConfiguration[];
    env: EnvironmentInfo;
    source: SourceState;
    /** Where a relative --out is resolved from. */
    startDir: string;
  }) {}

  /** Takes what a phase's context measured; with a configuration's name, its keys are prefixed by it. */
  add(ctx: Pick<Context, 'figures' | 'awsCalls' | 'kubeWrites' | 'operatorPids' | 'notes'>, configName?: string): void {
    const key = (k: string) => (configName ? `${configName}.${k}` : k);
    for (const [k, v] of Object.entries(ctx.figures)) this.figures[key(k)] = v;
    for (const [k, v] of Object.entries(ctx.awsCalls)) this.awsCallsByOperation[key(k)] = v;
    for (const [k, v] of Object.entries(ctx.kubeWrites)) this.kubeWrites[key(k)] = v;
    for (const [k, v] of Object.entries(ctx.operatorPids)) this.operatorPids[key(k)] = v;
    this.notes.push(...ctx.notes.map((n) => (configName ? `${configName}: ${n}` : n)));
  }

  /** The object counts the targets are judged against: 0 for a part that was skipped. */
  counts(): Counts {
    const { args } = this.run;
    return {
      n: args.n,
      memoryN: args.skipMemory ? 0 : args.memoryN,
      faultN: args.skipFaults ? 0 : args.faultN,
      resyncN: args.skipResync ? 0 : args.resyncN,
      fairnessN: args.skipFairness ? 0 : args.fairnessN,
    };
  }

  /** Writes the results file with what has been measured so far. */
  save(failure?: string): { result: ResultDocument; verdictList: Verdict[]; outFile: string } {
    const { date, args, configs, env, source, startDir } = this.run;
    const f = this.figures;
    const rounded = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, round(v, 4)]));
    const configNames = configs.map((c) => c.name);
    const counts = this.counts();
    const verdictList = verdicts(rounded, configNames, counts);
    const result: ResultDocument = {
      date: date.toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
        node: process.version,
        platform: `${os.type()} ${os.release()} ${os.arch()}`,
        kubeApiServer: env.kubeVersion,
        loadAverage1m: this.load.map((l) => round(l, 2)),
      },
      source,
      parameters: {
        n: args.n,
        concurrency: args.concurrency,
        syncPeriod: durationFlag(args.syncPeriodMs),
        memoryN: counts.memoryN,
        faultN: counts.faultN,
        resyncN: counts.resyncN,
        fairnessN: counts.fairnessN,
        namespaces: args.namespaces,
        providersPerNamespace: args.providersPerNamespace,
        configurations: Object.fromEntries(configs.map((c) => [c.name, {
          awsRequestsPerSecond: c.awsRequestsPerSecond, awsBurst: c.awsBurst, operationRateLimits: c.operationRateLimits, concurrency: c.concurrency,
          measureSyncPeriod: durationFlag((f[`${c.name}.sync.periodSeconds`] ?? 0) * 1000),
        }])),
        syncMeasurement: 'restart with a short --sync-period; count one timer-driven pass after the startup pass',
      },
      figures: rounded,
      floorRuns: this.floorRuns,
      awsCallsByOperation: this.awsCallsByOperation,
      kubeWrites: this.kubeWrites,
      targets: verdictList,
      operatorPids: this.operatorPids,
      notes: failure ? [...this.notes, `incomplete: the run stopped with ${failure}`] : this.notes,
    };
    const outDir = path.resolve(startDir, args.out);
    mkdirSync(outDir, { recursive: true });
    const outFile = path.join(outDir, resultFileName(date, args));
    writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
    return { result, verdictList, outFile };
  }
}

export interface ResultDocument {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryMiB: number; node: string; platform: string; kubeApiServer: string; loadAverage1m: number[] };
  source: SourceState;
  parameters: Record<string, unknown>;
  figures: Record<string, number>;
  floorRuns: Record<string, Array<{ createSeconds: number; deleteSeconds: number }>>;
  awsCallsByOperation: Record<string, Record<string, number>>;
  kubeWrites: Record<string, Record<string, number>>;
  targets: Verdict[];
  operatorPids: Record<string, number>;
  notes: string[];
}
