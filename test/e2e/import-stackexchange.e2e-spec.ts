import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client, Pool, PoolClient } from 'pg';
import { MAX_HTML_NESTING } from '../../libs/content/src/renderer';
import { TRANSACTION_ATTEMPTS } from '../../libs/core/src/database/unit-of-work';
import { AppError } from '../../libs/core/src/errors';
import { newId } from '../../libs/core/src/ids';
import { AUDIT_LOCK } from '../../libs/core/src/audit/audit-log';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { ERASED_IMPORT_DIGEST } from '../../libs/identity/src/users/erased-import-digest';
import {
  convertDumpBody,
  convertDumpComment,
  DumpConversion,
  dumpIdentity,
  HANDLE_ROUNDS,
  importedTitle,
  importStackExchange,
  StackExchangeImportInterrupted,
  StackExchangeImportOptions,
  StackExchangeImportSummary,
  StackExchangeProgress,
} from '../../libs/forum/src/import/stackexchange';
import { CreateTopicInput, TITLE_MAX } from '../../libs/forum/src/topics/dto/topic.inputs';
import { BOARD_NAME_MAX, CreateBoardInput } from '../../libs/spaces/src/dto/space.inputs';
import { DISPLAY_NAME_MAX, UpdateProfileInput } from '../../libs/identity/src/users/dto/update-profile.input';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { datasetPath } from '../support/datasets';
import { freshIp } from '../support/fresh-ip';
import { backendPid, doneOrWaiting, waitForLockWaits, waitForWaitsOn, xidOf } from '../support/lock-waits';
import { HeldLock, holdLock } from '../support/row-locks';

/** Used in place (never copied): the first six weeks of coffee.stackexchange.com, Posts.xml only. */
const COFFEE = datasetPath('stackexchange-coffee');

const SIGN_IN = `mutation($input: SignInInput!) { signIn(input: $input) { token } }`;
const TOPIC = `query($id: ID!) {
  topic(id: $id) {
    kind title tags replyCount closed author { handle }
    acceptedAnswer { id number }
    firstPost { bodyHtml bodySource revisions { number } }
    posts(first: 50) { totalCount edges { node { id number bodyHtml author { handle displayName } } } }
  }
}`;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '&#xA;');

