// `meilisearch` is ES modules only: its types are imported as such, the code on first use (see client()).
import type { EnqueuedTaskPromise, Index, Meilisearch, SearchParams, Settings, Task } from 'meilisearch' with { 'resolution-mode': 'import' };
import { ServerFolding, UnaccentFolding, unaccentFolding } from '../postgres/unaccent-folding';
import { FacetCount, SearchDocument, SearchEngine, SearchFacets, SearchRequest, SearchResult, SNIPPET_CUT, SNIPPET_MARK, snippetHtml } from '../search-engine';

export interface MeiliSearchEngineOptions {
  url: string;
  apiKey?: string;
  /** The index holding contributions; tests use one of their own. */
  index?: string;
  /** Every HTTP call fails after this long: a slow query falls back to PostgreSQL. */
  timeoutMs?: number;
}

/**
 * How long a write waits for Meilisearch to apply it (indexing a batch, new settings). Much
 * longer than a query: the task goes on either way, and a write given up on is sent again.
 */
const TASK_TIMEOUT_MS = 60_000;

/**
 * What `upsert` writes for a post, as a number: bumped whenever that changes, so that an index
 * written by an older release is rebuilt once after an upgrade (`SearchAdmin.upgradeFormat`).
 * 1: titles and bodies are stored with ß as ss, with the text as written beside them. 2: and with
 * every other letter PostgreSQL's unaccent reads otherwise than its base letter as it reads it
 * (a table read off PostgreSQL 15's rules: ø, ł, đ, þ, ı as o, l, d, th, i...). 3: with the letters
 * as the connected server's own unaccent reads them (`meiliFolding`), composed (NFC); what they
 * were written with is recorded beside this number (`formatFingerprint`), and another folding
 * rebuilds the index as a higher number does.
 */
export const MEILI_INDEX_FORMAT = 3;

/**
 * A document as Meilisearch stores it: dates as text and as epoch seconds (sortable), plus its
 * ranking boost; title and body with letters folded (see meiliFolding), and as written where that differs.
 */
type StoredDocument = Omit<SearchDocument, 'createdAt'> & {
  createdAt: string;
  createdAtTs: number;
  boost: number;
  titleAsWritten?: string;
  bodyAsWritten?: string;
};

/**
 * What a hit carries back; bodies are read through `_formatted`, cropped, and as written only
 * where they hold a letter folded (to show the snippet with it).
 */
const RETRIEVED = ['id', 'topicId', 'postNumber', 'spaceId', 'kind', 'title', 'titleAsWritten', 'bodyAsWritten'] as const;
type RetrievedHit = Pick<StoredDocument, (typeof RETRIEVED)[number] | 'body'>;

/**
 * The letters whose non-spacing marks Meilisearch's tokenizer (charabia) takes off itself, as
 * unaccent takes off accents: those of Latin, Greek, Arabic, Hebrew and Thai.
 */
const MARKS_TAKEN_OFF = /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Thai}]$/u;
/** Text with the marks Meilisearch's tokenizer takes off taken off (é, ö, ά as e, o, α). */
const marksTakenOff = (text: string) => [...text].map((c) => (MARKS_TAKEN_OFF.test(c) ? c.normalize('NFD').replace(/\p{Mn}/gu, '') : c)).join('');
const meiliFoldings = new WeakMap<UnaccentFolding, UnaccentFolding>();

/**
 * The letters Meilisearch is given as the PostgreSQL server's `unaccent` reads them (`server`, the
 * folding read off it, see `ServerFolding`), so that both engines read every letter alike, on any
 * release. Its tokenizer (charabia) decomposes letters and takes the marks off Latin, Greek,
 * Arabic, Hebrew and Thai ones (é as e), but keeps the letters no decomposition makes plain,
 * which unaccent reads otherwise: ß, ø, ł, ħ, ŧ, þ (its normalizers for Đ, Ð and ı are optional
 * features of charabia, which a build of Meilisearch may leave out), Cyrillic ё, and, on
 * PostgreSQL 16 and later, ª, µ and superscript letters. Straße and Strasse, København and
 * Kobenhavn would be two words, and no typo apart. Titles and bodies given to it, and queries
 * alike, are folded with every reading of the server's but those of letters it takes the marks off
 * itself (so that a French or German text, which has nothing else to fold, is stored once, not
 * again as written), and snippets and titles show them as written again (`withLettersAsWritten`).
 */
