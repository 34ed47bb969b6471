/**
 * What a person typed, as terms: plain words, "quoted phrases" and -excluded words or
 * phrases, each once, where it first stands (see parseQuery). The last word is a prefix while
 * it is still being typed (no space after it), which makes search-as-you-type work. Words are
 * runs of letters and digits (with the marks written on them): anything else separates them,
 * so no operator syntax of an engine can be injected.
 */
export interface ParsedQuery {
  words: string[];
  phrases: string[][];
  excluded: string[][];
  /** The last plain word, matched as a prefix (also present in `words`). */
  prefix: string | null;
  /**
   * How many times each positive term was typed: the words', then the phrases'. A query missing
   * words is ranked by the rarity of the terms a document holds, each counted as many times as
   * typed: a pasted question repeats its key words (counting them once lowered MAP on the
   * SemEval-2016 file, see docs/architecture.md).
   */
  times: number[];
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

/**
 * Letters of the scripts written without spaces between words: Thai, Japanese kana and Chinese
 * characters (kanji, hanzi; with the iteration marks 々 and ゝ and the prolonged sound mark ー).
 * PostgreSQL's parser keeps a whole run of them, often a whole sentence, as one word, and no
 * dictionary of ours can segment it: each of these letters, with the marks written on it (Thai
 * vowels and tones, Japanese voicing marks, variation selectors), is a word of its own instead,
 * in documents and in queries, and a run typed in a query is the phrase of its letters. Any
 * part of a sentence is then found, and only where its letters stand together. Korean (Hangul)
 * is left out: it is written with spaces between words, which PostgreSQL reads as it reads
 * Latin ones (with completions and typo tolerance). Ranges of code points, so that SQL can
 * match them too (`SEGMENTED_UNIT_SQL`).
 */
const SEGMENTED_LETTERS: Array<[number, number]> = [
  [0x0e01, 0x0e30], [0x0e32, 0x0e33], [0x0e40, 0x0e46], // Thai (not its digits)
  [0x3005, 0x3007], [0x3021, 0x3029], [0x3038, 0x303b], // 々 〆 〇 and Han numerals
  [0x3041, 0x3096], [0x309d, 0x309f], [0x30a1, 0x30fa], [0x30fc, 0x30ff], [0x31f0, 0x31ff], [0xff66, 0xff9f], // kana
  [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xf900, 0xfaff], [0x20000, 0x323af], // Han
];
const SEGMENTED_MARKS: Array<[number, number]> = [
  [0x0e31, 0x0e31], [0x0e34, 0x0e3a], [0x0e47, 0x0e4e], [0x3099, 0x309a], [0xfe00, 0xfe0f], [0xe0100, 0xe01ef],
];
/**
 * Marks that Arabic and Hebrew writers put in or leave out at will, and readers look past: the
 * Arabic vowel marks (harakat, with shadda and sukun), the superscript alef and the tatweel that
 * stretches a line; the Hebrew points (niqqud) and cantillation. They are folded away in the
 * text indexed, in the vocabulary and in queries alike, so كتاب finds كِتَاب and שָׁלוֹם finds
 * שלום. No other mark is: a Devanagari virama or a Japanese voicing mark makes another word.
 * Letters stay (the Hebrew maqaf and other punctuation in that block are not marks).
 */
const OPTIONAL_MARKS: Array<[number, number]> = [
  [0x0591, 0x05bd], [0x05bf, 0x05bf], [0x05c1, 0x05c2], [0x05c4, 0x05c5], [0x05c7, 0x05c7], // Hebrew points and cantillation
  [0x0640, 0x0640], [0x064b, 0x0652], [0x0670, 0x0670], // Arabic tatweel, harakat, superscript alef
];
/**
 * Arabic letters written in more than one form, which writers use alike and readers (like
 * Meilisearch's tokenizer and Lucene's Arabic normalizer) read as one letter: alef with madda,
 * with hamza above or below and alef wasla as alef (أحمد, احمد); alef maksura as yeh (على,
 * علي); teh marbuta as heh (مدرسة, مدرسه). Each variant is read as its base letter in the text
 * indexed, in the vocabulary and in queries alike, once composed (NFC: an alef and a hamza
 * written apart are أ first). Letters that carry a hamza otherwise (ؤ, ئ) stay. One letter
 * for one, so a text keeps its length: a snippet cut from the text as indexed shows the letters
 * as written again (`LETTER_VARIANT_SQL`). Pairs of code points, variant and base letter.
 */
const LETTER_VARIANTS: Array<[number, number]> = [
  [0x0622, 0x0627], [0x0623, 0x0627], [0x0625, 0x0627], // alef with madda, with hamza above, with hamza below: alef
  [0x0629, 0x0647], // teh marbuta: heh
  [0x0649, 0x064a], // alef maksura: yeh
  [0x0671, 0x0627], // alef wasla: alef
];
const hex = (c: number) => c.toString(16).padStart(c > 0xffff ? 8 : 4, '0');
const jsRanges = (ranges: Array<[number, number]>) => ranges.map(([a, b]) => `\\u{${a.toString(16)}}-\\u{${b.toString(16)}}`).join('');
const sqlRanges = (ranges: Array<[number, number]>) => ranges.map(([a, b]) => [a, b].map((c) => (c > 0xffff ? `\\U${hex(c)}` : `\\u${hex(c)}`)).join('-')).join('');
const SEGMENTED_UNIT = new RegExp(`[${jsRanges(SEGMENTED_LETTERS)}][${jsRanges(SEGMENTED_MARKS)}]*`, 'gu');
const SEGMENTED_LETTER = new RegExp(`[${jsRanges(SEGMENTED_LETTERS)}]`, 'u');
const STARTS_A_WORD = /^[\p{L}\p{Nd}\p{Nl}]/u;
/** `SEGMENTED_UNIT` as a PostgreSQL regular expression. */
export const SEGMENTED_UNIT_SQL = `[${sqlRanges(SEGMENTED_LETTERS)}][${sqlRanges(SEGMENTED_MARKS)}]*`;

const OPTIONAL_MARK = new RegExp(`[${jsRanges(OPTIONAL_MARKS)}]+`, 'gu');
/** `OPTIONAL_MARKS` as a PostgreSQL regular expression. */
export const OPTIONAL_MARK_SQL = `[${sqlRanges(OPTIONAL_MARKS)}]+`;

const LETTER_VARIANT = new RegExp(`[${jsRanges(LETTER_VARIANTS.map(([variant]) => [variant, variant]))}]`, 'gu');
const BASE_LETTER = new Map(LETTER_VARIANTS.map(([variant, base]) => [String.fromCodePoint(variant), String.fromCodePoint(base)]));
/** `LETTER_VARIANTS` as the two strings of a PostgreSQL `translate(text, from, to)`. */
export const LETTER_VARIANT_SQL = {
  from: String.fromCodePoint(...LETTER_VARIANTS.map(([variant]) => variant)),
  to: String.fromCodePoint(...LETTER_VARIANTS.map(([, base]) => base)),
};

/** Text with each Arabic letter variant as its base letter (see `LETTER_VARIANTS`), one letter for one. */
export function foldLetterVariants(text: string): string {
  return text.replace(LETTER_VARIANT, (variant) => BASE_LETTER.get(variant)!);
}

/**
 * Text as it is indexed and looked for: without the optional marks of Arabic and Hebrew (see
 * `OPTIONAL_MARKS`), and with the Arabic letter variants as their base letters (see
 * `LETTER_VARIANTS`). Given composed text (NFC).
 */
export function foldOptionalForms(text: string): string {
  return foldLetterVariants(text.replace(OPTIONAL_MARK, ''));
}

/** True when a text holds Arabic or Hebrew letters, whose snippets are cut from the text as indexed (see `foldOptionalForms`). */
export function holdsArabicOrHebrew(text: string): boolean {
  return /[\p{Script=Arabic}\p{Script=Hebrew}]/u.test(text);
}

/** True when a word (as `wordsOf` gives them) is one letter of a script written without spaces. */
export function isSegmented(word: string): boolean {
  return SEGMENTED_LETTER.test(word);
}

/** Text with `separator` on either side of each letter of the scripts written without spaces. */
export function separateSegmented(text: string, separator: string): string {
  return SEGMENTED_LETTER.test(text) ? text.replace(SEGMENTED_UNIT, `${separator}$&${separator}`) : text;
}

/**
 * The words of a text, lower-cased, without the optional marks of Arabic and Hebrew and with
 * the Arabic letter variants as their base letters, as a query reads them (the vocabulary
 * splits documents with it too).
 */
export function wordsOf(text: string): string[] {
  return (lowerCase(foldOptionalForms(text.normalize('NFC'))).match(WORD) ?? [])
    .flatMap((w) => (SEGMENTED_LETTER.test(w) ? separateSegmented(w, ' ').split(' ').filter((x) => STARTS_A_WORD.test(x)) : [w]))
    .filter((w) => Buffer.byteLength(w) <= MAX_WORD_BYTES);
}

/**
 * A word, phrase or exclusion typed again is left out: it is the same term, looked for where it
 * first stands, so it is required once and picks candidates once, as in Meilisearch (which is
 * given the query as typed, and where a document holding a word holds each copy of it); how many
 * times it was typed is kept (`times`) for ranking a query missing words. A word typed in full
 * and again last, still being typed, is that word in full: no prefix (a document holding the
 * word holds the prefix too). A phrase's own words stay as typed ("knock knock").
 */
export function parseQuery(input: string): ParsedQuery {
  const parsed: ParsedQuery = { words: [], phrases: [], excluded: [], prefix: null, times: [] };
  const re = /(-?)"([^"]*)"?|(-?)([^\s"]+)/g;
  // How many times a term was typed, by its words (which hold no space) and its minus: a word is one, a phrase more.
  const typed = new Map<string, number>();
  const typedBefore = (minus: string, words: string[]) => {
    const key = `${minus}${words.join(' ')}`;
    const times = typed.get(key) ?? 0;
    typed.set(key, times + 1);
    return times > 0;
  };
  let lastWasPlainWord = false;
  let m: RegExpExecArray | null;
  while ((m = re.exec(input)) !== null) {
    lastWasPlainWord = false;
    if (m[2] !== undefined) {
      const words = wordsOf(m[2]);
      if (words.length === 0 || typedBefore(m[1], words)) continue;
      if (m[1]) parsed.excluded.push(words);
      else if (words.length === 1) parsed.words.push(words[0]);
      else parsed.phrases.push(words);
    } else {
      const words = wordsOf(m[4]);
      if (words.length === 0 || typedBefore(m[3], words)) continue;
      if (m[3]) parsed.excluded.push(words);
      else if (words.length > 1) parsed.phrases.push(words); // "e-mail", "v1.2": the parts belong together
      else {
        parsed.words.push(words[0]);
        lastWasPlainWord = true;
      }
    }
  }
  // A letter of Chinese, Japanese or Thai is no prefix: a run is matched wherever it stands
  // (its letters are words, in a phrase), the start of a longer one included.
  if (lastWasPlainWord && !/\s$/.test(input) && !isSegmented(parsed.words[parsed.words.length - 1])) parsed.prefix = parsed.words[parsed.words.length - 1];
  parsed.words = parsed.words.slice(0, MAX_TERMS);
  parsed.phrases = parsed.phrases.slice(0, MAX_TERMS);
  parsed.excluded = parsed.excluded.slice(0, MAX_TERMS);
  if (parsed.prefix && !parsed.words.includes(parsed.prefix)) parsed.prefix = null;
  parsed.times = [...parsed.words.map((w) => [w]), ...parsed.phrases].map((words) => typed.get(words.join(' '))!);
  return parsed;
}

/**
 * Lower case as PostgreSQL's: one character at a time. JavaScript lower-cases a word's last Σ
 * to ς (final sigma) where the index has σ. Its İ becomes i and a combining dot, kept in the
 * word (a mark), which the index's unaccent removes as it does from İ itself.
 */
export function lowerCase(text: string): string {
  return text.replace(/Σ/g, 'σ').toLowerCase();
}

/** How many of a title's words a search for similar topics uses. */
const TITLE_TERMS = 12;

/**
 * The words a title is matched on when looking for similar topics or related articles, where
 * every word counts and none is required: its words, and the words of its joined words and of
 * its runs of Chinese, Japanese or Thai (which parseQuery reads as phrases), each once.
 */
export function titleTerms(title: string): string[] {
  const q = parseQuery(title);
  return [...new Set([...q.words, ...q.phrases.flat()])].slice(0, TITLE_TERMS);
}

/** True when the query asks for something (an exclusion alone matches nothing to rank). */
export function hasPositiveTerms(q: ParsedQuery): boolean {
  return q.words.length > 0 || q.phrases.length > 0;
}
