import { describe, expect, it } from 'vitest';
import type { EmulatedRequest } from '../../e2e/env/emulations.js';
import { PullThroughCacheEmulation, RULES_MAX, type Caller, type SecretLookup } from '../../e2e/env/pull-through-cache-emulation.js';

/**
 * The local AWS layer's emulation of ECR's pull through cache rules, on its own: the requests the
 * documentation shows succeed (the AWS CLI reference's examples of create-pull-through-cache-rule,
 * an ECR Public rule and a Docker Hub rule with a Secrets Manager secret), and what the API
 * Reference says AWS refuses fails with AWS's error code.
 */

const ACCOUNT = '111122223333';
const DOCKER_SECRET = 'arn:aws:secretsmanager:us-west-2:111122223333:secret:ecr-pullthroughcache/example1234';

function callerWith(secrets: Record<string, string | undefined> = {}, over: Partial<Caller> = {}): Caller {
  return {
    accountId: ACCOUNT,
    region: 'us-west-2',
    now: new Date('2026-03-01T12:00:00Z'),
    secret: (arn: string): Promise<SecretLookup> => Promise.resolve(arn in secrets ? { exists: true, value: secrets[arn] } : { exists: false }),
    ...over,
  };
}

const GOOD_SECRET = JSON.stringify({ username: 'dockeruser', accessToken: 'dckr_pat_example' });

function error(answer: { status: number; errorType?: string; body: Record<string, unknown> }) {
  return { status: answer.status, code: answer.errorType, message: String(answer.body.message) };
}

