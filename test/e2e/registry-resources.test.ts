import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli } from './support/aws.js';
import { sharedEnv } from './support/context.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { ADOPT_ANNOTATION, API_VERSION, eventsOf, manifest, waitForClusterObjectGone, waitForEvent, waitForPart, type ProviderRef } from './support/registry.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForReady, type Resource } from './support/scenario.js';

// The account-wide resource kinds end to end: ECRPullThroughCacheRule and
// ECRRepositoryCreationTemplate are cluster-scoped, one AWS resource per prefix, each created,
// changed and deleted with the credentials of the AWSProvider it names. Checked as a user would:
// kubectl for the objects, awscli for AWS (behind the local layer that emulates what moto lacks),
// the layer's call counts for what the operator sent, and the operator's own output and metrics
// for what it must never show (an upstream registry's access token).

const RUN = Date.now().toString(36);
const KEY = 'AKIARESOURCES0000001';
const PTC = 'ecrpullthroughcacherule';
const RCT = 'ecrrepositorycreationtemplate';
const OWNER_TAG = 'aws-infra-operator.runner.codes/owner';
// Three generations of the upstream access token: none may appear anywhere but in Secrets Manager.
const TOKEN1 = `dckr_pat_first-${RUN}-a1b2c3d4e5f6`;
const TOKEN2 = `dckr_pat_second-${RUN}-f6e5d4c3b2a1`;
const TOKEN3 = `dckr_pat_third-${RUN}-0a9b8c7d6e5f`;

const LIFECYCLE = JSON.stringify({
  rules: [{ rulePriority: 1, description: 'keep the last 20 images of each cached repository', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 20 }, action: { type: 'expire' } }],
});

interface Rule {
  ecrRepositoryPrefix: string;
  upstreamRegistryUrl: string;
  credentialArn?: string;
  customRoleArn?: string;
}

interface Template {
  prefix: string;
  description?: string;
  lifecyclePolicy?: string;
  appliedFor: string[];
}

