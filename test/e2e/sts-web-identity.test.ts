import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentVariables } from './env/environment.js';
import { issueClientCert, kubeconfigYaml } from './env/pki.js';
import { AwsCli } from './support/aws.js';
import { sharedEnv } from './support/context.js';
import { ACCOUNT, ensureIrsaRole, OPERATOR_SUBJECT, serviceAccountSubject } from './support/iam.js';
import { eventually, Kubectl, run } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, providerYaml, waitForReady } from './support/scenario.js';

// STS's AssumeRoleWithWebIdentity in the local AWS layer, as a hostile tenant attacks it on the wire.
// Tokens come from the real API server (`kubectl create token`) and are redeemed with awscli, then
// through AWSProviders. Only a token that the cluster signed, unexpired, for STS's audience, whose
// ServiceAccount the role's trust policy names, is accepted; every other is refused with the code
// STS answers, which awscli and the operator read from STS's XML error.

const OPERATOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/infra-operator-ecr-role`;
const ASSUME = 'STS:AssumeRoleWithWebIdentity@unsigned';

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown> & { sub?: string; aud?: string[]; exp?: number; iat?: number; nbf?: number };
}

function decode(token: string): Jwt {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Jwt['header'],
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Jwt['payload'],
  };
}

/** A token with these header and claims, signed RS256 by `key`. */
function signed(jwt: Jwt, key: KeyObject): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc(jwt.header)}.${enc(jwt.payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

describe('STS AssumeRoleWithWebIdentity, checked as IAM checks an OIDC provider', () => {
  const env = sharedEnv();
  const admin = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let tenant: Kubectl;
  let tenantNs: string;
  let otherNs: string;
  let tenantRole: string;
  let otherTeamRole: string;
  let operator: OperatorProcess | undefined;
  let saKubeconfig: string;

  /** `aws sts assume-role-with-web-identity` as anyone runs it: the call is not signed. */
  const redeem = (roleArn: string, token: string, session = 'sts-e2e') =>
    aws.attempt(['sts', 'assume-role-with-web-identity', '--role-arn', roleArn, '--role-session-name', session, '--web-identity-token', token]);
  const refusal = (stderr: string) => /An error occurred \((\w+)\) when calling the AssumeRoleWithWebIdentity operation: (.*)/.exec(stderr)?.slice(1, 3);
  const assumeCalls = async () => (await aws.callsBySigner())[ASSUME] ?? 0;
  const operatorToken = async (audience?: string) =>
    (await admin.ok(['create', 'token', 'infra-operator-controller-manager', '-n', 'infra-operator-system', ...(audience ? [`--audience=${audience}`] : []), '--duration=10m'])).trim();

  beforeAll(async () => {
    await installCrds(admin);
    // config/rbac: the operator's namespace and ServiceAccount, as the chart installs them.
    saKubeconfig = await serviceAccountKubeconfig(env, admin);
    await ensureIrsaRole(aws, env, 'infra-operator-ecr-role', OPERATOR_SUBJECT);
    tenantNs = await freshNamespace(admin, 'sts-tenant');
    otherNs = await freshNamespace(admin, 'sts-other');
    for (const ns of [tenantNs, otherNs]) await admin.ok(['create', 'serviceaccount', 'ecr-access', '-n', ns]);
    // Each team's role trusts its own ServiceAccount only.
    tenantRole = await ensureIrsaRole(aws, env, 'sts-tenant-ecr', serviceAccountSubject(tenantNs, 'ecr-access'));
    otherTeamRole = await ensureIrsaRole(aws, env, 'sts-other-team-ecr', serviceAccountSubject(otherNs, 'ecr-access'));

    // The tenant: its own client certificate; it may mint tokens for its namespace's ServiceAccounts
    // and edit AWSProviders there, nothing else.
    const user = `tenant-${tenantNs}`;
    const cert = issueClientCert(path.join(env.dir, 'certs'), user, user, ['tenants']);
    const kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-operator-sts-tenant-')), 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(env.apiServerUrl, env.caCert, cert, user), { mode: 0o600 });
    tenant = new Kubectl(kubeconfig);
    await admin.apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: tenant
  namespace: ${tenantNs}
rules:
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
- apiGroups: ["aws-infra-operator.runner.codes"]
  resources: ["awsproviders"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: tenant
  namespace: ${tenantNs}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: tenant
subjects:
- kind: User
  name: ${user}
  apiGroup: rbac.authorization.k8s.io
`);
  });

  afterAll(async () => {
    if (tenantNs) await admin.run(['delete', 'awsproviders', '--all', '-n', tenantNs, '--wait=true', '--timeout=30s']);
    await operator?.stop();
    if (tenantNs) await admin.run(['delete', 'namespace', tenantNs, otherNs, '--wait=false']);
  });

  it("accepts the operator's token for STS's audience: credentials of the role, which then act as it", async () => {
    const before = await assumeCalls();
    const token = await operatorToken('sts.amazonaws.com');
    const result = await redeem(OPERATOR_ROLE, token);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string }; AssumedRoleUser: { Arn: string } };
    expect(answer.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/infra-operator-ecr-role/sts-e2e`);
    expect(await assumeCalls()).toBe(before + 1);

    // The call log shows the assumed role at work: a call signed with its new access key.
    const { AccessKeyId, SecretAccessKey, SessionToken } = answer.Credentials;
    const who = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], {
      env: { ...process.env, ...environmentVariables(env), AWS_ACCESS_KEY_ID: AccessKeyId, AWS_SECRET_ACCESS_KEY: SecretAccessKey, AWS_SESSION_TOKEN: SessionToken },
    });
    expect(who.code).toBe(0);
    expect((JSON.parse(who.stdout) as { Arn: string }).Arn).toBe(answer.AssumedRoleUser.Arn);
    expect((await aws.callsBySigner())[`STS:GetCallerIdentity@${AccessKeyId}`]).toBe(1);
  });

  it("refuses a token of another ServiceAccount for the operator's role: AccessDenied", async () => {
    // The tenant may mint tokens for its own ServiceAccounts, not for the operator's.
    const forbidden = await tenant.run(['create', 'token', 'infra-operator-controller-manager', '-n', 'infra-operator-system', '--audience=sts.amazonaws.com']);
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toContain('forbidden');
    const own = (await tenant.ok(['create', 'token', 'ecr-access', '-n', tenantNs, '--audience=sts.amazonaws.com', '--duration=10m'])).trim();
    // Even a ServiceAccount of the operator's own namespace is not the operator.
    const neighbour = await eventually('a token of infra-operator-system/default', async () => {
      const minted = await admin.run(['create', 'token', 'default', '-n', 'infra-operator-system', '--audience=sts.amazonaws.com', '--duration=10m']);
      return minted.code === 0 ? minted.stdout.trim() : undefined;
    });
    for (const token of [own, neighbour]) {
      const before = await assumeCalls();
      const result = await redeem(OPERATOR_ROLE, token);
      expect(result.code).not.toBe(0);
      expect(refusal(result.stderr)).toEqual(['AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity']);
      expect(await assumeCalls()).toBe(before + 1);
    }
  });

  it("refuses the operator's token for another audience (the API server's, or one the tenant picks): InvalidIdentityToken", async () => {
    for (const token of [await operatorToken(), await operatorToken('sts.amazonaws.com.attacker.example')]) {
      expect(decode(token).payload.aud).not.toContain('sts.amazonaws.com');
      const result = await redeem(OPERATOR_ROLE, token);
      expect(result.code).not.toBe(0);
      expect(refusal(result.stderr)).toEqual(['InvalidIdentityToken', 'Incorrect token audience']);
    }
  });

  it("refuses a token with the operator's claims that the cluster did not sign: InvalidIdentityToken", async () => {
    const tenantToken = (await tenant.ok(['create', 'token', 'ecr-access', '-n', tenantNs, '--audience=sts.amazonaws.com', '--duration=10m'])).trim();
    const real = decode(tenantToken);
    const claims: Jwt = { header: real.header, payload: { ...real.payload, sub: OPERATOR_SUBJECT } };
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const [header = '', , signature = ''] = tenantToken.split('.');
    const forgeries = {
      // Same claims, same key id, signed by a key of the tenant's own.
      'a key that is not the cluster\'s': signed(claims, stranger),
      // The tenant's real token, its subject rewritten to the operator's, the cluster's signature kept.
      'a rewritten subject': `${header}.${Buffer.from(JSON.stringify(claims.payload)).toString('base64url')}.${signature}`,
      // No signature at all.
      'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims.payload)).toString('base64url')}.`,
    };
    for (const [what, token] of Object.entries(forgeries)) {
      const result = await redeem(OPERATOR_ROLE, token);
      expect(result.code, what).not.toBe(0);
      expect(refusal(result.stderr)?.[0], what).toBe('InvalidIdentityToken');
    }
  });

  it('refuses an expired token: ExpiredTokenException', async () => {
    // The API server issues tokens for 10 minutes at least. The same token, signed again with the
    // cluster's own service-account key, is accepted with its own times (so the signature is the
    // cluster's) and refused once they lie an hour back.
    const key = createPrivateKey(readFileSync(path.join(env.dir, 'certs', 'sa.key')));
    const real = decode(await operatorToken('sts.amazonaws.com'));
    expect(real.header.alg).toBe('RS256');
    const accepted = await redeem(OPERATOR_ROLE, signed(real, key));
    expect(accepted.stderr).toBe('');
    expect(accepted.code).toBe(0);
    const hourAgo = (t: number | undefined) => (t ?? 0) - 3600;
    const expired = signed({ header: real.header, payload: { ...real.payload, iat: hourAgo(real.payload.iat), nbf: hourAgo(real.payload.nbf), exp: Math.floor(Date.now() / 1000) - 60 } }, key);
    const result = await redeem(OPERATOR_ROLE, expired);
    expect(result.code).not.toBe(0);
    expect(refusal(result.stderr)?.[0]).toBe('ExpiredTokenException');
  });

  it("a tenant's AWSProvider: not Ready with a role that trusts another namespace's ServiceAccount, Ready with its own", async () => {
    operator = await startOperator(env, { kubeconfig: saKubeconfig });
    const before = await assumeCalls();
    await tenant.apply(providerYaml(tenantNs, 'borrowed-role', `roleARN: ${otherTeamRole}\nsessionName: team-a\nserviceAccountRef:\n  name: ecr-access`));
    await tenant.apply(providerYaml(tenantNs, 'own-role', `roleARN: ${tenantRole}\nsessionName: team-a\nserviceAccountRef:\n  name: ecr-access`));

    const refused = await waitForReady(tenant, 'awsprovider', tenantNs, 'borrowed-role', { status: 'False', reason: 'AssumeRoleDenied' });
    expect(condition(refused, 'Ready')?.message).toBe(
      `sts:AssumeRoleWithWebIdentity for spec.roleARN ${otherTeamRole} was denied: Not authorized to perform sts:AssumeRoleWithWebIdentity; check the role's trust policy and spec.externalID`);
    expect(condition(refused, 'Stalled')?.status).toBe('True');
    expect(refused.status?.accountID).toBeUndefined();

    const own = await waitForReady(tenant, 'awsprovider', tenantNs, 'own-role');
    expect(own.status?.callerIdentity).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/sts-tenant-ecr/team-a`);
    expect(await assumeCalls()).toBeGreaterThanOrEqual(before + 2);
  });
});
