import type { SendHandle } from 'node:child_process';
import cluster from 'node:cluster';

/**
 * `API_WORKERS` above 1: the process `npm start` runs opens the database once (main.ts), then is the primary of a
 * `node:cluster` of that many API workers (cluster.ts), which serve the one port it listens on. What each worker is told,
 * in its environment: its number (1 to N; a replacement takes the number of the one it replaces) and the database's URL.
 */
export const WORKER_NUMBER = 'PARVIS_API_WORKER';
export const WORKER_DATABASE_URL = 'PARVIS_API_WORKER_DATABASE_URL';

/**
 * In a worker, its number and the database the primary opened; null in the primary or a single API process, a
 * `node:cluster` worker Parvis did not fork (a process manager's cluster mode) included.
 */
export function apiWorker(): { number: number; databaseUrl: string } | null {
  if (!cluster.isWorker || foreignClusterWorker()) return null;
  return { number: Number(process.env[WORKER_NUMBER]), databaseUrl: process.env[WORKER_DATABASE_URL]! };
}

/**
 * Whether this process is a `node:cluster` worker that Parvis did not fork (a process manager's cluster mode, pm2's
 * `-i`): it serves as one process, and refuses API_WORKERS above 1 (loadConfig's `foreignClusterWorker`).
 */
export function foreignClusterWorker(): boolean {
  return cluster.isWorker && !process.env[WORKER_NUMBER];
}

/**
 * An API worker's connections handed over before it serves. Sticky sessions (`@socket.io/sticky`, least connections) may
 * send a new Socket.IO session to a replacement worker still starting (it holds none), before sticky's own listener is
 * there: a message no listener hears is lost, and its connection hangs. So a worker holds every `sticky:*` message from
 * its first line on (main.ts), and replays them, in order, once sticky's listener is set up (cluster.ts, serveAsWorker).
 */
const held: Array<[unknown, SendHandle]> = [];
const hold = (message: { type?: unknown } | null, handle: SendHandle): void => {
  if (typeof message?.type === 'string' && message.type.startsWith('sticky:')) held.push([message, handle]);
};

/** In an API worker, starts holding the primary's handed connections (a no-op elsewhere). */
export function holdHandedConnections(): void {
  if (apiWorker()) process.on('message', hold);
}

/** Stops holding, and hands what was held to the listeners now there. */
export function replayHandedConnections(): void {
  process.off('message', hold);
  for (const [message, handle] of held.splice(0)) process.emit('message', message, handle);
}
