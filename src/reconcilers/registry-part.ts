import { findCondition, READY } from '../api/conditions.js';
import type { RegistryPartObject, RegistryPartStatus } from '../api/registry-part.js';
import { ADOPT_ANNOTATION, DEFAULT_DELETION_POLICY, FINALIZER, FORCE_SYNC_ANNOTATION } from '../api/types.js';
import { isAwsError } from '../aws/errors.js';
import { RegistryGateway } from '../aws/registry.js';
import type { RegistryDocuments } from '../aws/registry-documents.js';
import type { Logger } from '../observability/logger.js';
import type { ResourceRef } from '../runtime/kube.js';
import type { ObjectKey, ReconcileResult } from '../runtime/types.js';
import { awsFailure } from './aws-failure.js';
import type { EventRecorderLike, Lister, Lookup, ObjectWriterLike } from './dependencies.js';
import {
  Failure, ManagedReconciler, type Creation, type Deletion, type ExternalClient, type ManagedKind, type Observation,
  type ReconcileContext, type Update,
} from './managed.js';
import { connectProvider, type ProviderDeps } from './provider.js';

/**
 * The account-wide kinds whose objects each own one part of a registry document (a replication
 * rule, a registry policy statement, the scanning configuration), on the generic managed reconciler.
 * Each object acts with its own provider's identity: observe reads its own part (afresh when the
 * user asked, else the shared read of its identity); create records the part it is about to write;
 * update reads the document, changes its own part and writes it back, under the registry's lock;
 * delete takes out exactly its part. A part in AWS that this object did not write is never taken
 * over without the adopt annotation. A kind says what its part is; this module does the rest.
 */

/** The registry an object's provider names, once verified: account, region and endpoint. */
export interface Registry {
  accountId: string;
  region: string;
  /** Account, region and endpoint: the lock and the shared reads are per registry. */
  key: string;
}

export interface PartKind<T extends RegistryPartObject, Doc, Part> {
  /** Controller name, for logs. */
  name: string;
  kind: string;
  ref: ResourceRef;
  /** Which registry document: the unit of shared reads. */
  document: string;
  /** The part the spec asks for in this registry, or a problem naming the field. */
  desired(obj: T, registry: Registry): { part: Part } | { problem: string };
  /** What the object's status says it put in force, and what it was about to write. */
  applied(obj: T): Part | undefined;
  pending(obj: T): Part | undefined;
  /** Status fields recording the applied and pending parts (undefined clears a field). */
  partStatus(applied: Part | undefined, pending: Part | undefined): Partial<T['status'] & object>;
  /** Status fields that describe the whole document (how many entries). */
  documentStatus(doc: Doc): Partial<T['status'] & object>;
  /** What names a part in the document: a Sid, a rule's content, the one configuration. */
  identity(part: Part): string;
  /** Equal meaning. */
  same(a: Part, b: Part): boolean;
  /** The part the document holds under this identity. */
  find(doc: Doc, identity: string): Part | undefined;
  /** A live part that nobody set (a registry's default): anyone may take its place. */
  unclaimed?(live: Part): boolean;
  /** The document with `part` in place, replacing `previous` (this object's earlier part) when given. */
  put(doc: Doc, part: Part, previous: Part | undefined): { doc: Doc } | { limit: string };
  /** The document without the part of this identity. */
  remove(doc: Doc, part: Part): Doc;
  /** Whether two documents are the same (no write needed). */
  equal(a: Doc, b: Doc): boolean;
  /** Reads the live document; a document that cannot be read as one is an Error with a message. */
  read(gateway: RegistryGateway): Promise<Doc>;
  write(gateway: RegistryGateway, doc: Doc): Promise<void>;
  /** The part in words, for messages and Events: `statement AllowPull`. */
  describe(part: Part): string;
  /** Where the part lives, in words: `the registry policy`. */
  home: string;
}

export interface RegistryPartDeps<T extends RegistryPartObject> extends ProviderDeps {
  objects: Lookup<T> & Lister<T>;
  documents: RegistryDocuments;
  writer: ObjectWriterLike;
  events: EventRecorderLike;
  logger: Logger;
  clock?: () => Date;
  /** When a Ready object is looked at again: the periodic check for drift. */
  syncPeriodMs?: number;
}

