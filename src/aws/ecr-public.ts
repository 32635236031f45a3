/**
 * The Amazon ECR Public gateway: public repositories, their catalog data, policy and tags, in the
 * observe / create / update / delete shape of the ECR gateway (ecr.ts). It decides nothing: the
 * ECRPublicRepository kind computes what differs and passes only the changes it wants.
 *
 * ECR Public is one API endpoint in us-east-1, whatever region a provider names, so its client is
 * built here, apart from the session's regional clients (clients.ts), and only when an object that
 * needs it is reconciled. It acts with the session's own credentials, is paced by the same account
 * limiter and reports every call through the same metrics hook, under the service name ECRPublic.
 *
 * Every failure leaves here as an `AwsError` (errors.ts); the answers that mean "nothing there"
 * where absence is normal (no policy, a repository already gone) are returned as such and counted
 * as successful calls.
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeImagesCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  PutRepositoryCatalogDataCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type Repository,
  type RepositoryCatalogData,
  type RepositoryCatalogDataInput,
  type Tag,
} from '@aws-sdk/client-ecr-public';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { AwsSession } from './clients.js';
import { classifyAwsError, isAwsError, type AwsError } from './errors.js';
import type { AccountLimiter } from './ratelimit.js';

/** The one region with an ECR Public API endpoint (api.ecr-public.us-east-1.amazonaws.com). */
export const ECR_PUBLIC_REGION = 'us-east-1';
/** The service label of ECR Public calls in metrics and error messages. */
export const ECR_PUBLIC_SERVICE = 'ECRPublic';

/** DescribeImages and DescribeRegistries page size: the most the API allows. */
const PAGE_SIZE = 1000;
/** TagResource and UntagResource take at most 200 tags or keys a call. */
const TAGS_PER_CALL = 200;

/** The catalog data to apply; the logo as bytes (the SDK base64-encodes it). */
export interface PublicCatalogInput {
  description?: string;
  architectures?: string[];
  operatingSystems?: string[];
  aboutText?: string;
  usageText?: string;
  logo?: Uint8Array;
}

/** The catalog data as ECR Public answers: the logo only as the URL of its last upload. */
export interface LivePublicCatalog {
  description?: string;
  architectures?: string[];
  operatingSystems?: string[];
  aboutText?: string;
  usageText?: string;
  logoUrl?: string;
}

export interface LivePublicRepository {
  name: string;
  arn: string;
  /** public.ecr.aws/<registry alias>/<name>. */
  uri: string;
  registryId: string;
  createdAt: Date;
}

export interface PublicRepositoryDetails {
  tags: Record<string, string>;
  catalog: LivePublicCatalog;
  policyText?: string;
  /** Every image, every page. */
  imageCount: number;
}

export interface PublicRepositoryChanges {
  /** The whole catalog data: PutRepositoryCatalogData replaces it. */
  catalog?: PublicCatalogInput;
  policy?: { text: string } | 'delete';
  tagsToSet?: Record<string, string>;
  tagKeysToRemove?: string[];
}

/** Calls whose "not found" answer means absence where absence is normal. */
const EXPECTED_ABSENCE: Readonly<Record<string, string>> = {
  DescribeRepositories: 'RepositoryNotFoundException',
  DeleteRepository: 'RepositoryNotFoundException',
  GetRepositoryPolicy: 'RepositoryPolicyNotFoundException',
  DeleteRepositoryPolicy: 'RepositoryPolicyNotFoundException',
  GetRepositoryCatalogData: 'RepositoryCatalogDataNotFoundException',
};

function expectedAbsence(operation: string, err: unknown): boolean {
  const code = EXPECTED_ABSENCE[operation];
  return code !== undefined && classifyAwsError(err, operation, ECR_PUBLIC_SERVICE).code === code;
}

export class EcrPublicGateway {
  constructor(private readonly client: Pick<ECRPUBLICClient, 'send'>) {}

