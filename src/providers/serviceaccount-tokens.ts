import { isApiError, resourcePath } from '../runtime/kube.js';
import { ProviderConfigError } from './identity.js';

/**
 * Short-lived tokens of a tenant's own ServiceAccount, through the TokenRequest API, for
 * AssumeRoleWithWebIdentity. The audience is STS's, not the API server's: the token cannot be used
 * against Kubernetes, and AWS accepts it only for roles whose trust policy names this ServiceAccount.
 */

export const STS_AUDIENCE = 'sts.amazonaws.com';
/** The shortest expiry the API server accepts (10 minutes). */
export const TOKEN_EXPIRATION_SECONDS = 600;
/** A token with less life left than this is not handed out: a fresh one is requested. */
const TOKEN_MIN_REMAINING_MS = 60_000;

/** The one call of the Kubernetes client used here; KubeClient fits. */
export interface TokenRequestClient {
  post<T>(path: string, body: unknown): Promise<T>;
}

export interface ServiceAccountToken {
  token: string;
  expiresAt: Date;
}

interface TokenRequestResponse {
  status?: { token?: string; expirationTimestamp?: string };
}

const SERVICE_ACCOUNTS = { group: '', version: 'v1', plural: 'serviceaccounts' };

/**
 * Requests tokens and keeps the latest one per ServiceAccount until it is close to expiry. Holds
 * tokens in memory only; a token is never logged or written anywhere.
 */
export class ServiceAccountTokens {
  private readonly cache = new Map<string, ServiceAccountToken>();
  private readonly clock: () => number;

  constructor(private readonly deps: { client: TokenRequestClient; clock?: () => number; expirationSeconds?: number }) {
    this.clock = deps.clock ?? Date.now;
  }

  /** A token with at least a minute to live: the cached one, else a new one. */
  async token(namespace: string, name: string): Promise<string> {
    const cached = this.cache.get(`${namespace}/${name}`);
    if (cached && cached.expiresAt.getTime() - this.clock() > TOKEN_MIN_REMAINING_MS) return cached.token;
    return (await this.request(namespace, name)).token;
  }

  /** Always a new token (each renewal of AWS credentials redeems a fresh one). */
  async request(namespace: string, name: string): Promise<ServiceAccountToken> {
    const expirationSeconds = this.deps.expirationSeconds ?? TOKEN_EXPIRATION_SECONDS;
    let out: TokenRequestResponse;
    try {
      out = await this.deps.client.post<TokenRequestResponse>(resourcePath(SERVICE_ACCOUNTS, namespace, name, 'token'), {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: [STS_AUDIENCE], expirationSeconds },
      });
    } catch (err) {
      if (isApiError(err, 404)) {
        this.cache.delete(`${namespace}/${name}`);
        throw new ProviderConfigError('ServiceAccountNotFound', `spec.serviceAccountRef: ServiceAccount ${namespace}/${name} not found`);
      }
      if (isApiError(err, 403)) {
        throw new ProviderConfigError(
          'ServiceAccountTokenDenied',
          `spec.serviceAccountRef: the operator may not request a token for ServiceAccount ${namespace}/${name}; its RBAC needs create on serviceaccounts/token`,
        );
      }
      throw err;
    }
    const token = out.status?.token;
    if (!token) throw new Error(`the TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
    const stamped = out.status?.expirationTimestamp ? Date.parse(out.status.expirationTimestamp) : NaN;
    const expiresAt = new Date(Number.isFinite(stamped) ? stamped : this.clock() + expirationSeconds * 1000);
    const fresh = { token, expiresAt };
    this.cache.set(`${namespace}/${name}`, fresh);
    return fresh;
  }

  forget(namespace: string, name: string): void {
    this.cache.delete(`${namespace}/${name}`);
  }
}
