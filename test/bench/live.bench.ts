/**
 * `npm run bench:live`: Socket.IO fan-out under load.
 *
 * 5,000 concurrent clients on one API process, 1,000 of them in one topic (the rest
 * spread over other topics). A signed-in user posts replies to that topic; for each
 * reply we time, for every watcher, from sending the reply mutation to receiving
 * `post:created` (an upper bound on commit → receipt), and count lost events. Then the
 * same with two API processes sharing Redis (REDIS_URL, default redis://127.0.0.1:6379),
 * clients split between them and replies posted through the second node.
 *
 * Environment: DATABASE_URL (else an embedded PostgreSQL under .parvis/bench-live),
 * BENCH_CLIENTS (5000), BENCH_WATCHERS (1000), BENCH_REPLIES (20), REDIS_URL.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { io, Socket } from 'socket.io-client';
import { DatabaseHandle, startEmbeddedPostgres } from '../../libs/core/src/database/embedded';
import { migrateDatabase } from '../../libs/core/src/database/migrate';
import { freePort } from '../support/free-port';

const ROOT = path.resolve(__dirname, '../../..');
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 5000);
const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 1000);
const REPLIES = Number(process.env.BENCH_REPLIES ?? 20);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOPICS = 200;


const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return 0;
  }
};

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

async function seed(url: string): Promise<{ topics: string[]; token: string }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`TRUNCATE users, spaces CASCADE`);
    await c.query(`INSERT INTO users (id, email, handle, display_name, trust_level) VALUES (gen_random_uuid(), 'live@example.com', 'live_bench', 'Live Bench', 3)`);
    await c.query(`INSERT INTO spaces (id, slug, name, visibility) VALUES (gen_random_uuid(), 'live', 'Live', 'PUBLIC')`);
    await c.query(`INSERT INTO boards (id, space_id, kind, slug, name) SELECT gen_random_uuid(), id, 'FORUM', 'live', 'Live' FROM spaces`);
    await c.query(
      `WITH t AS (INSERT INTO topics (id, board_id, space_id, author_id, kind, title, last_post_number)
                  SELECT gen_random_uuid(), b.id, b.space_id, u.id, 'DISCUSSION', 'Live topic ' || i, 1
                    FROM generate_series(1, ${TOPICS}) i, boards b, users u RETURNING id, space_id, author_id)
       INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html)
       SELECT gen_random_uuid(), id, space_id, 1, author_id, 'start', '<p>start</p>' FROM t`,
    );
    const token = randomBytes(32).toString('base64url');
    await c.query(`INSERT INTO sessions (id, user_id, token_hash, expires_at) SELECT gen_random_uuid(), id, $1, now() + interval '1 day' FROM users`, [
      createHash('sha256').update(token).digest(),
    ]);
    const topics = (await c.query(`SELECT id FROM topics ORDER BY id`)).rows.map((r) => r.id as string);
    return { topics, token };
  } finally {
    await c.end();
  }
}

async function startApi(dbUrl: string, extra: Record<string, string> = {}): Promise<{ proc: ChildProcess; base: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist/apps/api/src/main.js')], {
    env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: dbUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', LOG_REQUESTS: 'false', MIGRATE_ON_START: 'false', WORKER_IN_PROCESS: 'false', POSTING_LIMITS: 'false', ...extra },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error('the API exited early');
    try {
      if ((await fetch(`${base}/health`)).ok) return { proc, base };
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the API did not become healthy');
}

async function connectAll(bases: string[], topics: string[], hot: string): Promise<{ sockets: Socket[]; watchers: Socket[] }> {
  const sockets: Socket[] = [];
  const watchers: Socket[] = [];
  for (let i = 0; i < CLIENTS; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, CLIENTS - i) }, (_, k) => {
        const n = i + k;
        return new Promise<Socket>((resolve, reject) => {
          const s = io(bases[n % bases.length], { path: '/socket.io', transports: ['websocket'], reconnection: false, forceNew: true });
          s.once('connect', () => resolve(s));
          s.once('connect_error', reject);
        }).then(async (s) => {
          const topicId = n < WATCHERS ? hot : topics[1 + (n % (topics.length - 1))];
          const ack = await s.timeout(10_000).emitWithAck('topic:join', { topicId });
          if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
          if (n < WATCHERS) watchers.push(s);
          return s;
        });
      }),
    );
    sockets.push(...batch);
  }
  return { sockets, watchers };
}

async function run(label: string, bases: string[], postVia: string, procs: ChildProcess[], topics: string[], token: string) {
  const hot = topics[0];
  const started = Date.now();
  const { sockets, watchers } = await connectAll(bases, topics, hot);
  const connectSeconds = (Date.now() - started) / 1000;
  const latencies: number[] = [];
  let lost = 0;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, ...procs.map((p) => rssMb(p.pid!)))), 200);
  for (let r = 0; r < REPLIES; r++) {
    const received = new Map<Socket, number>();
    const done = new Promise<void>((resolve) => {
      for (const w of watchers) {
        w.once('post:created', () => {
          received.set(w, performance.now());
          if (received.size === watchers.length) resolve();
        });
      }
      setTimeout(resolve, 5000);
    });
    const sentAt = performance.now();
    const res = await fetch(`${postVia}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `mutation($i: ReplyInput!) { replyToTopic(input: $i) { id } }`, variables: { i: { topicId: hot, body: `live reply ${r} ${label}` } } }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(`reply failed: ${JSON.stringify(body.errors)}`);
    await done;
    for (const w of watchers) {
      w.removeAllListeners('post:created');
      const at = received.get(w);
      if (at === undefined) lost++;
      else latencies.push(at - sentAt);
    }
    await new Promise((r2) => setTimeout(r2, 200));
  }
  clearInterval(sampler);
  for (const s of sockets) s.disconnect();
  latencies.sort((a, b) => a - b);
  return {
    setup: label,
    clients: sockets.length,
    watchers: watchers.length,
    replies: REPLIES,
    connectSeconds: Math.round(connectSeconds * 10) / 10,
    p50Ms: Math.round(pct(latencies, 50) * 10) / 10,
    p99Ms: Math.round(pct(latencies, 99) * 10) / 10,
    maxMs: Math.round(latencies[latencies.length - 1] * 10) / 10,
    lostEvents: lost,
    peakRssMb: Math.round(peak),
  };
}

async function main(): Promise<void> {
  const db: DatabaseHandle = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, owned: false, stop: async () => undefined }
    : await startEmbeddedPostgres({ dataDir: path.join(ROOT, '.parvis/bench-live'), port: 54340, database: 'parvis_live' });
  const procs: ChildProcess[] = [];
  try {
    await migrateDatabase(db.url);
    const { topics, token } = await seed(db.url);
    const results = [];
    const one = await startApi(db.url);
    procs.push(one.proc);
    console.log(`one node: ${CLIENTS} clients, ${WATCHERS} in one topic, ${REPLIES} replies`);
    results.push(await run('one node', [one.base], one.base, [one.proc], topics, token));
    await new Promise<void>((resolve) => {
      one.proc.once('exit', () => resolve());
      one.proc.kill('SIGTERM');
    });
    const prefix = `parvis-bench-${randomBytes(3).toString('hex')}`;
    try {
      const a = await startApi(db.url, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
      const b = await startApi(db.url, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
      procs.push(a.proc, b.proc);
      console.log('two nodes with Redis: clients split between them, replies posted through the second');
      results.push(await run('two nodes + Redis', [a.base, b.base], b.base, [a.proc, b.proc], topics, token));
    } catch (err) {
      console.log(`two nodes skipped: ${(err as Error).message} (is Redis at ${REDIS_URL}?)`);
    }
    console.table(results);
    const single = results[0];
    console.log(`${single.p99Ms <= 100 ? 'PASS' : 'FAIL'}  1,000-watcher fan-out p99 <= 100 ms on one node (measured ${single.p99Ms} ms)`);
    console.log(`${results.every((r) => r.lostEvents === 0) ? 'PASS' : 'FAIL'}  no lost events`);
    const out = { at: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, results };
    mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `live-${out.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(out, null, 2));
    console.log(`wrote ${path.relative(ROOT, file)}`);
  } finally {
    // Let the API processes stop before their database does.
    await Promise.all(
      procs.filter((p) => p.exitCode === null).map((p) => new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
        setTimeout(resolve, 5000);
      })),
    );
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
