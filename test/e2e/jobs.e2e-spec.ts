import { JobScheduler } from '../../libs/core/src/jobs';
import { bootSecondNode, bootTestApp, TestApp } from '../support/test-app';

describe('scheduled jobs across processes', () => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await bootTestApp();
    second = await bootSecondNode(first);
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('runs a job in one process at a time: another process skips it while it runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const runs: string[] = [];
    first.get(JobScheduler).register('test-exclusive', 3_600_000, async () => {
      runs.push('first');
      await gate;
    });
    second.get(JobScheduler).register('test-exclusive', 3_600_000, async () => {
      runs.push('second');
    });
    const running = first.get(JobScheduler).runNow('test-exclusive');
    while (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(await second.get(JobScheduler).runNow('test-exclusive')).toBe(false);
    release();
    expect(await running).toBe(true);
    // Once it is done, the next tick anywhere runs it.
    expect(await second.get(JobScheduler).runNow('test-exclusive')).toBe(true);
    expect(runs).toEqual(['first', 'second']);
  });
});
