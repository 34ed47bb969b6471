import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseYoutubeSpamCsv, readYoutubeSpamCsv } from './youtube-csv';
import { datasetPath } from '../../../../test/support/datasets';

const DATA = datasetPath('youtube-spam-dev');

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

  it('skips blank lines, drops a byte-order mark, and takes CRLF, LF or lone CR line ends', () => {
    expect(parseYoutubeSpamCsv('CONTENT,CLASS\nhi,0\n\nspam,1\n')).toHaveLength(2);
    expect(parseYoutubeSpamCsv('\ufeffCONTENT,CLASS\r\nhi,0\rspam,1')).toEqual([
      { text: 'hi', spam: false },
      { text: 'spam', spam: true },
    ]);
  });

  it('rejects a missing column, a bad label, a short record and broken quoting, saying where', () => {
    expect(() => parseYoutubeSpamCsv('TEXT,CLASS\nhi,0\n')).toThrow(/CONTENT and CLASS/);
    expect(() => parseYoutubeSpamCsv('CONTENT,CLASS\nhi,yes\n')).toThrow(/line 2 has CLASS "yes"/);
    expect(() => parseYoutubeSpamCsv('CONTENT,CLASS\nhi,0\n\nonly one field\n')).toThrow(/line 4 has 1 fields/);
    expect(() => parseYoutubeSpamCsv('CONTENT,CLASS\n"open,0\nx,1\n', 'f.csv')).toThrow(/^f\.csv: .*[Qq]uote/);
    expect(() => parseYoutubeSpamCsv('CONTENT,CLASS\n"x"y,0\n')).toThrow(/line 2/);
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
