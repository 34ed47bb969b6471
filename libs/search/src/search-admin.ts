import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { poolSizeOf } from '../../core/src/database/data-source';
import { storedErrorText } from '../../core/src/log-redaction';
import { UnaccentFolding } from './postgres/unaccent-folding';
import { SearchDocuments } from './search-documents';
import { SearchEngine } from './search-engine';
import { SearchEngines } from './search-engines';
import { INDEXED_EVENT_PREFIXES, INDEXED_EVENT_TYPES } from './search-indexer';
import { SearchSync } from './search-sync';

const BATCH = 500;
/** Batches a rebuild runs at once when not told (`search:reindex` without --concurrency), or fewer on a smaller pool. */
export const REBUILD_CONCURRENCY = 2;
/** Ids read (and removed) per round trip when looking for orphans. */
const SWEEP_PAGE = 1000;
/** How much of an engine's error `status` shows (as `search_sync_queue.last_error` keeps): one line a person reads. */
const ENGINE_ERROR_TEXT = 1000;

export interface SearchStatus {
  engines: Array<{ name: string; documents: number | null; error?: string }>;
  posts: number;
  /** Outbox events the indexer has not consumed yet, and the age of the oldest in seconds. */
  outbox: { pending: number; lagSeconds: number };
  /** Documents the external engine has still to receive. */
  externalQueue: { pending: number; failing: number; lagSeconds: number } | null;
}

/** Operators' tools: rebuild an index from the database, and see how far behind indexing is. */
@Injectable()
export class SearchAdmin {
  constructor(
    private readonly ds: DataSource,
    private readonly documents: SearchDocuments,
    private readonly engines: SearchEngines,
    private readonly sync: SearchSync,
  ) {}

  targets(name: string | undefined): SearchEngine[] {
    if (!name || name === 'all') return this.engines.all();
    const engine = this.engines.byName(name);
    if (!engine) throw new Error(`Unknown or unconfigured engine "${name}" (have: ${this.engines.all().map((e) => e.name).join(', ')})`);
    return [engine];
  }

