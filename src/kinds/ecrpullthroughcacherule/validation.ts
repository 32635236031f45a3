import {
  AZURE_UPSTREAM_URL_PATTERN, ECR_UPSTREAM_URL_PATTERN, IAM_ROLE_ARN_LENGTH, IAM_ROLE_ARN_PATTERN, matchesWithin,
  PULL_THROUGH_CACHE_CREDENTIAL_ARN_LENGTH, PULL_THROUGH_CACHE_CREDENTIAL_ARN_PATTERN, PULL_THROUGH_CACHE_PREFIX_LENGTH,
  REPOSITORY_PREFIX_PATTERN, UPSTREAM_URL_LENGTH,
} from '../../api/patterns.js';
import type { Registry } from '../../reconcilers/registry-part.js';
import { UPSTREAM_REGISTRIES, type ECRPullThroughCacheRuleSpec, type UpstreamRegistryName } from './types.js';

/**
 * Amazon ECR's rules for a pull through cache rule, checked before any call so that what AWS would
 * refuse never leaves the operator and the field is named (the CRD says the same with its schema
 * and CEL rules). Sources: the Amazon ECR API Reference, "CreatePullThroughCacheRule" (prefixes of
 * 2 to 30 characters, the upstream registry URL of each upstream registry, credentialArn of 50 to
 * 612 characters in the ecr-pullthroughcache/ namespace, customRoleArn "in the same account as the
 * registry") and the Amazon ECR User Guide, "Sync an upstream registry with an Amazon ECR private
 * registry" (which upstream registries need a Secrets Manager secret; an upstream ECR registry of
 * another account needs an IAM role). The patterns are src/api/patterns.ts's.
 */

/** The upstream registries that authenticate with a Secrets Manager secret. */
export const CREDENTIALED_UPSTREAMS: ReadonlySet<UpstreamRegistryName> = new Set([
  'docker-hub', 'github-container-registry', 'gitlab-container-registry', 'azure-container-registry', 'chainguard',
]);

/** The one URL of each upstream registry that has one (the others: ecr and azure-container-registry). */
export const UPSTREAM_URLS: Readonly<Partial<Record<UpstreamRegistryName, string>>> = {
  'ecr-public': 'public.ecr.aws',
  quay: 'quay.io',
  k8s: 'registry.k8s.io',
  'docker-hub': 'registry-1.docker.io',
  'github-container-registry': 'ghcr.io',
  'gitlab-container-registry': 'registry.gitlab.com',
  chainguard: 'cgr.dev',
};

/** What the URL of an upstream registry must look like, in words, for messages. */
function urlShape(upstream: UpstreamRegistryName): string {
  if (upstream === 'ecr') return '<account>.dkr.ecr.<region>.amazonaws.com';
  if (upstream === 'azure-container-registry') return '<registry>.azurecr.io';
  return UPSTREAM_URLS[upstream] ?? '';
}

export function upstreamUrlMatches(upstream: UpstreamRegistryName, url: string): boolean {
  if (typeof url !== 'string' || url.length < UPSTREAM_URL_LENGTH.min || url.length > UPSTREAM_URL_LENGTH.max) return false;
  if (upstream === 'ecr') return ECR_UPSTREAM_URL_PATTERN.test(url);
  if (upstream === 'azure-container-registry') return AZURE_UPSTREAM_URL_PATTERN.test(url);
  return UPSTREAM_URLS[upstream] === url;
}

