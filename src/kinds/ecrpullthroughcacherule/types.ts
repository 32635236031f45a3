/** ECRPullThroughCacheRule: one pull through cache rule of a registry, per repository prefix (cluster-scoped). */
import type { RegistryPartSpec } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { ResourceStatus } from '../../reconcilers/cluster-resource.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_PULL_THROUGH_CACHE_RULE = { kind: 'ECRPullThroughCacheRule', plural: 'ecrpullthroughcacherules' } as const;
export const PULL_THROUGH_CACHE_RULE_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_PULL_THROUGH_CACHE_RULE.plural };

/**
 * Every upstream registry ECR's API lists today (Amazon ECR API Reference, "PullThroughCacheRule",
 * upstreamRegistry).
 */
export const UPSTREAM_REGISTRIES = [
  'ecr',
  'ecr-public',
  'quay',
  'k8s',
  'docker-hub',
  'github-container-registry',
  'azure-container-registry',
  'gitlab-container-registry',
  'chainguard',
] as const;
export type UpstreamRegistryName = (typeof UPSTREAM_REGISTRIES)[number];

/** A Kubernetes Secret in the provider's namespace with the keys `username` and `accessToken`. */
export interface CredentialsSecretRef {
  name: string;
}

export interface ECRPullThroughCacheRuleSpec extends RegistryPartSpec {
  ecrRepositoryPrefix: string;
  upstreamRegistry: UpstreamRegistryName;
  upstreamRegistryUrl: string;
  upstreamRepositoryPrefix?: string;
  /** A Secrets Manager secret named ecr-pullthroughcache/... that holds the upstream credentials. */
  credentialArn?: string;
  /** Or a Kubernetes Secret whose credentials the operator keeps in a Secrets Manager secret it owns. */
  credentialsSecretRef?: CredentialsSecretRef;
  /** The IAM role ECR assumes to pull from an upstream ECR registry of another account. */
  customRoleArn?: string;
}

export interface ECRPullThroughCacheRuleStatus extends ResourceStatus {
  /** When ECR created the rule, and last updated it. */
  createdAt?: string;
  updatedAt?: string;
  /** The upstream registry and URL as ECR reports them. */
  upstreamRegistry?: string;
  upstreamRegistryUrl?: string;
  /** The Secrets Manager secret the rule authenticates with, as ECR reports it (an ARN, never a value). */
  credentialArn?: string;
  /** The Secrets Manager secret this object created from spec.credentialsSecretRef and keeps (its ARN). */
  managedSecretArn?: string;
}

export type ECRPullThroughCacheRule = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRPullThroughCacheRule';
  metadata: ObjectMeta;
  spec: ECRPullThroughCacheRuleSpec;
  status?: ECRPullThroughCacheRuleStatus;
};
