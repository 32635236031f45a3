import { FINALIZER } from '../../api/types.js';
import { type AWSProvider } from './types.js';
import type { Logger } from '../../observability/logger.js';
import type { AwsProviderReconciler } from './client.js';
import { Controller, defaultPredicate } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { KubeObject, ObjectKey } from '../../runtime/types.js';

/**
 * What the AWSProvider controller watches: its own objects, and the objects that use them
 * (ECRRepositories and the registry-level parts), so that a provider being deleted finishes the
 * moment the last of them has released it.
 * Referenced Secrets are read on every pass rather than watched, so the operator needs only `get` on
 * Secrets; the reconciler asks to be called again each secret poll period, which is how a rotated
 * key is noticed.
 */

/**
 * The provider an object names in spec.providerRef: in its own namespace, or (cluster-scoped
 * objects) in the namespace the reference names.
 */
export function providerOfUser(obj: KubeObject): ObjectKey[] {
  const spec = obj.spec as { providerRef?: { name?: string; namespace?: string } } | undefined;
  const name = spec?.providerRef?.name;
  const namespace = spec?.providerRef?.namespace ?? obj.metadata?.namespace ?? '';
  return name ? [{ namespace, name }] : [];
}

/** An object matters to its provider when it lets go of it: its finalizer is gone, or it is. */
export function userReleased(old: KubeObject | undefined, obj: KubeObject, type?: string): boolean {
  if (type === 'DELETED') return true;
  if (type !== 'MODIFIED' || !old) return false;
  return Boolean(old.metadata?.finalizers?.includes(FINALIZER)) && !obj.metadata?.finalizers?.includes(FINALIZER);
}

export function awsProviderController(opts: {
  providers: Informer<AWSProvider>;
  /** Informers of every kind whose objects act through a provider. */
  users: Array<Pick<Informer<KubeObject>, 'onEvent' | 'list'>>;
  reconciler: AwsProviderReconciler;
  logger: Logger;
  concurrency: number;
}): Controller<AWSProvider> {
  return new Controller<AWSProvider>({
    name: 'awsprovider',
    informer: opts.providers,
    reconcile: (key) => opts.reconciler.reconcile(key),
    logger: opts.logger,
    concurrency: opts.concurrency,
    resyncPeriodMs: 0,
    predicate: defaultPredicate,
    secondary: opts.users.map((informer) => ({ informer, map: providerOfUser, predicate: userReleased })),
  });
}
