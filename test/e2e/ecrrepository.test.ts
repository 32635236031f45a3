import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForGone, waitForReady, type Resource } from './support/scenario.js';

// The ECRRepository lifecycle, end to end: the operator as a process, running as its own
// ServiceAccount under the RBAC it ships with, against a real API server and moto behind the
// paging layer; checked with kubectl and awscli as a user would.

const OWNER = 'aws-infra-operator.runner.codes/owner';
const SYNC_SECONDS = 6;
const MUTATING = ['CreateRepository', 'DeleteRepository', 'PutImageTagMutability', 'PutImageScanningConfiguration', 'PutLifecyclePolicy',
  'DeleteLifecyclePolicy', 'SetRepositoryPolicy', 'DeleteRepositoryPolicy', 'TagResource', 'UntagResource'];

const lifecycle = (count: number) => JSON.stringify({
  rules: [
    { rulePriority: 1, description: `Keep last ${count} images`, selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: count }, action: { type: 'expire' } },
    { rulePriority: 2, description: 'Expire untagged images after 30 days', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: { type: 'expire' } },
  ],
});
const repoPolicy = (principal: string) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: { AWS: principal }, Action: ['ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'] }],
});

function indent(text: string, spaces: number): string {
  return text.split('\n').map((l) => ' '.repeat(spaces) + l).join('\n');
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
${indent(spec.trim(), 2)}
`;
}

/** A distinct image manifest per seed: moto derives the image digest from the layers. */
function imageManifest(seed: number): string {
  const digest = `sha256:${seed.toString(16).padStart(64, '0')}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1, digest },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: seed, digest }],
  });
}

function sameJson(a: string | undefined, b: string): boolean {
  return a !== undefined && JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
}

