import type { ECRRegistryScanningConfigurationSpec, ScanningConfiguration, ScanningRule } from '../api/registry-types.js';
import { SCANNING_FILTER_LENGTH, SCANNING_FILTER_PATTERN, SCANNING_MAX_FILTERS_PER_RULE, SCANNING_MAX_RULES } from './limits.js';
import { byAge, canonicalJson, type MergeResult, type Member, type Registry, type Verdict } from './merge-types.js';

/**
 * ECRRegistryScanningConfiguration objects of one registry + the live scanning configuration → the
 * configuration to put. The document cannot be shared: the oldest object owns the registry's
 * scanning, every other one is Stalled with reason AlreadyOwned and changes nothing.
 */

export type ScanningMember = Member<ECRRegistryScanningConfigurationSpec, ScanningConfiguration>;

export interface ScanningMergeInput {
  registry: Registry;
  members: readonly ScanningMember[];
  live: ScanningConfiguration;
}

/** What an unconfigured registry has: basic scanning, no rules (manual scans only). */
export const DEFAULT_SCANNING: ScanningConfiguration = { scanType: 'BASIC', rules: [] };

export function configurationOf(spec: ECRRegistryScanningConfigurationSpec): ScanningConfiguration {
  return {
    scanType: spec.scanType,
    rules: (spec.rules ?? []).map((r) => ({
      scanFrequency: r.scanFrequency,
      repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })),
    })),
  };
}

/** Equal meaning: rule order and filter order do not count. */
export function scanningKey(config: ScanningConfiguration): string {
  const rules = config.rules
    .map((r: ScanningRule) => ({ scanFrequency: r.scanFrequency, filters: r.repositoryFilters.map((f) => `${f.filterType}:${f.filter}`).sort() }))
    .sort((a, b) => (a.scanFrequency < b.scanFrequency ? -1 : a.scanFrequency > b.scanFrequency ? 1 : 0));
  return canonicalJson({ scanType: config.scanType, rules });
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
      if (f.filter.length < SCANNING_FILTER_LENGTH.min || f.filter.length > SCANNING_FILTER_LENGTH.max || !SCANNING_FILTER_PATTERN.test(f.filter)) {
        return `spec.rules[${i}].repositoryFilters[${j}].filter: ${JSON.stringify(f.filter)} is not a repository name pattern (a-z, 0-9, . _ - / and *; at most ${SCANNING_FILTER_LENGTH.max} characters)`;
      }
    }
  }
  return undefined;
}

export function mergeScanning(input: ScanningMergeInput): MergeResult<ScanningConfiguration, ScanningConfiguration> {
  const verdicts = new Map<string, Verdict<ScanningConfiguration>>();
  const members = byAge(input.members);
  const liveKey = scanningKey(input.live);
  const owner = members.find((m) => !m.deleting);
  let desired = input.live;

  for (const m of members) {
    if (m.deleting) continue;
    if (m !== owner) {
      verdicts.set(m.key, { kind: 'Stalled', reason: 'AlreadyOwned', message: `the registry's scanning configuration is already declared by the older ECRRegistryScanningConfiguration ${owner!.key}` });
      continue;
    }
    const problem = m.hold ?? validateScanningSpec(m.spec);
    if (problem) {
      verdicts.set(m.key, { kind: 'InvalidSpec', message: problem, applied: m.applied });
      continue;
    }
    desired = configurationOf(m.spec);
    verdicts.set(m.key, { kind: 'InForce', message: `the registry scans with ${desired.scanType}${desired.rules.length ? ` (${desired.rules.map((r) => r.scanFrequency).join(', ')})` : ''}`, applied: desired });
  }

  // With no owner left, an object deleted with deletionPolicy Delete puts the registry back to its
  // default; Retain and Orphan leave the configuration as it is.
  const deleting = members.filter((m) => m.deleting);
  if (!owner && deleting.some((m) => m.deletionPolicy === 'Delete' && m.applied && scanningKey(m.applied) === liveKey)) {
    desired = DEFAULT_SCANNING;
  }
  for (const m of deleting) {
    const message = m.deletionPolicy !== 'Delete'
      ? `the scanning configuration is left as it is (deletionPolicy ${m.deletionPolicy})`
      : owner ? `the scanning configuration is now ${owner.key}'s` : 'the registry scanning configuration is reset to BASIC without rules';
    verdicts.set(m.key, { kind: 'Released', message });
  }

  const changed = scanningKey(desired) !== liveKey;
  return { desired, changed, verdicts, summary: { entries: desired.rules.length, scanType: desired.scanType } };
}
