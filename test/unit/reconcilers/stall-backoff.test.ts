import { describe, expect, it } from 'vitest';
import { StallBackoff } from '../../../src/reconcilers/stall-backoff.js';

describe('StallBackoff', () => {
  it('starts at 30 s and doubles per object up to the cap', () => {
    const b = new StallBackoff();
    const delays = Array.from({ length: 8 }, () => b.next('ns/a', 1));
    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_000_000, 1_000_000]);
    expect(b.next('ns/b', 1)).toBe(30_000);
  });

  it('starts over on a new generation and after a reset', () => {
    const b = new StallBackoff();
    b.next('ns/a', 1);
    b.next('ns/a', 1);
    expect(b.next('ns/a', 2)).toBe(30_000);
    b.reset('ns/a');
    expect(b.next('ns/a', 2)).toBe(30_000);
  });
});
