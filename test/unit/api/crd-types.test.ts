/**
 * Keeps src/api/types.ts and the CRDs in config/crd/bases from drifting apart. Types vanish at
 * runtime, so each type is pinned by a sample object that the compiler forces to name every field
 * (DeepRequired) and nothing else (excess property checks); the sample's key paths must then equal
 * the schema's property paths, in both directions.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AWS_PROVIDER, type AWSProviderSpec, type AWSProviderStatus } from '../../../src/kinds/awsprovider/types.js';
import { ECR_REPOSITORY, SPEC_DEFAULTS, type ECRRepositorySpec, type ECRRepositoryStatus, type EncryptionType, type ImageTagMutability, type ImageTagMutabilityExclusionFilter, type LifecyclePreview } from '../../../src/kinds/ecrrepository/types.js';
import { GROUP, OWNER_TAG, VERSION, type Condition, type DeletionPolicy, type SecretKeyRef } from '../../../src/api/types.js';

type DeepRequired<T> = T extends readonly (infer U)[]
  ? DeepRequired<U>[]
  : T extends object
    ? { [K in keyof T]-?: DeepRequired<T[K]> }
    : T;

/** Keys that a value of T must have. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
/** Compiles only when the list names exactly the members of the union. */
function exactly<U extends string>() {
  return <const L extends readonly U[]>(list: L & (Equal<L[number], U> extends true ? unknown : never)): L => list;
}

/** Stands for "any key" of a map (a Record), as additionalProperties does in the schema. */
const ANY_KEY = '*';

const condition: DeepRequired<Condition> = {
  type: 'Ready',
  status: 'True',
  observedGeneration: 1,
  lastTransitionTime: '2025-11-22T20:15:30Z',
  reason: 'Available',
  message: '',
};
const secretRef: DeepRequired<SecretKeyRef> = { name: 'aws-credentials', key: 'access-key-id' };

const awsProviderSpec = {
  region: 'us-east-1',
  roleARN: 'arn:aws:iam::123456789012:role/infra-operator-role',
  externalID: 'ext',
  sessionName: 'infra-operator',
  accessKeyIDRef: secretRef,
  secretAccessKeyRef: secretRef,
  sessionTokenRef: secretRef,
  endpoint: 'http://localhost:4566',
  serviceAccountRef: { name: 'ecr-access' },
  defaultTags: { [ANY_KEY]: 'value' },
  events: { queueURL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ecr-events' },
} satisfies DeepRequired<AWSProviderSpec>;

const awsProviderStatus = {
  ready: true,
  accountID: '123456789012',
  callerIdentity: 'arn:aws:sts::123456789012:assumed-role/infra-operator-role/session',
  identitySource: 'ServiceAccount team/ecr-access, assuming arn:aws:iam::123456789012:role/infra-operator-role',
  lastAuthenticationTime: '2025-11-22T20:15:30Z',
  message: '',
  observedGeneration: 1,
  conditions: [condition],
  events: { mode: 'Events', queueURL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ecr-events', syncPeriod: '6h0m0s' },
} satisfies DeepRequired<AWSProviderStatus>;

const ecrRepositorySpec = {
  providerRef: { name: 'production-aws' },
  repositoryName: 'app/backend',
  imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
  imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
  scanOnPush: true,
  encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/ecr-encryption' },
  lifecyclePolicy: { policyText: '{}', maxImagesToExpire: 5 },
  repositoryPolicyText: '{}',
  tags: { [ANY_KEY]: 'value' },
  deletionPolicy: 'Retain',
} satisfies DeepRequired<ECRRepositorySpec>;

const ecrRepositoryStatus = {
  ready: true,
  repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/app/backend',
  repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app/backend',
  registryId: '123456789012',
  creationDate: '2025-11-22T20:15:30Z',
  imageCount: 3,
  archivedImageCount: 1,
  imageSizeBytes: 123456,
  lastImagePushedAt: '2025-11-22T20:15:30Z',
  lastImagePulledAt: '2025-11-22T20:15:30Z',
  lifecyclePreview: { imagesToExpire: 2, imagesToArchive: 0, evaluatedAt: '2025-11-22T20:15:45Z', sample: ['v1'] },
  imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
  imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
  encryptionType: 'AES256',
  imageScanningConfiguration: { scanOnPush: true },
  lastSyncTime: '2025-11-22T20:15:45Z',
  lastForceSync: '1764000000',
  message: '',
  observedGeneration: 1,
  conditions: [condition],
} satisfies DeepRequired<ECRRepositoryStatus>;

/** `a.b`, `a.list[].c`, `a.map.*` for every field of a sample object. */
function samplePaths(value: unknown, prefix: string): string[] {
  if (Array.isArray(value)) return samplePaths(value[0], `${prefix}[]`);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = `${prefix}.${key}`;
    return [path, ...samplePaths(child, path)];
  });
}

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string }>;
}

