/**
 * What this process knows of the settings of the repositories it manages, in one registry.
 *
 * A periodic drift sweep asks "what does repository X look like?" once per custom resource. Asking
 * AWS once per name costs one DescribeRepositories per resource per sweep (1,000 calls for 1,000
 * repositories), which is what throttles large accounts; listing the whole registry instead reads
 * every repository of the account, managed or not, and keeps them all. Instead the sweep reads the
 * repositories it is about to reconcile by name, up to 100 names a call (`prefetch`), just before
 * their reconciles run; each reconcile then finds its repository here. A name nobody prefetched, or
 * whose entry has aged, is asked for on its own.
 *
 * Writes made through this process are applied at once (`put`, `forget`), and an answer that was
 * already on its way when such a write happened is not recorded over it, so the process always
 * reads its own writes.
 */

export interface DirectorySource<T> {
  /** The items of these names that exist (at most 100 names; absent ones are left out). */
  lookupMany(names: string[]): Promise<T[]>;
  /** One item by name, or undefined when it does not exist. */
  lookup(name: string): Promise<T | undefined>;
}

export interface RepositoryDirectoryOptions<T> {
  /**
   * Where items come from, unless a caller passes its own: a directory shared by several clients of
   * one registry reads through whichever client asks.
   */
  source?: DirectorySource<T>;
  nameOf: (item: T) => string;
  /** An entry serves `get` this long after it was read (or longer when a prefetch says so). */
  maxAgeMs: number;
  clock: () => number;
}

interface Entry<T> {
  /** undefined: the repository does not exist (as far as the read or write that made the entry knows). */
  item: T | undefined;
  /** `get` serves the entry until then; 0 for an entry that only marks a write. */
  validUntil: number;
  /** The write sequence number when the entry was made. */
  seq: number;
}

/** How many names one DescribeRepositories call takes. */
export const NAMES_PER_CALL = 100;

export class RepositoryDirectory<T> {
  private readonly opts: RepositoryDirectoryOptions<T>;
  private readonly entries = new Map<string, Entry<T>>();
  /** Reads under way per name: `get` waits for a prefetch of its name rather than asking again. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private seq = 0;

  constructor(opts: RepositoryDirectoryOptions<T>) {
    this.opts = opts;
  }

  /** The item, from a young entry or a prefetch under way, else asked for by name. */
  async get(name: string, source: DirectorySource<T> | undefined = this.opts.source): Promise<T | undefined> {
    const src = this.sourceOf(source);
    const under = this.pending.get(name);
    if (under) await under.catch(() => undefined);
    const entry = this.entries.get(name);
    if (entry && entry.validUntil > this.opts.clock()) return entry.item;
    return this.read(name, src);
  }

  /**
   * Asks the source for one name, around any entry, and records the answer: for a reconcile a user
   * asked for, which must see what AWS has now and not what a sweep read a minute ago.
   */
  async refresh(name: string, source: DirectorySource<T> | undefined = this.opts.source): Promise<T | undefined> {
    return this.read(name, this.sourceOf(source));
  }

  /**
   * Reads the names that have no young entry, up to 100 a call, and keeps the answers for at
   * least `validForMs` (the time the sweep takes to reach the last of them). Returns the number of
   * calls made.
   */
  async prefetch(names: readonly string[], source: DirectorySource<T> | undefined = this.opts.source, validForMs = 0): Promise<number> {
    const src = this.sourceOf(source);
    const now = this.opts.clock();
    this.prune(now);
    const wanted = [...new Set(names)].filter((n) => !this.pending.has(n) && !((this.entries.get(n)?.validUntil ?? 0) > now));
    const batches: string[][] = [];
    for (let i = 0; i < wanted.length; i += NAMES_PER_CALL) batches.push(wanted.slice(i, i + NAMES_PER_CALL));
    await Promise.all(batches.map(async (batch) => {
      const startSeq = this.seq;
      const read = src.lookupMany(batch);
      const settled = read.then(() => undefined, () => undefined);
      for (const n of batch) this.pending.set(n, settled);
      try {
        const found = new Map((await read).map((item) => [this.opts.nameOf(item), item]));
        const validUntil = this.opts.clock() + Math.max(this.opts.maxAgeMs, validForMs);
        for (const n of batch) this.recordRead(n, found.get(n), startSeq, validUntil);
      } finally {
        for (const n of batch) if (this.pending.get(n) === settled) this.pending.delete(n);
      }
    }));
    return batches.length;
  }

  /** Records an item this process has just created or changed. */
  put(item: T): void {
    this.seq += 1;
    this.entries.set(this.opts.nameOf(item), { item, validUntil: this.opts.clock() + this.opts.maxAgeMs, seq: this.seq });
  }

  /** Forgets one name (deleted, or changed in a way we cannot reproduce locally): the next get asks AWS. */
  forget(name: string): void {
    this.seq += 1;
    this.entries.set(name, { item: undefined, validUntil: 0, seq: this.seq });
  }

  /** Forgets one name, or everything. */
  invalidate(name?: string): void {
    if (name !== undefined) {
      this.forget(name);
      return;
    }
    this.seq += 1;
    for (const n of this.entries.keys()) this.entries.set(n, { item: undefined, validUntil: 0, seq: this.seq });
  }

  /** Entries held (for tests and memory accounting). */
  size(): number {
    return this.entries.size;
  }

  private sourceOf(source: DirectorySource<T> | undefined): DirectorySource<T> {
    if (!source) throw new Error('repository directory: no source to read from');
    return source;
  }

  private async read(name: string, source: DirectorySource<T>): Promise<T | undefined> {
    const startSeq = this.seq;
    const read = source.lookup(name);
    const settled = read.then(() => undefined, () => undefined);
    this.pending.set(name, settled);
    try {
      const item = await read;
      this.recordRead(name, item, startSeq, this.opts.clock() + this.opts.maxAgeMs);
      return item;
    } finally {
      if (this.pending.get(name) === settled) this.pending.delete(name);
    }
  }

  /** Keeps what a read found, unless this process wrote the name after the read started. */
  private recordRead(name: string, item: T | undefined, startSeq: number, validUntil: number): void {
    const entry = this.entries.get(name);
    if (entry && entry.seq > startSeq) return;
    this.entries.set(name, { item, validUntil, seq: startSeq });
  }

  /** Drops entries that no longer serve anything, so that deleted repositories do not add up. */
  private prune(now: number): void {
    for (const [name, entry] of this.entries) {
      if (entry.validUntil <= now && !this.pending.has(name)) this.entries.delete(name);
    }
  }
}
