import { canonicalJson } from '../../api/canonical-json.js';
import type { PartKind } from '../../reconcilers/registry-part.js';
import { ECR_SIGNING_RULE, SIGNING_RULE_REF, type AppliedSigningRule, type ECRSigningRule } from './types.js';
import { SIGNING_MAX_RULES, signingRuleOf, validateSigningSpec } from './validation.js';

/**
 * An ECRSigningRule's part of its registry: one rule of the managed-signing configuration. A rule
 * has no name in ECR: its identity is its content (the signing profile and the filters, in any
 * order), as for replication rules. Removing the last rule deletes the configuration.
 */

export function signingRuleKey(rule: AppliedSigningRule): string {
  const filters = (rule.repositoryFilters ?? []).map((f) => `${f.filterType}:${f.filter}`).sort();
  return canonicalJson({ profile: rule.signingProfileArn, filters });
}

function describe(rule: AppliedSigningRule): string {
  const filters = rule.repositoryFilters?.length ? ` for ${rule.repositoryFilters.map((f) => f.filter).join(', ')}` : ' for every repository';
  return `the signing rule with profile ${rule.signingProfileArn}${filters}`;
}

export const signingRulePart: PartKind<ECRSigningRule, AppliedSigningRule[], AppliedSigningRule> = {
  name: 'ecrsigningrule',
  kind: ECR_SIGNING_RULE.kind,
  ref: SIGNING_RULE_REF,
  document: 'signing',
  home: "the registry's signing configuration",
  desired: (obj) => {
    const problem = validateSigningSpec(obj.spec);
    return problem ? { problem } : { part: signingRuleOf(obj.spec) };
  },
  applied: (obj) => obj.status?.appliedRule,
  pending: (obj) => obj.status?.pendingRule,
  partStatus: (applied, pending) => ({ appliedRule: applied, pendingRule: pending }),
  documentStatus: (rules) => ({ rules: rules.length }),
  identity: signingRuleKey,
  same: (a, b) => signingRuleKey(a) === signingRuleKey(b),
  find: (rules, identity) => rules.find((r) => signingRuleKey(r) === identity),
  put: (rules, rule, previous) => {
    const key = signingRuleKey(rule);
    const without = previous ? rules.filter((r) => signingRuleKey(r) !== signingRuleKey(previous)) : [...rules];
    if (without.some((r) => signingRuleKey(r) === key)) return { doc: without };
    // In the previous rule's place when it had one, so the order of others' rules stays.
    const at = previous ? rules.findIndex((r) => signingRuleKey(r) === signingRuleKey(previous)) : -1;
    const next = [...without];
    next.splice(at < 0 ? next.length : at, 0, rule);
    if (next.length > SIGNING_MAX_RULES) {
      return { limit: `the registry's signing configuration would hold ${next.length} rules; ECR allows at most ${SIGNING_MAX_RULES}` };
    }
    return { doc: next };
  },
  remove: (rules, rule) => rules.filter((r) => signingRuleKey(r) !== signingRuleKey(rule)),
  equal: (a, b) => a.length === b.length && a.every((r, i) => signingRuleKey(r) === signingRuleKey(b[i]!)),
  read: (gateway) => gateway.signingRules(),
  write: (gateway, rules) => gateway.putSigningRules(rules),
  describe,
};
