import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCert, kubeconfigYaml } from './env/pki.js';
import { AwsCli } from './support/aws.js';
import { ensureIrsaRole, serviceAccountSubject } from './support/iam.js';
import { sharedEnv } from './support/context.js';
import { eventually, Kubectl } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, providerYaml, waitForReady } from './support/scenario.js';

// Namespaces are tenants. A tenant who may create AWSProviders and ECRRepositories in its own
// namespace, and nothing else, tries to borrow the operator's identity, a Secret it may not read and
// the platform's role; the operator runs hardened (no custom endpoints, its identity for the platform
// namespace only) and refuses each with the documented reason, before any byte leaves. Then a
// tenant's own ServiceAccount gives it a role of its own through TokenRequest and
// AssumeRoleWithWebIdentity, renewed before it expires.

const PLANTED_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.planted-operator-web-identity-token-51c7.c2ln';
const PLANTED_SECRET_KEY = 'AKIAPLANTEDTENANT001';
const PLANTED_SECRET_VALUE = 'planted-tenant-secret-value-e8d2';
const TEAM_ROLE = 'arn:aws:iam::123456789012:role/team-ecr';
const PLATFORM_ROLE = 'arn:aws:iam::123456789012:role/platform-ecr';

interface Recorded {
  method: string;
  url: string;
  headers: string;
  body: string;
}

/** The attacker's endpoint: records every request whole and answers 500. */
async function startRecorder(): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: JSON.stringify(req.headers), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The operator's own identity in this file: its environment's access key, and its planted
 * web-identity token (AssumeRoleWithWebIdentity is unsigned). Providers that earlier test files left
 * in other namespaces verify themselves with their own keys meanwhile, so only these calls count.
 */
const OPERATOR_ACCESS_KEY = 'operator-own-key';
const operatorIdentityCalls = (bySigner: Record<string, number>) => Object.entries(bySigner)
  .filter(([k]) => k.startsWith('STS:') && (k.endsWith(`@${OPERATOR_ACCESS_KEY}`) || k.endsWith('@unsigned')))
  .reduce((sum, [, n]) => sum + n, 0);

