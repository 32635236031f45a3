/**
 * ECRRepository's checks of what the CRD schema and its CEL rules cannot see: its lifecycle policy
 * and repository policy, with the checks every kind carrying such documents shares
 * (src/api/policies.ts). A problem found here never reaches AWS; the reconciler reports it as
 * Ready=False with reason InvalidSpec.
 */
import { validateLifecyclePolicy, validateRepositoryPolicy, type ValidationIssue } from '../../api/policies.js';
import type { ECRRepositorySpec } from './types.js';

// Kept for the modules that import the shared checks from here; new code imports src/api/policies.ts.
export { validateLifecyclePolicy, validateRepositoryPolicy, type ValidationIssue } from '../../api/policies.js';

/** Checks the JSON documents of a spec, those that are present. */
export function validateECRRepositorySpec(spec: ECRRepositorySpec): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const lifecycle = spec.lifecyclePolicy?.policyText;
  if (lifecycle !== undefined) issues.push(...validateLifecyclePolicy(lifecycle));
  if (spec.repositoryPolicyText !== undefined) issues.push(...validateRepositoryPolicy(spec.repositoryPolicyText));
  return issues;
}
