import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { outboxInsertSql, UnitOfWork } from '../../core/src/database/unit-of-work';
import { CENSOR_MASK, ContentRenderer, sanitizeRendered } from '../../content/src/renderer';

/**
 * A stored rendered field: `html`, written from `source` by the renderer of its day. `created` is
 * what `--since` reads. `fromHtml`, when set, is an SQL condition true of the rows whose HTML did
 * not come from their source (so only the allowlist is applied to it again, `sanitizeRendered`).
 */
interface RenderedField {
  name: string;
  table: string;
  key: string;
  source: string;
  html: string;
  created: string;
  where?: string;
  fromHtml?: string;
}

/**
 * Every stored rendered field. A post whose latest revision is the Stack Exchange importer's, its
 * source unchanged since, shows the dump's HTML (sanitized), not the render of its source (markdown
 * turned back from that HTML: `convertDumpBody`): re-rendering would replace what the site showed
 * with an approximation, so it is only sanitized again. The importer's revisions are known by their
 * editor, the imported author's placeholder account (`is_placeholder`), which cannot sign in: so
 * no one's edit passes for one, whatever reason it is given (the importer's reason is text an
 * editor may type too). A status change's response keeps no
 * source (the idea's current response does): it too is only sanitized again. And any field's HTML
 * a CENSOR rule masked (`maskedSql`): its source keeps the words as written.
 */
export const RENDERED_FIELDS: readonly RenderedField[] = [
  {
    name: 'posts', table: 'posts', key: 'id', source: 'body_source', html: 'body_html', created: 'created_at',
    fromHtml: `COALESCE((SELECT e.is_placeholder AND r.body_source = t.body_source
                           FROM post_revisions r JOIN users e ON e.id = r.editor_id WHERE r.post_id = t.id ORDER BY r.number DESC LIMIT 1), false)`,
  },
  { name: 'held edits', table: 'post_pending_edits', key: 'post_id', source: 'body_source', html: 'body_html', created: 'created_at' },
  { name: 'article revisions', table: 'article_revisions', key: 'id', source: 'body_source', html: 'body_html', created: 'created_at' },
  { name: 'bios', table: 'users', key: 'id', source: 'bio', html: 'bio_html', created: 'created_at', where: 'bio IS NOT NULL' },
  { name: 'idea responses', table: 'ideas', key: 'topic_id', source: 'response_source', html: 'response_html', created: 'response_at', where: 'response_source IS NOT NULL AND response_html IS NOT NULL' },
  { name: 'idea status responses', table: 'idea_status_changes', key: 'id', source: 'response_html', html: 'response_html', created: 'at', where: 'response_html IS NOT NULL', fromHtml: 'true' },
];

/**
 * True of stored HTML (the SQL `html`) a CENSOR rule masked: it holds the mask, in text or
 * percent-encoded in a URL. Rendered again from its source, which keeps the words as written, it
 * would show them; so, like HTML of no source, it only gets the allowlist again. HTML that holds
 * the character as typed is caught too, and is only sanitized: it keeps older renderer rules.
 */
