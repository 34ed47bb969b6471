import 'reflect-metadata';
import { runServer } from '../../api/src/process';

/**
 * The background process for production set-ups (`npm run start:worker`): consumes
 * the outbox and runs housekeeping. With the embedded database the API runs the
 * same loop in-process, so this is only needed with DATABASE_URL.
 *
 * Signals are the process's before anything opens, before even its modules load (see the API's main).
 */
runServer('The Parvis worker', async (config, log, signals) => {
  const [{ Logger }, { createWorkerContext }, { openDatabase }, { OutboxWorker }, { JobScheduler }] = await Promise.all([
    import('nestjs-pino'),
    import('./worker.module.js'),
    import('../../../libs/core/src/database/open.js'),
    import('../../../libs/core/src/outbox/outbox.js'),
    import('../../../libs/core/src/jobs.js'),
  ]);
  // Interrupted meanwhile, it goes no further (Signals.step): the database's stop would count what opened next as another process's.
  const [db] = await signals.step(openDatabase(config, { log: (m) => log.debug(m), info: (m) => log.info(m), ending: () => signals.ending }), (opened) => opened.stop());

  const [app] = await signals.step(createWorkerContext(config, db.url, { retryConnection: () => !signals.ending }), (opened) => opened.close());
  app.useLogger(app.get(Logger));
  const worker = app.get(OutboxWorker);
  await signals.step(worker.start({ listen: true }), () => worker.stop());
  const jobs = app.get(JobScheduler);
  jobs.start();
  signals.onStop(async () => jobs.stop());
  log.info('Parvis worker is consuming the outbox');
  // Whatever WORKER_IN_PROCESS says: this process runs the worker (a pool of one is refused).
}, { outboxWorker: true });
