import type { AWSProvider, SecretKeyRef } from '../api/types.js';
import type { AwsClientFactory, AwsSession } from '../aws/clients.js';
import { sourceFingerprint, type CredentialSource, type StaticKeys } from '../aws/credentials.js';
import { EcrGateway, type CallHook } from '../aws/ecr.js';
import { resourcePath, type KubeClient } from '../runtime/kube.js';

/**
 * Turns an AWSProvider and the Secrets it references into an AWS session and an ECR gateway.
 * The one place that reads credentials out of Kubernetes; aws/ never sees a Secret.
 */

export type ProviderProblemReason = 'SecretNotFound' | 'SecretKeyMissing';

/** The provider cannot be used as it stands: the user must change it or its Secrets. */
export class ProviderConfigError extends Error {
  constructor(
    readonly reason: ProviderProblemReason,
    message: string,
  ) {
    super(message);
  }
}

export interface Connection {
  session: AwsSession;
  ecr: EcrGateway;
  /** Changes when the provider's spec or the content of a referenced Secret changes. */
  fingerprint: string;
}

interface SecretObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

const SECRETS = { group: '', version: 'v1', plural: 'secrets' };

export function providerKey(provider: AWSProvider): string {
  return `${provider.metadata.namespace}/${provider.metadata.name}`;
}

export class ProviderConnections {
  private readonly connections = new Map<string, { connection: Connection; generation: number | undefined }>();

  constructor(
    private readonly deps: {
      kube: KubeClient;
      factory: AwsClientFactory;
      onEcrCall?: CallHook;
    },
  ) {}

  /**
   * Reads the provider's Secrets and returns its connection, rebuilding the session when anything
   * that feeds the credentials changed. The AWSProvider reconciler calls this on every verification.
   */
  async refresh(provider: AWSProvider): Promise<Connection> {
    const key = providerKey(provider);
    const source = await this.sourceOf(provider);
    const fingerprint = sourceFingerprint(source);
    const cached = this.connections.get(key);
    if (cached && cached.connection.fingerprint === fingerprint) {
      cached.generation = provider.metadata.generation;
      return cached.connection;
    }
    const session = this.deps.factory.session(key, fingerprint, source);
    const connection: Connection = {
      session,
      ecr: new EcrGateway({ client: session.ecr, ...(this.deps.onEcrCall ? { onCall: this.deps.onEcrCall } : {}) }),
      fingerprint,
    };
    this.connections.set(key, { connection, generation: provider.metadata.generation });
    return connection;
  }

  /**
   * The connection for a provider that the AWSProvider reconciler has verified, without reading the
   * Secrets again; read them when the provider changed since or nothing is cached.
   */
  async get(provider: AWSProvider): Promise<Connection> {
    const cached = this.connections.get(providerKey(provider));
    if (cached && cached.generation === provider.metadata.generation) return cached.connection;
    return this.refresh(provider);
  }

  drop(key: string): void {
    this.connections.delete(key);
    this.deps.factory.drop(key);
  }

  private async sourceOf(provider: AWSProvider): Promise<CredentialSource> {
    const { spec } = provider;
    const source: CredentialSource = { region: spec.region };
    if (spec.endpoint) source.endpoint = spec.endpoint;
    if (spec.roleARN) source.roleArn = spec.roleARN;
    if (spec.externalID) source.externalId = spec.externalID;
    source.sessionName = spec.sessionName ?? `infra-operator-${provider.metadata.namespace}-${provider.metadata.name}`.slice(0, 64);
    if (spec.accessKeyIDRef && spec.secretAccessKeyRef) {
      const namespace = provider.metadata.namespace;
      const keys: StaticKeys = {
        accessKeyId: await this.secretValue(namespace, spec.accessKeyIDRef, 'spec.accessKeyIDRef'),
        secretAccessKey: await this.secretValue(namespace, spec.secretAccessKeyRef, 'spec.secretAccessKeyRef'),
      };
      if (spec.sessionTokenRef) keys.sessionToken = await this.secretValue(namespace, spec.sessionTokenRef, 'spec.sessionTokenRef');
      source.staticKeys = keys;
    }
    return source;
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
