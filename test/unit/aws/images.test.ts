import { describe, expect, it } from 'vitest';
import { summarizeImages, toLifecycleImage } from '../../../src/aws/images.js';

describe('toLifecycleImage', () => {
  it('maps an ECR image detail, with archive status and times', () => {
    expect(toLifecycleImage({
      imageDigest: 'sha256:a',
      imageTags: ['v1', 'latest'],
      imagePushedAt: new Date('2026-01-01T00:00:00Z'),
      imageSizeInBytes: 42,
      lastRecordedPullTime: new Date('2026-02-01T00:00:00Z'),
      imageStatus: 'ARCHIVED',
      lastArchivedAt: new Date('2026-03-01T00:00:00Z'),
    })).toEqual({
      digest: 'sha256:a',
      tags: ['v1', 'latest'],
      pushedAt: new Date('2026-01-01T00:00:00Z'),
      lastPulledAt: new Date('2026-02-01T00:00:00Z'),
      storageClass: 'ARCHIVE',
      transitionedAt: new Date('2026-03-01T00:00:00Z'),
      sizeBytes: 42,
    });
  });

  it('treats an image without status (moto, older endpoints) as active, and one being restored as archived', () => {
    expect(toLifecycleImage({ imageDigest: 'sha256:b' })).toMatchObject({ storageClass: 'STANDARD', tags: [], sizeBytes: 0 });
    expect(toLifecycleImage({ imageDigest: 'sha256:c', imageStatus: 'ACTIVATING' })?.storageClass).toBe('ARCHIVE');
    expect(toLifecycleImage({ imageTags: ['no-digest'] })).toBeUndefined();
  });
});

describe('summarizeImages', () => {
  it('counts active and archived apart, sums active sizes, takes the latest push and pull, each digest once', () => {
    const images = [
      { digest: 'a', tags: ['v1'], pushedAt: new Date('2026-01-01T00:00:00Z'), storageClass: 'STANDARD' as const, sizeBytes: 10 },
      { digest: 'a', tags: ['v1'], pushedAt: new Date('2026-01-01T00:00:00Z'), storageClass: 'STANDARD' as const, sizeBytes: 10 },
      { digest: 'b', tags: [], pushedAt: new Date('2026-01-05T00:00:00Z'), lastPulledAt: new Date('2026-01-06T00:00:00Z'), storageClass: 'STANDARD' as const, sizeBytes: 5 },
      { digest: 'c', tags: ['old'], pushedAt: new Date('2025-01-01T00:00:00Z'), lastPulledAt: new Date('2026-01-09T00:00:00Z'), storageClass: 'ARCHIVE' as const, sizeBytes: 1000 },
    ];
    expect(summarizeImages(images)).toEqual({
      imageCount: 2,
      archivedImageCount: 1,
      imageSizeBytes: 15,
      lastImagePushedAt: new Date('2026-01-05T00:00:00Z'),
      lastImagePulledAt: new Date('2026-01-09T00:00:00Z'),
    });
  });

  it('reports no times for an empty repository', () => {
    expect(summarizeImages([])).toEqual({ imageCount: 0, archivedImageCount: 0, imageSizeBytes: 0 });
  });
});
