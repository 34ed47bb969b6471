import { readFileSync } from 'node:fs';
import { SpamSample } from './classifier';

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes, `""` inside quotes is
 * one quote, and quoted fields may hold commas and line breaks. Records end with LF, CRLF
 * or a lone CR. A byte-order mark is dropped and a final line break does not add an empty
 * record. Malformed quoting throws (with the line number) rather than silently shifting
 * columns, which would mislabel every later row.
 */
export function parseCsv(input: string): string[][] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let line = 1;
  let i = 0;
  // Whether the current record has begun; distinguishes "a,b\n" (done) from "a,b\n\n" (an empty record).
  let inRecord = false;
  // A quote is special only as a field's first character; elsewhere (a"b) it is kept as is.
  let atFieldStart = true;

  const endField = () => {
    record.push(field);
    field = '';
    atFieldStart = true;
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
    inRecord = false;
  };

  while (i < text.length) {
    const ch = text[i];
    if (ch === '"' && atFieldStart) {
      // Quoted field: read to the closing quote.
      const startLine = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`CSV: unterminated quoted field starting on line ${startLine}`);
        const c = text[i];
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
        field += c;
        i++;
      }
      inRecord = true;
      atFieldStart = false;
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new Error(`CSV: unexpected ${JSON.stringify(next)} after a closing quote on line ${line}`);
      }
      continue;
    }
    if (ch === ',') {
      endField();
      inRecord = true;
      i++;
    } else if (ch === '\n' || ch === '\r') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      field += ch;
      inRecord = true;
      atFieldStart = false;
      i++;
    }
  }
  if (inRecord) endRecord();
  return records;
}

/**
 * The YouTube Spam Collection (Alberto, Lochter & Almeida 2015): header
 * COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS with CLASS 1 = spam, 0 = ham. Columns are found by
 * header name so a reordered or extended export still reads correctly.
 */
export function parseYoutubeSpamCsv(input: string, source = 'CSV'): SpamSample[] {
  const [header, ...rows] = parseCsv(input);
  if (!header) throw new Error(`${source}: empty file`);
  const names = header.map((h) => h.trim().toUpperCase());
  const content = names.indexOf('CONTENT');
  const cls = names.indexOf('CLASS');
  if (content < 0 || cls < 0) throw new Error(`${source}: the header must name CONTENT and CLASS columns (got ${header.join(', ')})`);
  const samples: SpamSample[] = [];
  rows.forEach((row, n) => {
    // Tolerate blank lines (one empty field); anything else short is an error.
    if (row.length === 1 && row[0] === '') return;
    if (row.length !== header.length) {
      throw new Error(`${source}: record ${n + 2} has ${row.length} fields, the header has ${header.length}`);
    }
    const label = row[cls].trim();
    if (label !== '0' && label !== '1') throw new Error(`${source}: record ${n + 2} has CLASS ${JSON.stringify(label)}, expected 0 or 1`);
    samples.push({ text: row[content], spam: label === '1' });
  });
  return samples;
}

export function readYoutubeSpamCsv(file: string): SpamSample[] {
  return parseYoutubeSpamCsv(readFileSync(file, 'utf8'), file);
}
