import { describe, expect, it } from 'vitest';
import { RepositoryDirectory } from '../../../src/aws/repository-directory.js';

interface Item {
  name: string;
  v: number;
}

/** A source whose listings can be held open and whose calls are counted. */
function source(initial: Item[]) {
  const items = new Map(initial.map((i) => [i.name, i]));
  const pending: (() => void)[] = [];
  const state = {
    items,
    lists: 0,
    lookups: [] as string[],
    holdListings: false,
    failListing: undefined as unknown,
    releaseListings() {
      for (const release of pending.splice(0)) release();
    },
    source: {
      async listAll(): Promise<Item[]> {
        state.lists += 1;
        const snapshot = [...items.values()];
        if (state.holdListings) await new Promise<void>((resolve) => pending.push(resolve));
        if (state.failListing !== undefined) throw state.failListing;
        return snapshot;
      },
      async lookup(name: string): Promise<Item | undefined> {
        state.lookups.push(name);
        return items.get(name);
      },
    },
  };
  return state;
}

function directory(src: ReturnType<typeof source>, clock: () => number, fallBack?: (err: unknown) => boolean) {
  return new RepositoryDirectory<Item>({
    source: src.source,
    nameOf: (i) => i.name,
    maxAgeMs: 1_000,
    clock,
    ...(fallBack ? { fallBackToLookupOn: fallBack, listingPauseMs: 10_000 } : {}),
  });
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('RepositoryDirectory', () => {
  it('measures a snapshot age from the start of its listing', async () => {
    let now = 0;
    const src = source([{ name: 'a', v: 1 }]);
    src.holdListings = true;
    const dir = directory(src, () => now);
    const first = dir.get('a');
    await tick();
    now = 900; // the listing took 900 ms
    src.releaseListings();
    await first;
    now = 1_000;
    src.holdListings = false;
    await dir.get('a');
    expect(src.lists).toBe(2);
  });

  it('does not install a listing that was under way when everything was invalidated', async () => {
    const src = source([{ name: 'a', v: 1 }]);
    src.holdListings = true;
    const dir = directory(src, () => 0);
    const stale = dir.get('a');
    await tick();
    dir.invalidate();
    src.items.set('a', { name: 'a', v: 2 });
    const fresh = dir.get('a');
    await tick();
    expect(src.lists).toBe(2);
    src.releaseListings();
    expect((await stale)?.v).toBe(1);
    expect((await fresh)?.v).toBe(2);
    src.holdListings = false;
    expect((await dir.get('a'))?.v).toBe(2);
    expect(src.lists).toBe(2);
  });

  it('a put before a listing started is superseded by that listing', async () => {
    let now = 0;
    const src = source([{ name: 'a', v: 1 }]);
    const dir = directory(src, () => now);
    dir.put({ name: 'a', v: 5 });
    src.items.set('a', { name: 'a', v: 7 }); // changed again by someone else
    expect((await dir.get('a'))?.v).toBe(7);
    now = 2_000;
    src.items.set('a', { name: 'a', v: 8 });
    expect((await dir.get('a'))?.v).toBe(8);
  });

  it('a forgotten name is looked up, and not cached until the next listing', async () => {
    const src = source([{ name: 'a', v: 1 }]);
    const dir = directory(src, () => 0);
    await dir.get('a');
    dir.forget('a');
    await dir.get('a');
    await dir.get('a');
    expect(src.lookups).toEqual(['a', 'a']);
  });

  it('rethrows a listing failure that is not a reason to fall back', async () => {
    const src = source([{ name: 'a', v: 1 }]);
    src.failListing = new Error('throttled');
    const dir = directory(src, () => 0, (err) => (err as Error).message === 'denied');
    await expect(dir.get('a')).rejects.toThrow('throttled');
    expect(src.lookups).toEqual([]);
  });

  it('pauses listing after a fall-back failure and resumes it later', async () => {
    let now = 0;
    const src = source([{ name: 'a', v: 1 }]);
    src.failListing = new Error('denied');
    const dir = directory(src, () => now, (err) => (err as Error).message === 'denied');
    expect((await dir.get('a'))?.v).toBe(1);
    now = 9_999;
    expect((await dir.get('a'))?.v).toBe(1);
    expect(src.lists).toBe(1);
    expect(src.lookups).toEqual(['a', 'a']);
    src.failListing = undefined;
    now = 10_001;
    await dir.get('a');
    expect(src.lists).toBe(2);
    expect(src.lookups).toEqual(['a', 'a']);
  });
});
