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

/** A rule as matchAll needs it: what it is and what it says, and whether it is the site's (every space's) rather than a space's. */
export interface RuleSpec {
  kind: RuleKind;
  pattern: string;
  siteWide?: boolean;
}

/**
 * Rules compiled for matchAll. REGEX rules run on their own always (`alone`, by rule index):
 * their groups, backreferences and anchors are theirs alone; each pattern's regex is compiled once
 * per process for every set that holds it (the site's, for every space), kept as blocks are and
 * reckoned as a word's own regex (24 KB: one with Unicode classes, \p{L} or \w, takes about that
 * once run over two-byte text). WORD rules are joined into
 * alternations (`words`), which find in one pass each over a text which of their words match
 * anywhere in it; only those then run on their own for their matches. A block of words is
 * compiled once per process for every set of rules that holds it (kept by its content, see
 * compileRules); `rules` says which of this set's rules each of its words stands for (several
 * when rules say the same word).
 */
export interface CompiledRules {
  /** How many rules: matchAll answers for each, in their order. */
  count: number;
  alone: Array<[number, RegExp]>;
  words: Array<{ block: WordBlock; rules: number[][] }>;
  /** What of the cache the set holds (its blocks and its REGEX rules' regexes): kept while it is in use, each dropping it when dropped. */
  held: Kept[];
  /** What the set itself is reckoned to hold, in bytes (its key, every pattern, and its indexes: setBytes), counted in the cache's bound while kept. */
  bytes: number;
}

/** What the cache keeps: a block of words, or a REGEX rule's regex (`re`), shared by every set that holds it. */
interface Kept {
  key: string;
  /** What it is reckoned to hold in memory, in bytes (BYTES): what the cache is bounded by. */
  bytes: number;
  /** The keys of the cached rule sets that hold it: dropped with it. */
  sets: Set<string>;
  re?: RegExp;
}

/**
 * Words (`bodies`, sorted, each once) with the same boundaries (`before` and `after`: whole word,
 * or none on a side in a script written without spaces) as one alternation,
 * `before(?:(w1)|(w2)|…)after`: a match names, by its group, the first member that matches where
 * it starts (members before it do not match there). `single` holds each member alone: for the
 * members after the one named that match at the same place too. `own` holds each member's
 * regex as a rule of its own (what compile makes of it), made when the member is first found.
 */
export interface WordBlock extends Kept {
  before: string;
  after: string;
  bodies: string[];
  scan: RegExp;
  single: Single[];
  own: Array<RegExp | undefined>;
}

/**
 * A member alone, tried where the alternation matched (so `before` holds there). A word without
 * wildcards, nor a run of spaces at its end, has one match length, so `after` is checked on the
 * character after it (`edge`), which keeps its regex cheap to compile (a class of all letters costs
 * V8 about 0.5 ms each time; a post naming one word would pay it for every later member of its
 * block). One with wildcards, or ending in spaces ('spam´' folds to 'spam ': in 'spam  x' it
 * matches 'spam '), keeps `after` in its regex (backtracking may need it). Either is made when it first runs.
 */
export interface Single {
  source: string;
  re?: RegExp;
  edge: boolean;
  /** Whether it has run (V8 compiles a regex when it first runs): its code is reckoned in its block's bytes then. */
  ran?: boolean;
}

const WORD_CHAR_AT = new RegExp(WORD_CHAR, 'uy');

/**
 * Its regex is made when it first runs (singleAt), never with its block: V8 gives a regex made from the same source and flags as
 * a live one that one's compiled code (its compilation cache), so a member's made with its block took the code of the copy a
 * matchAll tries past CACHE_LIMITS.singleKeptPerMatch (memberAt), kept though not reckoned (until 2026-12-06).
 */
