/**
 * The typed form of an ECR lifecycle policy, for the local evaluator. The JSON text is checked by
 * src/kinds/ecrrepository/validation.ts first; this module only reads a policy that passed that check.
 */
import { JSON_MAX_DEPTH, LIFECYCLE_POLICY_MAX_CHARS, parseBoundedJson } from '../api/bounded-json.js';

/** The field a lifecycle policy text comes from, named in parse errors. */
const LIFECYCLE_POLICY_TEXT_FIELD = 'spec.lifecyclePolicy.policyText';

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type CountType = 'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';
/** Storage classes as the policy grammar writes them (lowercase). */
export type PolicyStorageClass = 'standard' | 'archive';

export interface LifecycleSelection {
  tagStatus: TagStatus;
  tagPrefixList?: string[];
  tagPatternList?: string[];
  /** Omitted means standard (ECR's default). */
  storageClass?: PolicyStorageClass;
  countType: CountType;
  countUnit?: 'days';
  countNumber: number;
}

export type LifecycleAction = { type: 'expire' } | { type: 'transition'; targetStorageClass: 'archive' };

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: LifecycleSelection;
  action: LifecycleAction;
}

export interface LifecyclePolicyDocument {
  rules: LifecycleRule[];
}

/**
 * Parses policy text that the validator accepted. Bounded as the validator bounds it (ECR's size,
 * the operator's nesting limit), so that text reaching here by another way cannot hold the event
 * loop either. Throws an Error naming the problem when the text is out of bounds or not JSON.
 */
export function parseLifecyclePolicy(text: string): LifecyclePolicyDocument {
  const parsed = parseBoundedJson(text, { maxChars: LIFECYCLE_POLICY_MAX_CHARS, maxDepth: JSON_MAX_DEPTH, field: LIFECYCLE_POLICY_TEXT_FIELD });
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value as LifecyclePolicyDocument;
}
