import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsPolicyText, EcrPublicEmulation, imageDimensions, testPng, type Caller } from '../../e2e/env/ecr-public-emulation.js';
import type { EmulatedAnswer } from '../../e2e/env/emulations.js';

// The emulation of Amazon ECR Public in the local AWS layer, checked on its own against the
// examples of the reference (the AWS CLI's documented examples of `aws ecr-public`, which show the
// API's requests and answers) and against its documented limits and errors.

const ACCOUNT = '123456789012';
const NAME = 'project-a/nginx-web-app';
const ARN = `arn:aws:ecr-public::${ACCOUNT}:repository/${NAME}`;

let emulation: EcrPublicEmulation;
let caller: Caller;

function call(operation: string, input: Record<string, unknown> = {}, who: Caller = caller): EmulatedAnswer {
  return emulation.call(operation, input, who);
}

function body(answer: EmulatedAnswer): Record<string, unknown> {
  if (answer.status !== 200) throw new Error(`expected success, got ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

function error(answer: EmulatedAnswer): { type: string; message: string } {
  expect(answer.status).toBe(400);
  expect(answer.errorType).toBe(answer.body.__type);
  return { type: String(answer.body.__type), message: String(answer.body.message) };
}

function alias(): string {
  const registries = body(call('DescribeRegistries')).registries as Array<{ aliases: Array<{ name: string }> }>;
  return registries[0]!.aliases[0]!.name;
}

beforeEach(() => {
  emulation = new EcrPublicEmulation();
  caller = { accountId: ACCOUNT, region: 'us-east-1', now: new Date('2024-07-01T21:08:55.131Z') };
});

describe('ECR Public emulation: the reference examples', () => {
  it('create-repository, example 1: a repository with no catalog data', () => {
    const out = body(call('CreateRepository', { repositoryName: NAME }));
    expect(out).toEqual({
      repository: {
        repositoryArn: ARN,
        registryId: ACCOUNT,
        repositoryName: NAME,
        repositoryUri: `public.ecr.aws/${alias()}/${NAME}`,
        createdAt: Date.parse('2024-07-01T21:08:55.131Z') / 1000,
      },
      catalogData: {},
    });
  });

  it('create-repository, example 2: description, architectures and operating systems are kept as given', () => {
    const catalogData = { description: 'My project-a ECR Public Repository', architectures: ['ARM', 'ARM 64', 'x86', 'x86-64'], operatingSystems: ['Linux'] };
    const out = body(call('CreateRepository', { repositoryName: NAME, catalogData }));
    expect(out.catalogData).toEqual({ ...catalogData, marketplaceCertified: false });
  });

  it('create-repository, example 3: a logo becomes a logoUrl; about and usage text and tags are kept', () => {
    const logo = testPng(120, 120).toString('base64');
    const catalogData = {
      description: 'My project-a ECR Public Repository',
      architectures: ['ARM', 'ARM 64', 'x86', 'x86-64'],
      operatingSystems: ['Linux'],
      logoImageBlob: logo,
      aboutText: '## Quick reference\n\nMaintained by: [the Amazon Linux Team](https://github.com/aws/amazon-linux-docker-images)',
      usageText: '## Supported architectures\n\namd64, arm64v8',
    };
    const tags = [{ Key: 'Name', Value: NAME }, { Key: 'Environment', Value: 'Prod' }];
    const out = body(call('CreateRepository', { repositoryName: NAME, catalogData, tags }));
    const catalog = out.catalogData as Record<string, unknown>;
    expect(catalog.logoUrl).toMatch(/^https:\/\/.+\/logo\/.+\.png$/);
    expect(catalog).not.toHaveProperty('logoImageBlob');
    const { logoImageBlob: _blob, ...rest } = catalogData;
    expect(catalog).toMatchObject(rest);
    // get-repository-catalog-data answers with the same.
    expect(body(call('GetRepositoryCatalogData', { repositoryName: NAME })).catalogData).toEqual(catalog);
    // list-tags-for-resource.
    expect(body(call('ListTagsForResource', { resourceArn: ARN })).tags).toEqual(tags);
  });

  it('put-repository-catalog-data: replaces the catalog data; a logo uploaded again gets a new URL', () => {
    call('CreateRepository', { repositoryName: NAME });
    const logo = testPng(64, 64).toString('base64');
    const first = body(call('PutRepositoryCatalogData', { repositoryName: NAME, catalogData: { description: 'My project-a ECR Public Repository', architectures: ['ARM'], logoImageBlob: logo, aboutText: '## Quick reference.', usageText: '## Supported architectures are as follows.' } }));
    const second = body(call('PutRepositoryCatalogData', { repositoryName: NAME, catalogData: { description: 'only this', logoImageBlob: logo } }));
    const a = first.catalogData as Record<string, unknown>;
    const b = second.catalogData as Record<string, unknown>;
    expect(a.aboutText).toBe('## Quick reference.');
    expect(b).toEqual({ description: 'only this', logoUrl: expect.any(String), marketplaceCertified: false });
    expect(b.logoUrl).not.toBe(a.logoUrl);
    expect(body(call('PutRepositoryCatalogData', { repositoryName: NAME, catalogData: {} })).catalogData).toEqual({});
  });

  it('describe-registries: the account\'s registry with its default alias, assigned with the first repository', () => {
    const before = body(call('DescribeRegistries')).registries as Array<Record<string, unknown>>;
    expect(before[0]).toMatchObject({ registryId: ACCOUNT, aliases: [] });
    call('CreateRepository', { repositoryName: NAME });
    const name = alias();
    expect(name).toMatch(/^[a-z][a-z0-9]{7}$/);
    expect(body(call('DescribeRegistries'))).toEqual({
      registries: [{
        registryId: ACCOUNT,
        registryArn: `arn:aws:ecr-public::${ACCOUNT}:registry/${ACCOUNT}`,
        registryUri: `public.ecr.aws/${name}`,
        verified: false,
        aliases: [{ name, status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }],
      }],
    });
    // The alias is the account's: another account has another.
    call('CreateRepository', { repositoryName: NAME }, { ...caller, accountId: '210987654321' });
    const other = body(call('DescribeRegistries', {}, { ...caller, accountId: '210987654321' })).registries as Array<{ aliases: Array<{ name: string }> }>;
    expect(other[0]!.aliases[0]!.name).not.toBe(name);
  });

  it('describe-repositories, example 1, and delete-repository', () => {
    call('CreateRepository', { repositoryName: NAME });
    const described = body(call('DescribeRepositories', { repositoryNames: [NAME] })).repositories as Array<Record<string, unknown>>;
    expect(described).toEqual([expect.objectContaining({ repositoryArn: ARN, registryId: ACCOUNT, repositoryName: NAME, repositoryUri: `public.ecr.aws/${alias()}/${NAME}` })]);
    expect(body(call('DeleteRepository', { repositoryName: NAME })).repository).toEqual(described[0]);
    expect(error(call('DescribeRepositories', { repositoryNames: [NAME] }))).toEqual({
      type: 'RepositoryNotFoundException',
      message: `The repository with name '${NAME}' does not exist in the registry with id '${ACCOUNT}'`,
    });
  });

  it('set-repository-policy, example 1: ECR answers with the policy in its own formatting, as documented', () => {
    call('CreateRepository', { repositoryName: NAME });
    const policy = {
      Version: '2008-10-17',
      Statement: [{ Sid: 'allow public pull', Effect: 'Allow', Principal: '*', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }],
    };
    const documented = '{\n  "Version" : "2008-10-17",\n  "Statement" : [ {\n    "Sid" : "allow public pull",\n    "Effect" : "Allow",\n    "Principal" : "*",\n    "Action" : [ "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer" ]\n  } ]\n}';
    expect(body(call('SetRepositoryPolicy', { repositoryName: NAME, policyText: JSON.stringify(policy) }))).toEqual({ registryId: ACCOUNT, repositoryName: NAME, policyText: documented });
    expect(body(call('GetRepositoryPolicy', { repositoryName: NAME })).policyText).toBe(documented);
    expect(body(call('DeleteRepositoryPolicy', { repositoryName: NAME })).policyText).toBe(documented);
    expect(error(call('GetRepositoryPolicy', { repositoryName: NAME }))).toEqual({
      type: 'RepositoryPolicyNotFoundException',
      message: `Repository policy does not exist for the repository with name '${NAME}' in the registry with id '${ACCOUNT}'`,
    });
    expect(error(call('DeleteRepositoryPolicy', { repositoryName: NAME })).type).toBe('RepositoryPolicyNotFoundException');
    expect(error(call('SetRepositoryPolicy', { repositoryName: NAME, policyText: '{not json' }))).toEqual({
      type: 'InvalidParameterException',
      message: "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
    });
    expect(awsPolicyText({ a: [], b: {} })).toBe('{\n  "a" : [ ],\n  "b" : { }\n}');
  });

  it('tag-resource, examples 1 and 2, untag-resource and list-tags-for-resource', () => {
    call('CreateRepository', { repositoryName: NAME, tags: [{ Key: 'Environment', Value: 'Prod' }] });
    body(call('TagResource', { resourceArn: ARN, tags: [{ Key: 'stack', Value: 'dev' }] }));
    body(call('TagResource', { resourceArn: ARN, tags: [{ Key: 'key1', Value: 'value1' }, { Key: 'key2', Value: 'value2' }, { Key: 'stack', Value: 'dev1' }] }));
    body(call('UntagResource', { resourceArn: ARN, tagKeys: ['key1', 'key2'] }));
    expect(body(call('ListTagsForResource', { resourceArn: ARN })).tags).toEqual([{ Key: 'Environment', Value: 'Prod' }, { Key: 'stack', Value: 'dev1' }]);
    expect(error(call('TagResource', { resourceArn: `arn:aws:ecr-public::${ACCOUNT}:repository/none`, tags: [] })).type).toBe('RepositoryNotFoundException');
    expect(error(call('ListTagsForResource', { resourceArn: 'not-an-arn' })).type).toBe('InvalidParameterException');
  });

  it('describe-images, example 1: the pushed images with their tags, sizes and media types', () => {
    call('CreateRepository', { repositoryName: NAME });
    const { digest } = pushImage(NAME, 'temp1.0', 1);
    pushImage(NAME, 'temp2.0', 2);
    const details = body(call('DescribeImages', { repositoryName: NAME })).imageDetails as Array<Record<string, unknown>>;
    expect(details).toHaveLength(2);
    expect(details[0]).toEqual({
      registryId: ACCOUNT,
      repositoryName: NAME,
      imageDigest: digest,
      imageTags: ['temp1.0'],
      imageSizeInBytes: 4,
      imagePushedAt: caller.now.getTime() / 1000,
      imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      artifactMediaType: 'application/vnd.docker.container.image.v1+json',
    });
    expect(body(call('DescribeImages', { repositoryName: NAME, imageIds: [{ imageTag: 'temp2.0' }] })).imageDetails).toHaveLength(1);
    expect(error(call('DescribeImages', { repositoryName: NAME, imageIds: [{ imageTag: 'nope' }] })).type).toBe('ImageNotFoundException');
  });
});

/** Uploads a config and a layer and puts a manifest naming them, as a registry client pushes. */
function pushImage(repositoryName: string, tag: string, seed: number): { digest: string } {
  const blobs = [Buffer.from(`{"config":${seed}}`), Buffer.from([seed, seed, seed, seed])];
  const digests = blobs.map((blob) => {
    const { uploadId } = body(call('InitiateLayerUpload', { repositoryName })) as { uploadId: string };
    body(call('UploadLayerPart', { repositoryName, uploadId, partFirstByte: 0, partLastByte: blob.length - 1, layerPartBlob: blob.toString('base64') }));
    const layerDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    return String(body(call('CompleteLayerUpload', { repositoryName, uploadId, layerDigests: [layerDigest] })).layerDigest);
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: blobs[0]!.length, digest: digests[0] },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: blobs[1]!.length, digest: digests[1] }],
  });
  const out = body(call('PutImage', { repositoryName, imageManifest: manifest, imageTag: tag })) as { image: { imageId: { imageDigest: string } } };
  return { digest: out.image.imageId.imageDigest };
}

describe('ECR Public emulation: limits and errors', () => {
  it('exists in us-east-1 only', () => {
    const answer = call('CreateRepository', { repositoryName: NAME }, { ...caller, region: 'eu-west-1' });
    expect(error(answer).type).toBe('UnsupportedCommandException');
    expect(error(answer).message).toContain('eu-west-1');
    expect(error(call('DescribeRegistries', {}, { ...caller, region: 'us-west-2' })).type).toBe('UnsupportedCommandException');
  });

  it('checks repository names as the API does: 2 to 205 characters of its pattern', () => {
    expect(error(call('CreateRepository', { repositoryName: 'a' })).message).toBe("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length between 2 and 205'");
    expect(error(call('CreateRepository', { repositoryName: 'a'.repeat(206) })).type).toBe('InvalidParameterException');
    body(call('CreateRepository', { repositoryName: 'a'.repeat(205) }));
    for (const bad of ['Upper', 'a//b', '-ab', 'ab-', 'a..b', '/ab']) {
      expect([bad, error(call('CreateRepository', { repositoryName: bad })).message]).toEqual([bad, expect.stringContaining('must satisfy regular expression')]);
    }
    expect(error(call('CreateRepository', {})).message).toContain("'repositoryName'");
  });

  it('refuses a second repository of the same name, and an unknown one', () => {
    body(call('CreateRepository', { repositoryName: NAME }));
    expect(error(call('CreateRepository', { repositoryName: NAME }))).toEqual({
      type: 'RepositoryAlreadyExistsException',
      message: `The repository with name '${NAME}' already exists in the registry with id '${ACCOUNT}'`,
    });
    expect(error(call('GetRepositoryCatalogData', { repositoryName: 'other' })).type).toBe('RepositoryNotFoundException');
    // Another account's registry holds nothing of this one's.
    expect(error(call('DescribeRepositories', { repositoryNames: [NAME] }, { ...caller, accountId: '210987654321' })).type).toBe('RepositoryNotFoundException');
    expect(error(call('DescribeRepositories', { registryId: '12' })).type).toBe('InvalidParameterException');
  });

  it('deletes a repository with images only with force', () => {
    call('CreateRepository', { repositoryName: NAME });
    pushImage(NAME, 'v1', 1);
    expect(error(call('DeleteRepository', { repositoryName: NAME }))).toEqual({
      type: 'RepositoryNotEmptyException',
      message: `The repository with name '${NAME}' in registry with id '${ACCOUNT}' cannot be deleted because it still contains images`,
    });
    body(call('DeleteRepository', { repositoryName: NAME, force: true }));
    expect(error(call('DeleteRepository', { repositoryName: NAME })).type).toBe('RepositoryNotFoundException');
  });

  it('checks catalog data against RepositoryCatalogDataInput\'s limits', () => {
    call('CreateRepository', { repositoryName: NAME });
    const put = (catalogData: Record<string, unknown>) => call('PutRepositoryCatalogData', { repositoryName: NAME, catalogData });
    body(put({ description: 'd'.repeat(1024), aboutText: 'a'.repeat(25_600), usageText: 'u'.repeat(25_600) }));
    expect(error(put({ description: 'd'.repeat(1025) })).message).toBe("Invalid parameter at 'catalogData.description' failed to satisfy constraint: 'Member must have length less than or equal to 1024'");
    expect(error(put({ aboutText: 'a'.repeat(25_601) })).message).toContain("'catalogData.aboutText'");
    expect(error(put({ usageText: 'u'.repeat(25_601) })).message).toContain("'catalogData.usageText'");
    expect(error(put({ architectures: Array.from({ length: 51 }, (_, i) => `arch${i}`) })).message).toContain('less than or equal to 50');
    expect(error(put({ operatingSystems: ['x'.repeat(51)] })).message).toContain("'catalogData.operatingSystems.1.member'");
    expect(error(put({ architectures: [''] })).type).toBe('InvalidParameterException');
    // Unsupported architectures and systems are kept (they only do not show as Gallery badges).
    expect(body(put({ architectures: ['RISC-V'], operatingSystems: ['Plan 9'] })).catalogData).toMatchObject({ architectures: ['RISC-V'], operatingSystems: ['Plan 9'] });
    expect(error(call('PutRepositoryCatalogData', { repositoryName: NAME })).message).toContain("'catalogData'");
  });

  it('checks the logo: at most 512,000 bytes, a PNG or JPEG of 60 to 2048 pixels each way', () => {
    call('CreateRepository', { repositoryName: NAME });
    const put = (logo: Buffer | string) => call('PutRepositoryCatalogData', { repositoryName: NAME, catalogData: { logoImageBlob: typeof logo === 'string' ? logo : logo.toString('base64') } });
    body(put(testPng(60, 60)));
    body(put(testPng(2048, 2048)));
    const big = testPng(800, 800, { noise: true });
    expect(big.length).toBeGreaterThan(512_000);
    expect(error(put(big)).message).toBe("Invalid parameter at 'catalogData.logoImageBlob' failed to satisfy constraint: 'Member must have length less than or equal to 512000'");
    expect(error(put(testPng(59, 100))).message).toContain('width must be between 60 and 2048');
    expect(error(put(testPng(100, 2049))).message).toContain('height must be between 60 and 2048');
    expect(error(put(Buffer.from('GIF89a....'))).message).toContain('PNG or JPEG');
    expect(error(put('not base64!')).message).toContain('base64');
    // A JPEG's size comes from its frame header.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x50, 0x00, 0x64, 0x01, 0x01, 0x11, 0x00]);
    expect(imageDimensions(jpeg)).toEqual({ format: 'jpeg', width: 100, height: 80 });
    expect((body(put(jpeg)).catalogData as { logoUrl: string }).logoUrl).toMatch(/\.jpg$/);
  });

  it('checks tags: keys 1-128, values 0-256, no aws: prefix, at most 50 on a repository', () => {
    expect(error(call('CreateRepository', { repositoryName: NAME, tags: [{ Key: 'k'.repeat(129), Value: 'v' }] })).type).toBe('InvalidTagParameterException');
    expect(error(call('CreateRepository', { repositoryName: NAME, tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })).type).toBe('InvalidTagParameterException');
    expect(error(call('CreateRepository', { repositoryName: NAME, tags: [{ Key: 'aws:owner', Value: 'v' }] })).type).toBe('InvalidTagParameterException');
    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: '' }));
    body(call('CreateRepository', { repositoryName: NAME, tags: fifty }));
    expect(error(call('TagResource', { resourceArn: ARN, tags: [{ Key: 'one-more', Value: 'x' }] }))).toEqual({
      type: 'TooManyTagsException',
      message: 'The list of tags on the repository is over the limit. The maximum number of tags that can be applied to a repository is 50.',
    });
    body(call('TagResource', { resourceArn: ARN, tags: [{ Key: 'k0', Value: 'replaced' }] }));
  });

  it('pages DescribeRepositories and DescribeImages as the API does', () => {
    for (let i = 0; i < 105; i++) call('CreateRepository', { repositoryName: `repo-${String(i).padStart(3, '0')}` });
    const first = body(call('DescribeRepositories'));
    expect((first.repositories as unknown[]).length).toBe(100);
    const second = body(call('DescribeRepositories', { nextToken: first.nextToken }));
    expect((second.repositories as unknown[]).length).toBe(5);
    expect(second).not.toHaveProperty('nextToken');
    const small = body(call('DescribeRepositories', { maxResults: 50 }));
    expect((small.repositories as unknown[]).length).toBe(50);
    expect(error(call('DescribeRepositories', { maxResults: 1001 })).message).toContain('between 1 and 1000');
    expect(error(call('DescribeRepositories', { maxResults: 0 })).type).toBe('InvalidParameterException');
    expect(error(call('DescribeRepositories', { nextToken: '%%%' })).message).toContain('nextToken');
    expect(error(call('DescribeRepositories', { repositoryNames: ['repo-000'], maxResults: 5 })).type).toBe('InvalidParameterException');
    expect(error(call('DescribeRepositories', { repositoryNames: Array.from({ length: 101 }, (_, i) => `r${i}x`) })).type).toBe('InvalidParameterException');

    for (let i = 0; i < 3; i++) pushImage('repo-000', `v${i}`, i + 1);
    const images = body(call('DescribeImages', { repositoryName: 'repo-000', maxResults: 2 }));
    expect((images.imageDetails as unknown[]).length).toBe(2);
    expect((body(call('DescribeImages', { repositoryName: 'repo-000', nextToken: images.nextToken })).imageDetails as unknown[]).length).toBe(1);
  });

  it('refuses an image whose layers were not uploaded, and a layer whose digest does not match', () => {
    call('CreateRepository', { repositoryName: NAME });
    const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: 'sha256:aa' }, layers: [{ digest: 'sha256:bb', size: 1 }] });
    expect(error(call('PutImage', { repositoryName: NAME, imageManifest: manifest, imageTag: 'v1' })).type).toBe('LayersNotFoundException');
    const { uploadId } = body(call('InitiateLayerUpload', { repositoryName: NAME })) as { uploadId: string };
    body(call('UploadLayerPart', { repositoryName: NAME, uploadId, partFirstByte: 0, partLastByte: 2, layerPartBlob: Buffer.from('abc').toString('base64') }));
    expect(error(call('CompleteLayerUpload', { repositoryName: NAME, uploadId, layerDigests: ['sha256:00'] })).type).toBe('InvalidLayerException');
    expect(error(call('UploadLayerPart', { repositoryName: NAME, uploadId: 'nope', partFirstByte: 0, partLastByte: 0, layerPartBlob: 'YQ==' })).type).toBe('UploadNotFoundException');
  });

  it('answers an operation it does not emulate with an error that says so', () => {
    expect(error(call('PutRegistryCatalogData', {}))).toEqual({ type: 'UnsupportedCommandException', message: 'PutRegistryCatalogData is not emulated by the local AWS layer' });
  });

  it('answers only ECR Public requests, for the account that signed them', async () => {
    const request = (service: string, accountId: string) => ({
      service, operation: 'CreateRepository', input: { repositoryName: NAME }, accessKeyId: 'test', now: new Date(),
      registry: async () => ({ accountId, region: 'us-east-1' }),
    });
    expect(await emulation.handle(request('ECR', ACCOUNT))).toBeUndefined();
    expect((await emulation.handle(request('SpencerFrontendService', ACCOUNT)))?.status).toBe(200);
    expect((await emulation.handle(request('SpencerFrontendService', '210987654321')))?.status).toBe(200);
    expect((await emulation.handle(request('SpencerFrontendService', ACCOUNT)))?.errorType).toBe('RepositoryAlreadyExistsException');
  });

  it('asks moto as the caller for the account and region when the layer cannot tell them', async () => {
    const asked: Array<[string, string]> = [];
    let layerAsked = 0;
    const viaMoto = (region: string) => ({
      service: 'SpencerFrontendService', operation: 'CreateRepository', input: { repositoryName: NAME }, accessKeyId: 'test', now: new Date(),
      registry: async () => (layerAsked++, undefined),
      moto: async (target: string, signingName: string) => {
        asked.push([target, signingName]);
        return { status: 200, body: { authorizationData: [{ proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${region}.amazonaws.com` }] } };
      },
    });
    expect((await emulation.handle(viaMoto('us-east-1')))?.status).toBe(200);
    expect(asked).toEqual([['AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', 'ecr']]);
    expect(body(call('DescribeRepositories', { repositoryNames: [NAME] })).repositories).toHaveLength(1);
    expect((await emulation.handle(viaMoto('eu-west-1')))?.errorType).toBe('UnsupportedCommandException');
    // The layer that could not tell once is not asked again.
    expect(layerAsked).toBe(1);
    const lost = { ...viaMoto('us-east-1'), moto: async () => ({ status: 500, body: {} }) };
    expect((await emulation.handle(lost))?.errorType).toBe('ServerException');
  });
});
