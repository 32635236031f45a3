import { pino } from 'pino';
import type { AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import type { ECRRepository } from '../../../src/kinds/ecrrepository/types.js';
import type { LiveRepository, RepositoryChanges, RepositoryDetails, RepositorySettings } from '../../../src/aws/ecr.js';
import { classifyAwsError, type AwsError, type AwsErrorKind } from '../../../src/aws/errors.js';
import { summarizeImages } from '../../../src/aws/images.js';
import type { LifecycleImage } from '../../../src/lifecycle/evaluator.js';
import type { Connection } from '../../../src/providers/connections.js';
import type { ObjectWriterLike } from '../../../src/reconcilers/dependencies.js';
import { KubeApiError, resourcePath, type ResourceRef } from '../../../src/runtime/kube.js';
import { ObjectWriter, type StatusUpdate } from '../../../src/runtime/status.js';
import type { KubeObject } from '../../../src/runtime/types.js';

export const silentLogger = pino({ level: 'silent' });

/** An AWS failure as the gateway reports it: classified from its code, like the real thing. */
export function awsError(kind: AwsErrorKind, code: string, operation = 'CreateRepository'): AwsError {
  const err = classifyAwsError({ name: code, message: `${code} from AWS` }, operation);
  if (err.kind !== kind) throw new Error(`test setup: ${code} is classified ${err.kind}, not ${kind}`);
  return err;
}

/** An in-memory ECR with the gateway's verbs, recording each call. */
export class FakeEcr {
  repos = new Map<string, { live: LiveRepository; details: RepositoryDetails }>();
  calls: string[] = [];
  failNext = new Map<string, AwsError>();

  private maybeFail(op: string): void {
    this.calls.push(op);
    const err = this.failNext.get(op);
    if (err) {
      this.failNext.delete(op);
      throw err;
    }
  }

  seed(name: string, tags: Record<string, string>, settings: Partial<RepositorySettings> = {}): void {
    this.repos.set(name, {
      live: {
        name,
        arn: `arn:aws:ecr:us-east-1:123456789012:repository/${name}`,
        uri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}`,
        registryId: '123456789012',
        createdAt: new Date('2026-01-01T00:00:00Z'),
        imageTagMutability: 'MUTABLE',
        scanOnPush: false,
        encryption: { encryptionType: 'AES256' },
        ...settings,
      },
      details: { tags, imageCount: 0 },
    });
  }

  /** Gives a repository these images, as DescribeImages would list them (inventory included). */
  images(name: string, images: LifecycleImage[]): void {
    const details = this.repos.get(name)!.details;
    details.images = images;
    details.inventory = summarizeImages(images);
    details.imageCount = details.inventory.imageCount;
  }

  /** describe(name) calls served fresh ({ fresh: true }), for the freshness checks. */
  freshDescribes = 0;
  /**
   * What a shared registry listing saw, per name, when a test sets it: a describe that is not
   * fresh answers from it, as the real gateway answers from a listing up to 90 s old.
   */
  listing: Map<string, LiveRepository> | undefined;

  async describe(name: string, opts: { fresh?: boolean } = {}): Promise<LiveRepository | undefined> {
    this.maybeFail('describe');
    if (opts.fresh) this.freshDescribes++;
    else if (this.listing?.has(name)) return structuredClone(this.listing.get(name));
    const live = this.repos.get(name)?.live;
    return live ? structuredClone(live) : undefined;
  }

  /** Takes a listing of the registry as it is now, that non-fresh describes answer from. */
  snapshot(): void {
    this.listing = new Map([...this.repos].map(([name, entry]) => [name, structuredClone(entry.live)]));
  }

  async details(live: LiveRepository): Promise<RepositoryDetails> {
    this.maybeFail('details');
    const entry = this.repos.get(live.name);
    if (!entry) throw awsError('NotFound', 'RepositoryNotFoundException', 'ListTagsForResource');
    return structuredClone(entry.details);
  }

  /** Full reads are not remembered here: every reconcile reads in full (the real gateway's ledger is tested on its own). */
  recordFullRead(): void {}

  readInFullWithin(): boolean {
    return false;
  }

  async tags(live: LiveRepository): Promise<Record<string, string>> {
    this.maybeFail('tags');
    const entry = this.repos.get(live.name);
    if (!entry) throw awsError('NotFound', 'RepositoryNotFoundException', 'ListTagsForResource');
    return { ...entry.details.tags };
  }

  async create(name: string, settings: RepositorySettings, tags: Record<string, string>): Promise<LiveRepository> {
    this.maybeFail('create');
    if (this.repos.has(name)) throw awsError('Conflict', 'RepositoryAlreadyExistsException');
    this.seed(name, { ...tags }, settings);
    const live = this.repos.get(name)!.live;
    // ECR reports the key ARN, whatever name of the key CreateRepository was given.
    if (live.encryption.kmsKey) live.encryption = { ...live.encryption, kmsKey: kmsKeyArn(live.encryption.kmsKey) };
    return structuredClone(live);
  }

  async update(live: LiveRepository, changes: RepositoryChanges): Promise<void> {
    this.maybeFail('update');
    const entry = this.repos.get(live.name)!;
    if (changes.imageTagMutability) {
      entry.live.imageTagMutability = changes.imageTagMutability;
      if (changes.imageTagMutabilityExclusionFilters) entry.live.imageTagMutabilityExclusionFilters = changes.imageTagMutabilityExclusionFilters;
      else delete entry.live.imageTagMutabilityExclusionFilters;
    }
    if (changes.scanOnPush !== undefined) entry.live.scanOnPush = changes.scanOnPush;
    if (changes.lifecyclePolicy) entry.details.lifecyclePolicyText = changes.lifecyclePolicy === 'delete' ? undefined : changes.lifecyclePolicy.text;
    if (changes.repositoryPolicy) entry.details.repositoryPolicyText = changes.repositoryPolicy === 'delete' ? undefined : changes.repositoryPolicy.text;
    for (const k of changes.tagKeysToRemove ?? []) delete entry.details.tags[k];
    Object.assign(entry.details.tags, changes.tagsToSet ?? {});
  }

  async delete(name: string): Promise<void> {
    this.maybeFail('delete');
    this.repos.delete(name);
  }

  invalidate(): void {}
}

/** The key ARN that an alias, alias ARN or key id names in the fake account. */
export function kmsKeyArn(ref: string): string {
  if (/^arn:aws:kms:[^:]+:\d+:key\//.test(ref)) return ref;
  return 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/**
 * The API server as far as the reconcilers' writes go: objects with a resourceVersion that grows
 * on every write, merge patches that carry a resourceVersion fail with 409 when it is stale, a
 * status subresource, and deletion once the last finalizer of a deleting object is gone. The
 * informer caches (Store) are separate: they learn of writes only when the watch delivers them.
 */
export class FakeApiServer {
  private version = 100;
  readonly objects = new Map<string, KubeObject>();
  readonly statusWrites: Array<{ path: string; status: Record<string, unknown> }> = [];

  store(path: string, obj: KubeObject): KubeObject {
    const stored = structuredClone({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.version) } });
    this.objects.set(path, stored);
    return structuredClone(stored);
  }

  async get<T>(path: string): Promise<T> {
    const obj = this.objects.get(path);
    if (!obj) throw new KubeApiError(404, `${path} not found`, 'NotFound');
    return structuredClone(obj) as T;
  }

  async patch<T>(path: string, body: unknown, type: string): Promise<T> {
    if (type !== 'merge') throw new Error(`unexpected ${type} patch`);
    const onStatus = path.endsWith('/status');
    const objectPath = onStatus ? path.slice(0, -'/status'.length) : path;
    const current = this.objects.get(objectPath);
    if (!current) throw new KubeApiError(404, `${objectPath} not found`, 'NotFound');
    const b = body as { metadata?: { resourceVersion?: string; finalizers?: string[] }; status?: unknown };
    if (b.metadata?.resourceVersion !== undefined && b.metadata.resourceVersion !== current.metadata?.resourceVersion) {
      throw new KubeApiError(409, 'the object has been modified; please apply your changes to the latest version and try again', 'Conflict');
    }
    const next = structuredClone(current);
    if (onStatus) {
      next.status = applyMergePatch(current.status ?? {}, b.status);
      this.statusWrites.push({ path: objectPath, status: next.status as Record<string, unknown> });
    } else if (b.metadata?.finalizers) {
      next.metadata = { ...next.metadata, finalizers: b.metadata.finalizers };
      if (next.metadata.deletionTimestamp && b.metadata.finalizers.length === 0) {
        this.objects.delete(objectPath);
        return next as T;
      }
    }
    return this.store(objectPath, next) as T;
  }
}

/** The real ObjectWriter against the fake API server, counting what it does. */
export class FakeWriter implements ObjectWriterLike {
  readonly writer: ObjectWriter;
  statuses: Array<{ name: string; status: Record<string, unknown> }> = [];
  finalizersAdded = 0;
  finalizersRemoved = 0;

  constructor(readonly server: FakeApiServer = new FakeApiServer()) {
    this.writer = new ObjectWriter(server);
  }

  async patchStatus<T extends KubeObject>(ref: ResourceRef, obj: T, status: StatusUpdate<T>): Promise<T | undefined> {
    const written = await this.writer.patchStatus(ref, obj, status);
    if (written) this.statuses.push({ name: obj.metadata?.name ?? '', status: structuredClone(written.status) as Record<string, unknown> });
    return written;
  }

  async ensureFinalizer<T extends KubeObject>(ref: ResourceRef, obj: T, finalizer: string): Promise<T> {
    if (!obj.metadata?.finalizers?.includes(finalizer)) this.finalizersAdded++;
    return this.writer.ensureFinalizer(ref, obj, finalizer);
  }

  async removeFinalizer<T extends KubeObject>(ref: ResourceRef, obj: T, finalizer: string): Promise<void> {
    this.finalizersRemoved++;
    await this.writer.removeFinalizer(ref, obj, finalizer);
  }

  last(): Record<string, unknown> {
    return this.statuses[this.statuses.length - 1]?.status ?? {};
  }
}

export class FakeEvents {
  events: Array<{ type: string; reason: string; message: string }> = [];
  record(_obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }
}

/**
 * An informer cache. `put` is a user's write: it reaches the server and the watch delivers it at
 * once. The operator's own writes reach the cache only with `watch()`, as late as a test wants.
 */
export class Store<T extends { metadata: { namespace: string; name: string } }> {
  items = new Map<string, T>();
  constructor(
    private readonly ref?: ResourceRef,
    private readonly server?: FakeApiServer,
  ) {}
  private path(namespace: string, name: string): string {
    return this.ref ? resourcePath(this.ref, namespace, name) : `${namespace}/${name}`;
  }
  put(o: T): T {
    const stored = this.server ? (this.server.store(this.path(o.metadata.namespace, o.metadata.name), o) as unknown as T) : o;
    this.items.set(`${o.metadata.namespace}/${o.metadata.name}`, stored);
    return stored;
  }
  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }
  list(namespace?: string): T[] {
    return [...this.items.values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }
  /** The watch catches up: every cached object becomes what the server has now (or goes). */
  watch(): void {
    if (!this.server) return;
    for (const [key, obj] of this.items) {
      const now = this.server.objects.get(this.path(obj.metadata.namespace, obj.metadata.name));
      if (now) this.items.set(key, structuredClone(now) as unknown as T);
      else this.items.delete(key);
    }
  }
  /** What the server has, regardless of the cache. */
  onServer(namespace: string, name: string): T | undefined {
    return this.server?.objects.get(this.path(namespace, name)) as unknown as T | undefined;
  }
}

export function readyProvider(name = 'aws', namespace = 'team', defaultTags?: Record<string, string>): AWSProvider {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'AWSProvider',
    metadata: { name, namespace, generation: 1 },
    spec: { region: 'us-east-1', ...(defaultTags ? { defaultTags } : {}) },
    status: {
      ready: true,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Authenticated', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
    },
  };
}

export function repository(spec: Partial<ECRRepository['spec']> = {}, meta: Partial<ECRRepository['metadata']> = {}): ECRRepository {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'ECRRepository',
    metadata: { name: 'app', namespace: 'team', generation: 1, ...meta },
    spec: { providerRef: { name: 'aws' }, repositoryName: 'team/app', ...spec },
  };
}

export function connectionFor(ecr: FakeEcr): Connection {
  return { ecr: ecr as unknown as Connection['ecr'], session: { accountId: '123456789012', region: 'us-east-1' } as Connection['session'], fingerprint: 'f', identity: 'static keys from Secret team/aws' };
}
