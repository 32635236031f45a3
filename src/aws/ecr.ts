/**
 * The ECR gateway: how to ask ECR about repositories and how to change them, in the
 * observe / create / update / delete shape of crossplane's external clients. It decides nothing:
 * the reconciler computes what differs and passes only the changes it wants.
 *
 * Every failure leaves here as an `AwsError` (see errors.ts). Answers that mean "absent" where
 * absence is a normal state (no lifecycle policy, repository already deleted) are returned as such;
 * the AWS client's metrics hook (clients.ts) counts them as successful calls, so that the error
 * rate of the call metrics means trouble.
 */
import {
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type ECRClient,
  type ImageTagMutabilityExclusionFilter,
  type Repository,
  type Tag,
} from '@aws-sdk/client-ecr';
import type { LifecycleImage } from '../lifecycle/evaluator.js';
import { classifyAwsError, isAwsError, isExpectedAbsence, type AwsError } from './errors.js';
import { summarizeImages, toLifecycleImage, type ImageInventory } from './images.js';
import { NAMES_PER_CALL, RepositoryDirectory, type DirectorySource } from './repository-directory.js';

export type ImageTagMutabilitySetting = 'MUTABLE' | 'IMMUTABLE' | 'MUTABLE_WITH_EXCLUSION' | 'IMMUTABLE_WITH_EXCLUSION';
export type EncryptionTypeSetting = 'AES256' | 'KMS' | 'KMS_DSSE';

export interface ExclusionFilter {
  filter: string;
  filterType: 'WILDCARD';
}

export interface RepositorySettings {
  imageTagMutability: ImageTagMutabilitySetting;
  /** Only with the `*_WITH_EXCLUSION` modes (ECR refuses them otherwise); absent means none. */
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  scanOnPush: boolean;
  encryption: { encryptionType: EncryptionTypeSetting; kmsKey?: string };
}

export interface LiveRepository extends RepositorySettings {
  name: string;
  arn: string;
  uri: string;
  registryId: string;
  createdAt: Date;
}

/** A repository's two policies, absent when it has none. */
export interface RepositoryPolicies {
  lifecyclePolicyText?: string;
  repositoryPolicyText?: string;
}

export interface RepositoryDetails extends RepositoryPolicies {
  tags: Record<string, string>;
  /** Active images (by digest) over every page; an image with three tags counts once. */
  imageCount: number;
  /** Counts, size and times of the images, active and archived (set by `details`). */
  inventory?: ImageInventory;
  /** Every image, active and archived, for the lifecycle preview (set by `details`). */
  images?: LifecycleImage[];
}

export interface RepositoryChanges {
  /** PutImageTagMutability: the mode, sent with `imageTagMutabilityExclusionFilters` for `*_WITH_EXCLUSION`. */
  imageTagMutability?: ImageTagMutabilitySetting;
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  scanOnPush?: boolean;
  lifecyclePolicy?: { text: string } | 'delete';
  repositoryPolicy?: { text: string } | 'delete';
  /** Applied after `tagKeysToRemove`, so a key in both ends up set. */
  tagsToSet?: Record<string, string>;
  tagKeysToRemove?: string[];
}

/** What the gateway needs of an ECRClient; tests pass a small fake. */
export type EcrClientLike = Pick<ECRClient, 'send'>;

export interface EcrGatewayOptions {
  client: EcrClientLike;
  /**
   * The registry view to share with other gateways of the same registry (account, region and
   * endpoint), so that one sweep's batch read serves every provider of an account; a private one by default.
   */
  registry?: RepositoryDirectory<LiveRepository>;
  /** How long a repository read serves `describe` (private view only); default 5 s. */
  snapshotMaxAgeMs?: number;
  /** Milliseconds, for snapshot ages; default Date.now. */
  clock?: () => number;
}

/** ECR's page size limit for DescribeImages. */
const PAGE_SIZE = 1000;
/** ECR's limit of tags in one TagResource call (and on a repository). */
const TAGS_PER_CALL = 50;
const DEFAULT_SNAPSHOT_MAX_AGE_MS = 5_000;

