import { describe, expect, it } from 'vitest';
import type { LifecycleImage } from '../../../src/lifecycle/evaluator.js';
import { LifecyclePreviews } from '../../../src/lifecycle/previews.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const subject = { namespace: 'team', name: 'app', uid: 'uid-1' };

/** Keep 10 release images; expire untagged images after 14 days. */
const POLICY = JSON.stringify({
  rules: [
    { rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['release-*'], countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } },
    { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } },
  ],
});

/** 30 release images, one a day, and an untagged one 10 days old (the 14-day rule reaches it in 4 days). */
function listing(): LifecycleImage[] {
  const images: LifecycleImage[] = Array.from({ length: 30 }, (_, i) => ({
    digest: `sha256:${i}`,
    tags: [`release-${i}`],
    pushedAt: new Date(NOW.getTime() - (40 - i) * DAY),
    storageClass: 'STANDARD',
    sizeBytes: 1,
  }));
  images.push({ digest: 'sha256:untagged', tags: [], pushedAt: new Date(NOW.getTime() - 10 * DAY), storageClass: 'STANDARD', sizeBytes: 1 });
  return images;
}

describe('LifecyclePreviews: evaluated only when the policy or the listing changed', () => {
  it('evaluates nothing when neither changed, even read again in another order; the kept preview keeps its time', async () => {
    const previews = new LifecyclePreviews();
    const first = await previews.preview(subject, POLICY, listing(), NOW);
    const again = await previews.preview(subject, POLICY, listing().reverse(), new Date(NOW.getTime() + 60_000));
    expect(first.computed).toBe(true);
    expect(again.computed).toBe(false);
    expect(again.preview).toEqual(first.preview);
    expect(again.preview).toMatchObject({ imagesToExpire: 20, evaluatedAt: NOW });
    expect({ computed: previews.computed, reused: previews.reused }).toEqual({ computed: 1, reused: 1 });
  });

  it.each([
    ['a tag moved', (images: LifecycleImage[]) => { (images[29] as LifecycleImage).tags = ['release-29', 'latest']; }],
    ['an image was pushed', (images: LifecycleImage[]) => { images.push({ digest: 'sha256:new', tags: ['release-new'], pushedAt: NOW, storageClass: 'STANDARD', sizeBytes: 1 }); }],
    ['an image was deleted', (images: LifecycleImage[]) => { images.shift(); }],
    ['an image was pulled', (images: LifecycleImage[]) => { (images[3] as LifecycleImage).lastPulledAt = NOW; }],
    ['an image was archived', (images: LifecycleImage[]) => { (images[3] as LifecycleImage).storageClass = 'ARCHIVE'; }],
  ])('evaluates again when %s', async (_what, change) => {
    const previews = new LifecyclePreviews();
    await previews.preview(subject, POLICY, listing(), NOW);
    const images = listing();
    change(images);
    expect((await previews.preview(subject, POLICY, images, NOW)).computed).toBe(true);
  });

  it('evaluates again when the policy changed, or for another object of the same name', async () => {
    const previews = new LifecyclePreviews();
    await previews.preview(subject, POLICY, listing(), NOW);
    const keepFive = POLICY.replace('"countNumber":10', '"countNumber":5');
    const changed = await previews.preview(subject, keepFive, listing(), NOW);
    expect(changed).toMatchObject({ computed: true, preview: { imagesToExpire: 25 } });
    expect((await previews.preview({ ...subject, uid: 'uid-2' }, keepFive, listing(), NOW)).computed).toBe(true);
  });

  it('evaluates again once an age-based rule reaches an image, not before', async () => {
    const previews = new LifecyclePreviews();
    expect((await previews.preview(subject, POLICY, listing(), NOW)).preview.imagesToExpire).toBe(20);
    const beforeDue = await previews.preview(subject, POLICY, listing(), new Date(NOW.getTime() + 4 * DAY - 1));
    expect(beforeDue.computed).toBe(false);
    const due = await previews.preview(subject, POLICY, listing(), new Date(NOW.getTime() + 4 * DAY));
    expect(due).toMatchObject({ computed: true, preview: { imagesToExpire: 21 } });
  });

  it('keeps at most maxObjects objects, the least recently used dropped first, and drops an object that goes', async () => {
    const previews = new LifecyclePreviews({ maxObjects: 2 });
    const of = (name: string) => ({ namespace: 'team', name, uid: name });
    await previews.preview(of('a'), POLICY, listing(), NOW);
    await previews.preview(of('b'), POLICY, listing(), NOW);
    await previews.preview(of('a'), POLICY, listing(), NOW);
    await previews.preview(of('c'), POLICY, listing(), NOW);
    expect(previews.size).toBe(2);
    expect((await previews.preview(of('a'), POLICY, listing(), NOW)).computed).toBe(false);
    expect((await previews.preview(of('b'), POLICY, listing(), NOW)).computed).toBe(true);

    previews.forget('team', 'b');
    expect(previews.size).toBe(1);
    expect((await previews.preview(of('b'), POLICY, listing(), NOW)).computed).toBe(true);
  });

  it('costs little when nothing changed: the digest of 50,000 images, in slices', async () => {
    const images: LifecycleImage[] = Array.from({ length: 50_000 }, (_, i) => ({
      digest: `sha256:${i}`, tags: [`release-${i}`], pushedAt: new Date(NOW.getTime() - i * 60_000), storageClass: 'STANDARD', sizeBytes: 1,
    }));
    const previews = new LifecyclePreviews();
    const first = await previews.preview(subject, POLICY, images, NOW);
    const again = await previews.preview(subject, POLICY, images, NOW);
    expect(again.computed).toBe(false);
    expect(again.stats.cpuMs).toBeLessThan(first.stats.cpuMs);
    expect(again.stats.longestSliceCpuMs).toBeLessThanOrEqual(20);
  });
});
