import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/observability/logger.js';
import type { Clock } from '../../../src/runtime/clock.js';
import { KubeApiError } from '../../../src/runtime/kube.js';
import type { Lease } from '../../../src/runtime/leaderelection.js';

/** Lets pending promise chains and I/O callbacks run. */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** A clock whose time moves only when the test says so; timers fire in time order. */
export class FakeClock implements Clock {
  private t = 1_700_000_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; seq: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their effects settle. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    for (;;) {
      let next: [number, { at: number; seq: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[1].seq < next[1].seq))) next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = target;
    await flush();
  }
}

/** A logger whose JSON lines the test can read. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ level, destination: stream });
  return {
    logger,
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The current value of a metric series, 0 when absent. */
export async function metricValue(
  metric: { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> }> | { values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> } },
  labels: Record<string, string>,
  metricName?: string,
): Promise<number> {
  const data = await metric.get();
  const found = data.values.find((v) => (!metricName || v.metricName === metricName)
    && Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val));
  return found?.value ?? 0;
}

/** One Lease with resourceVersion semantics, as the API server keeps it. */
export class LeaseStore {
  lease?: Lease;
  private rv = 0;
  write(body: Lease): Lease {
    this.lease = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.rv) } });
    return structuredClone(this.lease);
  }
}

/** A client of the store that the test can cut off from it. */
export class LeaseClient {
  down = false;
  constructor(private readonly store: LeaseStore) {}
  private check(): void {
    if (this.down) throw new Error('connect ECONNREFUSED');
  }
  async getOrUndefined<T>(): Promise<T | undefined> {
    this.check();
    return this.store.lease ? (structuredClone(this.store.lease) as T) : undefined;
  }
  async post<T>(_path: string, body: unknown): Promise<T> {
    this.check();
    if (this.store.lease) throw new KubeApiError(409, 'exists', 'AlreadyExists');
    return this.store.write(body as Lease) as T;
  }
  async put<T>(_path: string, body: unknown): Promise<T> {
    this.check();
    const b = body as Lease;
    if (!this.store.lease) throw new KubeApiError(404, 'not found', 'NotFound');
    if (b.metadata?.resourceVersion !== this.store.lease.metadata?.resourceVersion) throw new KubeApiError(409, 'conflict', 'Conflict');
    return this.store.write(b) as T;
  }
}