describe('ECRRepository lifecycle', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let ns: string;
  let operator: OperatorProcess;
  let saKubeconfig: string;

  const getRepo = (name: string) => kubectl.getJson<Resource>(['ecrrepository', name, '-n', ns]);
  const tagsOf = async (arn: string) => Object.fromEntries(
    (await aws.json<{ tags: Array<{ Key: string; Value: string }> }>(['ecr', 'list-tags-for-resource', '--resource-arn', arn])).tags.map((t) => [t.Key, t.Value]),
  );
  const describeRepo = async (name: string) =>
    (await aws.json<{ repositories: Array<Record<string, unknown> & { repositoryArn: string; imageTagMutability: string; imageScanningConfiguration: { scanOnPush: boolean }; encryptionConfiguration: { encryptionType: string } }> }>(
      ['ecr', 'describe-repositories', '--repository-names', name])).repositories[0]!;
  const lifecycleOf = async (name: string) => {
    const r = await aws.attempt(['ecr', 'get-lifecycle-policy', '--repository-name', name]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { lifecyclePolicyText: string }).lifecyclePolicyText : undefined;
  };
  const policyOf = async (name: string) => {
    const r = await aws.attempt(['ecr', 'get-repository-policy', '--repository-name', name]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { policyText: string }).policyText : undefined;
  };
  const mutatingCalls = async () => {
    let sum = 0;
    for (const op of MUTATING) sum += await operator.metricValue('aws_api_calls_total', { service: 'ECR', operation: op });
    return sum;
  };

  beforeAll(async () => {
    await installCrds(kubectl);
    saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'ecr');
    await kubectl.apply(staticProviderYaml(ns, 'aws'));
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`, '--secret-poll-period=2s'] });
    await waitForReady(kubectl, 'awsprovider', ns, 'aws');
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('creates a full-spec repository exactly as declared, with status and events', async () => {
    const name = `${ns}/full`;
    const before = await aws.calls();
    await kubectl.apply(repositoryYaml(ns, 'full', `
repositoryName: ${name}
imageTagMutability: IMMUTABLE
scanOnPush: true
encryptionConfiguration:
  encryptionType: AES256
lifecyclePolicy:
  policyText: '${lifecycle(10)}'
repositoryPolicyText: '${repoPolicy('arn:aws:iam::123456789012:root')}'
tags:
  environment: production
  Application: backend
deletionPolicy: Delete
`));
    const obj = await waitForReady(kubectl, 'ecrrepository', ns, 'full');
    const after = await aws.calls();
    const ecrCalls = Object.entries(after).filter(([k]) => k.startsWith('ECR:')).map(([k, v]) => [k, v - (before[k] ?? 0)] as const).filter(([, v]) => v > 0);
    console.log(`AWS calls to create one full-spec repository: ${ecrCalls.reduce((s, [, v]) => s + v, 0)} ${JSON.stringify(Object.fromEntries(ecrCalls))}`);
    // One call per thing to set: no describe before a create, no second create for our own echo.
    expect(Object.fromEntries(ecrCalls)).toEqual({ 'ECR:CreateRepository': 1, 'ECR:PutLifecyclePolicy': 1, 'ECR:SetRepositoryPolicy': 1 });

    const live = await describeRepo(name);
    expect(live.imageTagMutability).toBe('IMMUTABLE');
    expect(live.imageScanningConfiguration.scanOnPush).toBe(true);
    expect(live.encryptionConfiguration.encryptionType).toBe('AES256');
    expect(await tagsOf(live.repositoryArn)).toEqual({
      environment: 'production', Application: 'backend', 'managed-by': 'infra-operator', [OWNER]: `${ns}/full`,
    });
    expect(sameJson(await lifecycleOf(name), lifecycle(10))).toBe(true);
    expect(sameJson(await policyOf(name), repoPolicy('arn:aws:iam::123456789012:root'))).toBe(true);

    expect(obj.status).toMatchObject({
      ready: true,
      repositoryArn: live.repositoryArn,
      repositoryUri: expect.stringMatching(new RegExp(`^123456789012\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/${name}$`)),
      registryId: '123456789012',
      creationDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      imageCount: 0,
      imageTagMutability: 'IMMUTABLE',
      encryptionType: 'AES256',
      imageScanningConfiguration: { scanOnPush: true },
      observedGeneration: obj.metadata.generation,
    });
    expect(obj.metadata.finalizers).toContain('aws-infra-operator.runner.codes/finalizer');
    expect(condition(obj, 'Reconciling')).toBeUndefined();
    expect(condition(obj, 'Stalled')).toBeUndefined();
    const described = await kubectl.ok(['describe', 'ecrrepository', 'full', '-n', ns]);
    expect(described).toMatch(/Created\s+.*created ECR repository/);
    const table = await kubectl.ok(['get', 'ecr', '-n', ns]);
    expect(table).toMatch(new RegExp(`full\\s+true\\s+${name.replace('/', '\\/')}\\s+123456789012`));
  });

  it('makes no mutating AWS call for an unchanged repository across periodic syncs', async () => {
    await waitForReady(kubectl, 'ecrrepository', ns, 'full');
    const syncsBefore = await operator.metricValue('controller_runtime_reconcile_total', { controller: 'ecrrepository' });
    const before = await mutatingCalls();
    await new Promise((r) => setTimeout(r, (SYNC_SECONDS * 2 + 2) * 1000));
    expect(await operator.metricValue('controller_runtime_reconcile_total', { controller: 'ecrrepository' })).toBeGreaterThan(syncsBefore);
    expect(await mutatingCalls()).toBe(before);
  });

  it('carries each kubectl patch of a mutable field to AWS, and removes what the spec drops', async () => {
    const name = `${ns}/full`;
    await kubectl.ok(['patch', 'ecrrepository', 'full', '-n', ns, '--type=merge', '-p', JSON.stringify({
      spec: {
        imageTagMutability: 'MUTABLE',
        scanOnPush: false,
        lifecyclePolicy: { policyText: lifecycle(20) },
        repositoryPolicyText: repoPolicy('arn:aws:iam::999888777666:root'),
        tags: { environment: 'staging', Application: null, team: 'platform' },
      },
    })]);
    await eventually('the patch to reach AWS', async () => {
      const live = await describeRepo(name);
      const tags = await tagsOf(live.repositoryArn);
      return live.imageTagMutability === 'MUTABLE' && !live.imageScanningConfiguration.scanOnPush &&
        sameJson(await lifecycleOf(name), lifecycle(20)) && sameJson(await policyOf(name), repoPolicy('arn:aws:iam::999888777666:root')) &&
        tags.environment === 'staging' && tags.team === 'platform' && !('Application' in tags) || undefined;
    }, 30_000);

    await kubectl.ok(['patch', 'ecrrepository', 'full', '-n', ns, '--type=json', '-p', JSON.stringify([
      { op: 'remove', path: '/spec/lifecyclePolicy' },
      { op: 'remove', path: '/spec/repositoryPolicyText' },
    ])]);
    await eventually('both policies to be deleted in AWS', async () =>
      (await lifecycleOf(name)) === undefined && (await policyOf(name)) === undefined || undefined, 30_000);
    const obj = await waitForReady(kubectl, 'ecrrepository', ns, 'full');
    expect(obj.status).toMatchObject({ imageTagMutability: 'MUTABLE', imageScanningConfiguration: { scanOnPush: false } });
    expect(await kubectl.ok(['describe', 'ecrrepository', 'full', '-n', ns])).toMatch(/Updated\s+.*lifecycle policy removed/);
  });

  it('reverts changes made outside Kubernetes on the next periodic sync', async () => {
    const name = `${ns}/drift`;
    await kubectl.apply(repositoryYaml(ns, 'drift', `
repositoryName: ${name}
imageTagMutability: IMMUTABLE
scanOnPush: true
lifecyclePolicy:
  policyText: '${lifecycle(5)}'
repositoryPolicyText: '${repoPolicy('arn:aws:iam::123456789012:root')}'
tags:
  team: platform
deletionPolicy: Delete
`));
    await waitForReady(kubectl, 'ecrrepository', ns, 'drift');
    const arn = (await describeRepo(name)).repositoryArn;
    await aws.json(['ecr', 'put-image-tag-mutability', '--repository-name', name, '--image-tag-mutability', 'MUTABLE']);
    await aws.json(['ecr', 'put-image-scanning-configuration', '--repository-name', name, '--image-scanning-configuration', 'scanOnPush=false']);
    await aws.json(['ecr', 'tag-resource', '--resource-arn', arn, '--tags', 'Key=team,Value=hacked', 'Key=stray,Value=x']);
    await aws.json(['ecr', 'delete-lifecycle-policy', '--repository-name', name]);
    await aws.json(['ecr', 'set-repository-policy', '--repository-name', name, '--policy-text', repoPolicy('arn:aws:iam::111111111111:root')]);

    await eventually('the drift to be reverted', async () => {
      const live = await describeRepo(name);
      const tags = await tagsOf(arn);
      return live.imageTagMutability === 'IMMUTABLE' && live.imageScanningConfiguration.scanOnPush &&
        tags.team === 'platform' && !('stray' in tags) &&
        sameJson(await lifecycleOf(name), lifecycle(5)) && sameJson(await policyOf(name), repoPolicy('arn:aws:iam::123456789012:root')) || undefined;
    }, (SYNC_SECONDS * 3 + 10) * 1000);
  });

  it('counts every image over every page after a force-sync', async () => {
    const name = `${ns}/images`;
    await kubectl.apply(repositoryYaml(ns, 'images', `repositoryName: ${name}\ndeletionPolicy: Delete\n`));
    await waitForReady(kubectl, 'ecrrepository', ns, 'images');
    const client = new ECRClient({ endpoint: env.awsEndpoint, region: env.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const total = 1050;
    for (let start = 0; start < total; start += 25) {
      await Promise.all(Array.from({ length: Math.min(25, total - start) }, (_, j) => {
        const i = start + j;
        return client.send(new PutImageCommand({ repositoryName: name, imageManifest: imageManifest(i), imageTag: `v${i}` }));
      }));
    }
    client.destroy();
    const listed = await aws.json<{ imageIds: unknown[] }>(['ecr', 'list-images', '--repository-name', name]);
    expect(listed.imageIds).toHaveLength(total);
    await kubectl.ok(['annotate', 'ecrrepository', 'images', '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);
    const obj = await eventually('status.imageCount to read 1050', async () => {
      const o = await getRepo('images');
      return o.status?.imageCount === total ? o : undefined;
    }, 30_000);
    expect(obj.status?.ready).toBe(true);
  });

  describe('deletion policies', () => {
    async function createAndDelete(name: string, policy: string, images = 0): Promise<string> {
      const repoName = `${ns}/${name}`;
      await kubectl.apply(repositoryYaml(ns, name, `repositoryName: ${repoName}\ndeletionPolicy: ${policy}\ntags:\n  team: platform\n`));
      await waitForReady(kubectl, 'ecrrepository', ns, name);
      for (let i = 0; i < images; i++) {
        await aws.json(['ecr', 'put-image', '--repository-name', repoName, '--image-tag', `t${i}`, '--image-manifest', imageManifest(100_000 + i)]);
      }
      await kubectl.ok(['delete', 'ecrrepository', name, '-n', ns, '--wait=false']);
      await waitForGone(kubectl, 'ecrrepository', ns, name);
      return repoName;
    }

    it('Delete removes the repository in AWS, images included', async () => {
      const repoName = await createAndDelete('del', 'Delete', 2);
      const r = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', repoName]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('RepositoryNotFoundException');
    });

    it('Retain leaves the repository untouched, owner tag included', async () => {
      const repoName = await createAndDelete('keep', 'Retain');
      const live = await describeRepo(repoName);
      expect(await tagsOf(live.repositoryArn)).toMatchObject({ team: 'platform', [OWNER]: `${ns}/keep` });
    });

    it('Orphan leaves the repository and removes the ownership tag', async () => {
      const repoName = await createAndDelete('orphan', 'Orphan');
      const tags = await tagsOf((await describeRepo(repoName)).repositoryArn);
      expect(tags.team).toBe('platform');
      expect(tags[OWNER]).toBeUndefined();
    });
  });

  describe('ownership', () => {
    it('takes over silently a repository that carries its own owner tag (crash recovery)', async () => {
      const repoName = `${ns}/recovered`;
      await aws.json(['ecr', 'create-repository', '--repository-name', repoName, '--tags', `Key=${OWNER},Value=${ns}/recovered`]);
      await kubectl.apply(repositoryYaml(ns, 'recovered', `repositoryName: ${repoName}\ndeletionPolicy: Delete\n`));
      const obj = await waitForReady(kubectl, 'ecrrepository', ns, 'recovered');
      expect(obj.status?.repositoryArn).toBe((await describeRepo(repoName)).repositoryArn);
    });

    it('adopts an unowned repository only with the adopt annotation', async () => {
      const repoName = `${ns}/legacy`;
      await aws.json(['ecr', 'create-repository', '--repository-name', repoName, '--tags', 'Key=team,Value=legacy']);
      await kubectl.apply(repositoryYaml(ns, 'legacy', `repositoryName: ${repoName}\ntags:\n  team: legacy\n`));
      const refused = await waitForReady(kubectl, 'ecrrepository', ns, 'legacy', { status: 'False', reason: 'AlreadyExists' });
      expect(condition(refused, 'Stalled')?.status).toBe('True');
      expect(condition(refused, 'Ready')?.message).toContain('aws-infra-operator.runner.codes/adopt');
      expect((await tagsOf((await describeRepo(repoName)).repositoryArn))[OWNER]).toBeUndefined();

      await kubectl.ok(['annotate', 'ecrrepository', 'legacy', '-n', ns, 'aws-infra-operator.runner.codes/adopt=true', `force-sync=${Date.now()}`]);
      const adopted = await waitForReady(kubectl, 'ecrrepository', ns, 'legacy');
      expect(condition(adopted, 'Stalled')).toBeUndefined();
      expect((await tagsOf((await describeRepo(repoName)).repositoryArn))[OWNER]).toBe(`${ns}/legacy`);
      expect(await kubectl.ok(['describe', 'ecrrepository', 'legacy', '-n', ns])).toMatch(/Adopted/);
    });

    it('never lets two objects fight over one repository', async () => {
      const repoName = `${ns}/contested`;
      await kubectl.apply(repositoryYaml(ns, 'first', `repositoryName: ${repoName}\ntags:\n  owner: first\n`));
      await waitForReady(kubectl, 'ecrrepository', ns, 'first');
      await kubectl.apply(repositoryYaml(ns, 'second', `repositoryName: ${repoName}\ntags:\n  owner: second\n`, { 'aws-infra-operator.runner.codes/adopt': 'true' }));
      const second = await waitForReady(kubectl, 'ecrrepository', ns, 'second', { status: 'False', reason: 'AlreadyOwned' });
      expect(condition(second, 'Ready')?.message).toContain(`${ns}/first`);
      await new Promise((r) => setTimeout(r, SYNC_SECONDS * 1000 + 2000));
      const tags = await tagsOf((await describeRepo(repoName)).repositoryArn);
      expect(tags).toMatchObject({ owner: 'first', [OWNER]: `${ns}/first` });
      expect((await getRepo('first')).status?.ready).toBe(true);
    });
  });

  it('waits with ProviderNotReady and becomes Ready by itself once the provider is', async () => {
    const repoName = `${ns}/late`;
    await kubectl.apply(repositoryYaml(ns, 'late', `repositoryName: ${repoName}\ndeletionPolicy: Delete\n`).replace('name: aws\n', 'name: late-provider\n'));
    const waiting = await waitForReady(kubectl, 'ecrrepository', ns, 'late', { status: 'False', reason: 'ProviderNotReady' });
    expect(condition(waiting, 'Reconciling')?.status).toBe('True');
    expect(condition(waiting, 'Ready')?.message).toContain('late-provider');
    await kubectl.apply(staticProviderYaml(ns, 'late-provider'));
    await waitForReady(kubectl, 'ecrrepository', ns, 'late', {}, 30_000);
    expect((await describeRepo(repoName)).repositoryArn).toContain(repoName);
  });

  it('upgrade to --cluster-name: its own repositories are retagged <cluster>/<namespace>/<name>; another cluster\'s stay untouched', async () => {
    const mine = `${ns}/upgraded`;
    await kubectl.apply(repositoryYaml(ns, 'upgraded', `repositoryName: ${mine}\ndeletionPolicy: Delete\n`));
    await waitForReady(kubectl, 'ecrrepository', ns, 'upgraded');
    // A repository that a cluster without a cluster name tagged with this namespace and name.
    const theirs = `${ns}/elsewhere`;
    await aws.json(['ecr', 'create-repository', '--repository-name', theirs, '--tags', `Key=${OWNER},Value=${ns}/elsewhere`]);

    await operator.stop();
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`, '--secret-poll-period=2s', '--cluster-name=e2e-east'] });
    await kubectl.ok(['annotate', 'ecrrepository', 'upgraded', '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);
    await eventually('the new owner value', async () => ((await tagsOf((await describeRepo(mine)).repositoryArn))[OWNER] === `e2e-east/${ns}/upgraded` ? true : undefined), 30_000);
    expect((await getRepo('upgraded')).status?.ready).toBe(true);

    await kubectl.apply(repositoryYaml(ns, 'elsewhere', `repositoryName: ${theirs}\n`));
    const refused = await waitForReady(kubectl, 'ecrrepository', ns, 'elsewhere', { status: 'False', reason: 'AlreadyOwned' });
    expect(condition(refused, 'Ready')?.message).toContain('--cluster-name');
    expect((await tagsOf((await describeRepo(theirs)).repositoryArn))[OWNER]).toBe(`${ns}/elsewhere`);

    await kubectl.apply(repositoryYaml(ns, 'fresh', `repositoryName: ${ns}/fresh\ndeletionPolicy: Delete\n`));
    await waitForReady(kubectl, 'ecrrepository', ns, 'fresh');
    expect((await tagsOf((await describeRepo(`${ns}/fresh`)).repositoryArn))[OWNER]).toBe(`e2e-east/${ns}/fresh`);
  });
});
