/**
 * Where an AWSProvider's credentials come from: the provider's own (static keys, or a web-identity
 * token of its own ServiceAccount, each optionally with roleARN) or the operator's (its web-identity
 * token or the SDK's default chain). Knows no Kubernetes: the caller resolves Secrets and tokens and
 * passes plain values or functions in. Whether the operator's identity may be used at all is decided
 * by the caller (providers/identity.ts); this module only guarantees that it never goes to an
 * endpoint the provider named.
 */
import { createHash } from 'node:crypto';
import { classifyAwsError } from './errors.js';
import { readFile as fsReadFile } from 'node:fs/promises';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  type AssumedRoleUser,
  type Credentials as StsCredentials,
  type STSClientConfig,
} from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';

// The SDK's identity types, taken from the client's own config type so that this module needs no
// package beyond the ones the project depends on.
export type AwsCredentialIdentityProvider = Extract<NonNullable<STSClientConfig['credentials']>, (...args: never[]) => unknown>;
export type AwsCredentialIdentity = Awaited<ReturnType<AwsCredentialIdentityProvider>>;

export interface StaticKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A web-identity token that belongs to the provider itself (its own ServiceAccount's). */
export interface ProviderWebIdentity {
  /** Who the token is for (`<namespace>/<serviceaccount>`): part of the fingerprint, never the token. */
  subject: string;
  /** A fresh token; called on every renewal of the credentials. */
  token: () => Promise<string>;
}

/** One AWSProvider's spec with its Secrets already resolved. */
export interface CredentialSource {
  region: string;
  /** The provider's own endpoint (spec.endpoint): the operator's identity is never used with it. */
  endpoint?: string;
  staticKeys?: StaticKeys;
  /** With roleArn: AssumeRoleWithWebIdentity with this token instead of any identity of the operator. */
  webIdentity?: ProviderWebIdentity;
  roleArn?: string;
  externalId?: string;
  /** The caller passes its default (`infra-operator-<namespace>-<name>`); without it, 'infra-operator'. */
  sessionName?: string;
}

/** What the operator's own process environment says about AWS (read once, passed in). */
export interface OperatorAwsEnvironment {
  /** AWS_WEB_IDENTITY_TOKEN_FILE: present under IRSA. */
  webIdentityTokenFile?: string;
  /** AWS_ROLE_ARN as EKS injects it: the operator's own role, used by the default chain. */
  roleArn?: string;
  /** AWS_ENDPOINT_URL: applies to every service unless a provider names its own endpoint. */
  endpoint?: string;
  /** AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL_STS: the SDK's per-service overrides of AWS_ENDPOINT_URL. */
  serviceEndpoints?: { ECR?: string; STS?: string };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

export function operatorAwsEnvironment(env: NodeJS.ProcessEnv = process.env): OperatorAwsEnvironment {
  // The SDK's own switch to ignore configured endpoints; we build clients with explicit endpoints,
  // so we have to honour it ourselves.
  const ignoreEndpoints = nonEmpty(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)?.toLowerCase() === 'true';
  const out: OperatorAwsEnvironment = {};
  const tokenFile = nonEmpty(env.AWS_WEB_IDENTITY_TOKEN_FILE);
  if (tokenFile) out.webIdentityTokenFile = tokenFile;
  const roleArn = nonEmpty(env.AWS_ROLE_ARN);
  if (roleArn) out.roleArn = roleArn;
  if (!ignoreEndpoints) {
    const endpoint = nonEmpty(env.AWS_ENDPOINT_URL);
    if (endpoint) out.endpoint = endpoint;
    const ecr = nonEmpty(env.AWS_ENDPOINT_URL_ECR);
    const sts = nonEmpty(env.AWS_ENDPOINT_URL_STS);
    if (ecr || sts) out.serviceEndpoints = { ...(ecr ? { ECR: ecr } : {}), ...(sts ? { STS: sts } : {}) };
  }
  return out;
}

/** The endpoint a client of `service` uses: the provider's, else the operator's environment, else AWS. */
export function endpointFor(service: 'ECR' | 'STS', source: Pick<CredentialSource, 'endpoint'>, env: OperatorAwsEnvironment): string | undefined {
  return nonEmpty(source.endpoint) ?? env.serviceEndpoints?.[service] ?? env.endpoint;
}

export const DEFAULT_SESSION_NAME = 'infra-operator';

/**
 * STS accepts role session names of 2-64 characters from [\w+=,.@-]; a namespace/name pair can be
 * longer or (in theory) contain other characters, and a bad name would fail every AssumeRole.
 */
export function roleSessionName(name: string | undefined): string {
  const cleaned = (nonEmpty(name) ?? DEFAULT_SESSION_NAME).replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return cleaned.length >= 2 ? cleaned : DEFAULT_SESSION_NAME;
}

/** How credentials for a source are obtained; decided from the source and environment alone. */
export type CredentialPlan =
  | { kind: 'static' }
  | { kind: 'assumeRole'; base: 'static' | 'defaultChain' }
  /** The provider's own token (its ServiceAccount's). */
  | { kind: 'providerWebIdentity' }
  /** The operator's own token (IRSA). */
  | { kind: 'webIdentity'; tokenFile: string }
  | { kind: 'defaultChain' };

/** The plan would use the operator's own identity with an endpoint the provider named. */
export class OperatorIdentityRefusedError extends Error {
  constructor() {
    super("the operator's own identity is never used with a provider's own endpoint; the provider needs credentials of its own");
    this.name = 'OperatorIdentityRefusedError';
  }
}

/** Whether a plan acts as the operator (its token, its default chain) rather than as the provider. */
export function usesOperatorIdentity(plan: CredentialPlan): boolean {
  return plan.kind === 'defaultChain' || plan.kind === 'webIdentity' || (plan.kind === 'assumeRole' && plan.base === 'defaultChain');
}

/**
 * The provider's own credentials come first: its static keys (then roleARN is assumed with them), or
 * its own web-identity token for roleARN. Only without either is the operator's identity used: with
 * roleARN, its web-identity token (IRSA: one STS call, no chaining through the operator's role) or
 * AssumeRole from its default chain; without, the default chain itself. Throws
 * OperatorIdentityRefusedError when that would happen with the provider's own endpoint.
 */
export function planCredentials(source: CredentialSource, env: OperatorAwsEnvironment): CredentialPlan {
  const roleArn = nonEmpty(source.roleArn);
  let plan: CredentialPlan;
  if (source.webIdentity) {
    if (!roleArn) throw new Error('a web-identity token needs a role to assume');
    plan = { kind: 'providerWebIdentity' };
  } else if (source.staticKeys) {
    plan = roleArn ? { kind: 'assumeRole', base: 'static' } : { kind: 'static' };
  } else if (!roleArn) {
    plan = { kind: 'defaultChain' };
  } else if (env.webIdentityTokenFile) {
    plan = { kind: 'webIdentity', tokenFile: env.webIdentityTokenFile };
  } else {
    plan = { kind: 'assumeRole', base: 'defaultChain' };
  }
  if (usesOperatorIdentity(plan) && nonEmpty(source.endpoint)) throw new OperatorIdentityRefusedError();
  return plan;
}

/** Where and as whom an STS client for credential calls talks. */
export interface StsClientConfig {
  region: string;
  endpoint?: string;
  /** NO_CREDENTIALS for AssumeRoleWithWebIdentity, which is not signed. */
  credentials?: AwsCredentialIdentityProvider;
}

/** The part of an STS client the credential code uses; a real STSClient fits, and so does a small fake. */
export interface StsCredentialsApi {
  send(command: AssumeRoleCommand | AssumeRoleWithWebIdentityCommand): Promise<{ Credentials?: StsCredentials; AssumedRoleUser?: AssumedRoleUser }>;
}

export type StsClientFactory = (config: StsClientConfig) => StsCredentialsApi;

export interface CredentialProviderDeps {
  env: OperatorAwsEnvironment;
  stsClientFactory?: StsClientFactory;
  /** The operator's base credentials when the provider has no keys; defaults to the SDK's node chain. */
  defaultChain?: (config: { region: string; endpoint?: string }) => AwsCredentialIdentityProvider;
  /** Milliseconds since the epoch (credential expirations are wall-clock times). */
  clock?: () => number;
  readFile?: (path: string) => Promise<string>;
  /** How long before Expiration temporary credentials are renewed. */
  refreshBeforeMs?: number;
}

export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/**
 * The SDK's clients memoize the identity a provider returns and ask the provider again only when it
 * expires within this window (@smithy/core's EXPIRATION_MS). A larger renewal margin would never take
 * effect, so the expiration handed out is moved earlier by the difference: the SDK then asks exactly
 * when the margin says.
 */
const SDK_IDENTITY_WINDOW_MS = 5 * 60_000;
/** Credentials this close to expiry are not handed out even when renewing them failed. */
const USABLE_MARGIN_MS = 30_000;

/**
 * The credentials of an STS client that makes only unsigned calls (AssumeRoleWithWebIdentity): without
 * them the SDK would fall back to its default chain, the operator's identity, if a call were signed.
 */
export const NO_CREDENTIALS: AwsCredentialIdentityProvider = async () => {
  throw new Error('this STS client makes unsigned calls only');
};

function defaultStsClientFactory(config: StsClientConfig): StsCredentialsApi {
  return new STSClient({ region: config.region, endpoint: config.endpoint, credentials: config.credentials });
}

function defaultChain(config: { region: string; endpoint?: string }): AwsCredentialIdentityProvider {
  // The chain's own STS calls (IRSA's AssumeRoleWithWebIdentity for AWS_ROLE_ARN) go to the same
  // region and endpoint as the provider's, so a local endpoint works without any AWS access.
  return fromNodeProviderChain({ clientConfig: { region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) } });
}

function toIdentity(operation: string, out: { Credentials?: StsCredentials; AssumedRoleUser?: AssumedRoleUser }): AwsCredentialIdentity {
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`sts:${operation} returned no credentials`);
  // arn:aws:sts::<account>:assumed-role/<role>/<session>
  const accountId = out.AssumedRoleUser?.Arn?.split(':')[4];
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
    ...(c.Expiration ? { expiration: c.Expiration } : {}),
    ...(accountId ? { accountId } : {}),
  };
}

