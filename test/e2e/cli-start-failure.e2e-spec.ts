import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createTestDatabase, TestDatabase } from '../setup/test-database';
import { buildDistOnce } from '../support/dist';

const ROOT = path.join(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/apps/cli/src/main.js');

/**
 * The built CLI, run as its operator runs it, when its application context fails to start for a reason of its own (a
 * provider's construction throws, from a --require hook, with a URL's password in its message; a refused database fails
 * there too, after its retries): the failure is said once
 * on stderr, redacted, and the command exits 1. Until 2026-12-07 (the context's `abortOnError: false`) it was said
 * twice: Nest's `[ExceptionHandler]` line, then the command's own. (A module's onModuleInit
 * that throws fails after that phase, outside Nest's exception zone: it was said once already.)
 */
describe('a CLI command whose application context fails to start', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    await buildDistOnce();
    db = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'parvis-cli-start-failure-'));
  }, 300_000);
  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says the failure once, redacted, and exits 1', () => {
    const hook = path.join(dir, 'fail-on-init.js');
    writeFileSync(
      hook,
      `const { Injector } = require(require.resolve('@nestjs/core/injector/injector', { paths: [${JSON.stringify(ROOT)}] }));
const instantiateClass = Injector.prototype.instantiateClass;
Injector.prototype.instantiateClass = function (instances, wrapper, ...rest) {
  if (wrapper.name === 'SearchAdmin') throw new Error('search would not start: postgres://u:hunter2secret@db.example/x');
  return instantiateClass.call(this, instances, wrapper, ...rest);
};
`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
    delete env.REDIS_URL;
    const run = spawnSync(process.execPath, ['--require', hook, MAIN, 'search:status'], { cwd: ROOT, env, input: '', encoding: 'utf8' });
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 1, stdout: '' });
    expect(run.stderr).not.toContain('hunter2secret');
    expect(run.stderr.match(/search would not start/g)).toEqual(['search would not start']);
    expect(run.stderr).toContain('search would not start: postgres://u:[redacted]@db.example/x');
  });
});
