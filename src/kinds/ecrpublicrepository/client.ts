/**
 * ECRPublicRepository: the external client of the managed reconciler. It observes the public
 * repository in ECR Public (us-east-1, whatever region the provider names), decides ownership as
 * ECRRepository does, and makes the calls that close the gap; conditions, events, status writes and
 * retries are the managed reconciler's.
 */
import { findCondition, READY } from '../../api/conditions.js';
import { ADOPT_ANNOTATION, FINALIZER, FORCE_SYNC_ANNOTATION, OWNER_TAG } from '../../api/types.js';
import type { AwsSession } from '../../aws/clients.js';
import { aliasOfUri, type EcrPublicGateway, type LivePublicRepository } from '../../aws/ecr-public.js';
import { isAwsError } from '../../aws/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Connection } from '../../providers/connections.js';
import { awsFailure } from '../../reconcilers/aws-failure.js';
import type { EventRecorderLike, Lookup, ObjectWriterLike } from '../../reconcilers/dependencies.js';
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
import { connectProvider } from '../../reconcilers/provider.js';
import type { ObjectKey, ReconcileResult } from '../../runtime/types.js';
import type { AWSProvider } from '../awsprovider/types.js';
import { LogoProblem, readLogo, type LogoImage, type LogoReader } from './logo.js';
import {
  catalogInput,
  changesBetween,
  describeChanges,
  desiredPublicRepository,
  isEmpty,
  logoStatus,
  ownedByObject,
  ownerForTenant,
  ownershipOf,
  providerMoved,
  repositoryStatus,
  tagLimitProblem,
  type DesiredPublicRepository,
  type PublicChanges,
} from './plan.js';
import { ECR_PUBLIC_REPOSITORY_REF, SPEC_DEFAULTS, type ECRPublicRepository, type ECRPublicRepositoryStatus } from './types.js';
import { formatIssues, validateECRPublicRepositorySpec } from './validation.js';

export type EcrPublicGatewayLike = Pick<EcrPublicGateway, 'describe' | 'tags' | 'details' | 'create' | 'update' | 'untag' | 'delete' | 'registryAlias'>;

/** Hands out the ECR Public gateway of a session (EcrPublicClients fits). */
export interface EcrPublicGateways {
  gateway(session: AwsSession, providerEndpoint?: string): EcrPublicGatewayLike;
}

export interface EcrPublicRepositoryReconcilerDeps {
  repositories: Lookup<ECRPublicRepository>;
  providers: Lookup<AWSProvider>;
  connections: { get(provider: AWSProvider): Promise<Connection> };
  gateways: EcrPublicGateways;
  /** Reads the logo's ConfigMap or Secret in the object's namespace (KubeClient fits). */
  logos: LogoReader;
  writer: ObjectWriterLike;
  events: EventRecorderLike;
  logger: Logger;
  clock?: () => Date;
  /** --cluster-name: the prefix of the owner tag's value (see api/owner.ts). */
  clusterName?: string | undefined;
}

const CONTROLLER = 'ecrpublicrepository';
const RELEASE_HINT = 'set spec.deletionPolicy to Retain to release this object without changing AWS';
/** A logo that is missing or wrong is fixed outside this object (its ConfigMap or Secret): looked at again at least this often. */
const LOGO_RETRY_MAX_MS = 120_000;

/**
 * Whether the user asked for this reconcile: a new object, a new generation, a force-sync value not
 * yet served, or the adopt annotation on an object stalled for lack of it (as ECRRepository).
 */
export function userDriven(obj: ECRPublicRepository): boolean {
  const status = obj.status;
  if (!status?.conditions?.length) return true;
  if (obj.metadata.generation !== status.observedGeneration) return true;
  const forceSync = obj.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
  if (forceSync !== undefined && forceSync !== status.lastForceSync) return true;
  return obj.metadata.annotations?.[ADOPT_ANNOTATION] === 'true' && findCondition(status.conditions, READY)?.reason === 'AlreadyExists';
}

export class EcrPublicRepositoryReconciler {
  private readonly managed: ManagedReconciler<ECRPublicRepository, ECRPublicRepositoryStatus>;

