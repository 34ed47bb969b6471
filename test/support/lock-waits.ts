import { Tx } from '../../libs/core/src/database/unit-of-work';
import { CallGate } from './gates';
import { expectOk, GqlResult, TestApp } from './test-app';

/** A backend others may queue behind: its pid (`backendPid`), or something that knows it (`holdLock`'s HeldLock). */
export type LockHolder = number | { readonly pid: number };

/** The pid of the backend a connection (or a transaction's runner) runs its statements on. */
export async function backendPid(conn: { query(q: string, p?: unknown[]): Promise<any> }): Promise<number> {
  const [{ pid }] = await conn.query(`SELECT pg_backend_pid() AS pid`);
  return pid;
}

/**
 * Counts the backends of the current database queued behind `holder`: blocked by it
 * (pg_blocking_pids: a lock it holds, or one it waits for ahead of them), or by a backend so
 * queued (a second writer of a row waits on the first writer's tuple lock, not on the holder).
 * Waits elsewhere (the app's background jobs, the outbox worker, a scheduler) are not counted.
 * Takes the holder's pid as $1; pg_blocking_pids reads the lock manager live, but the list of
 * backends comes from pg_stat_activity, which a transaction reads as one snapshot unless cleared.
 */
export const QUEUED_BEHIND_SQL = `
  WITH RECURSIVE waits AS (
    SELECT pid, pg_blocking_pids(pid) AS by FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock'
  ), behind(pid) AS (
    SELECT pid FROM waits WHERE $1::int = ANY (by)
    UNION
    SELECT w.pid FROM waits w JOIN behind b ON b.pid = ANY (w.by)
  )
  SELECT count(*)::int AS n FROM behind WHERE pid <> $1::int`;

/**
 * The backend of the transaction a gate holds (`gateCalls`, once begun): that of the first
 * argument of the held call that is a transaction (Tx). The call is paused at the gate, so its
 * connection is free for this one statement. Fails when the call was given none.
 */
export async function gateHolder(gate: CallGate): Promise<number> {
  const tx = gate.args?.find((arg): arg is Tx => arg instanceof Tx);
  if (!tx) throw new Error('the call held at the gate was given no transaction: name the holder otherwise');
  return backendPid(tx);
}

const pidOf = (holder: LockHolder): number => (typeof holder === 'number' ? holder : holder.pid);

/**
 * How many statements wait for a lock now: with `behind`, only those queued behind that holder
 * (QUEUED_BEHIND_SQL); without it, any in the test's database, a brief wait of the app's own
 * background work included, so only for a holder the test cannot name. Read through the app's
 * pool, never on a connection inside a transaction: there the server's activity is one snapshot,
 * taken at the transaction's first look.
 */
export async function lockWaits(t: TestApp, behind?: LockHolder): Promise<number> {
  if (behind !== undefined) return (await t.sql(QUEUED_BEHIND_SQL, [pidOf(behind)]))[0].n;
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

const queue = (behind?: LockHolder) => (behind === undefined ? 'a lock' : `backend ${pidOf(behind)}`);

/** Waits until `count` statements wait for a lock at once: queued behind `behind` when given (`lockWaits`). */
export async function waitForLockWaits(t: TestApp, count: number, behind?: LockHolder): Promise<void> {
  await pollFor(async () => ((await lockWaits(t, behind)) >= count ? true : undefined), `${count} statements to wait for ${queue(behind)}`);
}

/**
 * Whether `work` ends ('done') or, first, `count` statements wait for a lock at once ('waiting':
 * it is one of them), counting, when `behind` is given, only those queued behind that holder.
 */
export async function doneOrWaiting(t: TestApp, work: Promise<unknown>, count: number, behind?: LockHolder): Promise<'done' | 'waiting'> {
  let done = false;
  const ended = work.then(() => (done = true), () => (done = true));
  return pollFor<'done' | 'waiting'>(
    async () => (done ? 'done' : (await lockWaits(t, behind)) >= count ? 'waiting' : undefined),
    `a request to end or ${count} statements to wait for ${queue(behind)}`,
    ended,
  );
}

/**
 * The member (`token`) changes their display name while the test holds something of theirs
 * (a sanction's transaction holding their account, `holder`): passes only if it ends without
 * waiting for a lock (behind `holder`, when given).
 */
export async function renamesWithoutWaiting(t: TestApp, token: string, holder?: LockHolder): Promise<void> {
  const renaming = t.gql(`mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName } }`, { input: { displayName: 'Renamed meanwhile' } }, { token });
  expect(await doneOrWaiting(t, renaming, 1, holder)).toBe('done');
  expect(expectOk(await renaming).updateProfile.displayName).toBe('Renamed meanwhile');
}

/** The transaction id of a lock a test holds (`holdLock`), assigning one if it has none yet. */
export async function xidOf(held: { query(q: string, p?: unknown[]): Promise<any> }): Promise<string> {
  const [{ xid }] = await held.query(`SELECT pg_current_xact_id()::text AS xid`);
  return xid;
}

/**
 * Waits until `count` statements are queued behind the transaction `xid` (`lockWaits` behind the
 * backend running it): those waiting for it directly, and those behind them (a second writer of
 * one row waits on the first writer's tuple lock, not on the transaction).
 */
export async function waitForWaitsOn(t: TestApp, xid: string, count: number): Promise<void> {
  const [running] = await t.sql(`SELECT pid FROM pg_locks WHERE locktype = 'transactionid' AND granted AND mode = 'ExclusiveLock' AND transactionid::text = $1`, [xid]);
  if (!running) throw new Error(`transaction ${xid} is not running`);
  await pollFor(async () => ((await lockWaits(t, running.pid)) >= count ? true : undefined), `${count} statements to wait for transaction ${xid}`);
}

/**
 * `request` sent while `gate`'s call, made by `holder`, is begun and held (what it holds held
 * with it): `request` must wait for one of its locks (queued behind the held call's transaction,
 * `gateHolder`); then the gate opens, `holder` must succeed, and `request`'s answer is returned.
 * The gate is restored, and both settled, either way.
 */
export async function behindAGate<T>(t: TestApp, gate: CallGate, holder: () => Promise<GqlResult>, request: () => Promise<T>): Promise<T> {
  const running: Array<Promise<unknown>> = [];
  try {
    const holding = holder();
    running.push(holding);
    await gate.begun;
    const held = await gateHolder(gate);
    const requesting = request();
    running.push(requesting);
    expect(await doneOrWaiting(t, requesting, 1, held)).toBe('waiting');
    gate.open();
    expectOk(await holding);
    return await requesting;
  } finally {
    gate.restore();
    await Promise.allSettled(running);
  }
}
