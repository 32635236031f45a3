import { JSON_MAX_DEPTH, parseBoundedJson, POLICY_MAX_CHARS } from '../../api/bounded-json.js';
import { matchesWithin, SID_LENGTH, SID_PATTERN } from '../../api/patterns.js';
import type { ECRRegistryPolicyStatementSpec } from './types.js';

/**
 * What a registry policy statement may be, checked before any call. Sources: the Amazon ECR API
 * Reference, PutRegistryPolicy (policyText at most 10,240 characters), and the IAM JSON policy
 * reference (Sid: letters and digits; Effect Allow or Deny; a resource policy names a Principal).
 * The nesting limit (src/api/bounded-json.ts) is ours: no IAM statement comes near it, and it bounds
 * every walk of the JSON.
 */
export const REGISTRY_POLICY_MAX_CHARS = POLICY_MAX_CHARS;
export const REGISTRY_POLICY_VERSION = '2012-10-17';
/** A live registry policy nested deeper than this is not read (it is not ours to rewrite). */
export const DOCUMENT_MAX_DEPTH = 64;

export type Statement = Record<string, unknown>;

/** The statement object with its Sid first, or the reason it cannot be one (naming the field). */
export function statementOf(spec: ECRRegistryPolicyStatementSpec): { statement: Statement } | { problem: string } {
  if (!matchesWithin(spec.sid, SID_PATTERN, SID_LENGTH)) return { problem: `spec.sid: ${JSON.stringify(String(spec.sid).slice(0, 200))} must be 1-128 letters and digits` };
  const parsed = parseBoundedJson(String(spec.statement ?? ''), { maxChars: POLICY_MAX_CHARS, maxDepth: JSON_MAX_DEPTH, field: 'spec.statement' });
  if (!parsed.ok) return { problem: parsed.problem };
  const value = parsed.value;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { problem: 'spec.statement must be one JSON object (an IAM policy statement)' };
  const raw = value as Statement;
  if ('Statement' in raw || 'Version' in raw) return { problem: 'spec.statement must be one statement, not a whole policy document' };
  const inner = raw.Sid;
  if (inner !== undefined && inner !== spec.sid) return { problem: `spec.statement has Sid ${JSON.stringify(inner)}, but spec.sid is ${JSON.stringify(spec.sid)}` };
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') return { problem: 'spec.statement.Effect must be "Allow" or "Deny"' };
  if (raw.Principal === undefined && raw.NotPrincipal === undefined) return { problem: 'spec.statement needs a Principal: a registry policy is a resource policy' };
  if (raw.Action === undefined && raw.NotAction === undefined) return { problem: 'spec.statement needs an Action' };
  const { Sid: _sid, ...rest } = raw;
  return { statement: { Sid: spec.sid, ...rest } };
}