/**
 * Memoizes a credential fetch: one fetch at a time however many requests wait (single flight), renewed
 * `refreshBeforeMs` before expiry so that no request is signed with credentials about to lapse. If
 * renewal fails while the cached credentials are still good, they are used and renewal is retried
 * on the next call: a short STS outage must not stop work that the old credentials can still do.
 */
export function refreshingProvider(
  fetch: () => Promise<AwsCredentialIdentity>,
  clock: () => number = Date.now,
  refreshBeforeMs: number = REFRESH_BEFORE_EXPIRY_MS,
): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  /** `current` as handed out: its expiration moved to when the SDK's cache must ask again. */
  let handedOut: AwsCredentialIdentity | undefined;
  let inflight: Promise<AwsCredentialIdentity> | undefined;
  const remaining = (c: AwsCredentialIdentity) => (c.expiration ? c.expiration.getTime() - clock() : Infinity);
  const forSdk = (c: AwsCredentialIdentity): AwsCredentialIdentity => {
    if (!c.expiration || refreshBeforeMs <= SDK_IDENTITY_WINDOW_MS) return c;
    return { ...c, expiration: new Date(c.expiration.getTime() - (refreshBeforeMs - SDK_IDENTITY_WINDOW_MS)) };
  };

  return async (props?: Record<string, unknown>) => {
    if (current && handedOut && !props?.forceRefresh && remaining(current) > refreshBeforeMs) return handedOut;
    if (!inflight) {
      inflight = fetch().then(
        (fresh) => {
          current = fresh;
          handedOut = forSdk(fresh);
          inflight = undefined;
          return handedOut;
        },
        (err: unknown) => {
          inflight = undefined;
          throw err;
        },
      );
    }
    try {
      return await inflight;
    } catch (err) {
      if (current && handedOut && remaining(current) > USABLE_MARGIN_MS) return handedOut;
      throw err;
    }
  };
}

