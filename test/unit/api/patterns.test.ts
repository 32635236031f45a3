import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ACCOUNT_ROOT_ARN_PATTERN,
  ARRAY_INDEX_PATTERN,
  JSON_UNICODE_ESCAPE_PATTERN,
  KMS_KEY_ARN_PATTERN,
  KMS_KEY_LENGTH,
  KMS_KEY_PATTERN,
  KMS_KEY_SOURCE,
  REGION_LENGTH,
  REGION_PATTERN,
  REGION_SOURCE,
  REGISTRY_ID_LENGTH,
  REGISTRY_ID_PATTERN,
  REGISTRY_ID_SOURCE,
  REPLICATION_FILTER_LENGTH,
  REPLICATION_FILTER_PATTERN,
  REPLICATION_FILTER_SOURCE,
  REPOSITORY_NAME_LENGTH,
  REPOSITORY_NAME_PATTERN,
  REPOSITORY_NAME_SOURCE,
  SCANNING_FILTER_LENGTH,
  SCANNING_FILTER_PATTERN,
  SCANNING_FILTER_SOURCE,
  SID_LENGTH,
  SID_PATTERN,
  SID_SOURCE,
  TAG_MUTABILITY_EXCLUSION_FILTER_LENGTH,
  TAG_MUTABILITY_EXCLUSION_FILTER_PATTERN,
  TAG_MUTABILITY_EXCLUSION_FILTER_SOURCE,
  jsonScalarLengthAt,
  matchesWithin,
  type LengthBounds,
} from '../../../src/api/patterns.js';
import { wildcardMatches } from '../../../src/lifecycle/evaluator.js';
import { fastestMs } from '../support/timing.js';

/**
 * The patterns as the Amazon ECR API Reference writes them. Some backtrack exponentially in V8:
 * they are only ever run here on strings of at most MAX_COMPARED characters.
 */
const AWS = {
  scanningFilter: /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/,
  replicationFilter: /^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$/,
  region: /^[0-9a-z-]{2,25}$/,
  registryId: /^[0-9]{12}$/,
  sid: /^[A-Za-z0-9]{1,128}$/,
  repositoryName: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
  // AWS writes it without `$`; its length bound 1-128 makes the value the whole match.
  exclusionFilter: /^[0-9a-zA-Z._*-]{1,128}$/,
};

interface Case {
  name: string;
  source: string;
  pattern: RegExp;
  length: LengthBounds;
  aws: RegExp;
  /** Characters that stand for every class the AWS pattern distinguishes, and some it refuses. */
  alphabet: string;
  /** Longest string compared exhaustively over the alphabet. */
  exhaustive: number;
  /** Longest random string compared (MAX_COMPARED unless the AWS pattern is linear and needs longer). */
  longest?: number;
  valid: string[];
  invalid: string[];
}

