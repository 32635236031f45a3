/**
 * The local environment from the command line.
 *
 *   tsx test/e2e/env/cli.ts up        starts etcd, kube-apiserver, kube-controller-manager and moto in the background, writes .local/env.sh
 *   tsx test/e2e/env/cli.ts down      stops them; no process is left behind
 *   tsx test/e2e/env/cli.ts status    prints what runs
 *   tsx test/e2e/env/cli.ts serve     the foreground supervisor that `up` starts
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEnvInfo, startEnvironment, writeEnvFiles } from './environment.js';

const root = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const localDir = path.join(root, '.local');
const envJson = path.join(localDir, 'env.json');
const envSh = path.join(localDir, 'env.sh');

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function serve(): Promise<void> {
  mkdirSync(localDir, { recursive: true });
  const env = await startEnvironment({ dir: path.join(localDir, 'env'), verbose: true });
  writeEnvFiles(env, envSh, { supervisorPid: process.pid });
  process.stderr.write(`env: ready (kube-apiserver ${env.kubeVersion}); source .local/env.sh\n`);
  const shutdown = async () => {
    await env.stop();
    rmSync(envJson, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  setInterval(() => undefined, 1 << 30);
}

async function up(): Promise<void> {
  const current = readEnvInfo(envJson);
  if (current && alive(current.supervisorPid)) {
    console.log(`environment already running; source ${path.relative(process.cwd(), envSh)}`);
    return;
  }
  rmSync(envJson, { force: true });
  rmSync(path.join(localDir, 'env'), { recursive: true, force: true });
  mkdirSync(localDir, { recursive: true });
  const log = openSync(path.join(localDir, 'env.log'), 'w');
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  const deadline = Date.now() + 60 * 60_000;
  process.stderr.write('env: starting (the first run builds kube-apiserver, kube-controller-manager and etcd; see .local/env.log)\n');
  while (Date.now() < deadline) {
    if (existsSync(envJson)) {
      const info = readEnvInfo(envJson);
      console.log(`environment up: kube-apiserver ${info?.kubeVersion}, AWS endpoint ${info?.awsEndpoint}`);
      console.log(`use it with: source ${path.relative(process.cwd(), envSh) || envSh}`);
      return;
    }
    if (!alive(child.pid)) throw new Error('environment failed to start; see .local/env.log');
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('environment did not start within an hour; see .local/env.log');
}

async function down(): Promise<void> {
  const info = readEnvInfo(envJson);
  if (!info?.supervisorPid || !alive(info.supervisorPid)) {
    console.log('environment not running');
    rmSync(envJson, { force: true });
    return;
  }
  process.kill(info.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive(info.supervisorPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(info.supervisorPid)) process.kill(info.supervisorPid, 'SIGKILL');
  console.log('environment stopped');
}

function status(): void {
  const info = readEnvInfo(envJson);
  if (info && alive(info.supervisorPid)) console.log(JSON.stringify(info, null, 2));
  else console.log('environment not running');
}

const command = process.argv[2];
const commands: Record<string, () => Promise<void> | void> = { up, down, status, serve };
const run = command ? commands[command] : undefined;
if (!run) {
  console.error('usage: cli.ts up|down|status');
  process.exit(2);
}
Promise.resolve(run()).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