/** A view of one registry's repositories, to share between the gateways of that registry. */
export function createRegistryView(opts: { maxAgeMs: number; clock?: () => number }): RepositoryDirectory<LiveRepository> {
  return new RepositoryDirectory<LiveRepository>({
    nameOf: (repo) => repo.name,
    maxAgeMs: opts.maxAgeMs,
    clock: opts.clock ?? Date.now,
  });
}

export { isExpectedAbsence };

export class EcrGateway {
  private readonly client: EcrClientLike;
  private readonly directory: RepositoryDirectory<LiveRepository>;
  private readonly source: DirectorySource<LiveRepository>;
  private readonly clock: () => number;
  /**
   * The last full read (tags, policies and images) of each repository that found it owned by the
   * object that asked (its uid), and when. An event or a write of someone else forgets it.
   */
  private readonly fullReads = new Map<string, { at: number; reader: string }>();

  constructor(opts: EcrGatewayOptions) {
    this.client = opts.client;
    this.clock = opts.clock ?? Date.now;
    this.source = { lookupMany: (names) => this.describeMany(names), lookup: (name) => this.describeOne(name) };
    this.directory = opts.registry ?? createRegistryView({ maxAgeMs: opts.snapshotMaxAgeMs ?? DEFAULT_SNAPSHOT_MAX_AGE_MS, ...(opts.clock ? { clock: opts.clock } : {}) });
  }

  /**
   * The repository's settings, or undefined when it does not exist. Served from what the sweep read
   * ahead for this registry unless `fresh` asks AWS for this repository now (a reconcile the user
   * asked for).
   */
  describe(name: string, opts: { fresh?: boolean } = {}): Promise<LiveRepository | undefined> {
    return opts.fresh ? this.directory.refresh(name, this.source) : this.directory.get(name, this.source);
  }

  /** Only the tags of an existing repository: all that deciding ownership needs. */
  async tags(live: LiveRepository): Promise<Record<string, string>> {
    try {
      const out = await this.call('ListTagsForResource', () => this.client.send(new ListTagsForResourceCommand({ resourceArn: live.arn })));
      return fromTagList(out.tags);
    } catch (err) {
      if (isAwsError(err, 'NotFound')) this.forget(live.name);
      throw err;
    }
  }

  /**
   * Tags, policies and image inventory of an existing repository, read live (never cached). Pass
   * the tags already read by `tags()` (to decide ownership before paying for the image listing) and
   * they are not read again.
   */
  async details(live: LiveRepository, known: { tags?: Record<string, string> } = {}): Promise<RepositoryDetails> {
    const repo = repositoryRef(live);
    const [tags, lifecyclePolicyText, repositoryPolicyText, images] = await Promise.allSettled([
      known.tags !== undefined
        ? Promise.resolve({ ...known.tags })
        : this.call('ListTagsForResource', () => this.client.send(new ListTagsForResourceCommand({ resourceArn: live.arn }))).then(
          (out) => fromTagList(out.tags),
        ),
      this.call('GetLifecyclePolicy', () => this.client.send(new GetLifecyclePolicyCommand(repo)), 'absent').then(
        (out) => out?.lifecyclePolicyText,
      ),
      this.call('GetRepositoryPolicy', () => this.client.send(new GetRepositoryPolicyCommand(repo)), 'absent').then(
        (out) => out?.policyText,
      ),
      this.listImages(live),
    ]);
    if (tags.status === 'rejected' || lifecyclePolicyText.status === 'rejected' || repositoryPolicyText.status === 'rejected' || images.status === 'rejected') {
      throw this.failure(live.name, [tags, lifecyclePolicyText, repositoryPolicyText, images]);
    }
    const inventory = summarizeImages(images.value);
    const details: RepositoryDetails = { tags: tags.value, imageCount: inventory.imageCount, inventory, images: images.value };
    if (lifecyclePolicyText.value !== undefined) details.lifecyclePolicyText = lifecyclePolicyText.value;
    if (repositoryPolicyText.value !== undefined) details.repositoryPolicyText = repositoryPolicyText.value;
    return details;
  }

