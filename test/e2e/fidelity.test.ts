import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { freshNamespace, installCrds, staticProviderYaml, waitForReady, type Resource } from './support/scenario.js';

// ECR fidelity, end to end: tag mutability with exclusion filters as ECR has it today, created,
// changed, kept against drift and adopted unchanged; checked with kubectl and awscli.

const SYNC_SECONDS = 6;

interface Filter {
  filter: string;
  filterType: string;
}

interface LiveRepo {
  repositoryArn: string;
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: Filter[];
}

function repositoryYaml(namespace: string, name: string, spec: string, annotations: Record<string, string> = {}): string {
  const meta = Object.keys(annotations).length
    ? `  annotations:\n${Object.entries(annotations).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}\n`
    : '';
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata:
  name: ${name}
  namespace: ${namespace}
${meta}spec:
  providerRef:
    name: aws
${spec.trim().split('\n').map((l) => `  ${l}`).join('\n')}
`;
}

const sortedFilters = (filters: Filter[] | undefined): string[] => (filters ?? []).map((f) => `${f.filterType}:${f.filter}`).sort();

describe('ECR fidelity: tag mutability with exclusion filters', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let ns: string;
  let operator: OperatorProcess;

  const getRepo = (name: string) => kubectl.getJson<Resource>(['ecrrepository', name, '-n', ns]);
  const describeRepo = async (name: string) =>
    (await aws.json<{ repositories: LiveRepo[] }>(['ecr', 'describe-repositories', '--repository-names', name])).repositories[0]!;
  const mutabilityCalls = () => operator.metricValue('aws_api_calls_total', { service: 'ECR', operation: 'PutImageTagMutability' });

  beforeAll(async () => {
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'fidelity');
    await kubectl.apply(staticProviderYaml(ns, 'aws'));
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`] });
    await waitForReady(kubectl, 'awsprovider', ns, 'aws');
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('creates IMMUTABLE_WITH_EXCLUSION as declared, changes the filters, reverts drift, and shows them in status', async () => {
    const name = `${ns}/excl`;
    const spec = (filters: string[]) => `
repositoryName: ${name}
imageTagMutability: IMMUTABLE_WITH_EXCLUSION
imageTagMutabilityExclusionFilters:
${filters.map((f) => `  - filter: "${f}"\n    filterType: WILDCARD`).join('\n')}
deletionPolicy: Delete
`;
    await kubectl.apply(repositoryYaml(ns, 'excl', spec(['latest', 'dev-*'])));
    await waitForReady(kubectl, 'ecrrepository', ns, 'excl');

    // awscli shows the mode and both filters.
    const created = await describeRepo(name);
    expect(created.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(sortedFilters(created.imageTagMutabilityExclusionFilters)).toEqual(['WILDCARD:dev-*', 'WILDCARD:latest']);
    const status = (await getRepo('excl')).status as { imageTagMutability?: string; imageTagMutabilityExclusionFilters?: Filter[] };
    expect(status.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(sortedFilters(status.imageTagMutabilityExclusionFilters)).toEqual(['WILDCARD:dev-*', 'WILDCARD:latest']);

    // The same filters in another order are the same set: no call.
    const before = await mutabilityCalls();
    await kubectl.apply(repositoryYaml(ns, 'excl', spec(['dev-*', 'latest'])));
    await kubectl.ok(['annotate', 'ecrrepository', 'excl', '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);
    await new Promise((resolve) => setTimeout(resolve, (SYNC_SECONDS + 2) * 1000));
    expect(await mutabilityCalls()).toBe(before);

    // Changing the filters reaches AWS.
    await kubectl.apply(repositoryYaml(ns, 'excl', spec(['latest', 'feature-*'])));
    await eventually('the new filters in AWS', async () => {
      const live = await describeRepo(name);
      return sortedFilters(live.imageTagMutabilityExclusionFilters).join() === 'WILDCARD:feature-*,WILDCARD:latest' || undefined;
    }, 30_000);

    // Drift made with awscli is reverted on a periodic sync.
    await aws.json(['ecr', 'put-image-tag-mutability', '--repository-name', name, '--image-tag-mutability', 'IMMUTABLE_WITH_EXCLUSION',
      '--image-tag-mutability-exclusion-filters', 'filter=hotfix-*,filterType=WILDCARD']);
    expect(sortedFilters((await describeRepo(name)).imageTagMutabilityExclusionFilters)).toEqual(['WILDCARD:hotfix-*']);
    await eventually('the drift in the filters to be reverted', async () => {
      const live = await describeRepo(name);
      return (live.imageTagMutability === 'IMMUTABLE_WITH_EXCLUSION' &&
        sortedFilters(live.imageTagMutabilityExclusionFilters).join() === 'WILDCARD:feature-*,WILDCARD:latest') || undefined;
    }, (SYNC_SECONDS * 3 + 10) * 1000);

    // Status follows on the next sync, from what AWS reports.
    await eventually('status to show the mode and the new filters', async () => {
      const s = (await getRepo('excl')).status as { imageTagMutability?: string; imageTagMutabilityExclusionFilters?: Filter[] };
      return (s.imageTagMutability === 'IMMUTABLE_WITH_EXCLUSION' &&
        sortedFilters(s.imageTagMutabilityExclusionFilters).join() === 'WILDCARD:feature-*,WILDCARD:latest') || undefined;
    }, (SYNC_SECONDS * 3 + 10) * 1000);
  });

  it('adopts a MUTABLE_WITH_EXCLUSION repository made with awscli without changing it, across syncs', async () => {
    const name = `${ns}/adopted`;
    await aws.json(['ecr', 'create-repository', '--repository-name', name, '--image-tag-mutability', 'MUTABLE_WITH_EXCLUSION',
      '--image-tag-mutability-exclusion-filters', 'filter=release-*,filterType=WILDCARD']);
    const before = await mutabilityCalls();
    await kubectl.apply(repositoryYaml(ns, 'adopted', `
repositoryName: ${name}
imageTagMutability: MUTABLE_WITH_EXCLUSION
imageTagMutabilityExclusionFilters:
  - filter: release-*
`, { 'aws-infra-operator.runner.codes/adopt': 'true' }));
    const adopted = await waitForReady(kubectl, 'ecrrepository', ns, 'adopted');
    const status = adopted.status as { imageTagMutability?: string; imageTagMutabilityExclusionFilters?: Filter[] };
    expect(status.imageTagMutability).toBe('MUTABLE_WITH_EXCLUSION');
    // filterType defaults to WILDCARD in the CRD.
    expect(status.imageTagMutabilityExclusionFilters).toEqual([{ filter: 'release-*', filterType: 'WILDCARD' }]);

    // Two periodic syncs later, AWS is as it was and no PutImageTagMutability was sent.
    await new Promise((resolve) => setTimeout(resolve, (SYNC_SECONDS * 2 + 2) * 1000));
    const live = await describeRepo(name);
    expect(live.imageTagMutability).toBe('MUTABLE_WITH_EXCLUSION');
    expect(live.imageTagMutabilityExclusionFilters).toEqual([{ filter: 'release-*', filterType: 'WILDCARD' }]);
    expect(await mutabilityCalls()).toBe(before);
    const after = (await getRepo('adopted')).status as { imageTagMutability?: string; imageTagMutabilityExclusionFilters?: Filter[] };
    expect(after.imageTagMutabilityExclusionFilters).toEqual([{ filter: 'release-*', filterType: 'WILDCARD' }]);
  });
});
