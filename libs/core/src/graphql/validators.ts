import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, ValidateBy, ValidateIf, ValidationOptions } from 'class-validator';
import { HANDLE_RE, HANDLE_RULE } from '../handles';
import { trim } from './transforms';

/**
 * What reads as nothing: white space, invisible format characters (zero-width spaces and
 * joiners, the BOM), marks with nothing to sit on (accents, variation selectors, the grapheme
 * joiner), and the letters that are drawn blank (the Hangul fillers, the blank Braille pattern).
 */
const INVISIBLE = /[\p{White_Space}\p{Cf}\p{M}\u115F\u1160\u3164\uFFA0\u2800]/gu;

/** Whether some of the text shows once white space and invisible characters are taken out. */
export function hasVisibleText(value: unknown): boolean {
  return typeof value === 'string' && value.replace(INVISIBLE, '').length > 0;
}

/**
 * Refuses text that shows nothing once white space and invisible characters are taken out
 * (a body of spaces, a title of zero-width spaces). Length limits still apply to the text as
 * given; this only asks that some of it be visible.
 */
export function HasVisibleText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'hasVisibleText',
      validator: {
        validate: hasVisibleText,
        defaultMessage: () => 'must contain visible text',
      },
    },
    options,
  );
}

/** How many characters PostgreSQL's `char_length` counts in a text: its code points. */
export function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * At most `max` characters as PostgreSQL counts them (`char_length`: code points), for text a
 * CHECK on its column holds to that length. class-validator's MaxLength leaves variation
 * selectors out of its count, so a text it passes (an emoji with its U+FE0F, repeated) could
 * fail the CHECK as an internal error instead of a refusal.
 */
export function MaxCharacters(max: number, options?: ValidationOptions): PropertyDecorator {
  return characterCountValidator('maxCharacters', (n) => n <= max, `must be at most ${max} characters`, options);
}

/**
 * At least `min` characters as PostgreSQL counts them (code points), the lower bound beside
 * MaxCharacters: class-validator's Length counts an emoji with its U+FE0F as one, so "❤️❤️"
 * (4 characters to `char_length` and to the limit a description states) fell short of 3.
 */
export function MinCharacters(min: number, options?: ValidationOptions): PropertyDecorator {
  return characterCountValidator('minCharacters', (n) => n >= min, `must be at least ${min} characters`, options);
}

function characterCountValidator(name: string, fits: (count: number) => boolean, message: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && fits(characterCount(value)),
        defaultMessage: () => message,
      },
    },
    options,
  );
}

/** Control characters (line breaks and tabs among them) and the Unicode line and paragraph separators. */
const LINE_BREAKING = /[\p{Cc}\u2028\u2029]/u;

/** Control characters (C0, DEL, C1) but the tab and the line breaks multi-line text keeps. */
const CONTROLS_BUT_LINES = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;

/**
 * The explicit direction embeddings, overrides and isolates: text that holds them is drawn in
 * another order than it is written (`evil\u202Enimda` shows as "eviladmin"), and an unclosed
 * one reorders what follows it in a list or an e-mail. Right-to-left text needs none of them.
 */
const DIRECTION_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/u;

/** More combining marks on one character than any script stacks: "zalgo" text that spills over the lines around it. */
export const MAX_STACKED_MARKS = 8;
const STACKED_MARKS = new RegExp(`\\p{M}{${MAX_STACKED_MARKS + 1},}`, 'u');

function plainTextProblem(value: unknown, lines: 'one' | 'many'): string | null {
  if (typeof value !== 'string') return lines === 'one' ? 'must be one line of text' : 'must be text';
  if (lines === 'one' && LINE_BREAKING.test(value)) return 'must be one line, without control characters';
  if (lines === 'many' && CONTROLS_BUT_LINES.test(value)) return 'must not contain control characters (tabs and line breaks are fine)';
  if (DIRECTION_CONTROLS.test(value)) return 'must not contain direction overrides (U+202A–202E, U+2066–2069)';
  if (STACKED_MARKS.test(value)) return `must not stack more than ${MAX_STACKED_MARKS} marks on one character`;
  return null;
}

const LINE_BREAKING_RUNS = new RegExp(`(?:\\s|${LINE_BREAKING.source})+`, 'gu');
const DIRECTION_CONTROLS_ALL = new RegExp(DIRECTION_CONTROLS.source, 'gu');
const MARKS_PAST_STACK = new RegExp(`(\\p{M}{${MAX_STACKED_MARKS}})\\p{M}+`, 'gu');

/**
 * Text from elsewhere (an import), which cannot be refused, made what SingleLineText(max) takes:
 * direction controls dropped, marks past MAX_STACKED_MARKS cut, line breaks, control characters
 * and white space made one space, cut to `max` characters (code points, as MaxCharacters counts:
 * no half of a surrogate pair) and trimmed; '' when nothing visible is left (HasVisibleText), so
 * the caller puts what it has for none.
 */
export function asSingleLine(text: string, max: number): string {
  const line = text.replace(DIRECTION_CONTROLS_ALL, '').replace(MARKS_PAST_STACK, '$1').replace(LINE_BREAKING_RUNS, ' ').trim();
  const cut = Array.from(line).slice(0, max).join('').trim();
  return hasVisibleText(cut) ? cut : '';
}

