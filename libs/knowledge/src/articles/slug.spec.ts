import { firstFreeSlug, SLUG_MAX, slugify } from './slug';

describe('slugify', () => {
  it('keeps lower-case letters and digits, folds accents, single dashes', () => {
    expect(slugify('  Réinitialiser   le mot de passe (v2)! ')).toBe('reinitialiser-le-mot-de-passe-v2');
    expect(slugify('C++ & C#')).toBe('c-c');
  });

  it('falls back to "article" when nothing is left', () => {
    expect(slugify('日本語')).toBe('article');
    expect(slugify('---')).toBe('article');
  });

  it('cuts long titles at a word boundary', () => {
    const slug = slugify('word '.repeat(40));
    expect(slug.length).toBeLessThanOrEqual(SLUG_MAX);
    expect(slug.endsWith('-')).toBe(false);
    expect(slug).toMatch(/^(word-)*word$/);
  });
});

describe('firstFreeSlug', () => {
  it('numbers from 2', () => {
    expect(firstFreeSlug('faq', new Set())).toBe('faq');
    expect(firstFreeSlug('faq', new Set(['faq', 'faq-2']))).toBe('faq-3');
  });
});
