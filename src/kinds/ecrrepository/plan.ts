import { OWNER_TAG } from '../../api/types.js';
import { SPEC_DEFAULTS, type ECRRepository, type ECRRepositoryStatus, type EncryptionType, type ImageTagMutability, type LifecyclePreview } from './types.js';
import type { ExclusionFilter, LiveRepository, RepositoryChanges, RepositoryDetails, RepositoryPolicies, RepositorySettings } from '../../aws/ecr.js';
import type { ImageInventory } from '../../aws/images.js';
import { ownerTagValue } from '../../api/owner.js';
import { policiesEqual } from '../../aws/policy.js';
import { evaluateLifecyclePolicy, type LifecycleImage } from '../../lifecycle/evaluator.js';
import { parseLifecyclePolicy } from '../../lifecycle/policy.js';
import type { KeptPreview, LifecyclePreviews, PreviewSubject } from '../../lifecycle/previews.js';

/**
 * The pure decisions of the ECRRepository reconciler: what the repository should look like, who owns
 * an existing one, and which calls bring it from what AWS has to what the spec says.
 */

export interface DesiredRepository {
  name: string;
  settings: RepositorySettings;
  /** Provider defaultTags, overlaid by the spec's tags, plus the owner tag. */
  tags: Record<string, string>;
  lifecyclePolicyText: string | undefined;
  /** spec.lifecyclePolicy.maxImagesToExpire: above this preview, the policy is not applied. */
  maxImagesToExpire?: number;
  repositoryPolicyText: string | undefined;
}

/** The owner tag's value for this object: `[<cluster>/]<namespace>/<name>`, at most 256 characters. */
export function ownerValue(obj: ECRRepository, clusterName?: string): string {
  return ownerTagValue(obj.metadata.namespace, obj.metadata.name, clusterName);
}

export function desiredRepository(obj: ECRRepository, defaultTags: Record<string, string> | undefined, clusterName?: string): DesiredRepository {
  const spec = obj.spec;
  const encryptionType: EncryptionType = spec.encryptionConfiguration?.encryptionType ?? SPEC_DEFAULTS.encryptionType;
  const encryption: RepositorySettings['encryption'] = { encryptionType };
  if (encryptionType !== 'AES256' && spec.encryptionConfiguration?.kmsKey) encryption.kmsKey = spec.encryptionConfiguration.kmsKey;
  const imageTagMutability = spec.imageTagMutability ?? SPEC_DEFAULTS.imageTagMutability;
  const settings: RepositorySettings = { imageTagMutability, scanOnPush: spec.scanOnPush ?? SPEC_DEFAULTS.scanOnPush, encryption };
  // The CRD allows filters only with the *_WITH_EXCLUSION modes; an object written before that
  // rule may still carry some, and ECR would refuse them with any other mode.
  if (withExclusion(imageTagMutability) && spec.imageTagMutabilityExclusionFilters?.length) {
    settings.imageTagMutabilityExclusionFilters = spec.imageTagMutabilityExclusionFilters.map((f) => ({ filter: f.filter, filterType: f.filterType ?? 'WILDCARD' }));
  }
  const desired: DesiredRepository = {
    name: spec.repositoryName,
    settings,
    tags: { ...(defaultTags ?? {}), ...(spec.tags ?? {}), [OWNER_TAG]: ownerValue(obj, clusterName) },
    lifecyclePolicyText: nonEmpty(spec.lifecyclePolicy?.policyText),
    repositoryPolicyText: nonEmpty(spec.repositoryPolicyText),
  };
  if (spec.lifecyclePolicy?.maxImagesToExpire !== undefined) desired.maxImagesToExpire = spec.lifecyclePolicy.maxImagesToExpire;
  return desired;
}

function withExclusion(mode: string): boolean {
  return mode === 'MUTABLE_WITH_EXCLUSION' || mode === 'IMMUTABLE_WITH_EXCLUSION';
}

/** Exclusion filters as a set: order and repeats do not count. */
export function exclusionFiltersEqual(a: ExclusionFilter[] | undefined, b: ExclusionFilter[] | undefined): boolean {
  const key = (filters: ExclusionFilter[] | undefined) => [...new Set((filters ?? []).map((f) => `${f.filterType}\u0000${f.filter}`))].sort().join('\u0001');
  return key(a) === key(b);
}

/** True when the live mode and filters are what the desired settings ask for. */
export function tagMutabilityMatches(desired: RepositorySettings, live: RepositorySettings): boolean {
  if (desired.imageTagMutability !== live.imageTagMutability) return false;
  return !withExclusion(desired.imageTagMutability) || exclusionFiltersEqual(desired.imageTagMutabilityExclusionFilters, live.imageTagMutabilityExclusionFilters);
}

