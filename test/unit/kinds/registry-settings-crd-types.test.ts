/**
 * Keeps the types of ECRSigningRule, ECRAccountSetting and ECRPullTimeUpdateExclusion
 * (src/kinds/<kind>/types.ts) and their CRDs in step: a typed sample of every spec and status (the
 * compiler forces it to name every field, and nothing else) must have exactly the property paths of
 * the CRD's schema. Also pins names, short names, printer columns, explain text, the chart's copies,
 * and that the CRDs refuse what the operator would refuse, with the operator's own patterns.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCANNING_FILTER_SOURCE } from '../../../src/api/patterns.js';
import type { Condition } from '../../../src/api/types.js';
import { ECR_ACCOUNT_SETTING, type ECRAccountSettingSpec, type ECRAccountSettingStatus } from '../../../src/kinds/ecraccountsetting/types.js';
import { ACCOUNT_SETTINGS } from '../../../src/kinds/ecraccountsetting/validation.js';
import {
  ECR_PULL_TIME_UPDATE_EXCLUSION, type ECRPullTimeUpdateExclusionSpec, type ECRPullTimeUpdateExclusionStatus,
} from '../../../src/kinds/ecrpulltimeupdateexclusion/types.js';
import { PRINCIPAL_ARN_LENGTH, PRINCIPAL_ARN_SOURCE } from '../../../src/kinds/ecrpulltimeupdateexclusion/validation.js';
import { ECR_SIGNING_RULE, type ECRSigningRuleSpec, type ECRSigningRuleStatus } from '../../../src/kinds/ecrsigningrule/types.js';
import { SIGNING_FILTER_LENGTH, SIGNING_FILTER_SOURCE, SIGNING_PROFILE_ARN_LENGTH, SIGNING_PROFILE_ARN_SOURCE } from '../../../src/kinds/ecrsigningrule/validation.js';

type DeepRequired<T> = T extends readonly (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

interface Schema {
  type?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  enum?: string[];
  default?: unknown;
  required?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; fieldPath?: string }>;
  properties?: Record<string, Schema>;
  items?: Schema;
  description?: string;
}

const condition: DeepRequired<Condition> = { type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Available', message: '' };
const common = { ready: true, inForce: true, registryId: '123456789012', region: 'us-east-1', lastForceSync: '1', message: '', observedGeneration: 1, conditions: [condition] };
const providerRef = { namespace: 'platform', name: 'aws' };
const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/MyProfile';
const rule = { signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'myapp/*', filterType: 'WILDCARD_MATCH' as const }] };
const setting = { name: 'BLOB_MOUNTING' as const, value: 'ENABLED' };

const signingSpec: DeepRequired<ECRSigningRuleSpec> = { providerRef, ...rule, deletionPolicy: 'Retain' };
const signingStatus: DeepRequired<ECRSigningRuleStatus> = { ...common, appliedRule: rule, pendingRule: rule, rules: 1 };
const settingSpec: DeepRequired<ECRAccountSettingSpec> = { providerRef, ...setting, deletionPolicy: 'Retain' };
const settingStatus: DeepRequired<ECRAccountSettingStatus> = { ...common, appliedSetting: setting, pendingSetting: setting };
const exclusionSpec: DeepRequired<ECRPullTimeUpdateExclusionSpec> = { providerRef, principalArn: 'arn:aws:iam::123456789012:role/Scanner', deletionPolicy: 'Retain' };
const exclusionStatus: DeepRequired<ECRPullTimeUpdateExclusionStatus> = { ...common, appliedPrincipalArn: 'arn:aws:iam::123456789012:role/Scanner', pendingPrincipalArn: 'arn:aws:iam::123456789012:role/Scanner', exclusions: 1 };

function valuePaths(value: unknown, prefix: string): string[] {
  if (Array.isArray(value)) return value.length ? valuePaths(value[0], `${prefix}[]`) : [];
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [`${prefix}.${k}`, ...valuePaths(v, `${prefix}.${k}`)]);
  }
  return [];
}

function schemaPaths(schema: Schema, prefix: string): string[] {
  if (schema.items) return schemaPaths(schema.items, `${prefix}[]`);
  return Object.entries(schema.properties ?? {}).flatMap(([k, s]) => [`${prefix}.${k}`, ...schemaPaths(s, `${prefix}.${k}`)]);
}

function readCrd(plural: string, dir = 'config/crd/bases') {
  const text = readFileSync(`${dir}/aws-infra-operator.runner.codes_${plural}.yaml`, 'utf8');
  const crd = parse(text) as {
    spec: { scope: string; names: { kind: string; plural: string; shortNames: string[]; categories: string[] }; versions: Array<{ schema: { openAPIV3Schema: Schema }; additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }> };
  };
  const version = crd.spec.versions[0]!;
  return { text, crd, root: version.schema.openAPIV3Schema, columns: version.additionalPrinterColumns };
}

const cases = [
  { names: ECR_SIGNING_RULE, spec: signingSpec, status: signingStatus, columns: ['Profile', 'Rules'] },
  { names: ECR_ACCOUNT_SETTING, spec: settingSpec, status: settingStatus, columns: ['Setting', 'Value'] },
  { names: ECR_PULL_TIME_UPDATE_EXCLUSION, spec: exclusionSpec, status: exclusionStatus, columns: ['Principal', 'Exclusions'] },
];

describe('signing rule, account setting and pull-time exclusion CRDs match their kinds\' types', () => {
  for (const c of cases) {
    it(`${c.names.kind}: spec and status fields, names, printer columns`, () => {
      const { crd, root, columns } = readCrd(c.names.plural);
      expect(crd.spec.names).toMatchObject({ kind: c.names.kind, plural: c.names.plural, categories: ['ecr-registry'] });
      // Account-wide settings reach every repository of an account: cluster RBAC says who may change them.
      expect(crd.spec.scope).toBe('Cluster');
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
      expect(schemaPaths(root.properties!.spec!, 'spec').sort()).toEqual(valuePaths(c.spec, 'spec').sort());
      const statusSchema = schemaPaths(root.properties!.status!, 'status').sort();
      expect(statusSchema).toEqual(valuePaths(c.status, 'status').sort());
      for (const col of columns) {
        if (col.jsonPath.startsWith('.metadata')) continue;
        const path = col.jsonPath.slice(1).replace(/\[\?\(.*?\)\]/g, '[]');
        expect([...statusSchema, ...schemaPaths(root.properties!.spec!, 'spec')], `column ${col.name}`).toContain(path);
      }
      expect(columns.map((col) => col.name)).toEqual(['Ready', 'Provider Namespace', 'Provider', ...c.columns, 'Registry', 'Region', 'Reason', 'Age']);
    });

    it(`${c.names.kind}: every field has kubectl explain text, and the chart carries the same CRD byte for byte`, () => {
      const { root, text } = readCrd(c.names.plural);
      const missing: string[] = [];
      const visit = (schema: Schema, path: string) => {
        if (path !== 'metadata' && !schema.description?.trim()) missing.push(path || '(root)');
        for (const [k, v] of Object.entries(schema.properties ?? {})) visit(v, path ? `${path}.${k}` : k);
        if (schema.items) visit(schema.items, `${path}[]`);
      };
      visit(root, '');
      expect(missing).toEqual([]);
      expect(readCrd(c.names.plural, 'charts/infra-operator/crds').text).toBe(text);
    });

    it(`${c.names.kind}: providerRef names a namespace and a provider, immutably; deletionPolicy as the other account-wide kinds`, () => {
      const spec = readCrd(c.names.plural).root.properties!.spec!;
      const ref = spec.properties!.providerRef!;
      expect(ref.required?.sort()).toEqual(['name', 'namespace']);
      expect(ref['x-kubernetes-validations']?.map((v) => v.rule)).toContain('self == oldSelf');
      expect(spec.properties!.deletionPolicy).toMatchObject({ enum: ['Delete', 'Retain', 'Orphan'], default: 'Retain' });
      expect(spec.required).toContain('providerRef');
    });
  }
});

describe('the CRDs refuse what the operator would refuse, with the same linear-time patterns', () => {
  const spec = (plural: string) => readCrd(plural).root.properties!.spec!;

  it('ECRSigningRule: the signing profile ARN and the filters', () => {
    const s = spec(ECR_SIGNING_RULE.plural).properties!;
    expect(s.signingProfileArn).toMatchObject({ pattern: SIGNING_PROFILE_ARN_SOURCE, maxLength: SIGNING_PROFILE_ARN_LENGTH.max });
    expect(s.repositoryFilters!.maxItems).toBe(100);
    const filter = s.repositoryFilters!.items!.properties!;
    expect(filter.filter).toMatchObject({ pattern: SIGNING_FILTER_SOURCE, minLength: SIGNING_FILTER_LENGTH.min, maxLength: SIGNING_FILTER_LENGTH.max });
    expect(SIGNING_FILTER_SOURCE).toBe(SCANNING_FILTER_SOURCE);
    expect(filter.filterType).toMatchObject({ enum: ['WILDCARD_MATCH'], default: 'WILDCARD_MATCH' });
  });

  it('ECRAccountSetting: the names and values ECR takes today, the value checked against the name, the name immutable', () => {
    const s = spec(ECR_ACCOUNT_SETTING.plural);
    expect(s.properties!.name!.enum).toEqual(Object.keys(ACCOUNT_SETTINGS));
    expect(s.properties!.name!['x-kubernetes-validations']?.map((v) => v.rule)).toEqual(['self == oldSelf']);
    expect([...new Set(Object.values(ACCOUNT_SETTINGS).flatMap((v) => v.values))].sort()).toEqual([...s.properties!.value!.enum!].sort());
    const rule = s['x-kubernetes-validations']!.find((v) => v.fieldPath === '.value')!;
    // The CEL rule says the same as the operator's table: evaluate it for every name and value.
    // CEL's `x in [..]`, `==` and `?:` read as JavaScript's `[..].includes(x)`, `==` and `?:`.
    const js = rule.rule.replace(/self\.value in (\[[^\]]*\])/g, '$1.includes(value)').replace(/self\.(name|value)/g, '$1');
    const cel = new Function('name', 'value', `return ${js};`) as (name: string, value: string) => boolean;
    for (const name of Object.keys(ACCOUNT_SETTINGS) as Array<keyof typeof ACCOUNT_SETTINGS>) {
      for (const value of ['AWS_NATIVE', 'V2', 'ENABLED', 'DISABLED', 'CLAIR', 'V1']) {
        expect(cel(name, value), `${name}=${value}`).toBe(ACCOUNT_SETTINGS[name].values.includes(value));
      }
    }
  });

  it('ECRPullTimeUpdateExclusion: the principal ARN, immutable', () => {
    const principal = spec(ECR_PULL_TIME_UPDATE_EXCLUSION.plural).properties!.principalArn!;
    expect(principal).toMatchObject({ pattern: PRINCIPAL_ARN_SOURCE, maxLength: PRINCIPAL_ARN_LENGTH.max });
    expect(principal['x-kubernetes-validations']?.map((v) => v.rule)).toEqual(['self == oldSelf']);
  });
});
