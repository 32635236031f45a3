import { STS_AUDIENCE, type EnvironmentInfo } from '../env/environment.js';
import { providerName } from '../env/sts-web-identity-emulation.js';
import type { AwsCli } from './aws.js';

/**
 * IAM roles for IRSA in the local AWS account, made as a platform engineer makes them
 * (docs/install.md, docs/security.md): a trust policy that allows sts:AssumeRoleWithWebIdentity to
 * the cluster's OIDC provider, for one ServiceAccount and STS's audience. The local AWS layer checks
 * AssumeRoleWithWebIdentity against these policies as IAM does.
 */

export const ACCOUNT = '123456789012';

/** The ServiceAccount the chart installs the operator with, as a token's `sub` names it. */
export const OPERATOR_SUBJECT = 'system:serviceaccount:infra-operator-system:infra-operator-controller-manager';

/** `sub` of a ServiceAccount's token. */
export function serviceAccountSubject(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** The cluster's OIDC provider as IAM names it: its issuer without https:// (OIDC_PROVIDER in docs/install.md). */
export function oidcProvider(env: EnvironmentInfo): string {
  return providerName(env.serviceAccountIssuer);
}

/** The trust policy of docs/install.md step 4, for the given ServiceAccount subject(s). */
export function irsaTrustPolicy(env: EnvironmentInfo, subjects: string | string[], account = ACCOUNT): Record<string, unknown> {
  const provider = oidcProvider(env);
  return {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${account}:oidc-provider/${provider}` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${provider}:sub`]: subjects,
          [`${provider}:aud`]: STS_AUDIENCE,
        },
      },
    }],
  };
}

/**
 * Makes `roleName` a role that the given ServiceAccount(s) may assume through the cluster's OIDC
 * provider: `aws iam create-role`, or `aws iam update-assume-role-policy` when it exists already
 * (an earlier file of the run, or a long-lived `make dev` environment). Returns the role's ARN.
 */
export async function ensureIrsaRole(aws: AwsCli, env: EnvironmentInfo, roleName: string, subjects: string | string[]): Promise<string> {
  const policy = JSON.stringify(irsaTrustPolicy(env, subjects));
  const created = await aws.attempt(['iam', 'create-role', '--role-name', roleName, '--assume-role-policy-document', policy]);
  if (created.code !== 0) {
    if (!created.stderr.includes('EntityAlreadyExists')) throw new Error(`aws iam create-role ${roleName} failed (${created.code}): ${created.stderr}`);
    await aws.json(['iam', 'update-assume-role-policy', '--role-name', roleName, '--policy-document', policy]);
  }
  return `arn:aws:iam::${ACCOUNT}:role/${roleName}`;
}
