import { TrustLevelService } from '../../libs/moderation/src/trust/trust-levels';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

describe('trust levels', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('promotes from activity, demotes on upheld reports, and records both', async () => {
    const user = await makeUser(t, { trustLevel: 0 });
    const other = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const board = await makeBoard(t, space.id);
    // 15 visit days, 20 topics entered with 100 posts read, 3 replies, reactions both ways.
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT $1, current_date - d FROM generate_series(0, 14) d ON CONFLICT DO NOTHING`, [user.id]);
    const topics = [];
    for (let i = 0; i < 20; i++) topics.push(await createTopic(t, other.token, board));
    for (const tp of topics) await t.sql(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) VALUES ($1, $2, 5)`, [user.id, tp.id]);
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push(await reply(t, user.token, topics[i].id, `reply ${i}`));
    await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topics[0].firstPostId, kind: 'LIKE' } }, { token: user.token });
    await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: mine[0].id, kind: 'THANKS' } }, { token: other.token });

    const service = t.get(TrustLevelService);
    // Two runs at once (two workers): the promotion happens and is recorded once.
    const runs = await Promise.all([service.recompute([user.id]), service.recompute([user.id])]);
    expect(runs.flat()).toEqual([{ userId: user.id, from: 0, to: 2 }]);
    expect(await t.sql(`SELECT from_level, to_level FROM trust_level_changes WHERE user_id = $1`, [user.id])).toEqual([{ from_level: 0, to_level: 2 }]);
    expect(await service.recompute([user.id])).toEqual([]);

    // Three upheld reports, against a reply of theirs, a topic of theirs and them, bring them down to TL1.
    const ownTopic = await createTopic(t, user.token, board);
    for (const [type, id] of [['POST', mine[0].id], ['TOPIC', ownTopic.id], ['USER', user.id]]) {
      const item = (await t.sql(`INSERT INTO review_items (id, space_id, target_type, target_id, status) VALUES (gen_random_uuid(), $1, $2, $3, 'APPROVED') RETURNING id`, [space.id, type, id]))[0];
      await t.sql(`INSERT INTO reports (id, review_item_id, reporter_id, target_type, target_id, reason, weight, weight_breakdown, status) VALUES (gen_random_uuid(), $1, $2, $3, $4, 'ABUSE', 2, '{}', 'UPHELD')`, [item.id, other.id, type, id]);
    }
    // Reports not upheld, or against someone else's post, do not count.
    const notUpheld = (await t.sql(`INSERT INTO review_items (id, space_id, target_type, target_id, status) VALUES (gen_random_uuid(), $1, 'POST', $2, 'REJECTED') RETURNING id`, [space.id, mine[1].id]))[0];
    await t.sql(`INSERT INTO reports (id, review_item_id, reporter_id, target_type, target_id, reason, weight, weight_breakdown, status) VALUES (gen_random_uuid(), $1, $2, 'POST', $3, 'ABUSE', 2, '{}', 'REJECTED')`, [notUpheld.id, other.id, mine[1].id]);
    expect(await service.recompute([user.id])).toEqual([{ userId: user.id, from: 2, to: 1 }]);
    const history = await t.sql(`SELECT from_level, to_level, actor_id FROM trust_level_changes WHERE user_id = $1 ORDER BY id`, [user.id]);
    expect(history).toEqual([
      { from_level: 0, to_level: 2, actor_id: null },
      { from_level: 2, to_level: 1, actor_id: null },
    ]);
    expect((await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE target_id = $1 AND action = 'trust_level.change'`, [user.id]))[0].n).toBe(2);
  });

  it('lets global moderators set a level by hand (TL4 only so), which automatic runs keep', async () => {
    const user = await makeUser(t, { trustLevel: 1 });
    const member = await makeUser(t);
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    const q = `mutation($input: SetTrustLevelInput!) { setTrustLevel(input: $input) { id trustLevel } }`;
    expectError(await t.gql(q, { input: { userId: user.id, level: 4, reason: 'community leader' } }, { token: member.token }), 'FORBIDDEN');
    expectError(await t.gql(q, { input: { userId: user.id, level: 5, reason: 'too high' } }, { token: globalMod.token }), 'BAD_USER_INPUT');
    expect(expectOk(await t.gql(q, { input: { userId: user.id, level: 4, reason: 'community leader' } }, { token: globalMod.token })).setTrustLevel.trustLevel).toBe(4);
    expect(await t.get(TrustLevelService).recompute([user.id])).toEqual([]);
    // Not one's own level, nor that of someone of one's role or above; an admin sets a moderator's.
    const otherMod = await makeUser(t, { role: 'MODERATOR' });
    const admin = await makeUser(t, { role: 'ADMIN' });
    expectError(await t.gql(q, { input: { userId: globalMod.id, level: 4, reason: 'promoting myself' } }, { token: globalMod.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(q, { input: { userId: otherMod.id, level: 0, reason: 'a peer' } }, { token: globalMod.token }), 'FORBIDDEN');
    expectError(await t.gql(q, { input: { userId: admin.id, level: 0, reason: 'above me' } }, { token: globalMod.token }), 'FORBIDDEN');
    expect(await t.sql(`SELECT trust_level FROM users WHERE id = ANY($1::uuid[]) AND trust_level <> 1 ORDER BY id`, [[globalMod.id, otherMod.id, admin.id]])).toEqual([]);
    expect(expectOk(await t.gql(q, { input: { userId: otherMod.id, level: 3, reason: 'regular' } }, { token: admin.token })).setTrustLevel.trustLevel).toBe(3);
  });

  it('counts the reason’s 3-character minimum in code points, as PostgreSQL’s char_length does', async () => {
    const user = await makeUser(t, { trustLevel: 1 });
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    const q = `mutation($input: SetTrustLevelInput!) { setTrustLevel(input: $input) { trustLevel } }`;
    // Two hearts with their variation selectors: 4 code points (class-validator's Length counted 2).
    const hearts = '\u2764\uFE0F\u2764\uFE0F';
    expect((await t.sql(`SELECT char_length($1::text) AS n`, [hearts]))[0].n).toBe(4);
    expect(expectOk(await t.gql(q, { input: { userId: user.id, level: 2, reason: hearts } }, { token: globalMod.token })).setTrustLevel.trustLevel).toBe(2);
    // Two code points stay too short, and nothing is written.
    expectError(await t.gql(q, { input: { userId: user.id, level: 3, reason: '\u{1F44D}\u{1F44D}' } }, { token: globalMod.token }), 'BAD_USER_INPUT');
    expect((await t.sql(`SELECT trust_level FROM users WHERE id = $1`, [user.id]))[0].trust_level).toBe(2);
  });
  it('leaves accounts that cannot sign in alone: a deleted account and a placeholder keep their level, by a run, one racing the deletion, or a moderator', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    // TL3 must keep being earned: none of these has any activity, so a run would take them down to TL2.
    const [deleted, placeholder, deletedMeanwhile] = [await makeUser(t, { trustLevel: 3 }), await makeUser(t, { trustLevel: 3 }), await makeUser(t, { trustLevel: 3 })];
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: deleted.id }, { token: admin.token }));
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [placeholder.id]);
    const service = t.get(TrustLevelService);
    expect(await service.recompute([deleted.id, placeholder.id])).toEqual([]);
    // Deleted between the run's read and its write: the write waits for the deletion's lock and finds the account gone.
    const run = await withLockHeld(t, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, [deletedMeanwhile.id], async (h) => {
      await h.query(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL, trust_level_locked = false WHERE id = $1`, [deletedMeanwhile.id]);
      const running = service.recompute([deletedMeanwhile.id]);
      await h.waiting(1);
      await h.release();
      return running;
    });
    expect(run).toEqual([]);
    // Nor by hand: NOT_FOUND, as a missing account (as a grant to either is).
    const q = `mutation($input: SetTrustLevelInput!) { setTrustLevel(input: $input) { id trustLevel } }`;
    for (const u of [deleted, placeholder]) expectError(await t.gql(q, { input: { userId: u.id, level: 4, reason: 'cannot sign in' } }, { token: globalMod.token }), 'NOT_FOUND');
    const ids = [deleted.id, placeholder.id, deletedMeanwhile.id];
    expect(await t.sql(`SELECT trust_level FROM users WHERE id = ANY($1::uuid[])`, [ids])).toEqual([{ trust_level: 3 }, { trust_level: 3 }, { trust_level: 3 }]);
    expect(await t.sql(`SELECT 1 FROM trust_level_changes WHERE user_id = ANY($1::uuid[])`, [ids])).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM moderation_log WHERE target_id = ANY($1::uuid[]) AND action LIKE 'trust_level.%'`, [ids])).toEqual([]);
  });
});
