import 'reflect-metadata';
import { openDatabase } from '../../../libs/core/src/database/open';
import { migrateDatabase } from '../../../libs/core/src/database/migrate';
import { OutboxWorker } from '../../../libs/core/src/outbox/outbox';
import { JobScheduler } from '../../../libs/core/src/jobs';
import { createApp } from './app';
import { failedToStart, startProcess, stopOnSignals } from './process';
import type { AddressInfo } from 'node:net';

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
  // The port bound, which PORT=0 leaves to the system.
  const port = (app.getHttpServer().address() as AddressInfo).port;
  log.info(`Parvis is listening on http://${host}:${port} (GraphQL at http://${host}:${port}/graphql)`);

  stopOnSignals(log, async () => {
    jobs.stop();
    await worker.stop();
    await app.close();
    await db.stop();
  });
}

main().catch((err) => failedToStart('Parvis', err));
