import { describe, expect, it } from 'vitest';
import { registry } from '../../../src/observability/metrics.js';
import { Controller } from '../../../src/runtime/controller.js';
import { EventRecorder } from '../../../src/runtime/events.js';
import type { Informer, InformerEvent } from '../../../src/runtime/informer.js';
import { Manager } from '../../../src/runtime/manager.js';
import { keyString, type KubeObject } from '../../../src/runtime/types.js';
import { LeaseClient, LeaseStore, captureLogger, deferred } from './helpers.js';

/** Just enough of an Informer for the manager and a controller. */
class FakeInformer {
  readonly handlers = new Set<(e: InformerEvent<KubeObject>) => void>();
  readonly objects: KubeObject[] = [];
  private isSynced = false;
  stopped = false;
  constructor(readonly name: string, private readonly gate: Promise<void> = Promise.resolve()) {}
  async start(): Promise<void> {
    await this.gate;
    this.isSynced = true;
  }
  stop(): void {
    this.stopped = true;
  }
  synced(): boolean {
    return this.isSynced;
  }
  healthy(): boolean {
    return this.isSynced && !this.stopped;
  }
  list(): KubeObject[] {
    return this.objects;
  }
  onEvent(h: (e: InformerEvent<KubeObject>) => void): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }
  add(o: KubeObject): void {
    this.objects.push(o);
    for (const h of this.handlers) h({ type: 'ADDED', object: o });
  }
}

const asInformer = (f: FakeInformer) => f as unknown as Informer<KubeObject>;

