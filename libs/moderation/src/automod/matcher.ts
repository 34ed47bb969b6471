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
/** A watched word's `*`: any run of a word's characters. */
const WILDCARD = `${WORD_CHAR}*`;

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Scripts written without spaces between words: a watched word in them is found inside a run of text. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * A watched word as a regular expression: `*` is a wildcard, whole words only, where words
 * are spaced (an end in Chinese, Japanese or Thai matches next to any letter).
 */
export function wordToRegex(word: string): string {
  const { before, body, after } = wordParts(word);
  return `${before}${body}${after}`;
}

/** wordToRegex's parts: what must not come before the word (nothing, or a letter), the word, what must not come after it. */
function wordParts(word: string): { before: string; body: string; after: string } {
  const folded = fold(word.trim()).folded;
  const body = folded
    .split('*')
    .map((part) => escapeRegex(part).replace(/\s+/g, '\\s+'))
    .join(WILDCARD);
  const letters = [...folded.replace(/\*/g, '')];
  const before = letters.length && UNSPACED.test(letters[0]) ? '' : `(?<!${WORD_CHAR})`;
  const after = letters.length && UNSPACED.test(letters[letters.length - 1]) ? '' : `(?!${WORD_CHAR})`;
  return { before, body, after };
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

/** A rule as matchAll needs it: what it is and what it says. */
export interface RuleSpec {
  kind: RuleKind;
  pattern: string;
}

/**
 * Rules compiled for matchAll: each on its own (`each`, in the rules' order), and the WORD ones
 * also as a few alternations (`words`), which find in one pass each over a text which of them
 * match anywhere in it; only those are then run on their own for their matches. REGEX rules
 * are run on their own always: their groups, backreferences and anchors are theirs alone.
 */
export interface CompiledRules {
  each: RegExp[];
  words: WordBlock[];
  /** Whether rule i is in one of `words` (and is run only if its block found it). */
  inBlock: boolean[];
}

/**
 * WORD rules (`members`, their indexes in `each`) with the same boundaries (`before` and
 * `after`: whole word, or none on a side in a script written without spaces) as one
 * alternation, `before(?:(w1)|(w2)|…)after`: a match names, by its group, the first member that
 * matches where it starts (members before it do not match there). `single` holds each member
 * alone: for the members after the one named that match at the same place too.
 */
interface WordBlock {
  members: number[];
  scan: RegExp;
  single: Single[];
}

/**
 * A member alone, tried where the alternation matched (so `before` holds there). A word without
 * wildcards has one match length, so `after` is checked on the character after it (`edge`),
 * which keeps its regex cheap to compile (a class of all letters costs V8 about 0.5 ms each
 * time; a post naming one word would pay it for every later member of its block). One with
 * wildcards keeps `after` in its regex (backtracking may need it), made when first needed.
 */
interface Single {
  source: string;
  re?: RegExp;
  edge: boolean;
}

const WORD_CHAR_AT = new RegExp(WORD_CHAR, 'uy');

function single(body: string, after: string): Single {
  if (body.includes(WILDCARD)) return { source: `${body}${after}`, edge: false };
  return { source: body, re: new RegExp(body, 'iuy'), edge: after !== '' };
}

/** Whether `one` matches `text` at `at`. */
function singleAt(one: Single, text: string, at: number): boolean {
  const re = (one.re ??= new RegExp(one.source, 'iuy'));
  re.lastIndex = at;
  if (!re.test(text)) return false;
  if (!one.edge) return true;
  WORD_CHAR_AT.lastIndex = re.lastIndex;
  return !WORD_CHAR_AT.test(text);
}

/**
 * Members per alternation, and the most characters of regex source in one: V8 does not optimize
 * a regex of more than 20 kB of source (2,000 words in one alternation, 31 kB: 80 ms over
 * 100,000 characters; 500 in one, 8 kB: 1-2 ms).
 */
const BLOCK_MEMBERS = 128;
const BLOCK_SOURCE = 12_000;

function wordBlocks(rules: RuleSpec[]): WordBlock[] {
  const groups = new Map<string, Array<{ i: number; body: string }>>();
  rules.forEach((r, i) => {
    if (r.kind !== 'WORD') return;
    const { before, body, after } = wordParts(r.pattern);
    const key = `${before}\u0000${after}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push({ i, body });
  });
  const blocks: WordBlock[] = [];
  for (const [key, words] of groups) {
    const [before, after] = key.split('\u0000');
    let chunk: typeof words = [];
    let size = 0;
    const close = () => {
      if (chunk.length === 0) return;
      const scan = new RegExp(`${before}(?:${chunk.map((w) => `(${w.body})`).join('|')})${after}`, 'giu');
      // Run twice on short texts, so V8 compiles it to machine code now, outside any post's time budget: a regex is interpreted on its
      // first run, slowly (500 words over 100,000 characters: 100 ms and more), and compiled for one-byte and two-byte strings apart.
      for (const text of ['x', 'x', 'x\u0100', 'x\u0100']) scan.exec(text);
      scan.lastIndex = 0;
      blocks.push({ members: chunk.map((w) => w.i), scan, single: chunk.map((w) => single(w.body, after)) });
      chunk = [];
      size = 0;
    };
    for (const w of words) {
      if (chunk.length >= BLOCK_MEMBERS || size + w.body.length + 3 > BLOCK_SOURCE) close();
      chunk.push(w);
      size += w.body.length + 3;
    }
    close();
  }
  return blocks;
}

/** Compiled rule sets by their rules (kinds and patterns, in order): a changed, added or removed rule is another key. */
const COMPILED = new Map<string, CompiledRules>();
const COMPILED_KEPT = 64;

/**
 * `rules` compiled for matchAll, once per set of rules: the set last compiled for the same rules
 * (kinds and patterns, in the same order) is reused, so a space's rules are compiled when they
 * change (or when a process first screens with them), not for every post.
 */
export function compileRules(rules: RuleSpec[]): CompiledRules {
  const key = JSON.stringify(rules.map((r) => [r.kind, r.pattern]));
  const cached = COMPILED.get(key);
  if (cached) {
    // Most recently used last: the first key is the one to drop.
    COMPILED.delete(key);
    COMPILED.set(key, cached);
    return cached;
  }
  const words = wordBlocks(rules);
  const inBlock = rules.map(() => false);
  for (const block of words) for (const i of block.members) inBlock[i] = true;
  const compiled: CompiledRules = { each: rules.map((r) => compile(r.kind, r.pattern)), words, inBlock };
  COMPILED.set(key, compiled);
  if (COMPILED.size > COMPILED_KEPT) COMPILED.delete(COMPILED.keys().next().value!);
  return compiled;
}

/** The index, among the alternation's groups, of the one that matched. */
function groupOf(m: RegExpExecArray): number {
  for (let g = 1; g < m.length; g++) if (m[g] !== undefined) return g - 1;
  return -1;
}

/**
 * Which of `block`'s members match anywhere in `text` (added to `found`, as rule indexes): where
 * its alternation matches, the member it names and every later one that matches there too; then
 * on from the next character, since matches of different words overlap ("foo" and "foo bar",
 * "bar" inside "foo bar"). An alternation matches wherever any of its alternatives does, so
 * this finds exactly the members that match somewhere. Past TRIES_PER_MEMBER tries a member,
 * those not found yet are decided by their own regexes (`each`) over the whole text, so a
 * watched word repeated all through a post costs no more than the rules run one by one.
 */
function wordsIn(block: WordBlock, each: RegExp[], text: string, found: Set<number>): void {
  const { scan, members } = block;
  const seen = new Set<number>();
  scan.lastIndex = 0;
  let m: RegExpExecArray | null;
  let tries = 0;
  while (seen.size < members.length && (m = scan.exec(text)) !== null) {
    const at = m.index;
    seen.add(groupOf(m));
    for (let k = groupOf(m) + 1; k < members.length; k++) {
      if (seen.has(k)) continue;
      if (singleAt(block.single[k], text, at)) seen.add(k);
      tries++;
    }
    if (tries > TRIES_PER_MEMBER * members.length) {
      // An early member recurring all through the text (a common watched word) would have the
      // later ones tried at each place: those not found yet are each run once over it instead.
      for (let k = 0; k < members.length; k++) {
        if (seen.has(k)) continue;
        const re = each[members[k]];
        re.lastIndex = 0;
        if (re.test(text)) seen.add(k);
      }
      break;
    }
    // On by one character (both halves of a surrogate pair: no match starts between them).
    const c = text.charCodeAt(at);
    scan.lastIndex = at + (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00 ? 2 : 1);
  }
  for (const k of seen) found.add(members[k]);
}

/** Tries of later members at the places a block matched, per member, before those not found are each run over the text alone. */
const TRIES_PER_MEMBER = 32;

/** Every match of `re` in `text`, as [start, end) ranges, searching on after each (past an empty one). */
function rangesOf(re: RegExp, text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.push([m.index, m.index + m[0].length]);
    if (m[0].length === 0) re.lastIndex++;
  }
  return out;
}

/** Per text, per rule: what matchAll answers, the WORD rules found by their alternation first. */
function matchRules(rules: CompiledRules, texts: string[]): Matches {
  return texts.map((text) => {
    const found = new Set<number>();
    for (const block of rules.words) wordsIn(block, rules.each, text, found);
    return rules.each.map((re, i) => (rules.inBlock[i] && !found.has(i) ? [] : rangesOf(re, text)));
  });
}

/**
 * One context and one compiled script for every run: a new context per post cost about
 * 1.8 ms, reusing one about 0.4 ms. Runs are synchronous, so they never share it at once,
 * and an interrupted run leaves it usable (a timeout interrupts the functions it calls too).
 */
const sandbox = createContext({ rules: null as CompiledRules | null, texts: null as string[] | null, matchRules });
const MATCH_SCRIPT = new Script(`matchRules(rules, texts)`);

/** Per text, per rule: the [start, end) ranges the rule matched in that (folded) text. */
export type Matches = Array<Array<Array<[number, number]>>>;

/**
 * Runs every rule over each folded text in one run inside a VM context with a time budget
 * (one budget for all the texts: a post's body, title and tags share it): a catastrophic
 * pattern is interrupted instead of stalling the request. `rules` are compileRules' (or
 * regexes, each run on its own).
 *
 * The budget is wall-clock time, and a busy machine can stall any run past it; with
 * `retryBudgetMs`, an overrun is believed only when a second run with that budget
 * overruns too (a catastrophic pattern overruns any budget).
 */
export function matchAll(rules: CompiledRules | RegExp[], texts: string[], budgetMs: number, opts: { retryBudgetMs?: number } = {}): Matches {
  const compiled = Array.isArray(rules) ? { each: rules, words: [], inBlock: rules.map(() => false) } : rules;
  try {
    return matchWithin(compiled, texts, budgetMs);
  } catch (err) {
    if (!(err instanceof MatchTimeout) || !opts.retryBudgetMs) throw err;
    return matchWithin(compiled, texts, opts.retryBudgetMs);
  }
}

function matchWithin(rules: CompiledRules, texts: string[], budgetMs: number): Matches {
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

/** How validatePattern spends its time. */
export interface TryBudget {
  /** One try's budget, in milliseconds (an overrun is retried once with ten times it). */
  budgetMs?: number;
  /** All the tries' together: no try runs past it. */
  totalMs?: number;
  /** The clock the total is kept by (tests give their own). */
  now?: () => number;
  /** One try: `re` over `text` within `timeoutMs`, throwing MatchTimeout past it (matchAll's run; tests give their own). */
  run?: (re: RegExp, text: string, timeoutMs: number) => void;
}

const runOnce = (re: RegExp, text: string, timeoutMs: number): void => void matchAll([re], [text], timeoutMs);

/**
 * Why a pattern is refused, or null. Regexes must compile and stay fast on hostile input. The
 * tries run on the main thread, each under `budgetMs` (retried once with ten times that), and
 * each cut to what is left of `totalMs`: once that is spent, a try is interrupted and none more is
 * started, and the pattern is too slow. So a save holds the process for about `totalMs` at
 * most, whatever the pattern.
 */
export function validatePattern(kind: RuleKind, pattern: string, { budgetMs = 25, totalMs = 1000, now = () => performance.now(), run = runOnce }: TryBudget = {}): string | null {
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
  const start = now();
  /** Whether `re` ran over `text` within `ms`, or what is left of the total if less (the VM's timeout counts whole milliseconds). */
  const within = (text: string, ms: number): boolean => {
    const left = Math.floor(totalMs - (now() - start));
    if (left < 1) return false;
    try {
      run(re, text, Math.min(ms, left));
      return true;
    } catch (err) {
      if (err instanceof MatchTimeout) return false;
      throw err;
    }
  };
  for (const text of inputs) {
    if (!within(text, budgetMs) && !within(text, budgetMs * 10)) return 'is too slow on some inputs (catastrophic backtracking, or a retry from every position of a long text); simplify it';
  }
  return null;
}