  /** The repository, or undefined when it does not exist. Always asks AWS. */
  async describe(name: string): Promise<LivePublicRepository | undefined> {
    const out = await this.call('DescribeRepositories', () => this.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })), 'absent');
    const repo = out?.repositories?.find((r) => r.repositoryName === name);
    return repo ? toLive(repo) : undefined;
  }

  async tags(live: LivePublicRepository): Promise<Record<string, string>> {
    const out = await this.call('ListTagsForResource', () => this.client.send(new ListTagsForResourceCommand({ resourceArn: live.arn })));
    return fromTagList(out.tags);
  }

  /**
   * Tags, catalog data, policy and image count, read concurrently; tags already read (to decide
   * ownership) are not read again. When several reads fail, a vanished repository explains the
   * others and is reported first, then one the user must fix.
   */
  async details(live: LivePublicRepository, known: { tags?: Record<string, string> } = {}): Promise<PublicRepositoryDetails> {
    const ref = { repositoryName: live.name, registryId: live.registryId || undefined };
    const [tags, catalog, policy, images] = await Promise.allSettled([
      known.tags ?? this.tags(live),
      this.call('GetRepositoryCatalogData', () => this.client.send(new GetRepositoryCatalogDataCommand(ref)), 'absent'),
      this.call('GetRepositoryPolicy', () => this.client.send(new GetRepositoryPolicyCommand(ref)), 'absent'),
      this.countImages(live),
    ]);
    if (tags.status === 'rejected' || catalog.status === 'rejected' || policy.status === 'rejected' || images.status === 'rejected') {
      throw failure([tags, catalog, policy, images]);
    }
    const details: PublicRepositoryDetails = { tags: tags.value, catalog: fromCatalog(catalog.value?.catalogData), imageCount: images.value };
    if (policy.value?.policyText !== undefined) details.policyText = policy.value.policyText;
    return details;
  }

  /** One CreateRepository with the catalog data and every tag, so a new repository is never half described. */
  async create(name: string, catalog: PublicCatalogInput, tags: Record<string, string>): Promise<{ live: LivePublicRepository; catalog: LivePublicCatalog }> {
    const tagList = toTagList(tags);
    const out = await this.call('CreateRepository', () =>
      this.client.send(new CreateRepositoryCommand({
        repositoryName: name,
        catalogData: toCatalogInput(catalog),
        ...(tagList.length > 0 ? { tags: tagList } : {}),
      })),
    );
    return { live: toLive(out.repository ?? { repositoryName: name }), catalog: fromCatalog(out.catalogData) };
  }

  /**
   * Applies only the given changes, concurrently; tag removal precedes tag addition so that
   * replacing tags never goes over the limit of 50 in between. Returns the catalog data as AWS
   * answered a Put (its new logoUrl included). When calls fail, the others still complete and the
   * most actionable failure is thrown.
   */
  async update(live: LivePublicRepository, changes: PublicRepositoryChanges): Promise<{ catalog?: LivePublicCatalog }> {
    const ref = { repositoryName: live.name, registryId: live.registryId || undefined };
    const result: { catalog?: LivePublicCatalog } = {};
    const tasks: Promise<unknown>[] = [];
    const catalog = changes.catalog;
    if (catalog) {
      tasks.push(
        this.call('PutRepositoryCatalogData', () => this.client.send(new PutRepositoryCatalogDataCommand({ ...ref, catalogData: toCatalogInput(catalog) })))
          .then((out) => {
            result.catalog = fromCatalog(out.catalogData);
          }),
      );
    }
    const policy = changes.policy;
    if (policy === 'delete') {
      tasks.push(this.call('DeleteRepositoryPolicy', () => this.client.send(new DeleteRepositoryPolicyCommand(ref)), 'absent'));
    } else if (policy !== undefined) {
      tasks.push(this.call('SetRepositoryPolicy', () => this.client.send(new SetRepositoryPolicyCommand({ ...ref, policyText: policy.text }))));
    }
    const toRemove = changes.tagKeysToRemove ?? [];
    const toSet = toTagList(changes.tagsToSet ?? {});
    if (toRemove.length > 0 || toSet.length > 0) tasks.push(this.retag(live.arn, toRemove, toSet));
    const results = await Promise.allSettled(tasks);
    if (results.some((r) => r.status === 'rejected')) throw failure(results);
    return result;
  }

  /** Removes tags by key (releasing ownership); nothing else. */
  async untag(live: LivePublicRepository, keys: string[]): Promise<void> {
    await this.retag(live.arn, keys, []);
  }

  /**
   * Deletes the repository; with `force` its images too. Without it, a repository that holds
   * images is refused (RepositoryNotEmptyException, thrown). A repository already gone counts as deleted.
   */
  async delete(name: string, force: boolean): Promise<void> {
    await this.call('DeleteRepository', () => this.client.send(new DeleteRepositoryCommand({ repositoryName: name, force })), 'absent');
  }

  /** The registry's default alias (DescribeRegistries), when it has one. */
  async registryAlias(): Promise<string | undefined> {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.call('DescribeRegistries', () => this.client.send(new DescribeRegistriesCommand({ maxResults: PAGE_SIZE, ...(token ? { nextToken: token } : {}) })));
      for (const registry of out.registries ?? []) {
        const alias = registry.aliases?.find((a) => a.defaultRegistryAlias) ?? registry.aliases?.find((a) => a.primaryRegistryAlias);
        if (alias?.name) return alias.name;
      }
      nextToken = out.nextToken;
    } while (nextToken);
    return undefined;
  }

  private async countImages(live: LivePublicRepository): Promise<number> {
    const seen = new Set<string>();
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.call('DescribeImages', () =>
        this.client.send(new DescribeImagesCommand({
          repositoryName: live.name,
          ...(live.registryId ? { registryId: live.registryId } : {}),
          maxResults: PAGE_SIZE,
          ...(token ? { nextToken: token } : {}),
        })),
      );
      for (const image of out.imageDetails ?? []) if (image.imageDigest) seen.add(image.imageDigest);
      nextToken = out.nextToken;
    } while (nextToken);
    return seen.size;
  }

  private async retag(arn: string, toRemove: string[], toSet: Tag[]): Promise<void> {
    for (let i = 0; i < toRemove.length; i += TAGS_PER_CALL) {
      const tagKeys = toRemove.slice(i, i + TAGS_PER_CALL);
      await this.call('UntagResource', () => this.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys })));
    }
    for (let i = 0; i < toSet.length; i += TAGS_PER_CALL) {
      const tags = toSet.slice(i, i + TAGS_PER_CALL);
      await this.call('TagResource', () => this.client.send(new TagResourceCommand({ resourceArn: arn, tags })));
    }
  }

  private call<T>(operation: string, send: () => Promise<T>): Promise<T>;
  private call<T>(operation: string, send: () => Promise<T>, absent: 'absent'): Promise<T | undefined>;
  private async call<T>(operation: string, send: () => Promise<T>, absent?: 'absent'): Promise<T | undefined> {
    try {
      return await send();
    } catch (err) {
      const classified = classifyAwsError(err, operation, ECR_PUBLIC_SERVICE);
      if (absent !== undefined && expectedAbsence(operation, classified)) return undefined;
      throw classified;
    }
  }
}

