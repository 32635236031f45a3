import { findCondition, READY, type Phase } from '../../api/conditions.js';
import { AWS_PROVIDER_REF, type AWSProvider, type AWSProviderStatus } from './types.js';
import { FINALIZER } from '../../api/types.js';
import { isAwsError, type AwsError } from '../../aws/errors.js';
import type { Logger } from '../../observability/logger.js';
import { ProviderConfigError, providerKey, type Connection } from '../../providers/connections.js';
import type { KubeObject, ObjectKey, ReconcileResult } from '../../runtime/types.js';
import type { EventRecorderLike, Lister, Lookup, ObjectWriterLike } from '../../reconcilers/dependencies.js';
import { Failure, isoSeconds, ManagedReconciler, type Deletion, type ExternalClient, type Observation } from '../../reconcilers/managed.js';

/**
 * AWSProvider: the external client of the managed reconciler. It reads the referenced Secrets, builds
 * the credentials and proves them with sts:GetCallerIdentity. Secrets are read (never listed or
 * cached cluster-wide) on every pass, so a rotated key is picked up within one secret poll period;
 * STS is asked again when anything that feeds the credentials changed, when the provider is not
 * Ready, and once per verify period. Deleting a provider waits until no object (repository or registry part) of its
 * namespace that references it still has its finalizer: they need the provider to carry out their
 * deletion policies.
 */


export interface ProviderConnectionsLike {
  refresh(provider: AWSProvider): Promise<Connection>;
  drop(key: string): void;
}

/**
 * What the provider needs to know of an object that uses it: a namespaced object names a provider
 * of its own namespace, a cluster-scoped one names the provider's namespace in its reference.
 */
export interface ProviderUser {
  kind?: string;
  metadata: { name: string; namespace?: string; finalizers?: string[] };
  spec: { providerRef: { name: string; namespace?: string } };
}

/** The provider an object names: `namespace/name`. */
export function providerOfUser(user: ProviderUser): string {
  return `${user.spec.providerRef?.namespace ?? user.metadata.namespace ?? ''}/${user.spec.providerRef?.name ?? ''}`;
}

