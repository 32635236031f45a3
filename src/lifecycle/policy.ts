/**
 * The typed form of an ECR lifecycle policy, for the local evaluator. The JSON text is checked by
 * src/kinds/ecrrepository/validation.ts first; this module only reads a policy that passed that check.
 */

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

/** Parses policy text that the validator accepted. Throws SyntaxError on text that is not JSON. */
export function parseLifecyclePolicy(text: string): LifecyclePolicyDocument {
  return JSON.parse(text) as LifecyclePolicyDocument;
}
