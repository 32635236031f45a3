import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { AwsClientFactory, type AwsClientFactoryOptions } from '../../src/aws/clients.js';
import { OperatorIdentityRefusedError, operatorAwsEnvironment, sourceFingerprint, type CredentialSource } from '../../src/aws/credentials.js';
import { AwsError, isAwsError } from '../../src/aws/errors.js';
import { limiterKey, RateLimiterRegistry } from '../../src/aws/ratelimit.js';
import type { AWSProvider } from '../../src/kinds/awsprovider/types.js';
import { ProviderConfigError, ProviderConnections, type ProviderKubeClient, type TenancyPolicy } from '../../src/providers/connections.js';
import { KubeApiError } from '../../src/runtime/kube.js';

// moto's default account: every key pair it has not seen before belongs to it.
const ACCOUNT = '123456789012';
const KEYS = { accessKeyId: 'AKIAINTEGRATION00001', secretAccessKey: 'integration-secret-value' };

const endpoint = inject('awsEndpoint');
let dir: string;

async function calls(): Promise<Record<string, number>> {
  return (await (await fetch(`${endpoint}/__aws/calls`)).json()) as Record<string, number>;
}

/** A JWT-shaped token; moto does not verify signatures (it accepts any string, in fact). */
function fakeJwt(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ sub: subject, aud: 'sts.amazonaws.com', exp: Math.floor(Date.now() / 1000) + 3600 })}.c2lnbmF0dXJl`;
}

const factories: AwsClientFactory[] = [];
function factory(opts: Partial<AwsClientFactoryOptions> = {}): AwsClientFactory {
  const f = new AwsClientFactory({ env: {}, requestsPerSecond: 50, ...opts });
  factories.push(f);
  return f;
}

function session(f: AwsClientFactory, key: string, source: CredentialSource) {
  return f.session(key, sourceFingerprint(source), source);
}

/** Runs `body` with process.env changed, as the operator's own environment would be. */
async function withProcessEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-credentials-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await fetch(`${endpoint}/__aws/calls/reset`, { method: 'POST' });
});

afterEach(() => {
  for (const f of factories.splice(0)) f.close();
});

describe('credentials against moto STS', () => {
  it('static keys: GetCallerIdentity names the account', async () => {
    const s = session(factory(), 'team-a/static', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    const id = await s.callerIdentity();
    expect(id.accountId).toBe(ACCOUNT);
    expect(id.arn).toMatch(new RegExp(`^arn:aws:(iam|sts)::${ACCOUNT}:`));
    expect(s.accountId).toBe(ACCOUNT);
    expect(await calls()).toEqual({ 'STS:GetCallerIdentity': 1 });
  });

  it('roleARN over static keys: acts as the assumed role, and assumes it once while it lasts', async () => {
    const reported: string[] = [];
    const s = session(factory({ onCall: (service, operation, outcome) => reported.push(`${service}:${operation}:${outcome}`) }), 'team-a/assume', {
      region: 'us-east-1',
      endpoint,
      staticKeys: KEYS,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-manager`,
      externalId: 'team-a-external-id',
      sessionName: 'infra-operator-team-a-assume',
    });
    const id = await s.callerIdentity();
    expect(id.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ecr-manager/infra-operator-team-a-assume`);
    expect(id.accountId).toBe(ACCOUNT);
    await s.callerIdentity();
    await s.callerIdentity();
    expect(await calls()).toEqual({ 'STS:AssumeRole': 1, 'STS:GetCallerIdentity': 3 });
    expect(reported).toEqual([
      'STS:AssumeRole:success',
      'STS:GetCallerIdentity:success',
      'STS:GetCallerIdentity:success',
      'STS:GetCallerIdentity:success',
    ]);
  });

  it("roleARN with the operator's IRSA token: AssumeRoleWithWebIdentity for the provider role, at the administrator's endpoint", async () => {
    const tokenFile = path.join(dir, 'provider-token');
    writeFileSync(tokenFile, fakeJwt('system:serviceaccount:infra-operator-system:infra-operator-controller-manager'));
    const env = operatorAwsEnvironment({ AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/operator`, AWS_ENDPOINT_URL: endpoint });
    const s = session(factory({ env }), 'team-a/irsa', {
      region: 'us-east-1',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/team-a-ecr`,
      sessionName: 'infra-operator-team-a-irsa',
    });
    const id = await s.callerIdentity();
    expect(id.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/team-a-ecr/infra-operator-team-a-irsa`);
    expect(await calls()).toEqual({ 'STS:AssumeRoleWithWebIdentity': 1, 'STS:GetCallerIdentity': 1 });
  });

  it("roleARN with the provider's own ServiceAccount token: AssumeRoleWithWebIdentity with that token, a fresh one on each renewal", async () => {
    let issued = 0;
    const s = session(factory({ credentialDeps: { refreshBeforeMs: 3_600_000 - 3_000 } }), 'team-a/sa', {
      region: 'us-east-1',
      endpoint,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/team-a-ecr`,
      sessionName: 'infra-operator-team-a-sa',
      webIdentity: { subject: 'team-a/ecr', token: async () => fakeJwt(`system:serviceaccount:team-a:ecr:${++issued}`) },
    });
    const id = await s.callerIdentity();
    expect(id.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/team-a-ecr/infra-operator-team-a-sa`);
    // Renewed 3 s after issue (the margin is the lifetime minus 3 s): a second token and a second exchange.
    await new Promise((r) => setTimeout(r, 3_500));
    await s.callerIdentity();
    expect(issued).toBe(2);
    expect(await calls()).toEqual({ 'STS:AssumeRoleWithWebIdentity': 2, 'STS:GetCallerIdentity': 2 });
  });

  it("refuses to build a session that would use the operator's identity with the provider's own endpoint", async () => {
    const tokenFile = path.join(dir, 'operator-token-refused');
    writeFileSync(tokenFile, fakeJwt('system:serviceaccount:infra-operator-system:infra-operator-controller-manager'));
    const env = operatorAwsEnvironment({ AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/operator` });
    const f = factory({ env });
    expect(() => session(f, 'team-a/role', { region: 'us-east-1', endpoint, roleArn: `arn:aws:iam::${ACCOUNT}:role/x` })).toThrow(OperatorIdentityRefusedError);
    expect(() => session(f, 'team-a/none', { region: 'us-east-1', endpoint })).toThrow(OperatorIdentityRefusedError);
    expect(await calls()).toEqual({});
  });

  it('no keys and no role under IRSA: the SDK default chain assumes AWS_ROLE_ARN, at AWS_ENDPOINT_URL', async () => {
    const tokenFile = path.join(dir, 'operator-token');
    writeFileSync(tokenFile, fakeJwt('system:serviceaccount:infra-operator-system:infra-operator-controller-manager'));
    const missing = path.join(dir, 'no-such-file');
    await withProcessEnv(
      {
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/operator`,
        AWS_ROLE_SESSION_NAME: 'operator-session',
        AWS_ENDPOINT_URL: endpoint,
        // Keep the chain away from any shared config of the machine running the tests.
        AWS_SHARED_CREDENTIALS_FILE: missing,
        AWS_CONFIG_FILE: missing,
      },
      async () => {
        const reported: string[] = [];
        const s = session(factory({ env: operatorAwsEnvironment(process.env), onCall: (svc, op) => reported.push(`${svc}:${op}`) }), 'team-a/default', {
          region: 'us-east-1',
        });
        expect(s.endpoint).toBe(endpoint);
        const id = await s.callerIdentity();
        expect(id.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/operator/operator-session`);
        // ECR calls go to the same endpoint with the same credentials.
        await s.ecr.send(new DescribeRepositoriesCommand({}));
        expect(await calls()).toEqual({ 'STS:AssumeRoleWithWebIdentity': 1, 'STS:GetCallerIdentity': 1, 'ECR:DescribeRepositories': 1 });
        // The chain's own STS client is instrumented like every other client.
        expect(reported).toEqual(['STS:AssumeRoleWithWebIdentity', 'STS:GetCallerIdentity', 'ECR:DescribeRepositories']);
      },
    );
  });

  it('roleARN without keys or token: AssumeRole from the default chain (environment keys)', async () => {
    const missing = path.join(dir, 'no-such-file');
    await withProcessEnv(
      {
        AWS_ACCESS_KEY_ID: 'AKIAOPERATORENV00001',
        AWS_SECRET_ACCESS_KEY: 'operator-env-secret',
        AWS_SHARED_CREDENTIALS_FILE: missing,
        AWS_CONFIG_FILE: missing,
      },
      async () => {
        const s = session(factory({ env: { endpoint } }), 'team-b/chain', {
          region: 'us-east-1',
          roleArn: `arn:aws:iam::${ACCOUNT}:role/team-b-ecr`,
        });
        const id = await s.callerIdentity();
        expect(id.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/team-b-ecr/infra-operator`);
        expect(await calls()).toEqual({ 'STS:AssumeRole': 1, 'STS:GetCallerIdentity': 1 });
      },
    );
  });
});

