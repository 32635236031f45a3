import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { http } from './node-http.js';
import https from 'node:https';
import { restClientRequests } from '../observability/metrics.js';

/**
 * A small REST client for the Kubernetes API on top of a connection's TLS and auth handling
 * (kubeconfig.ts; @kubernetes/client-node's KubeConfig has the same shape, and tests use it).
 * client-node 1.x's generated clients make patches and streaming watches awkward, and we want one
 * place that counts writes and classifies errors.
 */

/** Where the API server is and how to authenticate: see loadKubeConnection in kubeconfig.ts. */
export interface KubeConnectionLike {
  getCurrentCluster(): { server: string; proxyUrl?: string } | null;
  /** Called before every request: TLS material and headers (bearer tokens rotate). */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** An answer of the API server other than 2xx; `reason` is the Status reason (NotFound, Conflict, ...). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason?: string;
  readonly body?: unknown;

  constructor(status: number, message: string, reason?: string, body?: unknown) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.body = body;
  }

  /** Builds the error from a metav1.Status (an error body, or the object of a watch ERROR event). */
  static fromStatus(status: number, body: unknown, fallback: string): KubeApiError {
    const s = (body && typeof body === 'object' ? body : {}) as { message?: unknown; reason?: unknown; code?: unknown };
    const code = typeof s.code === 'number' && s.code > 0 ? s.code : status;
    const message = typeof s.message === 'string' && s.message ? s.message : fallback;
    return new KubeApiError(code, message, typeof s.reason === 'string' ? s.reason : undefined, body);
  }
}

