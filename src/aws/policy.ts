/**
 * Comparison of JSON policy documents by meaning.
 *
 * ECR gives back policy text in its own formatting, and users write the same policy in many
 * equivalent ways. Comparing text would make every reconcile see a difference and write the policy
 * again, forever. Two policies are equal here when they grant the same thing:
 *
 * - any JSON: key order and whitespace do not count;
 * - IAM policies (a `Statement` member): `Statement` may be one object or a list, and statements
 *   are a set; in Action/NotAction/Resource/NotResource, the values of Principal/NotPrincipal and
 *   condition values, a single string equals a one-element list and lists are sets; action names
 *   are case-insensitive (as IAM treats them); an account id principal equals its `:root` ARN;
 *   scalar condition values compare as strings (IAM compares them as strings);
 * - lifecycle policies (a `rules` list): rules are ordered by `rulePriority`, the tag prefix
 *   and pattern lists of a selection are sets, and storageClass standard equals no storageClass.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key] as Json);
  return out;
}

function stringify(value: Json): string {
  return JSON.stringify(sortKeys(value));
}

/** The JSON text with keys sorted and no insignificant whitespace. Throws SyntaxError on bad JSON. */
export function canonicalJson(text: string): string {
  return stringify(JSON.parse(text) as Json);
}

/** A list of distinct values in a fixed order: the normal form of "string or list of strings". */
function asSet(value: Json | undefined, map: (item: Json) => Json = (item) => item): Json[] {
  const items = Array.isArray(value) ? value : [value as Json];
  const byKey = new Map<string, Json>();
  for (const item of items) {
    const mapped = map(item);
    byKey.set(stringify(mapped), mapped);
  }
  return [...byKey.keys()].sort().map((key) => byKey.get(key) as Json);
}

const lowerCase = (item: Json): Json => (typeof item === 'string' ? item.toLowerCase() : item);
const asString = (item: Json): Json =>
  typeof item === 'number' || typeof item === 'boolean' ? String(item) : item;

const ACCOUNT_ROOT = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;
const accountPrincipal = (item: Json): Json => {
  if (typeof item !== 'string') return item;
  const root = ACCOUNT_ROOT.exec(item);
  return root ? root[1] as string : item;
};

function normalizePrincipal(value: Json): Json {
  if (!isObject(value)) return typeof value === 'string' || value === null ? value : asSet(value);
  const out: { [key: string]: Json } = {};
  for (const [type, ids] of Object.entries(value)) {
    out[type] = asSet(ids, type === 'AWS' ? accountPrincipal : undefined);
  }
  return out;
}

function normalizeCondition(value: Json): Json {
  if (!isObject(value)) return value;
  const out: { [key: string]: Json } = {};
  for (const [operator, entries] of Object.entries(value)) {
    if (!isObject(entries)) {
      out[operator] = entries;
      continue;
    }
    const keys: { [key: string]: Json } = {};
    for (const [key, values] of Object.entries(entries)) keys[key] = asSet(values, asString);
    out[operator] = keys;
  }
  return out;
}

function normalizeStatement(statement: Json): Json {
  if (!isObject(statement)) return statement;
  const out: { [key: string]: Json } = { ...statement };
  for (const key of ['Action', 'NotAction']) {
    if (key in out) out[key] = asSet(out[key], lowerCase);
  }
  for (const key of ['Resource', 'NotResource']) {
    if (key in out) out[key] = asSet(out[key]);
  }
  for (const key of ['Principal', 'NotPrincipal']) {
    if (key in out) out[key] = normalizePrincipal(out[key] as Json);
  }
  if ('Condition' in out) out.Condition = normalizeCondition(out.Condition as Json);
  return out;
}

function normalizeIamPolicy(policy: { [key: string]: Json }): Json {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement as Json];
  return { ...policy, Statement: asSet(statements.map(normalizeStatement)) };
}

function priorityOf(rule: Json): number {
  return isObject(rule) && typeof rule.rulePriority === 'number' ? rule.rulePriority : Number.POSITIVE_INFINITY;
}

function normalizeLifecycleRule(rule: Json): Json {
  if (!isObject(rule) || !isObject(rule.selection)) return rule;
  const selection: { [key: string]: Json } = { ...rule.selection };
  for (const key of ['tagPrefixList', 'tagPatternList']) {
    if (Array.isArray(selection[key])) selection[key] = asSet(selection[key]);
  }
  // standard is ECR's default storage class: saying it equals leaving it out.
  if (selection.storageClass === 'standard') delete selection.storageClass;
  return { ...rule, selection };
}

function normalizeLifecyclePolicy(policy: { [key: string]: Json }): Json {
  const rules = (policy.rules as Json[]).map(normalizeLifecycleRule);
  // Priorities are unique in a valid policy; the text order only breaks ties in invalid ones.
  const ordered = rules
    .map((rule, index) => ({ rule, index }))
    .sort((x, y) => priorityOf(x.rule) - priorityOf(y.rule) || x.index - y.index)
    .map(({ rule }) => rule);
  return { ...policy, rules: ordered };
}

/**
 * The normal form of a policy document: two texts with the same meaning give the same string.
 * Throws SyntaxError when the text is not JSON.
 */
export function canonicalPolicy(text: string): string {
  const parsed = JSON.parse(text) as Json;
  if (isObject(parsed) && 'Statement' in parsed) return stringify(normalizeIamPolicy(parsed));
  if (isObject(parsed) && Array.isArray(parsed.rules)) return stringify(normalizeLifecyclePolicy(parsed));
  return stringify(parsed);
}

function absent(text: string | undefined): text is undefined {
  return text === undefined || text.trim() === '';
}

function tryCanonical(text: string): string | undefined {
  try {
    return canonicalPolicy(text);
  } catch {
    return undefined;
  }
}

/**
 * True when both texts are absent (undefined or blank) or mean the same policy. Text that is not
 * JSON equals only the same text (ignoring surrounding whitespace), so a broken spec still shows as
 * a difference rather than as "already applied".
 */
export function policiesEqual(a: string | undefined, b: string | undefined): boolean {
  if (absent(a) || absent(b)) return absent(a) && absent(b);
  const ca = tryCanonical(a);
  const cb = tryCanonical(b);
  if (ca === undefined || cb === undefined) return ca === undefined && cb === undefined && a.trim() === b.trim();
  return ca === cb;
}