/** AWS's limit of tags on one repository, the operator's owner tag included. */
export const MAX_TAGS = 50;

/** Why the merged tags cannot be applied, when the provider's defaultTags push them over AWS's limit. */
export function tagLimitProblem(desired: DesiredRepository): string | undefined {
  const count = Object.keys(desired.tags).length;
  if (count <= MAX_TAGS) return undefined;
  return `spec.tags: ${count} tags with the provider's defaultTags and the operator's owner tag; AWS allows at most ${MAX_TAGS} on a repository`;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text && text.trim() ? text : undefined;
}

/**
 * - `ours`: the owner tag names this object;
 * - `legacy`: the operator now runs with --cluster-name, and the tag holds the value this object had
 *   without one (`<namespace>/<name>`) on the very repository its status records: this object tagged
 *   it before the upgrade, and it is retagged with the new value;
 * - `recorded`: no owner tag, on the very repository this object's status records (someone removed
 *   the tag outside Kubernetes): still this object's, the tag is restored as drift;
 * - `unowned`: no owner tag on a repository this object never recorded;
 * - otherwise another owner (`legacyOfThisName`: its value is this object's legacy value, but this
 *   object never recorded the repository, so another cluster without a cluster name may own it).
 */
export type Ownership = 'ours' | 'legacy' | 'recorded' | 'unowned' | { otherOwner: string; legacyOfThisName?: boolean };

export interface OwnershipContext {
  /** --cluster-name, when set. */
  clusterName?: string | undefined;
  /** The ARN of the repository the tags belong to. */
  liveArn?: string;
  /** When that repository was created: tells it apart from one re-created under the same name (same ARN). */
  liveCreatedAt?: Date;
}

/**
 * Whether the live repository is the one this object's status records: the same ARN and, where both
 * are known, the same creation time (a repository deleted and created again by someone else under
 * the same name has the same ARN, but is not the one this object made or adopted).
 */
export function recordedByObject(obj: ECRRepository, ctx: OwnershipContext): boolean {
  const recorded = obj.status?.repositoryArn;
  if (!recorded || ctx.liveArn === undefined || recorded !== ctx.liveArn) return false;
  const createdAt = obj.status?.creationDate;
  return !createdAt || ctx.liveCreatedAt === undefined || createdAt === rfc3339(ctx.liveCreatedAt);
}

export function ownershipOf(tags: Record<string, string>, obj: ECRRepository, ctx: OwnershipContext = {}): Ownership {
  const owner = tags[OWNER_TAG];
  if (owner === undefined) return recordedByObject(obj, ctx) ? 'recorded' : 'unowned';
  if (owner === ownerValue(obj, ctx.clusterName)) return 'ours';
  const legacy = Boolean(ctx.clusterName?.trim()) && owner === ownerValue(obj);
  if (legacy && ctx.liveArn !== undefined && obj.status?.repositoryArn === ctx.liveArn) return 'legacy';
  return legacy ? { otherOwner: owner, legacyOfThisName: true } : { otherOwner: owner };
}

/** Whether this object may act on (update, delete, release) a repository of this ownership. */
export function ownedByObject(ownership: Ownership): ownership is 'ours' | 'legacy' | 'recorded' {
  return ownership === 'ours' || ownership === 'legacy' || ownership === 'recorded';
}

/**
 * How a message shown to the tenant (a condition, an Event) names the owner of a repository: the
 * owning ECRRepository by name only when it is in this object's namespace (and, with
 * --cluster-name, of this cluster); otherwise "another object", so that trying repository names
 * never tells a tenant which objects other namespaces hold. The operator's log keeps the full value.
 */
export function ownerForTenant(owner: string, obj: ECRRepository, clusterName?: string): string {
  const cluster = clusterName?.trim();
  const prefix = `${cluster ? `${cluster}/` : ''}${obj.metadata.namespace}/`;
  if (!owner.startsWith(prefix)) return 'another object';
  const name = owner.slice(prefix.length);
  // A '/' is no part of an object's name (another cluster's value); a '_' marks a shortened value.
  if (!name || name.includes('/') || name.includes('_')) return 'another object';
  return `ECRRepository ${obj.metadata.namespace}/${name}`;
}

