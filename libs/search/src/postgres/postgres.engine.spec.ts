import { termShare } from './postgres.engine';

describe('termShare (how common a query term is, from lexeme statistics)', () => {
  const freq = new Map([
    ['distanc', 0.02],
    ['distil', 0.03],
    ['distribut', 0.04],
    ['select', 0.019],
  ]);

  it('counts a lexeme once however many typed words stem to it', () => {
    // A completed prefix "dist" lists distance, distances, distill, distilled...: four words, two lexemes.
    expect(termShare(`'dist' | 'distanc' | 'distanc' | 'distil' | 'distil'`, freq, 0.001)).toBeCloseTo(0.001 + 0.02 + 0.03, 10);
  });

  it('adds up alternatives, counts unlisted lexemes as rare, and a prefix as every listed lexeme it starts', () => {
    expect(termShare(`'select'`, freq, 0.001)).toBeCloseTo(0.019, 10);
    expect(termShare(`'selectt' | 'select'`, freq, 0.001)).toBeCloseTo(0.02, 10);
    expect(termShare(`'dist':*`, freq, 0.001)).toBeCloseTo(0.09, 10);
    expect(termShare(`'dist':* | 'dist':*`, freq, 0.001)).toBeCloseTo(0.09, 10);
    expect(termShare(`'o''brien'`, new Map([["o'brien", 0.005]]), 0.001)).toBeCloseTo(0.005, 10);
  });
});
