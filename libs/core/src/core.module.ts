import { DynamicModule, Global, Module, ValueProvider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from './config/config';
import { dataSourceOptions, QueryCounter } from './database/data-source';
import { UnitOfWork } from './database/unit-of-work';
import { pruneLiveRelay, RELAY_LIVE_EVENTS } from './database/live-relay';
import { PgListener } from './database/pg-listener';
import { DataSource } from 'typeorm';
import { EventBus } from './events';
import { OutboxHandlers, OutboxWorker } from './outbox/outbox';
import { RateLimiter } from './rate-limit';
import { JobScheduler } from './jobs';
import { AuditLog } from './audit/audit-log';
import { SignedTokens } from './signed-tokens';
import { isSettingsToken, Settings } from './settings';

/** `S`: the types of `settings`' elements, inferred where they are given (`Settings`). */
export interface CoreOptions<S extends readonly unknown[] = readonly []> {
  config: AppConfig;
  databaseUrl: string;
  /** Tests pass one to count SQL statements. */
  counter?: QueryCounter;
  /** Where logs go (stdout by default); tests capture them. */
  logStream?: NodeJS.WritableStream;
  /**
   * This process serves no live connections (the separate worker, the CLI): what it commits is
   * relayed to the API nodes through `live_relay`, and one of them pushes it. The API leaves it
   * off: its own gateway hears its in-process bus.
   */
  relayLiveEvents?: boolean;
  /**
   * Values for tokens a feature injects as optional settings, its defaults applying where none is given (the watched words'
   * WATCHED_WORDS_SETTINGS): tests give their own. Provided here, globally, so that every module sees them. Settings tokens
   * only (`settingsToken`): any other is refused, as a provider here for AppConfig, UnitOfWork or another of the core's own
   * would replace it. Each value is checked against its own token's type at compile time (`Settings`).
   */
  settings?: Settings<S>;
  /**
   * Whether the database's first connection, refused, is tried again (TypeORM's 9 attempts, 3 s apart): a server passes
   * `() => !signals.ending`. A Ctrl-C in a terminal stops an embedded PostgreSQL too (its process group's): retried, the
   * application took 27 s to fail, past the cleanups' 10 s deadline, which waited for it.
   */
  retryConnection?: () => boolean;
}

/** Config, the database, transactions with the outbox, and in-process events. */
@Global()
@Module({})
export class CoreModule {
  constructor(jobs: JobScheduler, limiter: RateLimiter, outbox: OutboxWorker, ds: DataSource) {
    jobs.register('prune-rate-events', 3600_000, () => limiter.prune());
    jobs.register('prune-outbox', 3600_000, () => outbox.pruneProcessed());
    jobs.register('prune-live-relay', 600_000, () => pruneLiveRelay(ds));
  }

  static forRoot<S extends readonly unknown[] = readonly []>(opts: CoreOptions<S>): DynamicModule {
    // Values are checked against their tokens at compile time (`Settings`); here, whatever reached it (an `as`), that each
    // setting is exactly { provide, useValue } (a useClass or useFactory beside them would reach Nest unchecked, and win) and its
    // token is one. The given providers then pass through as they are.
    const settings: readonly ValueProvider[] = opts.settings ?? [];
    for (const setting of settings) {
      if (!isValueProviderOnly(setting)) {
        throw new Error(`CoreOptions.settings takes exactly { provide, useValue } for each setting, not ${describeKeys(setting)}`);
      }
      if (!isSettingsToken(setting.provide)) throw new Error(`CoreOptions.settings provides settings tokens only (settingsToken), not ${String(setting.provide)}`);
    }
    return {
      module: CoreModule,
      imports: [
        TypeOrmModule.forRoot({
          ...dataSourceOptions({
            url: opts.databaseUrl,
            poolSize: opts.config.DB_POOL_SIZE,
            connectionTimeoutMs: opts.config.DB_CONNECTION_TIMEOUT_MS,
            preparedStatements: opts.config.DB_PREPARED_STATEMENTS,
            guardSpeculativeWrites: opts.config.GRAPHQL_JIT,
            idleInTransactionMs: opts.config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
            counter: opts.counter,
          }),
          autoLoadEntities: true,
          ...(opts.retryConnection && { toRetry: opts.retryConnection }),
        }),
      ],
      providers: [
        { provide: AppConfig, useValue: opts.config },
        { provide: QueryCounter, useValue: opts.counter ?? new QueryCounter() },
        { provide: RELAY_LIVE_EVENTS, useValue: opts.relayLiveEvents ?? false },
        // The process's one LISTEN connection, whatever the number of channels (opened with the first).
        { provide: PgListener, useFactory: () => new PgListener(opts.databaseUrl) },
        EventBus,
        UnitOfWork,
        OutboxHandlers,
        OutboxWorker,
        RateLimiter,
        JobScheduler,
        AuditLog,
        SignedTokens,
        ...settings,
      ],
      exports: [AppConfig, QueryCounter, PgListener, EventBus, UnitOfWork, OutboxHandlers, OutboxWorker, RateLimiter, JobScheduler, AuditLog, SignedTokens, ...settings.map((p) => p.provide)],
    };
  }
}

/** Whether `p` is a plain object whose own keys are `provide` and `useValue`, and no other. */
function isValueProviderOnly(p: unknown): p is ValueProvider {
  if (typeof p !== 'object' || p === null) return false;
  const keys = Reflect.ownKeys(p);
  return keys.length === 2 && keys.includes('provide') && keys.includes('useValue');
}

function describeKeys(p: unknown): string {
  return typeof p === 'object' && p !== null ? `an object with keys ${Reflect.ownKeys(p).map(String).join(', ') || '(none)'}` : `a ${typeof p}`;
}
