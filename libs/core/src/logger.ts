import type { LoggerService } from '@nestjs/common';
import { Writable } from 'node:stream';
import { types } from 'node:util';
import pino, { DestinationStream, LogFn, Logger, stdSerializers } from 'pino';
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
 * pino's error serializer over the error as `redacted` leaves it: a failed statement's parameters and the server's detail
 * (rows' values) are left out, and URLs' passwords, in the error, its causes and fields. An error the `logMethod` hook saw
 * is clean already; one bound to a child logger (`log.child({ err })`) passes only here. An error is redacted before it is
 * serialized, not after: pino's serialized error is of a class of its own (its prototype is not a plain object's), which
 * `redacted` leaves as it is. pino-http hands a custom serializer pino's serialized error instead (its wrapErrorSerializer):
 * that one is made plain (its JSON, which is what pino writes of it anyway, causes and nested errors included) and walked
 * as such, keeping the `type` pino gave it.
 */
export function serializeError(err: Error): Record<string, unknown> {
  if (err instanceof Error || types.isNativeError(err) || !err || typeof err !== 'object') return stdSerializers.err(redacted(err)) as unknown as Record<string, unknown>;
  let plain: Record<string, unknown>;
  try {
    plain = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
  } catch {
    // What JSON cannot write (a BigInt, a cycle) pino cannot either: its own fields, one level, walked.
    plain = { ...(err as object) };
  }
  return redacted(plain);
}

/**
 * pino's `logMethod` hook: a line's every argument (its fields, its error, its message and what the message formats) goes
 * through `redacted` (a copy where anything changed; the caller's left as it was). Here rather than in serializeError, which
 * sees only the `err` field: pino takes a line's message from its error's when none is given (`log.error(err)`, Nest's
 * `logger.error(err)`, an exception Nest logs), and fields and messages other than `err` (a reason's message, a text naming
 * a URL) carry text too. Meilisearch's client's errors name MEILI_URL whole (`Request to <MEILI_URL>/… has failed`), its
 * password included, and Node's fetch refusing such a URL names it too; pino's `*.password` paths do not reach inside a
 * string.
 */
export function logRedacted(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  method.apply(this, args.map((arg) => redacted(arg)) as Parameters<LogFn>);
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
 * with REDACT_PATHS, `serializeError` and the `logRedacted` hook, so no entry point logs otherwise.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const stream = settings.text ? textLines(settings.stream ?? process.stderr) : settings.stream;
  const options = { level: settings.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { err: serializeError }, hooks: { logMethod: logRedacted } };
  return stream ? pino(options, stream as DestinationStream) : pino(options);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const NOT_SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'context', 'msg', 'err']);

/**
 * pino's JSON lines (redacted already) as a person reads them: `WARN [Search] message`, an error's message and its causes'
 * on the lines after it, other fields as JSON on one more. Written at once (the CLI exits right after what it says).
 */
function textLines(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const json of String(chunk).split('\n')) {
        if (!json) continue;
        const line = JSON.parse(json) as Record<string, unknown>;
        const head = [LEVELS[line.level as number] ?? String(line.level), line.context ? `[${String(line.context)}]` : '', line.msg ?? ''].filter((s) => s !== '').join(' ');
        const errors: string[] = [];
        for (let e = line.err as { type?: string; message?: string; cause?: unknown } | undefined; e && errors.length < 5; e = e.cause as typeof e) {
          errors.push(`  ${errors.length ? 'caused by ' : ''}${e.type ?? 'Error'}: ${e.message ?? ''}`);
        }
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
 */
export class PinoNestLogger implements LoggerService {
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
    const fields: Record<string, unknown> = {};
    let rest = params;
    if (params.length) {
      fields.context = params[params.length - 1];
      rest = params.slice(0, -1);
    }
    const texts = rest.filter((p) => p !== undefined);
    // The message as `redacted` reads it (a copy where a getter threw, the text `[redacted: unreadable]` for a revoked
    // Proxy), not read again here: a line must not throw.
    const own: unknown = redacted(message);
    if (own instanceof Error || types.isNativeError(own)) this.pino[level]({ ...fields, err: own }, ...(texts as [string]));
    else if (own && typeof own === 'object') this.pino[level]({ ...fields, ...own }, ...(texts as [string]));
    else if (level === 'error' && texts.length === 1 && typeof texts[0] === 'string' && /\n\s*at /.test(texts[0])) {
      // Nest's exception handlers' (message, stack).
      this.pino[level]({ ...fields, err: Object.assign(new Error(String(own)), { stack: texts[0] }) });
    } else this.pino[level](fields, String(own), ...(texts as [string]));
  }
}
