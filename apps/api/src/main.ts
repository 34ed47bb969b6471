import 'reflect-metadata';
import { openDatabase } from '../../../libs/core/src/database/open';
import { migrateDatabase } from '../../../libs/core/src/database/migrate';
import { OutboxWorker } from '../../../libs/core/src/outbox/outbox';
import { JobScheduler } from '../../../libs/core/src/jobs';
import { createApp } from './app';
import { startProcess, stopOnSignals } from './process';

async function main(): Promise<void> {
  const { config, log } = startProcess();

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

  stopOnSignals(log, async () => {
    jobs.stop();
    await worker.stop();
    await app.close();
    await db.stop();
  });
}

main().catch((err) => {
  process.stderr.write(`Parvis failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
