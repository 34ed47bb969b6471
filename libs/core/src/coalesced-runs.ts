/**
 * A piece of work run one at a time per key, its asks coalesced: asked while a run is under
 * way, the key is only marked, and one more run follows the current one at once, whatever the
 * number of asks. That trailing run starts after every ask it answers, so it sees what they
 * saw; nothing asked for waits for a later ask. The live gateway sends a topic room's presence
 * so, and the live relay claims its rows so.
 */
export class CoalescedRuns<K = string> {
  private readonly runs = new Map<K, { again: boolean; done: Promise<void> }>();

  /**
   * Runs `work` for `key`, or marks it for one more run if one is under way. Resolves once the
   * key's runs are done, the one that answers this ask included. `work` must not throw.
   */
  run(key: K, work: () => Promise<void>): Promise<void> {
    const under = this.runs.get(key);
    if (under) {
      under.again = true;
      return under.done;
    }
    const run = { again: false, done: Promise.resolve() };
    this.runs.set(key, run);
    run.done = (async () => {
      try {
        do {
          run.again = false;
          await work();
        } while (run.again);
      } finally {
        this.runs.delete(key);
      }
    })();
    return run.done;
  }

  /** Resolves once no run of `key` is under way, those asked for meanwhile included. */
  async idle(key: K): Promise<void> {
    for (let under = this.runs.get(key); under; under = this.runs.get(key)) await under.done;
  }
}
