import { describe, expect, it } from 'vitest';
import { workqueueDepth } from '../../../src/observability/metrics.js';
import { parseAddress, startHttpServers } from '../../../src/runtime/http.js';
import { captureLogger } from './helpers.js';

describe('parseAddress', () => {
  it('reads controller-runtime style addresses', () => {
    expect(parseAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(parseAddress('0')).toBeUndefined();
    expect(parseAddress('')).toBeUndefined();
    expect(() => parseAddress('8080')).toThrow(/invalid listen address/);
  });
});

describe('startHttpServers', () => {
  it('serves /metrics, /healthz and /readyz (503 with the detail until ready) on real ports', async () => {
    let ready = false;
    const servers = await startHttpServers({
      metricsAddr: '127.0.0.1:0',
      probeAddr: '127.0.0.1:0',
      ready: () => (ready ? { ok: true, detail: 'ok' } : { ok: false, detail: 'informers not synced: things' }),
      logger: captureLogger().logger,
    });
    try {
      expect(servers.metricsPort).toBeGreaterThan(0);
      expect(servers.probePort).toBeGreaterThan(0);
      workqueueDepth.set({ name: 'http-test' }, 3);
      const metrics = await fetch(`http://127.0.0.1:${servers.metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('workqueue_depth{name="http-test"} 3');
      expect((await fetch(`http://127.0.0.1:${servers.probePort}/healthz`)).status).toBe(200);
      const notReady = await fetch(`http://127.0.0.1:${servers.probePort}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.text()).toContain('informers not synced: things');
      ready = true;
      expect((await fetch(`http://127.0.0.1:${servers.probePort}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${servers.probePort}/nothing`)).status).toBe(404);
    } finally {
      await servers.close();
    }
  });

  it('leaves an endpoint off when its address is 0', async () => {
    const servers = await startHttpServers({ metricsAddr: '0', probeAddr: '127.0.0.1:0', ready: () => ({ ok: true, detail: '' }), logger: captureLogger().logger });
    expect(servers.metricsPort).toBeUndefined();
    expect(servers.probePort).toBeGreaterThan(0);
    await servers.close();
  });
});
