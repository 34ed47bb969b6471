/**
 * What every benchmark shares: its settings from the environment, the database it runs on
 * (DATABASE_URL or an embedded PostgreSQL of its own), the "is this our seed?" check that
 * keeps a benchmark from wiping somebody else's data, the API as a child process, clean-up
 * on Ctrl-C, and the table and results file at the end.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { DatabaseHandle, startEmbeddedPostgres } from '../../libs/core/src/database/embedded';
import { migrateDatabase } from '../../libs/core/src/database/migrate';
import { redacted } from '../../libs/core/src/log-redaction';
import { hashToken } from '../../libs/identity/src/sessions/sessions.service';
import { migrations } from '../../migrations';
import { freePort } from '../support/free-port';

/** Compiled to dist/test/bench/, so the repository root is three levels up. */
export const ROOT = path.resolve(__dirname, '../../..');
const RESULTS_DIR = path.join(ROOT, 'bench/results');
const SERVER_MAIN = path.join(ROOT, 'dist/apps/api/src/main.js');

/** A problem worth one line to the operator, not a stack trace. */
export class BenchError extends Error {}

export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new BenchError(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  return n;
}
export const envFlag = (name: string) => ['1', 'true', 'yes'].includes((process.env[name] ?? '').toLowerCase());

/** The topic page `npm run bench` measures (issue 2's target), and topic-page-cpu with it. */
export const TOPIC_PAGE_QUERY =
  'query($id: ID!) { topic(id: $id) { id title replyCount posts(first: 50) { edges { node { id number bodyHtml createdAt author { id handle displayName } reactions { kind count } myReactions } } } } }';

export const log = (m: string) => console.log(`bench: ${m}`);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------
// Interruption and exit
// ---------------------------------------------------------------------------

let interrupted = false;
/** True once SIGINT/SIGTERM arrived: long loops stop at their next step and report nothing. */
export const isInterrupted = () => interrupted;

/**
 * On SIGINT/SIGTERM: `stopNow` (synchronous: stop the load, signal child processes), then
 * `cleanup`, then exit 130. Call it before starting an embedded PostgreSQL, whose own exit
 * hook stops the server on a signal: ours must run first.
 */
export function onInterrupt(cleanup: () => Promise<void>, stopNow: () => void = () => undefined): void {
  process.once('exit', () => {
    if (interrupted) process.exitCode = 130;
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`bench: ${sig}, cleaning up`);
      interrupted = true;
      stopNow();
      // An API still starting too, which no bench holds yet (ApiServer.start has not returned): left, it outlived the bench.
      for (const server of apiServers) server.terminate();
      void cleanup()
        .catch((err) => console.error(`bench: the clean-up failed: ${messageOf(err)}`))
        .finally(() => process.exit(130));
    });
  }
}

/**
 * Runs a benchmark's main and exits with its code; a BenchError is one line, anything else a stack. Printed through
 * `redacted`: a failed statement's parameters, or DATABASE_URL's password in a message, are not.
 */
export function runBench(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      if (interrupted) process.exit(130);
      const shown = redacted(err);
      if (shown instanceof BenchError) console.error(`\nbench: error: ${shown.message}`);
      else console.error('\nbench: error:', shown);
      process.exit(1);
    },
  );
}

/** An error's message (or the value thrown), redacted: for a line about a clean-up that failed. */
const messageOf = (err: unknown): string => redacted(String((err as Error | undefined)?.message ?? err));

/**
 * `work`, then `cleanup` whatever happened. The first error wins: a clean-up that fails after `work` failed is printed
 * (redacted) and the error that ended the work is the one thrown, not hidden behind the clean-up's.
 */
export async function withCleanup<T>(work: () => Promise<T>, cleanup: () => Promise<void>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await cleanup().catch((cleanupErr) => console.error(`bench: the clean-up failed as well: ${messageOf(cleanupErr)}`));
    throw err;
  }
  await cleanup();
  return result;
}

// ---------------------------------------------------------------------------
// The database
// ---------------------------------------------------------------------------

/**
 * DATABASE_URL when set, otherwise an embedded PostgreSQL of this benchmark's own under
 * <PARVIS_DATA_DIR or ./.parvis>/<dirName>, on BENCH_PG_PORT (default `port`).
 */
