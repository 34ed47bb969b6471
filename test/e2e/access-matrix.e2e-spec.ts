import { AccessService, fullViewSql, listedViewSql, postAuthorSeesSql } from '../../libs/access/src/access.service';
import { AccessLevel, ContentState, LEVEL_RANK } from '../../libs/access/src/access-level';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { ReviewItems } from '../../libs/moderation/src/reports/review-items';
import { newId } from '../../libs/core/src/ids';
import { readableTopicSql } from '../../libs/forum/src/topics/topics.repository';
import { Viewer as RequestViewer } from '../../libs/core/src/graphql/viewer';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, GqlResult, TestApp } from '../support/test-app';

type Outcome = 'OK' | 'NOT_FOUND' | 'UNAUTHENTICATED' | 'FORBIDDEN';
type Viewer = 'anonymous' | 'customer' | 'partner' | 'employee' | 'spaceModerator' | 'globalModerator' | 'admin';
type Visibility = 'PUBLIC' | 'MEMBERS' | 'RESTRICTED';
type Action = 'readSpace' | 'listTopics' | 'readTopic' | 'readPost' | 'createTopic' | 'reply' | 'draftTopic' | 'draftReply' | 'draftEdit' | 'react' | 'moderate' | 'movePosts';

const VIEWERS: Viewer[] = ['anonymous', 'customer', 'partner', 'employee', 'spaceModerator', 'globalModerator', 'admin'];
const ACTIONS: Action[] = ['readSpace', 'listTopics', 'readTopic', 'readPost', 'createTopic', 'reply', 'draftTopic', 'draftReply', 'draftEdit', 'react', 'moderate', 'movePosts'];

/** The policy, written out by hand: what each viewer gets in each kind of space. */
function expected(viewer: Viewer, visibility: Visibility, action: Action): Outcome {
  const reads = ['readSpace', 'listTopics', 'readTopic', 'readPost'].includes(action);
  const canRead =
    viewer === 'admin' ||
    viewer === 'spaceModerator' ||
    visibility === 'PUBLIC' ||
    (visibility === 'MEMBERS' && viewer !== 'anonymous') ||
    (visibility === 'RESTRICTED' && viewer === 'employee');
  // Every write needs an account: signing in comes first, whatever the target (it says nothing of
  // it: a hidden space's topic and a missing one get the same answer).
  if (!reads && viewer === 'anonymous') return 'UNAUTHENTICATED';
  if (!canRead) return 'NOT_FOUND';
  if (reads) return 'OK';
  // Nobody in the matrix wrote the post: only moderators may edit it, so only they may draft the edit.
  if (action === 'moderate' || action === 'movePosts' || action === 'draftEdit') return ['admin', 'spaceModerator', 'globalModerator'].includes(viewer) ? 'OK' : 'FORBIDDEN';
  return 'OK';
}

function outcomeOf(res: GqlResult, field: string): Outcome {
  if (res.errors?.length) return res.errors[0].extensions.code as Outcome;
  const value = res.data?.[field];
  return value === null || value === undefined ? 'NOT_FOUND' : 'OK';
}

