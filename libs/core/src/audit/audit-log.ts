import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { DataSource } from 'typeorm';
import { Tx } from '../database/unit-of-work';
import { newId } from '../ids';

/** Advisory-lock key that serialises appends, so the hash chain never forks (held from a transaction's appending, at its end, to its commit). */
export const AUDIT_LOCK = 0x61756469; // "audi"

export interface AuditEntryInput {
  /** Null for automatic actions (automod, expiry). */
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  spaceId: string | null;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
  /**
   * What a review decision on a post or topic did to its content (`ContentOutcome`, lib
   * `moderation`), decided by its writer; the entry's `outcome` column, which readers match on
   * (`hiddenBy`, the reason its author reads). Null on every other entry. Not covered by the hash:
   * the writer puts it in `after.outcome` too, which is.
   */
  outcome?: string | null;
}

export interface AuditRow {
  /** The chain's order (bigserial). */
  id: string;
  /** What the API shows as the entry's id (a UUID). */
  entry_id: string;
  at: Date;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  space_id: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
  prev_hash: string | null;
  hash: string;
  /** What a review decision did to its content (`AuditEntryInput.outcome`); not covered by the hash. */
  outcome: string | null;
}

/**
 * The hash of an entry covers the previous entry's hash and every field, in a
 * canonical JSON form (jsonb reorders keys, so key order must not matter).
 */
export function entryHash(prevHash: string | null, e: Omit<AuditRow, 'id' | 'entry_id' | 'prev_hash' | 'hash' | 'outcome'>): string {
  const canonical = stringify([
    prevHash,
    new Date(e.at).toISOString(),
    e.actor_id,
    e.action,
    e.target_type,
    e.target_id,
    e.space_id,
    e.reason,
    e.before ?? null,
    e.after ?? null,
  ]);
  return createHash('sha256').update(canonical ?? '').digest('hex');
}

/**
 * A problem `verify` found: `broken-chain` (the entry before it is not the one it follows: removed or
 * reordered), `altered` (the entry's hash does not match it), `outcome-mismatch` (its `outcome` is not
 * what its own fields say, `said`: written so, or changed around the append-only trigger),
 * `end-mismatch` (the log does not end where its head says: entries cut off the end, or slipped in
 * around the application; `id` is then the last entry the head knows), `count-mismatch` (the log
 * ends where its head says, but the head counts another number of entries up to it: entries
 * removed, a broken chain says where, or added around the application).
 */
export type VerifyProblem =
  | { id: string; what: 'altered' | 'broken-chain' | 'end-mismatch' }
  | { id: string; what: 'outcome-mismatch'; outcome: { stored: string | null; said: string | null } }
  | { id: string; what: 'count-mismatch'; entries: { head: number; found: number } };

/** How many problems `verify` lists at most; it counts the rest (`problemCount`). */
export const VERIFY_PROBLEMS_LISTED = 100;

/** What `verify` found. */
export class VerifyResult {
  constructor(
    /** The entries walked: every one up to the head's last (the walk goes on past a problem). */
    readonly checked: number,
    /** The problems found, in the log's order (an entry's in the order above), the first VERIFY_PROBLEMS_LISTED at most. */
    readonly problems: VerifyProblem[],
    /** Every problem found, listed or not. */
    readonly problemCount: number,
  ) {}

  /** Nothing found: read from the count of every problem (the list may hold fewer), never stored beside it to disagree with it. */
  get ok(): boolean {
    return this.problemCount === 0;
  }
}

/** A copy of what an entry's `before` or `after` says as it is appended (jsonb's form: a caller may change the object before commit). */
function snapshot(value: unknown): unknown {
  return value === undefined || value === null ? null : JSON.parse(JSON.stringify(value));
}

/**
 * The append-only moderation log. Triggers refuse UPDATE, DELETE and TRUNCATE; the hash chain
 * makes any change made around it (a superuser, a restored dump) detectable.
 */
@Injectable()
export class AuditLog {
  constructor(private readonly ds: DataSource) {}

  /**
   * Adds an entry to `tx`'s, which are written together, in call order, as the transaction's last
   * statements before it commits (`Tx.deferred`), and not at all if it fails. Writing them takes
   * the log's lock, which every logging transaction waits for, to the commit: taken at the end, it
   * is held for the commit alone, and no lock the transaction's own statements take is waited for
   * while it is held (one waited for after it could be held by a grant or a change of settings
   * waiting for the log itself); only COMMIT's deferred work follows it (the group counters' fold,
   * in group order, held by other commits alone, which never wait for the log; foreign-key checks).
   */
  async append(tx: Tx, e: AuditEntryInput): Promise<void> {
    tx.deferred<AuditEntryInput>(this, (entries) => this.write(tx, entries)).push({ ...e, before: snapshot(e.before), after: snapshot(e.after) });
  }

