import {
  InvalidParameterException,
  InvalidTagParameterException,
  KmsException,
  LifecyclePolicyNotFoundException,
  LimitExceededException,
  RepositoryAlreadyExistsException,
  RepositoryNotEmptyException,
  RepositoryNotFoundException,
  RepositoryPolicyNotFoundException,
  ServerException,
  TooManyTagsException,
  ValidationException,
} from '@aws-sdk/client-ecr';
import { ExpiredTokenException } from '@aws-sdk/client-sts';
import { fromHttp } from '@aws-sdk/credential-providers';
import { CredentialsProviderError, ProviderError } from '@smithy/core/config';
import { describe, expect, it } from 'vitest';
import { AwsError, classifyAwsError, clientRateLimited, isAwsError, isExpectedAbsence, redactCredentials, type AwsErrorKind } from '../../../src/aws/errors.js';

const meta = (status: number) => ({ $metadata: { httpStatusCode: status, requestId: 'req-1' } });

/** An error shaped as the SDK builds one for an error code it has no class for. */
function sdkError(name: string, status: number, message = `${name} happened`): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', ...meta(status) });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe('classifyAwsError', () => {
  const cases: [string, unknown, AwsErrorKind, boolean][] = [
    ['ThrottlingException', sdkError('ThrottlingException', 400), 'Throttled', true],
    ['TooManyRequestsException', sdkError('TooManyRequestsException', 429), 'Throttled', true],
    ['RequestLimitExceeded', sdkError('RequestLimitExceeded', 503), 'Throttled', true],
    ['ProvisionedThroughputExceeded', sdkError('ProvisionedThroughputExceeded', 400), 'Throttled', true],
    ['bare 429', sdkError('Unknown', 429), 'Throttled', true],
    ['SDK throttling trait', Object.assign(sdkError('SomethingNew', 400), { $retryable: { throttling: true } }), 'Throttled', true],
    ['AccessDeniedException', sdkError('AccessDeniedException', 400), 'AccessDenied', false],
    ['AccessDenied (STS)', sdkError('AccessDenied', 403), 'AccessDenied', false],
    ['UnauthorizedOperation', sdkError('UnauthorizedOperation', 403), 'AccessDenied', false],
    ['InvalidClientTokenId', sdkError('InvalidClientTokenId', 403), 'AccessDenied', false],
    ['SignatureDoesNotMatch', sdkError('SignatureDoesNotMatch', 403), 'AccessDenied', false],
    ['UnrecognizedClientException', sdkError('UnrecognizedClientException', 400), 'AccessDenied', false],
    ['ExpiredToken is retried after refresh', sdkError('ExpiredToken', 400), 'AccessDenied', true],
    ['STS ExpiredTokenException class', new ExpiredTokenException({ message: 'token expired', ...meta(400) }), 'AccessDenied', true],
    ['bare 403', sdkError('Unknown', 403), 'AccessDenied', false],
    ['RepositoryNotFoundException', new RepositoryNotFoundException({ message: 'no repo', ...meta(400) }), 'NotFound', false],
    ['LifecyclePolicyNotFoundException', new LifecyclePolicyNotFoundException({ message: 'no policy', ...meta(400) }), 'NotFound', false],
    ['RepositoryPolicyNotFoundException', new RepositoryPolicyNotFoundException({ message: 'no policy', ...meta(400) }), 'NotFound', false],
    ['InvalidParameterException', new InvalidParameterException({ message: 'bad', ...meta(400) }), 'InvalidParameter', false],
    ['InvalidTagParameterException', new InvalidTagParameterException({ message: 'bad tag', ...meta(400) }), 'InvalidParameter', false],
    ['ValidationException', new ValidationException({ message: 'bad', ...meta(400) }), 'InvalidParameter', false],
    ['TooManyTagsException is fixed in the spec', new TooManyTagsException({ message: 'over 50', ...meta(400) }), 'InvalidParameter', false],
    ['KmsException', new KmsException({ message: 'key disabled', kmsError: 'DisabledException', ...meta(400) }), 'KMSKeyInvalid', false],
    ['KmsException from KMS throttling', new KmsException({ message: 'slow down', kmsError: 'ThrottlingException', ...meta(400) }), 'Throttled', true],
    ['LimitExceededException', new LimitExceededException({ message: 'quota', ...meta(400) }), 'LimitExceeded', true],
    ['RepositoryAlreadyExistsException', new RepositoryAlreadyExistsException({ message: 'exists', ...meta(400) }), 'Conflict', true],
    ['RepositoryNotEmptyException', new RepositoryNotEmptyException({ message: 'has images', ...meta(400) }), 'Conflict', true],
    ['PullThroughCacheRuleNotFoundException', sdkError('PullThroughCacheRuleNotFoundException', 400), 'NotFound', false],
    ['TemplateNotFoundException', sdkError('TemplateNotFoundException', 400), 'NotFound', false],
    ['Secrets Manager ResourceNotFoundException', sdkError('ResourceNotFoundException', 400), 'NotFound', false],
    ['PullThroughCacheRuleAlreadyExistsException', sdkError('PullThroughCacheRuleAlreadyExistsException', 400), 'Conflict', true],
    ['an upstream secret ECR cannot read is fixed in the spec', sdkError('UnableToAccessSecretException', 400), 'InvalidParameter', false],
    ['ServerException', new ServerException({ message: 'oops', ...meta(500) }), 'Transient', true],
    ['unmodelled 503', sdkError('Unknown', 503), 'Transient', true],
    ['unmodelled 502 with a generic name', sdkError('Error', 502), 'Transient', true],
    ['ECONNREFUSED', networkError('ECONNREFUSED'), 'Transient', true],
    ['ETIMEDOUT', networkError('ETIMEDOUT'), 'Transient', true],
    ['ECONNRESET', networkError('ECONNRESET'), 'Transient', true],
    ['network code one level down', Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNRESET' } }), 'Transient', true],
    ['SDK TimeoutError', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), 'Transient', true],
    ['unknown 400', sdkError('SomethingNewException', 400), 'Unknown', true],
    ['a thrown string', 'boom', 'Unknown', true],
    ['undefined', undefined, 'Unknown', true],
  ];

  it.each(cases)('%s', (_label, err, kind, retryable) => {
    const classified = classifyAwsError(err, 'CreateRepository');
    expect(classified).toBeInstanceOf(AwsError);
    expect(classified).toBeInstanceOf(Error);
    expect(classified.kind).toBe(kind);
    expect(classified.retryable).toBe(retryable);
    expect(classified.operation).toBe('CreateRepository');
  });

  it("keeps AWS's own words in the message, prefixed by service and operation", () => {
    const err = classifyAwsError(
      new RepositoryAlreadyExistsException({ message: "The repository with name 'app' already exists", ...meta(400) }),
      'CreateRepository',
    );
    expect(err.message).toBe("ECR CreateRepository: The repository with name 'app' already exists");
    expect(err.awsMessage).toBe("The repository with name 'app' already exists");
    expect(err.code).toBe('RepositoryAlreadyExistsException');
    expect(err.httpStatus).toBe(400);
    expect(err.requestId).toBe('req-1');
    expect(err.name).toBe('AwsError');
  });

  it('names another service when told', () => {
    const err = classifyAwsError(sdkError('AccessDenied', 403, 'User is not authorized to perform: sts:AssumeRole'), 'AssumeRole', 'STS');
    expect(err.message).toBe('STS AssumeRole: User is not authorized to perform: sts:AssumeRole');
  });

  it('uses the network code as the code of a local failure', () => {
    const err = classifyAwsError(networkError('ECONNREFUSED'), 'DescribeRepositories');
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toBe('ECR DescribeRepositories: connect ECONNREFUSED 127.0.0.1:1');
  });

  it('gives a code and a message to an error that has neither', () => {
    const err = classifyAwsError(Object.assign(new Error(''), { name: 'Unknown', ...meta(418) }), 'ListImages');
    expect(err.code).toBe('HTTP418');
    expect(err.awsMessage).toBe('HTTP 418');
    expect(err.kind).toBe('Unknown');
    const plain = classifyAwsError(new Error('something broke'), 'ListImages');
    expect(plain.code).toBe('Unknown');
    expect(plain.awsMessage).toBe('something broke');
    const bare = classifyAwsError({ $metadata: { httpStatusCode: 500 } }, 'ListImages');
    expect(bare.code).toBe('HTTP500');
    expect(bare.awsMessage).toBe('HTTP 500');
    expect(bare.kind).toBe('Transient');
  });

  it('passes an AwsError through unchanged', () => {
    const once = classifyAwsError(sdkError('ThrottlingException', 400), 'ListImages');
    expect(classifyAwsError(once, 'Other')).toBe(once);
  });

  it('does not keep the raw SDK error (its message would bypass redaction in logs)', () => {
    const err = classifyAwsError(sdkError('AccessDenied', 403), 'GetCallerIdentity', 'STS');
    expect(err.cause).toBeUndefined();
    expect(JSON.stringify(err)).not.toContain('$metadata');
  });

  it('masks credentials that a message may echo', () => {
    const message =
      'The request signature we calculated does not match. Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/sts/aws4_request, ' +
      `X-Amz-Security-Token=${'F'.repeat(300)} key ASIAY34FZKBOKMUTVV7A was used`;
    const err = classifyAwsError(sdkError('SignatureDoesNotMatch', 403, message), 'GetCallerIdentity', 'STS');
    expect(err.message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(err.message).not.toContain('ASIAY34FZKBOKMUTVV7A');
    expect(err.message).not.toContain('FFFFFFFFFF');
    expect(err.message).toContain('The request signature we calculated does not match.');
  });

  it('keeps ARNs and ordinary words intact', () => {
    const text = 'User: arn:aws:sts::123456789012:assumed-role/ops/session is not authorized to perform: ecr:CreateRepository';
    expect(redactCredentials(text)).toBe(text);
  });

  it('caps very long messages', () => {
    expect(redactCredentials('word '.repeat(1000)).length).toBeLessThanOrEqual(1030);
  });

  it('isAwsError narrows by kind', () => {
    const err = classifyAwsError(new RepositoryNotFoundException({ message: 'x', ...meta(400) }), 'DescribeRepositories');
    expect(isAwsError(err)).toBe(true);
    expect(isAwsError(err, 'NotFound')).toBe(true);
    expect(isAwsError(err, 'Throttled')).toBe(false);
    expect(isAwsError(new Error('x'))).toBe(false);
  });
});

