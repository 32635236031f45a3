import { matchesWithin, SCANNING_FILTER_LENGTH, SCANNING_FILTER_PATTERN } from '../../api/patterns.js';
import type { ECRRegistryScanningConfigurationSpec, ScanningConfiguration } from './types.js';

/**
 * Amazon ECR's rules for a registry scanning configuration, checked before any call. Sources: the
 * Amazon ECR API Reference, PutRegistryScanningConfiguration (at most 2 rules), RegistryScanningRule
 * (at most 100 repository filters; with scanType BASIC only SCAN_ON_PUSH, with ENHANCED SCAN_ON_PUSH
 * and CONTINUOUS_SCAN) and ScanningRepositoryFilter (filter 1-256 characters, WILDCARD; the pattern
 * is ECR's language in a linear-time form, src/api/patterns.ts).
 */
export const SCANNING_MAX_RULES = 2;
export const SCANNING_MAX_FILTERS_PER_RULE = 100;

export function configurationOf(spec: ECRRegistryScanningConfigurationSpec): ScanningConfiguration {
  return {
    scanType: spec.scanType,
    rules: (spec.rules ?? []).map((r) => ({
      scanFrequency: r.scanFrequency,
      repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })),
    })),
  };
}

export function validateScanningSpec(spec: ECRRegistryScanningConfigurationSpec): string | undefined {
  if (spec.scanType !== 'BASIC' && spec.scanType !== 'ENHANCED') return 'spec.scanType must be BASIC or ENHANCED';
  const rules = spec.rules ?? [];
  if (rules.length > SCANNING_MAX_RULES) return `spec.rules: ${rules.length} rules, ECR allows at most ${SCANNING_MAX_RULES} scanning rules in a registry`;
  const allowed = spec.scanType === 'BASIC' ? ['SCAN_ON_PUSH'] : ['SCAN_ON_PUSH', 'CONTINUOUS_SCAN'];
  const frequencies = new Set<string>();
  for (const [i, rule] of rules.entries()) {
    if (!allowed.includes(rule.scanFrequency)) {
      return `spec.rules[${i}].scanFrequency: ${rule.scanFrequency} is not allowed with scanType ${spec.scanType} (allowed: ${allowed.join(', ')})`;
    }
    if (frequencies.has(rule.scanFrequency)) return `spec.rules[${i}].scanFrequency: ${rule.scanFrequency} appears in two rules`;
    frequencies.add(rule.scanFrequency);
    const filters = rule.repositoryFilters ?? [];
    if (filters.length === 0) return `spec.rules[${i}].repositoryFilters: at least one filter is required (use "*" for every repository)`;
    if (filters.length > SCANNING_MAX_FILTERS_PER_RULE) {
      return `spec.rules[${i}].repositoryFilters: ${filters.length} filters, ECR allows at most ${SCANNING_MAX_FILTERS_PER_RULE} in a scanning rule`;
    }
    for (const [j, f] of filters.entries()) {
      if (f.filterType !== 'WILDCARD') return `spec.rules[${i}].repositoryFilters[${j}].filterType: only WILDCARD is supported`;
      if (!matchesWithin(f.filter, SCANNING_FILTER_PATTERN, SCANNING_FILTER_LENGTH)) {
        return `spec.rules[${i}].repositoryFilters[${j}].filter: ${JSON.stringify(String(f.filter).slice(0, 300))} is not a repository name pattern (a-z, 0-9, . _ - / and *; at most ${SCANNING_FILTER_LENGTH.max} characters)`;
      }
    }
  }
  return undefined;
}
