import type { AWSProvider } from '../kinds/awsprovider/types.js';

/**
 * Tenancy: which identity an AWSProvider may act as, decided from its spec and the administrator's
 * policy alone, before any network byte is sent. Namespaces are tenants: a provider may use what its
 * namespace was given (its own Secrets, its own ServiceAccount) and the operator's own identity only
 * where the administrator allows it; the operator's identity never goes to an endpoint a tenant chose.
 */

export type ProviderProblemReason =
  | 'SecretNotFound'
  | 'SecretKeyMissing'
  | 'InvalidSpec'
  | 'EndpointNotAllowed'
  | 'EndpointRequiresOwnCredentials'
  | 'IdentityNotAllowed'
  | 'ServiceAccountNotFound'
  | 'ServiceAccountTokenDenied';

/** The provider cannot be used as it stands: the user (or the administrator) must change something. */
export class ProviderConfigError extends Error {
  constructor(
    readonly reason: ProviderProblemReason,
    message: string,
  ) {
    super(message);
  }
}

/** What the administrator allows, from the operator's flags. */
export interface TenancyPolicy {
  /** --allow-custom-endpoints: whether spec.endpoint may be used at all. */
  allowCustomEndpoints: boolean;
  /** --ambient-identity-namespaces: where the operator's own identity may be used; '*' is everywhere. */
  ambientIdentityNamespaces: '*' | readonly string[];
}

/** The hardened policy: what a multi-tenant cluster should run with. */
export const STRICT_POLICY: TenancyPolicy = { allowCustomEndpoints: false, ambientIdentityNamespaces: [] };

export type IdentityChoice =
  /** The provider's own static keys from a Secret of its namespace (then roleARN, if set, is assumed with them). */
  | { kind: 'staticKeys'; secretName: string }
  /** A token of the provider's own ServiceAccount, redeemed with AssumeRoleWithWebIdentity for roleARN. */
  | { kind: 'serviceAccount'; serviceAccountName: string; roleArn: string }
  /** The operator's own identity (IRSA or its default chain), then roleARN if set. */
  | { kind: 'operator' };

function present(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}

export function ambientAllowed(policy: TenancyPolicy, namespace: string): boolean {
  return policy.ambientIdentityNamespaces === '*' || policy.ambientIdentityNamespaces.includes(namespace);
}

/**
 * Which identity the provider acts as, or the refusal (a ProviderConfigError, thrown) that names what
 * to change. The checks run in the order a user fixes them: the spec itself, the endpoint, the identity.
 */
export function chooseIdentity(provider: AWSProvider, policy: TenancyPolicy): IdentityChoice {
  const { spec } = provider;
  const namespace = provider.metadata.namespace;
  const keyRefs = [spec.accessKeyIDRef, spec.secretAccessKeyRef, spec.sessionTokenRef].filter((r) => r !== undefined);
  const serviceAccount = spec.serviceAccountRef?.name?.trim();

  if (spec.serviceAccountRef !== undefined) {
    if (!serviceAccount) throw new ProviderConfigError('InvalidSpec', 'spec.serviceAccountRef.name is required');
    if (!present(spec.roleARN)) {
      throw new ProviderConfigError('InvalidSpec', 'spec.roleARN is required with spec.serviceAccountRef: the ServiceAccount token is exchanged for that role');
    }
    if (keyRefs.length > 0) {
      throw new ProviderConfigError('InvalidSpec', 'spec.serviceAccountRef and static keys (spec.accessKeyIDRef, spec.secretAccessKeyRef) are mutually exclusive');
    }
  }
  // A partial set of key references must not fall back silently to another identity.
  if (keyRefs.length > 0 && (!spec.accessKeyIDRef || !spec.secretAccessKeyRef)) {
    throw new ProviderConfigError('InvalidSpec', 'static credentials need both spec.accessKeyIDRef and spec.secretAccessKeyRef');
  }

  const customEndpoint = present(spec.endpoint);
  if (customEndpoint && !policy.allowCustomEndpoints) {
    throw new ProviderConfigError(
      'EndpointNotAllowed',
      'spec.endpoint is refused: this operator does not allow custom endpoints (an administrator can start it with --allow-custom-endpoints, environment ALLOW_CUSTOM_ENDPOINTS=true); remove spec.endpoint to use AWS',
    );
  }

  if (serviceAccount) return { kind: 'serviceAccount', serviceAccountName: serviceAccount, roleArn: (spec.roleARN as string).trim() };
  if (spec.accessKeyIDRef && spec.secretAccessKeyRef) return { kind: 'staticKeys', secretName: spec.accessKeyIDRef.name };

  if (customEndpoint) {
    throw new ProviderConfigError(
      'EndpointRequiresOwnCredentials',
      "spec.endpoint needs the provider's own credentials (spec.accessKeyIDRef and spec.secretAccessKeyRef, or spec.serviceAccountRef with spec.roleARN): the operator's own identity is never used with a custom endpoint",
    );
  }
  if (!ambientAllowed(policy, namespace)) {
    throw new ProviderConfigError(
      'IdentityNotAllowed',
      `the operator's own identity may not be used in namespace ${namespace} (see --ambient-identity-namespaces); give the provider its own credentials: spec.serviceAccountRef with spec.roleARN, or static keys from a Secret`,
    );
  }
  return { kind: 'operator' };
}

/** A short description of the identity, for status and events; names objects, never values. */
export function describeIdentity(choice: IdentityChoice, namespace: string, roleArn: string | undefined): string {
  const role = present(roleArn) ? `, assuming ${(roleArn as string).trim()}` : '';
  switch (choice.kind) {
    case 'staticKeys':
      return `static keys from Secret ${namespace}/${choice.secretName}${role}`;
    case 'serviceAccount':
      return `ServiceAccount ${namespace}/${choice.serviceAccountName}${role}`;
    case 'operator':
      return `operator identity${role}`;
  }
}
