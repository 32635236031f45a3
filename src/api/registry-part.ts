/**
 * What the account-wide kinds share: a cluster-scoped object that names an AWSProvider of any
 * namespace, and the status fields that say where its part of the registry is.
 */
import type { Condition, DeletionPolicy, ObjectMeta } from './types.js';

/** An AWSProvider named across namespaces: only cluster-scoped objects may do so. */
export interface ClusterProviderRef {
  namespace: string;
  name: string;
}

export interface RegistryPartSpec {
  providerRef: ClusterProviderRef;
  deletionPolicy?: DeletionPolicy;
}

/** Status fields common to the account-wide kinds. */
export interface RegistryPartStatus {
  ready?: boolean;
  /** True when this object's part is in the registry's document in AWS as the spec says. */
  inForce?: boolean;
  /** The registry (AWS account) and region this object's part was written to. */
  registryId?: string;
  region?: string;
  /** The value of the force-sync annotation that the last successful sync served. */
  lastForceSync?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export type RegistryPartObject<Spec extends RegistryPartSpec = RegistryPartSpec, Status extends RegistryPartStatus = RegistryPartStatus> = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
};
