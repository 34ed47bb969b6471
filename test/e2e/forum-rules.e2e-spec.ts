import { encodeCursor } from '../../libs/core/src/graphql/pagination';
import { newId } from '../../libs/core/src/ids';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { CREATE_TOPIC, createTopic, forumRowCounts, REPLY, reply, setPostState, setTopicState } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

/**
 * The forum's rules beyond the happy paths of forum.e2e-spec.ts: visibility of pending,
 * hidden and deleted content in every field, input validation on every mutation (and that a
 * refused mutation writes nothing), cursors, counters and outbox events.
 */
describe('forum rules', () => {
  let t: TestApp;
  let author: TestUser;
  let other: TestUser;
  let mod: TestUser;
  let spaceId: string;
  let boardId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    other = await makeUser(t);
    mod = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    spaceId = space.id;
    boardId = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  const ids = (conn: { edges: Array<{ node: { id: string } }> }) => conn.edges.map((e) => e.node.id);
  const BOARD_TOPICS = `query($b: ID!, $first: Int, $after: String, $sort: TopicSort, $tag: String) { board(id: $b) {
    topics(first: $first, after: $after, sort: $sort, tag: $tag) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id pinned state } } } } }`;

  describe('reading by id', () => {
    it('answers BAD_USER_INPUT for malformed ids and NOT_FOUND for unknown ones, with a null field, not a database error', async () => {
      for (const id of ['not-a-uuid', "1' OR '1'='1", newId()]) {
        const code = id === 'not-a-uuid' || id.includes("'") ? 'BAD_USER_INPUT' : 'NOT_FOUND';
        const topic = await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id });
        expectError(topic, code);
        expect(topic.data.topic).toBeNull();
        const post = await t.gql(`query($id: ID!) { post(id: $id) { id } }`, { id }, { token: author.token });
        expectError(post, code);
        expect(post.data.post).toBeNull();
        if (code === 'BAD_USER_INPUT') expect([topic, post].map((r) => r.errors![0].extensions.fields)).toEqual([[{ field: 'id', message: 'must be a topic id' }], [{ field: 'id', message: 'must be a post id' }]]);
      }
    });

    it('exposes a topic with its board, space, author, first post and counters', async () => {
      const topic = await createTopic(t, author.token, boardId, { title: 'Fields of a topic', tags: ['alpha'] });
      const before = (await t.sql(`SELECT last_activity_at FROM topics WHERE id = $1`, [topic.id]))[0].last_activity_at as Date;
      await new Promise((r) => setTimeout(r, 5));
      await reply(t, other.token, topic.id, 'a reply');
      const res = expectOk(
        await t.gql(
          `query($id: ID!) { topic(id: $id) { id kind title state pinned closed locked tags replyCount reactionCount createdAt lastActivityAt
             board { id } space { id } author { id handle } firstPost { id number author { id } topic { id } } acceptedAnswer { id } unreadCount } }`,
          { id: topic.id },
        ),
      ).topic;
      expect(res).toMatchObject({
        id: topic.id, kind: 'DISCUSSION', title: 'Fields of a topic', state: 'VISIBLE', pinned: false, closed: false, locked: false,
        tags: ['alpha'], replyCount: 1, reactionCount: 0, board: { id: boardId }, space: { id: spaceId },
        author: { id: author.id, handle: author.handle }, firstPost: { id: topic.firstPostId, number: 1, author: { id: author.id }, topic: { id: topic.id } },
        acceptedAnswer: null, unreadCount: null,
      });
      expect(new Date(res.lastActivityAt).getTime()).toBeGreaterThan(before.getTime());
    });
  });

  describe('a RESTRICTED space, seen by a customer', () => {
    it('never shows its topics or posts in any field, counts included', async () => {
      const staff = await makeGroup(t);
      const employee = await makeUser(t, { groups: [staff] });
      const customer = await makeUser(t);
      const writer = await makeUser(t);
      const internal = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }, { userId: writer.id, level: 'PARTICIPATE' }]);
      const internalBoard = await makeBoard(t, internal.id);
      const secret = await createTopic(t, writer.token, internalBoard, { title: 'Internal roadmap', body: 'internal words' });
      const secretReply = await reply(t, employee.token, secret.id, 'more internal words');
      await createTopic(t, writer.token, boardId, { title: 'A public one', body: 'public words' });

      const probes = {
        topic: `query($id: ID!) { topic(id: $id) { title } }`,
        post: `query($id: ID!) { post(id: $id) { bodyHtml } }`,
        board: `query($id: ID!) { board(id: $id) { topics { totalCount edges { node { title } } } } }`,
        profile: `query($h: String!) { user(handle: $h) { posts(first: 100) { totalCount edges { node { bodyHtml topic { title } } } } } }`,
      };
      const asCustomer = {
        topic: await t.gql(probes.topic, { id: secret.id }, { token: customer.token }),
        post: await t.gql(probes.post, { id: secretReply.id }, { token: customer.token }),
        firstPost: await t.gql(probes.post, { id: secret.firstPostId }, { token: customer.token }),
        board: await t.gql(probes.board, { id: internalBoard }, { token: customer.token }),
        profile: await t.gql(probes.profile, { h: writer.handle }, { token: customer.token }),
      };
      expectError(asCustomer.topic, 'NOT_FOUND');
      expectError(asCustomer.post, 'NOT_FOUND');
      expectError(asCustomer.firstPost, 'NOT_FOUND');
      expect(asCustomer.board.data.board).toBeNull();
      expect(asCustomer.profile.data.user.posts.totalCount).toBe(1);
      for (const res of Object.values(asCustomer)) expect(JSON.stringify(res)).not.toMatch(/internal words|Internal roadmap/i);
      // Replying or reacting by id is NOT_FOUND too, as if it did not exist.
      expectError(await t.gql(REPLY, { input: { topicId: secret.id, body: 'hello?' } }, { token: customer.token }), 'NOT_FOUND');
      expectError(await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: secretReply.id, kind: 'LIKE' } }, { token: customer.token }), 'NOT_FOUND');
      // The same probes as an employee do see it (so the checks above can fail).
      expect(expectOk(await t.gql(probes.topic, { id: secret.id }, { token: employee.token })).topic.title).toBe('Internal roadmap');
      expect(expectOk(await t.gql(probes.board, { id: internalBoard }, { token: employee.token })).board.topics.totalCount).toBe(1);
      expect(expectOk(await t.gql(probes.profile, { h: writer.handle }, { token: employee.token })).user.posts.totalCount).toBe(2);
    });

    it('lets a READ grantee read but not write', async () => {
      const readers = await makeGroup(t);
      const reader = await makeUser(t, { groups: [readers] });
      const writer = await makeUser(t);
      const space = await makeSpace(t, 'RESTRICTED', [{ groupId: readers, level: 'READ' }, { userId: writer.id, level: 'PARTICIPATE' }]);
      const board = await makeBoard(t, space.id);
      const topic = await createTopic(t, writer.token, board);
      expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: topic.id }, { token: reader.token }));
      const before = await forumRowCounts(t);
      expectError(await t.gql(REPLY, { input: { topicId: topic.id, body: 'me too' } }, { token: reader.token }), 'FORBIDDEN');
      expectError(await t.gql(CREATE_TOPIC, { input: { boardId: board, title: 'Mine', body: 'x' } }, { token: reader.token }), 'FORBIDDEN');
      expectError(await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: reader.token }), 'FORBIDDEN');
      expect(await forumRowCounts(t)).toEqual(before);
    });
  });

  describe('forum boards', () => {
    it('refuse a parent article (BAD_USER_INPUT, nothing written)', async () => {
      const board = await makeBoard(t, spaceId);
      const parent = await createTopic(t, author.token, board);
      const before = await forumRowCounts(t);
      const err = expectError(await t.gql(CREATE_TOPIC, { input: { boardId: board, title: 'Child', body: 'x', parentId: parent.id } }, { token: author.token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'parentId', message: 'only knowledge articles have a parent' }]);
      expect(await forumRowCounts(t)).toEqual(before);
    });
  });

  describe('pending, hidden and deleted topics', () => {
    it('shows each state only to those allowed, by id and in lists, with matching counts', async () => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const board = await makeBoard(t, space.id);
      const visible = await createTopic(t, author.token, board, { title: 'Visible topic' });
      const pending = await createTopic(t, author.token, board, { title: 'Pending topic' });
      const hidden = await createTopic(t, author.token, board, { title: 'Hidden topic' });
      const deleted = await createTopic(t, author.token, board, { title: 'Deleted topic' });
      await setTopicState(t, pending.id, 'PENDING');
      await setTopicState(t, hidden.id, 'HIDDEN');
      await setTopicState(t, deleted.id, 'DELETED');

      const listed = async (token?: string) => {
        const conn = expectOk(await t.gql(BOARD_TOPICS, { b: board, first: 100 }, { token })).board.topics;
        expect(conn.totalCount).toBe(conn.edges.length);
        return new Set(ids(conn));
      };
      expect(await listed(undefined)).toEqual(new Set([visible.id]));
      expect(await listed(other.token)).toEqual(new Set([visible.id]));
      // Authors list what they may open: their own pending and hidden topics too.
      expect(await listed(author.token)).toEqual(new Set([visible.id, pending.id, hidden.id]));
      expect(await listed(mod.token)).toEqual(new Set([visible.id, pending.id, hidden.id]));

      const byId = async (id: string, token?: string) => {
        const res = await t.gql(`query($id: ID!) { topic(id: $id) { id state firstPost { bodyHtml } } }`, { id }, { token });
        return res.errors ? res.errors[0].extensions.code : res.data.topic.state;
      };
      expect(await byId(pending.id, other.token)).toBe('NOT_FOUND');
      expect(await byId(pending.id, author.token)).toBe('PENDING');
      expect(await byId(pending.id, mod.token)).toBe('PENDING');
      expect(await byId(hidden.id, other.token)).toBe('NOT_FOUND');
      expect(await byId(hidden.id, undefined)).toBe('NOT_FOUND');
      expect(await byId(hidden.id, mod.token)).toBe('HIDDEN');
      expect(await byId(hidden.id, author.token)).toBe('HIDDEN');
      expect(await byId(deleted.id, author.token)).toBe('NOT_FOUND');
      expect(await byId(deleted.id, mod.token)).toBe('DELETED');
      // The first post of a topic others may not see is not reachable by id either.
      expectError(await t.gql(`query($id: ID!) { post(id: $id) { id } }`, { id: pending.firstPostId }, { token: other.token }), 'NOT_FOUND');
      // Profile activity follows the same rule.
      const profile = async (token?: string) =>
        expectOk(await t.gql(`query($h: String!) { user(handle: $h) { posts(first: 100) { totalCount edges { node { id topic { id } } } } } }`, { h: author.handle }, { token })).user.posts;
      const otherSees = await profile(other.token);
      expect(ids(otherSees)).toEqual(expect.arrayContaining([visible.firstPostId]));
      expect(ids(otherSees)).not.toEqual(expect.arrayContaining([pending.firstPostId]));
      expect(ids(otherSees).filter((id) => [pending.firstPostId, hidden.firstPostId, deleted.firstPostId].includes(id))).toEqual([]);
      const selfSees = await profile(author.token);
      expect(ids(selfSees)).toEqual(expect.arrayContaining([visible.firstPostId, pending.firstPostId, hidden.firstPostId]));
      expect(ids(selfSees)).not.toContain(deleted.firstPostId);
      expect(selfSees.totalCount).toBe(otherSees.totalCount + 2);
      // Moderators open all four by id, so their activity view lists all four.
      const modSees = await profile(mod.token);
      expect(ids(modSees)).toEqual(expect.arrayContaining([visible.firstPostId, pending.firstPostId, hidden.firstPostId, deleted.firstPostId]));
      expect(modSees.totalCount).toBe(otherSees.totalCount + 3);
    });

    it('leaves pending posts of others out of a topic page and its count; shows hidden ones as placeholders', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const pending = await reply(t, other.token, topic.id, 'awaiting approval');
      const hidden = await reply(t, other.token, topic.id, 'hidden words');
      await reply(t, author.token, topic.id, 'a visible reply');
      await setPostState(t, pending.id, 'PENDING');
      await setPostState(t, hidden.id, 'HIDDEN');
      const q = `query($id: ID!) { topic(id: $id) { posts { totalCount edges { node { id number state bodyHtml bodySource placeholder reactions { kind } myReactions revisions { number } } } } } }`;
      const page = async (token?: string) => expectOk(await t.gql(q, { id: topic.id }, { token })).topic.posts;

      const asAuthor = await page(author.token);
      expect(asAuthor.totalCount).toBe(3);
      expect(asAuthor.edges.map((e: any) => e.node.number)).toEqual([1, 3, 4]);
      expect(asAuthor.edges[1].node).toEqual({
        id: hidden.id, number: 3, state: 'HIDDEN', bodyHtml: null, bodySource: null,
        placeholder: 'This post was hidden by a moderator.', reactions: [], myReactions: [], revisions: [],
      });
      expect(JSON.stringify(asAuthor)).not.toMatch(/hidden words|awaiting approval/);

      const asReplier = await page(other.token);
      expect(asReplier.edges.map((e: any) => e.node.number)).toEqual([1, 2, 3, 4]);
      expect(asReplier.edges[2].node.bodyHtml).toContain('hidden words');
      expect(asReplier.totalCount).toBe(4);

      const asMod = await page(mod.token);
      expect(asMod.totalCount).toBe(4);
      expect(asMod.edges[1].node.bodyHtml).toContain('awaiting approval');
    });
  });

  describe('moderation notes on a page', () => {
    it('reads the notes of every hidden and held post of a page in a fixed number of statements', async () => {
      const q = `query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { state moderationNote } } } } }`;
      const pageWith = async (held: number) => {
        const topic = await createTopic(t, author.token, boardId);
        const hide = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
        for (let i = 0; i < held; i++) {
          const postId = (await reply(t, other.token, topic.id, `hidden ${i}`)).id;
          expectOk(await t.gql(hide, { input: { postId, action: 'HIDE', reason: 'off topic' } }, { token: mod.token }));
          await setPostState(t, (await reply(t, other.token, topic.id, `held ${i}`)).id, 'PENDING');
        }
        let notes: string[] = [];
        const cost = await t.countStatements(async () => {
          notes = expectOk(await t.gql(q, { id: topic.id }, { token: mod.token })).topic.posts.edges.map((e: any) => e.node.moderationNote);
        });
        expect(notes.filter((n) => n === 'Hidden: off topic')).toHaveLength(held);
        expect(notes.filter((n) => n === 'Waiting for a moderator')).toHaveLength(held);
        return cost.count;
      };
      expect(await pageWith(6)).toBe(await pageWith(2));
    });
  });

  describe('revisions', () => {
    it('gives the source of every version to the author and moderators only', async () => {
      const topic = await createTopic(t, author.token, boardId, { body: 'my phone is 555-0100' });
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      expectOk(await t.gql(EDIT, { input: { postId: topic.firstPostId, body: 'call me', reason: 'removed my number' } }, { token: author.token }));
      expectOk(await t.gql(EDIT, { input: { postId: topic.firstPostId, body: 'call me, please' } }, { token: mod.token }));
      const q = `query($id: ID!) { post(id: $id) { bodySource revisions { number reason bodySource editor { id } createdAt } } }`;
      const seen = async (token?: string) => expectOk(await t.gql(q, { id: topic.firstPostId }, { token })).post;
      for (const token of [author.token, mod.token]) {
        const p = await seen(token);
        expect(p.bodySource).toBe('call me, please');
        expect(p.revisions.map((r: any) => [r.number, r.reason, r.bodySource, r.editor.id])).toEqual([
          [1, null, 'my phone is 555-0100', author.id],
          [2, 'removed my number', 'call me', author.id],
          [3, null, 'call me, please', mod.id],
        ]);
      }
      for (const token of [other.token, undefined]) {
        const p = await seen(token);
        expect(p.bodySource).toBeNull();
        expect(p.revisions.map((r: any) => [r.number, r.reason, r.bodySource, r.editor.id])).toEqual([
          [1, null, null, author.id],
          [2, 'removed my number', null, author.id],
          [3, null, null, mod.id],
        ]);
        expect(JSON.stringify(p)).not.toContain('555-0100');
      }
    });

    it('keeps the topic’s title and tags with each version of its first post, for the author and moderators', async () => {
      const topic = await createTopic(t, author.token, boardId, { title: 'Problem with Jane Doe at 12 Elm St', tags: ['billing'] });
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      expectOk(await t.gql(EDIT, { input: { postId: topic.firstPostId, body: 'The body', title: 'Problem with a delivery', reason: 'no personal data' } }, { token: author.token }));
      expectOk(await t.gql(EDIT, { input: { postId: topic.firstPostId, body: 'The body, clarified', tags: ['delivery'] } }, { token: mod.token }));
      const r = await reply(t, other.token, topic.id, 'a reply');
      const q = `query($id: ID!) { post(id: $id) { revisions { number title tags } } }`;
      const revisions = async (id: string, token?: string) => expectOk(await t.gql(q, { id }, { token })).post.revisions;
      for (const token of [author.token, mod.token]) {
        expect(await revisions(topic.firstPostId, token)).toEqual([
          { number: 1, title: 'Problem with Jane Doe at 12 Elm St', tags: ['billing'] },
          { number: 2, title: 'Problem with a delivery', tags: ['billing'] },
          { number: 3, title: 'Problem with a delivery', tags: ['delivery'] },
        ]);
      }
      const forOthers = await revisions(topic.firstPostId, other.token);
      expect(forOthers.every((v: any) => v.title === null && v.tags === null)).toBe(true);
      // A reply's versions have no heading of their own.
      expect(await revisions(r.id, other.token)).toEqual([{ number: 1, title: null, tags: null }]);
    });

    it('replaces mentions on edit and records who edited and why', async () => {
      const topic = await createTopic(t, author.token, boardId, { body: `hi @${other.handle}` });
      const r = await reply(t, other.token, topic.id, 'plain');
      expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: `now @${mod.handle} and @${author.handle} and @nobody_here` } }, { token: other.token }));
      const mentions = await t.sql(`SELECT user_id FROM post_mentions WHERE post_id = $1 ORDER BY user_id`, [r.id]);
      expect(mentions.map((m) => m.user_id)).toEqual([mod.id, author.id].sort());
      expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: 'no one' } }, { token: other.token }));
      expect(await t.sql(`SELECT user_id FROM post_mentions WHERE post_id = $1`, [r.id])).toEqual([]);
      const [ev] = await t.sql(`SELECT version, payload FROM outbox WHERE aggregate_id = $1 AND type = 'post.updated' ORDER BY id DESC LIMIT 1`, [r.id]);
      const [row] = await t.sql(`SELECT version FROM posts WHERE id = $1`, [r.id]);
      expect(ev.version).toBe(row.version);
      // Each edit raised it (from one sequence: by how much says nothing).
      const edits = await t.sql(`SELECT version FROM outbox WHERE aggregate_id = $1 AND type IN ('post.created', 'post.updated') ORDER BY id`, [r.id]);
      expect(edits).toHaveLength(3);
      expect(edits[0].version).toBeLessThan(edits[1].version);
      expect(edits[1].version).toBeLessThan(edits[2].version);
      expect(ev.payload).toMatchObject({ postId: r.id, topicId: topic.id, boardId, spaceId, editorId: other.id, mentionedUserIds: [] });
    });
  });

  describe('input validation writes nothing', () => {
    let topic: { id: string; firstPostId: string };
    let replyId: string;
    let hiddenId: string;
    let deletedId: string;
    beforeAll(async () => {
      topic = await createTopic(t, author.token, boardId);
      replyId = (await reply(t, other.token, topic.id)).id;
      hiddenId = (await reply(t, other.token, topic.id, 'hidden from the author')).id;
      deletedId = (await reply(t, other.token, topic.id, 'deleted')).id;
      await setPostState(t, hiddenId, 'HIDDEN');
      await setPostState(t, deletedId, 'DELETED');
    });

    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    const STATUS = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`;
    const REACT = `mutation($input: ReactionInput!) { react(input: $input) { id } }`;
    const MARK = `mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`;
    const cases: Array<[string, () => [string, Record<string, unknown>, string], string]> = [
      ['reply: empty body', () => [REPLY, { input: { topicId: topic.id, body: '' } }, 'author'], 'body'],
      ['reply: body over 100,000 characters', () => [REPLY, { input: { topicId: topic.id, body: 'y'.repeat(100_001) } }, 'author'], 'body'],
      ['reply: malformed topic id', () => [REPLY, { input: { topicId: 'abc', body: 'x' } }, 'author'], 'topicId'],
      ['reply: malformed replyToPostId', () => [REPLY, { input: { topicId: topic.id, body: 'x', replyToPostId: 'abc' } }, 'author'], 'replyToPostId'],
      ['reply: replyToPostId of no post', () => [REPLY, { input: { topicId: topic.id, body: 'x', replyToPostId: newId() } }, 'author'], 'replyToPostId'],
      ['reply: replyToPostId of a post hidden from the replier', () => [REPLY, { input: { topicId: topic.id, body: 'x', replyToPostId: hiddenId } }, 'author'], 'replyToPostId'],
      ['reply: replyToPostId of a deleted post, even for a moderator', () => [REPLY, { input: { topicId: topic.id, body: 'x', replyToPostId: deletedId } }, 'mod'], 'replyToPostId'],
      ['edit: empty body', () => [EDIT, { input: { postId: topic.firstPostId, body: '' } }, 'author'], 'body'],
      ['edit: reason over 200 characters', () => [EDIT, { input: { postId: topic.firstPostId, body: 'x', reason: 'r'.repeat(201) } }, 'author'], 'reason'],
      ['edit: title of 202 code points (emoji with U+FE0F)', () => [EDIT, { input: { postId: topic.firstPostId, body: 'x', title: '\u2764\ufe0f'.repeat(101) } }, 'author'], 'title'],
      ['edit: reason of 202 code points (emoji with U+FE0F)', () => [EDIT, { input: { postId: topic.firstPostId, body: 'x', reason: '\u2764\ufe0f'.repeat(101) } }, 'author'], 'reason'],
      ['edit: title too short', () => [EDIT, { input: { postId: topic.firstPostId, body: 'x', title: ' a ' } }, 'author'], 'title'],
      ['edit: bad tag', () => [EDIT, { input: { postId: topic.firstPostId, body: 'x', tags: ['-dash-first'] } }, 'author'], 'tags'],
      ['edit: too many tags', () => [EDIT, { input: { postId: topic.firstPostId, body: 'x', tags: ['a', 'b', 'c', 'd', 'e', 'f'] } }, 'author'], 'tags'],
      ['edit: title on a reply', () => [EDIT, { input: { postId: replyId, body: 'x', title: 'A new title' } }, 'other'], 'title'],
      ['react: unknown kind', () => [REACT, { input: { postId: replyId, kind: 'LOVE' } }, 'author'], 'input'],
      ['react: malformed post id', () => [REACT, { input: { postId: 'abc', kind: 'LIKE' } }, 'author'], 'postId'],
      ['status: nothing to change', () => [STATUS, { input: { topicId: topic.id } }, 'mod'], 'pinned'],
      ['markRead: post number 0', () => [MARK, { input: { topicId: topic.id, postNumber: 0 } }, 'author'], 'postNumber'],
      ['createTopic: too many tags after dedup', () => [CREATE_TOPIC, { input: { boardId, title: 'Tags', body: 'x', tags: ['a', 'A', 'b', 'c', 'd', 'e', 'f'] } }, 'author'], 'tags'],
      ['createTopic: title of spaces only', () => [CREATE_TOPIC, { input: { boardId, title: '        ', body: 'x' } }, 'author'], 'title'],
    ];
    it.each(cases)('%s → BAD_USER_INPUT naming the field', async (_name, make, field) => {
      const [query, vars, who] = make();
      const token = { author: author.token, other: other.token, mod: mod.token }[who];
      const before = await forumRowCounts(t);
      const err = expectError(await t.gql(query, vars, { token }), 'BAD_USER_INPUT');
      if (field !== 'input') expect(err.extensions.fields?.map((f) => f.field)).toContain(field);
      expect(await forumRowCounts(t)).toEqual(before);
    });
  });

  describe('cursors and page sizes', () => {
    it('refuses first > 100, first < 1 and forged cursors on every list', async () => {
      const topic = await createTopic(t, author.token, boardId);
      // Each list's name on every forged value, so the values themselves are what is refused.
      const lists = {
        'topics:LATEST_ACTIVITY': (args: string) => [`query($id: ID!) { board(id: $id) { topics(${args}) { totalCount } } }`, { id: boardId }] as const,
        posts: (args: string) => [`query($id: ID!) { topic(id: $id) { posts(${args}) { totalCount } } }`, { id: topic.id }] as const,
        'user-posts': (args: string) => [`query($h: String!) { user(handle: $h) { posts(${args}) { totalCount } } }`, { h: author.handle }] as const,
      };
      const forged = [
        ['x'],
        [true, 'garbage', newId()],
        [false, '2026-02-31 10:00:00+00', newId()],
        [1e12],
        [-1],
        ['2026-11-23 10:00:00+00', 'not-a-uuid'],
        ['2026-13-01 10:00:00+00', newId()],
      ];
      for (const [name, list] of Object.entries(lists)) {
        const cursors = ['not base64 at all!', ...forged.map((values) => encodeCursor(name, values))];
        for (const args of ['first: 101', 'first: 0', 'first: -5', ...cursors.map((c) => `after: "${c}"`)]) {
          const [q, vars] = list(args);
          const res = await t.gql(q, vars, { token: author.token });
          if (res.errors?.[0]?.extensions.code !== 'BAD_USER_INPUT') throw new Error(`${name}(${args}): ${JSON.stringify(res.errors ?? res.data)}`);
        }
        const [q, vars] = list('first: 100');
        expectOk(await t.gql(q, vars, { token: author.token }));
      }
      // A cursor made for one sort is refused by another whose keys it cannot hold.
      const top = expectOk(await t.gql(BOARD_TOPICS, { b: boardId, first: 1, sort: 'TOP' })).board.topics.pageInfo.endCursor;
      expectError(await t.gql(BOARD_TOPICS, { b: boardId, first: 1, sort: 'NEWEST', after: top }), 'BAD_USER_INPUT');
    });

    it('orders TOP by replies and reactions, pinned first, across pages', async () => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const board = await makeBoard(t, space.id);
      const quiet = await createTopic(t, author.token, board, { title: 'Quiet' });
      const busy = await createTopic(t, author.token, board, { title: 'Busy' });
      const liked = await createTopic(t, author.token, board, { title: 'Liked' });
      const pinned = await createTopic(t, author.token, board, { title: 'Pinned' });
      await reply(t, other.token, busy.id);
      await reply(t, other.token, busy.id); // top_score 4
      await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: liked.firstPostId, kind: 'LIKE' } }, { token: other.token });
      await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: liked.firstPostId, kind: 'THANKS' } }, { token: other.token });
      await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: liked.firstPostId, kind: 'LIKE' } }, { token: mod.token }); // top_score 3
      expectOk(await t.gql(`mutation($i: TopicStatusInput!) { setTopicStatus(input: $i) { id } }`, { i: { topicId: pinned.id, pinned: true } }, { token: mod.token }));
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: any = expectOk(await t.gql(BOARD_TOPICS, { b: board, first: 1, sort: 'TOP', after })).board.topics;
        seen.push(...ids(page));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual([pinned.id, busy.id, liked.id, quiet.id]);
    });
  });

  describe('deleting and restoring', () => {
    it('keeps reply and reaction counters right, clears nothing it should keep, and writes versioned events', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, other.token, topic.id, 'to be deleted');
      for (const [token, kind] of [[author.token, 'LIKE'], [mod.token, 'LIKE'], [author.token, 'THANKS']] as const) {
        expectOk(await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: r.id, kind } }, { token }));
      }
      const counters = async () => (await t.sql(`SELECT reply_count, reaction_count FROM topics WHERE id = $1`, [topic.id]))[0];
      expect(await counters()).toEqual({ reply_count: 1, reaction_count: 3 });
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: r.id }, { token: mod.token }));
      expect(await counters()).toEqual({ reply_count: 0, reaction_count: 0 });
      const [row] = await t.sql(`SELECT state, deleted_by, deleted_at IS NOT NULL AS stamped, version FROM posts WHERE id = $1`, [r.id]);
      expect(row).toMatchObject({ state: 'DELETED', deleted_by: mod.id, stamped: true });
      // Deleting twice changes nothing.
      const before = await forumRowCounts(t);
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: r.id }, { token: mod.token }));
      expect(await forumRowCounts(t)).toEqual(before);
      // Reactions cannot land on a deleted post.
      expectError(await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: r.id, kind: 'LAUGH' } }, { token: author.token }), 'BAD_USER_INPUT');
      // Editing it is refused until it is restored.
      expectError(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: 'back?' } }, { token: other.token }), 'CONFLICT');
      const restored = expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { state bodyHtml reactions { kind count } } }`, { id: r.id }, { token: mod.token })).restorePost;
      expect(restored).toEqual({ state: 'VISIBLE', bodyHtml: expect.stringContaining('to be deleted'), reactions: [{ kind: 'LIKE', count: 2 }, { kind: 'THANKS', count: 1 }] });
      expect(await counters()).toEqual({ reply_count: 1, reaction_count: 3 });
      const events = await t.sql(`SELECT type, aggregate_type, version, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [r.id]);
      expect(events.map((e) => e.type)).toEqual(['post.created', 'reaction.updated', 'reaction.updated', 'reaction.updated', 'post.deleted', 'post.restored']);
      // Every change raised the post's version (from one sequence: by how much says nothing), the last to the row's.
      const versions = events.map((e) => e.version as number);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
      expect((await t.sql(`SELECT version FROM posts WHERE id = $1`, [r.id]))[0].version).toBe(versions[versions.length - 1]);
      for (const e of events) expect(e.payload).toMatchObject({ postId: r.id, topicId: topic.id, spaceId, boardId });
    });

    it('restores a post that was hidden before its deletion as hidden, by either restore path', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const hide = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
      const replies = [await reply(t, other.token, topic.id, 'hidden, then deleted, then restored'), await reply(t, other.token, topic.id, 'the same, by moderatePost')];
      for (const r of replies) {
        expectOk(await t.gql(hide, { input: { postId: r.id, action: 'HIDE', reason: 'spam' } }, { token: mod.token }));
        expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: r.id }, { token: other.token }));
      }
      const viaRestore = expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { state } }`, { id: replies[0].id }, { token: mod.token })).restorePost;
      const viaModerate = expectOk(await t.gql(hide, { input: { postId: replies[1].id, action: 'RESTORE' } }, { token: mod.token })).moderatePost;
      expect([viaRestore.state, viaModerate.state]).toEqual(['HIDDEN', 'HIDDEN']);
      expect(expectError(await t.gql(hide, { input: { postId: replies[1].id, action: 'HIDE' } }, { token: mod.token }), 'CONFLICT').message).toBe('A hidden post cannot be hidden');
      // Others still get the placeholder; the counters never counted them back.
      const page = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { replyCount posts { edges { node { bodyHtml } } } } }`, { id: topic.id }, { token: author.token })).topic;
      expect(page.replyCount).toBe(0);
      expect(JSON.stringify(page)).not.toMatch(/restored/);
      const types = (await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [replies[0].id])).map((e) => e.type);
      expect(types).toEqual(['post.created', 'post.hidden', 'post.deleted', 'post.restored']);
      const log = await t.sql(`SELECT action, after FROM moderation_log WHERE target_id = $1 ORDER BY id`, [replies[0].id]);
      expect(log.at(-1)).toEqual({ action: 'post.restore', after: { state: 'HIDDEN' } });
      // A post deleted while visible comes back visible, as before.
      const plain = await reply(t, other.token, topic.id, 'deleted while visible');
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: plain.id }, { token: other.token }));
      expect(expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { state } }`, { id: plain.id }, { token: mod.token })).restorePost.state).toBe('VISIBLE');
      // A post deleted before deletions recorded what they came from is a placeholder for everyone, as before.
      const old = await reply(t, other.token, topic.id, 'deleted long ago');
      await t.sql(`UPDATE posts SET state = 'DELETED', deleted_from = NULL WHERE id = $1`, [old.id]);
      const listed = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { totalCount edges { node { id placeholder } } } } }`, { id: topic.id }, { token: author.token })).topic.posts;
      expect(listed.edges.find((e: any) => e.node.id === old.id)?.node.placeholder).toEqual(expect.any(String));
      expect(listed.totalCount).toBe(listed.edges.length);
    });

    it('deleting post 1 deletes the topic; restoring it brings the topic back', async () => {
      const topic = await createTopic(t, author.token, boardId, { title: 'Comes back' });
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: author.token }));
      expect((await t.sql(`SELECT state FROM topics WHERE id = $1`, [topic.id]))[0].state).toBe('DELETED');
      expectError(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: author.token }), 'NOT_FOUND');
      expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: mod.token }));
      expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { state firstPost { state } } }`, { id: topic.id }, { token: other.token })).topic).toEqual({
        state: 'VISIBLE', firstPost: { state: 'VISIBLE' },
      });
      const types = (await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [topic.id])).map((e) => e.type);
      expect(types).toEqual(['topic.created', 'topic.deleted', 'topic.restored']);
    });
  });

  describe('closed and locked topics', () => {
    it('closed: no replies but edits; locked: neither; moderators exempt; refusals write nothing', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, other.token, topic.id, 'before closing');
      const STATUS = `mutation($i: TopicStatusInput!) { setTopicStatus(input: $i) { closed locked pinned } }`;
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { bodyHtml } }`;
      expectOk(await t.gql(STATUS, { i: { topicId: topic.id, closed: true } }, { token: mod.token }));
      let before = await forumRowCounts(t);
      const closed = expectError(await t.gql(REPLY, { input: { topicId: topic.id, body: 'too late' } }, { token: other.token }), 'FORBIDDEN');
      expect(closed.message).toMatch(/closed/);
      expect(await forumRowCounts(t)).toEqual(before);
      expect(expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'edited while closed' } }, { token: other.token })).editPost.bodyHtml).toContain('edited while closed');
      expectOk(await t.gql(STATUS, { i: { topicId: topic.id, closed: false, locked: true } }, { token: mod.token }));
      before = await forumRowCounts(t);
      expect(expectError(await t.gql(REPLY, { input: { topicId: topic.id, body: 'x' } }, { token: other.token }), 'FORBIDDEN').message).toMatch(/locked/);
      expect(expectError(await t.gql(EDIT, { input: { postId: r.id, body: 'x' } }, { token: other.token }), 'FORBIDDEN').message).toMatch(/locked/);
      expect(await forumRowCounts(t)).toEqual(before);
      expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'moderated' } }, { token: mod.token }));
      expectOk(await t.gql(REPLY, { input: { topicId: topic.id, body: 'staff' } }, { token: mod.token }));
      const events = await t.sql(`SELECT version, payload FROM outbox WHERE aggregate_id = $1 AND type = 'topic.updated' ORDER BY id`, [topic.id]);
      expect(events.map((e) => [e.payload.closed, e.payload.locked])).toEqual([[true, false], [false, true]]);
    });

    it('is for moderators only, and anonymous users are asked to sign in', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const STATUS = `mutation($i: TopicStatusInput!) { setTopicStatus(input: $i) { id } }`;
      const before = await forumRowCounts(t);
      expectError(await t.gql(STATUS, { i: { topicId: topic.id, pinned: true } }, { token: author.token }), 'FORBIDDEN');
      expectError(await t.gql(STATUS, { i: { topicId: topic.id, pinned: true } }), 'UNAUTHENTICATED');
      expectError(await t.gql(REPLY, { input: { topicId: topic.id, body: 'anon' } }), 'UNAUTHENTICATED');
      expect(await forumRowCounts(t)).toEqual(before);
    });
  });

  describe('reactions', () => {
    it('keeps counters exact under concurrent toggles', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const fans = await Promise.all(Array.from({ length: 8 }, () => makeUser(t)));
      const REACT = `mutation($i: ReactionInput!) { react(input: $i) { id } }`;
      const UNREACT = `mutation($i: ReactionInput!) { unreact(input: $i) { id } }`;
      await Promise.all(fans.flatMap((f) => [
        t.gql(REACT, { i: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: f.token }),
        t.gql(REACT, { i: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: f.token }),
        t.gql(REACT, { i: { postId: topic.firstPostId, kind: 'INSIGHTFUL' } }, { token: f.token }),
      ]));
      await Promise.all(fans.slice(0, 3).map((f) => t.gql(UNREACT, { i: { postId: topic.firstPostId, kind: 'INSIGHTFUL' } }, { token: f.token })));
      const [post] = await t.sql(`SELECT reaction_counts, reaction_total FROM posts WHERE id = $1`, [topic.firstPostId]);
      expect(post).toEqual({ reaction_counts: { LIKE: 8, INSIGHTFUL: 5 }, reaction_total: 13 });
      expect((await t.sql(`SELECT count(*)::int AS n FROM reactions WHERE post_id = $1`, [topic.firstPostId]))[0].n).toBe(13);
      expect((await t.sql(`SELECT reaction_count FROM topics WHERE id = $1`, [topic.id]))[0].reaction_count).toBe(13);
      const seen = expectOk(await t.gql(`query($id: ID!) { post(id: $id) { reactions { kind count } myReactions } }`, { id: topic.firstPostId }, { token: fans[0].token })).post;
      expect(seen).toEqual({ reactions: [{ kind: 'LIKE', count: 8 }, { kind: 'INSIGHTFUL', count: 5 }], myReactions: ['LIKE'] });
      expect(expectOk(await t.gql(`query($id: ID!) { post(id: $id) { myReactions } }`, { id: topic.firstPostId })).post.myReactions).toEqual([]);
      // Only one event per real change (the duplicate LIKEs changed nothing).
      expect((await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND type = 'reaction.updated'`, [topic.firstPostId]))[0].n).toBe(8 + 8 + 3);
    });

    it('refuses reactions on your own post and writes nothing', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const before = await forumRowCounts(t);
      expectError(await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: author.token }), 'FORBIDDEN');
      expect(await forumRowCounts(t)).toEqual(before);
    });
  });

  describe('accepted answers', () => {
    it('unaccepts, and only for the asker or a moderator', async () => {
      const q = await createTopic(t, author.token, boardId, { kind: 'QUESTION' });
      const a = await reply(t, other.token, q.id, 'the answer');
      const ACCEPT = `mutation($id: ID!) { acceptAnswer(postId: $id) { acceptedAnswer { id bodyHtml } } }`;
      const UNACCEPT = `mutation($id: ID!) { unacceptAnswer(topicId: $id) { acceptedAnswer { id } } }`;
      expect(expectOk(await t.gql(ACCEPT, { id: a.id }, { token: author.token })).acceptAnswer.acceptedAnswer.id).toBe(a.id);
      expectError(await t.gql(UNACCEPT, { id: q.id }, { token: other.token }), 'FORBIDDEN');
      expect(expectOk(await t.gql(UNACCEPT, { id: q.id }, { token: author.token })).unacceptAnswer.acceptedAnswer).toBeNull();
      expect((await t.sql(`SELECT accepted_post_id FROM topics WHERE id = $1`, [q.id]))[0].accepted_post_id).toBeNull();
      const events = await t.sql(`SELECT version, payload FROM outbox WHERE aggregate_id = $1 AND type = 'topic.updated' ORDER BY id`, [q.id]);
      expect(events.map((e) => e.payload.acceptedPostId)).toEqual([a.id, null]);
      const [row] = await t.sql(`SELECT version FROM topics WHERE id = $1`, [q.id]);
      expect(events[events.length - 1].version).toBe(row.version);
      // A hidden reply cannot be accepted.
      const hidden = await reply(t, other.token, q.id, 'hidden answer');
      await setPostState(t, hidden.id, 'HIDDEN');
      expectError(await t.gql(ACCEPT, { id: hidden.id }, { token: mod.token }), 'BAD_USER_INPUT');
    });
  });

  describe('read state', () => {
    it('shows unread counts per topic in lists and refuses unreadable topics', async () => {
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      const a = await createTopic(t, author.token, board);
      const b = await createTopic(t, author.token, board);
      await reply(t, other.token, a.id);
      await reply(t, other.token, a.id);
      const hidden = await reply(t, other.token, a.id);
      await setPostState(t, hidden.id, 'HIDDEN');
      expectOk(await t.gql(`mutation($i: MarkReadInput!) { markRead(input: $i) { id } }`, { i: { topicId: a.id, postNumber: 2 } }, { token: mod.token }));
      const list = expectOk(await t.gql(`query($b: ID!) { board(id: $b) { topics { edges { node { id unreadCount } } } } }`, { b: board }, { token: mod.token })).board.topics;
      const unread = Object.fromEntries(list.edges.map((e: any) => [e.node.id, e.node.unreadCount]));
      expect(unread).toEqual({ [a.id]: 1, [b.id]: 1 });
      const secret = await createTopic(t, author.token, board);
      await setTopicState(t, secret.id, 'PENDING');
      const before = await forumRowCounts(t);
      expectError(await t.gql(`mutation($i: MarkReadInput!) { markRead(input: $i) { id } }`, { i: { topicId: secret.id, postNumber: 1 } }, { token: other.token }), 'NOT_FOUND');
      expect(await forumRowCounts(t)).toEqual(before);
    });
  });

  describe('profile activity', () => {
    it('pages newest first by keyset without gaps or duplicates, with a matching count', async () => {
      const writer = await makeUser(t);
      const topic = await createTopic(t, writer.token, boardId);
      const mine = [topic.firstPostId];
      for (let i = 0; i < 6; i++) mine.push((await reply(t, writer.token, topic.id, `post ${i}`)).id);
      const q = `query($h: String!, $after: String) { user(handle: $h) { posts(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id author { id } } } } } }`;
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: any = expectOk(await t.gql(q, { h: writer.handle, after })).user.posts;
        expect(page.totalCount).toBe(7);
        for (const e of page.edges) expect(e.node.author.id).toBe(writer.id);
        seen.push(...ids(page));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual([...mine].reverse());
    });

    it('costs a fixed number of statements whatever the page size', async () => {
      const writer = await makeUser(t);
      const topic = await createTopic(t, writer.token, boardId);
      for (let i = 0; i < 30; i++) await reply(t, writer.token, topic.id, `post ${i}`);
      const q = `query($h: String!, $first: Int) { user(handle: $h) { posts(first: $first) { totalCount edges { node { id bodyHtml author { handle } topic { title } reactions { kind } myReactions } } } } }`;
      const few = await t.countStatements(() => t.gql(q, { h: writer.handle, first: 3 }, { token: other.token }));
      const many = await t.countStatements(async () => {
        expect(expectOk(await t.gql(q, { h: writer.handle, first: 31 }, { token: other.token })).user.posts.edges).toHaveLength(31);
      });
      expect(many.count).toBe(few.count);
      expect(many.count).toBeLessThanOrEqual(8);
    });

    it('lists the topics and ideas of every board of a space in a fixed number of statements (no N+1)', async () => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const writer = await makeUser(t);
      const hidden: string[] = [];
      const addBoards = async () => {
        for (const kind of ['FORUM', 'IDEAS'] as const) {
          const b = await makeBoard(t, space.id, kind);
          for (let i = 0; i < 3; i++) await createTopic(t, writer.token, b, { title: `Topic ${i} of ${b}` });
          const held = await createTopic(t, writer.token, b, { title: `Hidden in ${b}` });
          await setTopicState(t, held.id, 'HIDDEN');
          hidden.push(held.id);
        }
      };
      const q = `query($slug: String!) { space(slug: $slug) { boards { id kind
        topics(first: 2) { totalCount pageInfo { hasNextPage } edges { node { id title board { id } author { handle } } } }
        trending: topics(first: 2, sort: TRENDING) { totalCount edges { node { id board { id } } } }
        ideas(first: 2, sort: TOP) { totalCount edges { node { id board { id } idea { voteCount } } } } } } }`;
      await addBoards();
      const viewers = [other, mod];
      const one: number[] = [];
      for (const viewer of viewers) {
        one.push((await t.countStatements(async () => expect(expectOk(await t.gql(q, { slug: space.slug }, { token: viewer.token })).space.boards).toHaveLength(2))).count);
      }
      await addBoards();
      await addBoards();
      for (const [i, viewer] of viewers.entries()) {
        let page: any;
        const three = await t.countStatements(async () => (page = expectOk(await t.gql(q, { slug: space.slug }, { token: viewer.token }))));
        expect(three.count).toBe(one[i]);
        // Each board lists its own topics, counted and filtered for this viewer.
        const seen = mod === viewer ? 4 : 3;
        expect(page.space.boards).toHaveLength(6);
        for (const b of page.space.boards) {
          const lists = [b.topics, b.trending, ...(b.kind === 'IDEAS' ? [b.ideas] : [])];
          for (const list of lists) {
            expect(list.totalCount).toBe(seen);
            expect(list.edges).toHaveLength(2);
            for (const e of list.edges) expect(e.node.board.id).toBe(b.id);
          }
          expect(b.topics.pageInfo.hasNextPage).toBe(true);
          if (b.kind === 'FORUM') expect(b.ideas).toMatchObject({ totalCount: 0, edges: [] });
          if (viewer === other) for (const e of b.topics.edges) expect(hidden).not.toContain(e.node.id);
        }
      }
    });

    it('reads a topic’s posts afresh after a reply earlier in the same request', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const both = `mutation($a: ReplyInput!, $b: ReplyInput!) {
        a: replyToTopic(input: $a) { topic { posts { totalCount edges { node { number } } } } }
        b: replyToTopic(input: $b) { topic { posts { totalCount edges { node { number } } } } } }`;
      const res = expectOk(await t.gql(both, { a: { topicId: topic.id, body: 'first of two' }, b: { topicId: topic.id, body: 'second of two' } }, { token: other.token }));
      expect(res.a.topic.posts.totalCount).toBe(2);
      expect(res.b.topic.posts.totalCount).toBe(3);
      expect(res.b.topic.posts.edges.map((e: any) => e.node.number)).toEqual([1, 2, 3]);
    });

    it('lists topics with their posts in a fixed number of statements (no N+1)', async () => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const board = await makeBoard(t, space.id);
      const writer = await makeUser(t);
      const addTopic = async () => {
        const topic = await createTopic(t, writer.token, board);
        for (let i = 0; i < 3; i++) await reply(t, writer.token, topic.id, `reply ${i} in ${topic.id}`);
        const held = await reply(t, writer.token, topic.id, 'held reply');
        await setPostState(t, held.id, 'PENDING');
      };
      const q = `query($b: ID!) { board(id: $b) { topics(first: 10) { edges { node { id
        posts(first: 4) { totalCount pageInfo { hasNextPage } edges { node { id number bodyHtml topic { id } author { handle } myReactions } } } } } } } }`;
      await addTopic();
      const viewers = [other, mod];
      const one: number[] = [];
      for (const viewer of viewers) one.push((await t.countStatements(async () => expectOk(await t.gql(q, { b: board }, { token: viewer.token })))).count);
      for (let i = 0; i < 3; i++) await addTopic();
      for (const [i, viewer] of viewers.entries()) {
        let page: any;
        const four = await t.countStatements(async () => (page = expectOk(await t.gql(q, { b: board }, { token: viewer.token }))));
        expect(four.count).toBe(one[i]);
        const topics = page.board.topics.edges.map((e: any) => e.node);
        expect(topics).toHaveLength(4);
        for (const topic of topics) {
          // Four visible posts; moderators also see the held reply.
          expect(topic.posts.totalCount).toBe(viewer === mod ? 5 : 4);
          expect(topic.posts.pageInfo.hasNextPage).toBe(viewer === mod);
          expect(topic.posts.edges.map((e: any) => e.node.number)).toEqual([1, 2, 3, 4]);
          for (const e of topic.posts.edges) expect(e.node.topic.id).toBe(topic.id);
          for (const e of topic.posts.edges.slice(1)) expect(e.node.bodyHtml).toContain(`in ${topic.id}`);
        }
      }
    });
  });

  describe('sanitization end to end', () => {
    it('strips scripts, handlers and javascript: links from replies and edits, keeping the source as written', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const evil = '<script>alert(1)</script>\n\n[click](javascript:alert(1)) <a href="javascript:alert(2)">x</a> <img src=x onerror=alert(3)> [ok](JAVASCRIPT:alert(4)) <iframe src="https://evil.example"></iframe>';
      const r = await reply(t, other.token, topic.id, evil);
      const edited = expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { bodyHtml bodySource } }`, { input: { postId: topic.firstPostId, body: evil } }, { token: author.token })).editPost;
      const read = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { edges { node { bodyHtml } } } } }`, { id: topic.id })).topic.posts.edges.map((e: any) => e.node.bodyHtml);
      // Escaped text (`&lt;script&gt;`) is harmless; what must never appear is a real tag or attribute.
      const tags = (html: string) => html.match(/<[a-z][^>]*>/gi) ?? [];
      for (const html of [r.bodyHtml, edited.bodyHtml, ...read]) {
        expect(html).toContain('&lt;script&gt;');
        for (const tag of tags(html)) {
          expect(tag).not.toMatch(/^<(script|iframe|img|object|embed|style)/i);
          expect(tag).not.toMatch(/\son\w+\s*=/i);
          expect(tag).not.toMatch(/(href|src)\s*=\s*["']?\s*javascript:/i);
        }
      }
      expect(edited.bodySource).toBe(evil);
    });
  });
});
