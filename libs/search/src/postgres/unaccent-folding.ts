import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { lowerCase } from '../query-parser';

/**
 * Letters as the index's `unaccent` reads them, in JavaScript: the vocabulary keeps its words so
 * (`vocabularyWords`) and looks typed words up so, as typo tolerance and completions must meet the
 * words the index holds. `unaccent`'s rules come with the server, and differ between releases
 * (PostgreSQL 16 and later read ª, µ, superscript and mathematical letters and hundreds more that
 * 15 keeps, and 18 reads ℌ as H where 15 read x): they are read off the connected server
 * (`readUnaccentFolding`), never assumed.
 */
export interface UnaccentFolding {
  /**
   * What sets this folding apart from another, as a short string: recorded with the index
   * (search_index_formats), so that a server whose `unaccent` reads letters otherwise (an
   * upgrade from 15 to 18, say) has the vocabulary rebuilt once (`SearchAdmin.upgradeFormat`).
   */
  readonly fingerprint: string;
  /**
   * Text as the index's `unaccent` reads it (once composed, NFC): each letter, digit or mark it
   * reads otherwise as it reads it (é, ø, ß, ª, ᵃ as e, o, ss, a, a; combining accents as
   * nothing), the others as written.
   */
  fold(text: string): string;
  /** A word as `wordsOf` gives them, folded and lower case (ᴀ reads as A): the form vocabulary words are kept and looked up in. */
  word(word: string): string;
  /** Each letter, digit or mark `fold` reads otherwise, with its reading (from which another folding may be made). */
  readonly readings: ReadonlyMap<string, string>;
}

/** What can be in a word (see `wordsOf`): letters, digits, letter numbers and marks. */
const WORD_CHARACTER = /^[\p{L}\p{Nd}\p{Nl}\p{M}]$/u;
const WORD_CHARACTERS = /^[\p{L}\p{Nd}\p{Nl}\p{M}]*$/u;

/**
 * A folding from the server's readings of single code points (what `unaccent` gives for each one
 * it changes). `unaccent` replaces each character of a text on its own (its rules have one
 * character on the left, on every release), so those readings fold any text as it does. Only
 * characters that can be in a word, read as such characters (or as nothing: combining accents),
 * are folded: the others cannot be in a vocabulary word (² or ½, read as 2 or 1/2, separate
 * words before unaccent sees them), and a letter read as a sign (ŉ as 'n, the modifier letters
 * ʼ and ʻ as ') is kept in the index's word with it, which no typed word without it reaches:
 * such letters stay as written wherever words are looked up.
 */
export function unaccentFolding(readings: Iterable<readonly [string, string]>): UnaccentFolding {
  const table = new Map<string, string>();
  for (const [letter, reading] of readings) {
    if (WORD_CHARACTER.test(letter) && WORD_CHARACTERS.test(reading) && reading !== letter) table.set(letter, reading);
  }
  const sorted = [...table].sort(([a], [b]) => a.codePointAt(0)! - b.codePointAt(0)!);
  const fingerprint = createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
  const foldable = table.size ? new RegExp(`[${sorted.map(([letter]) => `\\u{${letter.codePointAt(0)!.toString(16)}}`).join('')}]`, 'gu') : null;
  const fold = (text: string) => {
    const composed = text.normalize('NFC');
    return foldable ? composed.replace(foldable, (letter) => table.get(letter)!) : composed;
  };
  return { fingerprint, fold, word: (word) => lowerCase(fold(word)), readings: table };
}

/**
 * The code points whose readings are read off the server, as ranges: the Basic Multilingual
 * Plane and the Supplementary one (every script written with letters, the mathematical and other
 * font letters among them), and the tags and variation selectors of plane 14, but not the
 * surrogates, nor the Chinese characters of planes 2 and 3 (each a word of its own, never a
 * vocabulary word, see `wordsOf`) and the private use planes. Newline separates the characters
 * given to `unaccent` at once (`readUnaccentFolding`), and is no letter.
 */
const READ_RANGES: Array<[number, number]> = [
  [0x0001, 0x0009], [0x000b, 0xd7ff], [0xe000, 0x1ffff], [0xe0000, 0xe0fff],
];
/** How many characters are given to `unaccent` at once (some hundred calls, not a hundred thousand). */
const READ_CHUNK = 1024;

/**
 * The connected server's folding (see `unaccentFolding`), read in one statement: the characters
 * of READ_RANGES are given to `unaccent` a chunk at a time, joined by newlines, and only the
 * chunks it changes come back (about a dozen), to be compared character by character here.
 * Some 30 to 80 ms of the server's time on PostgreSQL 15, 70 to 190 ms on the embedded 18 (more
 * rules), on a busy machine (one call per character took about twice as long, and reading all
 * seventeen planes ten times as long); an engine reads it once in a while
 * (`ServerFolding`).
 */
