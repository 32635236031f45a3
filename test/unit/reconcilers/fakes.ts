import { pino } from 'pino';
import type { AWSProvider, ECRRepository } from '../../../src/api/types.js';
import type { LiveRepository, RepositoryChanges, RepositoryDetails, RepositorySettings } from '../../../src/aws/ecr.js';
import { AwsError, type AwsErrorKind } from '../../../src/aws/errors.js';
import type { Connection } from '../../../src/providers/connections.js';
import type { ResourceRef } from '../../../src/runtime/kube.js';
import type { KubeObject } from '../../../src/runtime/types.js';

export const silentLogger = pino({ level: 'silent' });

export function awsError(kind: AwsErrorKind, code: string, operation = 'CreateRepository'): AwsError {
  return new AwsError({ kind, code, service: 'ECR', operation, retryable: kind === 'Throttled' || kind === 'Transient', awsMessage: `${code} from AWS` });
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

  async describe(name: string): Promise<LiveRepository | undefined> {
    this.maybeFail('describe');
    return this.repos.get(name)?.live;
  }

  async details(live: LiveRepository): Promise<RepositoryDetails> {
    this.maybeFail('details');
    const entry = this.repos.get(live.name);
    if (!entry) throw awsError('NotFound', 'RepositoryNotFoundException', 'ListTagsForResource');
    return structuredClone(entry.details);
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
    return this.repos.get(name)!.live;
  }

  async update(live: LiveRepository, changes: RepositoryChanges): Promise<void> {
    this.maybeFail('update');
    const entry = this.repos.get(live.name)!;
    if (changes.imageTagMutability) entry.live.imageTagMutability = changes.imageTagMutability;
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

export class FakeWriter {
  statuses: Array<{ name: string; status: Record<string, unknown> }> = [];
  finalizersAdded = 0;
  finalizersRemoved = 0;

  async patchStatus<T extends KubeObject>(_ref: ResourceRef, obj: T, status: object): Promise<T | undefined> {
    this.statuses.push({ name: obj.metadata?.name ?? '', status: status as Record<string, unknown> });
    (obj as { status?: object }).status = status;
    return obj;
  }

  async ensureFinalizer<T extends KubeObject>(_ref: ResourceRef, obj: T, finalizer: string): Promise<T> {
    this.finalizersAdded++;
    return { ...obj, metadata: { ...obj.metadata, finalizers: [...(obj.metadata?.finalizers ?? []), finalizer] } };
  }

  async removeFinalizer(): Promise<void> {
    this.finalizersRemoved++;
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

export class Store<T extends { metadata: { namespace: string; name: string } }> {
  items = new Map<string, T>();
  put(o: T): T {
    this.items.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    return o;
  }
  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
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
  return { ecr: ecr as unknown as Connection['ecr'], session: {} as Connection['session'], fingerprint: 'f', identity: 'static keys from Secret team/aws' };
}
