import { conditionsFor, findCondition, READY, type Phase } from '../api/conditions.js';
import {
  ADOPT_ANNOTATION,
  ECR_REPOSITORY,
  FINALIZER,
  GROUP,
  OWNER_TAG,
  SPEC_DEFAULTS,
  VERSION,
  type AWSProvider,
  type ECRRepository,
  type ECRRepositoryStatus,
} from '../api/types.js';
import { validateECRRepositorySpec } from '../api/validation.js';
import type { EcrGateway, LiveRepository } from '../aws/ecr.js';
import { AwsError, isAwsError } from '../aws/errors.js';
import type { Logger } from '../observability/logger.js';
import { ProviderConfigError, type Connection } from '../providers/connections.js';
import type { ResourceRef } from '../runtime/kube.js';
import type { ObjectKey, ReconcileResult } from '../runtime/types.js';
import type { EventRecorderLike, Lookup, ObjectWriterLike } from './dependencies.js';
import { StallBackoff } from './stall-backoff.js';
import {
  changesBetween,
  describeChanges,
  desiredRepository,
  encryptionMismatch,
  isEmpty,
  ownershipOf,
  repositoryStatus,
  tagLimitProblem,
  type DesiredRepository,
} from './ecrrepository-plan.js';
import { providerReadiness } from './awsprovider.js';

/**
 * ECRRepository: desired (spec + provider defaultTags) vs observed (AWS) -> the calls that close the
 * gap -> status, conditions and events. Safe to run any number of times; the queue owns retries.
 */

export const ECR_REPOSITORY_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_REPOSITORY.plural };

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
}

/**
 * A repository waiting on its provider is woken by the AWSProvider watch the moment the provider
 * turns Ready; this slow recheck is only a safety net.
 */
const WAIT_RECHECK_MS = 300_000;

/** How a classified AWS failure shows in the Ready condition, and whether only the user can fix it. */
function phaseForAwsError(err: AwsError): Phase {
  const message = err.message;
  switch (err.kind) {
    case 'Throttled':
      return { kind: 'progressing', reason: 'Throttled', message };
    case 'AccessDenied':
      return { kind: 'stalled', reason: 'AccessDenied', message };
    case 'KMSKeyInvalid':
      return { kind: 'stalled', reason: 'KMSKeyInvalid', message };
    case 'LimitExceeded':
      return { kind: 'stalled', reason: 'LimitExceeded', message };
    case 'InvalidParameter':
      return { kind: 'stalled', reason: 'InvalidSpec', message };
    default:
      return { kind: 'progressing', reason: 'AWSError', message };
  }
}

/** Stops the current reconcile with a status to show; the queue backs off and tries again. */
class Outcome extends Error {
  constructor(
    readonly phase: Phase,
    readonly result: 'backoff' | 'error' | 'wait',
    override readonly cause?: unknown,
  ) {
    super(phase.message);
  }
}

export class EcrRepositoryReconciler {
  private readonly clock: () => Date;
  private readonly stalls = new StallBackoff();

  constructor(private readonly deps: EcrRepositoryReconcilerDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    const cached = this.deps.repositories.get(key.namespace, key.name);
    if (!cached) {
      this.stalls.reset(`${key.namespace}/${key.name}`);
      return {};
    }
    let obj = cached;
    try {
      if (obj.metadata.deletionTimestamp) return await this.finalize(obj);
      if (!obj.metadata.finalizers?.includes(FINALIZER)) {
        obj = await this.deps.writer.ensureFinalizer(ECR_REPOSITORY_REF, obj, FINALIZER);
      }
      return await this.sync(obj);
    } catch (err) {
      return this.fail(obj, err);
    }
  }

  private async sync(obj: ECRRepository): Promise<ReconcileResult> {
    const issues = validateECRRepositorySpec(obj.spec);
    if (issues.length > 0) {
      const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
      // Nothing reaches AWS and nothing is retried: the next spec change brings the object back.
      await this.writeStatus(obj, { kind: 'stalled', reason: 'InvalidSpec', message }, {}, 'Warning');
      return {};
    }

    const { provider, connection } = await this.connect(obj);
    const desired = desiredRepository(obj, provider.spec.defaultTags);
    const tooManyTags = tagLimitProblem(desired);
    if (tooManyTags) {
      await this.writeStatus(obj, { kind: 'stalled', reason: 'InvalidSpec', message: tooManyTags }, {}, 'Warning');
      return {};
    }
    const known = Boolean(obj.status?.repositoryArn);

    // A new object goes straight to CreateRepository: one call fewer per create, and an existing
    // repository answers with RepositoryAlreadyExistsException, which leads to the checks below.
    let live = known ? await connection.ecr.describe(desired.name) : undefined;
    if (!live) {
      const created = await this.create(obj, desired, connection.ecr);
      if (created) return created;
      live = await connection.ecr.describe(desired.name);
      if (!live) throw new Outcome({ kind: 'progressing', reason: 'Creating', message: `repository ${desired.name} was reported existing but cannot be described` }, 'error');
    }
    return this.converge(obj, desired, live, connection.ecr);
  }

