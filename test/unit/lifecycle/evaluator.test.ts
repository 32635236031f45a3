import { describe, expect, it } from 'vitest';
import { evaluateLifecyclePolicy, INDEX_CHILD_WINDOW_MS, wildcardMatches, type LifecycleImage } from '../../../src/lifecycle/evaluator.js';
import type { LifecycleRule } from '../../../src/lifecycle/policy.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const daysAgo = (days: number): Date => new Date(NOW.getTime() - days * 86_400_000);

function image(digest: string, tags: string[], pushedDaysAgo: number, extra: Partial<LifecycleImage> = {}): LifecycleImage {
  return { digest, tags, pushedAt: daysAgo(pushedDaysAgo), storageClass: 'STANDARD', sizeBytes: 100, ...extra };
}

const expire = { type: 'expire' } as const;
const archive = { type: 'transition', targetStorageClass: 'archive' } as const;

/** The repository every case below runs on. */
const IMAGES: LifecycleImage[] = [
  image('d-prod1', ['prod-1'], 40),
  image('d-prod2', ['prod-2', 'beta-2'], 30),
  image('d-prod3', ['prod-3'], 5, { lastPulledAt: daysAgo(1) }),
  image('d-beta1', ['beta-1'], 50, { lastPulledAt: daysAgo(45) }),
  image('d-untag1', [], 20),
  image('d-untag2', [], 2),
  image('d-arch1', ['old-1'], 400, { storageClass: 'ARCHIVE', transitionedAt: daysAgo(200) }),
  image('d-arch2', ['old-2'], 300, { storageClass: 'ARCHIVE', transitionedAt: daysAgo(60) }),
];

interface Case {
  name: string;
  rules: LifecycleRule[];
  expire?: string[];
  archive?: string[];
}

const cases: Case[] = [
  {
    name: 'tagged prefix, imageCountMoreThan: keeps the newest, expires the rest',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }],
    expire: ['d-prod1', 'd-prod2'],
  },
  {
    name: 'tagged pattern, sinceImagePushed',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['prod-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: expire }],
    expire: ['d-prod1', 'd-prod2'],
  },
  {
    name: 'tagged with two prefixes: only images with both',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['prod', 'beta'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: expire }],
    expire: ['d-prod2'],
  },
  {
    name: 'untagged, imageCountMoreThan',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }],
    expire: ['d-untag1'],
  },
  {
    name: 'any, imageCountMoreThan: archived images are not in the standard class',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 3 }, action: expire }],
    expire: ['d-prod2', 'd-prod1', 'd-beta1'],
  },
  {
    name: 'sinceImagePulled with transition: never pulled counts from the push',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 25 }, action: archive }],
    archive: ['d-prod1', 'd-prod2', 'd-beta1'],
  },
  {
    name: 'imageCountMoreThan with transition: keep 4 active, archive the rest',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 4 }, action: archive }],
    archive: ['d-prod1', 'd-beta1'],
  },
  {
    name: 'sinceImageTransitioned on the archive class',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: expire }],
    expire: ['d-arch1'],
  },
  {
    name: 'archive and expire in one policy act on different classes',
    rules: [
      { rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 35 }, action: archive },
      { rulePriority: 2, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 180 }, action: expire },
    ],
    archive: ['d-prod1', 'd-beta1'],
    expire: ['d-arch1'],
  },
  {
    // ECR's "Filtering on multiple rules" example: A [beta-1, prod-1] 10 days, B [beta-2, prod-2] 9, C [beta-3] 8.
    name: 'ECR example: a lower rule never acts on an image a higher rule selected',
    rules: [
      { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
      { rulePriority: 2, selection: { tagStatus: 'tagged', tagPrefixList: ['beta'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
    ],
    expire: ['A'],
  },
  {
    name: 'ECR example: every image tagged by both, two expired',
    rules: [
      { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
      { rulePriority: 2, selection: { tagStatus: 'tagged', tagPrefixList: ['beta'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
    ],
    expire: ['A', 'B'],
  },
  {
    name: 'nothing old enough',
    rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 365 }, action: expire }],
  },
];

/** The two ECR documentation examples use their own repositories. */
function imagesFor(c: Case): LifecycleImage[] {
  if (c.name.startsWith('ECR example: a lower')) {
    return [image('A', ['beta-1', 'prod-1'], 10), image('B', ['beta-2', 'prod-2'], 9), image('C', ['beta-3'], 8)];
  }
  if (c.name.startsWith('ECR example: every')) {
    return [image('A', ['beta-1', 'prod-1'], 10), image('B', ['beta-2', 'prod-2'], 9), image('C', ['beta-3', 'prod-3'], 8)];
  }
  return IMAGES;
}

describe('evaluateLifecyclePolicy', () => {
  it.each(cases)('$name', (c) => {
    const result = evaluateLifecyclePolicy({ rules: c.rules }, imagesFor(c), NOW);
    expect([...result.expire].sort()).toEqual([...(c.expire ?? [])].sort());
    expect([...result.archive].sort()).toEqual([...(c.archive ?? [])].sort());
    expect(result.imagesToExpire).toBe(c.expire?.length ?? 0);
    expect(result.imagesToArchive).toBe(c.archive?.length ?? 0);
  });

  it('counts days from the evaluation time: exactly N days old is selected, a second less is not', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }, action: expire }];
    const edge = [image('old', ['a'], 7), { ...image('young', ['b'], 7), pushedAt: new Date(daysAgo(7).getTime() + 1000) }];
    expect(evaluateLifecyclePolicy({ rules }, edge, NOW).expire).toEqual(['old']);
  });

  it('evaluates rules by rulePriority whatever their order in the document', () => {
    const rules: LifecycleRule[] = [
      { rulePriority: 2, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
      { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 10 }, action: expire },
    ];
    // The prod images are selected (and kept) by priority 1, so the any rule cannot expire them.
    const result = evaluateLifecyclePolicy({ rules }, IMAGES, NOW);
    expect(result.expire.sort()).toEqual(['d-beta1', 'd-untag1']);
  });

  it('keeps 10 of 30 release images: 20 to expire, sample of the 10 oldest', () => {
    const images = Array.from({ length: 30 }, (_, i) => image(`sha256:${i + 1}`, [`release-${i + 1}`], 30 - i));
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['release-*'], countType: 'imageCountMoreThan', countNumber: 10 }, action: expire }];
    const result = evaluateLifecyclePolicy({ rules }, images, NOW);
    expect(result.imagesToExpire).toBe(20);
    expect(result.sample).toEqual(Array.from({ length: 10 }, (_, i) => `release-${i + 1}`));
  });

  it('samples the digest of an untagged image', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 10 }, action: expire }];
    expect(evaluateLifecyclePolicy({ rules }, IMAGES, NOW).sample).toEqual(['d-untag1']);
  });
});

