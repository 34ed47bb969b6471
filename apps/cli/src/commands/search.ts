import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { SearchAdmin } from '../../../../libs/search/src/search-admin';
import { loadConfig } from '../../../../libs/core/src/config/config';
import { withServices } from '../context';
import { engineOption } from '../options';

/** The pool's size as the command will open it (DB_POOL_SIZE), or undefined when the configuration does not load. */
function configuredPoolSize(): number | undefined {
  try {
    return loadConfig(process.env, { outboxWorker: false }).DB_POOL_SIZE;
  } catch {
    return undefined;
  }
}

export function registerSearchCommands(program: Command): void {
  program
    .command('search:reindex')
    .description('Rebuild the search index from the database in batches; search keeps answering meanwhile')
    .addOption(engineOption())
    .option('--concurrency <n>', 'batches of 500 posts indexed at once, at most DB_POOL_SIZE (default: 2, or DB_POOL_SIZE if smaller)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new InvalidArgumentError('expected an integer from 1 to 16');
      // Each batch in flight holds one of the pool's connections: more would wait for one, and a
      // wait past DB_CONNECTION_TIMEOUT_MS fails the rebuild. A configuration that does not load
      // is named by the command itself, before the database opens (withDatabase).
      const pool = configuredPoolSize();
      if (pool !== undefined && n > pool) throw new InvalidArgumentError(`expected at most DB_POOL_SIZE (${pool}) batches at once: each holds one of the pool's connections`);
      return n;
    })
    // Without --concurrency, SearchAdmin.rebuild runs REBUILD_CONCURRENCY batches, or as many as the pool has connections.
    .action((opts: { engine: string; concurrency?: number }) =>
      withServices(async (app) => {
        const admin = app.get(SearchAdmin);
        const engines = admin.targets(opts.engine);
        const bar = new SingleBar({ format: 'indexing {bar} {percentage}% | {value}/{total} posts | {eta_formatted} left', stream: process.stderr }, Presets.shades_classic);
        let started = false;
        const began = Date.now();
        const n = await admin.rebuild(engines, (done, total) => {
          if (!started) {
            bar.start(total, done);
            started = true;
          } else {
            bar.setTotal(total);
            bar.update(done);
          }
        }, opts.concurrency);
        bar.stop();
        const seconds = (Date.now() - began) / 1000;
        console.log(`Indexed ${n} posts into ${engines.map((e) => e.name).join(' and ')} in ${seconds.toFixed(1)} s (${Math.round(n / Math.max(seconds, 0.001))}/s).`);
      }),
    );
  program
    .command('search:status')
    .description('Documents per engine, and how far indexing lags behind the database')
    .action(() =>
      withServices(async (app) => {
        const s = await app.get(SearchAdmin).status();
        for (const e of s.engines) console.log(`${e.name}: ${e.documents ?? 'unreachable'} documents${e.error ? ` (${e.error})` : ''}`);
        console.log(`posts in the database: ${s.posts}`);
        console.log(`outbox backlog: ${s.outbox.pending} events, oldest ${s.outbox.lagSeconds} s old`);
        if (s.externalQueue) console.log(`external engine queue: ${s.externalQueue.pending} documents (${s.externalQueue.failing} failing), oldest ${Math.round(s.externalQueue.lagSeconds)} s old`);
      }),
    );
}
