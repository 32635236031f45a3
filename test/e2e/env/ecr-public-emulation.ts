/**
 * Amazon ECR Public for the local AWS layer: moto 5.2 has none of it. Requests with the X-Amz-Target
 * prefix SpencerFrontendService (the API's JSON 1.1 target) are answered here and never reach moto.
 * State is kept per account (the signing credentials' account, as moto maps them); ECR Public is one
 * registry per account, served from us-east-1 only.
 *
 * Each operation follows its page of the Amazon ECR Public API Reference
 * (https://docs.aws.amazon.com/AmazonECRPublic/latest/APIReference/), cited next to it: request
 * members and their constraints, response members, errors. Constraints refused with
 * InvalidParameterException in ECR's words ("Invalid parameter at 'x' failed to satisfy constraint:
 * '...'"), the one error the reference lists for bad input. Known simplifications, each said where
 * it applies: no IAM evaluation of repository policies, no lockout check of SetRepositoryPolicy's
 * force, no image pulls.
 *
 * Pure apart from the clock and random ids: `call` takes the operation, its input and the caller's
 * registry; `handle` adapts it to the layer's Emulation interface (emulations.ts).
 */
import { createHash, randomFillSync, randomUUID } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { awsJsonError, type EmulatedAnswer, type EmulatedRequest, type Emulation } from './emulations.js';

export const ECR_PUBLIC_TARGET = 'SpencerFrontendService';
/** ECR Public's API endpoint exists in this region only (api.ecr-public.us-east-1.amazonaws.com). */
export const ECR_PUBLIC_REGION = 'us-east-1';

// --- limits, from the reference's data types -----------------------------------------------------

/** RepositoryName: 2 to 205 characters. AWS's pattern, written with disjoint classes (the same language). */
const REPOSITORY_NAME = /^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/;
const REPOSITORY_NAME_MAX = 205;
const REGISTRY_ID = /^[0-9]{12}$/;
/** RepositoryCatalogDataInput (API_RepositoryCatalogDataInput.html). */
const DESCRIPTION_MAX = 1024;
const ABOUT_TEXT_MAX = 25_600;
const USAGE_TEXT_MAX = 25_600;
const LIST_ITEMS_MAX = 50;
const LIST_ITEM_MAX = 50;
/** logoImageBlob: at most 512,000 bytes (the API model), 60 to 2048 pixels each way (ECR Public User Guide, "Repository catalog data"). */
const LOGO_MAX_BYTES = 512_000;
const LOGO_MIN_PIXELS = 60;
const LOGO_MAX_PIXELS = 2048;
const POLICY_MAX = 10_240;
/** Tag (API_Tag.html): keys 1 to 128, values 0 to 256; a call carries at most 200; a repository holds at most 50 (TooManyTagsException). */
const TAG_KEY_MAX = 128;
const TAG_VALUE_MAX = 256;
const TAGS_PER_CALL = 200;
const TAGS_PER_REPOSITORY = 50;
const NAMES_PER_CALL = 100;
const IMAGE_IDS_PER_CALL = 100;
/** MaxResults: 1 to 1000; without it a page holds 100 (as ECR pages). */
const MAX_RESULTS = 1000;
const DEFAULT_PAGE = 100;
const IMAGE_TAG_MAX = 300;
const MANIFEST_MAX = 4_194_304;
/** Layer parts: at least 5 MiB each except the last (User Guide, "service quotas"); at most 20,971,520 bytes a call (the API model). */
const LAYER_PART_MAX = 20_971_520;

// --- state ----------------------------------------------------------------------------------------

interface Catalog {
  description?: string;
  architectures?: string[];
  operatingSystems?: string[];
  aboutText?: string;
  usageText?: string;
  logoUrl?: string;
}

interface Image {
  digest: string;
  tags: string[];
  sizeInBytes: number;
  pushedAt: Date;
  manifestMediaType: string;
  artifactMediaType?: string;
}

interface Upload {
  data: Buffer[];
  received: number;
}

interface PublicRepository {
  name: string;
  arn: string;
  createdAt: Date;
  catalog: Catalog;
  policy?: string;
  tags: Map<string, string>;
  images: Map<string, Image>;
  layers: Map<string, number>;
  uploads: Map<string, Upload>;
}

interface PublicRegistry {
  accountId: string;
  /** Assigned with the first repository, as AWS assigns the default alias. */
  alias?: string;
  repositories: Map<string, PublicRepository>;
}

export interface Caller {
  accountId: string;
  /** The region the request was signed for. */
  region: string;
  now: Date;
}

type Input = Record<string, unknown>;

// --- answers --------------------------------------------------------------------------------------

