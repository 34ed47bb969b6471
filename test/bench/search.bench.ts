/**
 * `npm run bench:search`: the PostgreSQL search engine at scale.
 *
 * 1. Database: DATABASE_URL when set, otherwise the embedded PostgreSQL under
 *    <PARVIS_DATA_DIR or ./.parvis>/bench-search (port 54341, database parvis_bench_search).
 * 2. Seeds it (or reuses an earlier seed of the same schema, size and seed version) with
 *    BENCH_DOCS contributions (default 1,000,000) as real forum rows: 200 placeholder users,
 *    4 spaces (PUBLIC "quantum" and "brewing" in English, PUBLIC "francais" in French, and a
 *    RESTRICTED "internal" one the bench viewer cannot read), 2 boards each, topics of 10
 *    posts. The text is imported text repeated and varied: see GENERATION below.
 * 3. Indexing: empties search_documents and search_terms, runs the real rebuild path
 *    (SearchAdmin.rebuild with the PostgreSQL engine) over the first BENCH_SEQUENTIAL_DOCS
 *    posts, empties the index again and indexes every post with BENCH_INDEX_CONCURRENCY
 *    workers over disjoint id ranges (SearchDocuments.load + PostgresSearchEngine.upsert in
 *    id-ordered batches of 500, as rebuild does), then VACUUM (ANALYZE) of the documents, the
 *    vocabulary and the lexeme counts (search_lexeme_counts, search_space_documents).
 * 4. Search latency: common words, rare words, typos and search-as-you-type prefixes (25%
 *    each, built from the generated text's word frequencies), BENCH_CLIENTS closed-loop
 *    clients calling PostgresSearchEngine.search with facets for BENCH_DURATION seconds after
 *    BENCH_WARMUP seconds, filtered to the three readable spaces.
 * 5. Prints a table and PASS/FAIL per target, and writes bench/results/search-<ISO time>.json.
 *
 * Exits non-zero only on errors (a failed query, a missing dataset), never for a missed target.
 *
 * Environment: DATABASE_URL, PARVIS_DATA_DIR, BENCH_PG_PORT (embedded, default 54341),
 * BENCH_DOCS (default 1000000; smaller for smoke runs), BENCH_SEQUENTIAL_DOCS (default 50000),
 * BENCH_INDEX_CONCURRENCY (default 2), BENCH_CLIENTS (default 20), BENCH_DURATION (s, default 30),
 * BENCH_WARMUP (s, default 3), BENCH_SKIP_INDEX=1 (keep an index that already holds every post:
 * latency-only reruns; a stale seed is then refused, never wiped), BENCH_EXPLAIN=1 (EXPLAIN ANALYZE the slowest query of each type),
 * BENCH_RESET=1 (re-seed; with DATABASE_URL it is needed to wipe a database that holds
 * something other than this benchmark's seed).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { SaxesParser } from 'saxes';
import { DataSource, EntityManager } from 'typeorm';
import { htmlToText } from '../../libs/content/src/renderer';
import { AppConfig } from '../../libs/core/src/config/config';
import { dataSourceOptions } from '../../libs/core/src/database/data-source';
import { DatabaseHandle } from '../../libs/core/src/database/embedded';
import { parseDumpTags } from '../../libs/forum/src/import/stackexchange';
import { PostgresSearchEngine } from '../../libs/search/src/postgres/postgres.engine';
import { SearchAdmin } from '../../libs/search/src/search-admin';
import { SearchDocuments } from '../../libs/search/src/search-documents';
import { escapeHtml } from '../../libs/content/src/renderer';
import { SearchRequest } from '../../libs/search/src/search-engine';
import { SearchEngines } from '../../libs/search/src/search-engines';
import { SearchSync } from '../../libs/search/src/search-sync';
import { datasetPath } from '../support/datasets';
import {
  BENCH_POOL_WAIT_MS,
  BenchError,
  databaseState,
  envFlag,
  envInt,
  isInterrupted,
  log,
  machine,
  onInterrupt,
  openBenchDatabase,
  ROOT,
  round,
  runBench,
  seedFingerprint,
  seedOrReuse,
  table,
  withClient,
  writeResults,
} from './bench-support';

const DATASETS = datasetPath();

/** Bump when the seed's shape or text generation changes, so an older seed is rebuilt instead of reused. */
const SEED_VERSION = 1;
const USERS = 200;
const POSTS_PER_TOPIC = 10;
/** Topics per INSERT (so POSTS_PER_TOPIC times as many posts per statement). */
const SEED_TOPICS_PER_BATCH = 2000;
const SEED_CONNECTIONS = 2;
/** Source bodies are cut to about this many characters, at a sentence end. */
const SOURCE_BODY_CHARS = 1200;
const EMBEDDED_DATABASE = 'parvis_bench_search';
/** The rebuild path's batch size (SearchAdmin's BATCH). */
const INDEX_BATCH = 500;
const PAGE_SIZE = 20;

const TARGET_INDEX_DOCS_PER_SEC = 2000;
const TARGET_P99_MS = 50;

const DOCS = envInt('BENCH_DOCS', 1_000_000, 1000, 5_000_000);
const SEQUENTIAL_DOCS = Math.min(DOCS, envInt('BENCH_SEQUENTIAL_DOCS', 50_000, INDEX_BATCH, 5_000_000));
const INDEX_CONCURRENCY = envInt('BENCH_INDEX_CONCURRENCY', 2, 1, 32);
const CLIENTS = envInt('BENCH_CLIENTS', 20, 1, 200);
const DURATION = envInt('BENCH_DURATION', 30, 1, 3600);
const WARMUP = envInt('BENCH_WARMUP', 3, 0, 600);
const SKIP_INDEX = envFlag('BENCH_SKIP_INDEX');
const EXPLAIN = envFlag('BENCH_EXPLAIN');

const TOPICS = Math.ceil(DOCS / POSTS_PER_TOPIC);
/** Long-tail vocabulary: each pseudo-word lands in about 5 posts, whatever the size. */
const PSEUDO_VOCABULARY = Math.max(500, Math.round(DOCS / 5));
const BUILD_TOKENS = 500;

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

// ---------------------------------------------------------------------------
// Source texts: the Stack Exchange dumps, read once and held in memory
// ---------------------------------------------------------------------------

interface SourceQuestion {
  title: string;
  /** The body's plain text as sentences, cut to about SOURCE_BODY_CHARS. */
  sentences: string[];
  tags: string[];
}

interface Corpus {
  name: string;
  file: string;
  questions: SourceQuestion[];
  answers: string[][];
  /** Every sentence of 30–300 characters, to append to other bodies. */
  sentences: string[];
}

const CORPORA = [
  { name: 'quantum', dir: 'stackexchange-quantumcomputing-2018' },
  { name: 'beer', dir: 'stackexchange-beer' },
  { name: 'coffee', dir: 'stackexchange-coffee' },
  { name: 'french-meta', dir: 'stackexchange-french-meta' },
] as const;
type CorpusName = (typeof CORPORA)[number]['name'];

