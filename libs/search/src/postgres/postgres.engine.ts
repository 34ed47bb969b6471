import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rowsOf } from '../../../core/src/database/unit-of-work';
import {
  LETTER_VARIANT_SQL,
  OPTIONAL_MARK_SQL,
  ParsedQuery,
  SEGMENTED_UNIT_SQL,
  foldLetterVariants,
  foldOptionalForms,
  hasPositiveTerms,
  holdsArabicOrHebrew,
  isSegmented,
  parseQuery,
  separateSegmented,
  wordsOf,
} from '../query-parser';
import { FacetCount, SearchDocument, SearchEngine, SearchHit, SearchRequest, SearchResult, SNIPPET_CUT, SNIPPET_MARK, searchLanguage, snippetHtml } from '../search-engine';
import { ServerFolding, UnaccentFolding } from './unaccent-folding';

const CONFIGS = { en: 'parvis_en', fr: 'parvis_fr', simple: 'parvis_simple' } as const;
type Lang = keyof typeof CONFIGS;
const LANGS = Object.keys(CONFIGS) as Lang[];
/** A CASE choosing, by a document's language (`column`), what `of` gives for it; a language not listed reads as simple. */
const byLanguage = (column: string, of: (l: Lang) => string) => `CASE ${column} WHEN 'en' THEN ${of('en')} WHEN 'fr' THEN ${of('fr')} ELSE ${of('simple')} END`;
/** Every language, as a text[]. */
const EVERY_LANGUAGE = `'{${LANGS.join(',')}}'::text[]`;
/**
 * How many changes not folded in (`search_lexeme_deltas` rows) of the spaces searched a query reads
 * at most to learn their languages (see languagesSql): the fold keeps the queue to a few seconds'
 * writes, a handful of rows a space; past this (the fold behind, the worker stopped), every
 * language is read: the same hits up to 1,000 matches, but `density` counts every language, so
 * past them the path, and with it the total and a typo's 1,000 kept, may differ until the fold
 * catches up (architecture.md, Still approximate).
 */
const LANGUAGE_DELTAS = 100;
/**
 * The languages the spaces searched (`spaces`, a uuid[]) hold visible documents of, as a text[]:
 * those their counts list (`search_space_documents`), and those of the changes not folded in yet
 * (`search_lexeme_deltas`, a few seconds' writes: a space's first documents of a language are
 * found before the job counts them), those of the spaces searched alone read through the queue's
 * index of spaces (the migration search-lexeme-deltas-spaces). Only what can change the answer is
 * read: the changes not at all when the counts list every language, and only those that add
 * documents (a removal adds no language). With the fold behind, the queue holds a row per statement
 * since: at most LANGUAGE_DELTAS of them are read, and past them every language is taken, as a
 * moderator's own query takes them (until 2026-12-06 every row of the spaces searched was read, a
 * query's cost growing with their backlog; a test). A query reads the other languages' queries nowhere.
 */
const languagesSql = (spaces: string) => `(SELECT CASE WHEN h.held @> ${EVERY_LANGUAGE} THEN h.held ELSE (
    SELECT CASE WHEN d.rows > ${LANGUAGE_DELTAS} THEN ${EVERY_LANGUAGE} ELSE ARRAY(SELECT DISTINCT x FROM unnest(h.held || d.languages) x) END
      FROM (SELECT count(DISTINCT q.id) AS rows, coalesce(array_agg(x.language) FILTER (WHERE x.space_id = ANY(${spaces}) AND x.n > 0), '{}') AS languages
              FROM (SELECT q.id, q.document_spaces, q.document_languages, q.document_deltas FROM search_lexeme_deltas q
                     WHERE q.document_spaces && ${spaces} LIMIT ${LANGUAGE_DELTAS + 1}) q,
                   unnest(q.document_spaces, q.document_languages, q.document_deltas) AS x(space_id, language, n)) d) END
    FROM (SELECT coalesce(array_agg(DISTINCT s.language), '{}') AS held FROM search_space_documents s WHERE s.space_id = ANY(${spaces}) AND s.docs <> 0) h)`;

interface Compiled {
  /** Every positive term required (tsquery text per language). */
  all: Record<Lang, string>;
  /** Any positive term enough. */
  any: Record<Lang, string>;
  /** Each positive term alone, to count how many a document matches. */
  each: Record<Lang, string[]>;
  /** The exclusions as one tsquery (empty when none). */
  excluded: Record<Lang, string>;
  terms: number;
  /** Per positive term, how many times it was typed (ParsedQuery.times): its rarity counts so many times. */
  times: number[];
  /** Whether a term holds letters of Chinese, Japanese or Thai (whose snippets need them apart, see SEGMENTED). */
  segmented: boolean;
  /** Whether a term holds Arabic or Hebrew letters (whose snippets need their optional forms folded, see foldOptionalForms). */
  folded: boolean;
  /**
   * Per positive term widened to close words (see nearWords), its matches by typos (null for the
   * others): `exact`, the word as typed (and the hidden word itself in a moderator's query),
   * `one`, its close words one typo away (null when none); a term matched by neither is matched
   * two typos away, by its close words of `two`. `two` is compiled only for a term with close words
   * both one and two typos away (null otherwise; with no such term, compile reads no `two`
   * column): only there must the GIN path's ranking tell the two apart (see typosByIndex), and a
   * term whose one-typo words fill TYPO_ALTERNATIVES has none two away. Null when no term is widened.
   */
  typoLevels: { exact: Record<Lang, Array<string | null>>; one: Record<Lang, Array<string | null>>; two: Record<Lang, Array<string | null>> } | null;
  /**
   * The languages the spaces searched hold visible documents of (see languagesSql), whose queries
   * alone are read; null for every language (a moderator's own query, whose pending, hidden and
   * deleted documents no count lists).
   */
  languages: ReadonlySet<Lang> | null;
  /**
   * How many visible documents the spaces searched hold (`search_space_documents`), which tells a
   * search narrowed to a small part of the table (see NARROWED_SHARE); null with `languages`.
   */
  spaceDocuments: number | null;
}

/**
 * A search whose spaces hold at most this share of the table's documents (`LexemeStats.documents`)
 * takes the date index only when those spaces' own counts (ReadableCounts, read before the
 * candidates: see SpaceCounts.forPath) send it there as well as the whole table's statistics (see
 * takesDateIndex). Down the date index, such a search reads every
 * other space's rows between its own: a word common elsewhere and absent from it walked the whole
 * table (bench:search, 100,000 posts: `quantum`, 46% of the table, none of the French space's
 * 9,830 posts, 2.5-2.9 s against 76-92 ms through the GIN index). Spaces holding most of the table
 * (a search of every space a member reads) keep the statistics and their one statement fewer.
 */
const NARROWED_SHARE = 0.5;

/**
 * What the GIN path's candidates are ranked by (see ginCandidates): an expression on `d` over
 * `params`, and whether it reads sets to hash (typosByIndex's), which raise hash_mem_multiplier.
 */
interface CandidateRank {
  sql: string;
  params: unknown[];
  hashed: boolean;
}

/** A close word of a typed word (see nearWords), and how many typos apart they are. */
interface CloseWord {
  term: string;
  typos: number;
}

interface TermWeights {
  /** Per positive term: log(1 + 1 / document frequency), times how many times it was typed. */
  idf: number[];
  /** Indexes of the terms that pick candidates (the rarest selective ones, or all when none is selective). */
  candidates: number[];
  /**
   * Whether the candidates are the matches that hold the most weight of the query's terms
   * (true when the candidate terms are expected in at most RANKED_CANDIDATES documents),
   * rather than the newest.
   */
  ranked: boolean;
}

/** A query whose every word this many documents hold lists only those (else those holding some words follow). */
const EVERY_WORD_ENOUGH = 100;
/** A term in at most this share of documents is selective enough to pick candidates on its own. */
const SELECTIVE_FREQUENCY = 0.05;
/**
 * A query missing words takes its candidates from the documents holding its rarest terms, as
 * many of them (rarest first) as are expected in at most this many documents, and keeps the
 * CANDIDATES of those holding the most weight of the query's terms: a pasted question's
 * relevant posts are the ones holding its rare words, whatever their date. Each of them is
 * weighed term by term, so this bounds that work.
 */
const RANKED_CANDIDATES = 5000;
/**
 * A prefix still matched as a prefix (a short one: more than PREFIX_EXPANSIONS completions) is
 * counted over at most this many of its lexemes' counts (see ReadableCounts): a bound on the read,
 * past which it is common anyway, and counted short.
 */
const PREFIX_COUNTS = 10_000;
/** How many statements' changes to the lexeme counts one fold takes at most (see foldCounts). */
const FOLD_DELTAS = 100;
/** How long lexeme statistics are trusted before they are read again. */
const STATS_TTL_MS = 5 * 60_000;
/**
 * PostgreSQL's statistics of the indexed lexemes (see `stats`): each listed one's share of
 * documents (an unlisted one counts as in none, see density). The whole table's (every space and state): they choose
 * how candidates are found (`density`), and nothing a searcher is shown.
 */
interface LexemeStats {
  freq: Map<string, number>;
  /**
   * How many documents the table holds, as the planner estimates a table's rows: the rows per page
   * the last ANALYZE (or VACUUM) saw (`pg_class.reltuples / relpages`) times its pages now, so that
   * documents written since count (an import's, indexed batch by batch with no ANALYZE at their end:
   * until 2026-12-05, reltuples alone, a table grown from a thousand to a million documents kept a
   * thousand until autovacuum analysed it). A table emptied since (`clear`: TRUNCATE leaves no page
   * and no row counted, but keeps the columns' statistics) is read as the planner reads one never
   * analysed, its pages now times the rows a page holds at the statistics' average row width (the
   * page's header, 24 bytes, and each row's, 28 with its line pointer, taken off and added): until
   * 2026-12-05 it held 0 documents until an ANALYZE, however many were indexed again, and a word in
   * 1% to 5% of a million posts read 20,000 GIN matches before the date index. 0 with no statistics
   * at all (nothing then has a share of the documents either).
   */
  documents: number;
  /** Each language's share of the documents (`pg_stats` of `search_documents.language`; empty when never analysed). */
  languages: Map<Lang, number>;
}

/**
 * What a query missing words is weighed with, and a total past CANDIDATES estimated from, per
 * language of the documents of the spaces searched: how many visible documents of that language in
 * those spaces hold each lexeme of its query (`docs`; a prefix's lexemes summed, `prefixes`), and
 * how many visible documents of it those spaces have (`documents`). Read from
 * `search_lexeme_counts` and `search_space_documents` (kept per space and language from triggers
 * on search_documents, folded in every few seconds, see foldCounts and the migrations
 * search-lexeme-counts and search-counts-per-language), so nothing a searcher may not read
 * (another space's documents, hidden ones) changes what they are shown. Per language, as each
 * document is matched by its own language's query alone: an English post is never counted for the
 * French query's lexemes, even in a space being stemmed anew after its language changed, which
 * holds documents of both.
 */
interface LanguageCounts {
  docs: Map<string, number>;
  prefixes: Map<string, number>;
  documents: number;
}
interface ReadableCounts {
  languages: Map<Lang, LanguageCounts>;
  /** Every language's documents. */
  documents: number;
}

/**
 * ReadableCounts from what the statement reads (see run): counts keyed by language and lexeme (or
 * prefix), "en widget", and documents by language.
 */
function readableCountsOf(lexemes: Record<string, number>, prefixes: Record<string, number>, documents: Record<string, number>): ReadableCounts {
  const languages = new Map<Lang, LanguageCounts>();
  for (const [l, n] of Object.entries(documents)) languages.set(searchLanguage(l), { docs: new Map(), prefixes: new Map(), documents: Number(n) });
  const add = (counts: Record<string, number>, into: 'docs' | 'prefixes') => {
    for (const [key, n] of Object.entries(counts)) {
      const at = key.indexOf(' ');
      languages.get(searchLanguage(key.slice(0, at)))?.[into].set(key.slice(at + 1), Number(n));
    }
  };
  add(lexemes, 'docs');
  add(prefixes, 'prefixes');
  return { languages, documents: [...languages.values()].reduce((sum, c) => sum + c.documents, 0) };
}

/**
 * One query's ReadableCounts (of its lexemes in the spaces searched), read at most once for both
 * its passes: in a statement of their own before a pass's candidates when its path needs them
 * (`forPath`, or `now` for a typo's, see typosMayDiffer), else with the first page that needs them
 * (`keep`), and from then on `now` answers them without a statement. A second read is impossible
 * or loud: callers of `now` share one read (single-flight: a second may ask before the first has
 * answered), and `keep` logs a warning for counts a page read while others were read or being
 * read, and keeps the first: a second read costs a statement, not the searcher's page, so it is
 * caught by the statement-count tests and the log, never thrown at a search. Until 2026-12-07
 * both were `??=`: two `now` in flight read twice, and `keep` dropped the counts of a page that
 * read them again, unseen (unit tests).
 */
export class SpaceCounts {
  private static readonly log = new Logger('PostgresSearch');

  private counts: ReadableCounts | null = null;
  private reading: Promise<ReadableCounts> | null = null;
  private narrowed: Promise<boolean> | null = null;

  /**
   * `narrows`: whether the spaces searched hold a small part of the table (asked once, when a path
   * first needs to know); `read`: the statement reading the counts alone.
   */
  constructor(
    private readonly narrows: () => Promise<boolean>,
    private readonly read: () => Promise<ReadableCounts>,
  ) {}

  /** Whether a page must read the counts with its own statement: none read, nor being read. */
  get unread(): boolean {
    return this.counts === null && this.reading === null;
  }

  /**
   * For a path the whole table's statistics send down the date index: the counts of a search
   * narrowed to a small part of the table (see NARROWED_SHARE), read now unless known, or null when
   * the statistics alone choose (spaces holding most of the table, a moderator's own query).
   */
  async forPath(): Promise<ReadableCounts | null> {
    if (!(await (this.narrowed ??= this.narrows()))) return null;
    return this.now();
  }

  /** The counts, read now unless known or being read (whatever share of the table the spaces hold). */
  now(): Promise<ReadableCounts> {
    if (this.counts) return Promise.resolve(this.counts);
    this.reading ??= this.read().then(
      (counts) => (this.counts = counts),
      (err: unknown) => {
        this.reading = null;
        throw err;
      },
    );
    return this.reading;
  }

