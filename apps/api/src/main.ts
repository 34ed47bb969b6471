import 'reflect-metadata';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../../libs/core/src/config/config';
import { openDatabase } from '../../../libs/core/src/database/open';
import { migrateDatabase } from '../../../libs/core/src/database/migrate';
import { OutboxWorker } from '../../../libs/core/src/outbox/outbox';
import { JobScheduler } from '../../../libs/core/src/jobs';
import { REDACT_PATHS } from './logging';
import { createApp } from './app';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({ level: config.LOG_LEVEL, redact: REDACT_PATHS });

  if (config.embedded) log.info({ dataDir: config.dataDir }, 'using the embedded PostgreSQL');
  const db = await openDatabase(config, (m) => log.debug(m));

  if (config.MIGRATE_ON_START) {
    const applied = await migrateDatabase(db.url);
    log.info({ applied }, applied.length ? 'applied migrations' : 'database schema is up to date');
  }

  const app = await createApp(config, db.url);
  const worker = app.get(OutboxWorker);
  const jobs = app.get(JobScheduler);
  if (config.workerInProcess) {
    await worker.start(db.url);
    jobs.start();
  }
  await app.listen(config.PORT, config.HOST);
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  log.info(`Parvis is listening on http://${host}:${config.PORT} (GraphQL at http://${host}:${config.PORT}/graphql)`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    // If a dependency hangs (PostgreSQL gone first), do not wait forever.
    setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
    try {
      jobs.stop();
      await worker.stop();
      await app.close();
      await db.stop();
    } catch (err) {
      log.error({ err }, 'error while shutting down');
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`Parvis failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
