import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ADOPT_ANNOTATION, FINALIZER, FORCE_SYNC_ANNOTATION, OWNER_TAG } from '../../../../src/api/types.js';
import { AWS_PROVIDER_REF, type AWSProvider } from '../../../../src/kinds/awsprovider/types.js';
import { EcrPublicRepositoryReconciler, userDriven } from '../../../../src/kinds/ecrpublicrepository/client.js';
import { ECR_PUBLIC_REPOSITORY_REF, type ECRPublicRepository } from '../../../../src/kinds/ecrpublicrepository/types.js';
import type { Connection } from '../../../../src/providers/connections.js';
import { testPng } from '../../../e2e/env/ecr-public-emulation.js';
import { FakeApiServer, FakeEvents, FakeWriter, readyProvider, silentLogger, Store } from '../../reconcilers/fakes.js';
import { ACCOUNT, ALIAS, FakeEcrPublic, FakeObjects, LOGO, publicError, publicRepository } from './fakes.js';

const key = { namespace: 'team', name: 'web' };
const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":["ecr-public:PutImage"]}]}';
const MUTATING = ['create', 'update', 'untag', 'delete', 'delete-force'];
const logoRef = { configMapKeyRef: { name: 'logo', key: 'logo.png' } };
const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let gateway: FakeEcrPublic;
let objects: FakeObjects;
let writer: FakeWriter;
let events: FakeEvents;
let repositories: Store<ECRPublicRepository>;
let providers: Store<AWSProvider>;
let reconciler: EcrPublicRepositoryReconciler;
let account: string;
let gatewaysAsked: Array<{ endpoint: string | undefined }>;
let now: number;

function connection(): Connection {
  return {
    ecr: {} as Connection['ecr'],
    session: { accountId: account, key: 'team/aws', endpoint: 'http://tenant-endpoint:4566' } as unknown as Connection['session'],
    fingerprint: 'f',
    identity: 'static keys from Secret team/aws',
  };
}

function build(): EcrPublicRepositoryReconciler {
  return new EcrPublicRepositoryReconciler({
    repositories, providers, writer, events, logger: silentLogger,
    connections: { get: async () => connection() },
    gateways: {
      gateway: (_session, endpoint) => {
        gatewaysAsked.push({ endpoint });
        return gateway;
      },
    },
    logos: objects,
    clock: () => new Date(now),
  });
}

beforeEach(() => {
  gateway = new FakeEcrPublic();
  objects = new FakeObjects();
  objects.configMap('team', 'logo', { 'logo.png': LOGO });
  const server = new FakeApiServer();
  writer = new FakeWriter(server);
  events = new FakeEvents();
  repositories = new Store(ECR_PUBLIC_REPOSITORY_REF, server);
  providers = new Store(AWS_PROVIDER_REF, server);
  providers.put(readyProvider('aws', 'team', { 'managed-by': 'infra-operator' }));
  account = ACCOUNT;
  gatewaysAsked = [];
  now = Date.parse('2026-11-23T10:00:00Z');
  reconciler = build();
});

function ready(type = 'Ready'): { status: string; reason: string; message: string } | undefined {
  const conditions = writer.last().conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined;
  return conditions?.find((c) => c.type === type);
}

const fullSpec = {
  catalogData: {
    description: 'A web server',
    aboutText: '## About',
    usageText: '## Usage',
    architectures: ['x86-64', 'ARM 64'] as Array<'x86-64' | 'ARM 64'>,
    operatingSystems: ['Linux'] as Array<'Linux'>,
    logo: logoRef,
  },
  repositoryPolicy: policy,
  tags: { team: 'a' },
};

/** Creates the full-spec repository and lets the cache catch up, as after a first reconcile. */
async function created(spec: Partial<ECRPublicRepository['spec']> = fullSpec): Promise<void> {
  repositories.put(publicRepository(spec, { finalizers: [FINALIZER] }));
  await reconciler.reconcile(key);
  repositories.watch();
  gateway.calls = [];
  now += 60_000;
}

