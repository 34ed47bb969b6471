import type { Params } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { stdSerializers } from 'pino';
import { AppConfig } from '../../../libs/core/src/config/config';

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

export function loggerOptions(config: AppConfig, stream?: NodeJS.WritableStream): Params {
  const http: Params['pinoHttp'] = {
      level: config.LOG_LEVEL,
      autoLogging: config.LOG_REQUESTS,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
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
