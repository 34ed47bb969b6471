/**
 * What a person typed, as terms: plain words, "quoted phrases" and -excluded words or
 * phrases. The last word is a prefix while it is still being typed (no space after it),
 * which makes search-as-you-type work. Words are runs of letters and digits (with the marks
 * written on them): anything else separates them, so no operator syntax of an engine can be
 * injected.
 */
export interface ParsedQuery {
  words: string[];
  phrases: string[][];
  excluded: string[][];
  /** The last plain word, matched as a prefix (also present in `words`). */
  prefix: string | null;
}

/**
 * A word as PostgreSQL's parser reads one: letters and digits, and the marks that follow them
 * (Devanagari vowel signs and viramas, Arabic and Hebrew vowel points, Thai vowels and tones,
 * Japanese voicing marks), which are part of a word, not breaks in it. Superscripts and
 * fractions (`²`, `½`) separate words there, and here.
 */
const WORD = /[\p{L}\p{Nd}\p{Nl}][\p{L}\p{Nd}\p{Nl}\p{M}]*/gu;
const MAX_TERMS = 64;

/**
 * PostgreSQL ignores a word longer than this many bytes, in a document or in a query: a longer
 * word can match nothing and is left out. A shorter one is kept whole, however long: cut, it
 * would be looked for as a word no document holds (a query is 300 characters at most anyway).
 */
const MAX_WORD_BYTES = 2047;

/** The words of a text, lower-cased, as a query reads them (the vocabulary splits documents with it too). */
export function wordsOf(text: string): string[] {
  return (lowerCase(text.normalize('NFC')).match(WORD) ?? []).filter((w) => Buffer.byteLength(w) <= MAX_WORD_BYTES);
}

export function parseQuery(input: string): ParsedQuery {
  const parsed: ParsedQuery = { words: [], phrases: [], excluded: [], prefix: null };
  const re = /(-?)"([^"]*)"?|(-?)([^\s"]+)/g;
  let lastWasPlainWord = false;
  let m: RegExpExecArray | null;
  while ((m = re.exec(input)) !== null) {
    lastWasPlainWord = false;
    if (m[2] !== undefined) {
      const words = wordsOf(m[2]);
      if (words.length === 0) continue;
      if (m[1]) parsed.excluded.push(words);
      else if (words.length === 1) parsed.words.push(words[0]);
      else parsed.phrases.push(words);
    } else {
      const words = wordsOf(m[4]);
      if (words.length === 0) continue;
      if (m[3]) parsed.excluded.push(words);
      else if (words.length > 1) parsed.phrases.push(words); // "e-mail", "v1.2": the parts belong together
      else {
        parsed.words.push(words[0]);
        lastWasPlainWord = true;
      }
    }
  }
  if (lastWasPlainWord && !/\s$/.test(input)) parsed.prefix = parsed.words[parsed.words.length - 1];
  parsed.words = parsed.words.slice(0, MAX_TERMS);
  parsed.phrases = parsed.phrases.slice(0, MAX_TERMS);
  parsed.excluded = parsed.excluded.slice(0, MAX_TERMS);
  if (parsed.prefix && !parsed.words.includes(parsed.prefix)) parsed.prefix = null;
  return parsed;
}

/**
 * Lower case as PostgreSQL's: one character at a time. JavaScript lower-cases a word's last Σ
 * to ς (final sigma) where the index has σ. Its İ becomes i and a combining dot, kept in the
 * word (a mark), which the index's unaccent removes as it does from İ itself.
 */
function lowerCase(text: string): string {
  return text.replace(/Σ/g, 'σ').toLowerCase();
}

/** True when the query asks for something (an exclusion alone matches nothing to rank). */
export function hasPositiveTerms(q: ParsedQuery): boolean {
  return q.words.length > 0 || q.phrases.length > 0;
}
