import { findCondition, READY } from '../api/conditions.js';
import type { AWSProvider, ECRRepository } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import { providerReadiness } from '../reconcilers/awsprovider.js';
import type { EcrRepositoryReconciler } from '../reconcilers/ecrrepository.js';
import { Controller, defaultPredicate } from '../runtime/controller.js';
import type { Informer } from '../runtime/informer.js';
import type { KubeObject, ObjectKey } from '../runtime/types.js';

/**
 * What the ECRRepository controller watches: its own objects (spec, deletion, finalizers, force-sync)
 * and the AWSProviders they reference, so that a repository waiting on its provider moves on as soon
 * as the provider is Ready, and defaultTags changes reach every repository of the provider.
 */

/** A provider change matters to its repositories when its readiness flips or a new spec was verified. */
export function providerChangeMatters(old: KubeObject | undefined, obj: KubeObject): boolean {
  if (!old) return true;
  const before = old as AWSProvider;
  const after = obj as AWSProvider;
  if (providerReadiness(before).ready !== providerReadiness(after).ready) return true;
  return findCondition(before.status?.conditions, READY)?.observedGeneration !== findCondition(after.status?.conditions, READY)?.observedGeneration;
}

export function repositoriesOfProvider(repositories: Pick<Informer<ECRRepository>, 'list'>, provider: KubeObject): ObjectKey[] {
  const namespace = provider.metadata?.namespace ?? '';
  const name = provider.metadata?.name;
  return repositories
    .list(namespace)
    .filter((r) => r.spec.providerRef.name === name)
    .map((r) => ({ namespace, name: r.metadata.name }));
}

export function ecrRepositoryController(opts: {
  repositories: Informer<ECRRepository>;
  providers: Informer<AWSProvider>;
  reconciler: EcrRepositoryReconciler;
  logger: Logger;
  concurrency: number;
  syncPeriodMs: number;
}): Controller<ECRRepository> {
  return new Controller<ECRRepository>({
    name: 'ecrrepository',
    informer: opts.repositories,
    reconcile: (key) => opts.reconciler.reconcile(key),
    logger: opts.logger,
    concurrency: opts.concurrency,
    resyncPeriodMs: opts.syncPeriodMs,
    predicate: defaultPredicate,
    secondary: [
      {
        informer: opts.providers,
        map: (provider) => repositoriesOfProvider(opts.repositories, provider),
        predicate: (old, obj, type) => type !== 'MODIFIED' || providerChangeMatters(old, obj),
      },
    ],
  });
}
