import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EnvironmentInfo } from '../env/environment.js';
import { issueClientCert, kubeconfigYaml } from '../env/pki.js';
import type { AwsCli } from './aws.js';
import { Kubectl, eventually } from './kubectl.js';
import { condition, type Resource } from './scenario.js';

/**
 * Building blocks for the account-wide kinds (ECRReplicationRule, ECRRegistryPolicyStatement,
 * ECRRegistryScanningConfiguration): cluster-scoped manifests that name an AWSProvider of any
 * namespace, the registry's documents as awscli shows them (raw text too, for byte-for-byte
 * comparisons), calls by signer, Events of cluster-scoped objects, a tenant user and a /healthz watch.
 */

export const API_VERSION = 'aws-infra-operator.runner.codes/v1alpha1';
export const ADOPT_ANNOTATION = 'aws-infra-operator.runner.codes/adopt';
export const FINALIZER = 'aws-infra-operator.runner.codes/finalizer';
export const REGISTRY_KINDS = [
  'ecrreplicationrules', 'ecrregistrypolicystatements', 'ecrregistryscanningconfigurations', 'ecrsigningrules', 'ecraccountsettings',
  'ecrpulltimeupdateexclusions', 'ecrpullthroughcacherules', 'ecrrepositorycreationtemplates',
] as const;

export type DeletionPolicy = 'Retain' | 'Orphan' | 'Delete';

export interface ProviderRef {
  namespace: string;
  name: string;
}

export interface PartOptions {
  deletionPolicy?: DeletionPolicy;
  annotations?: Record<string, string>;
}

type Manifest = Record<string, unknown>;

function meta(name: string, opts: PartOptions): Manifest {
  return { name, ...(opts.annotations ? { annotations: opts.annotations } : {}) };
}

function partSpec(provider: ProviderRef, opts: PartOptions): Manifest {
  return { providerRef: { namespace: provider.namespace, name: provider.name }, ...(opts.deletionPolicy ? { deletionPolicy: opts.deletionPolicy } : {}) };
}

export function replicationRule(name: string, provider: ProviderRef, regions: string[], opts: PartOptions & { prefixes?: string[] } = {}): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'ECRReplicationRule',
    metadata: meta(name, opts),
    spec: {
      ...partSpec(provider, opts),
      destinations: regions.map((region) => ({ region })),
      ...(opts.prefixes ? { repositoryFilters: opts.prefixes.map((filter) => ({ filter, filterType: 'PREFIX_MATCH' })) } : {}),
    },
  };
}

export function policyStatement(name: string, provider: ProviderRef, sid: string, statement: string | Record<string, unknown>, opts: PartOptions = {}): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'ECRRegistryPolicyStatement',
    metadata: meta(name, opts),
    spec: { ...partSpec(provider, opts), sid, statement: typeof statement === 'string' ? statement : JSON.stringify(statement) },
  };
}

export interface ScanningRule {
  scanFrequency: 'SCAN_ON_PUSH' | 'CONTINUOUS_SCAN';
  filters: string[];
}

export function scanningConfiguration(name: string, provider: ProviderRef, scanType: 'BASIC' | 'ENHANCED', rules: ScanningRule[], opts: PartOptions = {}): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'ECRRegistryScanningConfiguration',
    metadata: meta(name, opts),
    spec: {
      ...partSpec(provider, opts),
      scanType,
      rules: rules.map((r) => ({ scanFrequency: r.scanFrequency, repositoryFilters: r.filters.map((filter) => ({ filter, filterType: 'WILDCARD' })) })),
    },
  };
}

