import { InvalidParameterException, ServerException } from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import { createRegistryView, EcrGateway, isExpectedAbsence, type LiveRepository, type RepositorySettings } from '../../../src/aws/ecr.js';
import { AwsError } from '../../../src/aws/errors.js';
import { awsError, FakeEcr } from './fake-ecr.js';

const meta = { $metadata: { httpStatusCode: 400 } };
const defaults: RepositorySettings = { imageTagMutability: 'MUTABLE', scanOnPush: false, encryption: { encryptionType: 'AES256' } };

let fake: FakeEcr;
let now: number;

function gateway(snapshotMaxAgeMs?: number): EcrGateway {
  return new EcrGateway({
    client: fake.client,
    clock: () => now,
    ...(snapshotMaxAgeMs !== undefined ? { snapshotMaxAgeMs } : {}),
  });
}

function seedMany(count: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = `team/app-${String(i).padStart(4, '0')}`;
    fake.seed(name);
    names.push(name);
  }
  return names;
}

async function rejection(promise: Promise<unknown>): Promise<AwsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AwsError);
  return err as AwsError;
}

beforeEach(() => {
  fake = new FakeEcr();
  now = 1_000_000;
});

describe('describe: managed repositories read by name, 100 a call', () => {
  it('maps ECR fields to the live repository', async () => {
    fake.seed('app/kms', {
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' },
    });
    const live = await gateway().describe('app/kms');
    expect(live).toEqual({
      name: 'app/kms',
      arn: 'arn:aws:ecr:us-east-1:123456789012:repository/app/kms',
      uri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app/kms',
      registryId: '123456789012',
      createdAt: new Date('2024-01-01T00:00:00Z'),
      imageTagMutability: 'IMMUTABLE',
      scanOnPush: true,
      encryption: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' },
    });
  });

  it('reports the exclusion modes with their filters and KMS_DSSE as ECR has them', async () => {
    fake.seed('app/excl', {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }, { filter: 'dev-*', filterType: 'WILDCARD' }],
      encryptionConfiguration: { encryptionType: 'KMS_DSSE', kmsKey: 'arn:aws:kms:us-gov-west-1:123456789012:key/abc' },
    });
    const live = await gateway().describe('app/excl');
    expect(live?.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(live?.imageTagMutabilityExclusionFilters).toEqual([{ filter: 'latest', filterType: 'WILDCARD' }, { filter: 'dev-*', filterType: 'WILDCARD' }]);
    expect(live?.encryption).toEqual({ encryptionType: 'KMS_DSSE', kmsKey: 'arn:aws:kms:us-gov-west-1:123456789012:key/abc' });
  });

  it('keeps the nearest meaning of a mode or encryption ECR may add later', async () => {
    fake.seed('app/future', {
      imageTagMutability: 'IMMUTABLE_SOMEDAY' as never,
      encryptionConfiguration: { encryptionType: 'KMS_QUANTUM' as never, kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/q' },
    });
    const live = await gateway().describe('app/future');
    expect(live?.imageTagMutability).toBe('IMMUTABLE');
    expect(live?.imageTagMutabilityExclusionFilters).toBeUndefined();
    expect(live?.encryption.encryptionType).toBe('KMS');
  });


  it('a sweep over 2,500 repositories prefetched in batches costs 25 calls and lists nothing else', async () => {
    const names = seedMany(2500);
    fake.seed('someone-else/unmanaged');
    const gw = gateway();
    expect(await gw.prefetch(names, 60_000)).toBe(25);
    expect(fake.ops()).toEqual(Array<string>(25).fill('DescribeRepositories'));
    // Every call named its repositories: the registry was never listed.
    expect(fake.calls.every((c) => Array.isArray(c.input.repositoryNames) && (c.input.repositoryNames as unknown[]).length === 100)).toBe(true);
    fake.reset();
    const found = [];
    for (const name of names) found.push(await gw.describe(name));
    expect(found.every((r, i) => r?.name === names[i])).toBe(true);
    expect(fake.calls).toHaveLength(0);
  });

  it('never lists the registry: a name not prefetched is asked for on its own', async () => {
    seedMany(3);
    const gw = gateway();
    await gw.describe('team/app-0001');
    expect(fake.calls).toEqual([{ op: 'DescribeRepositories', input: { repositoryNames: ['team/app-0001'] } }]);
  });

  it('leaves out a name that does not exist and asks again for the rest; the absence is kept too', async () => {
    const names = seedMany(5);
    const gw = gateway();
    await gw.prefetch([...names.slice(0, 2), 'team/gone', ...names.slice(2)], 10_000);
    expect(fake.calls.map((c) => c.input.repositoryNames)).toEqual([
      ['team/app-0000', 'team/app-0001', 'team/gone', 'team/app-0002', 'team/app-0003', 'team/app-0004'],
      ['team/app-0000', 'team/app-0001', 'team/app-0002', 'team/app-0003', 'team/app-0004'],
    ]);
    fake.reset();
    expect(await gw.describe('team/gone')).toBeUndefined();
    expect((await gw.describe('team/app-0004'))?.name).toBe('team/app-0004');
    expect(fake.calls).toHaveLength(0);
  });

  it('keeps prefetched entries as long as the sweep needs them, then asks again', async () => {
    seedMany(2);
    const gw = gateway(5_000);
    await gw.prefetch(['team/app-0000', 'team/app-0001'], 30_000);
    now += 29_999;
    await gw.describe('team/app-0001');
    expect(fake.count('DescribeRepositories')).toBe(1);
    now += 1;
    await gw.describe('team/app-0001');
    expect(fake.count('DescribeRepositories')).toBe(2);
  });

  it('a describe during a prefetch of its name waits for it instead of asking again', async () => {
    const names = seedMany(50);
    const gw = gateway();
    const release = fake.hold('DescribeRepositories');
    const prefetch = gw.prefetch(names, 10_000);
    await new Promise((r) => setTimeout(r, 5));
    const pending = names.map((n) => gw.describe(n));
    release();
    await prefetch;
    expect((await Promise.all(pending)).every(Boolean)).toBe(true);
    expect(fake.count('DescribeRepositories')).toBe(1);
  });

  it('shares one registry view between the gateways of one registry: one prefetch serves them all', async () => {
    const names = seedMany(30);
    const registry = createRegistryView({ maxAgeMs: 60_000, clock: () => now });
    const gateways = Array.from({ length: 5 }, () => new EcrGateway({ client: fake.client, registry }));
    await gateways[0]!.prefetch(names, 60_000);
    const found = await Promise.all(names.map((name, i) => gateways[i % gateways.length]!.describe(name)));
    expect(found.every(Boolean)).toBe(true);
    expect(fake.count('DescribeRepositories')).toBe(1);
    // A write through one gateway is seen by the others.
    await gateways[0]!.update(found[0]!, { imageTagMutability: 'IMMUTABLE' });
    expect((await gateways[3]!.describe(names[0]!))?.imageTagMutability).toBe('IMMUTABLE');
    expect(fake.count('DescribeRepositories')).toBe(1);
  });

  it('sees settings changed outside once the entry is older than its max age', async () => {
    seedMany(2);
    const gw = gateway(1_000);
    expect((await gw.describe('team/app-0000'))?.scanOnPush).toBe(false);
    fake.repos.get('team/app-0000')!.repository.imageScanningConfiguration = { scanOnPush: true };
    now += 1_000;
    expect((await gw.describe('team/app-0000'))?.scanOnPush).toBe(true);
  });

  // That the not-found answer counts as a success is the AWS client's metrics hook (clients.test.ts).
  it('returns undefined for a repository that does not exist, with one request', async () => {
    seedMany(2);
    const gw = gateway();
    expect(await gw.describe('team/absent')).toBeUndefined();
    expect(fake.calls).toEqual([{ op: 'DescribeRepositories', input: { repositoryNames: ['team/absent'] } }]);
  });

  it('a failed prefetch leaves each describe to ask for itself', async () => {
    const names = seedMany(3);
    const gw = gateway();
    fake.failNext('DescribeRepositories', awsError('ThrottlingException', 'Rate exceeded'));
    expect((await rejection(gw.prefetch(names, 10_000))).kind).toBe('Throttled');
    expect((await gw.describe('team/app-0000'))?.name).toBe('team/app-0000');
    expect(fake.calls.map((c) => c.input.repositoryNames)).toEqual([names, ['team/app-0000']]);
  });

  it('invalidate() forgets everything; invalidate(name) forgets one name', async () => {
    const names = seedMany(3);
    const gw = gateway();
    await gw.prefetch(names, 60_000);
    gw.invalidate('team/app-0001');
    fake.reset();
    await gw.describe('team/app-0000');
    await gw.describe('team/app-0001');
    expect(fake.calls).toEqual([{ op: 'DescribeRepositories', input: { repositoryNames: ['team/app-0001'] } }]);
    gw.invalidate();
    fake.reset();
    await gw.describe('team/app-0002');
    expect(fake.calls).toEqual([{ op: 'DescribeRepositories', input: { repositoryNames: ['team/app-0002'] } }]);
  });
});