  /** Creates the repository; returns undefined when it already exists. */
  private async create(obj: ECRRepository, desired: DesiredRepository, ecr: EcrGateway): Promise<ReconcileResult | undefined> {
    let live: LiveRepository;
    try {
      live = await ecr.create(desired.name, desired.settings, desired.tags);
    } catch (err) {
      if (isAwsError(err) && err.code === 'RepositoryAlreadyExistsException') {
        ecr.invalidate(desired.name);
        return undefined;
      }
      throw err;
    }
    this.deps.events.record(obj, 'Normal', 'Created', `created ECR repository ${live.name} (${live.uri})`);
    this.deps.logger.info({ controller: 'ecrrepository', namespace: obj.metadata.namespace, name: obj.metadata.name, repository: live.name }, 'repository created');
    // The repository carries our owner tag from here on: a failure below leaves it managed, and the
    // next reconcile applies what is missing.
    const policies = changesBetween(desired, live, { tags: desired.tags, imageCount: 0 });
    if (!isEmpty(policies)) await ecr.update(live, policies);
    await this.writeStatus(obj, { kind: 'ready', reason: 'Available', message: `repository ${live.name} is available` }, repositoryStatus(live, 0));
    return {};
  }

  private async converge(obj: ECRRepository, desired: DesiredRepository, live: LiveRepository, ecr: EcrGateway): Promise<ReconcileResult> {
    const details = await ecr.details(live);
    const ownership = ownershipOf(details.tags, obj);
    let adopting = false;
    if (ownership === 'unowned') {
      if (obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
        throw new Outcome({
          kind: 'stalled',
          reason: 'AlreadyExists',
          message: `repository ${desired.name} already exists and is not managed by any ECRRepository; annotate this object with ${ADOPT_ANNOTATION}="true" to adopt it`,
        }, 'backoff');
      }
      adopting = true;
    } else if (ownership !== 'ours') {
      throw new Outcome({
        kind: 'stalled',
        reason: 'AlreadyOwned',
        message: `repository ${desired.name} is owned by ECRRepository ${ownership.otherOwner} (tag ${OWNER_TAG}); nothing was changed`,
      }, 'backoff');
    }

    const mismatch = encryptionMismatch(desired.settings.encryption, live.encryption);
    if (mismatch) throw new Outcome({ kind: 'stalled', reason: 'InvalidSpec', message: mismatch }, 'backoff');

    const changes = changesBetween(desired, live, details);
    if (!isEmpty(changes)) {
      await ecr.update(live, changes);
      const what = describeChanges(changes).join('; ');
      if (adopting) this.deps.events.record(obj, 'Normal', 'Adopted', `adopted existing ECR repository ${live.name}; ${what}`);
      else this.deps.events.record(obj, 'Normal', 'Updated', `updated ECR repository ${live.name}: ${what}`);
      this.deps.logger.info({ controller: 'ecrrepository', namespace: obj.metadata.namespace, name: obj.metadata.name, changes: describeChanges(changes) }, 'repository updated');
    }
    const now: LiveRepository = {
      ...live,
      imageTagMutability: changes.imageTagMutability ?? live.imageTagMutability,
      scanOnPush: changes.scanOnPush ?? live.scanOnPush,
    };
    await this.writeStatus(obj, { kind: 'ready', reason: 'Available', message: `repository ${live.name} is available` }, repositoryStatus(now, details.imageCount));
    return {};
  }

