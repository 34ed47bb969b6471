import { DomainEvent } from '../events';
import { pruneInBatches } from './prune';

/**
 * The live relay: processes that serve no live connections (the separate worker, the CLI) write
 * the events they commit to `live_relay` in the same transaction (`UnitOfWork`, with
 * `CoreOptions.relayLiveEvents`), and API nodes claim them (`LiveRelayConsumer`, lib realtime)
 * and publish them on their own in-process bus, so the live gateway pushes them as if they had
 * been committed there. Each row is claimed by one node only: with the Redis adapter that node's
 * pushes and re-checks reach every node, as for an event committed on it.
 */

/** Where a process without a live gateway announces committed events for API nodes to push. */
export const LIVE_RELAY_CHANNEL = 'parvis_live';

/** Injection token: true in processes that relay their committed events (`CoreOptions.relayLiveEvents`). */
export const RELAY_LIVE_EVENTS = Symbol('RELAY_LIVE_EVENTS');

/**
 * An event claimed later than this after its commit is dropped, not pushed: the connections it
 * was news to have read the state since, and a late one could undo a newer state (a ban's
 * disconnect arriving after the ban was lifted).
 */
export const LIVE_RELAY_FRESH_SECONDS = 60;

/**
 * A transaction's events, one row each in emission order, and a wake-up PostgreSQL delivers at
 * commit (nothing at all if the transaction rolls back). `$1`: the events as a JSON array.
 * Written as the transaction ends, so the clock's time (not `now()`, the transaction's start)
 * is about its commit's: a long transaction's events are not already stale when they commit.
 */
export const LIVE_RELAY_INSERT = `WITH r AS (
     INSERT INTO live_relay (event, created_at)
     SELECT e, clock_timestamp() FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, n) ORDER BY n RETURNING id)
   SELECT (SELECT count(*)::int FROM r) AS n, pg_notify('${LIVE_RELAY_CHANNEL}', '')`;

export interface RelayedEvent {
  id: string;
  event: DomainEvent;
  fresh: boolean;
}

/**
 * Takes up to `$1` rows off the relay, oldest first, skipping those another node is taking; the
 * rows go with the statement, so no other node can have them.
 */
export const LIVE_RELAY_CLAIM = `WITH c AS (SELECT id FROM live_relay ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
   DELETE FROM live_relay r USING c WHERE r.id = c.id
   RETURNING r.id, r.event, r.created_at > now() - make_interval(secs => ${LIVE_RELAY_FRESH_SECONDS}) AS fresh`;

/**
 * Rows no API node took (none was running): kept a few minutes past freshness, then deleted by
 * the housekeeping job, so a worker running alone does not fill the table.
 */
export function pruneLiveRelay(ds: Parameters<typeof pruneInBatches>[0]): Promise<number> {
  return pruneInBatches(ds, 'live_relay', `SELECT id FROM live_relay WHERE created_at < now() - interval '10 minutes' ORDER BY id LIMIT $1`);
}
