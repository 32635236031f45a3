import { describe, expect, it } from 'vitest';
import type { ImageDetail } from '@aws-sdk/client-ecr';
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
      fingerprint: expect.any(Number) as unknown,
    });
  });

  it('recognises image indexes by their manifest media type, and referrers by their subject', () => {
    const pushed = new Date('2026-01-01T00:00:00Z');
    const oci = toLifecycleImage({ imageDigest: 'sha256:i', imageTags: ['v1'], imagePushedAt: pushed, imageManifestMediaType: 'application/vnd.oci.image.index.v1+json' });
    const docker = toLifecycleImage({ imageDigest: 'sha256:l', imagePushedAt: pushed, imageManifestMediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' });
    const child = toLifecycleImage({ imageDigest: 'sha256:c', imagePushedAt: pushed, imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', artifactMediaType: 'application/vnd.oci.image.config.v1+json' });
    const signature = toLifecycleImage({
      imageDigest: 'sha256:s', imagePushedAt: pushed, subjectManifestDigest: 'sha256:i',
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', artifactMediaType: 'application/vnd.cncf.notary.signature',
    });
    expect(oci).toMatchObject({ imageIndex: true });
    expect(docker).toMatchObject({ imageIndex: true });
    expect(child?.imageIndex).toBeUndefined();
    expect(child?.subject).toBeUndefined();
    expect(signature).toMatchObject({ subject: 'sha256:i' });
    expect(signature?.imageIndex).toBeUndefined();
  });

  it('fingerprints what the lifecycle preview reads: equal entries alike, any change of a read field different', () => {
    const base: ImageDetail = { imageDigest: 'sha256:a', imageTags: ['v1', 'latest'], imagePushedAt: new Date('2026-01-01T00:00:00Z'), imageSizeInBytes: 1 };
    const fingerprint = (detail: ImageDetail): number | undefined => toLifecycleImage(detail)?.fingerprint;
    expect(fingerprint({ ...base })).toBe(fingerprint(base));
    // The size is not read by the preview.
    expect(fingerprint({ ...base, imageSizeInBytes: 2 })).toBe(fingerprint(base));
    const changed: ImageDetail[] = [
      { ...base, imageDigest: 'sha256:b' },
      { ...base, imageTags: ['v1'] },
      { ...base, imageTags: ['v1', 'latest', 'stable'] },
      { ...base, imageTags: ['v1latest'] },
      { ...base, imagePushedAt: new Date('2026-01-01T00:00:01Z') },
      { ...base, lastRecordedPullTime: new Date('2026-02-01T00:00:00Z') },
      { ...base, imageStatus: 'ARCHIVED' },
      { ...base, imageStatus: 'ARCHIVED', lastArchivedAt: new Date('2026-03-01T00:00:00Z') },
      { ...base, imageManifestMediaType: 'application/vnd.oci.image.index.v1+json' },
      { ...base, subjectManifestDigest: 'sha256:c' },
    ];
    const fingerprints = new Set([fingerprint(base), ...changed.map(fingerprint)]);
    expect(fingerprints.size).toBe(changed.length + 1);
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
