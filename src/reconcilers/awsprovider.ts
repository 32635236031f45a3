import { conditionsFor, findCondition, READY, type Phase } from '../api/conditions.js';
import { AWS_PROVIDER, GROUP, VERSION, type AWSProvider, type AWSProviderStatus } from '../api/types.js';
import { isAwsError, type AwsError } from '../aws/errors.js';
import type { Logger } from '../observability/logger.js';
import { ProviderConfigError, providerKey, type Connection } from '../providers/connections.js';
import type { ResourceRef } from '../runtime/kube.js';
import type { ObjectKey, ReconcileResult } from '../runtime/types.js';
import type { EventRecorderLike, Lookup, ObjectWriterLike } from './dependencies.js';
import { StallBackoff } from './stall-backoff.js';

/**
 * AWSProvider: reads the referenced Secrets, builds the credentials and proves them with
 * sts:GetCallerIdentity. Secrets are read (never listed or cached cluster-wide) on every pass, so a
 * rotated key is picked up within one secret poll period; STS is asked again when anything that feeds
 * the credentials changed, when the provider is not Ready, and once per verify period.
 */

export const AWS_PROVIDER_REF: ResourceRef = { group: GROUP, version: VERSION, plural: AWS_PROVIDER.plural };

export interface ProviderConnectionsLike {
  refresh(provider: AWSProvider): Promise<Connection>;
  drop(key: string): void;
}

export interface AwsProviderReconcilerDeps {
  providers: Lookup<AWSProvider>;
  connections: ProviderConnectionsLike;
  writer: ObjectWriterLike;
  events: EventRecorderLike;
  logger: Logger;
  verifyPeriodMs: number;
  secretPollPeriodMs: number;
  clock?: () => Date;
}

/**
 * Whether ECRRepositories may use a provider: its Ready condition is True. A spec change that is not
 * verified yet does not count against it: the new credentials are tried and fail on their own merits,
 * and dependents do not flap to ProviderNotReady on every edit of defaultTags.
 */
export function providerReadiness(provider: AWSProvider | undefined): { ready: boolean; message: string } {
  if (!provider) return { ready: false, message: 'not found' };
  const ready = findCondition(provider.status?.conditions, READY);
  if (!ready) return { ready: false, message: 'credentials not verified yet' };
  if (ready.status !== 'True') return { ready: false, message: `${ready.reason}: ${ready.message}` };
  return { ready: true, message: ready.message };
}

function credentialHint(provider: AWSProvider): string {
  if (provider.spec.accessKeyIDRef) return `the access keys in Secret ${provider.metadata.namespace}/${provider.spec.accessKeyIDRef.name} (spec.accessKeyIDRef, spec.secretAccessKeyRef)`;
  return "the operator's own credentials (IRSA or its default credential chain)";
}

/** Reason and a message that says what to fix, for an AWS failure while authenticating. */
function authenticationPhase(provider: AWSProvider, err: AwsError): Phase {
  const assuming = err.operation.startsWith('AssumeRole');
  if (err.kind === 'AccessDenied') {
    return assuming
      ? { kind: 'stalled', reason: 'AssumeRoleDenied', message: `sts:${err.operation} for spec.roleARN ${provider.spec.roleARN} was denied: ${err.awsMessage}; check the role's trust policy and spec.externalID` }
      : { kind: 'stalled', reason: 'InvalidCredentials', message: `AWS rejected ${credentialHint(provider)}: ${err.awsMessage}` };
  }
  if (err.kind === 'Transient') {
    const endpoint = provider.spec.endpoint ?? 'the AWS endpoint';
    return { kind: 'progressing', reason: 'EndpointUnreachable', message: `${endpoint} did not answer sts:${err.operation}: ${err.awsMessage}; check spec.endpoint and the network` };
  }
  if (err.kind === 'Throttled') return { kind: 'progressing', reason: 'Throttled', message: err.message };
  if (err.kind === 'InvalidParameter') return { kind: 'stalled', reason: 'InvalidSpec', message: err.message };
  return { kind: 'progressing', reason: 'AWSError', message: err.message };
}

interface Verification {
  fingerprint: string;
  generation: number | undefined;
  at: number;
}

export class AwsProviderReconciler {
  private readonly clock: () => Date;
  private readonly verified = new Map<string, Verification>();
  private readonly stalls = new StallBackoff();

  constructor(private readonly deps: AwsProviderReconcilerDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    const provider = this.deps.providers.get(key.namespace, key.name);
    const id = `${key.namespace}/${key.name}`;
    if (!provider) {
      this.verified.delete(id);
      this.deps.connections.drop(id);
      return {};
    }
    const poll = { requeueAfterMs: this.deps.secretPollPeriodMs };
    let connection: Connection;
    try {
      connection = await this.deps.connections.refresh(provider);
    } catch (err) {
      if (!(err instanceof ProviderConfigError)) throw err;
      this.verified.delete(id);
      await this.writeStatus(provider, { kind: 'stalled', reason: err.reason, message: err.message }, {});
      return poll;
    }

    const now = this.clock().getTime();
    const last = this.verified.get(id);
    const current = providerReadiness(provider).ready;
    if (
      current && last && last.fingerprint === connection.fingerprint &&
      last.generation === provider.metadata.generation && now - last.at < this.deps.verifyPeriodMs
    ) {
      return poll;
    }

    try {
      const identity = await connection.session.callerIdentity();
      this.verified.set(id, { fingerprint: connection.fingerprint, generation: provider.metadata.generation, at: now });
      this.stalls.reset(id);
      const changed = !last || last.fingerprint !== connection.fingerprint || !current;
      if (changed) {
        this.deps.events.record(provider, 'Normal', 'Authenticated', `authenticated as ${identity.arn} in account ${identity.accountId}`);
        this.deps.logger.info({ controller: 'awsprovider', namespace: key.namespace, name: key.name, account: identity.accountId, identity: identity.arn }, 'credentials verified');
      }
      await this.writeStatus(provider, { kind: 'ready', reason: 'Authenticated', message: `authenticated as ${identity.arn}` }, {
        accountID: identity.accountId,
        callerIdentity: identity.arn,
        lastAuthenticationTime: this.clock().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
      return poll;
    } catch (err) {
      if (!isAwsError(err)) throw err;
      this.verified.delete(id);
      const phase = authenticationPhase(provider, err);
      await this.writeStatus(provider, phase, {});
      if (phase.kind === 'progressing') throw err;
      // Wait at most until the next secret poll: new keys in the Secret are a likely fix.
      return { requeueAfterMs: Math.min(this.stalls.next(id, provider.metadata.generation), this.deps.secretPollPeriodMs) };
    }
  }

  private async writeStatus(provider: AWSProvider, phase: Phase, fields: Partial<AWSProviderStatus>): Promise<void> {
    const previous = provider.status ?? {};
    const status: AWSProviderStatus = {
      ...previous,
      ...fields,
      ready: phase.kind === 'ready',
      message: phase.message,
      observedGeneration: provider.metadata.generation,
      conditions: conditionsFor(previous.conditions, phase, provider.metadata.generation, this.clock()),
    };
    const before = findCondition(previous.conditions, READY);
    if (phase.kind !== 'ready' && (before?.reason !== phase.reason || before.message !== phase.message)) {
      this.deps.events.record(provider, 'Warning', phase.reason, phase.message);
    }
    await this.deps.writer.patchStatus(AWS_PROVIDER_REF, provider, status);
  }
}

export { providerKey };
