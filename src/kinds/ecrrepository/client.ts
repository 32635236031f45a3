import { findCondition, READY } from '../../api/conditions.js';
import { ADOPT_ANNOTATION, FINALIZER, FORCE_SYNC_ANNOTATION, OWNER_TAG } from '../../api/types.js';
import { ECR_REPOSITORY_REF, SPEC_DEFAULTS, type ECRRepository, type ECRRepositoryStatus } from './types.js';
import { type AWSProvider } from '../awsprovider/types.js';
import { validateECRRepositorySpec } from './validation.js';
import type { LiveRepository, RepositoryChanges } from '../../aws/ecr.js';
import type { ImageInventory } from '../../aws/images.js';
import { isAwsError } from '../../aws/errors.js';
import type { Logger } from '../../observability/logger.js';
import { ProviderConfigError, type Connection } from '../../providers/connections.js';
import type { ObjectKey, ReconcileResult } from '../../runtime/types.js';
import { awsFailure } from '../../reconcilers/aws-failure.js';
import { providerReadiness } from '../awsprovider/client.js';
import type { EventRecorderLike, Lookup, ObjectWriterLike } from '../../reconcilers/dependencies.js';
import { LifecyclePreviews } from '../../lifecycle/previews.js';
import {
  changesBetween,
  currentLifecyclePreview,
  describeChanges,
  desiredRepository,
  encryptionMismatch,
  isEmpty,
  LIFECYCLE_POLICY_UNSAFE,
  lifecycleChangeNotice,
  lifecycleGate,
  lifecyclePreview,
  liveAfter,
  ownedByObject,
  ownerForTenant,
  ownershipOf,
  providerMoved,
  repositorySettingsStatus,
  repositoryStatus,
  tagLimitProblem,
  type DesiredRepository,
} from './plan.js';
import {
  Failure,
  isoSeconds,
  ManagedReconciler,
  type Creation,
  type Deletion,
  type ExternalClient,
  type ManagedKind,
  type Observation,
  type ReconcileContext,
  type Update,
} from '../../reconcilers/managed.js';

/**
 * ECRRepository: the external client of the managed reconciler. It observes the repository in AWS
 * (desired = spec + provider defaultTags), decides ownership and what differs, and makes the calls
 * that close the gap; conditions, events, status writes and retries are the managed reconciler's.
 */


export interface ConnectionsLike {
  get(provider: AWSProvider): Promise<Connection>;
}

export interface EcrRepositoryReconcilerDeps {
  repositories: Lookup<ECRRepository>;
  providers: Lookup<AWSProvider>;
  connections: ConnectionsLike;
  writer: ObjectWriterLike;
  events: EventRecorderLike;
  logger: Logger;
  clock?: () => Date;
  /** --cluster-name: the prefix of the owner tag's value (see api/owner.ts). */
  clusterName?: string | undefined;
  /** The last lifecycle preview of each object; the reconciler keeps its own unless one is given. */
  lifecyclePreviews?: LifecyclePreviews;
  /**
   * How long a reconcile no user asked for may go without reading the repository's tags and images
   * again, for objects of this provider; undefined: every reconcile reads them. Set while the
   * provider's event queue is read, whose events say when tags or images change.
   */
  fullReadEveryMs?: (namespace: string, providerName: string) => number | undefined;
}

/** Ready reasons after which the next attempt must look before creating. */
const FOUND_EXISTING = new Set(['AlreadyExists', 'AlreadyOwned']);

/**
 * Whether the user asked for this reconcile, judged from what the object asks for against what its
 * status says was last served: a new object, a new generation, a force-sync value not yet served,
 * or the adopt annotation on an object stalled for lack of it. Kept in the object itself (not in
 * memory), so it holds across restarts and leader changes; the periodic sweep is the only reconcile
 * that finds nothing new and so may read the shared registry listing.
 */
export function userDriven(obj: ECRRepository): boolean {
  const status = obj.status;
  if (!status?.conditions?.length) return true;
  if (obj.metadata.generation !== status.observedGeneration) return true;
  const forceSync = obj.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
  if (forceSync !== undefined && forceSync !== status.lastForceSync) return true;
  return obj.metadata.annotations?.[ADOPT_ANNOTATION] === 'true' && findCondition(status.conditions, READY)?.reason === 'AlreadyExists';
}

