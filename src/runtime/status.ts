import { realClock, type Clock } from './clock.js';
import { isApiError, resourcePath, type KubeClient, type ResourceRef } from './kube.js';
import { withoutManagedFields, type KubeObject } from './types.js';

type Json = unknown;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops undefined and null object fields, recursively: to the API server they mean "absent". */
export function normalize(v: Json): Json {
  if (Array.isArray(v)) return v.map(normalize);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val !== undefined && val !== null) out[k] = normalize(val);
  }
  return out;
}

/** Structural equality of JSON values; object key order does not count, array order does. */
export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

/** The RFC 7386 merge patch that turns `from` into `to` (both normalized): removed fields become null. */
export function mergePatch(from: Json, to: Json): Json {
  if (!isPlainObject(from) || !isPlainObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) patch[k] = v;
    else if (!deepEqual(from[k], v)) patch[k] = mergePatch(from[k], v);
  }
  for (const k of Object.keys(from)) {
    if (!(k in to)) patch[k] = null;
  }
  return patch;
}

const CONFLICT_RETRIES = 5;

/** The status to write, or how to compute it from the object as the server has it. */
export type StatusUpdate<T extends KubeObject> = object | ((current: T) => object);

export interface ObjectWriterOptions {
  clock?: Clock;
  /**
   * How long a write is remembered when no informer event says the cache holds it (a watch event
   * that arrived before the write's own reply, an object nobody watches). After that the cache is
   * the reference again; if it still lags, the write's resourceVersion precondition fails with 409
   * and the writer reads the object afresh.
   */
  retainMs?: number;
}

interface OwnWrite {
  obj: KubeObject;
  at: number;
}

/**
 * Writes that the reconcilers share: status through the status subresource, and finalizers.
 *
 * Every write carries the resourceVersion it was computed from, so a write based on a stale copy
 * fails with 409 instead of silently losing to (or keeping) what the server holds; the writer then
 * reads the object again and recomputes. The informer cache may lag behind our own writes (it only
 * learns them from the watch), so the writer remembers the object each of its writes produced until
 * the cache has caught up: a write made by this process is applied to what it compares against at
 * once, and "unchanged against a stale cache" never skips a write the server needs. The informers
 * tell the writer what their caches hold (observed()), so a remembered write lives about as long as
 * the watch takes to deliver it: one copy of each object stays in memory, the cache's.
 */
export class ObjectWriter {
  /** Per object (by uid): the object our last write produced, until the cache holds that version or newer. */
  private readonly ownWrites = new Map<string, OwnWrite>();
  private readonly clock: Clock;
  private readonly retainMs: number;

  constructor(
    private readonly client: Pick<KubeClient, 'get' | 'patch'>,
    opts: ObjectWriterOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.retainMs = opts.retainMs ?? 60_000;
  }

  /** How many writes are remembered because the cache may not hold them yet. */
  get retained(): number {
    return this.ownWrites.size;
  }

  /**
   * Writes the status through the status subresource when it differs from what the server has;
   * otherwise writes nothing (so an unchanged object costs no API write and fires no watch event).
   * Returns the updated object, or undefined when nothing was written or the object is gone.
   */
  async patchStatus<T extends KubeObject>(ref: ResourceRef, obj: T, status: StatusUpdate<T>): Promise<T | undefined> {
    const build = typeof status === 'function' ? status : () => status;
    const { namespace, name } = nameOf(obj);
    const path = resourcePath(ref, namespace, name, 'status');
    let base: T | undefined = this.latest(obj);
    for (let attempt = 0; base; attempt++) {
      const current = normalize(base.status ?? {});
      const desired = normalize(build(base));
      if (deepEqual(current, desired)) return undefined;
      const body: Record<string, unknown> = { status: mergePatch(current, desired) };
      if (base.metadata?.resourceVersion) body.metadata = { resourceVersion: base.metadata.resourceVersion };
      try {
        const written = await this.client.patch<T>(path, body, 'merge');
        this.remember(written);
        return written;
      } catch (err) {
        if (isApiError(err, 404)) {
          this.ownWrites.delete(identity(obj));
          return undefined;
        }
        if (!isApiError(err, 409) || attempt >= CONFLICT_RETRIES) throw err;
        base = await this.readOrUndefined<T>(resourcePath(ref, namespace, name));
        if (base) this.remember(base);
      }
    }
    return undefined;
  }

