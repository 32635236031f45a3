/** ECRReplicationRule: one rule of a registry's replication configuration (cluster-scoped). */
import type { RegistryPartSpec, RegistryPartStatus } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_REPLICATION_RULE = { kind: 'ECRReplicationRule', plural: 'ecrreplicationrules' } as const;
export const REPLICATION_RULE_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_REPLICATION_RULE.plural };

export interface ReplicationDestination {
  region: string;
  /** Defaults to the account of the provider. */
  registryId?: string;
}

export interface ReplicationRepositoryFilter {
  filter: string;
  filterType: 'PREFIX_MATCH';
}

export interface ECRReplicationRuleSpec extends RegistryPartSpec {
  destinations: ReplicationDestination[];
  repositoryFilters?: ReplicationRepositoryFilter[];
}

/** A replication rule as ECR holds it (every destination with its registry id). */
export interface AppliedReplicationRule {
  destinations: Array<{ region: string; registryId: string }>;
  repositoryFilters?: ReplicationRepositoryFilter[];
}

export interface ECRReplicationRuleStatus extends RegistryPartStatus {
  /** The rule this object put in force; deleting the object removes exactly this rule. */
  appliedRule?: AppliedReplicationRule;
  /** The rule this object is about to write: recorded first, so that a crash never leaves a rule it cannot recognise as its own. */
  pendingRule?: AppliedReplicationRule;
  /** Rules in the registry's replication configuration, as last read or written. */
  rules?: number;
}

export type ECRReplicationRule = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRReplicationRule';
  metadata: ObjectMeta;
  spec: ECRReplicationRuleSpec;
  status?: ECRReplicationRuleStatus;
};
