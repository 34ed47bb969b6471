import { encodeCursor } from '../../libs/core/src/graphql/pagination';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { CREATE_TOPIC, createTopic, REPLY, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const TOPIC_PAGE = `query($id: ID!, $first: Int) { topic(id: $id) { id title replyCount posts(first: $first) {
  edges { node { id number bodyHtml createdAt author { id handle displayName } reactions { kind count } myReactions } } } } }`;

describe('forums', () => {
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

  const count = async (table: string) => (await t.sql(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;

  describe('creating topics', () => {
    it('creates a topic with its first post, revision, mentions and outbox events in one go', async () => {
      const res = expectOk(
        await t.gql(CREATE_TOPIC, { input: { boardId, title: '  How do I pair the hub?  ', body: `Hello @${other.handle}, see [docs](https://docs.example)`, kind: 'QUESTION', tags: ['Hub', 'pairing', 'hub'] } }, { token: author.token }),
      ).createTopic;
      expect(res).toMatchObject({ title: 'How do I pair the hub?', kind: 'QUESTION', tags: ['hub', 'pairing'], replyCount: 0, firstPost: { number: 1 } });
      expect(res.firstPost.bodyHtml).toContain('rel="nofollow ugc noopener"');
      expect(res.firstPost.bodyHtml).toContain(`data-handle="${other.handle}"`);
      expect(await t.sql(`SELECT user_id FROM post_mentions WHERE post_id = $1`, [res.firstPost.id])).toEqual([{ user_id: other.id }]);
      expect((await t.sql(`SELECT count(*)::int AS n FROM post_revisions WHERE post_id = $1`, [res.firstPost.id]))[0].n).toBe(1);
      const events = await t.sql(`SELECT type, version, payload FROM outbox WHERE payload->>'topicId' = $1 ORDER BY id`, [res.id]);
      expect(events.map((e) => e.type)).toEqual(['topic.created', 'post.created']);
      expect(events[1].payload.mentionedUserIds).toEqual([other.id]);
    });

    it.each([
      [{ title: 'ab' }, 'title'],
      [{ title: 'x'.repeat(201) }, 'title'],
      // 202 characters as PostgreSQL and the schema count them (code points), 101 as class-validator's Length does.
      [{ title: '\u2764\ufe0f'.repeat(101) }, 'title'],
      [{ body: '\u2764\ufe0f'.repeat(50_001) }, 'body'],
      [{ body: '' }, 'body'],
      [{ body: 'x'.repeat(100_001) }, 'body'],
      [{ body: '  \n\t ' }, 'body'],
      [{ body: '\u200b\u00a0\u2060' }, 'body'],
      [{ title: '\u200b\u200b\u200b' }, 'title'],
      [{ title: 'Two\nlines' }, 'title'],
      [{ title: 'A tab\there' }, 'title'],
      [{ tags: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'tags'],
      [{ tags: ['bad tag'] }, 'tags'],
      [{ kind: 'IDEA' }, 'kind'],
      [{ boardId: 'not-a-uuid' }, 'boardId'],
    ])('refuses bad input %# with BAD_USER_INPUT and writes nothing', async (patch, field) => {
      const before = [await count('topics'), await count('posts'), await count('outbox')];
      const input = { boardId, title: 'A fine title', body: 'A fine body', ...patch };
      const err = expectError(await t.gql(CREATE_TOPIC, { input }, { token: author.token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields!.map((f) => f.field)).toContain(field);
      expect([await count('topics'), await count('posts'), await count('outbox')]).toEqual(before);
    });

    it('takes a title and a body of exactly their limit in code points (astral characters, emoji with U+FE0F, combining marks, CRLF)', async () => {
      // 200 and 100,000 characters as PostgreSQL's char_length counts them, whatever class-validator's Length counts.
      const body = 'x'.repeat(29_996) + '\u{1F600}'.repeat(10_000) + 'e\u0301'.repeat(10_000) + '\u2764\ufe0f'.repeat(10_000) + '\r\n'.repeat(10_000) + 'abcd';
      for (const title of ['\u{1F600}'.repeat(200), '\u2764\ufe0f'.repeat(100), 'e\u0301'.repeat(100)]) {
        const res = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId, title, body } }, { token: author.token })).createTopic;
        const [row] = await t.sql(`SELECT char_length(t.title) AS title, char_length(p.body_source) AS body FROM topics t JOIN posts p ON p.id = $2 WHERE t.id = $1`, [res.id, res.firstPost.id]);
        expect(row).toEqual({ title: 200, body: 100_000 });
      }
    });

    it('counts a title’s lower bound in code points, as PostgreSQL does', async () => {
      // Two hearts with their variation selectors: 4 characters to char_length, enough for "3–200 characters".
      const res = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId, title: '\u2764\ufe0f\u2764\ufe0f', body: 'A fine body' } }, { token: author.token })).createTopic;
      expect(res.title).toBe('\u2764\ufe0f\u2764\ufe0f');
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      expectOk(await t.gql(EDIT, { input: { postId: res.firstPost.id, body: 'A fine body, edited', title: '\u263a\ufe0f\u263a\ufe0f' } }, { token: author.token }));
      expect((await t.sql(`SELECT title FROM topics WHERE id = $1`, [res.id]))[0].title).toBe('\u263a\ufe0f\u263a\ufe0f');
      // Two code points are one short.
      const before = [await count('topics'), await count('posts')];
      expect(expectError(await t.gql(CREATE_TOPIC, { input: { boardId, title: '\u{1F44D}\u{1F44D}', body: 'A fine body' } }, { token: author.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'title', message: 'must be at least 3 characters' }]);
      expect([await count('topics'), await count('posts')]).toEqual(before);
    });

    it('refuses a body past its limit, or empty, with the one message of its one count', async () => {
      const before = [await count('topics'), await count('posts')];
      const refused = async (body: string) => expectError(await t.gql(CREATE_TOPIC, { input: { boardId, title: 'A fine title', body } }, { token: author.token }), 'BAD_USER_INPUT').extensions.fields;
      expect(await refused('x'.repeat(100_001))).toEqual([{ field: 'body', message: 'must be at most 100000 characters' }]);
      expect(await refused('')).toEqual([{ field: 'body', message: 'must contain visible text' }]);
      expect([await count('topics'), await count('posts')]).toEqual(before);
    });

    it('needs a signed-in participant and an existing board', async () => {
      expectError(await t.gql(CREATE_TOPIC, { input: { boardId, title: 'Anonymous', body: 'x' } }), 'UNAUTHENTICATED');
      expectError(await t.gql(CREATE_TOPIC, { input: { boardId: '01a207d7-22e1-733a-9303-5a2047c59e37', title: 'Nowhere', body: 'x' } }, { token: author.token }), 'NOT_FOUND');
    });

    it('keeps a reference to quoted posts the author can read, and only those', async () => {
      const source = await createTopic(t, other.token, boardId, { body: 'quotable words' });
      const staff = await makeGroup(t);
      const insider = await makeUser(t, { groups: [staff] });
      const internal = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }]);
      const secret = await createTopic(t, insider.token, await makeBoard(t, internal.id), { body: 'internal words' });
      const body = `[quote post=${source.firstPostId}]\nquotable words\n[/quote]\n\n[quote post=${secret.firstPostId}]\nguess\n[/quote]\n\nmine`;
      const topic = await createTopic(t, author.token, boardId, { body });
      const refs = await t.sql(`SELECT quoted_post_id FROM post_quotes WHERE post_id = $1`, [topic.firstPostId]);
      expect(refs).toEqual([{ quoted_post_id: source.firstPostId }]);
    });

    it('never returns script or javascript: links in rendered HTML', async () => {
      const topic = await createTopic(t, author.token, boardId, { body: '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>' });
      const html = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { firstPost { bodyHtml } } }`, { id: topic.id })).topic.firstPost.bodyHtml;
      expect(html).not.toMatch(/<script|href="javascript|<img[^>]+onerror/i);
    });
  });

  describe('replies', () => {
    it('numbers replies, links replyTo, counts them and records activity', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const r1 = await reply(t, other.token, topic.id, 'first reply');
      const r2 = await reply(t, author.token, topic.id, 'second', r1.id);
      expect([r1.number, r2.number]).toEqual([2, 3]);
      const data = expectOk(await t.gql(`query($id: ID!) { post(id: $id) { replyTo { id } topic { replyCount } } }`, { id: r2.id }));
      expect(data.post).toEqual({ replyTo: { id: r1.id }, topic: { replyCount: 2 } });
      const otherTopic = await createTopic(t, author.token, boardId);
      expectError(await t.gql(REPLY, { input: { topicId: otherTopic.id, body: 'x', replyToPostId: r1.id } }, { token: author.token }), 'BAD_USER_INPUT');
    });

    it('gives concurrent replies distinct consecutive numbers', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => reply(t, i % 2 ? other.token : author.token, topic.id, `reply ${i}`)));
      expect(replies.map((r) => r.number).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const [row] = await t.sql(`SELECT reply_count, last_post_number FROM topics WHERE id = $1`, [topic.id]);
      expect(row).toEqual({ reply_count: 10, last_post_number: 11 });
    });

    it('refuses replies to closed topics, and replies and edits to locked ones, except from moderators', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const status = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { closed locked pinned } }`;
      expectError(await t.gql(status, { input: { topicId: topic.id, closed: true } }, { token: author.token }), 'FORBIDDEN');
      expect(expectOk(await t.gql(status, { input: { topicId: topic.id, closed: true } }, { token: mod.token })).setTopicStatus).toEqual({ closed: true, locked: false, pinned: false });
      // Closing it again (or asking for what it already is) changes, announces and logs nothing.
      const trail = () => t.sql(`SELECT (SELECT count(*) FROM moderation_log WHERE target_id = $1)::int AS log, (SELECT count(*) FROM outbox WHERE aggregate_id = $1)::int AS events, (SELECT version FROM topics WHERE id = $1) AS version`, [topic.id]);
      const before = await trail();
      expect(expectOk(await t.gql(status, { input: { topicId: topic.id, closed: true, pinned: false } }, { token: mod.token })).setTopicStatus).toEqual({ closed: true, locked: false, pinned: false });
      expect(await trail()).toEqual(before);
      expectError(await t.gql(REPLY, { input: { topicId: topic.id, body: 'late' } }, { token: other.token }), 'FORBIDDEN');
      await reply(t, mod.token, topic.id, 'staff note');
      expectOk(await t.gql(status, { input: { topicId: topic.id, closed: false, locked: true } }, { token: mod.token }));
      expectError(await t.gql(REPLY, { input: { topicId: topic.id, body: 'x' } }, { token: other.token }), 'FORBIDDEN');
      const edit = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      expectError(await t.gql(edit, { input: { postId: topic.firstPostId, body: 'changed' } }, { token: author.token }), 'FORBIDDEN');
      expectOk(await t.gql(edit, { input: { postId: topic.firstPostId, body: 'changed by staff', reason: 'typo' } }, { token: mod.token }));
    });
  });

  describe('editing', () => {
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id bodyHtml editedAt bodySource revisions { number reason bodySource editor { id } } topic { title tags } } }`;

    it('keeps every revision and re-renders, author only (or moderators)', async () => {
      const topic = await createTopic(t, author.token, boardId, { body: 'v1' });
      expectError(await t.gql(EDIT, { input: { postId: topic.firstPostId, body: 'hijack' } }, { token: other.token }), 'FORBIDDEN');
      const e = expectOk(await t.gql(EDIT, { input: { postId: topic.firstPostId, body: '**v2**', reason: 'clarify', title: 'New title', tags: ['x'] } }, { token: author.token })).editPost;
      expect(e.bodyHtml).toBe('<p><strong>v2</strong></p>\n');
      expect(e.editedAt).not.toBeNull();
      expect(e.topic).toEqual({ title: 'New title', tags: ['x'] });
      expect(e.revisions.map((r: { number: number; reason: string | null; bodySource: string }) => [r.number, r.reason, r.bodySource])).toEqual([
        [1, null, 'v1'],
        [2, 'clarify', '**v2**'],
      ]);
      const r = await reply(t, other.token, topic.id);
      expectError(await t.gql(EDIT, { input: { postId: r.id, body: 'x', title: 'Not allowed here' } }, { token: other.token }), 'BAD_USER_INPUT');
      for (const body of ['   ', '\u200b']) {
        expectError(await t.gql(EDIT, { input: { postId: r.id, body } }, { token: other.token }), 'BAD_USER_INPUT');
        expectError(await t.gql(REPLY, { input: { topicId: topic.id, body } }, { token: other.token }), 'BAD_USER_INPUT');
      }
      const shown = expectOk(await t.gql(`query($id: ID!) { post(id: $id) { bodySource } }`, { id: topic.firstPostId }, { token: other.token })).post;
      expect(shown.bodySource).toBeNull();
      const events = await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [topic.firstPostId]);
      expect(events.map((x) => x.type)).toEqual(['post.created', 'post.updated']);
    });
  });

  describe('soft deletion', () => {
    it('shows others a placeholder, never the content, and lets moderators restore', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, other.token, topic.id, 'secret words');
      expectError(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: r.id }, { token: author.token }), 'FORBIDDEN');
      const deleted = expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { state bodyHtml placeholder } }`, { id: r.id }, { token: other.token })).deletePost;
      expect(deleted).toEqual({ state: 'DELETED', bodyHtml: null, placeholder: 'This post was deleted.' });
      for (const viewer of [undefined, author.token, other.token]) {
        const res = await t.gql(
          `query($id: ID!, $p: ID!) { post(id: $p) { bodyHtml bodySource revisions { bodySource } reactions { count } } topic(id: $id) { replyCount posts { edges { node { id state bodyHtml placeholder } } } } }`,
          { id: topic.id, p: r.id },
          { token: viewer },
        );
        expect(JSON.stringify(res)).not.toContain('secret words');
        expect(res.data.topic.replyCount).toBe(0);
        expect(res.data.topic.posts.edges[1].node).toMatchObject({ id: r.id, state: 'DELETED', bodyHtml: null });
      }
      const modView = expectOk(await t.gql(`query($p: ID!) { post(id: $p) { bodyHtml } }`, { p: r.id }, { token: mod.token })).post;
      expect(modView.bodyHtml).toContain('secret words');
      expectError(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: r.id }, { token: other.token }), 'FORBIDDEN');
      expect(expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { state bodyHtml } }`, { id: r.id }, { token: mod.token })).restorePost.state).toBe('VISIBLE');
      expect((await t.sql(`SELECT reply_count FROM topics WHERE id = $1`, [topic.id]))[0].reply_count).toBe(1);
    });

    it('tells a reader shown a placeholder no more than the live push of it does: not that it was edited, nor what it replied to', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const first = await reply(t, author.token, topic.id, 'The reply answered');
      const hidden = await reply(t, other.token, topic.id, 'Hidden later', first.id);
      const deleted = await reply(t, other.token, topic.id, 'Deleted later', first.id);
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      for (const p of [hidden, deleted]) expectOk(await t.gql(EDIT, { input: { postId: p.id, body: 'Edited once', reason: 'typo' } }, { token: other.token }));
      expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: hidden.id, action: 'HIDE' } }, { token: mod.token }));
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: other.token }));
      const FIELDS = `id number state bodyHtml placeholder editedAt replyTo { id } revisions { number } reactions { count } myReactions wiki version author { id }`;
      const read = async (token?: string) => {
        const res = expectOk(await t.gql(
          `query($id: ID!, $h: ID!, $d: ID!) { topic(id: $id) { posts(first: 10) { edges { node { ${FIELDS} } } } } h: post(id: $h) { ${FIELDS} } d: post(id: $d) { ${FIELDS} } }`,
          { id: topic.id, h: hidden.id, d: deleted.id },
          { token },
        ));
        const listed = (id: string) => res.topic.posts.edges.map((e: { node: { id: string } }) => e.node).find((n: { id: string }) => n.id === id);
        // The page and post(id) agree.
        expect(listed(hidden.id)).toEqual(res.h);
        expect(listed(deleted.id)).toEqual(res.d);
        return { h: res.h, d: res.d };
      };
      const placeholder = (p: { id: string; number: number }, state: string, text: string) => ({
        id: p.id, number: p.number, state, bodyHtml: null, placeholder: text, editedAt: null, replyTo: null,
        revisions: [], reactions: [], myReactions: [], wiki: false, version: expect.any(Number), author: { id: other.id },
      });
      // A plain reader (signed in or not), and the deleted post's own author, get the placeholder alone.
      for (const token of [undefined, author.token]) {
        expect(await read(token)).toEqual({
          h: placeholder(hidden, 'HIDDEN', 'This post was hidden by a moderator.'),
          d: placeholder(deleted, 'DELETED', 'This post was deleted.'),
        });
      }
      expect((await read(other.token)).d).toEqual(placeholder(deleted, 'DELETED', 'This post was deleted.'));
      // The hidden post's author, and a moderator, read the posts in full.
      const own = (await read(other.token)).h;
      expect(own).toMatchObject({ state: 'HIDDEN', editedAt: expect.any(String), replyTo: { id: first.id }, revisions: [{ number: 1 }, { number: 2 }] });
      const modded = await read(mod.token);
      for (const p of [modded.h, modded.d]) expect(p).toMatchObject({ bodyHtml: expect.stringContaining('Edited once'), editedAt: expect.any(String), replyTo: { id: first.id } });
      // The placeholder's version is the removal's (which its post:removed carried): the version the hidden post's author
      // reads it at, nothing having changed since. Their edit of it raises theirs, not the one its readers are shown.
      const shownAt = (await read()).h.version;
      expect(own.version).toBe(shownAt);
      expectOk(await t.gql(EDIT, { input: { postId: hidden.id, body: 'Edited while hidden' } }, { token: other.token }));
      expect((await read(other.token)).h.version).toBeGreaterThan(shownAt);
      for (const token of [undefined, author.token]) expect((await read(token)).h).toEqual({ ...placeholder(hidden, 'HIDDEN', 'This post was hidden by a moderator.'), version: shownAt });
    });

    it('deleting the first post deletes the topic for everyone but moderators', async () => {
      const topic = await createTopic(t, author.token, boardId, { title: 'Doomed topic' });
      // The response says what became of the topic, though its author can no longer open it.
      await reply(t, other.token, topic.id, 'A reply in the doomed topic');
      const deleted = expectOk(
        await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id state topic { id state posts(first: 10) { totalCount edges { node { id } } } } } }`, { id: topic.firstPostId }, { token: author.token }),
      );
      // ...and no more than that: its posts are not listed to them.
      expect(deleted.deletePost).toEqual({ id: topic.firstPostId, state: 'DELETED', topic: { id: topic.id, state: 'DELETED', posts: { totalCount: 0, edges: [] } } });
      const gone = await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: topic.id }, { token: other.token });
      expectError(gone, 'NOT_FOUND');
      expect(gone.data.topic).toBeNull();
      expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: topic.id }, { token: author.token }), 'NOT_FOUND');
      expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { state } }`, { id: topic.id }, { token: mod.token })).topic.state).toBe('DELETED');
      const list = expectOk(await t.gql(`query($b: ID!) { board(id: $b) { topics(first: 100) { edges { node { id } } } } }`, { b: boardId }, { token: mod.token }));
      expect(list.board.topics.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(topic.id);
      expectError(await t.gql(REPLY, { input: { topicId: topic.id, body: 'x' } }, { token: other.token }), 'NOT_FOUND');
    });
  });

  describe('reactions', () => {
    const REACT = `mutation($input: ReactionInput!) { react(input: $input) { reactions { kind count } myReactions } }`;
    const UNREACT = `mutation($input: ReactionInput!) { unreact(input: $input) { reactions { kind count } myReactions } }`;

    it('toggles idempotently and keeps counters in step', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const input = { postId: topic.firstPostId, kind: 'LIKE' };
      expect(expectOk(await t.gql(REACT, { input }, { token: other.token })).react).toEqual({ reactions: [{ kind: 'LIKE', count: 1 }], myReactions: ['LIKE'] });
      expect(expectOk(await t.gql(REACT, { input }, { token: other.token })).react.reactions).toEqual([{ kind: 'LIKE', count: 1 }]);
      expectOk(await t.gql(REACT, { input: { ...input, kind: 'THANKS' } }, { token: other.token }));
      expectOk(await t.gql(REACT, { input }, { token: mod.token }));
      expect((await t.sql(`SELECT reaction_count FROM topics WHERE id = $1`, [topic.id]))[0].reaction_count).toBe(3);
      expect(expectOk(await t.gql(UNREACT, { input }, { token: other.token })).unreact).toEqual({
        reactions: [
          { kind: 'LIKE', count: 1 },
          { kind: 'THANKS', count: 1 },
        ],
        myReactions: ['THANKS'],
      });
      expectOk(await t.gql(UNREACT, { input }, { token: other.token }));
      expect((await t.sql(`SELECT reaction_count FROM topics WHERE id = $1`, [topic.id]))[0].reaction_count).toBe(2);
      expectError(await t.gql(REACT, { input }, { token: author.token }), 'FORBIDDEN');
      expectError(await t.gql(REACT, { input }), 'UNAUTHENTICATED');
      expectError(await t.gql(REACT, { input: { ...input, kind: 'LOVE' } }, { token: other.token }), 'BAD_USER_INPUT');
    });
  });

  describe('accepted answers', () => {
    it('lets the asker or a moderator accept one answer and change it', async () => {
      const q = await createTopic(t, author.token, boardId, { kind: 'QUESTION' });
      const a1 = await reply(t, other.token, q.id, 'answer one');
      const a2 = await reply(t, mod.token, q.id, 'answer two');
      const ACCEPT = `mutation($id: ID!) { acceptAnswer(postId: $id) { acceptedAnswer { id } } }`;
      expectError(await t.gql(ACCEPT, { id: a1.id }, { token: other.token }), 'FORBIDDEN');
      expect(expectOk(await t.gql(ACCEPT, { id: a1.id }, { token: author.token })).acceptAnswer.acceptedAnswer.id).toBe(a1.id);
      expect(expectOk(await t.gql(ACCEPT, { id: a2.id }, { token: mod.token })).acceptAnswer.acceptedAnswer.id).toBe(a2.id);
      expectError(await t.gql(ACCEPT, { id: q.firstPostId }, { token: author.token }), 'BAD_USER_INPUT');
      const disc = await createTopic(t, author.token, boardId);
      const d1 = await reply(t, other.token, disc.id);
      expectError(await t.gql(ACCEPT, { id: d1.id }, { token: author.token }), 'BAD_USER_INPUT');
      // Deleting the accepted answer clears it.
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: a2.id }, { token: mod.token }));
      expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { acceptedAnswer { id } } }`, { id: q.id })).topic.acceptedAnswer).toBeNull();
    });
  });

  describe('read state', () => {
    it('counts unread visible posts per viewer', async () => {
      const topic = await createTopic(t, author.token, boardId);
      await reply(t, other.token, topic.id);
      await reply(t, other.token, topic.id);
      const q = `query($id: ID!) { topic(id: $id) { unreadCount } }`;
      expect(expectOk(await t.gql(q, { id: topic.id }, { token: mod.token })).topic.unreadCount).toBe(3);
      expect(expectOk(await t.gql(q, { id: topic.id })).topic.unreadCount).toBeNull();
      const m = `mutation($input: MarkReadInput!) { markRead(input: $input) { unreadCount } }`;
      expect(expectOk(await t.gql(m, { input: { topicId: topic.id, postNumber: 2 } }, { token: mod.token })).markRead.unreadCount).toBe(1);
      expect(expectOk(await t.gql(m, { input: { topicId: topic.id, postNumber: 1 } }, { token: mod.token })).markRead.unreadCount).toBe(1);
      expect(expectOk(await t.gql(m, { input: { topicId: topic.id, postNumber: 99 } }, { token: mod.token })).markRead.unreadCount).toBe(0);
      expectError(await t.gql(m, { input: { topicId: topic.id, postNumber: 0 } }, { token: mod.token }), 'BAD_USER_INPUT');
      expectError(await t.gql(m, { input: { topicId: topic.id, postNumber: 1 } }), 'UNAUTHENTICATED');
    });

    it('never counts the viewer’s own posts as unread', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const q = `query($id: ID!) { topic(id: $id) { unreadCount } }`;
      const unread = async (token: string) => expectOk(await t.gql(q, { id: topic.id }, { token })).topic.unreadCount;
      expect(await unread(author.token)).toBe(0);
      await reply(t, other.token, topic.id);
      await reply(t, author.token, topic.id);
      // The author has not read the other's reply; the other, who replied without opening the
      // topic, counts as having read it up to their reply, not the author's reply after it.
      expect([await unread(author.token), await unread(other.token)]).toEqual([1, 1]);
    });
  });

  describe('lists', () => {
    it('sorts a board by TRENDING: pinned first, then recent replies and reactions against age, paged by position', async () => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const board = await makeBoard(t, space.id);
      const topic = async (title: string) => (await createTopic(t, author.token, board, { title })).id;
      const quiet = await topic('Quiet and new');
      const busy = await topic('Busy for a while');
      const liked = await topic('Liked a lot');
      const old = await topic('Old and quiet');
      const pinned = await topic('Pinned rules');
      // A month-old topic with no activity since: it has aged below the new ones.
      await t.sql(`UPDATE topics SET created_at = now() - interval '30 days', last_activity_at = now() - interval '30 days' WHERE id = $1`, [old]);
      await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: pinned, pinned: true } }, { token: mod.token });
      // Busy: three replies today. Liked: two reactions today (worth half a reply each).
      for (let i = 0; i < 3; i++) await reply(t, other.token, busy, `Reply ${i}`);
      const [first] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [liked]);
      for (const u of [other, mod]) expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: first.id, kind: 'LIKE' } }, { token: u.token }));
      // A month ago, busy's replies would not count: they are what lifts it now.
      const q = `query($b: ID!, $after: String) { board(id: $b) { topics(first: 2, after: $after, sort: TRENDING) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id author { handle } } } } } }`;
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: any = expectOk(await t.gql(q, { b: board, after }, { token: other.token })).board.topics;
        expect(page.totalCount).toBe(5);
        expect(page.edges.every((e: any) => e.node.author.handle === author.handle)).toBe(true);
        seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual([pinned, busy, liked, quiet, old]);
      // Past the end: nothing listed, and the count still says how many there are.
      const beyond = expectOk(await t.gql(q, { b: board, after: encodeCursor('topics:TRENDING', [10]) }, { token: other.token })).board.topics;
      expect([beyond.edges, beyond.totalCount, beyond.pageInfo.hasNextPage]).toEqual([[], 5, false]);
      // Replies older than two weeks no longer lift it.
      await t.sql(`UPDATE posts SET created_at = now() - interval '20 days' WHERE topic_id = $1 AND number > 1`, [busy]);
      const again = expectOk(await t.gql(q.replace('first: 2', 'first: 5'), { b: board, after: null }, { token: other.token })).board.topics.edges.map((e: any) => e.node.id);
      expect(again.indexOf(busy)).toBeGreaterThan(again.indexOf(liked));
      expectError(await t.gql(q, { b: board, after: 'garbage' }), 'BAD_USER_INPUT');
    });

    it('pages a board by keyset, pinned first, without gaps or duplicates, for each sort', async () => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const board = await makeBoard(t, space.id);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await createTopic(t, author.token, board, { title: `Topic number ${i}`, tags: i % 2 ? ['odd'] : ['even'] })).id);
      await reply(t, other.token, ids[2]);
      await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: ids[5], pinned: true } }, { token: mod.token });
      const q = `query($b: ID!, $after: String, $sort: TopicSort, $tag: String) { board(id: $b) { topics(first: 3, after: $after, sort: $sort, tag: $tag) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id pinned } } } } }`;
      for (const sort of ['LATEST_ACTIVITY', 'NEWEST', 'TOP']) {
        const seen: string[] = [];
        let after: string | null = null;
        do {
          const page: any = expectOk(await t.gql(q, { b: board, after, sort }, { token: other.token })).board.topics;
          expect(page.totalCount).toBe(7);
          seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        expect(seen).toHaveLength(7);
        expect(new Set(seen).size).toBe(7);
        expect(seen[0]).toBe(ids[5]);
        if (sort === 'LATEST_ACTIVITY') expect(seen[1]).toBe(ids[2]);
        if (sort === 'NEWEST') expect(seen.slice(1)).toEqual([ids[6], ids[4], ids[3], ids[2], ids[1], ids[0]]);
      }
      const odd = expectOk(await t.gql(q, { b: board, tag: 'odd' })).board.topics;
      expect(odd.totalCount).toBe(3);
      // A tag is read as topics store it (createTopic lower-cases them).
      expect(expectOk(await t.gql(q, { b: board, tag: ' Odd ' })).board.topics.totalCount).toBe(3);
      expectError(await t.gql(q, { b: board, after: 'garbage' }), 'BAD_USER_INPUT');
      expectError(await t.gql(`query($b: ID!) { board(id: $b) { topics(first: 101) { totalCount } } }`, { b: board }), 'BAD_USER_INPUT');
    });

    it('pages a topic’s posts by number', async () => {
      const topic = await createTopic(t, author.token, boardId);
      for (let i = 0; i < 4; i++) await reply(t, other.token, topic.id, `r${i}`);
      const q = `query($id: ID!, $after: String) { topic(id: $id) { posts(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { number } } } } }`;
      const numbers: number[] = [];
      let after: string | null = null;
      do {
        const page: any = expectOk(await t.gql(q, { id: topic.id, after })).topic.posts;
        expect(page.totalCount).toBe(5);
        numbers.push(...page.edges.map((e: { node: { number: number } }) => e.node.number));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(numbers).toEqual([1, 2, 3, 4, 5]);
    });
  });

  describe('statement counts', () => {
    async function topicWithReplies(n: number, viewer: TestUser) {
      const topic = await createTopic(t, author.token, boardId);
      const authors = [author, other, mod];
      for (let i = 1; i < n; i++) {
        const r = await reply(t, authors[i % 3].token, topic.id, `reply ${i}`);
        if (i % 2 === 0 && authors[i % 3].id !== viewer.id) {
          await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: r.id, kind: 'LIKE' } }, { token: viewer.token });
        }
      }
      return topic.id;
    }

    it('reads a topic page with authors, reactions and myReactions in a fixed number of statements (≤ 8)', async () => {
      const viewer = await makeUser(t);
      const small = await topicWithReplies(5, viewer);
      const large = await topicWithReplies(50, viewer);
      const costSmall = await t.countStatements(() => t.gql(TOPIC_PAGE, { id: small, first: 50 }, { token: viewer.token }));
      const costLarge = await t.countStatements(async () => {
        const res = expectOk(await t.gql(TOPIC_PAGE, { id: large, first: 50 }, { token: viewer.token }));
        expect(res.topic.posts.edges).toHaveLength(50);
        expect(res.topic.posts.edges.filter((e: any) => e.node.myReactions.includes('LIKE')).length).toBeGreaterThan(10);
      });
      if (process.env.SHOW_COUNTS) console.log('topic page statements', costLarge.count, costLarge.statements);
      expect(costLarge.count).toBe(costSmall.count);
      expect(costLarge.count).toBeLessThanOrEqual(8);
    });

    it('gives a topic and its posts the versions live pushes carry (a placeholder its removal’s), read with them: no statement more', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const shown = await reply(t, other.token, topic.id, 'a reply that changes');
      const hidden = await reply(t, other.token, topic.id, 'a reply a moderator hides');
      expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: shown.id, kind: 'LIKE' } }, { token: author.token }));
      expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: hidden.id, action: 'HIDE' } }, { token: mod.token }));
      const page = (fields: string) => `query($id: ID!) { topic(id: $id) { id ${fields} posts(first: 10) { edges { node { id ${fields} } } } } }`;
      let answer: any;
      const withVersions = await t.countStatements(async () => (answer = expectOk(await t.gql(page('version'), { id: topic.id }, { token: author.token }))));
      const without = await t.countStatements(() => t.gql(page(''), { id: topic.id }, { token: author.token }));
      expect(withVersions.count).toBe(without.count);
      const stored = async (table: string, id: string) => (await t.sql(`SELECT version FROM ${table} WHERE id = $1`, [id]))[0].version;
      expect(answer.topic.version).toBe(await stored('topics', topic.id));
      const versions = answer.topic.posts.edges.map((e: any) => e.node.version);
      const removedAt = (await t.sql(`SELECT removed_version FROM posts WHERE id = $1`, [hidden.id]))[0].removed_version;
      expect(removedAt).toEqual(expect.any(Number));
      expect(versions).toEqual([await stored('posts', topic.firstPostId), await stored('posts', shown.id), removedAt]);
      // The moderator reads the hidden post in full, with its version.
      const modView = expectOk(await t.gql(page('version'), { id: topic.id }, { token: mod.token }));
      expect(modView.topic.posts.edges[2].node.version).toBe(await stored('posts', hidden.id));
    });

    it('shows a reader versions that tell nothing of how many changes a post went through while they could not read it', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const [edited, untouched] = [await reply(t, other.token, topic.id, 'edited while hidden'), await reply(t, other.token, topic.id, 'left alone while hidden')];
      const moderate = async (postId: string, action: string) =>
        expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId, action } }, { token: mod.token }));
      const reader = await makeUser(t);
      const seen = async () => {
        const page = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts(first: 10) { edges { node { id version } } } } }`, { id: topic.id }, { token: reader.token }));
        const by = new Map(page.topic.posts.edges.map((e: any) => [e.node.id, e.node.version]));
        return { edited: by.get(edited.id) as number, untouched: by.get(untouched.id) as number };
      };
      const before = await seen();
      await moderate(edited.id, 'HIDE');
      await moderate(untouched.id, 'HIDE');
      for (let i = 1; i <= 3; i++) {
        expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: edited.id, body: `edit ${i}, unseen` } }, { token: mod.token }));
      }
      await moderate(edited.id, 'UNHIDE');
      await moderate(untouched.id, 'UNHIDE');
      const after = await seen();
      // Each grew, and in the order they came back: the post edited three times meanwhile came back
      // first, so with the lower version. (Counted per post, the edited one's grew by 5, the other's by 2.)
      expect(after.edited).toBeGreaterThan(before.edited);
      expect(after.untouched).toBeGreaterThan(before.untouched);
      expect(after.untouched).toBeGreaterThan(after.edited);
    });

    it('pages every listed author’s own posts (User.posts) in a fixed number of statements', async () => {
      const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
      const q = `query($id: ID!) { topic(id: $id) { posts(first: 20) { edges { node { author { id posts(first: 2) { totalCount edges { node { id author { id } } } } } } } } } }`;
      async function topicBy(writers: number): Promise<string> {
        const people = [];
        for (let i = 0; i < writers; i++) people.push(await makeUser(t));
        const topic = await createTopic(t, people[0].token, board);
        for (const p of people.slice(1)) await reply(t, p.token, topic.id, 'one reply each');
        await reply(t, people[0].token, topic.id, 'and a second post of the first author');
        return topic.id;
      }
      const [few, many] = [await topicBy(2), await topicBy(12)];
      const small = await t.countStatements(() => t.gql(q, { id: few }, { token: mod.token }));
      let answer: any;
      const large = await t.countStatements(async () => (answer = expectOk(await t.gql(q, { id: many }, { token: mod.token }))));
      expect(large.count).toBe(small.count);
      // Each author's own posts, counted as theirs.
      for (const { node } of answer.topic.posts.edges) {
        expect(node.author.posts.edges.every((e: any) => e.node.author.id === node.author.id)).toBe(true);
      }
      expect(answer.topic.posts.edges[0].node.author.posts.totalCount).toBe(2);
      expect(answer.topic.posts.edges[1].node.author.posts.totalCount).toBe(1);
    });

    it('lists 50 topics with authors and unread counts in a fixed number of statements', async () => {
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      const q = `query($b: ID!, $sort: TopicSort) { board(id: $b) { topics(first: 50, sort: $sort) { edges { node { id title replyCount unreadCount lastActivityAt author { handle } } } } } }`;
      for (let i = 0; i < 5; i++) await createTopic(t, [author, other][i % 2].token, board);
      const few = await t.countStatements(() => t.gql(q, { b: board }, { token: mod.token }));
      const fewTrending = await t.countStatements(() => t.gql(q, { b: board, sort: 'TRENDING' }, { token: mod.token }));
      for (let i = 0; i < 45; i++) await createTopic(t, [author, other, mod][i % 3].token, board);
      const many = await t.countStatements(() => t.gql(q, { b: board }, { token: mod.token }));
      const manyTrending = await t.countStatements(() => t.gql(q, { b: board, sort: 'TRENDING' }, { token: mod.token }));
      expect(many.count).toBe(few.count);
      expect(many.count).toBeLessThanOrEqual(8);
      expect(manyTrending.count).toBe(fewTrending.count);
      expect(manyTrending.count).toBeLessThanOrEqual(8);
    });
  });

  describe('profile activity', () => {
    it('shows only posts the viewer may read, with a matching count', async () => {
      const writer = await makeUser(t);
      const staff = await makeGroup(t);
      const employee = await makeUser(t, { groups: [staff] });
      const internal = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }, { userId: writer.id, level: 'PARTICIPATE' }]);
      const internalBoard = await makeBoard(t, internal.id);
      await createTopic(t, writer.token, boardId, { body: 'public words' });
      await createTopic(t, writer.token, internalBoard, { body: 'internal words' });
      const q = `query($h: String!) { user(handle: $h) { posts(first: 10) { totalCount edges { node { bodyHtml } } } } }`;
      const outsider = expectOk(await t.gql(q, { h: writer.handle }, { token: other.token })).user.posts;
      expect(outsider.totalCount).toBe(1);
      expect(JSON.stringify(outsider)).not.toContain('internal words');
      expect(expectOk(await t.gql(q, { h: writer.handle }, { token: employee.token })).user.posts.totalCount).toBe(2);
    });
  });
});
