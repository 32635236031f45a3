import { findCondition, setCondition } from '../../api/conditions.js';
import { ADOPT_ANNOTATION, DEFAULT_DELETION_POLICY, OWNER_TAG } from '../../api/types.js';
import { isAwsError, redactCredentials, type AwsError } from '../../aws/errors.js';
import { PullThroughCacheGateway, RULE_EXISTS, type LivePullThroughCacheRule, type PullThroughCacheRuleInput } from '../../aws/pull-through-cache.js';
import { SECRET_EXISTS, type LiveSecret, type SecretsGateway } from '../../aws/secrets-manager.js';
import {
  Failure, isoSeconds, type Creation, type Deletion, type ExternalClient, type Happening, type Observation, type Update,
} from '../../reconcilers/managed.js';
import type { Place, ResourceContext, ResourceKind } from '../../reconcilers/cluster-resource.js';
import { holds, managedSecretName, readCredentials, secretOwner, secretValue, type UpstreamCredentials } from './credentials.js';
import { ECR_PULL_THROUGH_CACHE_RULE, PULL_THROUGH_CACHE_RULE_REF, type ECRPullThroughCacheRule, type ECRPullThroughCacheRuleStatus } from './types.js';
import { validateForRegistry, validatePullThroughCacheRuleSpec } from './validation.js';
import { CredentialsSecretPoll, credentialsSecretWatch } from './watches.js';

/**
 * ECRPullThroughCacheRule's external client: the rule of its prefix in its provider's registry, and,
 * with spec.credentialsSecretRef, the Secrets Manager secret that holds the Kubernetes Secret's
 * credentials for ECR. Observe reads the rule, the Kubernetes Secret and the secret afresh; create
 * only records the prefix as pending; update creates the secret (tagged with the owner tag in the
 * same call) or puts the Secret's current credentials in it, then creates the rule, changes its
 * credentials or role with UpdatePullThroughCacheRule, or replaces it where ECR cannot change a
 * field; every sync ends with ValidatePullThroughCacheRule's verdict in the UpstreamValid condition.
 * No credential value ever reaches a message, an Event, a log line or the status.
 */

type Status = ECRPullThroughCacheRuleStatus;

/** How often the Secrets behind spec.credentialsSecretRef are read again, unless the operator says (--secret-poll-period's default). */
const DEFAULT_SECRET_POLL_MS = 30_000;

/** The condition that carries ValidatePullThroughCacheRule's verdict. */
export const UPSTREAM_VALID = 'UpstreamValid';

/** ECR's answers about a rule's secret that only the user can fix (Amazon ECR API Reference, CreatePullThroughCacheRule, Errors). */
const SECRET_REFUSALS: Readonly<Record<string, string>> = {
  SecretNotFoundException: 'SecretNotFound',
  UnableToAccessSecretException: 'SecretNotAccessible',
  UnableToDecryptSecretValueException: 'SecretNotAccessible',
  UnsupportedUpstreamRegistryException: 'InvalidSpec',
};

function describeRule(prefix: string): string {
  return `pull through cache rule ${prefix}`;
}

function iso(date: Date | undefined): string | undefined {
  return date ? isoSeconds(date) : undefined;
}

/** A stop for what only the user can fix in ECR's view of the secret; other failures as they are. */
function refusal(err: unknown, status: Partial<Status>): unknown {
  if (!isAwsError(err)) return err;
  const reason = SECRET_REFUSALS[err.code];
  return reason ? new Failure({ kind: 'stalled', reason, message: err.message }, 'stall', { cause: err, status }) : err;
}

interface SecretState {
  name: string;
  live: LiveSecret | undefined;
  /** The live secret carries no owner tag and the adopt annotation allows taking it. */
  adopting: boolean;
  /** The live secret holds the Kubernetes Secret's credentials. */
  current: boolean;
  credentials: UpstreamCredentials;
}

export class PullThroughCacheRuleClient implements ExternalClient<ECRPullThroughCacheRule, Status> {
  private live: LivePullThroughCacheRule | undefined;
  private secret: SecretState | undefined;

  constructor(private readonly ctx: ResourceContext<ECRPullThroughCacheRule>) {}

