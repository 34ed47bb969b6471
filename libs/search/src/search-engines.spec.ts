import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../core/src/config/config';
import { SearchEngines } from './search-engines';

/** A DataSource whose one query (the folding's read) answers when the test says, as `answer` and `fail` do. */
function heldDataSource() {
  let answer!: (rows: unknown[]) => void;
  let fail!: (err: Error) => void;
  const rows = new Promise<unknown[]>((resolve, reject) => {
    answer = resolve;
    fail = reject;
  });
  const ds = { query: jest.fn(() => rows) } as unknown as DataSource;
  return { ds, answer, fail };
}

/** Whether `p` has settled after the microtasks and timers queued so far ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('SearchEngines: the start-up read of the letter folding and the shutdown', () => {
  const config = loadConfig({});
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('waits, as its modules are destroyed (before the pool ends), for the read under way', async () => {
    const { ds, answer } = heldDataSource();
    const engines = new SearchEngines(ds, config);
    await engines.onApplicationBootstrap();
    expect(ds.query).toHaveBeenCalledTimes(1);
    const destroyed = engines.onModuleDestroy();
    expect(await settled(destroyed)).toBe(false);
    answer([]);
    await destroyed;
    expect(warn).not.toHaveBeenCalled();
  });

  it('is not held, nor made to fail, by a read that failed: the failure warned of once', async () => {
    const { ds, fail } = heldDataSource();
    const engines = new SearchEngines(ds, config);
    await engines.onApplicationBootstrap();
    fail(new Error('Connection terminated'));
    await expect(engines.onModuleDestroy()).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][1]).toMatch(/^the letter folding could not be read at start-up/);
  });

  it('waits a while only: a read that outlasts the bound (a PostgreSQL slow or out of reach) lets the close go on, its failure then not warned of', async () => {
    const { ds, fail } = heldDataSource();
    const engines = new SearchEngines(ds, config);
    Object.assign(engines, { closeWaitMs: 20 });
    await engines.onApplicationBootstrap();
    await engines.onModuleDestroy();
    fail(new Error('Connection terminated'));
    await new Promise((r) => setImmediate(r));
    expect(warn).not.toHaveBeenCalled();
  });

  it('has nothing to wait for when it never started', async () => {
    const { ds } = heldDataSource();
    const engines = new SearchEngines(ds, config);
    expect(await settled(engines.onModuleDestroy())).toBe(true);
    expect(ds.query).not.toHaveBeenCalled();
  });
});
