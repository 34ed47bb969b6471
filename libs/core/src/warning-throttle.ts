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

/** What `RepeatedWarning.occurred` decided of one occurrence. */
type RepeatedTurn<Counted extends string> =
  /**
   * Warn: none went in the interval (its first, or a reminder). What was counted since the last warning comes with it,
   * zeroed (the warning says it); undefined when nothing was.
   */
  | { go: 'warning'; unlogged: Record<Counted, number> | undefined }
  /** Warn now: its kind is none of those logged since the last warning, and the cap is not reached. `lastLogged`, what the last line logged. */
  | { go: 'new kind'; lastLogged: unknown }
  /** Hold it back: its kind was logged since the last warning (`kindLogged`), or is new past the cap. The caller counts it or not (`count`). */
  | { go: false; kindLogged: boolean };

/**
 * A warning that a cause lasting a while would repeat at each occurrence (a job's tick failing, /health's check finding the
 * database down), the one rule JobScheduler's (RepeatedJobWarning) and /health's (HealthDatabase) follow: it goes at its
 * first and then once in `everyMs` at most (a WarningThrottle); meanwhile an occurrence of another kind (errorKind) than
 * those logged since the last warning goes at once, up to `newKindsMax` of them between two warnings (an error whose message
 * changes every time cannot undo the throttle); the rest are held back and counted by the caller (`count`, under the names
 * given), and what was counted is said by the next warning (`occurred`'s `unlogged`) or whenever the caller says it (`tell`:
 * at a new kind's line, at the end). In this process's memory; `now` is the caller's monotonic clock, as WarningThrottle's.
 */
export class RepeatedWarning<Counted extends string> {
  private readonly throttle: WarningThrottle;
  /** What was logged since the last warning (its own first, then each new kind's), with its kind. */
  private logged: Array<{ kind: string; what: unknown }> = [];
  private counts: Record<Counted, number>;

  constructor(
    everyMs: number,
    private readonly newKindsMax: number,
    private readonly counted: readonly Counted[],
  ) {
    this.throttle = new WarningThrottle(everyMs);
    this.counts = this.zero();
  }

  /** It happened again at `now`, `what` (an error, or what the caller logs of it: its kind is errorKind's): whether to warn. */
  occurred(now: number, what: unknown): RepeatedTurn<Counted> {
    const kind = errorKind(what);
    if (this.throttle.take(now)) {
      this.logged = [{ kind, what }];
      return { go: 'warning', unlogged: this.tell() };
    }
    const kindLogged = this.logged.some((l) => l.kind === kind);
    if (kindLogged || this.logged.length > this.newKindsMax) return { go: false, kindLogged };
    const lastLogged = this.logged[this.logged.length - 1].what;
    this.logged.push({ kind, what });
    return { go: 'new kind', lastLogged };
  }

  /** One more of `what` went unlogged: the next warning (or `tell`) says it. */
  count(what: Counted): void {
    this.counts[what]++;
  }

  /** What went unlogged since the last warning or `tell`, zeroed once told; undefined when nothing did. */
  tell(): Record<Counted, number> | undefined {
    if (this.counted.every((c) => this.counts[c] === 0)) return undefined;
    const told = this.counts;
    this.counts = this.zero();
    return told;
  }

  /** Whether a warning would go at `now` (the interval since the last one has passed, or none went yet). */
  open(now: number): boolean {
    return this.throttle.open(now);
  }

  private zero(): Record<Counted, number> {
    return Object.fromEntries(this.counted.map((c) => [c, 0])) as Record<Counted, number>;
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
