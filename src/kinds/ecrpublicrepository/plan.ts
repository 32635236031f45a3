/**
 * The pure decisions of the ECRPublicRepository reconciler: what the repository should look like,
 * who owns an existing one, and which calls bring it from what ECR Public has to what the spec says.
 */
import { ownerTagValue } from '../../api/owner.js';
import { OWNER_TAG } from '../../api/types.js';
import type { LivePublicCatalog, LivePublicRepository, PublicCatalogInput, PublicRepositoryChanges, PublicRepositoryDetails } from '../../aws/ecr-public.js';
import { policiesEqual } from '../../aws/policy.js';
import type { LogoImage } from './logo.js';
import type { ECRPublicRepository, ECRPublicRepositoryStatus } from './types.js';

export interface DesiredPublicRepository {
  name: string;
  /** The catalog data without the logo, as the spec has it. */
  catalog: Omit<PublicCatalogInput, 'logo'>;
  /** The logo read from its ConfigMap or Secret, when the spec names one. */
  logo?: LogoImage;
  policyText: string | undefined;
  /** Provider defaultTags, overlaid by the spec's tags, plus the owner tag. */
  tags: Record<string, string>;
}

export function ownerValue(obj: ECRPublicRepository, clusterName?: string): string {
  return ownerTagValue(obj.metadata.namespace, obj.metadata.name, clusterName);
}

export function desiredPublicRepository(
  obj: ECRPublicRepository,
  defaultTags: Record<string, string> | undefined,
  clusterName: string | undefined,
  logo: LogoImage | undefined,
): DesiredPublicRepository {
  const spec = obj.spec;
  const source = spec.catalogData ?? {};
  const catalog: DesiredPublicRepository['catalog'] = {};
  if (source.description) catalog.description = source.description;
  if (source.aboutText) catalog.aboutText = source.aboutText;
  if (source.usageText) catalog.usageText = source.usageText;
  if (source.architectures?.length) catalog.architectures = [...new Set(source.architectures)];
  if (source.operatingSystems?.length) catalog.operatingSystems = [...new Set(source.operatingSystems)];
  const desired: DesiredPublicRepository = {
    name: spec.repositoryName,
    catalog,
    policyText: spec.repositoryPolicy?.trim() ? spec.repositoryPolicy : undefined,
    tags: { ...(defaultTags ?? {}), ...(spec.tags ?? {}), [OWNER_TAG]: ownerValue(obj, clusterName) },
  };
  if (logo) desired.logo = logo;
  return desired;
}

/** AWS's limit of tags on one repository, the owner tag included. */
export const MAX_TAGS = 50;

export function tagLimitProblem(desired: DesiredPublicRepository): string | undefined {
  const count = Object.keys(desired.tags).length;
  if (count <= MAX_TAGS) return undefined;
  return `spec.tags: ${count} tags with the provider's defaultTags and the operator's owner tag; AWS allows at most ${MAX_TAGS} on a repository`;
}

/** The catalog data to send: the whole of it, since PutRepositoryCatalogData replaces what is there. */
export function catalogInput(desired: DesiredPublicRepository): PublicCatalogInput {
  return desired.logo ? { ...desired.catalog, logo: desired.logo.bytes } : { ...desired.catalog };
}