function single(body: string, after: string): Single {
  if (body.includes(WILDCARD) || body.endsWith('\\s+')) return { source: `${body}${after}`, edge: false };
  return { source: body, edge: after !== '' };
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

/**
 * A block ends after a word whose hash says so (one word in 64), so the blocks of a set are cut
 * by their words, not by their places in it: a word added or removed changes its own block alone
 * (or splits one in two, or joins two), and sets that share a run of words share the blocks within
 * it. A run too big for one block (128 words, or 12,000 characters) is cut again where another
 * part of the hash says (one word in 32, then one in 8), and only then by size, so that a word
 * added to it does not move every cut after it.
 */
const CUTS = [64, 32, 8];

function hashOf(body: string): number {
  // FNV-1a, then murmur3's finalizer, so that every bit depends on every character.
  let h = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const sourceOf = (bodies: string[]) => bodies.reduce((n, b) => n + b.length + 3, 0);

/** `bodies` (sorted) in blocks, cut at `level` of CUTS (every part at level 0; at the next ones, only a part too big for one block). */
function cutBlocks(bodies: string[], level: number, out: string[][]): void {
  if (bodies.length === 0) return;
  if (level > 0 && bodies.length <= BLOCK_MEMBERS && sourceOf(bodies) <= BLOCK_SOURCE) {
    out.push(bodies);
    return;
  }
  let part: string[] = [];
  if (level === CUTS.length) {
    for (const body of bodies) {
      if (part.length > 0 && (part.length >= BLOCK_MEMBERS || sourceOf(part) + body.length + 3 > BLOCK_SOURCE)) {
        out.push(part);
        part = [];
      }
      part.push(body);
    }
    out.push(part);
    return;
  }
  for (const body of bodies) {
    part.push(body);
    if ((hashOf(body) >>> (8 * level)) % CUTS[level] === 0) {
      cutBlocks(part, level + 1, out);
      part = [];
    }
  }
  cutBlocks(part, level + 1, out);
}

/**
 * What a compiled block is reckoned to hold, in bytes, fitted to measurement (heap used, V8's
 * machine code included, once posts have run over its alternation as one- and two-byte text;
 * see docs/architecture.md): a part per block, a part per character of its alternation's
 * source, a member's own regex once made and run, and a member run alone where an earlier one
 * matched (`single`: about 0.2 KB made, 1.1 KB more once run over one-byte text, 1.6 KB over
 * two-byte; a post naming a block's first word runs every later one there).
 */
export const BYTES = { block: 20_000, perChar: 80, own: 24_000, single: 3_000, setRule: 200 };

/**
 * What a kept rule set is reckoned to hold beside the blocks it shares: its key (a byte a character, two if any is past
 * Latin-1, as V8 stores strings) and, a rule, its indexes among its blocks' members and its REGEX rules (measured: about
 * 180 bytes a rule over 500 rules, with the key's bytes beside them).
 */
function setBytes(key: string, rules: number): number {
  return key.length * (/[^\u0000-\u00ff]/.test(key) ? 2 : 1) + BYTES.setRule * rules;
}

/**
 * Bounds of the caches: compiled blocks, REGEX rules and rule sets by the bytes they are reckoned
 * to hold together (32 MB: about 50 sets of 500 words none of which share one); rule sets, which
 * hold their key, indexes and what of the cache they use, by count too; the own regexes one
 * matchAll may keep in their blocks (ownOf), and the members run alone (memberAt: 128 of 3 KB,
 * as much as the 16 own regexes of 24 KB).
 */
export const CACHE_LIMITS = { bytes: 32 * 1024 * 1024, sets: 128, ownKeptPerMatch: 16, singleKeptPerMatch: 128 };

/** Compiled blocks by content and REGEX rules' regexes by pattern, least recently used first. */
const BLOCKS = new Map<string, Kept>();
/** The bytes the blocks, the REGEX rules' regexes and the rule sets kept are reckoned to hold. */
let cacheBytes = 0;
/** Compiled rule sets by their rules (kinds, patterns and whether site-wide, in order), least recently used first. */
const SETS = new Map<string, CompiledRules>();

/** What the caches hold (for tests and measurement): `blocks` counts the REGEX rules' regexes kept with the blocks too, `bytes` the sets' too. */
export function cacheHolds(): { blocks: number; bytes: number; sets: number } {
  return { blocks: BLOCKS.size, bytes: cacheBytes, sets: SETS.size };
}

function touch<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
}

/** The block of these words, compiled unless a block of the same words is kept. */
function blockOf(before: string, after: string, bodies: string[]): WordBlock {
  const key = JSON.stringify([before, after, bodies]);
  const kept = BLOCKS.get(key) as WordBlock | undefined;
  if (kept) {
    touch(BLOCKS, key, kept);
    return kept;
  }
  const scan = new RegExp(`${before}(?:${bodies.map((b) => `(${b})`).join('|')})${after}`, 'giu');
  // Run twice on short texts, so V8 compiles it to machine code now, outside any post's time budget: a regex is interpreted on its
  // first run, slowly (500 words over 100,000 characters: 100 ms and more), and compiled for one-byte and two-byte strings apart.
  for (const text of ['x', 'x', 'x\u0100', 'x\u0100']) scan.exec(text);
  scan.lastIndex = 0;
  const block: WordBlock = {
    key, before, after, bodies, scan,
    single: bodies.map((b) => single(b, after)),
    own: [],
    bytes: 0,
    sets: new Set(),
  };
  block.bytes = heldBy(block);
  BLOCKS.set(key, block);
  cacheBytes += block.bytes;
  return block;
}

/** A REGEX rule's regex, compiled unless kept: one for every set that holds the rule (the site's, for every space). */
function regexOf(pattern: string): Kept & { re: RegExp } {
  const key = `REGEX\u0000${pattern}`;
  const kept = BLOCKS.get(key) as (Kept & { re: RegExp }) | undefined;
  if (kept) {
    touch(BLOCKS, key, kept);
    return kept;
  }
  const regex = { key, bytes: BYTES.own, sets: new Set<string>(), re: compile('REGEX', pattern) };
  BLOCKS.set(key, regex);
  cacheBytes += regex.bytes;
  return regex;
}

/**
 * Where a test makes a matching run's time run out: `made` is called in the run right after it makes a regex of a block's member
 * (`own`: its regex as a rule of its own, already kept; `single`: the member alone, first tried where an earlier one matched). A
 * hook that spins there is interrupted by the run's budget, as a slow step there would be. matchAll's `steps`; none in production.
 */
export interface MatchingSteps {
  made?: (what: 'own' | 'single', block: WordBlock, k: number) => void;
  /**
   * Called in the run before each pass over a whole text (`alone`: a rule run on its own; `block`: a block's scan for all its
   * words at once; `own`: a member's own regex, where the scan found it): what a test counts to bound a run's work without a clock.
   */
  scanned?: (what: 'alone' | 'block' | 'own') => void;
}

/**
 * The matchAll under way (its run and its retry): how many more own regexes it may keep in their blocks
 * (CACHE_LIMITS.ownKeptPerMatch), and those it made past that, for itself alone (by block, by member), dropped when it ends;
 * the same of members run alone (CACHE_LIMITS.singleKeptPerMatch; those past it by the kept one they stand in for); the steps it
 * was given (matchAll's `steps`).
 */
const thisMatch: { ownLeft: number; unkept: Map<WordBlock, RegExp[]>; singleLeft: number; unkeptSingle: Map<Single, Single>; steps: MatchingSteps } = {
  ownLeft: 0, unkept: new Map(), singleLeft: 0, unkeptSingle: new Map(), steps: {},
};

/**
 * Member `k`'s regex as a rule of its own (what compile makes of its word), made when first needed, and kept in its block
 * while the matchAll under way may keep more: a post repeating a block's first word runs every later member's over it, and
 * kept they would be 24 KB each, enough to push other spaces' blocks out of the cache. Past that, it is this matchAll's alone.
 */
function ownOf(block: WordBlock, k: number): RegExp {
  const made = block.own[k] ?? thisMatch.unkept.get(block)?.[k];
  if (made) return made;
  const re = new RegExp(`${block.before}${block.bodies[k]}${block.after}`, 'giu');
  if (thisMatch.ownLeft > 0) {
    thisMatch.ownLeft--;
    block.own[k] = re;
  } else {
    if (!thisMatch.unkept.has(block)) thisMatch.unkept.set(block, []);
    thisMatch.unkept.get(block)![k] = re;
  }
  // After it is kept, not before: matcher.spec's reckoning tests are about a run interrupted right there, between keeping a
  // regex and reckoning it (called before, they fail: nothing kept, nothing to reckon).
  thisMatch.steps.made?.('own', block, k);
  return re;
}

/**
 * Whether member `k` matches `text` at `at`, noted as run (its regex reckoned in the block's bytes) when it first runs, while the
 * matchAll under way may keep more run (CACHE_LIMITS.singleKeptPerMatch): a post naming the first word of each of a set's blocks
 * tries every later member of each, 3 KB each kept. Past that, it is tried on a regex of this matchAll's alone.
 */
function memberAt(block: WordBlock, k: number, text: string, at: number): boolean {
  const one = block.single[k];
  if (one.ran) return singleAt(one, text, at);
  if (thisMatch.singleLeft > 0) {
    thisMatch.singleLeft--;
    one.ran = true;
    thisMatch.steps.made?.('single', block, k);
    return singleAt(one, text, at);
  }
  let unkept = thisMatch.unkeptSingle.get(one);
  if (!unkept) {
    unkept = { source: one.source, edge: one.edge };
    thisMatch.unkeptSingle.set(one, unkept);
    thisMatch.steps.made?.('single', block, k);
  }
  return singleAt(unkept, text, at);
}

/**
 * What `block` is reckoned to hold, from what it holds: its alternation, its members' own regexes made, its members run alone.
 * Reckoned from them rather than added up as each is made: a run's budget interrupts it anywhere, between making a regex and
 * adding it up too.
 */
function heldBy(block: WordBlock): number {
  let bytes = BYTES.block + BYTES.perChar * block.scan.source.length;
  for (const re of block.own) if (re) bytes += BYTES.own;
  for (const one of block.single) if (one.ran) bytes += BYTES.single;
  return bytes;
}

/**
 * After a run, however it ended (a time-out included): each of `rules`' blocks reckoned again from what it holds, in the
 * cache's bytes while the cache keeps it, and the cache held to its bound at once if they grew (`rules`' own kept).
 */
function settle(rules: CompiledRules): void {
  let grown = 0;
  for (const { block } of rules.words) {
    const bytes = heldBy(block);
    if (BLOCKS.get(block.key) === block) grown += bytes - block.bytes;
    block.bytes = bytes;
  }
  cacheBytes += grown;
  if (grown > 0) evict(rules);
}

/**
 * `rules`' WORD rules in blocks: the site's words apart from the space's (so that every space's
 * set holds the same blocks of the site's words), then by boundaries, each word once, sorted,
 * cut where cutBlocks says.
 */
function placeWords(rules: RuleSpec[]): CompiledRules['words'] {
  const groups = new Map<string, Map<string, number[]>>();
  rules.forEach((r, i) => {
    if (r.kind !== 'WORD') return;
    const { before, body, after } = wordParts(r.pattern);
    const bounds = `${r.siteWide ? 'site' : 'space'}\u0000${before}\u0000${after}`;
    if (!groups.has(bounds)) groups.set(bounds, new Map());
    const bodies = groups.get(bounds)!;
    bodies.set(body, [...(bodies.get(body) ?? []), i]);
  });
  const placed: CompiledRules['words'] = [];
  for (const [bounds, bodies] of groups) {
    const [, before, after] = bounds.split('\u0000');
    const blocks: string[][] = [];
    cutBlocks([...bodies.keys()].sort(), 0, blocks);
    for (const chunk of blocks) placed.push({ block: blockOf(before, after, chunk), rules: chunk.map((b) => bodies.get(b)!) });
  }
  return placed;
}

function dropSet(key: string): void {
  const set = SETS.get(key);
  if (!set) return;
  SETS.delete(key);
  cacheBytes -= set.bytes;
  for (const kept of set.held) kept.sets.delete(key);
}

/**
 * Past the bytes kept, drops the least recently used blocks (and the sets holding them), then, if
 * sets sharing the blocks left still hold too much, the least recently used sets; none of `keep`'s
 * blocks, nor `keep`, which is in use: passed over wherever they stand among the others (until
 * 2026-12-06 the first of them ended the drops, and what was less recently used than a set run
 * after others were compiled stayed, past the bound).
 */
function evict(keep: CompiledRules): void {
  const inUse = new Set(keep.held);
  for (const [key, block] of BLOCKS) {
    if (cacheBytes <= CACHE_LIMITS.bytes) break;
    // Skipped, not stopped at: a set in use may be older than others (compiled before them, run after), and they go past it.
    if (inUse.has(block)) continue;
    BLOCKS.delete(key);
    cacheBytes -= block.bytes;
    for (const set of block.sets) dropSet(set);
  }
  for (const [key, set] of SETS) {
    if (cacheBytes <= CACHE_LIMITS.bytes) break;
    if (set !== keep) dropSet(key);
  }
}

/**
 * `rules` compiled for matchAll, the set kept (by kinds, patterns and whether site-wide, in order)
 * so that a space's rules are compiled when they change, not for every post. Its WORD rules'
 * blocks are kept by their own words, in one cache bounded by the memory they are reckoned to
 * hold: a set with one rule more, less or changed compiles that rule's block alone (or the two a
 * word splits one into, or the one two join into), and sets sharing words share blocks.
 */
export function compileRules(rules: RuleSpec[]): CompiledRules {
  const key = JSON.stringify(rules.map((r) => [r.kind, r.pattern, r.siteWide === true]));
  let set = SETS.get(key);
  if (set) {
    touch(SETS, key, set);
    for (const kept of set.held) touch(BLOCKS, kept.key, kept);
  } else {
    const regexes = rules.flatMap((r, i) => (r.kind === 'WORD' ? [] : [[i, regexOf(r.pattern)] as const]));
    const words = placeWords(rules);
    set = {
      count: rules.length, alone: regexes.map(([i, kept]) => [i, kept.re]), words,
      held: [...regexes.map(([, kept]) => kept), ...words.map((w) => w.block)], bytes: setBytes(key, rules.length),
    };
    SETS.set(key, set);
    cacheBytes += set.bytes;
    for (const kept of set.held) kept.sets.add(key);
    if (SETS.size > CACHE_LIMITS.sets) dropSet(SETS.keys().next().value!);
  }
  evict(set);
  return set;
}

/** The index, among the alternation's groups, of the one that matched. */
function groupOf(m: RegExpExecArray): number {
  for (let g = 1; g < m.length; g++) if (m[g] !== undefined) return g - 1;
  return -1;
}

/**
 * Which of `block`'s members match anywhere in `text`: where its alternation matches, the member
 * it names and every later one that matches there too; then on from the next character, since
 * matches of different words overlap ("foo" and "foo bar", "bar" inside "foo bar"). An
 * alternation matches wherever any of its alternatives does, so this finds exactly the members
 * that match somewhere. Past TRIES_PER_MEMBER tries a member, those not found yet are decided
 * by their own regexes over the whole text, so a watched word repeated all through a post costs
 * no more than the rules run one by one.
 */
function wordsIn(block: WordBlock, text: string): Set<number> {
  const { scan, bodies } = block;
  const seen = new Set<number>();
  scan.lastIndex = 0;
  let m: RegExpExecArray | null;
  let tries = 0;
  while (seen.size < bodies.length && (m = scan.exec(text)) !== null) {
    const at = m.index;
    const named = groupOf(m);
    seen.add(named);
    for (let k = named + 1; k < bodies.length; k++) {
      if (seen.has(k)) continue;
      if (memberAt(block, k, text, at)) seen.add(k);
      tries++;
    }
    if (tries > TRIES_PER_MEMBER * bodies.length) {
      // An early member recurring all through the text (a common watched word) would have the
      // later ones tried at each place: those not found yet are each run once over it instead.
      for (let k = 0; k < bodies.length; k++) {
        if (seen.has(k)) continue;
        const re = ownOf(block, k);
        re.lastIndex = 0;
        if (re.test(text)) seen.add(k);
      }
      break;
    }
    // On by one character (both halves of a surrogate pair: no match starts between them).
    const c = text.charCodeAt(at);
    scan.lastIndex = at + (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00 ? 2 : 1);
  }
  return seen;
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

/** Per text, per rule: what matchAll answers, the WORD rules found by their alternation first (the rest match nothing). */
function matchRules(rules: CompiledRules, texts: string[]): Matches {
  return texts.map((text) => {
    const out: Array<Array<[number, number]>> = Array.from({ length: rules.count }, () => []);
    const { scanned } = thisMatch.steps;
    for (const [i, re] of rules.alone) {
      scanned?.('alone');
      out[i] = rangesOf(re, text);
    }
    for (const { block, rules: of } of rules.words) {
      scanned?.('block');
      for (const k of wordsIn(block, text)) {
        const own = ownOf(block, k);
        scanned?.('own');
        const ranges = rangesOf(own, text);
        for (const i of of[k]) out[i] = [...ranges];
      }
    }
    return out;
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
 * overruns too (a catastrophic pattern overruns any budget). `run` is one run within a
 * budget, throwing MatchTimeout past it (the VM's; tests give their own, on their own clock); `steps`, hooks a test
 * sets in the run (MatchingSteps).
 */
export function matchAll(
  rules: CompiledRules | RegExp[],
  texts: string[],
  budgetMs: number,
  { retryBudgetMs, run = matchWithin, steps = {} }: { retryBudgetMs?: number; run?: (rules: CompiledRules, texts: string[], budgetMs: number) => Matches; steps?: MatchingSteps } = {},
): Matches {
  const compiled: CompiledRules = Array.isArray(rules) ? { count: rules.length, alone: rules.map((re, i) => [i, re]), words: [], held: [], bytes: 0 } : rules;
  thisMatch.ownLeft = CACHE_LIMITS.ownKeptPerMatch;
  thisMatch.singleLeft = CACHE_LIMITS.singleKeptPerMatch;
  thisMatch.steps = steps;
  try {
    return run(compiled, texts, budgetMs);
  } catch (err) {
    if (!(err instanceof MatchTimeout) || !retryBudgetMs) throw err;
    return run(compiled, texts, retryBudgetMs);
  } finally {
    thisMatch.unkept.clear();
    thisMatch.unkeptSingle.clear();
    thisMatch.steps = {};
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
    settle(rules);
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
  /** One try: whether `re` matches `text`, within `timeoutMs`, throwing MatchTimeout past it (matchAll's run; tests give their own). */
  run?: (re: RegExp, text: string, timeoutMs: number) => boolean;
}

const runOnce = (re: RegExp, text: string, timeoutMs: number): boolean => matchAll([re], [text], timeoutMs)[0][0].length > 0;

/**
 * Why a pattern is refused, or null. Regexes must compile, match no empty text and stay fast on
 * hostile input. The tries, the empty text's first (a pattern can be slow on that too:
 * `(?:(?:a?){3000}){3000}` runs seconds), run on the main thread, each under `budgetMs` (retried
 * once with ten times that), and each cut to what is left of `totalMs`: once that is spent, a try
 * is interrupted and none more is started, and the pattern is too slow. So a save holds the
 * process for about `totalMs` at most, whatever the pattern.
 */
export function validatePattern(kind: RuleKind, pattern: string, { budgetMs = 25, totalMs = 1000, now = () => performance.now(), run = runOnce }: TryBudget = {}): string | null {
  let re: RegExp;
  try {
    re = compile(kind, pattern);
  } catch (err) {
    return `is not a valid pattern: ${(err as Error).message}`;
  }
  // Also runs of each literal character the pattern names: that is what nested quantifiers choke on.
  const literals = [...new Set(pattern.replace(/\\./g, '').match(/[\p{L}\p{N}]/gu) ?? [])].slice(0, 12);
  const runsOf = (n: number) => [...adversarial(n), ...literals.map((c) => c.repeat(n) + '!')];
  const inputs = ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u0000', ...literals.map((c) => c.repeat(40) + '!'), ...runsOf(3000), ...runsOf(LONGEST_TEXT)];
  const start = now();
  /**
   * Whether `re` matched `text`, run within `ms`, or what is left of the total if less (the VM's timeout counts whole
   * milliseconds); null if it did not finish in that time; 'overflow' if running it threw a RangeError (its backtracking
   * outgrew V8's stack: a fault of the pattern, refused as one, not an error of the save).
   */
  const within = (text: string, ms: number): boolean | null | 'overflow' => {
    const left = Math.floor(totalMs - (now() - start));
    if (left < 1) return null;
    try {
      return run(re, text, Math.min(ms, left));
    } catch (err) {
      if (err instanceof MatchTimeout) return null;
      if (err instanceof RangeError) return 'overflow';
      throw err;
    }
  };
  const tried = (text: string) => within(text, budgetMs) ?? within(text, budgetMs * 10);
  const tooSlow = 'is too slow on some inputs (catastrophic backtracking, or a retry from every position of a long text); simplify it';
  const overflows = 'overflows the stack on some inputs (too much backtracking); simplify it';
  const empty = tried('');
  if (empty === null) return tooSlow;
  if (empty === 'overflow') return overflows;
  if (empty) return 'matches empty text';
  for (const text of inputs) {
    const result = tried(text);
    if (result === null) return tooSlow;
    if (result === 'overflow') return overflows;
  }
  return null;
}
