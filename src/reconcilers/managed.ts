import { conditionsFor, findCondition, READY, type Phase } from '../api/conditions.js';
import type { Condition, ObjectMeta } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import type { ResourceRef } from '../runtime/kube.js';
import type { ObjectKey, ReconcileResult } from '../runtime/types.js';
import type { EventRecorderLike, Lookup, ObjectWriterLike } from './dependencies.js';
import { StallBackoff } from './stall-backoff.js';

/**
 * The lifecycle every managed kind shares, written once (crossplane-runtime's managed reconciler):
 * the finalizer, the kstatus conditions (Ready, Reconciling, Stalled, observedGeneration), Events,
 * conflict-safe status writes, stall backoff and requeue, and the deletion flow. A kind supplies an
 * external client with four verbs (observe / create / update / delete) and its status fields; it
 * decides nothing about conditions, events or retries beyond saying what happened.
 */

export interface ManagedStatus {
  ready?: boolean;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export type ManagedObject<S extends ManagedStatus> = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  status?: S;
};

/** An Event for the object (Normal). Failures get their Warning from the reconciler itself. */
export interface Happening {
  reason: string;
  message: string;
}

export interface Observation<S> {
  /** The external resource exists (create is called otherwise). */
  exists: boolean;
  /** The external resource matches the spec (update is called otherwise). */
  upToDate: boolean;
  /** Status fields describing the resource as observed. */
  status: Partial<S>;
  /** The Ready reason (default Available) and message once the resource matches. */
  reason?: string;
  message: string;
  /** Something worth an Event that observing found (a verified identity, ...), told before any change. */
  event?: Happening;
  /**
   * Part of the spec is held back until the user acts (a safety gate refused it): the rest is
   * applied and the status fields are recorded, but the object ends Ready=False, Stalled with this
   * reason, and is looked at again with the stall backoff.
   */
  heldBack?: { reason: string; message: string };
}

export interface Creation<S> {
  /** Status fields to record at once, before anything else can fail: the resource exists now. */
  status: Partial<S>;
  /** The created resource, as creating it tells us, without another read. */
  observation: Observation<S>;
  /** None when the resource turned out to exist already (taken over or adopted instead). */
  event?: Happening;
}

export interface Update<S> {
  status: Partial<S>;
  event?: Happening;
}

export type Deletion =
  | { done: true; event?: Happening }
  /** Not yet: something else must finish first; look again after this long. */
  | { done: false; waitMs: number; message: string };

export interface ReconcileContext {
  /**
   * The user asked for this reconcile (new object, spec change, force-sync, adopt): observe reads
   * the external state afresh and serves nothing from a shared cache.
   */
  userDriven: boolean;
}

export interface ExternalClient<T, S> {
  observe(obj: T, ctx: ReconcileContext): Promise<Observation<S>>;
  create(obj: T, ctx: ReconcileContext): Promise<Creation<S>>;
  update(obj: T, observation: Observation<S>, ctx: ReconcileContext): Promise<Update<S>>;
  delete(obj: T): Promise<Deletion>;
}

/**
 * Stops a reconcile with a condition to show. `retry` says what happens next:
 * - `edit`: nothing but a change of the object can help (invalid spec); no retry, the change
 *   itself enqueues the object;
 * - `stall`: only the user can fix it, maybe outside Kubernetes (IAM, KMS); retried slowly
 *   (30 s doubling to ~16 min, per generation), at most every `maxDelayMs` when given;
 * - `backoff`: it may clear by itself; the work queue retries with its per-key backoff;
 * - `wait`: waiting for another object whose watch wakes this one; `waitMs` is a safety net.
 */
export class Failure extends Error {
  /** A Warning event goes with the new state (not for a state expected for a moment). */
  readonly warn: boolean;
  /** A Ready object stays Ready through this failure (throttling says nothing about the resource). */
  readonly keepsReady: boolean;
  readonly maxDelayMs: number | undefined;
  readonly waitMs: number | undefined;
  /** Status fields observed before the failure, recorded with it (where the resource is, ...). */
  readonly status: Record<string, unknown> | undefined;

