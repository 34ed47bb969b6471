/**
 * "At most one warning in `everyMs`", kept in this process's memory: for a warning that a periodic check would otherwise
 * log at every check (the content versions' use, the database down at /health). Each process throttles its own lines;
 * RateLimiter shares its counts between processes through the database, a round trip a log line does not need.
 * `now` is the caller's monotonic clock in milliseconds (performance.now(), or a test's).
 */
export class WarningThrottle {
  /** When the last warning went; undefined before the first and after `reset`. */
  private last: number | undefined;

  constructor(private readonly everyMs: number) {}

  /** Whether a warning may go at `now`: none went yet (or since `reset`), or the last one `everyMs` ago or longer. */
  open(now: number): boolean {
    return this.last === undefined || now - this.last >= this.everyMs;
  }

  /**
   * Lets a warning go when open, or `anyway` (news the interval must not hold back), and then counts the interval from
   * `now`: whether it went.
   */
  take(now: number, anyway = false): boolean {
    if (!anyway && !this.open(now)) return false;
    this.last = now;
    return true;
  }

  /** Forgets the last warning (what it warned of is over): the next one goes at once. */
  reset(): void {
    this.last = undefined;
  }
}

/**
 * What tells one error from another, for a warning that logs a new kind of error at once (JobScheduler's, /health's): its
 * code (pg's SQLSTATE, Node's ECONNREFUSED...), or its message where it has none. pg's and pg-pool's timeouts have no code,
 * and a message of their own for each step (the line names the step): they are one kind, the bounds passed.
 */
export function errorKind(err: unknown): string {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return `code ${code}`;
  const text = typeof message === 'string' ? message : String(err);
  return /timeout/i.test(text) ? 'timeout' : text;
}
