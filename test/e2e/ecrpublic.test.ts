import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPng } from './env/ecr-public-emulation.js';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, waitForGone, waitForReady, type Resource } from './support/scenario.js';

// The ECRPublicRepository lifecycle, end to end: the operator as a process under the RBAC it ships
// with, against a real API server and the local AWS layer's ECR Public (moto has none); checked with
// kubectl and `aws ecr-public` as a user would. The provider names eu-west-1: ECR Public is called
// in us-east-1 all the same.

const OWNER = 'aws-infra-operator.runner.codes/owner';
const ADOPT = 'aws-infra-operator.runner.codes/adopt';
const SYNC_SECONDS = 6;
const PUBLIC = 'SpencerFrontendService:';
const MUTATING = ['CreateRepository', 'DeleteRepository', 'PutRepositoryCatalogData', 'SetRepositoryPolicy', 'DeleteRepositoryPolicy', 'TagResource', 'UntagResource'];

const pushPolicy = (role: string) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'push', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::123456789012:role/${role}` }, Action: ['ecr-public:PutImage', 'ecr-public:InitiateLayerUpload'] }],
});

function indent(text: string, spaces: number): string {
  return text.split('\n').map((l) => ' '.repeat(spaces) + l).join('\n');
}

function publicYaml(namespace: string, name: string, spec: string, annotations: Record<string, string> = {}): string {
  const meta = Object.keys(annotations).length
    ? `  annotations:\n${Object.entries(annotations).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}\n`
    : '';
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRPublicRepository
metadata:
  name: ${name}
  namespace: ${namespace}
${meta}spec:
  providerRef:
    name: aws
${indent(spec.trim(), 2)}
`;
}

/** A provider with static keys in eu-west-1: its region is not ECR Public's. */
function providerYaml(namespace: string): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: aws-credentials
  namespace: ${namespace}
type: Opaque
stringData:
  access-key-id: test
  secret-access-key: test
---
apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: AWSProvider
metadata:
  name: aws
  namespace: ${namespace}
spec:
  region: eu-west-1
  accessKeyIDRef:
    name: aws-credentials
    key: access-key-id
  secretAccessKeyRef:
    name: aws-credentials
    key: secret-access-key
  defaultTags:
    managed-by: infra-operator
