import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AUDIT_LOCK } from '../../libs/core/src/audit/audit-log';
import { DomainEvent, EventBus } from '../../libs/core/src/events';
import { OutboxHandlers, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { PostMovesService } from '../../libs/forum/src/posts/post-moves.service';
import { NotificationsWhereTheirPostsAre1765206000000 } from '../../migrations/1765206000000-notifications-where-their-posts-are';
import { HOLD_TOPICS_TRIES, NotificationDraft, NotificationsHandler, TopicsKeptMoving } from '../../libs/notifications/src/notifications.handler';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, forumRowCounts, reply, setPostState } from '../factories/forum';
import { publishedArticle } from '../factories/knowledge';
import { connectLive, heardAfter, heardLive, pushedSoFar } from '../support/live-client';
import { redoMigration } from '../support/migrations';
import { xidOf, waitForWaitsOn } from '../support/lock-waits';
import { HeldLock, holdLock, withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const MOVE = `mutation($input: MovePostsInput!) {
  movePosts(input: $input) { id title tags replyCount reactionCount createdAt author { id } firstPost { id number } space { id } }
}`;
const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
const TOPIC = `query($id: ID!) {
  topic(id: $id) { id replyCount reactionCount lastActivityAt unreadCount acceptedAnswer { id }
    posts(first: 100) { edges { node { id number replyTo { id } } } } }
}`;

describe('moving posts to another topic', () => {
  let t: TestApp;
  let url: string;
  const sockets: Socket[] = [];
  let admin: TestUser;
  let moderator: TestUser;
  let customer: TestUser;
  let other: TestUser;
  let reader: TestUser;
  let employee: TestUser;
  let employees: string;
  let publicSpace: { id: string };
  let internalSpace: { id: string };
  let publicBoard: string;
  let otherBoard: string;
  let internalBoard: string;

  const move = (input: Record<string, unknown>, user: TestUser) => t.gql(MOVE, { input }, { token: user.token });
  const topic = async (id: string, user: TestUser = admin) => expectOk(await t.gql(TOPIC, { id }, { token: user.token })).topic;
  const numbers = (tp: any) => tp.posts.edges.map((e: any) => [e.node.id, e.node.number]);
  const drain = () => t.get(OutboxWorker).drain();

  beforeAll(async () => {
    t = await bootTestApp();
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    employees = await makeGroup(t);
    admin = await makeUser(t, { role: 'ADMIN' });
    moderator = await makeUser(t);
    customer = await makeUser(t);
    other = await makeUser(t);
    reader = await makeUser(t);
    employee = await makeUser(t, { groups: [employees] });
    publicSpace = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    internalSpace = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
    publicBoard = await makeBoard(t, publicSpace.id);
    otherBoard = await makeBoard(t, publicSpace.id);
    internalBoard = await makeBoard(t, internalSpace.id);
    // Replies holding this word wait for a moderator's approval.
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    for (const [pattern, action, publicReason] of [
      ['holdthisreply', 'REQUIRE_APPROVAL', 'Held for a look'],
      ['forbiddenword', 'BLOCK', 'Not that word'],
      ['darnword', 'CENSOR', 'Mind your language'],
    ]) {
      expectOk(await t.gql(RULE, { input: { spaceId: publicSpace.id, pattern, kind: 'WORD', action, publicReason } }, { token: admin.token }));
    }
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  it('splits replies into a new topic: the earliest opens it, as its author wrote it then, and answers nothing left behind', async () => {
    const source = await createTopic(t, customer.token, publicBoard, { title: 'Espresso grind size' });
    const r1 = await reply(t, other.token, source.id, 'Finer than filter.');
    const r2 = await reply(t, other.token, source.id, 'Off topic: which scale do you use?', r1.id);
    const r3 = await reply(t, customer.token, source.id, 'A cheap kitchen scale.', r2.id);
    const r4 = await reply(t, other.token, source.id, 'Cheap scales drift.', r3.id);
    const [{ created_at }] = await t.sql(`SELECT created_at FROM posts WHERE id = $1`, [r2.id]);
    const split = expectOk(await move({ postIds: [r3.id, r2.id], newTopic: { boardId: otherBoard, title: 'Coffee scales', tags: ['Scales'] } }, moderator)).movePosts;
    expect(split).toMatchObject({
      title: 'Coffee scales', tags: ['scales'], replyCount: 1, author: { id: other.id }, firstPost: { id: r2.id, number: 1 },
      createdAt: created_at.toISOString(), space: { id: publicSpace.id },
    });
    const after = await topic(split.id);
    expect(numbers(after)).toEqual([[r2.id, 1], [r3.id, 2]]);
    // The first post answers nothing; a reply to a moved post still answers it.
    expect(after.posts.edges.map((e: any) => e.node.replyTo?.id ?? null)).toEqual([null, r2.id]);
    const left = await topic(source.id);
    expect(numbers(left)).toEqual([[source.firstPostId, 1], [r1.id, 2], [r4.id, 5]]);
    expect(left.replyCount).toBe(2);
    // r4 answered a post that left: it answers nothing now.
    expect(left.posts.edges[2].node.replyTo).toBeNull();
    const [tag] = await t.sql(`SELECT topic_count FROM space_tags WHERE space_id = $1 AND tag = 'scales'`, [publicSpace.id]);
    expect(tag.topic_count).toBe(1);
    const [log] = await t.sql(`SELECT action, target_id, before, after FROM moderation_log WHERE action = 'posts.move' ORDER BY at DESC LIMIT 1`);
    expect(log).toMatchObject({ target_id: split.id, before: { topicId: source.id, posts: [{ id: r2.id, number: 3 }, { id: r3.id, number: 4 }] }, after: { topicId: split.id, newTopic: true } });
  });

  it('merges replies into an existing topic, numbered after its last post, with both topics’ counters, last number and readers kept right', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const keep = await reply(t, other.token, source.id, 'Stays here.');
    const m1 = await reply(t, other.token, source.id, 'Moves first.');
    const m2 = await reply(t, customer.token, source.id, 'Moves second.');
    expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: m1.id, kind: 'LIKE' } }, { token: customer.token }));
    const dest = await createTopic(t, other.token, otherBoard);
    const d2 = await reply(t, customer.token, dest.id, 'Already here.');
    // A reader who read the whole source, up to the posts about to leave.
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId: source.id, postNumber: 4 } }, { token: admin.token }));
    const merged = expectOk(await move({ postIds: [m2.id, m1.id], toTopicId: dest.id }, moderator)).movePosts;
    expect(merged).toMatchObject({ id: dest.id, replyCount: 3, reactionCount: 1 });
    expect(numbers(await topic(dest.id))).toEqual([[dest.firstPostId, 1], [d2.id, 2], [m1.id, 3], [m2.id, 4]]);
    const left = await topic(source.id);
    expect(left).toMatchObject({ replyCount: 1, reactionCount: 0, unreadCount: 0 });
    const [src] = await t.sql(`SELECT last_post_number FROM topics WHERE id = $1`, [source.id]);
    expect(src.last_post_number).toBe(2);
    const [read] = await t.sql(`SELECT last_read_number FROM topic_reads WHERE topic_id = $1 AND user_id = $2`, [source.id, admin.id]);
    expect(read.last_read_number).toBe(2);
    // The next reply takes the number after the highest the source gave (4, moved away), never
    // one a moved post had (before: 3, m1's old number), and is unread for that reader.
    const next = await reply(t, other.token, source.id, 'A new reply.');
    expect(next.number).toBe(5);
    expect((await topic(source.id)).unreadCount).toBe(1);
    expect(keep.number).toBe(2);
    // Its last number is the reply's, its posts numbered 1, 2, 5.
    expect(numbers(await topic(source.id))).toEqual([[source.firstPostId, 1], [keep.id, 2], [next.id, 5]]);
    // Posts moved into it later come after that too; so does the reply after them.
    const d3 = await reply(t, customer.token, dest.id, 'Moves back later.');
    expectOk(await move({ postIds: [d3.id], toTopicId: source.id }, moderator));
    expect((await reply(t, other.token, source.id, 'After it.')).number).toBe(7);
    // The post keeps its id: reading it by id finds it in its new topic.
    const post = expectOk(await t.gql(`query($id: ID!) { post(id: $id) { number topic { id } } }`, { id: m1.id }, { token: customer.token })).post;
    expect(post).toEqual({ number: 3, topic: { id: dest.id } });
  });

  it('never gives a moved post’s number again: a read mark on it, from a page shown before the move, counts no later reply read', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const dest = await createTopic(t, customer.token, otherBoard);
    await reply(t, other.token, source.id, 'Stays.');
    const [a, b] = [await reply(t, other.token, source.id, 'Leaves, one.'), await reply(t, other.token, source.id, 'Leaves, two.')];
    expect([a.number, b.number]).toEqual([3, 4]);
    const stale = await makeUser(t);
    const MARK = `mutation($input: MarkReadInput!) { markRead(input: $input) { lastReadNumber unreadCount } }`;
    expectOk(await t.gql(MARK, { input: { topicId: source.id, postNumber: 2 } }, { token: stale.token }));
    expectOk(await move({ postIds: [a.id, b.id], toTopicId: dest.id }, moderator));
    // A reply after the move, which the reader has not seen: after 4, the highest number the topic gave.
    const fresh = await reply(t, customer.token, source.id, 'After the move.');
    expect(fresh.number).toBe(5);
    // Their client, still showing post 4 as it was before the move, marks it read.
    // Before: the reply took 3, and the mark of 4 went to it (the last post shown), counted read.
    expect(expectOk(await t.gql(MARK, { input: { topicId: source.id, postNumber: 4 } }, { token: stale.token })).markRead).toEqual({ lastReadNumber: 4, unreadCount: 1 });
  });

  it('keeps the marks of readers past the source’s new end at the last post each is shown there, not at a reply still held before it', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    await reply(t, other.token, source.id, 'Stays, shown to all.');
    const held = await reply(t, other.token, source.id, 'Stays, holdthisreply.');
    const leaves = await reply(t, customer.token, source.id, 'Leaves.');
    expect([held.number, leaves.number]).toEqual([3, 4]);
    const dest = await createTopic(t, customer.token, otherBoard);
    const MARK = `mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`;
    // A reader, the held reply's author, a moderator of the space, an admin and a global moderator
    // (by their role alone) read to the end, post 4 included.
    const globalModerator = await makeUser(t, { role: 'MODERATOR' });
    for (const u of [reader, other, moderator, admin, globalModerator]) expectOk(await t.gql(MARK, { input: { topicId: source.id, postNumber: 4 } }, { token: u.token }));
    // When each last read (markRead's `updated_at`), set to long before the move.
    const readAt = '2026-01-02T03:04:05.000Z';
    await t.sql(`UPDATE topic_reads SET updated_at = $2 WHERE topic_id = $1`, [source.id, readAt]);
    expectOk(await move({ postIds: [leaves.id], toTopicId: dest.id }, moderator));
    // A mark the move sets back is not its reader reading: when they last read stays as it was
    // (before: the move's time, and an edit made since they read counted as read).
    const marks = await t.sql(`SELECT user_id, last_read_number, updated_at FROM topic_reads WHERE topic_id = $1 ORDER BY user_id`, [source.id]);
    // Every mark was past the new end (3), the topic's author's on their own post 4 too, and was set back.
    expect(marks.map((m: any) => m.user_id)).toEqual([reader.id, other.id, moderator.id, admin.id, globalModerator.id, customer.id].sort());
    for (const m of marks) expect([m.user_id, m.last_read_number <= 3, m.updated_at.toISOString()]).toEqual([m.user_id, true, readAt]);
    const READ = `query($id: ID!) { topic(id: $id) { lastReadNumber unreadCount } }`;
    const read = async (u: TestUser) => expectOk(await t.gql(READ, { id: source.id }, { token: u.token })).topic;
    // Before: both at 3, the held reply's number, which the reader is not shown.
    expect(await read(reader)).toEqual({ lastReadNumber: 2, unreadCount: 0 });
    // Its author is shown it: their mark stays on it.
    expect((await read(other)).lastReadNumber).toBe(3);
    // So is the space's moderator, as their topic page lists it (before: set back as a reader, to 2).
    expect(await read(moderator)).toEqual({ lastReadNumber: 3, unreadCount: 0 });
    // As is an admin's and a global moderator's: they moderate every space they read.
    for (const u of [admin, globalModerator]) expect(await read(u)).toEqual({ lastReadNumber: 3, unreadCount: 0 });
    // Approved, it is news to the reader, as a reply they never saw; not to the moderator, who saw it.
    await setPostState(t, held.id, 'VISIBLE');
    expect(await read(reader)).toEqual({ lastReadNumber: 2, unreadCount: 1 });
    expect(await read(moderator)).toEqual({ lastReadNumber: 3, unreadCount: 0 });
  });

  /**
   * A topic whose replies are of every kind: `keep` (visible, stays), then those that move:
   * visible and liked, hidden (liked before), held for approval, deleted by its author,
   * visible again (the latest). `other` wrote all but the last, which the topic's author wrote.
   */
  const mixedTopic = async (boardId: string) => {
    const like = async (postId: string, user: TestUser) =>
      expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId, kind: 'LIKE' } }, { token: user.token }));
    const source = await createTopic(t, customer.token, boardId);
    const keep = await reply(t, other.token, source.id, 'Stays here.');
    const visible = await reply(t, other.token, source.id, 'Moves, visible.');
    await like(visible.id, customer);
    const hidden = await reply(t, other.token, source.id, 'Moves, hidden.');
    await like(hidden.id, reader);
    expect(expectOk(await t.gql(MODERATE, { input: { postId: hidden.id, action: 'HIDE' } }, { token: moderator.token })).moderatePost.state).toBe('HIDDEN');
    const held = await reply(t, other.token, source.id, 'Moves, holdthisreply.');
    const deleted = await reply(t, other.token, source.id, 'Moves, deleted.');
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: other.token }));
    const last = await reply(t, customer.token, source.id, 'Moves, visible, the latest.');
    const states = await t.sql(`SELECT state FROM posts WHERE id = ANY($1::uuid[]) ORDER BY number`, [[visible.id, hidden.id, held.id, deleted.id, last.id]]);
    expect(states.map((r: any) => r.state)).toEqual(['VISIBLE', 'HIDDEN', 'PENDING', 'DELETED', 'VISIBLE']);
    /** The source as `user` sees it once they moved: its first post and `keep`, counted alone. */
    const remains = async (user: TestUser) => {
      const left = await view(source.id, user);
      expect(left).toMatchObject({ replyCount: 1, reactionCount: 0, lastActivityAt: await createdAt(keep.id), ids: [source.firstPostId, keep.id], total: 2 });
      return left;
    };
    return { source, remains, moving: [visible.id, hidden.id, held.id, deleted.id, last.id], visible, last };
  };

  const VIEW = `query($id: ID!, $h: String!) {
    topic(id: $id) { replyCount reactionCount lastActivityAt unreadCount posts(first: 100) { totalCount edges { node { id } } } }
    user(handle: $h) { postCount topicCount }
  }`;
  /** A topic as a viewer sees it: its counters, the posts listed to them, and `other`'s activity counts. */
  const view = async (id: string, user: TestUser) => {
    const data = expectOk(await t.gql(VIEW, { id, h: other.handle }, { token: user.token }));
    const { posts, ...counters } = data.topic;
    return { ...counters, ids: posts.edges.map((e: any) => e.node.id), total: posts.totalCount, activity: data.user };
  };
  /** The stored counters of a topic against what its posts add up to now. */
  const recount = async (id: string) =>
    (
      await t.sql(
        `SELECT t.reply_count = (SELECT count(*) FROM posts WHERE topic_id = t.id AND state = 'VISIBLE' AND number > 1)::int AS replies,
                t.reaction_count = (SELECT COALESCE(sum(reaction_total), 0) FROM posts WHERE topic_id = t.id AND state = 'VISIBLE')::int AS reactions,
                t.last_post_number = (SELECT max(number) FROM posts WHERE topic_id = t.id) AS last_number,
                t.last_activity_at = (SELECT max(created_at) FROM posts WHERE topic_id = t.id AND state = 'VISIBLE') AS activity
           FROM topics t WHERE t.id = $1`,
        [id],
      )
    )[0];
  const consistent = { replies: true, reactions: true, last_number: true, activity: true };
  const createdAt = async (id: string) => (await t.sql(`SELECT created_at FROM posts WHERE id = $1`, [id]))[0].created_at.toISOString();

  it('merges visible, hidden, held and deleted replies: every counter on both sides right, as their author, another member and a moderator see them', async () => {
    const dest = await createTopic(t, customer.token, otherBoard);
    const d2 = await reply(t, customer.token, dest.id, 'Already here.');
    const { source, remains, moving, last } = await mixedTopic(publicBoard);
    const MARK = `mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`;
    expectOk(await t.gql(MARK, { input: { topicId: source.id, postNumber: 7 } }, { token: reader.token }));
    expectOk(await t.gql(MARK, { input: { topicId: dest.id, postNumber: 2 } }, { token: reader.token }));
    const viewers = [other, reader, moderator];
    const before = await Promise.all(viewers.map(async (u) => ({ s: await view(source.id, u), d: await view(dest.id, u) })));
    // The hidden post's like no longer counts; the held and deleted posts were never counted.
    expect(before[2].s).toMatchObject({ replyCount: 3, reactionCount: 1 });

    expectOk(await move({ postIds: moving, toTopicId: dest.id }, moderator));

    for (const [i, u] of viewers.entries()) {
      const s = await remains(u);
      const d = await view(dest.id, u);
      const was = before[i];
      expect(d).toMatchObject({ replyCount: 3, reactionCount: 1, lastActivityAt: await createdAt(last.id) });
      // Each sees in the destination exactly what they saw of the moved posts where they were, in order.
      expect(d.ids).toEqual([...was.d.ids, ...was.s.ids.filter((id: string) => moving.includes(id))]);
      expect(d.total).toBe(d.ids.length);
      expect(s.total + d.total).toBe(was.s.total + was.d.total);
      // The author's activity, as each viewer counts it, does not change with the posts' topic.
      expect(s.activity).toEqual(was.s.activity);
    }
    // The author and moderators see the held post; the other member does not.
    expect((await view(dest.id, other)).ids).toContain(moving[2]);
    expect((await view(dest.id, reader)).ids).not.toContain(moving[2]);
    expect((await view(dest.id, moderator)).total).toBe(7);
    // Read to the end on both sides before: nothing unread where they left, the two visible posts of others where they went.
    expect((await view(source.id, reader)).unreadCount).toBe(0);
    expect((await view(dest.id, reader)).unreadCount).toBe(2);
    expect(await recount(source.id)).toEqual(consistent);
    expect(await recount(dest.id)).toEqual(consistent);
    const [log] = await t.sql(`SELECT after FROM moderation_log WHERE action = 'posts.move' AND target_id = $1`, [dest.id]);
    expect(log.after).toMatchObject({ topicId: dest.id, count: 5 });
  });

  it('splits visible, hidden, held and deleted replies into a new topic: every counter on both sides and the board’s right, as each viewer sees them', async () => {
    const { source, remains, moving, visible, last } = await mixedTopic(publicBoard);
    const BOARD = `query($id: ID!) { board(id: $id) { topics(first: 1) { totalCount } } }`;
    const boardCount = async (u: TestUser) => expectOk(await t.gql(BOARD, { id: otherBoard }, { token: u.token })).board.topics.totalCount;
    const viewers = [other, reader, moderator];
    const before = await Promise.all(viewers.map(async (u) => ({ s: await view(source.id, u), board: await boardCount(u) })));

    const split = expectOk(await move({ postIds: moving, newTopic: { boardId: otherBoard, title: 'A mixed bag', tags: ['mixed-bag'] } }, moderator)).movePosts;
    expect(split).toMatchObject({ replyCount: 1, reactionCount: 1, author: { id: other.id }, firstPost: { id: visible.id, number: 1 }, createdAt: await createdAt(visible.id) });

    for (const [i, u] of viewers.entries()) {
      const s = await remains(u);
      const d = await view(split.id, u);
      const was = before[i];
      expect(d).toMatchObject({ replyCount: 1, reactionCount: 1, lastActivityAt: await createdAt(last.id) });
      expect(d.ids).toEqual(was.s.ids.filter((id: string) => moving.includes(id)));
      expect(s.total + d.total).toBe(was.s.total);
      // Their visible post that opens the new topic counts as a topic they started now, no longer as a reply.
      expect(s.activity).toEqual({ postCount: was.s.activity.postCount - 1, topicCount: was.s.activity.topicCount + 1 });
      expect(await boardCount(u)).toBe(was.board + 1);
    }
    expect(await recount(source.id)).toEqual(consistent);
    expect(await recount(split.id)).toEqual(consistent);
    const [tag] = await t.sql(`SELECT topic_count FROM space_tags WHERE space_id = $1 AND tag = 'mixed-bag'`, [publicSpace.id]);
    expect(tag.topic_count).toBe(1);
  });

  it('moves only among forum topics: an idea’s or an article’s replies stay, nothing goes into an idea or an article, and nothing is written', async () => {
    const ideas = await makeBoard(t, publicSpace.id, 'IDEAS');
    const knowledge = await makeBoard(t, publicSpace.id, 'KNOWLEDGE');
    const idea = await createTopic(t, customer.token, ideas, { title: 'Dark mode please' });
    const ideaReply = await reply(t, other.token, idea.id, 'Yes please.');
    const article = await publishedArticle(t, moderator.token, moderator.token, knowledge, { title: 'How to grind' });
    const [{ id: articleFirst }] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [article]);
    const forum = await createTopic(t, customer.token, publicBoard);
    const forumReply = await reply(t, other.token, forum.id, 'A forum reply.');
    const before = await forumRowCounts(t);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ postIds: [ideaReply.id], toTopicId: forum.id }, 'postIds'],
      [{ postIds: [ideaReply.id], newTopic: { boardId: publicBoard, title: 'From an idea' } }, 'postIds'],
      [{ postIds: [idea.firstPostId], toTopicId: forum.id }, 'postIds'],
      [{ postIds: [articleFirst], newTopic: { boardId: publicBoard, title: 'From an article' } }, 'postIds'],
      [{ postIds: [forumReply.id], toTopicId: idea.id }, 'toTopicId'],
      [{ postIds: [forumReply.id], toTopicId: article }, 'toTopicId'],
      [{ postIds: [forumReply.id], newTopic: { boardId: knowledge, title: 'Into the knowledge base' } }, 'newTopic.boardId'],
    ];
    for (const [input, field] of cases) {
      const err = expectError(await move(input, admin), 'BAD_USER_INPUT');
      expect(err.extensions.fields?.map((f: any) => f.field)).toEqual([field]);
    }
    expect(await forumRowCounts(t)).toEqual(before);
  });

  it('screens a split’s new title and tags through watched words as a new topic’s: blocked or held refused with nothing written, censored masked', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const r = await reply(t, other.token, source.id, 'Splits off.');
    const before = await forumRowCounts(t);
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ title: 'About the forbiddenword thing' }, 'newTopic.title', 'Your title was refused: Not that word'],
      [{ title: 'About holdthisreply' }, 'newTopic.title', 'Your title was refused: Held for a look'],
      // A tag cannot be masked: a censored word there is refused.
      [{ title: 'A fine title', tags: ['darnword'] }, 'newTopic.tags', 'Your title was refused: Mind your language'],
    ];
    for (const [wanted, field, message] of cases) {
      const err = expectError(await move({ postIds: [r.id], newTopic: { boardId: otherBoard, ...wanted } }, moderator), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field, message }]);
    }
    expect(await forumRowCounts(t)).toEqual(before);
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'posts.move' AND before->>'topicId' = $1`, [source.id]);
    expect(n).toBe(0);
    const split = expectOk(await move({ postIds: [r.id], newTopic: { boardId: otherBoard, title: 'That Darnword issue' } }, moderator)).movePosts;
    expect(split.title).toBe('That ■■■■■■■■ issue');
    const [row] = await t.sql(`SELECT title FROM topics WHERE id = $1`, [split.id]);
    expect(row.title).toBe('That ■■■■■■■■ issue');
    // Its censoring is logged on the new topic's first post, as a post's is; the refused attempts logged none.
    const censored = await t.sql(`SELECT target_id, space_id FROM moderation_log WHERE action = 'automod.censor' AND target_id = ANY($1::uuid[])`, [[r.id, source.firstPostId]]);
    expect(censored).toEqual([{ target_id: r.id, space_id: publicSpace.id }]);
  });

  it('sends a split whose new title or tags a FLAG rule matches to review: the new topic’s first post, as a flagged post goes', async () => {
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    const input = { spaceId: publicSpace.id, pattern: 'lookatthis', kind: 'WORD', action: 'FLAG', publicReason: 'Worth a look' };
    const rule = expectOk(await t.gql(RULE, { input }, { token: admin.token })).createWatchedWord.id;
    const source = await createTopic(t, customer.token, publicBoard);
    const r1 = await reply(t, other.token, source.id, 'Splits off under a flagged title.');
    const r2 = await reply(t, other.token, source.id, 'Splits off under a flagged tag.');
    const byTitle = expectOk(await move({ postIds: [r1.id], newTopic: { boardId: otherBoard, title: 'About LookAtThis' } }, moderator)).movePosts;
    const byTag = expectOk(await move({ postIds: [r2.id], newTopic: { boardId: otherBoard, title: 'A plain title', tags: ['lookatthis'] } }, moderator)).movePosts;
    // Let through as written: a flag masks nothing.
    expect([byTitle.title, byTag.tags]).toEqual(['About LookAtThis', ['lookatthis']]);
    // What a reply the rule flags gets, for comparison.
    const flagged = await reply(t, other.token, source.id, 'A reply saying lookatthis.');
    const reviewed = async (postId: string) => ({
      items: await t.sql(
        `SELECT i.kind, i.status, i.space_id, i.target_type, e.actor_id, e.action, e.note
           FROM review_items i JOIN review_item_events e ON e.review_item_id = i.id WHERE i.target_id = $1`,
        [postId],
      ),
      log: await t.sql(`SELECT action, actor_id, space_id, after FROM moderation_log WHERE target_id = $1 AND action LIKE 'automod.%'`, [postId]),
    });
    const asAPost = await reviewed(flagged.id);
    expect(asAPost).toEqual({
      items: [{ kind: 'AUTOMOD', status: 'PENDING', space_id: publicSpace.id, target_type: 'POST', actor_id: null, action: 'flagged by automod', note: rule }],
      log: [{ action: 'automod.flag', actor_id: null, space_id: publicSpace.id, after: { ruleIds: [rule] } }],
    });
    for (const split of [byTitle, byTag]) expect(await reviewed(split.firstPost.id)).toEqual(asAPost);
  });

  it('un-accepts a moved accepted answer on the question it left', async () => {
    const question = await createTopic(t, customer.token, publicBoard, { kind: 'QUESTION' });
    const answer = await reply(t, other.token, question.id, 'The answer.');
    expectOk(await t.gql(`mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`, { id: answer.id }, { token: customer.token }));
    const dest = await createTopic(t, other.token, publicBoard);
    expectOk(await move({ postIds: [answer.id], toTopicId: dest.id }, moderator));
    expect((await topic(question.id)).acceptedAnswer).toBeNull();
    expect((await topic(dest.id)).acceptedAnswer).toBeNull();
  });

  it('moves posts into another space’s audience: customers lose them everywhere, employees and search find them in the new topic', async () => {
    const source = await createTopic(t, customer.token, publicBoard, { title: 'Grinder burrs' });
    const leak = await reply(t, employee.token, source.id, 'quokkaburr supplier pricing is internal.');
    const dest = await createTopic(t, employee.token, internalBoard, { title: 'Supplier notes' });
    await drain();
    expect((await t.gql(`query { search(query: "quokkaburr") { totalCount } }`, {}, { token: customer.token })).data.search.totalCount).toBe(1);
    // A moderator of the public side alone may not move them into a space they cannot read.
    expectError(await move({ postIds: [leak.id], toTopicId: dest.id }, moderator), 'NOT_FOUND');
    expectOk(await move({ postIds: [leak.id], toTopicId: dest.id }, admin));
    const SEARCH = `query { search(query: "quokkaburr") { totalCount edges { node { topic { id } post { id number } } } } }`;
    // Not indexed again yet: the customer's search does not find it where it was.
    expect((await t.gql(SEARCH, {}, { token: customer.token })).data.search.totalCount).toBe(0);
    expectError(await t.gql(`query($id: ID!) { post(id: $id) { id } }`, { id: leak.id }, { token: customer.token }), 'NOT_FOUND');
    expect(numbers(await topic(source.id, customer))).toEqual([[source.firstPostId, 1]]);
    const activity = expectOk(await t.gql(`query($h: String!) { user(handle: $h) { posts { edges { node { id } } } } }`, { h: employee.handle }, { token: customer.token }));
    expect(activity.user.posts.edges.map((e: any) => e.node.id)).not.toContain(leak.id);
    await drain();
    expect((await t.gql(SEARCH, {}, { token: customer.token })).data.search.totalCount).toBe(0);
    const found = expectOk(await t.gql(SEARCH, {}, { token: employee.token })).search;
    expect(found.edges.map((e: any) => e.node)).toEqual([{ topic: { id: dest.id }, post: { id: leak.id, number: 2 } }]);
    const [{ space_id }] = await t.sql(`SELECT space_id FROM posts WHERE id = $1`, [leak.id]);
    expect(space_id).toBe(internalSpace.id);
  });

  it('logs a move across spaces in both spaces: each side’s moderators read their side, nothing of the other; a reader of both reads both', async () => {
    const LOG = `{ moderationLog(first: 100) { edges { node { action targetId before after space { id } } } } }`;
    const readsBoth = await makeGroup(t);
    const modA = await makeUser(t);
    const modB = await makeUser(t);
    const globalBoth = await makeUser(t, { role: 'MODERATOR', groups: [readsBoth] });
    const globalA = await makeUser(t, { role: 'MODERATOR' });
    // Neither space reads the other: a moderator of one is no reader of the other.
    const spaceA = await makeSpace(t, 'RESTRICTED', [{ userId: modA.id, level: 'MODERATE' }, { userId: globalA.id, level: 'READ' }, { groupId: readsBoth, level: 'READ' }]);
    const spaceB = await makeSpace(t, 'RESTRICTED', [{ userId: modB.id, level: 'MODERATE' }, { groupId: readsBoth, level: 'READ' }]);
    const boardA = await makeBoard(t, spaceA.id);
    const boardA2 = await makeBoard(t, spaceA.id);
    const boardB = await makeBoard(t, spaceB.id);
    const splitFrom = await createTopic(t, admin.token, boardA);
    const r1 = await reply(t, admin.token, splitFrom.id, 'Splits into the other space.');
    const mergeFrom = await createTopic(t, admin.token, boardA);
    const r2 = await reply(t, admin.token, mergeFrom.id, 'Merges into the other space.');
    const mergeInto = await createTopic(t, admin.token, boardB);
    const whole = await createTopic(t, admin.token, boardA);
    const staysIn = await createTopic(t, admin.token, boardA);
    const title = 'Bravo only heading';
    const split = expectOk(await move({ postIds: [r1.id], newTopic: { boardId: boardB, title } }, admin)).movePosts;
    expectOk(await move({ postIds: [r2.id], toTopicId: mergeInto.id }, admin));
    const MOVE_TOPIC = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
    expectOk(await t.gql(MOVE_TOPIC, { input: { topicId: whole.id, boardId: boardB } }, { token: admin.token }));
    // Within a space, one entry tells both boards, as before.
    expectOk(await t.gql(MOVE_TOPIC, { input: { topicId: staysIn.id, boardId: boardA2 } }, { token: admin.token }));

    const logOf = async (u: TestUser) => expectOk(await t.gql(LOG, {}, { token: u.token })).moderationLog.edges.map((e: any) => e.node);
    const moves = (entries: any[]) =>
      entries
        .filter((e) => ['posts.move', 'topic.move'].includes(e.action))
        .map((e) => ({ action: e.action, targetId: e.targetId, space: e.space?.id ?? null, before: JSON.parse(e.before), after: JSON.parse(e.after) }));
    const sideA = [
      { action: 'topic.move', targetId: staysIn.id, space: spaceA.id, before: { boardId: boardA, spaceId: spaceA.id }, after: { boardId: boardA2, spaceId: spaceA.id } },
      { action: 'topic.move', targetId: whole.id, space: spaceA.id, before: { boardId: boardA, spaceId: spaceA.id }, after: { anotherSpace: true } },
      { action: 'posts.move', targetId: mergeFrom.id, space: spaceA.id, before: { topicId: mergeFrom.id, spaceId: spaceA.id, posts: [{ id: r2.id, number: 2 }] }, after: { anotherSpace: true, count: 1 } },
      { action: 'posts.move', targetId: splitFrom.id, space: spaceA.id, before: { topicId: splitFrom.id, spaceId: spaceA.id, posts: [{ id: r1.id, number: 2 }] }, after: { anotherSpace: true, count: 1 } },
    ];
    const sideB = [
      { action: 'topic.move', targetId: whole.id, space: spaceB.id, before: { anotherSpace: true }, after: { boardId: boardB, spaceId: spaceB.id } },
      {
        action: 'posts.move', targetId: mergeInto.id, space: spaceB.id, before: { anotherSpace: true },
        after: { topicId: mergeInto.id, spaceId: spaceB.id, newTopic: false, count: 1, posts: [{ id: r2.id, number: 2 }] },
      },
      {
        action: 'posts.move', targetId: split.id, space: spaceB.id, before: { anotherSpace: true },
        after: { topicId: split.id, spaceId: spaceB.id, newTopic: true, title, count: 1, posts: [{ id: r1.id, number: 1 }] },
      },
    ];
    // What only one side may know: its space, boards and topics (and a split's title).
    const onlyA = [spaceA.id, boardA, boardA2, splitFrom.id, mergeFrom.id, staysIn.id];
    const onlyB = [spaceB.id, boardB, split.id, mergeInto.id, title];
    const mentions = (entries: any[], words: string[]) => words.filter((w) => JSON.stringify(entries).includes(w));

    // A's moderators, and a global moderator reading A alone: content leaving A, and nothing of B anywhere in their log.
    for (const u of [modA, globalA]) {
      const entries = await logOf(u);
      expect(moves(entries).filter((e) => e.space === spaceA.id)).toEqual(sideA);
      expect(mentions(entries, onlyB)).toEqual([]);
    }
    // B's moderators: content arriving, and nothing of A.
    const entriesB = await logOf(modB);
    expect(moves(entriesB)).toEqual(sideB);
    expect(mentions(entriesB, onlyA)).toEqual([]);
    // A global moderator reading both: both sides, newest first (each move's source entry written first).
    const both = moves(await logOf(globalBoth)).filter((e) => e.space === spaceA.id || e.space === spaceB.id);
    expect(both).toEqual([sideA[0], sideB[0], sideA[1], sideB[1], sideA[2], sideB[2], sideA[3]]);
  });

  it('points notifications about a moved post at its new topic and number', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    await reply(t, customer.token, source.id, 'Filler.');
    const r = await reply(t, customer.token, source.id, `@${other.handle} have a look.`);
    await drain();
    const [before] = await t.sql(`SELECT topic_id, data->>'number' AS number FROM notifications WHERE post_id = $1 AND user_id = $2`, [r.id, other.id]);
    expect(before).toEqual({ topic_id: source.id, number: '3' });
    const split = expectOk(await move({ postIds: [r.id], newTopic: { boardId: publicBoard, title: 'A look' } }, moderator)).movePosts;
    const [after] = await t.sql(`SELECT topic_id, data->>'number' AS number FROM notifications WHERE post_id = $1 AND user_id = $2`, [r.id, other.id]);
    expect(after).toEqual({ topic_id: split.id, number: '1' });
    // Moving is no new post: nobody is told of it again (its author hears it was moved, below).
    await drain();
    expect(await t.sql(`SELECT user_id, kind FROM notifications WHERE post_id = $1 ORDER BY kind`, [r.id])).toEqual([
      { user_id: other.id, kind: 'MENTION' },
      { user_id: customer.id, kind: 'POST_MOVED' },
    ]);
  });

  it('shows notices of posts moved into a space their recipients may not read to none but its readers: nothing of where they went, to a moderator of the side they left neither', async () => {
    const colleague = await makeUser(t, { groups: [employees] });
    const source = await createTopic(t, customer.token, publicBoard, { title: 'Public question' });
    const r = await reply(t, employee.token, source.id, `@${other.handle} @${moderator.handle} @${colleague.handle} have a look.`);
    const removed = await reply(t, customer.token, source.id, 'Removed, then moved away.');
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: removed.id, action: 'DELETE', reason: 'Off topic' } }, { token: moderator.token }));
    const dest = await createTopic(t, employee.token, internalBoard, { title: 'Internal only heading' });
    await drain();
    const LIST = `{ notifications(first: 100) { totalCount edges { node { kind topic { id title } post { id } } } } }`;
    const list = async (u: TestUser) => expectOk(await t.gql(LIST, {}, { token: u.token })).notifications;
    const inSource = (l: any) => l.edges.map((e: any) => e.node).filter((n: any) => n.topic?.id === source.id && n.kind !== 'NEW_TOPIC');
    const mention = (topic: { id: string; title: string }) => ({ kind: 'MENTION', topic, post: { id: r.id } });
    expect(inSource(await list(other))).toEqual([mention({ id: source.id, title: 'Public question' })]);
    expect(inSource(await list(moderator))).toEqual([mention({ id: source.id, title: 'Public question' })]);
    expect(inSource(await list(customer)).map((n: any) => n.kind).sort()).toEqual(['POST_REMOVED', 'WATCHED_REPLY']);
    const before = new Map<TestUser, { total: number; moved: number }>();
    for (const u of [other, moderator, customer]) before.set(u, { total: (await list(u)).totalCount, moved: inSource(await list(u)).length });

    expectOk(await move({ postIds: [r.id, removed.id], toTopicId: dest.id }, admin));
    await drain();
    // Readers of the public side alone, its moderator too: no notice of the moved posts (the removal
    // notice follows its post), counted or listed, and nothing of where they went.
    for (const u of [other, moderator, customer]) {
      const l = await list(u);
      expect(inSource(l)).toEqual([]);
      expect(l.totalCount).toBe(before.get(u)!.total - before.get(u)!.moved);
      // Not listed either, not even as a notice of nothing (no topic, no post).
      expect(l.edges).toHaveLength(l.totalCount);
      expect(JSON.stringify(l)).not.toContain(dest.id);
      expect(JSON.stringify(l)).not.toContain('Internal only heading');
    }
    // A reader of the space they went to: the notice, where the post is now.
    const seen = (await list(colleague)).edges.map((e: any) => e.node).filter((n: any) => n.kind === 'MENTION');
    expect(seen).toEqual([mention({ id: dest.id, title: 'Internal only heading' })]);
  });

  it('stores news of a post that a delivery read before a move where the post is now: the move committed before it is written, or under way as it is', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    await reply(t, customer.token, source.id, 'Filler.');
    const r = await reply(t, customer.token, source.id, `@${other.handle} a look, please.`);
    await drain();
    // News of the post as a delivery read it before the move: its topic then, its number then (as forNewPost drafts a mention).
    const readBefore = (userId: string, tag: string): NotificationDraft => ({
      userId, kind: 'MENTION', topicId: source.id, postId: r.id, actorId: customer.id, data: { number: 3, approved: false }, source: `race-test:${tag}:${r.id}`,
    });
    const stored = () => t.sql(`SELECT topic_id, data->>'number' AS number FROM notifications WHERE post_id = $1 AND user_id = $2 ORDER BY source`, [r.id, reader.id]);

    // The move committed between the delivery's read and its write.
    const mid = await createTopic(t, customer.token, publicBoard);
    expectOk(await move({ postIds: [r.id], toTopicId: mid.id }, moderator));
    await t.get(NotificationsHandler).deliver([readBefore(reader.id, 'after')]);
    expect(await stored()).toEqual([{ topic_id: mid.id, number: '2' }]);

    // A move under way (its posts updated, held at its rewrite of the notices about them) as the delivery writes: the
    // delivery waits for the move's lock on the post and writes where the move put it.
    const dest = await createTopic(t, customer.token, publicBoard);
    await reply(t, customer.token, dest.id, 'Already here.');
    // Read before this move: where the first move put it.
    const during: NotificationDraft = { ...readBefore(reader.id, 'during'), topicId: mid.id, data: { number: 2, approved: false } };
    await withLockHeld(t, `SELECT 1 FROM notifications WHERE post_id = $1 AND user_id = $2 FOR UPDATE`, [r.id, other.id], async (h) => {
      const moving = move({ postIds: [r.id], toTopicId: dest.id }, moderator);
      await h.waiting(1);
      const delivering = t.get(NotificationsHandler).deliver([during]);
      await h.waiting(2);
      await h.release();
      expectOk(await moving);
      await delivering;
    });
    expect(await stored()).toEqual([
      { topic_id: dest.id, number: '3' },
      { topic_id: dest.id, number: '3' },
    ]);
  });

  it('puts notices stored where their post was before it moved where it is now, a removal notice of a reply too (migration)', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    await reply(t, customer.token, source.id, 'Filler.');
    const told = await reply(t, customer.token, source.id, 'Told of.');
    const removed = await reply(t, customer.token, source.id, 'Removed, then moved.');
    const dest = await createTopic(t, customer.token, publicBoard);
    await reply(t, customer.token, dest.id, 'Already here.');
    // One more: their numbers there (4 and 5) are not those they had (3 and 4), so the rewrite of data.number shows.
    await reply(t, customer.token, dest.id, 'Also here.');
    expectOk(await move({ postIds: [told.id, removed.id], toTopicId: dest.id }, moderator));
    // As earlier releases left them: a delivery that read the post before the move, and a removal notice the move passed by.
    const stale = [
      [other.id, 'MENTION', told.id, null, { number: told.number, approved: false }, `post:${told.id}`],
      [customer.id, 'POST_REMOVED', null, removed.id, { number: removed.number, rejected: false }, `removed:${removed.id}:9`],
      // About no post: left as it is.
      [customer.id, 'POST_REMOVED', null, null, { number: 4, rejected: false }, 'removed:gone:1'],
    ];
    for (const [userId, kind, postId, removedPostId, data, src] of stale) {
      await t.sql(`INSERT INTO notifications (id, user_id, kind, topic_id, post_id, removed_post_id, data, source) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7)`, [
        userId, kind, source.id, postId, removedPostId, data, src,
      ]);
    }
    await redoMigration(t, new NotificationsWhereTheirPostsAre1765206000000());
    const rows = await t.sql(`SELECT source, topic_id, data FROM notifications WHERE source = ANY($1::text[])`, [stale.map((r) => r[5])]);
    const bySource = (a: { source: string }, b: { source: string }) => a.source.localeCompare(b.source);
    expect(rows.sort(bySource)).toEqual(
      [
        { source: `post:${told.id}`, topic_id: dest.id, data: { number: 4, approved: false } },
        { source: `removed:${removed.id}:9`, topic_id: dest.id, data: { number: 5, rejected: false } },
        { source: 'removed:gone:1', topic_id: source.id, data: { number: 4, rejected: false } },
      ].sort(bySource),
    );
  });

  it('a delivery holding a post for its news never deadlocks with a move of it: it holds the topic first (topics before posts), as the move does', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const r = await reply(t, customer.token, source.id, `@${reader.handle} mind this.`);
    const dest = await createTopic(t, customer.token, publicBoard);
    await drain();
    const draft: NotificationDraft = { userId: reader.id, kind: 'MENTION', topicId: source.id, postId: r.id, actorId: customer.id, data: { number: 2, approved: false }, source: `deadlock-test:${r.id}` };
    // Each attempt of the move (a deadlock's victim is run again by UnitOfWork) writes once.
    const writes = jest.spyOn(t.get(PostMovesService) as any, 'write');
    try {
      // The recipient's account held: the delivery waits there, holding what it took before it; the
      // move then waits for the delivery; once the account is let go, neither may wait for the other.
      await withLockHeld(t, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, [reader.id], async (h) => {
        const delivering = t.get(NotificationsHandler).deliver([draft]);
        await h.waiting(1);
        const moving = move({ postIds: [r.id], toTopicId: dest.id }, moderator);
        await h.waiting(2);
        await h.release();
        await delivering;
        expectOk(await moving);
      });
      expect(writes).toHaveBeenCalledTimes(1);
    } finally {
      writes.mockRestore();
    }
    expect(await t.sql(`SELECT topic_id, data->>'number' AS number FROM notifications WHERE source = $1`, [draft.source])).toEqual([{ topic_id: dest.id, number: '2' }]);
  });

  it('a delivery whose post moved while it waited for the post’s topic holds the topics it is in now in id order, never one after a later one, and deadlocks with no second move of it', async () => {
    const a = await createTopic(t, customer.token, publicBoard);
    const b = await createTopic(t, customer.token, publicBoard);
    // The post starts in the topic of the higher id, and moves to the lower one.
    const [low, high] = [a.id, b.id].sort();
    const r = await reply(t, customer.token, high, `@${reader.handle} follow me.`);
    await drain();
    const draft: NotificationDraft = { userId: reader.id, kind: 'MENTION', topicId: high, postId: r.id, actorId: customer.id, data: { number: 2, approved: false }, source: `second-move-test:${r.id}` };
    // A first move holds the post's topic: the delivery waits for it there.
    const first = await holdLock(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [high]);
    let second: HeldLock | undefined;
    try {
      const delivering = t.get(NotificationsHandler).deliver([draft]);
      const delivered = delivering.then(() => 'delivered', (err: unknown) => err);
      await first.waiting(1);
      // The move puts the post in the lower topic while the delivery waits.
      await t.sql(`UPDATE posts SET topic_id = $1 WHERE id = $2`, [low, r.id]);
      // A second move of it, back where it was, holds its topics in id order, as movePosts does: the lower one first.
      second = await holdLock(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [low]);
      await first.release();
      // The delivery, past the first move, now waits for the post's topic where the second move holds it.
      await waitForWaitsOn(t, await xidOf(second), 1);
      // The second move takes its other topic: held by the delivery, had it kept it while it waits, a deadlock.
      await second.query(`SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [high]);
      await second.query(`UPDATE posts SET topic_id = $1 WHERE id = $2`, [high, r.id]);
      await second.release();
      expect(await delivered).toBe('delivered');
    } finally {
      await first.release();
      await second?.release();
    }
    expect(await t.sql(`SELECT topic_id, data->>'number' AS number FROM notifications WHERE source = $1`, [draft.source])).toEqual([{ topic_id: high, number: '2' }]);
  });

  it('a delivery whose post moves on and on while it waits for its topics fails after HOLD_TOPICS_TRIES, for the outbox to try again later (a warning, not an error), rather than chase it', async () => {
    const first = await createTopic(t, customer.token, publicBoard);
    const r = await reply(t, customer.token, first.id, `@${reader.handle} follow me.`);
    // A topic for each move, held in turn as a move would: the delivery never holds the one held next.
    const topics: string[] = [];
    for (let i = 0; i < HOLD_TOPICS_TRIES; i++) topics.push((await createTopic(t, customer.token, publicBoard)).id);
    await drain();
    const draft: NotificationDraft = { userId: reader.id, kind: 'MENTION', topicId: first.id, postId: r.id, actorId: customer.id, data: { number: 2, approved: false }, source: `moving-on-test:${r.id}` };
    const locks: HeldLock[] = [await holdLock(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [first.id])];
    let gaveUp: unknown;
    try {
      const delivered = t.get(NotificationsHandler).deliver([draft]).then(() => 'delivered', (err: unknown) => err);
      await locks[0].waiting(1);
      for (const [i, to] of topics.entries()) {
        // While the delivery waits for the post's topic, a move puts the post in another, and holds that one.
        await t.sql(`UPDATE posts SET topic_id = $1 WHERE id = $2`, [to, r.id]);
        const next = await holdLock(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [to]);
        locks.push(next);
        await locks[i].release();
        if (i < topics.length - 1) await waitForWaitsOn(t, await xidOf(next), 1);
      }
      await locks[locks.length - 1].release();
      gaveUp = await delivered;
      expect(gaveUp).toEqual(expect.objectContaining({ name: 'TopicsKeptMoving', message: expect.stringContaining(`moved out of the topics held for their delivery ${HOLD_TOPICS_TRIES} times in a row`) }));
    } finally {
      for (const l of locks) await l.release();
    }
    expect(await t.sql(`SELECT 1 FROM notifications WHERE source = $1`, [draft.source])).toEqual([]);
    // What the outbox makes of it, thrown by a handler of an event: a try counted, the event due
    // again after its back-off, logged as a warning with the error as it is, and no error logged.
    await drain();
    await t.sql(`INSERT INTO outbox (type, aggregate_type, aggregate_id, version, payload) VALUES ('test.topics_kept_moving', 'post', $1, 1, '{}')`, [r.id]);
    const handlers = new OutboxHandlers();
    handlers.register({ name: 'test', handles: (type) => type === 'test.topics_kept_moving', handle: () => Promise.reject(gaveUp) });
    const worker = new OutboxWorker(t.get(DataSource), handlers);
    const log = (worker as unknown as { log: Logger }).log;
    const [warned, failed] = [jest.spyOn(log, 'warn').mockImplementation(() => undefined), jest.spyOn(log, 'error').mockImplementation(() => undefined)];
    expect(await worker.drainOnce()).toBe(0);
    expect(failed).not.toHaveBeenCalled();
    expect(warned).toHaveBeenCalledWith(expect.objectContaining({ err: expect.objectContaining({ name: 'TopicsKeptMoving' }) }), expect.stringContaining('retried'));
    expect(await t.sql(`SELECT attempts, available_at > now() AS later, processed_at IS NULL AS waiting, last_error FROM outbox WHERE type = 'test.topics_kept_moving'`)).toEqual([
      { attempts: 1, later: true, waiting: true, last_error: (gaveUp as Error).message },
    ]);
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE type = 'test.topics_kept_moving'`);
  });

  it('holds back only the event whose post keeps moving when a batch gives up (TopicsKeptMoving): the outbox tries the batch’s events one by one, the others delivered at once, with no failed try counted against them', async () => {
    const [a, b] = [await createTopic(t, customer.token, publicBoard), await createTopic(t, customer.token, publicBoard)];
    await drain();
    const moving = await reply(t, customer.token, a.id, `@${reader.handle} I keep moving.`);
    const still = await reply(t, customer.token, b.id, `@${reader.handle} I stay.`);
    // Every delivery about the moving post gives up, as one would whose post moved HOLD_TOPICS_TRIES times while it waited.
    const handler = t.get(NotificationsHandler) as unknown as { writeHoldingTopics: (postIds: string[], ...rest: unknown[]) => Promise<unknown> };
    const write = handler.writeHoldingTopics.bind(handler);
    const gaveUp = jest.spyOn(handler, 'writeHoldingTopics').mockImplementation((postIds: string[], ...rest: unknown[]) =>
      postIds.includes(moving.id) ? Promise.reject(new TopicsKeptMoving(HOLD_TOPICS_TRIES)) : write(postIds, ...rest),
    );
    const worker = t.get(OutboxWorker);
    const log = (worker as unknown as { log: Logger }).log;
    const failed = jest.spyOn(log, 'error').mockImplementation(() => undefined);
    try {
      // One batch: both posts' news in one round, which gives up for both.
      expect(await worker.drainOnce()).toBeGreaterThan(0);
      expect(failed).not.toHaveBeenCalled();
    } finally {
      gaveUp.mockRestore();
      failed.mockRestore();
    }
    const event = async (postId: string) =>
      (await t.sql(`SELECT attempts, processed_at IS NOT NULL AS processed, available_at > now() AS later, available_at = 'infinity' AS parked, last_error FROM outbox WHERE type = 'post.created' AND aggregate_id = $1`, [postId]))[0];
    expect(await event(still.id)).toEqual({ attempts: 1, processed: true, later: false, parked: false, last_error: null });
    expect(await event(moving.id)).toEqual({ attempts: 1, processed: false, later: true, parked: false, last_error: expect.stringContaining('moved out of the topics held') });
    expect(await t.sql(`SELECT post_id FROM notifications WHERE user_id = $1 AND post_id = ANY($2::uuid[])`, [reader.id, [moving.id, still.id]])).toEqual([{ post_id: still.id }]);
    // Tried again once due, it is delivered.
    await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'post.created' AND aggregate_id = $1`, [moving.id]);
    await drain();
    expect(await t.sql(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND post_id = $2`, [reader.id, moving.id])).toEqual([{ n: 1 }]);
  });

  it('tells the moved posts’ authors, once each, where their posts went, but not the mover, nor an author who may not read it there', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const c1 = await reply(t, customer.token, source.id, 'First of mine.');
    const o1 = await reply(t, other.token, source.id, 'Mine.');
    const c2 = await reply(t, customer.token, source.id, 'Second of mine.');
    const m1 = await reply(t, moderator.token, source.id, 'The mover’s own.');
    await drain();
    const since = (await t.sql(`SELECT coalesce(max(created_at), now()) AS at FROM notifications`))[0].at;
    const split = expectOk(await move({ postIds: [c1.id, o1.id, c2.id, m1.id], newTopic: { boardId: publicBoard, title: 'Split off' } }, moderator)).movePosts;
    await drain();
    const told = await t.sql(
      `SELECT user_id, topic_id, post_id, actor_id, data FROM notifications WHERE kind = 'POST_MOVED' AND created_at >= $1 AND topic_id = $2 ORDER BY user_id`,
      [since, split.id],
    );
    expect(told).toEqual(
      [
        { user_id: customer.id, topic_id: split.id, post_id: c1.id, actor_id: moderator.id, data: { count: 2, number: 1 } },
        { user_id: other.id, topic_id: split.id, post_id: o1.id, actor_id: moderator.id, data: { count: 1, number: 2 } },
      ].sort((a, b) => a.user_id.localeCompare(b.user_id)),
    );
    // Read as any notification: the author opens the post where it is now.
    const listed = expectOk(await t.gql(`{ notifications(first: 20) { edges { node { kind actor { id } topic { id } post { id } } } } }`, {}, { token: other.token }));
    expect(listed.notifications.edges.map((e: any) => e.node)).toContainEqual({ kind: 'POST_MOVED', actor: { id: moderator.id }, topic: { id: split.id }, post: { id: o1.id } });

    // Moved where its author may not read it: they are not told where.
    const out = await reply(t, customer.token, source.id, 'Soon out of my reach.');
    const dest = await createTopic(t, employee.token, internalBoard);
    await drain();
    expectOk(await move({ postIds: [out.id], toTopicId: dest.id }, admin));
    await drain();
    expect(await t.sql(`SELECT 1 FROM notifications WHERE kind = 'POST_MOVED' AND post_id = $1`, [out.id])).toEqual([]);
  });

  it('moves open reports on a moved post to the queue of its new space', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const r = await reply(t, customer.token, source.id, 'Reported reply.');
    expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: r.id, reason: 'OFF_TOPIC' } }, { token: other.token }));
    const dest = await createTopic(t, employee.token, internalBoard);
    expectOk(await move({ postIds: [r.id], toTopicId: dest.id }, admin));
    const [item] = await t.sql(`SELECT space_id FROM review_items WHERE target_id = $1 AND status = 'PENDING'`, [r.id]);
    expect(item.space_id).toBe(internalSpace.id);
  });

  it('refuses, writing nothing: not a moderator of a side, a first post, posts of two topics, 0 or over 200 ids, both or neither destination, a deleted side', async () => {
    const a = await createTopic(t, customer.token, publicBoard);
    const ra = await reply(t, other.token, a.id);
    const b = await createTopic(t, customer.token, publicBoard);
    const rb = await reply(t, other.token, b.id);
    const internal = await createTopic(t, employee.token, internalBoard);
    const ideas = await makeBoard(t, publicSpace.id, 'IDEAS');
    const gone = await createTopic(t, customer.token, publicBoard);
    const goneReply = await reply(t, other.token, gone.id);
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: gone.firstPostId }, { token: admin.token }));
    const before = await forumRowCounts(t);
    const ids = (n: number) => Array.from({ length: n }, () => ra.id);
    const cases: Array<[Record<string, unknown>, TestUser, string]> = [
      [{ postIds: [ra.id], toTopicId: b.id }, customer, 'FORBIDDEN'],
      [{ postIds: [ra.id], toTopicId: internal.id }, moderator, 'NOT_FOUND'],
      [{ postIds: [ra.id], newTopic: { boardId: internalBoard, title: 'Elsewhere' } }, moderator, 'NOT_FOUND'],
      [{ postIds: [a.firstPostId], toTopicId: b.id }, moderator, 'BAD_USER_INPUT'],
      [{ postIds: [ra.id, rb.id], toTopicId: internal.id }, admin, 'BAD_USER_INPUT'],
      [{ postIds: [], toTopicId: b.id }, moderator, 'BAD_USER_INPUT'],
      [{ postIds: ids(201), toTopicId: b.id }, moderator, 'BAD_USER_INPUT'],
      [{ postIds: [ra.id], toTopicId: b.id, newTopic: { boardId: publicBoard, title: 'Both' } }, moderator, 'BAD_USER_INPUT'],
      // A new topic's title of 202 characters as PostgreSQL counts them (emoji with U+FE0F), 101 as Length does.
      [{ postIds: [ra.id], newTopic: { boardId: publicBoard, title: '\u2764\ufe0f'.repeat(101) } }, moderator, 'BAD_USER_INPUT'],
      [{ postIds: [ra.id] }, moderator, 'BAD_USER_INPUT'],
      [{ postIds: [ra.id], toTopicId: a.id }, moderator, 'BAD_USER_INPUT'],
      [{ postIds: [ra.id], newTopic: { boardId: ideas, title: 'An idea' } }, moderator, 'BAD_USER_INPUT'],
      [{ postIds: [ra.id], toTopicId: gone.id }, moderator, 'NOT_FOUND'],
      [{ postIds: [goneReply.id], toTopicId: b.id }, moderator, 'NOT_FOUND'],
    ];
    for (const [input, user, code] of cases) expectError(await move(input, user), code);
    // A hidden earliest post cannot open a new topic.
    await setPostState(t, ra.id, 'HIDDEN');
    expectError(await move({ postIds: [ra.id], newTopic: { boardId: publicBoard, title: 'Hidden opener' } }, moderator), 'BAD_USER_INPUT');
    expect(await forumRowCounts(t)).toEqual(before);
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'posts.move' AND target_id = ANY($1::uuid[])`, [[a.id, b.id, internal.id, gone.id]]);
    expect(n).toBe(0);
  });

  it('keeps both topics’ numbers unique, the destination’s consecutive, under replies waiting with the move for their rows', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const moving: string[] = [];
    for (let i = 0; i < 5; i++) moving.push((await reply(t, other.token, source.id, `Moving ${i}`)).id);
    const dest = await createTopic(t, customer.token, otherBoard);
    const REPLY = `mutation($input: ReplyInput!) { replyToTopic(input: $input) { number } }`;
    const replyTo = (topicId: string, body: string) => t.gql(REPLY, { input: { topicId, body } }, { token: customer.token });
    // Both topics held, so a reply queues before the move and others after it, all waiting at
    // once (the tests' pool has five connections: the holder asks who waits itself).
    const results = await withLockHeld(t, `SELECT id FROM topics WHERE id = ANY($1::uuid[]) FOR UPDATE`, [[source.id, dest.id]], async (h) => {
      const before = replyTo(dest.id, 'Before');
      await h.waiting(1);
      const moved = move({ postIds: moving, toTopicId: dest.id }, moderator);
      await h.waiting(2);
      const after = [replyTo(dest.id, 'After'), replyTo(source.id, 'Stays')];
      await h.waiting(4);
      await h.release();
      return Promise.all([before, moved, ...after]);
    });
    for (const r of results) expectOk(r);
    const numbersOf = async (topicId: string) => (await t.sql(`SELECT number FROM posts WHERE topic_id = $1 ORDER BY number`, [topicId])).map((r: any) => r.number);
    expect(await numbersOf(dest.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const [d] = await t.sql(`SELECT last_post_number, reply_count FROM topics WHERE id = $1`, [dest.id]);
    expect(d).toEqual({ last_post_number: 8, reply_count: 7 });
    // The source's reply took the number after its last post, whichever of it and the move went first.
    const left = await numbersOf(source.id);
    expect(left).toHaveLength(2);
    const [s] = await t.sql(`SELECT last_post_number, reply_count FROM topics WHERE id = $1`, [source.id]);
    expect(s).toEqual({ last_post_number: left[1], reply_count: 1 });
    // The moved posts stay together, in the order they were written.
    const moved = await t.sql(`SELECT id, number FROM posts WHERE id = ANY($1::uuid[]) ORDER BY number`, [moving]);
    expect(moved.map((r: any) => r.id)).toEqual(moving);
    expect(moved[4].number - moved[0].number).toBe(4);
  });

  it('tells the room of the topic they left that they went, and the destination’s room that they arrived', async () => {
    const connect = (token: string) => connectLive(url, sockets, token);
    const source = await createTopic(t, customer.token, publicBoard);
    const r = await reply(t, employee.token, source.id, 'Belongs with the staff notes.');
    const dest = await createTopic(t, employee.token, internalBoard);
    const reader = await connect(customer.token);
    const staff = await connect(employee.token);
    expect(await reader.timeout(5000).emitWithAck('topic:join', { topicId: source.id })).toEqual({ ok: true });
    expect(await staff.timeout(5000).emitWithAck('topic:join', { topicId: dest.id })).toEqual({ ok: true });
    // Picked by post and topic: the reply's own creation, or the destination's, may still be on its way to the rooms.
    const leaving = heardLive(reader, 'post:removed').first((e) => e.postId === r.id);
    const arriving = heardLive(staff, 'post:created').first((e) => e.post?.id === r.id && e.topicId === dest.id);
    let leakedToReader = false;
    // Of the reader's one room, the source, only the reply's own creation may come late: any other topic's post is a leak.
    reader.on('post:created', (e: any) => e.topicId !== source.id && (leakedToReader = true));
    expectOk(await move({ postIds: [r.id], toTopicId: dest.id }, admin));
    expect(await leaving).toMatchObject({ topicId: source.id, postId: r.id });
    expect(await arriving).toMatchObject({ topicId: dest.id, post: { id: r.id, number: 2, bodyHtml: expect.stringContaining('staff notes') } });
    // The arrival is newer than the removal (README, Order): a client in both rooms keeping the highest
    // version per post keeps it, which the same version (until 2026-12-07) made it drop as the same state.
    const [left, arrived] = [(await leaving).version, (await arriving).post.version];
    expect(left).toEqual(expect.any(Number));
    expect(left).toBeLessThan(arrived);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(leakedToReader).toBe(false);
  });

  it('files moved posts anew in search even out of a busier topic: a document’s version, its post’s plus its topic’s, grows with the move', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    for (let i = 0; i < 3; i++) await reply(t, customer.token, source.id, `Filler ${i}.`);
    const a = await reply(t, other.token, source.id, 'First quillmove reply.');
    const held = await reply(t, other.token, source.id, 'Held quillmove holdthisreply.');
    await drain();
    const split = expectOk(await move({ postIds: [a.id, held.id], newTopic: { boardId: otherBoard, title: 'Quill moves' } }, moderator)).movePosts;
    await drain();
    const SEARCH = `query { search(query: "quillmove") { edges { node { topic { id } post { id } } } } }`;
    const hits = expectOk(await t.gql(SEARCH, {}, { token: reader.token })).search.edges.map((e: any) => [e.node.topic.id, e.node.post.id]);
    expect(hits).toEqual([[split.id, a.id]]);
    // The held one too, for the moderators who search held posts.
    const docs = await t.sql(`SELECT id, topic_id, post_number, state FROM search_documents WHERE id = ANY($1::uuid[]) ORDER BY post_number`, [[a.id, held.id]]);
    expect(docs).toEqual([{ id: a.id, topic_id: split.id, post_number: 1, state: 'VISIBLE' }, { id: held.id, topic_id: split.id, post_number: 2, state: 'PENDING' }]);
  });

  it('keeps the source’s activity when the visible reply moving out did not set it: a held reply’s approval after it, later than any post left was written, stays', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const dest = await createTopic(t, customer.token, otherBoard);
    const b = await reply(t, other.token, source.id, 'Reply B, visible at once.');
    const a = await reply(t, customer.token, source.id, 'Reply A, holdthisreply.');
    expect(expectOk(await t.gql(MODERATE, { input: { postId: a.id, action: 'APPROVE' } }, { token: moderator.token })).moderatePost.state).toBe('VISIBLE');
    // As written at 9:00 (the topic), 10:00 (A) and 10:30 (B), A approved at 11:00: the topic's activity.
    const activity = async () => (await t.sql(`SELECT last_activity_at::text AS at FROM topics WHERE id = $1`, [source.id]))[0].at as string;
    const approved = await activity();
    await t.sql(`UPDATE topics SET created_at = $2::timestamptz - interval '2 hours' WHERE id = $1`, [source.id, approved]);
    await t.sql(`UPDATE posts SET created_at = $2::timestamptz - interval '2 hours' WHERE topic_id = $1 AND number = 1`, [source.id, approved]);
    await t.sql(`UPDATE posts SET created_at = $2::timestamptz - interval '1 hour' WHERE id = $1`, [a.id, approved]);
    await t.sql(`UPDATE posts SET created_at = $2::timestamptz - interval '30 minutes' WHERE id = $1`, [b.id, approved]);

    expectOk(await move({ postIds: [b.id], toTopicId: dest.id }, moderator));
    // B (10:30) did not set it: the topic keeps 11:00, not A's 10:00, and does not sink in its board.
    expect(await activity()).toBe(approved);
  });

  it.each([
    ['held', 'PENDING'],
    ['hidden', 'HIDDEN'],
    ['deleted', 'DELETED'],
  ])('moves only a %s reply as no change of either topic readers see (version, activity, updated_at kept, no topic:updated to them), its search document filed where it went', async (kind, state) => {
    const moderate = async (postId: string, action: string) => expectOk(await t.gql(MODERATE, { input: { postId, action } }, { token: moderator.token })).moderatePost.state;
    // The destination written first: its version is below the source's, which the moved post's document carried.
    const dest = await createTopic(t, customer.token, otherBoard);
    const source = await createTopic(t, customer.token, publicBoard);
    for (let i = 0; i < 3; i++) await reply(t, customer.token, source.id, `Filler ${i}.`);
    const word = `quietmove${kind}`;
    const r = await reply(t, other.token, source.id, `The ${word} reply${kind === 'held' ? ', holdthisreply' : ''}.`);
    if (kind === 'hidden') expect(await moderate(r.id, 'HIDE')).toBe('HIDDEN');
    if (kind === 'deleted') expect(await moderate(r.id, 'DELETE')).toBe('DELETED');
    // The source's latest reply waited an hour and was approved: its activity is the approval's time, not when it was written.
    const late = await reply(t, customer.token, source.id, 'Late, holdthisreply.');
    await t.sql(`UPDATE posts SET created_at = created_at - interval '1 hour' WHERE id = $1`, [late.id]);
    expect(await moderate(late.id, 'APPROVE')).toBe('VISIBLE');
    expect((await t.sql(`SELECT state FROM posts WHERE id = $1`, [r.id]))[0].state).toBe(state);
    await drain();
    const SEEN = `query($id: ID!) { topic(id: $id) { version lastActivityAt replyCount reactionCount unreadCount } }`;
    const seen = async (id: string) => ({
      ...expectOk(await t.gql(SEEN, { id }, { token: reader.token })).topic,
      updatedAt: (await t.sql(`SELECT updated_at::text AS u FROM topics WHERE id = $1`, [id]))[0].u as string,
    });
    const before = { source: await seen(source.id), dest: await seen(dest.id) };
    // A reader in both topics' rooms and both boards'.
    const s = await connectLive(url, sockets, reader.token);
    for (const topicId of [source.id, dest.id]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    for (const boardId of [publicBoard, otherBoard]) expect(await s.timeout(5000).emitWithAck('board:join', { boardId })).toEqual({ ok: true });
    const updated = await heardAfter(t, s, 'topic:updated');

    expectOk(await move({ postIds: [r.id], toTopicId: dest.id }, moderator));
    await drain();
    await pushedSoFar(t, [s]);

    expect(updated.soFar()).toEqual([]);
    expect({ source: await seen(source.id), dest: await seen(dest.id) }).toEqual(before);
    expect((await t.sql(`SELECT topic_id, number FROM posts WHERE id = $1`, [r.id]))[0]).toEqual({ topic_id: dest.id, number: 2 });
    // Its search document followed it, for the moderators who search such posts: not left where it was.
    const SEARCH = `query($q: String!) { search(query: $q, filter: { includeModerated: true }) { edges { node { topic { id } post { id number } } } } }`;
    const hits = expectOk(await t.gql(SEARCH, { q: word }, { token: moderator.token })).search.edges.map((e: any) => [e.node.topic.id, e.node.post.id, e.node.post.number]);
    expect(hits).toEqual([[dest.id, r.id, 2]]);
    const docs = await t.sql(`SELECT topic_id, post_number, state FROM search_documents WHERE id = $1`, [r.id]);
    expect(docs).toEqual([{ topic_id: dest.id, post_number: 2, state }]);
  });

  it('tells of a move in one post.moved event naming every post, and rooms see each leave and arrive', async () => {
    const connect = (token: string) => connectLive(url, sockets, token);
    const source = await createTopic(t, customer.token, publicBoard);
    const a = await reply(t, other.token, source.id, 'First reply.');
    const b = await reply(t, other.token, source.id, 'Second reply.');
    const held = await reply(t, other.token, source.id, 'Held: holdthisreply.');
    const inSource = await connect(reader.token);
    const onBoard = await connect(reader.token);
    const author = await connect(other.token);
    expect(await inSource.timeout(5000).emitWithAck('topic:join', { topicId: source.id })).toEqual({ ok: true });
    expect(await onBoard.timeout(5000).emitWithAck('board:join', { boardId: otherBoard })).toEqual({ ok: true });
    const removed: string[] = [];
    const allRemoved = new Promise<void>((resolve) => inSource.on('post:removed', (e: any) => removed.push(e.postId) === 2 && resolve()));
    // Picked by what this move made (the new topic, the held post in it): the replies' own creations may still be on their way.
    const created = heardLive(onBoard, 'topic:created');
    const arrivals = heardLive(author, 'post:created');
    const [{ last }] = await t.sql(`SELECT COALESCE(max(id), 0) AS last FROM outbox`);

    const split = expectOk(await move({ postIds: [held.id, b.id, a.id], newTopic: { boardId: otherBoard, title: 'Three moved' } }, moderator)).movePosts;

    // The move's events: the new topic, the source's update, and one post.moved naming all three by their new numbers.
    const events = await t.sql(`SELECT type, aggregate_id, payload FROM outbox WHERE id > $1`, [last]);
    expect(events.map((e: any) => e.type).sort()).toEqual(['post.moved', 'topic.created', 'topic.updated']);
    const moved = events.find((e: any) => e.type === 'post.moved');
    expect(moved).toMatchObject({ aggregate_id: source.id, payload: { topicId: source.id, toTopicId: split.id, newTopic: true } });
    expect(moved.payload.posts.map((m: any) => [m.postId, m.fromNumber, m.number, m.state, m.authorId])).toEqual([
      [a.id, 2, 1, 'VISIBLE', other.id], [b.id, 3, 2, 'VISIBLE', other.id], [held.id, 4, 3, 'PENDING', other.id],
    ]);
    // The visible ones leave the room; the held one never reached it, and arrives for its author (and moderators) alone.
    await allRemoved;
    expect(removed).toEqual([a.id, b.id]);
    expect(await created.first((e) => e.topic?.id === split.id)).toMatchObject({ boardId: otherBoard, topic: { id: split.id, title: 'Three moved' } });
    const heldArrives = arrivals.first((e) => e.post?.id === held.id && e.topicId === split.id);
    expect(await heldArrives).toMatchObject({ topicId: split.id, post: { id: held.id, number: 3, state: 'PENDING' } });
  });

  it('pushes moved hidden and deleted replies to the destination’s room as the placeholders its readers are shown, one deleted while held to its author and the review room alone; the source’s room sees each leave', async () => {
    const moderate = async (postId: string, action: string) => expectOk(await t.gql(MODERATE, { input: { postId, action } }, { token: moderator.token })).moderatePost.state;
    const source = await createTopic(t, customer.token, publicBoard);
    const dest = await createTopic(t, customer.token, otherBoard);
    const hidden = await reply(t, other.token, source.id, 'Hidden placeholdersecret one.');
    const deleted = await reply(t, other.token, source.id, 'Deleted placeholdersecret two.');
    const rejected = await reply(t, other.token, source.id, 'Rejected placeholdersecret holdthisreply.');
    // Edited before it was hidden: its placeholder tells nothing of that either.
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: hidden.id, body: 'Hidden placeholdersecret one, edited.' } }, { token: other.token }));
    expect(await moderate(hidden.id, 'HIDE')).toBe('HIDDEN');
    expect(await moderate(deleted.id, 'DELETE')).toBe('DELETED');
    expect(await moderate(rejected.id, 'REJECT')).toBe('DELETED');
    // Deleted while held: listed to its author and the space's moderators alone (listedViewSql).
    expect((await t.sql(`SELECT deleted_from FROM posts WHERE id = $1`, [rejected.id]))[0].deleted_from).toBe('PENDING');
    await drain();
    const connect = (token: string) => connectLive(url, sockets, token);
    const [inSource, inDest, mod, author] = [await connect(reader.token), await connect(reader.token), await connect(moderator.token), await connect(other.token)];
    expect(await inSource.timeout(5000).emitWithAck('topic:join', { topicId: source.id })).toEqual({ ok: true });
    expect(await inDest.timeout(5000).emitWithAck('topic:join', { topicId: dest.id })).toEqual({ ok: true });
    expect(await mod.timeout(5000).emitWithAck('topic:join', { topicId: dest.id })).toEqual({ ok: true });
    expect(await mod.timeout(5000).emitWithAck('review:join', { spaceId: publicSpace.id })).toEqual({ ok: true });
    const heard = {
      left: await heardAfter(t, inSource, 'post:removed'),
      reader: await heardAfter(t, inDest, 'post:created'),
      moderator: await heardAfter(t, mod, 'post:created'),
      author: await heardAfter(t, author, 'post:created'),
    };
    const everything: unknown[] = [];
    for (const s of [inSource, inDest, mod, author]) s.onAny((_name, e) => everything.push(e));

    expectOk(await move({ postIds: [hidden.id, deleted.id, rejected.id], toTopicId: dest.id }, moderator));
    await drain();
    await pushedSoFar(t, [inSource, inDest, mod, author]);

    // The versions the move left them with: each push carries its post's (until 2026-12-07 a placeholder's carried none).
    const versions = new Map<string, number>((await t.sql(`SELECT id, version FROM posts WHERE id = ANY($1::uuid[])`, [[hidden.id, deleted.id, rejected.id]])).map((r: any) => [r.id, r.version]));
    // What a placeholder is (postPlaceholder): no body, no edit date, no post it answers, no wiki; its author and version.
    const placeholder = (r: { id: string }, number: number, state: string, text: string) => ({
      topicId: dest.id,
      post: {
        id: r.id, number, state, bodyHtml: null, placeholder: text, createdAt: expect.any(String), editedAt: null, replyToPostId: null, wiki: false,
        author: { id: other.id, handle: expect.any(String), displayName: expect.any(String) }, version: versions.get(r.id),
      },
    });
    const shownToAll = [placeholder(hidden, 2, 'HIDDEN', 'This post was hidden by a moderator.'), placeholder(deleted, 3, 'DELETED', 'This post was deleted.')];
    const rejectedOne = placeholder(rejected, 4, 'DELETED', 'This post was deleted.');
    // Every reader of the destination sees the hidden and deleted ones arrive, as Topic.posts lists them to them.
    expect(heard.reader.soFar()).toEqual(shownToAll);
    // Its moderator (in its room and the review room) the one deleted while held too; its author that one alone (not in the rooms).
    expect(heard.moderator.soFar()).toEqual([...shownToAll, rejectedOne]);
    expect(heard.author.soFar()).toEqual([rejectedOne]);
    // The page the destination's reader loads reads as the pushes did (one builder, postPlaceholder), its version
    // included: the one the move left the placeholder with (until 2026-12-07 a page showed none, README, Order).
    const readPage = async () => {
      const page = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { edges { node {
        id number state bodyHtml placeholder createdAt editedAt replyTo { id } wiki version reactions { kind } author { id handle displayName } } } } } }`, { id: dest.id }, { token: reader.token }));
      return page.topic.posts.edges.map((e: any) => e.node).filter((n: any) => n.placeholder !== null);
    };
    const asPushed = heard.reader.soFar().map(({ post: { replyToPostId, ...post } }: any) => ({ ...post, replyTo: replyToPostId, reactions: [] }));
    expect(await readPage()).toEqual(asPushed);
    // Its author edits the hidden one where it went: its version grows, the placeholder readers are shown does not.
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: hidden.id, body: 'Hidden placeholdersecret one, edited again.' } }, { token: other.token }));
    expect((await t.sql(`SELECT version FROM posts WHERE id = $1`, [hidden.id]))[0].version).toBeGreaterThan(versions.get(hidden.id)!);
    expect(await readPage()).toEqual(asPushed);
    // The source's readers see the placeholders they were shown leave, each with a version the move drew below the one
    // its arrival carries (README, Order); never the one they were not.
    const moving = 'This post was moved to another topic.';
    expect(heard.left.soFar()).toEqual([
      { topicId: source.id, postId: hidden.id, placeholder: moving, version: expect.any(Number) },
      { topicId: source.id, postId: deleted.id, placeholder: moving, version: expect.any(Number) },
    ]);
    for (const e of heard.left.soFar()) expect(e.version).toBeLessThan(versions.get(e.postId)!);
    // No body of theirs reached anyone by any event.
    expect(JSON.stringify(everything)).not.toContain('placeholdersecret');
  });

  it('pushes a held reply, or one deleted while held, moved where its author may not read it to the review room alone: its author hears nothing of where it went', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const dest = await createTopic(t, employee.token, internalBoard);
    const held = await reply(t, other.token, source.id, 'Held holdthisreply, internalmove one.');
    const rejected = await reply(t, other.token, source.id, 'Rejected holdthisreply, internalmove two.');
    expect(expectOk(await t.gql(MODERATE, { input: { postId: rejected.id, action: 'REJECT' } }, { token: moderator.token })).moderatePost.state).toBe('DELETED');
    await drain();
    const [author, reviewer] = [await connectLive(url, sockets, other.token), await connectLive(url, sockets, admin.token)];
    expect(await reviewer.timeout(5000).emitWithAck('review:join', { spaceId: internalSpace.id })).toEqual({ ok: true });
    const heard = { author: await heardAfter(t, author, 'post:created'), left: await heardAfter(t, author, 'post:removed'), reviewer: await heardAfter(t, reviewer, 'post:created') };

    expectOk(await move({ postIds: [held.id, rejected.id], toTopicId: dest.id }, admin));
    await drain();
    await pushedSoFar(t, [author, reviewer]);

    // Its author does not read the internal space: the topic, and the posts in it, are not theirs to find.
    expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: dest.id }, { token: other.token }), 'NOT_FOUND');
    expectError(await t.gql(`query($id: ID!) { post(id: $id) { id } }`, { id: held.id }, { token: other.token }), 'NOT_FOUND');
    // So no push names the topic they went to, or their numbers there (before: the held one in full, the other as its placeholder).
    expect(heard.author.soFar()).toEqual([]);
    // They saw them leave the topic they can read.
    expect(heard.left.soFar().map((e: any) => [e.topicId, e.postId])).toEqual([[source.id, held.id], [source.id, rejected.id]]);
    // The new space's review room hears both arrive.
    expect(heard.reviewer.soFar().map((e: any) => [e.topicId, e.post.id, e.post.state])).toEqual([[dest.id, held.id, 'PENDING'], [dest.id, rejected.id, 'DELETED']]);
  });

  it('tells a held reply’s author of its rejection or deletion only while they may read it where it is: moved into a space they cannot read, they hear nothing of it', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const [inside, readable] = [await createTopic(t, employee.token, internalBoard), await createTopic(t, customer.token, otherBoard)];
    const [rejected, deleted, seen] = [
      await reply(t, other.token, source.id, 'Rejected holdthisreply, removal one.'),
      await reply(t, other.token, source.id, 'Deleted holdthisreply, removal two.'),
      await reply(t, other.token, source.id, 'Seen holdthisreply, removal three.'),
    ];
    expectOk(await move({ postIds: [rejected.id, deleted.id], toTopicId: inside.id }, admin));
    expectOk(await move({ postIds: [seen.id], toTopicId: readable.id }, admin));
    await drain();
    const [author, reviewer] = [await connectLive(url, sockets, other.token), await connectLive(url, sockets, admin.token)];
    expect(await reviewer.timeout(5000).emitWithAck('review:join', { spaceId: internalSpace.id })).toEqual({ ok: true });
    const heard = { author: await heardAfter(t, author, 'post:removed'), reviewer: await heardAfter(t, reviewer, 'post:removed') };

    // A moderator of the internal space rejects one and deletes the other (still held: a rejection too).
    expect(expectOk(await t.gql(MODERATE, { input: { postId: rejected.id, action: 'REJECT' } }, { token: admin.token })).moderatePost.state).toBe('DELETED');
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: admin.token }));
    // The one its author may still read, in a public topic, is rejected too.
    expect(expectOk(await t.gql(MODERATE, { input: { postId: seen.id, action: 'REJECT' } }, { token: admin.token })).moderatePost.state).toBe('DELETED');
    await drain();
    await pushedSoFar(t, [author, reviewer]);

    // Before: both removals inside reached its author, naming the internal topic (which NOT_FOUND keeps from them).
    expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: inside.id }, { token: other.token }), 'NOT_FOUND');
    expect(heard.author.soFar().map((e: any) => [e.topicId, e.postId])).toEqual([[readable.id, seen.id]]);
    // The internal space's review room hears both go.
    expect(heard.reviewer.soFar().map((e: any) => [e.topicId, e.postId])).toEqual([[inside.id, rejected.id], [inside.id, deleted.id]]);
  });

  it('tells a held reply’s author of its leaving a topic only if they may read that topic: moved on out of a space they cannot read, they hear nothing naming it', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const [inside, back] = [await createTopic(t, employee.token, internalBoard), await createTopic(t, customer.token, otherBoard)];
    const held = await reply(t, other.token, source.id, 'Held holdthisreply, moved out one.');
    const rejected = await reply(t, other.token, source.id, 'Rejected holdthisreply, moved out two.');
    expect(expectOk(await t.gql(MODERATE, { input: { postId: rejected.id, action: 'REJECT' } }, { token: moderator.token })).moderatePost.state).toBe('DELETED');
    expectOk(await move({ postIds: [held.id, rejected.id], toTopicId: inside.id }, admin));
    await drain();
    const [author, reviewer] = [await connectLive(url, sockets, other.token), await connectLive(url, sockets, admin.token)];
    expect(await reviewer.timeout(5000).emitWithAck('review:join', { spaceId: internalSpace.id })).toEqual({ ok: true });
    const heard = { left: await heardAfter(t, author, 'post:removed'), arrived: await heardAfter(t, author, 'post:created'), reviewer: await heardAfter(t, reviewer, 'post:removed') };

    // Moved on, out of the internal space into a topic its author reads.
    expectOk(await move({ postIds: [held.id, rejected.id], toTopicId: back.id }, admin));
    await drain();
    await pushedSoFar(t, [author, reviewer]);

    // Its author never read the topic they left (NOT_FOUND): before, their leaving it named it to them.
    expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: inside.id }, { token: other.token }), 'NOT_FOUND');
    expect(heard.left.soFar()).toEqual([]);
    // They hear them arrive where they may read them, and the internal space's review room hears them leave.
    expect(heard.arrived.soFar().map((e: any) => [e.topicId, e.post.id])).toEqual([[back.id, held.id], [back.id, rejected.id]]);
    expect(heard.reviewer.soFar().map((e: any) => [e.topicId, e.postId])).toEqual([[inside.id, held.id], [inside.id, rejected.id]]);
  });

  it('judges who hears a held reply’s removal on the topic the removal names, not where the post is when it is pushed: rejected inside, pushed only once moved out, its author hears nothing naming the inside topic', async () => {
    const source = await createTopic(t, customer.token, publicBoard);
    const [inside, back] = [await createTopic(t, employee.token, internalBoard), await createTopic(t, customer.token, otherBoard)];
    const held = await reply(t, other.token, source.id, 'Held holdthisreply, late push one.');
    expectOk(await move({ postIds: [held.id], toTopicId: inside.id }, admin));
    await drain();
    const [author, reviewer] = [await connectLive(url, sockets, other.token), await connectLive(url, sockets, admin.token)];
    expect(await reviewer.timeout(5000).emitWithAck('review:join', { spaceId: internalSpace.id })).toEqual({ ok: true });
    const bus = t.get(EventBus);
    let rejection: DomainEvent | undefined;
    const unsubscribe = bus.subscribe((e) => {
      if (e.type === 'post.rejected' && e.aggregateId === held.id) rejection = e;
    });
    try {
      expect(expectOk(await t.gql(MODERATE, { input: { postId: held.id, action: 'REJECT' } }, { token: admin.token })).moderatePost.state).toBe('DELETED');
    } finally {
      unsubscribe();
    }
    expectOk(await move({ postIds: [held.id], toTopicId: back.id }, admin));
    await drain();
    await pushedSoFar(t, [author, reviewer]);
    const heard = { left: await heardAfter(t, author, 'post:removed'), reviewer: await heardAfter(t, reviewer, 'post:removed') };

    // The rejection reaches the gateway only now, the post in a topic its author reads (as the live
    // relay publishes what the worker or a CLI committed, up to LIVE_RELAY_FRESH_SECONDS later).
    bus.publish(rejection!);
    await pushedSoFar(t, [author, reviewer]);

    // Before: judged where the post is now, the rejection named the inside topic (NOT_FOUND to them) to its author.
    expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: inside.id }, { token: other.token }), 'NOT_FOUND');
    expect(heard.left.soFar()).toEqual([]);
    // The internal space's review room hears it.
    expect(heard.reviewer.soFar().map((e: any) => [e.topicId, e.postId, e.placeholder])).toEqual([[inside.id, held.id, 'This post was deleted.']]);
  });

  it.each([
    ['past the source’s new end', true],
    ['none yet', false],
  ])('settles a markRead racing a movePosts that sets marks back (the reader’s mark %s) at the last post shown once the move committed, never past it', async (_mark, markedBefore) => {
    const [source, dest] = [await createTopic(t, customer.token, publicBoard), await createTopic(t, customer.token, otherBoard)];
    const [, a, b] = [await reply(t, other.token, source.id, 'Stays.'), await reply(t, other.token, source.id, 'Leaves, one.'), await reply(t, other.token, source.id, 'Leaves, two.')];
    expect([a.number, b.number]).toEqual([3, 4]);
    const racer = await makeUser(t);
    const MARK = `mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`;
    const markRead = () => t.gql(MARK, { input: { topicId: source.id, postNumber: 4 } }, { token: racer.token });
    if (markedBefore) expectOk(await markRead());
    // The move held at its very end (its log entry waits for the log's lock): the source's marks set
    // back to 2, not committed. The reader's markRead of post 4, as their page showed it before the
    // move, comes meanwhile and waits for the move: its one statement holds the topic FOR KEY SHARE,
    // and caps the mark by the topic's last number as the move left it (its snapshot, taken before
    // the wait, still reads the moved posts there).
    const [moved, read] = await withLockHeld(t, `SELECT pg_advisory_xact_lock($1)`, [AUDIT_LOCK], async (h) => {
      const moving = move({ postIds: [a.id, b.id], toTopicId: dest.id }, moderator);
      await h.waiting(1);
      const reading = markRead();
      await h.waiting(2);
      await h.release();
      return Promise.all([moving, reading]);
    });
    expectOk(moved);
    expectOk(read);
    // Before: the mark read its posts before the move committed and stood at 4, past the source's end
    // (2); as it does when its statement reads the topic's last number without that lock.
    const [mark] = await t.sql(`SELECT last_read_number FROM topic_reads WHERE topic_id = $1 AND user_id = $2`, [source.id, racer.id]);
    expect(mark).toEqual({ last_read_number: 2 });
    // A reply after the move (number 5: none a moved post had) is news to them, not counted read.
    await reply(t, customer.token, source.id, 'After the move.');
    const READ = `query($id: ID!) { topic(id: $id) { lastReadNumber unreadCount } }`;
    expect(expectOk(await t.gql(READ, { id: source.id }, { token: racer.token })).topic).toEqual({ lastReadNumber: 2, unreadCount: 1 });
  });
});
