/**
 * AWS's own events instead of polling: one long-polling receiver per queue URL that AWSProviders
 * name (spec.events.queueURL), whatever the number of providers naming it, reading with the
 * credentials of one of them (the first by namespace/name whose credentials are verified and whose
 * account and region are the queue's). Each event is mapped (mapping.ts) to the objects it concerns
 * and their keys are queued in their controllers; the message is deleted only after that.
 *
 * Data flows one way: this module only queues keys (and, for a change made by someone else, drops
 * what the provider's ECR gateway remembers of the repository, so that its reconcile reads afresh).
 * It writes nothing but its own part of each naming provider's status: condition EventsReady and
 * status.events (mode, queue, the sync period that applies), conflict-safe through the writer.
 */
import { findCondition, removeCondition, setCondition } from '../api/conditions.js';
import type { Condition } from '../api/types.js';
import { isAwsError } from '../aws/errors.js';
import { providerReadiness } from '../kinds/awsprovider/client.js';
import { AWS_PROVIDER_REF, type AWSProvider, type AWSProviderEventsStatus } from '../kinds/awsprovider/types.js';
import { queueEvents } from '../observability/metrics.js';
import type { Connection } from '../providers/connections.js';
import { realClock, type Clock } from '../runtime/clock.js';
import type { ResourceRef } from '../runtime/kube.js';
import type { KubeObject, ObjectKey } from '../runtime/types.js';
import { mapMessage, type EventMeaning, type EventPriority, type OwnIdentities, type Registry } from './mapping.js';
import { queueMismatch } from './queue-url.js';
import { QueueReceiver, type Health, type QueueClient, type QueueMessage } from './receiver.js';

export const EVENTS_READY = 'EventsReady';

/** Objects of one kind that events may concern, and their controller's queue. */
export interface EventTargets<T extends KubeObject> {
  list(): readonly T[];
  /** False when the controller does not run (not leading): the event is kept for later. */
  enqueue(key: ObjectKey, priority: EventPriority): boolean;
}

export interface RepositoryLike extends KubeObject {
  metadata: { name: string; namespace?: string };
  spec: { repositoryName: string; providerRef: { name: string } };
}

export interface RegistryObjectLike extends KubeObject {
  metadata: { name: string; namespace?: string };
  spec: { providerRef?: { name: string; namespace?: string } };
}

export interface ProviderEventsDeps {
  providers: {
    list(): readonly AWSProvider[];
    get(namespace: string, name: string): AWSProvider | undefined;
    onEvent(fn: () => void): () => void;
  };
  connections: { get(provider: AWSProvider): Promise<Connection> };
  writer: { patchStatus<T extends KubeObject>(ref: ResourceRef, obj: T, status: (current: T) => object): Promise<unknown> };
  repositories: EventTargets<RepositoryLike>;
  /** The account-wide kinds: each object names its provider by namespace and name. */
  registryObjects: Array<EventTargets<RegistryObjectLike>>;
  /** An SQS client for a provider's connection (sqs.ts); closed when its receiver stops. */
  queueClient(provider: AWSProvider, connection: Connection): QueueClient & { close(): void };
  /** Whether this replica leads: receivers take messages and statuses are written only then. */
  active(): boolean;
  syncPeriodMs: number;
  syncPeriodWithEventsMs: number;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  clock?: Clock;
  /** Receiver tuning (tests). */
  receiver?: { waitSeconds?: number; minBackoffMs?: number; maxBackoffMs?: number };
  /** How often the state is looked at again besides provider events (leadership changes). Default 10 s. */
  recheckMs?: number;
}

interface ReceiverEntry {
  reader: string;
  /** The registry of the queue: the reading provider's verified account, and its region. */
  registry: Registry;
  fingerprint: string;
  receiver: QueueReceiver;
  client: { close(): void };
  health: Health | undefined;
}

/** What a provider's status should say about its queue; undefined: nothing (no queue). */
interface EventsState {
  ok: boolean;
  reason: string;
  message: string;
  queueURL: string;
}

