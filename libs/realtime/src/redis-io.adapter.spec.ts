import { INestApplicationContext } from '@nestjs/common';
import { createServer } from 'node:http';
import type { Server } from 'socket.io';
import { redisUserWithoutChannels, testRedisPrefix } from '../../../test/support/redis-clients';
import { recordUnhandledRejections } from '../../../test/support/unhandled-rejections';
import { RedisIoAdapter } from './redis-io.adapter';

/** Runs with a real Redis when REDIS_URL is set, like the two-node suites. */
const withRedis = process.env.REDIS_URL ? it : it.skip;

describe('RedisIoAdapter', () => {
  it('fails start-up with the cause when Redis does not answer, instead of hanging', async () => {
    // Nothing listens on port 1: the client would retry forever.
    const adapter = new RedisIoAdapter({} as INestApplicationContext, 'redis://127.0.0.1:1', 'test');
    await expect(adapter.connect(300)).rejects.toThrow(/Redis \(REDIS_URL\) did not answer within 300 ms: .*ECONNREFUSED/);
  });

  withRedis('fails start-up with the cause, never the password, when Redis refuses the adapter its subscriptions, and leaves no unhandled rejection', async () => {
    const user = await redisUserWithoutChannels(process.env.REDIS_URL!);
    const rejections = recordUnhandledRejections();
    const adapter = new RedisIoAdapter(createServer() as unknown as INestApplicationContext, user.url, testRedisPrefix());
    let server: Server | undefined;
    try {
      await adapter.connect();
      // The adapter subscribes as the server is made (app.init).
      server = adapter.createIOServer(0);
      const failure = await adapter.subscribed().then(
        () => null,
        (err: Error) => err,
      );
      expect(failure?.message).toMatch(/^Redis \(REDIS_URL\) refused the live adapter's subscriptions: NOPERM/);
      expect(failure?.message).not.toContain(user.secret);
    } finally {
      if (server) await adapter.close(server);
      await rejections.stop();
      await user.drop();
    }
    expect(rejections.reasons).toEqual([]);
  });
});
