import { handleInterrupts } from '../interrupt';
import { openInterruptible, withContext } from '../context';
import { Command } from 'commander';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../../../libs/core/src/config/config';
import { migrateDatabase } from '../../../../libs/core/src/database/migrate';
import { averagePrecision, mean, ndcgAt } from '../../../../libs/search/src/eval/metrics';
import { RELEVANT_LABELS, importSemEvalThreads, readSemEval } from '../../../../libs/search/src/eval/semeval';
import { MeiliSearchEngine } from '../../../../libs/search/src/meili/meili.engine';
import { SearchAdmin } from '../../../../libs/search/src/search-admin';
import { SearchEngine } from '../../../../libs/search/src/search-engine';
import { SearchEngines } from '../../../../libs/search/src/search-engines';
import { inputFile } from '../../../../libs/core/src/input-file';
import { engineOption } from '../options';

const RESULTS = 100;

interface EngineScore {
  engine: string;
  questions: number;
  map: number;
  ndcg10: number;
  /** Relevant threads found anywhere in the first RESULTS hits, over all relevant threads. */
  recall: number;
  /** Milliseconds per query (the engine's search call), mean and 95th percentile. */
  ms: { mean: number; p95: number };
}

/**
 * Imports the file's related threads into a throwaway database, searches them with each
 * original question (subject and body, as a person would paste it) and scores the ranking
 * against the file's judgements. Nothing is tuned per query.
 */
async function evaluate(file: string, engineName: string): Promise<EngineScore[]> {
  const set = await readSemEval(file);
  // A command runs no outbox worker: the worker's minimum pool (OUTBOX_WORKER_MIN_POOL_SIZE) is not asked of it.
  const config = loadConfig(process.env, { outboxWorker: false });
  const stamp = `${Date.now().toString(36)}_${process.pid}`;
  config.MEILI_INDEX = `parvis_eval_${stamp}`;
  const { db: server, stop } = await openInterruptible(config);
  const evalDb = `parvis_eval_${stamp}`;
  const admin = new Client({ connectionString: server.url });
  // Interrupted, the throwaway database goes all the same (and the server stops, as at the end). Dropped at the end
  // through that same cleanup, once (Signals.cleanup): a signal meanwhile waits for the drop before the server stops.
  const drop = handleInterrupts().cleanup(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${evalDb} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  });
  const url = new URL(server.url);
  url.pathname = `/${evalDb}`;
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${evalDb}`);
    await migrateDatabase(url.toString());
    // The same context as withServices' (the interrupt's cleanup, closed once; no retry once interrupted; a failed start
    // said once), on the throwaway database, relaying nothing to open pages.
    return await withContext({ config, databaseUrl: url.toString(), relayLiveEvents: false }, async (app) => {
      const topicOf = await importSemEvalThreads(app.get(DataSource), set);
      const threadOf = new Map([...topicOf].map(([thread, topic]) => [topic, thread]));
      const searchAdmin = app.get(SearchAdmin);
      const engines = searchAdmin.targets(engineName);
      const [space] = await app.get(DataSource).query(`SELECT id FROM spaces WHERE slug = 'semeval'`);
      await searchAdmin.rebuild(engines);
      // What the worker's job search-lexeme-counts would fold in within seconds: the counts queries are weighed by.
      await app.get(SearchEngines).postgres.foldCounts();
      const scores: EngineScore[] = [];
      for (const engine of engines) scores.push(await score(engine, set.questions, space.id, threadOf));
      for (const engine of engines) {
        if (engine instanceof MeiliSearchEngine) await engine.deleteIndex().catch(() => undefined);
      }
      return scores;
    });
  } finally {
    await drop();
    await stop();
  }
}

async function score(engine: SearchEngine, questions: Awaited<ReturnType<typeof readSemEval>>['questions'], spaceId: string, threadOf: Map<string, string>): Promise<EngineScore> {
  const aps: number[] = [];
  const ndcgs: number[] = [];
  let found = 0;
  let relevantTotal = 0;
  const times: number[] = [];
  for (const q of questions) {
    const relevant = new Set([...q.labels].filter(([, label]) => RELEVANT_LABELS.has(label)).map(([id]) => id));
    if (relevant.size === 0) continue; // no judged answer: average precision is undefined
    const began = performance.now();
    const result = await engine.search({ query: `${q.subject}\n${q.body}`, filters: { spaceIds: [spaceId] }, limit: RESULTS, offset: 0 });
    times.push(performance.now() - began);
    // A person sees threads: a thread ranks where its best-matching post does.
    const ranked: string[] = [];
    for (const h of result.hits) {
      const thread = threadOf.get(h.topicId);
      if (thread && !ranked.includes(thread)) ranked.push(thread);
    }
    aps.push(averagePrecision(ranked, relevant));
    ndcgs.push(ndcgAt(10, ranked, relevant));
    found += ranked.filter((id) => relevant.has(id)).length;
    relevantTotal += relevant.size;
  }
  times.sort((a, b) => a - b);
  const ms = { mean: mean(times), p95: times[Math.min(times.length - 1, Math.floor(times.length * 0.95))] ?? 0 };
  return { engine: engine.name, questions: aps.length, map: mean(aps), ndcg10: mean(ndcgs), recall: relevantTotal ? found / relevantTotal : 0, ms };
}

export function registerEvalSearchCommands(program: Command): void {
  program
    .command('eval:search')
    .description('Relevance on a SemEval-2016 Task 3 (Qatar Living) file: MAP, nDCG@10 and recall@100, PerfectMatch and Relevant counting as relevant')
    .argument('<file>', 'SemEval-2016 Task 3 CQA-QL XML file')
    .addOption(engineOption())
    .action(async (file: string, opts: { engine: string }) => {
      const began = Date.now();
      // Refused before the throwaway database is made.
      const scores = await evaluate(inputFile(file, 'a SemEval-2016 Task 3 CQA-QL XML file'), opts.engine);
      console.log(`engine        questions    MAP  nDCG@10  recall@${RESULTS}  ms/query  p95 ms`);
      for (const s of scores) {
        console.log(
          `${s.engine.padEnd(12)}  ${String(s.questions).padStart(9)}  ${s.map.toFixed(3)}  ${s.ndcg10.toFixed(3).padStart(7)}  ${s.recall.toFixed(3).padStart(10)}  ${s.ms.mean.toFixed(0).padStart(8)}  ${s.ms.p95.toFixed(0).padStart(6)}`,
        );
      }
      console.log(`(${((Date.now() - began) / 1000).toFixed(1)} s)`);
    });
}
