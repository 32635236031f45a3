import { describe, expect, it } from 'vitest';
import { mapEvent, mapMessage, type EventMeaning, type Registry } from '../../../src/events/mapping.js';
import { parseQueueURL, queueMismatch } from '../../../src/events/queue-url.js';
import * as f from './fixtures.js';

const REGISTRY: Registry = { accountId: f.ACCOUNT, region: f.REGION };
const own = () => new Set([f.OPERATOR_ARN]);
const map = (event: unknown): EventMeaning => mapEvent(event, own);

describe("ECR's own events", () => {
  it.each([
    ['image push', f.imagePush, 'ECR Image Action PUSH'],
    ['image deletion', f.imageDelete, 'ECR Image Action DELETE'],
    ['scan finished', f.imageScan, 'ECR Image Scan'],
    ['replication', f.replication, 'ECR Replication Action REPLICATE'],
    ['referrer', f.referrer, 'ECR Referrer Action PUSH'],
  ])('%s: the repository, at low priority, from the shared read', (_, event, what) => {
    expect(map(event)).toEqual({ outcome: 'repositories', registry: REGISTRY, repositoryNames: ['team/app'], priority: 'low', fresh: false, what });
  });

  it('pull through cache: the cached repository, named in detail and by ARN once', () => {
    expect(map(f.pullThroughCache)).toMatchObject({ outcome: 'repositories', repositoryNames: ['docker-hub/library/alpine'], priority: 'low' });
  });

  it('lifecycle expiry (CloudTrail PolicyExecutionEvent): the repository whose images expired, at low priority', () => {
    expect(map(f.lifecycleExpiry)).toEqual({ outcome: 'repositories', registry: REGISTRY, repositoryNames: ['team/app'], priority: 'low', fresh: false, what: 'lifecycle policy expiry' });
  });

  it('scan resource change: the registry-level objects', () => {
    expect(map(f.scanResourceChange)).toMatchObject({ outcome: 'registry', registry: REGISTRY, priority: 'low' });
  });
});

