import { staticProviderYaml } from '../test/e2e/support/scenario.js';

/**
 * The objects the benchmark applies: full-spec repositories spread over namespaces and providers,
 * and the same settings as plain SDK input for the floor, so both sides do the same work.
 */

export const BENCH_LABEL = 'bench.infra-operator/run';

/** Provider defaultTags; the operator adds them to every repository, so the floor does too. */
export const DEFAULT_TAGS: Record<string, string> = { 'managed-by': 'infra-operator', environment: 'bench' };
export const SPEC_TAGS: Record<string, string> = { team: 'platform', application: 'bench', 'cost-center': 'cc-1234' };
export const OWNER_TAG = 'aws-infra-operator.runner.codes/owner';

export const LIFECYCLE_POLICY = JSON.stringify({
  rules: [
    { rulePriority: 1, description: 'Keep the last 30 release images', selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 30 }, action: { type: 'expire' } },
    { rulePriority: 2, description: 'Expire untagged images after 14 days', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } },
  ],
});

export const REPOSITORY_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: ['ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage', 'ecr:BatchCheckLayerAvailability'] }],
});

export interface Layout {
  /** Run id: part of every namespace and repository name, so runs never collide in one moto. */
  run: string;
  prefix: string;
  namespaces: number;
  providersPerNamespace: number;
}

export function namespaceName(layout: Layout, index: number): string {
  return `${layout.prefix}-${layout.run}-${index}`;
}

export function providerName(index: number): string {
  return `aws-${index}`;
}

export interface Placement {
  namespace: string;
  name: string;
  provider: string;
  repositoryName: string;
}

/** Object i goes round-robin over the namespaces, then over the providers of its namespace. */
export function placement(layout: Layout, i: number): Placement {
  const ns = i % layout.namespaces;
  const provider = Math.floor(i / layout.namespaces) % layout.providersPerNamespace;
  const name = `repo-${String(i).padStart(5, '0')}`;
  const namespace = namespaceName(layout, ns);
  return { namespace, name, provider: providerName(provider), repositoryName: `${layout.prefix}-${layout.run}/${namespace}/${name}` };
}

export function namespaceYaml(name: string, run: string): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels:
    ${BENCH_LABEL}: ${run}
`;
}

/** How a layout's providers reach AWS: the environment's endpoint and key unless given. */
export interface ProviderOptions {
  endpoint?: string;
  /** The access key id in each provider's Secret: another key acts as whichever account holds it. */
  keyId?: string;
}

/** Secrets and AWSProviders of one namespace, as one multi-document YAML. */
export function providersYaml(layout: Layout, namespace: string, opts: ProviderOptions = {}): string {
  const docs: string[] = [];
  for (let p = 0; p < layout.providersPerNamespace; p++) {
    docs.push(staticProviderYaml(namespace, providerName(p), { defaultTags: DEFAULT_TAGS, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), ...(opts.keyId ? { keyId: opts.keyId } : {}) }));
  }
  return docs.join('---\n');
}

export function repositoryYaml(run: string, p: Placement, deletionPolicy: 'Delete' | 'Retain'): string {
  // Single-quoted YAML scalars: the policies hold double quotes and no single quote.
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata:
  name: ${p.name}
  namespace: ${p.namespace}
  labels:
    ${BENCH_LABEL}: ${run}
spec:
  providerRef:
    name: ${p.provider}
  repositoryName: ${p.repositoryName}
  imageTagMutability: IMMUTABLE
  scanOnPush: true
  encryptionConfiguration:
    encryptionType: AES256
  lifecyclePolicy:
    policyText: '${LIFECYCLE_POLICY}'
  repositoryPolicyText: '${REPOSITORY_POLICY}'
  tags:
${Object.entries(SPEC_TAGS).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}
  deletionPolicy: ${deletionPolicy}
`;
}

/** Every object's placement and YAML, grouped by namespace, in index order. */
export function repositoriesByNamespace(layout: Layout, n: number, deletionPolicy: 'Delete' | 'Retain'): Map<string, Array<{ placement: Placement; yaml: string }>> {
  const out = new Map<string, Array<{ placement: Placement; yaml: string }>>();
  for (let i = 0; i < n; i++) {
    const p = placement(layout, i);
    const docs = out.get(p.namespace) ?? [];
    docs.push({ placement: p, yaml: repositoryYaml(layout.run, p, deletionPolicy) });
    out.set(p.namespace, docs);
  }
  return out;
}
