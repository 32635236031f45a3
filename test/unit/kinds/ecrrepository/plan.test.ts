import { describe, expect, it } from 'vitest';
import { OWNER_TAG } from '../../../../src/api/types.js';
import { type ECRRepository } from '../../../../src/kinds/ecrrepository/types.js';
import type { LiveRepository, RepositoryDetails } from '../../../../src/aws/ecr.js';
import { LifecyclePreviews } from '../../../../src/lifecycle/previews.js';
import {
  changesBetween,
  currentLifecyclePreview,
  describeChanges,
  desiredRepository,
  encryptionMismatch,
  isEmpty,
  LIFECYCLE_POLICY_UNSAFE,
  lifecycleChangeNotice,
  lifecycleGate,
  lifecyclePreview,
  liveAfter,
  ownedByObject,
  ownerForTenant,
  ownershipOf,
  providerMoved,
  repositoryLocation,
  repositoryStatus,
} from '../../../../src/kinds/ecrrepository/plan.js';

const lifecycle = '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}';
const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["ecr:BatchGetImage"]}]}';

function repo(spec: Partial<ECRRepository['spec']> = {}): ECRRepository {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'ECRRepository',
    metadata: { name: 'app', namespace: 'team' },
    spec: { providerRef: { name: 'aws' }, repositoryName: 'team/app', ...spec },
  };
}

const live: LiveRepository = {
  name: 'team/app',
  arn: 'arn:aws:ecr:us-east-1:123456789012:repository/team/app',
  uri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app',
  registryId: '123456789012',
  createdAt: new Date('2026-01-02T03:04:05.678Z'),
  imageTagMutability: 'MUTABLE',
  scanOnPush: false,
  encryption: { encryptionType: 'AES256' },
};

function details(over: Partial<RepositoryDetails> = {}): RepositoryDetails {
  return { tags: { [OWNER_TAG]: 'team/app' }, imageCount: 0, ...over };
}

