import { DataSource, QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../test/setup/test-database';
import { RateLimiter, RateRule } from './rate-limit';

/**
 * `throttleWait` is `throttle`'s answer without the count: for any state of the keys' tokens,
 * the look and the count must say the same (0 when the event may run, else the same wait).
 * Each case runs in one transaction, rolled back, so now() is the same for both.
 */
describe('RateLimiter.throttleWait', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let limiter: RateLimiter;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await new DataSource({ type: 'postgres', url: db.url }).initialize();
    limiter = new RateLimiter(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  // One event every 20 s; every 600/7 s (not a whole number of microseconds); every half second.
  const rules: RateRule[] = [
    { bucket: 'test:a', limit: 30, windowSeconds: 600 },
    { bucket: 'test:b', limit: 7, windowSeconds: 600 },
    { bucket: 'test:c', limit: 120, windowSeconds: 60 },
  ];

  /** A key's token `ahead` seconds past now (null: no token), as stored with `burst` (a rule's window; another rule's when the rule changed since). */
  type Token = { ahead: number; burst: number } | null;

  async function answers(tokens: Array<[RateRule, Token]>): Promise<{ look: number; count: number }> {
    const q: QueryRunner = ds.createQueryRunner();
    await q.connect();
    await q.startTransaction();
    try {
      for (const [rule, token] of tokens) {
        if (token) {
          await q.query(`INSERT INTO rate_tokens (bucket, key, tat, burst_seconds) VALUES ($1, 'k', now() + make_interval(secs => $2), $3)`, [rule.bucket, token.ahead, token.burst]);
        }
      }
      const checks = tokens.map(([rule]): [RateRule, string] => [rule, 'k']);
      const look = await limiter.throttleWait(checks, q.manager);
      const count = await limiter.throttle(checks, q.manager);
      return { look, count };
    } finally {
      await q.rollbackTransaction();
      await q.release();
    }
  }

  /** Token states around the edge of each rule's burst: none, behind now, within it, at it (to the microsecond), past it. */
  function states(rule: RateRule): Token[] {
    const every = rule.windowSeconds / rule.limit;
    const edge = rule.windowSeconds - every;
    const aheads = [-5, 0, 1, edge - 0.5, edge - 0.000001, edge, edge + 0.000001, edge + 0.4, edge + 1, rule.windowSeconds, 3600];
    const bursts = [rule.windowSeconds, rule.windowSeconds === 60 ? 600 : 60];
    return [null, ...aheads.flatMap((ahead) => bursts.map((burst) => ({ ahead, burst })))];
  }

  it('answers what throttle answers, for one rule and for several at once', async () => {
    const diverged: unknown[] = [];
    let refused = 0;
    let passed = 0;
    const compare = async (tokens: Array<[RateRule, Token]>) => {
      const { look, count } = await answers(tokens);
      if (look !== count) diverged.push({ tokens: tokens.map(([r, t]) => [r.bucket, t]), look, count });
      if (count > 0) refused++;
      else passed++;
    };
    for (const rule of rules) for (const token of states(rule)) await compare([[rule, token]]);
    const [a, , c] = rules;
    for (const ta of states(a).filter((_, i) => i % 3 === 0)) for (const tc of states(c).filter((_, i) => i % 4 === 0)) await compare([[a, ta], [c, tc]]);
    expect(diverged).toEqual([]);
    // Both sides of the edge were met.
    expect(refused).toBeGreaterThan(10);
    expect(passed).toBeGreaterThan(10);
  });

  it('admits as throttle counts, in one statement when one rule refuses, giving back what passing rules took', async () => {
    let statements = 0;
    const counted = { query: (sql: string, params?: unknown[]) => (statements++, ds.query(sql, params)) };
    const once: RateRule = { bucket: 'test:admit-once', limit: 1, windowSeconds: 60 };
    const roomy: RateRule = { bucket: 'test:admit-roomy', limit: 100, windowSeconds: 60 };
    const tat = async () => (await ds.query(`SELECT tat FROM rate_tokens WHERE bucket = $1 AND key = 'k'`, [roomy.bucket]))[0].tat as Date;
    expect(await limiter.admits([[once, 'k']], counted)).toBe(true);
    statements = 0;
    expect(await limiter.admits([[once, 'k']], counted)).toBe(false);
    expect(statements).toBe(1);
    expect(await limiter.throttle([[once, 'k']])).toBeGreaterThan(0);
    // Refused by one rule, the other's count is taken back: its token is where it was.
    expect(await limiter.admits([[roomy, 'k']])).toBe(true);
    const before = await tat();
    expect(await limiter.admits([[roomy, 'k'], [once, 'k']])).toBe(false);
    expect(await tat()).toEqual(before);
  });
});
