import { describe, expect, it } from 'vitest';
import type { EmulatedRequest } from '../../e2e/env/emulations.js';
import { EXCLUSIONS_MAX, RegistrySettingsEmulation } from '../../e2e/env/registry-settings-emulation.js';

/**
 * The local AWS layer's emulation of ECR's signing configuration, account settings and pull-time
 * update exclusions, on its own: what the API Reference and the User Guide show succeeds, and what
 * they say AWS refuses fails with AWS's error code.
 */

const ACCOUNT = '123456789012';
const caller = (over: Partial<{ accountId: string; region: string }> = {}) => ({ accountId: ACCOUNT, region: 'us-east-1', now: new Date('2026-03-01T12:00:00Z'), ...over });
// The signing profile ARN the ECR User Guide ("Managed signing") shows, and the filters the
// reference's SigningRepositoryFilter page gives as examples.
const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/MyProfile';
const ROLE = 'arn:aws:iam::123456789012:role/ScannerRole';

function error(answer: { status: number; errorType?: string; body: Record<string, unknown> }) {
  return { status: answer.status, code: answer.errorType, message: String(answer.body.message) };
}

describe('signing configuration (PutSigningConfiguration, GetSigningConfiguration, DeleteSigningConfiguration)', () => {
  it('stores the reference\'s request syntax and answers Get and Delete with it', () => {
    const e = new RegistrySettingsEmulation();
    expect(error(e.call('GetSigningConfiguration', {}, caller()))).toMatchObject({ status: 400, code: 'SigningConfigurationNotFoundException' });
    const signingConfiguration = {
      rules: [
        { signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'myapp/*', filterType: 'WILDCARD_MATCH' }, { filter: '*/production', filterType: 'WILDCARD_MATCH' }] },
        { signingProfileArn: 'arn:aws-us-gov:signer:us-gov-west-1:123456789012:/signing-profiles/Gov_Profile', repositoryFilters: [{ filter: '*prod*', filterType: 'WILDCARD_MATCH' }] },
        // No filters: every image pushed to the registry is signed.
        { signingProfileArn: PROFILE },
      ],
    };
    expect(e.call('PutSigningConfiguration', { signingConfiguration }, caller())).toEqual({ status: 200, body: { signingConfiguration } });
    expect(e.call('GetSigningConfiguration', {}, caller())).toEqual({ status: 200, body: { registryId: ACCOUNT, signingConfiguration } });
    // Another region of the same account, and another account, have none.
    expect(e.call('GetSigningConfiguration', {}, caller({ region: 'eu-west-1' })).errorType).toBe('SigningConfigurationNotFoundException');
    expect(e.call('GetSigningConfiguration', {}, caller({ accountId: '210987654321' })).errorType).toBe('SigningConfigurationNotFoundException');
    // A Put replaces the whole configuration; zero rules is a configuration too.
    expect(e.call('PutSigningConfiguration', { signingConfiguration: { rules: [] } }, caller()).status).toBe(200);
    expect(e.call('GetSigningConfiguration', {}, caller()).body).toEqual({ registryId: ACCOUNT, signingConfiguration: { rules: [] } });
    expect(e.call('DeleteSigningConfiguration', {}, caller())).toEqual({ status: 200, body: { registryId: ACCOUNT, signingConfiguration: { rules: [] } } });
    expect(error(e.call('DeleteSigningConfiguration', {}, caller()))).toMatchObject({ status: 400, code: 'SigningConfigurationNotFoundException' });
  });

  it('refuses what the data types forbid, naming the member', () => {
    const e = new RegistrySettingsEmulation();
    const put = (signingConfiguration: unknown) => error(e.call('PutSigningConfiguration', { signingConfiguration }, caller()));
    const rule = { signingProfileArn: PROFILE };
    expect(put(undefined)).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'signingConfiguration' failed to satisfy constraint: Member must not be null") });
    expect(put({})).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("'signingConfiguration.rules'") });
    // At most 10 rules.
    expect(put({ rules: Array.from({ length: 11 }, () => rule) })).toMatchObject({
      status: 400, code: 'ValidationException', message: expect.stringContaining('Member must have length less than or equal to 10'),
    });
    expect(put({ rules: Array.from({ length: 10 }, () => rule) }).status).toBe(200);
    // A signing profile ARN of AWS Signer's form only.
    expect(put({ rules: [{ signingProfileArn: 'arn:aws:signer:us-east-1:123456789012:signing-profiles/MyProfile' }] })).toMatchObject({
      code: 'ValidationException', message: expect.stringContaining("at 'signingConfiguration.rules.1.member.signingProfileArn' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    });
    expect(put({ rules: [{ signingProfileArn: `${PROFILE}${'x'.repeat(200)}` }] }).message).toContain('Member must have length less than or equal to 200');
    expect(put({ rules: [{}] }).message).toContain("'signingConfiguration.rules.1.member.signingProfileArn' failed to satisfy constraint: Member must not be null");
    // Filters: 1 to 100, each 1-256 characters of the pattern, WILDCARD_MATCH only.
    expect(put({ rules: [{ ...rule, repositoryFilters: [] }] }).message).toContain('Member must have length between 1 and 100');
    expect(put({ rules: [{ ...rule, repositoryFilters: Array.from({ length: 101 }, () => ({ filter: 'a', filterType: 'WILDCARD_MATCH' })) }] }).code).toBe('ValidationException');
    expect(put({ rules: [{ ...rule, repositoryFilters: [{ filter: 'MyApp/*', filterType: 'WILDCARD_MATCH' }] }] })).toMatchObject({
      code: 'ValidationException', message: expect.stringContaining("'signingConfiguration.rules.1.member.repositoryFilters.1.member.filter'"),
    });
    expect(put({ rules: [{ ...rule, repositoryFilters: [{ filter: 'myapp//x', filterType: 'WILDCARD_MATCH' }] }] }).code).toBe('ValidationException');
    expect(put({ rules: [{ ...rule, repositoryFilters: [{ filter: 'myapp', filterType: 'PREFIX_MATCH' }] }] }).message).toContain('Member must satisfy enum value set: [WILDCARD_MATCH]');
    // Nothing refused was stored.
    expect(e.call('GetSigningConfiguration', {}, caller()).body).toMatchObject({ signingConfiguration: { rules: expect.any(Array) } });
    expect((e.call('GetSigningConfiguration', {}, caller()).body.signingConfiguration as { rules: unknown[] }).rules).toHaveLength(10);
  });
});

