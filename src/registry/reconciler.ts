import { conditionsFor, findCondition, READY, type Phase } from '../api/conditions.js';
import type { RegistryObject, RegistryPartStatus } from '../api/registry-types.js';
import { FINALIZER } from '../api/types.js';
import { SPEC_DEFAULTS } from '../kinds/ecrrepository/types.js';
import { type AWSProvider } from '../kinds/awsprovider/types.js';
import type { AwsError } from '../aws/errors.js';
import { isAwsError } from '../aws/errors.js';
import { RegistryGateway } from '../aws/registry.js';
import type { Logger } from '../observability/logger.js';
import { providerReadiness } from '../kinds/awsprovider/client.js';
import type { EventRecorder } from '../runtime/events.js';
import type { ObjectWriter } from '../runtime/status.js';
import { keyOf, keyString, type ObjectKey, type ReconcileResult } from '../runtime/types.js';
import type { RegistryKind } from './kinds.js';
import type { Member, Registry, Verdict } from './merge-types.js';
import { PENDING, registryOfProvider, sameRegistry, type ProviderLookup } from './registry-key.js';

/**
 * One registry of one kind per reconcile: every object of the kind whose provider names this
 * registry is an input. The document is read once, merged, written at most once, and each object's
 * status says whether its part is in force. Deletion: an object leaves (finalizer removed) only
 * after the document without its part (deletionPolicy Delete) has been written.
 */

export interface RegistryConnection {
  session: { ecr: ConstructorParameters<typeof RegistryGateway>[0] };
}

export interface RegistryReconcilerDeps<T extends RegistryObject, Live, Desired, Applied> {
  kind: RegistryKind<T, Live, Desired, Applied>;
  objects: { list(namespace?: string): T[] };
  providers: ProviderLookup;
  connections: { get(provider: AWSProvider): Promise<RegistryConnection> };
  writer: Pick<ObjectWriter, 'patchStatus' | 'ensureFinalizer' | 'removeFinalizer'>;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  now?: () => Date;
}

/** How long to wait before looking again at objects whose provider is not usable yet. */
const PENDING_RECHECK_MS = 30_000;

export class RegistryReconciler<T extends RegistryObject, Live, Desired, Applied> {
  private readonly now: () => Date;