/**
 * The credentials of one provider, memoized and renewed before they expire. STS calls go to the
 * provider's endpoint (else the operator's AWS_ENDPOINT_URL) in the provider's region.
 */
export function createCredentialProvider(source: CredentialSource, deps: CredentialProviderDeps): AwsCredentialIdentityProvider {
  const env = deps.env;
  const clock = deps.clock ?? Date.now;
  const stsFactory = deps.stsClientFactory ?? defaultStsClientFactory;
  const readFile = deps.readFile ?? ((path: string) => fsReadFile(path, 'utf8'));
  const region = source.region;
  const stsEndpoint = endpointFor('STS', source, env);
  const where = { region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) };
  const sessionName = roleSessionName(source.sessionName);
  const plan = planCredentials(source, env);

  const staticProvider = (keys: StaticKeys): AwsCredentialIdentityProvider => {
    // Copied so that later changes to the caller's object cannot change a live session's identity.
    const identity: AwsCredentialIdentity = {
      accessKeyId: keys.accessKeyId,
      secretAccessKey: keys.secretAccessKey,
      ...(keys.sessionToken ? { sessionToken: keys.sessionToken } : {}),
    };
    return async () => identity;
  };
  const chain = () => (deps.defaultChain ?? defaultChain)(where);

  switch (plan.kind) {
    case 'static':
      return staticProvider(source.staticKeys as StaticKeys);
    case 'defaultChain':
      // The SDK's chain memoizes and renews by itself.
      return chain();
    case 'assumeRole': {
      const base = plan.base === 'static' ? staticProvider(source.staticKeys as StaticKeys) : chain();
      const sts = stsFactory({ ...where, credentials: base });
      const roleArn = (source.roleArn as string).trim();
      const externalId = nonEmpty(source.externalId);
      return refreshingProvider(
        async () => toIdentity('AssumeRole', await stsCall('AssumeRole', () => sts.send(new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName,
          ...(externalId ? { ExternalId: externalId } : {}),
        })))),
        clock,
        deps.refreshBeforeMs,
      );
    }
    case 'webIdentity':
    case 'providerWebIdentity': {
      const sts = stsFactory({ ...where, credentials: NO_CREDENTIALS });
      const roleArn = (source.roleArn as string).trim();
      const readToken = plan.kind === 'webIdentity'
        ? async () => {
          // Read on every renewal: the kubelet rotates the projected token file.
          const token = (await readFile(plan.tokenFile)).trim();
          if (!token) throw new Error(`web identity token file ${plan.tokenFile} is empty`);
          return token;
        }
        : async () => {
          const token = (await (source.webIdentity as ProviderWebIdentity).token()).trim();
          if (!token) throw new Error(`the token of ${(source.webIdentity as ProviderWebIdentity).subject} is empty`);
          return token;
        };
      return refreshingProvider(
        async () => {
          const token = await readToken();
          return toIdentity('AssumeRoleWithWebIdentity', await stsCall('AssumeRoleWithWebIdentity', () => sts.send(new AssumeRoleWithWebIdentityCommand({
            RoleArn: roleArn,
            RoleSessionName: sessionName,
            WebIdentityToken: token,
          }))));
        },
        clock,
        deps.refreshBeforeMs,
      );
    }
  }
}

/**
 * Classifies a failed credential call under its own operation, so that the call that needed the
 * credentials (GetCallerIdentity, CreateRepository, ...) reports "AssumeRole was denied" rather than
 * a failure of its own.
 */
async function stsCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classifyAwsError(err, operation, 'STS');
  }
}

/**
 * A digest of everything that decides a session's identity, secret values included, so that a
 * rotated Secret yields a new session. Only the digest is kept; it must still never be logged,
 * because a digest of a short secret can be guessed offline.
 */
export function sourceFingerprint(source: CredentialSource): string {
  const canonical = JSON.stringify([
    source.region,
    source.endpoint ?? null,
    source.roleArn ?? null,
    source.externalId ?? null,
    source.sessionName ?? null,
    source.staticKeys ? [source.staticKeys.accessKeyId, source.staticKeys.secretAccessKey, source.staticKeys.sessionToken ?? null] : null,
    source.webIdentity?.subject ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