interface SpaceDef {
  key: string;
  name: string;
  visibility: 'PUBLIC' | 'RESTRICTED';
  language: 'en' | 'fr';
  corpora: CorpusName[];
  /** Percent of the topics. */
  share: number;
  /** The bench viewer may read it (the permission filter passes it). */
  readable: boolean;
}

const SPACES: SpaceDef[] = [
  { key: 'quantum', name: 'Quantum Computing', visibility: 'PUBLIC', language: 'en', corpora: ['quantum'], share: 35, readable: true },
  { key: 'brewing', name: 'Beer & Coffee', visibility: 'PUBLIC', language: 'en', corpora: ['beer', 'coffee'], share: 35, readable: true },
  { key: 'francais', name: 'Français (méta)', visibility: 'PUBLIC', language: 'fr', corpora: ['french-meta'], share: 10, readable: true },
  { key: 'internal', name: 'Internal', visibility: 'RESTRICTED', language: 'en', corpora: ['quantum', 'beer', 'coffee'], share: 20, readable: false },
];
const BOARDS_PER_SPACE = 2;

const GENERATION =
  'imported text repeated and varied: each topic takes a question (title, body, tags) from its space\'s Stack Exchange dump(s) ' +
  '(quantum: quantumcomputing-2018; brewing: beer + coffee; francais: french-meta; internal: quantum + beer + coffee); ' +
  'its title gets the first 3-5 words of another question\'s title appended after " – ". Post 1 of a topic uses the question\'s body, ' +
  'replies a random answer of the same dump(s); source bodies are converted from HTML to plain text and cut to about ' +
  `${SOURCE_BODY_CHARS} characters at a sentence end. Each body gets one random sentence of the same dump(s) appended and two ` +
  `numbered variant tokens: a pseudo-word spelling a number in syllables, from a vocabulary of DOCS/5 (${PSEUDO_VOCABULARY}, so ` +
  `about 5 posts each: the long tail) and build<0-${BUILD_TOKENS - 1}>. Bodies are stored as HTML paragraphs of 3 sentences ` +
  '(<p>…</p>, HTML-escaped), so the indexer\'s HTML-to-text conversion runs for real; ids are UUIDv7-shaped and follow creation order.';

function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Whole sentences up to about `max` characters; one over-long sentence is cut at a word. */
function cutSentences(sentences: string[], max: number): string[] {
  const out: string[] = [];
  let length = 0;
  for (const s of sentences) {
    if (out.length > 0 && length + s.length > max) break;
    out.push(s.length > max ? `${s.slice(0, max).replace(/\s+\S*$/, '')}…` : s);
    length += s.length;
  }
  return out;
}

