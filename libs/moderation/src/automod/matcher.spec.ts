import { BYTES, CACHE_LIMITS, cacheHolds, compile, compileRules, fold, matchAll, MatchingSteps, MatchTimeout, validatePattern } from './matcher';
import type { CompiledRules, RuleSpec, WordBlock } from './matcher';

describe('watched-word matching', () => {
  it('folds case and accents and maps back to the original text', () => {
    const { folded, origin } = fold('Crème BRÛLÉE');
    expect(folded).toBe('creme brulee');
    expect(origin[6]).toBe(6);
    expect(origin[folded.length]).toBe('Crème BRÛLÉE'.length);
  });

  it('matches whole words with wildcards, case- and accent-insensitively', () => {
    const re = compile('WORD', 'spam*');
    expect(matchAll([re], [fold('Buy SPÂMMY stuff').folded], 10_000)[0][0]).toEqual([[4, 10]]);
    expect(matchAll([re], [fold('antispam tools').folded], 10_000)[0][0]).toEqual([]);
    expect(matchAll([compile('WORD', 'café')], [fold('un CAFE noir').folded], 10_000)[0][0]).toEqual([[3, 7]]);
  });

  it('reads look-alike letters of other scripts and blank letters as a reader does, and keeps marks that make other scripts\u2019 letters', () => {
    const spam = compile('WORD', 'spam');
    const hits = (re: RegExp, text: string) => matchAll([re], [fold(text).folded], 10_000)[0][0].length;
    // A Cyrillic а, then Cyrillic ѕ and р with the а; a Hangul filler; a blank Braille pattern inside the word.
    for (const text of ['buy sp\u0430m', '\u0455\u0440\u0430m now', 's\u3164pam', 'sp\u2800am']) expect([text, hits(spam, text)]).toEqual([text, 1]);
    // The voicing mark is part of the kana: ばか is not はか ("grave").
    const baka = compile('WORD', 'ばか');
    expect([hits(baka, 'はか'), hits(baka, 'ばか')]).toEqual([0, 1]);
    // Devanagari's vowel signs stay: नमस्ते and नमस are different words.
    expect(fold('नमस्ते').folded).toBe('नमस्ते');
    expect(hits(compile('WORD', 'नमस'), 'नमस्ते दुनिया')).toBe(0);
    // Hebrew points and Arabic vowel signs are accents: folded away, as Latin ones are.
    expect(hits(compile('WORD', 'שלום'), 'שָׁלוֹם')).toBe(1);
    expect(hits(compile('WORD', 'مرحبا'), 'مَرْحَبًا')).toBe(1);
    // A tatweel only stretches the line: مرحـــبا is مرحبا, and a rule written stretched finds it plain.
    expect(hits(compile('WORD', 'مرحبا'), 'قال مرحـــبا')).toBe(1);
    expect(hits(compile('WORD', 'مرحـبا'), 'مرحبا')).toBe(1);
    // Arabic letters written for one another: a rule for مدرسة finds مدرسه, one for على finds علي, one for أحمد finds احمد and ٱحمد.
    expect(hits(compile('WORD', 'مدرسة'), 'مدرسه كبيرة')).toBe(1);
    expect(hits(compile('WORD', 'على'), 'علي')).toBe(1);
    expect(hits(compile('WORD', 'أحمد'), 'احمد و ٱحمد')).toBe(2);
    // The maqaf joins two Hebrew words as a hyphen does: ספר is a word of בית־ספר, not part of one.
    expect(hits(compile('WORD', 'ספר'), 'בית\u05beספר')).toBe(1);
    expect(hits(compile('WORD', 'ביתספר'), 'בית\u05beספר')).toBe(0);
  });

  it('finds a word of a script written without spaces inside a run of text', () => {
    const hits = (word: string, text: string) => matchAll([compile('WORD', word)], [fold(text).folded], 10_000)[0][0];
    expect(hits('ばか', 'あなたはばかです')).toHaveLength(1);
    expect(hits('傻瓜', '你是傻瓜吗')).toHaveLength(1);
    // Latin words stay whole words, even next to those scripts' letters.
    expect(hits('spam', 'antispam')).toEqual([]);
    expect(hits('spam', '這是spam')).toEqual([]);
  });

  it('folds the accents of REGEX rules as it folds the text, leaving their syntax alone', () => {
    const re = compile('REGEX', 'caf[ée]\\s+CRÈME|na[iï]ve…');
    expect(matchAll([re], [fold('un CAFÉ crème').folded, fold('cafe creme').folded, fold('naïve...').folded, fold('naive, so').folded], 10_000).map((t) => t[0])).toEqual([
      [[3, 13]],
      [[0, 10]],
      [[0, 8]],
      [],
    ]);
  });

  it('runs every rule over every text in one run', () => {
    const rules = [compile('WORD', 'spam'), compile('WORD', 'scam')];
    expect(matchAll(rules, ['clean', 'no spam here', 'scam spam'], 10_000)).toEqual([
      [[], []],
      [[[3, 7]], []],
      [[[5, 9]], [[0, 4]]],
    ]);
  });

  describe('WORD rules combined into alternations', () => {
    /** What compileRules' alternations find, and what each rule run on its own finds: the same rules, at the same places. */
    const both = (rules: RuleSpec[], texts: string[]) => {
      const folded = texts.map((t) => fold(t).folded);
      return { combined: matchAll(compileRules(rules), folded, 10_000), alone: matchAll(rules.map((r) => compile(r.kind, r.pattern)), folded, 10_000) };
    };
    const words = (...patterns: string[]): RuleSpec[] => patterns.map((pattern) => ({ kind: 'WORD', pattern }));

    it('finds the rules each rule finds on its own: metacharacters, accents, other scripts, prefixes, overlaps', () => {
      const rules = words(
        // Regex metacharacters, literal in a word.
        'c++', 'a.b', '$money$', '(x)', '[y]', 'what?', 'a|b', '\\d', '^up', 'x{2}', 'star*', 'back\\slash',
        // Accents and case, as folding reads them; Greek's final sigma, which only case-insensitive matching equates.
        'café', 'CRÈME brûlée', 'σοφός', 'straße',
        // Other scripts, spaced and not.
        'привет', 'ばか', '傻瓜', 'שלום', 'مرحبا', 'नमस', '😀', '𝒳yz',
        // Words that are prefixes of others, and matches that overlap one another's.
        'spam', 'spammer', 'spam*', 'sp*m', 'foo bar', 'bar baz', 'foo', 'bar', 'baz', 'o',
      );
      const texts = [
        'I love c++ and a.b, $money$ (x) [y] what? a|b \\d ^up x{2} starry back\\slash',
        'un CAFÉ, crème   BRULEE; ΣΟΦΟΣ σοφος STRASSE straße',
        'ПРИВЕТ мир; あなたはばかです 你是傻瓜吗 שָׁלוֹם مَرْحَبًا नमस्ते नमस 😀😀 𝒳yz',
        'spammer spam spamalot spm sp-m foo bar baz o foo barbaz',
        'axb a b abc cpp xx money (y) [x] what whatever',
      ];
      const { combined, alone } = both(rules, texts);
      expect(combined).toEqual(alone);
      // Not vacuous: every rule matches somewhere, overlapping ones too ("foo bar", "bar baz", "bar" and "baz" in "foo bar baz").
      expect(rules.filter((_, i) => !combined.some((t) => t[i].length > 0)).map((r) => r.pattern)).toEqual([]);
    });

    it('keeps REGEX rules to themselves and every rule in its place among them', () => {
      const rules: RuleSpec[] = [{ kind: 'REGEX', pattern: '(a)\\1' }, ...words('spam', 'aa'), { kind: 'REGEX', pattern: 'sp(am)' }, ...words('scam', 'spam*')];
      const { combined, alone } = both(rules, ['aa spam scam spammy', 'nothing', '']);
      expect(combined).toEqual(alone);
      expect(combined[0].map((r) => r.length)).toEqual([1, 1, 1, 2, 1, 2]);
    });

    it('finds what each rule finds on its own whether it is the site\u2019s or the space\u2019s, and however many rules say the same word', () => {
      // The site's words are blocked apart from the space's; a word said by several rules is one member of its block, standing for each.
      const rules: RuleSpec[] = [
        { kind: 'WORD', pattern: 'spam', siteWide: true }, { kind: 'WORD', pattern: 'SPAM' }, { kind: 'WORD', pattern: 'Spâm', siteWide: true },
        { kind: 'WORD', pattern: 'scam*', siteWide: true }, { kind: 'REGEX', pattern: 'sp(am)', siteWide: true }, { kind: 'WORD', pattern: 'foo bar' },
        { kind: 'WORD', pattern: 'bar', siteWide: true }, { kind: 'WORD', pattern: 'spam' },
      ];
      const { combined, alone } = both(rules, ['spam scammer foo bar, SPAM', 'nothing']);
      expect(combined).toEqual(alone);
      expect(combined[0].map((r) => r.length)).toEqual([2, 2, 2, 1, 2, 1, 1, 2]);
    });

    it('finds a word ending in what folds to a space as it alone finds it, where an earlier word of its block matched', () => {
      // ´ and ¯ fold to a space (NFKD: a space and a combining accent), so 'a´' is 'a' and a run of spaces, and what ends its match
      // depends on what follows: in 'a  x' it is 'a ', before a space, not the whole run, before x.
      const rules = words('a', 'a´', 'spam', 'spam¯');
      const { combined, alone } = both(rules, ['a  x', 'spam   spam', 'a b']);
      expect(combined).toEqual(alone);
      expect(combined.map((t) => t.map((r) => r.length))).toEqual([[1, 1, 0, 0], [0, 0, 2, 1], [1, 0, 0, 0]]);
    });
    it('agrees with each rule on its own over random words and texts', () => {
      let seed = 42;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
      const alphabet = ['a', 'b', 'é', 'B', 'ß', 'σ', 'ς', 'и', 'ば', '傻', '😀', '.', '+', '(', '$', ' ', '-'];
      const word = () => Array.from({ length: 1 + rnd(4) }, () => alphabet[rnd(alphabet.length)]).join('').trim() || 'a';
      for (let round = 0; round < 40; round++) {
        const patterns = Array.from({ length: 2 + rnd(30) }, () => word() + (rnd(6) === 0 ? '*' : ''));
        const text = Array.from({ length: 60 }, () => alphabet[rnd(alphabet.length)]).join('');
        const { combined, alone } = both(words(...patterns), [text, patterns.join(' '), patterns.join('')]);
        expect([patterns, text, combined]).toEqual([patterns, text, alone]);
      }
    });

    it('compiles a set of rules once, and again when a rule changes', () => {
      const rules = words('spam', 'scam');
      const compiled = compileRules(rules);
      expect(compiled.words.length).toBe(1);
      expect(compileRules(words('spam', 'scam'))).toBe(compiled);
      expect(compileRules(words('spam', 'scams'))).not.toBe(compiled);
      expect(compileRules([{ kind: 'REGEX', pattern: 'spam' }, { kind: 'WORD', pattern: 'scam' }])).not.toBe(compiled);
    });

    it('scans a long text once per alternation, and runs only the rules found over it', () => {
      // What keeps 500 words within a post's budget, said by what runs rather than by how long it takes (the e2e case's budget is wall-clock time).
      const rules = words(...Array.from({ length: 500 }, (_, i) => `scanned${i}word`));
      const compiled = compileRules(rules);
      const text = 'filler text, '.repeat(7_700) + 'scanned7word and scanned321word, scanned7word again';
      const exec = jest.spyOn(RegExp.prototype, 'exec');
      let hits: Array<Array<[number, number]>>;
      let runs: RegExp[];
      try {
        hits = matchAll(compiled, [text], 10_000)[0];
      } finally {
        runs = [...exec.mock.contexts];
        exec.mockRestore();
      }
      const runsOf = (re: RegExp | undefined) => runs.filter((r) => r === re).length;
      expect(hits.flatMap((ranges, i) => (ranges.length ? [[rules[i].pattern, ranges.length]] : []))).toEqual([['scanned7word', 2], ['scanned321word', 1]]);
      // Alternations of 128 words at most: each runs once per place it matches, and once more to the end.
      expect(compiled.words.length).toBeGreaterThanOrEqual(4);
      const places = (of: number[][]) => 1 + (of.flat().includes(7) ? 2 : 0) + (of.flat().includes(321) ? 1 : 0);
      expect(compiled.words.map((w) => runsOf(w.block.scan))).toEqual(compiled.words.map((w) => places(w.rules)));
      // Of the rules on their own, only the two found are made and run: once per match and once more.
      const own = compiled.words.flatMap((w) => w.block.own.flatMap((re, k) => (re ? [[w.rules[k][0], runsOf(re)]] : [])));
      expect(own.sort((x, y) => x[0] - y[0])).toEqual([[7, 3], [321, 2]]);
    });

    const blocksOf = (compiled: CompiledRules) => compiled.words.map((w) => w.block);

    it('compiles the block of a rule added, removed or changed alone, and shares blocks between sets holding the same words', () => {
      const list = Array.from({ length: 500 }, (_, i) => `listed${i}word`);
      const before = blocksOf(compileRules(words(...list)));
      /** The blocks of `rules` not among those compiled before: compiled for them. */
      const anew = (rules: RuleSpec[]) => blocksOf(compileRules(rules)).filter((b) => !before.includes(b)).length;
      expect(before.length).toBeGreaterThanOrEqual(4);
      expect(anew(words(...list, 'added'))).toBe(1);
      expect(anew(words(...list.filter((w) => w !== 'listed250word')))).toBe(1);
      expect(anew(words(...list.map((w) => (w === 'listed7word' ? 'listed7words' : w))))).toBe(1);
      // Their order, a rule saying a word again, REGEX rules among them: nothing compiled.
      expect(anew([{ kind: 'REGEX', pattern: 'x+y' }, ...words(...[...list].reverse(), 'LISTED3WORD')])).toBe(0);
      // Two spaces with the site's words and their own, sorted among them: the site's are blocked apart, each block compiled once for both.
      const site = list.slice(0, 300);
      const siteRules = site.map((pattern): RuleSpec => ({ kind: 'WORD', pattern, siteWide: true }));
      const one = blocksOf(compileRules([...siteRules, ...words(...Array.from({ length: 200 }, (_, i) => `listed${i}ours`))]));
      const other = blocksOf(compileRules([...words(...Array.from({ length: 200 }, (_, i) => `listed${i}theirs`)), ...siteRules]));
      const ofSite = (b: WordBlock) => b.bodies.filter((w) => site.includes(w)).length;
      expect(one.filter((b) => ofSite(b) > 0 && ofSite(b) < b.bodies.length)).toEqual([]);
      expect(one.filter((b) => ofSite(b) > 0).length).toBeGreaterThanOrEqual(3);
      expect(one.filter((b) => ofSite(b) > 0 && !other.includes(b))).toEqual([]);
    });

    it('keeps compiled blocks by the memory they are reckoned to hold, not by how many sets hold them', () => {
      // 200 spaces' sets of two words: more sets than are kept, a few megabytes of blocks: each set's block is the one compiled first.
      const small = Array.from({ length: 200 }, (_, i) => words(`small${i}a`, `small${i}b`));
      const first = small.map((rules) => blocksOf(compileRules(rules))[0]);
      expect(small.filter((rules, i) => blocksOf(compileRules(rules))[0] !== first[i])).toEqual([]);
      // Past the bound, the least recently used blocks go, and the sets holding them; the set in use keeps its own, even past it.
      const big = [0, 1].map((s) => words(...Array.from({ length: 300 }, (_, i) => `big${s}x${i}`)));
      const big0 = blocksOf(compileRules(big[0]));
      const limit = CACHE_LIMITS.bytes;
      try {
        CACHE_LIMITS.bytes = 1;
        const big1 = compileRules(big[1]);
        expect(cacheHolds()).toMatchObject({ blocks: big1.words.length, bytes: blocksOf(big1).reduce((n, b) => n + b.bytes, big1.bytes) });
        expect(matchAll(big1, ['big1x7 and big1x299'], 10_000)[0].filter((r) => r.length)).toHaveLength(2);
        expect(blocksOf(compileRules(big[0])).filter((b) => big0.includes(b))).toEqual([]);
        expect(cacheHolds().blocks).toBe(big0.length);
      } finally {
        CACHE_LIMITS.bytes = limit;
      }
    });

    it('reckons the regexes a post has V8 compile: a found word\u2019s own, and each later member tried where an earlier one matched', () => {
      // Each later member tried is compiled by V8 (about 3 KB with one- and two-byte texts): 127 of them a block, more than its alternation.
      const compiled = compileRules(words('able', ...Array.from({ length: 40 }, (_, i) => `reckoned${i}word`)));
      const block = compiled.words[0].block;
      expect(block.bodies[0]).toBe('able');
      const before = { block: block.bytes, cache: cacheHolds().bytes };
      const grown = BYTES.own + (block.bodies.length - 1) * BYTES.single;
      matchAll(compiled, ['able and able'], 10_000);
      expect([block.bytes - before.block, cacheHolds().bytes - before.cache]).toEqual([grown, grown]);
      // Once each: a post naming them again adds nothing.
      matchAll(compiled, ['able, able'], 10_000);
      expect(block.bytes - before.block).toBe(grown);
    });
    /** Spins until the matching run's budget interrupts it (10 s at most: past that the run goes on, and the test fails on what it answers). */
    const spin = () => {
      const end = performance.now() + 10_000;
      while (performance.now() < end);
    };
    /**
     * What `run` (a matchAll with a budget of a second, far more than it needs, and `steps`) does when that budget runs out right
     * after it makes a member's regex of the kind `what` (the `nth` made).
     */
    const outOfTimeAt = (what: 'own' | 'single', run: (budgetMs: number, steps: MatchingSteps) => unknown, nth = 1) => {
      let made = 0;
      const steps: MatchingSteps = {
        made: (kind) => {
          if (kind === what && ++made === nth) spin();
        },
      };
      try {
        run(1_000, steps);
        return 'finished';
      } catch (err) {
        if (made < nth) return 'out of time before that';
        return err instanceof MatchTimeout ? 'MatchTimeout' : err;
      }
    };

    it('reckons a regex a post made when the post runs out of time right after making it', () => {
      // The VM's timeout interrupts a run anywhere: right after a member's regex is made, before it was reckoned, it stayed in its
      // block for good, reckoned nowhere (24 KB a word's own, 3 KB one tried alone).
      const rules = words('able', ...Array.from({ length: 40 }, (_, i) => `timed${i}word`));
      const compiled = compileRules(rules);
      const block = compiled.words[0].block;
      const before = { block: block.bytes, cache: cacheHolds().bytes };
      // A budget running out is a MatchTimeout there as anywhere (the post is held or refused as for any overrun).
      expect(outOfTimeAt('own', (ms, steps) => matchAll(compiled, ['able and able'], ms, { steps }))).toBe('MatchTimeout');
      const grown = BYTES.own + (block.bodies.length - 1) * BYTES.single;
      expect([block.bytes - before.block, cacheHolds().bytes - before.cache]).toEqual([grown, grown]);
      // Out of time where a member is first tried alone: what the run made is reckoned too.
      const other = compileRules(words('able', ...Array.from({ length: 40 }, (_, i) => `timed${i}words`)));
      const first = { block: other.words[0].block.bytes, cache: cacheHolds().bytes };
      expect(outOfTimeAt('single', (ms, steps) => matchAll(other, ['able and able'], ms, { steps }), 3)).toBe('MatchTimeout');
      expect([other.words[0].block.bytes - first.block, cacheHolds().bytes - first.cache]).toEqual([3 * BYTES.single, 3 * BYTES.single]);
      // The next run matches as each rule alone, and reckons only what it makes.
      const texts = ['able and able', 'timed3word'];
      expect(matchAll(compiled, texts, 10_000)).toEqual(matchAll(rules.map((r) => compile(r.kind, r.pattern)), texts, 10_000));
      expect(block.bytes - before.block).toBe(grown + BYTES.own);
    });
    it('reckons a regex a post made when the post\u2019s matching throws right after making it, as when it runs out of time', () => {
      // A run ends by a throw too (a RangeError when a regex's backtracking outgrows its stack): what it made is reckoned all the same.
      const compiled = compileRules(words('abler', ...Array.from({ length: 40 }, (_, i) => `thrown${i}word`)));
      const block = compiled.words[0].block;
      const before = { block: block.bytes, cache: cacheHolds().bytes };
      const steps: MatchingSteps = {
        made: (what) => {
          if (what === 'own') throw new RangeError('Maximum call stack size exceeded');
        },
      };
      expect(() => matchAll(compiled, ['abler and abler'], 10_000, { retryBudgetMs: 10_000, steps })).toThrow(RangeError);
      const grown = BYTES.own + (block.bodies.length - 1) * BYTES.single;
      expect([block.bytes - before.block, cacheHolds().bytes - before.cache]).toEqual([grown, grown]);
    });
    it('holds the cache to its bound as soon as a post\u2019s regexes grow it past it, not at the next compile', () => {
      const limit = CACHE_LIMITS.bytes;
      try {
        // The cache holds another space's set, then this one, with room for less than what the post makes (its own regex and the
        // later members tried alone).
        CACHE_LIMITS.bytes = 1;
        const elsewhere = compileRules(words('afar1', 'afar2'));
        CACHE_LIMITS.bytes = limit;
        const compiled = compileRules(words('near', ...Array.from({ length: 20 }, (_, i) => `near${i}word`)));
        CACHE_LIMITS.bytes = cacheHolds().bytes + BYTES.own;
        const sets = cacheHolds().sets;
        matchAll(compiled, ['near'], 10_000);
        // The least recently used went (the other space's set and block), the set in use stayed, and the bound holds.
        expect(cacheHolds().sets).toBeLessThan(sets);
        expect(elsewhere.held.map((k) => k.sets.size)).toEqual([0]);
        expect(compiled.held.every((k) => k.sets.size === 1)).toBe(true);
        expect(cacheHolds().bytes).toBeLessThanOrEqual(Math.max(CACHE_LIMITS.bytes, compiled.held.reduce((n, k) => n + k.bytes, compiled.bytes)));
      } finally {
        CACHE_LIMITS.bytes = limit;
      }
    });
    it('drops the blocks not in use past the bound even when a block in use is less recently used than they are', () => {
      // Two spaces' sets compiled in turn, then a post of the first matched: its blocks are older than the second's, and the bound
      // applied after the run stopped at the first of them, leaving the second's blocks, in use by nothing, over the bound.
      const limit = CACHE_LIMITS.bytes;
      try {
        const mine = compileRules(words('older', ...Array.from({ length: 20 }, (_, i) => `older${i}word`)));
        const other = compileRules(words('newer1', 'newer2'));
        CACHE_LIMITS.bytes = 1;
        // 'older' comes first in its block: the later members tried where it matched grow the set in use past the bound.
        expect(matchAll(mine, ['older'], 10_000)[0].filter((r) => r.length)).toHaveLength(1);
        expect(other.held.map((k) => k.sets.size)).toEqual([0]);
        expect(cacheHolds()).toEqual({ blocks: mine.held.length, bytes: mine.held.reduce((n, k) => n + k.bytes, mine.bytes), sets: 1 });
      } finally {
        CACHE_LIMITS.bytes = limit;
      }
    });
    it('compiles a REGEX rule once for every set that holds it, the site\u2019s for every space, kept and reckoned as blocks are', () => {
      const site: RuleSpec = { kind: 'REGEX', pattern: 'sh(a|e)red+', siteWide: true };
      const one = compileRules([site, ...words('ours1')]);
      const other = compileRules([...words('theirs1'), { kind: 'REGEX', pattern: 'ow+n' }, site]);
      expect(other.alone.map(([i, re]) => [i, re === one.alone[0][1]])).toEqual([[1, false], [2, true]]);
      expect(matchAll(other, ['shared, owwn'], 10_000)[0].map((r) => r.length)).toEqual([0, 1, 1]);
      const limit = CACHE_LIMITS.bytes;
      try {
        // Past the bound they go as blocks go, with the sets holding them, but not the set in use's.
        CACHE_LIMITS.bytes = 1;
        const third = compileRules([{ kind: 'REGEX', pattern: 'third+' }, site]);
        expect(cacheHolds()).toMatchObject({ blocks: 2, bytes: 2 * BYTES.own + third.bytes, sets: 1 });
        expect(third.alone[1][1]).toBe(one.alone[0][1]);
        expect(compileRules([site, ...words('ours1')]).alone[0][1]).toBe(one.alone[0][1]);
        expect(compileRules(words('theirs1')).words).toHaveLength(1);
        expect(compileRules([...words('theirs1'), { kind: 'REGEX', pattern: 'ow+n' }, site]).alone[1][1]).not.toBe(one.alone[0][1]);
      } finally {
        CACHE_LIMITS.bytes = limit;
      }
    });
    it('keeps a set whose blocks another set dropped matching as each rule alone, its growth since reckoned nowhere', () => {
      // Nothing awaits between compileRules and matchAll (watched-words' screen), but a set held past another set's compiling (two
      // posts' screens interleaved, were there an await) must still match as its rules alone, and what V8 compiles for its dropped
      // blocks then (own regexes, members tried alone) is not reckoned in the cache, which no longer holds them.
      const limit = CACHE_LIMITS.bytes;
      try {
        CACHE_LIMITS.bytes = 1;
        const mine: RuleSpec[] = [...words('stale1', 'stale2', 'stale3'), { kind: 'REGEX', pattern: 'st(a)le\\d' }];
        const first = compileRules(mine);
        const other = compileRules(words('fresh1'));
        const reckoned = () => other.held.reduce((n, k) => n + k.bytes, other.bytes);
        expect(first.held.filter((k) => other.held.includes(k))).toEqual([]);
        expect(cacheHolds()).toMatchObject({ blocks: other.held.length, bytes: reckoned() });
        // Dropped, the set is named by nothing the cache kept of it (no set keys left behind to grow).
        expect(first.held.map((k) => k.sets.size)).toEqual(first.held.map(() => 0));
        const texts = ['stale1 stale2 stale3 stale4', 'fresh1'];
        expect(matchAll(first, texts, 10_000)).toEqual(matchAll(mine.map((r) => compile(r.kind, r.pattern)), texts, 10_000));
        expect(matchAll(first, texts, 10_000)[0].map((r) => r.length)).toEqual([1, 1, 1, 4]);
        expect(cacheHolds()).toMatchObject({ blocks: other.held.length, bytes: reckoned() });
        // The dropped set compiled again is compiled anew, its blocks reckoned from nothing.
        const again = compileRules(mine);
        expect(again).not.toBe(first);
        expect(cacheHolds()).toMatchObject({ blocks: again.held.length, bytes: again.held.reduce((n, k) => n + k.bytes, again.bytes) });
      } finally {
        CACHE_LIMITS.bytes = limit;
      }
    });
    it('keeps rule sets by the memory their rules take too, not only by how many there are', () => {
      // Sets of the same rules in other orders (spaces whose rules were made in other orders) share every block, and each kept its own
      // key (every pattern, in order) and indexes, reckoned nowhere: 128 sets of 500 rules of 150 characters held 23 MB.
      const rules = words(...Array.from({ length: 60 }, (_, i) => `ordered${i}${'ж'.repeat(150)}`));
      const orders = Array.from({ length: 30 }, (_, s) => [...rules.slice(s), ...rules.slice(0, s)]);
      const shared = blocksOf(compileRules(orders[0]));
      const limit = CACHE_LIMITS.bytes;
      try {
        // Room for the blocks and 256 KB: about 8 of these sets (10,000 characters of two-byte key each, 20 KB, and 12 KB of indexes).
        CACHE_LIMITS.bytes = shared.reduce((n, b) => n + b.bytes, 0) + 256 * 1024;
        const sets = orders.map((order) => compileRules(order));
        expect(cacheHolds().sets).toBeGreaterThan(3);
        expect(cacheHolds().sets).toBeLessThan(12);
        expect(cacheHolds().bytes).toBeLessThanOrEqual(CACHE_LIMITS.bytes);
        // The sets went, not the blocks they share: a set dropped is made again of the same blocks, compiling nothing.
        expect(sets.map((set) => blocksOf(set).filter((b) => !shared.includes(b)).length)).toEqual(sets.map(() => 0));
        const again = compileRules(orders[0]);
        expect(again).not.toBe(sets[0]);
        expect(blocksOf(again)).toEqual(shared);
      } finally {
        CACHE_LIMITS.bytes = limit;
      }
    });
    it('never makes a block of no words, whatever the size of a word', () => {
      // A word bigger than a block (12,000 characters: more than the 200 a saved rule may have) first in a run cut by size: alone in its block.
      const rules = words('a'.repeat(13_000), 'undefined');
      expect(compileRules(rules).words.map((w) => w.block.bodies.length)).toEqual([1, 1]);
      const { combined, alone } = both(rules, ['an  undefined !']);
      expect(combined).toEqual(alone);
    });
  });

  it('tries the later members of a block at a bounded number of places, however often an earlier one recurs', () => {
    // A watched word repeated all through a post: each place it matches, every later member of its block not found yet was tried
    // (10,000 places x the members after it); past a bound the members not found are each run once over the text instead.
    const rules: RuleSpec[] = ['a', ...Array.from({ length: 127 }, (_, i) => `later${i}word`)].map((pattern) => ({ kind: 'WORD', pattern }));
    const compiled = compileRules(rules);
    // 'a' comes first in its block (sorted), with later members after it.
    const block = compiled.words[0].block;
    expect([block.bodies[0], block.bodies.length > 16]).toEqual(['a', true]);
    let tries = 0;
    for (const one of block.single) {
      // Made here, as the run would make it (a member's regex is made when it first runs), to be counted.
      const re = (one.re ??= new RegExp(one.source, 'iuy'));
      const test = re.test.bind(re);
      re.test = (text: string) => (tries++, test(text));
    }
    const text = 'a cat and '.repeat(10_000) + 'later99word';
    const hits = matchAll(compiled, [text], 10_000)[0];
    expect(hits.flatMap((ranges, i) => (ranges.length ? [[rules[i].pattern, ranges.length]] : []))).toEqual([['a', 10_000], ['later99word', 1]]);
    expect(tries).toBeLessThanOrEqual(64 * 128);
  });

  it('keeps no more than a bound of own regexes one post makes, so one post cannot push other spaces\u2019 blocks out', () => {
    // A post repeating a block's first word had every later member not found run over it by its own regex, each kept (24 KB):
    // 127 a block, 3 MB, enough to push another space's blocks out of the cache. Past the bound a matchAll makes them for itself alone.
    const others = ['elsewhere1', 'elsewhere2'].map((pattern): RuleSpec => ({ kind: 'WORD', pattern }));
    const rules: RuleSpec[] = ['a', ...Array.from({ length: 127 }, (_, i) => `made${i}word`)].map((pattern) => ({ kind: 'WORD', pattern }));
    const limit = CACHE_LIMITS.bytes;
    try {
      const elsewhere = compileRules(others);
      const compiled = compileRules(rules);
      const block = compiled.words[0].block;
      expect([block.bodies[0], block.bodies.length]).toEqual(['a', 128]);
      // Room for both sets, every member run alone (3 KB each) and a megabyte: what the bound keeps of own regexes (16 of 24 KB), not 127.
      CACHE_LIMITS.bytes = cacheHolds().bytes + 127 * BYTES.single + 1024 * 1024;
      const text = 'a cat and '.repeat(100) + 'made99word';
      const hits = matchAll(compiled, [text], 10_000)[0];
      expect(hits.flatMap((ranges, i) => (ranges.length ? [[rules[i].pattern, ranges.length]] : []))).toEqual([['a', 100], ['made99word', 1]]);
      expect(block.own.filter((re) => re).length).toBe(CACHE_LIMITS.ownKeptPerMatch);
      expect(compileRules(others)).toBe(elsewhere);
      // The next post keeps as many more, and finds the same.
      expect(matchAll(compiled, [text], 10_000)[0]).toEqual(hits);
      expect(block.own.filter((re) => re).length).toBe(2 * CACHE_LIMITS.ownKeptPerMatch);
    } finally {
      CACHE_LIMITS.bytes = limit;
    }
  });

  it('keeps no more than a bound of members tried alone one post makes, so one post cannot push other spaces\u2019 blocks out', () => {
    // A post naming the first word of each of a set's blocks had every later member of each tried alone where it matched, each kept
    // (3 KB): 127 a block, with no bound, where the own regexes one post keeps have one. Past the bound a matchAll tries them for
    // itself alone, and finds the same.
    const rules = Array.from({ length: 600 }, (_, i): RuleSpec => ({ kind: 'WORD', pattern: `tried${i}word` }));
    const compiled = compileRules(rules);
    const ran = () => compiled.words.reduce((n, w) => n + w.block.single.filter((one) => one.ran).length, 0);
    const later = compiled.words.reduce((n, w) => n + w.block.bodies.length - 1, 0);
    expect(later).toBeGreaterThan(2 * CACHE_LIMITS.singleKeptPerMatch);
    const text = compiled.words.map((w) => w.block.bodies[0]).join(' ');
    const hits = matchAll(compiled, [text], 10_000);
    expect(hits).toEqual(matchAll(rules.map((r) => compile(r.kind, r.pattern)), [text], 10_000));
    expect(hits[0].filter((r) => r.length)).toHaveLength(compiled.words.length);
    expect(ran()).toBe(CACHE_LIMITS.singleKeptPerMatch);
    // The next post keeps as many more, and finds the same.
    expect(matchAll(compiled, [text], 10_000)).toEqual(hits);
    expect(ran()).toBe(2 * CACHE_LIMITS.singleKeptPerMatch);
  });

  it('holds no regex of a member not run, so what a post tries past the bound leaves no compiled code in its block', () => {
    // V8 gives a regex made from the same source and flags as a live one that one's compiled code (its compilation cache): a member's
    // regex made with its block, while the cache still had it, took the code of the copy tried past the bound, kept and not reckoned.
    const rules = Array.from({ length: 600 }, (_, i): RuleSpec => ({ kind: 'WORD', pattern: `copied${i}word` }));
    const compiled = compileRules(rules);
    const singles = compiled.words.flatMap((w) => w.block.single);
    matchAll(compiled, [compiled.words.map((w) => w.block.bodies[0]).join(' ')], 10_000);
    expect(singles.filter((one) => one.ran)).toHaveLength(CACHE_LIMITS.singleKeptPerMatch);
    expect(singles.filter((one) => one.re !== undefined && !one.ran).map((one) => one.source)).toEqual([]);
  });

  it('refuses invalid, empty-matching and catastrophic patterns', () => {
    expect(validatePattern('REGEX', '(unclosed')).toMatch(/not a valid pattern/);
    expect(validatePattern('REGEX', 'a*')).toMatch(/empty/);
    expect(validatePattern('REGEX', '(a+)+$')).toMatch(/too slow/);
    expect(validatePattern('REGEX', '(x+x+)+y')).toMatch(/too slow/);
    expect(validatePattern('REGEX', 'free\\s+money')).toBeNull();
    expect(validatePattern('WORD', 'v*agra')).toBeNull();
  });

  it('refuses patterns that are fast on a short text and quadratic on one as long as a post', () => {
    // Each tries from every position to the end of a run of letters: seconds on a 100,000-character body.
    for (const pattern of ['\\w+@\\w+', '.*x', '(?:a|b)*c', '(?:a{100}){100}b']) expect([pattern, validatePattern('REGEX', pattern)]).toEqual([pattern, expect.stringMatching(/too slow/)]);
    // Linear ones stay, WORD rules with wildcards at either end among them: given ten seconds a try, on a total that stands still, so
    // that a slow or loaded machine does not refuse them (a faster one only makes them faster; the quadratic ones above overrun any
    // machine's 250 ms by far). What validatePattern does with the budget is said on the test's clock below.
    const ample = { budgetMs: 10_000, now: () => 0 };
    for (const pattern of ['free\\s+money', '\\u200B{2,}', '^spam']) expect([pattern, validatePattern('REGEX', pattern, ample)]).toEqual([pattern, null]);
    for (const word of ['*spam*', 'v*agra', 'free money']) expect([word, validatePattern('WORD', word, ample)]).toEqual([word, null]);
  });

  it('tries a pattern on every kind of run as long as a post, and refuses one that overruns on such a run alone', () => {
    // Said by what runs: the tries are the test's, on the test's clock, as a quadratic pattern's would take (1 ms on up to 3,001
    // characters, seconds on 100,000): the try of a run as long as a post overruns its 25 ms and its retry's 250, however fast the machine.
    let clock = 0;
    const texts: string[] = [];
    const quadratic = (_re: RegExp, text: string, timeoutMs: number) => {
      texts.push(text);
      const takes = text.length > 3_001 ? 5_000 : 1;
      clock += Math.min(takes, timeoutMs);
      if (takes > timeoutMs) throw new MatchTimeout('overran');
      return false;
    };
    expect(validatePattern('REGEX', '.*x', { now: () => clock, run: quadratic })).toMatch(/too slow/);
    // Refused at the first run as long as a post (of letters), tried twice; every shorter one finished.
    // (Each run said by its first characters and its length, and below by what it is made of: one ending it, '!' or, after digits, 'x'.)
    const runs = (tried: string[]) => tried.filter((t) => t.length > 3_001).map((t) => `${t.slice(0, 2)} × ${t.length}`);
    expect(runs(texts)).toEqual(['aa × 100001', 'aa × 100001']);
    expect(clock).toBe(275 + texts.length - 2);
    // Where every try finishes, the pattern stays, and was tried on runs of letters, digits, spaces, two letters in turn and its own letter.
    texts.length = 0;
    expect(validatePattern('REGEX', '.*x', { now: () => 0, run: (_re, text) => (texts.push(text), false) })).toBeNull();
    expect(runs(texts)).toEqual(['aa × 100001', '11 × 100001', '   × 100001', 'ab × 100001', 'xx × 100001']);
    expect(texts.filter((t) => t.length > 3_001 && !/^(?:a+!|1+x| +!|(?:ab)+!|x+!)$/.test(t))).toEqual([]);
  });

  it('refuses a pattern whose tries together spend the total budget, however fast each one is', () => {
    // The tries run on the main thread: past the total (a second by default) none more is made, and the pattern is too slow.
    expect(validatePattern('WORD', 'v*agra', { totalMs: 0 })).toMatch(/too slow/);
    expect(validatePattern('REGEX', 'free\\s+money', { totalMs: 0 })).toMatch(/too slow/);
    // Refusals that need no try come first.
    expect(validatePattern('REGEX', '(unclosed', { totalMs: 0 })).toMatch(/not a valid pattern/);
  });

  it('cuts each try to what is left of the total, and starts none once it is spent', () => {
    // Said by what runs: the tries are the test's, on the test's clock, which moves by what a try takes. Each takes 200 ms, so each
    // input's first try overruns its 25 ms and its retry (250 ms) passes: five inputs take 1,125 ms of the 1,000.
    let clock = 0;
    const tries: Array<{ at: number; timeoutMs: number }> = [];
    const run = (_re: RegExp, _text: string, timeoutMs: number) => {
      tries.push({ at: clock, timeoutMs });
      clock += Math.min(200, timeoutMs);
      if (timeoutMs < 200) throw new MatchTimeout('overran');
      return false;
    };
    expect(validatePattern('REGEX', 'free\\s+money', { now: () => clock, run })).toMatch(/too slow/);
    // No try may run past the total: the fifth input's retry gets the 75 ms left, overruns them, and the pattern is refused there.
    expect(tries.filter((t) => t.at + t.timeoutMs > 1000)).toEqual([]);
    expect(tries.map((t) => t.timeoutMs)).toEqual([25, 250, 25, 250, 25, 250, 25, 250, 25, 75]);
    expect(clock).toBe(1000);
    // With nothing left, no try starts at all.
    tries.length = 0;
    expect(validatePattern('WORD', 'v*agra', { totalMs: 0, now: () => clock, run })).toMatch(/too slow/);
    expect(tries).toEqual([]);
  });

  it('tries the pattern on empty text within the total too, first', () => {
    // (?:(?:a?){3000}){3000} runs seconds on '' (then overflows the stack): run outside the budget, it held the process that long
    // whatever the total. Said by what runs: the tries are the test's, and the empty text is the first of them, on the total's clock.
    const texts: string[] = [];
    const run = (re: RegExp, text: string) => (texts.push(text), re.test(text));
    expect(validatePattern('REGEX', 'a*', { run })).toMatch(/empty/);
    expect(texts).toEqual(['']);
    texts.length = 0;
    expect(validatePattern('REGEX', 'free\\s+money', { run })).toBeNull();
    expect(texts[0]).toBe('');
    // With nothing left of the total, not even that one runs: the pattern is too slow.
    texts.length = 0;
    expect(validatePattern('REGEX', 'a*', { totalMs: 0, run })).toMatch(/too slow/);
    expect(texts).toEqual([]);
  });

  it('refuses a pattern whose backtracking overflows the stack, as it refuses a slow one', () => {
    // V8 throws a RangeError (Maximum call stack size exceeded) when a regex's backtracking outgrows its stack: about 2 s into
    // this one on a loaded 2-core machine, where the default budget refuses it as too slow first, but a faster machine may get there
    // within it. Given the time, the try throws: the pattern is refused (BAD_USER_INPUT at save), the error not thrown on (INTERNAL).
    // Said by what runs: the tries are the test's, the real regex run with no budget at all, on a clock that stands still.
    const overflows = '(?:(?:a?){2500}){2500}';
    expect(() => compile('REGEX', overflows).test('')).toThrow(RangeError);
    const texts: string[] = [];
    const run = (re: RegExp, text: string) => (texts.push(text), re.test(text));
    expect(validatePattern('REGEX', overflows, { now: () => 0, run })).toMatch(/overflows/);
    // On the first try (the empty text's), not retried.
    expect(texts).toEqual(['']);
  });

  it('believes a budget overrun only when a second, longer run overruns too', () => {
    // Said by what runs: the runs are the test's, on the test's clock, each taking 200 ms of it, and overrunning a budget of less.
    const budgets: number[] = [];
    const found: ReturnType<typeof matchAll> = [[[[0, 4]]]];
    const run = (_rules: CompiledRules, _texts: string[], budgetMs: number) => {
      budgets.push(budgetMs);
      if (budgetMs < 200) throw new MatchTimeout('overran');
      return found;
    };
    const spam = [compile('WORD', 'spam')];
    // Without a retry, the overrun is believed.
    expect(() => matchAll(spam, ['spam'], 50, { run })).toThrow(MatchTimeout);
    expect(budgets.splice(0)).toEqual([50]);
    // With one long enough, the second run answers.
    expect(matchAll(spam, ['spam'], 50, { retryBudgetMs: 1_000, run })).toBe(found);
    expect(budgets.splice(0)).toEqual([50, 1_000]);
    // A retry that overruns too is believed.
    expect(() => matchAll(spam, ['spam'], 50, { retryBudgetMs: 100, run })).toThrow(MatchTimeout);
    expect(budgets.splice(0)).toEqual([50, 100]);
    // A run within its budget is not retried.
    expect(matchAll(spam, ['spam'], 1_000, { retryBudgetMs: 4_000, run })).toBe(found);
    expect(budgets.splice(0)).toEqual([1_000]);
    // On the VM's clock, a catastrophic pattern (2^40 ways to split the run: hours on any machine) overruns its retry too.
    expect(() => matchAll([/(a+)+$/giu], ['a'.repeat(40) + '!'], 1, { retryBudgetMs: 30 })).toThrow(MatchTimeout);
  });

  it('interrupts a slow pattern at matching time instead of stalling', () => {
    // 2^40 ways to split the run: hours on any machine, so the VM's budget interrupts it however fast the machine is.
    expect(() => matchAll([/(a+)+$/giu], ['a'.repeat(40) + '!'], 30)).toThrow(MatchTimeout);
    // The interrupted run leaves the shared matching context usable.
    expect(matchAll([compile('WORD', 'spam')], ['no spam here'], 10_000)[0][0]).toEqual([[3, 7]]);
  });
});