describe('wildcardMatches', () => {
  it.each([
    ['prod*', 'prod', true],
    ['prod*', 'prod-1', true],
    ['prod*', 'preprod', false],
    ['*prod', 'preprod', true],
    ['*prod*', 'my-prod-1', true],
    ['v*.*.*', 'v1.2.3', true],
    ['v*.*.*', 'v1.2', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['latest', 'latest', true],
    ['latest', 'latest-1', false],
    ['*', 'anything', true],
  ])('%s vs %s -> %s', (pattern, tag, expected) => {
    expect(wildcardMatches(pattern, tag)).toBe(expected);
  });
});

describe('image indexes, their platform manifests and referring artifacts', () => {
  const at = (days: number, seconds = 0): Date => new Date(daysAgo(days).getTime() + seconds * 1000);
  const entry = (digest: string, tags: string[], pushedAt: Date, extra: Partial<LifecycleImage> = {}): LifecycleImage =>
    ({ digest, tags, pushedAt, storageClass: 'STANDARD', sizeBytes: 10, ...extra });

  /**
   * One `docker buildx build --platform linux/amd64,linux/arm64 --push`: two platform manifests and
   * buildkit's attestation manifest, then the index that lists them and carries the tag; then a
   * signature (an OCI referrer) of the index, pushed a minute later.
   */
  function multiPlatformPush(name: string, tag: string | undefined, days: number): LifecycleImage[] {
    return [
      entry(`${name}-amd64`, [], at(days, -3)),
      entry(`${name}-arm64`, [], at(days, -2)),
      entry(`${name}-attestation`, [], at(days, -1)),
      entry(name, tag ? [tag] : [], at(days), { imageIndex: true }),
      entry(`${name}-signature`, [], at(days, 60), { subject: name }),
    ];
  }

  it('counts a signed multi-platform push once: an any rule expires its index, not its manifests or its signature', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: expire }];
    const result = evaluateLifecyclePolicy({ rules }, multiPlatformPush('idx', 'v1', 40), NOW);
    expect(result.expire).toEqual(['idx']);
    expect(result.imagesToExpire).toBe(1);
    expect(result.following).toEqual({ indexChildren: 3, referrers: 1 });
  });

  it('an untagged rule reaches neither the platform manifests of an index nor its signature, but still a leftover untagged image', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: expire }];
    const images = [...multiPlatformPush('idx', 'v1', 40), entry('leftover', [], at(20))];
    const result = evaluateLifecyclePolicy({ rules }, images, NOW);
    expect(result.expire).toEqual(['leftover']);
    expect(result.imagesToExpire).toBe(1);
  });

  it('imageCountMoreThan ranks pushes, not manifests: keeping 2 of 3 multi-platform pushes expires one index', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }, action: expire }];
    const images = [...multiPlatformPush('a', 'v1', 30), ...multiPlatformPush('b', 'v2', 20), ...multiPlatformPush('c', 'v3', 10)];
    const result = evaluateLifecyclePolicy({ rules }, images, NOW);
    expect(result.expire).toEqual(['a']);
    expect(result.sample).toEqual(['v1']);
  });

  it('an index whose tag moved away is expired by an untagged rule; its platform manifests go with it, uncounted', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }, action: expire }];
    const images = [...multiPlatformPush('old', undefined, 40), ...multiPlatformPush('new', 'latest', 1)];
    const result = evaluateLifecyclePolicy({ rules }, images, NOW);
    expect(result.expire).toEqual(['old']);
  });

  it('counts a signature whose image is gone as expired: ECR cleans it up', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['release'], countType: 'imageCountMoreThan', countNumber: 10 }, action: expire }];
    const images = [entry('kept', ['release-1'], at(5)), entry('orphan-signature', [], at(4), { subject: 'deleted-image' })];
    const result = evaluateLifecyclePolicy({ rules }, images, NOW);
    expect(result.expire).toEqual(['orphan-signature']);
    expect(result.following.referrers).toBe(0);
  });

  it('a referrer of a referrer (a signature of an SBOM) goes with its subject too', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }];
    const images = [
      entry('image', ['v1'], at(10)),
      entry('sbom', [], at(9), { subject: 'image' }),
      entry('sbom-signature', [], at(8), { subject: 'sbom' }),
    ];
    const result = evaluateLifecyclePolicy({ rules }, images, NOW);
    expect(result.imagesToExpire).toBe(0);
    expect(result.following.referrers).toBe(2);
  });

  it('takes for a child only an untagged manifest pushed shortly before an index, not one pushed after it or long before', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: expire }];
    const images = [
      entry('long-before', [], new Date(at(30).getTime() - INDEX_CHILD_WINDOW_MS - 1000)),
      entry('child', [], new Date(at(30).getTime() - INDEX_CHILD_WINDOW_MS + 1000)),
      entry('idx', ['v1'], at(30), { imageIndex: true }),
      entry('after', [], at(30, 1)),
    ];
    const result = evaluateLifecyclePolicy({ rules }, images, NOW);
    expect(result.expire.sort()).toEqual(['after', 'long-before']);
    expect(result.following.indexChildren).toBe(1);
  });

  it('counts each digest once when the listing repeats it', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }];
    const images = [entry('a', ['v1'], at(3)), entry('b', ['v2'], at(2)), entry('a', ['v1'], at(3))];
    expect(evaluateLifecyclePolicy({ rules }, images, NOW).expire).toEqual(['a']);
  });
});

describe('when time alone changes the result', () => {
  it('names the moment an age-based rule reaches the next image', () => {
    const rules: LifecycleRule[] = [
      { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
      { rulePriority: 2, selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: expire },
    ];
    const result = evaluateLifecyclePolicy({ rules }, IMAGES, NOW);
    // d-untag1 (20 days old) is the next one the 30-day rule reaches; prod images belong to rule 1.
    expect(result.changesAt).toEqual(new Date(daysAgo(20).getTime() + 30 * 86_400_000));
    expect(evaluateLifecyclePolicy({ rules }, IMAGES, result.changesAt as Date).expire).toContain('d-untag1');
  });

  it('names none when only counts decide', () => {
    const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }, action: expire }];
    expect(evaluateLifecyclePolicy({ rules }, IMAGES, NOW).changesAt).toBeUndefined();
  });
});
