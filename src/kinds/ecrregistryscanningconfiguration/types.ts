/** ECRRegistryScanningConfiguration: a registry's scanning configuration, whole (cluster-scoped). */
import type { RegistryPartSpec, RegistryPartStatus } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_REGISTRY_SCANNING_CONFIGURATION = {
  kind: 'ECRRegistryScanningConfiguration',
  plural: 'ecrregistryscanningconfigurations',
} as const;
export const REGISTRY_SCANNING_CONFIGURATION_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_REGISTRY_SCANNING_CONFIGURATION.plural };

export type ScanType = 'BASIC' | 'ENHANCED';
export type ScanFrequency = 'SCAN_ON_PUSH' | 'CONTINUOUS_SCAN' | 'MANUAL';

export interface ScanningRule {
  scanFrequency: ScanFrequency;
  repositoryFilters: Array<{ filter: string; filterType: 'WILDCARD' }>;
}

export interface ScanningConfiguration {
  scanType: ScanType;
  rules: ScanningRule[];
}

export interface ECRRegistryScanningConfigurationSpec extends RegistryPartSpec {
  scanType: ScanType;
  rules?: ScanningRule[];
}

export interface ECRRegistryScanningConfigurationStatus extends RegistryPartStatus {
  /** The configuration this object put in force. */
  appliedConfiguration?: ScanningConfiguration;
  /** The configuration this object is about to write (recorded before the write). */
  pendingConfiguration?: ScanningConfiguration;
  scanType?: ScanType;
}

export type ECRRegistryScanningConfiguration = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRRegistryScanningConfiguration';
  metadata: ObjectMeta;
  spec: ECRRegistryScanningConfigurationSpec;
  status?: ECRRegistryScanningConfigurationStatus;
};
