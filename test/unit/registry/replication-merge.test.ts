import { describe, expect, it } from 'vitest';
import type { AppliedReplicationRule, ECRReplicationRuleSpec } from '../../../src/api/registry-types.js';
import { mergeReplication, ruleKey, ruleOf, type ReplicationMember } from '../../../src/registry/replication-merge.js';

const registry = { accountId: '123456789012', region: 'us-east-1' };

function member(name: string, created: string, spec: Partial<ECRReplicationRuleSpec>, extra: Partial<ReplicationMember> = {}): ReplicationMember {
  return {
    key: `team/${name}`,
    created,
    deleting: false,
    deletionPolicy: 'Retain',
    spec: { providerRef: { name: 'aws' }, destinations: [{ region: 'eu-west-1' }], ...spec },
    ...extra,
  };
}

const to = (region: string, filter?: string): AppliedReplicationRule => ({
  destinations: [{ region, registryId: registry.accountId }],
  ...(filter ? { repositoryFilters: [{ filter, filterType: 'PREFIX_MATCH' as const }] } : {}),
});

describe('mergeReplication', () => {
  it('merges the rules of several objects into one configuration, oldest first', () => {
    const result = mergeReplication({
      registry,
      live: [],
      members: [
        member('b', '2025-01-02T00:00:00Z', { destinations: [{ region: 'us-west-2' }] }),
        member('a', '2025-01-01T00:00:00Z', { destinations: [{ region: 'eu-west-1' }] }),
        member('c', '2025-01-03T00:00:00Z', { destinations: [{ region: 'ap-south-1', registryId: '210987654321' }], repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }] }),
      ],
    });
    expect(result.changed).toBe(true);
    expect(result.desired.map((r) => r.destinations[0]!.region)).toEqual(['eu-west-1', 'us-west-2', 'ap-south-1']);
    expect(result.desired[2]).toEqual({ destinations: [{ region: 'ap-south-1', registryId: '210987654321' }], repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }] });
    expect([...result.verdicts.values()].every((v) => v.kind === 'InForce')).toBe(true);
    expect(result.summary).toEqual({ entries: 3, foreign: 0 });
  });

  it('writes nothing when the live configuration already holds every rule, in any order', () => {
    const a = member('a', '1', { destinations: [{ region: 'eu-west-1' }, { region: 'us-west-2' }] });
    const live: AppliedReplicationRule[] = [{ destinations: [{ region: 'us-west-2', registryId: registry.accountId }, { region: 'eu-west-1', registryId: registry.accountId }] }];
    const result = mergeReplication({ registry, live, members: [a] });
    expect(result.changed).toBe(false);
    expect(result.verdicts.get('team/a')?.kind).toBe('InForce');
  });

  it('keeps a rule that no object declares and none recorded as applied, and counts it', () => {
    const foreign = to('sa-east-1');
    const result = mergeReplication({ registry, live: [foreign], members: [member('a', '1', {})] });
    expect(result.desired).toEqual([foreign, to('eu-west-1')]);
    expect(result.summary).toEqual({ entries: 2, foreign: 1 });
  });

  it('deleting an object with deletionPolicy Delete removes exactly its rule', () => {
    const a = member('a', '1', { destinations: [{ region: 'eu-west-1' }] }, { applied: to('eu-west-1') });
    const b = member('b', '2', { destinations: [{ region: 'us-west-2' }], deletionPolicy: 'Delete' }, { applied: to('us-west-2'), deleting: true, deletionPolicy: 'Delete' });
    const foreign = to('sa-east-1');
    const result = mergeReplication({ registry, live: [to('eu-west-1'), foreign, to('us-west-2')], members: [a, b] });
    expect(result.desired).toEqual([to('eu-west-1'), foreign]);
    expect(result.verdicts.get('team/b')?.kind).toBe('Released');
    expect(result.changed).toBe(true);
  });

  it('deleting an object with Retain or Orphan leaves its rule', () => {
    for (const policy of ['Retain', 'Orphan'] as const) {
      const b = member('b', '2', {}, { applied: to('eu-west-1'), deleting: true, deletionPolicy: policy });
      const result = mergeReplication({ registry, live: [to('eu-west-1')], members: [b] });
      expect(result.changed).toBe(false);
      expect(result.verdicts.get('team/b')?.kind).toBe('Released');
    }
  });

  it('a changed spec replaces the object\'s previous rule', () => {
    const a = member('a', '1', { destinations: [{ region: 'us-west-2' }] }, { applied: to('eu-west-1') });
    const result = mergeReplication({ registry, live: [to('eu-west-1')], members: [a] });
    expect(result.desired).toEqual([to('us-west-2')]);
  });

  it('puts back a rule of ours that was removed in AWS', () => {
    const a = member('a', '1', {}, { applied: to('eu-west-1') });
    const result = mergeReplication({ registry, live: [], members: [a] });
    expect(result.changed).toBe(true);
    expect(result.desired).toEqual([to('eu-west-1')]);
  });

  it('the same rule declared twice: the older object wins, the newer is Stalled naming it', () => {
    const older = member('older', '2025-01-01T00:00:00Z', { destinations: [{ region: 'eu-west-1' }, { region: 'us-west-2' }] });
    const newer = member('newer', '2025-01-02T00:00:00Z', { destinations: [{ region: 'us-west-2' }, { region: 'eu-west-1', registryId: registry.accountId }] });
    const result = mergeReplication({ registry, live: [], members: [newer, older] });
    expect(result.desired).toHaveLength(1);
    const verdict = result.verdicts.get('team/newer');
    expect(verdict).toMatchObject({ kind: 'Stalled', reason: 'Conflict' });
    expect(verdict?.message).toContain('team/older');
    // Deleting the newer object, even with Delete, never removes the older object's rule.
    const gone = mergeReplication({ registry, live: result.desired, members: [older, { ...newer, deleting: true, deletionPolicy: 'Delete', applied: undefined }] });
    expect(gone.changed).toBe(false);
  });

  it('ties on creationTimestamp are broken by namespace/name', () => {
    const result = mergeReplication({ registry, live: [], members: [member('z', '1', {}), member('a', '1', {})] });
    expect(result.verdicts.get('team/a')?.kind).toBe('InForce');
    expect(result.verdicts.get('team/z')?.message).toContain('team/a');
  });

  it('an eleventh rule is refused with the limit named, and nothing else changes', () => {
    const regions = ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'us-west-1', 'us-west-2', 'us-east-2', 'ap-south-1', 'ap-northeast-1', 'sa-east-1'];
    const members = regions.map((r, i) => member(`r${i}`, `2025-01-${String(i + 1).padStart(2, '0')}T00:00:00Z`, { destinations: [{ region: r }] }));
    const result = mergeReplication({ registry, live: [], members });
    expect(result.desired).toHaveLength(10);
    const last = result.verdicts.get('team/r10');
    expect(last?.kind).toBe('LimitExceeded');
    expect(last?.message).toContain('more than 10 rules');
  });

  it('counts foreign rules against the limit', () => {
    const live = Array.from({ length: 10 }, (_, i) => to('eu-west-1', `foreign${i}`));
    const result = mergeReplication({ registry, live, members: [member('a', '1', {})] });
    expect(result.changed).toBe(false);
    expect(result.verdicts.get('team/a')).toMatchObject({ kind: 'LimitExceeded' });
    expect(result.verdicts.get('team/a')?.message).toContain('10 not managed by this operator');
  });

  it('refuses bad specs before any AWS call, naming the field', () => {
    const cases: Array<[Partial<ECRReplicationRuleSpec>, string]> = [
      [{ destinations: [] }, 'at least one destination'],
      [{ destinations: Array.from({ length: 26 }, (_, i) => ({ region: 'eu-west-1', registryId: String(100000000000 + i) })) }, 'at most 25'],
      [{ repositoryFilters: Array.from({ length: 101 }, (_, i) => ({ filter: `p${i}x`, filterType: 'PREFIX_MATCH' as const })) }, 'at most 100'],
      [{ destinations: [{ region: 'us-east-1' }] }, 'source registry itself'],
      [{ destinations: [{ region: 'eu-west-1', registryId: '12' }] }, '12-digit'],
      [{ destinations: [{ region: 'eu-west-1' }, { region: 'eu-west-1' }] }, 'listed twice'],
      [{ repositoryFilters: [{ filter: 'A', filterType: 'PREFIX_MATCH' }] }, 'spec.repositoryFilters[0].filter'],
    ];
    for (const [spec, text] of cases) {
      const result = mergeReplication({ registry, live: [], members: [member('a', '1', spec)] });
      expect(result.verdicts.get('team/a')?.kind).toBe('InvalidSpec');
      expect(result.verdicts.get('team/a')?.message).toContain(text);
      expect(result.changed).toBe(false);
    }
  });

  it('an object whose spec became invalid keeps its applied rule in place', () => {
    const a = member('a', '1', { destinations: [] }, { applied: to('eu-west-1') });
    const result = mergeReplication({ registry, live: [to('eu-west-1')], members: [a] });
    expect(result.changed).toBe(false);
    expect(result.verdicts.get('team/a')).toMatchObject({ kind: 'InvalidSpec', applied: to('eu-west-1') });
  });

  it('a rule is identified by its content, not its order', () => {
    const spec: ECRReplicationRuleSpec = { providerRef: { name: 'aws' }, destinations: [{ region: 'b-1' }, { region: 'a-1' }] };
    const flipped: ECRReplicationRuleSpec = { ...spec, destinations: [{ region: 'a-1' }, { region: 'b-1' }] };
    expect(ruleKey(ruleOf(spec, registry))).toBe(ruleKey(ruleOf(flipped, registry)));
  });
});