describe('CreatePullThroughCacheRule', () => {
  it('creates the documented rules: ECR Public without credentials, Docker Hub with a secret', async () => {
    const e = new PullThroughCacheEmulation();
    const caller = callerWith({ [DOCKER_SECRET]: GOOD_SECRET });
    const publicRule = await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'ecr-public', upstreamRegistryUrl: 'public.ecr.aws' }, caller);
    expect(publicRule).toEqual({
      status: 200,
      body: {
        ecrRepositoryPrefix: 'ecr-public',
        upstreamRegistryUrl: 'public.ecr.aws',
        createdAt: caller.now.getTime() / 1000,
        registryId: ACCOUNT,
        upstreamRegistry: 'ecr-public',
        upstreamRepositoryPrefix: 'ROOT',
      },
    });
    const docker = await e.call('CreatePullThroughCacheRule', {
      ecrRepositoryPrefix: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: DOCKER_SECRET,
    }, caller);
    expect(docker.status).toBe(200);
    expect(docker.body).toMatchObject({ ecrRepositoryPrefix: 'docker-hub', upstreamRegistry: 'docker-hub', credentialArn: DOCKER_SECRET });
    // Every upstream the API lists, each with its own URL.
    const others: Array<[string, string]> = [
      ['k8s', 'registry.k8s.io'], ['quay', 'quay.io'],
    ];
    for (const [prefix, url] of others) expect((await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: prefix, upstreamRegistryUrl: url, upstreamRegistry: prefix }, caller)).status).toBe(200);
    // An ECR upstream of this account needs no role; of another account, a role of this one.
    expect((await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'mirror', upstreamRegistryUrl: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, upstreamRegistry: 'ecr' }, caller)).status).toBe(200);
    expect((await e.call('CreatePullThroughCacheRule', {
      ecrRepositoryPrefix: 'partner', upstreamRegistryUrl: '444455556666.dkr.ecr.us-east-1.amazonaws.com', upstreamRegistry: 'ecr', customRoleArn: `arn:aws:iam::${ACCOUNT}:role/EcrPtcRole`,
    }, caller)).status).toBe(200);
  });

  it('refuses a bad prefix, an unknown upstream, missing credentials, a missing secret and a second rule of one prefix with AWS\'s codes', async () => {
    const e = new PullThroughCacheEmulation();
    const caller = callerWith({ [DOCKER_SECRET]: GOOD_SECRET });
    const create = async (input: Record<string, unknown>) => error(await e.call('CreatePullThroughCacheRule', input, caller));
    expect(await create({ ecrRepositoryPrefix: 'Bad_Prefix', upstreamRegistryUrl: 'public.ecr.aws' })).toMatchObject({
      status: 400, code: 'ValidationException', message: expect.stringContaining("Value 'Bad_Prefix' at 'ecrRepositoryPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    });
    expect(await create({ ecrRepositoryPrefix: 'a'.repeat(31), upstreamRegistryUrl: 'public.ecr.aws' })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining('length less than or equal to 30') });
    expect(await create({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'registry.example.com' })).toMatchObject({ code: 'UnsupportedUpstreamRegistryException' });
    expect(await create({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'quay.io', upstreamRegistry: 'docker-hub' })).toMatchObject({ code: 'InvalidParameterException' });
    expect(await create({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'quay.io', upstreamRegistry: 'my-registry' })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining('enum value set') });
    expect(await create({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'registry-1.docker.io' })).toMatchObject({ code: 'InvalidParameterException', message: expect.stringContaining('credential ARN is required') });
    expect(await create({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: 'arn:aws:secretsmanager:us-west-2:111122223333:secret:dockerhub-creds' })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'credentialArn'") });
    expect(await create({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: `${DOCKER_SECRET}-gone` })).toMatchObject({ code: 'SecretNotFoundException' });
    expect(await create({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: 'arn:aws:secretsmanager:us-west-2:999988887777:secret:ecr-pullthroughcache/other' })).toMatchObject({ code: 'UnableToAccessSecretException' });
    expect(await create({ ecrRepositoryPrefix: 'pub', upstreamRegistryUrl: 'public.ecr.aws', credentialArn: DOCKER_SECRET })).toMatchObject({ code: 'InvalidParameterException' });
    expect(await create({ ecrRepositoryPrefix: 'partner', upstreamRegistryUrl: '444455556666.dkr.ecr.us-east-1.amazonaws.com' })).toMatchObject({ code: 'InvalidParameterException', message: expect.stringContaining('custom role is required') });
    expect(await create({ ecrRepositoryPrefix: 'partner', upstreamRegistryUrl: '444455556666.dkr.ecr.us-east-1.amazonaws.com', customRoleArn: 'arn:aws:iam::444455556666:role/Theirs' })).toMatchObject({ code: 'InvalidParameterException', message: expect.stringContaining('same account') });
    expect((await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'pub', upstreamRegistryUrl: 'public.ecr.aws' }, caller)).status).toBe(200);
    expect(await create({ ecrRepositoryPrefix: 'pub', upstreamRegistryUrl: 'quay.io' })).toMatchObject({ code: 'PullThroughCacheRuleAlreadyExistsException' });
  });

  it(`allows at most ${RULES_MAX} rules per registry (Amazon ECR service quotas)`, async () => {
    const e = new PullThroughCacheEmulation();
    const caller = callerWith();
    for (let i = 0; i < RULES_MAX; i++) expect((await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: `p${i}`, upstreamRegistryUrl: 'public.ecr.aws' }, caller)).status).toBe(200);
    expect(error(await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'one-more', upstreamRegistryUrl: 'public.ecr.aws' }, caller))).toMatchObject({ code: 'LimitExceededException' });
    // Another region is another registry.
    expect((await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'one-more', upstreamRegistryUrl: 'public.ecr.aws' }, callerWith({}, { region: 'eu-west-1' }))).status).toBe(200);
  });
});

describe('DescribePullThroughCacheRules', () => {
  it('describes by prefix, pages the whole registry, and refuses a prefix without a rule', async () => {
    const e = new PullThroughCacheEmulation();
    const caller = callerWith();
    for (const p of ['a1', 'b2', 'c3']) await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: p, upstreamRegistryUrl: 'public.ecr.aws' }, caller);
    const one = await e.call('DescribePullThroughCacheRules', { ecrRepositoryPrefixes: ['b2'] }, caller);
    expect((one.body.pullThroughCacheRules as unknown[]).length).toBe(1);
    const first = await e.call('DescribePullThroughCacheRules', { maxResults: 2 }, caller);
    expect((first.body.pullThroughCacheRules as Array<{ ecrRepositoryPrefix: string }>).map((r) => r.ecrRepositoryPrefix)).toEqual(['a1', 'b2']);
    const second = await e.call('DescribePullThroughCacheRules', { maxResults: 2, nextToken: first.body.nextToken }, caller);
    expect((second.body.pullThroughCacheRules as Array<{ ecrRepositoryPrefix: string }>).map((r) => r.ecrRepositoryPrefix)).toEqual(['c3']);
    expect(second.body.nextToken).toBeUndefined();
    expect(error(await e.call('DescribePullThroughCacheRules', { ecrRepositoryPrefixes: ['zz'] }, caller))).toMatchObject({ code: 'PullThroughCacheRuleNotFoundException' });
    expect(error(await e.call('DescribePullThroughCacheRules', { maxResults: 1001 }, caller))).toMatchObject({ code: 'ValidationException' });
    expect(error(await e.call('DescribePullThroughCacheRules', { nextToken: 'not-a-token' }, caller))).toMatchObject({ code: 'InvalidParameterException' });
  });
});

