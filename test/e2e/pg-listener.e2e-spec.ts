import { PgListener } from '../../libs/core/src/database/pg-listener';
import { bootTestApp, TestApp } from '../support/test-app';

describe('PgListener', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const until = async (check: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return check();
  };

  it('listens again after its connection is killed, and says so', async () => {
    const got: string[] = [];
    let reconnects = 0;
    const listener = new PgListener(t.db.url, 'parvis_test_listener', (p) => got.push(p ?? ''), { name: 'test', onReconnect: () => reconnects++ });
    try {
      expect(await listener.start()).toBe(true);
      await t.sql(`SELECT pg_notify('parvis_test_listener', 'one')`);
      expect(await until(() => got.includes('one'))).toBe(true);
      const before = listener.pid;
      await t.sql(`SELECT pg_terminate_backend($1)`, [before]);
      expect(await until(() => reconnects === 1 && listener.pid !== undefined && listener.pid !== before)).toBe(true);
      await t.sql(`SELECT pg_notify('parvis_test_listener', 'two')`);
      expect(await until(() => got.includes('two'))).toBe(true);
    } finally {
      await listener.stop();
    }
  });
});