export class EcrRepositoryReconciler {
  private readonly managed: ManagedReconciler<ECRRepository, ECRRepositoryStatus>;

  constructor(deps: EcrRepositoryReconcilerDeps) {
    const previews = deps.lifecyclePreviews ?? new LifecyclePreviews();
    const kind: ManagedKind<ECRRepository, ECRRepositoryStatus> = {
      name: 'ecrrepository',
      ref: ECR_REPOSITORY_REF,
      finalizer: FINALIZER,
      objects: deps.repositories,
      connect: (obj) => new EcrRepositoryClient(obj, deps, previews),
      // The object is gone: so is its kept lifecycle preview.
      forget: (key) => previews.forget(key.namespace, key.name),
      validate: (obj) => {
        const issues = validateECRRepositorySpec(obj.spec);
        return issues.length > 0 ? issues.map((i) => `${i.field}: ${i.message}`).join('; ') : undefined;
      },
      userDriven,
      served: (obj, now) => {
        const served: Partial<ECRRepositoryStatus> = { lastSyncTime: isoSeconds(now) };
        const forceSync = obj.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
        if (forceSync !== undefined) served.lastForceSync = forceSync;
        return served;
      },
      classify: (err) => (isAwsError(err) ? awsFailure(err) : undefined),
    };
    this.managed = new ManagedReconciler(kind, deps);
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return this.managed.reconcile(key);
  }
}

function available(live: LiveRepository): string {
  return `repository ${live.name} is available`;
}

/** One reconcile's view of one repository: the connection, the live repository and what differs. */
class EcrRepositoryClient implements ExternalClient<ECRRepository, ECRRepositoryStatus> {
  private connected: Promise<{ provider: AWSProvider; connection: Connection }> | undefined;
  private live: LiveRepository | undefined;
  private changes: RepositoryChanges = {};
  private adopting = false;
  /** The repository this object recorded lost its owner tag, which the update puts back. */
  private restoringOwnerTag = false;
  private created = false;
  /** What status reports of the images: the inventory when read, a bare count otherwise. */
  private images: number | ImageInventory = 0;

  constructor(
    private readonly obj: ECRRepository,
    private readonly deps: EcrRepositoryReconcilerDeps,
    private readonly previews: LifecyclePreviews,
  ) {}

  async observe(obj: ECRRepository, ctx: ReconcileContext): Promise<Observation<ECRRepositoryStatus>> {
    const desired = await this.desired();
    const status = obj.status;
    // A new object goes straight to CreateRepository: one call fewer per create, and an existing
    // repository answers with RepositoryAlreadyExistsException, which leads to the checks below.
    // Every later attempt looks first, so a stalled object never sends CreateRepository again.
    const firstAttempt = !status?.repositoryArn && !status?.conditions?.length;
    if (firstAttempt) return { exists: false, upToDate: false, status: {}, message: '' };
    await this.samePlace();
    const { connection } = await this.connection();
    const foundExisting = FOUND_EXISTING.has(findCondition(status?.conditions, READY)?.reason ?? '');
    const live = await connection.ecr.describe(desired.name, { fresh: ctx.userDriven || foundExisting });
    if (!live) return { exists: false, upToDate: false, status: {}, message: '' };
    if (!ctx.userDriven && !foundExisting) {
      const every = this.deps.fullReadEveryMs?.(obj.metadata.namespace ?? '', obj.spec.providerRef.name);
      if (every !== undefined && connection.ecr.readInFullWithin(live.name, this.reader(), every)) {
        const observation = await this.compareBetweenFullReads(desired, live);
        if (observation) return observation;
      }
    }
    return this.compare(desired, live);
  }

