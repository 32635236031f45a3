import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalPolicy, policiesEqual } from '../../../src/aws/policy.js';

const pullPolicy = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'AllowPull',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:role/ci' },
      Action: ['ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
    },
  ],
};

const lifecycle = {
  rules: [
    {
      rulePriority: 1,
      description: 'keep 10 tagged',
      selection: { tagStatus: 'tagged', tagPrefixList: ['v', 'release'], countType: 'imageCountMoreThan', countNumber: 10 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: 'expire untagged after 14 days',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
      action: { type: 'expire' },
    },
  ],
};

const j = (value: unknown, indent?: number) => JSON.stringify(value, null, indent);

/** The same value with keys in reverse order at every level. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
}

function withStatement(patch: Record<string, unknown>, base: Record<string, unknown> = pullPolicy.Statement[0] as Record<string, unknown>) {
  return { Version: '2012-10-17', Statement: [{ ...base, ...patch }] };
}

describe('canonicalJson', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalJson('{ "b": 1, "a": { "d": [ 2, 1 ], "c": null } }')).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });

  it('keeps array order (order means something in plain JSON)', () => {
    expect(canonicalJson('[3,1,2]')).toBe('[3,1,2]');
  });

  it('normalises escapes and number spellings', () => {
    expect(canonicalJson('{"a":"\\u0041","n":1.0,"e":1e2}')).toBe('{"a":"A","e":100,"n":1}');
  });

  it('throws on text that is not JSON', () => {
    expect(() => canonicalJson('{not json')).toThrow(SyntaxError);
  });
});

describe('policiesEqual: absence and invalid text', () => {
  it.each([
    [undefined, undefined, true],
    [undefined, '', true],
    ['  \n', undefined, true],
    [undefined, j(pullPolicy), false],
    [j(pullPolicy), '', false],
  ])('%j vs %j -> %s', (a, b, expected) => {
    expect(policiesEqual(a, b)).toBe(expected);
    expect(policiesEqual(b, a)).toBe(expected);
  });

  it('compares text that is not JSON as text', () => {
    expect(policiesEqual('{broken', '  {broken  ')).toBe(true);
    expect(policiesEqual('{broken', '{broken!')).toBe(false);
    expect(policiesEqual('{broken', j(pullPolicy))).toBe(false);
  });

  it('does not equate an empty object with no policy', () => {
    expect(policiesEqual('{}', undefined)).toBe(false);
  });
});

describe('policiesEqual: IAM repository policies', () => {
  const base = j(pullPolicy);

  it('ignores whitespace and key order', () => {
    expect(policiesEqual(base, j(pullPolicy, 2))).toBe(true);
    expect(policiesEqual(base, j(reversed(pullPolicy), 4))).toBe(true);
  });

  it('ignores the order of actions', () => {
    expect(policiesEqual(base, j(withStatement({ Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] })))).toBe(true);
  });

  it('ignores duplicate actions and the case of action names', () => {
    expect(
      policiesEqual(base, j(withStatement({ Action: ['ECR:batchgetimage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'] }))),
    ).toBe(true);
  });

  it('equates a single action with a one-element list', () => {
    const a = withStatement({ Action: 'ecr:BatchGetImage' });
    const b = withStatement({ Action: ['ecr:BatchGetImage'] });
    expect(policiesEqual(j(a), j(b))).toBe(true);
  });

  it('sees an added or removed action', () => {
    expect(policiesEqual(base, j(withStatement({ Action: ['ecr:BatchGetImage'] })))).toBe(false);
    expect(policiesEqual(base, j(withStatement({ Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:PutImage'] })))).toBe(false);
  });

  it('treats NotAction as a set but never as Action', () => {
    const a = withStatement({ Action: undefined, NotAction: ['ecr:PutImage', 'ecr:DeleteRepository'] });
    const b = withStatement({ Action: undefined, NotAction: ['ecr:DeleteRepository', 'ecr:PutImage'] });
    expect(policiesEqual(j(a), j(b))).toBe(true);
    const c = withStatement({ Action: ['ecr:PutImage', 'ecr:DeleteRepository'] });
    expect(policiesEqual(j(a), j(c))).toBe(false);
  });

  it('treats Resource as a set and a single resource as a one-element list', () => {
    const a = withStatement({ Resource: ['arn:aws:ecr:us-east-1:123456789012:repository/a', 'arn:aws:ecr:us-east-1:123456789012:repository/b'] });
    const b = withStatement({ Resource: ['arn:aws:ecr:us-east-1:123456789012:repository/b', 'arn:aws:ecr:us-east-1:123456789012:repository/a'] });
    expect(policiesEqual(j(a), j(b))).toBe(true);
    expect(policiesEqual(j(withStatement({ Resource: '*' })), j(withStatement({ Resource: ['*'] })))).toBe(true);
    expect(policiesEqual(j(withStatement({ Resource: '*' })), j(withStatement({ NotResource: '*' })))).toBe(false);
  });

  it('equates a single principal with a one-element list and ignores principal order', () => {
    const a = withStatement({ Principal: { AWS: 'arn:aws:iam::123456789012:role/ci' } });
    const b = withStatement({ Principal: { AWS: ['arn:aws:iam::123456789012:role/ci'] } });
    expect(policiesEqual(j(a), j(b))).toBe(true);
    const c = withStatement({ Principal: { AWS: ['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:role/b'], Service: 'codebuild.amazonaws.com' } });
    const d = withStatement({ Principal: { Service: ['codebuild.amazonaws.com'], AWS: ['arn:aws:iam::123456789012:role/b', 'arn:aws:iam::123456789012:role/a'] } });
    expect(policiesEqual(j(c), j(d))).toBe(true);
  });

  it('equates an account id principal with the account root ARN, in any partition', () => {
    const a = withStatement({ Principal: { AWS: '123456789012' } });
    expect(policiesEqual(j(a), j(withStatement({ Principal: { AWS: 'arn:aws:iam::123456789012:root' } })))).toBe(true);
    expect(policiesEqual(j(a), j(withStatement({ Principal: { AWS: 'arn:aws-cn:iam::123456789012:root' } })))).toBe(true);
    expect(policiesEqual(j(a), j(withStatement({ Principal: { AWS: 'arn:aws:iam::210987654321:root' } })))).toBe(false);
    expect(policiesEqual(j(a), j(withStatement({ Principal: { AWS: 'arn:aws:iam::123456789012:role/root' } })))).toBe(false);
  });

  it('sees a change of principal, effect or sid', () => {
    expect(policiesEqual(base, j(withStatement({ Principal: { AWS: 'arn:aws:iam::123456789012:role/other' } })))).toBe(false);
    expect(policiesEqual(base, j(withStatement({ Principal: '*' })))).toBe(false);
    expect(policiesEqual(base, j(withStatement({ Effect: 'Deny' })))).toBe(false);
    expect(policiesEqual(base, j(withStatement({ Sid: 'Other' })))).toBe(false);
  });

  it('keeps a wildcard principal distinct from AWS "*" (they differ for anonymous access)', () => {
    expect(policiesEqual(j(withStatement({ Principal: '*' })), j(withStatement({ Principal: { AWS: '*' } })))).toBe(false);
  });

  it('equates one statement object with a one-element statement list', () => {
    const single = { Version: '2012-10-17', Statement: pullPolicy.Statement[0] };
    expect(policiesEqual(j(single), base)).toBe(true);
  });

  it('ignores statement order', () => {
    const push = { Sid: 'AllowPush', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/ci' }, Action: 'ecr:PutImage' };
    const a = { Version: '2012-10-17', Statement: [pullPolicy.Statement[0], push] };
    const b = { Version: '2012-10-17', Statement: [push, pullPolicy.Statement[0]] };
    expect(policiesEqual(j(a), j(b, 2))).toBe(true);
    expect(policiesEqual(j(a), base)).toBe(false);
  });

  it('compares condition values as sets of strings', () => {
    const a = withStatement({ Condition: { StringEquals: { 'aws:PrincipalOrgID': ['o-b', 'o-a'] }, Bool: { 'aws:SecureTransport': true } } });
    const b = withStatement({ Condition: { Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 'aws:PrincipalOrgID': ['o-a', 'o-b'] } } });
    expect(policiesEqual(j(a), j(b))).toBe(true);
    const c = withStatement({ Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a' } } });
    const d = withStatement({ Condition: { StringEquals: { 'aws:PrincipalOrgID': ['o-a'] } } });
    expect(policiesEqual(j(c), j(d))).toBe(true);
    expect(policiesEqual(j(a), j(c))).toBe(false);
  });

  it('sees a changed condition operator', () => {
    const a = withStatement({ Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a' } } });
    const b = withStatement({ Condition: { StringLike: { 'aws:PrincipalOrgID': 'o-a' } } });
    expect(policiesEqual(j(a), j(b))).toBe(false);
  });

  it('sees a changed Version', () => {
    expect(policiesEqual(base, j({ ...pullPolicy, Version: '2008-10-17' }))).toBe(false);
  });

  it('gives equal policies the same canonical form', () => {
    const a = canonicalPolicy(j(withStatement({ Action: 'ecr:BatchGetImage' }), 2));
    const b = canonicalPolicy(j(reversed(withStatement({ Action: ['ecr:BatchGetImage'] }))));
    expect(a).toBe(b);
    expect(a).not.toMatch(/\s/);
  });
});

describe('policiesEqual: lifecycle policies', () => {
  const base = j(lifecycle);

  it('ignores whitespace and key order', () => {
    expect(policiesEqual(base, j(reversed(lifecycle), 2))).toBe(true);
  });

  it('orders rules by rulePriority, not by position', () => {
    const swapped = { rules: [lifecycle.rules[1], lifecycle.rules[0]] };
    expect(policiesEqual(base, j(swapped))).toBe(true);
  });

  it('sees a changed priority', () => {
    const changed = { rules: [{ ...lifecycle.rules[0], rulePriority: 3 }, lifecycle.rules[1]] };
    expect(policiesEqual(base, j(changed))).toBe(false);
  });

  it('sees swapped priorities (the order of evaluation changes)', () => {
    const swapped = {
      rules: [
        { ...lifecycle.rules[0], rulePriority: 2 },
        { ...lifecycle.rules[1], rulePriority: 1 },
      ],
    };
    expect(policiesEqual(base, j(swapped))).toBe(false);
  });

  it('ignores the order of tag prefixes (a selection needs all of them)', () => {
    const first = lifecycle.rules[0]!;
    const reordered = { rules: [{ ...first, selection: { ...first.selection, tagPrefixList: ['release', 'v'] } }, lifecycle.rules[1]] };
    expect(policiesEqual(base, j(reordered))).toBe(true);
  });

  it('sees a changed count, tag status or description', () => {
    const first = lifecycle.rules[0]!;
    const count = { rules: [{ ...first, selection: { ...first.selection, countNumber: 11 } }, lifecycle.rules[1]] };
    const status = { rules: [{ ...first, selection: { ...first.selection, tagStatus: 'any' } }, lifecycle.rules[1]] };
    const description = { rules: [{ ...first, description: 'other' }, lifecycle.rules[1]] };
    expect(policiesEqual(base, j(count))).toBe(false);
    expect(policiesEqual(base, j(status))).toBe(false);
    expect(policiesEqual(base, j(description))).toBe(false);
  });

  it('sees an added or removed rule', () => {
    expect(policiesEqual(base, j({ rules: [lifecycle.rules[0]] }))).toBe(false);
  });

  it('equates an explicit storageClass standard with none, and sees archive', () => {
    const first = lifecycle.rules[0]!;
    const standard = { rules: [{ ...first, selection: { ...first.selection, storageClass: 'standard' } }, lifecycle.rules[1]] };
    const archive = { rules: [{ ...first, selection: { ...first.selection, storageClass: 'archive' } }, lifecycle.rules[1]] };
    expect(policiesEqual(base, j(standard))).toBe(true);
    expect(policiesEqual(base, j(archive))).toBe(false);
  });

  it('compares archive rules by meaning: tag patterns as sets, rules by priority', () => {
    const archiveRule = (patterns: string[], priority: number) => ({
      rulePriority: priority,
      selection: { tagStatus: 'tagged', tagPatternList: patterns, countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
      action: { type: 'transition', targetStorageClass: 'archive' },
    });
    const expireArchived = {
      rulePriority: 2,
      selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 },
      action: { type: 'expire' },
    };
    const a = j({ rules: [archiveRule(['prod*', 'rel*'], 1), expireArchived] });
    const b = j({ rules: [expireArchived, archiveRule(['rel*', 'prod*', 'rel*'], 1)] }, 2);
    expect(policiesEqual(a, b)).toBe(true);
    expect(policiesEqual(a, j({ rules: [archiveRule(['prod*'], 1), expireArchived] }))).toBe(false);
    const expireInstead = { rules: [{ ...archiveRule(['prod*', 'rel*'], 1), action: { type: 'expire' } }, expireArchived] };
    expect(policiesEqual(a, j(expireInstead))).toBe(false);
  });

  it('does not apply IAM set rules to lifecycle documents', () => {
    expect(policiesEqual(j({ rules: [], Action: ['b', 'a'] }), j({ rules: [], Action: ['a', 'b'] }))).toBe(false);
  });
});

describe('policiesEqual: other JSON', () => {
  it('compares by value with arrays in order', () => {
    expect(policiesEqual('{"a":[1,2],"b":true}', '{ "b": true, "a": [1, 2] }')).toBe(true);
    expect(policiesEqual('{"a":[1,2]}', '{"a":[2,1]}')).toBe(false);
  });
});
