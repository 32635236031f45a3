/**
 * What the ECRPublicRepository controller watches: its own objects (spec, deletion, finalizers,
 * force-sync, adopt) and the AWSProviders they reference, so that an object waiting on its provider
 * moves on as soon as the provider is Ready and defaultTags changes reach it. A logo's ConfigMap or
 * Secret is read on every reconcile rather than watched (the operator may only get Secrets), so a
 * new logo is uploaded at the next periodic sync, or at once on a force-sync.
 */
import type { Logger } from '../../observability/logger.js';
import { Controller, defaultPredicate } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { KubeObject, ObjectKey } from '../../runtime/types.js';
import type { AWSProvider } from '../awsprovider/types.js';
import { providerChangeMatters } from '../ecrrepository/watches.js';
import type { EcrPublicRepositoryReconciler } from './client.js';
import type { ECRPublicRepository } from './types.js';

/**
 * AWS calls of one periodic reconcile of an unchanged public repository: DescribeRepositories,
 * ListTagsForResource, GetRepositoryCatalogData, GetRepositoryPolicy and one DescribeImages per
 * 1,000 images.
 */
export const SYNC_CALLS_PER_REPOSITORY = 5;

export function publicRepositoriesOfProvider(repositories: Pick<Informer<ECRPublicRepository>, 'list'>, provider: KubeObject): ObjectKey[] {
  const namespace = provider.metadata?.namespace ?? '';
  const name = provider.metadata?.name;
  return repositories
    .list(namespace)
    .filter((r) => r.spec.providerRef.name === name)
    .map((r) => ({ namespace, name: r.metadata.name }));
}

export function ecrPublicRepositoryController(opts: {
  repositories: Informer<ECRPublicRepository>;
  providers: Informer<AWSProvider>;
  reconciler: EcrPublicRepositoryReconciler;
  logger: Logger;
  concurrency: number;
  /** How often every object is compared with ECR Public again (drift, image count). */
  syncPeriodMs: number;
}): Controller<ECRPublicRepository> {
  return new Controller<ECRPublicRepository>({
    name: 'ecrpublicrepository',
    informer: opts.repositories,
    reconcile: (key: ObjectKey) => opts.reconciler.reconcile(key),
    logger: opts.logger,
    concurrency: opts.concurrency,
    resyncPeriodMs: opts.syncPeriodMs,
    predicate: defaultPredicate,
    secondary: [
      {
        informer: opts.providers,
        map: (provider: KubeObject) => publicRepositoriesOfProvider(opts.repositories, provider),
        predicate: (old: KubeObject | undefined, obj: KubeObject, type?: string) => type !== 'MODIFIED' || providerChangeMatters(old, obj),
      },
    ],
  });
}