  async create(): Promise<Creation<ECRRepositoryStatus>> {
    const desired = await this.desired();
    const { connection } = await this.connection();
    let live: LiveRepository;
    try {
      live = await connection.ecr.create(desired.name, desired.settings, desired.tags);
    } catch (err) {
      if (!isAwsError(err) || err.code !== 'RepositoryAlreadyExistsException') throw err;
      const existing = await connection.ecr.describe(desired.name, { fresh: true });
      if (!existing) throw new Failure({ kind: 'progressing', reason: 'Creating', message: `repository ${desired.name} was reported existing but cannot be described` }, 'backoff', { cause: err });
      const observation = await this.compare(desired, existing);
      return { status: observation.status, observation };
    }
    this.live = live;
    this.created = true;
    // The repository carries our owner tag from here on; what CreateRepository cannot carry
    // (policies) is applied by update, after the repository is recorded in status.
    this.changes = changesBetween(desired, live, { tags: desired.tags });
    // A new repository holds no image: the preview of its policy acts on nothing.
    const status = { ...repositoryStatus(live, 0), lifecyclePreview: lifecyclePreview(desired, [], this.now()) };
    this.deps.logger.info({ controller: 'ecrrepository', namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, repository: live.name }, 'repository created');
    return {
      status,
      observation: { exists: true, upToDate: isEmpty(this.changes), status, message: available(live) },
      event: { reason: 'Created', message: `created ECR repository ${live.name} (${live.uri})` },
    };
  }

  async update(): Promise<Update<ECRRepositoryStatus>> {
    const live = this.live;
    if (!live) throw new Error('update before observe');
    const { connection } = await this.connection();
    await connection.ecr.update(live, this.changes);
    const what = describeChanges(this.changes);
    // The settings as they are now, exclusion filters included (observe reported them before the change).
    const { imageTagMutability, imageTagMutabilityExclusionFilters, imageScanningConfiguration } = repositoryStatus(liveAfter(live, this.changes), this.images);
    const status: Partial<ECRRepositoryStatus> = { imageTagMutability, imageTagMutabilityExclusionFilters, imageScanningConfiguration };
    if (this.created) return { status };
    this.deps.logger.info({ controller: 'ecrrepository', namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, changes: what }, 'repository updated');
    if (this.restoringOwnerTag) {
      return {
        status,
        event: { reason: 'OwnerTagRestored', message: `restored the owner tag ${OWNER_TAG} of ECR repository ${live.name}, which this object's status.repositoryArn records and which lost the tag outside Kubernetes; ${what.join('; ')}` },
      };
    }
    return {
      status,
      event: this.adopting
        ? { reason: 'Adopted', message: `adopted existing ECR repository ${live.name}; ${what.join('; ')}` }
        : { reason: 'Updated', message: `updated ECR repository ${live.name}: ${what.join('; ')}` },
    };
  }

  async delete(obj: ECRRepository): Promise<Deletion> {
    // A repository on its way out needs no preview of its policy.
    this.previews.forget(obj.metadata.namespace, obj.metadata.name);
    const policy = obj.spec.deletionPolicy ?? SPEC_DEFAULTS.deletionPolicy;
    const name = obj.spec.repositoryName;
    const everCreated = Boolean(obj.status?.repositoryArn);
    if (policy === 'Retain' || (policy === 'Orphan' && !everCreated)) {
      return { done: true, event: { reason: 'Retained', message: `ECR repository ${name} retained (deletionPolicy ${policy})` } };
    }
    const { connection } = await this.connection('Deleting');
    // Never delete or release a repository of the same name in another account or region.
    await this.samePlace('Deleting');
    const live = await connection.ecr.describe(name, { fresh: true });
    if (!live) return { done: true };
    const ownership = ownershipOf(await connection.ecr.tags(live), obj, { clusterName: this.deps.clusterName, liveArn: live.arn, liveCreatedAt: live.createdAt });
    if (!ownedByObject(ownership)) {
      this.deps.events.record(obj, 'Warning', 'NotOwned', `ECR repository ${name} is not owned by this object; it was left untouched`);
      return { done: true };
    }
    if (policy === 'Delete') {
      await connection.ecr.delete(name);
      return { done: true, event: { reason: 'Deleted', message: `deleted ECR repository ${name} with its images` } };
    }
    // A repository that already lost its owner tag is released as it is.
    if (ownership === 'recorded') {
      return { done: true, event: { reason: 'Orphaned', message: `released ECR repository ${name}: it had no owner tag left, repository left in AWS` } };
    }
    await connection.ecr.update(live, { tagKeysToRemove: [OWNER_TAG] });
    return { done: true, event: { reason: 'Orphaned', message: `released ECR repository ${name}: owner tag removed, repository left in AWS` } };
  }

