/**
 * The ECR gateway against a real moto server, behind the layer that pages and counts calls as AWS
 * would (test/e2e/env/aws-proxy.ts). Repository names carry a per-run prefix: every integration
 * test file shares the one moto.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { DescribeImagesCommand, ECRClient, ListImagesCommand, PutImageCommand, PutImageTagMutabilityCommand, TagResourceCommand, UpdateImageStorageClassCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsClientFactory } from '../../src/aws/clients.js';
import { EcrGateway, type RepositorySettings } from '../../src/aws/ecr.js';
import { AwsError } from '../../src/aws/errors.js';
import { policiesEqual } from '../../src/aws/policy.js';

const endpoint = inject('awsEndpoint');
const run = `it${randomBytes(3).toString('hex')}`;
const defaults: RepositorySettings = { imageTagMutability: 'MUTABLE', scanOnPush: false, encryption: { encryptionType: 'AES256' } };

let client: ECRClient;

function newClient(): ECRClient {
  return new ECRClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

const factories: AwsClientFactory[] = [];

/**
 * A gateway on an ECR client of its own, built as the operator builds them (AwsClientFactory), that
 * counts its calls by operation and outcome through the factory's metrics hook: what
 * aws_api_calls_total counts.
 */
function gateway(snapshotMaxAgeMs?: number) {
  const counts: Record<string, number> = {};
  const factory = new AwsClientFactory({
    env: {},
    requestsPerSecond: 10_000,
    operationRates: false,
    adaptive: false,
    maxAttempts: 1,
    onCall: (service, operation, outcome) => {
      if (service !== 'ECR') return;
      const key = `${operation}:${outcome}`;
      counts[key] = (counts[key] ?? 0) + 1;
    },
  });
  factories.push(factory);
  const session = factory.session('integration/gateway', 'fp', { region: 'us-east-1', endpoint, staticKeys: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const gw = new EcrGateway({
    client: session.ecr,
    ...(snapshotMaxAgeMs !== undefined ? { snapshotMaxAgeMs } : {}),
  });
  return { gw, counts, total: () => Object.values(counts).reduce((a, b) => a + b, 0) };
}

/**
 * A KMS call through awscli against moto's KMS, which answers at the same endpoint as ECR (the
 * layer in front of moto resolves a repository's key there, as ECR asks KMS).
 */
async function kms<T>(args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)('aws', ['kms', ...args, '--endpoint-url', endpoint, '--region', 'us-east-1', '--output', 'json'], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_PAGER: '' },
  });
  // Some calls (create-alias) print nothing on success.
  return (stdout.trim() === '' ? undefined : JSON.parse(stdout)) as T;
}

/** A new KMS key; with an alias when one is named. Returns the key's ARN. */
async function createKey(alias?: string): Promise<string> {
  const created = await kms<{ KeyMetadata: { KeyId: string; Arn: string } }>(['create-key', '--description', `integration ${run}`]);
  if (alias) await kms<undefined>(['create-alias', '--alias-name', alias, '--target-key-id', created.KeyMetadata.KeyId]);
  return created.KeyMetadata.Arn;
}

async function proxyCalls(): Promise<Record<string, number>> {
  const res = await fetch(`${endpoint}/__aws/calls`);
  expect(res.ok).toBe(true);
  return (await res.json()) as Record<string, number>;
}

function name(suffix: string): string {
  return `${run}/${suffix}`;
}

async function rejection(promise: Promise<unknown>): Promise<AwsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AwsError);
  return err as AwsError;
}

/** A distinct, minimal image manifest (moto derives the digest from the manifest text). */
function manifest(seed: string, configSize = 7023): string {
  const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    // moto reports the config size as the image size.
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: configSize, digest: digest(`config-${seed}`) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 32654, digest: digest(`layer-${seed}`) }],
  });
}

async function putImages(repositoryName: string, count: number, concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await client.send(new PutImageCommand({ repositoryName, imageManifest: manifest(`${repositoryName}-${i}`, 1000 + i), imageTag: `v${i}` }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function pool<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

const lifecycleText = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'expire untagged after 14 days',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
      action: { type: 'expire' },
    },
  ],
});

/** Archive images nobody pulled for 90 days; delete them a year after archiving. */
const archivePolicyText = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'archive images not pulled for 90 days',
      selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
      action: { type: 'transition', targetStorageClass: 'archive' },
    },
    {
      rulePriority: 2,
      description: 'delete images archived for a year',
      selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 },
      action: { type: 'expire' },
    },
  ],
});

