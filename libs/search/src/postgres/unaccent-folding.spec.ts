import { unaccentFolding } from './unaccent-folding';

describe('unaccentFolding (letters as the server’s unaccent reads them)', () => {
  const readings: Array<[string, string]> = [['ß', 'ss'], ['ø', 'o'], ['ᴀ', 'A'], ['ª', 'a'], ['µ', 'μ'], ['\u0301', ''], ['ŉ', "'n"], ['ʼ', "'"], ['²', '2'], ['½', ' 1/2']];
  const folding = unaccentFolding(readings);

  it('folds letters, digits and marks it is given readings of, composed first, and the rest as written', () => {
    expect(folding.fold('Straße øre ᴀb Nª µg йогурт')).toBe('Strasse ore Ab Na μg йогурт');
    // A letter and its accent written apart are one letter first (é, of which this folding has no reading), and an accent no letter composes with is read on its own.
    expect(folding.fold('cafe\u0301 x\u0301')).toBe('café x');
    expect(folding.word('ᴀbß')).toBe('abss');
  });

  it('keeps as written a letter read as a sign, and what is no letter, digit or mark (which separates words before unaccent reads it)', () => {
    expect(folding.fold('ŉabc Oʼneill m² ½')).toBe('ŉabc Oʼneill m² ½');
  });

  it('sets foldings apart by the readings they use alone, in whatever order they were read', () => {
    expect(unaccentFolding([...readings].reverse()).fingerprint).toBe(folding.fingerprint);
    expect(unaccentFolding(readings.filter(([letter]) => !['ŉ', '²'].includes(letter))).fingerprint).toBe(folding.fingerprint);
    expect(unaccentFolding(readings.filter(([letter]) => letter !== 'ª')).fingerprint).not.toBe(folding.fingerprint);
    expect(unaccentFolding([...readings, ['ℌ', 'H']]).fingerprint).not.toBe(unaccentFolding([...readings, ['ℌ', 'x']]).fingerprint);
  });
});
