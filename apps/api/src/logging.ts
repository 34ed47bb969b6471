import type { Params } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../../libs/core/src/config/config';
import { createLogger, serializeError } from '../../../libs/core/src/logger';

/**
 * nestjs-pino's settings for the API and the worker: pino-http over the one logger every process makes (`createLogger`:
 * its redaction paths, `logMethod` hook and bindings' redaction; its error serializer again, as pino-http's child would
 * have pino's own), with a request id per request.
 */
export function loggerOptions(config: AppConfig, stream?: NodeJS.WritableStream): Params {
  return {
    pinoHttp: {
      logger: createLogger({ level: config.LOG_LEVEL, stream }),
      autoLogging: config.LOG_REQUESTS,
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
    },
  };
}