function ok(body: Record<string, unknown>): EmulatedAnswer {
  return { status: 200, body };
}

function invalid(at: string, constraint: string): EmulatedAnswer {
  return awsJsonError(400, 'InvalidParameterException', `Invalid parameter at '${at}' failed to satisfy constraint: '${constraint}'`);
}

function repositoryNotFound(name: string, registryId: string): EmulatedAnswer {
  return awsJsonError(400, 'RepositoryNotFoundException', `The repository with name '${name}' does not exist in the registry with id '${registryId}'`);
}

class Refusal {
  constructor(readonly answer: EmulatedAnswer) {}
}

/** Throws the answer: the checks below stop at the first problem, as AWS reports one. */
function refuse(answer: EmulatedAnswer): never {
  throw new Refusal(answer);
}

// --- input checks ---------------------------------------------------------------------------------

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(input: Input, key: string, max: number, at = key): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') refuse(invalid(at, 'Member must be a string'));
  if (value.length > max) refuse(invalid(at, `Member must have length less than or equal to ${max}`));
  return value;
}

function repositoryNameOf(input: Input, key = 'repositoryName'): string {
  const name = input[key];
  if (typeof name !== 'string') refuse(invalid(key, 'Member must not be null'));
  if (name.length < 2 || name.length > REPOSITORY_NAME_MAX) refuse(invalid(key, `Member must have length between 2 and ${REPOSITORY_NAME_MAX}`));
  if (!REPOSITORY_NAME.test(name)) {
    refuse(invalid(key, "must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*'"));
  }
  return name;
}

function registryIdOf(input: Input, caller: Caller): string {
  const id = input.registryId;
  if (id === undefined || id === null) return caller.accountId;
  if (typeof id !== 'string' || !REGISTRY_ID.test(id)) refuse(invalid('registryId', "must satisfy regular expression '[0-9]{12}'"));
  return id;
}

function maxResultsOf(input: Input): number | undefined {
  const value = input.maxResults;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_RESULTS) {
    refuse(invalid('maxResults', `Member must have value between 1 and ${MAX_RESULTS}`));
  }
  return value;
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function offsetOf(input: Input): number {
  const token = input.nextToken;
  if (token === undefined || token === null) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // answered below
  }
  return refuse(invalid('nextToken', 'Invalid pagination token'));
}

/** A page of `items` and the token of the next, as the reference's paginated operations answer. */
function page<T>(items: T[], input: Input, maxResults: number | undefined): { items: T[]; nextToken?: string } {
  const offset = offsetOf(input);
  const size = maxResults ?? DEFAULT_PAGE;
  const out: { items: T[]; nextToken?: string } = { items: items.slice(offset, offset + size) };
  if (offset + size < items.length) out.nextToken = encodeToken(offset + size);
  return out;
}

function stringList(value: unknown, at: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) refuse(invalid(at, 'Member must be a list'));
  if (value.length > LIST_ITEMS_MAX) refuse(invalid(at, `Member must have length less than or equal to ${LIST_ITEMS_MAX}`));
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.length < 1 || item.length > LIST_ITEM_MAX) {
      refuse(invalid(`${at}.${i + 1}.member`, `Member must have length between 1 and ${LIST_ITEM_MAX}`));
    }
  });
  return value as string[];
}

/** Width and height of a PNG (IHDR) or baseline/progressive JPEG (SOFn), or undefined for anything else. */
export function imageDimensions(bytes: Buffer): { format: 'png' | 'jpeg'; width: number; height: number } | undefined {
  const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(PNG_SIGNATURE) && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return { format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1] as number;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    const length = bytes.readUInt16BE(i + 2);
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > bytes.length) return undefined;
      return { format: 'jpeg', height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  return undefined;
}

/** The logo of a RepositoryCatalogDataInput: base64 on the wire (a JSON-protocol blob), checked as the reference and User Guide say. */
function logoOf(value: unknown, at: string): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    refuse(invalid(at, 'Member must be a base64-encoded blob'));
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length > LOGO_MAX_BYTES) refuse(invalid(at, `Member must have length less than or equal to ${LOGO_MAX_BYTES}`));
  if (bytes.length === 0) return bytes;
  const image = imageDimensions(bytes);
  if (!image) refuse(invalid(at, 'Logo image must be a PNG or JPEG image'));
  for (const [side, size] of [['width', image.width], ['height', image.height]] as const) {
    if (size < LOGO_MIN_PIXELS || size > LOGO_MAX_PIXELS) {
      refuse(invalid(at, `Logo image ${side} must be between ${LOGO_MIN_PIXELS} and ${LOGO_MAX_PIXELS} pixels`));
    }
  }
  return bytes;
}

