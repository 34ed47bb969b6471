import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  isLiveEventType,
  keptLate,
  LIVE_RELAY_ACCESS,
  LIVE_RELAY_CHANNEL,
  LIVE_RELAY_CLAIM,
  LIVE_RELAY_CLAIM_AFTER_OTHERS,
  publishedLate,
  RELAYED_LATE,
  RelayedEvent,
  relayedEvents,
} from '../../core/src/database/live-relay';
import { ChannelListener, PgListener } from '../../core/src/database/pg-listener';
import { rowsOf, sqlState } from '../../core/src/database/unit-of-work';
import { DomainEvent, EventBus } from '../../core/src/events';
import { CoalescedRuns } from '../../core/src/coalesced-runs';
import { LiveGateway } from './live.gateway';

/** Rows taken per statement. */
const BATCH = 200;

/** How many dropped types a node remembers having logged (`dropped`): a writer gone astray cannot grow it without end. */
const DROPPED_TYPES_TOLD = 64;

/** What a claim's statements take, on top of its waits, as `holdWaitMs` counts it. */
const CLAIM_STATEMENTS_MS = 1_000;

/**
 * Thrown by a claim that got its rows once the node had begun to stop: its transaction rolls
 * back, and the rows stay for the nodes that go on (or this one's next start).
 */
class Stopping extends Error {}

/**
 * The API side of the live relay (`libs/core/src/database/live-relay.ts`): what the separate
 * worker or a CLI command commits reaches this node's in-process bus, and so the live gateway,
 * as if it had been committed here. Every API node listens; each row goes to the first node that
 * claims it. Claims run one at a time per node, and once more when woken meanwhile, so nothing
 * committed while a claim ran waits for the next wake-up.
 *
 * An access change (a revoked grant, a ban, a space made RESTRICTED) reaches every node at once,
 * through the wake-up PostgreSQL sends them all at commit (`LIVE_RELAY_ACCESS`), but only one node
 * claims it and asks the others, through Redis, to hold their pushes for its re-check. Until
 * that news reached them, the others went on pushing what was committed through them, a reply
 * included, to a reader the worker had just sent away: nothing waited for them to hold their
 * pushes, as an access change's answer waits in the API. So every node woken by such a change
 * holds its own pushes (`LiveGateway.holdPushesUntil`) until its claim that answers the wake-up
 * is over; the node that takes the change commits its claim only once every node has said it
 * holds its pushes for the change's re-check (`EventBus.publishAll`, as an API request's answer
 * waits), and the others' claims wait for its rows instead of skipping them
 * (`LIVE_RELAY_CLAIM_AFTER_OTHERS`). Each node's own hold thus hands over to the re-check's:
 * from the wake-up on, no push of its goes out before the re-check is over (or waited for long
 * enough, as the API's are: `fence`).
 */
