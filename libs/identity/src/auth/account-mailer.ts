import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import nodemailer, { Transporter } from 'nodemailer';
import { AppConfig } from '../../../core/src/config/config';
import { enhancedStatus, RefusalError, refusedForGood } from '../../../core/src/mail-refusals';
import { isLastTry, OutboxEvent, OutboxHandler, OutboxWait } from '../../../core/src/outbox/outbox';
import { MAIL_CLAIM_LEASE_SECONDS, renewEvery, sendKeepingClaim } from '../../../core/src/mail-lease';
import { UsersRepository } from '../users/users.repository';

/**
 * How long a production node with no SMTP_URL leaves an e-mail another node may send
 * (`AccountMailHandler`, any kind) before its event is due again: as long as the outbox's
 * longest back-off, so a node that has SMTP_URL takes it within minutes.
 */
export const SMTP_WAIT_SECONDS = 5 * 60;

/**
 * The SMTP transport of the account e-mails (password resets, address confirmations), through
 * SMTP_URL and MAIL_FROM, the settings the notification digest sends with; identity sits below
 * notifications, so it builds its own transport from them rather than borrowing the digest's.
 * Nothing of these messages reaches the log, in any environment, their links opening or vouching
 * for an account; but for a kind whose message links nothing of the sort (a sanction's,
 * `AccountMailHandler.loggedWithoutSmtp`), which without SMTP_URL goes to the log outside production
 * as the digest's messages do (`toLog`).
 */
@Injectable()
export class AccountMailer {
  private readonly transport?: Transporter;
  private readonly log = new Logger('AccountMail');

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
  ) {
    this.transport = config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : undefined;
  }

  /** Whether e-mail can go out at all (SMTP_URL is set). */
  get configured(): boolean {
    return this.transport !== undefined;
  }

  /** Whether this is a production process, whose log takes no message (the digest's rule). */
  get production(): boolean {
    return this.config.NODE_ENV === 'production';
  }

  /**
   * A message written to the log in place of sending it, outside production with no SMTP_URL
   * (as the digest writes its own): only for a kind whose message opens and vouches for nothing.
   */
  toLog(what: string, userId: string | null, message: { to: string; subject: string; text: string }): void {
    this.log.log({ userId, to: message.to, subject: message.subject, text: message.text }, `${what} e-mail (no SMTP_URL configured)`);
  }

  /**
   * Sends one message (only when `configured`). A refusal for now is thrown again, for the
   * outbox to retry and log, without what the mail server's error may quote (the address) or
   * what the message held (a link). A refusal for good (`refusedForGood`) is logged by its
   * codes and not tried again, since it would only be refused again; an address refused for
   * good goes on the bounce list if it is the account's (a change's new address is not yet);
   * `userId` is null for an address no account has yet (an invitation's). True once the server
   * took it, false when it refused it for good. A send stopped through `signal` (its claim may be
   * lost, `sendKeepingClaim`) throws what nodemailer threw, judged as nothing else.
   */
  async send(what: string, userId: string | null, message: { to: string; subject: string; text: string; messageId?: string }, signal?: AbortSignal): Promise<boolean> {
    try {
      // The recipient as an address, not a header to parse: a stored `a<b@example.org>` must not go to b.
      await this.transport!.sendMail({ from: this.config.MAIL_FROM, ...message, to: { name: '', address: message.to }, signal });
      return true;
    } catch (err) {
      if (signal?.aborted) throw err;
      const e = err as RefusalError;
      const forGood = refusedForGood(e);
      if (!forGood) throw new Error(`${what} e-mail${userId ? ` for user ${userId}` : ''} not sent (${String(e.code ?? 'error')}${e.responseCode ? ` ${String(e.responseCode)}` : ''})`);
      this.log.warn({ userId, code: e.code, responseCode: e.responseCode, status: enhancedStatus(e), permanent: e.permanent }, `${what} e-mail refused for good; it is not tried again`);
      if (forGood === 'ADDRESS' && userId) await this.users.markEmailBounced(userId, message.to);
      return false;
    }
  }
}

/**
 * An outbox consumer sending one kind of account e-mail, one per event of `eventType` (whose
 * payload names the user): to the account's address, unless it is a placeholder, has none, or
 * `load` finds nothing to send; with a link good for what is left of `ttlSeconds` since the
 * request, however late the worker gets to it. Without SMTP_URL no token is made: a production
 * process leaves the e-mail to one that has SMTP_URL while its link holds (an `OutboxWait`, due
 * again every SMTP_WAIT_SECONDS), and gives it up only once it is too late for any; outside
 * production the log notes that one was due (a kind `loggedWithoutSmtp` aside).
 *
 * Each event is recorded before its e-mail goes out (`account_mails_sent`, outside the
 * outbox's transaction, so the record stays when that rolls back): an event handled again,
 * because another event of its batch failed, sends nothing twice. A message the server
 * refuses is un-recorded, to be tried again; a worker that dies between the record and the
 * send loses that one e-mail rather than sending it twice. Records go with their outbox events.
 * A kind that claims its e-mail itself (`claimsItsOwn`: a sanction's, with a lease another
 * worker takes over) records nothing there, so that the event, delivered again after such a
 * death, can send it.
 */