export function meiliFolding(server: UnaccentFolding): UnaccentFolding {
  let folding = meiliFoldings.get(server);
  if (!folding) {
    folding = unaccentFolding([...server.readings].filter(([letter, reading]) => marksTakenOff(letter) !== marksTakenOff(reading)));
    meiliFoldings.set(server, folding);
  }
  return folding;
}

/** Where a snippet is cropped: SNIPPET_CUT, shown as CROP_SHOWN, Meilisearch's default marker. */
const CROP_MARKER = SNIPPET_CUT;
const CROP_SHOWN = '…';

/**
 * Highlight markers: SNIPPET_MARK's control characters. They are stripped from indexed text, so
 * a post cannot forge one (nor a CROP_MARKER).
 */
const MARK_OPEN = SNIPPET_MARK.open;
const MARK_CLOSE = SNIPPET_MARK.close;
const MARKERS = /[\u0001\u0002\u0007]/g;

/** Words in a snippet, as PostgreSQL's headline gives about as much. */
const SNIPPET_WORDS = 30;
/** Tags listed in facets, as many as the PostgreSQL engine lists. */
const TOP_TAGS = 20;

/**
 * Index settings; sending them again changes nothing, so prepare() runs on every start.
 * Ranking keeps Meilisearch's own rules and breaks the last ties with `boost`, but `sort`
 * comes right after `words`: rules apply one after another, so a requested sort (NEWEST)
 * must order the matches before typo, proximity and word position do, as PostgreSQL does;
 * without a requested sort the rule does nothing. `id` is filterable so upsert() can read the
 * stored versions of a batch in one call.
 */
const SETTINGS: Settings = {
  searchableAttributes: ['title', 'tags', 'body'],
  filterableAttributes: ['id', 'spaceId', 'boardId', 'kind', 'tags', 'authorId', 'state', 'postNumber', 'topicId'],
  sortableAttributes: ['createdAtTs', 'reactions', 'boost'],
  rankingRules: ['words', 'sort', 'typo', 'proximity', 'attribute', 'exactness', 'boost:desc'],
  typoTolerance: { enabled: true },
  // Facet values are cut at maxValuesPerFacet after sorting: by count, so the cut keeps the most used tags.
  faceting: { maxValuesPerFacet: 100, sortFacetValuesBy: { '*': 'count' } },
  pagination: { maxTotalHits: 1000 },
};

/**
 * The external engine: Meilisearch, for typo tolerance, prefix search and speed on large
 * forums. Queries pass through as typed (Meilisearch reads "phrases" and -exclusions
 * itself); filters are built here from the caller's permission lists, values quoted.
 * Any error or timeout propagates, and the caller falls back to PostgreSQL.
 */
export class MeiliSearchEngine implements SearchEngine {
  readonly name = 'meilisearch';
  readonly format = MEILI_INDEX_FORMAT;
  private readonly indexUid: string;
  private readonly timeoutMs: number;
  private connection: Promise<Meilisearch> | null = null;
  /** The last preparation, done or under way; null while none succeeded or is running. */
  private ready: Promise<void> | null = null;

  /** `serverFolding`: the PostgreSQL server's letter folding, shared with the PostgreSQL engine (see meiliFolding). */
  constructor(
    private readonly opts: MeiliSearchEngineOptions,
    private readonly serverFolding: Pick<ServerFolding, 'current'>,
  ) {
    this.indexUid = opts.index ?? 'contributions';
    this.timeoutMs = opts.timeoutMs ?? 1500;
  }

  /** Its documents are written with the server's letter folding, as far as Meilisearch is given it (`meiliFolding`). */
  formatFingerprint(folding: UnaccentFolding): string {
    return meiliFolding(folding).fingerprint;
  }

  /** Creates the index and applies its settings: the letter folding a rebuild writes with changes neither (its documents are folded as they are written). */
  prepare(): Promise<void> {
    const run = (async () => {
      const client = await this.client();
      const created = await client.createIndex(this.indexUid, { primaryKey: 'id' }).waitTask({ timeout: TASK_TIMEOUT_MS });
      // Creating an index that exists fails its task, and that is the usual case here.
      if (created.status !== 'succeeded' && created.error?.code !== 'index_already_exists') throw taskError(created);
      await this.settle((await this.index()).updateSettings(SETTINGS));
    })();
    this.ready = run;
    run.catch(() => {
      if (this.ready === run) this.ready = null;
    });
    return run;
  }

