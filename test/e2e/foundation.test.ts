import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentedKmsKeys } from './env/environment.js';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';

const widgetCrd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.foundation.test
spec:
  group: foundation.test
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: { type: integer }
`;

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local environment', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);

  it('serves the kube-apiserver version it was built as', async () => {
    const version = JSON.parse(await kubectl.ok(['get', '--raw', '/version'])) as { gitVersion: string; major: string };
    expect(version.gitVersion).toMatch(/^v1\.(3[5-9]|[4-9]\d)\.\d+$/);
    expect(version.gitVersion).toBe(env.kubeVersion);
  });

  it('accepts a CRD and round-trips a custom resource through kubectl', async () => {
    await kubectl.apply(widgetCrd);
    await kubectl.ok(['wait', '--for=condition=Established', 'crd/widgets.foundation.test', '--timeout=60s']);
    await eventually('the widget resource to be served', async () =>
      (await kubectl.run(['apply', '-f', '-'], 'apiVersion: foundation.test/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: 3}\n')).code === 0 || undefined);
    const widget = await kubectl.getJson<{ spec: { size: number } }>(['widget', 'w1', '-n', 'default']);
    expect(widget.spec.size).toBe(3);
    await kubectl.ok(['delete', 'crd', 'widgets.foundation.test']);
  });

  it('enforces RBAC for users other than the admin', async () => {
    const denied = await kubectl.run(['auth', 'can-i', 'list', 'secrets', '--as=someone']);
    expect(denied.stdout.trim()).toBe('no');
  });

  it('issues service account tokens (TokenRequest) for the sts.amazonaws.com audience', async () => {
    await kubectl.ok(['create', 'serviceaccount', 'token-probe', '-n', 'default']);
    const token = (await kubectl.ok(['create', 'token', 'token-probe', '-n', 'default', '--audience=sts.amazonaws.com'])).trim();
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud: string[]; sub: string; iss: string };
    expect(payload.aud).toEqual(['sts.amazonaws.com']);
    expect(payload.sub).toBe('system:serviceaccount:default:token-probe');
    expect(payload.iss).toBe(env.serviceAccountIssuer);
  });

  it('deletes a namespace with its contents, as kube-controller-manager does in a cluster', async () => {
    const ns = `foundation-nsdel-${Date.now().toString(36)}`;
    await kubectl.ok(['create', 'namespace', ns]);
    await kubectl.ok(['create', 'configmap', 'content', '-n', ns, '--from-literal=k=v']);
    await kubectl.ok(['delete', 'namespace', ns, '--wait=false']);
    await eventually(`namespace ${ns} to disappear`, async () => {
      const result = await kubectl.run(['get', 'namespace', ns, '-o', 'name']);
      return result.code !== 0 && result.stderr.includes('NotFound') ? true : undefined;
    }, 60_000);
    const left = await kubectl.run(['get', 'configmap', 'content', '-n', ns, '-o', 'name']);
    expect(left.code).not.toBe(0);
    expect(left.stderr).toContain('NotFound');
  });

  it('gives a new namespace its default ServiceAccount and root CA ConfigMap', async () => {
    const ns = `foundation-sa-${Date.now().toString(36)}`;
    await kubectl.ok(['create', 'namespace', ns]);
    try {
      const sa = await eventually(`ServiceAccount ${ns}/default`, async () => {
        const result = await kubectl.run(['get', 'serviceaccount', 'default', '-n', ns, '-o', 'json']);
        return result.code === 0 ? (JSON.parse(result.stdout) as { metadata: { name: string; namespace: string } }) : undefined;
      }, 60_000);
      expect(sa.metadata).toMatchObject({ name: 'default', namespace: ns });
      const ca = await eventually(`ConfigMap ${ns}/kube-root-ca.crt`, async () => {
        const result = await kubectl.run(['get', 'configmap', 'kube-root-ca.crt', '-n', ns, '-o', 'json']);
        return result.code === 0 ? (JSON.parse(result.stdout) as { data: Record<string, string> }) : undefined;
      }, 60_000);
      expect(ca.data['ca.crt']).toBe(readFileSync(env.caCert, 'utf8'));
      // The ServiceAccount admission plugin gives a pod its ServiceAccount and a projected token, as in a cluster.
      const pod = JSON.parse(await kubectl.ok(['run', 'probe', '-n', ns, '--image=registry.k8s.io/pause:3.10', '--dry-run=server', '-o', 'json'])) as {
        spec: { serviceAccountName: string; volumes?: Array<{ name: string; projected?: { sources: Array<Record<string, unknown>> } }> };
      };
      expect(pod.spec.serviceAccountName).toBe('default');
      const tokenVolume = pod.spec.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
      expect(tokenVolume?.projected?.sources.some((s) => 'serviceAccountToken' in s)).toBe(true);
    } finally {
      await kubectl.run(['delete', 'namespace', ns, '--wait=false']);
    }
  });

  it('garbage-collects an object whose owner is deleted', async () => {
    const suffix = Date.now().toString(36);
    const owner = JSON.parse(await kubectl.ok(['create', 'configmap', `gc-owner-${suffix}`, '-n', 'default', '-o', 'json'])) as { metadata: { uid: string } };
    await kubectl.apply(`apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-dependent-${suffix}
  namespace: default
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: gc-owner-${suffix}
    uid: ${owner.metadata.uid}
