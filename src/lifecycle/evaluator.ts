/**
 * A local evaluator of ECR's documented lifecycle policy semantics: which images a policy would
 * expire or archive next. ECR's own StartLifecyclePolicyPreview does not exist on local endpoints
 * (moto, LocalStack), and it is asynchronous; this answers at once, from the images the gateway
 * already read. Pure: no I/O, the clock is a parameter. The work is a generator (slices.ts), so
 * that a large repository or a long tag list is evaluated in slices that give the event loop back.
 *
 * Semantics, as ECR documents them (Amazon ECR User Guide, "Automate the cleanup of images by using
 * lifecycle policies", section "Lifecycle policy evaluation rules",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules,
 * and "Lifecycle policy properties", lifecycle_policy_parameters.html):
 * - rules apply in rulePriority order, lowest first; an image is acted on by at most one rule;
 * - a rule never acts on an image that matched the selection of a rule with a higher priority
 *   (lower rulePriority), but still counts it (imageCountMoreThan sees every matching image,
 *   as if nothing had been expired before);
 * - tagged: the image has tags, and every entry of tagPrefixList (or tagPatternList) matches one of
 *   them ("only images with all specified tags are selected"); untagged: no tag; any: every image;
 * - storageClass (default standard) selects active images (standard) or archived ones (archive);
 * - imageCountMoreThan: images sorted newest first by push time; those past countNumber are acted on;
 * - sinceImagePushed / sinceImagePulled / sinceImageTransitioned: images whose push, last pull
 *   (push time when never pulled) or archive time is at least countNumber days ago;
 * - "If an image is referenced by a manifest list, it cannot be expired or archived without the
 *   manifest list being deleted or archived first" (same section);
 * - "When reference artifacts are present in a repository, Amazon ECR lifecycle policies
 *   automatically expire or archive those artifacts within 24 hours of the deletion or archival of
 *   the subject image" (same section; also "Sign images in Amazon ECR", image-signing.html).
 *
 * Where the pages are silent, the preview counts as follows (status.lifecyclePreview says so in
 * the CRD, for `kubectl explain`):
 * - An image is what was pushed: a single-platform image, or an image index (multi-platform image)
 *   counted once. Rules select, rank and act on these only.
 * - The child manifests of an image index that is in the repository are never acted on and never
 *   counted, not even when the preview expires or archives their index (they go with it, or become
 *   ordinary untagged images for a later evaluation). DescribeImages does not say which index lists
 *   a manifest, and reading the index (BatchGetImage) would count as a pull and move the
 *   lastRecordedPullTime that sinceImagePulled rules read; so an untagged, non-index manifest pushed
 *   at most INDEX_CHILD_WINDOW_MS before an image index (and not after it) is taken for one of its
 *   children, as `docker buildx` and `docker push` push them.
 * - A referring artifact (DescribeImages' subjectManifestDigest: a signature, an SBOM, an
 *   attestation) whose subject is in the repository goes with its subject and is not counted; one
 *   whose subject is gone is counted as expired, since ECR cleans it up.
 */
import type { LifecycleRule, LifecyclePolicyDocument } from './policy.js';
import { runInSlices, runToEnd, type SliceOptions, type SliceStats, type Work } from './slices.js';

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
  /** An image index (OCI index or Docker manifest list), by DescribeImages' imageManifestMediaType. */
  imageIndex?: boolean;
  /** The digest of the image this artifact refers to (DescribeImages' subjectManifestDigest). */
  subject?: string;
  /**
   * A hash of every field above (fingerprint.ts), to tell a changed listing from the last one; set
   * where the image is read from DescribeImages (aws/images.ts), computed when absent. Code that
   * changes an image afterwards must drop it.
   */
  fingerprint?: number;
}

