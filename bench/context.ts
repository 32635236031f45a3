import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../src/config.js';
import type { Environment, EnvironmentInfo } from '../test/e2e/env/environment.js';
import type { OperatorProcess } from '../test/e2e/support/operator.js';
import type { BenchArgs, ConfigurationName } from './args.js';
import type { KubeApi } from './kube-api.js';

/**
 * What every phase is handed: the run's arguments, the configuration it measures, the environment,
 * and where it puts its figures. Also the few helpers every module uses (say, sleep, now).
 */

export const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
/** The controller whose queue and reconciles the benchmark reads. */
export const CONTROLLER = 'ecrrepository';

export const say = (m: string): void => void process.stderr.write(`bench: ${m}\n`);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const now = (): number => performance.now();

/** Everything the run started, so that an interrupt or a failure stops it all. */
export class Resources {
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
export interface BenchConfiguration {
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
export const CHART_SYNC_PERIOD_MS = parseDuration(chartValues().operator.syncPeriod) ?? 600_000;

/** The defaults a user gets from the chart, read from its values.yaml; or the unlimited one. */
export function configuration(name: ConfigurationName, args: BenchArgs): BenchConfiguration {
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

export interface Context {
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
