import { afterEach, describe, expect, it } from 'vitest';
import { informerWatchRestarts } from '../../../src/observability/metrics.js';
import { Informer, type InformerEvent } from '../../../src/runtime/informer.js';
import { KubeApiError, type WatchEvent } from '../../../src/runtime/kube.js';
import type { KubeObject } from '../../../src/runtime/types.js';
import { captureLogger, metricValue } from './helpers.js';

function cm(name: string, rv: string, data: Record<string, string> = {}): KubeObject {
  return { metadata: { namespace: 'ns', name, resourceVersion: rv, uid: `uid-${name}` }, data };
}

/** One watch connection the test feeds by hand. */
class FakeWatch {
  private readonly pending: WatchEvent[] = [];
  private wake?: () => void;
  private ended = false;
  private error?: Error;
  aborted = false;
  constructor(readonly query: Record<string, string>) {}
  push(e: WatchEvent): void {
    this.pending.push(e);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  fail(err: Error): void {
    this.error = err;
    this.wake?.();
  }
  async *stream(signal: AbortSignal): AsyncIterable<WatchEvent> {
    signal.addEventListener('abort', () => {
      this.aborted = true;
      this.wake?.();
    }, { once: true });
    for (;;) {
      if (signal.aborted) return;
      const next = this.pending.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

/** The API server as the informer sees it: a list and watches. */
class FakeApi {
  items: KubeObject[] = [];
  listRv = '100';
  lists: string[] = [];
  watches: FakeWatch[] = [];
  listError?: Error;
  watchError?: Error;
  async get<T>(path: string): Promise<T> {
    this.lists.push(path);
    if (this.listError) throw this.listError;
    return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: this.listRv }, items: structuredClone(this.items) } as T;
  }
  // eslint-disable-next-line require-yield
  async *failing(err: Error): AsyncIterable<WatchEvent> {
    throw err;
  }
  watch(_path: string, query: Record<string, string>, signal: AbortSignal, hooks?: { onConnected?: () => void }): AsyncIterable<WatchEvent> {
    if (this.watchError) {
      const err = this.watchError;
      this.watchError = undefined;
      return this.failing(err);
    }
    const w = new FakeWatch(query);
    this.watches.push(w);
    hooks?.onConnected?.();
    return w.stream(signal);
  }
  last(): FakeWatch {
    return this.watches[this.watches.length - 1]!;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let n = 0;
const running: Array<Informer<KubeObject>> = [];
function setup(api: FakeApi, opts: { watchIdleTimeoutMs?: number; unhealthyAfterMs?: number } = {}) {
  const { logger, lines } = captureLogger();
  const informer = new Informer<KubeObject>({
    client: api,
    ref: { group: '', version: 'v1', plural: 'configmaps' },
    namespace: 'ns',
    logger,
    name: `inf-test-${++n}`,
    watchIdleTimeoutMs: opts.watchIdleTimeoutMs ?? 60_000,
    unhealthyAfterMs: opts.unhealthyAfterMs,
    backoff: { initialMs: 10, maxMs: 50 },
  });
  running.push(informer);
  const events: Array<InformerEvent<KubeObject>> = [];
  informer.onEvent((e) => events.push(e));
  return { informer, events, lines };
}

afterEach(() => {
  for (const i of running.splice(0)) i.stop();
});

describe('Informer', () => {
  it('lists, then watches from the list resourceVersion with bookmarks and a server timeout below the watchdog bound', async () => {
    const api = new FakeApi();
    api.items = [cm('a', '5'), cm('b', '6')];
    const { informer, events } = setup(api, { watchIdleTimeoutMs: 10_000 });
    await informer.start();
    expect(informer.synced()).toBe(true);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED a', 'ADDED b']);
    expect(informer.get('ns', 'a')?.kind).toBe('ConfigMap');
    expect(api.lists[0]).toBe('/api/v1/namespaces/ns/configmaps?limit=500');
    await until('watch', () => api.watches.length === 1);
    const q = api.last().query;
    expect(q.resourceVersion).toBe('100');
    expect(q.allowWatchBookmarks).toBe('true');
    expect(Number(q.timeoutSeconds)).toBeGreaterThanOrEqual(5);
    expect(Number(q.timeoutSeconds)).toBeLessThan(10);
    expect(informer.healthy()).toBe(true);
  });

  it('applies watch events to the cache and hands old objects along', async () => {
    const api = new FakeApi();
    api.items = [cm('a', '5')];
    const { informer, events } = setup(api);
    await informer.start();
    await until('watch', () => api.watches.length === 1);
    api.last().push({ type: 'MODIFIED', object: cm('a', '101', { k: 'v' }) });
    api.last().push({ type: 'ADDED', object: cm('c', '102') });
    api.last().push({ type: 'DELETED', object: cm('a', '103') });
    api.last().push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '150' } } });
    await until('events', () => events.length === 4);
    expect(events.slice(1).map((e) => `${e.type} ${e.object.metadata?.name} old=${e.old?.metadata?.resourceVersion ?? '-'}`))
      .toEqual(['MODIFIED a old=5', 'ADDED c old=-', 'DELETED a old=101']);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['c']);
    // End of stream: resume from the bookmark, no relist.
    api.last().end();
    await until('second watch', () => api.watches.length === 2);
    expect(api.last().query.resourceVersion).toBe('150');
    expect(api.lists).toHaveLength(1);
  });

