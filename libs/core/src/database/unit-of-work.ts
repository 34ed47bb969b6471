import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppError } from '../errors';
import { DomainEvent, EventBus } from '../events';
import { LIVE_RELAY_INSERT, RELAY_LIVE_EVENTS, relayedEvents, relayWakeUp } from './live-relay';

/** A DataSource, an EntityManager or a unit of work's Tx: whatever runs a statement. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<any>;
}

export const OUTBOX_CHANNEL = 'parvis_outbox';

/** TypeORM's postgres driver returns [rows, affected] for UPDATE and DELETE, rows otherwise. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}

/**
 * The one statement that writes outbox events: `rows` (a VALUES list or a SELECT) yields
 * (type, aggregate_type, aggregate_id, version, payload); the statement answers how many it
 * wrote as `n` and the last one's id as `id` (`Tx.emit`'s one row's), and wakes the worker, which
 * PostgreSQL delivers when the transaction commits.
 * Bulk writers (the importer) use it with a SELECT, `Tx.emit` with one row. `before`: named
 * queries (`name AS (…)`, comma-separated) the SELECT may read, placed ahead in the statement's
 * WITH, where PostgreSQL takes data-modifying ones (a claim that updates the rows it announces).
 */
export function outboxInsertSql(rows: string, before?: string): string {
  return `WITH ${before ? `${before},
` : ''}e AS (
     INSERT INTO outbox (type, aggregate_type, aggregate_id, version, payload) ${rows} RETURNING id)
   SELECT (SELECT count(*)::int FROM e) AS n, (SELECT max(id) FROM e) AS id, pg_notify('${OUTBOX_CHANNEL}', '')`;
}

/** The transactions `UnitOfWork.run` runs, and so finishes (`Tx.deferred`). */
const runByUnitOfWork = new WeakSet<Tx>();

/** One database transaction; events emitted here are stored in the outbox with the rows. */
export class Tx {
  /** What `emit` wrote, in order: each event with its outbox row (`amend`). */
  private readonly emitted: Array<{ event: DomainEvent; id: string }> = [];
  /** What `deferred` collected, by key, in the order first asked for, with what writes it. */
  private readonly pending = new Map<object, { items: unknown[]; finish: (items: unknown[]) => Promise<void> }>();
  private finishing = false;

  constructor(readonly manager: EntityManager) {}

  /** The events emitted in this transaction, in order (a copy: only `emit` adds one), published once it commits. */
  get events(): readonly DomainEvent[] {
    return this.emitted.map((e) => e.event);
  }

  /**
   * The list `key` keeps in this transaction, for writes to make as its last statements, just
   * before it commits: `finish` gets the list then (lists in the order first asked for), and
   * never when the transaction fails. For a write whose lock every transaction contends for (the
   * moderation log's): taken last, it is held only for the commit, and no statement of the
   * transaction waits for a lock while it is held (COMMIT's deferred triggers still run after it).
   * Only in `UnitOfWork.run`, which finishes its transactions.
   */
  deferred<T>(key: object, finish: (items: T[]) => Promise<void>): T[] {
    if (!runByUnitOfWork.has(this)) throw new Error('Tx.deferred needs a transaction run by UnitOfWork.run, which writes what it collects');
    if (this.finishing) throw new Error('Tx.deferred after the transaction began to finish');
    let list = this.pending.get(key);
    if (!list) this.pending.set(key, (list = { items: [], finish: finish as (items: unknown[]) => Promise<void> }));
    return list.items as T[];
  }

  /** Makes the deferred writes (`UnitOfWork.run`, as the transaction's last statements). */
  async finish(): Promise<void> {
    this.finishing = true;
    for (const { items, finish } of this.pending.values()) if (items.length) await finish(items);
  }

