/**
 * Keeps the types of the three account-wide kinds (src/kinds/<kind>/types.ts) and their CRDs in step: a typed sample object
 * of every spec and status (the compiler forces it to name every field, and nothing else) must have
 * exactly the property paths of the CRD's schema. Also pins names, short names and printer columns.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  matchesWithin, REGION_SOURCE, REGISTRY_ID_SOURCE, REPLICATION_FILTER_SOURCE, SCANNING_FILTER_LENGTH, SCANNING_FILTER_SOURCE, SID_SOURCE,
} from '../../../src/api/patterns.js';
import type { Condition } from '../../../src/api/types.js';
import { REGISTRY_POLICY_MAX_CHARS } from '../../../src/kinds/ecrregistrypolicystatement/validation.js';
import { ECR_REGISTRY_POLICY_STATEMENT, type ECRRegistryPolicyStatementSpec, type ECRRegistryPolicyStatementStatus } from '../../../src/kinds/ecrregistrypolicystatement/types.js';
import {
  ECR_REGISTRY_SCANNING_CONFIGURATION, type ECRRegistryScanningConfigurationSpec, type ECRRegistryScanningConfigurationStatus,
} from '../../../src/kinds/ecrregistryscanningconfiguration/types.js';
import { ECR_REPLICATION_RULE, type ECRReplicationRuleSpec, type ECRReplicationRuleStatus } from '../../../src/kinds/ecrreplicationrule/types.js';

type DeepRequired<T> = T extends readonly (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

interface Schema {
  type?: string;
  pattern?: string;
  maxLength?: number;
  required?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string }>;
  properties?: Record<string, Schema>;
  items?: Schema;
  description?: string;
}

const condition: DeepRequired<Condition> = { type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Available', message: '' };
const common = { ready: true, inForce: true, registryId: '123456789012', region: 'us-east-1', lastForceSync: '1', message: '', observedGeneration: 1, conditions: [condition] };
const rule = { destinations: [{ region: 'eu-west-1', registryId: '123456789012' }], repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' as const }] };
const configuration = { scanType: 'ENHANCED' as const, rules: [{ scanFrequency: 'CONTINUOUS_SCAN' as const, repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' as const }] }] };

const replicationSpec: DeepRequired<ECRReplicationRuleSpec> = {
  providerRef: { namespace: 'platform', name: 'aws' },
  destinations: [{ region: 'eu-west-1', registryId: '123456789012' }],
  repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }],
  deletionPolicy: 'Retain',
};
const replicationStatus: DeepRequired<ECRReplicationRuleStatus> = { ...common, appliedRule: rule, pendingRule: rule, rules: 1 };
const policySpec: DeepRequired<ECRRegistryPolicyStatementSpec> = { providerRef: { namespace: 'platform', name: 'aws' }, sid: 'A', statement: '{}', deletionPolicy: 'Retain' };
const policyStatus: DeepRequired<ECRRegistryPolicyStatementStatus> = { ...common, appliedStatement: '{}', pendingStatement: '{}', statements: 1 };
const scanningSpec: DeepRequired<ECRRegistryScanningConfigurationSpec> = {
  providerRef: { namespace: 'platform', name: 'aws' },
  scanType: 'ENHANCED',
  rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }],
  deletionPolicy: 'Retain',
};
const scanningStatus: DeepRequired<ECRRegistryScanningConfigurationStatus> = { ...common, appliedConfiguration: configuration, pendingConfiguration: configuration, scanType: 'ENHANCED' };

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

function readCrd(plural: string) {
  const crd = parse(readFileSync(`config/crd/bases/aws-infra-operator.runner.codes_${plural}.yaml`, 'utf8')) as {
    spec: { scope: string; names: { kind: string; shortNames: string[] }; versions: Array<{ schema: { openAPIV3Schema: Schema }; additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }> };
  };
  const version = crd.spec.versions[0]!;
  return { crd, root: version.schema.openAPIV3Schema, columns: version.additionalPrinterColumns };
}

describe('account-wide CRDs match their kinds\' types', () => {
  const cases = [
    { names: ECR_REPLICATION_RULE, spec: replicationSpec, status: replicationStatus },
    { names: ECR_REGISTRY_POLICY_STATEMENT, spec: policySpec, status: policyStatus },
    { names: ECR_REGISTRY_SCANNING_CONFIGURATION, spec: scanningSpec, status: scanningStatus },
  ];
  for (const c of cases) {
    it(`${c.names.kind}: spec and status fields, names, printer columns`, () => {
      const { crd, root, columns } = readCrd(c.names.plural);
      expect(crd.spec.names.kind).toBe(c.names.kind);
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
      expect(columns.map((col) => col.name)).toEqual(expect.arrayContaining(['Ready', 'Registry', 'Region', 'Age']));
    });

    it(`${c.names.kind}: every field has kubectl explain text`, () => {
      const { root } = readCrd(c.names.plural);
      const missing: string[] = [];
      const visit = (schema: Schema, path: string) => {
        if (path !== 'metadata' && !schema.description?.trim()) missing.push(path || '(root)');
        for (const [k, v] of Object.entries(schema.properties ?? {})) visit(v, path ? `${path}.${k}` : k);
        if (schema.items) visit(schema.items, `${path}[]`);
      };
      visit(root, '');
      expect(missing).toEqual([]);
    });
  }
});

describe('account-wide CRDs refuse what the operator would refuse, with the same linear-time patterns', () => {
  const spec = (plural: string) => readCrd(plural).root.properties!.spec!;
  it('providerRef names a namespace and a provider, immutably', () => {
    for (const plural of [ECR_REPLICATION_RULE.plural, ECR_REGISTRY_POLICY_STATEMENT.plural, ECR_REGISTRY_SCANNING_CONFIGURATION.plural]) {
      const ref = spec(plural).properties!.providerRef!;
      expect(ref.required?.sort()).toEqual(['name', 'namespace']);
      expect(ref['x-kubernetes-validations']?.map((v) => v.rule)).toContain('self == oldSelf');
    }
  });

  it('patterns and lengths are the operator\'s own', () => {
    const replication = spec(ECR_REPLICATION_RULE.plural).properties!;
    expect(replication.repositoryFilters!.items!.properties!.filter!.pattern).toBe(REPLICATION_FILTER_SOURCE);
    expect(replication.destinations!.items!.properties!.region!.pattern).toBe(REGION_SOURCE);
    expect(replication.destinations!.items!.properties!.registryId!.pattern).toBe(REGISTRY_ID_SOURCE);
    const policy = spec(ECR_REGISTRY_POLICY_STATEMENT.plural).properties!;
    expect(policy.sid!.pattern).toBe(SID_SOURCE);
    expect(policy.statement!.maxLength).toBe(REGISTRY_POLICY_MAX_CHARS);
    const filter = spec(ECR_REGISTRY_SCANNING_CONFIGURATION.plural).properties!.rules!.items!.properties!.repositoryFilters!.items!.properties!.filter!;
    expect(filter.pattern).toBe(SCANNING_FILTER_SOURCE);
    expect(filter.maxLength).toBe(SCANNING_FILTER_LENGTH.max);
    // The filter that held the event loop for good is refused by the pattern the API server runs.
    expect(matchesWithin(`${'a'.repeat(39)}!`, new RegExp(filter.pattern!), SCANNING_FILTER_LENGTH)).toBe(false);
  });
});
