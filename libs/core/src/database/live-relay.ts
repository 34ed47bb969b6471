import { DomainEvent } from '../events';
import { pruneInBatches } from './prune';

/**
 * The live relay: processes that serve no live connections (the separate worker, the CLI) write
 * the events they commit to `live_relay` in the same transaction (`UnitOfWork`, with
 * `CoreOptions.relayLiveEvents`), and API nodes claim them (`LiveRelayConsumer`, lib realtime)
 * and publish them on their own in-process bus, so the live gateway pushes them as if they had
 * been committed there. Each row is claimed by one node only: with the Redis adapter that node's
 * pushes and re-checks reach every node, as for an event committed on it. An access change's
 * wake-up reaches every node, which holds its pushes until that node's fence does
 * (`LIVE_RELAY_ACCESS`, `LiveRelayConsumer`). Only the events the gateway acts on are written
 * (`LIVE_EVENT_TYPES`): an API node would publish any other to nobody, and publishes none it
 * claims (`LiveRelayConsumer`).
 */

/** Where a process without a live gateway announces committed events for API nodes to push. */
export const LIVE_RELAY_CHANNEL = 'parvis_live';

/**
 * The wake-up's payload when the transaction changed who may see what (`changesAccess`): every
 * API node hears it at once and holds its live pushes until the node that claims the change has
 * had every node hold them for its re-check (`LiveRelayConsumer`). Any other wake-up's is empty.
 */
export const LIVE_RELAY_ACCESS = 'access';

/** Events after which live connections' access is checked again (the live gateway's `fence`). */
const ACCESS_EVENT_TYPES = ['space.access_changed', 'user.role_changed', 'user.sanctioned', 'user.sessions_revoked', 'topic.moved'] as const;

/** A post leaving its readers' sight: the first post takes its topic's audience with it. */
const REMOVAL_EVENT_TYPES = ['post.deleted', 'post.hidden', 'post.rejected', 'post.pending'] as const;

/**
 * The types of the events `changesAccess` may be true of: the live gateway re-checks each as its
 * type says, late ones included (`LiveGateway`'s `LATE_RECHECKS`, which does not compile without
 * an entry for every one).
 */
export type AccessChangeType = (typeof ACCESS_EVENT_TYPES)[number] | (typeof REMOVAL_EVENT_TYPES)[number];

const ACCESS_EVENTS: ReadonlySet<string> = new Set(ACCESS_EVENT_TYPES);
const REMOVAL_EVENTS: ReadonlySet<string> = new Set(REMOVAL_EVENT_TYPES);

/**
 * The event types the live gateway acts on (pushes, announces or re-checks for), and so the only
 * ones a process without a gateway relays (`relayedEvents`): an API node would publish any other
 * to nobody. The gateway's one source too: it acts on no other type, and its dispatch
 * (`LiveGateway.onEvent`, a switch over `LiveEventType`) does not compile with a case for a type
 * missing here, nor without a case for each type here. The access changes are among them, so
 * `LATE_RECHECKS`' types are.
 */
export const LIVE_EVENT_TYPES = [
  ...ACCESS_EVENT_TYPES,
  ...REMOVAL_EVENT_TYPES,
  'user.profile_hidden',
  'user.sanction_lifted',
  'space.access_gained',
  'post.created',
  'post.approved',
  'post.restored',
  'post.unhidden',
  'post.updated',
  'post.moved',
  'topic.published',
  'topic.updated',
  'topic_timers.updated',
  'idea.voted',
  'idea.status_changed',
  'idea.merged',
  'idea.unmerged',
  'reaction.updated',
  'poll.voted',
  'poll.updated',
  'poll.deleted',
  'review.updated',
  'review.moved',
] as const;

export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

const LIVE_EVENTS: ReadonlySet<string> = new Set(LIVE_EVENT_TYPES);

/** Whether the live gateway acts on events of this type (`LIVE_EVENT_TYPES`). */
export const isLiveEventType = (type: string): type is LiveEventType => LIVE_EVENTS.has(type);

/**
 * Of `events`, in their order, those the relay carries: what a process without a live gateway
 * writes of a transaction's, and what an API node publishes of the rows it claims (an older
 * worker may have written others during a rolling upgrade).
 */
export const relayedEvents = (events: readonly DomainEvent[]): DomainEvent[] => events.filter((e) => LIVE_EVENTS.has(e.type));

/** Whether `changesAccess` may be true of events of this type. */
export const isAccessChangeType = (type: string): type is AccessChangeType => ACCESS_EVENTS.has(type) || REMOVAL_EVENTS.has(type);

/**
 * Whether the event changes who may see what, so that live pushes wait for its re-check: here,
 * for the process that commits it decides its relay wake-up's payload, and the live gateway
 * reads it too.
 */
export const changesAccess = (e: DomainEvent): boolean =>
  ACCESS_EVENTS.has(e.type) || (REMOVAL_EVENTS.has(e.type) && (e.payload as { number?: unknown }).number === 1);

/** Injection token: true in processes that relay their committed events (`CoreOptions.relayLiveEvents`). */
export const RELAY_LIVE_EVENTS = Symbol('RELAY_LIVE_EVENTS');

/**
 * An event claimed later than this after its commit is dropped, not pushed: the connections it
 * was news to have read the state since, and a late one could undo a newer state (a ban's
 * disconnect arriving after the ban was lifted). But for access changes (RELAYED_LATE) and
 * access given (`keptLate`).
 */
export const LIVE_RELAY_FRESH_SECONDS = 60;

