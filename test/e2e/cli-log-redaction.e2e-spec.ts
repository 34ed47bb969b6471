import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createTestDatabase, TestDatabase } from '../setup/test-database';
import { buildDistOnce } from '../support/dist';

const ROOT = path.join(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/apps/cli/src/main.js');

/**
 * The built CLI, as its operator runs it, with a MEILI_URL that carries a user and password and
 * points where nothing listens: Meilisearch's client's errors name that URL whole. What the
 * command prints (its failure, its log's warnings, its report) names the URL without the password.
 */
describe('the CLI never prints the password a URL carries', () => {
  let db: TestDatabase;
  const secret = 'cli-s3cret-pw';
  const meiliUrl = `http://parvis:${secret}@127.0.0.1:1`;
  beforeAll(async () => {
    db = await createTestDatabase();
    await buildDistOnce();
  }, 300_000);
  afterAll(() => db?.drop());

  const run = (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, MEILI_URL: meiliUrl, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
    delete env.REDIS_URL;
    const cli = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, env, input: '', encoding: 'utf8' });
    return { status: cli.status, stdout: cli.stdout, stderr: cli.stderr };
  };

  it("in a failed command's message, nor anywhere else it prints", () => {
    const failed = run('search:reindex', '--engine', 'meilisearch');
    expect(failed.status).toBe(1);
    // The failure names the URL, its password replaced.
    expect(failed.stderr).toContain('http://parvis:[redacted]@127.0.0.1:1');
    expect(failed.stderr + failed.stdout).not.toContain(secret);
  }, 120_000);

  // Commander says it, quoting the argument: until 2026-12-07 past the CLI's writer, the password in it.
  it('in an argument it refuses (a URL given where a date goes)', () => {
    const refused = run('audit:export', '--since', `http://parvis:${secret}@backups.example/`);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("error: option '--since <date>' argument 'http://parvis:[redacted]@backups.example/' is invalid.");
    expect(refused.stderr + refused.stdout).not.toContain(secret);
  }, 120_000);

  // Resolved as a path, the argument's `//` is one `/`: the refusal names that path, which until 2026-12-07 the walker
  // did not take for a URL (commander's quote of the argument itself was redacted).
  it('in a path made of a URL-like argument (audit:export --out s3://key:pw@bucket/x), named as resolved', () => {
    const refused = run('audit:export', '--since', '2026-01-01', '--out', `s3://backup:${secret}@bucket.example/exports/log.csv`);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`(${ROOT}/s3:/backup:[redacted]@bucket.example/exports does not exist)`);
    expect(refused.stderr + refused.stdout).not.toContain(secret);
  }, 120_000);

  // Where that path is a folder, the export is written there and its report line names it (on stdout): until 2026-12-07
  // as it was, the password in it.
  it('in the report of an export written to such a path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parvis-url-out-'));
    try {
      mkdirSync(path.join(dir, `s3:/backup:${secret}@bucket.example`), { recursive: true });
      const written = run('audit:export', '--since', '2026-01-01', '--out', `${dir}/s3://backup:${secret}@bucket.example/log.csv`);
      expect(written.status).toBe(0);
      expect(written.stdout).toBe(`Wrote 0 entries to ${dir}/s3:/backup:[redacted]@bucket.example/log.csv\n`);
      expect(written.stderr + written.stdout).not.toContain(secret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("in a report's text (search:status naming the engine it could not reach)", () => {
    const status = run('search:status');
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^meilisearch: unreachable documents \(.*http:\/\/parvis:\[redacted\]@127\.0\.0\.1:1/m);
    expect(status.stderr + status.stdout).not.toContain(secret);
  }, 120_000);
});
