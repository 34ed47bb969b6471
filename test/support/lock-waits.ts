import { CallGate } from './gates';
import { expectOk, GqlResult, TestApp } from './test-app';

/**
 * How many statements of the test's database wait for a lock now. Read through the app's pool,
 * never on a connection inside a transaction: there the server's activity is one snapshot, taken
 * at the transaction's first look.
 */
export async function lockWaits(t: TestApp): Promise<number> {
  const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock'`);
  return n;
}

/**
 * How long a wait for statements to queue on a lock keeps looking (`pollFor`): a guard against a
 * hang only, so a statement that never queues (nor ends) fails its test with what was awaited.
 * Far past what a loaded machine takes to get a request to its lock; never a measure of speed
 * (a bound of a few seconds was, and a busy CI machine of two cores went past it).
 */
export const LOCK_WAIT_GUARD_MS = 30_000;

/**
 * Asks `probe` again and again until it answers (not undefined), and returns that. Between two
 * asks it sleeps a moment, or less if `wake` settles. Past LOCK_WAIT_GUARD_MS it fails, saying
 * what it awaited (`awaited`).
 */
export async function pollFor<T>(probe: () => Promise<T | undefined>, awaited: string, wake?: Promise<unknown>): Promise<T> {
  const giveUp = Date.now() + LOCK_WAIT_GUARD_MS;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() >= giveUp) throw new Error(`${awaited}: not so after ${LOCK_WAIT_GUARD_MS / 1000} s`);
    const pause = new Promise((r) => setTimeout(r, 25));
    await (wake ? Promise.race([wake, pause]) : pause);
  }
}

/** Waits until `count` statements wait for a lock at once. */
export async function waitForLockWaits(t: TestApp, count: number): Promise<void> {
  await pollFor(async () => ((await lockWaits(t)) >= count ? true : undefined), `${count} statements to wait for a lock`);
}

/** Whether `work` ends ('done') or, first, `count` statements wait for a lock at once ('waiting': it is one of them). */
export async function doneOrWaiting(t: TestApp, work: Promise<unknown>, count: number): Promise<'done' | 'waiting'> {
  let done = false;
  const ended = work.then(() => (done = true), () => (done = true));
  return pollFor<'done' | 'waiting'>(
    async () => (done ? 'done' : (await lockWaits(t)) >= count ? 'waiting' : undefined),
    `a request to end or ${count} statements to wait for a lock`,
    ended,
  );
}

/**
 * The member (`token`) changes their display name while the test holds something of theirs
 * (a sanction's transaction holding their account): passes only if it ends without waiting for
 * a lock.
 */
export async function renamesWithoutWaiting(t: TestApp, token: string): Promise<void> {
  const renaming = t.gql(`mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName } }`, { input: { displayName: 'Renamed meanwhile' } }, { token });
  expect(await doneOrWaiting(t, renaming, 1)).toBe('done');
  expect(expectOk(await renaming).updateProfile.displayName).toBe('Renamed meanwhile');
}

/** The transaction id of a lock a test holds (`holdLock`), assigning one if it has none yet. */
export async function xidOf(held: { query(q: string, p?: unknown[]): Promise<any> }): Promise<string> {
  const [{ xid }] = await held.query(`SELECT pg_current_xact_id()::text AS xid`);
  return xid;
}

/** Waits until `count` statements wait for the transaction `xid` itself (not any lock: a given holder's). */
export async function waitForWaitsOn(t: TestApp, xid: string, count: number): Promise<void> {
  await pollFor(async () => {
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1`, [xid]);
    return n >= count ? true : undefined;
  }, `${count} statements to wait for transaction ${xid}`);
}

/**
 * `request` sent while `gate`'s call, made by `holder`, is begun and held (what it holds held
 * with it): `request` must wait for one of its locks; then the gate opens, `holder` must
 * succeed, and `request`'s answer is returned. The gate is restored, and both settled, either way.
 */
export async function behindAGate<T>(t: TestApp, gate: CallGate, holder: () => Promise<GqlResult>, request: () => Promise<T>): Promise<T> {
  const running: Array<Promise<unknown>> = [];
  try {
    const holding = holder();
    running.push(holding);
    await gate.begun;
    const requesting = request();
    running.push(requesting);
    expect(await doneOrWaiting(t, requesting, 1)).toBe('waiting');
    gate.open();
    expectOk(await holding);
    return await requesting;
  } finally {
    gate.restore();
    await Promise.allSettled(running);
  }
}
