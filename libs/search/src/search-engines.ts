import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../core/src/config/config';
import { settleWithin } from '../../core/src/settle-within';
import { MeiliSearchEngine } from './meili/meili.engine';
import { PostgresSearchEngine } from './postgres/postgres.engine';
import { ServerFolding } from './postgres/unaccent-folding';
import { SearchEngine } from './search-engine';

/**
 * The engines of this deployment. PostgreSQL is always kept up to date: it is the
 * default engine and the fallback when the external one (Meilisearch, when MEILI_URL
 * is set) fails. The external engine receives documents through a retried queue, so
 * an outage never blocks writes or the outbox.
 */
/** How long a closing process waits for the start-up read of the letter folding (see `SearchEngines.onModuleDestroy`). */
const CLOSE_WAIT_MS = 2_000;

@Injectable()
export class SearchEngines implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Search');
  readonly postgres: PostgresSearchEngine;
  /** Meilisearch when MEILI_URL is set: prepared (its settings applied) at start-up, which needs no letter folding. */
  readonly external: MeiliSearchEngine | null;
  /** The server's letter folding, as this process holds it: what the PostgreSQL engine's vocabulary, and Meilisearch's documents and queries, are written and read with. */
  readonly folding: ServerFolding;
  /** The start-up read of the folding (`onApplicationBootstrap`) while under way (it leaves once settled): waited for, a while, before the pool closes. */
  private readonly startupRead = new Set<Promise<void>>();
  /** How long a closing process waits for that read (CLOSE_WAIT_MS; a field, so that a test need not wait). */
  private readonly closeWaitMs = CLOSE_WAIT_MS;
  /** Set once a closing process stopped waiting for the read: its failure then is the close's doing, not warned of. */
  private gaveUp = false;

  constructor(ds: DataSource, config: AppConfig) {
    this.folding = new ServerFolding(ds);
    this.postgres = new PostgresSearchEngine(ds, this.folding);
    this.external = config.MEILI_URL
      ? new MeiliSearchEngine({ url: config.MEILI_URL, apiKey: config.MEILI_MASTER_KEY, index: config.MEILI_INDEX, timeoutMs: config.MEILI_TIMEOUT_MS }, this.folding)
      : null;
  }

  /** The engine queries go to first. */
  get primary(): SearchEngine {
    return this.external ?? this.postgres;
  }

  byName(name: string): SearchEngine | null {
    if (name === this.postgres.name) return this.postgres;
    if (this.external && name === this.external.name) return this.external;
    return null;
  }

  all(): SearchEngine[] {
    return this.external ? [this.postgres, this.external] : [this.postgres];
  }

  async onApplicationBootstrap(): Promise<void> {
    // The server's letter folding is read now, in the background, not by the first search (a
    // Meilisearch query waits for it, with its time limit): a start-up with PostgreSQL slow or out
    // of reach goes on, and a failed read is not kept, so the first use reads it again.
    const read: Promise<void> = this.folding
      .current()
      .then(
        () => undefined,
        (err) => {
          if (!this.gaveUp) this.log.warn({ err }, 'the letter folding could not be read at start-up; the first search reads it again');
        },
      )
      .finally(() => this.startupRead.delete(read));
    this.startupRead.add(read);
    // Settings are applied in the background: a Meilisearch that is down must not stop the API from starting.
    if (this.external) {
      this.external.prepare().then(
        () => this.log.log(`${this.external!.name} ready`),
        (err) => this.log.warn({ err }, `${this.external!.name} is not reachable; queries use PostgreSQL until it is`),
      );
    }
  }

  /**
   * A process that closes as soon as it started (a CLI command: `admin:create` takes less than the read) waits for the
   * start-up read first (a fifth of a second usually), run before any module's shutdown hook and so before the pool ends:
   * the read cut off by the pool's end, or by the embedded database's stop after it, would warn of a folding that could
   * not be read, on a command's stderr, about nothing wrong. Waited for CLOSE_WAIT_MS at most, not the read's own minute
   * (a PostgreSQL slow or out of reach), which would pass the process's 10 s cleanup deadline: past it, the close goes on,
   * and the read's failure is not warned of.
   */
  async onModuleDestroy(): Promise<void> {
    await settleWithin(this.startupRead, Date.now() + this.closeWaitMs);
    if (this.startupRead.size) this.gaveUp = true;
  }
}
