import { ChildProcess, spawn } from 'node:child_process';
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
 * The server's closing is said on stderr, so that the test sees the API closed it before it exited. In a CLI command,
 * `TEST_CLEANUP` registers a cleanup (said on stderr as it starts) that waits: for a SIGTERM (`signal`), for nothing
 * (`never`), or (`loop`) for an interval to throw the same error 49 times, as code failing in a loop would.
 */
const PRELOAD = `
const http = require('node:http');
const path = require('node:path');
const text = 'lost ' + process.env.TEST_FAIL_URL;
const reason = () => (process.env.TEST_FAIL_REASON === 'text' ? text : new Error(text));
const fail = () => setTimeout(() => {
  if (process.env.TEST_FAIL === 'exception') throw reason();
  Promise.reject(reason());
}, 0);
const cleanup = process.env.TEST_CLEANUP;
if (cleanup) {
  const { onInterrupt } = require(path.join(process.cwd(), 'dist/apps/cli/src/interrupt.js'));
  onInterrupt(() => new Promise((resolve) => {
    process.stderr.write('test: cleaning up\\n');
    if (cleanup === 'signal') process.once('SIGTERM', () => setImmediate(resolve));
    if (cleanup === 'loop') {
      const again = reason();
      let thrown = 1;
      const tick = setInterval(() => {
        if (++thrown === 50) {
          clearInterval(tick);
          resolve();
        }
        throw again;
      }, 1);
    }
  }));
}
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

  /** Runs `main` to its end; `onStderr` is told what it wrote on stderr so far, each time it writes there. */
  const run = (main: string, args: string[], env: NodeJS.ProcessEnv, onStderr?: (stderr: string, child: ChildProcess) => void) =>
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
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        onStderr?.(stderr, child);
      });
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

  /** What a command said on stderr, but its log's lines (a warning of the command's work, cut short by the cleanups). */
  const said = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !/^(WARN|ERROR) |^\s/.test(l));
  /** Sends a command each signal once it said the line before it on stderr, in order. */
  const signalAfter = (...steps: Array<[string, NodeJS.Signals]>) => {
    let next = 0;
    return (stderr: string, child: ChildProcess) => {
      while (next < steps.length && stderr.includes(`${steps[next][0]}\n`)) child.kill(steps[next++][1]);
    };
  };

  it('exits a CLI command that failed 1 when a signal comes while it cleans up, a second signal too (until 2026-12-07: 143)', async () => {
    const env = { TEST_FAIL: 'exception', LOG_LEVEL: 'warn' };
    const once = await run('dist/apps/cli/src/main.js', ['search:status'], { ...env, TEST_CLEANUP: 'signal' }, signalAfter(['test: cleaning up', 'SIGTERM']));
    expect({ code: once.code, said: said(once.stderr) }).toEqual({
      code: 1,
      said: ['uncaught exception: lost http://parvis:[redacted]@db.example/', 'test: cleaning up', 'interrupted (SIGTERM): cleaning up'],
    });
    // Ctrl-C, then a supervisor's SIGTERM: the second exits at once, but with the failure's code.
    const twice = await run('dist/apps/cli/src/main.js', ['search:status'], { ...env, TEST_CLEANUP: 'never' }, signalAfter(
      ['test: cleaning up', 'SIGINT'],
      ['interrupted (SIGINT): cleaning up', 'SIGTERM'],
    ));
    expect({ code: twice.code, said: said(twice.stderr) }).toEqual({
      code: 1,
      said: ['uncaught exception: lost http://parvis:[redacted]@db.example/', 'test: cleaning up', 'interrupted (SIGINT): cleaning up', 'second signal (SIGTERM): exiting now'],
    });
  }, 120_000);

  it('says an error a CLI command throws again and again once, and how many times it came again on one line', async () => {
    const cli = await run('dist/apps/cli/src/main.js', ['search:status'], { TEST_FAIL: 'exception', TEST_CLEANUP: 'loop', LOG_LEVEL: 'warn' });
    expect({ code: cli.code, said: said(cli.stderr) }).toEqual({
      code: 1,
      said: [
        'uncaught exception: lost http://parvis:[redacted]@db.example/',
        'test: cleaning up',
        // The interval's error, thrown from another place than the first: said once too, then counted.
        'uncaught exception: lost http://parvis:[redacted]@db.example/',
        '48 more errors nothing caught, left out (repeats of one above: 48; others: 0)',
      ],
    });
  }, 120_000);
});
