import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { informerWatchRestarts, registry, restClientRequests } from '../../src/observability/metrics.js';
import { Controller } from '../../src/runtime/controller.js';
import { EventRecorder } from '../../src/runtime/events.js';
import { Informer } from '../../src/runtime/informer.js';
import { KubeApiError, KubeClient, resourcePath, type ResourceRef } from '../../src/runtime/kube.js';
import { Manager } from '../../src/runtime/manager.js';
import { ObjectWriter } from '../../src/runtime/status.js';
import { keyString, type KubeObject } from '../../src/runtime/types.js';
import { startEnvironment } from './env/environment.js';
import { freePort } from './env/processes.js';
import { StallingProxy } from './fixtures/stalling-proxy.js';
import { sharedEnv } from './support/context.js';
import { Kubectl, eventually } from './support/kubectl.js';

const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', plural: 'configmaps' };
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ELECTOR = fileURLToPath(new URL('./fixtures/elector.ts', import.meta.url));

const logger = createLogger({ level: process.env.E2E_LOG_LEVEL ?? 'silent', name: 'runtime-e2e' });

function loadKubeConfig(file: string, server?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  if (server) {
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
  }
  return kc;
}

interface Readable {
  get(): Promise<{ values: Array<{ labels: Partial<Record<string, string | number>>; value: number }> }>;
}

/** Sum of the series of a metric whose labels match. */
async function counter(metric: Readable, labels: Record<string, string>): Promise<number> {
  const data = await metric.get();
  return data.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0);
}

function configMap(namespace: string, name: string, data: Record<string, string> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
}

