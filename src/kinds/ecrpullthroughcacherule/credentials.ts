/**
 * The upstream credentials of spec.credentialsSecretRef: read from the Kubernetes Secret, kept in a
 * Secrets Manager secret the operator creates and owns. Nothing here ever puts a credential in a
 * message: problems name the Secret and the key, never a value.
 */
import { ownerTagValue } from '../../api/owner.js';
import { resourcePath } from '../../runtime/kube.js';
import { ECR_PULL_THROUGH_CACHE_RULE } from './types.js';

/** The keys of the Kubernetes Secret, and of the JSON that ECR reads from Secrets Manager. */
export const USERNAME_KEY = 'username';
export const ACCESS_TOKEN_KEY = 'accessToken';

/** ECR requires the secrets of pull through cache rules to be named under this prefix. */
export const SECRET_NAME_PREFIX = 'ecr-pullthroughcache/';
/** Secrets Manager: a secret name is at most 512 characters; a value at most 65,536 bytes. */
const SECRET_NAME_MAX = 512;
const SECRET_VALUE_MAX_BYTES = 65_536;

export interface UpstreamCredentials {
  username: string;
  accessToken: string;
}

const SECRETS = { group: '', version: 'v1', plural: 'secrets' };

interface SecretObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

/**
 * The name of the Secrets Manager secret that the operator keeps for an object:
 * `ecr-pullthroughcache/infra-operator/[<cluster>/]<object name>`, in the characters Secrets
 * Manager allows (the cluster name is reduced to them).
 */
export function managedSecretName(objectName: string, clusterName?: string): string {
  const cluster = clusterName?.trim().replace(/[^A-Za-z0-9/_+=.@-]/g, '-');
  const name = `${SECRET_NAME_PREFIX}infra-operator/${cluster ? `${cluster}/` : ''}${objectName}`;
  return name.slice(0, SECRET_NAME_MAX);
}

/** The owner tag value of what an ECRPullThroughCacheRule creates: `[<cluster>/]ECRPullThroughCacheRule/<name>`. */
export function secretOwner(objectName: string, clusterName?: string): string {
  // The kind in the namespace's place: no namespace has upper-case letters, so no namespaced
  // object's value can be this one.
  return ownerTagValue(ECR_PULL_THROUGH_CACHE_RULE.kind, objectName, clusterName);
}

/** The value ECR reads: a JSON object with the two keys. */
export function secretValue(credentials: UpstreamCredentials): string {
  return JSON.stringify({ [USERNAME_KEY]: credentials.username, [ACCESS_TOKEN_KEY]: credentials.accessToken });
}

/** Whether a stored secret value holds exactly these credentials. */
export function holds(stored: string | undefined, credentials: UpstreamCredentials): boolean {
  if (stored === undefined) return false;
  try {
    const parsed = JSON.parse(stored) as Record<string, unknown>;
    return typeof parsed === 'object' && parsed !== null && Object.keys(parsed).length === 2
      && parsed[USERNAME_KEY] === credentials.username && parsed[ACCESS_TOKEN_KEY] === credentials.accessToken;
  } catch {
    return false;
  }
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const raw = data?.[key];
  if (raw === undefined) return undefined;
  return Buffer.from(raw, 'base64').toString('utf8');
}

/** The credentials of the Secret, or what is wrong with it (naming the Secret and key only). */
export async function readCredentials(
  kube: { getOrUndefined<R>(path: string): Promise<R | undefined> },
  namespace: string,
  name: string,
): Promise<{ credentials: UpstreamCredentials } | { problem: string }> {
  const secret = await kube.getOrUndefined<SecretObject>(resourcePath(SECRETS, namespace, name));
  const where = `Secret ${namespace}/${name} (spec.credentialsSecretRef)`;
  if (!secret) return { problem: `${where} does not exist` };
  const username = decode(secret.data, USERNAME_KEY);
  const accessToken = decode(secret.data, ACCESS_TOKEN_KEY);
  for (const [key, value] of [[USERNAME_KEY, username], [ACCESS_TOKEN_KEY, accessToken]] as const) {
    if (value === undefined) return { problem: `${where} has no key ${key}` };
    if (value.trim() === '') return { problem: `${where} has an empty ${key}` };
  }
  const credentials = { username: username as string, accessToken: accessToken as string };
  if (Buffer.byteLength(secretValue(credentials)) > SECRET_VALUE_MAX_BYTES) {
    return { problem: `${where}: ${USERNAME_KEY} and ${ACCESS_TOKEN_KEY} together exceed the ${SECRET_VALUE_MAX_BYTES} bytes a Secrets Manager secret holds` };
  }
  return { credentials };
}
