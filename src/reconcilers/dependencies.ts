import type { ResourceRef } from '../runtime/kube.js';
import type { StatusUpdate } from '../runtime/status.js';
import type { KubeObject } from '../runtime/types.js';

/**
 * What the reconcilers need of the runtime, as narrow interfaces: the informer caches, the status
 * writer and the event recorder satisfy them, and unit tests pass small fakes.
 */

export interface Lookup<T> {
  get(namespace: string, name: string): T | undefined;
}

export interface ObjectWriterLike {
  /** Writes the status computed from the object as the server has it, when it differs. */
  patchStatus<T extends KubeObject>(ref: ResourceRef, obj: T, status: StatusUpdate<T>): Promise<T | undefined>;
  ensureFinalizer<T extends KubeObject>(ref: ResourceRef, obj: T, finalizer: string): Promise<T>;
  removeFinalizer<T extends KubeObject>(ref: ResourceRef, obj: T, finalizer: string): Promise<void>;
}

export interface Lister<T> {
  list(namespace?: string): T[];
}

export interface EventRecorderLike {
  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
