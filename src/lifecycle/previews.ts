/**
 * The last lifecycle preview of each object, so that a reconcile that finds the same policy and
 * the same images (the periodic sweep, a sync that changed something else) does not evaluate
 * again. What is kept per object is small: the digest of the inputs (fingerprint.ts), the counts,
 * the sample and two times; never the listing. Bounded: at most `maxObjects` objects, the least
 * recently used one dropped first; an object's entry is dropped when the object goes (`forget`).
 *
 * A preview is computed again when the policy text or the listing changed (the digest differs),
 * when the object is another one under the same name (its uid differs), or when time alone changes
 * the result (an age-based rule reaches an image: LifecycleEvaluation.changesAt).
 */
import { evaluateLifecyclePolicyInSlices, type LifecycleImage } from './evaluator.js';
import { previewInputDigest } from './fingerprint.js';
import { parseLifecyclePolicy } from './policy.js';
import { runInSlices, type SliceOptions, type SliceStats } from './slices.js';

export interface KeptPreview {
  imagesToExpire: number;
  imagesToArchive: number;
  sample: string[];
  /** When this preview was computed. */
  evaluatedAt: Date;
}

export interface PreviewOutcome {
  preview: KeptPreview;
  /** False when the kept preview served: nothing was evaluated. */
  computed: boolean;
  /** The slices of this call (the digest, and the evaluation when computed). */
  stats: SliceStats;
}

/** Who the preview is for: the object's uid tells a re-created object from the one before. */
export interface PreviewSubject {
  namespace: string;
  name: string;
  uid?: string | undefined;
}

interface Entry extends KeptPreview {
  uid: string;
  digest: string;
  /** Milliseconds; Infinity when time alone changes nothing. */
  changesAt: number;
}

export const DEFAULT_MAX_OBJECTS = 10_000;

export class LifecyclePreviews {
  /** By namespace/name, least recently used first (Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();
  private readonly maxObjects: number;
  /** Previews evaluated, and previews served from what was kept (for tests and the benchmark). */
  computed = 0;
  reused = 0;

  constructor(private readonly opts: SliceOptions & { maxObjects?: number } = {}) {
    this.maxObjects = Math.max(1, opts.maxObjects ?? DEFAULT_MAX_OBJECTS);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The preview of `policyText` over `images` at `now`: the kept one when nothing it depends on
   * changed, otherwise a new evaluation (in slices). Throws when the policy text cannot be parsed.
   */
  async preview(subject: PreviewSubject, policyText: string, images: LifecycleImage[], now: Date): Promise<PreviewOutcome> {
    const key = `${subject.namespace}/${subject.name}`;
    const uid = subject.uid ?? key;
    const slices = { ...this.opts };
    const { value: digest, stats } = await runInSlices(previewInputDigest(policyText, images), slices);
    const kept = this.entries.get(key);
    if (kept && kept.uid === uid && kept.digest === digest && now.getTime() < kept.changesAt) {
      this.entries.delete(key);
      this.entries.set(key, kept);
      this.reused += 1;
      return { preview: publicPart(kept), computed: false, stats };
    }
    const evaluated = await evaluateLifecyclePolicyInSlices(parseLifecyclePolicy(policyText), images, now, { ...slices, counts: true });
    const result = evaluated.value;
    const entry: Entry = {
      uid,
      digest,
      changesAt: result.changesAt?.getTime() ?? Number.POSITIVE_INFINITY,
      imagesToExpire: result.imagesToExpire,
      imagesToArchive: result.imagesToArchive,
      sample: result.sample,
      evaluatedAt: now,
    };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxObjects) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.computed += 1;
    return {
      preview: publicPart(entry),
      computed: true,
      stats: {
        slices: stats.slices + evaluated.stats.slices,
        longestSliceMs: Math.max(stats.longestSliceMs, evaluated.stats.longestSliceMs),
        longestSliceCpuMs: Math.max(stats.longestSliceCpuMs, evaluated.stats.longestSliceCpuMs),
        busyMs: stats.busyMs + evaluated.stats.busyMs,
        cpuMs: stats.cpuMs + evaluated.stats.cpuMs,
      },
    };
  }

  /** Drops what is kept about an object that is gone. */
  forget(namespace: string, name: string): void {
    this.entries.delete(`${namespace}/${name}`);
  }
}

function publicPart(entry: Entry): KeptPreview {
  return { imagesToExpire: entry.imagesToExpire, imagesToArchive: entry.imagesToArchive, sample: [...entry.sample], evaluatedAt: entry.evaluatedAt };
}