  /**
   * Writes every post's current document, in id order and in batches (`concurrency` batches
   * in flight: building documents and computing vectors use both the API's and the
   * database's cores), then removes every engine's documents of posts that no longer exist.
   * Documents are replaced in place, so search keeps answering throughout. The server's letter
   * folding, as this process holds it (`ServerFolding.current`, unless the caller took it:
   * `folding`), is what the engines are prepared with and their formats recorded with.
   * Each batch in flight holds one of the pool's connections: `concurrency` is REBUILD_CONCURRENCY
   * (or the pool's size if smaller) when not given, and above the pool's size (DB_POOL_SIZE) it is
   * refused before anything is read or written, as batches waiting for a connection past
   * DB_CONNECTION_TIMEOUT_MS would fail the rebuild halfway.
   */
  async rebuild(
    engines: SearchEngine[],
    progress: (done: number, total: number) => void = () => undefined,
    concurrency?: number,
    folding?: UnaccentFolding,
  ): Promise<number> {
    const pool = poolSizeOf(this.ds);
    const atOnce = concurrency ?? Math.min(REBUILD_CONCURRENCY, pool);
    if (!Number.isInteger(atOnce) || atOnce < 1 || atOnce > pool) {
      throw new RangeError(`A rebuild runs from 1 to DB_POOL_SIZE (${pool}) batches at once, each on one of the pool's connections; asked for ${concurrency}`);
    }
    const [{ n: total }] = await this.ds.query(`SELECT count(*)::int AS n FROM posts`);
    // The one the documents are written with (see ServerFolding), held since it was last read.
    const readFolding = folding ?? (await this.engines.folding.current());
    for (const e of engines) await e.prepare(readFolding);
    let after: string | null = null;
    let done = 0;
    progress(0, total);
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    for (;;) {
      const ids = await this.documents.idsAfter(after, BATCH);
      if (ids.length === 0) break;
      after = ids[ids.length - 1];
      const work: Promise<void> = (async () => {
        const { docs } = await this.documents.load(ids);
        for (const e of engines) await e.upsert(docs);
        done += ids.length;
        progress(done, Math.max(total, done));
      })().then(
        () => void inFlight.delete(work),
        (err) => {
          failure ??= err;
          inFlight.delete(work);
        },
      );
      inFlight.add(work);
      if (inFlight.size >= atOnce) await Promise.race(inFlight);
      if (failure) break;
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    for (const e of engines) await this.removeOrphans(e);
    // Fresh counts and statistics: which path a query takes comes from the documents' (their
    // lexemes', languages' and number, pg_class.reltuples: a table grown from a thousand to a million
    // documents took common words for rare ones, and read 20,000 GIN matches before the date index),
    // and the planner reads the vocabularies and the lexeme counts with theirs. The counts this
    // rebuild changed are folded in first (the worker's job would, within seconds), so that their
    // statistics see them.
    if (engines.includes(this.engines.postgres)) {
      await this.engines.postgres.foldCounts();
      await this.ds.query(`ANALYZE search_documents, search_terms, search_terms_moderated, search_lexeme_counts, search_space_documents`);
    }
    for (const e of engines) await this.recordFormat(e, readFolding);
    return done;
  }

  /**
   * Rebuilds an engine's index once after an upgrade changed what its documents hold (its
   * `format` above the one recorded, or its `formatFingerprint` another than the one recorded: a
   * PostgreSQL server upgraded to a release whose `unaccent` reads more letters): in the
   * background, one batch in flight, search answering throughout, as Discourse reindexes after a
   * search change. A job runs it at start and hourly (see SearchModule); `search:reindex` records
   * the format too. It compares the fingerprint of the folding the process writes with, as it holds
   * it (it reads none of its own: `ServerFolding` reads it again hourly, and a server's changed
   * rules reach the job's next run once read). Returns whether it rebuilt.
   */
  async upgradeFormat(): Promise<boolean> {
    const rows: Array<{ engine: string; format: number; fingerprint: string | null }> = await this.ds.query(`SELECT engine, format, fingerprint FROM search_index_formats`);
    const recorded = new Map(rows.map((r) => [r.engine, r]));
    // One folding, for every engine, for the rebuild and to record it.
    const folding = await this.engines.folding.current();
    let rebuilt = false;
    for (const engine of this.engines.all()) {
      const was = recorded.get(engine.name);
      if (was && was.format >= engine.format && was.fingerprint === (engine.formatFingerprint?.(folding) ?? null)) continue;
      // Nothing written yet (a new installation, an engine just configured): nothing in an older format either.
      if ((await engine.count()) === 0) {
        await this.recordFormat(engine, folding);
        continue;
      }
      await this.rebuild([engine], undefined, 1, folding);
      rebuilt = true;
    }
    return rebuilt;
  }

  /** Records the format an engine's index now holds, with its fingerprint under the letter folding it was written with. */
  private async recordFormat(engine: SearchEngine, folding: UnaccentFolding): Promise<void> {
    await this.ds.query(
      `INSERT INTO search_index_formats (engine, format, fingerprint) VALUES ($1, $2, $3)
       ON CONFLICT (engine) DO UPDATE SET format = EXCLUDED.format, fingerprint = EXCLUDED.fingerprint, rebuilt_at = now()`,
      [engine.name, engine.format, engine.formatFingerprint?.(folding) ?? null],
    );
  }

  /**
   * Removes an engine's documents whose post no longer exists (erased with its author, say,
   * while the indexer was not listening); returns how many. The walk finishes before
   * anything is removed, so removals cannot shift the pages it reads.
   */
  async removeOrphans(engine: SearchEngine): Promise<number> {
    const orphans: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { ids: string[]; next: string | null } = await engine.documentIds(cursor, SWEEP_PAGE);
      if (page.ids.length > 0) {
        const rows: Array<{ id: string }> = await this.ds.query(
          `SELECT d.id FROM unnest($1::uuid[]) AS d(id) WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = d.id)`,
          [page.ids],
        );
        orphans.push(...rows.map((r) => r.id));
      }
      cursor = page.next;
    } while (cursor);
    for (let i = 0; i < orphans.length; i += SWEEP_PAGE) await engine.remove(orphans.slice(i, i + SWEEP_PAGE));
    return orphans.length;
  }

  async status(): Promise<SearchStatus> {
    const engines = await Promise.all(
      this.engines.all().map(async (e) => {
        try {
          return { name: e.name, documents: await e.count() };
        } catch (err) {
          // Whatever it rejected with (an error, a text, null): its text as operators read a stored one, redacted.
          return { name: e.name, documents: null, error: storedErrorText(err, ENGINE_ERROR_TEXT) };
        }
      }),
    );
    const [row] = await this.ds.query(
      `SELECT (SELECT count(*)::int FROM posts) AS posts,
              count(*)::int AS pending,
              coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS lag
         FROM outbox
        WHERE processed_at IS NULL AND (type LIKE ANY($1::text[]) OR type = ANY($2::text[]))`,
      [INDEXED_EVENT_PREFIXES.map((p) => `${p}%`), INDEXED_EVENT_TYPES],
    );
    let externalQueue: SearchStatus['externalQueue'] = null;
    if (this.engines.external) {
      const q = await this.sync.backlog();
      externalQueue = { pending: q.pending, failing: q.failing, lagSeconds: q.oldest ? (Date.now() - new Date(q.oldest).getTime()) / 1000 : 0 };
    }
    return { engines, posts: row.posts, outbox: { pending: row.pending, lagSeconds: Math.round(row.lag) }, externalQueue };
  }
}
