import type { EnvironmentInfo } from '../test/e2e/env/environment.js';
import { environmentVariables } from '../test/e2e/env/environment.js';
import { exec } from './exec.js';

/**
 * The local AWS layer in front of moto (test/e2e/env/aws-proxy.ts): its call counters, its fault
 * injection, and keys of another account than the environment's own.
 */

export async function awsCalls(env: EnvironmentInfo): Promise<Record<string, number>> {
  return (await (await fetch(`${env.awsEndpoint}/__aws/calls`)).json()) as Record<string, number>;
}

export async function resetAwsCalls(env: EnvironmentInfo): Promise<void> {
  const res = await fetch(`${env.awsEndpoint}/__aws/calls/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`resetting the AWS call counters failed: HTTP ${res.status}`);
}

/** The same calls by the access key that signed them: "Service:Operation@accessKeyId". */
export async function awsCallsBySigner(env: EnvironmentInfo): Promise<Record<string, number>> {
  return (await (await fetch(`${env.awsEndpoint}/__aws/calls/by-signer`)).json()) as Record<string, number>;
}

export function ecrOnly(calls: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).filter(([k]) => k.startsWith('ECR:')));
}

/** A fault of the AWS layer: matching calls fail with this AWS error (a `rate` of them, at random). */
export interface Fault {
  operation: string;
  service?: string;
  /** Only calls signed with this access key. */
  accessKeyId?: string;
  status: number;
  code: string;
  message?: string;
  rate?: number;
}

export async function setFaults(env: EnvironmentInfo, faults: readonly Fault[]): Promise<void> {
  const res = await fetch(`${env.awsEndpoint}/__aws/faults`, { method: 'POST', body: JSON.stringify(faults) });
  if (!res.ok) throw new Error(`setting the AWS layer's faults failed: HTTP ${res.status}`);
}

/** How many calls the AWS layer's faults have failed, by error code. */
export async function injectedFaults(env: EnvironmentInfo): Promise<Record<string, number>> {
  const faults = (await (await fetch(`${env.awsEndpoint}/__aws/faults`)).json()) as Array<{ code: string; injected?: number }>;
  const out: Record<string, number> = {};
  for (const f of faults) out[f.code] = (out[f.code] ?? 0) + (f.injected ?? 0);
  return out;
}

/**
 * A long-term access key of an IAM user in another account than the environment's own, made as a
 * user would with awscli: assume a role of that account, then create the user and its key there
 * (moto lets a role of any account be assumed, and answers a key's calls as its account's). An
 * AWSProvider with this key acts in that account, with its own client-side rate limit, and the
 * AWS layer's faults can single out its calls by the key.
 */
export async function accessKeyInAccount(env: EnvironmentInfo, accountId: string, userName: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env, ...environmentVariables(env), AWS_DEFAULT_REGION: env.region };
  // Only the credentials given below: none of the caller's own may mix in.
  for (const name of ['AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_PROFILE']) delete base[name];
  const aws = async <T>(args: string[], vars: Record<string, string>): Promise<T> => {
    const r = await exec('aws', [...args, '--output', 'json'], { env: { ...base, ...vars }, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-1000)}`);
    return JSON.parse(r.stdout) as T;
  };
  const { Credentials: role } = await aws<{ Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } }>(
    ['sts', 'assume-role', '--role-arn', `arn:aws:iam::${accountId}:role/bench`, '--role-session-name', userName], {});
  const asRole = { AWS_ACCESS_KEY_ID: role.AccessKeyId, AWS_SECRET_ACCESS_KEY: role.SecretAccessKey, AWS_SESSION_TOKEN: role.SessionToken };
  await aws(['iam', 'create-user', '--user-name', userName], asRole);
  const { AccessKey: key } = await aws<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', userName], asRole);
  const { Account: account } = await aws<{ Account: string }>(['sts', 'get-caller-identity'], { AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey });
  if (account !== accountId) throw new Error(`the key made for account ${accountId} acts in account ${account}`);
  return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
}
