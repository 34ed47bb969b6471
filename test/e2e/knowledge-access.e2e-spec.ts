import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { draftArticle, kb, publishedArticle, topicOf } from '../factories/knowledge';
import { bootTestApp, expectError, expectNotFound, expectOk, TestApp } from '../support/test-app';
import { connectLive, heardLive } from '../support/live-client';

const BOARD = `query($b: ID!) { board(id: $b) { topics(first: 50) { totalCount edges { node { id title } } } articleTree { depth parentId topic { id title } } } }`;
const SEARCH = `query($q: String!) { search(query: $q, first: 20) { totalCount edges { node { topic { id } } } } }`;
const STALE = `query($s: ID!) { staleArticles(spaceId: $s, first: 10) { totalCount edges { node { id } } } }`;
const RELATED = `query($id: ID!) { topic(id: $id) { relatedArticles(first: 5) { id title } } }`;
const FAMILY = `query($id: ID!) { topic(id: $id) { article { parent { id } children { id } breadcrumbs { id } revisions { number } } } }`;
const ACTIVITY = `query($h: String!) { user(handle: $h) { posts(first: 50) { totalCount edges { node { topic { id } } } } } }`;

describe('knowledge base: who sees what', () => {
  let t: TestApp;
  let api: ReturnType<typeof kb>;
  let employees: string;
  let employee: TestUser;
  let internalEditor: TestUser;
  let customer: TestUser;
  let writer: TestUser;
  let publicEditor: TestUser;
  let internalSpace: { id: string };
  let publicSpace: { id: string };
  let internalKb: string;
  let publicKb: string;
  const sockets: Socket[] = [];

  const drain = () => t.get(OutboxWorker).drain();
  const ids = (edges: any[]) => edges.map((e: any) => e.node?.id ?? e.node.topic.id);
  /** An internal question's accepted answer (the internal editor's, to the employee), promoted by the employee into a public knowledge board: the draft's id. */
  const promotedInternalAnswer = async (question: string, answerBody: string, title: string) => {
    const thread = await createTopic(t, employee.token, await makeBoard(t, internalSpace.id), { title: question, kind: 'QUESTION' });
    const answer = await reply(t, internalEditor.token, thread.id, answerBody);
    expectOk(await t.gql(`mutation($p: ID!) { acceptAnswer(postId: $p) { id } }`, { p: answer.id }, { token: employee.token }));
    const id: string = topicOf(await api.promote(employee.token, { postId: answer.id, boardId: await makeBoard(t, publicSpace.id, 'KNOWLEDGE'), title })).id;
    return { answer, id };
  };

  /** A public space of its own, moderated (and so published in) by the public editor and `other`, and its knowledge board. */
  const editedBy = async (other: TestUser) => {
    const space = await makeSpace(t, 'PUBLIC', [{ userId: publicEditor.id, level: 'MODERATE' }, { userId: other.id, level: 'MODERATE' }]);
    return { space, board: await makeBoard(t, space.id, 'KNOWLEDGE') };
  };
  /** A revision of the article `id` with `body`, by `writerToken`'s user, published by `publisherToken`'s, and what it told delivered. */
  const publishRevision = async (writerToken: string, publisherToken: string, id: string, body: string) => {
    topicOf(await api.update(writerToken, { topicId: id, body }));
    topicOf(await api.publish(publisherToken, id));
    await drain();
  };
  /** `u` watching the board. */
  const watch = async (u: TestUser, boardId: string) =>
    expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId, level: 'WATCHING' } }, { token: u.token }));
  /** The notices `u` got of the article `id`, oldest first: their kind and who from; only those of `kinds` when given. */
  const notices = (u: TestUser, id: string, kinds?: string[]) =>
    t.sql(`SELECT kind, actor_id FROM notifications WHERE user_id = $1 AND topic_id = $2 AND ($3::text[] IS NULL OR kind::text = ANY($3::text[])) ORDER BY created_at, kind`, [u.id, id, kinds ?? null]);
  /** The kinds of `notices`. */
  const kindsOf = async (u: TestUser, id: string) => (await notices(u, id)).map((r: any) => r.kind);

  beforeAll(async () => {
    t = await bootTestApp();
    api = kb(t);
    employees = await makeGroup(t);
    employee = await makeUser(t, { groups: [employees] });
    internalEditor = await makeUser(t, { groups: [employees] });
    customer = await makeUser(t);
    writer = await makeUser(t);
    publicEditor = await makeUser(t);
    internalSpace = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }, { userId: internalEditor.id, level: 'MODERATE' }]);
    publicSpace = await makeSpace(t, 'PUBLIC', [{ userId: publicEditor.id, level: 'MODERATE' }]);
    internalKb = await makeBoard(t, internalSpace.id, 'KNOWLEDGE');
    publicKb = await makeBoard(t, publicSpace.id, 'KNOWLEDGE');
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  it('never shows customers an internal article: by id, board, slug, search, stale list or suggestions', async () => {
    const id = await publishedArticle(t, employee.token, internalEditor.token, internalKb, { title: 'Escalation matrix for outages', body: 'Call the duty manager' });
    await t.sql(`UPDATE articles SET verified_until = now() - interval '1 day' WHERE topic_id = $1`, [id]);
    await drain();
    expectError(await api.get(customer.token, id), 'NOT_FOUND');
    expectError(await api.get(undefined, id), 'NOT_FOUND');
    expectNotFound(await t.gql(BOARD, { b: internalKb }, { token: customer.token }), 'board');
    expectError(await t.gql(`query($b: ID!) { articleBySlug(boardId: $b, slug: "escalation-matrix-for-outages") { id } }`, { b: internalKb }, { token: customer.token }), 'NOT_FOUND');
    expect(expectOk(await t.gql(SEARCH, { q: 'escalation matrix' }, { token: customer.token })).search.totalCount).toBe(0);
    expectError(await t.gql(STALE, { s: internalSpace.id }, { token: customer.token }), 'NOT_FOUND');
    const question = await createTopic(t, customer.token, await makeBoard(t, publicSpace.id), { title: 'What is the escalation matrix for outages?', kind: 'QUESTION' });
    await drain();
    expect(expectOk(await t.gql(RELATED, { id: question.id }, { token: customer.token })).topic.relatedArticles).toEqual([]);
    // Employees get it everywhere.
    expect(expectOk(await t.gql(SEARCH, { q: 'escalation matrix' }, { token: employee.token })).search.totalCount).toBeGreaterThan(0);
    expect(ids(expectOk(await t.gql(STALE, { s: internalSpace.id }, { token: employee.token })).staleArticles.edges)).toEqual([id]);
    expect(expectOk(await t.gql(RELATED, { id: question.id }, { token: employee.token })).topic.relatedArticles.map((a: any) => a.id)).toEqual([id]);
  });

  it('does not name the people of an internal thread to those who may not read it, when its answer becomes a public article', async () => {
    const { answer, id } = await promotedInternalAnswer('Who owns the status page?', 'The platform team owns it; page them for changes.', 'Changing the status page');
    topicOf(await api.publish(publicEditor.token, id));
    const CREDITS = `query($id: ID!) { topic(id: $id) { title article { promotedFrom { id } credits { role user { handle } } } } }`;
    expect(expectOk(await t.gql(CREDITS, { id }, { token: customer.token })).topic).toEqual({ title: 'Changing the status page', article: { promotedFrom: null, credits: [] } });
    expect(expectOk(await t.gql(CREDITS, { id }, { token: employee.token })).topic.article).toEqual({
      promotedFrom: { id: answer.id },
      credits: [{ role: 'ANSWER', user: { handle: internalEditor.handle } }, { role: 'QUESTION', user: { handle: employee.handle } }],
    });
  });

  it('does not point the editors of a public article at the internal post it was promoted from, in its history either', async () => {
    const { answer, id } = await promotedInternalAnswer('Where are the VPN keys kept?', 'In the vault, under ops.', 'VPN keys');
    const HISTORY = `query($id: ID!) { topic(id: $id) { article { promotedFrom { id } history { action note } } } }`;
    // The public space's editor reviews the draft, and may not read the thread it came from.
    const forEditor = expectOk(await t.gql(HISTORY, { id }, { token: publicEditor.token })).topic.article;
    expect(forEditor.promotedFrom).toBeNull();
    expect(forEditor.history.find((e: any) => e.action === 'PROMOTED')).toEqual({ action: 'PROMOTED', note: null });
    expect(JSON.stringify(forEditor)).not.toContain(answer.id);
    // Its promoter reads the thread, and where it came from.
    expect(expectOk(await t.gql(HISTORY, { id }, { token: employee.token })).topic.article.history.find((e: any) => e.action === 'PROMOTED')).toEqual({
      action: 'PROMOTED', note: `from post ${answer.id}`,
    });
  });

  it('does not name the asker of an internal thread once its promoted answer is moved where the public reads it', async () => {
    const { answer, id } = await promotedInternalAnswer('Who signs off on refunds?', 'Refunds over 500 need the finance lead.', 'Refund sign-off');
    topicOf(await api.publish(publicEditor.token, id));
    // An admin splits the answer off into a public topic: the answer is the public's to read now, the thread it came from is not.
    const admin = await makeUser(t, { role: 'ADMIN' });
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, {
      input: { postIds: [answer.id], newTopic: { boardId: await makeBoard(t, publicSpace.id), title: 'Refund sign-off, answered' } },
    }, { token: admin.token }));
    const CREDITS = `query($id: ID!) { topic(id: $id) { article { credits { role user { handle } } } } }`;
    expect(expectOk(await t.gql(CREDITS, { id }, { token: customer.token })).topic.article.credits).toEqual([]);
    expect(expectOk(await t.gql(CREDITS, { id }, { token: employee.token })).topic.article.credits).toEqual([
      { role: 'ANSWER', user: { handle: internalEditor.handle } }, { role: 'QUESTION', user: { handle: employee.handle } },
    ]);
  });

  describe('drafts', () => {
    let parent: string;
    let draft: string;
    let child: string;

    beforeAll(async () => {
      parent = await publishedArticle(t, writer.token, publicEditor.token, publicKb, { title: 'Getting started' });
      draft = await draftArticle(t, writer.token, publicKb, { title: 'Unreleased thermostat pairing', body: 'Codename zephyrine', parentId: parent });
      child = await publishedArticle(t, writer.token, publicEditor.token, publicKb, { title: 'Pairing troubleshooting', parentId: draft });
      await drain();
    });

    it('are absent for readers: by id, in board lists and counts, in the tree and children', async () => {
      expectError(await api.get(customer.token, draft), 'NOT_FOUND');
      const board = expectOk(await t.gql(BOARD, { b: publicKb }, { token: customer.token })).board;
      expect(ids(board.topics.edges).sort()).toEqual([parent, child].sort());
      expect(board.topics.totalCount).toBe(2);
      // The published child of a draft shows in the draft's place, under the draft's parent.
      expect(board.articleTree).toEqual([
        { depth: 0, parentId: null, topic: { id: parent, title: 'Getting started' } },
        { depth: 1, parentId: parent, topic: { id: child, title: 'Pairing troubleshooting' } },
      ]);
      expect(expectOk(await t.gql(FAMILY, { id: parent }, { token: customer.token })).topic.article.children).toEqual([{ id: child }]);
      expect(expectOk(await t.gql(FAMILY, { id: child }, { token: customer.token })).topic.article).toMatchObject({ parent: { id: parent }, breadcrumbs: [{ id: parent }] });
      expect(JSON.stringify(board)).not.toContain('Unreleased');
    });

    it('are in place for their author and editors', async () => {
      for (const u of [writer, publicEditor]) {
        const tree = expectOk(await t.gql(BOARD, { b: publicKb }, { token: u.token })).board.articleTree;
        expect(tree.map((n: any) => [n.depth, n.topic.id])).toEqual([[0, parent], [1, draft], [2, child]]);
        expect(expectOk(await t.gql(FAMILY, { id: child }, { token: u.token })).topic.article.breadcrumbs).toEqual([{ id: parent }, { id: draft }]);
      }
      const other = await makeUser(t);
      expectError(await api.get(other.token, draft), 'NOT_FOUND');
    });

    it('are absent from search, profile activity, suggestions and live rooms', async () => {
      expect(expectOk(await t.gql(SEARCH, { q: 'zephyrine' }, { token: customer.token })).search.totalCount).toBe(0);
      expect(expectOk(await t.gql(SEARCH, { q: 'unreleased thermostat' }, { token: customer.token })).search.edges).toEqual([]);
      const activity = expectOk(await t.gql(ACTIVITY, { h: writer.handle }, { token: customer.token })).user.posts;
      expect(ids(activity.edges.map((e: any) => ({ node: e.node.topic })))).not.toContain(draft);
      expect(activity.totalCount).toBe(activity.edges.length);
      const question = await createTopic(t, customer.token, await makeBoard(t, publicSpace.id), { title: 'Thermostat pairing unreleased?', kind: 'QUESTION' });
      await drain();
      expect(expectOk(await t.gql(RELATED, { id: question.id }, { token: customer.token })).topic.relatedArticles.map((a: any) => a.id)).not.toContain(draft);
      expect(expectOk(await t.gql(RELATED, { id: question.id }, { token: publicEditor.token })).topic.relatedArticles.map((a: any) => a.id)).not.toContain(draft);
      const s = await connect(customer.token);
      expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: draft })).toEqual({ ok: false, code: 'NOT_FOUND' });
    });

    it('a published article’s new draft reaches neither readers’ pages nor their live room; its publication does', async () => {
      const s = await connect(customer.token);
      expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: parent })).toEqual({ ok: true });
      const updates: any[] = [];
      s.on('post:updated', (p) => updates.push(p));
      topicOf(await api.update(writer.token, { topicId: parent, body: 'draft words kestrelwing' }));
      await drain();
      expect(expectOk(await t.gql(SEARCH, { q: 'kestrelwing' }, { token: customer.token })).search.totalCount).toBe(0);
      const published = heardLive(s, 'post:updated');
      topicOf(await api.publish(publicEditor.token, parent));
      expect(await published.first((e) => e.topicId === parent)).toMatchObject({ topicId: parent, post: { bodyHtml: expect.stringContaining('kestrelwing') } });
      expect(updates).toHaveLength(1); // the draft edit sent nothing
      await drain();
      expect(expectOk(await t.gql(SEARCH, { q: 'kestrelwing' }, { token: customer.token })).search.totalCount).toBe(1);
    });
  });

  it('leaves an editor sanctioned in the space no editor’s view: silenced, a reader’s; suspended, nothing', async () => {
    const editor = await makeUser(t);
    const { space, board } = await editedBy(editor);
    const published = await publishedArticle(t, writer.token, publicEditor.token, board, { title: 'Router reset steps' });
    topicOf(await api.update(writer.token, { topicId: published, body: 'draft words marmoset' }));
    topicOf(await api.submit(writer.token, published));
    const draft = await draftArticle(t, writer.token, board, { title: 'Unannounced firmware', body: 'Codename ocelot' });
    await t.sql(`UPDATE articles SET verified_until = now() - interval '1 day' WHERE topic_id = $1`, [published]);
    await drain();
    const sanction = (kind: string) =>
      t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, $2, 'test', $3, now() + interval '1 day') RETURNING id`, [editor.id, kind, space.id]);
    const REVIEW = `query($s: ID!) { articlesInReview(spaceId: $s) { totalCount edges { node { id } } } }`;
    const VIEW = `query($id: ID!) { topic(id: $id) { article { state hasUnpublishedChanges currentRevision { bodyHtml } revisions { number } history { action } viewerIsEditor } } }`;
    // Before: the editor's view.
    expect(ids(expectOk(await t.gql(REVIEW, { s: space.id }, { token: editor.token })).articlesInReview.edges)).toEqual([published]);
    expect(topicOf(await api.get(editor.token, draft)).id).toBe(draft);
    const [silence] = await sanction('SILENCE');
    expectError(await t.gql(REVIEW, { s: space.id }, { token: editor.token }), 'FORBIDDEN');
    expectError(await api.get(editor.token, draft), 'NOT_FOUND');
    const view = expectOk(await t.gql(VIEW, { id: published }, { token: editor.token })).topic.article;
    expect(view).toEqual({ state: 'PUBLISHED', hasUnpublishedChanges: false, currentRevision: { bodyHtml: expect.not.stringContaining('marmoset') }, revisions: [{ number: 1 }], history: null, viewerIsEditor: false });
    expect(expectOk(await t.gql(BOARD, { b: board }, { token: editor.token })).board.articleTree.map((n: any) => n.topic.id)).toEqual([published]);
    expect(ids(expectOk(await t.gql(STALE, { s: space.id }, { token: editor.token })).staleArticles.edges)).toEqual([published]);
    expectError(await api.publish(editor.token, published), 'FORBIDDEN');
    expectError(await t.gql(`query { search(query: "marmoset ocelot", filter: { includeModerated: true }) { totalCount } }`, {}, { token: editor.token }), 'FORBIDDEN');
    await t.sql(`UPDATE sanctions SET lifted_at = now() WHERE id = $1`, [silence.id]);
    await sanction('SUSPEND');
    for (const res of [
      await api.get(editor.token, published),
      await t.gql(REVIEW, { s: space.id }, { token: editor.token }),
      await t.gql(STALE, { s: space.id }, { token: editor.token }),
      await t.gql(`query($b: ID!) { articleBySlug(boardId: $b, slug: "router-reset-steps") { id } }`, { b: board }, { token: editor.token }),
      await api.publish(editor.token, published),
    ]) expectError(res, 'NOT_FOUND');
    expect((await t.gql(BOARD, { b: board }, { token: editor.token })).data.board).toBeNull();
    expect(await t.sql(`SELECT state FROM articles WHERE topic_id = $1`, [published])).toEqual([{ state: 'IN_REVIEW' }]);
  });

  it('tells a later published revision’s new mentions to those who read the article’s space only, once each, and nothing of a revision never published', async () => {
    const insider = await makeUser(t, { groups: [employees] });
    const outsider = await makeUser(t);
    const id = await publishedArticle(t, employee.token, internalEditor.token, internalKb, { title: 'Mentions of a later revision', body: 'Nobody named yet' });
    await drain();
    const told = (u: TestUser) => notices(u, id);
    // A revision naming both, never published: the one after it, naming nobody, is.
    topicOf(await api.update(employee.token, { topicId: id, body: `Ask @${insider.handle} or @${outsider.handle}` }));
    await publishRevision(employee.token, internalEditor.token, id, 'Still nobody named');
    expect(await told(insider)).toEqual([]);
    expect(await told(outsider)).toEqual([]);
    // Published naming both: the employee who reads the space hears it from its writer; the customer, who does not, never.
    await publishRevision(employee.token, internalEditor.token, id, `Ask @${insider.handle} or @${outsider.handle}`);
    expect(await told(insider)).toEqual([{ kind: 'MENTION', actor_id: employee.id }]);
    expect(await told(outsider)).toEqual([]);
    expect(expectOk(await t.gql(`{ notifications(first: 50) { edges { node { kind } } } }`, {}, { token: outsider.token })).notifications.edges).toEqual([]);
    // Published again still naming them: nobody is told a second time.
    await publishRevision(employee.token, internalEditor.token, id, `Ask @${insider.handle} or @${outsider.handle} first`);
    expect(await told(insider)).toEqual([{ kind: 'MENTION', actor_id: employee.id }]);
    expect(await told(outsider)).toEqual([]);
  });

  it('names a later published revision’s writer as who mentions, their account gone or not, and never tells its publisher of a mention in what they publish', async () => {
    const [secondEditor, reader] = [await makeUser(t), await makeUser(t)];
    const { board } = await editedBy(secondEditor);
    // The writer's account deleted before the revision they wrote is published: the mention is still theirs, not the article author's.
    const gone = await publishedArticle(t, writer.token, publicEditor.token, board, { title: 'Written by one gone', body: 'Nobody named yet' });
    topicOf(await api.update(secondEditor.token, { topicId: gone, body: `Ask @${reader.handle}` }));
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [secondEditor.id]);
    topicOf(await api.publish(publicEditor.token, gone));
    await drain();
    expect(await notices(reader, gone)).toEqual([{ kind: 'MENTION', actor_id: secondEditor.id }]);
    // The publisher named in another's revision publishes it: they read it, and are not told of it; the others named are, from its writer.
    const named = await publishedArticle(t, writer.token, publicEditor.token, board, { title: 'Naming its publisher', body: 'Nobody named yet' });
    await drain();
    await publishRevision(writer.token, publicEditor.token, named, `Ask @${publicEditor.handle} or @${customer.handle}`);
    expect(await notices(publicEditor, named)).toEqual([]);
    expect(await notices(customer, named)).toEqual([{ kind: 'MENTION', actor_id: writer.id }]);
    // An editor naming themselves in the revision they publish is not told of it either.
    const own = await publishedArticle(t, writer.token, publicEditor.token, board, { title: 'Its publisher names themselves', body: 'Nobody named yet' });
    await drain();
    await publishRevision(publicEditor.token, publicEditor.token, own, `Ask @${publicEditor.handle}`);
    expect(await notices(publicEditor, own)).toEqual([]);
  });

  it('reads the trees and the article again after moveTopic moved an article, in the same request', async () => {
    const mover = await makeUser(t);
    const [from, to] = [await makeSpace(t, 'PUBLIC', [{ userId: mover.id, level: 'MODERATE' }]), await makeSpace(t, 'RESTRICTED', [{ userId: mover.id, level: 'MODERATE' }])];
    const [fromKb, toKb] = [await makeBoard(t, from.id, 'KNOWLEDGE'), await makeBoard(t, to.id, 'KNOWLEDGE')];
    const parent = await publishedArticle(t, writer.token, mover.token, fromKb, { title: 'Stays in the public space' });
    const moved = await publishedArticle(t, writer.token, mover.token, fromKb, { title: 'Moved where the public cannot read', parentId: parent });
    const child = await publishedArticle(t, writer.token, mover.token, fromKb, { title: 'Left behind', parentId: moved });
    const stays = await publishedArticle(t, mover.token, mover.token, toKb, { title: 'Already there' });
    const TREE = `board { id articleTree { depth parentId topic { id } } }`;
    // Both trees read, then the article moved, then both read again: one request.
    const res = expectOk(await t.gql(
      `mutation($move: MoveTopicInput!, $parent: ID!, $stays: ID!, $child: ID!) {
        before: verifyArticle(topicId: $parent) { ${TREE} }
        beforeThere: verifyArticle(topicId: $stays) { ${TREE} }
        moved: moveTopic(input: $move) { id board { id } article { parent { id } breadcrumbs { id } } }
        after: verifyArticle(topicId: $parent) { ${TREE} }
        afterThere: verifyArticle(topicId: $stays) { ${TREE} }
        child: verifyArticle(topicId: $child) { article { parent { id } } }
      }`,
      { move: { topicId: moved, boardId: toKb }, parent, stays, child },
      { token: mover.token },
    ));
    const tree = (r: any) => r.board.articleTree.map((e: any) => [e.topic.id, e.parentId]);
    expect(tree(res.before)).toEqual([[parent, null], [moved, parent], [child, moved]]);
    expect(res.moved).toEqual({ id: moved, board: { id: toKb }, article: { parent: null, breadcrumbs: [] } });
    // The public board's tree as it is now: without the moved article, its child under its former parent.
    expect(tree(res.after)).toEqual([[parent, null], [child, parent]]);
    expect(tree(res.afterThere)).toEqual([[stays, null], [moved, null]]);
    expect(res.child.article.parent).toEqual({ id: parent });
    // As another request reads them.
    const BOARD_TREE = `query($b: ID!) { board(id: $b) { articleTree { parentId topic { id } } } }`;
    const fresh = async (b: string) => expectOk(await t.gql(BOARD_TREE, { b }, { token: mover.token })).board.articleTree.map((e: any) => [e.topic.id, e.parentId]);
    expect(await fresh(fromKb)).toEqual(tree(res.after));
    expect(await fresh(toKb)).toEqual(tree(res.afterThere));
  });

  it('names a first publication’s writer of the published revision as who mentions, not the article’s author, and never tells that writer of naming themselves', async () => {
    const [teammate, reader] = [await makeUser(t), await makeUser(t)];
    const { board } = await editedBy(teammate);
    const told = (u: TestUser, id: string) => notices(u, id, ['MENTION']);
    // The author's draft, then a teammate's revision naming a reader and themselves, published by a third.
    const id = await draftArticle(t, writer.token, board, { title: 'Written by two', body: 'Nobody named yet' });
    await publishRevision(teammate.token, publicEditor.token, id, `Ask @${reader.handle} or me, @${teammate.handle}`);
    expect(await told(reader, id)).toEqual([{ kind: 'MENTION', actor_id: teammate.id }]);
    expect(await told(teammate, id)).toEqual([]);
  });

  it('tells the article’s author of a mention of them in a teammate’s revision, at its first publication and at a later one, once, if they may read it, and never of their own', async () => {
    const [author, teammate] = [await makeUser(t), await makeUser(t)];
    const { board } = await editedBy(teammate);
    const told = (u: TestUser, id: string) => notices(u, id, ['MENTION', 'GROUP_MENTION']);
    // The first publication: the author's draft, a teammate's revision naming the author, published by a third.
    const first = await draftArticle(t, author.token, board, { title: 'Its author named at first', body: 'Nobody named yet' });
    await publishRevision(teammate.token, publicEditor.token, first, `Ask @${author.handle}`);
    expect(await told(author, first)).toEqual([{ kind: 'MENTION', actor_id: teammate.id }]);
    // A later publication, the same; published again still naming them: not told twice.
    const later = await publishedArticle(t, author.token, publicEditor.token, board, { title: 'Its author named later', body: 'Nobody named yet' });
    await drain();
    for (const body of [`Ask @${author.handle}`, `Ask @${author.handle} first`]) {
      await publishRevision(teammate.token, publicEditor.token, later, body);
      expect(await told(author, later)).toEqual([{ kind: 'MENTION', actor_id: teammate.id }]);
    }
    // The author naming themselves is told of nothing, on either path.
    const own = await draftArticle(t, author.token, board, { title: 'Its author names themselves', body: `I am @${author.handle}` });
    topicOf(await api.publish(publicEditor.token, own));
    await publishRevision(author.token, publicEditor.token, later, `Me, @${author.handle}, again`);
    expect(await told(author, own)).toEqual([]);
    expect(await told(author, later)).toEqual([{ kind: 'MENTION', actor_id: teammate.id }]);
    // An author who may no longer read the space is told nothing, on either path (judged at delivery).
    const insiders = await makeGroup(t);
    const [gone, goneLater] = [await makeUser(t, { groups: [insiders] }), await makeUser(t, { groups: [insiders] })];
    const closed = await makeSpace(t, 'RESTRICTED', [{ groupId: insiders, level: 'PARTICIPATE' }, { userId: teammate.id, level: 'MODERATE' }]);
    const closedBoard = await makeBoard(t, closed.id, 'KNOWLEDGE');
    const unseenFirst = await draftArticle(t, gone.token, closedBoard, { title: 'Its author left at first', body: 'Nobody named yet' });
    const unseenLater = await publishedArticle(t, goneLater.token, teammate.token, closedBoard, { title: 'Its author left later', body: 'Nobody named yet' });
    await drain();
    topicOf(await api.update(teammate.token, { topicId: unseenFirst, body: `Ask @${gone.handle}` }));
    topicOf(await api.update(teammate.token, { topicId: unseenLater, body: `Ask @${goneLater.handle}` }));
    await t.sql(`DELETE FROM group_members WHERE group_id = $1`, [insiders]);
    topicOf(await api.publish(teammate.token, unseenFirst));
    topicOf(await api.publish(teammate.token, unseenLater));
    await drain();
    expect(await told(gone, unseenFirst)).toEqual([]);
    expect(await told(goneLater, unseenLater)).toEqual([]);
  });

  it('tells someone a publication both names and concerns one notice for it, the mention, on both paths; the step when the mention is not theirs to hear', async () => {
    const [author, teammate, watcher] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const { board } = await editedBy(teammate);
    await watch(watcher, board);
    // The first publication: a teammate's revision names the author and a watcher of the board.
    const first = await draftArticle(t, author.token, board, { title: 'Named at its first publication', body: 'Nobody named yet' });
    await publishRevision(teammate.token, publicEditor.token, first, `Ask @${author.handle} or @${watcher.handle}`);
    expect(await kindsOf(author, first)).toEqual(['MENTION']);
    expect(await kindsOf(watcher, first)).toEqual(['MENTION']);
    expect(await kindsOf(teammate, first)).toEqual(['ARTICLE_PUBLISHED']);
    // A later publication (the revision notice) naming them anew: the mention alone, again.
    const later = await publishedArticle(t, author.token, publicEditor.token, board, { title: 'Named at a later publication', body: 'Nobody named yet' });
    await drain();
    const before = { author: await kindsOf(author, later), watcher: await kindsOf(watcher, later) };
    await publishRevision(teammate.token, publicEditor.token, later, `Ask @${author.handle} or @${watcher.handle}`);
    expect(await kindsOf(author, later)).toEqual([...before.author, 'MENTION']);
    expect(await kindsOf(watcher, later)).toEqual([...before.watcher, 'MENTION']);
    // Named once more after a publication that dropped them: told of the post already, they hear of the step.
    for (const body of ['Nobody named again', `Ask @${author.handle} or @${watcher.handle} once more`]) {
      await publishRevision(teammate.token, publicEditor.token, later, body);
    }
    expect(await kindsOf(author, later)).toEqual([...before.author, 'MENTION', 'ARTICLE_PUBLISHED', 'ARTICLE_PUBLISHED']);
    expect(await kindsOf(watcher, later)).toEqual([...before.watcher, 'MENTION', 'ARTICLE_PUBLISHED', 'ARTICLE_PUBLISHED']);
  });

  it('still tells of the publication someone named by a writer they ignore: the mention does not reach them, so it takes no notice’s place', async () => {
    const [author, teammate, watcher] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const { board } = await editedBy(teammate);
    await watch(watcher, board);
    await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $3), ($2, $3)`, [author.id, watcher.id, teammate.id]);
    const article = await draftArticle(t, author.token, board, { title: 'Named by one they ignore', body: 'Nobody named yet' });
    await publishRevision(teammate.token, publicEditor.token, article, `Ask @${author.handle} or @${watcher.handle}`);
    // As with no mention at all: the author hears of their article's step, the watcher of the author's new article.
    expect(await kindsOf(author, article)).toEqual(['ARTICLE_PUBLISHED']);
    expect(await kindsOf(watcher, article)).toEqual(['ARTICLE_PUBLISHED']);
  });

  it('lists no deleted article among a space’s stale ones, to its moderators either', async () => {
    const kept = await publishedArticle(t, writer.token, publicEditor.token, publicKb, { title: 'Stale and kept', body: 'Kept' });
    const deleted = await publishedArticle(t, writer.token, publicEditor.token, publicKb, { title: 'Stale and deleted', body: 'Deleted' });
    await t.sql(`UPDATE articles SET verified_until = now() - interval '1 day' WHERE topic_id = ANY($1::uuid[])`, [[kept, deleted]]);
    const [post] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [deleted]);
    expect(expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`, { input: { postId: post.id, action: 'DELETE' } }, { token: publicEditor.token })).moderatePost.state).toBe('DELETED');
    expect((await t.sql(`SELECT state FROM topics WHERE id = $1`, [deleted]))[0].state).toBe('DELETED');
    for (const viewer of [publicEditor, customer]) {
      const stale = expectOk(await t.gql(STALE, { s: publicSpace.id }, { token: viewer.token })).staleArticles;
      expect(ids(stale.edges)).toContain(kept);
      expect(ids(stale.edges)).not.toContain(deleted);
      expect(stale.totalCount).toBe(stale.edges.length);
    }
  });

  it('answers a signed-out restore of a revision UNAUTHENTICATED, even named with another article', async () => {
    const id = await publishedArticle(t, writer.token, publicEditor.token, publicKb, { title: 'Restored signed out', body: 'One' });
    const other = await publishedArticle(t, writer.token, publicEditor.token, publicKb, { title: 'Another restored signed out', body: 'Two' });
    const rev = topicOf(await api.get(writer.token, id)).article.revisions[0].id;
    expectError(await api.restore(undefined as unknown as string, rev, other), 'UNAUTHENTICATED');
    expectError(await api.restore(undefined as unknown as string, rev, id), 'UNAUTHENTICATED');
  });

  describe('statement counts', () => {
    const PAGE = `query($id: ID!) { topic(id: $id) { id title firstPost { bodyHtml author { handle } }
      article { state slug verified verificationIntervalDays helpful { yes no } viewerRating { helpful }
        owner { ... on User { handle } ... on Group { name } }
        currentRevision { number bodyHtml author { handle } } publishedRevision { number }
        revisions { number title author { handle } }
        parent { id title } breadcrumbs { id title }
        children { id title author { handle } article { slug state verified } }
        credits { user { handle } } } } }`;
    const TREE = `query($b: ID!) { board(id: $b) { articleTree { depth parentId topic { id title author { handle } article { slug state verified helpful { yes } } } } } }`;

    async function kbWith(children: number, revisions: number) {
      const board = await makeBoard(t, publicSpace.id, 'KNOWLEDGE');
      const top = await publishedArticle(t, writer.token, publicEditor.token, board, { title: 'Top' });
      const page = await publishedArticle(t, writer.token, publicEditor.token, board, { title: 'Page', parentId: top });
      for (let i = 1; i < revisions; i++) topicOf(await api.update(writer.token, { topicId: page, body: `version ${i}` }));
      if (revisions > 1) topicOf(await api.publish(publicEditor.token, page));
      for (let i = 0; i < children; i++) {
        await publishedArticle(t, [writer, publicEditor][i % 2].token, publicEditor.token, board, { title: `Child ${i}`, parentId: page });
      }
      return { board, page };
    }

    it('reads an article page (revisions, tree, children with their articles) in a fixed number of statements', async () => {
      const small = await kbWith(2, 2);
      const large = await kbWith(12, 8);
      const cost = async (id: string) =>
        t.countStatements(async () => {
          const res = expectOk(await t.gql(PAGE, { id }, { token: customer.token }));
          return res;
        });
      const few = await cost(small.page);
      const many = await cost(large.page);
      const res = expectOk(await t.gql(PAGE, { id: large.page }, { token: customer.token })).topic.article;
      expect(res.children).toHaveLength(12);
      expect(res.revisions.length).toBeGreaterThan(1);
      if (process.env.SHOW_COUNTS) console.log('article page statements', many.count, many.statements);
      expect(many.count).toBe(few.count);
      expect(many.count).toBeLessThanOrEqual(12);
    });

    it('reads a board’s article tree in a fixed number of statements', async () => {
      const small = await kbWith(2, 1);
      const large = await kbWith(20, 1);
      const few = await t.countStatements(() => t.gql(TREE, { b: small.board }, { token: customer.token }));
      const many = await t.countStatements(async () => {
        expect(expectOk(await t.gql(TREE, { b: large.board }, { token: customer.token })).board.articleTree).toHaveLength(22);
      });
      if (process.env.SHOW_COUNTS) console.log('tree statements', many.count, many.statements);
      expect(many.count).toBe(few.count);
      expect(many.count).toBeLessThanOrEqual(8);
    });
  });

  function connect(token?: string): Promise<Socket> {
    return connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, token);
  }
});