export interface LifecycleEvaluation {
  /** Digests the policy would delete (empty when only counts were asked for). */
  expire: string[];
  /** Digests the policy would move to the archive (likewise). */
  archive: string[];
  imagesToExpire: number;
  imagesToArchive: number;
  /** Up to SAMPLE_SIZE tags (or digests of untagged images) acted on next, oldest push first. */
  sample: string[];
  /**
   * When the result changes with time alone: the earliest moment an age-based rule (since*) starts
   * to act on an image it does not act on now. Undefined when time alone changes nothing.
   */
  changesAt?: Date;
  /** Entries that go with another one and are not counted on their own. */
  following: { indexChildren: number; referrers: number };
}

export const SAMPLE_SIZE = 10;
const DAY_MS = 86_400_000;
/**
 * How long before an image index an untagged manifest may have been pushed and still be taken for
 * one of its children. Clients push the platform manifests right before the index (seconds apart);
 * the margin covers slow uploads of large images.
 */
export const INDEX_CHILD_WINDOW_MS = 10 * 60_000;
/** Units of work (comparisons, characters walked, pattern checks) between two pause points. */
const UNITS_PER_PAUSE = 2048;

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

/** What the policy would do to these images at `now`, at once: for small inputs (tests, a new repository). */
export function evaluateLifecyclePolicy(policy: LifecyclePolicyDocument, images: LifecycleImage[], now: Date): LifecycleEvaluation {
  return runToEnd(evaluation(policy, images, now, true));
}

/**
 * The same, in slices that give the event loop back (no slice much over SliceOptions.sliceMs).
 * With `counts`, expire and archive stay empty: only the numbers and the sample are made.
 */
export function evaluateLifecyclePolicyInSlices(
  policy: LifecyclePolicyDocument,
  images: LifecycleImage[],
  now: Date,
  opts: SliceOptions & { counts?: boolean } = {},
): Promise<{ value: LifecycleEvaluation; stats: SliceStats }> {
  return runInSlices(evaluation(policy, images, now, !opts.counts), opts);
}

/** How an entry of the listing takes part in the evaluation. */
const COUNTED = 0;
const INDEX_CHILD = 1;
const FOLLOWS_SUBJECT = 2;
const ORPHAN_REFERRER = 3;
const REPEAT = 4;

const NONE = 0;
const EXPIRE = 1;
const ARCHIVE = 2;

/** Counts work done and says when a pause point is due. */
class Pacer {
  private units = 0;
  /** True when the caller should yield now. */
  add(units: number): boolean {
    this.units += units;
    if (this.units < UNITS_PER_PAUSE) return false;
    this.units = 0;
    return true;
  }
}

