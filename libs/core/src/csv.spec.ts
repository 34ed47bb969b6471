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

  // The small forms (U+FE66, U+FE62, U+FE63, U+FE6B) and the super- and subscript + and = are the
  // same characters after NFKC: a reader that folds compatibility forms, as one in a CJK locale
  // folds the full-width ones, would run them too (see FORMULA_START for what was checked).
  it.each(['\uFE661+1', '\uFE621', '\uFE631', '\uFE6BSUM(A1)', '\u207C1+1', '\u208A1'])('guards %j, a formula start after NFKC', (s) => {
    expect(csvField(s)).toBe(`'${s}`);
  });

  it.each(['1=1', 'a+b', ' x', "'=1", 'text ＝ more', 'text \uFE66 more', '\u2212 1', '\u207B1', '\uFE58 dash'])('leaves %j, which starts as no formula does', (s) => {
    expect(csvField(s)).toBe(s);
  });

  it('guards only text: numbers stay numbers', () => {
    expect(csvRow([-1, '-1'])).toBe("-1,'-1");
  });

  it('quotes what needs quoting after the guard', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
  });
});
