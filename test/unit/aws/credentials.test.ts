import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import {
  createCredentialProvider,
  endpointFor,
  operatorAwsEnvironment,
  NO_CREDENTIALS,
  OperatorIdentityRefusedError,
  planCredentials,
  refreshingProvider,
  roleSessionName,
  sourceFingerprint,
  type AwsCredentialIdentity,
  type AwsCredentialIdentityProvider,
  type CredentialSource,
  type StsClientConfig,
  type StsCredentialsApi,
} from '../../../src/aws/credentials.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const ROLE = 'arn:aws:iam::210987654321:role/deployer';
const KEYS = { accessKeyId: 'AKIAKEYSFROMSECRET01', secretAccessKey: 'static-secret-value' };

/** A fake STS: records every client it was built with and every command it got. */
function fakeSts(opts: { clock: () => number; lifetimeMs?: number; fail?: () => Error | undefined }) {
  const clients: StsClientConfig[] = [];
  const commands: Array<AssumeRoleCommand | AssumeRoleWithWebIdentityCommand> = [];
  let issued = 0;
  const factory = (config: StsClientConfig): StsCredentialsApi => {
    clients.push(config);
    return {
      async send(command) {
        commands.push(command);
        const err = opts.fail?.();
        if (err) throw err;
        issued += 1;
        const role = command.input.RoleArn ?? '';
        return {
          Credentials: {
            AccessKeyId: `ASIATEMP${issued}`,
            SecretAccessKey: `temp-secret-${issued}`,
            SessionToken: `token-${issued}`,
            Expiration: new Date(opts.clock() + (opts.lifetimeMs ?? HOUR)),
          },
          AssumedRoleUser: {
            AssumedRoleId: `AROAEXAMPLE:${command.input.RoleSessionName}`,
            Arn: `arn:aws:sts::${role.split(':')[4]}:assumed-role/${role.split('/').pop()}/${command.input.RoleSessionName}`,
          },
        };
      },
    };
  };
  return { factory, clients, commands };
}

function manualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const source = (extra: Partial<CredentialSource> = {}): CredentialSource => ({ region: 'eu-central-1', ...extra });