export abstract class AccountMailHandler<U extends { email: string | null; is_placeholder: boolean }> implements OutboxHandler {
  abstract readonly name: string;
  protected abstract readonly eventType: string;
  /** What the e-mail is, for the log and errors ("password reset"). */
  protected abstract readonly what: string;
  protected abstract readonly ttlSeconds: number;
  private readonly log = new Logger('AccountMail');

  constructor(
    protected readonly ds: DataSource,
    private readonly mailer: AccountMailer,
  ) {}

  /** The account (or what else the e-mail is about), or null when there is nothing to send it. */
  protected abstract load(subjectId: string): Promise<U | null | undefined>;

  /** What an event's e-mail is about: the account its payload names, unless a kind says otherwise. */
  protected subjectOf(event: OutboxEvent): string {
    return String(event.payload.userId);
  }

  /** The account the e-mail goes to, if it is one's (its bounce is the account's). */
  protected accountOf(subjectId: string): string | null {
    return subjectId;
  }

  /** How the handler's own log lines name what the e-mail is about: the account, and what else a kind's subject holds, each apart. */
  protected logFieldsOf(subjectId: string): Record<string, string | null> {
    return { userId: this.accountOf(subjectId) };
  }

  /**
   * The message, with a link good for `ttlSeconds` from now; with a `messageId` (`<…@…>`) of its
   * own for a kind that may be sent twice (at least once), so that a second copy is the same message.
   */
  protected abstract message(user: U & { email: string }, ttlSeconds: number): Promise<{ subject: string; text: string; messageId?: string }>;

  /**
   * Whether, with no SMTP_URL outside production, the message goes to the log, as the digest's
   * do, and counts as sent (a sanction's): only for a kind whose message opens and vouches for
   * nothing (no token). The other kinds are given up there, the log noting that one was due. In
   * production every kind is left to a node that has SMTP_URL (`send`).
   */
  protected readonly loggedWithoutSmtp: boolean = false;

  /**
   * Whether `sending` claims each e-mail itself, in place of the event's record in
   * `account_mails_sent` (which would keep the event, delivered again after a worker died
   * between the record and the send, from sending it).
   */
  protected readonly claimsItsOwn: boolean = false;

  /**
   * Just before a message goes out, once everything else allowed it: false sends nothing. For a
   * kind that others must know is being e-mailed on its own (a sanction, which the notification
   * digest then never e-mails again) to claim it, answering the claim's stamp (`stampOf`): a lease
   * of MAIL_CLAIM_LEASE_SECONDS, kept while the message goes (`renewClaim`, `sendKeepingClaim`).
   * It may throw for the outbox to try the event again later (a claim another worker still holds).
   */
  protected sending(_subjectId: string): Promise<boolean | string> {
    return Promise.resolve(true);
  }

  /**
   * Renews the claim `sending` made (stamped `stamp`) while its message goes: the new stamp, or
   * null when the claim is no longer this worker's (taken over, or handled), and the send stops.
   */
  protected renewClaim(_subjectId: string, _stamp: string): Promise<string | null> {
    return Promise.reject(new Error(`${this.what} e-mail has no claim to renew`));
  }

  /** The mail server took the message `sending` let go (its claim's stamp, if it claimed): what a claim is for is done. */
  protected sent(_subjectId: string, _stamp?: string): Promise<void> {
    return Promise.resolve();
  }

  /** The message `sending` let go was not sent (refused, for now or for good): takes back what it recorded (its own claim alone). */
  protected unsent(_subjectId: string, _stamp?: string): Promise<void> {
    return Promise.resolve();
  }

  /** `renewEvery`, here for a test to drive a send's renewals itself. */
  protected everyRenewal(tick: () => Promise<void>, everyMs: number): () => void {
    return renewEvery(tick, everyMs);
  }

  /**
   * The message will not be tried again (after `unsent`): the mail server refused it for good, or
   * for now on its outbox event's last try before parking; or it was never let go (`sending` not
   * asked): `load` found no address to send it to (for a sanction barring its member: none
   * confirmed that does not bounce; not when `load` finds nothing at all, for a sanction one
   * lifted, run out, or barring nobody site-wide), its event came later than `ttlSeconds` after
   * the request, no node sent it while it could (production without SMTP_URL), or no SMTP_URL is
   * configured outside production (unless the kind is `loggedWithoutSmtp`).
   * For a kind whose news others hold back while it may still go (a sanction's, which the digest
   * then e-mails by the normal path) to say so. The other kinds keep no such mark: their event's
   * record in `account_mails_sent` stays, refused for good or skipped alike.
   */
  protected gaveUp(_subjectId: string): Promise<void> {
    return Promise.resolve();
  }