/** One line of error text for logs: the message, with status and reason of API errors (no stack). */
export function errorText(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.message} (${err.status}${err.reason ? ` ${err.reason}` : ''})`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isApiError(err: unknown, status?: number): err is KubeApiError {
  return err instanceof KubeApiError && (status === undefined || err.status === status);
}

export interface ResourceRef {
  /** '' for the core group */
  group: string;
  version: string;
  plural: string;
}

/** The REST path of a collection, an object or one of its subresources. */
export function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  let p = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${ref.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) {
    if (name === undefined) throw new Error('a subresource needs an object name');
    p += `/${subresource}`;
  }
  return p;
}

export interface WatchEvent {
  type: string;
  // The object's shape depends on the resource; the informer narrows it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  object: any;
}

export interface KubeClientOptions {
  userAgent?: string;
  /** Bound on every request except watches (whose liveness the informer's watchdog owns). */
  timeoutMs?: number;
}

const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

interface Tls {
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  pfx?: unknown;
  passphrase?: unknown;
  servername?: unknown;
  rejectUnauthorized?: unknown;
}

function sameTls(a: Tls, b: Tls): boolean {
  const eq = (x: unknown, y: unknown) =>
    Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
  return eq(a.ca, b.ca) && eq(a.cert, b.cert) && eq(a.key, b.key) && eq(a.pfx, b.pfx)
    && a.passphrase === b.passphrase && a.servername === b.servername && a.rejectUnauthorized === b.rejectUnauthorized;
}

const MAX_SOCKETS = 32;

export class KubeClient {
  private readonly server: URL;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly proxied: boolean;
  /** Reused across requests for keep-alive; rebuilt when the TLS material changes (rotated certificates). */
  private agent?: { tls: Tls; agent: Agent };

  constructor(private readonly kc: KubeConnectionLike, opts: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.proxied = Boolean(cluster.proxyUrl);
    this.userAgent = opts.userAgent ?? 'infra-operator';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get<T>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  async getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (isApiError(err, 404)) return undefined;
      throw err;
    }
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('POST', path, body, 'application/json');
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('PUT', path, body, 'application/json');
  }

  patch<T>(path: string, body: unknown, type: 'merge' | 'json' | 'strategic'): Promise<T> {
    return this.json<T>('PATCH', path, body, PATCH_TYPES[type]);
  }

  /** Deletes; `options` is an optional metav1.DeleteOptions (propagationPolicy, preconditions). */
  async delete(path: string, options?: object): Promise<void> {
    await this.json<unknown>('DELETE', path, options, options === undefined ? undefined : 'application/json');
  }

  /**
   * A streaming watch: yields the server's events until the server ends the stream (the iterator
   * returns), the connection fails (it throws) or the signal aborts (it returns).
   */
  async *watch(
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
    hooks: { onConnected?: () => void } = {},
  ): AsyncIterable<WatchEvent> {
    const qs = new URLSearchParams({ ...query, watch: 'true' }).toString();
    let opened: { req: ClientRequest; res: IncomingMessage };
    try {
      opened = await this.open('GET', `${path}${path.includes('?') ? '&' : '?'}${qs}`, undefined, undefined, 0, signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    const { req, res } = opened;
    try {
      if (res.statusCode !== 200) {
        const text = await readAll(res);
        throw KubeApiError.fromStatus(res.statusCode ?? 0, parseJson(text), `watch ${path}: HTTP ${res.statusCode}`);
      }
      hooks.onConnected?.();
      res.setEncoding('utf8');
      let buffer = '';
      for await (const chunk of res as AsyncIterable<string>) {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      req.destroy();
    }
  }

  private async json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    let code = '<error>';
    try {
      const { res } = await this.open(method, path, body === undefined ? undefined : JSON.stringify(body), contentType, this.timeoutMs);
      code = String(res.statusCode ?? 0);
      const text = await readAll(res);
      const parsed = parseJson(text);
      if ((res.statusCode ?? 0) >= 300) {
        throw KubeApiError.fromStatus(res.statusCode ?? 0, parsed, `${method} ${path}: HTTP ${res.statusCode}`);
      }
      return parsed as T;
    } finally {
      if (method !== 'GET') restClientRequests.inc({ code, method });
    }
  }

  private async agentFor(opts: https.RequestOptions): Promise<Agent> {
    // A proxy agent from KubeConfig already encodes the proxy; use it as given.
    if (this.proxied && opts.agent) return opts.agent as Agent;
    const tls: Tls = {
      ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase,
      servername: opts.servername, rejectUnauthorized: opts.rejectUnauthorized,
    };
    if (this.agent && sameTls(this.agent.tls, tls)) return this.agent.agent;
    this.agent?.agent.destroy();
    const defined = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined && v !== null));
    // A bounded pool: a burst of writes (10,000 objects' first status and events at start-up)
    // queues here instead of opening a TLS connection each, which costs memory the process
    // never gets back. Two sockets go to the informers' watches.
    const agent = this.server.protocol === 'http:'
      ? new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS })
      : new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, ...defined });
    this.agent = { tls, agent };
    return agent;
  }

  private async open(
    method: string,
    path: string,
    payload: string | undefined,
    contentType: string | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    // Asked per request: tokens (service account, exec plugins) and client certificates rotate.
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const agent = await this.agentFor(opts);
    const url = new URL(this.server.href.replace(/\/$/, '') + path);
    // The connection puts its headers (bearer token, impersonation) in object form.
    const fromConfig = (Array.isArray(opts.headers) ? {} : opts.headers ?? {}) as OutgoingHttpHeaders;
    const headers: OutgoingHttpHeaders = {
      ...fromConfig,
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    if (payload !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const req = transport.request(url, { method, headers, agent });
      const onAbort = () => req.destroy(new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', onAbort));
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      }
      req.once('error', reject);
      req.once('response', (res) => resolve({ req, res }));
      req.end(payload);
    });
  }
}

/**
 * The body as text, decoded chunk by chunk into V8's heap. Joining the chunks into one Buffer first
 * would put a list page (megabytes with 500 objects) in native memory, where glibc's allocator keeps
 * it after the page is parsed: at 10,000 objects a restart's initial list left 45-65 MiB more RSS.
 */
function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.once('end', () => resolve(text));
    res.once('error', reject);
    // A connection cut mid-body ends with 'close' but no 'end'.
    res.once('close', () => {
      if (!res.complete) reject(new Error('connection closed before the response was complete'));
    });
  });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
