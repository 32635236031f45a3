/**
 * Amazon ECR's repository creation templates: one per repository prefix (or ROOT) of a registry,
 * the settings ECR gives the repositories it creates itself (pull through cache, replication,
 * create on push). Read one, create, update, delete. It decides nothing: the
 * ECRRepositoryCreationTemplate kind says which template and what it should be. Every failure leaves
 * here as an `AwsError` (errors.ts); a template that does not exist is answered as undefined.
 */
import {
  CreateRepositoryCreationTemplateCommand,
  DeleteRepositoryCreationTemplateCommand,
  DescribeRepositoryCreationTemplatesCommand,
  UpdateRepositoryCreationTemplateCommand,
  type ECRClient,
  type EncryptionType,
  type ImageTagMutability,
  type RCTAppliedFor,
  type RepositoryCreationTemplate,
} from '@aws-sdk/client-ecr';
import type { EncryptionTypeSetting, ExclusionFilter, ImageTagMutabilitySetting } from './ecr.js';
import { classifyAwsError, isAwsError } from './errors.js';

/** ECR's code for a prefix that has no template (Update, Delete). */
export const TEMPLATE_NOT_FOUND = 'TemplateNotFoundException';
/** ECR's code for a CreateRepositoryCreationTemplate whose prefix has a template already. */
export const TEMPLATE_EXISTS = 'TemplateAlreadyExistsException';

export type AppliedFor = 'REPLICATION' | 'PULL_THROUGH_CACHE' | 'CREATE_ON_PUSH';

/** A template's settings, as the operator writes them and as ECR describes them. */
export interface CreationTemplateSettings {
  description?: string;
  appliedFor: AppliedFor[];
  encryption?: { encryptionType: EncryptionTypeSetting; kmsKey?: string };
  imageTagMutability?: ImageTagMutabilitySetting;
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  resourceTags: Record<string, string>;
  repositoryPolicy?: string;
  lifecyclePolicy?: string;
  customRoleArn?: string;
}

export interface LiveCreationTemplate extends CreationTemplateSettings {
  prefix: string;
  registryId?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

type EcrSend = Pick<ECRClient, 'send'>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function toLive(t: RepositoryCreationTemplate, prefix: string, registryId: string | undefined): LiveCreationTemplate {
  const resourceTags: Record<string, string> = {};
  for (const tag of t.resourceTags ?? []) if (tag.Key !== undefined) resourceTags[tag.Key] = tag.Value ?? '';
  const live: LiveCreationTemplate = { prefix, appliedFor: (t.appliedFor ?? []) as AppliedFor[], resourceTags };
  const description = nonEmpty(t.description);
  if (description !== undefined) live.description = description;
  if (t.encryptionConfiguration?.encryptionType) {
    const kmsKey = nonEmpty(t.encryptionConfiguration.kmsKey);
    live.encryption = { encryptionType: t.encryptionConfiguration.encryptionType as EncryptionTypeSetting, ...(kmsKey ? { kmsKey } : {}) };
  }
  if (t.imageTagMutability) live.imageTagMutability = t.imageTagMutability as ImageTagMutabilitySetting;
  const filters = (t.imageTagMutabilityExclusionFilters ?? []).map((f) => ({ filter: f.filter ?? '', filterType: 'WILDCARD' as const }));
  if (filters.length > 0) live.imageTagMutabilityExclusionFilters = filters;
  const repositoryPolicy = nonEmpty(t.repositoryPolicy);
  if (repositoryPolicy !== undefined) live.repositoryPolicy = repositoryPolicy;
  const lifecyclePolicy = nonEmpty(t.lifecyclePolicy);
  if (lifecyclePolicy !== undefined) live.lifecyclePolicy = lifecyclePolicy;
  const customRoleArn = nonEmpty(t.customRoleArn);
  if (customRoleArn !== undefined) live.customRoleArn = customRoleArn;
  if (registryId) live.registryId = registryId;
  if (t.createdAt) live.createdAt = t.createdAt;
  if (t.updatedAt) live.updatedAt = t.updatedAt;
  return live;
}

/**
 * The request members of a template's settings. An update names every member, so that what the
 * spec no longer has is removed: an empty text or list clears it.
 */
function members(settings: CreationTemplateSettings, update: boolean) {
  const tags = Object.entries(settings.resourceTags).map(([Key, Value]) => ({ Key, Value }));
  const filters = settings.imageTagMutabilityExclusionFilters;
  return {
    appliedFor: settings.appliedFor as RCTAppliedFor[],
    ...(settings.description !== undefined || update ? { description: settings.description ?? '' } : {}),
    ...(settings.encryption
      ? { encryptionConfiguration: { encryptionType: settings.encryption.encryptionType as EncryptionType, ...(settings.encryption.kmsKey ? { kmsKey: settings.encryption.kmsKey } : {}) } }
      : {}),
    ...(settings.imageTagMutability ? { imageTagMutability: settings.imageTagMutability as ImageTagMutability } : {}),
    ...(filters?.length ? { imageTagMutabilityExclusionFilters: filters.map((f) => ({ filter: f.filter, filterType: f.filterType })) } : {}),
    ...(tags.length > 0 || update ? { resourceTags: tags } : {}),
    ...(settings.repositoryPolicy !== undefined || update ? { repositoryPolicy: settings.repositoryPolicy ?? '' } : {}),
    ...(settings.lifecyclePolicy !== undefined || update ? { lifecyclePolicy: settings.lifecyclePolicy ?? '' } : {}),
    ...(settings.customRoleArn !== undefined || update ? { customRoleArn: settings.customRoleArn ?? '' } : {}),
  };
}

export class CreationTemplateGateway {
  constructor(private readonly client: EcrSend) {}

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyAwsError(err, operation);
    }
  }

  /** The template of this prefix, or undefined when the registry has none. Always asks AWS. */
  async describe(prefix: string): Promise<LiveCreationTemplate | undefined> {
    const out = await this.call('DescribeRepositoryCreationTemplates', () => this.client.send(new DescribeRepositoryCreationTemplatesCommand({ prefixes: [prefix] })));
    const template = (out.repositoryCreationTemplates ?? []).find((t) => t.prefix === prefix);
    return template ? toLive(template, prefix, out.registryId) : undefined;
  }

  async create(prefix: string, settings: CreationTemplateSettings): Promise<LiveCreationTemplate> {
    const out = await this.call('CreateRepositoryCreationTemplate', () => this.client.send(new CreateRepositoryCreationTemplateCommand({ prefix, ...members(settings, false) })));
    return toLive(out.repositoryCreationTemplate ?? {}, prefix, out.registryId);
  }

  /** Makes the template what `settings` say, every member named. */
  async update(prefix: string, settings: CreationTemplateSettings): Promise<LiveCreationTemplate> {
    const out = await this.call('UpdateRepositoryCreationTemplate', () => this.client.send(new UpdateRepositoryCreationTemplateCommand({ prefix, ...members(settings, true) })));
    return toLive(out.repositoryCreationTemplate ?? {}, prefix, out.registryId);
  }

  /** Deletes the template; true when it existed. */
  async delete(prefix: string): Promise<boolean> {
    try {
      await this.call('DeleteRepositoryCreationTemplate', () => this.client.send(new DeleteRepositoryCreationTemplateCommand({ prefix })));
      return true;
    } catch (err) {
      if (isAwsError(err) && err.code === TEMPLATE_NOT_FOUND) return false;
      throw err;
    }
  }
}