describe('own writes keep the snapshot correct', () => {
  it('create: the new repository is described without another call', async () => {
    seedMany(2);
    const gw = gateway();
    await gw.describe('team/app-0000');
    const created = await gw.create('team/fresh', defaults, {});
    fake.reset();
    expect(await gw.describe('team/fresh')).toEqual(created);
    expect(fake.calls).toHaveLength(0);
  });

  it('update: new settings are described without another call', async () => {
    seedMany(2);
    const gw = gateway();
    const live = (await gw.describe('team/app-0000'))!;
    await gw.update(live, { imageTagMutability: 'IMMUTABLE', scanOnPush: true });
    fake.reset();
    const after = await gw.describe('team/app-0000');
    expect(after?.imageTagMutability).toBe('IMMUTABLE');
    expect(after?.scanOnPush).toBe(true);
    expect(fake.calls).toHaveLength(0);
  });

  it('update that fails: the next describe asks AWS', async () => {
    seedMany(2);
    const gw = gateway();
    const live = (await gw.describe('team/app-0000'))!;
    fake.failNext('PutImageScanningConfiguration', new ServerException({ message: 'internal', $metadata: { httpStatusCode: 500 } }));
    await rejection(gw.update(live, { imageTagMutability: 'IMMUTABLE', scanOnPush: true }));
    fake.reset();
    const after = await gw.describe('team/app-0000');
    expect(after?.imageTagMutability).toBe('IMMUTABLE');
    expect(after?.scanOnPush).toBe(false);
    expect(fake.calls).toEqual([{ op: 'DescribeRepositories', input: { repositoryNames: ['team/app-0000'] } }]);
  });

  it('delete: the repository is no longer described', async () => {
    seedMany(2);
    const gw = gateway();
    await gw.describe('team/app-0000');
    await gw.delete('team/app-0000');
    expect(await gw.describe('team/app-0000')).toBeUndefined();
  });

  it('writes made while a listing is under way win over that listing', async () => {
    seedMany(3);
    const gw = gateway();
    const release = fake.hold('DescribeRepositories');
    const first = gw.describe('team/app-0000');
    await new Promise((r) => setTimeout(r, 5));
    // Released first, the listing reads the registry before these writes reach it, but is
    // installed after the writes were recorded: the writes must survive the installation.
    release();
    const creating = gw.create('team/during', { ...defaults, scanOnPush: true }, {});
    const deleting = gw.delete('team/app-0001');
    await Promise.all([first, creating, deleting]);
    fake.reset();
    expect((await gw.describe('team/during'))?.scanOnPush).toBe(true);
    expect(fake.calls).toHaveLength(0);
    expect(await gw.describe('team/app-0001')).toBeUndefined();
  });
});

