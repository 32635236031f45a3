/**
 * Checks of what a CRD schema and its CEL rules cannot see: the JSON documents that ECRRepository
 * and ECRRepositoryCreationTemplate carry as strings (a lifecycle policy, a repository policy). One
 * code path for every kind that carries them: a problem found here never reaches AWS; the
 * reconciler reports it as Ready=False with reason InvalidSpec and the messages below.
 */
// The named export: under NodeNext the default import of this CommonJS package types as the
// module object rather than the class.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { JSON_MAX_DEPTH, LIFECYCLE_POLICY_MAX_CHARS, POLICY_MAX_CHARS, jsonBoundsProblem, type JsonBounds } from './bounded-json.js';
import { ARRAY_INDEX_PATTERN, JSON_UNICODE_ESCAPE_PATTERN, jsonScalarLengthAt } from './patterns.js';
import { LIFECYCLE_POLICY_SCHEMA, REPOSITORY_POLICY_SCHEMA } from './policy-schemas.js';

export interface ValidationIssue {
  /** Path of the spec field, such as `spec.lifecyclePolicy.policyText`. */
  field: string;
  /** What is wrong, and where inside the field's JSON (`rules[1].selection.countUnit ...`). */
  message: string;
}

/** Where the kinds carry the documents: the default field of each check. */
export const LIFECYCLE_POLICY_FIELD = 'spec.lifecyclePolicy.policyText';
export const REPOSITORY_POLICY_FIELD = 'spec.repositoryPolicyText';

/**
 * The size limits are ECR's (and the CRD's maxLength); the depth limit is far past any real policy
 * and keeps the walks below (the error locator, ajv, the policy comparison) shallow.
 */
const LIFECYCLE_POLICY_BOUNDS: JsonBounds = { maxChars: LIFECYCLE_POLICY_MAX_CHARS, maxDepth: JSON_MAX_DEPTH };
const REPOSITORY_POLICY_BOUNDS: JsonBounds = { maxChars: POLICY_MAX_CHARS, maxDepth: JSON_MAX_DEPTH };

/** At most this many problems are listed per document, each at most this long (see Messages). */
const MAX_MESSAGES = 10;
const MAX_MESSAGE_CHARS = 300;

/** ECR's limit on `*` wildcards in one tagPatternList entry. */
const MAX_TAG_PATTERN_WILDCARDS = 4;
/** ECR's minimum storage duration of an archived image: no lifecycle rule may delete it sooner. */
export const MIN_ARCHIVE_DAYS = 90;
const SINCE_COUNT_TYPES = ['sinceImagePushed', 'sinceImagePulled', 'sinceImageTransitioned'];

/**
 * The schemas' validators, compiled on first use: compiling them costs about 4 MiB of resident
 * memory that an operator with no policy to check never needs.
 */
let validators: { lifecycle: ValidateFunction; repository: ValidateFunction } | undefined;
function compiledValidators(): { lifecycle: ValidateFunction; repository: ValidateFunction } {
  if (!validators) {
    // verbose: errors carry their schema, so that an unknown property can be answered with the known ones.
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    validators = { lifecycle: ajv.compile(LIFECYCLE_POLICY_SCHEMA), repository: ajv.compile(REPOSITORY_POLICY_SCHEMA) };
  }
  return validators;
}

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `/rules/1/selection` -> `rules[1].selection`. */
function jsonPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += ARRAY_INDEX_PATTERN.test(segment) ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  }
  return out;
}

function child(path: string, property: string): string {
  return path === '' ? property : `${path}.${property}`;
}

function describeType(type: string | string[]): string {
  const names: Record<string, string> = {
    object: 'a JSON object',
    array: 'an array',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'a boolean',
  };
  const types = Array.isArray(type) ? type : type.split(',');
  if (types.includes('array') && types.includes('string')) return 'a string or a non-empty array of strings';
  return types.map((t) => names[t] ?? t).join(' or ');
}

