/**
 * The SQS client of one provider's queue: built only when a provider names a queue, with that
 * provider's credentials and region. Requests go to the SQS endpoint the operator or the provider
 * configured (or AWS's own), never to the host written in the queue URL: a tenant's URL cannot send
 * signed requests elsewhere.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AwsSession } from '../aws/clients.js';
import { classifyAwsError } from '../aws/errors.js';
import type { QueueClient, QueueMessage } from './receiver.js';

export interface SqsClientOptions {
  region: string;
  credentials: AwsSession['credentials'];
  /** A custom SQS endpoint (the provider's spec.endpoint, or the operator's AWS_ENDPOINT_URL[_SQS]). */
  endpoint?: string | undefined;
  onCall?: (service: string, operation: string, outcome: string, seconds: number) => void;
}

/** Long polls take up to 20 s; the request may take a little longer before it counts as hung. */
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_MESSAGES = 10;

export class SqsQueueClient implements QueueClient {
  private readonly client: SQSClient;

  constructor(private readonly opts: SqsClientOptions) {
    this.client = new SQSClient({
      region: opts.region,
      credentials: opts.credentials,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      useQueueUrlAsEndpoint: false,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 3_000, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
    });
  }

  async receive(queueURL: string, waitSeconds: number, signal: AbortSignal): Promise<QueueMessage[]> {
    const out = await this.call('ReceiveMessage', () => this.client.send(new ReceiveMessageCommand({
      QueueUrl: queueURL,
      MaxNumberOfMessages: MAX_MESSAGES,
      WaitTimeSeconds: waitSeconds,
    }), { abortSignal: signal }));
    return (out.Messages ?? [])
      .filter((m) => typeof m.ReceiptHandle === 'string')
      .map((m) => ({ receiptHandle: m.ReceiptHandle!, body: m.Body }));
  }

  async delete(queueURL: string, receiptHandles: string[]): Promise<void> {
    for (let i = 0; i < receiptHandles.length; i += MAX_MESSAGES) {
      const batch = receiptHandles.slice(i, i + MAX_MESSAGES);
      await this.call('DeleteMessageBatch', () => this.client.send(new DeleteMessageBatchCommand({
        QueueUrl: queueURL,
        Entries: batch.map((handle, n) => ({ Id: String(n), ReceiptHandle: handle })),
      })));
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const out = await fn();
      this.opts.onCall?.('SQS', operation, 'success', (performance.now() - started) / 1000);
      return out;
    } catch (err) {
      const classified = classifyAwsError(err, operation, 'SQS');
      this.opts.onCall?.('SQS', operation, 'error', (performance.now() - started) / 1000);
      throw classified;
    }
  }
}

/**
 * The SQS endpoint for a provider: its own spec.endpoint (allowed only with --allow-custom-endpoints,
 * checked before any connection exists), else the operator's AWS_ENDPOINT_URL_SQS or
 * AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else AWS's own.
 */
export function sqsEndpointFor(provider: { spec: { endpoint?: string | undefined } }, env: NodeJS.ProcessEnv): string | undefined {
  const own = provider.spec.endpoint?.trim();
  if (own) return own;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.trim().toLowerCase() === 'true') return undefined;
  return env.AWS_ENDPOINT_URL_SQS?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
}
