/**
 * Small digests that tell whether the input of a lifecycle preview changed: one number per image
 * (computed once, where the image is read: aws/images.ts), and one short string for a policy and a
 * whole listing. Not cryptographic: a collision costs a stale preview of the tenant's own
 * repository, nothing else. The listing's digest does not depend on the order of the listing.
 */
import type { LifecycleImage } from './evaluator.js';
import type { Work } from './slices.js';

/**
 * A 53-bit string hash in the manner of cyrb53 (two 32-bit multiply-xor lanes mixed at the end),
 * fed piece by piece so that hashing an image builds no string.
 */
class Hash53 {
  private h1: number;
  private h2: number;

  constructor(seed = 0) {
    this.h1 = 0xdeadbeef ^ seed;
    this.h2 = 0x41c6ce57 ^ seed;
  }

  text(text: string): this {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < text.length; i += 1) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
    return this.end();
  }

  number(value: number | undefined): this {
    // Times are whole milliseconds, below 2^53: two 32-bit halves; undefined differs from 0.
    const v = value === undefined ? -1 : value;
    const low = v >>> 0;
    const high = Math.floor(v / 4294967296) | 0;
    this.h1 = Math.imul(this.h1 ^ low, 2654435761);
    this.h2 = Math.imul(this.h2 ^ high, 1597334677);
    return this.end();
  }

  /** A separator, so that ("ab", "c") and ("a", "bc") differ. */
  private end(): this {
    this.h1 = Math.imul(this.h1 ^ 0x1f, 2654435761);
    this.h2 = Math.imul(this.h2 ^ 0x1f, 1597334677);
    return this;
  }

  value(): number {
    let h1 = this.h1;
    let h2 = this.h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
}

export function hash53(text: string): number {
  return new Hash53().text(text).value();
}

/** Every field of an image that the evaluator reads, hashed. */
export function imageFingerprint(image: LifecycleImage): number {
  const h = new Hash53().text(image.digest).number(image.tags.length);
  for (const tag of image.tags) h.text(tag);
  return h
    .number(image.pushedAt.getTime())
    .number(image.lastPulledAt?.getTime())
    .text(image.storageClass)
    .number(image.transitionedAt?.getTime())
    .number(image.imageIndex ? 1 : 0)
    .text(image.subject ?? '')
    .number(image.subject === undefined ? 0 : 1)
    .value();
}

/**
 * The digest of a policy text and a listing: `<images>.<three sums>.<policy hash>`. Sums of the
 * images' fingerprints (and of a mix of them), so the order of the listing does not count.
 * A generator (slices.ts): a listing of 100,000 images is folded in a few milliseconds, with pause
 * points all the same.
 */
export function* previewInputDigest(policyText: string, images: LifecycleImage[]): Work<string> {
  let low = 0;
  let high = 0;
  let mixed = 0;
  for (let i = 0; i < images.length; i += 1) {
    const image = images[i] as LifecycleImage;
    const fingerprint = image.fingerprint ?? imageFingerprint(image);
    const lo = fingerprint >>> 0;
    const hi = Math.floor(fingerprint / 4294967296);
    low = (low + lo) >>> 0;
    high = (high + hi) >>> 0;
    mixed = (mixed + Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1)) >>> 0;
    if ((i & 4095) === 4095) yield;
  }
  return `${images.length}.${low.toString(36)}.${high.toString(36)}.${mixed.toString(36)}.${hash53(policyText).toString(36)}`;
}
