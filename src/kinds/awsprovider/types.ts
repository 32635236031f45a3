/** AWSProvider: the AWS identity and region that other objects act through. */
import { API_VERSION, GROUP, VERSION, type Condition, type ObjectMeta, type SecretKeyRef } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const AWS_PROVIDER = { kind: 'AWSProvider', plural: 'awsproviders' } as const;
export const AWS_PROVIDER_REF: ResourceRef = { group: GROUP, version: VERSION, plural: AWS_PROVIDER.plural };

export interface AWSProviderSpec {
  region: string;
  roleARN?: string;
  externalID?: string;
  sessionName?: string;
  accessKeyIDRef?: SecretKeyRef;
  secretAccessKeyRef?: SecretKeyRef;
  sessionTokenRef?: SecretKeyRef;
  endpoint?: string;
  /** A ServiceAccount of the provider's namespace whose token is exchanged for roleARN (required with it). */
  serviceAccountRef?: { name: string };
  defaultTags?: Record<string, string>;
}

export interface AWSProviderStatus {
  ready?: boolean;
  accountID?: string;
  callerIdentity?: string;
  /** Which credentials the operator used: `static keys from Secret ns/name`, `ServiceAccount ns/name`, `operator identity` (`, assuming <roleARN>`). */
  identitySource?: string;
  lastAuthenticationTime?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

// Object types are aliases, not interfaces, so that they fit the runtime's generic KubeObject.
export type AWSProvider = {
  apiVersion: typeof API_VERSION;
  kind: 'AWSProvider';
  metadata: ObjectMeta;
  spec: AWSProviderSpec;
  status?: AWSProviderStatus;
};
