import { FINALIZER, type AWSProvider, type ECRRepository } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import type { AwsProviderReconciler } from '../reconcilers/awsprovider.js';
import { Controller, defaultPredicate } from '../runtime/controller.js';
import type { Informer } from '../runtime/informer.js';
import type { KubeObject, ObjectKey } from '../runtime/types.js';

/**
 * What the AWSProvider controller watches: its own objects, and the ECRRepositories that use them,
 * so that a provider being deleted finishes the moment its last repository has released it.
 * Referenced Secrets are read on every pass rather than watched, so the operator needs only `get` on
 * Secrets; the reconciler asks to be called again each secret poll period, which is how a rotated
 * key is noticed.
 */

/** The provider a repository names. */
export function providerOfRepository(obj: KubeObject): ObjectKey[] {
  const repository = obj as ECRRepository;
  const name = repository.spec?.providerRef?.name;
  return name ? [{ namespace: repository.metadata.namespace, name }] : [];
}

/** A repository matters to its provider when it lets go of it: its finalizer is gone, or it is. */
export function repositoryReleased(old: KubeObject | undefined, obj: KubeObject, type?: string): boolean {
  if (type === 'DELETED') return true;
  if (type !== 'MODIFIED' || !old) return false;
  return Boolean(old.metadata?.finalizers?.includes(FINALIZER)) && !obj.metadata?.finalizers?.includes(FINALIZER);
}

export function awsProviderController(opts: {
  providers: Informer<AWSProvider>;
  repositories: Informer<ECRRepository>;
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
    secondary: [{ informer: opts.repositories, map: providerOfRepository, predicate: repositoryReleased }],
  });
}