/** The offending value, shortened: a message names a place, it does not repeat the document. */
function show(value: Json): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Turns one ajv error into a sentence that names the place inside the document. */
function describeError(error: ErrorObject, document: string, data: Json): string | undefined {
  const path = jsonPath(error.instancePath);
  const subject = path === '' ? `the ${document}` : path;
  const params = error.params as Record<string, unknown>;
  const value = valueAt(data, error.instancePath);
  switch (error.keyword) {
    case 'required':
      return `${child(path, String(params.missingProperty))} is required`;
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      const hint = known.length > 0 ? ` (known: ${known.join(', ')})` : '';
      return `${child(path, String(params.additionalProperty))} is not allowed: unknown property${hint}`;
    }
    case 'type':
      return `${subject} must be ${describeType(params.type as string | string[])} (got ${show(value)})`;
    case 'enum': {
      const values = (params.allowedValues as unknown[]).map(show);
      const allowed = values.length === 1 ? `${values[0]}` : `one of ${values.join(', ')}`;
      if (path.endsWith('.countUnit')) {
        return `${subject} must be "days" (got ${show(value)}): ECR accepts only days as the unit of the since* count types`;
      }
      return `${subject} must be ${allowed} (got ${show(value)})`;
    }
    case 'const':
      return `${subject} must be ${show(params.allowedValue)} when it is a string (got ${show(value)})`;
    case 'minimum':
      return `${subject} must be at least ${String(params.limit)} (got ${show(value)})`;
    case 'minItems':
    case 'minLength':
    case 'minProperties':
      return `${subject} must not be empty`;
    case 'if':
      // Reported through the error of the `then` branch itself.
      return undefined;
    default:
      return `${subject} ${error.message ?? 'is invalid'}`;
  }
}

function valueAt(data: Json, pointer: string): Json {
  let current: Json = data;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/**
 * The problems of one document, each once, at most MAX_MESSAGES of them and each at most
 * MAX_MESSAGE_CHARS long: a document of 30 KB can hold thousands of errors and property names of
 * any length, and the whole list ends in one condition message, which the CRD bounds to 32,768
 * characters. Past the limit, problems are only counted.
 */
class Messages {
  readonly listed = new Set<string>();
  notListed = 0;

  get full(): boolean {
    return this.listed.size >= MAX_MESSAGES;
  }

  add(message: string): void {
    const clipped = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 3)}...` : message;
    if (this.listed.has(clipped)) return;
    if (this.full) this.notListed++;
    else this.listed.add(clipped);
  }

  list(): string[] {
    const out = [...this.listed];
    if (this.notListed > 0) out.push(`and ${this.notListed} more problems not listed`);
    return out;
  }
}

/** ajv's errors as sentences; once the list is full the rest are counted, not described. */
function addSchemaMessages(messages: Messages, check: ValidateFunction, data: Json, document: string): void {
  if (check(data)) return;
  for (const error of check.errors ?? []) {
    if (error.keyword === 'if') continue; // reported through the error of the `then` branch itself
    if (messages.full) {
      messages.notListed++;
      continue;
    }
    const message = describeError(error, document, data);
    if (message !== undefined) messages.add(message);
  }
}

/** Where a text stops being JSON, and what was expected there. */
class JsonSyntaxError {
  constructor(
    readonly offset: number,
    readonly expected: string,
  ) {}
}

/**
 * Walks a text that JSON.parse refused, to find where it breaks. The engine's own message has no
 * stable position across Node versions and quotes the text, which can be 30 KB long.
 */
function locateJsonError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const fail = (expected: string): never => {
    throw new JsonSyntaxError(i, expected);
  };
  const skipSpace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail('a closing "');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('no line break or control character inside a string (write \\n)');
      if (c === 0x5c) {
        i++;
        const escape = text.charAt(i);
        if (escape === 'u') {
          if (!JSON_UNICODE_ESCAPE_PATTERN.test(text.slice(i + 1, i + 5))) fail('four hex digits after \\u');
          i += 4;
        } else if (!'"\\/bfnrt'.includes(escape) || escape === '') {
          fail('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
      }
      i++;
    }
  };
  const value = (): void => {
    skipSpace();
    const c = text.charAt(i);
    if (c === '{') {
      i++;
      skipSpace();
      if (text.charAt(i) === '}') {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        if (text.charAt(i) !== '"') fail('a property name in double quotes');
        string();
        skipSpace();
        if (text.charAt(i) !== ':') fail("':'");
        i++;
        value();
        skipSpace();
        const next = text.charAt(i);
        i++;
        if (next === '}') return;
        if (next !== ',') {
          i--;
          fail("',' or '}'");
        }
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (text.charAt(i) === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        skipSpace();
        const next = text.charAt(i);
        i++;
        if (next === ']') return;
        if (next !== ',') {
          i--;
          fail("',' or ']'");
        }
      }
    }
    if (c === '"') return string();
    const length = jsonScalarLengthAt(text, i);
    if (length === undefined) fail('a value (object, array, string, number, true, false or null)');
    i += length ?? 0;
  };
  try {
    value();
    skipSpace();
    if (i < text.length) fail('the end of the document');
    return undefined;
  } catch (err) {
    if (err instanceof JsonSyntaxError) return err;
    return undefined; // not expected within the depth limit; the caller falls back to the engine's reason
  }
}

/** Parses the text if it is within its bounds, or says why not or where the JSON breaks. */
function parse(text: string, document: string, bounds: JsonBounds): { data: Json } | { error: string } {
  const tooBig = jsonBoundsProblem(text, bounds);
  if (tooBig !== undefined) return { error: tooBig };
  try {
    return { data: JSON.parse(text) as Json };
  } catch (err) {
    const located = locateJsonError(text);
    if (!located) return { error: `the ${document} is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
    const before = text.slice(0, located.offset);
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    const found = located.offset >= text.length ? 'the end of the text' : JSON.stringify(text.charAt(located.offset));
    return {
      error: `the ${document} is not valid JSON at line ${line}, column ${column}: expected ${located.expected}, found ${found}`,
    };
  }
}

