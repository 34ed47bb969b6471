import { compile, fold, matchAll, MatchTimeout, validatePattern } from './matcher';

describe('watched-word matching', () => {
  it('folds case and accents and maps back to the original text', () => {
    const { folded, origin } = fold('Crème BRÛLÉE');
    expect(folded).toBe('creme brulee');
    expect(origin[6]).toBe(6);
    expect(origin[folded.length]).toBe('Crème BRÛLÉE'.length);
  });

  it('matches whole words with wildcards, case- and accent-insensitively', () => {
    const re = compile('WORD', 'spam*');
    expect(matchAll([re], [fold('Buy SPÂMMY stuff').folded], 100)[0][0]).toEqual([[4, 10]]);
    expect(matchAll([re], [fold('antispam tools').folded], 100)[0][0]).toEqual([]);
    expect(matchAll([compile('WORD', 'café')], [fold('un CAFE noir').folded], 100)[0][0]).toEqual([[3, 7]]);
  });

  it('folds the accents of REGEX rules as it folds the text, leaving their syntax alone', () => {
    const re = compile('REGEX', 'caf[ée]\\s+CRÈME|na[iï]ve…');
    expect(matchAll([re], [fold('un CAFÉ crème').folded, fold('cafe creme').folded, fold('naïve...').folded, fold('naive, so').folded], 100).map((t) => t[0])).toEqual([
      [[3, 13]],
      [[0, 10]],
      [[0, 8]],
      [],
    ]);
  });

  it('runs every rule over every text in one run', () => {
    const rules = [compile('WORD', 'spam'), compile('WORD', 'scam')];
    expect(matchAll(rules, ['clean', 'no spam here', 'scam spam'], 100)).toEqual([
      [[], []],
      [[[3, 7]], []],
      [[[5, 9]], [[0, 4]]],
    ]);
  });

  it('refuses invalid, empty-matching and catastrophic patterns', () => {
    expect(validatePattern('REGEX', '(unclosed')).toMatch(/not a valid pattern/);
    expect(validatePattern('REGEX', 'a*')).toMatch(/empty/);
    expect(validatePattern('REGEX', '(a+)+$')).toMatch(/too slow/);
    expect(validatePattern('REGEX', '(x+x+)+y')).toMatch(/too slow/);
    expect(validatePattern('REGEX', 'free\\s+money')).toBeNull();
    expect(validatePattern('WORD', 'v*agra')).toBeNull();
  });

  it('believes a budget overrun only when a second, longer run overruns too', () => {
    // Cubic backtracking: far more than 1 ms, far less than 10 s, whatever the machine is doing.
    const slowish = [/a*a*a*b/giu];
    const text = 'a'.repeat(150);
    expect(() => matchAll(slowish, [text], 1)).toThrow(MatchTimeout);
    expect(matchAll(slowish, [text], 1, { retryBudgetMs: 10_000 })[0][0]).toEqual([]);
    expect(() => matchAll([/(a+)+$/giu], ['a'.repeat(40) + '!'], 1, { retryBudgetMs: 30 })).toThrow(MatchTimeout);
  });

  it('interrupts a slow pattern at matching time instead of stalling', () => {
    expect(() => matchAll([/(a+)+$/giu], ['a'.repeat(40) + '!'], 30)).toThrow(MatchTimeout);
    // The interrupted run leaves the shared matching context usable.
    expect(matchAll([compile('WORD', 'spam')], ['no spam here'], 100)[0][0]).toEqual([[3, 7]]);
  });
});
