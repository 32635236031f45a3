import type { RegistryDocumentSummary } from '../api/registry-types.js';
import type { DeletionPolicy } from '../api/types.js';

/**
 * The shapes every registry merge shares. A merge is pure: objects of one registry, the document AWS
 * holds now and what each object applied last go in; the document to write and one verdict per
 * object come out. No Kubernetes, no AWS.
 */

/** The registry: one account in one region. */
export interface Registry {
  accountId: string;
  region: string;
}

/** One object of the kind, reduced to what a merge needs. */
export interface Member<Spec, Applied> {
  /** `namespace/name`: names the object in verdicts and messages. */
  key: string;
  /** metadata.creationTimestamp: the older object wins a clash. */
  created: string;
  deleting: boolean;
  deletionPolicy: DeletionPolicy;
  spec: Spec;
  /** What the object last put in force (from its status), if anything. */
  applied?: Applied | undefined;
  /**
   * Set when the spec must not be applied now (AWS refused it, or another object's change is tried
   * alone first): the object is treated as an invalid spec with this message, and what it applied
   * before stays in place.
   */
  hold?: string | undefined;
}

export type StallReason = 'AlreadyOwned' | 'Conflict';

/**
 * - InForce: the object's part is in the desired document.
 * - Stalled / InvalidSpec / LimitExceeded: its part is not (a clash, a bad spec, a limit); nothing
 *   the object asks for is written.
 * - Released: the object is being deleted and its deletion policy is carried out by this document.
 * `applied` is what the object's status records after the document is written: its part, or the
 * part it still has in the document, or undefined when nothing of it is there.
 */
export type Verdict<Applied> =
  | { kind: 'InForce'; message: string; applied: Applied }
  | { kind: 'Stalled'; reason: StallReason; message: string; applied?: Applied | undefined }
  | { kind: 'InvalidSpec'; message: string; applied?: Applied | undefined }
  | { kind: 'LimitExceeded'; message: string; applied?: Applied | undefined }
  | { kind: 'Released'; message: string };

export interface MergeResult<Doc, Applied> {
  desired: Doc;
  /** False when the live document already equals the desired one: no write. */
  changed: boolean;
  verdicts: Map<string, Verdict<Applied>>;
  summary: RegistryDocumentSummary;
}

/** Oldest first (creationTimestamp, then namespace/name): the order in which objects claim parts. */
export function byAge<M extends { created: string; key: string }>(members: readonly M[]): M[] {
  return [...members].sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** JSON with object keys sorted: equal meaning, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
