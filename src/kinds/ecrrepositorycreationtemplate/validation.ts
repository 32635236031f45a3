import { formatValidationIssues, validateLifecyclePolicy, validateRepositoryPolicy, type ValidationIssue } from '../../api/policies.js';
import {
  CREATION_TEMPLATE_PREFIX_LENGTH, IAM_ROLE_ARN_LENGTH, IAM_ROLE_ARN_PATTERN, matchesWithin, REPOSITORY_PREFIX_PATTERN,
  TAG_MUTABILITY_EXCLUSION_FILTER_LENGTH, TAG_MUTABILITY_EXCLUSION_FILTER_PATTERN, TEMPLATE_KMS_KEY_LENGTH, TEMPLATE_KMS_KEY_PATTERN,
} from '../../api/patterns.js';
import { OWNER_TAG } from '../../api/types.js';
import type { Registry } from '../../reconcilers/registry-part.js';
import { APPLIED_FOR, type ECRRepositoryCreationTemplateSpec } from './types.js';

/**
 * Amazon ECR's rules for a repository creation template, checked before any call so that what AWS
 * would refuse never leaves the operator and the field is named (the CRD says the same where its
 * schema and CEL rules can). Sources: the Amazon ECR API Reference, "CreateRepositoryCreationTemplate"
 * and its data types (prefix of 1 to 256 characters or ROOT, description of at most 256, appliedFor
 * of REPLICATION, PULL_THROUGH_CACHE and CREATE_ON_PUSH, the KMS key as a full key ARN, 1 to 5
 * exclusion filters, a repository policy of at most 10,240 characters and a lifecycle policy of at
 * most 30,720); tags as ECR allows them on a repository (at most 50, keys 1-128, values 0-256). The
 * two policies are checked by the same code as ECRRepository's (src/api/policies.ts).
 */
export const DESCRIPTION_MAX = 256;
export const MAX_RESOURCE_TAGS = 50;
export const MAX_EXCLUSION_FILTERS = 5;

const EXCLUSION_MODES = new Set(['MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION']);

/** Why the spec cannot be a template, naming the field, or undefined when it can (the registry aside). */
export function validateCreationTemplateSpec(spec: ECRRepositoryCreationTemplateSpec): string | undefined {
  if (!matchesWithin(spec.prefix, REPOSITORY_PREFIX_PATTERN, CREATION_TEMPLATE_PREFIX_LENGTH)) {
    return `spec.prefix: ${JSON.stringify(String(spec.prefix).slice(0, 80))} is not a repository prefix of ${CREATION_TEMPLATE_PREFIX_LENGTH.min}-${CREATION_TEMPLATE_PREFIX_LENGTH.max} characters (lowercase letters, digits, '.', '_', '-' and '/') or ROOT`;
  }
  if (spec.description !== undefined && spec.description.length > DESCRIPTION_MAX) {
    return `spec.description: ${spec.description.length} characters; ECR allows at most ${DESCRIPTION_MAX}`;
  }
  const appliedFor = spec.appliedFor ?? [];
  if (appliedFor.length === 0) return `spec.appliedFor: at least one of ${APPLIED_FOR.join(', ')} is required`;
  for (const [i, scenario] of appliedFor.entries()) {
    if (!APPLIED_FOR.includes(scenario)) return `spec.appliedFor[${i}]: ${JSON.stringify(String(scenario).slice(0, 40))} is not one of ${APPLIED_FOR.join(', ')}`;
    if (appliedFor.indexOf(scenario) !== i) return `spec.appliedFor[${i}]: ${scenario} is listed twice`;
  }
  const encryption = spec.encryptionConfiguration;
  if (encryption?.kmsKey !== undefined) {
    if (encryption.encryptionType === 'AES256') return 'spec.encryptionConfiguration.kmsKey: only allowed with encryptionType KMS or KMS_DSSE';
    if (!matchesWithin(encryption.kmsKey, TEMPLATE_KMS_KEY_PATTERN, TEMPLATE_KMS_KEY_LENGTH)) {
      return `spec.encryptionConfiguration.kmsKey: ${JSON.stringify(String(encryption.kmsKey).slice(0, 120))} is not a KMS key ARN (a template needs the key's full ARN)`;
    }
  }
  const mode = spec.imageTagMutability ?? 'MUTABLE';
  const filters = spec.imageTagMutabilityExclusionFilters;
  if (EXCLUSION_MODES.has(mode)) {
    if (!filters?.length) return `spec.imageTagMutabilityExclusionFilters: required with imageTagMutability ${mode}`;
  } else if (filters !== undefined) {
    return `spec.imageTagMutabilityExclusionFilters: only allowed with imageTagMutability MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION (got ${mode})`;
  }
  if (filters && filters.length > MAX_EXCLUSION_FILTERS) return `spec.imageTagMutabilityExclusionFilters: ${filters.length} filters; ECR allows at most ${MAX_EXCLUSION_FILTERS}`;
  for (const [i, f] of (filters ?? []).entries()) {
    if (!matchesWithin(f.filter, TAG_MUTABILITY_EXCLUSION_FILTER_PATTERN, TAG_MUTABILITY_EXCLUSION_FILTER_LENGTH)) {
      return `spec.imageTagMutabilityExclusionFilters[${i}].filter: ${JSON.stringify(String(f.filter).slice(0, 140))} is not a tag filter of 1-128 letters, digits, '.', '_', '-' and '*'`;
    }
  }
  const tags = Object.entries(spec.resourceTags ?? {});
  if (tags.length > MAX_RESOURCE_TAGS) return `spec.resourceTags: ${tags.length} tags; ECR allows at most ${MAX_RESOURCE_TAGS} on a repository`;
  for (const [key, value] of tags) {
    if (key.length < 1 || key.length > 128) return `spec.resourceTags: the key ${JSON.stringify(key.slice(0, 140))} is not 1 to 128 characters long`;
    if (key === OWNER_TAG) return `spec.resourceTags: the key ${OWNER_TAG} is reserved for the operator's ownership tag; a repository created from the template would look owned`;
    if (key.startsWith('aws:')) return `spec.resourceTags: the key ${JSON.stringify(key)} starts with aws:, which AWS reserves`;
    if (typeof value !== 'string' || value.length > 256) return `spec.resourceTags[${key}]: the value is longer than 256 characters`;
  }
  if (spec.customRoleArn !== undefined && !matchesWithin(spec.customRoleArn, IAM_ROLE_ARN_PATTERN, IAM_ROLE_ARN_LENGTH)) {
    return `spec.customRoleArn: ${JSON.stringify(String(spec.customRoleArn).slice(0, 120))} is not the ARN of an IAM role`;
  }
  const issues: ValidationIssue[] = [];
  if (spec.lifecyclePolicy?.policyText !== undefined) issues.push(...validateLifecyclePolicy(spec.lifecyclePolicy.policyText));
  if (spec.repositoryPolicyText !== undefined) issues.push(...validateRepositoryPolicy(spec.repositoryPolicyText));
  return issues.length > 0 ? formatValidationIssues(issues) : undefined;
}

/** The checks that need the registry: the role is the registry account's. */
export function validateForRegistry(spec: ECRRepositoryCreationTemplateSpec, registry: Pick<Registry, 'accountId'>): string | undefined {
  if (spec.customRoleArn === undefined) return undefined;
  const account = IAM_ROLE_ARN_PATTERN.exec(spec.customRoleArn)?.[1];
  if (account !== registry.accountId) {
    return `spec.customRoleArn: the role must be in the registry's own account ${registry.accountId} (it is in ${account ?? 'no account'})`;
  }
  return undefined;
}