describe('CloudTrail management calls', () => {
  it.each([
    ['PutLifecyclePolicy', { repositoryName: 'team/app', lifecyclePolicyText: '{"rules":[]}' }],
    ['DeleteLifecyclePolicy', { repositoryName: 'team/app' }],
    ['SetRepositoryPolicy', { repositoryName: 'team/app', policyText: '{}' }],
    ['DeleteRepositoryPolicy', { repositoryName: 'team/app' }],
    ['PutImageTagMutability', { repositoryName: 'team/app', imageTagMutability: 'IMMUTABLE' }],
    ['PutImageScanningConfiguration', { repositoryName: 'team/app', imageScanningConfiguration: { scanOnPush: true } }],
    ['CreateRepository', { repositoryName: 'team/app' }],
    ['DeleteRepository', { repositoryName: 'team/app', force: true }],
  ])("%s by someone else: the repository at user priority, read afresh", (eventName, params) => {
    expect(map(f.apiCall(eventName, params))).toEqual({ outcome: 'repositories', registry: REGISTRY, repositoryNames: ['team/app'], priority: 'high', fresh: true, what: eventName });
  });

  it.each([['TagResource'], ['UntagResource']])('%s on a repository ARN: that repository, read afresh', (eventName) => {
    const e = f.apiCall(eventName, { resourceArn: `arn:aws:ecr:${f.REGION}:${f.ACCOUNT}:repository/team/app`, tags: [{ key: 'k', value: 'v' }] });
    expect(map(e)).toMatchObject({ outcome: 'repositories', repositoryNames: ['team/app'], priority: 'high', fresh: true });
  });

  it('tags of something other than a repository of this registry are ignored', () => {
    const e = f.apiCall('TagResource', { resourceArn: `arn:aws:ecr:${f.REGION}:${f.ACCOUNT}:repository-creation-template/app` });
    expect(map(e).outcome).toBe('ignored');
    const other = f.apiCall('TagResource', { resourceArn: `arn:aws:ecr:eu-west-1:${f.ACCOUNT}:repository/team/app` });
    expect(map(other).outcome).toBe('ignored');
  });

  it.each([['PutImage'], ['BatchDeleteImage'], ['UpdateImageStorageClass']])('%s: the image inventory, at low priority', (eventName) => {
    expect(map(f.apiCall(eventName, { repositoryName: 'team/app' }))).toMatchObject({ outcome: 'repositories', repositoryNames: ['team/app'], priority: 'low', fresh: false });
  });

  it.each([
    ['PutReplicationConfiguration'], ['PutRegistryPolicy'], ['DeleteRegistryPolicy'], ['PutRegistryScanningConfiguration'],
    ['PutAccountSetting'], ['CreatePullThroughCacheRule'], ['UpdatePullThroughCacheRule'], ['DeletePullThroughCacheRule'],
    ['CreateRepositoryCreationTemplate'], ['UpdateRepositoryCreationTemplate'], ['DeleteRepositoryCreationTemplate'],
    ['PutSigningConfiguration'], ['DeleteSigningConfiguration'], ['RegisterPullTimeUpdateExclusion'], ['DeregisterPullTimeUpdateExclusion'],
  ])('%s: the account-wide objects of the registry at user priority', (eventName) => {
    expect(map(f.apiCall(eventName, {}))).toEqual({ outcome: 'registry', registry: REGISTRY, priority: 'high', fresh: true, what: eventName });
  });

  it("the operator's own calls are recognised by the caller's identity and ignored", () => {
    expect(map(f.apiCall('PutLifecyclePolicy', { repositoryName: 'team/app' }, { arn: f.OPERATOR_ARN }))).toEqual({ outcome: 'own_call', what: 'PutLifecyclePolicy' });
    expect(map(f.apiCall('PutRegistryPolicy', {}, { arn: f.OPERATOR_ARN })).outcome).toBe('own_call');
    // The same role with another session is someone else.
    const human = 'arn:aws:sts::123456789012:assumed-role/infra-operator/alice';
    expect(map(f.apiCall('PutLifecyclePolicy', { repositoryName: 'team/app' }, { arn: human })).outcome).toBe('repositories');
  });

  it('own identities are asked for the registry of the event', () => {
    const asked: Registry[] = [];
    mapEvent(f.apiCall('PutLifecyclePolicy', { repositoryName: 'team/app' }), (r) => {
      asked.push(r);
      return new Set<string>();
    });
    expect(asked).toEqual([REGISTRY]);
  });

  it('failed and read-only calls change nothing and are ignored', () => {
    expect(map(f.apiCall('PutLifecyclePolicy', { repositoryName: 'team/app' }, { errorCode: 'AccessDenied' })).outcome).toBe('ignored');
    expect(map(f.apiCall('DescribeRepositories', {}, { readOnly: true })).outcome).toBe('ignored');
  });

  it("a call naming another account's registry is not about this registry's repositories", () => {
    expect(map(f.apiCall('PutLifecyclePolicy', { repositoryName: 'team/app', registryId: '210987654321' })).outcome).toBe('ignored');
  });

  it('an ECR call the operator does not read is unknown', () => {
    expect(map(f.apiCall('StartLifecyclePolicyPreview', { repositoryName: 'team/app' }))).toEqual({ outcome: 'unknown', what: 'AWS API Call via CloudTrail StartLifecyclePolicyPreview' });
  });
});