  /** Rows of a statement (TypeORM answers UPDATE/DELETE with [rows, count]; this evens it out). */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return rowsOf<T>(await this.manager.query(sql, params));
  }

  async one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params))[0];
  }

  /**
   * Writes an outbox event in this transaction (and wakes the worker once it commits). Not once
   * the transaction began to finish (`Tx.deferred`'s writes), as `amend`: the live relay's copy
   * of its events is written by then (`UnitOfWork.run`), and API nodes would never hear this one.
   */
  async emit(event: DomainEvent): Promise<void> {
    if (this.finishing) throw new Error(`Tx.emit of ${event.type} after the transaction began to finish: its events are relayed already`);
    const [{ id }] = await this.query<{ id: string }>(outboxInsertSql(`VALUES ($1, $2, $3, $4, $5)`), [
      event.type, event.aggregateType, event.aggregateId, event.version ?? 1, JSON.stringify(event.payload),
    ]);
    this.emitted.push({ event, id });
  }

  /**
   * Gives an event this transaction emitted (one of `events`) a new payload, in its outbox row
   * and in what is published once it commits: for a change told once per transaction whatever
   * else the transaction changes after it (`announceTimers`). One UPDATE of that row. Not once
   * the transaction began to finish (`Tx.deferred`'s writes): the live relay's copy of its events
   * is written by then (`UnitOfWork.run`), and would tell API nodes the old payload.
   */
  async amend<P extends object>(event: DomainEvent<P>, payload: P): Promise<void> {
    // The last row written for it, as the map this replaced kept (an event emitted twice is published twice).
    const id = this.emitted.findLast((e) => e.event === event)?.id;
    if (id === undefined) throw new Error(`Tx.amend: ${event.type} was not emitted in this transaction`);
    if (this.finishing) throw new Error('Tx.amend after the transaction began to finish: its events are relayed already');
    await this.query(`UPDATE outbox SET payload = $2 WHERE id = $1`, [id, JSON.stringify(payload)]);
    event.payload = payload;
  }
}

/**
 * PostgreSQL's deadlock_detected and serialization_failure: it rolled the whole transaction
 * back, so running it again from the start is safe, and usually succeeds once the other one
 * has committed.
 */
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);
export const TRANSACTION_ATTEMPTS = 3;

export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether PostgreSQL ended the statement for a deadlock or a serialization failure: running it again is safe. */
export function retryable(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && RETRYABLE_SQLSTATES.has(state);
}

/**
 * Runs `work` again from the start while PostgreSQL ends it for a deadlock or a serialization
 * failure (`retryable`), TRANSACTION_ATTEMPTS times in all, each time after a short random pause,
 * so that the two do not meet again in step (the other has usually committed by then). Anything
 * else is thrown at once; the last retryable failure, past the attempts, as `exhausted` turns it.
 * For `UnitOfWork.run`'s transactions, and for a statement that is a transaction of its own
 * (autocommit), which needs no BEGIN and COMMIT around it to be run again so.
 */
export async function retryingDeadlocks<T>(work: () => Promise<T>, exhausted: (err: unknown) => unknown = (err) => err): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!retryable(err)) throw err;
      if (attempt >= TRANSACTION_ATTEMPTS) throw exhausted(err);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}

@Injectable()
export class UnitOfWork {
  constructor(
    private readonly ds: DataSource,
    private readonly bus: EventBus,
    @Optional() @Inject(RELAY_LIVE_EVENTS) private readonly relay: boolean = false,
  ) {}

  /**
   * Runs `work` in a transaction; committed events are then published in-process, and in a
   * process without a live gateway (`relay`) those the gateway acts on (`relayedEvents`) are also
   * written to `live_relay` in the transaction, so an API node pushes them once they commit. A
   * transaction PostgreSQL aborted for a deadlock (or a serialization failure) runs again, up
   * to TRANSACTION_ATTEMPTS times in all; `work` must therefore read what it decides on inside
   * `tx`, as it should anyway. Past that, the caller gets CONFLICT, not an internal error.
   * What `work` deferred (`Tx.deferred`) is written after it, as the last statements before
   * COMMIT; an attempt that fails writes none of it, and the next starts with nothing deferred.
   */
  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return retryingDeadlocks(
      async () => {
        let tx!: Tx;
        const result = await this.ds.transaction(async (manager) => {
          tx = new Tx(manager);
          runByUnitOfWork.add(tx);
          const done = await work(tx);
          const relayed = this.relay ? relayedEvents(tx.events) : [];
          if (relayed.length) await manager.query(LIVE_RELAY_INSERT, [JSON.stringify(relayed), relayWakeUp(relayed)]);
          // Last: the moderation log's entries, whose lock is then held only for the commit.
          await tx.finish();
          return done;
        });
        // A listener may hold the answer back a moment: the live gateway, until every API node
        // holds its pushes for an access re-check this change set off.
        await this.bus.publishAll(tx.events);
        return result;
      },
      () => AppError.conflict('Another change to the same content got in the way: try again'),
    );
  }
}