/** RepositoryCatalogDataInput (API_RepositoryCatalogDataInput.html) as stored: the logo becomes a logoUrl. */
function catalogOf(value: unknown, at: string): Catalog {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) refuse(invalid(at, 'Member must be a structure'));
  const catalog: Catalog = {};
  const description = optionalString(value, 'description', DESCRIPTION_MAX, `${at}.description`);
  if (description !== undefined) catalog.description = description;
  const architectures = stringList(value.architectures, `${at}.architectures`);
  if (architectures !== undefined) catalog.architectures = architectures;
  const operatingSystems = stringList(value.operatingSystems, `${at}.operatingSystems`);
  if (operatingSystems !== undefined) catalog.operatingSystems = operatingSystems;
  const aboutText = optionalString(value, 'aboutText', ABOUT_TEXT_MAX, `${at}.aboutText`);
  if (aboutText !== undefined) catalog.aboutText = aboutText;
  const usageText = optionalString(value, 'usageText', USAGE_TEXT_MAX, `${at}.usageText`);
  if (usageText !== undefined) catalog.usageText = usageText;
  const logo = logoOf(value.logoImageBlob, `${at}.logoImageBlob`);
  if (logo && logo.length > 0) {
    const extension = imageDimensions(logo)?.format === 'jpeg' ? 'jpg' : 'png';
    // Every upload gets a new address, as the reference's examples show.
    catalog.logoUrl = `https://ecr-public-logos.local.invalid/logo/${randomUUID()}/${randomUUID()}.${extension}`;
  }
  return catalog;
}

/** RepositoryCatalogData (API_RepositoryCatalogData.html): what the API answers with. */
function catalogView(catalog: Catalog): Record<string, unknown> {
  const out: Record<string, unknown> = { ...catalog };
  if (Object.keys(catalog).length > 0) out.marketplaceCertified = false;
  return out;
}

function tagsOf(value: unknown, at: string, required: boolean): Array<{ Key: string; Value: string }> {
  if (value === undefined || value === null) {
    if (required) refuse(invalid(at, 'Member must not be null'));
    return [];
  }
  if (!Array.isArray(value)) refuse(invalid(at, 'Member must be a list'));
  if (value.length > TAGS_PER_CALL) refuse(invalid(at, `Member must have length less than or equal to ${TAGS_PER_CALL}`));
  return value.map((tag) => {
    const key = isObject(tag) ? tag.Key : undefined;
    const val = isObject(tag) ? tag.Value ?? '' : undefined;
    if (typeof key !== 'string' || key.length < 1 || key.length > TAG_KEY_MAX || typeof val !== 'string' || val.length > TAG_VALUE_MAX) {
      refuse(awsJsonError(400, 'InvalidTagParameterException', `Tag keys can have a maximum character length of ${TAG_KEY_MAX} characters, and tag values can have a maximum length of ${TAG_VALUE_MAX} characters.`));
    }
    if (key.toLowerCase().startsWith('aws:')) {
      refuse(awsJsonError(400, 'InvalidTagParameterException', "The 'aws:' prefix is reserved for AWS use and cannot be used in tag keys."));
    }
    return { Key: key, Value: val };
  });
}

// --- the Jackson-style text in which ECR returns a policy (see the reference's examples) ----------