/** Where a repository ARN (arn:PARTITION:ecr:REGION:ACCOUNT:repository/NAME) says it lives. */
export function repositoryLocation(arn: string | undefined): { region: string; account: string } | undefined {
  const m = /^arn:[^:]+:ecr:([^:]+):(\d{12}):repository\/.+$/.exec(arn ?? '');
  return m ? { region: m[1] as string, account: m[2] as string } : undefined;
}

export const PROVIDER_ACCOUNT_CHANGED = 'ProviderAccountChanged';
export const PROVIDER_REGION_CHANGED = 'ProviderRegionChanged';

/**
 * Why this object must not act through its provider now: the provider resolves to another account
 * (or region) than the repository that the object's status.repositoryArn records. Acting there would
 * create a second repository, or delete one that is not this object's; nothing is done until the
 * provider resolves to the recorded place again. Undefined when the object recorded no repository,
 * or the provider's account is not known.
 */
export function providerMoved(
  obj: ECRRepository,
  now: { account: string | undefined; region: string },
): { reason: string; message: string } | undefined {
  const recorded = repositoryLocation(obj.status?.repositoryArn);
  if (!recorded) return undefined;
  const provider = `AWSProvider ${obj.metadata.namespace}/${obj.spec.providerRef.name}`;
  const repository = `repository ${obj.spec.repositoryName}`;
  if (now.account !== undefined && now.account !== recorded.account) {
    return {
      reason: PROVIDER_ACCOUNT_CHANGED,
      message: `${provider} now resolves to account ${now.account}, but this object's ${repository} is in account ${recorded.account} (status.repositoryArn); nothing is created or deleted until the provider resolves to account ${recorded.account} again`,
    };
  }
  if (now.region !== recorded.region) {
    return {
      reason: PROVIDER_REGION_CHANGED,
      message: `${provider} now names region ${now.region}, but this object's ${repository} is in region ${recorded.region} (status.repositoryArn); nothing is created or deleted until the provider names region ${recorded.region} again`,
    };
  }
  return undefined;
}

/**
 * The key id a KMS key reference names, when it names one: a key ARN
 * (arn:aws:kms:REGION:ACCOUNT:key/ID) or a bare key id (a UUID, or mrk-... for a multi-Region key).
 * An alias (alias/NAME or its ARN) names no key id: only AWS can resolve it.
 */
export function kmsKeyId(ref: string): string | undefined {
  const arn = /^arn:[^:]+:kms:[^:]*:[^:]*:key\/(.+)$/.exec(ref);
  if (arn) return arn[1];
  if (ref.startsWith('arn:') || ref.startsWith('alias/')) return undefined;
  return ref;
}

/**
 * ECR cannot change encryption after creation. ECR reports the key ARN even when the repository was
 * created with an alias, an alias ARN or a key id, so keys are compared by key id where both sides
 * name one; an alias cannot be resolved here and counts as matching.
 */
export function encryptionMismatch(desired: RepositorySettings['encryption'], live: RepositorySettings['encryption']): string | undefined {
  if (desired.encryptionType !== live.encryptionType) {
    return `spec.encryptionConfiguration.encryptionType is ${desired.encryptionType} but the repository was created with ${live.encryptionType}; ECR cannot change encryption after creation`;
  }
  const wanted = desired.kmsKey ? kmsKeyId(desired.kmsKey) : undefined;
  const actual = live.kmsKey ? kmsKeyId(live.kmsKey) : undefined;
  if (wanted && actual && wanted !== actual) {
    return `spec.encryptionConfiguration.kmsKey is ${desired.kmsKey ?? ''} but the repository is encrypted with ${live.kmsKey ?? ''}; ECR cannot change encryption after creation`;
  }
  return undefined;
}

/** Tag keys that AWS reserves for itself and that no caller may remove. */
function reservedTag(key: string): boolean {
  return key.startsWith('aws:');
}

/**
 * The calls that bring the live repository to the desired one; an empty object when none is needed.
 * Without tags (a read between full reads, which reads the policies only) no tag change is proposed.
 */
