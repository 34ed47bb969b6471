import { csvField, csvRow } from './csv';

describe('csvField', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1'])('guards %j, which a spreadsheet would run as a formula', (s) => {
    expect(csvField(s).replace(/^"|"$/g, '')).toBe(`'${s}`);
  });

  // A spreadsheet in a Japanese or Chinese locale takes the full-width forms an input method types
  // as the ASCII ones, so ＝1+1 is a formula there too.
  it.each(['＝1+1', '＋1', '－1', '＠SUM(A1)'])('guards the full-width %j as the ASCII form', (s) => {
    expect(csvField(s)).toBe(`'${s}`);
  });

  it.each(['1=1', 'a+b', ' x', "'=1", 'text ＝ more'])('leaves %j, which starts as no formula does', (s) => {
    expect(csvField(s)).toBe(s);
  });

  it('guards only text: numbers stay numbers', () => {
    expect(csvRow([-1, '-1'])).toBe("-1,'-1");
  });

  it('quotes what needs quoting after the guard', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
  });
});
