import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/cluster-adapter';
import type { Server, ServerOptions } from 'socket.io';

/**
 * Socket.IO across the workers of one `npm start` (`API_WORKERS` above 1, no `REDIS_URL`): rooms, broadcasts,
 * `serverSideEmit` and `fetchSockets` go through the primary over the cluster's IPC (`@socket.io/cluster-adapter`, its
 * primary half set up by apps/api/src/cluster.ts), so an event committed on one worker reaches clients held by any.
 */
export class ClusterIoAdapter extends IoAdapter {
  override createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, options);
    server.adapter(createAdapter());
    return server;
  }
}
