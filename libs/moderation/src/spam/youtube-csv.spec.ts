import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv, parseYoutubeSpamCsv, readYoutubeSpamCsv } from './youtube-csv';
import { datasetPath } from '../../../../test/support/datasets';

const DATA = datasetPath('youtube-spam-dev');

describe('parseCsv', () => {
  it('splits plain records and fields', () => {
    expect(parseCsv('a,b,c\n1,2,3\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
  });

  it('keeps commas, doubled quotes and line breaks inside quoted fields', () => {
    const csv = 'id,text\n1,"Hello, world"\n2,"She said ""hi"""\n3,"line one\nline two\r\nline three"\n';
    expect(parseCsv(csv)).toEqual([
      ['id', 'text'],
      ['1', 'Hello, world'],
      ['2', 'She said "hi"'],
      ['3', 'line one\nline two\r\nline three'],
    ]);
  });

  it('accepts CRLF, LF and lone CR record ends, with or without a final one', () => {
    const expected = [
      ['a', 'b'],
      ['1', '2'],
    ];
    expect(parseCsv('a,b\r\n1,2\r\n')).toEqual(expected);
    expect(parseCsv('a,b\r\n1,2')).toEqual(expected);
    expect(parseCsv('a,b\r1,2\r')).toEqual(expected);
    expect(parseCsv('a,b\n"1",2')).toEqual(expected);
  });

  it('keeps empty fields, including a quoted empty one and a trailing one', () => {
    expect(parseCsv('a,,""\n,x,\n')).toEqual([
      ['a', '', ''],
      ['', 'x', ''],
    ]);
  });

  it('drops a byte-order mark', () => {
    expect(parseCsv('\ufeffCONTENT,CLASS\nhi,0\n')[0]).toEqual(['CONTENT', 'CLASS']);
  });

  it('treats a quote inside an unquoted field as a character', () => {
    expect(parseCsv('a"b,c\n')).toEqual([['a"b', 'c']]);
  });

  it('rejects an unterminated quoted field and text after a closing quote', () => {
    expect(() => parseCsv('a,b\n1,"open\n2,3\n')).toThrow(/unterminated quoted field starting on line 2/);
    expect(() => parseCsv('a,b\n"x"y,2\n')).toThrow(/after a closing quote on line 2/);
  });

  it('returns nothing for an empty input', () => {
    expect(parseCsv('')).toEqual([]);
  });
});

describe('parseYoutubeSpamCsv', () => {
  it('reads CONTENT and CLASS by header name', () => {
    const csv = [
      'COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS',
      'z1,Ann,2014-01-01T00:00:00,"Check out my channel, please!",1',
      'z2,"Bob, Jr.",2014-01-02T00:00:00,"Nice ""song""\r\nreally",0',
      '',
    ].join('\r\n');
    expect(parseYoutubeSpamCsv(csv)).toEqual([
      { text: 'Check out my channel, please!', spam: true },
      { text: 'Nice "song"\r\nreally', spam: false },
    ]);
  });

  it('finds the columns wherever they are and whatever their case', () => {
    expect(parseYoutubeSpamCsv(' class ,content,extra\n1,buy now,x\n0,lovely,y\n')).toEqual([
      { text: 'buy now', spam: true },
      { text: 'lovely', spam: false },
    ]);
  });

  it('skips blank lines', () => {
    expect(parseYoutubeSpamCsv('CONTENT,CLASS\nhi,0\n\nspam,1\n')).toHaveLength(2);
  });

  it('rejects a missing column, a bad label and a short record', () => {
    expect(() => parseYoutubeSpamCsv('TEXT,CLASS\nhi,0\n')).toThrow(/CONTENT and CLASS/);
    expect(() => parseYoutubeSpamCsv('CONTENT,CLASS\nhi,yes\n')).toThrow(/record 2 has CLASS "yes"/);
    expect(() => parseYoutubeSpamCsv('CONTENT,CLASS\nhi,0\nonly one field\n')).toThrow(/record 3 has 1 fields/);
    expect(() => parseYoutubeSpamCsv('')).toThrow(/empty/);
  });

  it('reads the three development files of the YouTube Spam Collection', () => {
    expect(existsSync(DATA)).toBe(true);
    // Counts cross-checked with Python's csv module.
    const expected: Record<string, [number, number]> = {
      'Youtube01-Psy.csv': [350, 175],
      'Youtube02-KatyPerry.csv': [350, 175],
      'Youtube03-LMFAO.csv': [438, 236],
    };
    for (const [file, [rows, spam]] of Object.entries(expected)) {
      const samples = readYoutubeSpamCsv(join(DATA, file));
      expect([file, samples.length, samples.filter((s) => s.spam).length]).toEqual([file, rows, spam]);
      expect(samples.every((s) => s.text.length > 0)).toBe(true);
    }
  });
});
