import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Queryable } from './database/unit-of-work';
import { AppError } from './errors';

export interface RateRule {
  bucket: string;
  limit: number;
  windowSeconds: number;
}

/**
 * The cell rate algorithm's formula, written once for `throttle` (which counts) and
 * `throttleWait` (which only looks), as SQL over a key's `tat` (when its budget is whole again)
 * and a rule's `every` (window / limit) and `burst` (its window), in seconds: one more event
 * moves `tat` on to `next`, and is taken when that is at most `burst` ahead of now; one that is
 * not may come once tat + every - burst has passed, `wait` seconds from now.
 */
function cellRate(tat: string, every: string, burst: string): { next: string; takes: string; wait: string } {
  const next = `greatest(${tat}, now()) + make_interval(secs => ${every})`;
  return {
    next,
    takes: `${next} <= now() + make_interval(secs => ${burst})`,
    wait: `extract(epoch FROM ${tat} - now()) + ${every} - ${burst}`,
  };
}

/** The parameters `cellRate`'s statements take for `checks`: buckets, keys, each rule's `every` and `burst`. */
function tokenParams(checks: Array<[RateRule, string]>): [string[], string[], number[], number[]] {
  return [checks.map(([r]) => r.bucket), checks.map(([, k]) => k), checks.map(([r]) => r.windowSeconds / r.limit), checks.map(([r]) => r.windowSeconds)];
}

/** The seconds `throttle` and `throttleWait` answer for the largest `wait` of the rules that refused (null: none did). */
function waitSeconds(wait: number | null): number {
  return wait == null ? 0 : Math.max(1, Math.ceil(wait));
}

/** Takes back one event from the rules that let a refused one pass: their buckets, keys and `every` are parameters `$first` on. */
const giveBack = (first: number) => `UPDATE rate_tokens r SET tat = r.tat - make_interval(secs => c.every)
           FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::float8[]) AS c(b, k, every) WHERE r.bucket = c.b AND r.key = c.k`;

/**
 * Sliding-window limits kept in PostgreSQL, so every API node sees the same counts: a rule
 * refuses once `limit` events fell in its window, saying when the oldest of them leaves it
 * (`hitWithin` checks and counts in the caller's transaction, `reserve` on its own; `throttle`
 * paces frequent actions with a cell-rate algorithm).
 */
@Injectable()
export class RateLimiter {
  constructor(private readonly ds: DataSource) {}

  /** Seconds until another event is allowed, or 0 when allowed now. */
  async retryAfter(rule: RateRule, key: string, m: Queryable = this.ds): Promise<number> {
    const rows: Array<{ n: number; oldest: Date | null }> = await m.query(
      `SELECT count(*)::int AS n, min(at) AS oldest FROM (
         SELECT at FROM rate_events
          WHERE bucket = $1 AND key = $2 AND at > now() - make_interval(secs => $3)
          ORDER BY at DESC LIMIT $4) recent`,
      [rule.bucket, key, rule.windowSeconds, rule.limit],
    );
    const { n, oldest } = rows[0];
    if (n < rule.limit || !oldest) return 0;
    return Math.max(1, Math.ceil((new Date(oldest).getTime() + rule.windowSeconds * 1000 - Date.now()) / 1000));
  }

  /**
   * Checking and counting in one step, for limits that guard against guessing (sign-in): under a
   * lock per (bucket, key), so parallel requests cannot all pass the check before any of them
   * is counted. The events are recorded at once; `release` takes them back (a sign-in that
   * succeeded does not count against the network it came from).
   */
  async reserve(checks: Array<[RateRule, string]>): Promise<{ release: () => Promise<void> }> {
    const ids = await this.ds.transaction((m) => this.hitWithin(m, checks));
    return {
      release: async () => {
        await this.ds.query(`DELETE FROM rate_events WHERE id = ANY($1::bigint[])`, [ids]);
      },
    };
  }

