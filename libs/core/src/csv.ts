/**
 * What a spreadsheet takes a cell's text to start a formula with: =, +, -, @, a tab or a carriage
 * return, and the full-width ＝＋－＠ that a Japanese or Chinese input method types, which a
 * spreadsheet in those locales reads as the ASCII ones.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * One RFC 4180 CSV field: dates as ISO text, objects as JSON, quoted when needed. Text that a
 * spreadsheet would run as a formula (FORMULA_START) gets a leading apostrophe, so an exported
 * title cannot become a formula on a moderator's machine.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(values: unknown[]): string {
  return values.map(csvField).join(',');
}