describe('account settings (GetAccountSetting, PutAccountSetting)', () => {
  it('answers every setting the reference names with its initial value, and stores what the User Guide\'s examples put', () => {
    const e = new RegistrySettingsEmulation();
    const get = (name: string) => e.call('GetAccountSetting', { name }, caller()).body;
    expect(get('BASIC_SCAN_TYPE_VERSION')).toEqual({ name: 'BASIC_SCAN_TYPE_VERSION', value: 'AWS_NATIVE' });
    expect(get('REGISTRY_POLICY_SCOPE')).toEqual({ name: 'REGISTRY_POLICY_SCOPE', value: 'V2' });
    expect(get('BLOB_MOUNTING')).toEqual({ name: 'BLOB_MOUNTING', value: 'DISABLED' });
    // aws ecr put-account-setting --name BLOB_MOUNTING --value ENABLED; --name REGISTRY_POLICY_SCOPE --value V2; --name BASIC_SCAN_TYPE_VERSION --value AWS_NATIVE
    expect(e.call('PutAccountSetting', { name: 'BLOB_MOUNTING', value: 'ENABLED' }, caller())).toEqual({ status: 200, body: { name: 'BLOB_MOUNTING', value: 'ENABLED' } });
    expect(e.call('PutAccountSetting', { name: 'REGISTRY_POLICY_SCOPE', value: 'V2' }, caller()).status).toBe(200);
    expect(e.call('PutAccountSetting', { name: 'BASIC_SCAN_TYPE_VERSION', value: 'AWS_NATIVE' }, caller()).status).toBe(200);
    expect(get('BLOB_MOUNTING')).toEqual({ name: 'BLOB_MOUNTING', value: 'ENABLED' });
    expect(e.call('GetAccountSetting', { name: 'BLOB_MOUNTING' }, caller({ region: 'eu-west-1' })).body).toEqual({ name: 'BLOB_MOUNTING', value: 'DISABLED' });
    expect(e.call('PutAccountSetting', { name: 'BLOB_MOUNTING', value: 'DISABLED' }, caller()).status).toBe(200);
    expect(get('BLOB_MOUNTING')).toEqual({ name: 'BLOB_MOUNTING', value: 'DISABLED' });
  });

  it('refuses values the setting does not take today (CLAIR, V1), names it does not know, and missing members', () => {
    const e = new RegistrySettingsEmulation();
    const put = (input: Record<string, unknown>) => error(e.call('PutAccountSetting', input, caller()));
    expect(put({ name: 'BASIC_SCAN_TYPE_VERSION', value: 'CLAIR' })).toMatchObject({ status: 400, code: 'InvalidParameterException', message: expect.stringContaining("'value'") });
    expect(put({ name: 'REGISTRY_POLICY_SCOPE', value: 'V1' })).toMatchObject({ code: 'InvalidParameterException' });
    expect(put({ name: 'BLOB_MOUNTING', value: 'enabled' })).toMatchObject({ code: 'InvalidParameterException' });
    expect(put({ name: 'NO_SUCH_SETTING', value: 'ON' })).toMatchObject({ code: 'InvalidParameterException', message: expect.stringContaining("'name'") });
    expect(put({ name: 'BLOB_MOUNTING' })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'value' failed to satisfy constraint: Member must not be null") });
    expect(put({ name: '', value: 'ENABLED' })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining('Member must have length between 1 and 64') });
    expect(put({ name: 'A'.repeat(65), value: 'ENABLED' }).code).toBe('ValidationException');
    expect(error(e.call('GetAccountSetting', {}, caller()))).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'name'") });
    expect(e.call('GetAccountSetting', { name: 'BLOB_MOUNTING' }, caller()).body).toEqual({ name: 'BLOB_MOUNTING', value: 'DISABLED' });
  });
});

