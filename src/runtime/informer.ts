import type { Logger } from '../observability/logger.js';
import { informerRelists, informerWatchConnected, informerWatchRestarts } from '../observability/metrics.js';
import { realClock, sleep, type Clock } from './clock.js';
import { KubeApiError, errorText, isApiError, resourcePath, type KubeClient, type ResourceRef } from './kube.js';
import { keyOf, keyString, withoutManagedFields, type KubeObject } from './types.js';

export type InformerEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerEvent<T> {
  type: InformerEventType;
  object: T;
  /** The cached object before this event (MODIFIED and DELETED). */
  old?: T;
}

export interface InformerOptions {
  client: Pick<KubeClient, 'get' | 'watch'>;
  ref: ResourceRef;
  /** All namespaces when undefined. */
  namespace?: string;
  logger: Logger;
  /** A watch that delivers nothing (no event, no bookmark) for this long is treated as dead. */
  watchIdleTimeoutMs?: number;
  name: string;
  /** healthy() turns false once the informer has had no open watch for this long. */
  unhealthyAfterMs?: number;
  /** Restart backoff: doubles from initialMs up to maxMs, with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Page size of lists. */
  pageSize?: number;
  clock?: Clock;
  random?: () => number;
}

type RestartReason = 'closed' | 'idle' | 'error' | 'gone';

interface ListPage<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/**
 * A cache of one resource kind kept current by list + watch, hardened against the ways
 * client-node's informer is known to stop silently:
 * - every error or end of a watch restarts it (from the last resourceVersion), with capped and
 *   jittered backoff unless the watch ended normally after doing its job;
 * - 410 Gone (as an HTTP answer or an ERROR event) relists, and the differences between the old
 *   cache and the new list are delivered as ADDED / MODIFIED / DELETED events;
 * - a watchdog aborts a watch that sent nothing for watchIdleTimeoutMs. The server-side timeout of
 *   each watch is shorter than that bound, so a healthy but quiet watch always ends (or sends the
 *   API server's pre-timeout bookmark) before the watchdog would call it dead;
 * - healthy() reports false while no watch has been open for longer than unhealthyAfterMs.
 */
export class Informer<T extends KubeObject> {
  readonly name: string;
  private readonly opts: InformerOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly idleTimeoutMs: number;
  private readonly unhealthyAfterMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly path: string;

  private cache = new Map<string, T>();
  private readonly handlers = new Set<(e: InformerEvent<T>) => void>();
  private resourceVersion = '';
  private hasSynced = false;
  private connected = false;
  private disconnectedSince: number;
  private failures = 0;
  private running = false;
  private stopped = false;
  private readonly stopController = new AbortController();
  private readonly syncPromise: Promise<void>;
  private resolveSync!: () => void;
  private rejectSync!: (err: Error) => void;
  private loop?: Promise<void>;

  constructor(opts: InformerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.idleTimeoutMs = opts.watchIdleTimeoutMs ?? 60_000;
    this.unhealthyAfterMs = opts.unhealthyAfterMs ?? Math.max(30_000, this.idleTimeoutMs);
    this.backoffInitialMs = opts.backoff?.initialMs ?? 500;
    this.backoffMaxMs = opts.backoff?.maxMs ?? 30_000;
    this.path = resourcePath(opts.ref, opts.namespace);
    this.disconnectedSince = this.clock.now();
    this.syncPromise = new Promise<void>((resolve, reject) => {
      this.resolveSync = resolve;
      this.rejectSync = reject;
    });
    // Callers that never await start() must not see an unhandled rejection when stopped early.
    this.syncPromise.catch(() => undefined);
    informerWatchConnected.set({ informer: this.name }, 0);
  }

  /** Starts list + watch; resolves once the first list is in the cache (rejects if stopped before). */
  start(): Promise<void> {
    if (!this.running && !this.stopped) {
      this.running = true;
      this.loop = this.run().catch((err: unknown) => {
        // run() handles its own errors; reaching here is a bug worth a loud line.
        this.opts.logger.error({ informer: this.name, err }, 'informer loop crashed');
      });
    }
    return this.syncPromise;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort();
    this.setConnected(false);
    if (!this.hasSynced) this.rejectSync(new Error(`informer ${this.name} stopped before its first list`));
  }

