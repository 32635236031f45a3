/**
 * AWS Secrets Manager, for the secrets that hold a pull through cache rule's upstream credentials:
 * read one, create one with tags, replace its value, tag it, delete it. It decides nothing: the
 * ECRPullThroughCacheRule kind says which secret and what value.
 *
 * Only objects that keep credentials in a secret need this service, so its client is built here,
 * apart from the session's ECR and STS clients (clients.ts), the first time such an object of a
 * provider is reconciled, with that session's own credentials and region. Its endpoint is the
 * provider's spec.endpoint when it names one (the tenancy policy already allowed it for this
 * session), otherwise the SDK's own resolution (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL,
 * or AWS). Calls are paced per account, region and endpoint under their own key, and each is
 * reported once through `onCall` under the service name SecretsManager.
 *
 * A secret's value is a credential: it is returned to the caller and sent to AWS, never put in an
 * error message, a log line or a metric. AWS's error messages name the secret, not its value.
 * Every failure leaves here as an `AwsError` (errors.ts).
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { AwsSession } from './clients.js';
import { classifyAwsError, isAwsError } from './errors.js';
import { limiterKey } from './ratelimit.js';

/** The service label of Secrets Manager calls in metrics, error messages and limiter keys. */
export const SECRETS_MANAGER_SERVICE = 'SecretsManager';

/** Secrets Manager's code for a secret that does not exist (or is scheduled for deletion, for reads). */
export const SECRET_NOT_FOUND = 'ResourceNotFoundException';
/** Secrets Manager's code for a CreateSecret whose name is taken. */
export const SECRET_EXISTS = 'ResourceExistsException';

export interface LiveSecret {
  arn: string;
  name: string;
  tags: Record<string, string>;
  /** Set while the secret is scheduled for deletion: it cannot be read or written until restored. */
  deletedDate?: Date;
}

/** The part of an account limiter used here; aws/ratelimit.ts's AccountLimiter fits. */
export interface CallLimiter {
  acquire(operation?: string): Promise<void>;
  answered(operation: string, throttled: boolean): void;
}

export interface SecretsManagerClientsOptions {
  /** The limiter of a key (limiterKey of account, region and endpoint); none: calls are not paced. */
  limiterFor?: (key: string) => CallLimiter;
  /** Reports every call once, after its retries: for metrics. */
  onCall?: (service: string, operation: string, outcome: 'success' | 'error', seconds: number) => void;
  /** Attempts per call, the first included. Default 3. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long a replaced client stays usable for calls in flight. Default 2 minutes. */
  retireAfterMs?: number;
}

type Send = Pick<SecretsManagerClient, 'send'>;

export class SecretsGateway {
  constructor(private readonly client: Send) {}

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyAwsError(err, operation, SECRETS_MANAGER_SERVICE);
    }
  }

  /** The secret (name or ARN), or undefined when there is none of that name. */
  async describe(secretId: string): Promise<LiveSecret | undefined> {
    let out;
    try {
      out = await this.call('DescribeSecret', () => this.client.send(new DescribeSecretCommand({ SecretId: secretId })));
    } catch (err) {
      if (isAwsError(err) && err.code === SECRET_NOT_FOUND) return undefined;
      throw err;
    }
    const tags: Record<string, string> = {};
    for (const t of out.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
    return {
      arn: out.ARN ?? '',
      name: out.Name ?? secretId,
      tags,
      ...(out.DeletedDate ? { deletedDate: out.DeletedDate } : {}),
    };
  }

  /** The secret's current string value, or undefined when it has none or does not exist. */
  async value(secretId: string): Promise<string | undefined> {
    try {
      const out = await this.call('GetSecretValue', () => this.client.send(new GetSecretValueCommand({ SecretId: secretId })));
      return out.SecretString;
    } catch (err) {
      if (isAwsError(err) && err.code === SECRET_NOT_FOUND) return undefined;
      throw err;
    }
  }

  /** Creates the secret with its value and tags in one call, so that it never exists untagged. */
  async create(name: string, value: string, tags: Record<string, string>, description: string): Promise<{ arn: string }> {
    const out = await this.call('CreateSecret', () => this.client.send(new CreateSecretCommand({
      Name: name,
      Description: description,
      SecretString: value,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    })));
    return { arn: out.ARN ?? '' };
  }

  /** Makes `value` the secret's current value (a new version). */
  async putValue(secretId: string, value: string): Promise<void> {
    await this.call('PutSecretValue', () => this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value })));
  }

  async tag(secretId: string, tags: Record<string, string>): Promise<void> {
    await this.call('TagResource', () => this.client.send(new TagResourceCommand({
      SecretId: secretId,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    })));
  }

  /**
   * Deletes the secret at once, without a recovery window: the operator's copy of a Kubernetes
   * Secret, which stays the source. A secret that is already gone is fine.
   */
  async delete(secretId: string): Promise<void> {
    try {
      await this.call('DeleteSecret', () => this.client.send(new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true })));
    } catch (err) {
      if (!(isAwsError(err) && err.code === SECRET_NOT_FOUND)) throw err;
    }
  }
}

