/**
 * What an event from an AWSProvider's queue means to the operator: which objects it concerns, at
 * what priority, and whether their next reconcile must read AWS afresh. Pure: no AWS, no Kubernetes.
 *
 * Two families reach the queue through one EventBridge rule (docs/events.md):
 * - ECR's own events, sent to EventBridge with no set-up (Amazon EventBridge's event reference for
 *   ECR, https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ecr.html, and the ECR user
 *   guide's "Amazon ECR events and EventBridge",
 *   https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html): ECR Image Action
 *   (image push and deletion), ECR Image Scan, ECR Replication Action, ECR Pull Through Cache
 *   Action, ECR Referrer Action, ECR Artifact Action, ECR Scan Resource Change. They change what a
 *   repository holds, not its settings: the repository is queued at low priority, which refreshes
 *   its image inventory.
 * - "AWS API Call via CloudTrail" events of ECR's management calls (source aws.ecr, detail.eventSource
 *   ecr.amazonaws.com), made by anyone, and "AWS Service Event via CloudTrail" for lifecycle policy
 *   expiry (eventName PolicyExecutionEvent). A settings change made by someone else queues its
 *   objects at high priority (a user's change) with a fresh read; the operator's own calls (by the
 *   caller's identity) and calls that failed are ignored.
 */

export interface Registry {
  accountId: string;
  region: string;
}

export type EventPriority = 'high' | 'low';

export type EventMeaning =
  /** ECRRepositories of this registry with these repository names. */
  | { outcome: 'repositories'; registry: Registry; repositoryNames: string[]; priority: EventPriority; fresh: boolean; what: string }
  /** The account-wide objects of this registry (registry documents and resources). */
  | { outcome: 'registry'; registry: Registry; priority: EventPriority; fresh: boolean; what: string }
  /** Caused by the operator's own call. */
  | { outcome: 'own_call'; what: string }
  /** Nothing to do: a read-only or failed call. */
  | { outcome: 'ignored'; what: string }
  /** Not an event at all, or one whose required fields are missing or of the wrong type. */
  | { outcome: 'malformed'; what: string }
  /** A well-formed event the operator does not read. */
  | { outcome: 'unknown'; what: string };

/** ECR's own events: each names the repository in detail['repository-name'] (or its ARN in resources). */
const ECR_SERVICE_EVENTS = new Set([
  'ECR Image Action',
  'ECR Image Scan',
  'ECR Replication Action',
  'ECR Pull Through Cache Action',
  'ECR Referrer Action',
  'ECR Artifact Action',
]);

/** Management calls on one repository; requestParameters.repositoryName names it. */
const REPOSITORY_CALLS = new Set([
  'CreateRepository',
  'DeleteRepository',
  'PutLifecyclePolicy',
  'DeleteLifecyclePolicy',
  'SetRepositoryPolicy',
  'DeleteRepositoryPolicy',
  'PutImageTagMutability',
  'PutImageScanningConfiguration',
]);

/** Calls that change a repository's images, not its settings: the inventory, at low priority. */
const IMAGE_CALLS = new Set(['PutImage', 'BatchDeleteImage', 'UpdateImageStorageClass']);

/** Calls on a resource named by ARN (tags). */
const TAG_CALLS = new Set(['TagResource', 'UntagResource']);

/** Management calls on a registry's documents, settings and account-wide resources. */
const REGISTRY_CALLS = new Set([
  'PutReplicationConfiguration',
  'PutRegistryPolicy',
  'DeleteRegistryPolicy',
  'PutRegistryScanningConfiguration',
  'PutAccountSetting',
  'CreatePullThroughCacheRule',
  'UpdatePullThroughCacheRule',
  'DeletePullThroughCacheRule',
  'CreateRepositoryCreationTemplate',
  'UpdateRepositoryCreationTemplate',
  'DeleteRepositoryCreationTemplate',
  'PutSigningConfiguration',
  'DeleteSigningConfiguration',
  'RegisterPullTimeUpdateExclusion',
  'DeregisterPullTimeUpdateExclusion',
]);

