import path from 'node:path';
import { Kubectl, eventually } from './kubectl.js';

/** Building blocks shared by the e2e suites: CRDs, namespaces, providers, conditions. */

export async function installCrds(kubectl: Kubectl): Promise<void> {
  await kubectl.ok(['apply', '--server-side', '--force-conflicts', '-f', path.resolve('config/crd/bases')]);
  const crds = ['awsproviders', 'ecrrepositories', 'ecrpublicrepositories', 'ecrreplicationrules', 'ecrregistrypolicystatements', 'ecrregistryscanningconfigurations', 'ecrsigningrules', 'ecraccountsettings', 'ecrpulltimeupdateexclusions',
    'ecrpullthroughcacherules', 'ecrrepositorycreationtemplates',
  ];
  await kubectl.ok(['wait', '--for=condition=Established', ...crds.map((c) => `crd/${c}.aws-infra-operator.runner.codes`), '--timeout=60s']);
}

let counter = 0;
/** A fresh namespace; its name is also a unique prefix for repository names in the shared moto. */
export async function freshNamespace(kubectl: Kubectl, prefix: string): Promise<string> {
  counter += 1;
  const name = `${prefix}-${Date.now().toString(36)}-${counter}`;
  await kubectl.ok(['create', 'namespace', name]);
  return name;
}

export function staticProviderYaml(namespace: string, name = 'aws', extra: { defaultTags?: Record<string, string>; endpoint?: string; keyId?: string } = {}): string {
  const tags = extra.defaultTags ?? { 'managed-by': 'infra-operator', environment: 'test' };
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}-credentials
  namespace: ${namespace}
type: Opaque
stringData:
  access-key-id: ${extra.keyId ?? 'test'}
  secret-access-key: test
---
apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: AWSProvider
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  region: us-east-1
${extra.endpoint ? `  endpoint: ${extra.endpoint}\n` : ''}  accessKeyIDRef:
    name: ${name}-credentials
    key: access-key-id
  secretAccessKeyRef:
    name: ${name}-credentials
    key: secret-access-key
  defaultTags:
${Object.entries(tags).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}
`;
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

export interface Resource {
  metadata: { name: string; namespace: string; generation?: number; finalizers?: string[]; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Condition[] };
}

/** An AWSProvider in us-east-1 whose spec goes on with `spec` (YAML lines, indented under spec:). */
export function providerYaml(ns: string, name: string, spec: string): string {
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: AWSProvider
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  region: us-east-1
${spec.trim().split('\n').map((l) => `  ${l}`).join('\n')}
`;
}

export function condition(obj: Resource, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the object's Ready condition has the reason (and status), for its current generation. */
export async function waitForReady(kubectl: Kubectl, kind: string, namespace: string, name: string, expect: { status?: string; reason?: string } = {}, timeoutMs = 60_000): Promise<Resource> {
  const status = expect.status ?? 'True';
  let last: Resource | undefined;
  try {
    return await eventually(`${kind} ${namespace}/${name} Ready=${status}${expect.reason ? ` (${expect.reason})` : ''}`, async () => {
      const result = await kubectl.run(['get', kind, name, '-n', namespace, '-o', 'json']);
      if (result.code !== 0) return undefined;
      last = JSON.parse(result.stdout) as Resource;
      const ready = condition(last, 'Ready');
      if (!ready || ready.status !== status) return undefined;
      if (expect.reason && ready.reason !== expect.reason) return undefined;
      if (ready.observedGeneration !== last.metadata.generation) return undefined;
      return last;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast seen status: ${JSON.stringify(last?.status ?? null)}`);
  }
}

export async function waitForGone(kubectl: Kubectl, kind: string, namespace: string, name: string, timeoutMs = 60_000): Promise<void> {
  await eventually(`${kind} ${namespace}/${name} to be gone`, async () => {
    const result = await kubectl.run(['get', kind, name, '-n', namespace, '--ignore-not-found', '-o', 'name']);
    return result.code === 0 && result.stdout.trim() === '' ? true : undefined;
  }, timeoutMs);
}
