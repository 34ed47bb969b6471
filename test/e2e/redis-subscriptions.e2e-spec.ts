import { NestApplication } from '@nestjs/core';
import { Client } from 'pg';
import { redisUserWithoutChannels, testRedisPrefix } from '../support/redis-clients';
import { bootTestAppOn } from '../support/test-app';
import { recordUnhandledRejections } from '../support/unhandled-rejections';
import { TestDatabase } from '../setup/test-database';

/** Runs when REDIS_URL is set, like the two-node suites. */
const maybe = process.env.REDIS_URL ? describe : describe.skip;

maybe('an API node whose Redis refuses the live adapter its subscriptions', () => {
  it('fails to start, naming the cause but not the password, with its modules closed and no unhandled rejection', async () => {
    const user = await redisUserWithoutChannels(process.env.REDIS_URL!);
    const rejections = recordUnhandledRejections();
    let db: TestDatabase | undefined;
    try {
      const failure = await bootTestAppOn(async (created) => void (db = created), { REDIS_URL: user.url, REDIS_KEY_PREFIX: testRedisPrefix() }).then(
        () => null,
        (err: Error) => err,
      );
      expect(failure?.message).toMatch(/^Redis \(REDIS_URL\) refused the live adapter's subscriptions: NOPERM/);
      expect(failure?.message).not.toContain(user.secret);
      // Its pool and its LISTEN connection are closed: nothing of it is left on its database.
      const c = new Client({ connectionString: db!.url });
      await c.connect();
      try {
        const [{ n }] = (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).rows;
        expect(n).toBe(0);
      } finally {
        await c.end();
      }
    } finally {
      await rejections.stop();
      await user.drop();
      await db?.drop();
    }
    expect(rejections.reasons).toEqual([]);
  });

  it('names Redis’s refusal, not a failure to close behind it', async () => {
    const user = await redisUserWithoutChannels(process.env.REDIS_URL!);
    const close = NestApplication.prototype.close;
    const closing = jest.spyOn(NestApplication.prototype, 'close').mockImplementation(async function (this: NestApplication) {
      await close.call(this);
      throw new Error('the close failed too');
    });
    let db: TestDatabase | undefined;
    try {
      const failure = await bootTestAppOn(async (created) => void (db = created), { REDIS_URL: user.url, REDIS_KEY_PREFIX: testRedisPrefix() }).then(
        () => null,
        (err: Error) => err,
      );
      expect(closing).toHaveBeenCalledTimes(1);
      expect(failure?.message).toMatch(/^Redis \(REDIS_URL\) refused the live adapter's subscriptions: NOPERM/);
    } finally {
      closing.mockRestore();
      await user.drop();
      await db?.drop();
    }
  });
});
