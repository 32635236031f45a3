import { describe, expect, it } from 'vitest';
import {
  JSON_MAX_DEPTH,
  LIFECYCLE_POLICY_MAX_CHARS,
  POLICY_MAX_CHARS,
  jsonBoundsProblem,
  parseBoundedJson,
  type BoundedJsonOptions,
} from '../../../src/api/bounded-json.js';
import { parseLifecyclePolicy } from '../../../src/lifecycle/policy.js';
import { fastestMs } from '../support/timing.js';

const statementLimits: BoundedJsonOptions = { maxChars: POLICY_MAX_CHARS, maxDepth: JSON_MAX_DEPTH, field: 'spec.statement' };
/** Depth alone: a size limit that never applies. */
const depthOnly: BoundedJsonOptions = { maxChars: 10_000_000, maxDepth: JSON_MAX_DEPTH, field: 'spec.statement' };

const DEPTH_PROBLEM = 'spec.statement: nesting deeper than 32 levels (the limit)';

function timed<T>(run: () => T): { value: T; ms: number } {
  const value = run();
  return { value, ms: fastestMs(run) };
}

/** `[[...]]` or `{"a":{"a":...}}`, `depth` levels deep and balanced. */
const arrays = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const objects = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('the limits', () => {
  it('are those of ECR and far past any real statement', () => {
    expect(JSON_MAX_DEPTH).toBe(32);
    expect(POLICY_MAX_CHARS).toBe(10_240);
    expect(LIFECYCLE_POLICY_MAX_CHARS).toBe(30_720);
  });
});