  /** A transaction's entries, appended at its end, in order, under the log's lock. */
  private async write(tx: Tx, entries: AuditEntryInput[]): Promise<void> {
    // The rows the entries' foreign keys hold FOR KEY SHARE (their actors, their spaces) are held
    // first, and only then the log's lock: a change of role holds its user FOR UPDATE and then logs;
    // taken after the log's lock, the row would be a deadlock with it. (Nothing holds a space FOR
    // UPDATE now, a change of its settings holding it FOR NO KEY UPDATE, which lets this by; one
    // deleting a space would.) (The lock is taken on the row the two counts make, so after both.)
    const ids = (key: 'actorId' | 'spaceId') => [...new Set(entries.map((e) => e[key]).filter((id): id is string => id !== null))];
    await tx.query(
      `SELECT pg_advisory_xact_lock($1)
         FROM (SELECT count(*) FROM (SELECT FROM users WHERE id = ANY ($2::uuid[]) FOR KEY SHARE) r) actors_held,
              (SELECT count(*) FROM (SELECT FROM spaces WHERE id = ANY ($3::uuid[]) FOR KEY SHARE) r) spaces_held`,
      [AUDIT_LOCK, ids('actorId'), ids('spaceId')],
    );
    // The head names the last entry: the one the first of these follows.
    const head = await tx.one<{ last_hash: string | null }>(`SELECT last_hash FROM moderation_log_head`);
    let prev = head?.last_hash ?? null;
    for (const e of entries) {
      const row = {
        at: new Date(),
        actor_id: e.actorId,
        action: e.action,
        target_type: e.targetType,
        target_id: e.targetId,
        space_id: e.spaceId,
        reason: e.reason ?? null,
        before: e.before ?? null,
        after: e.after ?? null,
      };
      const hash = entryHash(prev, row);
      // The entry and the head that now names and counts it, in one statement (still under the lock).
      await tx.query(
        `WITH e AS (
           INSERT INTO moderation_log (entry_id, at, actor_id, action, target_type, target_id, space_id, reason, before, after, prev_hash, hash, outcome)
           VALUES ($12, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13) RETURNING id)
         UPDATE moderation_log_head SET last_id = (SELECT id FROM e), last_hash = $11, entries = entries + 1`,
        [row.at, row.actor_id, row.action, row.target_type, row.target_id, row.space_id, row.reason,
         row.before === null ? null : JSON.stringify(row.before), row.after === null ? null : JSON.stringify(row.after), prev, hash, newId(), e.outcome ?? null],
      );
      prev = hash;
    }
  }

  /**
   * Walks the whole chain in order and reports every altered, removed or reordered entry, and every
   * one whose `outcome` is not what its own fields say; then checks the chain ends where the head
   * says (nothing cut off the end) and the head counts the entries up to it. Past an entry found
   * wrong the walk goes on from that entry's stored hash (or the one its fields make, when only its
   * hash was changed), so each later problem is its own. The hash does
   * not cover `outcome` (entries written before it was a column were hashed without it, and must
   * still verify), but the fields that say it do (`moderation_log_outcome_said`: `after.outcome`,
   * or an older release's wording of `after.action`, on a review decision about a post): an entry
   * whose hash matches and whose outcome agrees with them has the outcome it was written with.
   * The first `listed` problems are kept, the rest only counted.
   */
  async verify(batch = 1000, listed = VERIFY_PROBLEMS_LISTED): Promise<VerifyResult> {
    // The head is read first and the walk stops at it: entries appended while the walk runs
    // (a busy community) are past it, and are no sign of tampering.
    const [head]: Array<{ last_id: string | null; last_hash: string | null; entries: number }> = await this.ds.query(
      `SELECT last_id::text, last_hash, entries::int FROM moderation_log_head`,
    );
    const end = head?.last_id ?? '0';
    const problems: VerifyProblem[] = [];
    let problemCount = 0;
    const found = (problem: VerifyProblem) => {
      if (problemCount++ < listed) problems.push(problem);
    };
    // The entry before's stored hash, and the one its fields make: they differ when its hash alone was changed (`altered`,
    // its own problem), and the entry after it, or the head's end, following the one its fields make is no other problem.
    let prev: string | null = null;
    let prevMade: string | null = null;
    let lastId = '0';
    let checked = 0;
    for (;;) {
      const rows: Array<AuditRow & { outcome_said: string | null }> = await this.ds.query(
        `SELECT *, moderation_log_outcome_said(action, before, after) AS outcome_said FROM moderation_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3`,
        [lastId, end, batch],
      );
      if (rows.length === 0) break;
      for (const r of rows) {
        const id = String(r.id);
        const made = entryHash(r.prev_hash, r);
        if (r.prev_hash !== prev && r.prev_hash !== prevMade) found({ id, what: 'broken-chain' });
        if (made !== r.hash) found({ id, what: 'altered' });
        if (r.outcome !== r.outcome_said) found({ id, what: 'outcome-mismatch', outcome: { stored: r.outcome, said: r.outcome_said } });
        prev = r.hash;
        prevMade = made;
        lastId = id;
        checked++;
      }
    }
    if (!head || (head.last_hash !== prev && head.last_hash !== prevMade)) found({ id: head?.last_id ?? lastId, what: 'end-mismatch' });
    else if (head.entries !== checked) found({ id: end, what: 'count-mismatch', entries: { head: head.entries, found: checked } });
    return new VerifyResult(checked, problems, problemCount);
  }

  /** Entries since a date, oldest first, for exports. */
  async *since(since: Date, batch = 1000): AsyncGenerator<AuditRow> {
    let lastId = '0';
    for (;;) {
      const rows: AuditRow[] = await this.ds.query(`SELECT * FROM moderation_log WHERE id > $1 AND at >= $2 ORDER BY id LIMIT $3`, [lastId, since, batch]);
      if (rows.length === 0) return;
      for (const r of rows) yield r;
      lastId = String(rows[rows.length - 1].id);
    }
  }
}
