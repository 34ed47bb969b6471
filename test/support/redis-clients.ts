import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { Server } from 'socket.io';

type RedisClient = ReturnType<typeof createClient>;
type ClientType = 'NORMAL' | 'PUBSUB';

/**
 * A Redis key prefix (REDIS_KEY_PREFIX) of a suite's own: the Redis is shared, so its nodes hear
 * only one another, and a test's cleanup touches nothing else's.
 */
export const testRedisPrefix = (): string => `parvis-test-${randomBytes(4).toString('hex')}`;

/**
 * A node's publisher, read from its Socket.IO server's adapter, and the name both its Redis
 * connections carry (`RedisIoAdapter.clientName`).
 */
export function nodeRedis(server: Server): { name: string; publisher: RedisClient } {
  const publisher = (server.of('/').adapter as unknown as { pubClient?: RedisClient }).pubClient;
  const name = publisher?.options?.name;
  if (!publisher || !name) throw new Error('this node has no named Redis client (no REDIS_URL?)');
  return { name, publisher };
}

/** Runs `fn` on a Redis client of its own (an operator's `redis-cli`, say), closed after. */
async function asAdmin<T>(url: string, fn: (admin: RedisClient) => Promise<T>): Promise<T> {
  const admin = createClient({ url });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

async function idsOf(admin: RedisClient, name: string, type: ClientType): Promise<number[]> {
  return (await admin.clientList({ TYPE: type })).filter((c) => c.name === name).map((c) => c.id);
}

/** The ids of the Redis server's connections of one type (`PUBSUB`: subscribers) named `name` (CLIENT SETNAME). */
export function redisClientIds(url: string, name: string, type: ClientType): Promise<number[]> {
  return asAdmin(url, (admin) => idsOf(admin, name, type));
}

/**
 * Has the Redis server drop the connections of one type named `name`, as a network cut would,
 * and only those: never every subscriber of a server that other test runs (and other
 * developers') share. Returns their ids.
 */
export function killRedisClients(url: string, name: string, type: ClientType): Promise<number[]> {
  return asAdmin(url, async (admin) => {
    const ids = await idsOf(admin, name, type);
    for (const id of ids) await admin.clientKill({ filter: 'ID', id });
    return ids;
  });
}

/**
 * Another node of the cluster `prefix` asking the others for their rooms, again and again until
 * stopped: each node answers each request at once, through its publisher. Resolves once one
 * answered.
 */
export async function askRoomsOverAndOver(url: string, prefix: string): Promise<{ stop: () => Promise<void> }> {
  const asker = createClient({ url });
  const answers = asker.duplicate();
  for (const c of [asker, answers]) {
    c.on('error', () => undefined);
    await c.connect();
  }
  let answered!: () => void;
  const first = new Promise<void>((resolve) => (answered = resolve));
  await answers.subscribe(`${prefix}:socket.io-response#/#`, () => answered());
  const request = JSON.stringify({ uid: 'asker', requestId: 'rooms', type: 1 /* ALL_ROOMS */ });
  let asking = true;
  const asked = (async () => {
    while (asking) await Promise.all(Array.from({ length: 20 }, () => asker.publish(`${prefix}:socket.io-request#/#`, request)));
  })();
  const stop = async () => {
    asking = false;
    await asked;
    await Promise.all([asker.close(), answers.close()]);
  };
  try {
    await first;
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/**
 * A Redis user of its own, allowed every command and key but no pub/sub channel (as an ACL that
 * forgot the adapter's channels would have it), and the URL to sign in as them with a password
 * nothing may log (`secret`). `drop` deletes the user.
 */
export async function redisUserWithoutChannels(url: string): Promise<{ url: string; secret: string; drop: () => Promise<void> }> {
  const user = `parvis-test-nosub-${randomBytes(4).toString('hex')}`;
  const secret = `not-to-be-logged-${randomBytes(4).toString('hex')}`;
  await asAdmin(url, (admin) => admin.sendCommand(['ACL', 'SETUSER', user, 'on', `>${secret}`, '~*', 'resetchannels', '+@all']));
  const signedIn = new URL(url);
  signedIn.username = user;
  signedIn.password = secret;
  return { url: signedIn.toString(), secret, drop: () => asAdmin(url, (admin) => admin.sendCommand(['ACL', 'DELUSER', user])).then(() => undefined) };
}
