import { lineDiff, MAX_EDIT_LENGTH } from './line-diff';

describe('lineDiff', () => {
  it('marks added, removed and unchanged lines with their numbers on each side', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nB\nc\nd')).toEqual([
      { kind: 'UNCHANGED', text: 'a', oldNumber: 1, newNumber: 1 },
      { kind: 'REMOVED', text: 'b', oldNumber: 2, newNumber: null },
      { kind: 'ADDED', text: 'B', oldNumber: null, newNumber: 2 },
      { kind: 'UNCHANGED', text: 'c', oldNumber: 3, newNumber: 3 },
      { kind: 'ADDED', text: 'd', oldNumber: null, newNumber: 4 },
    ]);
  });

  it('treats CRLF like LF and an empty text as no lines', () => {
    expect(lineDiff('x\r\ny', 'x\ny')).toEqual([
      { kind: 'UNCHANGED', text: 'x', oldNumber: 1, newNumber: 1 },
      { kind: 'UNCHANGED', text: 'y', oldNumber: 2, newNumber: 2 },
    ]);
    expect(lineDiff('a\nb', 'a\nb\nc')).toEqual([
      { kind: 'UNCHANGED', text: 'a', oldNumber: 1, newNumber: 1 },
      { kind: 'UNCHANGED', text: 'b', oldNumber: 2, newNumber: 2 },
      { kind: 'ADDED', text: 'c', oldNumber: null, newNumber: 3 },
    ]);
    expect(lineDiff('', 'new')).toEqual([{ kind: 'ADDED', text: 'new', oldNumber: null, newNumber: 1 }]);
  });

  it('shows a wholesale rewrite as removed then added when it exceeds the edit budget', () => {
    const before = Array.from({ length: MAX_EDIT_LENGTH }, (_, i) => `old ${i}`).join('\n');
    const after = Array.from({ length: MAX_EDIT_LENGTH }, (_, i) => `new ${i}`).join('\n');
    const lines = lineDiff(before, after);
    expect(lines).toHaveLength(2 * MAX_EDIT_LENGTH);
    expect(lines[0]).toEqual({ kind: 'REMOVED', text: 'old 0', oldNumber: 1, newNumber: null });
    expect(lines[MAX_EDIT_LENGTH]).toEqual({ kind: 'ADDED', text: 'new 0', oldNumber: null, newNumber: 1 });
  });
});
