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
  /** The server's reply, as it came (lines joined by `\n`): read for its status code only. */
  response?: unknown;
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
 * An enhanced status code (RFC 3463, which servers announcing ENHANCEDSTATUSCODES put first in
 * a reply's text, RFC 2034) after the reply's basic code: `550 5.1.1 …`, or `550-5.1.1 …` on the
 * first line of one of several. Its class must be the basic code's (RFC 2034): one at odds with
 * it is not read.
 */
const ENHANCED_STATUS = /^([245])\d\d[ -]([245])\.(\d{1,3})\.(\d{1,3})(?!\d)/;

/**
 * The enhanced status code of the server's reply (`5.1.1`), or null when it gives none (or one
 * whose class disagrees with its basic code). Only the code is read, never the text after it:
 * that text is free, in any language, and may quote the address. It quotes nothing, so it may
 * be logged.
 */
export function enhancedStatus(err: RefusalError): string | null {
  const m = typeof err.response === 'string' ? ENHANCED_STATUS.exec(err.response) : null;
  return m && m[1] === m[2] ? `${m[2]}.${Number(m[3])}.${Number(m[4])}` : null;
}

/**
 * Permanent statuses (subject.detail, RFC 3463) that say the recipient's address has no mailbox
 * to deliver to, whenever the server says so: bad destination mailbox address (X.1.1), bad
 * destination system address (X.1.2: no such domain, or none that takes mail), bad destination
 * mailbox address syntax (X.1.3), an address that matches no one mailbox (X.1.4), a mailbox moved
 * with no forwarding address (X.1.6), a domain that takes no mail (X.1.10, a null MX, RFC 7505),
 * a mailbox disabled (X.2.1). Sending to that address again would only be refused again.
 */
const ADDRESS_STATUSES = new Set(['1.1', '1.2', '1.3', '1.4', '1.6', '1.10', '2.1']);

/**
 * Statuses about our sender's address, not the recipient's: bad sender's mailbox address syntax
 * (X.1.7), bad sender's system address (X.1.8), a sender's domain with a null MX (X.1.11, and
 * X.7.27, the code RFC 7505 gives a server refusing mail from such a domain). Our own setup, as a
 * refused MAIL FROM is (Postfix, for one, refuses an unknown sender domain only at RCPT TO): once
 * it is put right, the message can go.
 */
const SENDER_STATUSES = new Set(['1.7', '1.8', '1.11', '7.27']);

/**
 * Permanent statuses that say what was refused is not the address: a full mailbox (X.2.2, which
 * RFC 3463 itself calls "a persistent transient failure": its owner can make room, so the address
 * is not marked, but this message, refused for good, is not tried again; later news is),
 * a message longer than the mailbox takes (X.2.3), the destination mail system (X.3.x: full, not
 * taking mail, a message too big, X.3.4), the content (X.6.x), policy or security (X.7.x: a
 * blocklisted sender host, DMARC, spam filtering), which may be about our content or our domain.
 *
 * Security or policy (X.7.x) is the message at RCPT TO too. X.7.1, "delivery not authorized",
 * which RFC 3463 calls "useful only as a permanent error", is there a refusal of our host (a
 * blocklist), of this sender for this recipient, or a relay not relaying for us; none says the
 * mailbox is gone, and a blocklisting of our host would put every address of a provider on the
 * bounce list, so no address is marked. Nor is the message tried again, as a permanent refusal
 * would only come again: later news is tried as ever. The reply's text alone could tell a relay
 * refusing us from a recipient's policy, and it is not read.
 */
function notTheAddress(subject: number, detail: number): boolean {
  return subject === 3 || subject === 6 || subject === 7 || (subject === 2 && (detail === 2 || detail === 3));
}

/**
 * What the mail server refused for good, if anything. Only a permanent reply (5xx but 503,
 * nodemailer's `permanent`) to the recipient (RCPT TO) or to the message (DATA) counts: a
 * refusal of the moment (4xx, whatever its status code, a connection lost) or one of our own
 * setup (authentication, the sender's address) is null, to be tried again once that passes.
 *
 * The reply's enhanced status code (`enhancedStatus`) says what was refused, at either phase:
 * the ADDRESS for a destination address status (`ADDRESS_STATUSES`: `550 5.1.1 user unknown`,
 * which Exchange, relays that check recipients late, and servers refusing one recipient of
 * several give only after DATA), null for one about our sender (`SENDER_STATUSES`), the MESSAGE
 * for one that is not about the address (`notTheAddress`: a policy refusal at RCPT TO, such as a
 * blocklisted host, marks no address). Any other status (X.0.0, X.1.0, routing X.4.x, protocol
 * X.5.x: Microsoft refuses unknown recipients with `550 5.4.1`), or none, leaves it to the
 * phase: a permanent refusal at RCPT TO is the ADDRESS, which later messages would get too; at
 * DATA, this MESSAGE, which marks nothing since it may be about our content or our domain's
 * policy. The reply's text is never read: it is free, and in any language.
 *
 * A recipient nodemailer itself refuses (`UNUSABLE_RECIPIENT`) is an ADDRESS refused for good too.
 */
export function refusedForGood(err: RefusalError): Refusal | null {
  if (err.code === 'EENVELOPE' && err.responseCode === undefined && typeof err.message === 'string' && UNUSABLE_RECIPIENT.test(err.message)) return 'ADDRESS';
  const code = typeof err.responseCode === 'number' ? err.responseCode : 0;
  const permanent = typeof err.permanent === 'boolean' ? err.permanent : code >= 500 && code < 600 && code !== 503;
  if (!permanent || (err.command !== 'RCPT TO' && err.command !== 'DATA')) return null;
  const status = enhancedStatus(err)?.split('.');
  if (status?.[0] === '5') {
    const [subject, detail] = [Number(status[1]), Number(status[2])];
    const key = `${subject}.${detail}`;
    if (ADDRESS_STATUSES.has(key)) return 'ADDRESS';
    if (SENDER_STATUSES.has(key)) return null;
    if (notTheAddress(subject, detail)) return 'MESSAGE';
  }
  return err.command === 'RCPT TO' ? 'ADDRESS' : 'MESSAGE';
}
