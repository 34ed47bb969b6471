import { parseQuery } from './query-parser';

describe('parseQuery', () => {
  it('splits words, phrases and exclusions', () => {
    expect(parseQuery('grinder "burr size" -blade -"french press" ')).toEqual({
      words: ['grinder'],
      phrases: [['burr', 'size']],
      excluded: [['blade'], ['french', 'press']],
      prefix: null,
    });
  });

  it('treats the last word as a prefix while it is being typed', () => {
    expect(parseQuery('espresso mach').prefix).toBe('mach');
    expect(parseQuery('espresso mach ').prefix).toBeNull();
    expect(parseQuery('espresso "mach"').prefix).toBeNull();
    expect(parseQuery('espresso -mach').prefix).toBeNull();
  });

  it('keeps letters and digits only, lower-cased, so no engine syntax gets through', () => {
    const q = parseQuery(`café & (x | y) : ! <script> 'drop'`);
    expect(q.words).toEqual(['café', 'x', 'y', 'script', 'drop']);
    expect(q.phrases).toEqual([]);
  });

  it('keeps the marks written on letters inside their word, and lower-cases as PostgreSQL does', () => {
    expect(parseQuery('नमस्ते مَرْحَبًا שָׁלוֹם สวัสดี ').words).toEqual(['नमस्ते', 'مَرْحَبًا', 'שָׁלוֹם', 'สวัสดี']);
    expect(parseQuery('İZMİR ΟΔΟΣ ').words).toEqual(['i\u0307zmi\u0307r', 'οδοσ']);
    // A mark with no letter before it is no word; superscripts and fractions separate words.
    expect(parseQuery('\u0301 x² ½ ').words).toEqual(['x']);
  });

  it('keeps joined words together as a phrase', () => {
    expect(parseQuery('e-mail v1.2').phrases).toEqual([['e', 'mail'], ['v1', '2']]);
  });

  it('ignores empty quotes and lone punctuation, and closes an unfinished quote', () => {
    expect(parseQuery('"" - ?? "open phrase')).toEqual({ words: [], phrases: [['open', 'phrase']], excluded: [], prefix: null });
  });

  it('keeps a long word whole, and leaves out one longer than PostgreSQL indexes', () => {
    const long = 'a'.repeat(300);
    expect(parseQuery(`"${long}" x`).words).toEqual([long, 'x']);
    expect(parseQuery(`${'é'.repeat(1023)} ${'é'.repeat(1024)} x`).words).toEqual(['é'.repeat(1023), 'x']);
  });

  it('caps the number of terms', () => {
    expect(parseQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')).words).toHaveLength(64);
  });
});
