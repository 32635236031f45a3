/**
 * A short-lived, shared view of every repository in one registry.
 *
 * A periodic drift sweep asks "what does repository X look like?" once per custom resource. Asking
 * AWS once per name would cost one DescribeRepositories per resource per sweep (1,000 calls for
 * 1,000 repositories), which is what throttles large accounts. Instead, the first caller lists the
 * whole registry (a few paged calls), concurrent callers wait for that same listing, and later
 * callers reuse it while it is young. A name missing from the listing is asked for directly, so a
 * repository created a moment ago by someone else is still found.
 *
 * Writes made through this process are applied to the view at once (`put`, `forget`), including
 * to a listing that was already under way when the write happened, so the process always reads its
 * own writes.
 */

export interface DirectorySource<T> {
  /** Every item of the registry (all pages). */
  listAll(): Promise<T[]>;
  /** One item by name, or undefined when it does not exist. */
  lookup(name: string): Promise<T | undefined>;
}

export interface RepositoryDirectoryOptions<T> {
  /**
   * Where items come from, unless a caller passes its own to `get`: a directory shared by several
   * clients of one registry lists through whichever client asks first.
   */
  source?: DirectorySource<T>;
  nameOf: (item: T) => string;
  /** A listing is reused while younger than this. */
  maxAgeMs: number;
  clock: () => number;
  /**
   * Listing failures after which the directory stops listing for `listingPauseMs` and asks per
   * name instead. Meant for "access denied": a least-privilege role may be allowed to describe its
   * own repositories by name but not to list the registry.
   */
  fallBackToLookupOn?: (err: unknown) => boolean;
  listingPauseMs?: number;
}

interface Snapshot<T> {
  takenAt: number;
  items: Map<string, T>;
}

interface Write<T> {
  seq: number;
  /** undefined: the state is unknown to us (deleted, or a write whose outcome is unknown). */
  item: T | undefined;
}

export class RepositoryDirectory<T> {
  private readonly opts: RepositoryDirectoryOptions<T>;
  private snapshot: Snapshot<T> | undefined;
  private listing: Promise<Snapshot<T>> | undefined;
  /** Bumped by a full invalidation so that a listing already under way is not installed. */
  private epoch = 0;
  private seq = 0;
  /** Own writes, kept until a listing that started after them has been installed. */
  private readonly writes = new Map<string, Write<T>>();
  private listingPausedUntil = Number.NEGATIVE_INFINITY;

  constructor(opts: RepositoryDirectoryOptions<T>) {
    this.opts = opts;
  }

  async get(name: string, source: DirectorySource<T> | undefined = this.opts.source): Promise<T | undefined> {
    if (!source) throw new Error('repository directory: no source to read from');
    const snapshot = await this.fresh(source);
    const hit = snapshot?.items.get(name);
    if (hit !== undefined) return hit;
    const item = await source.lookup(name);
    // Keep what we learnt for the rest of this snapshot's life, unless the state changed meanwhile.
    if (item !== undefined && snapshot !== undefined && snapshot === this.snapshot && !this.writes.has(name)) {
      snapshot.items.set(name, item);
    }
    return item;
  }

  /**
   * Asks the source for one name, around any listing, and records the answer: for a reconcile a
   * user asked for, which must see what AWS has now and not what a listing saw a minute ago.
   */
  async refresh(name: string, source: DirectorySource<T> | undefined = this.opts.source): Promise<T | undefined> {
    if (!source) throw new Error('repository directory: no source to read from');
    const item = await source.lookup(name);
    this.record(name, item);
    return item;
  }

  /** Records an item this process has just created or changed. */
  put(item: T): void {
    this.record(this.opts.nameOf(item), item);
  }

  /** Forgets one name (deleted, or changed in a way we cannot reproduce locally). */
  forget(name: string): void {
    this.record(name, undefined);
  }

  /** Forgets one name, or everything: the next `get` lists the registry again. */
  invalidate(name?: string): void {
    if (name !== undefined) {
      this.forget(name);
      return;
    }
    this.epoch += 1;
    this.snapshot = undefined;
    this.listing = undefined;
    this.writes.clear();
  }

  private record(name: string, item: T | undefined): void {
    this.seq += 1;
    this.writes.set(name, { seq: this.seq, item });
    if (this.snapshot) apply(this.snapshot.items, name, item);
  }

  /** A snapshot younger than maxAgeMs, or undefined while listing is paused. */
  private async fresh(source: DirectorySource<T>): Promise<Snapshot<T> | undefined> {
    const now = this.opts.clock();
    if (this.snapshot && now - this.snapshot.takenAt < this.opts.maxAgeMs) return this.snapshot;
    if (now < this.listingPausedUntil) return undefined;
    if (!this.listing) {
      const listing = this.list(now, source);
      this.listing = listing;
      // Single flight: later callers share this listing until it settles, then the next stale
      // read starts a new one.
      listing.then(
        () => this.settled(listing),
        () => this.settled(listing),
      );
    }
    try {
      return await this.listing;
    } catch (err) {
      if (this.opts.fallBackToLookupOn?.(err)) return undefined;
      throw err;
    }
  }

  private async list(startedAt: number, source: DirectorySource<T>): Promise<Snapshot<T>> {
    const epoch = this.epoch;
    const startSeq = this.seq;
    try {
      const all = await source.listAll();
      const items = new Map<string, T>();
      for (const item of all) items.set(this.opts.nameOf(item), item);
      const snapshot: Snapshot<T> = { takenAt: startedAt, items };
      if (epoch === this.epoch) {
        // Writes made while the listing was under way may or may not be in it: ours win.
        for (const [name, write] of this.writes) {
          if (write.seq > startSeq) apply(items, name, write.item);
          else this.writes.delete(name);
        }
        this.snapshot = snapshot;
      }
      return snapshot;
    } catch (err) {
      if (epoch === this.epoch && this.opts.fallBackToLookupOn?.(err)) {
        this.listingPausedUntil = this.opts.clock() + (this.opts.listingPauseMs ?? 600_000);
      }
      throw err;
    }
  }

  private settled(listing: Promise<Snapshot<T>>): void {
    if (this.listing === listing) this.listing = undefined;
  }
}

function apply<T>(items: Map<string, T>, name: string, item: T | undefined): void {
  if (item === undefined) items.delete(name);
  else items.set(name, item);
}
