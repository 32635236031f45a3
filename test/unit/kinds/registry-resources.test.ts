import { Writable } from 'node:stream';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { findCondition, READY } from '../../../src/api/conditions.js';
import { ADOPT_ANNOTATION, FINALIZER, OWNER_TAG } from '../../../src/api/types.js';
import { SecretsGateway, SecretsManagerClients } from '../../../src/aws/secrets-manager.js';
import type { AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import { managedSecretName } from '../../../src/kinds/ecrpullthroughcacherule/credentials.js';
import { pullThroughCacheRuleResource, UPSTREAM_VALID } from '../../../src/kinds/ecrpullthroughcacherule/client.js';
import { PULL_THROUGH_CACHE_RULE_REF, type ECRPullThroughCacheRule } from '../../../src/kinds/ecrpullthroughcacherule/types.js';
import { CredentialsSecretPoll, rulesNaming } from '../../../src/kinds/ecrpullthroughcacherule/watches.js';
import { creationTemplateResource } from '../../../src/kinds/ecrrepositorycreationtemplate/client.js';
import { REPOSITORY_CREATION_TEMPLATE_REF, type ECRRepositoryCreationTemplate } from '../../../src/kinds/ecrrepositorycreationtemplate/types.js';
import type { Connection } from '../../../src/providers/connections.js';
import { clusterResourceReconciler, type ResourceKind, type ResourceObject } from '../../../src/reconcilers/cluster-resource.js';
import type { ResourceRef } from '../../../src/runtime/kube.js';
import { CreationTemplateEmulation } from '../../e2e/env/creation-template-emulation.js';
import { PullThroughCacheEmulation } from '../../e2e/env/pull-through-cache-emulation.js';
import { FakeApiServer, FakeEvents, FakeWriter, readyProvider, Store } from '../reconcilers/fakes.js';

/**
 * The two account-wide resource kinds on the generic managed reconciler, against the local AWS
 * layer's own emulations of ECR (the same code the e2e tier runs behind moto) and an in-memory
 * Secrets Manager: ownership recorded before the create, adoption only with the annotation,
 * conflicts named, drift reverted, deletion by policy, and no credential in status, Events or logs.
 */

const ACCOUNT = '123456789012';
const API = 'aws-infra-operator.runner.codes/v1alpha1';
const TOKEN = 'dckr_pat_very-secret-token-0123456789';
const TOKEN2 = 'dckr_pat_rotated-token-9876543210';

/** Secrets Manager as far as the operator uses it, with every call recorded. */
class FakeSecretsManager {
  secrets = new Map<string, { arn: string; name: string; value: string; tags: Record<string, string> }>();
  calls: string[] = [];

  private find(id: string) {
    return [...this.secrets.values()].find((s) => s.arn === id || s.name === id);
  }

  seed(name: string, value: string, tags: Record<string, string> = {}): string {
    const arn = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-AbCdEf`;
    this.secrets.set(name, { arn, name, value, tags });
    return arn;
  }

  client() {
    const notFound = () => Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    return {
      send: (command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> => {
        const operation = command.constructor.name.replace(/Command$/, '');
        this.calls.push(operation);
        const input = command.input;
        const found = typeof input.SecretId === 'string' ? this.find(input.SecretId) : undefined;
        switch (operation) {
          case 'DescribeSecret':
            if (!found) return Promise.reject(notFound());
            return Promise.resolve({ ARN: found.arn, Name: found.name, Tags: Object.entries(found.tags).map(([Key, Value]) => ({ Key, Value })) });
          case 'GetSecretValue':
            if (!found) return Promise.reject(notFound());
            return Promise.resolve({ ARN: found.arn, SecretString: found.value });
          case 'CreateSecret': {
            const name = input.Name as string;
            if (this.secrets.has(name)) return Promise.reject(Object.assign(new Error('exists'), { name: 'ResourceExistsException' }));
            const tags = Object.fromEntries((input.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]));
            return Promise.resolve({ ARN: this.seed(name, input.SecretString as string, tags), Name: name });
          }
          case 'PutSecretValue':
            if (!found) return Promise.reject(notFound());
            found.value = input.SecretString as string;
            return Promise.resolve({ ARN: found.arn });
          case 'TagResource':
            if (!found) return Promise.reject(notFound());
            for (const t of input.Tags as Array<{ Key: string; Value: string }>) found.tags[t.Key] = t.Value;
            return Promise.resolve({});
          case 'DeleteSecret':
            if (!found) return Promise.reject(notFound());
            this.secrets.delete(found.name);
            return Promise.resolve({ ARN: found.arn });
          default:
            return Promise.reject(new Error(`unexpected ${operation}`));
        }
      },
    };
  }
}

/** Epoch-second timestamps of the JSON protocol as the SDK hands them over: Dates. */
function sdkShape(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => sdkShape(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sdkShape(v, k)]));
  if ((key === 'createdAt' || key === 'updatedAt') && typeof value === 'number') return new Date(value * 1000);
  return value;
}

let server: FakeApiServer;
let writer: FakeWriter;
let events: FakeEvents;
let providers: Store<AWSProvider>;
let ptc: PullThroughCacheEmulation;
let templates: CreationTemplateEmulation;
let sm: FakeSecretsManager;
let ecrCalls: string[];
let kubeSecrets: Map<string, { metadata: { resourceVersion: string }; data: Record<string, string> }>;
let logged: string;

function ecrClient() {
  return {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> => {
      const operation = command.constructor.name.replace(/Command$/, '');
      ecrCalls.push(operation);
      const caller = {
        accountId: ACCOUNT,
        region: 'us-east-1',
        now: new Date(),
        secret: (arn: string) => Promise.resolve(sm.secrets.has(arn.replace(/^.*:secret:/, '').replace(/-[A-Za-z0-9]{6}$/, ''))
          ? { exists: true as const, value: [...sm.secrets.values()].find((s) => s.arn === arn)?.value }
          : { exists: false as const }),
      };
      const answer = operation.includes('PullThroughCacheRule')
        ? await ptc.call(operation as Parameters<PullThroughCacheEmulation['call']>[0], command.input, caller)
        : templates.call(operation as Parameters<CreationTemplateEmulation['call']>[0], command.input, caller);
      if (answer.status !== 200) throw Object.assign(new Error(String(answer.body.message)), { name: answer.errorType, $metadata: { httpStatusCode: answer.status } });
      return sdkShape(answer.body);
    },
  };
}

function secretData(username: string, accessToken: string): Record<string, string> {
  return { username: Buffer.from(username).toString('base64'), accessToken: Buffer.from(accessToken).toString('base64') };
}

beforeEach(() => {
  server = new FakeApiServer();
  writer = new FakeWriter(server);
  events = new FakeEvents();
  providers = new Store();
  const p = readyProvider('aws', 'platform');
  p.status = { ...p.status, accountID: ACCOUNT };
  providers.put(p);
  ptc = new PullThroughCacheEmulation();
  templates = new CreationTemplateEmulation();
  sm = new FakeSecretsManager();
  ecrCalls = [];
  kubeSecrets = new Map([['/api/v1/namespaces/platform/secrets/dockerhub', { metadata: { resourceVersion: '1' }, data: secretData('octo', TOKEN) }]]);
  logged = '';
});

function world<T extends ResourceObject>(kind: ResourceKind<T>, ref: ResourceRef) {
  const objects = new Store<T>(ref, server);
  const sink = new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } });
  const secretsManager = { gateway: () => new SecretsGateway(sm.client() as never) } as unknown as SecretsManagerClients;
  const kube = { getOrUndefined: <R>(path: string) => Promise.resolve(kubeSecrets.get(path) as R | undefined) };
  const deps = {
    objects, providers, writer, events, kube, secretsManager,
    logger: pino({ level: 'debug' }, sink),
    connections: { get: (): Promise<Connection> => Promise.resolve({ session: { ecr: ecrClient(), accountId: ACCOUNT, region: 'us-east-1', key: 'k' } as unknown as Connection['session'], ecr: {} as Connection['ecr'], fingerprint: 'f', identity: 'i' }) },
  };
  const reconciler = clusterResourceReconciler(kind, deps);
  const reconcile = async (name: string) => {
    const result = await reconciler.reconcile({ namespace: '', name });
    objects.watch();
    return result;
  };
  const settle = async (name: string) => {
    for (let i = 0; i < 4; i++) await reconcile(name).catch(() => undefined);
  };
  const ready = (name: string) => findCondition(objects.get('', name)?.status?.conditions, READY);
  return { objects, reconcile, settle, ready, deps };
}

function rule(name: string, spec: Partial<ECRPullThroughCacheRule['spec']> = {}, annotations?: Record<string, string>): ECRPullThroughCacheRule {
  return {
    apiVersion: API,
    kind: 'ECRPullThroughCacheRule',
    metadata: { name, namespace: '', generation: 1, ...(annotations ? { annotations } : {}) },
    spec: {
      providerRef: { namespace: 'platform', name: 'aws' },
      ecrRepositoryPrefix: 'docker-hub',
      upstreamRegistry: 'docker-hub',
      upstreamRegistryUrl: 'registry-1.docker.io',
      credentialsSecretRef: { name: 'dockerhub' },
      ...spec,
    },
  };
}

function template(name: string, spec: Partial<ECRRepositoryCreationTemplate['spec']> = {}, annotations?: Record<string, string>): ECRRepositoryCreationTemplate {
  return {
    apiVersion: API,
    kind: 'ECRRepositoryCreationTemplate',
    metadata: { name, namespace: '', generation: 1, ...(annotations ? { annotations } : {}) },
    spec: { providerRef: { namespace: 'platform', name: 'aws' }, prefix: 'docker-hub', appliedFor: ['PULL_THROUGH_CACHE'], ...spec },
  };
}

const LIFECYCLE = JSON.stringify({ rules: [{ rulePriority: 1, description: 'keep 20', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 20 }, action: { type: 'expire' } }] });

const ruleWorld = () => world(pullThroughCacheRuleResource, PULL_THROUGH_CACHE_RULE_REF);
const templateWorld = () => world(creationTemplateResource, REPOSITORY_CREATION_TEMPLATE_REF);

describe('ECRPullThroughCacheRule', () => {
  it('creates the secret (tagged, from the Kubernetes Secret) and the rule, validates it, and never shows the token', async () => {
    const w = ruleWorld();
    w.objects.put(rule('hub'));
    await w.settle('hub');
    expect(w.ready('hub')).toMatchObject({ status: 'True', reason: 'Available' });
    const name = managedSecretName('hub');
    const secret = sm.secrets.get(name)!;
    expect(JSON.parse(secret.value)).toEqual({ username: 'octo', accessToken: TOKEN });
    expect(secret.tags[OWNER_TAG]).toBe('ECRPullThroughCacheRule/hub');
    const status = w.objects.get('', 'hub')!.status!;
    expect(status).toMatchObject({ appliedPrefix: 'docker-hub', managedSecretArn: secret.arn, credentialArn: secret.arn, registryId: ACCOUNT, region: 'us-east-1', upstreamRegistry: 'docker-hub' });
    expect(status.pendingPrefix).toBeUndefined();
    expect(status.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(findCondition(status.conditions, UPSTREAM_VALID)).toMatchObject({ status: 'True', reason: 'Validated' });
    expect(events.events.map((e) => e.reason)).toContain('Created');
    // An unchanged rule costs no mutating call on the next sync.
    ecrCalls = [];
    sm.calls = [];
    await w.reconcile('hub');
    expect(ecrCalls.filter((c) => !c.startsWith('Describe') && !c.startsWith('Validate'))).toEqual([]);
    expect(sm.calls.filter((c) => !['DescribeSecret', 'GetSecretValue'].includes(c))).toEqual([]);
    const everything = JSON.stringify([w.objects.onServer('', 'hub'), events.events, writer.statuses]) + logged;
    expect(everything).not.toContain(TOKEN);
  });

  it('puts the Secret\'s new token in Secrets Manager on the next reconcile, and the token appears nowhere', async () => {
    const w = ruleWorld();
    w.objects.put(rule('hub'));
    await w.settle('hub');
    kubeSecrets.set('/api/v1/namespaces/platform/secrets/dockerhub', { metadata: { resourceVersion: '2' }, data: secretData('octo', TOKEN2) });
    await w.reconcile('hub');
    expect(JSON.parse(sm.secrets.get(managedSecretName('hub'))!.value).accessToken).toBe(TOKEN2);
    expect(events.events.at(-1)).toMatchObject({ reason: 'Updated', message: expect.stringContaining('put the credentials of Secret platform/dockerhub') });
    const everything = JSON.stringify([w.objects.onServer('', 'hub'), events.events, writer.statuses]) + logged;
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN2);
  });

  it('a Secret without accessToken stalls the rule, naming the Secret and the key', async () => {
    kubeSecrets.set('/api/v1/namespaces/platform/secrets/dockerhub', { metadata: { resourceVersion: '3' }, data: { username: Buffer.from('octo').toString('base64') } });
    const w = ruleWorld();
    w.objects.put(rule('hub'));
    await w.settle('hub');
    expect(w.ready('hub')).toMatchObject({ status: 'False', reason: 'CredentialsSecretInvalid', message: 'Secret platform/dockerhub (spec.credentialsSecretRef) has no key accessToken' });
    expect(ecrCalls).not.toContain('CreatePullThroughCacheRule');
  });

  it('a rule that exists but was not created by the object is not taken over without the adopt annotation', async () => {
    await ptc.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'ecr-public', upstreamRegistryUrl: 'public.ecr.aws' }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date(), secret: () => Promise.resolve({ exists: false }) });
    const w = ruleWorld();
    const spec = { ecrRepositoryPrefix: 'ecr-public', upstreamRegistry: 'ecr-public' as const, upstreamRegistryUrl: 'public.ecr.aws' };
    w.objects.put({ ...rule('pub', spec), spec: { ...rule('pub', spec).spec, credentialsSecretRef: undefined } as ECRPullThroughCacheRule['spec'] });
    const pub = w.objects.get('', 'pub')!;
    delete pub.spec.credentialsSecretRef;
    w.objects.put(pub);
    await w.settle('pub');
    expect(w.ready('pub')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    expect(ecrCalls.filter((c) => !c.startsWith('Describe'))).toEqual([]);
    w.objects.put({ ...w.objects.get('', 'pub')!, metadata: { ...w.objects.get('', 'pub')!.metadata, annotations: { [ADOPT_ANNOTATION]: 'true' } } });
    await w.settle('pub');
    expect(w.ready('pub')?.status).toBe('True');
    expect(events.events.map((e) => e.reason)).toContain('Adopted');
    // A second object of the same prefix is told whose it is.
    w.objects.put({ ...pub, metadata: { name: 'pub2', namespace: '', generation: 1, annotations: { [ADOPT_ANNOTATION]: 'true' } } });
    await w.settle('pub2');
    expect(w.ready('pub2')).toMatchObject({ reason: 'Conflict', message: expect.stringContaining('ECRPullThroughCacheRule pub') });
  });

  it('records the prefix before creating: a crash before the last status write leaves a rule it knows as its own', async () => {
    const w = ruleWorld();
    w.objects.put(rule('hub'));
    let failing = false;
    const original = writer.patchStatus.bind(writer);
    writer.patchStatus = async (ref, obj, status) => {
      if (failing) throw new Error('API server unavailable');
      const written = await original(ref, obj, status);
      if ((written?.status as { pendingPrefix?: string } | undefined)?.pendingPrefix) failing = true;
      return written;
    };
    await w.reconcile('hub').catch(() => undefined);
    expect((await ptc.call('DescribePullThroughCacheRules', {}, { accountId: ACCOUNT, region: 'us-east-1', now: new Date(), secret: () => Promise.resolve({ exists: false }) })).body.pullThroughCacheRules).toHaveLength(1);
    writer.patchStatus = original;
    await w.settle('hub');
    expect(w.ready('hub')?.status).toBe('True');
    expect(w.objects.get('', 'hub')!.status).toMatchObject({ appliedPrefix: 'docker-hub' });
    expect(sm.secrets.size).toBe(1);
  });

  it('a secret changed outside Kubernetes is put back; a rule pointed elsewhere is updated in place', async () => {
    const w = ruleWorld();
    w.objects.put(rule('hub'));
    await w.settle('hub');
    const name = managedSecretName('hub');
    sm.secrets.get(name)!.value = '{"username":"someone","accessToken":"else"}';
    const elsewhere = sm.seed('ecr-pullthroughcache/elsewhere', '{"username":"a","accessToken":"b"}');
    await ptc.call('UpdatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub', credentialArn: elsewhere }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date(), secret: () => Promise.resolve({ exists: true, value: '' }) });
    ecrCalls = [];
    await w.reconcile('hub');
    expect(JSON.parse(sm.secrets.get(name)!.value).accessToken).toBe(TOKEN);
    expect(ecrCalls).toContain('UpdatePullThroughCacheRule');
    expect(ecrCalls).not.toContain('DeletePullThroughCacheRule');
    expect(w.objects.get('', 'hub')!.status!.credentialArn).toBe(sm.secrets.get(name)!.arn);
  });

  it('deletes by policy: Retain makes no AWS call; Delete removes the rule and the secret it kept', async () => {
    const w = ruleWorld();
    w.objects.put(rule('keep'));
    await w.settle('keep');
    ecrCalls = [];
    sm.calls = [];
    w.objects.put({ ...w.objects.get('', 'keep')!, metadata: { ...w.objects.get('', 'keep')!.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
    await w.reconcile('keep');
    expect(ecrCalls).toEqual([]);
    expect(sm.calls).toEqual([]);
    expect(w.objects.onServer('', 'keep')?.metadata.finalizers ?? []).not.toContain(FINALIZER);

    await ptc.call('DeletePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub' }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date(), secret: () => Promise.resolve({ exists: false }) });
    sm.secrets.clear();
    w.objects.put(rule('gone', { deletionPolicy: 'Delete' }));
    await w.settle('gone');
    expect(w.ready('gone')?.status).toBe('True');
    w.objects.put({ ...w.objects.get('', 'gone')!, metadata: { ...w.objects.get('', 'gone')!.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
    await w.reconcile('gone');
    expect(ecrCalls).toContain('DeletePullThroughCacheRule');
    expect(sm.secrets.size).toBe(0);
    expect(events.events.at(-1)?.reason).toBe('Deleted');
  });

  it('a role of another account is refused before any call, naming the field', async () => {
    const w = ruleWorld();
    w.objects.put(rule('x', {
      ecrRepositoryPrefix: 'partner', upstreamRegistry: 'ecr', upstreamRegistryUrl: '444455556666.dkr.ecr.us-east-1.amazonaws.com', credentialsSecretRef: undefined,
      customRoleArn: 'arn:aws:iam::444455556666:role/Theirs',
    }));
    const x = w.objects.get('', 'x')!;
    delete x.spec.credentialsSecretRef;
    w.objects.put(x);
    await w.settle('x');
    expect(w.ready('x')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('spec.customRoleArn') });
    expect(ecrCalls.filter((c) => c.startsWith('Create'))).toEqual([]);
  });
});

describe('the Secret poll', () => {
  it('reports a changed Secret once, without its data, to the rules that name it', async () => {
    const rules = new Store<ECRPullThroughCacheRule>();
    rules.put(rule('hub'));
    rules.put(rule('other', { credentialsSecretRef: { name: 'unrelated' } }));
    const kube = { getOrUndefined: <R>(path: string) => Promise.resolve(kubeSecrets.get(path) as R | undefined) };
    const poll = new CredentialsSecretPoll({ kube, rules, periodMs: 60_000, logger: pino({ level: 'silent' }) });
    const seen: unknown[] = [];
    const stop = poll.onEvent((e) => seen.push(e));
    await poll.poll();
    expect(seen).toEqual([]);
    kubeSecrets.set('/api/v1/namespaces/platform/secrets/dockerhub', { metadata: { resourceVersion: '9' }, data: secretData('octo', TOKEN2) });
    await poll.poll();
    await poll.poll();
    expect(seen).toHaveLength(1);
    expect(JSON.stringify(seen)).not.toContain(Buffer.from(TOKEN2).toString('base64'));
    const event = seen[0] as { object: { metadata: { namespace: string; name: string } } };
    expect(rulesNaming(rules, event.object as never)).toEqual([{ namespace: '', name: 'hub' }]);
    stop();
  });
});

describe('ECRRepositoryCreationTemplate', () => {
  it('creates the template, compares policies by meaning, and reverts drift', async () => {
    const w = templateWorld();
    w.objects.put(template('ptc', { lifecyclePolicy: { policyText: LIFECYCLE }, resourceTags: { team: 'platform' }, description: 'cached images' }));
    await w.settle('ptc');
    expect(w.ready('ptc')).toMatchObject({ status: 'True' });
    expect(w.objects.get('', 'ptc')!.status).toMatchObject({ appliedPrefix: 'docker-hub', registryId: ACCOUNT });
    // The same policy written another way is no change.
    const reformatted = JSON.stringify(JSON.parse(LIFECYCLE), null, 4);
    w.objects.put({ ...w.objects.get('', 'ptc')!, metadata: { ...w.objects.get('', 'ptc')!.metadata, generation: 2 }, spec: { ...w.objects.get('', 'ptc')!.spec, lifecyclePolicy: { policyText: reformatted } } });
    ecrCalls = [];
    await w.reconcile('ptc');
    expect(ecrCalls).toEqual(['DescribeRepositoryCreationTemplates']);
    // Drift: the description changed outside Kubernetes comes back.
    templates.call('UpdateRepositoryCreationTemplate', { prefix: 'docker-hub', description: 'changed by hand' }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    await w.reconcile('ptc');
    const live = templates.call('DescribeRepositoryCreationTemplates', { prefixes: ['docker-hub'] }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    expect((live.body.repositoryCreationTemplates as Array<{ description: string }>)[0]!.description).toBe('cached images');
    // Removing the lifecycle policy from the spec removes it from the template.
    const current = w.objects.get('', 'ptc')!;
    const { lifecyclePolicy: _dropped, ...rest } = current.spec;
    w.objects.put({ ...current, metadata: { ...current.metadata, generation: 3 }, spec: rest });
    await w.reconcile('ptc');
    const after = templates.call('DescribeRepositoryCreationTemplates', { prefixes: ['docker-hub'] }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    expect((after.body.repositoryCreationTemplates as Array<{ lifecyclePolicy?: string }>)[0]!.lifecyclePolicy).toBeUndefined();
  });

  it('a lifecycle policy ECR would refuse is InvalidSpec naming the field, before any call', async () => {
    const w = templateWorld();
    w.objects.put(template('bad', { lifecyclePolicy: { policyText: '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}' } }));
    await w.settle('bad');
    expect(w.ready('bad')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('spec.lifecyclePolicy.policyText: rules[0].selection with tagStatus tagged needs tagPrefixList or tagPatternList') });
    expect(ecrCalls).toEqual([]);
  });

  it('a foreign template is taken over only with the adopt annotation; Delete removes exactly its own', async () => {
    templates.call('CreateRepositoryCreationTemplate', { prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH'] }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    const w = templateWorld();
    w.objects.put(template('root', { prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH', 'REPLICATION'], deletionPolicy: 'Delete' }));
    await w.settle('root');
    expect(w.ready('root')).toMatchObject({ status: 'False', reason: 'AlreadyExists' });
    // Deleting an object that never created its template makes no AWS call.
    ecrCalls = [];
    w.objects.put({ ...w.objects.get('', 'root')!, metadata: { ...w.objects.get('', 'root')!.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
    await w.reconcile('root');
    expect(ecrCalls).toEqual([]);
    w.objects.put(template('root2', { prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH', 'REPLICATION'], deletionPolicy: 'Delete' }, { [ADOPT_ANNOTATION]: 'true' }));
    await w.settle('root2');
    expect(w.ready('root2')?.status).toBe('True');
    expect(events.events.map((e) => e.reason)).toContain('Adopted');
    w.objects.put({ ...w.objects.get('', 'root2')!, metadata: { ...w.objects.get('', 'root2')!.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
    await w.reconcile('root2');
    expect(templates.call('DescribeRepositoryCreationTemplates', {}, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() }).body.repositoryCreationTemplates).toEqual([]);
  });
});
