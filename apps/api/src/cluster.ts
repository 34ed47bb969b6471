import cluster, { Worker } from 'node:cluster';
import { EventEmitter, once } from 'node:events';
import type { Server as HttpServer, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import * as net from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { setupPrimary as setupAdapterPrimary } from '@socket.io/cluster-adapter';
// setupMaster: its typings' name for setupPrimary.
import { setupMaster as setupStickyPrimary, setupWorker as setupStickyWorker } from '@socket.io/sticky';
import type { Logger } from 'pino';
import type { Server as IoServer } from 'socket.io';
import type { AppConfig } from '../../../libs/core/src/config/config';
import type { Signals } from '../../../libs/core/src/signals';
import { replayHandedConnections, WORKER_DATABASE_URL, WORKER_NUMBER } from './api-worker';

/** A worker's message to the primary once it serves. */
const READY = 'parvis:api-worker-ready';

/**
 * The waits before a worker that died is forked again, when the one before it died before it served SERVED_LONG_ENOUGH_MS
 * (a worker that had is replaced at once): past the last, the primary gives up and ends, rather than fork a broken start forever.
 */
export const RESTART_BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 16_000];
/** How long a worker serves before its death no longer counts as a failed start (one that crashes at once, forked again at once, would loop). */
export const SERVED_LONG_ENOUGH_MS = 10_000;
/** How long a worker's exit waits before it is judged, for a signal that reached this process with it to be handled first. */
const EXIT_SETTLE_MS = 250;

/** Socket.IO's own requests (Engine.IO's polls, handshakes and WebSocket upgrades), by their request line. */
const SOCKET_IO_REQUEST = /^[A-Z]+ \/socket\.io\//;
/** The answer while no worker serves (all died, their replacements starting), in the API's error shape (API.md). */
const NO_WORKER_BODY = JSON.stringify({ errors: [{ message: 'No API worker is serving at the moment; try again shortly', extensions: { code: 'UNAVAILABLE' } }] });
const NO_WORKER = `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(NO_WORKER_BODY)}\r\n\r\n${NO_WORKER_BODY}`;
/** How long the primary holds a connection that sends nothing: Node's default headersTimeout, the workers' bound. */
export const FIRST_BYTE_TIMEOUT_MS = 60_000;

/** Whether trackTimeoutsWithoutListening warned already in this process. */
let warnedUntracked = false;

/**
 * Starts Node's checks of `http`'s headersTimeout and requestTimeout (a slow client answered 408), which Node starts
 * only on 'listening' (`setupConnectionsTracking`): a worker's server never listens. That listener alone is called, not
 * the others on 'listening' (Nest's, Socket.IO's). It is Node's internal, found by its name: a Node that renames it, or
 * starts the checks otherwise, leaves none found, which is logged as a warning, once for the process (each worker's one
 * server), rather than passed over in silence as until 2026-12-07. Not a refusal to start: the primary's own bound on a
 * connection's first byte still holds, and the API serves as before but for the 408.
 */
export function trackTimeoutsWithoutListening(http: HttpServer, log: Logger): void {
  let found = false;
  for (const l of http.listeners('listening')) {
    if (l.name !== 'setupConnectionsTracking') continue;
    found = true;
    (l as () => void).call(http);
  }
  if (found || warnedUntracked) return;
  warnedUntracked = true;
  log.warn(
    `Node ${process.version} has no 'listening' listener named setupConnectionsTracking on an HTTP server: this API worker's server, which never listens, enforces no headersTimeout and requestTimeout (a slow client is not answered 408)`,
  );
}

/** Destroys `socket` if it sends no byte within `ms` (before any worker holds it, no HTTP server's timeout applies). */
export function dropIfSilent(socket: net.Socket, ms: number): void {
  socket.setTimeout(ms, () => socket.destroy());
  socket.once('data', () => socket.setTimeout(0));
}

/**
 * Whether a connection's first chunk holds its whole first request (headers, and a body of the length they give): the
 * client then sends nothing before the answer, and the socket itself can go to a worker with nothing of it left read
 * here. A chunked or longer body (or `Expect: 100-continue`) is not whole.
 */
export function wholeRequest(chunk: Buffer): boolean {
  const end = chunk.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = chunk.subarray(0, end).toString('latin1').toLowerCase();
  if (head.includes('\r\ntransfer-encoding:')) return false;
  const length = /\r\ncontent-length:[ \t]*(\d+)/.exec(head);
  return chunk.length - (end + 4) >= (length ? Number(length[1]) : 0);
}

