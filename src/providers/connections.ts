import type { AWSProvider } from '../kinds/awsprovider/types.js';
import type { SecretKeyRef } from '../api/types.js';
import type { AwsClientFactory, AwsSession } from '../aws/clients.js';
import { sourceFingerprint, type CredentialSource, type StaticKeys } from '../aws/credentials.js';
import { chooseIdentity, describeIdentity, ProviderConfigError, type TenancyPolicy } from './identity.js';
import { ServiceAccountTokens, type TokenRequestClient } from './serviceaccount-tokens.js';
import { createRegistryView, EcrGateway, type LiveRepository } from '../aws/ecr.js';
import type { RepositoryDirectory } from '../aws/repository-directory.js';
import type { AccountLimiter } from '../aws/ratelimit.js';
import { resourcePath } from '../runtime/kube.js';

/**
 * Turns an AWSProvider and the Secrets or ServiceAccount it references into an AWS session and an
 * ECR gateway. The one place that reads credentials out of Kubernetes; aws/ never sees a Secret.
 * Every refusal of the tenancy policy is a ProviderConfigError thrown before any AWS call.
 */

export { ProviderConfigError, type ProviderProblemReason, type TenancyPolicy } from './identity.js';

export interface Connection {
  session: AwsSession;
  ecr: EcrGateway;
  /** Changes when the provider's spec or the content of a referenced Secret changes. */
  fingerprint: string;
  /**
   * Which identity the session acts as, for status: `static keys from Secret ns/name`,
   * `ServiceAccount ns/name` or `operator identity`, with `, assuming <roleARN>` when a role is assumed.
   */
  identity: string;
}

/** The part of the Kubernetes client used here; KubeClient fits. */
export interface ProviderKubeClient extends TokenRequestClient {
  getOrUndefined<T>(path: string): Promise<T | undefined>;
}

interface SecretObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

interface CachedConnection {
  connection: Connection;
  generation: number | undefined;
}

const SECRETS = { group: '', version: 'v1', plural: 'secrets' };

export function providerKey(provider: AWSProvider): string {
  return `${provider.metadata.namespace}/${provider.metadata.name}`;
}

export class ProviderConnections {
  private readonly connections = new Map<string, CachedConnection>();
  /** Which registry view each gateway reads through. */
  private readonly gateways = new WeakMap<EcrGateway, string>();
  /** One view per provider identity and registry (see registryKey). */
  private readonly registries = new Map<string, RepositoryDirectory<LiveRepository>>();

  constructor(
    private readonly deps: {
      kube: ProviderKubeClient;
      factory: AwsClientFactory;
      /** What the administrator allows (--allow-custom-endpoints, --ambient-identity-namespaces). */
      tenancy: TenancyPolicy;
      /** Tokens of tenants' ServiceAccounts; by default requested through `kube`. */
      tokens?: ServiceAccountTokens;
      /** How long one listing of a registry serves drift checks of its repositories. */
      registrySnapshotMaxAgeMs: number;
    },
  ) {
    this.tokens = deps.tokens ?? new ServiceAccountTokens({ client: deps.kube });
  }

  private readonly tokens: ServiceAccountTokens;

  /**
   * Reads the provider's Secrets and returns its connection, rebuilding the session when anything
   * that feeds the credentials changed. The AWSProvider reconciler calls this on every verification.
   */
  async refresh(provider: AWSProvider): Promise<Connection> {
    const key = providerKey(provider);
    const { source, identity } = await this.sourceOf(provider);
    const fingerprint = sourceFingerprint(source);
    const cached = this.connections.get(key);
    if (cached && cached.connection.fingerprint === fingerprint) {
      cached.generation = provider.metadata.generation;
      return this.withSharedRegistry(cached);
    }
    const session = this.deps.factory.session(key, fingerprint, source);
    const entry: CachedConnection = { connection: { session, ecr: this.gateway(session), fingerprint, identity }, generation: provider.metadata.generation };
    this.connections.set(key, entry);
    return entry.connection;
  }

  /**
   * The connection for a provider that the AWSProvider reconciler has verified, without reading the
   * Secrets again; read them when the provider changed since or nothing is cached. A provider being
   * deleted keeps its last verified connection whatever its generation says: its Secret may already
   * be gone with its namespace, and that connection serves the deletions its finalizer waits for.
   */
  async get(provider: AWSProvider): Promise<Connection> {
    const cached = this.connections.get(providerKey(provider));
    if (cached && (cached.generation === provider.metadata.generation || provider.metadata.deletionTimestamp)) return this.withSharedRegistry(cached);
    return this.refresh(provider);
  }

