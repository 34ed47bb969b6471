import { io, Socket } from 'socket.io-client';
import type { RateRule } from '../../libs/core/src/rate-limit';
import { ChannelListener, PgListener } from '../../libs/core/src/database/pg-listener';
import { newId } from '../../libs/core/src/ids';
import { LiveGateway, TYPING_PACE } from '../../libs/realtime/src/live.gateway';
import type { TestApp } from './test-app';

/**
 * A real Socket.IO client on the test API (`url`), signed in with `token` or anonymous, kept
 * in `sockets` for the suite to disconnect; resolves once connected, rejects on a refusal or a close before that.
 */
export function connectLive(url: string, sockets: Socket[], token?: string): Promise<Socket> {
  return openLive(url, sockets, token).connected;
}

/**
 * A client opening (`connectLive`), and the promise of its connection: rejected on a refusal, on the transport's failure
 * to open within `timeout` (the Manager's bound, which covers the transport alone), and on a close before the namespace
 * CONNECT was answered (which the client tells as a `disconnect` alone, no `connect_error`: waited on forever otherwise).
 */
function openLive(url: string, sockets: Socket[], token?: string, timeout = 20_000): { socket: Socket; connected: Promise<Socket> } {
  const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: token ? { token } : {}, reconnection: false, forceNew: true, timeout });
  sockets.push(s);
  const connected = new Promise<Socket>((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
    s.once('disconnect', (reason) => reject(new Error(`closed before it connected (${reason})`)));
  });
  return { socket: s, connected };
}

/**
 * `connectLive` within `ms`, its transport's open included (on a busy machine a worker still starting may take longer than
 * the Manager's 20 s to answer the upgrade it holds): a failure says whether it came before or after the transport opened
 * (after: the namespace CONNECT went unanswered, or refused), followed by `recent()` (the API's latest output, say), so that
 * a test waiting on it fails naming the step rather than at the test's own timeout.
 */
export function connectLiveWithin(url: string, sockets: Socket[], token: string | undefined, ms: number, recent: () => string): Promise<Socket> {
  const { socket, connected } = openLive(url, sockets, token, ms);
  let opened = false;
  socket.io.once('open', () => (opened = true));
  let timer!: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      socket.disconnect();
      reject(new Error(`nothing answered within ${ms} ms`));
    }, ms);
  });
  return Promise.race([connected, late])
    .catch((err: Error) => {
      const when = opened ? `after its transport opened (Engine.IO session ${socket.io.engine?.id}): its namespace CONNECT` : 'before its transport opened';
      throw new Error(`a live connection failed ${when}: ${err.message}; lately:\n${recent()}`);
    })
    .finally(() => clearTimeout(timer));
}

/** The next `event` the client receives; rejects when none comes within `ms`. */
export function nextLiveEvent<T = any>(s: Socket, event: string, ms = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), ms);
    s.once(event, (d: T) => {
      clearTimeout(timer);
      resolve(d);
    });
  });
}

/** What `heardLive` keeps of one event's name. */
export interface HeardLive<T> {
  /** The first `event` heard since `heardLive` (or heard later) that `where` picks; rejects when none comes within `ms`. */
  first(where: (d: T) => boolean, ms?: number): Promise<T>;
  /** Every `event` heard since `heardLive`, in order. */
  soFar(): T[];
}

/**
 * Every `event` the client hears from now on, kept, so a test picks the one about what it did
 * (`first(where)`), by ids it may learn only from the mutation's answer, after the push may have
 * come: the first of a name may be an earlier write's, its push still on its way (a post's own
 * creation heard after a later move of it).
 */
export function heardLive<T = any>(s: Socket, event: string): HeardLive<T> {
  const heard: T[] = [];
  const looking = new Set<() => void>();
  s.on(event, (d: T) => {
    heard.push(d);
    for (const look of [...looking]) look();
  });
  return {
    first: (where, ms = 5000) =>
      new Promise<T>((resolve, reject) => {
        const stop = () => {
          clearTimeout(timer);
          looking.delete(look);
        };
        const look = () => {
          const found = heard.find(where);
          if (found === undefined) return;
          stop();
          resolve(found);
        };
        const timer = setTimeout(() => {
          stop();
          reject(new Error(`no such ${event} among ${heard.length} heard: ${JSON.stringify(heard)}`));
        }, ms);
        looking.add(look);
        look();
      }),
    soFar: () => [...heard],
  };
}

/**
 * `heardLive`, begun once everything node `t` pushed before the call has reached `s` (`pushedSoFar`): for a step whose push
 * names nothing an earlier one did not, a room's `presence` after a second tab's or an anonymous join (the same list as
 * before, or a count alone), so that an earlier step's push still on its way is not taken for it.
 */
export async function heardAfter<T = any>(t: TestApp, s: Socket, event: string): Promise<HeardLive<T>> {
  await pushedSoFar(t, [s]);
  return heardLive<T>(s, event);
}

