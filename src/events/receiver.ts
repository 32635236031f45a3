/**
 * One long-polling reader of one SQS queue. Each message is handed to `handle`; it is deleted only
 * when `handle` says it was dealt with (its objects are queued, or it was dropped as malformed or
 * unknown), so a message is never lost to a crash between reading and queueing, and never retried
 * forever either (what cannot be read is dropped by `handle`, counted).
 * A receive that fails (queue deleted, access denied, endpoint down) is reported through `onHealth`
 * and tried again with backoff, up to `maxBackoffMs`: a queue that comes back is read again.
 */
import { realClock, type Clock } from '../runtime/clock.js';

export interface QueueMessage {
  receiptHandle: string;
  body: string | undefined;
}

/** The SQS calls a receiver makes (sqs.ts adapts @aws-sdk/client-sqs; tests use a fake). */
export interface QueueClient {
  receive(queueURL: string, waitSeconds: number, signal: AbortSignal): Promise<QueueMessage[]>;
  delete(queueURL: string, receiptHandles: string[]): Promise<void>;
}

export type Health = { ok: true } | { ok: false; error: unknown };

export interface ReceiverOptions {
  queueURL: string;
  client: QueueClient;
  /** True: dealt with (delete it). False: keep it; it comes back after the queue's visibility timeout. */
  handle: (message: QueueMessage) => Promise<boolean>;
  /** Called when the queue becomes readable or stops being readable (and at the first receive). */
  onHealth: (health: Health) => void;
  /** Whether messages may be taken now (this replica leads); otherwise the receiver waits. */
  active?: () => boolean;
  waitSeconds?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  clock?: Clock;
  logger?: { warn(obj: object, msg: string): void };
}

const DEFAULT_WAIT_SECONDS = 20;
const DEFAULT_MIN_BACKOFF_MS = 1_000;
const DEFAULT_MAX_BACKOFF_MS = 15_000;
const INACTIVE_WAIT_MS = 1_000;

export class QueueReceiver {
  private readonly opts: ReceiverOptions;
  private readonly clock: Clock;
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private healthy: boolean | undefined;
  private wake: (() => void) | undefined;
  private timer: unknown;

  constructor(opts: ReceiverOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
  }

  get queueURL(): string {
    return this.opts.queueURL;
  }

  /** The last health seen: undefined before the first receive ended. */
  get health(): boolean | undefined {
    return this.healthy;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = this.loop();
  }

  /** Ends the long poll at once and waits for the message being handled. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.clock.clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.clock.setTimeout(resolve, ms);
    });
  }

  private report(health: Health): void {
    if (this.healthy === health.ok && health.ok) return;
    this.healthy = health.ok;
    this.opts.onHealth(health);
  }

  private async loop(): Promise<void> {
    const min = this.opts.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    const max = this.opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    let backoff = min;
    while (!this.stopped) {
      if (this.opts.active && !this.opts.active()) {
        await this.sleep(INACTIVE_WAIT_MS);
        continue;
      }
      let messages: QueueMessage[];
      try {
        // Until the queue is known to be readable, a short poll: its health is reported at once
        // rather than after a long poll's wait.
        const wait = this.healthy === true ? this.opts.waitSeconds ?? DEFAULT_WAIT_SECONDS : 0;
        messages = await this.opts.client.receive(this.opts.queueURL, wait, this.abort.signal);
      } catch (error) {
        if (this.stopped) return;
        this.report({ ok: false, error });
        await this.sleep(backoff);
        backoff = Math.min(max, backoff * 2);
        continue;
      }
      backoff = min;
      this.report({ ok: true });
      const done: string[] = [];
      for (const message of messages) {
        let handled = false;
        try {
          handled = await this.opts.handle(message);
        } catch (err) {
          this.opts.logger?.warn({ queueURL: this.opts.queueURL, err }, 'event not handled; it comes back after the visibility timeout');
        }
        if (handled) done.push(message.receiptHandle);
      }
      if (done.length > 0) {
        try {
          await this.opts.client.delete(this.opts.queueURL, done);
        } catch (err) {
          // Their objects are queued already: a message read again only queues them again.
          this.opts.logger?.warn({ queueURL: this.opts.queueURL, err }, 'handled events not deleted from the queue');
        }
      }
      if (messages.length > 0 && done.length < messages.length) {
        // Something could not be queued (the controllers do not run): do not spin on it.
        await this.sleep(min);
      }
    }
  }
}
