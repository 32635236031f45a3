/** The parts of a Kubernetes object the generic machinery reads; everything else passes through. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    finalizers?: string[];
  };
  [k: string]: unknown;
}

/**
 * The object without metadata.managedFields, as controller-runtime's default cache transform: the
 * server-side apply bookkeeping is often the largest part of an object, and no consumer reads it.
 * A copy, not `delete`: deleting a field turns V8's object into a dictionary, which costs more
 * memory than the field did.
 */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (!meta || !('managedFields' in meta)) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}

export interface ObjectKey {
  namespace: string;
  name: string;
}

export function keyOf(o: KubeObject): ObjectKey {
  return { namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' };
}

/** `namespace/name`, or just `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function keyString(k: ObjectKey): string {
  return k.namespace ? `${k.namespace}/${k.name}` : k.name;
}

/** The inverse of keyString. */
export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export interface ReconcileResult {
  /** Reconcile this key again after this long (periodic sync, waiting on something external). */
  requeueAfterMs?: number;
  /** Reconcile again with the key's rate-limited backoff, without counting an error. */
  requeue?: boolean;
}

/** Throwing means "back off for this key and retry"; the queue owns retries, not the reconciler. */
export type ReconcileFn = (key: ObjectKey) => Promise<ReconcileResult>;
