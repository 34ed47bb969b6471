import { AppError } from '../../libs/core/src/errors';
import { encodeCursor } from '../../libs/core/src/graphql/pagination';
import { JobScheduler } from '../../libs/core/src/jobs';
import { DRAFT_RETENTION_DAYS, MAX_DRAFTS } from '../../libs/forum/src/drafts/drafts.service';
import { PostingPolicy } from '../../libs/forum/src/posting-policy';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState, setTopicState } from '../factories/forum';
import { bootTestApp, expectError, expectNotFound, expectOk, GqlResult, TestApp } from '../support/test-app';

const DRAFT_FIELDS = `id sequence title body tags kind createdAt updatedAt target { boardId topicId } board { id name } topic { id title } replyTo { id bodyHtml }`;
const SAVE = `mutation($input: SaveDraftInput!) { saveDraft(input: $input) { ${DRAFT_FIELDS} } }`;
const GET = `query($target: DraftTargetInput!) { draft(target: $target) { ${DRAFT_FIELDS} } }`;
const DELETE = `mutation($target: DraftTargetInput!) { deleteDraft(target: $target) }`;
const LIST = `query($first: Int, $after: String) { drafts(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${DRAFT_FIELDS} } } } }`;
const STATUS = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`;

type Target = { boardId: string } | { topicId: string } | { postId: string };

/**
 * Drafts: a member's topic or reply in progress, kept on the server, guarded by sequences
 * against stale tabs, gone once posted, private, and no window on what they can no longer read.
 */
describe('drafts', () => {
  let t: TestApp;
  let author: TestUser;
  let admin: TestUser;
  let mod: TestUser;
  let spaceId: string;
  let boardId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    admin = await makeUser(t, { role: 'ADMIN' });
    mod = await makeUser(t, { role: 'MODERATOR' });
    spaceId = (await makeSpace(t, 'PUBLIC')).id;
    boardId = await makeBoard(t, spaceId);
  });
  afterAll(() => t.close());

  const save = (u: TestUser, target: Target, sequence: number, text: { body?: string; title?: string | null; tags?: string[] | null; replyToPostId?: string | null; kind?: string } = {}) =>
    t.gql(SAVE, { input: { target, sequence, body: text.body ?? 'Work in progress', ...text } }, { token: u.token });
  const saved = async (u: TestUser, target: Target, sequence: number, text: Parameters<typeof save>[3] = {}) => expectOk(await save(u, target, sequence, text)).saveDraft;
  const get = async (u: TestUser, target: Target) => expectOk(await t.gql(GET, { target }, { token: u.token })).draft;
  const del = async (u: TestUser, target: Target) => expectOk(await t.gql(DELETE, { target }, { token: u.token })).deleteDraft as boolean;
  const list = async (u: TestUser, first = 100, after?: string) => expectOk(await t.gql(LIST, { first, after }, { token: u.token })).drafts;
  /** Everything stored for a member, posted and deleted drafts' rows included, to see that a refusal wrote nothing. */
  const stored = (u: TestUser) =>
    t.sql(
      `SELECT id, board_id, topic_id, post_id, reply_to_post_id, title, body, tags, kind, base_edited_at, sequence, created_at, updated_at FROM drafts WHERE user_id = $1 ORDER BY id`,
      [u.id],
    );
  const conflict = (res: GqlResult) => {
    const err = expectError(res, 'CONFLICT');
    expect(res.data?.saveDraft ?? null).toBeNull();
    return (err.extensions as { currentSequence?: number }).currentSequence;
  };

  describe('saving, reading and deleting', () => {
    it('saves a new topic’s draft as written, raises its sequence on each save, reads it back, and deletes it', async () => {
      const u = await makeUser(t);
      const target = { boardId };
      expect(await get(u, target)).toBeNull();

      const first = await saved(u, target, 0, { title: 'Half a title ', body: '# Plan\n\n<script>alert(1)</script> **bold**', tags: ['Roadmap', ' q3 '] });
      expect(first).toMatchObject({
        sequence: 1,
        title: 'Half a title ',
        body: '# Plan\n\n<script>alert(1)</script> **bold**',
        tags: ['roadmap', 'q3'],
        target: { boardId, topicId: null },
        board: { id: boardId },
        topic: null,
        replyTo: null,
      });
      const second = await saved(u, target, 1, { title: 'A whole title', body: 'Rewritten' });
      expect(second).toMatchObject({ id: first.id, sequence: 2, title: 'A whole title', body: 'Rewritten', tags: [], createdAt: first.createdAt });
      expect(new Date(second.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(first.updatedAt).getTime());
      expect(await get(u, target)).toEqual(second);

      expect(await del(u, target)).toBe(true);
      expect(await del(u, target)).toBe(false);
      expect(await get(u, target)).toBeNull();
      expect((await list(u)).totalCount).toBe(0);
    });

    it('saves a reply’s draft with the post it answers', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId, { title: 'Where to meet' });
      const r = await reply(t, author.token, topic.id, 'At the station?');
      const draft = await saved(u, { topicId: topic.id }, 0, { body: 'Not the station', replyToPostId: r.id });
      expect(draft).toMatchObject({ sequence: 1, title: null, tags: [], target: { boardId: null, topicId: topic.id }, board: null, topic: { id: topic.id, title: 'Where to meet' }, replyTo: { id: r.id } });
      // A later save may drop the answered post.
      expect(await saved(u, { topicId: topic.id }, 1, { body: 'Not the station at all' })).toMatchObject({ sequence: 2, replyTo: null });
    });

    it('lists the member’s drafts last saved first, by keyset with its own cursors', async () => {
      const u = await makeUser(t);
      const boards = [boardId, await makeBoard(t, spaceId), await makeBoard(t, spaceId)];
      const topic = await createTopic(t, author.token, boardId);
      const targets: Target[] = [...boards.map((b) => ({ boardId: b })), { topicId: topic.id }];
      const ids: string[] = [];
      for (const target of targets) ids.push((await saved(u, target, 0, { body: `draft ${ids.length}` })).id);
      // Saved again, the oldest comes first.
      await saved(u, targets[0], 1, { body: 'draft 0, again' });
      const newestFirst = [ids[0], ids[3], ids[2], ids[1]];

      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await list(u, 3, after);
        expect(page.totalCount).toBe(4);
        seen.push(...page.edges.map((e: any) => e.node.id));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
        pages++;
      } while (after);
      expect(seen).toEqual(newestFirst);
      expect(pages).toBe(2);

      for (const bad of [encodeCursor('bookmarks', ['2026-01-01 00:00:00+00', ids[0]]), encodeCursor('drafts', ['not a time', ids[0]]), encodeCursor('drafts', ['2026-01-01 00:00:00+00', 'x']), 'garbage']) {
        const err = expectError(await t.gql(LIST, { first: 2, after: bad }, { token: u.token }), 'BAD_USER_INPUT');
        expect(err.extensions.fields).toEqual([{ field: 'after', message: 'is not a valid cursor' }]);
      }
    });

    it('is for signed-in members only', async () => {
      const before = await t.sql(`SELECT count(*)::int AS n FROM drafts`);
      expectError(await t.gql(SAVE, { input: { target: { boardId }, sequence: 0, body: 'x' } }), 'UNAUTHENTICATED');
      expectError(await t.gql(GET, { target: { boardId } }), 'UNAUTHENTICATED');
      expectError(await t.gql(DELETE, { target: { boardId } }), 'UNAUTHENTICATED');
      expectError(await t.gql(LIST, {}), 'UNAUTHENTICATED');
      expect(await t.sql(`SELECT count(*)::int AS n FROM drafts`)).toEqual(before);
    });

    it('keeps each member’s drafts to themselves', async () => {
      const [a, b] = [await makeUser(t), await makeUser(t)];
      const topic = await createTopic(t, author.token, boardId);
      await saved(a, { topicId: topic.id }, 0, { body: 'a’s secret reply' });
      await saved(a, { boardId }, 0, { title: 'a’s secret topic' });
      expect(await list(b)).toMatchObject({ totalCount: 0, edges: [] });
      expect(await get(b, { topicId: topic.id })).toBeNull();
      expect(await get(b, { boardId })).toBeNull();
      // Deleting or saving at the same target touches b's own draft only.
      expect(await del(b, { topicId: topic.id })).toBe(false);
      expect(await saved(b, { topicId: topic.id }, 0, { body: 'b’s own' })).toMatchObject({ sequence: 1, body: 'b’s own' });
      expect((await get(a, { topicId: topic.id })).body).toBe('a’s secret reply');
      expect((await list(a)).totalCount).toBe(2);
    });
  });

  describe('sequences', () => {
    it('refuses a save with a sequence other than the current one, writes nothing, and says the current one', async () => {
      const u = await makeUser(t);
      const target = { boardId: await makeBoard(t, spaceId) };
      // Tab A starts the draft and saves twice; tab B, which loaded no draft, then saves.
      await saved(u, target, 0, { body: 'from tab A' });
      await saved(u, target, 1, { body: 'from tab A, more' });
      const before = await stored(u);
      expect(conflict(await save(u, target, 0, { body: 'from tab B' }))).toBe(2);
      expect(conflict(await save(u, target, 1, { body: 'from tab B, behind' }))).toBe(2);
      // A sequence never given out is refused as well.
      expect(conflict(await save(u, target, 7, { body: 'from the future' }))).toBe(2);
      expect(await stored(u)).toEqual(before);
      // With the current one, tab B goes on.
      expect(await saved(u, target, 2, { body: 'from tab B, reconciled' })).toMatchObject({ sequence: 3, body: 'from tab B, reconciled' });
    });

    it('refuses a tab that saw a draft since deleted, even once a new draft is saved there', async () => {
      const u = await makeUser(t);
      const target = { boardId: await makeBoard(t, spaceId) };
      await saved(u, target, 0, { body: 'the old draft' });
      expect(await del(u, target)).toBe(true);
      const before = await stored(u);
      // The stale tab, still holding sequence 1: there is no draft now.
      expect(conflict(await save(u, target, 1, { body: 'resurrected?' }))).toBe(0);
      expect(await stored(u)).toEqual(before);
      expect(await get(u, target)).toBeNull();
      // A new draft starts from 0, and its sequences are not the old one's.
      const fresh = await saved(u, target, 0, { body: 'a new draft' });
      expect(fresh.sequence).toBeGreaterThan(1);
      expect(conflict(await save(u, target, 1, { body: 'the stale tab again' }))).toBe(fresh.sequence);
      expect((await get(u, target)).body).toBe('a new draft');
    });
  });

  describe('posting', () => {
    it('deletes the draft of a topic in the board when the topic is posted, and of a reply in the topic when the reply is', async () => {
      const u = await makeUser(t);
      const board = await makeBoard(t, spaceId);
      const elsewhere = await makeBoard(t, spaceId);
      const topic = await createTopic(t, author.token, boardId);
      await saved(u, { boardId: board }, 0, { title: 'My topic', body: 'Its text' });
      await saved(u, { boardId: elsewhere }, 0, { title: 'Another one' });
      await saved(u, { topicId: topic.id }, 0, { body: 'My reply' });

      await createTopic(t, u.token, board, { title: 'My topic', body: 'Its text' });
      expect(await get(u, { boardId: board })).toBeNull();
      await reply(t, u.token, topic.id, 'My reply');
      expect(await get(u, { topicId: topic.id })).toBeNull();
      // The draft elsewhere stays; so do others' drafts of the same targets.
      expect((await list(u)).edges.map((e: any) => e.node.target)).toEqual([{ boardId: elsewhere, topicId: null }]);
      // A tab still showing the posted reply cannot bring its draft back.
      expect(conflict(await save(u, { topicId: topic.id }, 1, { body: 'My reply' }))).toBe(0);
      expect(await get(u, { topicId: topic.id })).toBeNull();
    });

    it('keeps the draft when posting is refused, before or inside its transaction', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const target = { topicId: topic.id };
      await saved(u, target, 0, { body: 'A reply I care about' });
      const before = await stored(u);

      // Refused before: the topic closed since the draft was saved.
      expectOk(await t.gql(STATUS, { input: { topicId: topic.id, closed: true } }, { token: mod.token }));
      expectError(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`, { input: { topicId: topic.id, body: 'A reply I care about' } }, { token: u.token }), 'FORBIDDEN');
      expect(await stored(u)).toEqual(before);
      expectOk(await t.gql(STATUS, { input: { topicId: topic.id, closed: false } }, { token: mod.token }));

      // Refused inside the transaction, after the draft was deleted in it: all of it rolls back.
      t.get(PostingPolicy).register({
        name: 'test-refuses-in-transaction',
        check: async () => undefined,
        stored: async (_tx, c) => {
          if (c.body.includes('refuse me late')) throw AppError.conflict('refused in the transaction');
        },
      });
      const board = await makeBoard(t, spaceId);
      await saved(u, { boardId: board }, 0, { title: 'A topic', body: 'refuse me late' });
      const beforeLate = await stored(u);
      expectError(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`, { input: { topicId: topic.id, body: 'refuse me late' } }, { token: u.token }), 'CONFLICT');
      expectError(
        await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`, { input: { boardId: board, title: 'A topic', body: 'refuse me late' } }, { token: u.token }),
        'CONFLICT',
      );
      expect(await stored(u)).toEqual(beforeLate);
      expect((await get(u, target)).body).toBe('A reply I care about');
    });
  });

  describe('access', () => {
    it('answers NOT_FOUND for a target the member may not read, FORBIDDEN where they may not post, and writes nothing', async () => {
      const staff = await makeGroup(t);
      const insider = await makeUser(t, { groups: [staff] });
      const restricted = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }]);
      const secretBoard = await makeBoard(t, restricted.id);
      const secret = await createTopic(t, insider.token, secretBoard);
      const readOnly = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'READ' }]);
      const readOnlyTopic = await createTopic(t, admin.token, await makeBoard(t, readOnly.id));
      const closed = await createTopic(t, author.token, boardId);
      expectOk(await t.gql(STATUS, { input: { topicId: closed.id, closed: true } }, { token: mod.token }));
      const locked = await createTopic(t, author.token, boardId);
      expectOk(await t.gql(STATUS, { input: { topicId: locked.id, locked: true } }, { token: mod.token }));
      const missing = '01a207d7-22e1-733a-9303-5a2047c59e37';
      const u = await makeUser(t);
      const before = await stored(u);
      for (const target of [{ boardId: secretBoard }, { topicId: secret.id }, { boardId: missing }, { topicId: missing }]) {
        expectNotFound(await save(u, target, 0), 'saveDraft');
      }
      for (const target of [{ topicId: closed.id }, { topicId: locked.id }]) expectError(await save(u, target, 0), 'FORBIDDEN');
      expectError(await save(insider, { topicId: readOnlyTopic.id }, 0), 'FORBIDDEN');
      expect(await stored(u)).toEqual(before);
      // The insider drafts in their space; a moderator in a closed topic, where they may post.
      expectOk(await save(insider, { topicId: secret.id }, 0));
      expectOk(await save(mod, { topicId: closed.id }, 0));
    });

    it('refuses a silenced member’s saves, as it refuses their posts, and still lets them read and delete their drafts', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      await saved(u, { topicId: topic.id }, 0, { body: 'written before the silence' });
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [u.id]);
      const before = await stored(u);
      expectError(await save(u, { topicId: topic.id }, 1), 'FORBIDDEN');
      expectError(await save(u, { boardId }, 0), 'FORBIDDEN');
      expect(await stored(u)).toEqual(before);
      expect((await get(u, { topicId: topic.id })).body).toBe('written before the silence');
      expect(await del(u, { topicId: topic.id })).toBe(true);
    });

    it('keeps a draft whose topic or board the member lost, with its text, without anything of the target', async () => {
      const u = await makeUser(t);
      const space = await makeSpace(t, 'MEMBERS');
      const board = await makeBoard(t, space.id);
      await t.sql(`UPDATE boards SET name = 'Board of secrets' WHERE id = $1`, [board]);
      const topic = await createTopic(t, author.token, board, { title: 'Secret plans' });
      const answered = await reply(t, author.token, topic.id, 'The secret date is Friday');
      const hiddenTopic = await createTopic(t, author.token, boardId, { title: 'About to be hidden' });
      await saved(u, { topicId: topic.id }, 0, { body: 'My reply to the plans', replyToPostId: answered.id });
      await saved(u, { boardId: board }, 0, { title: 'My own topic' });
      await saved(u, { topicId: hiddenTopic.id }, 0, { body: 'My reply to the hidden one' });
      expect(JSON.stringify(await list(u))).toContain('Secret plans');

      expectOk(await t.gql(`mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`, { input: { spaceId: space.id, visibility: 'RESTRICTED' } }, { token: admin.token }));
      await setTopicState(t, hiddenTopic.id, 'HIDDEN');
      await setPostState(t, hiddenTopic.firstPostId, 'HIDDEN');

      const page = await list(u);
      expect(page.totalCount).toBe(3);
      const byBody = new Map(page.edges.map((e: any) => [e.node.body, e.node]));
      expect(byBody.get('My reply to the plans')).toMatchObject({ target: { topicId: topic.id }, topic: null, replyTo: null });
      expect(byBody.get('Work in progress')).toMatchObject({ title: 'My own topic', target: { boardId: board }, board: null });
      expect(byBody.get('My reply to the hidden one')).toMatchObject({ topic: null });
      const asRead = JSON.stringify([page, await get(u, { topicId: topic.id }), await get(u, { boardId: board })]);
      for (const secret of ['Secret plans', 'Board of secrets', 'secret date', 'About to be hidden']) expect(asRead).not.toContain(secret);

      // No more saves there (NOT_FOUND, nothing written); deleting stays possible.
      const before = await stored(u);
      expectNotFound(await save(u, { topicId: topic.id }, 1), 'saveDraft');
      expectNotFound(await save(u, { boardId: board }, 1), 'saveDraft');
      expect(await stored(u)).toEqual(before);
      expect(await del(u, { topicId: topic.id })).toBe(true);

      // Access back, the board shows again.
      expectOk(await t.gql(`mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`, { input: { spaceId: space.id, visibility: 'MEMBERS' } }, { token: admin.token }));
      expect((await get(u, { boardId: board })).board).toEqual({ id: board, name: 'Board of secrets' });
    });
  });

  describe('validation', () => {
    it.each<[string, (c: { target: { topicId: string }; otherPostId: string }) => Record<string, unknown>, string]>([
      ['a body too long', () => ({ target: { boardId }, body: 'x'.repeat(100_001) }), 'body'],
      // 100,001 characters as PostgreSQL counts them, which class-validator's MaxLength counts as 50,001 (it skips U+FE0F).
      ['a body too long as PostgreSQL counts it', () => ({ target: { boardId }, body: '\u2764\ufe0f'.repeat(50_001).slice(0, -1) }), 'body'],
      ['a title too long', () => ({ target: { boardId }, title: 'x'.repeat(201) }), 'title'],
      ['a bad tag', () => ({ target: { boardId }, tags: ['not a tag!'] }), 'tags'],
      ['too many tags', () => ({ target: { boardId }, tags: ['a', 'b', 'c', 'd', 'e', 'f'] }), 'tags'],
      ['a title on a reply', ({ target }) => ({ target, title: 'Replies have no title' }), 'title'],
      ['tags on a reply', ({ target }) => ({ target, tags: ['nope'] }), 'tags'],
      ['a post answered by a new topic', ({ otherPostId }) => ({ target: { boardId }, replyToPostId: otherPostId }), 'replyToPostId'],
      ['a post of another topic answered', ({ target, otherPostId }) => ({ target, replyToPostId: otherPostId }), 'replyToPostId'],
      ['two targets', ({ target }) => ({ target: { ...target, boardId } }), 'target.boardId'],
      ['no target', () => ({ target: {} }), 'target.topicId'],
      ['a bad id', () => ({ target: { boardId: 'not-a-uuid' } }), 'boardId'],
      ['a negative sequence', () => ({ target: { boardId }, sequence: -1 }), 'sequence'],
    ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_name, patch, field) => {
      const u = await makeUser(t);
      const target = { topicId: (await createTopic(t, author.token, boardId)).id };
      const otherPostId = (await createTopic(t, author.token, boardId)).firstPostId;
      await saved(u, { boardId }, 0, { body: 'kept as it is' });
      await saved(u, target, 0, { body: 'kept as it is too' });
      const before = await stored(u);
      const err = expectError(await t.gql(SAVE, { input: { target, sequence: 1, body: 'new text', ...patch({ target, otherPostId }) } }, { token: u.token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields!.map((f) => f.field).join(' ')).toContain(field);
      expect(await stored(u)).toEqual(before);
    });

    it('refuses a reply draft answering a post its writer cannot read, hidden or deleted, writing nothing', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const hidden = await reply(t, author.token, topic.id, 'Hidden by a moderator');
      const deleted = await reply(t, author.token, topic.id, 'Deleted by its author');
      await setPostState(t, hidden.id, 'HIDDEN');
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: author.token }));
      const before = await stored(u);
      for (const replyToPostId of [hidden.id, deleted.id]) {
        const err = expectError(await t.gql(SAVE, { input: { target: { topicId: topic.id }, sequence: 0, body: 'An answer', replyToPostId } }, { token: u.token }), 'BAD_USER_INPUT');
        expect(err.extensions.fields!.map((f) => f.field)).toEqual(['replyToPostId']);
      }
      expect(await stored(u)).toEqual(before);
    });

    it('takes a body of exactly 100,000 characters and a title of 200', async () => {
      const u = await makeUser(t);
      const draft = await saved(u, { boardId }, 0, { title: 'é'.repeat(200), body: 'é'.repeat(100_000) });
      expect([draft.title.length, draft.body.length]).toEqual([200, 100_000]);
    });

    it(`holds at most ${MAX_DRAFTS} drafts, refusing one more rather than dropping one`, async () => {
      const u = await makeUser(t);
      // MAX_DRAFTS topics with a draft each, written directly.
      const topics = await t.sql(
        `INSERT INTO topics (id, board_id, space_id, author_id, kind, title) SELECT gen_random_uuid(), $1, $2, $3, 'DISCUSSION', 'filler ' || g
           FROM generate_series(1, $4::int) g RETURNING id`,
        [boardId, spaceId, author.id, MAX_DRAFTS],
      );
      await t.sql(`INSERT INTO drafts (id, user_id, topic_id, body, sequence) SELECT gen_random_uuid(), $1, unnest($2::uuid[]), 'filler', 1`, [u.id, topics.map((r) => r.id)]);
      expect((await list(u, 1)).totalCount).toBe(MAX_DRAFTS);
      const before = await stored(u);
      const err = expectError(await save(u, { boardId }, 0), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'target', message: `you have ${MAX_DRAFTS} drafts already: post or delete some first` }]);
      expect(await stored(u)).toEqual(before);
      // A draft the member has still saves; one deleted makes room.
      expectOk(await save(u, { topicId: topics[0].id }, 1, { body: 'still editable' }));
      expect(await del(u, { topicId: topics[1].id })).toBe(true);
      expectOk(await save(u, { boardId }, 0));
      expectError(await save(u, { topicId: topics[1].id }, 0), 'BAD_USER_INPUT');
    });
  });

  describe('edits, kinds and moved answers', () => {
    const EDIT_FIELDS = `id sequence title body tags kind target { boardId topicId postId } post { id bodyHtml } postEditedSince topic { id } board { id }`;
    const saveEdit = (u: TestUser, postId: string, sequence: number, text: Parameters<typeof save>[3] = {}) =>
      t.gql(`mutation($input: SaveDraftInput!) { saveDraft(input: $input) { ${EDIT_FIELDS} } }`, { input: { target: { postId }, sequence, body: text.body ?? 'A better text', ...text } }, { token: u.token });
    const getEdit = async (u: TestUser, postId: string) => expectOk(await t.gql(`query($target: DraftTargetInput!) { draft(target: $target) { ${EDIT_FIELDS} } }`, { target: { postId } }, { token: u.token })).draft;
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;

    it('keeps a draft of an edit of the member’s own post, tells when the post was edited meanwhile, and ends it when the edit is made', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, u.token, boardId, { title: 'An edited topic' });
      const r = await reply(t, u.token, topic.id, 'First wording');
      const draft = expectOk(await saveEdit(u, r.id, 0, { body: 'Second wording' })).saveDraft;
      expect(draft).toMatchObject({ sequence: 1, body: 'Second wording', title: null, tags: [], kind: null, target: { boardId: null, topicId: null, postId: r.id }, post: { id: r.id }, postEditedSince: false, topic: null, board: null });
      // A reply draft of the same topic is another draft.
      await saved(u, { topicId: topic.id }, 0, { body: 'A new reply' });
      expect((await list(u)).totalCount).toBe(2);

      // A moderator edits the post meanwhile: the draft says so, and keeps its base across saves.
      expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'The moderator’s wording' } }, { token: mod.token }));
      expect(await getEdit(u, r.id)).toMatchObject({ sequence: 1, postEditedSince: true });
      expect(expectOk(await saveEdit(u, r.id, 1, { body: 'Third wording' })).saveDraft).toMatchObject({ sequence: 2, postEditedSince: true });
      // The moderator's edit did not end the member's draft; the member's own edit does.
      expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'Third wording' } }, { token: u.token }));
      expect(await getEdit(u, r.id)).toBeNull();
      expect(conflict(await saveEdit(u, r.id, 2))).toBe(0);
      expect((await get(u, { topicId: topic.id })).body).toBe('A new reply');
      // A new draft of the next edit starts from the post as it is now.
      expect(expectOk(await saveEdit(u, r.id, 0, { body: 'Fourth wording' })).saveDraft).toMatchObject({ postEditedSince: false });

      // A first post's edit keeps a title and tags; a reply's takes neither.
      const first = expectOk(await saveEdit(u, topic.firstPostId, 0, { title: 'A better title', tags: ['Renamed'] })).saveDraft;
      expect(first).toMatchObject({ title: 'A better title', tags: ['renamed'], post: { id: topic.firstPostId } });
      const before = await stored(u);
      for (const [text, field] of [[{ title: 'No' }, 'title'], [{ tags: ['no'] }, 'tags'], [{ kind: 'QUESTION' }, 'kind'], [{ replyToPostId: topic.firstPostId }, 'replyToPostId']] as Array<[Parameters<typeof save>[3], string]>) {
        const err = expectError(await saveEdit(u, r.id, 1, text), 'BAD_USER_INPUT');
        expect(err.extensions.fields!.map((f) => f.field)).toEqual([field]);
      }
      expect(await stored(u)).toEqual(before);
    });

    it('keeps the version an edit’s draft began from through every later save, so the post’s change meanwhile stays told until the draft starts again', async () => {
      // As Discourse's composer keeps the text it opened: later saves still grow from what the
      // member first loaded, and nothing tells the server they have read the newer version since.
      const u = await makeUser(t);
      const mine = await reply(t, u.token, (await createTopic(t, author.token, boardId)).id, 'How to set it up');
      const base = async () => (await t.sql(`SELECT base_edited_at FROM drafts WHERE user_id = $1 AND post_id = $2`, [u.id, mine.id]))[0].base_edited_at as Date;
      expect(expectOk(await saveEdit(u, mine.id, 0, { body: 'How to set it up, step 1' })).saveDraft).toMatchObject({ sequence: 1, postEditedSince: false });
      const began = await base();
      expectOk(await t.gql(EDIT, { input: { postId: mine.id, body: 'How to set it up (the moderator’s fix)' } }, { token: mod.token }));
      for (const [sequence, body] of [[1, 'How to set it up, steps 1 and 2'], [2, 'How to set it up, steps 1 to 3']] as const) {
        expect(expectOk(await saveEdit(u, mine.id, sequence, { body })).saveDraft).toMatchObject({ sequence: sequence + 1, postEditedSince: true });
      }
      expect(await base()).toEqual(began);
      // Begun again (deleted, or posted), it starts from the post as it is now.
      expect(await del(u, { postId: mine.id })).toBe(true);
      expect(expectOk(await saveEdit(u, mine.id, 0, { body: 'Steps 1 to 3, over the fix' })).saveDraft).toMatchObject({ sequence: 5, postEditedSince: false });
      expect(await base()).not.toEqual(began);
    });

    it('ends the draft when its edit is held for approval too', async () => {
      const u = await makeUser(t);
      const r = await reply(t, u.token, (await createTopic(t, author.token, boardId)).id, 'Approved wording');
      t.get(PostingPolicy).register({
        name: 'test-holds-edits',
        check: async (c, verdict) => {
          if (c.kind === 'edit' && c.body.includes('hold this edit')) {
            verdict.pending = true;
            verdict.reasons.push('held for the test');
          }
        },
      });
      expectOk(await saveEdit(u, r.id, 0, { body: 'hold this edit please' }));
      const edited = await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id pendingEdit { bodyHtml } } }`, { input: { postId: r.id, body: 'hold this edit please' } }, { token: u.token });
      expect(expectOk(edited).editPost.pendingEdit).not.toBeNull();
      expect(await getEdit(u, r.id)).toBeNull();
    });

    it('saves an edit’s draft only where editPost would take the edit, and writes nothing otherwise', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const others = await reply(t, author.token, topic.id, 'Someone else’s words');
      const mine = await reply(t, u.token, topic.id, 'My words, deleted');
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: mine.id }, { token: u.token }));
      const staff = await makeGroup(t);
      const secret = await createTopic(t, admin.token, await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id));
      const before = await stored(u);
      expectError(await saveEdit(u, others.id, 0), 'FORBIDDEN');
      expectError(await saveEdit(u, mine.id, 0), 'CONFLICT');
      expectNotFound(await saveEdit(u, secret.firstPostId, 0), 'saveDraft');
      expectNotFound(await saveEdit(u, '01a207d7-22e1-733a-9303-5a2047c59e37', 0), 'saveDraft');
      expect(await stored(u)).toEqual(before);
      // A moderator may draft an edit of anyone's post, as they may edit it.
      expect(expectOk(await saveEdit(mod, others.id, 0)).saveDraft).toMatchObject({ post: { id: others.id } });
      // An article's opening post changes through updateArticle, never an edit: named as the draft's input has it.
      const kb = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const article = expectOk(
        await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id firstPost { id } } }`, { input: { boardId: kb, title: 'An article', body: 'Its text' } }, { token: admin.token }),
      ).createTopic;
      const err = expectError(await saveEdit(admin, article.firstPost.id, 0), 'BAD_USER_INPUT');
      expect(err.extensions.fields!.map((f) => f.field)).toEqual(['target.postId']);
    });

    it('hides the post of an edit’s draft once the member may not read it, and keeps the text', async () => {
      const u = await makeUser(t);
      const space = await makeSpace(t, 'MEMBERS');
      const r = await reply(t, u.token, (await createTopic(t, author.token, await makeBoard(t, space.id))).id, 'Soon out of reach');
      expectOk(await saveEdit(u, r.id, 0, { body: 'My rewrite' }));
      expectOk(await t.gql(`mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`, { input: { spaceId: space.id, visibility: 'RESTRICTED' } }, { token: admin.token }));
      const draft = await getEdit(u, r.id);
      expect(draft).toMatchObject({ body: 'My rewrite', target: { postId: r.id }, post: null, postEditedSince: null });
      expect(JSON.stringify(draft)).not.toContain('Soon out of reach');
      const before = await stored(u);
      expectNotFound(await saveEdit(u, r.id, 1), 'saveDraft');
      expect(await stored(u)).toEqual(before);
    });

    it('keeps a new topic’s kind, as the board takes it', async () => {
      const u = await makeUser(t);
      const board = await makeBoard(t, spaceId);
      expect(await saved(u, { boardId: board }, 0, { title: 'How do I?', kind: 'QUESTION' })).toMatchObject({ kind: 'QUESTION' });
      expect(await saved(u, { boardId: board }, 1, { title: 'How do I?' })).toMatchObject({ kind: null });
      const before = await stored(u);
      for (const kind of ['IDEA', 'ARTICLE']) {
        const err = expectError(await save(u, { boardId: board }, 2, { kind }), 'BAD_USER_INPUT');
        expect(err.extensions.fields!.map((f) => f.field)).toEqual(['kind']);
      }
      const topic = await createTopic(t, author.token, board);
      const err = expectError(await save(u, { topicId: topic.id }, 0, { kind: 'QUESTION' }), 'BAD_USER_INPUT');
      expect(err.extensions.fields!.map((f) => f.field)).toEqual(['kind']);
      expect(await stored(u)).toEqual(before);
      // Posting the topic ends the draft, kind and all.
      await saved(u, { boardId: board }, 2, { kind: 'QUESTION' });
      await createTopic(t, u.token, board);
      expect(await get(u, { boardId: board })).toBeNull();
      expect((await stored(u)).find((r) => r.board_id === board)).toMatchObject({ body: null, kind: null });
    });

    it('deletes a draft only at the sequence given, when one is', async () => {
      const u = await makeUser(t);
      const target = { boardId: await makeBoard(t, spaceId) };
      const DELETE_AT = `mutation($target: DraftTargetInput!, $sequence: Int) { deleteDraft(target: $target, sequence: $sequence) }`;
      await saved(u, target, 0, { body: 'first' });
      await saved(u, target, 1, { body: 'second, from another tab' });
      const before = await stored(u);
      const stale = expectError(await t.gql(DELETE_AT, { target, sequence: 1 }, { token: u.token }), 'CONFLICT');
      expect((stale.extensions as { currentSequence?: number }).currentSequence).toBe(2);
      expectError(await t.gql(DELETE_AT, { target, sequence: 0 }, { token: u.token }), 'BAD_USER_INPUT');
      expect(await stored(u)).toEqual(before);
      expect(expectOk(await t.gql(DELETE_AT, { target, sequence: 2 }, { token: u.token })).deleteDraft).toBe(true);
      const gone = expectError(await t.gql(DELETE_AT, { target, sequence: 2 }, { token: u.token }), 'CONFLICT');
      expect((gone.extensions as { currentSequence?: number }).currentSequence).toBe(0);
    });

    it('no longer answers a post moved out of the reply draft’s topic', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const answered = await reply(t, author.token, topic.id, 'About to move');
      await saved(u, { topicId: topic.id }, 0, { body: 'My answer', replyToPostId: answered.id });
      expect((await get(u, { topicId: topic.id })).replyTo).toMatchObject({ id: answered.id });
      expectOk(
        await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [answered.id], newTopic: { title: 'Split off', boardId } } }, { token: mod.token }),
      );
      expect(await get(u, { topicId: topic.id })).toMatchObject({ body: 'My answer', replyTo: null });
    });
  });

  it('lists drafts with their boards, topics and answered posts in a fixed number of statements', async () => {
    const [few, many] = [await makeUser(t), await makeUser(t)];
    const fill = async (u: TestUser, n: number) => {
      for (let i = 0; i < n; i++) {
        const topic = await createTopic(t, author.token, boardId);
        // Posted first: posting a reply ends the member's reply draft in the topic.
        const own = await reply(t, u.token, topic.id, `to edit ${i}`);
        await saved(u, { topicId: topic.id }, 0, { body: `reply ${i}`, replyToPostId: topic.firstPostId });
        await saved(u, { boardId: await makeBoard(t, spaceId) }, 0, { title: `topic ${i}` });
        await saved(u, { postId: own.id }, 0, { body: `edited ${i}` });
      }
    };
    await fill(few, 2);
    await fill(many, 15);
    const q = `{ drafts(first: 100) { totalCount edges { node { id body board { name } topic { title author { handle } } replyTo { bodyHtml } post { bodyHtml } postEditedSince } } } }`;
    let answer: any;
    const small = await t.countStatements(() => t.gql(q, {}, { token: few.token }));
    const large = await t.countStatements(async () => (answer = expectOk(await t.gql(q, {}, { token: many.token }))));
    expect(answer.drafts.totalCount).toBe(45);
    expect(answer.drafts.edges.filter((e: any) => e.node.post?.bodyHtml && e.node.postEditedSince === false)).toHaveLength(15);
    expect(answer.drafts.edges.filter((e: any) => e.node.topic?.title && e.node.replyTo?.bodyHtml)).toHaveLength(15);
    expect(answer.drafts.edges.filter((e: any) => e.node.board?.name)).toHaveLength(15);
    expect(large.count).toBe(small.count);
  });

  it(`prunes drafts not saved for ${DRAFT_RETENTION_DAYS} days, and what deleted ones left`, async () => {
    const u = await makeUser(t);
    const [old, recent, gone] = [await makeBoard(t, spaceId), await makeBoard(t, spaceId), await makeBoard(t, spaceId)];
    for (const b of [old, recent, gone]) await saved(u, { boardId: b }, 0);
    expect(await del(u, { boardId: gone })).toBe(true);
    await t.sql(`UPDATE drafts SET updated_at = now() - make_interval(days => $2) WHERE user_id = $1 AND board_id = ANY($3::uuid[])`, [u.id, DRAFT_RETENTION_DAYS + 1, [old, gone]]);
    await t.sql(`UPDATE drafts SET updated_at = now() - make_interval(days => $2) WHERE user_id = $1 AND board_id = $3`, [u.id, DRAFT_RETENTION_DAYS - 1, recent]);
    expect(await t.get(JobScheduler).runNow('prune-drafts')).toBe(true);
    expect((await stored(u)).map((r) => r.board_id)).toEqual([recent]);
    expect((await list(u)).edges.map((e: any) => e.node.target.boardId)).toEqual([recent]);
  });

  it('are deleted with the account', async () => {
    const u = await makeUser(t);
    await saved(u, { boardId }, 0, { title: 'personal' });
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: u.id }, { token: admin.token }));
    expect(await stored(u)).toEqual([]);
  });
});

describe('drafts under the posting limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ POSTING_LIMITS: 'true' });
  });
  afterAll(() => t.close());

  it('paces saves generously: a burst of 120, then RATE_LIMITED with the wait, writing nothing', async () => {
    const u = await makeUser(t);
    const boardId = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    let sequence = 0;
    let refused: GqlResult | undefined;
    while (!refused && sequence < 300) {
      const res = await t.gql(SAVE, { input: { target: { boardId }, sequence, body: `autosave ${sequence}` } }, { token: u.token });
      if (res.errors) refused = res;
      else sequence = res.data.saveDraft.sequence;
    }
    expect(sequence).toBeGreaterThanOrEqual(120);
    expect(expectError(refused!, 'RATE_LIMITED').extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(await t.sql(`SELECT sequence, body FROM drafts WHERE user_id = $1`, [u.id])).toEqual([{ sequence, body: `autosave ${sequence - 1}` }]);
  });
});
