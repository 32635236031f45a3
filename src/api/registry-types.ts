/**
 * The registry-level kinds of v1alpha1: each object is one part of a document that Amazon ECR keeps
 * once per registry (one account in one region). config/crd/bases holds the schema.
 */
import { API_VERSION, GROUP, VERSION, type Condition, type DeletionPolicy, type ObjectMeta } from './types.js';

export const ECR_REPLICATION_RULE = { kind: 'ECRReplicationRule', plural: 'ecrreplicationrules' } as const;
export const ECR_REGISTRY_POLICY_STATEMENT = { kind: 'ECRRegistryPolicyStatement', plural: 'ecrregistrypolicystatements' } as const;
export const ECR_REGISTRY_SCANNING_CONFIGURATION = {
  kind: 'ECRRegistryScanningConfiguration',
  plural: 'ecrregistryscanningconfigurations',
} as const;

export const REPLICATION_RULE_REF = { group: GROUP, version: VERSION, plural: ECR_REPLICATION_RULE.plural };
export const REGISTRY_POLICY_STATEMENT_REF = { group: GROUP, version: VERSION, plural: ECR_REGISTRY_POLICY_STATEMENT.plural };
export const REGISTRY_SCANNING_CONFIGURATION_REF = { group: GROUP, version: VERSION, plural: ECR_REGISTRY_SCANNING_CONFIGURATION.plural };

export interface ReplicationDestination {
  region: string;
  /** Defaults to the account of the provider. */
  registryId?: string;
}

export interface ReplicationRepositoryFilter {
  filter: string;
  filterType: 'PREFIX_MATCH';
}

export interface ECRReplicationRuleSpec {
  providerRef: { name: string };
  destinations: ReplicationDestination[];
  repositoryFilters?: ReplicationRepositoryFilter[];
  deletionPolicy?: DeletionPolicy;
}

/** A replication rule as ECR holds it (every destination with its registry id). */
export interface AppliedReplicationRule {
  destinations: Array<{ region: string; registryId: string }>;
  repositoryFilters?: ReplicationRepositoryFilter[];
}

/** What the whole registry document holds, so that `kubectl get` answers "is my part live". */
export interface RegistryDocumentSummary {
  /** Rules (replication, scanning) or statements (registry policy) in the document. */
  entries?: number;
  /** Of those, the ones that no object declares and the operator never wrote: kept as they are. */
  foreign?: number;
  /** Scanning only: the registry's scan type. */
  scanType?: string;
}

/** Status fields common to the registry-level kinds. */
export interface RegistryPartStatus {
  ready?: boolean;
  /** True when this object's part is in the registry's document in AWS as the spec says. */
  inForce?: boolean;
  registryId?: string;
  region?: string;
  registry?: RegistryDocumentSummary;
  /** The metadata.generation whose part AWS refused; it is not sent again until the spec changes. */
  rejectedGeneration?: number;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface ECRReplicationRuleStatus extends RegistryPartStatus {
  /** The rule this object last put in force; deleting the object removes exactly this rule. */
  appliedRule?: AppliedReplicationRule;
}

export type ECRReplicationRule = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRReplicationRule';
  metadata: ObjectMeta;
  spec: ECRReplicationRuleSpec;
  status?: ECRReplicationRuleStatus;
};

export interface ECRRegistryPolicyStatementSpec {
  providerRef: { name: string };
  /** The statement id, unique in the registry. */
  sid: string;
  /** One IAM policy statement as JSON text; a Sid in it, if any, must equal spec.sid. */
  statement: string;
  deletionPolicy?: DeletionPolicy;
}

export interface ECRRegistryPolicyStatementStatus extends RegistryPartStatus {
  /** The statement (JSON, with its Sid) this object last put in force. */
  appliedStatement?: string;
}

export type ECRRegistryPolicyStatement = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRRegistryPolicyStatement';
  metadata: ObjectMeta;
  spec: ECRRegistryPolicyStatementSpec;
  status?: ECRRegistryPolicyStatementStatus;
};

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

export interface ECRRegistryScanningConfigurationSpec {
  providerRef: { name: string };
  scanType: ScanType;
  rules?: ScanningRule[];
  deletionPolicy?: DeletionPolicy;
}

export interface ECRRegistryScanningConfigurationStatus extends RegistryPartStatus {
  /** The configuration this object last put in force. */
  appliedConfiguration?: ScanningConfiguration;
}

export type ECRRegistryScanningConfiguration = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRRegistryScanningConfiguration';
  metadata: ObjectMeta;
  spec: ECRRegistryScanningConfigurationSpec;
  status?: ECRRegistryScanningConfigurationStatus;
};

export type RegistryObject = ECRReplicationRule | ECRRegistryPolicyStatement | ECRRegistryScanningConfiguration;
