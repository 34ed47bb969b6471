import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger, LoggerModule } from 'nestjs-pino';
import { FEATURE_MODULES } from '../../api/src/app.module';
import { loggerOptions } from '../../api/src/logging';
import { failedToStart, startProcess, stopOnSignals } from '../../api/src/process';
import { CoreModule } from '../../../libs/core/src/core.module';
import { openDatabase } from '../../../libs/core/src/database/open';
import { OutboxWorker } from '../../../libs/core/src/outbox/outbox';
import { JobScheduler } from '../../../libs/core/src/jobs';

/**
 * The background process for production set-ups (`npm run start:worker`): consumes
 * the outbox and runs housekeeping. With the embedded database the API runs the
 * same loop in-process, so this is only needed with DATABASE_URL.
 */
async function main(): Promise<void> {
  const { config, log } = startProcess();
  const db = await openDatabase(config, (m) => log.debug(m));

  // Logs as the API logs: JSON through pino, at LOG_LEVEL, with the same redaction and error serializer.
  @Module({ imports: [LoggerModule.forRoot(loggerOptions(config)), CoreModule.forRoot({ config, databaseUrl: db.url }), ...FEATURE_MODULES] })
  class WorkerModule {}
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  const worker = app.get(OutboxWorker);
  await worker.start(db.url);
  const jobs = app.get(JobScheduler);
  jobs.start();
  log.info('Parvis worker is consuming the outbox');

  stopOnSignals(log, async () => {
    jobs.stop();
    await worker.stop();
    await app.close();
    await db.stop();
  });
}

main().catch((err) => failedToStart('The Parvis worker', err));
