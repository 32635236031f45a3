/**
 * Amazon ECR's pull through cache rules for the local AWS layer: moto 5.2 implements none of the
 * five operations. Requests for them are answered here and never reach moto. State is kept per
 * registry: the registryId of the request, else the account of the signing credentials (as moto maps
 * them), and the signed region.
 *
 * Each operation follows its page of the Amazon ECR API Reference
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/), cited next to it, and the data type
 * PullThroughCacheRule: required members, lengths, patterns, enums and the errors each page lists.
 * What the model constrains (presence, length, pattern, enum, list size) is refused as AWS's request
 * validation refuses it, with ValidationException and the "1 validation error detected: ..." text;
 * what the service decides with the error the page lists for it:
 * - the upstream registry URL of each upstream registry (CreatePullThroughCacheRule's
 *   upstreamRegistryUrl: ecr <accountId>.dkr.ecr.<region>.amazonaws.com, ecr-public public.ecr.aws,
 *   docker-hub registry-1.docker.io, github-container-registry ghcr.io, gitlab-container-registry
 *   registry.gitlab.com, k8s registry.k8s.io, azure-container-registry <custom>.azurecr.io, quay
 *   quay.io; chainguard cgr.dev): a URL of none of them is UnsupportedUpstreamRegistryException, a URL
 *   of another upstream than upstreamRegistry names InvalidParameterException;
 * - credentials (User Guide, "Sync an upstream registry with an Amazon ECR private registry"):
 *   Docker Hub, GitHub, GitLab, Azure and Chainguard need a Secrets Manager secret, ECR Public, Quay
 *   and Kubernetes take none, an ECR upstream takes a role (customRoleArn, in the registry's own
 *   account) instead: InvalidParameterException otherwise;
 * - the secret is looked up in Secrets Manager (moto's own, asked as the caller through the layer):
 *   one that does not exist is SecretNotFoundException, one in another account or region
 *   UnableToAccessSecretException;
 * - at most 50 rules per registry (User Guide, "Amazon ECR service quotas", Pull through cache rules
 *   per registry): LimitExceededException.
 * ValidatePullThroughCacheRule reads the secret and checks its syntax (a JSON object with username
 * and accessToken, as the User Guide's "Storing your upstream repository credentials in an AWS
 * Secrets Manager secret" describes it); an upstream registry is never reached from here, so a rule
 * whose secret is well-formed, and a rule that needs none, is valid. The pages document no exact
 * message for the service's errors; the messages below follow ECR's usual wording.
 *
 * `call` takes the operation, its input and the caller (registry, clock and a reader of Secrets
 * Manager secrets); `handle` adapts it to the layer's Emulation interface (emulations.ts).
 */
import { awsJsonError, type EmulatedAnswer, type EmulatedRequest, type Emulation } from './emulations.js';

// --- limits, from the reference's data types -----------------------------------------------------

/** PullThroughCacheRuleRepositoryPrefix: 2 to 30 characters, AWS's pattern. */
const PREFIX_MIN = 2;
const PREFIX_MAX = 30;
export const PREFIX_PATTERN = '^([a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*\\/?|ROOT)$';
/** CredentialArn: 50 to 612 characters, AWS's pattern. */
const CREDENTIAL_ARN_MIN = 50;
const CREDENTIAL_ARN_MAX = 612;
const CREDENTIAL_ARN_PATTERN = '^arn:aws(-\\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\\-pullthroughcache\\/[a-zA-Z0-9\\/_+=.@-]+$';
/** CustomRoleArn: at most 2048 characters. */
const CUSTOM_ROLE_ARN_MAX = 2048;
const REGISTRY_ID_PATTERN = '[0-9]{12}';
/** PullThroughCacheRuleRepositoryPrefixList: 1 to 100 prefixes. */
const PREFIXES_MAX = 100;
/** MaxResults: 1 to 1000; without it a page holds up to 100. */
const MAX_RESULTS = 1000;
const DEFAULT_PAGE = 100;
/** Amazon ECR service quotas: pull through cache rules per registry. */
export const RULES_MAX = 50;

