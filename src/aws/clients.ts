/**
 * Every AWS client the operator uses is built here and only here, so that endpoint, region, retry,
 * timeouts, the rate limit per account, region and endpoint, and call metrics are the same for all
 * of them.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import {
  createCredentialProvider,
  endpointFor,
  type AwsCredentialIdentityProvider,
  type CredentialProviderDeps,
  type CredentialSource,
  type OperatorAwsEnvironment,
  type StsClientConfig,
} from './credentials.js';
import { CLIENT_RATE_LIMITED, classifyAwsError, clientRateLimited, isAwsError, isExpectedAbsence } from './errors.js';
import { ECR_OPERATION_RATES, RateLimiterRegistry, limiterKey, type AccountLimiter, type AimdOptions } from './ratelimit.js';

export type AwsService = 'ECR' | 'STS';
export type AwsCallOutcome = 'success' | 'error';

export interface AwsClientOptions {
  /**
   * Client-side request rate per AWS account, region and endpoint: the overall cap of every
   * operation together.
   */
  requestsPerSecond: number;
  burst?: number;
  /**
   * Limits per operation under the overall cap (requests per second per account); by default
   * ECR_OPERATION_RATES. `false`: none, only the overall cap.
   */
  operationRates?: Readonly<Record<string, number>> | false;
  /** How the account's rate reacts to throttles; the AimdRate defaults unless given. */
  adaptive?: AimdOptions | false;
  /**
   * The longest a call waits for its account's budget before it is sent. A call that would wait
   * longer is not sent: it fails at once with a Throttled AwsError (code ClientRateLimited) whose
   * `retryAfterMs` says when to try again, so that the worker serves other work meanwhile.
   * Default 250 ms; Infinity waits as long as it takes.
   */
  maxRateLimitWaitMs?: number;
  /** Reports every call that was not sent for its account's budget (not reported through onCall). */
  onDeferred?: (service: AwsService, operation: string, retryAfterMs: number) => void;
  /** Attempts per call, the first included (standard retry mode). Default 3. */
  maxAttempts?: number;
  /**
   * Reports every API call once, after its retries: for metrics. An ECR answer that only says
   * "nothing there" where absence is normal (isExpectedAbsence) is reported as a success.
   */
  onCall?: (service: AwsService, operation: string, outcome: AwsCallOutcome, seconds: number) => void;
  /** How long to wait for a TCP connection. Default 3 s. */
  connectionTimeoutMs?: number;
  /** How long one attempt may take from request to full response. Default 15 s. */
  requestTimeoutMs?: number;
}

export interface AwsClientFactoryOptions extends AwsClientOptions {
  env: OperatorAwsEnvironment;
  /**
   * Shared with other factories or injected by tests (its own rate then applies, not
   * requestsPerSecond/burst); by default one per factory.
   */
  limiters?: RateLimiterRegistry;
  /** Test seams of the credential code (clock, token file reader, default chain). */
  credentialDeps?: Pick<CredentialProviderDeps, 'clock' | 'readFile' | 'defaultChain' | 'refreshBeforeMs'>;
  /** How long replaced clients stay usable for calls already in flight before they are closed. */
  retireAfterMs?: number;
}

export interface CallerIdentity {
  accountId: string;
  arn: string;
  userId: string;
}

export interface AwsSession {
  readonly key: string;
  readonly ecr: ECRClient;
  readonly sts: STSClient;
  readonly region: string;
  /** The endpoint ECR calls go to, when not AWS's own. */
  readonly endpoint?: string;
  readonly credentials: AwsCredentialIdentityProvider;
  /**
   * sts:GetCallerIdentity through the session's credentials; also records accountId. Rejects with
   * a classified AwsError.
   */
  callerIdentity(): Promise<CallerIdentity>;
  /** Known after the first successful callerIdentity(). */
  readonly accountId?: string;
  /** The budget (rate limiter) this session's ECR calls draw from: the account's once it is known. */
  ecrLimiter(): AccountLimiter;
}

const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_MAX_RATE_LIMIT_WAIT_MS = 250;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 20_000;