describe('details', () => {
  let live: LiveRepository;

  beforeEach(async () => {
    const repo = fake.seed('app/details', {}, 0);
    for (let i = 0; i < 2300; i += 1) repo.images.push({ imageDigest: `sha256:${i}`, imageTag: `v${i}` });
    // Three more tags on existing images and two untagged images.
    repo.images.push({ imageDigest: 'sha256:0', imageTag: 'latest' }, { imageDigest: 'sha256:1', imageTag: 'stable' }, { imageDigest: 'sha256:1', imageTag: 'prod' });
    repo.images.push({ imageDigest: 'sha256:untagged-1' }, { imageDigest: 'sha256:untagged-2' });
    repo.tags.set('team', 'platform');
    repo.tags.set('aws-infra-operator.runner.codes/owner', 'ns/app');
    live = (await gateway().describe('app/details'))!;
    fake.reset();
  });

  it('reads tags, both policies and the image count over every page, concurrently', async () => {
    const repo = fake.repos.get('app/details')!;
    repo.lifecyclePolicy = '{"rules":[]}';
    repo.policy = '{"Version":"2012-10-17","Statement":[]}';
    const details = await gateway().details(live);
    expect(details).toEqual({
      tags: { team: 'platform', 'aws-infra-operator.runner.codes/owner': 'ns/app' },
      lifecyclePolicyText: '{"rules":[]}',
      repositoryPolicyText: '{"Version":"2012-10-17","Statement":[]}',
      imageCount: 2302,
      inventory: { imageCount: 2302, archivedImageCount: 0, imageSizeBytes: 2302 * 1000, lastImagePushedAt: new Date('2024-01-01T00:00:00Z') },
      images: expect.any(Array) as unknown,
    });
    expect(details.images).toHaveLength(2302);
    expect(details.images?.find((i) => i.digest === 'sha256:1')?.tags).toEqual(['v1', 'stable', 'prod']);
    expect(fake.count('ListTagsForResource')).toBe(1);
    expect(fake.count('GetLifecyclePolicy')).toBe(1);
    expect(fake.count('GetRepositoryPolicy')).toBe(1);
    // One DescribeImages entry per image, not per tag: 3 pages, as ListImages took for the same images.
    expect(fake.count('DescribeImages')).toBe(3);
    expect(fake.count('ListImages')).toBe(0);
    expect(fake.calls.filter((c) => c.op === 'DescribeImages').map((c) => [c.input.maxResults, c.input.filter])).toEqual([
      [1000, { imageStatus: 'ANY' }],
      [1000, { imageStatus: 'ANY' }],
      [1000, { imageStatus: 'ANY' }],
    ]);
    expect(fake.calls.length).toBe(6);
    expect(fake.maxInFlight).toBeGreaterThanOrEqual(4);
  });

  it('takes the tags already read for the ownership decision instead of reading them again', async () => {
    const gw = gateway();
    const tags = await gw.tags(live);
    expect(fake.ops()).toEqual(['ListTagsForResource']);
    fake.reset();
    const details = await gw.details(live, { tags });
    expect(details.tags).toEqual({ team: 'platform', 'aws-infra-operator.runner.codes/owner': 'ns/app' });
    expect(fake.count('ListTagsForResource')).toBe(0);
    expect(fake.count('DescribeImages')).toBe(3);
  });

  it('reports absent policies as undefined, not as errors', async () => {
    const details = await gateway().details(live);
    expect(details.lifecyclePolicyText).toBeUndefined();
    expect(details.repositoryPolicyText).toBeUndefined();
    expect('lifecyclePolicyText' in details).toBe(false);
    // One request each; the AWS client's metrics hook counts these answers as successes (clients.test.ts).
    expect(fake.count('GetLifecyclePolicy')).toBe(1);
    expect(fake.count('GetRepositoryPolicy')).toBe(1);
  });

  it('counts an empty repository as zero images with one call', async () => {
    fake.seed('app/empty');
    const empty = (await gateway().describe('app/empty'))!;
    fake.reset();
    expect((await gateway().details(empty)).imageCount).toBe(0);
    expect(fake.count('DescribeImages')).toBe(1);
  });

  it('counts archived images apart, and sums the size and times of the active ones', async () => {
    const repo = fake.seed('app/archive');
    repo.images.push({ imageDigest: 'sha256:a', imageTag: 'v1' }, { imageDigest: 'sha256:b', imageTag: 'v2' }, { imageDigest: 'sha256:c' }, { imageDigest: 'sha256:d', imageTag: 'old' });
    repo.imageDetails.set('sha256:a', { imageSizeInBytes: 100, imagePushedAt: new Date('2025-01-01T00:00:00Z'), lastRecordedPullTime: new Date('2025-03-01T00:00:00Z') });
    repo.imageDetails.set('sha256:b', { imageSizeInBytes: 250, imagePushedAt: new Date('2025-02-01T00:00:00Z') });
    repo.imageDetails.set('sha256:c', { imageSizeInBytes: 50, imagePushedAt: new Date('2024-12-01T00:00:00Z') });
    repo.imageDetails.set('sha256:d', { imageSizeInBytes: 9999, imagePushedAt: new Date('2023-01-01T00:00:00Z'), imageStatus: 'ARCHIVED', lastArchivedAt: new Date('2024-06-01T00:00:00Z') });
    const live = (await gateway().describe('app/archive'))!;
    fake.reset();
    const details = await gateway().details(live);
    expect(details.imageCount).toBe(3);
    expect(details.inventory).toEqual({
      imageCount: 3,
      archivedImageCount: 1,
      imageSizeBytes: 400,
      lastImagePushedAt: new Date('2025-02-01T00:00:00Z'),
      lastImagePulledAt: new Date('2025-03-01T00:00:00Z'),
    });
    const archived = details.images?.find((i) => i.digest === 'sha256:d');
    expect(archived).toMatchObject({ storageClass: 'ARCHIVE', transitionedAt: new Date('2024-06-01T00:00:00Z'), tags: ['old'] });
    expect(details.images?.find((i) => i.digest === 'sha256:c')?.tags).toEqual([]);
    expect(fake.count('DescribeImages')).toBe(1);
  });

  it('throws NotFound for a repository deleted meanwhile, and forgets it', async () => {
    const gw = gateway();
    await gw.describe('app/details');
    fake.repos.delete('app/details');
    const err = await rejection(gw.details(live));
    expect(err.kind).toBe('NotFound');
    expect(err.code).toBe('RepositoryNotFoundException');
    fake.reset();
    expect(await gw.describe('app/details')).toBeUndefined();
    expect(fake.calls).toEqual([{ op: 'DescribeRepositories', input: { repositoryNames: ['app/details'] } }]);
  });
});