describe('tenancy', () => {
  const env = sharedEnv();
  const admin = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let tenantNs: string;
  let platformNs: string;
  let tenant: Kubectl;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let operator: OperatorProcess;
  let saKubeconfig: string;
  let tokenFile: string;

  beforeAll(async () => {
    await installCrds(admin);
    saKubeconfig = await serviceAccountKubeconfig(env, admin);
    tenantNs = await freshNamespace(admin, 'tenant');
    platformNs = await freshNamespace(admin, 'platform');
    recorder = await startRecorder();

    // The tenant: its own client certificate, edit rights on the operator's kinds in its namespace,
    // nothing on Secrets.
    const user = `tenant-${tenantNs}`;
    const cert = issueClientCert(path.join(env.dir, 'certs'), user, user, ['tenants']);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-tenant-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(env.apiServerUrl, env.caCert, cert, user), { mode: 0o600 });
    tenant = new Kubectl(kubeconfig);
    await admin.apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: infra-operator-editor
  namespace: ${tenantNs}
rules:
- apiGroups: ["aws-infra-operator.runner.codes"]
  resources: ["awsproviders", "ecrrepositories"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: infra-operator-editor
  namespace: ${tenantNs}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: infra-operator-editor
subjects:
- kind: User
  name: ${user}
  apiGroup: rbac.authorization.k8s.io
`);
    // A Secret of the tenant's namespace that the tenant may not read (another app's keys).
    await admin.apply(`apiVersion: v1
kind: Secret
metadata:
  name: payments-aws
  namespace: ${tenantNs}
stringData:
  access-key-id: ${PLANTED_SECRET_KEY}
  secret-access-key: ${PLANTED_SECRET_VALUE}
`);
    await admin.ok(['create', 'serviceaccount', 'ecr-access', '-n', tenantNs]);
    // The team's role trusts that ServiceAccount only, through the cluster's OIDC provider.
    await ensureIrsaRole(aws, env, 'team-ecr', serviceAccountSubject(tenantNs, 'ecr-access'));

    // The operator's own web-identity token (IRSA), planted where the SDK looks for it.
    tokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-operator-planted-')), 'token');
    writeFileSync(tokenFile, PLANTED_TOKEN);
    operator = await startOperator(env, {
      kubeconfig: saKubeconfig,
      allowCustomEndpoints: false,
      args: [
        `--ambient-identity-namespaces=${platformNs}`,
        '--secret-poll-period=2s',
        '--provider-verify-period=2s',
        // Assumed-role credentials last an hour in moto: renew them after 10 s, with a fresh token.
        '--credential-refresh-margin=59m50s',
      ],
      env: { AWS_ACCESS_KEY_ID: OPERATOR_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/infra-operator-ecr-role' },
    });
  });

  afterAll(async () => {
    // Gone before the operator stops, so that no later operator of the run picks them up.
    if (tenantNs) await admin.run(['delete', 'awsproviders', '--all', '-n', tenantNs, '--wait=true', '--timeout=30s']);
    if (platformNs) await admin.run(['delete', 'awsproviders', '--all', '-n', platformNs, '--wait=true', '--timeout=30s']);
    await operator?.stop();
    await recorder?.close();
    if (tenantNs) await admin.run(['delete', 'namespace', tenantNs, platformNs, '--wait=false']);
  });

  it('the tenant may edit providers in its namespace only, and may not read its Secrets', async () => {
    expect((await tenant.run(['auth', 'can-i', 'create', 'awsproviders.aws-infra-operator.runner.codes', '-n', tenantNs])).stdout.trim()).toBe('yes');
    expect((await tenant.run(['auth', 'can-i', 'create', 'awsproviders.aws-infra-operator.runner.codes', '-n', platformNs])).stdout.trim()).toBe('no');
    const read = await tenant.run(['get', 'secret', 'payments-aws', '-n', tenantNs, '-o', 'json']);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toContain('forbidden');
  });

  it.each([
    ["1: the operator's identity sent to the tenant's endpoint", 'borrow-identity', () => `roleARN: ${PLATFORM_ROLE}\nendpoint: ${recorder.url}`, 'EndpointNotAllowed', /--allow-custom-endpoints/],
    ["2: a Secret it may not read, sent to the tenant's endpoint", 'read-secret', () => `endpoint: ${recorder.url}\naccessKeyIDRef:\n  name: payments-aws\n  key: access-key-id\nsecretAccessKeyRef:\n  name: payments-aws\n  key: secret-access-key`, 'EndpointNotAllowed', /--allow-custom-endpoints/],
    ["3: the operator's identity (the platform's role) from a tenant namespace", 'platform-role', () => `roleARN: ${PLATFORM_ROLE}`, 'IdentityNotAllowed', /may not be used in namespace .*--ambient-identity-namespaces/],
    ["3: the operator's identity itself from a tenant namespace", 'operator-itself', () => 'defaultTags:\n  team: a', 'IdentityNotAllowed', /may not be used in namespace/],
  ])('attack %s: refused, Stalled, no STS call and nothing sent', async (_what, name, spec, reason, message) => {
    const before = operatorIdentityCalls(await aws.callsBySigner());
    await tenant.apply(providerYaml(tenantNs, name, spec()));
    const obj = await waitForReady(tenant, 'awsprovider', tenantNs, name, { status: 'False', reason });
    expect(condition(obj, 'Ready')?.message).toMatch(message);
    expect(condition(obj, 'Stalled')?.status).toBe('True');
    expect(obj.status?.accountID).toBeUndefined();
    expect(operatorIdentityCalls(await aws.callsBySigner())).toBe(before);
    expect(recorder.requests).toEqual([]);
  });

  it('a missing ServiceAccount: ServiceAccountNotFound, with no STS call', async () => {
    const before = operatorIdentityCalls(await aws.callsBySigner());
    await tenant.apply(providerYaml(tenantNs, 'no-sa', `roleARN: ${TEAM_ROLE}\nserviceAccountRef:\n  name: not-there`));
    const obj = await waitForReady(tenant, 'awsprovider', tenantNs, 'no-sa', { status: 'False', reason: 'ServiceAccountNotFound' });
    expect(condition(obj, 'Ready')?.message).toBe(`spec.serviceAccountRef: ServiceAccount ${tenantNs}/not-there not found`);
    expect(condition(obj, 'Stalled')?.status).toBe('True');
    expect(operatorIdentityCalls(await aws.callsBySigner())).toBe(before);
  });

  it('refuses serviceAccountRef without roleARN at the API server', async () => {
    const result = await tenant.run(['apply', '-f', '-'], providerYaml(tenantNs, 'sa-no-role', 'serviceAccountRef:\n  name: ecr-access'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.roleARN is required with spec.serviceAccountRef');
  });

  it("the same provider in the platform's namespace uses the operator's identity and is Ready", async () => {
    await admin.apply(providerYaml(platformNs, 'aws', 'defaultTags:\n  team: platform'));
    const obj = await waitForReady(admin, 'awsprovider', platformNs, 'aws');
    expect(obj.status?.accountID).toBe('123456789012');
  });

  it("a tenant's own ServiceAccount: TokenRequest, AssumeRoleWithWebIdentity, Ready as the assumed role", async () => {
    const before = (await aws.calls())['STS:AssumeRoleWithWebIdentity'] ?? 0;
    await tenant.apply(providerYaml(tenantNs, 'own-role', `roleARN: ${TEAM_ROLE}\nsessionName: team-a\nserviceAccountRef:\n  name: ecr-access`));
    const obj = await waitForReady(tenant, 'awsprovider', tenantNs, 'own-role');
    expect(obj.status?.callerIdentity).toBe('arn:aws:sts::123456789012:assumed-role/team-ecr/team-a');
    expect((await aws.calls())['STS:AssumeRoleWithWebIdentity'] ?? 0).toBeGreaterThan(before);
  });

  it("a token with the STS audience, as the operator requests it, does not authenticate for the API server's audience (docs/security.md)", async () => {
    const token = (await admin.ok(['create', 'token', 'ecr-access', '-n', tenantNs, '--audience=sts.amazonaws.com', '--duration=10m'])).trim();
    const review = async (audience: string) => JSON.parse(await admin.ok(['create', '-o', 'json', '-f', '-'], JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: [audience] },
    }))) as { status: { authenticated?: boolean; user?: { username?: string } } };
    // What AWS checks: the ServiceAccount, for the STS audience.
    const sts = await review('sts.amazonaws.com');
    expect(sts.status.authenticated).toBe(true);
    expect(sts.status.user?.username).toBe(`system:serviceaccount:${tenantNs}:ecr-access`);
    // What the API server checks for a request: its own audience, which the token does not carry.
    expect((await review('https://kubernetes.default.svc')).status.authenticated ?? false).toBe(false);
  });

  it('renews the assumed role with a fresh token before it expires, and stays Ready', async () => {
    const start = (await aws.calls())['STS:AssumeRoleWithWebIdentity'] ?? 0;
    // The margin renews 10 s after each exchange; verifications every 2 s make the renewal happen.
    await eventually('two renewals of the ServiceAccount role', async () => (((await aws.calls())['STS:AssumeRoleWithWebIdentity'] ?? 0) >= start + 2 ? true : undefined), 60_000, 1_000);
    const obj = await waitForReady(tenant, 'awsprovider', tenantNs, 'own-role');
    expect(condition(obj, 'Ready')?.reason).not.toBe('AssumeRoleDenied');
  });

  it('leaves no planted value in the recorder, logs, events, status or metrics', async () => {
    const everything = [
      JSON.stringify(recorder.requests),
      operator.output(),
      await admin.ok(['get', 'events', '-A', '-o', 'json']),
      await admin.ok(['get', 'awsproviders,ecrrepositories', '-A', '-o', 'json']),
      await operator.metrics(),
    ].join('\n');
    expect(everything).toContain('IdentityNotAllowed');
    expect(everything).toContain('EndpointNotAllowed');
    for (const planted of [PLANTED_TOKEN, 'planted-operator-web-identity-token', PLANTED_SECRET_KEY, PLANTED_SECRET_VALUE]) {
      expect(everything).not.toContain(planted);
    }
    expect(recorder.requests).toEqual([]);
  });

  it("with custom endpoints allowed, still never sends the operator's identity to one", async () => {
    // Attack 2 would now succeed, as documented (custom endpoints expose the key ids of the
    // namespace's Secrets): only the provider that asks for the operator's identity stays.
    await admin.ok(['delete', 'awsprovider', 'read-secret', '-n', tenantNs, '--wait=true']);
    await operator.stop();
    operator = await startOperator(env, {
      kubeconfig: saKubeconfig,
      allowCustomEndpoints: true,
      args: ['--secret-poll-period=2s'],
      env: { AWS_ACCESS_KEY_ID: OPERATOR_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/infra-operator-ecr-role' },
    });
    await tenant.apply(providerYaml(tenantNs, 'borrow-identity', `roleARN: ${PLATFORM_ROLE}\nendpoint: ${recorder.url}\nsessionName: second-try`));
    const obj = await waitForReady(tenant, 'awsprovider', tenantNs, 'borrow-identity', { status: 'False', reason: 'EndpointRequiresOwnCredentials' });
    expect(condition(obj, 'Ready')?.message).toMatch(/never used with a custom endpoint/);
    expect(condition(obj, 'Stalled')?.status).toBe('True');
    expect(JSON.stringify(recorder.requests)).not.toContain(PLANTED_TOKEN);
    // Its endpoint is the recorder: nothing it could have sent went anywhere else.
    expect(recorder.requests).toEqual([]);
    expect(operator.output()).not.toContain(PLANTED_TOKEN);
  });
});
