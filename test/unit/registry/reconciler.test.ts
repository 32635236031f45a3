import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { findCondition, READY, STALLED } from '../../../src/api/conditions.js';
import type { ECRRegistryPolicyStatement } from '../../../src/api/registry-types.js';
import { FINALIZER } from '../../../src/api/types.js';
import { type AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import { registryPolicyKind } from '../../../src/registry/kinds.js';
import { RegistryReconciler } from '../../../src/registry/reconciler.js';
import { keyOfObject, PENDING } from '../../../src/registry/registry-key.js';
import type { ResourceRef } from '../../../src/runtime/kube.js';
import type { KubeObject } from '../../../src/runtime/types.js';

const ACCOUNT = '123456789012';
const logger = pino({ level: 'silent' });

function provider(namespace: string, ready = true): AWSProvider {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'AWSProvider',
    metadata: { name: 'aws', namespace, generation: 1 },
    spec: { region: 'us-east-1' },
    status: ready
      ? { accountID: ACCOUNT, conditions: [{ type: READY, status: 'True', reason: 'Authenticated', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] }
      : {},
  };
}

function statement(namespace: string, name: string, sid: string, account: string, extra: Partial<ECRRegistryPolicyStatement['spec']> = {}, created = '2026-01-01T00:00:00Z'): ECRRegistryPolicyStatement {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'ECRRegistryPolicyStatement',
    metadata: { name, namespace, generation: 1, creationTimestamp: created, finalizers: [] },
    spec: {
      providerRef: { name: 'aws' },
      sid,
      statement: JSON.stringify({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'ecr:ReplicateImage', Resource: '*' }),
      ...extra,
    },
  };
}

/** ECR's registry policy, in memory, with the calls counted. */
class FakeEcr {
  policy: string | undefined;
  calls: string[] = [];
  fail: { operation: string; error: Error } | undefined;

  async send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    const operation = command.constructor.name.replace(/Command$/, '');
    this.calls.push(operation);
    if (this.fail?.operation === operation) throw this.fail.error;
    switch (operation) {
      case 'GetRegistryPolicy':
        if (!this.policy) throw Object.assign(new Error('no policy'), { name: 'RegistryPolicyNotFoundException' });
        return { registryId: ACCOUNT, policyText: this.policy };
      case 'PutRegistryPolicy':
        if ((command.input.policyText as string).includes('ecr:DeleteRepository')) {
          throw Object.assign(new Error("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'"), { name: 'InvalidParameterException' });
        }
        this.policy = command.input.policyText as string;
        return {};
      case 'DeleteRegistryPolicy':
        this.policy = undefined;
        return {};
      default:
        throw new Error(`unexpected ${operation}`);
    }
  }
}