describe('runtime against a real API server', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const ns = `runtime-e2e-${randomBytes(3).toString('hex')}`;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    await kubectl.ok(['create', 'namespace', ns]);
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await kubectl.run(['delete', 'namespace', ns, '--wait=false']);
  });

  it('an informer keeps working across a kube-apiserver restart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runtime-restart-'));
    const priv = await startEnvironment({ dir });
    try {
      const k = new Kubectl(priv.kubeconfig);
      await k.apply(configMap('default', 'before', { v: '1' }));
      const informer = new Informer<KubeObject>({
        client: new KubeClient(loadKubeConfig(priv.kubeconfig), { timeoutMs: 5_000 }),
        ref: CONFIGMAPS,
        namespace: 'default',
        logger,
        name: 'e2e-restart',
        watchIdleTimeoutMs: 20_000,
        backoff: { maxMs: 4_000 },
      });
      const seen: string[] = [];
      informer.onEvent((e) => seen.push(`${e.type} ${e.object.metadata?.name}`));
      await informer.start();
      expect(informer.get('default', 'before')?.data).toEqual({ v: '1' });

      await priv.restartApiServer();

      await k.apply(configMap('default', 'after', { v: '2' }));
      await k.ok(['patch', 'configmap', 'before', '--type=merge', '-p', '{"data":{"v":"changed"}}']);
      await eventually('the change made after the restart', async () =>
        (informer.get('default', 'after') && (informer.get('default', 'before')?.data as Record<string, string>)?.v === 'changed') || undefined, 60_000);
      await k.ok(['delete', 'configmap', 'before']);
      await eventually('the deletion', async () => (informer.get('default', 'before') === undefined ? true : undefined), 30_000);
      expect(seen).toContain('ADDED after');
      expect(seen).toContain('DELETED before');
      expect(informer.healthy()).toBe(true);
      // The watch did break and was restarted (resumed or relisted), not merely never noticed.
      const broken = await counter(informerWatchRestarts, { informer: 'e2e-restart', reason: 'error' })
        + await counter(informerWatchRestarts, { informer: 'e2e-restart', reason: 'gone' });
      expect(broken).toBeGreaterThan(0);
      informer.stop();
    } finally {
      await priv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stalled watch is detected by the watchdog within its bound and restarted; later changes arrive', async () => {
    const api = new URL(env.apiServerUrl);
    const proxy = new StallingProxy(api.hostname, Number(api.port));
    await proxy.start();
    cleanups.push(() => proxy.close());
    const idleMs = 3_000;
    const informer = new Informer<KubeObject>({
      client: new KubeClient(loadKubeConfig(env.kubeconfig, `https://127.0.0.1:${proxy.port}`), { timeoutMs: 3_000 }),
      ref: CONFIGMAPS,
      namespace: ns,
      logger,
      name: 'e2e-stall',
      watchIdleTimeoutMs: idleMs,
      backoff: { initialMs: 200, maxMs: 1_000 },
    });
    cleanups.push(() => informer.stop());
    await kubectl.apply(configMap(ns, 'stall-1'));
    await informer.start();
    expect(informer.get(ns, 'stall-1')).toBeDefined();
    // Let a few watches come and go normally: a quiet but healthy watch is never called dead.
    await new Promise((r) => setTimeout(r, idleMs * 2));
    expect(await counter(informerWatchRestarts, { informer: 'e2e-stall', reason: 'idle' })).toBe(0);

    proxy.stall();
    const stalledAt = Date.now();
    await kubectl.apply(configMap(ns, 'stall-2'));
    await eventually('the watchdog to fire', async () =>
      ((await counter(informerWatchRestarts, { informer: 'e2e-stall', reason: 'idle' })) > 0 ? true : undefined), idleMs + 5_000, 50);
    const detectedAfter = Date.now() - stalledAt;
    expect(detectedAfter).toBeLessThanOrEqual(idleMs + 1_500);
    expect(informer.get(ns, 'stall-2')).toBeUndefined();

    proxy.resume();
    await eventually('the change made during the stall', async () => informer.get(ns, 'stall-2'), 20_000);
    await kubectl.apply(configMap(ns, 'stall-3'));
    await eventually('a change made after the stall', async () => informer.get(ns, 'stall-3'), 20_000);
    expect(informer.healthy()).toBe(true);
  });

  it('leader election across processes: one leads; after kill -9 the other takes over within 20 s', async () => {
    const lease = 'e2e-elector';
    const children: Array<{ id: string; child: ChildProcess; lines: Array<Record<string, unknown>> }> = [];
    // client-go's defaults (15 s lease, 10 s renew deadline, 2 s retry). A follower judges expiry
    // from when it saw the last renewal and polls every 2-2.4 s: the worst-case takeover is
    // 15 + 2 x 2.4 = 19.8 s.
    const timing = {};
    const startElector = (id: string) => {
      const child = spawn(process.execPath, ['--import', 'tsx', ELECTOR], {
        cwd: ROOT,
        env: { ...process.env, ...timing, KUBECONFIG: env.kubeconfig, LEASE_NAMESPACE: ns, LEASE_NAME: lease, IDENTITY: id },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const entry = { id, child, lines: [] as Array<Record<string, unknown>> };
      let buf = '';
      child.stdout!.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            entry.lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            entry.lines.push({ msg: line });
          }
        }
      });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => entry.lines.push({ msg: 'exited', code, stderr }));
      children.push(entry);
      return entry;
    };
    const said = (e: (typeof children)[number], msg: string) => e.lines.some((l) => l.msg === msg);
    cleanups.push(() => {
      for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    });

    const a = startElector('elector-a');
    const b = startElector('elector-b');
    const leader = await eventually('a leader', async () => children.find((c) => said(c, 'leading')), 30_000);
    const follower = leader === a ? b : a;
    await eventually('the follower to campaign', async () => (said(follower, 'attempting to acquire leader lease') ? true : undefined), 30_000);
    // Several renew periods pass: still exactly one leader, and the Lease names it.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(said(follower, 'leading')).toBe(false);
    const held = await kubectl.getJson<{ spec: { holderIdentity: string } }>(['lease', lease, '-n', ns]);
    expect(held.spec.holderIdentity).toBe(leader.id);

    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await eventually('the follower to take over', async () => (said(follower, 'leading') ? true : undefined), 25_000, 100);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThanOrEqual(20_000);
    const taken = await kubectl.getJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>(['lease', lease, '-n', ns]);
    expect(taken.spec.holderIdentity).toBe(follower.id);
    expect(taken.spec.leaseTransitions).toBeGreaterThanOrEqual(1);

    // A graceful stop hands the lease back at once.
    follower.child.kill('SIGTERM');
    await eventually('the release', async () => (said(follower, 'released') ? true : undefined), 15_000);
    const released = await kubectl.getJson<{ spec: { holderIdentity?: string } }>(['lease', lease, '-n', ns]);
    expect(released.spec.holderIdentity ?? '').toBe('');
  });

  it('manager: /readyz turns 200 only after the informers synced; /metrics exposes the runtime metrics', async () => {
    const api = new URL(env.apiServerUrl);
    const proxy = new StallingProxy(api.hostname, Number(api.port));
    await proxy.start();
    cleanups.push(() => proxy.close());
    // Nothing passes until resume(): the first list cannot complete.
    proxy.stall();
    const client = new KubeClient(loadKubeConfig(env.kubeconfig, `https://127.0.0.1:${proxy.port}`), { timeoutMs: 2_000 });
    const [metricsPort, probePort] = [await freePort(), await freePort()];
    const informer = new Informer<KubeObject>({ client, ref: CONFIGMAPS, namespace: ns, logger, name: 'e2e-manager', backoff: { initialMs: 200, maxMs: 1_000 } });
    const reconciled = new Set<string>();
    const controller = new Controller<KubeObject>({
      name: 'e2e-configmaps',
      informer,
      logger,
      concurrency: 2,
      resyncPeriodMs: 0,
      reconcile: async (key) => {
        reconciled.add(keyString(key));
        return {};
      },
    });
    const manager = new Manager({
      client,
      logger,
      leaderElection: { enabled: true, namespace: ns, name: 'e2e-manager', identity: 'manager-e2e' },
      metricsAddr: `127.0.0.1:${metricsPort}`,
      probeAddr: `127.0.0.1:${probePort}`,
      shutdownTimeoutMs: 10_000,
      exit: () => undefined,
    });
    manager.addInformer(informer);
    manager.addController(controller);
    cleanups.push(() => manager.stop());
    await kubectl.apply(configMap(ns, 'managed-1'));
    const started = manager.start();

    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${probePort}/readyz`);
      return { status: res.status, body: await res.text() };
    };
    const early = await eventually('the probe server', async () => readyz(), 10_000, 100);
    expect(early.status).toBe(503);
    expect(early.body).toContain('informers not synced: e2e-manager');
    expect((await fetch(`http://127.0.0.1:${probePort}/healthz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await readyz()).status).toBe(503);
    expect(informer.synced()).toBe(false);

    proxy.resume();
    await started;
    expect(informer.synced()).toBe(true);
    await eventually('/readyz 200', async () => ((await readyz()).status === 200 ? true : undefined), 10_000, 100);
    await eventually('the reconcile of the existing object', async () => (reconciled.has(`${ns}/managed-1`) ? true : undefined), 30_000);
    await kubectl.apply(configMap(ns, 'managed-2'));
    await eventually('the reconcile of a new object', async () => (reconciled.has(`${ns}/managed-2`) ? true : undefined), 30_000);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^workqueue_depth\{name="e2e-configmaps"\} \d+$/m);
    expect(metrics).toMatch(/^workqueue_adds_total\{name="e2e-configmaps"\} [1-9]/m);
    expect(metrics).toMatch(/^controller_runtime_reconcile_total\{controller="e2e-configmaps",result="success"\} [1-9]/m);
    expect(metrics).toMatch(/^controller_runtime_reconcile_time_seconds_count\{controller="e2e-configmaps"\} [1-9]/m);
    expect(metrics).toMatch(/^controller_runtime_max_concurrent_reconciles\{controller="e2e-configmaps"\} 2$/m);
    expect(metrics).toMatch(/^leader_election_master_status\{name="e2e-manager"\} 1$/m);
    expect(metrics).toContain('workqueue_queue_duration_seconds_bucket');
    expect(metrics).toContain('process_cpu_seconds_total');
    expect(metrics).toMatch(/^rest_client_requests_total\{code="20[01]",method="(POST|PUT)"\} [1-9]/m);
    expect(metrics).toContain('aws_api_calls_total');

    await manager.stop();
    const lease = await kubectl.getJson<{ spec: { holderIdentity?: string } }>(['lease', 'e2e-manager', '-n', ns]);
    expect(lease.spec.holderIdentity ?? '').toBe('');
    await expect(fetch(`http://127.0.0.1:${probePort}/healthz`)).rejects.toThrow();
  });

  it('client, events and finalizers against the real API server', async () => {
    const client = new KubeClient(loadKubeConfig(env.kubeconfig));
    const path = resourcePath(CONFIGMAPS, ns, 'writes');
    expect(await client.getOrUndefined(path)).toBeUndefined();
    const before = await counter(restClientRequests, { method: 'POST', code: '201' });
    const created = await client.post<KubeObject>(resourcePath(CONFIGMAPS, ns), JSON.parse(configMap(ns, 'writes')));
    expect(await counter(restClientRequests, { method: 'POST', code: '201' })).toBe(before + 1);
    const dup = await client.post(resourcePath(CONFIGMAPS, ns), JSON.parse(configMap(ns, 'writes'))).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(KubeApiError);
    expect((dup as KubeApiError).status).toBe(409);
    expect((dup as KubeApiError).reason).toBe('AlreadyExists');

    const writer = new ObjectWriter(client);
    const withFinalizer = await writer.ensureFinalizer(CONFIGMAPS, { ...created, kind: 'ConfigMap', apiVersion: 'v1' }, 'example.com/guard');
    expect(withFinalizer.metadata?.finalizers).toEqual(['example.com/guard']);
    // A stale copy conflicts (resourceVersion precondition), is re-read and converges.
    const again = await writer.ensureFinalizer(CONFIGMAPS, { ...created, metadata: { ...created.metadata, finalizers: [] } }, 'example.com/other');
    expect(again.metadata?.finalizers).toEqual(['example.com/guard', 'example.com/other']);

    const recorder = new EventRecorder({ client, component: 'infra-operator-e2e', logger });
    const target = { ...withFinalizer, apiVersion: 'v1', kind: 'ConfigMap' };
    recorder.record(target, 'Warning', 'Throttled', 'slow down');
    await recorder.flush();
    recorder.record(target, 'Warning', 'Throttled', 'slow down');
    await recorder.flush();
    const events = await kubectl.getJson<{ items: Array<{ reason: string; count: number; type: string; source: { component: string } }> }>(
      ['events', '-n', ns, '--field-selector', `involvedObject.name=writes,involvedObject.uid=${created.metadata?.uid}`]);
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({ reason: 'Throttled', type: 'Warning', count: 2, source: { component: 'infra-operator-e2e' } });
    const described = await kubectl.ok(['describe', 'configmap', 'writes', '-n', ns]);
    expect(described).toMatch(/Warning\s+Throttled.*slow down/);

    await client.delete(path);
    const current = await client.get<KubeObject>(path);
    expect(current.metadata?.deletionTimestamp).toBeDefined();
    await writer.removeFinalizer(CONFIGMAPS, current, 'example.com/guard');
    const latest = await client.get<KubeObject>(path);
    await writer.removeFinalizer(CONFIGMAPS, latest, 'example.com/other');
    await eventually('the object to go', async () => ((await client.getOrUndefined(path)) === undefined ? true : undefined), 10_000);
    await writer.removeFinalizer(CONFIGMAPS, latest, 'example.com/other');
    expect(registry.contentType).toContain('text/plain');
  });
});
