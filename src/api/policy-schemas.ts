/**
 * JSON Schemas (draft-07) for the two JSON documents that ECRRepository and
 * ECRRepositoryCreationTemplate carry as strings: the lifecycle policy and the repository policy.
 * The CRDs can only bound their length; these schemas describe their shape, and
 * src/api/policies.ts adds the rules that span several fields.
 */
import type { SchemaObject } from 'ajv';

const nonEmptyStringList = {
  type: 'array',
  minItems: 1,
  items: { type: 'string', minLength: 1 },
} as const;

/** An IAM element that takes one value or a list of values ("ecr:BatchGetImage" or ["ecr:*"]). */
const stringOrList = {
  type: ['string', 'array'],
  minLength: 1,
  minItems: 1,
  items: { type: 'string', minLength: 1 },
} as const;

/** The lifecycle policy document of ECR (PutLifecyclePolicy's lifecyclePolicyText). */
export const LIFECYCLE_POLICY_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: {
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['rulePriority', 'selection', 'action'],
        additionalProperties: false,
        properties: {
          rulePriority: { type: 'integer', minimum: 1 },
          description: { type: 'string' },
          selection: {
            type: 'object',
            required: ['tagStatus', 'countType', 'countNumber'],
            additionalProperties: false,
            properties: {
              tagStatus: { type: 'string', enum: ['tagged', 'untagged', 'any'] },
              tagPrefixList: nonEmptyStringList,
              tagPatternList: nonEmptyStringList,
              // The storage class the rule selects from: standard (active images, the default) or
              // archive (images a transition rule moved to ECR's archive).
              storageClass: { type: 'string', enum: ['standard', 'archive'] },
              countType: { type: 'string', enum: ['imageCountMoreThan', 'sinceImagePushed', 'sinceImagePulled', 'sinceImageTransitioned'] },
              // ECR accepts only "days", whatever older documentation says about months and years.
              countUnit: { type: 'string', enum: ['days'] },
              countNumber: { type: 'integer', minimum: 1 },
            },
          },
          action: {
            type: 'object',
            required: ['type'],
            additionalProperties: false,
            properties: {
              type: { type: 'string', enum: ['expire', 'transition'] },
              // With transition only; archive is the one storage class ECR transitions to.
              targetStorageClass: { type: 'string', enum: ['archive'] },
            },
          },
        },
      },
    },
  },
};

const principal = {
  type: ['string', 'object'],
  // A string principal can only be the wildcard; anything narrower is written as an object.
  if: { type: 'string' },
  then: { const: '*' },
  minProperties: 1,
  additionalProperties: false,
  properties: {
    AWS: stringOrList,
    Service: stringOrList,
    Federated: stringOrList,
    CanonicalUser: stringOrList,
  },
} as const;

/** The IAM resource policy of a repository (SetRepositoryPolicy's policyText). */
export const REPOSITORY_POLICY_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['Statement'],
  additionalProperties: false,
  properties: {
    Version: { type: 'string', enum: ['2012-10-17', '2008-10-17'] },
    Id: { type: 'string' },
    Statement: {
      type: ['object', 'array'],
      if: { type: 'object' },
      then: { $ref: '#/definitions/statement' },
      minItems: 1,
      items: { $ref: '#/definitions/statement' },
    },
  },
  definitions: {
    statement: {
      type: 'object',
      required: ['Effect'],
      additionalProperties: false,
      properties: {
        Sid: { type: 'string' },
        Effect: { type: 'string', enum: ['Allow', 'Deny'] },
        Principal: principal,
        NotPrincipal: principal,
        Action: stringOrList,
        NotAction: stringOrList,
        Resource: stringOrList,
        NotResource: stringOrList,
        Condition: {
          type: 'object',
          // Condition operator -> { condition key -> value or values }.
          additionalProperties: { type: 'object' },
        },
      },
    },
  },
};