function world(objects: ECRRegistryPolicyStatement[], providers = [provider('a'), provider('b')]) {
  const ecr = new FakeEcr();
  const store = new Map(objects.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  const events: string[] = [];
  const reconciler = new RegistryReconciler({
    kind: registryPolicyKind,
    objects: { list: (ns?: string) => [...store.values()].filter((o) => !ns || o.metadata.namespace === ns) },
    providers: { get: (ns: string, name: string) => providers.find((p) => p.metadata.namespace === ns && p.metadata.name === name) },
    connections: { get: async () => ({ session: { ecr: ecr as never } }) },
    writer: {
      patchStatus: async <T extends KubeObject>(_ref: ResourceRef, obj: T, status: object) => {
        const current = store.get(`${obj.metadata!.namespace}/${obj.metadata!.name}`)!;
        current.status = JSON.parse(JSON.stringify(status)) as ECRRegistryPolicyStatement['status'];
        return current as unknown as T;
      },
      ensureFinalizer: async <T extends KubeObject>(_ref: ResourceRef, obj: T) => {
        const current = store.get(`${obj.metadata!.namespace}/${obj.metadata!.name}`)!;
        if (!current.metadata.finalizers?.includes(FINALIZER)) current.metadata.finalizers = [...(current.metadata.finalizers ?? []), FINALIZER];
        return current as unknown as T;
      },
      removeFinalizer: async (_ref: ResourceRef, obj: KubeObject) => {
        store.delete(`${obj.metadata!.namespace}/${obj.metadata!.name}`);
      },
    },
    events: { record: (_obj, type, reason) => events.push(`${type}:${reason}`) },
    logger,
    now: () => new Date('2026-01-02T00:00:00Z'),
  });
  const key = { namespace: ACCOUNT, name: 'us-east-1' };
  return { ecr, store, events, reconciler, key, sids: () => (ecr.policy ? (JSON.parse(ecr.policy) as { Statement: Array<{ Sid: string }> }).Statement.map((s) => s.Sid) : []) };
}

describe('RegistryReconciler', () => {
  it('twenty objects of two namespaces cost one read and one Put; every object records its part', async () => {
    const objects = Array.from({ length: 20 }, (_, i) => statement(i % 2 ? 'a' : 'b', `s${i}`, `S${i}`, '111111111111'));
    const w = world(objects);
    await w.reconciler.reconcile(w.key);
    expect(w.ecr.calls).toEqual(['GetRegistryPolicy', 'PutRegistryPolicy']);
    expect(w.sids()).toHaveLength(20);
    for (const o of w.store.values()) {
      expect(o.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1', registry: { entries: 20, foreign: 0 } });
      expect(o.status?.appliedStatement).toContain(`"Sid":"${o.spec.sid}"`);
      expect(o.metadata.finalizers).toContain(FINALIZER);
    }
    // Nothing changed: a read, no write.
    w.ecr.calls = [];
    await w.reconciler.reconcile(w.key);
    expect(w.ecr.calls).toEqual(['GetRegistryPolicy']);
  });

  it('deletion removes exactly the object\'s recorded part (Delete) or leaves it (Retain), then releases the object', async () => {
    const w = world([statement('a', 'keep', 'Keep', '1'), statement('a', 'drop', 'Drop', '2', { deletionPolicy: 'Delete' }), statement('b', 'stay', 'Stay', '3')]);
    w.ecr.policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Theirs', Effect: 'Allow', Principal: '*', Action: 'ecr:ReplicateImage', Resource: '*' }] });
    await w.reconciler.reconcile(w.key);
    expect(w.sids()).toEqual(['Theirs', 'Drop', 'Keep', 'Stay']); // same age: by namespace/name
    w.store.get('a/drop')!.metadata.deletionTimestamp = '2026-01-03T00:00:00Z';
    w.store.get('b/stay')!.metadata.deletionTimestamp = '2026-01-03T00:00:00Z';
    await w.reconciler.reconcile(w.key);
    expect(w.sids()).toEqual(['Theirs', 'Keep', 'Stay']);
    expect([...w.store.keys()]).toEqual(['a/keep']);
    // The retained statement is nobody's from now on: foreign, and kept.
    await w.reconciler.reconcile(w.key);
    expect(w.sids()).toEqual(['Theirs', 'Keep', 'Stay']);
    expect(w.store.get('a/keep')!.status?.registry).toEqual({ entries: 3, foreign: 2 });
  });

  it('a clashing Sid is Stalled naming the older object and costs no write', async () => {
    const w = world([statement('a', 'old', 'Same', '1', {}, '2026-01-01T00:00:00Z')]);
    await w.reconciler.reconcile(w.key);
    w.store.set('b/new', statement('b', 'new', 'Same', '2', {}, '2026-01-02T00:00:00Z'));
    w.ecr.calls = [];
    await w.reconciler.reconcile(w.key);
    expect(w.ecr.calls).toEqual(['GetRegistryPolicy']);
    const loser = w.store.get('b/new')!;
    expect(findCondition(loser.status?.conditions, STALLED)).toMatchObject({ status: 'True', reason: 'Conflict' });
    expect(loser.status?.message).toContain('a/old');
    expect(w.events).toContain('Warning:Conflict');
  });

  it('bad JSON never reaches AWS', async () => {
    const w = world([statement('a', 'bad', 'Bad', '1', { statement: '{"Effect": ' })]);
    await w.reconciler.reconcile(w.key);
    expect(w.ecr.calls).toEqual(['GetRegistryPolicy']);
    expect(findCondition(w.store.get('a/bad')!.status?.conditions, READY)).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });

  it('AWS refusing the Put stalls the objects whose part changed; throttling is retried', async () => {
    const w = world([statement('a', 's', 'S', '1')]);
    w.ecr.fail = { operation: 'PutRegistryPolicy', error: Object.assign(new Error('Invalid registry policy provided'), { name: 'InvalidParameterException' }) };
    await expect(w.reconciler.reconcile(w.key)).resolves.toEqual({ requeue: true });
    const obj = w.store.get('a/s')!;
    expect(findCondition(obj.status?.conditions, STALLED)).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(obj.status?.message).toContain('Invalid registry policy provided');
    expect(obj.status?.inForce).toBe(false);
    w.store.get('a/s')!.metadata.generation = 2; // a new spec is tried again
    w.ecr.fail = { operation: 'PutRegistryPolicy', error: Object.assign(new Error('slow down'), { name: 'ThrottlingException' }) };
    await expect(w.reconciler.reconcile(w.key)).rejects.toThrow('slow down');
  });

  it('objects of a provider that is not Ready wait, with no AWS call; Retain lets them go at once', async () => {
    const providers = [provider('a', false)];
    const waiting = statement('a', 'w', 'W', '1');
    const leaving = { ...statement('a', 'l', 'L', '1'), metadata: { ...statement('a', 'l', 'L', '1').metadata, deletionTimestamp: '2026-01-03T00:00:00Z', finalizers: [FINALIZER] } };
    const w = world([waiting, leaving], providers);
    const key = keyOfObject(waiting, { get: (ns, name) => providers.find((p) => p.metadata.namespace === ns && p.metadata.name === name) });
    expect(key.namespace).toBe(PENDING);
    await w.reconciler.reconcile(key);
    expect(w.ecr.calls).toEqual([]);
    expect(findCondition(w.store.get('a/w')!.status?.conditions, READY)).toMatchObject({ reason: 'ProviderNotReady' });
    expect(w.store.has('a/l')).toBe(false);
  });

  it('one statement that AWS refuses does not keep the others out: it is tried alone, rejected, and not sent again', async () => {
    const bad = statement('b', 'bad', 'Bad', '2', { statement: JSON.stringify({ Effect: 'Allow', Principal: '*', Action: 'ecr:DeleteRepository', Resource: '*' }) }, '2026-01-01T00:00:00Z');
    const w = world([bad, statement('a', 'good1', 'Good1', '1', {}, '2026-01-02T00:00:00Z'), statement('a', 'good2', 'Good2', '1', {}, '2026-01-03T00:00:00Z')]);
    for (let pass = 0; pass < 4; pass++) await w.reconciler.reconcile(w.key);
    expect(w.sids()).toEqual(['Good1', 'Good2']);
    const rejected = w.store.get('b/bad')!;
    expect(rejected.status).toMatchObject({ inForce: false, rejectedGeneration: 1 });
    expect(findCondition(rejected.status?.conditions, STALLED)).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(rejected.status?.message).toContain('Invalid registry policy provided');
    expect(w.store.get('a/good1')!.status?.inForce).toBe(true);
    // Settled: the refused spec is not sent again.
    w.ecr.calls = [];
    await w.reconciler.reconcile(w.key);
    expect(w.ecr.calls).toEqual(['GetRegistryPolicy']);
    // A new spec is tried again.
    rejected.metadata.generation = 2;
    rejected.spec.statement = JSON.stringify({ Effect: 'Allow', Principal: '*', Action: 'ecr:ReplicateImage', Resource: '*' });
    await w.reconciler.reconcile(w.key);
    expect(w.sids()).toEqual(['Good1', 'Good2', 'Bad']);
    expect(w.store.get('b/bad')!.status).toMatchObject({ inForce: true });
    expect(w.store.get('b/bad')!.status?.rejectedGeneration).toBeUndefined();
  });
});