function* evaluation(policy: LifecyclePolicyDocument, images: LifecycleImage[], now: Date, collectDigests: boolean): Work<LifecycleEvaluation> {
  const pacer = new Pacer();
  const nowMs = now.getTime();
  const n = images.length;
  // Typed arrays and few large objects: what a large listing allocates here lives outside the
  // JavaScript heap or dies young, so that no long garbage collection lands in a slice.
  const time = new Float64Array(n);
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) {
    time[i] = (images[i] as LifecycleImage).pushedAt.getTime();
    all[i] = i;
    if (pacer.add(2)) yield;
  }

  const order = yield* newestFirst(images, all, time, pacer);
  const role = new Uint8Array(n);
  const following = yield* classify(images, order, time, role, pacer);
  const rules = yield* compileRules(policy.rules, pacer);
  const matcher = rules.matcher;

  const act = new Uint8Array(n);
  const ranks = new Int32Array(rules.list.length);
  let changesAt = Number.POSITIVE_INFINITY;
  for (let k = 0; k < order.length; k += 1) {
    const i = order[k] as number;
    if (role[i] === ORPHAN_REFERRER) act[i] = EXPIRE;
    if (role[i] !== COUNTED) continue;
    const image = images[i] as LifecycleImage;
    const storage = image.storageClass === 'ARCHIVE' ? 1 : 0;
    // The rules whose selection this image matches: each counts it, the first (highest priority)
    // may act on it. Rule ids are in priority order.
    let firstRule = -1;
    if (image.tags.length > 0) {
      if (matcher.active) {
        matcher.begin();
        for (const tag of image.tags) if (pacer.add(matcher.match(tag))) yield;
        firstRule = countMatches(matcher.satisfied(storage), ranks, firstRule);
      }
      firstRule = countMatches(rules.taggedAll[storage] as number[], ranks, firstRule);
    } else {
      firstRule = countMatches(rules.untagged[storage] as number[], ranks, firstRule);
    }
    firstRule = countMatches(rules.any[storage] as number[], ranks, firstRule);
    if (pacer.add(8)) yield;
    if (firstRule < 0) continue;

    const rule = rules.list[firstRule] as CompiledRule;
    // Its rank among the rule's images, newest first (this image was counted above).
    const rank = (ranks[firstRule] as number) - 1;
    if (rule.countType === 'imageCountMoreThan') {
      if (rank >= rule.countNumber) act[i] = rule.action;
      continue;
    }
    const since = rule.countType === 'sinceImagePushed'
      ? image.pushedAt
      : rule.countType === 'sinceImagePulled' ? image.lastPulledAt ?? image.pushedAt : image.transitionedAt;
    if (since === undefined) continue;
    const due = since.getTime() + rule.countNumber * DAY_MS;
    if (nowMs >= due) act[i] = rule.action;
    else if (due < changesAt) changesAt = due;
  }

  const expire: string[] = [];
  const archive: string[] = [];
  const sample: string[] = [];
  let imagesToExpire = 0;
  let imagesToArchive = 0;
  // Oldest push first.
  for (let k = order.length - 1; k >= 0; k -= 1) {
    const i = order[k] as number;
    if (act[i] === NONE) continue;
    const image = images[i] as LifecycleImage;
    if (act[i] === EXPIRE) {
      imagesToExpire += 1;
      if (collectDigests) expire.push(image.digest);
    } else {
      imagesToArchive += 1;
      if (collectDigests) archive.push(image.digest);
    }
    if (sample.length < SAMPLE_SIZE) sample.push(firstTag(image.tags) ?? image.digest);
    if (pacer.add(2)) yield;
  }
  const result: LifecycleEvaluation = { expire, archive, imagesToExpire, imagesToArchive, sample, following };
  if (Number.isFinite(changesAt)) result.changesAt = new Date(changesAt);
  return result;
}

/** Counts an image for each of these rules; returns the first (highest-priority) rule so far. */
function countMatches(ids: readonly number[], ranks: Int32Array, firstRule: number): number {
  let first = firstRule;
  for (const r of ids) {
    if (first < 0 || r < first) first = r;
    ranks[r] = (ranks[r] as number) + 1;
  }
  return first;
}

function firstTag(tags: string[]): string | undefined {
  let first: string | undefined;
  for (const tag of tags) if (first === undefined || tag < first) first = tag;
  return first;
}

/**
 * The unique entries ordered newest push first (ties: digest order), as imageCountMoreThan ranks
 * them: a bottom-up merge sort that pauses, where Array.prototype.sort could not.
 */