/** Writes a tiny dump file: `<name><row a="…" …/></name>` with the attributes XML-escaped, as in the real dumps. */
function writeDumpFile(dir: string, file: string, root: string, rows: Array<Record<string, string | undefined>>): void {
  const lines = rows.map(
    (r) =>
      `  <row ${Object.entries(r)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}="${esc(v!)}"`)
        .join(' ')} />`,
  );
  writeFileSync(path.join(dir, file), `\uFEFF<?xml version="1.0" encoding="utf-8"?>\n<${root}>\n${lines.join('\n')}\n</${root}>\n`);
}

describe('import:stackexchange', () => {
  let t: TestApp;
  let pool: Pool;
  const temps: string[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    // The import's connections look for a deadlock 3 s after a wait begins (PostgreSQL looks once
    // per wait), not 1 s: the tests that abort a batch for one close the cycle just after the batch
    // begins to wait, and on a loaded machine that can take longer than a second.
    pool = new Pool({ connectionString: t.db.url, max: 2, options: '-c deadlock_timeout=3s' });
  });
  afterAll(async () => {
    await pool.end();
    await t.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  const run = (opts: StackExchangeImportOptions) => importStackExchange(pool, { batchSize: 50, ...opts });
  const one = async <T = any>(sql: string, params: unknown[] = []): Promise<T> => (await t.sql<T>(sql, params))[0];
  /** Runs the import, answering with the text of every statement it sent (on the connections it takes from `pool`). */
  const runCounting = async (opts: StackExchangeImportOptions): Promise<{ summary: StackExchangeImportSummary; sent: string[] }> => {
    const sent: string[] = [];
    const connect = pool.connect.bind(pool) as () => Promise<PoolClient>;
    const spy = jest.spyOn(pool, 'connect').mockImplementation((async () => {
      const client = await connect();
      const query = client.query;
      const release = client.release;
      client.query = ((text: string | { text: string }, ...rest: unknown[]) => {
        sent.push(typeof text === 'string' ? text : text.text);
        return (query as (...a: unknown[]) => unknown).call(client, text, ...rest);
      }) as typeof client.query;
      // Given back to the pool as it came, whoever takes it next.
      client.release = ((err?: Error | boolean) => {
        client.query = query;
        client.release = release;
        return release.call(client, err);
      }) as typeof client.release;
      return client;
    }) as never);
    try {
      return { summary: await run(opts), sent };
    } finally {
      spy.mockRestore();
    }
  };
  const linked = (source: string, kind: string, ext: string) =>
    one<{ local_id: string } | undefined>(`SELECT local_id FROM import_links WHERE source = $1 AND kind = $2 AND external_id = $3`, [source, kind, ext]).then(
      (r) => r?.local_id,
    );
  const signInFails = async (login: string) => {
    for (const password of ['x', 'any password at all']) {
      expectError(await t.gql(SIGN_IN, { input: { login, password } }, { ip: freshIp() }), 'UNAUTHENTICATED');
    }
  };

  describe('the coffee dump', () => {
    const xml = readFileSync(path.join(COFFEE, 'Posts.xml'), 'utf8');
    const questions = xml.match(/PostTypeId="1"/g)!.length;
    const answers = xml.match(/PostTypeId="2"/g)!.length;
    const others = xml.match(/<row /g)!.length - questions - answers;
    const source = 'stackexchange:stackexchange-coffee';
    let space: { id: string; slug: string };
    let boardId: string;

    beforeAll(async () => {
      space = await makeSpace(t, 'PUBLIC');
      const summary = await run({ dir: COFFEE, space: space.slug });
      boardId = summary.boardId;
      expect(summary).toMatchObject({
        source,
        boardCreated: true,
        boardSlug: 'stackexchange-coffee',
        anonymousHandle: 'se-coffee-anon',
        questions: { created: questions, updated: 0, unchanged: 0 },
        answers: { created: answers, updated: 0, unchanged: 0 },
        comments: { created: 0, updated: 0, unchanged: 0 },
        duplicates: { created: 0, unchanged: 0, closed: 0 },
        skipped: { otherPostTypes: others, orphanAnswers: 0, orphanComments: 0, otherLinks: 0, orphanDuplicates: 0 },
        events: questions + answers,
      });
    });

    it('makes one QUESTION topic per question and one reply per answer, with the counters the forum keeps', async () => {
      const board = await one(`SELECT kind, name, space_id FROM boards WHERE id = $1`, [boardId]);
      expect(board).toEqual({ kind: 'FORUM', name: 'stackexchange-coffee', space_id: space.id });
      const totals = await one(
        `SELECT count(*)::int AS topics, count(*) FILTER (WHERE kind = 'QUESTION')::int AS questions, sum(reply_count)::int AS replies,
                (SELECT count(*)::int FROM posts WHERE space_id = $2) AS posts
           FROM topics WHERE board_id = $1`,
        [boardId, space.id],
      );
      expect(totals).toEqual({ topics: questions, questions, replies: answers, posts: questions + answers });
      // Every topic's counters agree with its rows, and numbers run 1..n in creation order.
      const drift = await t.sql(
        `SELECT t.id FROM topics t
           JOIN LATERAL (SELECT count(*) FILTER (WHERE number > 1) AS replies, max(number) AS last, max(created_at) AS last_at,
                                count(DISTINCT number) AS numbers, count(*) AS n FROM posts WHERE topic_id = t.id) s ON true
          WHERE t.board_id = $1
            AND (t.reply_count <> s.replies OR t.last_post_number <> s.last OR t.last_activity_at <> s.last_at OR s.numbers <> s.n OR s.last <> s.n)`,
        [boardId],
      );
      expect(drift).toEqual([]);
      const outOfOrder = await t.sql(
        `SELECT a.id FROM posts a JOIN posts b ON b.topic_id = a.topic_id AND b.number > a.number
          WHERE a.space_id = $1 AND b.created_at < a.created_at`,
        [space.id],
      );
      expect(outOfOrder).toEqual([]);
      const first = await one(`SELECT created_at FROM topics WHERE id = $1`, [await linked(source, 'question', '1')]);
      expect(first.created_at.toISOString()).toBe('2015-01-27T20:09:32.720Z');
    });

    it('is searchable once the worker has consumed the import’s events', async () => {
      await t.get(OutboxWorker).drain();
      const res = expectOk(
        await t.gql(`query($q: String!, $f: SearchFilter) { search(query: $q, filter: $f) { totalCount edges { node { title post { id } } } } }`, {
          q: 'store whole bean',
          f: { spaceIds: [space.id] },
        }),
      ).search;
      expect(res.totalCount).toBeGreaterThan(0);
      expect(res.edges[0].node.title).toBe('How should I store whole bean coffee?');
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM search_documents WHERE space_id = $1`, [space.id]);
      expect(n).toBe(questions + answers);
    });

    it('reads back through the API: kind, tags, accepted answer, sanitized bodies', async () => {
      // Question 1: AcceptedAnswerId="24", Tags="<storage><whole-bean>", three answers.
      const topicId = await linked(source, 'question', '1');
      const acceptedId = await linked(source, 'post', '24');
      const { topic } = expectOk(await t.gql(TOPIC, { id: topicId }));
      expect(topic).toMatchObject({ kind: 'QUESTION', title: 'How should I store whole bean coffee?', tags: ['storage', 'whole-bean'], replyCount: 3 });
      expect(topic.acceptedAnswer.id).toBe(acceptedId);
      expect(topic.posts.totalCount).toBe(4);
      expect(topic.posts.edges.map((e: any) => e.node.number)).toEqual([1, 2, 3, 4]);
      expect(topic.firstPost.bodyHtml).toContain('<p>I just got a pound of microroasted, local coffee');
      expect(topic.firstPost.revisions).toEqual([{ number: 1 }]);

      const accepted = await one(`SELECT count(accepted_post_id)::int AS n FROM topics WHERE board_id = $1`, [boardId]);
      expect(accepted.n).toBeGreaterThan(50);
      const badAccepted = await t.sql(
        `SELECT t.id FROM topics t JOIN posts p ON p.id = t.accepted_post_id WHERE t.board_id = $1 AND (p.topic_id <> t.id OR p.number = 1)`,
        [boardId],
      );
      expect(badAccepted).toEqual([]);
      const unsafe = await one(
        `SELECT count(*)::int AS n FROM posts WHERE space_id = $1 AND (body_html ~* '<(script|iframe|style)' OR body_html ~* '\\son[a-z]+\\s*=' OR body_html ~* 'javascript:')`,
        [space.id],
      );
      expect(unsafe.n).toBe(0);
    });

    it('gives every post to one placeholder (no Users.xml) that cannot sign in', async () => {
      const owners = await t.sql(
        `SELECT DISTINCT u.handle, u.email, u.password_hash, u.is_placeholder FROM posts p JOIN users u ON u.id = p.author_id WHERE p.space_id = $1`,
        [space.id],
      );
      expect(owners).toEqual([{ handle: 'se-coffee-anon', email: null, password_hash: null, is_placeholder: true }]);
      await signInFails('se-coffee-anon');
    });

    it('announces every post with one post.imported outbox event and notifies nobody', async () => {
      const events = await t.sql(
        `SELECT o.aggregate_type, o.version, o.payload, p.id AS post_id, p.topic_id, p.version AS post_version
           FROM outbox o JOIN posts p ON p.id = o.aggregate_id WHERE o.type = 'post.imported' AND p.space_id = $1`,
        [space.id],
      );
      expect(events).toHaveLength(questions + answers);
      expect(new Set(events.map((e) => e.post_id)).size).toBe(questions + answers);
      for (const e of events) {
        expect(e.aggregate_type).toBe('post');
        expect(e.version).toBe(e.post_version);
        expect(e.payload).toEqual({ postId: e.post_id, topicId: e.topic_id, spaceId: space.id, boardId });
      }
      const created = await one(`SELECT count(*)::int AS n FROM outbox WHERE type IN ('post.created', 'topic.created')`);
      expect(created.n).toBe(0);
    });

    it('re-runs without duplicating anything', async () => {
      const before = await one(`SELECT (SELECT count(*) FROM topics)::int AS topics, (SELECT count(*) FROM posts)::int AS posts,
                                       (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM outbox)::int AS outbox`);
      const again = await run({ dir: COFFEE, space: space.slug });
      expect(again).toMatchObject({
        boardId,
        boardCreated: false,
        questions: { created: 0, updated: 0, unchanged: questions },
        answers: { created: 0, updated: 0, unchanged: answers },
        acceptedChanged: 0,
        events: 0,
      });
      const after = await one(`SELECT (SELECT count(*) FROM topics)::int AS topics, (SELECT count(*) FROM posts)::int AS posts,
                                      (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM outbox)::int AS outbox`);
      expect(after).toEqual(before);
    });
  });

  describe('a crafted dump', () => {
    const question = (over: Record<string, string> = {}) => ({
      Id: '10',
      PostTypeId: '1',
      AcceptedAnswerId: '12',
      CreationDate: '2020-05-01T10:00:00.000',
      Title: 'How do I <b>escape</b> things?',
      Tags: '|c#|Python|superconducting-quantum-computing|',
      OwnerUserId: '1',
      Body:
        '<p onclick="steal()">Hello <a href="javascript:alert(1)">there</a> <img src="javascript:alert(2)" onerror="alert(2)"></p>' +
        '<script>alert(3)</script><pre><code>x &lt; y</code></pre>',
      ...over,
    });
    const answers = (over: Record<string, Record<string, string>> = {}) => [
      // Out of creation order in the file: numbers still follow CreationDate.
      { Id: '12', PostTypeId: '2', ParentId: '10', CreationDate: '2020-05-01T12:00:00.000', OwnerUserId: '2', Body: '<p>Second <em>answer</em></p>', ...over['12'] },
      { Id: '11', PostTypeId: '2', ParentId: '10', CreationDate: '2020-05-01T11:00:00.000', OwnerUserId: '999', Body: '<p>First answer<style>p{}</style></p>', ...over['11'] },
      { Id: '14', PostTypeId: '2', ParentId: '77', CreationDate: '2020-05-01T11:30:00.000', Body: '<p>Answer to a question not in the dump</p>' },
      { Id: '15', PostTypeId: '4', CreationDate: '2020-05-01T11:40:00.000', Body: '<p>A tag wiki excerpt</p>' },
    ];
    const users = (names: [string, string, string]) => [
      { Id: '1', DisplayName: names[0], CreationDate: '2019-01-01T00:00:00.000' },
      { Id: '2', DisplayName: names[1], CreationDate: '2019-01-02T00:00:00.000' },
      { Id: '-1', DisplayName: names[2], CreationDate: '2019-01-03T00:00:00.000' },
    ];

    /** A dump folder of its own (named after `name`, also its source) and a space of its own. */
    async function craft(name: string, names: [string, string, string]) {
      const dir = path.join(mkdtempSync(path.join(tmpdir(), 'parvis-se-')), name);
      temps.push(path.dirname(dir));
      mkdirSync(dir);
      writeDumpFile(dir, 'Posts.xml', 'posts', [question(), ...answers()]);
      writeDumpFile(dir, 'Users.xml', 'users', users(names));
      const space = await makeSpace(t, 'PUBLIC');
      return { dir, space, source: `stackexchange:${name}` };
    }

    /**
     * An admin's anonymizeUser of `userId`, started while the test holds `holder` and queued
     * behind it, then a re-run of `opts`, which must queue behind the two before the holder lets
     * go; the re-run's summary, once the anonymisation has succeeded.
     */
    async function rerunBehindAnonymisation(holder: HeldLock, userId: string, opts: StackExchangeImportOptions): Promise<StackExchangeImportSummary> {
      const admin = await makeUser(t, { role: 'ADMIN' });
      let anonymised: Promise<any> | null = null;
      let rerun: Promise<StackExchangeImportSummary> | null = null;
      try {
        anonymised = t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: userId }, { token: admin.token });
        await holder.waiting(1);
        rerun = run(opts);
        rerun.catch(() => undefined); // settled below
        expect(await doneOrWaiting(t, rerun, 2, holder)).toBe('waiting');
      } finally {
        await holder.release();
      }
      expectOk(await anonymised);
      return rerun;
    }

    /**
     * What a run of `opts` rejects with (or 'imported'), with a trigger of the test's on `table`
     * (BEFORE INSERT, for each row `when`) running `body` (plpgsql, which ends returning or raising),
     * and how often the trigger counted, `nextval('se_test_count')` in `body`: a sequence, which no
     * rollback takes back. The trigger, its function and the sequence are gone after, whatever
     * failed (the run, making them, reading the count): one left would refuse the next test's.
     */
    async function runWithTestTrigger(table: string, when: string, body: string, opts: StackExchangeImportOptions): Promise<{ err: unknown; count: number }> {
      try {
        await t.sql(`CREATE SEQUENCE se_test_count`);
        await t.sql(`CREATE FUNCTION se_test_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} END $$`);
        await t.sql(`CREATE TRIGGER se_test_trigger BEFORE INSERT ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION se_test_trigger()`);
        const err = await run(opts).then(
          () => 'imported',
          (e: unknown) => e,
        );
        const [{ count }] = await t.sql(`SELECT CASE WHEN is_called THEN last_value::int ELSE 0 END AS count FROM se_test_count`);
        return { err, count };
      } finally {
        await t.sql(`DROP TRIGGER IF EXISTS se_test_trigger ON ${table}`);
        await t.sql(`DROP FUNCTION IF EXISTS se_test_trigger()`);
        await t.sql(`DROP SEQUENCE IF EXISTS se_test_count`);
      }
    }

    it("leaves none of runWithTestTrigger's own objects behind when it fails, so the next one can make them", async () => {
      const { dir, space } = await craft('trigger-left', ['Left One', 'Left Two', 'Left Three']);
      const left = () => t.sql(`SELECT relname AS name FROM pg_class WHERE relname = 'se_test_count' UNION ALL SELECT proname FROM pg_proc WHERE proname = 'se_test_trigger'`);
      // A condition naming no column: the trigger is refused once the sequence and the function are made.
      await expect(runWithTestTrigger('posts', 'NEW.no_such_column', 'RETURN NEW;', { dir, space: space.slug })).rejects.toThrow(/no_such_column/);
      expect(await left()).toEqual([]);
      await expect(runWithTestTrigger('posts', 'false', 'RETURN NEW;', { dir, space: space.slug })).resolves.toEqual({ err: 'imported', count: 0 });
      expect(await left()).toEqual([]);
    });

    it('refuses a missing space, a missing board, a board that is not a forum board, a folder without Posts.xml, and broken XML', async () => {
      const { dir, space } = await craft('refused', ['Refused One', 'Refused Two', 'Refused Three']);
      const ideas = await makeBoard(t, space.id, 'IDEAS');
      const [{ slug }] = await t.sql(`SELECT slug FROM boards WHERE id = $1`, [ideas]);
      // With the codes of API.md, which the CLI prints before the message (errorText).
      await expect(run({ dir, space: 'no-such-space' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('Space "no-such-space" not found') });
      await expect(run({ dir, space: space.slug, board: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('Board "nope" not found') });
      await expect(run({ dir, space: space.slug, board: slug })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringContaining('is a IDEAS board'),
        details: { fields: [{ field: 'board', message: 'is a IDEAS board, not a FORUM board' }] },
      });
      await expect(run({ dir, space: space.slug, source: ' ' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { fields: [{ field: 'source', message: 'is empty' }] } });
      await expect(run({ dir: path.join(dir, 'missing'), space: space.slug })).rejects.toThrow('Posts.xml not found');
      const broken = path.join(dir, 'broken');
      mkdirSync(broken);
      writeFileSync(path.join(broken, 'Posts.xml'), '<posts>\n  <row Id="1" PostTypeId="1" Title="unclosed />\n</posts>\n');
      await expect(run({ dir: broken, space: space.slug })).rejects.toThrow(path.join(broken, 'Posts.xml'));
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM posts WHERE space_id = $1`, [space.id]);
      expect(n).toBe(0);
    });

    it('refuses a dump whose Posts.xml or an optional file is a folder, before it chooses or makes a board', async () => {
      const { dir, space } = await craft('folders', ['Folder One', 'Folder Two', 'Folder Three']);
      const postsFolder = path.join(dir, 'posts-folder');
      mkdirSync(path.join(postsFolder, 'Posts.xml'), { recursive: true });
      await expect(run({ dir: postsFolder, space: space.slug })).rejects.toThrow(`${path.join(postsFolder, 'Posts.xml')} is not a file: give the folder of a Stack Exchange dump`);
      for (const name of ['Users.xml', 'Comments.xml', 'PostLinks.xml']) {
        const folder = path.join(dir, `${name}-folder`);
        mkdirSync(path.join(folder, name), { recursive: true });
        writeDumpFile(folder, 'Posts.xml', 'posts', [question(), ...answers()]);
        await expect(run({ dir: folder, space: space.slug })).rejects.toThrow(`${path.join(folder, name)} is not a file: give the folder of a Stack Exchange dump`);
      }
      expect(await t.sql(`SELECT id FROM boards WHERE space_id = $1`, [space.id])).toEqual([]);
      expect(await t.sql(`SELECT source FROM import_links WHERE source LIKE 'stackexchange:%-folder'`)).toEqual([]);
    });

    // Whether it is there is not known (a loop of links here, which root cannot reach either; a
    // folder this user may not enter is cli-input's, as nobody): it may be a file the run would read.
    it('refuses a dump whose optional file cannot be reached, before it chooses or makes a board', async () => {
      const { dir, space } = await craft('unreachable', ['Unreachable One', 'Unreachable Two', 'Unreachable Three']);
      for (const name of ['Users.xml', 'Comments.xml', 'PostLinks.xml']) {
        const folder = path.join(dir, `${name}-loop`);
        mkdirSync(folder);
        writeDumpFile(folder, 'Posts.xml', 'posts', [question(), ...answers()]);
        symlinkSync(name, path.join(folder, name));
        await expect(run({ dir: folder, space: space.slug })).rejects.toThrow(`${path.join(folder, name)} cannot be reached (ELOOP): give the folder of a Stack Exchange dump`);
      }
      expect(await t.sql(`SELECT id FROM boards WHERE space_id = $1`, [space.id])).toEqual([]);
      expect(await t.sql(`SELECT source FROM import_links WHERE source LIKE 'stackexchange:%-loop'`)).toEqual([]);
    });

    it('refuses a dump whose optional file is a link to a path not found, rather than importing without it', async () => {
      const { dir, space } = await craft('dangling', ['Dangling One', 'Dangling Two', 'Dangling Three']);
      symlinkSync('../comments/Comments.xml', path.join(dir, 'Comments.xml'));
      await expect(run({ dir, space: space.slug })).rejects.toThrow(
        `${path.join(dir, 'Comments.xml')} is a link to a path not found (../comments/Comments.xml): give the folder of a Stack Exchange dump`,
      );
      expect(await t.sql(`SELECT id FROM boards WHERE space_id = $1`, [space.id])).toEqual([]);
    });

    it('sanitizes bodies, maps users to placeholders, and skips what it cannot place', async () => {
      await makeUser(t, { handle: 'taken-name' });
      const { dir, space, source } = await craft('crafted', ['Zoë Ångström', 'taken-name', '李']);
      await makeBoard(t, space.id, 'IDEAS');
      const forum = await makeBoard(t, space.id, 'FORUM');
      const summary = await run({ dir, space: space.slug });
      expect(summary).toMatchObject({
        source,
        boardId: forum,
        boardCreated: false,
        users: { created: 3, updated: 0, unchanged: 0 },
        questions: { created: 1 },
        answers: { created: 2 },
        acceptedChanged: 1,
        tagsRewritten: 2,
        skipped: { otherPostTypes: 1, orphanAnswers: 1, orphanComments: 0 },
        events: 3,
      });

      const topicId = await linked(source, 'question', '10');
      const { topic } = expectOk(await t.gql(TOPIC, { id: topicId }));
      expect(topic.title).toBe('How do I <b>escape</b> things?'); // a title is text, shown escaped
      expect(topic.tags).toEqual(['csharp', 'python', 'superconducting-quantum-comput']);
      const html: string = topic.firstPost.bodyHtml;
      expect(html).not.toMatch(/<script|onclick|onerror|javascript:|alert\(3\)|<img/i);
      expect(html).toMatch(/^<p>Hello <a( rel="[^"]*")?>there<\/a> <\/p>/); // the link's href went with its javascript: scheme
      expect(html).toContain('<pre><code>x &lt; y</code></pre>');
      expect(topic.firstPost.bodySource).toBeNull(); // only its author and moderators see it
      // The source is markdown that renders back to the same content (see convertDumpBody).
      const [{ body_source }] = await t.sql(`SELECT body_source FROM posts WHERE id = $1`, [await linked(source, 'post', '10')]);
      expect(body_source).toBe('Hello there\n\n```\nx < y\n```');

      expect(topic.posts.edges.map((e: any) => [e.node.number, e.node.author.handle])).toEqual([
        [1, 'zoe-angstrom'],
        [2, 'se-crafted-anon'], // OwnerUserId 999 is not in Users.xml
        [3, 'taken-name-2'], // "taken-name" belongs to someone else
      ]);
      expect(topic.posts.edges[0].node.author.displayName).toBe('Zoë Ångström');
      expect(topic.posts.edges[1].node.bodyHtml).toBe('<p>First answer</p>');
      expect(topic.acceptedAnswer).toEqual({ id: await linked(source, 'post', '12'), number: 3 });
      expect(topic.replyCount).toBe(2);

      const community = await one(`SELECT handle, display_name FROM users WHERE id = $1`, [await linked(source, 'user', '-1')]);
      expect(community).toEqual({ handle: 'se-user-m1', display_name: '李' });
      const placeholders = await t.sql(
        `SELECT handle, email, password_hash, is_placeholder FROM users WHERE id IN (SELECT local_id FROM import_links WHERE source = $1 AND kind = 'user')`,
        [source],
      );
      expect(placeholders).toHaveLength(4);
      for (const u of placeholders) expect(u).toMatchObject({ email: null, password_hash: null, is_placeholder: true });
      await signInFails('zoe-angstrom');
      await signInFails('se-crafted-anon');
    });

    it('keeps what an interrupted run committed, and a run again finishes the rest without duplicating it', async () => {
      const { dir, space, source } = await craft('interrupted', ['Cut One', 'Cut Two', 'Cut Three']);
      const stop = new AbortController();
      // Stopped (as the CLI's Ctrl-C stops it) once the answers' second row, answer 12, is in: answer 11 is not.
      const progress = (p: StackExchangeProgress) => p.phase === 'answers' && p.rows === 2 && !p.done && stop.abort();
      const interrupted = await run({ dir, space: space.slug, batchSize: 1, progress, signal: stop.signal }).then(
        () => 'imported',
        (err: unknown) => err,
      );
      // It tells what the batches it committed did (the CLI prints it): the question and answer 12, not answer 11 or 14.
      expect(interrupted).toBeInstanceOf(StackExchangeImportInterrupted);
      expect((interrupted as StackExchangeImportInterrupted).summary).toMatchObject({
        source,
        users: { created: 3, updated: 0, unchanged: 0 },
        questions: { created: 1, updated: 0, unchanged: 0 },
        answers: { created: 1, updated: 0, unchanged: 0 },
        acceptedChanged: 1,
        skipped: { otherPostTypes: 1, orphanAnswers: 0 },
        events: 2,
      });
      expect(await linked(source, 'post', '12')).toBeDefined();
      expect(await linked(source, 'post', '11')).toBeUndefined();

      const again = await run({ dir, space: space.slug, batchSize: 1 });
      expect(again).toMatchObject({
        users: { created: 0, updated: 0, unchanged: 3 },
        questions: { created: 0, updated: 0, unchanged: 1 },
        answers: { created: 1, updated: 0, unchanged: 1 },
        acceptedChanged: 0,
        events: 2, // answer 11's, and answer 12's as its number moves
      });
      const { topic } = expectOk(await t.gql(TOPIC, { id: await linked(source, 'question', '10') }));
      // Answer 11, older, comes before answer 12 it followed in the file: 12 is renumbered, still accepted.
      expect(topic.posts.edges.map((e: any) => [e.node.id, e.node.number])).toEqual([
        [await linked(source, 'post', '10'), 1],
        [await linked(source, 'post', '11'), 2],
        [await linked(source, 'post', '12'), 3],
      ]);
      expect(topic.acceptedAnswer).toEqual({ id: await linked(source, 'post', '12'), number: 3 });
      expect(topic.replyCount).toBe(2);
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM posts WHERE space_id = $1`, [space.id]);
      expect(n).toBe(3);
      const [{ users }] = await t.sql(`SELECT count(*)::int AS users FROM import_links WHERE source = $1 AND kind = 'user'`, [source]);
      expect(users).toBe(4); // three from Users.xml and the anonymous placeholder, once each
    });

    it('numbers answers a later run adds after the highest number their topic gave, and orders by date over the numbers its posts have: never one a post moved away had', async () => {
      const { dir, space, source } = await craft('moved-away', ['Away One', 'Away Two', 'Away Three']);
      await run({ dir, space: space.slug });
      const topicId = (await linked(source, 'question', '10'))!;
      const [q10, a11, a12] = [topicId, await linked(source, 'post', '11'), await linked(source, 'post', '12')];
      const question10 = (await one<{ id: string }>(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [q10])).id;
      // Answer 12, post 3 and the last, split off into a topic of its own: the question's last post is 2, and 3 was given.
      const admin = await makeUser(t, { role: 'ADMIN' });
      const board = await makeBoard(t, space.id);
      const MOVE = `mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`;
      expectOk(await t.gql(MOVE, { input: { postIds: [a12], newTopic: { boardId: board, title: 'An answer split off', tags: [] } } }, { token: admin.token }));
      // A later dump adds answer 13, written after the others, and answer 16, written before answer 11.
      const later = [
        { Id: '13', PostTypeId: '2', ParentId: '10', CreationDate: '2020-05-01T13:00:00.000', OwnerUserId: '2', Body: '<p>Third answer</p>' },
        { Id: '16', PostTypeId: '2', ParentId: '10', CreationDate: '2020-05-01T10:30:00.000', OwnerUserId: '1', Body: '<p>Earliest answer</p>' },
      ];
      writeDumpFile(dir, 'Posts.xml', 'posts', [question(), ...answers(), ...later]);
      expect(await run({ dir, space: space.slug })).toMatchObject({ answers: { created: 2 } });
      // In date order over 1, 2 and the two after 3 (4, 5): 3 is given to none (it took 3, 11 moving up to it, before).
      const numbers = await t.sql(`SELECT id, number FROM posts WHERE topic_id = $1 ORDER BY number`, [q10]);
      expect(numbers).toEqual([
        { id: question10, number: 1 },
        { id: await linked(source, 'post', '16'), number: 2 },
        { id: a11, number: 4 },
        { id: await linked(source, 'post', '13'), number: 5 },
      ]);
      expect(await one(`SELECT last_post_number, reply_count FROM topics WHERE id = $1`, [q10])).toEqual({ last_post_number: 5, reply_count: 3 });
      // The split-off answer stays where it went, the first post of its topic.
      expect(await one(`SELECT number FROM posts WHERE id = $1`, [a12])).toEqual({ number: 1 });
    });

    it('updates what changed on a re-run (title, body, tags, accepted answer, names), adds what is new, duplicates nothing', async () => {
      const { dir, space, source } = await craft('rerun', ['Rerun One', 'Rerun Two', 'Rerun Three']);
      const first = await run({ dir, space: space.slug });
      expect(first.boardCreated).toBe(true);
      // The same source cannot be split over two places: it would update one and add to the other.
      const elsewhere = await makeSpace(t, 'PUBLIC');
      await expect(run({ dir, space: elsewhere.slug })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`${source} was imported into board "${first.boardSlug}"`) });
      const otherBoard = await makeBoard(t, space.id, 'FORUM');
      const [{ slug }] = await t.sql(`SELECT slug FROM boards WHERE id = $1`, [otherBoard]);
      await expect(run({ dir, space: space.slug, board: slug })).rejects.toThrow('give another --source');
      const unchanged = await run({ dir, space: space.slug });
      expect(unchanged).toMatchObject({
        boardId: first.boardId,
        boardCreated: false,
        users: { created: 0, updated: 0, unchanged: 3 },
        questions: { created: 0, updated: 0, unchanged: 1 },
        answers: { created: 0, updated: 0, unchanged: 2 },
        acceptedChanged: 0,
        events: 0,
      });

      const topicId = await linked(source, 'question', '10');
      const firstPostId = (await linked(source, 'post', '10'))!;
      const a11 = (await linked(source, 'post', '11'))!;
      const a12 = (await linked(source, 'post', '12'))!;
      const versions = async (): Promise<Record<string, number>> =>
        Object.fromEntries((await t.sql(`SELECT id, version FROM posts WHERE topic_id = $1`, [topicId])).map((r) => [r.id, r.version]));
      const before = await versions();
      const outboxBefore = (await one(`SELECT coalesce(max(id), 0)::int AS id FROM outbox`)).id;
      // The re-run's writes draw their versions from the shared sequence (next_version), as the
      // app's do: moved a million past every version here, a post counted on (version + 1) would
      // stay below it.
      const floor = (await one<{ v: number }>(`SELECT setval('content_versions', (SELECT last_value FROM content_versions) + 1000000)::int AS v`)).v;
      expect(Math.max(...Object.values(before))).toBeLessThan(floor);

      writeDumpFile(dir, 'Posts.xml', 'posts', [
        question({ Title: 'How do I escape things, revised?', Tags: '<python>', AcceptedAnswerId: '11' }),
        ...answers({ '11': { Body: '<p>First answer, <strong>edited</strong></p>', LastEditDate: '2021-01-01T00:00:00.000' } }),
        { Id: '13', PostTypeId: '2', ParentId: '10', CreationDate: '2020-06-01T00:00:00.000', OwnerUserId: '1', Body: '<p>A late answer</p>' },
      ]);
      writeDumpFile(dir, 'Users.xml', 'users', users(['Rerun Renamed', 'Rerun Two', 'Rerun Three']));
      const { summary: changed, sent } = await runCounting({ dir, space: space.slug });
      // Versions are drawn in the batches' own statements, one per batch and kind of write however
      // many rows it takes: the questions' pass sets the topic, touches its three posts (one
      // statement) and sets the accepted answer; the answers' pass sets 11's body, recounts the
      // topic and settles the accepted answer again.
      const drawing = sent.filter((q) => q.includes('next_version'));
      expect(drawing.map((q) => q.match(/UPDATE (topics|posts)\b/)![1])).toEqual(['topics', 'posts', 'topics', 'posts', 'topics', 'topics']);
      expect(drawing.filter((q) => q.startsWith('UPDATE posts SET version = next_version(version)'))).toHaveLength(1);
      expect(changed).toMatchObject({
        boardId: first.boardId,
        users: { created: 0, updated: 1, unchanged: 2 },
        questions: { created: 0, updated: 1, unchanged: 0 },
        answers: { created: 1, updated: 1, unchanged: 1 },
        acceptedChanged: 1,
      });

      const handleOf = async (ext: string) => (await one(`SELECT handle FROM users WHERE id = $1`, [await linked(source, 'user', ext)])).handle;
      const { topic } = expectOk(await t.gql(TOPIC, { id: topicId }));
      expect(topic).toMatchObject({ title: 'How do I escape things, revised?', tags: ['python'], replyCount: 3, acceptedAnswer: { id: a11, number: 2 } });
      expect(topic.posts.edges.map((e: any) => [e.node.number, e.node.author.handle])).toEqual([
        [1, await handleOf('1')],
        [2, 'se-rerun-anon'],
        [3, await handleOf('2')],
        [4, await handleOf('1')],
      ]);
      expect(topic.posts.edges[0].node.author.displayName).toBe('Rerun Renamed');
      expect(topic.posts.edges[1].node.bodyHtml).toBe('<p>First answer, <strong>edited</strong></p>');
      const [edited] = await t.sql(`SELECT edited_at, body_source FROM posts WHERE id = $1`, [a11]);
      expect(edited).toEqual({ edited_at: new Date('2021-01-01T00:00:00.000Z'), body_source: 'First answer, **edited**' });
      const revisions = await t.sql(`SELECT number, reason FROM post_revisions WHERE post_id = $1 ORDER BY number`, [a11]);
      expect(revisions).toEqual([
        { number: 1, reason: 'Imported from Stack Exchange' },
        { number: 2, reason: 'Updated from Stack Exchange' },
      ]);

      // Announced again: in the questions' pass every post of the question (its title and tags
      // changed; 11 is accepted now, 12 no longer), in the answers' pass 11 (new body) and 13 (new).
      // Each event carries the version its transaction left: the last one per post is the post as it is.
      const a13 = (await linked(source, 'post', '13'))!;
      const after = await versions();
      // Each changed post took values of the sequence past the floor (11 two: one per pass), as
      // did the new one's insert (the column's default) and the topic's writes.
      for (const id of [firstPostId, a11, a12, a13]) expect(after[id]).toBeGreaterThan(floor);
      expect((await one(`SELECT version FROM topics WHERE id = $1`, [topicId])).version).toBeGreaterThan(floor);
      const events = await t.sql(`SELECT aggregate_id, version FROM outbox WHERE id > $1 AND type = 'post.imported' ORDER BY id`, [outboxBefore]);
      const a11Versions = events.filter((e) => e.aggregate_id === a11).map((e) => e.version);
      expect(a11Versions).toEqual([expect.any(Number), after[a11]]);
      expect(a11Versions[0]).toBeGreaterThan(floor);
      expect(a11Versions[1]).toBeGreaterThan(a11Versions[0]);
      const latest = Object.fromEntries(events.map((e) => [e.aggregate_id, e.version]));
      expect(latest).toEqual({ [firstPostId]: after[firstPostId], [a11]: after[a11], [a12]: after[a12], [a13]: after[a13] });
      expect(changed.events).toBe(5);

      const counts = await one(
        `SELECT (SELECT count(*) FROM topics WHERE board_id = $1)::int AS topics, (SELECT count(*) FROM posts WHERE topic_id = $2)::int AS posts,
                (SELECT count(*) FROM import_links WHERE source = $3)::int AS links`,
        [first.boardId, topicId, source],
      );
      expect(counts).toEqual({ topics: 1, posts: 4, links: 4 + 1 + 4 + 1 }); // users (3 and the anonymous one), the question, posts 10–13, the target board
    });

    it('keeps a moderator’s local edit of an imported post on a re-run of the same dump; the dump’s own changes still come', async () => {
      const { dir, space, source } = await craft('local-edits', ['Local One', 'Local Two', 'Local Three']);
      await run({ dir, space: space.slug });
      const admin = await makeUser(t, { role: 'ADMIN' });
      const a12 = (await linked(source, 'post', '12'))!;
      const a11 = (await linked(source, 'post', '11'))!;
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      for (const id of [a12, a11]) expectOk(await t.gql(EDIT, { input: { postId: id, body: 'Redacted by a moderator.', reason: 'personal data' } }, { token: admin.token }));
      const again = await run({ dir, space: space.slug });
      expect(again.answers).toMatchObject({ updated: 0, unchanged: 2 });
      const bodies = async () => (await t.sql(`SELECT id, body_source FROM posts WHERE id = ANY($1::uuid[]) ORDER BY id`, [[a11, a12]])).map((r) => [r.id, r.body_source]);
      expect(await bodies()).toEqual([[a11, 'Redacted by a moderator.'], [a12, 'Redacted by a moderator.']].sort());
      // The dump changes answer 12: that change comes; answer 11, unchanged there, keeps its redaction.
      writeDumpFile(dir, 'Posts.xml', 'posts', [question(), ...answers({ '12': { Body: '<p>Second answer, revised upstream</p>' } })]);
      const third = await run({ dir, space: space.slug });
      expect(third.answers).toMatchObject({ updated: 1, unchanged: 1 });
      expect(Object.fromEntries(await bodies())).toEqual({ [a11]: 'Redacted by a moderator.', [a12]: 'Second answer, revised upstream' });
    });

    /** What a later version of the converters might make of the same dump: every title, body and comment comes out otherwise. */
    const reconverted: DumpConversion = {
      title: (raw, id) => ({ title: `${importedTitle(raw, id).title} (reconverted)`, lengthened: false }),
      body: (raw) => {
        const c = convertDumpBody(raw);
        return { html: `${c.html}<p>reconverted</p>`, source: `${c.source}\n\nreconverted` };
      },
      comment: (text) => convertDumpComment(`${text ?? ''} (reconverted)`),
    };

    /** A crafted dump with a comment on answer 11, a moderator's redaction of answer 11, and what each post and the topic hold. */
    async function redacted(name: string) {
      const crafted = await craft(name, ['Conv One', 'Conv Two', 'Conv Three']);
      const comments = [{ Id: '1', PostId: '11', Text: 'A comment on the first answer', CreationDate: '2020-05-01T11:10:00.000', UserId: '2' }];
      writeDumpFile(crafted.dir, 'Comments.xml', 'comments', comments);
      await run({ dir: crafted.dir, space: crafted.space.slug });
      const ids = {
        question: (await linked(crafted.source, 'post', '10'))!,
        a11: (await linked(crafted.source, 'post', '11'))!,
        a12: (await linked(crafted.source, 'post', '12'))!,
        comment: (await linked(crafted.source, 'comment', '1'))!,
        topic: (await linked(crafted.source, 'question', '10'))!,
      };
      const admin = await makeUser(t, { role: 'ADMIN' });
      const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
      expectOk(await t.gql(EDIT, { input: { postId: ids.a11, body: 'Redacted by a moderator.', reason: 'personal data' } }, { token: admin.token }));
      const state = async () => ({
        posts: Object.fromEntries(
          (await t.sql(`SELECT id, body_source, body_html, edited_at, version FROM posts WHERE id = ANY($1::uuid[])`, [[ids.question, ids.a11, ids.a12, ids.comment]])).map((r) => [
            r.id,
            r,
          ]),
        ),
        topic: await one(`SELECT title, tags, closed, version FROM topics WHERE id = $1`, [ids.topic]),
        revisions: (await one<{ n: number }>(`SELECT count(*)::int AS n FROM post_revisions WHERE post_id = ANY($1::uuid[])`, [Object.values(ids)])).n,
      });
      return { ...crafted, comments, ids, state, before: await state() };
    }

    it('keeps a moderator’s redaction and every imported row as it is when a later version converts the same dump otherwise; a change of the dump row still comes', async () => {
      const { dir, space, ids, state, before, comments } = await redacted('reconverted');
      const again = await run({ dir, space: space.slug, conversion: reconverted });
      expect(again).toMatchObject({
        questions: { created: 0, updated: 0, unchanged: 1 },
        answers: { created: 0, updated: 0, unchanged: 2 },
        comments: { created: 0, updated: 0, unchanged: 1 },
        titlesLengthened: 0,
        events: 0,
      });
      // The redaction stays, and nothing else was rewritten, marked edited or given a revision.
      expect(await state()).toEqual(before);
      expect(before.posts[ids.a11].body_source).toBe('Redacted by a moderator.');
      // The dump itself changes answer 12 and the comment: those changes come, in the run's conversion; answer 11 stays redacted.
      writeDumpFile(dir, 'Posts.xml', 'posts', [question(), ...answers({ '12': { Body: '<p>Second answer, revised upstream</p>' } })]);
      writeDumpFile(dir, 'Comments.xml', 'comments', [{ ...comments[0], Text: 'A comment, revised upstream' }]);
      const third = await run({ dir, space: space.slug, conversion: reconverted });
      expect(third).toMatchObject({
        questions: { updated: 0, unchanged: 1 },
        answers: { updated: 1, unchanged: 1 },
        comments: { updated: 1, unchanged: 0 },
      });
      const after = await state();
      expect(after.posts[ids.a12].body_source).toBe('Second answer, revised upstream\n\nreconverted');
      expect(after.posts[ids.comment].body_source).toBe('A comment, revised upstream (reconverted)');
      expect(after.posts[ids.a11]).toEqual(before.posts[ids.a11]);
      expect(after.posts[ids.question]).toEqual(before.posts[ids.question]);
      expect(after.topic).toEqual(before.topic);
    });

    it('takes a row whose stored digest is of the old kind (of the converted text) as unchanged, rewriting its digest only', async () => {
      const { dir, space, source, ids, state, before } = await redacted('old-digests');
      // As a version before raw digests left them: a hash of the converted title, tags and closed flag, and of each converted body.
      const oldKind = (...parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
      const topic = await one(`SELECT title, tags, closed FROM topics WHERE id = $1`, [ids.topic]);
      await t.sql(`UPDATE import_links SET digest = $3 WHERE source = $1 AND kind = 'question' AND external_id = $2`, [source, '10', oldKind(topic.title, topic.tags, topic.closed)]);
      for (const [kind, ext, id] of [['post', '10', ids.question], ['post', '11', ids.a11], ['post', '12', ids.a12], ['comment', '1', ids.comment]]) {
        // Answer 11's stored body is the moderator's: the digest of what the import had made of it was of the dump's text, here in the converter of its day.
        const html = id === ids.a11 ? convertDumpBody(answers()[1].Body).html : before.posts[id].body_html;
        await t.sql(`UPDATE import_links SET digest = $4 WHERE source = $1 AND kind = $2 AND external_id = $3`, [source, kind, ext, oldKind(html)]);
      }
      const digests = async () =>
        (await t.sql<{ digest: string }>(`SELECT digest FROM import_links WHERE source = $1 AND kind IN ('question', 'post', 'comment') ORDER BY kind, external_id`, [source])).map(
          (r) => r.digest,
        );
      const old = await digests();
      const again = await run({ dir, space: space.slug, conversion: reconverted });
      expect(again).toMatchObject({
        questions: { updated: 0, unchanged: 1 },
        answers: { updated: 0, unchanged: 2 },
        comments: { updated: 0, unchanged: 1 },
        events: 0,
      });
      expect(await state()).toEqual(before);
      // Each digest is now of the new kind, so the next run judges the row by the dump alone.
      const rewritten = await digests();
      expect(rewritten).toHaveLength(5);
      rewritten.forEach((d, i) => expect(d).not.toBe(old[i]));
      writeDumpFile(dir, 'Posts.xml', 'posts', [question({ Title: 'How do I escape things, revised upstream?' }), ...answers()]);
      const third = await run({ dir, space: space.slug, conversion: reconverted });
      expect(third).toMatchObject({ questions: { updated: 1, unchanged: 0 }, answers: { updated: 0, unchanged: 2 }, comments: { updated: 0, unchanged: 1 } });
      expect((await state()).topic.title).toBe('How do I escape things, revised upstream? (reconverted)');
      const { body_source, edited_at } = (await state()).posts[ids.a11];
      expect({ body_source, edited_at }).toEqual({ body_source: 'Redacted by a moderator.', edited_at: before.posts[ids.a11].edited_at });
    });

    it('brings users’ AboutMe, Location and WebsiteUrl into their profiles, sanitized and checked as updateProfile checks them', async () => {
      const { dir, space, source } = await craft('profiles', ['Profile One', 'Profile Two', 'Profile Three']);
      const long = Array.from({ length: 40 }, (_, i) => `<p>Paragraph ${i} ${'word '.repeat(20)}</p>`).join('\n');
      const profiles: Record<string, Record<string, string>> = {
        '1': {
          AboutMe: '<p onclick="steal()">I roast <strong>beans</strong> <a href="javascript:alert(1)">here</a> and <a href="https://roast.example.org">there</a>.</p><script>alert(2)</script>',
          Location: '  Paris,\n  France ',
          WebsiteUrl: 'https://roast.example.org/me',
        },
        // Too long a place, a script's address: left out; a long bio is cut at a paragraph.
        '2': { AboutMe: long, Location: 'x'.repeat(101), WebsiteUrl: 'javascript:alert(3)' },
        // Nothing visible, and an address without its scheme: left out.
        '-1': { AboutMe: '<p> \u200b </p>', Location: 'on the server farm', WebsiteUrl: 'meta.example.org' },
      };
      const withProfiles = (over: Record<string, Record<string, string>> = {}) =>
        users(['Profile One', 'Profile Two', 'Profile Three']).map((u) => ({ ...u, ...profiles[u.Id], ...over[u.Id] }));
      writeDumpFile(dir, 'Users.xml', 'users', withProfiles());
      await run({ dir, space: space.slug });
      const profileOf = async (ext: string) =>
        one(`SELECT handle, bio, bio_html, location, website FROM users WHERE id = $1`, [await linked(source, 'user', ext)]);

      const first = await profileOf('1');
      expect(first).toMatchObject({
        bio: 'I roast **beans** here and [there](https://roast.example.org).',
        bio_html: '<p>I roast <strong>beans</strong> here and <a href="https://roast.example.org" rel="nofollow ugc noopener">there</a>.</p>\n',
        location: 'Paris, France',
        website: 'https://roast.example.org/me',
      });
      // As readers get it: the same rendering as a bio written here.
      const PROFILE = `query($h: String!) { user(handle: $h) { bioHtml location website } }`;
      expect(expectOk(await t.gql(PROFILE, { h: first.handle })).user).toEqual({ bioHtml: first.bio_html, location: 'Paris, France', website: 'https://roast.example.org/me' });

      const second = await profileOf('2');
      expect(second).toMatchObject({ location: null, website: null });
      expect(Array.from(second.bio).length).toBeLessThanOrEqual(3000);
      expect(second.bio).toMatch(/^Paragraph 0 word/);
      expect(second.bio).toMatch(/word$/);
      expect(second.bio_html.endsWith('</p>\n')).toBe(true);
      expect(await profileOf('-1')).toMatchObject({ bio: null, bio_html: null, location: 'on the server farm', website: null });

      // A re-run brings the dump's changes (and only counts those users as updated); one anonymised since keeps nothing.
      const admin = await makeUser(t, { role: 'ADMIN' });
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: await linked(source, 'user', '2') }, { token: admin.token }));
      writeDumpFile(dir, 'Users.xml', 'users', withProfiles({ '1': { Location: 'Lyon' }, '2': { Location: 'Back again' } }));
      const again = await run({ dir, space: space.slug });
      expect(again.users).toEqual({ created: 0, updated: 1, unchanged: 2 });
      expect(await profileOf('1')).toMatchObject({ location: 'Lyon', website: 'https://roast.example.org/me' });
      expect(await profileOf('2')).toMatchObject({ bio: null, location: null, website: null });
    });

    it('keeps a local change of a placeholder’s name or profile on a re-run of the same dump, not counting it updated; the dump’s own changes still come', async () => {
      const { dir, space, source } = await craft('local-names', ['Local Name One', 'Local Name Two', 'Local Name Three']);
      await run({ dir, space: space.slug });
      const [u1, u2] = [(await linked(source, 'user', '1'))!, (await linked(source, 'user', '2'))!];
      // As a moderator's correction (through the database: no mutation renames another member) or
      // what another version's conversion made of the same Users.xml row: either way not the dump's change.
      await t.sql(`UPDATE users SET display_name = 'Corrected Name', location = 'Redacted' WHERE id = $1`, [u1]);
      const profile = (id: string) => one(`SELECT display_name, bio, location, website FROM users WHERE id = $1`, [id]);
      const again = await run({ dir, space: space.slug });
      expect(again.users).toEqual({ created: 0, updated: 0, unchanged: 3 });
      expect(await profile(u1)).toEqual({ display_name: 'Corrected Name', bio: null, location: 'Redacted', website: null });
      // The dump renames user 2: that comes; user 1, unchanged there, keeps the local change.
      writeDumpFile(dir, 'Users.xml', 'users', users(['Local Name One', 'Local Name Two, renamed', 'Local Name Three']));
      const third = await run({ dir, space: space.slug });
      expect(third.users).toEqual({ created: 0, updated: 1, unchanged: 2 });
      expect(await profile(u1)).toMatchObject({ display_name: 'Corrected Name', location: 'Redacted' });
      expect(await profile(u2)).toMatchObject({ display_name: 'Local Name Two, renamed' });
    });

    it('rewrites no link on a re-run of the same dump: a digest the dump did not change stays as it is, one it changed is rewritten', async () => {
      const { dir, space, source } = await craft('digests-kept', ['Kept One', 'Kept Two', 'Kept Three']);
      writeDumpFile(dir, 'Comments.xml', 'comments', [{ Id: '1', PostId: '11', Text: 'A comment on the first answer', CreationDate: '2020-05-01T11:10:00.000', UserId: '2' }]);
      await run({ dir, space: space.slug });
      // Each link's row version (xmin): an UPDATE writes a new one even when it sets what was there.
      const versions = async () =>
        Object.fromEntries(
          (
            await t.sql<{ key: string; v: string; digest: string }>(
              `SELECT kind || ':' || external_id AS key, xmin::text AS v, digest FROM import_links WHERE source = $1 AND digest IS NOT NULL`,
              [source],
            )
          ).map((r) => [r.key, { v: r.v, digest: r.digest }]),
        );
      const before = await versions();
      expect(Object.keys(before).sort()).toEqual(['comment:1', 'post:10', 'post:11', 'post:12', 'question:10', 'user:-1', 'user:1', 'user:2']);
      const again = await run({ dir, space: space.slug });
      expect(again.users).toEqual({ created: 0, updated: 0, unchanged: 3 });
      expect(await versions()).toEqual(before);
      // The dump renames user 2: that link alone gets its new digest.
      writeDumpFile(dir, 'Users.xml', 'users', users(['Kept One', 'Kept Two, renamed', 'Kept Three']));
      await run({ dir, space: space.slug });
      const after = await versions();
      expect(after['user:2'].digest).not.toBe(before['user:2'].digest);
      expect({ ...after, 'user:2': before['user:2'] }).toEqual(before);
    });

    it('compares a placeholder whose link has no digest (imported before users had one) with its local row once, as before, then judges it by its digest', async () => {
      const { dir, space, source } = await craft('user-digests', ['Digest One', 'Digest Two', 'Digest Three']);
      await run({ dir, space: space.slug });
      const [u1, u2] = [(await linked(source, 'user', '1'))!, (await linked(source, 'user', '2'))!];
      // As a version before user digests left them: no digest.
      await t.sql(`UPDATE import_links SET digest = NULL WHERE source = $1 AND kind = 'user'`, [source]);
      // The dump renamed user 2 after that version's last run: the first run after the upgrade must not miss it.
      writeDumpFile(dir, 'Users.xml', 'users', users(['Digest One', 'Digest Two, renamed upstream', 'Digest Three']));
      // Users.xml's three (not the anonymous placeholder's link, which no dump row tells).
      const digests = async () =>
        (await t.sql<{ digest: string | null }>(`SELECT digest FROM import_links WHERE source = $1 AND kind = 'user' AND external_id = ANY($2::text[])`, [source, ['1', '2', '-1']])).map(
          (r) => r.digest,
        );
      const name = async (id: string) => (await one<{ display_name: string }>(`SELECT display_name FROM users WHERE id = $1`, [id])).display_name;
      const again = await run({ dir, space: space.slug });
      expect(again.users).toEqual({ created: 0, updated: 1, unchanged: 2 });
      expect(await name(u2)).toBe('Digest Two, renamed upstream');
      // Each now has a digest of the dump's own fields, so the next run judges the account by the dump alone:
      // a local change of user 1 stays on the same dump, uncounted.
      const stored = await digests();
      expect(stored).toHaveLength(3);
      stored.forEach((d) => expect(d).toMatch(/^raw1:/));
      await t.sql(`UPDATE users SET display_name = 'Digest One, corrected' WHERE id = $1`, [u1]);
      const third = await run({ dir, space: space.slug });
      expect(third.users).toEqual({ created: 0, updated: 0, unchanged: 3 });
      expect(await name(u1)).toBe('Digest One, corrected');
    });

    it('imports a body or an AboutMe nested thousands of elements deep, its nesting bounded and its text kept', async () => {
      const { dir, space, source } = await craft('nested', ['Nested One', 'Nested Two', 'Nested Three']);
      const deep = (open: string, close: string, text: string) => open.repeat(5000) + text + close.repeat(5000);
      writeDumpFile(dir, 'Posts.xml', 'posts', [
        question({ Body: deep('<blockquote>', '</blockquote>', '<p>deep question</p>') }),
        ...answers({ '12': { Body: `<p>${deep('<em>', '</em>', 'deep answer')}</p>` } }),
      ]);
      writeDumpFile(dir, 'Users.xml', 'users', [
        { ...users(['Nested One', 'Nested Two', 'Nested Three'])[0], AboutMe: deep('<ul><li>', '</li></ul>', 'deep bio') },
        ...users(['Nested One', 'Nested Two', 'Nested Three']).slice(1),
      ]);
      // Walking 5,000 levels (turndown, for the editable source) overflowed the stack: the run failed whole.
      await expect(run({ dir, space: space.slug })).resolves.toMatchObject({ questions: { created: 1 }, answers: { created: 2 } });
      const nesting = (html: string) => {
        let depth = 0;
        let deepest = 0;
        for (const m of html.matchAll(/<(\/?)([a-z][a-z0-9]*)\b[^>]*>/gi)) {
          if (['br', 'hr', 'img'].includes(m[2])) continue;
          depth += m[1] ? -1 : 1;
          deepest = Math.max(deepest, depth);
        }
        return deepest;
      };
      for (const [ext, text] of [['10', 'deep question'], ['12', 'deep answer']]) {
        const [post] = await t.sql(`SELECT body_html, body_source FROM posts WHERE id = $1`, [await linked(source, 'post', ext)]);
        expect(nesting(post.body_html)).toBeLessThanOrEqual(MAX_HTML_NESTING);
        expect(post.body_html).toContain(text);
        expect(post.body_source).toContain(text);
      }
      const [bio] = await t.sql(`SELECT bio, bio_html FROM users WHERE id = $1`, [await linked(source, 'user', '1')]);
      expect(bio.bio).toContain('deep bio');
      expect(nesting(bio.bio_html)).toBeLessThanOrEqual(MAX_HTML_NESTING);
    });

    it('takes titles and display names on one line, as the API would: no line break, control character, direction override or stack of marks', async () => {
      const zalgo = `Z${'\u0301'.repeat(30)}alg${'\u0300'.repeat(12)}o`;
      const { dir, space, source } = await craft('one-line', ['Eve\u202Enimda', 'Multi\nline\u0085 name\u2028here', zalgo]);
      writeDumpFile(dir, 'Posts.xml', 'posts', [question({ Title: 'Pay \u202Egnp.exe\u202C now\r\nor\u009B never' }), ...answers()]);
      await run({ dir, space: space.slug });
      const name = async (ext: string) => (await one(`SELECT display_name FROM users WHERE id = $1`, [await linked(source, 'user', ext)])).display_name;
      expect(await name('1')).toBe('Evenimda');
      expect(await name('2')).toBe('Multi line name here');
      expect(await name('-1')).toBe(`Z${'\u0301'.repeat(8)}alg${'\u0300'.repeat(8)}o`);
      const [{ title }] = await t.sql(`SELECT title FROM topics WHERE id = $1`, [await linked(source, 'question', '10')]);
      expect(title).toBe('Pay gnp.exe now or never');
    });

    it('takes a title or a display name that shows nothing (zero-width spaces, a Hangul filler, marks alone) as none, as the API refuses one', async () => {
      const { dir, space, source } = await craft('invisible-line', ['\u200B\u200B\u200B', '\u3164 \u2800', '\u0301\u0301\u0301']);
      writeDumpFile(dir, 'Posts.xml', 'posts', [question({ Title: '\u200B\u200C\u2060\uFEFF' }), ...answers()]);
      await run({ dir, space: space.slug });
      for (const ext of ['1', '2', '-1']) {
        const [user] = await t.sql(`SELECT handle, display_name FROM users WHERE id = $1`, [await linked(source, 'user', ext)]);
        // No name to show: the handle stands in, as for a dump's empty DisplayName.
        expect(user.display_name).toBe(user.handle);
      }
      const [{ title }] = await t.sql(`SELECT title FROM topics WHERE id = $1`, [await linked(source, 'question', '10')]);
      expect(title).toBe('Question 10');
    });

    it("holds names and titles to the API's own bounds: a display name cut to what updateProfile takes, a title too short kept with its question's id", async () => {
      const long = 'Ö'.repeat(DISPLAY_NAME_MAX + 40);
      const { dir, space, source } = await craft('bounds', [long, 'Two', 'Three']);
      writeDumpFile(dir, 'Posts.xml', 'posts', [
        question({ Title: ' C# ' }),
        ...answers(),
        { Id: '20', PostTypeId: '1', CreationDate: '2020-05-02T10:00:00.000', Title: '🙂\uFE0F!', OwnerUserId: '2', Body: '<p>Short too</p>' },
        { Id: '30', PostTypeId: '1', CreationDate: '2020-05-03T10:00:00.000', Title: 'abc', OwnerUserId: '2', Body: '<p>Long enough</p>' },
        // Two characters to the API, three UTF-16 units.
        { Id: '40', PostTypeId: '1', CreationDate: '2020-05-04T10:00:00.000', Title: '🙂!', OwnerUserId: '2', Body: '<p>Short</p>' },
      ]);
      const summary = await run({ dir, space: space.slug });
      const [{ display_name }] = await t.sql(`SELECT display_name FROM users WHERE id = $1`, [await linked(source, 'user', '1')]);
      expect(display_name).toBe('Ö'.repeat(DISPLAY_NAME_MAX));
      const title = async (ext: string) => (await one(`SELECT title FROM topics WHERE id = $1`, [await linked(source, 'question', ext)])).title;
      expect(await title('10')).toBe('C# (question 10)');
      // Three characters as the API counts them (code points, the emoji's variation selector one of them): long enough.
      expect(await title('20')).toBe('🙂\uFE0F!');
      expect(await title('30')).toBe('abc');
      expect(await title('40')).toBe('🙂! (question 40)');
      // What was imported is what the API takes: the author can save the title and name as they are.
      for (const value of await Promise.all(['10', '20', '30', '40'].map(title))) {
        expect(validateSync(plainToInstance(CreateTopicInput, { boardId: newId(), title: value, body: 'x' })).filter((e) => e.property === 'title')).toEqual([]);
      }
      expect(validateSync(plainToInstance(UpdateProfileInput, { displayName: display_name }))).toEqual([]);
      // The run's summary (and the command's report) counts the titles it lengthened.
      expect(summary.titlesLengthened).toBe(2);
      // A run again lengthens the dump's titles again, not the stored ones: nothing changes, nothing is suffixed twice.
      const again = await run({ dir, space: space.slug });
      expect(again.questions).toMatchObject({ created: 0, updated: 0 });
      expect(await title('10')).toBe('C# (question 10)');
      expect(await title('40')).toBe('🙂! (question 40)');
      expect(await t.sql(`SELECT count(*)::int AS n FROM topics WHERE board_id = $1`, [again.boardId])).toEqual([{ n: 4 }]);
    });

    it('holds a title made with the question\'s id to TITLE_MAX however long the id is', async () => {
      const { dir, space, source } = await craft('long-ids', ['One', 'Two', 'Three']);
      const short = '5'.repeat(TITLE_MAX);
      const none = '6'.repeat(TITLE_MAX);
      writeDumpFile(dir, 'Posts.xml', 'posts', [
        { Id: short, PostTypeId: '1', CreationDate: '2020-05-02T10:00:00.000', Title: 'Hi', OwnerUserId: '2', Body: '<p>Short</p>' },
        { Id: none, PostTypeId: '1', CreationDate: '2020-05-03T10:00:00.000', Title: '\u200B', OwnerUserId: '2', Body: '<p>None</p>' },
      ]);
      await run({ dir, space: space.slug });
      const title = async (ext: string) => (await one(`SELECT title FROM topics WHERE id = $1`, [await linked(source, 'question', ext)])).title;
      expect(await title(short)).toBe(`Hi (question ${short}`.slice(0, TITLE_MAX));
      expect(await title(none)).toBe(`Question ${none}`.slice(0, TITLE_MAX));
      for (const value of await Promise.all([short, none].map(title))) {
        expect(validateSync(plainToInstance(CreateTopicInput, { boardId: newId(), title: value, body: 'x' })).filter((e) => e.property === 'title')).toEqual([]);
      }
    });

    it("names the board it makes after the dump's folder as createBoard would take it: one line, at most BOARD_NAME_MAX characters, something to show", async () => {
      // A folder's name may hold a line break or a direction override, and be longer than a board's name may be.
      const { dir, space } = await craft(`Dump\nof\u202E site ${'é'.repeat(BOARD_NAME_MAX)}`, ['One', 'Two', 'Three']);
      const made = await run({ dir, space: space.slug });
      expect(made.boardCreated).toBe(true);
      const [{ name }] = await t.sql(`SELECT name FROM boards WHERE id = $1`, [made.boardId]);
      expect(name).toBe(`Dump of site ${'é'.repeat(BOARD_NAME_MAX - 'Dump of site '.length)}`);
      expect(validateSync(plainToInstance(CreateBoardInput, { spaceId: space.id, kind: 'FORUM', slug: made.boardSlug, name })).filter((e) => e.property === 'name')).toEqual([]);
      // A folder whose name shows nothing: the board still gets a name.
      const blank = await craft('\u200B\u200B', ['One', 'Two', 'Three']);
      const named = await run({ dir: blank.dir, space: blank.space.slug });
      const [{ name: fallback }] = await t.sql(`SELECT name FROM boards WHERE id = $1`, [named.boardId]);
      expect(fallback).toBe('Stack Exchange');
    });

    it('takes a dump that repeats an id as if the last row stood alone, however it is batched', async () => {
      const { dir, space, source } = await craft('repeats', ['Repeat One', 'Repeat Two', 'Repeat Three']);
      writeDumpFile(dir, 'Users.xml', 'users', [...users(['Repeat One', 'Repeat Two', 'Repeat Three']), { Id: '2', DisplayName: 'Repeat Two, again', CreationDate: '2019-01-02T00:00:00.000' }]);
      writeDumpFile(dir, 'Posts.xml', 'posts', [question(), ...answers(), question({ Title: 'The last title wins' })]);
      for (const batchSize of [50, 1]) await run({ dir, space: space.slug, batchSize });
      expect(await one(`SELECT title FROM topics WHERE id = $1`, [await linked(source, 'question', '10')])).toEqual({ title: 'The last title wins' });
      expect(await one(`SELECT display_name FROM users WHERE id = $1`, [await linked(source, 'user', '2')])).toEqual({ display_name: 'Repeat Two, again' });
    });

    it('leaves an account anonymised since (a GDPR request) as it is: a re-run does not give it its dump name back', async () => {
      const { dir, space, source } = await craft('anonymised', ['Gdpr One', 'Gdpr Two', 'Gdpr Three']);
      await run({ dir, space: space.slug });
      const admin = await makeUser(t, { role: 'ADMIN' });
      const userId = (await linked(source, 'user', '2'))!;
      const anonymised = expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { handle displayName } }`, { id: userId }, { token: admin.token })).anonymizeUser;
      writeDumpFile(dir, 'Users.xml', 'users', users(['Gdpr One', 'Gdpr Two, renamed', 'Gdpr Three']));
      await run({ dir, space: space.slug });
      expect(await one(`SELECT handle, display_name FROM users WHERE id = $1`, [userId])).toEqual({ handle: anonymised.handle, display_name: 'Deleted user' });
      expect(await one(`SELECT display_name FROM users WHERE id = $1`, [await linked(source, 'user', '1')])).toEqual({ display_name: 'Gdpr One' });
    });

    it('keeps no digest of an anonymised account’s old profile on its link, and no re-run, changed dump or not, writes one again or gives the profile back', async () => {
      const { dir, space, source } = await craft('anonymised-digest', ['Erased One', 'Erased Two', 'Erased Three']);
      const profile = { AboutMe: '<p>I brew at home</p>', Location: 'Ghent', WebsiteUrl: 'https://erased.example.org' };
      const dumpUsers = (over: Record<string, string> = {}) =>
        users(['Erased One', 'Erased Two', 'Erased Three']).map((u) => (u.Id === '2' ? { ...u, ...profile, ...over } : u));
      writeDumpFile(dir, 'Users.xml', 'users', dumpUsers());
      await run({ dir, space: space.slug });
      const userId = (await linked(source, 'user', '2'))!;
      const digest = async () => (await one(`SELECT digest FROM import_links WHERE source = $1 AND kind = 'user' AND external_id = '2'`, [source])).digest;
      const account = () => one(`SELECT display_name, bio, bio_html, location, website FROM users WHERE id = $1`, [userId]);
      expect(await digest()).toMatch(/^raw1:/);
      expect(await account()).toMatchObject({ display_name: 'Erased Two', location: 'Ghent', website: 'https://erased.example.org' });
      const admin = await makeUser(t, { role: 'ADMIN' });
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: userId }, { token: admin.token }));
      const erased = { display_name: 'Deleted user', bio: null, bio_html: null, location: null, website: null };
      // The digest was a hash of the person's name, about, place and site: it goes with them; the link stays.
      expect(await digest()).toBe(ERASED_IMPORT_DIGEST);
      expect(await linked(source, 'user', '2')).toBe(userId);
      // The same dump again, then one that changes the person's row: the account stays anonymised, its link marked.
      for (const over of [{}, { DisplayName: 'Erased Two, back', AboutMe: '<p>Back again</p>', Location: 'Bruges' }] as Array<Record<string, string>>) {
        writeDumpFile(dir, 'Users.xml', 'users', dumpUsers(over));
        const again = await run({ dir, space: space.slug });
        expect(again.users).toEqual({ created: 0, updated: 0, unchanged: 3 });
        expect(await account()).toEqual(erased);
        expect(await digest()).toBe(ERASED_IMPORT_DIGEST);
      }
      // No second account was made for the person either.
      expect(await t.sql(`SELECT count(*)::int AS n FROM users WHERE display_name LIKE 'Erased Two%'`)).toEqual([{ n: 0 }]);
    });

    describe('the same site imported again under another source name', () => {
      /** Users of a dump as the real ones give them: each with the network account (`AccountId`) of the person; user 2 with a profile. */
      const siteUsers = (accounts: [string, string, string] = ['101', '102', '-1']) =>
        users(['Site One', 'Site Two', 'Community']).map((u, i) =>
          u.Id === '2' ? { ...u, AccountId: accounts[i], AboutMe: '<p>I roast at home</p>', Location: 'Leuven' } : { ...u, AccountId: accounts[i] },
        );
      const userLink = (source: string, ext: string) =>
        one<{ local_id: string; digest: string | null }>(`SELECT local_id, digest FROM import_links WHERE source = $1 AND kind = 'user' AND external_id = $2`, [source, ext]);
      const anonymise = async (userId: string) => {
        const admin = await makeUser(t, { role: 'ADMIN' });
        expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: userId }, { token: admin.token }));
      };
      const erased = { display_name: 'Deleted user', bio: null, location: null };
      const profileOf = (id: string) => one(`SELECT display_name, bio, location FROM users WHERE id = $1`, [id]);

      it('makes no account again for a person anonymised under the first name: their posts in the new copy go to the anonymised account, its link marked', async () => {
        const { dir, space, source } = await craft('same-site', ['Site One', 'Site Two', 'Community']);
        writeDumpFile(dir, 'Users.xml', 'users', siteUsers());
        await run({ dir, space: space.slug });
        const userId = (await linked(source, 'user', '2'))!;
        await anonymise(userId);
        const copy = await makeSpace(t, 'PUBLIC');
        const again = `stackexchange:same-site-again`;
        const summary = await run({ dir, space: copy.slug, source: 'same-site-again' });
        // Users 1 and -1 are a separate copy, as another source name asks; user 2 is not made again.
        expect(summary.users).toEqual({ created: 2, updated: 0, unchanged: 0 });
        expect(summary.erasedUsers).toBe(1);
        expect(await userLink(again, '2')).toEqual({ local_id: userId, digest: ERASED_IMPORT_DIGEST });
        expect(await profileOf(userId)).toEqual(erased);
        expect(await t.sql(`SELECT count(*)::int AS n FROM users WHERE display_name = 'Site Two' OR location = 'Leuven'`)).toEqual([{ n: 0 }]);
        expect(await one(`SELECT author_id FROM posts WHERE id = $1`, [await linked(again, 'post', '12')])).toEqual({ author_id: userId });
        // Its re-run finds the link as any re-run does, and leaves it so.
        expect((await run({ dir, space: copy.slug, source: 'same-site-again' })).users).toEqual({ created: 0, updated: 0, unchanged: 3 });
        expect(await userLink(again, '2')).toEqual({ local_id: userId, digest: ERASED_IMPORT_DIGEST });
        expect(await profileOf(userId)).toEqual(erased);
      });

      it('recognises a person anonymised before their link had a dump identity once a run of the first name has given it one', async () => {
        const { dir, space, source } = await craft('same-site-older', ['Site One', 'Site Two', 'Community']);
        writeDumpFile(dir, 'Users.xml', 'users', siteUsers(['201', '202', '-1']));
        await run({ dir, space: space.slug });
        const userId = (await linked(source, 'user', '2'))!;
        await anonymise(userId);
        // As a release before dump identities left the links.
        await t.sql(`UPDATE import_links SET dump_identity = NULL WHERE source = $1`, [source]);
        expect((await run({ dir, space: space.slug })).users).toEqual({ created: 0, updated: 0, unchanged: 3 });
        const summary = await run({ dir, space: (await makeSpace(t, 'PUBLIC')).slug, source: 'same-site-older-again' });
        expect(summary).toMatchObject({ users: { created: 2, updated: 0, unchanged: 0 }, erasedUsers: 1 });
        expect(await userLink('stackexchange:same-site-older-again', '2')).toEqual({ local_id: userId, digest: ERASED_IMPORT_DIGEST });
        expect(await profileOf(userId)).toEqual(erased);
      });

      it('leaves a copy imported under a second name before the person was anonymised under the first as it is, until an admin anonymises it too (forward only, as documented)', async () => {
        const { dir, space, source } = await craft('earlier-copy', ['Site One', 'Site Two', 'Community']);
        writeDumpFile(dir, 'Users.xml', 'users', siteUsers(['401', '402', '-1']));
        await run({ dir, space: space.slug });
        const copy = await makeSpace(t, 'PUBLIC');
        const later = 'stackexchange:earlier-copy-b';
        // Dump B, imported while the person still stood under A: a placeholder of its own, profile and all.
        expect((await run({ dir, space: copy.slug, source: 'earlier-copy-b' })).users).toEqual({ created: 3, updated: 0, unchanged: 0 });
        const underA = (await linked(source, 'user', '2'))!;
        const underB = (await userLink(later, '2')).local_id;
        expect(underB).not.toBe(underA);
        await anonymise(underA);
        expect(await profileOf(underA)).toEqual(erased);
        // The anonymisation covers the account it was run on: B's placeholder keeps the full profile,
        // its link unmarked, and B's re-run sees nothing to change (no erasedUsers: the person is linked).
        const full = { display_name: 'Site Two', bio: expect.stringContaining('I roast at home'), location: 'Leuven' };
        expect(await profileOf(underB)).toEqual(full);
        expect((await userLink(later, '2')).digest).not.toBe(ERASED_IMPORT_DIGEST);
        expect(await run({ dir, space: copy.slug, source: 'earlier-copy-b' })).toMatchObject({ users: { created: 0, updated: 0, unchanged: 3 }, erasedUsers: 0 });
        expect(await profileOf(underB)).toEqual(full);
        expect(await one(`SELECT author_id FROM posts WHERE id = $1`, [await linked(later, 'post', '12')])).toEqual({ author_id: underB });
        // A changed dump refreshes it as any placeholder's, and gives A's anonymised account nothing back.
        writeDumpFile(dir, 'Users.xml', 'users', siteUsers(['401', '402', '-1']).map((u) => (u.Id === '2' ? { ...u, Location: 'Gent' } : u)));
        expect((await run({ dir, space: copy.slug, source: 'earlier-copy-b' })).users).toEqual({ created: 0, updated: 1, unchanged: 2 });
        expect(await profileOf(underB)).toEqual({ ...full, location: 'Gent' });
        expect((await run({ dir, space: space.slug })).users).toEqual({ created: 0, updated: 0, unchanged: 3 });
        expect(await profileOf(underA)).toEqual(erased);
        // A third name, imported after the anonymisation, is linked to the anonymised account (A's).
        const third = await run({ dir, space: (await makeSpace(t, 'PUBLIC')).slug, source: 'earlier-copy-c' });
        expect(third).toMatchObject({ users: { created: 2, updated: 0, unchanged: 0 }, erasedUsers: 1 });
        expect(await userLink('stackexchange:earlier-copy-c', '2')).toEqual({ local_id: underA, digest: ERASED_IMPORT_DIGEST });
        // What the docs tell an admin to do: find B's placeholder by its link and anonymise it too.
        await anonymise(underB);
        expect(await profileOf(underB)).toEqual(erased);
        expect(await userLink(later, '2')).toEqual({ local_id: underB, digest: ERASED_IMPORT_DIGEST });
        expect(await run({ dir, space: copy.slug, source: 'earlier-copy-b' })).toMatchObject({ users: { created: 0, updated: 0, unchanged: 3 }, erasedUsers: 0 });
        expect(await profileOf(underB)).toEqual(erased);
      });

      it('takes a user of another site with the same id for someone else: another network account, or the same one on another site, is made as any user is', async () => {
        const { dir, space, source } = await craft('some-site', ['Site One', 'Site Two', 'Community']);
        writeDumpFile(dir, 'Users.xml', 'users', siteUsers(['301', '302', '-1']));
        await run({ dir, space: space.slug });
        await anonymise((await linked(source, 'user', '2'))!);
        // User 2 of another site: another person (another account), then the same person joined
        // to that site at another time: neither is the anonymised user of this one.
        for (const [name, over] of [
          ['other-site', { AccountId: '999' }],
          ['other-site-same-person', { CreationDate: '2019-06-01T00:00:00.000' }],
        ] as Array<[string, Record<string, string>]>) {
          writeDumpFile(dir, 'Users.xml', 'users', siteUsers(['301', '302', '-1']).map((u) => (u.Id === '2' ? { ...u, ...over } : u)));
          const summary = await run({ dir, space: (await makeSpace(t, 'PUBLIC')).slug, source: name });
          expect(summary).toMatchObject({ users: { created: 3, updated: 0, unchanged: 0 }, erasedUsers: 0 });
          const made = (await userLink(`stackexchange:${name}`, '2')).local_id;
          expect(await profileOf(made)).toMatchObject({ display_name: 'Site Two', location: 'Leuven' });
        }
      });
    });

    it('leaves the mark of an anonymisation still under way when a re-run’s digest write waits for its link: the write reads the mark once it commits', async () => {
      const { dir, space, source } = await craft('anonymised-digest-race', ['Held Erased', 'Held Kept', 'Held Third']);
      await run({ dir, space: space.slug });
      const userId = (await linked(source, 'user', '2'))!;
      const digest = async () => (await one(`SELECT digest FROM import_links WHERE source = $1 AND kind = 'user' AND external_id = '2'`, [source])).digest;
      // A link from before users' digests: the re-run finds the account as the dump tells it and
      // only writes the digest, with nothing of the account's to wait for before that write.
      await t.sql(`UPDATE import_links SET digest = NULL WHERE source = $1 AND kind = 'user'`, [source]);
      // The anonymisation held at its commit (its moderation log entry), its mark written, uncommitted;
      // the re-run's digest write queues behind the anonymisation's link row.
      const holder = await holdLock(t, `SELECT pg_advisory_xact_lock($1)`, [AUDIT_LOCK]);
      expect(await rerunBehindAnonymisation(holder, userId, { dir, space: space.slug })).toMatchObject({ users: { created: 0, updated: 0, unchanged: 3 } });
      expect(await digest()).toBe(ERASED_IMPORT_DIGEST);
      expect(await one(`SELECT display_name, location FROM users WHERE id = $1`, [userId])).toEqual({ display_name: 'Deleted user', location: null });
    });

    it('leaves an account anonymised while a re-run reads it as it is: the run’s rename waits for the deletion and finds it deleted', async () => {
      const { dir, space, source } = await craft('anonymised-meanwhile', ['Gdpr Four', 'Gdpr Five', 'Gdpr Six']);
      await run({ dir, space: space.slug });
      const reader = await makeUser(t);
      const userId = (await linked(source, 'user', '2'))!;
      writeDumpFile(dir, 'Users.xml', 'users', users(['Gdpr Four', 'Gdpr Five, renamed', 'Gdpr Six']));
      // The deletion held after it rewrote the account's row, on the ignore of it it is to delete.
      await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2)`, [reader.id, userId]);
      const holder = await holdLock(t, `SELECT 1 FROM user_ignores WHERE ignored_user_id = $1 FOR UPDATE`, [userId]);
      const summary = await rerunBehindAnonymisation(holder, userId, { dir, space: space.slug });
      expect(await one(`SELECT display_name, deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1`, [userId])).toEqual({ display_name: 'Deleted user', deleted: true });
      expect(summary).toMatchObject({ users: { created: 0, updated: 0, unchanged: 3 } });
    });

    it('gives a placeholder the next handle when a sign-up or another import takes its own while the run inserts it, failing no batch', async () => {
      const { dir, space, source } = await craft('handle-race', ['Racing Name', 'Racing Other', 'Racing Third']);
      // Two other transactions (a sign-up's, another import's) insert the handles the run will
      // read as free, and end only once the run's insert waits for them: the first commits, the second rolls back.
      const insertUser = `INSERT INTO users (id, email, handle, display_name) VALUES ($1, $2, $3, 'Someone else')`;
      const [kept, dropped] = [newId(), newId()];
      const first = await holdLock(t, insertUser, [kept, `${kept}@example.com`, 'racing-name']);
      const second = await holdLock(t, insertUser, [dropped, `${dropped}@example.com`, 'racing-other']);
      let imported: ReturnType<typeof run> | null = null;
      try {
        imported = run({ dir, space: space.slug });
        await first.waiting(1);
        await first.release();
        await second.waiting(1);
        await second.query('ROLLBACK');
      } finally {
        await first.release();
        await second.release();
      }
      const summary = await imported;
      expect(summary).toMatchObject({ users: { created: 3 }, questions: { created: 1 }, answers: { created: 2 } });
      const handleOf = async (ext: string) => (await one(`SELECT handle FROM users WHERE id = $1`, [await linked(source, 'user', ext)])).handle;
      expect([await handleOf('1'), await handleOf('2'), await handleOf('-1')]).toEqual(['racing-name-1', 'racing-other', 'racing-third']);
      expect(await t.sql(`SELECT id FROM users WHERE handle = 'racing-name'`)).toEqual([{ id: kept }]);
    });

    it('tells a sign-up that loses its handle to a run’s placeholder, inserted first, that it is taken', async () => {
      const { dir, space, source } = await craft('signup-race', ['Signup Racer', 'Signup Two', 'Signup Three']);
      // The run held once it inserted its first placeholder, on the handle of its last (held by
      // another sign-up's transaction, which rolls back).
      const other = newId();
      const held = await holdLock(t, `INSERT INTO users (id, email, handle, display_name) VALUES ($1, $2, 'signup-two', 'Someone else')`, [other, `${other}@example.com`]);
      let imported: ReturnType<typeof run> | null = null;
      let signUp: Promise<any> | null = null;
      try {
        imported = run({ dir, space: space.slug });
        await held.waiting(1);
        signUp = t.gql(
          `mutation($input: SignUpInput!) { signUp(input: $input) { token } }`,
          { input: { email: `racer-${newId()}@example.com`, handle: 'signup-racer', password: 'a long enough password' } },
          { ip: freshIp() },
        );
        await held.waiting(2);
        await held.query('ROLLBACK');
      } finally {
        await held.release();
      }
      await imported;
      const err = expectError(await signUp!, 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'handle', message: 'is taken' }]);
      expect(await one(`SELECT u.is_placeholder FROM users u WHERE u.handle = 'signup-racer'`)).toEqual({ is_placeholder: true });
      expect(await linked(source, 'user', '1')).toBe((await one(`SELECT id FROM users WHERE handle = 'signup-racer'`)).id);
    });

    it('lets two imports whose handles cross wait for each other without a deadlock, a later handle round taking none out of order', async () => {
      // B's user 1 ("Dlk S") finds its handle taken by a sign-up (H1, which commits) and, in B's
      // next round, picks "dlk-s-1": the handle A's own user holds, uncommitted, while A waits
      // for B's "dlk-y". B is kept at "dlk-z" (H2, rolled back) until A waits.
      const a = await craft('deadlock-a', ['dlk-s-1', 'Dlk Y', 'Dlk Q']);
      const b = await craft('deadlock-b', ['Dlk S', 'Dlk Y', 'Dlk Z']);
      const insertUser = `INSERT INTO users (id, email, handle, display_name) VALUES ($1, $2, $3, 'Someone else')`;
      const [kept, dropped] = [newId(), newId()];
      const h1 = await holdLock(t, insertUser, [kept, `${kept}@example.com`, 'dlk-s']);
      const h2 = await holdLock(t, insertUser, [dropped, `${dropped}@example.com`, 'dlk-z']);
      const runs: Array<Promise<unknown>> = [];
      try {
        runs.push(run({ dir: b.dir, space: b.space.slug }));
        await waitForWaitsOn(t, await xidOf(h1), 1);
        await h1.release();
        await waitForWaitsOn(t, await xidOf(h2), 1);
        runs.push(run({ dir: a.dir, space: a.space.slug }));
        // A waits for B's "dlk-y" (B still waits for H2).
        await waitForLockWaits(t, 2, h2);
        await h2.query('ROLLBACK');
      } finally {
        await h1.release();
        await h2.release();
      }
      const settled = await Promise.allSettled(runs);
      expect(settled.map((s) => (s.status === 'rejected' ? String(s.reason) : s.status))).toEqual(['fulfilled', 'fulfilled']);
      for (const [ext, source] of [['1', b.source], ['2', b.source], ['-1', b.source], ['1', a.source], ['2', a.source], ['-1', a.source]]) {
        expect(await linked(source, 'user', ext)).toBeDefined();
      }
    });

    it('gives up with a CONFLICT, nothing of the batch written, when its placeholders’ handles are taken HANDLE_ROUNDS times over; a run again makes them', async () => {
      const { dir, space, source } = await craft('handle-rounds', ['Rounds One', 'Rounds Two', 'Rounds Three']);
      // A trigger of the test's takes "rounds-one" (for another account) just before each round
      // inserts it, as a sign-up would meanwhile; the round's savepoint takes it back, so the next
      // round picks it again. Past twice HANDLE_ROUNDS rounds it leaves the handle free, so an
      // import that did not give up would end.
      const { err, count: rounds } = await runWithTestTrigger(
        'users',
        `NEW.is_placeholder AND NEW.handle = 'rounds-one'`,
        `IF nextval('se_test_count') <= ${2 * HANDLE_ROUNDS} THEN
           INSERT INTO users (id, handle, display_name) VALUES (gen_random_uuid(), NEW.handle, 'Someone else');
         END IF;
         RETURN NEW;`,
        { dir, space: space.slug },
      );
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({
        code: 'CONFLICT',
        // Only "rounds-one" was taken, each round: the message counts it, not the batch.
        message: `Handles picked for imported users were taken meanwhile in each of ${HANDLE_ROUNDS} rounds (1 of 3 in the last): run the import again`,
      });
      expect(rounds).toBe(HANDLE_ROUNDS);
      // The batch rolled back whole: no user's link, no placeholder, nor any handle the trigger took
      // (only the board chosen before, in a transaction of its own, is linked).
      expect(await t.sql(`SELECT kind FROM import_links WHERE source = $1`, [source])).toEqual([{ kind: 'target' }]);
      expect(await t.sql(`SELECT handle FROM users WHERE handle LIKE 'rounds-%'`)).toEqual([]);

      const again = await run({ dir, space: space.slug });
      expect(again).toMatchObject({ users: { created: 3 }, questions: { created: 1 }, answers: { created: 2 } });
      expect((await one(`SELECT handle FROM users WHERE id = $1`, [await linked(source, 'user', '1')])).handle).toBe('rounds-one');
    });

    /**
     * Two runs of the dump in `dir` started one after the other behind `held` (a lock of the
     * test's), both waiting before it ends (`end`: commit, or 'ROLLBACK'); answers how each ended.
     */
    async function twoRunsBehind(held: HeldLock, dir: string, space: { slug: string }, end: 'COMMIT' | 'ROLLBACK'): Promise<string[]> {
      const runs: Array<Promise<unknown>> = [];
      try {
        runs.push(run({ dir, space: space.slug }));
        await held.waiting(1);
        runs.push(run({ dir, space: space.slug }));
        await held.waiting(2);
        await held.query(end);
      } finally {
        await held.release();
      }
      return (await Promise.allSettled(runs)).map((s) => (s.status === 'rejected' ? String(s.reason) : s.status));
    }

    it('makes one placeholder per Stack Exchange user when two runs of the same import insert them at once', async () => {
      const { dir, space, source } = await craft('same-twice', ['Twice One', 'Twice Two', 'Twice Three']);
      // Both runs read no placeholder yet, then queue behind a sign-up holding the first handle (rolled back).
      const id = newId();
      const held = await holdLock(t, `INSERT INTO users (id, email, handle, display_name) VALUES ($1, $2, 'twice-one', 'Someone else')`, [id, `${id}@example.com`]);
      expect(await twoRunsBehind(held, dir, space, 'ROLLBACK')).toEqual(['fulfilled', 'fulfilled']);
      for (const [ext, name] of [['1', 'Twice One'], ['2', 'Twice Two'], ['-1', 'Twice Three']]) {
        const placeholders = await t.sql(`SELECT id FROM users WHERE display_name = $1 AND is_placeholder`, [name]);
        expect(placeholders).toEqual([{ id: await linked(source, 'user', ext) }]);
      }
    });

    it('imports each question and answer once when two runs of the same import take the same batch at once', async () => {
      const { dir, space, source } = await craft('same-batch', ['Batch One', 'Batch Two', 'Batch Three']);
      const board = await makeBoard(t, space.id);
      // Both runs held at their questions' insert (its board's key, held by another transaction), having read them not imported yet.
      const held = await holdLock(t, `SELECT 1 FROM boards WHERE id = $1 FOR UPDATE`, [board]);
      expect(await twoRunsBehind(held, dir, space, 'COMMIT')).toEqual(['fulfilled', 'fulfilled']);
      const topics = await t.sql(`SELECT id FROM topics WHERE board_id = $1`, [board]);
      expect(topics).toEqual([{ id: await linked(source, 'question', '10') }]);
      const posts = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 ORDER BY number`, [topics[0].id]);
      expect(posts.map((p) => p.id)).toEqual([await linked(source, 'post', '10'), await linked(source, 'post', '11'), await linked(source, 'post', '12')]);
    });

    it('runs a batch again when a promotion of its answer deadlocks with its renumbering, counting and making nothing twice', async () => {
      // The first run imports the question and its accepted answer 12 (no post of an unknown
      // user yet, so no anonymous placeholder); the second adds answer 13, by an unknown user and
      // dated before 12, so its batch makes the anonymous placeholder and renumbers 12.
      const { dir, space, source } = await craft('promote-deadlock', ['Promo One', 'Promo Two', 'Promo Three']);
      writeDumpFile(dir, 'Posts.xml', 'posts', [question(), answers()[0]]);
      await run({ dir, space: space.slug });
      const topicId = (await linked(source, 'question', '10'))!;
      const a12 = (await linked(source, 'post', '12'))!;
      writeDumpFile(dir, 'Posts.xml', 'posts', [
        question(),
        answers()[0],
        { Id: '13', PostTypeId: '2', ParentId: '10', CreationDate: '2020-05-01T11:30:00.000', OwnerUserId: '999', Body: '<p>An earlier answer</p>' },
      ]);
      // A promotion of answer 12 (KnowledgeBoard.assertPromotable): the thread held FOR KEY SHARE,
      // the answer locked, then (once the run's batch holds the thread FOR NO KEY UPDATE) the
      // thread's row FOR SHARE. PostgreSQL aborts the transaction whose own deadlock check, run
      // once, deadlock_timeout after its wait began, finds the cycle: so the batch must begin its
      // wait for the promotion after the promotion began its wait, whatever the machine's load.
      // A gate of the test's holds answer 12 FOR KEY SHARE first (its transaction older than the
      // promotion's, so the renumbering, which changes a key, waits for it first): the promotion
      // waits for the thread while the batch waits for the gate, and once the gate ends the batch
      // waits for the promotion, closing the cycle. The promotion never looks for a deadlock itself.
      const gate = await holdBeforeBatch([`SELECT 1 FROM posts WHERE id = $1 FOR KEY SHARE`, [a12]]);
      const promotion = await holdLock(t, `SELECT 1 FROM topics WHERE id = $1 FOR KEY SHARE`, [topicId]);
      let rerun!: Promise<Awaited<ReturnType<typeof run>>>;
      try {
        await promotion.query(`SET LOCAL deadlock_timeout = '1h'`);
        await promotion.query(`SELECT 1 FROM posts WHERE id = $1 FOR NO KEY UPDATE`, [a12]);
        rerun = run({ dir, space: space.slug });
        await waitForWaitsOn(t, await xidOf(gate), 1); // the batch, holding the thread, at answer 12
        const promoted = promotion.query(`SELECT state, accepted_post_id FROM topics WHERE id = $1 FOR SHARE`, [topicId]);
        await waitForLockWaits(t, 2, await backendPid(gate)); // the promotion waits for the batch, which waits for the gate
        await gate.query('ROLLBACK');
        await promoted; // granted once PostgreSQL aborted the batch
      } finally {
        await gate.end();
        await promotion.release();
      }
      const settled = await Promise.allSettled([rerun]);
      expect(settled.map((s) => (s.status === 'rejected' ? String(s.reason) : s.status))).toEqual(['fulfilled']);
      const summary = await rerun;
      expect(summary).toMatchObject({
        users: { created: 0, updated: 0, unchanged: 3 },
        answers: { created: 1, updated: 0, unchanged: 1 },
        anonymousHandle: 'se-promote-deadlock-anon',
        acceptedChanged: 0,
        events: 2,
      });
      const posts = await t.sql(`SELECT p.id, p.number, u.handle FROM posts p JOIN users u ON u.id = p.author_id WHERE p.topic_id = $1 ORDER BY p.number`, [topicId]);
      expect(posts).toEqual([
        { id: await linked(source, 'post', '10'), number: 1, handle: 'promo-one' },
        { id: await linked(source, 'post', '13'), number: 2, handle: 'se-promote-deadlock-anon' },
        { id: a12, number: 3, handle: 'promo-two' },
      ]);
      expect(await t.sql(`SELECT id FROM users WHERE handle LIKE 'se-promote-deadlock-anon%'`)).toEqual([{ id: await linked(source, 'user', 'anonymous') }]);
    });

    /**
     * The dump of `retried` and `retried-twin` below: `v2` changes something in every phase, so
     * that each batch counts every field it can.
     */
    const RETRIED_ERASED = { Id: '4', DisplayName: 'Retry Erased', AccountId: '404', CreationDate: '2019-01-05T00:00:00.000' };
    /** The link an anonymisation under another source name left of RETRIED_ERASED. */
    const eraseRetriedElsewhere = async () => {
      const gone = await makeUser(t);
      await t.sql(`INSERT INTO import_links (source, kind, external_id, local_id, digest, dump_identity) VALUES ($1, 'user', '4', $2, $3, $4)`, [
        `stackexchange:retried-erased-${newId()}`,
        gone.id,
        ERASED_IMPORT_DIGEST,
        dumpIdentity(RETRIED_ERASED),
      ]);
    };

    function writeRetriedDump(dir: string, v: 1 | 2) {
      const v2 = v === 2;
      writeDumpFile(dir, 'Posts.xml', 'posts', [
        question(v2 ? { Title: 'How do I escape things, revised?', AcceptedAnswerId: '11' } : {}),
        { ...answers()[0] },
        { ...answers()[1], OwnerUserId: '1' },
        { Id: '20', PostTypeId: '1', CreationDate: '2020-05-02T10:00:00.000', Title: 'A duplicate question', Tags: '<python>', OwnerUserId: '2', Body: '<p>Dup</p>' },
        { Id: '21', PostTypeId: '2', ParentId: '20', CreationDate: '2020-05-02T11:00:00.000', OwnerUserId: '1', Body: v2 ? '<p>Edited</p>' : '<p>Answer</p>' },
        ...(v2
          ? [
              // By a user not in Users.xml: the answers' batch makes the anonymous placeholder.
              { Id: '13', PostTypeId: '2', ParentId: '10', CreationDate: '2020-05-01T11:30:00.000', OwnerUserId: '999', Body: '<p>An unknown user’s</p>' },
              { Id: '14', PostTypeId: '2', ParentId: '77', CreationDate: '2020-05-01T11:40:00.000', Body: '<p>Its question is not in the dump</p>' },
              { Id: '16', PostTypeId: '2', CreationDate: '2020-05-01T11:45:00.000', Body: '<p>No question at all</p>' },
              { Id: '15', PostTypeId: '4', CreationDate: '2020-05-01T11:50:00.000', Body: '<p>A tag wiki excerpt</p>' },
              { Id: '30', PostTypeId: '1', AcceptedAnswerId: '31', CreationDate: '2020-05-03T10:00:00.000', Title: 'Q3', Tags: '<c++><!!!>', OwnerUserId: '3', Body: '<p>Dup too</p>' },
              { Id: '31', PostTypeId: '2', ParentId: '30', CreationDate: '2020-05-03T11:00:00.000', OwnerUserId: '3', Body: '<p>Its answer</p>' },
            ]
          : []),
      ]);
      writeDumpFile(dir, 'Users.xml', 'users', [
        ...users(['Retry One', v2 ? 'Retry Renamed' : 'Retry Two', 'Retry Three']),
        // User 4: a person anonymised under another source name of the same site (`erasedElsewhere`).
        ...(v2 ? [{ Id: '3', DisplayName: 'Retry Four', CreationDate: '2019-01-04T00:00:00.000' }, RETRIED_ERASED] : []),
      ]);
      writeDumpFile(dir, 'Comments.xml', 'comments', [
        { Id: '1', PostId: '10', Text: 'On the question', CreationDate: '2020-05-01T10:30:00.000', UserId: '1' },
        { Id: '2', PostId: '21', Text: v2 ? 'On its answer, edited' : 'On its answer', CreationDate: '2020-05-02T11:30:00.000', UserId: '2' },
        ...(v2
          ? [
              { Id: '3', PostId: '30', Text: 'On the new question', CreationDate: '2020-05-03T10:30:00.000', UserId: '3' },
              { Id: '4', PostId: '15', Text: 'On a tag wiki', CreationDate: '2020-05-01T11:55:00.000', UserId: '2' },
              { Id: '5', Text: 'On nothing', CreationDate: '2020-05-01T11:56:00.000', UserId: '2' },
            ]
          : []),
      ]);
      writeDumpFile(dir, 'PostLinks.xml', 'postlinks', [
        { Id: '1', CreationDate: '2020-05-04T00:00:00.000', PostId: '20', RelatedPostId: '10', LinkTypeId: '3' },
        ...(v2
          ? [
              { Id: '2', CreationDate: '2020-05-04T00:00:00.000', PostId: '30', RelatedPostId: '10', LinkTypeId: '3' },
              { Id: '3', CreationDate: '2020-05-04T00:00:00.000', PostId: '30', RelatedPostId: '20', LinkTypeId: '1' },
              { Id: '4', CreationDate: '2020-05-04T00:00:00.000', PostId: '30', RelatedPostId: '99', LinkTypeId: '3' },
              { Id: '5', CreationDate: '2020-05-04T00:00:00.000', PostId: '30', LinkTypeId: '3' },
            ]
          : []),
      ]);
    }

    /** Takes the import's lock on `source`, which the batch that waits on `held` holds: PostgreSQL aborts that batch (it waited first). */
    const ADVISORY = `SELECT pg_advisory_xact_lock(hashtextextended('parvis:stackexchange-import:' || $1, 0))`;

    /**
     * A lock of the test's, on a connection of its own (the app's pool is too small to hold one
     * per phase), in a transaction that never loses a deadlock to a batch of the import: it would
     * look for one only after a minute. Ended, its transaction is rolled back.
     */
    async function holdBeforeBatch([sql, params]: readonly [string, readonly unknown[]]) {
      const client = new Client({ connectionString: t.db.url });
      await client.connect();
      await client.query('BEGIN');
      await client.query(`SET LOCAL deadlock_timeout = '1min'`);
      await client.query(sql, [...params]);
      return { query: async (q: string, p: unknown[] = []) => (await client.query(q, p)).rows, end: () => client.end() };
    }

    /** Every count of a summary (nested ones by their path), without what names the run. */
    const countsOf = (s: StackExchangeImportSummary): Array<[string, number]> => {
      const { source: _s, spaceId: _sp, boardId: _b, boardSlug: _bs, boardCreated: _bc, anonymousHandle: _a, seconds: _sec, ...counts } = s;
      const leaves = (o: object, path: string): Array<[string, number]> =>
        Object.entries(o).flatMap(([k, v]) => (typeof v === 'number' ? [[`${path}${k}`, v] as [string, number]] : leaves(v, `${path}${k}.`)));
      return leaves(counts, '');
    };

    it('counts a batch PostgreSQL aborted for a deadlock and ran again once, in every phase: every count as in the same run undisturbed', async () => {
      const twin = await craft('retried-twin', ['Retry One', 'Retry Two', 'Retry Three']);
      const { dir, space, source } = await craft('retried', ['Retry One', 'Retry Two', 'Retry Three']);
      for (const d of [twin.dir, dir]) writeRetriedDump(d, 1);
      await run({ dir: twin.dir, space: twin.space.slug });
      await run({ dir, space: space.slug });
      await eraseRetriedElsewhere();
      for (const d of [twin.dir, dir]) writeRetriedDump(d, 2);
      const undisturbed = await run({ dir: twin.dir, space: twin.space.slug });
      // Each phase's batch counts every field it can (none is 0): a count a retried batch doubled would show.
      expect(Object.fromEntries(countsOf(undisturbed))).toEqual({
        'users.created': 1, 'users.updated': 1, 'users.unchanged': 2, erasedUsers: 1, 'questions.created': 1, 'questions.updated': 1, 'questions.unchanged': 1,
        'answers.created': 2, 'answers.updated': 1, 'answers.unchanged': 2, 'comments.created': 1, 'comments.updated': 1, 'comments.unchanged': 1,
        'duplicates.created': 1, 'duplicates.unchanged': 1, 'duplicates.closed': 1, acceptedChanged: 2, tagsRewritten: 3, tagsDropped: 1, titlesLengthened: 1,
        'skipped.otherPostTypes': 1, 'skipped.orphanAnswers': 2, 'skipped.orphanComments': 2, 'skipped.otherLinks': 1, 'skipped.orphanDuplicates': 2,
        events: 12,
      });

      // Rows each phase's one batch writes late, after it counted (most of) what it counts, held
      // by the test: the batch waits for them holding the import's lock, which the test then asks for.
      const link = (kind: string, ext: string) => [`SELECT 1 FROM import_links WHERE source = $1 AND kind = $2 AND external_id = $3 FOR UPDATE`, [source, kind, ext]] as const;
      const insertLink = (kind: string, ext: string) =>
        [`INSERT INTO import_links (source, kind, external_id, local_id) VALUES ($1, $2, $3, $4)`, [source, kind, ext, newId()]] as const;
      const holders = [
        await holdBeforeBatch(insertLink('user', '3')), // users: the new user's link, claimed after the rename
        // A run writes a digest only where the dump changed it, so each held link is of a row v2 changes.
        await holdBeforeBatch(link('question', '10')), // questions: its new digest (v2's title), written last
        await holdBeforeBatch(link('post', '21')), // answers: its new digest, after the placeholder is made and 31 accepted
        await holdBeforeBatch(link('comment', '2')), // comments: its new digest
        await holdBeforeBatch(insertLink('duplicate', '30:10')), // links: the new duplicate link
      ];
      let retried!: Promise<StackExchangeImportSummary>;
      try {
        retried = run({ dir, space: space.slug });
        for (const held of holders) {
          await waitForWaitsOn(t, await xidOf(held), 1);
          await held.query(ADVISORY, [source]); // granted once PostgreSQL aborted the batch
          await held.query('ROLLBACK'); // the links it inserted gone: the batch runs again as it ran
        }
      } finally {
        for (const held of holders) await held.end();
      }
      const summary = await retried;
      expect(countsOf(summary)).toEqual(countsOf(undisturbed));
      expect(summary.anonymousHandle).toBe('se-retried-anon');
      expect(await t.sql(`SELECT id FROM users WHERE handle LIKE 'se-retried-anon%'`)).toEqual([{ id: await linked(source, 'user', 'anonymous') }]);
      const made = async (src: string) =>
        one(`SELECT count(*) FILTER (WHERE kind = 'user')::int AS users, count(*) FILTER (WHERE kind IN ('post', 'comment'))::int AS posts FROM import_links WHERE source = $1`, [src]);
      expect(await made(source)).toEqual(await made(twin.source));
    });

    /** How a give-up's message ends, whatever PostgreSQL aborted. */
    const GAVE_UP_ADVICE =
      'other writes taking the same rows, and it was rolled back. What the batches before it imported is committed, and nothing of it is: ' +
      'run the same import again, which skips what is imported and goes on from there.';

    /**
     * Runs the import with `opts` while the test claims the source's link (`kind`, `ext`; never
     * committed), which a transaction of the import waits for holding the import's lock, and asks
     * for that lock each of the TRANSACTION_ATTEMPTS times: PostgreSQL aborts the import's
     * transaction every time (it waited first). What the run rejects with, or 'imported'.
     */
    async function deadlockedEveryAttempt(source: string, kind: string, ext: string, opts: StackExchangeImportOptions): Promise<unknown> {
      const held = await holdBeforeBatch([`INSERT INTO import_links (source, kind, external_id, local_id) VALUES ($1, $2, $3, $4)`, [source, kind, ext, newId()]]);
      let failed!: Promise<unknown>;
      try {
        failed = run(opts).then(
          () => 'imported',
          (err: unknown) => err,
        );
        for (let attempt = 1; attempt <= TRANSACTION_ATTEMPTS; attempt++) {
          await waitForWaitsOn(t, await xidOf(held), 1);
          await held.query('SAVEPOINT deadlock');
          await held.query(ADVISORY, [source]); // granted once PostgreSQL aborted the import's transaction
          await held.query('ROLLBACK TO SAVEPOINT deadlock'); // the import's lock let go again, the link still held
        }
      } finally {
        await held.end();
      }
      return failed;
    }

    it('gives up on a batch PostgreSQL aborts for a deadlock every time it runs with a CONFLICT naming it, nothing of it written; a run again finishes', async () => {
      // Batches of two rows: the answers' pass reads 10 and 12, then 11 and 14 (its second batch, rows 3–4), then 15.
      const { dir, space, source } = await craft('given-up', ['Given One', 'Given Two', 'Given Three']);
      // Its answer 11's link, claimed by the test: the batch waits for it, holding the import's lock.
      const err = await deadlockedEveryAttempt(source, 'post', '11', { dir, space: space.slug, batchSize: 2 });
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({
        code: 'CONFLICT',
        details: { extensions: { source, phase: 'answers', file: 'Posts.xml', batch: 2, firstRow: 3, lastRow: 4 } },
      });
      expect((err as AppError).message).toBe(
        `${source}: PostgreSQL aborted the batch of Posts.xml rows 3–4 (batch 2 of the answers phase) for a deadlock ${TRANSACTION_ATTEMPTS} times running, ` +
          GAVE_UP_ADVICE,
      );
      expect(await linked(source, 'post', '12')).toBeDefined();
      expect(await linked(source, 'post', '11')).toBeUndefined();

      const again = await run({ dir, space: space.slug, batchSize: 2 });
      expect(again).toMatchObject({ questions: { created: 0, unchanged: 1 }, answers: { created: 1, updated: 0, unchanged: 1 } });
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM posts WHERE space_id = $1`, [space.id]);
      expect(n).toBe(3);
    });

    it('gives up choosing the board when PostgreSQL aborts that transaction for a deadlock every time, with a CONFLICT of phase target; no board made', async () => {
      const { dir, space, source } = await craft('target-given-up', ['Target One', 'Target Two', 'Target Three']);
      // The source's target link, claimed by the test: the transaction choosing the board waits for it, holding the import's lock.
      const err = await deadlockedEveryAttempt(source, 'target', '', { dir, space: space.slug });
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'CONFLICT', details: { extensions: { source, phase: 'target' } } });
      expect((err as AppError).message).toBe(
        `${source}: PostgreSQL aborted the transaction choosing the board to import into for a deadlock ${TRANSACTION_ATTEMPTS} times running, ` +
          GAVE_UP_ADVICE,
      );
      // The board it made in each attempt went with the attempt.
      expect(await t.sql(`SELECT id FROM boards WHERE space_id = $1`, [space.id])).toEqual([]);
    });

    it('gives up on a batch PostgreSQL aborts for a serialization failure every time it runs, saying so', async () => {
      const { dir, space, source } = await craft('serialization-given-up', ['Serial One', 'Serial Two', 'Serial Three']);
      // Under READ COMMITTED no write of the import's meets a serialization failure of itself: a
      // trigger of the test's raises one (40001) for each attempt of the questions' batch, and
      // counts the attempts.
      const { err, count: attempts } = await runWithTestTrigger(
        'import_links',
        `NEW.source = '${source}' AND NEW.kind = 'question'`,
        `PERFORM nextval('se_test_count'); RAISE EXCEPTION 'could not serialize access (test)' USING ERRCODE = 'serialization_failure';`,
        { dir, space: space.slug },
      );
      expect(attempts).toBe(TRANSACTION_ATTEMPTS);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({
        code: 'CONFLICT',
        details: { extensions: { source, phase: 'questions', file: 'Posts.xml', batch: 1, firstRow: 1, lastRow: 5 } },
      });
      expect((err as AppError).message).toBe(
        `${source}: PostgreSQL aborted the batch of Posts.xml rows 1–5 (batch 1 of the questions phase) for a serialization failure ${TRANSACTION_ATTEMPTS} times running, ` +
          GAVE_UP_ADVICE,
      );
      expect(await linked(source, 'question', '10')).toBeUndefined();
    });

    it('destroys a connection whose ROLLBACK failed rather than lending it again still in its transaction', async () => {
      const { dir } = await craft('rollback-lost', ['Lost One', 'Lost Two', 'Lost Three']);
      // A pool of one connection whose first ROLLBACK fails without reaching PostgreSQL (as one
      // lost on the way would): the connection stays in its transaction.
      const one = new Pool({ connectionString: t.db.url, max: 1 });
      let rollbacks = 0;
      one.on('connect', (client) => {
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) =>
          args[0] === 'ROLLBACK' && ++rollbacks === 1 ? Promise.reject(new Error('ROLLBACK lost (test)')) : query(...args);
      });
      try {
        // The transaction choosing the board fails (no such space) and is rolled back.
        const failed = await importStackExchange(one, { dir, space: 'no-such-space' }).then(
          () => 'imported',
          (err: unknown) => err,
        );
        expect(rollbacks).toBe(1);
        // The pool's next borrower gets a fresh connection, not the one left in the transaction,
        // which held the import's lock on the source (a later run of it would wait for ever).
        expect((await one.query(`SELECT count(*)::int AS n FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'`)).rows).toEqual([{ n: 0 }]);
        expect((failed as Error).message).toMatch(
          /^stackexchange:rollback-lost: Space "no-such-space" not found: create it first; rolling it back failed too \(ROLLBACK lost \(test\)\)/,
        );
      } finally {
        await one.end();
      }
    });

    it('lets a first run that imported nothing choose nothing for good', async () => {
      const { dir, space, source } = await craft('failed-first', ['Failed One', 'Failed Two', 'Failed Three']);
      const good = readFileSync(path.join(dir, 'Posts.xml'), 'utf8');
      writeFileSync(path.join(dir, 'Posts.xml'), '<posts><row Id="10" ');
      await expect(run({ dir, space: space.slug })).rejects.toThrow();
      writeFileSync(path.join(dir, 'Posts.xml'), good);
      const elsewhere = await makeSpace(t, 'PUBLIC');
      const done = await run({ dir, space: elsewhere.slug });
      expect(await one(`SELECT space_id FROM topics WHERE id = $1`, [await linked(source, 'question', '10')])).toEqual({ space_id: elsewhere.id });
      expect(await one(`SELECT local_id FROM import_links WHERE source = $1 AND kind = 'target'`, [source])).toEqual({ local_id: done.boardId });
    });

    it('keeps importing into the first run’s board, and a moved topic’s new posts into its new space', async () => {
      const { dir, space, source } = await craft('moved', ['Moved One', 'Moved Two', 'Moved Three']);
      const first = await run({ dir, space: space.slug });
      // A moderator moves the imported question to a restricted space (as moveTopic writes it).
      const restricted = await makeSpace(t, 'RESTRICTED');
      const archive = await makeBoard(t, restricted.id);
      const topicId = (await linked(source, 'question', '10'))!;
      await t.sql(`UPDATE topics SET board_id = $2, space_id = $3 WHERE id = $1`, [topicId, archive, restricted.id]);
      await t.sql(`UPDATE posts SET space_id = $2 WHERE topic_id = $1`, [topicId, restricted.id]);
      writeDumpFile(dir, 'Posts.xml', 'posts', [
        question(),
        ...answers(),
        { Id: '13', PostTypeId: '2', ParentId: '10', CreationDate: '2020-06-01T00:00:00.000', OwnerUserId: '1', Body: '<p>A late answer</p>' },
        { Id: '20', PostTypeId: '1', CreationDate: '2020-06-02T00:00:00.000', Title: 'A new question', Tags: '<python>', OwnerUserId: '2', Body: '<p>New</p>' },
      ]);
      const again = await run({ dir, space: space.slug });
      expect(again.boardId).toBe(first.boardId);
      const late = (await linked(source, 'post', '13'))!;
      expect(await one(`SELECT space_id FROM posts WHERE id = $1`, [late])).toEqual({ space_id: restricted.id });
      const fresh = (await linked(source, 'question', '20'))!;
      expect(await one(`SELECT board_id, space_id FROM topics WHERE id = $1`, [fresh])).toEqual({ board_id: first.boardId, space_id: space.id });
    });

    it('imports comments as replies to their post, numbered by date among the answers, and closes duplicates', async () => {
      const { dir, space, source } = await craft('comments', ['Comments One', 'Comments Two', 'Comments Three']);
      const more = [
        { Id: '20', PostTypeId: '1', CreationDate: '2020-05-02T10:00:00.000', Title: 'A duplicate question', Tags: '<python>', OwnerUserId: '2', Body: '<p>Dup</p>' },
        { Id: '30', PostTypeId: '1', CreationDate: '2020-05-03T10:00:00.000', Title: 'A related question', Tags: '<python>', OwnerUserId: '2', Body: '<p>Related</p>' },
      ];
      writeDumpFile(dir, 'Posts.xml', 'posts', [question(), ...answers(), ...more]);
      const comments = [
        { Id: '1', PostId: '10', Score: '2', Text: 'See [the docs](https://example.com/docs), `x < y` and <b>this</b>', CreationDate: '2020-05-01T10:30:00.000', UserId: '1' },
        { Id: '2', PostId: '11', Score: '0', Text: 'Only a display name', CreationDate: '2020-05-01T11:30:00.000', UserDisplayName: 'Ghost' },
        { Id: '3', PostId: '12', Score: '1', Text: 'On the accepted answer', CreationDate: '2020-05-01T12:30:00.000', UserId: '2' },
        { Id: '4', PostId: '15', Score: '0', Text: 'On a tag wiki', CreationDate: '2020-05-01T11:45:00.000', UserId: '2' },
        { Id: '5', PostId: '14', Score: '0', Text: 'On an orphan answer', CreationDate: '2020-05-01T11:50:00.000', UserId: '2' },
      ];
      writeDumpFile(dir, 'Comments.xml', 'comments', comments);
      writeDumpFile(dir, 'PostLinks.xml', 'postlinks', [
        { Id: '1', CreationDate: '2020-05-04T00:00:00.000', PostId: '20', RelatedPostId: '10', LinkTypeId: '3' },
        { Id: '2', CreationDate: '2020-05-04T00:00:00.000', PostId: '30', RelatedPostId: '10', LinkTypeId: '1' },
        { Id: '3', CreationDate: '2020-05-04T00:00:00.000', PostId: '20', RelatedPostId: '99', LinkTypeId: '3' },
      ]);
      const progress: string[] = [];
      const first = await run({ dir, space: space.slug, progress: (p) => p.done && progress.push(`${p.phase}:${p.rows}`) });
      expect(progress).toEqual(['users:3', 'questions:7', 'answers:7', 'comments:5', 'links:3']);
      expect(first).toMatchObject({
        questions: { created: 3 },
        answers: { created: 2 },
        comments: { created: 3, updated: 0, unchanged: 0 },
        duplicates: { created: 1, unchanged: 0, closed: 1 },
        acceptedChanged: 1,
        skipped: { otherPostTypes: 1, orphanAnswers: 1, orphanComments: 2, otherLinks: 1, orphanDuplicates: 1 },
        // Three questions, two answers, three comments, and the two answers again: the comments moved their numbers.
        events: 10,
      });
      // Closing the duplicate, in the links' pass (the run's last), draws its version from the
      // shared sequence (next_version): past every version the earlier passes drew. Counted on from
      // the version its insert drew in the questions' pass, it would stay below the answers' and comments'.
      const dup = await one(
        `SELECT (SELECT version FROM topics WHERE id = $1) AS closed, (SELECT max(version) FROM posts WHERE space_id = $2) AS latest`,
        [await linked(source, 'question', '20'), space.id],
      );
      expect(dup.closed).toBeGreaterThan(dup.latest);

      const topicId = (await linked(source, 'question', '10'))!;
      const post = async (kind: string, ext: string) => (await linked(source, kind, ext))!;
      const [q10, a11, a12, c1, c2, c3] = [
        await post('post', '10'),
        await post('post', '11'),
        await post('post', '12'),
        await post('comment', '1'),
        await post('comment', '2'),
        await post('comment', '3'),
      ];
      const rows = () =>
        t.sql(`SELECT id, number, reply_to_post_id, version FROM posts WHERE topic_id = $1 ORDER BY number`, [topicId]).then((r) =>
          r.map((p) => ({ id: p.id, number: p.number, replyTo: p.reply_to_post_id })),
        );
      expect(await rows()).toEqual([
        { id: q10, number: 1, replyTo: null },
        { id: c1, number: 2, replyTo: q10 },
        { id: a11, number: 3, replyTo: null },
        { id: c2, number: 4, replyTo: a11 },
        { id: a12, number: 5, replyTo: null },
        { id: c3, number: 6, replyTo: a12 },
      ]);
      const consistent = async () => {
        // Counters agree with the rows, numbers are 1..n by date, the accepted answer is still answer 12.
        const topic = await one(
          `SELECT t.reply_count, t.last_post_number, t.accepted_post_id, t.last_activity_at = max(p.created_at) AS activity,
                  count(*) FILTER (WHERE p.number > 1)::int AS replies, max(p.number) AS last, count(DISTINCT p.number)::int AS numbers, count(*)::int AS n
             FROM topics t JOIN posts p ON p.topic_id = t.id WHERE t.id = $1 GROUP BY t.id`,
          [topicId],
        );
        expect(topic).toMatchObject({ accepted_post_id: a12, activity: true });
        expect([topic.reply_count, topic.last_post_number, topic.numbers]).toEqual([topic.replies, topic.last, topic.n]);
        expect(topic.last).toBe(topic.n);
        const outOfOrder = await t.sql(
          `SELECT a.id FROM posts a JOIN posts b ON b.topic_id = a.topic_id AND b.number > a.number WHERE a.topic_id = $1 AND b.created_at < a.created_at`,
          [topicId],
        );
        expect(outOfOrder).toEqual([]);
        // Every post's last event carries the version it has.
        const stale = await t.sql(
          `SELECT p.id FROM posts p
             JOIN LATERAL (SELECT version FROM outbox WHERE type = 'post.imported' AND aggregate_id = p.id ORDER BY id DESC LIMIT 1) o ON true
            WHERE p.space_id = $1 AND o.version <> p.version`,
          [space.id],
        );
        expect(stale).toEqual([]);
        return topic;
      };
      expect(await consistent()).toMatchObject({ reply_count: 5, last_post_number: 6 });

      // Bodies: the comment's text is its markdown source, rendered like any reply (HTML in it shown as text).
      const [body] = await t.sql(`SELECT body_source, body_html FROM posts WHERE id = $1`, [c1]);
      expect(body).toEqual({
        body_source: comments[0].Text,
        body_html: '<p>See <a href="https://example.com/docs" rel="nofollow ugc noopener">the docs</a>, <code>x &lt; y</code> and &lt;b&gt;this&lt;/b&gt;</p>\n',
      });
      const { topic } = expectOk(await t.gql(TOPIC, { id: topicId }));
      expect(topic).toMatchObject({ replyCount: 5, acceptedAnswer: { id: a12, number: 5 } });
      expect(topic.posts.edges.map((e: any) => [e.node.number, e.node.author.handle])).toEqual([
        [1, 'comments-one'],
        [2, 'comments-one'],
        [3, 'se-comments-anon'],
        [4, 'se-comments-anon'], // only a UserDisplayName: the dump's anonymous placeholder
        [5, 'comments-two'],
        [6, 'comments-two'],
      ]);

      const closed = async () =>
        Object.fromEntries(
          await Promise.all(['10', '20', '30'].map(async (q) => [q, (await one(`SELECT closed FROM topics WHERE id = $1`, [await linked(source, 'question', q)])).closed])),
        );
      expect(await closed()).toEqual({ '10': false, '20': true, '30': false });

      // The same dump again: nothing changes, nothing is announced, the duplicate stays closed.
      const count = () => one(`SELECT (SELECT count(*) FROM posts WHERE space_id = $1)::int AS posts, (SELECT count(*) FROM import_links WHERE source = $2)::int AS links`, [space.id, source]);
      const before = await count();
      const again = await run({ dir, space: space.slug });
      expect(again).toMatchObject({
        questions: { created: 0, updated: 0, unchanged: 3 },
        answers: { created: 0, updated: 0, unchanged: 2 },
        comments: { created: 0, updated: 0, unchanged: 3 },
        duplicates: { created: 0, unchanged: 1, closed: 0 },
        skipped: { orphanComments: 2, otherLinks: 1, orphanDuplicates: 1 },
        events: 0,
      });
      expect(await count()).toEqual(before);
      expect(await closed()).toEqual({ '10': false, '20': true, '30': false });

      // A later dump brings an answer and a comment dated between existing posts, and an edited comment:
      // the topic is renumbered by date, each moved post announced again.
      const versions = async (): Promise<Record<string, number>> =>
        Object.fromEntries((await t.sql(`SELECT id, version FROM posts WHERE topic_id = $1`, [topicId])).map((r) => [r.id, r.version]));
      const versionsBefore = await versions();
      const outboxBefore = (await one(`SELECT coalesce(max(id), 0)::int AS id FROM outbox`)).id;
      writeDumpFile(dir, 'Posts.xml', 'posts', [
        question(),
        ...answers(),
        ...more,
        { Id: '13', PostTypeId: '2', ParentId: '10', CreationDate: '2020-05-01T10:15:00.000', OwnerUserId: '1', Body: '<p>An early answer</p>' },
      ]);
      writeDumpFile(dir, 'Comments.xml', 'comments', [
        ...comments.map((c) => (c.Id === '3' ? { ...c, Text: 'On the accepted answer, *edited*' } : c)),
        { Id: '6', PostId: '10', Score: '0', Text: 'A late comment on the question', CreationDate: '2020-05-01T11:45:00.000', UserId: '2' },
      ]);
      const changed = await run({ dir, space: space.slug });
      expect(changed).toMatchObject({
        answers: { created: 1, updated: 0, unchanged: 2 },
        comments: { created: 1, updated: 1, unchanged: 2 },
        duplicates: { created: 0, unchanged: 1, closed: 0 },
        acceptedChanged: 0,
      });
      const [a13, c6] = [await post('post', '13'), await post('comment', '6')];
      expect(await rows()).toEqual([
        { id: q10, number: 1, replyTo: null },
        { id: a13, number: 2, replyTo: null },
        { id: c1, number: 3, replyTo: q10 },
        { id: a11, number: 4, replyTo: null },
        { id: c2, number: 5, replyTo: a11 },
        { id: c6, number: 6, replyTo: q10 },
        { id: a12, number: 7, replyTo: null },
        { id: c3, number: 8, replyTo: a12 },
      ]);
      expect(await consistent()).toMatchObject({ reply_count: 7, last_post_number: 8 });
      const [edited] = await t.sql(`SELECT body_html FROM posts WHERE id = $1`, [c3]);
      expect(edited.body_html).toBe('<p>On the accepted answer, <em>edited</em></p>\n');
      // Answers' pass: 13 is new and moves c1, a11, c2, a12, c3 up one; comments' pass: c3 is edited, c6 new
      // and moves a12 and c3 again. Each moved post takes a new version (from the shared sequence,
      // next_version: it grows, by any step), one per batch it moved in; q10 stays as it was.
      const after = await versions();
      expect(after).toEqual({
        [q10]: versionsBefore[q10],
        // New ones: the version their insert drew (the column's default, from the shared sequence).
        [a13]: expect.any(Number),
        [c1]: expect.any(Number),
        [a11]: expect.any(Number),
        [c2]: expect.any(Number),
        [a12]: expect.any(Number),
        [c3]: expect.any(Number),
        [c6]: expect.any(Number),
      });
      for (const id of [c1, a11, c2, a12, c3]) expect(after[id]).toBeGreaterThan(versionsBefore[id]);
      const events = await t.sql(`SELECT aggregate_id, version FROM outbox WHERE id > $1 AND type = 'post.imported' ORDER BY id`, [outboxBefore]);
      expect(events).toHaveLength(9);
      expect(changed.events).toBe(9);
      expect(new Set(events.map((e) => e.aggregate_id))).toEqual(new Set([a13, c1, a11, c2, a12, c3, c6]));
      // a12 and c3, announced once per batch, with a version each: the second higher, the post's own.
      for (const id of [a12, c3]) {
        const announced = events.filter((e) => e.aggregate_id === id).map((e) => e.version);
        expect(announced).toHaveLength(2);
        expect(announced[0]).toBeGreaterThan(versionsBefore[id]);
        expect(announced[1]).toBeGreaterThan(announced[0]);
        expect(announced[1]).toBe(after[id]);
      }
      expect(await count()).toEqual({ posts: before.posts + 2, links: before.links + 2 });
    });
  });
});