describe('unreachable endpoints fail fast and classified', () => {
  it('a closed port: Transient within a few seconds', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const s = session(factory(), 'team-a/dead', { region: 'us-east-1', endpoint: dead, staticKeys: KEYS });
    const started = Date.now();
    const err = await s.callerIdentity().then(() => undefined, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(AwsError);
    expect(isAwsError(err, 'Transient')).toBe(true);
    expect((err as AwsError).retryable).toBe(true);
    expect((err as AwsError).message).not.toContain(KEYS.secretAccessKey);
  });

  it('a closed port while assuming a role: Transient within a few seconds', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const s = session(factory(), 'team-a/dead-role', {
      region: 'us-east-1',
      endpoint: dead,
      staticKeys: KEYS,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-manager`,
    });
    const started = Date.now();
    const err = await s.callerIdentity().then(() => undefined, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isAwsError(err, 'Transient')).toBe(true);
  });

  it('an endpoint that accepts connections and never answers: Transient once the request timeout passes', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const s = session(factory({ requestTimeoutMs: 500, maxAttempts: 2 }), 'team-a/silent', {
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        staticKeys: KEYS,
      });
      const started = Date.now();
      const err = await s.callerIdentity().then(() => undefined, (e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5_000);
      expect(isAwsError(err, 'Transient')).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('client-side rate limit', () => {
  it('is shared by every session of one account', async () => {
    const limiters = new RateLimiterRegistry({ requestsPerSecond: 10, burst: 1 });
    // Waiting as long as it takes: this measures the shared bucket, not the deferral of long waits.
    const f = factory({ limiters, requestsPerSecond: 10, burst: 1, maxRateLimitWaitMs: Infinity });
    // Two providers in two namespaces with different keys: moto puts both in one account.
    const a = session(f, 'team-a/p', { region: 'us-east-1', endpoint, staticKeys: KEYS });
    const b = session(f, 'team-b/p', { region: 'us-east-1', endpoint, staticKeys: { accessKeyId: 'AKIAINTEGRATION00002', secretAccessKey: 'other-secret' } });
    await Promise.all([a.callerIdentity(), b.callerIdentity()]);
    expect([a.accountId, b.accountId]).toEqual([ACCOUNT, ACCOUNT]);

    const started = performance.now();
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).ecr.send(new DescribeRepositoriesCommand({}))));
    const elapsed = performance.now() - started;
    // One bucket at 10/s with burst 1: the 12th request starts 1.1 s in. Two separate buckets
    // would have let the same requests through in about 0.5 s.
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(limiters.keys()).toContain(limiterKey({ accountId: ACCOUNT, region: 'us-east-1', service: 'ECR', endpoint }));
    expect((await calls())['ECR:DescribeRepositories']).toBe(12);
  });
});

/**
 * The attacks of a tenant who may create AWSProviders, on the wire: a recording server stands for
 * the endpoint the tenant runs, in front of moto so that every flow it allows runs to its end. The
 * operator's environment holds a planted web-identity token and planted keys; the namespace holds
 * planted Secret values and a ServiceAccount whose tokens are planted too.
 */
describe('tenancy: what reaches an endpoint that a provider names', () => {
  const PLANTED_OPERATOR_TOKEN = fakeJwt('system:serviceaccount:infra-operator-system:planted-operator-token-7c1e');
  const PLANTED_OPERATOR_KEY = 'AKIAPLANTEDOPERATOR1';
  const PLANTED_OPERATOR_SECRET = 'planted-operator-secret-5b2d';
  const PLANTED_SECRET_KEY = 'AKIAPLANTEDSECRET001';
  const PLANTED_SECRET_VALUE = 'planted-secret-value-9a4f';
  const ROLE = `arn:aws:iam::${ACCOUNT}:role/team-a-ecr`;
  const OPERATOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/planted-operator-role`;

  interface Recorded { method: string; url: string; headers: string; body: string }
  let recorder: http.Server;
  let recorderUrl: string;
  const recorded: Recorded[] = [];
  let saTokens = 0;
  const saTokenValues: string[] = [];

  /** Records each request whole, then forwards it to moto and relays the answer. */
  beforeAll(async () => {
    recorder = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: JSON.stringify(req.headers), body: body.toString('utf8') });
        const headers = { ...req.headers };
        delete headers.host;
        fetch(`${endpoint}${req.url ?? '/'}`, { method: req.method, headers: headers as Record<string, string>, body: req.method === 'GET' ? undefined : body })
          .then(async (answer) => {
            res.writeHead(answer.status, Object.fromEntries(answer.headers.entries()));
            res.end(Buffer.from(await answer.arrayBuffer()));
          })
          .catch(() => {
            res.writeHead(502);
            res.end();
          });
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    recorderUrl = `http://127.0.0.1:${(recorder.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => recorder.close(resolve));
  });

  beforeEach(() => {
    recorded.length = 0;
  });

  const kube: ProviderKubeClient = {
    async getOrUndefined<T>(p: string) {
      if (!p.endsWith('/secrets/creds')) return undefined;
      const data = { 'access-key-id': PLANTED_SECRET_KEY, 'secret-access-key': PLANTED_SECRET_VALUE };
      return { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } as T;
    },
    async post<T>(p: string) {
      if (!p.endsWith('/serviceaccounts/ecr/token')) throw new KubeApiError(404, 'not found', 'NotFound');
      const token = fakeJwt(`system:serviceaccount:team-a:ecr:${++saTokens}`);
      saTokenValues.push(token);
      return { status: { token, expirationTimestamp: new Date(Date.now() + 600_000).toISOString() } } as T;
    },
  };

  const keys = { accessKeyIDRef: { name: 'creds', key: 'access-key-id' }, secretAccessKeyRef: { name: 'creds', key: 'secret-access-key' } };
  const combinations: Array<[string, Partial<AWSProvider['spec']>]> = [
    ['nothing of its own', {}],
    ['roleARN only', { roleARN: ROLE }],
    ['static keys', keys],
    ['static keys and roleARN', { ...keys, roleARN: ROLE }],
    ['its ServiceAccount and roleARN', { serviceAccountRef: { name: 'ecr' }, roleARN: ROLE }],
  ];

  function provider(name: string, spec: Partial<AWSProvider['spec']>): AWSProvider {
    return { apiVersion: 'aws-infra-operator.runner.codes/v1alpha1', kind: 'AWSProvider', metadata: { name, namespace: 'team-a', generation: 1 }, spec: { region: 'us-east-1', endpoint: recorderUrl, ...spec } };
  }

  /** Everything a provider's connection does: verify, then list repositories, as the reconcilers do. */
  async function attack(tenancy: TenancyPolicy, name: string, spec: Partial<AWSProvider['spec']>): Promise<string> {
    const tokenFile = path.join(dir, 'planted-operator-token');
    writeFileSync(tokenFile, PLANTED_OPERATOR_TOKEN);
    const missing = path.join(dir, 'no-such-file');
    return withProcessEnv(
      {
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: OPERATOR_ROLE,
        AWS_ACCESS_KEY_ID: PLANTED_OPERATOR_KEY,
        AWS_SECRET_ACCESS_KEY: PLANTED_OPERATOR_SECRET,
        AWS_ENDPOINT_URL: endpoint,
        AWS_SHARED_CREDENTIALS_FILE: missing,
        AWS_CONFIG_FILE: missing,
      },
      async () => {
        const connections = new ProviderConnections({ kube, factory: factory({ env: operatorAwsEnvironment(process.env) }), tenancy, registrySnapshotMaxAgeMs: 5_000 });
        let connection;
        try {
          connection = await connections.refresh(provider(name, spec));
        } catch (err) {
          if (err instanceof ProviderConfigError) return err.reason;
          throw err;
        }
        const id = await connection.session.callerIdentity();
        await connection.session.ecr.send(new DescribeRepositoriesCommand({}));
        return id.arn;
      },
    );
  }

  const wire = () => recorded.map((r) => `${r.method} ${r.url}\n${r.headers}\n${r.body}`).join('\n');
  const operatorValues = [PLANTED_OPERATOR_TOKEN, PLANTED_OPERATOR_KEY, PLANTED_OPERATOR_SECRET, 'planted-operator-role', 'planted-operator-token'];

  it.each(combinations)('custom endpoints off, %s: refused as EndpointNotAllowed, and not one request reaches the endpoint', async (_what, spec) => {
    const before = (await calls());
    expect(await attack({ allowCustomEndpoints: false, ambientIdentityNamespaces: '*' }, 'off', spec)).toBe('EndpointNotAllowed');
    expect(recorded).toEqual([]);
    expect(await calls()).toEqual(before);
  });

  it.each([
    ['nothing of its own', {}, 'EndpointRequiresOwnCredentials'],
    ['roleARN only', { roleARN: ROLE }, 'EndpointRequiresOwnCredentials'],
    ['static keys', keys, /^arn:aws:(iam|sts)::123456789012:/],
    ['static keys and roleARN', { ...keys, roleARN: ROLE }, /^arn:aws:sts::123456789012:assumed-role\/team-a-ecr\//],
    ['its ServiceAccount and roleARN', { serviceAccountRef: { name: 'ecr' }, roleARN: ROLE }, /^arn:aws:sts::123456789012:assumed-role\/team-a-ecr\//],
  ] as Array<[string, Partial<AWSProvider['spec']>, string | RegExp]>)(
    "custom endpoints on, %s: the operator's token and keys never reach the endpoint",
    async (_what, spec, outcome) => {
      const result = await attack({ allowCustomEndpoints: true, ambientIdentityNamespaces: '*' }, 'on', spec);
      if (typeof outcome === 'string') {
        expect(result).toBe(outcome);
        expect(recorded).toEqual([]);
        return;
      }
      expect(result).toMatch(outcome);
      // The flow ran to its end through the recorder: the assertions below are about real traffic.
      expect(recorded.some((r) => r.headers.includes('GetCallerIdentity') || r.body.includes('GetCallerIdentity'))).toBe(true);
      expect(recorded.some((r) => r.headers.includes('DescribeRepositories'))).toBe(true);
      const text = wire();
      for (const value of operatorValues) expect(text).not.toContain(value);
      // What went is the provider's own: its keys sign requests, its ServiceAccount's token is redeemed.
      if (spec.accessKeyIDRef) expect(text).toContain(PLANTED_SECRET_KEY);
      if (spec.serviceAccountRef) expect(text).toContain(encodeURIComponent(saTokenValues.at(-1) ?? 'none'));
      // A secret access key is never sent, only the signatures made with it.
      expect(text).not.toContain(PLANTED_SECRET_VALUE);
    },
  );

  it("the operator's identity outside the allowed namespaces: IdentityNotAllowed with no STS call anywhere", async () => {
    const before = await calls();
    const tenancy: TenancyPolicy = { allowCustomEndpoints: true, ambientIdentityNamespaces: ['platform'] };
    const connections = new ProviderConnections({ kube, factory: factory({ env: { endpoint } }), tenancy, registrySnapshotMaxAgeMs: 5_000 });
    const ambient = (spec: Partial<AWSProvider['spec']>): AWSProvider => ({ ...provider('ambient', spec), spec: { region: 'us-east-1', ...spec } });
    for (const spec of [{}, { roleARN: ROLE }]) {
      const err = await connections.refresh(ambient(spec)).catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'IdentityNotAllowed' });
    }
    expect(await calls()).toEqual(before);
    expect(recorded).toEqual([]);
  });
});