function* newestFirst(images: LifecycleImage[], entries: Uint32Array, time: Float64Array, pacer: Pacer): Work<Uint32Array> {
  const n = entries.length;
  let src: Uint32Array = entries;
  let dst: Uint32Array = new Uint32Array(n);
  const before = (a: number, b: number): boolean => {
    const ta = time[a] as number;
    const tb = time[b] as number;
    return ta > tb || (ta === tb && (images[a] as LifecycleImage).digest < (images[b] as LifecycleImage).digest);
  };
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      for (let k = lo; k < hi; k += 1) {
        // Stable: the left run wins ties.
        if (i < mid && (j >= hi || !before(src[j] as number, src[i] as number))) dst[k] = src[i++] as number;
        else dst[k] = src[j++] as number;
        if (pacer.add(1)) yield;
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}

/**
 * Marks each entry's part: counted, a child of an image index, a referrer that goes with its
 * subject, a referrer whose subject is gone, or a repeat of a digest already seen (the first
 * entry of a digest is the one that counts). Returns how many entries go with another one.
 */
function* classify(images: LifecycleImage[], order: Uint32Array, time: Float64Array, role: Uint8Array, pacer: Pacer): Work<LifecycleEvaluation['following']> {
  const following = { indexChildren: 0, referrers: 0 };
  // The subjects that referrers name, and which of them are in the listing.
  const subjects = new Map<string, boolean>();
  for (let k = 0; k < order.length; k += 1) {
    const subject = (images[order[k] as number] as LifecycleImage).subject;
    if (subject !== undefined) subjects.set(subject, false);
    if (pacer.add(1)) yield;
  }
  if (subjects.size > 0) {
    for (let k = 0; k < order.length; k += 1) {
      const digest = (images[order[k] as number] as LifecycleImage).digest;
      if (subjects.has(digest)) subjects.set(digest, true);
      if (pacer.add(2)) yield;
    }
  }
  const candidates: number[] = [];
  const indexes: number[] = [];
  // Oldest first. Entries of one digest have one push time, so a repeat sits next to the first.
  let previous: LifecycleImage | undefined;
  for (let k = order.length - 1; k >= 0; k -= 1) {
    const i = order[k] as number;
    const image = images[i] as LifecycleImage;
    if (previous !== undefined && previous.digest === image.digest) {
      role[i] = REPEAT;
      continue;
    }
    previous = image;
    if (image.subject !== undefined) {
      const present = subjects.get(image.subject) === true;
      role[i] = present ? FOLLOWS_SUBJECT : ORPHAN_REFERRER;
      if (present) following.referrers += 1;
    } else if (image.imageIndex) {
      indexes.push(i);
    } else if (image.tags.length === 0) {
      candidates.push(i);
    }
    if (pacer.add(2)) yield;
  }
  // Each index takes the candidates pushed in the window before it (or at the same time).
  let c = 0;
  for (const x of indexes) {
    const at = time[x] as number;
    while (c < candidates.length && (time[candidates[c] as number] as number) < at - INDEX_CHILD_WINDOW_MS) c += 1;
    while (c < candidates.length && (time[candidates[c] as number] as number) <= at) {
      role[candidates[c] as number] = INDEX_CHILD;
      following.indexChildren += 1;
      c += 1;
      if (pacer.add(1)) yield;
    }
    if (pacer.add(1)) yield;
  }
  return following;
}

interface CompiledRule {
  countType: LifecycleRule['selection']['countType'];
  countNumber: number;
  action: typeof EXPIRE | typeof ARCHIVE;
}

interface CompiledRules {
  /** By priority, highest (lowest rulePriority) first; a rule's id is its index here. */
  list: CompiledRule[];
  /** Per storage class (0 standard, 1 archive): ids of the tagged rules without a tag list. */
  taggedAll: [number[], number[]];
  untagged: [number[], number[]];
  any: [number[], number[]];
  matcher: TagMatcher;
}

function* compileRules(documentRules: LifecycleRule[], pacer: Pacer): Work<CompiledRules> {
  const sorted = [...documentRules].sort((a, b) => a.rulePriority - b.rulePriority);
  const compiled: CompiledRules = { list: [], taggedAll: [[], []], untagged: [[], []], any: [[], []], matcher: new TagMatcher(sorted.length) };
  for (let id = 0; id < sorted.length; id += 1) {
    const { selection, action } = sorted[id] as LifecycleRule;
    compiled.list.push({ countType: selection.countType, countNumber: selection.countNumber, action: action.type === 'expire' ? EXPIRE : ARCHIVE });
    const storage = selection.storageClass === 'archive' ? 1 : 0;
    if (selection.tagStatus === 'any') compiled.any[storage].push(id);
    else if (selection.tagStatus === 'untagged') compiled.untagged[storage].push(id);
    else {
      const prefixes = new Set(selection.tagPrefixList ?? []);
      const patterns = new Set(selection.tagPatternList ?? []);
      if (prefixes.size + patterns.size === 0) compiled.taggedAll[storage].push(id);
      else yield* compiled.matcher.addRule(id, storage, prefixes, patterns, pacer);
    }
  }
  compiled.matcher.seal();
  return compiled;
}

interface TrieNode {
  next?: Map<number, TrieNode>;
  /** Entries satisfied by any tag that reaches this node (prefixes; suffixes in the backward trie). */
  reached?: number[];
  /** Entries satisfied by a tag that ends at this node (patterns without '*'). */
  exact?: number[];
  /** Patterns whose literal start (in the backward trie: literal end) ends here: tried on the tags that reach it. */
  candidates?: number[];
}

/** A pattern with '*' inside, split once. */
interface CompiledPattern {
  first: string;
  last: string;
  middles: string[];
}

function compilePattern(pattern: string): CompiledPattern {
  const parts = pattern.split('*');
  return { first: parts[0] as string, last: parts[parts.length - 1] as string, middles: parts.slice(1, -1).filter((p) => p.length > 0) };
}

/** wildcardMatches for a pattern split beforehand. */
function compiledMatches(p: CompiledPattern, tag: string): boolean {
  if (tag.length < p.first.length + p.last.length || !tag.startsWith(p.first) || !tag.endsWith(p.last)) return false;
  let at = p.first.length;
  const end = tag.length - p.last.length;
  for (const middle of p.middles) {
    const found = tag.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/**
 * Which tagged rules an image's tags satisfy, without trying every entry on every tag. Each
 * distinct prefix or pattern is one entry, shared by the rules that list it. A prefix, and a
 * pattern whose only '*' ends it, sits in a trie that each tag walks once; a pattern without '*'
 * sits there too, for tags that end at it; a pattern whose only '*' starts it sits in a trie of
 * reversed tags. Any other pattern sits under its literal start (or literal end) and is tried only
 * on the tags that reach it; only patterns with a '*' at both ends are tried on every tag.
 */
class TagMatcher {
  private readonly forward: TrieNode = {};
  private readonly backward: TrieNode = {};
  private readonly floating: number[] = [];
  private readonly entries = new Map<string, number>();
  /** The rules that list each entry. */
  private readonly entryRules: number[][] = [];
  private readonly patterns: Array<CompiledPattern | undefined> = [];
  private readonly ruleStorage: Int8Array;
  /** Entries a rule needs matched (its distinct prefixes and patterns). */
  private readonly need: Int32Array;
  private readonly ruleStamp: Int32Array;
  private readonly ruleHits: Int32Array;
  private entryStamp = new Int32Array(0);
  private stamp = 0;
  private readonly touched: number[] = [];
  private readonly done: number[] = [];

  constructor(rules: number) {
    this.ruleStorage = new Int8Array(rules).fill(-1);
    this.need = new Int32Array(rules);
    this.ruleStamp = new Int32Array(rules);
    this.ruleHits = new Int32Array(rules);
  }

  *addRule(rule: number, storage: number, prefixes: Set<string>, patterns: Set<string>, pacer: Pacer): Work<void> {
    this.ruleStorage[rule] = storage;
    const mine = new Set<number>();
    for (const prefix of prefixes) {
      mine.add(this.entry(`p${prefix}`, () => (this.insert(this.forward, prefix, false).reached ??= [])));
      if (pacer.add(prefix.length + 1)) yield;
    }
    for (const written of patterns) {
      // '**' matches what '*' matches.
      const pattern = written.replace(/\*+/g, '*');
      const star = pattern.indexOf('*');
      const lastStar = pattern.lastIndexOf('*');
      let entry: number;
      if (star < 0) {
        entry = this.entry(`x${pattern}`, () => (this.insert(this.forward, pattern, false).exact ??= []));
      } else if (star === lastStar && star === pattern.length - 1) {
        const prefix = pattern.slice(0, star);
        entry = this.entry(`p${prefix}`, () => (this.insert(this.forward, prefix, false).reached ??= []));
      } else if (star === lastStar && star === 0) {
        const suffix = pattern.slice(1);
        entry = this.entry(`s${suffix}`, () => (this.insert(this.backward, suffix, true).reached ??= []));
      } else {
        const compiled = compilePattern(pattern);
        entry = this.entry(`w${pattern}`, () => {
          if (compiled.first.length > 0) return (this.insert(this.forward, compiled.first, false).candidates ??= []);
          if (compiled.last.length > 0) return (this.insert(this.backward, compiled.last, true).candidates ??= []);
          return this.floating;
        }, compiled);
      }
      mine.add(entry);
      if (pacer.add(pattern.length + 1)) yield;
    }
    for (const entry of mine) (this.entryRules[entry] as number[]).push(rule);
    this.need[rule] = mine.size;
  }

  /** After the last addRule. */
  seal(): void {
    this.entryStamp = new Int32Array(this.entryRules.length);
  }

  /** Whether any rule has a tag list: otherwise there is nothing to match. */
  get active(): boolean {
    return this.entryRules.length > 0;
  }

  /** Starts the tags of one image. */
  begin(): void {
    this.stamp += 1;
    if (this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.entryStamp.fill(0);
      this.ruleStamp.fill(0);
    }
    this.touched.length = 0;
  }

  /** Matches one tag of the image; returns the work done, for pacing. */
  match(tag: string): number {
    let work = this.walk(this.forward, tag, false);
    if (this.backward.next) work += this.walk(this.backward, tag, true);
    for (const entry of this.floating) {
      if (this.entryStamp[entry] !== this.stamp && compiledMatches(this.patterns[entry] as CompiledPattern, tag)) this.mark(entry);
    }
    return work + 4 * this.floating.length + 1;
  }

  /** After the image's tags: the rules of this storage class whose every entry matched a tag. */
  satisfied(storage: number): number[] {
    this.done.length = 0;
    for (const rule of this.touched) {
      if (this.ruleHits[rule] === this.need[rule] && this.ruleStorage[rule] === storage) this.done.push(rule);
    }
    return this.done;
  }

  /** The entry of this key, made (and placed with `place`) the first time. */
  private entry(key: string, place: () => number[], pattern?: CompiledPattern): number {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = this.entryRules.length;
      this.entries.set(key, entry);
      this.entryRules.push([]);
      this.patterns.push(pattern);
      place().push(entry);
    }
    return entry;
  }

  private insert(root: TrieNode, text: string, reversed: boolean): TrieNode {
    let node = root;
    for (let k = 0; k < text.length; k += 1) {
      const code = text.charCodeAt(reversed ? text.length - 1 - k : k);
      node.next ??= new Map();
      let child = node.next.get(code);
      if (!child) {
        child = {};
        node.next.set(code, child);
      }
      node = child;
    }
    return node;
  }

  /** Walks one tag through a trie; returns the work done (nodes visited, entries looked at). */
  private walk(root: TrieNode, tag: string, reversed: boolean): number {
    let node: TrieNode | undefined = root;
    let work = this.visit(node, tag);
    for (let k = 0; k < tag.length; k += 1) {
      node = node.next?.get(tag.charCodeAt(reversed ? tag.length - 1 - k : k));
      if (!node) return work;
      work += this.visit(node, tag);
    }
    if (node.exact) {
      for (const entry of node.exact) this.mark(entry);
      work += node.exact.length;
    }
    return work;
  }

  private visit(node: TrieNode, tag: string): number {
    let work = 1;
    if (node.reached) {
      for (const entry of node.reached) this.mark(entry);
      work += node.reached.length;
    }
    if (node.candidates) {
      for (const entry of node.candidates) {
        if (this.entryStamp[entry] !== this.stamp && compiledMatches(this.patterns[entry] as CompiledPattern, tag)) this.mark(entry);
      }
      work += 4 * node.candidates.length;
    }
    return work;
  }

  private mark(entry: number): void {
    if (this.entryStamp[entry] === this.stamp) return;
    this.entryStamp[entry] = this.stamp;
    for (const rule of this.entryRules[entry] as number[]) {
      if (this.ruleStamp[rule] !== this.stamp) {
        this.ruleStamp[rule] = this.stamp;
        this.ruleHits[rule] = 0;
        this.touched.push(rule);
      }
      this.ruleHits[rule] = (this.ruleHits[rule] as number) + 1;
    }
  }
}