/** Repository names as ECR allows them (2-256 characters, lower case, `/` for prefixes). */
const REPOSITORY_NAME = /^[a-z0-9][a-z0-9._/-]{0,255}$/;
const ACCOUNT = /^[0-9]{12}$/;
const REGION = /^[a-z]{2,4}(-[a-z]+)+-[0-9]+$/;
/** arn:<partition>:ecr:<region>:<account>:repository/<name> */
const REPOSITORY_ARN = /^arn:aws[a-z-]*:ecr:([a-z0-9-]+):([0-9]{12}):repository\/(.+)$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function repositoryName(v: unknown): string | undefined {
  const s = str(v);
  return s !== undefined && REPOSITORY_NAME.test(s) ? s : undefined;
}

/** The repository an ARN names, when it is one of this registry's repositories. */
function repositoryOfArn(arn: unknown, registry: Registry): string | undefined {
  const m = REPOSITORY_ARN.exec(str(arn) ?? '');
  if (!m || m[1] !== registry.region || m[2] !== registry.accountId) return undefined;
  return repositoryName(m[3]);
}

/**
 * The identities the operator acts as in a registry: the verified callerIdentity (an ARN from
 * sts:GetCallerIdentity) of every AWSProvider in it.
 */
export interface OwnIdentities {
  has(arn: string): boolean;
}

/**
 * Reads an SQS message body: an EventBridge event, as the rule's SQS target delivers it.
 * `queueRegistry` is the registry of the queue the message came from: a rule delivers its own
 * account's events, so an event without `account` (moto leaves it out) is taken to be of it.
 */
export function mapMessage(body: string | undefined, own: (registry: Registry) => OwnIdentities, queueRegistry?: Registry): EventMeaning {
  if (body === undefined || body.length === 0) return { outcome: 'malformed', what: 'empty message' };
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { outcome: 'malformed', what: 'message body is not JSON' };
  }
  return mapEvent(event, own, queueRegistry);
}

export function mapEvent(event: unknown, own: (registry: Registry) => OwnIdentities, queueRegistry?: Registry): EventMeaning {
  if (!isObject(event)) return { outcome: 'malformed', what: 'event is not a JSON object' };
  const detailType = str(event['detail-type']);
  const source = str(event.source);
  const accountId = event.account === undefined ? queueRegistry?.accountId : str(event.account);
  const region = str(event.region);
  const detail = event.detail;
  if (detailType === undefined || source === undefined || !isObject(detail)) {
    return { outcome: 'malformed', what: 'event lacks detail-type, source or detail' };
  }
  if (accountId === undefined || !ACCOUNT.test(accountId) || region === undefined || !REGION.test(region)) {
    return { outcome: 'malformed', what: `${detailType}: event lacks a valid account or region` };
  }
  if (source !== 'aws.ecr') return { outcome: 'unknown', what: `${detailType} from ${source}` };
  const registry = { accountId, region };
  if (ECR_SERVICE_EVENTS.has(detailType)) return serviceEvent(detailType, event, detail, registry);
  if (detailType === 'ECR Scan Resource Change') {
    // Scanning of repositories changed (registry scanning configuration or enhanced scanning):
    // the registry's scanning configuration object looks again.
    return { outcome: 'registry', registry, priority: 'low', fresh: false, what: detailType };
  }
  if (detailType === 'AWS API Call via CloudTrail') return apiCall(detail, registry, own(registry));
  if (detailType === 'AWS Service Event via CloudTrail') return serviceCloudTrailEvent(detail, registry);
  return { outcome: 'unknown', what: detailType };
}