function ptc(name: string, provider: ProviderRef, spec: Record<string, unknown>, opts: { deletionPolicy?: string; annotations?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'ECRPullThroughCacheRule',
    metadata: { name, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: { providerRef: provider, ...spec, ...(opts.deletionPolicy ? { deletionPolicy: opts.deletionPolicy } : {}) },
  };
}

function rct(name: string, provider: ProviderRef, spec: Record<string, unknown>, opts: { deletionPolicy?: string; annotations?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'ECRRepositoryCreationTemplate',
    metadata: { name, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: { providerRef: provider, ...spec, ...(opts.deletionPolicy ? { deletionPolicy: opts.deletionPolicy } : {}) },
  };
}

function publicRule(prefix: string): Record<string, unknown> {
  return { ecrRepositoryPrefix: prefix, upstreamRegistry: 'ecr-public', upstreamRegistryUrl: 'public.ecr.aws' };
}

describe('account-wide resources: pull through cache rules and repository creation templates', () => {
  const env = sharedEnv();
  const admin = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let operator: OperatorProcess | undefined;
  let ns: string;
  let provider: ProviderRef;

  const get = (kind: string, name: string) => admin.getJson<Resource>([kind, name]);
  const rules = async (): Promise<Rule[]> => (await aws.json<{ pullThroughCacheRules: Rule[] }>(['ecr', 'describe-pull-through-cache-rules'])).pullThroughCacheRules;
  const ruleOf = async (prefix: string): Promise<Rule | undefined> => (await rules()).find((r) => r.ecrRepositoryPrefix === prefix);
  const templateOf = async (prefix: string): Promise<Template | undefined> =>
    (await aws.json<{ repositoryCreationTemplates: Template[] }>(['ecr', 'describe-repository-creation-templates'])).repositoryCreationTemplates.find((t) => t.prefix === prefix);
  const secretValue = async (id: string): Promise<{ username: string; accessToken: string }> =>
    JSON.parse((await aws.json<{ SecretString: string }>(['secretsmanager', 'get-secret-value', '--secret-id', id])).SecretString) as { username: string; accessToken: string };
  const writes = async (): Promise<Record<string, number>> => Object.fromEntries(Object.entries(await aws.calls()).filter(([k]) => /^ECR:(Create|Update|Delete)(PullThroughCacheRule|RepositoryCreationTemplate)/.test(k) || /^secretsmanager:(Create|Put|Delete|Tag)/.test(k)));
  const forceSync = async (kind: string, name: string): Promise<Resource> => {
    const value = `${Date.now()}`;
    await admin.ok(['annotate', kind, name, `force-sync=${value}`, '--overwrite']);
    return eventually(`${kind} ${name} to serve force-sync ${value}`, async () => {
      const obj = await get(kind, name);
      return obj.status?.lastForceSync === value ? obj : undefined;
    }, 30_000, 200);
  };
  const dockerSecret = (token: string) => `apiVersion: v1
kind: Secret
metadata:
  name: dockerhub
  namespace: ${ns}
type: Opaque
stringData:
  username: octocat
  accessToken: ${token}
`;

  beforeAll(async () => {
    await installCrds(admin);
    for (const kind of ['ecrpullthroughcacherules', 'ecrrepositorycreationtemplates']) {
      const names = (await admin.ok(['get', kind, '-o', 'name'])).split('\n').map((l) => l.trim()).filter(Boolean);
      for (const name of names) {
        await admin.run(['patch', name, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
        await admin.run(['delete', name, '--ignore-not-found', '--wait=false']);
      }
    }
    ns = await freshNamespace(admin, 'resources');
    provider = { namespace: ns, name: 'aws' };
    await admin.apply(staticProviderYaml(ns, 'aws', { keyId: KEY }));
    await admin.apply(dockerSecret(TOKEN1));
    const saKubeconfig = await serviceAccountKubeconfig(env, admin);
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: ['--sync-period=5s', '--secret-poll-period=2s'] });
    await waitForReady(admin, 'awsprovider', ns, 'aws');
  });

  afterAll(async () => {
    for (const kind of [PTC, RCT]) {
      const names = (await admin.run(['get', kind, '-o', 'name'])).stdout.split('\n').map((l) => l.trim()).filter((l) => l.endsWith(RUN));
      if (names.length) await admin.run(['delete', ...names, '--wait=true', '--timeout=30s']);
    }
    await admin.run(['delete', 'awsprovider', 'aws', '-n', ns, '--wait=true', '--timeout=30s']);
    await operator?.stop();
    await admin.run(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  });

  describe('ECRPullThroughCacheRule', () => {
    const hub = `hub-${RUN}`;
    const hubPrefix = `hub-${RUN}`;

    it('creates a Docker Hub rule with credentials from a Secret, kept in a Secrets Manager secret the operator owns', async () => {
      await admin.apply(manifest(ptc(hub, provider, {
        ecrRepositoryPrefix: hubPrefix, upstreamRegistry: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialsSecretRef: { name: 'dockerhub' },
      }, { deletionPolicy: 'Delete' })));
      const obj = await waitForPart(admin, PTC, hub);
      const status = obj.status as Record<string, string>;
      const rule = await ruleOf(hubPrefix);
      expect(rule).toMatchObject({ upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: status.managedSecretArn });
      expect(status.managedSecretArn).toContain(`:secret:ecr-pullthroughcache/infra-operator/${hub}`);
      expect(status).toMatchObject({ appliedPrefix: hubPrefix, registryId: '123456789012', region: 'us-east-1', credentialArn: status.managedSecretArn });
      expect(await secretValue(status.managedSecretArn!)).toEqual({ username: 'octocat', accessToken: TOKEN1 });
      const described = await aws.json<{ Tags: Array<{ Key: string; Value: string }> }>(['secretsmanager', 'describe-secret', '--secret-id', status.managedSecretArn!]);
      expect(described.Tags).toContainEqual({ Key: OWNER_TAG, Value: `ECRPullThroughCacheRule/${hub}` });
      // ECR's ValidatePullThroughCacheRule verdict, and the printer columns.
      await eventually('UpstreamValid True', async () => (condition(await get(PTC, hub), 'UpstreamValid')?.status === 'True' ? true : undefined), 20_000);
      const table = await admin.ok(['get', PTC, hub]);
      expect(table).toMatch(/READY\s+PREFIX\s+UPSTREAM\s+UPSTREAM VALID/);
      expect(table).toContain('registry-1.docker.io');
      await waitForEvent(admin, 'ECRPullThroughCacheRule', hub, 'Created');
    });

    it('puts a changed Secret into Secrets Manager within one reconcile, and again without any request', async () => {
      const arn = (await get(PTC, hub)).status!.managedSecretArn as string;
      await admin.apply(dockerSecret(TOKEN2));
      await forceSync(PTC, hub);
      expect((await secretValue(arn)).accessToken).toBe(TOKEN2);
      // Without any request: the Secret poll or the periodic sync brings the rule back.
      await admin.apply(dockerSecret(TOKEN3));
      await eventually('the third token in Secrets Manager', async () => ((await secretValue(arn)).accessToken === TOKEN3 ? true : undefined), 60_000, 500);
      await waitForEvent(admin, 'ECRPullThroughCacheRule', hub, 'Updated');
    });

    it('never shows the token: not in status, Events, the operator\'s output or its metrics', async () => {
      const shown = [
        JSON.stringify(await get(PTC, hub)),
        JSON.stringify(await eventsOf(admin, 'ECRPullThroughCacheRule', hub)),
        await admin.ok(['get', 'events', '-A', '-o', 'json']),
        await admin.ok(['describe', PTC, hub]),
        operator!.output(),
        await operator!.metrics(),
      ].join('\n');
      for (const token of [TOKEN1, TOKEN2, TOKEN3]) {
        expect(shown).not.toContain(token);
        expect(shown).not.toContain(Buffer.from(token).toString('base64'));
      }
      // The operator did log this rule's work: the check above looked at real output.
      expect(operator!.output()).toContain(hub);
      expect(await operator!.metricValue('aws_api_calls_total', { service: 'SecretsManager', operation: 'PutSecretValue' })).toBeGreaterThan(0);
    });

    it('reverts drift made with awscli on force-sync: the secret\'s value and the rule\'s secret', async () => {
      const arn = (await get(PTC, hub)).status!.managedSecretArn as string;
      const other = await aws.json<{ ARN: string }>(['secretsmanager', 'create-secret', '--name', `ecr-pullthroughcache/elsewhere-${RUN}`, '--secret-string', '{"username":"someone","accessToken":"other"}']);
      await aws.json(['secretsmanager', 'put-secret-value', '--secret-id', arn, '--secret-string', '{"username":"someone","accessToken":"changed-by-hand"}']);
      // The write's own answer shows the drift: a read after it may already see the operator's repair.
      const drifted = await aws.json<{ credentialArn?: string }>(['ecr', 'update-pull-through-cache-rule', '--ecr-repository-prefix', hubPrefix, '--credential-arn', other.ARN]);
      expect(drifted.credentialArn).toBe(other.ARN);
      await forceSync(PTC, hub);
      expect((await ruleOf(hubPrefix))?.credentialArn).toBe(arn);
      expect((await secretValue(arn)).accessToken).toBe(TOKEN3);
      await aws.json(['secretsmanager', 'delete-secret', '--secret-id', other.ARN, '--force-delete-without-recovery']);
    });

    it('changes to a secret of the user\'s own with UpdatePullThroughCacheRule, and deletes the one it no longer uses', async () => {
      const own = await aws.json<{ ARN: string }>(['secretsmanager', 'create-secret', '--name', `ecr-pullthroughcache/own-${RUN}`, '--secret-string', '{"username":"octocat","accessToken":"kept-by-the-user"}']);
      const managed = (await get(PTC, hub)).status!.managedSecretArn as string;
      const before = await aws.calls();
      await admin.ok(['patch', PTC, hub, '--type', 'json', '-p', JSON.stringify([
        { op: 'remove', path: '/spec/credentialsSecretRef' },
        { op: 'add', path: '/spec/credentialArn', value: own.ARN },
      ])]);
      const obj = await waitForPart(admin, PTC, hub);
      expect((await ruleOf(hubPrefix))?.credentialArn).toBe(own.ARN);
      const after = await aws.calls();
      expect((after['ECR:UpdatePullThroughCacheRule'] ?? 0) - (before['ECR:UpdatePullThroughCacheRule'] ?? 0)).toBe(1);
      expect((after['ECR:DeletePullThroughCacheRule'] ?? 0) - (before['ECR:DeletePullThroughCacheRule'] ?? 0)).toBe(0);
      expect(obj.status?.managedSecretArn).toBeUndefined();
      expect((await aws.attempt(['secretsmanager', 'describe-secret', '--secret-id', managed])).code).not.toBe(0);
    });

    it('refuses bad input: the API server names the field; what only the registry can tell is InvalidSpec', async () => {
      const refused = async (doc: Record<string, unknown>, field: string) => {
        const result = await admin.run(['apply', '-f', '-'], manifest(doc));
        expect(result.code, result.stdout).not.toBe(0);
        expect(result.stderr).toContain(field);
      };
      await refused(ptc(`bad-prefix-${RUN}`, provider, publicRule('Bad_Prefix')), 'spec.ecrRepositoryPrefix');
      await refused(ptc(`bad-upstream-${RUN}`, provider, { ecrRepositoryPrefix: 'x1', upstreamRegistry: 'my-registry', upstreamRegistryUrl: 'public.ecr.aws' }), 'spec.upstreamRegistry');
      await refused(ptc(`bad-url-${RUN}`, provider, { ecrRepositoryPrefix: 'x2', upstreamRegistry: 'docker-hub', upstreamRegistryUrl: 'docker.io', credentialArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x-AbCdEf' }), 'spec.upstreamRegistryUrl');
      await refused(ptc(`no-creds-${RUN}`, provider, { ecrRepositoryPrefix: 'x3', upstreamRegistry: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io' }), 'spec.credentialArn or spec.credentialsSecretRef');
      await refused(ptc(`bad-arn-${RUN}`, provider, { ecrRepositoryPrefix: 'x4', upstreamRegistry: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-AbCdEf' }), 'spec.credentialArn');
      // The prefix names the rule: it never changes.
      const result = await admin.run(['patch', PTC, hub, '--type', 'merge', '-p', '{"spec":{"ecrRepositoryPrefix":"other"}}']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('spec.ecrRepositoryPrefix is immutable');
      // A role of another account: only the provider's verified account tells.
      const role = `role-${RUN}`;
      await admin.apply(manifest(ptc(role, provider, {
        ecrRepositoryPrefix: `role-${RUN}`, upstreamRegistry: 'ecr', upstreamRegistryUrl: '444455556666.dkr.ecr.us-east-1.amazonaws.com', customRoleArn: 'arn:aws:iam::444455556666:role/Theirs',
      })));
      const stalled = await waitForPart(admin, PTC, role, { status: 'False', reason: 'InvalidSpec' });
      expect(condition(stalled, 'Ready')?.message).toContain('spec.customRoleArn');
      expect(await ruleOf(`role-${RUN}`)).toBeUndefined();
      await admin.ok(['delete', PTC, role]);
    });

    it('does not take over a rule created outside Kubernetes without the adopt annotation', async () => {
      const prefix = `foreign-${RUN}`;
      await aws.json(['ecr', 'create-pull-through-cache-rule', '--ecr-repository-prefix', prefix, '--upstream-registry-url', 'quay.io']);
      const before = await writes();
      const name = `foreign-${RUN}`;
      await admin.apply(manifest(ptc(name, provider, publicRule(prefix), { deletionPolicy: 'Delete' })));
      const stalled = await waitForPart(admin, PTC, name, { status: 'False', reason: 'AlreadyExists' });
      expect(condition(stalled, 'Stalled')?.status).toBe('True');
      expect(condition(stalled, 'Ready')?.message).toContain(ADOPT_ANNOTATION);
      expect(await writes()).toEqual(before);
      expect((await ruleOf(prefix))?.upstreamRegistryUrl).toBe('quay.io');
      // With the annotation the rule is taken over and made what the spec says (ECR makes a rule's
      // upstream only anew).
      await admin.ok(['annotate', PTC, name, `${ADOPT_ANNOTATION}=true`]);
      await waitForPart(admin, PTC, name);
      expect((await ruleOf(prefix))?.upstreamRegistryUrl).toBe('public.ecr.aws');
      await waitForEvent(admin, 'ECRPullThroughCacheRule', name, 'Adopted');
    });

    it('deletes by policy: Retain and Orphan leave the rule without any AWS write, Delete removes rule and secret', async () => {
      for (const policy of ['Retain', 'Orphan']) {
        const name = `${policy.toLowerCase()}-${RUN}`;
        await admin.apply(manifest(ptc(name, provider, publicRule(name), { deletionPolicy: policy })));
        await waitForPart(admin, PTC, name);
        const before = await writes();
        await admin.ok(['delete', PTC, name, '--wait=true', '--timeout=30s']);
        await waitForClusterObjectGone(admin, PTC, name);
        expect(await writes()).toEqual(before);
        expect(await ruleOf(name)).toBeDefined();
        await aws.json(['ecr', 'delete-pull-through-cache-rule', '--ecr-repository-prefix', name]);
      }
      // Delete: the Docker Hub rule goes, with the secret the operator created for it.
      const name = `drop-${RUN}`;
      await admin.apply(manifest(ptc(name, provider, {
        ecrRepositoryPrefix: name, upstreamRegistry: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialsSecretRef: { name: 'dockerhub' },
      }, { deletionPolicy: 'Delete' })));
      const created = await waitForPart(admin, PTC, name);
      const arn = created.status!.managedSecretArn as string;
      await admin.ok(['delete', PTC, name, '--wait=true', '--timeout=30s']);
      await waitForClusterObjectGone(admin, PTC, name);
      expect(await ruleOf(name)).toBeUndefined();
      expect((await aws.attempt(['secretsmanager', 'describe-secret', '--secret-id', arn])).stderr).toContain('ResourceNotFoundException');
    });
  });

  describe('ECRRepositoryCreationTemplate', () => {
    const name = `ptc-repos-${RUN}`;
    const prefix = `hub-${RUN}`;

    it('creates a template that gives every pull-through repository a lifecycle policy', async () => {
      await admin.apply(manifest(rct(name, provider, {
        prefix, appliedFor: ['PULL_THROUGH_CACHE'], description: 'cached Docker Hub images', imageTagMutability: 'MUTABLE',
        resourceTags: { team: 'platform' }, lifecyclePolicy: { policyText: LIFECYCLE },
      }, { deletionPolicy: 'Delete' })));
      const obj = await waitForPart(admin, RCT, name);
      expect(obj.status).toMatchObject({ appliedPrefix: prefix, registryId: '123456789012', region: 'us-east-1' });
      const live = await templateOf(prefix);
      expect(live).toMatchObject({ appliedFor: ['PULL_THROUGH_CACHE'], description: 'cached Docker Hub images' });
      expect(JSON.parse(live!.lifecyclePolicy!)).toEqual(JSON.parse(LIFECYCLE));
      await waitForEvent(admin, 'ECRRepositoryCreationTemplate', name, 'Created');
    });

    it('applies a change, and a policy written another way is no change', async () => {
      const before = await aws.calls();
      await admin.ok(['patch', RCT, name, '--type', 'merge', '-p', JSON.stringify({ spec: { lifecyclePolicy: { policyText: JSON.stringify(JSON.parse(LIFECYCLE), null, 2) } } })]);
      await waitForPart(admin, RCT, name);
      await forceSync(RCT, name);
      expect((await aws.calls())['ECR:UpdateRepositoryCreationTemplate'] ?? 0).toBe(before['ECR:UpdateRepositoryCreationTemplate'] ?? 0);
      await admin.ok(['patch', RCT, name, '--type', 'merge', '-p', '{"spec":{"description":"cached images, replicated too","appliedFor":["PULL_THROUGH_CACHE","REPLICATION"]}}']);
      await waitForPart(admin, RCT, name);
      expect(await templateOf(prefix)).toMatchObject({ description: 'cached images, replicated too' });
      expect((await templateOf(prefix))!.appliedFor.sort()).toEqual(['PULL_THROUGH_CACHE', 'REPLICATION']);
    });

    it('reverts drift made with awscli on force-sync', async () => {
      // The write's own answer shows the drift: a read after it may already see the operator's repair.
      const drifted = await aws.json<{ repositoryCreationTemplate: { description?: string; lifecyclePolicy?: string } }>(['ecr', 'update-repository-creation-template', '--prefix', prefix, '--description', 'changed by hand', '--lifecycle-policy', '']);
      expect(drifted.repositoryCreationTemplate).toMatchObject({ description: 'changed by hand' });
      expect(drifted.repositoryCreationTemplate.lifecyclePolicy).toBeUndefined();
      await forceSync(RCT, name);
      const live = await templateOf(prefix);
      expect(live?.description).toBe('cached images, replicated too');
      expect(JSON.parse(live!.lifecyclePolicy!)).toEqual(JSON.parse(LIFECYCLE));
    });

    it('refuses bad input: the API server names the field; a lifecycle policy ECR would refuse is InvalidSpec naming it', async () => {
      const result = await admin.run(['apply', '-f', '-'], manifest(rct(`bad-${RUN}`, provider, { prefix: 'Bad/Prefix', appliedFor: ['REPLICATION'] })));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('spec.prefix');
      const noScenario = await admin.run(['apply', '-f', '-'], manifest(rct(`bad2-${RUN}`, provider, { prefix: 'fine', appliedFor: [] })));
      expect(noScenario.stderr).toContain('spec.appliedFor');
      const invalid = `invalid-${RUN}`;
      await admin.apply(manifest(rct(invalid, provider, {
        prefix: `invalid-${RUN}`, appliedFor: ['REPLICATION'],
        lifecyclePolicy: { policyText: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }] }) },
      })));
      const stalled = await waitForPart(admin, RCT, invalid, { status: 'False', reason: 'InvalidSpec' });
      expect(condition(stalled, 'Ready')?.message).toContain('spec.lifecyclePolicy.policyText: rules[0].selection with tagStatus tagged needs tagPrefixList or tagPatternList');
      expect(await templateOf(`invalid-${RUN}`)).toBeUndefined();
      await admin.ok(['delete', RCT, invalid]);
    });

    it('does not take over a template created outside Kubernetes without the adopt annotation', async () => {
      const foreign = `foreign-${RUN}`;
      await aws.json(['ecr', 'create-repository-creation-template', '--prefix', foreign, '--applied-for', 'CREATE_ON_PUSH', '--description', 'made by hand']);
      const before = await writes();
      const obj = `foreign-template-${RUN}`;
      await admin.apply(manifest(rct(obj, provider, { prefix: foreign, appliedFor: ['CREATE_ON_PUSH'], description: 'declared' })));
      await waitForPart(admin, RCT, obj, { status: 'False', reason: 'AlreadyExists' });
      expect(await writes()).toEqual(before);
      expect((await templateOf(foreign))?.description).toBe('made by hand');
      await admin.ok(['annotate', RCT, obj, `${ADOPT_ANNOTATION}=true`]);
      await waitForPart(admin, RCT, obj);
      expect((await templateOf(foreign))?.description).toBe('declared');
    });

    it('deletes by policy: Retain and Orphan leave the template without any AWS write, Delete removes it', async () => {
      for (const policy of ['Retain', 'Orphan']) {
        const obj = `${policy.toLowerCase()}-template-${RUN}`;
        await admin.apply(manifest(rct(obj, provider, { prefix: obj, appliedFor: ['REPLICATION'] }, { deletionPolicy: policy })));
        await waitForPart(admin, RCT, obj);
        const before = await writes();
        await admin.ok(['delete', RCT, obj, '--wait=true', '--timeout=30s']);
        await waitForClusterObjectGone(admin, RCT, obj);
        expect(await writes()).toEqual(before);
        expect(await templateOf(obj)).toBeDefined();
        await aws.json(['ecr', 'delete-repository-creation-template', '--prefix', obj]);
      }
      await admin.ok(['delete', RCT, name, '--wait=true', '--timeout=30s']);
      await waitForClusterObjectGone(admin, RCT, name);
      expect(await templateOf(prefix)).toBeUndefined();
    });
  });
});
