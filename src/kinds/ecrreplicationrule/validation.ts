import {
  matchesWithin, REGION_LENGTH, REGION_PATTERN, REGISTRY_ID_LENGTH, REGISTRY_ID_PATTERN, REPLICATION_FILTER_LENGTH, REPLICATION_FILTER_PATTERN,
} from '../../api/patterns.js';
import type { Registry } from '../../reconcilers/registry-part.js';
import type { AppliedReplicationRule, ECRReplicationRuleSpec } from './types.js';

/**
 * Amazon ECR's rules for a replication rule, checked before any call so that what AWS would refuse
 * never leaves the operator and the field is named. Sources: the Amazon ECR API Reference, data types
 * ReplicationConfiguration (at most 10 rules), ReplicationRule (at most 100 repository filters;
 * destinations: the service quota "Unique destinations across all rules" is 25) and RepositoryFilter
 * (filter 2-256 characters, PREFIX_MATCH), ReplicationDestination (region, 12-digit registryId);
 * the patterns, in linear-time form, are src/api/patterns.ts's.
 */
export const REPLICATION_MAX_RULES = 10;
export const REPLICATION_MAX_DESTINATIONS_PER_RULE = 25;
export const REPLICATION_MAX_FILTERS_PER_RULE = 100;

/** The rule as ECR stores it: destinations with their registry id, no empty filter list. */
export function ruleOf(spec: ECRReplicationRuleSpec, registry: Pick<Registry, 'accountId'>): AppliedReplicationRule {
  const rule: AppliedReplicationRule = {
    destinations: spec.destinations.map((d) => ({ region: d.region, registryId: d.registryId ?? registry.accountId })),
  };
  if (spec.repositoryFilters && spec.repositoryFilters.length > 0) {
    rule.repositoryFilters = spec.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType }));
  }
  return rule;
}

/** Why the spec cannot be a rule of this registry, or undefined when it can. */
export function validateReplicationSpec(spec: ECRReplicationRuleSpec, registry: Pick<Registry, 'accountId' | 'region'>): string | undefined {
  const destinations = spec.destinations ?? [];
  if (destinations.length === 0) return 'spec.destinations: at least one destination is required';
  if (destinations.length > REPLICATION_MAX_DESTINATIONS_PER_RULE) {
    return `spec.destinations: ${destinations.length} destinations, ECR allows at most ${REPLICATION_MAX_DESTINATIONS_PER_RULE} in a replication rule`;
  }
  const seen = new Set<string>();
  for (const [i, d] of destinations.entries()) {
    if (!matchesWithin(d.region, REGION_PATTERN, REGION_LENGTH)) return `spec.destinations[${i}].region: ${JSON.stringify(d.region)} is not an AWS region name`;
    const registryId = d.registryId ?? registry.accountId;
    if (!matchesWithin(registryId, REGISTRY_ID_PATTERN, REGISTRY_ID_LENGTH)) return `spec.destinations[${i}].registryId: ${JSON.stringify(registryId)} is not a 12-digit account id`;
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
    if (!matchesWithin(f.filter, REPLICATION_FILTER_PATTERN, REPLICATION_FILTER_LENGTH)) {
      return `spec.repositoryFilters[${i}].filter: ${JSON.stringify(String(f.filter).slice(0, 300))} is not a repository name prefix of ${REPLICATION_FILTER_LENGTH.min}-${REPLICATION_FILTER_LENGTH.max} characters`;
    }
  }
  return undefined;
}
