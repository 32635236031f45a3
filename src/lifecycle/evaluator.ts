/**
 * A local evaluator of ECR's documented lifecycle policy semantics: which images a policy would
 * expire or archive next. ECR's own StartLifecyclePolicyPreview does not exist on local endpoints
 * (moto, LocalStack), and it is asynchronous; this answers at once, from the images the gateway
 * already read. Pure: no I/O, the clock is a parameter.
 *
 * Semantics, as ECR documents them (Amazon ECR User Guide, "How lifecycle policies work" and
 * "Lifecycle policy properties"):
 * - rules apply in rulePriority order, lowest first; an image is acted on by at most one rule;
 * - a rule never acts on an image that matched the selection of a rule with a higher priority
 *   (lower rulePriority), but still counts it (imageCountMoreThan sees every matching image,
 *   as if nothing had been expired before);
 * - tagged: the image has tags, and every entry of tagPrefixList (or tagPatternList) matches one of
 *   them ("only images with all specified tags are selected"); untagged: no tag; any: every image;
 * - storageClass (default standard) selects active images (standard) or archived ones (archive);
 * - imageCountMoreThan: images sorted newest first by push time; those past countNumber are acted on;
 * - sinceImagePushed / sinceImagePulled / sinceImageTransitioned: images whose push, last pull
 *   (push time when never pulled) or archive time is at least countNumber days ago.
 */
import type { LifecycleRule, LifecyclePolicyDocument, LifecycleSelection } from './policy.js';

export type ImageStorageClass = 'STANDARD' | 'ARCHIVE';

export interface LifecycleImage {
  digest: string;
  tags: string[];
  pushedAt: Date;
  lastPulledAt?: Date;
  storageClass: ImageStorageClass;
  /** When the image moved to the archive (ECR's lastArchivedAt). */
  transitionedAt?: Date;
  sizeBytes: number;
}

export interface LifecycleEvaluation {
  /** Digests the policy would delete. */
  expire: string[];
  /** Digests the policy would move to the archive. */
  archive: string[];
  imagesToExpire: number;
  imagesToArchive: number;
  /** Up to SAMPLE_SIZE tags (or digests of untagged images) acted on next, oldest push first. */
  sample: string[];
}

export const SAMPLE_SIZE = 10;
const DAY_MS = 86_400_000;

/**
 * ECR's tag wildcard: '*' matches any run of characters (also none); the rest is literal. A scanner,
 * not a RegExp built from the pattern: placing each literal part at its leftmost occurrence after
 * the one before is exact for '*'-only patterns and searches the tag once per part, where V8
 * would backtrack through a `.*` for every '*' (polynomially in the tag's length).
 */
export function wildcardMatches(pattern: string, tag: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === tag;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (!tag.startsWith(first) || tag.length < first.length + last.length || !tag.endsWith(last)) return false;
  let at = first.length;
  const end = tag.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = tag.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

function matchesTags(selection: LifecycleSelection, image: LifecycleImage): boolean {
  switch (selection.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return image.tags.length === 0;
    case 'tagged': {
      if (image.tags.length === 0) return false;
      const prefixes = selection.tagPrefixList ?? [];
      const patterns = selection.tagPatternList ?? [];
      return prefixes.every((p) => image.tags.some((t) => t.startsWith(p))) &&
        patterns.every((p) => image.tags.some((t) => wildcardMatches(p, t)));
    }
  }
}

function matchesSelection(selection: LifecycleSelection, image: LifecycleImage): boolean {
  const wanted = selection.storageClass === 'archive' ? 'ARCHIVE' : 'STANDARD';
  return image.storageClass === wanted && matchesTags(selection, image);
}

function olderThan(time: Date | undefined, days: number, now: Date): boolean {
  return time !== undefined && now.getTime() - time.getTime() >= days * DAY_MS;
}

/** The images of `matching` that the rule's count criterion picks. */
function counted(rule: LifecycleRule, matching: LifecycleImage[], now: Date): LifecycleImage[] {
  const { countType, countNumber } = rule.selection;
  switch (countType) {
    case 'imageCountMoreThan':
      return [...matching]
        .sort((a, b) => b.pushedAt.getTime() - a.pushedAt.getTime() || a.digest.localeCompare(b.digest))
        .slice(countNumber);
    case 'sinceImagePushed':
      return matching.filter((i) => olderThan(i.pushedAt, countNumber, now));
    case 'sinceImagePulled':
      return matching.filter((i) => olderThan(i.lastPulledAt ?? i.pushedAt, countNumber, now));
    case 'sinceImageTransitioned':
      return matching.filter((i) => olderThan(i.transitionedAt, countNumber, now));
  }
}

/** What the policy would do to these images at `now`. */
export function evaluateLifecyclePolicy(policy: LifecyclePolicyDocument, images: LifecycleImage[], now: Date): LifecycleEvaluation {
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const acted = new Map<string, 'expire' | 'transition'>();
  const claimed = new Set<string>();
  for (const rule of rules) {
    const matching = images.filter((image) => matchesSelection(rule.selection, image));
    for (const image of counted(rule, matching, now)) {
      if (!acted.has(image.digest) && !claimed.has(image.digest)) acted.set(image.digest, rule.action.type);
    }
    for (const image of matching) claimed.add(image.digest);
  }

  const expire: string[] = [];
  const archive: string[] = [];
  for (const [digest, action] of acted) (action === 'expire' ? expire : archive).push(digest);
  const byDigest = new Map(images.map((i) => [i.digest, i]));
  const sample = [...acted.keys()]
    .map((d) => byDigest.get(d) as LifecycleImage)
    .sort((a, b) => a.pushedAt.getTime() - b.pushedAt.getTime() || a.digest.localeCompare(b.digest))
    .slice(0, SAMPLE_SIZE)
    .map((i) => [...i.tags].sort()[0] ?? i.digest);
  return { expire, archive, imagesToExpire: expire.length, imagesToArchive: archive.length, sample };
}