const cases: Case[] = [
  {
    name: 'scanning filter',
    source: SCANNING_FILTER_SOURCE,
    pattern: SCANNING_FILTER_PATTERN,
    length: SCANNING_FILTER_LENGTH,
    aws: AWS.scanningFilter,
    alphabet: 'az09*._-/A!',
    exhaustive: 5,
    valid: ['*', 'a', 'prod', 'prod-*', 'team/app*', '*/*', 'a.b_c-d/e', '**', 'a*b*c', 'a'.repeat(256)],
    invalid: ['', '-a', 'a-', 'a--b', 'a/', '/a', 'A', 'a b', 'a!', 'a.-b', 'a'.repeat(257), 'ä'],
  },
  {
    name: 'replication PREFIX_MATCH filter',
    source: REPLICATION_FILTER_SOURCE,
    pattern: REPLICATION_FILTER_PATTERN,
    length: REPLICATION_FILTER_LENGTH,
    aws: AWS.replicationFilter,
    alphabet: 'az09._-/A*',
    exhaustive: 5,
    valid: ['ab', 'prod', 'prod/', 'team/ap', 'a-', 'a--', '--', '._', 'a/b/', 'a./-x', 'a'.repeat(256)],
    invalid: ['a', '', '/a', 'a//b', 'A1', 'a*', 'a/-b/c', 'a'.repeat(257), 'a b'],
  },
  {
    name: 'region',
    source: REGION_SOURCE,
    pattern: REGION_PATTERN,
    length: REGION_LENGTH,
    aws: AWS.region,
    alphabet: 'a0-A_',
    exhaustive: 4,
    longest: 28,
    valid: ['us-east-1', 'eu-central-2', 'ap-southeast-5', 'us-gov-west-1', 'xx', 'a'.repeat(25)],
    invalid: ['a', 'US-EAST-1', 'us_east_1', 'a'.repeat(26), '', 'us east 1'],
  },
  {
    name: 'registry id',
    source: REGISTRY_ID_SOURCE,
    pattern: REGISTRY_ID_PATTERN,
    length: REGISTRY_ID_LENGTH,
    aws: AWS.registryId,
    alphabet: '0123456789a ',
    exhaustive: 3,
    longest: 14,
    valid: ['123456789012', '000000000000'],
    invalid: ['12345678901', '1234567890123', '12345678901a', '', ' 123456789012'],
  },
  {
    name: 'IAM Sid',
    source: SID_SOURCE,
    pattern: SID_PATTERN,
    length: SID_LENGTH,
    aws: AWS.sid,
    alphabet: 'aZ9-_ ',
    exhaustive: 4,
    valid: ['AllowPull', 'a', 'S1', 'x'.repeat(128)],
    invalid: ['', 'Allow-Pull', 'Allow Pull', 'x'.repeat(129), 'Ä'],
  },
  {
    name: 'repository name',
    source: REPOSITORY_NAME_SOURCE,
    pattern: REPOSITORY_NAME_PATTERN,
    length: REPOSITORY_NAME_LENGTH,
    aws: AWS.repositoryName,
    alphabet: 'az09._-/A',
    exhaustive: 6,
    valid: ['ab', 'app/backend', 'team.a/app_b/c-d', 'a/b', 'a_b-c.d', 'a'.repeat(256)],
    invalid: ['a', 'a/', '/a', 'a//b', 'a.-b', 'a__b', 'a__', 'App', 'a'.repeat(257), 'a b'],
  },
  {
    name: 'tag mutability exclusion filter',
    source: TAG_MUTABILITY_EXCLUSION_FILTER_SOURCE,
    pattern: TAG_MUTABILITY_EXCLUSION_FILTER_PATTERN,
    length: TAG_MUTABILITY_EXCLUSION_FILTER_LENGTH,
    aws: AWS.exclusionFilter,
    alphabet: 'aZ9._*-/ ',
    exhaustive: 4,
    valid: ['latest', 'dev-*', '*', 'v1.2.3', 'Release_*', 'x'.repeat(128)],
    invalid: ['', 'dev/*', 'a b', 'x'.repeat(129), 'tag!'],
  },
];

/** Longest string ever given to an AWS pattern here; at 16 characters the scanning filter's takes 20 ms. */
const MAX_COMPARED = 12;

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function* allStrings(alphabet: string, maxLength: number): Generator<string> {
  let level = [''];
  yield '';
  for (let n = 1; n <= maxLength; n++) {
    const next: string[] = [];
    for (const prefix of level) for (const c of alphabet) next.push(prefix + c);
    yield* next;
    level = next;
  }
}

function randomStrings(alphabet: string, count: number, seed: number, longest: number): string[] {
  const next = random(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = Math.floor(next() * (longest + 1));
    let s = '';
    for (let j = 0; j < length; j++) s += alphabet.charAt(Math.floor(next() * alphabet.length));
    out.push(s);
  }
  return out;
}

const awsAccepts = (c: Case, s: string): boolean => s.length >= c.length.min && s.length <= c.length.max && c.aws.test(s);

