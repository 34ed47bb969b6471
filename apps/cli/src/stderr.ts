import { redacted } from '../../../libs/core/src/log-redaction';

/**
 * The CLI's one writer to stderr: what a command says there (its failure, an interrupt's lines, a partial it could not
 * remove, a check's problems, the database it opens, its progress) is a line through `redacted`, as the log is, so a
 * URL's password (Meilisearch's client names MEILI_URL whole; a connection string in an error; an argument commander
 * refuses, `writeStderr`) never reaches a terminal or a cron job's mail. An error's text is errorText's (`sayError`,
 * error-text.ts). Light (no Nest): it is loaded with the signals' handling, before the commands' modules (main.ts).
 */
export function say(text: string): void {
  writeStderr(`${text}\n`);
}

/**
 * What commander writes on stderr itself (an argument it refuses, quoted; the help after it), its lines' ends its own:
 * through `redacted`, as `say`'s lines. Until 2026-12-07 commander wrote it raw (cli-log-redaction e2e).
 */
export function writeStderr(text: string): void {
  process.stderr.write(redacted(text));
}

/**
 * A command's report line on stdout that names what it was given (the file an export wrote: a path made of a URL-like
 * argument, `--out s3://key:pw@bucket/x` resolved, holds its password), through `redacted` as `say`'s lines are. Until
 * 2026-12-07 such a line was printed as it was (cli-log-redaction e2e).
 */
export function report(text: string): void {
  process.stdout.write(`${redacted(text)}\n`);
}
