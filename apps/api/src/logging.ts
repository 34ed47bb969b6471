import type { Params } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../../libs/core/src/config/config';

/** Paths pino replaces with "[redacted]": credentials never reach the log. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.appealToken',
  // An error's details, should one ever be logged whole.
  '*.details.extensions.appealToken',
  '*.*.details.extensions.appealToken',
  'password',
  'token',
  'appealToken',
];

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
      },
  };
  return { pinoHttp: stream ? [http, stream] : http };
}