describe('UpdatePullThroughCacheRule, ValidatePullThroughCacheRule, DeletePullThroughCacheRule', () => {
  it('changes the secret, validates it, and deletes the rule', async () => {
    const e = new PullThroughCacheEmulation();
    const other = 'arn:aws:secretsmanager:us-west-2:111122223333:secret:ecr-pullthroughcache/other-AbCdEf';
    const secrets: Record<string, string | undefined> = { [DOCKER_SECRET]: GOOD_SECRET, [other]: '{"username":"x"}' };
    const caller = callerWith(secrets);
    await e.call('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: DOCKER_SECRET }, caller);
    expect((await e.call('ValidatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub' }, caller)).body).toMatchObject({ isValid: true, credentialArn: DOCKER_SECRET });
    const updated = await e.call('UpdatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub', credentialArn: other }, caller);
    expect(updated.body).toMatchObject({ ecrRepositoryPrefix: 'docker-hub', credentialArn: other, registryId: ACCOUNT });
    // A secret that is not the username/accessToken JSON: ECR's verdict says so.
    const verdict = await e.call('ValidatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub' }, caller);
    expect(verdict.body).toMatchObject({ isValid: false, failure: expect.stringContaining('username and accessToken') });
    delete secrets[other];
    expect((await e.call('ValidatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub' }, caller)).body).toMatchObject({ isValid: false });
    expect(error(await e.call('UpdatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub', credentialArn: `${other}x` }, caller))).toMatchObject({ code: 'SecretNotFoundException' });
    expect(error(await e.call('UpdatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub', customRoleArn: `arn:aws:iam::${ACCOUNT}:role/R` }, caller))).toMatchObject({ code: 'InvalidParameterException' });
    expect(error(await e.call('UpdatePullThroughCacheRule', { ecrRepositoryPrefix: 'nope', credentialArn: DOCKER_SECRET }, caller))).toMatchObject({ code: 'PullThroughCacheRuleNotFoundException' });
    const deleted = await e.call('DeletePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub' }, caller);
    expect(deleted.body).toMatchObject({ ecrRepositoryPrefix: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io' });
    expect(error(await e.call('DeletePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub' }, caller))).toMatchObject({ code: 'PullThroughCacheRuleNotFoundException' });
    expect(error(await e.call('ValidatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub' }, caller))).toMatchObject({ code: 'PullThroughCacheRuleNotFoundException' });
  });
});

describe('the layer hook', () => {
  it('answers only its ECR operations, reads secrets through moto as the caller', async () => {
    const e = new PullThroughCacheEmulation();
    const asked: Array<{ target: string; signing: string; input: unknown }> = [];
    const request = (operation: string, input: Record<string, unknown>, service = 'ECR'): EmulatedRequest => ({
      service, operation, input, accessKeyId: 'AKIAEXAMPLE', now: new Date(),
      registry: () => Promise.resolve({ accountId: ACCOUNT, region: 'us-west-2' }),
      moto: (target, signing, body) => {
        asked.push({ target, signing, input: body });
        return Promise.resolve(body.SecretId === DOCKER_SECRET ? { status: 200, body: { SecretString: GOOD_SECRET } } : { status: 400, body: { __type: 'ResourceNotFoundException' } });
      },
    });
    expect(await e.handle(request('DescribeRepositories', {}))).toBeUndefined();
    expect(await e.handle(request('CreatePullThroughCacheRule', {}, 'SpencerFrontendService'))).toBeUndefined();
    const created = await e.handle(request('CreatePullThroughCacheRule', { ecrRepositoryPrefix: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io', credentialArn: DOCKER_SECRET }));
    expect(created?.status).toBe(200);
    expect(asked).toEqual([{ target: 'secretsmanager.GetSecretValue', signing: 'secretsmanager', input: { SecretId: DOCKER_SECRET } }]);
  });
});