/** `{\n  "Version" : "2008-10-17",\n  "Statement" : [ {\n ... } ]\n}`: how ECR answers with a stored policy. */
export function awsPolicyText(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[ ]';
    return `[ ${value.map((v) => awsPolicyText(v, indent)).join(', ')} ]`;
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{ }';
    const inner = `${indent}  `;
    return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)} : ${awsPolicyText(value[k], inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

// --- the emulation ---------------------------------------------------------------------------------

function defaultAlias(accountId: string): string {
  // A lowercase letter, then seven letters or digits: the shape of AWS's default aliases.
  const hex = createHash('sha256').update(`ecr-public-alias:${accountId}`).digest();
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let alias = letters[(hex[0] as number) % letters.length] as string;
  for (let i = 1; i < 8; i++) alias += chars[(hex[i] as number) % chars.length];
  return alias;
}

export class EcrPublicEmulation implements Emulation {
  readonly name = 'ecr-public';
  private readonly registries = new Map<string, PublicRegistry>();
  /** Whether the layer's registry() answers for ECR Public's requests (see callerOf). */
  private layerKnowsCaller = true;

  async handle(request: EmulatedRequest): Promise<EmulatedAnswer | undefined> {
    if (request.service !== ECR_PUBLIC_TARGET) return undefined;
    let registry = this.layerKnowsCaller ? await request.registry() : undefined;
    if (!registry) {
      registry = await callerOf(request);
      // Once the layer could not tell, moto is asked directly: one call per request instead of two.
      if (registry) this.layerKnowsCaller = false;
    }
    if (!registry) return awsJsonError(500, 'ServerException', 'local AWS layer: the account of the request could not be told from its credentials');
    return this.call(request.operation, request.input, { ...registry, now: request.now });
  }

  /** Answers one ECR Public request of `caller`. */
  call(operation: string, input: Input, caller: Caller): EmulatedAnswer {
    if (caller.region !== ECR_PUBLIC_REGION) {
      // No api.ecr-public.<region>.amazonaws.com exists elsewhere: nothing in another region answers.
      return awsJsonError(400, 'UnsupportedCommandException', `The action isn't supported in this Region: Amazon ECR Public has no endpoint in ${caller.region}; its API is served from ${ECR_PUBLIC_REGION} only`);
    }
    const handler = this.operations[operation];
    if (!handler) return awsJsonError(400, 'UnsupportedCommandException', `${operation} is not emulated by the local AWS layer`);
    try {
      return handler(input, caller);
    } catch (err) {
      if (err instanceof Refusal) return err.answer;
      throw err;
    }
  }

  private registryOf(accountId: string): PublicRegistry {
    let registry = this.registries.get(accountId);
    if (!registry) {
      registry = { accountId, repositories: new Map() };
      this.registries.set(accountId, registry);
    }
    return registry;
  }

  /** The repository named in the input, in the registry the input names (the caller's by default). */
  private repositoryOf(input: Input, caller: Caller): { registry: PublicRegistry; repository: PublicRepository } {
    const registryId = registryIdOf(input, caller);
    const name = repositoryNameOf(input);
    const registry = this.registryOf(registryId);
    const repository = registry.repositories.get(name);
    if (!repository) refuse(repositoryNotFound(name, registryId));
    return { registry, repository };
  }

  private repositoryByArn(input: Input, caller: Caller): PublicRepository {
    const arn = input.resourceArn;
    if (typeof arn !== 'string' || arn.length < 1 || arn.length > 2048) refuse(invalid('resourceArn', 'Member must have length between 1 and 2048'));
    const m = /^arn:aws:ecr-public::([0-9]{12}):repository\/(.+)$/.exec(arn);
    if (!m) refuse(invalid('resourceArn', 'Invalid ARN'));
    const [, accountId, name] = m as unknown as [string, string, string];
    const repository = accountId === caller.accountId ? this.registryOf(accountId).repositories.get(name) : undefined;
    if (!repository) refuse(repositoryNotFound(name, accountId));
    return repository;
  }

  private repositoryView(registry: PublicRegistry, repository: PublicRepository): Record<string, unknown> {
    return {
      repositoryArn: repository.arn,
      registryId: registry.accountId,
      repositoryName: repository.name,
      repositoryUri: `public.ecr.aws/${registry.alias ?? ''}/${repository.name}`,
      createdAt: repository.createdAt.getTime() / 1000,
    };
  }

  private imageView(registry: PublicRegistry, repository: PublicRepository, image: Image): Record<string, unknown> {
    const out: Record<string, unknown> = {
      registryId: registry.accountId,
      repositoryName: repository.name,
      imageDigest: image.digest,
      imageSizeInBytes: image.sizeInBytes,
      imagePushedAt: image.pushedAt.getTime() / 1000,
      imageManifestMediaType: image.manifestMediaType,
    };
    if (image.tags.length > 0) out.imageTags = [...image.tags];
    if (image.artifactMediaType) out.artifactMediaType = image.artifactMediaType;
    return out;
  }

  private readonly operations: Record<string, (input: Input, caller: Caller) => EmulatedAnswer> = {
    // API_CreateRepository.html: repositoryName (required), catalogData, tags. Errors:
    // RepositoryAlreadyExistsException, InvalidParameterException, InvalidTagParameterException,
    // TooManyTagsException, LimitExceededException (10,000 repositories, the default quota).
    CreateRepository: (input, caller) => {
      const name = repositoryNameOf(input);
      const catalog = catalogOf(input.catalogData, 'catalogData');
      const tags = tagsOf(input.tags, 'tags', false);
      const registry = this.registryOf(caller.accountId);
      if (registry.repositories.has(name)) {
        return awsJsonError(400, 'RepositoryAlreadyExistsException', `The repository with name '${name}' already exists in the registry with id '${registry.accountId}'`);
      }
      if (new Set(tags.map((t) => t.Key)).size > TAGS_PER_REPOSITORY) return tooManyTags();
      if (registry.repositories.size >= 10_000) return awsJsonError(400, 'LimitExceededException', 'The maximum number of repositories (10000) has been reached in this registry');
      registry.alias ??= defaultAlias(registry.accountId);
      const repository: PublicRepository = {
        name,
        arn: `arn:aws:ecr-public::${registry.accountId}:repository/${name}`,
        createdAt: caller.now,
        catalog,
        tags: new Map(tags.map((t) => [t.Key, t.Value])),
        images: new Map(),
        layers: new Map(),
        uploads: new Map(),
      };
      registry.repositories.set(name, repository);
      return ok({ repository: this.repositoryView(registry, repository), catalogData: catalogView(catalog) });
    },

    // API_DescribeRepositories.html: registryId, repositoryNames (1-100), maxResults (1-1000; not
    // with repositoryNames), nextToken. A name that does not exist fails the whole call.
    DescribeRepositories: (input, caller) => {
      const registryId = registryIdOf(input, caller);
      const registry = this.registryOf(registryId);
      const maxResults = maxResultsOf(input);
      if (input.repositoryNames !== undefined && input.repositoryNames !== null) {
        const names = input.repositoryNames;
        if (!Array.isArray(names) || names.length < 1 || names.length > NAMES_PER_CALL) {
          return invalid('repositoryNames', `Member must have length between 1 and ${NAMES_PER_CALL}`);
        }
        if (maxResults !== undefined || input.nextToken !== undefined) {
          return awsJsonError(400, 'InvalidParameterException', 'Invalid parameter: maxResults and nextToken cannot be used when repositoryNames is specified');
        }
        const found: Record<string, unknown>[] = [];
        names.forEach((n, i) => {
          const at = `repositoryNames.${i + 1}.member`;
          const name = repositoryNameOf({ [at]: n }, at);
          const repository = registry.repositories.get(name);
          if (!repository) refuse(repositoryNotFound(name, registryId));
          if (i === names.indexOf(n)) found.push(this.repositoryView(registry, repository));
        });
        return ok({ repositories: found });
      }
      const all = [...registry.repositories.values()].map((r) => this.repositoryView(registry, r));
      const { items, nextToken } = page(all, input, maxResults);
      return ok({ repositories: items, ...(nextToken ? { nextToken } : {}) });
    },

    // API_DeleteRepository.html: repositoryName, registryId, force. Without force a repository
    // that holds images is refused with RepositoryNotEmptyException; with force its images go too.
    DeleteRepository: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      if (input.force !== undefined && typeof input.force !== 'boolean') return invalid('force', 'Member must be a boolean');
      if (repository.images.size > 0 && input.force !== true) {
        return awsJsonError(400, 'RepositoryNotEmptyException', `The repository with name '${repository.name}' in registry with id '${registry.accountId}' cannot be deleted because it still contains images`);
      }
      registry.repositories.delete(repository.name);
      return ok({ repository: this.repositoryView(registry, repository) });
    },

    // API_PutRepositoryCatalogData.html: repositoryName, registryId, catalogData (required). The
    // catalog data is replaced as a whole; a logo gets a new logoUrl.
    PutRepositoryCatalogData: (input, caller) => {
      const { repository } = this.repositoryOf(input, caller);
      if (!isObject(input.catalogData)) return invalid('catalogData', 'Member must not be null');
      repository.catalog = catalogOf(input.catalogData, 'catalogData');
      return ok({ catalogData: catalogView(repository.catalog) });
    },

    // API_GetRepositoryCatalogData.html: repositoryName, registryId.
    GetRepositoryCatalogData: (input, caller) => {
      const { repository } = this.repositoryOf(input, caller);
      return ok({ catalogData: catalogView(repository.catalog) });
    },

    // API_SetRepositoryPolicy.html: repositoryName, policyText (0-10240, required), force,
    // registryId. ECR keeps the policy and answers with it in its own formatting. Not emulated: the
    // check that a policy would lock the caller out (which `force` overrides).
    SetRepositoryPolicy: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      const text = input.policyText;
      if (typeof text !== 'string') return invalid('policyText', 'Member must not be null');
      if (text.length > POLICY_MAX) return invalid('policyText', `Member must have length less than or equal to ${POLICY_MAX}`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!isObject(parsed) || !('Statement' in parsed)) return invalid('PolicyText', 'Invalid repository policy provided');
      repository.policy = awsPolicyText(parsed);
      return ok({ registryId: registry.accountId, repositoryName: repository.name, policyText: repository.policy });
    },

    // API_GetRepositoryPolicy.html: RepositoryPolicyNotFoundException when there is none.
    GetRepositoryPolicy: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      if (repository.policy === undefined) return policyNotFound(repository.name, registry.accountId);
      return ok({ registryId: registry.accountId, repositoryName: repository.name, policyText: repository.policy });
    },

    // API_DeleteRepositoryPolicy.html: answers with the policy it deleted.
    DeleteRepositoryPolicy: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      const policy = repository.policy;
      if (policy === undefined) return policyNotFound(repository.name, registry.accountId);
      delete repository.policy;
      return ok({ registryId: registry.accountId, repositoryName: repository.name, policyText: policy });
    },

    // API_TagResource.html: resourceArn, tags (0-200, required). TooManyTagsException past 50 on the repository.
    TagResource: (input, caller) => {
      const repository = this.repositoryByArn(input, caller);
      const tags = tagsOf(input.tags, 'tags', true);
      const next = new Map(repository.tags);
      for (const t of tags) next.set(t.Key, t.Value);
      if (next.size > TAGS_PER_REPOSITORY) return tooManyTags();
      repository.tags = next;
      return ok({});
    },

    // API_UntagResource.html: resourceArn, tagKeys (0-200, required).
    UntagResource: (input, caller) => {
      const repository = this.repositoryByArn(input, caller);
      const keys = input.tagKeys;
      if (!Array.isArray(keys)) return invalid('tagKeys', 'Member must not be null');
      if (keys.length > TAGS_PER_CALL) return invalid('tagKeys', `Member must have length less than or equal to ${TAGS_PER_CALL}`);
      for (const key of keys) {
        if (typeof key !== 'string' || key.length < 1 || key.length > TAG_KEY_MAX) {
          return awsJsonError(400, 'InvalidTagParameterException', `Tag keys can have a maximum character length of ${TAG_KEY_MAX} characters, and tag values can have a maximum length of ${TAG_VALUE_MAX} characters.`);
        }
      }
      for (const key of keys as string[]) repository.tags.delete(key);
      return ok({});
    },

    // API_ListTagsForResource.html: resourceArn.
    ListTagsForResource: (input, caller) => {
      const repository = this.repositoryByArn(input, caller);
      return ok({ tags: [...repository.tags].map(([Key, Value]) => ({ Key, Value })) });
    },

    // API_DescribeRegistries.html: maxResults (1-1000), nextToken. One registry per account; its
    // default alias exists once the first repository was created (User Guide, "Registry settings").
    DescribeRegistries: (input, caller) => {
      const registry = this.registryOf(caller.accountId);
      const maxResults = maxResultsOf(input);
      const entry = {
        registryId: registry.accountId,
        registryArn: `arn:aws:ecr-public::${registry.accountId}:registry/${registry.accountId}`,
        registryUri: registry.alias ? `public.ecr.aws/${registry.alias}` : '',
        verified: false,
        aliases: registry.alias ? [{ name: registry.alias, status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }] : [],
      };
      const { items, nextToken } = page([entry], input, maxResults);
      return ok({ registries: items, ...(nextToken ? { nextToken } : {}) });
    },

    // API_GetRegistryCatalogData.html: the registry's display name (empty until one is set).
    GetRegistryCatalogData: (_input, caller) => {
      this.registryOf(caller.accountId);
      return ok({ registryCatalogData: { displayName: '' } });
    },

    // API_DescribeImages.html: repositoryName, registryId, imageIds (1-100), maxResults (1-1000;
    // not with imageIds), nextToken. ImageNotFoundException names an image asked for that is not there.
    DescribeImages: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      const maxResults = maxResultsOf(input);
      const all = [...repository.images.values()];
      if (input.imageIds !== undefined && input.imageIds !== null) {
        const ids = input.imageIds;
        if (!Array.isArray(ids) || ids.length < 1 || ids.length > IMAGE_IDS_PER_CALL) return invalid('imageIds', `Member must have length between 1 and ${IMAGE_IDS_PER_CALL}`);
        if (maxResults !== undefined || input.nextToken !== undefined) {
          return awsJsonError(400, 'InvalidParameterException', 'Invalid parameter: maxResults and nextToken cannot be used when imageIds is specified');
        }
        const found = ids.map((id) => {
          const digest = isObject(id) ? id.imageDigest : undefined;
          const tag = isObject(id) ? id.imageTag : undefined;
          const image = all.find((i) => (digest === undefined || i.digest === digest) && (tag === undefined || i.tags.includes(String(tag))) && (digest !== undefined || tag !== undefined));
          if (!image) {
            refuse(awsJsonError(400, 'ImageNotFoundException', `The image with imageId {imageDigest:'${String(digest ?? 'null')}', imageTag:'${String(tag ?? 'null')}'} does not exist within the repository with name '${repository.name}' in the registry with id '${registry.accountId}'`));
          }
          return this.imageView(registry, repository, image);
        });
        return ok({ imageDetails: found });
      }
      const { items, nextToken } = page(all, input, maxResults);
      return ok({ imageDetails: items.map((i) => this.imageView(registry, repository, i)), ...(nextToken ? { nextToken } : {}) });
    },

    // API_InitiateLayerUpload.html: an uploadId and the part size to use.
    InitiateLayerUpload: (input, caller) => {
      const { repository } = this.repositoryOf(input, caller);
      const uploadId = randomUUID();
      repository.uploads.set(uploadId, { data: [], received: 0 });
      return ok({ uploadId, partSize: 10_485_760 });
    },

    // API_UploadLayerPart.html: parts arrive in order (partFirstByte is the next byte expected).
    UploadLayerPart: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      const uploadId = String(input.uploadId ?? '');
      const upload = repository.uploads.get(uploadId);
      if (!upload) return awsJsonError(400, 'UploadNotFoundException', `The upload with id '${uploadId}' could not be found`);
      const blob = input.layerPartBlob;
      if (typeof blob !== 'string') return invalid('layerPartBlob', 'Member must not be null');
      const bytes = Buffer.from(blob, 'base64');
      if (bytes.length > LAYER_PART_MAX) return invalid('layerPartBlob', `Member must have length less than or equal to ${LAYER_PART_MAX}`);
      const first = Number(input.partFirstByte);
      const last = Number(input.partLastByte);
      if (first !== upload.received || last !== first + bytes.length - 1) {
        return awsJsonError(400, 'InvalidLayerPartException', `The layer part with first byte ${first} and last byte ${last} is not valid for upload '${uploadId}' (last byte received: ${upload.received - 1})`);
      }
      upload.data.push(bytes);
      upload.received += bytes.length;
      return ok({ registryId: registry.accountId, repositoryName: repository.name, uploadId, lastByteReceived: upload.received - 1 });
    },

    // API_CompleteLayerUpload.html: the digest must be the sha256 of what was uploaded.
    CompleteLayerUpload: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      const uploadId = String(input.uploadId ?? '');
      const upload = repository.uploads.get(uploadId);
      if (!upload) return awsJsonError(400, 'UploadNotFoundException', `The upload with id '${uploadId}' could not be found`);
      if (upload.received === 0) return awsJsonError(400, 'EmptyUploadException', `The upload with id '${uploadId}' contains no layer parts`);
      const digests = input.layerDigests;
      if (!Array.isArray(digests) || digests.length !== 1) return invalid('layerDigests', 'Member must have length between 1 and 1');
      const data = Buffer.concat(upload.data);
      const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      if (digests[0] !== digest) return awsJsonError(400, 'InvalidLayerException', `The layer digest '${String(digests[0])}' does not match the uploaded content's digest '${digest}'`);
      repository.uploads.delete(uploadId);
      if (repository.layers.has(digest)) return awsJsonError(400, 'LayerAlreadyExistsException', `The layer with digest '${digest}' already exists in the repository with name '${repository.name}' in the registry with id '${registry.accountId}'`);
      repository.layers.set(digest, data.length);
      return ok({ registryId: registry.accountId, repositoryName: repository.name, uploadId, layerDigest: digest });
    },

    // API_BatchCheckLayerAvailability.html.
    BatchCheckLayerAvailability: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      const digests = input.layerDigests;
      if (!Array.isArray(digests) || digests.length < 1 || digests.length > 100) return invalid('layerDigests', 'Member must have length between 1 and 100');
      const layers = digests.filter((d) => repository.layers.has(String(d))).map((d) => ({ layerDigest: d, layerAvailability: 'AVAILABLE', layerSize: repository.layers.get(String(d)) }));
      const failures = digests.filter((d) => !repository.layers.has(String(d))).map((d) => ({ layerDigest: d, failureCode: 'MissingLayerDigest', failureReason: `The layer with digest '${String(d)}' does not exist in the repository with name '${repository.name}' in the registry with id '${registry.accountId}'` }));
      return ok({ layers, failures });
    },

    // API_PutImage.html: imageManifest (1-4194304, required), imageManifestMediaType, imageTag
    // (1-300), imageDigest. The config and layers the manifest names must have been uploaded
    // (LayersNotFoundException); the same image and tag again is ImageAlreadyExistsException.
    PutImage: (input, caller) => {
      const { registry, repository } = this.repositoryOf(input, caller);
      const manifest = input.imageManifest;
      if (typeof manifest !== 'string' || manifest.length < 1 || manifest.length > MANIFEST_MAX) return invalid('imageManifest', `Member must have length between 1 and ${MANIFEST_MAX}`);
      const tag = optionalString(input, 'imageTag', IMAGE_TAG_MAX);
      if (tag !== undefined && tag.length < 1) return invalid('imageTag', `Member must have length between 1 and ${IMAGE_TAG_MAX}`);
      let parsed: { mediaType?: unknown; config?: { digest?: unknown; mediaType?: unknown; size?: unknown }; layers?: Array<{ digest?: unknown; size?: unknown }> };
      try {
        parsed = JSON.parse(manifest) as typeof parsed;
      } catch {
        return awsJsonError(400, 'InvalidParameterException', 'Invalid parameter at \'imageManifest\' failed to satisfy constraint: \'Invalid JSON syntax\'');
      }
      const referenced = [parsed.config?.digest, ...(parsed.layers ?? []).map((l) => l.digest)].filter((d): d is string => typeof d === 'string');
      const missing = referenced.filter((d) => !repository.layers.has(d));
      if (missing.length > 0) {
        return awsJsonError(400, 'LayersNotFoundException', `Layers with digests '[${missing.join(', ')}]' required for pushing image into repository with name '${repository.name}' in the registry with id '${registry.accountId}' do not exist`);
      }
      const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
      if (typeof input.imageDigest === 'string' && input.imageDigest !== digest) {
        return awsJsonError(400, 'ImageDigestDoesNotMatchException', `The specified digest '${input.imageDigest}' does not match the digest of the manifest '${digest}'`);
      }
      const existing = repository.images.get(digest);
      if (existing && (tag === undefined || existing.tags.includes(tag))) {
        return awsJsonError(400, 'ImageAlreadyExistsException', `Image with digest '${digest}'${tag ? ` and tag '${tag}'` : ''} already exists in the repository with name '${repository.name}' in the registry with id '${registry.accountId}'`);
      }
      if (tag !== undefined) {
        // A tag points at one image: pushing it again moves it.
        for (const image of repository.images.values()) image.tags = image.tags.filter((t) => t !== tag);
      }
      const size = (parsed.layers ?? []).reduce((sum, l) => sum + (typeof l.size === 'number' ? l.size : 0), 0);
      const mediaType = typeof input.imageManifestMediaType === 'string' ? input.imageManifestMediaType : typeof parsed.mediaType === 'string' ? parsed.mediaType : 'application/vnd.docker.distribution.manifest.v2+json';
      const image: Image = existing ?? { digest, tags: [], sizeInBytes: size, pushedAt: caller.now, manifestMediaType: mediaType };
      if (typeof parsed.config?.mediaType === 'string') image.artifactMediaType = parsed.config.mediaType;
      if (tag !== undefined) image.tags.push(tag);
      repository.images.set(digest, image);
      return ok({
        image: {
          registryId: registry.accountId,
          repositoryName: repository.name,
          imageId: { imageDigest: digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
          imageManifest: manifest,
          imageManifestMediaType: mediaType,
        },
      });
    },
  };
}

