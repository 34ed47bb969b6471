import { createClient } from 'redis';
import type { Server } from 'socket.io';

type RedisClient = ReturnType<typeof createClient>;
type ClientType = 'NORMAL' | 'PUBSUB';

/** The name a node's Redis connections carry (`RedisIoAdapter.clientName`), read from its Socket.IO server's adapter. */
export function redisClientName(server: Server): string {
  const adapter = server.of('/').adapter as unknown as { pubClient?: RedisClient };
  const name = adapter.pubClient?.options?.name;
  if (!name) throw new Error('this node has no named Redis client (no REDIS_URL?)');
  return name;
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
