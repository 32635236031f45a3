import { findCondition, READY } from '../../api/conditions.js';
import type { AWSProvider } from '../awsprovider/types.js';
import type { ECRRepository } from './types.js';
import type { Logger } from '../../observability/logger.js';
import { providerReadiness } from '../awsprovider/client.js';
import type { EcrRepositoryReconciler } from './client.js';
import { Controller, defaultPredicate } from '../../runtime/controller.js';
import { SweepingController, type SweepOptions } from '../../runtime/sweep.js';
import type { Informer } from '../../runtime/informer.js';
import { parseKey, type KubeObject, type ObjectKey } from '../../runtime/types.js';
import type { Budget, WorkBudget } from '../../runtime/workqueue.js';

/**
 * What the ECRRepository controller watches: its own objects (spec, deletion, finalizers, force-sync)
 * and the AWSProviders they reference, so that a repository waiting on its provider moves on as soon
 * as the provider is Ready, and defaultTags changes reach every repository of the provider.
 */

/**
 * A provider change matters to its repositories when its readiness flips, a new spec was verified,
 * or its credentials now resolve to another account (a rotated Secret changes no generation): a
 * repository recorded in the old account stalls, and comes back when the provider resolves to it
 * again.
 */
export function providerChangeMatters(old: KubeObject | undefined, obj: KubeObject): boolean {
  if (!old) return true;
  const before = old as AWSProvider;
  const after = obj as AWSProvider;
  if (providerReadiness(before).ready !== providerReadiness(after).ready) return true;
  if (before.status?.accountID !== after.status?.accountID) return true;
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

/**
 * AWS calls of one periodic reconcile of an unchanged repository: ListTagsForResource,
 * GetLifecyclePolicy, GetRepositoryPolicy and DescribeImages, plus its share of one
 * DescribeRepositories per 100 repositories. The sweep plans its pace with it.
 */
export const SWEEP_CALLS_PER_REPOSITORY = 4 + 1 / 100;

/** How the periodic sweep is paced, grouped and read ahead (see runtime/sweep.ts). */
export type RepositorySweep = Pick<SweepOptions<ECRRepository>, 'budget' | 'groupOf' | 'shareOf' | 'prefetch' | 'onPlan' | 'logger' | 'batchSize'>;

export function ecrRepositoryController(opts: {
  repositories: Informer<ECRRepository>;
  providers: Informer<AWSProvider>;
  reconciler: EcrRepositoryReconciler;
  logger: Logger;
  concurrency: number;
  syncPeriodMs: number;
  /** A sweep paced by the AWS budget instead of the fixed periodic resync. */
  sweep?: RepositorySweep;
  /** The AWS budget of a provider's calls, once known: work is handed out only when it has room. */
  budgetOf?: (providerNamespace: string, providerName: string) => Budget | undefined;
}): Controller<ECRRepository> {
  const { budgetOf } = opts;
  const controllerOptions = {
    name: 'ecrrepository',
    informer: opts.repositories,
    reconcile: (key: ObjectKey) => opts.reconciler.reconcile(key),
    logger: opts.logger,
    concurrency: opts.concurrency,
    predicate: defaultPredicate,
    ...(budgetOf ? { queue: { budget: repositoryBudget(opts.repositories, budgetOf) } } : {}),
    secondary: [
      {
        informer: opts.providers,
        map: (provider: KubeObject) => repositoriesOfProvider(opts.repositories, provider),
        predicate: (old: KubeObject | undefined, obj: KubeObject, type?: string) => type !== 'MODIFIED' || providerChangeMatters(old, obj),
      },
    ],
  };
  if (opts.sweep && opts.syncPeriodMs > 0) {
    return new SweepingController<ECRRepository>(controllerOptions, { ...opts.sweep, syncPeriodMs: opts.syncPeriodMs });
  }
  return new Controller<ECRRepository>({ ...controllerOptions, resyncPeriodMs: opts.syncPeriodMs });
}

/** Each repository's work draws from its provider's budget (the provider is in its namespace). */
function repositoryBudget(
  repositories: Informer<ECRRepository>,
  budgetOf: (providerNamespace: string, providerName: string) => Budget | undefined,
): WorkBudget {
  return {
    of: (key) => {
      const { namespace, name } = parseKey(key);
      const repository = repositories.get(namespace, name);
      return repository ? budgetOf(namespace, repository.spec.providerRef.name) : undefined;
    },
  };
}
