/**
 * --sync-period-with-events: the periodic sweep of an object whose AWSProvider's event queue is read
 * becomes a safety net. The sweep still runs every --sync-period for the other objects; an object in
 * event mode is let through at most once per `periodWithEventsMs` (counted from when it was first
 * seen in event mode, right after the full pass of the controller's start). When its provider falls
 * back to polling (the queue cannot be read), the object is swept at the normal period again at once.
 */
import { realClock, type Clock } from '../runtime/clock.js';

/**
 * In event mode a repository's tags and images are read at every FULL_READ_TURNS-th turn of the
 * safety net only (once a day at the default 6 h), its settings and policies at every turn: ECR's own
 * events and CloudTrail's report every change of tags and images, and each such event has the
 * repository read in full at once.
 */
export const FULL_READ_TURNS = 4;

/** How long a repository in event mode goes without a full read: the FULL_READ_TURNS-th turn finds its last one older. */
export function fullReadEveryMs(periodWithEventsMs: number): number {
  return (FULL_READ_TURNS - 0.5) * periodWithEventsMs;
}

export interface SweepGateOptions {
  /** Whether the object's provider is in event mode now. */
  inEventMode: (namespace: string, providerName: string) => boolean;
  periodWithEventsMs: number;
  /**
   * The normal sync period, the sweep's. A granted turn stays granted for half of it: the sweep
   * looks an object up twice in one batch (for its read-ahead and to queue it), so the answer must
   * hold that long.
   */
  syncPeriodMs: number;
  clock?: Clock;
}

interface Turn {
  /** When the period started: first seen in event mode, or the last granted turn. */
  at: number;
  granted: boolean;
}

export class SweepGate {
  private readonly opts: SweepGateOptions;
  private readonly clock: Clock;
  private readonly turns = new Map<string, Turn>();

  constructor(opts: SweepGateOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
  }

  /** Whether the sweep reconciles this object in its current pass. */
  due(obj: { metadata: { name: string; namespace?: string }; spec: { providerRef: { name: string } } }): boolean {
    const namespace = obj.metadata.namespace ?? '';
    const key = `${namespace}/${obj.metadata.name}`;
    if (!this.opts.inEventMode(namespace, obj.spec.providerRef.name)) {
      this.turns.delete(key);
      return true;
    }
    const now = this.clock.now();
    const turn = this.turns.get(key);
    if (!turn) {
      this.turns.set(key, { at: now, granted: false });
      return false;
    }
    const since = now - turn.at;
    if (turn.granted && since < this.opts.syncPeriodMs / 2) return true;
    if (since >= this.opts.periodWithEventsMs) {
      this.turns.set(key, { at: now, granted: true });
      return true;
    }
    return false;
  }

  /**
   * What the object costs a pass of the sweep, as a share of a reconcile: in event mode it is let
   * through at one pass in periodWithEvents / syncPeriod, so the sweep's pace is planned for the
   * objects it reconciles, not for every object it lists.
   */
  shareOf(obj: { metadata: { namespace?: string }; spec: { providerRef: { name: string } } }): number {
    if (!this.opts.inEventMode(obj.metadata.namespace ?? '', obj.spec.providerRef.name)) return 1;
    return Math.min(1, this.opts.syncPeriodMs / Math.max(1, this.opts.periodWithEventsMs));
  }

  /** Forgets an object (deleted). */
  forget(namespace: string, name: string): void {
    this.turns.delete(`${namespace}/${name}`);
  }
}

/**
 * A view of an informer whose `get` answers only for objects the gate lets through; everything else
 * is the informer's own. The sweep (runtime/sweep.ts) looks its batches' objects up with `get`, so
 * handing the controller this view skips event-mode objects in the sweep and nowhere else: the
 * controller's own events, its full pass at start and the reconciler use list() and the cache.
 */
export function sweptView<O extends { get(namespace: string, name: string): object | undefined }>(informer: O, due: (obj: NonNullable<ReturnType<O['get']>>) => boolean): O {
  return new Proxy(informer, {
    get(target, prop) {
      if (prop === 'get') {
        return (namespace: string, name: string) => {
          const obj = target.get(namespace, name);
          return obj !== undefined && due(obj as NonNullable<ReturnType<O['get']>>) ? obj : undefined;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
