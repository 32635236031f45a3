/**
 * Amazon ECR's pull through cache rules: one rule per repository prefix of a registry. Read one,
 * create, update (credentials and role, all that ECR lets change), delete and validate. It decides
 * nothing: the ECRPullThroughCacheRule kind says which rule and what it should be. Every failure
 * leaves here as an `AwsError` (errors.ts); a rule that does not exist is answered as undefined.
 */
import {
  CreatePullThroughCacheRuleCommand,
  DeletePullThroughCacheRuleCommand,
  DescribePullThroughCacheRulesCommand,
  UpdatePullThroughCacheRuleCommand,
  ValidatePullThroughCacheRuleCommand,
  type ECRClient,
  type UpstreamRegistry,
} from '@aws-sdk/client-ecr';
import { classifyAwsError, isAwsError } from './errors.js';

/** ECR's code for a prefix that has no rule (DescribePullThroughCacheRules with it, Update, Delete, Validate). */
export const RULE_NOT_FOUND = 'PullThroughCacheRuleNotFoundException';
/** ECR's code for a CreatePullThroughCacheRule whose prefix has a rule already. */
export const RULE_EXISTS = 'PullThroughCacheRuleAlreadyExistsException';

/** A rule as ECR describes it. */
export interface LivePullThroughCacheRule {
  ecrRepositoryPrefix: string;
  upstreamRegistryUrl: string;
  upstreamRegistry?: string;
  upstreamRepositoryPrefix?: string;
  credentialArn?: string;
  customRoleArn?: string;
  registryId?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

/** What CreatePullThroughCacheRule takes. */
export interface PullThroughCacheRuleInput {
  ecrRepositoryPrefix: string;
  upstreamRegistryUrl: string;
  upstreamRegistry: string;
  upstreamRepositoryPrefix?: string;
  credentialArn?: string;
  customRoleArn?: string;
}

/** ValidatePullThroughCacheRule's verdict. */
export interface RuleValidation {
  isValid: boolean;
  failure?: string;
}

type EcrSend = Pick<ECRClient, 'send'>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export class PullThroughCacheGateway {
  constructor(private readonly client: EcrSend) {}

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyAwsError(err, operation);
    }
  }

  /** The rule of this prefix, or undefined when the registry has none. Always asks AWS. */
  async describe(ecrRepositoryPrefix: string): Promise<LivePullThroughCacheRule | undefined> {
    try {
      const out = await this.call('DescribePullThroughCacheRules', () => this.client.send(new DescribePullThroughCacheRulesCommand({ ecrRepositoryPrefixes: [ecrRepositoryPrefix] })));
      const rule = (out.pullThroughCacheRules ?? []).find((r) => r.ecrRepositoryPrefix === ecrRepositoryPrefix);
      if (!rule) return undefined;
      const live: LivePullThroughCacheRule = { ecrRepositoryPrefix, upstreamRegistryUrl: rule.upstreamRegistryUrl ?? '' };
      const optional = {
        upstreamRegistry: nonEmpty(rule.upstreamRegistry),
        upstreamRepositoryPrefix: nonEmpty(rule.upstreamRepositoryPrefix),
        credentialArn: nonEmpty(rule.credentialArn),
        customRoleArn: nonEmpty(rule.customRoleArn),
        registryId: nonEmpty(rule.registryId),
      };
      for (const [key, value] of Object.entries(optional)) if (value !== undefined) (live as unknown as Record<string, string>)[key] = value;
      if (rule.createdAt) live.createdAt = rule.createdAt;
      if (rule.updatedAt) live.updatedAt = rule.updatedAt;
      return live;
    } catch (err) {
      if (isAwsError(err) && err.code === RULE_NOT_FOUND) return undefined;
      throw err;
    }
  }

  async create(input: PullThroughCacheRuleInput): Promise<{ createdAt?: Date; registryId?: string }> {
    const out = await this.call('CreatePullThroughCacheRule', () => this.client.send(new CreatePullThroughCacheRuleCommand({
      ecrRepositoryPrefix: input.ecrRepositoryPrefix,
      upstreamRegistryUrl: input.upstreamRegistryUrl,
      upstreamRegistry: input.upstreamRegistry as UpstreamRegistry,
      ...(input.upstreamRepositoryPrefix !== undefined ? { upstreamRepositoryPrefix: input.upstreamRepositoryPrefix } : {}),
      ...(input.credentialArn !== undefined ? { credentialArn: input.credentialArn } : {}),
      ...(input.customRoleArn !== undefined ? { customRoleArn: input.customRoleArn } : {}),
    })));
    return { ...(out.createdAt ? { createdAt: out.createdAt } : {}), ...(out.registryId ? { registryId: out.registryId } : {}) };
  }

  /** Changes what ECR lets change of a rule: its secret and its role. */
  async update(ecrRepositoryPrefix: string, change: { credentialArn?: string; customRoleArn?: string }): Promise<{ updatedAt?: Date }> {
    const out = await this.call('UpdatePullThroughCacheRule', () => this.client.send(new UpdatePullThroughCacheRuleCommand({
      ecrRepositoryPrefix,
      ...(change.credentialArn !== undefined ? { credentialArn: change.credentialArn } : {}),
      ...(change.customRoleArn !== undefined ? { customRoleArn: change.customRoleArn } : {}),
    })));
    return out.updatedAt ? { updatedAt: out.updatedAt } : {};
  }

  /** Deletes the rule; true when it existed. */
  async delete(ecrRepositoryPrefix: string): Promise<boolean> {
    try {
      await this.call('DeletePullThroughCacheRule', () => this.client.send(new DeletePullThroughCacheRuleCommand({ ecrRepositoryPrefix })));
      return true;
    } catch (err) {
      if (isAwsError(err) && err.code === RULE_NOT_FOUND) return false;
      throw err;
    }
  }

  /** ECR's verdict on the rule: whether it reaches the upstream registry and authenticates there. */
  async validate(ecrRepositoryPrefix: string): Promise<RuleValidation> {
    const out = await this.call('ValidatePullThroughCacheRule', () => this.client.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix })));
    return { isValid: out.isValid === true, ...(out.failure ? { failure: out.failure } : {}) };
  }
}