  constructor(private readonly deps: RegistryReconcilerDeps<T, Live, Desired, Applied>) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    if (key.namespace === PENDING) return this.reconcilePending(key.name);
    return this.reconcileRegistry({ accountId: key.namespace, region: key.name });
  }

  private providerOf(obj: T): AWSProvider | undefined {
    return this.deps.providers.get(obj.metadata.namespace, obj.spec.providerRef.name);
  }

  /** Objects of a provider that has no registry yet: say why, and let go of those that may go. */
  private async reconcilePending(name: string): Promise<ReconcileResult> {
    const slash = name.indexOf('/');
    const namespace = name.slice(0, slash);
    const providerName = name.slice(slash + 1);
    const objects = this.deps.objects.list(namespace).filter((o) => o.spec.providerRef.name === providerName);
    if (objects.length === 0) return {};
    const provider = this.deps.providers.get(namespace, providerName);
    const registry = registryOfProvider(provider);
    if (registry) return this.reconcileRegistry(registry);
    const why = provider ? providerReadiness(provider).message : 'not found';
    for (const obj of objects) {
      if (obj.metadata.deletionTimestamp) {
        // Retain and Orphan need no AWS call; neither does Delete of a part never applied.
        if (this.deletionPolicyOf(obj) !== 'Delete' || this.deps.kind.applied(obj) === undefined) {
          await this.deps.writer.removeFinalizer(this.deps.kind.ref, obj, FINALIZER);
          continue;
        }
      }
      const message = `AWSProvider ${namespace}/${providerName} is not ready: ${why}`;
      await this.writeStatus(obj, { kind: 'progressing', reason: 'ProviderNotReady', message }, {
        inForce: false,
        applied: this.deps.kind.applied(obj),
        registry: obj.status?.registry,
      });
    }
    return { requeueAfterMs: PENDING_RECHECK_MS };
  }

  private deletionPolicyOf(obj: T): 'Delete' | 'Retain' | 'Orphan' {
    return obj.spec.deletionPolicy ?? SPEC_DEFAULTS.deletionPolicy;
  }

  private async reconcileRegistry(registry: Registry): Promise<ReconcileResult> {
    const { kind } = this.deps;
    const registryName = `${registry.accountId}/${registry.region}`;
    let objects = this.deps.objects
      .list()
      .filter((o) => sameRegistry(registryOfProvider(this.providerOf(o)), registry))
      // An object being deleted whose finalizer is already gone is none of our business.
      .filter((o) => !o.metadata.deletionTimestamp || (o.metadata.finalizers ?? []).includes(FINALIZER));
    if (objects.length === 0) return {};

    // Finalizers first: a part must never be in AWS without an object that can take it out.
    objects = await Promise.all(objects.map((o) => (o.metadata.deletionTimestamp ? o : this.deps.writer.ensureFinalizer(kind.ref, o, FINALIZER))));

    const oldest = [...objects].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))[0]!;
    const connection = await this.deps.connections.get(this.providerOf(oldest)!);
    const gateway = new RegistryGateway(connection.session.ecr);

    let live: Live;
    try {
      live = await kind.read(gateway);
    } catch (err) {
      return this.failAll(objects, err, registry, `reading the registry ${registryName}`);
    }

    return this.apply(registry, gateway, objects, live, new Map());
  }

  /**
   * Merges and writes. `trial` holds back the changes of some objects for this pass (their status is
   * left alone): when AWS refuses a document that carries several objects' changes, the oldest
   * change is tried alone, so that one bad part cannot keep everyone else's out of the registry.
   */
  private async apply(registry: Registry, gateway: RegistryGateway, objects: T[], live: Live, trial: Map<string, string>): Promise<ReconcileResult> {
    const { kind, logger } = this.deps;
    const registryName = `${registry.accountId}/${registry.region}`;
    const members: Array<Member<T['spec'], Applied>> = objects.map((o) => ({
      key: keyString(keyOf(o)),
      created: o.metadata.creationTimestamp ?? '',
      deleting: !!o.metadata.deletionTimestamp,
      deletionPolicy: this.deletionPolicyOf(o),
      spec: o.spec,
      applied: kind.applied(o),
      hold: trial.get(keyString(keyOf(o))) ?? (this.rejected(o) ? o.status?.message ?? 'AWS refused this spec' : undefined),
    }));
    let result;
    try {
      result = kind.merge(registry, members, live);
    } catch (err) {
      // The live document cannot be read as a document of this kind: never overwrite it blindly.
      const message = `the registry's ${kind.part} document in AWS cannot be merged: ${(err as Error).message}`;
      for (const obj of objects) {
        await this.writeStatus(obj, { kind: 'stalled', reason: 'InvalidRegistryDocument', message }, { inForce: false, applied: kind.applied(obj), registry: obj.status?.registry });
      }
      return {};
    }

    if (result.changed) {
      const operation = kind.writeOperation(result.desired);
      try {
        await kind.write(gateway, result.desired);
        logger.info({ controller: kind.name, registry: registryName, operation, objects: objects.length }, 'registry document written');
      } catch (err) {
        // Only the objects whose part this write would have changed are told; the others' parts
        // are as they were.
        const affected = objects.filter((o) => !o.metadata.deletionTimestamp && this.partChanges(o, result.verdicts.get(keyString(keyOf(o)))));
        const doing = `${operation} for the registry ${registryName}`;
        if (isAwsError(err) && err.kind === 'InvalidParameter' && !err.retryable && affected.length > 0) {
          const [first, ...rest] = [...affected].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '')
            || keyString(keyOf(a)).localeCompare(keyString(keyOf(b))));
          if (rest.length === 0) {
            // This object's part is what AWS refused: it waits for a new spec; the rest goes on.
            await this.writeStatus(first!, phaseOfAwsError(err, doing), {
              inForce: false, applied: kind.applied(first!), registry: first!.status?.registry,
              registryId: registry.accountId, region: registry.region, rejectedGeneration: first!.metadata.generation,
            });
            return { requeue: true };
          }
          const alone = new Map(trial);
          for (const o of rest) alone.set(keyString(keyOf(o)), `waiting while the change of ${keyString(keyOf(first!))} is tried alone`);
          if (trial.size === 0) return this.apply(registry, gateway, objects, live, alone);
        }
        return this.failAll(affected.length > 0 ? affected : objects, err, registry, doing);
      }
    }

    for (const obj of objects) {
      if (trial.has(keyString(keyOf(obj)))) continue;
      const verdict = result.verdicts.get(keyString(keyOf(obj)));
      if (!verdict) continue;
      if (verdict.kind === 'Released') {
        await this.deps.writer.removeFinalizer(kind.ref, obj, FINALIZER);
        this.deps.events.record(obj, 'Normal', 'Deleted', verdict.message);
        continue;
      }
      if (this.rejected(obj)) continue; // its status says what AWS said
      const before = kind.applied(obj);
      const written = await this.writeStatus(obj, phaseOf(verdict), {
        inForce: verdict.kind === 'InForce',
        applied: verdict.applied,
        registry: result.summary,
        registryId: registry.accountId,
        region: registry.region,
      });
      if (written && verdict.kind === 'InForce' && JSON.stringify(before) !== JSON.stringify(verdict.applied)) {
        this.deps.events.record(obj, 'Normal', 'Applied', `${verdict.message} of ${registryName}`);
      }
    }
    // After a trial, the changes held back go in on the next pass.
    return trial.size > 0 ? { requeue: true } : {};
  }

  /** AWS refused this object's current spec: it is not sent again until the spec changes. */
  private rejected(obj: T): boolean {
    return !obj.metadata.deletionTimestamp && obj.status?.rejectedGeneration !== undefined && obj.status.rejectedGeneration === obj.metadata.generation;
  }

  /** True when the object's part in the document would change: a new or changed part, or a removal. */
  private partChanges(obj: T, verdict: Verdict<Applied> | undefined): boolean {
    if (!verdict) return false;
    if (verdict.kind === 'Released') return this.deletionPolicyOf(obj) === 'Delete';
    if (verdict.kind !== 'InForce') return false;
    return JSON.stringify(this.deps.kind.applied(obj)) !== JSON.stringify(verdict.applied) || obj.status?.inForce !== true;
  }

  /** An AWS failure for these objects: retried when it may pass, stalled when the user must act. */
  private async failAll(objects: T[], err: unknown, registry: Registry, doing: string): Promise<ReconcileResult> {
    if (!isAwsError(err)) throw err;
    const phase = phaseOfAwsError(err, doing);
    for (const obj of objects) {
      await this.writeStatus(obj, phase, {
        inForce: false,
        applied: this.deps.kind.applied(obj),
        registry: obj.status?.registry,
        registryId: registry.accountId,
        region: registry.region,
      });
    }
    if (err.retryable) throw err;
    return {};
  }

  private async writeStatus(
    obj: T,
    phase: Phase,
    fields: {
      inForce: boolean;
      applied: Applied | undefined;
      registry: RegistryPartStatus['registry'];
      registryId?: string;
      region?: string;
      rejectedGeneration?: number | undefined;
    },
  ): Promise<boolean> {
    const generation = obj.metadata.generation;
    const previous = findCondition(obj.status?.conditions, READY);
    const status: Record<string, unknown> = {
      ...(obj.status ?? {}),
      ready: phase.kind === 'ready',
      inForce: fields.inForce,
      registry: fields.registry,
      message: phase.message,
      observedGeneration: generation,
      conditions: conditionsFor(obj.status?.conditions, phase, generation, this.now()),
      ...this.deps.kind.appliedStatus(fields.applied),
      rejectedGeneration: fields.rejectedGeneration,
    };
    if (fields.registryId) status.registryId = fields.registryId;
    if (fields.region) status.region = fields.region;
    const written = await this.deps.writer.patchStatus(this.deps.kind.ref, obj, status);
    if (written && phase.kind !== 'ready' && (previous?.reason !== phase.reason || previous.message !== phase.message)) {
      this.deps.events.record(obj, 'Warning', phase.reason, phase.message);
    }
    return written !== undefined;
  }
}

