import { plainToInstance, Transform } from 'class-transformer';
import { IsOptional, IsString, validateSync } from 'class-validator';
import { trim } from './transforms';
import { asSingleLine, characterCount, HasVisibleText, IsPlainText, IsSingleLine, MarkdownText, MAX_STACKED_MARKS, MaxCharacters, MinCharacters, PlainText, SetsText, SingleLineText } from './validators';

class Label {
  @HasVisibleText() @IsSingleLine() text!: string;
}

/** A title's stack written out, and as SingleLineText. */
class InlineTitle {
  @Transform(trim) @IsString() @MinCharacters(3) @MaxCharacters(10) @HasVisibleText() @IsSingleLine() title!: unknown;
}
class StackedTitle {
  @SingleLineText(10, { min: 3 }) title!: unknown;
}
/** A markdown body's stack written out, and as MarkdownText; optional ones likewise. */
class InlineBody {
  @IsString() @MaxCharacters(10) @HasVisibleText() body!: unknown;
}
class StackedBody {
  @MarkdownText(10) body!: unknown;
}
class InlineOptionalBody {
  @IsOptional() @IsString() @MaxCharacters(10) @HasVisibleText() body!: unknown;
}
class OptionalBody {
  @MarkdownText(10, { optional: true }) body!: unknown;
}
/** An optional one, written out and with the option. */
class InlineOptionalTitle {
  @IsOptional() @SingleLineText(10, { min: 3 }) title!: unknown;
}
class OptionalTitle {
  @SingleLineText(10, { min: 3, optional: true }) title!: unknown;
}

/** A reason's stack written out, and as PlainText; optional ones likewise. */
class InlineReason {
  @Transform(trim) @IsString() @MinCharacters(3) @MaxCharacters(10) @HasVisibleText() @IsPlainText() reason!: unknown;
}
class StackedReason {
  @PlainText(10, { min: 3 }) reason!: unknown;
}
class InlineOptionalReason {
  @IsOptional() @Transform(trim) @IsString() @MaxCharacters(10) @HasVisibleText() @IsPlainText() reason!: unknown;
}
class OptionalReason {
  @PlainText(10, { optional: true }) reason!: unknown;
}

/** The constraint names a value breaks, with their messages. */
function problems(text: string): Record<string, string> {
  const label = Object.assign(new Label(), { text });
  return Object.assign({}, ...validateSync(label).map((e) => e.constraints ?? {}));
}

