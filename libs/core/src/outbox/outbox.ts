import { Injectable, Logger, Optional } from '@nestjs/common';
import { ChannelListener, PgListener } from '../database/pg-listener';
import { pruneInBatches } from '../database/prune';
import { storedErrorText } from '../log-redaction';
import { DataSource, EntityManager } from 'typeorm';
import { OUTBOX_CHANNEL, rowsOf } from '../database/unit-of-work';

export interface OutboxEvent {
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  version: number;
  payload: Record<string, unknown>;
  createdAt: Date;
  attempts: number;
}

/**
 * A durable consumer of outbox events. Delivery is at least once: a handler
 * must be idempotent (use `version` to ignore stale or repeated events).
 */
export interface OutboxHandler {
  readonly name: string;
  handles(type: string): boolean;
  handle(events: OutboxEvent[]): Promise<void>;
}

@Injectable()
export class OutboxHandlers {
  private readonly list: OutboxHandler[] = [];
  register(handler: OutboxHandler): void {
    if (!this.list.some((h) => h.name === handler.name)) this.list.push(handler);
  }
  all(): readonly OutboxHandler[] {
    return this.list;
  }
}

const MAX_BACKOFF_SECONDS = 300;

/**
 * Thrown by a handler whose work on an event another worker holds until `until` (a claim with a
 * lease, such as a sanction's e-mail): the event is tried again then, when the claim is taken
 * over if its worker died. Not a failure: it does not count towards parking, nor push the back-off
 * further. Counted, an event that had failed for other reasons before (a mail server refusing for
 * now) could be parked while the claim held, and the work its dead holder left never done.
 */
export class OutboxWait extends Error {
  constructor(
    message: string,
    readonly until: Date,
  ) {
    super(message);
    this.name = 'OutboxWait';
  }
}

/**
 * Thrown by a handler that gave up on work other writers kept changing under it (a delivery whose
 * posts kept moving while it waited for their topics): expected now and then on a busy forum, and
 * gone once they are done. A failure like any other (counted, tried again after the back-off,
 * parked after OUTBOX_MAX_ATTEMPTS), but logged as a warning, not an error: nothing is broken
 * unless it goes on until the event is parked, which is logged as an error as ever.
 */
export class OutboxRetryLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxRetryLater';
  }
}

/**
 * A delivery in which a handler failed while another waited (`OutboxWait`): the failure counts
 * towards parking, but the event is not parked while the wait is pending, and is due again no
 * sooner than its end. Parked then, the waiting work (a dead worker's claim of a sanction's
 * e-mail, to take over once its lease ends) would be left undone, neither done nor given up,
 * until an operator put the event back in line.
 */
class FailedWhileWaiting extends Error {
  constructor(
    readonly failure: unknown,
    readonly wait: OutboxWait,
  ) {
    super(String((failure as Error)?.message ?? failure));
    this.name = 'FailedWhileWaiting';
  }
}

/** How long processed outbox events are kept. */
export const OUTBOX_RETENTION_DAYS = 7;
/** Failed deliveries of one event before it is parked (with the doubling delay capped at 5 min, about an hour). */
export const OUTBOX_MAX_ATTEMPTS = 20;

/** Whether the event is parked if this delivery of it fails (a wait, `OutboxWait`, aside). */
export const isLastTry = (event: OutboxEvent): boolean => event.attempts + 1 >= OUTBOX_MAX_ATTEMPTS;

/**
 * Consumes the outbox in id order, in batches claimed with FOR UPDATE SKIP LOCKED so
 * several workers can run side by side. A batch is marked processed in the same
 * transaction that claimed it, after every handler succeeded: a crash mid-batch
 * rolls the claim back and the events are delivered again.
 */
@Injectable()
export class OutboxWorker {
  private readonly log = new Logger('OutboxWorker');
  private running = false;
  private listening = false;
  /** Woken by a NOTIFY on the outbox, and after the listener reconnects. */
  private readonly wakeUps: ChannelListener = { message: () => this.kick(), reconnected: () => this.kick() };
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(
    private readonly ds: DataSource,
    private readonly handlers: OutboxHandlers,
    /** The process's LISTEN connection (`CoreModule`); without it, the worker only polls. */
    @Optional() private readonly listener?: PgListener,
  ) {}

  batchSize = 100;
  pollMs = 2000;

