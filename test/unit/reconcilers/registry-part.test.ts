import { beforeEach, describe, expect, it } from 'vitest';
import { findCondition, READY, STALLED } from '../../../src/api/conditions.js';
import type { RegistryPartObject } from '../../../src/api/registry-part.js';
import { ADOPT_ANNOTATION, FINALIZER } from '../../../src/api/types.js';
import { RegistryDocuments } from '../../../src/aws/registry-documents.js';
import { type AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import { registryPolicyStatementPart } from '../../../src/kinds/ecrregistrypolicystatement/part.js';
import type { ECRRegistryPolicyStatement } from '../../../src/kinds/ecrregistrypolicystatement/types.js';
import { REGISTRY_POLICY_STATEMENT_REF } from '../../../src/kinds/ecrregistrypolicystatement/types.js';
import { scanningConfigurationPart } from '../../../src/kinds/ecrregistryscanningconfiguration/part.js';
import { REGISTRY_SCANNING_CONFIGURATION_REF, type ECRRegistryScanningConfiguration } from '../../../src/kinds/ecrregistryscanningconfiguration/types.js';
import { replicationRulePart } from '../../../src/kinds/ecrreplicationrule/part.js';
import { REPLICATION_RULE_REF, type ECRReplicationRule } from '../../../src/kinds/ecrreplicationrule/types.js';
import type { Connection } from '../../../src/providers/connections.js';
import { registryPartReconciler, type PartKind } from '../../../src/reconcilers/registry-part.js';
import type { ResourceRef } from '../../../src/runtime/kube.js';
import { FakeApiServer, FakeEvents, FakeWriter, silentLogger, Store } from './fakes.js';

const ACCOUNT = '123456789012';
const OUTSIDER = '999999999999';
const API = 'aws-infra-operator.runner.codes/v1alpha1';

/**
 * One registry's three documents in memory, as ECR keeps them, with every call recorded under the
 * identity (the provider) whose client made it. Calls take a turn of the event loop, so that two
 * reconciles can interleave as they would against AWS.
 */
class FakeRegistry {
  policy: string | undefined;
  rules: Array<{ destinations: Array<{ region: string; registryId: string }>; repositoryFilters?: Array<{ filter: string; filterType: string }> }> = [];
  scanning: { scanType: string; rules: unknown[] } = { scanType: 'BASIC', rules: [] };
  calls: string[] = [];

  client(signer: string) {
    return {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> => {
        const operation = command.constructor.name.replace(/Command$/, '');
        this.calls.push(`${operation}@${signer}`);
        await new Promise((r) => setTimeout(r, 1));
        {
          switch (operation) {
            case 'GetRegistryPolicy':
              if (!this.policy) throw Object.assign(new Error('no policy'), { name: 'RegistryPolicyNotFoundException' });
              return { registryId: ACCOUNT, policyText: this.policy };
            case 'PutRegistryPolicy':
              this.policy = command.input.policyText as string;
              return {};
            case 'DeleteRegistryPolicy':
              this.policy = undefined;
              return {};
            case 'DescribeRegistry':
              return { registryId: ACCOUNT, replicationConfiguration: { rules: this.rules } };
            case 'PutReplicationConfiguration':
              this.rules = (command.input.replicationConfiguration as { rules: FakeRegistry['rules'] }).rules;
              return {};
            case 'GetRegistryScanningConfiguration':
              return { registryId: ACCOUNT, scanningConfiguration: this.scanning };
            case 'PutRegistryScanningConfiguration':
              this.scanning = { scanType: command.input.scanType as string, rules: command.input.rules as unknown[] };
              return {};
            default:
              throw new Error(`unexpected ${operation}`);
          }
        }
      },
    };
  }

  sids(): string[] {
    return this.policy ? (JSON.parse(this.policy) as { Statement: Array<{ Sid?: string }> }).Statement.map((s) => s.Sid ?? '') : [];
  }
}

function provider(namespace: string, name = 'aws'): AWSProvider {
  return {
    apiVersion: API,
    kind: 'AWSProvider',
    metadata: { name, namespace, generation: 1 },
    spec: { region: 'us-east-1' },
    status: {
      accountID: ACCOUNT,
      observedGeneration: 1,
      conditions: [{ type: READY, status: 'True', reason: 'Authenticated', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
    },
  };
}

function statement(name: string, sid: string, opts: { namespace?: string; principal?: string; deletionPolicy?: 'Delete' | 'Retain' | 'Orphan'; adopt?: boolean } = {}): ECRRegistryPolicyStatement {
  return {
    apiVersion: API,
    kind: 'ECRRegistryPolicyStatement',
    metadata: { name, namespace: '', generation: 1, ...(opts.adopt ? { annotations: { [ADOPT_ANNOTATION]: 'true' } } : {}) },
    spec: {
      providerRef: { namespace: opts.namespace ?? 'team-a', name: 'aws' },
      sid,
      statement: JSON.stringify({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${opts.principal ?? '111111111111'}:root` }, Action: 'ecr:ReplicateImage', Resource: '*' }),
      ...(opts.deletionPolicy ? { deletionPolicy: opts.deletionPolicy } : {}),
    },
  };
}

let registry: FakeRegistry;
let server: FakeApiServer;
let writer: FakeWriter;
let events: FakeEvents;
let providers: Store<AWSProvider>;
let documents: RegistryDocuments;
let connectionsAsked: string[];

beforeEach(() => {
  registry = new FakeRegistry();
  server = new FakeApiServer();
  writer = new FakeWriter(server);
  events = new FakeEvents();
  providers = new Store();
  providers.put(provider('team-a'));
  providers.put(provider('team-b'));
  documents = new RegistryDocuments({ sharedReadMaxAgeMs: 60_000 });
  connectionsAsked = [];
});

function world<T extends RegistryPartObject>(kind: PartKind<T, unknown, unknown>, ref: ResourceRef) {
  const objects = new Store<T>(ref, server);
  const reconciler = registryPartReconciler(kind, {
    objects,
    providers,
    documents,
    writer,
    events,
    logger: silentLogger,
    connections: {
      get: async (p: AWSProvider): Promise<Connection> => {
        const signer = `${p.metadata.namespace}/${p.metadata.name}`;
        connectionsAsked.push(signer);
        return { session: { ecr: registry.client(signer) } as unknown as Connection['session'], ecr: {} as Connection['ecr'], fingerprint: signer, identity: signer };
      },
    },
  });
  const reconcile = async (name: string) => {
    const result = await reconciler.reconcile({ namespace: '', name });
    objects.watch();
    return result;
  };
  /** Reconciles until the object stops asking for an immediate retry (create then update). */
  const settle = async (name: string) => {
    for (let i = 0; i < 4; i++) await reconcile(name).catch(() => undefined);
  };
  const ready = (name: string) => findCondition(objects.get('', name)?.status?.conditions, READY);
  return { objects, reconcile, settle, ready };
}

const policyWorld = () => world(registryPolicyStatementPart as unknown as PartKind<ECRRegistryPolicyStatement, unknown, unknown>, REGISTRY_POLICY_STATEMENT_REF);

describe('account-wide parts act with their own identity', () => {
  it("each object's Put is signed by its own provider, never another object's", async () => {
    const w = policyWorld();
    w.objects.put(statement('old', 'FromA', { namespace: 'team-a' }));
    w.objects.put(statement('new', 'FromB', { namespace: 'team-b' }));
    await w.settle('old');
    await w.settle('new');
    expect(registry.sids().sort()).toEqual(['FromA', 'FromB']);
    const puts = registry.calls.filter((c) => c.startsWith('PutRegistryPolicy'));
    expect(puts).toEqual(['PutRegistryPolicy@team-a/aws', 'PutRegistryPolicy@team-b/aws']);
    // Every call of the object in team-b, reads included, went with team-b's identity.
    expect(connectionsAsked.filter((c) => c !== 'team-a/aws').every((c) => c === 'team-b/aws')).toBe(true);
    expect(w.ready('new')?.status).toBe('True');
  });

  it('a statement written outside Kubernetes is never changed without the adopt annotation', async () => {
    const foreign = { Version: '2012-10-17', Statement: [{ Sid: 'Shared', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::222222222222:root` }, Action: 'ecr:ReplicateImage', Resource: '*' }] };
    registry.policy = JSON.stringify(foreign);
    const before = registry.policy;
    const w = policyWorld();
    w.objects.put(statement('grab', 'Shared', { principal: OUTSIDER }));
    await w.settle('grab');
    expect(registry.policy).toBe(before);
    expect(w.ready('grab')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    expect(findCondition(w.objects.get('', 'grab')?.status?.conditions, STALLED)?.status).toBe('True');
    expect(registry.calls.some((c) => c.startsWith('Put'))).toBe(false);

    w.objects.put({ ...statement('grab', 'Shared', { principal: OUTSIDER, adopt: true }), status: w.objects.get('', 'grab')!.status! });
    await w.settle('grab');
    expect(w.ready('grab')?.status).toBe('True');
    expect(registry.policy).toContain(OUTSIDER);
    expect(events.events.map((e) => e.reason)).toContain('Adopted');
  });

  it("a Sid another object applied is a Conflict naming it, even with the adopt annotation; the other's part stays", async () => {
    const w = policyWorld();
    w.objects.put(statement('first', 'Same'));
    await w.settle('first');
    const before = registry.policy;
    w.objects.put(statement('second', 'Same', { principal: OUTSIDER, adopt: true }));
    await w.settle('second');
    expect(registry.policy).toBe(before);
    expect(w.ready('second')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(w.ready('second')?.message).toContain('ECRRegistryPolicyStatement first');
    // Where the clash is shows in the Registry and Region columns too.
    expect(w.objects.get('', 'second')?.status).toMatchObject({ registryId: ACCOUNT, region: 'us-east-1' });
  });

  it('a crash between the Put and the status write leaves a part the object still knows as its own', async () => {
    const w = policyWorld();
    w.objects.put(statement('s', 'Mine'));
    // The first pass records the pending statement, then writes; the final status write fails.
    let failing = false;
    const original = writer.patchStatus.bind(writer);
    writer.patchStatus = async (ref, obj, status) => {
      if (failing) throw new Error('API server unavailable');
      const written = await original(ref, obj, status);
      if ((written?.status as { pendingStatement?: string } | undefined)?.pendingStatement) failing = true;
      return written;
    };
    await w.reconcile('s').catch(() => undefined);
    expect(registry.sids()).toEqual(['Mine']);
    writer.patchStatus = original;
    await w.settle('s');
    expect(w.ready('s')).toMatchObject({ status: 'True' });
    expect(w.objects.get('', 's')?.status?.appliedStatement).toContain('Mine');
    expect(w.objects.get('', 's')?.status?.pendingStatement).toBeUndefined();
  });

  it('two workers never hold one registry: concurrent parts are written one after the other and none is lost', async () => {
    let holding = 0;
    let mostHolding = 0;
    const withLock = documents.withLock.bind(documents);
    documents.withLock = async (key, fn) => withLock(key, async () => {
      holding++;
      mostHolding = Math.max(mostHolding, holding);
      try {
        return await fn();
      } finally {
        holding--;
      }
    });
    const w = policyWorld();
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
    for (const [i, n] of names.entries()) w.objects.put(statement(n, `S${i}`, { namespace: i % 2 ? 'team-a' : 'team-b' }));
    // Create pass (records pending) for all, then every update at once.
    await Promise.all(names.map((n) => w.reconcile(n)));
    await Promise.all(names.map((n) => w.reconcile(n)));
    await Promise.all(names.map((n) => w.settle(n)));
    expect(registry.sids().sort()).toEqual(names.map((_, i) => `S${i}`).sort());
    expect(mostHolding).toBe(1);
    expect(registry.calls.filter((c) => c.startsWith('PutRegistryPolicy'))).toHaveLength(8);
  });

  it('adding one part to a registry of 60 objects writes the status of that object only', async () => {
    const w = policyWorld();
    for (let i = 0; i < 60; i++) {
      w.objects.put(statement(`s${i}`, `S${i}`));
      await w.settle(`s${i}`);
    }
    writer.statuses = [];
    w.objects.put(statement('s60', 'S60'));
    await w.settle('s60');
    const written = new Set(writer.statuses.map((s) => s.name));
    expect([...written]).toEqual(['s60']);
    expect(registry.sids()).toHaveLength(61);
  });
});

describe('failures stay with the object that has them', () => {
  it('a statement nested 4,000 deep stalls that object only, naming the limit; the others stay Ready and in AWS', async () => {
    const w = policyWorld();
    w.objects.put(statement('good', 'Good'));
    await w.settle('good');
    const deep = statement('deep', 'Deep');
    deep.spec.statement = `${'['.repeat(4000)}${']'.repeat(4000)}`;
    w.objects.put(deep);
    const started = performance.now();
    await w.settle('deep');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(w.ready('deep')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(w.ready('deep')?.message).toContain('deeper than 32 levels');
    await w.settle('good');
    expect(w.ready('good')?.status).toBe('True');
    expect(registry.sids()).toEqual(['Good']);
  });

  it('an unreadable live registry policy stalls the statements only; a scanning configuration of the same registry goes ahead', async () => {
    registry.policy = `{"Statement":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const policies = policyWorld();
    policies.objects.put(statement('s', 'S'));
    await policies.settle('s');
    expect(policies.ready('s')).toMatchObject({ status: 'False', reason: 'InvalidRegistryDocument' });
    const scans = world(scanningConfigurationPart as unknown as PartKind<ECRRegistryScanningConfiguration, unknown, unknown>, REGISTRY_SCANNING_CONFIGURATION_REF);
    scans.objects.put({
      apiVersion: API, kind: 'ECRRegistryScanningConfiguration', metadata: { name: 'scan', namespace: '', generation: 1 },
      spec: { providerRef: { namespace: 'team-a', name: 'aws' }, scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] },
    });
    await scans.settle('scan');
    expect(scans.ready('scan')?.status).toBe('True');
    expect(registry.scanning.scanType).toBe('ENHANCED');
  });
});

describe('deletion', () => {
  async function applied(deletionPolicy: 'Delete' | 'Retain' | 'Orphan') {
    const w = policyWorld();
    w.objects.put(statement('s', 'S', { deletionPolicy }));
    await w.settle('s');
    expect(registry.sids()).toEqual(['S']);
    const current = w.objects.get('', 's')!;
    expect(current.metadata.finalizers).toContain(FINALIZER);
    w.objects.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } });
    return w;
  }

  it('Retain and Orphan need no AWS call, even with the provider gone', async () => {
    for (const policy of ['Retain', 'Orphan'] as const) {
      const w = await applied(policy);
      providers.items.clear();
      registry.calls = [];
      await w.reconcile('s');
      expect(registry.calls).toEqual([]);
      expect(w.objects.onServer('', 's')).toBeUndefined();
      expect(registry.sids()).toEqual(['S']);
      providers.put(provider('team-a'));
      providers.put(provider('team-b'));
    }
  });

  it('Delete with the provider gone is Stalled saying so; switching to Retain releases it at once', async () => {
    const w = await applied('Delete');
    providers.items.clear();
    await w.reconcile('s');
    expect(w.ready('s')).toMatchObject({ status: 'False', reason: 'ProviderNotReady' });
    expect(w.ready('s')?.message).toContain('deletionPolicy to Retain');
    expect(findCondition(w.objects.get('', 's')?.status?.conditions, STALLED)?.status).toBe('True');
    const current = w.objects.get('', 's')!;
    w.objects.put({ ...current, spec: { ...current.spec, deletionPolicy: 'Retain' } });
    registry.calls = [];
    await w.reconcile('s');
    expect(registry.calls).toEqual([]);
    expect(w.objects.onServer('', 's')).toBeUndefined();
  });

  it('Delete removes exactly its statement, signed by its own provider', async () => {
    const w = await applied('Delete');
    registry.policy = JSON.stringify({ Version: '2012-10-17', Statement: [...(JSON.parse(registry.policy!) as { Statement: unknown[] }).Statement, { Sid: 'Other', Effect: 'Allow', Principal: '*', Action: 'ecr:*' }] });
    await w.reconcile('s');
    expect(registry.sids()).toEqual(['Other']);
    expect(registry.calls.at(-1)).toBe('PutRegistryPolicy@team-a/aws');
  });
});

describe('replication rules and scanning', () => {
  it('an identical replication rule made outside Kubernetes is not taken over; with adopt it is', async () => {
    registry.rules = [{ destinations: [{ region: 'eu-west-1', registryId: ACCOUNT }] }];
    const w = world(replicationRulePart as unknown as PartKind<ECRReplicationRule, unknown, unknown>, REPLICATION_RULE_REF);
    const rule: ECRReplicationRule = {
      apiVersion: API, kind: 'ECRReplicationRule', metadata: { name: 'r', namespace: '', generation: 1 },
      spec: { providerRef: { namespace: 'team-a', name: 'aws' }, destinations: [{ region: 'eu-west-1' }], deletionPolicy: 'Delete' },
    };
    w.objects.put(rule);
    await w.settle('r');
    expect(w.ready('r')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    w.objects.put({ ...rule, metadata: { ...rule.metadata, annotations: { [ADOPT_ANNOTATION]: 'true' } }, status: w.objects.get('', 'r')!.status! });
    await w.settle('r');
    expect(w.ready('r')?.status).toBe('True');
    expect(registry.rules).toHaveLength(1);
  });

  it('a scanning configuration set outside Kubernetes is not replaced; a registry at its default is configured', async () => {
    registry.scanning = { scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] };
    const w = world(scanningConfigurationPart as unknown as PartKind<ECRRegistryScanningConfiguration, unknown, unknown>, REGISTRY_SCANNING_CONFIGURATION_REF);
    w.objects.put({
      apiVersion: API, kind: 'ECRRegistryScanningConfiguration', metadata: { name: 'basic', namespace: '', generation: 1 },
      spec: { providerRef: { namespace: 'team-a', name: 'aws' }, scanType: 'BASIC', rules: [] },
    });
    await w.settle('basic');
    expect(registry.scanning.scanType).toBe('ENHANCED');
    expect(w.ready('basic')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    // The message names what AWS holds, not what the object asks for.
    expect(w.ready('basic')?.message).toContain('scanning ENHANCED (CONTINUOUS_SCAN) already exists');

    registry.scanning = { scanType: 'BASIC', rules: [] };
    const current = w.objects.get('', 'basic')!;
    w.objects.put({ ...current, metadata: { ...current.metadata, generation: 2 }, spec: { ...current.spec, rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: 'prod', filterType: 'WILDCARD' }] }] } });
    await w.settle('basic');
    expect(w.ready('basic')?.status).toBe('True');
    expect(registry.scanning.rules).toHaveLength(1);
  });

  it('a second scanning object is a Conflict even when the first one declared the default (BASIC without rules)', async () => {
    const w = world(scanningConfigurationPart as unknown as PartKind<ECRRegistryScanningConfiguration, unknown, unknown>, REGISTRY_SCANNING_CONFIGURATION_REF);
    const scanning = (name: string, scanType: 'BASIC' | 'ENHANCED'): ECRRegistryScanningConfiguration => ({
      apiVersion: API, kind: 'ECRRegistryScanningConfiguration', metadata: { name, namespace: '', generation: 1 },
      spec: { providerRef: { namespace: 'team-a', name: 'aws' }, scanType, rules: [] },
    });
    w.objects.put(scanning('first', 'BASIC'));
    await w.settle('first');
    expect(w.ready('first')?.status).toBe('True');
    w.objects.put(scanning('second', 'ENHANCED'));
    await w.settle('second');
    expect(w.ready('second')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(registry.scanning.scanType).toBe('BASIC');
  });

  it('an unchanged part costs no write and no status write on its periodic check', async () => {
    const w = policyWorld();
    w.objects.put(statement('s', 'S'));
    await w.settle('s');
    registry.calls = [];
    writer.statuses = [];
    await w.reconcile('s');
    expect(registry.calls.filter((c) => !c.startsWith('Get'))).toEqual([]);
    expect(writer.statuses).toEqual([]);
  });
});