/** Full jitter: a random delay up to 100 ms × 2^attempt, at most 20 s (standard mode's figures for errors other than throttles). */
function retryBackoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt));
}
const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_RETIRE_AFTER_MS = 120_000;

/** 'GetCallerIdentityCommand' -> 'GetCallerIdentity'. */
function operationName(commandName: string | undefined): string {
  if (!commandName) return 'unknown';
  return commandName.endsWith('Command') ? commandName.slice(0, -'Command'.length) : commandName;
}

// The messages name no value: an endpoint URL may carry user info, and the caller knows which
// provider it asked about.
function checkEndpoint(endpoint: string | undefined): void {
  if (endpoint === undefined) return;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error('the AWS endpoint is not a URL (expected http(s)://host[:port])');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`the AWS endpoint must be an http or https URL, not ${url.protocol}`);
  }
}

interface Instrumentation {
  service: AwsService;
  limiter: () => AccountLimiter;
  maxWaitMs: number;
  onCall?: AwsClientOptions['onCall'];
  onDeferred?: AwsClientOptions['onDeferred'];
}

type Next<A, R> = (args: A) => Promise<R>;
/** Set on a call's context once one of its attempts has been sent (passed the limiter). */
const SENT = Symbol('infraOperatorSent');
type CallContext = { commandName?: string; [SENT]?: boolean };
type Middleware = <A, R>(next: Next<A, R>, context: CallContext) => Next<A, R>;

/** The two methods of the SDK's middleware stack used here, in a shape every client's stack fits. */
interface StackLike {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; priority: 'high'; override: boolean }): void;
  addRelativeTo(middleware: Middleware, options: { relation: 'after'; toMiddleware: string; name: string; override: boolean }): void;
}

/**
 * Two middlewares: the outermost one times each call (retries and credential resolution included)
 * and reports it, an expected absence of ECR (isExpectedAbsence) as a success; the one right after
 * the retry middleware takes the account's budget before every attempt, so that retries are paced
 * too, and tells the limiter how AWS answered each attempt, so that the account's rate follows what
 * AWS accepts. An attempt that would wait longer than `maxWaitMs` for the budget is not sent: it
 * fails at once (clientRateLimited, which the SDK does not retry), and a call none of whose
 * attempts was sent is reported through onDeferred, not onCall.
 */
function instrument(stack: StackLike, { service, limiter, maxWaitMs, onCall, onDeferred }: Instrumentation): void {
  const report: Middleware = (next, context) =>
    async (args) => {
      const started = performance.now();
      const operation = operationName(context.commandName);
      let outcome: AwsCallOutcome | undefined = 'error';
      try {
        const out = await next(args);
        outcome = 'success';
        return out;
      } catch (err) {
        // ECR's "nothing there" where absence is a normal state (no lifecycle policy, a repository
        // already deleted) is an answer, not trouble: counted as a success, still thrown to the
        // caller, which reads it as "absent".
        if (service === 'ECR' && isExpectedAbsence(operation, err)) outcome = 'success';
        // Never sent: no AWS call to report (an attempt sent before it was one).
        if (!context[SENT] && isAwsError(err) && err.code === CLIENT_RATE_LIMITED && err.operation === operation) {
          outcome = undefined;
          const retryAfterMs = err.retryAfterMs ?? 0;
          try {
            onDeferred?.(service, operation, retryAfterMs);
          } catch {
            /* ignored on purpose */
          }
        }
        throw err;
      } finally {
        // A metrics hook must never turn a successful AWS call into a failure.
        try {
          if (outcome !== undefined) onCall?.(service, operation, outcome, (performance.now() - started) / 1000);
        } catch {
          /* ignored on purpose */
        }
      }
    };
  const pace: Middleware = (next, context) => {
    const operation = operationName(context.commandName);
    return async (args) => {
      const account = limiter();
      const deferral = await account.acquireWithin(maxWaitMs, operation);
      // Thrown before the try: a request not sent is no answer of AWS for the adaptive rate.
      if (deferral) throw clientRateLimited(service, operation, deferral.retryAfterMs);
      context[SENT] = true;
      try {
        const out = await next(args);
        account.answered(operation, false);
        return out;
      } catch (err) {
        account.answered(operation, isThrottle(err));
        throw err;
      }
    };
  };
  stack.add(report, { step: 'initialize', name: 'infraOperatorCallReport', priority: 'high', override: true });
  stack.addRelativeTo(pace, { relation: 'after', toMiddleware: 'retryMiddleware', name: 'infraOperatorRateLimit', override: true });
}