export function changesBetween(desired: DesiredRepository, live: LiveRepository, details: RepositoryPolicies & { tags?: RepositoryDetails['tags'] }): RepositoryChanges {
  const changes: RepositoryChanges = {};
  if (!tagMutabilityMatches(desired.settings, live)) {
    // One PutImageTagMutability carries the mode and its whole filter list.
    changes.imageTagMutability = desired.settings.imageTagMutability;
    if (desired.settings.imageTagMutabilityExclusionFilters) changes.imageTagMutabilityExclusionFilters = desired.settings.imageTagMutabilityExclusionFilters;
  }
  if (desired.settings.scanOnPush !== live.scanOnPush) changes.scanOnPush = desired.settings.scanOnPush;

  if (desired.lifecyclePolicyText === undefined) {
    if (details.lifecyclePolicyText !== undefined) changes.lifecyclePolicy = 'delete';
  } else if (!policiesEqual(desired.lifecyclePolicyText, details.lifecyclePolicyText)) {
    changes.lifecyclePolicy = { text: desired.lifecyclePolicyText };
  }

  if (desired.repositoryPolicyText === undefined) {
    if (details.repositoryPolicyText !== undefined) changes.repositoryPolicy = 'delete';
  } else if (!policiesEqual(desired.repositoryPolicyText, details.repositoryPolicyText)) {
    changes.repositoryPolicy = { text: desired.repositoryPolicyText };
  }

  const tags = details.tags;
  if (tags === undefined) return changes;
  const toSet = Object.fromEntries(Object.entries(desired.tags).filter(([k, v]) => tags[k] !== v));
  if (Object.keys(toSet).length > 0) changes.tagsToSet = toSet;
  const toRemove = Object.keys(tags).filter((k) => !(k in desired.tags) && !reservedTag(k));
  if (toRemove.length > 0) changes.tagKeysToRemove = toRemove;
  return changes;
}

/** Names of what a change set touches, for events and logs. */
export function describeChanges(changes: RepositoryChanges): string[] {
  const out: string[] = [];
  if (changes.imageTagMutability) {
    const filters = changes.imageTagMutabilityExclusionFilters?.map((f) => f.filter).join(',');
    out.push(`imageTagMutability=${changes.imageTagMutability}${filters ? ` (exclusions: ${filters})` : ''}`);
  }
  if (changes.scanOnPush !== undefined) out.push(`scanOnPush=${changes.scanOnPush}`);
  if (changes.lifecyclePolicy) out.push(changes.lifecyclePolicy === 'delete' ? 'lifecycle policy removed' : 'lifecycle policy');
  if (changes.repositoryPolicy) out.push(changes.repositoryPolicy === 'delete' ? 'repository policy removed' : 'repository policy');
  if (changes.tagsToSet) out.push(`tags set: ${Object.keys(changes.tagsToSet).sort().join(', ')}`);
  if (changes.tagKeysToRemove) out.push(`tags removed: ${[...changes.tagKeysToRemove].sort().join(', ')}`);
  return out;
}