/** Objects as one kubectl input (a v1 List, JSON: statements need no YAML quoting). */
export function manifest(...objects: Manifest[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
}

/** A statement that lets another account replicate into this registry. */
export function replicationStatement(account: string, principalAccount: string): Record<string, unknown> {
  return {
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${principalAccount}:root` },
    Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
    Resource: `arn:aws:ecr:us-east-1:${account}:repository/*`,
  };
}

export interface ReplicationRuleDoc {
  destinations: Array<{ region: string; registryId: string }>;
  repositoryFilters?: Array<{ filter: string; filterType: string }>;
}

export interface PolicyDoc {
  Version?: string;
  Statement: Array<Record<string, unknown> & { Sid?: string }>;
}

export interface ScanningDoc {
  scanType: string;
  rules: Array<{ scanFrequency: string; repositoryFilters: Array<{ filter: string; filterType: string }> }>;
}

/** The registry's three documents as awscli shows them. */
export class RegistryDocuments {
  constructor(private readonly aws: AwsCli) {}

  private async raw(args: string[], allowMissing = false): Promise<string | undefined> {
    const r = await this.aws.attempt(args);
    if (r.code === 0) return r.stdout;
    if (allowMissing && /RegistryPolicyNotFound/.test(r.stderr)) return undefined;
    throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  }

  /** get-registry-policy's output as printed; undefined when the registry has no policy. */
  policyOutput(): Promise<string | undefined> {
    return this.raw(['ecr', 'get-registry-policy'], true);
  }

  async policy(): Promise<PolicyDoc | undefined> {
    const out = await this.policyOutput();
    return out === undefined ? undefined : (JSON.parse((JSON.parse(out) as { policyText: string }).policyText) as PolicyDoc);
  }

  async sids(): Promise<string[]> {
    return ((await this.policy())?.Statement ?? []).map((s) => s.Sid ?? '(none)').sort();
  }

  async statement(sid: string): Promise<Record<string, unknown> | undefined> {
    return (await this.policy())?.Statement.find((s) => s.Sid === sid);
  }

  /** describe-registry's output as printed (the replication configuration). */
  async registryOutput(): Promise<string> {
    return (await this.raw(['ecr', 'describe-registry']))!;
  }

  async rules(): Promise<ReplicationRuleDoc[]> {
    return (JSON.parse(await this.registryOutput()) as { replicationConfiguration?: { rules: ReplicationRuleDoc[] } }).replicationConfiguration?.rules ?? [];
  }

  /** Each rule as its destination regions joined by '+', sorted. */
  async ruleRegions(): Promise<string[]> {
    return (await this.rules()).map((r) => r.destinations.map((d) => d.region).sort().join('+')).sort();
  }

  async scanningOutput(): Promise<string> {
    return (await this.raw(['ecr', 'get-registry-scanning-configuration']))!;
  }

  async scanning(): Promise<ScanningDoc> {
    return (JSON.parse(await this.scanningOutput()) as { scanningConfiguration: ScanningDoc }).scanningConfiguration;
  }

  async putPolicy(policy: PolicyDoc): Promise<void> {
    await this.aws.json(['ecr', 'put-registry-policy', '--policy-text', JSON.stringify(policy)]);
  }

  async putRules(rules: ReplicationRuleDoc[]): Promise<void> {
    await this.aws.json(['ecr', 'put-replication-configuration', '--replication-configuration', JSON.stringify({ rules })]);
  }

  async putScanning(config: ScanningDoc): Promise<void> {
    await this.aws.json(['ecr', 'put-registry-scanning-configuration', '--scan-type', config.scanType, '--rules', JSON.stringify(config.rules)]);
  }

  /** No replication rules, no registry policy, BASIC scanning without rules: a registry nobody set. */
  async reset(): Promise<void> {
    await this.putRules([]);
    const r = await this.aws.attempt(['ecr', 'delete-registry-policy']);
    if (r.code !== 0 && !/RegistryPolicyNotFound/.test(r.stderr)) throw new Error(`aws ecr delete-registry-policy failed: ${r.stderr}`);
    await this.putScanning({ scanType: 'BASIC', rules: [] });
  }
}

/** How many calls of "Service:Operation" each access key signed between two by-signer snapshots. */
export function signedDelta(before: Record<string, number>, after: Record<string, number>, operation: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(after)) {
    if (!key.startsWith(`${operation}@`)) continue;
    const delta = n - (before[key] ?? 0);
    if (delta > 0) out[key.slice(operation.length + 1)] = delta;
  }
  return out;
}

export interface EventInfo {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string; namespace?: string };
}

/** Events about an object, wherever the recorder put them (cluster-scoped objects: namespace default). */
export async function eventsOf(kubectl: Kubectl, kind: string, name: string, namespace?: string): Promise<EventInfo[]> {
  const selector = [`involvedObject.kind=${kind}`, `involvedObject.name=${name}`, ...(namespace ? [`involvedObject.namespace=${namespace}`] : [])].join(',');
  const list = await kubectl.getJson<{ items: EventInfo[] }>(['events', '-A', '--field-selector', selector]);
  return list.items;
}

/** Waits for an Event of that reason about the object and returns it. */
export function waitForEvent(kubectl: Kubectl, kind: string, name: string, reason: string, namespace?: string, timeoutMs = 20_000): Promise<EventInfo> {
  return eventually(`Event ${reason} for ${kind} ${namespace ? `${namespace}/` : ''}${name}`, async () => (await eventsOf(kubectl, kind, name, namespace)).find((e) => e.reason === reason), timeoutMs, 500);
}

/**
 * A user with its own client certificate (group `tenants`), as a team member of a shared cluster;
 * what it may do is whatever RBAC the caller binds to `user`.
 */
export function tenantUser(env: EnvironmentInfo, user: string): Kubectl {
  const cert = issueClientCert(path.join(env.dir, 'certs'), user, user, ['tenants']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-tenant-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(env.apiServerUrl, env.caCert, cert, user), { mode: 0o600 });
  return new Kubectl(kubeconfig);
}

export interface HealthRecord {
  probes: number;
  failures: string[];
  slowestMs: number;
}

/** Asks `url` every `intervalMs` until stopped; each probe must answer 200 within a second. */
export function watchHealth(url: string, intervalMs = 100): { stop(): Promise<HealthRecord> } {
  const record: HealthRecord = { probes: 0, failures: [], slowestMs: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        await res.text();
        if (!res.ok) record.failures.push(`HTTP ${res.status}`);
      } catch (err) {
        record.failures.push(String(err));
      }
      record.probes += 1;
      record.slowestMs = Math.max(record.slowestMs, Date.now() - started);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return record;
    },
  };
}

