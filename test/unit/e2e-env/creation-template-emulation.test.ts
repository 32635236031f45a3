import { describe, expect, it } from 'vitest';
import { CreationTemplateEmulation } from '../../e2e/env/creation-template-emulation.js';

/**
 * The local AWS layer's emulation of ECR's repository creation templates, on its own: the request the
 * AWS CLI reference's create-repository-creation-template example sends succeeds, and what the API
 * Reference says AWS refuses fails with AWS's error code.
 */

const ACCOUNT = '111122223333';
const caller = (over: Partial<{ accountId: string; region: string }> = {}) => ({ accountId: ACCOUNT, region: 'us-west-2', now: new Date('2026-03-01T12:00:00Z'), ...over });

const LIFECYCLE = JSON.stringify({
  rules: [{ rulePriority: 1, description: 'only keep 10 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }],
});
const REPOSITORY_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'AllowPull', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }],
});

/** The shape of the CLI reference's example: a prefix, a description, AES256, tags, IMMUTABLE, both policies, two scenarios. */
const EXAMPLE = {
  prefix: 'eng/test',
  description: 'repo template for eng/test',
  encryptionConfiguration: { encryptionType: 'AES256' },
  resourceTags: [{ Key: 'environment', Value: 'test' }],
  imageTagMutability: 'IMMUTABLE',
  repositoryPolicy: REPOSITORY_POLICY,
  lifecyclePolicy: LIFECYCLE,
  appliedFor: ['REPLICATION', 'PULL_THROUGH_CACHE'],
};

function error(answer: { status: number; errorType?: string; body: Record<string, unknown> }) {
  return { status: answer.status, code: answer.errorType, message: String(answer.body.message) };
}

describe('CreateRepositoryCreationTemplate and DescribeRepositoryCreationTemplates', () => {
  it('creates the documented template and describes it back, ECR\'s defaults filled in', () => {
    const e = new CreationTemplateEmulation();
    const created = e.call('CreateRepositoryCreationTemplate', EXAMPLE, caller());
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      registryId: ACCOUNT,
      repositoryCreationTemplate: { ...EXAMPLE, createdAt: caller().now.getTime() / 1000, updatedAt: caller().now.getTime() / 1000 },
    });
    // The least a template takes: a prefix (ROOT covers every other repository) and one scenario.
    const root = e.call('CreateRepositoryCreationTemplate', { prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH'] }, caller());
    expect(root.body.repositoryCreationTemplate).toMatchObject({ prefix: 'ROOT', encryptionConfiguration: { encryptionType: 'AES256' }, imageTagMutability: 'MUTABLE', resourceTags: [] });
    const described = e.call('DescribeRepositoryCreationTemplates', { prefixes: ['eng/test', 'missing'] }, caller());
    expect(described.body).toMatchObject({ registryId: ACCOUNT, repositoryCreationTemplates: [expect.objectContaining({ prefix: 'eng/test' })] });
    const page = e.call('DescribeRepositoryCreationTemplates', { maxResults: 1 }, caller());
    expect((page.body.repositoryCreationTemplates as Array<{ prefix: string }>).map((t) => t.prefix)).toEqual(['ROOT']);
    const next = e.call('DescribeRepositoryCreationTemplates', { maxResults: 1, nextToken: page.body.nextToken }, caller());
    expect((next.body.repositoryCreationTemplates as Array<{ prefix: string }>).map((t) => t.prefix)).toEqual(['eng/test']);
    expect(next.body.nextToken).toBeUndefined();
    // Another registry has none.
    expect(e.call('DescribeRepositoryCreationTemplates', {}, caller({ region: 'eu-west-1' })).body.repositoryCreationTemplates).toEqual([]);
  });

  it('refuses a bad prefix, a template for nothing, misplaced filters, a bad policy and a second template of one prefix with AWS\'s codes', () => {
    const e = new CreationTemplateEmulation();
    const create = (input: Record<string, unknown>) => error(e.call('CreateRepositoryCreationTemplate', input, caller()));
    expect(create({ ...EXAMPLE, prefix: 'Eng/Test' })).toMatchObject({
      status: 400, code: 'ValidationException', message: expect.stringContaining("Value 'Eng/Test' at 'prefix' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    });
    expect(create({ prefix: 'x', appliedFor: undefined })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'appliedFor'") });
    expect(create({ prefix: 'x', appliedFor: [] })).toMatchObject({ code: 'InvalidParameterException' });
    expect(create({ prefix: 'x', appliedFor: ['ON_PULL'] })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining('enum value set') });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], description: 'd'.repeat(257) })).toMatchObject({ code: 'ValidationException' });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' })).toMatchObject({ code: 'InvalidParameterException' });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], imageTagMutability: 'MUTABLE', imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }] })).toMatchObject({ code: 'InvalidParameterException' });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'AES256', kmsKey: 'arn:aws:kms:us-west-2:111122223333:key/abcd' } })).toMatchObject({ code: 'InvalidParameterException' });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], lifecyclePolicy: '{"rules": []}' })).toMatchObject({ code: 'InvalidParameterException' });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], repositoryPolicy: 'not json' })).toMatchObject({ code: 'InvalidParameterException' });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], customRoleArn: 'arn:aws:iam::999988887777:role/Other' })).toMatchObject({ code: 'InvalidParameterException' });
    expect(create({ prefix: 'x', appliedFor: ['REPLICATION'], resourceTags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })).toMatchObject({ code: 'InvalidParameterException' });
    expect(e.call('CreateRepositoryCreationTemplate', EXAMPLE, caller()).status).toBe(200);
    expect(create(EXAMPLE)).toMatchObject({ code: 'TemplateAlreadyExistsException' });
  });
});

describe('UpdateRepositoryCreationTemplate and DeleteRepositoryCreationTemplate', () => {
  it('changes what it names, clears what is emptied, and deletes', () => {
    const e = new CreationTemplateEmulation();
    e.call('CreateRepositoryCreationTemplate', EXAMPLE, caller());
    const updated = e.call('UpdateRepositoryCreationTemplate', {
      prefix: 'eng/test', lifecyclePolicy: '', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
    }, caller());
    expect(updated.status).toBe(200);
    const template = updated.body.repositoryCreationTemplate as Record<string, unknown>;
    expect(template.lifecyclePolicy).toBeUndefined();
    expect(template).toMatchObject({ description: EXAMPLE.description, repositoryPolicy: REPOSITORY_POLICY, imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' });
    // Back to a mode without exclusions: the filters go with it.
    const plain = e.call('UpdateRepositoryCreationTemplate', { prefix: 'eng/test', imageTagMutability: 'MUTABLE' }, caller());
    expect((plain.body.repositoryCreationTemplate as Record<string, unknown>).imageTagMutabilityExclusionFilters).toBeUndefined();
    expect(error(e.call('UpdateRepositoryCreationTemplate', { prefix: 'nope', description: 'x' }, caller()))).toMatchObject({ code: 'TemplateNotFoundException' });
    expect(error(e.call('UpdateRepositoryCreationTemplate', { prefix: 'eng/test', appliedFor: [] }, caller()))).toMatchObject({ code: 'InvalidParameterException' });
    expect(e.call('DeleteRepositoryCreationTemplate', { prefix: 'eng/test' }, caller()).body).toMatchObject({ registryId: ACCOUNT, repositoryCreationTemplate: { prefix: 'eng/test' } });
    expect(error(e.call('DeleteRepositoryCreationTemplate', { prefix: 'eng/test' }, caller()))).toMatchObject({ code: 'TemplateNotFoundException' });
  });
});
