import { matchesWithin, SCANNING_FILTER_LENGTH, SCANNING_FILTER_PATTERN, SCANNING_FILTER_SOURCE, type LengthBounds } from '../../api/patterns.js';
import type { AppliedSigningRule, ECRSigningRuleSpec } from './types.js';

/**
 * Amazon ECR's rules for a managed-signing rule, checked before any call so that what AWS would
 * refuse never leaves the operator and the field is named. Sources: the Amazon ECR API Reference,
 * data types SigningConfiguration (at most 10 rules), SigningRule (signingProfileArn at most 200
 * characters of AWS's pattern; repositoryFilters 1 to 100 when given) and SigningRepositoryFilter
 * (filter 1-256 characters, filterType WILDCARD_MATCH).
 */
export const SIGNING_MAX_RULES = 10;
export const SIGNING_MAX_FILTERS_PER_RULE = 100;

/**
 * SigningRule.signingProfileArn, AWS's pattern
 * `^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\/signing-profiles\/[a-zA-Z0-9_]{2,}$` with `\/`
 * written `/` (the same language, and syntax RE2 and ECMAScript read alike). Linear as it stands:
 * each partition suffix starts with `-`, which `[a-z]` does not hold, and every run's class excludes
 * the `:` or `/` that ends it. The CRD carries this source (an operator pattern awaiting its place in
 * src/api/patterns.ts).
 */
export const SIGNING_PROFILE_ARN_SOURCE = '^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[a-zA-Z0-9_]{2,}$';
export const SIGNING_PROFILE_ARN_PATTERN = new RegExp(SIGNING_PROFILE_ARN_SOURCE);
export const SIGNING_PROFILE_ARN_LENGTH: LengthBounds = { min: 1, max: 200 };

/**
 * SigningRepositoryFilter.filter, 1-256 characters of AWS's pattern (API_SigningRepositoryFilter):
 * `/`-separated segments, each made of runs of `a-z 0-9 *` joined by single separators `. _ -`. That
 * is runs of `a-z 0-9 *` joined by single separators `. _ - /`, exactly the language of the scanning
 * filter, so the same linear-time pattern and bounds serve both (the unit tests compare the two on a
 * corpus).
 */
export const SIGNING_FILTER_SOURCE = SCANNING_FILTER_SOURCE;
export const SIGNING_FILTER_PATTERN = SCANNING_FILTER_PATTERN;
export const SIGNING_FILTER_LENGTH = SCANNING_FILTER_LENGTH;

/** The rule as ECR stores it: no empty filter list. */
export function signingRuleOf(spec: ECRSigningRuleSpec): AppliedSigningRule {
  const rule: AppliedSigningRule = { signingProfileArn: spec.signingProfileArn };
  if (spec.repositoryFilters && spec.repositoryFilters.length > 0) {
    rule.repositoryFilters = spec.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType }));
  }
  return rule;
}

/** Why the spec cannot be a signing rule, or undefined when it can. */
export function validateSigningSpec(spec: ECRSigningRuleSpec): string | undefined {
  if (!matchesWithin(spec.signingProfileArn, SIGNING_PROFILE_ARN_PATTERN, SIGNING_PROFILE_ARN_LENGTH)) {
    return `spec.signingProfileArn: ${JSON.stringify(String(spec.signingProfileArn ?? '').slice(0, 300))} is not an AWS Signer signing profile ARN (arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME, at most ${SIGNING_PROFILE_ARN_LENGTH.max} characters)`;
  }
  const filters = spec.repositoryFilters ?? [];
  if (filters.length > SIGNING_MAX_FILTERS_PER_RULE) {
    return `spec.repositoryFilters: ${filters.length} filters, ECR allows at most ${SIGNING_MAX_FILTERS_PER_RULE} in a signing rule`;
  }
  for (const [i, f] of filters.entries()) {
    if (f.filterType !== 'WILDCARD_MATCH') return `spec.repositoryFilters[${i}].filterType: only WILDCARD_MATCH is supported`;
    if (!matchesWithin(f.filter, SIGNING_FILTER_PATTERN, SIGNING_FILTER_LENGTH)) {
      return `spec.repositoryFilters[${i}].filter: ${JSON.stringify(String(f.filter).slice(0, 300))} is not a repository name pattern (a-z, 0-9, . _ - / and *; ${SIGNING_FILTER_LENGTH.min}-${SIGNING_FILTER_LENGTH.max} characters)`;
    }
  }
  return undefined;
}
