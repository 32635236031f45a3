import { matchesWithin, type LengthBounds } from '../../api/patterns.js';
import type { ECRPullTimeUpdateExclusionSpec } from './types.js';

/**
 * Amazon ECR's rules for a pull-time update exclusion, checked before any call. Sources: the Amazon
 * ECR API Reference, RegisterPullTimeUpdateExclusion (principalArn: at most 200 characters of AWS's
 * pattern, an IAM role or user) and ListPullTimeUpdateExclusions (at most 100 in the list); the ECR
 * User Guide, "Pull-time update exclusions": "You can configure up to 100 exclusions per account."
 */
export const EXCLUSIONS_MAX = 100;

/**
 * PrincipalArn, AWS's pattern `^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$`
 * as it stands (syntax RE2 and ECMAScript read alike; `\w` is `[0-9A-Za-z_]` in both). Linear: each
 * partition suffix starts with `-`, which `[a-z]` does not hold, and each path segment starts with
 * `/`, which the segment class does not hold, so every character is consumed in one way only. The
 * CRD carries this source (an operator pattern awaiting its place in src/api/patterns.ts).
 */
export const PRINCIPAL_ARN_SOURCE = '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\\w+=,.@-]+(/[\\w+=,.@-]+)*$';
export const PRINCIPAL_ARN_PATTERN = new RegExp(PRINCIPAL_ARN_SOURCE);
export const PRINCIPAL_ARN_LENGTH: LengthBounds = { min: 1, max: 200 };

export function validateExclusionSpec(spec: ECRPullTimeUpdateExclusionSpec): string | undefined {
  if (!matchesWithin(spec.principalArn, PRINCIPAL_ARN_PATTERN, PRINCIPAL_ARN_LENGTH)) {
    return `spec.principalArn: ${JSON.stringify(String(spec.principalArn ?? '').slice(0, 300))} is not the ARN of an IAM role or user (arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME, at most ${PRINCIPAL_ARN_LENGTH.max} characters)`;
  }
  return undefined;
}