  /** The counts a page read with its own statement: only when `unread`, else they were read twice (logged, the first kept). */
  keep(counts: ReadableCounts): void {
    if (!this.unread) {
      SpaceCounts.log.warn('SpaceCounts: a page read the counts of a query that had read them already (one statement too many); the first read is kept');
      return;
    }
    this.counts = counts;
  }
}

/**
 * Typo tolerance, as Meilisearch's: a word no document contains is widened to the vocabulary
 * words within one typo of it when it has ONE_TYPO_LETTERS letters or more, two from
 * TWO_TYPOS_LETTERS (see typosAllowed), the closest TYPO_ALTERNATIVES of them.
 */
const ONE_TYPO_LETTERS = 5;
const TWO_TYPOS_LETTERS = 9;
const TYPO_ALTERNATIVES = 3;
/**
 * Matches are ranked by their typos (see run) only in a query of at most this many terms: a
 * lookup. A pasted question holds many rare words, which carry it already, and many widened ones:
 * on the SemEval file of the README, ranking them so changed no figure (MAP, nDCG@10, recall@100)
 * and cost time per query under load; limited so, a long query runs as before.
 */
const TYPO_RANKED_QUERY_TERMS = 3;
/**
 * With words missing, in a short query (TYPO_RANKED_QUERY_TERMS), a term matched through a close
 * word counts this share of its weight, by typos (none, one, two): a document holding the word as
 * typed ranks above one holding a typo of it, as Meilisearch's `typo` rule orders them (with every
 * word matched, that order is kept strictly, see run).
 */
const TYPO_WEIGHTS = [1, 0.5, 0.25];
/**
 * The vocabulary words a typed word's typo keys find are read, most alike (trigram similarity)
 * first, up to this many, before their distance is checked: a bound on the work of a word
 * whose keys many words share. Well above what they find (on a 100,000-post seed, 12 on
 * average, 127 at most): a swap near the start, which makes a word unlike its typo by
 * trigrams, must not be cut.
 */
const TYPO_CANDIDATES = 1000;
/**
 * The typo keys a vocabulary word is indexed under (the migration search-terms-typo-keys-first-letter):
 * its first 7 letters with up to two of letters 2 to 7 deleted, and without their first letter,
 * when it has 7 letters or more (the shortest a word of TWO_TYPOS_LETTERS reaches with two
 * typos), with up to one of letters 2 to 7 deleted otherwise. A word within k typos of it
 * (typoDistance, a typo on the first letter counting two) shares one of them with the typed
 * word's keys for k.
 */
const VOCABULARY_TYPO_KEYS = `parvis_typo_keys_v2(t.term, CASE WHEN char_length(t.term) >= 7 THEN 2 ELSE 1 END)`;
/** Only this much of a long body is indexed (a tsvector holds at most 1 MB). */
const BODY_INDEX_CHARS = 100_000;
const HIGHLIGHT = SNIPPET_MARK;
/** Between a headline's fragments: SNIPPET_CUT, shown as FRAGMENT_SEPARATOR. */
const FRAGMENT_DELIMITER = SNIPPET_CUT;
const FRAGMENT_SEPARATOR = ' … ';
const HEADLINE_OPTIONS = `StartSel=${HIGHLIGHT.open}, StopSel=${HIGHLIGHT.close}, MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter="${FRAGMENT_DELIMITER}"`;
const TOP_TAGS = 20;
/**
 * A query ranks, counts and facets at most this many matches, the newest: a common word in
 * a million posts then costs about what a rare one does. Past it, totals are estimates.
 */
const CANDIDATES = 1000;
/**
 * A query with this many matches is "common": its candidates come down the date index. It is also
 * the walk the date index is taken for: statistics expecting the newest CANDIDATES + 1 matches
 * within this many rows of it (a share of about 5%), or the GIN index to read this many matches,
 * send a query down the date index (see takesDateIndex).
 */
const DENSE = 20_000;
/**
 * A query whose words stand for more lexemes than this (a completed prefix, a word widened to its
 * close words), or which keeps a `:*` prefix match, is read by the GIN index one posting list per
 * lexeme, then merged: in at least WIDE_SHARE of the documents it takes the date index as before
 * 2026-12-05's rule (see takesDateIndexFor). Measured on bench:search at 1,000,000 posts, queries
 * only, alternating: sending such prefixes down the GIN index in 1% to 2% of posts took prefix p99
 * from 2,707-2,801 ms to 3,137-3,266 ms, and all types' p99 from 1,991-2,173 to 2,285-2,303.
 */
const WIDE_LEXEMES = 50;
const WIDE_SHARE = 0.01;
/**
 * ...and only when the GIN index would read at least this many matches: WIDE_SHARE of the million
 * posts the wide rule was measured on, so that a million-post table chooses as before. A smaller
 * table's wide query reads fewer matches for the same share, while the date index walks as many rows
 * for it, (CANDIDATES + 1) / share, whatever the table's size (bench:search at 200,000 posts:
 * `stout cont`, in 1.4% of the posts, walked 84,000 rows, 38,657 buffers, 846-1,335 ms over the
 * runs made, where the GIN index reads its 2,790 matches, 2,291-2,661 buffers, 57-156 ms: the runs
 * alternating old and new engine are in architecture.md, Bounded work).
 */
const WIDE_MATCHES = 10_000;

/**
 * Whether a query's candidates come down the date index rather than the GIN index, from the whole
 * table's statistics: its share of the documents (`density`), how many documents there are, and
 * its tsquery text per language. The date index finds the newest CANDIDATES + 1 matches of a query
 * in a share s after about (CANDIDATES + 1) / s rows, each read and matched, where the GIN index
 * reads every match, s × documents of them. So the date index is taken when that walk is short (at
 * most DENSE rows: s of about 5% or more), or when the GIN index would read DENSE matches, past
 * which it gives way to the date index anyway, or for a wide query (WIDE_LEXEMES) in at least
 * WIDE_SHARE of the documents and WIDE_MATCHES of them, whose many posting lists cost the GIN index
 * more than their matches say. In between (a word in 1.3% of 200,000 posts: a walk of 77,000 rows, where the GIN index
 * reads 2,600 matches), the GIN index.
 */
export function takesDateIndexFor(share: number, documents: number, tsqueries: readonly string[]): boolean {
  if (share <= 0) return false;
  if ((CANDIDATES + 1) / share <= DENSE || share * documents >= DENSE) return true;
  const wide = tsqueries.some((q) => q.includes(':*') || (q.match(/'(?:[^']|'')*'/g) ?? []).length > WIDE_LEXEMES);
  return wide && share >= WIDE_SHARE && share * documents >= WIDE_MATCHES;
}
/**
 * Search-as-you-type: a last word with at most this many completions in the vocabulary is
 * matched as those words (GIN intersects them with the other words, skipping through its
 * posting lists); only a prefix with more keeps the `:*` prefix match, which makes GIN
 * collect every document of every completion before intersecting.
 */
const PREFIX_EXPANSIONS = 200;
/** Vocabulary words remembered as already written, per process, and for how long (forgotten at once when another process prunes any). */
const KNOWN_TERMS_MAX = 500_000;
const KNOWN_TERMS_TTL_MS = 3600_000;

/**
 * What `upsert` writes for a post, as a number: bumped whenever that changes (not for changes
 * to queries), so that an index written by an older release is rebuilt once after an upgrade
 * (`SearchAdmin.upgradeFormat`). 1: the words of compounds (`compoundParts`) and the gap
 * between fields. 2: vocabulary words keep the marks of non-Latin letters (the words written
 * without them are taken out by the migration search-terms-marks). 3: each letter of Chinese,
 * Japanese and Thai is a word of its own (`SEGMENTED`), and none is a vocabulary word (the runs
 * written before are taken out by the migration search-terms-segmented). 4: the optional marks
 * of Arabic and Hebrew (vowel marks, tatweel, points, cantillation) are folded away in the text
 * indexed and in vocabulary words (`OPTIONAL_MARKS`; the words written with them are taken
 * out by the migration search-terms-optional-marks). 5: titles, tags and bodies are indexed, and
 * titles and bodies kept, composed (NFC), as queries and vocabulary words already were. 6: the
 * Arabic letter variants (alef with hamza or madda, alef wasla, alef maksura, teh marbuta) are
 * read as their base letters in the text indexed and in vocabulary words (`LETTER_VARIANTS`;
 * the words written with them are taken out by the migration search-terms-letter-variants). 7:
 * vocabulary words have œ, æ and ß as two letters, as the index's unaccent reads them (the words
 * written with them are taken out by the migration search-terms-format-7), the words of tags and
 * numbers are vocabulary words too, and those of pending, hidden and deleted documents go to the
 * moderators' vocabulary (search_terms_moderated, see Vocabulary). 8: vocabulary words have every
 * letter as unaccent reads it: ø, ł, đ, þ, ı and the other letters of a table read off PostgreSQL
 * 15's rules, Greek letters without their accents, ё as е (the words written otherwise are taken
 * out by the migration search-terms-format-8). Since, the vocabulary folds letters with the
 * connected server's own rules (`UnaccentFolding`), which differ between its releases: what it
 * was written with is recorded beside this number (`formatFingerprint`), and another folding
 * rebuilds it as a higher number does (`prepare` takes out the words folded otherwise first). 9:
 * words holding digits (Straße42, ø2-øl) are indexed with their letters as unaccent reads them, as
 * the vocabulary keeps them (the migration search-numwords-unaccented).
 */
export const POSTGRES_INDEX_FORMAT = 9;

/** How many typos a word (as looked up in the vocabulary) may hold: none under ONE_TYPO_LETTERS letters, then one, two from TWO_TYPOS_LETTERS. */
export function typosAllowed(word: string): number {
  const letters = [...word].length;
  return letters >= TWO_TYPOS_LETTERS ? 2 : letters >= ONE_TYPO_LETTERS ? 1 : 0;
}

/**
 * The number of typos between two words, as Meilisearch counts them: a letter inserted,
 * deleted or replaced, or two neighbours swapped, is one (optimal string alignment distance,
 * over code points), and words whose first letters differ are one typo further apart
 * (Meilisearch counts a typo on the first letter as two: within one typo of a word of 5 to 8
 * letters, a word starts with its first letter; within two of a longer one, it does too or is
 * one typo from it). Past `max` it answers max + 1 as soon as it knows.
 */
export function typoDistance(a: string, b: string, max: number): number {
  const x = [...a];
  const y = [...b];
  const firstLetter = x[0] === y[0] ? 0 : 1;
  if (firstLetter > max) return max + 1;
  return Math.min(alignmentDistance(x, y, max - firstLetter) + firstLetter, max + 1);
}

/** The optimal string alignment distance of two words (as their letters), or max + 1 once it is past max. */
function alignmentDistance(x: string[], y: string[], max: number): number {
  if (Math.abs(x.length - y.length) > max) return max + 1;
  // Three rows of the table: two back (for swaps), the last, and this one.
  let before: number[] = [];
  let last = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    let least = i;
    for (let j = 1; j <= y.length; j++) {
      let d = Math.min(last[j] + 1, row[j - 1] + 1, last[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, before[j - 2] + 1);
      row.push(d);
      least = Math.min(least, d);
    }
    if (least > max) return max + 1;
    before = last;
    last = row;
  }
  return Math.min(last[y.length], max + 1);
}

/**
 * Lower-case words of 3–40 letters or digits, as the index's `unaccent` reads them (`folding`,
 * the connected server's: é, ø, ł, þ, œ, ª as e, o, l, th, oe, a), as the vocabulary keeps them
 * (and typed words are looked up, `UnaccentFolding.word`). Numbers are words too: one being typed
 * is completed from them (a typed number is never taken for a typo, see nearWords). A letter of
 * Chinese, Japanese or Thai (a word alone, see `wordsOf`) is none: queries look for them in
 * phrases, with no typo tolerance or completion.
 */
export function vocabularyWords(text: string, folding: UnaccentFolding): Set<string> {
  const words = new Set<string>();
  for (const w of wordsOf(folding.fold(text))) {
    if (w.length >= 3 && w.length <= 40 && !isSegmented(w)) words.add(w);
  }
  return words;
}

/** The part of a body that is indexed: BODY_INDEX_CHARS units, not cutting a character in two. */
function indexedBody(body: string): string {
  if (body.length <= BODY_INDEX_CHARS) return body;
  const end = BODY_INDEX_CHARS - (/[\uD800-\uDBFF]/.test(body[BODY_INDEX_CHARS - 1]) ? 1 : 0);
  return body.slice(0, end);
}

/** A run of characters a compound is made of (split out first, so no pattern backtracks over a long word). */
const COMPOUND_RUN = /[\p{L}\p{N}_\-./@:]+/gu;
/** Letters or digits joined to others by `.`, `/`, `@` or `:`. */
const JOINED = /[\p{L}\p{N}][./@:]+[\p{L}\p{N}]/u;

/**
 * The words inside the file names, hosts, paths, URLs, e-mail addresses and version numbers
 * of a text, as plain text: PostgreSQL's parser keeps `/etc/nginx/nginx.conf` or `v1.2.3` as
 * one lexeme each, while a query splits what is typed into words (`nginx.conf` is the phrase
 * "nginx conf"). Indexed after the text they come from, each compound's words in a row, so
 * the phrase and each word alone find it.
 */
export function compoundParts(text: string): string {
  const parts: string[] = [];
  for (const [run] of text.matchAll(COMPOUND_RUN)) if (JOINED.test(run)) parts.push(run.match(/[\p{L}\p{N}]+/gu)!.join(' '));
  return parts.join('\n');
}

/** The vocabulary words of a document as it is indexed (title, tags, and the body up to what is kept). */
function indexedWords(title: string, tags: string[], body: string, folding: UnaccentFolding): Set<string> {
  return vocabularyWords(`${title} ${tags.join(' ')} ${indexedBody(body)}`, folding);
}
/** A lexeme of a tsquery's text (quotes doubled inside), and `:*` when it is a prefix. */
const TSQUERY_LEXEME = /'((?:[^']|'')+)'(:\*)?/g;

/**
 * The share of documents one term's tsquery text matches, from lexeme frequencies: its
 * alternatives add up, a prefix (`'x':*`) counts every listed lexeme it starts (or its share in
 * `prefixed`, when given), and unlisted lexemes count as in no document (what both callers
 * want: the statistics choose a path by what a query surely matches, and the per-space counts
 * list every lexeme held; until 2026-12-05 that share was an argument, which both gave as 0).
 * Each lexeme counts once: several typed words often stem to one
 * (a completed prefix lists "distance" and "distances", both 'distanc'), and counting it
 * for each would take a rare query for a common one. A phrase (`<->`: a quoted one, or a run
 * of Chinese, Japanese or Thai letters) is in no more documents than its rarest lexeme: its
 * share is that one's. Added up, a run of common characters would look common, and send a
 * rare phrase down the date index, which would read every document to find it.
 */