/** Why the spec cannot be a pull through cache rule, or undefined when it can (the registry aside). */
export function validatePullThroughCacheRuleSpec(spec: ECRPullThroughCacheRuleSpec): string | undefined {
  if (!matchesWithin(spec.ecrRepositoryPrefix, REPOSITORY_PREFIX_PATTERN, PULL_THROUGH_CACHE_PREFIX_LENGTH)) {
    return `spec.ecrRepositoryPrefix: ${JSON.stringify(String(spec.ecrRepositoryPrefix).slice(0, 40))} is not a repository prefix of ${PULL_THROUGH_CACHE_PREFIX_LENGTH.min}-${PULL_THROUGH_CACHE_PREFIX_LENGTH.max} characters (lowercase letters, digits, '.', '_', '-' and '/') or ROOT`;
  }
  const upstream = spec.upstreamRegistry;
  if (!(UPSTREAM_REGISTRIES as readonly string[]).includes(upstream)) {
    return `spec.upstreamRegistry: ${JSON.stringify(String(upstream).slice(0, 40))} is not an upstream registry ECR supports (${UPSTREAM_REGISTRIES.join(', ')})`;
  }
  if (!upstreamUrlMatches(upstream, spec.upstreamRegistryUrl)) {
    return `spec.upstreamRegistryUrl: ${JSON.stringify(String(spec.upstreamRegistryUrl).slice(0, 80))} is not the URL of ${upstream}; ECR expects ${urlShape(upstream)}`;
  }
  if (spec.upstreamRepositoryPrefix !== undefined && !matchesWithin(spec.upstreamRepositoryPrefix, REPOSITORY_PREFIX_PATTERN, PULL_THROUGH_CACHE_PREFIX_LENGTH)) {
    return `spec.upstreamRepositoryPrefix: ${JSON.stringify(String(spec.upstreamRepositoryPrefix).slice(0, 40))} is not a repository prefix of ${PULL_THROUGH_CACHE_PREFIX_LENGTH.min}-${PULL_THROUGH_CACHE_PREFIX_LENGTH.max} characters or ROOT`;
  }
  const credentials = [spec.credentialArn !== undefined, spec.credentialsSecretRef !== undefined].filter(Boolean).length;
  if (CREDENTIALED_UPSTREAMS.has(upstream)) {
    if (credentials !== 1) return `spec: ${upstream} needs upstream credentials: exactly one of spec.credentialArn and spec.credentialsSecretRef`;
  } else if (credentials > 0) {
    return `spec: ${upstream} takes no upstream credentials: remove spec.credentialArn and spec.credentialsSecretRef`;
  }
  if (spec.credentialArn !== undefined && !matchesWithin(spec.credentialArn, PULL_THROUGH_CACHE_CREDENTIAL_ARN_PATTERN, PULL_THROUGH_CACHE_CREDENTIAL_ARN_LENGTH)) {
    return `spec.credentialArn: ${JSON.stringify(String(spec.credentialArn).slice(0, 120))} is not the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/, as ECR requires`;
  }
  if (spec.customRoleArn !== undefined) {
    if (upstream !== 'ecr') return `spec.customRoleArn: only an upstream ecr registry takes a role (this rule's upstream is ${upstream})`;
    if (!matchesWithin(spec.customRoleArn, IAM_ROLE_ARN_PATTERN, IAM_ROLE_ARN_LENGTH)) {
      return `spec.customRoleArn: ${JSON.stringify(String(spec.customRoleArn).slice(0, 120))} is not the ARN of an IAM role`;
    }
  }
  return undefined;
}

/** The checks that need the registry: whose role, and which upstream account. */
export function validateForRegistry(spec: ECRPullThroughCacheRuleSpec, registry: Pick<Registry, 'accountId' | 'region'>): string | undefined {
  if (spec.customRoleArn !== undefined) {
    const account = IAM_ROLE_ARN_PATTERN.exec(spec.customRoleArn)?.[1];
    if (account !== registry.accountId) {
      return `spec.customRoleArn: the role must be in the registry's own account ${registry.accountId} (it is in ${account ?? 'no account'})`;
    }
  }
  if (spec.upstreamRegistry === 'ecr') {
    const match = ECR_UPSTREAM_URL_PATTERN.exec(spec.upstreamRegistryUrl);
    if (match && match[1] !== registry.accountId && spec.customRoleArn === undefined) {
      return `spec.customRoleArn: the upstream registry is in another account (${match[1]}); ECR needs a role of account ${registry.accountId} to pull from it`;
    }
    if (match && match[1] === registry.accountId && match[2] === registry.region) {
      return `spec.upstreamRegistryUrl: ${spec.upstreamRegistryUrl} is this registry itself`;
    }
  }
  return undefined;
}
