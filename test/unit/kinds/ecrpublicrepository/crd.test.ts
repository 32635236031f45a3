/**
 * The ECRPublicRepository CRD against the kind's types and limits: every field of the types is in
 * the schema and nothing else, the patterns are the operator's linear-time ones, every string, list
 * and map is bounded, and the chart's copy is the same file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPOSITORY_NAME_SOURCE } from '../../../../src/api/patterns.js';
import { GROUP, OWNER_TAG, type Condition } from '../../../../src/api/types.js';
import {
  ABOUT_TEXT_MAX_CHARS,
  ARCHITECTURES,
  DESCRIPTION_MAX_CHARS,
  ECR_PUBLIC_REPOSITORY,
  OPERATING_SYSTEMS,
  PUBLIC_REPOSITORY_NAME_LENGTH,
  SPEC_DEFAULTS,
  USAGE_TEXT_MAX_CHARS,
  type ECRPublicRepositorySpec,
  type ECRPublicRepositoryStatus,
} from '../../../../src/kinds/ecrpublicrepository/types.js';

type DeepRequired<T> = T extends readonly (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;
const ANY_KEY = '*';

const condition: DeepRequired<Condition> = { type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Available', message: '' };
const keyRef = { name: 'logo', key: 'logo.png' };

// The compiler forces these samples to name every field of the types (DeepRequired) and no other.
const spec = {
  providerRef: { name: 'aws' },
  repositoryName: 'project-a/nginx-web-app',
  catalogData: {
    description: 'd',
    aboutText: 'a',
    usageText: 'u',
    architectures: ['ARM'],
    operatingSystems: ['Linux'],
    logo: { configMapKeyRef: keyRef, secretKeyRef: keyRef },
  },
  repositoryPolicy: '{}',
  tags: { [ANY_KEY]: 'v' },
  deletionPolicy: 'Retain',
  forceDelete: false,
} satisfies DeepRequired<ECRPublicRepositorySpec>;

const status = {
  ready: true,
  repositoryArn: 'arn:aws:ecr-public::123456789012:repository/project-a/nginx-web-app',
  repositoryUri: 'public.ecr.aws/a1b2c3d4/project-a/nginx-web-app',
  registryId: '123456789012',
  registryAlias: 'a1b2c3d4',
  creationDate: '2026-01-01T00:00:00Z',
  imageCount: 1,
  logoUrl: 'https://example/logo.png',
  logoDigest: 'sha256:00',
  lastSyncTime: '2026-01-01T00:00:00Z',
  lastForceSync: '1',
  message: '',
  observedGeneration: 1,
  conditions: [condition],
} satisfies DeepRequired<ECRPublicRepositoryStatus>;

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string }>;
}

interface CRD {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[] };
    versions: Array<{ name: string; subresources?: { status?: object }; additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string }>; schema: { openAPIV3Schema: Schema } }>;
  };
}

const file = `${GROUP}_${ECR_PUBLIC_REPOSITORY.plural}.yaml`;
const text = readFileSync(new URL(`../../../../config/crd/bases/${file}`, import.meta.url), 'utf8');
const crd = parse(text) as CRD;
const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
const specSchema = root.properties!.spec!;

function samplePaths(value: unknown, prefix: string): string[] {
  if (Array.isArray(value)) return samplePaths(value[0], `${prefix}[]`);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [`${prefix}.${key}`, ...samplePaths(child, `${prefix}.${key}`)]);
}

function schemaPaths(schema: Schema, prefix: string): string[] {
  const paths: string[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) paths.push(`${prefix}.${key}`, ...schemaPaths(child, `${prefix}.${key}`));
  if (typeof schema.additionalProperties === 'object') paths.push(`${prefix}.${ANY_KEY}`, ...schemaPaths(schema.additionalProperties, `${prefix}.${ANY_KEY}`));
  if (schema.items) paths.push(...schemaPaths(schema.items, `${prefix}[]`));
  return paths;
}

function nodes(schema: Schema, prefix: string): Array<[string, Schema]> {
  const out: Array<[string, Schema]> = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) out.push([`${prefix}.${key}`, child], ...nodes(child, `${prefix}.${key}`));
  if (typeof schema.additionalProperties === 'object') out.push([`${prefix}.*`, schema.additionalProperties], ...nodes(schema.additionalProperties, `${prefix}.*`));
  if (schema.items) out.push([`${prefix}[]`, schema.items], ...nodes(schema.items, `${prefix}[]`));
  return out;
}

describe('the ECRPublicRepository CRD', () => {
  it('names the kind as the operator does: namespaced, short names, status subresource, printer columns', () => {
    expect(crd.metadata.name).toBe(`${ECR_PUBLIC_REPOSITORY.plural}.${GROUP}`);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: ECR_PUBLIC_REPOSITORY.kind, plural: ECR_PUBLIC_REPOSITORY.plural, shortNames: ['ecrpub', 'ecrpublic'] });
    const version = crd.spec.versions[0]!;
    expect(version.name).toBe('v1alpha1');
    expect(version.subresources?.status).toEqual({});
    expect(version.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath])).toEqual([
      ['Ready', 'boolean', '.status.ready'],
      ['Repository', 'string', '.spec.repositoryName'],
      ['URI', 'string', '.status.repositoryUri'],
      ['Images', 'integer', '.status.imageCount'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  it('has exactly the fields of the types', () => {
    expect(schemaPaths(specSchema, 'spec').sort()).toEqual(samplePaths(spec, 'spec').sort());
    expect(schemaPaths(root.properties!.status!, 'status').sort()).toEqual(samplePaths(status, 'status').sort());
    expect(specSchema.required).toEqual(['providerRef', 'repositoryName']);
  });

  it('carries ECR Public\'s limits and the operator\'s linear-time name pattern', () => {
    const name = specSchema.properties!.repositoryName!;
    expect([name.pattern, name.minLength, name.maxLength]).toEqual([REPOSITORY_NAME_SOURCE, PUBLIC_REPOSITORY_NAME_LENGTH.min, PUBLIC_REPOSITORY_NAME_LENGTH.max]);
    const catalog = specSchema.properties!.catalogData!.properties!;
    expect(catalog.description!.maxLength).toBe(DESCRIPTION_MAX_CHARS);
    expect(catalog.aboutText!.maxLength).toBe(ABOUT_TEXT_MAX_CHARS);
    expect(catalog.usageText!.maxLength).toBe(USAGE_TEXT_MAX_CHARS);
    expect(catalog.architectures!.items!.enum).toEqual([...ARCHITECTURES]);
    expect(catalog.operatingSystems!.items!.enum).toEqual([...OPERATING_SYSTEMS]);
    expect(specSchema.properties!.repositoryPolicy!.maxLength).toBe(10_240);
    expect(specSchema.properties!.deletionPolicy!.default).toBe(SPEC_DEFAULTS.deletionPolicy);
    expect(specSchema.properties!.forceDelete!.default).toBe(SPEC_DEFAULTS.forceDelete);
    expect(JSON.stringify(specSchema.properties!.tags)).toContain(OWNER_TAG);
  });

  it('bounds every string, list and map of the spec', () => {
    const unbounded = nodes(specSchema, 'spec').filter(([, s]) =>
      (s.type === 'string' && s.maxLength === undefined && s.enum === undefined) ||
      (s.type === 'array' && s.maxItems === undefined) ||
      (s.type === 'object' && typeof s.additionalProperties === 'object' && s.maxProperties === undefined));
    expect(unbounded.map(([path]) => path)).toEqual([]);
  });

  it('tells kubectl explain that the provider\'s region does not matter', () => {
    expect(root.description).toContain('us-east-1');
    expect(root.description).toContain("the provider's region does not matter");
    expect(specSchema.properties!.providerRef!.description).toContain('Its region does not matter');
  });

  it('is the same file in the chart', () => {
    expect(readFileSync(new URL(`../../../../charts/infra-operator/crds/${file}`, import.meta.url), 'utf8')).toBe(text);
  });
});
