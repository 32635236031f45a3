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
  /** An SQS queue that receives ECR's EventBridge events and its CloudTrail management events (docs/events.md). */
  events?: AWSProviderEvents;
}

export interface AWSProviderEvents {
  /** `https://sqs.<region>.amazonaws.com/<account>/<name>`: in the provider's account and region. */
  queueURL: string;
}

/** How the objects of a provider learn of changes made outside the operator. */
export type EventsMode = 'Events' | 'Polling';

export interface AWSProviderEventsStatus {
  /** `Events`: the queue is read and the sweep runs at --sync-period-with-events; `Polling`: the sweep runs at --sync-period. */
  mode: EventsMode;
  /** The queue this status describes. */
  queueURL: string;
  /** The sync period that applies to the provider's objects in this mode, e.g. `6h0m0s`. */
  syncPeriod: string;
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
  /** Present while spec.events names a queue; the condition EventsReady says why a queue cannot be read. */
  events?: AWSProviderEventsStatus;
}

// Object types are aliases, not interfaces, so that they fit the runtime's generic KubeObject.
export type AWSProvider = {
  apiVersion: typeof API_VERSION;
  kind: 'AWSProvider';
  metadata: ObjectMeta;
  spec: AWSProviderSpec;
  status?: AWSProviderStatus;
};