describe('pull-time update exclusions (Register, Deregister, ListPullTimeUpdateExclusions)', () => {
  it('registers, lists (paged) and deregisters IAM roles and users', () => {
    const e = new RegistrySettingsEmulation();
    const user = 'arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob';
    expect(e.call('RegisterPullTimeUpdateExclusion', { principalArn: ROLE }, caller())).toEqual({ status: 200, body: { principalArn: ROLE, createdAt: Date.parse('2026-03-01T12:00:00Z') / 1000 } });
    expect(e.call('RegisterPullTimeUpdateExclusion', { principalArn: user }, caller()).status).toBe(200);
    expect(e.call('ListPullTimeUpdateExclusions', {}, caller()).body).toEqual({ pullTimeUpdateExclusions: [ROLE, user] });
    const first = e.call('ListPullTimeUpdateExclusions', { maxResults: 1 }, caller()).body;
    expect(first).toEqual({ pullTimeUpdateExclusions: [ROLE], nextToken: expect.any(String) });
    expect(e.call('ListPullTimeUpdateExclusions', { maxResults: 1, nextToken: first.nextToken }, caller()).body).toEqual({ pullTimeUpdateExclusions: [user] });
    expect(e.call('ListPullTimeUpdateExclusions', {}, caller({ region: 'eu-west-1' })).body).toEqual({ pullTimeUpdateExclusions: [] });
    expect(e.call('DeregisterPullTimeUpdateExclusion', { principalArn: ROLE }, caller())).toEqual({ status: 200, body: { principalArn: ROLE } });
    expect(e.call('ListPullTimeUpdateExclusions', {}, caller()).body).toEqual({ pullTimeUpdateExclusions: [user] });
  });

  it('pages 100 by default and up to 1000 on request', () => {
    const e = new RegistrySettingsEmulation();
    for (let i = 0; i < EXCLUSIONS_MAX; i++) expect(e.call('RegisterPullTimeUpdateExclusion', { principalArn: `${ROLE}${i}` }, caller()).status).toBe(200);
    expect(e.call('ListPullTimeUpdateExclusions', {}, caller()).body).toEqual({ pullTimeUpdateExclusions: expect.any(Array) });
    expect((e.call('ListPullTimeUpdateExclusions', {}, caller()).body.pullTimeUpdateExclusions as string[])).toHaveLength(100);
    const pages: string[] = [];
    let token: unknown;
    do {
      const page = e.call('ListPullTimeUpdateExclusions', { maxResults: 30, ...(token ? { nextToken: token } : {}) }, caller()).body;
      pages.push(...(page.pullTimeUpdateExclusions as string[]));
      token = page.nextToken;
    } while (token);
    expect(pages).toHaveLength(EXCLUSIONS_MAX);
    expect(new Set(pages).size).toBe(EXCLUSIONS_MAX);
  });

  it('refuses a duplicate, an unknown principal, a 101st exclusion and malformed input with AWS\'s codes', () => {
    const e = new RegistrySettingsEmulation();
    const register = (principalArn: unknown) => error(e.call('RegisterPullTimeUpdateExclusion', { principalArn }, caller()));
    expect(register(ROLE).status).toBe(200);
    expect(register(ROLE)).toMatchObject({ status: 400, code: 'ExclusionAlreadyExistsException' });
    expect(error(e.call('DeregisterPullTimeUpdateExclusion', { principalArn: `${ROLE}2` }, caller()))).toMatchObject({ status: 400, code: 'ExclusionNotFoundException' });
    // Only IAM role and user ARNs.
    expect(register('arn:aws:iam::123456789012:group/Developers')).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'principalArn' failed to satisfy constraint: Member must satisfy regular expression pattern") });
    expect(register('arn:aws:sts::123456789012:assumed-role/Scanner/session')).toMatchObject({ code: 'ValidationException' });
    expect(register(`arn:aws:iam::123456789012:role/${'r'.repeat(200)}`)).toMatchObject({ code: 'ValidationException', message: expect.stringContaining('length less than or equal to 200') });
    expect(register(undefined)).toMatchObject({ code: 'ValidationException', message: expect.stringContaining('Member must not be null') });
    for (let i = 1; i < EXCLUSIONS_MAX; i++) expect(register(`${ROLE}${i}`).status).toBe(200);
    expect(register(`${ROLE}-one-too-many`)).toMatchObject({ status: 400, code: 'LimitExceededException' });
    // Paging members.
    const list = (input: Record<string, unknown>) => error(e.call('ListPullTimeUpdateExclusions', input, caller()));
    expect(list({ maxResults: 0 })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("'maxResults'") });
    expect(list({ maxResults: 1001 })).toMatchObject({ code: 'ValidationException' });
    expect(list({ nextToken: 'not-a-token' })).toMatchObject({ code: 'InvalidParameterException', message: expect.stringContaining("'nextToken'") });
  });
});

