/**
 * Events as EventBridge delivers them to an SQS target, shaped as the ECR user guide ("Amazon ECR
 * events and EventBridge") and the CloudTrail record reference show them; names and ids are ours.
 */
export const ACCOUNT = '123456789012';
export const REGION = 'us-west-2';
export const OPERATOR_ARN = 'arn:aws:sts::123456789012:assumed-role/infra-operator/infra-operator';
export const USER_ARN = 'arn:aws:iam::123456789012:user/alice';

function envelope(detailType: string, detail: Record<string, unknown>, resources: string[] = []): Record<string, unknown> {
  return {
    version: '0',
    id: '13cde686-328b-6117-af20-0e5566167482',
    'detail-type': detailType,
    source: 'aws.ecr',
    account: ACCOUNT,
    time: '2026-11-16T01:54:34Z',
    region: REGION,
    resources,
    detail,
  };
}

export const imagePush = envelope('ECR Image Action', {
  result: 'SUCCESS',
  'repository-name': 'team/app',
  'image-digest': 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
  'action-type': 'PUSH',
  'image-tag': 'latest',
});

export const imageDelete = envelope('ECR Image Action', {
  result: 'SUCCESS',
  'repository-name': 'team/app',
  'image-digest': 'sha256:f98d67af8e53a536502bfc600de3266556b06ed635a32d60aa7a5fe6d7e609d7',
  'action-type': 'DELETE',
  'image-tag': 'v1',
});

export const imageScan = envelope('ECR Image Scan', {
  'scan-status': 'COMPLETE',
  'repository-name': 'team/app',
  'finding-severity-counts': { CRITICAL: 0, HIGH: 1, MEDIUM: 2 },
  'image-digest': 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
  'image-tags': ['latest'],
}, [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/app`]);

export const replication = envelope('ECR Replication Action', {
  result: 'SUCCESS',
  'repository-name': 'team/app',
  'image-digest': 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
  'source-account': '210987654321',
  'action-type': 'REPLICATE',
  'source-region': 'us-east-1',
  'image-tag': 'latest',
}, [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/app`]);

export const pullThroughCache = envelope('ECR Pull Through Cache Action', {
  'rule-version': '1',
  'sync-status': 'SUCCESS',
  'ecr-repository-prefix': 'docker-hub',
  'repository-name': 'docker-hub/library/alpine',
  'upstream-registry-url': 'public.ecr.aws',
  'image-tag': '3.20',
  'image-digest': 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
}, [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/docker-hub/library/alpine`]);

export const referrer = envelope('ECR Referrer Action', {
  'action-type': 'PUSH',
  'repository-name': 'team/app',
  'image-digest': 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  'artifact-media-type': 'application/vnd.dev.cosign.artifact.sig.v1+json',
  'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
});

export const scanResourceChange = envelope('ECR Scan Resource Change', {
  'action-type': 'SCAN_FREQUENCY_CHANGE',
  repositories: [{ 'repository-name': 'team/app', 'repository-arn': `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/app`, 'scan-frequency': 'CONTINUOUS_SCAN' }],
  'resource-type': 'REPOSITORY',
  'scan-type': 'ENHANCED',
});

/** Lifecycle policy expiry: CloudTrail's service event PolicyExecutionEvent, through EventBridge. */
export const lifecycleExpiry = envelope('AWS Service Event via CloudTrail', {
  eventVersion: '1.05',
  userIdentity: { accountId: ACCOUNT, invokedBy: 'AWS Internal' },
  eventTime: '2026-11-16T01:54:34Z',
  eventSource: 'ecr.amazonaws.com',
  eventName: 'PolicyExecutionEvent',
  awsRegion: REGION,
  sourceIPAddress: 'AWS Internal',
  userAgent: 'AWS Internal',
  requestParameters: null,
  responseElements: null,
  readOnly: true,
  resources: [{ ARN: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/app`, accountId: ACCOUNT, type: 'AWS::ECR::Repository' }],
  eventType: 'AwsServiceEvent',
  recipientAccountId: ACCOUNT,
  serviceEventDetails: {
    repositoryName: 'team/app',
    lifecycleEventImageActions: [{ lifecycleEventImage: { digest: 'sha256:ddba', tagStatus: 'Tagged', tagList: ['old'], pushedAt: 1584042813000 }, rulePriority: 1 }],
  },
});

/** An "AWS API Call via CloudTrail" event of an ECR management call. */
export function apiCall(eventName: string, requestParameters: Record<string, unknown> | null, opts: { arn?: string; errorCode?: string; readOnly?: boolean } = {}): Record<string, unknown> {
  return envelope('AWS API Call via CloudTrail', {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLE',
      arn: opts.arn ?? USER_ARN,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: 'alice',
    },
    eventTime: '2026-11-16T01:54:34Z',
    eventSource: 'ecr.amazonaws.com',
    eventName,
    awsRegion: REGION,
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-cli/2.15.0',
    requestParameters,
    responseElements: null,
    requestID: 'cb8c167e-EXAMPLE',
    eventID: 'e3c6f4ce-EXAMPLE',
    readOnly: opts.readOnly ?? false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    ...(opts.errorCode ? { errorCode: opts.errorCode, errorMessage: 'denied' } : {}),
  });
}