  /** Resolves when the loop has exited after stop(). */
  async whenStopped(): Promise<void> {
    await this.loop;
  }

  synced(): boolean {
    return this.hasSynced;
  }

  healthy(): boolean {
    if (!this.hasSynced || this.stopped) return false;
    return this.connected || this.clock.now() - this.disconnectedSince <= this.unhealthyAfterMs;
  }

  /** The cached object. Shared with every other reader: never mutate it (clone first). */
  get(namespace: string, name: string): T | undefined {
    return this.cache.get(keyString({ namespace, name }));
  }

  /** Cached objects, of one namespace or all. The objects are shared: never mutate them. */
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }

  /** Registers a handler, called synchronously after the cache was updated; returns an unsubscribe. */
  onEvent(handler: (e: InformerEvent<T>) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.relist();
          needList = false;
        } catch (err) {
          if (this.stopped) break;
          const delay = this.nextBackoff();
          this.opts.logger.warn({ informer: this.name, err: errorText(err), retryInMs: Math.round(delay) }, 'list failed');
          await sleep(this.clock, delay, this.stopController.signal);
          continue;
        }
      }
      const outcome = await this.watchOnce();
      if (this.stopped) break;
      informerWatchRestarts.inc({ informer: this.name, reason: outcome.reason });
      if (outcome.reason === 'gone') needList = true;
      if (outcome.productive) this.failures = 0;
      if (outcome.reason === 'closed' && outcome.productive) {
        this.opts.logger.debug({ informer: this.name }, 'watch ended; resuming');
        continue;
      }
      const delay = outcome.productive && outcome.reason === 'gone' ? 0 : this.nextBackoff();
      const log = outcome.reason === 'gone' ? this.opts.logger.info.bind(this.opts.logger) : this.opts.logger.warn.bind(this.opts.logger);
      log({ informer: this.name, reason: outcome.reason, err: outcome.err ? errorText(outcome.err) : undefined, retryInMs: Math.round(delay) },
        outcome.reason === 'gone' ? 'watch expired (410); relisting' : 'watch restarting');
      if (delay > 0) await sleep(this.clock, delay, this.stopController.signal);
    }
    this.setConnected(false);
  }

  private nextBackoff(): number {
    const base = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    // Half fixed, half random: restarts of many replicas spread out, none waits much less than base.
    return base * (0.5 + 0.5 * this.random());
  }

  /** Lists everything (page by page), replaces the cache and emits the differences. */
  private async relist(): Promise<void> {
    informerRelists.inc({ informer: this.name });
    let items: T[];
    let rv: string;
    try {
      ({ items, rv } = await this.listAll(this.opts.pageSize ?? 500));
    } catch (err) {
      // An expired continue token: client-go falls back to one unpaginated list.
      if (!isApiError(err, 410)) throw err;
      ({ items, rv } = await this.listAll(0));
    }
    if (this.stopped) return;
    const next = new Map<string, T>();
    for (const item of items) next.set(keyString(keyOf(item)), item);
    const previous = this.cache;
    this.cache = next;
    this.resourceVersion = rv;
    const events: InformerEvent<T>[] = [];
    for (const [key, obj] of next) {
      const old = previous.get(key);
      if (!old) events.push({ type: 'ADDED', object: obj });
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) events.push({ type: 'MODIFIED', object: obj, old });
    }
    for (const [key, old] of previous) {
      if (!next.has(key)) events.push({ type: 'DELETED', object: old, old });
    }
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveSync();
    }
    for (const e of events) this.emit(e);
    this.opts.logger.debug({ informer: this.name, objects: next.size, resourceVersion: rv, changes: events.length }, 'listed');
  }

  private async listAll(pageSize: number): Promise<{ items: T[]; rv: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const q = new URLSearchParams();
      if (pageSize > 0) q.set('limit', String(pageSize));
      if (cont) q.set('continue', cont);
      const qs = q.toString();
      const page = await this.opts.client.get<ListPage<T>>(qs ? `${this.path}?${qs}` : this.path);
      // List items carry no apiVersion/kind; fill them from the list so consumers (events) can rely on them.
      const kind = page.kind?.endsWith('List') ? page.kind.slice(0, -4) : undefined;
      for (const item of page.items ?? []) {
        if (!item.apiVersion && page.apiVersion) item.apiVersion = page.apiVersion;
        if (!item.kind && kind) item.kind = kind;
        items.push(withoutManagedFields(item));
      }
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont && !this.stopped);
    return { items, rv };
  }

  /** One watch from the current resourceVersion; reports why it ended and whether it did any good. */
  private async watchOnce(): Promise<{ reason: RestartReason; productive: boolean; err?: unknown }> {
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    const started = this.clock.now();
    // Shorter than the watchdog's bound (see the class comment), randomized like client-go's so
    // that many watches do not expire together.
    const timeoutSeconds = Math.max(1, Math.floor((this.idleTimeoutMs * (0.5 + 0.4 * this.random())) / 1000));
    let lastActivity = started;
    let idle = false;
    let received = false;
    let watchdog: unknown;
    const arm = (ms: number) => {
      watchdog = this.clock.setTimeout(() => {
        const quiet = this.clock.now() - lastActivity;
        if (quiet >= this.idleTimeoutMs) {
          idle = true;
          this.opts.logger.warn({ informer: this.name, quietMs: quiet }, 'watch sent nothing for too long; restarting it');
          abort.abort();
        } else {
          arm(this.idleTimeoutMs - quiet);
        }
      }, ms);
    };
    arm(this.idleTimeoutMs);
    const result = (reason: RestartReason, err?: unknown) => ({
      reason,
      err,
      // A watch that delivered something, or lived as long as it was asked to, was working.
      productive: received || this.clock.now() - started >= timeoutSeconds * 500,
    });
    try {
      const stream = this.opts.client.watch(
        this.path,
        { resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) },
        abort.signal,
        { onConnected: () => this.setConnected(true) },
      );
      for await (const event of stream) {
        lastActivity = this.clock.now();
        if (this.stopped) break;
        if (event.type === 'ERROR') {
          const err = KubeApiError.fromStatus(0, event.object, 'watch ERROR event');
          return result(err.status === 410 ? 'gone' : 'error', err);
        }
        received = true;
        this.apply(event.type, event.object as T);
      }
      return result(idle ? 'idle' : 'closed');
    } catch (err) {
      if (idle) return result('idle');
      if (isApiError(err, 410)) return result('gone', err);
      return result('error', err);
    } finally {
      this.clock.clearTimeout(watchdog);
      this.stopController.signal.removeEventListener('abort', onStop);
      abort.abort();
      this.setConnected(false);
    }
  }

  private apply(type: string, received: T): void {
    const obj = withoutManagedFields(received);
    const rv = obj.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const key = keyString(keyOf(obj));
    const old = this.cache.get(key);
    if (rv) this.resourceVersion = rv;
    if (type === 'ADDED' || type === 'MODIFIED') {
      // Redelivery of what we already hold (possible around restarts) is no change.
      if (old && rv && old.metadata?.resourceVersion === rv) return;
      this.cache.set(key, obj);
      this.emit(old ? { type: 'MODIFIED', object: obj, old } : { type: 'ADDED', object: obj });
    } else if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit({ type: 'DELETED', object: obj, old });
    }
  }

  private emit(e: InformerEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(e);
      } catch (err) {
        this.opts.logger.error({ informer: this.name, err: errorText(err) }, 'event handler threw');
      }
    }
  }

  private setConnected(value: boolean): void {
    if (this.connected === value) return;
    this.connected = value;
    if (!value) this.disconnectedSince = this.clock.now();
    informerWatchConnected.set({ informer: this.name }, value ? 1 : 0);
  }
}