  /** Only the lifecycle policy and the repository policy: what a read between full reads compares. */
  async policies(live: LiveRepository): Promise<RepositoryPolicies> {
    const repo = repositoryRef(live);
    const [lifecyclePolicyText, repositoryPolicyText] = await Promise.allSettled([
      this.call('GetLifecyclePolicy', () => this.client.send(new GetLifecyclePolicyCommand(repo)), 'absent').then((out) => out?.lifecyclePolicyText),
      this.call('GetRepositoryPolicy', () => this.client.send(new GetRepositoryPolicyCommand(repo)), 'absent').then((out) => out?.policyText),
    ]);
    if (lifecyclePolicyText.status === 'rejected' || repositoryPolicyText.status === 'rejected') {
      throw this.failure(live.name, [lifecyclePolicyText, repositoryPolicyText]);
    }
    const policies: RepositoryPolicies = {};
    if (lifecyclePolicyText.value !== undefined) policies.lifecyclePolicyText = lifecyclePolicyText.value;
    if (repositoryPolicyText.value !== undefined) policies.repositoryPolicyText = repositoryPolicyText.value;
    return policies;
  }

  /** Records a full read of the repository (`details` after `tags`) that found it owned by `reader`. */
  recordFullRead(name: string, reader: string): void {
    this.fullReads.set(name, { at: this.clock(), reader });
  }

  /** Whether `reader` read the repository in full within the last `withinMs`, and nothing said since that it changed. */
  readInFullWithin(name: string, reader: string, withinMs: number): boolean {
    const read = this.fullReads.get(name);
    return read !== undefined && read.reader === reader && this.clock() - read.at < withinMs;
  }

  /** An event says the repository's images changed: the next reconcile reads them (and its tags) again. */
  imagesChanged(name: string): void {
    this.fullReads.delete(name);
  }

  /** One CreateRepository carrying every setting and tag, so a new repository is never half set up. */
  async create(name: string, settings: RepositorySettings, tags: Record<string, string>): Promise<LiveRepository> {
    const type = settings.encryption.encryptionType;
    const encryption = type === 'KMS' || type === 'KMS_DSSE'
      ? { encryptionType: type, ...(settings.encryption.kmsKey ? { kmsKey: settings.encryption.kmsKey } : {}) }
      : { encryptionType: 'AES256' as const };
    const filters = exclusionFiltersFor(settings.imageTagMutability, settings.imageTagMutabilityExclusionFilters);
    const tagList = toTagList(tags);
    try {
      const out = await this.call('CreateRepository', () =>
        this.client.send(
          new CreateRepositoryCommand({
            repositoryName: name,
            imageTagMutability: settings.imageTagMutability,
            ...(filters ? { imageTagMutabilityExclusionFilters: filters } : {}),
            imageScanningConfiguration: { scanOnPush: settings.scanOnPush },
            encryptionConfiguration: encryption,
            ...(tagList.length > 0 ? { tags: tagList } : {}),
          }),
        ),
      );
      const live = toLive(out.repository ?? {}, { name, settings });
      this.directory.put(live);
      return live;
    } catch (err) {
      // Exists already (someone else's, or our earlier attempt): the next describe asks AWS.
      this.forget(name);
      throw err;
    }
  }