  private get obj(): ECRPullThroughCacheRule {
    return this.ctx.obj;
  }

  private get prefix(): string {
    return this.obj.spec.ecrRepositoryPrefix;
  }

  private rules(place: Place): PullThroughCacheGateway {
    return new PullThroughCacheGateway(place.connection.session.ecr);
  }

  private secrets(place: Place): SecretsGateway {
    return this.ctx.deps.secretsManager.gateway(place.connection.session, place.provider.spec.endpoint);
  }

  private owner(): string {
    return secretOwner(this.obj.metadata.name, this.ctx.deps.clusterName);
  }

  async observe(obj: ECRPullThroughCacheRule): Promise<Observation<Status>> {
    const place = await this.ctx.place();
    const where = this.ctx.where(place.registry);
    const problem = validateForRegistry(obj.spec, place.registry);
    if (problem) throw new Failure({ kind: 'stalled', reason: 'InvalidSpec', message: problem }, 'edit', { status: where });
    const live = await this.rules(place).describe(this.prefix);
    this.live = live;
    if (live) this.ctx.claim(place.registry, describeRule(this.prefix));
    if (obj.spec.credentialsSecretRef) this.secret = await this.observeSecret(place, where);
    const status: Partial<Status> = { ...where, ...this.liveStatus(live) };
    if (this.secret?.live) status.managedSecretArn = this.secret.live.arn;
    const message = `${describeRule(this.prefix)} (${obj.spec.upstreamRegistryUrl}) is in ${place.registry.accountId}/${place.registry.region}`;
    if (!live) return { exists: false, upToDate: false, status, message };
    const upToDate = this.ctx.recorded() === 'applied' && !this.ctx.adopting && this.changes(live).length === 0
      && (!this.secret || (this.secret.current && !this.secret.adopting))
      && !(obj.status?.managedSecretArn && !obj.spec.credentialsSecretRef);
    if (upToDate) await this.validate(place);
    return { exists: true, upToDate, status, message };
  }

  /** Records the prefix before anything is created; update creates. */
  create(): Promise<Creation<Status>> {
    const status = this.ctx.pending() as Partial<Status>;
    return Promise.resolve({
      status,
      observation: { exists: true, upToDate: false, status, message: `creating ${describeRule(this.prefix)}` },
    });
  }

