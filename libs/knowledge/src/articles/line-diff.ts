import { diffLines } from 'diff';

export type DiffLineKind = 'ADDED' | 'REMOVED' | 'UNCHANGED';

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
  /** Line number in the old text (null for an added line). */
  oldNumber: number | null;
  /** Line number in the new text (null for a removed line). */
  newNumber: number | null;
}

/**
 * Past this many edits jsdiff gives up (its search is quadratic in the edit count), and the
 * change is shown as the old text removed and the new one added: two 100,000-character
 * bodies that share nothing then cost milliseconds, not seconds.
 */
export const MAX_EDIT_LENGTH = 2_000;

function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A line-level diff of two texts (line endings normalised to \n). */
export function lineDiff(before: string, after: string): DiffLine[] {
  // Every line ends with \n, the last one too: a line gaining a successor is not a change.
  const a = withFinalNewline(before.replace(/\r\n?/g, '\n'));
  const b = withFinalNewline(after.replace(/\r\n?/g, '\n'));
  const changes = diffLines(a, b, { maxEditLength: MAX_EDIT_LENGTH }) ?? [
    { value: a, removed: true, added: false, count: 0 },
    { value: b, added: true, removed: false, count: 0 },
  ];
  const out: DiffLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  for (const change of changes) {
    for (const text of splitLines(change.value)) {
      if (change.added) out.push({ kind: 'ADDED', text, oldNumber: null, newNumber: ++newNo });
      else if (change.removed) out.push({ kind: 'REMOVED', text, oldNumber: ++oldNo, newNumber: null });
      else out.push({ kind: 'UNCHANGED', text, oldNumber: ++oldNo, newNumber: ++newNo });
    }
  }
  return out;
}
