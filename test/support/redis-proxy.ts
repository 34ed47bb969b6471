import { AddressInfo, connect, createServer, Socket } from 'node:net';

/**
 * A TCP relay to Redis for one node, whose Redis-to-node direction can be held: while held,
 * the node hears nothing from Redis (what other nodes publish, the replies to its own
 * commands), as with a busy Redis or a slow link, while what it sends still goes through.
 */
export interface HeldRedis {
  url: string;
  hold(): void;
  /** Delivers what was held, in order, and what comes next at once. */
  release(): void;
  close(): Promise<void>;
}

export async function holdableRedis(redisUrl: string): Promise<HeldRedis> {
  const target = new URL(redisUrl);
  const links = new Set<{ node: Socket; redis: Socket; held: Buffer[] }>();
  let holding = false;
  const server = createServer((node) => {
    const redis = connect(Number(target.port || 6379), target.hostname);
    const link = { node, redis, held: [] as Buffer[] };
    links.add(link);
    node.pipe(redis);
    redis.on('data', (chunk: Buffer) => (holding ? link.held.push(chunk) : node.write(chunk)));
    const end = () => {
      links.delete(link);
      node.destroy();
      redis.destroy();
    };
    for (const s of [node, redis]) s.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The same URL (credentials, database) but for the address.
  const url = new URL(redisUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    hold: () => void (holding = true),
    release: () => {
      holding = false;
      for (const link of links) link.held.splice(0).forEach((chunk) => link.node.write(chunk));
    },
    close: async () => {
      for (const link of links) {
        link.node.destroy();
        link.redis.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
