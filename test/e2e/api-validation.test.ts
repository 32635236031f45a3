/**
 * The API as a user meets it, with no operator running: the CRDs install, every documented
 * example applies, kubectl explains and lists the kinds, and the API server itself rejects bad
 * input with a message that names the field.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { API_VERSION, GROUP, OWNER_TAG } from '../../src/api/types.js';
import { AWS_PROVIDER } from '../../src/kinds/awsprovider/types.js';
import { ECR_REPOSITORY } from '../../src/kinds/ecrrepository/types.js';
import { sharedEnv } from './support/context.js';
import { Kubectl, eventually } from './support/kubectl.js';

const CRD_DIR = fileURLToPath(new URL('../../config/crd/bases/', import.meta.url));
const SAMPLES_DIR = fileURLToPath(new URL('../../config/samples/', import.meta.url));
const CRDS = [`${AWS_PROVIDER.plural}.${GROUP}`, `${ECR_REPOSITORY.plural}.${GROUP}`];

type Obj = Record<string, unknown>;

let kubectl: Kubectl;
const suffix = randomBytes(3).toString('hex');
const namespaces = { samples: `api-samples-${suffix}`, cases: `api-cases-${suffix}` };

beforeAll(async () => {
  kubectl = new Kubectl(sharedEnv().kubeconfig);
  await kubectl.ok(['apply', '-f', CRD_DIR]);
  await kubectl.ok(['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map((name) => `crd/${name}`)]);
  // Established is the API server's word; kubectl's discovery (short names) can lag behind it.
  await eventually('kubectl to know the short names', async () => {
    const result = await kubectl.run(['get', 'ecr,awsp', '-A']);
    return result.code === 0 ? true : undefined;
  });
  for (const ns of Object.values(namespaces)) await kubectl.ok(['create', 'namespace', ns]);
});

afterAll(async () => {
  if (!kubectl) return;
  for (const ns of Object.values(namespaces)) {
    await kubectl.run(['delete', 'ecrrepositories,awsproviders,secrets', '--all', '-n', ns, '--wait=false']);
    // No namespace controller runs here, so the namespace itself stays Terminating; harmless.
    await kubectl.run(['delete', 'namespace', ns, '--wait=false']);
  }
});

const clone = <T>(value: T): T => structuredClone(value);

function objectKey(o: Obj): string {
  const metadata = o.metadata as { name: string };
  return `${String(o.kind).toLowerCase()}/${metadata.name}`;
}

function sampleFiles(): string[] {
  return readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
}

/** The objects of a sample file, moved into `namespace`: the only change made to them. */
function sampleObjects(file: string, namespace: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(SAMPLES_DIR + file, 'utf8')).map((d) => d.toJS() as Obj);
  return docs.map((o) => ({ ...o, metadata: { ...(o.metadata as Obj), namespace } }));
}

