import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FLAGS, parseConfig, parseDuration } from '../../../src/config.js';

/**
 * The chart passes the operator's flags as environment variables. These checks keep the chart and
 * src/config.ts from drifting apart: a renamed variable would otherwise be ignored silently by the
 * operator, and a changed default would differ between `node dist/main.js` and the chart.
 */

const chart = new URL('../../../charts/infra-operator/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, chart), 'utf8');

interface OperatorValues {
  leaderElect: boolean;
  leaderElectionId: string;
  maxConcurrentReconciles: number;
  syncPeriod: string;
  syncPeriodWithEvents: string;
  providerVerifyPeriod: string;
  secretPollPeriod: string;
  watchNamespace: string;
  logLevel: string;
  awsRequestsPerSecond: number;
  awsBurst: number;
  awsOperationRateLimits: boolean;
  shutdownTimeoutSeconds: number;
  awsEndpointUrl: string;
  allowCustomEndpoints: boolean;
  ambientIdentityNamespaces: string[];
  clusterName: string;
  credentialRefreshMargin: string;
}

const values = parse(read('values.yaml')) as { operator: OperatorValues; metrics: { port: number }; healthProbe: { port: number } };
const flagDefaults = (() => {
  const parsed = parseConfig([], {});
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
})();

describe('charts/infra-operator', () => {
  it('sets only environment variables that the operator reads', () => {
    const names = [...read('templates/deployment.yaml').matchAll(/^\s*- name: ([A-Z][A-Z0-9_]*)\s*$/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(5);
    // POD_NAMESPACE: the Lease's namespace; AWS_ENDPOINT_URL: read by the AWS SDK.
    const known = new Set([...FLAGS.map((f) => f.env), 'POD_NAMESPACE', 'AWS_ENDPOINT_URL']);
    expect(names.filter((n) => !known.has(n as string))).toEqual([]);
  });

  it('covers every operator flag in values.yaml or the template', () => {
    const template = read('templates/deployment.yaml');
    const missing = FLAGS.filter((f) => !template.includes(`name: ${f.env}`)).map((f) => f.env);
    // The Lease's namespace comes from POD_NAMESPACE (the release namespace), by design.
    expect(missing).toEqual(['LEADER_ELECTION_NAMESPACE']);
  });

  it("defaults to the operator's own defaults, except leader election (on, for two replicas)", () => {
    const op = values.operator;
    expect(op.leaderElect).toBe(true);
    expect(flagDefaults.leaderElect).toBe(false);
    expect(op.maxConcurrentReconciles).toBe(flagDefaults.maxConcurrentReconciles);
    expect(parseDuration(op.syncPeriod)).toBe(flagDefaults.syncPeriodMs);
    expect(parseDuration(op.syncPeriodWithEvents)).toBe(flagDefaults.syncPeriodWithEventsMs);
    expect(parseDuration(op.providerVerifyPeriod)).toBe(flagDefaults.providerVerifyPeriodMs);
    expect(parseDuration(op.secretPollPeriod)).toBe(flagDefaults.secretPollPeriodMs);
    expect(op.watchNamespace || undefined).toBe(flagDefaults.watchNamespace);
    expect(op.logLevel).toBe(flagDefaults.logLevel);
    expect(op.awsRequestsPerSecond).toBe(flagDefaults.awsRequestsPerSecond);
    expect(op.awsBurst).toBe(flagDefaults.awsBurst);
    expect(op.awsOperationRateLimits).toBe(flagDefaults.awsOperationRateLimits);
    expect(op.shutdownTimeoutSeconds * 1000).toBe(flagDefaults.shutdownTimeoutMs);
    expect(`:${values.metrics.port}`).toBe(flagDefaults.metricsBindAddress);
    expect(`:${values.healthProbe.port}`).toBe(flagDefaults.healthProbeBindAddress);
  });

  it('has the safe tenancy defaults: no custom endpoints, the documented ambient default, no cluster name', () => {
    const op = values.operator;
    expect(op.allowCustomEndpoints).toBe(false);
    expect(op.allowCustomEndpoints).toBe(flagDefaults.allowCustomEndpoints);
    expect(op.ambientIdentityNamespaces).toEqual(['*']);
    expect(op.ambientIdentityNamespaces.join(',')).toBe(flagDefaults.ambientIdentityNamespaces);
    expect(op.clusterName || undefined).toBe(flagDefaults.clusterName);
    expect(parseDuration(op.credentialRefreshMargin)).toBe(flagDefaults.credentialRefreshMarginMs);
  });

  it('passes the tenancy values through as the variables the operator parses', () => {
    const template = read('templates/deployment.yaml');
    expect(template).toContain('- name: ALLOW_CUSTOM_ENDPOINTS\n          value: {{ $op.allowCustomEndpoints | toString | quote }}');
    expect(template).toContain('- name: AMBIENT_IDENTITY_NAMESPACES\n          value: {{ join "," $op.ambientIdentityNamespaces | quote }}');
    // What the template renders for a shared cluster is what the operator accepts.
    const parsed = parseConfig([], { ALLOW_CUSTOM_ENDPOINTS: 'false', AMBIENT_IDENTITY_NAMESPACES: ['platform', 'infra-operator-system'].join(','), CLUSTER_NAME: 'prod-eu-1' });
    if (parsed.help) throw new Error('unexpected --help');
    expect(parsed.config).toMatchObject({ allowCustomEndpoints: false, ambientIdentityNamespaces: ['platform', 'infra-operator-system'], clusterName: 'prod-eu-1' });
  });

  it('validates the tenancy values in values.schema.json', () => {
    const schema = JSON.parse(read('values.schema.json')) as { properties: { operator: { properties: Record<string, { type?: string; pattern?: string; items?: { pattern: string } }> } } };
    const props = schema.properties.operator.properties;
    expect(props.allowCustomEndpoints?.type).toBe('boolean');
    expect(props.ambientIdentityNamespaces?.type).toBe('array');
    const item = new RegExp(props.ambientIdentityNamespaces?.items?.pattern ?? '^$');
    expect(['*', 'platform', 'team-a'].every((n) => item.test(n))).toBe(true);
    expect(['Team_A', 'a,b', ''].some((n) => item.test(n))).toBe(false);
    const cluster = new RegExp(props.clusterName?.pattern ?? '^$');
    expect(['', 'prod-eu-1', 'prod.cluster:1'].every((n) => cluster.test(n))).toBe(true);
    expect(['has space', 'a~b', '-lead'].some((n) => cluster.test(n))).toBe(false);
  });

  it('grants create on serviceaccounts/token and nothing else on ServiceAccounts', () => {
    const rbac = read('templates/rbac.yaml');
    expect(rbac).toMatch(/resources: \["serviceaccounts\/token"\]\n\s+verbs: \["create"\]/);
    expect(rbac).not.toMatch(/"serviceaccounts"/);
  });

  it('deploys the operator version of package.json by default', () => {
    const chartYaml = parse(read('Chart.yaml')) as { name: string; appVersion: string };
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(chartYaml.name).toBe('infra-operator');
    expect(chartYaml.appVersion).toBe(pkg.version);
  });
});