function storageClassOf(selection: JsonObject): string {
  return selection.storageClass === 'archive' ? 'archive' : 'standard';
}

/** ECR's rules that relate several fields of a lifecycle policy. */
function lifecycleRuleMessages(policy: Json): string[] {
  if (!isObject(policy) || !Array.isArray(policy.rules)) return [];
  const messages: string[] = [];
  const rules = policy.rules as Json[];
  const priorities = rules.map((rule) =>
    isObject(rule) && Number.isInteger(rule.rulePriority) ? (rule.rulePriority as number) : undefined,
  );
  // One pass each, so that a policy of thousands of rules is checked in linear time: where each
  // priority is first used, and per storage class the rule with the highest priority (the first
  // such rule on a tie).
  const firstWithPriority = new Map<number, number>();
  const highestOfClass = new Map<string, number>();
  rules.forEach((rule, i) => {
    const p = priorities[i];
    if (p === undefined) return;
    if (!firstWithPriority.has(p)) firstWithPriority.set(p, i);
    if (!isObject(rule) || !isObject(rule.selection)) return;
    const storageClass = storageClassOf(rule.selection);
    const highest = highestOfClass.get(storageClass);
    if (highest === undefined || p > (priorities[highest] as number)) highestOfClass.set(storageClass, i);
  });

  rules.forEach((rule, i) => {
    if (!isObject(rule)) return;
    const at = `rules[${i}]`;
    const priority = priorities[i];
    if (priority !== undefined) {
      const first = firstWithPriority.get(priority) as number;
      if (first !== i) {
        messages.push(`${at}.rulePriority ${priority} is already used by rules[${first}]: every rule needs its own rulePriority`);
      }
    }

    const selection = rule.selection;
    if (!isObject(selection)) return;
    const tagStatus = selection.tagStatus;
    const lists = (['tagPrefixList', 'tagPatternList'] as const).filter((key) => key in selection);
    if (tagStatus === 'tagged' && lists.length === 0) {
      messages.push(`${at}.selection with tagStatus tagged needs tagPrefixList or tagPatternList`);
    }
    if ((tagStatus === 'untagged' || tagStatus === 'any') && lists.length > 0) {
      for (const key of lists) messages.push(`${at}.selection.${key} is only allowed with tagStatus tagged (got ${tagStatus})`);
    }
    if (Array.isArray(selection.tagPatternList)) {
      selection.tagPatternList.forEach((pattern: Json, j: number) => {
        if (typeof pattern === 'string' && pattern.split('*').length - 1 > MAX_TAG_PATTERN_WILDCARDS) {
          messages.push(`${at}.selection.tagPatternList[${j}] has more than ${MAX_TAG_PATTERN_WILDCARDS} wildcards (*)`);
        }
      });
    }

    const countType = selection.countType;
    if (typeof countType === 'string' && SINCE_COUNT_TYPES.includes(countType) && !('countUnit' in selection)) {
      messages.push(`${at}.selection.countUnit is required with countType ${countType}`);
    }
    if (countType === 'imageCountMoreThan' && 'countUnit' in selection) {
      messages.push(`${at}.selection.countUnit is only allowed with countType sinceImagePushed, sinceImagePulled or sinceImageTransitioned`);
    }
    messages.push(...archiveRuleMessages(at, selection, rule.action));

    if (tagStatus === 'any' && priority !== undefined) {
      // Among the rules of the same storage class: an `any` rule over active images claims all of
      // them, but none of the archived ones, so an archive-expiry rule may follow it (as ECR's own
      // archive examples do).
      const other = highestOfClass.get(storageClassOf(selection)) as number;
      if ((priorities[other] as number) > priority) {
        messages.push(
          `${at} has tagStatus any and must have the highest rulePriority, but rules[${other}] has ${String(priorities[other])} > ${priority}`,
        );
      }
    }
  });
  return messages;
}

/**
 * ECR's rules for archiving (Amazon ECR User Guide, "Lifecycle policy properties" and "Archiving an
 * image"): storageClass archive goes with, and only with, countType sinceImageTransitioned; an
 * archived image can only be expired, and not before its 90-day minimum storage duration; a
 * transition names targetStorageClass archive; sinceImagePulled selects images to archive.
 */
