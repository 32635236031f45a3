import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsClientFactory, type AwsClientFactoryOptions } from '../../../src/aws/clients.js';
import { isAwsError } from '../../../src/aws/errors.js';
import { RateLimiterRegistry } from '../../../src/aws/ratelimit.js';

const KEYS = { accessKeyId: 'AKIAKEYSFROMSECRET01', secretAccessKey: 'static-secret-value' };

// A stand-in for STS that answers GetCallerIdentity (query protocol, XML), to observe what the
// clients send without any AWS or moto.
let server: http.Server;
let endpoint: string;
const requests: Array<{ action: string | null; authorization: string | undefined }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const action = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('Action');
      requests.push({ action, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
          '<Arn>arn:aws:iam::111122223333:user/ci</Arn><UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account>' +
          '</GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const factories: AwsClientFactory[] = [];
afterEach(() => {
  for (const f of factories.splice(0)) f.close();
  requests.length = 0;
});

function factory(opts: Partial<AwsClientFactoryOptions> = {}): AwsClientFactory {
  const f = new AwsClientFactory({ env: {}, requestsPerSecond: 100, ...opts });
  factories.push(f);
  return f;
}

describe('AwsClientFactory sessions', () => {
  it('keeps one session per key while the fingerprint stays the same', () => {
    const f = factory();
    const a = f.session('ns/p', 'fp-1', { region: 'us-east-1', staticKeys: KEYS });
    expect(f.session('ns/p', 'fp-1', { region: 'us-east-1', staticKeys: KEYS })).toBe(a);
    expect(f.session('ns/other', 'fp-1', { region: 'us-east-1', staticKeys: KEYS })).not.toBe(a);
  });

  it('rebuilds the session when the fingerprint changes and closes the old clients after a grace period', async () => {
    const f = factory({ retireAfterMs: 20 });
    const old = f.session('ns/p', 'fp-1', { region: 'us-east-1', staticKeys: KEYS });
    let destroyed = 0;
    for (const client of [old.ecr, old.sts]) {
      const destroy = client.destroy.bind(client);
      client.destroy = () => {
        destroyed += 1;
        destroy();
      };
    }
    const rotated = { ...KEYS, secretAccessKey: 'rotated-secret' };
    const fresh = f.session('ns/p', 'fp-2', { region: 'us-east-1', staticKeys: rotated });
    expect(fresh).not.toBe(old);
    expect(await fresh.credentials()).toMatchObject(rotated);
    expect(await old.credentials()).toMatchObject(KEYS);
    // Not at once: another reconcile may be in the middle of a call on the old clients.
    expect(destroyed).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(destroyed).toBe(2);
    expect(f.session('ns/p', 'fp-2', { region: 'us-east-1', staticKeys: rotated })).toBe(fresh);
  });

  it('drop forgets the session', () => {
    const f = factory();
    const a = f.session('ns/p', 'fp-1', { region: 'us-east-1', staticKeys: KEYS });
    f.drop('ns/p');
    f.drop('ns/never-existed');
    expect(f.session('ns/p', 'fp-1', { region: 'us-east-1', staticKeys: KEYS })).not.toBe(a);
  });

  it('builds clients with the region, endpoint, adaptive retries and attempts', async () => {
    const f = factory({ maxAttempts: 4, env: { endpoint: 'http://env-endpoint:4566' } });
    const s = f.session('ns/p', 'fp', { region: 'eu-west-1', endpoint: 'http://provider-endpoint:4566', staticKeys: KEYS });
    expect(s.region).toBe('eu-west-1');
    expect(s.endpoint).toBe('http://provider-endpoint:4566');
    for (const client of [s.ecr, s.sts]) {
      expect(await client.config.region()).toBe('eu-west-1');
      expect(await client.config.endpoint?.()).toMatchObject({ hostname: 'provider-endpoint', port: 4566, protocol: 'http:' });
      expect(await client.config.maxAttempts()).toBe(4);
      expect(await client.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
    }
    // Without a provider endpoint, AWS_ENDPOINT_URL (as read at startup) applies.
    const viaEnv = f.session('ns/q', 'fp', { region: 'eu-west-1', staticKeys: KEYS });
    expect(viaEnv.endpoint).toBe('http://env-endpoint:4566');
    expect(await viaEnv.ecr.config.endpoint?.()).toMatchObject({ hostname: 'env-endpoint' });
  });

  it('rejects a missing region and an endpoint that is not an http(s) URL', () => {
    const f = factory();
    expect(() => f.session('ns/p', 'fp', { region: 'us-east-1', endpoint: 'localhost:4566', staticKeys: KEYS })).toThrow(/must be an http or https URL, not localhost:/);
    expect(() => f.session('ns/p', 'fp', { region: 'us-east-1', endpoint: 'not a url', staticKeys: KEYS })).toThrow(/^the AWS endpoint is not a URL/);
    expect(() => f.session('ns/p', 'fp', { region: ' ', staticKeys: KEYS })).toThrow('an AWS region is required');
  });
});

describe('AwsClientFactory calls', () => {
  it('reports each call and learns the account from GetCallerIdentity', async () => {
    const calls: Array<[string, string, string, number]> = [];
    const f = factory({ onCall: (...c) => calls.push(c) });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    expect(s.accountId).toBeUndefined();
    expect(await s.callerIdentity()).toEqual({ accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/ci', userId: 'AIDAEXAMPLE' });
    expect(s.accountId).toBe('111122223333');
    expect(requests).toHaveLength(1);
    expect(requests[0]?.action).toBe('GetCallerIdentity');
    // Signed with the provider's key (the secret itself never travels).
    expect(requests[0]?.authorization).toContain(`Credential=${KEYS.accessKeyId}/`);
    expect(requests[0]?.authorization).not.toContain(KEYS.secretAccessKey);
    expect(calls).toHaveLength(1);
    const [service, operation, outcome, seconds] = calls[0] as [string, string, string, number];
    expect([service, operation, outcome]).toEqual(['STS', 'GetCallerIdentity', 'success']);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(5);
  });

  it('paces under the session key until the account is known, then under the account', async () => {
    // A bucket that refills too slowly to hide the token taken, however loaded the machine.
    const limiters = new RateLimiterRegistry({ requestsPerSecond: 0.01, burst: 100 });
    const f = factory({ limiters });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    await s.callerIdentity();
    // The first call went through the session key's bucket, the next through the account's.
    expect(limiters.keys()).toEqual(['ns/p']);
    await s.callerIdentity();
    expect(limiters.keys()).toEqual(['ns/p', '111122223333']);
    expect(limiters.limiterFor('111122223333').available()).toBeLessThan(100);
  });

  it('waits on the limiter before every request', async () => {
    const f = factory({ requestsPerSecond: 10, burst: 1 });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    const started = performance.now();
    await Promise.all([s.callerIdentity(), s.callerIdentity(), s.callerIdentity(), s.callerIdentity()]);
    // One token at once, three more at 10/s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(requests).toHaveLength(4);
  });

  it('reports failures as errors and classifies them', async () => {
    const calls: Array<[string, string, string, number]> = [];
    const f = factory({ onCall: (...c) => calls.push(c), maxAttempts: 1 });
    // Port 1 on loopback refuses connections.
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint: 'http://127.0.0.1:1', staticKeys: KEYS });
    const err = await s.callerIdentity().then(() => undefined, (e: unknown) => e);
    expect(isAwsError(err, 'Transient')).toBe(true);
    expect(String((err as Error).message)).not.toContain(KEYS.secretAccessKey);
    expect(calls.map(([svc, op, outcome]) => [svc, op, outcome])).toEqual([['STS', 'GetCallerIdentity', 'error']]);
  });

  it('a throwing metrics hook does not fail the call', async () => {
    const f = factory({
      onCall: () => {
        throw new Error('metrics broke');
      },
    });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    await expect(s.callerIdentity()).resolves.toMatchObject({ accountId: '111122223333' });
  });
});
