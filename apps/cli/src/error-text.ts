import { AppError } from '../../../libs/core/src/errors';
import { messageOf, redacted } from '../../../libs/core/src/log-redaction';
import { say } from './stderr';

/**
 * What a failed command prints: an AppError's code before its message (the codes of API.md,
 * `CONFLICT: …`, which a script can match as a client matches `extensions.code`), then each
 * refused field on a line of its own; any other error's message alone. Through `redacted`, as the
 * log is: a URL's password in a message (Meilisearch's client names MEILI_URL whole) is replaced.
 */
export function errorText(thrown: unknown): string {
  const err = redacted(thrown);
  // A rejection with something other than an error (a string, an object with a message, null): its text, never a throw.
  if (!(err instanceof Error)) return redacted(messageOf(err));
  if (!(err instanceof AppError)) return err.message;
  const fields = (err.details.fields ?? []).map((f) => `  ${f.field}: ${f.message}`);
  return [`${err.code}: ${err.message}`, ...fields].join('\n');
}

/** Says on stderr (`say`, the CLI's one writer) `prefix` followed by the error's text (errorText): every error the CLI prints. */
export function sayError(err: unknown, prefix = ''): void {
  say(`${prefix}${errorText(err)}`);
}
