import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EcrPublicClients, ecrPublicEndpointFromEnv, type EcrPublicGateway } from '../../../../src/aws/ecr-public.js';
import type { AwsSession } from '../../../../src/aws/clients.js';
import { RateLimiterRegistry } from '../../../../src/aws/ratelimit.js';
import { EcrPublicEmulation, testPng } from '../../../e2e/env/ecr-public-emulation.js';

// The ECR Public gateway and its clients through the real SDK, against the local layer's emulation
// served over HTTP: the wire protocol, the region the requests are signed for, pacing and metrics.

const ACCOUNT = '123456789012';

let server: http.Server;
let endpoint: string;
let emulation: EcrPublicEmulation;
const seen: Array<{ operation: string; region: string; host: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const [service, operation = ''] = target.split('.');
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
      seen.push({ operation, region: `${region?.[1] ?? ''}/${region?.[2] ?? ''}`, host: String(req.headers.host) });
      const answer = service === 'SpencerFrontendService'
        ? emulation.call(operation, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>, { accountId: ACCOUNT, region: region?.[1] ?? '', now: new Date() })
        : { status: 400, body: { __type: 'UnknownOperationException', message: target }, errorType: 'UnknownOperationException' };
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', ...(answer.errorType ? { 'x-amzn-errortype': answer.errorType } : {}) });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

let clients: EcrPublicClients;
let calls: string[];
let paced: string[];

function session(region = 'eu-west-1', key = 'team/aws'): AwsSession {
  return {
    key,
    region,
    accountId: ACCOUNT,
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
  } as unknown as AwsSession;
}

beforeEach(() => {
  emulation = new EcrPublicEmulation();
  seen.length = 0;
  calls = [];
  paced = [];
  const limiters = new RateLimiterRegistry({ requestsPerSecond: 1000 });
  clients = new EcrPublicClients({
    limiterFor: (account) => {
      const limiter = limiters.limiterFor(account);
      return { acquire: async (op?: string) => { paced.push(`${account}:${op ?? ''}`); await limiter.acquire(op); }, answered: (op: string | undefined, t: boolean) => limiter.answered(op, t) } as unknown as ReturnType<typeof limiters.limiterFor>;
    },
    onCall: (service, operation, outcome) => calls.push(`${service}:${operation}:${outcome}`),
    operatorEndpoint: endpoint,
    maxAttempts: 1,
  });
});

describe('ECR Public gateway', () => {
  it('calls ECR Public in us-east-1 whatever the session\'s region, paced by the account and reported as ECRPublic', async () => {
    const gateway = clients.gateway(session('eu-west-1'));
    expect(await gateway.describe('team/web')).toBeUndefined();
    expect(seen).toEqual([{ operation: 'DescribeRepositories', region: 'us-east-1/ecr-public', host: expect.stringContaining('127.0.0.1') }]);
    // "Not found" where absence is normal is an answer, counted as a success.
    expect(calls).toEqual(['ECRPublic:DescribeRepositories:success']);
    // Paced under the account, with a name of its own (no per-operation limit of private ECR applies).
    expect(paced).toEqual([`${ACCOUNT}:ecr-public:DescribeRepositories`]);
  });

  it('creates, reads, updates and deletes a repository with its catalog data, logo, policy and tags', async () => {
    const gateway: EcrPublicGateway = clients.gateway(session());
    const logo = testPng(64, 64);
    const made = await gateway.create('team/web', { description: 'd', architectures: ['ARM'], logo }, { owner: 'team/web' });
    expect(made.live).toMatchObject({ name: 'team/web', arn: `arn:aws:ecr-public::${ACCOUNT}:repository/team/web`, registryId: ACCOUNT });
    expect(made.live.uri).toMatch(/^public\.ecr\.aws\/[a-z][a-z0-9]{7}\/team\/web$/);
    expect(made.live.createdAt).toBeInstanceOf(Date);
    expect(made.catalog).toEqual({ description: 'd', architectures: ['ARM'], logoUrl: expect.stringMatching(/\.png$/) });
    expect(await gateway.registryAlias()).toBe(made.live.uri.split('/')[1]);

    const live = (await gateway.describe('team/web'))!;
    let details = await gateway.details(live);
    expect(details).toEqual({ tags: { owner: 'team/web' }, catalog: made.catalog, imageCount: 0 });
    // Tags already read are not read again.
    seen.length = 0;
    await gateway.details(live, { tags: { owner: 'team/web' } });
    expect(seen.map((s) => s.operation).sort()).toEqual(['DescribeImages', 'GetRepositoryCatalogData', 'GetRepositoryPolicy']);

    const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr-public:PutImage"}]}';
    const updated = await gateway.update(live, { catalog: { usageText: 'u' }, policy: { text: policy }, tagsToSet: { a: '1' }, tagKeysToRemove: ['owner'] });
    expect(updated.catalog).toEqual({ usageText: 'u' });
    details = await gateway.details(live);
    expect(details.tags).toEqual({ a: '1' });
    expect(JSON.parse(details.policyText!)).toEqual(JSON.parse(policy));
    expect(details.policyText).toContain('" : ');

    await gateway.update(live, { policy: 'delete' });
    expect((await gateway.details(live)).policyText).toBeUndefined();
    // Deleting what is already gone is no failure.
    await gateway.update(live, { policy: 'delete' });

    await gateway.delete('team/web', false);
    expect(await gateway.describe('team/web')).toBeUndefined();
    await gateway.delete('team/web', false);
    expect(calls).toContain('ECRPublic:DeleteRepositoryPolicy:success');
    expect(calls.filter((c) => c.endsWith(':error'))).toEqual([]);
  });

  it('reports AWS\'s refusals as classified errors: a repository with images, bad input', async () => {
    const gateway = clients.gateway(session());
    await gateway.create('team/web', {}, {});
    const too = testPng(800, 800, { noise: true });
    await expect(gateway.create('team/big', { logo: too }, {})).rejects.toMatchObject({ kind: 'InvalidParameter', code: 'InvalidParameterException', service: 'ECRPublic', operation: 'CreateRepository' });
    // A repository that holds an image.
    const blob = Buffer.from('layer');
    const { uploadId } = emulation.call('InitiateLayerUpload', { repositoryName: 'team/web' }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() }).body as { uploadId: string };
    emulation.call('UploadLayerPart', { repositoryName: 'team/web', uploadId, partFirstByte: 0, partLastByte: blob.length - 1, layerPartBlob: blob.toString('base64') }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    emulation.call('CompleteLayerUpload', { repositoryName: 'team/web', uploadId, layerDigests: [digest] }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    emulation.call('PutImage', { repositoryName: 'team/web', imageTag: 'v1', imageManifest: JSON.stringify({ schemaVersion: 2, layers: [{ digest, size: 5 }] }) }, { accountId: ACCOUNT, region: 'us-east-1', now: new Date() });
    const live = (await gateway.describe('team/web'))!;
    expect((await gateway.details(live)).imageCount).toBe(1);
    await expect(gateway.delete('team/web', false)).rejects.toMatchObject({ code: 'RepositoryNotEmptyException' });
    await gateway.delete('team/web', true);
    expect(await gateway.describe('team/web')).toBeUndefined();
  });

  it('builds one client per session, a new one when the session or the endpoint changes', () => {
    const a = session();
    const first = clients.gateway(a);
    expect(clients.gateway(a)).toBe(first);
    expect(clients.gateway(a, 'http://127.0.0.1:1')).not.toBe(first);
    expect(clients.gateway(session())).not.toBe(first);
    clients.close();
  });

  it('reads the operator\'s endpoint for ECR Public from the environment as the SDK does', () => {
    expect(ecrPublicEndpointFromEnv({ AWS_ENDPOINT_URL: 'http://a' })).toBe('http://a');
    expect(ecrPublicEndpointFromEnv({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_ECR_PUBLIC: 'http://b' })).toBe('http://b');
    expect(ecrPublicEndpointFromEnv({ AWS_ENDPOINT_URL: 'http://a', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
    expect(ecrPublicEndpointFromEnv({})).toBeUndefined();
  });
});
