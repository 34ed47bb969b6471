import { escapeHtml } from '../../content/src/renderer';
import { UnaccentFolding } from './postgres/unaccent-folding';
/**
 * The search port. Every engine (Postgres, Meilisearch) implements it and passes the
 * same contract suite (test/search/engine-contract.ts). Engines know nothing about
 * viewers: the caller always passes the spaces the viewer may read, so permission
 * filtering is decided on the server, never by the engine's own notion of access.
 */

/** Effective state of a contribution: a visible reply in a hidden topic is HIDDEN. */
export type SearchState = 'VISIBLE' | 'PENDING' | 'HIDDEN' | 'DELETED';

/** Content language of a document, from its space (`en`, `fr`, or `simple` for no stemming). */
export type SearchLanguage = 'en' | 'fr' | 'simple';

export function searchLanguage(code: string | null | undefined): SearchLanguage {
  return code === 'en' || code === 'fr' ? code : 'simple';
}

/** One contribution as the index holds it: a post, with its topic's title, kind and tags. */
export interface SearchDocument {
  /** The post's id. */
  id: string;
  topicId: string;
  /** 1 for the topic's first post. */
  postNumber: number;
  spaceId: string;
  boardId: string;
  /** The topic's kind: DISCUSSION, QUESTION, IDEA or ARTICLE. */
  kind: string;
  title: string;
  tags: string[];
  /** Plain text (no markup) of the post. */
  body: string;
  authorId: string;
  state: SearchState;
  language: SearchLanguage;
  /** The post is the topic's accepted answer. */
  accepted: boolean;
  reactions: number;
  createdAt: Date;
  /**
   * Grows with every change of the document's source rows. An engine never replaces a
   * document with one of a lower version, so a late, older update cannot undo a newer one.
   */
  version: number;
}

export type SearchSort = 'RELEVANCE' | 'NEWEST';

export interface SearchFilters {
  /** The spaces the viewer may read: the permission filter. Nothing outside them is ever returned or counted. */
  spaceIds: string[];
  /**
   * Spaces (a subset of spaceIds) where non-visible documents (pending, hidden, deleted) are
   * included too: a moderator's own query. Empty for everyone else.
   */
  moderatedSpaceIds?: string[];
  boardIds?: string[];
  kinds?: string[];
  /** Documents carrying every one of these tags. */
  tags?: string[];
  authorId?: string;
  /** Only first posts (one hit per topic), as for suggesting similar topics. */
  topicsOnly?: boolean;
  /**
   * Topics left out of hits, totals and facets alike: those whose audience is changing (moved,
   * hidden, deleted) while the index still holds them as they were.
   */
  excludeTopicIds?: string[];
}

export interface SearchRequest {
  query: string;
  filters: SearchFilters;
  sort?: SearchSort;
  limit: number;
  offset: number;
  /** Compute facets (kinds, spaces, tags) over every match; off when nobody asked for them. */
  facets?: boolean;
}

