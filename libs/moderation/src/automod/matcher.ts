import { createContext, Script } from 'node:vm';

export type RuleKind = 'WORD' | 'REGEX';

/**
 * Marks that only accent a letter, as unaccent folds them: Latin, Greek and Cyrillic
 * diacritics, Hebrew points and cantillation, Arabic vowel signs. Other scripts' marks are
 * part of their letters and stay: Devanagari's vowel signs, the kana voicing marks (ばか is
 * not はか). The Hebrew block's punctuation stays too: the maqaf joins two words as a hyphen
 * does, and folding it away made one word of them.
 */
const ACCENTS =
  /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u064b-\u065f\u0670\u06d6-\u06ed]/gu;

/**
 * What reads as nothing: invisible format characters (zero-width spaces and joiners, soft
 * hyphens), letters drawn blank (the Hangul fillers), the blank Braille pattern, and the
 * Arabic tatweel, which only stretches the line between two letters (كـلمة is كلمة).
 */
const BLANKS = /[\p{Cf}\u115f\u1160\u3164\uffa0\u2800\u0640]/gu;

/**
 * Lower-case letters of other scripts drawn like Latin ones, read as those: "sp\u0430m" with a
 * Cyrillic а is "spam" to a reader. A conservative part of Unicode's confusables: only letters
 * that look the same in common fonts.
 */
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  '\u0430': 'a', '\u0435': 'e', '\u043e': 'o', '\u0440': 'p', '\u0441': 'c', '\u0443': 'y', '\u0445': 'x', '\u0455': 's',
  '\u0456': 'i', '\u0458': 'j', '\u04bb': 'h', '\u0501': 'd', '\u051b': 'q', '\u051d': 'w', '\u04cf': 'l',
  '\u03bf': 'o', '\u03bd': 'v', '\u03c1': 'p', '\u03b9': 'i', '\u03ba': 'k', '\u03c5': 'u', '\u03c7': 'x',
};
const LOOK_ALIKE = new RegExp(`[${Object.keys(LOOK_ALIKES).join('')}]`, 'gu');

/**
 * Arabic letters written for one another at will, read as search reads them: alef wasla as
 * alef, alef maksura as yeh, teh marbuta as heh (مدرسه is مدرسة). The hamza forms of alef need
 * no entry: NFKD splits their hamza off, and it is folded away with the other marks.
 */
const ARABIC_FORMS: Readonly<Record<string, string>> = { '\u0671': '\u0627', '\u0649': '\u064a', '\u0629': '\u0647' };
const ARABIC_FORM = /[\u0671\u0649\u0629]/gu;

/**
 * Lower-case, accents, look-alike letters and Arabic letter forms folded, blank characters
 * gone, with a map back to the original text.
 */
export function fold(text: string): { folded: string; origin: number[] } {
  let folded = '';
  const origin: number[] = [];
  let i = 0;
  for (const ch of text) {
    const f = ch.normalize('NFKD').replace(ACCENTS, '').replace(BLANKS, '').toLowerCase().replace(LOOK_ALIKE, (c) => LOOK_ALIKES[c]).replace(ARABIC_FORM, (c) => ARABIC_FORMS[c]);
    for (let k = 0; k < f.length; k++) origin.push(i);
    folded += f;
    i += ch.length;
  }
  origin.push(i);
  return { folded, origin };
}

/** A word's characters: letters, the marks that are part of them (Devanagari's vowel signs), digits. */
const WORD_CHAR = '[\\p{L}\\p{M}\\p{N}_]';

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Scripts written without spaces between words: a watched word in them is found inside a run of text. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * A watched word as a regular expression: `*` is a wildcard, whole words only, where words
 * are spaced (an end in Chinese, Japanese or Thai matches next to any letter).
 */
export function wordToRegex(word: string): string {
  const folded = fold(word.trim()).folded;
  const body = folded
    .split('*')
    .map((part) => escapeRegex(part).replace(/\s+/g, '\\s+'))
    .join(`${WORD_CHAR}*`);
  const letters = [...folded.replace(/\*/g, '')];
  const before = letters.length && UNSPACED.test(letters[0]) ? '' : `(?<!${WORD_CHAR})`;
  const after = letters.length && UNSPACED.test(letters[letters.length - 1]) ? '' : `(?!${WORD_CHAR})`;
  return `${before}${body}${after}`;
}

