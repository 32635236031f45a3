import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli } from './support/aws.js';
import { sharedEnv } from './support/context.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import {
  ADOPT_ANNOTATION, API_VERSION, FINALIZER, manifest, signedDelta, waitForClusterObjectGone, waitForEvent, waitForPart, type DeletionPolicy, type ProviderRef,
} from './support/registry.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForReady, type Resource } from './support/scenario.js';

// ECRSigningRule, ECRAccountSetting and ECRPullTimeUpdateExclusion end to end, as a platform
// administrator uses them: kubectl for the objects, awscli for what is in AWS (the local AWS layer
// emulates these ECR operations, which moto lacks), and the layer's calls counted by signing key.
// For each kind: create, change, drift made with awscli reverted on force-sync, deletion by each
// deletionPolicy, a part set outside Kubernetes left alone until adopted, and bad input refused
// with a message naming the field.

const ACCOUNT = '123456789012';
const KEY_A = 'AKIASETTINGSTEAMA001';
const KEY_B = 'AKIASETTINGSTEAMB001';
const KINDS = ['ecrsigningrules', 'ecraccountsettings', 'ecrpulltimeupdateexclusions'] as const;
const SIGN = 'ecrsigningrule';
const SETTING = 'ecraccountsetting';
const EXCLUSION = 'ecrpulltimeupdateexclusion';

const profile = (name: string) => `arn:aws:signer:us-east-1:${ACCOUNT}:/signing-profiles/${name}`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

// Cluster-scoped names are one per cluster: unique per run.
const RUN = Date.now().toString(36);
const name = (what: string) => `${what}-${RUN}`;

interface Opts {
  deletionPolicy?: DeletionPolicy;
  annotations?: Record<string, string>;
}

function object(kind: string, objectName: string, provider: ProviderRef, spec: Record<string, unknown>, opts: Opts) {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name: objectName, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: { providerRef: provider, ...spec, ...(opts.deletionPolicy ? { deletionPolicy: opts.deletionPolicy } : {}) },
  };
}

const signingRule = (n: string, provider: ProviderRef, profileName: string, filters: string[] | undefined, opts: Opts = {}) =>
  object('ECRSigningRule', n, provider, {
    signingProfileArn: profile(profileName),
    ...(filters ? { repositoryFilters: filters.map((filter) => ({ filter, filterType: 'WILDCARD_MATCH' })) } : {}),
  }, opts);
const accountSetting = (n: string, provider: ProviderRef, setting: string, value: string, opts: Opts = {}) => object('ECRAccountSetting', n, provider, { name: setting, value }, opts);
const exclusion = (n: string, provider: ProviderRef, principalArn: string, opts: Opts = {}) => object('ECRPullTimeUpdateExclusion', n, provider, { principalArn }, opts);

interface SigningRuleDoc {
  signingProfileArn: string;
  repositoryFilters?: Array<{ filter: string; filterType: string }>;
}

/** The registry's three settings as awscli shows them, raw text too for byte-for-byte comparisons. */
class Settings {
  constructor(private readonly aws: AwsCli) {}

  private async raw(args: string[], missing?: RegExp): Promise<string | undefined> {
    const r = await this.aws.attempt(args);
    if (r.code === 0) return r.stdout;
    if (missing && missing.test(r.stderr)) return undefined;
    throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  }

  signingOutput(): Promise<string | undefined> {
    return this.raw(['ecr', 'get-signing-configuration'], /SigningConfigurationNotFoundException/);
  }

  /** The signing rules; undefined when the registry has no signing configuration at all. */
  async rules(): Promise<SigningRuleDoc[] | undefined> {
    const out = await this.signingOutput();
    return out === undefined ? undefined : (JSON.parse(out) as { signingConfiguration: { rules: SigningRuleDoc[] } }).signingConfiguration.rules;
  }

  async putRules(rules: SigningRuleDoc[]): Promise<void> {
    await this.aws.json(['ecr', 'put-signing-configuration', '--signing-configuration', JSON.stringify({ rules })]);
  }