describe('classifyAwsError: credential-provider failures', () => {
  // IMDS, the ECS/EKS Pod Identity agent or a process provider that did not answer this once is no
  // verdict on the identity: the next attempt can succeed. AWS's own refusals (AccessDenied from
  // STS) keep their own classification.
  const failures: [string, unknown][] = [
    ['the SDK\'s CredentialsProviderError (IMDS did not answer)', new CredentialsProviderError('Error response received from instance metadata service', { tryNextLink: false })],
    ['the chain\'s last word', new CredentialsProviderError('Could not load credentials from any providers', false)],
    ['a ProviderError', new ProviderError('Unable to find IMDS endpoint', false)],
    ['a plain error named so', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })],
  ];

  it.each(failures)('%s is transient and retryable, never AccessDenied', (_label, err) => {
    const classified = classifyAwsError(err, 'CreateRepository');
    expect(classified.kind).toBe('Transient');
    expect(classified.retryable).toBe(true);
  });

  it('a real container-credentials provider whose agent refuses the connection fails as transient', async () => {
    // EKS Pod Identity's agent (AWS_CONTAINER_CREDENTIALS_FULL_URI) unreachable for a moment;
    // port 1 on loopback refuses connections.
    const provider = fromHttp({ awsContainerCredentialsFullUri: 'http://127.0.0.1:1/v1/credentials', maxRetries: 0 });
    const raw = await provider().then(() => undefined, (e: unknown) => e);
    expect((raw as Error | undefined)?.name).toBe('CredentialsProviderError');
    const classified = classifyAwsError(raw, 'GetCallerIdentity', 'STS');
    expect(classified.kind).toBe('Transient');
    expect(classified.retryable).toBe(true);
  });

  it('an STS refusal met while resolving credentials stays AccessDenied', () => {
    const refused = classifyAwsError(sdkError('AccessDenied', 403, 'not authorized to perform sts:AssumeRole'), 'AssumeRole', 'STS');
    expect(refused.kind).toBe('AccessDenied');
    expect(refused.retryable).toBe(false);
  });
});