export interface SearchHit {
  id: string;
  topicId: string;
  postNumber: number;
  spaceId: string;
  kind: string;
  title: string;
  /** HTML-safe text: everything escaped except the `<mark>` around matches. */
  snippetHtml: string;
  /** Higher is better; comparable only within one response. */
  score: number;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchFacets {
  kinds: FacetCount[];
  spaces: FacetCount[];
  tags: FacetCount[];
}

export interface SearchResult {
  hits: SearchHit[];
  /** Every match for this viewer and filter (not only this page). */
  total: number;
  /**
   * Whether `total` is an estimate: past 1,000 matches it is, on either engine. PostgreSQL's counts
   * the spaces searched but none of the other filters (boards, kinds, tags, author, first posts),
   * so a filtered query's may be well above its matches; Meilisearch's is its own estimate.
   * Absent is false.
   */
  totalIsEstimate?: boolean;
  facets: SearchFacets | null;
  /** Which engine answered: `postgres` or `meilisearch`. */
  engine: string;
}

export interface SearchEngine {
  readonly name: string;
  /**
   * What `upsert` writes for a post, as a number, bumped whenever that changes: an index written
   * with an older one is rebuilt once (`SearchAdmin.upgradeFormat`, recorded in search_index_formats).
   */
  readonly format: number;
  /**
   * What else decides what `upsert` writes, as a short string, under the letter folding read off
   * the PostgreSQL server (`ServerFolding`), whose rules come with its `unaccent` and differ between
   * its releases: the PostgreSQL engine's vocabulary and Meilisearch's documents are written with it. An index recorded with
   * another (in search_index_formats) is rebuilt once, as one of an older `format` is. The caller
   * reads the folding, once for every engine and every step of a rebuild (it is a statement over
   * every letter). Engines whose documents depend on nothing but `format` have none.
   */
  formatFingerprint?(folding: UnaccentFolding): string;
  /**
   * Creates the index and applies its settings; safe to call on every start. Before a rebuild, given
   * the letter folding the rebuild writes with (see `formatFingerprint`): every caller has it.
   */
  prepare(folding: UnaccentFolding): Promise<void>;
  /** Inserts or replaces documents; a document older (lower version) than the stored one is ignored. */
  upsert(docs: SearchDocument[]): Promise<void>;
  /** Removes documents outright (content that no longer exists at all). */
  remove(ids: string[]): Promise<void>;
  search(request: SearchRequest): Promise<SearchResult>;
  /** How many documents the index holds. */
  count(): Promise<number>;
  /**
   * One page of the stored documents' ids, for sweeps that look for orphans: `cursor` is the
   * `next` of the page before (null for the first), and `next` is null after the last page.
   * Writes during a walk may make it miss ids, never invent them.
   */
  documentIds(cursor: string | null, limit: number): Promise<{ ids: string[]; next: string | null }>;
  /** Drops every document (tests and full rebuilds). */
  clear(): Promise<void>;
}

/** Escapes text for HTML, then turns the engine's highlight markers into `<mark>` tags. */
function markHighlights(text: string, open: string, close: string): string {
  const escaped = escapeHtml(text);
  return escaped.split(escapeHtml(open)).join('<mark>').split(escapeHtml(close)).join('</mark>');
}

/**
 * Around each match in a snippet as an engine gives it (PostgreSQL's `StartSel` and `StopSel`,
 * Meilisearch's `highlightPreTag` and `highlightPostTag`): control characters, which no indexed
 * text holds (see searchableText), so `snippetHtml` escapes the text first and then makes them
 * `<mark>`, and a post cannot forge one.
 */
export const SNIPPET_MARK = { open: '\u0001', close: '\u0002' } as const;

/**
 * Where an engine cuts a snippet (between a PostgreSQL headline's fragments, at a Meilisearch
 * crop): a control character, which no indexed text holds (see searchableText), so that each
 * fragment is found again whole in the text it was cut from (`withLettersAsWritten`, its
 * `delimiter`), where an ellipsis the author wrote may stand. Each engine shows it as an ellipsis.
 */
export const SNIPPET_CUT = '\u0007';

/**
 * A snippet cut from text whose letters were folded (`fold` reads each letter alone, as one
 * letter or more), with its letters as `written` again. The folded text was composed (NFC) first,
 * as `written` is here: letters written with their accents apart (e and U+0301) are one letter
 * there, and read apart they would fold to other text, where no fragment would be found. Each fragment between `delimiter`s, its
 * highlight `marks` aside, stands in the folded text where it was cut from (fragments come in the
 * text's order), and each folded letter there came from one letter of `written`, which it is
 * shown as (a highlight mark among the letters one letter folded to stands after it). A
 * fragment not found there (the text held a mark of ours) stays as it is.
 *
 * The `delimiter` must be one no text holds (a control character, see searchableText): a fragment
 * is looked for whole, at the first place after the one before where its folded text stands, as
 * the engines choose the first of windows alike. Split at an ellipsis the author wrote, its pieces
 * were looked for one by one, and a piece also found before the place it was cut from (the same
 * words written with another letter form: Straße, then Strasse) showed the letters written there.
 */
export function withLettersAsWritten(snippet: string, written: string | null | undefined, fold: (letter: string) => string, marks: string, delimiter: string): string {
  if (!written) return snippet;
  let folded = '';
  // Per UTF-16 unit of the folded text: the letter as written where its folding starts, else ''.
  const letters: string[] = [];
  for (const letter of written.normalize('NFC')) {
    const f = fold(letter);
    folded += f;
    for (let i = 0; i < f.length; i++) letters.push(i === 0 ? letter : '');
  }
  const isMark = (c: string) => marks.includes(c);
  let from = 0;
  return snippet
    .split(delimiter)
    .map((fragment) => {
      const plain = [...fragment].filter((c) => !isMark(c)).join('');
      const at = plain ? folded.indexOf(plain, from) : -1;
      if (at < 0) return fragment;
      from = at;
      let out = '';
      for (const c of fragment) {
        if (isMark(c)) {
          out += c;
          continue;
        }
        let letter = letters[from];
        // A fragment starting inside a letter's folding shows that letter.
        if (from === at) for (let i = from; letter === '' && i > 0; ) letter = letters[--i];
        out += letter;
        from += c.length;
      }
      return out;
    })
    .join(delimiter);
}

/**
 * A hit's snippet as HTML (`SearchHit.snippetHtml`), from the text an engine cut: its fragments
 * between SNIPPET_CUTs, its matches between SNIPPET_MARKs, its letters folded with `fold` from
 * `written` (or as written already: null). In this order, which both engines share: the letters
 * as written again, the cuts still in (each fragment is looked for whole, an ellipsis the author
 * wrote being text like any other, see withLettersAsWritten); then each cut shown as `cutShown`
 * (an ellipsis: escaping leaves it as it is); then the text escaped, the marks made `<mark>`.
 * A mark never spans a cut: both engines mark words inside the fragments they cut.
 */
export function snippetHtml(raw: string, written: string | null | undefined, fold: (letter: string) => string, cutShown: string): string {
  const lettersAsWritten = withLettersAsWritten(raw, written, fold, SNIPPET_MARK.open + SNIPPET_MARK.close, SNIPPET_CUT);
  return markHighlights(lettersAsWritten.replaceAll(SNIPPET_CUT, cutShown), SNIPPET_MARK.open, SNIPPET_MARK.close);
}
