/**
 * Amazon ECR's repository creation templates for the local AWS layer: moto 5.2 implements none of
 * the four operations. Requests for them are answered here and never reach moto. State is kept per
 * registry: the account of the signing credentials (as moto maps them) and the signed region.
 *
 * Each operation follows its page of the Amazon ECR API Reference
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/), cited next to it, and the data types
 * RepositoryCreationTemplate and EncryptionConfigurationForRepositoryCreationTemplate: required
 * members, lengths, patterns, enums, list sizes and the errors each page lists. What the model
 * constrains is refused as AWS's request validation refuses it, with ValidationException and the
 * "1 validation error detected: ..." text; what the service decides, with InvalidParameterException:
 * a template that applies to nothing, exclusion filters without an exclusion mode (or such a mode
 * without filters), a KMS key with AES256, a policy that is not a JSON policy document, a role that
 * is not an IAM role of the registry's account, more than 50 tags (as on a repository), the reserved
 * aws: tag prefix. UpdateRepositoryCreationTemplate changes the members it names and keeps the
 * others; an empty text or tag list clears a member, and a mode without exclusions drops the filters.
 * The pages document no exact message for the service's errors; the messages below follow ECR's
 * usual wording.
 *
 * Pure apart from the clock: `call` takes the operation, its input and the caller's registry;
 * `handle` adapts it to the layer's Emulation interface (emulations.ts).
 */
import { awsJsonError, type EmulatedAnswer, type EmulatedRequest, type Emulation } from './emulations.js';

// --- limits, from the reference's data types -----------------------------------------------------

/** Prefix: 1 to 256 characters, AWS's pattern. */
const PREFIX_MIN = 1;
const PREFIX_MAX = 256;
export const PREFIX_PATTERN = '^([a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*\\/?|ROOT)$';
/** RepositoryTemplateDescription: at most 256 characters. */
const DESCRIPTION_MAX = 256;
/** KmsKeyForRepositoryCreationTemplate: at most 2048 characters, AWS's pattern. */
const KMS_KEY_MAX = 2048;
const KMS_KEY_PATTERN = '^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\\/[a-z0-9-]+';
const ENCRYPTION_TYPES = ['AES256', 'KMS', 'KMS_DSSE'];
const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'];
const EXCLUSION_MODES = ['IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'];
/** ImageTagMutabilityExclusionFilters: 1 to 5; each filter 1 to 128 characters of AWS's pattern, type WILDCARD. */
const FILTERS_MAX = 5;
const FILTER_PATTERN = '^[0-9a-zA-Z._*-]{1,128}$';
/** RepositoryPolicyText: 0 to 10,240; LifecyclePolicyTextForRepositoryCreationTemplate: 0 to 30,720. */
const REPOSITORY_POLICY_MAX = 10_240;
const LIFECYCLE_POLICY_MAX = 30_720;
const APPLIED_FOR = ['REPLICATION', 'PULL_THROUGH_CACHE', 'CREATE_ON_PUSH'];
/** CustomRoleArn: at most 2048 characters. */
const CUSTOM_ROLE_ARN_MAX = 2048;
/** Tag: keys 1 to 128, values 0 to 256 (API_Tag.html); at most 50 on a repository. */
const TAG_KEY_MAX = 128;
const TAG_VALUE_MAX = 256;
const TAGS_MAX = 50;
/** MaxResults: 1 to 1000; without it a page holds up to 100. */
const MAX_RESULTS = 1000;
const DEFAULT_PAGE = 100;

const OPERATIONS = [
  'CreateRepositoryCreationTemplate', 'DescribeRepositoryCreationTemplates', 'UpdateRepositoryCreationTemplate', 'DeleteRepositoryCreationTemplate',
] as const;
type Operation = (typeof OPERATIONS)[number];

// --- state ----------------------------------------------------------------------------------------

