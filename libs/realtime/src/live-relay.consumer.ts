import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LIVE_RELAY_CHANNEL, LIVE_RELAY_CLAIM, RelayedEvent } from '../../core/src/database/live-relay';
import { ChannelListener, PgListener } from '../../core/src/database/pg-listener';
import { rowsOf } from '../../core/src/database/unit-of-work';
import { EventBus } from '../../core/src/events';
import { CoalescedRuns } from '../../core/src/coalesced-runs';

/** Rows taken per statement. */
const BATCH = 200;

/**
 * The API side of the live relay (`libs/core/src/database/live-relay.ts`): what the separate
 * worker or a CLI command commits reaches this node's in-process bus, and so the live gateway,
 * as if it had been committed here. Every API node listens; each row goes to the first node that
 * claims it. Claims run one at a time per node, and once more when woken meanwhile, so nothing
 * committed while a claim ran waits for the next wake-up.
 */
@Injectable()
export class LiveRelayConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('LiveRelay');
  /** Woken by a NOTIFY on the relay, and after the listener reconnects (what was written meanwhile woke nobody). */
  private readonly wakeUps: ChannelListener = { message: () => this.kick(), reconnected: () => this.kick() };
  /** The claims, one at a time (one key: this node's). */
  private readonly claims = new CoalescedRuns<'relay'>();
  private stopped = false;

  constructor(
    private readonly ds: DataSource,
    private readonly bus: EventBus,
    /** The node's one LISTEN connection (`CoreModule`). */
    private readonly listener: PgListener,
  ) {}

  /** After every module's init, so the gateway already hears the bus when what waited is published. */
  async onApplicationBootstrap(): Promise<void> {
    await this.listener.listen(LIVE_RELAY_CHANNEL, this.wakeUps);
    this.kick();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.listener.unlisten(LIVE_RELAY_CHANNEL, this.wakeUps);
    await this.idle();
  }

  /** Claims what is waiting (again after the claim under way, if one is: `CoalescedRuns`). */
  kick(): void {
    if (this.stopped) return;
    void this.claims.run('relay', async () => {
      if (this.stopped) return;
      try {
        await this.drain();
      } catch (err) {
        this.log.warn({ err }, 'live relay claim failed; the next wake-up tries again');
      }
    });
  }

  /** Resolves once no claim is under way (tests wait on it). */
  idle(): Promise<void> {
    return this.claims.idle('relay');
  }

  /** Takes every row waiting and publishes the fresh ones in commit order; returns how many it published. */
  async drain(): Promise<number> {
    let published = 0;
    for (;;) {
      const rows = rowsOf<RelayedEvent>(await this.ds.query(LIVE_RELAY_CLAIM, [BATCH]));
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      for (const row of rows) {
        if (!row.fresh) continue;
        this.bus.publish(row.event);
        published++;
      }
      if (rows.length < BATCH || this.stopped) return published;
    }
  }
}
