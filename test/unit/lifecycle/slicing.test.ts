import { describe, expect, it } from 'vitest';
import { evaluateLifecyclePolicy, evaluateLifecyclePolicyInSlices, type LifecycleImage } from '../../../src/lifecycle/evaluator.js';
import { LifecyclePreviews } from '../../../src/lifecycle/previews.js';
import type { LifecyclePolicyDocument, LifecycleRule } from '../../../src/lifecycle/policy.js';

// The lifecycle preview holds the event loop for no more than 20 ms at a time, whatever the size of
// the repository or of the policy. A slice is measured from one turn of the event loop to the next
// (the preview's yield hook records both ends) in CPU time of this thread, so that a busy machine
// that keeps the thread waiting for a CPU does not count as the preview's doing.

const NOW = new Date('2026-06-01T00:00:00Z');
const HOUR = 3_600_000;
const MAX_SLICE_MS = 20;

function threadCpuMs(): number {
  const used = process.threadCpuUsage();
  return (used.user + used.system) / 1000;
}

/** A yield hook that records the CPU time of every slice, and a ticker that counts the event loop's turns. */
function sliceRecorder(): { yieldToLoop: () => Promise<void>; finish: () => number[]; turns: () => number } {
  const slices: number[] = [];
  let start = threadCpuMs();
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    if (!ticking) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    yieldToLoop: async () => {
      slices.push(threadCpuMs() - start);
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = threadCpuMs();
    },
    finish: () => {
      slices.push(threadCpuMs() - start);
      ticking = false;
      return slices;
    },
    turns: () => turns,
  };
}

/** Issue 21's input: a 7,000-entry tagPrefixList against 100 images of 1,000 tags (4.2 s in one piece before). */
function longTagLists(): { policy: LifecyclePolicyDocument; text: string; images: LifecycleImage[] } {
  const prefixes = Array.from({ length: 7_000 }, (_, i) => `p${i}-`);
  const images: LifecycleImage[] = Array.from({ length: 100 }, (_, i) => ({
    digest: `sha256:${i}`,
    tags: Array.from({ length: 1_000 }, (_, t) => `p${(i * 1_000 + t) % 7_000}-${t}`),
    pushedAt: new Date(NOW.getTime() - i * HOUR),
    storageClass: 'STANDARD',
    sizeBytes: 1,
  }));
  const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: prefixes, countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }];
  return { policy: { rules }, text: JSON.stringify({ rules }), images };
}

/** 50,000 images of 50 services, with multi-platform pushes, and a policy of 200 entries over 50 rules. */
function largeRepository(): { policy: LifecyclePolicyDocument; text: string; images: LifecycleImage[] } {
  const images: LifecycleImage[] = [];
  for (let n = 0; images.length < 50_000; n += 1) {
    const pushedAt = new Date(NOW.getTime() - (50_000 - images.length) * HOUR / 10);
    const s = n % 50;
    if (n % 20 === 0) {
      images.push({ digest: `sha256:c${n}`, tags: [], pushedAt, storageClass: 'STANDARD', sizeBytes: 1 });
      images.push({ digest: `sha256:i${n}`, tags: [`svc-${s}-${n}`], pushedAt, storageClass: 'STANDARD', sizeBytes: 1, imageIndex: true });
    } else {
      images.push({ digest: `sha256:t${n}`, tags: [`svc-${s}-${n}`, `env-prod-${n}`, `build-${n}`, `team-${s % 10}`], pushedAt, storageClass: 'STANDARD', sizeBytes: 1 });
    }
  }
  const rules: LifecycleRule[] = Array.from({ length: 50 }, (_, r) => ({
    rulePriority: r + 1,
    selection: r % 2 === 0
      ? { tagStatus: 'tagged', tagPrefixList: [`svc-${r}-`, 'env-', 'build-', `team-${r % 10}`], countType: 'imageCountMoreThan', countNumber: 20 }
      : { tagStatus: 'tagged', tagPatternList: [`svc-${r}-*`, '*-prod-*', 'build-*', `*${r % 10}`], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
    action: { type: 'expire' },
  }));
  rules.push({ rulePriority: 51, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 40_000 }, action: { type: 'expire' } });
  return { policy: { rules }, text: JSON.stringify({ rules }), images };
}

describe('lifecycle preview in slices', () => {
  it('a 7,000-entry tagPrefixList against 100 images of 1,000 tags: no slice over 20 ms, the same answer as in one piece', async () => {
    // Longer than ECR's 30,720 characters, so the evaluator itself: no policy text could bring it.
    const { policy, images } = longTagLists();
    const recorder = sliceRecorder();
    const { value } = await evaluateLifecyclePolicyInSlices(policy, images, NOW, { yieldToLoop: recorder.yieldToLoop });
    const slices = recorder.finish();

    expect(slices.length).toBeGreaterThan(1);
    expect(Math.max(...slices)).toBeLessThanOrEqual(MAX_SLICE_MS);
    expect(recorder.turns()).toBeGreaterThan(0);
    const whole = evaluateLifecyclePolicy(policy, images, NOW);
    expect(value).toEqual(whole);
  }, 60_000);

  it('50,000 images and a policy of 200 entries, as the reconciler asks: no slice over 20 ms, the event loop turns between them', async () => {
    const { policy, text, images } = largeRepository();
    const recorder = sliceRecorder();
    const previews = new LifecyclePreviews({ yieldToLoop: recorder.yieldToLoop });
    const outcome = await previews.preview({ namespace: 'team', name: 'app', uid: 'u1' }, text, images, NOW);
    const slices = recorder.finish();

    expect(outcome.computed).toBe(true);
    expect(slices.length).toBeGreaterThan(1);
    expect(Math.max(...slices)).toBeLessThanOrEqual(MAX_SLICE_MS);
    expect(recorder.turns()).toBeGreaterThan(0);
    const whole = evaluateLifecyclePolicy(policy, images, NOW);
    expect(outcome.preview).toMatchObject({ imagesToExpire: whole.imagesToExpire, imagesToArchive: whole.imagesToArchive, sample: whole.sample });
    expect(whole.imagesToExpire).toBeGreaterThan(0);
  }, 60_000);
});
