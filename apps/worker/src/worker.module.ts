import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../../libs/core/src/config/config';
import { CoreModule, CoreOptions } from '../../../libs/core/src/core.module';
import { FEATURE_MODULES } from '../../api/src/app.module';
import { loggerOptions } from '../../api/src/logging';

/** What createWorkerContext is told besides the config and the database's URL. */
export type WorkerContextOptions = Pick<CoreOptions, 'retryConnection'>;

/**
 * The worker's services: the API's feature modules without the HTTP layer or the live gateway.
 * It serves no live connections, so what it commits is relayed to the API nodes (`live_relay`).
 * Logs go as the API's do: JSON through pino, at LOG_LEVEL, with the same redaction and error serializer.
 * Its options are named (`retryConnection`: CoreOptions'), as openDatabase's are, not positional.
 */
export function createWorkerContext(config: AppConfig, databaseUrl: string, { retryConnection }: WorkerContextOptions = {}): Promise<INestApplicationContext> {
  @Module({ imports: [LoggerModule.forRoot(loggerOptions(config)), CoreModule.forRoot({ config, databaseUrl, relayLiveEvents: true, retryConnection }), ...FEATURE_MODULES] })
  class WorkerModule {}
  // A module that fails to start rejects (the start's cleanups run, then "failed to start"), not Nest's exit 1 at once.
  return NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true, abortOnError: false });
}
