import type { RegistryPartSpec } from '../api/registry-part.js';
import { ADOPT_ANNOTATION, FINALIZER, FORCE_SYNC_ANNOTATION, type ObjectMeta } from '../api/types.js';
import { isAwsError } from '../aws/errors.js';
import type { SecretsManagerClients } from '../aws/secrets-manager.js';
import type { AWSProvider } from '../kinds/awsprovider/types.js';
import type { Logger } from '../observability/logger.js';
import type { Connection } from '../providers/connections.js';
import type { SecondaryWatch } from '../runtime/controller.js';
import type { ResourceRef } from '../runtime/kube.js';
import type { ObjectKey, ReconcileResult } from '../runtime/types.js';
import { awsFailure } from './aws-failure.js';
import type { EventRecorderLike, Lister, Lookup, ObjectWriterLike } from './dependencies.js';
import { Failure, ManagedReconciler, type ExternalClient, type ManagedKind, type ManagedStatus } from './managed.js';
import { connectProvider, type ProviderDeps } from './provider.js';
import { partUserDriven, type Registry } from './registry-part.js';

/**
 * The account-wide kinds whose objects each own a resource of their own in a registry, named by a
 * prefix (a pull through cache rule, a repository creation template), on the generic managed
 * reconciler. Such a resource carries no tags, so ownership lives in the object's status, as the
 * registry parts keep theirs: the prefix is recorded as pending before the call that creates it and
 * as applied after, so that a crash never leaves a resource the object cannot recognise as its own.
 * A resource in AWS that the object did not record is another object's (Conflict, naming it) or
 * nobody's, and is taken over only with the adopt annotation (otherwise Stalled AlreadyExists).
 * Each object acts with its own provider's identity only. A kind supplies its external client; this
 * module gives it the provider's connection and registry and the ownership decisions.
 */

/** Status fields that every resource kind records. */
export interface ResourceStatus extends ManagedStatus {
  /** The registry (AWS account) and region the resource is in. */
  registryId?: string;
  region?: string;
  /** The value of the force-sync annotation that the last successful sync served. */
  lastForceSync?: string;
  /** The prefix of the resource this object created or took over. */
  appliedPrefix?: string;
  /** The prefix of the resource this object is about to create, recorded before the call. */
  pendingPrefix?: string;
}

/** A cluster-scoped object that names an AWSProvider of any namespace (as the registry parts do). */
export type ResourceObject<Spec extends RegistryPartSpec = RegistryPartSpec, Status extends ResourceStatus = ResourceStatus> = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
};

type StatusOf<T extends ResourceObject> = NonNullable<T['status']>;

/** What a reconcile of a resource kind may use. */
export interface ResourceDeps<T extends ResourceObject> extends ProviderDeps {
  objects: Lookup<T> & Lister<T>;
  writer: ObjectWriterLike;
  events: EventRecorderLike;
  logger: Logger;
  /** Reads Kubernetes objects an object names (a Secret of its provider's namespace); KubeClient fits. */
  kube: { getOrUndefined<R>(path: string): Promise<R | undefined> };
  /** Secrets Manager clients, one per provider session, built on first use. */
  secretsManager: SecretsManagerClients;
  clock?: () => Date;
  /** When a Ready object is looked at again: the periodic check for drift. */
  syncPeriodMs?: number;
  /** --cluster-name: part of the owner tag's value and of the names of what the operator creates. */
  clusterName?: string | undefined;
  /** How often the Kubernetes Secrets that objects name are read again (--secret-poll-period). */
  secretPollPeriodMs?: number;
}

/** Where an object's resource lives: its provider, the verified connection and the registry. */
export interface Place {
  provider: AWSProvider;
  connection: Connection;
  registry: Registry;
}

export interface ResourceKind<T extends ResourceObject> {
  /** Controller name, for logs and metrics. */
  name: string;
  kind: string;
  ref: ResourceRef;
  /** The prefix that names the object's resource in its registry. */
  prefix(obj: T): string;
  /** A spec problem that nothing but an edit can fix, naming the field; checked before any AWS call. */
  validate?(obj: T): string | undefined;
  /** The external client of one reconcile of `obj`. */
  client(obj: T, context: ResourceContext<T>): ExternalClient<T, StatusOf<T>>;
  /** Watches besides the provider's that bring an object back (a polled Secret it names). */
  watches?(objects: Lister<T>, deps: ResourceDeps<T>): SecondaryWatch[];
}

const RELEASE_HINT = 'set spec.deletionPolicy to Retain to release this object without changing AWS';

/**
 * One reconcile's view of an object's place and ownership, for its kind's external client. The
 * provider is connected once per reconcile, on first use.
 */