  /**
   * Ownership, encryption and the calls that would bring the live repository to the spec. Ownership
   * is decided on the tags alone, before anything else is read: a repository that is not this
   * object's costs one tag read, however many images it holds.
   */
  private async compare(desired: DesiredRepository, live: LiveRepository): Promise<Observation<ECRRepositoryStatus>> {
    const { connection } = await this.connection();
    const tags = await connection.ecr.tags(live);
    // A legacy owner value of this very object is ours too: the desired tags retag it. So is the
    // repository this object recorded, if its tag was removed: the desired tags restore it.
    const ownership = ownershipOf(tags, this.obj, { clusterName: this.deps.clusterName, liveArn: live.arn, liveCreatedAt: live.createdAt });
    if (ownership === 'recorded') {
      this.restoringOwnerTag = true;
      this.deps.logger.info({ controller: 'ecrrepository', namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, repository: live.name }, 'the recorded repository lost its owner tag; restoring it');
    } else if (ownership === 'unowned') {
      if (this.obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
        throw new Failure({
          kind: 'stalled',
          reason: 'AlreadyExists',
          message: `repository ${desired.name} already exists and is not managed by any ECRRepository; annotate this object with ${ADOPT_ANNOTATION}="true" to adopt it`,
        }, 'stall');
      }
      this.adopting = true;
    } else if (!ownedByObject(ownership)) {
      // The tenant is told another namespace's object only as "another object"; the log names it.
      const owner = ownership.legacyOfThisName ? `ECRRepository ${ownership.otherOwner}` : ownerForTenant(ownership.otherOwner, this.obj, this.deps.clusterName);
      this.deps.logger.info({ controller: 'ecrrepository', namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, repository: desired.name, owner: ownership.otherOwner }, 'repository owned by another object');
      throw new Failure({
        kind: 'stalled',
        reason: 'AlreadyOwned',
        message: `repository ${desired.name} is owned by ${owner} (tag ${OWNER_TAG}); nothing was changed${ownership.legacyOfThisName ? `. That is this object's name without a cluster name: a cluster that runs without --cluster-name may manage it; if it is this object's, remove the tag and annotate this object with ${ADOPT_ANNOTATION}="true"` : ''}`,
      }, 'stall');
    }
    const mismatch = encryptionMismatch(desired.settings.encryption, live.encryption);
    if (mismatch) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: mismatch }, 'stall');

    // Only a repository this object owns is worth its policies and image listing.
    const details = await connection.ecr.details(live, { tags });
    this.live = live;
    this.images = details.inventory ?? details.imageCount;
    const all = changesBetween(desired, live, details);
    // A full read stands for the next turns only when its tags need no change: reads between full
    // reads propose none, so a tag change that fails is read again at the retry.
    if (ownership === 'ours' && !all.tagsToSet && !all.tagKeysToRemove) connection.ecr.recordFullRead(live.name, this.reader());
    // What the desired lifecycle policy would do to the images now; over spec.lifecyclePolicy.maxImagesToExpire
    // it is held back, and everything else still applies. Evaluated only when the policy or the
    // images changed since the last preview, in slices that leave the event loop to other work.
    const { namespace, name, uid } = this.obj.metadata;
    const preview = await currentLifecyclePreview(desired, details.images, this.now(), this.previews, { namespace, name, uid });
    const unsafe = lifecycleGate(desired, all, preview);
    const changes = { ...all };
    if (unsafe) delete changes.lifecyclePolicy;
    this.changes = changes;
    const notice = lifecycleChangeNotice(changes, preview);
    const observation: Observation<ECRRepositoryStatus> = {
      exists: true,
      upToDate: isEmpty(changes),
      status: { ...repositoryStatus(live, this.images), lifecyclePreview: preview },
      message: available(live),
    };
    if (notice) observation.event = { reason: 'LifecyclePreview', message: notice };
    if (unsafe) observation.heldBack = { reason: LIFECYCLE_POLICY_UNSAFE, message: unsafe };
    return observation;
  }

  /**
   * Between two full reads, when events keep the tags and images known: the settings (from the
   * sweep's read-ahead) and the two policies, compared with the spec; ownership, tags, images and the
   * lifecycle preview as the last full read left them (status keeps them). Undefined when the
   * lifecycle policy must change: applying it needs the images (its preview and its safety gate), so
   * the caller reads in full.
   */
  private async compareBetweenFullReads(desired: DesiredRepository, live: LiveRepository): Promise<Observation<ECRRepositoryStatus> | undefined> {
    const { connection } = await this.connection();
    const mismatch = encryptionMismatch(desired.settings.encryption, live.encryption);
    if (mismatch) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: mismatch }, 'stall');
    const policies = await connection.ecr.policies(live);
    const changes = changesBetween(desired, live, policies);
    if (changes.lifecyclePolicy !== undefined) return undefined;
    this.live = live;
    this.images = this.obj.status?.imageCount ?? 0;
    this.changes = changes;
    // The status fields of the images and the preview are left as they are.
    return { exists: true, upToDate: isEmpty(changes), status: repositorySettingsStatus(live), message: available(live) };
  }

  /** Who reads: the object (its uid), so that one object's full read never stands for another's. */
  private reader(): string {
    return this.obj.metadata.uid ?? `${this.obj.metadata.namespace ?? ''}/${this.obj.metadata.name}`;
  }

  /**
   * Stops when the provider now resolves to another account (or region) than the repository this
   * object recorded: acting there would create a second repository or delete another one. The
   * account is the one the connection's credentials act as (asked of STS when the session has not
   * been verified yet, as after a rotated Secret), so no call leaves for the wrong account while the
   * provider's status still shows the old one. The provider watch brings the object back when the
   * provider's account changes.
   */
  private async samePlace(during: 'Creating' | 'Deleting' = 'Creating'): Promise<void> {
    if (!this.obj.status?.repositoryArn) return;
    const { provider, connection } = await this.connection(during);
    const session = connection.session;
    const account = session.accountId ?? (await session.callerIdentity()).accountId;
    const moved = providerMoved(this.obj, { account, region: provider.spec.region });
    if (!moved) return;
    const message = `${during === 'Deleting' ? 'deletion waits: ' : ''}${moved.message}`;
    throw new Failure({ kind: 'stalled', reason: moved.reason, message }, 'wait');
  }

  private now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  private async desired(): Promise<DesiredRepository> {
    const { provider } = await this.connection();
    const desired = desiredRepository(this.obj, provider.spec.defaultTags, this.deps.clusterName);
    const tooManyTags = tagLimitProblem(desired);
    // The provider's defaultTags count too: its change enqueues this object through the provider watch.
    if (tooManyTags) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: tooManyTags }, 'edit');
    return desired;
  }

  private connection(during: 'Creating' | 'Deleting' = 'Creating'): Promise<{ provider: AWSProvider; connection: Connection }> {
    this.connected ??= this.connect(during);
    return this.connected;
  }

  /**
   * The object's provider and its connection; otherwise a Failure that says why not. The
   * AWSProvider watch brings this object back as soon as the provider changes. A provider being
   * deleted is not verified again (its Secret may already be gone with its namespace): its last
   * verified connection serves the finalization of its repositories, which its finalizer waits for.
   */
  private async connect(during: 'Creating' | 'Deleting'): Promise<{ provider: AWSProvider; connection: Connection }> {
    const namespace = this.obj.metadata.namespace;
    const ref = this.obj.spec.providerRef.name;
    const provider = this.deps.providers.get(namespace, ref);
    const prefix = during === 'Deleting' ? 'deletion waits: ' : '';
    if (!provider) {
      throw new Failure({ kind: 'progressing', reason: 'ProviderNotReady', message: `${prefix}AWSProvider ${namespace}/${ref} does not exist` }, 'wait');
    }
    const readiness = providerReadiness(provider);
    const deleting = Boolean(provider.metadata.deletionTimestamp);
    if (!readiness.ready && !(deleting && readiness.verifiedGeneration !== undefined)) {
      const message = `${prefix}AWSProvider ${namespace}/${ref} is not Ready: ${readiness.message}`;
      // A provider that is merely not verified yet (operator startup) is no failure worth a Warning.
      throw new Failure({ kind: 'progressing', reason: 'ProviderNotReady', message }, 'wait', { quiet: readiness.verifiedGeneration === undefined && !readiness.failed });
    }
    const usable = deleting && readiness.verifiedGeneration !== undefined
      ? { ...provider, metadata: { ...provider.metadata, generation: readiness.verifiedGeneration } }
      : provider;
    try {
      return { provider, connection: await this.deps.connections.get(usable) };
    } catch (err) {
      if (err instanceof ProviderConfigError) {
        throw new Failure({ kind: 'progressing', reason: 'ProviderNotReady', message: `${prefix}${err.message}` }, 'wait');
      }
      throw err;
    }
  }
}