function archiveRuleMessages(at: string, selection: JsonObject, action: Json): string[] {
  const messages: string[] = [];
  const countType = selection.countType;
  const storageClass = selection.storageClass;
  const actionType = isObject(action) ? action.type : undefined;
  if (countType === 'sinceImageTransitioned' && storageClass !== 'archive') {
    messages.push(`${at}.selection.storageClass must be "archive" with countType sinceImageTransitioned (got ${show(storageClass ?? 'standard (omitted)')})`);
  }
  if (storageClass === 'archive' && typeof countType === 'string' && countType !== 'sinceImageTransitioned') {
    messages.push(`${at}.selection.storageClass archive is only allowed with countType sinceImageTransitioned (got ${countType})`);
  }
  if (storageClass === 'archive' && actionType === 'transition') {
    messages.push(`${at}.action.type must be "expire" with storageClass archive: an archived image can only be expired`);
  }
  if (countType === 'sinceImagePulled' && actionType === 'expire') {
    messages.push(`${at}.selection.countType sinceImagePulled is only allowed with action type transition (archive)`);
  }
  if (
    storageClass === 'archive' && actionType === 'expire' && typeof selection.countNumber === 'number' &&
    selection.countNumber < MIN_ARCHIVE_DAYS
  ) {
    messages.push(
      `${at}.selection.countNumber must be at least ${MIN_ARCHIVE_DAYS} to expire archived images (got ${selection.countNumber}): ECR keeps an archived image at least ${MIN_ARCHIVE_DAYS} days`,
    );
  }
  if (isObject(action)) {
    if (actionType === 'transition' && !('targetStorageClass' in action)) {
      messages.push(`${at}.action.targetStorageClass is required with action type transition (the only value is "archive")`);
    }
    if (actionType === 'expire' && 'targetStorageClass' in action) {
      messages.push(`${at}.action.targetStorageClass is only allowed with action type transition`);
    }
  }
  return messages;
}

function statements(policy: Json): Array<{ at: string; statement: JsonObject }> {
  if (!isObject(policy)) return [];
  const value = policy.Statement;
  if (isObject(value)) return [{ at: 'Statement', statement: value }];
  if (!Array.isArray(value)) return [];
  return value.flatMap((statement: Json, i: number) => (isObject(statement) ? [{ at: `Statement[${i}]`, statement }] : []));
}

/** IAM's rules that relate several fields of a statement. */
function statementMessages(policy: Json): string[] {
  const messages: string[] = [];
  for (const { at, statement } of statements(policy)) {
    const hasAction = 'Action' in statement;
    const hasNotAction = 'NotAction' in statement;
    if (!hasAction && !hasNotAction) messages.push(`${at} needs Action or NotAction`);
    if (hasAction && hasNotAction) messages.push(`${at} must not have both Action and NotAction`);
    if ('Principal' in statement && 'NotPrincipal' in statement) {
      messages.push(`${at} must not have both Principal and NotPrincipal`);
    }
    if ('Resource' in statement && 'NotResource' in statement) {
      messages.push(`${at} must not have both Resource and NotResource`);
    }
  }
  return messages;
}

function validateDocument(
  text: string,
  field: string,
  document: string,
  bounds: JsonBounds,
  check: ValidateFunction,
  crossFieldRules: (data: Json) => string[],
): ValidationIssue[] {
  const parsed = parse(text, document, bounds);
  if ('error' in parsed) return [{ field, message: parsed.error }];
  const messages = new Messages();
  addSchemaMessages(messages, check, parsed.data, document);
  for (const message of crossFieldRules(parsed.data)) messages.add(message);
  return messages.list().map((message) => ({ field, message }));
}

/** Checks an ECR lifecycle policy (by default `spec.lifecyclePolicy.policyText`); empty when it is valid. */
export function validateLifecyclePolicy(text: string, field = LIFECYCLE_POLICY_FIELD): ValidationIssue[] {
  return validateDocument(text, field, 'lifecycle policy', LIFECYCLE_POLICY_BOUNDS, compiledValidators().lifecycle, lifecycleRuleMessages);
}

/** Checks a repository policy (by default `spec.repositoryPolicyText`); empty when it is valid. */
export function validateRepositoryPolicy(text: string, field = REPOSITORY_POLICY_FIELD): ValidationIssue[] {
  return validateDocument(text, field, 'repository policy', REPOSITORY_POLICY_BOUNDS, compiledValidators().repository, statementMessages);
}

/** One line for a condition message: `field: message; field: message`. */
export function formatValidationIssues(issues: ValidationIssue[]): string {
  return issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
}