  constructor(
    readonly phase: Phase,
    readonly retry: 'edit' | 'stall' | 'backoff' | 'wait',
    opts: { cause?: unknown; quiet?: boolean; keepsReady?: boolean; maxDelayMs?: number; waitMs?: number; status?: Record<string, unknown> } = {},
  ) {
    super(phase.message);
    this.cause = opts.cause;
    this.warn = !opts.quiet;
    this.keepsReady = opts.keepsReady ?? false;
    this.maxDelayMs = opts.maxDelayMs;
    this.waitMs = opts.waitMs;
    this.status = opts.status;
  }
}

export interface ManagedKind<T extends ManagedObject<S>, S extends ManagedStatus> {
  /** For logs. */
  name: string;
  ref: ResourceRef;
  finalizer: string;
  objects: Lookup<T>;
  /** The external client for this object; connecting lazily is the kind's business. */
  connect(obj: T): ExternalClient<T, S>;
  /** A spec problem that nothing but an edit can fix; nothing reaches the external system. */
  validate?(obj: T): string | undefined;
  /** Whether the user asked for this reconcile (see ReconcileContext). */
  userDriven(obj: T): boolean;
  /** Status fields that a successful sync records (the time of the sync, the force-sync value served). */
  served?(obj: T, now: Date): Partial<S>;
  /** Turns a failure of the kind's own world (AWS, configuration) into a Failure; undefined: unexpected. */
  classify(err: unknown): Failure | undefined;
  /** When a Ready object is looked at again (periodic verification); none by default. */
  readyRequeueMs?: number;
  /** Called when the object is gone, to drop what is kept about it. */
  forget?(key: ObjectKey): void;
}

export interface ManagedReconcilerDeps {
  writer: ObjectWriterLike;
  events: EventRecorderLike;
  logger: Logger;
  clock?: () => Date;
}

/** Waiting on another object: its watch wakes this one; this is only the safety net. */
const DEFAULT_WAIT_MS = 300_000;

