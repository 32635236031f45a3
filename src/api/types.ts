/**
 * The v1alpha1 API of group aws-infra-operator.runner.codes: AWSProvider and ECRRepository.
 * config/crd/bases holds the schema; test/unit/api/crd-types.test.ts keeps the two in step.
 */

export const GROUP = 'aws-infra-operator.runner.codes';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const AWS_PROVIDER = { kind: 'AWSProvider', plural: 'awsproviders' } as const;
export const ECR_REPOSITORY = { kind: 'ECRRepository', plural: 'ecrrepositories' } as const;

/** Guards every ECRRepository until its deletion policy has been carried out. */
export const FINALIZER = `${GROUP}/finalizer`;
/** Tag on every repository the operator created or adopted: `<namespace>/<name>` of the owning CR. */
export const OWNER_TAG = `${GROUP}/owner`;
/** Annotation that allows adopting an existing repository that carries no owner tag. */
export const ADOPT_ANNOTATION = `${GROUP}/adopt`;
/** Annotation whose change triggers an immediate full reconcile (as the documentation page shows it). */
export const FORCE_SYNC_ANNOTATION = 'force-sync';

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** The `metav1.Condition` shape. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

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

export type ImageTagMutability = 'MUTABLE' | 'IMMUTABLE' | 'MUTABLE_WITH_EXCLUSION' | 'IMMUTABLE_WITH_EXCLUSION';
export type EncryptionType = 'AES256' | 'KMS' | 'KMS_DSSE';

/** A tag pattern exempt from the repository's tag mutability (ECR's ImageTagMutabilityExclusionFilter). */
export interface ImageTagMutabilityExclusionFilter {
  /** Tag pattern: letters, digits, '.', '_', '-' and '*' wildcards, 1 to 128 characters. */
  filter: string;
  filterType: 'WILDCARD';
}

/** What the lifecycle policy would do next, from the operator's local evaluator of ECR's rules. */
export interface LifecyclePreview {
  imagesToExpire: number;
  imagesToArchive: number;
  evaluatedAt: string;
  /** Up to 10 tags (or digests of untagged images) that the policy would act on next. */
  sample: string[];
}
export type DeletionPolicy = 'Delete' | 'Retain' | 'Orphan';

export interface EncryptionConfiguration {
  encryptionType?: EncryptionType;
  kmsKey?: string;
}

export interface ECRRepositorySpec {
  providerRef: { name: string };
  repositoryName: string;
  imageTagMutability?: ImageTagMutability;
  imageTagMutabilityExclusionFilters?: ImageTagMutabilityExclusionFilter[];
  scanOnPush?: boolean;
  encryptionConfiguration?: EncryptionConfiguration;
  lifecyclePolicy?: { policyText?: string; maxImagesToExpire?: number };
  repositoryPolicyText?: string;
  tags?: Record<string, string>;
  deletionPolicy?: DeletionPolicy;
}

export interface ECRRepositoryStatus {
  ready?: boolean;
  repositoryArn?: string;
  repositoryUri?: string;
  registryId?: string;
  creationDate?: string;
  imageCount?: number;
  archivedImageCount?: number;
  imageSizeBytes?: number;
  lastImagePushedAt?: string;
  lastImagePulledAt?: string;
  lifecyclePreview?: LifecyclePreview;
  imageTagMutability?: ImageTagMutability;
  imageTagMutabilityExclusionFilters?: ImageTagMutabilityExclusionFilter[];
  encryptionType?: EncryptionType;
  imageScanningConfiguration?: { scanOnPush: boolean };
  lastSyncTime?: string;
  /** The value of the force-sync annotation that the last successful sync served. */
  lastForceSync?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export type ECRRepository = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRRepository';
  metadata: ObjectMeta;
  spec: ECRRepositorySpec;
  status?: ECRRepositoryStatus;
};

/** Defaults that the CRD schema applies; the reconciler applies them again for objects written before. */
export const SPEC_DEFAULTS = {
  imageTagMutability: 'MUTABLE' as ImageTagMutability,
  scanOnPush: false,
  encryptionType: 'AES256' as EncryptionType,
  deletionPolicy: 'Retain' as DeletionPolicy,
};
