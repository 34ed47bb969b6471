import { LEVEL_RANK } from '../../libs/access/src/access-level';
import { AccessService } from '../../libs/access/src/access.service';
import { OutboxEvent, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { ReviewItems } from '../../libs/moderation/src/reports/review-items';
import { POST_MOVED } from '../../libs/forum/src/posts/posts.service';
import { FEEDBACK_PER_HOUR } from '../../libs/knowledge/src/articles/articles.service';
import { VerificationReminders } from '../../libs/knowledge/src/verification';
import { KnowledgeBoard } from '../../libs/knowledge/src/knowledge-board';
import { KnowledgeTreeKeeper } from '../../libs/knowledge/src/knowledge-tree-keeper';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { draftArticle, kb, publishedArticle, topicOf } from '../factories/knowledge';
import { HeldLock, withLockHeld } from '../support/row-locks';
import { countDeadlocks } from '../support/deadlocks';
import { gateCalls } from '../support/gates';
import { ArticleWrites } from '../../libs/knowledge/src/articles/article-writes';
import { behindAGate, doneOrWaiting, gateHolder } from '../support/lock-waits';
import { bootTestApp, expectError, expectNotFound, expectOk, GqlResult, TestApp } from '../support/test-app';

const TREE = `query($b: ID!, $all: Boolean) { board(id: $b) { articleTree(includeArchived: $all) { depth parentId topic { id } } } }`;
const NOTIFICATIONS = `{ notifications(first: 50) { edges { node { kind data actor { handle } topic { id } } } } }`;
const QUEUE = `query($s: ID) { reviewQueue(spaceId: $s) { edges { node { id kind status score topic { id } history { action note } } } } }`;
const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
const STALE = `query($s: ID!, $after: String) { staleArticles(spaceId: $s, first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`;

describe('knowledge base: tree, helpfulness, verification, capture', () => {
  let t: TestApp;
  let api: ReturnType<typeof kb>;
  let spaceId: string;
  let board: string;
  let author: TestUser;
  let editor: TestUser;
  let reader: TestUser;
  let admin: TestUser;

  const drain = () => t.get(OutboxWorker).drain();
  const tree = async (u: TestUser, b = board, all = false) =>
    expectOk(await t.gql(TREE, { b, all }, { token: u.token })).board.articleTree.map((n: any) => [n.depth, n.topic.id]);
  const notifications = async (u: TestUser, topicId: string) =>
    expectOk(await t.gql(NOTIFICATIONS, {}, { token: u.token })).notifications.edges.map((e: any) => e.node).filter((n: any) => n.topic?.id === topicId);
  const articleRows = async () => (await t.sql(`SELECT topic_id, parent_id, position, version FROM articles ORDER BY topic_id`));
  /**
   * Runs `call` (which reads the article in its space, then waits) while a move of the article to
   * `to` holds its topic's row, as moveTopic locks it FOR UPDATE (then the article's row), and
   * answers once the move commits.
   */
  const racingAMove = (article: string, to: { board: string; space: string }, call: () => Promise<GqlResult>) =>
    withLockHeld(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [article], async (h) => {
      await h.query(`UPDATE topics SET board_id = $2, space_id = $3, version = version + 1 WHERE id = $1`, [article, to.board, to.space]);
      await h.query(`UPDATE posts SET space_id = $2 WHERE topic_id = $1`, [article, to.space]);
      await h.query(`UPDATE articles SET board_id = $2, parent_id = NULL, version = version + 1 WHERE topic_id = $1`, [article, to.board]);
      const answer = call();
      await h.waiting(1);
      await h.release();
      return answer;
    });

  /**
   * Runs `call` on `article` while a transaction holds `space`'s row as setKnowledgeSettings'
   * UPDATE does and changes its settings (`knowledge`) under it; `call`, whose checks read the old
   * ones, waits, and answers once the change commits. Meanwhile the article's row is free (the
   * settings' next lock, for its due date): no deadlock.
   */
  const racingSettings = (space: string, knowledge: Record<string, unknown>, article: string, call: () => Promise<GqlResult>) =>
    withLockHeld(t, `SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE`, [space], async (h) => {
      await h.query(`UPDATE spaces SET knowledge = knowledge || $2::jsonb WHERE id = $1`, [space, JSON.stringify(knowledge)]);
      const answer = call();
      await h.waiting(1);
      const [{ free }] = await h.query(`SELECT count(*)::int = 1 AS free FROM (SELECT 1 FROM articles WHERE topic_id = $1 FOR UPDATE SKIP LOCKED) a`, [article]);
      expect(free).toBe(true);
      await h.release();
      return answer;
    });

  beforeAll(async () => {
    t = await bootTestApp();
    api = kb(t);
    author = await makeUser(t);
    editor = await makeUser(t);
    reader = await makeUser(t);
    admin = await makeUser(t, { role: 'ADMIN' });
    spaceId = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
    board = await makeBoard(t, spaceId, 'KNOWLEDGE');
  });
  afterAll(() => t.close());

  describe('the tree', () => {
    let a: string;
    let b: string;
    let a1: string;
    let a2: string;
    let a1x: string;

    beforeAll(async () => {
      a = await publishedArticle(t, author.token, editor.token, board, { title: 'Alpha' });
      b = await publishedArticle(t, author.token, editor.token, board, { title: 'Bravo' });
      a1 = await publishedArticle(t, author.token, editor.token, board, { title: 'Alpha one', parentId: a });
      a2 = await publishedArticle(t, author.token, editor.token, board, { title: 'Alpha two', parentId: a });
      a1x = await publishedArticle(t, author.token, editor.token, board, { title: 'Alpha one x', parentId: a1 });
    });

    it('places new articles last under their parent, depth first', async () => {
      expect(await tree(reader)).toEqual([[0, a], [1, a1], [2, a1x], [1, a2], [0, b]]);
    });

    it('refuses a parent that is not an article of the same board (nothing written)', async () => {
      const forumTopic = await createTopic(t, author.token, await makeBoard(t, spaceId));
      const elsewhere = await publishedArticle(t, author.token, editor.token, await makeBoard(t, spaceId, 'KNOWLEDGE'));
      const before = await t.sql(`SELECT count(*)::int AS n FROM topics`);
      for (const parentId of [forumTopic.id, elsewhere, '00000000-0000-7000-8000-000000000000']) {
        expect(expectError(await api.create(author.token, board, { parentId }), 'BAD_USER_INPUT').extensions.fields).toEqual([
          { field: 'parentId', message: 'must be an article of this board' },
        ]);
      }
      expect(await t.sql(`SELECT count(*)::int AS n FROM topics`)).toEqual(before);
    });

    it('reorders and re-parents', async () => {
      expect(topicOf(await api.move(editor.token, { topicId: a2, parentId: a, position: 0 })).article.position).toBe(0);
      expect(await tree(reader)).toEqual([[0, a], [1, a2], [1, a1], [2, a1x], [0, b]]);
      topicOf(await api.move(editor.token, { topicId: a1, parentId: b }));
      expect(await tree(reader)).toEqual([[0, a], [1, a2], [0, b], [1, a1], [2, a1x]]);
      topicOf(await api.move(editor.token, { topicId: b, position: 0 }));
      expect(await tree(reader)).toEqual([[0, b], [1, a1], [2, a1x], [0, a], [1, a2]]);
      const crumbs = `query($id: ID!) { topic(id: $id) { article { breadcrumbs { id } parent { id } } } }`;
      expect(expectOk(await t.gql(crumbs, { id: a1x }, { token: reader.token })).topic.article).toEqual({ breadcrumbs: [{ id: b }, { id: a1 }], parent: { id: a1 } });
    });

    describe('read again in the same request after a write re-placed articles', () => {
      const PLACES = `board { articleTree { topic { id article { position } } } }`;
      const places = (data: any, field: string) => data[field].board.articleTree.map((n: any) => [n.topic.id, n.topic.article.position]);

      it('moveArticle: its former and new siblings’ positions, not only its own', async () => {
        const own = await makeBoard(t, spaceId, 'KNOWLEDGE');
        const [x, y, z] = [await publishedArticle(t, author.token, editor.token, own, { title: 'Sibling x' }), await publishedArticle(t, author.token, editor.token, own, { title: 'Sibling y' }), await publishedArticle(t, author.token, editor.token, own, { title: 'Sibling z' })];
        // One request: the first field reads the board's tree (every article's row with it), the second moves z first.
        const data = expectOk(await t.gql(
          `mutation($x: ID!, $z: ID!) { read: markRead(input: { topicId: $x, postNumber: 1 }) { ${PLACES} } moved: moveArticle(input: { topicId: $z, position: 0 }) { ${PLACES} } }`,
          { x, z }, { token: editor.token },
        ));
        expect(places(data, 'read')).toEqual([[x, 0], [y, 1], [z, 2]]);
        const stored = await t.sql(`SELECT topic_id, position FROM articles WHERE board_id = $1 ORDER BY position`, [own]);
        expect(stored.map((r: any) => [r.topic_id, r.position])).toEqual([[z, 0], [x, 1], [y, 2]]);
        expect(places(data, 'moved')).toEqual([[z, 0], [x, 1], [y, 2]]);
      });

      it('createTopic of an article: the board’s tree the request read before has it', async () => {
        const own = await makeBoard(t, spaceId, 'KNOWLEDGE');
        const x = await publishedArticle(t, author.token, editor.token, own, { title: 'Already there' });
        const data = expectOk(await t.gql(
          `mutation($x: ID!, $b: ID!) { read: markRead(input: { topicId: $x, postNumber: 1 }) { ${PLACES} }
             created: createTopic(input: { boardId: $b, title: "Written after the tree was read", body: "Its body" }) { id ${PLACES} } }`,
          { x, b: own }, { token: editor.token },
        ));
        expect(places(data, 'read')).toEqual([[x, 0]]);
        expect(places(data, 'created')).toEqual([[x, 0], [data.created.id, 1]]);
      });

      it('moderatePost DELETE, then RESTORE, of an article’s first post: the board’s tree the request read before', async () => {
        const own = await makeBoard(t, spaceId, 'KNOWLEDGE');
        const [x, y] = [await publishedArticle(t, author.token, editor.token, own, { title: 'Stays in the tree' }), await publishedArticle(t, author.token, editor.token, own, { title: 'Deleted from the tree' })];
        const [{ id: first }] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [y]);
        // Read through watchBoard, which drops no topic of the request's: only the step's own forget reads the tree again.
        const READ = (name: string) => `${name}: watchBoard(input: { boardId: $b, level: NORMAL }) { articleTree { topic { id } } }`;
        const ids = (data: any, field: string) => data[field].articleTree.map((n: any) => n.topic.id);
        const data = expectOk(await t.gql(
          `mutation($b: ID!, $p: ID!) { ${READ('read')} deleted: moderatePost(input: { postId: $p, action: DELETE }) { id } ${READ('afterDelete')}
             restored: moderatePost(input: { postId: $p, action: RESTORE }) { id } ${READ('afterRestore')} }`,
          { b: own, p: first }, { token: editor.token },
        ));
        expect(ids(data, 'read')).toEqual([x, y]);
        expect(ids(data, 'afterDelete')).toEqual([x]);
        expect(ids(data, 'afterRestore')).toEqual([x, y]);
      });

      it('resolveReviewItem APPROVE (DELETE) of a report on an article’s first post: the board’s tree the request read before', async () => {
        const own = await makeBoard(t, spaceId, 'KNOWLEDGE');
        const [x, y] = [await publishedArticle(t, author.token, editor.token, own, { title: 'Stays, unreported' }), await publishedArticle(t, author.token, editor.token, own, { title: 'Reported and deleted' })];
        const [{ id: first }] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [y]);
        const reported = expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: first, reason: 'SPAM' } }, { token: reader.token })).report.id;
        const [{ review_item_id: item }] = await t.sql(`SELECT review_item_id FROM reports WHERE id = $1`, [reported]);
        // Read through watchBoard, which drops no topic of the request's: only the decision's own forget reads the tree again.
        const READ = (name: string) => `${name}: watchBoard(input: { boardId: $b, level: NORMAL }) { articleTree { topic { id } } }`;
        const data = expectOk(await t.gql(
          `mutation($b: ID!, $item: ID!) { ${READ('read')} resolved: resolveReviewItem(input: { id: $item, decision: APPROVE, action: DELETE }) { status } ${READ('again')} }`,
          { b: own, item }, { token: editor.token },
        ));
        expect((await t.sql(`SELECT state FROM topics WHERE id = $1`, [y]))[0].state).toBe('DELETED');
        expect(data.read.articleTree.map((n: any) => n.topic.id)).toEqual([x, y]);
        expect(data.again.articleTree.map((n: any) => n.topic.id)).toEqual([x]);
      });

      it('setKnowledgeSettings: the due dates it moved, of the articles the request read before', async () => {
        const ownSpace = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'ADMIN' }])).id;
        const own = await makeBoard(t, ownSpace, 'KNOWLEDGE');
        const x = await publishedArticle(t, author.token, editor.token, own, { title: 'Due with the space' });
        const DUE = `article { verifiedUntil }`;
        const data = expectOk(await t.gql(
          `mutation($x: ID!, $s: ID!) { read: markRead(input: { topicId: $x, postNumber: 1 }) { ${DUE} }
             set: setKnowledgeSettings(input: { spaceId: $s, verificationIntervalDays: 7 }) { id }
             again: markRead(input: { topicId: $x, postNumber: 1 }) { ${DUE} } }`,
          { x, s: ownSpace }, { token: editor.token },
        ));
        const [{ verified_until }] = await t.sql(`SELECT verified_until FROM articles WHERE topic_id = $1`, [x]);
        expect(new Date(data.read.article.verifiedUntil).getTime()).not.toBe(verified_until.getTime());
        expect(new Date(data.again.article.verifiedUntil).getTime()).toBe(verified_until.getTime());
      });
    });

    it('refuses cycles and foreign parents, with field errors and nothing written', async () => {
      const before = await articleRows();
      expect(expectError(await api.move(editor.token, { topicId: b, parentId: a1x }), 'BAD_USER_INPUT').extensions.fields).toEqual([
        { field: 'parentId', message: 'is inside this article: moving the article there would make a cycle' },
      ]);
      expect(expectError(await api.move(editor.token, { topicId: b, parentId: b }), 'BAD_USER_INPUT').extensions.fields![0].message).toBe('cannot be the article itself');
      const other = await publishedArticle(t, author.token, editor.token, await makeBoard(t, spaceId, 'KNOWLEDGE'));
      expect(expectError(await api.move(editor.token, { topicId: a, parentId: other }), 'BAD_USER_INPUT').extensions.fields![0].message).toBe('must be an article of the same board');
      expectError(await api.move(editor.token, { topicId: a, position: -1 }), 'BAD_USER_INPUT');
      // Authors do not reorganise published articles; readers not at all.
      expectError(await api.move(author.token, { topicId: a }), 'FORBIDDEN');
      expectError(await api.move(reader.token, { topicId: a }), 'FORBIDDEN');
      expect((await articleRows()).filter((r: any) => r.topic_id !== other)).toEqual(before);
    });

    it('lets an author place their own draft, and leaves archived articles out of the tree', async () => {
      const draft = await draftArticle(t, author.token, board, { title: 'Draft' });
      topicOf(await api.move(author.token, { topicId: draft, parentId: a }));
      expect(await tree(author)).toContainEqual([1, draft]);
      expect(await tree(reader)).not.toContainEqual([1, draft]);
      topicOf(await api.archive(editor.token, a2));
      expect(await tree(reader)).toEqual([[0, b], [1, a1], [2, a1x], [0, a]]);
      expect(await tree(editor, board, true)).toContainEqual([1, a2]);
      expectError(await api.create(author.token, board, { parentId: a2 }), 'BAD_USER_INPUT');
      expect(expectError(await api.move(editor.token, { topicId: a1, parentId: a2 }), 'BAD_USER_INPUT').extensions.fields![0].message).toBe('is archived');
    });

    it('names the parent an article was moved under in its history only to those who see that parent', async () => {
      const own = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const mine = await publishedArticle(t, author.token, editor.token, own, { title: 'Moved under a draft' });
      const theirs = await draftArticle(t, (await makeUser(t)).token, own, { title: 'Someone else’s draft' });
      topicOf(await api.move(editor.token, { topicId: mine, parentId: theirs, position: 0 }));
      const HISTORY = `query($id: ID!) { topic(id: $id) { article { parent { id } history { action note } } } }`;
      const seen = async (u: TestUser) => expectOk(await t.gql(HISTORY, { id: mine }, { token: u.token })).topic.article;
      const moves = (a: any) => a.history.filter((e: any) => e.action === 'MOVED').map((e: any) => e.note);
      expect(moves(await seen(editor))).toEqual([`under ${theirs}, position 0`]);
      // Its author, on its team, may not see the other member's draft it now sits under.
      const forAuthor = await seen(author);
      expect(forAuthor.parent).toBeNull();
      expect(moves(forAuthor)).toEqual(['position 0']);
      expect(JSON.stringify(forAuthor)).not.toContain(theirs);
    });

    it('follows an article moved to another knowledge board by a moderator (its children stay)', async () => {
      const target = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const res = await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: a1, boardId: target } }, { token: editor.token });
      expectOk(res);
      // In the move's own transaction: no worker needs to run first.
      expect(await tree(reader, target)).toEqual([[0, a1]]);
      expect(await tree(reader)).toEqual([[0, b], [1, a1x], [0, a]]);
      expect(topicOf(await api.get(reader.token, a1)).article.slug).toBe('alpha-one');
    });

    it('places an article left behind by a move from before the in-transaction hook when its event is delivered', async () => {
      const target = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const stray = await publishedArticle(t, author.token, editor.token, board, { title: 'Left behind' });
      // As an older release left it: the topic moved, its article row not yet.
      await t.sql(`UPDATE topics SET board_id = $2 WHERE id = $1`, [stray, target]);
      await t.sql(`INSERT INTO outbox (type, aggregate_type, aggregate_id, payload) VALUES ('topic.moved', 'topic', $1, '{}')`, [stray]);
      await drain();
      expect(await tree(reader, target)).toEqual([[0, stray]]);
      // Delivered again: nothing changes.
      const [{ slug }] = await t.sql(`SELECT slug FROM articles WHERE topic_id = $1`, [stray]);
      await t.sql(`INSERT INTO outbox (type, aggregate_type, aggregate_id, payload) VALUES ('topic.moved', 'topic', $1, '{}')`, [stray]);
      await drain();
      expect(await tree(reader, target)).toEqual([[0, stray]]);
      expect(await t.sql(`SELECT slug FROM articles WHERE topic_id = $1`, [stray])).toEqual([{ slug }]);
    });

    /**
     * Runs `write` on article `id` while the test's transaction takes the locks moveTopic takes, in
     * its order (writeMove: the topic's row; KnowledgeBoard.beforeMove: both boards, then the
     * article's row): once the write waits for the topic's row, whatever it took before that, the
     * move would wait for (a deadlock), so each must be free. The move to `target` then commits.
     */
    const writtenBehindAMove = (id: string, target: string, write: () => Promise<GqlResult>) =>
      withLockHeld(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [id], async (h) => {
        const writing = write();
        await h.waiting(1);
        const free: boolean[] = [];
        for (const b of [board, target].sort()) {
          free.push((await h.query(`SELECT pg_try_advisory_xact_lock(hashtextextended('parvis:knowledge-board:' || $1::text, 0)) AS free`, [b]))[0].free);
        }
        free.push((await h.query(`SELECT count(*)::int = 1 AS free FROM (SELECT 1 FROM articles WHERE topic_id = $1 FOR UPDATE SKIP LOCKED) a`, [id]))[0].free);
        expect(free).toEqual([true, true, true]);
        await h.query(`UPDATE topics SET board_id = $2, version = version + 1 WHERE id = $1`, [id, target]);
        await h.query(`UPDATE articles SET board_id = $2, parent_id = NULL, position = 0, version = version + 1 WHERE topic_id = $1`, [id, target]);
        await h.release();
        return topicOf(await writing);
      });

    it('publishes an article a move holds behind the move, taking its locks in moveTopic’s order (topic, board, article): the move’s next locks are free, no deadlock', async () => {
      const target = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const id = await draftArticle(t, author.token, board, { title: 'Published while moved' });
      const published = await writtenBehindAMove(id, target, () => api.publish(editor.token, id));
      expect(published.article.state).toBe('PUBLISHED');
      // Published in the board it moved to, its slug there (the board locked is the one it is in as held).
      expect(await t.sql(`SELECT board_id, slug FROM article_slugs WHERE topic_id = $1`, [id])).toEqual([{ board_id: target, slug: 'published-while-moved' }]);
    });

    it('saves a draft’s revision behind a move holding its topic without holding the article’s row meanwhile (the draft writes its topic: topic before article, as moveTopic), no deadlock', async () => {
      const target = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const id = await draftArticle(t, author.token, board, { title: 'Edited while moved' });
      const edited = await writtenBehindAMove(id, target, () => api.update(author.token, { topicId: id, title: 'Edited while moved, again' }));
      expect(edited.title).toBe('Edited while moved, again');
      expect(await t.sql(`SELECT board_id FROM articles WHERE topic_id = $1`, [id])).toEqual([{ board_id: target }]);
    });

    /**
     * Runs `write` on article `id` while a moderator's moveTopic to `target` (a request of its own,
     * in its own transaction) holds the topic's row: the move held once beforeMove has taken the
     * article along, until `write`, which read the article in its old board, waits for it. Answers
     * `write`'s answer and the events written for the article since (the move's `topic.moved`
     * among them) with the board each names.
     */
    const writtenBehindARealMove = async (id: string, target: string, write: () => Promise<GqlResult>) => {
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      const gate = gateCalls(t.get(KnowledgeBoard), 'beforeMove', (_tx: unknown, move: { topicId: string }) => move.topicId === id, 'after');
      const written = await behindAGate(
        t,
        gate,
        () => t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: id, boardId: target } }, { token: editor.token }),
        write,
      );
      const events: Array<{ type: string; board: string }> = await t.sql(
        `SELECT type, payload->>'boardId' AS board FROM outbox WHERE id > $1::bigint AND payload->>'topicId' = $2 AND payload ? 'boardId' ORDER BY id`,
        [last, id],
      );
      return { written, events };
    };

    it('reads afresh, after a publication a move into another board held back, that board’s tree as the same request read it before', async () => {
      const target = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const there = await publishedArticle(t, author.token, editor.token, target, { title: 'Already in the board moved to' });
      const id = await draftArticle(t, author.token, board, { title: 'Published behind a move into a board read before' });
      const TREE = `board { id articleTree { topic { id } } }`;
      // One request: the first field reads the target board's tree (without locking anything the
      // move holds), the second publishes the article the move is taking there, and waits for it.
      const { written } = await writtenBehindARealMove(id, target, () =>
        t.gql(
          `mutation($there: ID!, $id: ID!) { read: markRead(input: { topicId: $there, postNumber: 1 }) { ${TREE} } published: publishArticle(topicId: $id) { ${TREE} } }`,
          { there, id },
          { token: editor.token },
        ),
      );
      const data = expectOk(written);
      const ids = (field: string) => data[field].board.articleTree.map((n: { topic: { id: string } }) => n.topic.id);
      expect(ids('read')).toEqual([there]);
      expect(data.published.board.id).toBe(target);
      expect(ids('published')).toEqual([there, id]);
    });

    it('names, in the events of a publication a move held back, the board the article is in once it commits, not the one read before it waited', async () => {
      const target = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const id = await draftArticle(t, author.token, board, { title: 'Published behind a real move' });
      const { written, events } = await writtenBehindARealMove(id, target, () => api.publish(editor.token, id));
      expect(topicOf(written).article.state).toBe('PUBLISHED');
      expect(new Set(events.map((e) => e.type))).toEqual(new Set(['topic.moved', 'topic.updated', 'post.updated', 'article.state_changed']));
      expect(events.filter((e) => e.board !== target)).toEqual([]);
    });

    it('names, in the events of a revision a move held back (an article in review sent back to draft), the board the article is in once it commits', async () => {
      const target = await makeBoard(t, spaceId, 'KNOWLEDGE');
      const id = await draftArticle(t, author.token, board, { title: 'Edited behind a real move' });
      topicOf(await api.submit(author.token, id));
      const { written, events } = await writtenBehindARealMove(id, target, () => api.update(author.token, { topicId: id, body: 'Edited while the move held it' }));
      expect(topicOf(written).article.state).toBe('DRAFT');
      expect(new Set(events.map((e) => e.type))).toEqual(new Set(['topic.moved', 'topic.updated', 'post.updated', 'article.state_changed']));
      expect(events.filter((e) => e.board !== target)).toEqual([]);
    });
  });

  describe('helpfulness', () => {
    let id: string;
    beforeAll(async () => {
      id = await publishedArticle(t, author.token, editor.token, board, { title: 'Helpful?' });
    });

    it('counts one vote per reader; voting again replaces it', async () => {
      const other = await makeUser(t);
      expect(topicOf(await api.rate(reader.token, { topicId: id, helpful: true })).article.helpful).toEqual({ yes: 1, no: 0 });
      expect(topicOf(await api.rate(reader.token, { topicId: id, helpful: true })).article.helpful).toEqual({ yes: 1, no: 0 });
      expect(topicOf(await api.rate(other.token, { topicId: id, helpful: true })).article.helpful).toEqual({ yes: 2, no: 0 });
      expect(topicOf(await api.rate(reader.token, { topicId: id, helpful: false })).article.helpful).toEqual({ yes: 1, no: 1 });
      const mine = `query($id: ID!) { topic(id: $id) { article { viewerRating { helpful comment } } } }`;
      expect(expectOk(await t.gql(mine, { id }, { token: reader.token })).topic.article.viewerRating).toEqual({ helpful: false, comment: null });
    });

    it('refuses the author, drafts and bad input', async () => {
      expectError(await api.rate(author.token, { topicId: id, helpful: true }), 'FORBIDDEN');
      const draft = await draftArticle(t, author.token, board);
      expect(expectError(await api.rate(editor.token, { topicId: draft, helpful: true }), 'BAD_USER_INPUT').message).toMatch(/not published/);
      expectError(await api.rate(reader.token, { topicId: id, helpful: 'yes' }), 'BAD_USER_INPUT');
      expectError(await api.rate(reader.token, { topicId: id, helpful: false, comment: 'x'.repeat(2001) }), 'BAD_USER_INPUT');
      expectError(await api.rate(undefined as any, { topicId: id, helpful: true }), 'UNAUTHENTICATED');
    });

    it('limits “not helpful” comments per reader, refuses blocked words in them and masks censored ones', async () => {
      const critic = await makeUser(t);
      const own = await publishedArticle(t, author.token, editor.token, board, { title: 'Rated too often' });
      const items = async () => (await t.sql(`SELECT count(*)::int AS n FROM review_item_events WHERE action = 'not helpful' AND actor_id = $1`, [critic.id]))[0].n;
      for (let i = 1; i <= FEEDBACK_PER_HOUR.limit; i++) topicOf(await api.rate(critic.token, { topicId: own, helpful: false, comment: `Still unclear, attempt ${i}` }));
      const refused = expectError(await api.rate(critic.token, { topicId: own, helpful: false, comment: 'One more time' }), 'RATE_LIMITED');
      expect(refused.extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(await items()).toBe(FEEDBACK_PER_HOUR.limit);
      // Votes without a comment are not feedback and are not limited.
      topicOf(await api.rate(critic.token, { topicId: own, helpful: true }));
      const blocker = await makeUser(t, { role: 'ADMIN' });
      expectOk(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, { input: { pattern: 'scamword', kind: 'WORD', action: 'BLOCK', publicReason: 'No scams here' } }, { token: blocker.token }));
      const blocked = expectError(await api.rate((await makeUser(t)).token, { topicId: own, helpful: false, comment: 'visit scamword now' }), 'BAD_USER_INPUT');
      expect(blocked.extensions.fields).toEqual([{ field: 'comment', message: 'Your post was refused: No scams here' }]);
      await t.sql(`DELETE FROM watched_words WHERE pattern = 'scamword'`);
      // CENSOR masks the comment everywhere it is kept: the rating and the review item's history.
      expectOk(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, { input: { pattern: 'dumb*', kind: 'WORD', action: 'CENSOR', publicReason: 'Be kind' } }, { token: blocker.token }));
      const rude = await makeUser(t);
      topicOf(await api.rate(rude.token, { topicId: own, helpful: false, comment: 'This is DUMB advice' }));
      expect(await t.sql(`SELECT comment FROM article_ratings WHERE user_id = $1`, [rude.id])).toEqual([{ comment: 'This is ■■■■ advice' }]);
      expect(await t.sql(`SELECT note FROM review_item_events WHERE actor_id = $1`, [rude.id])).toEqual([{ note: 'This is ■■■■ advice' }]);
      await t.sql(`DELETE FROM watched_words WHERE pattern = 'dumb*'`);
      // Out of the way of the queue the next test reads.
      await t.sql(`UPDATE review_items SET status = 'IGNORED' WHERE target_id = $1`, [own]);
    });

    it('opens a review item for “not helpful” with a comment, tells the owner, and never hides the article when it is approved', async () => {
      const critic = await makeUser(t);
      topicOf(await api.rate(critic.token, { topicId: id, helpful: false, comment: 'Step 3 is out of date' }));
      topicOf(await api.rate(critic.token, { topicId: id, helpful: false, comment: 'Step 3 is out of date' })); // same again: no new feedback
      await drain();
      const items = expectOk(await t.gql(QUEUE, { s: spaceId }, { token: editor.token })).reviewQueue.edges.map((e: any) => e.node).filter((n: any) => n.kind === 'ARTICLE_FEEDBACK');
      expect(items).toEqual([expect.objectContaining({ status: 'PENDING', score: 1, topic: { id }, history: [{ action: 'not helpful', note: 'Step 3 is out of date' }] })]);
      expect((await notifications(author, id)).filter((n: any) => n.kind === 'ARTICLE_FEEDBACK')).toEqual([
        expect.objectContaining({ actor: { handle: critic.handle } }),
      ]);
      const feedback = `query($id: ID!) { topic(id: $id) { article { feedback(first: 10) { totalCount edges { node { comment helpful user { handle } } } } } } }`;
      expect(expectOk(await t.gql(feedback, { id }, { token: author.token })).topic.article.feedback.edges[0].node).toEqual({ comment: 'Step 3 is out of date', helpful: false, user: { handle: critic.handle } });
      expect(expectOk(await t.gql(feedback, { id }, { token: reader.token })).topic.article.feedback).toBeNull();
      // The item is the article team's to settle too, though they moderate nothing; not a reader's.
      const OPEN = `query($id: ID!) { topic(id: $id) { article { openFeedback { id status history { action note } } } } }`;
      expect(expectOk(await t.gql(OPEN, { id }, { token: reader.token })).topic.article.openFeedback).toBeNull();
      expect(expectOk(await t.gql(OPEN, { id }, { token: author.token })).topic.article.openFeedback).toEqual({
        id: items[0].id, status: 'PENDING', history: [{ action: 'not helpful', note: 'Step 3 is out of date' }],
      });
      expectError(await t.gql(`{ reviewQueue(first: 5) { totalCount } }`, {}, { token: author.token }), 'FORBIDDEN');
      expectError(await t.gql(RESOLVE, { input: { id: items[0].id, decision: 'IGNORE' } }, { token: reader.token }), 'NOT_FOUND');
      expectError(await t.gql(RESOLVE, { input: { id: items[0].id, decision: 'APPROVE', sanction: { kind: 'WARNING', reason: 'Rude' } } }, { token: author.token }), 'BAD_USER_INPUT');
      expectOk(await t.gql(RESOLVE, { input: { id: items[0].id, decision: 'APPROVE', note: 'Step 3 rewritten' } }, { token: author.token }));
      expect(expectOk(await t.gql(OPEN, { id }, { token: author.token })).topic.article.openFeedback).toBeNull();
      expect(topicOf(await api.get(reader.token, id))).toMatchObject({ state: 'VISIBLE', firstPost: { state: 'VISIBLE' } });
    });

    it('leaves an author silenced in the space reading their article’s feedback item, not deciding it (FORBIDDEN, nothing written)', async () => {
      const writer = await makeUser(t);
      const article = await publishedArticle(t, writer.token, editor.token, board, { title: 'Written before a silence' });
      topicOf(await api.rate((await makeUser(t)).token, { topicId: article, helpful: false, comment: 'The screenshots are outdated' }));
      const OPEN = `query($id: ID!) { topic(id: $id) { article { openFeedback { id status } } } }`;
      const item = expectOk(await t.gql(OPEN, { id: article }, { token: writer.token })).topic.article.openFeedback;
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', $2, now() + interval '1 day')`, [writer.id, spaceId]);
      // Silenced, they still read the space, and the item on their article...
      expect(expectOk(await t.gql(OPEN, { id: article }, { token: writer.token })).topic.article.openFeedback).toEqual(item);
      // ...but settle nothing in it, as a silenced moderator settles nothing.
      const state = () => t.sql(`SELECT status, claimed_by, (SELECT count(*)::int FROM review_item_events WHERE review_item_id = $1) AS events FROM review_items WHERE id = $1`, [item.id]);
      const before = await state();
      expect(expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'IGNORE' } }, { token: writer.token }), 'FORBIDDEN').message).toMatch(/silenced/);
      expectError(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: writer.token }), 'FORBIDDEN');
      expect(await state()).toEqual(before);
      expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'IGNORE' } }, { token: editor.token }));
    });

    it('holds a claim on feedback only while its claimant may still handle it: an editor who lost the space, or a writer silenced there, keeps nobody off it', async () => {
      const [writer, lapsing] = [await makeUser(t), await makeUser(t)];
      await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [spaceId, lapsing.id]);
      const article = await publishedArticle(t, writer.token, editor.token, board, { title: 'Claimed, then let go' });
      topicOf(await api.rate((await makeUser(t)).token, { topicId: article, helpful: false, comment: 'Step 2 fails' }));
      const OPEN = `query($id: ID!) { topic(id: $id) { article { openFeedback { id claimedBy { id } } } } }`;
      const open = async (u: TestUser) => expectOk(await t.gql(OPEN, { id: article }, { token: u.token })).topic.article.openFeedback;
      const CLAIM = `mutation($id: ID!) { claimReviewItem(id: $id) { id claimedBy { id } } }`;
      const claim = (u: TestUser, id: string) => t.gql(CLAIM, { id }, { token: u.token });
      const { id } = await open(writer);
      expectOk(await claim(lapsing, id));
      // While the editor may handle it, their claim keeps the article's team off it.
      expect((await open(writer)).claimedBy).toEqual({ id: lapsing.id });
      expectError(await claim(writer, id), 'CONFLICT');
      // Their grant goes: nobody is shown holding it, and the writer claims it at once.
      await t.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [spaceId, lapsing.id]);
      expect((await open(writer)).claimedBy).toBeNull();
      expect(expectOk(await claim(writer, id)).claimReviewItem.claimedBy).toEqual({ id: writer.id });
      expectError(await claim(editor, id), 'CONFLICT');
      // The writer silenced in the space holds it no more: the editor takes it.
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', $2, now() + interval '1 day')`, [writer.id, spaceId]);
      expect((await open(editor)).claimedBy).toBeNull();
      expect(expectOk(await claim(editor, id)).claimReviewItem.claimedBy).toEqual({ id: editor.id });
      expectOk(await t.gql(RESOLVE, { input: { id, decision: 'IGNORE' } }, { token: editor.token }));
    });

    it('judges a feedback claim in SQL as lockItem judges its claimant in JS (its space’s moderators, or the article’s team while they participate)', async () => {
      const [writer, owner, member, outsider, silenced, restricted] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
      const group = await makeGroup(t);
      await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [group, member.id]);
      const article = await publishedArticle(t, writer.token, editor.token, board, { title: 'Whose feedback is it' });
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: owner.id }));
      const grouped = await publishedArticle(t, silenced.token, editor.token, board, { title: 'A group’s article' });
      await t.sql(`UPDATE articles SET owner_user_id = NULL, owner_group_id = $2 WHERE topic_id = $1`, [grouped, group]);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', $2, now() + interval '1 day')`, [silenced.id, spaceId]);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SUSPEND', 'test', $2, now() + interval '1 day')`, [restricted.id, spaceId]);
      const items = [];
      for (const topicId of [article, grouped]) {
        topicOf(await api.rate((await makeUser(t)).token, { topicId, helpful: false, comment: 'Unclear' }));
        items.push((await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`, [topicId]))[0].id);
      }
      const reviewItems = t.get(ReviewItems);
      const sessions = t.get(SessionsService);
      const access = t.get(AccessService);
      const mismatches: unknown[] = [];
      for (const id of items) {
        for (const u of [writer, owner, member, outsider, silenced, restricted, editor, reader, admin]) {
          await t.sql(`UPDATE review_items SET claimed_by = $2, claimed_until = now() + interval '10 minutes' WHERE id = $1`, [id, u.id]);
          const [row] = await t.sql(`SELECT ${reviewItems.columns()} FROM review_items WHERE id = $1`, [id]);
          const viewer = (await sessions.viewerForUser(u.id))!;
          const mayHandle = (await access.rankOn(viewer, spaceId)) >= LEVEL_RANK.MODERATE || (await reviewItems.mayDecide(t.ds.manager, viewer, row).catch(() => false));
          if ((row.claimed_by === u.id) !== mayHandle) mismatches.push({ id, user: u.handle, sql: row.claimed_by === u.id, js: mayHandle });
        }
        await t.sql(`UPDATE review_items SET claimed_by = NULL, claimed_until = NULL WHERE id = $1`, [id]);
      }
      expect(mismatches).toEqual([]);
    });

    it('lets no one on an article’s team decide its feedback once they no longer read its topic in full (hidden: its owner gets a placeholder), as the queue’s SQL judges them', async () => {
      const [writer, owner] = [await makeUser(t), await makeUser(t)];
      const article = await publishedArticle(t, writer.token, editor.token, board, { title: 'Hidden with its feedback' });
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: owner.id }));
      topicOf(await api.rate((await makeUser(t)).token, { topicId: article, helpful: false, comment: 'Wrong screenshots' }));
      const [{ id }] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`, [article]);
      await t.sql(`UPDATE topics SET state = 'HIDDEN' WHERE id = $1`, [article]);
      await t.sql(`UPDATE posts SET state = 'HIDDEN' WHERE topic_id = $1 AND number = 1`, [article]);
      const CLAIM = `mutation($id: ID!) { claimReviewItem(id: $id) { claimedBy { id } } }`;
      // Its owner, not its author, reads the hidden topic as a placeholder: no item for them.
      expectError(await t.gql(CLAIM, { id }, { token: owner.token }), 'NOT_FOUND');
      expectError(await t.gql(RESOLVE, { input: { id, decision: 'IGNORE' } }, { token: owner.token }), 'NOT_FOUND');
      expect(await t.sql(`SELECT status, claimed_by FROM review_items WHERE id = $1`, [id])).toEqual([{ status: 'PENDING', claimed_by: null }]);
      // Its author still reads it in full, and decides it.
      expect(expectOk(await t.gql(CLAIM, { id }, { token: writer.token })).claimReviewItem.claimedBy).toEqual({ id: writer.id });
      expectOk(await t.gql(RESOLVE, { input: { id, decision: 'IGNORE' } }, { token: writer.token }));
    });

    it('lets the article’s team decide its feedback by their rights in the article’s space, where the article is read, not in the space its item was filed under (a rating racing a move)', async () => {
      const [writer, silenced] = [await makeUser(t), await makeUser(t)];
      const [elsewhere, open] = [await makeSpace(t, 'RESTRICTED'), await makeSpace(t, 'PUBLIC')];
      const CLAIM = `mutation($id: ID!) { claimReviewItem(id: $id) { id claimedBy { id } } }`;
      const reviewItems = t.get(ReviewItems);
      const filed = async (author: TestUser, title: string, filedUnder: string) => {
        const article = await publishedArticle(t, author.token, editor.token, board, { title });
        topicOf(await api.rate((await makeUser(t)).token, { topicId: article, helpful: false, comment: 'Out of date' }));
        // An item naming another space than its article's (as a rating racing a move once filed it, before it held the topic's row).
        const [{ id }] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`, [article]);
        await t.sql(`UPDATE review_items SET space_id = $2 WHERE id = $1`, [id, filedUnder]);
        return id as string;
      };
      const holder = async (id: string) => (await t.sql(`SELECT ${reviewItems.columns()} FROM review_items WHERE id = $1`, [id]))[0].claimed_by;
      // Its writer participates in the article's space, not in the one its item names: they decide it, and their claim holds.
      const away = await filed(writer, 'Filed away', elsewhere.id);
      expect(expectOk(await t.gql(CLAIM, { id: away }, { token: writer.token })).claimReviewItem.claimedBy).toEqual({ id: writer.id });
      expect(await holder(away)).toBe(writer.id);
      expectOk(await t.gql(RESOLVE, { input: { id: away, decision: 'IGNORE' } }, { token: writer.token }));
      // Silenced in the article's space, participating in the one its item names: they decide nothing, and would hold no claim.
      const near = await filed(silenced, 'Filed near', open.id);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', $2, now() + interval '1 day')`, [silenced.id, spaceId]);
      expect(expectError(await t.gql(CLAIM, { id: near }, { token: silenced.token }), 'FORBIDDEN').message).toMatch(/silenced/);
      await t.sql(`UPDATE review_items SET claimed_by = $2, claimed_until = now() + interval '10 minutes' WHERE id = $1`, [near, silenced.id]);
      expect(await holder(near)).toBeNull();
      await t.sql(`UPDATE review_items SET status = 'IGNORED', claimed_by = NULL, claimed_until = NULL WHERE id = $1`, [near]);
    });

    it('rates an article moved to another space while the rating waited as it stands there: judged on that space, its feedback refused (screened by the old space’s words) rather than filed under the old space', async () => {
      const there = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const thereBoard = await makeBoard(t, there, 'KNOWLEDGE');
      const [critic, voter, silenced] = [await makeUser(t), await makeUser(t), await makeUser(t)];
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', $2, now() + interval '1 day')`, [silenced.id, there]);
      // The rating reads the article in its old space, then waits for the topic's row, which a move holds.
      const moved = (article: string, rating: () => Promise<GqlResult>) => racingAMove(article, { board: thereBoard, space: there }, rating);
      const written = async (article: string) => ({
        ratings: await t.sql(`SELECT user_id, helpful, comment FROM article_ratings WHERE topic_id = $1 ORDER BY user_id`, [article]),
        items: await t.sql(`SELECT space_id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK'`, [article]),
        counts: await t.sql(`SELECT helpful_yes, helpful_no FROM articles WHERE topic_id = $1`, [article]),
      });
      // Feedback screened by the old space's watched words: CONFLICT, nothing written; tried again, it is filed where the article is.
      const commented = await publishedArticle(t, author.token, editor.token, board, { title: 'Moved while criticised' });
      expect(expectError(await moved(commented, () => api.rate(critic.token, { topicId: commented, helpful: false, comment: 'Wrong port' })), 'CONFLICT').message).toMatch(/moved/);
      expect(await written(commented)).toEqual({ ratings: [], items: [], counts: [{ helpful_yes: 0, helpful_no: 0 }] });
      topicOf(await api.rate(critic.token, { topicId: commented, helpful: false, comment: 'Wrong port' }));
      expect((await written(commented)).items).toEqual([{ space_id: there }]);
      // A plain vote is judged on the space it moved to: taken from a member who participates there...
      const voted = await publishedArticle(t, author.token, editor.token, board, { title: 'Moved while voted on' });
      topicOf(await moved(voted, () => api.rate(voter.token, { topicId: voted, helpful: true })));
      // ...refused to one silenced there, though they participate where it was.
      const refused = await publishedArticle(t, author.token, editor.token, board, { title: 'Moved under a silenced reader' });
      expect(expectError(await moved(refused, () => api.rate(silenced.token, { topicId: refused, helpful: true })), 'FORBIDDEN').message).toMatch(/silenced/);
      expect(await written(voted)).toEqual({ ratings: [{ user_id: voter.id, helpful: true, comment: null }], items: [], counts: [{ helpful_yes: 1, helpful_no: 0 }] });
      expect(await written(refused)).toEqual({ ratings: [], items: [], counts: [{ helpful_yes: 0, helpful_no: 0 }] });
    });

    it('pages an article’s feedback past its first page, newest first', async () => {
      const paged = await publishedArticle(t, author.token, editor.token, board, { title: 'Feedback over pages' });
      for (const comment of ['oldest remark', 'middle remark', 'newest remark']) {
        topicOf(await api.rate((await makeUser(t)).token, { topicId: paged, helpful: false, comment }));
      }
      const PAGE = `query($id: ID!, $after: String) { topic(id: $id) { article { feedback(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { comment } } } } } }`;
      const first = expectOk(await t.gql(PAGE, { id: paged }, { token: editor.token })).topic.article.feedback;
      expect(first).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
      expect(first.edges.map((e: any) => e.node.comment)).toEqual(['newest remark', 'middle remark']);
      const second = expectOk(await t.gql(PAGE, { id: paged, after: first.pageInfo.endCursor }, { token: editor.token })).topic.article.feedback;
      expect(second.edges.map((e: any) => e.node.comment)).toEqual(['oldest remark']);
      expect(second.pageInfo.hasNextPage).toBe(false);
    });

    it('takes readers’ feedback from an owner who left the team: not listed, counted or e-mailed', async () => {
      const [first, next, critic] = [await makeUser(t), await makeUser(t), await makeUser(t)];
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Feedback handed over' });
      await drain(); // its publication is announced before the owner changes
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: first.id }));
      topicOf(await api.rate(critic.token, { topicId: article, helpful: false, comment: 'The port number is wrong' }));
      await drain();
      expect(await notifications(first, article)).toEqual([expect.objectContaining({ kind: 'ARTICLE_FEEDBACK', actor: { handle: critic.handle } })]);
      // Handed to someone else: who found it unhelpful is the team's to know (Article.feedback), no longer theirs.
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: next.id }));
      expect(await notifications(first, article)).toEqual([]);
      const counted = `{ all: notifications(first: 50) { totalCount } unread: notifications(first: 50, unreadOnly: true) { totalCount } }`;
      expect(expectOk(await t.gql(counted, {}, { token: first.token }))).toEqual({ all: { totalCount: 0 }, unread: { totalCount: 0 } });
      await t.sql(`UPDATE notifications SET created_at = now() - interval '1 day' WHERE user_id = $1`, [first.id]);
      expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === first.email)).toEqual([]);
    });

    it('closes open feedback when a new revision is published', async () => {
      topicOf(await api.rate((await makeUser(t)).token, { topicId: id, helpful: false, comment: 'Screenshots missing' }));
      const [open] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`, [id]);
      topicOf(await api.update(author.token, { topicId: id, body: 'With screenshots' }));
      topicOf(await api.publish(editor.token, id));
      expect((await t.sql(`SELECT status FROM review_items WHERE id = $1`, [open.id]))[0].status).toBe('APPROVED');
    });

    it('reads an article’s open feedback afresh after each mutation of one request, as its other fields', async () => {
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Feedback read back' });
      const OPEN = `article { openFeedback { id status } }`;
      const res = expectOk(await t.gql(
        `mutation($id: ID!) {
          a: rateArticle(input: { topicId: $id, helpful: false, comment: "The second step is unclear" }) { ${OPEN} }
          b: updateArticle(input: { topicId: $id, body: "Clearer second step" }) { id }
          c: publishArticle(topicId: $id) { ${OPEN} } }`,
        { id: article }, { token: editor.token },
      ));
      const [item] = await t.sql(`SELECT id, status FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK'`, [article]);
      expect(res.a.article.openFeedback).toEqual({ id: item.id, status: 'PENDING' });
      // The publication settled it: nothing is pending any more, as the queue says.
      expect(item.status).toBe('APPROVED');
      expect(res.c.article.openFeedback).toBeNull();
    });

    it('reads an article’s open feedback afresh after resolveReviewItem settled it in the same request', async () => {
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Feedback settled and read back' });
      topicOf(await api.rate((await makeUser(t)).token, { topicId: article, helpful: false, comment: 'The first step is missing' }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`, [article]);
      const OPEN = `article { openFeedback { id status } }`;
      const res = expectOk(await t.gql(
        `mutation($id: ID!, $input: ResolveReviewInput!) {
          before: verifyArticle(topicId: $id) { ${OPEN} }
          resolved: resolveReviewItem(input: $input) { status topic { ${OPEN} } } }`,
        { id: article, input: { id: item.id, decision: 'IGNORE' } }, { token: author.token },
      ));
      expect(res.before.article.openFeedback).toEqual({ id: item.id, status: 'PENDING' });
      expect(res.resolved.status).toBe('IGNORED');
      // Settled: nothing is pending any more, in the mutation's own answer as in a new request.
      expect(res.resolved.topic.article.openFeedback).toBeNull();
      expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { ${OPEN} } }`, { id: article }, { token: author.token })).topic.article.openFeedback).toBeNull();
    });

    it('reads a revision afresh after a publication of the same request: the one it published is published', async () => {
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Revision read back' });
      const REV = `id publishedAt publishedBy { handle }`;
      const res = expectOk(await t.gql(
        `mutation($id: ID!) {
          a: updateArticle(input: { topicId: $id, body: "A second text" }) { article { currentRevision { ${REV} } } }
          b: publishArticle(topicId: $id) { article { currentRevision { ${REV} } publishedRevision { ${REV} } } } }`,
        { id: article }, { token: editor.token },
      ));
      const written = res.a.article.currentRevision;
      expect(written).toEqual({ id: expect.any(String), publishedAt: null, publishedBy: null });
      const [rev] = await t.sql(`SELECT published_at FROM article_revisions WHERE id = $1`, [written.id]);
      expect(rev.published_at).not.toBeNull();
      const published = { id: written.id, publishedAt: expect.any(String), publishedBy: { handle: editor.handle } };
      expect(res.b.article.currentRevision).toEqual(published);
      expect(res.b.article.publishedRevision).toEqual(published);
    });
  });

  it('keeps a deleted article’s children in its place, and moves articles back and forth between boards', async () => {
    const kbSpace = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
    const [one, two] = [await makeBoard(t, kbSpace, 'KNOWLEDGE'), await makeBoard(t, kbSpace, 'KNOWLEDGE')];
    const a = await publishedArticle(t, author.token, editor.token, one, { title: 'Top' });
    const b = await publishedArticle(t, author.token, editor.token, one, { title: 'Middle', parentId: a });
    const c = await publishedArticle(t, author.token, editor.token, one, { title: 'Leaf', parentId: b });
    const bPost = topicOf(await api.get(editor.token, b)).firstPost.id;
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: bPost }, { token: editor.token }));
    for (const viewer of [reader, editor]) {
      const tree = expectOk(await t.gql(TREE, { b: one }, { token: viewer.token })).board.articleTree;
      expect(tree.map((n: any) => [n.topic.id, n.depth, n.parentId])).toEqual([[a, 0, null], [c, 1, a]]);
    }
    // A draft moved to another board and back, and a published article too: no error, and no "-2" slug.
    const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
    const draft = await draftArticle(t, author.token, one, { title: 'Draft on the move' });
    for (const boardId of [two, one]) expectOk(await t.gql(MOVE, { input: { topicId: draft, boardId } }, { token: editor.token }));
    for (const boardId of [two, one]) expectOk(await t.gql(MOVE, { input: { topicId: a, boardId } }, { token: editor.token }));
    expect(topicOf(await api.get(reader.token, a)).article.slug).toBe('top');

    // A parent moved away leaves its children in its place, in their order, before its later siblings.
    const [p, s1, s2] = [
      await publishedArticle(t, author.token, editor.token, two, { title: 'Parent' }),
      await publishedArticle(t, author.token, editor.token, two, { title: 'Sibling one' }),
      await publishedArticle(t, author.token, editor.token, two, { title: 'Sibling two' }),
    ];
    const c1 = await publishedArticle(t, author.token, editor.token, two, { title: 'Child one', parentId: p });
    const c2 = await publishedArticle(t, author.token, editor.token, two, { title: 'Child two', parentId: p });
    expectOk(await t.gql(MOVE, { input: { topicId: p, boardId: one } }, { token: editor.token }));
    const positions = await t.sql(`SELECT topic_id, position FROM articles WHERE board_id = $1 AND parent_id IS NULL ORDER BY position`, [two]);
    expect(positions).toEqual([c1, c2, s1, s2].map((id, i) => ({ topic_id: id, position: i })));
  });

  describe('the tree keeper (an article left behind by a move made before beforeMove)', () => {
    const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
    const movedEvent = (topicId: string): OutboxEvent => ({ id: '0', type: 'topic.moved', aggregateType: 'topic', aggregateId: topicId, version: 1, payload: {}, createdAt: new Date(), attempts: 0 });
    /**
     * Three knowledge boards of a new space; three articles published at the top of the first,
     * the first of them (`x`) left there by its topic, moved to the second by a move that did not
     * place articles yet (its `topic.moved` for the keeper).
     */
    const stranded = async () => {
      const kbSpace = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const [one, two, three] = [await makeBoard(t, kbSpace, 'KNOWLEDGE'), await makeBoard(t, kbSpace, 'KNOWLEDGE'), await makeBoard(t, kbSpace, 'KNOWLEDGE')];
      const [x, y, z] = [
        await publishedArticle(t, author.token, editor.token, one, { title: 'Left behind' }),
        await publishedArticle(t, author.token, editor.token, one, { title: 'Stays one' }),
        await publishedArticle(t, author.token, editor.token, one, { title: 'Stays two' }),
      ];
      await t.sql(`UPDATE topics SET board_id = $2 WHERE id = $1`, [x, two]);
      /** The three boards' articles: the two left in the first at its top, in order, and `x` alone at the top of `xIn`. */
      const placed = async (xIn: string) => {
        const byTopic = (a: { topic_id: string }, b: { topic_id: string }) => (a.topic_id < b.topic_id ? -1 : 1);
        const rows = await t.sql(`SELECT topic_id, board_id, parent_id, position FROM articles WHERE board_id = ANY($1::uuid[])`, [[one, two, three]]);
        expect(rows.sort(byTopic)).toEqual(
          [
            { topic_id: y, board_id: one, parent_id: null, position: 0 },
            { topic_id: z, board_id: one, parent_id: null, position: 1 },
            { topic_id: x, board_id: xIn, parent_id: null, position: 0 },
          ].sort(byTopic),
        );
      };
      return { one, two, three, x, placed };
    };

    it('takes an article left behind out of the tree of the board it is in when a moderator moves its topic on before the keeper ran, not out of its topic\'s board\'s', async () => {
      const { one, two, three, x } = await stranded();
      // The board its topic moved to has articles of its own at its top.
      const [w0, w1] = [
        await publishedArticle(t, author.token, editor.token, two, { title: 'Was in two first' }),
        await publishedArticle(t, author.token, editor.token, two, { title: 'Was in two second' }),
      ];
      expectOk(await t.gql(MOVE, { input: { topicId: x, boardId: three } }, { token: editor.token }));
      const top = (board: string) => t.sql(`SELECT topic_id, position FROM articles WHERE board_id = $1 AND parent_id IS NULL ORDER BY position, topic_id`, [board]);
      const [y, z] = (await t.sql(`SELECT topic_id FROM articles a JOIN topics t ON t.id = a.topic_id WHERE a.board_id = $1 ORDER BY t.created_at`, [one])).map((r) => r.topic_id);
      // Shifted in its topic's board, the gap it left in its own stayed and the other board's
      // second article took the first one's position.
      expect({ one: await top(one), two: await top(two), three: await top(three) }).toEqual({
        one: [{ topic_id: y, position: 0 }, { topic_id: z, position: 1 }],
        two: [{ topic_id: w0, position: 0 }, { topic_id: w1, position: 1 }],
        three: [{ topic_id: x, position: 0 }],
      });
    });

    it('places it once when two workers take its topic.moved at once: the second waits for the first and finds it placed', async () => {
      const { two, x, placed } = await stranded();
      const keeper = t.get(KnowledgeTreeKeeper);
      let calls = 0;
      // The first run held once it has read where the article is, before it places it.
      const gate = gateCalls(t.get(KnowledgeBoard), 'beforeMove', () => ++calls === 1);
      try {
        const first = keeper.handle([movedEvent(x)]);
        await gate.begun;
        const second = keeper.handle([movedEvent(x)]);
        expect(await doneOrWaiting(t, second, 1, await gateHolder(gate))).toBe('waiting');
        gate.open();
        await Promise.all([first, second]);
      } finally {
        gate.restore();
      }
      // Read unlocked, the first placed it again from the board it had already left, closing a gap
      // there a second time (two articles of the first board at position 0) and moving it down its new board.
      await placed(two);
    });

    it('does not undo a move of its topic made while it ran: the move waits, then takes the article with it', async () => {
      const { one, three, x, placed } = await stranded();
      // The keeper's run held once it has read where the article is (from the first board), before it places it.
      const gate = gateCalls(t.get(KnowledgeBoard), 'beforeMove', (_tx: unknown, move: { fromBoardId: string }) => move.fromBoardId === one);
      let moved;
      try {
        const kept = t.get(KnowledgeTreeKeeper).handle([movedEvent(x)]);
        await gate.begun;
        const move = t.gql(MOVE, { input: { topicId: x, boardId: three } }, { token: editor.token });
        expect(await doneOrWaiting(t, move, 1, await gateHolder(gate))).toBe('waiting');
        gate.open();
        [, moved] = await Promise.all([kept, move]);
      } finally {
        gate.restore();
      }
      expectOk(moved!);
      expect((await t.sql(`SELECT board_id FROM topics WHERE id = $1`, [x]))[0].board_id).toBe(three);
      // Read unlocked, the keeper put the article in the board its topic had left meanwhile (for good).
      await placed(three);
    });

    it('does not deadlock with a publication of the article under way: the keeper waits for it, then places the article', async () => {
      const { two, x, placed } = await stranded();
      topicOf(await api.update(author.token, { topicId: x, body: 'A newer body to publish' }));
      // The publication held once it has its topic (KEY SHARE), its board and the article's row,
      // before it writes the revision into the post and the topic's row (ArticleWrites.mirror).
      const gate = gateCalls(t.get(ArticleWrites), 'mirror');
      const deadlocks = countDeadlocks(t);
      let published: GqlResult;
      try {
        const publish = api.publish(editor.token, x);
        await gate.begun;
        const kept = t.get(KnowledgeTreeKeeper).handle([movedEvent(x)]);
        expect(await doneOrWaiting(t, kept, 1, await gateHolder(gate))).toBe('waiting');
        gate.open();
        [published] = await Promise.all([publish, kept]);
      } finally {
        gate.restore();
        deadlocks.restore();
      }
      // The keeper held the topic FOR NO KEY UPDATE while it waited for the board the publication
      // held, and the publication then waited for it to update the topic's row: a deadlock.
      expect(deadlocks.count).toBe(0);
      expect(topicOf(published!).article.publishedRevision.number).toBe(2);
      await placed(two);
    });
    it('publishes an article left behind, retitled, without deadlocking with a tree change in the board it is in: both its boards taken before its row', async () => {
      const { one, two, x } = await stranded();
      // A new title: publishing gives it a new slug, in the board the article is in (the first).
      topicOf(await api.update(author.token, { topicId: x, title: 'Left behind, renamed' }));
      const deadlocks = countDeadlocks(t);
      let published: GqlResult;
      try {
        // The test holds the first board as moveArticle there does, then, once the publication
        // waits, locks the article's row as that move does next.
        published = await withLockHeld(t, `SELECT pg_advisory_xact_lock(hashtextextended('parvis:knowledge-board:' || $1::text, 0))`, [one], async (h) => {
          const publish = api.publish(editor.token, x);
          await h.waiting(1);
          await h.query(`SELECT 1 FROM articles WHERE topic_id = $1 FOR UPDATE`, [x]);
          await h.release();
          return publish;
        });
      } finally {
        deadlocks.restore();
      }
      // It took the first board only to give the slug, holding the article's row and its first
      // post, while the move held that board and waited for the row: PostgreSQL aborted it.
      expect(deadlocks.count).toBe(0);
      expect(topicOf(published!).article.publishedRevision.title).toBe('Left behind, renamed');
      expect(await t.sql(`SELECT board_id FROM topics WHERE id = $1`, [x])).toEqual([{ board_id: two }]);
    });

    it('names, in the article.feedback of an article left behind, the board its topic is in, as every other event of a knowledge write does', async () => {
      const { two, x } = await stranded();
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      topicOf(await api.rate(reader.token, { topicId: x, helpful: false, comment: 'Left behind and unclear' }));
      expect(await t.sql(`SELECT payload->>'boardId' AS board FROM outbox WHERE id > $1::bigint AND type = 'article.feedback' AND payload->>'topicId' = $2`, [last, x])).toEqual([
        { board: two },
      ]);
    });

    it('names, in the article.verification_due of an article left behind, the board its topic is in', async () => {
      const { two, x } = await stranded();
      await t.sql(`UPDATE articles SET verified_until = now() - interval '1 day' WHERE topic_id = $1`, [x]);
      const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM outbox`);
      expect(await t.get(VerificationReminders).remindDue()).toBeGreaterThanOrEqual(1);
      expect(await t.sql(`SELECT payload->>'boardId' AS board FROM outbox WHERE id > $1::bigint AND type = 'article.verification_due' AND payload->>'topicId' = $2`, [last, x])).toEqual([
        { board: two },
      ]);
    });
  });

  it('lists articles with their feedback for editors in a fixed number of statements (no N+1)', async () => {
    const kbSpace = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
    const kbBoard = await makeBoard(t, kbSpace, 'KNOWLEDGE');
    const q = `query($s: ID!) { staleArticles(spaceId: $s, first: 20) { edges { node { id article { feedback(first: 5) { totalCount edges { node { comment user { handle } } } } } } } } }`;
    const add = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = await publishedArticle(t, author.token, editor.token, kbBoard, { title: `Feedback article ${Math.random()}` });
        topicOf(await api.rate((await makeUser(t)).token, { topicId: id, helpful: false, comment: `unclear step ${i}` }));
        await t.sql(`UPDATE articles SET verified_until = now() - interval '1 hour' WHERE topic_id = $1`, [id]);
      }
    };
    let page: any;
    await add(2);
    const two = await t.countStatements(async () => (page = expectOk(await t.gql(q, { s: kbSpace }, { token: editor.token }))));
    expect(page.staleArticles.edges.map((e: any) => e.node.article.feedback.totalCount)).toEqual([1, 1]);
    await add(6);
    const eight = await t.countStatements(async () => (page = expectOk(await t.gql(q, { s: kbSpace }, { token: editor.token }))));
    expect(page.staleArticles.edges).toHaveLength(8);
    expect(page.staleArticles.edges.every((e: any) => e.node.article.feedback.edges[0].node.user.handle)).toBe(true);
    expect(eight.count).toBe(two.count);
    // A rating read back in the same request shows itself, not the page read before it.
    const rated = page.staleArticles.edges[0].node.id;
    const twice = `mutation($a: RateArticleInput!, $b: RateArticleInput!) {
      a: rateArticle(input: $a) { article { feedback(first: 5) { edges { node { comment } } } } }
      b: rateArticle(input: $b) { article { feedback(first: 5) { totalCount edges { node { comment } } } } } }`;
    const res = expectOk(await t.gql(twice, { a: { topicId: rated, helpful: false, comment: 'first thought' }, b: { topicId: rated, helpful: false, comment: 'second thought' } }, { token: editor.token }));
    expect(res.b.article.feedback.edges[0].node.comment).toBe('second thought');
    // Verified again, so the verification tests' reminders see only their own.
    await t.sql(`UPDATE articles SET verified_until = now() + interval '30 days' WHERE board_id = $1`, [kbBoard]);
  });

  describe('verification', () => {
    let owner: TestUser;
    let id: string;
    const expire = (topicId: string) => t.sql(`UPDATE articles SET verified_until = now() - interval '1 hour' WHERE topic_id = $1`, [topicId]);

    beforeAll(async () => {
      owner = await makeUser(t);
      id = await publishedArticle(t, author.token, editor.token, board, { title: 'Verify me' });
      await drain(); // its publication is announced to its author, before the owner changes
      topicOf(await api.settings(editor.token, { topicId: id, ownerUserId: owner.id, verificationIntervalDays: 30 }));
    });

    it('lists articles past their date as stale and unverified, oldest first, paginated', async () => {
      const older = await publishedArticle(t, author.token, editor.token, board, { title: 'Older' });
      await expire(id);
      await t.sql(`UPDATE articles SET verified_until = now() - interval '2 days' WHERE topic_id = $1`, [older]);
      const first = expectOk(await t.gql(STALE, { s: spaceId }, { token: reader.token })).staleArticles;
      expect(first).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, edges: [{ node: { id: older } }] });
      const second = expectOk(await t.gql(STALE, { s: spaceId, after: first.pageInfo.endCursor }, { token: reader.token })).staleArticles;
      expect(second.edges).toEqual([{ node: { id } }]);
      // Editors (moderators of the space) get the same list.
      expect(expectOk(await t.gql(STALE, { s: spaceId }, { token: editor.token })).staleArticles).toMatchObject({ totalCount: 2, edges: [{ node: { id: older } }] });
      expect(topicOf(await api.get(reader.token, id)).article.verified).toBe(false);
      expectError(await t.gql(STALE, { s: spaceId, after: 'garbage' }, { token: reader.token }), 'BAD_USER_INPUT');
      topicOf(await api.verify(editor.token, older));
    });

    it('reminds the owner once per due date, then by e-mail if unread', async () => {
      await expire(id);
      const reminders = t.get(VerificationReminders);
      expect(await reminders.remindDue()).toBe(1);
      expect(await reminders.remindDue()).toBe(0);
      await drain();
      expect((await notifications(owner, id)).map((n: any) => n.kind)).toEqual(['ARTICLE_VERIFICATION_DUE']);
      expect(await notifications(author, id)).toEqual(expect.not.arrayContaining([expect.objectContaining({ kind: 'ARTICLE_VERIFICATION_DUE' })]));
      await t.sql(`UPDATE notifications SET created_at = now() - interval '1 day' WHERE user_id = $1`, [owner.id]);
      const mails = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === owner.email);
      expect(mails).toHaveLength(1);
      expect(mails[0].text).toContain('An article you own is due for verification');
    });

    it('lets the owner (or an editor) verify it: verified again for its interval', async () => {
      expect(expectError(await api.verify(author.token, id), 'FORBIDDEN').message).toMatch(/owner/);
      expectError(await api.verify(reader.token, id), 'FORBIDDEN');
      const verified = topicOf(await api.verify(owner.token, id));
      expect(verified.article.verified).toBe(true);
      const days = (Date.parse(verified.article.verifiedUntil) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(29.9);
      expect(days).toBeLessThanOrEqual(30);
      expect(expectOk(await t.gql(STALE, { s: spaceId }, { token: reader.token })).staleArticles.totalCount).toBe(0);
      // Past the new date, a new reminder goes out.
      await expire(id);
      expect(await t.get(VerificationReminders).remindDue()).toBe(1);
      await drain();
      expect((await notifications(owner, id)).map((n: any) => n.kind)).toEqual(['ARTICLE_VERIFICATION_DUE', 'ARTICLE_VERIFICATION_DUE']);
    });

    it('gives an article whose owner deleted their account back to its author: no owner shown, the reminder theirs, and theirs to verify', async () => {
      const leaving = await makeUser(t);
      const art = await publishedArticle(t, author.token, editor.token, board, { title: 'Owned by one who leaves' });
      await drain();
      topicOf(await api.settings(editor.token, { topicId: art, ownerUserId: leaving.id }));
      const OWNER = `query($id: ID!) { topic(id: $id) { article { owner { ... on User { id } } } } }`;
      expect(expectOk(await t.gql(OWNER, { id: art }, { token: editor.token })).topic.article.owner).toEqual({ id: leaving.id });
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: leaving.id }, { token: admin.token }));
      // Nobody owns it now (a deleted account keeps nothing up to date): as any article nobody owns, its author keeps it.
      expect(expectOk(await t.gql(OWNER, { id: art }, { token: editor.token })).topic.article.owner).toBeNull();
      await expire(art);
      expect(await t.get(VerificationReminders).remindDue()).toBeGreaterThanOrEqual(1);
      await drain();
      expect((await notifications(author, art)).map((n: any) => n.kind)).toContain('ARTICLE_VERIFICATION_DUE');
      expect(topicOf(await api.verify(author.token, art)).article.verified).toBe(true);
    });

    it('makes nobody owner whose account was deleted while the change waited: the account held, the change refused, nothing written', async () => {
      const leaving = await makeUser(t);
      const art = await publishedArticle(t, author.token, editor.token, board, { title: 'Almost owned by one who leaves' });
      const owned = () => t.sql(`SELECT owner_user_id, owner_group_id, version FROM articles WHERE topic_id = $1`, [art]);
      const before = await owned();
      // The deletion under way (its row held, the account deleted, what it owned let go) as an editor makes them the owner.
      const answer = await withLockHeld(t, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, [leaving.id], async (h) => {
        await h.query(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [leaving.id]);
        await h.query(`UPDATE articles SET owner_user_id = NULL WHERE owner_user_id = $1`, [leaving.id]);
        const asked = api.settings(editor.token, { topicId: art, ownerUserId: leaving.id });
        await h.waiting(1);
        await h.release();
        return asked;
      });
      expect(expectError(answer, 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'ownerUserId', message: 'must be someone who can read this space' }]);
      expect(await owned()).toEqual(before);
    });

    it('reminds every member of an owner group; settings are for editors and validated', async () => {
      const team = await makeGroup(t);
      // Seen by signed-in members, so an editor names it; one they do not see is no group to them.
      await t.sql(`UPDATE groups SET visibility = 'SIGNED_IN' WHERE id = $1`, [team]);
      const [m1, m2] = [await makeUser(t, { groups: [team] }), await makeUser(t, { groups: [team] })];
      expectError(await api.settings(author.token, { topicId: id, ownerGroupId: team }), 'FORBIDDEN');
      // A group the editor may not see is refused as a missing one, and nothing is written.
      const hidden = await makeGroup(t);
      const [before] = await t.sql(`SELECT version, owner_group_id FROM articles WHERE topic_id = $1`, [id]);
      const refusals = [];
      for (const ownerGroupId of [hidden, '00000000-0000-7000-8000-000000000000']) {
        refusals.push(expectError(await api.settings(editor.token, { topicId: id, ownerGroupId }), 'BAD_USER_INPUT').extensions.fields);
      }
      expect(refusals[0]).toEqual(refusals[1]);
      expect(await t.sql(`SELECT version, owner_group_id FROM articles WHERE topic_id = $1`, [id])).toEqual([before]);
      expect(expectError(await api.settings(editor.token, { topicId: id, ownerGroupId: team, ownerUserId: m1.id }), 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual(['ownerUserId', 'ownerGroupId']);
      expect(expectError(await api.settings(editor.token, { topicId: id, verificationIntervalDays: 0 }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('verificationIntervalDays');
      // An owner given as null is no setting: nothing asked, nothing written.
      const [version] = await t.sql(`SELECT version FROM articles WHERE topic_id = $1`, [id]);
      expectError(await api.settings(editor.token, { topicId: id, ownerUserId: null, ownerGroupId: null }), 'BAD_USER_INPUT');
      expect(await t.sql(`SELECT version FROM articles WHERE topic_id = $1`, [id])).toEqual([version]);
      const outsider = await makeUser(t);
      const restricted = await makeSpace(t, 'RESTRICTED', [{ userId: editor.id, level: 'MODERATE' }]);
      const internal = await publishedArticle(t, editor.token, editor.token, await makeBoard(t, restricted.id, 'KNOWLEDGE'));
      expect(expectError(await api.settings(editor.token, { topicId: internal, ownerUserId: outsider.id }), 'BAD_USER_INPUT').extensions.fields![0]).toEqual({
        field: 'ownerUserId', message: 'must be someone who can read this space',
      });
      const q = `query($id: ID!) { topic(id: $id) { article { owner { __typename ... on Group { id memberCount mentionable } } verificationIntervalDays } } }`;
      topicOf(await api.settings(editor.token, { topicId: id, ownerGroupId: team, verificationIntervalDays: null }));
      // Readers who see the group see which keeps it, and how many it holds; who may ping it is the admins'.
      expect(expectOk(await t.gql(q, { id }, { token: reader.token })).topic.article).toEqual({ owner: { __typename: 'Group', id: team, memberCount: 2, mentionable: null }, verificationIntervalDays: 90 });
      expect(expectOk(await t.gql(q, { id }, { token: admin.token })).topic.article.owner).toEqual({ __typename: 'Group', id: team, memberCount: 2, mentionable: 'NOBODY' });
      topicOf(await api.verify(m2.token, id));
      await expire(id);
      await t.get(VerificationReminders).remindDue();
      await drain();
      for (const m of [m1, m2]) expect((await notifications(m, id)).map((n: any) => n.kind)).toEqual(['ARTICLE_VERIFICATION_DUE']);
    });

    it('names an owner group in the article’s history only to those who see the group, as its owner field does', async () => {
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Kept by a private group' });
      const privateGroup = await makeGroup(t);
      // Seen by its members alone; the editor is one, the author is not.
      await t.sql(`UPDATE groups SET visibility = 'MEMBERS' WHERE id = $1`, [privateGroup]);
      await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [privateGroup, editor.id]);
      topicOf(await api.settings(editor.token, { topicId: article, ownerGroupId: privateGroup, verificationIntervalDays: 45 }));
      const HISTORY = `query($id: ID!) { topic(id: $id) { article { owner { __typename } history { action note } } } }`;
      const seen = async (u: TestUser) => expectOk(await t.gql(HISTORY, { id: article }, { token: u.token })).topic.article;
      const settingsNotes = (a: any) => a.history.filter((e: any) => e.action === 'SETTINGS_CHANGED').map((e: any) => e.note);
      expect(settingsNotes(await seen(editor))).toEqual([`owner: group ${privateGroup}; verification every 45 days`]);
      const forAuthor = await seen(author);
      expect(forAuthor.owner).toBeNull();
      expect(settingsNotes(forAuthor)).toEqual(['verification every 45 days']);
      expect(JSON.stringify(forAuthor)).not.toContain(privateGroup);
    });

    it('takes an article’s review steps from someone who left its team: not listed, counted or marked as theirs', async () => {
      const [first, next] = [await makeUser(t), await makeUser(t)];
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Handed over' });
      await drain(); // its publication is announced before the owner changes
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: first.id }));
      topicOf(await api.update(author.token, { topicId: article, body: 'A new draft' }));
      topicOf(await api.submit(author.token, article));
      topicOf(await api.requestChanges(editor.token, article, 'Say which firmware'));
      await drain();
      const steps = ['ARTICLE_SUBMITTED', 'ARTICLE_CHANGES_REQUESTED'];
      expect((await notifications(first, article)).map((n: any) => n.kind).sort()).toEqual([...steps].sort());
      const counted = `{ all: notifications(first: 50) { totalCount } unread: notifications(first: 50, unreadOnly: true) { totalCount } }`;
      const before = expectOk(await t.gql(counted, {}, { token: first.token }));
      // Handed to someone else: the draft, and the editors' words about it, are no longer theirs.
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: next.id }));
      expect((await notifications(first, article)).map((n: any) => n.kind)).toEqual([]);
      expect(expectOk(await t.gql(counted, {}, { token: first.token }))).toEqual({ all: { totalCount: before.all.totalCount - 2 }, unread: { totalCount: before.unread.totalCount - 2 } });
      expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: first.token })).markNotificationsRead).toBe(before.unread.totalCount - 2);
      // The author is still on the team, and still has them.
      expect((await notifications(author, article)).map((n: any) => n.kind)).toEqual(expect.arrayContaining(['ARTICLE_CHANGES_REQUESTED']));
    });

    it('takes a verification reminder from an owner replaced since: not listed, counted or e-mailed; the author keeps theirs while nobody owns it', async () => {
      const [first, next] = [await makeUser(t), await makeUser(t)];
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Verified by its owner of the day' });
      await drain();
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: first.id }));
      await expire(article);
      expect(await t.get(VerificationReminders).remindDue()).toBe(1);
      await drain();
      expect((await notifications(first, article)).map((n: any) => n.kind)).toEqual(['ARTICLE_VERIFICATION_DUE']);
      const counted = `{ all: notifications(first: 50) { totalCount } unread: notifications(first: 50, unreadOnly: true) { totalCount } }`;
      const before = expectOk(await t.gql(counted, {}, { token: first.token }));
      topicOf(await api.settings(editor.token, { topicId: article, ownerUserId: next.id }));
      expect(await notifications(first, article)).toEqual([]);
      expect(expectOk(await t.gql(counted, {}, { token: first.token }))).toEqual({ all: { totalCount: before.all.totalCount - 1 }, unread: { totalCount: before.unread.totalCount - 1 } });
      await t.sql(`UPDATE notifications SET created_at = now() - interval '1 day' WHERE user_id = $1`, [first.id]);
      expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === first.email)).toEqual([]);
      // An article nobody owns is its author's to verify: their reminder stays theirs.
      const unowned = await publishedArticle(t, author.token, editor.token, board, { title: 'Verified by its author' });
      await expire(unowned);
      expect(await t.get(VerificationReminders).remindDue()).toBe(1);
      await drain();
      expect((await notifications(author, unowned)).map((n: any) => n.kind)).toContain('ARTICLE_VERIFICATION_DUE');
    });

    it('refuses to verify, or change the settings of, an article moved to another space while the request waited (CONFLICT, nothing written): who may and the default interval were read in the old space', async () => {
      const there = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const thereBoard = await makeBoard(t, there, 'KNOWLEDGE');
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Verified while moved' });
      const settled = () => t.sql(`SELECT verified_at, verified_by, verified_until, owner_user_id, verification_interval_days FROM articles WHERE topic_id = $1`, [article]);
      const before = await settled();
      expect(expectError(await racingAMove(article, { board: thereBoard, space: there }, () => api.verify(editor.token, article)), 'CONFLICT').message).toMatch(/moved/);
      expect(await settled()).toEqual(before);
      // Back where it was, while the settings wait (read in `there`).
      expect(expectError(await racingAMove(article, { board, space: spaceId }, () => api.settings(editor.token, { topicId: article, verificationIntervalDays: 3 })), 'CONFLICT').message).toMatch(/moved/);
      expect(await settled()).toEqual(before);
      // Tried again, each is judged where the article is.
      topicOf(await api.settings(editor.token, { topicId: article, verificationIntervalDays: 3 }));
      topicOf(await api.verify(editor.token, article));
      expect((await settled())[0].verification_interval_days).toBe(3);
    });

    it('refuses to publish an article moved to another space while the publication waited (CONFLICT, nothing written): its editors and two-person rule were read in the old space', async () => {
      const there = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const draft = await draftArticle(t, author.token, board, { title: 'Published while moved away' });
      expect(expectError(await racingAMove(draft, { board: await makeBoard(t, there, 'KNOWLEDGE'), space: there }, () => api.publish(editor.token, draft)), 'CONFLICT').message).toMatch(/moved/);
      expect(await t.sql(`SELECT state, published_revision_id FROM articles WHERE topic_id = $1`, [draft])).toEqual([{ state: 'DRAFT', published_revision_id: null }]);
      expect(topicOf(await api.publish(editor.token, draft)).article.state).toBe('PUBLISHED');
    });

    it('publishes under the space’s settings as a settings change committed while it waited left them (two-person review switched on: refused; a new default interval: used), holding no article’s row meanwhile', async () => {
      const here = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const hereBoard = await makeBoard(t, here, 'KNOWLEDGE');
      const own = await draftArticle(t, editor.token, hereBoard, { title: 'Published alone while the rule changed' });
      const other = await draftArticle(t, editor.token, hereBoard, { title: 'Published while the interval changed' });
      expect(expectError(await racingSettings(here, { twoPersonReview: true }, own, () => api.publish(editor.token, own)), 'BAD_USER_INPUT').message).toMatch(/two-person review/);
      expect(await t.sql(`SELECT state, published_revision_id FROM articles WHERE topic_id = $1`, [own])).toEqual([{ state: 'DRAFT', published_revision_id: null }]);
      await t.sql(`UPDATE spaces SET knowledge = '{}' WHERE id = $1`, [here]);
      const PUBLISH = `mutation($id: ID!) { publishArticle(topicId: $id) { article { state verificationIntervalDays } } }`;
      const published = await racingSettings(here, { verificationIntervalDays: 7 }, other, () => t.gql(PUBLISH, { id: other }, { token: editor.token }));
      expect(expectOk(published).publishArticle.article).toEqual({ state: 'PUBLISHED', verificationIntervalDays: 7 });
      expect(await t.sql(`SELECT verified_until - verified_at AS due FROM articles WHERE topic_id = $1`, [other])).toEqual([{ due: expect.objectContaining({ days: 7 }) }]);
    });

    it('verifies, and sets an article back to the space’s default interval, under the default a settings change committed while they waited left', async () => {
      const here = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const hereBoard = await makeBoard(t, here, 'KNOWLEDGE');
      const article = await publishedArticle(t, author.token, editor.token, hereBoard, { title: 'Verified while the interval changed' });
      const due = async () => (await t.sql(`SELECT verified_until - verified_at AS due FROM articles WHERE topic_id = $1`, [article]))[0].due;
      topicOf(await racingSettings(here, { verificationIntervalDays: 7 }, article, () => api.verify(editor.token, article)));
      expect(await due()).toEqual(expect.objectContaining({ days: 7 }));
      topicOf(await api.settings(editor.token, { topicId: article, verificationIntervalDays: 3 }));
      topicOf(await racingSettings(here, { verificationIntervalDays: 11 }, article, () => api.settings(editor.token, { topicId: article, verificationIntervalDays: null })));
      expect(await due()).toEqual(expect.objectContaining({ days: 11 }));
    });

    it('refuses a workflow step (submit, archive) on an article moved to another space while it waited (CONFLICT, nothing written): who may take it was read in the old space', async () => {
      const there = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const thereBoard = await makeBoard(t, there, 'KNOWLEDGE');
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Archived while moved away' });
      const state = async () => (await t.sql(`SELECT state FROM articles WHERE topic_id = $1`, [article]))[0].state;
      expect(expectError(await racingAMove(article, { board: thereBoard, space: there }, () => api.archive(editor.token, article)), 'CONFLICT').message).toMatch(/moved/);
      expect(await state()).toBe('PUBLISHED');
      topicOf(await api.update(author.token, { topicId: article, title: 'Archived while moved away, edited' }));
      expect(expectError(await racingAMove(article, { board, space: spaceId }, () => api.submit(author.token, article)), 'CONFLICT').message).toMatch(/moved/);
      expect(await state()).toBe('DRAFT');
      topicOf(await api.submit(author.token, article));
      expect(await state()).toBe('IN_REVIEW');
    });

    it('refuses an edit of an article moved to another space while it waited (CONFLICT, no revision): its writer and text were judged by the old space (its team, its watched words, its pace)', async () => {
      const there = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id;
      const thereBoard = await makeBoard(t, there, 'KNOWLEDGE');
      const article = await publishedArticle(t, author.token, editor.token, board, { title: 'Edited while moved away' });
      const revisions = () => t.sql(`SELECT count(*)::int AS n FROM article_revisions WHERE topic_id = $1`, [article]);
      const before = await revisions();
      const edit = () => api.update(author.token, { topicId: article, body: 'A body screened where the article was' });
      expect(expectError(await racingAMove(article, { board: thereBoard, space: there }, edit), 'CONFLICT').message).toMatch(/moved/);
      expect(await revisions()).toEqual(before);
      expect(await t.sql(`SELECT state FROM articles WHERE topic_id = $1`, [article])).toEqual([{ state: 'PUBLISHED' }]);
      // Tried again, it is judged where the article is.
      expect(topicOf(await edit()).article.state).toBe('DRAFT');
    });

    it('moves due dates when the space’s default interval changes', async () => {
      const article = await publishedArticle(t, author.token, editor.token, board);
      expectOk(await api.spaceSettings(admin.token, { spaceId, verificationIntervalDays: 7 }));
      const days = (Date.parse(topicOf(await api.get(reader.token, article)).article.verifiedUntil) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(6.9);
      expect(days).toBeLessThanOrEqual(7);
      expectOk(await api.spaceSettings(admin.token, { spaceId, verificationIntervalDays: 90 }));
    });
  });

  describe('promotion from the forum', () => {
    let forum: string;
    let asker: TestUser;
    let answerer: TestUser;
    let question: { id: string };
    let answer: { id: string };
    const THREAD = `query($id: ID!) { topic(id: $id) { knowledgeArticles { id title } } }`;
    const PROMOTED = `query($id: ID!) { topic(id: $id) { article { state promotedFrom { id } credits { role user { handle } } } firstPost { bodyHtml } } }`;

    beforeAll(async () => {
      forum = await makeBoard(t, spaceId);
      asker = await makeUser(t);
      answerer = await makeUser(t);
      question = await createTopic(t, asker.token, forum, { title: 'How do I descale the boiler?', kind: 'QUESTION' });
      answer = await reply(t, answerer.token, question.id, 'Use **citric acid**, 1 spoon per litre');
      expectOk(await t.gql(`mutation($p: ID!) { acceptAnswer(postId: $p) { id } }`, { p: answer.id }, { token: asker.token }));
    });

    it('turns an accepted answer into a draft article that credits its authors and links back', async () => {
      const res = topicOf(await api.promote(reader.token, { postId: answer.id, boardId: board, title: 'Descaling the boiler' }));
      expect(res).toMatchObject({ kind: 'ARTICLE', state: 'PENDING', title: 'Descaling the boiler', article: { state: 'DRAFT' } });
      const promoted = expectOk(await t.gql(PROMOTED, { id: res.id }, { token: reader.token })).topic;
      expect(promoted.article.promotedFrom).toEqual({ id: answer.id });
      expect(promoted.article.credits).toEqual([{ role: 'ANSWER', user: { handle: answerer.handle } }, { role: 'QUESTION', user: { handle: asker.handle } }]);
      expect(promoted.firstPost.bodyHtml).toContain('<strong>citric acid</strong>');
      // The thread says nothing until the article is published.
      expect(expectOk(await t.gql(THREAD, { id: question.id }, { token: asker.token })).topic.knowledgeArticles).toEqual([]);
      expect(expectError(await api.promote(editor.token, { postId: answer.id, boardId: board, title: 'Again' }), 'BAD_USER_INPUT').extensions.fields![0]).toEqual({
        field: 'postId', message: 'is already an article of this board',
      });
      topicOf(await api.publish(editor.token, res.id));
      expect(expectOk(await t.gql(THREAD, { id: question.id }, { token: asker.token })).topic.knowledgeArticles).toEqual([{ id: res.id, title: 'Descaling the boiler' }]);
      expect(expectOk(await t.gql(THREAD, { id: question.id })).topic.knowledgeArticles).toEqual([{ id: res.id, title: 'Descaling the boiler' }]);
      await drain();
      expect((await notifications(answerer, res.id)).map((n: any) => n.kind)).toContain('ARTICLE_PUBLISHED');
    });

    it('lists the thread’s articles afresh after a publication, an archive or a moderator’s deletion of the same request', async () => {
      const thread = await createTopic(t, asker.token, forum, { title: 'How do I bleed the radiators?', kind: 'QUESTION' });
      const post = await reply(t, answerer.token, thread.id, 'Open the valve at the top with a key');
      const id = topicOf(await api.promote(editor.token, { postId: post.id, boardId: board, title: 'Bleeding the radiators' })).id;
      const LISTED = `knowledgeArticles { id }`;
      const step = (mutation: string) =>
        t.gql(
          `mutation($q: ID!, $id: ID!) { read: markRead(input: { topicId: $q, postNumber: 1 }) { ${LISTED} } step: ${mutation}(topicId: $id) { id } again: markRead(input: { topicId: $q, postNumber: 1 }) { ${LISTED} } }`,
          { q: thread.id, id }, { token: editor.token },
        );
      const published = expectOk(await step('publishArticle'));
      expect([published.read.knowledgeArticles, published.again.knowledgeArticles]).toEqual([[], [{ id }]]);
      const archived = expectOk(await step('archiveArticle'));
      expect([archived.read.knowledgeArticles, archived.again.knowledgeArticles]).toEqual([[{ id }], []]);
      // A moderator's step on the article's first post (the forum's, not the knowledge base's) too.
      expectOk(await api.unarchive(editor.token, id));
      const [{ id: first }] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [id]);
      const deleted = expectOk(await t.gql(
        `mutation($q: ID!, $p: ID!) { read: markRead(input: { topicId: $q, postNumber: 1 }) { ${LISTED} } step: moderatePost(input: { postId: $p, action: DELETE }) { id } again: markRead(input: { topicId: $q, postNumber: 1 }) { ${LISTED} } }`,
        { q: thread.id, p: first }, { token: editor.token },
      ));
      expect([deleted.read.knowledgeArticles, deleted.again.knowledgeArticles]).toEqual([[{ id }], []]);
    });

    describe('decided on the post as it stands under its lock', () => {
      /**
       * `promoter` promotes `postId` while a transaction of the test's holds what `lock` takes, as
       * another writer would, changed under that lock (`change`) and not committed yet: the
       * promotion read it as it was, and answers once that transaction commits. Also answers
       * whether an article now comes from the post.
       */
      const promotedAsHeld = async (
        promoter: TestUser,
        postId: string,
        [sql, params]: [string, unknown[]],
        change: (h: HeldLock) => Promise<unknown> = async () => undefined,
      ) => {
        const res = await withLockHeld(t, sql, params, async (h) => {
          await change(h);
          const promoted = api.promote(promoter.token, { postId, boardId: board, title: 'Promoted behind a lock' });
          await doneOrWaiting(t, promoted, 1, h);
          await h.release();
          return promoted;
        });
        const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM articles WHERE promoted_from_post_id = $1`, [postId]);
        return { res, copied: n > 0 };
      };
      /** An editor promotes a new reply to the question (see promotedAsHeld). */
      const promotedBehind = async (lock: (postId: string) => [string, unknown[]], change: (h: HeldLock, postId: string) => Promise<unknown>) => {
        const post = await reply(t, answerer.token, question.id, 'Flush the boiler before descaling it');
        return promotedAsHeld(editor, post.id, lock(post.id), (h) => change(h, post.id));
      };
      const heldPost = (postId: string): [string, unknown[]] => [`SELECT 1 FROM posts WHERE id = $1 FOR NO KEY UPDATE`, [postId]];

      it('refuses a post a moderator hides meanwhile, rather than copying it', async () => {
        const { res, copied } = await promotedBehind(heldPost, (h, postId) => h.query(`UPDATE posts SET state = 'HIDDEN' WHERE id = $1`, [postId]));
        expect(expectError(res, 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'postId', message: 'must be a visible post' }]);
        expect(copied).toBe(false);
      });

      it('refuses a post its author edits meanwhile, rather than copying what it said before', async () => {
        const { res, copied } = await promotedBehind(heldPost, (h, postId) => h.query(`UPDATE posts SET body_source = 'Edited: do not flush it', body_html = '<p>Edited: do not flush it</p>' WHERE id = $1`, [postId]));
        expect(expectError(res, 'CONFLICT').message).toMatch(/edited meanwhile/);
        expect(copied).toBe(false);
      });

      it('answers CONFLICT for a post movePosts takes to another topic meanwhile, rather than crediting and linking the thread it left', async () => {
        const elsewhere = await createTopic(t, asker.token, forum, { title: 'Where flushing went', kind: 'QUESTION' });
        // As movePosts holds it: the source topic's row FOR UPDATE, then the posts moved.
        const { res, copied } = await promotedBehind(
          () => [`SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [question.id]],
          (h, postId) => h.query(`UPDATE posts SET topic_id = $2, number = 1000 WHERE id = $1`, [postId, elsewhere.id]),
        );
        expect(expectError(res, 'CONFLICT').message).toBe(POST_MOVED);
        expect(copied).toBe(false);
      });

      /** A member (not an editor) promotes a new question's accepted answer while `change` (a statement) updates the question's own row (see promotedAsHeld). */
      const promotedBehindThread = async (change: (questionId: string) => [string, unknown[]]) => {
        const q = await createTopic(t, asker.token, forum, { title: 'Does the grinder need oil?', kind: 'QUESTION' });
        const a = await reply(t, answerer.token, q.id, 'Never oil a burr grinder');
        expectOk(await t.gql(`mutation($p: ID!) { acceptAnswer(postId: $p) { id } }`, { p: a.id }, { token: asker.token }));
        return promotedAsHeld(reader, a.id, change(q.id));
      };

      it('refuses an answer its question’s author unaccepts meanwhile, to a member who may promote only the accepted answer', async () => {
        // As setAccepted writes it: the topic's row updated.
        const { res, copied } = await promotedBehindThread((questionId) => [`UPDATE topics SET accepted_post_id = NULL, version = version + 1 WHERE id = $1`, [questionId]]);
        expect(expectError(res, 'FORBIDDEN').message).toMatch(/accepted answer/);
        expect(copied).toBe(false);
      });

      it('refuses an answer whose question a moderator hides meanwhile, rather than copying it out of a hidden thread', async () => {
        // As applyState writes a first post's state: the topic's row updated with it.
        const { res, copied } = await promotedBehindThread((questionId) => [`UPDATE topics SET state = 'HIDDEN', version = version + 1 WHERE id = $1`, [questionId]]);
        expect(expectError(res, 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'postId', message: 'must be a visible post' }]);
        expect(copied).toBe(false);
      });
    });

    it('copies an answer as its promoter may read it: what the censor masks stays masked in the new source', async () => {
      const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
      const rule = expectOk(await t.gql(RULE, { input: { spaceId, pattern: 'darn', kind: 'WORD', action: 'CENSOR', publicReason: 'Language' } }, { token: editor.token })).createWatchedWord.id;
      try {
        const q = await createTopic(t, asker.token, forum, { title: 'Why does the pump stall?', kind: 'QUESTION' });
        const a = await reply(t, answerer.token, q.id, 'The darn valve sticks; clean it');
        expectOk(await t.gql(`mutation($p: ID!) { acceptAnswer(postId: $p) { id } }`, { p: a.id }, { token: asker.token }));
        const SOURCE = `query($id: ID!) { topic(id: $id) { firstPost { bodySource } } }`;
        const byReader = topicOf(await api.promote(reader.token, { postId: a.id, boardId: board, title: 'A stalling pump' }));
        expect(expectOk(await t.gql(SOURCE, { id: byReader.id }, { token: reader.token })).topic.firstPost.bodySource).toBe('The ■■■■ valve sticks; clean it');
        // Its author may copy their own words as they wrote them.
        const other = await makeBoard(t, spaceId, 'KNOWLEDGE');
        const byAuthor = topicOf(await api.promote(answerer.token, { postId: a.id, boardId: other, title: 'A stalling pump' }));
        expect(expectOk(await t.gql(SOURCE, { id: byAuthor.id }, { token: answerer.token })).topic.firstPost.bodySource).toBe('The darn valve sticks; clean it');
      } finally {
        await t.sql(`DELETE FROM watched_words WHERE id = $1`, [rule]);
      }
    });

    it('screens a revision’s summary and note as its title and body: BLOCK refuses, CENSOR masks', async () => {
      const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
      const rules = [
        expectOk(await t.gql(RULE, { input: { spaceId, pattern: 'darn', kind: 'WORD', action: 'CENSOR', publicReason: 'Language' } }, { token: editor.token })).createWatchedWord.id,
        expectOk(await t.gql(RULE, { input: { spaceId, pattern: 'scamword', kind: 'WORD', action: 'BLOCK', publicReason: 'No scams here' } }, { token: editor.token })).createWatchedWord.id,
      ];
      try {
        const own = await publishedArticle(t, author.token, editor.token, board, { title: 'Screened summaries' });
        const blocked = expectError(await api.update(author.token, { topicId: own, summary: 'buy scamword now' }), 'BAD_USER_INPUT');
        expect(blocked.extensions.fields).toEqual([{ field: 'summary', message: 'Your post was refused: No scams here' }]);
        expectError(await api.update(author.token, { topicId: own, body: 'fine', note: 'see scamword.example' }), 'BAD_USER_INPUT');
        topicOf(await api.update(author.token, { topicId: own, summary: 'A darn good summary', note: 'darn typos fixed' }));
        const [rev] = await t.sql(`SELECT summary, note FROM article_revisions WHERE topic_id = $1 ORDER BY number DESC LIMIT 1`, [own]);
        expect(rev).toEqual({ summary: 'A ■■■■ good summary', note: '■■■■ typos fixed' });
        expect(await t.sql(`SELECT count(*)::int AS n FROM article_revisions WHERE topic_id = $1`, [own])).toEqual([{ n: 2 }]);
      } finally {
        await t.sql(`DELETE FROM watched_words WHERE id = ANY($1::uuid[])`, [rules]);
      }
    });

    it('lets only editors promote other posts; refuses what is not a visible forum post or not a knowledge board', async () => {
      const plain = await reply(t, answerer.token, question.id, 'Another idea: vinegar');
      const before = await t.sql(`SELECT count(*)::int AS n FROM articles`);
      expect(expectError(await api.promote(reader.token, { postId: plain.id, boardId: board, title: 'Vinegar' }), 'FORBIDDEN').message).toMatch(/accepted answer/);
      expect(expectError(await api.promote(editor.token, { postId: plain.id, boardId: forum, title: 'Vinegar' }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('boardId');
      expectError(await api.promote(editor.token, { postId: plain.id, boardId: board, title: 'V' }), 'BAD_USER_INPUT');
      const staff = await makeGroup(t);
      const insider = await makeUser(t, { groups: [staff] });
      const secret = await createTopic(t, insider.token, await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id));
      expectError(await api.promote(editor.token, { postId: secret.firstPostId, boardId: board, title: 'Leak' }), 'NOT_FOUND');
      const article = await publishedArticle(t, author.token, editor.token, board);
      const articlePost = topicOf(await api.get(editor.token, article)).firstPost.id;
      expect(expectError(await api.promote(editor.token, { postId: articlePost, boardId: board, title: 'Copy' }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('postId');
      expect(await t.sql(`SELECT count(*)::int AS n FROM articles`)).toEqual([{ n: before[0].n + 1 }]);
      // Editors promote any post.
      expect(topicOf(await api.promote(editor.token, { postId: plain.id, boardId: board, title: 'Descaling with vinegar' })).article.state).toBe('DRAFT');
    });

    it('tells nobody of another member’s draft from the same post; an editor sees it', async () => {
      const q = await createTopic(t, asker.token, forum, { title: 'Why does the pump stall?', kind: 'QUESTION' });
      const a = await reply(t, answerer.token, q.id, 'The impeller is clogged');
      expectOk(await t.gql(`mutation($p: ID!) { acceptAnswer(postId: $p) { id } }`, { p: a.id }, { token: asker.token }));
      const drafted = topicOf(await api.promote(reader.token, { postId: a.id, boardId: board, title: 'A stalling pump' }));
      expectNotFound(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: drafted.id }, { token: asker.token }), 'topic');
      // The asker cannot see the reader's draft, so it does not stop them either.
      const second = topicOf(await api.promote(asker.token, { postId: a.id, boardId: board, title: 'Unclogging the pump' }));
      expect(second.article.state).toBe('DRAFT');
      // Their own draft stops them, and an editor sees both. (A draft gets no owner before it is published.)
      expect(expectError(await api.settings(editor.token, { topicId: second.id, ownerUserId: reader.id }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('ownerUserId');
      expect(expectError(await api.promote(asker.token, { postId: a.id, boardId: board, title: 'Once more' }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('postId');
      expectError(await api.promote(editor.token, { postId: a.id, boardId: board, title: 'Editor copy' }), 'BAD_USER_INPUT');
      // The board publishes one of the two, even while the published one has a new draft.
      topicOf(await api.publish(editor.token, drafted.id));
      topicOf(await api.update(editor.token, { topicId: drafted.id, body: 'a better version, being written' }));
      expect(expectError(await api.publish(editor.token, second.id), 'BAD_USER_INPUT').message).toMatch(/already has as a published article/);
    });

    it('suggests related published articles on the question', async () => {
      await drain();
      const q = `query($id: ID!) { topic(id: $id) { relatedArticles(first: 3) { id title } } }`;
      const related = expectOk(await t.gql(q, { id: question.id }, { token: reader.token })).topic.relatedArticles;
      expect(related.map((r: any) => r.title)).toContain('Descaling the boiler');
      expect(related.map((r: any) => r.title)).not.toContain('Descaling with vinegar'); // a draft
      expectError(await t.gql(`query($id: ID!) { topic(id: $id) { relatedArticles(first: 50) { id } } }`, { id: question.id }, { token: reader.token }), 'BAD_USER_INPUT');
    });
  });
});
