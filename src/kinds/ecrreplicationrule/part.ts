import { canonicalJson } from '../../api/canonical-json.js';
import type { PartKind } from '../../reconcilers/registry-part.js';
import { ECR_REPLICATION_RULE, REPLICATION_RULE_REF, type AppliedReplicationRule, type ECRReplicationRule } from './types.js';
import { REPLICATION_MAX_RULES, ruleOf, validateReplicationSpec } from './validation.js';

/**
 * An ECRReplicationRule's part of its registry: one rule of the replication configuration. A rule
 * has no name in ECR: its identity is its content (destinations and filters, in any order).
 */

/** The identity of a rule: same destinations and filters in any order → same key. */
export function ruleKey(rule: AppliedReplicationRule): string {
  const destinations = rule.destinations.map((d) => `${d.registryId}/${d.region}`).sort();
  const filters = (rule.repositoryFilters ?? []).map((f) => `${f.filterType}:${f.filter}`).sort();
  return canonicalJson({ destinations, filters });
}

function describe(rule: AppliedReplicationRule): string {
  const to = rule.destinations.map((d) => `${d.registryId}/${d.region}`).join(', ');
  const filters = rule.repositoryFilters?.length ? ` for ${rule.repositoryFilters.map((f) => `${f.filter}*`).join(', ')}` : '';
  return `the replication rule to ${to}${filters}`;
}

export const replicationRulePart: PartKind<ECRReplicationRule, AppliedReplicationRule[], AppliedReplicationRule> = {
  name: 'ecrreplicationrule',
  kind: ECR_REPLICATION_RULE.kind,
  ref: REPLICATION_RULE_REF,
  document: 'replication',
  home: "the registry's replication configuration",
  desired: (obj, registry) => {
    const problem = validateReplicationSpec(obj.spec, registry);
    return problem ? { problem } : { part: ruleOf(obj.spec, registry) };
  },
  applied: (obj) => obj.status?.appliedRule,
  pending: (obj) => obj.status?.pendingRule,
  partStatus: (applied, pending) => ({ appliedRule: applied, pendingRule: pending }),
  documentStatus: (rules) => ({ rules: rules.length }),
  identity: ruleKey,
  same: (a, b) => ruleKey(a) === ruleKey(b),
  find: (rules, identity) => rules.find((r) => ruleKey(r) === identity),
  put: (rules, rule, previous) => {
    const key = ruleKey(rule);
    const without = previous ? rules.filter((r) => ruleKey(r) !== ruleKey(previous)) : [...rules];
    if (without.some((r) => ruleKey(r) === key)) return { doc: without };
    // In the previous rule's place when it had one, so the order of others' rules stays.
    const at = previous ? rules.findIndex((r) => ruleKey(r) === ruleKey(previous)) : -1;
    const next = [...without];
    next.splice(at < 0 ? next.length : at, 0, rule);
    if (next.length > REPLICATION_MAX_RULES) {
      return { limit: `the registry's replication configuration would hold ${next.length} rules; ECR allows at most ${REPLICATION_MAX_RULES}` };
    }
    return { doc: next };
  },
  remove: (rules, rule) => rules.filter((r) => ruleKey(r) !== ruleKey(rule)),
  equal: (a, b) => a.length === b.length && a.every((r, i) => ruleKey(r) === ruleKey(b[i]!)),
  read: async (gateway) => (await gateway.replicationRules()).rules,
  write: (gateway, rules) => gateway.putReplicationRules(rules),
  describe,
};
