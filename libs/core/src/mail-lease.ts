import { Logger } from '@nestjs/common';
import { sqlState } from './database/unit-of-work';

/**
 * A claim's stamp (an `email_claimed_at`) as a sender carries it: microseconds since the epoch, a
 * bigint (read as text), the same on every connection. As text, a timestamp is written and read
 * by each connection's DateStyle and TimeZone, so a stamp read on one connection set otherwise
 * than the next named another moment there, and the sender lost its own claim.
 */
export function stampOf(column: string): string {
  return `(extract(epoch FROM ${column}) * 1000000)::bigint`;
}

/** The moment a stamp (`stampOf`, the parameter `param`) names, as a timestamptz, to compare a column with. */
export function stampAt(param: string): string {
  return `('epoch'::timestamptz + ${param}::bigint * interval '1 microsecond')`;
}

/**
 * How long an e-mail's own claim holds (`AccountMailHandler.claimsItsOwn`: a sanction's,
 * `sanctions.email_claimed_at`; the digest's, `notifications.email_claimed_at`) before another
 * worker may take it over, unless renewed: a send under way keeps renewing it, and stops once it
 * may have lost it (`sendKeepingClaim`), since a mail server slow at several steps (nodemailer
 * waits up to 10 minutes at each) may take longer; so a claim that ran out is one whose worker
 * died, stalled or stopped before the mail server took the message.
 */
export const MAIL_CLAIM_LEASE_SECONDS = 15 * 60;

/** Renewals in a row that may fail before a send stops: past them, its lease may run out before the next. */
const RENEWALS_MISSABLE = 1;

/** A lease a sender holds on what it sends: its stamp (`stampOf`), renewed from the local moment `from`. */
export interface MailLease {
  stamp: string;
  from: number;
}

/**
 * Sends one message while the sender's claim on it (a lease of MAIL_CLAIM_LEASE_SECONDS, stamped
 * `lease.stamp`, renewed from the local moment `lease.from`) holds, so that no other sender sends it meanwhile: a
 * mail server slow at several steps (each within nodemailer's 10-minute wait) may take longer
 * than one lease. While the send is under way the claim is renewed every third of the lease
 * (`everyRenewal` calls the tick; `renew` answers the new stamp, or null when the claim is no
 * longer the sender's), and `lease` follows the new stamp. The send is stopped (`send` is handed
 * a signal: nodemailer closes its connection) as soon as the claim may no longer be the sender's:
 * a renewal finds it taken over (or handled), renewals failed past RENEWALS_MISSABLE, or the
 * lease is nearly out by the local clock when a renewal comes due (the process stalled), judged
 * at once, since a renewal still waiting for its rows is not answered in time to stop a step that
 * follows at once. Nothing is sent at all when the lease is nearly out already as the send would
 * start (the process stalled after the last renewal, while the message was made). Answers
 * whether the claim held to the end (false: stopped, nothing of it to mark or put back); throws what the send threw otherwise (the mail server's refusal).
 */
export async function sendKeepingClaim(p: {
  lease: MailLease;
  renew: (stamp: string) => Promise<string | null>;
  send: (signal: AbortSignal) => Promise<unknown>;
  everyRenewal: (tick: () => Promise<void>, everyMs: number) => () => void;
  log: Logger;
  logFields: Record<string, unknown>;
}): Promise<boolean> {
  const { lease, log, logFields } = p;
  const leaseMs = MAIL_CLAIM_LEASE_SECONDS * 1000;
  const renewEveryMs = leaseMs / 3;
  const stop = new AbortController();
  // Once the send is over, a renewal's answer stops nothing.
  let over = false;
  const lose = (why: string) => {
    if (over) return;
    log.warn(logFields, `e-mail stopped: ${why}; whoever holds its claim sends it`);
    stop.abort();
  };
  const nearlyOut = () => Date.now() - lease.from >= leaseMs - renewEveryMs / 2;
  // A process that stalled since the lease was last renewed (while the message was made) sends
  // nothing: the first renewal would come due only once the send may be over.
  if (nearlyOut()) {
    log.warn(logFields, 'e-mail not sent: its claim’s lease is nearly out, unrenewed; whoever holds its claim sends it');
    return false;
  }
  let failed = 0;
  let renewing: Promise<void> = Promise.resolve();
  const tick = () => {
    // Judged at once, not after a renewal still under way: the next step may follow at once.
    if (!stop.signal.aborted && nearlyOut()) lose('its claim’s lease is nearly out, unrenewed');
    return (renewing = renewing.then(async () => {
      if (stop.signal.aborted) return;
      const from = Date.now();
      try {
        const stamp = await p.renew(lease.stamp);
        if (stamp === null) return lose('its claim was taken over, or what it sends was handled meanwhile');
        Object.assign(lease, { stamp, from });
        failed = 0;
      } catch (err) {
        log.warn({ ...logFields, code: sqlState(err) }, 'e-mail claim not renewed during the send');
        if (++failed > RENEWALS_MISSABLE) lose('its claim could not be renewed in time');
      }
    }));
  };
  const stopRenewing = p.everyRenewal(tick, renewEveryMs);
  try {
    await p.send(stop.signal);
    return true;
  } catch (err) {
    if (stop.signal.aborted) return false;
    throw err;
  } finally {
    over = true;
    stopRenewing();
    await renewing;
  }
}

/** Calls `tick` every `everyMs` until the answer is called: `sendKeepingClaim`'s renewals (a test drives the ticks itself). */
export function renewEvery(tick: () => Promise<void>, everyMs: number): () => void {
  const timer = setInterval(() => void tick(), everyMs);
  return () => clearInterval(timer);
}