describe('create', () => {
  it('sends one CreateRepository with settings, encryption and tags', async () => {
    const live = await gateway().create(
      'app/new',
      { imageTagMutability: 'IMMUTABLE', scanOnPush: true, encryption: { encryptionType: 'KMS', kmsKey: 'alias/ecr' } },
      { team: 'platform', 'aws-infra-operator.runner.codes/owner': 'ns/app' },
    );
    expect(fake.calls).toEqual([
      {
        op: 'CreateRepository',
        input: {
          repositoryName: 'app/new',
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/ecr' },
          tags: [
            { Key: 'team', Value: 'platform' },
            { Key: 'aws-infra-operator.runner.codes/owner', Value: 'ns/app' },
          ],
        },
      },
    ]);
    expect(live).toMatchObject({
      name: 'app/new',
      arn: 'arn:aws:ecr:us-east-1:123456789012:repository/app/new',
      imageTagMutability: 'IMMUTABLE',
      scanOnPush: true,
      encryption: { encryptionType: 'KMS', kmsKey: 'alias/ecr' },
    });
    expect(fake.ops()).toEqual(['CreateRepository']);
  });

  it('sends a KMS key only with KMS encryption, and no tags member without tags', async () => {
    await gateway().create('app/aes', { ...defaults, encryption: { encryptionType: 'AES256', kmsKey: 'alias/ignored' } }, {});
    expect(fake.calls[0]?.input).toEqual({
      repositoryName: 'app/aes',
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'AES256' },
    });
  });

  it('creates an exclusion mode with its filters in the one CreateRepository, and KMS_DSSE with its key', async () => {
    const filters = [{ filter: 'latest', filterType: 'WILDCARD' as const }, { filter: 'dev-*', filterType: 'WILDCARD' as const }];
    const live = await gateway().create(
      'app/excl',
      { imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters, scanOnPush: false, encryption: { encryptionType: 'KMS_DSSE', kmsKey: 'alias/dsse' } },
      {},
    );
    expect(fake.calls[0]?.input).toEqual({
      repositoryName: 'app/excl',
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters,
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'KMS_DSSE', kmsKey: 'alias/dsse' },
    });
    expect(live).toMatchObject({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters, encryption: { encryptionType: 'KMS_DSSE' } });
  });

  it('never sends filters with a plain mode (ECR refuses them)', async () => {
    await gateway().create('app/plain', { ...defaults, imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }] }, {});
    expect(fake.calls[0]?.input).not.toHaveProperty('imageTagMutabilityExclusionFilters');
  });

  it('reports an existing repository as a Conflict with AWS words', async () => {
    fake.seed('app/taken');
    const err = await rejection(gateway().create('app/taken', defaults, {}));
    expect(err.kind).toBe('Conflict');
    expect(err.message).toMatch(/^ECR CreateRepository: The repository with name 'app\/taken' already exists/);
    expect(fake.ops()).toEqual(['CreateRepository']);
    expect(fake.repos.get('app/taken')).toBeDefined();
  });
});