  /**
   * Applies only the given changes. Independent changes run concurrently; tag removal precedes
   * tag addition so that replacing tags never goes over ECR's limit of 50 in between. When calls
   * fail, the others still complete and the most actionable failure is thrown (see `failure`).
   */
  async update(live: LiveRepository, changes: RepositoryChanges): Promise<void> {
    const repo = repositoryRef(live);
    const patched: LiveRepository = { ...live, encryption: { ...live.encryption } };
    const settingsTasks: Promise<void>[] = [];
    const otherTasks: Promise<void>[] = [];

    const mutability = changes.imageTagMutability;
    if (mutability !== undefined) {
      const filters = exclusionFiltersFor(mutability, changes.imageTagMutabilityExclusionFilters);
      settingsTasks.push(
        this.call('PutImageTagMutability', () =>
          this.client.send(new PutImageTagMutabilityCommand({ ...repo, imageTagMutability: mutability, ...(filters ? { imageTagMutabilityExclusionFilters: filters } : {}) })),
        ).then(() => {
          patched.imageTagMutability = mutability;
          delete patched.imageTagMutabilityExclusionFilters;
          if (filters) patched.imageTagMutabilityExclusionFilters = filters.map((f) => ({ filter: f.filter as string, filterType: 'WILDCARD' }));
        }),
      );
    }
    const scanOnPush = changes.scanOnPush;
    if (scanOnPush !== undefined) {
      settingsTasks.push(
        this.call('PutImageScanningConfiguration', () =>
          this.client.send(new PutImageScanningConfigurationCommand({ ...repo, imageScanningConfiguration: { scanOnPush } })),
        ).then(() => {
          patched.scanOnPush = scanOnPush;
        }),
      );
    }

    const lifecycle = changes.lifecyclePolicy;
    if (lifecycle === 'delete') {
      otherTasks.push(
        this.call('DeleteLifecyclePolicy', () => this.client.send(new DeleteLifecyclePolicyCommand(repo)), 'absent').then(noop),
      );
    } else if (lifecycle !== undefined) {
      otherTasks.push(
        this.call('PutLifecyclePolicy', () =>
          this.client.send(new PutLifecyclePolicyCommand({ ...repo, lifecyclePolicyText: lifecycle.text })),
        ).then(noop),
      );
    }

    const policy = changes.repositoryPolicy;
    if (policy === 'delete') {
      otherTasks.push(
        this.call('DeleteRepositoryPolicy', () => this.client.send(new DeleteRepositoryPolicyCommand(repo)), 'absent').then(noop),
      );
    } else if (policy !== undefined) {
      otherTasks.push(
        this.call('SetRepositoryPolicy', () =>
          this.client.send(new SetRepositoryPolicyCommand({ ...repo, policyText: policy.text })),
        ).then(noop),
      );
    }

    const toRemove = changes.tagKeysToRemove ?? [];
    const toSet = toTagList(changes.tagsToSet ?? {});
    if (toRemove.length > 0 || toSet.length > 0) otherTasks.push(this.retag(live.arn, toRemove, toSet));

    const settingsResults = await Promise.allSettled(settingsTasks);
    const otherResults = await Promise.allSettled(otherTasks);
    if (settingsResults.some((r) => r.status === 'rejected')) {
      // A failed call may still have taken effect (a timeout after AWS applied it): ask AWS next time.
      this.forget(live.name);
    } else if (settingsTasks.length > 0) {
      this.directory.put(patched);
    }

    const failed = [...settingsResults, ...otherResults];
    if (failed.some((r) => r.status === 'rejected')) throw this.failure(live.name, failed);
  }

  /** Deletes the repository with its images. A repository that is already gone counts as deleted. */
  async delete(name: string): Promise<void> {
    try {
      await this.call(
        'DeleteRepository',
        () => this.client.send(new DeleteRepositoryCommand({ repositoryName: name, force: true })),
        'absent',
      );
    } finally {
      this.forget(name);
    }
  }

  /**
   * Reads the settings of these repositories in as few calls as ECR allows (100 names a call),
   * for a sweep about to reconcile them; `validForMs` is how long the sweep takes to get to them.
   */
  prefetch(names: readonly string[], validForMs: number): Promise<number> {
    return this.directory.prefetch(names, this.source, validForMs);
  }

  /** The repository is gone or changed by a write that failed: nothing remembered of it serves again. */
  private forget(name: string): void {
    this.directory.forget(name);
    this.fullReads.delete(name);
  }

