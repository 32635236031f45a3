import { canonicalJson } from '../../api/canonical-json.js';
import type { PartKind } from '../../reconcilers/registry-part.js';
import {
  ECR_REGISTRY_SCANNING_CONFIGURATION, REGISTRY_SCANNING_CONFIGURATION_REF, type ECRRegistryScanningConfiguration,
  type ScanningConfiguration, type ScanningRule,
} from './types.js';
import { configurationOf, validateScanningSpec } from './validation.js';

/**
 * An ECRRegistryScanningConfiguration's part of its registry is the whole scanning configuration.
 * A registry that nobody configured scans BASIC without rules; anything else was set by someone,
 * and is taken over only by the object that set it or with the adopt annotation. Deleting with
 * deletionPolicy Delete puts the registry back to BASIC without rules.
 */

/** What an unconfigured registry has: basic scanning, no rules (manual scans only). */
export const DEFAULT_SCANNING: ScanningConfiguration = { scanType: 'BASIC', rules: [] };
const IDENTITY = 'scanning';

/** Equal meaning: rule order and filter order do not count. */
export function scanningKey(config: ScanningConfiguration): string {
  const rules = config.rules
    .map((r: ScanningRule) => ({ scanFrequency: r.scanFrequency, filters: r.repositoryFilters.map((f) => `${f.filterType}:${f.filter}`).sort() }))
    .sort((a, b) => (a.scanFrequency < b.scanFrequency ? -1 : a.scanFrequency > b.scanFrequency ? 1 : 0));
  return canonicalJson({ scanType: config.scanType, rules });
}

const isDefault = (config: ScanningConfiguration): boolean => scanningKey(config) === scanningKey(DEFAULT_SCANNING);

export const scanningConfigurationPart: PartKind<ECRRegistryScanningConfiguration, ScanningConfiguration, ScanningConfiguration> = {
  name: 'ecrregistryscanningconfiguration',
  kind: ECR_REGISTRY_SCANNING_CONFIGURATION.kind,
  ref: REGISTRY_SCANNING_CONFIGURATION_REF,
  document: 'scanning',
  home: "the registry's scanning configuration",
  desired: (obj) => {
    const problem = validateScanningSpec(obj.spec);
    return problem ? { problem } : { part: configurationOf(obj.spec) };
  },
  applied: (obj) => obj.status?.appliedConfiguration,
  pending: (obj) => obj.status?.pendingConfiguration,
  partStatus: (applied, pending) => ({ appliedConfiguration: applied, pendingConfiguration: pending }),
  documentStatus: (config) => ({ scanType: config.scanType }),
  identity: () => IDENTITY,
  same: (a, b) => scanningKey(a) === scanningKey(b),
  find: (config) => config,
  // A registry at its default holds no part of anyone's.
  unclaimed: isDefault,
  put: (_config, part) => ({ doc: part }),
  remove: () => DEFAULT_SCANNING,
  equal: (a, b) => scanningKey(a) === scanningKey(b),
  read: (gateway) => gateway.scanningConfiguration(),
  write: (gateway, config) => gateway.putScanningConfiguration(config),
  describe: (config) => `scanning ${config.scanType}${config.rules.length ? ` (${config.rules.map((r) => r.scanFrequency).join(', ')})` : ''}`,
};
