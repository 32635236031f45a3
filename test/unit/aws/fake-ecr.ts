/**
 * An in-memory ECR registry behind an ECRClient-like `send`, for gateway unit tests.
 * It records every command, pages as ECR does, answers with the SDK's own exception classes, and
 * can hold calls of one operation until released, to make concurrency observable.
 */
import {
  ECRServiceException,
  InvalidParameterException,
  LifecyclePolicyNotFoundException,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException,
  RepositoryPolicyNotFoundException,
  type ImageDetail,
  type Repository,
  type Tag,
} from '@aws-sdk/client-ecr';
import type { EcrClientLike } from '../../../src/aws/ecr.js';

export interface RecordedCall {
  op: string;
  input: Record<string, unknown>;
}

interface FakeRepo {
  repository: Repository;
  tags: Map<string, string>;
  lifecyclePolicy?: string;
  policy?: string;
  /** One entry per (digest, tag); tag undefined for an untagged image. */
  images: { imageDigest: string; imageTag?: string }[];
  /** What DescribeImages adds per digest; defaults: 1,000 bytes, ACTIVE, pushed 2024-01-01. */
  imageDetails: Map<string, Partial<ImageDetail>>;
}

const meta = { $metadata: { httpStatusCode: 400 } };

/** An error as the SDK builds it for an AWS error code ECR does not model (throttling, access). */
export function awsError(name: string, message: string, status = 400): ECRServiceException {
  return new ECRServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

export class FakeEcr {
  readonly calls: RecordedCall[] = [];
  readonly repos = new Map<string, FakeRepo>();
  /** Errors to throw for the next calls of an operation. */
  readonly failures = new Map<string, unknown[]>();
  private readonly holds = new Map<string, { promise: Promise<void>; release: () => void }>();
  inFlight = 0;
  maxInFlight = 0;

  readonly client: EcrClientLike = {
    send: ((command: { input: Record<string, unknown>; constructor: { name: string } }) =>
      this.send(command.constructor.name.replace(/Command$/, ''), command.input)) as unknown as EcrClientLike['send'],
  };

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  ops(): string[] {
    return this.calls.map((c) => c.op);
  }

  reset(): void {
    this.calls.length = 0;
    this.maxInFlight = 0;
  }

  /** Calls of `op` wait until `release()` is called. */
  hold(op: string): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(op, { promise, release });
    return () => {
      this.holds.delete(op);
      release();
    };
  }

  failNext(op: string, ...errors: unknown[]): void {
    this.failures.set(op, [...(this.failures.get(op) ?? []), ...errors]);
  }

  /** Adds a repository directly, as if created by someone else. */
  seed(name: string, extra: Partial<Repository> = {}, images = 0): FakeRepo {
    const repo: FakeRepo = {
      repository: {
        repositoryName: name,
        repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${name}`,
        repositoryUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}`,
        registryId: '123456789012',
        createdAt: new Date('2024-01-01T00:00:00Z'),
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: false },
        encryptionConfiguration: { encryptionType: 'AES256' },
        ...extra,
      },
      tags: new Map(),
      images: [],
      imageDetails: new Map(),
    };
    for (let i = 0; i < images; i += 1) repo.images.push({ imageDigest: `sha256:${name}-${i}`, imageTag: `v${i}` });
    this.repos.set(name, repo);
    return repo;
  }

  private async send(op: string, input: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ op, input });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const hold = this.holds.get(op);
      if (hold) await hold.promise;
      else await Promise.resolve();
      const failure = this.failures.get(op)?.shift();
      if (failure !== undefined) throw failure;
      return this.answer(op, input);
    } finally {
      this.inFlight -= 1;
    }
  }

  private repo(input: Record<string, unknown>): FakeRepo {
    const name = input.repositoryName as string;
    const repo = this.repos.get(name);
    if (!repo) {
      throw new RepositoryNotFoundException({ message: `The repository with name '${name}' does not exist in the registry with id '123456789012'`, ...meta });
    }
    return repo;
  }

  private byArn(arn: unknown): FakeRepo {
    for (const repo of this.repos.values()) if (repo.repository.repositoryArn === arn) return repo;
    throw new InvalidParameterException({ message: `Invalid parameter at 'resourceArn' failed to satisfy constraint: 'repository not found'`, ...meta });
  }

  private answer(op: string, input: Record<string, unknown>): unknown {
    switch (op) {
      case 'DescribeRepositories': {
        const names = input.repositoryNames as string[] | undefined;
        if (names) return { repositories: names.map((n) => this.repo({ repositoryName: n }).repository) };
        const all = [...this.repos.values()].map((r) => r.repository);
        return page(all, input, 'repositories');
      }
      case 'CreateRepository': {
        const name = input.repositoryName as string;
        if (this.repos.has(name)) {
          throw new RepositoryAlreadyExistsException({ message: `The repository with name '${name}' already exists in the registry with id '123456789012'`, ...meta });
        }
        const repo = this.seed(name, {
          imageTagMutability: input.imageTagMutability as Repository['imageTagMutability'],
          ...(input.imageTagMutabilityExclusionFilters
            ? { imageTagMutabilityExclusionFilters: input.imageTagMutabilityExclusionFilters as Repository['imageTagMutabilityExclusionFilters'] }
            : {}),
          imageScanningConfiguration: input.imageScanningConfiguration as Repository['imageScanningConfiguration'],
          encryptionConfiguration: input.encryptionConfiguration as Repository['encryptionConfiguration'],
          createdAt: new Date(),
        });
        for (const tag of (input.tags as Tag[] | undefined) ?? []) repo.tags.set(tag.Key as string, tag.Value as string);
        return { repository: repo.repository };
      }
      case 'DeleteRepository': {
        this.repo(input);
        this.repos.delete(input.repositoryName as string);
        return {};
      }
      case 'PutImageTagMutability': {
        const repository = this.repo(input).repository;
        const filters = input.imageTagMutabilityExclusionFilters as Repository['imageTagMutabilityExclusionFilters'];
        const mode = input.imageTagMutability as string;
        // As ECR: filters exactly with the *_WITH_EXCLUSION modes.
        if (Boolean(filters?.length) !== mode.endsWith('_WITH_EXCLUSION')) {
          throw new InvalidParameterException({ message: `imageTagMutabilityExclusionFilters do not fit imageTagMutability ${mode}`, ...meta });
        }
        repository.imageTagMutability = mode as Repository['imageTagMutability'];
        if (filters) repository.imageTagMutabilityExclusionFilters = filters;
        else delete repository.imageTagMutabilityExclusionFilters;
        return { imageTagMutability: mode };
      }
      case 'PutImageScanningConfiguration':
        this.repo(input).repository.imageScanningConfiguration = input.imageScanningConfiguration as Repository['imageScanningConfiguration'];
        return {};
      case 'GetLifecyclePolicy': {
        const repo = this.repo(input);
        if (repo.lifecyclePolicy === undefined) throw new LifecyclePolicyNotFoundException({ message: 'Lifecycle policy does not exist', ...meta });
        return { lifecyclePolicyText: repo.lifecyclePolicy };
      }
      case 'PutLifecyclePolicy':
        this.repo(input).lifecyclePolicy = input.lifecyclePolicyText as string;
        return {};
      case 'DeleteLifecyclePolicy': {
        const repo = this.repo(input);
        if (repo.lifecyclePolicy === undefined) throw new LifecyclePolicyNotFoundException({ message: 'Lifecycle policy does not exist', ...meta });
        delete repo.lifecyclePolicy;
        return {};
      }
      case 'GetRepositoryPolicy': {
        const repo = this.repo(input);
        if (repo.policy === undefined) throw new RepositoryPolicyNotFoundException({ message: 'Repository policy does not exist', ...meta });
        return { policyText: repo.policy };
      }
      case 'SetRepositoryPolicy':
        this.repo(input).policy = input.policyText as string;
        return {};
      case 'DeleteRepositoryPolicy': {
        const repo = this.repo(input);
        if (repo.policy === undefined) throw new RepositoryPolicyNotFoundException({ message: 'Repository policy does not exist', ...meta });
        delete repo.policy;
        return {};
      }
      case 'ListTagsForResource':
        return { tags: [...this.byArn(input.resourceArn).tags].map(([Key, Value]) => ({ Key, Value })) };
      case 'TagResource': {
        const repo = this.byArn(input.resourceArn);
        const tags = input.tags as Tag[];
        if (tags.length > 50) throw new InvalidParameterException({ message: 'too many tags in one call', ...meta });
        for (const tag of tags) repo.tags.set(tag.Key as string, tag.Value as string);
        return {};
      }
      case 'UntagResource': {
        const repo = this.byArn(input.resourceArn);
        for (const key of input.tagKeys as string[]) repo.tags.delete(key);
        return {};
      }
      case 'ListImages':
        return page(this.repo(input).images, input, 'imageIds');
      case 'DescribeImages': {
        const repo = this.repo(input);
        const status = (input.filter as { imageStatus?: string } | undefined)?.imageStatus ?? 'ACTIVE';
        const byDigest = new Map<string, ImageDetail>();
        for (const id of repo.images) {
          const detail = byDigest.get(id.imageDigest) ?? {
            imageDigest: id.imageDigest,
            imageSizeInBytes: 1000,
            imagePushedAt: new Date('2024-01-01T00:00:00Z'),
            imageStatus: 'ACTIVE',
            ...repo.imageDetails.get(id.imageDigest),
          };
          if (id.imageTag) detail.imageTags = [...(detail.imageTags ?? []), id.imageTag];
          byDigest.set(id.imageDigest, detail);
        }
        const all = [...byDigest.values()].filter((d) => status === 'ANY' || d.imageStatus === status);
        return page(all, input, 'imageDetails');
      }
      default:
        throw new Error(`fake ECR: unexpected operation ${op}`);
    }
  }
}

function page<T>(items: T[], input: Record<string, unknown>, key: string): Record<string, unknown> {
  const max = (input.maxResults as number | undefined) ?? 100;
  if (max < 1 || max > 1000) throw new InvalidParameterException({ message: 'maxResults out of range', ...meta });
  const offset = input.nextToken ? Number(input.nextToken) : 0;
  const out: Record<string, unknown> = { [key]: items.slice(offset, offset + max) };
  if (offset + max < items.length) out.nextToken = String(offset + max);
  return out;
}