describe('parseBoundedJson', () => {
  it('parses a real registry policy statement', () => {
    const statement = {
      Sid: 'ReplicationAccessCrossAccount',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::210987654321:root' },
      Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
      Resource: 'arn:aws:ecr:us-west-2:123456789012:repository/*',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': ['o-a1b2c3d4e5'] }, Bool: { 'aws:SecureTransport': 'true' } },
    };
    const text = JSON.stringify(statement, null, 2);
    expect(parseBoundedJson(text, statementLimits)).toEqual({ ok: true, value: statement });
  });

  it.each([
    ['[[[[...', arrays(10_000)],
    ['{"a":{"a":...', objects(10_000)],
    ['unclosed [[[[...', '['.repeat(10_000)],
    ['unclosed {"a":{"a":...', '{"a":'.repeat(10_000)],
  ])('refuses 10,000-deep nesting %s within 50 ms, naming the field and the limit', (_shape, text) => {
    const { value, ms } = timed(() => parseBoundedJson(text, depthOnly));
    expect(ms).toBeLessThan(50);
    expect(value).toEqual({ ok: false, problem: DEPTH_PROBLEM, message: 'nesting deeper than 32 levels (the limit)' });
  });

  it('refuses the 4,000-deep statement of 8 KB that fits the size limit', () => {
    const text = `{"Sid":"Deep","Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":${arrays(4_000)}}`;
    expect(text.length).toBeLessThan(POLICY_MAX_CHARS);
    const { value, ms } = timed(() => parseBoundedJson(text, statementLimits));
    expect(ms).toBeLessThan(50);
    expect(value).toMatchObject({ ok: false, problem: DEPTH_PROBLEM });
  });

  it('accepts exactly the limit and refuses one level more', () => {
    expect(parseBoundedJson(arrays(32), depthOnly)).toMatchObject({ ok: true });
    expect(parseBoundedJson(objects(32), depthOnly)).toMatchObject({ ok: true });
    expect(parseBoundedJson(arrays(33), depthOnly)).toMatchObject({ ok: false, problem: DEPTH_PROBLEM });
    expect(parseBoundedJson(objects(33), depthOnly)).toMatchObject({ ok: false, problem: DEPTH_PROBLEM });
    // Depth is how deep, not how many: siblings do not add up.
    expect(parseBoundedJson(`[${Array.from({ length: 1_000 }, () => arrays(31)).join(',')}]`, depthOnly)).toMatchObject({ ok: true });
  });

  it('does not count brackets inside strings', () => {
    const value = { Sid: 'S', Resource: '['.repeat(5_000), Condition: { StringLike: { 'aws:x': '{'.repeat(4_000) } } };
    expect(parseBoundedJson(JSON.stringify(value), statementLimits)).toEqual({ ok: true, value });
  });

  it('honours escapes: an escaped quote does not end a string, an escaped backslash does not escape the quote', () => {
    const inString = { a: `\\"${'['.repeat(100)}` }; // the string holds \" followed by brackets
    expect(JSON.stringify(inString)).toContain('\\\\\\"[');
    expect(parseBoundedJson(JSON.stringify(inString), depthOnly)).toEqual({ ok: true, value: inString });
    // "\\" is a whole string: the brackets after it are outside and count.
    const outside = `["\\\\", ${arrays(40)}]`;
    expect(JSON.parse(`["\\\\", ${arrays(2)}]`)).toEqual(['\\', [[]]]);
    expect(parseBoundedJson(outside, depthOnly)).toMatchObject({ ok: false, problem: DEPTH_PROBLEM });
  });

  it('does not let closing brackets before the openings buy depth', () => {
    expect(jsonBoundsProblem(`${']'.repeat(100)}${'['.repeat(33)}`, depthOnly)).toBe('nesting deeper than 32 levels (the limit)');
  });

  it('refuses a text longer than the limit before reading it, and accepts one of exactly the limit', () => {
    const exactly = JSON.stringify({ Sid: 'x'.repeat(POLICY_MAX_CHARS - 10) });
    expect(exactly.length).toBe(POLICY_MAX_CHARS);
    expect(parseBoundedJson(exactly, statementLimits)).toMatchObject({ ok: true });
    const longer = JSON.stringify({ Sid: 'x'.repeat(POLICY_MAX_CHARS - 9) });
    expect(parseBoundedJson(longer, statementLimits)).toEqual({
      ok: false,
      problem: 'spec.statement: 10241 characters, longer than 10240 (the limit)',
      message: '10241 characters, longer than 10240 (the limit)',
    });
    const { value, ms } = timed(() => parseBoundedJson(objects(10_000), statementLimits));
    expect(ms).toBeLessThan(50);
    expect(value).toMatchObject({ ok: false, problem: expect.stringMatching(/^spec\.statement: 60001 characters, longer than 10240 \(the limit\)$/) });
  });

  it('reports text that is not JSON, naming the field', () => {
    expect(parseBoundedJson('{"Sid": ', statementLimits)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^spec\.statement: not valid JSON: /),
    });
  });

  it.each([
    ['a run of quotes', '"'.repeat(10_000), false],
    ['a string of 9,998 backslashes (4,999 escaped ones)', `"${'\\'.repeat(9_998)}"`, true],
    ['a string of backslashes that escapes its own closing quote', `"${'\\'.repeat(9_997)}"x`, false],
    ['alternating brackets and quotes', '["'.repeat(5_000), false],
    ['closers only', ']}'.repeat(5_000), false],
    ['10,000 characters of letters', 'a'.repeat(9_999) + '!', false],
  ])('returns within 50 ms on %s', (_shape, text, ok) => {
    expect(text.length).toBe(10_000);
    const { value, ms } = timed(() => parseBoundedJson(text, { ...statementLimits, maxChars: 10_000 }));
    expect(ms).toBeLessThan(50);
    expect(value.ok).toBe(ok);
  });
});

describe('parseLifecyclePolicy (the lifecycle evaluator reads policies through the same bounds)', () => {
  it('parses a policy', () => {
    const policy = { rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }] };
    expect(parseLifecyclePolicy(JSON.stringify(policy))).toEqual(policy);
  });

  it('throws naming the field and the limit, within 50 ms', () => {
    const { ms } = timed(() => expect(() => parseLifecyclePolicy('['.repeat(10_000))).toThrow('spec.lifecyclePolicy.policyText: nesting deeper than 32 levels (the limit)'));
    expect(ms).toBeLessThan(50);
    expect(() => parseLifecyclePolicy(' '.repeat(30_721))).toThrow('spec.lifecyclePolicy.policyText: 30721 characters, longer than 30720 (the limit)');
  });
});