export function termShare(tsquery: string, freq: ReadonlyMap<string, number>, prefixed?: ReadonlyMap<string, number>): number {
  const phrase = /<\d*-?>/.test(tsquery) && !tsquery.includes('|');
  let sum = 0;
  let rarest = Infinity;
  const seen = new Set<string>();
  for (const m of tsquery.matchAll(TSQUERY_LEXEME)) {
    const lexeme = m[1].replace(/''/g, "'");
    const key = m[2] ? `${lexeme}:*` : lexeme;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!m[2]) {
      sum += freq.get(lexeme) ?? 0;
      rarest = Math.min(rarest, freq.get(lexeme) ?? 0);
    } else if (prefixed) sum += prefixed.get(lexeme) ?? 0;
    else for (const [x, f] of freq) if (x.startsWith(lexeme)) sum += f;
  }
  return phrase && rarest < Infinity ? rarest : sum;
}

/**
 * The two vocabularies of a space: the words of its visible documents, which everyone's queries
 * draw on, and those of its other documents (pending, hidden, deleted), which only a moderator's
 * own query (`includeModerated`) draws on, as only it finds those documents. Kept apart, so that
 * no word of content a searcher may not read ever widens a typo or completes a word for them.
 */
export type Vocabulary = 'visible' | 'moderated';
const VOCABULARIES: Vocabulary[] = ['visible', 'moderated'];
const VOCABULARY_TABLE: Record<Vocabulary, string> = { visible: 'search_terms', moderated: 'search_terms_moderated' };
/** The documents whose words a vocabulary holds, as a condition on `d` (search_documents). */
const VOCABULARY_DOCUMENTS: Record<Vocabulary, string> = { visible: `d.state = 'VISIBLE'`, moderated: `d.state <> 'VISIBLE'` };
const vocabularyOf = (state: string): Vocabulary => (state === 'VISIBLE' ? 'visible' : 'moderated');
/** A vocabulary word as one text, the order its new words are written in (see addTerms). */
const termKey = (vocabulary: Vocabulary, term: string, spaceId: string) => `${vocabulary} ${term} ${spaceId}`;

/**
 * The vocabulary words an indexing process wrote (see addTerms), kept per vocabulary and space, so
 * that a document's words are looked up as they are, in the set of its vocabulary and space: each
 * word's hash was computed once already, when its document's words were gathered in a Set. Until
 * 2026-12-07 they were kept as one set of `termKey`s, and every word of every document indexed
 * built its key and hashed it anew: on `bench:search`'s 100,000-post seed, about 6 of the indexing
 * process's 31 s of CPU went into that lookup alone (a CPU profile; docs/architecture.md, Search).
 */
export class KnownTerms {
  /** Each vocabulary and space's words, under `setKey`. */
  private readonly sets = new Map<string, Set<string>>();
  private static setKey = (vocabulary: Vocabulary, spaceId: string) => `${vocabulary} ${spaceId}`;
  private count = 0;

  /** How many words are remembered, in every vocabulary and space. */
  get size(): number {
    return this.count;
  }

  /** The words remembered of this vocabulary and space (undefined when none). */
  of(vocabulary: Vocabulary, spaceId: string): ReadonlySet<string> | undefined {
    return this.sets.get(KnownTerms.setKey(vocabulary, spaceId));
  }

  add(vocabulary: Vocabulary, term: string, spaceId: string): void {
    const key = KnownTerms.setKey(vocabulary, spaceId);
    let set = this.sets.get(key);
    if (!set) this.sets.set(key, (set = new Set()));
    const before = set.size;
    set.add(term);
    this.count += set.size - before;
  }

  delete(vocabulary: Vocabulary, term: string, spaceId: string): void {
    if (this.sets.get(KnownTerms.setKey(vocabulary, spaceId))?.delete(term)) this.count--;
  }

  clear(): void {
    this.sets.clear();
    this.count = 0;
  }
}

/**
 * The vocabulary a query draws on, as a FROM item of `term`s: the words of the visible documents
 * of the spaces searched (`spaces`, a uuid[] parameter), and, for a moderator's own query only,
 * those of the other documents of the spaces they moderate (`moderated`).
 */
function vocabularySql(spaces: string, moderated: string | null): string {
  const visible = `SELECT term FROM ${VOCABULARY_TABLE.visible} WHERE space_id = ANY(${spaces}::uuid[])`;
  return moderated ? `(${visible} UNION ALL SELECT term FROM ${VOCABULARY_TABLE.moderated} WHERE space_id = ANY(${moderated}::uuid[]))` : `(${visible})`;
}

/** A word a space's vocabulary may lose, with the language its documents are stemmed in. */
interface Departing {
  term: string;
  spaceId: string;
  language: string;
  vocabulary: Vocabulary;
}

/**
 * Fields are joined with a position between them that no word holds, so a quoted phrase never
 * matches across them (the title's last word and the first tag, say): `||` shifts the right
 * vector's positions past the left's last one, this lexeme (which no query can produce: it is
 * not a letter or digit) takes one more, and is deleted once the vector is whole.
 */
const GAP_LEXEME = '\u00b6';
const FIELD_GAP = `'''${GAP_LEXEME}'':1'::tsvector`;

/**
 * PostgreSQL's parser reads `<...>` as markup and drops it from vectors and headlines, but
 * bodies are plain text where `a < b` or `<script>` are words to keep: angle brackets are
 * swapped for control characters on the way in and back on the way out.
 */
const ANGLES = '\u0003\u0004';

/**
 * Put on either side of each letter of Chinese, Japanese and Thai (see `wordsOf`) in the text
 * given to `to_tsvector`, so PostgreSQL's parser reads each as a word at its own position, as
 * the query parser does: a run typed is the phrase of its letters (`'咖' <-> '啡'`), found
 * wherever they stand together. A control character, not a space: the parser takes it for a
 * separator, and a snippet made from text marked the same way (`ts_headline`, so that these
 * letters are highlighted) loses it again without losing a space the author wrote.
 */
const SEGMENTED = '\u0005';

/**
 * Put on either side of the `.`, `/`, `@` and `:` that join the words of a compound (a path, a
 * host, an address, a version) in the text a snippet is cut from, so that PostgreSQL's parser
 * reads those words apart, as they are indexed after their field (`compoundParts`) and as a
 * query names them: `nginx.conf` highlights its words in `/etc/nginx/nginx.conf`, where the
 * parser would read one lexeme and highlight nothing. A control character, taken out of the
 * snippet again, as `SEGMENTED` is.
 */
const COMPOUND_JOINT = '\u0006';
/** Where COMPOUND_JOINT goes, as a PostgreSQL regular expression and its replacement. */
const COMPOUND_JOINT_SQL = { pattern: '([[:alnum:]_])([./@:]+)(?=[[:alnum:]])', replacement: `\\1${COMPOUND_JOINT}\\2${COMPOUND_JOINT}` };

/** Text as `to_tsvector` is given it: each letter of the scripts written without spaces apart. */
function segmented(text: string): string {
  return separateSegmented(text, SEGMENTED);
}

/**
 * A snippet as written: angle brackets back, SEGMENTED and COMPOUND_JOINT gone, and letters
 * highlighted side by side (咖, 啡) as one highlight. The words of a compound stay highlighted
 * one by one (`<mark>nginx</mark>.<mark>conf</mark>`), as Meilisearch shows them.
 */
function asWritten(headline: string): string {
  return headline
    .replace(/[\u0003\u0004]/g, (c) => (c === '\u0003' ? '<' : '>'))
    .replace(new RegExp(`${HIGHLIGHT.close}${SEGMENTED}+${HIGHLIGHT.open}`, 'g'), '')
    .replaceAll(SEGMENTED, '')
    .replaceAll(COMPOUND_JOINT, '');
}

/**
 * The default engine: PostgreSQL full-text search over `search_documents` (see the
 * search migration). Each document is stemmed under its space's language, with accents
 * folded; the query is compiled once per language and each document is matched with its
 * own. Ranking blends ts_rank (title above tags above body) with accepted answers,
 * reactions and recency.
 */
export class PostgresSearchEngine implements SearchEngine {
  readonly name = 'postgres';
  readonly format = POSTGRES_INDEX_FORMAT;
  private readonly knownTerms = new KnownTerms();
  private knownSince = Date.now();
  /** The prune count (`search_terms_prunes`) `knownTerms` is good for: any other process's prune since voids it. */
  private knownPrunes: string | null = null;
  private lexemeStats: (LexemeStats & { at: number }) | null = null;
  /** The read of the statistics under way: the queries needing them meanwhile wait for it rather than each reading pg_stats. */
  private statsRead: Promise<LexemeStats> | null = null;

  /** `serverFolding`: the letter folding vocabulary words are kept and looked up with, the connected server's. */
  constructor(
    private readonly ds: DataSource,
    readonly serverFolding = new ServerFolding(ds),
  ) {}

  /**
   * Before a rebuild (the schema comes from migrations; nothing else is set up at run time), given
   * the letter folding it writes with: when the vocabulary was
   * written with another letter folding than that one (the fingerprint
   * recorded with the index differs, or none was: a server upgraded from PostgreSQL 15 to 18, or an
   * index written by a release that folded letters with a table of its own), every word the
   * server's `unaccent` reads otherwise goes, from both vocabularies, for the rebuild to write it
   * again as the folding now reads it (as the migration search-terms-format-8 did). Those kept as
   * written on purpose (a letter read as a sign, see `unaccentFolding`) go too, and come back.
   * Words are lower case, and only one with a letter outside ASCII can change. The prune count
   * moves first, so that no running indexer goes on believing it wrote the words taken out. Until
   * the rebuild has written them again, those words get no typo tolerance and complete by prefix
   * match alone.
   */
  async prepare(folding: UnaccentFolding): Promise<void> {
    const fingerprint = this.formatFingerprint(folding);
    const [recorded]: Array<{ fingerprint: string | null }> = await this.ds.query(`SELECT fingerprint FROM search_index_formats WHERE engine = $1`, [this.name]);
    if (recorded?.fingerprint === fingerprint) return;
    await this.ds.query(`SELECT nextval('search_terms_prunes')`);
    for (const vocabulary of VOCABULARIES) {
      await this.ds.query(`DELETE FROM ${VOCABULARY_TABLE[vocabulary]} WHERE octet_length(term) <> char_length(term) AND unaccent(term) <> term`);
    }
  }

  /**
   * The vocabulary is written with the server's letter folding itself: its fingerprint. The hourly
   * job compares it (`SearchAdmin.upgradeFormat`) with the folding as the process holds it
   * (`ServerFolding.current`, read again hourly), which its writes use too.
   */
  formatFingerprint(folding: UnaccentFolding): string {
    return folding.fingerprint;
  }