describe('text validators', () => {
  it('takes text that shows something, in any script, with the marks its words carry', () => {
    for (const text of ['Firmware 2.1', 'नमस्ते दुनिया', 'שָׁלוֹם', 'مَرْحَبًا', 'Tiếng Việt', '私はコーヒーが好き', '👍🏽', '\u2764\ufe0f', 'a\u200bb']) {
      expect([text, problems(text)]).toEqual([text, {}]);
    }
  });

  it('refuses text that shows nothing: blank letters, marks on nothing, fillers', () => {
    for (const text of ['\u3164\u3164\u3164', '\u115f\u1160', '\u2800\u2800', '\uffa0', '\u034f', '\u0301\u0301', '\ufe0f\ufe0f\ufe0f', ' \u200b\u00a0']) {
      expect([escape(text), Object.keys(problems(text))]).toEqual([escape(text), ['hasVisibleText']]);
    }
  });

  it('refuses direction overrides and isolates, line breaks, and stacks of marks past the limit', () => {
    expect(problems('evil\u202enimda')).toEqual({ isSingleLine: 'must not contain direction overrides (U+202A–202E, U+2066–2069)' });
    expect(problems('Invoice \u2067fdp.exe')).toEqual({ isSingleLine: 'must not contain direction overrides (U+202A–202E, U+2066–2069)' });
    expect(problems('two\nlines')).toEqual({ isSingleLine: 'must be one line, without control characters' });
    expect(problems(`a${'\u0301'.repeat(MAX_STACKED_MARKS)}`)).toEqual({});
    expect(problems(`a${'\u0301'.repeat(MAX_STACKED_MARKS + 1)}`)).toEqual({ isSingleLine: `must not stack more than ${MAX_STACKED_MARKS} marks on one character` });
  });

  it('counts characters as PostgreSQL does, code points, variation selectors and all', () => {
    class Note {
      @MaxCharacters(4) text!: string;
    }
    const refused = (text: string) => validateSync(Object.assign(new Note(), { text })).map((e) => e.constraints);
    expect(characterCount('\u2764\ufe0f\u{1F44D}\u{1F3FD}é')).toBe(5);
    expect(refused('abcd')).toEqual([]);
    expect(refused('\u{1F44D}\u{1F44D}\u{1F44D}\u{1F44D}')).toEqual([]);
    // Two hearts with their selectors: 4 characters to PostgreSQL (class-validator's MaxLength counts 2).
    expect(refused('\u2764\ufe0f\u2764\ufe0f')).toEqual([]);
    expect(refused('\u2764\ufe0f\u2764\ufe0fa')).toEqual([{ maxCharacters: 'must be at most 4 characters' }]);
  });

  it('counts a lower bound as PostgreSQL does too', () => {
    class Reason {
      @MinCharacters(3) @MaxCharacters(6) text!: string;
    }
    const refused = (text: string) => validateSync(Object.assign(new Reason(), { text })).map((e) => e.constraints);
    // Two hearts with their selectors: 4 characters to char_length (class-validator's Length counts 2, short of 3).
    expect(refused('\u2764\ufe0f\u2764\ufe0f')).toEqual([]);
    expect(refused('abc')).toEqual([]);
    expect(refused('ab')).toEqual([{ minCharacters: 'must be at least 3 characters' }]);
    expect(refused('\u{1F44D}\u{1F44D}')).toEqual([{ minCharacters: 'must be at least 3 characters' }]);
    expect(refused('\u2764\ufe0f'.repeat(4))).toEqual([{ maxCharacters: 'must be at most 6 characters' }]);
  });

  it('takes multi-line plain text with tabs and line breaks, and refuses the other control characters', () => {
    class Description {
      @SetsText() @IsPlainText() @HasVisibleText() text?: string | null;
    }
    const refused = (text: string | null) => validateSync(Object.assign(new Description(), { text })).map((e) => e.constraints);
    for (const text of ['Two\nlines', 'CRLF\r\nlines', 'a\ttab', 'line\u2028separator', 'שָׁלוֹם', '👍🏽', '', null]) {
      expect([text, refused(text)]).toEqual([text, []]);
    }
    for (const text of ['Fuzz\u0001\u0007\u001b[31m text', 'nul\u0000', 'del\u007f', 'c1\u0085', 'c1\u009b31m', 'form\u000cfeed', 'vertical\u000btab']) {
      expect([escape(text), refused(text)]).toEqual([escape(text), [{ isPlainText: 'must not contain control characters (tabs and line breaks are fine)' }]]);
    }
    expect(refused('evil\u202enimda')).toEqual([{ isPlainText: 'must not contain direction overrides (U+202A–202E, U+2066–2069)' }]);
    expect(refused(`a${'\u0301'.repeat(MAX_STACKED_MARKS + 1)}`)).toEqual([{ isPlainText: `must not stack more than ${MAX_STACKED_MARKS} marks on one character` }]);
    // Not empty, so not "none": invisible characters only are refused.
    expect(refused('\u200b\u2060')).toEqual([{ hasVisibleText: 'must contain visible text' }]);
  });

  it('checks a SingleLineText as its stack written out: trimmed, the same messages in the same order', () => {
    expect(plainToInstance(StackedTitle, { title: '  A title ' }).title).toBe('A title');
    const marks = `a${'\u0301'.repeat(MAX_STACKED_MARKS + 1)}bc`;
    for (const title of ['A title', '', ' \u200b ', 'ab', 'x'.repeat(11), 'two\nlines', 42, null, '\u202eevil one', marks, '\n\u200b'.repeat(6)]) {
      const errors = (cls: new () => object) => validateSync(plainToInstance(cls, { title })).map((e) => JSON.stringify(e.constraints));
      expect([title, errors(StackedTitle)]).toEqual([title, errors(InlineTitle)]);
    }
  });

  it('checks an optional SingleLineText as IsOptional before it: absent or null sets nothing, empty is refused as text that shows nothing', () => {
    const errors = (cls: new () => object, title: unknown) => validateSync(plainToInstance(cls, title === undefined ? {} : { title })).map((e) => JSON.stringify(e.constraints));
    expect(errors(OptionalTitle, undefined)).toEqual([]);
    expect(errors(OptionalTitle, null)).toEqual([]);
    expect(errors(OptionalTitle, '')).not.toEqual([]);
    for (const title of [undefined, null, 'A title', '', ' \u200b ', 'ab', 'x'.repeat(11), 'two\nlines', 42, '\u202eevil one']) {
      expect([title, errors(OptionalTitle, title)]).toEqual([title, errors(InlineOptionalTitle, title)]);
    }
  });

  it('checks a PlainText as its stack written out: trimmed, line breaks and tabs kept, the same messages in the same order', () => {
    const reason = (cls: new () => object, value: unknown) => plainToInstance(cls, value === undefined ? {} : { reason: value });
    const errors = (cls: new () => object, value: unknown) => validateSync(reason(cls, value)).map((e) => JSON.stringify(e.constraints));
    expect((reason(StackedReason, ' two\n\tlines ') as StackedReason).reason).toBe('two\n\tlines');
    expect(errors(StackedReason, ' two\n\tlines ')).toEqual([]);
    expect(errors(OptionalReason, undefined)).toEqual([]);
    expect(errors(OptionalReason, '')).not.toEqual([]);
    const marks = `a${'\u0301'.repeat(MAX_STACKED_MARKS + 1)}bc`;
    for (const value of [undefined, null, 'A reason', '', ' \u200b ', 'ab', 'x'.repeat(11), 'bell\u0007', 42, '\u202eevil one', marks, '\u200b'.repeat(11)]) {
      expect([value, errors(StackedReason, value)]).toEqual([value, errors(InlineReason, value)]);
      expect([value, errors(OptionalReason, value)]).toEqual([value, errors(InlineOptionalReason, value)]);
    }
  });

  it('checks a MarkdownText as its stack written out, untrimmed, control characters kept, the same messages in the same order', () => {
    const body = (cls: new () => object, value: unknown) => plainToInstance(cls, value === undefined ? {} : { body: value });
    const errors = (cls: new () => object, value: unknown) => validateSync(body(cls, value)).map((e) => JSON.stringify(e.constraints));
    expect((body(StackedBody, ' *a*\u0007 ') as StackedBody).body).toBe(' *a*\u0007 ');
    expect(errors(StackedBody, ' *a*\u0007 ')).toEqual([]);
    for (const value of [undefined, null, '*A* body', '', ' \u200b ', 'x'.repeat(11), '\u2764\ufe0f'.repeat(6), 'two\nlines', 42, '\u200b'.repeat(11)]) {
      expect([value, errors(StackedBody, value)]).toEqual([value, errors(InlineBody, value)]);
      expect([value, errors(OptionalBody, value)]).toEqual([value, errors(InlineOptionalBody, value)]);
    }
  });

  it('makes imported text what a SingleLineText takes, or none when nothing visible is left', () => {
    const zalgo = `e${'\u0301'.repeat(8)}\u202E${'\u0301'.repeat(8)}x`;
    const cases: Array<[string, string]> = [
      ['Eve\u202Enimda', 'Evenimda'],
      ['Multi\nline\u0085 a\u2028b', 'Multi line'],
      ['  \u00A0a\t\u0000b\u3000 ', 'a b'],
      [zalgo, `e${'\u0301'.repeat(8)}x`],
      ['😀'.repeat(20), '😀'.repeat(10)],
      ['\u200B\u200B\u200B', ''],
      ['\u3164 \u2800', ''],
      ['\u0301\u0301', ''],
      ['\u202E\r\n', ''],
    ];
    for (const [text, line] of cases) {
      expect([text, asSingleLine(text, 10)]).toEqual([text, line]);
      // What it gives passes the API's own stack, but none, which the caller replaces.
      if (line !== '') expect([line, validateSync(plainToInstance(OptionalTitle, { title: line }))]).toEqual([line, []]);
    }
  });
});
