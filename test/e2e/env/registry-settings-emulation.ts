/**
 * Three registry settings of Amazon ECR for the local AWS layer, none of which moto 5.2 implements:
 * the registry's managed-signing configuration, its account settings and its pull-time update
 * exclusions. Requests for these eight operations are answered here and never reach moto. State is
 * kept per registry: the account of the signing credentials (as moto maps them) and the signed region.
 *
 * Each operation follows its page of the Amazon ECR API Reference
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/), cited next to it, and the data types
 * those pages name: required members, lengths, patterns, list sizes, enums and the errors each page
 * lists. What the model constrains (a member's presence, length, pattern, list size, enum) is refused
 * as AWS's request validation refuses it, with ValidationException and the "1 validation error
 * detected: ..." text; what the service itself decides (a setting name it does not know, a value the
 * setting does not take, a pagination token it did not issue) with InvalidParameterException. The
 * pages document no exact message for these; the messages below follow ECR's usual wording. Known
 * simplifications: a signing profile named in a rule is not looked up in AWS Signer, and an excluded
 * principal is not looked up in IAM (the reference checks their ARNs' form only), and no request
 * ever meets PutAccountSetting's LimitExceededException (the reference does not say what triggers it).
 *
 * Pure apart from the clock: `call` takes the operation, its input and the caller's registry;
 * `handle` adapts it to the layer's Emulation interface (emulations.ts).
 */
import { awsJsonError, type EmulatedAnswer, type EmulatedRequest, type Emulation } from './emulations.js';

// --- limits, from the reference's data types -----------------------------------------------------

/** SigningConfiguration.rules: 0 to 10 (API_SigningConfiguration.html). */
const SIGNING_MAX_RULES = 10;
/** SigningRule.signingProfileArn: at most 200 characters, AWS's pattern (API_SigningRule.html). */
const SIGNING_PROFILE_ARN_MAX = 200;
const SIGNING_PROFILE_ARN_PATTERN = '^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\\/signing-profiles\\/[a-zA-Z0-9_]{2,}$';
/** SigningRule.repositoryFilters: 1 to 100 when present (API_SigningRule.html). */
const SIGNING_MAX_FILTERS = 100;
/** SigningRepositoryFilter.filter: 1 to 256 characters, AWS's pattern; filterType WILDCARD_MATCH (API_SigningRepositoryFilter.html). */
const SIGNING_FILTER_MAX = 256;
const SIGNING_FILTER_PATTERN = '^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$';
const SIGNING_FILTER_TYPES = ['WILDCARD_MATCH'];

/** AccountSettingName: 1 to 64 characters (API_GetAccountSetting.html, API_PutAccountSetting.html). */
const SETTING_NAME_MAX = 64;
/**
 * The settings the reference names today and the values PutAccountSetting takes for each
 * (API_PutAccountSetting.html: "Valid value for basic scan type: AWS_NATIVE. Valid values for
 * registry policy scope: V2. Valid values for blob mounting: ENABLED or DISABLED."), with the value a
 * registry has before anyone sets it: basic scanning with AWS native technology, the V2 registry
 * policy scope ("The V2 version is the default registry policy scope", User Guide, "Private registry
 * permissions"), and blob mounting off until enabled (User Guide, "Blob mounting in Amazon ECR").
 */
export const ACCOUNT_SETTINGS: Readonly<Record<string, { values: readonly string[]; initial: string }>> = {
  BASIC_SCAN_TYPE_VERSION: { values: ['AWS_NATIVE'], initial: 'AWS_NATIVE' },
  REGISTRY_POLICY_SCOPE: { values: ['V2'], initial: 'V2' },
  BLOB_MOUNTING: { values: ['ENABLED', 'DISABLED'], initial: 'DISABLED' },
};

/** PrincipalArn: at most 200 characters, AWS's pattern (API_RegisterPullTimeUpdateExclusion.html). */
const PRINCIPAL_ARN_MAX = 200;
const PRINCIPAL_ARN_PATTERN = '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\\w+=,.@-]+(/[\\w+=,.@-]+)*$';
/** "You can configure up to 100 exclusions per account." (User Guide, "Pull-time update exclusions"); PullTimeUpdateExclusionList: 0 to 100. */
export const EXCLUSIONS_MAX = 100;
/** ListPullTimeUpdateExclusions.maxResults: 1 to 1000; without it a page holds up to 100 (API_ListPullTimeUpdateExclusions.html). */
const LIST_MAX_RESULTS = 1000;
const LIST_DEFAULT_PAGE = 100;

