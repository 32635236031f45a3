import type { ECRRegistryPolicyStatementSpec } from './types.js';

/**
 * What a registry policy statement may be, checked before any call. Sources: the Amazon ECR API
 * Reference, PutRegistryPolicy (policyText at most 10,240 characters), and the IAM JSON policy
 * reference (Sid: letters and digits; Effect Allow or Deny; a resource policy names a Principal).
 * The nesting limit is ours: no IAM statement comes near it, and it bounds every walk of the JSON.
 */
export const REGISTRY_POLICY_MAX_CHARS = 10_240;
export const REGISTRY_POLICY_VERSION = '2012-10-17';
export const STATEMENT_MAX_DEPTH = 32;
/** A live registry policy nested deeper than this is not read (it is not ours to rewrite). */
export const DOCUMENT_MAX_DEPTH = 64;
/** IAM statement ids: letters and digits (linear: one character class, one quantifier). */
export const SID_PATTERN = /^[A-Za-z0-9]{1,128}$/;

export type Statement = Record<string, unknown>;

/**
 * JSON text → value, refusing before JSON.parse what is longer than `maxChars` or nested deeper
 * than `maxDepth` (one linear scan, strings and escapes skipped).
 */
export function parseBounded(text: string, opts: { maxChars: number; maxDepth: number; field: string }): { value: unknown } | { problem: string } {
  if (text.length > opts.maxChars) return { problem: `${opts.field}: ${text.length} characters, at most ${opts.maxChars}` };
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > opts.maxDepth) return { problem: `${opts.field}: nested deeper than ${opts.maxDepth} levels (the limit)` };
    } else if (c === 125 || c === 93) depth--;
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { problem: `${opts.field} is not valid JSON: ${(err as Error).message}` };
  }
}

/** The statement object with its Sid first, or the reason it cannot be one (naming the field). */
export function statementOf(spec: ECRRegistryPolicyStatementSpec): { statement: Statement } | { problem: string } {
  if (typeof spec.sid !== 'string' || !SID_PATTERN.test(spec.sid)) return { problem: `spec.sid: ${JSON.stringify(String(spec.sid).slice(0, 200))} must be 1-128 letters and digits` };
  const parsed = parseBounded(String(spec.statement ?? ''), { maxChars: REGISTRY_POLICY_MAX_CHARS, maxDepth: STATEMENT_MAX_DEPTH, field: 'spec.statement' });
  if ('problem' in parsed) return parsed;
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