describe('documented examples', () => {
  it('kustomization.yaml lists every sample file', () => {
    const kustomization = parse(readFileSync(SAMPLES_DIR + 'kustomization.yaml', 'utf8')) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual(sampleFiles());
    // 12 AWSProvider and ECRRepository examples, one ECRPublicRepository, one per account-wide kind (8).
    expect(sampleFiles().length).toBe(21);
  });

  it.each(sampleFiles())('%s is created as written, then deleted', async (file) => {
    const ns = namespaces.samples;
    const objects = sampleObjects(file, ns);
    // create, not apply --dry-run: the object must really pass validation and be stored.
    await kubectl.ok(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    for (const o of objects) {
      const stored = await kubectl.getJson<Obj>([objectKey(o), '-n', ns]);
      // Nothing pruned, nothing rewritten: the stored spec holds the sample's spec (plus defaults).
      if (o.spec !== undefined) expect(stored.spec).toMatchObject(o.spec as Obj);
      if (o.kind === 'Secret') expect(Object.keys(stored.data as Obj).sort()).toEqual(Object.keys(o.stringData as Obj).sort());
      // Before the operator's first status, kstatus (Flux's wait, helm-controller) and the Argo CD
      // health check read the object as in progress: observedGeneration 0 is behind generation 1.
      // With no status at all, kstatus reads Current, and a Flux Kustomization would be Ready first.
      if (String(o.apiVersion).startsWith(`${GROUP}/`)) expect([stored.status, (stored.metadata as { generation?: number }).generation], objectKey(o)).toEqual([{ observedGeneration: 0 }, 1]);
    }
    for (const o of objects) await kubectl.ok(['delete', objectKey(o), '-n', ns]);
    for (const o of objects) {
      expect((await kubectl.run(['get', objectKey(o), '-n', ns])).stderr).toContain('NotFound');
    }
  });
});

describe('kubectl explain', () => {
  it('documents the ECRRepository spec', async () => {
    const out = await eventually('the CRD schema in the OpenAPI document', async () => {
      const result = await kubectl.run(['explain', 'ecrrepository.spec']);
      return result.code === 0 ? result.stdout : undefined;
    });
    expect(out).toContain('KIND:       ECRRepository');
    expect(out).toContain('Desired state of the ECR repository.');
    expect(out).toMatch(/repositoryName\s+<string> -required-/);
    expect(out).toContain('Immutable: ECR cannot rename a');
    expect(out).toContain('enum: Delete, Retain, Orphan');
  });

  // kubectl wraps descriptions to the terminal width: compare with whitespace folded.
  const explain = async (path: string) => (await kubectl.ok(['explain', path])).replace(/\s+/g, ' ');

  it('documents nested and status fields of both kinds', async () => {
    expect(await explain('ecrrepository.spec.encryptionConfiguration.kmsKey')).toContain('alias/name or an alias ARN');
    expect(await explain('ecrrepository.status.imageCount')).toContain('counted over every page');
    expect(await kubectl.ok(['explain', 'awsprovider.spec.roleARN'])).toContain('sts:AssumeRoleWithWebIdentity');
    expect(await kubectl.ok(['explain', 'awsp.status.conditions.reason'])).toContain('CamelCase');
  });

  it('documents the fields of tag mutability exclusions, archive, inventory and the lifecycle preview', async () => {
    expect(await explain('ecrrepository.spec.imageTagMutability')).toContain('IMMUTABLE_WITH_EXCLUSION');
    expect(await explain('ecrrepository.spec.imageTagMutabilityExclusionFilters')).toContain('1 to 5 wildcard filters');
    expect(await explain('ecrrepository.spec.imageTagMutabilityExclusionFilters.filter')).toContain('dev-* matches dev-1');
    expect(await explain('ecrrepository.spec.encryptionConfiguration.encryptionType')).toContain('KMS_DSSE');
    expect(await explain('ecrrepository.spec.lifecyclePolicy.policyText')).toContain('"targetStorageClass": "archive"');
    expect(await explain('ecrrepository.spec.lifecyclePolicy.maxImagesToExpire')).toContain('LifecyclePolicyUnsafe');
    expect(await explain('ecrrepository.status.archivedImageCount')).toContain('archive storage class');
    expect(await explain('ecrrepository.status.imageSizeBytes')).toContain('active images');
    expect(await explain('ecrrepository.status.lifecyclePreview.sample')).toContain('Up to 10 tags');
    expect(await explain('ecrrepository.status.imageTagMutabilityExclusionFilters')).toContain('exclusion filters');
  });
});

const provider = (name: string, ns: string, spec: Obj = {}): Obj => ({
  apiVersion: API_VERSION,
  kind: AWS_PROVIDER.kind,
  metadata: { name, namespace: ns },
  spec: { region: 'us-east-1', ...spec },
});

const repository = (name: string, ns: string, spec: Obj = {}): Obj => ({
  apiVersion: API_VERSION,
  kind: ECR_REPOSITORY.kind,
  metadata: { name, namespace: ns },
  spec: { providerRef: { name: 'aws' }, repositoryName: `app/${name}`, ...spec },
});

function header(table: string): string[] {
  return (table.split('\n')[0] ?? '').trim().split(/\s+/);
}

describe('kubectl get', () => {
  it('shows the ECRRepository columns, filled from the status of the seed example', async () => {
    const ns = namespaces.cases;
    await kubectl.apply(JSON.stringify(repository('columns', ns)));
    // The "Expected Output" status of the documentation page, written as the operator would.
    const status = {
      repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/app/backend-service',
      repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app/backend-service',
      registryId: '123456789012',
      creationDate: '2025-11-22T20:15:30Z',
      imageTagMutability: 'IMMUTABLE',
      encryptionType: 'AES256',
      imageScanningConfiguration: { scanOnPush: true },
      ready: true,
      lastSyncTime: '2025-11-22T20:15:45Z',
      imageCount: 7,
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2025-11-22T20:15:45Z', reason: 'Available', message: '' }],
    };
    await kubectl.ok(['patch', 'ecr', 'columns', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    const table = await kubectl.ok(['get', 'ecr', 'columns', '-n', ns]);
    expect(header(table)).toEqual(['NAME', 'READY', 'REPOSITORY', 'URI', 'IMAGES', 'AGE']);
    expect(table.split('\n')[1]).toMatch(/^columns\s+true\s+app\/columns\s+123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/app\/backend-service\s+7\s+\S+/);
    expect(header(await kubectl.ok(['get', 'ecrrepo', '-n', ns]))).toEqual(['NAME', 'READY', 'REPOSITORY', 'URI', 'IMAGES', 'AGE']);
    expect(header(await kubectl.ok(['get', 'ecrrepositories', '-n', ns]))).toEqual(['NAME', 'READY', 'REPOSITORY', 'URI', 'IMAGES', 'AGE']);
  });

  it('shows the AWSProvider columns', async () => {
    const ns = namespaces.cases;
    await kubectl.apply(JSON.stringify(provider('columns', ns)));
    const status = { ready: true, accountID: '123456789012', callerIdentity: 'arn:aws:iam::123456789012:user/ci', lastAuthenticationTime: '2025-11-22T20:15:30Z' };
    await kubectl.ok(['patch', 'awsp', 'columns', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    const table = await kubectl.ok(['get', 'awsp', 'columns', '-n', ns]);
    expect(header(table)).toEqual(['NAME', 'REGION', 'ACCOUNT', 'READY', 'AGE']);
    expect(table.split('\n')[1]).toMatch(/^columns\s+us-east-1\s+123456789012\s+true\s+\S+/);
    expect(header(await kubectl.ok(['get', 'awsprovider', '-n', ns]))).toEqual(['NAME', 'REGION', 'ACCOUNT', 'READY', 'AGE']);
  });
});

/** Sets (or, with undefined, removes) a field given as a dotted path. */
function set(path: string, value: unknown): (o: Obj) => void {
  return (o) => {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let node = o;
    for (const key of keys) node = (node[key] ??= {}) as Obj;
    if (value === undefined) delete node[last];
    else node[last] = value;
  };
}

const many = (n: number, value = 'v'): Obj => Object.fromEntries(Array.from({ length: n }, (_, i) => [`key-${i}`, value]));
const ref = { name: 'aws-credentials', key: 'access-key-id' };
const kms = { encryptionType: 'KMS', kmsKey: 'alias/ecr-encryption' };
const both = (...mutations: Array<(o: Obj) => void>) => (o: Obj): void => mutations.forEach((m) => m(o));
const wildcard = (filter: string): Obj => ({ filter, filterType: 'WILDCARD' });
const exclusion = (filters: unknown) => both(set('spec.imageTagMutability', 'IMMUTABLE_WITH_EXCLUSION'), set('spec.imageTagMutabilityExclusionFilters', filters));

type Kind = 'ecr' | 'awsp';
/** name, kind of the valid base object, the one broken rule, text the API server's answer must contain. */
type Case = [string, Kind, (o: Obj) => void, string];

const invalid: Case[] = [
  ['spec missing', 'ecr', set('spec', undefined), 'spec: Required value'],
  ['providerRef missing', 'ecr', set('spec.providerRef', undefined), 'spec.providerRef: Required value'],
  ['providerRef.name missing', 'ecr', set('spec.providerRef', {}), 'spec.providerRef.name: Required value'],
  ['providerRef.name empty', 'ecr', set('spec.providerRef.name', ''), 'spec.providerRef.name in body should be at least 1 chars long'],
  ['repositoryName missing', 'ecr', set('spec.repositoryName', undefined), 'spec.repositoryName: Required value'],
  ['repositoryName of 1 character', 'ecr', set('spec.repositoryName', 'a'), 'spec.repositoryName in body should be at least 2 chars long'],
  ['repositoryName of 257 characters', 'ecr', set('spec.repositoryName', 'a'.repeat(257)), 'spec.repositoryName: Too long'],
  ['repositoryName in uppercase', 'ecr', set('spec.repositoryName', 'App/backend'), 'spec.repositoryName in body should match'],
  ['repositoryName starting with /', 'ecr', set('spec.repositoryName', '/app'), 'spec.repositoryName in body should match'],
  ['repositoryName ending with a separator', 'ecr', set('spec.repositoryName', 'app-'), 'spec.repositoryName in body should match'],
  ['repositoryName with an empty prefix part', 'ecr', set('spec.repositoryName', 'app//backend'), 'spec.repositoryName in body should match'],
  ['repositoryName with a space', 'ecr', set('spec.repositoryName', 'my app'), 'spec.repositoryName in body should match'],
  ['misspelt field', 'ecr', set('spec.repositoryname', 'app/x'), 'unknown field "spec.repositoryname"'],
  ['imageTagMutability in lowercase', 'ecr', set('spec.imageTagMutability', 'mutable'), 'spec.imageTagMutability: Unsupported value: "mutable"'],
  ['exclusion mode without filters', 'ecr', set('spec.imageTagMutability', 'MUTABLE_WITH_EXCLUSION'),
    'spec.imageTagMutabilityExclusionFilters: Required value: spec.imageTagMutabilityExclusionFilters is required when imageTagMutability is MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION'],
  ['exclusion filters with a plain mode', 'ecr', both(set('spec.imageTagMutability', 'IMMUTABLE'), set('spec.imageTagMutabilityExclusionFilters', [wildcard('latest')])),
    'spec.imageTagMutabilityExclusionFilters: Forbidden: spec.imageTagMutabilityExclusionFilters is only allowed when imageTagMutability is MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION'],
  ['exclusion filters with the defaulted mode', 'ecr', set('spec.imageTagMutabilityExclusionFilters', [wildcard('latest')]), 'spec.imageTagMutabilityExclusionFilters: Forbidden'],
  ['no exclusion filter', 'ecr', exclusion([]), 'spec.imageTagMutabilityExclusionFilters: Invalid value: 0: spec.imageTagMutabilityExclusionFilters in body should have at least 1 items'],
  ['six exclusion filters', 'ecr', exclusion(['a', 'b', 'c', 'd', 'e', 'f'].map(wildcard)), 'spec.imageTagMutabilityExclusionFilters: Too many: 6: must have at most 5 items'],
  ['exclusion filter with a slash', 'ecr', exclusion([wildcard('release/1')]), 'spec.imageTagMutabilityExclusionFilters[0].filter in body should match'],
  ['exclusion filter of 129 characters', 'ecr', exclusion([wildcard('a'.repeat(129))]), 'spec.imageTagMutabilityExclusionFilters[0].filter: Too long'],
  ['exclusion filter of another type', 'ecr', exclusion([{ filter: 'latest', filterType: 'REGEX' }]), 'spec.imageTagMutabilityExclusionFilters[0].filterType: Unsupported value: "REGEX"'],
  ['the same exclusion filter twice', 'ecr', exclusion([wildcard('latest'), wildcard('latest')]), 'spec.imageTagMutabilityExclusionFilters[1]: Duplicate value'],
  ['negative maxImagesToExpire', 'ecr', set('spec.lifecyclePolicy', { maxImagesToExpire: -1 }), 'spec.lifecyclePolicy.maxImagesToExpire in body should be greater than or equal to 0'],
  ['scanOnPush as a string', 'ecr', set('spec.scanOnPush', 'yes'), 'spec.scanOnPush in body must be of type boolean'],
  ['unknown encryptionType', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'SSE' }), 'spec.encryptionConfiguration.encryptionType: Unsupported value: "SSE"'],
  ['KMS without kmsKey', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS' }), 'spec.encryptionConfiguration.kmsKey: Required value: spec.encryptionConfiguration.kmsKey is required when encryptionType is KMS'],
  ['kmsKey with AES256', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'AES256', kmsKey: 'alias/x' }), 'spec.encryptionConfiguration.kmsKey: Forbidden: spec.encryptionConfiguration.kmsKey is only allowed when encryptionType is KMS'],
  ['kmsKey with the default type', 'ecr', set('spec.encryptionConfiguration', { kmsKey: 'alias/x' }), 'spec.encryptionConfiguration.kmsKey is only allowed when encryptionType is KMS'],
  ['kmsKey that is no key reference', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS', kmsKey: 'my key' }), 'spec.encryptionConfiguration.kmsKey in body should match'],
  ['lifecyclePolicy as a string, as the page patches it', 'ecr', set('spec.lifecyclePolicy', '...'), 'spec.lifecyclePolicy in body must be of type object'],
  ['policyText below ECR\'s 100 characters', 'ecr', set('spec.lifecyclePolicy', { policyText: '{"rules": []}' }), 'spec.lifecyclePolicy.policyText in body should be at least 100 chars long'],
  ['policyText above 30720 characters', 'ecr', set('spec.lifecyclePolicy', { policyText: ' '.repeat(30721) }), 'spec.lifecyclePolicy.policyText: Too long'],
  ['repositoryPolicyText empty', 'ecr', set('spec.repositoryPolicyText', ''), 'spec.repositoryPolicyText in body should be at least 1 chars long'],
  ['repositoryPolicyText above 10240 characters', 'ecr', set('spec.repositoryPolicyText', ' '.repeat(10241)), 'spec.repositoryPolicyText: Too long'],
  ['51 tags', 'ecr', set('spec.tags', many(51)), 'spec.tags: Too many: 51: must have at most 50 items'],
  ['tag value of 257 characters', 'ecr', set('spec.tags', { team: 'x'.repeat(257) }), 'spec.tags.team: Too long'],
  ['tag value not a string', 'ecr', set('spec.tags', { replicas: 3 }), 'spec.tags.replicas in body must be of type string'],
  ['tag key of 129 characters', 'ecr', set('spec.tags', { ['k'.repeat(129)]: 'v' }), 'spec.tags: Invalid value: spec.tags keys must be 1 to 128 characters long'],
  ['empty tag key', 'ecr', set('spec.tags', { '': 'v' }), 'spec.tags keys must be 1 to 128 characters long'],
  ['the operator\'s owner tag', 'ecr', set('spec.tags', { [OWNER_TAG]: 'other/repo' }), `spec.tags must not contain the key ${OWNER_TAG}`],
  ['tag key with the aws: prefix', 'ecr', set('spec.tags', { 'AWS:cloudformation:stack-name': 'x' }), 'spec.tags keys must not start with aws:'],
  ['unknown deletionPolicy', 'ecr', set('spec.deletionPolicy', 'Destroy'), 'spec.deletionPolicy: Unsupported value: "Destroy": supported values: "Delete", "Retain", "Orphan"'],

  ['region missing', 'awsp', set('spec.region', undefined), 'spec.region: Required value'],
  ['region in uppercase', 'awsp', set('spec.region', 'US-EAST-1'), 'spec.region in body should match'],
  ['region without dashes', 'awsp', set('spec.region', 'useast1'), 'spec.region in body should match'],
  ['region without its number', 'awsp', set('spec.region', 'us-east'), 'spec.region in body should match'],
  ['roleARN with a short account', 'awsp', set('spec.roleARN', 'arn:aws:iam::1234:role/x'), 'spec.roleARN in body should match'],
  ['roleARN of a user', 'awsp', set('spec.roleARN', 'arn:aws:iam::123456789012:user/ci'), 'spec.roleARN in body should match'],
  ['externalID of 1 character', 'awsp', set('spec', { region: 'us-east-1', roleARN: 'arn:aws:iam::123456789012:role/r', externalID: 'x' }), 'spec.externalID in body should be at least 2 chars long'],
  ['externalID without roleARN', 'awsp', set('spec.externalID', 'tenant-1'), 'spec.externalID is only used to assume a role and requires spec.roleARN'],
  ['sessionName of 65 characters', 'awsp', set('spec', { region: 'us-east-1', roleARN: 'arn:aws:iam::123456789012:role/r', sessionName: 's'.repeat(65) }), 'spec.sessionName: Too long'],
  ['sessionName with a space', 'awsp', set('spec', { region: 'us-east-1', roleARN: 'arn:aws:iam::123456789012:role/r', sessionName: 'my session' }), 'spec.sessionName in body should match'],
  ['accessKeyIDRef alone', 'awsp', set('spec.accessKeyIDRef', ref), 'spec.secretAccessKeyRef: Required value: spec.secretAccessKeyRef is required when spec.accessKeyIDRef is set'],
  ['secretAccessKeyRef alone', 'awsp', set('spec.secretAccessKeyRef', ref), 'spec.accessKeyIDRef: Required value: spec.accessKeyIDRef is required when spec.secretAccessKeyRef is set'],
  ['sessionTokenRef alone', 'awsp', set('spec.sessionTokenRef', ref), 'spec.sessionTokenRef: Forbidden: spec.sessionTokenRef is only allowed together with spec.accessKeyIDRef and spec.secretAccessKeyRef'],
  ['secret ref without key', 'awsp', set('spec', { region: 'us-east-1', accessKeyIDRef: { name: 'creds' }, secretAccessKeyRef: ref }), 'spec.accessKeyIDRef.key: Required value'],
  ['secret ref with empty name', 'awsp', set('spec', { region: 'us-east-1', accessKeyIDRef: ref, secretAccessKeyRef: { name: '', key: 'k' } }), 'spec.secretAccessKeyRef.name in body should be at least 1 chars long'],
  ['secret ref key with a slash', 'awsp', set('spec', { region: 'us-east-1', accessKeyIDRef: { name: 'creds', key: 'a/b' }, secretAccessKeyRef: ref }), 'spec.accessKeyIDRef.key in body should match'],
  ['endpoint without a scheme', 'awsp', set('spec.endpoint', 'localhost:4566'), 'spec.endpoint must be an absolute http:// or https:// URL with a host'],
  ['endpoint with another scheme', 'awsp', set('spec.endpoint', 'ftp://moto:5000'), 'spec.endpoint must be an absolute http:// or https:// URL with a host'],
  ['endpoint without a host', 'awsp', set('spec.endpoint', 'http://'), 'spec.endpoint must be an absolute http:// or https:// URL with a host'],
  ['endpoint that is no URL', 'awsp', set('spec.endpoint', 'not a url'), 'spec.endpoint must be an absolute http:// or https:// URL with a host'],
  ['the owner tag in defaultTags', 'awsp', set('spec.defaultTags', { [OWNER_TAG]: 'x' }), `spec.defaultTags must not contain the key ${OWNER_TAG}`],
  ['51 defaultTags', 'awsp', set('spec.defaultTags', many(51)), 'spec.defaultTags: Too many: 51: must have at most 50 items'],
  ['defaultTags key of 129 characters', 'awsp', set('spec.defaultTags', { ['k'.repeat(129)]: 'v' }), 'spec.defaultTags keys must be 1 to 128 characters long'],
  ['defaultTags value of 257 characters', 'awsp', set('spec.defaultTags', { team: 'x'.repeat(257) }), 'spec.defaultTags.team: Too long'],
  ['defaultTags key with the aws: prefix', 'awsp', set('spec.defaultTags', { 'aws:createdBy': 'x' }), 'spec.defaultTags keys must not start with aws:'],
];

describe('the API server rejects invalid objects, naming the field', () => {
  it('has a case per rule, each naming a field', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(40);
    for (const [name, , , expected] of invalid) expect(expected, name).toMatch(/spec(\.[A-Za-z]+)*\b/);
  });

  it.each(invalid.map((c, i) => [i, ...c] as const))('#%i %s', async (i, _name, kind, mutate, expected) => {
    const ns = namespaces.cases;
    const object = kind === 'ecr' ? repository(`invalid-${i}`, ns) : provider(`invalid-${i}`, ns);
    // The unchanged base is valid, so the rejection below is the one broken rule's doing.
    expect((await kubectl.run(['create', '--dry-run=server', '-f', '-'], JSON.stringify(object))).code).toBe(0);
    mutate(object);
    const result = await kubectl.run(['create', '-f', '-'], JSON.stringify(object));
    expect(result.code, result.stdout).not.toBe(0);
    expect(result.stderr).toContain(expected);
  });
});

/** Edge cases that must pass: the rules above are no stricter than AWS. */
const valid: Array<[string, Kind, (o: Obj) => void]> = [
  ['repositoryName of 256 characters', 'ecr', set('spec.repositoryName', `a/${'b'.repeat(254)}`)],
  ['repositoryName of 2 characters', 'ecr', set('spec.repositoryName', 'ab')],
  ['repositoryName with nested prefixes and separators', 'ecr', set('spec.repositoryName', 'team.a/app_1/back-end.v2')],
  ['five exclusion filters, filterType defaulted', 'ecr', exclusion([wildcard('latest'), { filter: 'dev-*' }, wildcard('*-rc*'), wildcard('v1.2_3'), wildcard('a'.repeat(128))])],
  ['MUTABLE_WITH_EXCLUSION with one filter', 'ecr', both(set('spec.imageTagMutability', 'MUTABLE_WITH_EXCLUSION'), set('spec.imageTagMutabilityExclusionFilters', [wildcard('release-*')]))],
  ['KMS_DSSE with a key', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS_DSSE', kmsKey: 'arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/12345678-1234-1234-1234-123456789012' })],
  ['KMS_DSSE with the AWS managed key', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS_DSSE' })],
  ['maxImagesToExpire 0', 'ecr', set('spec.lifecyclePolicy', { maxImagesToExpire: 0 })],
  ['kmsKey as a key ARN', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012' })],
  ['kmsKey as an alias ARN in another partition', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS', kmsKey: 'arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/ecr' })],
  ['kmsKey as a key ID', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS', kmsKey: '1234abcd-12ab-34cd-56ef-1234567890ab' })],
  ['kmsKey as a multi-Region key ID', 'ecr', set('spec.encryptionConfiguration', { encryptionType: 'KMS', kmsKey: 'mrk-1234abcd12ab34cd56ef1234567890ab' })],
  ['50 tags at the length limits, one empty value', 'ecr', set('spec.tags', { ...many(48), ['k'.repeat(128)]: 'v'.repeat(256), empty: '' })],
  ['tag key with a prefix that only looks like aws:', 'ecr', set('spec.tags', { 'aws-team': 'x', 'awsx:y': 'z' })],
  ['GovCloud region and role', 'awsp', set('spec', { region: 'us-gov-west-1', roleARN: 'arn:aws-us-gov:iam::123456789012:role/path/to/role', externalID: 'ab', sessionName: 'op@cluster=1,x.y_z-2' })],
  ['China region', 'awsp', set('spec.region', 'cn-north-1')],
  ['European Sovereign Cloud region', 'awsp', set('spec.region', 'eusc-de-east-1')],
  ['static keys with a session token', 'awsp', set('spec', { region: 'us-east-1', accessKeyIDRef: ref, secretAccessKeyRef: { name: 'c', key: 'secret_access.key' }, sessionTokenRef: { name: 'c', key: 'token' } })],
  ['https endpoint with a port and path', 'awsp', set('spec.endpoint', 'https://moto.test.svc:5000/aws')],
  ['http endpoint on loopback', 'awsp', set('spec.endpoint', 'http://127.0.0.1:4566')],
];

describe('the API server accepts what AWS accepts', () => {
  it.each(valid.map((c, i) => [i, ...c] as const))('#%i %s', async (i, _name, kind, mutate) => {
    const ns = namespaces.cases;
    const object = kind === 'ecr' ? repository(`valid-${i}`, ns) : provider(`valid-${i}`, ns);
    mutate(object);
    const result = await kubectl.run(['create', '-f', '-'], JSON.stringify(object));
    expect(result.code, result.stderr).toBe(0);
  });
});

/** name, spec at creation, the change, text of the rejection (or undefined: accepted). */
type UpdateCase = [string, Obj, (o: Obj) => void, string | undefined];

const updates: UpdateCase[] = [
  ['renaming the repository', {}, set('spec.repositoryName', 'app/renamed'), 'spec.repositoryName: Invalid value: "app/renamed": spec.repositoryName is immutable'],
  ['AES256 to KMS', { encryptionConfiguration: { encryptionType: 'AES256' } }, set('spec.encryptionConfiguration', kms), 'spec.encryptionConfiguration is immutable: ECR cannot change the encryption'],
  ['defaulted encryption to KMS', {}, set('spec.encryptionConfiguration', kms), 'spec.encryptionConfiguration is immutable'],
  ['another KMS key', { encryptionConfiguration: kms }, set('spec.encryptionConfiguration.kmsKey', 'alias/other'), 'spec.encryptionConfiguration is immutable'],
  ['KMS to the default by omission', { encryptionConfiguration: kms }, set('spec.encryptionConfiguration', undefined), 'spec.encryptionConfiguration is immutable'],
  ['new tags with a defaulted encryption', {}, set('spec.tags', { team: 'platform' }), undefined],
  ['spelling out the defaulted encryption', {}, set('spec.encryptionConfiguration', { encryptionType: 'AES256' }), undefined],
  ['omitting an explicit AES256', { encryptionConfiguration: { encryptionType: 'AES256' } }, set('spec.encryptionConfiguration', undefined), undefined],
  ['scanOnPush on a KMS repository', { encryptionConfiguration: kms }, set('spec.scanOnPush', true), undefined],
  ['another provider (maybe another account or region)', {}, set('spec.providerRef', { name: 'other-account' }), 'spec.providerRef: Invalid value: spec.providerRef is immutable'],
];

describe('immutable fields', () => {
  // replace sends the whole object, as a GitOps tool does: fields left out are defaulted again
  // before the transition rules compare old and new.
  it.each(updates.map((c, i) => [i, ...c] as const))('#%i %s', async (i, _name, spec, change, expected) => {
    const ns = namespaces.cases;
    const object = repository(`update-${i}`, ns, clone(spec));
    await kubectl.ok(['create', '-f', '-'], JSON.stringify(object));
    const changed = clone(object);
    change(changed);
    const result = await kubectl.run(['replace', '-f', '-'], JSON.stringify(changed));
    const stored = await kubectl.getJson<{ spec: Obj }>(['ecr', `update-${i}`, '-n', ns]);
    if (expected === undefined) {
      expect(result.code, result.stderr).toBe(0);
      expect(stored.spec).toMatchObject(changed.spec as Obj);
    } else {
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(expected);
      expect(stored.spec).toMatchObject(object.spec as Obj);
    }
    const before = (object.spec as Obj).encryptionConfiguration as Obj | undefined;
    expect(stored.spec.encryptionConfiguration).toEqual(before ?? { encryptionType: 'AES256' });
  });

  it('lets kubectl apply and a merge patch update an object whose encryption was defaulted', async () => {
    const ns = namespaces.cases;
    const object = repository('defaulted', ns, { tags: { team: 'a' } });
    await kubectl.apply(JSON.stringify(object));
    set('spec.tags', { team: 'b' })(object);
    await kubectl.apply(JSON.stringify(object));
    await kubectl.apply(JSON.stringify(object), ['--server-side', '--field-manager=gitops']);
    await kubectl.ok(['patch', 'ecr', 'defaulted', '-n', ns, '--type=merge', '-p', '{"spec":{"scanOnPush":true}}']);
    const stored = await kubectl.getJson<{ spec: Obj }>(['ecr', 'defaulted', '-n', ns]);
    expect(stored.spec).toMatchObject({
      tags: { team: 'b' },
      scanOnPush: true,
      encryptionConfiguration: { encryptionType: 'AES256' },
      imageTagMutability: 'MUTABLE',
      deletionPolicy: 'Retain',
    });
  });
});
