import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/** How the listener connection shows in `pg_stat_activity`. */
export const LISTENER_APPLICATION_NAME = 'parvis-listen';

/** A channel's owner, as `PgListener.listen` tells it. */
export interface ChannelListener {
  /** A NOTIFY on the channel. */
  message(payload: string | undefined): void;
  /** The connection came back after it was lost: what was sent on the channel meanwhile was not heard. */
  reconnected?(): void;
}

const CHANNEL = /^[a-z_][a-z0-9_]*$/;

/**
 * LISTENs for a process on one connection, whatever the number of channels (the API node's
 * notifications, live relay and in-process outbox worker share it: one provider per process,
 * `CoreModule`). The connection outlives itself: when PostgreSQL restarts or it drops, the
 * listener reconnects with a growing delay, listens again on every channel and tells each
 * channel's owner (`reconnected`), so each catches up on what it may have missed, instead of
 * going quiet until the process restarts. It connects with the first channel and closes with
 * the last one.
 */
export class PgListener implements OnApplicationShutdown {
  private readonly channels = new Map<string, Set<ChannelListener>>();
  private client?: Client;
  private retryMs = FIRST_RETRY_MS;
  private timer?: NodeJS.Timeout;
  /** Connecting, listening and closing, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log = new Logger('PgListener');

  constructor(private readonly url: string) {}

  /** The backend serving the LISTENs now (tests end it to check reconnection). */
  get pid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  /**
   * Listens on `channel` for `listener`; resolves true once the connection listens on it, false
   * when no connection can be had now: it is retried in the background, and `reconnected` is
   * called once it listens. Never rejects: a LISTEN that cannot even be tried (pg refusing the
   * connection string as it makes its client) is logged here and resolves false, so no caller has
   * a rejection to swallow (until 2026-12-07 it rejected, and JobScheduler swallowed it unlogged).
   * A channel name it does not take throws at once: a programming error.
   */
  listen(channel: string, listener: ChannelListener): Promise<boolean> {
    if (!CHANNEL.test(channel)) throw new Error(`"${channel}" is not a channel name PgListener takes`);
    let owners = this.channels.get(channel);
    if (!owners) this.channels.set(channel, (owners = new Set()));
    owners.add(listener);
    return this.serially(async () => {
      if (!this.channels.get(channel)?.has(listener)) return false;
      // Down and waiting to retry: the retry listens on every channel, this one included.
      if (!this.client) return this.timer ? false : this.connect(false);
      try {
        await this.client.query(`LISTEN ${channel}`);
        return true;
      } catch {
        // The connection broke: `lost` reconnects.
        return false;
      }
    }).catch((err: unknown) => {
      this.log.error({ err, channel }, `cannot LISTEN on ${channel}`);
      return false;
    });
  }

  /** Stops telling `listener` about `channel`; the connection closes with the last channel. */
  async unlisten(channel: string, listener: ChannelListener): Promise<void> {
    const owners = this.channels.get(channel);
    if (!owners?.delete(listener)) return;
    if (owners.size) return;
    this.channels.delete(channel);
    await this.serially(async () => {
      if (this.channels.has(channel)) return;
      if (this.channels.size === 0) return this.close();
      await this.client?.query(`UNLISTEN ${channel}`).catch(() => undefined);
    });
  }

  /** Forgets every channel and closes the connection. */
  async stop(): Promise<void> {
    this.channels.clear();
    await this.serially(() => this.close());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async connect(reconnecting: boolean): Promise<boolean> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const channels = [...this.channels.keys()];
    if (this.client || channels.length === 0) return !!this.client;
    const client = new Client({ connectionString: this.url, application_name: LISTENER_APPLICATION_NAME });
    client.on('notification', (msg) => this.tell(msg.channel, msg.payload));
    client.on('error', (err: Error) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      await client.query(channels.map((c) => `LISTEN ${c}`).join('; '));
    } catch (err) {
      this.log.warn({ err }, `cannot LISTEN on ${channels.join(', ')}; retrying`);
      await client.end().catch(() => undefined);
      this.retry();
      return false;
    }
    this.client = client;
    this.retryMs = FIRST_RETRY_MS;
    if (reconnecting) {
      this.log.log(`listening on ${channels.join(', ')} again`);
      for (const [channel, owners] of this.channels) for (const owner of owners) this.safely(channel, 'a reconnection handler', () => owner.reconnected?.());
    }
    return true;
  }

  private tell(channel: string, payload: string | undefined): void {
    for (const owner of this.channels.get(channel) ?? []) this.safely(channel, 'a NOTIFY handler', () => owner.message(payload));
  }

  /**
   * Runs an owner's handler: one that throws is logged, and the other owners are told all the
   * same (a reconnection's handler throwing out of the retry's timer was an unhandled rejection,
   * which ends the process, and the owners after it never caught up).
   */
  private safely(channel: string, what: string, handler: () => void): void {
    try {
      handler();
    } catch (err) {
      this.log.error({ err, channel }, `${what} failed`);
    }
  }

  private lost(client: Client, err: Error | null): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.log.warn({ err }, 'lost the LISTEN connection; reconnecting');
    client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    if (this.channels.size === 0) return;
    clearTimeout(this.timer);
    const delay = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.timer = setTimeout(() => void this.serially(() => this.connect(true)), delay);
  }

  private async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.retryMs = FIRST_RETRY_MS;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
