import { Logger } from '@nestjs/common';
import { Client } from 'pg';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/**
 * A LISTEN on one channel that outlives its connection: when PostgreSQL restarts or the
 * connection drops, it reconnects with a growing delay and listens again, instead of going
 * quiet until the process restarts. `onReconnect` lets the owner catch up on what it may
 * have missed meanwhile.
 */
export class PgListener {
  private client?: Client;
  private stopped = false;
  private retryMs = FIRST_RETRY_MS;
  private timer?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onMessage: (payload: string | undefined) => void,
    private readonly opts: { name: string; onReconnect?: () => void },
  ) {
    this.log = new Logger(opts.name);
  }

  /** The backend serving the LISTEN now (tests end it to check reconnection). */
  get pid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  /** Connects and listens; a first failure is reported and retried in the background. */
  async start(): Promise<boolean> {
    this.stopped = false;
    return this.connect(false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(reconnecting: boolean): Promise<boolean> {
    const client = new Client({ connectionString: this.url });
    client.on('notification', (msg) => this.onMessage(msg.payload));
    client.on('error', (err: Error) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      this.log.warn({ err }, `cannot LISTEN on ${this.channel}; retrying`);
      await client.end().catch(() => undefined);
      this.retry();
      return false;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return false;
    }
    this.client = client;
    this.retryMs = FIRST_RETRY_MS;
    if (reconnecting) {
      this.log.log(`listening on ${this.channel} again`);
      this.opts.onReconnect?.();
    }
    return true;
  }

  private lost(client: Client, err: Error | null): void {
    if (this.stopped || client !== this.client) return;
    this.client = undefined;
    this.log.warn({ err }, `lost the LISTEN connection on ${this.channel}; reconnecting`);
    client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const delay = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.timer = setTimeout(() => void this.connect(true), delay);
  }
}
