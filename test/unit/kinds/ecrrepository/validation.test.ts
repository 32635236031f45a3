import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ECRRepository } from '../../../../src/kinds/ecrrepository/types.js';
import {
  LIFECYCLE_POLICY_FIELD,
  REPOSITORY_POLICY_FIELD,
  formatValidationIssues,
  validateLifecyclePolicy,
  validateRepositoryPolicy,
} from '../../../../src/api/policies.js';
import { validateECRRepositorySpec } from '../../../../src/kinds/ecrrepository/validation.js';
import { fastestMs } from '../../support/timing.js';

/** The spec of a sample in config/samples, so that the documented policies are tested as shipped. */
function sampleSpec(file: string): ECRRepository['spec'] {
  const text = readFileSync(new URL(`../../../../config/samples/${file}`, import.meta.url), 'utf8');
  return (parse(text) as ECRRepository).spec;
}

function sampleLifecyclePolicy(file: string): string {
  const text = sampleSpec(file).lifecyclePolicy?.policyText;
  if (text === undefined) throw new Error(`${file} has no lifecycle policy`);
  return text;
}

type Selection = Record<string, unknown>;

function rule(rulePriority: unknown, selection: Selection, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { rulePriority, description: `rule ${String(rulePriority)}`, selection, action: { type: 'expire' }, ...extra };
}

const keepLast = (n: number): Selection => ({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: n });
const untaggedOlderThan = (days: number): Selection => ({
  tagStatus: 'untagged',
  countType: 'sinceImagePushed',
  countUnit: 'days',
  countNumber: days,
});
const rules = (...list: unknown[]): string => JSON.stringify({ rules: list }, null, 2);

// The policies of the documentation page that are not in a sample: the configuration reference
// and the troubleshooting section, as written there.
/** The documentation page's continuous-build lifecycle policy, as written there. */
const SEED_CONTINUOUS_BUILD_LIFECYCLE = JSON.stringify({
  rules: [
    { rulePriority: 1, description: 'Keep last 30 tagged images', selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 30 }, action: { type: 'expire' } },
    { rulePriority: 2, description: 'Delete untagged images after 7 days', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }, action: { type: 'expire' } },
  ],
});

const SEED_REFERENCE_LIFECYCLE = `{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Keep last 10 images",
      "selection": {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 10
      },
      "action": {
        "type": "expire"
      }
    },
    {
      "rulePriority": 2,
      "description": "Expire untagged images after 30 days",
      "selection": {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 30
      },
      "action": {
        "type": "expire"
      }
    }
  ]
}`;

const SEED_TROUBLESHOOTING_CONSERVATIVE = `{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Keep all tagged",
      "selection": {
        "tagStatus": "tagged",
        "countType": "imageCountMoreThan",
        "countNumber": 100
      },
      "action": {"type": "expire"}
    },
    {
      "rulePriority": 2,
      "description": "Delete old untagged images",
      "selection": {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 30
      },
      "action": {"type": "expire"}
    }
  ]
}`;

const SEED_TROUBLESHOOTING_AGGRESSIVE = `{
  "rules": [{
    "rulePriority": 1,
    "description": "Keep only 10 images",
    "selection": {
      "tagStatus": "any",
      "countType": "imageCountMoreThan",
      "countNumber": 10
    },
    "action": {"type": "expire"}
  }]
}`;

const SEED_REFERENCE_REPOSITORY_POLICY = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::123456789012:role/ECS-Task-Execution-Role"
      },
      "Action": [
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage"
      ]
    }
  ]
}`;

// The troubleshooting section passes this one inside `kubectl patch -p`, escaped; here unescaped.
const SEED_TROUBLESHOOTING_CROSS_ACCOUNT = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {
      "AWS": "arn:aws:iam::999888777666:role/ECS-Task-Role"
    },
    "Action": [
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage"
    ]
  }]
}`;

interface Case {
  name: string;
  text: string;
  /** Expected message fragments; none means the policy is valid. */
  errors?: string[];
}

const transition = { type: 'transition', targetStorageClass: 'archive' };
const archivedOlderThan = (days: number): Selection => ({
  tagStatus: 'any',
  storageClass: 'archive',
  countType: 'sinceImageTransitioned',
  countUnit: 'days',
  countNumber: days,
});

