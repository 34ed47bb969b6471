import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApp, CreateAppOptions } from '../../apps/api/src/app';
import { AppConfig, loadConfig } from '../../libs/core/src/config/config';
import { QueryCounter } from '../../libs/core/src/database/data-source';
import { LiveRelayConsumer } from '../../libs/realtime/src/live-relay.consumer';
import { LIVE_PACE_SETTINGS, LiveGateway, LivePaceSettings } from '../../libs/realtime/src/live.gateway';
import { WATCHED_WORDS_SETTINGS, WatchedWordsSettings } from '../../libs/moderation/src/automod/watched-words';
import { createTestDatabase, TestDatabase } from '../setup/test-database';
import { testWatchedWords } from './watched-words';

export interface GqlResult<T = any> {
  status: number;
  data: T;
  errors?: Array<{ message: string; path?: string[]; extensions: { code: string; fields?: Array<{ field: string; message: string }>; retryAfterSeconds?: number; correlationId?: string; sanction?: Record<string, unknown>; appealToken?: string } }>;
  headers: Record<string, string | string[] | undefined>;
}

export interface GqlOptions {
  token?: string;
  cookie?: string;
  ip?: string;
}

export class TestApp {
  constructor(
    readonly app: INestApplication,
    readonly db: TestDatabase,
    readonly counter: QueryCounter,
    readonly config: AppConfig,
    /** A second node on another test app's database: closing it leaves the database. */
    private readonly ownsDatabase = true,
    /**
     * How this app tries watched words (WATCHED_WORDS_SETTINGS, its own object): saves try patterns untimed (UNTIMED_TRIES), no
     * matching hooks. A test may change it (the real budget, a hook) and puts it back.
     */
    readonly watchedWords: WatchedWordsSettings = testWatchedWords(),
    /**
     * The clock this app's live paces count their windows by (LIVE_PACE_SETTINGS, its own object): real time unless a test
     * stops it (`now`, put back after) so that what it sends falls in one window however slow the machine is.
     */
    readonly livePaces: LivePaceSettings = realTimePaces(),
  ) {}

  get http() {
    return this.app.getHttpServer();
  }
  get ds(): DataSource {
    return this.app.get(DataSource);
  }
  get<T>(type: new (...args: any[]) => T): T {
    return this.app.get(type);
  }

  /** Runs SQL against this test's database. */
  sql<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
    return this.ds.query(text, params);
  }

  async gql<T = any>(query: string, variables: Record<string, unknown> = {}, opts: GqlOptions = {}): Promise<GqlResult<T>> {
    let req = request(this.http).post('/graphql').set('content-type', 'application/json');
    if (opts.token) req = req.set('authorization', `Bearer ${opts.token}`);
    if (opts.cookie) req = req.set('cookie', opts.cookie);
    if (opts.ip) req = req.set('x-forwarded-for', opts.ip);
    const res = await req.send({ query, variables });
    return { status: res.status, data: res.body.data, errors: res.body.errors, headers: res.headers };
  }

  /**
   * Counts the SQL statements `fn` causes. The live fan-outs under way before it (a push of an
   * earlier reply, reading its post) finish first, and those `fn` sets off are waited for, so
   * a count never depends on when a push got round to its statements. The session sweep (a
   * timer, every SESSION_SWEEP_MS, one statement while a signed-in connection is open) is held
   * off meanwhile: nothing a count measures is its doing, and one that came round inside a count
   * made it one statement more, depending on how long the suite had run. The gateway's hold
   * nests (a count inside a count keeps it held until the outer one ends) and spies on nothing,
   * so a test's own spy on `closeExpired` is left as it was. The live relay's claims
   * (`LiveRelayConsumer`, three statements even with nothing waiting) are held to the pushes'
   * rule: one under way before the count finishes first, one set off inside is waited for. Every
   * node claims once as it starts, on its own time: a slow start's claim landed in a suite's
   * first counts (id-arguments, a malformed id's request against its session's).
   */
  async countStatements(fn: () => Promise<unknown>): Promise<{ count: number; statements: string[] }> {
    const live = this.get(LiveGateway);
    const relay = this.get(LiveRelayConsumer);
    // A claim publishes what it takes: its pushes are settled after it.
    const settled = async () => {
      await relay.idle();
      await live.settled();
    };
    await settled();
    const releaseSweep = live.holdSessionSweep();
    // A count inside another (or beside it) leaves it counting: the outer one's statements include
    // the inner one's, and the counter is reset by the first count only and stops with the last.
    if (this.counting++ === 0) {
      this.counter.reset();
      this.counter.recording = true;
    }
    const from = { count: this.counter.count, at: this.counter.statements.length };
    try {
      await fn();
      await settled();
      return { count: this.counter.count - from.count, statements: this.counter.statements.slice(from.at) };
    } finally {
      if (--this.counting === 0) this.counter.recording = false;
      releaseSweep();
    }
  }

  /** How many `countStatements` are under way. */
  private counting = 0;

  async close(): Promise<void> {
    await this.app.close();
    if (this.ownsDatabase) await this.db.drop();
  }
}

