import { createHash } from 'node:crypto';

/**
 * The value of the ownership tag: `<namespace>/<name>`, prefixed by `<cluster>/` when the operator
 * runs with --cluster-name, so that two clusters managing one AWS account never take over each
 * other's repositories. ECR refuses tag values over 256 characters, and a namespace (63) and a name
 * (253) can reach 317; a value that long keeps its first characters and ends in `_` and a digest of
 * the whole value. `_` appears in no namespace or object name, so a shortened value can never equal
 * the full value of another object.
 */

export const MAX_TAG_VALUE_LENGTH = 256;
const DIGEST_LENGTH = 16;

export function ownerTagValue(namespace: string, name: string, clusterName?: string): string {
  const cluster = clusterName?.trim();
  const full = cluster ? `${cluster}/${namespace}/${name}` : `${namespace}/${name}`;
  if (full.length <= MAX_TAG_VALUE_LENGTH) return full;
  const digest = createHash('sha256').update(full).digest('hex').slice(0, DIGEST_LENGTH);
  return `${full.slice(0, MAX_TAG_VALUE_LENGTH - DIGEST_LENGTH - 1)}_${digest}`;
}