  /**
   * Writes need the index and its settings: a Meilisearch that was down when the API started
   * (or whose preparation failed) is prepared by the next write, which fails, to be retried,
   * while it cannot be. Writes at the same moment share one preparation.
   */
  private ensurePrepared(): Promise<void> {
    return this.ready ?? this.prepare();
  }

  async upsert(docs: SearchDocument[]): Promise<void> {
    if (docs.length === 0) return;
    // The folding first: a write that cannot have it (FoldingUnavailableError) fails before Meilisearch is contacted.
    const folding = meiliFolding(await this.serverFolding.current());
    await this.ensurePrepared();
    const latest = new Map<string, SearchDocument>();
    for (const doc of docs) {
      const seen = latest.get(doc.id);
      if (!seen || doc.version >= seen.version) latest.set(doc.id, doc);
    }
    const index = await this.index();
    // Read, then write: Meilisearch has no conditional write. A concurrent writer of the same
    // documents could slip in between; the outbox re-reads the source rows, so the next event heals it.
    const stored = await index.getDocuments<{ id: string; version: number }>({
      filter: inList('id', [...latest.keys()]),
      fields: ['id', 'version'],
      limit: latest.size,
    });
    for (const { id, version } of stored.results) {
      if ((latest.get(id)?.version ?? Infinity) < version) latest.delete(id);
    }
    if (latest.size === 0) return;
    await this.settle(index.addDocuments([...latest.values()].map((doc) => toStored(doc, folding)), { primaryKey: 'id' }));
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.ensurePrepared();
    await this.settle((await this.index()).deleteDocuments(ids));
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    if (req.filters.spaceIds.length === 0) {
      return { hits: [], total: 0, facets: req.facets ? { kinds: [], spaces: [], tags: [] } : null, engine: this.name };
    }
    const params: SearchParams = {
      filter: filterOf(req.filters),
      limit: req.limit,
      offset: req.offset,
      attributesToRetrieve: [...RETRIEVED],
      attributesToHighlight: ['title', 'body'],
      attributesToCrop: ['body'],
      cropLength: SNIPPET_WORDS,
      cropMarker: CROP_MARKER,
      highlightPreTag: MARK_OPEN,
      highlightPostTag: MARK_CLOSE,
      showRankingScore: true,
    };
    if (req.sort === 'NEWEST') params.sort = ['createdAtTs:desc'];
    if (req.facets) params.facets = ['kind', 'spaceId', 'tags'];
    const folding = meiliFolding(await this.serverFolding.current());
    const res = await (await this.index()).search<RetrievedHit>(folding.fold(req.query), params);
    const facets: SearchFacets | null = req.facets
      ? {
          kinds: facetCounts(res.facetDistribution?.kind),
          spaces: facetCounts(res.facetDistribution?.spaceId),
          tags: facetCounts(res.facetDistribution?.tags).slice(0, TOP_TAGS),
        }
      : null;
    return {
      hits: res.hits.map((h) => ({
        id: h.id,
        topicId: h.topicId,
        postNumber: h.postNumber,
        spaceId: h.spaceId,
        kind: h.kind,
        title: h.titleAsWritten ?? h.title,
        snippetHtml: snippetOf(h, folding),
        score: h._rankingScore ?? 0,
      })),
      // offset/limit paging answers with an estimate, exact up to pagination.maxTotalHits.
      total: res.estimatedTotalHits ?? res.hits.length,
      // It stops counting at pagination.maxTotalHits (estimatedTotalHits is capped there): reaching it says 1,000 or more.
      totalIsEstimate: (res.estimatedTotalHits ?? 0) >= SETTINGS.pagination!.maxTotalHits!,
      facets,
      engine: this.name,
    };
  }

  /** Pages by offset (ids are strings, which Meilisearch filters cannot range over). */
  async documentIds(cursor: string | null, limit: number): Promise<{ ids: string[]; next: string | null }> {
    const offset = cursor ? Number(cursor) : 0;
    const page = await (await this.index()).getDocuments<{ id: string }>({ fields: ['id'], offset, limit });
    const ids = page.results.map((d) => d.id);
    const end = offset + ids.length;
    return { ids, next: ids.length > 0 && end < page.total ? String(end) : null };
  }

  async count(): Promise<number> {
    return (await (await this.index()).getStats()).numberOfDocuments;
  }

  async clear(): Promise<void> {
    await this.settle((await this.index()).deleteAllDocuments());
  }