export function isEmpty(changes: RepositoryChanges): boolean {
  return describeChanges(changes).length === 0;
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type RepositorySettingsFields = Pick<
  ECRRepositoryStatus,
  | 'repositoryArn' | 'repositoryUri' | 'registryId' | 'creationDate' | 'imageTagMutability' | 'imageTagMutabilityExclusionFilters'
  | 'encryptionType' | 'imageScanningConfiguration'
>;

type RepositoryStatusFields = RepositorySettingsFields
  & Pick<ECRRepositoryStatus, 'imageCount' | 'archivedImageCount' | 'imageSizeBytes' | 'lastImagePushedAt' | 'lastImagePulledAt'>;

/** The status fields of the repository itself, without its images: what a read that lists no image reports. */
export function repositorySettingsStatus(live: LiveRepository): RepositorySettingsFields {
  return {
    repositoryArn: live.arn,
    repositoryUri: live.uri,
    registryId: live.registryId,
    creationDate: rfc3339(live.createdAt),
    imageTagMutability: live.imageTagMutability as ImageTagMutability,
    imageTagMutabilityExclusionFilters: live.imageTagMutabilityExclusionFilters?.map((f) => ({ filter: f.filter, filterType: f.filterType })),
    encryptionType: live.encryption.encryptionType as EncryptionType,
    imageScanningConfiguration: { scanOnPush: live.scanOnPush },
  };
}

/**
 * The status fields that describe the repository as AWS has it. Pass the details' `inventory` to
 * report archived images, size and times; a bare count reports only imageCount. Fields that AWS no
 * longer reports are present as undefined, so that a status write removes them.
 */
export function repositoryStatus(live: LiveRepository, images: number | ImageInventory): RepositoryStatusFields {
  const inventory: ImageInventory | undefined = typeof images === 'number' ? undefined : images;
  const status: RepositoryStatusFields = {
    ...repositorySettingsStatus(live),
    imageCount: typeof images === 'number' ? images : images.imageCount,
  };
  if (inventory) {
    status.archivedImageCount = inventory.archivedImageCount;
    status.imageSizeBytes = inventory.imageSizeBytes;
    status.lastImagePushedAt = inventory.lastImagePushedAt && rfc3339(inventory.lastImagePushedAt);
    status.lastImagePulledAt = inventory.lastImagePulledAt && rfc3339(inventory.lastImagePulledAt);
  }
  return status;
}

/** The repository as it is after `changes` were applied: what status should report after an update. */
export function liveAfter(live: LiveRepository, changes: RepositoryChanges): LiveRepository {
  const after: LiveRepository = { ...live, scanOnPush: changes.scanOnPush ?? live.scanOnPush };
  if (changes.imageTagMutability !== undefined) {
    after.imageTagMutability = changes.imageTagMutability;
    delete after.imageTagMutabilityExclusionFilters;
    if (withExclusion(changes.imageTagMutability) && changes.imageTagMutabilityExclusionFilters?.length) {
      after.imageTagMutabilityExclusionFilters = changes.imageTagMutabilityExclusionFilters;
    }
  }
  return after;
}

/**
 * What the desired lifecycle policy would do to the repository's images now (status.lifecyclePreview);
 * undefined when no policy is desired or the images are unknown. Evaluated at once: for a handful of
 * images (a repository just created). A listing read from AWS goes through `currentLifecyclePreview`.
 */
export function lifecyclePreview(desired: DesiredRepository, images: LifecycleImage[] | undefined, now: Date): LifecyclePreview | undefined {
  if (desired.lifecyclePolicyText === undefined || images === undefined) return undefined;
  const result = evaluateLifecyclePolicy(parseLifecyclePolicy(desired.lifecyclePolicyText), images, now);
  return previewStatus({ ...result, evaluatedAt: now });
}

/**
 * The same for a listing of any size: the preview kept for this object when neither the policy nor
 * the images changed since (and no age-based rule reached an image meanwhile), otherwise a new
 * evaluation in slices that give the event loop back. Its evaluatedAt is when it was computed.
 */
export async function currentLifecyclePreview(
  desired: DesiredRepository,
  images: LifecycleImage[] | undefined,
  now: Date,
  previews: LifecyclePreviews,
  subject: PreviewSubject,
): Promise<LifecyclePreview | undefined> {
  if (desired.lifecyclePolicyText === undefined || images === undefined) return undefined;
  const { preview } = await previews.preview(subject, desired.lifecyclePolicyText, images, now);
  return previewStatus(preview);
}

/** A preview in the form status.lifecyclePreview has. */
export function previewStatus(preview: KeptPreview): LifecyclePreview {
  return { imagesToExpire: preview.imagesToExpire, imagesToArchive: preview.imagesToArchive, evaluatedAt: rfc3339(preview.evaluatedAt), sample: preview.sample };
}

export const LIFECYCLE_POLICY_UNSAFE = 'LifecyclePolicyUnsafe';

/**
 * The safety gate of spec.lifecyclePolicy.maxImagesToExpire: a message (for a Stalled condition with
 * reason LIFECYCLE_POLICY_UNSAFE) when `changes` would put a lifecycle policy whose preview expires
 * more images than allowed; undefined when the change may go ahead. A policy already in place is
 * not gated: the gate is about not applying, and removing a policy is always safe.
 */
export function lifecycleGate(desired: DesiredRepository, changes: RepositoryChanges, preview: LifecyclePreview | undefined): string | undefined {
  const limit = desired.maxImagesToExpire;
  if (limit === undefined || preview === undefined) return undefined;
  if (changes.lifecyclePolicy === undefined || changes.lifecyclePolicy === 'delete') return undefined;
  if (preview.imagesToExpire <= limit) return undefined;
  const sample = preview.sample.length > 0 ? ` (first: ${preview.sample.slice(0, 5).join(', ')})` : '';
  return `the lifecycle policy was not applied: it would expire ${preview.imagesToExpire} images now, more than spec.lifecyclePolicy.maxImagesToExpire ${limit}${sample}; raise the limit or change the policy`;
}

/** The Event text announcing a policy change that expires images, before it is applied; undefined when it expires none. */
export function lifecycleChangeNotice(changes: RepositoryChanges, preview: LifecyclePreview | undefined): string | undefined {
  if (preview === undefined || changes.lifecyclePolicy === undefined || changes.lifecyclePolicy === 'delete') return undefined;
  if (preview.imagesToExpire === 0 && preview.imagesToArchive === 0) return undefined;
  return `applying a lifecycle policy that would expire ${preview.imagesToExpire} and archive ${preview.imagesToArchive} images now`;
}
