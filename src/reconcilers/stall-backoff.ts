/**
 * Retry timing for failures only the user can fix (access denied, an unusable KMS key, a repository
 * owned by someone else). They are retried, since the fix may happen outside Kubernetes (an IAM
 * change), but slowly: 30 s, doubling to a cap of about 16 minutes, per object and generation. A
 * spec change starts over at once, because the object is enqueued by the change itself.
 */
export class StallBackoff {
  private readonly attempts = new Map<string, { generation: number | undefined; count: number }>();

  constructor(
    private readonly baseMs = 30_000,
    private readonly maxMs = 1_000_000,
  ) {}

  /** The delay before the next try of a stalled object. */
  next(key: string, generation: number | undefined): number {
    const previous = this.attempts.get(key);
    const count = previous && previous.generation === generation ? previous.count + 1 : 0;
    this.attempts.set(key, { generation, count });
    return Math.min(this.baseMs * 2 ** count, this.maxMs);
  }

  reset(key: string): void {
    this.attempts.delete(key);
  }
}
