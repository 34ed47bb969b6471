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
 * Environment: DATABASE_URL (else an embedded PostgreSQL under <PARVIS_DATA_DIR or
 * ./.parvis>/bench-live, port BENCH_PG_PORT, default 54340), BENCH_CLIENTS (5000),
 * BENCH_WATCHERS (1000), BENCH_REPLIES (20), REDIS_URL, BENCH_RESET=1 (with DATABASE_URL,
 * needed to wipe a database that holds something other than this benchmark's seed).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { io, Socket } from 'socket.io-client';
import { DatabaseHandle } from '../../libs/core/src/database/embedded';
import {
  ApiServer,
  BenchError,
  databaseState,
  envInt,
  insertBenchSession,
  machine,
  onInterrupt,
  openBenchDatabase,
  rssMb,
  runBench,
  seedFingerprint,
  seedOrReuse,
  withClient,
  writeResults,
} from './bench-support';

const CLIENTS = envInt('BENCH_CLIENTS', 5000, 1, 100_000);
const WATCHERS = Math.min(CLIENTS, envInt('BENCH_WATCHERS', 1000, 1, 100_000));
const REPLIES = envInt('BENCH_REPLIES', 20, 1, 10_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOPICS = 200;
const SEED_TABLE = 'bench_live_seed';
const FINGERPRINT = seedFingerprint(`live seed v1 topics=${TOPICS}`);

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

async function seed(c: Client): Promise<void> {
  await c.query(`CREATE TABLE ${SEED_TABLE} (key text PRIMARY KEY, value text NOT NULL)`);
  await c.query(`INSERT INTO ${SEED_TABLE} (key, value) VALUES ('fingerprint', $1), ('seeded_at', now()::text)`, [FINGERPRINT]);
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
}

/** A fresh session for the bench user (insertBenchSession), and the topics. */
async function prepare(c: Client): Promise<{ topics: string[]; token: string }> {
  const user = (await c.query(`SELECT id FROM users WHERE handle = 'live_bench'`)).rows[0] as { id: string } | undefined;
  if (!user) throw new BenchError('the seeded user (live_bench) is missing; run with BENCH_RESET=1');
  const token = await insertBenchSession(c, user.id);
  const topics = (await c.query(`SELECT id FROM topics ORDER BY id`)).rows.map((r) => r.id as string);
  return { topics, token };
}

/**
 * The API as the live bench runs it: replies come in bursts, so without posting limits. Every
 * bench client connects anonymously from this one machine, through a proxy it trusts (loopback)
 * that gives each an address of its own (`benchAddress`), as that many readers would come: the
 * per-address connection cap and room-op budget hold each as one reader.
 */
const startApi = (url: string, env: Record<string, string> = {}) => ApiServer.start(url, { POSTING_LIMITS: 'false', TRUST_PROXY: 'loopback', ...env });

/** The n-th bench client's address, as its proxy forwards it (10.0.0.0/8 holds 16M). */
const benchAddress = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

async function connectAll(bases: string[], topics: string[], hot: string): Promise<{ sockets: Socket[]; watchers: Socket[] }> {
  const sockets: Socket[] = [];
  const watchers: Socket[] = [];
  for (let i = 0; i < CLIENTS; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, CLIENTS - i) }, (_, k) => {
        const n = i + k;
        return new Promise<Socket>((resolve, reject) => {
          const s = io(bases[n % bases.length], {
            path: '/socket.io', transports: ['websocket'], extraHeaders: { 'x-forwarded-for': benchAddress(n) }, reconnection: false, forceNew: true,
          });
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

async function run(label: string, servers: ApiServer[], postVia: ApiServer, topics: string[], token: string) {
  const bases = servers.map((s) => s.base);
  const hot = topics[0];
  const started = Date.now();
  const { sockets, watchers } = await connectAll(bases, topics, hot);
  const connectSeconds = (Date.now() - started) / 1000;
  const latencies: number[] = [];
  let lost = 0;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, ...servers.map((s) => rssMb(s.pid) ?? 0))), 200);
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
    const res = await fetch(`${postVia.base}/graphql`, {
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

async function main(): Promise<number> {
  const startedAt = new Date();
  let db: DatabaseHandle | undefined;
  const servers: ApiServer[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      // Let the API processes stop before their database does.
      await Promise.all(servers.map((s) => s.stop()));
      if (db?.owned) await db.stop();
    })());
  // Before the embedded PostgreSQL adds its own signal hook, so the API processes stop first.
  onInterrupt(cleanup, () => servers.forEach((s) => s.terminate()));
  try {
    const opened = await openBenchDatabase('bench-live', 54340, 'parvis_live');
    db = opened.db;
    const state = await withClient(db.url, (c) => databaseState(c, SEED_TABLE, FINGERPRINT, () => true));
    await seedOrReuse(db.url, opened.embedded, state, {
      staleReason: 'the seed predates the current schema',
      seeding: `seeding ${TOPICS} topics`,
      seed: () => withClient(db!.url, seed),
    });
    const { topics, token } = await withClient(db.url, prepare);
    const results = [];
    // REDIS_URL configures the two-node run only: the one-node figures are without Redis.
    const one = await startApi(db.url, { REDIS_URL: '' });
    servers.push(one);
    console.log(`one node: ${CLIENTS} clients, ${WATCHERS} in one topic, ${REPLIES} replies`);
    results.push(await run('one node', [one], one, topics, token));
    await one.stop();
    const prefix = `parvis-bench-${randomBytes(3).toString('hex')}`;
    try {
      const a = await startApi(db.url, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
      servers.push(a);
      const b = await startApi(db.url, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
      servers.push(b);
      console.log('two nodes with Redis: clients split between them, replies posted through the second');
      results.push(await run('two nodes + Redis', [a, b], b, topics, token));
    } catch (err) {
      console.log(`two nodes skipped: ${(err as Error).message} (is Redis at ${REDIS_URL}?)`);
    }
    console.table(results);
    const single = results[0];
    console.log(`${single.p99Ms <= 100 ? 'PASS' : 'FAIL'}  1,000-watcher fan-out p99 <= 100 ms on one node (measured ${single.p99Ms} ms)`);
    console.log(`${results.every((r) => r.lostEvents === 0) ? 'PASS' : 'FAIL'}  no lost events`);
    writeResults('live', startedAt, { at: startedAt.toISOString(), machine: machine(), results });
    return 0;
  } finally {
    await cleanup();
  }
}

runBench(main);
