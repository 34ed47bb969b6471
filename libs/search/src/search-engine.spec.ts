import { withLettersAsWritten } from './search-engine';

describe('withLettersAsWritten (a snippet cut from folded text, shown with its letters as written)', () => {
  const fold = (letter: string) => (letter === 'ß' ? 'ss' : letter === 'Æ' ? 'AE' : letter);
  const marks = '[]';

  it('puts each folded letter back, fragment by fragment, astral letters and highlights kept', () => {
    const written = 'Die Straße 😀 nach Ærø. Die Straße endet.';
    expect(withLettersAsWritten('[Strasse] 😀 nach … Die [Strasse]', written, fold, marks, ' … ')).toBe('[Straße] 😀 nach … Die [Straße]');
    expect(withLettersAsWritten('nach [AE]rø', written, fold, marks, ' … ')).toBe('nach [Æ]rø');
  });

  it('shows the letter whose folding a highlight or a fragment cuts through', () => {
    expect(withLettersAsWritten('[Stras]se', 'Straße', fold, marks, '…')).toBe('[Straß]e');
    expect(withLettersAsWritten('…se endet', 'Straße endet', fold, marks, '…')).toBe('…ße endet');
  });

  it('leaves a fragment it cannot place, or text with nothing folded, as it is', () => {
    expect(withLettersAsWritten('[Strasse] ist zu', 'Die Straße endet.', fold, marks, '…')).toBe('[Strasse] ist zu');
    expect(withLettersAsWritten('[x]', undefined, fold, marks, '…')).toBe('[x]');
  });

  it('places fragments of a text written with letters and their accents apart, as the folded text was composed (NFC) before folding', () => {
    // As Meilisearch's documents are folded: composed first, é kept, ß as ss, an accent alone as nothing.
    const folding = (letter: string) => letter.normalize('NFC').replace('ß', 'ss').replace('\u0301', '');
    const written = 'Cafe\u0301 an der Straße';
    expect(withLettersAsWritten('Café an der [Strasse]', written, folding, marks, '…')).toBe('Café an der [Straße]');
  });
});
