/**
 * One classification of AWS failures for the whole operator.
 *
 * The SDK reports failures in several shapes: modelled service exceptions (`name` is the AWS error
 * code, `$metadata.httpStatusCode` the status), unmodelled ones with only a status, Node network
 * errors (`code` such as ECONNRESET) and the SDK's own timeouts. The reconciler should not need to
 * know any of that: it gets an `AwsError` with a `kind` it maps to a condition reason and a
 * `retryable` hint it maps to requeue behaviour.
 */

export type AwsErrorKind =
  | 'Throttled'
  | 'AccessDenied'
  | 'NotFound'
  | 'InvalidParameter'
  | 'KMSKeyInvalid'
  | 'LimitExceeded'
  | 'Conflict'
  | 'Transient'
  | 'Unknown';

export class AwsError extends Error {
  override readonly name = 'AwsError';
  readonly kind: AwsErrorKind;
  /** AWS's error code (`RepositoryNotFoundException`), or the network/SDK code for local failures. */
  readonly code: string;
  /** The service operation that failed, e.g. `CreateRepository`. */
  readonly operation: string;
  readonly service: string;
  /**
   * True when the same request may succeed later without any change by the user (throttling,
   * network trouble, a race with another writer, a quota freed elsewhere). False when retrying
   * unchanged is pointless: bad input, missing permission, unusable KMS key.
   */
  readonly retryable: boolean;
  /** AWS's own words, with anything that looks like a credential masked. */
  readonly awsMessage: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  /**
   * Set only when the operator did not send the call at all (CLIENT_RATE_LIMITED): the time after
   * which a try may find the budget free. The controller queues the key again after it, without
   * counting a failure; the key's own backoff is for failures of the key.
   */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    kind: AwsErrorKind;
    code: string;
    service: string;
    operation: string;
    retryable: boolean;
    awsMessage: string;
    httpStatus?: number | undefined;
    requestId?: string | undefined;
    retryAfterMs?: number | undefined;
  }) {
    // No `cause`: loggers print a cause's message unredacted, and the SDK's raw error adds nothing
    // the fields below do not carry.
    super(`${init.service} ${init.operation}: ${init.awsMessage}`);
    this.kind = init.kind;
    this.code = init.code;
    this.service = init.service;
    this.operation = init.operation;
    this.retryable = init.retryable;
    this.awsMessage = init.awsMessage;
    this.httpStatus = init.httpStatus;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** The code of a call that was not sent because its account's request budget was spent. */
export const CLIENT_RATE_LIMITED = 'ClientRateLimited';

/**
 * A call the operator did not send: the client-side budget of its account, region and endpoint
 * would have made it wait longer than a worker may wait. Throttled (a Ready object stays Ready),
 * retryable, and with `retryAfterMs`. The message does not name the time, so that a status that
 * shows it stays the same from one turn to the next.
 */
export function clientRateLimited(service: string, operation: string, retryAfterMs: number): AwsError {
  return new AwsError({
    kind: 'Throttled',
    code: CLIENT_RATE_LIMITED,
    service,
    operation,
    retryable: true,
    awsMessage: 'not sent yet: the request budget of this account, region and endpoint is in use; retried when there is room',
    retryAfterMs,
  });
}

export function isAwsError(err: unknown, kind?: AwsErrorKind): err is AwsError {
  return err instanceof AwsError && (kind === undefined || err.kind === kind);
}

const KIND_BY_CODE: Record<string, AwsErrorKind> = {};
function codes(kind: AwsErrorKind, list: string[]): void {
  for (const code of list) KIND_BY_CODE[code] = kind;
}

codes('Throttled', [
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
]);
codes('AccessDenied', [
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'AuthFailure',
  'OptInRequired',
  // STS: web identity (IRSA) and AssumeRole refusals.
  'InvalidIdentityToken',
  'InvalidIdentityTokenException',
  'IDPRejectedClaim',
  'IDPRejectedClaimException',
  'RegionDisabledException',
  // ECR: an organisation's SCP-like policy refused the action.
  'BlockedByOrganizationPolicyException',
]);
codes('NotFound', [
  'RepositoryNotFoundException',
  'LifecyclePolicyNotFoundException',
  'RepositoryPolicyNotFoundException',
  'RegistryPolicyNotFoundException',
  'ImageNotFoundException',
  'LifecyclePolicyPreviewNotFoundException',
  'PullThroughCacheRuleNotFoundException',
  'TemplateNotFoundException',
  'SigningConfigurationNotFoundException',
  'ExclusionNotFoundException',
  // ECR Public: the repository has no catalog data yet.
  'RepositoryCatalogDataNotFoundException',
  // Secrets Manager: the secret is gone.
  'ResourceNotFoundException',
  'NoSuchEntity',
]);
codes('InvalidParameter', [
  'InvalidParameterException',
  'InvalidParameterValue',
  'InvalidParameterValueException',
  'InvalidTagParameterException',
  'ValidationException',
  'ValidationError',
  'MalformedPolicyDocument',
  'MalformedPolicyDocumentException',
  'PackedPolicyTooLarge',
  'PackedPolicyTooLargeException',
  // Too many tags on one repository (ECR allows 50). The fix is in the spec (fewer tags), not in
  // an account quota, and retrying unchanged cannot help: hence invalid input, not LimitExceeded.
  'TooManyTagsException',
  // A pull through cache rule's upstream: its credentials or registry, which the spec names.
  'SecretNotFoundException',
  'UnableToAccessSecretException',
  'UnableToDecryptSecretValueException',
  'UnsupportedUpstreamRegistryException',
  // ECR Public: an action the public registry does not support (outside us-east-1, for one).
  'UnsupportedCommandException',
]);
codes('KMSKeyInvalid', ['KmsException']);
codes('LimitExceeded', ['LimitExceededException', 'ServiceQuotaExceededException']);
codes('Conflict', [
  'RepositoryAlreadyExistsException',
  'RepositoryNotEmptyException',
  'LifecyclePolicyPreviewInProgressException',
  'PullThroughCacheRuleAlreadyExistsException',
  'TemplateAlreadyExistsException',
  'ExclusionAlreadyExistsException',
  // Secrets Manager: a secret of that name exists.
  'ResourceExistsException',
  'ConflictException',
]);
codes('Transient', [
  'ServerException',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'InternalServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'IDPCommunicationError',
  'IDPCommunicationErrorException',
  // The SDK's credential providers (IMDS, the ECS/EKS Pod Identity agent, a credential process,
  // the provider chain) could not produce credentials this time: an agent that did not answer, a
  // timeout, a refused connection. That is no verdict on the identity, and the next attempt often
  // succeeds; a refusal by AWS itself (STS AccessDenied, InvalidIdentityToken) keeps its own code.
  // Retried with backoff, never stalled as AccessDenied for up to 16 minutes.
  'CredentialsProviderError',
  'ProviderError',
  // Node network failures, as the SDK's own retry classification lists them.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Kinds where the same call, unchanged, can succeed later. */
const RETRYABLE: Record<AwsErrorKind, boolean> = {
  Throttled: true,
  Transient: true,
  // A quota can free up (another repository deleted) and a conflict is usually a race that the
  // next observe resolves; both deserve a retry with backoff rather than a stall.
  LimitExceeded: true,
  Conflict: true,
  // Unknown failures are retried with backoff rather than forgotten.
  Unknown: true,
  AccessDenied: false,
  NotFound: false,
  InvalidParameter: false,
  KMSKeyInvalid: false,
};

/** Credentials that expire are refreshed by the SDK; the next attempt can succeed on its own. */
const RETRYABLE_ACCESS_CODES = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  Message?: unknown;
  errno?: unknown;
  cause?: unknown;
  kmsError?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown; extendedRequestId?: unknown };
  $retryable?: { throttling?: unknown };
}

function asObject(value: unknown): ErrorLike | undefined {
  return typeof value === 'object' && value !== null ? (value as ErrorLike) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The most specific code the error carries: the AWS error code, else a network code. */
function codeOf(e: ErrorLike): string | undefined {
  const named = str(e.name);
  // A plain `Error` or the SDK's catch-all names say nothing; prefer a more specific code.
  const generic = named === undefined || named === 'Error' || named === 'Unknown' || named === 'UnknownError';
  const candidates = [generic ? undefined : named, str(e.Code), str(e.code)];
  for (const c of candidates) if (c && KIND_BY_CODE[c]) return c;
  // Network errors are sometimes wrapped one level down.
  const inner = asObject(e.cause);
  const innerCode = inner ? str(inner.code) ?? str(inner.name) : undefined;
  if (innerCode && KIND_BY_CODE[innerCode]) return innerCode;
  return candidates.find((c) => c !== undefined);
}

function kindOf(code: string | undefined, status: number | undefined, e: ErrorLike): AwsErrorKind {
  if (code === 'KmsException') {
    // ECR reports KMS trouble under one name; KMS's own throttling is not a broken key.
    const kmsError = str(e.kmsError) ?? '';
    if (/throttl/i.test(kmsError)) return 'Throttled';
    return 'KMSKeyInvalid';
  }
  const known = code ? KIND_BY_CODE[code] : undefined;
  if (known) return known;
  if (e.$retryable?.throttling === true) return 'Throttled';
  if (status === 429) return 'Throttled';
  if (status !== undefined && status >= 500) return 'Transient';
  if (status === 401 || status === 403) return 'AccessDenied';
  return 'Unknown';
}

// Access key ids (AKIA.../ASIA...), and anything following a credential-ish label in a message,
// are masked: some services echo the signed request (and with it the session token) on signature
// failures, and these messages end up in status, events and logs.
const ACCESS_KEY_ID = /\b(A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{12,}\b/g;
const LABELLED_SECRET = /((?:x-amz-security-token|security[_ -]?token|session[_ -]?token|secret[_ -]?access[_ -]?key|signature|credential)\s*[=:]\s*)[^\s,;&"']+/gi;
const LONG_OPAQUE = /[A-Za-z0-9+/=_-]{120,}/g;
const MAX_MESSAGE = 1024;

export function redactCredentials(text: string): string {
  const masked = text
    .replace(LABELLED_SECRET, '$1***')
    .replace(ACCESS_KEY_ID, (m) => `${m.slice(0, 4)}****`)
    .replace(LONG_OPAQUE, '***');
  return masked.length > MAX_MESSAGE ? `${masked.slice(0, MAX_MESSAGE)}...` : masked;
}

/**
 * Turns whatever the SDK threw into an `AwsError`. Idempotent: an `AwsError` passes through.
 * `service` only prefixes the message ("ECR CreateRepository: ...").
 */
export function classifyAwsError(err: unknown, operation: string, service = 'ECR'): AwsError {
  if (err instanceof AwsError) return err;
  const e = asObject(err) ?? { message: String(err) };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const code = codeOf(e);
  const kind = kindOf(code, status, e);
  const retryable = kind === 'AccessDenied' && code !== undefined ? RETRYABLE_ACCESS_CODES.has(code) : RETRYABLE[kind];
  const raw = str(e.message) ?? str(e.Message) ?? code ?? (status !== undefined ? `HTTP ${status}` : 'unknown error');
  return new AwsError({
    kind,
    code: code ?? (status !== undefined ? `HTTP${status}` : 'Unknown'),
    service,
    operation,
    retryable,
    awsMessage: redactCredentials(raw),
    httpStatus: status,
    requestId: str(e.$metadata?.requestId),
  });
}

/**
 * AWS error codes that mean "nothing there" where absence is a normal state, per operation: no
 * lifecycle or repository policy, a repository asked for by name or deleted that is already gone.
 * Such an answer is a successful call; the metrics hook of the AWS clients uses the same table
 * (isExpectedAbsence), so aws_api_calls_total counts it once and as a success.
 */
const EXPECTED_ABSENCE: Readonly<Record<string, string>> = {
  GetLifecyclePolicy: 'LifecyclePolicyNotFoundException',
  GetRepositoryPolicy: 'RepositoryPolicyNotFoundException',
  DeleteLifecyclePolicy: 'LifecyclePolicyNotFoundException',
  DeleteRepositoryPolicy: 'RepositoryPolicyNotFoundException',
  DeleteRepository: 'RepositoryNotFoundException',
  DescribeRepositories: 'RepositoryNotFoundException',
};

/** Whether a failed ECR call only says that what it asked about does not exist (see EXPECTED_ABSENCE). */
export function isExpectedAbsence(operation: string, err: unknown): boolean {
  const code = EXPECTED_ABSENCE[operation];
  return code !== undefined && classifyAwsError(err, operation).code === code;
}