function readCorpus(name: CorpusName, dir: string): Corpus {
  const file = path.join(DATASETS, dir, 'Posts.xml');
  if (!existsSync(file)) throw new BenchError(`the dataset ${file} is missing (see ../shared/datasets/README.md)`);
  const questions: SourceQuestion[] = [];
  const answers: string[][] = [];
  const parser = new SaxesParser();
  parser.on('opentag', (tag) => {
    if (tag.name !== 'row') return;
    const a = tag.attributes as Record<string, string>;
    const text = htmlToText(a.Body ?? '');
    const sentences = cutSentences(splitSentences(text), SOURCE_BODY_CHARS);
    if (a.PostTypeId === '1' && a.Title?.trim()) {
      const title = a.Title.trim().replace(/\s+/g, ' ');
      questions.push({ title, sentences: sentences.length > 0 ? sentences : [title], tags: parseDumpTags(a.Tags).tags });
    } else if (a.PostTypeId === '2' && sentences.length > 0) {
      answers.push(sentences);
    }
  });
  parser.write(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  parser.close();
  const sentences = [...questions.map((q) => q.sentences), ...answers].flat().filter((s) => s.length >= 30 && s.length <= 300);
  if (questions.length === 0 || sentences.length === 0) throw new BenchError(`no questions in ${file}`);
  return { name, file, questions, answers, sentences };
}

interface Pool {
  questions: SourceQuestion[];
  answers: string[][];
  sentences: string[];
}

function poolOf(space: SpaceDef, corpora: Map<CorpusName, Corpus>): Pool {
  const cs = space.corpora.map((n) => corpora.get(n)!);
  const questions = cs.flatMap((c) => c.questions);
  const answers = cs.flatMap((c) => c.answers);
  return { questions, answers: answers.length > 0 ? answers : questions.map((q) => q.sentences), sentences: cs.flatMap((c) => c.sentences) };
}

// ---------------------------------------------------------------------------
// Generation: every choice is a hash of the post's or topic's number, so the same
// seed can be re-planned (for word frequencies) without reading it back.
// ---------------------------------------------------------------------------

function mix(a: number, salt: number): number {
  let x = Math.imul(a ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(salt + 0x27d4eb2f, 0x85ebca77);
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const SYLLABLES = ['ba', 'ke', 'lo', 'mi', 'nu', 'ra', 'se', 'ti', 'vo', 'zu', 'da', 'fe', 'go', 'hy', 'ju', 'pa'];
const PSEUDO_LENGTH = Math.max(3, Math.ceil(Math.log(PSEUDO_VOCABULARY) / Math.log(SYLLABLES.length)));

/** The number n spelled in syllables (base 16), always PSEUDO_LENGTH syllables: "kelomiraba". */
function pseudoWord(n: number): string {
  let out = '';
  for (let i = 0; i < PSEUDO_LENGTH; i++) {
    out = SYLLABLES[n % SYLLABLES.length] + out;
    n = Math.floor(n / SYLLABLES.length);
  }
  return out;
}

const T0 = Date.UTC(2022, 0, 1);
const STEP_MS = Math.max(1, Math.floor((3 * 365 * 86_400_000) / DOCS));
const postTime = (i: number) => T0 + i * STEP_MS;

/** UUIDv7-shaped and deterministic: the timestamp first, so id order is creation order. */
function benchId(kind: number, ms: number, seq: number): string {
  const ts = Math.floor(ms).toString(16).padStart(12, '0');
  const s = seq.toString(16).padStart(15, '0');
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${kind.toString(16).padStart(3, '0')}-8${s.slice(0, 3)}-${s.slice(3)}`;
}
const userId = (u: number) => benchId(1, T0 - 90 * 86_400_000, u);
const spaceId = (s: number) => benchId(2, T0 - 60 * 86_400_000, s);
const boardId = (s: number, b: number) => benchId(3, T0 - 60 * 86_400_000, s * 100 + b);
const topicId = (j: number) => benchId(4, postTime(j * POSTS_PER_TOPIC), j);
const postId = (i: number) => benchId(5, postTime(i), i);

interface TopicPlan {
  j: number;
  space: number;
  board: number;
  question: SourceQuestion;
  /** The other question's title words appended to the title. */
  fragment: string;
  kind: 'QUESTION' | 'DISCUSSION';
  author: number;
  posts: number;
  accepted: boolean;
}

interface PostPlan {
  i: number;
  number: number;
  base: string[];
  appended: string;
  pseudo: number;
  build: number;
  author: number;
  reactions: number;
}

class Planner {
  readonly pools: Pool[];
  private readonly cumulative: number[];

  constructor(corpora: Map<CorpusName, Corpus>) {
    this.pools = SPACES.map((s) => poolOf(s, corpora));
    let sum = 0;
    this.cumulative = SPACES.map((s) => (sum += s.share));
  }

  topic(j: number): TopicPlan {
    const r = mix(j, 1) % 100;
    const space = this.cumulative.findIndex((c) => r < c);
    const pool = this.pools[space];
    const question = pool.questions[mix(j, 3) % pool.questions.length];
    const other = pool.questions[mix(j, 4) % pool.questions.length];
    const kind = mix(j, 6) % 10 < 7 ? 'QUESTION' : 'DISCUSSION';
    const posts = Math.min(POSTS_PER_TOPIC, DOCS - j * POSTS_PER_TOPIC);
    return {
      j,
      space,
      board: mix(j, 2) % BOARDS_PER_SPACE,
      question,
      fragment: other.title.split(' ').slice(0, 3 + (mix(j, 5) % 3)).join(' '),
      kind,
      author: mix(j, 7) % USERS,
      posts,
      accepted: kind === 'QUESTION' && posts >= 2 && mix(j, 8) % 3 === 0,
    };
  }

  post(t: TopicPlan, number: number): PostPlan {
    const i = t.j * POSTS_PER_TOPIC + number - 1;
    const pool = this.pools[t.space];
    const r = mix(i, 14) % 20;
    return {
      i,
      number,
      base: number === 1 ? t.question.sentences : pool.answers[mix(i, 9) % pool.answers.length],
      appended: pool.sentences[mix(i, 10) % pool.sentences.length],
      pseudo: mix(i, 11) % PSEUDO_VOCABULARY,
      build: mix(i, 12) % BUILD_TOKENS,
      author: number === 1 ? t.author : mix(i, 13) % USERS,
      reactions: r < 12 ? 0 : r - 11,
    };
  }
}

const titleOf = (t: TopicPlan) => `${t.question.title} – ${t.fragment}`.slice(0, 200);

function paragraphsOf(p: PostPlan): string[] {
  const out: string[] = [];
  for (let k = 0; k < p.base.length; k += 3) out.push(p.base.slice(k, k + 3).join(' '));
  out.push(`${p.appended} (${pseudoWord(p.pseudo)}, build${p.build})`);
  return out;
}

// ---------------------------------------------------------------------------
// Database state and seed
// ---------------------------------------------------------------------------

/** Schema + seed shape + the source files: a reused seed must match all. */
const fingerprint = () =>
  seedFingerprint(
    [
      `search seed v${SEED_VERSION} docs=${DOCS} users=${USERS} posts/topic=${POSTS_PER_TOPIC} body=${SOURCE_BODY_CHARS}`,
      ...CORPORA.map((c) => `${c.dir} ${statSync(path.join(DATASETS, c.dir, 'Posts.xml')).size}`),
    ].join('\n'),
  );

async function insertTopicBatch(c: Client, planner: Planner, j0: number, j1: number): Promise<void> {
  const t = { id: [] as string[], board: [] as string[], space: [] as string[], author: [] as string[], kind: [] as string[], title: [] as string[] };
  const tTags: string[] = [];
  const tReactions: number[] = [];
  const tCreated: string[] = [];
  const tLast: string[] = [];
  const tPosts: number[] = [];
  const accepted: { topic: string[]; post: string[] } = { topic: [], post: [] };
  const p = { id: [] as string[], topic: [] as string[], space: [] as string[], author: [] as string[], source: [] as string[], html: [] as string[] };
  const pNumber: number[] = [];
  const pReactions: number[] = [];
  const pCreated: string[] = [];
  for (let j = j0; j < j1; j++) {
    const plan = planner.topic(j);
    const tid = topicId(j);
    let reactions = 0;
    for (let n = 1; n <= plan.posts; n++) {
      const post = planner.post(plan, n);
      const paragraphs = paragraphsOf(post);
      p.id.push(postId(post.i));
      p.topic.push(tid);
      p.space.push(spaceId(plan.space));
      p.author.push(userId(post.author));
      p.source.push(paragraphs.join('\n\n'));
      p.html.push(paragraphs.map((x) => `<p>${escapeHtml(x)}</p>`).join('\n'));
      pNumber.push(n);
      pReactions.push(post.reactions);
      pCreated.push(new Date(postTime(post.i)).toISOString());
      reactions += post.reactions;
    }
    t.id.push(tid);
    t.board.push(boardId(plan.space, plan.board));
    t.space.push(spaceId(plan.space));
    t.author.push(userId(plan.author));
    t.kind.push(plan.kind);
    t.title.push(titleOf(plan));
    tTags.push(plan.question.tags.join(','));
    tReactions.push(reactions);
    tCreated.push(new Date(postTime(j * POSTS_PER_TOPIC)).toISOString());
    tLast.push(new Date(postTime(j * POSTS_PER_TOPIC + plan.posts - 1)).toISOString());
    tPosts.push(plan.posts);
    if (plan.accepted) {
      accepted.topic.push(tid);
      accepted.post.push(postId(j * POSTS_PER_TOPIC + 1));
    }
  }
  await c.query(
    `INSERT INTO topics (id, board_id, space_id, author_id, kind, title, tags, reply_count, reaction_count, last_post_number,
                         last_activity_at, created_at, updated_at)
     SELECT id, board, space, author, kind, title, CASE WHEN tags = '' THEN '{}'::text[] ELSE string_to_array(tags, ',') END,
            posts - 1, reactions, posts, last, created, last
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::int[], $9::int[],
                   $10::timestamptz[], $11::timestamptz[]) AS x(id, board, space, author, kind, title, tags, posts, reactions, created, last)`,
    [t.id, t.board, t.space, t.author, t.kind, t.title, tTags, tPosts, tReactions, tCreated, tLast],
  );
  await c.query(
    `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html, reaction_counts, reaction_total, created_at, updated_at)
     SELECT id, topic, space, number, author, source, html,
            CASE WHEN reactions > 0 THEN jsonb_build_object('LIKE', reactions) ELSE '{}'::jsonb END, reactions, created, created
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::uuid[], $6::text[], $7::text[], $8::int[], $9::timestamptz[])
            AS x(id, topic, space, number, author, source, html, reactions, created)`,
    [p.id, p.topic, p.space, pNumber, p.author, p.source, p.html, pReactions, pCreated],
  );
  if (accepted.topic.length > 0) {
    await c.query(
      `UPDATE topics t SET accepted_post_id = x.post FROM unnest($1::uuid[], $2::uuid[]) AS x(topic, post) WHERE t.id = x.topic`,
      [accepted.topic, accepted.post],
    );
  }
}

async function seed(url: string, planner: Planner, fp: string): Promise<void> {
  await withClient(url, async (c) => {
    // Marked incomplete until the end: an interrupted seed is ours to wipe, not "foreign".
    await c.query(`CREATE TABLE bench_search_seed (key text PRIMARY KEY, value text NOT NULL)`);
    await c.query(`INSERT INTO bench_search_seed (key, value) VALUES ('fingerprint', $1), ('complete', 'no')`, [fp]);
    await c.query(
      `INSERT INTO users (id, email, handle, display_name, password_hash, role, trust_level, is_placeholder, created_at, updated_at)
       SELECT id, NULL, 'bench_' || lpad(n::text, 3, '0'), 'Bench member ' || n, NULL, 'MEMBER', n % 5, true, $2::timestamptz, $2::timestamptz
         FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, n)`,
      [Array.from({ length: USERS }, (_, u) => userId(u)), new Date(T0 - 90 * 86_400_000).toISOString()],
    );
    for (const [s, def] of SPACES.entries()) {
      await c.query(
        `INSERT INTO spaces (id, slug, name, description, visibility, language) VALUES ($1, $2, $3, 'Seeded by npm run bench:search', $4, $5)`,
        [spaceId(s), `bench-${def.key}`, def.name, def.visibility, def.language],
      );
      for (let b = 0; b < BOARDS_PER_SPACE; b++) {
        await c.query(`INSERT INTO boards (id, space_id, kind, slug, name, position) VALUES ($1, $2, 'FORUM', $3, $4, $5)`, [
          boardId(s, b),
          spaceId(s),
          b === 0 ? 'general' : 'help',
          b === 0 ? 'General' : 'Help',
          b,
        ]);
      }
    }
  });

  let next = 0;
  let doneTopics = 0;
  const t0 = process.hrtime.bigint();
  const ticker = setInterval(() => {
    const posts = Math.min(DOCS, doneTopics * POSTS_PER_TOPIC);
    log(`  seeding: ${posts.toLocaleString('en')} / ${DOCS.toLocaleString('en')} posts (${Math.round(posts / seconds(t0))} posts/s)`);
  }, 5000);
  try {
    const worker = () =>
      withClient(url, async (c) => {
        await c.query(`SET synchronous_commit = off`);
        for (;;) {
          const j0 = next;
          if (j0 >= TOPICS) return;
          next = Math.min(TOPICS, j0 + SEED_TOPICS_PER_BATCH);
          await insertTopicBatch(c, planner, j0, next);
          doneTopics += next - j0;
          if (isInterrupted()) throw new BenchError('interrupted');
        }
      });
    // Two connections: one generates its next batch in JS while the other's INSERT runs.
    await Promise.all(Array.from({ length: SEED_CONNECTIONS }, worker));
  } finally {
    clearInterval(ticker);
  }
  log(`  inserted ${TOPICS.toLocaleString('en')} topics and ${DOCS.toLocaleString('en')} posts in ${seconds(t0).toFixed(1)} s`);
  await withClient(url, async (c) => {
    const t1 = process.hrtime.bigint();
    await c.query('VACUUM (ANALYZE) users, spaces, boards, topics, posts');
    log(`  vacuum analyze: ${seconds(t1).toFixed(1)} s`);
    await c.query(`UPDATE bench_search_seed SET value = 'yes' WHERE key = 'complete'`);
    await c.query(`INSERT INTO bench_search_seed (key, value) VALUES ('seeded_at', now()::text)`);
  });
}

interface SeedInfo {
  reused: boolean;
  seedSeconds: number | null;
  users: number;
  spaces: number;
  topics: number;
  posts: number;
  avgBodyHtmlBytes: number;
  postsTableMb: number;
}

async function prepareDatabase(url: string, embedded: boolean, planner: Planner): Promise<SeedInfo> {
  const fp = fingerprint();
  const state = await withClient(url, (c) => databaseState(c, 'bench_search_seed', fp, (posts) => posts === DOCS));
  const { reused, seedSeconds } = await seedOrReuse(url, embedded, state, {
    staleReason: 'the seed is incomplete or predates the schema, size or seed version',
    seeding: `seeding ${USERS} users, ${SPACES.length} spaces, ${TOPICS.toLocaleString('en')} topics, ${DOCS.toLocaleString('en')} posts...`,
    seed: () => seed(url, planner, fp),
    keepOnly: SKIP_INDEX ? 'BENCH_SKIP_INDEX=1' : undefined,
  });
  return withClient(url, async (c) => {
    const r = (
      await c.query(
        `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM spaces) AS spaces,
                (SELECT count(*)::int FROM topics) AS topics, (SELECT count(*)::int FROM posts) AS posts,
                (SELECT avg(octet_length(body_html))::int FROM posts) AS avg_html,
                pg_total_relation_size('posts') AS posts_bytes`,
      )
    ).rows[0];
    return {
      reused,
      seedSeconds,
      users: r.users,
      spaces: r.spaces,
      topics: r.topics,
      posts: r.posts,
      avgBodyHtmlBytes: r.avg_html,
      postsTableMb: round(Number(r.posts_bytes) / 2 ** 20),
    };
  });
}

// ---------------------------------------------------------------------------
// Indexing
// ---------------------------------------------------------------------------

interface IndexRun {
  path: string;
  documents: number;
  seconds: number;
  docsPerSec: number;
}

class SampleReached extends Error {}

function progressTicker(label: string, total: number, done: () => number): () => void {
  const t0 = process.hrtime.bigint();
  const timer = setInterval(() => {
    const n = done();
    log(`  ${label}: ${n.toLocaleString('en')} / ${total.toLocaleString('en')} documents (${Math.round(n / seconds(t0))} docs/s)`);
  }, 5000);
  return () => clearInterval(timer);
}

/** Empties the index and its vocabulary (and the engine's memory of written words). */
async function emptyIndex(engine: PostgresSearchEngine): Promise<void> {
  await engine.clear();
}

/** The operators' rebuild (SearchAdmin.rebuild), stopped once it has written `sample` documents. */
async function indexSequential(ds: DataSource, admin: SearchAdmin, engine: PostgresSearchEngine, sample: number): Promise<IndexRun> {
  await emptyIndex(engine);
  let done = 0;
  const stop = progressTicker('SearchAdmin.rebuild', sample, () => done);
  const t0 = process.hrtime.bigint();
  try {
    await admin.rebuild([engine], (n) => {
      done = n;
      if (isInterrupted()) throw new BenchError('interrupted');
      if (n >= sample && sample < DOCS) throw new SampleReached();
    });
  } catch (err) {
    if (!(err instanceof SampleReached)) throw err;
  } finally {
    stop();
  }
  const s = seconds(t0);
  return { path: `SearchAdmin.rebuild (2 batches in flight, first ${done.toLocaleString('en')} posts)`, documents: done, seconds: round(s, 2), docsPerSec: Math.round(done / s) };
}

/**
 * Every post, by `workers` indexers over disjoint id ranges, each doing what rebuild does
 * (ids in order, batches of 500, load then upsert).
 */
async function indexParallel(ds: DataSource, documents: SearchDocuments, engine: PostgresSearchEngine, workers: number): Promise<IndexRun> {
  await emptyIndex(engine);
  // The last id of each of `workers` equal slices of the id order; ids compare like their text (memcmp).
  const uppers = (
    (await ds.query(
      `SELECT max(id::text) AS upper FROM (SELECT id, ntile($1) OVER (ORDER BY id) AS slice FROM posts) x GROUP BY slice ORDER BY slice`,
      [workers],
    )) as Array<{ upper: string }>
  ).map((r) => r.upper);
  let done = 0;
  const stop = progressTicker(`parallel index x${workers}`, DOCS, () => done);
  const t0 = process.hrtime.bigint();
  try {
    await Promise.all(
      uppers.map(async (upper, w) => {
        let after: string | null = w === 0 ? null : uppers[w - 1];
        for (;;) {
          if (isInterrupted()) throw new BenchError('interrupted');
          const page = await documents.idsAfter(after, INDEX_BATCH);
          const ids = page.filter((id) => id <= upper);
          if (ids.length === 0) return;
          const { docs } = await documents.load(ids);
          await engine.upsert(docs);
          done += ids.length;
          after = ids[ids.length - 1];
          if (ids.length < page.length) return;
        }
      }),
    );
  } finally {
    stop();
  }
  const s = seconds(t0);
  return { path: `parallel x${workers} (all posts)`, documents: done, seconds: round(s, 2), docsPerSec: Math.round(done / s) };
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

const QUERY_TYPES = ['common', 'rare', 'typo', 'prefix'] as const;
type QueryType = (typeof QUERY_TYPES)[number];

/** Words of 5+ letters that say nothing about a subject (English and French), besides PostgreSQL's own stop words. */
const STOPWORDS = new Set(
  (
    'about above after again against almost along already although always among another anyone anything anyway around because been before being ' +
    'below between cannot could couldn didn doesn doing during either enough every example further given going having however instead itself ' +
    'might myself never often other others ought perhaps please possible pretty probably quite rather really right seems should since something ' +
    'still thank thanks their theirs them themselves then there these thing things think those though through today under until using usually ' +
    'whatever where whether which while whole without would wouldn yourself yours https there www question questions answer answers ' +
    'alors aussi autre autres avais avait avaient avant avoir avons bien cela cette comme comment depuis donc elles encore entre était étaient ' +
    'faire faut leurs mais moins notre nous parce pendant peut peux plus pour pourquoi pourrait quand quelque quelques sans sera serait sont ' +
    'sous toujours tous tout toute toutes très votre vous ainsi après assez celui celle ceux chaque chose choses déjà doit dont même mêmes'
  ).split(/\s+/),
);

const isLetters = (w: string) => /^\p{L}+$/u.test(w);
const letters = (w: string) => [...w].length;

function wordsOf(text: string): string[] {
  return [...new Set(text.normalize('NFC').toLowerCase().match(/\p{L}+/gu) ?? [])];
}

interface Frequencies {
  /** Word → occurrences in the generated posts (title + body; a word counted once per part of a post it appears in). */
  counts: Map<string, number>;
  /** Pseudo-words among the counted ones. */
  pseudo: Set<string>;
}

/** Word frequencies of the whole generated text, from how often each source text was used. */
function frequencies(planner: Planner): Frequencies {
  const titleUses = new Map<SourceQuestion, number>();
  const fragmentUses = new Map<string, number>();
  const bodyUses = new Map<string[], number>();
  const sentenceUses = new Map<string, number>();
  const pseudoUses = new Uint32Array(PSEUDO_VOCABULARY);
  const bump = <K>(m: Map<K, number>, k: K, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  for (let j = 0; j < TOPICS; j++) {
    const t = planner.topic(j);
    // The topic's title is part of each of its posts' documents.
    bump(titleUses, t.question, t.posts);
    bump(fragmentUses, t.fragment, t.posts);
    for (let n = 1; n <= t.posts; n++) {
      const p = planner.post(t, n);
      bump(bodyUses, p.base, 1);
      bump(sentenceUses, p.appended, 1);
      pseudoUses[p.pseudo]++;
    }
  }
  const counts = new Map<string, number>();
  const add = (text: string, n: number) => {
    for (const w of wordsOf(text)) counts.set(w, (counts.get(w) ?? 0) + n);
  };
  for (const [q, n] of titleUses) add(q.title, n);
  for (const [f, n] of fragmentUses) add(f, n);
  for (const [b, n] of bodyUses) add(b.join(' '), n);
  for (const [s, n] of sentenceUses) add(s, n);
  const pseudo = new Set<string>();
  pseudoUses.forEach((n, k) => {
    if (n === 0) return;
    const w = pseudoWord(k);
    pseudo.add(w);
    counts.set(w, (counts.get(w) ?? 0) + n);
  });
  return { counts, pseudo };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample<T>(items: T[], n: number, rnd: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const k = Math.floor(rnd() * (i + 1));
    [copy[i], copy[k]] = [copy[k], copy[i]];
  }
  return copy.slice(0, n);
}

interface QueryPools {
  pools: Record<QueryType, string[]>;
  info: Record<string, unknown>;
}

async function buildQueries(ds: DataSource, planner: Planner): Promise<QueryPools> {
  const t0 = process.hrtime.bigint();
  const freq = frequencies(planner);
  const rnd = mulberry32(20251123);
  const ranked = [...freq.counts].filter(([w]) => isLetters(w) && !STOPWORDS.has(w)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  // PostgreSQL's stop words (english.stop, french.stop) leave an empty query: not a search anyone benchmarks.
  const meaningful = async (words: string[]) => {
    if (words.length === 0) return new Set<string>();
    const rows: Array<{ w: string }> = await ds.query(
      `SELECT w FROM unnest($1::text[]) AS w WHERE numnode(plainto_tsquery('parvis_en', w)) > 0 AND numnode(plainto_tsquery('parvis_fr', w)) > 0`,
      [words],
    );
    return new Set(rows.map((r) => r.w));
  };

  const commonCandidates = ranked.filter(([w]) => letters(w) >= 5).slice(0, 60);
  const okCommon = await meaningful(commonCandidates.map(([w]) => w));
  const common = commonCandidates.filter(([w]) => okCommon.has(w)).slice(0, 40);

  const rareCandidates = ranked.filter(([w, n]) => n >= 2 && n <= 10 && letters(w) >= 5);
  const okRare = await meaningful(sample(rareCandidates, 600, rnd).map(([w]) => w));
  const rare = rareCandidates.filter(([w]) => okRare.has(w)).slice(0, 300);

  // Typos of words people search for: the common ones and the next few thousand (seen 20+ times).
  const typoSources = [...common, ...ranked.slice(40, 3000).filter(([w, n]) => n >= 20 && letters(w) >= 6)];
  const typoCandidates: Array<{ typo: string; of: string }> = [];
  for (let tries = 0; tries < 5000 && typoCandidates.length < 600 && typoSources.length > 0; tries++) {
    const [word] = typoSources[Math.floor(rnd() * typoSources.length)];
    const chars = [...word];
    if (chars.length < 6) continue;
    const at = 1 + Math.floor(rnd() * (chars.length - 3));
    if (rnd() < 0.5) chars.splice(at, 1);
    else if (chars[at] !== chars[at + 1]) [chars[at], chars[at + 1]] = [chars[at + 1], chars[at]];
    else continue;
    const typo = chars.join('');
    if (freq.counts.has(typo) || typoCandidates.some((c) => c.typo === typo)) continue;
    typoCandidates.push({ typo, of: word });
  }
  // Not an indexed word, exactly as the engine's typo tolerance decides it.
  const unindexed: Array<{ w: string }> = await ds.query(
    `SELECT w FROM unnest($1::text[]) AS w WHERE NOT EXISTS (SELECT 1 FROM search_terms t WHERE t.term = unaccent(w))`,
    [typoCandidates.map((c) => c.typo)],
  );
  const okTypo = new Set(unindexed.map((r) => r.w));
  const typos = typoCandidates.filter((c) => okTypo.has(c.typo)).slice(0, 300);

  // Search-as-you-type: two words of a readable space's question title, the second still being typed.
  const titles = [...new Set(SPACES.flatMap((s, i) => (s.readable ? planner.pools[i].questions.map((q) => q.title) : [])))];
  const prefixCandidates: string[] = [];
  const pairFromTitle = (title: string): string | null => {
    const words = wordsOf(title).filter((w) => letters(w) >= 5 && !STOPWORDS.has(w));
    const second = words.filter((w) => letters(w) >= 6);
    if (words.length < 2 || second.length === 0) return null;
    const b = second[Math.floor(rnd() * second.length)];
    const others = words.filter((w) => w !== b);
    if (others.length === 0) return null;
    const a = others[Math.floor(rnd() * others.length)];
    return `${a} ${[...b].slice(0, 4).join('')}`;
  };
  for (const title of sample(titles, 1200, rnd)) {
    const q = pairFromTitle(title);
    if (q) prefixCandidates.push(q);
  }
  const okFirst = await meaningful([...new Set(prefixCandidates.map((q) => q.split(' ')[0]))]);
  const prefix = [...new Set(prefixCandidates.filter((q) => okFirst.has(q.split(' ')[0])))].slice(0, 300);

  // Whole words end with a space (a finished word); a query ending in a word is a prefix to the engine.
  const pools: Record<QueryType, string[]> = {
    common: common.map(([w]) => `${w} `),
    rare: rare.map(([w]) => `${w} `),
    typo: typos.map((c) => `${c.typo} `),
    prefix,
  };
  for (const t of QUERY_TYPES) {
    if (pools[t].length === 0) throw new BenchError(`no ${t} queries could be built from the generated text`);
  }
  const rarePseudo = rare.filter(([w]) => freq.pseudo.has(w)).length;
  const info = {
    method:
      'word frequencies of the generated text, computed in JS from how often each source text was used (title counted once per post of its topic). ' +
      'common: the 40 most frequent non-stop words of 5+ letters; rare: words seen 2-10 times (5+ letters); typo: a common word or one of the next ' +
      '~3,000 (seen 20+ times, 6+ letters) with one inner letter deleted or two swapped, kept only when no indexed word (search_terms) is spelt so; ' +
      'prefix: "<word> <first 4 letters of another word>" from the same question title of a readable space, with no trailing space. ' +
      'common, rare and typo queries end with a space, so their word is matched whole, not as a prefix.',
    vocabulary: freq.counts.size,
    poolSizes: Object.fromEntries(QUERY_TYPES.map((t) => [t, pools[t].length])),
    commonWords: common.map(([w, n]) => ({ word: w, count: n })),
    rareExamples: rare.slice(0, 10).map(([w, n]) => ({ word: w, count: n })),
    rarePseudoWords: rarePseudo,
    rareNaturalWords: rare.length - rarePseudo,
    typoExamples: typos.slice(0, 10),
    prefixExamples: prefix.slice(0, 10),
    buildSeconds: round(seconds(t0), 2),
  };
  return { pools, info };
}

// ---------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------

interface Sample {
  type: QueryType;
  query: string;
  ms: number;
  total: number;
}

interface TypeResult {
  type: QueryType | 'all';
  queries: number;
  queriesPerSec: number;
  latencyMs: { avg: number; p50: number; p95: number; p99: number; max: number };
  avgTotalHits: number;
  zeroHitShare: number;
  slowest: Array<{ query: string; ms: number; total: number }>;
}

function requestFor(query: string, readable: string[]): SearchRequest {
  return { query, filters: { spaceIds: readable, moderatedSpaceIds: [] }, limit: PAGE_SIZE, offset: 0, facets: true };
}

async function runLoad(
  engine: PostgresSearchEngine,
  pools: Record<QueryType, string[]>,
  readable: string[],
  durationSeconds: number,
  seed: number,
): Promise<{ samples: Sample[]; seconds: number; errors: number; firstError: unknown }> {
  const samples: Sample[] = [];
  let errors = 0;
  let firstError: unknown;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(durationSeconds * 1e9));
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const rnd = mulberry32(seed * 1000 + c);
      // Each client cycles through the four types, from its own starting point: 25% each.
      for (let k = c; process.hrtime.bigint() < deadline && !isInterrupted(); k++) {
        const type = QUERY_TYPES[k % QUERY_TYPES.length];
        const pool = pools[type];
        const query = pool[Math.floor(rnd() * pool.length)];
        const start = process.hrtime.bigint();
        try {
          const result = await engine.search(requestFor(query, readable));
          samples.push({ type, query, ms: Number(process.hrtime.bigint() - start) / 1e6, total: result.total });
        } catch (err) {
          errors++;
          firstError ??= err;
        }
      }
    }),
  );
  return { samples, seconds: seconds(t0), errors, firstError };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summarize(type: TypeResult['type'], samples: Sample[], elapsed: number): TypeResult {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const sum = ms.reduce((a, b) => a + b, 0);
  const slowest = [...samples].sort((a, b) => b.ms - a.ms).slice(0, 5);
  return {
    type,
    queries: samples.length,
    queriesPerSec: round(samples.length / elapsed),
    latencyMs: {
      avg: round(sum / Math.max(1, ms.length), 2),
      p50: round(percentile(ms, 0.5), 2),
      p95: round(percentile(ms, 0.95), 2),
      p99: round(percentile(ms, 0.99), 2),
      max: round(ms[ms.length - 1] ?? 0, 2),
    },
    avgTotalHits: Math.round(samples.reduce((a, s) => a + s.total, 0) / Math.max(1, samples.length)),
    zeroHitShare: round(samples.filter((s) => s.total === 0).length / Math.max(1, samples.length), 3),
    slowest: slowest.map((s) => ({ query: s.query, ms: round(s.ms, 1), total: s.total })),
  };
}

/**
 * EXPLAIN ANALYZE of every statement the engine sends for one query (run alone, after the
 * load). Statements the engine runs in a transaction are explained under the same
 * `SET LOCAL` planner settings they ran with.
 */
async function explain(ds: DataSource, readable: string[], query: string): Promise<Array<{ statementMs: number; plan: string[] }>> {
  const captured: Array<{ sql: string; params: unknown[]; settings: string[] }> = [];
  type Run = (sql: string, params?: unknown[]) => Promise<any>;
  const recorder = (run: Run) => {
    const settings: string[] = [];
    return {
      query: (sql: string, params?: unknown[]) => {
        if (/^\s*SET LOCAL\b/i.test(sql)) settings.push(sql);
        else captured.push({ sql, params: params ?? [], settings: [...settings] });
        return run(sql, params);
      },
    };
  };
  // The engine only calls ds.query and ds.transaction: a stand-in records each statement on the way.
  const recording = {
    ...recorder((sql, params) => ds.query(sql, params)),
    transaction: <T>(fn: (m: EntityManager) => Promise<T>) =>
      ds.transaction((m) => fn(recorder((sql, params) => m.query(sql, params)) as unknown as EntityManager)),
  } as unknown as DataSource;
  const engine = new PostgresSearchEngine(recording);
  // The server's letter folding is read once per process (on first use), not for each query.
  await engine.serverFolding.current();
  captured.length = 0;
  await engine.search(requestFor(query, readable));
  const out: Array<{ statementMs: number; plan: string[] }> = [];
  for (const { sql, params, settings } of captured) {
    // The tsquery compilation touches no table; the total's estimate is an EXPLAIN already.
    if (!/\bFROM\b/i.test(sql) || /^\s*EXPLAIN\b/i.test(sql)) continue;
    const t0 = process.hrtime.bigint();
    const rows: Array<{ 'QUERY PLAN': string }> = await ds.transaction(async (m) => {
      for (const setting of settings) await m.query(setting);
      return m.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    });
    out.push({ statementMs: round(seconds(t0) * 1000, 1), plan: [...settings.map((x) => `-- ${x}`), ...rows.map((r) => r['QUERY PLAN'])] });
  }
  return out;
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const startedAt = new Date();
  let db: DatabaseHandle | undefined;
  let ds: DataSource | undefined;

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (ds?.isInitialized) await ds.destroy().catch((err) => console.error(`bench: could not close the pool: ${err}`));
      if (db?.owned) {
        log('stopping the embedded PostgreSQL');
        await db.stop().catch((err) => console.error(`bench: could not stop PostgreSQL: ${err}`));
      }
    })());
  onInterrupt(cleanup);

  try {
    log(`reading the Stack Exchange dumps in ${path.relative(process.cwd(), DATASETS) || DATASETS}`);
    const tRead = process.hrtime.bigint();
    const corpora = new Map<CorpusName, Corpus>(CORPORA.map((c) => [c.name, readCorpus(c.name, c.dir)]));
    const sources = [...corpora.values()].map((c) => ({
      corpus: c.name,
      file: path.relative(ROOT, c.file),
      questions: c.questions.length,
      answers: c.answers.length,
      sentences: c.sentences.length,
    }));
    log(`  ${sources.map((s) => `${s.corpus}: ${s.questions} questions, ${s.answers} answers`).join('; ')} (${seconds(tRead).toFixed(1)} s)`);
    const planner = new Planner(corpora);

    const opened = await openBenchDatabase('bench-search', 54341, EMBEDDED_DATABASE);
    db = opened.db;
    const embedded = opened.embedded;

    const seedInfo = await prepareDatabase(db.url, embedded, planner);
    log(
      `database: ${seedInfo.users} users, ${seedInfo.spaces} spaces, ${seedInfo.topics.toLocaleString('en')} topics, ` +
        `${seedInfo.posts.toLocaleString('en')} posts (avg body_html ${seedInfo.avgBodyHtmlBytes} bytes, posts table ${seedInfo.postsTableMb} MB)`,
    );
    log(`text: ${GENERATION}`);
    if (isInterrupted()) return 130;

    // A statement waits for a connection BENCH_POOL_WAIT_MS at most: the pool is sized for every
    // client and indexing worker, so a wait that long is a bench stuck, which fails rather than hangs.
    ds = new DataSource(dataSourceOptions({ url: db.url, poolSize: Math.max(CLIENTS, INDEX_CONCURRENCY) + 4, connectionTimeoutMs: BENCH_POOL_WAIT_MS }));
    await ds.initialize();
    const documents = new SearchDocuments(ds);
    const engines = new SearchEngines(ds, new AppConfig());
    const admin = new SearchAdmin(ds, documents, engines, new SearchSync(ds, documents, engines));
    const engine = engines.postgres;

    const [pg] = await ds.query(
      `SELECT version() AS version, current_setting('shared_buffers') AS shared_buffers, current_setting('work_mem') AS work_mem,
              current_setting('effective_cache_size') AS effective_cache_size, current_setting('jit') AS jit,
              current_setting('max_parallel_workers_per_gather') AS max_parallel_workers_per_gather`,
    );

    // ---- indexing
    const indexRuns: IndexRun[] = [];
    let vacuumSeconds: number | null = null;
    const indexed = await engine.count();
    if (SKIP_INDEX && indexed === seedInfo.posts) {
      log(`BENCH_SKIP_INDEX: keeping the existing index (${indexed.toLocaleString('en')} documents)`);
    } else {
      if (SKIP_INDEX) log(`BENCH_SKIP_INDEX ignored: the index holds ${indexed} documents, not ${seedInfo.posts}`);
      // The lexeme counts per space are folded in while indexing goes on, as the worker's job
      // search-lexeme-counts does (every 10 s), and once more at the end (timed).
      let folding = Promise.resolve(0);
      const folder = setInterval(() => (folding = folding.then(() => engine.foldCounts())), 10_000);
      try {
        log(`indexing: SearchAdmin.rebuild over the first ${SEQUENTIAL_DOCS.toLocaleString('en')} posts (batches of ${INDEX_BATCH}, 2 in flight)`);
        indexRuns.push(await indexSequential(ds, admin, engine, SEQUENTIAL_DOCS));
        log(`  ${indexRuns[0].documents.toLocaleString('en')} documents in ${indexRuns[0].seconds} s: ${indexRuns[0].docsPerSec} docs/s`);
        log(`indexing: every post with ${INDEX_CONCURRENCY} parallel workers over disjoint id ranges`);
        indexRuns.push(await indexParallel(ds, documents, engine, INDEX_CONCURRENCY));
        log(`  ${indexRuns[1].documents.toLocaleString('en')} documents in ${indexRuns[1].seconds} s: ${indexRuns[1].docsPerSec} docs/s`);
      } finally {
        clearInterval(folder);
        await folding;
      }
      const folded = process.hrtime.bigint();
      await engine.foldCounts();
      log(`  lexeme counts folded in: ${round(seconds(folded))} s after the last batch`);
      const t0 = process.hrtime.bigint();
      // Every table a search reads, as autovacuum would leave them in production (the lexeme counts
      // unanalysed led the planner to read every count of the spaces searched: bc9cc50).
      await ds.query('VACUUM (ANALYZE) search_documents, search_terms, search_lexeme_counts, search_space_documents');
      vacuumSeconds = round(seconds(t0));
      log(`  vacuum analyze: ${vacuumSeconds} s`);
    }
    const [index] = await ds.query(
      `SELECT (SELECT count(*)::int FROM search_documents) AS documents, (SELECT count(*)::int FROM search_terms) AS terms,
              pg_total_relation_size('search_documents') AS total_bytes,
              (SELECT COALESCE(sum(pg_relation_size(c.oid)), 0) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = 'search_documents'::regclass AND c.relname LIKE 'search\\_documents\\_tsv\\_%') AS gin_bytes`,
    );
    if (index.documents !== seedInfo.posts) throw new BenchError(`the index holds ${index.documents} documents for ${seedInfo.posts} posts`);
    log(
      `index: ${index.documents.toLocaleString('en')} documents, ${index.terms.toLocaleString('en')} terms, ` +
        `${round(Number(index.total_bytes) / 2 ** 20)} MB with indexes (tsv GIN indexes ${round(Number(index.gin_bytes) / 2 ** 20)} MB)`,
    );
    if (isInterrupted()) return 130;

    // ---- queries
    log('building the query mix from the generated text\'s word frequencies');
    const { pools, info: queryInfo } = await buildQueries(ds, planner);
    log(`  ${QUERY_TYPES.map((t) => `${t}: ${pools[t].length}`).join(', ')} queries; e.g. ${QUERY_TYPES.map((t) => JSON.stringify(pools[t][0])).join(', ')}`);
    const readable = SPACES.flatMap((s, i) => (s.readable ? [spaceId(i)] : []));
    for (const t of QUERY_TYPES) {
      try {
        await engine.search(requestFor(pools[t][0], readable));
      } catch (err) {
        throw new BenchError(`the first ${t} query (${JSON.stringify(pools[t][0])}) failed: ${(err as Error).message}`);
      }
    }
    if (WARMUP > 0) {
      log(`warming up: ${CLIENTS} clients for ${WARMUP} s`);
      await runLoad(engine, pools, readable, WARMUP, 1);
    }
    log(`load: ${CLIENTS} clients in a closed loop for ${DURATION} s (limit ${PAGE_SIZE}, facets on, 3 readable spaces of 4)`);
    const run = await runLoad(engine, pools, readable, DURATION, 2);
    if (isInterrupted()) return 130;
    const results = [summarize('all', run.samples, run.seconds), ...QUERY_TYPES.map((t) => summarize(t, run.samples.filter((s) => s.type === t), run.seconds))];

    const plans: Array<{ type: QueryType; query: string; statements: Array<{ statementMs: number; plan: string[] }> }> = [];
    if (EXPLAIN) {
      for (const r of results.slice(1)) {
        const slow = r.slowest[0];
        if (!slow) continue;
        const type = r.type as QueryType;
        log(`EXPLAIN ANALYZE of the slowest ${type} query ${JSON.stringify(slow.query)} (${slow.ms} ms under load):`);
        const statements = await explain(ds, readable, slow.query);
        for (const s of statements) console.log(s.plan.map((l) => `    ${l}`).join('\n') + '\n');
        plans.push({ type, query: slow.query, statements });
      }
    }
    await cleanup();

    // ---- report
    console.log('');
    console.log(`Text: ${GENERATION}`);
    console.log('');
    console.log(
      table([
        ['indexing', 'documents', 'seconds', 'docs/s'],
        ...indexRuns.map((r) => [r.path, r.documents.toLocaleString('en'), r.seconds.toFixed(1), String(r.docsPerSec)]),
      ]),
    );
    console.log('');
    console.log(
      table([
        ['queries', 'count', 'q/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'avg hits', '0 hits'],
        ...results.map((r) => [
          r.type,
          String(r.queries),
          r.queriesPerSec.toFixed(1),
          r.latencyMs.p50.toFixed(1),
          r.latencyMs.p95.toFixed(1),
          r.latencyMs.p99.toFixed(1),
          r.latencyMs.max.toFixed(1),
          r.avgTotalHits.toLocaleString('en'),
          `${Math.round(r.zeroHitShare * 100)}%`,
        ]),
      ]),
    );
    console.log('');
    const all = results[0];
    const targets = [
      ...indexRuns.map((r) => ({
        name: `indexing ${r.path} >= ${TARGET_INDEX_DOCS_PER_SEC} docs/s`,
        target: TARGET_INDEX_DOCS_PER_SEC,
        actual: r.docsPerSec,
        pass: r.docsPerSec >= TARGET_INDEX_DOCS_PER_SEC,
      })),
      { name: `search p99 (all types, ${CLIENTS} clients) <= ${TARGET_P99_MS} ms`, target: TARGET_P99_MS, actual: all.latencyMs.p99, pass: all.latencyMs.p99 <= TARGET_P99_MS },
    ];
    for (const t of targets) console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name} (measured ${t.actual})`);
    if (indexRuns.length === 0) console.log('SKIP  indexing targets (BENCH_SKIP_INDEX)');

    const report = {
      benchmark: 'search',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machine(),
      database: { embedded, postgres: pg },
      seed: {
        ...seedInfo,
        documents: DOCS,
        postsPerTopic: POSTS_PER_TOPIC,
        spaces: SPACES.map((s) => ({ slug: `bench-${s.key}`, visibility: s.visibility, language: s.language, sharePercent: s.share, corpora: s.corpora, readableByViewer: s.readable })),
        generation: GENERATION,
        sources,
      },
      index: {
        documents: index.documents,
        terms: index.terms,
        totalMb: round(Number(index.total_bytes) / 2 ** 20),
        ginMb: round(Number(index.gin_bytes) / 2 ** 20),
        skipped: indexRuns.length === 0,
        runs: indexRuns,
        vacuumAnalyzeSeconds: vacuumSeconds,
      },
      queries: queryInfo,
      load: {
        clients: CLIENTS,
        durationSeconds: DURATION,
        measuredSeconds: round(run.seconds, 2),
        warmupSeconds: WARMUP,
        request: { limit: PAGE_SIZE, offset: 0, facets: true, spaces: 'the 3 readable spaces (internal excluded)', moderatedSpaceIds: [] },
        errors: run.errors,
      },
      results,
      explain: plans,
      targets,
    };
    writeResults('search', startedAt, report);

    if (run.errors > 0) {
      console.error(`bench: error: ${run.errors} queries failed during the run; the first: ${(run.firstError as Error)?.message ?? run.firstError}`);
      return 1;
    }
    return 0;
  } finally {
    await cleanup();
  }
}

runBench(main);
