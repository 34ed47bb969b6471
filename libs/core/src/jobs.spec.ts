import { DataSource } from 'typeorm';
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
