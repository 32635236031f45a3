import { classifyAwsError, type AwsError } from '../../../../src/aws/errors.js';
import type {
  LivePublicCatalog,
  LivePublicRepository,
  PublicCatalogInput,
  PublicRepositoryChanges,
  PublicRepositoryDetails,
} from '../../../../src/aws/ecr-public.js';
import type { EcrPublicGatewayLike } from '../../../../src/kinds/ecrpublicrepository/client.js';
import type { ECRPublicRepository } from '../../../../src/kinds/ecrpublicrepository/types.js';
import { testPng } from '../../../e2e/env/ecr-public-emulation.js';

export const ACCOUNT = '123456789012';
export const ALIAS = 'k2x9q4wz';

export function publicError(code: string, operation: string): AwsError {
  return classifyAwsError({ name: code, message: `${code} from AWS` }, operation, 'ECRPublic');
}

interface Stored {
  live: LivePublicRepository;
  catalog: LivePublicCatalog;
  tags: Record<string, string>;
  policyText?: string;
  images: number;
}

/** An in-memory ECR Public with the gateway's verbs, recording each call. */
export class FakeEcrPublic implements EcrPublicGatewayLike {
  repos = new Map<string, Stored>();
  calls: string[] = [];
  uploads = 0;
  failNext = new Map<string, AwsError>();
  /** URIs without the alias (as when the registry's alias is not known from the URI). */
  bareUris = false;

  constructor(readonly account = ACCOUNT) {}

  private record(op: string): void {
    this.calls.push(op);
    const err = this.failNext.get(op);
    if (err) {
      this.failNext.delete(op);
      throw err;
    }
  }

  private catalogOf(input: PublicCatalogInput): LivePublicCatalog {
    const out: LivePublicCatalog = {};
    for (const k of ['description', 'aboutText', 'usageText'] as const) if (input[k]) out[k] = input[k];
    if (input.architectures?.length) out.architectures = [...input.architectures];
    if (input.operatingSystems?.length) out.operatingSystems = [...input.operatingSystems];
    if (input.logo && input.logo.length > 0) out.logoUrl = `https://logos.example/${++this.uploads}.png`;
    return out;
  }

  seed(name: string, tags: Record<string, string>, catalog: LivePublicCatalog = {}, images = 0): Stored {
    const stored: Stored = {
      live: {
        name,
        arn: `arn:aws:ecr-public::${this.account}:repository/${name}`,
        uri: this.bareUris ? `public.ecr.aws/${name}` : `public.ecr.aws/${ALIAS}/${name}`,
        registryId: this.account,
        createdAt: new Date('2026-01-01T00:00:00Z'),
      },
      catalog,
      tags: { ...tags },
      images,
    };
    this.repos.set(name, stored);
    return stored;
  }

  async describe(name: string): Promise<LivePublicRepository | undefined> {
    this.record('describe');
    return this.repos.get(name)?.live;
  }

  async tags(live: LivePublicRepository): Promise<Record<string, string>> {
    this.record('tags');
    const stored = this.repos.get(live.name);
    if (!stored) throw publicError('RepositoryNotFoundException', 'ListTagsForResource');
    return { ...stored.tags };
  }

  /** Tags passed in were read by the caller (ownership): the fake, like the gateway, uses them. */
  async details(live: LivePublicRepository, known: { tags?: Record<string, string> } = {}): Promise<PublicRepositoryDetails> {
    this.record('details');
    const stored = this.repos.get(live.name);
    if (!stored) throw publicError('RepositoryNotFoundException', 'GetRepositoryCatalogData');
    const details: PublicRepositoryDetails = { tags: { ...(known.tags ?? stored.tags) }, catalog: structuredClone(stored.catalog), imageCount: stored.images };
    if (stored.policyText !== undefined) details.policyText = stored.policyText;
    return details;
  }

  async create(name: string, catalog: PublicCatalogInput, tags: Record<string, string>): Promise<{ live: LivePublicRepository; catalog: LivePublicCatalog }> {
    this.record('create');
    if (this.repos.has(name)) throw publicError('RepositoryAlreadyExistsException', 'CreateRepository');
    const stored = this.seed(name, tags, this.catalogOf(catalog));
    return { live: stored.live, catalog: structuredClone(stored.catalog) };
  }

  async update(live: LivePublicRepository, changes: PublicRepositoryChanges): Promise<{ catalog?: LivePublicCatalog }> {
    this.record('update');
    const stored = this.repos.get(live.name);
    if (!stored) throw publicError('RepositoryNotFoundException', 'PutRepositoryCatalogData');
    const result: { catalog?: LivePublicCatalog } = {};
    if (changes.catalog) {
      stored.catalog = this.catalogOf(changes.catalog);
      result.catalog = structuredClone(stored.catalog);
    }
    if (changes.policy === 'delete') delete stored.policyText;
    else if (changes.policy) stored.policyText = changes.policy.text;
    for (const k of changes.tagKeysToRemove ?? []) delete stored.tags[k];
    Object.assign(stored.tags, changes.tagsToSet ?? {});
    return result;
  }

  async untag(live: LivePublicRepository, keys: string[]): Promise<void> {
    this.record('untag');
    const stored = this.repos.get(live.name);
    for (const k of keys) delete stored?.tags[k];
  }

  async delete(name: string, force: boolean): Promise<void> {
    this.record(force ? 'delete-force' : 'delete');
    const stored = this.repos.get(name);
    if (!stored) return;
    if (stored.images > 0 && !force) throw publicError('RepositoryNotEmptyException', 'DeleteRepository');
    this.repos.delete(name);
  }

  async registryAlias(): Promise<string | undefined> {
    this.record('registryAlias');
    return ALIAS;
  }
}

/** A ConfigMap/Secret reader over a map of paths, counting reads. */
export class FakeObjects {
  objects = new Map<string, unknown>();
  reads = 0;

  configMap(namespace: string, name: string, binaryData: Record<string, Buffer>): void {
    this.objects.set(`/api/v1/namespaces/${namespace}/configmaps/${name}`, {
      binaryData: Object.fromEntries(Object.entries(binaryData).map(([k, v]) => [k, v.toString('base64')])),
    });
  }

  secret(namespace: string, name: string, data: Record<string, Buffer>): void {
    this.objects.set(`/api/v1/namespaces/${namespace}/secrets/${name}`, {
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])),
    });
  }

  async getOrUndefined<T>(path: string): Promise<T | undefined> {
    this.reads++;
    return this.objects.get(path) as T | undefined;
  }
}

export const LOGO = testPng(64, 64);

export function publicRepository(spec: Partial<ECRPublicRepository['spec']> = {}, meta: Partial<ECRPublicRepository['metadata']> = {}): ECRPublicRepository {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'ECRPublicRepository',
    metadata: { name: 'web', namespace: 'team', generation: 1, ...meta },
    spec: { providerRef: { name: 'aws' }, repositoryName: 'team/web', ...spec },
  };
}