/** The same paths, read from an OpenAPI schema. */
function schemaPaths(schema: Schema, prefix: string): string[] {
  const paths: string[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = `${prefix}.${key}`;
    paths.push(path, ...schemaPaths(child, path));
  }
  if (typeof schema.additionalProperties === 'object') {
    const path = `${prefix}.${ANY_KEY}`;
    paths.push(path, ...schemaPaths(schema.additionalProperties, path));
  }
  if (schema.items) paths.push(...schemaPaths(schema.items, `${prefix}[]`));
  return paths;
}

/** Every schema node below the root, with its path. */
function schemaNodes(schema: Schema, prefix: string): Array<[string, Schema]> {
  const nodes: Array<[string, Schema]> = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    nodes.push([path, child], ...schemaNodes(child, path));
  }
  if (schema.items) nodes.push([`${prefix}[]`, schema.items], ...schemaNodes(schema.items, `${prefix}[]`));
  return nodes;
}

function at(schema: Schema, path: string): Schema {
  let node = schema;
  for (const key of path.split('.')) {
    const next = key === '[]' ? node.items : node.properties?.[key];
    if (!next) throw new Error(`schema has no ${path}`);
    node = next;
  }
  return node;
}

interface CRD {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

function readCrd(plural: string): CRD {
  const url = new URL(`../../../config/crd/bases/${GROUP}_${plural}.yaml`, import.meta.url);
  return parse(readFileSync(url, 'utf8')) as CRD;
}

const kinds = [
  {
    kind: AWS_PROVIDER,
    spec: awsProviderSpec,
    status: awsProviderStatus,
    shortNames: ['awsp'],
    columns: [
      ['Region', 'string', '.spec.region'],
      ['Account', 'string', '.status.accountID'],
      ['Ready', 'boolean', '.status.ready'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ],
    required: {
      spec: exactly<RequiredKeys<AWSProviderSpec>>()(['region']),
      'spec.accessKeyIDRef': exactly<RequiredKeys<SecretKeyRef>>()(['name', 'key']),
      'spec.secretAccessKeyRef': exactly<RequiredKeys<SecretKeyRef>>()(['name', 'key']),
      'spec.sessionTokenRef': exactly<RequiredKeys<SecretKeyRef>>()(['name', 'key']),
      status: exactly<RequiredKeys<AWSProviderStatus>>()([]),
      'status.conditions.[]': exactly<RequiredKeys<Condition>>()(['type', 'status', 'lastTransitionTime', 'reason', 'message']),
    },
    tagMaps: ['spec.defaultTags'],
  },
  {
    kind: ECR_REPOSITORY,
    spec: ecrRepositorySpec,
    status: ecrRepositoryStatus,
    shortNames: ['ecr', 'ecrrepo'],
    columns: [
      ['Ready', 'boolean', '.status.ready'],
      ['Repository', 'string', '.spec.repositoryName'],
      ['URI', 'string', '.status.repositoryUri'],
      ['Images', 'integer', '.status.imageCount'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ],
    required: {
      spec: exactly<RequiredKeys<ECRRepositorySpec>>()(['providerRef', 'repositoryName']),
      'spec.providerRef': exactly<RequiredKeys<ECRRepositorySpec['providerRef']>>()(['name']),
      status: exactly<RequiredKeys<ECRRepositoryStatus>>()([]),
      'spec.imageTagMutabilityExclusionFilters.[]': exactly<RequiredKeys<ImageTagMutabilityExclusionFilter>>()(['filter', 'filterType']),
      'spec.lifecyclePolicy': exactly<RequiredKeys<NonNullable<ECRRepositorySpec['lifecyclePolicy']>>>()([]),
      'status.imageTagMutabilityExclusionFilters.[]': exactly<RequiredKeys<ImageTagMutabilityExclusionFilter>>()(['filter', 'filterType']),
      'status.lifecyclePreview': exactly<RequiredKeys<LifecyclePreview>>()(['imagesToExpire', 'imagesToArchive', 'evaluatedAt', 'sample']),
      'status.imageScanningConfiguration': exactly<RequiredKeys<NonNullable<ECRRepositoryStatus['imageScanningConfiguration']>>>()(['scanOnPush']),
      'status.conditions.[]': exactly<RequiredKeys<Condition>>()(['type', 'status', 'lastTransitionTime', 'reason', 'message']),
    },
    tagMaps: ['spec.tags'],
  },
] as const;

describe.each(kinds)('CRD of $kind.kind', ({ kind, spec, status, shortNames, columns, required, tagMaps }) => {
  const crd = readCrd(kind.plural);
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;

  it('names the kind as types.ts does', () => {
    expect(crd.metadata.name).toBe(`${kind.plural}.${GROUP}`);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.kind).toBe(kind.kind);
    expect(crd.spec.names.plural).toBe(kind.plural);
    expect(crd.spec.names.shortNames).toEqual(shortNames);
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: VERSION, served: true, storage: true, subresources: { status: {} } });
  });

  it('has the spec fields of the type, no more, no fewer', () => {
    expect(schemaPaths(at(root, 'spec'), 'spec').sort()).toEqual(samplePaths(spec, 'spec').sort());
  });

  it('has the status fields of the type, no more, no fewer', () => {
    expect(schemaPaths(at(root, 'status'), 'status').sort()).toEqual(samplePaths(status, 'status').sort());
  });

  it('requires the fields that the type requires', () => {
    for (const [path, keys] of Object.entries(required)) {
      expect([...(at(root, path).required ?? [])].sort(), path).toEqual([...keys].sort());
    }
  });

  it('describes every field, for kubectl explain', () => {
    const undocumented = schemaNodes(root, '')
      // metadata is the API server's own; a CRD may not describe it.
      .filter(([path, node]) => path !== 'metadata' && !node.description?.trim())
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
    expect(root.description).toBeTruthy();
  });

  it('shows the documented printer columns', () => {
    expect(version.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath])).toEqual(columns);
  });

  it('keeps conditions a list-map keyed by type', () => {
    expect(at(root, 'status.conditions')).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
    expect(at(root, 'status.conditions.[].status').enum).toEqual(['True', 'False', 'Unknown']);
  });

  it.each(tagMaps)('bounds %s and reserves the owner tag', (path) => {
    const tags = at(root, path);
    expect(tags).toMatchObject({ maxProperties: 50, additionalProperties: { type: 'string', maxLength: 256 } });
    expect(tags['x-kubernetes-validations']?.some((v) => v.rule.includes(`'${OWNER_TAG}' in self`))).toBe(true);
  });
});

