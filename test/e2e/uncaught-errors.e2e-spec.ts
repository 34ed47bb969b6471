import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createTestDatabase, TestDatabase } from '../setup/test-database';
import { buildDistOnce } from '../support/dist';
import { freePort } from '../support/free-port';

const ROOT = path.join(__dirname, '../..');

/**
 * Code loaded before the process's own (`node --require`), which makes the error nothing catches: an Error whose message
 * names a URL with its password, or (`TEST_FAIL_REASON=text`) that text alone as a rejection's reason; thrown from a timer
 * (`TEST_FAIL=exception`) or rejected (`rejection`), at once or (`TEST_FAIL_WHEN=listening`) once the HTTP server listens.
 * The server's closing is said on stderr, so that the test sees the API closed it before it exited.
 */
const PRELOAD = `
const http = require('node:http');
const text = 'lost ' + process.env.TEST_FAIL_URL;
const reason = () => (process.env.TEST_FAIL_REASON === 'text' ? text : new Error(text));
const fail = () => setTimeout(() => {
  if (process.env.TEST_FAIL === 'exception') throw reason();
  Promise.reject(reason());
}, 0);
if (process.env.TEST_FAIL_WHEN === 'listening') {
  const listen = http.Server.prototype.listen;
  http.Server.prototype.listen = function (...args) {
    this.once('listening', fail);
    this.once('close', () => process.stderr.write('test: the HTTP server closed\\n'));
    return listen.apply(this, args);
  };
} else fail();
`;

/** The API, the worker and the CLI as their operators run them (built), each with an error nothing catches. */
describe('an error nothing catches, in a process', () => {
  let db: TestDatabase;
  let dir: string;
  const secret = 'uncaught-s3cret';
  const url = `http://parvis:${secret}@db.example/`;
  beforeAll(async () => {
    db = await createTestDatabase();
    await buildDistOnce();
    dir = mkdtempSync(path.join(tmpdir(), 'parvis-uncaught-'));
    writeFileSync(path.join(dir, 'fail.js'), PRELOAD);
  }, 300_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  const run = (main: string, args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const childEnv: NodeJS.ProcessEnv = {
        ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, LOG_LEVEL: 'info', MIGRATE_ON_START: 'false', WORKER_IN_PROCESS: 'false',
        TEST_FAIL_URL: url, ...env,
      };
      delete childEnv.REDIS_URL;
      const child = spawn(process.execPath, ['--require', path.join(dir, 'fail.js'), path.join(ROOT, main), ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  const fatal = (stdout: string) =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string; stack?: string } })
      .filter((l) => l.level === 60);

  it('ends the API once it logged the rejection, redacted, and closed its HTTP server as on SIGTERM: exit 1', async () => {
    const api = await run('dist/apps/api/src/main.js', [], { PORT: String(await freePort()), HOST: '127.0.0.1', TEST_FAIL: 'rejection', TEST_FAIL_WHEN: 'listening' });
    expect(api.stdout + api.stderr).not.toContain(secret);
    expect(api.code).toBe(1);
    expect(api.stdout).toContain('is listening');
    const [line, ...more] = fatal(api.stdout);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ msg: 'unhandled rejection: shutting down', err: { message: 'lost http://parvis:[redacted]@db.example/' } });
    expect(line.err!.stack).toMatch(/^Error: lost http:\/\/parvis:\[redacted\]@db\.example\/\n\s+at /);
    expect(api.stderr).toContain('test: the HTTP server closed');
  }, 120_000);

  it('ends the worker on an uncaught exception the same way', async () => {
    const worker = await run('dist/apps/worker/src/main.js', [], { TEST_FAIL: 'exception' });
    expect(worker.stdout + worker.stderr).not.toContain(secret);
    expect(worker.code).toBe(1);
    expect(fatal(worker.stdout)).toEqual([expect.objectContaining({ msg: 'uncaught exception: shutting down', err: expect.objectContaining({ message: 'lost http://parvis:[redacted]@db.example/' }) })]);
  }, 120_000);

  it('ends a CLI command saying the error as its own failure, redacted, whatever was thrown or rejected: exit 1', async () => {
    for (const [fail, reason, said] of [
      ['rejection', 'error', 'unhandled rejection: lost http://parvis:[redacted]@db.example/'],
      ['rejection', 'text', 'unhandled rejection: lost http://parvis:[redacted]@db.example/'],
      ['exception', 'error', 'uncaught exception: lost http://parvis:[redacted]@db.example/'],
    ] as const) {
      const cli = await run('dist/apps/cli/src/main.js', ['search:status'], { TEST_FAIL: fail, TEST_FAIL_REASON: reason, LOG_LEVEL: 'warn' });
      expect(cli.stdout + cli.stderr).not.toContain(secret);
      expect({ code: cli.code, said: cli.stderr.split('\n').filter((l) => l.includes('db.example')) }).toEqual({ code: 1, said: [said] });
    }
  }, 120_000);
});