  async deleteSigning(): Promise<void> {
    await this.raw(['ecr', 'delete-signing-configuration'], /SigningConfigurationNotFoundException/);
  }

  async setting(settingName: string): Promise<string> {
    return (await this.aws.json<{ value: string }>(['ecr', 'get-account-setting', '--name', settingName])).value;
  }

  async putSetting(settingName: string, value: string): Promise<void> {
    await this.aws.json(['ecr', 'put-account-setting', '--name', settingName, '--value', value]);
  }

  exclusionsOutput(): Promise<string> {
    return this.raw(['ecr', 'list-pull-time-update-exclusions']) as Promise<string>;
  }

  async exclusions(): Promise<string[]> {
    return ((JSON.parse(await this.exclusionsOutput()) as { pullTimeUpdateExclusions?: string[] }).pullTimeUpdateExclusions ?? []).sort();
  }

  async register(principalArn: string): Promise<void> {
    await this.aws.json(['ecr', 'register-pull-time-update-exclusion', '--principal-arn', principalArn]);
  }

  async deregister(principalArn: string): Promise<void> {
    await this.aws.json(['ecr', 'deregister-pull-time-update-exclusion', '--principal-arn', principalArn]);
  }

  /** As nobody set them: no signing configuration, every setting at its default, no exclusions. */
  async reset(): Promise<void> {
    await this.deleteSigning();
    await this.putSetting('BLOB_MOUNTING', 'DISABLED');
    for (const principal of await this.exclusions()) await this.deregister(principal);
  }
}