  private async finalize(obj: ECRRepository): Promise<ReconcileResult> {
    if (!obj.metadata.finalizers?.includes(FINALIZER)) return {};
    const policy = obj.spec.deletionPolicy ?? SPEC_DEFAULTS.deletionPolicy;
    const name = obj.spec.repositoryName;
    const everCreated = Boolean(obj.status?.repositoryArn);

    if (policy === 'Retain' || (policy === 'Orphan' && !everCreated)) {
      this.deps.events.record(obj, 'Normal', 'Retained', `ECR repository ${name} retained (deletionPolicy ${policy})`);
      await this.deps.writer.removeFinalizer(ECR_REPOSITORY_REF, obj, FINALIZER);
      return {};
    }

    const { connection } = await this.connect(obj, 'Deleting');
    const live = await connection.ecr.describe(name);
    if (live) {
      const ownership = ownershipOf(await connection.ecr.tags(live), obj);
      if (ownership !== 'ours') {
        this.deps.events.record(obj, 'Warning', 'NotOwned', `ECR repository ${name} is not owned by this object; it was left untouched`);
      } else if (policy === 'Delete') {
        await connection.ecr.delete(name);
        this.deps.events.record(obj, 'Normal', 'Deleted', `deleted ECR repository ${name} with its images`);
      } else {
        await connection.ecr.update(live, { tagKeysToRemove: [OWNER_TAG] });
        this.deps.events.record(obj, 'Normal', 'Orphaned', `released ECR repository ${name}: owner tag removed, repository left in AWS`);
      }
    }
    this.deps.logger.info({ controller: 'ecrrepository', namespace: obj.metadata.namespace, name: obj.metadata.name, deletionPolicy: policy }, 'finalized');
    await this.deps.writer.removeFinalizer(ECR_REPOSITORY_REF, obj, FINALIZER);
    return {};
  }

  /** The object's provider, Ready, and its connection; otherwise an Outcome that says why not. */
  private async connect(obj: ECRRepository, during = 'Creating'): Promise<{ provider: AWSProvider; connection: Connection }> {
    const ref = obj.spec.providerRef.name;
    const provider = this.deps.providers.get(obj.metadata.namespace, ref);
    const readiness = providerReadiness(provider);
    if (!provider || !readiness.ready) {
      const message = `${during === 'Deleting' ? 'deletion waits: ' : ''}AWSProvider ${obj.metadata.namespace}/${ref} ${provider ? `is not Ready: ${readiness.message}` : 'does not exist'}`;
      // The AWSProvider watch brings this object back as soon as the provider changes.
      throw new Outcome({ kind: 'progressing', reason: 'ProviderNotReady', message }, 'wait');
    }
    try {
      return { provider, connection: await this.deps.connections.get(provider) };
    } catch (err) {
      if (err instanceof ProviderConfigError) throw new Outcome({ kind: 'progressing', reason: 'ProviderNotReady', message: err.message }, 'wait');
      throw err;
    }
  }

  private async fail(obj: ECRRepository, err: unknown): Promise<ReconcileResult> {
    const outcome = err instanceof Outcome
      ? err
      : isAwsError(err)
        ? new Outcome(phaseForAwsError(err), phaseForAwsError(err).kind === 'stalled' ? 'backoff' : 'error', err)
        : undefined;
    if (!outcome) throw err;
    await this.writeStatus(obj, outcome.phase, {}, 'Warning').catch((writeErr: unknown) => {
      this.deps.logger.warn({ err: writeErr, namespace: obj.metadata.namespace, name: obj.metadata.name }, 'status write failed');
    });
    switch (outcome.result) {
      case 'wait':
        return { requeueAfterMs: WAIT_RECHECK_MS };
      case 'backoff':
        return { requeueAfterMs: this.stalls.next(`${obj.metadata.namespace}/${obj.metadata.name}`, obj.metadata.generation) };
      case 'error':
        throw outcome.cause ?? outcome;
    }
  }

  /**
   * Writes the status when it differs from what the object has. A Warning event goes with every
   * failure; the recorder folds repeats into one Event.
   */
  private async writeStatus(
    obj: ECRRepository,
    phase: Phase,
    fields: Partial<ECRRepositoryStatus>,
    eventType?: 'Warning',
  ): Promise<void> {
    const now = this.clock();
    const previous = obj.status ?? {};
    const conditions = conditionsFor(previous.conditions, phase, obj.metadata.generation, now);
    const status: ECRRepositoryStatus = {
      ...previous,
      ...fields,
      ready: phase.kind === 'ready',
      message: phase.message,
      observedGeneration: obj.metadata.generation,
      conditions,
    };
    if (phase.kind === 'ready') {
      status.lastSyncTime = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
      this.stalls.reset(`${obj.metadata.namespace}/${obj.metadata.name}`);
    }
    const readyBefore = findCondition(previous.conditions, READY);
    // One Event per new state: a retry that ends where the last one did says nothing new, and with
    // thousands of objects waiting on one provider it would be thousands of writes a minute.
    if (eventType && (readyBefore?.reason !== phase.reason || readyBefore.message !== phase.message)) {
      this.deps.events.record(obj, eventType, phase.reason, phase.message);
    }
    if (readyBefore?.status === 'True' && phase.kind !== 'ready') {
      this.deps.logger.warn({ controller: 'ecrrepository', namespace: obj.metadata.namespace, name: obj.metadata.name, reason: phase.reason }, phase.message);
    }
    await this.deps.writer.patchStatus(ECR_REPOSITORY_REF, obj, status);
  }
}
