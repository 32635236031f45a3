import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeleteRepositoryCommand, DescribeRepositoriesCommand, GetLifecyclePolicyCommand, GetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { AwsClientFactory, type AwsClientFactoryOptions } from '../../../src/aws/clients.js';
import { AwsError, isAwsError } from '../../../src/aws/errors.js';
import { RateLimiterRegistry, limiterKey } from '../../../src/aws/ratelimit.js';

const KEYS = { accessKeyId: 'AKIAKEYSFROMSECRET01', secretAccessKey: 'static-secret-value' };

// A stand-in for STS that answers GetCallerIdentity (query protocol, XML), to observe what the
// clients send without any AWS or moto; and for ECR (JSON protocol), which answers every request
// with the error queued in ecrErrors.
let server: http.Server;
let endpoint: string;
const requests: Array<{ action: string | null; authorization: string | undefined }> = [];
/** How many of the next requests the stand-in refuses as throttled. */
let throttleNext = 0;
/** The ECR errors (AWS error code, message) the stand-in answers the next ECR requests with. */
const ecrErrors: Array<{ code: string; message: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith('AmazonEC2ContainerRegistry_V20150921.')) {
        requests.push({ action: target.slice(target.indexOf('.') + 1), authorization: req.headers.authorization });
        const error = ecrErrors.shift() ?? { code: 'ServerException', message: 'no answer queued' };
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code });
        res.end(JSON.stringify({ __type: error.code, message: error.message }));
        return;
      }
      const action = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('Action');
      requests.push({ action, authorization: req.headers.authorization });
      if (throttleNext > 0) {
        throttleNext -= 1;
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-t</RequestId></ErrorResponse>');
        return;
      }
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
  throttleNext = 0;
  ecrErrors.length = 0;
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

  it('builds clients with the region, endpoint, standard retries and attempts', async () => {
    const f = factory({ maxAttempts: 4, env: { endpoint: 'http://env-endpoint:4566' } });
    const s = f.session('ns/p', 'fp', { region: 'eu-west-1', endpoint: 'http://provider-endpoint:4566', staticKeys: KEYS });
    expect(s.region).toBe('eu-west-1');
    expect(s.endpoint).toBe('http://provider-endpoint:4566');
    for (const client of [s.ecr, s.sts]) {
      expect(await client.config.region()).toBe('eu-west-1');
      expect(await client.config.endpoint?.()).toMatchObject({ hostname: 'provider-endpoint', port: 4566, protocol: 'http:' });
      expect(await client.config.retryStrategy()).toBeInstanceOf(ConfiguredRetryStrategy);
      expect(await client.config.retryStrategy()).toMatchObject({ mode: 'standard' });
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

  it('paces under the session key until the account is known, then under the account, region and endpoint', async () => {
    // A bucket that refills too slowly to hide the token taken, however loaded the machine.
    const limiters = new RateLimiterRegistry({ requestsPerSecond: 0.01, burst: 100 });
    const f = factory({ limiters });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    await s.callerIdentity();
    // The first call went through the session key's bucket, the next through the account's.
    expect(limiters.keys()).toEqual(['ns/p']);
    await s.callerIdentity();
    const account = limiterKey({ accountId: '111122223333', region: 'us-east-1', service: 'STS', endpoint });
    expect(limiters.keys()).toEqual(['ns/p', account]);
    expect(limiters.limiterFor(account).available()).toBeLessThan(100);
  });

  it("gives one account's calls in another region, or to another endpoint, a budget of their own", async () => {
    const limiters = new RateLimiterRegistry({ requestsPerSecond: 0.01, burst: 100 });
    const f = factory({ limiters });
    // The stand-in answers on any path: another path is another endpoint.
    const other = `${endpoint}/other`;
    const sessions = {
      east: f.session('ns/east', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS }),
      eastToo: f.session('team/east', 'fp', { region: 'us-east-1', endpoint: `${endpoint}/`, staticKeys: KEYS }),
      west: f.session('ns/west', 'fp', { region: 'eu-west-1', endpoint, staticKeys: KEYS }),
      elsewhere: f.session('ns/elsewhere', 'fp', { region: 'us-east-1', endpoint: other, staticKeys: KEYS }),
    };
    for (const s of Object.values(sessions)) {
      await s.callerIdentity();
      await s.callerIdentity();
    }
    const key = (region: string, at: string) => limiterKey({ accountId: '111122223333', region, service: 'STS', endpoint: at });
    const accountKeys = limiters.keys().filter((k) => k.startsWith('111122223333'));
    expect(accountKeys.sort()).toEqual([key('eu-west-1', endpoint), key('us-east-1', other), key('us-east-1', endpoint)].sort());
    // Two providers of one account, region and endpoint share a budget: two calls were paced in it.
    expect(limiters.limiterFor(key('us-east-1', endpoint)).available()).toBeCloseTo(98, 0);
    expect(limiters.limiterFor(key('eu-west-1', endpoint)).available()).toBeCloseTo(99, 0);
    expect(limiters.limiterFor(key('us-east-1', other)).available()).toBeCloseTo(99, 0);
  });

  it('waits on the limiter before every request', async () => {
    const f = factory({ requestsPerSecond: 10, burst: 1, maxRateLimitWaitMs: Infinity });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    const started = performance.now();
    await Promise.all([s.callerIdentity(), s.callerIdentity(), s.callerIdentity(), s.callerIdentity()]);
    // One token at once, three more at 10/s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(requests).toHaveLength(4);
  });

  it('fails a call at once, unsent and without a token, when its budget would make it wait long', async () => {
    const calls: string[] = [];
    const deferred: Array<[string, string, number]> = [];
    // One request a second: after the account's first call, the next token is a second away.
    const limiters = new RateLimiterRegistry({ requestsPerSecond: 1, burst: 1, adaptive: false });
    const f = factory({ limiters, onCall: (_svc, op, outcome) => calls.push(`${op}:${outcome}`), onDeferred: (...d) => deferred.push(d) });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    await s.callerIdentity();
    await s.callerIdentity();
    const account = limiters.limiterFor(limiterKey({ accountId: '111122223333', region: 'us-east-1', service: 'STS', endpoint }));
    const tokens = account.available();
    const started = performance.now();
    const err = await s.callerIdentity().then(() => undefined, (e: unknown) => e);
    // No worker sleeps a second on the budget: the call fails at once.
    expect(performance.now() - started).toBeLessThan(200);
    expect(err).toBeInstanceOf(AwsError);
    const deferral = err as AwsError;
    expect(deferral).toMatchObject({ kind: 'Throttled', code: 'ClientRateLimited', retryable: true, service: 'STS', operation: 'GetCallerIdentity' });
    expect(deferral.retryAfterMs).toBeGreaterThan(500);
    expect(deferral.retryAfterMs).toBeLessThanOrEqual(1000);
    // Not sent, and no token taken; reported as deferred, not as an AWS call.
    expect(requests).toHaveLength(2);
    expect(account.available()).toBeGreaterThanOrEqual(tokens);
    expect(calls).toEqual(['GetCallerIdentity:success', 'GetCallerIdentity:success']);
    expect(deferred).toHaveLength(1);
    expect(deferred[0]?.slice(0, 2)).toEqual(['STS', 'GetCallerIdentity']);
    // At its time, the call goes through.
    await new Promise((resolve) => setTimeout(resolve, deferral.retryAfterMs));
    await expect(s.callerIdentity()).resolves.toMatchObject({ accountId: '111122223333' });
    expect(requests).toHaveLength(3);
  });

  it('an ECR call sent away is not retried by the SDK and reaches the caller as a Throttled AwsError', async () => {
    const limiters = new RateLimiterRegistry({ requestsPerSecond: 1, burst: 1, adaptive: false });
    const f = factory({ limiters, maxAttempts: 3 });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    await s.callerIdentity();
    ecrErrors.push({ code: 'RepositoryNotFoundException', message: 'The repository does not exist' });
    await expect(s.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }))).rejects.toMatchObject({ name: 'RepositoryNotFoundException' });
    const started = performance.now();
    const err = await s.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] })).then(() => undefined, (e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(200);
    expect(isAwsError(err, 'Throttled')).toBe(true);
    expect((err as AwsError).code).toBe('ClientRateLimited');
    expect((err as AwsError).operation).toBe('DescribeRepositories');
    expect(requests.filter((r) => r.action === 'DescribeRepositories')).toHaveLength(1);
  });

  it('keeps short waits as they are, and waits without bound when told so', async () => {
    const f = factory({ requestsPerSecond: 5, burst: 1 });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    await s.callerIdentity();
    const started = performance.now();
    // 200 ms to the next token: within the 250 ms a call may wait.
    await s.callerIdentity();
    await s.callerIdentity();
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(requests).toHaveLength(3);

    const patient = factory({ requestsPerSecond: 2, burst: 1, maxRateLimitWaitMs: Infinity });
    const p = patient.session('ns/q', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    await p.callerIdentity();
    await p.callerIdentity();
    await expect(p.callerIdentity()).resolves.toMatchObject({ accountId: '111122223333' });
  });

  it('a throttled attempt lowers the account\'s rate, and the retry still succeeds', async () => {
    let now = 0;
    const limiters = new RateLimiterRegistry({ requestsPerSecond: 100, clock: () => now });
    const f = factory({ limiters });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    throttleNext = 1;
    await expect(s.callerIdentity()).resolves.toMatchObject({ accountId: '111122223333' });
    expect(requests).toHaveLength(2);
    const limiter = limiters.limiterFor('ns/p');
    // Both answers reach the limiter: one throttle in two, so the next window runs at (100 + 30) / 2.
    now += 1_000;
    expect(limiter.currentRate()).toBe(65);
    // Seconds later without throttles, the account is back at its full rate.
    now += 3_000;
    expect(limiter.currentRate()).toBe(100);
  });

  it('retries a throttle up to maxAttempts, with the short backoff of other errors: the limiter does the pacing', async () => {
    const f = factory({ maxAttempts: 4 });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    throttleNext = 10;
    const started = performance.now();
    const err = await s.callerIdentity().then(() => undefined, (e: unknown) => e);
    expect(isAwsError(err, 'Throttled')).toBe(true);
    expect(requests).toHaveLength(4);
    // Three retries of at most 200, 400 and 800 ms; standard mode's throttle backoff allows up to 7 s.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('limits ECR operations to their own rates under the account cap by default', () => {
    const f = factory({ requestsPerSecond: 1000 });
    expect(f.limiterFor('111122223333').currentRate('CreateRepository')).toBe(10);
    expect(f.limiterFor('111122223333').currentRate('GetCallerIdentity')).toBe(1000);
    const unlimited = factory({ requestsPerSecond: 1000, operationRates: false });
    expect(unlimited.limiterFor('111122223333').currentRate('CreateRepository')).toBe(1000);
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

describe('AwsClientFactory metrics: an expected absence of ECR is a success', () => {
  async function ecrCall(command: GetLifecyclePolicyCommand | GetRepositoryPolicyCommand | DeleteRepositoryCommand | DescribeRepositoriesCommand, error: { code: string; message: string }) {
    const calls: Array<[string, string, string, number]> = [];
    const f = factory({ onCall: (...c) => calls.push(c), maxAttempts: 1 });
    const s = f.session('ns/p', 'fp', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    ecrErrors.push(error);
    // The error still reaches the caller (the gateway turns it into "absent").
    const err = await s.ecr.send(command as GetLifecyclePolicyCommand).then(() => undefined, (e: unknown) => e);
    return { err: err as { name?: string } | undefined, reported: calls.map(([svc, op, outcome]) => [svc, op, outcome]) };
  }

  it('GetLifecyclePolicy answered LifecyclePolicyNotFoundException counts as a success, and is still thrown', async () => {
    const { err, reported } = await ecrCall(new GetLifecyclePolicyCommand({ repositoryName: 'app' }), {
      code: 'LifecyclePolicyNotFoundException',
      message: 'Lifecycle policy does not exist for the repository',
    });
    expect(err?.name).toBe('LifecyclePolicyNotFoundException');
    expect(requests.map((r) => r.action)).toEqual(['GetLifecyclePolicy']);
    expect(reported).toEqual([['ECR', 'GetLifecyclePolicy', 'success']]);
  });

  it('GetLifecyclePolicy refused with AccessDeniedException counts as an error', async () => {
    const { err, reported } = await ecrCall(new GetLifecyclePolicyCommand({ repositoryName: 'app' }), {
      code: 'AccessDeniedException',
      message: 'not authorized to perform: ecr:GetLifecyclePolicy',
    });
    expect(err?.name).toBe('AccessDeniedException');
    expect(reported).toEqual([['ECR', 'GetLifecyclePolicy', 'error']]);
  });

  it('the other expected absences count as successes: no repository policy, a repository already gone', async () => {
    const policy = await ecrCall(new GetRepositoryPolicyCommand({ repositoryName: 'app' }), {
      code: 'RepositoryPolicyNotFoundException',
      message: 'Repository policy does not exist',
    });
    expect(policy.reported).toEqual([['ECR', 'GetRepositoryPolicy', 'success']]);
    const deleted = await ecrCall(new DeleteRepositoryCommand({ repositoryName: 'app', force: true }), {
      code: 'RepositoryNotFoundException',
      message: 'The repository does not exist',
    });
    expect(deleted.reported).toEqual([['ECR', 'DeleteRepository', 'success']]);
    const described = await ecrCall(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }), {
      code: 'RepositoryNotFoundException',
      message: 'The repository does not exist',
    });
    expect(described.reported).toEqual([['ECR', 'DescribeRepositories', 'success']]);
  });

  it('a not-found that is not the operation\'s expected absence counts as an error', async () => {
    // GetLifecyclePolicy on a repository that is gone: trouble, not "no policy".
    const { reported } = await ecrCall(new GetLifecyclePolicyCommand({ repositoryName: 'gone' }), {
      code: 'RepositoryNotFoundException',
      message: 'The repository does not exist',
    });
    expect(reported).toEqual([['ECR', 'GetLifecyclePolicy', 'error']]);
  });
});