describe('signing rules, account settings and pull-time update exclusions (cluster-scoped, each with its own provider)', () => {
  const env = sharedEnv();
  const admin = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  const settings = new Settings(aws);
  let operator: OperatorProcess | undefined;
  let nsA: string;
  let nsB: string;
  let providerA: ProviderRef;
  let providerB: ProviderRef;

  /** Every ECR call that changes one of these settings, by signer. */
  const writes = async () => Object.fromEntries(Object.entries(await aws.callsBySigner())
    .filter(([k]) => /^ECR:(Put|Delete)SigningConfiguration@|^ECR:PutAccountSetting@|^ECR:(Register|Deregister)PullTimeUpdateExclusion@/.test(k)));
  const forceSync = async (kind: string, n: string) => {
    const value = `${Date.now()}`;
    await admin.ok(['annotate', kind, n, `force-sync=${value}`, '--overwrite']);
    return eventually(`${kind} ${n} to serve force-sync ${value}`, async () => {
      const obj = await admin.getJson<Resource>([kind, n]);
      return obj.status?.lastForceSync === value && condition(obj, 'Ready')?.status === 'True' ? obj : undefined;
    }, 30_000, 200);
  };
  const deleteAndWait = async (kind: string, n: string) => {
    await admin.ok(['delete', kind, n, '--wait=false']);
    await waitForClusterObjectGone(admin, kind, n, 20_000);
  };
  /** Objects of these kinds from earlier runs or files, dropped without any AWS call. */
  const clearObjects = async () => {
    for (const kind of KINDS) {
      const names = (await admin.ok(['get', kind, '-o', 'name'])).split('\n').map((l) => l.trim()).filter(Boolean);
      for (const n of names) {
        await admin.run(['patch', n, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
        await admin.run(['delete', n, '--ignore-not-found', '--wait=false']);
      }
    }
  };

  beforeAll(async () => {
    await installCrds(admin);
    for (const kind of KINDS) {
      const scope = (await admin.ok(['get', 'crd', `${kind}.aws-infra-operator.runner.codes`, '-o', 'jsonpath={.spec.scope}'])).trim();
      if (scope !== 'Cluster') throw new Error(`CRD ${kind} is ${scope}-scoped in config/crd/bases; these tests need the cluster-scoped kinds`);
    }
    await clearObjects();
    await settings.reset();
    nsA = await freshNamespace(admin, 'settings-a');
    nsB = await freshNamespace(admin, 'settings-b');
    providerA = { namespace: nsA, name: 'aws' };
    providerB = { namespace: nsB, name: 'aws' };
    await admin.apply(staticProviderYaml(nsA, 'aws', { keyId: KEY_A }));
    await admin.apply(staticProviderYaml(nsB, 'aws', { keyId: KEY_B }));
    operator = await startOperator(env, { kubeconfig: await serviceAccountKubeconfig(env, admin), args: ['--sync-period=5s'] });
    await waitForReady(admin, 'awsprovider', nsA, 'aws');
    await waitForReady(admin, 'awsprovider', nsB, 'aws');
  });

  afterAll(async () => {
    for (const kind of KINDS) {
      const names = (await admin.run(['get', kind, '-o', 'name'])).stdout.split('\n').map((l) => l.trim()).filter((l) => l.endsWith(RUN));
      if (names.length) await admin.run(['delete', ...names, '--wait=true', '--timeout=30s']);
    }
    for (const ns of [nsA, nsB].filter(Boolean)) await admin.run(['delete', 'awsprovider', 'aws', '-n', ns, '--wait=true', '--timeout=30s']);
    await operator?.stop();
    await clearObjects().catch(() => undefined);
    await admin.run(['delete', 'namespace', ...[nsA, nsB].filter(Boolean), '--wait=false', '--ignore-not-found']);
    await settings.reset().catch(() => undefined);
  });

  it('ECRSigningRule: merged into the signing configuration with its own key, changed in place, drift reverted on force-sync, a foreign rule left alone until adopted, each deletionPolicy', async () => {
    const foreign: SigningRuleDoc = { signingProfileArn: profile('Audit'), repositoryFilters: [{ filter: 'audit/*', filterType: 'WILDCARD_MATCH' }] };
    await settings.putRules([foreign]);
    const prod = name('sign-prod');
    const start = await writes();

    // Create: this object's rule joins the foreign one, written with A's key.
    await admin.apply(manifest(signingRule(prod, providerA, 'ProductionImages', ['prod/*'], { deletionPolicy: 'Delete' })));
    const created = await waitForPart(admin, SIGN, prod);
    expect(created.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1', rules: 2 });
    expect(created.status?.appliedRule).toEqual({ signingProfileArn: profile('ProductionImages'), repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }] });
    expect(created.metadata.finalizers).toContain(FINALIZER);
    expect(await settings.rules()).toEqual([foreign, { signingProfileArn: profile('ProductionImages'), repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }] }]);
    expect(signedDelta(start, await writes(), 'ECR:PutSigningConfiguration')).toEqual({ [KEY_A]: 1 });
    expect((await waitForEvent(admin, 'ECRSigningRule', prod, 'Applied')).message).toContain(profile('ProductionImages'));

    // Change: the rule is replaced in its place; the foreign rule stays first.
    await admin.ok(['patch', SIGN, prod, '--type', 'merge', '-p', JSON.stringify({ spec: { repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }, { filter: '*/release', filterType: 'WILDCARD_MATCH' }] } })]);
    const changed = await waitForPart(admin, SIGN, prod);
    expect(changed.metadata.generation).toBe(2);
    const changedRule = { signingProfileArn: profile('ProductionImages'), repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }, { filter: '*/release', filterType: 'WILDCARD_MATCH' }] };
    await eventually('the changed rule in AWS', async () => (JSON.stringify(await settings.rules()) === JSON.stringify([foreign, changedRule]) ? true : undefined), 10_000);

    // Drift: the rule removed with awscli comes back on force-sync, the foreign rule untouched.
    await settings.putRules([foreign]);
    await forceSync(SIGN, prod);
    expect(await settings.rules()).toEqual([foreign, changedRule]);

    // A rule set outside Kubernetes: an object declaring exactly it is AlreadyExists, and nothing changes.
    const before = await settings.signingOutput();
    const calls = await writes();
    const audit = name('sign-audit');
    await admin.apply(manifest(signingRule(audit, providerB, 'Audit', ['audit/*'])));
    const found = await waitForPart(admin, SIGN, audit, { status: 'False', reason: 'AlreadyExists' });
    expect(condition(found, 'Ready')?.message).toMatch(/signing rule with profile arn:aws:signer:us-east-1:123456789012:\/signing-profiles\/Audit for audit\/\* already exists in the registry's signing configuration of 123456789012\/us-east-1 and was not written by this object/);
    expect(condition(found, 'Ready')?.message).toContain(`${ADOPT_ANNOTATION}="true"`);
    expect(condition(found, 'Stalled')?.status).toBe('True');
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await settings.signingOutput()).toBe(before);
    expect(await writes()).toEqual(calls);
    // Adopted on request: B owns it from then on; the identical rule needs no write.
    await admin.ok(['annotate', SIGN, audit, `${ADOPT_ANNOTATION}=true`]);
    await waitForPart(admin, SIGN, audit);
    expect((await waitForEvent(admin, 'ECRSigningRule', audit, 'Adopted')).message).toMatch(/^took over the signing rule with profile .*Audit/);
    expect(await settings.signingOutput()).toBe(before);

    // Retain (the default): the rule stays and no AWS call is made.
    const retainCalls = await writes();
    await deleteAndWait(SIGN, audit);
    expect(await settings.signingOutput()).toBe(before);
    expect(await writes()).toEqual(retainCalls);
    expect((await waitForEvent(admin, 'ECRSigningRule', audit, 'Retained')).message).toContain('deletionPolicy Retain');

    // Orphan: the same.
    const orphan = name('sign-orphan');
    await admin.apply(manifest(signingRule(orphan, providerA, 'Staging', ['staging/*'], { deletionPolicy: 'Orphan' })));
    await waitForPart(admin, SIGN, orphan);
    const withOrphan = await settings.signingOutput();
    const orphanCalls = await writes();
    await deleteAndWait(SIGN, orphan);
    expect(await settings.signingOutput()).toBe(withOrphan);
    expect(await writes()).toEqual(orphanCalls);

    // Delete: exactly this object's rule goes, with its own key.
    const deleteCalls = await writes();
    await deleteAndWait(SIGN, prod);
    expect(await settings.rules()).toEqual([foreign, { signingProfileArn: profile('Staging'), repositoryFilters: [{ filter: 'staging/*', filterType: 'WILDCARD_MATCH' }] }]);
    expect(signedDelta(deleteCalls, await writes(), 'ECR:PutSigningConfiguration')).toEqual({ [KEY_A]: 1 });

    // The last rule's removal deletes the signing configuration.
    await settings.deleteSigning();
    const last = name('sign-last');
    await admin.apply(manifest(signingRule(last, providerB, 'Everything', undefined, { deletionPolicy: 'Delete' })));
    await waitForPart(admin, SIGN, last);
    expect(await settings.rules()).toEqual([{ signingProfileArn: profile('Everything') }]);
    const lastCalls = await writes();
    await deleteAndWait(SIGN, last);
    expect(await settings.rules()).toBeUndefined();
    expect(signedDelta(lastCalls, await writes(), 'ECR:DeleteSigningConfiguration')).toEqual({ [KEY_B]: 1 });
  });

  it('ECRSigningRule: bad input is refused by the API server naming the field; an 11th rule is LimitExceeded with nothing written', async () => {
    const refused = async (spec: Record<string, unknown>, field: string) => {
      const r = await admin.run(['create', '-f', '-'], manifest(object('ECRSigningRule', name('sign-bad'), providerA, spec, {})));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(field);
      return r.stderr;
    };
    expect(await refused({ signingProfileArn: `arn:aws:signer:us-east-1:${ACCOUNT}:signing-profiles/NoSlash` }, 'spec.signingProfileArn')).toMatch(/should match/);
    expect(await refused({ signingProfileArn: profile('P'), repositoryFilters: [{ filter: 'MyApp/*', filterType: 'WILDCARD_MATCH' }] }, 'spec.repositoryFilters[0].filter')).toMatch(/should match/);
    await refused({ signingProfileArn: profile('P'), repositoryFilters: [{ filter: 'app', filterType: 'PREFIX_MATCH' }] }, 'spec.repositoryFilters[0].filterType');
    // A missing profile: kubectl's own schema check answers first, naming it.
    await refused({ repositoryFilters: [] }, 'missing required field "signingProfileArn"');
    expect((await admin.run(['get', SIGN, name('sign-bad'), '--ignore-not-found', '-o', 'name'])).stdout.trim()).toBe('');

    // Ten rules already (ECR's limit): the object stalls before any write, naming the limit.
    await settings.putRules(Array.from({ length: 10 }, (_, i) => ({ signingProfileArn: profile(`Team${i}`) })));
    const before = await settings.signingOutput();
    const calls = await writes();
    const eleventh = name('sign-eleventh');
    await admin.apply(manifest(signingRule(eleventh, providerA, 'Eleventh', undefined)));
    const stalled = await waitForPart(admin, SIGN, eleventh, { status: 'False', reason: 'LimitExceeded' });
    expect(condition(stalled, 'Ready')?.message).toBe("the registry's signing configuration would hold 11 rules; ECR allows at most 10");
    expect(condition(stalled, 'Stalled')?.status).toBe('True');
    expect(await settings.signingOutput()).toBe(before);
    expect(await writes()).toEqual(calls);
    // Never applied: released without any AWS call.
    await deleteAndWait(SIGN, eleventh);
    expect(await writes()).toEqual(calls);
    await settings.deleteSigning();
  });

  it('ECRAccountSetting: a value set with awscli is left alone until adopted; change, drift reverted on force-sync, a second object is a Conflict, each deletionPolicy', async () => {
    // Someone enabled blob mounting outside Kubernetes.
    await settings.putSetting('BLOB_MOUNTING', 'ENABLED');
    const blob = name('blob-mounting');
    const calls = await writes();
    await admin.apply(manifest(accountSetting(blob, providerA, 'BLOB_MOUNTING', 'DISABLED', { deletionPolicy: 'Delete' })));
    const found = await waitForPart(admin, SETTING, blob, { status: 'False', reason: 'AlreadyExists' });
    expect(condition(found, 'Ready')?.message).toMatch(/^the account setting BLOB_MOUNTING=ENABLED already exists in the registry's account settings of 123456789012\/us-east-1 and was not written by this object/);
    expect(condition(found, 'Stalled')?.status).toBe('True');
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await settings.setting('BLOB_MOUNTING')).toBe('ENABLED');
    expect(await writes()).toEqual(calls);

    // Adopted: the object's value, written with A's key and nothing else (the other settings are only read).
    await admin.ok(['annotate', SETTING, blob, `${ADOPT_ANNOTATION}=true`]);
    const adopted = await waitForPart(admin, SETTING, blob);
    expect(adopted.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1', appliedSetting: { name: 'BLOB_MOUNTING', value: 'DISABLED' } });
    expect(await settings.setting('BLOB_MOUNTING')).toBe('DISABLED');
    expect(signedDelta(calls, await writes(), 'ECR:PutAccountSetting')).toEqual({ [KEY_A]: 1 });
    expect((await waitForEvent(admin, 'ECRAccountSetting', blob, 'Adopted')).message).toContain('BLOB_MOUNTING=DISABLED');

    // Change.
    await admin.ok(['patch', SETTING, blob, '--type', 'merge', '-p', '{"spec":{"value":"ENABLED"}}']);
    await waitForPart(admin, SETTING, blob);
    await eventually('BLOB_MOUNTING ENABLED in AWS', async () => ((await settings.setting('BLOB_MOUNTING')) === 'ENABLED' ? true : undefined), 10_000);

    // Drift: switched off with awscli, back on at force-sync.
    await settings.putSetting('BLOB_MOUNTING', 'DISABLED');
    await forceSync(SETTING, blob);
    expect(await settings.setting('BLOB_MOUNTING')).toBe('ENABLED');

    // One object per setting per registry: a second one is a Conflict naming the first, even with adopt.
    const second = name('blob-mounting-again');
    const conflictCalls = await writes();
    await admin.apply(manifest(accountSetting(second, providerB, 'BLOB_MOUNTING', 'DISABLED', { annotations: { [ADOPT_ANNOTATION]: 'true' } })));
    const clash = await waitForPart(admin, SETTING, second, { status: 'False', reason: 'Conflict' });
    expect(condition(clash, 'Ready')?.message).toContain(`belongs to ECRAccountSetting ${blob}`);
    expect(await settings.setting('BLOB_MOUNTING')).toBe('ENABLED');
    expect(await writes()).toEqual(conflictCalls);
    await deleteAndWait(SETTING, second);

    // Delete: the setting goes back to its default, with the object's own key.
    const deleteCalls = await writes();
    await deleteAndWait(SETTING, blob);
    expect(await settings.setting('BLOB_MOUNTING')).toBe('DISABLED');
    expect(signedDelta(deleteCalls, await writes(), 'ECR:PutAccountSetting')).toEqual({ [KEY_A]: 1 });

    // Retain: the value stays, no AWS call.
    const retained = name('blob-mounting-retained');
    await admin.apply(manifest(accountSetting(retained, providerB, 'BLOB_MOUNTING', 'ENABLED')));
    await waitForPart(admin, SETTING, retained);
    expect(await settings.setting('BLOB_MOUNTING')).toBe('ENABLED');
    const retainCalls = await writes();
    await deleteAndWait(SETTING, retained);
    expect(await settings.setting('BLOB_MOUNTING')).toBe('ENABLED');
    expect(await writes()).toEqual(retainCalls);

    // Orphan, on a setting at its default: declaring the default owns it without a write; deleting leaves it.
    const scope = name('policy-scope');
    const scopeCalls = await writes();
    await admin.apply(manifest(accountSetting(scope, providerA, 'REGISTRY_POLICY_SCOPE', 'V2', { deletionPolicy: 'Orphan' })));
    await waitForPart(admin, SETTING, scope);
    await deleteAndWait(SETTING, scope);
    expect(await settings.setting('REGISTRY_POLICY_SCOPE')).toBe('V2');
    expect(await writes()).toEqual(scopeCalls);
    await settings.putSetting('BLOB_MOUNTING', 'DISABLED');
  });

  it('ECRAccountSetting: a value the setting does not take, an unknown setting and a renamed setting are refused by the API server naming the field', async () => {
    const create = (setting: string, value: string) => admin.run(['create', '-f', '-'], manifest(accountSetting(name('setting-bad'), providerA, setting, value)));
    const clair = await create('BASIC_SCAN_TYPE_VERSION', 'CLAIR');
    expect(clair.code).not.toBe(0);
    expect(clair.stderr).toMatch(/spec\.value: Unsupported value: "CLAIR"/);
    const mismatch = await create('REGISTRY_POLICY_SCOPE', 'ENABLED');
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.stderr).toContain('spec.value');
    expect(mismatch.stderr).toContain('REGISTRY_POLICY_SCOPE takes V2');
    const unknown = await create('SCAN_ON_PUSH', 'ENABLED');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/spec\.name: Unsupported value: "SCAN_ON_PUSH"/);

    const scanVersion = name('scan-version');
    await admin.apply(manifest(accountSetting(scanVersion, providerA, 'BASIC_SCAN_TYPE_VERSION', 'AWS_NATIVE')));
    await waitForPart(admin, SETTING, scanVersion);
    const renamed = await admin.run(['patch', SETTING, scanVersion, '--type', 'merge', '-p', '{"spec":{"name":"REGISTRY_POLICY_SCOPE","value":"V2"}}']);
    expect(renamed.code).not.toBe(0);
    expect(renamed.stderr).toContain('spec.name is immutable');
    await deleteAndWait(SETTING, scanVersion);
  });

  it('ECRPullTimeUpdateExclusion: registered with its own key next to foreign exclusions, drift reverted on force-sync, a foreign exclusion left alone until adopted, each deletionPolicy', async () => {
    const outsider = `arn:aws:iam::${ACCOUNT}:user/ops/Alice`;
    const scannerRole = role('ImageScanner');
    await settings.register(outsider);
    const scanner = name('exclude-scanner');
    const start = await writes();

    await admin.apply(manifest(exclusion(scanner, providerA, scannerRole, { deletionPolicy: 'Delete' })));
    const created = await waitForPart(admin, EXCLUSION, scanner);
    expect(created.status).toMatchObject({ ready: true, inForce: true, registryId: ACCOUNT, region: 'us-east-1', appliedPrincipalArn: scannerRole, exclusions: 2 });
    expect(await settings.exclusions()).toEqual([scannerRole, outsider].sort());
    expect(signedDelta(start, await writes(), 'ECR:RegisterPullTimeUpdateExclusion')).toEqual({ [KEY_A]: 1 });

    // Change: the principal is the exclusion, so it is immutable (another principal, another
    // object); what may change is how the object goes, with no AWS call.
    const immutable = await admin.run(['patch', EXCLUSION, scanner, '--type', 'merge', '-p', JSON.stringify({ spec: { principalArn: role('Other') } })]);
    expect(immutable.code).not.toBe(0);
    expect(immutable.stderr).toContain('spec.principalArn is immutable');
    const changeCalls = await writes();
    await admin.ok(['patch', EXCLUSION, scanner, '--type', 'merge', '-p', '{"spec":{"deletionPolicy":"Retain"}}']);
    expect((await waitForPart(admin, EXCLUSION, scanner)).metadata.generation).toBe(2);
    expect(await writes()).toEqual(changeCalls);
    await admin.ok(['patch', EXCLUSION, scanner, '--type', 'merge', '-p', '{"spec":{"deletionPolicy":"Delete"}}']);
    await waitForPart(admin, EXCLUSION, scanner);

    // Drift: deregistered with awscli, registered again at force-sync; the outsider untouched.
    await settings.deregister(scannerRole);
    await forceSync(EXCLUSION, scanner);
    expect(await settings.exclusions()).toEqual([scannerRole, outsider].sort());

    // A foreign exclusion: AlreadyExists until adopted; adopting it needs no call.
    const before = await settings.exclusionsOutput();
    const calls = await writes();
    const alice = name('exclude-alice');
    await admin.apply(manifest(exclusion(alice, providerB, outsider)));
    const found = await waitForPart(admin, EXCLUSION, alice, { status: 'False', reason: 'AlreadyExists' });
    expect(condition(found, 'Ready')?.message).toMatch(/^the pull-time update exclusion of arn:aws:iam::123456789012:user\/ops\/Alice already exists in the registry's pull-time update exclusions of 123456789012\/us-east-1/);
    expect(condition(found, 'Stalled')?.status).toBe('True');
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await settings.exclusionsOutput()).toBe(before);
    expect(await writes()).toEqual(calls);
    await admin.ok(['annotate', EXCLUSION, alice, `${ADOPT_ANNOTATION}=true`]);
    await waitForPart(admin, EXCLUSION, alice);
    await waitForEvent(admin, 'ECRPullTimeUpdateExclusion', alice, 'Adopted');
    expect(await writes()).toEqual(calls);

    // Retain (default): stays, no call.
    await deleteAndWait(EXCLUSION, alice);
    expect(await settings.exclusions()).toContain(outsider);
    expect(await writes()).toEqual(calls);

    // Orphan: stays, no call.
    const orphan = name('exclude-orphan');
    await admin.apply(manifest(exclusion(orphan, providerB, role('Crawler'), { deletionPolicy: 'Orphan' })));
    await waitForPart(admin, EXCLUSION, orphan);
    const orphanCalls = await writes();
    await deleteAndWait(EXCLUSION, orphan);
    expect(await settings.exclusions()).toContain(role('Crawler'));
    expect(await writes()).toEqual(orphanCalls);

    // Delete: exactly this object's principal is deregistered, with its own key.
    const deleteCalls = await writes();
    await deleteAndWait(EXCLUSION, scanner);
    expect(await settings.exclusions()).toEqual([role('Crawler'), outsider].sort());
    expect(signedDelta(deleteCalls, await writes(), 'ECR:DeregisterPullTimeUpdateExclusion')).toEqual({ [KEY_A]: 1 });
    expect((await waitForEvent(admin, 'ECRPullTimeUpdateExclusion', scanner, 'Deleted')).message).toContain(`removed the pull-time update exclusion of ${scannerRole}`);
  });

  it('ECRPullTimeUpdateExclusion: a principal that is not an IAM role or user is refused by the API server naming the field', async () => {
    for (const principalArn of [`arn:aws:iam::${ACCOUNT}:group/Developers`, `arn:aws:sts::${ACCOUNT}:assumed-role/Scanner/session`, `arn:aws:iam::${ACCOUNT}:role/${'r'.repeat(200)}`]) {
      const r = await admin.run(['create', '-f', '-'], manifest(exclusion(name('exclude-bad'), providerA, principalArn)));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec.principalArn');
    }
    expect((await admin.run(['get', EXCLUSION, name('exclude-bad'), '--ignore-not-found', '-o', 'name'])).stdout.trim()).toBe('');
  });

  it('kubectl: short names, printer columns and explain text', async () => {
    const rule = name('sign-columns');
    const setting = name('setting-columns');
    const excluded = name('exclude-columns');
    await admin.apply(manifest(
      signingRule(rule, providerA, 'Columns', ['cols/*'], { deletionPolicy: 'Delete' }),
      accountSetting(setting, providerA, 'BASIC_SCAN_TYPE_VERSION', 'AWS_NATIVE'),
      exclusion(excluded, providerA, role('Columns'), { deletionPolicy: 'Delete' }),
    ));
    await waitForPart(admin, SIGN, rule);
    await waitForPart(admin, SETTING, setting);
    await waitForPart(admin, EXCLUSION, excluded);
    const rules = await admin.ok(['get', 'ecrsign', rule]);
    expect(rules).toMatch(/^NAME\s+READY\s+PROVIDER NAMESPACE\s+PROVIDER\s+RULES\s+REGISTRY\s+REGION\s+REASON\s+AGE\n/);
    expect(rules).toMatch(new RegExp(`${rule}\\s+true\\s+${nsA}\\s+aws\\s+1\\s+${ACCOUNT}\\s+us-east-1\\s+Available`));
    expect(await admin.ok(['get', 'ecrsign', rule, '-o', 'wide'])).toContain(profile('Columns'));
    expect(await admin.ok(['get', 'ecrsetting', setting])).toMatch(new RegExp(`SETTING\\s+VALUE[\\s\\S]*${setting}\\s+true\\s+${nsA}\\s+aws\\s+BASIC_SCAN_TYPE_VERSION\\s+AWS_NATIVE\\s+${ACCOUNT}\\s+us-east-1\\s+Available`));
    expect(await admin.ok(['get', 'ecrpullexclusion', excluded])).toMatch(new RegExp(`PRINCIPAL\\s+EXCLUSIONS[\\s\\S]*${excluded}\\s+true\\s+${nsA}\\s+aws\\s+${role('Columns').replace(/[/]/g, '\\/')}\\s+\\d+\\s+${ACCOUNT}`));
    expect(await admin.ok(['get', 'ecr-registry', '-o', 'name'])).toContain(`ecrpulltimeupdateexclusion.aws-infra-operator.runner.codes/${excluded}`);
    expect(await admin.ok(['explain', 'ecrsign.spec.signingProfileArn'])).toContain('signing profile');
    expect(await admin.ok(['explain', 'ecrsetting.spec.name'])).toContain('BLOB_MOUNTING');
    expect(await admin.ok(['explain', 'ecrpullexclusion'])).toMatch(/cluster-scoped/);
    for (const [kind, n] of [[SIGN, rule], [SETTING, setting], [EXCLUSION, excluded]] as const) await deleteAndWait(kind, n);
    expect(await settings.rules()).toBeUndefined();
    expect(await settings.exclusions()).not.toContain(role('Columns'));
  });
});
