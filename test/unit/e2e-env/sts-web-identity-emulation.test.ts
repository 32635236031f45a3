import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EmulatedRequest } from '../../e2e/env/emulations.js';
import { StsWebIdentityEmulation, type OidcProvider, type TrustPolicyStatement } from '../../e2e/env/sts-web-identity-emulation.js';

/**
 * The local AWS layer's AssumeRoleWithWebIdentity checks, on their own, as a hostile tenant would try
 * them: only a token the cluster signed, unexpired, for STS's audience, whose subject the role's trust
 * policy names, goes on to moto (the emulation answers nothing); every other is refused with the code
 * STS answers.
 */

const ISSUER = 'https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const ISSUER_NAME = ISSUER.replace('https://', '');
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/infra-operator-ecr-role`;
const OPERATOR_SA = 'system:serviceaccount:infra-operator-system:infra-operator-controller-manager';
const NOW = new Date('2026-12-01T12:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);

const cluster = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** The seed's trust policy: the operator's ServiceAccount, STS's audience, through the cluster's provider. */
const TRUST: { Statement: TrustPolicyStatement[] } = {
  Statement: [{
    Effect: 'Allow',
    Action: 'sts:AssumeRoleWithWebIdentity',
    Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER_NAME}` },
    Condition: { StringEquals: { [`${ISSUER_NAME}:sub`]: OPERATOR_SA, [`${ISSUER_NAME}:aud`]: 'sts.amazonaws.com' } },
  }],
};

function token(claims: Record<string, unknown>, key: KeyObject = cluster.privateKey): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ alg: 'RS256', kid: 'k1' })}.${enc({ iss: ISSUER, sub: OPERATOR_SA, aud: ['sts.amazonaws.com'], exp: nowSeconds + 600, iat: nowSeconds - 10, ...claims })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function request(webIdentityToken: string, roleArn = ROLE): EmulatedRequest {
  return {
    service: 'STS', operation: 'AssumeRoleWithWebIdentity',
    input: { RoleArn: roleArn, RoleSessionName: 'infra-operator', WebIdentityToken: webIdentityToken },
    registry: async () => undefined, accessKeyId: undefined, now: NOW,
  };
}

const providers: OidcProvider[] = [{ issuer: ISSUER, audiences: ['sts.amazonaws.com'], keys: [cluster.publicKey.export({ type: 'spki', format: 'pem' }).toString()] }];
const emulation = new StsWebIdentityEmulation({ providers, trustPolicy: (arn) => (arn === ROLE ? TRUST : undefined) });

async function refusal(t: string, roleArn?: string) {
  const answer = await emulation.handle(request(t, roleArn));
  return answer && { status: answer.status, code: answer.errorType };
}

describe('STS AssumeRoleWithWebIdentity in the local AWS layer', () => {
  it("passes the operator's own token, signed by the cluster for STS's audience, on to moto", async () => {
    expect(await emulation.handle(request(token({})))).toBeUndefined();
  });

  it('refuses a token of another ServiceAccount: the trust policy names only the operator', async () => {
    expect(await refusal(token({ sub: 'system:serviceaccount:team-a:default' }))).toEqual({ status: 403, code: 'AccessDenied' });
  });

  it("refuses a token of another audience, such as the API server's", async () => {
    expect(await refusal(token({ aud: ['https://kubernetes.default.svc'] }))).toEqual({ status: 400, code: 'InvalidIdentityToken' });
  });

  it("refuses a token with the same claims signed by a key that is not the cluster's", async () => {
    expect(await refusal(token({}, stranger.privateKey))).toEqual({ status: 400, code: 'InvalidIdentityToken' });
  });

  it('refuses an expired token, a token of an unregistered issuer, and a role that does not exist', async () => {
    expect(await refusal(token({ exp: nowSeconds - 1 }))).toEqual({ status: 400, code: 'ExpiredTokenException' });
    expect(await refusal(token({ iss: 'https://issuer.example' }))).toEqual({ status: 400, code: 'InvalidIdentityToken' });
    expect(await refusal(token({}), `arn:aws:iam::${ACCOUNT}:role/not-there`)).toEqual({ status: 403, code: 'AccessDenied' });
  });

  it('refuses what is not a token at all', async () => {
    expect(await refusal('not.a-token')).toEqual({ status: 400, code: 'InvalidIdentityToken' });
  });

  it('answers nothing when it has not been given the providers: moto decides, as before', async () => {
    expect(await new StsWebIdentityEmulation().handle(request(token({ sub: 'anyone' })))).toBeUndefined();
  });
});
