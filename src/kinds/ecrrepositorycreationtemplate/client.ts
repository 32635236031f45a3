import { DEFAULT_DELETION_POLICY } from '../../api/types.js';
import { CreationTemplateGateway, TEMPLATE_EXISTS, type CreationTemplateSettings, type LiveCreationTemplate } from '../../aws/creation-templates.js';
import { isAwsError } from '../../aws/errors.js';
import { policiesEqual } from '../../aws/policy.js';
import type { Place, ResourceContext, ResourceKind } from '../../reconcilers/cluster-resource.js';
import { Failure, isoSeconds, type Creation, type Deletion, type ExternalClient, type Happening, type Observation, type Update } from '../../reconcilers/managed.js';
import {
  ECR_REPOSITORY_CREATION_TEMPLATE, REPOSITORY_CREATION_TEMPLATE_REF, type ECRRepositoryCreationTemplate, type ECRRepositoryCreationTemplateSpec,
  type ECRRepositoryCreationTemplateStatus,
} from './types.js';
import { validateCreationTemplateSpec, validateForRegistry } from './validation.js';

/**
 * ECRRepositoryCreationTemplate's external client: the template of its prefix in its provider's
 * registry. Observe reads it afresh and compares it with the spec by meaning (policies in canonical
 * form, tags as a map, scenarios and filters as sets, ECR's defaults filled in); create records the
 * prefix as pending; update creates the template or makes it what the spec says with
 * UpdateRepositoryCreationTemplate, every member named so that what the spec dropped is cleared.
 */

type Status = ECRRepositoryCreationTemplateStatus;

function describeTemplate(prefix: string): string {
  return `repository creation template ${prefix}`;
}