/**
 * The primary: forks `config.API_WORKERS` workers on `databaseUrl`, waits until each serves, then listens on PORT and
 * hands each connection to a worker. Socket.IO's requests go through `@socket.io/sticky`, which sends an Engine.IO
 * session's requests (its polls, its upgrade) to the worker that holds it; any other connection whose first request is
 * whole is handed to the next worker in turn, socket and all, and stays there (keep-alive); one whose first request is
 * not whole goes through sticky too, which passes its bytes to a worker over IPC. Without Redis, the cluster adapter's
 * primary half relays the workers' rooms and broadcasts. A worker that dies is logged and forked again (RESTART_BACKOFF_MS);
 * one that dies while the cluster first starts fails the start. Its cleanup (registered before any fork, so it runs
 * before the database's) stops listening, passes the signal on to the workers (a terminal's Ctrl-C reached them already,
 * which the repeat, within Signals' echo window, does not cut short) and waits for them to exit.
 */
export async function runPrimary(config: AppConfig, log: Logger, signals: Signals, databaseUrl: string): Promise<void> {
  cluster.setupPrimary({ serialization: 'advanced' });
  if (!config.REDIS_URL) setupAdapterPrimary();
  const numbers = new Map<Worker, number>();
  /** The serving workers, and since when. */
  const serving = new Map<Worker, number>();
  const failedStarts = new Map<number, number>();
  const timers = new Set<NodeJS.Timeout>();
  let started = false;
  let failStart: (err: Error) => void = () => undefined;
  const allServing = new Promise<void>((resolve, reject) => {
    failStart = reject;
    cluster.on('message', (worker, message: { type?: string }) => {
      if (message?.type !== READY || !numbers.has(worker)) return;
      serving.set(worker, Date.now());
      if (serving.size === config.API_WORKERS) resolve();
    });
  });
  const fork = (n: number) => {
    const worker = cluster.fork({ [WORKER_NUMBER]: String(n), [WORKER_DATABASE_URL]: databaseUrl });
    // A message to a worker whose IPC channel closed (sticky's abort of a connection it passed, sent without a callback
    // when the client closes as the worker dies, before its exit is seen) fails as the worker's error: no one else's.
    worker.on('error', (err) => log.debug({ err, worker: n }, 'a message to an API worker failed'));
    numbers.set(worker, n);
    // From here on sticky may hand it a new session (least connections: it holds none), before it serves.
    log.debug({ worker: n, workerPid: worker.process.pid }, `API worker ${n} forked`);
  };

  cluster.on('exit', (worker, code, signal) => {
    const n = numbers.get(worker)!;
    const served = Date.now() - (serving.get(worker) ?? Infinity) >= SERVED_LONG_ENOUGH_MS;
    serving.delete(worker);
    numbers.delete(worker);
    // Decided once the signals that came with it are heard: a terminal's Ctrl-C reaches the workers as it reaches this
    // process, whose own SIGINT, pending with their exits (its event loop busy), may be handled after them, in a later
    // turn of the loop than theirs (a setImmediate was not always enough: the process-group e2e failed once in CI).
    setTimeout(() => {
      if (signals.ending) return;
      const how = { worker: n, workerPid: worker.process.pid, code, signal };
      if (!started) {
        failStart(new Error(`API worker ${n} exited while starting (${signal ?? `code ${code}`}); its output is above`));
        return;
      }
      const failed = served ? 0 : (failedStarts.get(n) ?? 0) + 1;
      failedStarts.set(n, failed);
      if (failed > RESTART_BACKOFF_MS.length) {
        void signals.failWith(() => log.fatal(how, `API worker ${n} died ${failed} times in a row before it served: giving up`));
        return;
      }
      const wait = failed === 0 ? 0 : RESTART_BACKOFF_MS[failed - 1];
      log.error({ ...how, restartInMs: wait }, `API worker ${n} died; starting another`);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!signals.ending) fork(n);
      }, wait);
      timers.add(timer);
    }, EXIT_SETTLE_MS);
  });

  const server = net.createServer();
  signals.onStop(async () => {
    timers.forEach(clearTimeout);
    server.close();
    const workers = [...numbers.keys()].filter((w) => !w.isDead());
    await Promise.all(
      workers.map((w) => {
        const exited = once(w, 'exit');
        w.process.kill(signals.signal ?? 'SIGTERM');
        return exited;
      }),
    );
  });

  for (let n = 1; n <= config.API_WORKERS; n++) fork(n);
  await allServing;
  started = true;

  // Sticky sessions: `setupStickyPrimary` takes the connections it is given as an HTTP server's.
  const sticky = new EventEmitter();
  setupStickyPrimary(sticky as unknown as HttpServer, { loadBalancingMethod: 'least-connection' });
  let turn = 0;
  server.on('connection', (socket) => {
    socket.on('error', () => socket.destroy());
    dropIfSilent(socket, FIRST_BYTE_TIMEOUT_MS);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      // None serving: answered at once, whichever path the request would take (sticky would hold it for a replacement
      // still starting, seconds, or answer an empty 503 when none is forked yet).
      const ready = [...serving.keys()].filter((w) => w.isConnected());
      if (ready.length === 0) {
        socket.end(NO_WORKER, () => socket.destroy());
        return;
      }
      if (SOCKET_IO_REQUEST.test(chunk.subarray(0, 32).toString('latin1')) || !wholeRequest(chunk)) {
        socket.unshift(chunk);
        sticky.emit('connection', socket);
        socket.resume();
        return;
      }
      ready[turn++ % ready.length].send({ type: 'sticky:connection', data: chunk }, socket, (err) => err && socket.destroy());
    });
  });
  server.listen(config.PORT, config.HOST);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  log.info(`${listeningLine(config, server.address() as net.AddressInfo)}, ${config.API_WORKERS} API workers`);
}

