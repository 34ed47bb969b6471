import { io, Socket } from 'socket.io-client';
import type { RateRule } from '../../libs/core/src/rate-limit';
import { TYPING_PACE } from '../../libs/realtime/src/live.gateway';

/**
 * A real Socket.IO client on the test API (`url`), signed in with `token` or anonymous, kept
 * in `sockets` for the suite to disconnect; resolves once connected, rejects on a refusal.
 */
export function connectLive(url: string, sockets: Socket[], token?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: token ? { token } : {}, reconnection: false, forceNew: true });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
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
  };
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

/** Holds open the typing window the member's last ping opened (`holdPace` of `TYPING_PACE`). */
export function holdTypingWindow(sql: (text: string, params: unknown[]) => Promise<unknown[]>, userId: string): Promise<void> {
  return holdPace(sql, TYPING_PACE, userId);
}