interface Template {
  prefix: string;
  description?: string;
  encryptionConfiguration: { encryptionType: string; kmsKey?: string };
  resourceTags: Array<{ Key: string; Value: string }>;
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: Array<{ filter: string; filterType: string }>;
  repositoryPolicy?: string;
  lifecyclePolicy?: string;
  appliedFor: string[];
  customRoleArn?: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Caller {
  accountId: string;
  region: string;
  now: Date;
}

type Input = Record<string, unknown>;

// --- answers --------------------------------------------------------------------------------------

function ok(body: Record<string, unknown>): EmulatedAnswer {
  return { status: 200, body };
}

class Refusal {
  constructor(readonly answer: EmulatedAnswer) {}
}

function refuse(answer: EmulatedAnswer): never {
  throw new Refusal(answer);
}

function validation(value: unknown, at: string, constraint: string): never {
  const shown = value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  return refuse(awsJsonError(400, 'ValidationException', `1 validation error detected: Value ${shown} at '${at}' failed to satisfy constraint: ${constraint}`));
}

function invalidParameter(at: string, constraint: string): never {
  return refuse(awsJsonError(400, 'InvalidParameterException', `Invalid parameter at '${at}' failed to satisfy constraint: '${constraint}'`));
}

function notFound(prefix: string, registryId: string): never {
  return refuse(awsJsonError(400, 'TemplateNotFoundException', `The repository creation template with prefix '${prefix}' does not exist in the registry with id '${registryId}'`));
}

// --- input checks ---------------------------------------------------------------------------------

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function stringOf(value: unknown, at: string, bounds: { min?: number; max?: number }, pattern?: string): string {
  if (!given(value)) validation(value, at, 'Member must not be null');
  if (typeof value !== 'string') validation(value, at, 'Member must be a string');
  const min = bounds.min ?? 0;
  if (value.length < min) validation(value, at, `Member must have length greater than or equal to ${min}`);
  if (bounds.max !== undefined && value.length > bounds.max) validation(value, at, `Member must have length less than or equal to ${bounds.max}`);
  if (pattern !== undefined && !new RegExp(pattern).test(value)) validation(value, at, `Member must satisfy regular expression pattern: ${pattern}`);
  return value;
}

function enumOf(value: unknown, at: string, values: string[]): string {
  if (typeof value !== 'string' || !values.includes(value)) validation(value, at, `Member must satisfy enum value set: [${values.join(', ')}]`);
  return value;
}

function prefixOf(input: Input): string {
  return stringOf(input.prefix, 'prefix', { min: PREFIX_MIN, max: PREFIX_MAX }, PREFIX_PATTERN);
}

function appliedForOf(value: unknown): string[] {
  if (!Array.isArray(value)) validation(value, 'appliedFor', 'Member must not be null');
  const out = value.map((v, i) => enumOf(v, `appliedFor.${i + 1}.member`, APPLIED_FOR));
  if (out.length === 0) invalidParameter('appliedFor', 'A repository creation template must apply to at least one of REPLICATION, PULL_THROUGH_CACHE and CREATE_ON_PUSH');
  return [...new Set(out)];
}

function encryptionOf(value: unknown): Template['encryptionConfiguration'] {
  if (!isObject(value)) validation(value, 'encryptionConfiguration', 'Member must be a structure');
  const encryptionType = enumOf(value.encryptionType, 'encryptionConfiguration.encryptionType', ENCRYPTION_TYPES);
  const kmsKey = given(value.kmsKey) ? stringOf(value.kmsKey, 'encryptionConfiguration.kmsKey', { max: KMS_KEY_MAX }, KMS_KEY_PATTERN) : undefined;
  if (kmsKey && encryptionType === 'AES256') invalidParameter('encryptionConfiguration.kmsKey', 'A KMS key can only be specified with the encryption type KMS or KMS_DSSE');
  return { encryptionType, ...(kmsKey ? { kmsKey } : {}) };
}

function tagsOf(value: unknown): Template['resourceTags'] {
  if (!Array.isArray(value)) validation(value, 'resourceTags', 'Member must be a list');
  const tags = value.map((t, i) => {
    const at = `resourceTags.${i + 1}.member`;
    if (!isObject(t)) validation(t, at, 'Member must be a structure');
    const Key = stringOf(t.Key, `${at}.key`, { min: 1, max: TAG_KEY_MAX });
    const Value = stringOf(t.Value, `${at}.value`, { max: TAG_VALUE_MAX });
    if (Key.toLowerCase().startsWith('aws:')) invalidParameter('resourceTags', `The tag key '${Key}' uses the reserved prefix aws:`);
    return { Key, Value };
  });
  if (tags.length > TAGS_MAX) invalidParameter('resourceTags', `A repository can have at most ${TAGS_MAX} tags`);
  return tags;
}

function filtersOf(value: unknown): NonNullable<Template['imageTagMutabilityExclusionFilters']> {
  if (!Array.isArray(value)) validation(value, 'imageTagMutabilityExclusionFilters', 'Member must be a list');
  if (value.length < 1 || value.length > FILTERS_MAX) validation(value, 'imageTagMutabilityExclusionFilters', `Member must have length between 1 and ${FILTERS_MAX}`);
  return value.map((f, i) => {
    const at = `imageTagMutabilityExclusionFilters.${i + 1}.member`;
    if (!isObject(f)) validation(f, at, 'Member must be a structure');
    return { filterType: enumOf(f.filterType, `${at}.filterType`, ['WILDCARD']), filter: stringOf(f.filter, `${at}.filter`, { min: 1, max: 128 }, FILTER_PATTERN) };
  });
}

/** A policy text ECR can parse: empty (no policy), or a JSON object of the document's kind. */
function policyOf(value: unknown, at: string, max: number, kind: 'repository' | 'lifecycle'): string | undefined {
  const text = stringOf(value, at, { max });
  if (text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return invalidParameter(at, `Invalid ${kind} policy: the policy text is not valid JSON`);
  }
  if (kind === 'lifecycle' && !(isObject(parsed) && Array.isArray(parsed.rules) && parsed.rules.length > 0)) {
    invalidParameter(at, 'Invalid lifecycle policy: the policy must have a non-empty rules array');
  }
  if (kind === 'repository' && !(isObject(parsed) && (isObject(parsed.Statement) || (Array.isArray(parsed.Statement) && parsed.Statement.length > 0)))) {
    invalidParameter(at, 'Invalid repository policy: the policy must have a Statement');
  }
  return text;
}

function roleOf(value: unknown, registryId: string): string | undefined {
  const arn = stringOf(value, 'customRoleArn', { max: CUSTOM_ROLE_ARN_MAX });
  if (arn === '') return undefined;
  const account = /^arn:aws[a-z-]*:iam::([0-9]{12}):role\/.+$/.exec(arn)?.[1];
  if (account === undefined) invalidParameter('customRoleArn', 'The custom role ARN must be the ARN of an IAM role');
  if (account !== registryId) invalidParameter('customRoleArn', 'The custom role must be in the same account as the registry');
  return arn;
}

function maxResultsOf(input: Input): number {
  const value = input.maxResults;
  if (!given(value)) return DEFAULT_PAGE;
  if (typeof value !== 'number' || !Number.isInteger(value)) validation(value, 'maxResults', 'Member must be an integer');
  if (value < 1 || value > MAX_RESULTS) validation(value, 'maxResults', `Member must have value between 1 and ${MAX_RESULTS}`);
  return value;
}

function offsetOf(input: Input): number {
  const token = input.nextToken;
  if (!given(token)) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // answered below
  }
  return invalidParameter('nextToken', 'Invalid pagination token');
}