  async upsert(input: SearchDocument[]): Promise<void> {
    if (input.length === 0) return;
    // Titles and bodies are kept and indexed composed (NFC), as queries are read: a post written
    // with letters and their marks apart (e and U+0301, Korean jamo) is found as one types it,
    // and its snippets highlight what was found. Tags stay as given, for the tag filters.
    const docs = input.map((d) => ({ ...d, title: d.title.normalize('NFC'), body: d.body.normalize('NFC') }));
    // Each document's words, split once for both vocabulary steps, with one folding.
    const folding = await this.serverFolding.current();
    const words = new Map(docs.map((d) => [d.id, indexedWords(d.title, d.tags, d.body, folding)]));
    const departing = await this.departingWords(docs, words, folding);
    const rows = docs.map((d) => {
      // Words are read without the optional marks of Arabic and Hebrew and with the Arabic
      // letter variants as their base letters, as queries read them.
      const title = foldOptionalForms(d.title);
      const body = indexedBody(d.body);
      const folded = foldOptionalForms(body);
      const bodyText = segmented(folded);
      return {
        id: d.id,
        topic_id: d.topicId,
        post_number: d.postNumber,
        space_id: d.spaceId,
        board_id: d.boardId,
        kind: d.kind,
        title: d.title,
        title_text: segmented(title),
        title_parts: segmented(compoundParts(title)),
        tags_text: segmented(foldOptionalForms(d.tags.join(' ').normalize('NFC'))),
        tags: d.tags,
        body,
        // Sent only when it differs from the body, which may be long.
        body_text: bodyText === body ? null : bodyText,
        body_parts: segmented(compoundParts(folded)),
        author_id: d.authorId,
        state: d.state,
        language: d.language,
        accepted: d.accepted,
        reactions: d.reactions,
        created_at: d.createdAt.toISOString(),
        version: d.version,
      };
    });
    // Terms are inserted in a fixed order so concurrent indexers cannot deadlock on them.
    const written: Array<{ id: string }> = rowsOf(await this.ds.query(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, topic_id uuid, post_number int, space_id uuid, board_id uuid,
           kind text, title text, title_text text, title_parts text, tags text[], tags_text text, body text, body_text text, body_parts text, author_id uuid, state text, language text,
           accepted boolean, reactions int, created_at timestamptz, version bigint)
       ), written AS (
         INSERT INTO search_documents AS s (id, topic_id, post_number, space_id, board_id, kind, title, tags, author_id,
                state, language, accepted, reactions, created_at, version, tsv, indexed_at)
         SELECT id, topic_id, post_number, space_id, board_id, kind, title, tags, author_id, state, language,
                accepted, reactions, created_at, version,
                ts_delete(
                  setweight(to_tsvector(parvis_search_config(language), title_text || E'\\n' || title_parts), 'A') || ${FIELD_GAP}
                  || setweight(to_tsvector(parvis_search_config(language), tags_text), 'B') || ${FIELD_GAP}
                  || setweight(to_tsvector(parvis_search_config(language), translate(coalesce(body_text, body), '<>', '${ANGLES}') || E'\\n' || body_parts), 'C'),
                  '${GAP_LEXEME}'),
                now()
           FROM input
         ON CONFLICT (id) DO UPDATE SET
           topic_id = EXCLUDED.topic_id, post_number = EXCLUDED.post_number, space_id = EXCLUDED.space_id, board_id = EXCLUDED.board_id,
           kind = EXCLUDED.kind, title = EXCLUDED.title, tags = EXCLUDED.tags, author_id = EXCLUDED.author_id,
           state = EXCLUDED.state, language = EXCLUDED.language, accepted = EXCLUDED.accepted,
           reactions = EXCLUDED.reactions, created_at = EXCLUDED.created_at, version = EXCLUDED.version, tsv = EXCLUDED.tsv,
           indexed_at = now()
         WHERE s.version <= EXCLUDED.version
         RETURNING s.id
       )
       INSERT INTO search_bodies AS b (id, body) SELECT id, body FROM input WHERE id IN (SELECT id FROM written)
       ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body
       RETURNING b.id`,
      [JSON.stringify(rows)],
    ));
    // Only what was written adds words: a late, older version (skipped) of a document hidden
    // since must not put the hidden text's words back in the vocabulary.
    const fresh = new Set(written.map((w) => w.id));
    await this.addTerms(docs.filter((d) => fresh.has(d.id)), words);
    await this.pruneTerms(departing);
  }

  /**
   * The words documents are about to take out of their space's vocabularies (see Vocabulary):
   * those of a document that goes from one to the other (hidden, held, deleted, or restored) or
   * to another space, and those an edit (of its title, tags or body) takes out. Read before the
   * write, from the stored text; only documents of a newer version are looked at, so a rebuild
   * of an unchanged index reads nothing.
   */
  private async departingWords(docs: SearchDocument[], words: Map<string, Set<string>>, folding: UnaccentFolding): Promise<Departing[]> {
    // Only documents whose words can go are read (in or out of view, moved, or a new title, tags
    // or body): a new version for a reaction or an accepted answer, or a hidden post deleted,
    // changes no word. Tags are compared as the words they make, joined.
    const old: Array<{ id: string; space_id: string; language: string; state: string; title: string; tags: string[]; body: string }> = await this.ds.query(
      `SELECT d.id, d.space_id, d.language, d.state, d.title, d.tags, b.body
         FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(id, version, space_id, state, title, tags, body_md5)
         JOIN search_documents d ON d.id = x.id JOIN search_bodies b ON b.id = d.id
        WHERE d.version < x.version
          AND ((d.state = 'VISIBLE') <> (x.state = 'VISIBLE') OR d.space_id <> x.space_id OR d.title <> x.title
               OR array_to_string(d.tags, ' ') <> x.tags OR md5(b.body) <> x.body_md5)`,
      [
        docs.map((d) => d.id),
        docs.map((d) => d.version),
        docs.map((d) => d.spaceId),
        docs.map((d) => d.state),
        docs.map((d) => d.title),
        docs.map((d) => d.tags.join(' ')),
        docs.map((d) => createHash('md5').update(indexedBody(d.body)).digest('hex')),
      ],
    );
    const incoming = new Map(docs.map((d) => [d.id, d]));
    return old.flatMap((o) => {
      const next = incoming.get(o.id);
      const vocabulary = vocabularyOf(o.state);
      const staysIn = next?.spaceId === o.space_id && vocabularyOf(next.state) === vocabulary;
      const stays = staysIn ? (words.get(o.id) ?? new Set<string>()) : new Set<string>();
      return [...indexedWords(o.title, o.tags, o.body, folding)].filter((w) => !stays.has(w)).map((term) => ({ term, spaceId: o.space_id, language: o.language, vocabulary }));
    });
  }

  /**
   * Takes departing words out of their space's vocabulary unless a document of the space whose
   * words it holds (see Vocabulary) still holds them (one index probe each, under the space's
   * language, in that language's index: a word whose stem another document holds stays). Stop
   * words are kept: no query can tell them apart.
   */
  private async pruneTerms(departing: Departing[]): Promise<void> {
    if (departing.length === 0) return;
    const unique = new Map(departing.map((d) => [termKey(d.vocabulary, d.term, d.spaceId), d]));
    // Counted before the delete: an indexer that reads the count after this one's documents are
    // written either sees the count moved (and writes its words again), or is seen by the delete.
    const [{ n }]: Array<{ n: string }> = await this.ds.query(`SELECT nextval('search_terms_prunes')::text AS n`);
    // Our own prune alone since we last looked: our memory stays good (we forget what we prune).
    if (this.knownPrunes !== null && BigInt(n) === BigInt(this.knownPrunes) + 1n) this.knownPrunes = n;
    for (const vocabulary of VOCABULARIES) {
      const list = [...unique.values()].filter((d) => d.vocabulary === vocabulary);
      if (list.length === 0) continue;
      const pruned: Array<{ term: string; space_id: string }> = rowsOf(
        await this.ds.query(
          `DELETE FROM ${VOCABULARY_TABLE[vocabulary]} t
            USING unnest($1::text[], $2::uuid[], $3::text[]) AS c(term, space_id, language)
            WHERE t.term = c.term AND t.space_id = c.space_id
              AND numnode(plainto_tsquery(parvis_search_config(c.language), c.term)) > 0
              AND NOT EXISTS (${LANGS.map(
                (l) => `SELECT 1 FROM search_documents d
                         WHERE c.language = '${l}' AND d.language = '${l}' AND d.space_id = c.space_id AND ${VOCABULARY_DOCUMENTS[vocabulary]}
                           AND d.tsv @@ plainto_tsquery('${CONFIGS[l]}', c.term)`,
              ).join(' UNION ALL ')})
            RETURNING t.term, t.space_id`,
          [list.map((d) => d.term), list.map((d) => d.spaceId), list.map((d) => d.language)],
        ),
      );
      for (const p of pruned) this.knownTerms.delete(vocabulary, p.term, p.space_id);
    }
  }

  /**
   * Adds the words of documents to their space's vocabulary, which typo tolerance and
   * completions draw on: those everybody who reads the space may see (VISIBLE ones) to its
   * visible one, the others to the moderators' (see Vocabulary). Kept per space, so whether a
   * word exists never says anything about content the searcher may not read. Words this process
   * already wrote are skipped, so a steady stream of documents writes only new words; the memory
   * is bounded and simply starts over when full. Terms are written in sorted order so
   * concurrent indexers cannot deadlock on them.
   */
  private async addTerms(docs: SearchDocument[], words: Map<string, Set<string>>): Promise<void> {
    // Another process pruned words since: some we remember writing may be gone.
    const [{ n }]: Array<{ n: string }> = await this.ds.query(`SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS n FROM search_terms_prunes`);
    if (Date.now() - this.knownSince > KNOWN_TERMS_TTL_MS || n !== this.knownPrunes) {
      this.knownTerms.clear();
      this.knownSince = Date.now();
      this.knownPrunes = n;
    }
    const fresh = new Map<string, { term: string; spaceId: string; vocabulary: Vocabulary }>();
    for (const d of docs) {
      const vocabulary = vocabularyOf(d.state);
      const known = this.knownTerms.of(vocabulary, d.spaceId);
      for (const term of words.get(d.id) ?? []) {
        if (!known?.has(term)) fresh.set(termKey(vocabulary, term, d.spaceId), { term, spaceId: d.spaceId, vocabulary });
      }
    }
    if (fresh.size === 0) return;
    const keys = [...fresh.keys()].sort();
    for (const vocabulary of VOCABULARIES) {
      const terms = keys.map((k) => fresh.get(k)!).filter((t) => t.vocabulary === vocabulary);
      if (terms.length === 0) continue;
      await this.ds.query(`INSERT INTO ${VOCABULARY_TABLE[vocabulary]} (term, space_id) SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING`, [
        terms.map((t) => t.term),
        terms.map((t) => t.spaceId),
      ]);
    }
    if (this.knownTerms.size + keys.length > KNOWN_TERMS_MAX) this.knownTerms.clear();
    for (const t of fresh.values()) this.knownTerms.add(t.vocabulary, t.term, t.spaceId);
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const folding = await this.serverFolding.current();
    // The body goes with its document (ON DELETE CASCADE, after the statement): still there to return.
    const gone: Array<{ space_id: string; language: string; state: string; title: string; tags: string[]; body: string | null }> = rowsOf(
      await this.ds.query(
        `DELETE FROM search_documents d WHERE d.id = ANY($1::uuid[])
         RETURNING d.space_id, d.language, d.state, d.title, d.tags, (SELECT b.body FROM search_bodies b WHERE b.id = d.id) AS body`,
        [ids],
      ),
    );
    await this.pruneTerms(
      gone.flatMap((g) =>
        [...indexedWords(g.title, g.tags, g.body ?? '', folding)].map((term) => ({ term, spaceId: g.space_id, language: g.language, vocabulary: vocabularyOf(g.state) })),
      ),
    );
  }

  /**
   * Folds what the statements writing documents changed since the last fold into the lexeme
   * counts per space (see ReadableCounts and the migration search-lexeme-counts), FOLD_DELTAS
   * statements at a time, until none is left. Run by the job search-lexeme-counts: until then,
   * queries are weighed by the counts as they were.
   */
  async foldCounts(): Promise<number> {
    let folded = 0;
    for (;;) {
      const [{ n }]: Array<{ n: number }> = await this.ds.query(`SELECT search_counts_fold($1) AS n`, [FOLD_DELTAS]);
      folded += n;
      if (n < FOLD_DELTAS) return folded;
    }
  }

  async documentIds(cursor: string | null, limit: number): Promise<{ ids: string[]; next: string | null }> {
    const rows: Array<{ id: string }> = await this.ds.query(
      `SELECT id FROM search_documents WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $2`,
      [cursor, limit],
    );
    const ids = rows.map((r) => r.id);
    return { ids, next: ids.length === limit ? ids[ids.length - 1] : null };
  }

  async count(): Promise<number> {
    const [row] = await this.ds.query(`SELECT count(*)::int AS n FROM search_documents`);
    return row.n;
  }

  async clear(): Promise<void> {
    // TRUNCATE fires no trigger: the counts kept from the documents go with them.
    // The queue before the counts, as a fold locks them (the same order: neither waits on the other's).
    await this.ds.query(
      `TRUNCATE search_documents, search_bodies, search_lexeme_deltas, search_lexeme_counts, search_space_documents, ${VOCABULARIES.map((v) => VOCABULARY_TABLE[v]).join(', ')}`,
    );
    this.knownTerms.clear();
    // The statistics read describe documents gone: read again at the next search.
    this.lexemeStats = null;
    this.statsRead = null;
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    const parsed = parseQuery(req.query);
    const empty: SearchResult = { hits: [], total: 0, facets: req.facets ? { kinds: [], spaces: [], tags: [] } : null, engine: this.name };
    if (!hasPositiveTerms(parsed) || req.filters.spaceIds.length === 0) return empty;
    // A moderator's own query draws on the words of what it finds in the spaces they moderate too.
    const moderated = (req.filters.moderatedSpaceIds ?? []).filter((id) => req.filters.spaceIds.includes(id));
    const folding = await this.serverFolding.current();
    // The lexeme statistics (once in STATS_TTL_MS) are read by the first pass, which chooses its path with them (takesDateIndex).
    const [near, completions] = await Promise.all([
      this.nearWords(parsed, req.filters.spaceIds, moderated, folding),
      this.completions(parsed, req.filters.spaceIds, moderated, folding),
    ]);
    const compiled = await this.compile(parsed, near, completions, req.filters.spaceIds, moderated.length > 0);
    // The counts of the spaces searched, read at most once for both passes (see SpaceCounts).
    const counts = new SpaceCounts(
      () => this.narrows(compiled),
      () => this.narrowedCounts(compiled, req.filters.spaceIds),
    );
    const all = await this.run(req, compiled, 'all', counts);
    // Too few documents hold every word (a pasted question, say): documents holding some of
    // them follow, those matching more words first, as Meilisearch's matching strategy does.
    // "Too few" depends on the query alone, never on the page: every page of a query is cut
    // from the same list, with the same total.
    if (all.total >= EVERY_WORD_ENOUGH || compiled.terms === 1) return all;
    // The counts were read with the first pass's page (it reads them when a second may follow), or before its candidates (forPath).
    return this.run(req, compiled, 'any', counts, this.weigh(compiled, await counts.now()));
  }

  /**
   * Whether the spaces searched hold at most NARROWED_SHARE of the table's documents, so that the
   * path is chosen from their own counts too (see takesDateIndex); asked by SpaceCounts once a
   * query's path first needs to know (the statistics it reads are the path's own); false for a moderator's own query,
   * whose pending, hidden and deleted documents no count lists: the whole table's statistics choose.
   */
  private async narrows(compiled: Compiled): Promise<boolean> {
    if (compiled.spaceDocuments === null) return false;
    const { documents } = await this.stats();
    return documents > 0 && compiled.spaceDocuments <= NARROWED_SHARE * documents;
  }

  /**
   * The ReadableCounts of the query's lexemes in `spaceIds`, read before a narrowed search's
   * candidates when the whole table's statistics would send them down the date index (which the
   * spaces' counts may then turn to the GIN index, see takesDateIndex), and kept for the page
   * (SpaceCounts), which then reads them no more. When the statistics choose the GIN index, the counts could not change
   * the path, and are not read before (until 2026-12-07 they were, one statement more; a test).
   * One statement, of the spaces' counts alone (an index read per space and lexeme, as the page's).
   */
  private async narrowedCounts(compiled: Compiled, spaceIds: readonly string[]): Promise<ReadableCounts> {
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const { cte, columns } = this.countsSql(compiled, `${p(spaceIds)}::uuid[]`, p);
    const [row] = await this.ds.query(`WITH ${cte} SELECT ${columns}`, params);
    return readableCountsOf(row.lexeme_docs, row.prefix_docs, row.readable_docs);
  }

  /**
   * The statement parts reading the ReadableCounts of the query's lexemes in `spaces` (a uuid[]):
   * a CTE (`sd`) and the columns lexeme_docs, prefix_docs and readable_docs. Per language, the
   * visible documents of that language in the spaces searched holding each lexeme of its query (an
   * index read per space and lexeme), and those spaces' visible documents of it, counted per space
   * and language: a space being stemmed anew holds documents of both its languages. Each lexeme is
   * probed on its own, as each prefix is: given them all as one array beside the spaces, the planner
   * may read every count of the spaces and filter them, and did on counts not analysed yet (83
   * lexemes of a completed prefix, 200,000 posts: 50 ms, against 0.5 ms probed). Only the languages
   * the spaces hold documents of (`held`) are probed: another's lexemes are in none of their
   * documents, and were looked up in every space searched all the same.
   */
  private countsSql(compiled: Compiled, spaces: string, p: (value: unknown) => string): { cte: string; columns: string } {
    const { lexemes, prefixes } = this.lexemesOf(compiled);
    // Each language's visible documents in the spaces searched, read once for both uses.
    const cte = `sd AS MATERIALIZED (
         SELECT s.language, sum(s.docs)::int AS n FROM search_space_documents s WHERE s.space_id = ANY(${spaces}) GROUP BY s.language
       )`;
    const held = `x.language IN (SELECT sd.language FROM sd WHERE sd.n > 0)`;
    const columns = `(SELECT coalesce(json_object_agg(x.language || ' ' || x.lexeme, s.n), '{}')
                     FROM unnest(${p(lexemes.map(([, x]) => x))}::text[], ${p(lexemes.map(([l]) => l))}::text[]) AS x(lexeme, language)
                     CROSS JOIN LATERAL (SELECT sum(c.docs)::int AS n FROM search_lexeme_counts c WHERE c.space_id = ANY(${spaces}) AND c.language = x.language AND c.lexeme = x.lexeme) s
                     WHERE ${held} AND s.n IS NOT NULL) AS lexeme_docs,
         (SELECT coalesce(json_object_agg(x.language || ' ' || x.prefix, x.n), '{}') FROM (SELECT x.prefix, x.language, (SELECT coalesce(sum(c.docs), 0)::int FROM (SELECT c.docs FROM search_lexeme_counts c
                     WHERE c.space_id = ANY(${spaces}) AND c.language = x.language AND c.lexeme >= x.prefix AND c.lexeme < x.prefix || chr(1114111) LIMIT ${PREFIX_COUNTS}) c) AS n
                     FROM unnest(${p(prefixes.map(([, x]) => x))}::text[], ${p(prefixes.map(([l]) => l))}::text[]) AS x(prefix, language) WHERE ${held}) x) AS prefix_docs,
         (SELECT coalesce(json_object_agg(sd.language, sd.n), '{}') FROM sd) AS readable_docs`;
    return { cte, columns };
  }

  /**
   * Inverse document frequencies of the query's terms, from the visible documents of the spaces
   * searched (`readable`, see ReadableCounts): a word in half the posts says little, a rare one
   * says much. Terms in few enough posts choose the candidates (the rarest first, see
   * RANKED_CANDIDATES); each matched term adds its weight to the score. Nothing a searcher may not
   * read counts here: which posts match, their order and the total depend on the others alone.
   */
  private weigh(compiled: Compiled, readable: ReadableCounts): TermWeights {
    const freqs = this.readableFrequencies(compiled, readable);
    const { documents } = readable;
    // A term typed twice weighs twice (a pasted question repeats its key words), but picks candidates once.
    const idf = freqs.map((f, i) => Math.log(1 + 1 / f) * compiled.times[i]);
    const selective = freqs.map((f, i) => ({ f, i })).filter(({ f }) => f <= SELECTIVE_FREQUENCY).sort((a, b) => a.f - b.f || a.i - b.i);
    if (selective.length === 0) return { idf, candidates: freqs.map((_, i) => i), ranked: false };
    // The rarest alone expected in more than RANKED_CANDIDATES: candidates are the newest matches
    // of the selective terms, as for common words.
    if (selective[0].f * documents > RANKED_CANDIDATES) return { idf, candidates: selective.map(({ i }) => i).sort((a, b) => a - b), ranked: false };
    // Else the selective terms, rarest first, as long as the documents they are expected in stay within it.
    const candidates: number[] = [];
    let expected = 0;
    for (const { f, i } of selective) {
      if (expected + f * documents > RANKED_CANDIDATES) break;
      expected += f * documents;
      candidates.push(i);
    }
    return { idf, candidates: candidates.sort((a, b) => a - b), ranked: true };
  }

  /** Whether a language keeps the ith positive term (a stop word it drops leaves its tsquery there empty). */
  private keeps(compiled: Compiled, l: Lang, i: number): boolean {
    return (compiled.each[l][i] ?? '').trim() !== '';
  }

  /**
   * The positive terms a language's query for `mode` is made of: all of them, or with words missing
   * and candidates chosen (`weights`), the candidate terms that language keeps, or all of them where
   * it keeps none (run's query then is its any-word one).
   */
  private termsOf(compiled: Compiled, l: Lang, mode: 'all' | 'any', weights?: TermWeights): number[] {
    const all = compiled.each[l].map((_, i) => i);
    if (mode === 'all' || !weights || weights.candidates.length >= compiled.terms) return all;
    const kept = weights.candidates.filter((i) => this.keeps(compiled, l, i));
    return kept.length ? kept : all;
  }

  /**
   * The share of a language's documents its query for `mode` matches, from each term's share of
   * them (`share`, asked for the terms it keeps alone): every term required, words are taken as
   * independent and shares multiply, a term the language drops (a stop word) requiring nothing
   * (its query leaves it out: '' && x is x), but nothing matches where it drops every term (an empty
   * query); any term enough, shares add up, a term it drops adding nothing ('' || x is x).
   */
  private languageShare(compiled: Compiled, l: Lang, mode: 'all' | 'any', weights: TermWeights | undefined, share: (i: number) => number): number {
    const terms = this.termsOf(compiled, l, mode, weights).filter((i) => this.keeps(compiled, l, i));
    if (mode === 'all') return terms.length === 0 ? 0 : terms.reduce((product, i) => product * Math.min(1, share(i)), 1);
    return Math.min(1, terms.reduce((sum, i) => sum + share(i), 0));
  }

  /** A language's share of a term's tsquery text there, from its counts (see ReadableCounts); unlisted lexemes count as none. */
  private countedShare(counts: LanguageCounts): (tsquery: string) => number {
    const documents = Math.max(counts.documents, 1);
    const share = (of: ReadonlyMap<string, number>) => new Map([...of].map(([x, n]) => [x, n / documents]));
    const freq = share(counts.docs);
    const prefixed = share(counts.prefixes);
    return (tsquery) => termShare(tsquery, freq, prefixed);
  }

  /**
   * Each positive term's share of the visible documents of the spaces searched, each language's
   * documents counted by its own query's lexemes (a term's alternatives add up, a prefix counts its
   * lexemes), from `readable`. A term a language drops as a stop word is held by every document of
   * that language: a stop word is a language's commonest word, and weighs as one (taken for a word
   * in none of them, it weighed as the rarest of a query, log(1 + documents)). A term held by no
   * document counts as held by one.
   */
  private readableFrequencies(compiled: Compiled, readable: ReadableCounts): number[] {
    const documents = Math.max(readable.documents, 1);
    const languages = [...readable.languages].map(([l, counts]) => ({ l, documents: counts.documents, shareOf: this.countedShare(counts) }));
    return compiled.each.en.map((_, i) => {
      const held = languages.reduce((sum, { l, documents: n, shareOf }) => sum + n * (this.keeps(compiled, l, i) ? Math.min(1, shareOf(compiled.each[l][i])) : 1), 0);
      return Math.min(1, Math.max(1, held) / documents);
    });
  }

  /**
   * The lexemes of each language's queries of the positive terms, and the prefixes (`'x':*`) among
   * them: what ReadableCounts are read for, each in the spaces of its language.
   */
  private lexemesOf(compiled: Compiled): { lexemes: Array<[Lang, string]>; prefixes: Array<[Lang, string]> } {
    const lexemes = new Map<string, [Lang, string]>();
    const prefixes = new Map<string, [Lang, string]>();
    for (const l of LANGS) {
      for (const tsquery of compiled.each[l]) {
        for (const m of (tsquery ?? '').matchAll(TSQUERY_LEXEME)) {
          const lexeme = m[1].replace(/''/g, "'");
          (m[2] ? prefixes : lexemes).set(`${l} ${lexeme}`, [l, lexeme]);
        }
      }
    }
    return { lexemes: [...lexemes.values()], prefixes: [...prefixes.values()] };
  }

  /**
   * A total past CANDIDATES matches: the visible documents of the spaces searched the query's
   * terms are expected in, each language's by its own query (see languageShare), from `readable`
   * alone, so that it never grows with matches the searcher may not read. The other filters
   * (board, kind, tags, author) are not counted in: such a total says it is an estimate
   * (SearchResult.totalIsEstimate), as every total past CANDIDATES does.
   */
  private readableEstimate(compiled: Compiled, readable: ReadableCounts, mode: 'all' | 'any', weights?: TermWeights): number {
    let expected = 0;
    for (const [l, counts] of readable.languages) {
      const shareOf = this.countedShare(counts);
      expected += counts.documents * this.languageShare(compiled, l, mode, weights, (i) => shareOf(compiled.each[l][i]));
    }
    return Math.round(expected);
  }

  /**
   * Share of documents a request surely matches (unlisted lexemes count as none), to choose
   * how candidates are found: a wrong "rare" costs one bounded GIN read before the date index.
   * From the whole table's statistics: the path alone (see LexemeStats). Each document is matched
   * by its own language's query alone, and the statistics do not say which language's documents
   * hold a lexeme: each language's query counts what the whole table's shares give it, at most that
   * language's share of the documents (`LexemeStats.languages`), and the largest counts, as when every
   * document held the lexemes its query's words stem to. So "notre widget", widget in every one of a
   * table of 4% French posts, is in 4% of them (the English query requires notr, in none); a
   * lexeme every language shares is counted once. Never analysed, no language has a share and no
   * lexeme a frequency: none (the GIN index). A language the spaces searched hold no document of
   * counts nothing (until 2026-12-05 it did: an English space's "running", 'running' in the French
   * posts of other spaces, went down the date index, a test).
   */
  private async density(compiled: Compiled, mode: 'all' | 'any', weights?: TermWeights): Promise<number> {
    const stats = await this.stats();
    let share = 0;
    for (const [l, part] of stats.languages) {
      // A language the spaces searched hold no document of is not read (Compiled.languages): what its
      // query would match elsewhere in the table is no share of this one's.
      if (compiled.languages && !compiled.languages.has(l)) continue;
      share = Math.max(share, Math.min(part, this.languageShare(compiled, l, mode, weights, (i) => termShare(compiled.each[l][i], stats.freq))));
    }
    return share;
  }

  /**
   * How far the candidates walk the date index (see dateWalkRows), or null for the GIN index: the
   * rule is takesDateIndexFor's, on the query's `density` and the table's documents, and the
   * width of `candidates`, the tsqueries per language the candidates are found with (with words
   * missing, those of the candidate terms alone: until 2026-12-05 the any-word query's, so that a
   * wide prefix never read for candidates sent them down the date index). A search narrowed to
   * spaces holding a small part of the table (see NARROWED_SHARE) takes the date index only when the
   * same rule on those spaces' own counts (`counts.forPath`: narrowedCounts, read only once the statistics say the
   * date index; readableEstimate's share of their visible documents) says so too, and then walks for
   * that share: the spaces' counts can only send it to the GIN index. A word absent from the spaces takes the GIN index, which is cheap when the word
   * is common only in another language's documents (each language's GIN index holds that language's
   * documents of every space, not of the spaces searched): common in the same language elsewhere, the
   * GIN index reads those matches too, up to DENSE. A word rare in the table and dense in the spaces
   * keeps the GIN index: through several spaces (`space_id = ANY`) the walk takes the whole table's
   * date index and reads every other space's newer rows, which dateWalkRows does not count (until
   * 2026-12-07 it took the date index from the spaces' counts alone: 100,000 posts, a word in 10% of
   * two spaces' 3,125 posts and 0.02% of the others', a walk of 100,000 rows and 3,350 buffers,
   * 17 ms, where the GIN statement read 703 buffers in 8 ms; a test).
   */
  private async takesDateIndex(
    compiled: Compiled,
    mode: 'all' | 'any',
    candidates: Record<Lang, string>,
    counts: SpaceCounts,
    weights?: TermWeights,
  ): Promise<number | null> {
    const tsqueries = Object.values(candidates);
    const share = await this.density(compiled, mode, weights);
    if (!takesDateIndexFor(share, (await this.stats()).documents, tsqueries)) return null;
    const narrowed = await counts.forPath();
    if (!narrowed) return this.dateWalkRows(share);
    const own = Math.min(1, this.readableEstimate(compiled, narrowed, mode, weights) / Math.max(narrowed.documents, 1));
    return takesDateIndexFor(own, narrowed.documents, tsqueries) ? this.dateWalkRows(own) : null;
  }

  /**
   * How many rows (of the spaces searched, passing the filters) the date index walks for a query
   * the statistics put in a share `share` of the documents before it gives way to the GIN index:
   * twice the walk expected, and at least twice DENSE. Words are taken as independent, and those
   * of a query often are not ("served shou", estimated in 10% of 200,000 posts, matched 93: its
   * walk read every post, 716 ms).
   */
  protected dateWalkRows(share: number): number {
    return Math.max(2 * DENSE, Math.ceil((2 * (CANDIDATES + 1)) / share));
  }

  /**
   * The lexeme statistics, read again once in STATS_TTL_MS. Every query then in flight needs them
   * (a busy server's dozens): they share one read (single-flight). A read that fails fails those
   * waiting on it and is not kept: the next query reads again. One started before clear() is
   * neither kept nor shared after it.
   */
  private stats(): Promise<LexemeStats> {
    if (this.lexemeStats && Date.now() - this.lexemeStats.at < STATS_TTL_MS) return Promise.resolve(this.lexemeStats);
    if (this.statsRead) return this.statsRead;
    const read: Promise<LexemeStats> = this.readStats().then(
      (stats) => {
        if (this.statsRead === read) {
          this.lexemeStats = stats;
          this.statsRead = null;
        }
        return stats;
      },
      (err: unknown) => {
        if (this.statsRead === read) this.statsRead = null;
        throw err;
      },
    );
    return (this.statsRead = read);
  }

  private async readStats(): Promise<LexemeStats & { at: number }> {
    const [row] = await this.ds.query(
      `SELECT s.most_common_elems::text::text[] AS lexemes, s.most_common_elem_freqs AS freqs,
              l.most_common_vals::text::text[] AS languages, l.most_common_freqs AS language_freqs,
              (SELECT CASE WHEN c.relpages > 0 THEN c.reltuples / c.relpages * p.pages
                           WHEN p.pages > 0 AND w.width > 0 THEN p.pages * floor((p.block - 24) / (w.width + 28))
                           ELSE greatest(c.reltuples, 0) END::float8
                 FROM pg_class c,
                      LATERAL (SELECT current_setting('block_size')::int AS block, pg_relation_size(c.oid) / current_setting('block_size')::int AS pages) p,
                      LATERAL (SELECT sum(w.avg_width) AS width FROM pg_stats w WHERE w.schemaname = current_schema() AND w.tablename = 'search_documents') w
                WHERE c.oid = to_regclass('search_documents')) AS documents
         FROM (SELECT 1) one
         LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = 'search_documents' AND s.attname = 'tsv'
         LEFT JOIN pg_stats l ON l.schemaname = current_schema() AND l.tablename = 'search_documents' AND l.attname = 'language'`,
    );
    const freq = new Map<string, number>();
    const lexemes: string[] = row?.lexemes ?? [];
    const freqs: number[] = row?.freqs ?? [];
    lexemes.forEach((x, i) => freq.set(x, freqs[i]));
    const languageFreqs: number[] = row?.language_freqs ?? [];
    const languages = new Map(((row?.languages ?? []) as string[]).map((l, i) => [searchLanguage(l), languageFreqs[i]] as const));
    return { at: Date.now(), freq, documents: Number(row?.documents ?? 0), languages };
  }

  /**
   * Closest indexed words for each word no visible document of the spaces searched holds (typo
   * tolerance), in the vocabulary of those spaces (and, for a moderator's own query, of what it
   * finds in the spaces they moderate: `moderated`; see Vocabulary). Whether a word is a typo is
   * decided by the visible vocabulary alone, for everyone: in a moderator's own query, a word
   * only pending, hidden or deleted posts hold is widened too (to itself among its neighbours),
   * as a word no document holds is, rather than taken as known. Its close visible words are
   * found with it, as Meilisearch, which adds typo matches to every word, finds them.
   *
   * A word visible documents hold is not widened, however rare: measured on the search bench
   * (1M posts, 20 clients), widening rare known words (those at most 10 visible documents hold)
   * took rare-word queries from 345 to 2,692 ms at p99 and added a dozen near-miss hits to each.
   *
   * Close words are those within the typos the word may hold (typosAllowed), the fewest typos
   * first. They are found through their typo keys (VOCABULARY_TYPO_KEYS, a GIN index), not by
   * reading the vocabulary: the words sharing a key with the typed word's are few, and only
   * their distance is computed (typoDistance).
   */
  private async nearWords(q: ParsedQuery, spaceIds: string[], moderated: string[], folding: UnaccentFolding): Promise<Map<string, CloseWord[]>> {
    const candidates = q.words
      .filter((w) => !/^\d+$/.test(w) && !isSegmented(w))
      .map((word) => ({ word, term: folding.word(word) }))
      .map((w) => ({ ...w, typos: typosAllowed(w.term) }))
      .filter((w) => w.typos > 0);
    const near = new Map<string, CloseWord[]>();
    if (candidates.length === 0) return near;
    const visible = vocabularySql('$5', null);
    const params: unknown[] = [
      candidates.map((w) => w.word),
      TYPO_CANDIDATES,
      candidates.map((w) => w.term),
      q.prefix ?? '',
      spaceIds,
      candidates.map((w) => w.typos),
    ];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const vocabulary = vocabularySql('$5', moderated.length ? p(moderated) : null);
    const rows: Array<{ word: string; term: string; typos: number; near: string[] | null }> = await this.ds.query(
      `SELECT w.word, w.term, w.typos,
              CASE WHEN EXISTS (SELECT 1 FROM ${visible} t WHERE t.term = w.term)
                     -- a word still being typed is fine as long as some visible word starts with it
                     OR (w.word = $4 AND EXISTS (SELECT 1 FROM ${visible} t WHERE t.term >= w.term AND t.term < w.term || chr(1114111)))
                   THEN NULL
                   ELSE ARRAY(SELECT t.term FROM ${vocabulary} t
                               WHERE ${VOCABULARY_TYPO_KEYS} && parvis_typo_keys_v2(w.term, w.typos)
                                 AND abs(char_length(t.term) - char_length(w.term)) <= w.typos
                               GROUP BY t.term ORDER BY similarity(t.term, w.term) DESC, t.term LIMIT $2) END AS near
         FROM unnest($1::text[], $3::text[], $6::int[]) AS w(word, term, typos)`,
      params,
    );
    for (const r of rows) {
      // The fewest typos first, then the most alike (the order read).
      const close = (r.near ?? [])
        .map((term, order) => ({ term, order, typos: typoDistance(term, r.term, r.typos) }))
        .filter((c) => c.typos <= r.typos)
        .sort((a, b) => a.typos - b.typos || a.order - b.order)
        .slice(0, TYPO_ALTERNATIVES);
      if (close.length) near.set(r.word, close.map((c) => ({ term: c.term, typos: c.typos })));
    }
    return near;
  }

  /**
   * The vocabulary words (of the spaces searched, as nearWords reads them) the query's last,
   * unfinished word may become, when there are few enough of them to list (see
   * PREFIX_EXPANSIONS); null keeps the prefix match.
   */
  private async completions(q: ParsedQuery, spaceIds: string[], moderated: string[], folding: UnaccentFolding): Promise<string[] | null> {
    if (!q.prefix) return null;
    const [row]: Array<{ words: string[] }> = await this.ds.query(
      `SELECT ARRAY(SELECT DISTINCT t.term FROM ${vocabularySql('$3', moderated.length ? '$4' : null)} t
                     WHERE t.term >= $1 AND t.term < $1 || chr(1114111)
                     ORDER BY t.term LIMIT $2) AS words`,
      [folding.word(q.prefix), PREFIX_EXPANSIONS + 1, spaceIds, ...(moderated.length ? [moderated] : [])],
    );
    const words = row?.words ?? [];
    return words.length === 0 || words.length > PREFIX_EXPANSIONS ? null : words;
  }

  /**
   * The query as tsqueries per language (stemming differs, so each document is matched with
   * its own): every term required, any term enough, and each positive term on its own.
   */
  private async compile(q: ParsedQuery, near: Map<string, CloseWord[]>, completions: string[] | null, spaceIds: string[], moderated: boolean): Promise<Compiled> {
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    // Every tsquery is built as text, NULL where a language drops every word of it (each a stop word
    // there), and parts are joined leaving the NULL ones out, as `''` leaves itself out of `&&` and
    // `||`: plainto_tsquery (and phraseto_tsquery, to_tsquery) draws a NOTICE from PostgreSQL for
    // each query it finds no lexeme in ("text-search query contains only stop words…"), and `''`
    // read as a tsquery draws one too. A word is looked up only where to_tsvector, which parses it
    // alike and draws none, finds a lexeme in it.
    //
    // The statement is built in three levels, each a sub-select PostgreSQL computes once (OFFSET 0
    // keeps it from being pulled up into the next, which would write its expressions again into
    // every one that uses them): each word's lookup per language (`k`), then each term's query,
    // its typo levels and each excluded phrase per language (`t`), then the columns read. Each
    // lookup is written once, so the statement grows with words × languages, not with how many
    // columns use them (written into each, a query of 50 typos compiled by a 141 KB statement).
    //
    // A level's columns (`k` or `t`): each expression once, named by its place.
    const subSelect = (alias: string) => {
      const columns = new Map<string, string>();
      const column = (sql: string) => {
        if (!columns.has(sql)) columns.set(sql, `${alias}${columns.size}`);
        return `${alias}.${columns.get(sql)}`;
      };
      return { column, sql: () => [...columns].map(([sql, name]) => `${sql} AS ${name}`).join(', ') };
    };
    const k = subSelect('k');
    const t = subSelect('t');
    const lexemes = (cfg: string, fn: string, param: string) => k.column(`CASE WHEN length(to_tsvector('${cfg}', ${param})) = 0 THEN NULL ELSE ${fn}('${cfg}', ${param})::text END`);
    // Parts (tsquery texts or NULL, each put in brackets, `!` before with `not`) joined by `op`; NULL when every part is.
    const part = (x: string, not = false) => `'${not ? '!' : ''}(' || ${x} || ')'`;
    const joined = (parts: string[], op: '&' | '|') => `nullif(concat_ws(' ${op} ', ${parts.join(', ')}), '')::tsquery::text`;
    const anyOf = (parts: string[]) => joined(parts.map((x) => part(x)), '|');
    // Per positive term and language, its query (a column of `t`).
    const positive: Array<Record<Lang, string>> = [];
    // Per positive term, its matches by typos per language when it is widened (see Compiled.typoLevels).
    const levels: Array<((cfg: string) => { exact: string; one: string; two: string | null }) | null> = [];
    // Whether some term has a two-typo level (see Compiled.typoLevels).
    let anyTwo = false;
    const perLang = (of: (cfg: string) => string) => Object.fromEntries(LANGS.map((l) => [l, of(CONFIGS[l])])) as Record<Lang, string>;
    for (const w of q.words) {
      const close = near.get(w) ?? [];
      const alternatives = close.map((c) => p(c.term));
      // w holds letters, digits and marks only (see parseQuery), and so do vocabulary words; the prefix
      // itself stays among its completions (a two-letter word is not in the vocabulary).
      // Completions are many words with few stems (distance, distances, distant...): they are
      // stemmed together and each lexeme enters the query once, since GIN evaluates the whole
      // query for every document of every alternative.
      const expanded = w === q.prefix && completions !== null;
      const typed = expanded ? [w, ...completions!.filter((c) => c !== w)].join(' ') : w === q.prefix ? `'${w}':*` : w;
      const exact = p(typed);
      // A typed word that is a stop word ("fix the") is ignored, as the `:*` match ignores it,
      // rather than required through its completions ("theme").
      const alone = expanded ? p(w) : '';
      const own = (cfg: string) =>
        expanded
          ? k.column(`CASE WHEN length(to_tsvector('${cfg}', ${alone})) = 0 THEN NULL
                  ELSE (SELECT string_agg(quote_literal(x), ' | ') FROM unnest(tsvector_to_array(to_tsvector('${cfg}', ${exact}))) AS x) END`)
          : lexemes(cfg, w === q.prefix ? 'to_tsquery' : 'plainto_tsquery', exact);
      const alternative = (cfg: string, typos: number) => alternatives.filter((_, i) => close[i].typos === typos).map((a) => lexemes(cfg, 'plainto_tsquery', a));
      // A word alone is its lookup as it is (a tsquery's text, read and written again, is itself).
      const term = (cfg: string) => (!expanded && alternatives.length === 0 ? own(cfg) : anyOf([own(cfg), ...alternatives.map((a) => lexemes(cfg, 'plainto_tsquery', a))]));
      positive.push(perLang((cfg) => t.column(term(cfg))));
      // The hidden word itself (in a moderator's query, see nearWords) is no typo. An empty level
      // (a stop word, no close word) is NULL: it matches nothing.
      const typoLevel = (parts: string[]) => (parts.length ? t.column(anyOf(parts)) : 'NULL::text');
      // The two-typo level only where one-typo words stand beside it (see Compiled.typoLevels).
      const tellsTwo = close.some((c) => c.typos === 1) && close.some((c) => c.typos === 2);
      anyTwo ||= tellsTwo;
      levels.push(
        close.length
          ? (cfg) => ({ exact: typoLevel([own(cfg), ...alternative(cfg, 0)]), one: typoLevel(alternative(cfg, 1)), two: tellsTwo ? typoLevel(alternative(cfg, 2)) : null })
          : null,
      );
    }
    for (const phrase of q.phrases) {
      const param = p(phrase.join(' '));
      positive.push(perLang((cfg) => t.column(lexemes(cfg, 'phraseto_tsquery', param))));
      levels.push(null);
    }
    // Only a short query's matches are ranked by typos (TYPO_RANKED_QUERY_TERMS).
    const widened = positive.length <= TYPO_RANKED_QUERY_TERMS && levels.some((l) => l !== null);
    // The two-typo level's columns, only when some term has one (see Compiled.typoLevels).
    const tellsTwo = widened && anyTwo;
    const levelKeys = tellsTwo ? (['exact', 'one', 'two'] as const) : (['exact', 'one'] as const);
    const excluded = q.excluded.map((words) => p(words.join(' ')));
    const negated = excluded.map((x) => perLang((cfg) => t.column(lexemes(cfg, 'phraseto_tsquery', x))));
    // Each language's query: every term required (`&`) or any enough (`|`), without the excluded
    // phrases; '' where it drops them all.
    const expression = (l: Lang, op: '&' | '|') =>
      `coalesce(${joined([part(joined(positive.map((x) => part(x[l])), op)), ...negated.map((x) => part(x[l], true))], '&')}, '')`;
    const columns = LANGS.flatMap((l) => [
      `${expression(l, '&')} AS all_${l}`,
      `${expression(l, '|')} AS any_${l}`,
      `ARRAY[${positive.map((x) => `coalesce(${x[l]}, '')`).join(', ')}] AS terms_${l}`,
      ...(widened
        ? levelKeys.map((key) => `ARRAY[${levels.map((level) => (level ? (level(CONFIGS[l])[key] ?? 'NULL::text') : 'NULL::text')).join(', ')}]::text[] AS ${key}_${l}`)
        : []),
    ]);
    if (excluded.length) columns.push(...LANGS.map((l) => `coalesce(${joined(negated.map((x) => part(x[l], true)), '&')}, '') AS excl_${l}`));
    if (!moderated) {
      const spaces = `${p(spaceIds)}::uuid[]`;
      columns.push(`${languagesSql(spaces)} AS languages`);
      columns.push(`(SELECT coalesce(sum(s.docs), 0)::float8 FROM search_space_documents s WHERE s.space_id = ANY(${spaces})) AS space_documents`);
    }
    const [row] = await this.ds.query(`SELECT ${columns.join(', ')} FROM (SELECT ${t.sql()} FROM (SELECT ${k.sql()} OFFSET 0) k OFFSET 0) t`, params);
    const pick = (prefix: string) => Object.fromEntries(LANGS.map((l) => [l, row[`${prefix}_${l}`]])) as Record<Lang, never>;
    const noLevels = (terms: number) => Object.fromEntries(LANGS.map((l) => [l, Array.from({ length: terms }, () => null)])) as Record<Lang, Array<string | null>>;
    // A language that drops every positive term (each a stop word there) finds nothing: its queries
    // are empty, not the exclusions alone (`'' && !'foo'` is `!'foo'`: every post of it without foo).
    const dropsAll = (l: Lang) => (row[`terms_${l}`] as string[]).every((x) => (x ?? '').trim() === '');
    const query = (prefix: 'all' | 'any') => Object.fromEntries(LANGS.map((l) => [l, dropsAll(l) ? '' : row[`${prefix}_${l}`]])) as Record<Lang, string>;
    const excl = Object.fromEntries(LANGS.map((l) => [l, excluded.length ? (row[`excl_${l}`] as string) : ''])) as Record<Lang, string>;
    const terms = [...q.words, ...q.phrases.flat(), ...q.excluded.flat()];
    return {
      all: query('all'),
      any: query('any'),
      each: pick('terms'),
      excluded: excl,
      terms: positive.length,
      times: q.times,
      segmented: terms.some(isSegmented),
      folded: terms.some(holdsArabicOrHebrew),
      typoLevels: widened ? { exact: pick('exact'), one: pick('one'), two: tellsTwo ? pick('two') : noLevels(positive.length) } : null,
      languages: moderated ? null : new Set((row.languages as string[]).map(searchLanguage)),
      spaceDocuments: moderated ? null : Number(row.space_documents),
    };
  }

  /**
   * Whether the matches of a typo-ranked query the statistics send down the date index may differ
   * in typos, so that the GIN path's candidates (the fewest typos, then the newest) may not be the
   * date index's (the newest): then it takes the GIN index whatever the statistics say (see run).
   * Always for a moderator's own query (the word as typed may be in hidden posts, which no count
   * lists) and for a term with close words both one and two typos away (`two` compiled); else only
   * when a lexeme of a word as typed (the `exact` level: it may stem to a lexeme posts hold, or fold
   * to a vocabulary word) is in visible documents of the spaces searched, from their counts (one
   * statement, which the page then does not read again: SpaceCounts). With none, every match is as
   * many typos away, and both paths take the newest: the date index stays the fast path.
   */
  private async typosMayDiffer(compiled: Compiled, counts: SpaceCounts): Promise<boolean> {
    const levels = compiled.typoLevels!;
    if (compiled.languages === null) return true;
    const read = LANGS.filter((l) => compiled.languages!.has(l));
    if (read.some((l) => levels.two[l].some((x) => (x ?? '').trim() !== ''))) return true;
    const exact = read.flatMap((l) => levels.exact[l].flatMap((x) => [...(x ?? '').matchAll(TSQUERY_LEXEME)].map((m) => ({ l, m }))));
    if (exact.length === 0) return false;
    const { languages } = await counts.now();
    return exact.some(({ l, m }) => m[2] !== undefined || (languages.get(l)?.docs.get(m[1].replace(/''/g, "'")) ?? 0) > 0);
  }

  /**
   * One pass of a query: its candidates, then its page, totals and facets in one statement, which
   * also reads the ReadableCounts of the query's lexemes when they are needed and not read by
   * `counts` (read by the first pass, or before this one's candidates: see takesDateIndex): for the
   * first pass (`all`) of a query a second may follow, and for a total past CANDIDATES. They are
   * kept in `counts`, for the second pass.
   */
  private async run(req: SearchRequest, compiled: Compiled, mode: 'all' | 'any', counts: SpaceCounts, weights?: TermWeights): Promise<SearchResult> {
    const f = req.filters;
    const tsq = { ...compiled[mode] };
    if (mode === 'any' && weights && weights.candidates.length < compiled.terms) {
      // Candidates come from the selective terms only; every term still counts in the score.
      for (const l of LANGS) {
        tsq[l] = weights.candidates.map((i) => compiled.each[l][i]).filter((x) => x.trim() !== '').map((x) => `(${x})`).join(' | ') || compiled.any[l];
        if (compiled.excluded[l] && tsq[l] !== '') tsq[l] = `(${tsq[l]}) & ${compiled.excluded[l]}`;
      }
    }
    // A language the spaces searched hold no document of finds nothing there: its query is not read.
    for (const l of LANGS) if (compiled.languages && !compiled.languages.has(l)) tsq[l] = '';
    // An empty query is bound as NULL, which matches nothing as '' does: '' read as a tsquery draws a
    // NOTICE ("text-search query doesn't contain lexemes") for every statement binding it, four a pass
    // for a space of one language (the GIN statement and the page's each naming two languages not read).
    const params: unknown[] = [...LANGS.map((l) => (tsq[l].trim() === '' ? null : tsq[l])), f.spaceIds, f.moderatedSpaceIds ?? []];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = [`d.space_id = ANY($4::uuid[])`, `(d.state = 'VISIBLE' OR d.space_id = ANY($5::uuid[]))`];
    if (f.boardIds?.length) where.push(`d.board_id = ANY(${p(f.boardIds)}::uuid[])`);
    if (f.kinds?.length) where.push(`d.kind = ANY(${p(f.kinds)}::text[])`);
    if (f.tags?.length) where.push(`d.tags @> ${p(f.tags)}::text[]`);
    if (f.authorId) where.push(`d.author_id = ${p(f.authorId)}::uuid`);
    if (f.topicsOnly) where.push(`d.post_number = 1`);
    if (f.excludeTopicIds?.length) where.push(`d.topic_id <> ALL(${p(f.excludeTopicIds)}::uuid[])`);
    // Each document is matched by its own language's query alone (`ownMatch`, as the page keeps
    // them): matched by another language's, an English post holding widget alone was a candidate of
    // "avec widget" (widget in French), and the newest 1,000 candidates could be mostly such posts,
    // which the page then dropped, counted in totals. The GIN path reads each language's index with
    // its query (`ownIndexes`: the migration search-documents-tsv-per-language), one branch of a
    // UNION ALL each (as OR'd arms, identical queries would be merged into one condition, which no
    // index of one language serves); a language whose query is empty (every word a stop word there,
    // or no document of it in the spaces searched) matches nothing and has no branch. The date
    // index's walks check each row with its own.
    const tsqOf = (l: Lang) => `$${LANGS.indexOf(l) + 1}::tsquery`;
    const ownMatch = `d.tsv @@ ${byLanguage('d.language', tsqOf)}`;
    const ownIndexes = LANGS.filter((l) => tsq[l].trim() !== '').map((l) => `d.language = '${l}' AND d.tsv @@ ${tsqOf(l)} AND ${where.join(' AND ')}`);
    const dateWalk = { tsv: ownMatch, filters: where.join(' AND ') };
    const filterParams = params.slice();
    const idf = weights?.idf ?? compiled.each.en.map(() => 1);
    const levels = compiled.typoLevels;
    // Per-language lists of the terms (`terms`), each document's in its language; a term the
    // language drops is NULL there, which matches nothing as '' does, without its NOTICE.
    const perLanguage = (param: (value: unknown) => string, lists: Record<Lang, Array<string | null>>, terms: number[]) => {
      return byLanguage('d.language', (l) => `${param(terms.map((i) => lists[l][i] || null))}::tsquery[]`);
    };
    // How many typos a matched widened term is matched with (see Compiled.typoLevels), on its two
    // levels (a term matched by neither is two typos away; a level NULL matches nothing).
    const typosOfLevels = (exact: string, one: string) => `CASE WHEN d.tsv @@ ${exact} THEN 0 WHEN d.tsv @@ ${one} THEN 1 ELSE 2 END`;
    const typosOfTerm = typosOfLevels('x.exact', 'x.one');
    // The weight of the query's terms a document holds (each term's idf), over the per-language
    // term lists; `byTypos`: a widened term counts its TYPO_WEIGHTS share by the typos it is matched with.
    const matchedBy = (param: (value: unknown) => string, terms = compiled.each.en.map((_, i) => i), byTypos = false) => {
      const weighted = byTypos && levels !== null;
      const weight = weighted ? `x.idf * CASE WHEN x.exact IS NULL AND x.one IS NULL THEN 1 ELSE (${param(TYPO_WEIGHTS)}::float8[])[1 + ${typosOfTerm}] END` : 'x.idf';
      const typoLists = weighted ? `, ${perLanguage(param, levels.exact, terms)}, ${perLanguage(param, levels.one, terms)}` : '';
      return `(SELECT coalesce(sum(${weight}), 0) FROM unnest(${perLanguage(param, compiled.each, terms)}, ${param(terms.map((i) => idf[i]))}::float8[]${typoLists})
                 AS x(term, idf${weighted ? ', exact, one' : ''}) WHERE d.tsv @@ x.term)`;
    };
    // The terms widened to close words (see Compiled.typoLevels), which typosBy and typosByIndex rank by.
    const widened = levels ? levels.exact.en.flatMap((exact, i) => (exact !== null || levels.one.en[i] !== null ? [i] : [])) : [];
    // With every term matched: the typos of the document's matches, summed over the widened terms
    // (at most TYPO_RANKED_QUERY_TERMS), written out term by term: a subquery unnesting per-language
    // lists for each document took about half of the GIN path's time for a typo (5,007 matches:
    // 53 ms against 28 ms, and 27 ms with no ranking at all).
    const typosBy = (param: (value: unknown) => string) => {
      const level = (lists: Record<Lang, Array<string | null>>, i: number) => byLanguage('d.language', (l) => `${param(lists[l][i])}::tsquery`);
      return widened.length ? `(${widened.map((i) => typosOfLevels(level(levels!.exact, i), level(levels!.one, i))).join(' + ')})` : '0';
    };
    // The same typos for the GIN path's candidates (up to DENSE matches), each level's documents
    // found through the GIN indexes, once per statement (a hashed sub-select), rather than by
    // matching each match's vector with the levels (typosBy): that read the vector of each match,
    // TOASTed in a long post, where the GIN path reads no vector otherwise (bench:search, 1,000,000
    // posts, `tiple` widened to 4 words: 18,291 matches, about 33,900 buffers against 18,700
    // without the ranking). A match of the query holds each term: one holding none of its words
    // `exact` and `one` and some of `two` is two typos away, any other one. The `two` set is read
    // only for a term with close words both one and two typos away (Compiled.typoLevels): with
    // none two away, a match not holding `exact` is one away; with none one away, two. Each set
    // read is hashed once (`hashed`: hash_mem_multiplier, raised in ginCandidates for the rest
    // of the transaction, SET LOCAL, keeps it hashed when the planner expects more) and read
    // from the whole table, every space and state: probed with a candidate's own id alone, what
    // others hold ranks nothing. Of the spaces searched it holds few documents (the word as typed is
    // in none visible there), but a word common elsewhere is read in every post holding it (5,000
    // posts of another space holding the typed word: 486 buffers against 3 without the ranking, on
    // a test database). Restricted to the spaces searched, the sets were read through the space's
    // index, each row's vector matched in the heap: the TOAST reads this avoids (92 blocks, a test).
    const typosByIndex = (param: (value: unknown) => string): { sql: string; hashed: boolean } => {
      // The languages not read (see Compiled.languages) hold no match.
      const isRead = (l: Lang) => !compiled.languages || compiled.languages.has(l);
      let hashed = false;
      const holding = (queries: Record<Lang, string | null>) => {
        const read = LANGS.filter((l) => queries[l] !== null && isRead(l));
        if (read.length === 0) return 'false';
        hashed = true;
        return `d.id IN (${read.map((l) => `SELECT e.id FROM search_documents e WHERE e.language = '${l}' AND e.tsv @@ ${param(queries[l])}::tsquery`).join(' UNION ALL ')})`;
      };
      const given = (x: string | null | undefined) => (x && x.trim() !== '' ? x : null);
      const perTerm = widened.map((i) => {
        const exact = Object.fromEntries(LANGS.map((l) => [l, given(levels!.exact[l][i])])) as Record<Lang, string | null>;
        // A match not holding `exact` holds a word of `one` or of two typos: the `two` set is read
        // only where a language read has both levels (with none one typo away, `two` is not
        // compiled: such a match is two away; with none two away, one).
        const has = (lists: Record<Lang, Array<string | null>>) => LANGS.filter(isRead).some((l) => given(lists[l][i]) !== null);
        const both = LANGS.filter(isRead).some((l) => given(levels!.one[l][i]) !== null && given(levels!.two[l][i]) !== null);
        if (!both && !has(levels!.one)) return `CASE WHEN ${holding(exact)} THEN 0 ELSE 2 END`;
        if (!both && !has(levels!.two)) return `CASE WHEN ${holding(exact)} THEN 0 ELSE 1 END`;
        const two = Object.fromEntries(
          LANGS.map((l) => {
            const words = given(levels!.two[l][i]);
            const closer = [levels!.one[l][i], levels!.exact[l][i]].map(given).filter((x): x is string => x !== null);
            return [l, words === null ? null : [`(${words})`, ...closer.map((x) => `!(${x})`)].join(' & ')];
          }),
        ) as Record<Lang, string | null>;
        return `CASE WHEN ${holding(exact)} THEN 0 WHEN ${holding(two)} THEN 2 ELSE 1 END`;
      });
      return { sql: perTerm.length ? `(${perTerm.join(' + ')})` : '0', hashed };
    };
    // Words missing, and the rarest expected in few enough documents: the candidates are those
    // of their matches holding the most weight of the query's terms (see RANKED_CANDIDATES).
    let rank: CandidateRank | null = null;
    if (weights?.ranked) {
      const rankParams = filterParams.slice();
      const sql = matchedBy((value) => {
        rankParams.push(value);
        return `$${rankParams.length}`;
      }, weights.candidates);
      rank = { sql, params: rankParams, hashed: false };
    }
    // Every word required, some widened: the GIN path's candidates are the matches with the fewest
    // typos, then the newest, so that newer typo matches never push the word as typed out of them.
    // Where their typos can differ (`hashed`: the ranking reads a level's set, as it does for any word
    // as typed that is no stop word: it may stem to a lexeme posts hold, and a moderator's own query
    // finds it in hidden posts), the date index, which takes the newest whatever their typos, would
    // take other candidates past 1,000 matches: a query the statistics send down the date index
    // asks typosMayDiffer (the spaces' counts of the word as typed, a two-typo level, a moderator)
    // and takes the GIN index whatever the statistics say when they may (and past DENSE matches the
    // whole date walk, as any query does, from what the table holds), so that each page of it is
    // cut from the same list when the statistics change between pages (an ANALYZE, another
    // process's read; until 2026-12-07 a page could repeat or skip the hits of the one before, a
    // test). Such a common typo reads up to DENSE GIN matches first; one whose matches are all as
    // many typos away keeps the date index (a test).
    let typoRank: CandidateRank | null = null;
    if (!rank && mode === 'all' && levels) {
      const rankParams = filterParams.slice();
      const fewest = typosByIndex((value) => {
        rankParams.push(value);
        return `$${rankParams.length}`;
      });
      typoRank = { sql: `-${fewest.sql}`, params: rankParams, hashed: fewest.hashed };
    }
    let walk = rank ? null : await this.takesDateIndex(compiled, mode, tsq, counts, weights);
    if (walk !== null && typoRank?.hashed && (await this.typosMayDiffer(compiled, counts))) walk = null;
    const common = walk !== null;
    if (!rank && !common) rank = typoRank;
    const candidates = await this.candidates({ gin: ownIndexes, date: dateWalk }, filterParams, common, rank, walk);
    // The main statement reads the candidates again with the filters (their parameters kept): a post
    // hidden or moved to another space since their transaction is neither shown nor counted (until
    // 2026-12-06 it was both, in the hits, total and facets; a test). Each candidate is read by its
    // id (`byId`: OFFSET 0 keeps the filters out of the sub-select), the query and the filters then
    // checked on it: joined to search_documents, the 1,000 candidates of a common word were
    // hash-joined to a scan of every row of the table (without the filters, until 2026-12-06) or of
    // the spaces searched (with them), each matched with the query: 83,002 rows read on a seeded
    // database, 3,001 in a test, where 1,000 reads by primary key do.
    const candParam = p(candidates.ids);
    const byId = `unnest(${candParam}::uuid[]) AS c(id) CROSS JOIN LATERAL (SELECT * FROM search_documents d WHERE d.id = c.id OFFSET 0) d`;
    // With words missing, documents holding more (and rarer) of them come first, whatever the sort
    // (as Meilisearch's `words` rule comes before `sort`), in a short query those holding them as
    // typed above those holding typos of them (TYPO_WEIGHTS). With every word matched, the fewest
    // typos come first, then the best score (as Meilisearch's `typo` rule comes before
    // `attribute`), unless the sort is NEWEST (its `sort` comes before `typo`).
    const order =
      req.sort === 'NEWEST' ? `${mode === 'any' ? 'matched DESC, ' : ''}created_at DESC, id DESC` : mode === 'any' ? 'score * matched DESC, id' : 'typos, score DESC, id';
    const matched = mode === 'any' ? matchedBy(p, undefined, req.sort !== 'NEWEST') : '0';
    const typos = mode === 'all' && levels && req.sort !== 'NEWEST' ? typosBy(p) : '0';
    const limit = p(req.limit);
    const offset = p(req.offset);
    // The snippet is cut from the body as it was indexed when the query holds letters of unspaced
    // scripts, or Arabic or Hebrew ones: on the body as written, ts_headline would find no word
    // of theirs to highlight (and Arabic and Hebrew snippets show no optional marks then). The
    // Arabic letter variants, folded one letter for one, are shown as written again: the text
    // before they were folded comes back with the snippet when they were (see withLettersAsWritten).
    const written = compiled.folded ? `regexp_replace(left(b.body, 20000), ${p(OPTIONAL_MARK_SQL)}, '', 'g')` : 'left(b.body, 20000)';
    let snippetText = 'w.text';
    let lettersAsWritten = 'NULL';
    if (compiled.folded) {
      snippetText = `translate(w.text, ${p(LETTER_VARIANT_SQL.from)}, ${p(LETTER_VARIANT_SQL.to)})`;
      lettersAsWritten = `CASE WHEN ${snippetText} <> w.text THEN w.text END`;
    }
    if (compiled.segmented) snippetText = `regexp_replace(${snippetText}, ${p(SEGMENTED_UNIT_SQL)}, ${p(`${SEGMENTED}\\&${SEGMENTED}`)}, 'g')`;
    snippetText = `regexp_replace(${snippetText}, ${p(COMPOUND_JOINT_SQL.pattern)}, ${p(COMPOUND_JOINT_SQL.replacement)}, 'g')`;
    // The ReadableCounts (see countsSql), unless read or being read (by the first pass, or before the candidates: SpaceCounts.forPath).
    const readCounts = counts.unread && ((mode === 'all' && compiled.terms > 1) || candidates.capped);
    let countColumns = '';
    let languagesCte = '';
    if (readCounts) {
      const read = this.countsSql(compiled, `${p(f.spaceIds)}::uuid[]`, p);
      languagesCte = `, ${read.cte}`;
      countColumns = `, ${read.columns}`;
    }
    const facets = req.facets
      ? `, (SELECT coalesce(json_agg(json_build_object('value', kind, 'count', n) ORDER BY n DESC, kind), '[]') FROM (SELECT kind, count(*) AS n FROM m GROUP BY kind) k) AS kinds,
           (SELECT coalesce(json_agg(json_build_object('value', space_id, 'count', n) ORDER BY n DESC, space_id), '[]') FROM (SELECT space_id, count(*) AS n FROM m GROUP BY space_id) s) AS spaces,
           (SELECT coalesce(json_agg(json_build_object('value', tag, 'count', n) ORDER BY n DESC, tag), '[]')
              FROM (SELECT tag, count(*) AS n FROM m, unnest(m.tags) AS tag GROUP BY tag ORDER BY n DESC, tag LIMIT ${TOP_TAGS}) t) AS tags`
      : '';
    // Candidates are at most CANDIDATES matches (the newest, or with words missing, those holding
    // the most weight of them): ranking, totals and facets never cost more than that, however
    // common the words. ts_rank's weights are {D, C, B, A}: title (A)
    // counts most, then tags (B), then the body (C).
    const [row] = await this.ds.query(
      `WITH q AS (
         SELECT $1::tsquery AS en, $2::tsquery AS fr, $3::tsquery AS simple
       ), m AS MATERIALIZED (
         SELECT d.id, d.topic_id, d.post_number, d.space_id, d.kind, d.title, d.tags, d.language, d.created_at,
                ts_rank('{0.05, 0.3, 0.6, 1.0}', d.tsv, ${byLanguage('d.language', (l) => `q.${l}`)}, 1)
                  * CASE WHEN d.accepted THEN 1.5 ELSE 1 END
                  * CASE WHEN d.post_number = 1 THEN 1.25 ELSE 1 END
                  * (1 + 0.1 * ln(1 + d.reactions))
                  * (0.75 + 0.25 / (1 + extract(epoch FROM now() - d.created_at) / 31557600))
                  AS score,
                ${matched} AS matched,
                ${typos} AS typos
           FROM ${byId}, q
          WHERE d.tsv @@ ${byLanguage('d.language', (l) => `q.${l}`)} AND ${where.join(' AND ')}
       ), page AS (
         SELECT m.*, ts_headline(parvis_search_config(m.language), translate(${snippetText}, '<>', '${ANGLES}'),
                  ${byLanguage('m.language', (l) => `q.${l}`)}, '${HEADLINE_OPTIONS}') AS snippet,
                ${lettersAsWritten} AS written
           FROM (SELECT * FROM m ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}) m
           JOIN search_bodies b ON b.id = m.id CROSS JOIN LATERAL (SELECT ${written} AS text) w, q
       )${languagesCte}
       SELECT (SELECT count(*)::int FROM m) AS total,
              (SELECT coalesce(json_agg(json_build_object('id', id, 'topicId', topic_id, 'postNumber', post_number, 'spaceId', space_id,
                        'kind', kind, 'title', title, 'snippet', snippet, 'written', written, 'score', score) ORDER BY ${order}), '[]') FROM page) AS hits
              ${facets}${countColumns}`,
      params,
    );
    if (readCounts) counts.keep(readableCountsOf(row.lexeme_docs, row.prefix_docs, row.readable_docs));
    // Past the cap the total is an estimate (as Meilisearch estimates past 1,000), from the
    // documents the searcher may read alone (see readableEstimate), by the same rule on either
    // path, so that it does not change between pages when the path does: until 2026-12-07 the GIN
    // path's total was the matches it read (up to DENSE) when above the estimate, and the date
    // path's the estimate (a test), which also told a searcher which path the query took.
    if (candidates.capped) row.total = Math.max(CANDIDATES + 1, this.readableEstimate(compiled, await counts.now(), mode, weights));
    const hits: SearchHit[] = (row.hits as Array<Record<string, unknown>>).map((h) => ({
      id: h.id as string,
      topicId: h.topicId as string,
      postNumber: h.postNumber as number,
      spaceId: h.spaceId as string,
      kind: h.kind as string,
      title: h.title as string,
      snippetHtml: snippetHtml(asWritten(h.snippet as string), h.written as string | null, foldLetterVariants, FRAGMENT_SEPARATOR),
      score: Number(h.score),
    }));
    const facetCounts = (v: unknown) => (v as FacetCount[]).map((c) => ({ value: String(c.value), count: Number(c.count) }));
    return {
      hits,
      total: row.total,
      totalIsEstimate: candidates.capped,
      facets: req.facets ? { kinds: facetCounts(row.kinds), spaces: facetCounts(row.spaces), tags: facetCounts(row.tags) } : null,
      engine: this.name,
    };
  }

  /**
   * The newest CANDIDATES matches, or with `rank`, the CANDIDATES matches it scores highest
   * (then the newest). The planner cannot be trusted to choose here (it guesses the frequency
   * of uncommon and misspelt words), so both paths are forced: first the GIN index, reading at
   * most DENSE matches; if there are that many, the words are common and the date index finds
   * the newest matches after a short walk (ranked or not: the statistics were wrong). "Newest" is
   * by date, then id, on every path (the GIN path's order, and the date index's, on
   * `(created_at DESC, id DESC)` since the migration search-documents-newest-by-id: on the date
   * alone, an Incremental Sort above it): a query past CANDIDATES matches takes the same ones whichever
   * path the statistics send it down, so that no page repeats or skips hits of the one before
   * when they change between pages. Until 2026-12-07 the walks took posts of one instant (an
   * import's) in the index's order, and the GIN path by id: other posts at the 1,000th (a test).
   */
  private async candidates(
    { gin, date }: { gin: string[]; date: { tsv: string; filters: string } },
    params: unknown[],
    common: boolean,
    rank: CandidateRank | null,
    rows: number | null = null,
  ): Promise<{ ids: string[]; capped: boolean }> {
    const walk = rows === null ? null : { ...date, rows };
    const dateIndex = `SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on; SET LOCAL enable_bitmapscan = off`;
    // Each path's planner settings go in one round trip (statements without parameters may be several).
    return this.ds.transaction(async (m) => {
      if (common && walk) {
        // The date index, for at most walk.rows rows passing the filters (the last one marked,
        // n = rows, to tell a walk cut short from the documents running out): the statistics may
        // have put in many documents a query that is in few.
        await m.query(dateIndex);
        const rows: Array<{ id: string; hit: boolean; n: string }> = await m.query(
          `SELECT x.id, x.hit, x.n FROM (SELECT d.id, ${walk.tsv} AS hit, row_number() OVER (ORDER BY d.created_at DESC, d.id DESC) AS n
                                          FROM search_documents d WHERE ${walk.filters} ORDER BY d.created_at DESC, d.id DESC LIMIT ${walk.rows}) x
            WHERE x.hit OR x.n = ${walk.rows} LIMIT ${CANDIDATES + 2}`,
          params,
        );
        const newest = rows.filter((r) => r.hit).slice(0, CANDIDATES + 1);
        if (newest.length > CANDIDATES || !rows.some((r) => Number(r.n) === walk.rows)) {
          return { ids: newest.slice(0, CANDIDATES).map((r) => r.id), capped: newest.length > CANDIDATES };
        }
        // Cut short with at most CANDIDATES matches: the GIN index, and past DENSE the whole walk.
        const found = await this.ginCandidates(m, gin, params, null, true);
        if (found.seen < DENSE) return { ids: found.ids, capped: found.seen > CANDIDATES };
      } else if (!common) {
        const found = await this.ginCandidates(m, gin, rank?.params ?? params, rank);
        if (found.seen < DENSE) return { ids: found.ids, capped: found.seen > CANDIDATES };
      }
      await m.query(dateIndex);
      // One match past CANDIDATES tells whether there are more, as the GIN path's count does: exactly
      // CANDIDATES matches are counted as such on either path (statistics choose it, see run).
      // Down the date index whatever the planner's estimate of the match (OFFSET 0 keeps the match
      // out of the walk): each row matched by its own language's query (a CASE, or OR'd arms per
      // language), it estimates it at the default selectivity, or multiplies shares taken as
      // independent of the language, and sorted the spaces' rows instead (150,000 posts: "notre
      // contenu", in 5% of them, 1.4 s against 66-104 ms down the index).
      const newest: Array<{ id: string }> = await m.query(
        `SELECT x.id FROM (SELECT d.id, ${date.tsv} AS hit FROM search_documents d WHERE ${date.filters} ORDER BY d.created_at DESC, d.id DESC OFFSET 0) x
          WHERE x.hit LIMIT ${CANDIDATES + 1}`,
        params,
      );
      const capped = newest.length > CANDIDATES;
      return { ids: newest.slice(0, CANDIDATES).map((r) => r.id), capped };
    });
  }

  /**
   * Up to DENSE matches through the GIN index; PostgreSQL keeps the CANDIDATES of them `rank`
   * (an expression on `d`, over `params`) scores highest, then the newest, and counts them all,
   * so only those ids travel (not thousands of rows to sort here).
   */
  private async ginCandidates(m: EntityManager, matches: string[], params: unknown[], rank: CandidateRank | null, afterWalk = false): Promise<{ ids: string[]; seen: number }> {
    if (matches.length === 0) return { ids: [], seen: 0 };
    // After a date index walk (`afterWalk`), the bitmap scans it turned off go back on.
    // A rank's sub-selects (typosByIndex, `hashed`) are hashed whatever the planner expects of
    // them: not hashed, each is scanned again for every match. hash_mem_multiplier is raised for
    // them (SET LOCAL: the rest of the transaction too, a date walk after a dense read included): until
    // 2026-12-07 every GIN candidates statement ran with it.
    const settings = ['enable_seqscan = off', 'enable_indexscan = off', ...(rank?.hashed ? ['hash_mem_multiplier = 64'] : []), ...(afterWalk ? ['enable_bitmapscan = on'] : [])];
    await m.query(settings.map((x) => `SET LOCAL ${x}`).join('; '));
    const branches = matches.map((match) => `SELECT d.id, d.created_at, ${rank?.sql ?? '0'} AS rank FROM search_documents d WHERE ${match}`);
    // The languages' queries ($1 to $3) are typed in `typed`, which nothing reads: a language not
    // read (no branch) names its parameter nowhere else.
    const rows: Array<{ id: string; seen: number }> = await m.query(
      `WITH typed AS (SELECT $1::tsquery AS en, $2::tsquery AS fr, $3::tsquery AS simple)
       SELECT x.id, count(*) OVER ()::int AS seen
         FROM (${branches.join(' UNION ALL ')} LIMIT ${DENSE}) x
        ORDER BY x.rank DESC, x.created_at DESC, x.id DESC
        LIMIT ${CANDIDATES}`,
      params,
    );
    return { ids: rows.map((r) => r.id), seen: rows[0]?.seen ?? 0 };
  }
}
