import { describe, expect, it } from 'vitest';
import { MAX_TAG_VALUE_LENGTH, ownerTagValue } from '../../../src/api/owner.js';

const longest = { namespace: 'n'.repeat(63), name: 'a'.repeat(253), cluster: 'c'.repeat(100) };
// ECR's rule for tag values: letters, digits, spaces and _ . : / = + - @, at most 256 characters.
const ECR_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

describe('ownerTagValue', () => {
  it('is <namespace>/<name>, or <cluster>/<namespace>/<name> with a cluster name', () => {
    expect(ownerTagValue('team-a', 'backend')).toBe('team-a/backend');
    expect(ownerTagValue('team-a', 'backend', 'prod-eu-1')).toBe('prod-eu-1/team-a/backend');
    expect(ownerTagValue('team-a', 'backend', '')).toBe('team-a/backend');
    expect(ownerTagValue('team-a', 'backend', '  ')).toBe('team-a/backend');
  });

  it('fits ECR for the longest namespace, name and cluster name', () => {
    for (const value of [
      ownerTagValue(longest.namespace, longest.name),
      ownerTagValue(longest.namespace, longest.name, longest.cluster),
      ownerTagValue('a', longest.name, longest.cluster),
    ]) {
      expect(value.length).toBeLessThanOrEqual(MAX_TAG_VALUE_LENGTH);
      expect(value).toMatch(ECR_TAG_VALUE);
    }
    // 63 + 1 + 253 = 317 characters without shortening: ECR would refuse it.
    expect(`${longest.namespace}/${longest.name}`.length).toBe(317);
  });

  it('keeps values that fit unchanged, up to exactly 256 characters', () => {
    const name = 'b'.repeat(256 - 'team/'.length);
    expect(ownerTagValue('team', name)).toBe(`team/${name}`);
    expect(ownerTagValue('team', `${name}x`)).toHaveLength(256);
  });

  it('keeps long values apart: different objects with a common prefix get different values, the same object the same', () => {
    const a = ownerTagValue(longest.namespace, `${'a'.repeat(252)}1`, 'prod');
    const b = ownerTagValue(longest.namespace, `${'a'.repeat(252)}2`, 'prod');
    expect(a).not.toBe(b);
    expect(a.slice(0, 200)).toBe(b.slice(0, 200));
    expect(ownerTagValue(longest.namespace, `${'a'.repeat(252)}1`, 'prod')).toBe(a);
    // Two clusters never share a value, shortened or not.
    expect(ownerTagValue(longest.namespace, longest.name, 'east')).not.toBe(ownerTagValue(longest.namespace, longest.name, 'west'));
    expect(ownerTagValue('team', 'app', 'east')).not.toBe(ownerTagValue('team', 'app', 'west'));
    expect(a).toMatch(/_[0-9a-f]{16}$/);
  });
});
