import type { LoggerService } from '@nestjs/common';
import { Writable } from 'node:stream';
import { types } from 'node:util';
import pino, { DestinationStream, LogFn, Logger, stdSerializers } from 'pino';
import { redacted, walksInto } from './log-redaction';

/**
 * Paths pino replaces with "[redacted]": what only its serializers write, which no hook of ours sees (pino-http's request
 * and response, should their headers ever be written). Fields named as secrets (`password`, `token`, …), wherever they
 * are, are the walker's (`redacted`'s SECRET_NAMES), as is everything else: until 2026-12-07 they were paths here too
 * (`*.password`, …), one level deep, and pino's redaction cloned what such a path passed, whatever its class (a URL's or
 * a Buffer's clone threw as the line was written). No path here starts with `*`, so it clones only `req` and `res`.
 */
export const REDACT_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'];

/**
 * pino's `logMethod` hook: a line's every argument (its fields, its error, its message and what the message formats) goes
 * through `redacted` (a copy where anything changed; the caller's left as it was): a failed statement's parameters and
 * the server's detail (rows' values) are left out, and URLs' passwords, in an error, its causes and fields. pino takes a
 * line's message from its error's when none is given (`log.error(err)`, Nest's `logger.error(err)`, an exception Nest
 * logs), and fields and messages other than `err` (a reason's message, a text naming a URL) carry text too. Meilisearch's
 * client's errors name MEILI_URL whole (`Request to <MEILI_URL>/… has failed`), its password included, and Node's fetch
 * refusing such a URL names it too; a field named `password` is the walker's too (SECRET_NAMES), at any depth.
 *
 * With `redactedBindings`, the one place what a line carries is walked: pino's error serializer (its own, and pino-http's
 * wrapping of it) gets what this hook or the bindings' redaction left, and walks nothing again (but what they could not
 * walk, `serializeError`).
 */
export function logRedacted(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  method.apply(this, args.map((arg) => redacted(arg)) as Parameters<LogFn>);
}

/** The prototype of pino's serialized errors: pino-http hands an `err` serializer of its settings one (its `raw`, the error logged). */
const PINO_ERROR = Object.getPrototypeOf(stdSerializers.err(new Error())) as object;

/**
 * pino's error serializer, and for what the hook and the bindings' redaction keep as it is under `err` (an object of
 * another class: what some libraries reject with, a `message` and fields of its own, which pino's serializer reads as an
 * error's) its line walked, made plain first (pino's serialized error is of a class of its own, which `redacted` keeps as
 * it is). An error, a plain object, was walked already: its line is pino's own, not walked again. pino-http hands it pino's
 * serialized error (its wrapErrorSerializer), whose `raw` is what was logged. Until 2026-12-07 (and from the change that
 * walked each line once until this one) such an object's message and fields were written as they came.
 */
export function serializeError(err: unknown): unknown {
  const serialized = !!err && typeof err === 'object' && Object.getPrototypeOf(err) === PINO_ERROR;
  const line: unknown = serialized ? err : stdSerializers.err(err as Error);
  const logged: unknown = serialized ? (err as { raw: unknown }).raw : err;
  if (!logged || typeof logged !== 'object' || walksInto(logged)) return line;
  let plain: unknown;
  try {
    plain = JSON.parse(JSON.stringify(line));
  } catch {
    // What JSON cannot write (a BigInt, a cycle) pino cannot either: its own fields, one level, walked.
    plain = { ...(line as object) };
  }
  return redacted(plain);
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
 * with REDACT_PATHS, the `logRedacted` hook, `redactedBindings` and `serializeError`, so no entry point logs otherwise. Each thing a line
 * carries is walked once: its arguments by the hook, as the line is logged; its logger's bindings when they were bound.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const stream = settings.text ? textLines(settings.stream ?? process.stderr) : settings.stream;
  const options = { level: settings.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { err: serializeError }, hooks: { logMethod: logRedacted } };
  return redactedBindings(stream ? pino(options, stream as DestinationStream) : pino(options));
}

/**
 * An object given to PinoNestLogger as its message, as nestjs-pino's Logger (the API's) puts one on the line: one `redacted`
 * walks (a plain object, an array) as it is; one of another class, which it keeps as it is, as its own fields
 * (`Object.assign`, as nestjs-pino's), which it walks. One that cannot be looked at (a revoked Proxy, a getter that throws)
 * goes as it is, for the hook to make `[redacted: unreadable]` of what it cannot read.
 */
function ownFields(message: object): object {
  try {
    return walksInto(message) ? message : Object.assign({}, message);
  } catch {
    return message;
  }
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
 * It redacts nothing and reads nothing of the message but an object's own fields when it is of a class `redacted` keeps
 * as it is (`ownFields`; a getter that throws, a revoked Proxy: a line must not throw): the message goes to pino, its
 * fields merged by pino, redacted once by the `logMethod` hook; the context is a child's binding (one child per context,
 * as Nest's are few: its classes' names).
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
    else if (message && typeof message === 'object') write(ownFields(message), ...texts);
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
