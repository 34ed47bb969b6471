import 'reflect-metadata';
import cluster from 'node:cluster';
import { INestApplication, Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '../../../libs/core/src/config/config';
import { QueryCounter } from '../../../libs/core/src/database/data-source';
import { inputValidationPipe } from '../../../libs/core/src/graphql/errors';
import type { Settings } from '../../../libs/core/src/settings';
import { AppModule } from './app.module';
import { apiWorker } from './api-worker';
import { ClusterIoAdapter } from '../../../libs/realtime/src/cluster-io.adapter';
import { RedisIoAdapter } from '../../../libs/realtime/src/redis-io.adapter';
import { LiveGateway } from '../../../libs/realtime/src/live.gateway';

/** `S`: the types of `settings`' elements, inferred where they are given (`Settings`). */
export interface CreateAppOptions<S extends readonly unknown[] = readonly []> {
  counter?: QueryCounter;
  logStream?: NodeJS.WritableStream;
  /** Where /health's own connection goes (`HealthDatabase`): the API's database unless a test points it elsewhere. */
  healthDatabaseUrl?: string;
  /** CoreOptions' `settings` (tests give their own), each value checked against its own token's type. */
  settings?: Settings<S>;
  /** CoreOptions' `retryConnection`. */
  retryConnection?: () => boolean;
}

/** Builds the API application (used by `npm start`, the CLI's schema printer and the tests). */
export async function createApp<S extends readonly unknown[] = readonly []>(config: AppConfig, databaseUrl: string, opts: CreateAppOptions<S> = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot({ config, databaseUrl, counter: opts.counter, logStream: opts.logStream, healthDatabaseUrl: opts.healthDatabaseUrl, settings: opts.settings, retryConnection: opts.retryConnection }),
    // A module that fails to start rejects (the start's cleanups run, then "failed to start"), not Nest's exit 1 at once.
    { bufferLogs: true, bodyParser: false, abortOnError: false },
  );
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: config.BODY_LIMIT });
  // Small forms only: the unsubscribe confirmation and mail clients' one-click unsubscribe.
  app.useBodyParser('urlencoded', { extended: false, limit: '4kb' });
  // A body the parsers refuse (not JSON, too large) is answered as GraphQL answers any bad
  // request: an error with a code, and nothing of the body echoed back.
  app.use(bodyErrors);
  app.use(cookieParser());
  // Standard response headers: no MIME sniffing, no framing, no referrer, HSTS. The content
  // security policy is helmet's default, without upgrading requests (a deployment may serve
  // plain HTTP on a private network), and none where GraphiQL is served: it loads its scripts
  // from a CDN.
  app.use(helmet({ contentSecurityPolicy: config.graphqlIde ? false : { directives: { upgradeInsecureRequests: null } } }));
  app.disable('x-powered-by');
  // Express would hash every response body for an ETag; GraphQL answers POSTs, which no
  // client revalidates, so on a 60 KB topic page that hash was pure cost.
  app.set('etag', false);
  // One trust function for Express's req.ip and the live gateway's client addresses.
  app.set('trust proxy', config.trustProxy);
  app.useGlobalPipes(inputValidationPipe());
  let adapter: RedisIoAdapter | undefined;
  if (config.REDIS_URL) {
    adapter = new RedisIoAdapter(app, config.REDIS_URL, config.REDIS_KEY_PREFIX);
    await adapter.connect();
    app.useWebSocketAdapter(adapter);
    // Access re-checks other nodes asked for while this one was cut off from Redis are lost:
    // every connection here is checked again.
    adapter.onResubscribed(() => void app.get(LiveGateway).recheckAll());
  } else if (apiWorker()) {
    // A worker of `API_WORKERS` (apps/api/src/cluster.ts) without Redis: the others are reached through the primary.
    app.useWebSocketAdapter(new ClusterIoAdapter(app));
  }
  await app.init();
  // The adapter subscribed as the gateway's server was made: a node deaf to the others fails to
  // start, its modules closed, rather than serve (RedisIoAdapter.subscribed).
  // Its cause is what the process must say: a close that fails too is logged, not thrown in its place.
  await adapter?.subscribed().catch(async (err: unknown) => {
    await app.close().catch((closeErr: unknown) => new NestLogger('createApp').error({ err: closeErr }, 'closing the application after a failed start failed'));
    throw err;
  });
  return app;
}

/**
 * body-parser's refusals, in the API's error shape (API.md); anything else goes on to Nest.
 * Besides its typed errors (not JSON, too large, an unknown encoding or charset) it passes on
 * a body it could not inflate (a gzip header that is not gzip) as a bare 400.
 */
function bodyErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const e = (err ?? {}) as { type?: unknown; status?: unknown };
  const status = typeof e.status === 'number' ? e.status : 0;
  if (status >= 400 && status < 500) {
    const tooLarge = e.type === 'entity.too.large';
    const message = tooLarge ? 'The request body is too large' : e.type === 'entity.parse.failed' ? 'The request body could not be read as JSON' : 'The request body could not be read';
    // Like every BAD_USER_INPUT, with `fields`: here the request as a whole ('').
    res.status(status).json({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT', fields: [{ field: '', message }] } }] });
    return;
  }
  next(err);
}