describe('update: only the calls needed', () => {
  let live: LiveRepository;

  beforeEach(async () => {
    const repo = fake.seed('app/u');
    repo.lifecyclePolicy = '{"rules":[]}';
    live = (await gateway().describe('app/u'))!;
    fake.reset();
  });

  it('puts the mode with its filters in one PutImageTagMutability, and the next describe shows both', async () => {
    const gw = gateway();
    await gw.describe('app/u');
    const filters = [{ filter: 'latest', filterType: 'WILDCARD' as const }];
    await gw.update(live, { imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters });
    expect(fake.calls.filter((c) => c.op === 'PutImageTagMutability').map((c) => c.input)).toEqual([
      { repositoryName: 'app/u', registryId: '123456789012', imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters },
    ]);
    fake.reset();
    const after = await gw.describe('app/u');
    expect(after).toMatchObject({ imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters });
    await gw.update(after!, { imageTagMutability: 'MUTABLE' });
    expect(fake.calls.find((c) => c.op === 'PutImageTagMutability')?.input).toEqual({ repositoryName: 'app/u', registryId: '123456789012', imageTagMutability: 'MUTABLE' });
    expect((await gw.describe('app/u'))?.imageTagMutabilityExclusionFilters).toBeUndefined();
  });

  it('makes no call for no changes', async () => {
    await gateway().update(live, {});
    await gateway().update(live, { tagsToSet: {}, tagKeysToRemove: [] });
    expect(fake.calls).toHaveLength(0);
  });

  it.each([
    [{ imageTagMutability: 'IMMUTABLE' as const }, ['PutImageTagMutability']],
    [{ scanOnPush: true }, ['PutImageScanningConfiguration']],
    [{ lifecyclePolicy: { text: '{"rules":[{"rulePriority":1}]}' } }, ['PutLifecyclePolicy']],
    [{ lifecyclePolicy: 'delete' as const }, ['DeleteLifecyclePolicy']],
    [{ repositoryPolicy: { text: '{"Statement":[]}' } }, ['SetRepositoryPolicy']],
    [{ repositoryPolicy: 'delete' as const }, ['DeleteRepositoryPolicy']],
    [{ tagsToSet: { a: '1' } }, ['TagResource']],
    [{ tagKeysToRemove: ['a'] }, ['UntagResource']],
  ])('%j -> %j', async (changes, ops) => {
    await gateway().update(live, changes);
    expect(fake.ops()).toEqual(ops);
  });

  it('passes the values through', async () => {
    await gateway().update(live, {
      imageTagMutability: 'IMMUTABLE',
      scanOnPush: true,
      lifecyclePolicy: { text: 'L' },
      repositoryPolicy: { text: 'P' },
      tagsToSet: { a: '1' },
      tagKeysToRemove: ['b'],
    });
    const input = (op: string) => fake.calls.find((c) => c.op === op)?.input;
    const repo = { repositoryName: 'app/u', registryId: '123456789012' };
    expect(input('PutImageTagMutability')).toEqual({ ...repo, imageTagMutability: 'IMMUTABLE' });
    expect(input('PutImageScanningConfiguration')).toEqual({ ...repo, imageScanningConfiguration: { scanOnPush: true } });
    expect(input('PutLifecyclePolicy')).toEqual({ ...repo, lifecyclePolicyText: 'L' });
    expect(input('SetRepositoryPolicy')).toEqual({ ...repo, policyText: 'P' });
    expect(input('TagResource')).toEqual({ resourceArn: live.arn, tags: [{ Key: 'a', Value: '1' }] });
    expect(input('UntagResource')).toEqual({ resourceArn: live.arn, tagKeys: ['b'] });
    expect(fake.maxInFlight).toBeGreaterThanOrEqual(5);
  });

  it('removes tags before adding, in calls of at most 50', async () => {
    const tagsToSet = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`k${i}`, `v${i}`]));
    const tagKeysToRemove = Array.from({ length: 60 }, (_, i) => `old${i}`);
    await gateway().update(live, { tagsToSet, tagKeysToRemove });
    expect(fake.ops()).toEqual(['UntagResource', 'UntagResource', 'TagResource', 'TagResource', 'TagResource']);
    const sizes = fake.calls.map((c) => ((c.input.tags ?? c.input.tagKeys) as unknown[]).length);
    expect(sizes).toEqual([50, 10, 50, 50, 20]);
    expect(fake.repos.get('app/u')!.tags.size).toBe(120);
  });

  it('accepts deleting a policy that is already gone', async () => {
    await gateway().update(live, { repositoryPolicy: 'delete' });
    // One request; the AWS client's metrics hook counts the not-found answer as a success (clients.test.ts).
    expect(fake.ops()).toEqual(['DeleteRepositoryPolicy']);
  });

  it('completes the other changes and throws the failure the user must fix first', async () => {
    fake.failNext('TagResource', awsError('ThrottlingException', 'Rate exceeded'));
    fake.failNext('SetRepositoryPolicy', new InvalidParameterException({ message: 'Invalid repository policy provided', ...meta }));
    const err = await rejection(
      gateway().update(live, { scanOnPush: true, tagsToSet: { a: '1' }, repositoryPolicy: { text: '{"Statement":"bad"}' } }),
    );
    expect(err.kind).toBe('InvalidParameter');
    expect(err.message).toBe('ECR SetRepositoryPolicy: Invalid repository policy provided');
    expect(fake.repos.get('app/u')!.repository.imageScanningConfiguration).toEqual({ scanOnPush: true });
    // Each change was one request: the first succeeded, the other two failed and changed nothing.
    expect(fake.ops().sort()).toEqual(['PutImageScanningConfiguration', 'SetRepositoryPolicy', 'TagResource']);
    expect(fake.repos.get('app/u')!.tags.has('a')).toBe(false);
    expect(fake.repos.get('app/u')!.policy).toBeUndefined();
  });

  it('throws a retryable failure when it is the only one', async () => {
    fake.failNext('PutLifecyclePolicy', awsError('ThrottlingException', 'Rate exceeded'));
    const err = await rejection(gateway().update(live, { lifecyclePolicy: { text: '{}' } }));
    expect(err.kind).toBe('Throttled');
    expect(err.retryable).toBe(true);
  });

  it('throws NotFound when the repository is gone', async () => {
    fake.repos.delete('app/u');
    const err = await rejection(gateway().update(live, { lifecyclePolicy: 'delete' }));
    expect(err.kind).toBe('NotFound');
    expect(err.code).toBe('RepositoryNotFoundException');
  });
});

