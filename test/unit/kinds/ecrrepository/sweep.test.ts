import { describe, expect, it } from 'vitest';
import type { AWSProvider } from '../../../../src/kinds/awsprovider/types.js';
import type { ECRRepository } from '../../../../src/kinds/ecrrepository/types.js';
import { SWEEP_CALLS_PER_REPOSITORY } from '../../../../src/kinds/ecrrepository/watches.js';
import { repositorySweep } from '../../../../src/kinds/ecrrepository/sweep.js';
import { createLogger } from '../../../../src/observability/logger.js';
import { registry } from '../../../../src/observability/metrics.js';
import type { Connection } from '../../../../src/providers/connections.js';

function provider(namespace: string, name: string, accountID?: string, region = 'us-east-1'): AWSProvider {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1', kind: 'AWSProvider',
    metadata: { namespace, name, generation: 1 },
    spec: { region },
    ...(accountID ? { status: { ready: true, accountID } } : {}),
  } as AWSProvider;
}

function repository(namespace: string, name: string, providerName: string): ECRRepository {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1', kind: 'ECRRepository',
    metadata: { namespace, name },
    spec: { providerRef: { name: providerName }, repositoryName: `${namespace}/${name}` },
  } as ECRRepository;
}

function setup() {
  const providers = new Map<string, AWSProvider>([
    ['a/p', provider('a', 'p', '111122223333')],
    ['b/p', provider('b', 'p', '111122223333')],
    ['c/p', provider('c', 'p', '444455556666')],
    ['d/p', provider('d', 'p')],
  ]);
  const prefetched: Array<{ via: string; names: string[]; validForMs: number }> = [];
  const sweep = repositorySweep({
    providers: { get: (ns, name) => providers.get(`${ns}/${name}`) },
    connections: {
      get: async (p: AWSProvider) => ({
        ecr: {
          prefetch: async (names: readonly string[], validForMs: number) => {
            prefetched.push({ via: `${p.metadata.namespace}/${p.metadata.name}`, names: [...names], validForMs });
            return 1;
          },
        },
      }) as unknown as Connection,
    },
    requestsPerSecond: 20,
    logger: createLogger({ level: 'silent' }),
  });
  return { sweep, prefetched };
}

describe('repositorySweep', () => {
  it('groups repositories by the account and region of their provider; an unverified provider is its own group', () => {
    const { sweep } = setup();
    expect(sweep.groupOf?.(repository('a', 'r1', 'p'))).toBe('111122223333|us-east-1|');
    expect(sweep.groupOf?.(repository('b', 'r2', 'p'))).toBe('111122223333|us-east-1|');
    expect(sweep.groupOf?.(repository('c', 'r3', 'p'))).toBe('444455556666|us-east-1|');
    expect(sweep.groupOf?.(repository('d', 'r4', 'p'))).toBe('provider:d/p');
    expect(sweep.groupOf?.(repository('e', 'r5', 'missing'))).toBe('provider:e/missing');
  });

  it("reads a batch by repository name, each repository with its own provider's identity, never another's", async () => {
    const { sweep, prefetched } = setup();
    await sweep.prefetch?.('111122223333|us-east-1|', [repository('a', 'r1', 'p'), repository('b', 'r2', 'p'), repository('a', 'r3', 'p')], 30_000);
    expect(prefetched).toEqual([
      { via: 'a/p', names: ['a/r1', 'a/r3'], validForMs: 30_000 },
      { via: 'b/p', names: ['b/r2'], validForMs: 30_000 },
    ]);
    // A group whose provider is not Ready reads nothing ahead: its reconciles wait for the provider.
    await sweep.prefetch?.('provider:d/p', [repository('d', 'r4', 'p')], 30_000);
    expect(prefetched).toHaveLength(2);
  });

  it('budgets the account rate at the calls of one periodic reconcile, and exports the achieved period', async () => {
    const { sweep } = setup();
    expect(sweep.budget()).toEqual({ requestsPerSecond: 20, callsPerObject: SWEEP_CALLS_PER_REPOSITORY });
    sweep.onPlan?.({ periodMs: 2_500_000, spreadMs: 2_500_000, neededMs: 2_500_000, stretched: true }, 10_000);
    const text = await registry.metrics();
    expect(text).toContain('infra_operator_sync_sweep_period_seconds{controller="ecrrepository"} 2500');
    expect(text).toContain('infra_operator_sync_sweep_objects{controller="ecrrepository"} 10000');
  });
});