describe('ECRRepository enums and defaults', () => {
  const spec = at(readCrd(ECR_REPOSITORY.plural).spec.versions[0]!.schema.openAPIV3Schema, 'spec');

  it('lists exactly the values of the TypeScript unions', () => {
    expect(at(spec, 'imageTagMutability').enum).toEqual(exactly<ImageTagMutability>()(['MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION']));
    expect(at(spec, 'encryptionConfiguration.encryptionType').enum).toEqual(exactly<EncryptionType>()(['AES256', 'KMS', 'KMS_DSSE']));
    expect(at(spec, 'deletionPolicy').enum).toEqual(exactly<DeletionPolicy>()(['Delete', 'Retain', 'Orphan']));
  });

  it('defaults as SPEC_DEFAULTS says', () => {
    expect(at(spec, 'imageTagMutability').default).toBe(SPEC_DEFAULTS.imageTagMutability);
    expect(at(spec, 'scanOnPush').default).toBe(SPEC_DEFAULTS.scanOnPush);
    expect(at(spec, 'encryptionConfiguration.encryptionType').default).toBe(SPEC_DEFAULTS.encryptionType);
    expect(at(spec, 'deletionPolicy').default).toBe(SPEC_DEFAULTS.deletionPolicy);
    // An omitted encryptionConfiguration must default too, or its nested default never applies.
    expect(at(spec, 'encryptionConfiguration').default).toEqual({});
  });
});
