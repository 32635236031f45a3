/** ECRRegistryPolicyStatement: one statement of a registry's permissions policy (cluster-scoped). */
import type { RegistryPartSpec, RegistryPartStatus } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_REGISTRY_POLICY_STATEMENT = { kind: 'ECRRegistryPolicyStatement', plural: 'ecrregistrypolicystatements' } as const;
export const REGISTRY_POLICY_STATEMENT_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_REGISTRY_POLICY_STATEMENT.plural };

export interface ECRRegistryPolicyStatementSpec extends RegistryPartSpec {
  /** The statement id, unique in the registry. */
  sid: string;
  /** One IAM policy statement as JSON text; a Sid in it, if any, must equal spec.sid. */
  statement: string;
}

export interface ECRRegistryPolicyStatementStatus extends RegistryPartStatus {
  /** The statement (canonical JSON, with its Sid) this object put in force. */
  appliedStatement?: string;
  /** The statement this object is about to write (recorded before the write). */
  pendingStatement?: string;
  /** Statements in the registry policy, as last read or written. */
  statements?: number;
}

export type ECRRegistryPolicyStatement = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRRegistryPolicyStatement';
  metadata: ObjectMeta;
  spec: ECRRegistryPolicyStatementSpec;
  status?: ECRRegistryPolicyStatementStatus;
};
