import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { FEATURE_MODULES } from '../../api/src/app.module';
import { REDACT_PATHS } from '../../api/src/logging';
import { loadConfig } from '../../../libs/core/src/config/config';
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
  const config = loadConfig();
  const log = pino({ level: config.LOG_LEVEL, redact: REDACT_PATHS });
  const db = await openDatabase(config, (m) => log.debug(m));

  @Module({ imports: [CoreModule.forRoot({ config, databaseUrl: db.url }), ...FEATURE_MODULES] })
  class WorkerModule {}
  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn', 'log'] });
  const worker = app.get(OutboxWorker);
  await worker.start(db.url);
  const jobs = app.get(JobScheduler);
  jobs.start();
  log.info('Parvis worker is consuming the outbox');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'worker shutting down');
    setTimeout(() => process.exit(1), 10_000).unref();
    jobs.stop();
    await worker.stop();
    await app.close();
    await db.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`Parvis worker failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
