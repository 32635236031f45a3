import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { installCrds, waitForGone, waitForReady } from './support/scenario.js';

// Every documented example, applied as a user would (`kubectl apply -k config/samples`), becomes
// Ready, and AWS holds exactly what each one declares.

interface Sample {
  kind: string;
  metadata: { name: string; namespace: string };
  spec: Record<string, unknown> & {
    repositoryName: string;
    providerRef: { name: string };
    imageTagMutability?: string;
    scanOnPush?: boolean;
    encryptionConfiguration?: { encryptionType?: string; kmsKey?: string };
    lifecyclePolicy?: { policyText?: string };
    repositoryPolicyText?: string;
    tags?: Record<string, string>;
    deletionPolicy?: string;
    defaultTags?: Record<string, string>;
  };
}

const samplesDir = path.resolve('config/samples');
const documents: Sample[] = readdirSync(samplesDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) => parseAllDocuments(readFileSync(path.join(samplesDir, f), 'utf8')).map((d) => d.toJS() as Sample));
const repositories = documents.filter((d) => d.kind === 'ECRRepository');
const providers = documents.filter((d) => d.kind === 'AWSProvider');

const canonical = (text: string | undefined) => (text === undefined ? undefined : JSON.stringify(JSON.parse(text)));

describe('config/samples', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let operator: OperatorProcess;

  beforeAll(async () => {
    expect(repositories.length).toBeGreaterThanOrEqual(3);
    await installCrds(kubectl);
    operator = await startOperator(env, { kubeconfig: await serviceAccountKubeconfig(env, kubectl) });
    await kubectl.ok(['apply', '-k', samplesDir]);
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('makes both documented providers Ready: static keys, and roleARN through AssumeRole', async () => {
    for (const p of providers) {
      const obj = await waitForReady(kubectl, 'awsprovider', p.metadata.namespace, p.metadata.name);
      expect(obj.status?.accountID).toBe('123456789012');
      if (p.spec.roleARN) expect(obj.status?.callerIdentity).toMatch(/:assumed-role\/infra-operator-role\//);
    }
  });

  it.each(repositories.map((r) => [r.metadata.name, r] as const))('%s becomes Ready and AWS holds what it declares', async (_name, sample) => {
    const obj = await waitForReady(kubectl, 'ecrrepository', sample.metadata.namespace, sample.metadata.name, {}, 90_000);
    const { spec } = sample;
    const live = (await aws.json<{ repositories: Array<{ repositoryArn: string; imageTagMutability: string; imageScanningConfiguration: { scanOnPush: boolean }; encryptionConfiguration: { encryptionType: string; kmsKey?: string } }> }>(
      ['ecr', 'describe-repositories', '--repository-names', spec.repositoryName])).repositories[0]!;
    expect(obj.status?.repositoryArn).toBe(live.repositoryArn);
    expect(live.imageTagMutability).toBe(spec.imageTagMutability ?? 'MUTABLE');
    expect(live.imageScanningConfiguration.scanOnPush).toBe(spec.scanOnPush ?? false);
    expect(live.encryptionConfiguration.encryptionType).toBe(spec.encryptionConfiguration?.encryptionType ?? 'AES256');

    const provider = providers.find((p) => p.metadata.name === spec.providerRef.name)!;
    const tags = Object.fromEntries((await aws.json<{ tags: Array<{ Key: string; Value: string }> }>(
      ['ecr', 'list-tags-for-resource', '--resource-arn', live.repositoryArn])).tags.map((t) => [t.Key, t.Value]));
    expect(tags).toEqual({
      ...(provider.spec.defaultTags ?? {}),
      ...(spec.tags ?? {}),
      'aws-infra-operator.runner.codes/owner': `${sample.metadata.namespace}/${sample.metadata.name}`,
    });

    const lifecycle = await aws.attempt(['ecr', 'get-lifecycle-policy', '--repository-name', spec.repositoryName]);
    expect(lifecycle.code === 0 ? canonical((JSON.parse(lifecycle.stdout) as { lifecyclePolicyText: string }).lifecyclePolicyText) : undefined)
      .toBe(canonical(spec.lifecyclePolicy?.policyText));
    const policy = await aws.attempt(['ecr', 'get-repository-policy', '--repository-name', spec.repositoryName]);
    expect(policy.code === 0 ? canonical((JSON.parse(policy.stdout) as { policyText: string }).policyText) : undefined)
      .toBe(canonical(spec.repositoryPolicyText));
  });

  it('honours each sample\'s deletion policy when the samples are deleted', async () => {
    // Repositories first: a Delete policy needs its provider to carry out the deletion.
    for (const r of repositories) await kubectl.ok(['delete', 'ecrrepository', r.metadata.name, '-n', r.metadata.namespace, '--wait=false']);
    for (const r of repositories) await waitForGone(kubectl, 'ecrrepository', r.metadata.namespace, r.metadata.name);
    await kubectl.ok(['delete', '-k', samplesDir, '--ignore-not-found']);
    for (const r of repositories) {
      const found = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', r.spec.repositoryName]);
      if ((r.spec.deletionPolicy ?? 'Retain') === 'Delete') expect(found.stderr).toContain('RepositoryNotFoundException');
      else expect(found.code).toBe(0);
    }
  });
});