const OPERATIONS = [
  'PutSigningConfiguration', 'GetSigningConfiguration', 'DeleteSigningConfiguration',
  'GetAccountSetting', 'PutAccountSetting',
  'RegisterPullTimeUpdateExclusion', 'DeregisterPullTimeUpdateExclusion', 'ListPullTimeUpdateExclusions',
] as const;
type Operation = (typeof OPERATIONS)[number];

// --- state ----------------------------------------------------------------------------------------

interface SigningRule {
  signingProfileArn: string;
  repositoryFilters?: Array<{ filter: string; filterType: string }>;
}

interface RegistryState {
  /** Absent until the first PutSigningConfiguration, and again after DeleteSigningConfiguration. */
  signing?: { rules: SigningRule[] };
  /** Only the settings someone put; the others have their initial value. */
  settings: Map<string, string>;
  /** Principal ARN → when it was registered, in the order registered. */
  exclusions: Map<string, Date>;
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

/** Throws the answer: checks stop at the first problem. */
function refuse(answer: EmulatedAnswer): never {
  throw new Refusal(answer);
}

/** A constraint of the API model, refused as AWS's request validation refuses it. */
function validation(value: unknown, at: string, constraint: string): never {
  const shown = value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  return refuse(awsJsonError(400, 'ValidationException', `1 validation error detected: Value ${shown} at '${at}' failed to satisfy constraint: ${constraint}`));
}

function invalidParameter(at: string, constraint: string): never {
  return refuse(awsJsonError(400, 'InvalidParameterException', `Invalid parameter at '${at}' failed to satisfy constraint: '${constraint}'`));
}

// --- input checks ---------------------------------------------------------------------------------

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function required(value: unknown, at: string): unknown {
  if (value === undefined || value === null) validation(value, at, 'Member must not be null');
  return value;
}

function stringOf(value: unknown, at: string, bounds: { min?: number; max: number }, pattern?: string): string {
  required(value, at);
  if (typeof value !== 'string') validation(value, at, 'Member must be a string');
  const min = bounds.min ?? 0;
  if (value.length < min || value.length > bounds.max) {
    validation(value, at, min > 0 ? `Member must have length between ${min} and ${bounds.max}` : `Member must have length less than or equal to ${bounds.max}`);
  }
  if (pattern !== undefined && !new RegExp(pattern).test(value)) validation(value, at, `Member must satisfy regular expression pattern: ${pattern}`);
  return value;
}

function listOf(value: unknown, at: string, bounds: { min: number; max: number }): unknown[] {
  required(value, at);
  if (!Array.isArray(value)) validation(value, at, 'Member must be a list');
  if (value.length < bounds.min || value.length > bounds.max) {
    validation(value, at, bounds.min > 0 ? `Member must have length between ${bounds.min} and ${bounds.max}` : `Member must have length less than or equal to ${bounds.max}`);
  }
  return value;
}

/** SigningConfiguration, SigningRule and SigningRepositoryFilter as the reference constrains them. */
function signingConfigurationOf(input: Input): { rules: SigningRule[] } {
  const config = required(input.signingConfiguration, 'signingConfiguration');
  if (!isObject(config)) validation(config, 'signingConfiguration', 'Member must be a structure');
  const rules = listOf(config.rules, 'signingConfiguration.rules', { min: 0, max: SIGNING_MAX_RULES });
  return {
    rules: rules.map((raw, i) => {
      const at = `signingConfiguration.rules.${i + 1}.member`;
      if (!isObject(raw)) validation(raw, at, 'Member must be a structure');
      const rule: SigningRule = {
        signingProfileArn: stringOf(raw.signingProfileArn, `${at}.signingProfileArn`, { max: SIGNING_PROFILE_ARN_MAX }, SIGNING_PROFILE_ARN_PATTERN),
      };
      if (raw.repositoryFilters !== undefined && raw.repositoryFilters !== null) {
        const filters = listOf(raw.repositoryFilters, `${at}.repositoryFilters`, { min: 1, max: SIGNING_MAX_FILTERS });
        rule.repositoryFilters = filters.map((f, j) => {
          const fat = `${at}.repositoryFilters.${j + 1}.member`;
          if (!isObject(f)) validation(f, fat, 'Member must be a structure');
          const filter = stringOf(f.filter, `${fat}.filter`, { min: 1, max: SIGNING_FILTER_MAX }, SIGNING_FILTER_PATTERN);
          const filterType = stringOf(f.filterType, `${fat}.filterType`, { max: Number.MAX_SAFE_INTEGER });
          if (!SIGNING_FILTER_TYPES.includes(filterType)) validation(filterType, `${fat}.filterType`, `Member must satisfy enum value set: [${SIGNING_FILTER_TYPES.join(', ')}]`);
          return { filter, filterType };
        });
      }
      return rule;
    }),
  };
}

function settingNameOf(input: Input): string {
  const name = stringOf(input.name, 'name', { min: 1, max: SETTING_NAME_MAX });
  if (!Object.hasOwn(ACCOUNT_SETTINGS, name)) invalidParameter('name', `Account setting name must be one of: ${Object.keys(ACCOUNT_SETTINGS).join(', ')}`);
  return name;
}

function principalArnOf(input: Input): string {
  return stringOf(input.principalArn, 'principalArn', { max: PRINCIPAL_ARN_MAX }, PRINCIPAL_ARN_PATTERN);
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ exclusionsFrom: offset })).toString('base64url');
}