describe('clientRateLimited', () => {
  it('is a retryable Throttled error that says when to come back, in words that do not change', () => {
    const err = clientRateLimited('ECR', 'CreateRepository', 1_250);
    expect(err).toBeInstanceOf(AwsError);
    expect(err).toMatchObject({ kind: 'Throttled', code: 'ClientRateLimited', retryable: true, retryAfterMs: 1_250, operation: 'CreateRepository' });
    // A status that shows the message stays the same from one turn to the next.
    expect(clientRateLimited('ECR', 'CreateRepository', 40_000).message).toBe(err.message);
    expect(err.message).not.toMatch(/\d{3}/);
    expect(classifyAwsError(err, 'Other')).toBe(err);
    // Errors AWS returned carry no retry time: the key's own backoff applies to them.
    expect(classifyAwsError(sdkError('ThrottlingException', 400), 'CreateRepository').retryAfterMs).toBeUndefined();
  });
});

describe('isExpectedAbsence', () => {
  it('recognises the raw SDK error of an expected "not found", as the clients\' metrics hook sees it', () => {
    const raw = { name: 'LifecyclePolicyNotFoundException', message: 'no lifecycle policy', $metadata: { httpStatusCode: 400 } };
    expect(isExpectedAbsence('GetLifecyclePolicy', raw)).toBe(true);
    expect(isExpectedAbsence('PutLifecyclePolicy', raw)).toBe(false);
    expect(isExpectedAbsence('GetLifecyclePolicy', { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })).toBe(false);
  });
});
