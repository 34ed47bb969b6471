import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { Server, ServerOptions } from 'socket.io';

/**
 * Socket.IO across several API processes: rooms, broadcasts, fetchSockets and
 * disconnects go through Redis pub/sub, so an event committed on one node reaches
 * clients connected to any node.
 */
export class RedisIoAdapter extends IoAdapter {
  private adapterConstructor?: ReturnType<typeof createAdapter>;
  private clients: Array<ReturnType<typeof createClient>> = [];
  private readonly log = new Logger('RedisIoAdapter');
  private resubscribed?: () => void;
  /**
   * The name both of this node's Redis connections carry (CLIENT SETNAME, again after each
   * reconnect), so `CLIENT LIST` tells which process holds which: `<key prefix>-<host>-<pid>-<random>`,
   * the random part since nodes may share a host, and containers a pid.
   */
  readonly clientName: string;

  constructor(
    app: INestApplicationContext,
    private readonly url: string,
    private readonly prefix: string,
  ) {
    super(app);
    // Redis takes no spaces or control characters in a name.
    const safe = (s: string) => s.replace(/[^\w.:-]/g, '_');
    this.clientName = `${safe(prefix)}-${safe(hostname())}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  /**
   * Connects both clients, or fails within `timeoutMs` naming the cause: the client retries
   * forever on its own, which at start-up would hang the API without a word. Later drops are
   * logged (never the URL: it may carry a password) while the client reconnects.
   */
  async connect(timeoutMs = 10_000): Promise<void> {
    const pub = createClient({ url: this.url, name: this.clientName });
    const sub = pub.duplicate();
    let lastError: { message?: string } | null = null;
    let connected = false;
    for (const c of [pub, sub]) {
      c.on('error', (err: Error) => {
        lastError = err;
        if (connected) this.log.warn(`Redis connection error: ${err.message}; reconnecting`);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const cause = lastError?.message ? `: ${lastError.message}` : '';
        reject(new Error(`Redis (REDIS_URL) did not answer within ${timeoutMs} ms${cause}`));
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all([pub.connect(), sub.connect()]), timeout]);
    } catch (err) {
      await Promise.all([pub, sub].map((c) => c.destroy?.()));
      throw err;
    } finally {
      clearTimeout(timer);
    }
    connected = true;
    this.log.log(`Redis connected, its clients named ${this.clientName}`);
    // Pub/sub keeps nothing for a subscriber that was away: whatever other nodes said while
    // this one was cut off (re-checks of access among them) is lost, so it is told to catch up.
    sub.on('ready', () => {
      this.log.warn('Redis subscription restored; messages sent meanwhile were lost');
      this.resubscribed?.();
    });
    // The adapter publishes (broadcasts, its answers to other nodes' requests) without handling
    // the reply: a publish refused (the publisher closed under a late answer, or its connection
    // lost with the publish under way) would be an unhandled rejection, which ends the process.
    const publish = pub.publish.bind(pub);
    Object.assign(pub, { publish: (...args: Parameters<typeof publish>) => publish(...args).catch((err: Error) => this.notPublished(err)) });
    pub.on('ready', () => {
      if (this.lost > 1) this.log.warn(`${this.lost} Redis publishes were lost with the connection`);
      this.lost = 0;
    });
    this.clients = [pub, sub];
    this.adapterConstructor = createAdapter(pub, sub, { key: `${this.prefix}:socket.io` });
  }

  /** What to do once the subscription comes back after a drop (the live gateway re-checks its connections). */
  onResubscribed(fn: () => void): void {
    this.resubscribed = fn;
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, options);
    if (this.adapterConstructor) server.adapter(this.adapterConstructor);
    return server;
  }

  override async close(server: Server): Promise<void> {
    // Socket.IO's close: the adapter unsubscribes (without waiting for Redis to answer).
    await super.close(server);
    await this.quit();
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    await this.quit();
  }

  /** Set once the clients close: a publish refused from then on is expected. */
  private closing?: Promise<void>;

  /** Publishes lost since the publisher was last ready: logged once, then counted. */
  private lost = 0;

  private notPublished(err: Error): void {
    if (this.closing) return;
    if (this.lost++ === 0) this.log.warn(`Redis publish failed: ${err.message}; the message is lost`);
  }

  private quit(): Promise<void> {
    this.closing ??= this.closeClients();
    return this.closing;
  }

  /**
   * The subscriber first, then the publisher: other nodes' requests go on arriving until Redis
   * answers the adapter's unsubscribes, and each is answered through the publisher. Closed first,
   * it refused those answers, the unhandled rejections ending a node on SIGTERM.
   */
  private async closeClients(): Promise<void> {
    const [pub, sub] = this.clients;
    if (!pub || !sub) return;
    // Closes once its commands under way (the unsubscribes) are answered: what Redis delivered
    // before them has been handled by then, its answers published.
    await sub.close();
    // Answers given after an await (a fetch of this node's sockets) go out too.
    await new Promise((resolve) => setImmediate(resolve));
    await pub.close();
  }
}