/** A throttled answer: AWS's word that the account (or the operation) is over its rate. */
function isThrottle(err: unknown): boolean {
  return classifyAwsError(err, 'unknown').kind === 'Throttled';
}

interface SessionEntry {
  fingerprint: string;
  session: AwsSession;
  close(): void;
}

export class AwsClientFactory {
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly limiters: RateLimiterRegistry;
  private readonly retiring = new Set<ReturnType<typeof setTimeout>>();
  private readonly pendingClose = new Set<() => void>();

  constructor(private readonly opts: AwsClientFactoryOptions) {
    this.limiters = opts.limiters ?? new RateLimiterRegistry({
      requestsPerSecond: opts.requestsPerSecond,
      ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
      ...(opts.operationRates === false ? {} : { operationRates: opts.operationRates ?? ECR_OPERATION_RATES }),
      ...(opts.adaptive !== undefined ? { adaptive: opts.adaptive } : {}),
    });
  }

  /**
   * The limiter for a key (limiterKey of an account, region and endpoint): exposed so that other
   * callers to the same account and endpoint can share it.
   */
  limiterFor(accountKey: string): AccountLimiter {
    return this.limiters.limiterFor(accountKey);
  }

  /**
   * One cached session per key, rebuilt when the fingerprint changes. The fingerprint covers secret
   * values: it must never be logged.
   */
  session(key: string, fingerprint: string, source: CredentialSource): AwsSession {
    const cached = this.sessions.get(key);
    if (cached?.fingerprint === fingerprint) return cached.session;
    const entry = this.build(key, fingerprint, source);
    if (cached) this.retire(cached);
    this.sessions.set(key, entry);
    return entry.session;
  }

  /** Forgets a session (its provider is gone); its clients close once calls in flight are done. */
  drop(key: string): void {
    const cached = this.sessions.get(key);
    if (!cached) return;
    this.sessions.delete(key);
    this.retire(cached);
    this.limiters.forget(key);
  }

  /** Closes every client now: for shutdown, after in-flight work has finished. */
  close(): void {
    for (const timer of this.retiring) clearTimeout(timer);
    this.retiring.clear();
    for (const closeRetired of this.pendingClose) closeRetired();
    this.pendingClose.clear();
    for (const entry of this.sessions.values()) entry.close();
    this.sessions.clear();
  }

  private retire(entry: SessionEntry): void {
    // Another reconcile may still be in a call on the old clients; closing their connections now
    // would fail it for no reason.
    const timer = setTimeout(() => {
      this.retiring.delete(timer);
      this.pendingClose.delete(entry.close);
      entry.close();
    }, this.opts.retireAfterMs ?? DEFAULT_RETIRE_AFTER_MS);
    timer.unref();
    this.retiring.add(timer);
    this.pendingClose.add(entry.close);
  }

  private clientConfig(region: string, endpoint: string | undefined) {
    return {
      region,
      ...(endpoint ? { endpoint } : {}),
      // Standard retries (a retry quota, no client-side rate of its own) with one backoff for every
      // retryable error: the account's limiter (see ratelimit.ts) paces every attempt and reacts to
      // throttles, so the longer backoff standard mode gives a throttle would only add latency.
      retryStrategy: new ConfiguredRetryStrategy(this.opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, retryBackoffMs),
      requestHandler: {
        connectionTimeout: this.opts.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
        requestTimeout: this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        // Without this the handler only warns when a response is late and keeps waiting.
        throwOnRequestTimeout: true,
      },
    };
  }