/** Live paces by real time, as in production, in an object of the app's own that a test may stop (`livePaces.now`). */
const realTimePaces = (): LivePaceSettings => ({ now: () => Date.now() });

/** A real API (real HTTP server, real PostgreSQL) on a database of its own. */
export async function bootTestApp(env: Record<string, string> = {}, logStream?: NodeJS.WritableStream, app: Pick<CreateAppOptions, 'healthDatabaseUrl'> = {}): Promise<TestApp> {
  return bootNode(await createTestDatabase(), env, logStream, true, app);
}

/** A real API on a database of its own that `prepare` changes first (database settings only new sessions see, say). */
export async function bootTestAppOn(prepare: (db: TestDatabase) => Promise<void>, env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  try {
    await prepare(db);
  } catch (err) {
    await db.drop();
    throw err;
  }
  return bootNode(db, env, undefined, true);
}

/** Another API process on the same database (for multi-node tests). */
export function bootSecondNode(first: TestApp, env: Record<string, string> = {}): Promise<TestApp> {
  return bootNode(first.db, env, undefined, false);
}

async function bootNode(db: TestDatabase, env: Record<string, string>, logStream: NodeJS.WritableStream | undefined, owns: boolean, opts: Pick<CreateAppOptions, 'healthDatabaseUrl'> = {}): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    LOG_REQUESTS: 'false',
    TRUST_PROXY: 'loopback',
    DATABASE_URL: db.url,
    DB_POOL_SIZE: '5',
    // Suites that post in bursts run without posting limits; the limits have their own suite.
    POSTING_LIMITS: 'false',
    ...env,
  });
  const counter = new QueryCounter();
  const watchedWords = testWatchedWords();
  const livePaces = realTimePaces();
  const settings = [
    { provide: WATCHED_WORDS_SETTINGS, useValue: watchedWords },
    { provide: LIVE_PACE_SETTINGS, useValue: livePaces },
  ];
  const app = await createApp(config, db.url, { counter, logStream, ...opts, settings });
  await app.listen(0, '127.0.0.1');
  return new TestApp(app, db, counter, config, owns, watchedWords, livePaces);
}

/** Asserts a GraphQL error code and returns the first error. */
export function expectError(res: GqlResult, code: string) {
  if (!res.errors?.length) throw new Error(`expected ${code}, got data ${JSON.stringify(res.data)}`);
  const err = res.errors[0];
  if (err.extensions.code !== code) throw new Error(`expected ${code}, got ${JSON.stringify(res.errors)}`);
  return err;
}

/** A root read answered as if the thing did not exist: NOT_FOUND, and null in the data. */
export function expectNotFound(res: GqlResult, field: string): void {
  expectError(res, 'NOT_FOUND');
  expect(res.data?.[field] ?? null).toBeNull();
}

export function expectOk<T>(res: GqlResult<T>): T {
  if (res.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}