/**
 * The caller's account and signed region, asked of moto as the caller when the layer's registry()
 * cannot tell them (it asks moto with the request's own credential scope, and moto routes by the
 * scope's service, where it has no ecr-public): ECR's GetAuthorizationToken answers with
 * https://<account>.dkr.ecr.<region>.amazonaws.com for the credentials and region it was signed with.
 */
async function callerOf(request: EmulatedRequest): Promise<{ accountId: string; region: string } | undefined> {
  if (!request.moto) return undefined;
  const out = await request.moto('AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', 'ecr', {});
  const endpoint = (out.body.authorizationData as Array<{ proxyEndpoint?: unknown }> | undefined)?.[0]?.proxyEndpoint;
  const m = /^https:\/\/([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/.exec(typeof endpoint === 'string' ? endpoint : '');
  return out.status === 200 && m ? { accountId: m[1] as string, region: m[2] as string } : undefined;
}

function tooManyTags(): EmulatedAnswer {
  return awsJsonError(400, 'TooManyTagsException', `The list of tags on the repository is over the limit. The maximum number of tags that can be applied to a repository is ${TAGS_PER_REPOSITORY}.`);
}

function policyNotFound(name: string, registryId: string): EmulatedAnswer {
  return awsJsonError(400, 'RepositoryPolicyNotFoundException', `Repository policy does not exist for the repository with name '${name}' in the registry with id '${registryId}'`);
}

// --- images for tests ------------------------------------------------------------------------------

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/**
 * A valid PNG of the given size (8-bit grayscale), for tests of logos. `noise` fills it with random
 * pixels, which do not compress: a way to make a logo of a known size class.
 */
export function testPng(width: number, height: number, opts: { noise?: boolean } = {}): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  const row = width + 1; // a filter byte, then the pixels
  const raw = Buffer.alloc(row * height);
  if (opts.noise) {
    for (let y = 0; y < height; y++) randomFillSync(raw, y * row + 1, width);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
