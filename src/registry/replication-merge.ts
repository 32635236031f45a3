import type { AppliedReplicationRule, ECRReplicationRuleSpec } from '../api/registry-types.js';
import {
  REGION_PATTERN, REGISTRY_ID_PATTERN, REPLICATION_FILTER_LENGTH, REPLICATION_FILTER_PATTERN, REPLICATION_MAX_DESTINATIONS_PER_RULE,
  REPLICATION_MAX_FILTERS_PER_RULE, REPLICATION_MAX_RULES,
} from './limits.js';
import { byAge, canonicalJson, type MergeResult, type Member, type Registry, type Verdict } from './merge-types.js';

/**
 * ECRReplicationRule objects of one registry + the live replication configuration → the
 * configuration to put. A rule has no name in ECR: its identity is its content (destinations and
 * filters, in any order). Rules that no object declares and that no object recorded as applied are
 * someone else's and stay where they are.
 */

export type ReplicationMember = Member<ECRReplicationRuleSpec, AppliedReplicationRule>;

export interface ReplicationMergeInput {
  registry: Registry;
  members: readonly ReplicationMember[];
  /** The rules of the live replication configuration, in AWS's order. */
  live: readonly AppliedReplicationRule[];
}

/** The rule as ECR stores it: destinations with their registry id, no empty filter list. */
export function ruleOf(spec: ECRReplicationRuleSpec, registry: Registry): AppliedReplicationRule {
  const rule: AppliedReplicationRule = {
    destinations: spec.destinations.map((d) => ({ region: d.region, registryId: d.registryId ?? registry.accountId })),
  };
  if (spec.repositoryFilters && spec.repositoryFilters.length > 0) {
    rule.repositoryFilters = spec.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType }));
  }
  return rule;
}

/** The identity of a rule: same destinations and filters in any order → same key. */
export function ruleKey(rule: AppliedReplicationRule): string {
  const destinations = rule.destinations.map((d) => `${d.registryId}/${d.region}`).sort();
  const filters = (rule.repositoryFilters ?? []).map((f) => `${f.filterType}:${f.filter}`).sort();
  return canonicalJson({ destinations, filters });
}

/** Why the spec cannot be a rule of this registry, or undefined when it can. */
export function validateReplicationSpec(spec: ECRReplicationRuleSpec, registry: Registry): string | undefined {
  const destinations = spec.destinations ?? [];
  if (destinations.length === 0) return 'spec.destinations: at least one destination is required';
  if (destinations.length > REPLICATION_MAX_DESTINATIONS_PER_RULE) {
    return `spec.destinations: ${destinations.length} destinations, ECR allows at most ${REPLICATION_MAX_DESTINATIONS_PER_RULE} in a replication rule`;
  }
  const seen = new Set<string>();
  for (const [i, d] of destinations.entries()) {
    if (!REGION_PATTERN.test(d.region)) return `spec.destinations[${i}].region: ${JSON.stringify(d.region)} is not an AWS region name`;
    const registryId = d.registryId ?? registry.accountId;
    if (!REGISTRY_ID_PATTERN.test(registryId)) return `spec.destinations[${i}].registryId: ${JSON.stringify(registryId)} is not a 12-digit account id`;
    if (d.region === registry.region && registryId === registry.accountId) {
      return `spec.destinations[${i}]: the destination ${registryId}/${d.region} is the source registry itself`;
    }
    const k = `${registryId}/${d.region}`;
    if (seen.has(k)) return `spec.destinations[${i}]: ${k} is listed twice`;
    seen.add(k);
  }
  const filters = spec.repositoryFilters ?? [];
  if (filters.length > REPLICATION_MAX_FILTERS_PER_RULE) {
    return `spec.repositoryFilters: ${filters.length} filters, ECR allows at most ${REPLICATION_MAX_FILTERS_PER_RULE} in a replication rule`;
  }
  for (const [i, f] of filters.entries()) {
    if (f.filterType !== 'PREFIX_MATCH') return `spec.repositoryFilters[${i}].filterType: only PREFIX_MATCH is supported`;
    if (f.filter.length < REPLICATION_FILTER_LENGTH.min || f.filter.length > REPLICATION_FILTER_LENGTH.max || !REPLICATION_FILTER_PATTERN.test(f.filter)) {
      return `spec.repositoryFilters[${i}].filter: ${JSON.stringify(f.filter)} is not a repository name prefix of ${REPLICATION_FILTER_LENGTH.min}-${REPLICATION_FILTER_LENGTH.max} characters`;
    }
  }
  return undefined;
}