@Injectable()
export class LiveRelayConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('LiveRelay');
  /**
   * Woken by a NOTIFY on the relay, and after the listener reconnects (what was written meanwhile
   * woke nobody; it may have changed access, so that claim is held for as an access change's is).
   */
  private readonly wakeUps: ChannelListener = {
    message: (payload) => this.wake(payload === LIVE_RELAY_ACCESS),
    reconnected: () => this.wake(true),
  };
  /** The claims, one at a time (one key: this node's). */
  private readonly claims = new CoalescedRuns<'relay'>();
  private stopped = false;
  /** The next claim answers an access change's wake-up: it waits for the rows other nodes are claiming. */
  private afterOthers = false;
  /** The types of rows dropped for the gateway not acting on them, each logged once (`dropped`). */
  private readonly droppedTypes = new Set<string>();

  /**
   * How long a claim waits at most for the rows another node is claiming (its `lock_timeout`):
   * longer than that node's claim waits for the others to hold their pushes (six seconds,
   * `LiveGateway.nodesAnswerWaitMs`). A node frozen with its claim open does not stop the relay:
   * past the wait, the claim checks every connection of its node again (the rows it waited for
   * may hold the access change it answers), then takes what it does not hold.
   */
  othersWaitMs = 10_000;

  /**
   * How long this node's pushes wait at most for the claim answering an access change's wake-up
   * (`LiveGateway.holdPushesUntil`): what that claim may wait, one after the other, for the rows
   * other nodes are claiming (`othersWaitMs`), past that for its re-check of every connection
   * (`LiveGateway.recheckWaitMs`), then for every node to hold its pushes for the re-checks of
   * what it took (`LiveGateway.nodesAnswerWaitMs`), and its statements. Shorter, the hold ended
   * while the claim still waited for the change, and pushes reached readers it was to send away;
   * a claim still under way past it hangs (a statement never answered), and pushes go on without
   * it (logged by the gateway) rather than never.
   */
  get holdWaitMs(): number {
    return this.othersWaitMs + this.live.recheckWaitMs + this.live.nodesAnswerWaitMs + CLAIM_STATEMENTS_MS;
  }

  constructor(
    private readonly ds: DataSource,
    private readonly bus: EventBus,
    /** The node's one LISTEN connection (`CoreModule`). */
    private readonly listener: PgListener,
    private readonly live: LiveGateway,
  ) {}

  /** After every module's init, so the gateway already hears the bus when what waited is published. */
  async onApplicationBootstrap(): Promise<void> {
    await this.listener.listen(LIVE_RELAY_CHANNEL, this.wakeUps);
    void this.kick();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.listener.unlisten(LIVE_RELAY_CHANNEL, this.wakeUps);
    await this.idle();
    // Each claim releases the holds it answers; any left (a claim asked for that never ran) go now.
    for (const release of this.answering.splice(0)) release();
  }

  /**
   * Releases of this node's pushes held after access changes' wake-ups (`wake`), which the next
   * claim to start answers: each is released once that claim is over.
   */
  private answering: Array<() => void> = [];

  /**
   * A wake-up: after an access change, this node's pushes wait for the claim that answers it
   * (the next to start), and no longer (`answering`). `kick`'s promise would also wait for every
   * claim asked for meanwhile: under a worker committing steadily, that held them the whole wait
   * (`holdWaitMs`) after each access change.
   */
  private wake(accessChanged: boolean): void {
    if (!accessChanged) return void this.kick();
    if (this.stopped) return;
    this.afterOthers = true;
    this.live.holdPushesUntil(new Promise<void>((resolve) => this.answering.push(resolve)), this.holdWaitMs);
    void this.kick();
  }

  /**
   * Claims what is waiting (again after the claim under way, if one is: `CoalescedRuns`); resolves
   * once no claim is under way, those asked for meanwhile included.
   */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.claims.run('relay', async () => {
      // The holds this claim answers: those asked for before it starts, as its `afterOthers`.
      const answered = this.answering.splice(0);
      try {
        if (this.stopped) return;
        await this.drain();
      } catch (err) {
        this.log.warn({ err }, 'live relay claim failed; the next wake-up tries again');
      } finally {
        for (const release of answered) release();
      }
    });
  }

  /** Resolves once no claim is under way (tests wait on it). */
  idle(): Promise<void> {
    return this.claims.idle('relay');
  }

  /**
   * Takes every row waiting and publishes the fresh ones (and late access changes and gains) of the types
   * the relay carries in commit order; returns how many it published.
   */
  async drain(): Promise<number> {
    let afterOthers = this.afterOthers;
    this.afterOthers = false;
    let published = 0;
    for (;;) {
      let claimed: { rows: number; published: number };
      try {
        claimed = await this.claim(afterOthers);
      } catch (err) {
        if (err instanceof Stopping) return published;
        // lock_not_available: the wait ran out.
        if (!afterOthers || sqlState(err) !== '55P03') throw err;
        // Those rows may hold the access change this claim answers: committed, so access has
        // changed already, but its re-check is that node's to run. Every connection here is
        // checked again instead, before the pushes held for it go on.
        this.log.warn(`rows another API node is claiming stayed locked over ${this.othersWaitMs} ms; checking every connection here again, then claiming the others`);
        await this.live.recheckAllFenced();
        afterOthers = false;
        continue;
      }
      published += claimed.published;
      if (claimed.rows < BATCH || this.stopped) return published;
    }
  }

  /**
   * Says (at debug level) which types of the rows claimed the gateway does not act on, each
   * once per node, however many rows: an operator wondering why a worker's event never reached
   * the live rooms learns its type is not relayed (an older worker during a rolling upgrade,
   * or a type left out of LIVE_EVENT_TYPES), without a line per row.
   */
  private dropped(rows: RelayedEvent[]): void {
    for (const { event } of rows) {
      if (isLiveEventType(event.type) || this.droppedTypes.has(event.type) || this.droppedTypes.size >= DROPPED_TYPES_TOLD) continue;
      this.droppedTypes.add(event.type);
      this.log.debug({ type: event.type }, 'live relay rows of a type the live gateway does not act on are taken and dropped (logged once per type)');
    }
  }

  /**
   * One batch, in a transaction of its own: published in commit order, and committed once this
   * node's bus listeners are done holding its publisher, which the live gateway does until every
   * API node holds its pushes for the re-checks of the batch's access changes. Another node's
   * claim after an access change waits for these rows till then (`LIVE_RELAY_CLAIM_AFTER_OTHERS`).
   */
  private claim(afterOthers: boolean): Promise<{ rows: number; published: number }> {
    return this.ds.transaction(async (m) => {
      if (afterOthers) await m.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.othersWaitMs))}`);
      const rows = rowsOf<RelayedEvent>(await m.query(afterOthers ? LIVE_RELAY_CLAIM_AFTER_OTHERS : LIVE_RELAY_CLAIM, [BATCH]));
      // The node began to stop while the claim ran (it may have waited seconds for another node's
      // rows): its gateway, stopping alongside, no longer hears the bus, so what it published
      // now would be lost for every node, an access change's re-check with it. Left instead.
      if (this.stopped) throw new Stopping();
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      // What is no longer news is dropped, but for access changes, their re-checks and restores,
      // and a topic back in sight, its restore (`publishedLate`, marked RELAYED_LATE), and access
      // given, as it is (`keptLate`).
      // So is any type the gateway does not act on (`relayedEvents`, LIVE_EVENT_TYPES), which an
      // older worker may still have written during a rolling upgrade: its row is taken all the same.
      const events = relayedEvents(
        rows.flatMap((row): DomainEvent[] =>
          row.fresh || keptLate(row.event)
            ? [row.event]
            : publishedLate(row.event)
              ? [{ ...row.event, payload: { ...row.event.payload, [RELAYED_LATE]: true } }]
              : [],
        ),
      );
      this.dropped(rows);
      // The rows are taken whatever a listener does with them: a relay event is pushed once at most.
      await this.bus.publishAll(events).catch((err: unknown) => this.log.error({ err }, 'a relayed event’s publication failed'));
      return { rows: rows.length, published: events.length };
    });
  }
}
