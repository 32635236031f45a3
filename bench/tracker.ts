import { readyCondition, type KubeResource, type WatchEvent } from './kube-api.js';

/**
 * Follows every benchmark object through the watch: when it appeared, when it was first seen Ready
 * for its generation, when it was gone, and which writes it received. Each MODIFIED event is one
 * write to the object; only the operator writes after the apply, and it writes status only through
 * the status subresource, so a MODIFIED whose status differs is a status write and one whose
 * finalizers differ is a finalizer write. That splits what rest_client_requests_total cannot
 * (it counts PATCH without the path).
 */

export interface Tracked {
  addedAt?: number;
  readyAt?: number;
  deletedAt?: number;
  deletionSeenAt?: number;
  last?: KubeResource;
  statusWrites: number;
  statusWritesToReady: number;
  finalizerWrites: number;
  otherWrites: number;
}

export function isReady(obj: KubeResource): boolean {
  const ready = readyCondition(obj);
  return ready?.status === 'True' && ready.observedGeneration === obj.metadata.generation;
}

function statusText(obj: KubeResource | undefined): string {
  return JSON.stringify(obj?.status ?? null);
}

function finalizersText(obj: KubeResource | undefined): string {
  return JSON.stringify(obj?.metadata.finalizers ?? []);
}

export class Tracker {
  readonly objects = new Map<string, Tracked>();
  private waiters: Array<() => void> = [];

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Starts counting writes afresh (the objects stay known). */
  resetWrites(): void {
    for (const t of this.objects.values()) {
      t.statusWrites = 0;
      t.finalizerWrites = 0;
      t.otherWrites = 0;
    }
  }

  onEvent(e: WatchEvent): void {
    const now = this.clock();
    const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
    let t = this.objects.get(key);
    if (!t) {
      t = { statusWrites: 0, statusWritesToReady: 0, finalizerWrites: 0, otherWrites: 0 };
      this.objects.set(key, t);
    }
    if (e.type === 'ADDED') t.addedAt ??= now;
    if (e.type === 'MODIFIED' && t.last) {
      const statusChanged = statusText(t.last) !== statusText(e.object);
      const finalizersChanged = finalizersText(t.last) !== finalizersText(e.object);
      if (statusChanged) {
        t.statusWrites += 1;
        if (t.readyAt === undefined) t.statusWritesToReady += 1;
      }
      if (finalizersChanged) t.finalizerWrites += 1;
      if (!statusChanged && !finalizersChanged) t.otherWrites += 1;
    }
    if (e.type === 'DELETED') t.deletedAt ??= now;
    else {
      if (t.readyAt === undefined && isReady(e.object)) t.readyAt = now;
      if (e.object.metadata.deletionTimestamp) t.deletionSeenAt ??= now;
    }
    t.last = e.object;
    this.notify();
  }

  count(predicate: (t: Tracked) => boolean): number {
    let n = 0;
    for (const t of this.objects.values()) if (predicate(t)) n += 1;
    return n;
  }

  /** Resolves once the predicate holds; checked after every event and on a slow timer. */
  until(what: string, predicate: () => boolean, timeoutMs: number, progress?: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let lastReport = started;
      const check = () => {
        if (predicate()) {
          cleanup();
          resolve();
          return true;
        }
        return false;
      };
      const timer = setInterval(() => {
        if (check()) return;
        const now = Date.now();
        if (progress && now - lastReport >= 10_000) {
          lastReport = now;
          process.stderr.write(`bench:   ${what}: ${progress()}\n`);
        }
        if (now - started > timeoutMs) {
          cleanup();
          reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${progress ? ` (${progress()})` : ''}`));
        }
      }, 1000);
      const waiter = () => void check();
      const cleanup = () => {
        clearInterval(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.waiters.push(waiter);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
