import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { ALERT_EXIT } from '../../apps/cli/src/exit-codes';
import { createTestDatabase, TestDatabase, withDatabase } from '../setup/test-database';
import { buildDistOnce } from '../support/dist';

const ROOT = path.join(__dirname, '../..');

/**
 * `audit:verify` run as a monitoring script runs it (the built CLI): the exit code alone tells the
 * log intact (0) from problems found (ALERT_EXIT, listed on stderr) from a check
 * that failed, nothing known of the log (1).
 */
describe('audit:verify (the built CLI): its exit code', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await buildDistOnce();
  }, 300_000);
  afterAll(() => db?.drop());

  const run = (url: string) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
    delete env.REDIS_URL;
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist/apps/cli/src/main.js'), 'audit:verify'], { cwd: ROOT, env, input: '', encoding: 'utf8' });
    return { status: cli.status, stdout: cli.stdout, stderr: cli.stderr };
  };
  const sql = async (statement: string) => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };

  it('exits 0, saying so on stdout, when the log is intact', () => {
    expect(run(db.url)).toMatchObject({ status: 0, stdout: expect.stringMatching(/^The moderation log is intact \(\d+ entries\)\.\n$/) });
  }, 120_000);

  it(`exits ${ALERT_EXIT}, listing what it found on stderr and nothing on stdout, when the log has a problem`, async () => {
    // The head counts an entry more than the log holds (it only moves forward: its trigger lets this by).
    await sql(`UPDATE moderation_log_head SET entries = entries + 1`);
    const found = run(db.url);
    expect(found).toMatchObject({ status: ALERT_EXIT, stdout: '' });
    expect(found.stderr).toMatch(/^The moderation log has 1 problem \(\d+ entries checked\):\n {2}its head counts \d+ entries up to entry \d+, where the log holds \d+ /m);
  }, 120_000);

  it('exits 1 when the check failed: a database it cannot open', () => {
    const failed = run(withDatabase(db.url, `${db.name}_none`));
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).not.toMatch(/moderation log/);
  }, 120_000);
});