describe('operatorAwsEnvironment', () => {
  it('reads IRSA and endpoint variables and ignores blanks', () => {
    expect(operatorAwsEnvironment({
      AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
      AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/operator',
      AWS_ENDPOINT_URL: 'http://localhost:4566',
      AWS_ENDPOINT_URL_STS: ' ',
      AWS_ENDPOINT_URL_ECR: 'http://localhost:5000',
    })).toEqual({
      webIdentityTokenFile: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
      roleArn: 'arn:aws:iam::111122223333:role/operator',
      endpoint: 'http://localhost:4566',
      serviceEndpoints: { ECR: 'http://localhost:5000' },
    });
    expect(operatorAwsEnvironment({})).toEqual({});
  });

  it('honours the SDK switch that ignores configured endpoints', () => {
    expect(operatorAwsEnvironment({ AWS_ENDPOINT_URL: 'http://localhost:4566', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toEqual({});
  });
});

describe('endpointFor', () => {
  const env = { endpoint: 'http://env:1', serviceEndpoints: { STS: 'http://sts:2' } };
  it('prefers the provider, then the per-service variable, then AWS_ENDPOINT_URL', () => {
    expect(endpointFor('ECR', { endpoint: 'http://provider:3' }, env)).toBe('http://provider:3');
    expect(endpointFor('STS', {}, env)).toBe('http://sts:2');
    expect(endpointFor('ECR', {}, env)).toBe('http://env:1');
    expect(endpointFor('ECR', { endpoint: '' }, {})).toBeUndefined();
  });
});

describe('roleSessionName', () => {
  it('defaults, cleans and truncates to what STS accepts', () => {
    expect(roleSessionName(undefined)).toBe('infra-operator');
    expect(roleSessionName('infra-operator-team-a-prod')).toBe('infra-operator-team-a-prod');
    expect(roleSessionName('a b/c')).toBe('a-b-c');
    expect(roleSessionName('x'.repeat(100))).toHaveLength(64);
    expect(roleSessionName('x')).toBe('infra-operator');
  });
});

describe('planCredentials', () => {
  const irsa = { webIdentityTokenFile: '/token', roleArn: 'arn:aws:iam::111122223333:role/operator' };
  it.each([
    ['static keys', source({ staticKeys: KEYS }), {}, { kind: 'static' }],
    ['nothing: default chain', source(), irsa, { kind: 'defaultChain' }],
    ['role over static keys', source({ staticKeys: KEYS, roleArn: ROLE }), {}, { kind: 'assumeRole', base: 'static' }],
    // The provider's own keys win over the operator's token: the token is the operator's identity.
    ['role over static keys under IRSA: AssumeRole with the keys, not the operator token', source({ staticKeys: KEYS, roleArn: ROLE }), irsa, { kind: 'assumeRole', base: 'static' }],
    ['role with its own ServiceAccount token, under IRSA too', source({ roleArn: ROLE, webIdentity: { subject: 'team/sa', token: async () => 't' } }), irsa, { kind: 'providerWebIdentity' }],
    ['role with the IRSA token', source({ roleArn: ROLE }), irsa, { kind: 'webIdentity', tokenFile: '/token' }],
    ['role from the default chain', source({ roleArn: ROLE }), {}, { kind: 'assumeRole', base: 'defaultChain' }],
    ['blank role is no role', source({ roleArn: ' ', staticKeys: KEYS }), irsa, { kind: 'static' }],
  ])('%s', (_name, src, env, plan) => {
    expect(planCredentials(src, env)).toEqual(plan);
  });

  // Defence in depth: the tenancy policy refuses these first, and this module refuses them again.
  it.each([
    ['nothing', source({ endpoint: 'http://attacker:4566' }), irsa],
    ['role with the IRSA token', source({ endpoint: 'http://attacker:4566', roleArn: ROLE }), irsa],
    ['role from the default chain', source({ endpoint: 'http://attacker:4566', roleArn: ROLE }), {}],
  ])("refuses the operator's identity with the provider's own endpoint: %s", (_name, src, env) => {
    expect(() => planCredentials(src, env)).toThrow(OperatorIdentityRefusedError);
  });

  it("allows the provider's own credentials with its own endpoint", () => {
    expect(planCredentials(source({ endpoint: 'http://e:1', staticKeys: KEYS, roleArn: ROLE }), irsa)).toEqual({ kind: 'assumeRole', base: 'static' });
    expect(planCredentials(source({ endpoint: 'http://e:1', roleArn: ROLE, webIdentity: { subject: 'team/sa', token: async () => 't' } }), irsa)).toEqual({ kind: 'providerWebIdentity' });
  });
});

describe('createCredentialProvider: source selection', () => {
  it('static keys: used as they are, without STS', async () => {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now });
    const provider = createCredentialProvider(source({ staticKeys: { ...KEYS, sessionToken: 'st' } }), { env: {}, stsClientFactory: sts.factory });
    expect(await provider()).toEqual({ ...KEYS, sessionToken: 'st' });
    expect(sts.clients).toHaveLength(0);
  });

  it('role over static keys: AssumeRole signed with the keys, at the provider endpoint and region', async () => {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now });
    const provider = createCredentialProvider(
      source({ staticKeys: KEYS, roleArn: ROLE, externalId: 'ext-1', sessionName: 'infra-operator-team-a-prod', endpoint: 'http://provider:4566' }),
      { env: { endpoint: 'http://env:1' }, stsClientFactory: sts.factory, clock: clock.now },
    );
    const creds = await provider();
    expect(creds).toMatchObject({ accessKeyId: 'ASIATEMP1', secretAccessKey: 'temp-secret-1', sessionToken: 'token-1', accountId: '210987654321' });
    expect(sts.clients).toHaveLength(1);
    expect(sts.clients[0]).toMatchObject({ region: 'eu-central-1', endpoint: 'http://provider:4566' });
    expect(await sts.clients[0]?.credentials?.()).toEqual(KEYS);
    const command = sts.commands[0];
    expect(command).toBeInstanceOf(AssumeRoleCommand);
    expect(command?.input).toEqual({ RoleArn: ROLE, RoleSessionName: 'infra-operator-team-a-prod', ExternalId: 'ext-1' });
  });

  it('role with an IRSA token: AssumeRoleWithWebIdentity with the token, unsigned, at AWS_ENDPOINT_URL', async () => {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now });
    const reads: string[] = [];
    const provider = createCredentialProvider(source({ roleArn: ROLE, externalId: 'ignored-for-web-identity' }), {
      env: { webIdentityTokenFile: '/var/run/token', endpoint: 'http://env:1' },
      stsClientFactory: sts.factory,
      clock: clock.now,
      readFile: async (path) => {
        reads.push(path);
        return 'header.payload.signature\n';
      },
    });
    expect((await provider()).accessKeyId).toBe('ASIATEMP1');
    expect(reads).toEqual(['/var/run/token']);
    // Unsigned, and with credentials that refuse to sign, so the SDK never falls back to its chain.
    expect(sts.clients).toEqual([{ region: 'eu-central-1', endpoint: 'http://env:1', credentials: NO_CREDENTIALS }]);
    const command = sts.commands[0];
    expect(command).toBeInstanceOf(AssumeRoleWithWebIdentityCommand);
    expect(command?.input).toEqual({ RoleArn: ROLE, RoleSessionName: 'infra-operator', WebIdentityToken: 'header.payload.signature' });
  });

  it("role with the provider's own ServiceAccount token: a fresh token on every renewal, at the provider endpoint, never the operator's file", async () => {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now });
    const reads: string[] = [];
    let issued = 0;
    const provider = createCredentialProvider(
      source({ roleArn: ROLE, sessionName: 'team-a', endpoint: 'http://provider:4566', webIdentity: { subject: 'team-a/ecr', token: async () => `sa-token-${++issued}` } }),
      {
        env: { webIdentityTokenFile: '/var/run/operator-token' },
        stsClientFactory: sts.factory,
        clock: clock.now,
        readFile: async (path) => {
          reads.push(path);
          return 'operator-token';
        },
      },
    );
    expect((await provider()).accessKeyId).toBe('ASIATEMP1');
    expect(sts.clients).toEqual([{ region: 'eu-central-1', endpoint: 'http://provider:4566', credentials: NO_CREDENTIALS }]);
    expect(sts.commands[0]?.input).toEqual({ RoleArn: ROLE, RoleSessionName: 'team-a', WebIdentityToken: 'sa-token-1' });
    clock.advance(HOUR - 4 * MINUTE);
    expect((await provider()).accessKeyId).toBe('ASIATEMP2');
    expect(sts.commands[1]?.input).toMatchObject({ WebIdentityToken: 'sa-token-2' });
    expect(reads).toEqual([]);
    await expect(NO_CREDENTIALS()).rejects.toThrow('unsigned');
  });

  it('role without keys or token: AssumeRole signed by the default chain', async () => {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now });
    const chainCalls: Array<{ region: string; endpoint?: string }> = [];
    const base: AwsCredentialIdentityProvider = async () => ({ accessKeyId: 'AKIAOPERATOR', secretAccessKey: 'operator-secret' });
    const provider = createCredentialProvider(source({ roleArn: ROLE }), {
      env: { endpoint: 'http://env:1' },
      stsClientFactory: sts.factory,
      clock: clock.now,
      defaultChain: (where) => {
        chainCalls.push(where);
        return base;
      },
    });
    expect((await provider()).accessKeyId).toBe('ASIATEMP1');
    expect(chainCalls).toEqual([{ region: 'eu-central-1', endpoint: 'http://env:1' }]);
    expect(sts.clients[0]?.credentials).toBe(base);
    expect(sts.commands[0]).toBeInstanceOf(AssumeRoleCommand);
  });

  it('nothing given: the default chain itself', async () => {
    const base: AwsCredentialIdentityProvider = async () => ({ accessKeyId: 'AKIAOPERATOR', secretAccessKey: 'operator-secret' });
    const provider = createCredentialProvider(source(), { env: { webIdentityTokenFile: '/token' }, defaultChain: () => base });
    expect(provider).toBe(base);
  });

  it('an empty token file is an error that names the file, not a token', async () => {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now });
    const provider = createCredentialProvider(source({ roleArn: ROLE }), {
      env: { webIdentityTokenFile: '/var/run/token' },
      stsClientFactory: sts.factory,
      readFile: async () => '  \n',
    });
    await expect(provider()).rejects.toThrow('web identity token file /var/run/token is empty');
    expect(sts.commands).toHaveLength(0);
  });
});