function keyOfProvider(p: AWSProvider): string {
  return `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
}

/** Go's duration form, as the flags are written: 6h0m0s, 10m0s, 45s. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Reason and message for a queue that cannot be read. */
export function queueFailure(queueURL: string, error: unknown): { reason: string; message: string } {
  if (isAwsError(error)) {
    const code = error.code;
    if (error.kind === 'NotFound' || /NonExistentQueue|QueueDoesNotExist/.test(code)) {
      return { reason: 'QueueNotFound', message: `SQS queue ${queueURL} does not exist: ${error.awsMessage}` };
    }
    if (error.kind === 'AccessDenied') {
      return { reason: 'QueueAccessDenied', message: `sqs:ReceiveMessage on ${queueURL} was denied: ${error.awsMessage}; see docs/events.md for the permissions` };
    }
    return { reason: 'QueueUnreadable', message: `sqs:ReceiveMessage on ${queueURL} failed: ${error.code}: ${error.awsMessage}` };
  }
  return { reason: 'QueueUnreadable', message: `sqs:ReceiveMessage on ${queueURL} failed: ${error instanceof Error ? error.message : String(error)}` };
}

export class ProviderEvents {
  private readonly deps: ProviderEventsDeps;
  private readonly clock: Clock;
  private readonly receivers = new Map<string, ReceiverEntry>();
  private unsubscribe: (() => void) | undefined;
  private timer: unknown;
  private running = false;
  private chain: Promise<void> = Promise.resolve();
  private pending = false;
  /** Providers (namespace/name) whose queue was read at the last look. */
  private eventMode = new Set<string>();

  constructor(deps: ProviderEventsDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? realClock;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.deps.providers.onEvent(() => this.schedule());
    this.tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.clock.clearTimeout(this.timer);
    await this.chain;
    await Promise.all([...this.receivers.keys()].map((url) => this.stopReceiver(url)));
  }

  /** Whether a provider's objects are in event mode: its queue is read. */
  inEventMode(namespace: string, name: string): boolean {
    return this.eventMode.has(`${namespace}/${name}`);
  }

  /** Queue URLs read now, with the provider whose credentials read each. */
  readers(): Map<string, string> {
    return new Map([...this.receivers].map(([url, e]) => [url, e.reader]));
  }

  /** Looks at the providers again (coalesced); resolves when that pass is done. */
  schedule(): Promise<void> {
    if (this.pending) return this.chain;
    this.pending = true;
    this.chain = this.chain.then(async () => {
      this.pending = false;
      if (!this.running) return;
      try {
        await this.sync();
      } catch (err) {
        this.deps.logger.warn({ err }, 'event queues not brought up to date');
      }
    });
    return this.chain;
  }

  private tick(): void {
    void this.schedule();
    this.timer = this.clock.setTimeout(() => {
      if (this.running) this.tick();
    }, this.deps.recheckMs ?? 10_000);
  }

  private async sync(): Promise<void> {
    const providers = this.deps.providers.list().filter((p) => !p.metadata.deletionTimestamp);
    const naming = new Map<string, AWSProvider[]>();
    const states = new Map<string, EventsState | undefined>();
    for (const p of providers) {
      const url = p.spec.events?.queueURL;
      if (!url) {
        states.set(keyOfProvider(p), undefined);
        continue;
      }
      const readiness = providerReadiness(p);
      if (!readiness.ready || !p.status?.accountID) {
        states.set(keyOfProvider(p), { ok: false, reason: 'ProviderNotReady', message: `the provider's credentials are not verified: ${readiness.message}`, queueURL: url });
        continue;
      }
      const mismatch = queueMismatch(url, { accountId: p.status.accountID, region: p.spec.region });
      if (mismatch) {
        states.set(keyOfProvider(p), { ok: false, ...mismatch, queueURL: url });
        continue;
      }
      const list = naming.get(url) ?? [];
      list.push(p);
      naming.set(url, list);
    }
    // Receivers no provider needs any longer.
    for (const url of [...this.receivers.keys()]) {
      if (!naming.has(url) || !this.deps.active()) await this.stopReceiver(url);
    }
    for (const [url, list] of naming) {
      list.sort((a, b) => keyOfProvider(a).localeCompare(keyOfProvider(b)));
      const state = this.deps.active() ? await this.ensureReceiver(url, list) : undefined;
      for (const p of list) states.set(keyOfProvider(p), state ?? { ok: false, reason: 'Waiting', message: 'waiting to read the queue', queueURL: url });
    }
    this.eventMode = new Set([...states].filter(([, state]) => state?.ok).map(([key]) => key));
    if (!this.deps.active()) return;
    for (const p of providers) await this.writeStatus(p, states.get(keyOfProvider(p)));
  }

  /** Makes sure the queue is read with the first usable provider's credentials; its state. */
  private async ensureReceiver(url: string, candidates: AWSProvider[]): Promise<EventsState> {
    let lastFailure: EventsState | undefined;
    for (const provider of candidates) {
      let connection: Connection;
      try {
        connection = await this.deps.connections.get(provider);
      } catch (err) {
        lastFailure = { ok: false, reason: 'ProviderNotReady', message: `the provider's credentials cannot be used: ${err instanceof Error ? err.message : String(err)}`, queueURL: url };
        continue;
      }
      const reader = keyOfProvider(provider);
      const existing = this.receivers.get(url);
      if (existing && existing.reader === reader && existing.fingerprint === connection.fingerprint) {
        return this.stateOf(url, existing.health);
      }
      if (existing) await this.stopReceiver(url);
      this.startReceiver(url, reader, provider, connection);
      return this.stateOf(url, undefined);
    }
    if (this.receivers.has(url)) await this.stopReceiver(url);
    return lastFailure ?? { ok: false, reason: 'ProviderNotReady', message: 'no provider naming the queue can read it', queueURL: url };
  }

  private stateOf(url: string, health: Health | undefined): EventsState {
    if (!health) return { ok: false, reason: 'Connecting', message: `connecting to SQS queue ${url}`, queueURL: url };
    if (health.ok) return { ok: true, reason: 'QueueReadable', message: `reading ECR's events from SQS queue ${url}`, queueURL: url };
    return { ok: false, ...queueFailure(url, health.error), queueURL: url };
  }

  private startReceiver(url: string, reader: string, provider: AWSProvider, connection: Connection): void {
    const client = this.deps.queueClient(provider, connection);
    const entry: ReceiverEntry = {
      reader,
      registry: { accountId: provider.status?.accountID ?? '', region: provider.spec.region },
      fingerprint: connection.fingerprint,
      client,
      health: undefined,
      receiver: new QueueReceiver({
        queueURL: url,
        client,
        handle: (message) => this.handle(url, message),
        onHealth: (health) => {
          entry.health = health;
          const fields = { queueURL: url, reader };
          if (health.ok) this.deps.logger.info(fields, 'reading events from the queue');
          else this.deps.logger.warn({ ...fields, ...queueFailure(url, health.error) }, 'event queue cannot be read; the periodic sweep runs at --sync-period');
          void this.schedule();
        },
        active: () => this.deps.active(),
        ...(this.deps.receiver?.waitSeconds !== undefined ? { waitSeconds: this.deps.receiver.waitSeconds } : {}),
        ...(this.deps.receiver?.minBackoffMs !== undefined ? { minBackoffMs: this.deps.receiver.minBackoffMs } : {}),
        ...(this.deps.receiver?.maxBackoffMs !== undefined ? { maxBackoffMs: this.deps.receiver.maxBackoffMs } : {}),
        clock: this.clock,
        logger: this.deps.logger,
      }),
    };
    this.receivers.set(url, entry);
    entry.receiver.start();
  }

  private async stopReceiver(url: string): Promise<void> {
    const entry = this.receivers.get(url);
    if (!entry) return;
    this.receivers.delete(url);
    await entry.receiver.stop();
    entry.client.close();
  }

  private async writeStatus(provider: AWSProvider, state: EventsState | undefined): Promise<void> {
    const had = findCondition(provider.status?.conditions, EVENTS_READY) !== undefined || provider.status?.events !== undefined;
    if (!state && !had) return;
    const now = new Date(this.clock.now());
    const events: AWSProviderEventsStatus | undefined = state
      ? {
          mode: state.ok ? 'Events' : 'Polling',
          queueURL: state.queueURL,
          syncPeriod: formatDuration(state.ok ? this.deps.syncPeriodWithEventsMs : this.deps.syncPeriodMs),
        }
      : undefined;
    const generation = provider.metadata.generation;
    try {
      await this.deps.writer.patchStatus(AWS_PROVIDER_REF, provider, (current: AWSProvider) => {
        const status = { ...(current.status ?? {}) };
        let conditions: Condition[] = status.conditions ?? [];
        if (state) {
          conditions = setCondition(conditions, {
            type: EVENTS_READY,
            status: state.ok ? 'True' : 'False',
            reason: state.reason,
            message: state.message,
            ...(generation !== undefined ? { observedGeneration: generation } : {}),
          }, now);
        } else {
          conditions = removeCondition(conditions, EVENTS_READY);
        }
        const next: Record<string, unknown> = { ...status, conditions };
        if (events) next.events = events;
        else delete next.events;
        return next;
      });
    } catch (err) {
      this.deps.logger.warn({ namespace: provider.metadata.namespace, name: provider.metadata.name, err }, 'EventsReady not written');
    }
  }

  /** The verified identities of the providers in a registry: calls made by them are the operator's. */
  private ownIdentities(registry: Registry): OwnIdentities {
    const arns = new Set<string>();
    for (const p of this.deps.providers.list()) {
      if (p.status?.accountID === registry.accountId && p.status.callerIdentity) arns.add(p.status.callerIdentity);
    }
    return arns;
  }

  private registryOf(provider: AWSProvider | undefined): Registry | undefined {
    if (!provider?.status?.accountID) return undefined;
    return { accountId: provider.status.accountID, region: provider.spec.region };
  }

  /** True when the message was dealt with (its objects queued, or it was dropped): delete it. */
  async handle(queueURL: string, message: QueueMessage): Promise<boolean> {
    const meaning = mapMessage(message.body, (registry) => this.ownIdentities(registry), this.receivers.get(queueURL)?.registry);
    if (meaning.outcome === 'malformed' || meaning.outcome === 'unknown') {
      queueEvents.inc({ outcome: meaning.outcome });
      this.deps.logger.warn({ queueURL, outcome: meaning.outcome, what: meaning.what }, 'event dropped');
      return true;
    }
    if (meaning.outcome === 'own_call' || meaning.outcome === 'ignored') {
      queueEvents.inc({ outcome: meaning.outcome });
      return true;
    }
    const queued = meaning.outcome === 'repositories' ? await this.queueRepositories(meaning) : this.queueRegistry(meaning);
    if (queued === undefined) return false;
    queueEvents.inc({ outcome: queued > 0 ? 'enqueued' : 'unmatched' });
    if (queued > 0) this.deps.logger.info({ queueURL, event: meaning.what, objects: queued, priority: meaning.priority }, 'event queued its objects');
    return true;
  }

  private sameRegistry(a: Registry | undefined, b: Registry): boolean {
    return a !== undefined && a.accountId === b.accountId && a.region === b.region;
  }

  /** The number of keys queued, or undefined when a controller does not run. */
  private async queueRepositories(meaning: Extract<EventMeaning, { outcome: 'repositories' }>): Promise<number | undefined> {
    const names = new Set(meaning.repositoryNames);
    const keys: Array<{ key: ObjectKey; provider: AWSProvider; name: string }> = [];
    for (const r of this.deps.repositories.list()) {
      if (!names.has(r.spec.repositoryName)) continue;
      const namespace = r.metadata.namespace ?? '';
      const provider = this.deps.providers.get(namespace, r.spec.providerRef.name);
      if (!this.sameRegistry(this.registryOf(provider), meaning.registry)) continue;
      keys.push({ key: { namespace, name: r.metadata.name }, provider: provider!, name: r.spec.repositoryName });
    }
    for (const k of keys) {
      try {
        const { ecr } = await this.deps.connections.get(k.provider);
        // Someone else changed the repository: what the gateway remembers of it is stale. Otherwise
        // what it holds changed (images): the next reconcile reads its images again.
        if (meaning.fresh) ecr.invalidate(k.name);
        else ecr.imagesChanged(k.name);
      } catch {
        // The reconcile finds the provider unusable on its own.
      }
      if (!this.deps.repositories.enqueue(k.key, meaning.priority)) return undefined;
    }
    return keys.length;
  }

  private queueRegistry(meaning: Extract<EventMeaning, { outcome: 'registry' }>): number | undefined {
    let queued = 0;
    for (const targets of this.deps.registryObjects) {
      for (const obj of targets.list()) {
        const ref = obj.spec.providerRef;
        if (!ref?.name) continue;
        const provider = this.deps.providers.get(ref.namespace ?? obj.metadata.namespace ?? '', ref.name);
        if (!this.sameRegistry(this.registryOf(provider), meaning.registry)) continue;
        if (!targets.enqueue({ namespace: obj.metadata.namespace ?? '', name: obj.metadata.name }, meaning.priority)) return undefined;
        queued++;
      }
    }
    return queued;
  }
}
