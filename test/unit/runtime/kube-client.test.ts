import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/runtime/kube.js';

let server: http.Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that sends the body in the given pieces of bytes, each written on its own. */
async function serve(pieces: Buffer[]): Promise<string> {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    let i = 0;
    const next = () => {
      if (i === pieces.length) return res.end();
      res.write(pieces[i++]);
      setTimeout(next, 5);
    };
    next();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('KubeClient bodies', () => {
  it('decodes a body whose multi-byte characters are split between chunks', async () => {
    const body = Buffer.from(JSON.stringify({ items: [{ metadata: { name: 'a', annotations: { note: 'größe – 東京 🚀' } } }] }));
    // Cut inside the 'ö' (2 bytes), the '東' (3 bytes) and the rocket (4 bytes).
    const cuts = [body.indexOf(Buffer.from('ö')) + 1, body.indexOf(Buffer.from('東')) + 2, body.indexOf(Buffer.from('🚀')) + 3];
    const pieces = [0, ...cuts].map((start, i) => body.subarray(start, cuts[i] ?? body.length));
    const url = await serve(pieces);
    const client = new KubeClient({ getCurrentCluster: () => ({ server: url }), applyToHTTPSOptions: async () => undefined });
    const list = await client.get<{ items: Array<{ metadata: { annotations: Record<string, string> } }> }>('/api/v1/things');
    expect(list.items[0]!.metadata.annotations.note).toBe('größe – 東京 🚀');
  });
});