  /** The newer of the given (cached) object and the one our last write produced. */
  latest<T extends KubeObject>(obj: T): T {
    this.expire();
    const id = identity(obj);
    const own = this.ownWrites.get(id)?.obj;
    if (!own) return obj;
    if (!olderThan(obj, own)) {
      this.ownWrites.delete(id);
      return obj;
    }
    return own as T;
  }

  /**
   * An informer's cache now holds `obj` (added, modified or deleted): a remembered write of that
   * version or an older one is no longer needed. Informers call this for every event.
   */
  observed(obj: KubeObject): void {
    const id = identity(obj);
    const own = this.ownWrites.get(id)?.obj;
    if (own && !olderThan(obj, own)) this.ownWrites.delete(id);
  }

  private remember(obj: KubeObject): void {
    const id = identity(obj);
    // Re-inserting keeps the map in the order of the writes, oldest first, for expire().
    this.ownWrites.delete(id);
    this.ownWrites.set(id, { obj: withoutManagedFields(obj), at: this.clock.now() });
    this.expire();
  }

  private expire(): void {
    const cutoff = this.clock.now() - this.retainMs;
    for (const [id, own] of this.ownWrites) {
      if (own.at > cutoff) return;
      this.ownWrites.delete(id);
    }
  }

  /**
   * Adds the finalizer unless present. The patch carries the resourceVersion it was computed from,
   * so a concurrent change fails with 409 instead of losing someone's finalizer; then we re-read
   * and try again.
   */
  async ensureFinalizer<T extends KubeObject>(ref: ResourceRef, obj: T, finalizer: string): Promise<T> {
    const { namespace, name } = nameOf(obj);
    const path = resourcePath(ref, namespace, name);
    let current = this.latest(obj);
    for (let attempt = 0; ; attempt++) {
      const finalizers = current.metadata?.finalizers ?? [];
      if (finalizers.includes(finalizer)) return current;
      try {
        const written = await this.client.patch<T>(path, lockedMetadataPatch(current, [...finalizers, finalizer]), 'merge');
        this.remember(written);
        return written;
      } catch (err) {
        if (!isApiError(err, 409) || attempt >= CONFLICT_RETRIES) throw err;
        current = await this.client.get<T>(path);
      }
    }
  }

  /** Removes the finalizer if present; an object that is already gone is fine. */
  async removeFinalizer<T extends KubeObject>(ref: ResourceRef, obj: T, finalizer: string): Promise<void> {
    const { namespace, name } = nameOf(obj);
    const path = resourcePath(ref, namespace, name);
    let current: T | undefined = this.latest(obj);
    for (let attempt = 0; current; attempt++) {
      const finalizers = current.metadata?.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      try {
        await this.client.patch<T>(path, lockedMetadataPatch(current, finalizers.filter((f) => f !== finalizer)), 'merge');
        this.ownWrites.delete(identity(current));
        return;
      } catch (err) {
        if (isApiError(err, 404)) return;
        if (!isApiError(err, 409) || attempt >= CONFLICT_RETRIES) throw err;
        current = await this.readOrUndefined<T>(path);
      }
    }
  }

  private async readOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(path);
    } catch (err) {
      if (isApiError(err, 404)) return undefined;
      throw err;
    }
  }
}

/** The uid: unique across kinds and across a delete and re-create under the same name. */
function identity(obj: KubeObject): string {
  return obj.metadata?.uid ?? `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/**
 * Whether `a` is an older version than `b`. resourceVersions are opaque to clients in general, but
 * etcd's are integers that grow with every write; a version that is not a number is treated as
 * older unless it is the same, so the writer falls back to a 409 and a fresh read.
 */
function olderThan(a: KubeObject, b: KubeObject): boolean {
  const va = a.metadata?.resourceVersion;
  const vb = b.metadata?.resourceVersion;
  if (va === vb) return false;
  if (!va || !vb) return !va;
  if (/^\d+$/.test(va) && /^\d+$/.test(vb)) return BigInt(va) < BigInt(vb);
  return true;
}

function nameOf(obj: KubeObject): { namespace?: string; name: string } {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  return { namespace: obj.metadata?.namespace || undefined, name };
}

function lockedMetadataPatch(obj: KubeObject, finalizers: string[]): object {
  const metadata: Record<string, unknown> = { finalizers };
  if (obj.metadata?.resourceVersion) metadata.resourceVersion = obj.metadata.resourceVersion;
  return { metadata };
}