async function until(what: string, cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let n = 0;
function setup(opts: { events?: EventRecorder; onReconcile?: (k: { namespace: string; name: string }) => void | Promise<void> } = {}) {
  const store = new LeaseStore();
  const client = new LeaseClient(store);
  const { logger } = captureLogger();
  const slowGate = deferred();
  const fast = new FakeInformer('fast');
  const slow = new FakeInformer('slow', slowGate.promise);
  const reconciled: string[] = [];
  const controller = new Controller<KubeObject>({
    name: `mgr-test-${++n}`,
    informer: fast,
    logger,
    concurrency: 1,
    resyncPeriodMs: 0,
    reconcile: async (k) => {
      reconciled.push(keyString(k));
      await opts.onReconcile?.(k);
      return {};
    },
  });
  let lost = 0;
  const manager = new Manager({
    client,
    logger,
    leaderElection: { enabled: true, namespace: 'ns', name: `mgr-lease-${n}`, identity: 'me', leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 },
    metricsAddr: '0',
    probeAddr: '0',
    shutdownTimeoutMs: 2_000,
    exit: () => lost++,
    events: opts.events,
  });
  manager.addInformer(asInformer(fast));
  manager.addInformer(asInformer(slow));
  manager.addController(controller);
  return { store, client, manager, fast, slow, slowGate, reconciled, controller, lost: () => lost };
}

describe('Manager', () => {
  it('on losing the lease, gives up at once: it does not wait for an in-flight reconcile', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let finished = false;
    // A reconcile that hangs in an AWS call.
    const { client, manager, fast, slowGate, lost } = setup({
      onReconcile: async () => {
        await blocked;
        finished = true;
      },
    });
    slowGate.resolve();
    await manager.start();
    await until('leading', () => manager.isLeader());
    fast.add({ metadata: { namespace: 'ns', name: 'hanging' } });
    await new Promise((r) => setTimeout(r, 50));
    client.down = true;
    await until('leadership lost', () => lost() === 1, 3_000);
    expect(finished).toBe(false);
    release();
    client.down = false;
    await manager.stop();
  });

  it('is ready only when every informer synced; reconciles only once leading; stop() releases the lease', async () => {
    const { store, manager, fast, slowGate, reconciled } = setup();
    fast.objects.push({ metadata: { namespace: 'ns', name: 'pre' } });
    const started = manager.start();
    await until('fast informer', () => fast.synced());
    expect(manager.ready()).toEqual({ ok: false, detail: 'informers not synced: slow' });
    expect(store.lease).toBeUndefined();
    slowGate.resolve();
    await started;
    expect(manager.ready().ok).toBe(true);
    await until('leadership and the first reconcile', () => reconciled.includes('ns/pre'));
    expect(store.lease?.spec?.holderIdentity).toBe('me');
    fast.add({ metadata: { namespace: 'ns', name: 'new' } });
    await until('reconcile of a new object', () => reconciled.includes('ns/new'));
    await manager.stop();
    expect(store.lease?.spec?.holderIdentity).toBe('');
    expect(fast.stopped).toBe(true);
    expect(manager.ready().ok).toBe(false);
  });

  it('stops every controller at once when leadership is lost', async () => {
    const { client, manager, fast, slowGate, reconciled, lost } = setup();
    slowGate.resolve();
    await manager.start();
    await until('leading', () => manager.isLeader());
    fast.add({ metadata: { namespace: 'ns', name: 'a' } });
    await until('reconcile', () => reconciled.includes('ns/a'));
    client.down = true;
    await until('leadership lost', () => lost() === 1, 3_000);
    expect(manager.isLeader()).toBe(false);
    fast.add({ metadata: { namespace: 'ns', name: 'b' } });
    await new Promise((r) => setTimeout(r, 50));
    expect(reconciled).not.toContain('ns/b');
    client.down = false;
    await manager.stop();
  });

  it('a standby replica fills its caches but holds no work queue until it leads', async () => {
    const { store, manager, fast, slowGate, reconciled, controller } = setup();
    // Another replica holds a fresh lease.
    const now = new Date().toISOString().replace('Z', '000Z');
    store.write({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `mgr-lease-${n}`, namespace: 'ns' },
      spec: { holderIdentity: 'other', leaseDurationSeconds: 60, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    });
    fast.objects.push({ metadata: { namespace: 'ns', name: 'pre' } });
    slowGate.resolve();
    await manager.start();
    expect(manager.ready().ok).toBe(true);
    for (let i = 0; i < 20; i++) fast.add({ metadata: { namespace: 'ns', name: `while-standby-${i}` } });
    await new Promise((r) => setTimeout(r, 300));
    expect(manager.isLeader()).toBe(false);
    expect(controller.queue).toBeUndefined();
    expect(await registry.metrics()).not.toContain(`workqueue_depth{name="${controller.name}"}`);
    expect(reconciled).toEqual([]);
    // The other replica lets go: this one leads and reconciles what it saw as standby, once each.
    store.write({ ...store.lease!, spec: { ...store.lease!.spec, holderIdentity: '' } });
    await until('leading', () => manager.isLeader(), 3_000);
    await until('the full pass', () => reconciled.length === 21);
    expect(new Set(reconciled).size).toBe(21);
    await manager.stop();
  });

  it('writes the Events of the last reconciles before stop() resolves', async () => {
    const posted: string[] = [];
    const slowApi = {
      async post<T>(_path: string, body: unknown): Promise<T> {
        await new Promise((r) => setTimeout(r, 300));
        posted.push((body as { reason: string }).reason);
        return body as T;
      },
      async patch<T>(_path: string, body: unknown): Promise<T> {
        return body as T;
      },
    };
    const events = new EventRecorder({ client: slowApi, component: 'test', logger: captureLogger().logger, instance: 'me' });
    const { manager, fast, slowGate, reconciled } = setup({
      events,
      onReconcile: (k) => events.record({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...k, uid: `uid-${k.name}` } }, 'Normal', 'Reconciled', `reconciled ${k.name}`),
    });
    slowGate.resolve();
    await manager.start();
    fast.add({ metadata: { namespace: 'ns', name: 'last' } });
    await until('the reconcile', () => reconciled.includes('ns/last'));
    expect(posted).toEqual([]);
    await manager.stop();
    expect(posted).toEqual(['Reconciled']);
  });
});