  /**
   * Checks and records inside the caller's transaction, under a lock per (bucket, key) held
   * until it ends: a concurrent request waits, then sees this one's events, or none if this
   * transaction rolled back. Throws RATE_LIMITED (rolling the caller back) when a rule is spent.
   */
  async hitWithin(m: Queryable, checks: Array<[RateRule, string]>): Promise<string[]> {
    if (checks.length === 0) return [];
    // Sorted, so two requests locking the same keys never wait on each other in a cycle.
    const locks = [...new Set(checks.map(([rule, key]) => `${rule.bucket} ${key}`))].sort();
    for (const lock of locks) await m.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [lock]);
    let wait = 0;
    for (const [rule, key] of checks) wait = Math.max(wait, await this.retryAfter(rule, key, m));
    if (wait > 0) throw AppError.rateLimited(wait);
    const rows: Array<{ id: string }> = await m.query(
      `INSERT INTO rate_events (bucket, key) SELECT * FROM unnest($1::text[], $2::text[]) RETURNING id`,
      [checks.map(([rule]) => rule.bucket), checks.map(([, key]) => key)],
    );
    return rows.map((r) => r.id);
  }

  /**
   * For frequent actions (searches): counts one event against every rule at once and answers
   * the seconds to wait, 0 when the action may run. A generic cell rate algorithm: each event
   * moves the key's `tat` (when its budget is whole again) on by window / limit, and an event
   * that would push it more than a window ahead is refused. A refused event counts against no
   * rule: what it added to the rules that let it pass is taken back. One statement per event
   * (two when refused; `admits` reads no wait), atomic per key, and no event rows. Given a transaction (`m`), it counts
   * in it, on that connection: undone if it rolls back.
   */
  async throttle(checks: Array<[RateRule, string]>, m: Queryable = this.ds): Promise<number> {
    const { refused, taken } = await this.count(checks, m);
    if (refused.length === 0) return 0;
    // Give back what the passing rules took, and say when the refusing ones allow another.
    const [{ wait }]: Array<{ wait: number | null }> = await m.query(
      `WITH back AS (${giveBack(5)})
       SELECT max(${cellRate('r.tat', 'c.every', 'c.burst').wait})::float8 AS wait
         FROM rate_tokens r JOIN unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS c(b, k, every, burst) ON r.bucket = c.b AND r.key = c.k`,
      [...tokenParams(refused), ...tokenParams(taken).slice(0, 3)],
    );
    return Math.max(1, waitSeconds(wait));
  }

  /**
   * `throttle` for a caller that needs no wait (a live event refused with a code alone): whether
   * the event may run, counted as `throttle` counts it. A refusal reads no wait, so one rule
   * costs one statement either way; the rules that let a refused event pass get theirs back.
   */
  async admits(checks: Array<[RateRule, string]>, m: Queryable = this.ds): Promise<boolean> {
    const { refused, taken } = await this.count(checks, m);
    if (refused.length === 0) return true;
    if (taken.length > 0) await m.query(giveBack(1), tokenParams(taken).slice(0, 3));
    return false;
  }

  /** Counts one event against every rule (one statement): the rules that refused it and those that took it. */
  private async count(checks: Array<[RateRule, string]>, m: Queryable): Promise<{ refused: Array<[RateRule, string]>; taken: Array<[RateRule, string]> }> {
    if (checks.length === 0) return { refused: [], taken: [] };
    const unique = [...new Map(checks.map((c) => [`${c[0].bucket} ${c[1]}`, c])).values()];
    // The upsert sees its row's input as `excluded` alone: the interval its tat was given is its `every`.
    const upsert = cellRate('r.tat', 'extract(epoch FROM excluded.tat - now())::float8', 'excluded.burst_seconds');
    const counted: Array<{ bucket: string; key: string }> = await m.query(
      `INSERT INTO rate_tokens AS r (bucket, key, tat, burst_seconds)
       SELECT b, k, now() + make_interval(secs => every), burst FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS c(b, k, every, burst)
       ON CONFLICT (bucket, key) DO UPDATE SET tat = ${upsert.next}, burst_seconds = excluded.burst_seconds
        WHERE ${upsert.takes}
       RETURNING bucket, key`,
      tokenParams(unique),
    );
    const passed = new Set(counted.map((c) => `${c.bucket} ${c.key}`));
    return {
      refused: unique.filter(([r, k]) => !passed.has(`${r.bucket} ${k}`)),
      taken: unique.filter(([r, k]) => passed.has(`${r.bucket} ${k}`)),
    };
  }

  /**
   * What `throttle` would answer, without counting: the seconds to wait when a rule is spent
   * already, 0 otherwise. One read, no lock and no write, for a cheap refusal before costly work;
   * it is not the count (parallel requests may all pass it): `throttle` decides.
   */
  async throttleWait(checks: Array<[RateRule, string]>, m: Queryable = this.ds): Promise<number> {
    if (checks.length === 0) return 0;
    const token = cellRate('r.tat', 'c.every', 'c.burst');
    const [{ wait }]: Array<{ wait: number | null }> = await m.query(
      `SELECT max(${token.wait})::float8 AS wait
         FROM rate_tokens r JOIN unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS c(b, k, every, burst) ON r.bucket = c.b AND r.key = c.k
        WHERE NOT (${token.takes})`,
      tokenParams(checks),
    );
    return waitSeconds(wait);
  }

  /** `throttle` that refuses: RATE_LIMITED, with the wait, when a rule is spent (nothing is counted then). */
  async pace(checks: Array<[RateRule, string]>, message?: string, m: Queryable = this.ds): Promise<void> {
    const wait = await this.throttle(checks, m);
    if (wait > 0) throw AppError.rateLimited(wait, message);
  }

  async hit(rule: RateRule, key: string): Promise<void> {
    await this.ds.query(`INSERT INTO rate_events (bucket, key) VALUES ($1, $2)`, [rule.bucket, key]);
  }

  async clear(rule: RateRule, key: string): Promise<void> {
    await this.ds.query(`DELETE FROM rate_events WHERE bucket = $1 AND key = $2`, [rule.bucket, key]);
  }

  /** Drops events older than any window (called by the worker's housekeeping). */
  async prune(olderThanSeconds = 86400): Promise<void> {
    await this.ds.query(`DELETE FROM rate_events WHERE at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
    // A throttle whose budget is whole again is the same as none.
    await this.ds.query(`DELETE FROM rate_tokens WHERE tat < now()`);
  }
}