describe('the access matrix', () => {
  let t: TestApp;
  const users = {} as Record<Exclude<Viewer, 'anonymous'>, TestUser>;
  let author: TestUser;
  const spaces = {} as Record<Visibility, { id: string; slug: string; boardId: string; splitBoardId: string; topicId: string; postId: string; replyId: string }>;
  let employees: string;

  beforeAll(async () => {
    t = await bootTestApp();
    employees = await makeGroup(t, 'employees');
    const customers = await makeGroup(t, 'customers');
    const partners = await makeGroup(t, 'partners');
    users.customer = await makeUser(t, { groups: [customers] });
    users.partner = await makeUser(t, { groups: [partners] });
    users.employee = await makeUser(t, { groups: [employees] });
    users.spaceModerator = await makeUser(t);
    users.globalModerator = await makeUser(t, { role: 'MODERATOR' });
    users.admin = await makeUser(t, { role: 'ADMIN' });
    author = await makeUser(t);
    for (const visibility of ['PUBLIC', 'MEMBERS', 'RESTRICTED'] as Visibility[]) {
      const s = await makeSpace(t, visibility, [
        ...(visibility === 'RESTRICTED' ? [{ groupId: employees, level: 'PARTICIPATE' as const }] : []),
        { userId: users.spaceModerator.id, level: 'MODERATE' },
        { userId: author.id, level: 'PARTICIPATE' },
      ]);
      const boardId = await makeBoard(t, s.id);
      const created = await t.gql(
        `mutation($input: CreateTopicInput!) { createTopic(input: $input) { id firstPost { id } } }`,
        { input: { boardId, title: `A ${visibility} topic`, body: `Secret of the ${visibility} space`, tags: [`${visibility.toLowerCase()}-only`] } },
        { token: author.token },
      );
      if (created.errors) throw new Error(JSON.stringify(created.errors));
      const topicId = created.data.createTopic.id;
      const reply = await t.gql(
        `mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`,
        { input: { topicId, body: `A reply in the ${visibility} space` } },
        { token: author.token },
      );
      if (reply.errors) throw new Error(JSON.stringify(reply.errors));
      // Where moved posts go (movePosts splits them off into a new topic there), so the board's own list keeps its topic in view.
      const splitBoardId = await makeBoard(t, s.id);
      spaces[visibility] = { ...s, boardId, splitBoardId, topicId, postId: created.data.createTopic.firstPost.id, replyId: reply.data.replyToTopic.id };
    }
  });
  afterAll(() => t.close());

  async function act(viewer: Viewer, visibility: Visibility, action: Action): Promise<Outcome> {
    const token = viewer === 'anonymous' ? undefined : users[viewer].token;
    const s = spaces[visibility];
    switch (action) {
      case 'readSpace':
        return outcomeOf(await t.gql(`query($s: String!) { space(slug: $s) { id } }`, { s: s.slug }, { token }), 'space');
      case 'listTopics': {
        const res = await t.gql(`query($id: ID!) { board(id: $id) { topics(first: 10) { totalCount edges { node { id title } } } } }`, { id: s.boardId }, { token });
        const o = outcomeOf(res, 'board');
        if (o === 'OK') expect(res.data.board.topics.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(s.topicId);
        return o;
      }
      case 'readTopic':
        return outcomeOf(await t.gql(`query($id: ID!) { topic(id: $id) { id title firstPost { bodyHtml } } }`, { id: s.topicId }, { token }), 'topic');
      case 'readPost':
        return outcomeOf(await t.gql(`query($id: ID!) { post(id: $id) { id bodyHtml } }`, { id: s.replyId }, { token }), 'post');
      case 'createTopic':
        return outcomeOf(
          await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`, { input: { boardId: s.boardId, title: `By ${viewer}`, body: 'Hello there' } }, { token }),
          'createTopic',
        );
      case 'reply':
        return outcomeOf(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`, { input: { topicId: s.topicId, body: `Reply by ${viewer}` } }, { token }), 'replyToTopic');
      // A draft is saved where its author may post: the answers of createTopic, replyToTopic and editPost.
      case 'draftTopic':
      case 'draftReply':
      case 'draftEdit': {
        const target = action === 'draftTopic' ? { boardId: s.boardId } : action === 'draftReply' ? { topicId: s.topicId } : { postId: s.replyId };
        const draft = `mutation($input: SaveDraftInput!) { saveDraft(input: $input) { id } }`;
        return outcomeOf(await t.gql(draft, { input: { target, sequence: 0, body: `Draft by ${viewer}` } }, { token }), 'saveDraft');
      }
      case 'react':
        return outcomeOf(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: s.postId, kind: 'LIKE' } }, { token }), 'react');
      case 'moderate':
        return outcomeOf(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: s.topicId, pinned: true } }, { token }), 'setTopicStatus');
      case 'movePosts': {
        // A reply of its own to move, by a writer who may post in every space.
        const writer = await makeUser(t, { groups: [employees] });
        const written = await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`, { input: { topicId: s.topicId, body: `To move, for ${viewer}` } }, { token: writer.token });
        if (written.errors) throw new Error(JSON.stringify(written.errors));
        const input = { postIds: [written.data.replyToTopic.id], newTopic: { boardId: s.splitBoardId, title: `Split off by ${viewer}` } };
        return outcomeOf(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input }, { token }), 'movePosts');
      }
    }
  }

  const cases = VIEWERS.flatMap((v) => (['PUBLIC', 'MEMBERS', 'RESTRICTED'] as Visibility[]).flatMap((vis) => ACTIONS.map((a) => [v, vis, a] as const)));
  it.each(cases)('%s in a %s space: %s', async (viewer, visibility, action) => {
    expect(await act(viewer, visibility, action)).toBe(expected(viewer, visibility, action));
  });

  it('never lets internal content reach a customer through any field', async () => {
    const internal = spaces.RESTRICTED;
    const token = users.customer.token;
    // Every topic an announcement: the internal one must not be the customer's.
    for (const s of Object.values(spaces)) {
      const res = await t.gql(`mutation($input: GlobalPinInput!) { setGlobalPin(input: $input) { id } }`, { input: { topicId: s.topicId, pinned: true } }, { token: users.admin.token });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
    }
    // Each probe with what it must answer: data (the customer reads something there), or NOT_FOUND alone.
    const probes: Array<[Promise<GqlResult>, 'data' | 'NOT_FOUND']> = [
      [t.gql(`query($id: ID!) { topic(id: $id) { title } }`, { id: internal.topicId }, { token }), 'NOT_FOUND'],
      [t.gql(`query($id: ID!) { post(id: $id) { bodyHtml topic { title } } }`, { id: internal.replyId }, { token }), 'NOT_FOUND'],
      [t.gql(`query($id: ID!) { board(id: $id) { name topics { totalCount edges { node { title } } } } }`, { id: internal.boardId }, { token }), 'NOT_FOUND'],
      [t.gql(`{ spaces { slug name boards { name topics(first: 5) { totalCount edges { node { title firstPost { bodyHtml } } } } } } }`, {}, { token }), 'data'],
      [t.gql(`query($h: String!) { user(handle: $h) { posts(first: 100) { totalCount edges { node { bodyHtml topic { title } } } } } }`, { h: author.handle }, { token }), 'data'],
      ...['LATEST', 'UNREAD', 'NEW'].flatMap((view) =>
        [{ view }, { view, spaceIds: [internal.id] }].map(
          (f) => [t.gql(`query($f: TopicFeedFilter) { topics(filter: $f, first: 100) { totalCount edges { node { id title } } } }`, { f }, { token }), 'data'] as [Promise<GqlResult>, 'data'],
        ),
      ),
      [t.gql(`{ tags(first: 200) { name topicCount } }`, {}, { token }), 'data'],
      [t.gql(`query($ids: [ID!]) { tags(spaceIds: $ids) { name } }`, { ids: [internal.id] }, { token }), 'data'],
      [t.gql(`{ pinnedTopics { id title firstPost { bodyHtml } } }`, {}, { token }), 'data'],
      [t.gql(`query($id: ID!) { topic(id: $id) { suggestedTopics(first: 10) { id title } } }`, { id: spaces.PUBLIC.topicId }, { token }), 'data'],
      [t.gql(`query($id: ID!, $p: String!) { userSuggestions(prefix: $p, topicId: $id) { handle } }`, { id: internal.topicId, p: author.handle.slice(0, 3) }, { token }), 'NOT_FOUND'],
      [t.gql(`mutation($id: ID!) { dismissPinnedTopic(topicId: $id) }`, { id: internal.topicId }, { token }), 'NOT_FOUND'],
    ];
    for (const [pending, answer] of probes) {
      const res = await pending;
      // A probe answered with some other error (a typo, a limit) would read nothing and prove nothing.
      if (answer === 'data') expect(res.errors).toBeUndefined();
      else expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
      const text = JSON.stringify(res);
      expect(text).not.toContain('RESTRICTED');
      expect(text).not.toContain('restricted-only');
      expect(text).not.toContain(internal.slug);
    }
    // The same probes read the internal topic for an employee: they can find it.
    const employeeView = await t.gql(`{ tags(first: 200) { name } pinnedTopics { title } }`, {}, { token: users.employee.token });
    expect(JSON.stringify(employeeView.data)).toContain('restricted-only');
    expect(JSON.stringify(employeeView.data)).toContain('A RESTRICTED topic');
    // The author's profile counts only what the customer may read (PUBLIC and MEMBERS: a topic and a reply each).
    const profile = await t.gql(`query($h: String!) { user(handle: $h) { posts { totalCount } topicCount postCount } }`, { h: author.handle }, { token });
    expect(profile.data.user).toEqual({ posts: { totalCount: 4 }, topicCount: 2, postCount: 2 });
    // An employee reads the internal space's as well.
    const inside = await t.gql(`query($h: String!) { user(handle: $h) { topicCount postCount } }`, { h: author.handle }, { token: users.employee.token });
    expect(inside.data.user).toEqual({ topicCount: 3, postCount: 3 });
  });

  it('filters in SQL exactly as contentView decides, in every case', async () => {
    const access = t.get(AccessService);
    const me = newId();
    const spaceAt = { none: newId(), read: newId(), participate: newId(), moderate: newId() };
    const rankAt = { none: LEVEL_RANK.NONE, read: LEVEL_RANK.READ, participate: LEVEL_RANK.PARTICIPATE, moderate: LEVEL_RANK.MODERATE };
    const cases: Array<{ signedIn: boolean; level: keyof typeof spaceAt; state: ContentState; mine: boolean }> = [];
    for (const signedIn of [true, false])
      for (const level of Object.keys(spaceAt) as Array<keyof typeof spaceAt>)
        for (const state of ['VISIBLE', 'PENDING', 'HIDDEN', 'DELETED'] as ContentState[])
          for (const mine of [true, false]) cases.push({ signedIn, level, state, mine });
    const inSql = await Promise.all(
      [true, false].map(async (signedIn) => {
        const of = cases.filter((c) => c.signedIn === signedIn);
        const rows: Array<{ full: boolean }> = await t.sql(
          `SELECT ${fullViewSql('c', { viewer: '$1', readable: '$2', moderated: '$3' })} AS full
             FROM unnest($4::text[], $5::uuid[], $6::uuid[]) WITH ORDINALITY AS c(state, author_id, space_id, i) ORDER BY c.i`,
          [
            signedIn ? me : null,
            [spaceAt.read, spaceAt.participate, spaceAt.moderate],
            [spaceAt.moderate],
            of.map((c) => c.state),
            of.map((c) => (c.mine ? me : newId())),
            of.map((c) => spaceAt[c.level]),
          ],
        );
        return of.map((c, i) => ({ ...c, full: rows[i].full }));
      }),
    );
    const mismatches = inSql.flat().filter((c) => {
      const viewer = c.signedIn ? new RequestViewer({ id: me, handle: 'me', role: 'MEMBER', trustLevel: 1, groupIds: [] }) : RequestViewer.anonymous();
      return (access.contentView(viewer, rankAt[c.level], { state: c.state, authorId: c.mine ? me : newId(), deletedFrom: null }) === 'full') !== c.full;
    });
    expect(mismatches).toEqual([]);
    expect(inSql.flat().filter((c) => c.full).length).toBeGreaterThan(0);
  });

  it('lists in a board exactly the topics contentView opens in full, deleted ones aside', async () => {
    const access = t.get(AccessService);
    const me = newId();
    const cases: Array<{ signedIn: boolean; moderator: boolean; state: ContentState; mine: boolean }> = [];
    for (const signedIn of [true, false])
      for (const moderator of signedIn ? [true, false] : [false])
        for (const state of ['VISIBLE', 'PENDING', 'HIDDEN', 'DELETED'] as ContentState[])
          for (const mine of [true, false]) cases.push({ signedIn, moderator, state, mine });
    const mismatches: unknown[] = [];
    for (const c of cases) {
      const params: unknown[] = [c.state, c.mine ? me : newId()];
      const clause = readableTopicSql(c.moderator, c.signedIn ? me : null, params);
      const [row] = await t.sql(`SELECT ${clause} AS listed FROM (SELECT $1::text AS state, $2::uuid AS author_id) t`, params);
      const viewer = c.signedIn ? new RequestViewer({ id: me, handle: 'me', role: 'MEMBER', trustLevel: 1, groupIds: [] }) : RequestViewer.anonymous();
      const rank = c.moderator ? LEVEL_RANK.MODERATE : LEVEL_RANK.PARTICIPATE;
      const full = access.contentView(viewer, rank, { state: c.state, authorId: c.mine ? me : newId(), deletedFrom: null }) === 'full';
      if (row.listed !== (full && c.state !== 'DELETED')) mismatches.push({ ...c, listed: row.listed });
    }
    expect(mismatches).toEqual([]);
  });

  it('lists in a topic exactly the posts contentView shows at all (in full or as a placeholder)', async () => {
    const access = t.get(AccessService);
    const me = newId();
    const mismatches: unknown[] = [];
    for (const signedIn of [true, false])
      for (const moderator of signedIn ? [true, false] : [false])
        for (const state of ['VISIBLE', 'PENDING', 'HIDDEN', 'DELETED'] as ContentState[])
          for (const deletedFrom of state === 'DELETED' ? [null, 'VISIBLE', 'HIDDEN', 'PENDING'] as Array<ContentState | null> : [null])
            for (const mine of [true, false]) {
              const author = mine ? me : newId();
              const clause = listedViewSql('p', { moderator: '$4', viewer: '$5' });
              const [row] = await t.sql(`SELECT ${clause} AS listed FROM (SELECT $1::text AS state, $2::uuid AS author_id, $3::text AS deleted_from) p`, [
                state, author, deletedFrom, moderator, signedIn ? me : null,
              ]);
              const viewer = signedIn ? new RequestViewer({ id: me, handle: 'me', role: 'MEMBER', trustLevel: 1, groupIds: [] }) : RequestViewer.anonymous();
              const shown = access.contentView(viewer, moderator ? LEVEL_RANK.MODERATE : LEVEL_RANK.PARTICIPATE, { state, authorId: author, deletedFrom }) !== 'none';
              if (row.listed !== shown) mismatches.push({ signedIn, moderator, state, deletedFrom, mine, listed: row.listed });
            }
    expect(mismatches).toEqual([]);
  });
  it('finds a reply by its id (post) only in a topic the viewer reads in full, as postView decides: a hidden or deleted topic’s placeholder hides its replies', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: users.spaceModerator.id, level: 'MODERATE' }]);
    const boardId = await makeBoard(t, s.id);
    const [opener, replier, reader] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const POST = `query($id: ID!) { post(id: $id) { id } }`;
    const found = async (id: string, who: TestUser) => outcomeOf(await t.gql(POST, { id }, { token: who.token }), 'post');
    const seen: Record<string, Record<string, Outcome>> = {};
    for (const state of ['VISIBLE', 'HIDDEN', 'DELETED'] as const) {
      const topic = await createTopic(t, opener.token, boardId, { title: `A ${state.toLowerCase()} topic` });
      const answer = await reply(t, replier.token, topic.id, `A visible reply in a ${state.toLowerCase()} topic`);
      await t.sql(`UPDATE topics SET state = $2 WHERE id = $1`, [topic.id, state]);
      await t.sql(`UPDATE posts SET state = $2 WHERE id = $1`, [topic.firstPostId, state]);
      seen[state] = { opener: await found(answer.id, opener), replier: await found(answer.id, replier), reader: await found(answer.id, reader), moderator: await found(answer.id, users.spaceModerator) };
    }
    expect(seen).toEqual({
      VISIBLE: { opener: 'OK', replier: 'OK', reader: 'OK', moderator: 'OK' },
      // Its opener reads a hidden topic in full; everyone else but moderators gets its placeholder, and no reply of it.
      HIDDEN: { opener: 'OK', replier: 'NOT_FOUND', reader: 'NOT_FOUND', moderator: 'OK' },
      DELETED: { opener: 'NOT_FOUND', replier: 'NOT_FOUND', reader: 'NOT_FOUND', moderator: 'OK' },
    });
  });

  it('tells a held post’s author, or one deleted while held, whether they may open it where it is (postAuthorSeesSql) exactly as postView decides, in every space and topic state', async () => {
    const access = t.get(AccessService);
    const sessions = t.get(SessionsService);
    const mismatches: unknown[] = [];
    let cases = 0;
    for (const who of ['customer', 'partner', 'employee', 'spaceModerator', 'globalModerator', 'admin'] as const) {
      const u = users[who];
      const viewer = (await sessions.viewerForUser(u.id))!;
      for (const v of ['PUBLIC', 'MEMBERS', 'RESTRICTED'] as Visibility[]) {
        const spaceId = spaces[v].id;
        const rank = await access.rankOn(viewer, spaceId);
        for (const topicState of ['VISIBLE', 'PENDING', 'HIDDEN', 'DELETED'] as ContentState[])
          for (const topicTheirs of [true, false])
            for (const [state, deletedFrom] of [['PENDING', null], ['DELETED', 'PENDING']] as Array<[ContentState, ContentState | null]>) {
              const topicAuthor = topicTheirs ? u.id : newId();
              const [row] = await t.sql(
                `SELECT ${postAuthorSeesSql('p', 't')} AS sees
                   FROM (SELECT $1::uuid AS author_id, $2::uuid AS space_id, $3::text AS state, $4::text AS deleted_from) p,
                        (SELECT $2::uuid AS space_id, $5::text AS state, $6::uuid AS author_id) t`,
                [u.id, spaceId, state, deletedFrom, topicState, topicAuthor],
              );
              const view = access.postView(viewer, { rank, state: topicState, authorId: topicAuthor }, { rank, state, authorId: u.id, deletedFrom });
              cases++;
              if (row.sees !== (view !== 'none')) mismatches.push({ who, v, topicState, topicTheirs, state, sees: row.sees, view });
            }
      }
    }
    expect(mismatches).toEqual([]);
    expect(cases).toBe(6 * 3 * 4 * 2 * 2);
  });

  it('judges in SQL who holds a level and who moderates (holdsSql, moderatesSql) exactly as rankOn and moderatesSiteWide do, sanctions included', async () => {
    const access = t.get(AccessService);
    const sessions = t.get(SessionsService);
    const sanction = (userId: string, kind: string, spaceId: string | null) =>
      t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES ($1, $2, $3, 'test', $4, now() + interval '1 day')`, [newId(), userId, kind, spaceId]);
    const grant = (userId: string, spaceId: string, level: string) => t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES ($1, $2, $3, $4)`, [newId(), spaceId, userId, LEVEL_RANK[level as keyof typeof LEVEL_RANK]]);
    const silencedHere = await makeUser(t);
    const suspendedHere = await makeUser(t);
    const silencedEverywhere = await makeUser(t, { role: 'MODERATOR' });
    const lapsed = await makeUser(t, { role: 'MODERATOR' });
    const deleted = await makeUser(t, { role: 'MODERATOR' });
    for (const v of ['PUBLIC', 'MEMBERS', 'RESTRICTED'] as Visibility[]) {
      await grant(silencedHere.id, spaces[v].id, 'MODERATE');
      await grant(suspendedHere.id, spaces[v].id, 'MODERATE');
    }
    await sanction(silencedHere.id, 'SILENCE', spaces.MEMBERS.id);
    await sanction(suspendedHere.id, 'SUSPEND', spaces.RESTRICTED.id);
    await sanction(silencedEverywhere.id, 'SILENCE', null);
    // Lifted and run out: they take nothing.
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES ($1, $2, 'SILENCE', 'old', NULL, now() - interval '1 minute')`, [newId(), lapsed.id]);
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [deleted.id]);
    // Made an admin while a ban stood (as earlier releases let setRole do): the session is anonymous,
    // so they hold nothing anywhere; an admin silenced site-wide still holds everything.
    const bannedAdmin = await makeUser(t, { role: 'ADMIN' });
    const silencedAdmin = await makeUser(t, { role: 'ADMIN' });
    await sanction(bannedAdmin.id, 'BAN', null);
    await sanction(silencedAdmin.id, 'SILENCE', null);
    // Moderating through a group's grant, banned from one of those spaces.
    const moderators = await makeGroup(t, 'matrix-moderators');
    const groupModerator = await makeUser(t, { groups: [moderators] });
    for (const v of ['PUBLIC', 'MEMBERS', 'RESTRICTED'] as Visibility[]) {
      await t.sql(`INSERT INTO space_grants (id, space_id, group_id, level) VALUES ($1, $2, $3, $4)`, [newId(), spaces[v].id, moderators, LEVEL_RANK.MODERATE]);
    }
    await sanction(groupModerator.id, 'BAN', spaces.PUBLIC.id);
    const people = [...Object.values(users), author, silencedHere, suspendedHere, silencedEverywhere, lapsed, deleted, bannedAdmin, silencedAdmin, groupModerator];
    const spaceIds = [...Object.values(spaces).map((s) => s.id), null];
    const mismatches: unknown[] = [];
    for (const u of people) {
      const viewer = await sessions.viewerForUser(u.id);
      for (const spaceId of spaceIds) {
        const [row] = await t.sql(
          `SELECT ${AccessService.moderatesSql('$1::uuid', '$2::uuid')} AS moderates,
                  ${AccessService.holdsSql('$1::uuid', '$2::uuid', AccessLevel.READ)} AS reads,
                  ${AccessService.holdsSql('$1::uuid', '$2::uuid', AccessLevel.PARTICIPATE)} AS participates`,
          [u.id, spaceId],
        );
        const rank = viewer && spaceId ? await access.rankOn(viewer, spaceId) : LEVEL_RANK.NONE;
        const moderates = !viewer ? false : spaceId ? rank >= LEVEL_RANK.MODERATE : await access.moderatesSiteWide(viewer);
        const expected = { moderates, reads: !!spaceId && rank >= LEVEL_RANK.READ, participates: !!spaceId && rank >= LEVEL_RANK.PARTICIPATE };
        const got = { moderates: row.moderates, reads: spaceId ? row.reads : false, participates: spaceId ? row.participates : false };
        if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches.push({ user: u.handle, spaceId, got, expected });
      }
      // A proposed ban's claim holds for an admin alone, as lockItem and claim judge them (an admin's session).
      const [ban] = await t.sql(
        `SELECT ${t.get(ReviewItems).claimHoldsSql()} AS holds
           FROM (SELECT 'BAN_PROPOSAL'::text AS kind, $1::uuid AS claimed_by, now() + interval '1 minute' AS claimed_until, NULL::uuid AS space_id, NULL::uuid AS target_id) review_items`,
        [u.id],
      );
      if (ban.holds !== !!viewer?.isAdmin) mismatches.push({ user: u.handle, banProposal: ban.holds });
    }
    expect(mismatches).toEqual([]);
  });
});