  /**
   * The account is known once the credentials have been verified; a gateway built before then has a
   * view of its own, and is rebuilt on the account's shared view as soon as it is known.
   */
  private withSharedRegistry(entry: CachedConnection): Connection {
    const { session } = entry.connection;
    if (session.accountId && !this.sharesAccountRegistry(entry)) {
      entry.connection = { ...entry.connection, ecr: this.gateway(session) };
    }
    return entry.connection;
  }

  private sharesAccountRegistry(entry: CachedConnection): boolean {
    return this.gateways.get(entry.connection.ecr) === this.registryKey(entry.connection.session);
  }

  /**
   * One view per provider identity in a registry: a listing read with one provider's credentials
   * never answers for another provider, even of the same account.
   */
  private registryKey(session: AwsSession): string {
    return `${session.key}|${session.accountId ?? ''}|${session.region}|${session.endpoint ?? ''}`;
  }

  private gateway(session: AwsSession): EcrGateway {
    const registryKey = this.registryKey(session);
    let registry = this.registries.get(registryKey);
    if (!registry) {
      registry = createRegistryView({ maxAgeMs: this.deps.registrySnapshotMaxAgeMs });
      this.registries.set(registryKey, registry);
    }
    const gateway = new EcrGateway({ client: session.ecr, registry });
    this.gateways.set(gateway, registryKey);
    return gateway;
  }

  /**
   * The AWS budget a provider's ECR calls draw from, once its connection is known (undefined
   * before): the work queue hands out an object's work only when that budget has room (see
   * WorkBudget), so that no worker sleeps on one account's limit while others' work waits.
   */
  limiterOf(namespace: string, name: string): AccountLimiter | undefined {
    return this.connections.get(`${namespace}/${name}`)?.connection.session.ecrLimiter();
  }

  drop(key: string): void {
    this.connections.delete(key);
    this.deps.factory.drop(key);
  }

  /**
   * The credential source the tenancy policy allows, or a ProviderConfigError. Reads only what the
   * provider's own namespace holds: its Secrets, a token of its own ServiceAccount.
   */
  private async sourceOf(provider: AWSProvider): Promise<{ source: CredentialSource; identity: string }> {
    const { spec } = provider;
    const namespace = provider.metadata.namespace;
    const choice = chooseIdentity(provider, this.deps.tenancy);
    const source: CredentialSource = { region: spec.region };
    if (spec.endpoint?.trim()) source.endpoint = spec.endpoint.trim();
    if (spec.roleARN) source.roleArn = spec.roleARN;
    if (spec.externalID) source.externalId = spec.externalID;
    source.sessionName = spec.sessionName ?? `infra-operator-${namespace}-${provider.metadata.name}`.slice(0, 64);
    const identity = describeIdentity(choice, namespace, spec.roleARN);
    if (choice.kind === 'serviceAccount') {
      const serviceAccount = choice.serviceAccountName;
      // Requested now, so that a missing ServiceAccount is reported before any AWS call; renewals of
      // the AWS credentials ask for a fresh token.
      await this.tokens.token(namespace, serviceAccount);
      source.webIdentity = {
        subject: `${namespace}/${serviceAccount}`,
        token: async () => (await this.tokens.request(namespace, serviceAccount)).token,
      };
      return { source, identity };
    }
    if (spec.accessKeyIDRef && spec.secretAccessKeyRef) {
      const keys: StaticKeys = {
        accessKeyId: await this.secretValue(namespace, spec.accessKeyIDRef, 'spec.accessKeyIDRef'),
        secretAccessKey: await this.secretValue(namespace, spec.secretAccessKeyRef, 'spec.secretAccessKeyRef'),
      };
      if (spec.sessionTokenRef) keys.sessionToken = await this.secretValue(namespace, spec.sessionTokenRef, 'spec.sessionTokenRef');
      source.staticKeys = keys;
    }
    return { source, identity };
  }

  private async secretValue(namespace: string, ref: SecretKeyRef, field: string): Promise<string> {
    const secret = await this.deps.kube.getOrUndefined<SecretObject>(resourcePath(SECRETS, namespace, ref.name));
    if (!secret) {
      throw new ProviderConfigError('SecretNotFound', `${field}: Secret ${namespace}/${ref.name} not found`);
    }
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) {
      throw new ProviderConfigError('SecretKeyMissing', `${field}: Secret ${namespace}/${ref.name} has no key ${JSON.stringify(ref.key)}`);
    }
    const value = Buffer.from(encoded, 'base64').toString('utf8').trim();
    if (!value) throw new ProviderConfigError('SecretKeyMissing', `${field}: key ${JSON.stringify(ref.key)} of Secret ${namespace}/${ref.name} is empty`);
    return value;
  }
}
