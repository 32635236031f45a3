import { describe, expect, it } from 'vitest';
import { Controller } from '../../../src/runtime/controller.js';
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
function setup() {
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
    onLeadershipLost: () => lost++,
  });
  manager.addInformer(asInformer(fast));
  manager.addInformer(asInformer(slow));
  manager.addController(controller);
  return { store, client, manager, fast, slow, slowGate, reconciled, controller, lost: () => lost };
}

describe('Manager', () => {
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
});
