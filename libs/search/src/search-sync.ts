import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storedErrorText } from '../../core/src/log-redaction';
import { SearchDocuments } from './search-documents';
import { SearchEngines } from './search-engines';

const BATCH = 500;
const MAX_BACKOFF_SECONDS = 600;

/**
 * Pushes queued documents to the external engine. Rows are claimed with SKIP LOCKED and
 * deleted only once the engine took them; a failure keeps them with a growing delay, so
 * an outage loses nothing and never holds up the outbox or the PostgreSQL index.
 */
@Injectable()
export class SearchSync {
  private readonly log = new Logger('SearchSync');

  constructor(
    private readonly ds: DataSource,
    private readonly documents: SearchDocuments,
    private readonly engines: SearchEngines,
  ) {}

  /** Sends everything due; returns how many documents the engine received. */
  async drain(): Promise<number> {
    const engine = this.engines.external;
    if (!engine) return 0;
    let sent = 0;
    for (;;) {
      const n = await this.ds.transaction(async (m) => {
        const rows: Array<{ post_id: string }> = await m.query(
          `SELECT post_id FROM search_sync_queue WHERE available_at <= now() ORDER BY queued_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [BATCH],
        );
        if (rows.length === 0) return 0;
        const ids = rows.map((r) => r.post_id);
        try {
          const { docs, missing } = await this.documents.load(ids);
          await engine.upsert(docs);
          await engine.remove(missing);
        } catch (err) {
          this.log.warn({ err }, `${engine.name} did not take ${ids.length} documents; they will be retried`);
          await m.query(
            `UPDATE search_sync_queue SET attempts = attempts + 1, last_error = $2,
                    available_at = now() + make_interval(secs => LEAST(${MAX_BACKOFF_SECONDS}, power(2, attempts)))
              WHERE post_id = ANY($1::uuid[])`,
            // Kept for operators to read: without the password the engine's URL may carry (storedErrorText).
            [ids, storedErrorText(err, 1000)],
          );
          return -1;
        }
        await m.query(`DELETE FROM search_sync_queue WHERE post_id = ANY($1::uuid[])`, [ids]);
        return ids.length;
      });
      if (n <= 0) return sent;
      sent += n;
    }
  }

  /** What the external engine still has to receive, and since when. */
  async backlog(): Promise<{ pending: number; oldest: Date | null; failing: number }> {
    const [row] = await this.ds.query(
      `SELECT count(*)::int AS pending, min(queued_at) AS oldest, count(*) FILTER (WHERE attempts > 0)::int AS failing FROM search_sync_queue`,
    );
    return row;
  }
}