/** The failure to report of several: a vanished repository first, then one the user must fix, then the first. */
function failure(results: PromiseSettledResult<unknown>[]): AwsError {
  const failures = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => (isAwsError(r.reason) ? r.reason : classifyAwsError(r.reason, 'Unknown', ECR_PUBLIC_SERVICE)));
  return failures.find((f) => f.code === 'RepositoryNotFoundException') ?? failures.find((f) => !f.retryable) ?? (failures[0] as AwsError);
}

function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function fromTagList(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? '';
  return out;
}

function toCatalogInput(catalog: PublicCatalogInput): RepositoryCatalogDataInput {
  const input: RepositoryCatalogDataInput = {};
  if (catalog.description !== undefined) input.description = catalog.description;
  if (catalog.architectures !== undefined) input.architectures = catalog.architectures;
  if (catalog.operatingSystems !== undefined) input.operatingSystems = catalog.operatingSystems;
  if (catalog.aboutText !== undefined) input.aboutText = catalog.aboutText;
  if (catalog.usageText !== undefined) input.usageText = catalog.usageText;
  if (catalog.logo !== undefined) input.logoImageBlob = catalog.logo;
  return input;
}

function fromCatalog(catalog: RepositoryCatalogData | undefined): LivePublicCatalog {
  const out: LivePublicCatalog = {};
  if (!catalog) return out;
  if (catalog.description) out.description = catalog.description;
  if (catalog.architectures?.length) out.architectures = [...catalog.architectures];
  if (catalog.operatingSystems?.length) out.operatingSystems = [...catalog.operatingSystems];
  if (catalog.aboutText) out.aboutText = catalog.aboutText;
  if (catalog.usageText) out.usageText = catalog.usageText;
  if (catalog.logoUrl) out.logoUrl = catalog.logoUrl;
  return out;
}