/** What a server says once it listens, on the port bound (which PORT=0 leaves to the system). */
export function listeningLine(config: AppConfig, address: net.AddressInfo): string {
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  return `Parvis is listening on http://${host}:${address.port} (GraphQL at http://${host}:${address.port}/graphql)`;
}

/**
 * A worker: serves the connections the primary hands it (its app never listens itself), Socket.IO's (`io`, the live
 * gateway's server, passed in so that this module, which the primary loads, imports none of the application) included,
 * then tells the primary it serves. `@socket.io/sticky`'s worker half answers every request with `Connection: close`, so that no connection
 * carries another session's requests; here that holds for Socket.IO's requests and the connections sticky passes over
 * IPC alone, and any other connection stays open for its next request (a Socket.IO request later on it for a session
 * another worker holds is closed unanswered, for the browser to send again on a new connection). A worker whose primary
 * is gone (its IPC channel closed) stops as on SIGTERM.
 */
export function serveAsWorker(app: INestApplication, io: IoServer, log: Logger, number: number): void {
  const http = app.getHttpServer() as HttpServer;
  const appListeners = http.listeners('request') as RequestListener[];
  setupStickyWorker(io);
  const stickyListeners = (http.listeners('request') as RequestListener[]).filter((l) => !appListeners.includes(l));
  http.removeAllListeners('request');
  trackTimeoutsWithoutListening(http, log);
  const sessions = new Set<string>();
  io.engine.on('connection', (session: { id: string; once(event: 'close', listener: () => void): void }) => {
    sessions.add(session.id);
    session.once('close', () => sessions.delete(session.id));
  });
  const reused = new WeakSet<object>();
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socketIo = SOCKET_IO_REQUEST.test(`${req.method} ${req.url}`);
    const again = reused.has(req.socket);
    reused.add(req.socket);
    // A browser's keep-alive connection held here, reused for a poll of a session another worker holds: closed unanswered,
    // which a browser meets by sending the request again on a new connection, that sticky routes to the session's worker.
    if (socketIo && again) {
      const sid = new URL(req.url ?? '/', 'http://worker').searchParams.get('sid');
      if (sid && !sessions.has(sid)) return void req.socket.destroy();
    }
    if (socketIo || !(req.socket instanceof net.Socket)) for (const l of stickyListeners) l(req, res);
    for (const l of appListeners) l(req, res);
  });
  replayHandedConnections();
  // Node's cluster worker exits 0 at once when its IPC channel closes, before this listener's cleanups, unless its
  // disconnect is expected.
  if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // Nest buffers its lines until the application listens (`bufferLogs`), which a worker's never does: held for good.
  app.flushLogs();
  log.info({ worker: number }, `API worker ${number} serving`);
  process.send!({ type: READY });
}
