import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf, validateSync } from 'class-validator';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { machineMemorySizing, MemorySizing } from '../database/embedded';
import { compileTrustProxy, TrustProxy } from '../http/client-address';

/** Decimal integers only: Number() would also read '0x10', '1e3' or ' 7 '. Anything else stays as given, for the validator to name. */
const toInt = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number') return value;
  return /^[+-]?\d+$/.test(String(value)) ? Number(value) : value;
};
const toBool = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  const v = String(value).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value; // left as-is so validation names the variable
};

/** The most API processes `API_WORKERS=auto` starts, however many cores: each holds its own pool and memory. */
export const AUTO_API_WORKERS_MAX = 8;

/**
 * Every setting Parvis reads, validated once at boot. The README's configuration
 * table mirrors this class; keep them in step.
 */
export class AppConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  /** External PostgreSQL; when absent an embedded PostgreSQL is started under PARVIS_DATA_DIR. */
  @IsOptional() @Matches(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsString()
  PARVIS_DATA_DIR = './.parvis';

  @Transform(toInt) @IsInt() @Min(1024) @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  /** The embedded PostgreSQL's shared_buffers (512MB, 2GB); unset: a quarter of the memory, 128MB to 4GB (machineMemorySizing). */
  @IsOptional() @IsString()
  EMBEDDED_PG_SHARED_BUFFERS?: string;

  /** The embedded PostgreSQL's effective_cache_size; unset: half of the memory, at least shared_buffers. */
  @IsOptional() @IsString()
  EMBEDDED_PG_EFFECTIVE_CACHE_SIZE?: string;

  /** Connections per process; at least OUTBOX_WORKER_MIN_POOL_SIZE where the outbox worker runs (checked in loadConfig). */
  @Transform(toInt) @IsInt() @Min(1) @Max(200)
  DB_POOL_SIZE = 10;

  /**
   * How long a statement waits for one of the pool's connections (all held by others, or a new
   * one opening) before it fails: a request then answers INTERNAL, /health `busy`, rather than
   * wait for good (pg's `connectionTimeoutMillis`).
   */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  DB_CONNECTION_TIMEOUT_MS = 10_000;

  /** The hottest reads run as named prepared statements; false behind a pooler in transaction mode. */
  @Transform(toBool) @IsBoolean()
  DB_PREPARED_STATEMENTS = true;

  /** A transaction idle this long has its session ended by PostgreSQL (its locks go with it); 0: never. */
  @Transform(toInt) @IsInt() @Min(0) @Max(86_400_000)
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

  /**
   * How long the scheduler's job-lock connection may leave a statement (a job's advisory lock, its release) or its
   * connecting unanswered: the connection is then replaced (JobScheduler), instead of every job waiting behind it for good.
   */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  JOB_LOCK_TIMEOUT_MS = 10_000;

  /** Redis, for live updates across several API processes (Socket.IO adapter). */
  @IsOptional() @Matches(/^rediss?:\/\//, { message: 'must be a redis:// URL' })
  REDIS_URL?: string;

  /**
   * API processes serving one port on this machine (`node:cluster`, apps/api/src/cluster.ts): 1 serves in the process
   * `npm start` runs; more makes it a primary that opens the database once and forks that many workers; `auto`, one per
   * available core, at most AUTO_API_WORKERS_MAX.
   */
  @Transform(({ value }) => (value === 'auto' ? Math.min(availableParallelism(), AUTO_API_WORKERS_MAX) : toInt({ value })))
  @IsInt({ message: 'must be a whole number of at least 1, or auto' }) @Min(1) @Max(64)
  API_WORKERS = 1;

  /** Meilisearch, e.g. http://127.0.0.1:7700; without it search uses PostgreSQL alone. */
  @IsOptional() @Matches(/^https?:\/\//, { message: 'must be an http(s) URL' })
  MEILI_URL?: string;

  /** Meilisearch's master (or an admin) key. Never logged. */
  @IsOptional() @IsString()
  MEILI_MASTER_KEY?: string;

  /** The Meilisearch index holding contributions (one per deployment). */
  @IsString() @Matches(/^[A-Za-z0-9_-]{1,100}$/, { message: 'must be 1-100 letters, digits, _ or -' })
  MEILI_INDEX = 'contributions';

  /** A Meilisearch call slower than this counts as failed: the query falls back to PostgreSQL. */
  @Transform(toInt) @IsInt() @Min(50) @Max(60000)
  MEILI_TIMEOUT_MS = 1500;

  /** Who may sign up: anyone (`open`), or only with an invitation (`invite`: createInvite). */
  @IsIn(['open', 'invite'])
  SIGN_UP: 'open' | 'invite' = 'open';

  /**
   * Who may invite besides admins: members of this trust level or above, and global moderators
   * (links for up to MEMBER_INVITE_MAX_USES people, no groups, MEMBER_INVITES_PER_DAY a day), or
   * nobody (`admins`).
   */
  @Transform(({ value }) => (value === 'admins' ? value : toInt({ value })))
  @ValidateIf((c: AppConfig) => c.INVITE_MIN_TRUST_LEVEL !== 'admins')
  @IsInt({ message: 'must be a trust level (0-4) or admins' }) @Min(0) @Max(4)
  INVITE_MIN_TRUST_LEVEL: number | 'admins' = 2;

  /** Searches one user may run per minute (all API nodes together); one IP may run twice as many. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100000)
  SEARCH_RATE_PER_MINUTE = 120;

  /**
   * SMTP server for e-mails, e.g. smtp://user:pass@mail.example:587. Without it, notification
   * e-mails go to the log outside production, and password-reset e-mails never do; a production
   * process warns at start-up and leaves every e-mail, unclaimed, to a process that has it, each
   * while it can still go (`EmailDigest.leavesEmail`, `AccountMailHandler`).
   */
  @IsOptional() @Matches(/^smtps?:\/\//, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  @IsString()
  MAIL_FROM = 'Parvis <no-reply@parvis.localhost>';

  /** Unread notifications are e-mailed after this many minutes. */
  @Transform(toInt) @IsInt() @Min(0) @Max(10080)
  EMAIL_DELAY_MINUTES = 15;

  /** The address users reach Parvis at (for links in e-mails); defaults to http://localhost:PORT. */
  @IsOptional() @Matches(/^https?:\/\//, { message: 'must be an http(s) URL' })
  PUBLIC_URL?: string;

  /** Prefix of the Redis channels, so several deployments (or test runs) can share one Redis. */
  @IsString()
  REDIS_KEY_PREFIX = 'parvis';

  @Transform(toBool) @IsBoolean()
  MIGRATE_ON_START = true;

  /** Run the outbox worker inside the API process. Defaults to on with the embedded database. */
  @IsOptional() @Transform(toBool) @IsBoolean()
  WORKER_IN_PROCESS?: boolean;

  @Transform(toInt) @IsInt() @Min(1) @Max(3650)
  SESSION_TTL_DAYS = 30;

  /** Posting limits (rate by trust level, new users' links and mentions, duplicates) and the pace of reactions, edits and idea votes. */
  @Transform(toBool) @IsBoolean()
  POSTING_LIMITS = true;

  /** Secure flag on the session cookie; defaults to on in production. */
  @IsOptional() @Transform(toBool) @IsBoolean()
  COOKIE_SECURE?: boolean;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Log one line per HTTP request. */
  @Transform(toBool) @IsBoolean()
  LOG_REQUESTS = true;

  @Transform(toInt) @IsInt() @Min(2) @Max(50)
  GRAPHQL_MAX_DEPTH = 12;

  @Transform(toInt) @IsInt() @Min(10) @Max(1_000_000)
  GRAPHQL_MAX_COMPLEXITY = 5000;

  /**
   * Run query operations compiled by graphql-jit, graphql-js answering any with an error
   * (compiled-queries.ts). Off by default. Measured on 2026-12-07 a topic page allocated 28% less
   * and, measured again, cost 11% less CPU; it stays off for the reasons docs/architecture.md
   * lists (every query field that writes must be marked @SideEffects() by hand, among them).
   */
  @Transform(toBool) @IsBoolean()
  GRAPHQL_JIT = false;

  /** Serve the GraphiQL IDE at /graphql; defaults to on outside production. */
  @IsOptional() @Transform(toBool) @IsBoolean()
  GRAPHQL_IDE?: boolean;

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'must look like 512kb or 1mb' })
  BODY_LIMIT = '1mb';

  /**
   * Which proxies in front of Parvis to trust for the client's address (see
   * compileTrustProxy): `true`, a hop count, or addresses and subnets. HTTP and live
   * connections use it alike; rate limits and connection caps key on the result.
   */
  @IsOptional() @IsString()
  TRUST_PROXY?: string;

  /** Live (Socket.IO) connections one signed-in user may hold on one API process. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  LIVE_MAX_PER_USER = 20;

  /** Live connections without a session one client address may hold on one API process. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  LIVE_MAX_ANONYMOUS_PER_IP = 100;

  private compiledTrust?: TrustProxy;

  /**
   * The embedded PostgreSQL's memory, sized to this machine once, when the configuration loads (which refuses the two variables
   * above against it); openDatabase starts the cluster with it rather than sizing it again.
   */
  embeddedMemory?: MemorySizing;

  get publicUrl(): string {
    return (this.PUBLIC_URL ?? `http://localhost:${this.PORT}`).replace(/\/$/, '');
  }
  get embedded(): boolean {
    return !this.DATABASE_URL;
  }
  get dataDir(): string {
    return path.resolve(this.PARVIS_DATA_DIR);
  }
  get workerInProcess(): boolean {
    return this.WORKER_IN_PROCESS ?? this.embedded;
  }
  /**
   * Whether other API processes may serve this database's live connections: nodes sharing Redis (`REDIS_URL`), or the
   * workers of one `npm start` (`API_WORKERS` above 1). The one question code that keeps node-local state asks.
   */
  get manyNodes(): boolean {
    return !!this.REDIS_URL || this.API_WORKERS > 1;
  }
  get cookieSecure(): boolean {
    return this.COOKIE_SECURE ?? this.NODE_ENV === 'production';
  }
  get graphqlIde(): boolean {
    return this.GRAPHQL_IDE ?? this.NODE_ENV !== 'production';
  }
  get trustProxy(): TrustProxy {
    return (this.compiledTrust ??= compileTrustProxy(this.TRUST_PROXY));
  }
}

export class ConfigError extends Error {}

/**
 * The fewest pool connections (DB_POOL_SIZE) of a process that runs the outbox worker. Its claim
 * holds one connection for the whole delivery of a batch (OutboxWorker.drainOnce) while the
 * handlers read and write on others, so nothing is marked processed before they are done: on a
 * pool of one, the first handler would wait for the claim's own connection (until
 * DB_CONNECTION_TIMEOUT_MS fails it), every event failing, and requests waiting behind the claim.
 * Nothing else holds a pool connection while it waits for another (the LISTEN connection and
 * the job locks are connections of their own), so two suffice to make progress.
 */
export const OUTBOX_WORKER_MIN_POOL_SIZE = 2;

export interface LoadConfigOptions {
  /**
   * Whether this process runs the outbox worker: the worker process does (`true`), the CLI does
   * not (`false`); unset, the API's rule, WORKER_IN_PROCESS (on by default with the embedded database).
   */
  outboxWorker?: boolean;
  /**
   * Whether this process is a `node:cluster` worker that Parvis did not fork (a process manager's cluster mode, pm2's
   * `-i`; apps/api/src/api-worker.ts, `foreignClusterWorker`): there API_WORKERS above 1 is refused, as the process
   * would serve alone while its configuration says other workers share its node-local state's work.
   */
  foreignClusterWorker?: boolean;
}

/** Reads and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: LoadConfigOptions = {}): AppConfig {
  const known = Object.keys(new AppConfig());
  const raw: Record<string, unknown> = {};
  for (const key of [...known, 'DATABASE_URL', 'EMBEDDED_PG_SHARED_BUFFERS', 'EMBEDDED_PG_EFFECTIVE_CACHE_SIZE', 'REDIS_URL', 'MEILI_URL', 'MEILI_MASTER_KEY', 'SMTP_URL', 'PUBLIC_URL', 'WORKER_IN_PROCESS', 'COOKIE_SECURE', 'GRAPHQL_IDE', 'TRUST_PROXY']) {
    if (env[key] !== undefined && env[key] !== '') raw[key] = env[key];
  }
  const config = plainToInstance(AppConfig, raw);
  const errors = validateSync(config, { forbidUnknownValues: false });
  // A value of the wrong kind is named as such, not also as out of range.
  const lines = errors.map((e) => `  ${e.property}: ${(e.constraints?.isInt ? [e.constraints.isInt] : Object.values(e.constraints ?? {})).join('; ')}`);
  try {
    void config.trustProxy;
  } catch (err) {
    lines.push(`  TRUST_PROXY: must be true, false, a hop count or addresses and subnets (${(err as Error).message})`);
  }
  // Checked against this machine's memory, whatever the database: a value that could never start it is wrong.
  try {
    config.embeddedMemory = machineMemorySizing({ sharedBuffers: config.EMBEDDED_PG_SHARED_BUFFERS, effectiveCacheSize: config.EMBEDDED_PG_EFFECTIVE_CACHE_SIZE });
  } catch (err) {
    lines.push(`  ${(err as Error).message}`);
  }
  // The pattern lets through what is no URL ("https://", a space in the host): e-mails link to it,
  // and a sanction's Message-ID takes its host (SanctionMail), which would fail every try.
  if (config.PUBLIC_URL && !errors.some((e) => e.property === 'PUBLIC_URL') && !URL.canParse(config.PUBLIC_URL)) {
    lines.push('  PUBLIC_URL: must be an http(s) URL');
  }
  const named = (property: string) => errors.some((e) => e.property === property);
  if (!named('DB_POOL_SIZE') && !named('WORKER_IN_PROCESS') && (opts.outboxWorker ?? config.workerInProcess) && config.DB_POOL_SIZE < OUTBOX_WORKER_MIN_POOL_SIZE) {
    lines.push(
      `  DB_POOL_SIZE: must be at least ${OUTBOX_WORKER_MIN_POOL_SIZE} in a process that runs the outbox worker (the worker process, or the API with WORKER_IN_PROCESS, on by default with the embedded database): its claim holds one connection while its handlers use another`,
    );
  }
  if (opts.foreignClusterWorker && !named('API_WORKERS') && config.API_WORKERS > 1) {
    lines.push(
      `  API_WORKERS: must be 1 in a node:cluster worker that Parvis did not fork (a process manager’s cluster mode, such as pm2 -i): each such process serves alone, the manager counting the processes; set API_WORKERS=1 (or unset it), and REDIS_URL for live updates across the manager’s processes, or run one npm start with API_WORKERS=${env.API_WORKERS} outside cluster mode`,
    );
  }
  if (lines.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
