/** ECRPullTimeUpdateExclusion: one IAM principal excluded from a registry's pull-time recording (cluster-scoped). */
import type { RegistryPartSpec, RegistryPartStatus } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_PULL_TIME_UPDATE_EXCLUSION = { kind: 'ECRPullTimeUpdateExclusion', plural: 'ecrpulltimeupdateexclusions' } as const;
export const PULL_TIME_UPDATE_EXCLUSION_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_PULL_TIME_UPDATE_EXCLUSION.plural };

export interface ECRPullTimeUpdateExclusionSpec extends RegistryPartSpec {
  /** The IAM role or user whose pulls do not update an image's last recorded pull time; immutable. */
  principalArn: string;
}

export interface ECRPullTimeUpdateExclusionStatus extends RegistryPartStatus {
  /** The principal this object excluded; deleting the object with deletionPolicy Delete ends exactly this exclusion. */
  appliedPrincipalArn?: string;
  /** The principal this object is about to exclude (recorded before the call). */
  pendingPrincipalArn?: string;
  /** Principals excluded in the registry (this one and every other), as last read or written. */
  exclusions?: number;
}

export type ECRPullTimeUpdateExclusion = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRPullTimeUpdateExclusion';
  metadata: ObjectMeta;
  spec: ECRPullTimeUpdateExclusionSpec;
  status?: ECRPullTimeUpdateExclusionStatus;
};
