/**
 * Checks of an ECRPublicRepository spec before any AWS call. The CRD schema refuses most bad input
 * at the API server (patterns, lengths, the architecture and operating system lists); the same
 * limits are checked here again, in linear time, for objects stored before a rule existed, and what
 * the schema cannot see is checked only here: the repository policy's JSON. A problem found here is
 * Ready=False with reason InvalidSpec, naming the field.
 */
import { matchesWithin, REPOSITORY_NAME_PATTERN } from '../../api/patterns.js';
import { OWNER_TAG } from '../../api/types.js';
import { validateRepositoryPolicy, type ValidationIssue } from '../ecrrepository/validation.js';
import {
  ABOUT_TEXT_MAX_CHARS,
  ARCHITECTURES,
  DESCRIPTION_MAX_CHARS,
  OPERATING_SYSTEMS,
  PUBLIC_REPOSITORY_NAME_LENGTH,
  USAGE_TEXT_MAX_CHARS,
  type ECRPublicRepositorySpec,
} from './types.js';

export type { ValidationIssue };

export const REPOSITORY_POLICY_FIELD = 'spec.repositoryPolicy';
/** AWS's limits on the tags of one repository. */
const MAX_TAGS = 50;
const TAG_KEY_MAX = 128;
const TAG_VALUE_MAX = 256;

function textIssue(field: string, value: unknown, max: number): ValidationIssue | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return { field, message: 'must be a string' };
  if (value.length > max) return { field, message: `${value.length} characters, more than ECR Public's limit of ${max}` };
  return undefined;
}

function listIssues(field: string, value: unknown, allowed: readonly string[]): ValidationIssue[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [{ field, message: 'must be a list' }];
  const issues: ValidationIssue[] = [];
  const seen = new Set<unknown>();
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || !allowed.includes(item)) {
      issues.push({ field: `${field}[${i}]`, message: `${JSON.stringify(item)} is not one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (the values the ECR Public Gallery shows)` });
    } else if (seen.has(item)) {
      issues.push({ field: `${field}[${i}]`, message: `${JSON.stringify(item)} is listed twice` });
    }
    seen.add(item);
  });
  return issues.slice(0, 10);
}

export function validateECRPublicRepositorySpec(spec: ECRPublicRepositorySpec): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!matchesWithin(spec.repositoryName, REPOSITORY_NAME_PATTERN, PUBLIC_REPOSITORY_NAME_LENGTH)) {
    issues.push({
      field: 'spec.repositoryName',
      message: `must be ${PUBLIC_REPOSITORY_NAME_LENGTH.min} to ${PUBLIC_REPOSITORY_NAME_LENGTH.max} characters of lowercase letters and digits, joined by single '.', '_', '-' or '/'`,
    });
  }
  const catalog = spec.catalogData;
  if (catalog !== undefined) {
    for (const issue of [
      textIssue('spec.catalogData.description', catalog.description, DESCRIPTION_MAX_CHARS),
      textIssue('spec.catalogData.aboutText', catalog.aboutText, ABOUT_TEXT_MAX_CHARS),
      textIssue('spec.catalogData.usageText', catalog.usageText, USAGE_TEXT_MAX_CHARS),
    ]) {
      if (issue) issues.push(issue);
    }
    issues.push(...listIssues('spec.catalogData.architectures', catalog.architectures, ARCHITECTURES));
    issues.push(...listIssues('spec.catalogData.operatingSystems', catalog.operatingSystems, OPERATING_SYSTEMS));
    const logo = catalog.logo;
    if (logo !== undefined && Boolean(logo.configMapKeyRef) === Boolean(logo.secretKeyRef)) {
      issues.push({ field: 'spec.catalogData.logo', message: 'names exactly one of configMapKeyRef and secretKeyRef' });
    }
  }
  if (spec.repositoryPolicy !== undefined) {
    issues.push(...validateRepositoryPolicy(spec.repositoryPolicy).map((issue) => ({ ...issue, field: REPOSITORY_POLICY_FIELD })));
  }
  const tags = Object.entries(spec.tags ?? {});
  if (tags.length > MAX_TAGS) issues.push({ field: 'spec.tags', message: `${tags.length} tags; AWS allows at most ${MAX_TAGS} on a repository` });
  for (const [key, value] of tags.slice(0, MAX_TAGS + 1)) {
    if (key.length < 1 || key.length > TAG_KEY_MAX) issues.push({ field: 'spec.tags', message: `keys must be 1 to ${TAG_KEY_MAX} characters long` });
    else if (key === OWNER_TAG) issues.push({ field: 'spec.tags', message: `must not contain the key ${OWNER_TAG}: it is reserved for the operator's ownership tag` });
    else if (key.toLowerCase().startsWith('aws:')) issues.push({ field: 'spec.tags', message: 'keys must not start with aws:, a prefix reserved by AWS' });
    else if (typeof value !== 'string' || value.length > TAG_VALUE_MAX) issues.push({ field: `spec.tags[${JSON.stringify(key.slice(0, 40))}]`, message: `values must be at most ${TAG_VALUE_MAX} characters` });
  }
  return issues;
}

/** One line for a condition message: `field: message; field: message`. */
export function formatIssues(issues: ValidationIssue[]): string {
  return issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
}