describe.each(cases)('$name', (c) => {
  it('accepts the documented examples and refuses the bad ones', () => {
    for (const s of c.valid) expect([s, matchesWithin(s, c.pattern, c.length)]).toEqual([s, true]);
    for (const s of c.invalid) expect([s, matchesWithin(s, c.pattern, c.length)]).toEqual([s, false]);
  });

  // The long examples are runs that the AWS patterns accept at once, or refuse by length first.
  it('agrees with the AWS pattern on the examples', () => {
    for (const s of [...c.valid, ...c.invalid]) {
      expect([s, awsAccepts(c, s)]).toEqual([s, matchesWithin(s, c.pattern, c.length)]);
    }
  });

  it(`agrees with the AWS pattern on every string over its alphabet up to ${c.exhaustive} characters`, () => {
    let compared = 0;
    let accepted = 0;
    for (const s of allStrings(c.alphabet, c.exhaustive)) {
      const ours = c.pattern.test(s);
      if (ours !== c.aws.test(s)) expect.fail(`${JSON.stringify(s)}: ours ${String(ours)}, AWS ${String(!ours)}`);
      compared++;
      if (ours) accepted++;
    }
    // Not vacuous: both answers occur many times (where the alphabet's strings can be long enough).
    if (c.length.min <= c.exhaustive) expect(accepted).toBeGreaterThan(10);
    expect(compared - accepted).toBeGreaterThan(10);
  });

  it(`agrees with the AWS pattern on 20,000 random strings of up to ${c.longest ?? MAX_COMPARED} characters`, () => {
    let accepted = 0;
    for (const s of randomStrings(c.alphabet, 20_000, c.name.length, c.longest ?? MAX_COMPARED)) {
      const ours = matchesWithin(s, c.pattern, c.length);
      if (ours !== awsAccepts(c, s)) expect.fail(`${JSON.stringify(s)}: ours ${String(ours)}, AWS ${String(!ours)}`);
      if (ours) accepted++;
    }
    expect(accepted).toBeGreaterThan(20);
  });

  it('is the same pattern as its RegExp', () => {
    expect(new RegExp(c.source).source).toBe(c.pattern.source);
    expect(c.source.startsWith('^') && c.source.endsWith('$')).toBe(true);
  });
});

describe('the ECRRepository CRD carries the operator patterns', () => {
  const files = [
    'config/crd/bases/aws-infra-operator.runner.codes_ecrrepositories.yaml',
    'charts/infra-operator/crds/aws-infra-operator.runner.codes_ecrrepositories.yaml',
  ];
  type Schema = { properties: Record<string, Schema>; items: Schema; pattern?: string; minLength?: number; maxLength?: number };
  it.each(files)('%s', (file) => {
    const crd = parse(readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8')) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> };
    };
    for (const version of crd.spec.versions) {
      const spec = version.schema.openAPIV3Schema.properties.spec as Schema;
      const name = spec.properties.repositoryName as Schema;
      expect([name.pattern, name.minLength, name.maxLength]).toEqual([REPOSITORY_NAME_SOURCE, REPOSITORY_NAME_LENGTH.min, REPOSITORY_NAME_LENGTH.max]);
      const filter = (spec.properties.imageTagMutabilityExclusionFilters as Schema).items.properties.filter as Schema;
      expect([filter.pattern, filter.minLength, filter.maxLength]).toEqual([
        TAG_MUTABILITY_EXCLUSION_FILTER_SOURCE,
        TAG_MUTABILITY_EXCLUSION_FILTER_LENGTH.min,
        TAG_MUTABILITY_EXCLUSION_FILTER_LENGTH.max,
      ]);
      const kmsKey = (spec.properties.encryptionConfiguration as Schema).properties.kmsKey as Schema;
      expect([kmsKey.pattern, kmsKey.minLength, kmsKey.maxLength]).toEqual([KMS_KEY_SOURCE, KMS_KEY_LENGTH.min, KMS_KEY_LENGTH.max]);
    }
  });
});

describe('patterns without an AWS original', () => {
  it('KMS key references', () => {
    for (const key of [
      'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/ecr',
      'alias/ecr/prod',
      '1234abcd-12ab-34cd-56ef-1234567890ab',
      `mrk-${'0'.repeat(32)}`,
    ]) {
      expect([key, matchesWithin(key, KMS_KEY_PATTERN, KMS_KEY_LENGTH)]).toEqual([key, true]);
    }
    for (const key of ['', 'my-key', 'arn:aws:kms:us-east-1:1234:key/a', 'alias/', `mrk-${'0'.repeat(31)}`, 'arn:aws:s3:::bucket']) {
      expect([key, matchesWithin(key, KMS_KEY_PATTERN, KMS_KEY_LENGTH)]).toEqual([key, false]);
    }
    expect(KMS_KEY_ARN_PATTERN.exec('arn:aws:kms:us-east-1:123456789012:key/abc')?.[1]).toBe('abc');
    expect(KMS_KEY_ARN_PATTERN.exec('arn:aws:kms:us-east-1:123456789012:alias/abc')).toBeNull();
  });

  it('account root principals', () => {
    expect(ACCOUNT_ROOT_ARN_PATTERN.exec('arn:aws:iam::123456789012:root')?.[1]).toBe('123456789012');
    expect(ACCOUNT_ROOT_ARN_PATTERN.exec('arn:aws-cn:iam::123456789012:root')?.[1]).toBe('123456789012');
    expect(ACCOUNT_ROOT_ARN_PATTERN.test('arn:aws:iam::123456789012:user/root')).toBe(false);
  });

  it('JSON scalars, escapes and array indexes', () => {
    expect(jsonScalarLengthAt('[-1.5e+3,', 1)).toBe(7);
    expect(jsonScalarLengthAt('x true', 2)).toBe(4);
    expect(jsonScalarLengthAt('nul', 0)).toBeUndefined();
    expect(jsonScalarLengthAt('0123', 0)).toBe(1);
    // The position is set on every call: an earlier call leaves nothing behind.
    expect(jsonScalarLengthAt('ab 12', 3)).toBe(2);
    expect(jsonScalarLengthAt('12 ab', 0)).toBe(2);
    expect(JSON_UNICODE_ESCAPE_PATTERN.test('00aF')).toBe(true);
    expect(JSON_UNICODE_ESCAPE_PATTERN.test('00g0')).toBe(false);
    expect(ARRAY_INDEX_PATTERN.test('12')).toBe(true);
    expect(ARRAY_INDEX_PATTERN.test('1a')).toBe(false);
  });
});

