import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { awsJsonError, type EmulatedAnswer, type EmulatedRequest, type Emulation } from './emulations.js';

/**
 * STS AssumeRoleWithWebIdentity as IAM checks it for an OIDC identity provider (IRSA on EKS); moto
 * checks nothing and hands credentials to any token. A token is accepted only when:
 *   - its issuer (`iss`) is a registered OIDC provider of the account;
 *   - its signature verifies with one of that issuer's keys (the cluster's service-account keys, as
 *     IAM reads them from the issuer's JWKS), and it has not expired;
 *   - its audience (`aud`) is one of the provider's client IDs (`sts.amazonaws.com` for IRSA);
 *   - the role's trust policy allows it: a statement that allows sts:AssumeRoleWithWebIdentity to
 *     the provider (`Principal.Federated`) whose conditions on `<issuer>:sub` and `<issuer>:aud`
 *     hold (StringEquals and StringLike, with their ForAnyValue/ForAllValues forms reduced to one value).
 * Anything else is refused with the error AWS answers with; an accepted request goes on to moto,
 * which issues the credentials. The request arrives in the query protocol: `input` holds its form
 * fields (RoleArn, RoleSessionName, WebIdentityToken, DurationSeconds).
 */

export interface OidcProvider {
  /** The issuer URL as the tokens carry it, e.g. https://oidc.eks.us-east-1.amazonaws.com/id/ABC. */
  issuer: string;
  /** The provider's client IDs (audiences). */
  audiences: string[];
  /** The issuer's public keys, as PEM (SPKI) or JWK. */
  keys: Array<string | JsonWebKey>;
}

export interface TrustPolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Principal?: { Federated?: string | string[] };
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface StsWebIdentityOptions {
  /**
   * The account's registered OIDC providers. Undefined: the emulation answers nothing and moto's
   * behaviour stands (any token); [] refuses every token, as an account with no provider does.
   */
  providers?: OidcProvider[];
  /** The trust policy of a role by its ARN; undefined when the role does not exist. */
  trustPolicy?: (roleArn: string) => Promise<{ Statement: TrustPolicyStatement[] } | undefined> | { Statement: TrustPolicyStatement[] } | undefined;
}

interface Jwt {
  header: { alg?: string; kid?: string };
  payload: { iss?: string; sub?: string; aud?: string | string[]; exp?: number; nbf?: number };
  signingInput: Buffer;
  signature: Buffer;
}

const ALGORITHMS: Record<string, { hash: string; dsaEncoding?: 'ieee-p1363' }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  ES384: { hash: 'sha384', dsaEncoding: 'ieee-p1363' },
};

function parseJwt(token: string): Jwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as Jwt['header'];
    const payload = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Jwt['payload'];
    if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null) return undefined;
    return { header, payload, signingInput: Buffer.from(`${parts[0]}.${parts[1]}`), signature: Buffer.from(parts[2] ?? '', 'base64url') };
  } catch {
    return undefined;
  }
}

/** An issuer as IAM names its provider: without the scheme and without a trailing slash. */
export function providerName(issuer: string): string {
  return issuer.replace(/^https:\/\//, '').replace(/\/+$/, '');
}

function keyObject(key: string | JsonWebKey): KeyObject {
  return typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key, format: 'jwk' });
}

function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** IAM's StringLike: `*` any run of characters, `?` any one character. */
function like(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(value);
}

function conditionHolds(operator: string, expected: string[], actual: string | undefined): boolean {
  if (actual === undefined) return operator.endsWith('IfExists');
  const op = operator.replace(/^For(Any|All)Value:/, '').replace(/IfExists$/, '');
  switch (op) {
    case 'StringEquals': return expected.includes(actual);
    case 'StringNotEquals': return !expected.includes(actual);
    case 'StringLike': return expected.some((p) => like(p, actual));
    case 'StringNotLike': return !expected.some((p) => like(p, actual));
    default: return false; // an operator this emulation does not know never grants
  }
}

function stsError(status: number, code: string, message: string): EmulatedAnswer {
  return awsJsonError(status, code, message);
}

export class StsWebIdentityEmulation implements Emulation {
  readonly name = 'sts-web-identity';

  constructor(private readonly options: StsWebIdentityOptions = {}) {}

  async handle(request: EmulatedRequest): Promise<EmulatedAnswer | undefined> {
    if (request.service !== 'STS' || request.operation !== 'AssumeRoleWithWebIdentity') return undefined;
    const providers = this.options.providers;
    if (providers === undefined) return undefined;
    const field = (name: string) => (typeof request.input[name] === 'string' ? (request.input[name] as string) : undefined);
    const roleArn = field('RoleArn');
    const token = field('WebIdentityToken');
    if (!roleArn || !/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn)) {
      return stsError(400, 'ValidationError', `1 validation error detected: Value '${roleArn ?? ''}' at 'roleArn' failed to satisfy constraint: Member must be the ARN of an IAM role`);
    }
    if (!token || token.length < 4 || token.length > 20000) {
      return stsError(400, 'ValidationError', "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000");
    }
    const jwt = parseJwt(token);
    if (!jwt) return stsError(400, 'InvalidIdentityToken', 'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.');
    const { payload } = jwt;
    const provider = providers.find((p) => payload.iss !== undefined && providerName(p.issuer) === providerName(payload.iss));
    if (!provider || payload.iss === undefined) {
      return stsError(400, 'InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${payload.iss ?? ''}`);
    }
    const algorithm = jwt.header.alg ? ALGORITHMS[jwt.header.alg] : undefined;
    const signed = algorithm !== undefined && provider.keys.some((k) => {
      try {
        const key = keyObject(k);
        return verify(algorithm.hash, jwt.signingInput, algorithm.dsaEncoding ? { key, dsaEncoding: algorithm.dsaEncoding } : key, jwt.signature);
      } catch {
        return false;
      }
    });
    if (!signed) {
      return stsError(400, 'InvalidIdentityToken', 'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.');
    }
    const now = Math.floor(request.now.getTime() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp <= now) {
      return stsError(400, 'ExpiredTokenException', 'Token expired: current date/time must be before the expiration date/time of the token.');
    }
    if (typeof payload.nbf === 'number' && payload.nbf > now + 60) {
      return stsError(400, 'InvalidIdentityToken', 'The web identity token is not valid yet.');
    }
    const audiences = asList(payload.aud);
    const audience = audiences.find((a) => provider.audiences.includes(a));
    if (audience === undefined) return stsError(400, 'InvalidIdentityToken', 'Incorrect token audience');

    const denied = stsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    const policy = await this.options.trustPolicy?.(roleArn);
    if (!policy) return denied;
    const account = /^arn:aws[\w-]*:iam::(\d{12}):/.exec(roleArn)?.[1] ?? '';
    const name = providerName(payload.iss);
    const federated = `arn:aws:iam::${account}:oidc-provider/${name}`;
    const values: Record<string, string | undefined> = { [`${name}:sub`]: payload.sub, [`${name}:aud`]: audience };
    const matches = (s: TrustPolicyStatement) =>
      asList(s.Action).some((a) => a === 'sts:AssumeRoleWithWebIdentity' || a === 'sts:*' || a === '*')
      && asList(s.Principal?.Federated).includes(federated)
      && Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
        Object.entries(keys).every(([key, expected]) => conditionHolds(operator, asList(expected), values[key])));
    const statements = policy.Statement ?? [];
    if (statements.some((s) => s.Effect === 'Deny' && matches(s))) return denied;
    if (!statements.some((s) => s.Effect === 'Allow' && matches(s))) return denied;
    return undefined;
  }
}
