import 'reflect-metadata';
import { runServer } from './process';
import type { AddressInfo } from 'node:net';

// Signals are the process's before anything opens, before even the application's modules load
// (seconds on a busy machine); each step registers its cleanup as it starts, so Ctrl-C at any
// point closes what is open, newest first, and the database last.
runServer('Parvis', async (config, log, signals) => {
  const [{ openDatabase }, { migrateDatabase }, { OutboxWorker }, { JobScheduler }, { createApp }] = await Promise.all([
    import('../../../libs/core/src/database/open.js'),
    import('../../../libs/core/src/database/migrate.js'),
    import('../../../libs/core/src/outbox/outbox.js'),
    import('../../../libs/core/src/jobs.js'),
    import('./app.js'),
  ]);
  if (config.embedded) log.info({ dataDir: config.dataDir }, 'using the embedded PostgreSQL');
  const opening = openDatabase(config, (m) => log.debug(m), (m) => log.info(m));
  signals.onStopOnceOpen(opening, (db) => db.stop());
  const db = await opening;

  if (config.MIGRATE_ON_START) {
    const applied = await signals.waitFor(migrateDatabase(db.url));
    log.info({ applied }, applied.length ? 'applied migrations' : 'database schema is up to date');
  }

  const creating = createApp(config, db.url);
  signals.onStopOnceOpen(creating, (app) => app.close());
  const app = await creating;
  if (config.workerInProcess) {
    const worker = app.get(OutboxWorker);
    const jobs = app.get(JobScheduler);
    const starting = worker.start({ listen: true });
    signals.onStopOnceOpen(starting, () => worker.stop());
    await starting;
    jobs.start();
    signals.onStop(async () => jobs.stop());
  }
  await app.listen(config.PORT, config.HOST);
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  // The port bound, which PORT=0 leaves to the system.
  const port = (app.getHttpServer().address() as AddressInfo).port;
  log.info(`Parvis is listening on http://${host}:${port} (GraphQL at http://${host}:${port}/graphql)`);
});
