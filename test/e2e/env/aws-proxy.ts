import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createEmulations, type EmulatedAnswer } from './emulations.js';
import type { OidcProvider, TrustPolicyStatement } from './sts-web-identity-emulation.js';
import { ReplicationEmulation } from './replication-emulation.js';
import { cloudTrailEvents } from './cloudtrail-events.js';

import { adjustListing, createLifecycleEmulationState, emulateRequest } from './lifecycle-emulation.js';

/**
 * A small HTTP layer in front of moto that behaves as AWS does where moto does not, and counts calls.
 *
 * - moto answers DescribeRepositories, ListImages and DescribeImages with every item in one page; this
 *   layer pages them as ECR does (100 items by default, maxResults up to 1,000, an opaque nextToken).
 * - moto refuses a replication configuration of more than one rule; this layer checks and keeps such
 *   a configuration itself (replication-emulation.ts) and answers DescribeRegistry with it.
 * - ECR reports a repository's KMS key as the key's ARN, whatever form CreateRepository was given
 *   (alias name, alias ARN, key id, key ARN); moto keeps the text as given. This layer resolves the
 *   key through moto's own KMS (DescribeKey, same endpoint) and hands moto the key ARN, so that
 *   CreateRepository and DescribeRepositories answer as ECR does. A key that does not exist, is
 *   disabled or pending deletion fails CreateRepository with ECR's KmsException (its kmsError naming
 *   KMS's error), as AWS does. `knownKeyArns` are keys that exist although moto's KMS cannot hold
 *   them (moto gives every key a random id; documented examples name fixed ids).
 * - ECR's image archive, which moto does not implement (lifecycle-emulation.ts): archive-grammar
 *   lifecycle policies, UpdateImageStorageClass, and DescribeImages/ListImages answering by image
 *   status. Emulated replies go back instead of moto's; DeleteRepository still goes to moto and
 *   forgets the repository's emulated state.
 * - STS AssumeRoleWithWebIdentity as IAM checks it (sts-web-identity-emulation.ts), when the layer is
 *   given the account's OIDC providers (`oidcProviders`; the environment registers the cluster's
 *   service-account issuer): the token must be signed by the issuer's keys, unexpired, for one of
 *   the provider's client IDs, and the role's trust policy (read from moto's IAM with GetRole) must
 *   allow its subject. moto alone hands credentials to any token. Refusals go back in the query
 *   protocol's XML, as STS answers them; an accepted request goes on to moto.
 * - Every call is counted by service and operation: GET /__aws/calls, POST /__aws/calls/reset; and
 *   by the access key that signed it too: GET /__aws/calls/by-signer ("STS:AssumeRole@AKIA...");
 *   every CreateRepository with the name, the client's app id (AWS_SDK_UA_APP_ID), the SDK's
 *   invocation id (the same on every retry of one call) and the HTTP status answered:
 *   GET /__aws/creates.
 * - Faults can be injected: POST /__aws/faults with [{operation, service?, accessKeyId?, status, code,
 *   message, times?, rate?}]: the matching calls (operation "*" matches every operation of `service`;
 *   only those signed with accessKeyId, when given) fail with that AWS error, in the protocol of the
 *   service (JSON for ECR, XML for STS). A fault fails `times` matching calls, or every one when
 *   omitted; with `rate` it fails that fraction of them instead, at random (seeded, so a run can be
 *   repeated): faults with rates take disjoint shares of one draw per call, so 0.15 throttles and
 *   0.10 server errors fail a quarter of the calls. GET /__aws/faults shows them with the number
 *   each has injected.
 */

const PAGED: Record<string, { listKey: string; max: number }> = {
  DescribeRepositories: { listKey: 'repositories', max: 1000 },
  ListImages: { listKey: 'imageIds', max: 1000 },
  DescribeImages: { listKey: 'imageDetails', max: 1000 },
};
const DEFAULT_PAGE = 100;

export interface Fault {
  /** An operation name, or "*" for every operation (of `service`, when given). */
  operation: string;
  /** "ECR" or "STS"; any when omitted. */
  service?: string;
  accessKeyId?: string;
  status: number;
  code: string;
  message: string;
  times?: number;
  /** The fraction of matching calls that fail (0-1); `times` is ignored with it. */
  rate?: number;
  /** How many calls this fault has failed: kept by the layer. */
  injected?: number;
}

