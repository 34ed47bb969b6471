import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger, LoggerModule } from 'nestjs-pino';
import { FEATURE_MODULES } from '../../api/src/app.module';
import { loggerOptions } from '../../api/src/logging';
import { runServer } from '../../api/src/process';
import { CoreModule } from '../../../libs/core/src/core.module';
import { openDatabase } from '../../../libs/core/src/database/open';
import { OutboxWorker } from '../../../libs/core/src/outbox/outbox';
import { JobScheduler } from '../../../libs/core/src/jobs';

/**
 * The background process for production set-ups (`npm run start:worker`): consumes
 * the outbox and runs housekeeping. With the embedded database the API runs the
 * same loop in-process, so this is only needed with DATABASE_URL.
 */
runServer('The Parvis worker', async (config, log, signals) => {
  const opening = openDatabase(config, (m) => log.debug(m));
  signals.onStopOnceOpen(opening, (db) => db.stop());
  const db = await opening;

  // Logs as the API logs: JSON through pino, at LOG_LEVEL, with the same redaction and error serializer.
  @Module({ imports: [LoggerModule.forRoot(loggerOptions(config)), CoreModule.forRoot({ config, databaseUrl: db.url }), ...FEATURE_MODULES] })
  class WorkerModule {}
  const creating = NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true });
  signals.onStopOnceOpen(creating, (app) => app.close());
  const app = await creating;
  app.useLogger(app.get(Logger));
  const worker = app.get(OutboxWorker);
  const starting = worker.start(db.url);
  signals.onStopOnceOpen(starting, () => worker.stop());
  await starting;
  const jobs = app.get(JobScheduler);
  jobs.start();
  signals.onStop(async () => jobs.stop());
  log.info('Parvis worker is consuming the outbox');
});