function maskedSql(html: string): string {
  const encoded = [...Buffer.from(CENSOR_MASK)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
  return `(strpos(${html}, '${CENSOR_MASK}') > 0 OR strpos(upper(${html}), '${encoded}') > 0)`;
}

export interface RebakeOptions {
  /** Only rows created at or after this (a post, a bio's account, a revision, a response). */
  since?: Date;
  /** Rows read, rendered and written per transaction. */
  batch?: number;
}

export interface RebakeCount {
  name: string;
  scanned: number;
  changed: number;
}

export const REBAKE_BATCH = 500;

interface ReadRow {
  key: string;
  source: string;
  html: string;
  /** md5 of the source and of the HTML as read: what the write's guard compares (`write`). */
  source_md5: string;
  html_md5: string;
  from_html: boolean | null;
}

/** A row to write: its new HTML, and the digests of the source and HTML it was rendered from. */
interface Change {
  key: string;
  source_md5: string;
  html_md5: string;
  html: string;
}

/**
 * Discourse's rebake: every stored rendered field rendered again from its source with the current
 * renderer and allowlist (which tightened over time: `<ol start>`, external images' referrer
 * policy and lazy loading), for operators to run after an upgrade (`content:rebake`). The renderer
 * keeps no version: the new HTML is compared with the stored one, and only rows that differ are
 * written, so a second run writes nothing.
 *
 * Keyset batches, each read without a lock and rendered outside any transaction; the changed rows
 * are written in one short transaction by a statement that takes each row's lock and writes only
 * if its source and HTML are still those read: an edit committed meanwhile, or waited for under
 * that lock, keeps its own (newer) HTML. A post whose HTML changed gets a new version and the
 * `post.updated` an edit emits, for search to index it again, but without an editor, `textEdited`
 * or mentions: a rebake is nobody's edit, so it writes no revision and notifies no one; the event
 * is written to the outbox only, so it is not pushed live (open pages show it on their next load).
 */
@Injectable()
export class ContentRebake {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly renderer: ContentRenderer,
  ) {}

  /** How many rows each field has to scan (for a progress bar). */
  async totals(opts: RebakeOptions = {}): Promise<number> {
    let total = 0;
    for (const f of RENDERED_FIELDS) {
      const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM ${f.table} t WHERE ${this.filter(f, 1)}`, [opts.since ?? null]);
      total += n;
    }
    return total;
  }

  async rebake(opts: RebakeOptions = {}, progress?: (scanned: number) => void): Promise<RebakeCount[]> {
    const batch = opts.batch ?? REBAKE_BATCH;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`A rebake's batch is a whole number of rows from 1; asked for ${batch}`);
    const counts: RebakeCount[] = [];
    let scanned = 0;
    for (const f of RENDERED_FIELDS) {
      const count: RebakeCount = { name: f.name, scanned: 0, changed: 0 };
      counts.push(count);
      let after: string | null = null;
      for (;;) {
        const rows: ReadRow[] = await this.ds.query(
          `SELECT t.${f.key} AS key, t.${f.source} AS source, t.${f.html} AS html, md5(t.${f.source}) AS source_md5, md5(t.${f.html}) AS html_md5,
                  (${f.fromHtml ?? 'false'} OR ${maskedSql(`t.${f.html}`)}) AS from_html
             FROM ${f.table} t WHERE ${this.filter(f, 1)} AND ($2::uuid IS NULL OR t.${f.key} > $2) ORDER BY t.${f.key} LIMIT $3`,
          [opts.since ?? null, after, batch],
        );
        if (!rows.length) break;
        after = rows[rows.length - 1].key;
        const changes: Change[] = rows
          .map((r) => ({ key: r.key, source_md5: r.source_md5, html_md5: r.html_md5, html: r.from_html ? sanitizeRendered(r.html) : this.renderer.render(r.source).html }))
          .filter((r, i) => r.html !== rows[i].html);
        if (changes.length) count.changed += await this.write(f, changes);
        count.scanned += rows.length;
        scanned += rows.length;
        progress?.(scanned);
      }
    }
    return counts;
  }

  private filter(f: RenderedField, sinceParam: number): string {
    return `${f.where ?? 'true'} AND ($${sinceParam}::timestamptz IS NULL OR t.${f.created} >= $${sinceParam})`;
  }

  /**
   * Writes the changed rows whose source and HTML are still as read (the guard: under the row's
   * lock, PostgreSQL checks the condition again against the row as committed by whoever held
   * it). The guard compares md5 digests, taken by the read, with the row's: only the new HTML
   * travels, not the source and the old HTML too (a batch of long bodies would send hundreds of
   * megabytes). A collision is no risk worth more: an edit whose digests match those read would
   * need its writer to have crafted both texts, and would only get their own earlier text rendered
   * (sanitized as ever). Answers how many it wrote.
   */
  private async write(f: RenderedField, changes: Change[]): Promise<number> {
    const read = `r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(key uuid, source_md5 text, html_md5 text, html text))`;
    const guard = `t.${f.key} = r.key AND md5(t.${f.source}) = r.source_md5 AND md5(t.${f.html}) = r.html_md5`;
    return this.uow.run(async (tx) => {
      if (f.table !== 'posts') {
        const rows = await tx.query<{ n: number }>(
          `WITH ${read}, u AS (UPDATE ${f.table} t SET ${f.html} = r.html FROM r WHERE ${guard} RETURNING 1) SELECT count(*)::int AS n FROM u`,
          [JSON.stringify(changes)],
        );
        return rows[0].n;
      }
      const [{ n }] = await tx.query<{ n: number }>(
        outboxInsertSql(
          `SELECT 'post.updated', 'post', u.id, u.version,
                  jsonb_build_object('postId', u.id, 'topicId', u.topic_id, 'boardId', tp.board_id, 'spaceId', u.space_id, 'rebaked', true)
             FROM u JOIN topics tp ON tp.id = u.topic_id`,
          `${read}, u AS (UPDATE posts t SET body_html = r.html, version = next_version(t.version), updated_at = now() FROM r WHERE ${guard}
                          RETURNING t.id, t.topic_id, t.space_id, t.version)`,
        ),
        [JSON.stringify(changes)],
      );
      return n;
    });
  }
}
