import { createServer, Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { loadConfig } from './config/config';
import { ChannelListener, PgListener } from './database/pg-listener';
import { JobScheduler } from './jobs';

describe('JobScheduler.register', () => {
  it('refuses a second job under a name already registered (a programming error), keeping the first', () => {
    const jobs = new JobScheduler({} as DataSource);
    const first = async () => undefined;
    jobs.register('test-twice', 3_600_000, first);
    expect(() => jobs.register('test-twice', 60_000, async () => undefined)).toThrow(/"test-twice" is registered already/);
    expect(jobs.names()).toEqual(['test-twice']);
  });
});

describe('JobScheduler due times', () => {
  it("reads a job's due time again when its failure is heard while a tick's read of it is under way", async () => {
    const name = 'test-heard-mid-read';
    let answer!: (rows: unknown[]) => void;
    const reads = jest.fn(() => new Promise<unknown[]>((resolve) => (answer = resolve)));
    const heard: ChannelListener[] = [];
    const listener = { listen: async (_: string, l: ChannelListener) => (heard.push(l), false), unlisten: async () => undefined };
    const jobs = new JobScheduler({ query: reads } as unknown as DataSource, listener as unknown as PgListener);
    jobs.register(name, 3_600_000, async () => undefined);
    const ticks: Array<() => void> = [];
    const every = jest.spyOn(global, 'setInterval').mockImplementation(((fn: () => void) => (ticks.push(fn), 0)) as never);
    const once = jest.spyOn(global, 'setTimeout').mockImplementation((() => 0) as never);
    try {
      jobs.start();
    } finally {
      every.mockRestore();
      once.mockRestore();
    }
    const settled = () => new Promise((r) => setImmediate(r));
    ticks[0]();
    await settled();
    // The read saw the record before the failure (an hour on); the failure's NOTIFY comes before its answer.
    heard[0].message(name);
    answer([{ wait_ms: 3_600_000 }]);
    await settled();
    ticks[0]();
    await settled();
    expect(reads).toHaveBeenCalledTimes(2);
    // Read with nothing heard meanwhile, the due time is kept: the next tick asks nothing.
    answer([{ wait_ms: 3_600_000 }]);
    await settled();
    ticks[0]();
    await settled();
    expect(reads).toHaveBeenCalledTimes(2);
    jobs.stop();
  });
});

describe('JobScheduler lock connection', () => {
  it('gives up opening its lock connection to a server that never answers after lockTimeoutMs, and the run fails', async () => {
    // A server that takes the connection and says nothing (a hung PostgreSQL, a stalled network).
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const ds = { options: { url: `postgres://nobody@127.0.0.1:${port}/parvis` } } as unknown as DataSource;
    const jobs = new JobScheduler(ds, undefined, loadConfig({ JOB_LOCK_TIMEOUT_MS: '100' }));
    expect(jobs.lockTimeoutMs).toBe(100);
    jobs.register('test-silent-server', 1_000, async () => undefined);
    try {
      // Until 2026-12-07 it waited for good, and every job with it.
      await expect(jobs.runNow('test-silent-server')).rejects.toThrow(/timeout/i);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      await jobs.onModuleDestroy();
    }
  });
});