  /**
   * Processed events are kept OUTBOX_RETENTION_DAYS for operators looking back, then deleted:
   * nothing reads them again (a busy community writes about 100,000 a day). Oldest first,
   * down the primary key; an event still waiting is never touched.
   */
  pruneProcessed(retentionDays = OUTBOX_RETENTION_DAYS): Promise<number> {
    return pruneInBatches(this.ds, 'outbox', `SELECT id FROM outbox WHERE processed_at < now() - make_interval(days => $2) ORDER BY id LIMIT $1`, [retentionDays]);
  }

  /** Processes one batch; returns how many events it took. */
  async drainOnce(): Promise<number> {
    let claimed: OutboxEvent[] = [];
    try {
      return await this.ds.transaction(async (m) => {
        claimed = await this.claim(m, `processed_at IS NULL AND available_at <= now() ORDER BY id LIMIT $1`, [this.batchSize]);
        if (claimed.length === 0) return 0;
        await this.deliver(claimed);
        await this.markProcessed(m, claimed);
        return claimed.length;
      });
    } catch (err) {
      // The claim rolled back. Which event failed is unknown: with one event, that one waits;
      // with more, each is retried on its own, so only the failing ones wait and the rest of
      // the batch is not held back behind them.
      if (claimed.length <= 1) {
        await this.delay(this.ds, claimed.map((e) => e.id), err);
        return 0;
      }
      this.log.warn({ err }, `outbox batch of ${claimed.length} failed; retrying its events one by one`);
      let done = 0;
      for (const e of claimed) done += await this.drainOne(e.id);
      return done;
    }
  }

  /** One event in its own transaction; a failure delays that event only. */
  private async drainOne(id: string): Promise<number> {
    return this.ds.transaction(async (m) => {
      const [event] = await this.claim(m, `id = $1 AND processed_at IS NULL`, [id]);
      if (!event) return 0;
      try {
        await this.deliver([event]);
      } catch (err) {
        await this.delay(m, [event.id], err);
        return 0;
      }
      await this.markProcessed(m, [event]);
      return 1;
    });
  }

  private async claim(m: EntityManager, where: string, params: unknown[]): Promise<OutboxEvent[]> {
    const rows: Array<Record<string, unknown>> = await m.query(
      `SELECT id, type, aggregate_type, aggregate_id, version, payload, created_at, attempts FROM outbox WHERE ${where} FOR UPDATE SKIP LOCKED`,
      params,
    );
    return rows.map((r) => ({
      id: String(r.id),
      type: r.type as string,
      aggregateType: r.aggregate_type as string,
      aggregateId: r.aggregate_id as string,
      version: r.version as number,
      payload: r.payload as Record<string, unknown>,
      createdAt: r.created_at as Date,
      attempts: r.attempts as number,
    }));
  }

  /**
   * Gives the events to every handler that takes them, in the order they registered, even once
   * one of them failed; the first failure is thrown after they all ran, and the events are tried
   * again (with every handler: each is idempotent). So one handler that must wait (a mail server
   * refusing for now, a sanction's e-mail another worker claimed) holds back no other's work on
   * the same events, such as the notification of that sanction. The first failure is the first
   * that is no `OutboxRetryLater`, if there is one. A failure is thrown before any
   * wait (`OutboxWait`): the events are tried again all the same, and the failure counts, but
   * with a wait beside it (`FailedWhileWaiting`) they are not parked before the wait ends; with
   * waits alone, the one that ends last.
   */
  private async deliver(events: OutboxEvent[]): Promise<void> {
    let failed: { err: unknown } | undefined;
    let wait: OutboxWait | undefined;
    for (const h of this.handlers.all()) {
      const mine = events.filter((e) => h.handles(e.type));
      if (mine.length === 0) continue;
      try {
        await h.handle(mine);
      } catch (err) {
        // A handler's failure is thrown before another's giving up for now (`OutboxRetryLater`):
        // thrown in its stead, a bug would be logged as a warning, and kept as no event's error.
        if (err instanceof OutboxWait) {
          if (!wait || err.until > wait.until) wait = err;
        } else if (!failed || (failed.err instanceof OutboxRetryLater && !(err instanceof OutboxRetryLater))) failed = { err };
      }
    }
    if (failed) throw wait ? new FailedWhileWaiting(failed.err, wait) : failed.err;
    if (wait) throw wait;
  }

