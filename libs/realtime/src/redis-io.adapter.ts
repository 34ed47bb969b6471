import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { Server, ServerOptions } from 'socket.io';
import { settleWithin } from '../../core/src/settle-within';

type Client = ReturnType<typeof createClient>;

/**
 * Socket.IO across several API processes: rooms, broadcasts, fetchSockets and
 * disconnects go through Redis pub/sub, so an event committed on one node reaches
 * clients connected to any node.
 */
export class RedisIoAdapter extends IoAdapter {
  private adapterConstructor?: ReturnType<typeof createAdapter>;
  private clients: Client[] = [];
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
    Object.assign(pub, { publish: (...args: Parameters<typeof publish>) => this.underWay(pub, publish(...args).catch((err: Error) => this.notPublished(err))) });
    pub.on('ready', () => {
      if (this.lost > 1) this.log.warn(`${this.lost} Redis publishes were lost with the connection`);
      this.lost = 0;
    });
    // The adapter unsubscribes as Socket.IO closes, without handling the reply either: refused
    // once closing stops waiting for it (`closeWithin`), it would end the process too.
    for (const name of ['unsubscribe', 'pUnsubscribe'] as const) {
      const unsubscribe = (sub[name] as (...args: unknown[]) => Promise<unknown>).bind(sub);
      Object.assign(sub, {
        [name]: (...args: unknown[]) => this.underWay(sub, unsubscribe(...args).catch((err: Error) => this.log.debug(`Redis unsubscribe not answered: ${err.message}`))),
      });
    }
    // The adapter subscribes as Socket.IO's server is made, without handling the replies either:
    // refused (an ACL without its channels), that was an unhandled rejection, ending the process
    // with no word of Redis. Kept for `subscribed`, which start-up waits for.
    for (const name of ['subscribe', 'pSubscribe'] as const) {
      const subscribe = (sub[name] as (...args: unknown[]) => Promise<unknown>).bind(sub);
      Object.assign(sub, {
        [name]: (...args: unknown[]) => {
          const answer = subscribe(...args);
          // Handled here; before start-up is over, reported by `subscribed` instead.
          answer.catch((err: Error) => this.serving && this.log.error(`Redis refused the live adapter a subscription: ${err.message}`));
          if (!this.serving) this.subscriptions.push(answer);
          return answer;
        },
      });
    }
    this.clients = [pub, sub];
    this.adapterConstructor = createAdapter(pub, sub, { key: `${this.prefix}:socket.io` });
  }

  /** The adapter's subscriptions not yet looked at by `subscribed`. */
  private subscriptions: Array<Promise<unknown>> = [];
  /** Set once `subscribed` has succeeded: a subscription refused from then on is logged. */
  private serving = false;

  /**
   * Resolves once Redis has accepted the subscriptions the adapter asked for as Socket.IO's
   * server was made (`app.init`), or fails within `timeoutMs` naming the cause (never the URL):
   * a node that cannot hear the others (their broadcasts, their re-check requests) must not
   * serve, and a refusal (an ACL, say) does not go away by retrying. Start-up waits for it.
   */
  async subscribed(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis (REDIS_URL) did not answer the live adapter's subscriptions within ${timeoutMs} ms`)), timeoutMs);
    });
    const answered = Promise.all(this.subscriptions.splice(0)).catch((err: Error) => {
      throw new Error(`Redis (REDIS_URL) refused the live adapter's subscriptions: ${err.message}`);
    });
    try {
      await Promise.race([answered, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.serving = true;
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

  /** Each client's commands whose answers closing waits for: the adapter's publishes and unsubscribes. */
  private readonly pending = new Map<Client, Set<Promise<unknown>>>();

  /** Counts `command` (which never rejects) among the client's commands under way until it is answered. */
  private underWay<T>(client: Client, command: Promise<T>): Promise<T> {
    let pending = this.pending.get(client);
    if (!pending) this.pending.set(client, (pending = new Set()));
    const under = pending;
    under.add(command);
    void command.finally(() => under.delete(command));
    return command;
  }

  /**
   * How long closing waits for Redis to answer a client's commands under way (the adapter's
   * unsubscribes, its publishes) before it drops the connection anyway. node-redis's own close
   * waits for every answer with no limit: with Redis no longer answering (a network cut that
   * drops packets, a server stuck, or the connection lost with the unsubscribes queued for its
   * return) the node's shutdown waited until the process's deadline ended it, the database's
   * cleanup never run. One wait for both clients, not one each: after the gateway's hand-off
   * (six seconds at most, for the other nodes' answers, which a silent Redis never brings) two
   * waits of two seconds took the shutdown to the process's ten (CLEANUP_DEADLINE_MS), which
   * then exited before the database's cleanup; one leaves it two.
   */
  closeWaitMs = 2_000;

  /**
   * The subscriber first, then the publisher: other nodes' requests go on arriving until Redis
   * answers the adapter's unsubscribes, and each is answered through the publisher. Closed first,
   * it refused those answers, the unhandled rejections ending a node on SIGTERM.
   */
  private async closeClients(): Promise<void> {
    const [pub, sub] = this.clients;
    if (!pub || !sub) return;
    const until = Date.now() + this.closeWaitMs;
    // Closes once the unsubscribes are answered: what Redis delivered before them has been
    // handled by then, its answers published.
    await this.closeWithin(sub, 'subscriber', until);
    // Answers given after an await (a fetch of this node's sockets) go out too.
    await new Promise((resolve) => setImmediate(resolve));
    await this.closeWithin(pub, 'publisher', until);
  }

  /**
   * Closes the client once its commands under way are answered, or at `until` (the clients'
   * close began `closeWaitMs` before) without their answers, which it refuses (their callers
   * handle that: `underWay`'s never reject, the adapter's own node counts fail as with a lost
   * connection).
   */
  private async closeWithin(client: Client, which: string, until: number): Promise<void> {
    const pending = this.pending.get(client);
    // Those sent meanwhile (answers to requests handled as the subscriber closed) are waited for too.
    if (pending) await settleWithin(pending, until);
    if (pending?.size) this.log.warn(`Redis did not answer the ${which}'s last commands within the clients' ${this.closeWaitMs} ms; closing without them`);
    if (client.isOpen) client.destroy();
  }
}
