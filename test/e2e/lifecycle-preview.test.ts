import { createHash } from 'node:crypto';
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForReady, type Resource } from './support/scenario.js';

// The lifecycle preview, its safety gate and the image inventory in status, end to end.

const SYNC_SECONDS = 6;

interface Status {
  imageCount?: number;
  archivedImageCount?: number;
  imageSizeBytes?: number;
  lastImagePushedAt?: string;
  lifecyclePreview?: { imagesToExpire: number; imagesToArchive: number; evaluatedAt: string; sample: string[] };
}

/** A distinct manifest; moto reports the config size as the image size. */
function manifest(seed: string, size: number): string {
  const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size, digest: digest(`config-${seed}`) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1, digest: digest(`layer-${seed}`) }],
  });
}

const keepTenReleases = JSON.stringify({
  rules: [{ rulePriority: 1, description: 'Keep 10 release images', selection: { tagStatus: 'tagged', tagPatternList: ['release-*'], countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }],
});

function repositoryYaml(namespace: string, name: string, spec: string): string {
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  providerRef:
    name: aws
${spec.trim().split('\n').map((l) => `  ${l}`).join('\n')}
`;
}

describe('lifecycle preview, its gate, and the image inventory', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let ns: string;
  let operator: OperatorProcess;
  let client: ECRClient;

  const status = async (name: string) => ((await kubectl.getJson<Resource>(['ecrrepository', name, '-n', ns])).status ?? {}) as Status;
  const push = async (repositoryName: string, tags: string[], size: (i: number) => number) => {
    for (let start = 0; start < tags.length; start += 25) {
      await Promise.all(tags.slice(start, start + 25).map((tag, j) =>
        client.send(new PutImageCommand({ repositoryName, imageManifest: manifest(`${repositoryName}-${tag}`, size(start + j)), imageTag: tag }))));
    }
  };

  beforeAll(async () => {
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'preview');
    await kubectl.apply(staticProviderYaml(ns, 'aws'));
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`] });
    await waitForReady(kubectl, 'awsprovider', ns, 'aws');
    client = new ECRClient({ endpoint: env.awsEndpoint, region: env.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });

  afterAll(async () => {
    client?.destroy();
    await operator?.stop();
  });

  const releases = Array.from({ length: 30 }, (_, i) => `release-${i + 1}`);

  it('previews a policy keeping 10 of 30 release images: 20 to expire, and applies it', async () => {
    const name = `${ns}/kept`;
    await kubectl.apply(repositoryYaml(ns, 'kept', `repositoryName: ${name}\ndeletionPolicy: Delete\n`));
    await waitForReady(kubectl, 'ecrrepository', ns, 'kept');
    await push(name, releases, () => 100);
    await kubectl.apply(repositoryYaml(ns, 'kept', `repositoryName: ${name}\ndeletionPolicy: Delete\nlifecyclePolicy:\n  policyText: '${keepTenReleases}'\n`));
    const s = await eventually('the preview', async () => {
      const st = await status('kept');
      return st.lifecyclePreview?.imagesToExpire === 20 ? st : undefined;
    }, 60_000);
    expect(s.lifecyclePreview?.imagesToArchive).toBe(0);
    expect(s.lifecyclePreview?.sample).toHaveLength(10);
    expect((await aws.attempt(['ecr', 'get-lifecycle-policy', '--repository-name', name])).code).toBe(0);
    expect(await kubectl.ok(['describe', 'ecrrepository', 'kept', '-n', ns])).toMatch(/would expire 20/);
  });

  it('does not apply a policy that would expire more than maxImagesToExpire', async () => {
    const name = `${ns}/gated`;
    await kubectl.apply(repositoryYaml(ns, 'gated', `repositoryName: ${name}\ndeletionPolicy: Delete\n`));
    await waitForReady(kubectl, 'ecrrepository', ns, 'gated');
    await push(name, releases, () => 100);
    // The rest of the spec (scanOnPush) still applies; only the policy is held back.
    await kubectl.apply(repositoryYaml(ns, 'gated', `repositoryName: ${name}\ndeletionPolicy: Delete\nscanOnPush: true\nlifecyclePolicy:\n  maxImagesToExpire: 5\n  policyText: '${keepTenReleases}'\n`));
    const obj = await waitForReady(kubectl, 'ecrrepository', ns, 'gated', { status: 'False', reason: 'LifecyclePolicyUnsafe' });
    expect(condition(obj, 'Stalled')?.status).toBe('True');
    expect(condition(obj, 'Ready')?.message).toContain('20');
    expect((await aws.attempt(['ecr', 'get-lifecycle-policy', '--repository-name', name])).stderr).toContain('LifecyclePolicyNotFoundException');
    const described = await aws.json<{ repositories: Array<{ imageScanningConfiguration: { scanOnPush: boolean } }> }>(['ecr', 'describe-repositories', '--repository-names', name]);
    expect(described.repositories[0]?.imageScanningConfiguration.scanOnPush).toBe(true);
    const s = await status('gated');
    expect(s.lifecyclePreview?.imagesToExpire).toBe(20);
    expect(s.imageCount).toBe(30);

    // Raising the limit lets the policy through.
    await kubectl.apply(repositoryYaml(ns, 'gated', `repositoryName: ${name}\ndeletionPolicy: Delete\nscanOnPush: true\nlifecyclePolicy:\n  maxImagesToExpire: 20\n  policyText: '${keepTenReleases}'\n`));
    const ready = await waitForReady(kubectl, 'ecrrepository', ns, 'gated');
    expect(condition(ready, 'Stalled')?.status ?? 'False').toBe('False');
    expect((await aws.attempt(['ecr', 'get-lifecycle-policy', '--repository-name', name])).code).toBe(0);
  });

  it('reports 1,050 images and their summed size after a force-sync', async () => {
    const name = `${ns}/inventory`;
    await kubectl.apply(repositoryYaml(ns, 'inventory', `repositoryName: ${name}\ndeletionPolicy: Delete\n`));
    await waitForReady(kubectl, 'ecrrepository', ns, 'inventory');
    await push(name, Array.from({ length: 1050 }, (_, i) => `v${i}`), (i) => 1000 + i);
    await kubectl.ok(['annotate', 'ecrrepository', 'inventory', '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);
    const s = await eventually('the inventory', async () => {
      const st = await status('inventory');
      return st.imageCount === 1050 ? st : undefined;
    }, 60_000);
    expect(s.imageSizeBytes).toBe(1050 * 1000 + (1049 * 1050) / 2);
    expect(s.archivedImageCount).toBe(0);
    expect(s.lastImagePushedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