function sameSet(a: string[] | undefined, b: string[] | undefined): boolean {
  const x = new Set(a ?? []);
  const y = new Set(b ?? []);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

/**
 * What differs in the catalog data, by name, for events; empty when it matches. Texts compare as
 * they are (absent equals empty); architectures and operating systems as sets. ECR Public answers
 * with a logo's URL only, so the logo is judged by what this object uploaded (status.logoDigest,
 * status.logoUrl): a new logo in the spec, or another URL than the one the upload got (someone
 * uploaded another), means a new upload. A logo set outside Kubernetes while the spec names none
 * is left as it is: the API has no call that only removes a logo.
 */
export function catalogDifferences(desired: DesiredPublicRepository, live: LivePublicCatalog, status: ECRPublicRepositoryStatus | undefined): string[] {
  const out: string[] = [];
  for (const field of ['description', 'aboutText', 'usageText'] as const) {
    if ((desired.catalog[field] ?? '') !== (live[field] ?? '')) out.push(field);
  }
  if (!sameSet(desired.catalog.architectures, live.architectures)) out.push('architectures');
  if (!sameSet(desired.catalog.operatingSystems, live.operatingSystems)) out.push('operatingSystems');
  if (desired.logo) {
    if (desired.logo.digest !== status?.logoDigest || !live.logoUrl || live.logoUrl !== status.logoUrl) out.push('logo');
  } else if (status?.logoDigest !== undefined) {
    out.push('logo');
  }
  return out;
}

/** Tag keys that AWS reserves for itself and that no caller may remove. */
function reservedTag(key: string): boolean {
  return key.startsWith('aws:');
}

export interface PublicChanges extends PublicRepositoryChanges {
  /** The catalog fields that differ (the Put carries them all). */
  catalogFields?: string[];
}

export function changesBetween(desired: DesiredPublicRepository, details: PublicRepositoryDetails, status: ECRPublicRepositoryStatus | undefined): PublicChanges {
  const changes: PublicChanges = {};
  const fields = catalogDifferences(desired, details.catalog, status);
  if (fields.length > 0) {
    changes.catalog = catalogInput(desired);
    changes.catalogFields = fields;
  }
  if (desired.policyText === undefined) {
    if (details.policyText !== undefined) changes.policy = 'delete';
  } else if (!policiesEqual(desired.policyText, details.policyText)) {
    changes.policy = { text: desired.policyText };
  }
  const toSet = Object.fromEntries(Object.entries(desired.tags).filter(([k, v]) => details.tags[k] !== v));
  if (Object.keys(toSet).length > 0) changes.tagsToSet = toSet;
  const toRemove = Object.keys(details.tags).filter((k) => !(k in desired.tags) && !reservedTag(k));
  if (toRemove.length > 0) changes.tagKeysToRemove = toRemove;
  return changes;
}

export function describeChanges(changes: PublicChanges): string[] {
  const out: string[] = [];
  if (changes.catalog) out.push(`catalog data (${(changes.catalogFields ?? []).join(', ')})`);
  if (changes.policy) out.push(changes.policy === 'delete' ? 'repository policy removed' : 'repository policy');
  if (changes.tagsToSet) out.push(`tags set: ${Object.keys(changes.tagsToSet).sort().join(', ')}`);
  if (changes.tagKeysToRemove) out.push(`tags removed: ${[...changes.tagKeysToRemove].sort().join(', ')}`);
  return out;
}

export function isEmpty(changes: PublicChanges): boolean {
  return describeChanges(changes).length === 0;
}

export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The status fields that describe the repository as ECR Public has it. */
export function repositoryStatus(live: LivePublicRepository, alias: string | undefined): Partial<ECRPublicRepositoryStatus> {
  return {
    repositoryArn: live.arn,
    repositoryUri: live.uri,
    registryId: live.registryId,
    registryAlias: alias,
    creationDate: rfc3339(live.createdAt),
  };
}

/**
 * The status fields of the logo after a Put or Create answered with `catalog`: the URL it got and
 * the digest of what was sent; both absent when no logo was sent.
 */
export function logoStatus(desired: DesiredPublicRepository, catalog: LivePublicCatalog): Pick<ECRPublicRepositoryStatus, 'logoUrl' | 'logoDigest'> {
  return desired.logo ? { logoUrl: catalog.logoUrl, logoDigest: desired.logo.digest } : { logoUrl: catalog.logoUrl, logoDigest: undefined };
}

// --- ownership, as ECRRepository decides it -----------------------------------------------------------

/**
 * - `ours`: the owner tag names this object;
 * - `legacy`: the operator now runs with --cluster-name, and the tag holds this object's value
 *   without one on the very repository its status records: retagged with the new value;
 * - `recorded`: no owner tag, on the very repository this object's status records: still this
 *   object's, the tag is restored as drift;
 * - `unowned`: no owner tag on a repository this object never recorded;
 * - otherwise another owner.
 */
export type Ownership = 'ours' | 'legacy' | 'recorded' | 'unowned' | { otherOwner: string; legacyOfThisName?: boolean };

export interface OwnershipContext {
  clusterName?: string | undefined;
  liveArn?: string;
  liveCreatedAt?: Date;
}

/** The live repository is the one this object's status records: same ARN and, where known, the same creation time. */
export function recordedByObject(obj: ECRPublicRepository, ctx: OwnershipContext): boolean {
  const recorded = obj.status?.repositoryArn;
  if (!recorded || ctx.liveArn === undefined || recorded !== ctx.liveArn) return false;
  const createdAt = obj.status?.creationDate;
  return !createdAt || ctx.liveCreatedAt === undefined || createdAt === rfc3339(ctx.liveCreatedAt);
}

export function ownershipOf(tags: Record<string, string>, obj: ECRPublicRepository, ctx: OwnershipContext = {}): Ownership {
  const owner = tags[OWNER_TAG];
  if (owner === undefined) return recordedByObject(obj, ctx) ? 'recorded' : 'unowned';
  if (owner === ownerValue(obj, ctx.clusterName)) return 'ours';
  const legacy = Boolean(ctx.clusterName?.trim()) && owner === ownerValue(obj);
  if (legacy && ctx.liveArn !== undefined && obj.status?.repositoryArn === ctx.liveArn) return 'legacy';
  return legacy ? { otherOwner: owner, legacyOfThisName: true } : { otherOwner: owner };
}

export function ownedByObject(ownership: Ownership): ownership is 'ours' | 'legacy' | 'recorded' {
  return ownership === 'ours' || ownership === 'legacy' || ownership === 'recorded';
}

/**
 * How a message shown to the tenant names the owner: by name only when it is in this object's
 * namespace (and cluster); otherwise "another object", so that trying repository names never tells
 * a tenant what other namespaces hold.
 */
export function ownerForTenant(owner: string, obj: ECRPublicRepository, clusterName?: string): string {
  const cluster = clusterName?.trim();
  const prefix = `${cluster ? `${cluster}/` : ''}${obj.metadata.namespace}/`;
  if (!owner.startsWith(prefix)) return 'another object';
  const name = owner.slice(prefix.length);
  if (!name || name.includes('/') || name.includes('_')) return 'another object';
  return `ECRPublicRepository ${obj.metadata.namespace}/${name}`;
}

/** The account an ECR Public repository ARN (arn:PARTITION:ecr-public::ACCOUNT:repository/NAME) is in. */
export function repositoryAccount(arn: string | undefined): string | undefined {
  return /^arn:[^:]+:ecr-public:[^:]*:(\d{12}):repository\/.+$/.exec(arn ?? '')?.[1];
}

export const PROVIDER_ACCOUNT_CHANGED = 'ProviderAccountChanged';

/**
 * Why this object must not act through its provider now: the provider resolves to another account
 * than the repository its status records. ECR Public has one region, so only the account can move.
 */
export function providerMoved(obj: ECRPublicRepository, account: string | undefined): { reason: string; message: string } | undefined {
  const recorded = repositoryAccount(obj.status?.repositoryArn);
  if (!recorded || account === undefined || account === recorded) return undefined;
  return {
    reason: PROVIDER_ACCOUNT_CHANGED,
    message: `AWSProvider ${obj.metadata.namespace}/${obj.spec.providerRef.name} now resolves to account ${account}, but this object's public repository ${obj.spec.repositoryName} is in account ${recorded} (status.repositoryArn); nothing is created or deleted until the provider resolves to account ${recorded} again`,
  };
}