describe('delete', () => {
  it('deletes with force (images included)', async () => {
    fake.seed('app/d', {}, 5);
    await gateway().delete('app/d');
    expect(fake.calls).toEqual([{ op: 'DeleteRepository', input: { repositoryName: 'app/d', force: true } }]);
    expect(fake.repos.has('app/d')).toBe(false);
  });

  it('treats a repository that is already gone as deleted', async () => {
    await gateway().delete('app/never');
    // One request; the AWS client's metrics hook counts the not-found answer as a success (clients.test.ts).
    expect(fake.ops()).toEqual(['DeleteRepository']);
  });

  it('throws other failures classified', async () => {
    fake.seed('app/d');
    fake.failNext('DeleteRepository', awsError('AccessDeniedException', 'not authorized to perform: ecr:DeleteRepository'));
    const err = await rejection(gateway().delete('app/d'));
    expect(err.kind).toBe('AccessDenied');
    expect(err.retryable).toBe(false);
  });
});

describe('requests', () => {
  // Metrics (outcome, duration) are the AWS client's middleware: clients.test.ts.
  it('sends one request per page of names', async () => {
    const names = seedMany(150);
    await gateway().prefetch(names, 1_000);
    expect(fake.calls).toHaveLength(2);
    expect(fake.ops()).toEqual(['DescribeRepositories', 'DescribeRepositories']);
    expect(fake.calls.map((c) => (c.input.repositoryNames as unknown[]).length)).toEqual([100, 50]);
  });
});