/** UpstreamRegistry: every value the reference lists. */
export const UPSTREAM_REGISTRIES = [
  'ecr', 'ecr-public', 'quay', 'k8s', 'docker-hub', 'github-container-registry', 'azure-container-registry', 'gitlab-container-registry', 'chainguard',
] as const;
type Upstream = (typeof UPSTREAM_REGISTRIES)[number];

const NEEDS_SECRET: ReadonlySet<Upstream> = new Set(['docker-hub', 'github-container-registry', 'gitlab-container-registry', 'azure-container-registry', 'chainguard']);

/** The upstream registry a URL belongs to, if any. */
function upstreamOfUrl(url: string): Upstream | undefined {
  const fixed: Record<string, Upstream> = {
    'public.ecr.aws': 'ecr-public',
    'quay.io': 'quay',
    'registry.k8s.io': 'k8s',
    'registry-1.docker.io': 'docker-hub',
    'ghcr.io': 'github-container-registry',
    'registry.gitlab.com': 'gitlab-container-registry',
    'cgr.dev': 'chainguard',
  };
  if (fixed[url]) return fixed[url];
  if (/^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(url)) return 'ecr';
  if (/^[a-z0-9]{5,50}\.azurecr\.io$/.test(url)) return 'azure-container-registry';
  return undefined;
}

const OPERATIONS = [
  'CreatePullThroughCacheRule', 'DescribePullThroughCacheRules', 'UpdatePullThroughCacheRule', 'DeletePullThroughCacheRule', 'ValidatePullThroughCacheRule',
] as const;
type Operation = (typeof OPERATIONS)[number];

// --- state ----------------------------------------------------------------------------------------

interface Rule {
  ecrRepositoryPrefix: string;
  upstreamRegistryUrl: string;
  upstreamRegistry: Upstream;
  upstreamRepositoryPrefix: string;
  credentialArn?: string;
  customRoleArn?: string;
  registryId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What Secrets Manager says of a secret: absent, or its string value. */
export type SecretLookup = { exists: false } | { exists: true; value: string | undefined };

export interface Caller {
  accountId: string;
  region: string;
  now: Date;
  /** Reads a Secrets Manager secret as the caller. */
  secret(arn: string): Promise<SecretLookup>;
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
  return refuse(awsJsonError(400, 'PullThroughCacheRuleNotFoundException', `The pull through cache rule with prefix '${prefix}' does not exist in the registry with id '${registryId}'`));
}

// --- input checks ---------------------------------------------------------------------------------

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOf(value: unknown, at: string, bounds: { min?: number; max?: number }, pattern?: string): string {
  if (value === undefined || value === null) validation(value, at, 'Member must not be null');
  if (typeof value !== 'string') validation(value, at, 'Member must be a string');
  const min = bounds.min ?? 0;
  if (value.length < min) validation(value, at, `Member must have length greater than or equal to ${min}`);
  if (bounds.max !== undefined && value.length > bounds.max) validation(value, at, `Member must have length less than or equal to ${bounds.max}`);
  if (pattern !== undefined && !new RegExp(pattern).test(value)) validation(value, at, `Member must satisfy regular expression pattern: ${pattern}`);
  return value;
}

function optionalString(input: Input, key: string, bounds: { min?: number; max?: number }, pattern?: string): string | undefined {
  const value = input[key];
  return value === undefined || value === null ? undefined : stringOf(value, key, bounds, pattern);
}

function prefixOf(input: Input, key = 'ecrRepositoryPrefix'): string {
  return stringOf(input[key], key, { min: PREFIX_MIN, max: PREFIX_MAX }, PREFIX_PATTERN);
}

function registryIdOf(input: Input, caller: Caller): string {
  return optionalString(input, 'registryId', {}, `^${REGISTRY_ID_PATTERN}$`) ?? caller.accountId;
}

function maxResultsOf(input: Input): number {
  const value = input.maxResults;
  if (value === undefined || value === null) return DEFAULT_PAGE;
  if (typeof value !== 'number' || !Number.isInteger(value)) validation(value, 'maxResults', 'Member must be an integer');
  if (value < 1 || value > MAX_RESULTS) validation(value, 'maxResults', `Member must have value between 1 and ${MAX_RESULTS}`);
  return value;
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
  return invalidParameter('nextToken', 'Invalid pagination token');
}

/** ARN fields of a secret: its region and account. */
function secretPlace(arn: string): { region: string; accountId: string } | undefined {
  const m = /^arn:[^:]+:secretsmanager:([^:]+):([0-9]{12}):secret:/.exec(arn);
  return m ? { region: m[1]!, accountId: m[2]! } : undefined;
}

const ROLE_ACCOUNT = /^arn:aws[a-z-]*:iam::([0-9]{12}):role\/.+$/;

function epoch(date: Date): number {
  return date.getTime() / 1000;
}

function describe(rule: Rule): Record<string, unknown> {
  return {
    ecrRepositoryPrefix: rule.ecrRepositoryPrefix,
    upstreamRegistryUrl: rule.upstreamRegistryUrl,
    createdAt: epoch(rule.createdAt),
    registryId: rule.registryId,
    upstreamRegistry: rule.upstreamRegistry,
    upstreamRepositoryPrefix: rule.upstreamRepositoryPrefix,
    ...(rule.credentialArn !== undefined ? { credentialArn: rule.credentialArn } : {}),
    ...(rule.customRoleArn !== undefined ? { customRoleArn: rule.customRoleArn } : {}),
    updatedAt: epoch(rule.updatedAt),
  };
}

export class PullThroughCacheEmulation implements Emulation {
  readonly name = 'pull-through-cache';
  private readonly registries = new Map<string, Map<string, Rule>>();

