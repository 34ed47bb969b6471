import { randomBytes } from 'node:crypto';
import { AddressInfo, connect, createServer, NetConnectOpts, Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource, QueryRunner } from 'typeorm';
import { dataSourceOptions } from '../../libs/core/src/database/data-source';
import { HEALTH_APPLICATION_NAME, HEALTH_CONNECT_MS, HEALTH_DOWN_REMINDER_MS, HEALTH_REASON_CHANGES_MAX, HealthDatabase } from '../../libs/core/src/http/health-database';
import { adminUrl } from '../setup/test-database';
import { logSink } from '../support/log-sink';
import { pollFor } from '../support/lock-waits';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

describe('API basics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('reports the database state on /health', async () => {
    const res = await request(t.http).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.database.status).toBe('up');
  });

  it('opens /health\'s own connection as the API opens its pool: TLS asked in the address (sslmode) is asked there too', async () => {
    const like = (url: string) => HealthDatabase.like(new DataSource(dataSourceOptions({ url })));
    const plain = like(t.db.url);
    const tls = like(`${t.db.url}${t.db.url.includes('?') ? '&' : '?'}sslmode=no-verify`);
    try {
      expect(await plain.answers()).toBe(true);
      // Whether the server takes TLS on the address's transport (never on a Unix socket).
      const [{ takes }] = await t.sql(`SELECT current_setting('ssl') = 'on' AND inet_server_addr() IS NOT NULL AS takes`);
      if (takes) {
        expect(await tls.answers()).toBe(true);
        const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE application_name = $1 AND datname = current_database() AND ssl`, [HEALTH_APPLICATION_NAME]);
        expect(n).toBe(1);
      } else {
        // This server takes no TLS: a connection that asks for it is refused, as the API's pool would be.
        expect(await tls.answers()).toBe(false);
      }
    } finally {
      await plain.onApplicationShutdown();
      await tls.onApplicationShutdown();
    }
  });

  it('sends GraphQL answers without an ETag or x-powered-by (nobody revalidates a POST)', async () => {
    const res = await t.gql('{ __typename }');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('answers BAD_USER_INPUT to a malformed query, without internals', async () => {
    const res = await t.gql('{ nope ');
    const err = expectError(res, 'BAD_USER_INPUT');
    expect(JSON.stringify(err)).not.toMatch(/stack|node_modules/);
  });
});

/**
 * A TCP server that takes connections and never says a word: a database that does not answer.
 * What reaches it is kept, so a test can see that /health's connection came, and then ended.
 */
async function silentServer(): Promise<{ url: string; password: string; sockets: Set<Socket>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Reads (and drops) what comes: a paused socket would never see the client's end.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // With a password, as a production address has: what /health logs of its failures must not show it.
  const password = `secret-${randomBytes(8).toString('hex')}`;
  return {
    url: `postgres://parvis:${password}@127.0.0.1:${port}/parvis`,
    password,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP relay to the test server's PostgreSQL that holds the server's answers while the test says
 * so: after `hold()` what the server sends waits in the relay until `release()`, while what the
 * client sends still reaches the server. A database as slow as a test needs, with no clock
 * involved. `url` is the admin database's address through it; `connections` counts the connections it took.
 * After `refuse(code, message)` a new connection is answered as a server refusing it answers (an
 * ErrorResponse with that SQLSTATE, then the end) and never reaches the server, until `refuse()`:
 * a reason for `down` other than a timeout (a wrong password, 28P01; a server starting, 57P03).
 */
async function holdingRelay(): Promise<{ url: string; connections(): number; hold(): void; release(): void; refuse(code?: string, message?: string): void; close(): Promise<void> }> {
  const target = new URL(adminUrl());
  const socketDir = target.searchParams.get('host');
  // The embedded server's address names its socket and port as parameters (`?host=…&port=…`), DATABASE_URL its port in the authority.
  const port = Number(target.port || target.searchParams.get('port') || 5432);
  const upstream: NetConnectOpts = socketDir?.startsWith('/') ? { path: `${socketDir}/.s.PGSQL.${port}` } : { host: socketDir ?? target.hostname, port };
  const sockets = new Set<Socket>();
  // The server's answers held back, in the order it sent them; undefined when none is held.
  let held: (() => void)[] | undefined;
  let connections = 0;
  // The refusal a new connection is answered with; undefined while connections reach the server.
  let refusal: Buffer | undefined;
  const server = createServer((client) => {
    connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client)).on('error', () => client.destroy());
    if (refusal) {
      const answer = refusal;
      // After the client's first message (its startup), as the server answers it.
      client.once('data', () => client.end(answer));
      return;
    }
    const db = connect(upstream);
    client.pipe(db);
    db.on('data', (chunk: Buffer) => {
      const deliver = () => client.writable && client.write(chunk);
      if (held) held.push(deliver);
      else deliver();
    });
    const end = () => {
      client.destroy();
      db.destroy();
    };
    for (const s of [client, db]) {
      sockets.add(s);
      s.on('close', () => (sockets.delete(s), end())).on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(adminUrl());
  // Both parameters go: left in, `port` would send the client straight to the server, past the relay.
  url.searchParams.delete('host');
  url.searchParams.delete('port');
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    connections: () => connections,
    hold: () => (held ??= []),
    release: () => {
      const answers = held ?? [];
      held = undefined;
      for (const deliver of answers) deliver();
    },
    refuse: (code?: string, message?: string) => (refusal = code === undefined ? undefined : errorResponse(code, message ?? code)),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server's FATAL ErrorResponse (protocol 3.0: 'E', its length, then fields each a type byte and a C string, then a zero). */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head.write('E');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/**
 * /health asks the database on a connection of its own (HealthDatabase), and the API's pool for
 * one of its connections, each within a bound: `down` when the database did not answer on its
 * connection, `busy` when it did but the pool handed none out. Every wait below ends at a bound
 * (or at once), whatever the machine's speed; nothing is timed.
 */
describe('/health (its own connection, and the API pool)', () => {
  describe('on the API database, the pool of two held by the test', () => {
    let t: TestApp;
    const held: QueryRunner[] = [];
    beforeAll(async () => {
      t = await bootTestApp({ DB_POOL_SIZE: '2', DB_CONNECTION_TIMEOUT_MS: '600000' });
    });
    afterEach(async () => {
      for (const r of held.splice(0)) await r.release();
    });
    afterAll(() => t.close());

    it('answers up (200) with a latency', async () => {
      const res = await request(t.http).get('/health').expect(200);
      expect(res.body).toEqual({ status: 'ok', database: { status: 'up', latencyMs: expect.any(Number) } });
    });

    it('answers busy (503) while every pool connection is held, and up once one is free', async () => {
      for (let i = 0; i < 2; i++) {
        const r = t.ds.createQueryRunner();
        await r.connect();
        held.push(r);
      }
      const busy = await request(t.http).get('/health');
      expect(busy.status).toBe(503);
      expect(busy.body).toEqual({ status: 'error', database: { status: 'busy' } });
      // A second check while the first's wait is still queued in the pool: busy again.
      expect((await request(t.http).get('/health')).body).toEqual({ status: 'error', database: { status: 'busy' } });
      await held.pop()!.release();
      expect((await request(t.http).get('/health').expect(200)).body.database.status).toBe('up');
      // The wait the first check gave up on was handed the freed connection, and gave it back: it
      // serves a request (statements would wait ten minutes for one, past jest's timeout).
      expect(expectOk(await t.gql('{ spaces { id } }')).spaces).toEqual([]);
    });
  });

  describe('its own connection pointed at a server that never answers', () => {
    let t: TestApp;
    let silent: Awaited<ReturnType<typeof silentServer>>;
    let held: QueryRunner | undefined;
    const { lines, sink } = logSink();
    beforeAll(async () => {
      silent = await silentServer();
      t = await bootTestApp({ DB_POOL_SIZE: '1', DB_CONNECTION_TIMEOUT_MS: '600000', LOG_LEVEL: 'warn' }, sink, { healthDatabaseUrl: silent.url });
    });
    afterEach(async () => {
      await held?.release();
      held = undefined;
    });
    afterAll(async () => {
      await t.close();
      await silent.close();
    });

    it('answers down (503) once its bound passes, the API pool free', async () => {
      const res = await request(t.http).get('/health');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'error', database: { status: 'down' } });
      // It did try: its connection reached the server, and was given up at the bound.
      await pollFor(async () => (silent.sockets.size === 0 ? true : undefined), 'the health connection to be ended');
      // The API itself still serves.
      expect(expectOk(await t.gql('{ spaces { id } }')).spaces).toEqual([]);
    });

    it('logs why it answered down (the connection error\'s message) once, not at every check while it stays down, and neither the password nor the connection string that holds it', async () => {
      // Two checks here (and the test before's): the first found it down, and its warning is the one; later checks, the database still down, add none.
      for (let i = 0; i < 2; i++) expect((await request(t.http).get('/health')).body).toEqual({ status: 'error', database: { status: 'down' } });
      const downs = lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 40 && /health/i.test(l.msg));
      expect(downs).toEqual([expect.objectContaining({ reason: { message: expect.stringMatching(/timeout/) }, msg: 'health check: the database is down (opening its connection failed)' })]);
      for (const line of lines) {
        expect(line).not.toContain(silent.password);
        expect(line).not.toContain(silent.url);
      }
    });

    it('answers down, not busy, when the pool is held too: a database that does not answer is down', async () => {
      held = t.ds.createQueryRunner();
      await held.connect();
      const res = await request(t.http).get('/health');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'error', database: { status: 'down' } });
    });
  });

  describe('its own connection to a server whose answers the test holds', () => {
    let relay: Awaited<ReturnType<typeof holdingRelay>>;
    const dbs: HealthDatabase[] = [];
    /** A HealthDatabase through the relay, its connection opened (by a check): what is held next is a statement's answer. */
    const opened = async (bounds?: ConstructorParameters<typeof HealthDatabase>[1]) => {
      const db = new HealthDatabase({ connectionString: relay.url }, bounds);
      dbs.push(db);
      const before = relay.connections();
      expect(await db.answers()).toBe(true);
      // Through the relay, or nothing the test holds reaches it.
      expect(relay.connections()).toBe(before + 1);
      return db;
    };
    /**
     * The log's warnings and info lines spied on, and a HealthDatabase through the relay (opened) on a clock its log lines
     * count by, `clock.ms` (the monotonic clock, performance.now, held still as jobs e2e does), which the test moves as the
     * image's checks (every 10 s) would: no waiting.
     */
    const onTestClock = async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const info = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const clock = { ms: 0 };
      jest.spyOn(performance, 'now').mockImplementation(() => clock.ms);
      const db = await opened();
      return { warn, info, clock, db };
    };
    /** A flap: down at one check, up at the next (10 s on); the connection is fresh each time, so what is held is its statement's answer. */
    const flapping = (db: HealthDatabase, clock: { ms: number }) => async () => {
      relay.hold();
      expect(await db.answers()).toBe(false);
      clock.ms += 10_000;
      relay.release();
      expect(await db.answers()).toBe(true);
      clock.ms += 10_000;
    };
    const timedOut = { reason: { message: expect.stringMatching(/timeout/i) } };
    const down = 'health check: the database is down (its statement failed)';
    beforeAll(async () => {
      relay = await holdingRelay();
    });
    afterEach(async () => {
      relay.release();
      relay.refuse();
      for (const db of dbs.splice(0)) await db.onApplicationShutdown();
      jest.restoreAllMocks();
    });
    afterAll(() => relay.close());

    it('answers up to two checks at once, the second sharing the first\'s (it waited in the pool for the one connection past its bound, and read down)', async () => {
      // The statement's bound out of reach, so that only the connection's (the pool's wait) can pass while the answer is held.
      const bounds = { connectMs: HEALTH_CONNECT_MS, statementMs: 10 * 60_000 };
      const db = await opened(bounds);
      relay.hold();
      const both = Promise.all([db.answers(), db.answers()]);
      // Longer than the connection's bound, whatever the machine's speed: a timer of the same length made after any
      // the second check made (the pool's wait, had it queued there) fires after it. Ordering, not timing.
      await new Promise((resolve) => setTimeout(resolve, bounds.connectMs));
      relay.release();
      expect(await both).toEqual([true, true]);
    });

    it('answers down when its statement is not answered within its bound, logs why, and opens another connection for the next check', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const db = await opened();
      const before = relay.connections();
      relay.hold();
      // The answer never comes before the statement's bound.
      expect(await db.answers()).toBe(false);
      expect(warn.mock.calls).toEqual([[{ reason: { message: expect.stringMatching(/timeout/i) } }, 'health check: the database is down (its statement failed)']]);
      relay.release();
      // That connection's state was unknown, so it went; the next check opens its own and is answered.
      expect(await db.answers()).toBe(true);
      expect(relay.connections()).toBe(before + 1);
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('logs a database that stays down once, not at every check; a reminder every HEALTH_DOWN_REMINDER_MS (its checks meanwhile not counted as unlogged: the warning told of them); and its recovery, with how long it was down', async () => {
      const { warn, info, clock, db } = await onTestClock();
      relay.hold();
      // Down: its statement's answer held, then each new connection's opening (the server's greeting held).
      const downFor = async (checks: number) => {
        for (let i = 0; i < checks; i++) {
          expect(await db.answers()).toBe(false);
          clock.ms += 10_000;
        }
      };
      await downFor(3);
      expect(warn.mock.calls).toEqual([[{ reason: { message: expect.stringMatching(/timeout/i) } }, 'health check: the database is down (its statement failed)']]);
      // Five minutes after that warning, one reminder, and none at the checks after it.
      clock.ms = HEALTH_DOWN_REMINDER_MS;
      await downFor(2);
      // Until 2026-12-06 it counted that outage's two checks after the warning as `not logged`, though the warning told of them.
      expect(warn.mock.calls.slice(1)).toEqual([
        [
          { reason: { message: expect.stringMatching(/timeout/i) }, downForMs: HEALTH_DOWN_REMINDER_MS },
          'health check: the database is still down (opening its connection failed), for 5 min 0 s',
        ],
      ]);
      expect(info).not.toHaveBeenCalled();
      relay.release();
      expect(await db.answers()).toBe(true);
      expect(await db.answers()).toBe(true);
      expect(info.mock.calls).toEqual([[{ downForMs: HEALTH_DOWN_REMINDER_MS + 20_000 }, 'health check: the database is up again, after 5 min 20 s down']]);
      expect(warn).toHaveBeenCalledTimes(2);
    });

    it('logs a database that flaps (down at one check, up at the next) once per HEALTH_DOWN_REMINDER_MS: the outages after the warning are counted, their recoveries not logged, and the next warning says how many', async () => {
      const { warn, info, clock, db } = await onTestClock();
      const flap = flapping(db, clock);
      for (let i = 0; i < 5; i++) await flap();
      // The first outage is announced, and so is its end; the four after it, within five minutes of that warning, are not.
      expect(warn.mock.calls).toEqual([[timedOut, down]]);
      expect(info.mock.calls).toEqual([[{ downForMs: 10_000 }, 'health check: the database is up again, after 10 s down']]);
      // A sixth outage, unannounced, lasts until five minutes after the warning: that check warns, with what went unlogged.
      relay.hold();
      expect(await db.answers()).toBe(false);
      clock.ms = HEALTH_DOWN_REMINDER_MS;
      expect(await db.answers()).toBe(false);
      expect(warn.mock.calls.slice(1)).toEqual([
        [
          { reason: { message: expect.stringMatching(/timeout/i) }, downForMs: HEALTH_DOWN_REMINDER_MS - 100_000, unlogged: { outages: 4, checks: 5 } },
          'health check: the database is down (opening its connection failed), for 3 min 20 s; not logged since the last warning: 4 outages (5 failed checks)',
        ],
      ]);
      // Announced, its end is logged.
      relay.release();
      clock.ms += 10_000;
      expect(await db.answers()).toBe(true);
      expect(info.mock.calls.slice(1)).toEqual([[{ downForMs: HEALTH_DOWN_REMINDER_MS - 90_000 }, 'health check: the database is up again, after 3 min 30 s down']]);
      expect(warn).toHaveBeenCalledTimes(2);
    });

    it('says what went unlogged once things settle: at the first check that finds it up HEALTH_DOWN_REMINDER_MS after the warning, or at shutdown before then', async () => {
      const { warn, info, clock, db } = await onTestClock();
      const upAgain = [{ downForMs: 10_000 }, 'health check: the database is up again, after 10 s down'];
      const flap = flapping(db, clock);
      // Three flaps: the first announced, the two after it counted.
      for (let i = 0; i < 3; i++) await flap();
      expect(warn.mock.calls).toEqual([[timedOut, down]]);
      expect(info.mock.calls).toEqual([upAgain]);
      // Up from then on: nothing until five minutes after the warning (until 2026-12-06, nothing ever: only a next warning told).
      while (clock.ms < HEALTH_DOWN_REMINDER_MS) {
        expect(await db.answers()).toBe(true);
        clock.ms += 10_000;
      }
      expect(info.mock.calls).toEqual([upAgain]);
      expect(await db.answers()).toBe(true);
      expect(info.mock.calls.slice(1)).toEqual([
        [{ unlogged: { outages: 2, checks: 2 } }, 'health check: the database is up; not logged since the last warning: 2 outages (2 failed checks)'],
      ]);
      // Told once: the checks after it log nothing, and the next outage is warned of with nothing left to count.
      expect(await db.answers()).toBe(true);
      expect(info).toHaveBeenCalledTimes(2);
      await flap();
      expect(warn.mock.calls.slice(1)).toEqual([[timedOut, down]]);
      // Shut down within five minutes of that warning, a flap counted meanwhile: shutdown says so.
      await flap();
      expect(info).toHaveBeenCalledTimes(3);
      dbs.splice(dbs.indexOf(db), 1);
      await db.onApplicationShutdown();
      expect(info.mock.calls.slice(3)).toEqual([
        [{ unlogged: { outages: 1, checks: 1 } }, 'health check: shutting down; not logged since the last warning: 1 outage (1 failed check)'],
      ]);
      expect(warn).toHaveBeenCalledTimes(2);
    });

    it('logs a change of the reason it is down when it happens: once a reason since the last warning, in an outage announced or not, at most HEALTH_REASON_CHANGES_MAX', async () => {
      const { warn, info, clock, db } = await onTestClock();
      const check = async (up: boolean) => {
        expect(await db.answers()).toBe(up);
        clock.ms += 10_000;
      };
      // A refusal is seen on a new connection only: one left idle by a check that found it up would answer. A check
      // whose answer is held (a timeout) ends its connection first.
      const refused = async (reason: { code: string; message: string }) => {
        relay.release();
        relay.refuse(reason.code, reason.message);
        await check(false);
      };
      const timedOut = { message: expect.stringMatching(/timeout/i) };
      const anotherReason = 'health check: the database is down for another reason (opening its connection failed)';
      const password = { code: '28P01', message: 'password authentication failed for user "parvis"' };
      // Not answered (a timeout, of its statement and then of an opening: one reason, whichever the step), then refused for its password.
      relay.hold();
      await check(false);
      await check(false);
      await refused(password);
      await check(false);
      expect(warn.mock.calls).toEqual([
        [{ reason: timedOut }, 'health check: the database is down (its statement failed)'],
        [{ reason: password, lastLoggedReason: timedOut }, anotherReason],
      ]);
      // Back to a timeout, then the password again: both were logged since the warning, so neither is again.
      relay.refuse();
      relay.hold();
      await check(false);
      await refused(password);
      expect(warn).toHaveBeenCalledTimes(2);
      // Up (that outage was announced: its end is logged), then down again within five minutes of the warning for a reason
      // already logged, and up: a flap, neither logged.
      relay.refuse();
      await check(true);
      expect(info).toHaveBeenCalledTimes(1);
      relay.hold();
      await check(false);
      relay.release();
      await check(true);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(info).toHaveBeenCalledTimes(1);
      // Down again, unannounced (a timeout), then for a reason new since the warning: logged, which announces that outage.
      const reasons = Array.from({ length: HEALTH_REASON_CHANGES_MAX }, (_, i) => ({ code: `57P0${i}`, message: `refused ${i}` }));
      relay.hold();
      await check(false); // at 90 s
      await refused(reasons[0]);
      expect(warn.mock.calls.slice(2)).toEqual([[{ reason: reasons[0], lastLoggedReason: password }, anotherReason]]);
      // Bounded: the password's was the first change since the warning; past HEALTH_REASON_CHANGES_MAX, a new reason waits for the reminder.
      for (const r of reasons.slice(1)) await refused(r);
      expect(warn.mock.calls.slice(3)).toEqual(reasons.slice(1, -1).map((r, i) => [{ reason: r, lastLoggedReason: reasons[i] }, anotherReason]));
      expect(warn).toHaveBeenCalledTimes(1 + HEALTH_REASON_CHANGES_MAX);
      clock.ms = HEALTH_DOWN_REMINDER_MS;
      await check(false);
      const last = reasons[reasons.length - 1];
      // Not logged: the flap's check (one outage), the timeout that began this outage before it was announced, and the
      // reason past the bound. Not the first outage's checks after the warning (it told of them; until 2026-12-06 they
      // were counted too, 7 checks), nor this one's after its announcement but for that reason.
      expect(warn.mock.calls.slice(1 + HEALTH_REASON_CHANGES_MAX)).toEqual([
        [
          { reason: last, downForMs: HEALTH_DOWN_REMINDER_MS - 90_000, unlogged: { outages: 1, checks: 3 } },
          'health check: the database is still down (opening its connection failed), for 3 min 30 s; not logged since the last warning: 1 outage (3 failed checks)',
        ],
      ]);
      relay.refuse();
      await check(true);
      expect(info).toHaveBeenCalledTimes(2);
    });

    it('after shutdown, answers down without asking, and logs that, not a database down', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const info = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const db = await opened();
      dbs.splice(dbs.indexOf(db), 1);
      await db.onApplicationShutdown();
      expect(await db.answers()).toBe(false);
      expect(warn).not.toHaveBeenCalled();
      expect(info.mock.calls).toEqual([["health check after shutdown began: the database was not asked (the check's connection is closed)"]]);
    });
  });

  it('closes its connection when the API shuts down', async () => {
    const t = await bootTestApp();
    try {
      await request(t.http).get('/health').expect(200);
      const health = async () => (await t.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [HEALTH_APPLICATION_NAME]))[0].n;
      expect(await health()).toBe(1);
      await t.app.close();
      const c = new Client({ connectionString: t.db.url });
      await c.connect();
      try {
        const left = () => c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [HEALTH_APPLICATION_NAME]).then((r) => r.rows[0].n as number);
        await pollFor(async () => ((await left()) === 0 ? true : undefined), 'the health connection to be closed');
      } finally {
        await c.end();
      }
    } finally {
      await t.db.drop();
    }
  });
});