/**
 * The examples of ECR's "Examples of lifecycle policies" page (Amazon ECR User Guide), archive
 * examples included, in the page's shape: each must be accepted.
 */
const ECR_DOC_EXAMPLES: Case[] = [
  {
    name: 'ECR docs: filtering on image age',
    text: rules({ rulePriority: 1, description: 'Expire images older than 14 days', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } }),
  },
  {
    name: 'ECR docs: filtering on image count',
    text: rules({ rulePriority: 1, description: 'Keep last 1 images', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }),
  },
  {
    name: 'ECR docs: filtering on multiple rules',
    text: rules(
      { rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
      { rulePriority: 2, description: 'Rule 2', selection: { tagStatus: 'tagged', tagPatternList: ['beta*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
    ),
  },
  {
    name: 'ECR docs: filtering on multiple tags in a single rule (patterns)',
    text: rules({ rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], countType: 'sinceImagePushed', countNumber: 5, countUnit: 'days' }, action: { type: 'expire' } }),
  },
  {
    name: 'ECR docs: filtering on multiple tags in a single rule (prefixes)',
    text: rules({ rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }),
  },
  {
    name: 'ECR docs: filtering on all images',
    text: rules({ rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }),
  },
  {
    name: 'ECR docs: untagged first, then all images',
    text: rules(
      { rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
      { rulePriority: 2, description: 'Rule 2', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
    ),
  },
  {
    name: 'ECR docs: archive images not pulled for 90 days',
    text: rules({ rulePriority: 1, description: 'Archive images not pulled in 90 days', selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: transition }),
  },
  {
    name: 'ECR docs: archive images pushed more than 30 days ago',
    text: rules({ rulePriority: 1, description: 'Archive old prod images', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], storageClass: 'standard', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: transition }),
  },
  {
    name: 'ECR docs: keep the newest active images, archive the rest',
    text: rules({ rulePriority: 1, description: 'Keep 10 active', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 }, action: transition }),
  },
  {
    name: 'ECR docs: archive, then delete what was archived a year ago',
    text: rules(
      { rulePriority: 1, description: 'Archive images not pulled in 90 days', selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: transition },
      { rulePriority: 2, description: 'Delete images archived for 365 days', selection: archivedOlderThan(365), action: { type: 'expire' } },
    ),
  },
  {
    name: 'ECR docs: delete archived images after the 90-day minimum',
    text: rules({ rulePriority: 1, description: 'Delete archived after 90 days', selection: archivedOlderThan(90), action: { type: 'expire' } }),
  },
];

/** Each documented misuse of the archive grammar, named by rule and field. */
const ARCHIVE_MISUSES: Case[] = [
  {
    name: 'sinceImageTransitioned without storageClass archive',
    text: rules(rule(1, { ...archivedOlderThan(120), storageClass: undefined })),
    errors: ['rules[0].selection.storageClass must be "archive" with countType sinceImageTransitioned'],
  },
  {
    name: 'storageClass archive with sinceImagePushed',
    text: rules(rule(1, { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 120 })),
    errors: ['rules[0].selection.storageClass archive is only allowed with countType sinceImageTransitioned (got sinceImagePushed)'],
  },
  {
    name: 'archived images deleted before 90 days',
    text: rules(rule(1, archivedOlderThan(30))),
    errors: ['rules[0].selection.countNumber must be at least 90 to expire archived images (got 30)'],
  },
  {
    name: 'transition of archived images',
    text: rules(rule(1, archivedOlderThan(120), { action: transition })),
    errors: ['rules[0].action.type must be "expire" with storageClass archive'],
  },
  {
    name: 'sinceImagePulled with expire',
    text: rules(rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 })),
    errors: ['rules[0].selection.countType sinceImagePulled is only allowed with action type transition'],
  },
  {
    name: 'sinceImagePulled without countUnit',
    text: rules(rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countNumber: 30 }, { action: transition })),
    errors: ['rules[0].selection.countUnit is required with countType sinceImagePulled'],
  },
  {
    name: 'transition without targetStorageClass',
    text: rules(rule(1, keepLast(10), { action: { type: 'transition' } })),
    errors: ['rules[0].action.targetStorageClass is required with action type transition'],
  },
  {
    name: 'targetStorageClass with expire',
    text: rules(rule(1, keepLast(10), { action: { type: 'expire', targetStorageClass: 'archive' } })),
    errors: ['rules[0].action.targetStorageClass is only allowed with action type transition'],
  },
  {
    name: 'targetStorageClass other than archive',
    text: rules(rule(1, keepLast(10), { action: { type: 'transition', targetStorageClass: 'glacier' } })),
    errors: ['rules[0].action.targetStorageClass must be "archive" (got "glacier")'],
  },
  {
    name: 'unknown storageClass',
    text: rules(rule(1, { ...keepLast(10), storageClass: 'STANDARD' })),
    errors: ['rules[0].selection.storageClass must be one of "standard", "archive" (got "STANDARD")'],
  },
  {
    name: 'an any rule of active images below another active rule',
    text: rules(rule(1, keepLast(10), { action: transition }), rule(2, untaggedOlderThan(7))),
    errors: ['rules[0] has tagStatus any and must have the highest rulePriority, but rules[1] has 2 > 1'],
  },
];

