import { createContext, Script } from 'node:vm';

export type RuleKind = 'WORD' | 'REGEX';

/** Lower-case, accents folded (NFKD without combining marks), with a map back to the original text. */
export function fold(text: string): { folded: string; origin: number[] } {
  let folded = '';
  const origin: number[] = [];
  let i = 0;
  for (const ch of text) {
    // Marks and invisible format characters (zero-width spaces and joiners, soft hyphens) go:
    // "sp\u200Bam" is "spam" to a reader.
    const f = ch.normalize('NFKD').replace(/[\p{M}\p{Cf}]/gu, '').toLowerCase();
    for (let k = 0; k < f.length; k++) origin.push(i);
    folded += f;
    i += ch.length;
  }
  origin.push(i);
  return { folded, origin };
}

const WORD_CHAR = '[\\p{L}\\p{N}_]';

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A watched word as a regular expression: `*` is a wildcard, whole words only. */
export function wordToRegex(word: string): string {
  const folded = fold(word.trim()).folded;
  const body = folded
    .split('*')
    .map((part) => escapeRegex(part).replace(/\s+/g, '\\s+'))
    .join(`${WORD_CHAR}*`);
  return `(?<!${WORD_CHAR})${body}(?!${WORD_CHAR})`;
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

/** Inputs that make backtracking-prone patterns blow up. */
const ADVERSARIAL = ['a'.repeat(3000) + '!', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' + '\u0000', '1'.repeat(3000) + 'x', ' '.repeat(3000) + '!', 'ab'.repeat(1500) + '!'];

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
  const inputs = [...ADVERSARIAL, ...literals.flatMap((c) => [c.repeat(40) + '!', c.repeat(3000) + '!'])];
  try {
    for (const s of inputs) matchAll([re], [s], budgetMs, { retryBudgetMs: budgetMs * 10 });
  } catch (err) {
    if (err instanceof MatchTimeout) return 'is too slow on some inputs (catastrophic backtracking); simplify it';
    throw err;
  }
  return null;
}