export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class ManagedReconciler<T extends ManagedObject<S>, S extends ManagedStatus> {
  private readonly clock: () => Date;
  private readonly stalls = new StallBackoff();

  constructor(
    private readonly kind: ManagedKind<T, S>,
    private readonly deps: ManagedReconcilerDeps,
  ) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    const cached = this.kind.objects.get(key.namespace, key.name);
    if (!cached) {
      this.stalls.reset(idOf(key));
      this.kind.forget?.(key);
      return {};
    }
    let obj = cached;
    try {
      if (obj.metadata.deletionTimestamp) return await this.finalize(obj);
      if (!obj.metadata.finalizers?.includes(this.kind.finalizer)) {
        obj = await this.deps.writer.ensureFinalizer(this.kind.ref, obj, this.kind.finalizer);
      }
      return await this.sync(obj);
    } catch (err) {
      return this.fail(obj, err);
    }
  }

  private async sync(obj: T): Promise<ReconcileResult> {
    const problem = this.kind.validate?.(obj);
    if (problem) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: problem }, 'edit');

    const ctx: ReconcileContext = { userDriven: this.kind.userDriven(obj) };
    const external = this.kind.connect(obj);
    let observation = await external.observe(obj, ctx);
    if (observation.event) this.normal(obj, observation.event);
    let fields: Partial<S> = { ...observation.status };

    if (!observation.exists) {
      const created = await external.create(obj, ctx);
      if (created.event) this.normal(obj, created.event);
      observation = created.observation;
      if (observation.event) this.normal(obj, observation.event);
      fields = { ...fields, ...created.status };
      if (!observation.upToDate) {
        // Record the new resource before the calls that may fail: a retry or a deletion then
        // knows it exists and is ours, and never creates it twice.
        await this.write(obj, { kind: 'progressing', reason: 'Creating', message: `${observation.message}; applying the rest of the spec` }, fields, false);
      }
    }
    if (!observation.upToDate) {
      const updated = await external.update(obj, observation, ctx);
      if (updated.event) this.normal(obj, updated.event);
      fields = { ...fields, ...updated.status };
    }
    const served = this.kind.served?.(obj, this.clock()) ?? {};
    if (observation.heldBack) {
      // A sync all the same: what was applied and observed is recorded with the stalled condition.
      await this.write(obj, { kind: 'stalled', ...observation.heldBack }, { ...fields, ...served });
      return { requeueAfterMs: this.stalls.next(idOf(obj.metadata), obj.metadata.generation) };
    }
    await this.write(obj, { kind: 'ready', reason: observation.reason ?? 'Available', message: observation.message }, { ...fields, ...served });
    this.stalls.reset(idOf(obj.metadata));
    return this.kind.readyRequeueMs ? { requeueAfterMs: this.kind.readyRequeueMs } : {};
  }

  private async finalize(obj: T): Promise<ReconcileResult> {
    if (!obj.metadata.finalizers?.includes(this.kind.finalizer)) return {};
    const deletion = await this.kind.connect(obj).delete(obj);
    if (!deletion.done) {
      // Told once per new message (the recorder folds repeats), so `kubectl describe` says why.
      this.deps.events.record(obj, 'Normal', 'DeletionWaiting', deletion.message);
      this.deps.logger.info({ controller: this.kind.name, namespace: obj.metadata.namespace, name: obj.metadata.name }, deletion.message);
      // The condition says it too, for `kubectl get`, kstatus and GitOps tools.
      await this.write(obj, { kind: 'progressing', reason: 'DeletionWaiting', message: deletion.message }, {}, false);
      return { requeueAfterMs: deletion.waitMs };
    }
    if (deletion.event) this.normal(obj, deletion.event);
    this.deps.logger.info({ controller: this.kind.name, namespace: obj.metadata.namespace, name: obj.metadata.name }, 'finalized');
    await this.deps.writer.removeFinalizer(this.kind.ref, obj, this.kind.finalizer);
    return {};
  }

  private async fail(obj: T, err: unknown): Promise<ReconcileResult> {
    const failure = err instanceof Failure ? err : this.kind.classify(err);
    if (!failure) throw err;
    const readyNow = findCondition(obj.status?.conditions, READY)?.status === 'True';
    if (failure.keepsReady && readyNow && !obj.metadata.deletionTimestamp) {
      // Nothing about the resource changed: keep Ready and let the queue retry.
      throw failure.cause ?? failure;
    }
    await this.write(obj, failure.phase, (failure.status ?? {}) as Partial<S>, failure.warn).catch((writeErr: unknown) => {
      this.deps.logger.warn({ err: writeErr, controller: this.kind.name, namespace: obj.metadata.namespace, name: obj.metadata.name }, 'status write failed');
    });
    switch (failure.retry) {
      case 'edit':
        return {};
      case 'wait':
        return { requeueAfterMs: failure.waitMs ?? DEFAULT_WAIT_MS };
      case 'stall': {
        const delay = this.stalls.next(idOf(obj.metadata), obj.metadata.generation);
        return { requeueAfterMs: Math.min(delay, failure.maxDelayMs ?? delay) };
      }
      case 'backoff':
        throw failure.cause ?? failure;
    }
  }

  private normal(obj: T, happening: Happening): void {
    this.deps.events.record(obj, 'Normal', happening.reason, happening.message);
  }

  /**
   * Writes the status for a phase, computed from the status the server holds (the writer re-reads
   * on a conflict). One Event per new state: a retry that ends where the last one did says nothing
   * new, and with thousands of objects waiting on one provider it would be thousands of writes.
   */
  private async write(obj: T, phase: Phase, fields: Partial<S>, warn = true): Promise<void> {
    const now = this.clock();
    const generation = obj.metadata.generation;
    const readyBefore = findCondition(obj.status?.conditions, READY);
    if (phase.kind !== 'ready' && warn && (readyBefore?.reason !== phase.reason || readyBefore.message !== phase.message)) {
      this.deps.events.record(obj, 'Warning', phase.reason, phase.message);
    }
    if (readyBefore?.status === 'True' && phase.kind !== 'ready') {
      this.deps.logger.warn({ controller: this.kind.name, namespace: obj.metadata.namespace, name: obj.metadata.name, reason: phase.reason }, phase.message);
    }
    await this.deps.writer.patchStatus(this.kind.ref, obj, (current: T) => {
      const previous: ManagedStatus = current.status ?? {};
      const status: ManagedStatus = {
        ...previous,
        ...fields,
        ready: phase.kind === 'ready',
        message: phase.message,
        observedGeneration: generation,
        conditions: conditionsFor(previous.conditions, phase, generation, now),
      };
      return status;
    });
  }
}

function idOf(key: { namespace: string; name: string }): string {
  return `${key.namespace}/${key.name}`;
}