/** The mode and filters after a change: filters only with an exclusion mode, and required with one. */
function checkMutability(mode: string, filters: Template['imageTagMutabilityExclusionFilters']): void {
  if (EXCLUSION_MODES.includes(mode) && !filters?.length) {
    invalidParameter('imageTagMutabilityExclusionFilters', `Exclusion filters are required with the image tag mutability ${mode}`);
  }
  if (!EXCLUSION_MODES.includes(mode) && filters?.length) {
    invalidParameter('imageTagMutabilityExclusionFilters', `Exclusion filters are only allowed with the image tag mutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not ${mode}`);
  }
}

function epoch(date: Date): number {
  return date.getTime() / 1000;
}

function describe(t: Template): Record<string, unknown> {
  return {
    prefix: t.prefix,
    ...(t.description !== undefined ? { description: t.description } : {}),
    encryptionConfiguration: t.encryptionConfiguration,
    resourceTags: t.resourceTags,
    imageTagMutability: t.imageTagMutability,
    ...(t.imageTagMutabilityExclusionFilters ? { imageTagMutabilityExclusionFilters: t.imageTagMutabilityExclusionFilters } : {}),
    ...(t.repositoryPolicy !== undefined ? { repositoryPolicy: t.repositoryPolicy } : {}),
    ...(t.lifecyclePolicy !== undefined ? { lifecyclePolicy: t.lifecyclePolicy } : {}),
    appliedFor: t.appliedFor,
    ...(t.customRoleArn !== undefined ? { customRoleArn: t.customRoleArn } : {}),
    createdAt: epoch(t.createdAt),
    updatedAt: epoch(t.updatedAt),
  };
}