function serviceEvent(detailType: string, event: Json, detail: Json, registry: Registry): EventMeaning {
  const names = new Set<string>();
  const named = repositoryName(detail['repository-name']);
  if (named) names.add(named);
  const resources = Array.isArray(event.resources) ? event.resources : [];
  for (const arn of resources) {
    const name = repositoryOfArn(arn, registry);
    if (name) names.add(name);
  }
  if (names.size === 0) return { outcome: 'malformed', what: `${detailType}: no repository named` };
  const action = str(detail['action-type']);
  return { outcome: 'repositories', registry, repositoryNames: [...names], priority: 'low', fresh: false, what: action ? `${detailType} ${action}` : detailType };
}

/** Lifecycle policy expiry reaches EventBridge as CloudTrail's PolicyExecutionEvent. */
function serviceCloudTrailEvent(detail: Json, registry: Registry): EventMeaning {
  const eventName = str(detail.eventName);
  if (eventName === undefined) return { outcome: 'malformed', what: 'AWS Service Event via CloudTrail: no eventName' };
  if (eventName !== 'PolicyExecutionEvent') return { outcome: 'unknown', what: `AWS Service Event via CloudTrail ${eventName}` };
  const details = isObject(detail.serviceEventDetails) ? detail.serviceEventDetails : undefined;
  const name = repositoryName(details?.repositoryName);
  if (!name) return { outcome: 'malformed', what: 'PolicyExecutionEvent: no repositoryName' };
  return { outcome: 'repositories', registry, repositoryNames: [name], priority: 'low', fresh: false, what: 'lifecycle policy expiry' };
}

function apiCall(detail: Json, registry: Registry, own: OwnIdentities): EventMeaning {
  const eventName = str(detail.eventName);
  if (eventName === undefined) return { outcome: 'malformed', what: 'AWS API Call via CloudTrail: no eventName' };
  const eventSource = str(detail.eventSource);
  if (eventSource !== undefined && eventSource !== 'ecr.amazonaws.com') return { outcome: 'unknown', what: `${eventSource} ${eventName}` };
  if (detail.readOnly === true) return { outcome: 'ignored', what: `${eventName}: read-only` };
  if (str(detail.errorCode) !== undefined) return { outcome: 'ignored', what: `${eventName}: failed with ${str(detail.errorCode)}` };
  const identity = isObject(detail.userIdentity) ? detail.userIdentity : undefined;
  const caller = str(identity?.arn);
  if (caller !== undefined && own.has(caller)) return { outcome: 'own_call', what: eventName };
  const params = isObject(detail.requestParameters) ? detail.requestParameters : {};
  if (REPOSITORY_CALLS.has(eventName) || IMAGE_CALLS.has(eventName)) {
    const name = repositoryName(params.repositoryName);
    if (!name) return { outcome: 'malformed', what: `${eventName}: no requestParameters.repositoryName` };
    // A call naming another account's registry (registryId) is not about this registry's objects.
    const registryId = str(params.registryId);
    if (registryId !== undefined && registryId !== registry.accountId) return { outcome: 'ignored', what: `${eventName}: registry ${registryId}` };
    const image = IMAGE_CALLS.has(eventName);
    return { outcome: 'repositories', registry, repositoryNames: [name], priority: image ? 'low' : 'high', fresh: !image, what: eventName };
  }
  if (TAG_CALLS.has(eventName)) {
    const arn = str(params.resourceArn);
    if (arn === undefined) return { outcome: 'malformed', what: `${eventName}: no requestParameters.resourceArn` };
    const name = repositoryOfArn(arn, registry);
    // Tags of other ECR resources (pull through cache rules, creation templates) are not compared.
    if (!name) return { outcome: 'ignored', what: `${eventName}: not a repository of this registry` };
    return { outcome: 'repositories', registry, repositoryNames: [name], priority: 'high', fresh: true, what: eventName };
  }
  if (REGISTRY_CALLS.has(eventName)) return { outcome: 'registry', registry, priority: 'high', fresh: true, what: eventName };
  return { outcome: 'unknown', what: `AWS API Call via CloudTrail ${eventName}` };
}
