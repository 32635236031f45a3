import type { Server, ServerResponse } from 'node:http';
import { http } from './node-http.js';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/logger.js';
import { registry } from '../observability/metrics.js';

export interface HttpServersOptions {
  /** ':8080', '127.0.0.1:9090', '[::1]:0'; '0' (or '') disables the metrics endpoint. */
  metricsAddr: string;
  /** Address of /healthz and /readyz; '0' (or '') disables them. */
  probeAddr: string;
  ready: () => { ok: boolean; detail: string };
  logger: Logger;
}

export interface HttpServers {
  metricsPort?: number;
  probePort?: number;
  close(): Promise<void>;
}

/** Splits 'host:port' (host optional, IPv6 in brackets); undefined when the address disables the server. */
export function parseAddress(addr: string): { host?: string; port: number } | undefined {
  const a = addr.trim();
  if (a === '' || a === '0') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(a);
  if (!m) throw new Error(`invalid listen address "${addr}": expected [host]:port`);
  const host = m[1] ?? m[2];
  return { host: host || undefined, port: Number(m[3]) };
}

function listen(server: Server, addr: { host?: string; port: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Scrapers keep connections alive; do not wait for them to go.
    server.closeAllConnections();
  });
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The metrics endpoint (/metrics) and the probes (/healthz, /readyz), as controller-runtime serves them. */
export async function startHttpServers(opts: HttpServersOptions): Promise<HttpServers> {
  const servers: Server[] = [];
  const result: HttpServers = {
    async close() {
      await Promise.all(servers.map(close));
    },
  };
  try {
    const metricsAddr = parseAddress(opts.metricsAddr);
    if (metricsAddr) {
      const server = http.createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method !== 'GET' || path !== '/metrics') return send(res, 404, 'not found\n');
        registry.metrics().then(
          (text) => send(res, 200, text, registry.contentType),
          (err: unknown) => send(res, 500, `${(err as Error)?.message}\n`),
        );
      });
      servers.push(server);
      result.metricsPort = await listen(server, metricsAddr);
      opts.logger.info({ port: result.metricsPort }, 'serving metrics');
    }
    const probeAddr = parseAddress(opts.probeAddr);
    if (probeAddr) {
      const server = http.createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/healthz' || path === '/livez') return send(res, 200, 'ok\n');
        if (path === '/readyz') {
          let state: { ok: boolean; detail: string };
          try {
            state = opts.ready();
          } catch (err) {
            state = { ok: false, detail: `readiness check failed: ${(err as Error)?.message}` };
          }
          return send(res, state.ok ? 200 : 503, `${state.ok ? 'ok' : state.detail}\n`);
        }
        send(res, 404, 'not found\n');
      });
      servers.push(server);
      result.probePort = await listen(server, probeAddr);
      opts.logger.info({ port: result.probePort }, 'serving health probes');
    }
  } catch (err) {
    await result.close();
    throw err;
  }
  return result;
}