function toLive(repo: Repository): LivePublicRepository {
  return {
    name: repo.repositoryName ?? '',
    arn: repo.repositoryArn ?? '',
    uri: repo.repositoryUri ?? '',
    registryId: repo.registryId ?? '',
    createdAt: repo.createdAt ?? new Date(0),
  };
}

/** The registry alias a repository URI carries: public.ecr.aws/<alias>/<name>. */
export function aliasOfUri(uri: string, name: string): string | undefined {
  const prefix = 'public.ecr.aws/';
  const suffix = `/${name}`;
  if (!uri.startsWith(prefix) || !uri.endsWith(suffix)) return undefined;
  const alias = uri.slice(prefix.length, uri.length - suffix.length);
  return alias.length > 0 && !alias.includes('/') ? alias : undefined;
}

// --- clients -----------------------------------------------------------------------------------------

export type EcrPublicCallOutcome = 'success' | 'error';

export interface EcrPublicClientsOptions {
  /** The pacing of an account (AwsClientFactory.limiterFor): ECR Public calls share the account's overall cap. */
  limiterFor(accountKey: string): AccountLimiter;
  /** Reports every call once, after its retries; an expected absence counts as a success. */
  onCall?: (service: string, operation: string, outcome: EcrPublicCallOutcome, seconds: number) => void;
  /**
   * The endpoint from the operator's own environment (AWS_ENDPOINT_URL_ECR_PUBLIC, else
   * AWS_ENDPOINT_URL; see ecrPublicEndpointFromEnv). A provider's own endpoint wins.
   */
  operatorEndpoint?: string | undefined;
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long a replaced client stays usable for calls in flight. Default 2 minutes. */
  retireAfterMs?: number;
}

/** The operator environment's endpoint for ECR Public, as the SDK reads it (service id "ECR PUBLIC"). */
export function ecrPublicEndpointFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.trim().toLowerCase() === 'true') return undefined;
  const value = env.AWS_ENDPOINT_URL_ECR_PUBLIC?.trim() || env.AWS_ENDPOINT_URL?.trim();
  return value || undefined;
}

type Next<A, R> = (args: A) => Promise<R>;
type Middleware = <A, R>(next: Next<A, R>, context: { commandName?: string }) => Next<A, R>;
/** The two methods of the SDK's middleware stack used here. */
interface StackLike {
  add(middleware: Middleware, options: { step: 'initialize'; name: string; priority: 'high'; override: boolean }): void;
  addRelativeTo(middleware: Middleware, options: { relation: 'after'; toMiddleware: string; name: string; override: boolean }): void;
}

interface Entry {
  session: AwsSession;
  endpoint: string | undefined;
  client: ECRPUBLICClient;
  gateway: EcrPublicGateway;
}

/** Full jitter up to 100 ms × 2^attempt, at most 20 s: the backoff of the session's other clients. */
function retryBackoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(20_000, 100 * 2 ** attempt));
}

function operationName(commandName: string | undefined): string {
  if (!commandName) return 'unknown';
  return commandName.endsWith('Command') ? commandName.slice(0, -'Command'.length) : commandName;
}

