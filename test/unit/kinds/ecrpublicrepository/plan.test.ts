import { describe, expect, it } from 'vitest';
import { OWNER_TAG } from '../../../../src/api/types.js';
import { aliasOfUri } from '../../../../src/aws/ecr-public.js';
import { imageSize, LOGO_MAX_BYTES, logoProblem, readLogo } from '../../../../src/kinds/ecrpublicrepository/logo.js';
import {
  catalogDifferences,
  changesBetween,
  desiredPublicRepository,
  ownerForTenant,
  ownershipOf,
  providerMoved,
  repositoryAccount,
} from '../../../../src/kinds/ecrpublicrepository/plan.js';
import { validateECRPublicRepositorySpec } from '../../../../src/kinds/ecrpublicrepository/validation.js';
import { testPng } from '../../../e2e/env/ecr-public-emulation.js';
import { FakeObjects, LOGO, publicRepository } from './fakes.js';

const logo = { bytes: LOGO, digest: 'sha256:aa', format: 'png' as const, width: 64, height: 64 };

describe('catalog data comparison', () => {
  const obj = publicRepository({ catalogData: { description: 'd', architectures: ['ARM', 'x86'], operatingSystems: ['Linux'] } });
  const desired = desiredPublicRepository(obj, { team: 'x' }, undefined, logo);

  it('compares texts as they are, lists as sets, and the logo by what was uploaded', () => {
    const uploaded = { logoDigest: 'sha256:aa', logoUrl: 'https://l/1.png' };
    expect(catalogDifferences(desired, { description: 'd', architectures: ['x86', 'ARM'], operatingSystems: ['Linux'], logoUrl: 'https://l/1.png' }, uploaded)).toEqual([]);
    expect(catalogDifferences(desired, { description: 'd ', architectures: ['x86'], logoUrl: 'https://l/1.png' }, uploaded)).toEqual(['description', 'architectures', 'operatingSystems']);
    // Another logo uploaded outside (another URL), a logo never uploaded, one removed outside.
    expect(catalogDifferences(desired, { description: 'd', architectures: ['ARM', 'x86'], operatingSystems: ['Linux'], logoUrl: 'https://l/2.png' }, uploaded)).toEqual(['logo']);
    expect(catalogDifferences(desired, { description: 'd', architectures: ['ARM', 'x86'], operatingSystems: ['Linux'], logoUrl: 'https://l/1.png' }, {})).toEqual(['logo']);
    expect(catalogDifferences(desired, { description: 'd', architectures: ['ARM', 'x86'], operatingSystems: ['Linux'] }, uploaded)).toEqual(['logo']);
    // No logo wanted: one this object uploaded is removed; one set outside is left alone.
    const plain = desiredPublicRepository(obj, undefined, undefined, undefined);
    expect(catalogDifferences(plain, { description: 'd', architectures: ['ARM', 'x86'], operatingSystems: ['Linux'], logoUrl: 'https://l/1.png' }, uploaded)).toEqual(['logo']);
    expect(catalogDifferences(plain, { description: 'd', architectures: ['ARM', 'x86'], operatingSystems: ['Linux'], logoUrl: 'https://l/9.png' }, {})).toEqual([]);
  });

  it('puts the whole catalog data with the logo when anything differs; tags merged over defaultTags with the owner tag', () => {
    expect(desired.tags).toEqual({ team: 'x', [OWNER_TAG]: 'team/web' });
    const changes = changesBetween(desired, { tags: { team: 'x', [OWNER_TAG]: 'team/web', 'aws:cloudformation:stack': 's', old: '1' }, catalog: { description: 'other' }, imageCount: 0 }, {});
    expect(changes.catalog).toEqual({ description: 'd', architectures: ['ARM', 'x86'], operatingSystems: ['Linux'], logo: LOGO });
    expect(changes.tagKeysToRemove).toEqual(['old']);
    expect(changes.tagsToSet).toBeUndefined();
  });
});

describe('ownership', () => {
  const obj = publicRepository({}, { namespace: 'team', name: 'web' });
  it('is decided as for ECRRepository', () => {
    expect(ownershipOf({ [OWNER_TAG]: 'team/web' }, obj)).toBe('ours');
    expect(ownershipOf({}, obj)).toBe('unowned');
    expect(ownershipOf({}, { ...obj, status: { repositoryArn: 'arn:x' } }, { liveArn: 'arn:x' })).toBe('recorded');
    expect(ownershipOf({ [OWNER_TAG]: 'team/web' }, obj, { clusterName: 'c1' })).toEqual({ otherOwner: 'team/web', legacyOfThisName: true });
    expect(ownershipOf({ [OWNER_TAG]: 'team/web' }, { ...obj, status: { repositoryArn: 'arn:x' } }, { clusterName: 'c1', liveArn: 'arn:x' })).toBe('legacy');
    expect(ownerForTenant('team/other', obj)).toBe('ECRPublicRepository team/other');
    expect(ownerForTenant('elsewhere/other', obj)).toBe('another object');
  });

  it('reads the account of an ECR Public ARN and stops when the provider moved to another', () => {
    expect(repositoryAccount('arn:aws:ecr-public::123456789012:repository/a/b')).toBe('123456789012');
    expect(repositoryAccount('arn:aws:ecr:us-east-1:123456789012:repository/a')).toBeUndefined();
    const recorded = { ...obj, status: { repositoryArn: 'arn:aws:ecr-public::123456789012:repository/team/web' } };
    expect(providerMoved(recorded, '123456789012')).toBeUndefined();
    expect(providerMoved(recorded, '210987654321')?.reason).toBe('ProviderAccountChanged');
    expect(providerMoved(obj, '210987654321')).toBeUndefined();
  });

  it('reads the registry alias out of a repository URI', () => {
    expect(aliasOfUri('public.ecr.aws/a1b2c3d4/team/web', 'team/web')).toBe('a1b2c3d4');
    expect(aliasOfUri('public.ecr.aws/team/web', 'team/web')).toBeUndefined();
    expect(aliasOfUri('123.dkr.ecr.us-east-1.amazonaws.com/team/web', 'team/web')).toBeUndefined();
  });
});