const lifecycleCases: Case[] = [
  ...ECR_DOC_EXAMPLES,
  // Valid, as documented.
  { name: 'seed quick start e2e-production-images', text: sampleLifecyclePolicy('aws_v1alpha1_ecrrepository_e2e_production_images.yaml') },
  { name: 'seed quick start app-backend', text: sampleLifecyclePolicy('aws_v1alpha1_ecrrepository_app_backend.yaml') },
  { name: 'seed example encrypted-production', text: sampleLifecyclePolicy('aws_v1alpha1_ecrrepository_encrypted_production.yaml') },
  { name: 'seed example shared-images', text: sampleLifecyclePolicy('aws_v1alpha1_ecrrepository_shared_images.yaml') },
  { name: 'sample release-images (exclusion filters, gated policy)', text: sampleLifecyclePolicy('aws_v1alpha1_ecrrepository_release_exclusions.yaml') },
  { name: 'sample archived-builds (archive policy)', text: sampleLifecyclePolicy('aws_v1alpha1_ecrrepository_archive_policy.yaml') },
  { name: 'seed troubleshooting: keep only 10 images', text: SEED_TROUBLESHOOTING_AGGRESSIVE },
  {
    name: 'tagged by prefix, untagged by age, any last',
    text: rules(
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['v', 'release-'], countType: 'imageCountMoreThan', countNumber: 30 }),
      rule(2, untaggedOlderThan(7)),
      rule(3, keepLast(100)),
    ),
  },
  {
    name: 'tagPatternList with four wildcards and sparse priorities',
    text: rules(rule(10, { tagStatus: 'tagged', tagPatternList: ['*prod*1*2*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 90 }), rule(20, keepLast(5))),
  },
  { name: 'rule without description', text: JSON.stringify({ rules: [{ rulePriority: 1, selection: keepLast(1), action: { type: 'expire' } }] }) },

  // Documented but rejected by ECR.
  {
    name: 'seed configuration reference: any rule before a higher priority',
    text: SEED_REFERENCE_LIFECYCLE,
    errors: ['rules[0] has tagStatus any and must have the highest rulePriority, but rules[1] has 2'],
  },
  {
    name: 'seed example continuous-build: tagged without a tag list',
    text: SEED_CONTINUOUS_BUILD_LIFECYCLE,
    errors: ['rules[0].selection with tagStatus tagged needs tagPrefixList or tagPatternList'],
  },
  {
    name: 'seed troubleshooting: keep all tagged without a tag list',
    text: SEED_TROUBLESHOOTING_CONSERVATIVE,
    errors: ['rules[0].selection with tagStatus tagged needs tagPrefixList or tagPatternList'],
  },
  {
    name: 'countUnit months, as the page lists',
    text: rules(rule(1, { ...untaggedOlderThan(3), countUnit: 'months' })),
    errors: ['rules[0].selection.countUnit must be "days" (got "months"): ECR accepts only days'],
  },
  {
    name: 'countUnit years, as the page lists',
    text: rules(rule(1, { ...untaggedOlderThan(1), countUnit: 'years' })),
    errors: ['rules[0].selection.countUnit must be "days" (got "years")'],
  },

  // Broken documents.
  { name: 'not JSON', text: '{"rules": [}', errors: ['the lifecycle policy is not valid JSON at line 1, column 12: expected a value (object, array, string, number, true, false or null), found "}"'] },
  { name: 'truncated JSON', text: '{"rules": [', errors: ['the lifecycle policy is not valid JSON at line 1, column 12: expected a value (object, array, string, number, true, false or null), found the end of the text'] },
  { name: 'trailing comma', text: '{\n  "rules": [],\n}', errors: ["the lifecycle policy is not valid JSON at line 3, column 1: expected a property name in double quotes, found \"}\""] },
  { name: 'JSON but not an object', text: '[]', errors: ['the lifecycle policy must be a JSON object (got [])'] },
  { name: 'no rules', text: '{}', errors: ['rules is required'] },
  { name: 'empty rules', text: '{"rules": []}', errors: ['rules must not be empty'] },
  { name: 'unknown top-level property', text: JSON.stringify({ rules: [rule(1, keepLast(1))], version: 1 }), errors: ['version is not allowed: unknown property (known: rules)'] },
  { name: 'rule is not an object', text: rules('expire'), errors: ['rules[0] must be a JSON object (got "expire")'] },
  { name: 'rulePriority 0', text: rules(rule(0, keepLast(1))), errors: ['rules[0].rulePriority must be at least 1 (got 0)'] },
  { name: 'rulePriority as a string', text: rules(rule('1', keepLast(1))), errors: ['rules[0].rulePriority must be an integer (got "1")'] },
  { name: 'rulePriority missing', text: rules({ selection: keepLast(1), action: { type: 'expire' } }), errors: ['rules[0].rulePriority is required'] },
  {
    name: 'duplicate rulePriority',
    text: rules(rule(1, untaggedOlderThan(7)), rule(1, keepLast(10))),
    errors: ['rules[1].rulePriority 1 is already used by rules[0]'],
  },
  { name: 'description not a string', text: rules(rule(1, keepLast(1), { description: 7 })), errors: ['rules[0].description must be a string (got 7)'] },
  { name: 'selection missing', text: rules({ rulePriority: 1, action: { type: 'expire' } }), errors: ['rules[0].selection is required'] },
  {
    name: 'unknown tagStatus',
    text: rules(rule(1, { ...keepLast(1), tagStatus: 'all' })),
    errors: ['rules[0].selection.tagStatus must be one of "tagged", "untagged", "any" (got "all")'],
  },
  {
    name: 'tagPrefixList with untagged',
    text: rules(rule(1, { ...untaggedOlderThan(7), tagPrefixList: ['v'] })),
    errors: ['rules[0].selection.tagPrefixList is only allowed with tagStatus tagged (got untagged)'],
  },
  {
    name: 'tagPatternList with any',
    text: rules(rule(1, { ...keepLast(1), tagPatternList: ['v*'] })),
    errors: ['rules[0].selection.tagPatternList is only allowed with tagStatus tagged (got any)'],
  },
  {
    name: 'empty tagPrefixList',
    text: rules(rule(1, { tagStatus: 'tagged', tagPrefixList: [], countType: 'imageCountMoreThan', countNumber: 1 })),
    errors: ['rules[0].selection.tagPrefixList must not be empty'],
  },
  {
    name: 'tagPatternList entry with five wildcards',
    text: rules(rule(1, { tagStatus: 'tagged', tagPatternList: ['v*', '*a*b*c*d*'], countType: 'imageCountMoreThan', countNumber: 1 })),
    errors: ['rules[0].selection.tagPatternList[1] has more than 4 wildcards'],
  },
  {
    name: 'unknown countType',
    text: rules(rule(1, { ...keepLast(1), countType: 'sinceImageCreated' })),
    errors: ['rules[0].selection.countType must be one of "imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned" (got "sinceImageCreated")'],
  },
  {
    name: 'countUnit with imageCountMoreThan',
    text: rules(rule(1, untaggedOlderThan(7)), rule(2, { ...keepLast(10), countUnit: 'days' })),
    errors: ['rules[1].selection.countUnit is only allowed with countType sinceImagePushed'],
  },
  {
    name: 'sinceImagePushed without countUnit',
    text: rules(rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 14 })),
    errors: ['rules[0].selection.countUnit is required with countType sinceImagePushed'],
  },
  { name: 'countNumber 0', text: rules(rule(1, keepLast(0))), errors: ['rules[0].selection.countNumber must be at least 1 (got 0)'] },
  { name: 'countNumber fraction', text: rules(rule(1, keepLast(1.5))), errors: ['rules[0].selection.countNumber must be an integer (got 1.5)'] },
  {
    name: 'unknown selection property',
    text: rules(rule(1, { ...keepLast(1), tagStatusList: ['x'] })),
    errors: ['rules[0].selection.tagStatusList is not allowed: unknown property'],
  },
  { name: 'action type delete', text: rules(rule(1, keepLast(1), { action: { type: 'delete' } })), errors: ['rules[0].action.type must be one of "expire", "transition" (got "delete")'] },
  ...ARCHIVE_MISUSES,
  { name: 'action missing', text: rules({ rulePriority: 1, selection: keepLast(1) }), errors: ['rules[0].action is required'] },
  {
    name: 'several problems are all reported',
    text: rules(rule(1, keepLast(0)), rule(1, { ...untaggedOlderThan(7), countUnit: 'weeks' }), rule(2, untaggedOlderThan(30))),
    errors: [
      'rules[0].selection.countNumber must be at least 1',
      'rules[1].selection.countUnit must be "days" (got "weeks")',
      'rules[1].rulePriority 1 is already used by rules[0]',
      'rules[0] has tagStatus any and must have the highest rulePriority',
    ],
  },
];

function statement(extra: Record<string, unknown>): Record<string, unknown> {
  return { Sid: 'Pull', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: ['ecr:BatchGetImage'], ...extra };
}
const policy = (...list: unknown[]): string => JSON.stringify({ Version: '2012-10-17', Statement: list }, null, 2);

const repositoryCases: Case[] = [
  // Valid.
  { name: 'seed configuration reference', text: SEED_REFERENCE_REPOSITORY_POLICY },
  { name: 'seed example shared-images', text: sampleSpec('aws_v1alpha1_ecrrepository_shared_images.yaml').repositoryPolicyText ?? '' },
  { name: 'seed troubleshooting cross-account access', text: SEED_TROUBLESHOOTING_CROSS_ACCOUNT },
  {
    name: 'single statement object, wildcard principal, Deny with a condition',
    text: JSON.stringify({
      Version: '2012-10-17',
      Id: 'deny-outside-org',
      Statement: { Effect: 'Deny', Principal: '*', Action: 'ecr:*', Condition: { StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } },
    }),
  },
  { name: 'NotAction, service principals, old version', text: JSON.stringify({ Version: '2008-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: ['codebuild.amazonaws.com', 'lambda.amazonaws.com'] }, NotAction: 'ecr:DeleteRepository' }] }) },
  { name: 'no Version', text: JSON.stringify({ Statement: [statement({})] }) },

  // Invalid.
  { name: 'not JSON', text: "{ 'Version': '2012-10-17' }", errors: ['the repository policy is not valid JSON at line 1, column 3: expected a property name in double quotes, found "\'"'] },
  {
    name: 'line break inside a string',
    text: '{\n  "Statement": [{"Effect": "Allow", "Action": "ecr:Batch\nGetImage"}]\n}',
    errors: ['the repository policy is not valid JSON at line 2, column 57: expected no line break or control character inside a string'],
  },
  { name: 'JSON but not an object', text: '"ecr:*"', errors: ['the repository policy must be a JSON object (got "ecr:*")'] },
  { name: 'Statement missing', text: '{"Version": "2012-10-17"}', errors: ['Statement is required'] },
  { name: 'Statement empty', text: policy(), errors: ['Statement must not be empty'] },
  { name: 'Statement a string', text: JSON.stringify({ Statement: 'Allow' }), errors: ['Statement must be a JSON object or an array (got "Allow")'] },
  { name: 'unknown top-level key', text: JSON.stringify({ Version: '2012-10-17', Statement: [statement({})], Resource: '*' }), errors: ['Resource is not allowed: unknown property (known: Version, Id, Statement)'] },
  { name: 'unknown Version', text: JSON.stringify({ Version: '2024-01-01', Statement: [statement({})] }), errors: ['Version must be one of "2012-10-17", "2008-10-17" (got "2024-01-01")'] },
  { name: 'Effect missing', text: policy(statement({ Effect: undefined })), errors: ['Statement[0].Effect is required'] },
  { name: 'Effect lowercase', text: policy(statement({}), statement({ Effect: 'allow' })), errors: ['Statement[1].Effect must be one of "Allow", "Deny" (got "allow")'] },
  { name: 'Action and NotAction', text: policy(statement({ NotAction: 'ecr:PutImage' })), errors: ['Statement[0] must not have both Action and NotAction'] },
  { name: 'neither Action nor NotAction', text: policy(statement({ Action: undefined })), errors: ['Statement[0] needs Action or NotAction'] },
  { name: 'Action empty list', text: policy(statement({ Action: [] })), errors: ['Statement[0].Action must not be empty'] },
  { name: 'Action a number', text: policy(statement({ Action: 42 })), errors: ['Statement[0].Action must be a string or a non-empty array of strings (got 42)'] },
  { name: 'Action list with a number', text: policy(statement({ Action: ['ecr:BatchGetImage', 1] })), errors: ['Statement[0].Action[1] must be a string (got 1)'] },
  { name: 'Principal an ARN string', text: policy(statement({ Principal: 'arn:aws:iam::123456789012:root' })), errors: ['Statement[0].Principal must be "*" when it is a string'] },
  { name: 'Principal with an unknown type', text: policy(statement({ Principal: { User: 'bob' } })), errors: ['Statement[0].Principal.User is not allowed: unknown property (known: AWS, Service, Federated, CanonicalUser)'] },
  { name: 'Principal empty object', text: policy(statement({ Principal: {} })), errors: ['Statement[0].Principal must not be empty'] },
  { name: 'Principal and NotPrincipal', text: policy(statement({ NotPrincipal: { AWS: 'arn:aws:iam::123456789012:root' } })), errors: ['Statement[0] must not have both Principal and NotPrincipal'] },
  { name: 'Condition a string', text: policy(statement({ Condition: 'aws:SecureTransport' })), errors: ['Statement[0].Condition must be a JSON object (got "aws:SecureTransport")'] },
  { name: 'Condition operator not an object', text: policy(statement({ Condition: { Bool: true } })), errors: ['Statement[0].Condition.Bool must be a JSON object (got true)'] },
  { name: 'unknown statement key', text: policy(statement({ Effects: 'Allow' })), errors: ['Statement[0].Effects is not allowed: unknown property'] },
  { name: 'Sid a number', text: policy(statement({ Sid: 1 })), errors: ['Statement[0].Sid must be a string (got 1)'] },
  { name: 'single statement object with a problem', text: JSON.stringify({ Statement: { Effect: 'Allow', Principal: '*' } }), errors: ['Statement needs Action or NotAction'] },
];

describe('validateLifecyclePolicy', () => {
  it.each(lifecycleCases)('$name', ({ text, errors }) => {
    const issues = validateLifecyclePolicy(text);
    if (!errors) {
      expect(issues).toEqual([]);
      return;
    }
    expect(issues.length).toBeGreaterThanOrEqual(errors.length);
    for (const issue of issues) expect(issue.field).toBe(LIFECYCLE_POLICY_FIELD);
    for (const fragment of errors) {
      expect(issues).toContainEqual({ field: LIFECYCLE_POLICY_FIELD, message: expect.stringContaining(fragment) });
    }
  });
});

describe('validateRepositoryPolicy', () => {
  it.each(repositoryCases)('$name', ({ text, errors }) => {
    expect(text).not.toBe('');
    const issues = validateRepositoryPolicy(text);
    if (!errors) {
      expect(issues).toEqual([]);
      return;
    }
    for (const issue of issues) expect(issue.field).toBe(REPOSITORY_POLICY_FIELD);
    for (const fragment of errors) {
      expect(issues).toContainEqual({ field: REPOSITORY_POLICY_FIELD, message: expect.stringContaining(fragment) });
    }
  });
});

describe('validateECRRepositorySpec', () => {
  const base = { providerRef: { name: 'aws' }, repositoryName: 'app/backend' };

  it('accepts a spec without policies', () => {
    expect(validateECRRepositorySpec(base)).toEqual([]);
  });

  it('reports the problems of both documents, each under its field', () => {
    const issues = validateECRRepositorySpec({
      ...base,
      lifecyclePolicy: { policyText: rules(rule(1, keepLast(0))) },
      repositoryPolicyText: policy(statement({ Effect: 'Permit' })),
    });
    expect(issues).toEqual([
      { field: LIFECYCLE_POLICY_FIELD, message: 'rules[0].selection.countNumber must be at least 1 (got 0)' },
      { field: REPOSITORY_POLICY_FIELD, message: 'Statement[0].Effect must be one of "Allow", "Deny" (got "Permit")' },
    ]);
    expect(formatValidationIssues(issues)).toBe(
      'spec.lifecyclePolicy.policyText: rules[0].selection.countNumber must be at least 1 (got 0); ' +
        'spec.repositoryPolicyText: Statement[0].Effect must be one of "Allow", "Deny" (got "Permit")',
    );
  });

  it('refuses a text longer than ECR allows before parsing it', () => {
    expect(validateLifecyclePolicy('['.repeat(200_000))).toEqual([
      { field: LIFECYCLE_POLICY_FIELD, message: '200000 characters, longer than 30720 (the limit)' },
    ]);
    expect(validateRepositoryPolicy(' '.repeat(10_241))).toEqual([
      { field: REPOSITORY_POLICY_FIELD, message: '10241 characters, longer than 10240 (the limit)' },
    ]);
  });

  it('ignores an empty lifecyclePolicy object', () => {
    expect(validateECRRepositorySpec({ ...base, lifecyclePolicy: {} })).toEqual([]);
  });

  // Every documented repository applies to the API server (test/e2e/api-validation.test.ts); these
  // are the documented policies that ECR itself would refuse and that the operator reports instead.
  it.each([
    ['aws_v1alpha1_ecrrepository_e2e_app_images.yaml', []],
    ['aws_v1alpha1_ecrrepository_e2e_production_images.yaml', []],
    ['aws_v1alpha1_ecrrepository_app_backend.yaml', []],
    ['aws_v1alpha1_ecrrepository_my_app.yaml', []],
    ['aws_v1alpha1_ecrrepository_secure_backend.yaml', []],
    ['aws_v1alpha1_ecrrepository_encrypted_production.yaml', []],
    ['aws_v1alpha1_ecrrepository_shared_images.yaml', []],
    // The page's version of this one is rejected above; the sample adds tagPatternList ["*"].
    ['aws_v1alpha1_ecrrepository_continuous_build.yaml', []],
  ])('sample %s', (file, expected) => {
    expect(validateECRRepositorySpec(sampleSpec(file))).toEqual(expected);
  });
});

/** Runs `check` and fails if it took 50 ms or more. */
function within50ms(check: () => unknown): void {
  expect(fastestMs(check)).toBeLessThan(50);
}

describe('bounded input: no document holds the event loop', () => {
  const DEPTH = 'nesting deeper than 32 levels (the limit)';

  it('refuses a repository policy nested 4,000 deep inside its size limit, naming the limit', () => {
    const text = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"StringEquals":{"k":${'['.repeat(4_000)}${']'.repeat(4_000)}}}}]}`;
    expect(text.length).toBeLessThan(10_240);
    let issues: unknown;
    within50ms(() => (issues = validateRepositoryPolicy(text)));
    expect(issues).toEqual([{ field: REPOSITORY_POLICY_FIELD, message: DEPTH }]);
    expect(formatValidationIssues(issues as never)).toBe(`spec.repositoryPolicyText: ${DEPTH}`);
  });

  it.each([
    ['[[[[...', '['.repeat(10_000)],
    ['{"a":{"a":...', '{"a":'.repeat(2_000)],
  ])('refuses 10,000 characters of nesting %s within 50 ms', (_shape, text) => {
    expect(text.length).toBe(10_000);
    let lifecycle: unknown;
    let repository: unknown;
    within50ms(() => (lifecycle = validateLifecyclePolicy(text)));
    within50ms(() => (repository = validateRepositoryPolicy(text)));
    expect(lifecycle).toEqual([{ field: LIFECYCLE_POLICY_FIELD, message: DEPTH }]);
    expect(repository).toEqual([{ field: REPOSITORY_POLICY_FIELD, message: DEPTH }]);
  });

  it('does not count brackets inside strings: a policy whose strings hold them is still valid', () => {
    const text = rules({ ...rule(1, keepLast(5)), description: `${'['.repeat(500)}${'{'.repeat(500)}` });
    expect(validateLifecyclePolicy(text)).toEqual([]);
  });

  // Valid JSON that is wrong in many places at once, and text that breaks late: the checks after
  // parsing must stay linear too (messages are collected in a Set, not searched in a list).
  /** `head`, then `unit` as often as fits, then `last`, padded with spaces to 10,000 characters with `tail`. */
  const fill = (head: string, unit: string, last: string, tail: string): string => {
    const times = Math.floor((10_000 - head.length - last.length - tail.length) / unit.length);
    return `${head}${unit.repeat(times)}${last}`.padEnd(10_000 - tail.length, ' ') + tail;
  };
  const manyProperties = (): string => {
    let body = '';
    for (let i = 0; body.length + `"p${i}":1,`.length <= 9_990; i++) body += `"p${i}":1,`;
    return `{${body}"z":1`.padEnd(9_999, ' ') + '}';
  };
  const shapes: Array<[string, string]> = [
    ['a run of letters', 'a'.repeat(9_999) + '!'],
    ['a string that never ends', `"${'a'.repeat(9_999)}`],
    ['thousands of rules that are numbers', fill('{"rules":[', '1,', '1', ']}')],
    ['thousands of rules of the same priority', fill('{"rules":[', '{"rulePriority":1},', '{"rulePriority":1}', ']}')],
    ['thousands of statements that are numbers', fill('{"Statement":[', '1,', '1', ']}')],
    ['thousands of statements without Action', fill('{"Statement":[', '{"Effect":"Allow"},', '{}', ']}')],
    ['a long number', fill('{"rules":[{"rulePriority":', '1', '', '}]}')],
    ['backslashes', fill('{"Id":"', '\\\\', '', '"}')],
    ['unknown properties', manyProperties()],
  ];
  it.each([
    ['tagStatus any', '{"rulePriority":1,"selection":{"tagStatus":"any"}},'],
    ['the same priority', '{"rulePriority":1},'],
  ])('checks a lifecycle policy of ECR\'s largest size, all rules with %s, within 50 ms', (_shape, unit) => {
    const text = `{"rules":[${unit.repeat(Math.floor((30_720 - 14) / unit.length))}{}]}`;
    expect(text.length).toBeGreaterThan(30_000);
    expect(text.length).toBeLessThanOrEqual(30_720);
    let issues: ValidationIssueList = [];
    within50ms(() => (issues = validateLifecyclePolicy(text)));
    expect(issues).toHaveLength(11);
  });

  it.each(shapes)('returns within 50 ms on %s', (_shape, text) => {
    expect(text.length).toBe(10_000);
    let lifecycle: ValidationIssueList = [];
    let repository: ValidationIssueList = [];
    within50ms(() => (lifecycle = validateLifecyclePolicy(text)));
    within50ms(() => (repository = validateRepositoryPolicy(text)));
    expect(lifecycle.length).toBeGreaterThan(0);
    expect(repository.length).toBeGreaterThan(0);
  });
});

type ValidationIssueList = ReturnType<typeof validateLifecyclePolicy>;

describe('the list of problems is bounded: it ends in one condition message (at most 32,768 characters)', () => {
  it('lists the first 10 problems of a document and counts the rest', () => {
    const issues = validateLifecyclePolicy(JSON.stringify({ rules: Array.from({ length: 5_000 }, () => 1) }));
    expect(issues).toHaveLength(11);
    expect(issues[0]).toEqual({ field: LIFECYCLE_POLICY_FIELD, message: 'rules[0] must be a JSON object (got 1)' });
    expect(issues[9]).toEqual({ field: LIFECYCLE_POLICY_FIELD, message: 'rules[9] must be a JSON object (got 1)' });
    expect(issues[10]).toEqual({ field: LIFECYCLE_POLICY_FIELD, message: 'and 4990 more problems not listed' });
  });

  it('shortens a problem that quotes a long property name', () => {
    const name = 'k'.repeat(9_000);
    const issues = validateRepositoryPolicy(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'ecr:*', [name]: 1 }] }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/^Statement\[0\]\.k+\.\.\.$/);
    expect(issues[0]?.message.length).toBe(300);
  });

  it('keeps the message of a spec with both documents at their worst far below the limit', () => {
    const longNames = JSON.stringify({ Statement: Array.from({ length: 20 }, (_, i) => ({ Effect: 'Allow', [`${i}${'k'.repeat(400)}`]: 1 })) });
    const issues = validateECRRepositorySpec({
      providerRef: { name: 'aws' },
      repositoryName: 'app',
      lifecyclePolicy: { policyText: JSON.stringify({ rules: Array.from({ length: 5_000 }, () => 1) }) },
      repositoryPolicyText: longNames,
    });
    expect(issues).toHaveLength(22);
    expect(formatValidationIssues(issues).length).toBeLessThan(8_000);
  });
});
