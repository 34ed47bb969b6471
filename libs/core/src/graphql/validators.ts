import { ValidationOptions, ValidateBy } from 'class-validator';

/** White space, and the invisible format characters (zero-width spaces and joiners, the BOM) that read as nothing. */
const INVISIBLE = /[\p{White_Space}\p{Cf}]/gu;

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

/** Control characters (line breaks and tabs among them) and the Unicode line and paragraph separators. */
const LINE_BREAKING = /[\p{Cc}\u2028\u2029]/u;

/**
 * For one-line text shown in lists, e-mails and notifications (titles, names, labels): a line
 * break there would let it pass for lines of its own (a fake "unsubscribe here" in a digest).
 */
export function IsSingleLine(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSingleLine',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !LINE_BREAKING.test(value),
        defaultMessage: () => 'must be one line, without control characters',
      },
    },
    options,
  );
}
