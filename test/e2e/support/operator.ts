import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { environmentVariables, type EnvironmentInfo } from '../env/environment.js';
import { kubeconfigYaml } from '../env/pki.js';
import { freePort, startProcess, type ManagedProcess } from '../env/processes.js';
import { eventually } from './kubectl.js';

/** The operator as a process (the built dist/main.js), as it runs in a cluster. */
export interface OperatorProcess {
  readonly metricsUrl: string;
  readonly probeUrl: string;
  readonly logFile: string;
  /** Parsed JSON log lines so far. */
  logLines(): Array<Record<string, unknown>>;
  /** Raw output so far. */
  output(): string;
  metrics(): Promise<string>;
  /** Sum of a metric's samples whose labels include every given label. */
  metricValue(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
  kill9(): void;
  exited(): boolean;
}

export interface OperatorOptions {
  args?: string[];
  env?: Record<string, string>;
  kubeconfig?: string;
  /** Wait for /readyz (default true). */
  waitReady?: boolean;
  /**
   * Start with --allow-custom-endpoints (default true): the test environment's providers point at
   * moto through spec.endpoint, as a developer's do. The tenancy tests turn it off.
   */
  allowCustomEndpoints?: boolean;
}

/**
 * The node flags of the image's ENTRYPOINT (those between node and dist/main.js): the operator
 * runs here with the memory settings it has in the image, so that tests and the benchmark see
 * what users run.
 */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(fileURLToPath(new URL('../../../Dockerfile', import.meta.url)), 'utf8');
  const line = dockerfile.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  if (!line) throw new Error('the Dockerfile has no ENTRYPOINT');
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  const main = argv.indexOf('dist/main.js');
  if (main < 1) throw new Error(`the Dockerfile's ENTRYPOINT does not run dist/main.js: ${line}`);
  return argv.slice(1, main);
}

/**
 * The environment the image's last stage sets (its ENV lines, `ENV NAME=value ...`): the operator
 * runs here with it, as it runs in the image.
 */
export function imageEnvironment(): Record<string, string> {
  const dockerfile = readFileSync(fileURLToPath(new URL('../../../Dockerfile', import.meta.url)), 'utf8');
  const lines = dockerfile.split('\n');
  const lastStage = lines.findLastIndex((l) => l.startsWith('FROM '));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastStage)) {
    if (!line.startsWith('ENV ')) continue;
    for (const pair of line.slice('ENV '.length).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error(`the Dockerfile's ENV line is not NAME=value ...: ${line}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

export async function startOperator(info: EnvironmentInfo, opts: OperatorOptions = {}): Promise<OperatorProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-run-'));
  const logFile = path.join(dir, 'operator.log');
  const metricsPort = await freePort();
  const probePort = await freePort();
  const env = {
    ...process.env,
    ...imageEnvironment(),
    ...environmentVariables(info),
    ...(opts.kubeconfig ? { KUBECONFIG: opts.kubeconfig } : {}),
    ...(opts.env ?? {}),
  };
  const proc: ManagedProcess = startProcess('operator', process.execPath, [
    ...imageNodeFlags(),
    path.resolve('dist/main.js'),
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    `--health-probe-bind-address=127.0.0.1:${probePort}`,
    '--log-level=debug',
    ...((opts.allowCustomEndpoints ?? true) ? ['--allow-custom-endpoints'] : []),
    ...(opts.args ?? []),
  ], logFile, env);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const probeUrl = `http://127.0.0.1:${probePort}`;
  const output = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const metrics = async () => (await fetch(metricsUrl)).text();
  const operator: OperatorProcess = {
    metricsUrl,
    probeUrl,
    logFile,
    output,
    logLines: () =>
      output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    metrics,
    async metricValue(name, labels = {}) {
      const text = await metrics();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        const labelText = line.slice(name.length).split(' ')[0] ?? '';
        if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(line.split(' ').pop());
      }
      return sum;
    },
    stop: () => proc.stop(15_000),
    kill9: () => {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // gone
      }
    },
    exited: () => proc.exited(),
  };
  if (opts.waitReady ?? true) {
    await eventually('the operator to be ready', async () => {
      if (proc.exited()) throw new Error(`operator exited:\n${output().slice(-3000)}`);
      return (await fetch(`${probeUrl}/readyz`)).ok || undefined;
    }, 60_000);
  }
  return operator;
}

/**
 * Installs config/rbac and returns a kubeconfig that acts as the operator's ServiceAccount
 * (infra-operator-controller-manager in infra-operator-system), with a token minted through the
 * TokenRequest API. The real API server enforces the ClusterRole: the operator runs with exactly
 * the permissions it is installed with. `installRbac: false` uses what an install of the chart
 * created instead.
 */
export async function serviceAccountKubeconfig(info: EnvironmentInfo, kubectl: { ok(args: string[], input?: string): Promise<string> }, opts: { installRbac?: boolean } = {}): Promise<string> {
  if (opts.installRbac ?? true) await kubectl.ok(['apply', '-k', path.resolve('config/rbac')]);
  const token = (await kubectl.ok(['create', 'token', 'infra-operator-controller-manager', '-n', 'infra-operator-system', '--duration=6h'])).trim();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-sa-'));
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(file, kubeconfigYaml(info.apiServerUrl, info.caCert, { token }, 'infra-operator-controller-manager'), { mode: 0o600 });
  return file;
}