describe('ECRPublicRepository reconciler', () => {
  it('creates a full-spec repository with CreateRepository (catalog data, logo, tags) and one policy call, and records it', async () => {
    repositories.put(publicRepository(fullSpec));
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['create', 'update']);
    const stored = gateway.repos.get('team/web')!;
    expect(stored.catalog).toEqual({ description: 'A web server', aboutText: '## About', usageText: '## Usage', architectures: ['x86-64', 'ARM 64'], operatingSystems: ['Linux'], logoUrl: 'https://logos.example/1.png' });
    expect(stored.tags).toEqual({ team: 'a', 'managed-by': 'infra-operator', [OWNER_TAG]: 'team/web' });
    expect(stored.policyText).toBe(policy);
    expect(writer.statuses).toHaveLength(2);
    expect(writer.statuses[0]?.status).toMatchObject({ ready: false, repositoryArn: stored.live.arn });
    expect(writer.last()).toMatchObject({
      ready: true,
      repositoryArn: `arn:aws:ecr-public::${ACCOUNT}:repository/team/web`,
      repositoryUri: `public.ecr.aws/${ALIAS}/team/web`,
      registryAlias: ALIAS,
      registryId: ACCOUNT,
      imageCount: 0,
      logoUrl: 'https://logos.example/1.png',
      logoDigest: digestOf(LOGO),
      observedGeneration: 1,
      lastSyncTime: '2026-11-23T10:00:00Z',
    });
    expect(ready()?.reason).toBe('Available');
    expect(events.events.map((e) => e.reason)).toEqual(['Created']);
    // The provider names no endpoint of its own: the operator's applies (none given here).
    expect(gatewaysAsked).toEqual([{ endpoint: undefined }]);
  });

  it('makes no mutating call, and reads the logo once, for an unchanged repository', async () => {
    await created();
    const reads = objects.reads;
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['describe', 'tags', 'details']);
    expect(objects.reads).toBe(reads + 1);
    expect(ready()?.reason).toBe('Available');
  });

  it('reverts drift in catalog data, logo, policy and tags, uploading the whole catalog data again', async () => {
    await created();
    const stored = gateway.repos.get('team/web')!;
    stored.catalog = { description: 'changed outside', logoUrl: 'https://logos.example/someone-elses.png' };
    delete stored.policyText;
    stored.tags.team = 'b';
    stored.tags.extra = 'x';
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['describe', 'tags', 'details', 'update']);
    expect(stored.catalog).toMatchObject({ description: 'A web server', architectures: ['x86-64', 'ARM 64'], logoUrl: 'https://logos.example/2.png' });
    expect(stored.policyText).toBe(policy);
    expect(stored.tags).toEqual({ team: 'a', 'managed-by': 'infra-operator', [OWNER_TAG]: 'team/web' });
    expect(writer.last()).toMatchObject({ logoUrl: 'https://logos.example/2.png', logoDigest: digestOf(LOGO) });
    const updated = events.events.at(-1)!;
    expect(updated.reason).toBe('Updated');
    expect(updated.message).toContain('catalog data (description, aboutText, usageText, architectures, operatingSystems, logo)');
    expect(updated.message).toContain('tags removed: extra');
  });

  it('compares architectures and operating systems as sets, and a policy by meaning', async () => {
    await created();
    const stored = gateway.repos.get('team/web')!;
    stored.catalog.architectures = ['ARM 64', 'x86-64'];
    stored.policyText = JSON.stringify(JSON.parse(policy), null, 2).replace('"ecr-public:PutImage"', '"ECR-PUBLIC:PutImage"');
    await reconciler.reconcile(key);
    expect(gateway.calls.filter((c) => MUTATING.includes(c))).toEqual([]);
  });

  it('uploads a logo changed in its ConfigMap, and only then', async () => {
    await created();
    const other = testPng(100, 80);
    objects.configMap('team', 'logo', { 'logo.png': other });
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['describe', 'tags', 'details', 'update']);
    expect(writer.last()).toMatchObject({ logoDigest: digestOf(other), logoUrl: 'https://logos.example/2.png' });
    repositories.watch();
    gateway.calls = [];
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['describe', 'tags', 'details']);
  });

  it('removes the logo with the rest of the catalog data when the spec drops it', async () => {
    await created();
    const current = repositories.get('team', 'web')!;
    const { logo: _logo, ...catalogData } = fullSpec.catalogData;
    repositories.put({ ...current, metadata: { ...current.metadata, generation: 2 }, spec: { ...current.spec, catalogData } });
    await reconciler.reconcile(key);
    expect(gateway.repos.get('team/web')!.catalog.logoUrl).toBeUndefined();
    expect(writer.last().logoDigest).toBeUndefined();
    expect(writer.last().logoUrl).toBeUndefined();
  });

  it('refuses a logo over 512,000 bytes before any AWS call, naming the field', async () => {
    objects.configMap('team', 'logo', { 'logo.png': testPng(800, 800, { noise: true }) });
    repositories.put(publicRepository(fullSpec));
    const result = await reconciler.reconcile(key);
    expect(gateway.calls).toEqual([]);
    expect(ready()?.reason).toBe('InvalidSpec');
    expect(ready()?.message).toMatch(/^spec\.catalogData\.logo: key "logo.png" of ConfigMap team\/logo holds \d+ bytes, more than ECR Public's limit of 512000 bytes/);
    expect(ready('Stalled')?.status).toBe('True');
    expect(result.requeueAfterMs).toBeGreaterThan(0);
  });

  it('refuses a logo of the wrong format or size, and waits for a missing one, without calling AWS', async () => {
    objects.configMap('team', 'logo', { 'logo.png': Buffer.from('GIF89a not a png') });
    repositories.put(publicRepository(fullSpec));
    await reconciler.reconcile(key);
    expect(ready()?.message).toContain('is not a PNG or JPEG image');
    objects.configMap('team', 'logo', { 'logo.png': testPng(30, 30) });
    await reconciler.reconcile(key);
    expect(ready()?.message).toContain('30x30 pixels');
    objects.objects.clear();
    await reconciler.reconcile(key);
    expect(ready()?.reason).toBe('LogoNotFound');
    expect(ready()?.message).toBe('spec.catalogData.logo.configMapKeyRef: ConfigMap team/logo not found');
    expect(gateway.calls).toEqual([]);
    // Fixed in the ConfigMap: the next try goes ahead.
    objects.configMap('team', 'logo', { 'logo.png': LOGO });
    await reconciler.reconcile(key);
    expect(ready()?.reason).toBe('Available');
  });

  it('reads a logo from a Secret of its own namespace', async () => {
    objects.secret('team', 'brand', { logo: LOGO });
    objects.secret('other', 'brand', { logo: testPng(90, 90) });
    repositories.put(publicRepository({ catalogData: { logo: { secretKeyRef: { name: 'brand', key: 'logo' } } } }));
    await reconciler.reconcile(key);
    expect(writer.last()).toMatchObject({ ready: true, logoDigest: digestOf(LOGO) });
  });

  it('refuses what the CRD would refuse, for an object stored before a rule existed, naming the field', async () => {
    repositories.put(publicRepository({ catalogData: { architectures: ['RISC-V' as 'ARM'] }, repositoryPolicy: '{"Statement": "x"' }));
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual([]);
    expect(ready()?.reason).toBe('InvalidSpec');
    expect(ready()?.message).toContain('spec.catalogData.architectures[0]: "RISC-V" is not one of "ARM", "ARM 64", "x86", "x86-64"');
    expect(ready()?.message).toContain('spec.repositoryPolicy: the repository policy is not valid JSON');
  });

  it('refuses an existing repository without owner tag unless the adopt annotation is set', async () => {
    gateway.seed('team/web', { other: 'x' }, { description: 'theirs' });
    repositories.put(publicRepository({ catalogData: { description: 'ours' } }, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(ready()?.reason).toBe('AlreadyExists');
    expect(ready()?.message).toContain(ADOPT_ANNOTATION);
    expect(gateway.calls).toEqual(['create', 'describe', 'tags']);

    // A stalled object looks before it creates, and never sends CreateRepository again.
    repositories.watch();
    gateway.calls = [];
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['describe', 'tags']);

    const stalled = repositories.get('team', 'web')!;
    repositories.put({ ...stalled, metadata: { ...stalled.metadata, annotations: { [ADOPT_ANNOTATION]: 'true' } } });
    expect(userDriven(repositories.get('team', 'web')!)).toBe(true);
    await reconciler.reconcile(key);
    expect(ready()?.reason).toBe('Available');
    const stored = gateway.repos.get('team/web')!;
    expect(stored.tags[OWNER_TAG]).toBe('team/web');
    expect(stored.tags.other).toBeUndefined();
    expect(stored.catalog.description).toBe('ours');
    expect(events.events.some((e) => e.reason === 'Adopted')).toBe(true);
  });

  it('takes over silently a repository that carries its own owner tag (crash recovery)', async () => {
    gateway.seed('team/web', { [OWNER_TAG]: 'team/web', 'managed-by': 'infra-operator' });
    repositories.put(publicRepository({}, { finalizers: [FINALIZER] }));
    await reconciler.reconcile(key);
    expect(ready()?.reason).toBe('Available');
    expect(gateway.calls.filter((c) => c === 'update')).toEqual([]);
  });

  it('changes nothing in a repository owned by another object, and names another namespace\'s owner to no tenant', async () => {
    gateway.seed('team/web', { [OWNER_TAG]: 'team/first' });
    repositories.put(publicRepository({}, { finalizers: [FINALIZER], annotations: { [ADOPT_ANNOTATION]: 'true' } }));
    await reconciler.reconcile(key);
    expect(ready()?.reason).toBe('AlreadyOwned');
    expect(ready()?.message).toContain('ECRPublicRepository team/first');
    expect(gateway.calls.filter((c) => MUTATING.includes(c) && c !== 'create')).toEqual([]);

    gateway.repos.get('team/web')!.tags[OWNER_TAG] = 'secret-namespace/app';
    repositories.watch();
    await reconciler.reconcile(key);
    expect(ready()?.message).toContain('owned by another object');
    expect(ready()?.message).not.toContain('secret-namespace');
  });

  it('restores the owner tag of the repository it recorded', async () => {
    await created({});
    delete gateway.repos.get('team/web')!.tags[OWNER_TAG];
    await reconciler.reconcile(key);
    expect(gateway.repos.get('team/web')!.tags[OWNER_TAG]).toBe('team/web');
    expect(events.events.at(-1)?.reason).toBe('OwnerTagRestored');
  });

  it('re-creates a repository deleted outside Kubernetes', async () => {
    await created({});
    gateway.repos.delete('team/web');
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['describe', 'create']);
    expect(ready()?.reason).toBe('Available');
  });

  it('finds the registry alias with DescribeRegistries when the URI does not carry it', async () => {
    gateway.bareUris = true;
    repositories.put(publicRepository({}));
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['create', 'registryAlias']);
    expect(writer.last().registryAlias).toBe(ALIAS);
  });

  it('uses the provider\'s own endpoint (the session\'s) when the provider names one', async () => {
    providers.put({ ...readyProvider('aws', 'team'), spec: { region: 'eu-west-1', endpoint: 'http://tenant-endpoint:4566' } });
    repositories.put(publicRepository({}));
    await reconciler.reconcile(key);
    expect(gatewaysAsked).toEqual([{ endpoint: 'http://tenant-endpoint:4566' }]);
    expect(ready()?.reason).toBe('Available');
  });

  it('a force-sync reads AWS afresh and is recorded as served', async () => {
    await created({});
    const current = repositories.get('team', 'web')!;
    repositories.put({ ...current, metadata: { ...current.metadata, annotations: { [FORCE_SYNC_ANNOTATION]: '1700000000' } } });
    expect(userDriven(repositories.get('team', 'web')!)).toBe(true);
    await reconciler.reconcile(key);
    expect(writer.last().lastForceSync).toBe('1700000000');
    repositories.watch();
    expect(userDriven(repositories.get('team', 'web')!)).toBe(false);
  });

  it('waits for a provider that is not Ready, calling nothing', async () => {
    providers.put({ ...readyProvider('aws', 'team'), status: {} });
    repositories.put(publicRepository(fullSpec));
    const result = await reconciler.reconcile(key);
    expect(ready()?.reason).toBe('ProviderNotReady');
    expect(ready('Reconciling')?.status).toBe('True');
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(gateway.calls).toEqual([]);
  });

  it('throws a transient failure so that the queue backs off, and keeps a half-created repository managed', async () => {
    repositories.put(publicRepository({ repositoryPolicy: policy }));
    gateway.failNext.set('update', publicError('ServerException', 'SetRepositoryPolicy'));
    await expect(reconciler.reconcile(key)).rejects.toMatchObject({ code: 'ServerException' });
    expect(writer.statuses[0]?.status.repositoryArn).toBeDefined();
    repositories.watch();
    gateway.calls = [];
    await reconciler.reconcile(key);
    expect(gateway.calls).toEqual(['describe', 'tags', 'details', 'update']);
    expect(gateway.repos.get('team/web')!.policyText).toBe(policy);
    expect(ready()?.reason).toBe('Available');
  });

  describe('deletion', () => {
    async function deleting(spec: Partial<ECRPublicRepository['spec']>, images = 0): Promise<void> {
      await created(spec);
      gateway.repos.get('team/web')!.images = images;
      const current = repositories.get('team', 'web')!;
      repositories.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-11-23T10:05:00Z' } });
    }

    it('Retain leaves the repository without a call', async () => {
      await deleting({ deletionPolicy: 'Retain' });
      await reconciler.reconcile(key);
      expect(gateway.calls).toEqual([]);
      expect(gateway.repos.has('team/web')).toBe(true);
      expect(writer.finalizersRemoved).toBe(1);
    });

    it('Delete deletes an empty repository', async () => {
      await deleting({ deletionPolicy: 'Delete' });
      await reconciler.reconcile(key);
      expect(gateway.calls).toEqual(['describe', 'tags', 'delete']);
      expect(gateway.repos.has('team/web')).toBe(false);
      expect(events.events.at(-1)).toMatchObject({ reason: 'Deleted' });
    });

    it('Delete without forceDelete waits on a repository with images, Stalled, and goes ahead once forceDelete is set', async () => {
      await deleting({ deletionPolicy: 'Delete' }, 3);
      const result = await reconciler.reconcile(key);
      expect(gateway.repos.has('team/web')).toBe(true);
      expect(writer.finalizersRemoved).toBe(0);
      expect(ready()?.reason).toBe('RepositoryNotEmpty');
      expect(ready()?.message).toContain('spec.forceDelete');
      expect(ready('Stalled')?.status).toBe('True');
      expect(result.requeueAfterMs).toBeGreaterThan(0);

      repositories.watch();
      const current = repositories.get('team', 'web')!;
      repositories.put({ ...current, metadata: { ...current.metadata, generation: 2 }, spec: { ...current.spec, forceDelete: true } });
      await reconciler.reconcile(key);
      expect(gateway.calls.at(-1)).toBe('delete-force');
      expect(gateway.repos.has('team/web')).toBe(false);
      expect(writer.finalizersRemoved).toBe(1);
      expect(events.events.at(-1)?.message).toContain('with its images');
    });

    it('Orphan removes only the owner tag', async () => {
      await deleting({ deletionPolicy: 'Orphan', tags: { team: 'a' } });
      await reconciler.reconcile(key);
      expect(gateway.calls).toEqual(['describe', 'tags', 'untag']);
      expect(gateway.repos.get('team/web')!.tags).toEqual({ team: 'a', 'managed-by': 'infra-operator' });
      expect(events.events.at(-1)?.reason).toBe('Orphaned');
    });

    it('never deletes a repository another object owns', async () => {
      await deleting({ deletionPolicy: 'Delete' });
      gateway.repos.get('team/web')!.tags[OWNER_TAG] = 'team/other';
      await reconciler.reconcile(key);
      expect(gateway.repos.has('team/web')).toBe(true);
      expect(events.events.at(-1)?.reason).toBe('NotOwned');
      expect(writer.finalizersRemoved).toBe(1);
    });
  });

  describe('when the provider resolves to another account', () => {
    it('is Stalled ProviderAccountChanged, sends nothing to the new account, and deletes nothing there', async () => {
      await created({ deletionPolicy: 'Delete' });
      const original = gateway;
      gateway = new FakeEcrPublic('210987654321');
      account = '210987654321';
      await reconciler.reconcile(key);
      expect(ready()?.reason).toBe('ProviderAccountChanged');
      expect(ready()?.message).toContain('account 210987654321');
      expect(ready()?.message).toContain(`account ${ACCOUNT}`);
      expect(gateway.calls).toEqual([]);

      const current = repositories.get('team', 'web')!;
      repositories.put({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-11-23T10:05:00Z' } });
      await reconciler.reconcile(key);
      expect(writer.last().message).toMatch(/^deletion waits: /);
      expect(gateway.calls).toEqual([]);
      expect(writer.finalizersRemoved).toBe(0);

      gateway = original;
      account = ACCOUNT;
      await reconciler.reconcile(key);
      expect(original.repos.has('team/web')).toBe(false);
      expect(writer.finalizersRemoved).toBe(1);
    });
  });
});
