import { describe, expect, it } from 'vitest';
import { RepositoryDirectory } from '../../../src/aws/repository-directory.js';

interface Item {
  name: string;
  v: number;
}

/** A source whose reads can be held open and whose calls are recorded. */
function source(initial: Item[]) {
  const items = new Map(initial.map((i) => [i.name, i]));
  const pending: (() => void)[] = [];
  const state = {
    items,
    batches: [] as string[][],
    lookups: [] as string[],
    hold: false,
    release() {
      for (const r of pending.splice(0)) r();
    },
    source: {
      async lookupMany(names: string[]): Promise<Item[]> {
        state.batches.push(names);
        const found = names.map((n) => items.get(n)).filter((i): i is Item => i !== undefined);
        if (state.hold) await new Promise<void>((resolve) => pending.push(resolve));
        return found;
      },
      async lookup(name: string): Promise<Item | undefined> {
        state.lookups.push(name);
        const found = items.get(name);
        if (state.hold) await new Promise<void>((resolve) => pending.push(resolve));
        return found;
      },
    },
  };
  return state;
}

function directory(src: ReturnType<typeof source>, clock: () => number) {
  return new RepositoryDirectory<Item>({ source: src.source, nameOf: (i) => i.name, maxAgeMs: 1_000, clock });
}

const tick = () => new Promise((r) => setTimeout(r, 1));
const many = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ name: `r${i}`, v: 1 }));

describe('RepositoryDirectory', () => {
  it('prefetches in batches of 100 names and serves them without another call', async () => {
    const src = source(many(250));
    const dir = directory(src, () => 0);
    expect(await dir.prefetch(many(250).map((i) => i.name))).toBe(3);
    expect(src.batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(await dir.get('r249')).toEqual({ name: 'r249', v: 1 });
    expect(src.lookups).toEqual([]);
  });

  it('does not read again what it holds young, nor what is being read', async () => {
    let now = 0;
    const src = source(many(3));
    const dir = directory(src, () => now);
    await dir.prefetch(['r0', 'r1']);
    expect(await dir.prefetch(['r0', 'r1', 'r2'])).toBe(1);
    expect(src.batches).toEqual([['r0', 'r1'], ['r2']]);
    now = 1_000;
    await dir.prefetch(['r0']);
    expect(src.batches.at(-1)).toEqual(['r0']);
  });

  it('keeps a prefetch for validForMs when that is longer than maxAgeMs', async () => {
    let now = 0;
    const src = source(many(1));
    const dir = directory(src, () => now);
    await dir.prefetch(['r0'], undefined, 5_000);
    now = 4_999;
    await dir.get('r0');
    expect(src.lookups).toEqual([]);
    now = 5_000;
    await dir.get('r0');
    expect(src.lookups).toEqual(['r0']);
  });

  it('remembers absence: a name the batch did not find is undefined without asking again', async () => {
    const src = source(many(1));
    const dir = directory(src, () => 0);
    await dir.prefetch(['r0', 'missing']);
    expect(await dir.get('missing')).toBeUndefined();
    expect(src.lookups).toEqual([]);
  });

  it('a get during a prefetch of its name waits for that prefetch', async () => {
    const src = source(many(2));
    src.hold = true;
    const dir = directory(src, () => 0);
    const prefetch = dir.prefetch(['r0', 'r1']);
    await tick();
    const got = dir.get('r1');
    src.release();
    await prefetch;
    expect(await got).toEqual({ name: 'r1', v: 1 });
    expect(src.lookups).toEqual([]);
  });

  it('concurrent gets of one name share one lookup', async () => {
    const src = source(many(1));
    src.hold = true;
    const dir = directory(src, () => 0);
    const a = dir.get('r0');
    const b = dir.get('r0');
    await tick();
    src.release();
    expect(await Promise.all([a, b])).toEqual([{ name: 'r0', v: 1 }, { name: 'r0', v: 1 }]);
    expect(src.lookups).toEqual(['r0']);
  });

  it('own writes win over a read that was under way when they happened', async () => {
    const src = source(many(2));
    src.hold = true;
    const dir = directory(src, () => 0);
    const prefetch = dir.prefetch(['r0', 'r1']);
    await tick();
    dir.put({ name: 'r0', v: 2 });
    dir.forget('r1');
    src.release();
    await prefetch;
    src.hold = false;
    expect(await dir.get('r0')).toEqual({ name: 'r0', v: 2 });
    // Forgotten: asked again rather than served from the read that started before.
    src.items.set('r1', { name: 'r1', v: 3 });
    expect(await dir.get('r1')).toEqual({ name: 'r1', v: 3 });
    expect(src.lookups).toEqual(['r1']);
  });

  it('refresh asks the source even for a young entry, and records the answer', async () => {
    const src = source(many(1));
    const dir = directory(src, () => 0);
    await dir.prefetch(['r0']);
    src.items.set('r0', { name: 'r0', v: 9 });
    expect(await dir.refresh('r0')).toEqual({ name: 'r0', v: 9 });
    expect(await dir.get('r0')).toEqual({ name: 'r0', v: 9 });
    expect(src.lookups).toEqual(['r0']);
  });

  it('invalidate() makes every name be asked for again', async () => {
    const src = source(many(2));
    const dir = directory(src, () => 0);
    await dir.prefetch(['r0', 'r1']);
    dir.invalidate();
    await dir.get('r0');
    await dir.get('r1');
    expect(src.lookups).toEqual(['r0', 'r1']);
  });

  it('drops entries that have aged out, so deleted repositories do not add up', async () => {
    let now = 0;
    const src = source(many(300));
    const dir = directory(src, () => now);
    await dir.prefetch(many(300).map((i) => i.name));
    expect(dir.size()).toBe(300);
    now = 2_000;
    await dir.prefetch(['r0']);
    expect(dir.size()).toBe(1);
  });

  it('a failed prefetch records nothing and rejects', async () => {
    const src = source(many(1));
    src.source.lookupMany = async () => {
      throw new Error('throttled');
    };
    const dir = directory(src, () => 0);
    await expect(dir.prefetch(['r0'])).rejects.toThrow('throttled');
    expect(await dir.get('r0')).toEqual({ name: 'r0', v: 1 });
    expect(src.lookups).toEqual(['r0']);
  });
});
