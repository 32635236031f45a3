/**
 * Keeps src/api/registry-types.ts and the three registry-level CRDs in step: a typed sample object
 * of every spec and status (the compiler forces it to name every field, and nothing else) must have
 * exactly the property paths of the CRD's schema. Also pins names, short names and printer columns.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ECR_REGISTRY_POLICY_STATEMENT, ECR_REGISTRY_SCANNING_CONFIGURATION, ECR_REPLICATION_RULE,
  type ECRRegistryPolicyStatementSpec, type ECRRegistryPolicyStatementStatus, type ECRRegistryScanningConfigurationSpec,
  type ECRRegistryScanningConfigurationStatus, type ECRReplicationRuleSpec, type ECRReplicationRuleStatus,
} from '../../../src/api/registry-types.js';
import type { Condition } from '../../../src/api/types.js';

type DeepRequired<T> = T extends readonly (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  description?: string;
}

const condition: DeepRequired<Condition> = { type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Available', message: '' };
const common = { ready: true, inForce: true, registryId: '123456789012', region: 'us-east-1', registry: { entries: 1, foreign: 0, scanType: 'BASIC' }, rejectedGeneration: 1, message: '', observedGeneration: 1, conditions: [condition] };

const replicationSpec: DeepRequired<ECRReplicationRuleSpec> = {
  providerRef: { name: 'aws' },
  destinations: [{ region: 'eu-west-1', registryId: '123456789012' }],
  repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }],
  deletionPolicy: 'Retain',
};
const replicationStatus: DeepRequired<ECRReplicationRuleStatus> = {
  ...common,
  appliedRule: { destinations: [{ region: 'eu-west-1', registryId: '123456789012' }], repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }] },
};
const policySpec: DeepRequired<ECRRegistryPolicyStatementSpec> = { providerRef: { name: 'aws' }, sid: 'A', statement: '{}', deletionPolicy: 'Retain' };
const policyStatus: DeepRequired<ECRRegistryPolicyStatementStatus> = { ...common, appliedStatement: '{}' };
const scanningSpec: DeepRequired<ECRRegistryScanningConfigurationSpec> = {
  providerRef: { name: 'aws' },
  scanType: 'ENHANCED',
  rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }],
  deletionPolicy: 'Retain',
};
const scanningStatus: DeepRequired<ECRRegistryScanningConfigurationStatus> = {
  ...common,
  appliedConfiguration: { scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] },
};

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
    spec: { names: { kind: string; shortNames: string[] }; versions: Array<{ schema: { openAPIV3Schema: Schema }; additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }> };
  };
  const version = crd.spec.versions[0]!;
  return { crd, root: version.schema.openAPIV3Schema, columns: version.additionalPrinterColumns };
}

describe('registry-level CRDs match src/api/registry-types.ts', () => {
  const cases = [
    { names: ECR_REPLICATION_RULE, spec: replicationSpec, status: replicationStatus },
    { names: ECR_REGISTRY_POLICY_STATEMENT, spec: policySpec, status: policyStatus },
    { names: ECR_REGISTRY_SCANNING_CONFIGURATION, spec: scanningSpec, status: scanningStatus },
  ];
  for (const c of cases) {
    it(`${c.names.kind}: spec and status fields, names, printer columns`, () => {
      const { crd, root, columns } = readCrd(c.names.plural);
      expect(crd.spec.names.kind).toBe(c.names.kind);
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
      expect(schemaPaths(root.properties!.spec!, 'spec').sort()).toEqual(valuePaths(c.spec, 'spec').sort());
      const statusSchema = schemaPaths(root.properties!.status!, 'status').sort();
      // The registry summary's scanType is one schema for all kinds; conditions are metav1.Condition.
      expect(statusSchema).toEqual(valuePaths(c.status, 'status').sort());
      for (const col of columns) {
        if (col.jsonPath.startsWith('.metadata')) continue;
        const path = col.jsonPath.slice(1);
        expect([...statusSchema, ...schemaPaths(root.properties!.spec!, 'spec')], `column ${col.name}`).toContain(path);
      }
      expect(columns.map((col) => col.name)).toEqual(expect.arrayContaining(['Ready', 'In Force', 'Registry', 'Region', 'Age']));
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
