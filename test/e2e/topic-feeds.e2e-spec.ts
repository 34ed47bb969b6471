import { encodeCursor } from '../../libs/core/src/graphql/pagination';
import { newId } from '../../libs/core/src/ids';
import { Viewer } from '../../libs/core/src/graphql/viewer';
import { NotificationsService } from '../../libs/notifications/src/notifications';
import { mutedTopicSql } from '../../libs/notifications/src/watch-levels';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setTopicState } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const FEED = `query($filter: TopicFeedFilter, $first: Int, $after: String) {
  topics(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title pinned } }
  } }`;

type View = 'LATEST' | 'UNREAD' | 'NEW';
interface Filter { view?: View; spaceIds?: string[]; tag?: string }

describe('topic feeds (Query.topics)', () => {
  let t: TestApp;
  let employees: string;
  let customers: string;

  beforeAll(async () => {
    t = await bootTestApp();
    employees = await makeGroup(t, 'employees');
    customers = await makeGroup(t, 'customers');
  });
  afterAll(() => t.close());

  const feed = (token: string | undefined, filter: Filter, first?: number, after?: string) => t.gql(FEED, { filter, first, after }, { token });

  /** Every topic id of a feed, page after page, with the totalCount each page gave. */
  async function all(token: string | undefined, filter: Filter = {}, first = 100): Promise<{ ids: string[]; totals: number[] }> {
    const ids: string[] = [];
    const totals: number[] = [];
    let after: string | undefined;
    for (;;) {
      const page = expectOk(await feed(token, filter, first, after)).topics;
      ids.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      totals.push(page.totalCount);
      if (!page.pageInfo.hasNextPage) return { ids, totals };
      after = page.pageInfo.endCursor;
    }
  }

  /** The same topics as the database orders them for a view: `column` descending, then id. */
  async function orderedBy(column: 'last_activity_at' | 'created_at', ids: string[]): Promise<string[]> {
    const rows = await t.sql(`SELECT id FROM topics WHERE id = ANY($1::uuid[]) ORDER BY ${column} DESC, id DESC`, [ids]);
    return rows.map((r) => r.id);
  }

  /** A forum topic written straight to the database (no first post: feeds read topics only), for tests that need many. */
  async function insertTopic(boardId: string, authorId: string, opts: { title?: string; tags?: string[] } = {}): Promise<string> {
    const id = newId();
    await t.sql(
      `INSERT INTO topics (id, board_id, space_id, author_id, kind, title, tags, last_post_number)
       SELECT $1, b.id, b.space_id, $3, 'DISCUSSION', $4, $5, 1 FROM boards b WHERE b.id = $2`,
      [id, boardId, authorId, opts.title ?? 'A topic title', opts.tags ?? []],
    );
    return id;
  }

  const markRead = async (user: TestUser, topicId: string, postNumber: number) =>
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId, postNumber } }, { token: user.token }));
  const lastNumber = async (topicId: string) => (await t.sql(`SELECT last_post_number AS n FROM topics WHERE id = $1`, [topicId]))[0].n as number;
  const readAll = async (user: TestUser, topicId: string) => markRead(user, topicId, await lastNumber(topicId));

  describe('LATEST', () => {
    it('lists forum topics of every space read, by last activity, id as tiebreak, across pages; pins and other board kinds stay out of it', async () => {
      const author = await makeUser(t);
      const other = await makeUser(t);
      const mod = await makeUser(t);
      const a = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      const b = await makeSpace(t, 'MEMBERS');
      const boardA = await makeBoard(t, a.id);
      const boardB = await makeBoard(t, b.id);
      const ideas = await makeBoard(t, a.id, 'IDEAS');
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await createTopic(t, author.token, i % 2 ? boardB : boardA, { title: `Feed topic ${i}`, tags: i < 3 ? ['pairing'] : [] })).id);
      const idea = await createTopic(t, author.token, ideas, { title: 'An idea, not a discussion' });
      // The oldest topic comes back to the top with a reply; two share their last activity.
      await reply(t, other.token, ids[0]);
      await t.sql(`UPDATE topics SET last_activity_at = (SELECT last_activity_at FROM topics WHERE id = $1) WHERE id = $2`, [ids[3], ids[4]]);
      // Pinned on its board, it keeps its place by date here.
      expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: ids[2], pinned: true } }, { token: mod.token }));

      const expected = await orderedBy('last_activity_at', ids);
      expect(expected[0]).toBe(ids[0]);
      const spaceIds = [a.id, b.id];
      for (const first of [2, 3, 100]) {
        const seen = await all(other.token, { spaceIds }, first);
        expect(seen.ids).toEqual(expected);
        expect(new Set(seen.totals)).toEqual(new Set([7]));
      }
      const page = expectOk(await feed(other.token, { spaceIds }, 7)).topics;
      expect(page.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(idea.id);
      expect(page.edges.find((e: { node: { id: string } }) => e.node.id === ids[2]).node.pinned).toBe(true);
      // The default view is LATEST: the cursors say so.
      const explicit = expectOk(await feed(other.token, { spaceIds, view: 'LATEST' }, 7)).topics;
      expect(explicit).toEqual(page);

      // Narrowed by space and by tag; anonymous readers get the public space only.
      expect((await all(other.token, { spaceIds: [b.id] })).ids).toEqual(expected.filter((id) => ids.indexOf(id) % 2 === 1));
      expect((await all(other.token, { spaceIds, tag: ' Pairing ' })).ids).toEqual(expected.filter((id) => ids.indexOf(id) < 3));
      expect((await all(undefined, { spaceIds })).ids).toEqual(expected.filter((id) => ids.indexOf(id) % 2 === 0));
      expect(expectOk(await feed(other.token, { spaceIds: [] })).topics).toMatchObject({ totalCount: 0, edges: [] });
      expect(expectOk(await feed(other.token, { spaceIds: [newId()] })).topics).toMatchObject({ totalCount: 0, edges: [] });
    });
  });

  describe('access', () => {
    let author: TestUser;
    let customer: TestUser;
    let employee: TestUser;
    let spaceMod: TestUser;
    const topics = {} as Record<'open' | 'members' | 'restricted' | 'hidden' | 'deleted' | 'pending', string>;

    beforeAll(async () => {
      author = await makeUser(t);
      customer = await makeUser(t, { groups: [customers] });
      employee = await makeUser(t, { groups: [employees] });
      spaceMod = await makeUser(t);
      const open = await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }]);
      const members = await makeSpace(t, 'MEMBERS');
      const restricted = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }, { userId: author.id, level: 'PARTICIPATE' }]);
      const openBoard = await makeBoard(t, open.id);
      topics.open = (await createTopic(t, author.token, openBoard, { title: 'Open to all' })).id;
      topics.members = (await createTopic(t, author.token, await makeBoard(t, members.id), { title: 'For members' })).id;
      topics.restricted = (await createTopic(t, author.token, await makeBoard(t, restricted.id), { title: 'Internal roadmap RESTRICTED' })).id;
      for (const state of ['hidden', 'deleted', 'pending'] as const) {
        topics[state] = (await createTopic(t, author.token, openBoard, { title: `A ${state} one` })).id;
        await setTopicState(t, topics[state], state.toUpperCase() as 'HIDDEN' | 'DELETED' | 'PENDING');
      }
      // The customer and the employee have opened everything, and others replied since.
      const replier = await makeUser(t, { groups: [employees] });
      for (const id of Object.values(topics)) {
        for (const reader of [customer, employee]) await t.sql(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) VALUES ($1, $2, 1)`, [reader.id, id]);
        await t.sql(`INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html) SELECT $1, id, space_id, 2, $2, 'r', '<p>r</p>' FROM topics WHERE id = $3`, [newId(), replier.id, id]);
        await t.sql(`UPDATE topics SET last_post_number = 2, last_activity_at = now() WHERE id = $1`, [id]);
      }
    });

    const visibleTo = async (token: string | undefined, view: View) => {
      const { ids, totals } = await all(token, { view }, 2);
      // The count is the list's: what the viewer may not see is not counted either.
      expect(new Set(totals)).toEqual(new Set([ids.length]));
      return Object.fromEntries(Object.entries(topics).map(([k, id]) => [k, ids.includes(id)]));
    };

    it.each([
      ['anonymous', 'LATEST', { open: true, members: false, restricted: false, hidden: false, deleted: false, pending: false }],
      ['customer', 'LATEST', { open: true, members: true, restricted: false, hidden: false, deleted: false, pending: false }],
      ['customer', 'UNREAD', { open: true, members: true, restricted: false, hidden: false, deleted: false, pending: false }],
      ['employee', 'LATEST', { open: true, members: true, restricted: true, hidden: false, deleted: false, pending: false }],
      ['employee', 'UNREAD', { open: true, members: true, restricted: true, hidden: false, deleted: false, pending: false }],
      ['author', 'LATEST', { open: true, members: true, restricted: true, hidden: true, deleted: false, pending: true }],
      ['spaceMod', 'LATEST', { open: true, members: true, restricted: false, hidden: true, deleted: false, pending: true }],
    ] as const)('%s, %s: lists exactly what their boards list them', async (who, view, expected) => {
      const token = { anonymous: undefined, customer: customer?.token, employee: employee?.token, author: author?.token, spaceMod: spaceMod?.token }[who];
      expect(await visibleTo(token, view)).toEqual(expected);
    });

    it('never lets a restricted or hidden topic reach a customer through any view', async () => {
      // A topic of others opened by nobody yet, in the restricted space: NEW for the employee, never the customer.
      const fresh = (await createTopic(t, author.token, (await t.sql(`SELECT board_id FROM topics WHERE id = $1`, [topics.restricted]))[0].board_id, { title: 'Fresh internal RESTRICTED' })).id;
      expect((await all(employee.token, { view: 'NEW' })).ids).toContain(fresh);
      for (const view of ['LATEST', 'UNREAD', 'NEW'] as const) {
        for (const filter of [{ view }, { view, spaceIds: (await t.sql(`SELECT space_id FROM topics WHERE id = ANY($1::uuid[])`, [[topics.restricted, topics.hidden]])).map((r) => r.space_id) }]) {
          const text = JSON.stringify(await feed(customer.token, filter, 100));
          expect(text).not.toContain('RESTRICTED');
          expect(text).not.toContain(topics.hidden);
        }
      }
    });

    it('drops a topic from UNREAD once its space is closed to the reader', async () => {
      expect((await visibleTo(customer.token, 'UNREAD')).members).toBe(true);
      await t.sql(`UPDATE spaces SET visibility = 'RESTRICTED' WHERE id = (SELECT space_id FROM topics WHERE id = $1)`, [topics.members]);
      try {
        expect((await visibleTo(customer.token, 'UNREAD')).members).toBe(false);
      } finally {
        await t.sql(`UPDATE spaces SET visibility = 'MEMBERS' WHERE id = (SELECT space_id FROM topics WHERE id = $1)`, [topics.members]);
      }
    });
  });

  describe('UNREAD', () => {
    it('lists topics opened with visible posts of others past the last one read, until they are read', async () => {
      const reader = await makeUser(t);
      const writer = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      const unread = (token = reader.token) => all(token, { view: 'UNREAD', spaceIds: [space.id] }).then((r) => r.ids);
      const [one, two, unopened] = [await createTopic(t, writer.token, board), await createTopic(t, writer.token, board), await createTopic(t, writer.token, board)];
      await reply(t, writer.token, unopened.id);
      await markRead(reader, one.id, 1);
      await markRead(reader, two.id, 1);
      expect(await unread()).toEqual([]);

      await reply(t, writer.token, one.id);
      expect(await unread()).toEqual([one.id]);
      await reply(t, writer.token, two.id);
      expect(await unread()).toEqual([two.id, one.id]);
      await readAll(reader, two.id);
      expect(await unread()).toEqual([one.id]);
      await readAll(reader, one.id);
      expect(await unread()).toEqual([]);

      // The reader's own reply is read; a reply hidden by moderation is nothing to read.
      await reply(t, reader.token, one.id);
      const hidden = await reply(t, writer.token, two.id);
      await t.sql(`UPDATE posts SET state = 'HIDDEN' WHERE id = $1`, [hidden.id]);
      expect(await unread()).toEqual([]);
      // A topic hidden since it was opened leaves the list.
      await reply(t, writer.token, two.id);
      expect(await unread()).toEqual([two.id]);
      await setTopicState(t, two.id, 'HIDDEN');
      expect(await unread()).toEqual([]);
    });

    it('counts a topic one started or replied to as opened up to one’s post, keeping a read mark one had', async () => {
      const starter = await makeUser(t);
      const joiner = await makeUser(t);
      const writer = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      const unread = (user: TestUser) => all(user.token, { view: 'UNREAD', spaceIds: [space.id] }).then((r) => r.ids);
      const started = await createTopic(t, starter.token, board);
      const joined = await createTopic(t, writer.token, board);
      await reply(t, writer.token, joined.id);
      await reply(t, joiner.token, joined.id);
      expect([await unread(starter), await unread(joiner)]).toEqual([[], []]);
      await reply(t, writer.token, started.id);
      await reply(t, writer.token, joined.id);
      expect([await unread(starter), await unread(joiner)]).toEqual([[started.id], [joined.id]]);
      // A read mark one has stays where it was (at one's first reply, 3): the writer's replies, one
      // of them written while the joiner wrote theirs, are still unread after it.
      await reply(t, writer.token, joined.id);
      await reply(t, joiner.token, joined.id);
      expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { unreadCount } }`, { id: joined.id }, { token: joiner.token })).topic.unreadCount).toBe(2);
    });

    it('leaves out topics muted, directly or through their board or a tag, as notifications do', async () => {
      const reader = await makeUser(t);
      const writer = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      const quiet = await makeBoard(t, space.id);
      const plain = await createTopic(t, writer.token, board);
      const tagged = await createTopic(t, writer.token, board, { tags: ['noise'] });
      const inQuiet = await createTopic(t, writer.token, quiet);
      for (const topic of [plain, tagged, inQuiet]) {
        await markRead(reader, topic.id, 1);
        await reply(t, writer.token, topic.id);
      }
      const watch = async (what: 'Topic' | 'Board' | 'Tag', input: Record<string, string>) =>
        expectOk(await t.gql(`mutation($input: Watch${what === 'Topic' ? '' : what}Input!) { watch${what}(input: $input) { __typename } }`, { input }, { token: reader.token }));
      const unread = () => all(reader.token, { view: 'UNREAD', spaceIds: [space.id] }).then((r) => new Set(r.ids));
      expect(await unread()).toEqual(new Set([plain.id, tagged.id, inQuiet.id]));

      await watch('Topic', { topicId: plain.id, level: 'MUTED' });
      await watch('Board', { boardId: quiet, level: 'MUTED' });
      await watch('Tag', { tag: 'noise', level: 'MUTED' });
      expect(await unread()).toEqual(new Set());
      // LATEST leaves them out for this member too, and not for others.
      expect((await all(reader.token, { spaceIds: [space.id] })).ids).toEqual([]);
      expect(new Set((await all(writer.token, { spaceIds: [space.id] })).ids)).toEqual(new Set([plain.id, tagged.id, inQuiet.id]));

      // A level on the topic itself wins over its board's and its tags'.
      await watch('Topic', { topicId: inQuiet.id, level: 'TRACKING' });
      await watch('Topic', { topicId: tagged.id, level: 'NORMAL' });
      await watch('Topic', { topicId: plain.id, level: 'WATCHING' });
      expect(await unread()).toEqual(new Set([plain.id, tagged.id, inQuiet.id]));
    });

    it('says the same as topicLevel about what is muted, in every case', async () => {
      const me = await makeUser(t);
      const writer = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC');
      const levels = ['none', 'WATCHING', 'NORMAL', 'MUTED'] as const;
      const cases: Array<{ topic: string; board: string; tag: string; id: string }> = [];
      let n = 0;
      for (const topicLevel of levels)
        for (const boardLevel of levels)
          for (const tagLevel of ['none', 'TRACKING', 'MUTED'] as const) {
            const board = await makeBoard(t, space.id);
            const tag = `case-${n++}`;
            const id = await insertTopic(board, writer.id, { tags: [tag, 'other'] });
            if (topicLevel !== 'none') await t.sql(`INSERT INTO topic_watches (user_id, topic_id, level) VALUES ($1, $2, $3)`, [me.id, id, topicLevel]);
            if (boardLevel !== 'none') await t.sql(`INSERT INTO board_watches (user_id, board_id, level) VALUES ($1, $2, $3)`, [me.id, board, boardLevel]);
            if (tagLevel !== 'none') await t.sql(`INSERT INTO tag_watches (user_id, tag, level) VALUES ($1, $2, $3)`, [me.id, tag, tagLevel]);
            cases.push({ topic: topicLevel, board: boardLevel, tag: tagLevel, id });
          }
      const rows: Array<{ id: string; muted: boolean }> = await t.sql(`SELECT t.id, ${mutedTopicSql('$1::uuid')} AS muted FROM topics t WHERE t.id = ANY($2::uuid[])`, [me.id, cases.map((c) => c.id)]);
      const viewer = new Viewer({ id: me.id, handle: me.handle, role: 'MEMBER', trustLevel: 1, groupIds: [] });
      const notifications = t.get(NotificationsService);
      const mismatches = [];
      for (const c of cases) {
        const level = await notifications.topicLevel(viewer, c.id);
        if ((level === 'MUTED') !== rows.find((r) => r.id === c.id)!.muted) mismatches.push({ ...c, level });
      }
      expect(mismatches).toEqual([]);
      expect(rows.filter((r) => r.muted).length).toBeGreaterThan(0);
    });
  });

  describe('NEW', () => {
    it('lists recent topics of others not yet opened, newest first', async () => {
      const reader = await makeUser(t);
      const writer = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      const fresh = () => all(reader.token, { view: 'NEW', spaceIds: [space.id] }).then((r) => r.ids);
      const [older, newer, opened, old, edge] = [
        await createTopic(t, writer.token, board, { title: 'Older' }),
        await createTopic(t, writer.token, board, { title: 'Newer' }),
        await createTopic(t, writer.token, board, { title: 'Opened' }),
        await createTopic(t, writer.token, board, { title: 'Old' }),
        await createTopic(t, writer.token, board, { title: 'Nearly old' }),
      ];
      const mine = await createTopic(t, reader.token, board, { title: 'Mine' });
      await markRead(reader, opened.id, 1);
      await t.sql(`UPDATE topics SET created_at = now() - interval '15 days' WHERE id = $1`, [old.id]);
      await t.sql(`UPDATE topics SET created_at = now() - interval '13 days' WHERE id = $1`, [edge.id]);
      // Activity does not reorder NEW: a reply to the older topic leaves it where it was.
      await reply(t, writer.token, older.id);

      expect(await fresh()).toEqual([newer.id, older.id, edge.id]);
      expect(await fresh()).toEqual(await orderedBy('created_at', [newer.id, older.id, edge.id]));
      const firstPage = expectOk(await feed(reader.token, { view: 'NEW', spaceIds: [space.id] }, 1)).topics;
      const secondPage = expectOk(await feed(reader.token, { view: 'NEW', spaceIds: [space.id] }, 5, firstPage.pageInfo.endCursor)).topics;
      expect(secondPage.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([older.id, edge.id]);
      expect(secondPage.totalCount).toBe(3);
      await markRead(reader, newer.id, 1);
      expect(await fresh()).toEqual([older.id, edge.id]);
      // Others see the reader's own topic as new.
      expect((await all(writer.token, { view: 'NEW', spaceIds: [space.id] })).ids).toEqual([mine.id]);
    });
  });

  describe('input', () => {
    it('asks anonymous readers to sign in for UNREAD and NEW', async () => {
      for (const view of ['UNREAD', 'NEW'] as const) {
        expectError(await feed(undefined, { view }), 'UNAUTHENTICATED');
        expectError(await feed(undefined, { view }, 5, encodeCursor(`topic-feed:${view}`, ['2026-01-01 10:00:00+00', newId()])), 'UNAUTHENTICATED');
      }
    });

    it('refuses bad page sizes, forged cursors and cursors of another list or view with BAD_USER_INPUT', async () => {
      const user = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      await createTopic(t, user.token, board);
      await createTopic(t, user.token, board);
      const forged = [['x'], ['2026-02-31 10:00:00+00', newId()], ['2026-11-23 10:00:00+00', 'not-a-uuid'], [1e12, newId()], [true, '2026-11-23 10:00:00+00', newId()]];
      for (const view of ['LATEST', 'UNREAD', 'NEW'] as const) {
        const cursors = ['not base64 at all!', ...forged.map((values) => encodeCursor(`topic-feed:${view}`, values))];
        const others = (['LATEST', 'UNREAD', 'NEW'] as const).filter((v) => v !== view).map((v) => encodeCursor(`topic-feed:${v}`, ['2026-11-23 10:00:00+00', newId()]));
        const boardList = encodeCursor('topics:LATEST_ACTIVITY', [false, '2026-11-23 10:00:00+00', newId()]);
        for (const [first, after] of [[101, undefined], [0, undefined], ...[...cursors, ...others, boardList].map((c) => [5, c])] as Array<[number, string | undefined]>) {
          const res = await feed(user.token, { view }, first, after);
          if (res.errors?.[0]?.extensions.code !== 'BAD_USER_INPUT') throw new Error(`${view} (first ${first}, after ${after}): ${JSON.stringify(res.errors ?? res.data)}`);
        }
        expectOk(await feed(user.token, { view }, 100));
      }
      // A real LATEST cursor is refused by NEW, and taken by LATEST.
      const latest = expectOk(await feed(user.token, { spaceIds: [space.id] }, 1)).topics.pageInfo.endCursor;
      expectError(await feed(user.token, { view: 'NEW' }, 1, latest), 'BAD_USER_INPUT');
      expect(expectOk(await feed(user.token, { spaceIds: [space.id] }, 1, latest)).topics.edges).toHaveLength(1);
      for (const filter of [{ spaceIds: ['not-a-uuid'] }, { tag: 'bad tag' }, { spaceIds: Array.from({ length: 101 }, () => newId()) }]) {
        expectError(await feed(user.token, filter), 'BAD_USER_INPUT');
      }
    });
  });

  it('costs the same statements for 5 topics as for 50, with their authors, boards, spaces and unread counts, in every view', async () => {
    const reader = await makeUser(t);
    const q = `query($filter: TopicFeedFilter, $first: Int) { topics(filter: $filter, first: $first) {
      totalCount edges { node { id title author { handle displayName } board { name } space { slug } unreadCount } } } }`;
    /** A space with `n` topics of two posts, each topic by an author of its own, written straight to the database. */
    const spaceWith = async (n: number) => {
      const space = await makeSpace(t, 'PUBLIC');
      const board = await makeBoard(t, space.id);
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(await insertTopic(board, (await makeUser(t)).id, { title: `Topic ${i}` }));
      await t.sql(
        `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html)
         SELECT x.post_id, t.id, t.space_id, x.number, t.author_id, 'A post', '<p>A post</p>'
           FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS x(topic_id, post_id, number) JOIN topics t ON t.id = x.topic_id`,
        [[...ids, ...ids], [...ids, ...ids].map(() => newId()), [...ids.map(() => 1), ...ids.map(() => 2)]],
      );
      await t.sql(`UPDATE topics SET last_post_number = 2, reply_count = 1 WHERE id = ANY($1::uuid[])`, [ids]);
      return { spaceId: space.id, ids, n };
    };
    const sizes = [await spaceWith(5), await spaceWith(50)];
    /** What one feed page costs, for the small space then the large one (one after the other: the counter is shared). */
    const cost = async (view: View) => {
      const counts: number[] = [];
      for (const { spaceId, n } of sizes) {
        const { count } = await t.countStatements(async () => {
          const page = expectOk(await t.gql(q, { filter: { view, spaceIds: [spaceId] }, first: 100 }, { token: reader.token })).topics;
          expect(page.edges).toHaveLength(n);
          expect(page.totalCount).toBe(n);
          expect(new Set(page.edges.map((e: { node: { author: { handle: string } } }) => e.node.author.handle)).size).toBe(n);
        });
        counts.push(count);
      }
      return counts;
    };
    const costs: Record<string, number[]> = { LATEST: await cost('LATEST'), NEW: await cost('NEW') };
    // Opened, read up to the first post: every topic is unread.
    for (const { ids } of sizes) await t.sql(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) SELECT $1, unnest($2::uuid[]), 1`, [reader.id, ids]);
    costs.UNREAD = await cost('UNREAD');
    // The session, the page, its count, then the boards, the spaces and the unread counts, a batch each.
    expect(costs).toEqual({ LATEST: [6, 6], NEW: [6, 6], UNREAD: [6, 6] });
  });
});