/** Strings of 10,000 characters shaped to make a backtracking engine try many splits, then fail. */
function adversarial(): string[] {
  const n = 10_000;
  const fill = (unit: string, tail: string): string => unit.repeat(Math.ceil((n - tail.length) / unit.length)).slice(0, n - tail.length) + tail;
  const out = new Set<string>();
  for (const tail of ['!', 'A', ' ', '/', '-', '', ':', '"']) {
    for (const unit of ['a', '0', '*', '-', '/', '.', '_', 'a.', 'a/', 'a-', 'a./', '.-_/', 'a*', '*/', 'a/-', 'ab/cd.', '1.', '1e', '-0', 'aZ', '0a']) {
      out.add(fill(unit, tail));
    }
  }
  for (const head of ['arn:aws', 'arn:aws:kms:', 'arn:aws:kms:us-east-1:', 'arn:aws:kms:us-east-1:123456789012:key/', 'arn:aws:iam::', 'alias/', 'mrk-']) {
    for (const unit of ['a', '-', ':', '/', 'a/', '0']) out.add(head + fill(unit, '!').slice(head.length));
  }
  return [...out].map((s) => s.slice(0, n));
}

const adversarialInputs = adversarial();

/** Runs `check` on every adversarial input and fails naming the slowest if it took 50 ms or more. */
function expectEachWithin50ms(check: (input: string) => unknown): void {
  let slowest = { ms: 0, input: '' };
  for (const input of adversarialInputs) {
    const ms = fastestMs(() => check(input));
    if (ms > slowest.ms) slowest = { ms, input };
  }
  expect(adversarialInputs.length).toBeGreaterThan(100);
  expect(adversarialInputs.every((s) => s.length === 10_000)).toBe(true);
  expect(slowest.ms, `slowest input: ${JSON.stringify(slowest.input.slice(0, 40))}...`).toBeLessThan(50);
}

describe('no pattern holds the event loop: 10,000 adversarial characters, each within 50 ms', () => {
  const patterns: Array<[string, RegExp]> = [
    ...cases.map((c): [string, RegExp] => [c.name, c.pattern]),
    ['KMS key', KMS_KEY_PATTERN],
    ['KMS key ARN', KMS_KEY_ARN_PATTERN],
    ['account root ARN', ACCOUNT_ROOT_ARN_PATTERN],
    ['JSON \\u escape', JSON_UNICODE_ESCAPE_PATTERN],
    ['array index', ARRAY_INDEX_PATTERN],
  ];

  // The RegExp itself, without the length check that matchesWithin puts in front of it.
  it.each(patterns)('%s (the RegExp alone)', (_name, pattern) => {
    expectEachWithin50ms((input) => pattern.test(input));
  });

  it.each(cases)('$name (matchesWithin)', (c) => {
    expectEachWithin50ms((input) => matchesWithin(input, c.pattern, c.length));
  });

  it('the JSON scalar at ten offsets of each input', () => {
    expectEachWithin50ms((input) => {
      for (let i = 0; i < input.length; i += 1_000) jsonScalarLengthAt(input, i);
    });
  });

  it('a lifecycle tag wildcard against a tag, both 10,000 characters', () => {
    expectEachWithin50ms((input) => wildcardMatches(`${'a*'.repeat(4)}${input.slice(8)}`, input));
    expectEachWithin50ms((input) => wildcardMatches(input, `${input.slice(0, 9_999)}!`));
  });
});