  async update(obj: ECRPullThroughCacheRule): Promise<Update<Status>> {
    const place = await this.ctx.place();
    const where = this.ctx.where(place.registry);
    const rules = this.rules(place);
    const done: string[] = [];
    let credentialArn = obj.spec.credentialArn;
    let managedSecretArn: string | undefined = obj.status?.managedSecretArn;
    if (this.secret) {
      credentialArn = await this.applySecret(place, this.secret, done);
      managedSecretArn = credentialArn;
    }
    const desired: PullThroughCacheRuleInput = {
      ecrRepositoryPrefix: this.prefix,
      upstreamRegistryUrl: obj.spec.upstreamRegistryUrl,
      upstreamRegistry: obj.spec.upstreamRegistry,
      ...(obj.spec.upstreamRepositoryPrefix !== undefined ? { upstreamRepositoryPrefix: obj.spec.upstreamRepositoryPrefix } : {}),
      ...(credentialArn !== undefined ? { credentialArn } : {}),
      ...(obj.spec.customRoleArn !== undefined ? { customRoleArn: obj.spec.customRoleArn } : {}),
    };
    const created = !this.live;
    const adopting = this.ctx.adopting;
    let createdAt: Date | undefined = this.live?.createdAt;
    let updatedAt: Date | undefined = this.live?.updatedAt;
    try {
      const live = this.live;
      if (!live) {
        createdAt = (await this.createRule(rules, desired)).createdAt ?? createdAt;
        done.push('created the rule');
      } else {
        const changes = this.changes(live, credentialArn);
        if (changes.some((c) => c.replace)) {
          // ECR changes a rule's upstream, and drops its role, only by making it anew.
          await rules.delete(this.prefix);
          createdAt = (await this.createRule(rules, desired)).createdAt ?? createdAt;
          done.push(`replaced the rule (${changes.map((c) => c.field).join(', ')} differed)`);
        } else if (changes.length > 0) {
          updatedAt = (await rules.update(this.prefix, { credentialArn, customRoleArn: obj.spec.customRoleArn })).updatedAt ?? updatedAt;
          done.push(`updated ${changes.map((c) => c.field).join(', ')}`);
        }
      }
    } catch (err) {
      throw refusal(err, where);
    }
    // A secret this object created for an earlier spec.credentialsSecretRef, no longer used.
    if (!obj.spec.credentialsSecretRef && obj.status?.managedSecretArn) {
      if (await this.dropOwnSecret(place, obj.status.managedSecretArn)) done.push('deleted the Secrets Manager secret it no longer uses');
      managedSecretArn = undefined;
    }
    await this.validate(place);
    const status: Partial<Status> = {
      ...where,
      ...(this.ctx.applied() as Partial<Status>),
      createdAt: iso(createdAt) ?? obj.status?.createdAt,
      updatedAt: iso(updatedAt),
      upstreamRegistry: obj.spec.upstreamRegistry,
      upstreamRegistryUrl: obj.spec.upstreamRegistryUrl,
      credentialArn,
      managedSecretArn,
    };
    const at = `${place.registry.accountId}/${place.registry.region}`;
    this.ctx.deps.logger.info({ controller: ECR_PULL_THROUGH_CACHE_RULE.plural, name: obj.metadata.name, registry: at, done }, 'pull through cache rule synced');
    let event: Happening | undefined;
    if (adopting) event = { reason: 'Adopted', message: `took over ${describeRule(this.prefix)} in ${at}${done.length ? `; ${done.join('; ')}` : ''}` };
    else if (created) event = { reason: 'Created', message: `created ${describeRule(this.prefix)} for ${obj.spec.upstreamRegistryUrl} in ${at}` };
    else if (done.length > 0) event = { reason: 'Updated', message: `${describeRule(this.prefix)} in ${at}: ${done.join('; ')}` };
    return { status, ...(event ? { event } : {}) };
  }

  async delete(obj: ECRPullThroughCacheRule): Promise<Deletion> {
    const policy = obj.spec.deletionPolicy ?? DEFAULT_DELETION_POLICY;
    const recorded = obj.status?.appliedPrefix ?? obj.status?.pendingPrefix;
    const hasSecret = obj.spec.credentialsSecretRef !== undefined || obj.status?.managedSecretArn !== undefined;
    if (policy !== 'Delete') {
      return { done: true, event: { reason: 'Retained', message: `${recorded !== undefined ? describeRule(recorded) : 'nothing'} left in AWS (deletionPolicy ${policy})` } };
    }
    if (recorded === undefined && !hasSecret) return { done: true, event: { reason: 'Deleted', message: 'nothing of this object was ever created in AWS' } };
    const place = await this.ctx.place(true);
    const at = `${place.registry.accountId}/${place.registry.region}`;
    const done: string[] = [];
    if (recorded !== undefined) {
      done.push(await this.rules(place).delete(recorded) ? `deleted ${describeRule(recorded)} from ${at}` : `${describeRule(recorded)} was already gone from ${at}`);
    }
    if (hasSecret && await this.dropOwnSecret(place, obj.status?.managedSecretArn ?? managedSecretName(obj.metadata.name, this.ctx.deps.clusterName))) {
      done.push('deleted the Secrets Manager secret it kept');
    }
    return { done: true, event: { reason: 'Deleted', message: done.length ? done.join('; ') : `nothing of this object was left in ${at}` } };
  }

  /** The differences ECR can close: in place (credentials, role) or by replacing the rule. */
  private changes(live: LivePullThroughCacheRule, credentialArn = this.desiredCredentialArn()): Array<{ field: string; replace: boolean }> {
    const spec = this.obj.spec;
    const out: Array<{ field: string; replace: boolean }> = [];
    if (live.upstreamRegistryUrl !== spec.upstreamRegistryUrl) out.push({ field: 'upstreamRegistryUrl', replace: true });
    if (live.upstreamRegistry !== undefined && live.upstreamRegistry !== spec.upstreamRegistry) out.push({ field: 'upstreamRegistry', replace: true });
    if ((live.upstreamRepositoryPrefix ?? 'ROOT') !== (spec.upstreamRepositoryPrefix ?? 'ROOT')) out.push({ field: 'upstreamRepositoryPrefix', replace: true });
    if (live.customRoleArn !== spec.customRoleArn) out.push({ field: 'customRoleArn', replace: spec.customRoleArn === undefined });
    if (live.credentialArn !== credentialArn) out.push({ field: 'credentialArn', replace: credentialArn === undefined });
    return out;
  }