export class CreationTemplateEmulation implements Emulation {
  readonly name = 'repository-creation-templates';
  private readonly registries = new Map<string, Map<string, Template>>();

  async handle(request: EmulatedRequest): Promise<EmulatedAnswer | undefined> {
    if (request.service !== 'ECR' || !(OPERATIONS as readonly string[]).includes(request.operation)) return undefined;
    const registry = await request.registry();
    if (!registry) return awsJsonError(500, 'ServerException', 'local AWS layer: the account of the request could not be told from its credentials');
    return this.call(request.operation as Operation, request.input, { ...registry, now: request.now });
  }

  /** Answers one request of `caller`. */
  call(operation: Operation, input: Input, caller: Caller): EmulatedAnswer {
    try {
      return this.operations[operation](input, this.templatesOf(caller), caller);
    } catch (err) {
      if (err instanceof Refusal) return err.answer;
      throw err;
    }
  }

  private templatesOf(caller: Caller): Map<string, Template> {
    const key = `${caller.accountId}/${caller.region}`;
    let templates = this.registries.get(key);
    if (!templates) {
      templates = new Map();
      this.registries.set(key, templates);
    }
    return templates;
  }

  private readonly operations: Record<Operation, (input: Input, templates: Map<string, Template>, caller: Caller) => EmulatedAnswer> = {
    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepositoryCreationTemplate.html
    // Request: prefix and appliedFor (required), description, encryptionConfiguration (AES256 when
    // omitted), resourceTags, imageTagMutability (MUTABLE when omitted) and its exclusion filters,
    // repositoryPolicy, lifecyclePolicy, customRoleArn. Response: registryId and the template.
    // Errors: ValidationException, InvalidParameterException, TemplateAlreadyExistsException.
    CreateRepositoryCreationTemplate: (input, templates, caller) => {
      const prefix = prefixOf(input);
      const appliedFor = appliedForOf(input.appliedFor);
      const description = given(input.description) ? stringOf(input.description, 'description', { max: DESCRIPTION_MAX }) : undefined;
      const encryptionConfiguration = given(input.encryptionConfiguration) ? encryptionOf(input.encryptionConfiguration) : { encryptionType: 'AES256' };
      const resourceTags = given(input.resourceTags) ? tagsOf(input.resourceTags) : [];
      const imageTagMutability = given(input.imageTagMutability) ? enumOf(input.imageTagMutability, 'imageTagMutability', MUTABILITIES) : 'MUTABLE';
      const filters = given(input.imageTagMutabilityExclusionFilters) ? filtersOf(input.imageTagMutabilityExclusionFilters) : undefined;
      checkMutability(imageTagMutability, filters);
      const repositoryPolicy = given(input.repositoryPolicy) ? policyOf(input.repositoryPolicy, 'repositoryPolicy', REPOSITORY_POLICY_MAX, 'repository') : undefined;
      const lifecyclePolicy = given(input.lifecyclePolicy) ? policyOf(input.lifecyclePolicy, 'lifecyclePolicy', LIFECYCLE_POLICY_MAX, 'lifecycle') : undefined;
      const customRoleArn = given(input.customRoleArn) ? roleOf(input.customRoleArn, caller.accountId) : undefined;
      if (templates.has(prefix)) {
        refuse(awsJsonError(400, 'TemplateAlreadyExistsException', `A repository creation template with prefix '${prefix}' already exists in the registry with id '${caller.accountId}'`));
      }
      const template: Template = {
        prefix,
        ...(description ? { description } : {}),
        encryptionConfiguration,
        resourceTags,
        imageTagMutability,
        ...(filters ? { imageTagMutabilityExclusionFilters: filters } : {}),
        ...(repositoryPolicy !== undefined ? { repositoryPolicy } : {}),
        ...(lifecyclePolicy !== undefined ? { lifecyclePolicy } : {}),
        appliedFor,
        ...(customRoleArn !== undefined ? { customRoleArn } : {}),
        createdAt: caller.now,
        updatedAt: caller.now,
      };
      templates.set(prefix, template);
      return ok({ registryId: caller.accountId, repositoryCreationTemplate: describe(template) });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositoryCreationTemplates.html
    // Request: prefixes (every template when omitted), nextToken, maxResults (1-1000, 100 when
    // omitted). Response: registryId, repositoryCreationTemplates, nextToken. The page lists no
    // "not found" error: a prefix without a template is simply not in the answer.
    DescribeRepositoryCreationTemplates: (input, templates, caller) => {
      const size = maxResultsOf(input);
      let list: Template[];
      if (given(input.prefixes)) {
        const prefixes = input.prefixes;
        if (!Array.isArray(prefixes)) validation(prefixes, 'prefixes', 'Member must be a list');
        const wanted = prefixes.map((p, i) => stringOf(p, `prefixes.${i + 1}.member`, { min: PREFIX_MIN, max: PREFIX_MAX }, PREFIX_PATTERN));
        list = [...new Set(wanted)].flatMap((p) => {
          const t = templates.get(p);
          return t ? [t] : [];
        });
      } else {
        list = [...templates.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
      }
      const offset = offsetOf(input);
      const out: Record<string, unknown> = { registryId: caller.accountId, repositoryCreationTemplates: list.slice(offset, offset + size).map(describe) };
      if (offset + size < list.length) out.nextToken = Buffer.from(JSON.stringify({ offset: offset + size })).toString('base64url');
      return ok(out);
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UpdateRepositoryCreationTemplate.html
    // Request: prefix (required) and the members of Create, each optional: the members given replace
    // the template's. Response: registryId and the template. Errors: TemplateNotFoundException,
    // ValidationException, InvalidParameterException.
    UpdateRepositoryCreationTemplate: (input, templates, caller) => {
      const prefix = prefixOf(input);
      const current = templates.get(prefix);
      // Checked before the lookup, as request validation runs before the service.
      const next: Template = { ...(current ?? ({} as Template)) };
      if (given(input.appliedFor)) next.appliedFor = appliedForOf(input.appliedFor);
      if (given(input.description)) {
        const description = stringOf(input.description, 'description', { max: DESCRIPTION_MAX });
        if (description === '') delete next.description;
        else next.description = description;
      }
      if (given(input.encryptionConfiguration)) next.encryptionConfiguration = encryptionOf(input.encryptionConfiguration);
      if (given(input.resourceTags)) next.resourceTags = tagsOf(input.resourceTags);
      const filters = given(input.imageTagMutabilityExclusionFilters) ? filtersOf(input.imageTagMutabilityExclusionFilters) : undefined;
      for (const [key, kind, max] of [['repositoryPolicy', 'repository', REPOSITORY_POLICY_MAX], ['lifecyclePolicy', 'lifecycle', LIFECYCLE_POLICY_MAX]] as const) {
        if (!given(input[key])) continue;
        const text = policyOf(input[key], key, max, kind);
        if (text === undefined) delete next[key];
        else next[key] = text;
      }
      if (given(input.customRoleArn)) {
        const role = roleOf(input.customRoleArn, caller.accountId);
        if (role === undefined) delete next.customRoleArn;
        else next.customRoleArn = role;
      }
      const mode = given(input.imageTagMutability) ? enumOf(input.imageTagMutability, 'imageTagMutability', MUTABILITIES) : undefined;
      if (!current) notFound(prefix, caller.accountId);
      if (mode !== undefined) {
        next.imageTagMutability = mode;
        if (!EXCLUSION_MODES.includes(mode)) delete next.imageTagMutabilityExclusionFilters;
      }
      if (filters) next.imageTagMutabilityExclusionFilters = filters;
      checkMutability(next.imageTagMutability, next.imageTagMutabilityExclusionFilters);
      next.updatedAt = caller.now;
      templates.set(prefix, next);
      return ok({ registryId: caller.accountId, repositoryCreationTemplate: describe(next) });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepositoryCreationTemplate.html
    // Request: prefix (required). Response: registryId and the deleted template. Errors:
    // TemplateNotFoundException. Repositories created from it stay as they are.
    DeleteRepositoryCreationTemplate: (input, templates, caller) => {
      const prefix = prefixOf(input);
      const template = templates.get(prefix) ?? notFound(prefix, caller.accountId);
      templates.delete(prefix);
      return ok({ registryId: caller.accountId, repositoryCreationTemplate: describe(template) });
    },
  };
}
