import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kubectl } from '../support/kubectl.js';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.js';

/**
 * The GitOps controllers of the e2e tier as local processes against the environment's API server,
 * each with the environment's admin kubeconfig, as the operator runs in e2e (there is no node):
 *
 * - Flux: source-controller (artifacts served on loopback), kustomize-controller and
 *   helm-controller, in namespace flux-system, with the CRDs of the same releases;
 * - Argo CD: redis, argocd-repo-server and argocd-application-controller (one binary of ours, chosen
 *   by the name it runs under), in namespace argocd, with the CRDs of the same release. The
 *   in-cluster destination (https://kubernetes.default.svc) is the environment's API server through
 *   the kubeconfig (Argo CD's ARGOCD_FAKE_IN_CLUSTER).
 *
 * The binaries are built once and cached by version by hack/ensure-gitops.sh.
 */

const ENSURE_SCRIPT = fileURLToPath(new URL('../../../hack/ensure-gitops.sh', import.meta.url));

/** The directory of the tier's binaries and CRDs; builds them first when they are missing. */
export function ensureGitOpsBinaries(): string {
  try {
    const out = execFileSync('bash', [ENSURE_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    return out.trim().split('\n').pop() ?? '';
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`hack/ensure-gitops.sh failed: Flux's controllers and Argo CD are needed by the GitOps tests:\n${stderr.slice(-4000)}`);
  }
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function healthy(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
}

async function installCrds(kubectl: Kubectl, dir: string): Promise<void> {
  await kubectl.ok(['apply', '--server-side', '--force-conflicts', '-f', dir]);
  // kubectl wait fails at once, instead of waiting, on a CRD whose status has no conditions yet.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await kubectl.run(['wait', '--for=condition=Established', '-f', dir, '--timeout=30s']);
    if (result.code === 0) return;
    if (Date.now() > deadline) throw new Error(`the CRDs in ${dir} are not Established: ${result.stderr}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function ensureNamespace(kubectl: Kubectl, name: string): Promise<void> {
  await kubectl.ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
}

export interface ControllerSet {
  readonly processes: ManagedProcess[];
  /** The last lines of every process's log, for a failure message. */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

function controllerSet(processes: ManagedProcess[]): ControllerSet {
  return {
    processes,
    logs: (lines = 40) => processes.map((p) => `--- ${p.name} (${p.logFile})\n${tail(p.logFile, lines)}`).join('\n'),
    async stop() {
      for (const p of [...processes].reverse()) await p.stop(15_000);
    },
  };
}

export interface FluxOptions {
  binDir: string;
  /** A scratch directory for logs and source-controller's artifacts. */
  dir: string;
  kubeconfig: string;
  kubectl: Kubectl;
}

export const FLUX_NAMESPACE = 'flux-system';

/** The page that shows the GitOps objects, and the repository URL its examples name. */
export const GITOPS_DOC = 'docs/gitops.md';
export const GITOPS_DOC_URL = 'https://git.example.com/platform/ecr-config.git';

export async function startFlux(opts: FluxOptions): Promise<ControllerSet> {
  await installCrds(opts.kubectl, path.join(opts.binDir, 'crds', 'flux'));
  await ensureNamespace(opts.kubectl, FLUX_NAMESPACE);
  const logs = path.join(opts.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const env = { ...process.env, KUBECONFIG: opts.kubeconfig, RUNTIME_NAMESPACE: FLUX_NAMESPACE };
  const started: ManagedProcess[] = [];
  const set = controllerSet(started);
  try {
    const storagePort = await freePort();
    const artifacts = path.join(opts.dir, 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    const source = await startController('source-controller', path.join(opts.binDir, 'source-controller'), [
      `--storage-path=${artifacts}`,
      `--storage-addr=127.0.0.1:${storagePort}`,
      `--storage-adv-addr=127.0.0.1:${storagePort}`,
    ], logs, env);
    started.push(source);
    const kustomize = await startController('kustomize-controller', path.join(opts.binDir, 'kustomize-controller'), [
      // A dependency that is not ready yet is looked at again soon.
      '--requeue-dependency=5s',
    ], logs, env);
    started.push(kustomize);
    // Installs charts from the artifacts source-controller serves.
    started.push(await startController('helm-controller', path.join(opts.binDir, 'helm-controller'), [], logs, env));
    return set;
  } catch (err) {
    await set.stop();
    throw err;
  }
}

/** A Flux controller with its metrics and health endpoints on loopback; waits for /readyz. */
async function startController(name: string, binary: string, args: string[], logs: string, env: NodeJS.ProcessEnv): Promise<ManagedProcess> {
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const logFile = path.join(logs, `${name}.log`);
  const proc = startProcess(name, binary, [
    ...args,
    `--metrics-addr=127.0.0.1:${metricsPort}`,
    `--health-addr=127.0.0.1:${healthPort}`,
    '--events-addr=',
    '--log-level=info',
  ], logFile, env);
  try {
    await waitFor(name, () => healthy(`http://127.0.0.1:${healthPort}/readyz`), 60_000,
      () => (proc.exited() ? `exited:\n${tail(logFile)}` : undefined));
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

export interface ArgoCdOptions {
  binDir: string;
  dir: string;
  kubeconfig: string;
  kubectl: Kubectl;
  /** argocd-cm data besides what the controller needs (resource customizations come from the tests). */
  reconciliationTimeout?: string;
}

export const ARGOCD_NAMESPACE = 'argocd';

export async function startArgoCd(opts: ArgoCdOptions): Promise<ControllerSet> {
  await installCrds(opts.kubectl, path.join(opts.binDir, 'crds', 'argocd'));
  await ensureNamespace(opts.kubectl, ARGOCD_NAMESPACE);
  // The settings the controller reads (an install's argocd-cm and argocd-secret), and the default
  // project that argocd-server would otherwise create.
  await opts.kubectl.apply(JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'argocd-cm', namespace: ARGOCD_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'argocd' } },
        data: { 'timeout.reconciliation': opts.reconciliationTimeout ?? '180s' },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'argocd-secret', namespace: ARGOCD_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'argocd' } },
        stringData: { 'server.secretkey': 'e2e-not-a-secret' },
      },
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name: 'default', namespace: ARGOCD_NAMESPACE },
        spec: { sourceRepos: ['*'], destinations: [{ namespace: '*', server: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
      },
    ],
  }));
  const logs = path.join(opts.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const home = path.join(opts.dir, 'home');
  mkdirSync(home, { recursive: true });
  const started: ManagedProcess[] = [];
  const set = controllerSet(started);
  try {
    const redisPort = await freePort();
    const redisLog = path.join(logs, 'redis.log');
    const redisDir = path.join(opts.dir, 'redis');
    mkdirSync(redisDir, { recursive: true });
    const redis = startProcess('redis', path.join(opts.binDir, 'redis-server'), [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir,
    ], redisLog);
    started.push(redis);
    await waitFor('redis', async () => tail(redisLog).includes('Ready to accept connections'), 30_000,
      () => (redis.exited() ? `exited:\n${tail(redisLog)}` : undefined));

    const env = {
      ...process.env,
      KUBECONFIG: opts.kubeconfig,
      HOME: home,
      ARGOCD_FAKE_IN_CLUSTER: 'true',
      ARGOCD_GPG_ENABLED: 'false',
      TMPDIR: path.join(opts.dir, 'tmp'),
    };
    mkdirSync(env.TMPDIR, { recursive: true });
    const repoPort = await freePort();
    const repoMetrics = await freePort();
    const repoLog = path.join(logs, 'argocd-repo-server.log');
    const repoServer = startProcess('argocd-repo-server', path.join(opts.binDir, 'argocd-repo-server'), [
      '--address=127.0.0.1', `--port=${repoPort}`, '--metrics-address=127.0.0.1', `--metrics-port=${repoMetrics}`,
      '--disable-tls', `--redis=127.0.0.1:${redisPort}`, '--loglevel=info', '--logformat=text',
    ], repoLog, env);
    started.push(repoServer);
    await waitFor('argocd-repo-server', () => healthy(`http://127.0.0.1:${repoMetrics}/metrics`), 60_000,
      () => (repoServer.exited() ? `exited:\n${tail(repoLog)}` : undefined));

    const controllerMetrics = await freePort();
    const controllerLog = path.join(logs, 'argocd-application-controller.log');
    const controller = startProcess('argocd-application-controller', path.join(opts.binDir, 'argocd-application-controller'), [
      `--namespace=${ARGOCD_NAMESPACE}`, `--repo-server=127.0.0.1:${repoPort}`, '--repo-server-plaintext',
      `--redis=127.0.0.1:${redisPort}`, `--metrics-port=${controllerMetrics}`, '--loglevel=info', '--logformat=text',
      '--status-processors=4', '--operation-processors=2',
      // Each resource's health in the Application's status.resources, where kubectl shows it (Argo CD
      // 3 keeps it only in its cache by default: controller.resource.health.persist).
      '--persist-resource-health',
    ], controllerLog, env);
    started.push(controller);
    await waitFor('argocd-application-controller', () => healthy(`http://127.0.0.1:${controllerMetrics}/healthz`), 60_000,
      () => (controller.exited() ? `exited:\n${tail(controllerLog)}` : undefined));
    return set;
  } catch (err) {
    await set.stop();
    throw err;
  }
}
