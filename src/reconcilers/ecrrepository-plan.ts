import { OWNER_TAG, SPEC_DEFAULTS, type ECRRepository, type ECRRepositoryStatus, type EncryptionType, type ImageTagMutability } from '../api/types.js';
import type { LiveRepository, RepositoryChanges, RepositoryDetails, RepositorySettings } from '../aws/ecr.js';
import { policiesEqual } from '../aws/policy.js';

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
  repositoryPolicyText: string | undefined;
}

export function ownerValue(obj: ECRRepository): string {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}

export function desiredRepository(obj: ECRRepository, defaultTags: Record<string, string> | undefined): DesiredRepository {
  const spec = obj.spec;
  const encryptionType: EncryptionType = spec.encryptionConfiguration?.encryptionType ?? SPEC_DEFAULTS.encryptionType;
  const encryption: RepositorySettings['encryption'] = { encryptionType };
  if (encryptionType === 'KMS' && spec.encryptionConfiguration?.kmsKey) encryption.kmsKey = spec.encryptionConfiguration.kmsKey;
  return {
    name: spec.repositoryName,
    settings: {
      imageTagMutability: spec.imageTagMutability ?? SPEC_DEFAULTS.imageTagMutability,
      scanOnPush: spec.scanOnPush ?? SPEC_DEFAULTS.scanOnPush,
      encryption,
    },
    tags: { ...(defaultTags ?? {}), ...(spec.tags ?? {}), [OWNER_TAG]: ownerValue(obj) },
    lifecyclePolicyText: nonEmpty(spec.lifecyclePolicy?.policyText),
    repositoryPolicyText: nonEmpty(spec.repositoryPolicyText),
  };
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

export type Ownership = 'ours' | 'unowned' | { otherOwner: string };

export function ownershipOf(tags: Record<string, string>, obj: ECRRepository): Ownership {
  const owner = tags[OWNER_TAG];
  if (owner === undefined) return 'unowned';
  return owner === ownerValue(obj) ? 'ours' : { otherOwner: owner };
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

/** The calls that bring the live repository to the desired one; an empty object when none is needed. */
export function changesBetween(desired: DesiredRepository, live: LiveRepository, details: RepositoryDetails): RepositoryChanges {
  const changes: RepositoryChanges = {};
  if (desired.settings.imageTagMutability !== live.imageTagMutability) changes.imageTagMutability = desired.settings.imageTagMutability;
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

  const toSet = Object.fromEntries(Object.entries(desired.tags).filter(([k, v]) => details.tags[k] !== v));
  if (Object.keys(toSet).length > 0) changes.tagsToSet = toSet;
  const toRemove = Object.keys(details.tags).filter((k) => !(k in desired.tags) && !reservedTag(k));
  if (toRemove.length > 0) changes.tagKeysToRemove = toRemove;
  return changes;
}

/** Names of what a change set touches, for events and logs. */
export function describeChanges(changes: RepositoryChanges): string[] {
  const out: string[] = [];
  if (changes.imageTagMutability) out.push(`imageTagMutability=${changes.imageTagMutability}`);
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

/** The status fields that describe the repository as AWS has it. */
export function repositoryStatus(
  live: LiveRepository,
  imageCount: number,
): Pick<ECRRepositoryStatus, 'repositoryArn' | 'repositoryUri' | 'registryId' | 'creationDate' | 'imageCount' | 'imageTagMutability' | 'encryptionType' | 'imageScanningConfiguration'> {
  return {
    repositoryArn: live.arn,
    repositoryUri: live.uri,
    registryId: live.registryId,
    creationDate: live.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    imageCount,
    imageTagMutability: live.imageTagMutability as ImageTagMutability,
    encryptionType: live.encryption.encryptionType as EncryptionType,
    imageScanningConfiguration: { scanOnPush: live.scanOnPush },
  };
}