  /** Drops what the gateway remembers about one repository, or about all of them. */
  invalidate(name?: string): void {
    this.directory.invalidate(name);
    if (name === undefined) this.fullReads.clear();
    else this.fullReads.delete(name);
  }

  /**
   * The one error to report when several concurrent calls on a repository failed. A vanished
   * repository explains every other failure, so it comes first (and is forgotten, so the next
   * describe asks AWS); then a failure the user must fix; then the first one.
   */
  private failure(name: string, results: PromiseSettledResult<unknown>[]): AwsError {
    const failures = results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => classifyAwsError(r.reason, 'Unknown'));
    const gone = failures.find((f) => f.code === 'RepositoryNotFoundException');
    if (gone) {
      this.forget(name);
      return gone;
    }
    return failures.find((f) => !f.retryable) ?? (failures[0] as AwsError);
  }

  private async retag(arn: string, toRemove: string[], toSet: Tag[]): Promise<void> {
    for (const keys of chunks(toRemove, TAGS_PER_CALL)) {
      await this.call('UntagResource', () => this.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: keys })));
    }
    for (const tags of chunks(toSet, TAGS_PER_CALL)) {
      await this.call('TagResource', () => this.client.send(new TagResourceCommand({ resourceArn: arn, tags })));
    }
  }

  /**
   * DescribeRepositories by name, up to 100 names a call. ECR refuses the whole call when one name
   * does not exist and names it in its message: that name is left out and the rest asked again
   * (or, when the message names none of them, each half on its own).
   */
  private async describeMany(names: string[]): Promise<LiveRepository[]> {
    if (names.length === 0) return [];
    if (names.length > NAMES_PER_CALL) {
      const parts: LiveRepository[][] = [];
      for (let i = 0; i < names.length; i += NAMES_PER_CALL) parts.push(await this.describeMany(names.slice(i, i + NAMES_PER_CALL)));
      return parts.flat();
    }
    let left = names;
    for (;;) {
      try {
        const out = await this.call('DescribeRepositories', () => this.client.send(new DescribeRepositoriesCommand({ repositoryNames: left })));
        return (out.repositories ?? []).filter((r) => r.repositoryName).map((r) => toLive(r));
      } catch (err) {
        if (!isAwsError(err, 'NotFound') || err.code !== 'RepositoryNotFoundException') throw err;
        const missing = /repository with name '([^']+)'/.exec(err.message)?.[1];
        if (left.length === 1) return [];
        if (missing === undefined || !left.includes(missing)) {
          const half = Math.ceil(left.length / 2);
          return [...(await this.describeMany(left.slice(0, half))), ...(await this.describeMany(left.slice(half)))];
        }
        left = left.filter((n) => n !== missing);
      }
    }
  }

  private async describeOne(name: string): Promise<LiveRepository | undefined> {
    const out = await this.call(
      'DescribeRepositories',
      () => this.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })),
      'absent',
    );
    const repo = out?.repositories?.find((r) => r.repositoryName === name);
    return repo ? toLive(repo) : undefined;
  }

  /**
   * Every image, active and archived, from DescribeImages pages of 1,000: one entry per image (not
   * per tag, as ListImages has), so no more pages than ListImages needed for the active ones.
   */
  private async listImages(live: LiveRepository): Promise<LifecycleImage[]> {
    const images: LifecycleImage[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.call('DescribeImages', () =>
        this.client.send(
          new DescribeImagesCommand({
            ...repositoryRef(live),
            // Without this filter ECR answers with ACTIVE images only.
            filter: { imageStatus: 'ANY' },
            maxResults: PAGE_SIZE,
            ...(token ? { nextToken: token } : {}),
          }),
        ),
      );
      for (const detail of out.imageDetails ?? []) {
        const image = toLifecycleImage(detail);
        if (image) images.push(image);
      }
      nextToken = out.nextToken;
    } while (nextToken);
    return images;
  }

  /**
   * Sends one request and classifies its failure. With `absent`, the operation's expected
   * "not found" (EXPECTED_ABSENCE) means "nothing there" and yields undefined. Metrics are the AWS
   * client's (clients.ts), which counts the same answers as successes.
   */
  private call<T>(operation: string, send: () => Promise<T>): Promise<T>;
  private call<T>(operation: string, send: () => Promise<T>, absent: 'absent'): Promise<T | undefined>;
  private async call<T>(operation: string, send: () => Promise<T>, absent?: 'absent'): Promise<T | undefined> {
    try {
      return await send();
    } catch (err) {
      const classified = classifyAwsError(err, operation);
      if (absent !== undefined && isExpectedAbsence(operation, classified)) return undefined;
      throw classified;
    }
  }
}