/**
 * Access given (a sanction's end, members put in a group that holds grants): the live gateway puts
 * connections back in the rooms they were sent away from, reading access as it is now, and what
 * it tells (`sanction:lifted`) stays true (an ended sanction stays ended; a newer one has an id of
 * its own), so a late one undoes nothing. Published however late it is claimed, as it is: dropped,
 * it left the reader out of those rooms until they reconnected, no later change putting them back.
 */
const KEPT_LATE_EVENT_TYPES: ReadonlySet<string> = new Set<LiveEventType>(['user.sanction_lifted', 'space.access_gained']);

/** Whether the event is published as it is, however late it is claimed (see KEPT_LATE_EVENT_TYPES). */
export const keptLate = (e: DomainEvent): boolean => KEPT_LATE_EVENT_TYPES.has(e.type);

/** A post coming back in its readers' sight: a topic's first post takes its topic back into theirs. */
const BACK_EVENT_TYPES: ReadonlySet<string> = new Set<LiveEventType>(['post.approved', 'post.restored', 'post.unhidden']);

/**
 * Whether the event brings a topic back in its readers' sight (its first post approved, restored or
 * unhidden): claimed later than LIVE_RELAY_FRESH_SECONDS, it is published marked RELAYED_LATE, for
 * its restore alone (the live gateway puts back in the topic's room the connections sent away
 * from it that may read it now), not its push, which could show a newer state an older one.
 * Dropped, it left those readers out of the room until they reconnected, as a late access change's
 * restore did before RELAYED_LATE.
 */
const restoresLate = (e: DomainEvent): boolean => BACK_EVENT_TYPES.has(e.type) && (e.payload as { number?: unknown }).number === 1;

/**
 * Whether the event, claimed later than LIVE_RELAY_FRESH_SECONDS, is published all the same,
 * marked RELAYED_LATE: an access change (`changesAccess`), for its re-checks and restore, or a
 * topic's first post back in sight (`restoresLate`), for its restore. The one test of both the
 * relay's claim (`LiveRelayConsumer`) marking it and the live gateway (`recheckLate`) accepting
 * it: a type published late is one the gateway knows what to do with late.
 */
export const publishedLate = (e: DomainEvent): boolean => changesAccess(e) || restoresLate(e);

/**
 * Set (true) in the payload of an access change claimed later than LIVE_RELAY_FRESH_SECONDS: it
 * is published all the same, for its re-checks and then its restore alone, which read access as
 * it is now (so a late one cannot undo a newer state); dropped, it left a reader who lost access
 * in the rooms they were in, hearing what was pushed there for as long as they stayed, and one
 * given access back out of the rooms they had been sent away from. So is a topic's first post
 * back in sight (`restoresLate`), which has a restore and no re-check.
 */
export const RELAYED_LATE = 'relayedLate';

/**
 * A transaction's events, one row each in emission order, and a wake-up PostgreSQL delivers at
 * commit (nothing at all if the transaction rolls back). `$1`: the events as a JSON array; `$2`:
 * the wake-up's payload (`LIVE_RELAY_ACCESS` or empty, `relayWakeUp`).
 * Written as the transaction ends, so the clock's time (not `now()`, the transaction's start)
 * is about its commit's: a long transaction's events are not already stale when they commit.
 */
export const LIVE_RELAY_INSERT = `WITH r AS (
     INSERT INTO live_relay (event, created_at)
     SELECT e, clock_timestamp() FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, n) ORDER BY n RETURNING id)
   SELECT (SELECT count(*)::int FROM r) AS n, pg_notify('${LIVE_RELAY_CHANNEL}', $2::text)`;

/** The payload of the relay's wake-up for a transaction's events (`LIVE_RELAY_INSERT`'s `$2`). */
export const relayWakeUp = (events: DomainEvent[]): string => (events.some(changesAccess) ? LIVE_RELAY_ACCESS : '');

export interface RelayedEvent {
  id: string;
  event: DomainEvent;
  fresh: boolean;
}

const claim = (lock: string) => `WITH c AS (SELECT id FROM live_relay ORDER BY id LIMIT $1 ${lock})
   DELETE FROM live_relay r USING c WHERE r.id = c.id
   RETURNING r.id, r.event, r.created_at > now() - make_interval(secs => ${LIVE_RELAY_FRESH_SECONDS}) AS fresh`;

/**
 * Takes up to `$1` rows off the relay, oldest first, skipping those another node is taking; the
 * rows go with the claiming transaction, so no other node can have them.
 */
export const LIVE_RELAY_CLAIM = claim('FOR UPDATE SKIP LOCKED');

/**
 * `LIVE_RELAY_CLAIM`, but waiting for the rows another node is taking instead of skipping them:
 * that node commits its claim once every API node holds its pushes for the access re-checks its
 * rows set off, so when this returns, those are held here too (the rows it took are gone by then,
 * and left out). Bounded by the transaction's `lock_timeout`.
 */
export const LIVE_RELAY_CLAIM_AFTER_OTHERS = claim('FOR UPDATE');

/**
 * Rows no API node took (none was running): kept a few minutes past freshness, then deleted by
 * the housekeeping job, so a worker running alone does not fill the table.
 */
export function pruneLiveRelay(ds: Parameters<typeof pruneInBatches>[0]): Promise<number> {
  return pruneInBatches(ds, 'live_relay', `SELECT id FROM live_relay WHERE created_at < now() - interval '10 minutes' ORDER BY id LIMIT $1`);
}