data:
  k: v
`);
    // Still there while its owner lives.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await kubectl.ok(['get', 'configmap', `gc-dependent-${suffix}`, '-n', 'default', '-o', 'name'])).trim()).toBe(`configmap/gc-dependent-${suffix}`);
    await kubectl.ok(['delete', 'configmap', `gc-owner-${suffix}`, '-n', 'default']);
    await eventually(`configmap gc-dependent-${suffix} to be garbage-collected`, async () => {
      const result = await kubectl.run(['get', 'configmap', `gc-dependent-${suffix}`, '-n', 'default', '-o', 'name']);
      return result.code !== 0 && result.stderr.includes('NotFound') ? true : undefined;
    }, 60_000);
  });

  it('answers AWS calls through moto behind the paging layer', async () => {
    const aws = new AwsCli(env);
    const before = (await aws.calls())['STS:GetCallerIdentity'] ?? 0;
    const identity = await aws.json<{ Account: string }>(['sts', 'get-caller-identity']);
    expect(identity.Account).toBe('123456789012');
    expect((await aws.calls())['STS:GetCallerIdentity']).toBe(before + 1);
  });

  it('reports the KMS key ARN of a repository, as ECR does, whatever form of the key it was given', async () => {
    const aws = new AwsCli(env);
    const suffix = Date.now().toString(36);
    const key = (await aws.json<{ KeyMetadata: { KeyId: string; Arn: string } }>(['kms', 'create-key', '--description', 'foundation'])).KeyMetadata;
    expect(key.Arn).toBe(`arn:aws:kms:${env.region}:123456789012:key/${key.KeyId}`);
    await aws.json(['kms', 'create-alias', '--alias-name', `alias/foundation-${suffix}`, '--target-key-id', key.KeyId]);
    const forms = {
      alias: `alias/foundation-${suffix}`,
      aliasArn: `arn:aws:kms:${env.region}:123456789012:alias/foundation-${suffix}`,
      keyId: key.KeyId,
      keyArn: key.Arn,
    };
    for (const [form, kmsKey] of Object.entries(forms)) {
      const name = `foundation-kms-${suffix}-${form.toLowerCase()}`;
      type Repo = { repositoryName: string; encryptionConfiguration: { encryptionType: string; kmsKey: string } };
      const created = (await aws.json<{ repository: Repo }>(['ecr', 'create-repository', '--repository-name', name,
        '--encryption-configuration', `encryptionType=KMS,kmsKey=${kmsKey}`])).repository;
      expect(created.encryptionConfiguration, form).toEqual({ encryptionType: 'KMS', kmsKey: key.Arn });
      const described = (await aws.json<{ repositories: Repo[] }>(['ecr', 'describe-repositories', '--repository-names', name])).repositories[0];
      expect(described?.encryptionConfiguration, form).toEqual({ encryptionType: 'KMS', kmsKey: key.Arn });
      // The paged listing (no names given) reports the same.
      const listed = (await aws.json<{ repositories: Repo[] }>(['ecr', 'describe-repositories'])).repositories.find((r) => r.repositoryName === name);
      expect(listed?.encryptionConfiguration.kmsKey, form).toBe(key.Arn);
    }
  });

  it('refuses a KMS key that does not exist or is disabled with KmsException, as ECR does, and creates nothing', async () => {
    const aws = new AwsCli(env);
    const suffix = Date.now().toString(36);
    const missing = await aws.attempt(['ecr', 'create-repository', '--repository-name', `foundation-nokey-${suffix}`,
      '--encryption-configuration', `encryptionType=KMS,kmsKey=alias/missing-${suffix}`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('KmsException');
    expect(missing.stderr).toContain(`alias/missing-${suffix}`);
    const absent = await aws.attempt(['ecr', 'describe-repositories', '--repository-names', `foundation-nokey-${suffix}`]);
    expect(absent.stderr).toContain('RepositoryNotFoundException');

    const key = (await aws.json<{ KeyMetadata: { KeyId: string; Arn: string } }>(['kms', 'create-key'])).KeyMetadata;
    await aws.json(['kms', 'disable-key', '--key-id', key.KeyId]);
    const disabled = await aws.attempt(['ecr', 'create-repository', '--repository-name', `foundation-disabled-${suffix}`,
      '--encryption-configuration', `encryptionType=KMS,kmsKey=${key.KeyId}`]);
    expect(disabled.code).not.toBe(0);
    expect(disabled.stderr).toContain('KmsException');
    expect(disabled.stderr).toContain('disabled');
  });

  it('holds the KMS keys that the documentation names', async () => {
    const aws = new AwsCli(env);
    const documented = documentedKmsKeys();
    expect(documented.length).toBeGreaterThan(0);
    const suffix = Date.now().toString(36);
    for (const [i, kmsKey] of documented.entries()) {
      const created = (await aws.json<{ repository: { encryptionConfiguration: { kmsKey: string } } }>(['ecr', 'create-repository',
        '--repository-name', `foundation-documented-${suffix}-${i}`, '--encryption-configuration', `encryptionType=KMS,kmsKey=${kmsKey}`])).repository;
      expect(created.encryptionConfiguration.kmsKey, kmsKey).toMatch(/^arn:aws:kms:[a-z0-9-]+:123456789012:key\/[0-9a-f-]+$/);
      if (kmsKey.includes(':key/')) expect(created.encryptionConfiguration.kmsKey).toBe(kmsKey);
    }
  });

  it('leaves no etcd, kube-apiserver, kube-controller-manager or moto behind when a test run is interrupted', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-interrupt-'));
    const groupsFile = path.join(dir, 'groups.json');
    const child = spawn(process.execPath, [
      path.resolve('node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.e2e.config.ts',
    ], { env: { ...process.env, E2E_FIXTURE: 'test/e2e/fixtures/idle-run.test.ts', E2E_PROCESS_GROUPS_FILE: groupsFile }, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const groups = await eventually('the interrupted run to start its environment', async () =>
      existsSync(groupsFile) ? (JSON.parse(readFileSync(groupsFile, 'utf8')) as number[]) : undefined, 120_000);
    // etcd, kube-apiserver, kube-controller-manager and moto.
    expect(groups.length).toBe(4);
    expect(groups.every(groupAlive)).toBe(true);
    child.kill('SIGINT');
    await exited;
    const deadline = Date.now() + 20_000;
    while (groups.some(groupAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const left = groups.filter(groupAlive).map((g) => readFileSync(`/proc/${g}/cmdline`, 'utf8').replaceAll('\0', ' '));
    expect(left).toEqual([]);
  });
});