export function phaseOf<A>(verdict: Exclude<Verdict<A>, { kind: 'Released' }>): Phase {
  switch (verdict.kind) {
    case 'InForce':
      return { kind: 'ready', reason: 'Available', message: verdict.message };
    case 'Stalled':
      return { kind: 'stalled', reason: verdict.reason, message: verdict.message };
    case 'InvalidSpec':
      return { kind: 'stalled', reason: 'InvalidSpec', message: verdict.message };
    case 'LimitExceeded':
      return { kind: 'stalled', reason: 'LimitExceeded', message: verdict.message };
  }
}

export function phaseOfAwsError(err: AwsError, doing: string): Phase {
  const message = `${doing}: ${err.awsMessage}`;
  switch (err.kind) {
    case 'AccessDenied':
      return err.retryable ? { kind: 'progressing', reason: 'AccessDenied', message } : { kind: 'stalled', reason: 'AccessDenied', message };
    case 'InvalidParameter':
      return { kind: 'stalled', reason: 'InvalidSpec', message };
    case 'Throttled':
      return { kind: 'progressing', reason: 'Throttled', message };
    case 'LimitExceeded':
      return { kind: 'progressing', reason: 'LimitExceeded', message };
    default:
      return err.retryable ? { kind: 'progressing', reason: 'AWSError', message } : { kind: 'stalled', reason: 'AWSError', message };
  }
}