export async function openBenchDatabase(dirName: string, port: number, database: string): Promise<{ db: DatabaseHandle; embedded: boolean }> {
  if (process.env.DATABASE_URL) {
    log('using DATABASE_URL');
    return { db: { url: process.env.DATABASE_URL, owned: false, stop: async () => undefined }, embedded: false };
  }
  const dataDir = path.join(path.resolve(process.env.PARVIS_DATA_DIR || './.parvis'), dirName);
  const pgPort = envInt('BENCH_PG_PORT', port, 1024, 65535);
  log(`starting the embedded PostgreSQL in ${dataDir} (port ${pgPort})`);
  const db = await startEmbeddedPostgres({
    dataDir,
    port: pgPort,
    database,
    sharedBuffers: process.env.EMBEDDED_PG_SHARED_BUFFERS,
    effectiveCacheSize: process.env.EMBEDDED_PG_EFFECTIVE_CACHE_SIZE,
    // Its own lines (the memory it was given among them), not the server's log.
    log: (m) => m.startsWith('embedded postgres:') && log(m),
  });
  if (!db.owned) log('joined an embedded PostgreSQL that was already running; it is left running');
  return { db, embedded: true };
}

/** How long the benches wait for a database connection (a pool's, or one opening) before they fail rather than hang. */
export const BENCH_POOL_WAIT_MS = 60_000;

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url, application_name: 'parvis-bench', connectionTimeoutMillis: BENCH_POOL_WAIT_MS });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * What `check` finds wrong with the data of `query` (with `{ id }`) posted to `base`'s /graphql as the bearer of `token`: the
 * failed request, an HTTP status other than 200, GraphQL errors or no data, each with the start of the response's body; null for
 * a real answer. The topic-page benches' one check of an answer (the load's first request, each of topic-page-cpu's).
 */
export async function graphqlProblem(
  base: string,
  token: string,
  query: string,
  id: string,
  check: (data: Record<string, any>) => string | null,
): Promise<string | null> {
  let status = 0;
  let text = '';
  try {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: graphqlBody(query, id),
      signal: AbortSignal.timeout(30_000),
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    return `the request failed: ${(err as Error).message}`;
  }
  let body: { data?: Record<string, any> | null; errors?: unknown[] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* reported below */
  }
  const problem =
    status !== 200
      ? `HTTP ${status}`
      : body.errors?.length
        ? 'the response has GraphQL errors'
        : !body.data
          ? 'the response has no data'
          : check(body.data);
  return problem ? `${problem}\n      response body: ${text.length > 3000 ? `${text.slice(0, 3000)}…` : text}` : null;
}

/** A GraphQL request's body: `query` with `{ id }`. */
export function graphqlBody(query: string, id: string): string {
  return JSON.stringify({ query, variables: { id } });
}

/** What makes an answer to TOPIC_PAGE_QUERY a real page, not an empty one (`graphqlProblem`'s check). */
export const topicPageProblem = (d: Record<string, any>): string | null =>
  !d.topic ? 'data.topic is null' : !(d.topic.posts?.edges?.length > 0) ? 'data.topic.posts.edges is empty' : null;

/**
 * A new session of `userId`'s, valid a day, as the API's sign-in makes one: a random token, of which only its hash is stored
 * (`hashToken`, SessionsService's own). `userAgent` marks the row, for a bench that deletes its sessions after. Returns the
 * token (`authorization: Bearer`).
 */
export async function insertBenchSession(c: Client, userId: string, userAgent: string | null = null): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await c.query(
    `INSERT INTO sessions (id, user_id, token_hash, expires_at, user_agent) VALUES (gen_random_uuid(), $1, $2, now() + interval '1 day', $3)`,
    [userId, hashToken(token), userAgent],
  );
  return token;
}

/** A hash of the seed's description and every migration's code: a reused seed must match both. */
export function seedFingerprint(description: string): string {
  const h = createHash('sha256');
  h.update(`${description}\n`);
  for (const m of migrations) h.update(`${m.name}\n${m.prototype.up.toString()}\n`);
  return h.digest('hex');
}

export type DbState = 'seeded' | 'empty' | 'stale' | 'foreign';

/**
 * What a benchmark database holds. A benchmark marks its seed with a key/value table
 * (`seedTable`): 'fingerprint' must match, a 'complete' row, when there is one, must say
 * 'yes', and `postsOk` must accept the post count. A database with users and no such table
 * is somebody else's.
 */