function noop(): void {}

/** Names the repository in its own registry (another account's registry is possible in ECR). */
function repositoryRef(live: LiveRepository): { repositoryName: string; registryId?: string } {
  return live.registryId ? { repositoryName: live.name, registryId: live.registryId } : { repositoryName: live.name };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function fromTagList(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? '';
  return out;
}

/** The filters to send with a mutability mode: only the `*_WITH_EXCLUSION` modes take them. */
function exclusionFiltersFor(mode: ImageTagMutabilitySetting, filters: ExclusionFilter[] | undefined): ImageTagMutabilityExclusionFilter[] | undefined {
  if (!mode.endsWith('_WITH_EXCLUSION') || !filters || filters.length === 0) return undefined;
  return filters.map((f) => ({ filter: f.filter, filterType: f.filterType }));
}

const MUTABILITY_VALUES: readonly ImageTagMutabilitySetting[] = ['MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION'];
const ENCRYPTION_VALUES: readonly EncryptionTypeSetting[] = ['AES256', 'KMS', 'KMS_DSSE'];

/**
 * ECR's repository description in our terms, faithfully: all four mutability modes with their
 * exclusion filters, and all three encryption types. A value this API does not know yet keeps
 * its nearest known meaning (an unknown `IMMUTABLE...` is immutable; any other encryption is KMS).
 * `fallback` fills what a CreateRepository answer may leave out.
 */
function toLive(repo: Repository, fallback?: { name: string; settings: RepositorySettings }): LiveRepository {
  const mutability = repo.imageTagMutability ?? fallback?.settings.imageTagMutability ?? 'MUTABLE';
  const type = repo.encryptionConfiguration?.encryptionType ?? fallback?.settings.encryption.encryptionType ?? 'AES256';
  const encryptionType: EncryptionTypeSetting = (ENCRYPTION_VALUES as readonly string[]).includes(type) ? (type as EncryptionTypeSetting) : 'KMS';
  const kmsKey = repo.encryptionConfiguration?.kmsKey ?? fallback?.settings.encryption.kmsKey;
  const imageTagMutability: ImageTagMutabilitySetting = (MUTABILITY_VALUES as readonly string[]).includes(mutability)
    ? (mutability as ImageTagMutabilitySetting)
    : mutability.startsWith('IMMUTABLE') ? 'IMMUTABLE' : 'MUTABLE';
  const filters = repo.imageTagMutability !== undefined
    ? repo.imageTagMutabilityExclusionFilters
    : fallback?.settings.imageTagMutabilityExclusionFilters;
  const live: LiveRepository = {
    name: repo.repositoryName ?? fallback?.name ?? '',
    arn: repo.repositoryArn ?? '',
    uri: repo.repositoryUri ?? '',
    registryId: repo.registryId ?? '',
    createdAt: repo.createdAt ?? new Date(0),
    imageTagMutability,
    scanOnPush: repo.imageScanningConfiguration?.scanOnPush ?? fallback?.settings.scanOnPush ?? false,
    encryption: encryptionType !== 'AES256' && kmsKey ? { encryptionType, kmsKey } : { encryptionType },
  };
  if (filters && filters.length > 0) {
    live.imageTagMutabilityExclusionFilters = filters.map((f) => ({ filter: f.filter ?? '', filterType: 'WILDCARD' }));
  }
  return live;
}
