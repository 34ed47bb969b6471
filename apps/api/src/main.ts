import 'reflect-metadata';
import cluster from 'node:cluster';
import { apiWorker, foreignClusterWorker, holdHandedConnections } from './api-worker';
import { runServer } from './process';
import type { AddressInfo } from 'node:net';

// Signals are the process's before anything opens, before even the application's modules load
// (seconds on a busy machine); each step registers its cleanup as it starts, so Ctrl-C at any
// point closes what is open, newest first, and the database last. With API_WORKERS above 1 this
// process opens the database and is the primary of the workers that serve (cluster.ts); each
// worker runs this file too, and builds the application on the database the primary opened.
holdHandedConnections();
runServer('Parvis', async (config, log, signals) => {
  const worker = apiWorker();
  /** Opens the database (DATABASE_URL or the embedded PostgreSQL) and migrates it: the URL the application opens on. */
  const openMigrated = async (): Promise<string> => {
    const [{ openDatabase }, { migrateDatabase }] = await Promise.all([
      import('../../../libs/core/src/database/open.js'),
      import('../../../libs/core/src/database/migrate.js'),
    ]);
    if (config.embedded) log.info({ dataDir: config.dataDir }, 'using the embedded PostgreSQL');
    // Interrupted while it opened (an embedded PostgreSQL starting), the start stops here: the migrations would open
    // connections the database's stop, under way, would count as another process's (Signals.step).
    const [db] = await signals.step(openDatabase(config, { log: (m) => log.debug(m), info: (m) => log.info(m), ending: () => signals.ending }), (opened) => opened.stop());

    if (config.MIGRATE_ON_START) {
      const applied = await signals.waitFor(migrateDatabase(db.url));
      log.info({ applied }, applied.length ? 'applied migrations' : 'database schema is up to date');
    }
    return db.url;
  };
  // The primary of several workers loads none of the application (Nest, the AppModule graph): it only opens the
  // database, forks, relays and hands connections out.
  if (!worker && cluster.isPrimary && config.API_WORKERS > 1) {
    const databaseUrl = await openMigrated();
    return (await signals.unlessEnding(import('./cluster.js'))).runPrimary(config, log, signals, databaseUrl);
  }
  // The process that serves loads the application while the database opens.
  const loadingApp = Promise.all([
    import('../../../libs/core/src/outbox/outbox.js'),
    import('../../../libs/core/src/jobs.js'),
    import('../../../libs/realtime/src/live.gateway.js'),
    import('./app.js'),
    import('./cluster.js'),
  ]);
  // Awaited below, or never if the database fails to open first: no rejection of it left unhandled meanwhile.
  loadingApp.catch(() => undefined);
  const databaseUrl = worker ? worker.databaseUrl : await openMigrated();

  const [{ OutboxWorker }, { JobScheduler }, { LiveGateway }, { createApp }, { listeningLine, serveAsWorker }] = await signals.unlessEnding(loadingApp);
  const [app] = await signals.step(createApp(config, databaseUrl, { retryConnection: () => !signals.ending }), (opened) => opened.close());
  // Of several workers, the first alone runs the outbox worker and the jobs, as one process would (both are safe on
  // several nodes, claiming with SKIP LOCKED and advisory locks; more of them here would only hold more connections).
  if (config.workerInProcess && (worker?.number ?? 1) === 1) {
    const outbox = app.get(OutboxWorker);
    const jobs = app.get(JobScheduler);
    await signals.step(outbox.start({ listen: true }), () => outbox.stop());
    jobs.start();
    signals.onStop(async () => jobs.stop());
  }
  if (worker) return serveAsWorker(app, app.get(LiveGateway).server, log, worker.number);
  await app.listen(config.PORT, config.HOST);
  log.info(listeningLine(config, app.getHttpServer().address() as AddressInfo));
}, { foreignClusterWorker: foreignClusterWorker() });