  /** The secret the rule should name: the spec's, or the one this object keeps (unknown until it exists). */
  private desiredCredentialArn(): string | undefined {
    return this.obj.spec.credentialsSecretRef ? this.secret?.live?.arn : this.obj.spec.credentialArn;
  }

  private liveStatus(live: LivePullThroughCacheRule | undefined): Partial<Status> {
    if (!live) return {};
    return {
      createdAt: iso(live.createdAt),
      updatedAt: iso(live.updatedAt),
      upstreamRegistry: live.upstreamRegistry,
      upstreamRegistryUrl: live.upstreamRegistryUrl,
      credentialArn: live.credentialArn,
    };
  }

  private async createRule(rules: PullThroughCacheGateway, desired: PullThroughCacheRuleInput): Promise<{ createdAt?: Date }> {
    try {
      return await rules.create(desired);
    } catch (err) {
      if (!isAwsError(err) || err.code !== RULE_EXISTS) throw err;
      // Created by someone since observe looked: look again, with the ownership checks.
      throw new Failure({ kind: 'progressing', reason: 'Creating', message: `${describeRule(this.prefix)} appeared while it was being created; looking again` }, 'backoff', { cause: err });
    }
  }

  /** The Kubernetes Secret's credentials and the Secrets Manager secret that should hold them. */
  private async observeSecret(place: Place, where: Partial<Status>): Promise<SecretState> {
    const ref = this.obj.spec.credentialsSecretRef!;
    const namespace = this.obj.spec.providerRef.namespace;
    const read = await readCredentials(this.ctx.deps.kube, namespace, ref.name);
    if ('problem' in read) {
      // The Secret poll brings the object back as soon as the Secret changes.
      throw new Failure({ kind: 'stalled', reason: 'CredentialsSecretInvalid', message: read.problem }, 'wait', { status: where });
    }
    const name = managedSecretName(this.obj.metadata.name, this.ctx.deps.clusterName);
    const secrets = this.secrets(place);
    const live = await secrets.describe(name);
    const state: SecretState = { name, live, adopting: false, current: false, credentials: read.credentials };
    if (!live) return state;
    const what = `Secrets Manager secret ${name}`;
    if (live.deletedDate) {
      throw new Failure({ kind: 'stalled', reason: 'SecretScheduledForDeletion', message: `${what} is scheduled for deletion; restore it (aws secretsmanager restore-secret) or let the deletion complete` }, 'stall', { status: where });
    }
    const owner = live.tags[OWNER_TAG];
    if (owner !== this.owner()) {
      if (owner !== undefined) {
        throw new Failure({ kind: 'stalled', reason: 'AlreadyOwned', message: `${what} is owned by ${owner} (tag ${OWNER_TAG}); nothing was changed` }, 'stall', { status: where });
      }
      if (this.obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
        throw new Failure({ kind: 'stalled', reason: 'AlreadyExists', message: `${what} already exists and was not created by this object; nothing was changed. Annotate this object with ${ADOPT_ANNOTATION}="true" to take it over` }, 'stall', { status: where });
      }
      state.adopting = true;
    }
    state.current = holds(await secrets.value(live.arn), read.credentials);
    return state;
  }

