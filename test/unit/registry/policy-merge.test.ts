import { describe, expect, it } from 'vitest';
import type { ECRRegistryPolicyStatementSpec } from '../../../src/api/registry-types.js';
import { REGISTRY_POLICY_MAX_CHARS } from '../../../src/registry/limits.js';
import { canonicalJson } from '../../../src/registry/merge-types.js';
import { mergeRegistryPolicy, statementOf, type PolicyStatementMember } from '../../../src/registry/policy-merge.js';

const registry = { accountId: '123456789012', region: 'us-east-1' };
const body = (account: string) => ({
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${account}:root` },
  Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
  Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/*',
});

function member(name: string, created: string, sid: string, statement: unknown, extra: Partial<PolicyStatementMember> = {}): PolicyStatementMember {
  const spec: ECRRegistryPolicyStatementSpec = { providerRef: { name: 'aws' }, sid, statement: typeof statement === 'string' ? statement : JSON.stringify(statement) };
  return { key: `team/${name}`, created, deleting: false, deletionPolicy: 'Retain', spec, ...extra };
}

const applied = (sid: string, account: string) => canonicalJson({ Sid: sid, ...body(account) });
const statementsOf = (text: string | undefined) => (text ? (JSON.parse(text) as { Statement: Array<{ Sid?: string }> }).Statement : []);

describe('mergeRegistryPolicy', () => {
  it('merges two objects into one policy with both Sids', () => {
    const result = mergeRegistryPolicy({ registry, live: undefined, members: [member('a', '1', 'A', body('111111111111')), member('b', '2', 'B', body('222222222222'))] });
    expect(result.changed).toBe(true);
    const doc = JSON.parse(result.desired.text!) as { Version: string; Statement: Array<{ Sid: string }> };
    expect(doc.Version).toBe('2012-10-17');
    expect(doc.Statement.map((s) => s.Sid)).toEqual(['A', 'B']);
    expect(result.verdicts.get('team/a')).toMatchObject({ kind: 'InForce', applied: applied('A', '111111111111') });
  });

  it('a third object with a clashing Sid is Stalled naming the older one and changes nothing', () => {
    const a = member('a', '1', 'A', body('111111111111'), { applied: applied('A', '111111111111') });
    const live = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'A', ...body('111111111111') }] });
    const result = mergeRegistryPolicy({ registry, live, members: [a, member('c', '3', 'A', body('333333333333'))] });
    expect(result.changed).toBe(false);
    expect(result.verdicts.get('team/c')).toMatchObject({ kind: 'Stalled', reason: 'Conflict' });
    expect(result.verdicts.get('team/c')?.message).toContain('team/a');
  });

  it('restores a statement of ours that was edited in AWS, in place, keeping foreign statements', () => {
    const a = member('a', '1', 'A', body('111111111111'), { applied: applied('A', '111111111111') });
    const foreign = { Sid: 'Theirs', ...body('999999999999') };
    const live = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'A', ...body('666666666666') }, foreign] });
    const result = mergeRegistryPolicy({ registry, live, members: [a] });
    expect(result.changed).toBe(true);
    expect(statementsOf(result.desired.text)).toEqual([{ Sid: 'A', ...body('111111111111') }, foreign]);
    expect(result.summary).toEqual({ entries: 2, foreign: 1 });
  });

  it('compares by meaning: key order and whitespace do not count', () => {
    const a = member('a', '1', 'A', body('111111111111'));
    const live = `{ "Statement": [ { "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/*", "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
      "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Effect": "Allow", "Sid": "A" } ], "Version": "2012-10-17" }`;
    expect(mergeRegistryPolicy({ registry, live, members: [a] }).changed).toBe(false);
  });

  it('deleting with Delete removes exactly that statement; the last one deletes the policy', () => {
    const a = member('a', '1', 'A', body('111111111111'), { applied: applied('A', '111111111111') });
    const b = member('b', '2', 'B', body('222222222222'), { applied: applied('B', '222222222222'), deleting: true, deletionPolicy: 'Delete' });
    const live = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'A', ...body('111111111111') }, { Sid: 'B', ...body('222222222222') }] });
    const one = mergeRegistryPolicy({ registry, live, members: [a, b] });
    expect(statementsOf(one.desired.text).map((s) => s.Sid)).toEqual(['A']);
    expect(one.verdicts.get('team/b')?.kind).toBe('Released');
    const none = mergeRegistryPolicy({ registry, live: one.desired.text, members: [{ ...a, deleting: true, deletionPolicy: 'Delete' }] });
    expect(none.changed).toBe(true);
    expect(none.desired.text).toBeUndefined();
  });

  it('Retain leaves the statement, which is foreign from then on', () => {
    const a = member('a', '1', 'A', body('111111111111'), { applied: applied('A', '111111111111'), deleting: true, deletionPolicy: 'Retain' });
    const live = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'A', ...body('111111111111') }] });
    expect(mergeRegistryPolicy({ registry, live, members: [a] }).changed).toBe(false);
  });

  it('a statement that would push the policy past 10,240 characters is refused naming the limit', () => {
    const big = { ...body('111111111111'), Condition: { StringLike: { 'aws:PrincipalArn': Array.from({ length: 300 }, (_, i) => `arn:aws:iam::111111111111:role/r${i}`) } } };
    const result = mergeRegistryPolicy({ registry, live: undefined, members: [member('a', '1', 'A', body('111111111111')), member('big', '2', 'Big', big)] });
    expect(result.verdicts.get('team/big')).toMatchObject({ kind: 'LimitExceeded' });
    expect(result.verdicts.get('team/big')?.message).toContain(String(REGISTRY_POLICY_MAX_CHARS));
    expect(statementsOf(result.desired.text).map((s) => s.Sid)).toEqual(['A']);
  });

  it('bad JSON and bad statements are InvalidSpec and never part of the policy', () => {
    expect(statementOf({ providerRef: { name: 'aws' }, sid: 'A', statement: '{not json' })).toMatchObject({ problem: expect.stringContaining('not valid JSON') });
    expect(statementOf({ providerRef: { name: 'aws' }, sid: 'A', statement: JSON.stringify({ Sid: 'B', ...body('1') }) })).toMatchObject({ problem: expect.stringContaining('spec.sid') });
    expect(statementOf({ providerRef: { name: 'aws' }, sid: 'A', statement: JSON.stringify({ Version: '2012-10-17', Statement: [] }) })).toMatchObject({ problem: expect.stringContaining('one statement') });
    expect(statementOf({ providerRef: { name: 'aws' }, sid: 'a-b', statement: JSON.stringify(body('1')) })).toMatchObject({ problem: expect.stringContaining('spec.sid') });
    const result = mergeRegistryPolicy({ registry, live: undefined, members: [member('a', '1', 'A', '{nope')] });
    expect(result.changed).toBe(false);
    expect(result.verdicts.get('team/a')?.kind).toBe('InvalidSpec');
  });

  it('an unreadable live policy is an error, never overwritten', () => {
    expect(() => mergeRegistryPolicy({ registry, live: 'garbage', members: [member('a', '1', 'A', body('1'))] })).toThrow();
  });
});