describe('createCredentialProvider: caching and renewal', () => {
  function assumeRole(opts: { lifetimeMs?: number; fail?: () => Error | undefined } = {}) {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now, ...opts });
    const provider = createCredentialProvider(source({ staticKeys: KEYS, roleArn: ROLE }), { env: {}, stsClientFactory: sts.factory, clock: clock.now });
    return { clock, sts, provider };
  }

  it('reuses temporary credentials until 5 minutes before they expire', async () => {
    const { clock, sts, provider } = assumeRole();
    const first = await provider();
    clock.advance(HOUR - 5 * MINUTE - 1);
    expect(await provider()).toBe(first);
    expect(sts.commands).toHaveLength(1);
    clock.advance(2);
    const second = await provider();
    expect(second.accessKeyId).toBe('ASIATEMP2');
    expect(sts.commands).toHaveLength(2);
    expect(second.expiration?.getTime()).toBe(clock.now() + HOUR);
  });

  it('makes one STS call however many requests need credentials at once', async () => {
    const { sts, provider } = assumeRole();
    const all = await Promise.all(Array.from({ length: 20 }, () => provider()));
    expect(sts.commands).toHaveLength(1);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['ASIATEMP1']));
  });

  it('renews on forceRefresh', async () => {
    const { sts, provider } = assumeRole();
    await provider();
    expect((await provider({ forceRefresh: true })).accessKeyId).toBe('ASIATEMP2');
    expect(sts.commands).toHaveLength(2);
  });

  it('keeps using still-valid credentials when renewal fails, and fails once they are spent', async () => {
    let failing = false;
    const { clock, sts, provider } = assumeRole({ fail: () => (failing ? Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) : undefined) });
    const first = await provider();
    failing = true;
    clock.advance(HOUR - 2 * MINUTE);
    expect(await provider()).toBe(first);
    clock.advance(2 * MINUTE);
    await expect(provider()).rejects.toThrow('ECONNREFUSED');
    failing = false;
    expect((await provider()).accessKeyId).toBe('ASIATEMP2');
    // Renewal was tried on every call in between: a failure is not cached.
    expect(sts.commands).toHaveLength(4);
  });

  it('does not cache a first failure', async () => {
    let fail = true;
    const { provider } = assumeRole({ fail: () => (fail ? new Error('AccessDenied') : undefined) });
    await expect(provider()).rejects.toThrow('AccessDenied');
    fail = false;
    expect((await provider()).accessKeyId).toBe('ASIATEMP1');
  });

  it('reads the token file again on renewal, because the kubelet rotates it', async () => {
    const clock = manualClock();
    const sts = fakeSts({ clock: clock.now });
    let token = 'first.token.sig';
    const provider = createCredentialProvider(source({ roleArn: ROLE }), {
      env: { webIdentityTokenFile: '/token' },
      stsClientFactory: sts.factory,
      clock: clock.now,
      readFile: async () => token,
    });
    await provider();
    token = 'second.token.sig';
    clock.advance(HOUR);
    await provider();
    expect(sts.commands.map((c) => (c.input as { WebIdentityToken?: string }).WebIdentityToken)).toEqual(['first.token.sig', 'second.token.sig']);
  });
});

