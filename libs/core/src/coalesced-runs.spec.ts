import { CoalescedRuns } from './coalesced-runs';

describe('CoalescedRuns', () => {
  /** Work whose runs each wait until released, counting how many started. */
  function heldWork() {
    const releases: Array<() => void> = [];
    let started = 0;
    const work = () =>
      new Promise<void>((resolve) => {
        started++;
        releases.push(resolve);
      });
    /** Lets the oldest waiting run end, once one waits (after the microtasks under way). */
    const releaseNext = async () => {
      for (let i = 0; i < 100 && releases.length === 0; i++) await Promise.resolve();
      const release = releases.shift();
      if (!release) throw new Error('no run is waiting');
      release();
    };
    return { work, releaseNext, started: () => started };
  }

  it('runs once more after the run under way, however many asks came meanwhile', async () => {
    const runs = new CoalescedRuns();
    const { work, releaseNext, started } = heldWork();
    const first = runs.run('room', work);
    const asks = [runs.run('room', work), runs.run('room', work), runs.run('room', work)];
    expect(started()).toBe(1);
    await releaseNext();
    await releaseNext();
    await Promise.all([first, ...asks]);
    expect(started()).toBe(2);
  });

  it('answers an ask only once the run that follows it is done', async () => {
    const runs = new CoalescedRuns();
    const { work, releaseNext, started } = heldWork();
    void runs.run('room', work);
    let answered = false;
    void runs.run('room', work).then(() => (answered = true));
    await releaseNext();
    await new Promise((resolve) => setImmediate(resolve));
    expect([started(), answered]).toEqual([2, false]);
    await releaseNext();
    await runs.idle('room');
    expect(answered).toBe(true);
  });

  it('keeps keys apart, and runs afresh once a key is idle', async () => {
    const runs = new CoalescedRuns();
    const { work, releaseNext, started } = heldWork();
    void runs.run('a', work);
    void runs.run('b', work);
    expect(started()).toBe(2);
    await releaseNext();
    await releaseNext();
    await Promise.all([runs.idle('a'), runs.idle('b')]);
    void runs.run('a', work);
    expect(started()).toBe(3);
    await releaseNext();
    await runs.idle('a');
  });
});