describe('desiredRepository', () => {
  it('applies the documented defaults', () => {
    const d = desiredRepository(repo(), undefined);
    expect(d.settings).toEqual({ imageTagMutability: 'MUTABLE', scanOnPush: false, encryption: { encryptionType: 'AES256' } });
    expect(d.tags).toEqual({ [OWNER_TAG]: 'team/app' });
    expect(d.lifecyclePolicyText).toBeUndefined();
  });

  it('merges the spec tags over the provider defaultTags and always carries the owner tag', () => {
    const d = desiredRepository(repo({ tags: { environment: 'prod', team: 'a' } }), { environment: 'test', 'managed-by': 'infra-operator' });
    expect(d.tags).toEqual({ environment: 'prod', team: 'a', 'managed-by': 'infra-operator', [OWNER_TAG]: 'team/app' });
  });

  it('passes the KMS key only with KMS encryption', () => {
    expect(desiredRepository(repo({ encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/ecr' } }), undefined).settings.encryption)
      .toEqual({ encryptionType: 'KMS', kmsKey: 'alias/ecr' });
  });
});

describe('ownershipOf', () => {
  it('tells ours, unowned and another owner apart', () => {
    expect(ownershipOf({ [OWNER_TAG]: 'team/app' }, repo())).toBe('ours');
    expect(ownershipOf({ other: 'x' }, repo())).toBe('unowned');
    expect(ownershipOf({ [OWNER_TAG]: 'team/other' }, repo())).toEqual({ otherOwner: 'team/other' });
  });

  it('with a cluster name: the prefixed value is ours; the legacy value only on the repository this object recorded', () => {
    const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/team/app';
    const recorded: ECRRepository = { ...repo(), status: { repositoryArn: arn } };
    const cluster = { clusterName: 'prod', liveArn: arn };
    expect(ownershipOf({ [OWNER_TAG]: 'prod/team/app' }, repo(), cluster)).toBe('ours');
    expect(ownershipOf({ [OWNER_TAG]: 'team/app' }, recorded, cluster)).toBe('legacy');
    expect(ownershipOf({ [OWNER_TAG]: 'team/app' }, repo(), cluster)).toEqual({ otherOwner: 'team/app', legacyOfThisName: true });
    expect(ownershipOf({ [OWNER_TAG]: 'team/app' }, recorded, { clusterName: 'prod', liveArn: `${arn}-other` })).toEqual({ otherOwner: 'team/app', legacyOfThisName: true });
    expect(ownershipOf({ [OWNER_TAG]: 'east/team/app' }, recorded, cluster)).toEqual({ otherOwner: 'east/team/app' });
    // Without a cluster name there is no legacy value: the prefixed value of a cluster is another owner.
    expect(ownershipOf({ [OWNER_TAG]: 'prod/team/app' }, recorded, { liveArn: arn })).toEqual({ otherOwner: 'prod/team/app' });
  });

  it('desired tags carry the cluster-prefixed owner value, shortened to ECR\'s 256 characters', () => {
    expect(desiredRepository(repo(), undefined, 'prod').tags[OWNER_TAG]).toBe('prod/team/app');
    const long = { ...repo(), metadata: { ...repo().metadata, name: 'a'.repeat(253) } };
    expect(desiredRepository(long, undefined, 'prod').tags[OWNER_TAG]).toHaveLength(256);
  });
});

describe('ownership of the repository this object recorded', () => {
  const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/team/app';
  const recorded: ECRRepository = { ...repo(), status: { repositoryArn: arn, creationDate: '2026-01-02T03:04:05Z' } };

  it('a recorded repository without owner tag is still this object\'s; any other untagged one is unowned', () => {
    expect(ownershipOf({}, recorded, { liveArn: arn, liveCreatedAt: live.createdAt })).toBe('recorded');
    expect(ownershipOf({}, recorded, { liveArn: arn })).toBe('recorded');
    expect(ownershipOf({}, repo(), { liveArn: arn })).toBe('unowned');
    expect(ownershipOf({}, recorded, { liveArn: `${arn}-2` })).toBe('unowned');
    expect(ownedByObject('recorded')).toBe(true);
    expect(ownedByObject('unowned')).toBe(false);
    expect(ownedByObject({ otherOwner: 'team/x' })).toBe(false);
  });

  it('a repository created again under the same name (same ARN, another creation time) is not the recorded one', () => {
    expect(ownershipOf({}, recorded, { liveArn: arn, liveCreatedAt: new Date('2026-05-05T00:00:00Z') })).toBe('unowned');
  });

  it('another owner\'s tag wins over the record', () => {
    expect(ownershipOf({ [OWNER_TAG]: 'team/other' }, recorded, { liveArn: arn })).toEqual({ otherOwner: 'team/other' });
  });
});

describe('ownerForTenant: another namespace\'s object is never named', () => {
  it.each([
    ['team/other', undefined, 'ECRRepository team/other'],
    ['payments/billing', undefined, 'another object'],
    ['prod/team/other', undefined, 'another object'],
    ['prod/team/other', 'prod', 'ECRRepository team/other'],
    ['dev/team/other', 'prod', 'another object'],
    ['team/other', 'prod', 'another object'],
    [`team/${'a'.repeat(200)}_0123456789abcdef`, undefined, 'another object'],
    ['team/', undefined, 'another object'],
    ['teammate/x', undefined, 'another object'],
  ])('%s (cluster %s): %s', (owner, cluster, expected) => {
    expect(ownerForTenant(owner, repo(), cluster)).toBe(expected);
  });
});

describe('providerMoved: the recorded repository is elsewhere than the provider now acts', () => {
  const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/team/app';
  const recorded: ECRRepository = { ...repo(), status: { repositoryArn: arn } };

  it('reads region and account from a repository ARN of any partition', () => {
    expect(repositoryLocation(arn)).toEqual({ region: 'us-east-1', account: '123456789012' });
    expect(repositoryLocation('arn:aws-us-gov:ecr:us-gov-west-1:210987654321:repository/a/b')).toEqual({ region: 'us-gov-west-1', account: '210987654321' });
    expect(repositoryLocation(undefined)).toBeUndefined();
    expect(repositoryLocation('not-an-arn')).toBeUndefined();
  });

  it('names both accounts, or both regions; nothing when the same or nothing recorded', () => {
    expect(providerMoved(recorded, { account: '123456789012', region: 'us-east-1' })).toBeUndefined();
    expect(providerMoved(repo(), { account: '210987654321', region: 'eu-west-1' })).toBeUndefined();
    const account = providerMoved(recorded, { account: '210987654321', region: 'us-east-1' });
    expect(account?.reason).toBe('ProviderAccountChanged');
    expect(account?.message).toMatch(/account 210987654321.*account 123456789012/);
    expect(account?.message).toContain('AWSProvider team/aws');
    const region = providerMoved(recorded, { account: '123456789012', region: 'eu-west-1' });
    expect(region?.reason).toBe('ProviderRegionChanged');
    expect(region?.message).toMatch(/region eu-west-1.*region us-east-1/);
  });
});

describe('changesBetween', () => {
  it('asks for nothing when AWS matches the spec', () => {
    const d = desiredRepository(repo({ lifecyclePolicy: { policyText: lifecycle }, repositoryPolicyText: policy, tags: { a: '1' } }), undefined);
    const c = changesBetween(d, live, details({ tags: { a: '1', [OWNER_TAG]: 'team/app' }, lifecyclePolicyText: lifecycle, repositoryPolicyText: policy }));
    expect(c).toEqual({});
    expect(isEmpty(c)).toBe(true);
  });

  it('compares policies by meaning, not by text', () => {
    const d = desiredRepository(repo({ lifecyclePolicy: { policyText: lifecycle } }), undefined);
    const reformatted = JSON.stringify(JSON.parse(lifecycle), null, 4);
    expect(changesBetween(d, live, details({ lifecyclePolicyText: reformatted }))).toEqual({});
  });

  it('changes only the settings that differ', () => {
    const d = desiredRepository(repo({ imageTagMutability: 'IMMUTABLE', scanOnPush: true }), undefined);
    expect(changesBetween(d, live, details())).toEqual({ imageTagMutability: 'IMMUTABLE', scanOnPush: true });
  });

  it('sets and deletes policies', () => {
    const d = desiredRepository(repo({ lifecyclePolicy: { policyText: lifecycle } }), undefined);
    expect(changesBetween(d, live, details({ repositoryPolicyText: policy }))).toEqual({
      lifecyclePolicy: { text: lifecycle },
      repositoryPolicy: 'delete',
    });
  });

  it('sets missing or different tags and removes undeclared ones, but never aws: tags', () => {
    const d = desiredRepository(repo({ tags: { a: '1', b: '2' } }), undefined);
    const c = changesBetween(d, live, details({ tags: { a: 'x', stray: 'y', 'aws:cloudformation:stack-name': 's', [OWNER_TAG]: 'team/app' } }));
    expect(c).toEqual({ tagsToSet: { a: '1', b: '2' }, tagKeysToRemove: ['stray'] });
    expect(describeChanges(c)).toEqual(['tags set: a, b', 'tags removed: stray']);
  });

  it('adds the owner tag when adopting', () => {
    const d = desiredRepository(repo(), undefined);
    expect(changesBetween(d, live, details({ tags: {} }))).toEqual({ tagsToSet: { [OWNER_TAG]: 'team/app' } });
  });
});

describe('encryptionMismatch', () => {
  it('reports a type change that ECR cannot make, naming the field', () => {
    expect(encryptionMismatch({ encryptionType: 'KMS', kmsKey: 'alias/x' }, { encryptionType: 'AES256' })).toMatch(/spec.encryptionConfiguration.encryptionType/);
  });
  it.each([
    ['an alias ARN', 'arn:aws:kms:us-east-1:1:alias/ecr'],
    ['an alias name', 'alias/ecr'],
    ['the key id', 'abc'],
    ['the key ARN', 'arn:aws:kms:us-east-1:1:key/abc'],
  ])('accepts %s where ECR reports the key ARN', (_what, kmsKey) => {
    expect(encryptionMismatch({ encryptionType: 'KMS', kmsKey }, { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:1:key/abc' })).toBeUndefined();
  });
  it('reports another key, by id or by ARN', () => {
    const live = { encryptionType: 'KMS' as const, kmsKey: 'arn:aws:kms:us-east-1:1:key/abc' };
    expect(encryptionMismatch({ encryptionType: 'KMS', kmsKey: 'def' }, live)).toMatch(/spec.encryptionConfiguration.kmsKey/);
    expect(encryptionMismatch({ encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:1:key/def' }, live)).toMatch(/kmsKey/);
  });
  it('accepts an alias where ECR reports the key ARN', () => {
    expect(encryptionMismatch({ encryptionType: 'KMS', kmsKey: 'alias/x' }, { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:1:key/abc' })).toBeUndefined();
  });
});

describe('repositoryStatus', () => {
  it('reports what AWS has, dates in ISO 8601 without milliseconds', () => {
    expect(repositoryStatus(live, 7)).toEqual({
      repositoryArn: live.arn,
      repositoryUri: live.uri,
      registryId: '123456789012',
      creationDate: '2026-01-02T03:04:05Z',
      imageCount: 7,
      imageTagMutability: 'MUTABLE',
      encryptionType: 'AES256',
      imageScanningConfiguration: { scanOnPush: false },
    });
  });
});

describe('tag mutability with exclusion filters', () => {
  const latest = { filter: 'latest', filterType: 'WILDCARD' as const };
  const dev = { filter: 'dev-*', filterType: 'WILDCARD' as const };
  const exclusionLive: LiveRepository = { ...live, imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [latest, dev] };

  it('carries the filters of an exclusion mode, and none otherwise', () => {
    const d = desiredRepository(repo({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [latest, dev] }), undefined);
    expect(d.settings.imageTagMutabilityExclusionFilters).toEqual([latest, dev]);
    const stray = desiredRepository(repo({ imageTagMutability: 'IMMUTABLE', imageTagMutabilityExclusionFilters: [latest] }), undefined);
    expect(stray.settings.imageTagMutabilityExclusionFilters).toBeUndefined();
  });

  it('compares filters as a set: another order is no change', () => {
    const d = desiredRepository(repo({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [dev, latest] }), undefined);
    expect(changesBetween(d, exclusionLive, details())).toEqual({});
  });

  it('sends the mode with the whole new filter list when a filter changes', () => {
    const d = desiredRepository(repo({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [latest, { filter: 'feature-*', filterType: 'WILDCARD' }] }), undefined);
    const changes = changesBetween(d, exclusionLive, details());
    expect(changes).toEqual({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [latest, { filter: 'feature-*', filterType: 'WILDCARD' }] });
    expect(describeChanges(changes)).toEqual(['imageTagMutability=IMMUTABLE_WITH_EXCLUSION (exclusions: latest,feature-*)']);
  });

  it('reverts to a plain mode without filters when the spec asks for one', () => {
    const d = desiredRepository(repo({ imageTagMutability: 'IMMUTABLE' }), undefined);
    expect(changesBetween(d, exclusionLive, details())).toEqual({ imageTagMutability: 'IMMUTABLE' });
  });

  it('adopts a MUTABLE_WITH_EXCLUSION repository declared the same way with no change', () => {
    const adopted: LiveRepository = { ...live, imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [latest] };
    const d = desiredRepository(repo({ imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [latest] }), undefined);
    expect(changesBetween(d, adopted, details())).toEqual({});
  });

  it('reports the live mode and filters in status, and removes filters the repository no longer has', () => {
    expect(repositoryStatus(exclusionLive, 3)).toMatchObject({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [latest, dev], imageCount: 3 });
    const plain = repositoryStatus(live, 0);
    expect('imageTagMutabilityExclusionFilters' in plain && plain.imageTagMutabilityExclusionFilters === undefined).toBe(true);
  });

  it('liveAfter gives the mode and filters that status should show after an update', () => {
    const after = liveAfter(exclusionLive, { imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [dev] });
    expect(after.imageTagMutability).toBe('MUTABLE_WITH_EXCLUSION');
    expect(after.imageTagMutabilityExclusionFilters).toEqual([dev]);
    expect(liveAfter(exclusionLive, { imageTagMutability: 'MUTABLE' }).imageTagMutabilityExclusionFilters).toBeUndefined();
    expect(liveAfter(exclusionLive, { scanOnPush: true })).toEqual({ ...exclusionLive, scanOnPush: true });
  });

  it('compares KMS_DSSE as its own encryption type', () => {
    expect(encryptionMismatch({ encryptionType: 'KMS' }, { encryptionType: 'KMS_DSSE' })).toContain('KMS_DSSE');
    expect(encryptionMismatch({ encryptionType: 'KMS_DSSE' }, { encryptionType: 'KMS_DSSE', kmsKey: 'arn:aws:kms:us-gov-west-1:123456789012:key/a' })).toBeUndefined();
    expect(desiredRepository(repo({ encryptionConfiguration: { encryptionType: 'KMS_DSSE', kmsKey: 'alias/dsse' } }), undefined).settings.encryption)
      .toEqual({ encryptionType: 'KMS_DSSE', kmsKey: 'alias/dsse' });
  });
});

describe('inventory in status', () => {
  it('reports archived images, size and times from the inventory', () => {
    const status = repositoryStatus(live, {
      imageCount: 1050,
      archivedImageCount: 7,
      imageSizeBytes: 123_456_789,
      lastImagePushedAt: new Date('2026-05-01T10:00:00.123Z'),
    });
    expect(status).toMatchObject({ imageCount: 1050, archivedImageCount: 7, imageSizeBytes: 123_456_789, lastImagePushedAt: '2026-05-01T10:00:00Z' });
    expect(status.lastImagePulledAt).toBeUndefined();
  });
});

describe('lifecycle preview and gate', () => {
  const keepTen = JSON.stringify({
    rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['release-*'], countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }],
  });
  const now = new Date('2026-06-01T00:00:00.500Z');
  const images = Array.from({ length: 30 }, (_, i) => ({
    digest: `sha256:${i + 1}`,
    tags: [`release-${i + 1}`],
    pushedAt: new Date(now.getTime() - (30 - i) * 3_600_000),
    storageClass: 'STANDARD' as const,
    sizeBytes: 10,
  }));

  it('previews the desired policy over the images', () => {
    const d = desiredRepository(repo({ lifecyclePolicy: { policyText: keepTen } }), undefined);
    expect(lifecyclePreview(d, images, now)).toEqual({
      imagesToExpire: 20,
      imagesToArchive: 0,
      evaluatedAt: '2026-06-01T00:00:00Z',
      sample: Array.from({ length: 10 }, (_, i) => `release-${i + 1}`),
    });
    expect(lifecyclePreview(desiredRepository(repo(), undefined), images, now)).toBeUndefined();
    expect(lifecyclePreview(d, undefined, now)).toBeUndefined();
  });

  it('stops a policy that would expire more than maxImagesToExpire, naming the number', () => {
    const d = desiredRepository(repo({ lifecyclePolicy: { policyText: keepTen, maxImagesToExpire: 5 } }), undefined);
    const preview = lifecyclePreview(d, images, now);
    const changes = changesBetween(d, live, details());
    const problem = lifecycleGate(d, changes, preview);
    expect(problem).toContain('would expire 20 images');
    expect(problem).toContain('maxImagesToExpire 5');
    expect(LIFECYCLE_POLICY_UNSAFE).toBe('LifecyclePolicyUnsafe');
    expect(lifecycleChangeNotice(changes, preview)).toBe('applying a lifecycle policy that would expire 20 and archive 0 images now');
  });

  it('lets the policy through at or under the limit, without a limit, when already applied, or when removed', () => {
    const preview = lifecyclePreview(desiredRepository(repo({ lifecyclePolicy: { policyText: keepTen } }), undefined), images, now);
    const at = desiredRepository(repo({ lifecyclePolicy: { policyText: keepTen, maxImagesToExpire: 20 } }), undefined);
    expect(lifecycleGate(at, changesBetween(at, live, details()), preview)).toBeUndefined();
    const unlimited = desiredRepository(repo({ lifecyclePolicy: { policyText: keepTen } }), undefined);
    expect(lifecycleGate(unlimited, changesBetween(unlimited, live, details()), preview)).toBeUndefined();
    const strict = desiredRepository(repo({ lifecyclePolicy: { policyText: keepTen, maxImagesToExpire: 0 } }), undefined);
    expect(lifecycleGate(strict, changesBetween(strict, live, details({ lifecyclePolicyText: keepTen })), preview)).toBeUndefined();
    expect(lifecycleGate(strict, { lifecyclePolicy: 'delete' }, preview)).toBeUndefined();
    expect(lifecycleChangeNotice({}, preview)).toBeUndefined();
  });

  it('previews a listing read from AWS through the kept previews: the same answer, evaluated once while nothing changes', async () => {
    const d = desiredRepository(repo({ lifecyclePolicy: { policyText: keepTen } }), undefined);
    const previews = new LifecyclePreviews();
    const who = { namespace: 'team', name: 'app', uid: 'u' };
    const first = await currentLifecyclePreview(d, images, now, previews, who);
    expect(first).toEqual(lifecyclePreview(d, images, now));
    const later = new Date(now.getTime() + 3_600_000);
    expect(await currentLifecyclePreview(d, [...images], later, previews, who)).toEqual(first);
    expect(previews.computed).toBe(1);
    expect(await currentLifecyclePreview(desiredRepository(repo(), undefined), images, now, previews, who)).toBeUndefined();
    expect(await currentLifecyclePreview(d, undefined, now, previews, who)).toBeUndefined();
  });
});