function offsetOf(input: Input): number {
  const token = input.nextToken;
  if (token === undefined || token === null) return 0;
  if (typeof token === 'string') {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { exclusionsFrom?: unknown };
      if (typeof parsed.exclusionsFrom === 'number' && Number.isInteger(parsed.exclusionsFrom) && parsed.exclusionsFrom >= 0) return parsed.exclusionsFrom;
    } catch {
      // answered below
    }
  }
  return invalidParameter('nextToken', 'Invalid pagination token');
}

function maxResultsOf(input: Input): number {
  const value = input.maxResults;
  if (value === undefined || value === null) return LIST_DEFAULT_PAGE;
  if (typeof value !== 'number' || !Number.isInteger(value)) validation(value, 'maxResults', 'Member must be an integer');
  if (value < 1) validation(value, 'maxResults', 'Member must have value greater than or equal to 1');
  if (value > LIST_MAX_RESULTS) validation(value, 'maxResults', `Member must have value less than or equal to ${LIST_MAX_RESULTS}`);
  return value;
}

// --- the emulation --------------------------------------------------------------------------------

export class RegistrySettingsEmulation implements Emulation {
  readonly name = 'registry-settings';
  private readonly registries = new Map<string, RegistryState>();

  async handle(request: EmulatedRequest): Promise<EmulatedAnswer | undefined> {
    if (request.service !== 'ECR' || !(OPERATIONS as readonly string[]).includes(request.operation)) return undefined;
    const registry = await request.registry();
    if (!registry) return awsJsonError(500, 'ServerException', 'local AWS layer: the account of the request could not be told from its credentials');
    return this.call(request.operation as Operation, request.input, { ...registry, now: request.now });
  }

  /** Answers one request of `caller`. */
  call(operation: Operation, input: Input, caller: Caller): EmulatedAnswer {
    try {
      return this.operations[operation](input, this.registryOf(caller), caller);
    } catch (err) {
      if (err instanceof Refusal) return err.answer;
      throw err;
    }
  }

  private registryOf(caller: Caller): RegistryState {
    const key = `${caller.accountId}/${caller.region}`;
    let state = this.registries.get(key);
    if (!state) {
      state = { settings: new Map(), exclusions: new Map() };
      this.registries.set(key, state);
    }
    return state;
  }

