import type { Registry } from '../../reconcilers/registry-part.js';
import type { AppliedReplicationRule, ECRReplicationRuleSpec } from './types.js';

/**
 * Amazon ECR's rules for a replication rule, checked before any call so that what AWS would refuse
 * never leaves the operator and the field is named. Sources: the Amazon ECR API Reference, data types
 * ReplicationConfiguration (at most 10 rules), ReplicationRule (at most 100 repository filters;
 * destinations: the service quota "Unique destinations across all rules" is 25) and RepositoryFilter
 * (filter 2-256 characters, PREFIX_MATCH), ReplicationDestination (region, 12-digit registryId).
 */
export const REPLICATION_MAX_RULES = 10;
export const REPLICATION_MAX_DESTINATIONS_PER_RULE = 25;
export const REPLICATION_MAX_FILTERS_PER_RULE = 100;
export const REPLICATION_FILTER_LENGTH = { min: 2, max: 256 } as const;

// Linear-time: each quantified group starts with a character its neighbours cannot match.
const REGION_PATTERN = /^[0-9a-z-]{2,25}$/;
const REGISTRY_ID_PATTERN = /^[0-9]{12}$/;

/**
 * A PREFIX_MATCH filter is the start of a repository name: ECR's pattern
 * `^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$`, checked by a scan: segments
 * separated by '/', each but the last starting with a letter or digit; '.', '_' and '-' anywhere else.
 */
export function isReplicationPrefix(filter: string): boolean {
  const segments = filter.split('/');
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (i < segments.length - 1 && !/^[a-z0-9]/.test(s)) return false;
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j);
      const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45;
      if (!ok) return false;
    }
  }
  return true;
}

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
    if (typeof d.region !== 'string' || !REGION_PATTERN.test(d.region)) return `spec.destinations[${i}].region: ${JSON.stringify(d.region)} is not an AWS region name`;
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
    if (typeof f.filter !== 'string' || f.filter.length < REPLICATION_FILTER_LENGTH.min || f.filter.length > REPLICATION_FILTER_LENGTH.max || !isReplicationPrefix(f.filter)) {
      return `spec.repositoryFilters[${i}].filter: ${JSON.stringify(f.filter?.slice(0, 300))} is not a repository name prefix of ${REPLICATION_FILTER_LENGTH.min}-${REPLICATION_FILTER_LENGTH.max} characters`;
    }
  }
  return undefined;
}
