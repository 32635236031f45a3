import { beforeEach, describe, expect, it } from 'vitest';
import { findCondition, READY, STALLED } from '../../../src/api/conditions.js';
import { matchesWithin } from '../../../src/api/patterns.js';
import type { RegistryPartObject } from '../../../src/api/registry-part.js';
import { ADOPT_ANNOTATION, FINALIZER, type DeletionPolicy } from '../../../src/api/types.js';
import { RegistryDocuments } from '../../../src/aws/registry-documents.js';
import type { AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import { accountSettingPart } from '../../../src/kinds/ecraccountsetting/part.js';
import { ACCOUNT_SETTING_REF, type AccountSettingName, type ECRAccountSetting } from '../../../src/kinds/ecraccountsetting/types.js';
import { validateAccountSettingSpec } from '../../../src/kinds/ecraccountsetting/validation.js';
import { pullTimeUpdateExclusionPart } from '../../../src/kinds/ecrpulltimeupdateexclusion/part.js';
import { PULL_TIME_UPDATE_EXCLUSION_REF, type ECRPullTimeUpdateExclusion } from '../../../src/kinds/ecrpulltimeupdateexclusion/types.js';
import { PRINCIPAL_ARN_LENGTH, PRINCIPAL_ARN_PATTERN, validateExclusionSpec } from '../../../src/kinds/ecrpulltimeupdateexclusion/validation.js';
import { signingRulePart } from '../../../src/kinds/ecrsigningrule/part.js';
import { SIGNING_RULE_REF, type ECRSigningRule, type SigningRepositoryFilter } from '../../../src/kinds/ecrsigningrule/types.js';
import { SIGNING_FILTER_LENGTH, SIGNING_FILTER_PATTERN, SIGNING_PROFILE_ARN_LENGTH, SIGNING_PROFILE_ARN_PATTERN, validateSigningSpec } from '../../../src/kinds/ecrsigningrule/validation.js';
import type { Connection } from '../../../src/providers/connections.js';
import { registryPartReconciler, type PartKind } from '../../../src/reconcilers/registry-part.js';
import type { ResourceRef } from '../../../src/runtime/kube.js';
import { RegistrySettingsEmulation } from '../../e2e/env/registry-settings-emulation.js';
import { FakeApiServer, FakeEvents, FakeWriter, silentLogger, Store } from '../reconcilers/fakes.js';

/**
 * ECRSigningRule, ECRAccountSetting and ECRPullTimeUpdateExclusion on the generic account-wide
 * reconciler, against the local AWS layer's emulation of their ECR operations (driven through the
 * SDK's commands, as the operator sends them), with every call recorded under the provider that
 * signed it. Also: their validators name the field, answer adversarial input quickly, and their
 * patterns accept exactly AWS's languages.
 */

const ACCOUNT = '123456789012';
const API = 'aws-infra-operator.runner.codes/v1alpha1';
const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/MyProfile';
const OTHER_PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/Other_Profile';
const SCANNER = 'arn:aws:iam::123456789012:role/Scanner';

/** The emulation as an ECR client: an SDK command in, its answer (or the error the SDK would throw) out. */
class EmulatedEcr {
  readonly emulation = new RegistrySettingsEmulation();
  calls: string[] = [];

  client(signer: string) {
    return {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> => {
        const operation = command.constructor.name.replace(/Command$/, '');
        this.calls.push(`${operation}@${signer}`);
        await new Promise((r) => setTimeout(r, 1));
        return this.direct(operation, command.input);
      },
    };
  }

  /** A call as awscli makes it: someone outside Kubernetes. */
  direct(operation: string, input: Record<string, unknown>): Record<string, unknown> {
    const answer = this.emulation.call(operation as Parameters<RegistrySettingsEmulation['call']>[0], JSON.parse(JSON.stringify(input)) as Record<string, unknown>, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    if (answer.status !== 200) throw Object.assign(new Error(String(answer.body.message)), { name: answer.errorType, $metadata: { httpStatusCode: answer.status } });
    return answer.body;
  }

  rules(): unknown[] {
    try {
      return (this.direct('GetSigningConfiguration', {}).signingConfiguration as { rules: unknown[] }).rules;
    } catch {
      return [];
    }
  }

  setting(name: AccountSettingName): string {
    return this.direct('GetAccountSetting', { name }).value as string;
  }

  exclusions(): string[] {
    return this.direct('ListPullTimeUpdateExclusions', {}).pullTimeUpdateExclusions as string[];
  }

  writes(): string[] {
    return this.calls.filter((c) => /^(Put|Delete|Register|Deregister)/.test(c));
  }
}

function provider(namespace: string): AWSProvider {
  return {
    apiVersion: API,
    kind: 'AWSProvider',
    metadata: { name: 'aws', namespace, generation: 1 },
    spec: { region: 'us-east-1' },
    status: {
      accountID: ACCOUNT,
      observedGeneration: 1,
      conditions: [{ type: READY, status: 'True', reason: 'Authenticated', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
    },
  };
}

interface Opts {
  namespace?: string;
  deletionPolicy?: DeletionPolicy;
  adopt?: boolean;
}

function meta(name: string, opts: Opts) {
  return { name, namespace: '', generation: 1, ...(opts.adopt ? { annotations: { [ADOPT_ANNOTATION]: 'true' } } : {}) };
}

function partSpec(opts: Opts) {
  return { providerRef: { namespace: opts.namespace ?? 'team-a', name: 'aws' }, ...(opts.deletionPolicy ? { deletionPolicy: opts.deletionPolicy } : {}) };
}

const signingRule = (name: string, profile: string, filters: string[] | undefined, opts: Opts = {}): ECRSigningRule => ({
  apiVersion: API,
  kind: 'ECRSigningRule',
  metadata: meta(name, opts),
  spec: { ...partSpec(opts), signingProfileArn: profile, ...(filters ? { repositoryFilters: filters.map((filter): SigningRepositoryFilter => ({ filter, filterType: 'WILDCARD_MATCH' })) } : {}) },
});

const accountSetting = (name: string, setting: AccountSettingName, value: string, opts: Opts = {}): ECRAccountSetting => ({
  apiVersion: API,
  kind: 'ECRAccountSetting',
  metadata: meta(name, opts),
  spec: { ...partSpec(opts), name: setting, value },
});

const exclusion = (name: string, principalArn: string, opts: Opts = {}): ECRPullTimeUpdateExclusion => ({
  apiVersion: API,
  kind: 'ECRPullTimeUpdateExclusion',
  metadata: meta(name, opts),
  spec: { ...partSpec(opts), principalArn },
});

let ecr: EmulatedEcr;
let server: FakeApiServer;
let events: FakeEvents;
let providers: Store<AWSProvider>;
let documents: RegistryDocuments;

beforeEach(() => {
  ecr = new EmulatedEcr();
  server = new FakeApiServer();
  events = new FakeEvents();
  providers = new Store();
  providers.put(provider('team-a'));
  providers.put(provider('team-b'));
  documents = new RegistryDocuments({ sharedReadMaxAgeMs: 60_000 });
});

function world<T extends RegistryPartObject>(kind: PartKind<T, unknown, unknown>, ref: ResourceRef) {
  const objects = new Store<T>(ref, server);
  const reconciler = registryPartReconciler(kind, {
    objects,
    providers,
    documents,
    writer: new FakeWriter(server),
    events,
    logger: silentLogger,
    connections: {
      get: async (p: AWSProvider): Promise<Connection> => {
        const signer = `${p.metadata.namespace}/${p.metadata.name}`;
        return { session: { ecr: ecr.client(signer) } as unknown as Connection['session'], ecr: {} as Connection['ecr'], fingerprint: signer, identity: signer };
      },
    },
  });
  const reconcile = async (name: string) => {
    const result = await reconciler.reconcile({ namespace: '', name });
    objects.watch();
    return result;
  };
  const settle = async (name: string) => {
    for (let i = 0; i < 4; i++) await reconcile(name).catch(() => undefined);
  };
  const ready = (name: string) => findCondition(objects.get('', name)?.status?.conditions, READY);
  const stalled = (name: string) => findCondition(objects.get('', name)?.status?.conditions, STALLED);
  /** Marks the object deleted and reconciles it. */
  const remove = async (name: string) => {
    const current = objects.get('', name)!;
    expect(current.metadata.finalizers).toContain(FINALIZER);
    objects.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } });
    await reconcile(name);
    return objects.onServer('', name);
  };
  /** A spec change by the user, on the object as the cache has it. */
  const edit = (name: string, change: (o: T) => T) => {
    const current = objects.get('', name)!;
    const next = change(structuredClone(current));
    objects.put({ ...next, metadata: { ...next.metadata, generation: (current.metadata.generation ?? 1) + 1 } });
  };
  return { objects, reconcile, settle, ready, stalled, remove, edit };
}

const signingWorld = () => world(signingRulePart as unknown as PartKind<ECRSigningRule, unknown, unknown>, SIGNING_RULE_REF);
const settingWorld = () => world(accountSettingPart as unknown as PartKind<ECRAccountSetting, unknown, unknown>, ACCOUNT_SETTING_REF);
const exclusionWorld = () => world(pullTimeUpdateExclusionPart as unknown as PartKind<ECRPullTimeUpdateExclusion, unknown, unknown>, PULL_TIME_UPDATE_EXCLUSION_REF);

describe('ECRSigningRule', () => {
  it('merges its rule into the configuration, keeps others\' rules, replaces its own on change and removes it on Delete', async () => {
    ecr.direct('PutSigningConfiguration', { signingConfiguration: { rules: [{ signingProfileArn: OTHER_PROFILE }] } });
    const w = signingWorld();
    w.objects.put(signingRule('prod', PROFILE, ['prod/*'], { deletionPolicy: 'Delete' }));
    await w.settle('prod');
    expect(w.ready('prod')?.status).toBe('True');
    expect(ecr.rules()).toEqual([{ signingProfileArn: OTHER_PROFILE }, { signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }] }]);
    expect(w.objects.get('', 'prod')?.status).toMatchObject({ rules: 2, inForce: true, appliedRule: { signingProfileArn: PROFILE }, registryId: ACCOUNT });
    expect(ecr.writes()).toEqual(['PutSigningConfiguration@team-a/aws']);

    // A change replaces exactly this object's rule, in its place.
    w.edit('prod', (o) => ({ ...o, spec: { ...o.spec, repositoryFilters: [{ filter: '*prod*', filterType: 'WILDCARD_MATCH' }] } }));
    await w.settle('prod');
    expect(ecr.rules()).toEqual([{ signingProfileArn: OTHER_PROFILE }, { signingProfileArn: PROFILE, repositoryFilters: [{ filter: '*prod*', filterType: 'WILDCARD_MATCH' }] }]);

    // Drift: the rule removed outside Kubernetes comes back on a fresh read.
    ecr.direct('PutSigningConfiguration', { signingConfiguration: { rules: [{ signingProfileArn: OTHER_PROFILE }] } });
    w.edit('prod', (o) => ({ ...o, metadata: { ...o.metadata, annotations: { 'force-sync': '1' } }, spec: o.spec }));
    await w.settle('prod');
    expect(ecr.rules()).toHaveLength(2);

    expect(await w.remove('prod')).toBeUndefined();
    expect(ecr.rules()).toEqual([{ signingProfileArn: OTHER_PROFILE }]);
  });

  it('the last rule\'s removal deletes the signing configuration', async () => {
    const w = signingWorld();
    w.objects.put(signingRule('only', PROFILE, undefined, { deletionPolicy: 'Delete' }));
    await w.settle('only');
    expect(ecr.rules()).toEqual([{ signingProfileArn: PROFILE }]);
    await w.remove('only');
    expect(() => ecr.direct('GetSigningConfiguration', {})).toThrow(/signing configuration was not found/);
    expect(ecr.writes()).toEqual(['PutSigningConfiguration@team-a/aws', 'DeleteSigningConfiguration@team-a/aws']);
  });

  it('a rule written outside Kubernetes is not taken over without the adopt annotation; another object\'s rule is a Conflict', async () => {
    ecr.direct('PutSigningConfiguration', { signingConfiguration: { rules: [{ signingProfileArn: PROFILE }] } });
    const w = signingWorld();
    w.objects.put(signingRule('grab', PROFILE, undefined));
    await w.settle('grab');
    expect(w.ready('grab')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    expect(w.stalled('grab')?.status).toBe('True');
    expect(ecr.writes()).toEqual([]);
    w.objects.put({ ...signingRule('grab', PROFILE, undefined, { adopt: true }), status: w.objects.get('', 'grab')!.status! });
    await w.settle('grab');
    expect(w.ready('grab')?.status).toBe('True');
    expect(events.events.map((e) => e.reason)).toContain('Adopted');

    w.objects.put(signingRule('second', PROFILE, undefined, { adopt: true, namespace: 'team-b' }));
    await w.settle('second');
    expect(w.ready('second')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(w.ready('second')?.message).toContain('ECRSigningRule grab');
  });

  it('an 11th rule is LimitExceeded before any write; others\' rules count', async () => {
    const rules = Array.from({ length: 10 }, (_, i) => ({ signingProfileArn: `${PROFILE}${i}` }));
    ecr.direct('PutSigningConfiguration', { signingConfiguration: { rules } });
    const w = signingWorld();
    w.objects.put(signingRule('eleventh', OTHER_PROFILE, undefined));
    await w.settle('eleventh');
    expect(w.ready('eleventh')).toMatchObject({ status: 'False', reason: 'LimitExceeded' });
    expect(w.ready('eleventh')?.message).toContain('at most 10');
    expect(ecr.writes()).toEqual([]);
  });
});

describe('ECRAccountSetting', () => {
  it('sets a setting that is at its default, reverts drift, and puts the default back on Delete', async () => {
    const w = settingWorld();
    w.objects.put(accountSetting('blob', 'BLOB_MOUNTING', 'ENABLED', { deletionPolicy: 'Delete' }));
    await w.settle('blob');
    expect(w.ready('blob')?.status).toBe('True');
    expect(ecr.setting('BLOB_MOUNTING')).toBe('ENABLED');
    expect(w.objects.get('', 'blob')?.status).toMatchObject({ appliedSetting: { name: 'BLOB_MOUNTING', value: 'ENABLED' }, inForce: true });
    // Only the setting that changed was put; the others were read, not written.
    expect(ecr.writes()).toEqual(['PutAccountSetting@team-a/aws']);

    ecr.direct('PutAccountSetting', { name: 'BLOB_MOUNTING', value: 'DISABLED' });
    w.edit('blob', (o) => ({ ...o, metadata: { ...o.metadata, annotations: { 'force-sync': '1' } } }));
    await w.settle('blob');
    expect(ecr.setting('BLOB_MOUNTING')).toBe('ENABLED');

    expect(await w.remove('blob')).toBeUndefined();
    expect(ecr.setting('BLOB_MOUNTING')).toBe('DISABLED');
  });

  it('declaring a setting\'s default owns it without a write; Retain leaves the value', async () => {
    const w = settingWorld();
    w.objects.put(accountSetting('scope', 'REGISTRY_POLICY_SCOPE', 'V2'));
    await w.settle('scope');
    expect(w.ready('scope')?.status).toBe('True');
    expect(ecr.writes()).toEqual([]);
    w.objects.put(accountSetting('blob', 'BLOB_MOUNTING', 'ENABLED'));
    await w.settle('blob');
    expect(await w.remove('blob')).toBeUndefined();
    expect(ecr.setting('BLOB_MOUNTING')).toBe('ENABLED');
  });

  it('a value set outside Kubernetes is not taken over without the adopt annotation; a second object for the setting is a Conflict', async () => {
    ecr.direct('PutAccountSetting', { name: 'BLOB_MOUNTING', value: 'ENABLED' });
    const w = settingWorld();
    w.objects.put(accountSetting('blob', 'BLOB_MOUNTING', 'DISABLED'));
    await w.settle('blob');
    expect(w.ready('blob')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    expect(w.ready('blob')?.message).toContain('BLOB_MOUNTING=ENABLED');
    expect(ecr.setting('BLOB_MOUNTING')).toBe('ENABLED');
    w.objects.put({ ...accountSetting('blob', 'BLOB_MOUNTING', 'DISABLED', { adopt: true }), status: w.objects.get('', 'blob')!.status! });
    await w.settle('blob');
    expect(w.ready('blob')?.status).toBe('True');
    expect(ecr.setting('BLOB_MOUNTING')).toBe('DISABLED');

    ecr.direct('PutAccountSetting', { name: 'BLOB_MOUNTING', value: 'ENABLED' });
    w.objects.put(accountSetting('again', 'BLOB_MOUNTING', 'ENABLED', { adopt: true, namespace: 'team-b' }));
    await w.settle('again');
    expect(w.ready('again')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(w.ready('again')?.message).toContain('ECRAccountSetting blob');
  });

  it('a value the setting does not take is InvalidSpec naming spec.value, with no AWS call', async () => {
    const w = settingWorld();
    w.objects.put(accountSetting('clair', 'BASIC_SCAN_TYPE_VERSION', 'CLAIR'));
    await w.settle('clair');
    expect(w.ready('clair')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(w.ready('clair')?.message).toMatch(/^spec\.value: "CLAIR" is not a value of BASIC_SCAN_TYPE_VERSION/);
    expect(ecr.calls).toEqual([]);
  });
});

describe('ECRPullTimeUpdateExclusion', () => {
  it('registers its principal, leaves others\' as they are, restores drift and deregisters exactly its own on Delete', async () => {
    const other = 'arn:aws:iam::123456789012:user/ops/Alice';
    ecr.direct('RegisterPullTimeUpdateExclusion', { principalArn: other });
    const w = exclusionWorld();
    w.objects.put(exclusion('scanner', SCANNER, { deletionPolicy: 'Delete' }));
    await w.settle('scanner');
    expect(w.ready('scanner')?.status).toBe('True');
    expect(ecr.exclusions()).toEqual([other, SCANNER]);
    expect(w.objects.get('', 'scanner')?.status).toMatchObject({ appliedPrincipalArn: SCANNER, exclusions: 2 });
    expect(ecr.writes()).toEqual(['RegisterPullTimeUpdateExclusion@team-a/aws']);

    ecr.direct('DeregisterPullTimeUpdateExclusion', { principalArn: SCANNER });
    w.edit('scanner', (o) => ({ ...o, metadata: { ...o.metadata, annotations: { 'force-sync': '1' } } }));
    await w.settle('scanner');
    expect(ecr.exclusions()).toEqual([other, SCANNER]);

    expect(await w.remove('scanner')).toBeUndefined();
    expect(ecr.exclusions()).toEqual([other]);
  });

  it('an exclusion registered outside Kubernetes is not taken over without the adopt annotation', async () => {
    ecr.direct('RegisterPullTimeUpdateExclusion', { principalArn: SCANNER });
    const w = exclusionWorld();
    w.objects.put(exclusion('scanner', SCANNER));
    await w.settle('scanner');
    expect(w.ready('scanner')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    expect(w.ready('scanner')?.message).toContain(SCANNER);
    w.objects.put({ ...exclusion('scanner', SCANNER, { adopt: true }), status: w.objects.get('', 'scanner')!.status! });
    await w.settle('scanner');
    expect(w.ready('scanner')?.status).toBe('True');
    // Taking over an exclusion that is already there needs no call.
    expect(ecr.writes()).toEqual([]);
  });

  it('the 101st exclusion is LimitExceeded before any call; every page of the list is read', async () => {
    for (let i = 0; i < 100; i++) ecr.direct('RegisterPullTimeUpdateExclusion', { principalArn: `${SCANNER}${i}` });
    const w = exclusionWorld();
    w.objects.put(exclusion('one-too-many', SCANNER));
    await w.settle('one-too-many');
    expect(w.ready('one-too-many')).toMatchObject({ status: 'False', reason: 'LimitExceeded' });
    expect(ecr.writes()).toEqual([]);
    w.objects.put(exclusion('existing', `${SCANNER}99`));
    await w.settle('existing');
    // Found on the list (the 100th principal), so AlreadyExists, not a Register.
    expect(w.ready('existing')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
  });

  it('a write applies only its own difference: a principal registered by someone else since the read stays', async () => {
    const doc = await pullTimeUpdateExclusionPart.read({
      pullTimeUpdateExclusions: async () => [SCANNER],
    } as never);
    const next = pullTimeUpdateExclusionPart.put(doc, 'arn:aws:iam::123456789012:role/Mine', undefined);
    if ('limit' in next) throw new Error(next.limit);
    const calls: string[] = [];
    await pullTimeUpdateExclusionPart.write({
      registerPullTimeUpdateExclusion: async (p: string) => void calls.push(`register ${p}`),
      deregisterPullTimeUpdateExclusion: async (p: string) => void calls.push(`deregister ${p}`),
    } as never, next.doc);
    expect(calls).toEqual(['register arn:aws:iam::123456789012:role/Mine']);
    const removed = pullTimeUpdateExclusionPart.remove(doc, SCANNER);
    calls.length = 0;
    await pullTimeUpdateExclusionPart.write({
      registerPullTimeUpdateExclusion: async (p: string) => void calls.push(`register ${p}`),
      deregisterPullTimeUpdateExclusion: async (p: string) => void calls.push(`deregister ${p}`),
    } as never, removed);
    expect(calls).toEqual([`deregister ${SCANNER}`]);
  });
});

describe('validation names the field and bounds the work', () => {
  const providerRef = { namespace: 'platform', name: 'aws' };
  const LONG = 10_000;
  const adversarial = ['a'.repeat(LONG - 1) + '!', 'a.'.repeat(LONG / 2) + '!', 'a/'.repeat(LONG / 2) + '/', '*'.repeat(LONG - 1) + '!', 'a-_.'.repeat(LONG / 4), 'a'.repeat(39) + '!'];
  const within50ms = <T>(what: string, fn: () => T): T => {
    const started = performance.now();
    const result = fn();
    expect(performance.now() - started, what).toBeLessThan(50);
    return result;
  };

  it('each kind\'s validator', () => {
    expect(validateSigningSpec({ providerRef, signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'myapp/*', filterType: 'WILDCARD_MATCH' }] })).toBeUndefined();
    expect(validateSigningSpec({ providerRef, signingProfileArn: 'arn:aws:signer:us-east-1:123456789012:signing-profiles/X' })).toMatch(/^spec\.signingProfileArn: /);
    expect(validateSigningSpec({ providerRef, signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'My/App', filterType: 'WILDCARD_MATCH' }] })).toMatch(/^spec\.repositoryFilters\[0\]\.filter: /);
    expect(validateSigningSpec({ providerRef, signingProfileArn: PROFILE, repositoryFilters: Array.from({ length: 101 }, () => ({ filter: 'a', filterType: 'WILDCARD_MATCH' as const })) })).toMatch(/^spec\.repositoryFilters: 101 filters/);
    expect(validateAccountSettingSpec({ providerRef, name: 'BLOB_MOUNTING', value: 'ENABLED' })).toBeUndefined();
    expect(validateAccountSettingSpec({ providerRef, name: 'NOPE' as AccountSettingName, value: 'ENABLED' })).toMatch(/^spec\.name: /);
    expect(validateAccountSettingSpec({ providerRef, name: 'REGISTRY_POLICY_SCOPE', value: 'V1' })).toMatch(/^spec\.value: "V1" is not a value of REGISTRY_POLICY_SCOPE \(allowed: V2\)/);
    expect(validateExclusionSpec({ providerRef, principalArn: 'arn:aws:iam::123456789012:role/service-role/Scanner' })).toBeUndefined();
    expect(validateExclusionSpec({ providerRef, principalArn: 'arn:aws:iam::123456789012:group/Ops' })).toMatch(/^spec\.principalArn: /);
    for (const text of adversarial) {
      expect(within50ms('signing filter', () => validateSigningSpec({ providerRef, signingProfileArn: PROFILE, repositoryFilters: [{ filter: text, filterType: 'WILDCARD_MATCH' }] }))).toMatch(/^spec\.repositoryFilters\[0\]\.filter/);
      expect(within50ms('signing profile', () => validateSigningSpec({ providerRef, signingProfileArn: `arn:aws:signer:us-east-1:123456789012:/signing-profiles/${text}` }))).toMatch(/^spec\.signingProfileArn/);
      expect(within50ms('principal', () => validateExclusionSpec({ providerRef, principalArn: `arn:aws:iam::123456789012:role/${text}` }))).toMatch(/^spec\.principalArn/);
      expect(within50ms('setting', () => validateAccountSettingSpec({ providerRef, name: 'BLOB_MOUNTING', value: text }))).toMatch(/^spec\.value/);
    }
  });

  it('the patterns accept exactly AWS\'s languages (AWS\'s own patterns as the reference writes them)', () => {
    const aws = {
      filter: /^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*\/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$/,
      profile: /^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\/signing-profiles\/[a-zA-Z0-9_]{2,}$/,
      principal: /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)\/[\w+=,.@-]+(\/[\w+=,.@-]+)*$/,
    };
    // Every string of up to 5 characters over an alphabet that exercises each class and separator.
    const alphabet = ['a', '0', '*', '.', '_', '-', '/', 'A', '!'];
    let strings = [''];
    const all: string[] = [];
    for (let n = 0; n < 5; n++) {
      strings = strings.flatMap((s) => alphabet.map((c) => s + c));
      all.push(...strings);
    }
    expect(all).toHaveLength(66_429);
    expect(all.filter((s) => matchesWithin(s, SIGNING_FILTER_PATTERN, SIGNING_FILTER_LENGTH) !== aws.filter.test(s))).toEqual([]);
    expect(all.filter((s) => aws.filter.test(s)).length).toBeGreaterThan(1000);
    const profiles = [PROFILE, OTHER_PROFILE, 'arn:aws-cn:signer:cn-north-1:123456789012:/signing-profiles/ab', 'arn:aws-us-gov-x:signer:r:123456789012:/signing-profiles/a_1',
      'arn:aws:signer:us-east-1:123456789012:/signing-profiles/a', 'arn:aws:signer:us-east-1:12345678901:/signing-profiles/ab', 'arn:aws-:signer:us-east-1:123456789012:/signing-profiles/ab',
      'arn:aws:signer:US:123456789012:/signing-profiles/ab', 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/a-b', `arn:aws:signer:us-east-1:123456789012:/signing-profiles/${'a'.repeat(150)}`];
    for (const p of profiles) expect(matchesWithin(p, SIGNING_PROFILE_ARN_PATTERN, SIGNING_PROFILE_ARN_LENGTH), p).toBe(aws.profile.test(p) && p.length <= 200);
    const principals = [SCANNER, 'arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob', 'arn:aws:iam::123456789012:role/a+b=c,d.e@f-g', 'arn:aws-cn:iam::123456789012:role/x',
      'arn:aws:iam::123456789012:role/', 'arn:aws:iam::123456789012:role//x', 'arn:aws:iam::123456789012:group/x', 'arn:aws:iam:us-east-1:123456789012:role/x', 'arn:aws:iam::123456789012:role/x y'];
    for (const p of principals) expect(matchesWithin(p, PRINCIPAL_ARN_PATTERN, PRINCIPAL_ARN_LENGTH), p).toBe(aws.principal.test(p));
  });
});
