import { INestApplicationContext } from '@nestjs/common';
import { RedisIoAdapter } from './redis-io.adapter';

describe('RedisIoAdapter', () => {
  it('fails start-up with the cause when Redis does not answer, instead of hanging', async () => {
    // Nothing listens on port 1: the client would retry forever.
    const adapter = new RedisIoAdapter({} as INestApplicationContext, 'redis://127.0.0.1:1', 'test');
    await expect(adapter.connect(300)).rejects.toThrow(/Redis \(REDIS_URL\) did not answer within 300 ms: .*ECONNREFUSED/);
  });
});
