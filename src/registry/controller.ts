import type { RegistryObject } from '../api/registry-types.js';
import type { AWSProvider } from '../kinds/awsprovider/types.js';
import { providerChangeMatters } from '../kinds/ecrrepository/watches.js';
import type { Logger } from '../observability/logger.js';
import { Controller, defaultPredicate } from '../runtime/controller.js';
import type { Informer, InformerEvent } from '../runtime/informer.js';
import { keyString, type KubeObject, type ObjectKey, type ReconcileResult } from '../runtime/types.js';
import { BatchedEvents } from './batching.js';
import { keyOfObject, keysOfProvider, type ProviderLookup } from './registry-key.js';

/**
 * The controller of one registry-level kind. Its work-queue keys are registries, not objects: every
 * change of any object of a registry adds the same key, and the queue deduplicates, so changes to
 * many objects at once become one reconcile and one Put. The periodic resync walks registries.
 */

/** A burst of changes to one registry becomes one reconcile: see BatchedEvents. */
const BATCH_QUIET_MS = 400;
const BATCH_MAX_WAIT_MS = 3_000;

type RegistryInformer<T extends RegistryObject> = Pick<Informer<T>, 'list' | 'onEvent'>;

/**
 * The controller's primary source: one placeholder object per registry key that some object maps
 * to. The runtime's Controller lists it at start and on every resync; it emits no events itself
 * (the object informer does, through the secondary watch).
 */
export class RegistryKeySource<T extends RegistryObject> {
  constructor(
    private readonly objects: Pick<Informer<T>, 'list'>,
    private readonly providers: ProviderLookup,
  ) {}

  list(): KubeObject[] {
    const keys = new Map<string, ObjectKey>();
    for (const obj of this.objects.list()) {
      const key = keyOfObject(obj, this.providers);
      keys.set(keyString(key), key);
    }
    return [...keys.values()].map((k) => ({ metadata: { namespace: k.namespace, name: k.name } }));
  }

  onEvent(_handler: (e: InformerEvent<KubeObject>) => void): () => void {
    return () => undefined;
  }
}

export function registryController<T extends RegistryObject>(opts: {
  name: string;
  objects: RegistryInformer<T>;
  providers: Pick<Informer<AWSProvider>, 'get' | 'onEvent' | 'list'>;
  reconciler: { reconcile(key: ObjectKey): Promise<ReconcileResult> };
  logger: Logger;
  syncPeriodMs: number;
  concurrency?: number;
  /** How long a burst of changes may go quiet before its registry is reconciled. */
  batchQuietMs?: number;
}): Controller<KubeObject> {
  return new Controller<KubeObject>({
    name: opts.name,
    informer: new RegistryKeySource(opts.objects, opts.providers),
    reconcile: (key) => opts.reconciler.reconcile(key),
    logger: opts.logger,
    // Registries are independent of one another; a registry is never reconciled twice at once
    // because its key is the queue's unit.
    concurrency: opts.concurrency ?? 2,
    resyncPeriodMs: opts.syncPeriodMs,
    secondary: [
      {
        informer: new BatchedEvents<T>(opts.objects, { quietMs: opts.batchQuietMs ?? BATCH_QUIET_MS, maxWaitMs: BATCH_MAX_WAIT_MS }),
        map: (obj) => [keyOfObject(obj as T, opts.providers)],
        predicate: defaultPredicate,
      },
      {
        informer: opts.providers,
        map: (provider) => keysOfProvider(provider as AWSProvider),
        predicate: (old, obj, type) => type !== 'MODIFIED' || providerChangeMatters(old, obj),
      },
    ],
  });
}
