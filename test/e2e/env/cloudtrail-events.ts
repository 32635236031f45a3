import { createHash } from 'node:crypto';
import http from 'node:http';

/**
 * The events AWS would send to EventBridge for the ECR calls the local AWS layer serves, published
 * through moto's own EventBridge (PutEvents on the default bus), so that a real rule with a real
 * SQS target delivers them, as on AWS:
 * - an "AWS API Call via CloudTrail" event for every ECR call that changes something (CloudTrail
 *   delivers no read-only calls to EventBridge), shaped as CloudTrail records it: userIdentity
 *   (the caller's ARN, from moto's STS for the access key that signed the call), eventSource,
 *   eventName, awsRegion, requestParameters;
 * - ECR's own "ECR Image Action" events for image pushes (PutImage) and deletions (BatchDeleteImage).
 * Only calls that succeeded produce events. Publishing happens after the answer went out and never
 * delays or changes it; a failure to publish is ignored (events are best effort on AWS too).
 */

const ECR_TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
/** CloudTrail marks these read-only; EventBridge receives no read-only management events. */
const READ_ONLY = /^(Describe|Get|List|BatchGet|BatchCheck)|^(InitiateLayerUpload|UploadLayerPart|CompleteLayerUpload|ValidatePullThroughCacheRule|StartLifecyclePolicyPreview|StartImageScan)$/;

export interface CloudTrailEvents {
  /** Called when the layer finished answering a request. */
  served(req: http.IncomingMessage, chunks: Buffer[], status: number): void;
  /** Waits for events still being published (tests). */
  settled(): Promise<void>;
}

function post(target: URL, headers: http.OutgoingHttpHeaders, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The request's signature headers, re-scoped to another service (moto does not check signatures). */
function signedAs(req: http.IncomingMessage, service: string): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  const auth = req.headers.authorization;
  if (typeof auth === 'string') headers.authorization = auth.replace(/\/[a-z0-9-]+\/aws4_request/, `/${service}/aws4_request`);
  for (const h of ['x-amz-date', 'x-amz-security-token']) {
    const value = req.headers[h];
    if (typeof value === 'string') headers[h] = value;
  }
  return headers;
}

export function cloudTrailEvents(moto: URL): CloudTrailEvents {
  const identities = new Map<string, Promise<{ arn: string; account: string } | undefined>>();
  const inFlight = new Set<Promise<void>>();

  async function identityOf(req: http.IncomingMessage): Promise<{ arn: string; account: string } | undefined> {
    const key = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unsigned';
    let found = identities.get(key);
    if (!found) {
      found = post(moto, { ...signedAs(req, 'sts'), 'content-type': 'application/x-www-form-urlencoded' }, 'Action=GetCallerIdentity&Version=2011-06-15')
        .then((out) => {
          const arn = /<Arn>([^<]+)<\/Arn>/.exec(out.body)?.[1];
          const account = /<Account>([^<]+)<\/Account>/.exec(out.body)?.[1];
          return out.status === 200 && arn && account ? { arn, account } : undefined;
        })
        .catch(() => undefined);
      identities.set(key, found);
    }
    return found;
  }

  async function publish(req: http.IncomingMessage, operation: string, input: Record<string, unknown>): Promise<void> {
    const identity = await identityOf(req);
    if (!identity) return;
    const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'us-east-1';
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const repositoryName = typeof input.repositoryName === 'string' ? input.repositoryName : undefined;
    const entries: Array<Record<string, unknown>> = [];
    entries.push({
      Source: 'aws.ecr',
      DetailType: 'AWS API Call via CloudTrail',
      Resources: [],
      Detail: JSON.stringify({
        eventVersion: '1.08',
        userIdentity: {
          type: identity.arn.includes(':assumed-role/') ? 'AssumedRole' : 'IAMUser',
          arn: identity.arn,
          accountId: identity.account,
          ...(accessKeyId ? { accessKeyId } : {}),
        },
        eventTime: now,
        eventSource: 'ecr.amazonaws.com',
        eventName: operation,
        awsRegion: region,
        sourceIPAddress: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: String(req.headers['user-agent'] ?? ''),
        requestParameters: input,
        responseElements: null,
        readOnly: false,
        eventType: 'AwsApiCall',
        managementEvent: true,
        recipientAccountId: identity.account,
        eventCategory: 'Management',
      }),
    });
    if (operation === 'PutImage' && repositoryName && typeof input.imageManifest === 'string') {
      const digest = typeof input.imageDigest === 'string' ? input.imageDigest : `sha256:${createHash('sha256').update(input.imageManifest).digest('hex')}`;
      entries.push(imageAction(repositoryName, 'PUSH', digest, typeof input.imageTag === 'string' ? input.imageTag : undefined));
    }
    if (operation === 'BatchDeleteImage' && repositoryName && Array.isArray(input.imageIds)) {
      for (const id of input.imageIds as Array<Record<string, unknown>>) {
        entries.push(imageAction(repositoryName, 'DELETE', typeof id.imageDigest === 'string' ? id.imageDigest : undefined, typeof id.imageTag === 'string' ? id.imageTag : undefined));
      }
    }
    // PutEvents takes at most 10 entries per call.
    for (let i = 0; i < entries.length; i += 10) {
      await post(moto, { ...signedAs(req, 'events'), 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
        JSON.stringify({ Entries: entries.slice(i, i + 10) }));
    }
  }

  return {
    served(req, chunks, status) {
      const target = req.headers['x-amz-target'];
      if (status !== 200 || typeof target !== 'string' || !target.startsWith(ECR_TARGET_PREFIX)) return;
      const operation = target.slice(ECR_TARGET_PREFIX.length);
      if (READ_ONLY.test(operation)) return;
      let input: Record<string, unknown>;
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
        input = parsed as Record<string, unknown>;
      } catch {
        return;
      }
      const p = publish(req, operation, input).catch(() => undefined);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    },
    async settled() {
      await Promise.all([...inFlight]);
    },
  };
}

function imageAction(repositoryName: string, action: 'PUSH' | 'DELETE', digest: string | undefined, tag: string | undefined): Record<string, unknown> {
  return {
    Source: 'aws.ecr',
    DetailType: 'ECR Image Action',
    Resources: [],
    Detail: JSON.stringify({
      result: 'SUCCESS',
      'repository-name': repositoryName,
      ...(digest ? { 'image-digest': digest } : {}),
      'action-type': action,
      ...(tag ? { 'image-tag': tag } : {}),
    }),
  };
}