  private build(key: string, fingerprint: string, source: CredentialSource): SessionEntry {
    const env = this.opts.env;
    const ecrEndpoint = endpointFor('ECR', source, env);
    const stsEndpoint = endpointFor('STS', source, env);
    // Rejected here, once, rather than by the SDK on every call with a less helpful message.
    if (!source.region?.trim()) throw new Error('an AWS region is required');
    checkEndpoint(ecrEndpoint);
    checkEndpoint(stsEndpoint);

    const clients: Array<{ destroy(): void }> = [];
    // Calls are paced per account, region and endpoint. Until the account is known, a session
    // paces itself under its own key.
    let accountId: string | undefined;
    const limiterOf = (service: AwsService, region: string, endpoint: string | undefined) =>
      () => this.limiters.limiterFor(accountId === undefined ? key : limiterKey({ accountId, region, service, endpoint }));
    const { onCall, onDeferred } = this.opts;
    const maxWaitMs = this.opts.maxRateLimitWaitMs ?? DEFAULT_MAX_RATE_LIMIT_WAIT_MS;
    const hooks = { maxWaitMs, ...(onCall ? { onCall } : {}), ...(onDeferred ? { onDeferred } : {}) };

    const stsFor = (config: StsClientConfig): STSClient => {
      const client = new STSClient({
        ...this.clientConfig(config.region, config.endpoint),
        ...(config.credentials ? { credentials: config.credentials } : {}),
      });
      instrument(client.middlewareStack, { service: 'STS', limiter: limiterOf('STS', config.region, config.endpoint), ...hooks });
      clients.push(client);
      return client;
    };

    const credentials = createCredentialProvider(source, {
      env,
      stsClientFactory: stsFor,
      defaultChain: this.opts.credentialDeps?.defaultChain ?? ((where) => fromNodeProviderChain({
        // The chain's own STS client (IRSA: AssumeRoleWithWebIdentity for AWS_ROLE_ARN) gets the
        // same endpoint, timeouts, retries, pacing and metrics as every other client.
        clientConfig: this.clientConfig(where.region, where.endpoint),
        clientPlugins: [{ applyToStack: (stack) => instrument(stack, { service: 'STS', limiter: limiterOf('STS', where.region, where.endpoint), ...hooks }) }],
      })),
      ...(this.opts.credentialDeps?.clock ? { clock: this.opts.credentialDeps.clock } : {}),
      ...(this.opts.credentialDeps?.readFile ? { readFile: this.opts.credentialDeps.readFile } : {}),
      ...(this.opts.credentialDeps?.refreshBeforeMs !== undefined ? { refreshBeforeMs: this.opts.credentialDeps.refreshBeforeMs } : {}),
    });

    const ecr = new ECRClient({ ...this.clientConfig(source.region, ecrEndpoint), credentials });
    const ecrLimiter = limiterOf('ECR', source.region, ecrEndpoint);
    instrument(ecr.middlewareStack, { service: 'ECR', limiter: ecrLimiter, ...hooks });
    clients.push(ecr);
    const sts = stsFor({ region: source.region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}), credentials });

    const session: AwsSession = {
      key,
      ecr,
      sts,
      region: source.region,
      ...(ecrEndpoint ? { endpoint: ecrEndpoint } : {}),
      credentials,
      get accountId() {
        return accountId;
      },
      ecrLimiter,
      async callerIdentity() {
        let out;
        try {
          out = await sts.send(new GetCallerIdentityCommand({}));
        } catch (err) {
          // Failures to obtain credentials (AssumeRole refused, STS unreachable) surface here too.
          throw classifyAwsError(err, 'GetCallerIdentity', 'STS');
        }
        if (!out.Account || !out.Arn) throw new Error('sts:GetCallerIdentity returned no account');
        accountId = out.Account;
        return { accountId: out.Account, arn: out.Arn, userId: out.UserId ?? '' };
      },
    };
    return {
      fingerprint,
      session,
      close: () => {
        for (const client of clients) client.destroy();
      },
    };
  }
}