const RELEASE_HINT = 'set spec.deletionPolicy to Retain to release this object without changing AWS';
/** Ready reasons after which the next attempt reads afresh. */
const FOUND_EXISTING = new Set(['AlreadyExists', 'Conflict']);

/** The user asked for this reconcile (see ECRRepository's userDriven): read AWS afresh. */
export function partUserDriven(obj: RegistryPartObject): boolean {
  const status = obj.status;
  if (!status?.conditions?.length) return true;
  if (obj.metadata.generation !== status.observedGeneration) return true;
  const reason = findCondition(status.conditions, READY)?.reason ?? '';
  if (FOUND_EXISTING.has(reason)) return true;
  const forceSync = obj.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
  return forceSync !== undefined && forceSync !== status.lastForceSync;
}

export function registryPartReconciler<T extends RegistryPartObject, Doc, Part>(
  kind: PartKind<T, Doc, Part>,
  deps: RegistryPartDeps<T>,
): { reconcile(key: ObjectKey): Promise<ReconcileResult> } {
  const managed: ManagedKind<T, RegistryPartStatus> = {
    name: kind.name,
    ref: kind.ref,
    finalizer: FINALIZER,
    objects: deps.objects,
    connect: (obj) => new PartClient(kind, deps, obj),
    userDriven: partUserDriven,
    served: (obj) => {
      const forceSync = obj.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
      return forceSync === undefined ? {} : { lastForceSync: forceSync };
    },
    classify: (err) => (isAwsError(err) ? awsFailure(err) : undefined),
    ...(deps.syncPeriodMs ? { readyRequeueMs: deps.syncPeriodMs } : {}),
  };
  return new ManagedReconciler<T, RegistryPartStatus>(managed, deps);
}

class PartClient<T extends RegistryPartObject, Doc, Part> implements ExternalClient<T, RegistryPartStatus> {
  private want: Part | undefined;
  private adopting = false;
  private connected: Promise<{ gateway: RegistryGateway; registry: Registry; identity: string }> | undefined;

  constructor(
    private readonly kind: PartKind<T, Doc, Part>,
    private readonly deps: RegistryPartDeps<T>,
    private readonly obj: T,
  ) {}