/**
 * Resolves once the server has closed `s` ('io server disconnect'), as a revocation or a refusal does; not on a close for
 * another cause (a ping timeout on a loaded machine, the transport's failure, the client's own), which the first
 * `disconnect` may be. Rejects when the server has not closed it within `ms`, naming how it did close.
 */
export async function closedByServer(s: Socket, ms = 5000): Promise<void> {
  await heardLive<string>(s, 'disconnect').first((reason) => reason === SERVER_CLOSED, ms);
}

/** The reason a socket.io client gives for a close the server made (`socket.disconnect(true)`, `disconnectSockets`). */
const SERVER_CLOSED = 'io server disconnect';

/**
 * Listens from now on for `s`'s revocation: resolves, once the server has closed the connection (`closedByServer`), with
 * every `session:revoked` it heard, which the server sends before it closes. A test expects its step's reason alone: neither
 * another reason heard first nor a close for another cause passes for it.
 */
export async function revocation(s: Socket, ms = 5000): Promise<Array<{ reason: string }>> {
  const told = heardLive<{ reason: string }>(s, 'session:revoked');
  await closedByServer(s, ms);
  return told.soFar();
}

/**
 * Resolves once `heard` (an `access:lost` or `access:restored`) has heard one about `room`, and checks that it says that alone:
 * not the first of the name, which may be about another room (an earlier write's, or another of the connection's rooms).
 */
export async function heardRoom(heard: HeardLive<{ room: string }>, room: string): Promise<void> {
  expect(await heard.first((e) => e.room === room)).toEqual({ room });
}

/**
 * Holds open the window a pace's (`RateRule`) last let-through opened for `key`, as if it had
 * just been spent: its row of `rate_tokens`, which every API node reads, is whole again only in
 * an hour. A test's next try then falls in the window however slowly the machine got there.
 * Throws when nothing was counted under that bucket and key.
 */
export async function holdPace(sql: (text: string, params: unknown[]) => Promise<unknown[]>, rule: RateRule, key: string): Promise<void> {
  const held = await sql(
    `WITH held AS (UPDATE rate_tokens SET tat = now() + interval '1 hour' WHERE bucket = $1 AND key = $2 RETURNING key) SELECT key FROM held`,
    [rule.bucket, key],
  );
  // Counted where every node looks.
  if (held.length !== 1) throw new Error(`nothing of ${key} was counted in ${rule.bucket}`);
}

/**
 * Runs `fn` with node `t`'s pace clock stopped (`TestApp.livePaces`, the LIVE_PACE_SETTINGS it gives its gateway): every room op
 * it sends through that node falls in one of the node's own windows, however slowly a loaded machine sends them (by real time,
 * 125 ops that took over 10 s opened a second window and were let through).
 */
export async function pacesStopped(t: TestApp, fn: () => Promise<void>): Promise<void> {
  const { now } = t.livePaces;
  const at = now();
  t.livePaces.now = () => at;
  try {
    await fn();
  } finally {
    t.livePaces.now = now;
  }
}

/** Holds open the typing window the member's last ping opened (`holdPace` of `TYPING_PACE`). */
export function holdTypingWindow(sql: (text: string, params: unknown[]) => Promise<unknown[]>, userId: string): Promise<void> {
  return holdPace(sql, TYPING_PACE, userId);
}

/** The channel `pushedSoFar` sends its NOTIFY on: heard by the test alone. */
const BARRIER_CHANNEL = 'parvis_test_barrier';

/**
 * Resolves once everything the node `t` pushes for what happened before the call has reached `sockets`, so that a test can
 * assert what did not arrive without waiting a fixed time (which proves less the slower the machine). Three steps, each in
 * order behind what came before it: a NOTIFY of the test's own on the node's listening connection (PostgreSQL delivers a
 * session's notifications in commit order, so when it is heard, every earlier one, a notification's or a read's, has been
 * handed to the gateway, which tracks its push); the gateway's fan-outs under way finished (`LiveGateway.settled`: those
 * notifications' and committed events'); then a round trip on each socket (its answer is written after whatever was
 * emitted to the socket before, and the client reads in order). Only what was committed or published before the call: a
 * notification the outbox worker has yet to write (of a reply just made) is not waited for; a test drains the outbox first.
 */
export async function pushedSoFar(t: TestApp, sockets: Socket[]): Promise<void> {
  const listener = t.get(PgListener);
  const token = newId();
  let heard!: () => void;
  const barrier = new Promise<void>((resolve) => (heard = resolve));
  const owner: ChannelListener = { message: (payload) => payload === token && heard() };
  if (!(await listener.listen(BARRIER_CHANNEL, owner))) throw new Error('the node is not listening');
  try {
    await t.sql(`SELECT pg_notify($1, $2)`, [BARRIER_CHANNEL, token]);
    await barrier;
  } finally {
    await listener.unlisten(BARRIER_CHANNEL, owner);
  }
  await t.get(LiveGateway).settled();
  // A leave naming no topic: answered (BAD_USER_INPUT) before anything is spent or changed.
  for (const s of sockets) await s.timeout(5000).emitWithAck('topic:leave', {});
}