/**
 * For one-line text shown in lists, e-mails and notifications (titles, names, labels): a line
 * break there would let it pass for lines of its own (a fake "unsubscribe here" in a digest),
 * a direction override would draw it (and what follows it) in another order than it says, and
 * a stack of marks would spill over the lines around it.
 */
export function IsSingleLine(options?: ValidationOptions): PropertyDecorator {
  return plainTextValidator('isSingleLine', 'one', options);
}

function plainTextValidator(name: string, lines: 'one' | 'many', options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value: unknown) => plainTextProblem(value, lines) === null,
        defaultMessage: (args) => plainTextProblem(args?.value, lines) ?? 'must be plain text',
      },
    },
    options,
  );
}

/**
 * For multi-line plain text (descriptions, notes, reasons, comments) that reaches logs, CSV
 * exports, e-mails and terminals as it is: IsSingleLine's rules but that tabs and line breaks
 * (CR, LF, U+2028, U+2029) are allowed. Other control characters (an escape sequence that
 * recolours a terminal, a bell, C1 controls) are refused. Not for markdown, which rendering
 * cleans (libs/content/src/renderer.ts).
 */
export function IsPlainText(options?: ValidationOptions): PropertyDecorator {
  return plainTextValidator('isPlainText', 'many', options);
}

/**
 * Validates an optional text only when it sets something: null or absent leaves it as it is,
 * and an empty text (after trimming) keeps its documented meaning of "none" (or "clear it").
 * Text that is not empty must then pass the validators after this one (HasVisibleText refuses
 * invisible characters only).
 */
export const SetsText = () => ValidateIf((_object: object, value: unknown) => value != null && value !== '');

/** Applies property decorators as they would be written one after another: the last first. */
function stacked(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    for (const decorator of [...decorators].reverse()) decorator(target, key);
  };
}

/**
 * An optional multi-line plain text of up to `max` characters (a description, a note, a
 * reason): trimmed; absent, null or empty sets nothing (its "none", or "clear it"); anything
 * else must be text, fit `max`, pass IsPlainText and show something.
 */
export const OptionalPlainText = (max: number): PropertyDecorator =>
  stacked(IsOptional(), Transform(trim), SetsText(), IsString(), MaxCharacters(max), IsPlainText(), HasVisibleText());

/**
 * A markdown text (a post's body, an article's, an idea's official response) of up to `max`
 * characters: it must be text, fit `max` and show something, checked in that order. Not trimmed,
 * and its control characters are kept as typed (rendering drops them: libs/content/src/renderer.ts).
 * With `optional`, absent or null sets nothing (IsOptional first).
 */
export const MarkdownText = (max: number, { optional = false }: { optional?: boolean } = {}): PropertyDecorator =>
  stacked(...(optional ? [IsOptional()] : []), IsString(), MaxCharacters(max), HasVisibleText());

/** The bounds and the option of a trimmed text's stack (SingleLineText, PlainText). */
type TextBounds = { min?: number; optional?: boolean };

/**
 * A trimmed text's stack, `form` last (IsSingleLine, IsPlainText): it must be text, fit its
 * bounds, show something and have that form, checked in that order. With `optional`, absent or
 * null sets nothing (IsOptional first); an empty text is still refused, as any that shows nothing.
 */
const trimmedText = (form: () => PropertyDecorator) => (max: number, { min, optional = false }: TextBounds = {}): PropertyDecorator =>
  stacked(
    ...(optional ? [IsOptional()] : []),
    Transform(trim), IsString(), ...(min === undefined ? [] : [MinCharacters(min)]), MaxCharacters(max), HasVisibleText(), form(),
  );

/**
 * A one-line name, title or label of up to `max` characters (and `min` at least, when given):
 * trimmed, then it must be text, fit its bounds, show something and hold no line break, checked
 * in that order. With `optional`, absent or null sets nothing (IsOptional first); an empty text
 * is still refused, as any that shows nothing: unlike OptionalPlainText's, it has no "none".
 */
export const SingleLineText = trimmedText(() => IsSingleLine());

/**
 * A multi-line plain text that must say something, of up to `max` characters (and `min` at
 * least, when given): a sanction's, a trust level's or a moderator's reason, an appeal's message,
 * an automod rule's public reason. Trimmed, then it must be text, fit its bounds, show something
 * and pass IsPlainText, checked in that order. With `optional`, absent or null sets nothing
 * (IsOptional first), and an empty text is refused: for a text whose empty means none, OptionalPlainText.
 */
export const PlainText = trimmedText(() => IsPlainText());

/**
 * A handle as a client types it, wherever one is taken (sign-up's `handle`, `user(handle:)`,
 * search's `authorHandle`): trimmed, then held to the one handle rule (HANDLE_RE, any case) and
 * refused, whatever else it is (no text at all included), with the rule's one message
 * (HANDLE_RULE), so every input refuses the same handles alike. With `optional`, absent or null
 * sets nothing (IsOptional first).
 */
export const HandleText = ({ optional = false }: { optional?: boolean } = {}): PropertyDecorator =>
  stacked(...(optional ? [IsOptional()] : []), Transform(trim), Matches(HANDLE_RE, { message: HANDLE_RULE }));