describe('the logo', () => {
  it('is checked against ECR Public\'s limits, naming the field', () => {
    expect(logoProblem(LOGO, 'x')).toBeUndefined();
    expect(logoProblem(testPng(60, 2048), 'x')).toBeUndefined();
    expect(logoProblem(testPng(59, 60), 'x')).toBe("spec.catalogData.logo: x is 59x60 pixels; ECR Public takes a width of 60 to 2048 pixels");
    expect(logoProblem(testPng(60, 2049), 'x')).toContain('a height of 60 to 2048');
    expect(logoProblem(Buffer.alloc(LOGO_MAX_BYTES + 1), 'x')).toContain(`${LOGO_MAX_BYTES + 1} bytes, more than ECR Public's limit of 512000 bytes`);
    expect(logoProblem(Buffer.from('<svg/>'), 'x')).toBe('spec.catalogData.logo: x is not a PNG or JPEG image');
    expect(logoProblem(Buffer.alloc(0), 'x')).toBe('spec.catalogData.logo: x is empty');
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc2, 0x00, 0x0b, 0x08, 0x00, 0x50, 0x00, 0x64, 0x01, 0x01, 0x11, 0x00]);
    expect(imageSize(jpeg)).toEqual({ format: 'jpeg', width: 100, height: 80 });
    expect(imageSize(Buffer.from([0xff, 0xd8, 0x00]))).toBeUndefined();
  });

  it('is read from binaryData, base64 text in data (wrapped or not) or a Secret, and refused when not base64', async () => {
    const objects = new FakeObjects();
    objects.objects.set('/api/v1/namespaces/team/configmaps/text', { data: { logo: LOGO.toString('base64').replace(/(.{76})/g, '$1\n') } });
    objects.objects.set('/api/v1/namespaces/team/configmaps/junk', { data: { logo: 'not base64 at all!' } });
    objects.configMap('team', 'bin', { logo: LOGO });
    objects.secret('team', 's', { logo: LOGO });
    for (const source of [{ configMapKeyRef: { name: 'text', key: 'logo' } }, { configMapKeyRef: { name: 'bin', key: 'logo' } }, { secretKeyRef: { name: 's', key: 'logo' } }]) {
      expect((await readLogo(objects, 'team', source)).bytes.equals(LOGO)).toBe(true);
    }
    await expect(readLogo(objects, 'team', { configMapKeyRef: { name: 'junk', key: 'logo' } })).rejects.toMatchObject({ reason: 'InvalidSpec', message: expect.stringContaining('not base64-encoded') });
    await expect(readLogo(objects, 'team', { configMapKeyRef: { name: 'bin', key: 'other' } })).rejects.toMatchObject({ reason: 'LogoNotFound', message: 'spec.catalogData.logo.configMapKeyRef: ConfigMap team/bin has no key "other"' });
    await expect(readLogo(objects, 'team', { secretKeyRef: { name: 'none', key: 'logo' } })).rejects.toMatchObject({ reason: 'LogoNotFound' });
  });

  it('is parsed in linear time: a 1 MiB text of whitespace and junk answers at once', async () => {
    const objects = new FakeObjects();
    objects.objects.set('/api/v1/namespaces/team/configmaps/big', { data: { logo: `${' '.repeat(1 << 20)}!` } });
    const started = performance.now();
    await expect(readLogo(objects, 'team', { configMapKeyRef: { name: 'big', key: 'logo' } })).rejects.toMatchObject({ reason: 'InvalidSpec' });
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('validation', () => {
  it('names the field of each problem', () => {
    const issues = validateECRPublicRepositorySpec({
      providerRef: { name: 'aws' },
      repositoryName: 'Bad_Name',
      catalogData: { description: 'd'.repeat(1025), architectures: ['ARM', 'ARM', 'mips' as 'ARM'], operatingSystems: ['BeOS' as 'Linux'], logo: {} },
      repositoryPolicy: '{"Statement": [{"Effect": "Allow"}]}',
      tags: { 'aws:x': 'y', [OWNER_TAG]: 'z' },
    });
    expect(issues.map((i) => i.field)).toEqual([
      'spec.repositoryName',
      'spec.catalogData.description',
      'spec.catalogData.architectures[1]',
      'spec.catalogData.architectures[2]',
      'spec.catalogData.operatingSystems[0]',
      'spec.catalogData.logo',
      'spec.repositoryPolicy',
      'spec.tags',
      'spec.tags',
    ]);
    expect(validateECRPublicRepositorySpec({ providerRef: { name: 'aws' }, repositoryName: 'a'.repeat(205) })).toEqual([]);
    expect(validateECRPublicRepositorySpec({ providerRef: { name: 'aws' }, repositoryName: 'a'.repeat(206) })).toHaveLength(1);
  });

  it('answers a long name of the worst shape at once', () => {
    const started = performance.now();
    validateECRPublicRepositorySpec({ providerRef: { name: 'aws' }, repositoryName: `${'a.'.repeat(10_000)}!` });
    expect(performance.now() - started).toBeLessThan(50);
  });
});
