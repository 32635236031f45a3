import { describe, expect, it } from 'vitest';
import { OWNER_TAG, type ECRRepository } from '../../../src/api/types.js';
import type { LiveRepository, RepositoryDetails } from '../../../src/aws/ecr.js';
import {
  changesBetween,
  describeChanges,
  desiredRepository,
  encryptionMismatch,
  isEmpty,
  ownershipOf,
  repositoryStatus,
} from '../../../src/reconcilers/ecrrepository-plan.js';

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