describe('fresh reads for a reconcile the user asked for', () => {
  it('describe({ fresh: true }) asks AWS for the repository now, past a young listing, and keeps the answer', async () => {
    fake.seed('team/app', { imageTagMutability: 'IMMUTABLE' });
    fake.seed('team/other');
    const gw = gateway(90_000);
    expect((await gw.describe('team/app'))?.imageTagMutability).toBe('IMMUTABLE');
    fake.seed('team/app', { imageTagMutability: 'MUTABLE' });
    now += 1_000;
    expect((await gw.describe('team/app'))?.imageTagMutability).toBe('IMMUTABLE');
    fake.reset();
    expect((await gw.describe('team/app', { fresh: true }))?.imageTagMutability).toBe('MUTABLE');
    expect(fake.calls.map((c) => c.input.repositoryNames)).toEqual([['team/app']]);
    // What the fresh read learnt serves the next shared read too.
    expect((await gw.describe('team/app'))?.imageTagMutability).toBe('MUTABLE');
  });

  it('describe({ fresh: true }) of a repository deleted behind the listing finds it gone', async () => {
    fake.seed('team/app');
    const gw = gateway(90_000);
    expect(await gw.describe('team/app')).toBeDefined();
    await gateway().delete('team/app');
    expect(await gw.describe('team/app', { fresh: true })).toBeUndefined();
    expect(await gw.describe('team/app')).toBeUndefined();
  });
});

describe('isExpectedAbsence: the one table of "not found" answers that are successes', () => {
  it('knows each operation whose not-found is a normal state, and nothing else', () => {
    expect(isExpectedAbsence('GetLifecyclePolicy', awsError('LifecyclePolicyNotFoundException', 'none'))).toBe(true);
    expect(isExpectedAbsence('GetRepositoryPolicy', awsError('RepositoryPolicyNotFoundException', 'none'))).toBe(true);
    expect(isExpectedAbsence('DeleteRepository', awsError('RepositoryNotFoundException', 'gone'))).toBe(true);
    expect(isExpectedAbsence('GetLifecyclePolicy', awsError('RepositoryNotFoundException', 'gone'))).toBe(false);
    expect(isExpectedAbsence('PutLifecyclePolicy', awsError('RepositoryNotFoundException', 'gone'))).toBe(false);
    expect(isExpectedAbsence('GetLifecyclePolicy', awsError('ThrottlingException', 'slow down'))).toBe(false);
  });
});
