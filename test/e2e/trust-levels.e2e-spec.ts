import { TrustLevelService } from '../../libs/moderation/src/trust/trust-levels';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

describe('trust levels', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  /** Visible posts numbered on from the topic's last up to `upTo`, written straight into the table (no content pipeline: many, quickly). */
  const addPosts = async (topicId: string, authorId: string, upTo: number) => {
    await t.sql(
      `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html)
       SELECT gen_random_uuid(), tp.id, tp.space_id, n, $2, 'a post', '<p>a post</p>'
         FROM topics tp, generate_series(tp.last_post_number + 1, $3::int) n WHERE tp.id = $1`,
      [topicId, authorId, upTo],
    );
    await t.sql(`UPDATE topics SET last_post_number = $2 WHERE id = $1`, [topicId, upTo]);
  };
  /** The stats the run logged with a user's last automatic change. */
  const loggedStats = async (userId: string) =>
    (await t.sql(`SELECT after FROM moderation_log WHERE target_id = $1 AND action = 'trust_level.change' ORDER BY id DESC LIMIT 1`, [userId]))[0].after.stats;

  it('promotes from activity, demotes on upheld reports, and records both', async () => {
    const user = await makeUser(t, { trustLevel: 0 });
    const other = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const board = await makeBoard(t, space.id);
    // 15 visit days, 20 topics entered with 100 posts read, 3 replies, reactions both ways.
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT $1, current_date - d FROM generate_series(0, 14) d ON CONFLICT DO NOTHING`, [user.id]);
    const topics = [];
    for (let i = 0; i < 20; i++) topics.push(await createTopic(t, other.token, board));
    // Each topic's posts 2–5 straight into the table (posts read count posts, not numbers).
    for (const tp of topics) await addPosts(tp.id, other.id, 5);
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

  it('counts as read the visible posts up to each read mark: not the numbers a move took, nor hidden, held or deleted posts, and at most 500', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const author = await makeUser(t);
    // TL3 must keep being earned: with no visit days, a run takes them down to TL2 and logs the stats it read.
    const [reader, bigReader] = [await makeUser(t, { trustLevel: 3 }), await makeUser(t, { trustLevel: 3 })];
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const topic = await createTopic(t, author.token, board);
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push(await reply(t, author.token, topic.id, `reply ${i}`));
    expect(replies.map((r) => r.number)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // 3–6 move to another topic (numbers never given again: a gap), 7 is hidden, 8 held, 9 deleted.
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, {
      input: { postIds: replies.slice(1, 5).map((r) => r.id), newTopic: { boardId: board, title: 'Moved away' } },
    }, { token: admin.token }));
    await setPostState(t, replies[5].id, 'HIDDEN');
    await setPostState(t, replies[6].id, 'PENDING');
    await setPostState(t, replies[7].id, 'DELETED');
    // Read up to 10: posts 1, 2 and 10 (11 is past the mark). A second topic read to 2 of its 4 posts.
    const second = await createTopic(t, author.token, board);
    await addPosts(second.id, author.id, 4);
    await t.sql(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) VALUES ($1, $2, 10), ($1, $3, 2)`, [reader.id, topic.id, second.id]);
    // 600 posts read in one topic count as 500 (the most a level asks: more changes nothing).
    const long = await createTopic(t, author.token, board);
    await addPosts(long.id, author.id, 600);
    await t.sql(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) VALUES ($1, $2, 600)`, [bigReader.id, long.id]);

    expect(await t.get(TrustLevelService).recompute([reader.id, bigReader.id])).toEqual(
      expect.arrayContaining([{ userId: reader.id, from: 3, to: 2 }, { userId: bigReader.id, from: 3, to: 2 }]),
    );
    expect(await loggedStats(reader.id)).toMatchObject({ topicsEntered: 2, postsRead: 5 });
    expect(await loggedStats(bigReader.id)).toMatchObject({ topicsEntered: 1, postsRead: 500 });
  });

  it('counts as replies the visible posts after a topic’s first, and reactions received on every visible post, nothing of a hidden, held or deleted one', async () => {
    // TL3 must keep being earned: both lose it, and the run logs the stats it read.
    const writer = await makeUser(t, { trustLevel: 3 });
    const idle = await makeUser(t, { trustLevel: 3 });
    const other = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const own = await createTopic(t, writer.token, board);
    const elsewhere = await createTopic(t, other.token, board);
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await reply(t, writer.token, elsewhere.id, `reply ${i}`));
    // A reply to their own topic is one too.
    const toSelf = await reply(t, writer.token, own.id, 'to myself');
    await setPostState(t, mine[2].id, 'HIDDEN');
    await setPostState(t, mine[3].id, 'PENDING');
    await setPostState(t, mine[4].id, 'DELETED');
    // Reaction totals straight into the rows: the topic's first post 4, a reply 2, the reply to themselves 1, the hidden, the
    // held and the deleted one 7, 5 and 3.
    for (const [id, n] of [[own.firstPostId, 4], [mine[0].id, 2], [toSelf.id, 1], [mine[2].id, 7], [mine[3].id, 5], [mine[4].id, 3]] as const) {
      await t.sql(`UPDATE posts SET reaction_total = $2 WHERE id = $1`, [id, n]);
    }
    expect(await t.get(TrustLevelService).recompute([writer.id, idle.id])).toEqual(
      expect.arrayContaining([{ userId: writer.id, from: 3, to: 2 }, { userId: idle.id, from: 3, to: 2 }]),
    );
    expect(await loggedStats(writer.id)).toMatchObject({ replies: 3, reactionsReceived: 7 });
    // No posts at all: nothing, not null.
    expect(await loggedStats(idle.id)).toMatchObject({ replies: 0, reactionsReceived: 0 });
  });

  it('reads every user’s activity in one statement, however many users a run covers', async () => {
    // TL1 is kept once reached, so none of these changes: the run only reads.
    const users: TestUser[] = [];
    for (let i = 0; i < 6; i++) users.push(await makeUser(t, { trustLevel: 1 }));
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    for (const u of users) {
      await createTopic(t, u.token, board); // read by its author: a read mark of theirs
      await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, current_date) ON CONFLICT DO NOTHING`, [u.id]);
    }
    const service = t.get(TrustLevelService);
    const one = await t.countStatements(() => service.recompute([users[0].id]));
    const six = await t.countStatements(() => service.recompute(users.map((u) => u.id)));
    expect(one.count).toBe(1);
    expect(six.count).toBe(1);
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