describe('refreshingProvider', () => {
  it('never renews credentials without an expiration', async () => {
    let fetches = 0;
    const clock = manualClock();
    const provider = refreshingProvider(async (): Promise<AwsCredentialIdentity> => {
      fetches += 1;
      return { accessKeyId: 'a', secretAccessKey: 'b' };
    }, clock.now);
    await provider();
    clock.advance(100 * HOUR);
    await provider();
    expect(fetches).toBe(1);
  });

  it('honours a custom renewal margin', async () => {
    const clock = manualClock();
    let n = 0;
    const provider = refreshingProvider(async () => ({ accessKeyId: `k${++n}`, secretAccessKey: 's', expiration: new Date(clock.now() + 10 * MINUTE) }), clock.now, MINUTE);
    await provider();
    clock.advance(8 * MINUTE);
    expect((await provider()).accessKeyId).toBe('k1');
    clock.advance(MINUTE + 1);
    expect((await provider()).accessKeyId).toBe('k2');
  });
});

describe('refreshingProvider with a margin above the SDK cache window', () => {
  it("hands out an expiration early enough that the SDK's own cache asks again when the margin says", async () => {
    const clock = manualClock();
    let n = 0;
    const expiresAt = () => new Date(clock.now() + HOUR);
    const provider = refreshingProvider(async () => ({ accessKeyId: `k${++n}`, secretAccessKey: 's', expiration: expiresAt() }), clock.now, 50 * MINUTE);
    const first = await provider();
    // The SDK asks again 5 minutes before the expiration it sees: that is 50 minutes before the real one.
    expect(first.expiration?.getTime()).toBe(clock.now() + HOUR - 45 * MINUTE);
    clock.advance(9 * MINUTE);
    expect((await provider()).accessKeyId).toBe('k1');
    clock.advance(MINUTE + 1);
    expect((await provider()).accessKeyId).toBe('k2');
  });
});

describe('sourceFingerprint', () => {
  it('changes with any secret value and is stable otherwise', () => {
    const a = sourceFingerprint(source({ staticKeys: KEYS, roleArn: ROLE }));
    expect(sourceFingerprint(source({ staticKeys: { ...KEYS }, roleArn: ROLE }))).toBe(a);
    expect(sourceFingerprint(source({ staticKeys: { ...KEYS, secretAccessKey: 'rotated' }, roleArn: ROLE }))).not.toBe(a);
    expect(sourceFingerprint(source({ staticKeys: { ...KEYS, sessionToken: 't' }, roleArn: ROLE }))).not.toBe(a);
    expect(sourceFingerprint(source({ staticKeys: KEYS, roleArn: ROLE, externalId: 'x' }))).not.toBe(a);
    expect(sourceFingerprint(source({ staticKeys: KEYS, roleArn: ROLE, endpoint: 'http://x' }))).not.toBe(a);
  });

  it('does not contain the secret', () => {
    const fp = sourceFingerprint(source({ staticKeys: KEYS }));
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(fp).not.toContain(KEYS.secretAccessKey);
  });
});