  it('relists on a 410 ERROR event and emits the differences as synthetic events', async () => {
    const api = new FakeApi();
    api.items = [cm('keep', '1'), cm('change', '2'), cm('gone', '3')];
    const { informer, events, lines } = setup(api);
    await informer.start();
    await until('watch', () => api.watches.length === 1);
    events.length = 0;
    api.items = [cm('keep', '1'), cm('change', '20'), cm('new', '21')];
    api.listRv = '300';
    api.last().push({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } });
    await until('relist and rewatch', () => api.watches.length === 2);
    expect(api.lists).toHaveLength(2);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`).sort()).toEqual(['ADDED new', 'DELETED gone', 'MODIFIED change']);
    expect(events.find((e) => e.type === 'MODIFIED')?.old?.metadata?.resourceVersion).toBe('2');
    expect(api.last().query.resourceVersion).toBe('300');
    expect(await metricValue(informerWatchRestarts, { informer: informer.name, reason: 'gone' })).toBe(1);
    expect(lines().some((l) => l.msg === 'watch expired (410); relisting')).toBe(true);
  });

  it('relists when the watch request itself answers 410', async () => {
    const api = new FakeApi();
    const { informer } = setup(api);
    await informer.start();
    await until('watch', () => api.watches.length === 1);
    api.watchError = new KubeApiError(410, 'Gone', 'Expired');
    api.last().end();
    await until('relist', () => api.lists.length === 2);
  });

  it('restarts with backoff after errors and keeps retrying a failing list until it works', async () => {
    const api = new FakeApi();
    api.listError = new Error('connection refused');
    const { informer } = setup(api);
    let synced = false;
    void informer.start().then(() => (synced = true));
    await until('several list attempts', () => api.lists.length >= 3);
    expect(synced).toBe(false);
    expect(informer.healthy()).toBe(false);
    api.listError = undefined;
    await until('synced', () => synced);
    await until('watch', () => api.watches.length === 1);
    api.last().fail(new Error('socket hang up'));
    await until('rewatch', () => api.watches.length === 2);
    expect(api.lists.length).toBeGreaterThanOrEqual(4);
    expect(await metricValue(informerWatchRestarts, { informer: informer.name, reason: 'error' })).toBe(1);
  });

  it('aborts a watch that sends nothing for longer than the idle bound and starts a new one', async () => {
    const api = new FakeApi();
    const { informer, lines } = setup(api, { watchIdleTimeoutMs: 150 });
    await informer.start();
    await until('watch', () => api.watches.length === 1);
    const stalled = api.last();
    const started = Date.now();
    await until('watchdog', () => stalled.aborted, 2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await until('new watch', () => api.watches.length === 2, 2_000);
    expect(await metricValue(informerWatchRestarts, { informer: informer.name, reason: 'idle' })).toBeGreaterThanOrEqual(1);
    expect(lines().some((l) => l.msg === 'watch sent nothing for too long; restarting it')).toBe(true);
  });

  it('a watch that keeps sending is not aborted', async () => {
    const api = new FakeApi();
    const { informer } = setup(api, { watchIdleTimeoutMs: 150 });
    await informer.start();
    await until('watch', () => api.watches.length === 1);
    const w = api.last();
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 60));
      w.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(200 + i) } } });
    }
    expect(w.aborted).toBe(false);
  });

  it('reports unhealthy while no watch has been open for longer than the bound', async () => {
    const api = new FakeApi();
    const { informer } = setup(api, { unhealthyAfterMs: 100 });
    await informer.start();
    await until('watch', () => api.watches.length === 1);
    expect(informer.healthy()).toBe(true);
    // Every further watch fails to connect.
    api.watch = function (): AsyncIterable<WatchEvent> {
      return this.failing(new Error('connection refused'));
    };
    api.watches[0]!.fail(new Error('reset'));
    await new Promise((r) => setTimeout(r, 50));
    expect(informer.healthy()).toBe(true);
    await until('unhealthy', () => !informer.healthy(), 2_000);
    informer.stop();
    expect(informer.healthy()).toBe(false);
  });

  it('stop() before the first list rejects start()', async () => {
    const api = new FakeApi();
    api.listError = new Error('down');
    const { informer } = setup(api);
    const started = informer.start();
    informer.stop();
    await expect(started).rejects.toThrow(/stopped before/);
    await informer.whenStopped();
  });
});
