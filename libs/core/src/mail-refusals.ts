/**
 * Reading why a mail server (or nodemailer itself) refused a message, for the notification
 * digest and the account e-mails alike: a refusal for good is not tried again, and one of the
 * recipient's address puts it on the bounce list.
 */

/**
 * What of nodemailer's error says why a message was not sent. Its message is read, never
 * logged: it may quote the address, as its response and rejected lists do.
 */
export interface RefusalError {
  code?: unknown;
  command?: unknown;
  responseCode?: unknown;
  permanent?: unknown;
  message?: unknown;
}

/**
 * nodemailer's own refusals of a recipient, before any server is asked (code EENVELOPE, no
 * reply): it found no address in the one given, or one it cannot put in RCPT TO. Sending the
 * same address again would only get them again. ("Invalid sender" and "Invalid DSN" are ours.)
 */
const UNUSABLE_RECIPIENT = /^(No recipients defined|Invalid recipient)\b/;

/** What a mail server refused for good: the recipient's address, or this message. */
export type Refusal = 'ADDRESS' | 'MESSAGE';

/**
 * What the mail server refused for good, if anything: a permanent reply (5xx but 503,
 * nodemailer's `permanent`) to the recipient (RCPT TO: the ADDRESS, which later messages would
 * get too) or to the content (DATA: this MESSAGE), which sending it again would only get again.
 * A recipient nodemailer itself refuses (`UNUSABLE_RECIPIENT`) is an ADDRESS refused for good
 * too. Null for a refusal of the moment (4xx, a connection lost) or one of our own setup
 * (authentication, the sender's address): those pass, and the message can go then.
 */
export function refusedForGood(err: RefusalError): Refusal | null {
  if (err.code === 'EENVELOPE' && err.responseCode === undefined && typeof err.message === 'string' && UNUSABLE_RECIPIENT.test(err.message)) return 'ADDRESS';
  const code = typeof err.responseCode === 'number' ? err.responseCode : 0;
  const permanent = typeof err.permanent === 'boolean' ? err.permanent : code >= 500 && code < 600 && code !== 503;
  if (!permanent) return null;
  return err.command === 'RCPT TO' ? 'ADDRESS' : err.command === 'DATA' ? 'MESSAGE' : null;
}
