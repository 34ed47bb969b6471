import { SNIPPET_CUT, SNIPPET_MARK, snippetHtml, withLettersAsWritten } from './search-engine';

describe('withLettersAsWritten (a snippet cut from folded text, shown with its letters as written)', () => {
  const fold = (letter: string) => (letter === 'ß' ? 'ss' : letter === 'Æ' ? 'AE' : letter);
  const marks = '[]';
  /** Between fragments, as both engines pass it. */
  const cut = SNIPPET_CUT;

  it('puts each folded letter back, fragment by fragment, astral letters and highlights kept', () => {
    const written = 'Die Straße 😀 nach Ærø. Die Straße endet.';
    expect(withLettersAsWritten(`[Strasse] 😀 nach${cut}Die [Strasse]`, written, fold, marks, cut)).toBe(`[Straße] 😀 nach${cut}Die [Straße]`);
    expect(withLettersAsWritten('nach [AE]rø', written, fold, marks, cut)).toBe('nach [Æ]rø');
  });

  it('shows the letter whose folding a highlight or a fragment cuts through', () => {
    expect(withLettersAsWritten('[Stras]se', 'Straße', fold, marks, cut)).toBe('[Straß]e');
    expect(withLettersAsWritten(`${cut}se endet`, 'Straße endet', fold, marks, cut)).toBe(`${cut}ße endet`);
  });

  it('leaves a fragment it cannot place, or text with nothing folded, as it is', () => {
    expect(withLettersAsWritten('[Strasse] ist zu', 'Die Straße endet.', fold, marks, cut)).toBe('[Strasse] ist zu');
    expect(withLettersAsWritten('[x]', undefined, fold, marks, cut)).toBe('[x]');
  });

  it('places a fragment holding an ellipsis the author wrote whole, and puts its letters back on both sides of it', () => {
    // The fragment's text up to the ellipsis also stands earlier, written Straße there.
    const written = 'Die Straße… endet. Die Strasse… endet an der Straße.';
    expect(withLettersAsWritten('Die [Strasse]… endet an der [Strasse].', written, fold, marks, cut)).toBe('Die [Strasse]… endet an der [Straße].');
  });

  it('places fragments of a text written with letters and their accents apart, as the folded text was composed (NFC) before folding', () => {
    // As Meilisearch's documents are folded: composed first, é kept, ß as ss, an accent alone as nothing.
    const folding = (letter: string) => letter.normalize('NFC').replace('ß', 'ss').replace('\u0301', '');
    const written = 'Cafe\u0301 an der Straße';
    expect(withLettersAsWritten('Café an der [Strasse]', written, folding, marks, cut)).toBe('Café an der [Straße]');
  });
});

describe('snippetHtml (an engine\'s snippet as the client gets it)', () => {
  const fold = (letter: string) => (letter === 'ß' ? 'ss' : letter);
  const [cut, open, close] = [SNIPPET_CUT, SNIPPET_MARK.open, SNIPPET_MARK.close];

  it('puts the letters back fragment by fragment, then shows the cuts, escapes the text and marks the matches', () => {
    const written = 'Die Straße… <endet> & die Straße ist zu.';
    const raw = `${cut}Die Strasse… <endet>${cut}die ${open}Strasse${close} ist${cut}`;
    expect(snippetHtml(raw, written, fold, '…')).toBe('…Die Straße… &lt;endet&gt;…die <mark>Straße</mark> ist…');
    expect(snippetHtml(raw, written, fold, ' … ')).toBe(' … Die Straße… &lt;endet&gt; … die <mark>Straße</mark> ist … ');
  });

  it('escapes and marks a text with nothing folded, as it is', () => {
    expect(snippetHtml(`a ${open}"b"${close} 'c'`, null, fold, '…')).toBe('a <mark>&quot;b&quot;</mark> &#39;c&#39;');
  });
});
