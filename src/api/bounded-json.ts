/**
 * JSON text that a user wrote (policy statements, policy documents) is parsed only after a size and
 * nesting check, so that no object can make the operator walk, compare or recurse into a document
 * deep enough to hold the event loop or overflow the stack. One pass over the text, constant work
 * per character: brackets count only outside strings, and a backslash inside a string skips the
 * character it escapes. The text is not otherwise checked here; JSON.parse does that after.
 */

/**
 * Nesting depth that no real IAM statement or ECR document reaches: a policy with a condition is
 * {Statement: [{Condition: {operator: {key: [values]}}}]}, six levels; a lifecycle policy is five.
 */
export const JSON_MAX_DEPTH = 32;

/**
 * Size of a policy text: PutRegistryPolicy's and SetRepositoryPolicy's policyText take at most
 * 10,240 characters (Amazon ECR API Reference), so one statement of it can be no longer.
 */
export const POLICY_MAX_CHARS = 10_240;

/** Size of a lifecycle policy text: PutLifecyclePolicy's lifecyclePolicyText (Amazon ECR API Reference). */
export const LIFECYCLE_POLICY_MAX_CHARS = 30_720;

export interface JsonBounds {
  /** Longest accepted text, in characters (UTF-16 code units, as String.length counts them). */
  maxChars: number;
  /** Deepest accepted nesting of objects and arrays; a bare value is depth 0, `[]` depth 1. */
  maxDepth: number;
}

export interface BoundedJsonOptions extends JsonBounds {
  /** The field the text came from, named in every problem (`spec.statement`). */
  field: string;
}

export type BoundedJsonResult =
  | { ok: true; value: unknown }
  | {
      ok: false;
      /** `field: message`, for a condition or an Event. */
      problem: string;
      /** The problem without the field's name, for callers that report the field separately. */
      message: string;
    };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * What makes `text` exceed `bounds`, or undefined when it fits. Stops at the first level past the
 * limit, so a text of any length costs at most one pass.
 */
export function jsonBoundsProblem(text: string, bounds: JsonBounds): string | undefined {
  if (text.length > bounds.maxChars) {
    return `${text.length} characters, longer than ${bounds.maxChars} (the limit)`;
  }
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > bounds.maxDepth) return `nesting deeper than ${bounds.maxDepth} levels (the limit)`;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      // Unbalanced closers are JSON.parse's to report; they must not buy extra depth here.
      if (depth > 0) depth--;
    }
  }
  return undefined;
}

/**
 * Parses `text` as JSON if it fits the size and depth limits, or says, naming the field and the
 * limit, why not (`spec.statement: nesting deeper than 32 levels (the limit)`).
 */
export function parseBoundedJson(text: string, options: BoundedJsonOptions): BoundedJsonResult {
  const fail = (message: string): BoundedJsonResult => ({ ok: false, message, problem: `${options.field}: ${message}` });
  const bounds = jsonBoundsProblem(text, options);
  if (bounds !== undefined) return fail(bounds);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return fail(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
