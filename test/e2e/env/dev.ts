/**
 * `make dev`: the whole product on one machine. Starts etcd, kube-apiserver and moto, installs the
 * CRDs, runs the operator from source against them (with --allow-custom-endpoints: the samples'
 * AWSProviders reach moto through spec.endpoint), applies config/samples and shows the result.
 * Ctrl-C stops everything. Another shell can join with `source .local/env.sh`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { environmentVariables, startEnvironment, writeEnvFiles } from './environment.js';
import { startProcess, type ManagedProcess } from './processes.js';

const root = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const localDir = path.join(root, '.local');

/** kubectl, asynchronously: this process also serves the AWS endpoint, so it must never block. */
function kubectl(env: NodeJS.ProcessEnv, args: string[], show = true): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('kubectl', args, { env, stdio: show ? 'inherit' : 'ignore' });
    child.once('exit', (code) => resolve(code === 0));
    child.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  mkdirSync(localDir, { recursive: true });
  const dir = path.join(localDir, 'dev');
  rmSync(dir, { recursive: true, force: true });
  const env = await startEnvironment({ dir, verbose: true });
  writeEnvFiles(env, path.join(localDir, 'env.sh'), { supervisorPid: process.pid });
  const shellEnv = { ...process.env, ...environmentVariables(env) };

  const running: { operator?: ManagedProcess } = {};
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\ndev: stopping the operator and the environment\n');
    await running.operator?.stop(15_000);
    await env.stop();
    rmSync(path.join(localDir, 'env.json'), { force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  process.stderr.write('dev: installing the CRDs\n');
  if (!(await kubectl(shellEnv, ['apply', '-f', path.join(root, 'config/crd/bases')]))) return stop(1);
  await kubectl(shellEnv, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'], false);

  const logFile = path.join(localDir, 'operator.log');
  writeFileSync(logFile, '');
  process.stderr.write(`dev: starting the operator with --allow-custom-endpoints (logs in ${path.relative(process.cwd(), logFile)})\n`);
  process.stderr.write('dev: --allow-custom-endpoints lets AWSProvider.spec.endpoint point at moto, as the samples do; by default the operator refuses a custom endpoint (docs/security.md)\n');
  // Under the reaper, like the control plane: the operator never outlives this process.
  const operator = startProcess('operator', process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'),
    '--allow-custom-endpoints', '--metrics-bind-address=127.0.0.1:8080', '--health-probe-bind-address=127.0.0.1:8081', '--sync-period=1m'], logFile, shellEnv);
  running.operator = operator;
  const watchdog = setInterval(() => {
    if (operator.exited() && !stopping) {
      process.stderr.write(`dev: the operator exited; see ${logFile}\n`);
      void stop(1);
    }
  }, 500);
  watchdog.unref();

  process.stderr.write('dev: applying config/samples\n');
  await kubectl(shellEnv, ['apply', '-k', path.join(root, 'config/samples')]);
  await kubectl(shellEnv, ['wait', '--for=condition=Ready', 'awsproviders', '--all', '--timeout=60s'], false);
  await kubectl(shellEnv, ['wait', '--for=condition=Ready', 'ecrrepositories,ecrpublicrepositories', '--all', '--timeout=60s'], false);
  await kubectl(shellEnv, ['wait', '--for=condition=Ready', 'ecr-registry', '--all', '--timeout=60s'], false);
  await kubectl(shellEnv, ['get', 'awsproviders,ecrrepositories,ecrpublicrepositories']);
  // The account-wide kinds (cluster-scoped) share the category ecr-registry.
  await kubectl(shellEnv, ['get', 'ecr-registry']);
  process.stderr.write(`
dev: running. In another shell:
  source .local/env.sh
  kubectl get ecrrepositories -w
  kubectl get ecr-registry
  aws ecr describe-repositories
Metrics on http://127.0.0.1:8080/metrics, probes on http://127.0.0.1:8081/readyz.
The operator runs with --allow-custom-endpoints (the samples' AWSProviders use spec.endpoint to
reach moto); without it, as by default, a custom endpoint is refused.
Ctrl-C stops everything.
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`dev: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