export async function databaseState(c: Client, seedTable: string, fingerprint: string, postsOk: (posts: number) => boolean): Promise<DbState> {
  const reg = async (t: string) => (await c.query(`SELECT to_regclass($1) AS r`, [t])).rows[0].r !== null;
  if (await reg(`public.${seedTable}`)) {
    const rows = (await c.query(`SELECT key, value FROM ${c.escapeIdentifier(seedTable)}`)).rows as Array<{ key: string; value: string }>;
    const value = (k: string) => rows.find((r) => r.key === k)?.value;
    if (value('fingerprint') !== fingerprint || (value('complete') ?? 'yes') !== 'yes' || !(await reg('public.posts'))) return 'stale';
    const posts = (await c.query(`SELECT count(*)::int AS n FROM posts`)).rows[0].n as number;
    return postsOk(posts) ? 'seeded' : 'stale';
  }
  if (!(await reg('public.users'))) {
    const tables = (await c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n as number;
    return tables === 0 ? 'empty' : 'foreign';
  }
  const users = (await c.query(`SELECT count(*)::int AS n FROM users`)).rows[0].n as number;
  return users === 0 ? 'empty' : 'foreign';
}

/**
 * Reuses a current seed (unless BENCH_RESET), or wipes the public schema, migrates and
 * calls `seed`. Refuses to wipe a DATABASE_URL that holds somebody else's data unless
 * BENCH_RESET says so.
 */
export async function seedOrReuse(
  url: string,
  embedded: boolean,
  state: DbState,
  opts: { staleReason: string; seeding: string; seed: () => Promise<void>; keepOnly?: string },
): Promise<{ reused: boolean; seedSeconds: number | null }> {
  const reset = envFlag('BENCH_RESET');
  if (state === 'seeded' && !reset) {
    log('reusing the existing seed (same schema, size and seed version); BENCH_RESET=1 rebuilds it');
    await migrateDatabase(url);
    return { reused: true, seedSeconds: null };
  }
  // Asked to reuse what is there (`keepOnly` names the setting that asks): a stale seed is
  // refused rather than wiped, so a rerun from an older build never costs a seed that took long.
  if (opts.keepOnly && state === 'stale' && !reset) {
    throw new BenchError(`${opts.keepOnly} asks to reuse the seed, but ${opts.staleReason}: run without it to seed again, or with BENCH_RESET=1`);
  }
  if (state === 'foreign' && !embedded && !reset) {
    throw new BenchError(
      "DATABASE_URL points at a database that holds data other than this benchmark's seed. " +
        "Point it at an empty database, or set BENCH_RESET=1 to wipe that database's public schema.",
    );
  }
  if (state !== 'empty') {
    log(`resetting the database schema (${state === 'stale' ? opts.staleReason : reset ? 'BENCH_RESET' : 'unknown contents'})`);
    await withClient(url, async (c) => {
      await c.query(`DROP SCHEMA public CASCADE`);
      await c.query(`CREATE SCHEMA public`);
    });
  }
  await migrateDatabase(url);
  log(opts.seeding);
  const t0 = Date.now();
  await opts.seed();
  const seedSeconds = round((Date.now() - t0) / 1000);
  log(`seeded in ${seedSeconds} s`);
  return { reused: false, seedSeconds };
}

// ---------------------------------------------------------------------------
// The API as a child process
// ---------------------------------------------------------------------------

/** The resident set size of a process in MB (Linux), or null where /proc is not there. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * The CPU time a process has used, in ms (Linux), user and system apart, or null where /proc
 * is not there. /proc counts clock ticks, 100 a second on Linux (USER_HZ).
 */
export function cpuTimes(pid: number): { userMs: number; systemMs: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count from the ')' that ends it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userMs: Number(fields[11]) * 10, systemMs: Number(fields[12]) * 10 };
  } catch {
    return null;
  }
}

/** The CPU time (user + system) a process has used, in ms (`cpuTimes`), or null. */
export function cpuMs(pid: number): number | null {
  const t = cpuTimes(pid);
  return t && t.userMs + t.systemMs;
}