export interface AwsProviderReconcilerDeps {
  providers: Lookup<AWSProvider>;
  /**
   * The objects that act through providers (ECRRepositories of the provider's namespace, and the
   * cluster-scoped account-wide objects that name it), to know whether any still needs it.
   */
  users: Lister<ProviderUser>;
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
export interface ProviderReadiness {
  ready: boolean;
  message: string;
  /** Ready was False (a failure), rather than not yet known. */
  failed: boolean;
  /** The generation whose credentials were last verified, when they ever were. */
  verifiedGeneration: number | undefined;
}

export function providerReadiness(provider: AWSProvider | undefined): ProviderReadiness {
  if (!provider) return { ready: false, failed: false, message: 'not found', verifiedGeneration: undefined };
  const ready = findCondition(provider.status?.conditions, READY);
  const verifiedBefore = provider.status?.accountID ? provider.status.observedGeneration : undefined;
  if (!ready) return { ready: false, failed: false, message: 'credentials not verified yet', verifiedGeneration: undefined };
  if (ready.status !== 'True') return { ready: false, failed: true, message: `${ready.reason}: ${ready.message}`, verifiedGeneration: verifiedBefore };
  return { ready: true, failed: false, message: ready.message, verifiedGeneration: ready.observedGeneration ?? verifiedBefore };
}

function credentialHint(provider: AWSProvider): string {
  if (provider.spec.serviceAccountRef) return `the web identity of ServiceAccount ${provider.metadata.namespace}/${provider.spec.serviceAccountRef.name} (spec.serviceAccountRef)`;
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
  if (err.code === 'CredentialsProviderError' || err.code === 'ProviderError') {
    // The credential source itself (IMDS, EKS Pod Identity, a web-identity token file) did not answer: retried.
    return { kind: 'progressing', reason: 'CredentialsUnavailable', message: `the credentials of ${credentialHint(provider)} could not be obtained: ${err.awsMessage}; retrying` };
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

/** How often a deleting provider looks again at the repositories it waits for (their watch wakes it). */
const IN_USE_RECHECK_MS = 60_000;

export class AwsProviderReconciler {
  private readonly verified = new Map<string, Verification>();
  private readonly managed: ManagedReconciler<AWSProvider, AWSProviderStatus>;

  constructor(deps: AwsProviderReconcilerDeps) {
    const clock = deps.clock ?? (() => new Date());
    this.managed = new ManagedReconciler<AWSProvider, AWSProviderStatus>(
      {
        name: 'awsprovider',
        ref: AWS_PROVIDER_REF,
        finalizer: FINALIZER,
        objects: deps.providers,
        connect: () => new AwsProviderClient(deps, this.verified, clock),
        userDriven: (obj) => obj.metadata.generation !== obj.status?.observedGeneration,
        classify: (err) =>
          err instanceof ProviderConfigError
            // The user must fix the provider or its Secret; new Secret data is looked for each poll.
            ? new Failure({ kind: 'stalled', reason: err.reason, message: err.message }, 'wait', { waitMs: deps.secretPollPeriodMs })
            : undefined,
        readyRequeueMs: deps.secretPollPeriodMs,
        forget: (key) => {
          const id = `${key.namespace}/${key.name}`;
          this.verified.delete(id);
          deps.connections.drop(id);
        },
      },
      deps,
    );
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return this.managed.reconcile(key);
  }
}

/** The provider's "external resource" is its verified identity. */
class AwsProviderClient implements ExternalClient<AWSProvider, AWSProviderStatus> {
  constructor(
    private readonly deps: AwsProviderReconcilerDeps,
    private readonly verified: Map<string, Verification>,
    private readonly clock: () => Date,
  ) {}

  async observe(provider: AWSProvider): Promise<Observation<AWSProviderStatus>> {
    const id = providerKey(provider);
    let connection: Connection;
    try {
      connection = await this.deps.connections.refresh(provider);
    } catch (err) {
      this.verified.delete(id);
      throw err;
    }
    const now = this.clock().getTime();
    const last = this.verified.get(id);
    const current = providerReadiness(provider).ready;
    if (
      current && last && last.fingerprint === connection.fingerprint &&
      last.generation === provider.metadata.generation && now - last.at < this.deps.verifyPeriodMs
    ) {
      return { exists: true, upToDate: true, status: {}, reason: 'Authenticated', message: provider.status?.message ?? 'authenticated' };
    }
    try {
      const identity = await connection.session.callerIdentity();
      this.verified.set(id, { fingerprint: connection.fingerprint, generation: provider.metadata.generation, at: now });
      const changed = !last || last.fingerprint !== connection.fingerprint || !current;
      if (changed) {
        this.deps.logger.info({ controller: 'awsprovider', namespace: provider.metadata.namespace, name: provider.metadata.name, account: identity.accountId, identity: identity.arn }, 'credentials verified');
      }
      return {
        exists: true,
        upToDate: true,
        status: { accountID: identity.accountId, callerIdentity: identity.arn, identitySource: connection.identity, lastAuthenticationTime: isoSeconds(this.clock()) },
        reason: 'Authenticated',
        message: `authenticated as ${identity.arn}`,
        ...(changed ? { event: { reason: 'Authenticated', message: `authenticated as ${identity.arn} in account ${identity.accountId}` } } : {}),
      };
    } catch (err) {
      if (!isAwsError(err)) throw err;
      this.verified.delete(id);
      const phase = authenticationPhase(provider, err);
      if (phase.kind === 'progressing') throw new Failure(phase, 'backoff', { cause: err, keepsReady: err.kind === 'Throttled' });
      // Wait at most until the next secret poll: new keys in the Secret are a likely fix.
      throw new Failure(phase, 'stall', { cause: err, maxDelayMs: this.deps.secretPollPeriodMs });
    }
  }

  create(): never {
    throw new Error('an AWSProvider has nothing to create');
  }

  update(): never {
    throw new Error('an AWSProvider has nothing to update');
  }

  /** Done once no object that names this provider keeps its finalizer. */
  async delete(provider: AWSProvider): Promise<Deletion> {
    const id = providerKey(provider);
    const waitingFor = this.deps.users.list().filter((r) => providerOfUser(r) === id && r.metadata.finalizers?.includes(FINALIZER));
    const users = waitingFor.map((r) => (r.kind ? `${r.kind} ${r.metadata.name}` : r.metadata.name));
    // In a namespace being deleted the API server takes no new Events: the cluster-scoped objects
    // that hold the provider (and so the namespace) say so on themselves, where Events still go.
    for (const user of waitingFor) {
      if (user.metadata.namespace) continue;
      this.deps.events.record(user as unknown as KubeObject, 'Normal', 'ProviderDeletionWaiting', `AWSProvider ${id} is being deleted and waits for this object to be deleted first`);
    }
    if (users.length > 0) {
      const shown = users.slice(0, 5).join(', ') + (users.length > 5 ? `, and ${users.length - 5} more` : '');
      return { done: false, waitMs: IN_USE_RECHECK_MS, message: `deletion waits for ${users.length} objects that use this provider: ${shown}` };
    }
    return { done: true };
  }

}

export { providerKey };