export async function readUnaccentFolding(ds: DataSource): Promise<UnaccentFolding> {
  const rows: Array<{ written: string; unaccented: string }> = await ds.query(
    `SELECT x.written, x.unaccented
       FROM unnest($1::int[], $2::int[]) AS r(first, last),
            generate_series(r.first, r.last, $3) AS s(start),
            LATERAL (SELECT string_agg(chr(c), E'\\n') AS written FROM generate_series(s.start, least(s.start + $3 - 1, r.last)) AS c) AS chunk,
            LATERAL (SELECT chunk.written, unaccent(chunk.written) AS unaccented) AS x
      WHERE x.unaccented <> x.written`,
    [READ_RANGES.map(([first]) => first), READ_RANGES.map(([, last]) => last), READ_CHUNK],
  );
  const readings: Array<[string, string]> = [];
  for (const { written, unaccented } of rows) {
    const letters = written.split('\n');
    const read = unaccented.split('\n');
    // Never so on any release (no rule reads a newline or as one), but a folding read wrong would be worse than none.
    if (read.length !== letters.length) throw new Error('unaccent read a newline otherwise: its foldings cannot be read one by one');
    letters.forEach((letter, i) => {
      if (read[i] !== letter) readings.push([letter, read[i]]);
    });
  }
  return unaccentFolding(readings);
}

/**
 * How long a process folds letters with the server's `unaccent` rules as it read them (see
 * `ServerFolding`): a server upgraded under running processes (from 15 to 18, say) has its new
 * rules followed within the hour by each of them.
 */
const FOLDING_TTL_MS = 3600_000;
/** How soon a folding read again after FOLDING_TTL_MS, that failed, is tried once more. */
const FOLDING_RETRY_MS = 60_000;
/** How long a read of the folding is waited for before it counts as failed. */
const FOLDING_READ_WAIT_MS = 60_000;

/**
 * The server's letter folding could not be read (the read failed, or did not answer within a
 * minute) when nothing was held yet: whatever needs it cannot go on, whichever engine it is for
 * (Meilisearch's documents and queries are folded with it as PostgreSQL's vocabulary is), so a
 * Meilisearch query failing so is not sent to PostgreSQL (`SearchService.query`).
 */
export class FoldingUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the letter folding could not be read: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'FoldingUnavailableError';
  }
}

/**
 * The connected server's letter folding as a process holds it (`current`): read on first use (a
 * fifth of a second at most, see `readUnaccentFolding`; the application reads it at start-up, see
 * `SearchEngines`), and again, in the background, once FOLDING_TTL_MS has passed. That is the one
 * way it is read again: every use of it (queries, writes, the hourly `search-index-format` job
 * and rebuilds, which record its fingerprint) takes it from here. Each process (API, worker, CLI)
 * reads its own, from the one server they share.
 */
export class ServerFolding {
  /** The folding as last read (or being read), and when. */
  private lastRead: { at: number; folding: Promise<UnaccentFolding> } | null = null;
  /** The read once FOLDING_TTL_MS has passed, under way, if one is (see `current`). */
  private refresh: Promise<void> | null = null;
  /** FOLDING_READ_WAIT_MS (a field, so that a test need not wait a minute). */
  private readonly readWaitMs = FOLDING_READ_WAIT_MS;

  constructor(private readonly ds: DataSource) {}

  /** The folding as last read, read first if it never was (or its first read failed). */
  current(): Promise<UnaccentFolding> {
    const last = this.lastRead;
    if (!last) return this.readFirst();
    if (Date.now() - last.at >= FOLDING_TTL_MS && !this.refresh) {
      // Read again beside the request, which goes on with the rules as last read: no search or
      // write waits for the read once an hour. A failed read keeps them, and is tried again a
      // minute later.
      this.refresh = this.readWithin()
        .then(
          (folding) => {
            if (this.lastRead === last) this.lastRead = { at: Date.now(), folding: Promise.resolve(folding) };
          },
          () => {
            last.at = Date.now() - FOLDING_TTL_MS + FOLDING_RETRY_MS;
          },
        )
        .finally(() => {
          this.refresh = null;
        });
    }
    return last.folding;
  }

  /**
   * One read of the folding, given up on after `readWaitMs` as a failed one is: a database that
   * stopped answering neither keeps a first use (a job's, a search's) nor the hourly refresh
   * waiting for ever, nor stops later reads from being tried.
   */
  private readWithin(): Promise<UnaccentFolding> {
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer after ${this.readWaitMs} ms`)), this.readWaitMs);
      timer.unref();
    });
    return Promise.race([readUnaccentFolding(this.ds), givenUp])
      .catch((err: unknown) => {
        throw new FoldingUnavailableError(err);
      })
      .finally(() => clearTimeout(timer));
  }

  private readFirst(): Promise<UnaccentFolding> {
    const read = { at: Date.now(), folding: this.readWithin() };
    this.lastRead = read;
    // A read that failed (the database out of reach) is not kept: the next use reads again.
    read.folding.catch(() => {
      if (this.lastRead === read) this.lastRead = null;
    });
    return read.folding;
  }
}
