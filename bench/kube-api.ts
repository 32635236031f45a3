import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * Lists and watches through the API server directly. The benchmark process also serves the AWS
 * endpoint (the paging layer runs in it), so observing must be asynchronous and cheap: a watch
 * instead of repeated `kubectl get`, which would also take CPU from the operator being measured.
 */

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface KubeResource {
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[] } & Record<string, unknown>;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeResource;
}

export class KubeApi {
  private readonly agent: https.Agent | http.Agent;

  private constructor(private readonly server: URL, private readonly tls: https.RequestOptions) {
    this.agent = server.protocol === 'http:' ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true });
  }

  static async connect(kubeconfig: string): Promise<KubeApi> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`${kubeconfig} has no current cluster`);
    const tls: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    return new KubeApi(new URL(cluster.server), tls);
  }

  close(): void {
    this.agent.destroy();
  }

  /** Every item of a collection, in pages. Returns the items and the list's resourceVersion. */
  async list(path: string, query: Record<string, string> = {}): Promise<{ items: KubeResource[]; resourceVersion: string }> {
    const items: KubeResource[] = [];
    let cont = '';
    let resourceVersion = '';
    do {
      const qs = new URLSearchParams({ ...query, limit: '500', ...(cont ? { continue: cont } : {}) });
      const page = JSON.parse(await this.request('GET', `${path}?${qs}`)) as { items?: KubeResource[]; metadata?: { continue?: string; resourceVersion?: string } };
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue ?? '';
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * Watches from resourceVersion until stopped; reconnects from the last version seen when the
   * server ends the stream. A 410 (too old) is reported through onError: the benchmark's windows
   * are short, so it means something went wrong and the run should say so rather than guess.
   */
  watch(path: string, query: Record<string, string>, resourceVersion: string, onEvent: (e: WatchEvent) => void, onError: (err: Error) => void): () => void {
    let stopped = false;
    let current: http.ClientRequest | undefined;
    let rv = resourceVersion;
    const connect = () => {
      if (stopped) return;
      const qs = new URLSearchParams({ ...query, watch: 'true', allowWatchBookmarks: 'true', resourceVersion: rv, timeoutSeconds: '1800' });
      const req = this.open('GET', `${path}?${qs}`, undefined, 'application/json', (res) => {
        if (res.statusCode !== 200) {
          onError(new Error(`watch ${path}: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (!line) continue;
            const event = JSON.parse(line) as WatchEvent;
            if (event.type === 'ERROR') {
              onError(new Error(`watch ${path}: ${JSON.stringify(event.object)}`));
              stopped = true;
              req.destroy();
              return;
            }
            rv = event.object.metadata?.resourceVersion ?? rv;
            if (event.type !== 'BOOKMARK') onEvent(event);
          }
        });
        res.on('end', () => setTimeout(connect, 100));
        res.on('error', () => setTimeout(connect, 500));
      });
      req.on('error', (err) => {
        if (!stopped) setTimeout(connect, 500);
        else void err;
      });
      current = req;
    };
    connect();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  /**
   * Server-side apply of one object given as YAML, as `kubectl apply --server-side` sends it: one
   * PATCH per object, no read first and no client-side throttling.
   */
  async apply(path: string, yaml: string, fieldManager: string): Promise<void> {
    const qs = new URLSearchParams({ fieldManager, force: 'true' });
    await this.request('PATCH', `${path}?${qs}`, yaml, 'application/apply-patch+yaml');
  }

  /**
   * Deletes every object of a namespaced collection that matches the selector, in one request. A
   * large collection can outlast the API server's request timeout (HTTP 504, or a connection it
   * closes): the deletions it made stand, so the request is sent again for the rest.
   */
  async deleteCollection(path: string, labelSelector: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.request('DELETE', `${path}?${new URLSearchParams({ labelSelector })}`);
        return;
      } catch (err) {
        if (attempt >= 10 || !/: HTTP 504:|socket hang up|ECONNRESET/.test(String(err))) throw err;
      }
    }
  }

  private request(method: string, path: string, body?: string, contentType = 'application/json'): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, body, contentType, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: HTTP ${res.statusCode}: ${text.slice(0, 500)}`));
          else resolve(text);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  private open(method: string, path: string, body: string | undefined, contentType: string, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const url = new URL(this.server.href.replace(/\/$/, '') + path);
    const headers: http.OutgoingHttpHeaders = { ...(this.tls.headers as http.OutgoingHttpHeaders | undefined), Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const transport = url.protocol === 'http:' ? http : https;
    const req = transport.request(url, {
      method,
      headers,
      agent: this.agent,
      ca: this.tls.ca,
      cert: this.tls.cert,
      key: this.tls.key,
    }, onResponse);
    req.end(body);
    return req;
  }
}

export const ECR_REPOSITORIES_PATH = '/apis/aws-infra-operator.runner.codes/v1alpha1/ecrrepositories';

export function namespacedRepositoryPath(namespace: string, name?: string): string {
  return `/apis/aws-infra-operator.runner.codes/v1alpha1/namespaces/${namespace}/ecrrepositories${name === undefined ? '' : `/${name}`}`;
}
export const AWS_PROVIDERS_PATH = '/apis/aws-infra-operator.runner.codes/v1alpha1/awsproviders';

export function readyCondition(obj: KubeResource): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === 'Ready');
}
