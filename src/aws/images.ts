/**
 * The image inventory of a repository, from DescribeImages pages: what status reports (counts,
 * size, last push and pull) and the image list the lifecycle preview evaluates. Pure; the gateway
 * does the paging.
 *
 * DescribeImages returns only ACTIVE images unless its filter asks for others, so the gateway asks
 * with imageStatus ANY and this module splits active from archived by each image's imageStatus
 * (an image without one, as older endpoints and moto answer, is active).
 *
 * What the lifecycle preview needs to follow ECR's treatment of image indexes and referring
 * artifacts comes from the same entries: imageManifestMediaType names an image index (OCI image
 * index or Docker manifest list), subjectManifestDigest names the image a referrer (a signature,
 * an SBOM, an attestation) refers to. Each image also gets its fingerprint here, while the pages
 * arrive, so that telling an unchanged listing from a changed one costs the preview almost nothing.
 */
import type { ImageDetail } from '@aws-sdk/client-ecr';
import type { LifecycleImage } from '../lifecycle/evaluator.js';
import { imageFingerprint } from '../lifecycle/fingerprint.js';

export interface ImageInventory {
  /** Active images (imageStatus ACTIVE), every page. */
  imageCount: number;
  /** Images in the archive storage class, and those being restored from it (ACTIVATING). */
  archivedImageCount: number;
  /** Sum of imageSizeInBytes over the active images. */
  imageSizeBytes: number;
  lastImagePushedAt?: Date;
  lastImagePulledAt?: Date;
}

/** The manifest media types of an image index: a multi-platform image whose platform manifests are entries of their own. */
export const IMAGE_INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** One DescribeImages entry in the evaluator's terms; undefined for an entry without a digest. */
export function toLifecycleImage(detail: ImageDetail): LifecycleImage | undefined {
  if (!detail.imageDigest) return undefined;
  const archived = detail.imageStatus === 'ARCHIVED' || detail.imageStatus === 'ACTIVATING';
  const image: LifecycleImage = {
    digest: detail.imageDigest,
    tags: detail.imageTags ?? [],
    pushedAt: detail.imagePushedAt ?? new Date(0),
    storageClass: archived ? 'ARCHIVE' : 'STANDARD',
    sizeBytes: detail.imageSizeInBytes ?? 0,
  };
  if (detail.lastRecordedPullTime) image.lastPulledAt = detail.lastRecordedPullTime;
  if (detail.lastArchivedAt) image.transitionedAt = detail.lastArchivedAt;
  if (detail.imageManifestMediaType && IMAGE_INDEX_MEDIA_TYPES.has(detail.imageManifestMediaType)) image.imageIndex = true;
  if (detail.subjectManifestDigest) image.subject = detail.subjectManifestDigest;
  image.fingerprint = imageFingerprint(image);
  return image;
}

function later(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.getTime() > a.getTime() ? b : a;
}

/** Counts, size and times over the images (each digest once). */
export function summarizeImages(images: LifecycleImage[]): ImageInventory {
  const seen = new Set<string>();
  const inventory: ImageInventory = { imageCount: 0, archivedImageCount: 0, imageSizeBytes: 0 };
  let pushed: Date | undefined;
  let pulled: Date | undefined;
  for (const image of images) {
    if (seen.has(image.digest)) continue;
    seen.add(image.digest);
    if (image.storageClass === 'ARCHIVE') {
      inventory.archivedImageCount += 1;
    } else {
      inventory.imageCount += 1;
      inventory.imageSizeBytes += image.sizeBytes;
    }
    if (image.pushedAt.getTime() > 0) pushed = later(pushed, image.pushedAt);
    pulled = later(pulled, image.lastPulledAt);
  }
  if (pushed) inventory.lastImagePushedAt = pushed;
  if (pulled) inventory.lastImagePulledAt = pulled;
  return inventory;
}
