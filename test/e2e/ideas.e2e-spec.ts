import { AddressInfo } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { encodeCursor } from '../../libs/core/src/graphql/pagination';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { CREATE_TOPIC, createTopic, forumRowCounts, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { gateCalls } from '../support/gates';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { IdeasService } from '../../libs/ideas/src/ideas.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';

const IDEA = `query($id: ID!) { topic(id: $id) { id kind idea {
  status statusLabel voteCount viewerHasVoted statusChangedAt
  officialResponse { body author { handle } at }
  mergedInto { id }
  statusHistory { from to response actor { handle } }
  votesBySegment { segment count }
} } }`;
const VOTE = `mutation($id: ID!) { voteIdea(topicId: $id) { id idea { voteCount viewerHasVoted } } }`;
const UNVOTE = `mutation($id: ID!) { unvoteIdea(topicId: $id) { id idea { voteCount viewerHasVoted } } }`;
const SET_STATUS = `mutation($input: SetIdeaStatusInput!) { setIdeaStatus(input: $input) { id idea { status officialResponse { body } } } }`;
const MERGE = `mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id idea { voteCount } } }`;
const UNMERGE = `mutation($id: ID!) { unmergeIdea(topicId: $id) { id idea { status voteCount mergedInto { id } } } }`;
const LIST = `query($id: ID!, $sort: IdeaSort, $statuses: [IdeaStatus!], $tag: String, $first: Int, $after: String) {
  board(id: $id) { ideas(sort: $sort, statuses: $statuses, tag: $tag, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id title idea { status voteCount viewerHasVoted } } } } } }`;

describe('idea boards', () => {
  let t: TestApp;
  let customers: string;
  let employees: string;
  let moderator: TestUser;
  let admin: TestUser;
  let space: { id: string };
  let board: string;
  const sockets: Socket[] = [];

  const drain = () => t.get(OutboxWorker).drain();
  const idea = async (id: string, user?: TestUser) => expectOk(await t.gql(IDEA, { id }, { token: user?.token })).topic.idea;
  const newIdea = async (user: TestUser, title = 'An idea', extra: { tags?: string[]; boardId?: string } = {}) =>
    (await createTopic(t, user.token, extra.boardId ?? board, { title, body: `Please add ${title}`, tags: extra.tags })).id;
  const customer = () => makeUser(t, { groups: [customers] });
  const notificationKinds = async (u: TestUser) =>
    expectOk(await t.gql(`{ notifications(first: 50) { edges { node { kind topic { id } data } } } }`, {}, { token: u.token })).notifications.edges.map((e: any) => ({
      ...e.node,
      data: JSON.parse(e.node.data),
    }));

  beforeAll(async () => {
    t = await bootTestApp();
    customers = await makeGroup(t, 'customers');
    employees = await makeGroup(t, 'employees');
    // Votes are segmented by the groups the reader sees.
    await t.sql(`UPDATE groups SET visibility = 'SIGNED_IN' WHERE id = ANY($1::uuid[])`, [[customers, employees]]);
    moderator = await makeUser(t, { groups: [employees] });
    admin = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }, { userId: admin.id, level: 'ADMIN' }]);
    board = await makeBoard(t, space.id, 'IDEAS');
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  it('creates ideas in IDEAS boards with the author’s vote counted', async () => {
    const author = await customer();
    // The board decides the kind: IDEA may be said, another kind is refused.
    const wrong = expectError(await t.gql(CREATE_TOPIC, { input: { boardId: board, title: 'Dark mode', body: 'Please', kind: 'QUESTION' } }, { token: author.token }), 'BAD_USER_INPUT');
    expect(wrong.extensions.fields).toEqual([{ field: 'kind', message: 'must be IDEA on this board' }]);
    const res = expectOk(await t.gql(CREATE_TOPIC, { input: { boardId: board, title: 'Dark mode', body: 'Please', kind: 'IDEA' } }, { token: author.token }));
    expect(res.createTopic.kind).toBe('IDEA');
    const i = await idea(res.createTopic.id, author);
    expect(i).toMatchObject({ status: 'NEW', statusLabel: 'New', voteCount: 1, viewerHasVoted: true, officialResponse: null, mergedInto: null, statusHistory: [], votesBySegment: null });
    expect((await idea(res.createTopic.id)).viewerHasVoted).toBe(false);
    // Forum topics have no idea details.
    const forum = await createTopic(t, author.token, await makeBoard(t, space.id));
    expect((await t.gql(IDEA, { id: forum.id })).data.topic.idea).toBeNull();
  });

  it('counts one vote per member, even when the same member’s votes race', async () => {
    const id = await newIdea(await customer(), 'Export to PDF');
    const voter = await customer();
    const results = await Promise.all(Array.from({ length: 6 }, () => t.gql(VOTE, { id }, { token: voter.token })));
    results.forEach((r) => expectOk(r));
    expect((await idea(id, voter)).voteCount).toBe(2);
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM idea_votes WHERE topic_id = $1`, [id]);
    expect(n).toBe(2);
    expect(expectOk(await t.gql(UNVOTE, { id }, { token: voter.token })).unvoteIdea.idea).toEqual({ voteCount: 1, viewerHasVoted: false });
    expect(expectOk(await t.gql(UNVOTE, { id }, { token: voter.token })).unvoteIdea.idea.voteCount).toBe(1);
    expectError(await t.gql(VOTE, { id }), 'UNAUTHENTICATED');
  });

  it('keeps internal idea boards away from customers: no reading, no voting, no counting', async () => {
    const internalSpace = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
    const internalBoard = await makeBoard(t, internalSpace.id, 'IDEAS');
    const id = await newIdea(moderator, 'Internal tooling', { boardId: internalBoard });
    const outsider = await customer();
    expectError(await t.gql(IDEA, { id }, { token: outsider.token }), 'NOT_FOUND');
    const before = await forumRowCounts(t);
    expectError(await t.gql(VOTE, { id }, { token: outsider.token }), 'NOT_FOUND');
    expect(await forumRowCounts(t)).toEqual(before);
    expect((await t.gql(LIST, { id: internalBoard }, { token: outsider.token })).data.board).toBeNull();
    expectError(await t.gql(`query($id: ID!) { roadmap(spaceId: $id) { planned { id } } }`, { id: internalSpace.id }, { token: outsider.token }), 'NOT_FOUND');
    expectOk(await t.gql(VOTE, { id }, { token: (await makeUser(t, { groups: [employees] })).token }));
  });

  it('leaves a moderator sanctioned in the space no moderator’s view: silenced, a reader’s; suspended, nothing', async () => {
    const mod = await makeUser(t);
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const b = await makeBoard(t, s.id, 'IDEAS');
    const [a, dup] = [await newIdea(await customer(), 'Dark mode', { boardId: b }), await newIdea(await customer(), 'Night theme', { boardId: b })];
    const held = await newIdea(await customer(), 'Held for approval', { boardId: b });
    await t.sql(`UPDATE topics SET state = 'PENDING' WHERE id = $1`, [held]);
    await t.sql(`UPDATE posts SET state = 'PENDING' WHERE topic_id = $1`, [held]);
    expectOk(await t.gql(SET_STATUS, { input: { topicId: a, status: 'PLANNED' } }, { token: mod.token }));
    const sanction = (kind: string) =>
      t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, $2, 'test', $3, now() + interval '1 day') RETURNING id`, [mod.id, kind, s.id]);
    const CSV = `query($id: ID!) { ideasCsv(boardId: $id) }`;
    const ROADMAP = `query($id: ID!) { roadmap(spaceId: $id) { planned { id } } }`;
    const writes = async () => ({
      forum: await forumRowCounts(t),
      ideas: await t.sql(`SELECT topic_id, status, vote_count, merged_into FROM ideas WHERE topic_id = ANY($1::uuid[]) ORDER BY topic_id`, [[a, dup, held]]),
      votes: (await t.sql(`SELECT count(*)::int AS n FROM idea_votes`))[0].n,
    });
    const before = await writes();
    const [silence] = await sanction('SILENCE');
    expectError(await t.gql(CSV, { id: b }, { token: mod.token }), 'FORBIDDEN');
    expectError(await t.gql(SET_STATUS, { input: { topicId: dup, status: 'DECLINED' } }, { token: mod.token }), 'FORBIDDEN');
    expectError(await t.gql(MERGE, { input: { sourceId: dup, targetId: a } }, { token: mod.token }), 'FORBIDDEN');
    expectError(await t.gql(VOTE, { id: dup }, { token: mod.token }), 'FORBIDDEN');
    expectError(await t.gql(IDEA, { id: held }, { token: mod.token }), 'NOT_FOUND');
    expect((await idea(a, mod)).votesBySegment).toBeNull();
    const list = expectOk(await t.gql(LIST, { id: b, sort: 'NEWEST' }, { token: mod.token })).board.ideas;
    expect(list.edges.map((e: any) => e.node.id).sort()).toEqual([a, dup].sort());
    expect(list.totalCount).toBe(2);
    await t.sql(`UPDATE sanctions SET lifted_at = now() WHERE id = $1`, [silence.id]);
    await sanction('SUSPEND');
    for (const res of [
      await t.gql(CSV, { id: b }, { token: mod.token }),
      await t.gql(ROADMAP, { id: s.id }, { token: mod.token }),
      await t.gql(IDEA, { id: a }, { token: mod.token }),
      await t.gql(VOTE, { id: a }, { token: mod.token }),
      await t.gql(MERGE, { input: { sourceId: dup, targetId: a } }, { token: mod.token }),
      await t.gql(SET_STATUS, { input: { topicId: dup, status: 'DECLINED' } }, { token: mod.token }),
    ]) expectError(res, 'NOT_FOUND');
    expect((await t.gql(LIST, { id: b }, { token: mod.token })).data.board).toBeNull();
    expect(await writes()).toEqual(before);
  });

  it('enforces a board’s vote budget; votes return when their idea closes', async () => {
    const budgetBoard = await makeBoard(t, space.id, 'IDEAS');
    const settings = `mutation($input: UpdateIdeaBoardInput!) { updateIdeaBoard(input: $input) { id ideaSettings { voteBudget statusLabels { status label } } } }`;
    expectError(await t.gql(settings, { input: { boardId: budgetBoard, voteBudget: 2 } }, { token: moderator.token }), 'FORBIDDEN');
    const updated = expectOk(await t.gql(settings, { input: { boardId: budgetBoard, voteBudget: 2, statusLabels: [{ status: 'PLANNED', label: 'On the roadmap' }] } }, { token: admin.token }));
    expect(updated.updateIdeaBoard.ideaSettings.voteBudget).toBe(2);
    expect(updated.updateIdeaBoard.ideaSettings.statusLabels).toContainEqual({ status: 'PLANNED', label: 'On the roadmap' });
    expectError(await t.gql(settings, { input: { boardId: budgetBoard, voteBudget: -1 } }, { token: admin.token }), 'BAD_USER_INPUT');
    // A budget given as null is not given (0 removes the limit): alone, or with no labels, nothing is asked.
    expectError(await t.gql(settings, { input: { boardId: budgetBoard, voteBudget: null } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(settings, { input: { boardId: budgetBoard, statusLabels: [] } }, { token: admin.token }), 'BAD_USER_INPUT');
    const labelled = expectOk(await t.gql(settings, { input: { boardId: budgetBoard, voteBudget: null, statusLabels: [{ status: 'PLANNED', label: 'Coming soon' }] } }, { token: admin.token }));
    expect(labelled.updateIdeaBoard.ideaSettings.voteBudget).toBe(2);
    // A status named twice (the last label silently won) and a label of invisible characters are refused.
    const twice = [{ status: 'NEW', label: 'A' }, { status: 'NEW', label: 'B' }];
    expect(expectError(await t.gql(settings, { input: { boardId: budgetBoard, statusLabels: twice } }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('statusLabels');
    expectError(await t.gql(settings, { input: { boardId: budgetBoard, statusLabels: [{ status: 'NEW', label: '\u200b' }] } }, { token: admin.token }), 'BAD_USER_INPUT');
    const author = await customer();
    const ids = [];
    for (const title of ['One', 'Two', 'Three']) ids.push(await newIdea(author, title, { boardId: budgetBoard }));
    // An author's own vote counts against the budget too: the third idea is proposed without it.
    expect(await t.sql(`SELECT i.vote_count FROM ideas i JOIN topics t ON t.id = i.topic_id WHERE t.board_id = $1 ORDER BY t.created_at, t.id`, [budgetBoard])).toEqual([
      { vote_count: 1 }, { vote_count: 1 }, { vote_count: 0 },
    ]);
    const voter = await customer();
    const left = async () =>
      expectOk(await t.gql(`query($id: ID!) { board(id: $id) { ideaSettings { viewerVotesLeft } } }`, { id: budgetBoard }, { token: voter.token })).board.ideaSettings.viewerVotesLeft;
    expect(await left()).toBe(2);
    expectOk(await t.gql(VOTE, { id: ids[0] }, { token: voter.token }));
    expectOk(await t.gql(VOTE, { id: ids[1] }, { token: voter.token }));
    expect(await left()).toBe(0);
    const refused = expectError(await t.gql(VOTE, { id: ids[2] }, { token: voter.token }), 'BAD_USER_INPUT');
    expect(refused.extensions.fields![0].message).toMatch(/used all 2 votes/);
    expectOk(await t.gql(SET_STATUS, { input: { topicId: ids[0], status: 'COMPLETED', response: 'Shipped' } }, { token: moderator.token }));
    expect(await left()).toBe(1);
    expectOk(await t.gql(VOTE, { id: ids[2] }, { token: voter.token }));
    expect((await idea(ids[1], voter)).statusLabel).toBe('New');
  });

  it('runs the status workflow with official responses and a history; only moderators move it', async () => {
    const author = await customer();
    const id = await newIdea(author, 'Offline mode');
    expectError(await t.gql(SET_STATUS, { input: { topicId: id, status: 'PLANNED' } }, { token: author.token }), 'FORBIDDEN');
    const res = expectOk(await t.gql(SET_STATUS, { input: { topicId: id, status: 'PLANNED', response: 'Planned for **Q3** <script>alert(1)</script>' } }, { token: moderator.token }));
    expect(res.setIdeaStatus.idea.status).toBe('PLANNED');
    expect(res.setIdeaStatus.idea.officialResponse.body).toContain('<strong>Q3</strong>');
    expect(res.setIdeaStatus.idea.officialResponse.body).not.toContain('<script');
    expectError(await t.gql(SET_STATUS, { input: { topicId: id, status: 'PLANNED' } }, { token: moderator.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(SET_STATUS, { input: { topicId: id, status: 'MERGED' } }, { token: moderator.token }), 'BAD_USER_INPUT');
    // A blank official response is refused, not logged as given.
    expectError(await t.gql(SET_STATUS, { input: { topicId: id, status: 'UNDER_REVIEW', response: '   ' } }, { token: moderator.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(SET_STATUS, { input: { topicId: id, status: 'SHIPPED' } }, { token: moderator.token }), 'BAD_USER_INPUT');
    expectOk(await t.gql(SET_STATUS, { input: { topicId: id, status: 'DECLINED', response: 'Not this year' } }, { token: moderator.token }));
    const i = await idea(id, moderator);
    expect(i.statusHistory.map((h: any) => [h.from, h.to, h.actor.handle])).toEqual([['NEW', 'PLANNED', moderator.handle], ['PLANNED', 'DECLINED', moderator.handle]]);
    expect(i.officialResponse).toMatchObject({ body: '<p>Not this year</p>\n', author: { handle: moderator.handle } });
    const voter = await customer();
    const closed = expectError(await t.gql(VOTE, { id }, { token: voter.token }), 'BAD_USER_INPUT');
    expect(closed.extensions.fields![0].message).toMatch(/voting is closed/);
    // Forum-only ids are refused as ideas.
    const forum = await createTopic(t, author.token, await makeBoard(t, space.id));
    expectError(await t.gql(VOTE, { id: forum.id }, { token: voter.token }), 'BAD_USER_INPUT');
  });

  it('closes the loop: voters, the author and watchers hear of a status change, live and in-app, but not the mover nor those who muted it', async () => {
    const author = await customer();
    const id = await newIdea(author, 'Webhooks');
    const voter = await customer();
    const muted = await customer();
    const watcher = await customer();
    expectOk(await t.gql(VOTE, { id }, { token: voter.token }));
    expectOk(await t.gql(VOTE, { id }, { token: muted.token }));
    expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: id, level: 'MUTED' } }, { token: muted.token }));
    expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: id, level: 'WATCHING' } }, { token: watcher.token }));
    // Watching the board is watching each of its ideas; muting it mutes them, a vote notwithstanding.
    const boardWatcher = await customer();
    const boardMuter = await customer();
    const boardTracker = await customer();
    const replier = await customer();
    await reply(t, replier.token, id, 'I would use webhooks for our CRM');
    expectOk(await t.gql(VOTE, { id }, { token: boardMuter.token }));
    const WATCH_BOARD = `mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`;
    expectOk(await t.gql(WATCH_BOARD, { input: { boardId: board, level: 'WATCHING' } }, { token: boardWatcher.token }));
    expectOk(await t.gql(WATCH_BOARD, { input: { boardId: board, level: 'MUTED' } }, { token: boardMuter.token }));
    expectOk(await t.gql(WATCH_BOARD, { input: { boardId: board, level: 'TRACKING' } }, { token: boardTracker.token }));
    await drain();
    const port = (t.http.address() as AddressInfo).port;
    const s = io(`http://127.0.0.1:${port}`, { auth: { token: voter.token }, transports: ['websocket'] });
    sockets.push(s);
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: id })).toEqual({ ok: true });
    const live = new Promise<any>((resolve) => s.on('idea:updated', (p: any) => p.status === 'IN_PROGRESS' && resolve(p)));
    expectOk(await t.gql(SET_STATUS, { input: { topicId: id, status: 'IN_PROGRESS', response: 'Started' } }, { token: moderator.token }));
    expect(await live).toEqual({ topicId: id, status: 'IN_PROGRESS', voteCount: 4, mergedIntoId: null, version: expect.any(Number), topicVersion: expect.any(Number) });
    await drain();
    // The replier tracks the idea (taking part); the board's tracker only counts unread posts.
    for (const u of [author, voter, watcher, boardWatcher, replier]) {
      expect(await notificationKinds(u)).toContainEqual(expect.objectContaining({ kind: 'IDEA_STATUS', topic: { id }, data: { from: 'NEW', to: 'IN_PROGRESS' } }));
    }
    for (const u of [muted, boardMuter, boardTracker]) expect((await notificationKinds(u)).filter((n: any) => n.kind === 'IDEA_STATUS')).toEqual([]);
    expect((await notificationKinds(moderator)).filter((n: any) => n.kind === 'IDEA_STATUS')).toEqual([]);
    // Redelivery does not notify twice.
    await t.sql(`UPDATE outbox SET processed_at = NULL WHERE type = 'idea.status_changed'`);
    await drain();
    expect((await notificationKinds(voter)).filter((n: any) => n.kind === 'IDEA_STATUS')).toHaveLength(1);
  });

  it('merges without counting anyone twice, notifies followers, refuses bad merges, and unmerges exactly', async () => {
    const a = await customer();
    const b = await customer();
    const both = await customer();
    const source = await newIdea(a, 'CSV export');
    const target = await newIdea(b, 'Export data');
    expectOk(await t.gql(VOTE, { id: source }, { token: both.token }));
    expectOk(await t.gql(VOTE, { id: target }, { token: both.token }));
    expect((await idea(source)).voteCount).toBe(2);
    expect((await idea(target)).voteCount).toBe(2);
    expectError(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: a.token }), 'FORBIDDEN');
    expectError(await t.gql(MERGE, { input: { sourceId: source, targetId: source } }, { token: moderator.token }), 'BAD_USER_INPUT');
    const elsewhere = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    const foreign = await newIdea(a, 'Foreign', { boardId: await makeBoard(t, elsewhere.id, 'IDEAS') });
    expectError(await t.gql(MERGE, { input: { sourceId: source, targetId: foreign } }, { token: moderator.token }), 'BAD_USER_INPUT');
    const merged = expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
    expect(merged.mergeIdea).toEqual({ id: target, idea: { voteCount: 3 } }); // a, b, both: nobody twice
    const s = await idea(source, a);
    expect(s).toMatchObject({ status: 'MERGED', mergedInto: { id: target } });
    expect((await idea(target, a)).viewerHasVoted).toBe(true); // a's vote came along
    expectError(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }), 'BAD_USER_INPUT');
    const third = await newIdea(a, 'Third');
    expectError(await t.gql(MERGE, { input: { sourceId: third, targetId: source } }, { token: moderator.token }), 'BAD_USER_INPUT');
    // The merged idea takes no more votes: they go to the target.
    const late = await customer();
    const refused = expectError(await t.gql(VOTE, { id: source }, { token: late.token }), 'BAD_USER_INPUT');
    expect(refused.extensions.fields![0].message).toMatch(/merged into another one, vote there/);
    expect(expectOk(await t.gql(VOTE, { id: target }, { token: late.token })).voteIdea).toEqual({ id: target, idea: { voteCount: 4, viewerHasVoted: true } });
    await drain();
    expect(await notificationKinds(a)).toContainEqual(expect.objectContaining({ kind: 'IDEA_MERGED', topic: { id: target } }));
    // Merges stay within one space: a merged idea does not move to another space.
    const globalAdmin = await makeUser(t, { role: 'ADMIN' });
    const otherIdeas = await makeBoard(t, elsewhere.id, 'IDEAS');
    for (const id of [source, target]) {
      expectError(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: id, boardId: otherIdeas } }, { token: globalAdmin.token }), 'BAD_USER_INPUT');
    }
    // Unmerging is for admins, and restores both counts from the votes.
    expectError(await t.gql(UNMERGE, { id: source }, { token: moderator.token }), 'FORBIDDEN');
    const restored = expectOk(await t.gql(UNMERGE, { id: source }, { token: admin.token })).unmergeIdea;
    expect(restored).toEqual({ id: source, idea: { status: 'NEW', voteCount: 2, mergedInto: null } });
    expect((await idea(target)).voteCount).toBe(3); // b, both, late
    expectError(await t.gql(UNMERGE, { id: source }, { token: admin.token }), 'BAD_USER_INPUT');
  });

  it('an unmerge gives back since when the idea had its status, and takes back the followers the merge gave the target', async () => {
    const source = await newIdea(await customer(), 'Shipped long ago');
    const target = await newIdea(await customer(), 'Newer duplicate');
    const [follower, chooser, replier] = [await customer(), await customer(), await customer()];
    for (const u of [follower, chooser, replier]) expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: source, level: 'WATCHING' } }, { token: u.token }));
    expectOk(await t.gql(SET_STATUS, { input: { topicId: source, status: 'COMPLETED' } }, { token: moderator.token }));
    await t.sql(`UPDATE ideas SET status_changed_at = now() - interval '200 days' WHERE topic_id = $1`, [source]);
    const [{ at }] = await t.sql(`SELECT status_changed_at::text AS at FROM ideas WHERE topic_id = $1`, [source]);
    expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
    const watching = async () => (await t.sql(`SELECT user_id FROM topic_watches WHERE topic_id = $1 AND user_id = ANY($2::uuid[]) ORDER BY user_id`, [target, [follower.id, chooser.id, replier.id]])).map((r) => r.user_id);
    expect(await watching()).toEqual([follower.id, chooser.id, replier.id].sort());
    // One of them chooses to watch the target themselves, another replies there: theirs to keep.
    expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: target, level: 'WATCHING' } }, { token: chooser.token }));
    await reply(t, replier.token, target, 'I care about this one too');
    await drain();
    expectOk(await t.gql(UNMERGE, { id: source }, { token: admin.token }));
    expect(await t.sql(`SELECT status, status_changed_at::text AS at FROM ideas WHERE topic_id = $1`, [source])).toEqual([{ status: 'COMPLETED', at }]);
    expect(await watching()).toEqual([chooser.id, replier.id].sort());
    await drain();
    expectOk(await t.gql(SET_STATUS, { input: { topicId: target, status: 'PLANNED' } }, { token: moderator.token }));
    await drain();
    expect((await notificationKinds(follower)).filter((n: any) => n.kind === 'IDEA_STATUS' && n.topic?.id === target)).toEqual([]);
    expect((await notificationKinds(chooser)).filter((n: any) => n.kind === 'IDEA_STATUS' && n.topic?.id === target)).toHaveLength(1);
  });

  it('a duplicate hidden or deleted after its merge stops counting on the target, and counts again when brought back', async () => {
    const target = await newIdea(await customer(), 'Real demand');
    const spam = await newIdea(await customer(), 'Sock-puppet duplicate');
    for (let i = 0; i < 3; i++) expectOk(await t.gql(VOTE, { id: spam }, { token: (await customer()).token }));
    const voter = await customer();
    expectOk(await t.gql(VOTE, { id: target }, { token: voter.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: spam, targetId: target } }, { token: moderator.token }));
    expect((await idea(target)).voteCount).toBe(6);
    const firstPost = (await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [spam]))[0].id;
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    expectOk(await t.gql(MOD, { input: { postId: firstPost, action: 'HIDE' } }, { token: moderator.token }));
    expect((await idea(target)).voteCount).toBe(2);
    const list = async () => expectOk(await t.gql(LIST, { id: board, sort: 'TOP', first: 100 })).board.ideas.edges.find((e: any) => e.node.id === target).node.idea.voteCount;
    expect(await list()).toBe(2);
    expectOk(await t.gql(MOD, { input: { postId: firstPost, action: 'UNHIDE' } }, { token: moderator.token }));
    expect((await idea(target)).voteCount).toBe(6);
    expectOk(await t.gql(MOD, { input: { postId: firstPost, action: 'DELETE' } }, { token: moderator.token }));
    expect((await idea(target)).voteCount).toBe(2);
  });

  it('names the duplicate in a merge’s notice only while its reader may read it: not once it is hidden, but to its author', async () => {
    const author = await customer();
    const voter = await customer();
    const duplicate = await newIdea(author, 'Hidden duplicate');
    const target = await newIdea(await customer(), 'The idea it went into');
    expectOk(await t.gql(VOTE, { id: duplicate }, { token: voter.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: duplicate, targetId: target } }, { token: moderator.token }));
    await drain();
    const merged = async (u: TestUser) => (await notificationKinds(u)).filter((n: any) => n.kind === 'IDEA_MERGED' && n.topic?.id === target).map((n: any) => n.data);
    expect(await merged(voter)).toEqual([{ sourceId: duplicate, targetId: target }]);
    const firstPost = (await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [duplicate]))[0].id;
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    expectOk(await t.gql(MOD, { input: { postId: firstPost, action: 'HIDE' } }, { token: moderator.token }));
    expect(await merged(voter)).toEqual([{ sourceId: null, targetId: target }]);
    expect(await merged(author)).toEqual([{ sourceId: duplicate, targetId: target }]);
    expectOk(await t.gql(MOD, { input: { postId: firstPost, action: 'UNHIDE' } }, { token: moderator.token }));
    expect(await merged(voter)).toEqual([{ sourceId: duplicate, targetId: target }]);
  });

  it('names a hidden or deleted duplicate in a merge’s notice to the space’s moderators, who read it, and to no other reader', async () => {
    const [voter, spaceMod] = [await customer(), await customer()];
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [space.id, spaceMod.id]);
    const duplicate = await newIdea(await customer(), 'Duplicate moderators still see');
    const target = await newIdea(await customer(), 'Where it went');
    for (const u of [voter, spaceMod]) expectOk(await t.gql(VOTE, { id: duplicate }, { token: u.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: duplicate, targetId: target } }, { token: moderator.token }));
    await drain();
    const merged = async (u: TestUser) => (await notificationKinds(u)).filter((n: any) => n.kind === 'IDEA_MERGED' && n.topic?.id === target).map((n: any) => n.data.sourceId);
    const firstPost = (await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [duplicate]))[0].id;
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    for (const action of ['HIDE', 'DELETE']) {
      expectOk(await t.gql(MOD, { input: { postId: firstPost, action } }, { token: moderator.token }));
      // The moderator reads the duplicate as it is now, and is named it; the voter, who does not, is not.
      expect(expectOk(await t.gql(IDEA, { id: duplicate }, { token: spaceMod.token })).topic).not.toBeNull();
      expect(await merged(spaceMod)).toEqual([duplicate]);
      expect(await merged(voter)).toEqual([null]);
      expectOk(await t.gql(MOD, { input: { postId: firstPost, action: action === 'HIDE' ? 'UNHIDE' : 'RESTORE' } }, { token: moderator.token }));
    }
    // Silenced in the space, they moderate it no more and read only what any reader does.
    expectOk(await t.gql(MOD, { input: { postId: firstPost, action: 'HIDE' } }, { token: moderator.token }));
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', $2, now() + interval '1 day')`, [spaceMod.id, space.id]);
    expect(await merged(spaceMod)).toEqual([null]);
  });

  it('tells a merge’s followers, members and the space’s moderators alike, nothing of its ideas once they went where they do not read', async () => {
    const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
    const globalAdmin = await makeUser(t, { role: 'ADMIN' });
    const spaceMod = await customer();
    const ideasBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }, { userId: admin.id, level: 'ADMIN' }])).id, 'IDEAS');
    const internal = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }])).id, 'IDEAS');
    const voter = await customer();
    const duplicate = await newIdea(await customer(), 'Parting duplicate', { boardId: ideasBoard });
    const target = await newIdea(await customer(), 'Parting target', { boardId: ideasBoard });
    for (const u of [voter, spaceMod]) expectOk(await t.gql(VOTE, { id: duplicate }, { token: u.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: duplicate, targetId: target } }, { token: admin.token }));
    // Before the merge's notices go out, the ideas part and the duplicate moves to a space neither reads.
    expectOk(await t.gql(UNMERGE, { id: duplicate }, { token: admin.token }));
    expectOk(await t.gql(MOVE, { input: { topicId: duplicate, boardId: internal } }, { token: globalAdmin.token }));
    const s = io(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, { auth: { token: spaceMod.token }, transports: ['websocket'] });
    sockets.push(s);
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    const pushed = new Promise<any>((resolve) => s.on('notification', (n: any) => n.kind === 'IDEA_MERGED' && resolve(n)));
    await drain();
    const data = (await pushed).data;
    expect(typeof data === 'string' ? JSON.parse(data) : data).toEqual({ sourceId: null, targetId: target });
    const merged = async (u: TestUser) => (await notificationKinds(u)).filter((n: any) => n.kind === 'IDEA_MERGED' && n.topic?.id === target).map((n: any) => n.data);
    for (const u of [voter, spaceMod]) expect(await merged(u)).toEqual([{ sourceId: null, targetId: target }]);
    // The target goes there too: the notice is theirs no more, neither listed nor counted.
    const total = async (u: TestUser) => expectOk(await t.gql(`{ notifications(first: 1) { totalCount } }`, {}, { token: u.token })).notifications.totalCount;
    const before = await Promise.all([voter, spaceMod].map(total));
    expectOk(await t.gql(MOVE, { input: { topicId: target, boardId: internal } }, { token: globalAdmin.token }));
    for (const u of [voter, spaceMod]) expect(await merged(u)).toEqual([]);
    expect(await Promise.all([voter, spaceMod].map(total))).toEqual(before.map((n) => n - 1));
  });

  it('a hidden merged idea’s votes leave the CSV’s segments and its voters’ budgets too', async () => {
    const budgetBoard = await makeBoard(t, space.id, 'IDEAS');
    expectOk(await t.gql(`mutation($input: UpdateIdeaBoardInput!) { updateIdeaBoard(input: $input) { id } }`, { input: { boardId: budgetBoard, voteBudget: 1 } }, { token: admin.token }));
    const voter = await customer();
    const source = await newIdea(await customer(), 'Budget duplicate', { boardId: budgetBoard });
    const target = await newIdea(await customer(), 'Budget target', { boardId: budgetBoard });
    const other = await newIdea(await customer(), 'Budget other', { boardId: budgetBoard });
    expectOk(await t.gql(VOTE, { id: source }, { token: voter.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
    const firstPost = (await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [source]))[0].id;
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: firstPost, action: 'HIDE' } }, { token: moderator.token }));
    expect(await idea(target, voter)).toMatchObject({ voteCount: 1, viewerHasVoted: false });
    const left = expectOk(await t.gql(`query($id: ID!) { board(id: $id) { ideaSettings { viewerVotesLeft } } }`, { id: budgetBoard }, { token: voter.token })).board.ideaSettings.viewerVotesLeft;
    expect(left).toBe(1);
    expectOk(await t.gql(VOTE, { id: other }, { token: voter.token }));
    const csv: string = expectOk(await t.gql(`query($id: ID!) { ideasCsv(boardId: $id) }`, { id: budgetBoard }, { token: moderator.token })).ideasCsv;
    expect(csv.split('\r\n').find((line) => line.startsWith(target))).toMatch(new RegExp(`^${target},Budget target,New,1,customers=1,`));
  });

  it('pushes live no idea a reader may not open: one merged into an idea hidden since names none', async () => {
    const [inner, middle, target] = [await newIdea(await customer(), 'Inner twin'), await newIdea(await customer(), 'Middle twin'), await newIdea(await customer(), 'Target hidden later')];
    expectOk(await t.gql(MERGE, { input: { sourceId: inner, targetId: middle } }, { token: moderator.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: middle, targetId: target } }, { token: moderator.token }));
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    const firstPost = async (id: string) => (await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [id]))[0].id;
    expectOk(await t.gql(MOD, { input: { postId: await firstPost(target), action: 'HIDE' } }, { token: moderator.token }));
    const reader = await customer();
    expect((await idea(middle, reader)).mergedInto).toBeNull();
    const s = io(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, { auth: { token: reader.token }, transports: ['websocket'] });
    sockets.push(s);
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: middle })).toEqual({ ok: true });
    const live = new Promise<any>((resolve) => s.on('idea:updated', (p: any) => p.topicId === middle && resolve(p)));
    // Hiding the inner duplicate recounts the ideas its chain runs through, and pushes them.
    expectOk(await t.gql(MOD, { input: { postId: await firstPost(inner), action: 'HIDE' } }, { token: moderator.token }));
    // With its own topic's version (`topicVersion`, since 2026-12-07), nothing of the hidden one's.
    const [{ version: middleVersion }] = await t.sql(`SELECT version FROM topics WHERE id = $1`, [middle]);
    expect(await live).toEqual({ topicId: middle, status: 'MERGED', voteCount: 1, mergedIntoId: null, version: expect.any(Number), topicVersion: Number(middleVersion) });
  });

  it('refuses a merge or unmerge whose topic row its version is raised on cannot be written as NOT_FOUND, changing nothing: never an INTERNAL TypeError', async () => {
    const [source, target] = [await newIdea(await customer(), 'Row goes missing'), await newIdea(await customer(), 'Row stays')];
    // Stands for a topic row the idea's lock no longer guarantees (the foreign key cascades, and no
    // code deletes topics): a trigger skips every update of the source's topic, so the raise's
    // UPDATE ... RETURNING reads no row.
    const skip = async (topicId: string, what: () => Promise<void>) => {
      await t.sql(`CREATE FUNCTION skip_topic_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`);
      await t.sql(`CREATE TRIGGER skip_topic_update BEFORE UPDATE ON topics FOR EACH ROW WHEN (OLD.id = '${topicId}') EXECUTE FUNCTION skip_topic_update()`);
      try {
        await what();
      } finally {
        await t.sql(`DROP TRIGGER skip_topic_update ON topics`);
        await t.sql(`DROP FUNCTION skip_topic_update()`);
      }
    };
    const status = async () => (await t.sql(`SELECT status, merged_into FROM ideas WHERE topic_id = $1`, [source]))[0];
    await skip(source, async () => void expectError(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }), 'NOT_FOUND'));
    expect(await status()).toEqual({ status: 'NEW', merged_into: null });
    expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
    await skip(source, async () => void expectError(await t.gql(UNMERGE, { id: source }, { token: admin.token }), 'NOT_FOUND'));
    expect(await status()).toEqual({ status: 'MERGED', merged_into: target });
  });

  it('refuses a merge one of whose ideas has no row to lock as NOT_FOUND, changing nothing: never an INTERNAL TypeError', async () => {
    // Stands for an idea topic without its ideas row, which no write leaves today (the row is
    // made with its topic, and goes only with it): the lock then finds one row, or none.
    // On a board of its own: left on the board other cases share, those row-less idea topics
    // would be in their lists and counts (until 2026-12-07 they were).
    const boardId = await makeBoard(t, space.id, 'IDEAS');
    for (const missing of ['source', 'target'] as const) {
      const ideas = { source: await newIdea(await customer(), `No row, ${missing}`, { boardId }), target: await newIdea(await customer(), `Row, ${missing}`, { boardId }) };
      await t.sql(`DELETE FROM idea_votes WHERE topic_id = $1`, [ideas[missing]]);
      await t.sql(`DELETE FROM ideas WHERE topic_id = $1`, [ideas[missing]]);
      expectError(await t.gql(MERGE, { input: { sourceId: ideas.source, targetId: ideas.target } }, { token: moderator.token }), 'NOT_FOUND');
      const rows = await t.sql(`SELECT topic_id, status, merged_into FROM ideas WHERE topic_id = ANY($1::uuid[])`, [[ideas.source, ideas.target]]);
      expect(rows).toEqual([{ topic_id: missing === 'source' ? ideas.target : ideas.source, status: 'NEW', merged_into: null }]);
    }
  });

  it('unmerging from the middle of a chain recounts every idea along it', async () => {
    // first -> middle -> last: each author votes for their own idea.
    const first = await newIdea(await customer(), 'Chain first');
    const middle = await newIdea(await customer(), 'Chain middle');
    const last = await newIdea(await customer(), 'Chain last');
    expectOk(await t.gql(MERGE, { input: { sourceId: first, targetId: middle } }, { token: moderator.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: middle, targetId: last } }, { token: moderator.token }));
    expect((await idea(middle)).voteCount).toBe(2);
    expect((await idea(last)).voteCount).toBe(3);
    expectOk(await t.gql(UNMERGE, { id: first }, { token: admin.token }));
    expect((await idea(first)).voteCount).toBe(1);
    expect((await idea(middle)).voteCount).toBe(1); // was left at 2, counting first's voter
    expect((await idea(last)).voteCount).toBe(2);
  });

  it('a vote withdrawn at the end of a chain leaves every idea along it counted right', async () => {
    // first -> middle -> last; one voter supports first only.
    const first = await newIdea(await customer(), 'Withdrawn chain first');
    const middle = await newIdea(await customer(), 'Withdrawn chain middle');
    const last = await newIdea(await customer(), 'Withdrawn chain last');
    const voter = await customer();
    expectOk(await t.gql(VOTE, { id: first }, { token: voter.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: first, targetId: middle } }, { token: moderator.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: middle, targetId: last } }, { token: moderator.token }));
    expect((await idea(middle)).voteCount).toBe(3);
    expect(expectOk(await t.gql(UNVOTE, { id: last }, { token: voter.token })).unvoteIdea.idea.voteCount).toBe(3);
    expect((await idea(first)).voteCount).toBe(1);
    expect((await idea(middle)).voteCount).toBe(2); // was left at 3, counting the voter who withdrew
  });

  it('loses no vote when votes race a merge', async () => {
    const source = await newIdea(await customer(), 'Racing source');
    const target = await newIdea(await customer(), 'Racing target');
    const voters = await Promise.all(Array.from({ length: 8 }, () => customer()));
    const results = await Promise.all([
      ...voters.map((v, i) => t.gql(VOTE, { id: i % 2 ? source : target }, { token: v.token })),
      t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }),
    ]);
    expectOk(results[voters.length]);
    // Every vote either counted or was refused because the idea had just been merged (and
    // said so): none vanished. Refused voters vote again, on the target.
    const refused = voters.filter((_, i) => results[i].errors);
    for (const i of voters.keys()) {
      if (!results[i].errors) continue;
      expect(i % 2).toBe(1); // only votes on the source can come too late
      expect(results[i].errors![0].extensions.fields![0].message).toMatch(/merged/);
    }
    for (const v of refused) expectOk(await t.gql(VOTE, { id: target }, { token: v.token }));
    // Two authors and eight voters, each once.
    expect((await idea(target)).voteCount).toBe(10);
    const [{ n }] = await t.sql(
      `SELECT count(DISTINCT user_id)::int AS n FROM idea_votes WHERE topic_id = ANY($1::uuid[])`,
      [[source, target]],
    );
    expect(n).toBe(10);
  });

  it('shows votes by segment to moderators only', async () => {
    const id = await newIdea(await customer(), 'Segmented');
    expectOk(await t.gql(VOTE, { id }, { token: (await customer()).token }));
    expectOk(await t.gql(VOTE, { id }, { token: (await makeUser(t, { groups: [employees] })).token }));
    expectOk(await t.gql(VOTE, { id }, { token: (await makeUser(t)).token }));
    expect((await idea(id, moderator)).votesBySegment).toEqual([{ segment: 'customers', count: 2 }, { segment: 'employees', count: 1 }, { segment: 'other', count: 1 }]);
    expect((await idea(id, await customer())).votesBySegment).toBeNull();
  });

  it('segments votes by the groups the reader sees: a hidden group’s members count under their other groups, or as other, in the field and the CSV', async () => {
    const sBoard = await makeBoard(t, space.id, 'IDEAS');
    const hidden = await makeGroup(t);
    const [{ slug }] = await t.sql(`SELECT slug FROM groups WHERE id = $1`, [hidden]);
    const id = await newIdea(await makeUser(t, { groups: [hidden] }), 'Hidden voters', { boardId: sBoard });
    expectOk(await t.gql(VOTE, { id }, { token: (await makeUser(t, { groups: [hidden, customers] })).token }));
    expect((await idea(id, moderator)).votesBySegment).toEqual([{ segment: 'customers', count: 1 }, { segment: 'other', count: 1 }]);
    const csv: string = expectOk(await t.gql(`query($id: ID!) { ideasCsv(boardId: $id) }`, { id: sBoard }, { token: moderator.token })).ideasCsv;
    expect(csv).not.toContain(slug);
    expect(csv.split('\r\n').find((line) => line.startsWith(id))).toMatch(/,New,2,customers=1; other=1,/);
    // A site admin sees every group, and so every segment.
    const siteAdmin = await makeUser(t, { role: 'ADMIN' });
    expect((await idea(id, siteAdmin)).votesBySegment).toEqual([{ segment: slug, count: 2 }, { segment: 'customers', count: 1 }]);
  });

  it('TRENDING counts the recent votes of ideas merged in, as the vote count does; Board.topics puts pinned ideas first', async () => {
    const trendBoard = await makeBoard(t, space.id, 'IDEAS');
    const target = await newIdea(await customer(), 'Old target', { boardId: trendBoard });
    const other = await newIdea(await customer(), 'Old other', { boardId: trendBoard });
    await t.sql(`UPDATE topics SET created_at = now() - interval '60 days' WHERE id = ANY($1::uuid[])`, [[target, other]]);
    await t.sql(`UPDATE idea_votes SET created_at = now() - interval '60 days' WHERE topic_id = ANY($1::uuid[])`, [[target, other]]);
    const source = await newIdea(await customer(), 'Fresh duplicate', { boardId: trendBoard });
    for (let i = 0; i < 5; i++) expectOk(await t.gql(VOTE, { id: source }, { token: (await customer()).token }));
    for (let i = 0; i < 2; i++) expectOk(await t.gql(VOTE, { id: other }, { token: (await customer()).token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
    // target: (1 + 6 recent voters) / sqrt(62) = 0.89; other: (1 + 2) / sqrt(62) = 0.38.
    const order = async () => expectOk(await t.gql(LIST, { id: trendBoard, sort: 'TRENDING' })).board.ideas.edges.map((e: any) => e.node.id);
    expect(await order()).toEqual([target, other]);
    expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: other, pinned: true } }, { token: moderator.token }));
    const viaTopics = expectOk(await t.gql(`query($id: ID!) { board(id: $id) { topics(sort: TRENDING) { edges { node { id } } } } }`, { id: trendBoard }));
    expect(viaTopics.board.topics.edges.map((e: any) => e.node.id)).toEqual([other, target]);
  });

  it('lists ideas by status and tag, sorted; TRENDING favours recent activity and decays with age', async () => {
    const listBoard = await makeBoard(t, space.id, 'IDEAS');
    const author = await customer();
    const old = await newIdea(author, 'Old but hot', { boardId: listBoard, tags: ['mobile'] });
    const stale = await newIdea(author, 'Old and quiet', { boardId: listBoard });
    const fresh = await newIdea(author, 'Brand new', { boardId: listBoard, tags: ['mobile'] });
    const popular = await newIdea(author, 'Many old votes', { boardId: listBoard });
    await t.sql(`UPDATE topics SET created_at = now() - interval '60 days' WHERE id = ANY($1::uuid[])`, [[old, stale, popular]]);
    await t.sql(`UPDATE idea_votes SET created_at = now() - interval '60 days' WHERE topic_id = ANY($1::uuid[])`, [[old, stale, popular]]);
    for (let i = 0; i < 4; i++) expectOk(await t.gql(VOTE, { id: old }, { token: (await customer()).token })); // fresh votes
    for (let i = 0; i < 6; i++) expectOk(await t.gql(VOTE, { id: popular }, { token: (await customer()).token }));
    await t.sql(`UPDATE idea_votes SET created_at = now() - interval '50 days' WHERE topic_id = $1`, [popular]);
    const order = async (vars: Record<string, unknown>) =>
      expectOk(await t.gql(LIST, { id: listBoard, ...vars })).board.ideas.edges.map((e: any) => e.node.id);
    // old: (1 + 4) / sqrt(62) = 0.63; fresh: (1 + 1) / sqrt(2) = 1.41; popular and stale: 1 / sqrt(62) = 0.13.
    // Ties (popular and stale trend alike: their votes are over 30 days old) go to the later id.
    expect(await order({ sort: 'TRENDING' })).toEqual([fresh, old, popular, stale]);
    expect(await order({})).toEqual([fresh, old, popular, stale]); // TRENDING is the default
    expect(await order({ sort: 'TOP' })).toEqual([popular, old, fresh, stale]);
    expect(await order({ sort: 'NEWEST' })).toEqual([fresh, popular, stale, old]);
    expect(await order({ tag: 'mobile', sort: 'TOP' })).toEqual([old, fresh]);
    expectOk(await t.gql(SET_STATUS, { input: { topicId: stale, status: 'PLANNED' } }, { token: moderator.token }));
    expect(await order({ statuses: ['PLANNED'] })).toEqual([stale]);
    expect((await order({ sort: 'RECENTLY_UPDATED' }))[0]).toBe(stale);
    // Replies make an idea trend too: stale gets (1 + 0.5 × 2) / sqrt(62) = 0.25, above popular.
    await reply(t, author.token, stale, 'Any news?');
    await reply(t, moderator.token, stale, 'Soon.');
    expect(await order({ sort: 'TRENDING' })).toEqual([fresh, old, stale, popular]);
    // Board.topics(sort: TRENDING), as API.md has it, is the same list.
    const viaTopics = expectOk(await t.gql(`query($id: ID!) { board(id: $id) { topics(sort: TRENDING) { edges { node { id } } } } }`, { id: listBoard }));
    expect(viaTopics.board.topics.edges.map((e: any) => e.node.id)).toEqual([fresh, old, stale, popular]);
    // A forum board has a TRENDING of its own (recent replies and reactions), not the ideas'.
    const forumBoard = await makeBoard(t, space.id);
    expect(expectOk(await t.gql(`query($id: ID!) { board(id: $id) { topics(sort: TRENDING) { totalCount } } }`, { id: forumBoard })).board.topics.totalCount).toBe(0);
    const page1 = expectOk(await t.gql(LIST, { id: listBoard, first: 2 })).board.ideas;
    expect(page1.totalCount).toBe(4);
    const page2 = expectOk(await t.gql(LIST, { id: listBoard, first: 2, after: page1.pageInfo.endCursor })).board.ideas;
    expect(new Set([...page1.edges, ...page2.edges].map((e: any) => e.node.id)).size).toBe(4);
    expectError(await t.gql(LIST, { id: listBoard, after: 'garbage' }), 'BAD_USER_INPUT');
    // The sorts that hold still page by keyset: one at a time, in order, nothing twice or missed.
    for (const sort of ['TOP', 'NEWEST', 'RECENTLY_UPDATED']) {
      const all = await order({ sort });
      const paged: string[] = [];
      let after: string | null = null;
      do {
        const page: any = expectOk(await t.gql(LIST, { id: listBoard, sort, first: 1, after })).board.ideas;
        expect(page.totalCount).toBe(4);
        paged.push(...page.edges.map((e: any) => e.node.id));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect([sort, paged]).toEqual([sort, all]);
      // A cursor of another sort is refused, not misread.
      expectError(await t.gql(LIST, { id: listBoard, sort, after: page1.pageInfo.endCursor }), 'BAD_USER_INPUT');
    }
    // Forged cursors of the right length but the wrong values are bad input, not a database error.
    const forged = (sort: string, values: unknown[]) => encodeCursor(`ideas:${sort}`, values);
    const someId = '01a23000-0000-7000-8000-000000000000';
    for (const [sort, after] of [
      ['NEWEST', forged('NEWEST', ['1', someId])],
      ['NEWEST', forged('NEWEST', ['2026-13-45 99:00:00+00', someId])],
      ['TOP', forged('TOP', ['1000000000000', '2026-01-01 00:00:00+00', someId])],
      ['TOP', forged('TOP', [3, '2026-01-01 00:00:00+00', someId])],
      ['RECENTLY_UPDATED', forged('RECENTLY_UPDATED', ['2026-01-01 00:00:00+00', 'not-an-id'])],
    ]) {
      expect([sort, expectError(await t.gql(LIST, { id: listBoard, sort, after }), 'BAD_USER_INPUT').extensions.fields![0].field]).toEqual([sort, 'after']);
    }
  });

  it('keeps merged ideas’ own counts right when a voter withdraws on the target', async () => {
    const [a, voter] = [await customer(), await customer()];
    const source = await newIdea(a, 'Export to CSV');
    const target = await newIdea(a, 'Export data');
    expectOk(await t.gql(VOTE, { id: source }, { token: voter.token }));
    expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
    expect(expectOk(await t.gql(UNVOTE, { id: target }, { token: voter.token })).unvoteIdea.idea.voteCount).toBe(1); // the author's own vote
    expect(await t.sql(`SELECT vote_count, (SELECT count(*)::int FROM idea_votes v WHERE v.topic_id = i.topic_id) AS votes FROM ideas i WHERE topic_id = $1`, [source])).toEqual([{ vote_count: 1, votes: 1 }]);
  });

  it('leaves merged ideas out of the board’s topic list and its count, as the idea lists do', async () => {
    const b = await makeBoard(t, space.id, 'IDEAS');
    const a = await customer();
    const source = await newIdea(a, 'Merged away', { boardId: b });
    const target = await newIdea(a, 'Kept', { boardId: b });
    expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
    const q = `query($id: ID!) { board(id: $id) { topics(first: 10) { totalCount edges { node { id } } } } }`;
    for (const viewer of [a, moderator]) {
      const list = expectOk(await t.gql(q, { id: b }, { token: viewer.token })).board.topics;
      expect(list).toEqual({ totalCount: 1, edges: [{ node: { id: target } }] });
    }
  });

  it('refuses to merge an idea that is not visible (its votes would count on the target)', async () => {
    const a = await customer();
    const source = await newIdea(a, 'Removed duplicate');
    const target = await newIdea(a, 'The real one');
    await t.sql(`UPDATE topics SET state = 'DELETED' WHERE id = $1`, [source]);
    const err = expectError(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }), 'BAD_USER_INPUT');
    expect(err.extensions.fields![0].field).toBe('sourceId');
    expect((await idea(target, moderator)).voteCount).toBe(1);
  });

  it('refuses a status change on a deleted idea (its followers would hear of an idea they cannot open)', async () => {
    const id = await newIdea(await customer(), 'Soon deleted');
    await t.sql(`UPDATE topics SET state = 'DELETED' WHERE id = $1`, [id]);
    expect(expectError(await t.gql(SET_STATUS, { input: { topicId: id, status: 'PLANNED' } }, { token: moderator.token }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('topicId');
    expect(await t.sql(`SELECT status FROM ideas WHERE topic_id = $1`, [id])).toEqual([{ status: 'NEW' }]);
  });

  it('shows the official response given with the current status only', async () => {
    const id = await newIdea(await customer(), 'Dark mode');
    expectOk(await t.gql(SET_STATUS, { input: { topicId: id, status: 'DECLINED', response: 'We will never do this' } }, { token: moderator.token }));
    expect(expectOk(await t.gql(SET_STATUS, { input: { topicId: id, status: 'PLANNED' } }, { token: moderator.token })).setIdeaStatus.idea).toEqual({ status: 'PLANNED', officialResponse: null });
    const updated = expectOk(await t.gql(SET_STATUS, { input: { topicId: id, status: 'PLANNED', response: 'Coming in Q3' } }, { token: moderator.token })).setIdeaStatus.idea;
    expect(updated.officialResponse.body).toContain('Coming in Q3');
  });

  it('lists ideas with their details in a fixed number of statements (no N+1)', async () => {
    const b = await makeBoard(t, space.id, 'IDEAS');
    const u = await customer();
    for (let i = 0; i < 6; i++) await newIdea(u, `Idea ${i}`, { boardId: b });
    const q = `query($id: ID!, $first: Int) { board(id: $id) { ideas(first: $first, sort: TOP) { edges { node { id idea { status voteCount viewerHasVoted mergedInto { id } statusHistory { to } votesBySegment { count } } } } } } }`;
    for (const viewer of [moderator, u]) {
      let page: any;
      const few = await t.countStatements(async () => expectOk(await t.gql(q, { id: b, first: 2 }, { token: viewer.token })));
      const many = await t.countStatements(async () => (page = expectOk(await t.gql(q, { id: b, first: 6 }, { token: viewer.token }))));
      expect(page.board.ideas.edges).toHaveLength(6);
      expect(many.count).toBe(few.count);
    }
    // Moderators list, count and trend ideas as members do.
    const more = `query($id: ID!) { board(id: $id) { ideas(first: 3, sort: NEWEST) { totalCount } topics(sort: TRENDING, first: 3) { totalCount edges { node { id } } } } }`;
    expect(expectOk(await t.gql(more, { id: b }, { token: moderator.token })).board).toMatchObject({ ideas: { totalCount: 6 }, topics: { totalCount: 6 } });
  });

  it('gives an idea the version its live pushes carry, read with it: no statement more', async () => {
    const b = await makeBoard(t, space.id, 'IDEAS');
    const u = await customer();
    const id = await newIdea(u, 'Versioned', { boardId: b });
    const s = io(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, { auth: { token: u.token }, transports: ['websocket'] });
    sockets.push(s);
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: id })).toEqual({ ok: true });
    const live = new Promise<any>((resolve) => s.on('idea:updated', (p: any) => p.voteCount === 2 && resolve(p)));
    expectOk(await t.gql(VOTE, { id }, { token: (await customer()).token }));
    const pushed = await live;
    const q = (fields: string) => `query($id: ID!) { board(id: $id) { ideas(first: 5) { edges { node { id idea { status ${fields} } } } } } }`;
    let page: any;
    const withVersion = await t.countStatements(async () => (page = expectOk(await t.gql(q('version'), { id: b }, { token: u.token }))));
    const without = await t.countStatements(() => t.gql(q(''), { id: b }, { token: u.token }));
    expect(withVersion.count).toBe(without.count);
    expect(page.board.ideas.edges[0].node.idea.version).toBe(pushed.version);
  });

  it('publishes a roadmap of planned, in-progress and recently completed ideas', async () => {
    const rSpace = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    const rBoard = await makeBoard(t, rSpace.id, 'IDEAS');
    const u = await customer();
    const p = await newIdea(u, 'Planned one', { boardId: rBoard });
    const w = await newIdea(u, 'Being built', { boardId: rBoard });
    const d = await newIdea(u, 'Done', { boardId: rBoard });
    const oldDone = await newIdea(u, 'Done long ago', { boardId: rBoard });
    await newIdea(u, 'Just new', { boardId: rBoard });
    for (const [id, status] of [[p, 'PLANNED'], [w, 'IN_PROGRESS'], [d, 'COMPLETED'], [oldDone, 'COMPLETED']]) {
      expectOk(await t.gql(SET_STATUS, { input: { topicId: id, status } }, { token: moderator.token }));
    }
    await t.sql(`UPDATE ideas SET status_changed_at = now() - interval '200 days' WHERE topic_id = $1`, [oldDone]);
    const r = expectOk(await t.gql(`query($id: ID!) { roadmap(spaceId: $id) { planned { id } inProgress { id } completed { id } } }`, { id: rSpace.id })).roadmap;
    expect(r).toEqual({ planned: [{ id: p }], inProgress: [{ id: w }], completed: [{ id: d }] });
  });

  it('exports ideas as CSV for moderators', async () => {
    const cBoard = await makeBoard(t, space.id, 'IDEAS');
    const id = await newIdea(await customer(), 'Comma, "quoted" idea', { boardId: cBoard });
    expectOk(await t.gql(VOTE, { id }, { token: (await makeUser(t, { groups: [employees] })).token }));
    const q = `query($id: ID!) { ideasCsv(boardId: $id) }`;
    expectError(await t.gql(q, { id: cBoard }, { token: (await customer()).token }), 'FORBIDDEN');
    const csv: string = expectOk(await t.gql(q, { id: cBoard }, { token: moderator.token })).ideasCsv;
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('id,title,status,votes,votes_by_segment,created_at,status_changed_at');
    expect(lines[1]).toMatch(new RegExp(`^${id},"Comma, ""quoted"" idea",New,2,customers=1; employees=1,\\d{4}-`));
  });

  it('suggests similar ideas while one is being written', async () => {
    const sBoard = await makeBoard(t, space.id, 'IDEAS');
    const existing = await newIdea(await customer(), 'Calendar integration with Outlook', { boardId: sBoard });
    await drain();
    const res = expectOk(await t.gql(`query($t: String!, $s: ID) { similarTopics(title: $t, spaceId: $s) { id kind } }`, { t: 'outlook calendar sync', s: space.id }));
    expect(res.similarTopics).toContainEqual({ id: existing, kind: 'IDEA' });
    // A title in Chinese: its letters count as words do.
    const chinese = await newIdea(await customer(), '日历与邮件同步', { boardId: sBoard });
    await drain();
    const zh = expectOk(await t.gql(`query($t: String!, $s: ID) { similarTopics(title: $t, spaceId: $s) { id } }`, { t: '邮件日历同步功能', s: space.id }));
    expect(zh.similarTopics).toContainEqual({ id: chinese });
  });

  it('counts the viewer’s votes left on every idea board of a space in a fixed number of statements', async () => {
    const s2 = await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }]);
    const u = await customer();
    const q = `query($slug: String!) { space(slug: $slug) { boards { id ideaSettings { viewerVotesLeft } } } }`;
    const addBoard = async () => {
      const b = await makeBoard(t, s2.id, 'IDEAS');
      expectOk(await t.gql(`mutation($input: UpdateIdeaBoardInput!) { updateIdeaBoard(input: $input) { id } }`, { input: { boardId: b, voteBudget: 3 } }, { token: admin.token }));
      return b;
    };
    const first = await addBoard();
    expectOk(await t.gql(VOTE, { id: await newIdea(await customer(), 'Counted', { boardId: first }) }, { token: u.token }));
    const one = await t.countStatements(() => t.gql(q, { slug: s2.slug }, { token: u.token }));
    for (let i = 0; i < 3; i++) await addBoard();
    const res = await t.gql(q, { slug: s2.slug }, { token: u.token });
    expect(expectOk(res).space.boards.map((b: any) => b.ideaSettings.viewerVotesLeft)).toEqual([2, 3, 3, 3]);
    const four = await t.countStatements(() => t.gql(q, { slug: s2.slug }, { token: u.token }));
    expect(four.count).toBe(one.count);
  });
  describe('vote budgets and merges', () => {
    const SETTINGS = `mutation($input: UpdateIdeaBoardInput!) { updateIdeaBoard(input: $input) { id } }`;
    const budgetBoard = async (budget: number) => {
      const b = await makeBoard(t, space.id, 'IDEAS');
      expectOk(await t.gql(SETTINGS, { input: { boardId: b, voteBudget: budget } }, { token: admin.token }));
      return b;
    };
    const votesLeft = async (boardId: string, u: TestUser) =>
      expectOk(await t.gql(`query($id: ID!) { board(id: $id) { ideaSettings { viewerVotesLeft } } }`, { id: boardId }, { token: u.token })).board.ideaSettings.viewerVotesLeft;

    /** Holds the first call of `object[method]` alone at a gate (later calls go through). */
    const gateFirst = (object: object, method: string) => {
      let first = true;
      return gateCalls(object, method, () => first && !(first = false));
    };
    const ideaSettings = async (b: string) =>
      expectOk(await t.gql(`query($id: ID!) { board(id: $id) { ideaSettings { voteBudget statusLabels { status label } } } }`, { id: b })).board.ideaSettings;
    const boardVotes = async (b: string, u: TestUser) =>
      (await t.sql(`SELECT count(*)::int AS n FROM idea_votes v JOIN topics t ON t.id = v.topic_id WHERE t.board_id = $1 AND v.user_id = $2`, [b, u.id]))[0].n;

    it('keeps both of two settings changes made at once: neither loses the labels or budget the other set', async () => {
      const b = await makeBoard(t, space.id, 'IDEAS');
      // The first change has read the board and waits to write; the second is written meanwhile.
      const gate = gateFirst(t.get(UnitOfWork), 'run');
      try {
        const first = t.gql(SETTINGS, { input: { boardId: b, statusLabels: [{ status: 'PLANNED', label: 'Soon' }] } }, { token: admin.token });
        await gate.begun;
        expectOk(await t.gql(SETTINGS, { input: { boardId: b, voteBudget: 4, statusLabels: [{ status: 'COMPLETED', label: 'Shipped' }] } }, { token: admin.token }));
        gate.open();
        expectOk(await first);
      } finally {
        gate.restore();
      }
      const s = await ideaSettings(b);
      expect(s.voteBudget).toBe(4);
      expect(s.statusLabels).toEqual(expect.arrayContaining([{ status: 'PLANNED', label: 'Soon' }, { status: 'COMPLETED', label: 'Shipped' }]));
    });

    it('changes no board for an admin whose grant was revoked after the change was checked (FORBIDDEN, nothing written)', async () => {
      const other = await makeUser(t);
      const s = await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }, { userId: other.id, level: 'ADMIN' }]);
      const b = await makeBoard(t, s.id, 'IDEAS');
      // The change held once checked (other an admin of the space then), before its transaction.
      const gate = gateFirst(t.get(UnitOfWork), 'run');
      let changed;
      try {
        const changing = t.gql(SETTINGS, { input: { boardId: b, voteBudget: 2, statusLabels: [{ status: 'PLANNED', label: 'Soon' }] } }, { token: other.token });
        await gate.begun;
        expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: s.id, userId: other.id } }, { token: admin.token }));
        gate.open();
        changed = await changing;
      } finally {
        gate.restore();
      }
      expect(expectError(changed, 'FORBIDDEN').message).toBe('You need ADMIN access in this space');
      expect(await t.sql(`SELECT settings FROM boards WHERE id = $1`, [b])).toEqual([{ settings: {} }]);
    });

    it('logs and announces a status change in the space its idea moved to while the change waited, not the one it was read in', async () => {
      const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
      const LOG = `query($s: ID!) { moderationLog(spaceId: $s, first: 50) { totalCount edges { node { action targetId after } } } }`;
      const globalAdmin = await makeUser(t, { role: 'ADMIN' });
      const publicMod = await makeUser(t);
      const from = await makeSpace(t, 'PUBLIC', [{ userId: publicMod.id, level: 'MODERATE' }]);
      const to = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
      const toBoard = await makeBoard(t, to.id, 'IDEAS');
      const id = await newIdea(await customer(), 'Moving while planned', { boardId: await makeBoard(t, from.id, 'IDEAS') });
      // The change is checked in the public space and held before its transaction; the idea moves
      // meanwhile to a space the public space's moderator may not read.
      const gate = gateFirst(t.get(UnitOfWork), 'run');
      try {
        const changing = t.gql(SET_STATUS, { input: { topicId: id, status: 'PLANNED', response: 'Internal plans for this' } }, { token: globalAdmin.token });
        await gate.begun;
        expectOk(await t.gql(MOVE, { input: { topicId: id, boardId: toBoard } }, { token: globalAdmin.token }));
        gate.open();
        expectOk(await changing);
      } finally {
        gate.restore();
      }
      const [logged] = await t.sql(`SELECT space_id FROM moderation_log WHERE action = 'idea.status' AND target_id = $1`, [id]);
      expect(logged.space_id).toBe(to.id);
      const [event] = await t.sql(`SELECT payload FROM outbox WHERE type = 'idea.status_changed' AND aggregate_id = $1`, [id]);
      expect(event.payload).toMatchObject({ spaceId: to.id, boardId: toBoard });
      // The public space's log holds the move away (told without where to), and nothing of the change or its response.
      const log = expectOk(await t.gql(LOG, { s: from.id }, { token: publicMod.token })).moderationLog;
      expect(log.edges.filter((e: any) => e.node.targetId === id).map((e: any) => e.node.action)).toEqual(['topic.move']);
      expect(JSON.stringify(log)).not.toContain('Internal plans');
    });

    it('logs and announces a merge in the space both ideas moved to while it waited', async () => {
      const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
      const globalAdmin = await makeUser(t, { role: 'ADMIN' });
      const from = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
      const to = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
      const toBoard = await makeBoard(t, to.id, 'IDEAS');
      const [source, target] = [await newIdea(await customer(), 'Moving duplicate', { boardId: from }), await newIdea(await customer(), 'Moving original', { boardId: from })];
      const gate = gateFirst(t.get(UnitOfWork), 'run');
      try {
        const merging = t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: globalAdmin.token });
        await gate.begun;
        for (const id of [source, target]) expectOk(await t.gql(MOVE, { input: { topicId: id, boardId: toBoard } }, { token: globalAdmin.token }));
        gate.open();
        expectOk(await merging);
      } finally {
        gate.restore();
      }
      expect(await t.sql(`SELECT space_id FROM moderation_log WHERE action = 'idea.merge' AND target_id = $1`, [source])).toEqual([{ space_id: to.id }]);
      const [event] = await t.sql(`SELECT payload FROM outbox WHERE type = 'idea.merged' AND aggregate_id = $1`, [source]);
      expect(event.payload).toMatchObject({ spaceId: to.id, boardId: toBoard, targetBoardId: toBoard });
    });

    it('judges a vote on the budget set while it waited, not on the board as it read it first', async () => {
      const b = await makeBoard(t, space.id, 'IDEAS');
      const [x, y] = [await newIdea(await customer(), 'Budget race one', { boardId: b }), await newIdea(await customer(), 'Budget race two', { boardId: b })];
      const voter = await customer();
      // The vote on x holds its idea, having read the board with no budget; a budget of 1 is set
      // and the voter's vote on y spends it before the vote on x goes on.
      const gate = gateFirst(t.get(SessionsService), 'viewerNow');
      try {
        const onX = t.gql(VOTE, { id: x }, { token: voter.token });
        await gate.begun;
        expectOk(await t.gql(SETTINGS, { input: { boardId: b, voteBudget: 1 } }, { token: admin.token }));
        expectOk(await t.gql(VOTE, { id: y }, { token: voter.token }));
        gate.open();
        expect(expectError(await onX, 'BAD_USER_INPUT').extensions.fields![0].message).toMatch(/used all 1 votes/);
      } finally {
        gate.restore();
      }
      expect(await boardVotes(b, voter)).toBe(1);
    });

    it('gives a new idea its author’s vote only within the budget set while it was written', async () => {
      const b = await makeBoard(t, space.id, 'IDEAS');
      const other = await newIdea(await customer(), 'Budget race voted', { boardId: b });
      const author = await customer();
      // The new idea is written, its board read with no budget; a budget of 1 is set and the
      // author's vote elsewhere spends it before the idea's own vote is given.
      const gate = gateFirst(t.get(IdeasService), 'created');
      try {
        const proposed = newIdea(author, 'Budget race proposed', { boardId: b });
        await gate.begun;
        expectOk(await t.gql(SETTINGS, { input: { boardId: b, voteBudget: 1 } }, { token: admin.token }));
        expectOk(await t.gql(VOTE, { id: other }, { token: author.token }));
        gate.open();
        expect((await idea(await proposed, author)).voteCount).toBe(0);
      } finally {
        gate.restore();
      }
      expect(await boardVotes(b, author)).toBe(1);
    });

    it('counts a vote on a merged idea against the budget while the idea it ends in is open and visible', async () => {
      const b = await budgetBoard(1);
      const author = await customer();
      const source = await newIdea(author, 'Budget source', { boardId: b });
      const target = await newIdea(await customer(), 'Budget target', { boardId: b });
      const other = await newIdea(await customer(), 'Budget other', { boardId: b });
      const voter = await customer();
      expectOk(await t.gql(VOTE, { id: source }, { token: voter.token }));
      expect(await votesLeft(b, voter)).toBe(0);
      expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
      // The vote now backs the target (it shows, and counts it), so it is still spent.
      expect((await idea(target, voter)).viewerHasVoted).toBe(true);
      expect(await votesLeft(b, voter)).toBe(0);
      const refused = expectError(await t.gql(VOTE, { id: other }, { token: voter.token }), 'BAD_USER_INPUT');
      expect(refused.extensions.fields![0].message).toMatch(/used all 1 votes/);
      // Voting the target itself costs nothing more: it is the same support.
      expect(expectOk(await t.gql(VOTE, { id: target }, { token: voter.token })).voteIdea.idea).toEqual({ voteCount: 3, viewerHasVoted: true });
      // Nor does a new idea by the source's author, whose own vote came along too: proposed without a vote.
      const proposed = await newIdea(author, 'Budget proposed', { boardId: b });
      expect((await idea(proposed, author)).voteCount).toBe(0);
      // The vote returns when the idea the chain ends in closes, or is hidden, or is withdrawn.
      expectOk(await t.gql(SET_STATUS, { input: { topicId: target, status: 'COMPLETED' } }, { token: moderator.token }));
      expect(await votesLeft(b, voter)).toBe(1);
      expectOk(await t.gql(SET_STATUS, { input: { topicId: target, status: 'PLANNED' } }, { token: moderator.token }));
      expect(await votesLeft(b, voter)).toBe(0);
      await t.sql(`UPDATE topics SET state = 'HIDDEN' WHERE id = $1`, [target]);
      expect(await votesLeft(b, voter)).toBe(1);
      await t.sql(`UPDATE topics SET state = 'VISIBLE' WHERE id = $1`, [target]);
      expect(await votesLeft(b, voter)).toBe(0);
      expectOk(await t.gql(UNVOTE, { id: target }, { token: voter.token }));
      expect(await votesLeft(b, voter)).toBe(1);
      expectOk(await t.gql(VOTE, { id: other }, { token: voter.token }));
    });

    it('follows a chain of merges to its end, across the boards of a space, counting each idea backed once', async () => {
      const x = await budgetBoard(2);
      const y = await budgetBoard(1);
      const first = await newIdea(await customer(), 'Chained first', { boardId: x });
      const middle = await newIdea(await customer(), 'Chained middle', { boardId: x });
      const last = await newIdea(await customer(), 'Chained last', { boardId: y });
      const elsewhere = await newIdea(await customer(), 'Chained elsewhere', { boardId: y });
      const voter = await customer();
      expectOk(await t.gql(VOTE, { id: first }, { token: voter.token }));
      expectOk(await t.gql(VOTE, { id: middle }, { token: voter.token }));
      expect([await votesLeft(x, voter), await votesLeft(y, voter)]).toEqual([0, 1]);
      // first -> middle: the voter backs one idea (middle), once.
      expectOk(await t.gql(MERGE, { input: { sourceId: first, targetId: middle } }, { token: moderator.token }));
      expect([await votesLeft(x, voter), await votesLeft(y, voter)]).toEqual([1, 1]);
      // middle -> last, in board y: both votes now back last, and y's budget holds them.
      expectOk(await t.gql(MERGE, { input: { sourceId: middle, targetId: last } }, { token: moderator.token }));
      expect((await idea(last, voter)).viewerHasVoted).toBe(true);
      expect([await votesLeft(x, voter), await votesLeft(y, voter)]).toEqual([2, 0]);
      expect(expectError(await t.gql(VOTE, { id: elsewhere }, { token: voter.token }), 'BAD_USER_INPUT').extensions.fields![0].message).toMatch(/used all 1 votes/);
    });
  });

  it('takes no votes nor withdrawals from members on a locked idea; a closed one still takes them', async () => {
    const STATUS = `mutation($i: TopicStatusInput!) { setTopicStatus(input: $i) { id } }`;
    const id = await newIdea(await customer(), 'Locked idea');
    const voter = await customer();
    const late = await customer();
    expectOk(await t.gql(VOTE, { id }, { token: voter.token }));
    expectOk(await t.gql(STATUS, { i: { topicId: id, locked: true } }, { token: moderator.token }));
    const votes = async () => t.sql(`SELECT user_id FROM idea_votes WHERE topic_id = $1 ORDER BY user_id`, [id]);
    const before = await votes();
    const vote = expectError(await t.gql(VOTE, { id }, { token: late.token }), 'FORBIDDEN');
    expect(vote.message).toBe('This topic is locked: it takes no edits');
    expect(expectError(await t.gql(UNVOTE, { id }, { token: voter.token }), 'FORBIDDEN').message).toBe('This topic is locked: it takes no edits');
    expect(await votes()).toEqual(before);
    expect((await idea(id, voter)).voteCount).toBe(2);
    // Moderators pass, as they do for replies and edits.
    expect(expectOk(await t.gql(VOTE, { id }, { token: moderator.token })).voteIdea.idea.voteCount).toBe(3);
    // Closed (not locked): no new replies, but votes and withdrawals as before.
    expectOk(await t.gql(STATUS, { i: { topicId: id, locked: false, closed: true } }, { token: moderator.token }));
    expect(expectOk(await t.gql(VOTE, { id }, { token: late.token })).voteIdea.idea.voteCount).toBe(4);
    expect(expectOk(await t.gql(UNVOTE, { id }, { token: voter.token })).unvoteIdea.idea.voteCount).toBe(3);
  });

  it('suggests similar ideas of one board, leaving merged ideas out', async () => {
    const SIMILAR = `query($t: String!, $s: ID, $b: ID, $first: Int) { similarTopics(title: $t, spaceId: $s, boardId: $b, first: $first) { id } }`;
    const similar = async (vars: Record<string, unknown>, u?: TestUser) =>
      expectOk(await t.gql(SIMILAR, { t: 'outlook calendar sync', ...vars }, { token: u?.token })).similarTopics.map((x: any) => x.id);
    const ideasBoard = await makeBoard(t, space.id, 'IDEAS');
    const author = await customer();
    // The merged duplicate matches the title best; the idea it went into matches less well.
    const merged = await newIdea(author, 'Outlook calendar sync', { boardId: ideasBoard });
    const kept = await newIdea(author, 'Calendar integration for Outlook', { boardId: ideasBoard });
    const otherBoard = await newIdea(author, 'Outlook calendar sync please', { boardId: await makeBoard(t, space.id, 'IDEAS') });
    const forum = (await createTopic(t, author.token, await makeBoard(t, space.id), { title: 'Outlook calendar sync broken', body: 'It stopped syncing' })).id;
    expectOk(await t.gql(MERGE, { input: { sourceId: merged, targetId: kept } }, { token: moderator.token }));
    await drain();
    expect(await similar({ b: ideasBoard })).toEqual([kept]);
    expect(await similar({ b: ideasBoard, s: space.id, first: 1 })).toEqual([kept]); // found past the merged one
    // Without a board, as before: every topic of the space, merged ideas included.
    expect(await similar({ s: space.id, first: 10 })).toEqual(expect.arrayContaining([merged, kept, otherBoard, forum]));
    // A board of another space than the one asked for suggests nothing.
    const elsewhere = await makeSpace(t, 'PUBLIC');
    expect(await similar({ b: ideasBoard, s: elsewhere.id })).toEqual([]);
    // A board the viewer may not read is not found, as elsewhere; a malformed id is bad input.
    const internal = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }])).id, 'IDEAS');
    expectError(await t.gql(SIMILAR, { t: 'outlook', b: internal }, { token: author.token }), 'NOT_FOUND');
    expectError(await t.gql(SIMILAR, { t: 'outlook', b: '01a23000-0000-7000-8000-000000000000' }, { token: author.token }), 'NOT_FOUND');
    expect(expectError(await t.gql(SIMILAR, { t: 'outlook', b: 'nope' }, { token: author.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'boardId', message: 'must be a board id' }]);
    expectOk(await t.gql(SIMILAR, { t: 'outlook', b: internal }, { token: moderator.token }));
  });
});

describe('idea votes under the posting limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ POSTING_LIMITS: 'true' });
  });
  afterAll(() => t.close());

  it('a refused vote or withdrawal spends nothing of the voter’s pace', async () => {
    const moderator = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }])).id, 'IDEAS');
    const done = (await createTopic(t, moderator.token, board, { title: 'Shipped already', body: 'It is done' })).id;
    expectOk(await t.gql(SET_STATUS, { input: { topicId: done, status: 'COMPLETED' } }, { token: moderator.token }));
    const voter = await makeUser(t);
    const pace = () => t.sql(`SELECT tat FROM rate_tokens WHERE bucket = 'pace:vote' AND key = $1`, [voter.id]);
    for (const q of [VOTE, UNVOTE]) expectError(await t.gql(q, { id: done }, { token: voter.token }), 'BAD_USER_INPUT');
    expect(await pace()).toEqual([]);
    // A vote that counts spends it.
    const open = (await createTopic(t, moderator.token, board, { title: 'Still open', body: 'Vote for it' })).id;
    expectOk(await t.gql(VOTE, { id: open }, { token: voter.token }));
    expect(await pace()).toHaveLength(1);
  });
});
