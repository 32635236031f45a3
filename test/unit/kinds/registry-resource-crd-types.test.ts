/**
 * Keeps the types of the two account-wide resource kinds (ECRPullThroughCacheRule,
 * ECRRepositoryCreationTemplate) and their CRDs in step: a typed sample of every spec and status
 * (the compiler forces it to name every field, and nothing else) must have exactly the property paths
 * of the CRD's schema. Also pins scope, names, printer columns, explain text, the immutable fields,
 * the CEL rules and the patterns the operator shares with the API server, and the operator's own
 * checks: the same patterns as AWS's on a corpus, in linear time, each problem naming its field.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CREATION_TEMPLATE_PREFIX_LENGTH, IAM_ROLE_ARN_SOURCE, matchesWithin, PULL_THROUGH_CACHE_CREDENTIAL_ARN_PATTERN, PULL_THROUGH_CACHE_CREDENTIAL_ARN_SOURCE,
  PULL_THROUGH_CACHE_PREFIX_LENGTH, REPOSITORY_PREFIX_PATTERN, REPOSITORY_PREFIX_SOURCE, TAG_MUTABILITY_EXCLUSION_FILTER_SOURCE, TEMPLATE_KMS_KEY_SOURCE,
} from '../../../src/api/patterns.js';
import type { Condition } from '../../../src/api/types.js';
import { ECR_PULL_THROUGH_CACHE_RULE, UPSTREAM_REGISTRIES, type ECRPullThroughCacheRuleSpec, type ECRPullThroughCacheRuleStatus } from '../../../src/kinds/ecrpullthroughcacherule/types.js';
import { CREDENTIALED_UPSTREAMS, validateForRegistry, validatePullThroughCacheRuleSpec } from '../../../src/kinds/ecrpullthroughcacherule/validation.js';
import {
  ECR_REPOSITORY_CREATION_TEMPLATE, type ECRRepositoryCreationTemplateSpec, type ECRRepositoryCreationTemplateStatus,
} from '../../../src/kinds/ecrrepositorycreationtemplate/types.js';
import { validateCreationTemplateSpec } from '../../../src/kinds/ecrrepositorycreationtemplate/validation.js';
import { PREFIX_PATTERN as AWS_PREFIX_PATTERN } from '../../e2e/env/pull-through-cache-emulation.js';

type DeepRequired<T> = T extends readonly (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

interface Schema {
  type?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  enum?: string[];
  required?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string }>;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
  description?: string;
}

const condition: DeepRequired<Condition> = { type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Available', message: '' };
const common = {
  ready: true, registryId: '123456789012', region: 'us-east-1', lastForceSync: '1', appliedPrefix: 'p', pendingPrefix: 'p',
  message: '', observedGeneration: 1, conditions: [condition],
};

const ruleSpec: DeepRequired<ECRPullThroughCacheRuleSpec> = {
  providerRef: { namespace: 'platform', name: 'aws' },
  ecrRepositoryPrefix: 'docker-hub',
  upstreamRegistry: 'docker-hub',
  upstreamRegistryUrl: 'registry-1.docker.io',
  upstreamRepositoryPrefix: 'library',
  credentialArn: 'arn',
  credentialsSecretRef: { name: 'dockerhub' },
  customRoleArn: 'arn',
  deletionPolicy: 'Retain',
};
const ruleStatus: DeepRequired<ECRPullThroughCacheRuleStatus> = {
  ...common, createdAt: 't', updatedAt: 't', upstreamRegistry: 'docker-hub', upstreamRegistryUrl: 'u', credentialArn: 'a', managedSecretArn: 'a',
};
const templateSpec: DeepRequired<ECRRepositoryCreationTemplateSpec> = {
  providerRef: { namespace: 'platform', name: 'aws' },
  prefix: 'ROOT',
  description: 'd',
  appliedFor: ['PULL_THROUGH_CACHE'],
  encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'k' },
  imageTagMutability: 'MUTABLE',
  imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
  resourceTags: { team: 'a' },
  repositoryPolicyText: '{}',
  lifecyclePolicy: { policyText: '{}' },
  customRoleArn: 'arn',
  deletionPolicy: 'Retain',
};
const templateStatus: DeepRequired<ECRRepositoryCreationTemplateStatus> = { ...common, createdAt: 't', updatedAt: 't' };

function valuePaths(value: unknown, prefix: string): string[] {
  if (Array.isArray(value)) return value.length ? valuePaths(value[0], `${prefix}[]`) : [];
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [`${prefix}.${k}`, ...valuePaths(v, `${prefix}.${k}`)]);
  }
  return [];
}

function schemaPaths(schema: Schema, prefix: string): string[] {
  if (schema.items) return schemaPaths(schema.items, `${prefix}[]`);
  // A map of strings (resourceTags): its keys are data, not fields.
  if (schema.additionalProperties) return [];
  return Object.entries(schema.properties ?? {}).flatMap(([k, s]) => [`${prefix}.${k}`, ...schemaPaths(s, `${prefix}.${k}`)]);
}

function readCrd(dir: string, plural: string) {
  const text = readFileSync(`${dir}/aws-infra-operator.runner.codes_${plural}.yaml`, 'utf8');
  const crd = parse(text) as {
    spec: { scope: string; names: { kind: string; shortNames: string[]; categories: string[] }; versions: Array<{ schema: { openAPIV3Schema: Schema }; additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }> };
  };
  const version = crd.spec.versions[0]!;
  return { text, crd, root: version.schema.openAPIV3Schema, spec: version.schema.openAPIV3Schema.properties!.spec!, columns: version.additionalPrinterColumns };
}

const cases = [
  { names: ECR_PULL_THROUGH_CACHE_RULE, spec: ruleSpec, status: ruleStatus, immutable: ['providerRef', 'ecrRepositoryPrefix', 'upstreamRegistry', 'upstreamRegistryUrl'] },
  { names: ECR_REPOSITORY_CREATION_TEMPLATE, spec: templateSpec, status: templateStatus, immutable: ['providerRef', 'prefix'] },
];

describe('account-wide resource CRDs match their kinds\' types', () => {
  for (const c of cases) {
    it(`${c.names.kind}: spec and status fields, scope, names, printer columns`, () => {
      const { crd, root, columns } = readCrd('config/crd/bases', c.names.plural);
      expect(crd.spec.names.kind).toBe(c.names.kind);
      expect(crd.spec.scope).toBe('Cluster');
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
      expect(crd.spec.names.categories).toContain('ecr-registry');
      // resourceTags is a map: its sample key is data, not a field.
      const specPaths = valuePaths(c.spec, 'spec').filter((p) => !p.startsWith('spec.resourceTags.'));
      expect(schemaPaths(root.properties!.spec!, 'spec').sort()).toEqual(specPaths.sort());
      const statusSchema = schemaPaths(root.properties!.status!, 'status').sort();
      expect(statusSchema).toEqual(valuePaths(c.status, 'status').sort());
      for (const col of columns) {
        if (col.jsonPath.startsWith('.metadata')) continue;
        const path = col.jsonPath.slice(1).replace(/\[\?\(.*?\)\]/g, '[]');
        expect([...statusSchema, ...schemaPaths(root.properties!.spec!, 'spec')], `column ${col.name}`).toContain(path);
      }
      expect(columns.map((col) => col.name)).toEqual(expect.arrayContaining(['Ready', 'Prefix', 'Registry', 'Region', 'Reason', 'Age']));
    });

    it(`${c.names.kind}: every field has kubectl explain text; the chart's copy is the same file`, () => {
      const { root, text } = readCrd('config/crd/bases', c.names.plural);
      const missing: string[] = [];
      const visit = (schema: Schema, path: string) => {
        if (path !== 'metadata' && !schema.description?.trim()) missing.push(path || '(root)');
        for (const [k, v] of Object.entries(schema.properties ?? {})) visit(v, path ? `${path}.${k}` : k);
        if (schema.items) visit(schema.items, `${path}[]`);
      };
      visit(root, '');
      expect(missing).toEqual([]);
      expect(readCrd('charts/infra-operator/crds', c.names.plural).text).toBe(text);
    });

    it(`${c.names.kind}: the fields that name the resource are immutable`, () => {
      const { spec } = readCrd('config/crd/bases', c.names.plural);
      for (const field of c.immutable) {
        expect(spec.properties![field]!['x-kubernetes-validations']?.map((v) => v.rule), field).toContain('self == oldSelf');
      }
    });
  }

  it('patterns are the operator\'s own, and the upstream registries every value ECR lists', () => {
    const rule = readCrd('config/crd/bases', ECR_PULL_THROUGH_CACHE_RULE.plural).spec.properties!;
    expect(rule.ecrRepositoryPrefix!.pattern).toBe(REPOSITORY_PREFIX_SOURCE);
    expect(rule.ecrRepositoryPrefix!.maxLength).toBe(PULL_THROUGH_CACHE_PREFIX_LENGTH.max);
    expect(rule.upstreamRepositoryPrefix!.pattern).toBe(REPOSITORY_PREFIX_SOURCE);
    expect(rule.credentialArn!.pattern).toBe(PULL_THROUGH_CACHE_CREDENTIAL_ARN_SOURCE);
    expect(rule.customRoleArn!.pattern).toBe(IAM_ROLE_ARN_SOURCE);
    expect(rule.upstreamRegistry!.enum).toEqual([...UPSTREAM_REGISTRIES]);
    const template = readCrd('config/crd/bases', ECR_REPOSITORY_CREATION_TEMPLATE.plural).spec.properties!;
    expect(template.prefix!.pattern).toBe(REPOSITORY_PREFIX_SOURCE);
    expect(template.prefix!.maxLength).toBe(CREATION_TEMPLATE_PREFIX_LENGTH.max);
    expect(template.encryptionConfiguration!.properties!.kmsKey!.pattern).toBe(TEMPLATE_KMS_KEY_SOURCE);
    expect(template.customRoleArn!.pattern).toBe(IAM_ROLE_ARN_SOURCE);
    expect(template.imageTagMutabilityExclusionFilters!.items!.properties!.filter!.pattern).toBe(TAG_MUTABILITY_EXCLUSION_FILTER_SOURCE);
    expect(template.repositoryPolicyText!.maxLength).toBe(10_240);
    expect(template.lifecyclePolicy!.properties!.policyText!.maxLength).toBe(30_720);
  });

  it('the credential rule of the CRD names exactly the upstreams the operator asks credentials for', () => {
    const { spec } = readCrd('config/crd/bases', ECR_PULL_THROUGH_CACHE_RULE.plural);
    const rule = spec['x-kubernetes-validations']!.map((v) => v.rule).find((r) => r.includes('credentialsSecretRef'))!;
    const listed = /\[([^\]]*)\]/.exec(rule)![1]!.split(',').map((s) => s.trim().replace(/'/g, ''));
    expect(listed.sort()).toEqual([...CREDENTIALED_UPSTREAMS].sort());
  });
});

describe('the repository prefix pattern', () => {
  // AWS's pattern (the API reference's PullThroughCacheRuleRepositoryPrefix and Prefix), unanchored
  // groups as AWS writes them: run only on short strings here.
  const aws = new RegExp(AWS_PREFIX_PATTERN);
  const alphabet = 'a0._-/R';

  it('accepts exactly AWS\'s language on every string of up to 6 characters over its classes', () => {
    let compared = 0;
    const differ: string[] = [];
    const walk = (s: string) => {
      if (s.length > 0) {
        compared++;
        if (REPOSITORY_PREFIX_PATTERN.test(s) !== aws.test(s)) differ.push(s);
      }
      if (s.length < 6) for (const c of alphabet) walk(s + c);
    };
    walk('');
    for (const s of ['ROOT', 'ROOTa', 'docker-hub', 'a__b', 'a___b', 'a---b', 'team/app/', 'x/', '/x', 'a..b', 'ecr-public', 'a.b_c__d-e/f']) {
      if (REPOSITORY_PREFIX_PATTERN.test(s) !== aws.test(s)) differ.push(s);
    }
    expect(differ).toEqual([]);
    expect(compared).toBeGreaterThan(130_000);
    expect(REPOSITORY_PREFIX_PATTERN.test('docker-hub')).toBe(true);
    expect(REPOSITORY_PREFIX_PATTERN.test('Docker')).toBe(false);
  }, 60_000);

  it('answers a long hostile input at once', () => {
    for (const hostile of [`${'a-'.repeat(20_000)}!`, `${'a__'.repeat(20_000)}_!`, `${'a/'.repeat(20_000)}/`]) {
      const started = performance.now();
      expect(REPOSITORY_PREFIX_PATTERN.test(hostile)).toBe(false);
      expect(PULL_THROUGH_CACHE_CREDENTIAL_ARN_PATTERN.test(`arn:aws:secretsmanager:${'a:'.repeat(20_000)}`)).toBe(false);
      expect(performance.now() - started).toBeLessThan(50);
    }
  });
});

describe('the operator\'s checks name the field', () => {
  const base: ECRPullThroughCacheRuleSpec = {
    providerRef: { namespace: 'platform', name: 'aws' }, ecrRepositoryPrefix: 'docker-hub', upstreamRegistry: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io',
    credentialsSecretRef: { name: 'dockerhub' },
  };

  it('pull through cache rule', () => {
    expect(validatePullThroughCacheRuleSpec(base)).toBeUndefined();
    expect(validatePullThroughCacheRuleSpec({ ...base, ecrRepositoryPrefix: 'Docker' })).toMatch(/^spec\.ecrRepositoryPrefix: /);
    expect(validatePullThroughCacheRuleSpec({ ...base, upstreamRegistryUrl: 'docker.io' })).toMatch(/^spec\.upstreamRegistryUrl: .*registry-1\.docker\.io/);
    expect(validatePullThroughCacheRuleSpec({ ...base, credentialsSecretRef: undefined })).toMatch(/exactly one of spec\.credentialArn and spec\.credentialsSecretRef/);
    expect(validatePullThroughCacheRuleSpec({ ...base, credentialsSecretRef: undefined, credentialArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub' })).toMatch(/^spec\.credentialArn: /);
    const publicRule = { ...base, ecrRepositoryPrefix: 'ecr-public', upstreamRegistry: 'ecr-public' as const, upstreamRegistryUrl: 'public.ecr.aws' };
    expect(validatePullThroughCacheRuleSpec(publicRule)).toMatch(/takes no upstream credentials/);
    const { credentialsSecretRef: _c, ...noCredentials } = publicRule;
    expect(validatePullThroughCacheRuleSpec(noCredentials)).toBeUndefined();
    expect(validatePullThroughCacheRuleSpec({ ...noCredentials, customRoleArn: 'arn:aws:iam::123456789012:role/R' })).toMatch(/^spec\.customRoleArn: only an upstream ecr/);
    const ecr = { ...noCredentials, ecrRepositoryPrefix: 'partner', upstreamRegistry: 'ecr' as const, upstreamRegistryUrl: '444455556666.dkr.ecr.eu-west-1.amazonaws.com' };
    expect(validatePullThroughCacheRuleSpec(ecr)).toBeUndefined();
    expect(validateForRegistry(ecr, { accountId: '123456789012', region: 'us-east-1' })).toMatch(/^spec\.customRoleArn: the upstream registry is in another account/);
    expect(validateForRegistry({ ...ecr, customRoleArn: 'arn:aws:iam::123456789012:role/Pull' }, { accountId: '123456789012', region: 'us-east-1' })).toBeUndefined();
    expect(validateForRegistry({ ...ecr, upstreamRegistryUrl: '123456789012.dkr.ecr.us-east-1.amazonaws.com' }, { accountId: '123456789012', region: 'us-east-1' })).toMatch(/this registry itself/);
    expect(matchesWithin('arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/dockerhub-AbCdEf', PULL_THROUGH_CACHE_CREDENTIAL_ARN_PATTERN, { min: 50, max: 612 })).toBe(true);
  });

  it('repository creation template: the policies by the same checks as ECRRepository\'s', () => {
    const spec: ECRRepositoryCreationTemplateSpec = { providerRef: { namespace: 'platform', name: 'aws' }, prefix: 'docker-hub', appliedFor: ['PULL_THROUGH_CACHE'] };
    expect(validateCreationTemplateSpec(spec)).toBeUndefined();
    expect(validateCreationTemplateSpec({ ...spec, prefix: 'Bad' })).toMatch(/^spec\.prefix: /);
    expect(validateCreationTemplateSpec({ ...spec, appliedFor: [] })).toMatch(/^spec\.appliedFor: /);
    expect(validateCreationTemplateSpec({ ...spec, imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' })).toMatch(/^spec\.imageTagMutabilityExclusionFilters: required/);
    expect(validateCreationTemplateSpec({ ...spec, encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/mine' } })).toMatch(/^spec\.encryptionConfiguration\.kmsKey: .*full ARN/);
    expect(validateCreationTemplateSpec({ ...spec, resourceTags: { 'aws-infra-operator.runner.codes/owner': 'x' } })).toMatch(/^spec\.resourceTags: .*reserved/);
    expect(validateCreationTemplateSpec({ ...spec, lifecyclePolicy: { policyText: '{"rules": [' } })).toMatch(/^spec\.lifecyclePolicy\.policyText: the lifecycle policy is not valid JSON at line 1/);
    expect(validateCreationTemplateSpec({ ...spec, repositoryPolicyText: '{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Principal":"*","Action":"ecr:*"}]}' }))
      .toBe('spec.repositoryPolicyText: Statement[0].Effect must be one of "Allow", "Deny" (got "Permit")');
  });
});
