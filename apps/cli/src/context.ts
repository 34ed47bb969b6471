import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig, loadConfig } from '../../../libs/core/src/config/config';
import { CoreModule } from '../../../libs/core/src/core.module';
import { DatabaseHandle } from '../../../libs/core/src/database/embedded';
import { migrateDatabase } from '../../../libs/core/src/database/migrate';
import { openDatabase } from '../../../libs/core/src/database/open';
import { FEATURE_MODULES } from '../../api/src/app.module';
import { handleInterrupts, onInterrupt } from './interrupt';

export interface CliEnv {
  config: AppConfig;
  db: DatabaseHandle;
}

/** Opens the database (embedded or DATABASE_URL), applies pending migrations, runs `fn`, cleans up. */
export async function withDatabase<T>(fn: (env: CliEnv) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config);
  // Interrupted, the database is stopped as at the end: left running for a server that joined it.
  handleInterrupts();
  const stopped = onInterrupt(() => db.stop());
  try {
    if (opts.migrate !== false) await migrateDatabase(db.url);
    return await fn({ config, db });
  } finally {
    stopped();
    await db.stop();
  }
}

/** The services without the HTTP layer, for commands that act on the domain. */
export async function withServices<T>(fn: (app: INestApplicationContext, env: CliEnv) => Promise<T>): Promise<T> {
  return withDatabase(async (env) => {
    @Module({ imports: [CoreModule.forRoot({ config: env.config, databaseUrl: env.db.url }), ...FEATURE_MODULES] })
    class CliModule {}
    const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
    const closed = onInterrupt(() => app.close());
    try {
      return await fn(app, env);
    } finally {
      closed();
      await app.close();
    }
  });
}
