import type { AWSProvider } from '../awsprovider/types.js';
import type { ECRRepository } from './types.js';
import type { Logger } from '../../observability/logger.js';
import { syncSweepObjects, syncSweepPeriod } from '../../observability/metrics.js';
import type { Connection } from '../../providers/connections.js';
import type { Informer } from '../../runtime/informer.js';
import { SWEEP_CALLS_PER_REPOSITORY, type RepositorySweep } from './watches.js';

/**
 * The periodic sweep of ECRRepositories in AWS terms: objects are grouped by the account (and
 * region and endpoint) of their provider, each group paced at the account's client-side rate, and
 * each batch of up to 100 repositories read with one DescribeRepositories by name per provider just
 * before its reconciles run.
 */
export function repositorySweep(deps: {
  providers: Pick<Informer<AWSProvider>, 'get'>;
  connections: { get(provider: AWSProvider): Promise<Connection> };
  requestsPerSecond: number;
  logger: Logger;
}): RepositorySweep {
  const providerOf = (repo: ECRRepository) => deps.providers.get(repo.metadata.namespace ?? '', repo.spec.providerRef.name);
  return {
    budget: () => ({ requestsPerSecond: deps.requestsPerSecond, callsPerObject: SWEEP_CALLS_PER_REPOSITORY }),
    groupOf: (repo) => {
      const provider = providerOf(repo);
      const account = provider?.status?.accountID;
      // Until its account is known a provider is a group of its own: its objects wait for it anyway.
      if (!provider || !account) return `provider:${repo.metadata.namespace ?? ''}/${repo.spec.providerRef.name}`;
      return `${account}|${provider.spec.region}|${provider.spec.endpoint ?? ''}`;
    },
    prefetch: async (_group, repos, validForMs) => {
      // One read per provider identity, never across identities: each repository is read with the
      // credentials of its own provider, and what one tenant's identity reads serves no other.
      const byProvider = new Map<string, { provider: AWSProvider; names: string[] }>();
      for (const repo of repos) {
        const provider = providerOf(repo);
        if (provider?.status?.ready !== true) continue;
        const id = `${provider.metadata.namespace}/${provider.metadata.name}`;
        const entry = byProvider.get(id) ?? { provider, names: [] };
        entry.names.push(repo.spec.repositoryName);
        byProvider.set(id, entry);
      }
      for (const { provider, names } of byProvider.values()) {
        const connection = await deps.connections.get(provider);
        await connection.ecr.prefetch(names, validForMs);
      }
    },
    onPlan: (plan, objects) => {
      syncSweepPeriod.set({ controller: 'ecrrepository' }, plan.periodMs / 1000);
      syncSweepObjects.set({ controller: 'ecrrepository' }, objects);
    },
    logger: deps.logger,
  };
}
