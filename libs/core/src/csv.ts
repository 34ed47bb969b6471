/**
 * What a spreadsheet takes a cell's text to start a formula with: =, +, -, @, a tab or a carriage
 * return; and, read through NFKC (`startsFormula`), every compatibility form of them: the
 * full-width ＝＋－＠ that a Japanese or Chinese input method types, which a spreadsheet in those
 * locales reads as the ASCII ones, and as well the small forms ﹦﹢﹣﹫ (U+FE66, U+FE62, U+FE63,
 * U+FE6B, compatibility characters of the Chinese CNS 11643) and the super- and subscript ⁺⁼₊₌
 * (their minus signs become U+2212 under NFKC, not -, and are left as U+2212 is). Whether a
 * spreadsheet runs the small forms could not be settled: LibreOffice Calc 7.4 (CSV import with formulas evaluated, in
 * the en-US, ja-JP and zh-TW locales) runs none of them, nor the full-width forms, nor even
 * + - @ (only =); Excel, whose CJK locales fold width, could not be tried. They are guarded
 * because a reader that folds compatibility forms folds them to the same characters, and a guard
 * that is not needed costs an apostrophe before a rare title.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Whether text starts as a formula would, its first character read through NFKC (FORMULA_START). */
function startsFormula(s: string): boolean {
  const first = s.codePointAt(0);
  return first !== undefined && FORMULA_START.test(String.fromCodePoint(first).normalize('NFKC'));
}

/**
 * One RFC 4180 CSV field: dates as ISO text, objects as JSON, quoted when needed. Text that a
 * spreadsheet would run as a formula (startsFormula) gets a leading apostrophe, so an exported
 * title cannot become a formula on a moderator's machine.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && startsFormula(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(values: unknown[]): string {
  return values.map(csvField).join(',');
}