interface Entry {
  session: AwsSession;
  endpoint: string | undefined;
  client: SecretsManagerClient;
  gateway: SecretsGateway;
}

/** 'GetSecretValueCommand' -> 'GetSecretValue'. */
function operationName(commandName: string | undefined): string {
  if (!commandName) return 'unknown';
  return commandName.endsWith('Command') ? commandName.slice(0, -'Command'.length) : commandName;
}

type Next<A, R> = (args: A) => Promise<R>;
type Middleware = <A, R>(next: Next<A, R>, context: { commandName?: string }) => Next<A, R>;
interface StackLike {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; priority: 'high'; override: boolean }): void;
  addRelativeTo(middleware: Middleware, options: { relation: 'after'; toMiddleware: string; name: string; override: boolean }): void;
}

/** Full jitter up to 100 ms × 2^attempt, at most 20 s: the session clients' backoff. */
function retryBackoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(20_000, 100 * 2 ** attempt));
}

/** One Secrets Manager client per provider session, built when an object of that provider first needs one. */
export class SecretsManagerClients {
  private readonly entries = new Map<string, Entry>();
  private readonly retiring = new Set<{ timer: ReturnType<typeof setTimeout>; client: SecretsManagerClient }>();

  constructor(private readonly opts: SecretsManagerClientsOptions = {}) {}

  /** The gateway for a session; `providerEndpoint` is the provider's own spec.endpoint, when it has one. */
  gateway(session: AwsSession, providerEndpoint?: string): SecretsGateway {
    const endpoint = providerEndpoint?.trim() || undefined;
    const cached = this.entries.get(session.key);
    if (cached && cached.session === session && cached.endpoint === endpoint) return cached.gateway;
    if (cached) this.retire(cached.client);
    const client = this.build(session, endpoint);
    const entry: Entry = { session, endpoint, client, gateway: new SecretsGateway(client) };
    this.entries.set(session.key, entry);
    return entry.gateway;
  }

  /** Closes every client now: for shutdown. */
  close(): void {
    for (const { timer, client } of this.retiring) {
      clearTimeout(timer);
      client.destroy();
    }
    this.retiring.clear();
    for (const entry of this.entries.values()) entry.client.destroy();
    this.entries.clear();
  }

  private retire(client: SecretsManagerClient): void {
    const item = {
      client,
      timer: setTimeout(() => {
        this.retiring.delete(item);
        client.destroy();
      }, this.opts.retireAfterMs ?? 120_000),
    };
    item.timer.unref();
    this.retiring.add(item);
  }

  private build(session: AwsSession, endpoint: string | undefined): SecretsManagerClient {
    const client = new SecretsManagerClient({
      region: session.region,
      ...(endpoint ? { endpoint } : {}),
      credentials: session.credentials,
      retryStrategy: new ConfiguredRetryStrategy(this.opts.maxAttempts ?? 3, retryBackoffMs),
      requestHandler: {
        connectionTimeout: this.opts.connectionTimeoutMs ?? 3_000,
        requestTimeout: this.opts.requestTimeoutMs ?? 15_000,
        throwOnRequestTimeout: true,
      },
    });
    const { onCall, limiterFor } = this.opts;
    const stack = client.middlewareStack as unknown as StackLike;
    stack.add(
      (next, context) => async (args) => {
        const started = performance.now();
        const operation = operationName(context.commandName);
        let outcome: 'success' | 'error' = 'error';
        try {
          const out = await next(args);
          outcome = 'success';
          return out;
        } finally {
          try {
            onCall?.(SECRETS_MANAGER_SERVICE, operation, outcome, (performance.now() - started) / 1000);
          } catch {
            /* a metrics hook never fails a call */
          }
        }
      },
      { step: 'initialize', name: 'infraOperatorSecretsManagerCallReport', priority: 'high', override: true },
    );
    if (limiterFor) {
      // Per account once the session knows it (until then under the session's own key), and apart
      // from ECR's budget: Secrets Manager has its own quotas.
      const key = () => session.accountId === undefined
        ? `${session.key}|${SECRETS_MANAGER_SERVICE.toLowerCase()}`
        : limiterKey({ accountId: session.accountId, region: session.region, service: SECRETS_MANAGER_SERVICE, endpoint });
      stack.addRelativeTo(
        (next, context) => async (args) => {
          const operation = `secretsmanager:${operationName(context.commandName)}`;
          const limiter = limiterFor(key());
          await limiter.acquire(operation);
          try {
            const out = await next(args);
            limiter.answered(operation, false);
            return out;
          } catch (err) {
            limiter.answered(operation, classifyAwsError(err, operation, SECRETS_MANAGER_SERVICE).kind === 'Throttled');
            throw err;
          }
        },
        { relation: 'after', toMiddleware: 'retryMiddleware', name: 'infraOperatorSecretsManagerRateLimit', override: true },
      );
    }
    return client;
  }
}
