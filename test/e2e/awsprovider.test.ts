import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { ensureIrsaRole, OPERATOR_SUBJECT } from './support/iam.js';
import { Kubectl } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, providerYaml, waitForReady } from './support/scenario.js';

// AWSProvider against moto's STS: each credential source, each failure with its own reason and a
// message that says what to fix, key rotation without a restart, and no secret in anything emitted.

const PLANTED = 'planted-secret-value-3f9c2a71';

function secretYaml(ns: string, name: string, data: Record<string, string>): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: ${ns}
type: Opaque
stringData:
${Object.entries(data).map(([k, v]) => `  ${k}: ${v}`).join('\n')}
`;
}

const keyRefs = (secret: string) => `accessKeyIDRef:
  name: ${secret}
  key: access-key-id
secretAccessKeyRef:
  name: ${secret}
  key: secret-access-key`;

async function addFaults(endpoint: string, faults: unknown[]): Promise<void> {
  const res = await fetch(`${endpoint}/__aws/faults/add`, { method: 'POST', body: JSON.stringify(faults) });
  if (!res.ok) throw new Error(`could not add faults: ${res.status}`);
}

describe('AWSProvider', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let ns: string;
  let saKubeconfig: string;
  let operator: OperatorProcess;

  const eventsOf = async (name: string) =>
    (await kubectl.getJson<{ items: Array<{ reason: string; message: string; type: string }> }>(['events', '-n', ns, '--field-selector', `involvedObject.name=${name}`])).items;

  beforeAll(async () => {
    await installCrds(kubectl);
    saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'awsp');
    await addFaults(env.awsEndpoint, [
      { operation: 'GetCallerIdentity', accessKeyId: 'rejected-key', status: 403, code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' },
      { operation: 'GetCallerIdentity', accessKeyId: 'rotated-out-key', status: 403, code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' },
      { operation: 'AssumeRole', accessKeyId: 'denied-key', status: 403, code: 'AccessDenied', message: 'User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/forbidden' },
    ]);
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: ['--secret-poll-period=2s'] });
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('becomes Ready with static keys from a Secret (the documented localstack provider)', async () => {
    await kubectl.apply(secretYaml(ns, 'aws-credentials', { 'access-key-id': 'test', 'secret-access-key': PLANTED }));
    await kubectl.apply(providerYaml(ns, 'localstack', `${keyRefs('aws-credentials')}\ndefaultTags:\n  managed-by: infra-operator`));
    const obj = await waitForReady(kubectl, 'awsprovider', ns, 'localstack');
    expect(obj.status).toMatchObject({ ready: true, accountID: '123456789012', observedGeneration: obj.metadata.generation });
    expect(obj.status?.callerIdentity).toMatch(/^arn:aws:(iam|sts)::123456789012:/);
    expect(obj.status?.identitySource).toBe(`static keys from Secret ${ns}/aws-credentials`);
    expect(obj.status?.lastAuthenticationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await kubectl.ok(['get', 'awsp', '-n', ns])).toMatch(/localstack\s+us-east-1\s+123456789012\s+true/);
    expect((await eventsOf('localstack')).map((e) => e.reason)).toContain('Authenticated');
  });

  it('assumes roleARN from the static keys, and reports the assumed role as callerIdentity', async () => {
    const before = (await aws.calls())['STS:AssumeRole'] ?? 0;
    await kubectl.apply(providerYaml(ns, 'assumed', `${keyRefs('aws-credentials')}\nroleARN: arn:aws:iam::123456789012:role/ecr-manager\nexternalID: team-a-external\nsessionName: team-a`));
    const obj = await waitForReady(kubectl, 'awsprovider', ns, 'assumed');
    expect(obj.status?.callerIdentity).toBe('arn:aws:sts::123456789012:assumed-role/ecr-manager/team-a');
    expect(obj.status?.identitySource).toBe(`static keys from Secret ${ns}/aws-credentials, assuming arn:aws:iam::123456789012:role/ecr-manager`);
    expect((await aws.calls())['STS:AssumeRole']).toBeGreaterThan(before);
  });

  it.each([
    ['a missing Secret', 'no-secret', keyRefs('does-not-exist'), 'SecretNotFound', /spec.accessKeyIDRef: Secret .*\/does-not-exist not found/],
    ['a missing key in the Secret', 'no-key', keyRefs('partial-credentials'), 'SecretKeyMissing', /has no key "secret-access-key"/],
    ['keys that STS rejects', 'rejected', keyRefs('rejected-credentials'), 'InvalidCredentials', /AWS rejected the access keys in Secret .*rejected-credentials.*security token included in the request is invalid/],
    ['AssumeRole denied', 'denied', `${keyRefs('denied-credentials')}\nroleARN: arn:aws:iam::123456789012:role/forbidden`, 'AssumeRoleDenied', /sts:AssumeRole for spec.roleARN arn:aws:iam::123456789012:role\/forbidden was denied: .*not authorized.*check the role's trust policy/],
    ['an endpoint that does not answer', 'unreachable', `${keyRefs('aws-credentials')}\nendpoint: http://127.0.0.1:9`, 'EndpointUnreachable', /http:\/\/127.0.0.1:9 did not answer sts:GetCallerIdentity.*check spec.endpoint/],
  ])('reports %s with its own reason, a message that says what to fix, and an Event', async (_what, name, spec, reason, message) => {
    await kubectl.apply(secretYaml(ns, 'partial-credentials', { 'access-key-id': 'test' }));
    await kubectl.apply(secretYaml(ns, 'rejected-credentials', { 'access-key-id': 'rejected-key', 'secret-access-key': PLANTED }));
    await kubectl.apply(secretYaml(ns, 'denied-credentials', { 'access-key-id': 'denied-key', 'secret-access-key': PLANTED }));
    await kubectl.apply(providerYaml(ns, name, spec));
    const obj = await waitForReady(kubectl, 'awsprovider', ns, name, { status: 'False', reason }, 60_000);
    expect(condition(obj, 'Ready')?.message).toMatch(message);
    expect(obj.status?.ready).toBe(false);
    expect(obj.status?.message).toBe(condition(obj, 'Ready')?.message);
    const kstatus = reason === 'EndpointUnreachable' ? 'Reconciling' : 'Stalled';
    expect(condition(obj, kstatus)?.status).toBe('True');
    const events = await eventsOf(name);
    expect(events.find((e) => e.reason === reason)?.type).toBe('Warning');
  });

  it('uses new keys written to the Secret without a restart', async () => {
    await kubectl.apply(secretYaml(ns, 'rotating', { 'access-key-id': 'rotated-out-key', 'secret-access-key': PLANTED }));
    await kubectl.apply(providerYaml(ns, 'rotating', keyRefs('rotating')));
    await waitForReady(kubectl, 'awsprovider', ns, 'rotating', { status: 'False', reason: 'InvalidCredentials' });
    await kubectl.apply(secretYaml(ns, 'rotating', { 'access-key-id': 'fresh-key', 'secret-access-key': PLANTED }));
    const obj = await waitForReady(kubectl, 'awsprovider', ns, 'rotating', {}, 30_000);
    expect(obj.status?.accountID).toBe('123456789012');
    expect(operator.exited()).toBe(false);
  });

  it('never shows a secret value in logs, events, status or metrics', async () => {
    const everything = [
      operator.output(),
      await kubectl.ok(['get', 'events', '-A', '-o', 'json']),
      await kubectl.ok(['get', 'awsproviders,ecrrepositories', '-A', '-o', 'json']),
      await operator.metrics(),
    ].join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    expect(everything).toContain('rejected-credentials');
    expect(everything).not.toContain(PLANTED);
  });

  it('assumes roleARN through AssumeRoleWithWebIdentity with a projected ServiceAccount token (IRSA)', async () => {
    // Both roles trust the operator's ServiceAccount through the cluster's OIDC provider (the trust
    // policy of docs/install.md step 4): STS checks the token and the trust policy as AWS does.
    await ensureIrsaRole(aws, env, 'infra-operator-ecr-role', OPERATOR_SUBJECT);
    await ensureIrsaRole(aws, env, 'infra-operator-role', OPERATOR_SUBJECT);
    await operator.stop();
    const token = (await kubectl.ok(['create', 'token', 'infra-operator-controller-manager', '-n', 'infra-operator-system', '--audience=sts.amazonaws.com'])).trim();
    const tokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-operator-irsa-')), 'token');
    writeFileSync(tokenFile, token);
    const before = (await aws.calls())['STS:AssumeRoleWithWebIdentity'] ?? 0;
    operator = await startOperator(env, {
      kubeconfig: saKubeconfig,
      env: {
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/infra-operator-ecr-role',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
    });
    // The documented production-aws provider, unchanged but for its namespace.
    await kubectl.apply(providerYaml(ns, 'production-aws', 'roleARN: arn:aws:iam::123456789012:role/infra-operator-role\ndefaultTags:\n  managed-by: infra-operator\n  environment: production'));
    const obj = await waitForReady(kubectl, 'awsprovider', ns, 'production-aws');
    expect(obj.status?.callerIdentity).toMatch(/^arn:aws:sts::123456789012:assumed-role\/infra-operator-role\//);
    expect(obj.status?.identitySource).toBe('operator identity, assuming arn:aws:iam::123456789012:role/infra-operator-role');
    expect((await aws.calls())['STS:AssumeRoleWithWebIdentity']).toBeGreaterThan(before);
  });
});