/**
 * Removes every object of the account-wide kinds from the cluster without any AWS call (their
 * finalizers are dropped first): what earlier files or runs left must not act on the registry
 * this file checks. Only for a cluster that no operator is serving at the time.
 */
export async function clearRegistryObjects(kubectl: Kubectl): Promise<void> {
  for (const kind of REGISTRY_KINDS) {
    const names = (await kubectl.ok(['get', kind, '-o', 'name'])).split('\n').map((l) => l.trim()).filter(Boolean);
    for (const name of names) {
      await kubectl.run(['patch', name, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
      await kubectl.run(['delete', name, '--ignore-not-found', '--wait=false']);
    }
  }
}

/** Waits until a cluster-scoped object is gone. */
export async function waitForClusterObjectGone(kubectl: Kubectl, kind: string, name: string, timeoutMs = 30_000): Promise<void> {
  await eventually(`${kind} ${name} to be gone`, async () => {
    const r = await kubectl.run(['get', kind, name, '--ignore-not-found', '-o', 'name']);
    return r.code === 0 && r.stdout.trim() === '' ? true : undefined;
  }, timeoutMs, 200);
}

/**
 * Waits until a cluster-scoped object's Ready condition has the status (and reason), for its
 * current generation; fails with the last status seen.
 */
export async function waitForPart(kubectl: Kubectl, kind: string, name: string, expect: { status?: string; reason?: string } = {}, timeoutMs = 60_000): Promise<Resource> {
  const status = expect.status ?? 'True';
  let last: Resource | undefined;
  try {
    return await eventually(`${kind} ${name} Ready=${status}${expect.reason ? ` (${expect.reason})` : ''}`, async () => {
      const result = await kubectl.run(['get', kind, name, '-o', 'json']);
      if (result.code !== 0) return undefined;
      last = JSON.parse(result.stdout) as Resource;
      const ready = condition(last, 'Ready');
      if (!ready || ready.status !== status) return undefined;
      if (expect.reason && ready.reason !== expect.reason) return undefined;
      if (ready.observedGeneration !== last.metadata.generation) return undefined;
      return last;
    }, timeoutMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast seen status: ${JSON.stringify(last?.status ?? null)}`);
  }
}
