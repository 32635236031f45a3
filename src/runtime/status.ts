import { isApiError, resourcePath, type KubeClient, type ResourceRef } from './kube.js';
import type { KubeObject } from './types.js';

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

/** Writes that the reconcilers share: status through the status subresource, and finalizers. */
export class ObjectWriter {
  constructor(private readonly client: Pick<KubeClient, 'get' | 'patch'>) {}

  /**
   * Writes `status` through the status subresource when it differs from obj.status; otherwise
   * writes nothing (so an unchanged object costs no API write and fires no watch event).
   * Returns the updated object, or undefined when nothing was written or the object is gone.
   */
  async patchStatus<T extends KubeObject>(ref: ResourceRef, obj: T, status: object): Promise<T | undefined> {
    const current = normalize(obj.status ?? {});
    const desired = normalize(status);
    if (deepEqual(current, desired)) return undefined;
    const { namespace, name } = nameOf(obj);
    try {
      return await this.client.patch<T>(resourcePath(ref, namespace, name, 'status'), { status: mergePatch(current, desired) }, 'merge');
    } catch (err) {
      if (isApiError(err, 404)) return undefined;
      throw err;
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
    let current = obj;
    for (let attempt = 0; ; attempt++) {
      const finalizers = current.metadata?.finalizers ?? [];
      if (finalizers.includes(finalizer)) return current;
      try {
        return await this.client.patch<T>(path, lockedMetadataPatch(current, [...finalizers, finalizer]), 'merge');
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
    let current: T | undefined = obj;
    for (let attempt = 0; current; attempt++) {
      const finalizers = current.metadata?.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      try {
        await this.client.patch<T>(path, lockedMetadataPatch(current, finalizers.filter((f) => f !== finalizer)), 'merge');
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
