import { pruneInBatches } from '../../libs/core/src/database/prune';
import { JobScheduler } from '../../libs/core/src/jobs';
import { makeUser } from '../factories';
import { bootTestApp, TestApp } from '../support/test-app';

/** What would otherwise grow for ever in a long-running community: processed events, ended sessions, old notifications. */
describe('housekeeping', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const run = (job: string) => t.get(JobScheduler).runNow(job);

  it('deletes processed outbox events after a week, never one still waiting', async () => {
    const insert = (processedDaysAgo: number | null, label: string) =>
      t.sql(
        `INSERT INTO outbox (type, aggregate_type, aggregate_id, version, payload, processed_at)
         VALUES ('test.housekeeping', 'test', gen_random_uuid(), 1, jsonb_build_object('label', $1::text),
                 CASE WHEN $2::int IS NULL THEN NULL ELSE now() - make_interval(days => $2::int) END)`,
        [label, processedDaysAgo],
      );
    await insert(30, 'old');
    await insert(8, 'just past');
    await insert(6, 'recent');
    // Waiting (a handler keeps failing), however old: the worker still owes it.
    await insert(null, 'waiting');
    await t.sql(`UPDATE outbox SET created_at = now() - interval '40 days', available_at = now() + interval '1 day' WHERE payload->>'label' = 'waiting'`);
    // In batches (of one here): every batch but the last comes back full.
    expect(await pruneInBatches(t.ds, 'outbox', `SELECT id FROM outbox WHERE type = 'test.housekeeping' AND processed_at < now() - interval '20 days' LIMIT $1`, [], { batch: 1 })).toBe(1);
    expect(await run('prune-outbox')).toBe(true);
    const left = await t.sql(`SELECT payload->>'label' AS label FROM outbox WHERE type = 'test.housekeeping' ORDER BY id`);
    expect(left.map((r) => r.label)).toEqual(['recent', 'waiting']);
  });

  it('forgets which account e-mails were sent after the outbox’s week', async () => {
    await t.sql(`INSERT INTO account_mails_sent (id, sent_at) VALUES (-1, now() - interval '8 days'), (-2, now() - interval '6 days')`);
    expect(await run('prune-account-mails-sent')).toBe(true);
    expect(await t.sql(`SELECT id FROM account_mails_sent WHERE id < 0 ORDER BY id`)).toEqual([{ id: '-2' }]);
  });

  it('deletes sessions ended more than 90 days ago', async () => {
    const user = await makeUser(t);
    const session = (expiresDaysAgo: number, revokedDaysAgo: number | null, agent: string) =>
      t.sql(
        `INSERT INTO sessions (id, user_id, token_hash, expires_at, revoked_at, user_agent)
         VALUES (gen_random_uuid(), $1, decode(md5(random()::text), 'hex'), now() - make_interval(days => $2::int),
                 CASE WHEN $3::int IS NULL THEN NULL ELSE now() - make_interval(days => $3::int) END, $4)`,
        [user.id, expiresDaysAgo, revokedDaysAgo, agent],
      );
    await session(100, null, 'expired long ago');
    await session(-20, 95, 'revoked long ago');
    await session(30, null, 'expired lately');
    await session(-20, 10, 'revoked lately');
    expect(await run('prune-sessions')).toBe(true);
    const left = await t.sql(`SELECT user_agent FROM sessions WHERE user_id = $1 AND user_agent IS NOT NULL ORDER BY user_agent`, [user.id]);
    expect(left.map((r) => r.user_agent)).toEqual(['expired lately', 'revoked lately']);
  });

  it('deletes notifications read more than 90 days ago, and unread ones after a year', async () => {
    const user = await makeUser(t);
    const notify = (daysAgo: number, read: boolean, source: string) =>
      t.sql(
        `INSERT INTO notifications (id, user_id, kind, data, source, created_at, read_at)
         VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2, now() - make_interval(days => $3::int), CASE WHEN $4 THEN now() ELSE NULL END)`,
        [user.id, source, daysAgo, read],
      );
    await notify(400, false, 'unread, over a year');
    await notify(200, false, 'unread, half a year');
    await notify(100, true, 'read, over 90 days');
    await notify(30, true, 'read, a month');
    expect(await run('prune-notifications')).toBe(true);
    const left = await t.sql(`SELECT source FROM notifications WHERE user_id = $1 ORDER BY created_at`, [user.id]);
    expect(left.map((r) => r.source)).toEqual(['unread, half a year', 'read, a month']);
  });
});