  /** Deletes the whole index (throwaway indexes of tests and evaluations). */
  async deleteIndex(): Promise<void> {
    this.ready = null;
    await this.settle((await this.client()).deleteIndex(this.indexUid));
  }

  /**
   * The client, loaded on first use: `meilisearch` ships as ES modules only, and a dynamic
   * import keeps this CommonJS module loadable where Meilisearch is not configured (Jest runs
   * with --experimental-vm-modules so that the import works in tests, see package.json).
   */
  private client(): Promise<Meilisearch> {
    this.connection ??= import('meilisearch').then(
      ({ Meilisearch }) => new Meilisearch({ host: this.opts.url, apiKey: this.opts.apiKey, timeout: this.timeoutMs }),
    );
    return this.connection;
  }

  private async index(): Promise<Index<StoredDocument>> {
    return (await this.client()).index<StoredDocument>(this.indexUid);
  }

  /** Waits for a write to be applied: Meilisearch answers before it indexes, and a failed task is not an HTTP error. */
  private async settle(enqueued: EnqueuedTaskPromise): Promise<void> {
    const task = await enqueued.waitTask({ timeout: TASK_TIMEOUT_MS });
    if (task.status !== 'succeeded') throw taskError(task);
  }
}

function taskError(task: Task): Error {
  const why = task.error ? `${task.error.code}: ${task.error.message}` : task.status;
  return new Error(`Meilisearch task ${task.uid} (${task.type}) ${task.status}: ${why}`);
}

/** Ranks accepted answers and well-received posts first among otherwise equal matches. */
function boostOf(doc: SearchDocument): number {
  return (doc.accepted ? 2 : 0) + Math.log1p(Math.max(0, doc.reactions));
}

function toStored(doc: SearchDocument, folding: UnaccentFolding): StoredDocument {
  // Composed, as folded: the text as written is kept only where a letter was folded.
  const title = doc.title.replace(MARKERS, '').normalize('NFC');
  const body = doc.body.replace(MARKERS, '').normalize('NFC');
  const stored: StoredDocument = {
    ...doc,
    title: folding.fold(title),
    body: folding.fold(body),
    createdAt: doc.createdAt.toISOString(),
    createdAtTs: Math.floor(doc.createdAt.getTime() / 1000),
    boost: boostOf(doc),
  };
  if (stored.title !== title) stored.titleAsWritten = title;
  if (stored.body !== body) stored.bodyAsWritten = body;
  return stored;
}

/** A hit's snippet, as HTML: its body's, cropped around the matches, else its title's, with the letters as written (see meiliFolding). */
function snippetOf(h: RetrievedHit & { _formatted?: Partial<RetrievedHit> }, folding: UnaccentFolding): string {
  if (h._formatted?.body) return snippetHtml(h._formatted.body, h.bodyAsWritten, folding.fold, CROP_SHOWN);
  if (h._formatted?.title) return snippetHtml(h._formatted.title, h.titleAsWritten, folding.fold, CROP_SHOWN);
  return snippetHtml(h.titleAsWritten ?? h.title, null, folding.fold, CROP_SHOWN);
}

/** The filter for a request: the viewer's spaces, visible content unless moderating, then the chosen narrowing. */
export function filterOf(f: SearchRequest['filters']): string {
  const parts = [inList('spaceId', f.spaceIds)];
  parts.push(f.moderatedSpaceIds?.length ? `(state = ${quote('VISIBLE')} OR ${inList('spaceId', f.moderatedSpaceIds)})` : `state = ${quote('VISIBLE')}`);
  if (f.boardIds?.length) parts.push(inList('boardId', f.boardIds));
  if (f.kinds?.length) parts.push(inList('kind', f.kinds));
  for (const tag of f.tags ?? []) parts.push(`tags = ${quote(tag)}`);
  if (f.authorId) parts.push(`authorId = ${quote(f.authorId)}`);
  if (f.topicsOnly) parts.push('postNumber = 1');
  if (f.excludeTopicIds?.length) parts.push(`topicId NOT IN [${f.excludeTopicIds.map(quote).join(', ')}]`);
  return parts.join(' AND ');
}

function inList(attribute: string, values: string[]): string {
  return `${attribute} IN [${values.map(quote).join(', ')}]`;
}

/** A filter string literal: inside double quotes, Meilisearch reads `\"` as a quote and `\\` as a backslash. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function facetCounts(distribution: Record<string, number> | undefined): FacetCount[] {
  return Object.entries(distribution ?? {})
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
