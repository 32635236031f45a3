import { describe, expect, it } from 'vitest';
import { ProviderConfigError } from '../../../src/providers/identity.js';
import { ServiceAccountTokens, STS_AUDIENCE, TOKEN_EXPIRATION_SECONDS, type TokenRequestClient } from '../../../src/providers/serviceaccount-tokens.js';
import { KubeApiError } from '../../../src/runtime/kube.js';

function client(answer: (path: string, n: number) => unknown): TokenRequestClient & { calls: Array<{ path: string; body: unknown }> } {
  const calls: Array<{ path: string; body: unknown }> = [];
  return {
    calls,
    async post<T>(path: string, body: unknown) {
      calls.push({ path, body });
      const out = answer(path, calls.length);
      if (out instanceof Error) throw out;
      return out as T;
    },
  };
}

describe('ServiceAccountTokens', () => {
  it('asks for the STS audience and the shortest expiry, for the named ServiceAccount of the namespace', async () => {
    const now = Date.UTC(2026, 0, 1);
    const c = client((_p, n) => ({ status: { token: `t${n}`, expirationTimestamp: new Date(now + 600_000).toISOString() } }));
    const tokens = new ServiceAccountTokens({ client: c, clock: () => now });
    expect(await tokens.request('team-a', 'ecr')).toEqual({ token: 't1', expiresAt: new Date(now + 600_000) });
    expect(c.calls).toEqual([{
      path: '/api/v1/namespaces/team-a/serviceaccounts/ecr/token',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [STS_AUDIENCE], expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
    }]);
    expect(STS_AUDIENCE).toBe('sts.amazonaws.com');
    expect(TOKEN_EXPIRATION_SECONDS).toBe(600);
  });

  it('reuses a token until it has less than a minute left; request() always asks anew', async () => {
    let now = Date.UTC(2026, 0, 1);
    const c = client((_p, n) => ({ status: { token: `t${n}`, expirationTimestamp: new Date(now + 600_000).toISOString() } }));
    const tokens = new ServiceAccountTokens({ client: c, clock: () => now });
    expect(await tokens.token('team-a', 'ecr')).toBe('t1');
    now += 8 * 60_000;
    expect(await tokens.token('team-a', 'ecr')).toBe('t1');
    now += 60_000 + 1;
    expect(await tokens.token('team-a', 'ecr')).toBe('t2');
    expect((await tokens.request('team-a', 'ecr')).token).toBe('t3');
    // Another namespace's ServiceAccount of the same name is another token.
    expect(await tokens.token('team-b', 'ecr')).toBe('t4');
  });

  it('turns 404 into ServiceAccountNotFound and 403 into ServiceAccountTokenDenied; other failures pass through', async () => {
    const tokens = (err: Error) => new ServiceAccountTokens({ client: client(() => err) });
    await expect(tokens(new KubeApiError(404, 'not found', 'NotFound')).token('team-a', 'gone')).rejects.toMatchObject({
      reason: 'ServiceAccountNotFound', message: 'spec.serviceAccountRef: ServiceAccount team-a/gone not found',
    });
    const denied = await tokens(new KubeApiError(403, 'forbidden', 'Forbidden')).token('team-a', 'ecr').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ProviderConfigError);
    expect(denied).toMatchObject({ reason: 'ServiceAccountTokenDenied' });
    const unavailable = await tokens(new KubeApiError(503, 'unavailable')).token('team-a', 'ecr').catch((e: unknown) => e);
    expect(unavailable).not.toBeInstanceOf(ProviderConfigError);
    await expect(new ServiceAccountTokens({ client: client(() => ({ status: {} })) }).token('team-a', 'ecr')).rejects.toThrow('returned no token');
  });
});
