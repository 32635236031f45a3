import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** docs/comparison.md lists this operator's kinds from the code: exactly the CRDs, with their scope. */

const crdDir = new URL('../../../config/crd/bases/', import.meta.url);

function crdKinds(): Array<{ kind: string; scope: string }> {
  return readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parse(readFileSync(new URL(f, crdDir), 'utf8')) as { spec: { scope: string; names: { kind: string } } })
    .map((crd) => ({ kind: crd.spec.names.kind, scope: crd.spec.scope }))
    .sort((a, b) => a.kind.localeCompare(b.kind));
}

function tableKinds(): Array<{ kind: string; scope: string }> {
  const text = readFileSync(new URL('../../../docs/comparison.md', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => /^\| [A-Z]\w+ \| (Namespaced|Cluster) \|/.test(l))
    .map((l) => {
      const [kind, scope] = l.split('|').slice(1, 3).map((c) => c.trim()) as [string, string];
      return { kind, scope };
    })
    .sort((a, b) => a.kind.localeCompare(b.kind));
}

describe('docs/comparison.md', () => {
  it('lists every kind of the CRDs, with its scope, and no other', () => {
    expect(crdKinds().length).toBeGreaterThanOrEqual(11);
    expect(tableKinds()).toEqual(crdKinds());
  });
});
