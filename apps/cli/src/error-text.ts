import { AppError } from '../../../libs/core/src/errors';

/**
 * What a failed command prints: an AppError's code before its message (the codes of API.md,
 * `CONFLICT: …`, which a script can match as a client matches `extensions.code`), then each
 * refused field on a line of its own; any other error's message alone.
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (!(err instanceof AppError)) return err.message;
  const fields = (err.details.fields ?? []).map((f) => `  ${f.field}: ${f.message}`);
  return [`${err.code}: ${err.message}`, ...fields].join('\n');
}