/** A small seeded generator (mulberry32): the same faults fall on the same calls run after run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fault a call meets, if any; counts it. One draw per call serves every fault with a rate. */
export function pickFault(faults: Fault[], service: string, operation: string, accessKeyId: string | undefined, draw: number): Fault | undefined {
  let share = 0;
  for (const f of faults) {
    if (f.operation !== '*' && f.operation !== operation) continue;
    if (f.service !== undefined && f.service !== service) continue;
    if (f.accessKeyId !== undefined && f.accessKeyId !== accessKeyId) continue;
    let hit: boolean;
    if (f.rate !== undefined) {
      share += f.rate;
      hit = draw < share;
    } else {
      hit = f.times === undefined || f.times > 0;
      if (hit && f.times !== undefined) f.times -= 1;
    }
    if (hit) {
      f.injected = (f.injected ?? 0) + 1;
      return f;
    }
  }
  return undefined;
}

function accessKeyOf(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  return typeof auth === 'string' ? /Credential=([^/]+)\//.exec(auth)?.[1] : undefined;
}

/**
 * An error of the query protocol (STS), as STS sends it: an XML ErrorResponse whose Type says whose
 * fault it is (Sender for 4xx, Receiver for 5xx), with its code, message and a request id.
 */
export function queryError(status: number, code: string, message: string, requestId: string = randomUUID()): { headers: http.OutgoingHttpHeaders; body: string } {
  const escape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return {
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escape(code)}</Code><Message>${escape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

function sendFault(req: http.IncomingMessage, res: http.ServerResponse, fault: Fault): void {
  if (req.headers['x-amz-target']) {
    res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': fault.code });
    res.end(JSON.stringify({ __type: fault.code, message: fault.message }));
    return;
  }
  const error = queryError(fault.status, fault.code, fault.message);
  res.writeHead(fault.status, error.headers);
  res.end(error.body);
}

/**
 * An emulation's answer in the protocol of the request: JSON for the JSON protocol (X-Amz-Target);
 * for the query protocol, an error as STS's XML ErrorResponse (emulations answer that protocol only
 * with refusals: what they accept goes on to moto).
 */
function sendEmulated(req: http.IncomingMessage, res: http.ServerResponse, answer: EmulatedAnswer): void {
  if (!req.headers['x-amz-target']) {
    const code = answer.errorType ?? (typeof answer.body.__type === 'string' ? answer.body.__type : undefined);
    const message = typeof answer.body.message === 'string' ? answer.body.message : typeof answer.body.Message === 'string' ? answer.body.Message : '';
    const error = answer.status >= 400 && code
      ? queryError(answer.status, code, message)
      : queryError(500, 'InternalFailure', 'aws proxy: an emulation answered a query-protocol request with something other than an error');
    res.writeHead(answer.status >= 400 && code ? answer.status : 500, error.headers);
    res.end(error.body);
    return;
  }
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-amz-json-1.1' };
  if (answer.errorType) headers['x-amzn-errortype'] = answer.errorType;
  res.writeHead(answer.status, headers);
  res.end(JSON.stringify(answer.body));
}

/** The partition of an ARN and a region of it, as moto keeps IAM per partition. */
const PARTITION_REGIONS: Record<string, string> = { aws: 'us-east-1', 'aws-us-gov': 'us-gov-west-1', 'aws-cn': 'cn-north-1' };

/**
 * A role's trust policy from IAM's GetRole answer (XML): IAM returns the AssumeRolePolicyDocument
 * URL-encoded. Undefined when the answer names another role or holds no document that parses.
 */
export function trustPolicyFromGetRole(xml: string, roleArn: string): { Statement: TrustPolicyStatement[] } | undefined {
  const unescape = (t: string) => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const arn = /<Arn>([^<]*)<\/Arn>/.exec(xml)?.[1];
  const encoded = /<AssumeRolePolicyDocument>([^<]*)<\/AssumeRolePolicyDocument>/.exec(xml)?.[1];
  if (arn === undefined || unescape(arn) !== roleArn || encoded === undefined) return undefined;
  try {
    const text = unescape(encoded).trim();
    const document = JSON.parse(text.startsWith('{') ? text : decodeURIComponent(text)) as { Statement?: unknown };
    const statements = Array.isArray(document.Statement) ? document.Statement : document.Statement ? [document.Statement] : [];
    return { Statement: statements as TrustPolicyStatement[] };
  } catch {
    return undefined;
  }
}

export interface AwsProxyOptions {
  /** Port to listen on (default: a free one). */
  port?: number;
  /** KMS key ARNs that exist besides moto's own keys (see above). */
  knownKeyArns?: string[];
  /**
   * The account's OIDC identity providers (an EKS cluster's issuer, its keys, client ID
   * sts.amazonaws.com): with them AssumeRoleWithWebIdentity is checked as IAM checks it; without,
   * moto accepts any token.
   */
  oidcProviders?: OidcProvider[];
}

export interface AwsProxy {
  readonly url: string;
  readonly port: number;
  calls(): Record<string, number>;
  close(): Promise<void>;
}

function operationOf(req: http.IncomingMessage, body: string): { service: string; operation: string } {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) {
    const [prefix, operation] = target.split('.') as [string, string];
    return { service: prefix.startsWith('AmazonEC2ContainerRegistry') ? 'ECR' : prefix, operation };
  }
  const action = new URLSearchParams(body).get('Action') ?? new URL(req.url ?? '/', 'http://layer').searchParams.get('Action');
  if (action) return { service: 'STS', operation: action };
  return { service: 'other', operation: `${req.method} ${req.url}` };
}

/** The region of a SigV4-signed request (its credential scope), us-east-1 when unsigned. */
function regionOf(req: http.IncomingMessage): string {
  const auth = req.headers.authorization;
  return (typeof auth === 'string' ? /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(auth)?.[1] : undefined) ?? 'us-east-1';
}

type KeyResolution = { arn: string } | { kmsError: string; message: string } | undefined;

const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;

function sendJsonError(res: http.ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': String(body.__type) });
  res.end(JSON.stringify(body));
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function decodeToken(token: unknown): number | undefined {
  if (typeof token !== 'string') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
    return typeof parsed.offset === 'number' ? parsed.offset : undefined;
  } catch {
    return undefined;
  }
}

function forward(target: URL, req: Pick<http.IncomingMessage, 'method' | 'url' | 'headers'>, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

export async function startAwsProxy(upstreamUrl: string, options: AwsProxyOptions = {}): Promise<AwsProxy> {
  const target = new URL(upstreamUrl);
  const counts = new Map<string, number>();
  /** The same calls by "Service:Operation@accessKeyId" ("@unsigned" for AssumeRoleWithWebIdentity). */
  const countsBySigner = new Map<string, number>();
  let faults: Fault[] = [];
  let random = seededRandom(1);
  const replication = new ReplicationEmulation();
  const knownKeyArns = options.knownKeyArns ?? [];
  const archive = createLifecycleEmulationState();
  const emulations = createEmulations(options.oidcProviders ? {
    webIdentity: { providers: options.oidcProviders, trustPolicy: (roleArn) => trustPolicyOf(roleArn) },
  } : {});
  const cloudTrail = cloudTrailEvents(target);
  /** Every CreateRepository with the client's app id, for tests that tell processes apart. */
  const creates: Array<{ repositoryName: string; app: string; status: number }> = [];

  /**
   * The ARN of the KMS key that `keyId` names, as ECR would use it; a KMS error when ECR would
   * refuse it; undefined when KMS could not be asked (the request then goes to moto unchanged).
   */
  async function resolveKmsKey(req: http.IncomingMessage, keyId: string): Promise<KeyResolution> {
    const region = regionOf(req);
    for (const arn of knownKeyArns) {
      const m = KEY_ARN.exec(arn);
      if (keyId === arn || (m && m[1] === region && keyId === m[3])) return { arn };
    }
    // The caller's own signature headers, with KMS as the service: moto reads region and account from them.
    const headers: http.IncomingHttpHeaders = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'TrentService.DescribeKey',
    };
    const auth = req.headers.authorization;
    if (typeof auth === 'string') headers.authorization = auth.replace(/\/ecr\/aws4_request/, '/kms/aws4_request');
    for (const h of ['x-amz-date', 'x-amz-security-token']) {
      const value = req.headers[h];
      if (typeof value === 'string') headers[h] = value;
    }
    const body = Buffer.from(JSON.stringify({ KeyId: keyId }));
    const out = await forward(target, { method: 'POST', url: '/', headers }, body);
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(out.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (out.status === 200) {
      const meta = answer.KeyMetadata as { Arn?: string; KeyState?: string } | undefined;
      if (!meta?.Arn) return undefined;
      if (meta.KeyState === 'Disabled') return { kmsError: 'DisabledException', message: `${meta.Arn} is disabled.` };
      if (meta.KeyState && meta.KeyState !== 'Enabled') return { kmsError: 'KMSInvalidStateException', message: `${meta.Arn} is ${meta.KeyState === 'PendingDeletion' ? 'pending deletion' : `in state ${meta.KeyState}`}.` };
      return { arn: meta.Arn };
    }
    const code = typeof answer.__type === 'string' ? answer.__type.split('#').pop() ?? '' : '';
    if (code === 'NotFoundException' || code === 'InvalidArnException') {
      return { kmsError: code, message: typeof answer.message === 'string' ? answer.message : `Key ${keyId} does not exist` };
    }
    return undefined;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.on('finish', () => cloudTrail.served(req, chunks, res.statusCode));
      void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`aws proxy: upstream failed: ${String(err)}`);
      });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    if (req.url?.startsWith('/__aws/')) return control(req, res, raw);
    const text = raw.toString('utf8');
    const { service, operation } = operationOf(req, text);
    const key = `${service}:${operation}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);

    const accessKeyId = accessKeyOf(req);
    const signer = `${key}@${accessKeyId ?? 'unsigned'}`;
    countsBySigner.set(signer, (countsBySigner.get(signer) ?? 0) + 1);
    const fault = faults.length ? pickFault(faults, service, operation, accessKeyId, random()) : undefined;
    if (fault) {
      sendFault(req, res, fault);
      return;
    }

    const plugged = await emulate(req, service, operation, text, accessKeyId);
    if (plugged) {
      sendEmulated(req, res, plugged);
      return;
    }

    if (service === 'ECR' && (operation === 'PutReplicationConfiguration' || operation === 'DescribeRegistry')) {
      return replicationCall(req, res, raw, operation);
    }

    let input: Record<string, unknown> | undefined;
    if (service === 'ECR') {
      try {
        const parsed = JSON.parse(text || '{}') as unknown;
        input = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
      } catch {
        input = undefined;
      }
      if (input) {
        const emulated = emulateRequest(archive, operation, input, new Date());
        if (emulated) {
          const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-amz-json-1.1' };
          if (emulated.errorType) headers['x-amzn-errortype'] = emulated.errorType;
          res.writeHead(emulated.status, headers);
          res.end(JSON.stringify(emulated.body));
          return;
        }
      }
    }

    if (service === 'ECR' && operation === 'CreateRepository') return createRepository(req, res, raw);

    const listing = service === 'ECR' && (operation === 'DescribeImages' || operation === 'ListImages');
    const paging = service === 'ECR' ? PAGED[operation] : undefined;
    // ECR does not page DescribeRepositories when names are given; neither do we.
    if (!paging || !input || (operation === 'DescribeRepositories' && Array.isArray(input.repositoryNames))) {
      const out = await forward(target, req, raw);
      res.writeHead(out.status, out.headers);
      res.end(out.body);
      return;
    }

    const maxResults = input.maxResults === undefined ? DEFAULT_PAGE : Number(input.maxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > paging.max) {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'InvalidParameterException', message: `maxResults must be between 1 and ${paging.max}` }));
      return;
    }
    const offset = decodeToken(input.nextToken);
    if (offset === undefined) {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'InvalidParameterException', message: 'Invalid parameter at \'nextToken\'' }));
      return;
    }
    // moto gets neither paging (it answers with everything) nor the image-status filter (the
    // emulation applies it to moto's whole answer); any other filter member stays.
    const { maxResults: _m, nextToken: _n, ...rest } = input;
    if (listing && typeof rest.filter === 'object' && rest.filter !== null) {
      const { imageStatus: _s, ...otherFilter } = rest.filter as Record<string, unknown>;
      if (Object.keys(otherFilter).length > 0) rest.filter = otherFilter;
      else delete rest.filter;
    }
    const body = Buffer.from(JSON.stringify(rest));
    const out = await forward(target, req, body);
    if (out.status !== 200) {
      res.writeHead(out.status, out.headers);
      res.end(out.body);
      return;
    }
    const answer = JSON.parse(out.body.toString('utf8')) as Record<string, unknown>;
    const all = listing ? adjustListing(archive, operation, input, answer) : answer;
    const items = Array.isArray(all[paging.listKey]) ? (all[paging.listKey] as unknown[]) : [];
    const page: Record<string, unknown> = { ...all, [paging.listKey]: items.slice(offset, offset + maxResults) };
    delete page.nextToken;
    if (offset + maxResults < items.length) page.nextToken = encodeToken(offset + maxResults);
    const payload = Buffer.from(JSON.stringify(page));
    const headers = { ...out.headers, 'content-length': String(payload.length) };
    res.writeHead(200, headers);
    res.end(payload);
  }

  /** The first emulation (emulations.ts) that answers this request, if any. */
  async function emulate(req: http.IncomingMessage, service: string, operation: string, text: string, accessKeyId: string | undefined) {
    if (emulations.length === 0) return undefined;
    let input: Record<string, unknown>;
    if (req.headers['x-amz-target']) {
      try {
        const parsed = JSON.parse(text || '{}') as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
        input = parsed as Record<string, unknown>;
      } catch {
        return undefined;
      }
    } else {
      // The query protocol: form fields, in the body of a POST (as the SDKs send them) or the URL.
      if (service === 'other') return undefined;
      const fields = new URL(req.url ?? '/', 'http://layer').searchParams;
      for (const [name, value] of new URLSearchParams(text)) fields.set(name, value);
      if (!fields.get('Action')) return undefined;
      input = Object.fromEntries(fields);
    }
    let registry: Promise<{ accountId: string; region: string } | undefined> | undefined;
    for (const emulation of emulations) {
      const answer = await emulation.handle({ service, operation, input, accessKeyId, now: new Date(), registry: () => (registry ??= registryOf(req)), moto: (t, n, i) => motoAs(req, t, n, i) });
      if (answer) return answer;
    }
    return undefined;
  }

  /**
   * The trust policy of a role as moto's IAM keeps it (GetRole in the role's own account), for the
   * web-identity checks; undefined when the role does not exist.
   */
  async function trustPolicyOf(roleArn: string): Promise<{ Statement: TrustPolicyStatement[] } | undefined> {
    const m = /^arn:(aws[\w-]*):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/.exec(roleArn);
    if (!m) return undefined;
    const [, partition = 'aws', account = '', roleName = ''] = m;
    const headers: http.IncomingHttpHeaders = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      // moto keeps IAM per account and partition: the account by this header, the partition by the signed region.
      'x-moto-account-id': account,
      authorization: `AWS4-HMAC-SHA256 Credential=${account}/20240101/${PARTITION_REGIONS[partition] ?? 'us-east-1'}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    };
    const body = Buffer.from(new URLSearchParams({ Action: 'GetRole', Version: '2010-05-08', RoleName: roleName }).toString());
    const out = await forward(target, { method: 'POST', url: '/', headers }, body);
    return out.status === 200 ? trustPolicyFromGetRole(out.body.toString('utf8'), roleArn) : undefined;
  }

  /** One JSON-protocol call to moto as the caller of `req` (its credentials and region), for emulations. */
  async function motoAs(req: http.IncomingMessage, amzTarget: string, signingName: string, input: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: http.IncomingHttpHeaders = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': amzTarget };
    const auth = req.headers.authorization;
    if (typeof auth === 'string') headers.authorization = auth.replace(/\/[a-z0-9-]+\/aws4_request/, `/${signingName}/aws4_request`);
    for (const h of ['x-amz-date', 'x-amz-security-token']) {
      const value = req.headers[h];
      if (typeof value === 'string') headers[h] = value;
    }
    const out = await forward(target, { method: 'POST', url: '/', headers }, Buffer.from(JSON.stringify(input)));
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(out.body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // an answer that is not JSON says only its status
    }
    return { status: out.status, body };
  }

  /** The registry of a request: moto's registryId for its credentials, and the signed region. */
  async function registryOf(req: http.IncomingMessage): Promise<{ accountId: string; region: string } | undefined> {
    const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const headers = { ...req.headers, 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRegistry' };
    const out = await forward(target, { method: req.method, url: req.url, headers }, Buffer.from('{}'));
    if (out.status !== 200 || !region) return undefined;
    const registryId = (JSON.parse(out.body.toString('utf8')) as { registryId?: unknown }).registryId;
    return typeof registryId === 'string' ? { accountId: registryId, region } : undefined;
  }

  async function replicationCall(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer, operation: string): Promise<void> {
    const send = (status: number, body: unknown, errorType?: string) => {
      const payload = Buffer.from(JSON.stringify(body));
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(payload.length), ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
      res.end(payload);
    };
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8') || '{}');
    } catch {
      body = undefined;
    }
    if (operation === 'PutReplicationConfiguration' && replication.needs(body)) {
      const registry = await registryOf(req);
      if (!registry) return send(500, { __type: 'ServerException', message: 'aws proxy: cannot tell the registry of the request' }, 'ServerException');
      const answer = replication.put(registry, body);
      return send(answer.status, answer.body, answer.errorType);
    }
    const out = await forward(target, req, raw);
    if (out.status !== 200) {
      res.writeHead(out.status, out.headers);
      res.end(out.body);
      return;
    }
    const registry = await registryOf(req);
    if (operation === 'PutReplicationConfiguration') {
      if (registry) replication.forget(registry);
      res.writeHead(out.status, out.headers);
      res.end(out.body);
      return;
    }
    const described = JSON.parse(out.body.toString('utf8')) as Record<string, unknown>;
    send(200, registry ? replication.describe(registry, described) : described);
  }

  /** CreateRepository with the KMS key resolved to its ARN (or refused), as ECR does. */
  async function createRepository(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    let input: { repositoryName?: string; encryptionConfiguration?: { encryptionType?: string; kmsKey?: string } } | undefined;
    try {
      input = JSON.parse(raw.toString('utf8') || '{}') as typeof input;
    } catch {
      input = undefined;
    }
    // Which client asked: the SDK puts the app id (AWS_SDK_UA_APP_ID) in the user agent as app/<id>.
    const app = /(?:^|\s)app\/([^\s]+)/.exec(String(req.headers['user-agent'] ?? ''))?.[1] ?? '';
    // One call of the client, whatever its retries: the SDK sends the same amz-sdk-invocation-id on
    // every attempt (amz-sdk-request: attempt=N).
    const invocation = String(req.headers['amz-sdk-invocation-id'] ?? '');
    // status: the HTTP status answered (0 until then, and when the client went away first).
    const create = { repositoryName: String(input?.repositoryName ?? ''), app, invocation, status: 0 };
    creates.push(create);
    const encryption = input?.encryptionConfiguration;
    let body = raw;
    if (encryption?.kmsKey && (encryption.encryptionType === 'KMS' || encryption.encryptionType === 'KMS_DSSE')) {
      const resolved = await resolveKmsKey(req, encryption.kmsKey);
      if (resolved && 'kmsError' in resolved) {
        create.status = 400;
        sendJsonError(res, 400, { __type: 'KmsException', message: resolved.message, kmsError: resolved.kmsError });
        return;
      }
      if (resolved) body = Buffer.from(JSON.stringify({ ...input, encryptionConfiguration: { ...encryption, kmsKey: resolved.arn } }));
    }
    const out = await forward(target, req, body);
    create.status = out.status;
    res.writeHead(out.status, { ...out.headers, 'content-length': String(out.body.length) });
    res.end(out.body);
  }

  function control(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    const reply = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && req.url === '/__aws/calls') return reply(200, Object.fromEntries(counts));
    if (req.method === 'GET' && req.url === '/__aws/calls/by-signer') return reply(200, Object.fromEntries(countsBySigner));
    if (req.method === 'GET' && req.url === '/__aws/creates') return reply(200, creates);
    if (req.method === 'POST' && req.url === '/__aws/calls/reset') {
      counts.clear();
      countsBySigner.clear();
      creates.length = 0;
      return reply(200, {});
    }
    if (req.method === 'GET' && req.url === '/__aws/faults') return reply(200, faults);
    if (req.method === 'POST' && req.url === '/__aws/faults') {
      faults = JSON.parse(raw.toString('utf8') || '[]') as Fault[];
      random = seededRandom(1);
      return reply(200, faults);
    }
    if (req.method === 'POST' && req.url === '/__aws/faults/add') {
      faults.push(...(JSON.parse(raw.toString('utf8') || '[]') as Fault[]));
      return reply(200, faults);
    }
    reply(404, { error: 'unknown control path' });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('aws proxy: no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    calls: () => Object.fromEntries(counts),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
