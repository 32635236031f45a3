import {
  ECR_REGISTRY_POLICY_STATEMENT, ECR_REGISTRY_SCANNING_CONFIGURATION, ECR_REPLICATION_RULE, REGISTRY_POLICY_STATEMENT_REF,
  REGISTRY_SCANNING_CONFIGURATION_REF, REPLICATION_RULE_REF,
  type AppliedReplicationRule, type ECRRegistryPolicyStatement, type ECRRegistryScanningConfiguration, type ECRReplicationRule,
  type RegistryObject, type ScanningConfiguration,
} from '../api/registry-types.js';
import type { RegistryGateway } from '../aws/registry.js';
import type { ResourceRef } from '../runtime/kube.js';
import type { MergeResult, Member, Registry } from './merge-types.js';
import { mergeRegistryPolicy, type DesiredPolicy } from './policy-merge.js';
import { mergeReplication } from './replication-merge.js';
import { mergeScanning } from './scanning-merge.js';

/**
 * What the registry reconciler needs to know about one kind: how to read and write its document,
 * how to merge, and where an object records what it applied. One value per kind; the reconciler is
 * the same for all three.
 */
export interface RegistryKind<T extends RegistryObject, Live, Desired, Applied> {
  /** Controller name and the kind's display name. */
  name: string;
  kind: T['kind'];
  ref: ResourceRef;
  /** What "part" means for this kind, in messages: "rule", "statement", "configuration". */
  part: string;
  applied(obj: T): Applied | undefined;
  appliedStatus(applied: Applied | undefined): Record<string, unknown>;
  read(gateway: RegistryGateway): Promise<Live>;
  merge(registry: Registry, members: Array<Member<T['spec'], Applied>>, live: Live): MergeResult<Desired, Applied>;
  write(gateway: RegistryGateway, desired: Desired): Promise<void>;
  /** The AWS operation that write() calls, for messages and events. */
  writeOperation(desired: Desired): string;
}

export const replicationKind: RegistryKind<ECRReplicationRule, AppliedReplicationRule[], AppliedReplicationRule[], AppliedReplicationRule> = {
  name: 'ecrreplicationrule',
  kind: ECR_REPLICATION_RULE.kind,
  ref: REPLICATION_RULE_REF,
  part: 'rule',
  applied: (obj) => obj.status?.appliedRule,
  appliedStatus: (applied) => ({ appliedRule: applied }),
  read: async (gateway) => (await gateway.replicationRules()).rules,
  merge: (registry, members, live) => mergeReplication({ registry, members, live }),
  write: (gateway, desired) => gateway.putReplicationRules(desired),
  writeOperation: () => 'PutReplicationConfiguration',
};

export const registryPolicyKind: RegistryKind<ECRRegistryPolicyStatement, string | undefined, DesiredPolicy, string> = {
  name: 'ecrregistrypolicystatement',
  kind: ECR_REGISTRY_POLICY_STATEMENT.kind,
  ref: REGISTRY_POLICY_STATEMENT_REF,
  part: 'statement',
  applied: (obj) => obj.status?.appliedStatement,
  appliedStatus: (applied) => ({ appliedStatement: applied }),
  read: (gateway) => gateway.registryPolicy(),
  merge: (registry, members, live) => mergeRegistryPolicy({ registry, members, live }),
  write: (gateway, desired) => (desired.text === undefined ? gateway.deleteRegistryPolicy() : gateway.putRegistryPolicy(desired.text)),
  writeOperation: (desired) => (desired.text === undefined ? 'DeleteRegistryPolicy' : 'PutRegistryPolicy'),
};

export const scanningKind: RegistryKind<ECRRegistryScanningConfiguration, ScanningConfiguration, ScanningConfiguration, ScanningConfiguration> = {
  name: 'ecrregistryscanningconfiguration',
  kind: ECR_REGISTRY_SCANNING_CONFIGURATION.kind,
  ref: REGISTRY_SCANNING_CONFIGURATION_REF,
  part: 'configuration',
  applied: (obj) => obj.status?.appliedConfiguration,
  appliedStatus: (applied) => ({ appliedConfiguration: applied }),
  read: (gateway) => gateway.scanningConfiguration(),
  merge: (registry, members, live) => mergeScanning({ registry, members, live }),
  write: (gateway, desired) => gateway.putScanningConfiguration(desired),
  writeOperation: () => 'PutRegistryScanningConfiguration',
};
