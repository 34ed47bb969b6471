import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { SpamSample } from './classifier';

/**
 * The YouTube Spam Collection (Alberto, Lochter & Almeida 2015): header
 * COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS with CLASS 1 = spam, 0 = ham. Columns are found by
 * header name so a reordered or extended export still reads correctly.
 */
export function parseYoutubeSpamCsv(input: string, source = 'CSV'): SpamSample[] {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    // RFC 4180, strictly: malformed quoting throws rather than shifting columns, which would
    // mislabel every later row. Short records are reported below, with their line. (The
    // library's types do not describe what `info: true` returns, hence the cast.)
    records = parse(input, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'] }) as unknown as typeof records;
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  const [first, ...rows] = records;
  if (!first) throw new Error(`${source}: empty file`);
  const header = first.record;
  const names = header.map((h) => h.trim().toUpperCase());
  const content = names.indexOf('CONTENT');
  const cls = names.indexOf('CLASS');
  if (content < 0 || cls < 0) throw new Error(`${source}: the header must name CONTENT and CLASS columns (got ${header.join(', ')})`);
  return rows.map(({ record: row, info }) => {
    if (row.length !== header.length) throw new Error(`${source}: line ${info.lines} has ${row.length} fields, the header has ${header.length}`);
    const label = row[cls].trim();
    if (label !== '0' && label !== '1') throw new Error(`${source}: line ${info.lines} has CLASS ${JSON.stringify(label)}, expected 0 or 1`);
    return { text: row[content], spam: label === '1' };
  });
}

export function readYoutubeSpamCsv(file: string): SpamSample[] {
  return parseYoutubeSpamCsv(readFileSync(file, 'utf8'), file);
}
