/**
 * The registry-level documents (replication configuration, registry policy, scanning configuration)
 * are one document per registry that a Put replaces whole. Every object that owns a part of one
 * reads, changes and writes it under this registry's lock, so one registry is never written by two
 * workers at once and no update is lost between a read and a write.
 *
 * Reads for the periodic sweep may be shared for a while, per registry, document and identity:
 * one identity's read never answers for another's. A write made here replaces what was read.
 */

export interface RegistryDocumentsOptions {
  /** How long a read serves periodic (not user-driven) observations. */
  sharedReadMaxAgeMs: number;
  now?: () => number;
}

interface SharedRead {
  at: number;
  value: Promise<unknown>;
}

export class RegistryDocuments {
  private readonly locks = new Map<string, Promise<void>>();
  private readonly reads = new Map<string, SharedRead>();
  private readonly now: () => number;

  constructor(private readonly opts: RegistryDocumentsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Runs `fn` alone for this registry: callers queue in the order they came. */
  async withLock<T>(registry: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(registry) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.locks.set(registry, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(registry) === tail) this.locks.delete(registry);
    }
  }

  /** Whether some caller holds or waits for this registry's lock (for tests and metrics). */
  busy(registry: string): boolean {
    return this.locks.has(registry);
  }

  /**
   * The document as `read` returns it: afresh when `fresh`, else a read of the same registry,
   * document and identity made less than the shared age ago.
   */
  async read<T>(key: DocumentKey, fresh: boolean, read: () => Promise<T>): Promise<T> {
    const id = idOf(key);
    this.expire();
    const shared = this.reads.get(id);
    if (!fresh && shared && this.now() - shared.at < this.opts.sharedReadMaxAgeMs) return shared.value as Promise<T>;
    const value = read();
    this.reads.set(id, { at: this.now(), value });
    value.catch(() => {
      if (this.reads.get(id)?.value === value) this.reads.delete(id);
    });
    return value;
  }

  /** After a write: what every identity reads of this document next is the written one, or afresh. */
  wrote<T>(key: DocumentKey, value: T): void {
    const prefix = `${key.registry}\u0000${key.document}\u0000`;
    for (const id of [...this.reads.keys()]) if (id.startsWith(prefix)) this.reads.delete(id);
    this.reads.set(idOf(key), { at: this.now(), value: Promise.resolve(value) });
  }

  private expire(): void {
    const oldest = this.now() - this.opts.sharedReadMaxAgeMs;
    for (const [id, read] of this.reads) if (read.at < oldest) this.reads.delete(id);
  }
}

export interface DocumentKey {
  /** The registry: account, region and endpoint of the verified connection. */
  registry: string;
  /** Which of the registry's documents. */
  document: string;
  /** Whose credentials read it. */
  identity: string;
}

function idOf(key: DocumentKey): string {
  return `${key.registry}\u0000${key.document}\u0000${key.identity}`;
}