  /** Creates the secret or brings it up to date; its ARN. */
  private async applySecret(place: Place, state: SecretState, done: string[]): Promise<string> {
    const secrets = this.secrets(place);
    const ref = this.obj.spec.credentialsSecretRef!;
    const value = secretValue(state.credentials);
    if (!state.live) {
      const description = `Upstream credentials of the ECR pull through cache rule ${this.prefix}, kept by infra-operator from Secret ${this.obj.spec.providerRef.namespace}/${ref.name} (ECRPullThroughCacheRule ${this.obj.metadata.name})`;
      try {
        const { arn } = await secrets.create(state.name, value, { [OWNER_TAG]: this.owner() }, description);
        done.push(`created Secrets Manager secret ${state.name}`);
        return arn;
      } catch (err) {
        if (!isAwsError(err) || err.code !== SECRET_EXISTS) throw err;
        throw new Failure({ kind: 'progressing', reason: 'Creating', message: `Secrets Manager secret ${state.name} appeared while it was being created; looking again` }, 'backoff', { cause: err });
      }
    }
    if (state.adopting) {
      await secrets.tag(state.live.arn, { [OWNER_TAG]: this.owner() });
      done.push(`took over Secrets Manager secret ${state.name}`);
    }
    if (!state.current) {
      await secrets.putValue(state.live.arn, value);
      done.push(`put the credentials of Secret ${this.obj.spec.providerRef.namespace}/${ref.name} in Secrets Manager secret ${state.name}`);
    }
    return state.live.arn;
  }

  /** Deletes a secret this object created (by its owner tag); true when it did. */
  private async dropOwnSecret(place: Place, secretId: string): Promise<boolean> {
    const secrets = this.secrets(place);
    const live = await secrets.describe(secretId);
    if (!live || live.tags[OWNER_TAG] !== this.owner()) return false;
    await secrets.delete(live.arn);
    return true;
  }

  /**
   * ValidatePullThroughCacheRule's verdict, in the UpstreamValid condition: ECR reaching the
   * upstream registry and authenticating there. Its failure text is ECR's; a call that fails leaves
   * the condition Unknown and the sync goes on (the rule itself is in place).
   */
  private async validate(place: Place): Promise<void> {
    const obj = this.obj;
    let condition: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string };
    try {
      const verdict = await this.rules(place).validate(this.prefix);
      condition = verdict.isValid
        ? { status: 'True', reason: 'Validated', message: `ECR reached ${obj.spec.upstreamRegistryUrl}${obj.spec.upstreamRegistry === 'ecr' || obj.spec.credentialArn || obj.spec.credentialsSecretRef ? ' and authenticated' : ''}` }
        : { status: 'False', reason: 'ValidationFailed', message: redactCredentials(verdict.failure ?? 'ECR gave no reason') };
    } catch (err) {
      if (!isAwsError(err)) throw err;
      condition = { status: 'Unknown', reason: 'ValidationNotAvailable', message: (err as AwsError).message };
    }
    const before = findCondition(obj.status?.conditions, UPSTREAM_VALID);
    const generation = obj.metadata.generation;
    if (before?.status === condition.status && before.reason === condition.reason && before.message === condition.message && before.observedGeneration === generation) return;
    if (condition.status === 'False' && before?.message !== condition.message) {
      this.ctx.deps.events.record(obj, 'Warning', 'UpstreamInvalid', condition.message);
    } else if (condition.status === 'True' && before?.status === 'False') {
      this.ctx.deps.events.record(obj, 'Normal', 'UpstreamValid', condition.message);
    }
    const now = this.ctx.now();
    await this.ctx.deps.writer.patchStatus(PULL_THROUGH_CACHE_RULE_REF, obj, (current: ECRPullThroughCacheRule) => ({
      ...current.status,
      conditions: setCondition(current.status?.conditions, { type: UPSTREAM_VALID, observedGeneration: generation, ...condition }, now),
    }));
  }
}

export const pullThroughCacheRuleResource: ResourceKind<ECRPullThroughCacheRule> = {
  name: 'ecrpullthroughcacherule',
  kind: ECR_PULL_THROUGH_CACHE_RULE.kind,
  ref: PULL_THROUGH_CACHE_RULE_REF,
  prefix: (obj) => obj.spec.ecrRepositoryPrefix,
  validate: (obj) => validatePullThroughCacheRuleSpec(obj.spec),
  client: (_obj, context) => new PullThroughCacheRuleClient(context),
  watches: (rules, deps) => [
    credentialsSecretWatch(new CredentialsSecretPoll({ kube: deps.kube, rules, periodMs: deps.secretPollPeriodMs ?? DEFAULT_SECRET_POLL_MS, logger: deps.logger }), rules),
  ],
};