/** The template the spec asks for, with ECR's defaults (AES256, MUTABLE) written out. */
export function desiredSettings(spec: ECRRepositoryCreationTemplateSpec): CreationTemplateSettings {
  const settings: CreationTemplateSettings = {
    appliedFor: [...spec.appliedFor],
    encryption: {
      encryptionType: spec.encryptionConfiguration?.encryptionType ?? 'AES256',
      ...(spec.encryptionConfiguration?.kmsKey ? { kmsKey: spec.encryptionConfiguration.kmsKey } : {}),
    },
    imageTagMutability: spec.imageTagMutability ?? 'MUTABLE',
    resourceTags: { ...(spec.resourceTags ?? {}) },
  };
  if (spec.description) settings.description = spec.description;
  if (spec.imageTagMutabilityExclusionFilters?.length) settings.imageTagMutabilityExclusionFilters = spec.imageTagMutabilityExclusionFilters.map((f) => ({ filter: f.filter, filterType: f.filterType }));
  if (spec.repositoryPolicyText?.trim()) settings.repositoryPolicy = spec.repositoryPolicyText;
  if (spec.lifecyclePolicy?.policyText.trim()) settings.lifecyclePolicy = spec.lifecyclePolicy.policyText;
  if (spec.customRoleArn) settings.customRoleArn = spec.customRoleArn;
  return settings;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

/** The members of the live template that differ from the desired one, by name. */
export function templateDifferences(desired: CreationTemplateSettings, live: LiveCreationTemplate): string[] {
  const out: string[] = [];
  if ((desired.description ?? '') !== (live.description ?? '')) out.push('description');
  if (!sameSet(desired.appliedFor, live.appliedFor)) out.push('appliedFor');
  const liveEncryption = live.encryption ?? { encryptionType: 'AES256' };
  // With KMS and no key ECR uses its AWS managed key; a key it reports then is that default.
  const keyDiffers = desired.encryption?.kmsKey !== undefined && desired.encryption.kmsKey !== liveEncryption.kmsKey;
  if (desired.encryption?.encryptionType !== liveEncryption.encryptionType || keyDiffers) out.push('encryptionConfiguration');
  if ((desired.imageTagMutability ?? 'MUTABLE') !== (live.imageTagMutability ?? 'MUTABLE')) out.push('imageTagMutability');
  const filters = (list: CreationTemplateSettings['imageTagMutabilityExclusionFilters']) => (list ?? []).map((f) => `${f.filterType}:${f.filter}`);
  if (!sameSet(filters(desired.imageTagMutabilityExclusionFilters), filters(live.imageTagMutabilityExclusionFilters))) out.push('imageTagMutabilityExclusionFilters');
  const tags = (t: Record<string, string>) => Object.entries(t).map(([k, v]) => JSON.stringify([k, v]));
  if (!sameSet(tags(desired.resourceTags), tags(live.resourceTags))) out.push('resourceTags');
  if (!policiesEqual(desired.repositoryPolicy, live.repositoryPolicy)) out.push('repositoryPolicy');
  if (!policiesEqual(desired.lifecyclePolicy, live.lifecyclePolicy)) out.push('lifecyclePolicy');
  if ((desired.customRoleArn ?? '') !== (live.customRoleArn ?? '')) out.push('customRoleArn');
  return out;
}

export class CreationTemplateClient implements ExternalClient<ECRRepositoryCreationTemplate, Status> {
  private live: LiveCreationTemplate | undefined;
  private differences: string[] = [];

  constructor(private readonly ctx: ResourceContext<ECRRepositoryCreationTemplate>) {}

  private get prefix(): string {
    return this.ctx.obj.spec.prefix;
  }

  private templates(place: Place): CreationTemplateGateway {
    return new CreationTemplateGateway(place.connection.session.ecr);
  }

  async observe(obj: ECRRepositoryCreationTemplate): Promise<Observation<Status>> {
    const place = await this.ctx.place();
    const where = this.ctx.where(place.registry);
    const problem = validateForRegistry(obj.spec, place.registry);
    if (problem) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: problem }, 'edit', { status: where });
    const live = await this.templates(place).describe(this.prefix);
    this.live = live;
    const message = `${describeTemplate(this.prefix)} is in ${place.registry.accountId}/${place.registry.region}`;
    if (!live) return { exists: false, upToDate: false, status: where, message };
    this.ctx.claim(place.registry, describeTemplate(this.prefix));
    this.differences = templateDifferences(desiredSettings(obj.spec), live);
    const status: Partial<Status> = { ...where, createdAt: live.createdAt ? isoSeconds(live.createdAt) : undefined, updatedAt: live.updatedAt ? isoSeconds(live.updatedAt) : undefined };
    const upToDate = this.ctx.recorded() === 'applied' && !this.ctx.adopting && this.differences.length === 0;
    return { exists: true, upToDate, status, message };
  }

  /** Records the prefix before anything is created; update creates. */
  create(): Promise<Creation<Status>> {
    const status = this.ctx.pending() as Partial<Status>;
    return Promise.resolve({
      status,
      observation: { exists: true, upToDate: false, status, message: `creating ${describeTemplate(this.prefix)}` },
    });
  }

  async update(obj: ECRRepositoryCreationTemplate): Promise<Update<Status>> {
    const place = await this.ctx.place();
    const where = this.ctx.where(place.registry);
    const templates = this.templates(place);
    const desired = desiredSettings(obj.spec);
    const at = `${place.registry.accountId}/${place.registry.region}`;
    let written: LiveCreationTemplate | undefined;
    let event: Happening | undefined;
    if (!this.live) {
      try {
        written = await templates.create(this.prefix, desired);
      } catch (err) {
        if (!isAwsError(err) || err.code !== TEMPLATE_EXISTS) throw err;
        throw new Failure({ kind: 'progressing', reason: 'Creating', message: `${describeTemplate(this.prefix)} appeared while it was being created; looking again` }, 'backoff', { cause: err });
      }
      event = { reason: 'Created', message: `created ${describeTemplate(this.prefix)} in ${at} for ${desired.appliedFor.join(', ')}` };
    } else if (this.differences.length > 0) {
      written = await templates.update(this.prefix, desired);
      event = this.ctx.adopting
        ? { reason: 'Adopted', message: `took over ${describeTemplate(this.prefix)} in ${at}; updated ${this.differences.join(', ')}` }
        : { reason: 'Updated', message: `updated ${describeTemplate(this.prefix)} in ${at}: ${this.differences.join(', ')}` };
    } else if (this.ctx.adopting) {
      event = { reason: 'Adopted', message: `took over ${describeTemplate(this.prefix)} in ${at}` };
    }
    const source = written ?? this.live;
    this.ctx.deps.logger.info({ controller: ECR_REPOSITORY_CREATION_TEMPLATE.plural, name: obj.metadata.name, registry: at, changed: this.live ? this.differences : ['created'] }, 'repository creation template synced');
    return {
      status: {
        ...where,
        ...(this.ctx.applied() as Partial<Status>),
        createdAt: source?.createdAt ? isoSeconds(source.createdAt) : obj.status?.createdAt,
        updatedAt: source?.updatedAt ? isoSeconds(source.updatedAt) : undefined,
      },
      ...(event ? { event } : {}),
    };
  }

  async delete(obj: ECRRepositoryCreationTemplate): Promise<Deletion> {
    const policy = obj.spec.deletionPolicy ?? DEFAULT_DELETION_POLICY;
    const recorded = obj.status?.appliedPrefix ?? obj.status?.pendingPrefix;
    if (policy !== 'Delete') {
      return { done: true, event: { reason: 'Retained', message: `${recorded !== undefined ? describeTemplate(recorded) : 'nothing'} left in AWS (deletionPolicy ${policy})` } };
    }
    if (recorded === undefined) return { done: true, event: { reason: 'Deleted', message: 'nothing of this object was ever created in AWS' } };
    const place = await this.ctx.place(true);
    const at = `${place.registry.accountId}/${place.registry.region}`;
    const removed = await this.templates(place).delete(recorded);
    return { done: true, event: { reason: 'Deleted', message: removed ? `deleted ${describeTemplate(recorded)} from ${at}` : `${describeTemplate(recorded)} was already gone from ${at}` } };
  }
}

export const creationTemplateResource: ResourceKind<ECRRepositoryCreationTemplate> = {
  name: 'ecrrepositorycreationtemplate',
  kind: ECR_REPOSITORY_CREATION_TEMPLATE.kind,
  ref: REPOSITORY_CREATION_TEMPLATE_REF,
  prefix: (obj) => obj.spec.prefix,
  validate: (obj) => validateCreationTemplateSpec(obj.spec),
  client: (_obj, context) => new CreationTemplateClient(context),
};
