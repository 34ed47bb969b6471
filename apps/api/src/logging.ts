import type { Params } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { LogFn, Logger, stdSerializers } from 'pino';
import { AppConfig } from '../../../libs/core/src/config/config';
import { withoutCredentials } from '../../../libs/core/src/log-redaction';

/** Paths pino replaces with "[redacted]": credentials never reach the log. */
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
 * Fields of a failed statement's error that hold the rows' values: its parameters (e-mail
 * addresses, password hashes, private text, keys) and the server's detail ("Key (email)=(…)").
 * The statement's text and the error's code stay, which is what a fix needs.
 */
const ROW_VALUE_FIELDS = ['parameters', 'detail'];

function withoutRowValues(value: unknown, depth = 0): void {
  if (!value || typeof value !== 'object' || depth > 5) return;
  const record = value as Record<string, unknown>;
  for (const field of ROW_VALUE_FIELDS) if (field in record) record[field] = '[redacted]';
  for (const inner of Object.values(record)) withoutRowValues(inner, depth + 1);
}

/** pino's error serializer, with the row values of database errors (and of errors they cause) left out. */
export function serializeError(err: Error): Record<string, unknown> {
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  withoutRowValues(out);
  return out;
}

/**
 * pino's `logMethod` hook: a line's every argument (its fields, its error, its message and what the message formats) goes
 * without the password a URL in it carries (withoutCredentials: in a string, an error's message, stack, fields and cause, a
 * plain object's fields; a copy, the caller's left as it was). Here rather than in serializeError, which sees only the `err`
 * field: pino takes a line's message from its error's when none is given (`log.error(err)`, Nest's `logger.error(err)`, an
 * exception Nest logs), and fields and messages other than `err` (a reason's message, a text naming a URL) carry text too.
 * Meilisearch's client's errors name MEILI_URL whole (`Request to <MEILI_URL>/… has failed`), its password included, and
 * Node's fetch refusing such a URL names it too; pino's `*.password` paths do not reach inside a string.
 */
export function logWithoutCredentials(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  method.apply(this, args.map((arg) => withoutCredentials(arg)) as Parameters<LogFn>);
}

export function loggerOptions(config: AppConfig, stream?: NodeJS.WritableStream): Params {
  const http: Params['pinoHttp'] = {
      level: config.LOG_LEVEL,
      autoLogging: config.LOG_REQUESTS,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { logMethod: logWithoutCredentials },
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      // Request bodies are never logged: they carry passwords and private content.
      serializers: {
        // Query strings are left out too: they can carry tokens (unsubscribe links).
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.split('?')[0] }),
        err: serializeError,
      },
  };
  return { pinoHttp: stream ? [http, stream] : http };
}