  async handle(request: EmulatedRequest): Promise<EmulatedAnswer | undefined> {
    if (request.service !== 'ECR' || !(OPERATIONS as readonly string[]).includes(request.operation)) return undefined;
    const registry = await request.registry();
    if (!registry) return awsJsonError(500, 'ServerException', 'local AWS layer: the account of the request could not be told from its credentials');
    const ask = request.moto;
    const secret = async (arn: string): Promise<SecretLookup> => {
      if (!ask) return { exists: false };
      const out = await ask('secretsmanager.GetSecretValue', 'secretsmanager', { SecretId: arn });
      if (out.status !== 200) return { exists: false };
      return { exists: true, value: typeof out.body.SecretString === 'string' ? out.body.SecretString : undefined };
    };
    return this.call(request.operation as Operation, request.input, { ...registry, now: request.now, secret });
  }

  /** Answers one request of `caller`. */
  async call(operation: Operation, input: Input, caller: Caller): Promise<EmulatedAnswer> {
    try {
      return await this.operations[operation](input, caller);
    } catch (err) {
      if (err instanceof Refusal) return err.answer;
      throw err;
    }
  }

  private rulesOf(registryId: string, caller: Caller): Map<string, Rule> {
    const key = `${registryId}/${caller.region}`;
    let rules = this.registries.get(key);
    if (!rules) {
      rules = new Map();
      this.registries.set(key, rules);
    }
    return rules;
  }

  /** A secret the rule may use: its ARN well-formed, in the caller's account and region, and existing. */
  private async checkSecret(arn: string, caller: Caller): Promise<void> {
    const place = secretPlace(arn);
    if (!place || place.accountId !== caller.accountId || place.region !== caller.region) {
      refuse(awsJsonError(400, 'UnableToAccessSecretException', `Unable to access the secret '${arn}'. The secret must be in the same account and Region as the registry.`));
    }
    const found = await caller.secret(arn);
    if (!found.exists) refuse(awsJsonError(400, 'SecretNotFoundException', `The secret '${arn}' was not found.`));
  }