describe('the layer\'s interface', () => {
  it('answers its eight ECR operations for the request\'s registry and lets every other request go on', async () => {
    const e = new RegistrySettingsEmulation();
    const request = (service: string, operation: string, input: Record<string, unknown>, region = 'us-east-1'): EmulatedRequest => ({
      service, operation, input, accessKeyId: 'test', now: new Date(), registry: () => Promise.resolve({ accountId: ACCOUNT, region }),
    });
    expect(await e.handle(request('ECR', 'DescribeRepositories', {}))).toBeUndefined();
    expect(await e.handle(request('SpencerFrontendService', 'GetAccountSetting', { name: 'BLOB_MOUNTING' }))).toBeUndefined();
    expect(await e.handle(request('ECR', 'PutAccountSetting', { name: 'BLOB_MOUNTING', value: 'ENABLED' }))).toMatchObject({ status: 200 });
    expect((await e.handle(request('ECR', 'GetAccountSetting', { name: 'BLOB_MOUNTING' })))?.body).toEqual({ name: 'BLOB_MOUNTING', value: 'ENABLED' });
    expect((await e.handle(request('ECR', 'GetAccountSetting', { name: 'BLOB_MOUNTING' }, 'eu-west-1')))?.body).toEqual({ name: 'BLOB_MOUNTING', value: 'DISABLED' });
    const unknown: EmulatedRequest = { ...request('ECR', 'ListPullTimeUpdateExclusions', {}), registry: () => Promise.resolve(undefined) };
    expect(await e.handle(unknown)).toMatchObject({ status: 500, errorType: 'ServerException' });
  });
});
