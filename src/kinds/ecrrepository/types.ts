/** ECRRepository: one private Amazon ECR repository. */
import { API_VERSION, DEFAULT_DELETION_POLICY, GROUP, VERSION, type Condition, type DeletionPolicy, type ObjectMeta } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_REPOSITORY = { kind: 'ECRRepository', plural: 'ecrrepositories' } as const;
export const ECR_REPOSITORY_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_REPOSITORY.plural };

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
  deletionPolicy: DEFAULT_DELETION_POLICY,
};