  async observe(obj: T, ctx: ReconcileContext): Promise<Observation<RegistryPartStatus>> {
    const { registry, gateway, identity } = await this.connection();
    this.accountUnchanged(registry);
    const desired = this.kind.desired(obj, registry);
    if ('problem' in desired) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: desired.problem }, 'edit');
    const want = desired.part;
    this.want = want;
    const doc = await this.read(registry, identity, gateway, ctx.userDriven);
    const live = this.kind.find(doc, this.kind.identity(want));
    const claimed = live !== undefined && !this.kind.unclaimed?.(live);
    if (!this.mine(want)) this.notClaimedByAnother(want, registry);
    // Named as AWS holds it: the message says what is there, not what this object wants.
    if (claimed && !this.mine(want)) this.mayTakeOver(live, registry);
    const applied = this.kind.applied(obj);
    const previousLive = applied !== undefined && this.kind.identity(applied) !== this.kind.identity(want)
      ? this.kind.find(doc, this.kind.identity(applied))
      : undefined;
    const inForce = live !== undefined && this.kind.same(live, want);
    const recorded = applied !== undefined && this.kind.same(applied, want);
    const status: Partial<RegistryPartStatus> = { ...this.where(registry), ...this.kind.documentStatus(doc) as Partial<RegistryPartStatus>, inForce };
    return {
      exists: inForce || claimed || previousLive !== undefined,
      upToDate: inForce && recorded && previousLive === undefined && this.kind.pending(obj) === undefined,
      status,
      message: `${this.kind.describe(want)} is in ${this.kind.home} of ${registry.accountId}/${registry.region}`,
    };
  }

  /** Records the part about to be written; the write itself is update's. */
  create(obj: T): Promise<Creation<RegistryPartStatus>> {
    const want = this.want!;
    const status = this.kind.partStatus(this.kind.applied(obj), want);
    return Promise.resolve({
      status,
      observation: { exists: true, upToDate: false, status, message: `writing ${this.kind.describe(want)} to ${this.kind.home}` },
    });
  }

  async update(obj: T): Promise<Update<RegistryPartStatus>> {
    const want = this.want!;
    const { registry, gateway, identity } = await this.connection();
    const applied = this.kind.applied(obj);
    const result = await this.deps.documents.withLock(registry.key, async () => {
      const doc = await this.read(registry, identity, gateway, true);
      const live = this.kind.find(doc, this.kind.identity(want));
      if (!this.mine(want)) this.notClaimedByAnother(want, registry);
      // Someone may have written the same part since observe read the document.
      if (live !== undefined && !this.kind.unclaimed?.(live) && !this.mine(want) && !this.adopting) this.mayTakeOver(live, registry);
      const previous = applied !== undefined && this.kind.identity(applied) !== this.kind.identity(want) ? applied : undefined;
      const next = this.kind.put(doc, want, previous);
      if ('limit' in next) throw new Failure({ kind: 'stalled', reason: 'LimitExceeded', message: next.limit }, 'stall');
      const changed = !this.kind.equal(doc, next.doc);
      if (changed) {
        await this.kind.write(gateway, next.doc);
        this.deps.documents.wrote({ registry: registry.key, document: this.kind.document, identity }, next.doc);
        this.deps.logger.info({ controller: this.kind.name, name: obj.metadata.name, registry: registry.key }, `${this.kind.describe(want)} written`);
      }
      return { doc: next.doc, changed, hadLive: live !== undefined };
    });
    const where = `${this.kind.home} of ${registry.accountId}/${registry.region}`;
    const event = this.adopting
      ? { reason: 'Adopted', message: `took over ${this.kind.describe(want)} in ${where}` }
      : result.changed
        ? { reason: result.hadLive || applied !== undefined ? 'Updated' : 'Applied', message: `${result.hadLive || applied !== undefined ? 'updated' : 'put'} ${this.kind.describe(want)} in ${where}` }
        : undefined;
    return {
      status: {
        ...this.kind.partStatus(want, undefined) as Partial<RegistryPartStatus>,
        ...this.kind.documentStatus(result.doc) as Partial<RegistryPartStatus>,
        ...this.where(registry),
        inForce: true,
      },
      ...(event ? { event } : {}),
    };
  }

  async delete(obj: T): Promise<Deletion> {
    const policy = obj.spec.deletionPolicy ?? DEFAULT_DELETION_POLICY;
    const part = this.kind.applied(obj) ?? this.kind.pending(obj);
    if (policy !== 'Delete') {
      return { done: true, event: { reason: 'Retained', message: `${part !== undefined ? this.kind.describe(part) : 'nothing'} left in AWS (deletionPolicy ${policy})` } };
    }
    if (part === undefined) return { done: true, event: { reason: 'Deleted', message: 'nothing of this object was ever written to AWS' } };
    const { registry, gateway, identity } = await this.connection(true);
    this.accountUnchanged(registry);
    const removed = await this.deps.documents.withLock(registry.key, async () => {
      const doc = await this.read(registry, identity, gateway, true);
      if (this.kind.find(doc, this.kind.identity(part)) === undefined) return false;
      const next = this.kind.remove(doc, part);
      if (this.kind.equal(doc, next)) return false;
      await this.kind.write(gateway, next);
      this.deps.documents.wrote({ registry: registry.key, document: this.kind.document, identity }, next);
      return true;
    });
    const where = `${this.kind.home} of ${registry.accountId}/${registry.region}`;
    return { done: true, event: { reason: 'Deleted', message: removed ? `removed ${this.kind.describe(part)} from ${where}` : `${this.kind.describe(part)} was already gone from ${where}` } };
  }

  /**
   * Another object of this registry applied (or is writing) a part of the same identity: a Conflict
   * naming it, whatever AWS holds now (even a default value another object declared).
   */
  private notClaimedByAnother(part: Part, registry: Registry): void {
    const id = this.kind.identity(part);
    const other = this.deps.objects.list().find((o) => o.metadata.name !== this.obj.metadata.name
      && o.status?.registryId === registry.accountId && o.status.region === registry.region
      && [this.kind.applied(o), this.kind.pending(o)].some((p) => p !== undefined && this.kind.identity(p) === id));
    if (other) {
      throw new Failure({ kind: 'stalled', reason: 'Conflict', message: `${this.kind.describe(part)} of ${this.kind.home} of ${registry.accountId}/${registry.region} belongs to ${this.kind.kind} ${other.metadata.name}; nothing was changed` }, 'stall', { status: this.where(registry) });
    }
  }

  /** The part is this object's: it applied it, or recorded it before writing it. */
  private mine(part: Part): boolean {
    const id = this.kind.identity(part);
    return [this.kind.applied(this.obj), this.kind.pending(this.obj)].some((p) => p !== undefined && this.kind.identity(p) === id);
  }

  /** A part in AWS that is not this object's: another object's (Conflict), or only with the adopt annotation. */
  private mayTakeOver(part: Part, registry: Registry): void {
    this.notClaimedByAnother(part, registry);
    if (this.obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
      throw new Failure({
        kind: 'stalled',
        reason: 'AlreadyExists',
        message: `${this.kind.describe(part)} already exists in ${this.kind.home} of ${registry.accountId}/${registry.region} and was not written by this object; nothing was changed. Annotate this object with ${ADOPT_ANNOTATION}="true" to take it over`,
      }, 'stall', { status: this.where(registry) });
    }
    this.adopting = true;
  }

  /** A provider that now names another account never acts on this object's part there. */
  private accountUnchanged(registry: Registry): void {
    const before = this.obj.status?.registryId;
    const owned = this.kind.applied(this.obj) ?? this.kind.pending(this.obj);
    if (owned === undefined || !before || before === registry.accountId) return;
    throw new Failure({
      kind: 'stalled',
      reason: 'ProviderAccountChanged',
      message: `AWSProvider ${this.obj.spec.providerRef.namespace}/${this.obj.spec.providerRef.name} now acts in account ${registry.accountId}, but this object's part is in account ${before}; nothing is written until the provider names ${before} again`,
    }, 'wait');
  }

  private where(registry: Registry): { registryId: string; region: string } {
    return { registryId: registry.accountId, region: registry.region };
  }

  private async read(registry: Registry, identity: string, gateway: RegistryGateway, fresh: boolean): Promise<Doc> {
    try {
      return await this.deps.documents.read({ registry: registry.key, document: this.kind.document, identity }, fresh, () => this.kind.read(gateway));
    } catch (err) {
      if (isAwsError(err)) throw err;
      // The live document cannot be read as one: never overwrite it blindly. Only this object stalls.
      throw new Failure({ kind: 'stalled', reason: 'InvalidRegistryDocument', message: `${this.kind.home} of ${registry.accountId}/${registry.region} cannot be read: ${(err as Error).message}` }, 'stall');
    }
  }

  private connection(deleting = false): Promise<{ gateway: RegistryGateway; registry: Registry; identity: string }> {
    this.connected ??= (async () => {
      const ref = this.obj.spec.providerRef;
      const { provider, connection } = await connectProvider(this.deps, {
        namespace: ref.namespace,
        name: ref.name,
        deleting: deleting ? { hint: RELEASE_HINT } : undefined,
      });
      const accountId = provider.status?.accountID ?? connection.session.accountId;
      if (!accountId) throw new Failure({ kind: 'progressing', reason: 'ProviderNotReady', message: `AWSProvider ${ref.namespace}/${ref.name} has no verified account yet` }, 'wait');
      const region = provider.spec.region;
      const registry = { accountId, region, key: `${accountId}/${region}/${provider.spec.endpoint ?? ''}` };
      return { gateway: new RegistryGateway(connection.session.ecr), registry, identity: `${ref.namespace}/${ref.name}#${connection.fingerprint}` };
    })();
    return this.connected;
  }
}