  handles(type: string): boolean {
    return type === this.eventType;
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    for (const event of events) {
      if (this.claimsItsOwn) {
        await this.send(this.subjectOf(event), event.createdAt, isLastTry(event));
        continue;
      }
      const claimed = await this.ds.query(`INSERT INTO account_mails_sent (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1`, [event.id]);
      if (claimed.length === 0) continue; // sent already, on an earlier try of its batch
      try {
        await this.send(this.subjectOf(event), event.createdAt, isLastTry(event));
      } catch (err) {
        await this.ds.query(`DELETE FROM account_mails_sent WHERE id = $1`, [event.id]);
        throw err;
      }
    }
  }

  /** `lastTry`: the outbox parks the event if this delivery fails (a refusal for now is then given up too). */
  private async send(userId: string, requestedAt: Date, lastTry: boolean): Promise<void> {
    // Nothing to send it to, too late, or nowhere to send it (outside production, for a kind not
    // `loggedWithoutSmtp`): the event is handled and never delivered again, so the e-mail is given up as
    // one refused for good is. Nothing to send at
    // all (`load` null: for a sanction, none that bars its member now) gives nothing up.
    const user = await this.load(userId);
    if (!user) return;
    if (!user.email || user.is_placeholder) return this.gaveUp(userId);
    const ttl = this.ttlSeconds - Math.floor((Date.now() - new Date(requestedAt).getTime()) / 1000);
    if (ttl <= 0) return this.gaveUp(userId);
    if (!this.mailer.configured) {
      if (this.mailer.production) {
        // Another process may have SMTP_URL (or this one, restarted with it): due again in a
        // while, or once too late, whichever comes first. Nothing is signed meanwhile.
        const account = this.accountOf(userId);
        this.log.warn(this.logFieldsOf(userId), `${this.what} e-mail not sent: no SMTP_URL configured; left for a process that has one`);
        throw new OutboxWait(`${this.what} e-mail${account ? ` for user ${account}` : ''} left for a process with SMTP_URL`, new Date(Date.now() + Math.min(SMTP_WAIT_SECONDS, ttl) * 1000));
      }
      if (!this.loggedWithoutSmtp) {
        this.log.warn(this.logFieldsOf(userId), `${this.what} e-mail not sent: no SMTP_URL configured`);
        return this.gaveUp(userId);
      }
      // Outside production it goes to the log, below, once claimed as if it were sent.
    }
    const { subject, text, messageId } = await this.message(user as U & { email: string }, ttl);
    // The lease counted from before the claim, by the local clock.
    const claimedFrom = Date.now();
    const claim = await this.sending(userId);
    if (claim === false) return;
    const lease = typeof claim === 'string' ? { stamp: claim, from: claimedFrom } : undefined;
    if (!this.mailer.configured) {
      // Outside production, for a kind that may go there (`loggedWithoutSmtp`): the developer's to read, as the digest's are.
      this.mailer.toLog(this.what, this.accountOf(userId), { to: user.email, subject, text });
      return this.sent(userId, lease?.stamp);
    }
    const message = { to: user.email, subject, text, messageId };
    let sent = false;
    let kept = true;
    try {
      if (!lease) sent = await this.mailer.send(this.what, this.accountOf(userId), message);
      else {
        // A claim of its own is kept while the message goes, and the send stops once it may be lost.
        kept = await sendKeepingClaim({
          lease,
          renew: (stamp) => this.renewClaim(userId, stamp),
          send: async (signal) => (sent = await this.mailer.send(this.what, this.accountOf(userId), message, signal)),
          everyRenewal: (tick, everyMs) => this.everyRenewal(tick, everyMs),
          log: this.log,
          logFields: this.logFieldsOf(userId),
        });
      }
    } catch (err) {
      // Refused for now: tried again by the outbox, unless it parks the event now, when nothing
      // tries it again until an operator puts it back (`outbox:retry`).
      await this.unsent(userId, lease?.stamp);
      if (lastTry) await this.gaveUp(userId);
      throw err;
    }
    if (!kept) {
      // Stopped, its claim maybe lost: neither marked nor taken back. The event is due again when
      // the lease ends (a wait, no failed attempt), and sends it then unless it was sent meanwhile.
      const account = this.accountOf(userId);
      throw new OutboxWait(`${this.what} e-mail${account ? ` for user ${account}` : ''} stopped: its claim may be lost; tried again once its lease ends`, new Date(lease!.from + MAIL_CLAIM_LEASE_SECONDS * 1000));
    }
    // False is a refusal for good.
    if (sent) await this.sent(userId, lease?.stamp);
    else {
      await this.unsent(userId, lease?.stamp);
      await this.gaveUp(userId);
    }
  }
}