  private async markProcessed(m: EntityManager, events: OutboxEvent[]): Promise<void> {
    await m.query(`UPDATE outbox SET processed_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`, [events.map((e) => e.id)]);
  }

  /**
   * Pushes events back with a delay that doubles with each attempt, keeping the error for
   * operators. After OUTBOX_MAX_ATTEMPTS (about an hour of retries) an event is parked: it
   * waits, unprocessed and never pruned, until `npm run parvis -- outbox:retry` (retryParked).
   * A wait (`OutboxWait`) is no attempt: the events are due again when it ends (a second on at
   * least), with their attempts and back-off as they were. A failure beside a wait
   * (`FailedWhileWaiting`) counts, but parks nothing: the events are due again at the later of
   * their back-off and the wait's end, and parked on a failed try with no wait pending.
   */
  private async delay(q: { query: (sql: string, params?: unknown[]) => Promise<unknown> }, ids: string[], err: unknown): Promise<void> {
    if (err instanceof OutboxWait) {
      this.log.warn({ until: err.until }, `outbox delivery waits: ${err.message}`);
      if (ids.length === 0) return;
      await q.query(`UPDATE outbox SET last_error = $2, available_at = GREATEST($3::timestamptz, now() + interval '1 second') WHERE id = ANY($1::bigint[])`, [
        ids,
        storedErrorText(err, 2000),
        err.until,
      ]);
      return;
    }
    const waiting = err instanceof FailedWhileWaiting ? err.wait.until : null;
    const failure = err instanceof FailedWhileWaiting ? err.failure : err;
    if (failure instanceof OutboxRetryLater) this.log.warn({ err: failure, waiting }, 'outbox delivery gave up for now; it will be retried');
    else this.log.error({ err: failure, waiting }, 'outbox delivery failed; it will be retried');
    if (ids.length === 0) return;
    const backOff = `now() + make_interval(secs => LEAST(${MAX_BACKOFF_SECONDS}, power(2, attempts)))`;
    const parked = rowsOf<{ id: string; type: string; parked: boolean }>(
      await q.query(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                available_at = CASE WHEN $4::timestamptz IS NOT NULL THEN GREATEST($4::timestamptz, ${backOff})
                                    WHEN attempts + 1 >= $3 THEN 'infinity'::timestamptz
                                    ELSE ${backOff} END
          WHERE id = ANY($1::bigint[])
          RETURNING id, type, available_at = 'infinity'::timestamptz AS parked`,
        [ids, storedErrorText(failure, 2000), OUTBOX_MAX_ATTEMPTS, waiting],
      ),
    ).filter((r) => r.parked);
    if (parked.length) {
      this.log.error({ events: parked.map((e) => ({ id: String(e.id), type: e.type })) }, `outbox events parked after ${OUTBOX_MAX_ATTEMPTS} failed attempts; run outbox:retry once the cause is fixed`);
    }
  }

  /** Puts parked events back in line (attempts start over); returns how many. */
  async retryParked(): Promise<number> {
    // The NOTIFY wakes whichever worker runs (the CLI that calls this runs none of its own).
    const [{ n }] = await this.ds.query(
      `WITH r AS (UPDATE outbox SET available_at = now(), attempts = 0 WHERE processed_at IS NULL AND available_at = 'infinity'::timestamptz RETURNING id)
       SELECT (SELECT count(*)::int FROM r) AS n, pg_notify('${OUTBOX_CHANNEL}', '')`,
    );
    return n;
  }

  /** Processes until nothing is left that is due. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.drainOnce();
      total += n;
      if (n === 0) return total;
    }
  }

  kick(): void {
    this.wake?.();
  }

  /** Runs the loop; with `listen`, a NOTIFY on the outbox wakes it early (on the process's one LISTEN connection). */
  async start(opts: { listen?: boolean } = {}): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (opts.listen && this.listener) {
      // Polling goes on regardless; the listener only wakes the loop early (and after a reconnect).
      this.listening = true;
      await this.listener.listen(OUTBOX_CHANNEL, this.wakeUps);
    }
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.drain();
      } catch (err) {
        this.log.error({ err }, 'outbox loop error');
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.pollMs);
      });
      clearTimeout(this.timer);
      this.wake = undefined;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    if (this.listening) await this.listener?.unlisten(OUTBOX_CHANNEL, this.wakeUps);
    this.listening = false;
  }
}