export function mergeReplication(input: ReplicationMergeInput): MergeResult<AppliedReplicationRule[], AppliedReplicationRule> {
  const { registry } = input;
  const verdicts = new Map<string, Verdict<AppliedReplicationRule>>();
  const members = byAge(input.members);
  const liveKeys = new Set(input.live.map(ruleKey));

  // 1. Every live object claims its rule, oldest first; invalid specs and clashes claim nothing.
  const winners: Array<{ member: ReplicationMember; rule: AppliedReplicationRule; key: string }> = [];
  const claimedBy = new Map<string, string>();
  const kept = new Set<string>(); // applied rules that stay although no winner claims them
  for (const m of members) {
    if (m.deleting) continue;
    const problem = m.hold ?? validateReplicationSpec(m.spec, registry);
    if (problem) {
      verdicts.set(m.key, { kind: 'InvalidSpec', message: problem, applied: m.applied });
      if (m.applied) kept.add(ruleKey(m.applied));
      continue;
    }
    const rule = ruleOf(m.spec, registry);
    const key = ruleKey(rule);
    const owner = claimedBy.get(key);
    if (owner) {
      verdicts.set(m.key, { kind: 'Stalled', reason: 'Conflict', message: `the same replication rule (same destinations and filters) is declared by the older ECRReplicationRule ${owner}` });
      continue;
    }
    claimedBy.set(key, m.key);
    winners.push({ member: m, rule, key });
  }

  // 2. Rules this operator applied and nobody wants any more: those of objects deleted with
  //    deletionPolicy Delete, and the previous rule of an object whose spec changed.
  const ours = new Set<string>();
  const remove = new Set<string>();
  for (const m of members) {
    if (!m.applied) continue;
    const k = ruleKey(m.applied);
    ours.add(k);
    if (m.deleting) {
      if (m.deletionPolicy === 'Delete') remove.add(k);
      else kept.add(k);
    } else if (!claimedBy.has(k) || claimedBy.get(k) !== m.key) {
      const verdict = verdicts.get(m.key);
      if (!verdict || verdict.kind === 'Stalled') remove.add(k);
    }
  }
  for (const k of kept) remove.delete(k);
  for (const k of claimedBy.keys()) remove.delete(k);

  // 3. Live rules stay unless removed; winners already live keep their place.
  const desired: AppliedReplicationRule[] = [];
  let foreign = 0;
  for (const rule of input.live) {
    const k = ruleKey(rule);
    if (remove.has(k)) continue;
    if (claimedBy.has(k)) {
      const winner = winners.find((w) => w.key === k);
      desired.push(winner ? winner.rule : rule);
      continue;
    }
    desired.push(rule);
    if (!ours.has(k)) foreign += 1;
  }

  // 4. New rules, oldest object first, while the configuration has room.
  for (const w of winners) {
    if (liveKeys.has(w.key)) {
      verdicts.set(w.member.key, { kind: 'InForce', message: 'the rule is in the registry\'s replication configuration', applied: w.rule });
      continue;
    }
    if (desired.length >= REPLICATION_MAX_RULES) {
      const previous = w.member.applied && desired.some((r) => ruleKey(r) === ruleKey(w.member.applied!)) ? w.member.applied : undefined;
      verdicts.set(w.member.key, {
        kind: 'LimitExceeded',
        message: `the registry's replication configuration would hold more than ${REPLICATION_MAX_RULES} rules (the ECR limit); `
          + `${desired.length} are taken (${foreign} not managed by this operator)`,
        applied: previous,
      });
      continue;
    }
    desired.push(w.rule);
    verdicts.set(w.member.key, { kind: 'InForce', message: 'the rule is in the registry\'s replication configuration', applied: w.rule });
  }

  // 5. Objects being deleted are released by this document; a loser keeps a record only of a rule
  //    of its own that is still there and nobody else claims.
  const desiredKeys = new Set(desired.map(ruleKey));
  for (const m of members) {
    if (m.deleting) {
      verdicts.set(m.key, { kind: 'Released', message: m.deletionPolicy === 'Delete' ? 'the rule is removed from the registry' : `the rule is left in the registry (deletionPolicy ${m.deletionPolicy})` });
      continue;
    }
    const v = verdicts.get(m.key);
    if (v && v.kind === 'Stalled') {
      const k = m.applied ? ruleKey(m.applied) : undefined;
      v.applied = k && desiredKeys.has(k) && !claimedBy.has(k) ? m.applied : undefined;
    }
  }

  const changed = desired.length !== input.live.length || desired.some((r) => !liveKeys.has(ruleKey(r)));
  return { desired, changed, verdicts, summary: { entries: desired.length, foreign } };
}