  constructor(deps: EcrPublicRepositoryReconcilerDeps) {
    const kind: ManagedKind<ECRPublicRepository, ECRPublicRepositoryStatus> = {
      name: CONTROLLER,
      ref: ECR_PUBLIC_REPOSITORY_REF,
      finalizer: FINALIZER,
      objects: deps.repositories,
      connect: (obj) => new EcrPublicRepositoryClient(obj, deps),
      validate: (obj) => {
        const issues = validateECRPublicRepositorySpec(obj.spec);
        return issues.length > 0 ? formatIssues(issues) : undefined;
      },
      userDriven,
      served: (obj, now) => {
        const served: Partial<ECRPublicRepositoryStatus> = { lastSyncTime: isoSeconds(now) };
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

function available(live: LivePublicRepository): string {
  return `public repository ${live.name} is available at ${live.uri}`;
}

/** One reconcile's view of one public repository. */
class EcrPublicRepositoryClient implements ExternalClient<ECRPublicRepository, ECRPublicRepositoryStatus> {
  private connected: Promise<{ provider: AWSProvider; connection: Connection; gateway: EcrPublicGatewayLike }> | undefined;
  private wanted: Promise<DesiredPublicRepository> | undefined;
  private live: LivePublicRepository | undefined;
  private changes: PublicChanges = {};
  private adopting = false;
  private restoringOwnerTag = false;
  private created = false;

  constructor(
    private readonly obj: ECRPublicRepository,
    private readonly deps: EcrPublicRepositoryReconcilerDeps,
  ) {}

  async observe(obj: ECRPublicRepository, _ctx: ReconcileContext): Promise<Observation<ECRPublicRepositoryStatus>> {
    // The logo is read and checked first: a bad one never reaches AWS.
    const desired = await this.desired();
    const status = obj.status;
    // A new object goes straight to CreateRepository; an existing repository answers with
    // RepositoryAlreadyExistsException, which leads to the ownership checks. Every later attempt
    // looks first. Every observation reads ECR Public afresh: there is no shared listing.
    const firstAttempt = !status?.repositoryArn && !status?.conditions?.length;
    if (firstAttempt) return { exists: false, upToDate: false, status: {}, message: '' };
    await this.samePlace();
    const { gateway } = await this.connection();
    const live = await gateway.describe(desired.name);
    if (!live) return { exists: false, upToDate: false, status: {}, message: '' };
    return this.compare(desired, live);
  }

  async create(): Promise<Creation<ECRPublicRepositoryStatus>> {
    const desired = await this.desired();
    const { gateway } = await this.connection();
    let made: Awaited<ReturnType<EcrPublicGatewayLike['create']>>;
    try {
      made = await gateway.create(desired.name, catalogInput(desired), desired.tags);
    } catch (err) {
      if (!isAwsError(err) || err.code !== 'RepositoryAlreadyExistsException') throw err;
      const existing = await gateway.describe(desired.name);
      if (!existing) throw new Failure({ kind: 'progressing', reason: 'Creating', message: `public repository ${desired.name} was reported existing but cannot be described` }, 'backoff', { cause: err });
      const observation = await this.compare(desired, existing);
      return { status: observation.status, observation };
    }
    const live = made.live;
    this.live = live;
    this.created = true;
    // Catalog data and tags went with CreateRepository; the policy, if any, is applied by update
    // once the repository is recorded in status.
    this.changes = desired.policyText !== undefined ? { policy: { text: desired.policyText } } : {};
    const status: Partial<ECRPublicRepositoryStatus> = {
      ...repositoryStatus(live, await this.alias(live)),
      imageCount: 0,
      ...logoStatus(desired, made.catalog),
    };
    this.deps.logger.info({ controller: CONTROLLER, namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, repository: live.name }, 'public repository created');
    return {
      status,
      observation: { exists: true, upToDate: isEmpty(this.changes), status, message: available(live) },
      event: { reason: 'Created', message: `created ECR Public repository ${live.name} (${live.uri})` },
    };
  }

  async update(): Promise<Update<ECRPublicRepositoryStatus>> {
    const live = this.live;
    if (!live) throw new Error('update before observe');
    const { gateway } = await this.connection();
    const desired = await this.desired();
    const result = await gateway.update(live, this.changes);
    const status: Partial<ECRPublicRepositoryStatus> = result.catalog ? logoStatus(desired, result.catalog) : {};
    if (this.created) return { status };
    const what = describeChanges(this.changes);
    this.deps.logger.info({ controller: CONTROLLER, namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, changes: what }, 'public repository updated');
    if (this.restoringOwnerTag) {
      return {
        status,
        event: { reason: 'OwnerTagRestored', message: `restored the owner tag ${OWNER_TAG} of ECR Public repository ${live.name}, which this object's status.repositoryArn records and which lost the tag outside Kubernetes; ${what.join('; ')}` },
      };
    }
    return {
      status,
      event: this.adopting
        ? { reason: 'Adopted', message: `adopted existing ECR Public repository ${live.name}; ${what.join('; ')}` }
        : { reason: 'Updated', message: `updated ECR Public repository ${live.name}: ${what.join('; ')}` },
    };
  }

  async delete(obj: ECRPublicRepository): Promise<Deletion> {
    const policy = obj.spec.deletionPolicy ?? SPEC_DEFAULTS.deletionPolicy;
    const name = obj.spec.repositoryName;
    const everCreated = Boolean(obj.status?.repositoryArn);
    if (policy === 'Retain' || (policy === 'Orphan' && !everCreated)) {
      return { done: true, event: { reason: 'Retained', message: `ECR Public repository ${name} retained (deletionPolicy ${policy})` } };
    }
    const { gateway } = await this.connection('Deleting');
    // Never delete or release a repository of the same name in another account.
    await this.samePlace('Deleting');
    const live = await gateway.describe(name);
    if (!live) return { done: true };
    const ownership = ownershipOf(await gateway.tags(live), obj, { clusterName: this.deps.clusterName, liveArn: live.arn, liveCreatedAt: live.createdAt });
    if (!ownedByObject(ownership)) {
      this.deps.events.record(obj, 'Warning', 'NotOwned', `ECR Public repository ${name} is not owned by this object; it was left untouched`);
      return { done: true };
    }
    if (policy === 'Delete') {
      const force = obj.spec.forceDelete ?? SPEC_DEFAULTS.forceDelete;
      try {
        await gateway.delete(name, force);
      } catch (err) {
        if (!isAwsError(err) || err.code !== 'RepositoryNotEmptyException') throw err;
        throw new Failure({
          kind: 'stalled',
          reason: 'RepositoryNotEmpty',
          message: `deletion waits: ECR Public repository ${name} still holds images; set spec.forceDelete to true to delete them with it, delete the images, or ${RELEASE_HINT}`,
        }, 'stall', { cause: err });
      }
      return { done: true, event: { reason: 'Deleted', message: `deleted ECR Public repository ${name}${force ? ' with its images' : ''}` } };
    }
    if (ownership === 'recorded') {
      return { done: true, event: { reason: 'Orphaned', message: `released ECR Public repository ${name}: it had no owner tag left, repository left in AWS` } };
    }
    await gateway.untag(live, [OWNER_TAG]);
    return { done: true, event: { reason: 'Orphaned', message: `released ECR Public repository ${name}: owner tag removed, repository left in AWS` } };
  }

  /**
   * Ownership on the tags alone, then catalog data, policy and images of a repository that is this
   * object's, and the calls that would bring it to the spec.
   */
  private async compare(desired: DesiredPublicRepository, live: LivePublicRepository): Promise<Observation<ECRPublicRepositoryStatus>> {
    const { gateway } = await this.connection();
    const tags = await gateway.tags(live);
    const ownership = ownershipOf(tags, this.obj, { clusterName: this.deps.clusterName, liveArn: live.arn, liveCreatedAt: live.createdAt });
    if (ownership === 'recorded') {
      this.restoringOwnerTag = true;
    } else if (ownership === 'unowned') {
      if (this.obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
        throw new Failure({
          kind: 'stalled',
          reason: 'AlreadyExists',
          message: `public repository ${desired.name} already exists and is not managed by any ECRPublicRepository; annotate this object with ${ADOPT_ANNOTATION}="true" to adopt it`,
        }, 'stall');
      }
      this.adopting = true;
    } else if (!ownedByObject(ownership)) {
      const owner = ownership.legacyOfThisName ? `ECRPublicRepository ${ownership.otherOwner}` : ownerForTenant(ownership.otherOwner, this.obj, this.deps.clusterName);
      this.deps.logger.info({ controller: CONTROLLER, namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, repository: desired.name, owner: ownership.otherOwner }, 'public repository owned by another object');
      throw new Failure({
        kind: 'stalled',
        reason: 'AlreadyOwned',
        message: `public repository ${desired.name} is owned by ${owner} (tag ${OWNER_TAG}); nothing was changed`,
      }, 'stall');
    }
    // Only a repository this object owns is worth its catalog data, policy and image listing.
    const details = await gateway.details(live, { tags });
    this.live = live;
    this.changes = changesBetween(desired, details, this.obj.status);
    return {
      exists: true,
      upToDate: isEmpty(this.changes),
      status: { ...repositoryStatus(live, await this.alias(live)), imageCount: details.imageCount, logoUrl: details.catalog.logoUrl },
      message: available(live),
    };
  }

  /** The registry alias the repository's URI carries; asked of DescribeRegistries only when the URI has none. */
  private async alias(live: LivePublicRepository): Promise<string | undefined> {
    const fromUri = aliasOfUri(live.uri, live.name);
    if (fromUri) return fromUri;
    const { gateway } = await this.connection();
    return gateway.registryAlias();
  }

  /**
   * Stops when the provider now resolves to another account than the repository this object
   * recorded (as ECRRepository does); the account is the one the credentials act as.
   */
  private async samePlace(during: 'Creating' | 'Deleting' = 'Creating'): Promise<void> {
    if (!this.obj.status?.repositoryArn) return;
    const { connection } = await this.connection(during);
    const session = connection.session;
    const account = session.accountId ?? (await session.callerIdentity()).accountId;
    const moved = providerMoved(this.obj, account);
    if (!moved) return;
    throw new Failure({ kind: 'stalled', reason: moved.reason, message: `${during === 'Deleting' ? 'deletion waits: ' : ''}${moved.message}` }, 'wait');
  }

  private desired(): Promise<DesiredPublicRepository> {
    this.wanted ??= this.readDesired();
    return this.wanted;
  }

  private async readDesired(): Promise<DesiredPublicRepository> {
    const { provider } = await this.connection();
    let logo: LogoImage | undefined;
    const source = this.obj.spec.catalogData?.logo;
    if (source) {
      try {
        logo = await readLogo(this.deps.logos, this.obj.metadata.namespace, source);
      } catch (err) {
        if (!(err instanceof LogoProblem)) throw err;
        // Fixed in the ConfigMap or Secret, which no watch reports: looked at again with the stall backoff, at most every two minutes.
        throw new Failure({ kind: 'stalled', reason: err.reason, message: err.message }, 'stall', { maxDelayMs: LOGO_RETRY_MAX_MS });
      }
    }
    const desired = desiredPublicRepository(this.obj, provider.spec.defaultTags, this.deps.clusterName, logo);
    const tooManyTags = tagLimitProblem(desired);
    if (tooManyTags) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: tooManyTags }, 'edit');
    return desired;
  }

  private connection(during: 'Creating' | 'Deleting' = 'Creating'): Promise<{ provider: AWSProvider; connection: Connection; gateway: EcrPublicGatewayLike }> {
    this.connected ??= this.connect(during);
    return this.connected;
  }

  private async connect(during: 'Creating' | 'Deleting'): Promise<{ provider: AWSProvider; connection: Connection; gateway: EcrPublicGatewayLike }> {
    const { provider, connection } = await connectProvider(this.deps, {
      namespace: this.obj.metadata.namespace,
      name: this.obj.spec.providerRef.name,
      deleting: during === 'Deleting' ? { hint: RELEASE_HINT } : undefined,
    });
    // ECR Public is called in us-east-1 whatever the provider's region; the provider's own
    // endpoint (the session was built with it, under the tenancy rules) is honoured.
    const providerEndpoint = provider.spec.endpoint?.trim() ? connection.session.endpoint : undefined;
    return { provider, connection, gateway: this.deps.gateways.gateway(connection.session, providerEndpoint) };
  }
}