  private checkRole(arn: string, registryId: string): void {
    const account = ROLE_ACCOUNT.exec(arn)?.[1];
    if (account === undefined) invalidParameter('customRoleArn', 'The custom role ARN must be the ARN of an IAM role');
    if (account !== registryId) invalidParameter('customRoleArn', 'The custom role must be in the same account as the registry');
  }

  private readonly operations: Record<Operation, (input: Input, caller: Caller) => Promise<EmulatedAnswer>> = {
    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreatePullThroughCacheRule.html
    // Request: ecrRepositoryPrefix and upstreamRegistryUrl (required), registryId, upstreamRegistry,
    // credentialArn, customRoleArn, upstreamRepositoryPrefix (ROOT when omitted). Response: the rule
    // with createdAt. Errors: ValidationException, InvalidParameterException,
    // PullThroughCacheRuleAlreadyExistsException, UnsupportedUpstreamRegistryException,
    // LimitExceededException, SecretNotFoundException, UnableToAccessSecretException.
    CreatePullThroughCacheRule: async (input, caller) => {
      const prefix = prefixOf(input);
      const url = stringOf(input.upstreamRegistryUrl, 'upstreamRegistryUrl', {});
      const registryId = registryIdOf(input, caller);
      const named = input.upstreamRegistry;
      if (named !== undefined && named !== null && !(UPSTREAM_REGISTRIES as readonly unknown[]).includes(named)) {
        validation(named, 'upstreamRegistry', `Member must satisfy enum value set: [${UPSTREAM_REGISTRIES.join(', ')}]`);
      }
      const credentialArn = optionalString(input, 'credentialArn', { min: CREDENTIAL_ARN_MIN, max: CREDENTIAL_ARN_MAX }, CREDENTIAL_ARN_PATTERN);
      const customRoleArn = optionalString(input, 'customRoleArn', { max: CUSTOM_ROLE_ARN_MAX });
      const upstreamRepositoryPrefix = input.upstreamRepositoryPrefix === undefined || input.upstreamRepositoryPrefix === null
        ? 'ROOT'
        : prefixOf(input, 'upstreamRepositoryPrefix');
      const upstream = upstreamOfUrl(url);
      if (!upstream) refuse(awsJsonError(400, 'UnsupportedUpstreamRegistryException', `The upstream registry URL '${url}' is not supported.`));
      if (named !== undefined && named !== null && named !== upstream) {
        invalidParameter('upstreamRegistryUrl', `The upstream registry URL '${url}' does not belong to the upstream registry '${String(named)}'`);
      }
      if (NEEDS_SECRET.has(upstream) && credentialArn === undefined) invalidParameter('credentialArn', `A credential ARN is required for the upstream registry '${upstream}'`);
      if (!NEEDS_SECRET.has(upstream) && credentialArn !== undefined) invalidParameter('credentialArn', `The upstream registry '${upstream}' does not take a credential ARN`);
      if (customRoleArn !== undefined) {
        if (upstream !== 'ecr') invalidParameter('customRoleArn', `The upstream registry '${upstream}' does not take a custom role`);
        this.checkRole(customRoleArn, registryId);
      }
      if (upstream === 'ecr' && customRoleArn === undefined && url.slice(0, 12) !== registryId) {
        invalidParameter('customRoleArn', 'A custom role is required to pull from an Amazon ECR registry of another account');
      }
      const rules = this.rulesOf(registryId, caller);
      if (rules.has(prefix)) {
        refuse(awsJsonError(400, 'PullThroughCacheRuleAlreadyExistsException', `A pull through cache rule with prefix '${prefix}' already exists in the registry with id '${registryId}'`));
      }
      if (rules.size >= RULES_MAX) {
        refuse(awsJsonError(400, 'LimitExceededException', `The maximum number of pull through cache rules (${RULES_MAX}) for the registry with id '${registryId}' has been reached`));
      }
      if (credentialArn !== undefined) await this.checkSecret(credentialArn, caller);
      const rule: Rule = {
        ecrRepositoryPrefix: prefix,
        upstreamRegistryUrl: url,
        upstreamRegistry: upstream,
        upstreamRepositoryPrefix,
        ...(credentialArn !== undefined ? { credentialArn } : {}),
        ...(customRoleArn !== undefined ? { customRoleArn } : {}),
        registryId,
        createdAt: caller.now,
        updatedAt: caller.now,
      };
      rules.set(prefix, rule);
      const { updatedAt: _u, ...created } = describe(rule);
      return ok(created);
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribePullThroughCacheRules.html
    // Request: registryId, ecrRepositoryPrefixes (1-100; every rule when omitted), nextToken,
    // maxResults (1-1000, 100 when omitted). Response: pullThroughCacheRules, nextToken. A prefix
    // that has no rule: PullThroughCacheRuleNotFoundException.
    DescribePullThroughCacheRules: (input, caller) => {
      const registryId = registryIdOf(input, caller);
      const rules = this.rulesOf(registryId, caller);
      const size = maxResultsOf(input);
      let list: Rule[];
      if (input.ecrRepositoryPrefixes !== undefined && input.ecrRepositoryPrefixes !== null) {
        const prefixes = input.ecrRepositoryPrefixes;
        if (!Array.isArray(prefixes)) validation(prefixes, 'ecrRepositoryPrefixes', 'Member must be a list');
        if (prefixes.length < 1 || prefixes.length > PREFIXES_MAX) {
          validation(prefixes, 'ecrRepositoryPrefixes', `Member must have length between 1 and ${PREFIXES_MAX}`);
        }
        list = prefixes.map((p, i) => {
          const prefix = stringOf(p, `ecrRepositoryPrefixes.${i + 1}.member`, { min: PREFIX_MIN, max: PREFIX_MAX }, PREFIX_PATTERN);
          return rules.get(prefix) ?? notFound(prefix, registryId);
        });
      } else {
        list = [...rules.values()].sort((a, b) => (a.ecrRepositoryPrefix < b.ecrRepositoryPrefix ? -1 : a.ecrRepositoryPrefix > b.ecrRepositoryPrefix ? 1 : 0));
      }
      const offset = offsetOf(input);
      const out: Record<string, unknown> = { pullThroughCacheRules: list.slice(offset, offset + size).map(describe) };
      if (offset + size < list.length) out.nextToken = Buffer.from(JSON.stringify({ offset: offset + size })).toString('base64url');
      return Promise.resolve(ok(out));
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UpdatePullThroughCacheRule.html
    // Request: ecrRepositoryPrefix (required), registryId, credentialArn, customRoleArn: what a rule
    // lets change. Response: ecrRepositoryPrefix, registryId, updatedAt, credentialArn,
    // customRoleArn, upstreamRepositoryPrefix. Errors: PullThroughCacheRuleNotFoundException,
    // SecretNotFoundException, UnableToAccessSecretException, InvalidParameterException.
    UpdatePullThroughCacheRule: async (input, caller) => {
      const prefix = prefixOf(input);
      const registryId = registryIdOf(input, caller);
      const credentialArn = optionalString(input, 'credentialArn', { min: CREDENTIAL_ARN_MIN, max: CREDENTIAL_ARN_MAX }, CREDENTIAL_ARN_PATTERN);
      const customRoleArn = optionalString(input, 'customRoleArn', { max: CUSTOM_ROLE_ARN_MAX });
      const rule = this.rulesOf(registryId, caller).get(prefix) ?? notFound(prefix, registryId);
      if (credentialArn === undefined && customRoleArn === undefined) {
        invalidParameter('credentialArn', 'A credential ARN or a custom role ARN is required to update a pull through cache rule');
      }
      if (credentialArn !== undefined && !NEEDS_SECRET.has(rule.upstreamRegistry)) {
        invalidParameter('credentialArn', `The upstream registry '${rule.upstreamRegistry}' does not take a credential ARN`);
      }
      if (customRoleArn !== undefined) {
        if (rule.upstreamRegistry !== 'ecr') invalidParameter('customRoleArn', `The upstream registry '${rule.upstreamRegistry}' does not take a custom role`);
        this.checkRole(customRoleArn, registryId);
      }
      if (credentialArn !== undefined) await this.checkSecret(credentialArn, caller);
      if (credentialArn !== undefined) rule.credentialArn = credentialArn;
      if (customRoleArn !== undefined) rule.customRoleArn = customRoleArn;
      rule.updatedAt = caller.now;
      return ok({
        ecrRepositoryPrefix: rule.ecrRepositoryPrefix,
        registryId,
        updatedAt: epoch(rule.updatedAt),
        upstreamRepositoryPrefix: rule.upstreamRepositoryPrefix,
        ...(rule.credentialArn !== undefined ? { credentialArn: rule.credentialArn } : {}),
        ...(rule.customRoleArn !== undefined ? { customRoleArn: rule.customRoleArn } : {}),
      });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeletePullThroughCacheRule.html
    // Request: ecrRepositoryPrefix (required), registryId. Response: the deleted rule. Errors:
    // PullThroughCacheRuleNotFoundException. Repositories the rule created stay.
    DeletePullThroughCacheRule: (input, caller) => {
      const prefix = prefixOf(input);
      const registryId = registryIdOf(input, caller);
      const rules = this.rulesOf(registryId, caller);
      const rule = rules.get(prefix) ?? notFound(prefix, registryId);
      rules.delete(prefix);
      const { updatedAt: _u, ...deleted } = describe(rule);
      return Promise.resolve(ok(deleted));
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ValidatePullThroughCacheRule.html
    // Request: ecrRepositoryPrefix (required), registryId. Response: the rule's fields, isValid and
    // failure. "This will retrieve the contents of the Amazon Web Services Secrets Manager secret,
    // verify the syntax, and then validate that authentication to the upstream registry is
    // successful." Errors: PullThroughCacheRuleNotFoundException.
    ValidatePullThroughCacheRule: async (input, caller) => {
      const prefix = prefixOf(input);
      const registryId = registryIdOf(input, caller);
      const rule = this.rulesOf(registryId, caller).get(prefix) ?? notFound(prefix, registryId);
      let failure: string | undefined;
      if (rule.credentialArn !== undefined) {
        const found = await caller.secret(rule.credentialArn);
        if (!found.exists) failure = `The secret '${rule.credentialArn}' could not be found or accessed.`;
        else if (!wellFormed(found.value)) failure = `The secret '${rule.credentialArn}' is not a JSON object with the keys username and accessToken.`;
      }
      return ok({
        ecrRepositoryPrefix: rule.ecrRepositoryPrefix,
        registryId,
        upstreamRegistryUrl: rule.upstreamRegistryUrl,
        upstreamRepositoryPrefix: rule.upstreamRepositoryPrefix,
        ...(rule.credentialArn !== undefined ? { credentialArn: rule.credentialArn } : {}),
        ...(rule.customRoleArn !== undefined ? { customRoleArn: rule.customRoleArn } : {}),
        isValid: failure === undefined,
        ...(failure !== undefined ? { failure } : {}),
      });
    },
  };
}

/** A secret value ECR can use for an upstream registry: JSON with non-empty username and accessToken. */
function wellFormed(value: string | undefined): boolean {
  if (value === undefined) return false;
  try {
    const parsed = JSON.parse(value) as unknown;
    return isObject(parsed) && typeof parsed.username === 'string' && parsed.username !== ''
      && typeof parsed.accessToken === 'string' && parsed.accessToken !== '';
  } catch {
    return false;
  }
}