describe('malformed and unknown events', () => {
  it.each([
    ['not JSON', '{"detail-type": '],
    ['empty', ''],
    ['a JSON array', '[]'],
    ['a JSON string', '"ECR Image Action"'],
    ['no detail', JSON.stringify({ ...f.imagePush, detail: undefined })],
    ['detail not an object', JSON.stringify({ ...f.imagePush, detail: 'x' })],
    ['no account', JSON.stringify({ ...f.imagePush, account: undefined })],
    ['bad region', JSON.stringify({ ...f.imagePush, region: 'nowhere' })],
    ['image action without repository', JSON.stringify({ ...f.imagePush, detail: { 'action-type': 'PUSH' } })],
    ['repository name not ECR\'s', JSON.stringify({ ...f.imagePush, detail: { 'repository-name': 'UPPER CASE' } })],
    ['repository call without repositoryName', JSON.stringify(f.apiCall('PutLifecyclePolicy', { lifecyclePolicyText: '{}' }))],
    ['tag call without resourceArn', JSON.stringify(f.apiCall('TagResource', {}))],
    ['CloudTrail event without eventName', JSON.stringify({ ...f.apiCall('PutLifecyclePolicy', {}), detail: { eventSource: 'ecr.amazonaws.com' } })],
    ['expiry without repositoryName', JSON.stringify({ ...f.lifecycleExpiry, detail: { eventName: 'PolicyExecutionEvent', serviceEventDetails: {} } })],
  ])('%s: malformed', (_, body) => {
    expect(mapMessage(body, own).outcome).toBe('malformed');
  });

  it("an event without account (moto's) is of the queue's registry when the queue's is known", () => {
    const body = JSON.stringify({ ...f.imagePush, account: undefined });
    expect(mapMessage(body, own, REGISTRY)).toMatchObject({ outcome: 'repositories', registry: REGISTRY });
    expect(mapMessage(JSON.stringify({ ...f.imagePush, account: 12 }), own, REGISTRY).outcome).toBe('malformed');
  });

  it('an undefined body is malformed', () => {
    expect(mapMessage(undefined, own).outcome).toBe('malformed');
  });

  it.each([
    ['another source', { ...f.imagePush, source: 'aws.s3' }],
    ['another detail-type', { ...f.imagePush, 'detail-type': 'ECR Something New' }],
    ['another service through CloudTrail', f.apiCall('PutObject', {}) && { ...f.apiCall('PutObject', {}), detail: { ...(f.apiCall('PutObject', {}).detail as object), eventSource: 's3.amazonaws.com' } }],
  ])('%s: unknown', (_, event) => {
    expect(map(event).outcome).toBe('unknown');
  });

  it('a huge hostile body is read in linear time', () => {
    const body = JSON.stringify({ ...f.imagePush, detail: { 'repository-name': 'a'.repeat(100_000) + '!' } });
    const started = performance.now();
    expect(mapMessage(body, own).outcome).toBe('malformed');
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('queue URLs', () => {
  it('take apart AWS and local queue URLs', () => {
    expect(parseQueueURL('https://sqs.us-west-2.amazonaws.com/123456789012/ecr-events')).toEqual({ accountId: '123456789012', name: 'ecr-events', region: 'us-west-2' });
    expect(parseQueueURL('https://us-west-2.queue.amazonaws.com/123456789012/ecr-events.fifo')).toEqual({ accountId: '123456789012', name: 'ecr-events.fifo', region: 'us-west-2' });
    expect(parseQueueURL('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q')?.region).toBe('cn-north-1');
    expect(parseQueueURL('http://127.0.0.1:4566/123456789012/q')).toEqual({ accountId: '123456789012', name: 'q', region: undefined });
  });

  it.each([
    ['ftp://sqs.us-west-2.amazonaws.com/123456789012/q'],
    ['https://sqs.us-west-2.amazonaws.com/12345/q'],
    ['https://sqs.us-west-2.amazonaws.com/123456789012/'],
    ['https://sqs.us-west-2.amazonaws.com/123456789012/a/b'],
    ['https://sqs.us-west-2.amazonaws.com/123456789012/' + 'q'.repeat(81)],
    ['https://user@evil/123456789012/q'],
  ])('refuse %s', (url) => {
    expect(parseQueueURL(url)).toBeUndefined();
  });

  it("must be in the provider's account and region", () => {
    const provider = { accountId: '123456789012', region: 'us-west-2' };
    expect(queueMismatch('https://sqs.us-west-2.amazonaws.com/123456789012/q', provider)).toBeUndefined();
    expect(queueMismatch('http://localhost:5000/123456789012/q', provider)).toBeUndefined();
    expect(queueMismatch('https://sqs.us-west-2.amazonaws.com/210987654321/q', provider)?.reason).toBe('QueueNotInProviderAccount');
    expect(queueMismatch('https://sqs.eu-west-1.amazonaws.com/123456789012/q', provider)?.reason).toBe('QueueNotInProviderRegion');
    expect(queueMismatch('not a url', provider)?.reason).toBe('InvalidQueueURL');
  });
});
