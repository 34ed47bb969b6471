import { MAX_BOOKMARKS } from '../../libs/forum/src/bookmarks/bookmarks.service';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { CREATE_TOPIC, REPLY } from '../factories/forum';
import { draftArticle } from '../factories/knowledge';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { PostsService } from '../../libs/forum/src/posts/posts.service';
import { gateCalls } from '../support/gates';
import { withLockHeld } from '../support/row-locks';
import { backendPid, waitForLockWaits } from '../support/lock-waits';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

describe('posting rules: limits by trust level and pre-moderation', () => {
  let t: TestApp;
  let admin: TestUser;
  let mod: TestUser;
  let space: { id: string; slug: string };
  let board: string;

  beforeAll(async () => {
    t = await bootTestApp({ POSTING_LIMITS: 'true' });
    admin = await makeUser(t, { role: 'ADMIN' });
    mod = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    board = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  const topic = (token: string, body = `body ${Math.random()}`, b = board) => t.gql(CREATE_TOPIC, { input: { boardId: b, title: 'A fine title', body } }, { token });
  /** Forget the per-post interval so a test can post again at once. */
  const waitOut = (u: TestUser) => t.sql(`DELETE FROM rate_events WHERE key = $1 AND bucket IN ('post:tl0', 'post:any')`, [u.id]);
  /** A reply by a new member held under ALL pre-moderation, in a new space `mod` moderates, with its review item. */
  const heldReplyInNewSpace = async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const starter = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId: await makeBoard(t, s.id), title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic;
    const member = await makeUser(t, { trustLevel: 3 });
    const r: { id: string } = expectOk(await t.gql(REPLY, { input: { topicId: starter.id, body: 'a held reply' } }, { token: member.token })).replyToTopic;
    const [item]: Array<{ id: string }> = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 AND status = 'PENDING'`, [r.id]);
    return { s, member, r, item };
  };

  /** A held reply's item settled by its deletion: nothing left to approve, and restored by a moderator the reply waits again under a new item. */
  const expectResolvedThenWaitsAgain = async (r: { id: string }, item: { id: string }) => {
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    expect(expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }), 'CONFLICT').message).toBe('This item is already resolved');
    expect(expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { state } }`, { id: r.id }, { token: mod.token })).restorePost.state).toBe('PENDING');
    const waiting = await t.sql(`SELECT i.id, (SELECT array_agg(e.action ORDER BY e.id) FROM review_item_events e WHERE e.review_item_id = i.id) AS history
      FROM review_items i WHERE i.kind = 'PENDING_CONTENT' AND i.target_id = $1 AND i.status = 'PENDING'`, [r.id]);
    expect(waiting).toEqual([{ id: expect.not.stringMatching(item.id), history: ['restored'] }]);
  };

  it('spaces posts: one per 30 s for new members, one per 5 s for others; moderators are exempt', async () => {
    const newbie = await makeUser(t, { trustLevel: 0 });
    const member = await makeUser(t, { trustLevel: 1 });
    expectOk(await topic(newbie.token));
    const slow = expectError(await topic(newbie.token), 'RATE_LIMITED');
    expect(slow.extensions.retryAfterSeconds).toBeGreaterThan(5);
    expect(slow.extensions.retryAfterSeconds).toBeLessThanOrEqual(30);
    expectOk(await topic(member.token));
    expect(expectError(await topic(member.token), 'RATE_LIMITED').extensions.retryAfterSeconds).toBeLessThanOrEqual(5);
    await waitOut(member);
    expectOk(await topic(member.token));
    for (let i = 0; i < 3; i++) expectOk(await topic(mod.token));
  });

  it('refuses a post the pace of posting forbids before rendering, checking or opening a transaction', async () => {
    const member = await makeUser(t, { trustLevel: 1 });
    const first = expectOk(await topic(member.token)).createTopic;
    const refused = { topic: null as unknown, reply: null as unknown };
    const cost = {
      topic: await t.countStatements(async () => (refused.topic = await topic(member.token, 'a second topic too soon'))),
      reply: await t.countStatements(async () => (refused.reply = await t.gql(REPLY, { input: { topicId: first.id, body: 'a reply too soon' } }, { token: member.token }))),
    };
    for (const kind of ['topic', 'reply'] as const) {
      expectError(refused[kind] as never, 'RATE_LIMITED');
      const written = cost[kind].statements.filter((q) => /^(BEGIN|START TRANSACTION)|md5\(body_source\)|spam_models|pg_advisory_xact_lock/i.test(q.trim()));
      expect(written).toEqual([]);
    }
  });

  it('counts parallel posts as if they came one after another', async () => {
    for (const trustLevel of [0, 1]) {
      const user = await makeUser(t, { trustLevel });
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => topic(user.token, `parallel body ${trustLevel} ${i}`)));
      const codes = answers.map((a) => a.errors?.[0]?.extensions.code ?? 'OK');
      expect(codes.filter((c) => c === 'OK')).toHaveLength(1);
      expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(5);
      expect((await t.sql(`SELECT count(*)::int AS n FROM topics WHERE author_id = $1`, [user.id]))[0].n).toBe(1);
    }
  });

  it('allows new members 3 topics and 10 replies on their first day', async () => {
    const newbie = await makeUser(t, { trustLevel: 0 });
    let first!: string;
    for (let i = 0; i < 3; i++) {
      first ??= expectOk(await topic(newbie.token)).createTopic.id;
      if (i > 0) expectOk(await topic(newbie.token));
      await waitOut(newbie);
    }
    expectError(await topic(newbie.token), 'RATE_LIMITED');
    for (let i = 0; i < 10; i++) {
      expectOk(await t.gql(REPLY, { input: { topicId: first, body: `reply ${i}` } }, { token: newbie.token }));
      await waitOut(newbie);
    }
    expectError(await t.gql(REPLY, { input: { topicId: first, body: 'one more' } }, { token: newbie.token }), 'RATE_LIMITED');
    // A day-old account is past its first day.
    const older = await makeUser(t, { trustLevel: 0 });
    await t.sql(`UPDATE users SET created_at = now() - interval '2 days' WHERE id = $1`, [older.id]);
    for (let i = 0; i < 4; i++) {
      expectOk(await topic(older.token));
      await waitOut(older);
    }
  });

  it('limits new members’ links and mentions, and refuses the same text twice', async () => {
    const newbie = await makeUser(t, { trustLevel: 0 });
    const member = await makeUser(t, { trustLevel: 1 });
    const links = 'see https://a.example, https://b.example and https://c.example';
    expect(expectError(await topic(newbie.token, links), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'body', message: 'new members may post at most 2 links per post' }]);
    expectError(await topic(newbie.token, `@${admin.handle} @${mod.handle} @${member.handle} look`), 'BAD_USER_INPUT');
    // Everyone else names at most 10 people a post (each is a notification); moderators are exempt.
    const crowd = Array.from({ length: 11 }, (_, i) => `@someone${i}`).join(' ');
    expect(expectError(await topic(member.token, crowd), 'BAD_USER_INPUT').message).toBe('a post may mention at most 10 people');
    expectOk(await topic(mod.token, crowd));
    // Editing a post is no way around it; a moderator's edit is.
    const own = expectOk(await topic(newbie.token, 'one link: https://a.example')).createTopic;
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    expect(expectError(await t.gql(EDIT, { input: { postId: own.firstPost.id, body: links } }, { token: newbie.token }), 'BAD_USER_INPUT').message).toMatch(/at most 2 links/);
    expect(await t.sql(`SELECT body_source FROM posts WHERE id = $1`, [own.firstPost.id])).toEqual([{ body_source: 'one link: https://a.example' }]);
    expectOk(await t.gql(EDIT, { input: { postId: own.firstPost.id, body: links, reason: 'adding the sources' } }, { token: mod.token }));
    expectOk(await topic(member.token, links));
    await waitOut(member);
    expect(expectError(await topic(member.token, links), 'BAD_USER_INPUT').message).toMatch(/same text/);
    // Nor does case or spacing make it new.
    for (const variant of [`${links} `, links.replace(' ', '   '), links.toUpperCase(), `\n${links.replace(' and ', '\nand ')}`]) {
      expect(expectError(await topic(member.token, variant), 'BAD_USER_INPUT').message).toMatch(/same text/);
    }
    await t.sql(`UPDATE posts SET created_at = now() - interval '11 minutes' WHERE author_id = $1`, [member.id]);
    expectOk(await topic(member.token, links));
    // Images are links to a new member's count (they are as good a way to show a URL).
    await waitOut(newbie);
    const images = Array.from({ length: 3 }, (_, i) => `![pic](https://spam.example/${i}.png)`).join(' ');
    expect(expectError(await topic(newbie.token, images), 'BAD_USER_INPUT').message).toMatch(/at most 2 links/);
  });

  it('paces reactions, edits of one’s own posts and idea votes (moderators’ edits are not paced)', async () => {
    const member = await makeUser(t, { trustLevel: 2 });
    const other = await makeUser(t, { trustLevel: 2 });
    const own = expectOk(await topic(member.token, 'a post to edit')).createTopic;
    const theirs = expectOk(await topic(other.token, 'a post to react to')).createTopic;
    const ideaBoard = await makeBoard(t, space.id, 'IDEAS');
    await waitOut(other);
    const idea = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId: ideaBoard, title: 'An idea to vote for', body: 'x', kind: 'IDEA' } }, { token: other.token })).createTopic;
    // As if the member had just spent each budget (the rule's whole window ahead of now).
    const spend = (bucket: string, u: TestUser) =>
      t.sql(`INSERT INTO rate_tokens (bucket, key, tat, burst_seconds) VALUES ($1, $2, now() + interval '1 hour', 60)
             ON CONFLICT (bucket, key) DO UPDATE SET tat = EXCLUDED.tat`, [bucket, u.id]);
    for (const bucket of ['pace:react', 'pace:edit', 'pace:vote']) await spend(bucket, member);
    const REACT = `mutation($input: ReactionInput!) { react(input: $input) { id } }`;
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    const VOTE = `mutation($id: ID!) { voteIdea(topicId: $id) { id } }`;
    expect(expectError(await t.gql(REACT, { input: { postId: theirs.firstPost.id, kind: 'LIKE' } }, { token: member.token }), 'RATE_LIMITED').extensions.retryAfterSeconds).toBeGreaterThan(0);
    expectError(await t.gql(EDIT, { input: { postId: own.firstPost.id, body: 'edited' } }, { token: member.token }), 'RATE_LIMITED');
    expectError(await t.gql(VOTE, { id: idea.id }, { token: member.token }), 'RATE_LIMITED');
    expect(await t.sql(`SELECT (SELECT count(*)::int FROM reactions WHERE user_id = $1) AS reactions, (SELECT count(*)::int FROM idea_votes WHERE user_id = $1) AS votes,
                               (SELECT body_source FROM posts WHERE id = $2) AS body`, [member.id, own.firstPost.id])).toEqual([{ reactions: 0, votes: 0, body: 'a post to edit' }]);
    // Someone else is not held back, nor is a moderator editing.
    expectOk(await t.gql(REACT, { input: { postId: own.firstPost.id, kind: 'LIKE' } }, { token: other.token }));
    await spend('pace:edit', mod);
    expectOk(await t.gql(EDIT, { input: { postId: own.firstPost.id, body: 'tidied by a moderator', reason: 'formatting' } }, { token: mod.token }));
    // An article's revisions are kept for good: its writer edits at the same pace, an editor freely.
    await waitOut(member);
    await t.sql(`DELETE FROM rate_tokens WHERE bucket = 'pace:edit' AND key = $1`, [member.id]);
    const article = await draftArticle(t, member.token, await makeBoard(t, space.id, 'KNOWLEDGE'), { title: 'A paced article', body: 'first' });
    await spend('pace:edit', member);
    const UPDATE_ARTICLE = `mutation($input: UpdateArticleInput!) { updateArticle(input: $input) { id } }`;
    expectError(await t.gql(UPDATE_ARTICLE, { input: { topicId: article, body: 'second' } }, { token: member.token }), 'RATE_LIMITED');
    expect(await t.sql(`SELECT count(*)::int AS n FROM article_revisions WHERE topic_id = $1`, [article])).toEqual([{ n: 1 }]);
    expectOk(await t.gql(UPDATE_ARTICLE, { input: { topicId: article, body: 'second, by an editor' } }, { token: mod.token }));
  });

  it('refuses an edit, an article revision or a poll’s creation or update past the edit pace before rendering, checking or opening a transaction, and looks at the pace without spending it', async () => {
    const member = await makeUser(t, { trustLevel: 2 });
    const own = expectOk(await topic(member.token, 'a post to edit past the pace')).createTopic;
    await waitOut(member);
    const article = await draftArticle(t, member.token, await makeBoard(t, space.id, 'KNOWLEDGE'), { title: 'An article past the pace', body: 'first' });
    const first = (await t.sql(`SELECT id FROM article_revisions WHERE topic_id = $1`, [article]))[0].id;
    expectOk(await t.gql(`mutation($input: UpdateArticleInput!) { updateArticle(input: $input) { id } }`, { input: { topicId: article, body: 'second' } }, { token: member.token }));
    const CREATE_POLL = `mutation($input: CreatePollInput!) { createPoll(input: $input) { id } }`;
    const UPDATE_POLL = `mutation($input: UpdatePollInput!) { updatePoll(input: $input) { id } }`;
    const poll = { question: 'Which day suits the meetup?', options: ['Monday', 'Tuesday', 'Wednesday'], kind: 'SINGLE', results: 'ALWAYS', publicVoters: false };
    await waitOut(member);
    const polled = expectOk(await topic(member.token, 'a post whose poll is managed past the pace')).createTopic;
    const managed = expectOk(await t.gql(CREATE_POLL, { input: { ...poll, postId: polled.firstPost.id } }, { token: member.token })).createPoll.id;
    const tat = async () => (await t.sql(`SELECT extract(epoch FROM tat)::float8 AS at FROM rate_tokens WHERE bucket = 'pace:edit' AND key = $1`, [member.id]))[0]?.at as number;
    // The whole window spent, an hour ahead.
    await t.sql(`INSERT INTO rate_tokens (bucket, key, tat, burst_seconds) VALUES ('pace:edit', $1, now() + interval '1 hour', 600)
                 ON CONFLICT (bucket, key) DO UPDATE SET tat = EXCLUDED.tat, burst_seconds = EXCLUDED.burst_seconds`, [member.id]);
    const spent = await tat();
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    const UPDATE_ARTICLE = `mutation($input: UpdateArticleInput!) { updateArticle(input: $input) { id } }`;
    const RESTORE = `mutation($id: ID!) { restoreArticleRevision(revisionId: $id) { id } }`;
    const long = Array.from({ length: 200 }, (_, i) => `**paragraph ${i}** with [a link](https://example.com/${i})`).join('\n\n');
    const attempts = {
      edit: () => t.gql(EDIT, { input: { postId: own.firstPost.id, body: long } }, { token: member.token }),
      revision: () => t.gql(UPDATE_ARTICLE, { input: { topicId: article, body: long, summary: 'a summary' } }, { token: member.token }),
      restore: () => t.gql(RESTORE, { id: first }, { token: member.token }),
      'poll creation': () => t.gql(CREATE_POLL, { input: { ...poll, postId: own.firstPost.id } }, { token: member.token }),
      'poll update': () => t.gql(UPDATE_POLL, { input: { ...poll, pollId: managed, question: 'Which evening suits the meetup?' } }, { token: member.token }),
    };
    for (const [what, attempt] of Object.entries(attempts)) {
      let answer: unknown;
      const cost = await t.countStatements(async () => (answer = await attempt()));
      expect([what, (answer as { errors?: Array<{ extensions: { code: string } }> }).errors?.[0]?.extensions.code]).toEqual([what, 'RATE_LIMITED']);
      // Nothing of the render's or the posting checks' work (the space's moderation settings, its
      // watched words, the spam filter), no transaction, and nothing written.
      const costly = cost.statements.filter((q) => /^(BEGIN|START TRANSACTION|INSERT|UPDATE|DELETE)\b|moderation FROM spaces|watched_words|spam_models/i.test(q.trim()));
      expect([what, costly]).toEqual([what, []]);
    }
    expect(await tat()).toBe(spent);
    expect(await t.sql(`SELECT body_source FROM posts WHERE id = $1`, [own.firstPost.id])).toEqual([{ body_source: 'a post to edit past the pace' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM article_revisions WHERE topic_id = $1`, [article])).toEqual([{ n: 2 }]);
    expect(await t.sql(`SELECT post_id, question FROM polls WHERE post_id = ANY($1::uuid[])`, [[own.firstPost.id, polled.firstPost.id]])).toEqual([
      { post_id: polled.firstPost.id, question: poll.question },
    ]);
    // Within the pace, the look spends nothing: an edit takes one interval (600 s / 30), once.
    await t.sql(`UPDATE rate_tokens SET tat = now() + interval '5 minutes' WHERE bucket = 'pace:edit' AND key = $1`, [member.id]);
    for (const attempt of [attempts.edit, attempts.revision]) {
      const before = await tat();
      expectOk(await attempt());
      expect((await tat()) - before).toBeCloseTo(20, 3);
    }
  });

  it('spends nothing of the edit or reaction pace on an edit or a reaction refused for another reason', async () => {
    const newbie = await makeUser(t, { trustLevel: 0 });
    const own = expectOk(await topic(newbie.token, 'a post with one link: https://a.example')).createTopic;
    const pace = (bucket: string, u: TestUser) => t.sql(`SELECT tat FROM rate_tokens WHERE bucket = $1 AND key = $2`, [bucket, u.id]);
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    const links = 'see https://a.example, https://b.example and https://c.example';
    expectError(await t.gql(EDIT, { input: { postId: own.firstPost.id, body: links } }, { token: newbie.token }), 'BAD_USER_INPUT');
    expect(await pace('pace:edit', newbie)).toEqual([]);
    // A reaction that finds its post hidden while it waited for it is refused, and spends nothing either.
    const reactor = await makeUser(t, { trustLevel: 2 });
    const REACT = `mutation($input: ReactionInput!) { react(input: $input) { id } }`;
    const refused = await withLockHeld(t, `SELECT id FROM posts WHERE id = $1 FOR UPDATE`, [own.firstPost.id], async (h) => {
      const reacting = t.gql(REACT, { input: { postId: own.firstPost.id, kind: 'LIKE' } }, { token: reactor.token });
      await h.waiting(1);
      await h.query(`UPDATE posts SET state = 'HIDDEN' WHERE id = $1`, [own.firstPost.id]);
      await h.release();
      return reacting;
    });
    expectError(refused, 'BAD_USER_INPUT');
    expect(await pace('pace:react', reactor)).toEqual([]);
    // One that counts spends it; so does an edit that goes through.
    await t.sql(`UPDATE posts SET state = 'VISIBLE' WHERE id = $1`, [own.firstPost.id]);
    expectOk(await t.gql(REACT, { input: { postId: own.firstPost.id, kind: 'LIKE' } }, { token: reactor.token }));
    expect(await pace('pace:react', reactor)).toHaveLength(1);
    expectOk(await t.gql(EDIT, { input: { postId: own.firstPost.id, body: 'no links now' } }, { token: newbie.token }));
    expect(await pace('pace:edit', newbie)).toHaveLength(1);
  });

  it('spends nothing of a member’s pace on an article revision refused for another reason or changing nothing, a draft’s save or deletion, or a bookmark refused for another reason', async () => {
    const member = await makeUser(t, { trustLevel: 2 });
    const pace = (bucket: string) => t.sql(`SELECT tat FROM rate_tokens WHERE bucket = $1 AND key = $2`, [bucket, member.id]);
    // A revision from a stale base (CONFLICT, found under the article's lock).
    const article = await draftArticle(t, member.token, await makeBoard(t, space.id, 'KNOWLEDGE'), { title: 'A paced article', body: 'first' });
    const UPDATE_ARTICLE = `mutation($input: UpdateArticleInput!) { updateArticle(input: $input) { id } }`;
    const stale = '00000000-0000-7000-8000-000000000000';
    expectError(await t.gql(UPDATE_ARTICLE, { input: { topicId: article, body: 'second', baseRevisionId: stale } }, { token: member.token }), 'CONFLICT');
    expect(await pace('pace:edit')).toEqual([]);
    // Nor an edit that changes nothing: it makes no revision, so it costs none of the pace.
    expectOk(await t.gql(UPDATE_ARTICLE, { input: { topicId: article, title: 'A paced article', body: 'first' } }, { token: member.token }));
    expect(await t.sql(`SELECT count(*)::int AS n FROM article_revisions WHERE topic_id = $1`, [article])).toEqual([{ n: 1 }]);
    expect(await pace('pace:edit')).toEqual([]);
    // A draft saved or deleted with a sequence that is not the live one's (CONFLICT).
    const SAVE = `mutation($input: SaveDraftInput!) { saveDraft(input: $input) { sequence } }`;
    const DELETE = `mutation($target: DraftTargetInput!, $sequence: Int) { deleteDraft(target: $target, sequence: $sequence) }`;
    const target = { boardId: board };
    expectError(await t.gql(SAVE, { input: { target, sequence: 7, body: 'work in progress' } }, { token: member.token }), 'CONFLICT');
    expectError(await t.gql(DELETE, { target, sequence: 7 }, { token: member.token }), 'CONFLICT');
    expect(await pace('pace:draft')).toEqual([]);
    // A bookmark past the limit.
    await waitOut(member);
    const filled = expectOk(await topic(member.token, 'a topic to bookmark')).createTopic;
    await t.sql(
      `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html)
       SELECT gen_random_uuid(), $1, $2, 100 + g, $3, 'filler', '<p>filler</p>' FROM generate_series(1, $4::int) g`,
      [filled.id, space.id, member.id, MAX_BOOKMARKS],
    );
    await t.sql(`INSERT INTO post_bookmarks (user_id, post_id) SELECT $1, id FROM posts WHERE topic_id = $2 AND number > 100`, [member.id, filled.id]);
    const BOOKMARK = `mutation($input: BookmarkPostInput!) { bookmarkPost(input: $input) { id } }`;
    expectError(await t.gql(BOOKMARK, { input: { postId: filled.firstPost.id } }, { token: member.token }), 'BAD_USER_INPUT');
    expect(await pace('pace:bookmark')).toEqual([]);
    // Those that go through spend it.
    expectOk(await t.gql(UPDATE_ARTICLE, { input: { topicId: article, body: 'second' } }, { token: member.token }));
    expectOk(await t.gql(SAVE, { input: { target, sequence: 0, body: 'work in progress' } }, { token: member.token }));
    await t.sql(`DELETE FROM post_bookmarks WHERE user_id = $1 AND post_id IN (SELECT id FROM posts WHERE topic_id = $2 AND number = 101)`, [member.id, filled.id]);
    expectOk(await t.gql(BOOKMARK, { input: { postId: filled.firstPost.id } }, { token: member.token }));
    for (const bucket of ['pace:edit', 'pace:draft', 'pace:bookmark']) expect(await pace(bucket)).toHaveLength(1);
  });

  it('holds new members’ posts for approval under NEW_USERS pre-moderation', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }, { userId: admin.id, level: 'ADMIN' }]);
    const b = await makeBoard(t, s.id);
    const upd = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id moderationSettings { premoderation autoHideThreshold } } }`;
    const settings = expectOk(await t.gql(upd, { input: { spaceId: s.id, premoderation: 'NEW_USERS', autoHideThreshold: 12 } }, { token: admin.token }));
    expect(settings.updateSpace.moderationSettings).toEqual({ premoderation: 'NEW_USERS', autoHideThreshold: 12 });
    const ladder = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { moderationSettings { spamThreshold escalationLadder { violations action hours } } } }`;
    const withLadder = expectOk(await t.gql(ladder, { input: { spaceId: s.id, spamThreshold: 0.8, escalationLadder: [{ violations: 3, action: 'SUSPEND', hours: 72 }] } }, { token: admin.token }));
    expect(withLadder.updateSpace.moderationSettings).toEqual({ spamThreshold: 0.8, escalationLadder: [{ violations: 3, action: 'SUSPEND', hours: 72 }] });
    expectError(await t.gql(ladder, { input: { spaceId: s.id, escalationLadder: [{ violations: 0, action: 'SMITE' }] } }, { token: admin.token }), 'BAD_USER_INPUT');
    const twice = [{ violations: 3, action: 'SUSPEND' }, { violations: 3, action: 'SILENCE', hours: 5 }];
    expect(expectError(await t.gql(ladder, { input: { spaceId: s.id, escalationLadder: twice } }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('escalationLadder');
    expectError(await t.gql(upd, { input: { spaceId: s.id, premoderation: 'SOMETIMES' } }, { token: admin.token }), 'BAD_USER_INPUT');
    const newbie = await makeUser(t, { trustLevel: 0 });
    const member = await makeUser(t, { trustLevel: 1 });
    const held = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id state firstPost { moderationNote } } }`, { input: { boardId: b, title: 'My first question', body: 'held body' } }, { token: newbie.token })).createTopic;
    expect(held.state).toBe('PENDING');
    expect(held.firstPost.moderationNote).toBe('Waiting for a moderator: posts by new members are reviewed first');
    const visibleNow = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id state } }`, { input: { boardId: b, title: 'Regular question', body: 'x' } }, { token: member.token })).createTopic;
    expect(visibleNow.state).toBe('VISIBLE');

    const list = `query($b: ID!) { board(id: $b) { topics { totalCount edges { node { id } } } } }`;
    expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: held.id }, { token: member.token }), 'NOT_FOUND');
    expect(expectOk(await t.gql(list, { b }, { token: member.token })).board.topics.totalCount).toBe(1);
    expect(expectOk(await t.gql(list, { b }, { token: newbie.token })).board.topics.totalCount).toBe(2);
    expect(expectOk(await t.gql(`query($s: String!) { space(slug: $s) { moderationSettings { premoderation } } }`, { s: s.slug }, { token: member.token })).space.moderationSettings).toBeNull();

    const queue = expectOk(await t.gql(`query($s: ID) { reviewQueue(spaceId: $s) { edges { node { id kind targetType targetId history { action note } } } } }`, { s: s.id }, { token: mod.token })).reviewQueue;
    const item = queue.edges.find((e: any) => e.node.targetId === held.id).node;
    expect(item).toMatchObject({ kind: 'PENDING_CONTENT', targetType: 'TOPIC' });
    expect(item.history[0]).toEqual({ action: 'submitted', note: 'posts by new members are reviewed first' });
    expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }));
    expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { state } }`, { id: held.id }, { token: member.token })).topic.state).toBe('VISIBLE');
  });

  it('holds every reply (and every edit) under ALL; moderatePost approves or rejects and settles the queue', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const b = await makeBoard(t, s.id);
    const starter = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`, { input: { boardId: b, title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic;
    const member = await makeUser(t, { trustLevel: 3 });
    const r1 = expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id state } }`, { input: { topicId: starter.id, body: 'first reply' } }, { token: member.token })).replyToTopic;
    await waitOut(member);
    const r2 = expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id state } }`, { input: { topicId: starter.id, body: 'second reply' } }, { token: member.token })).replyToTopic;
    expect([r1.state, r2.state]).toEqual(['PENDING', 'PENDING']);
    const count = async () => expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { replyCount posts { totalCount } } }`, { id: starter.id }, { token: (await makeUser(t)).token })).topic;
    expect(await count()).toEqual({ replyCount: 0, posts: { totalCount: 1 } });
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    expect(expectOk(await t.gql(MOD, { input: { postId: r1.id, action: 'APPROVE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    expect(expectOk(await t.gql(MOD, { input: { postId: r2.id, action: 'REJECT' } }, { token: mod.token })).moderatePost.state).toBe('DELETED');
    expect(await count()).toEqual({ replyCount: 1, posts: { totalCount: 2 } }); // the rejected reply is not listed for others
    const items = await t.sql(`SELECT target_id, status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = ANY($1::uuid[]) ORDER BY status`, [[r1.id, r2.id]]);
    expect(items).toEqual([
      { target_id: r1.id, status: 'APPROVED' },
      { target_id: r2.id, status: 'REJECTED' },
    ]);
    // The rejected reply is gone for readers, not even a placeholder; its author still sees where it was.
    const POSTS = `query($id: ID!) { topic(id: $id) { posts { totalCount edges { node { id state placeholder } } } } }`;
    const reader = await makeUser(t);
    const forReader = expectOk(await t.gql(POSTS, { id: starter.id }, { token: reader.token })).topic.posts;
    expect(forReader.edges.map((e: any) => e.node.id)).not.toContain(r2.id);
    expect(forReader.totalCount).toBe(forReader.edges.length);
    expectError(await t.gql(`query($id: ID!) { post(id: $id) { id } }`, { id: r2.id }, { token: reader.token }), 'NOT_FOUND');
    const forAuthor = expectOk(await t.gql(POSTS, { id: starter.id }, { token: member.token })).topic.posts;
    expect(forAuthor.edges.find((e: any) => e.node.id === r2.id).node).toMatchObject({ state: 'DELETED', placeholder: expect.any(String) });
    // Restoring the rejected reply puts it back in the queue's hands, unpublished.
    expect(expectOk(await t.gql(MOD, { input: { postId: r2.id, action: 'RESTORE' } }, { token: mod.token })).moderatePost.state).toBe('PENDING');
    expect(await count()).toEqual({ replyCount: 1, posts: { totalCount: 2 } }); // others do not see it at all now
    expect(await t.sql(`SELECT status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [r2.id])).toEqual([{ status: 'REJECTED' }, { status: 'PENDING' }]);
    expect(expectOk(await t.gql(MOD, { input: { postId: r2.id, action: 'REJECT' } }, { token: mod.token })).moderatePost.state).toBe('DELETED');
    expect(await t.sql(`SELECT status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [r2.id])).toEqual([{ status: 'REJECTED' }, { status: 'REJECTED' }]);
    // restorePost takes the same way back.
    expect(expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { state } }`, { id: r2.id }, { token: mod.token })).restorePost.state).toBe('PENDING');
    expect((await t.sql(`SELECT status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [r2.id])).map((r) => r.status)).toEqual(['REJECTED', 'REJECTED', 'PENDING']);
    expect(expectOk(await t.gql(MOD, { input: { postId: r2.id, action: 'REJECT' } }, { token: mod.token })).moderatePost.state).toBe('DELETED');
    const events = await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [r1.id]);
    expect(events.map((e) => e.type)).toEqual(['post.created', 'post.approved']);
    // An approved reply edited by its author: the edit waits for approval, the reply stays as it was; a moderator's edit does not wait.
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { state bodyHtml pendingEdit { bodySource } } }`;
    expect(expectOk(await t.gql(EDIT, { input: { postId: r1.id, body: 'first reply, now with a spam link' } }, { token: member.token })).editPost).toEqual({
      state: 'VISIBLE',
      bodyHtml: '<p>first reply</p>\n',
      pendingEdit: { bodySource: 'first reply, now with a spam link' },
    });
    expect(await count()).toEqual({ replyCount: 1, posts: { totalCount: 2 } }); // others still see it
    expect(await t.sql(`SELECT status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [r1.id])).toEqual([{ status: 'APPROVED' }, { status: 'PENDING' }]);
    expect(expectOk(await t.gql(EDIT, { input: { postId: r1.id, body: 'first reply, tidied', reason: 'link removed' } }, { token: mod.token })).editPost.state).toBe('VISIBLE');
    // A reply still waiting, edited by its author, keeps waiting under the one item it has.
    await waitOut(member);
    const r3 = expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id state } }`, { input: { topicId: starter.id, body: 'third reply' } }, { token: member.token })).replyToTopic;
    // A reply still waiting, edited by its author, keeps waiting, under a new item: the one a
    // moderator may have read described the old text.
    const [before] = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1`, [r3.id]);
    expect(expectOk(await t.gql(EDIT, { input: { postId: r3.id, body: 'third reply, typo fixed' } }, { token: member.token })).editPost.state).toBe('PENDING');
    expect(await t.sql(`SELECT id, status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [r3.id])).toEqual([
      { id: before.id, status: 'IGNORED' },
      { id: expect.any(String), status: 'PENDING' },
    ]);
    expectError(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`, { input: { id: before.id, decision: 'APPROVE' } }, { token: mod.token }), 'CONFLICT');
    // A reply still waiting is approved or rejected, never ignored into limbo.
    const [r3Item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 AND status = 'PENDING'`, [r3.id]);
    expectError(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`, { input: { id: r3Item.id, decision: 'IGNORE' } }, { token: mod.token }), 'BAD_USER_INPUT');
  });

  it('keeps moderatePost off held content whose item another moderator has claimed', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const other = await makeUser(t);
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [s.id, other.id]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const b = await makeBoard(t, s.id);
    const starter = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`, { input: { boardId: b, title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic;
    const member = await makeUser(t, { trustLevel: 3 });
    const held = expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id state } }`, { input: { topicId: starter.id, body: 'a held reply' } }, { token: member.token })).replyToTopic;
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1`, [held.id]);
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: mod.token }));
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    for (const action of ['APPROVE', 'REJECT', 'HIDE', 'DELETE']) expectError(await t.gql(MOD, { input: { postId: held.id, action } }, { token: other.token }), 'CONFLICT');
    expect((await t.sql(`SELECT p.state, i.status, i.claimed_by FROM posts p, review_items i WHERE p.id = $1 AND i.id = $2`, [held.id, item.id]))[0]).toEqual({ state: 'PENDING', status: 'PENDING', claimed_by: mod.id });
    expect(expectOk(await t.gql(MOD, { input: { postId: held.id, action: 'APPROVE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    // A held edit of a visible post, claimed: approving or rejecting it waits for the claimant too.
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: held.id, body: 'a held edit' } }, { token: member.token }));
    const [editItem] = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 AND status = 'PENDING'`, [held.id]);
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: editItem.id }, { token: mod.token }));
    for (const action of ['APPROVE', 'REJECT']) expectError(await t.gql(MOD, { input: { postId: held.id, action } }, { token: other.token }), 'CONFLICT');
    expect(await t.sql(`SELECT 1 FROM post_pending_edits WHERE post_id = $1`, [held.id])).toHaveLength(1);
    expect((await t.sql(`SELECT body_source FROM posts WHERE id = $1`, [held.id]))[0].body_source).toBe('a held reply');
  });

  it('lets another moderator hide or delete a post whose held edit is claimed: the edit and its item wait for the claimant, the author told as for any post', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const other = await makeUser(t);
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [s.id, other.id]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const starter = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId: await makeBoard(t, s.id), title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic;
    const member = await makeUser(t, { trustLevel: 3 });
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    /** A reply approved, then edited by its author: the edit held, its item claimed by `mod`. */
    const withClaimedEdit = async (body: string) => {
      await waitOut(member);
      const r = expectOk(await t.gql(REPLY, { input: { topicId: starter.id, body } }, { token: member.token })).replyToTopic;
      expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'APPROVE' } }, { token: mod.token }));
      expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: `${body}, edited` } }, { token: member.token }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 AND status = 'PENDING'`, [r.id]);
      expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: mod.token }));
      return { id: r.id as string, item: item.id as string };
    };
    const asLeft = async (p: { id: string; item: string }) => ({
      post: (await t.sql(`SELECT state, body_source FROM posts WHERE id = $1`, [p.id]))[0],
      edit: (await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [p.id])).map((e: any) => e.body_source),
      item: (await t.sql(`SELECT status, claimed_by FROM review_items WHERE id = $1`, [p.item]))[0],
    });
    /** The author's notices about the post (`removed_post_id` for a removal), once the outbox is drained. */
    const notices = async (p: { id: string }) => {
      await t.get(OutboxWorker).drain();
      return t.sql(`SELECT kind FROM notifications WHERE user_id = $1 AND $2 IN (post_id, removed_post_id) ORDER BY created_at, id`, [member.id, p.id]);
    };

    // Hidden: hiding decides nothing about the edit, which the claim keeps for its claimant.
    const hidden = await withClaimedEdit('a reply to hide');
    expect(expectOk(await t.gql(MOD, { input: { postId: hidden.id, action: 'HIDE' } }, { token: other.token })).moderatePost.state).toBe('HIDDEN');
    expect(await asLeft(hidden)).toEqual({ post: { state: 'HIDDEN', body_source: 'a reply to hide' }, edit: ['a reply to hide, edited'], item: { status: 'PENDING', claimed_by: mod.id } });
    expect(await notices(hidden)).toEqual([{ kind: 'POST_APPROVED' }, { kind: 'POST_HIDDEN' }]);
    // The claimant decides it: approved, it is the hidden post's text, still hidden.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: hidden.item, decision: 'APPROVE' } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await asLeft(hidden)).toEqual({ post: { state: 'HIDDEN', body_source: 'a reply to hide, edited' }, edit: [], item: { status: 'APPROVED', claimed_by: null } });

    // Deleted: the edit waits with the post, restored with it, still the claimant's to decide.
    const deleted = await withClaimedEdit('a reply to delete');
    expect(expectOk(await t.gql(MOD, { input: { postId: deleted.id, action: 'DELETE' } }, { token: other.token })).moderatePost.state).toBe('DELETED');
    expect(await asLeft(deleted)).toEqual({ post: { state: 'DELETED', body_source: 'a reply to delete' }, edit: ['a reply to delete, edited'], item: { status: 'PENDING', claimed_by: mod.id } });
    expect(await t.sql(`SELECT action, actor_id FROM moderation_log WHERE target_id = $1 AND actor_id = $2`, [deleted.id, other.id])).toEqual([{ action: 'post.delete', actor_id: other.id }]);
    expect(await notices(deleted)).toContainEqual({ kind: 'POST_REMOVED' });
    expect(expectOk(await t.gql(MOD, { input: { postId: deleted.id, action: 'RESTORE' } }, { token: other.token })).moderatePost.state).toBe('VISIBLE');
    expect(await asLeft(deleted)).toEqual({ post: { state: 'VISIBLE', body_source: 'a reply to delete' }, edit: ['a reply to delete, edited'], item: { status: 'PENDING', claimed_by: mod.id } });
    expectError(await t.gql(MOD, { input: { postId: deleted.id, action: 'REJECT' } }, { token: other.token }), 'CONFLICT');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: deleted.item, decision: 'REJECT' } }, { token: mod.token })).resolveReviewItem.status).toBe('REJECTED');
    expect(await asLeft(deleted)).toEqual({ post: { state: 'VISIBLE', body_source: 'a reply to delete' }, edit: [], item: { status: 'REJECTED', claimed_by: null } });
  });

  it('drops the held edit of a deleted post whose item is ignored: restored, the post has no edit waiting without an item', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const starter = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId: await makeBoard(t, s.id), title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic;
    const member = await makeUser(t, { trustLevel: 3 });
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const r = expectOk(await t.gql(REPLY, { input: { topicId: starter.id, body: 'a reply' } }, { token: member.token })).replyToTopic;
    expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'APPROVE' } }, { token: mod.token }));
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: 'a reply, edited' } }, { token: member.token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 AND status = 'PENDING'`, [r.id]);
    expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'DELETE' } }, { token: mod.token }));
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    // Approving it cannot publish the edit: CONFLICT, nothing written (not an item APPROVED, the edit dropped).
    expect(expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }), 'CONFLICT').message).toBe(
      'This post was deleted: its held edit cannot be approved (restore the post first, or reject or ignore the item, which drops the edit)',
    );
    expect(await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [r.id])).toEqual([{ body_source: 'a reply, edited' }]);
    expect(await t.sql(`SELECT status FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'PENDING' }]);
    expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action LIKE 'review.%'`, [r.id])).toEqual([]);
    // Deleted, its edit no longer waits: the item may be ignored, which closes the edit with it.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'IGNORE' } }, { token: mod.token })).resolveReviewItem.status).toBe('IGNORED');
    expect(await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [r.id])).toEqual([]);
    expect(expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'RESTORE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    expect(await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [r.id])).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM review_items WHERE target_id = $1 AND status = 'PENDING'`, [r.id])).toEqual([]);
  });

  describe('moderatePost on a post whose state changed after the request read it, before it held the post', () => {
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state bodyHtml } }`;
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    let s: { id: string };
    let starter: { id: string };
    let other: TestUser;
    beforeAll(async () => {
      other = await makeUser(t);
      s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }, { userId: other.id, level: 'MODERATE' }]);
      await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
      starter = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId: await makeBoard(t, s.id), title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic;
    });
    const heldReply = async (member: TestUser, body: string) =>
      expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id state } }`, { input: { topicId: starter.id, body } }, { token: member.token })).replyToTopic;

    /**
     * `other`'s moderatePost (`input`) stopped once it has read the post and opened its
     * transaction, before it holds the post's topic and the post (`holdTopic`'s first call for the
     * topic); `meanwhile` runs then, and the request goes on.
     */
    async function interleaved(input: Record<string, unknown>, meanwhile: () => Promise<void>) {
      let first = true;
      const gate = gateCalls(t.get(PostsService), 'holdTopic', (_tx: unknown, topicId: string) => topicId === starter.id && first && !(first = false));
      try {
        const running = t.gql(MOD, { input }, { token: other.token });
        await Promise.race([gate.begun, running.then(() => Promise.reject(new Error('moderatePost ended before it held the post')))]);
        await meanwhile();
        gate.open();
        return await running;
      } finally {
        gate.restore();
      }
    }

    /**
     * A held reply `other` decides (`action`, with `extra` input) while `mod` approves it and its
     * author edits it (a held edit), after the request read it and before it holds it: the
     * answer, the moderators' entries in the log, the held edits and the post as they are.
     * `version` is named as the request's pendingEditVersion (a held edit's first is 1).
     */
    async function decidedAfterApprovedAndEdited(action: 'APPROVE' | 'REJECT', version?: number) {
      const member = await makeUser(t, { trustLevel: 3 });
      const r = await heldReply(member, 'the reviewed reply');
      const answer = await interleaved({ postId: r.id, action, ...(version === undefined ? {} : { pendingEditVersion: version }) }, async () => {
        expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'APPROVE' } }, { token: mod.token }));
        expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'the reply, edited' } }, { token: member.token }));
        expect(await t.sql(`SELECT version FROM post_pending_edits WHERE post_id = $1`, [r.id])).toEqual([{ version: 1 }]);
      });
      const log = await t.sql(`SELECT action, actor_id FROM moderation_log WHERE target_id = $1 AND actor_id IS NOT NULL ORDER BY id`, [r.id]);
      const edits = await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [r.id]);
      const post = await t.sql(`SELECT state, body_source FROM posts WHERE id = $1`, [r.id]);
      return { r, answer, log, edits, post };
    }

    for (const action of ['APPROVE', 'REJECT'] as const) {
      it(`approved by another moderator, then edited by its author: ${action} (which read held content) is CONFLICT, the held edit it never saw left waiting`, async () => {
        const { r, answer, log, edits, post } = await decidedAfterApprovedAndEdited(action);
        expect(expectError(answer, 'CONFLICT').message).toBe('An edit was held for review since you read the post: read it again, and decide it by its pendingEditVersion');
        expect(post).toEqual([{ state: 'VISIBLE', body_source: 'the reviewed reply' }]);
        expect(edits).toEqual([{ body_source: 'the reply, edited' }]);
        expect(log).toEqual([{ action: 'post.approve', actor_id: mod.id }]);
        expect(await t.sql(`SELECT status, resolved_by FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [r.id])).toEqual([
          { status: 'APPROVED', resolved_by: mod.id },
          { status: 'PENDING', resolved_by: null },
        ]);
      });
    }

    for (const [action, text, decided, status] of [
      ['APPROVE', 'the reply, edited', 'post.edit_approve', 'APPROVED'],
      ['REJECT', 'the reviewed reply', 'post.edit_reject', 'REJECTED'],
    ] as const) {
      it(`approved by another moderator, then edited by its author: ${action} naming the held edit’s version decides it`, async () => {
        const { r, answer, log, edits, post } = await decidedAfterApprovedAndEdited(action, 1);
        expect(expectOk(answer).moderatePost).toEqual({ state: 'VISIBLE', bodyHtml: `<p>${text}</p>\n` });
        expect({ edits, post }).toEqual({ edits: [], post: [{ state: 'VISIBLE', body_source: text }] });
        expect(log).toEqual([
          { action: 'post.approve', actor_id: mod.id },
          { action: decided, actor_id: other.id },
        ]);
        expect(await t.sql(`SELECT status, resolved_by FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [r.id])).toEqual([
          { status: 'APPROVED', resolved_by: mod.id },
          { status, resolved_by: other.id },
        ]);
      });
    }

    it('approved by another moderator, no edit since: APPROVE or REJECT (which read held content) is refused as for any visible post', async () => {
      for (const action of ['APPROVE', 'REJECT'] as const) {
        const member = await makeUser(t, { trustLevel: 3 });
        const r = await heldReply(member, 'the reviewed reply');
        const answer = await interleaved({ postId: r.id, action }, async () => {
          expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'APPROVE' } }, { token: mod.token }));
        });
        expect(expectError(answer, 'CONFLICT').message).toBe(`A visible post cannot be ${action === 'APPROVE' ? 'approved' : 'rejected'}`);
        expect(await t.sql(`SELECT state, body_source FROM posts WHERE id = $1`, [r.id])).toEqual([{ state: 'VISIBLE', body_source: 'the reviewed reply' }]);
      }
    });

    it('with a held edit, hidden by another moderator: APPROVE is refused as for any hidden post, the edit left waiting', async () => {
      const member = await makeUser(t, { trustLevel: 3 });
      const r = await heldReply(member, 'the reviewed reply');
      expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'APPROVE' } }, { token: mod.token }));
      expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'the reply, edited' } }, { token: member.token }));
      const answer = await interleaved({ postId: r.id, action: 'APPROVE' }, async () => {
        expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'HIDE' } }, { token: mod.token }));
      });
      expect(expectError(answer, 'CONFLICT').message).toBe('A hidden post cannot be approved');
      expect(await t.sql(`SELECT state, body_source FROM posts WHERE id = $1`, [r.id])).toEqual([{ state: 'HIDDEN', body_source: 'the reviewed reply' }]);
      expect(await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [r.id])).toEqual([{ body_source: 'the reply, edited' }]);
    });
  });

  it('lets moderatePost act on content whose item was claimed by a moderator who may no longer handle it', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const gone = await makeUser(t);
    const GRANT = `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`;
    expectOk(await t.gql(GRANT, { input: { spaceId: s.id, userId: gone.id, level: 'MODERATE' } }, { token: admin.token }));
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const b = await makeBoard(t, s.id);
    const starter = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`, { input: { boardId: b, title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic;
    const member = await makeUser(t, { trustLevel: 3 });
    const write = async (body: string) => {
      await waitOut(member);
      return expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`, { input: { topicId: starter.id, body } }, { token: member.token })).replyToTopic;
    };
    const held = await write('a held reply');
    const reported = await write('a reply to report');
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`, { input: { postId: reported.id, action: 'APPROVE' } }, { token: mod.token }));
    expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: reported.id, reason: 'ABUSE' } }, { token: (await makeUser(t)).token }));
    const items = await t.sql(`SELECT id FROM review_items WHERE status = 'PENDING' AND target_id = ANY($1::uuid[]) ORDER BY kind`, [[held.id, reported.id]]);
    expect(items).toHaveLength(2);
    for (const { id } of items) expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id }, { token: gone.token }));
    expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: s.id, userId: gone.id } }, { token: admin.token }));
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    // Held content: the claim of one who no longer moderates here holds nobody back.
    expect(expectOk(await t.gql(MOD, { input: { postId: held.id, action: 'APPROVE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    // Reported content hidden by hand: its reports are upheld, the lapsed claim notwithstanding.
    expect(expectOk(await t.gql(MOD, { input: { postId: reported.id, action: 'HIDE' } }, { token: mod.token })).moderatePost.state).toBe('HIDDEN');
    expect((await t.sql(`SELECT status, resolved_by FROM review_items WHERE id = ANY($1::uuid[]) ORDER BY kind`, [items.map((i: any) => i.id)]))).toEqual([
      { status: 'APPROVED', resolved_by: mod.id },
      { status: 'APPROVED', resolved_by: mod.id },
    ]);
  });

  it('counts held content approved as the topic’s activity now; unhiding moves nothing', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const b = await makeBoard(t, s.id);
    const member = await makeUser(t, { trustLevel: 3 });
    const create = (title: string, token: string) => t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id firstPost { id } } }`, { input: { boardId: b, title, body: 'x' } }, { token });
    const older = expectOk(await create('Older staff topic', mod.token)).createTopic;
    const newer = expectOk(await create('Newer staff topic', mod.token)).createTopic;
    await waitOut(member);
    const held = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id firstPost { id } } }`, { input: { boardId: b, title: 'Held topic', body: 'x' } }, { token: member.token })).createTopic;
    await waitOut(member);
    const reply = expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`, { input: { topicId: older.id, body: 'a held reply' } }, { token: member.token })).replyToTopic;
    // Written a day ago, approved now.
    await t.sql(`UPDATE topics SET last_activity_at = now() - interval '1 day', created_at = now() - interval '1 day' WHERE board_id = $1`, [b]);
    const order = async () =>
      expectOk(await t.gql(`query($b: ID!) { board(id: $b) { topics(sort: LATEST_ACTIVITY) { edges { node { title } } } } }`, { b }, { token: (await makeUser(t)).token })).board.topics.edges.map((e: any) => e.node.title);
    await t.sql(`UPDATE topics SET last_activity_at = last_activity_at + interval '1 minute' WHERE id = $1`, [newer.id]);
    expect(await order()).toEqual(['Newer staff topic', 'Older staff topic']);
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    expectOk(await t.gql(MOD, { input: { postId: reply.id, action: 'APPROVE' } }, { token: mod.token }));
    expect(await order()).toEqual(['Older staff topic', 'Newer staff topic']);
    expectOk(await t.gql(MOD, { input: { postId: held.firstPost.id, action: 'APPROVE' } }, { token: mod.token }));
    expect(await order()).toEqual(['Held topic', 'Older staff topic', 'Newer staff topic']);
    // Hiding and unhiding the newer topic's first post brings it back where it was.
    expectOk(await t.gql(MOD, { input: { postId: newer.firstPost.id, action: 'HIDE' } }, { token: mod.token }));
    expectOk(await t.gql(MOD, { input: { postId: newer.firstPost.id, action: 'UNHIDE' } }, { token: mod.token }));
    expect(await order()).toEqual(['Held topic', 'Older staff topic', 'Newer staff topic']);
  });

  it('changes nothing a reader sees of the topic when a reply is held (version, updated_at, activity), nor when it is rejected or withdrawn; its approval raises them', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const topicId: string = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId: await makeBoard(t, s.id), title: 'Staff topic', body: 'x' } }, { token: mod.token })).createTopic.id;
    const member = await makeUser(t, { trustLevel: 3 });
    const reader = await makeUser(t);
    // Written a day ago, so a change now is a later time whatever the clock's resolution.
    await t.sql(`UPDATE topics SET last_activity_at = now() - interval '1 day', updated_at = now() - interval '1 day' WHERE id = $1`, [topicId]);
    // What a reader polling the topic reads, and the row's updated_at (not in the API), to the microsecond.
    const seen = async () => ({
      ...expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { version lastActivityAt replyCount unreadCount } }`, { id: topicId }, { token: reader.token })).topic,
      updatedAt: (await t.sql(`SELECT updated_at::text AS u FROM topics WHERE id = $1`, [topicId]))[0].u as string,
    });
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId, postNumber: 1 } }, { token: reader.token }));
    const before = await seen();
    expect(before).toMatchObject({ replyCount: 0, unreadCount: 0 });
    const held = async (author: TestUser, body: string): Promise<string> => {
      await waitOut(author);
      const r = expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id state } }`, { input: { topicId, body } }, { token: author.token })).replyToTopic;
      expect(r.state).toBe('PENDING');
      return r.id;
    };
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    // Held: nothing to tell. Rejected: nothing either.
    const rejected = await held(member, 'held, then rejected');
    expect(await seen()).toEqual(before);
    expect(expectOk(await t.gql(MOD, { input: { postId: rejected, action: 'REJECT' } }, { token: mod.token })).moderatePost.state).toBe('DELETED');
    expect(await seen()).toEqual(before);
    // Held, then withdrawn by its author.
    const withdrawn = await held(member, 'held, then withdrawn');
    expect(await seen()).toEqual(before);
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: withdrawn }, { token: member.token }));
    expect(await seen()).toEqual(before);
    // Held, then approved: the approval is the change readers see, as a reply posted then.
    const approved = await held(member, 'held, then approved');
    expect(await seen()).toEqual(before);
    expect(expectOk(await t.gql(MOD, { input: { postId: approved, action: 'APPROVE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    const after = await seen();
    expect(after).toMatchObject({ replyCount: 1, unreadCount: 1 });
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.updatedAt).not.toBe(before.updatedAt);
    expect(new Date(after.lastActivityAt).getTime()).toBeGreaterThan(new Date(before.lastActivityAt).getTime());
  });

  it('keeps a held edit beside the post until a moderator approves it (a revision by its author) or rejects it', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const b = await makeBoard(t, s.id);
    const member = await makeUser(t, { trustLevel: 3 });
    const mentioned = await makeUser(t);
    const created = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id firstPost { id } } }`, { input: { boardId: b, title: 'Original title', body: 'original text' } }, { token: member.token })).createTopic;
    const postId = created.firstPost.id;
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    const READ = `query($id: ID!) { post(id: $id) { state bodyHtml topic { title } revisions { number } pendingEdit { bodySource bodyHtml title reason note version } } }`;
    const read = async (token: string) => expectOk(await t.gql(READ, { id: postId }, { token })).post;
    const items = () => t.sql(`SELECT id, status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1 ORDER BY created_at`, [postId]);
    const events = async () => (await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [postId])).map((e) => e.type as string);
    const before = await events();
    const resolve = (id: string, decision: string) =>
      t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`, { input: { id, decision } }, { token: mod.token });

    expectOk(await t.gql(EDIT, { input: { postId, body: 'a first try', reason: 'typo' } }, { token: member.token }));
    expectOk(await t.gql(EDIT, { input: { postId, body: `better text for @${mentioned.handle}`, title: 'Better title', reason: 'clearer' } }, { token: member.token }));
    // Everybody else reads the post as it was; its author and moderators also see the edit waiting.
    const stranger = await read((await makeUser(t)).token);
    expect(stranger).toEqual({ state: 'VISIBLE', bodyHtml: '<p>original text</p>\n', topic: { title: 'Original title' }, revisions: [{ number: 1 }], pendingEdit: null });
    const waiting = { bodySource: `better text for @${mentioned.handle}`, title: 'Better title', reason: 'clearer', note: 'every post in this space is reviewed first' };
    expect((await read(member.token)).pendingEdit).toMatchObject(waiting);
    expect((await read(mod.token)).pendingEdit).toMatchObject(waiting);
    expect((await read(mod.token)).pendingEdit.bodyHtml).toContain(`@${mentioned.handle}`);
    // The second edit replaced the first, and its item: approving the first item (what a moderator
    // may have read) cannot publish the second text. Nothing left the post: no event, no mention, no revision.
    const [superseded, item] = await items();
    expect(await items()).toEqual([{ id: superseded.id, status: 'IGNORED' }, { id: item.id, status: 'PENDING' }]);
    expectError(await resolve(superseded.id, 'APPROVE'), 'CONFLICT');
    expect(await events()).toEqual(before);
    expect(await t.sql(`SELECT user_id FROM post_mentions WHERE post_id = $1`, [postId])).toEqual([]);

    // Ignoring would leave the edit waiting with no item to decide it by: refused, and the item stays.
    expect(expectError(await resolve(item.id, 'IGNORE'), 'BAD_USER_INPUT').message).toMatch(/approved .* or rejected/);
    expect((await items()).at(-1)).toEqual({ id: item.id, status: 'PENDING' });
    expectOk(await resolve(item.id, 'APPROVE'));
    const approved = await read((await makeUser(t)).token);
    expect(approved).toMatchObject({ state: 'VISIBLE', topic: { title: 'Better title' }, revisions: [{ number: 1 }, { number: 2 }], pendingEdit: null });
    expect(approved.bodyHtml).toContain('better text for');
    expect(await t.sql(`SELECT editor_id, reason FROM post_revisions WHERE post_id = $1 AND number = 2`, [postId])).toEqual([{ editor_id: member.id, reason: 'clearer' }]);
    expect(await t.sql(`SELECT user_id FROM post_mentions WHERE post_id = $1`, [postId])).toEqual([{ user_id: mentioned.id }]);
    expect((await events()).slice(before.length)).toEqual(['post.updated']);

    // Rejected: dropped, the post keeps its text.
    expectOk(await t.gql(EDIT, { input: { postId, body: 'something moderators will not want' } }, { token: member.token }));
    const [, , second] = await items();
    expectOk(await resolve(second.id, 'REJECT'));
    expect(await read(member.token)).toMatchObject({ revisions: [{ number: 1 }, { number: 2 }], pendingEdit: null });
    expect((await read(member.token)).bodyHtml).toContain('better text for');

    // An edit proposed before a moderator's own edit cannot undo it: approving it is refused, rejecting it works.
    expectOk(await t.gql(EDIT, { input: { postId, body: 'an edit from an older text' } }, { token: member.token }));
    expectOk(await t.gql(EDIT, { input: { postId, body: 'the moderator fixed a link', reason: 'link' } }, { token: mod.token }));
    const [, , , third] = await items();
    expectError(await resolve(third.id, 'APPROVE'), 'CONFLICT');
    expect((await read(mod.token)).pendingEdit).toMatchObject({ bodySource: 'an edit from an older text' });
    expectOk(await resolve(third.id, 'REJECT'));
    expect(await read(mod.token)).toMatchObject({ bodyHtml: '<p>the moderator fixed a link</p>\n', pendingEdit: null });

    // moderatePost decides a held edit too, and settles its item. Approving may name the version
    // read: one its author replaced since is refused.
    expectOk(await t.gql(EDIT, { input: { postId, body: 'a harmless correction' } }, { token: member.token }));
    const version = (await read(mod.token)).pendingEdit.version;
    expectOk(await t.gql(EDIT, { input: { postId, body: 'approved from the post itself' } }, { token: member.token }));
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state bodyHtml } }`;
    // Rejecting too: it would drop a text its moderator never saw.
    for (const action of ['APPROVE', 'REJECT']) {
      expect(expectError(await t.gql(MOD, { input: { postId, action, pendingEditVersion: version } }, { token: mod.token }), 'CONFLICT').message).toBe('Its author changed the held edit since you read it: read it again');
      expect((await read(mod.token)).pendingEdit).toMatchObject({ bodySource: 'approved from the post itself', version: version + 1 });
    }
    expect(expectOk(await t.gql(MOD, { input: { postId, action: 'APPROVE', pendingEditVersion: version + 1 } }, { token: mod.token })).moderatePost).toEqual({ state: 'VISIBLE', bodyHtml: '<p>approved from the post itself</p>\n' });
    expect((await items()).map((i) => i.status)).toEqual(['IGNORED', 'APPROVED', 'REJECTED', 'REJECTED', 'IGNORED', 'APPROVED']);
    // With no edit waiting, approving a visible post is still refused.
    expectError(await t.gql(MOD, { input: { postId, action: 'APPROVE' } }, { token: mod.token }), 'CONFLICT');
    // A version given as null names none, as one left out: the edit waiting now is approved.
    expectOk(await t.gql(EDIT, { input: { postId, body: 'one more correction' } }, { token: member.token }));
    const decided = (await read(mod.token)).pendingEdit.version;
    expect(expectOk(await t.gql(MOD, { input: { postId, action: 'APPROVE', pendingEditVersion: null } }, { token: mod.token })).moderatePost).toEqual({ state: 'VISIBLE', bodyHtml: '<p>one more correction</p>\n' });
    // A version names one edit for good: the author's next held edit, once that one is decided,
    // is not that version again, so a moderator who read the decided one decides nothing by it.
    expectOk(await t.gql(EDIT, { input: { postId, body: 'a correction nobody read' } }, { token: member.token }));
    expect((await read(mod.token)).pendingEdit.version).toBeGreaterThan(decided);
    for (const action of ['APPROVE', 'REJECT']) {
      expect(expectError(await t.gql(MOD, { input: { postId, action, pendingEditVersion: decided } }, { token: mod.token }), 'CONFLICT').message).toBe('Its author changed the held edit since you read it: read it again');
    }
    expect((await read(mod.token)).pendingEdit).toMatchObject({ bodySource: 'a correction nobody read' });
  });

  it('holds an edit of a post approved while the edit was on its way, as it holds any edit of a visible post', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const member = await makeUser(t, { trustLevel: 3 });
    const created = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { firstPost { id state } } }`, { input: { boardId: await makeBoard(t, s.id), title: 'Waiting for approval', body: 'the reviewed text' } }, { token: member.token })).createTopic;
    expect(created.firstPost.state).toBe('PENDING');
    const postId = created.firstPost.id;
    // The approval holds the post's row while the edit, checked against the still-waiting post, comes to store itself.
    const holder = t.ds.createQueryRunner();
    await holder.connect();
    let edited: any;
    try {
      await holder.startTransaction();
      await holder.query(`UPDATE posts SET state = 'VISIBLE' WHERE id = $1`, [postId]);
      await holder.query(`UPDATE topics SET state = 'VISIBLE' WHERE id = (SELECT topic_id FROM posts WHERE id = $1)`, [postId]);
      const editing = t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body: 'text nobody reviewed' } }, { token: member.token });
      await waitForLockWaits(t, 1, await backendPid(holder));
      await holder.commitTransaction();
      edited = await editing;
    } finally {
      await holder.release();
    }
    expectOk(edited);
    expect(await t.sql(`SELECT body_source FROM posts WHERE id = $1`, [postId])).toEqual([{ body_source: 'the reviewed text' }]);
    expect(await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [postId])).toEqual([{ body_source: 'text nobody reviewed' }]);
  });

  it('refuses to approve a held edit whose author can no longer read the post, and keeps it for a rejection', async () => {
    const member = await makeUser(t, { trustLevel: 3 });
    const s = await makeSpace(t, 'RESTRICTED', [{ userId: mod.id, level: 'MODERATE' }, { userId: member.id, level: 'PARTICIPATE' }]);
    const created = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { firstPost { id } } }`, { input: { boardId: await makeBoard(t, s.id), title: 'Before I left', body: 'first words' } }, { token: member.token })).createTopic;
    const postId = created.firstPost.id;
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body: 'an edit left waiting' } }, { token: member.token }));
    await t.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [s.id, member.id]);
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    expectError(await t.gql(MOD, { input: { postId, action: 'APPROVE' } }, { token: mod.token }), 'CONFLICT');
    expect(await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [postId])).toEqual([{ body_source: 'an edit left waiting' }]);
    expectOk(await t.gql(MOD, { input: { postId, action: 'REJECT' } }, { token: mod.token }));
    expect(await t.sql(`SELECT count(*)::int AS n FROM post_pending_edits WHERE post_id = $1`, [postId])).toEqual([{ n: 0 }]);
  });

  it('withdraws a held edit, and its item, when its author edits again and that edit needs no approval', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const member = await makeUser(t, { trustLevel: 3 });
    const created = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { firstPost { id } } }`, { input: { boardId: await makeBoard(t, s.id), title: 'Second thoughts', body: 'first words' } }, { token: member.token })).createTopic;
    const postId = created.firstPost.id;
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { bodyHtml pendingEdit { bodySource } } }`;
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    expect(expectOk(await t.gql(EDIT, { input: { postId, body: 'a held edit' } }, { token: member.token })).editPost.pendingEdit).toEqual({ bodySource: 'a held edit' });
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "OFF"}' WHERE id = $1`, [s.id]);
    expect(expectOk(await t.gql(EDIT, { input: { postId, body: 'a better edit' } }, { token: member.token })).editPost).toEqual({ bodyHtml: '<p>a better edit</p>\n', pendingEdit: null });
    const items = await t.sql(
      `SELECT i.status, i.resolved_by, (SELECT array_agg(e.action ORDER BY e.id) FROM review_item_events e WHERE e.review_item_id = i.id) AS history
         FROM review_items i WHERE i.kind = 'PENDING_CONTENT' AND i.target_id = $1`,
      [postId],
    );
    expect(items).toEqual([{ status: 'IGNORED', resolved_by: null, history: ['submitted', 'withdrawn'] }]);
  });

  it('withdraws a held edit, and settles its item, when its author deletes the post: restored by a moderator, the post has its approved text and nothing waiting', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const member = await makeUser(t, { trustLevel: 3 });
    const created = expectOk(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id firstPost { id } } }`, { input: { boardId: await makeBoard(t, s.id), title: 'Soon gone', body: 'first words' } }, { token: member.token })).createTopic;
    await waitOut(member);
    const r = expectOk(await t.gql(REPLY, { input: { topicId: created.id, body: 'a reply to edit' } }, { token: member.token })).replyToTopic;
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const READ = `query($id: ID!) { post(id: $id) { state bodySource pendingEdit { bodySource } } }`;
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    // The reply, and the topic's first post (whose item is the topic's): each with an edit held, then deleted by its author.
    // Its author does not restore it (moderators do): the reply they still see as a placeholder, the topic is out of their sight.
    for (const [postId, approved, refusal] of [[r.id, 'a reply to edit', 'FORBIDDEN'], [created.firstPost.id, 'first words', 'NOT_FOUND']] as const) {
      expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body: `${approved}, edited` } }, { token: member.token }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id IN ($1, $2) AND status = 'PENDING'`, [postId, created.id]);
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: postId }, { token: member.token }));
      // The edit went with the post, and its item is settled as its author's withdrawal: nobody resolved it, the author is in its history.
      expect(await t.sql(`SELECT count(*)::int AS n FROM post_pending_edits WHERE post_id = $1`, [postId])).toEqual([{ n: 0 }]);
      expect(await t.sql(`SELECT status, resolved_by FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'IGNORED', resolved_by: null }]);
      expect(await t.sql(`SELECT action, actor_id, note FROM review_item_events WHERE review_item_id = $1 ORDER BY id`, [item.id])).toEqual([
        { action: 'submitted', actor_id: member.id, note: 'every post in this space is reviewed first' },
        { action: 'withdrawn', actor_id: member.id, note: 'the author deleted the post while its edit waited for review' },
      ]);
      // Nothing is left for a moderator to decide: the item is resolved.
      expect(expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }), 'CONFLICT').message).toBe('This item is already resolved');
      expectError(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: postId }, { token: member.token }), refusal);
      // Restored by a moderator, it has its approved text and nothing waiting, for its author and for moderators.
      expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: postId }, { token: mod.token }));
      for (const u of [member, mod]) expect(expectOk(await t.gql(READ, { id: postId }, { token: u.token })).post).toEqual({ state: 'VISIBLE', bodySource: approved, pendingEdit: null });
      expect(await t.sql(`SELECT count(*)::int AS n FROM review_items WHERE target_id IN ($1, $2) AND status = 'PENDING'`, [postId, created.id])).toEqual([{ n: 0 }]);
      expect(await t.sql(`SELECT count(*)::int AS n FROM post_revisions WHERE post_id = $1`, [postId])).toEqual([{ n: 1 }]);
      await waitOut(member);
    }
  });

  it('settles the item of held content its author deletes before a moderator decides it: restored by a moderator, it waits again under a new item', async () => {
    const { member, r, item } = await heldReplyInNewSpace();
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: r.id }, { token: member.token }));
    // Withdrawn by its author: nothing is left for a moderator to decide.
    expect(await t.sql(`SELECT status, resolved_by FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'IGNORED', resolved_by: null }]);
    expect(await t.sql(`SELECT action, actor_id, note FROM review_item_events WHERE review_item_id = $1 ORDER BY id`, [item.id])).toEqual([
      { action: 'submitted', actor_id: member.id, note: 'every post in this space is reviewed first' },
      { action: 'withdrawn', actor_id: member.id, note: 'the author deleted it while it waited for review' },
    ]);
    await expectResolvedThenWaitsAgain(r, item);
  });

  it('rejects the item of held content a moderator deletes with deletePost, as moderatePost DELETE does, another moderator\'s claim and all: restored, it waits again under a new item', async () => {
    const { s, member, r, item } = await heldReplyInNewSpace();
    // Another moderator of the space has claimed it: a claim does not hold deletePost back.
    const other = await makeUser(t);
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) SELECT gen_random_uuid(), space_id, $2, level FROM space_grants WHERE space_id = $1 AND user_id = $3`, [s.id, other.id, mod.id]);
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: other.token }));
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: r.id }, { token: mod.token }));
    // Refused by the moderator who removed it, the claim gone with the item: nothing is left waiting in the queue.
    expect(await t.sql(`SELECT status, resolved_by, claimed_by FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'REJECTED', resolved_by: mod.id, claimed_by: null }]);
    expect(await t.sql(`SELECT action, actor_id FROM review_item_events WHERE review_item_id = $1 ORDER BY id`, [item.id])).toEqual([
      { action: 'submitted', actor_id: member.id },
      { action: 'claimed', actor_id: other.id },
      { action: 'resolved: reject (deleted with deletePost)', actor_id: mod.id },
    ]);
    expect(await t.sql(`SELECT action, actor_id FROM moderation_log WHERE target_id = $1 AND action = 'post.delete'`, [r.id])).toEqual([{ action: 'post.delete', actor_id: mod.id }]);
    await expectResolvedThenWaitsAgain(r, item);
  });

  it('refuses to approve an item left waiting on a deleted post with nothing beside it (CONFLICT, nothing written); REJECT closes it saying nothing was left', async () => {
    const { s, r, item } = await heldReplyInNewSpace();
    // No deletion leaves such an item now (its author's withdraws it, a moderator's rejects it):
    // one left by a deletion from before, the post deleted as applyState deletes it.
    await t.sql(`UPDATE posts SET state = 'DELETED', deleted_from = 'PENDING', deleted_at = now(), deleted_by = $2 WHERE id = $1`, [r.id, mod.id]);
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    expect(expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }), 'CONFLICT').message).toBe(
      'This post was deleted: nothing of it can be approved (restore the post first, or reject or ignore the item)',
    );
    expect(await t.sql(`SELECT status FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'PENDING' }]);
    expect(await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1 ORDER BY id`, [item.id])).toEqual([{ action: 'submitted' }]);
    expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action LIKE 'review.%'`, [r.id])).toEqual([]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM spam_models WHERE space_id = $1`, [s.id])).toEqual([{ n: 0 }]);
    // REJECT closes it, and its history and the log say what it did: nothing, the post being gone.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT' } }, { token: mod.token })).resolveReviewItem.status).toBe('REJECTED');
    expect(await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1 ORDER BY id`, [item.id])).toEqual([
      { action: 'submitted' },
      { action: 'resolved: reject (nothing left: the post was deleted)' },
    ]);
    expect(await t.sql(`SELECT after->>'action' AS action FROM moderation_log WHERE target_id = $1 AND action = 'review.reject'`, [r.id])).toEqual([
      { action: 'nothing left: the post was deleted' },
    ]);
    expect(await t.sql(`SELECT state FROM posts WHERE id = $1`, [r.id])).toEqual([{ state: 'DELETED' }]);
  });

  it('reads a space’s moderation settings once per post, however many rules need them', async () => {
    const member = await makeUser(t, { trustLevel: 1 });
    const cost = await t.countStatements(() => topic(member.token, 'a post that every rule looks at'));
    expect(cost.statements.filter((q) => q.includes('moderation FROM spaces'))).toHaveLength(1);
    // A new member's first day, which the pace of posting asks about before and while storing, is read once.
    const newbie = await makeUser(t, { trustLevel: 0 });
    const newbieCost = await t.countStatements(() => topic(newbie.token, 'a first post'));
    expect(newbieCost.statements.filter((q) => q.includes('AS first_day'))).toHaveLength(1);
  });

  it('does not let silenced users report, users included', async () => {
    const reporter = await makeUser(t);
    const author = await makeUser(t);
    const tp = expectOk(await topic(author.token)).createTopic;
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, space_id, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', NULL, 'test', now() + interval '1 hour')`, [reporter.id]);
    const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;
    expectError(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: tp.id, reason: 'SPAM' } }, { token: reporter.token }), 'FORBIDDEN');
    // A user belongs to no space: the site-wide silence refuses that report too.
    expectError(await t.gql(REPORT, { input: { targetType: 'USER', targetId: author.id, reason: 'ABUSE' } }, { token: reporter.token }), 'FORBIDDEN');
    expect(await t.sql(`SELECT 1 FROM reports WHERE reporter_id = $1`, [reporter.id])).toEqual([]);
    // The same report from someone not silenced goes through (so the refusal above can fail).
    expectOk(await t.gql(REPORT, { input: { targetType: 'USER', targetId: author.id, reason: 'ABUSE' } }, { token: (await makeUser(t)).token }));
  });
});