/**
 * A REGEX rule made to match folded text as a WORD rule does: each non-ASCII character is
 * folded (and escaped, since `…` folds to `...`); ASCII is left alone, as it carries the syntax.
 */
function foldPattern(pattern: string): string {
  let out = '';
  for (const ch of pattern) out += ch.charCodeAt(0) < 128 ? ch : escapeRegex(fold(ch).folded);
  return out;
}

export function compile(kind: RuleKind, pattern: string): RegExp {
  return new RegExp(kind === 'WORD' ? wordToRegex(pattern) : foldPattern(pattern), 'giu');
}

export class MatchTimeout extends Error {}

/**
 * One context and one compiled script for every run: a new context per post cost about
 * 1.8 ms, reusing one about 0.4 ms. Runs are synchronous, so they never share it at once,
 * and an interrupted run leaves it usable.
 */
const sandbox = createContext({ rules: null as RegExp[] | null, texts: null as string[] | null });
const MATCH_SCRIPT = new Script(
  `texts.map((text) => rules.map((r) => { const out = []; r.lastIndex = 0; let m;
     while ((m = r.exec(text)) !== null) { out.push([m.index, m.index + m[0].length]); if (m[0].length === 0) r.lastIndex++; }
     return out; }))`,
);

/** Per text, per rule: the [start, end) ranges the rule matched in that (folded) text. */
export type Matches = Array<Array<Array<[number, number]>>>;

/**
 * Runs every rule over each folded text in one run inside a VM context with a time budget
 * (one budget for all the texts: a post's body, title and tags share it): a catastrophic
 * pattern is interrupted instead of stalling the request.
 *
 * The budget is wall-clock time, and a busy machine can stall any run past it; with
 * `retryBudgetMs`, an overrun is believed only when a second run with that budget
 * overruns too (a catastrophic pattern overruns any budget).
 */
export function matchAll(rules: RegExp[], texts: string[], budgetMs: number, opts: { retryBudgetMs?: number } = {}): Matches {
  try {
    return matchWithin(rules, texts, budgetMs);
  } catch (err) {
    if (!(err instanceof MatchTimeout) || !opts.retryBudgetMs) throw err;
    return matchWithin(rules, texts, opts.retryBudgetMs);
  }
}

function matchWithin(rules: RegExp[], texts: string[], budgetMs: number): Matches {
  try {
    sandbox.rules = rules;
    sandbox.texts = texts;
    return MATCH_SCRIPT.runInContext(sandbox, { timeout: budgetMs }) as Matches;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new MatchTimeout('watched-word matching ran out of time');
    throw err;
  } finally {
    sandbox.rules = null;
    sandbox.texts = null;
  }
}

/** The longest text a rule is run over: a post's or an article's body (BODY_MAX). */
const LONGEST_TEXT = 100_000;

/**
 * Inputs that make backtracking-prone patterns blow up, `n` characters long: short ones catch
 * exponential patterns; ones as long as a post catch quadratic ones (`\w+@\w+`, `.*x`), which
 * try from every position to the end of a run: fast on 3,000 characters, seconds on 100,000.
 */
const adversarial = (n: number) => ['a'.repeat(n) + '!', '1'.repeat(n) + 'x', ' '.repeat(n) + '!', 'ab'.repeat(n / 2) + '!'];

/** Why a pattern is refused, or null. Regexes must compile and stay fast on hostile input. */
export function validatePattern(kind: RuleKind, pattern: string, budgetMs = 25): string | null {
  let re: RegExp;
  try {
    re = compile(kind, pattern);
  } catch (err) {
    return `is not a valid pattern: ${(err as Error).message}`;
  }
  if (re.test('')) return 'matches empty text';
  // Also runs of each literal character the pattern names: that is what nested quantifiers choke on.
  const literals = [...new Set(pattern.replace(/\\./g, '').match(/[\p{L}\p{N}]/gu) ?? [])].slice(0, 12);
  const runsOf = (n: number) => [...adversarial(n), ...literals.map((c) => c.repeat(n) + '!')];
  const inputs = ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u0000', ...literals.map((c) => c.repeat(40) + '!'), ...runsOf(3000), ...runsOf(LONGEST_TEXT)];
  try {
    for (const s of inputs) matchAll([re], [s], budgetMs, { retryBudgetMs: budgetMs * 10 });
  } catch (err) {
    if (err instanceof MatchTimeout) return 'is too slow on some inputs (catastrophic backtracking, or a retry from every position of a long text); simplify it';
    throw err;
  }
  return null;
}