export class ResourceContext<T extends ResourceObject> {
  private connected: Promise<Place> | undefined;
  /** The resource in AWS is nobody's and the adopt annotation allows taking it over. */
  adopting = false;

  constructor(
    readonly kind: Pick<ResourceKind<T>, 'kind' | 'prefix'>,
    readonly deps: ResourceDeps<T>,
    readonly obj: T,
  ) {}

  now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  /** The object's provider, connection and registry; a Failure that says why not otherwise. */
  place(deleting = false): Promise<Place> {
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
      this.accountUnchanged(registry);
      return { provider, connection, registry };
    })();
    return this.connected;
  }

  /** Status fields naming the registry. */
  where(registry: Registry): { registryId: string; region: string } {
    return { registryId: registry.accountId, region: registry.region };
  }

  /** Whether the object recorded the resource of this prefix as its own: applied, pending, or not at all. */
  recorded(prefix: string = this.kind.prefix(this.obj)): 'applied' | 'pending' | undefined {
    const status = this.obj.status;
    if (status?.appliedPrefix === prefix) return 'applied';
    if (status?.pendingPrefix === prefix) return 'pending';
    return undefined;
  }

  /**
   * A resource of this prefix exists in AWS: it is this object's when recorded; another object's
   * record of it stalls this one with Conflict, naming that object; otherwise it is taken over only
   * with the adopt annotation, and without it this object is Stalled AlreadyExists.
   */
  claim(registry: Registry, what: string, prefix: string = this.kind.prefix(this.obj)): void {
    if (this.recorded(prefix) !== undefined) return;
    const other = this.deps.objects.list().find((o) => o.metadata.name !== this.obj.metadata.name
      && o.status?.registryId === registry.accountId && o.status.region === registry.region
      && (o.status.appliedPrefix === prefix || o.status.pendingPrefix === prefix));
    const place = `${registry.accountId}/${registry.region}`;
    if (other) {
      throw new Failure({ kind: 'stalled', reason: 'Conflict', message: `${what} in ${place} belongs to ${this.kind.kind} ${other.metadata.name}; nothing was changed` }, 'stall', { status: this.where(registry) });
    }
    if (this.obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
      throw new Failure({
        kind: 'stalled',
        reason: 'AlreadyExists',
        message: `${what} already exists in ${place} and was not created by this object; nothing was changed. Annotate this object with ${ADOPT_ANNOTATION}="true" to take it over`,
      }, 'stall', { status: this.where(registry) });
    }
    this.adopting = true;
  }

  /** Status fields recording the prefix as about to be created. */
  pending(prefix: string = this.kind.prefix(this.obj)): Partial<ResourceStatus> {
    return { appliedPrefix: this.obj.status?.appliedPrefix, pendingPrefix: prefix };
  }

  /** Status fields recording the prefix as this object's resource. */
  applied(prefix: string = this.kind.prefix(this.obj)): Partial<ResourceStatus> {
    return { appliedPrefix: prefix, pendingPrefix: undefined };
  }

  /** A provider that now names another account never acts on this object's resource there. */
  private accountUnchanged(registry: Registry): void {
    const status = this.obj.status;
    const owned = status?.appliedPrefix ?? status?.pendingPrefix;
    const before = status?.registryId;
    if (owned === undefined || !before || before === registry.accountId) return;
    const ref = this.obj.spec.providerRef;
    throw new Failure({
      kind: 'stalled',
      reason: 'ProviderAccountChanged',
      message: `AWSProvider ${ref.namespace}/${ref.name} now acts in account ${registry.accountId}, but this object's resource is in account ${before}; nothing is changed until the provider names ${before} again`,
    }, 'wait');
  }
}

/** The generic managed reconciler for a resource kind. */
export function clusterResourceReconciler<T extends ResourceObject>(
  kind: ResourceKind<T>,
  deps: ResourceDeps<T>,
): { reconcile(key: ObjectKey): Promise<ReconcileResult> } {
  const managed: ManagedKind<T, StatusOf<T>> = {
    name: kind.name,
    ref: kind.ref,
    finalizer: FINALIZER,
    objects: deps.objects,
    connect: (obj) => kind.client(obj, new ResourceContext<T>(kind, deps, obj)),
    ...(kind.validate ? { validate: (obj: T) => kind.validate?.(obj) } : {}),
    userDriven: partUserDriven,
    served: (obj) => {
      const forceSync = obj.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
      return (forceSync === undefined ? {} : { lastForceSync: forceSync }) as Partial<StatusOf<T>>;
    },
    classify: (err) => (isAwsError(err) ? awsFailure(err) : undefined),
    ...(deps.syncPeriodMs ? { readyRequeueMs: deps.syncPeriodMs } : {}),
  };
  return new ManagedReconciler<T, StatusOf<T>>(managed, deps);
}
