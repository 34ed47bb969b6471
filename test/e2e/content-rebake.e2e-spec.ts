import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { ContentRenderer, sanitizeRendered } from '../../libs/content/src/renderer';
import { newId } from '../../libs/core/src/ids';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { ContentRebake, RebakeCount } from '../../libs/forum/src/content-rebake';
import { importStackExchange, IMPORTED_REASON, REIMPORTED_REASON } from '../../libs/forum/src/import/stackexchange';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { holdLock } from '../support/row-locks';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

/**
 * `content:rebake` (ContentRebake): HTML stored by an older renderer or allowlist is rendered
 * again from its source. The older HTML is written here directly, as the rules of before wrote
 * it: external images without `referrerpolicy`/`loading`, an ordered list without `start`.
 */
describe('content:rebake renders stored HTML again with the current rules', () => {
  let t: TestApp;
  let author: TestUser;
  let mentioned: TestUser;
  let boardId: string;
  const temps: string[] = [];
  const renderer = new ContentRenderer();
  /** What the rules of before made of `html`: no referrer policy or lazy loading on images, no list start. */
  const older = (html: string) => html.replace(/ referrerpolicy="no-referrer"| loading="lazy"| start="\d+"/g, '');

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    mentioned = await makeUser(t);
    boardId = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(async () => {
    await t.close();
    for (const d of temps) rmSync(path.dirname(d), { recursive: true, force: true });
  });

  const rebake = (opts = {}) => t.get(ContentRebake).rebake(opts);
  const changed = (counts: RebakeCount[]) => counts.reduce((n, c) => n + c.changed, 0);
  const post = async (id: string) => (await t.sql(`SELECT body_source, body_html, version, edited_at FROM posts WHERE id = $1`, [id]))[0];

  it('re-renders posts (hidden ones too) and bios, raises the post version, emits post.updated without a revision or a notification, and a second run changes nothing', async () => {
    const body = `Look @${mentioned.handle}:\n\n![chart](https://img.example.net/chart.png)\n\n3. three\n4. four`;
    const current = renderer.render(body).html;
    expect(current).toContain('referrerpolicy="no-referrer"');
    expect(current).toContain('<ol start="3">');
    const topic = await createTopic(t, author.token, boardId, { title: 'Rendered long ago', body });
    const hidden = await reply(t, author.token, topic.id, body);
    await setPostState(t, hidden.id, 'HIDDEN');
    const bio = 'My ![avatar](https://img.example.net/me.png)';
    await t.sql(`UPDATE users SET bio = $2, bio_html = $3 WHERE id = $1`, [author.id, bio, older(renderer.render(bio).html)]);
    for (const id of [topic.firstPostId, hidden.id]) await t.sql(`UPDATE posts SET body_html = $2 WHERE id = $1`, [id, older(current)]);
    await t.get(OutboxWorker).drain();
    const before = await post(topic.firstPostId);
    expect(before.body_html).toBe(older(current));
    const [{ revisions }] = await t.sql(`SELECT count(*)::int AS revisions FROM post_revisions WHERE post_id = ANY($1::uuid[])`, [[topic.firstPostId, hidden.id]]);
    const [{ notifications }] = await t.sql(`SELECT count(*)::int AS notifications FROM notifications`);
    const [{ lastEvent }] = await t.sql(`SELECT COALESCE(max(id), 0)::bigint AS "lastEvent" FROM outbox`);

    const counts = await rebake();
    expect(counts.find((c) => c.name === 'posts')!.changed).toBeGreaterThanOrEqual(2);
    expect(counts.find((c) => c.name === 'bios')!.changed).toBeGreaterThanOrEqual(1);
    for (const id of [topic.firstPostId, hidden.id]) {
      const after = await post(id);
      expect(after.body_html).toBe(current);
      expect(after.body_source).toBe(body);
      expect(after.edited_at).toBeNull();
    }
    // Drawn from the shared sequence (next_version), as every post write's: it grows, by any step.
    const rebaked = (await post(topic.firstPostId)).version;
    expect(rebaked).toBeGreaterThan(before.version);
    expect((await t.sql(`SELECT bio_html FROM users WHERE id = $1`, [author.id]))[0].bio_html).toBe(renderer.render(bio).html);

    const events = await t.sql(`SELECT type, aggregate_id, version, payload FROM outbox WHERE id > $1 ORDER BY id`, [lastEvent]);
    const forPost = events.filter((e) => e.aggregate_id === topic.firstPostId);
    expect(forPost).toEqual([{ type: 'post.updated', aggregate_id: topic.firstPostId, version: rebaked, payload: { postId: topic.firstPostId, topicId: topic.id, boardId, spaceId: expect.any(String), rebaked: true } }]);
    expect(events.filter((e) => e.aggregate_id === hidden.id).map((e) => e.type)).toEqual(['post.updated']);

    await t.get(OutboxWorker).drain();
    expect((await t.sql(`SELECT count(*)::int AS n FROM post_revisions WHERE post_id = ANY($1::uuid[])`, [[topic.firstPostId, hidden.id]]))[0].n).toBe(revisions);
    expect((await t.sql(`SELECT count(*)::int AS n FROM notifications`))[0].n).toBe(notifications);

    const [{ lastAgain }] = await t.sql(`SELECT max(id)::bigint AS "lastAgain" FROM outbox`);
    const again = await rebake({ batch: 1 });
    expect(changed(again)).toBe(0);
    expect(again.find((c) => c.name === 'posts')!.scanned).toBeGreaterThanOrEqual(2);
    expect((await post(topic.firstPostId)).version).toBe(rebaked);
    expect((await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE id > $1`, [lastAgain]))[0].n).toBe(0);
  });

  it('re-renders only content created since --since', async () => {
    const body = '![old](https://img.example.net/old.png)';
    const topic = await createTopic(t, author.token, boardId, { body });
    await t.sql(`UPDATE posts SET body_html = $2, created_at = now() - interval '30 days' WHERE id = $1`, [topic.firstPostId, older(renderer.render(body).html)]);
    await rebake({ since: new Date(Date.now() - 86_400_000) });
    expect((await post(topic.firstPostId)).body_html).toBe(older(renderer.render(body).html));
    await rebake({ since: new Date(Date.now() - 40 * 86_400_000) });
    expect((await post(topic.firstPostId)).body_html).toBe(renderer.render(body).html);
  });


  /** Imports a one-question dump into a board of its own; answers the question's post. */
  async function importQuestion(body: string): Promise<string> {
    const space = await makeSpace(t, 'PUBLIC');
    const board = `se-${newId().slice(-12)}`;
    await makeBoard(t, space.id, 'FORUM', board);
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'parvis-rebake-')), board);
    temps.push(dir);
    mkdirSync(dir);
    const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    writeFileSync(
      path.join(dir, 'Posts.xml'),
      `<?xml version="1.0" encoding="utf-8"?>\n<posts>\n  <row Id="1" PostTypeId="1" CreationDate="2020-05-01T10:00:00.000" Title="An imported question" Tags="|rebake|" Body="${esc(body)}" />\n</posts>\n`,
    );
    const pool = new Pool({ connectionString: t.db.url, max: 1 });
    try {
      await importStackExchange(pool, { dir, space: space.slug, board });
    } finally {
      await pool.end();
    }
    const [{ local_id }] = await t.sql(`SELECT local_id FROM import_links WHERE source = $1 AND kind = 'post' AND external_id = '1'`, [`stackexchange:${board}`]);
    return local_id;
  }

  it("keeps an imported post's HTML (the dump's, which its source only approximates), applying the allowlist to it again", async () => {
    const postId = await importQuestion('<p>As the site showed it: H<sub>2</sub>O</p><p><img src="https://img.example.net/se.png" alt="se"></p>');
    const imported = await post(postId);
    expect(imported.body_html).not.toBe(renderer.render(imported.body_source).html);
    await t.sql(`UPDATE posts SET body_html = $2 WHERE id = $1`, [postId, older(imported.body_html)]);
    await rebake();
    const after = await post(postId);
    expect(after.body_html).toBe(sanitizeRendered(older(imported.body_html)));
    expect(after.body_html).toContain('As the site showed it');
    expect(after.body_html).toContain('referrerpolicy="no-referrer"');
  });

  it('renders again from its source an article promoted from an imported post: the promotion rendered it from that source, not from the dump', async () => {
    const postId = await importQuestion('<p>As the site showed it: H<sub>2</sub>O</p><p><img src="https://img.example.net/se.png" alt="se"></p>');
    const imported = await post(postId);
    const editor = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }]);
    const knowledge = await makeBoard(t, space.id, 'KNOWLEDGE');
    const res = await t.gql(`mutation($input: PromotePostInput!) { promotePostToArticle(input: $input) { id } }`, { input: { postId, boardId: knowledge, title: 'Promoted import' } }, { token: editor.token });
    expectOk(res);
    const revision = async () => (await t.sql(`SELECT id, body_source, body_html FROM article_revisions WHERE topic_id = $1 AND number = 1`, [res.data.promotePostToArticle.id]))[0];
    const first = await revision();
    // Should a promotion ever copy the dump's HTML, this revision would need the imported post's rule (only the allowlist again).
    expect(first.body_source).toBe(imported.body_source);
    expect(first.body_html).toBe(renderer.render(imported.body_source).html);
    expect(first.body_html).not.toBe(imported.body_html);
    await t.sql(`UPDATE article_revisions SET body_html = $2 WHERE id = $1`, [first.id, older(first.body_html)]);
    await rebake();
    expect((await revision()).body_html).toBe(renderer.render(imported.body_source).html);
  });

  it("renders again from its source a post whose latest edit's reason, typed by its editor, reads as the importer's", async () => {
    const topic = await createTopic(t, author.token, boardId, { body: 'Written here' });
    const edited = 'Edited here, **in bold**';
    for (const reason of [IMPORTED_REASON, REIMPORTED_REASON]) {
      expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: topic.firstPostId, body: edited, reason } }, { token: author.token }));
      await t.sql(`UPDATE posts SET body_html = '<p>Stale HTML</p>' WHERE id = $1`, [topic.firstPostId]);
      await rebake();
      expect((await post(topic.firstPostId)).body_html).toBe(renderer.render(edited).html);
    }
  });

  it('keeps what a CENSOR rule masked masked: HTML holding a mask is only passed through the allowlist again, never rendered from its unmasked source', async () => {
    const mod = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const censoredBoard = await makeBoard(t, space.id);
    expectOk(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, { input: { spaceId: space.id, pattern: 'darn', kind: 'WORD', action: 'CENSOR', publicReason: 'Mind your language' } }, { token: mod.token }));
    // The mask in the text, and in a URL alone (where the renderer percent-encodes it).
    for (const body of ['Well darn it ![chart](https://img.example.net/chart.png)', '![chart](https://img.example.net/darn.png) and [a link](https://darn.example.net/)']) {
      const topic = await createTopic(t, author.token, censoredBoard, { body });
      const masked = (await post(topic.firstPostId)).body_html as string;
      expect(masked).not.toMatch(/darn/i);
      await t.sql(`UPDATE posts SET body_html = $2 WHERE id = $1`, [topic.firstPostId, older(masked)]);
      await rebake();
      const after = await post(topic.firstPostId);
      expect(after.body_source).toBe(body);
      expect(after.body_html).not.toMatch(/darn/i);
      expect(after.body_html).toBe(sanitizeRendered(older(masked)));
      expect(after.body_html).toContain('referrerpolicy="no-referrer"');
    }
  });

  it('sends the database only the new HTML of what it writes: the guard compares digests of the source and of the HTML read', async () => {
    const body = 'Sent **once** ![x](https://img.example.net/once.png)';
    const topic = await createTopic(t, author.token, boardId, { body });
    const stale = '<p>Stale HTML sent never</p>';
    await t.sql(`UPDATE posts SET body_html = $2 WHERE id = $1`, [topic.firstPostId, stale]);
    const sent: unknown[][] = [];
    const query = t.ds.query.bind(t.ds);
    const spy = jest.spyOn(t.ds, 'query').mockImplementation((sql: string, params?: unknown[], runner?: unknown) => {
      if (/^\s*(WITH|UPDATE|INSERT)/i.test(sql)) sent.push(params ?? []);
      return query(sql, params, runner as never);
    });
    try {
      await rebake();
    } finally {
      spy.mockRestore();
    }
    expect((await post(topic.firstPostId)).body_html).toBe(renderer.render(body).html);
    const text = sent.flat().map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('\n');
    expect(text).toContain(JSON.stringify(renderer.render(body).html).slice(1, -1));
    expect(text).not.toContain('Stale HTML sent never');
    expect(text).not.toContain('Sent **once**');
  });

  it('leaves an edit made while it ran as the edit wrote it, not the older source rendered again', async () => {
    const body = '![before](https://img.example.net/before.png)';
    const topic = await createTopic(t, author.token, boardId, { body });
    await t.sql(`UPDATE posts SET body_html = $2 WHERE id = $1`, [topic.firstPostId, older(renderer.render(body).html)]);
    const edited = 'Edited meanwhile';
    // The edit holds the post's row, uncommitted, while the rebake reads the old source and renders it.
    const edit = await holdLock(t, `UPDATE posts SET body_source = $2, body_html = $3, version = version + 1 WHERE id = $1`, [topic.firstPostId, edited, renderer.render(edited).html]);
    let rebaking!: Promise<RebakeCount[]>;
    try {
      rebaking = rebake();
      await edit.waiting(1);
    } finally {
      await edit.release();
    }
    await rebaking;
    const after = await post(topic.firstPostId);
    expect(after.body_source).toBe(edited);
    expect(after.body_html).toBe(renderer.render(edited).html);
  });
});
