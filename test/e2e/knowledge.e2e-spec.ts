import { newId } from '../../libs/core/src/ids';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { ARTICLE, draftArticle, kb, publishedArticle, topicOf } from '../factories/knowledge';
import { BoardKinds } from '../../libs/forum/src/board-kinds';
import { ReportsService } from '../../libs/moderation/src/reports/reports.service';
import { VerificationReminders } from '../../libs/knowledge/src/verification';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { countDeadlocks } from '../support/deadlocks';
import { gateCalls } from '../support/gates';
import { gateHolder, waitForLockWaits } from '../support/lock-waits';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';

const DIFF = `query($from: ID!, $to: ID!) { articleRevisionDiff(fromId: $from, toId: $to) {
  titleChanged summaryChanged added removed from { number } to { number bodySource } lines { kind text oldNumber newNumber } } }`;
const HISTORY = `query($id: ID!) { topic(id: $id) { article { history { action fromState toState note actor { handle } } } } }`;
const BY_SLUG = `query($b: ID!, $s: String!) { articleBySlug(boardId: $b, slug: $s) { id article { slug } } }`;
const NOTIFICATIONS = `{ notifications(first: 50) { edges { node { kind data topic { id } } } } }`;
const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;

describe('knowledge base: revisions and review', () => {
  let t: TestApp;
  let api: ReturnType<typeof kb>;
  let spaceId: string;
  let board: string;
  let author: TestUser;
  let editor: TestUser;
  let editor2: TestUser;
  let reader: TestUser;
  let admin: TestUser;

  const drain = () => t.get(OutboxWorker).drain();
  /** Rows every knowledge write touches: a refused call must leave them all as they were. */
  const writes = async () =>
    (await t.sql(`SELECT (SELECT count(*) FROM article_revisions)::int AS revisions, (SELECT count(*) FROM article_events)::int AS events,
                         (SELECT coalesce(sum(version), 0) FROM articles)::int AS versions, (SELECT count(*) FROM outbox)::int AS outbox,
                         (SELECT coalesce(sum(version), 0) FROM posts)::int AS post_versions`))[0];
  const kinds = async (u: TestUser, topicId?: string) =>
    expectOk(await t.gql(NOTIFICATIONS, {}, { token: u.token }))
      .notifications.edges.map((e: any) => e.node)
      .filter((n: any) => !topicId || n.topic?.id === topicId)
      .map((n: any) => n.kind);

  beforeAll(async () => {
    t = await bootTestApp();
    api = kb(t);
    author = await makeUser(t);
    editor = await makeUser(t);
    editor2 = await makeUser(t);
    reader = await makeUser(t);
    admin = await makeUser(t, { role: 'ADMIN' });
    const space = await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }, { userId: editor2.id, level: 'MODERATE' }]);
    spaceId = space.id;
    board = await makeBoard(t, spaceId, 'KNOWLEDGE');
  });
  afterAll(() => t.close());

  it('creates a draft: DRAFT, revision 1, a slug, invisible to readers', async () => {
    const topic = topicOf(await api.create(author.token, board, { title: 'Reset your password', body: '# Steps\n\n1. Open settings' }));
    expect(topic).toMatchObject({ kind: 'ARTICLE', state: 'PENDING', title: 'Reset your password' });
    // A draft's slug comes from its id: the title's slug is taken at first publication.
    expect(topic.article).toMatchObject({ state: 'DRAFT', slug: `draft-${topic.id}`, hasUnpublishedChanges: true, publishedRevision: null, verified: false });
    expect(topic.article.currentRevision).toMatchObject({ number: 1, title: 'Reset your password' });
    expect(topic.article.currentRevision.bodyHtml).toContain('<h1>Steps</h1>');
    expectError(await api.get(reader.token, topic.id), 'NOT_FOUND');
    expectError(await api.get(undefined, topic.id), 'NOT_FOUND');
    expect(topicOf(await api.get(editor.token, topic.id)).article.state).toBe('DRAFT');
  });

  it('keeps a revision per edit, mirrors the draft into the topic, sanitizes, and writes nothing for an empty edit', async () => {
    const id = await draftArticle(t, author.token, board, { title: 'Pair a hub', body: 'v1' });
    const edited = topicOf(await api.update(author.token, { topicId: id, body: 'v2 <script>alert(1)</script> **bold**', summary: 'How to pair', note: 'more detail' }));
    expect(edited.article.currentRevision).toMatchObject({ number: 2, summary: 'How to pair', bodySource: 'v2 <script>alert(1)</script> **bold**' });
    expect(edited.article.currentRevision.bodyHtml).toContain('<strong>bold</strong>');
    expect(edited.article.currentRevision.bodyHtml).not.toContain('<script');
    // Before the first publication the topic shows the draft (to its author and editors).
    expect(edited.firstPost.bodyHtml).toBe(edited.article.currentRevision.bodyHtml);
    expect(edited.article.revisions.map((r: any) => r.number)).toEqual([2, 1]);
    const before = await writes();
    topicOf(await api.update(author.token, { topicId: id, body: 'v2 <script>alert(1)</script> **bold**' }));
    expect(await writes()).toEqual(before);
  });

  it('refuses bad edits with field errors and writes nothing', async () => {
    const id = await draftArticle(t, author.token, board);
    const before = await writes();
    const none = expectError(await api.update(author.token, { topicId: id }), 'BAD_USER_INPUT');
    expect(none.extensions.fields!.map((f) => f.field)).toEqual(['title', 'body', 'summary']);
    expect(expectError(await api.update(author.token, { topicId: id, title: 'x' }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('title');
    expect(expectError(await api.update(author.token, { topicId: id, summary: 's'.repeat(501) }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('summary');
    expectError(await api.update(author.token, { topicId: 'not-an-id', body: 'x' }), 'BAD_USER_INPUT');
    expectError(await api.update(reader.token, { topicId: id, body: 'x' }), 'NOT_FOUND'); // a draft is invisible to them
    expectError(await api.update(undefined as any, { topicId: id, body: 'x' }), 'UNAUTHENTICATED'); // signed out: before any lookup
    expect(await writes()).toEqual(before);
  });

  it('clears a summary given empty (or blank); an absent or null one stays as it is', async () => {
    const id = await draftArticle(t, author.token, board, { title: 'Summed up', body: 'v1' });
    const summary = (res: GqlResult) => topicOf(res).article.currentRevision.summary;
    expect(summary(await api.update(author.token, { topicId: id, summary: 'An abstract' }))).toBe('An abstract');
    expect(summary(await api.update(author.token, { topicId: id, body: 'v2' }))).toBe('An abstract');
    expect(summary(await api.update(author.token, { topicId: id, body: 'v3', summary: null }))).toBe('An abstract');
    expect(summary(await api.update(author.token, { topicId: id, summary: '' }))).toBe('');
    expect(summary(await api.update(author.token, { topicId: id, summary: 'Another abstract' }))).toBe('Another abstract');
    expect(summary(await api.update(author.token, { topicId: id, summary: '  \n ' }))).toBe('');
    // Clearing one already empty is an edit that changes nothing: nothing written.
    const before = await writes();
    expect(summary(await api.update(author.token, { topicId: id, summary: '' }))).toBe('');
    expect(await writes()).toEqual(before);
    // A null summary alone sets nothing: refused as an edit with nothing in it.
    expect(expectError(await api.update(author.token, { topicId: id, summary: null }), 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual(['title', 'body', 'summary']);
  });

  it('counts a title’s lower bound in code points, as PostgreSQL does', async () => {
    // Two hearts with their variation selectors: 4 characters to char_length, enough for "3–200 characters".
    const topic = topicOf(await api.create(author.token, board, { title: '\u2764\ufe0f\u2764\ufe0f' }));
    expect(topic.article.currentRevision.title).toBe('\u2764\ufe0f\u2764\ufe0f');
    expect(topicOf(await api.update(author.token, { topicId: topic.id, title: '\u263a\ufe0f\u263a\ufe0f' })).article.currentRevision.title).toBe('\u263a\ufe0f\u263a\ufe0f');
    // Two code points are one short, on either mutation, and write nothing.
    const before = await writes();
    expect(expectError(await api.create(author.token, board, { title: '\u{1F44D}\u{1F44D}' }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'title', message: 'must be at least 3 characters' }]);
    expect(expectError(await api.update(author.token, { topicId: topic.id, title: '\u{1F44D}\u{1F44D}' }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'title', message: 'must be at least 3 characters' }]);
    expect(await writes()).toEqual(before);
  });

  it('detects a lost update with baseRevisionId (CONFLICT, nothing written)', async () => {
    const id = await draftArticle(t, author.token, board);
    const first = topicOf(await api.get(author.token, id)).article.currentRevision.id;
    topicOf(await api.update(editor.token, { topicId: id, body: 'the editor was faster', baseRevisionId: first }));
    const before = await writes();
    expectError(await api.update(author.token, { topicId: id, body: 'mine', baseRevisionId: first }), 'CONFLICT');
    expect(await writes()).toEqual(before);
  });

  it('runs DRAFT → IN_REVIEW → DRAFT (changes requested) → IN_REVIEW → PUBLISHED, each step by the right people', async () => {
    const id = await draftArticle(t, author.token, board, { title: 'Firmware updates', body: 'Update monthly' });
    expectError(await api.publish(author.token, id), 'FORBIDDEN'); // authors do not publish
    expectError(await api.requestChanges(editor.token, id, 'why'), 'BAD_USER_INPUT'); // not in review
    const submitted = topicOf(await api.submit(author.token, id));
    expect(submitted.article).toMatchObject({ state: 'IN_REVIEW' });
    expect(submitted.article.submittedAt).not.toBeNull();
    expect(expectError(await api.submit(author.token, id), 'BAD_USER_INPUT').message).toMatch(/already in review/);
    expectError(await api.requestChanges(author.token, id, 'I want changes'), 'FORBIDDEN');
    expect(expectError(await api.requestChanges(editor.token, id, '   '), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('reason');
    const sentBack = topicOf(await api.requestChanges(editor.token, id, 'Mention the rollback'));
    expect(sentBack.article).toMatchObject({ state: 'DRAFT', changesRequested: { reason: 'Mention the rollback', by: { handle: editor.handle } } });
    topicOf(await api.update(author.token, { topicId: id, body: 'Update monthly; roll back from Settings' }));
    topicOf(await api.submit(author.token, id));
    const published = topicOf(await api.publish(editor.token, id));
    expect(published).toMatchObject({ state: 'VISIBLE', firstPost: { state: 'VISIBLE' } });
    expect(published.article).toMatchObject({ state: 'PUBLISHED', hasUnpublishedChanges: false, verified: true, changesRequested: null, submittedAt: null });
    expect(published.article.publishedRevision.number).toBe(2);
    const days = (Date.parse(published.article.verifiedUntil) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);
    expect(expectError(await api.publish(editor.token, id), 'BAD_USER_INPUT').message).toMatch(/already published/);
    // Readers see it now.
    const seen = topicOf(await api.get(reader.token, id));
    expect(seen.article).toMatchObject({ state: 'PUBLISHED', changesRequested: null });
    expect(seen.firstPost.bodyHtml).toContain('roll back from Settings');
    // Every transition is recorded (for the team).
    const history = expectOk(await t.gql(HISTORY, { id }, { token: author.token })).topic.article.history;
    expect(history.map((h: any) => h.action)).toEqual(['CREATED', 'SUBMITTED', 'CHANGES_REQUESTED', 'EDITED', 'SUBMITTED', 'PUBLISHED']);
    expect(history[2]).toMatchObject({ fromState: 'IN_REVIEW', toState: 'DRAFT', note: 'Mention the rollback', actor: { handle: editor.handle } });
    expect(expectOk(await t.gql(HISTORY, { id }, { token: reader.token })).topic.article.history).toBeNull();
    // ...and notified to the author.
    await drain();
    expect(await kinds(author, id)).toEqual(expect.arrayContaining(['ARTICLE_CHANGES_REQUESTED', 'ARTICLE_PUBLISHED']));
  });

  it('keeps readers on the published revision while a new draft is written, then publishes it (new slug, old one still resolves)', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Wi-Fi setup', body: 'Old steps' });
    const v1 = topicOf(await api.get(author.token, id)).article.currentRevision.id;
    const draft = topicOf(await api.update(author.token, { topicId: id, title: 'Wireless setup', body: 'New steps' }));
    expect(draft.article).toMatchObject({ state: 'DRAFT', hasUnpublishedChanges: true, slug: 'wi-fi-setup' });
    expect(draft.title).toBe('Wi-Fi setup');
    const asReader = topicOf(await api.get(reader.token, id));
    expect(asReader).toMatchObject({ title: 'Wi-Fi setup', state: 'VISIBLE' });
    expect(asReader.article).toMatchObject({ state: 'PUBLISHED', hasUnpublishedChanges: false, submittedAt: null });
    expect(asReader.article.currentRevision).toMatchObject({ id: v1, bodySource: null });
    expect(asReader.article.revisions.map((r: any) => r.number)).toEqual([1]);
    expect(asReader.firstPost.bodyHtml).toContain('Old steps');
    expect(JSON.stringify(asReader)).not.toContain('New steps');
    // The draft's revision is not readable by id either.
    expectError(await t.gql(DIFF, { from: v1, to: draft.article.currentRevision.id }, { token: reader.token }), 'NOT_FOUND');

    const republished = topicOf(await api.publish(editor.token, id));
    expect(republished).toMatchObject({ title: 'Wireless setup' });
    expect(republished.article.slug).toBe('wireless-setup');
    expect(topicOf(await api.get(reader.token, id)).firstPost.bodyHtml).toContain('New steps');
    for (const slug of ['wi-fi-setup', 'wireless-setup']) {
      expect(expectOk(await t.gql(BY_SLUG, { b: board, s: slug }, { token: reader.token })).articleBySlug).toEqual({ id, article: { slug: 'wireless-setup' } });
    }
    expectError(await t.gql(BY_SLUG, { b: board, s: 'nothing-here' }, { token: reader.token }), 'NOT_FOUND');
  });

  it('shows readers the first post’s history from the version it was first published with, as a topic published to a board', async () => {
    const REVISIONS = `query($id: ID!) { topic(id: $id) { firstPost { createdAt revisions { number reason editor { handle } createdAt } } } }`;
    const id = await draftArticle(t, author.token, board, { title: 'Printer drivers', body: 'First draft' });
    topicOf(await api.update(author.token, { topicId: id, body: 'Second draft' }));
    topicOf(await api.publish(editor.token, id));
    const asReader = expectOk(await t.gql(REVISIONS, { id }, { token: reader.token })).topic.firstPost;
    // The draft's version was never theirs to read: neither it nor who published over it shows.
    expect(asReader.revisions).toEqual([{ number: 1, reason: null, editor: { handle: author.handle }, createdAt: asReader.createdAt }]);
    // Its author and the editors see the post's whole history.
    for (const u of [author, editor]) {
      expect(expectOk(await t.gql(REVISIONS, { id }, { token: u.token })).topic.firstPost.revisions.map((r: any) => [r.number, r.reason, r.editor.handle])).toEqual([
        [1, null, author.handle], [2, 'article revision 2', editor.handle],
      ]);
    }
    // A later publication is a version readers read: it follows, numbered on.
    topicOf(await api.update(author.token, { topicId: id, body: 'Third text' }));
    topicOf(await api.publish(editor.token, id));
    expect(expectOk(await t.gql(REVISIONS, { id }, { token: reader.token })).topic.firstPost.revisions.map((r: any) => [r.number, r.reason, r.editor.handle])).toEqual([
      [1, null, author.handle], [2, 'article revision 3', editor.handle],
    ]);
  });

  it('takes its slug from the title it is first published with; a draft’s earlier title never resolves', async () => {
    const id = await draftArticle(t, author.token, board, { title: 'Working title' });
    topicOf(await api.update(author.token, { topicId: id, title: 'Final title' }));
    expect(topicOf(await api.publish(editor.token, id)).article.slug).toBe('final-title');
    expectError(await t.gql(BY_SLUG, { b: board, s: 'working-title' }, { token: reader.token }), 'NOT_FOUND');
    expectError(await t.gql(BY_SLUG, { b: board, s: 'working-title' }, { token: author.token }), 'NOT_FOUND');
  });

  it('gives distinct slugs to articles with the same title, taken when they are published', async () => {
    const a = await draftArticle(t, author.token, board, { title: 'Same title' });
    const b = await draftArticle(t, author.token, board, { title: 'Same title' });
    const slugs = [];
    for (const id of [a, b]) slugs.push(topicOf(await api.publish(editor.token, id)).article.slug);
    expect(slugs).toEqual(['same-title', 'same-title-2']);
  });

  it('diffs two revisions line by line and refuses revisions of different articles', async () => {
    const id = await draftArticle(t, author.token, board, { title: 'Diff me', body: 'line one\nline two\nline three' });
    topicOf(await api.update(author.token, { topicId: id, title: 'Diff me now', body: 'line one\nline 2\nline three\nline four' }));
    const revs = topicOf(await api.get(author.token, id)).article.revisions;
    const diff = expectOk(await t.gql(DIFF, { from: revs[1].id, to: revs[0].id }, { token: author.token })).articleRevisionDiff;
    expect(diff).toMatchObject({ titleChanged: true, summaryChanged: false, added: 2, removed: 1, from: { number: 1 }, to: { number: 2 } });
    expect(diff.lines).toEqual([
      { kind: 'UNCHANGED', text: 'line one', oldNumber: 1, newNumber: 1 },
      { kind: 'REMOVED', text: 'line two', oldNumber: 2, newNumber: null },
      { kind: 'ADDED', text: 'line 2', oldNumber: null, newNumber: 2 },
      { kind: 'UNCHANGED', text: 'line three', oldNumber: 3, newNumber: 3 },
      { kind: 'ADDED', text: 'line four', oldNumber: null, newNumber: 4 },
    ]);
    const other = await draftArticle(t, author.token, board);
    const otherRev = topicOf(await api.get(author.token, other)).article.currentRevision.id;
    // A revision of another article is none of this one's: not found, as publishArticle and restoreArticleRevision answer it.
    expect(expectError(await t.gql(DIFF, { from: revs[0].id, to: otherRev }, { token: author.token }), 'NOT_FOUND').message).toBe('Revision not found');
    expectError(await t.gql(DIFF, { from: revs[0].id, to: 'nope' }, { token: author.token }), 'BAD_USER_INPUT');
  });

  it('names the argument of a diff whose revision is not found, the same for one that does not exist as for one the viewer may not read', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Diff arguments', body: 'one' });
    const [published] = topicOf(await api.get(reader.token, id)).article.revisions;
    topicOf(await api.update(author.token, { topicId: id, body: 'two' }));
    const draftRev = topicOf(await api.get(author.token, id)).article.currentRevision.id;
    const other = await publishedArticle(t, author.token, editor.token, board, { title: 'Diff arguments, another', body: 'three' });
    const otherRev = topicOf(await api.get(reader.token, other)).article.publishedRevision.id;
    // A published revision of an article in a space the reader may not read.
    const hidden = (await makeSpace(t, 'RESTRICTED', [{ userId: editor.id, level: 'MODERATE' }])).id;
    const hiddenArticle = await publishedArticle(t, editor.token, editor.token, await makeBoard(t, hidden, 'KNOWLEDGE'), { title: 'Not for readers' });
    const hiddenRev = topicOf(await api.get(editor.token, hiddenArticle)).article.publishedRevision.id;
    const refusal = async (from: string, to: string) => {
      const e = expectError(await t.gql(DIFF, { from, to }, { token: reader.token }), 'NOT_FOUND');
      return { message: e.message, extensions: e.extensions };
    };
    const named = (field: string) => ({ message: 'Revision not found', extensions: { code: 'NOT_FOUND', field } });
    // Unknown, a draft's (never theirs to read), in a space they may not read, of another article: one answer, naming toId.
    for (const to of [newId(), draftRev, hiddenRev, otherRev]) expect(await refusal(published.id, to)).toEqual(named('toId'));
    // The same revisions as fromId name fromId (read first).
    for (const from of [newId(), draftRev, hiddenRev]) expect(await refusal(from, published.id)).toEqual(named('fromId'));
    expect(await refusal(newId(), hiddenRev)).toEqual(named('fromId'));
  });

  it('shows readers what changed in the published text, never the markdown (censored words stay masked)', async () => {
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    const rule = expectOk(await t.gql(RULE, { input: { spaceId, pattern: 'darn', kind: 'WORD', action: 'CENSOR', publicReason: 'Language' } }, { token: editor.token })).createWatchedWord.id;
    try {
      const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Diff for readers', body: '## Setup\n\nWell **darn** it.\n\n- one\n- two' });
      topicOf(await api.update(author.token, { topicId: id, body: '## Setup\n\nWell **darn** it, really.\n\n- one\n- two' }));
      topicOf(await api.publish(editor.token, id));
      const [newer, older] = topicOf(await api.get(reader.token, id)).article.revisions;
      const diff = expectOk(await t.gql(DIFF, { from: older.id, to: newer.id }, { token: reader.token })).articleRevisionDiff;
      expect(diff.to.bodySource).toBeNull();
      expect(diff.lines.map((l: any) => [l.kind, l.text])).toEqual([
        ['UNCHANGED', 'Setup'],
        ['REMOVED', 'Well ■■■■ it.'],
        ['ADDED', 'Well ■■■■ it, really.'],
        ['UNCHANGED', 'one'],
        ['UNCHANGED', 'two'],
      ]);
      // The article's team compares the markdown.
      const team = expectOk(await t.gql(DIFF, { from: older.id, to: newer.id }, { token: author.token })).articleRevisionDiff;
      expect(team.lines.filter((l: any) => l.kind !== 'UNCHANGED').map((l: any) => l.text)).toEqual(['Well **darn** it.', 'Well **darn** it, really.']);
    } finally {
      await t.sql(`DELETE FROM watched_words WHERE id = $1`, [rule]);
    }
  });

  it('restores an old revision as a new one, and refuses restoring into another article or the current revision', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Restore me', body: 'original' });
    topicOf(await api.update(author.token, { topicId: id, body: 'vandalised' }));
    const [current, original] = topicOf(await api.get(author.token, id)).article.revisions;
    const other = await draftArticle(t, author.token, board);
    const before = await writes();
    // A revision of another article is none of this one's: not found, as publishArticle answers it.
    expect(expectError(await api.restore(author.token, original.id, other), 'NOT_FOUND').message).toBe('Revision not found');
    expect(expectError(await api.restore(author.token, current.id), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('revisionId');
    expectError(await api.restore(reader.token, current.id), 'NOT_FOUND'); // a draft revision
    expectError(await api.restore(reader.token, original.id), 'FORBIDDEN'); // published, but not theirs to change
    expect(await writes()).toEqual(before);
    const restored = topicOf(await api.restore(author.token, original.id, id));
    expect(restored.article.currentRevision).toMatchObject({ number: 3, bodySource: 'original' });
    const q = `query($id: ID!) { topic(id: $id) { article { currentRevision { restoredFromNumber note author { handle } } } } }`;
    expect(expectOk(await t.gql(q, { id }, { token: author.token })).topic.article.currentRevision).toEqual({
      restoredFromNumber: 1, note: 'restored from revision 1', author: { handle: author.handle },
    });
    // Archived, it takes no revision: the refusal names the input the client sent, the revision.
    topicOf(await api.archive(editor.token, id));
    const archived = await writes();
    expect(expectError(await api.restore(author.token, current.id), 'BAD_USER_INPUT').extensions.fields).toEqual([
      { field: 'revisionId', message: 'is a revision of an archived article: unarchive it before restoring' },
    ]);
    expect(await writes()).toEqual(archived);
  });

  it('names the revision a published one restored only to those who may see that one: readers not an unpublished one', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Restored in the dark', body: 'first, published' });
    topicOf(await api.update(author.token, { topicId: id, body: 'second, never published' }));
    topicOf(await api.update(author.token, { topicId: id, body: 'third' }));
    const q = `query($id: ID!) { topic(id: $id) { article { revisions { number restoredFromNumber note } } } }`;
    const revisions = async (u: TestUser) => expectOk(await t.gql(q, { id }, { token: u.token })).topic.article.revisions;
    const revisionId = async (n: number) => (await t.sql(`SELECT id FROM article_revisions WHERE topic_id = $1 AND number = $2`, [id, n]))[0].id as string;
    topicOf(await api.restore(author.token, await revisionId(2), id));
    topicOf(await api.publish(editor.token, id));
    const restore = { number: 4, restoredFromNumber: 2, note: 'restored from revision 2' };
    expect((await revisions(author))[0]).toEqual(restore);
    expect(await revisions(reader)).toEqual([{ number: 4, restoredFromNumber: null, note: null }, { number: 1, restoredFromNumber: null, note: null }]);
    // A published one is theirs to know of.
    topicOf(await api.restore(author.token, await revisionId(1), id));
    topicOf(await api.publish(editor.token, id));
    expect((await revisions(reader))[0]).toEqual({ number: 5, restoredFromNumber: 1, note: 'restored from revision 1' });
  });

  it('lets only the article’s team edit a published article', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board);
    const before = await writes();
    expect(expectError(await api.update(reader.token, { topicId: id, body: 'drive-by' }), 'FORBIDDEN').message).toMatch(/author, its owner and the space’s editors/);
    expectError(await api.submit(reader.token, id), 'FORBIDDEN');
    expect(await writes()).toEqual(before);
    // Editors edit any article.
    expect(topicOf(await api.update(editor2.token, { topicId: id, body: 'editor fix' })).article.state).toBe('DRAFT');
  });

  it('refuses editing an article’s first post through the forum', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board);
    const postId = topicOf(await api.get(author.token, id)).firstPost.id;
    const res = await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body: 'sneaky' } }, { token: author.token });
    expect(expectError(res, 'BAD_USER_INPUT').extensions.fields![0]).toEqual({ field: 'postId', message: expect.stringMatching(/updateArticle/) });
    // Comments (replies) are ordinary posts.
    expect(expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { number } }`, { input: { topicId: id, body: 'Thanks!' } }, { token: reader.token })).replyToTopic.number).toBe(2);
  });

  describe('two-person review', () => {
    let space2: string;
    let board2: string;
    let writerEditor: TestUser;

    beforeAll(async () => {
      writerEditor = await makeUser(t);
      space2 = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }, { userId: editor2.id, level: 'MODERATE' }, { userId: writerEditor.id, level: 'MODERATE' }, { userId: author.id, level: 'ADMIN' }])).id;
      board2 = await makeBoard(t, space2, 'KNOWLEDGE');
    });

    it('is a space setting that only space admins change', async () => {
      expectError(await api.spaceSettings(editor.token, { spaceId: space2, twoPersonReview: true }), 'FORBIDDEN');
      expectError(await api.spaceSettings(reader.token, { spaceId: space2, verificationIntervalDays: 0 }), 'BAD_USER_INPUT');
      expect(expectError(await api.spaceSettings(author.token, { spaceId: space2 }), 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual([
        'twoPersonReview', 'verificationIntervalDays',
      ]);
      const set = expectOk(await api.spaceSettings(author.token, { spaceId: space2, twoPersonReview: true })).setKnowledgeSettings;
      expect(set.knowledgeSettings).toEqual({ twoPersonReview: true, verificationIntervalDays: 90 });
      expect(expectOk(await api.spaceSettings(admin.token, { spaceId: spaceId, verificationIntervalDays: 90 })).setKnowledgeSettings.knowledgeSettings.twoPersonReview).toBe(false);
    });

    it('changes nothing for a space admin whose grant was revoked after the change was checked (FORBIDDEN)', async () => {
      const owner = await makeUser(t);
      const other = await makeUser(t);
      const space = (await makeSpace(t, 'PUBLIC', [{ userId: owner.id, level: 'ADMIN' }, { userId: other.id, level: 'ADMIN' }])).id;
      const REVOKE = `mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`;
      const state = async () => ({
        space: await t.sql(`SELECT knowledge, updated_at FROM spaces WHERE id = $1`, [space]),
        log: await t.sql(`SELECT action FROM moderation_log WHERE space_id = $1 ORDER BY at`, [space]),
      });
      // Checked while `other` runs the space, then held before its transaction; the owner revokes them meanwhile.
      let first = true;
      const gate = gateCalls(t.get(UnitOfWork), 'run', () => first && !(first = false));
      let answer: GqlResult | undefined;
      let before;
      try {
        const changing = api.spaceSettings(other.token, { spaceId: space, twoPersonReview: true, verificationIntervalDays: 30 });
        await gate.begun;
        expectOk(await t.gql(REVOKE, { input: { spaceId: space, userId: other.id } }, { token: owner.token }));
        before = await state();
        gate.open();
        answer = await changing;
      } finally {
        gate.restore();
      }
      expect(expectError(answer!, 'FORBIDDEN').message).toBe('You need ADMIN access in this space');
      expect(await state()).toEqual(before);
    });

    it('refuses publishing without review, and publishing one’s own changes', async () => {
      const id = await draftArticle(t, writerEditor.token, board2, { title: 'Four eyes' });
      const before = await writes();
      expect(expectError(await api.publish(editor.token, id), 'BAD_USER_INPUT').extensions.fields).toEqual([
        { field: 'topicId', message: 'must be submitted for review first: this space requires two-person review' },
      ]);
      topicOf(await api.submit(writerEditor.token, id));
      const afterSubmit = await writes();
      expect(afterSubmit.events).toBe(before.events + 1);
      // The editor who wrote it may not publish it.
      expect(expectError(await api.publish(writerEditor.token, id), 'FORBIDDEN').message).toMatch(/two-person review/);
      expect(await writes()).toEqual(afterSubmit);
      // An edit during review sends the article back to draft: what was reviewed is no longer what would go out.
      expect(topicOf(await api.update(editor.token, { topicId: id, body: 'typo fixed by the editor' })).article.state).toBe('DRAFT');
      expectError(await api.publish(editor2.token, id), 'BAD_USER_INPUT');
      topicOf(await api.submit(writerEditor.token, id));
      // The editor who edited is an author of the change now.
      expectError(await api.publish(editor.token, id), 'FORBIDDEN');
      // A stale review is refused: the reviewer saw an older revision.
      const revs = topicOf(await api.get(editor2.token, id)).article.revisions;
      expectError(await api.publish(editor2.token, id, revs[1].id), 'CONFLICT');
      expect(topicOf(await api.publish(editor2.token, id, revs[0].id)).article.state).toBe('PUBLISHED');
    });

    it('without the rule, an editor publishes a draft directly', async () => {
      const id = await draftArticle(t, editor.token, board);
      expect(topicOf(await api.publish(editor.token, id)).article.state).toBe('PUBLISHED');
    });
  });

  it('archives (out of editing, still readable by its link) and unarchives', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board);
    expectError(await api.archive(author.token, id), 'FORBIDDEN');
    expect(topicOf(await api.archive(editor.token, id)).article.state).toBe('ARCHIVED');
    expect(expectError(await api.update(author.token, { topicId: id, body: 'x' }), 'BAD_USER_INPUT').message).toMatch(/archived/);
    expectError(await api.archive(editor.token, id), 'BAD_USER_INPUT');
    expect(topicOf(await api.get(reader.token, id)).article.state).toBe('ARCHIVED');
    expect(topicOf(await api.unarchive(editor.token, id)).article.state).toBe('PUBLISHED');
    expectError(await api.unarchive(editor.token, id), 'BAD_USER_INPUT');
    // Archived while in review, it comes back a draft with no submission standing.
    topicOf(await api.update(author.token, { topicId: id, body: 'a new version' }));
    topicOf(await api.submit(author.token, id));
    topicOf(await api.archive(editor.token, id));
    expect(topicOf(await api.unarchive(editor.token, id)).article).toMatchObject({ state: 'DRAFT', submittedAt: null });
  });

  it('leaves archived articles out of suggestions of similar topics, with a board or without, and brings them back unarchived', async () => {
    const SIMILAR = `query($t: String!, $b: ID, $s: ID) { similarTopics(title: $t, boardId: $b, spaceId: $s) { id } }`;
    const kbBoard = await makeBoard(t, spaceId, 'KNOWLEDGE');
    const archived = await publishedArticle(t, author.token, editor.token, kbBoard, { title: 'Rotate the signing keys' });
    const kept = await publishedArticle(t, author.token, editor.token, kbBoard, { title: 'Signing keys and their rotation' });
    topicOf(await api.archive(editor.token, archived));
    await drain();
    const similar = async (u: TestUser, where: { b?: string; s?: string }) =>
      expectOk(await t.gql(SIMILAR, { t: 'rotate signing keys', ...where }, { token: u.token })).similarTopics.map((x: any) => x.id);
    // The board's suggestions, the space's and every readable space's alike, editors' as readers'.
    const wheres = [{ b: kbBoard }, { s: spaceId }, {}];
    for (const u of [reader, editor]) for (const where of wheres) expect(await similar(u, where)).toEqual([kept]);
    topicOf(await api.unarchive(editor.token, archived));
    await drain();
    for (const where of wheres) expect(await similar(reader, where)).toEqual(expect.arrayContaining([archived, kept]));
  });

  it('notifies workflow steps on drafts to the article’s team only, and publications to every watcher', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Watched article' });
    await drain(); // the first publication is announced before they start watching
    await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: id, level: 'WATCHING' } }, { token: reader.token });
    await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: id, level: 'WATCHING' } }, { token: editor2.token });
    await drain();
    const [mark] = await t.sql(`SELECT max(id) AS id FROM outbox`);
    topicOf(await api.update(author.token, { topicId: id, body: 'secret new draft' }));
    topicOf(await api.submit(author.token, id));
    await drain();
    expect(await kinds(reader, id)).toEqual([]); // a reader may not even know a draft exists
    expect(await kinds(editor2, id)).toEqual(['ARTICLE_SUBMITTED']);
    topicOf(await api.publish(editor.token, id));
    await drain();
    expect(await kinds(reader, id)).toEqual(['ARTICLE_PUBLISHED']);
    expect(await kinds(author, id)).toEqual(['ARTICLE_PUBLISHED', 'ARTICLE_PUBLISHED']);
    // Nor does the publication tell a reader that it came out of a review; its team learns it.
    const data = async (u: TestUser) =>
      expectOk(await t.gql(NOTIFICATIONS, {}, { token: u.token })).notifications.edges.map((e: any) => e.node).filter((n: any) => n.topic?.id === id).map((n: any) => JSON.parse(n.data));
    expect((await data(reader)).map((d: any) => [d.from, d.to])).toEqual([[null, 'PUBLISHED']]);
    expect((await data(author))[0]).toMatchObject({ from: 'IN_REVIEW', to: 'PUBLISHED' });
    // Redelivery doubles nothing.
    await t.sql(`UPDATE outbox SET processed_at = NULL WHERE id > $1`, [mark.id]);
    await drain();
    expect(await kinds(reader, id)).toEqual(['ARTICLE_PUBLISHED']);
  });

  it('announces an article to those watching its board once, however late the worker reaches its creation', async () => {
    const boardWatcher = await makeUser(t);
    expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level: 'WATCHING' } }, { token: boardWatcher.token }));
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Announced once' });
    await drain();
    expect(await kinds(boardWatcher, id)).toEqual(['ARTICLE_PUBLISHED']);
    expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level: 'NORMAL' } }, { token: boardWatcher.token }));
  });

  it('tells those watching the board of every publication and archiving, as those watching the article; those watching its first posts of the first', async () => {
    const boardWatcher = await makeUser(t);
    const firstPosts = await makeUser(t);
    expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level: 'WATCHING' } }, { token: boardWatcher.token }));
    expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level: 'WATCHING_FIRST_POST' } }, { token: firstPosts.token }));
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Watched through its board' });
    await drain();
    topicOf(await api.update(author.token, { topicId: id, body: 'a second version' }));
    topicOf(await api.submit(author.token, id));
    topicOf(await api.publish(editor.token, id));
    topicOf(await api.archive(editor.token, id));
    await drain();
    // The review in between is the team's business.
    expect(await kinds(boardWatcher, id)).toEqual(['ARTICLE_ARCHIVED', 'ARTICLE_PUBLISHED', 'ARTICLE_PUBLISHED']);
    expect(await kinds(firstPosts, id)).toEqual(['ARTICLE_PUBLISHED']);
    for (const u of [boardWatcher, firstPosts]) {
      expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level: 'NORMAL' } }, { token: u.token }));
    }
  });

  it('does not announce a new article to board watchers who ignore its author, as a new topic is not', async () => {
    const writer = await makeUser(t);
    const [firstPosts, boardWatcher, other] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const watch = (u: TestUser, level: string) =>
      t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level } }, { token: u.token });
    const ignore = (u: TestUser, op: 'ignoreUser' | 'unignoreUser') => t.gql(`mutation($id: ID!) { ${op}(userId: $id) { id } }`, { id: writer.id }, { token: u.token });
    for (const [u, level] of [[firstPosts, 'WATCHING_FIRST_POST'], [boardWatcher, 'WATCHING'], [other, 'WATCHING_FIRST_POST']] as const) expectOk(await watch(u, level));
    expectOk(await ignore(firstPosts, 'ignoreUser'));
    const id = await publishedArticle(t, writer.token, editor.token, board, { title: 'Written by someone ignored' });
    await drain();
    expect(await kinds(firstPosts, id)).toEqual([]);
    for (const u of [other, boardWatcher, writer]) expect(await kinds(u, id)).toEqual(['ARTICLE_PUBLISHED']);
    // Ignored once it was delivered, it leaves the list; unignored, it comes back, as any notice an ignore hides.
    expectOk(await ignore(boardWatcher, 'ignoreUser'));
    expect(await kinds(boardWatcher, id)).toEqual([]);
    expectOk(await ignore(boardWatcher, 'unignoreUser'));
    expect(await kinds(boardWatcher, id)).toEqual(['ARTICLE_PUBLISHED']);
    expectOk(await ignore(firstPosts, 'unignoreUser'));
    for (const u of [firstPosts, boardWatcher, other]) expectOk(await watch(u, 'NORMAL'));
  });

  it('tells the team when an edit takes an article out of review, and nobody else', async () => {
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Edited in review' });
    await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: id, level: 'WATCHING' } }, { token: reader.token });
    topicOf(await api.update(author.token, { topicId: id, body: 'the version submitted' }));
    topicOf(await api.submit(author.token, id));
    await drain();
    topicOf(await api.update(editor2.token, { topicId: id, body: 'the version changed while it waited' }));
    await drain();
    expect(await kinds(author, id)).toContain('ARTICLE_RETURNED_TO_DRAFT');
    expect(await kinds(editor2, id)).not.toContain('ARTICLE_RETURNED_TO_DRAFT');
    expect(await kinds(reader, id)).not.toContain('ARTICLE_RETURNED_TO_DRAFT');
  });

  it('gives an article owners only once it is published', async () => {
    const draft = await draftArticle(t, author.token, board, { title: 'Owned later' });
    const owners = () => t.sql(`SELECT owner_user_id, owner_group_id FROM articles WHERE topic_id = $1`, [draft]);
    const before = await owners();
    const refused = expectError(await api.settings(editor.token, { topicId: draft, ownerUserId: editor2.id }), 'BAD_USER_INPUT');
    expect(refused.extensions.fields).toEqual([{ field: 'ownerUserId', message: expect.stringMatching(/owners once it is published/) }]);
    expect(await owners()).toEqual(before);
  });

  it('tells a former owner nothing of a review they can no longer see, though they wrote the revision under review', async () => {
    const formerOwner = await makeUser(t);
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Changing hands' });
    topicOf(await api.settings(editor.token, { topicId: id, ownerUserId: formerOwner.id }));
    topicOf(await api.update(formerOwner.token, { topicId: id, body: 'the former owner’s revision' }));
    topicOf(await api.submit(formerOwner.token, id));
    topicOf(await api.settings(editor.token, { topicId: id, ownerUserId: editor2.id }));
    await drain();
    const before = await kinds(formerOwner, id);
    topicOf(await api.requestChanges(editor.token, id, 'the pricing section is confidential'));
    await drain();
    expect(await kinds(formerOwner, id)).toEqual(before);
    expect(JSON.stringify(expectOk(await t.gql(NOTIFICATIONS, {}, { token: formerOwner.token })))).not.toContain('confidential');
  });

  it('delivers a review step to any number of watchers, and a reminder to any number of owners, in a fixed number of statements', async () => {
    const deliveryCost = async (n: number) => {
      const editors = [];
      const readers = [];
      const owners = [];
      for (let i = 0; i < n; i++) editors.push(await makeUser(t));
      for (let i = 0; i < n; i++) readers.push(await makeUser(t));
      for (let i = 0; i < n; i++) owners.push(await makeUser(t));
      const space = await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }, ...editors.map((u) => ({ userId: u.id, level: 'MODERATE' as const }))]);
      const where = await makeBoard(t, space.id, 'KNOWLEDGE');
      const id = await publishedArticle(t, author.token, editor.token, where, { title: 'Counted article', body: 'counted words' });
      const group = await makeGroup(t);
      await t.sql(`INSERT INTO group_members (group_id, user_id) SELECT $1, unnest($2::uuid[])`, [group, owners.map((u) => u.id)]);
      await t.sql(`UPDATE articles SET owner_user_id = NULL, owner_group_id = $2 WHERE topic_id = $1`, [id, group]);
      // Editors (on the team through their rank) and readers (not: a draft's step is not theirs) watch it.
      await t.sql(`INSERT INTO topic_watches (user_id, topic_id, level) SELECT unnest($1::uuid[]), $2, 'WATCHING' ON CONFLICT DO NOTHING`, [[...editors, ...readers].map((u) => u.id), id]);
      await drain();
      // Pushes of the notifications (on their NOTIFY) come whenever PostgreSQL delivers it: no part of delivery.
      const unpushed = jest.spyOn(t.get(LiveGateway) as unknown as { pushNotification: () => Promise<void> }, 'pushNotification').mockResolvedValue(undefined);
      let step: Awaited<ReturnType<typeof t.countStatements>>;
      let reminder: Awaited<ReturnType<typeof t.countStatements>>;
      try {
        topicOf(await api.update(author.token, { topicId: id, body: 'counted words again' }));
        topicOf(await api.submit(author.token, id));
        step = await t.countStatements(() => drain());
        await t.sql(`UPDATE articles SET verified_until = now() - interval '1 minute' WHERE topic_id = $1`, [id]);
        expect(await t.get(VerificationReminders).remindDue()).toBe(1);
        reminder = await t.countStatements(() => drain());
      } finally {
        unpushed.mockRestore();
      }
      const told = async (kind: string) => new Set((await t.sql(`SELECT user_id FROM notifications WHERE topic_id = $1 AND kind = $2`, [id, kind])).map((r) => r.user_id));
      const submitted = await told('ARTICLE_SUBMITTED');
      expect(editors.filter((u) => !submitted.has(u.id))).toEqual([]);
      expect(readers.filter((u) => submitted.has(u.id))).toEqual([]);
      const due = await told('ARTICLE_VERIFICATION_DUE');
      expect(owners.filter((u) => !due.has(u.id))).toEqual([]);
      // Left out: the search vocabulary's writes, which the indexer skips while it remembers writing the words.
      const counted = (c: { statements: string[] }) => c.statements.filter((x) => !/INSERT INTO search_terms /.test(x)).length;
      return [counted(step), counted(reminder)];
    };
    await deliveryCost(1); // the first run also writes the article's words to the search vocabulary
    expect(await deliveryCost(6)).toEqual(await deliveryCost(2));
  });

  it('delivers a batch of events (the verification job emits up to 500 at once) in a fixed number of statements, however many articles it names', async () => {
    const batchCost = async (n: number) => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }]);
      const where = await makeBoard(t, space.id, 'KNOWLEDGE');
      const ids: string[] = [];
      const owners: TestUser[] = [];
      for (let i = 0; i < n; i++) {
        ids.push(await publishedArticle(t, author.token, editor.token, where, { title: `Batched ${n} ${i}`, body: 'batched words' }));
        owners.push(await makeUser(t));
      }
      await t.sql(`UPDATE articles a SET owner_user_id = o.u FROM unnest($1::uuid[], $2::uuid[]) AS o(t, u) WHERE a.topic_id = o.t`, [ids, owners.map((u) => u.id)]);
      // An editor (on the team through their rank) and a reader (not: a draft's step is not theirs) watch them.
      await t.sql(`INSERT INTO topic_watches (user_id, topic_id, level) SELECT u, unnest($2::uuid[]), 'WATCHING' FROM unnest($1::uuid[]) u ON CONFLICT DO NOTHING`, [[editor.id, reader.id], ids]);
      await drain();
      // Each article submitted for review (a step for its team) and due for verification (a reminder for its owner).
      for (const id of ids) {
        topicOf(await api.update(author.token, { topicId: id, body: 'batched words again' }));
        topicOf(await api.submit(author.token, id));
      }
      // Due in the reverse order (the job reminds the longest due first): the first reminder's owner
      // is not the first step's recipient, whose loaders the delivery reads its rows through. Due at
      // one time, the reminders came in the order PostgreSQL returned them, and the count with it.
      await t.sql(`UPDATE articles a SET verified_until = now() - interval '1 minute' * o.n FROM unnest($1::uuid[]) WITH ORDINALITY AS o(t, n) WHERE a.topic_id = o.t`, [ids]);
      expect(await t.get(VerificationReminders).remindDue()).toBe(n);
      const reminded = await t.sql(`SELECT payload->>'topicId' AS topic_id FROM outbox WHERE type = 'article.verification_due' AND processed_at IS NULL ORDER BY id`);
      expect(reminded.map((r) => r.topic_id)).toEqual([...ids].reverse());
      const unpushed = jest.spyOn(t.get(LiveGateway) as unknown as { pushNotification: () => Promise<void> }, 'pushNotification').mockResolvedValue(undefined);
      let cost: Awaited<ReturnType<typeof t.countStatements>>;
      try {
        cost = await t.countStatements(() => drain());
      } finally {
        unpushed.mockRestore();
      }
      const told = await t.sql(`SELECT topic_id, user_id, kind FROM notifications WHERE topic_id = ANY($1::uuid[]) ORDER BY kind`, [ids]);
      for (const [i, id] of ids.entries()) {
        const of = (kind: string) => told.filter((r) => r.topic_id === id && r.kind === kind).map((r) => r.user_id).sort();
        expect(of('ARTICLE_VERIFICATION_DUE')).toEqual([owners[i].id]);
        expect(of('ARTICLE_SUBMITTED')).toEqual([owners[i].id, editor.id].sort());
      }
      // The batch's topics and articles are read once each, whichever recipient each audience (the
      // step's team, the reminder's owners) meets first.
      const reads = (sql: RegExp) => cost!.statements.filter((x) => sql.test(x)).length;
      expect({ topics: reads(/FROM topics t WHERE t\.id = /), articles: reads(/^SELECT \* FROM articles WHERE topic_id = ANY/) }).toEqual({ topics: 1, articles: 1 });
      // Left out: the search vocabulary's writes, which the indexer skips while it remembers writing the words.
      return cost!.statements.filter((x) => !/INSERT INTO search_terms /.test(x)).length;
    };
    await batchCost(1); // the first run also writes the articles' words to the search vocabulary
    expect(await batchCost(6)).toEqual(await batchCost(2));
  });

  it('notifies people mentioned in an article, by name or through a group, when it is first published, not while it is a draft', async () => {
    const mentioned = await makeUser(t);
    const team = await makeGroup(t);
    // Its members see it: a mention of it tells them.
    await t.sql(`UPDATE groups SET mentionable = 'EVERYONE', visibility = 'MEMBERS' WHERE id = $1`, [team]);
    const member = await makeUser(t, { groups: [team] });
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [team, mentioned.id]);
    const [{ slug }] = await t.sql(`SELECT slug FROM groups WHERE id = $1`, [team]);
    const id = await draftArticle(t, author.token, board, { body: `Ask @${mentioned.handle} or @${slug} about it` });
    await drain();
    expect(await kinds(mentioned, id)).toEqual([]);
    expect(await kinds(member, id)).toEqual([]);
    topicOf(await api.publish(editor.token, id));
    await drain();
    expect(await kinds(mentioned, id)).toEqual(['MENTION']);
    expect(await kinds(member, id)).toEqual(['GROUP_MENTION']);
    const told = expectOk(await t.gql(NOTIFICATIONS, {}, { token: member.token })).notifications.edges.filter((e: any) => e.node.topic?.id === id);
    expect(JSON.parse(told[0].node.data)).toEqual({ number: 1, article: true, group: slug, groupId: team });
    // A group only staff may mention, named by a member's draft: publishing by an admin (staff) does not make it the admin’s mention.
    await t.sql(`UPDATE groups SET mentionable = 'STAFF' WHERE id = $1`, [team]);
    const staffOnly = await draftArticle(t, author.token, board, { body: `Ask @${slug} about this one` });
    topicOf(await api.publish(admin.token, staffOnly));
    await drain();
    expect(await kinds(member, staffOnly)).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM post_group_mentions m JOIN posts p ON p.id = m.post_id WHERE p.topic_id = $1`, [staffOnly])).toEqual([]);
  });

  it('notifies people a later revision mentions when that revision is published, not while it is a draft, and not those mentioned before', async () => {
    const before = await makeUser(t);
    const added = await makeUser(t);
    const id = await publishedArticle(t, author.token, editor.token, board, { body: `Ask @${before.handle}` });
    await drain();
    expect(await kinds(before, id)).toEqual(['MENTION']);
    topicOf(await api.update(author.token, { topicId: id, body: `Ask @${before.handle} or @${added.handle}` }));
    await drain();
    expect(await kinds(added, id)).toEqual([]);
    topicOf(await api.publish(editor.token, id));
    await drain();
    expect(await kinds(added, id)).toEqual(['MENTION']);
    // Named by the revision's writer, as the first publication's mentions are by the author.
    const told = expectOk(await t.gql(`{ notifications(first: 50) { edges { node { kind actor { handle } topic { id } } } } }`, {}, { token: added.token }))
      .notifications.edges.find((e: any) => e.node.topic?.id === id).node;
    expect(told.actor.handle).toBe(author.handle);
    expect(await kinds(before, id)).toEqual(['MENTION']);
  });

  describe('moderation cannot publish a draft behind the workflow’s back', () => {
    it('refuses approving or hiding a draft’s post; deleting then restoring returns it to draft', async () => {
      const id = await draftArticle(t, author.token, board, { body: 'unreviewed' });
      const postId = topicOf(await api.get(author.token, id)).firstPost.id;
      const approve = expectError(await t.gql(MODERATE, { input: { postId, action: 'APPROVE' } }, { token: editor.token }), 'CONFLICT');
      expect(approve.message).toMatch(/publishArticle/);
      expect(topicOf(await api.get(editor.token, id))).toMatchObject({ state: 'PENDING', article: { state: 'DRAFT' } });
      // Held content is never hidden (a draft included): unhiding it would publish it.
      expectError(await t.gql(MODERATE, { input: { postId, action: 'HIDE' } }, { token: editor.token }), 'CONFLICT');
      expect(expectOk(await t.gql(MODERATE, { input: { postId, action: 'DELETE' } }, { token: editor.token })).moderatePost.state).toBe('DELETED');
      expect(expectOk(await t.gql(MODERATE, { input: { postId, action: 'RESTORE' } }, { token: editor.token })).moderatePost.state).toBe('PENDING');
      expectError(await api.get(reader.token, id), 'NOT_FOUND');
      expect(topicOf(await api.get(author.token, id))).toMatchObject({ state: 'PENDING', firstPost: { state: 'PENDING' } });
      const [log] = await t.sql(`SELECT after FROM moderation_log WHERE target_id = $1 AND action = 'post.restore'`, [postId]);
      expect(log.after).toEqual({ state: 'PENDING' });
      // A draft waits for publishArticle, not for the review queue.
      expect(await t.sql(`SELECT kind FROM review_items WHERE target_id = ANY($1::uuid[])`, [[id, postId]])).toEqual([]);
      // Once published, moderation works on it as on any topic.
      topicOf(await api.publish(editor.token, id));
      expect(expectOk(await t.gql(MODERATE, { input: { postId, action: 'HIDE' } }, { token: editor.token })).moderatePost.state).toBe('HIDDEN');
      expect(expectOk(await t.gql(MODERATE, { input: { postId, action: 'UNHIDE' } }, { token: editor.token })).moderatePost.state).toBe('VISIBLE');
    });

    it('a pre-moderated article stays a draft when its queue item is approved; publishing it settles the item', async () => {
      const space = await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }, { userId: editor2.id, level: 'MODERATE' }]);
      await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [space.id]);
      const kbBoard = await makeBoard(t, space.id, 'KNOWLEDGE');
      const id = await draftArticle(t, author.token, kbBoard, { body: 'held by pre-moderation' });
      const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'PENDING_CONTENT' AND status = 'PENDING'`, [id]);
      const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
      expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: editor.token }), 'CONFLICT');
      expectError(await api.get(reader.token, id), 'NOT_FOUND');
      topicOf(await api.publish(editor.token, id));
      const [settled] = await t.sql(`SELECT status, resolved_by FROM review_items WHERE id = $1`, [item.id]);
      expect(settled).toEqual({ status: 'APPROVED', resolved_by: editor.id });
      expect(topicOf(await api.get(reader.token, id)).state).toBe('VISIBLE');
      // The queue item of another held draft may be closed with IGNORE: the draft waits for publishArticle, not for it.
      const other = await draftArticle(t, author.token, kbBoard, { body: 'also held' });
      const [otherItem] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'PENDING_CONTENT' AND status = 'PENDING'`, [other]);
      expect(expectOk(await t.gql(RESOLVE, { input: { id: otherItem.id, decision: 'IGNORE' } }, { token: editor.token })).resolveReviewItem.status).toBe('IGNORED');
      expect(topicOf(await api.get(author.token, other)).article.state).toBe('DRAFT');
    });
  });

  describe('publishing beside a moderator acting on the article’s post', () => {
    /**
     * Runs `act` on article `id`'s first post (moderatePost) up to where it holds the post's row
     * (applyState asks the board kinds, before it writes the post and then the topic), publishes
     * the article meanwhile, and once the publication waits (for the post, to mirror the revision
     * into it) checks that the moderation's next lock, the topic's row as its UPDATE takes it, is
     * free: held by the publication, it was a deadlock. Answers both once they are done.
     */
    const publishedBesideModeration = async (id: string, act: 'HIDE' | 'DELETE') => {
      const postId = topicOf(await api.get(editor.token, id)).firstPost.id;
      const gate = gateCalls(t.get(BoardKinds), 'firstPostState', (_tx: unknown, change: { topicId: string }) => change.topicId === id);
      const running: Array<Promise<unknown>> = [];
      try {
        const acting = t.gql(MODERATE, { input: { postId, action: act } }, { token: editor2.token });
        running.push(acting);
        await gate.begun;
        const publishing = api.publish(editor.token, id);
        running.push(publishing);
        await waitForLockWaits(t, 1, await gateHolder(gate));
        const [{ free }] = await t.sql(`SELECT count(*)::int = 1 AS free FROM (SELECT 1 FROM topics WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED) x`, [id]);
        expect(free).toBe(true);
        gate.open();
        return { acted: await acting, published: await publishing };
      } finally {
        gate.restore();
        await Promise.allSettled(running);
      }
    };

    it('a new revision published while a moderator hides the article waits for the hide, then is refused: no deadlock', async () => {
      const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Hidden while republished' });
      topicOf(await api.update(author.token, { topicId: id, body: 'a newer text' }));
      const { acted, published } = await publishedBesideModeration(id, 'HIDE');
      expect(expectOk(acted).moderatePost.state).toBe('HIDDEN');
      expect(expectError(published, 'BAD_USER_INPUT').message).toMatch(/was hidden by a moderator/);
      expect(await t.sql(`SELECT state, published_revision_id = current_revision_id AS current FROM articles WHERE topic_id = $1`, [id])).toEqual([{ state: 'DRAFT', current: false }]);
    });

    it('a first publication while a moderator deletes the draft waits for the deletion, then is refused: no deadlock', async () => {
      const id = await draftArticle(t, author.token, board, { title: 'Deleted while first published' });
      const { acted, published } = await publishedBesideModeration(id, 'DELETE');
      expect(expectOk(acted).moderatePost.state).toBe('DELETED');
      expect(expectError(published, 'BAD_USER_INPUT').message).toMatch(/was deleted by a moderator/);
      expect(await t.sql(`SELECT state, first_published_at FROM articles WHERE topic_id = $1`, [id])).toEqual([{ state: 'DRAFT', first_published_at: null }]);
    });

    it('a new revision published while an editor decides the article’s feedback waits for the decision: no deadlock', async () => {
      const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
      const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Feedback decided while republished' });
      topicOf(await api.rate(reader.token, { topicId: id, helpful: false, comment: 'step 3 is out of date' }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`, [id]);
      topicOf(await api.update(author.token, { topicId: id, body: 'step 3 brought up to date' }));
      const deadlocks = countDeadlocks(t);
      // The decision held once it holds the item's row, before it acts on the article's post.
      const gate = gateCalls(t.get(ReportsService), 'assertNotOffender', (_tx: unknown, _viewer: unknown, it: { id: string }) => it.id === item.id);
      const running: Array<Promise<unknown>> = [];
      try {
        const deciding = t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: editor2.token });
        running.push(deciding);
        await gate.begun;
        const publishing = api.publish(editor.token, id);
        running.push(publishing);
        await waitForLockWaits(t, 1, await gateHolder(gate));
        gate.open();
        expect(expectOk(await deciding).resolveReviewItem.status).toBe('APPROVED');
        expect(topicOf(await publishing).article.state).toBe('PUBLISHED');
      } finally {
        gate.restore();
        await Promise.allSettled(running);
        deadlocks.restore();
      }
      expect(deadlocks.count).toBe(0);
      expect(await t.sql(`SELECT status, resolved_by FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'APPROVED', resolved_by: editor2.id }]);
    });
  });

  it('judges an article’s team deciding its feedback on the decision’s transaction, not on the pool beside it', async () => {
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    const id = await publishedArticle(t, author.token, editor.token, board, { title: 'Feedback its author decides' });
    topicOf(await api.rate(reader.token, { topicId: id, helpful: false, comment: 'the screenshots are old' }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`, [id]);
    // TypeORM tells its logger which query runner (connection) ran each statement.
    const logged = jest.spyOn(t.ds.logger, 'logQuery');
    let decided: GqlResult | undefined;
    let calls: Array<{ sql: string; runner: unknown }>;
    try {
      await t.countStatements(async () => (decided = await t.gql(RESOLVE, { input: { id: item.id, decision: 'IGNORE' } }, { token: author.token })));
      calls = logged.mock.calls.map(([sql, , runner]) => ({ sql, runner }));
    } finally {
      logged.mockRestore();
    }
    // The author moderates nothing: only the module's decider lets them decide.
    expect(expectOk(decided!).resolveReviewItem.status).toBe('IGNORED');
    const tx = calls.find((c) => /FROM review_items WHERE id = \$1 FOR UPDATE/.test(c.sql))?.runner;
    expect(tx).toBeDefined();
    // The article and its topic, which the decider reads, are read on the transaction's connection only.
    expect(calls.filter((c) => c.runner !== tx && /\b(articles|topics)\b/.test(c.sql)).map((c) => c.sql)).toEqual([]);
  });

  describe('a publication refused', () => {
    /** Statements that take a lock: a row's, or a board's advisory lock. */
    const locking = (statements: string[]) => statements.filter((x) => /\bFOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE)\b|pg_advisory/.test(x));

    it('for what the article’s row says (archived, nothing new, a stale revision) or a revision of another article before its transaction: no lock taken, nothing written, 3 statements (the session, the topic, the article), 4 with a revision to read', async () => {
      const upToDate = await publishedArticle(t, author.token, editor.token, board, { title: 'Nothing newer to publish' });
      const archived = await publishedArticle(t, author.token, editor.token, board, { title: 'Archived with a draft' });
      topicOf(await api.update(author.token, { topicId: archived, body: 'a draft written before the archive' }));
      topicOf(await api.archive(editor.token, archived));
      const stale = await draftArticle(t, author.token, board, { title: 'Reviewed an older revision' });
      const reviewed = topicOf(await api.get(editor.token, stale)).article.currentRevision.id;
      topicOf(await api.update(author.token, { topicId: stale, body: 'saved after the review' }));
      const foreign = topicOf(await api.get(editor.token, upToDate)).article.currentRevision.id;
      const refusals: Array<[() => Promise<GqlResult>, string, RegExp]> = [
        [() => api.publish(editor.token, upToDate), 'BAD_USER_INPUT', /already published/],
        [() => api.publish(editor.token, archived), 'BAD_USER_INPUT', /is archived/],
        [() => api.publish(editor.token, stale, reviewed), 'CONFLICT', /newer revision/],
        // A revision of another article is none of this one's: not found, as one that does not exist, not a newer one saved since.
        [() => api.publish(editor.token, stale, foreign), 'NOT_FOUND', /Revision not found/],
        [() => api.publish(editor.token, stale, newId()), 'NOT_FOUND', /Revision not found/],
      ];
      const costs: Array<{ count: number; locks: string[] }> = [];
      for (const [publish, code, message] of refusals) {
        const before = await writes();
        const cost = await t.countStatements(async () => expect(expectError(await publish(), code).message).toMatch(message));
        expect(await writes()).toEqual(before);
        costs.push({ count: cost.count, locks: locking(cost.statements) });
      }
      if (process.env.SHOW_COUNTS) console.log('refused publication statements', costs);
      // The stale one and the others name a revision other than the current one, read to tell them apart.
      expect(costs).toEqual(refusals.map((_, i) => ({ count: i < 2 ? 3 : 4, locks: [] })));
    });

    it('by two-person review (not submitted, or by its own writer) before the article’s first post is locked', async () => {
      const space = (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }, { userId: editor2.id, level: 'MODERATE' }])).id;
      await t.sql(`UPDATE spaces SET knowledge = '{"twoPersonReview": true}' WHERE id = $1`, [space]);
      const fourEyes = await makeBoard(t, space, 'KNOWLEDGE');
      const unsubmitted = await draftArticle(t, author.token, fourEyes, { title: 'Not submitted yet' });
      const own = await draftArticle(t, editor.token, fourEyes, { title: 'Its own writer publishes' });
      topicOf(await api.submit(editor.token, own));
      const firstPostLock = /FROM posts WHERE topic_id = \$1 AND number = 1 FOR NO KEY UPDATE/;
      for (const [publish, code] of [[() => api.publish(editor.token, unsubmitted), 'BAD_USER_INPUT'], [() => api.publish(editor.token, own), 'FORBIDDEN']] as const) {
        const before = await writes();
        const cost = await t.countStatements(async () => expect(expectError(await publish(), code).message).toMatch(/two-person review/));
        expect(await writes()).toEqual(before);
        expect(cost.statements.filter((x) => firstPostLock.test(x))).toEqual([]);
      }
    });
  });

  it('takes an explicit null title, body or summary as absent: it never blanks the article', async () => {
    const id = await draftArticle(t, author.token, board, { title: 'Null-safe article', body: 'The **original** body' });
    const before = await writes();
    expectError(await api.update(author.token, { topicId: id, title: null, body: null, summary: null }), 'BAD_USER_INPUT');
    expect(await writes()).toEqual(before);
    const topic = topicOf(await api.update(author.token, { topicId: id, body: null, title: 'Null-safe article, retitled' }));
    expect(topic.article.currentRevision.bodyHtml).toContain('<strong>original</strong>');
    topicOf(await api.publish(editor.token, id));
    const read = topicOf(await api.get(reader.token, id));
    expect(read.article.publishedRevision).toMatchObject({ title: 'Null-safe article, retitled', bodyHtml: expect.stringContaining('<strong>original</strong>') });
  });

  it('keeps plain forum boards as they were (no article)', async () => {
    const forum = await makeBoard(t, spaceId);
    const topic = await createTopic(t, author.token, forum);
    expect(expectOk(await t.gql(ARTICLE, { id: topic.id }, { token: reader.token })).topic.article).toBeNull();
  });
});