const repositoryPolicyText = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'AllowPull',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
    },
  ],
});

beforeAll(() => {
  client = newClient();
});

afterAll(() => {
  client.destroy();
  for (const factory of factories.splice(0)) factory.close();
});

describe('EcrGateway against moto', () => {
  it('creates a repository with every setting in one call, and a full create costs 4 calls', async () => {
    // The key exists before the repository names it by alias; ECR reports the key's ARN.
    const alias = `alias/ecr-test-${run}`;
    const keyArn = await createKey(alias);
    expect(keyArn).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\/[0-9a-f-]{36}$/);
    const { gw, counts, total } = gateway();
    const repo = name('full');
    // The reconciler's path for a new repository: observe, create, then the two policies.
    expect(await gw.describe(repo)).toBeUndefined();
    const created = await gw.create(
      repo,
      { imageTagMutability: 'IMMUTABLE', scanOnPush: true, encryption: { encryptionType: 'KMS', kmsKey: alias } },
      { team: 'platform', 'aws-infra-operator.runner.codes/owner': 'ns/full' },
    );
    await gw.update(created, { lifecyclePolicy: { text: lifecycleText }, repositoryPolicy: { text: repositoryPolicyText } });
    expect(counts).toEqual({
      'DescribeRepositories:success': 1,
      'CreateRepository:success': 1,
      'PutLifecyclePolicy:success': 1,
      'SetRepositoryPolicy:success': 1,
    });
    expect(total()).toBe(4);

    expect(created).toMatchObject({
      name: repo,
      registryId: '123456789012',
      arn: `arn:aws:ecr:us-east-1:123456789012:repository/${repo}`,
      uri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${repo}`,
      imageTagMutability: 'IMMUTABLE',
      scanOnPush: true,
      encryption: { encryptionType: 'KMS', kmsKey: keyArn },
    });
    expect(created.createdAt).toBeInstanceOf(Date);

    // A new gateway sees the same, asking by name.
    const fresh = gateway().gw;
    const described = await fresh.describe(repo);
    expect(described).toEqual(created);
    const details = await fresh.details(described!);
    expect(details.tags).toEqual({ team: 'platform', 'aws-infra-operator.runner.codes/owner': 'ns/full' });
    expect(policiesEqual(details.lifecyclePolicyText, lifecycleText)).toBe(true);
    expect(policiesEqual(details.repositoryPolicyText, repositoryPolicyText)).toBe(true);
    expect(details.imageCount).toBe(0);
  });

  it('reports absent policies as undefined', async () => {
    const { gw, counts } = gateway();
    const live = await gw.create(name('bare'), defaults, {});
    expect(live.encryption).toEqual({ encryptionType: 'AES256' });
    const details = await gw.details(live);
    expect(details).toEqual({ tags: {}, imageCount: 0, inventory: { imageCount: 0, archivedImageCount: 0, imageSizeBytes: 0 }, images: [] });
    expect(counts['GetLifecyclePolicy:success']).toBe(1);
    expect(counts['GetRepositoryPolicy:success']).toBe(1);
    expect(Object.keys(counts).filter((k) => k.endsWith(':error'))).toEqual([]);
  });

  it('updates each field, with only the calls needed', async () => {
    const { gw, counts } = gateway();
    const repo = name('update');
    let live = await gw.create(repo, defaults, { keep: 'yes', drop: 'me' });

    // As the reconciler does: each update starts from what the gateway describes now.
    await gw.update(live, { imageTagMutability: 'IMMUTABLE' });
    live = (await gw.describe(repo))!;
    await gw.update(live, { scanOnPush: true });
    await gw.update(live, { lifecyclePolicy: { text: lifecycleText } });
    await gw.update(live, { repositoryPolicy: { text: repositoryPolicyText } });
    await gw.update(live, { tagsToSet: { keep: 'changed', added: 'new' }, tagKeysToRemove: ['drop'] });
    expect(counts).toEqual({
      'CreateRepository:success': 1,
      'PutImageTagMutability:success': 1,
      'PutImageScanningConfiguration:success': 1,
      'PutLifecyclePolicy:success': 1,
      'SetRepositoryPolicy:success': 1,
      'UntagResource:success': 1,
      'TagResource:success': 1,
    });

    const check = gateway().gw;
    const after = await check.describe(repo);
    expect(after).toMatchObject({ imageTagMutability: 'IMMUTABLE', scanOnPush: true });
    // The gateway's own view agrees without asking again.
    expect(await gw.describe(repo)).toMatchObject({ imageTagMutability: 'IMMUTABLE', scanOnPush: true });
    const details = await check.details(after!);
    expect(details.tags).toEqual({ keep: 'changed', added: 'new' });
    expect(policiesEqual(details.lifecyclePolicyText, lifecycleText)).toBe(true);
    expect(policiesEqual(details.repositoryPolicyText, repositoryPolicyText)).toBe(true);

    // Back, and policies removed; removing them again is not an error.
    await gw.update(after!, { imageTagMutability: 'MUTABLE', scanOnPush: false, lifecyclePolicy: 'delete', repositoryPolicy: 'delete' });
    await gw.update(after!, { lifecyclePolicy: 'delete', repositoryPolicy: 'delete' });
    const reverted = await gateway().gw.describe(repo);
    expect(reverted).toMatchObject({ imageTagMutability: 'MUTABLE', scanOnPush: false });
    const cleared = await check.details(reverted!);
    expect(cleared.lifecyclePolicyText).toBeUndefined();
    expect(cleared.repositoryPolicyText).toBeUndefined();
  });

  it("sees settings changed outside once the snapshot has aged", async () => {
    const { gw } = gateway(200);
    const repo = name('drift');
    await gw.create(repo, defaults, {});
    await client.send(new PutImageTagMutabilityCommand({ repositoryName: repo, imageTagMutability: 'IMMUTABLE' }));
    await client.send(new TagResourceCommand({ resourceArn: `arn:aws:ecr:us-east-1:123456789012:repository/${repo}`, tags: [{ Key: 'console', Value: 'edit' }] }));
    await new Promise((r) => setTimeout(r, 250));
    const live = await gw.describe(repo);
    expect(live?.imageTagMutability).toBe('IMMUTABLE');
    expect((await gw.details(live!)).tags).toEqual({ console: 'edit' });
  });

  it('passes AWS errors through classified, in AWS words', async () => {
    const { gw } = gateway();
    const repo = name('errors');
    const live = await gw.create(repo, defaults, {});

    const exists = await rejection(gw.create(repo, defaults, {}));
    expect(exists.kind).toBe('Conflict');
    expect(exists.code).toBe('RepositoryAlreadyExistsException');
    expect(exists.message).toMatch(/^ECR CreateRepository: .*already exists/);

    const badPolicy = await rejection(gw.update(live, { repositoryPolicy: { text: '{"Version":"2012-10-17","Statement":"nope"}' } }));
    expect(badPolicy.kind).toBe('InvalidParameter');
    expect(badPolicy.retryable).toBe(false);
    expect(badPolicy.message).toMatch(/^ECR SetRepositoryPolicy: /);

    const badLifecycle = await rejection(gw.update(live, { lifecyclePolicy: { text: '{"rules":[{"rulePriority":"x"}]}' } }));
    expect(badLifecycle.kind).toBe('InvalidParameter');

    const badName = await rejection(gw.create(`${run}/Bad_Name`, defaults, {}));
    expect(badName.kind).toBe('InvalidParameter');
  });

  it('deletes a repository with its images; deleting it again is success', async () => {
    const { gw } = gateway();
    const repo = name('with-images');
    const live = await gw.create(repo, defaults, {});
    await putImages(repo, 5);
    expect((await gw.details(live)).imageCount).toBe(5);
    await gw.delete(repo);
    expect(await gw.describe(repo)).toBeUndefined();
    expect(await gateway().gw.describe(repo)).toBeUndefined();
    await gw.delete(repo);
    const gone = await rejection(gw.details(live));
    expect(gone.kind).toBe('NotFound');
  });

  it('inventories images over every page: 1,050 images and their size, an image with two tags counted once', async () => {
    const { gw, counts } = gateway();
    const repo = name('many-images');
    const live = await gw.create(repo, defaults, {});
    await putImages(repo, 1050);
    // A second tag on an existing image is the same image.
    await client.send(new PutImageCommand({ repositoryName: repo, imageManifest: manifest(`${repo}-0`, 1000), imageTag: 'latest' }));
    const before = (await proxyCalls())['ECR:DescribeImages'] ?? 0;
    const details = await gw.details(live);
    expect(details.imageCount).toBe(1050);
    // Sizes 1000 + i for i in 0..1049.
    expect(details.inventory).toMatchObject({ imageCount: 1050, archivedImageCount: 0, imageSizeBytes: 1050 * 1000 + (1049 * 1050) / 2 });
    expect(details.inventory?.lastImagePushedAt).toBeInstanceOf(Date);
    expect(details.images?.find((i) => i.tags.includes('latest'))?.tags.sort()).toEqual(['latest', 'v0']);
    // Two pages of 1,000: what ListImages cost for the same images, and no ListImages at all.
    expect(counts['DescribeImages:success']).toBe(2);
    expect(counts['ListImages:success']).toBeUndefined();
    expect(((await proxyCalls())['ECR:DescribeImages'] ?? 0) - before).toBe(2);
  }, 180_000);

  it('creates IMMUTABLE_WITH_EXCLUSION with its filters, changes them, and sees drift made outside', async () => {
    const { gw } = gateway(0);
    const repo = name('exclusions');
    const filters = [{ filter: 'latest', filterType: 'WILDCARD' as const }, { filter: 'dev-*', filterType: 'WILDCARD' as const }];
    await gw.create(repo, { ...defaults, imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters }, {});
    const created = await gateway(0).gw.describe(repo);
    expect(created?.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(created?.imageTagMutabilityExclusionFilters).toEqual(filters);

    const changed = [{ filter: 'latest', filterType: 'WILDCARD' as const }, { filter: 'feature-*', filterType: 'WILDCARD' as const }];
    await gw.update(created!, { imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: changed });
    expect((await gateway(0).gw.describe(repo))?.imageTagMutabilityExclusionFilters).toEqual(changed);

    // Drift, as awscli would make it.
    await client.send(new PutImageTagMutabilityCommand({ repositoryName: repo, imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filter: 'x*', filterType: 'WILDCARD' }] }));
    const drifted = await gateway(0).gw.describe(repo);
    expect(drifted).toMatchObject({ imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filter: 'x*', filterType: 'WILDCARD' }] });

    // Back to a plain mode: the filters go.
    await gw.update(drifted!, { imageTagMutability: 'IMMUTABLE' });
    const plain = await gateway(0).gw.describe(repo);
    expect(plain?.imageTagMutability).toBe('IMMUTABLE');
    expect(plain?.imageTagMutabilityExclusionFilters).toBeUndefined();
  });

  it('creates a KMS_DSSE repository and reports it as such', async () => {
    const { gw } = gateway(0);
    const repo = name('dsse');
    const key = await createKey();
    await gw.create(repo, { ...defaults, encryption: { encryptionType: 'KMS_DSSE', kmsKey: key } }, {});
    expect((await gateway(0).gw.describe(repo))?.encryption).toEqual({ encryptionType: 'KMS_DSSE', kmsKey: key });
  });

  it('refuses a KMS key that does not exist with KMSKeyInvalid, and creates nothing', async () => {
    const { gw } = gateway(0);
    const repo = name('missing-key');
    const err = await rejection(gw.create(repo, { ...defaults, encryption: { encryptionType: 'KMS', kmsKey: `alias/absent-${run}` } }, {}));
    expect(err.kind).toBe('KMSKeyInvalid');
    expect(err.code).toBe('KmsException');
    expect(err.retryable).toBe(false);
    expect(await gateway(0).gw.describe(repo)).toBeUndefined();
  });

  it('keeps an archive lifecycle policy and counts archived images apart from active ones, as ECR does', async () => {
    const { gw } = gateway(0);
    const repo = name('archive');
    const live = await gw.create(repo, defaults, {});
    await putImages(repo, 3);
    const all = await client.send(new DescribeImagesCommand({ repositoryName: repo }));
    const digests = (all.imageDetails ?? []).map((d) => d.imageDigest as string).sort();
    expect(digests).toHaveLength(3);
    const moved = await client.send(new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: { imageDigest: digests[0] }, targetStorageClass: 'ARCHIVE' }));
    expect(moved.imageStatus).toBe('ARCHIVED');

    // Without a filter ECR answers with active images only; imageStatus ARCHIVED or ANY asks for more.
    expect((await client.send(new DescribeImagesCommand({ repositoryName: repo }))).imageDetails?.map((d) => d.imageDigest).sort()).toEqual(digests.slice(1));
    expect((await client.send(new ListImagesCommand({ repositoryName: repo }))).imageIds).toHaveLength(2);
    const archived = (await client.send(new DescribeImagesCommand({ repositoryName: repo, filter: { imageStatus: 'ARCHIVED' } }))).imageDetails ?? [];
    expect(archived.map((d) => [d.imageDigest, d.imageStatus])).toEqual([[digests[0], 'ARCHIVED']]);
    expect(archived[0]?.lastArchivedAt).toBeInstanceOf(Date);
    const any = await client.send(new DescribeImagesCommand({ repositoryName: repo, filter: { imageStatus: 'ANY' }, maxResults: 2 }));
    expect(any.imageDetails).toHaveLength(2);
    expect(any.nextToken).toBeDefined();

    const details = await gw.details(live);
    expect(details.imageCount).toBe(2);
    expect(details.inventory?.archivedImageCount).toBe(1);

    // The archive grammar, which moto alone refuses, is kept and read back as written.
    await gw.update(live, { lifecyclePolicy: { text: archivePolicyText } });
    expect(policiesEqual((await gw.details(live)).lifecyclePolicyText, archivePolicyText)).toBe(true);

    // A deleted repository takes its archive with it: one created again under the name starts empty.
    await gw.delete(repo);
    const again = await gw.create(repo, defaults, {});
    const fresh = await gw.details(again);
    expect(fresh.lifecyclePolicyText).toBeUndefined();
    expect(fresh.inventory?.archivedImageCount).toBe(0);
  });

  it('a drift sweep over 150 repositories costs at most 2 DescribeRepositories calls', async () => {
    const names = Array.from({ length: 150 }, (_, i) => name(`sweep-${String(i).padStart(3, '0')}`));
    const setup = gateway().gw;
    await pool(names, 16, (n) => setup.create(n, defaults, { sweep: 'yes' }));

    const { gw, counts } = gateway();
    const before = (await proxyCalls())['ECR:DescribeRepositories'] ?? 0;
    // As reconcile workers would: several at a time, each asking for its own repository.
    // The sweep reads its batch by name first (150 names: 2 calls), then each reconcile describes its own.
    await gw.prefetch(names, 60_000);
    const seen = await pool(names, 8, (n) => gw.describe(n));
    expect(seen.map((r) => r?.name)).toEqual(names);
    const after = (await proxyCalls())['ECR:DescribeRepositories'] ?? 0;
    expect(counts['DescribeRepositories:success']).toBeLessThanOrEqual(2);
    expect(after - before).toBeLessThanOrEqual(2);
    expect(after - before).toBeGreaterThanOrEqual(1);

    // The full sweep reads details too: four calls per repository, none of them mutating.
    const detailsCalls = gateway();
    await pool(seen, 8, (live) => detailsCalls.gw.details(live!));
    expect(detailsCalls.counts).toEqual({
      'ListTagsForResource:success': 150,
      'GetLifecyclePolicy:success': 150,
      'GetRepositoryPolicy:success': 150,
      'DescribeImages:success': 150,
    });
  }, 120_000);

  it('finds a repository created elsewhere after it read others', async () => {
    const { gw, counts } = gateway(60_000);
    await gw.describe(name('anything'));
    const other = gateway().gw;
    await other.create(name('late'), defaults, {});
    expect((await gw.describe(name('late')))?.name).toBe(name('late'));
    expect(counts['DescribeRepositories:success']).toBe(2);
  });

  it('a batch that names a repository ECR does not have still describes the others', async () => {
    const { gw, counts } = gateway(60_000);
    const here = [name('batch-a'), name('batch-b')];
    for (const n of here) await gw.create(n, defaults, {});
    const fresh = gateway(60_000);
    await fresh.gw.prefetch([here[0]!, name('batch-missing'), here[1]!], 60_000);
    expect((await fresh.gw.describe(here[1]!))?.name).toBe(here[1]);
    expect(await fresh.gw.describe(name('batch-missing'))).toBeUndefined();
    // The batch naming the missing repository is answered RepositoryNotFoundException: an expected
    // absence, counted as a success like the retry without that name.
    expect(fresh.counts).toEqual({ 'DescribeRepositories:success': 2 });
    expect(counts['CreateRepository:success']).toBe(2);
  });
});