`;
}

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('ECRPublicRepository lifecycle', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-ecrpublic-'));
  let ns: string;
  let operator: OperatorProcess;

  const pub = (args: string[]) => aws.json(['ecr-public', ...args, '--region', 'us-east-1']);
  const attempt = (args: string[]) => aws.attempt(['ecr-public', ...args, '--region', 'us-east-1']);
  const getObj = (name: string) => kubectl.getJson<Resource>(['ecrpublicrepository', name, '-n', ns]);
  const describeRepo = async (name: string) =>
    (await pub(['describe-repositories', '--repository-names', name]) as { repositories: Array<{ repositoryArn: string; repositoryUri: string }> }).repositories[0]!;
  const catalogOf = async (name: string) =>
    (await pub(['get-repository-catalog-data', '--repository-name', name]) as { catalogData: Record<string, unknown> }).catalogData;
  const policyOf = async (name: string) => {
    const r = await attempt(['get-repository-policy', '--repository-name', name]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { policyText: string }).policyText : undefined;
  };
  const tagsOf = async (arn: string) => Object.fromEntries(
    (await pub(['list-tags-for-resource', '--resource-arn', arn]) as { tags: Array<{ Key: string; Value: string }> }).tags.map((t) => [t.Key, t.Value]),
  );
  const sameJson = (a: string | undefined, b: string) => a !== undefined && JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  /** ECR Public calls since `before`, by operation. */
  const publicCallsSince = async (before: Record<string, number>) => {
    const after = await aws.calls();
    return Object.fromEntries(Object.entries(after).filter(([k]) => k.startsWith(PUBLIC)).map(([k, v]) => [k.slice(PUBLIC.length), v - (before[k] ?? 0)] as const).filter(([, v]) => v > 0));
  };
  const mutatingCalls = async () => {
    let sum = 0;
    for (const op of MUTATING) sum += await operator.metricValue('aws_api_calls_total', { service: 'ECRPublic', operation: op });
    return sum;
  };
  /**
   * A logo ConfigMap made as a user makes one, from a file (created or replaced; server-side, since a
   * logo near the limit does not fit the last-applied annotation of a client-side apply).
   */
  const logoConfigMap = async (name: string, png: Buffer) => {
    const file = path.join(scratch, `${name}.png`);
    writeFileSync(file, png);
    const yaml = await kubectl.ok(['create', 'configmap', name, '-n', ns, `--from-file=logo.png=${file}`, '--dry-run=client', '-o', 'yaml']);
    await kubectl.ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], yaml);
  };
  const forceSync = (name: string) => kubectl.ok(['annotate', 'ecrpublicrepository', name, '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);

  /** Pushes one image with awscli: a config and a layer uploaded, then the manifest. */
  async function pushImage(repositoryName: string, tag: string, seed: number): Promise<void> {
    const blobs = [Buffer.from(JSON.stringify({ architecture: 'amd64', seed })), Buffer.from(`layer ${seed}`)];
    const digests: string[] = [];
    for (const [i, blob] of blobs.entries()) {
      const file = path.join(scratch, `blob-${seed}-${i}`);
      writeFileSync(file, blob);
      const { uploadId } = await pub(['initiate-layer-upload', '--repository-name', repositoryName]) as { uploadId: string };
      await pub(['upload-layer-part', '--repository-name', repositoryName, '--upload-id', uploadId, '--part-first-byte', '0', '--part-last-byte', String(blob.length - 1), '--layer-part-blob', `fileb://${file}`]);
      const digest = digestOf(blob);
      await pub(['complete-layer-upload', '--repository-name', repositoryName, '--upload-id', uploadId, '--layer-digests', digest]);
      digests.push(digest);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: blobs[0]!.length, digest: digests[0] },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: blobs[1]!.length, digest: digests[1] }],
    });
    await pub(['put-image', '--repository-name', repositoryName, '--image-tag', tag, '--image-manifest', manifest]);
  }

  beforeAll(async () => {
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'ecrpub');
    await kubectl.apply(providerYaml(ns));
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`, '--secret-poll-period=2s'] });
    await waitForReady(kubectl, 'awsprovider', ns, 'aws');
  });

  afterAll(async () => {
    await operator?.stop();
  });

  const logo = testPng(120, 120);
  const full = (name: string) => `
repositoryName: ${name}
catalogData:
  description: A web server for project A
  aboutText: "## About\\n\\nMaintained by the platform team."
  usageText: "## Usage\\n\\ndocker pull public.ecr.aws/<alias>/${name}"
  architectures: [x86-64, ARM 64]
  operatingSystems: [Linux]
  logo:
    configMapKeyRef:
      name: web-logo
      key: logo.png
repositoryPolicy: '${pushPolicy('ci')}'
tags:
  project: a
deletionPolicy: Delete
forceDelete: true
`;

  it('creates a public repository with full catalog data, in us-east-1 whatever the provider\'s region', async () => {
    const name = `${ns}/web`;
    await logoConfigMap('web-logo', logo);
    const before = await aws.calls();
    await kubectl.apply(publicYaml(ns, 'web', full(name)));
    const obj = await waitForReady(kubectl, 'ecrpublicrepository', ns, 'web');
    const calls = await publicCallsSince(before);
    console.log(`AWS calls to create one full-spec public repository: ${Object.values(calls).reduce((s, v) => s + v, 0)} ${JSON.stringify(calls)}`);
    // One call per thing to set: catalog data, logo and tags go with CreateRepository.
    expect(calls).toEqual({ CreateRepository: 1, SetRepositoryPolicy: 1 });

    const live = await describeRepo(name);
    const registries = await pub(['describe-registries']) as { registries: Array<{ aliases: Array<{ name: string }> }> };
    const alias = registries.registries[0]!.aliases[0]!.name;
    expect(live.repositoryUri).toBe(`public.ecr.aws/${alias}/${name}`);
    const catalog = await catalogOf(name);
    expect(catalog).toMatchObject({
      description: 'A web server for project A',
      aboutText: '## About\n\nMaintained by the platform team.',
      architectures: ['x86-64', 'ARM 64'],
      operatingSystems: ['Linux'],
      logoUrl: expect.stringMatching(/\.png$/),
    });
    expect(sameJson(await policyOf(name), pushPolicy('ci'))).toBe(true);
    expect(await tagsOf(live.repositoryArn)).toEqual({ project: 'a', 'managed-by': 'infra-operator', [OWNER]: `${ns}/web` });

    expect(obj.status).toMatchObject({
      ready: true,
      repositoryArn: live.repositoryArn,
      repositoryUri: `public.ecr.aws/${alias}/${name}`,
      registryAlias: alias,
      registryId: '123456789012',
      imageCount: 0,
      logoUrl: catalog.logoUrl,
      logoDigest: digestOf(logo),
      observedGeneration: obj.metadata.generation,
    });
    expect(condition(obj, 'Reconciling')).toBeUndefined();
    expect(await kubectl.ok(['describe', 'ecrpublicrepository', 'web', '-n', ns])).toMatch(/Created\s+.*created ECR Public repository/);
    const table = await kubectl.ok(['get', 'ecrpub', '-n', ns]);
    expect(table.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'READY', 'REPOSITORY', 'URI', 'IMAGES', 'AGE']);
    expect(table).toMatch(new RegExp(`web\\s+true\\s+${name.replace('/', '\\/')}\\s+public\\.ecr\\.aws/${alias}/`));
  });

  it('says in kubectl explain that the provider\'s region does not matter', async () => {
    const explain = async (p: string) => (await kubectl.ok(['explain', p])).replace(/\s+/g, ' ');
    expect(await explain('ecrpublicrepository')).toContain("us-east-1 only: the operator always calls it there, and the provider's region does not matter");
    expect(await explain('ecrpub.spec.providerRef')).toContain('Its region does not matter');
    expect(await explain('ecrpublicrepository.spec.catalogData.logo')).toContain('512000 bytes');
  });

  it('makes no mutating AWS call for an unchanged repository across periodic syncs, and reads ECR Public a few times per sync', async () => {
    await waitForReady(kubectl, 'ecrpublicrepository', ns, 'web');
    const syncsBefore = await operator.metricValue('controller_runtime_reconcile_total', { controller: 'ecrpublicrepository' });
    const mutatingBefore = await mutatingCalls();
    const before = await aws.calls();
    await new Promise((r) => setTimeout(r, (SYNC_SECONDS * 2 + 2) * 1000));
    const syncs = (await operator.metricValue('controller_runtime_reconcile_total', { controller: 'ecrpublicrepository' })) - syncsBefore;
    expect(syncs).toBeGreaterThan(0);
    expect(await mutatingCalls()).toBe(mutatingBefore);
    const calls = await publicCallsSince(before);
    const total = Object.values(calls).reduce((s, v) => s + v, 0);
    console.log(`AWS calls per periodic sync of an unchanged public repository: ${(total / syncs).toFixed(2)} over ${syncs} syncs ${JSON.stringify(calls)}`);
    expect(Object.keys(calls).sort()).toEqual(['DescribeImages', 'DescribeRepositories', 'GetRepositoryCatalogData', 'GetRepositoryPolicy', 'ListTagsForResource']);
  });

  it('carries a change of each field to ECR Public, and removes what the spec drops', async () => {
    const name = `${ns}/web`;
    await kubectl.ok(['patch', 'ecrpublicrepository', 'web', '-n', ns, '--type=merge', '-p', JSON.stringify({
      spec: {
        catalogData: { description: 'Changed', aboutText: '## New about', usageText: '## New usage', architectures: ['ARM'], operatingSystems: ['Linux', 'Windows'] },
        repositoryPolicy: pushPolicy('release'),
        tags: { project: null, team: 'platform' },
      },
    })]);
    await eventually('the patch to reach ECR Public', async () => {
      const catalog = await catalogOf(name);
      const tags = await tagsOf((await describeRepo(name)).repositoryArn);
      return catalog.description === 'Changed' && catalog.aboutText === '## New about' && catalog.usageText === '## New usage' &&
        JSON.stringify(catalog.architectures) === '["ARM"]' && JSON.stringify(catalog.operatingSystems) === '["Linux","Windows"]' &&
        typeof catalog.logoUrl === 'string' && sameJson(await policyOf(name), pushPolicy('release')) &&
        tags.team === 'platform' && !('project' in tags) || undefined;
    }, 30_000);
    expect(await kubectl.ok(['describe', 'ecrpublicrepository', 'web', '-n', ns])).toMatch(/Updated\s+.*catalog data \(description, aboutText, usageText, architectures, operatingSystems\)/);

    // A new logo in its ConfigMap is uploaded on the next sync (here: at once, with a force-sync).
    const before = (await getObj('web')).status?.logoUrl;
    const second = testPng(200, 100);
    await logoConfigMap('web-logo', second);
    await forceSync('web');
    const relogged = await eventually('the new logo to be uploaded', async () => {
      const o = await getObj('web');
      return o.status?.logoDigest === digestOf(second) && o.status.ready === true ? o : undefined;
    }, 30_000);
    expect(relogged.status?.logoUrl).not.toBe(before);
    expect((await catalogOf(name)).logoUrl).toBe(relogged.status?.logoUrl);

    // Dropping the logo and the policy removes them.
    await kubectl.ok(['patch', 'ecrpublicrepository', 'web', '-n', ns, '--type=json', '-p', JSON.stringify([
      { op: 'remove', path: '/spec/catalogData/logo' },
      { op: 'remove', path: '/spec/repositoryPolicy' },
    ])]);
    await eventually('the logo and policy to be removed', async () =>
      (await catalogOf(name)).logoUrl === undefined && (await policyOf(name)) === undefined || undefined, 30_000);
    const obj = await waitForReady(kubectl, 'ecrpublicrepository', ns, 'web');
    expect(obj.status?.logoDigest).toBeUndefined();
  });

  it('reverts drift made with aws ecr-public on a force-sync', async () => {
    const name = `${ns}/drift`;
    await logoConfigMap('drift-logo', logo);
    await kubectl.apply(publicYaml(ns, 'drift', full(name).replace('web-logo', 'drift-logo')));
    const ready = await waitForReady(kubectl, 'ecrpublicrepository', ns, 'drift');
    const arn = (await describeRepo(name)).repositoryArn;
    // PutRepositoryCatalogData replaces the whole catalog data: the logo goes too. (The periodic
    // sync may revert some of it before the force-sync does: either way it comes back.)
    const defaced = await pub(['put-repository-catalog-data', '--repository-name', name, '--catalog-data', JSON.stringify({ description: 'defaced', architectures: ['x86'] })]) as { catalogData: Record<string, unknown> };
    expect(defaced.catalogData).toEqual({ description: 'defaced', architectures: ['x86'], marketplaceCertified: false });
    await pub(['set-repository-policy', '--repository-name', name, '--policy-text', pushPolicy('intruder')]);
    await pub(['tag-resource', '--resource-arn', arn, '--tags', 'Key=project,Value=hacked', 'Key=stray,Value=x']);

    await forceSync('drift');
    await eventually('the drift to be reverted', async () => {
      const catalog = await catalogOf(name);
      const tags = await tagsOf(arn);
      return catalog.description === 'A web server for project A' && JSON.stringify(catalog.architectures) === '["x86-64","ARM 64"]' &&
        typeof catalog.logoUrl === 'string' && catalog.logoUrl !== ready.status?.logoUrl &&
        sameJson(await policyOf(name), pushPolicy('ci')) && tags.project === 'a' && !('stray' in tags) || undefined;
    }, 20_000);
    const obj = await waitForReady(kubectl, 'ecrpublicrepository', ns, 'drift');
    expect(obj.status?.logoUrl).toBe((await catalogOf(name)).logoUrl);
  });

  it('refuses bad input with a message naming the field: an unknown architecture at the API server, a logo too large before any AWS call', async () => {
    const refused = await kubectl.run(['apply', '-f', '-'], publicYaml(ns, 'bad-arch', `repositoryName: ${ns}/bad-arch\ncatalogData:\n  architectures: [RISC-V]\n`));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('spec.catalogData.architectures[0]');
    expect(refused.stderr).toContain('supported values: "ARM", "ARM 64", "x86", "x86-64"');
    const tooLong = await kubectl.run(['apply', '-f', '-'], publicYaml(ns, 'bad-desc', `repositoryName: ${ns}/bad-desc\ncatalogData:\n  description: ${'d'.repeat(1025)}\n`));
    expect(tooLong.stderr).toContain('spec.catalogData.description');
    const twoLogos = await kubectl.run(['apply', '-f', '-'], publicYaml(ns, 'bad-logo', `repositoryName: ${ns}/bad-logo\ncatalogData:\n  logo:\n    configMapKeyRef: {name: a, key: b}\n    secretKeyRef: {name: a, key: b}\n`));
    expect(twoLogos.stderr).toContain('spec.catalogData.logo must name exactly one of configMapKeyRef and secretKeyRef');

    const big = testPng(800, 800, { noise: true });
    expect(big.length).toBeGreaterThan(512_000);
    await logoConfigMap('big-logo', big);
    const before = await aws.calls();
    await kubectl.apply(publicYaml(ns, 'big', `repositoryName: ${ns}/big\ncatalogData:\n  logo:\n    configMapKeyRef:\n      name: big-logo\n      key: logo.png\n`));
    const obj = await waitForReady(kubectl, 'ecrpublicrepository', ns, 'big', { status: 'False', reason: 'InvalidSpec' });
    expect(condition(obj, 'Ready')?.message).toMatch(/^spec\.catalogData\.logo: key "logo.png" of ConfigMap .+\/big-logo holds \d+ bytes, more than ECR Public's limit of 512000 bytes/);
    expect(condition(obj, 'Stalled')?.status).toBe('True');
    // No CreateRepository was sent (other objects' periodic syncs still read ECR Public meanwhile).
    expect((await publicCallsSince(before)).CreateRepository).toBeUndefined();
    expect((await attempt(['describe-repositories', '--repository-names', `${ns}/big`])).stderr).toContain('RepositoryNotFoundException');

    // Fixed in the ConfigMap: the object goes ahead by itself.
    await logoConfigMap('big-logo', logo);
    await waitForReady(kubectl, 'ecrpublicrepository', ns, 'big', {}, 150_000);
  });

  describe('ownership', () => {
    it('adopts an unowned repository only with the adopt annotation', async () => {
      const name = `${ns}/legacy`;
      await pub(['create-repository', '--repository-name', name, '--catalog-data', 'description=old', '--tags', 'Key=team,Value=legacy']);
      await kubectl.apply(publicYaml(ns, 'legacy', `repositoryName: ${name}\ncatalogData:\n  description: adopted\ntags:\n  team: legacy\n`));
      const refused = await waitForReady(kubectl, 'ecrpublicrepository', ns, 'legacy', { status: 'False', reason: 'AlreadyExists' });
      expect(condition(refused, 'Stalled')?.status).toBe('True');
      expect(condition(refused, 'Ready')?.message).toContain(ADOPT);
      expect((await catalogOf(name)).description).toBe('old');

      await kubectl.ok(['annotate', 'ecrpublicrepository', 'legacy', '-n', ns, `${ADOPT}=true`]);
      await waitForReady(kubectl, 'ecrpublicrepository', ns, 'legacy');
      expect((await tagsOf((await describeRepo(name)).repositoryArn))[OWNER]).toBe(`${ns}/legacy`);
      expect((await catalogOf(name)).description).toBe('adopted');
      expect(await kubectl.ok(['describe', 'ecrpublicrepository', 'legacy', '-n', ns])).toMatch(/Adopted/);
    });

    it('changes nothing in a repository another object owns (AlreadyOwned)', async () => {
      const name = `${ns}/taken`;
      await pub(['create-repository', '--repository-name', name, '--catalog-data', 'description=theirs', '--tags', `Key=${OWNER},Value=${ns}/first`]);
      await kubectl.apply(publicYaml(ns, 'second', `repositoryName: ${name}\ncatalogData:\n  description: mine\n`, { [ADOPT]: 'true' }));
      const second = await waitForReady(kubectl, 'ecrpublicrepository', ns, 'second', { status: 'False', reason: 'AlreadyOwned' });
      expect(condition(second, 'Ready')?.message).toContain(`ECRPublicRepository ${ns}/first`);
      expect(condition(second, 'Stalled')?.status).toBe('True');
      await new Promise((r) => setTimeout(r, SYNC_SECONDS * 1000 + 2000));
      expect((await catalogOf(name)).description).toBe('theirs');
      expect((await tagsOf((await describeRepo(name)).repositoryArn))[OWNER]).toBe(`${ns}/first`);
    });
  });

  describe('deletion policies', () => {
    async function createThenDelete(name: string, spec: string, images = 0): Promise<string> {
      const repoName = `${ns}/${name}`;
      await kubectl.apply(publicYaml(ns, name, `repositoryName: ${repoName}\n${spec}\ntags:\n  team: platform\n`));
      await waitForReady(kubectl, 'ecrpublicrepository', ns, name);
      for (let i = 0; i < images; i++) await pushImage(repoName, `v${i}`, i + 1);
      if (images > 0) {
        await forceSync(name);
        await eventually('the images to be counted', async () => ((await getObj(name)).status?.imageCount === images ? true : undefined), 20_000);
      }
      await kubectl.ok(['delete', 'ecrpublicrepository', name, '-n', ns, '--wait=false']);
      return repoName;
    }

    it('Delete deletes the repository; with images only once forceDelete is set', async () => {
      const empty = await createThenDelete('del', 'deletionPolicy: Delete');
      await waitForGone(kubectl, 'ecrpublicrepository', ns, 'del');
      expect((await attempt(['describe-repositories', '--repository-names', empty])).stderr).toContain('RepositoryNotFoundException');

      const full = await createThenDelete('del-images', 'deletionPolicy: Delete', 2);
      const waiting = await eventually('the deletion to wait on the images', async () => {
        const o = await getObj('del-images');
        return condition(o, 'Ready')?.reason === 'RepositoryNotEmpty' ? o : undefined;
      }, 30_000);
      expect(condition(waiting, 'Stalled')?.status).toBe('True');
      expect(condition(waiting, 'Ready')?.message).toContain('spec.forceDelete');
      expect((await describeRepo(full)).repositoryArn).toContain(full);

      await kubectl.ok(['patch', 'ecrpublicrepository', 'del-images', '-n', ns, '--type=merge', '-p', '{"spec":{"forceDelete":true}}']);
      await waitForGone(kubectl, 'ecrpublicrepository', ns, 'del-images');
      expect((await attempt(['describe-repositories', '--repository-names', full])).stderr).toContain('RepositoryNotFoundException');
    });

    it('Retain leaves the repository untouched, owner tag included', async () => {
      const repoName = await createThenDelete('keep', 'deletionPolicy: Retain', 1);
      await waitForGone(kubectl, 'ecrpublicrepository', ns, 'keep');
      expect(await tagsOf((await describeRepo(repoName)).repositoryArn)).toMatchObject({ team: 'platform', [OWNER]: `${ns}/keep` });
      const images = await pub(['describe-images', '--repository-name', repoName]) as { imageDetails: unknown[] };
      expect(images.imageDetails).toHaveLength(1);
    });

    it('Orphan leaves the repository and removes the ownership tag', async () => {
      const repoName = await createThenDelete('orphan', 'deletionPolicy: Orphan');
      await waitForGone(kubectl, 'ecrpublicrepository', ns, 'orphan');
      const tags = await tagsOf((await describeRepo(repoName)).repositoryArn);
      expect(tags.team).toBe('platform');
      expect(tags[OWNER]).toBeUndefined();
    });
  });
});