/**
 * A process and its descendants (the API's workers with `API_WORKERS`), read from /proc's children lists; `[pid]` alone
 * where /proc does not say.
 */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
        pids.push(...readFileSync(`/proc/${pids[i]}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      }
    } catch {
      // Gone, or no /proc: what was read stands.
    }
  }
  return pids;
}

/** `measure` summed over a process and its descendants alive now (processTree), or null where the process itself says nothing. */
export function overTree(pid: number, measure: (pid: number) => number | null): number | null {
  const [own, ...others] = processTree(pid).map(measure);
  return own === null ? null : others.reduce<number>((sum, v) => sum + (v ?? 0), own);
}

/**
 * The node options the API child starts with: `BENCH_CPU_PROF=<dir>` runs it under
 * `--cpu-prof`, which writes a `.cpuprofile` of the whole run into that directory when the
 * server shuts down (open it in Chrome DevTools' Performance panel).
 */
function apiNodeOptions(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : [];
}

/** Every API child process started and not exited yet, those still starting included (terminated on an interrupt, `onInterrupt`). */
const apiServers = new Set<ApiServer>();

/** `npm start`'s server in production mode on a free port, with its output prefixed `[api]`. */
export class ApiServer {
  readonly exited: Promise<number | null>;
  /** Set once we stop it: what it logs while shutting down under load is noise. */
  private quiet = false;

  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
    echo: (line: string) => boolean = () => true,
  ) {
    // `echo` is asked about whole lines: a chunk may end inside one, whose start waits for its end (or the stream's).
    const keep = (stream: NodeJS.WriteStream) => {
      let partial = '';
      const write = (lines: string[]) => {
        const shown = lines.filter((line) => echo(line.replace(/\n$/, '')));
        if (shown.length > 0 && !this.quiet) stream.write(shown.join('').replace(/^(?=.)/gm, '[api] '));
      };
      return {
        data: (chunk: Buffer) => {
          const lines = (partial + chunk.toString()).split(/(?<=\n)/);
          partial = lines[lines.length - 1].endsWith('\n') ? '' : lines.pop()!;
          write(lines);
        },
        end: () => {
          if (partial) write([`${partial}\n`]);
          partial = '';
        },
      };
    };
    const out = keep(process.stdout);
    const err = keep(process.stderr);
    child.stdout?.on('data', out.data).on('end', out.end);
    child.stderr?.on('data', err.data).on('end', err.end);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    apiServers.add(this);
    void this.exited.then(() => apiServers.delete(this));
  }

  get pid(): number {
    return this.child.pid!;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts it without migrating or running the outbox worker, and waits until GET /health answers 200.
   * `nodeArgs` go to node before the script; `echo` says which of its output lines are printed.
   */
  static async start(
    url: string,
    env: Record<string, string> = {},
    opts: { nodeArgs?: string[]; echo?: (line: string) => boolean } = {},
  ): Promise<ApiServer> {
    if (!existsSync(SERVER_MAIN)) throw new BenchError(`${SERVER_MAIN} does not exist: run the build first (npm run bench does)`);
    const port = await freePort();
    const child = spawn(process.execPath, [...apiNodeOptions(), ...(opts.nodeArgs ?? []), SERVER_MAIN], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: url,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        LOG_REQUESTS: 'false',
        MIGRATE_ON_START: 'false',
        WORKER_IN_PROCESS: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ApiServer(child, `http://127.0.0.1:${port}`, opts.echo);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!server.running) {
        throw new BenchError(`the API exited during start-up (code ${child.exitCode ?? child.signalCode}); its output is above`);
      }
      try {
        const res = await fetch(`${server.base}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return server;
      } catch {
        /* not listening yet */
      }
      await sleep(200);
    }
    await server.stop();
    throw new BenchError('the API did not answer GET /health with 200 within 60 s');
  }

  /** Asks it to shut down (synchronous, so a signal handler can call it first thing). */
  terminate(): void {
    this.quiet = true;
    if (this.running) this.child.kill('SIGTERM');
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.terminate();
    const done = await Promise.race([this.exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done && this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

/** A plain text table: the first row is the header, the first column left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The machine a result was measured on. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** Writes bench/results/<name>-<ISO time>.json. */
export function writeResults(name: string, startedAt: Date, report: unknown): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}-${startedAt.toISOString().replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), file)}`);
}
