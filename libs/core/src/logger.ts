import type { LoggerService } from '@nestjs/common';
import { Writable } from 'node:stream';
import { types } from 'node:util';
import pino, { DestinationStream, LogFn, Logger } from 'pino';
import { redacted } from './log-redaction';

/**
 * Paths pino replaces with "[redacted]": credentials never reach the log, whatever object holds them (a class's instance
 * too, which `redacted` leaves as it is).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.appealToken',
  '*.inviteToken',
  // An error's details, should one ever be logged whole.
  '*.details.extensions.appealToken',
  '*.*.details.extensions.appealToken',
  'password',
  'token',
  'appealToken',
  'inviteToken',
];

/**
 * pino's `logMethod` hook: a line's every argument (its fields, its error, its message and what the message formats) goes
 * through `redacted` (a copy where anything changed; the caller's left as it was): a failed statement's parameters and
 * the server's detail (rows' values) are left out, and URLs' passwords, in an error, its causes and fields. pino takes a
 * line's message from its error's when none is given (`log.error(err)`, Nest's `logger.error(err)`, an exception Nest
 * logs), and fields and messages other than `err` (a reason's message, a text naming a URL) carry text too. Meilisearch's
 * client's errors name MEILI_URL whole (`Request to <MEILI_URL>/… has failed`), its password included, and Node's fetch
 * refusing such a URL names it too; pino's `*.password` paths do not reach inside a string.
 *
 * With `redactedBindings`, the one place what a line carries is walked: pino's error serializer (its own, and pino-http's
 * wrapping of it) gets what this hook or the bindings' redaction left, and walks nothing again.
 */
export function logRedacted(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  method.apply(this, args.map((arg) => redacted(arg)) as Parameters<LogFn>);
}

/**
 * The fields a logger binds to every line of its own (`log.child({ err })`, pino-http's child per request, nestjs-pino's
 * `assign` through `setBindings`) reach no log call's arguments, so not the `logMethod` hook: they go through `redacted`
 * when they are bound, once, rather than on every line. Set on the root logger, these are the methods of every child of
 * it (a child is made from its parent's prototype), pino-http's included; pino's `formatters.bindings` is no such place
 * (pino resets it for every child).
 */
function redactedBindings(log: Logger): Logger {
  // pino's own methods, as called on a child: untyped here (their generics cannot be spelled over one `this`).
  type Method = (this: Logger, ...args: unknown[]) => unknown;
  const child = log.child as unknown as Method;
  const setBindings = log.setBindings as unknown as Method;
  const own = {
    child(this: Logger, bindings: unknown, options?: unknown) {
      return child.call(this, redacted(bindings), options);
    },
    setBindings(this: Logger, bindings: unknown) {
      setBindings.call(this, redacted(bindings));
    },
  };
  return Object.assign(log, own as unknown as Pick<Logger, 'child' | 'setBindings'>);
}

export interface LoggerSettings {
  /** pino's level (LOG_LEVEL). */
  level: string;
  /** Where the lines go: stdout when not given. */
  stream?: NodeJS.WritableStream;
  /** Lines for a person at a terminal (the CLI's): `WARN [context] message`, rather than JSON. */
  text?: boolean;
}

/**
 * The one logger of every process (the API's and the worker's, through nestjs-pino and on their own; the CLI's): pino
 * with REDACT_PATHS, the `logRedacted` hook and `redactedBindings`, so no entry point logs otherwise. Each thing a line
 * carries is walked once: its arguments by the hook, as the line is logged; its logger's bindings when they were bound.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const stream = settings.text ? textLines(settings.stream ?? process.stderr) : settings.stream;
  const options = { level: settings.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, hooks: { logMethod: logRedacted } };
  return redactedBindings(stream ? pino(options, stream as DestinationStream) : pino(options));
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const NOT_SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'context', 'msg', 'err']);

/**
 * pino's JSON lines (redacted already) as a person reads them: `WARN [Search] message`, the error's type and message (its
 * causes' messages in it, as pino's serializer writes them) on the line after it, other fields as JSON on one more.
 * Written at once (the CLI exits right after what it says). pino's lines are parsed back rather than made another way:
 * REDACT_PATHS are applied only as pino writes the line (its stringifier), and no hook of pino's sees a line after
 * that but as the text it writes (`hooks.streamWrite` too); a text formatter of our own beside pino would redact anew.
 */
function textLines(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const json of String(chunk).split('\n')) {
        if (!json) continue;
        const line = JSON.parse(json) as Record<string, unknown>;
        const head = [LEVELS[line.level as number] ?? String(line.level), line.context ? `[${String(line.context)}]` : '', line.msg ?? ''].filter((s) => s !== '').join(' ');
        // One line for the error: pino's serializer wrote its causes' messages into its own (`outer: inner`), and no cause.
        const err = line.err as { type?: string; message?: string } | undefined;
        const errors = err ? [`  ${err.type ?? 'Error'}: ${err.message ?? ''}`] : [];
        const rest = Object.fromEntries(Object.entries(line).filter(([k]) => !NOT_SHOWN.has(k)));
        const fields = Object.keys(rest).length ? [`  ${JSON.stringify(rest)}`] : [];
        out.write(`${[head, ...errors, ...fields].join('\n')}\n`);
      }
      done();
    },
  });
}

/**
 * A pino logger as Nest's logger (`NestFactory.create…({ logger })`, where nestjs-pino's module is not loaded: the CLI's),
 * called as nestjs-pino's `Logger` is: the context is the last argument, an object's fields and an error go on the line.
 * It reads nothing of the message itself (a getter that throws, a revoked Proxy: a line must not throw) and redacts
 * nothing: the message goes to pino as it came, its fields merged by pino, redacted once by the `logMethod` hook; the
 * context is a child's binding (one child per context, as Nest's are few: its classes' names).
 */
export class PinoNestLogger implements LoggerService {
  private readonly contexts = new Map<unknown, Logger>();

  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.call('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.call('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.call('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.call('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.call('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.call('fatal', message, params);
  }

  private call(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', message: unknown, params: unknown[]): void {
    const log = params.length ? this.withContext(params[params.length - 1]) : this.pino;
    // The arguments as Nest gives them (its texts are a message's format arguments), which pino's types cannot follow.
    const write = (...args: unknown[]) => (log[level] as (...a: unknown[]) => void).apply(log, args);
    const texts = params.slice(0, -1).filter((p) => p !== undefined);
    // An error of any realm (jest's modules run in one of their own) under `err`, where pino looks for it; never
    // `instanceof`, which throws on a revoked Proxy.
    if (types.isNativeError(message)) write({ err: message }, ...texts);
    else if (message && typeof message === 'object') write(message, ...texts);
    else if (level === 'error' && texts.length === 1 && typeof texts[0] === 'string' && /\n\s*at /.test(texts[0])) {
      // Nest's exception handlers' (message, stack).
      write({ err: Object.assign(new Error(String(message)), { stack: texts[0] }) });
    } else write(String(message), ...texts);
  }

  private withContext(context: unknown): Logger {
    let log = this.contexts.get(context);
    if (!log) {
      log = this.pino.child({ context });
      if (this.contexts.size < 100) this.contexts.set(context, log);
    }
    return log;
  }
}