/**
 * One ECR Public client per session (provider identity), built on first use and rebuilt when the
 * session's credentials or the endpoint change; the replaced client is closed once calls in flight
 * are done.
 */
export class EcrPublicClients {
  private readonly entries = new Map<string, Entry>();
  private readonly retiring = new Set<{ timer: ReturnType<typeof setTimeout>; client: ECRPUBLICClient }>();

  constructor(private readonly opts: EcrPublicClientsOptions) {}

  /** The gateway for a session; `providerEndpoint` is the provider's own spec.endpoint, when it has one. */
  gateway(session: AwsSession, providerEndpoint?: string): EcrPublicGateway {
    const endpoint = providerEndpoint?.trim() || this.opts.operatorEndpoint;
    const cached = this.entries.get(session.key);
    if (cached && cached.session === session && cached.endpoint === endpoint) return cached.gateway;
    if (cached) this.retire(cached.client);
    const client = this.build(session, endpoint);
    const entry: Entry = { session, endpoint, client, gateway: new EcrPublicGateway(client) };
    this.entries.set(session.key, entry);
    return entry.gateway;
  }

  /** Closes every client now: for shutdown. */
  close(): void {
    for (const { timer, client } of this.retiring) {
      clearTimeout(timer);
      client.destroy();
    }
    this.retiring.clear();
    for (const entry of this.entries.values()) entry.client.destroy();
    this.entries.clear();
  }

  private retire(client: ECRPUBLICClient): void {
    const item = {
      client,
      timer: setTimeout(() => {
        this.retiring.delete(item);
        client.destroy();
      }, this.opts.retireAfterMs ?? 120_000),
    };
    item.timer.unref();
    this.retiring.add(item);
  }

  private build(session: AwsSession, endpoint: string | undefined): ECRPUBLICClient {
    const client = new ECRPUBLICClient({
      region: ECR_PUBLIC_REGION,
      ...(endpoint ? { endpoint } : {}),
      credentials: session.credentials,
      retryStrategy: new ConfiguredRetryStrategy(this.opts.maxAttempts ?? 3, retryBackoffMs),
      requestHandler: {
        connectionTimeout: this.opts.connectionTimeoutMs ?? 3_000,
        requestTimeout: this.opts.requestTimeoutMs ?? 15_000,
        throwOnRequestTimeout: true,
      },
    });
    const onCall = this.opts.onCall;
    // The account is known once the session's credentials were verified; until then the session paces itself.
    const limiter = () => this.opts.limiterFor(session.accountId ?? session.key);
    const stack = client.middlewareStack as unknown as StackLike;
    stack.add(
      (next, context) => async (args) => {
        const started = performance.now();
        const operation = operationName(context.commandName);
        let outcome: EcrPublicCallOutcome = 'error';
        try {
          const out = await next(args);
          outcome = 'success';
          return out;
        } catch (err) {
          if (expectedAbsence(operation, err)) outcome = 'success';
          throw err;
        } finally {
          try {
            onCall?.(ECR_PUBLIC_SERVICE, operation, outcome, (performance.now() - started) / 1000);
          } catch {
            /* a metrics hook never fails a call */
          }
        }
      },
      { step: 'initialize', name: 'infraOperatorEcrPublicCallReport', priority: 'high', override: true },
    );
    stack.addRelativeTo(
      (next, context) => async (args) => {
        // Its own name, so that no per-operation limit of private ECR (same operation names) applies.
        const operation = `ecr-public:${operationName(context.commandName)}`;
        const account = limiter();
        await account.acquire(operation);
        try {
          const out = await next(args);
          account.answered(operation, false);
          return out;
        } catch (err) {
          account.answered(operation, classifyAwsError(err, operation, ECR_PUBLIC_SERVICE).kind === 'Throttled');
          throw err;
        }
      },
      { relation: 'after', toMiddleware: 'retryMiddleware', name: 'infraOperatorEcrPublicRateLimit', override: true },
    );
    return client;
  }
}
