/**
 * ECRPublicRepository: one Amazon ECR Public repository (public.ecr.aws/<alias>/<name>), with the
 * catalog data the ECR Public Gallery shows. ECR Public lives in us-east-1 whatever region the
 * provider names. config/crd/bases holds the schema.
 */
import { API_VERSION, DEFAULT_DELETION_POLICY, GROUP, VERSION, type Condition, type DeletionPolicy, type ObjectMeta } from '../../api/types.js';
import type { LengthBounds } from '../../api/patterns.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_PUBLIC_REPOSITORY = { kind: 'ECRPublicRepository', plural: 'ecrpublicrepositories' } as const;
export const ECR_PUBLIC_REPOSITORY_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_PUBLIC_REPOSITORY.plural };

/**
 * ECR Public's repository names (Amazon ECR Public API Reference, "CreateRepository",
 * repositoryName): the pattern of private ECR (api/patterns.ts REPOSITORY_NAME_SOURCE, same
 * language, linear form), 2 to 205 characters.
 */
export const PUBLIC_REPOSITORY_NAME_LENGTH: LengthBounds = { min: 2, max: 205 };

/**
 * The architectures and operating systems the ECR Public Gallery shows as badges and filters by
 * (API Reference, "RepositoryCatalogDataInput"). The API stores any other value but no Gallery user
 * finds it, so the operator accepts only these.
 */
export const ARCHITECTURES = ['ARM', 'ARM 64', 'x86', 'x86-64'] as const;
export const OPERATING_SYSTEMS = ['Linux', 'Windows'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];

/** RepositoryCatalogDataInput's text limits (API Reference). */
export const DESCRIPTION_MAX_CHARS = 1024;
export const ABOUT_TEXT_MAX_CHARS = 25_600;
export const USAGE_TEXT_MAX_CHARS = 25_600;

/** A key of a ConfigMap or Secret in the object's own namespace. */
export interface KeyRef {
  name: string;
  key: string;
}

/** Where the logo's bytes are: exactly one of the two. */
export interface LogoSource {
  configMapKeyRef?: KeyRef;
  secretKeyRef?: KeyRef;
}

export interface CatalogData {
  description?: string;
  aboutText?: string;
  usageText?: string;
  architectures?: Architecture[];
  operatingSystems?: OperatingSystem[];
  logo?: LogoSource;
}

export interface ECRPublicRepositorySpec {
  providerRef: { name: string };
  repositoryName: string;
  catalogData?: CatalogData;
  /** IAM resource policy JSON; removing it removes the policy. */
  repositoryPolicy?: string;
  tags?: Record<string, string>;
  deletionPolicy?: DeletionPolicy;
  /** With deletionPolicy Delete: delete the repository even when it holds images (DeleteRepository force). */
  forceDelete?: boolean;
}

export interface ECRPublicRepositoryStatus {
  ready?: boolean;
  repositoryArn?: string;
  /** public.ecr.aws/<registryAlias>/<repositoryName>. */
  repositoryUri?: string;
  registryId?: string;
  /** The registry's default alias, as in repositoryUri. */
  registryAlias?: string;
  creationDate?: string;
  imageCount?: number;
  /** Where ECR Public serves the logo that the operator uploaded last. */
  logoUrl?: string;
  /** sha256:<hex> of the logo bytes the operator uploaded last: ECR Public answers with a URL only. */
  logoDigest?: string;
  lastSyncTime?: string;
  /** The value of the force-sync annotation that the last successful sync served. */
  lastForceSync?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export type ECRPublicRepository = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRPublicRepository';
  metadata: ObjectMeta;
  spec: ECRPublicRepositorySpec;
  status?: ECRPublicRepositoryStatus;
};

/** Defaults that the CRD schema applies; the reconciler applies them again for objects written before. */
export const SPEC_DEFAULTS = {
  deletionPolicy: DEFAULT_DELETION_POLICY,
  forceDelete: false,
};
