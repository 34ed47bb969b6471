import type { SendHandle } from 'node:child_process';
import cluster from 'node:cluster';

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
  if (cluster.isWorker) process.on('message', hold);
}

/** Stops holding, and hands what was held to the listeners now there. */
export function replayHandedConnections(): void {
  process.off('message', hold);
  for (const [message, handle] of held.splice(0)) process.emit('message', message, handle);
}
