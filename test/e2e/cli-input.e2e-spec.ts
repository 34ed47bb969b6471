import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase } from '../setup/test-database';
import { buildDistOnce, buildDistOnceSync } from '../support/dist';

const ROOT = path.join(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/apps/cli/src/main.js');

/**
 * The built CLI, run as its operator runs it, given bad arguments: each is refused with a clear
 * message on stderr (commander's usage after it, for a malformed command line), exit code 1 and
 * nothing on stdout, before the database is touched. The database is an empty one, as a new
 * install's: a command that opened it would have migrated it, so it must stay without a table.
 */
describe('the CLI refuses bad arguments before it touches the database', () => {
  beforeAll(() => buildDistOnce(), 300_000);

  /** Relations in the database's public schema: none until something migrates it. */
  async function relations(url: string): Promise<number> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`)).rows[0].n;
    } finally {
      await c.end();
    }
  }

  const dump = ['import:stackexchange', '/nonexistent/dump', '--space', 'community'];
  // The cases' files, in a folder only named here: it is made before the first case runs and
  // removed after the last (beforeAll and afterAll, which a run filtered to none of these cases,
  // jest -t, skips both), so a filtered run leaves nothing behind.
  const TEMP = path.join(tmpdir(), `parvis-cli-input-${process.pid}-${randomBytes(6).toString('hex')}`);
  // Dumps whose Posts.xml, or Users.xml beside a Posts.xml, is a folder: there, but nothing to read.
  const postsFolder = path.join(TEMP, 'posts-folder');
  const usersFolder = path.join(TEMP, 'users-folder');
  // A training file of no comments (no CONTENT and CLASS header): read first, it would be refused first.
  const badCsv = path.join(TEMP, 'bad.csv');
  // A folder made read-only (0555).
  const readOnly = path.join(TEMP, 'read-only');
  // A dump folder no one may enter (0000), a dump whose Posts.xml no one may read, an evaluation
  // file no one may read: root may all the same, so they are asked of as nobody (deniedCase).
  const closedDump = path.join(TEMP, 'closed-dump');
  // A dump whose Comments.xml, optional, is a link to a file in closedDump: there, but not reached.
  const linkedDump = path.join(TEMP, 'linked-dump');
  const unreadableDump = path.join(TEMP, 'unreadable-dump');
  const unreadableXml = path.join(TEMP, 'unreadable.xml');
  // A folder anyone may write in where only a file's owner may remove or replace it (1777, as
  // /tmp), holding root's log.csv: nobody may not replace it; and root's link linked.csv to
  // nobody's file (under root): the link is what the export would replace, and it is root's.
  const stickyOut = path.join(TEMP, 'sticky-out');
  const stickyLink = path.join(stickyOut, 'linked.csv');
  beforeAll(() => {
    mkdirSync(TEMP);
    chmodSync(TEMP, 0o755); // 0700 (under a umask of 077) would keep nobody out of the folders in it
    mkdirSync(path.join(postsFolder, 'Posts.xml'), { recursive: true });
    mkdirSync(path.join(usersFolder, 'Users.xml'), { recursive: true });
    writeFileSync(path.join(usersFolder, 'Posts.xml'), '<posts></posts>\n');
    writeFileSync(badCsv, 'no,header\n');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o555);
    for (const dir of [closedDump, unreadableDump]) {
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'Posts.xml'), '<posts></posts>\n');
    }
    chmodSync(path.join(unreadableDump, 'Posts.xml'), 0);
    writeFileSync(path.join(closedDump, 'Comments.xml'), '<comments></comments>\n');
    mkdirSync(linkedDump);
    writeFileSync(path.join(linkedDump, 'Posts.xml'), '<posts></posts>\n');
    symlinkSync(path.join(closedDump, 'Comments.xml'), path.join(linkedDump, 'Comments.xml'));
    chmodSync(closedDump, 0);
    writeFileSync(unreadableXml, '<xml/>\n');
    chmodSync(unreadableXml, 0);
    mkdirSync(stickyOut);
    chmodSync(stickyOut, 0o1777);
    writeFileSync(path.join(stickyOut, 'log.csv'), 'an export of another user\n');
    writeFileSync(path.join(stickyOut, 'nobodys.csv'), 'a file of nobody\n');
    if (process.getuid?.() === 0) chownSync(path.join(stickyOut, 'nobodys.csv'), 65534, 65534);
    symlinkSync(path.join(stickyOut, 'nobodys.csv'), stickyLink);
  });
  afterAll(() => {
    // Opened again, for a user other than root to remove what is in it.
    if (existsSync(closedDump)) chmodSync(closedDump, 0o755);
    rmSync(TEMP, { recursive: true, force: true });
  });
  const escaped = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['bogus'], /^error: unknown command 'bogus'\n/],
    ['an unknown option', ['seed', '--bogus'], /^error: unknown option '--bogus'\n/],
    ['a missing required option', ['import:stackexchange', '/nonexistent/dump'], /^error: required option '--space <slug>' not specified\n/],
    ['a missing argument', ['import:stackexchange', '--space', 'community'], /^error: missing required argument 'dump-dir'\n/],
    ['a dump folder that does not exist', dump, /^\/nonexistent\/dump\/Posts\.xml not found: give the folder of a Stack Exchange dump\n$/],
    ['a dump whose Posts.xml is a folder', ['import:stackexchange', postsFolder, '--space', 'community'], new RegExp(`^${escaped(postsFolder)}/Posts\\.xml is not a file: give the folder of a Stack Exchange dump\n$`)],
    ['a dump whose Users.xml is a folder', ['import:stackexchange', usersFolder, '--space', 'community'], new RegExp(`^${escaped(usersFolder)}/Users\\.xml is not a file: give the folder of a Stack Exchange dump\n$`)],
    ['a batch size that is no number', [...dump, '--batch-size', 'abc'], /^error: option '--batch-size <n>' argument 'abc' is invalid\. expected a whole number from 1 to 10000\n/],
    ['a batch size of 0', [...dump, '--batch-size', '0'], /^error: option '--batch-size <n>' argument '0' is invalid\./],
    ['a concurrency that is not whole', ['search:reindex', '--concurrency', '1.5'], /^error: option '--concurrency <n>' argument '1\.5' is invalid\. expected an integer from 1 to 16\n/],
    ['a concurrency above the pool (DB_POOL_SIZE, 10 by default)', ['search:reindex', '--concurrency', '11'], /^error: option '--concurrency <n>' argument '11' is invalid\. expected at most DB_POOL_SIZE \(10\) batches at once: each holds one of the pool's connections\n/],
    ['an engine of no name known', ['search:reindex', '--engine', 'bogus'], /^error: option '--engine <name>' argument 'bogus' is invalid\. Allowed choices are all, postgres, meilisearch\.\n/],
    ['an evaluation by an engine of no name known', ['eval:search', '/nonexistent/semeval.xml', '--engine', 'bogus'], /^error: option '--engine <name>' argument 'bogus' is invalid\./],
    ['a date that is none', ['audit:export', '--since', 'notadate'], /^error: option '--since <date>' argument 'notadate' is invalid\. expected an ISO date or date-time, e\.g\. 2026-01-01\n/],
    ['a rebake batch of 0', ['content:rebake', '--batch', '0'], /^error: option '--batch <n>' argument '0' is invalid\. expected an integer from 1 to 10000\n/],
    ['a rebake since a date that is none', ['content:rebake', '--since', 'yesterday'], /^error: option '--since <date>' argument 'yesterday' is invalid\. expected an ISO date or date-time, e\.g\. 2026-01-01\n/],
    ['a threshold past 1', ['eval:spam', '--threshold', '2', 'a.csv', 'b.csv'], /^error: option '--threshold <n>' argument '2' is invalid\. expected a number from 0 to 1\n/],
    ['a date of no day in the calendar', ['audit:export', '--since', '2026-02-31'], /^error: option '--since <date>' argument '2026-02-31' is invalid\. expected an ISO date or date-time, e\.g\. 2026-01-01\n/],
    ['a date-time of no day in the calendar', ['audit:export', '--since', '2026-04-31T10:00:00Z'], /^error: option '--since <date>' argument '2026-04-31T10:00:00Z' is invalid\./],
    ['an export into a folder that does not exist', ['audit:export', '--since', '2026-01-01', '--out', '/nonexistent/log.csv'], /^error: option '--out <file>' argument '\/nonexistent\/log\.csv' is invalid\. expected a file in an existing folder \(\/nonexistent does not exist\)\n/],
    ['an export into a folder that is a file', ['audit:export', '--since', '2026-01-01', '--out', '/etc/passwd/log.csv'], /^error: option '--out <file>' argument '\/etc\/passwd\/log\.csv' is invalid\. expected a file in an existing folder \(\/etc\/passwd is not a folder\)\n/],
    ['spam files that do not exist', ['eval:spam', '/nonexistent/a.csv', '/nonexistent/b.csv'], /^\/nonexistent\/a\.csv not found: give a CSV file of labelled comments \(CONTENT, CLASS\)\n$/],
    ['a spam training file that does not exist', ['eval:spam', '--train', '/nonexistent/a.csv', '--test', '/nonexistent/b.csv'], /^\/nonexistent\/a\.csv not found: give a CSV file of labelled comments \(CONTENT, CLASS\)\n$/],
    ['an evaluation file that does not exist', ['eval:search', '/nonexistent/semeval.xml'], /^\/nonexistent\/semeval\.xml not found: give a SemEval-2016 Task 3 CQA-QL XML file\n$/],
    ['a spam test file that does not exist, before the training file is read', ['eval:spam', '--train', badCsv, '--test', '/nonexistent/b.csv'], /^\/nonexistent\/b\.csv not found: give a CSV file of labelled comments \(CONTENT, CLASS\)\n$/],
    ['an admin of a bad e-mail, handle and password, with its code', ['admin:create', '--email', 'bad', '--handle', 'x', '--password', 'short'], /^BAD_USER_INPUT: Invalid input\n {2}email: .+\n {2}handle: .+\n {2}password: .+\n$/],
  ];

  /** The built CLI run with `args` on an empty database of its own, refused with `message` before it touched it. */
  async function refusedBeforeDatabase(args: string[], message: RegExp, spawnOptions: SpawnSyncOptions = {}, moreEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    // An empty database of its own: a case that migrated one would leave the next none to show it.
    const db = await createTestDatabase({ empty: true });
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...moreEnv };
      delete env.REDIS_URL;
      // Nothing on stdin: a command waiting for a password there would end at once.
      const run = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, env, input: '', encoding: 'utf8', ...spawnOptions });
      expect({ status: run.status, stdout: String(run.stdout), stderr: String(run.stderr) }).toEqual({ status: 1, stdout: '', stderr: expect.stringMatching(message) });
      expect(await relations(db.url)).toBe(0);
    } finally {
      await db.drop();
    }
  }

  it.each(cases)('refuses %s', (_, args, message) => refusedBeforeDatabase(args, message), 120_000);

  it('refuses a concurrency above the DB_POOL_SIZE it is given, and leaves a DB_POOL_SIZE that does not load to the command, which names it', async () => {
    await refusedBeforeDatabase(['search:reindex', '--concurrency', '4'], /^error: option '--concurrency <n>' argument '4' is invalid\. expected at most DB_POOL_SIZE \(3\) batches at once: each holds one of the pool's connections\n/, {}, { DB_POOL_SIZE: '3' });
    // A configuration that does not load is left to the command, which names it before the database opens.
    await refusedBeforeDatabase(['search:reindex', '--concurrency', '4'], /^Invalid configuration:\n {2}DB_POOL_SIZE: /, {}, { DB_POOL_SIZE: 'many' });
  }, 120_000);

  // Root writes in a read-only folder all the same, and its access check says so: then the CLI
  // runs as nobody (uid 65534) where that user can run it at all, else the case is skipped. Both
  // are asked of a folder made as TEMP's read-only one will be, beside it, and removed at once;
  // whether nobody can run the CLI is asked of the CLI itself, built first (jest decides which
  // cases to skip as it collects them, before any beforeAll).
  const asNobody: SpawnSyncOptions = { uid: 65534, gid: 65534 };
  // A probe that hangs (nobody's node stuck on a file system, say) would hang jest's collection of
  // this file, which no test timeout bounds: it is killed (SIGKILL, which it cannot ignore) past
  // PROBE_TIMEOUT_MS and taken for one that failed, so the cases are skipped with the warning. Its
  // output is not read: ignored, no pipe left open by a child of its own can hold spawnSync either.
  const PROBE_TIMEOUT_MS = 60_000;
  const probe: SpawnSyncOptions = { ...asNobody, stdio: 'ignore', timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL' };
  const { writableToUs, nobodyRuns, timedOut } = (() => {
    const probed = mkdtempSync(path.join(tmpdir(), 'parvis-cli-input-probe-'));
    try {
      chmodSync(probed, 0o755);
      const probedReadOnly = path.join(probed, 'read-only');
      mkdirSync(probedReadOnly);
      chmodSync(probedReadOnly, 0o555);
      let writable = true;
      try {
        accessSync(probedReadOnly, constants.W_OK);
      } catch {
        writable = false;
      }
      if (!writable) return { writableToUs: false, nobodyRuns: false, timedOut: false };
      // Nobody must run the built CLI as the cases do, loading every command's modules from dist/
      // and node_modules (a clone, or a build, made under umask 077 has files it may not read), and
      // reach the read-only folder itself (a TMPDIR inside a 0700 folder, say), where the CLI would
      // otherwise be refused for another reason ('cannot be reached').
      buildDistOnceSync();
      const cli = spawnSync(process.execPath, [MAIN, 'help'], { cwd: ROOT, ...probe });
      const reaches = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(probedReadOnly)}, require('fs').constants.X_OK)`], probe);
      const timedOut = [cli, reaches].some((run) => (run.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT');
      return { writableToUs: true, nobodyRuns: cli.status === 0 && reaches.status === 0, timedOut };
    } finally {
      rmSync(probed, { recursive: true, force: true });
    }
  })();
  const deniedCase = writableToUs && !nobodyRuns ? it.skip : it;
  if (writableToUs && !nobodyRuns) {
    console.warn(
      `Skipped the cases of a permission denied (an export into a read-only folder, files that may not be read): running as uid ${process.getuid?.()}, ` +
        `which may write in a read-only folder whatever its mode, and nobody (65534) cannot run the built CLI here (${MAIN}) or reach a folder in ${tmpdir()}` +
        (timedOut ? ` (a probe, run as nobody, did not end within ${PROBE_TIMEOUT_MS / 1000} s and was killed)` : ''),
    );
  }
  const asDenied = writableToUs ? asNobody : {};
  deniedCase(
    'refuses an export into a folder this user may not write in',
    () =>
      refusedBeforeDatabase(
        ['audit:export', '--since', '2026-01-01', '--out', path.join(readOnly, 'log.csv')],
        new RegExp(`^error: option '--out <file>' argument '${escaped(readOnly)}/log\\.csv' is invalid\\. expected a file in a folder this user may write in \\(${escaped(readOnly)} is not writable\\)\n`),
        asDenied,
      ),
    120_000,
  );
  // Only a user other than the file's owner can be refused its replacement: as nobody under root
  // alone. A link is replaced, not the file it names: whose the link is counts (stat would answer
  // the file's owner, nobody).
  (writableToUs && nobodyRuns ? it : it.skip).each([
    ["another user's file", path.join(stickyOut, 'log.csv'), 'an export of another user\n'],
    ["another user's link to this user's file", stickyLink, 'a file of nobody\n'],
  ])("refuses an export onto %s in a folder where only a file's owner may replace it, leaving it as it was", async (_, out, text) => {
    await refusedBeforeDatabase(
      ['audit:export', '--since', '2026-01-01', '--out', out],
      new RegExp(`^error: option '--out <file>' argument '${escaped(out)}' is invalid\\. expected a file this user may replace \\(${escaped(out)} is another user's, in a folder where only a file's owner may replace it\\)\n`),
      asNobody,
    );
    expect(readFileSync(out, 'utf8')).toBe(text);
    expect(readdirSync(stickyOut).filter((name) => name.endsWith('.partial'))).toEqual([]);
  }, 120_000);
  // Where Node's bare EACCES came (a folder not entered), or the file was read only after the
  // database was opened (a file not readable), they are refused as a missing file is.
  const deniedCases: Array<[string, string[], RegExp]> = [
    [
      'a dump folder this user may not enter',
      ['import:stackexchange', closedDump, '--space', 'community'],
      new RegExp(`^${escaped(closedDump)}/Posts\\.xml cannot be reached \\(EACCES\\): give the folder of a Stack Exchange dump\n$`),
    ],
    [
      'a dump whose optional Comments.xml this user cannot reach',
      ['import:stackexchange', linkedDump, '--space', 'community'],
      new RegExp(`^${escaped(linkedDump)}/Comments\\.xml cannot be reached \\(EACCES\\): give the folder of a Stack Exchange dump\n$`),
    ],
    [
      'a dump whose Posts.xml this user may not read',
      ['import:stackexchange', unreadableDump, '--space', 'community'],
      new RegExp(`^${escaped(unreadableDump)}/Posts\\.xml is not readable: give the folder of a Stack Exchange dump\n$`),
    ],
    ['an evaluation file this user may not read', ['eval:search', unreadableXml], new RegExp(`^${escaped(unreadableXml)} is not readable: give a SemEval-2016 Task 3 CQA-QL XML file\n$`)],
  ];
  deniedCase.each(deniedCases)('refuses %s', (_, args, message) => refusedBeforeDatabase(args, message, asDenied), 120_000);
});

describe('the CLI prints an error with its code', () => {
  beforeAll(() => buildDistOnce(), 300_000);

  it('names BAD_USER_INPUT and each field when an admin’s e-mail and handle are taken', async () => {
    const db = await createTestDatabase();
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
      delete env.REDIS_URL;
      const create = () =>
        spawnSync(process.execPath, [MAIN, 'admin:create', '--email', 'taken@example.com', '--handle', 'taken', '--password-stdin'], { cwd: ROOT, env, input: 'a long enough password\n', encoding: 'utf8' });
      expect(create()).toMatchObject({ status: 0, stdout: expect.stringMatching(/^Created admin @taken /) });
      const again = create();
      expect({ status: again.status, stdout: again.stdout, stderr: again.stderr }).toEqual({
        status: 1,
        stdout: '',
        stderr: 'BAD_USER_INPUT: That e-mail or handle is already in use\n  email: is already registered\n  handle: is taken\n',
      });
    } finally {
      await db.drop();
    }
  }, 120_000);
});