  private readonly operations: Record<Operation, (input: Input, state: RegistryState, caller: Caller) => EmulatedAnswer> = {
    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutSigningConfiguration.html
    // Request: signingConfiguration (required; rules 0-10, each a signingProfileArn and optional
    // repositoryFilters). Response: the signingConfiguration as stored. Replaces any earlier one.
    PutSigningConfiguration: (input, state) => {
      const config = signingConfigurationOf(input);
      state.signing = config;
      return ok({ signingConfiguration: config });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetSigningConfiguration.html
    // No request members. Response: registryId, signingConfiguration; SigningConfigurationNotFoundException
    // when the registry has none.
    GetSigningConfiguration: (_input, state, caller) => {
      if (!state.signing) refuse(signingNotFound(caller));
      return ok({ registryId: caller.accountId, signingConfiguration: state.signing });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteSigningConfiguration.html
    // No request members. Response: registryId and the deleted signingConfiguration;
    // SigningConfigurationNotFoundException when the registry has none.
    DeleteSigningConfiguration: (_input, state, caller) => {
      const deleted = state.signing;
      if (!deleted) refuse(signingNotFound(caller));
      delete state.signing;
      return ok({ registryId: caller.accountId, signingConfiguration: deleted });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAccountSetting.html
    // Request: name (required, 1-64). Response: name and value; a setting nobody put has its initial value.
    GetAccountSetting: (input, state) => {
      const name = settingNameOf(input);
      return ok({ name, value: state.settings.get(name) ?? ACCOUNT_SETTINGS[name]!.initial });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutAccountSetting.html
    // Request: name (required, 1-64) and value (required), one of the values the setting takes.
    // Response: name and value as stored.
    PutAccountSetting: (input, state) => {
      const name = settingNameOf(input);
      const value = stringOf(input.value, 'value', { max: Number.MAX_SAFE_INTEGER });
      const allowed = ACCOUNT_SETTINGS[name]!.values;
      if (!allowed.includes(value)) invalidParameter('value', `Valid values for ${name} are: ${allowed.join(', ')}`);
      state.settings.set(name, value);
      return ok({ name, value });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_RegisterPullTimeUpdateExclusion.html
    // Request: principalArn (required, at most 200, an IAM role or user ARN). Response: principalArn
    // and createdAt. ExclusionAlreadyExistsException for a principal already excluded;
    // LimitExceededException beyond 100 exclusions.
    RegisterPullTimeUpdateExclusion: (input, state, caller) => {
      const principalArn = principalArnOf(input);
      if (state.exclusions.has(principalArn)) {
        refuse(awsJsonError(400, 'ExclusionAlreadyExistsException', `The specified pull time update exclusion already exists for the registry with id '${caller.accountId}': ${principalArn}`));
      }
      if (state.exclusions.size >= EXCLUSIONS_MAX) {
        refuse(awsJsonError(400, 'LimitExceededException', `The operation did not succeed because it would have exceeded a service limit for your account: at most ${EXCLUSIONS_MAX} pull time update exclusions per registry`));
      }
      state.exclusions.set(principalArn, caller.now);
      // The JSON protocol carries timestamps as epoch seconds.
      return ok({ principalArn, createdAt: caller.now.getTime() / 1000 });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeregisterPullTimeUpdateExclusion.html
    // Request: principalArn (required, as for Register). Response: principalArn.
    // ExclusionNotFoundException for a principal that is not excluded.
    DeregisterPullTimeUpdateExclusion: (input, state, caller) => {
      const principalArn = principalArnOf(input);
      if (!state.exclusions.delete(principalArn)) {
        refuse(awsJsonError(400, 'ExclusionNotFoundException', `The specified pull time update exclusion was not found in the registry with id '${caller.accountId}': ${principalArn}`));
      }
      return ok({ principalArn });
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListPullTimeUpdateExclusions.html
    // Request: maxResults (1-1000; up to 100 without it) and nextToken. Response:
    // pullTimeUpdateExclusions (principal ARNs) and nextToken while more remain.
    ListPullTimeUpdateExclusions: (input, state) => {
      const size = maxResultsOf(input);
      const offset = offsetOf(input);
      const all = [...state.exclusions.keys()];
      const out: Record<string, unknown> = { pullTimeUpdateExclusions: all.slice(offset, offset + size) };
      if (offset + size < all.length) out.nextToken = encodeToken(offset + size);
      return ok(out);
    },
  };
}

function signingNotFound(caller: Caller): EmulatedAnswer {
  return awsJsonError(400, 'SigningConfigurationNotFoundException', `The specified signing configuration was not found in the registry with id '${caller.accountId}'`);
}
