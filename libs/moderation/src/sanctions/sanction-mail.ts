import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessService, SANCTION_IN_FORCE } from '../../../access/src/access.service';
import { AppConfig } from '../../../core/src/config/config';
import { OutboxEvent, OutboxWait } from '../../../core/src/outbox/outbox';
import { MAIL_CLAIM_LEASE_SECONDS, stampAt, stampOf } from '../../../core/src/mail-lease';
import { rowsOf } from '../../../core/src/database/unit-of-work';
import { AccountMailer, AccountMailHandler } from '../../../identity/src/auth/account-mailer';

interface Barring {
  id: string;
  handle: string;
  email: string | null;
  is_placeholder: boolean;
  kind: 'SUSPEND' | 'BAN';
  reason: string;
  expires_at: Date | null;
}

/** How late a sanction's e-mail may still go (a backlog replayed long after): a barring still in force is news. */
const SANCTION_MAIL_TTL_SECONDS = 7 * 86_400;

/**
 * Tells a member by e-mail, at once, that a suspension or ban bars them from the whole site
 * (Discourse's "account suspended" e-mail, Khoros's ban notice): they cannot sign in to read
 * the SANCTION notification, which waits in their list for when they can, and the digest sends
 * nothing to a barred member. It says what the sanction is, until when, its reason (the one the
 * refused sign-in shows), and that signing in with their password is how they appeal. Sent as
 * account e-mails are (`AccountMailHandler`: once per sanction, nothing of it in the log), to a
 * confirmed address that does not bounce, as the digest would; not once the sanction was lifted
 * or ran out, nor for a sanction in one space (the member still signs in, and reads it there).
 *
 * A sanction e-mailed here is marked so (`sanctions.emailed_at`, once the mail server took it),
 * and the digest never e-mails its SANCTION notice: once the sanction ends, that notice is theirs
 * to read, and it would otherwise reach the digest too (a sanction lifted or run out within the
 * digest's delay was e-mailed twice). One not e-mailed here (lifted before the worker ran,
 * refused by the mail server) is not marked, and the digest e-mails it as any notice: once it no
 * longer bars its member, or at once when the mail server refused it for good, or for now on its
 * outbox event's last try before parking, or when it was not sent for good (its member had no
 * confirmed address that does not bounce when its event was handled, or the event came more than
 * SANCTION_MAIL_TTL_SECONDS late), which this marks (`sanctions.email_given_up_at`: given up,
 * never claimed again). A process with no SMTP_URL gives nothing up (`loggedWithoutSmtp`): outside
 * production it writes the message to the log, as the digest does, and marks it e-mailed; in
 * production it leaves it to a process that has SMTP_URL until it is too late.
 *
 * At least once, and not twice in practice: the e-mail is claimed first (`sending`), with a
 * lease of MAIL_CLAIM_LEASE_SECONDS, and no record in `account_mails_sent` (`claimsItsOwn`).
 * A worker that dies between the claim and the send has its outbox event delivered again, which
 * waits (`OutboxWait`: due again when the lease ends, no failed attempt counted, so never parked
 * meanwhile, not even when another handler of the event fails on its last try) while the claim holds and takes it over once it ran out, if the sanction is still in force; once it ended, the digest, which holds back the notice
 * of a sanction under a claim, e-mails it. The send keeps its claim while it goes (`renewClaim`,
 * `sendKeepingClaim`), and stops once it may have lost it, so a mail server slower than the lease
 * lets no other worker send it too.
 */
@Injectable()
export class SanctionMail extends AccountMailHandler<Barring> {
  readonly name = 'sanction-mail';
  protected readonly eventType = 'user.sanctioned';
  protected override readonly claimsItsOwn = true;
  protected override readonly loggedWithoutSmtp = true;
  protected readonly what = 'sanction';
  protected readonly ttlSeconds = SANCTION_MAIL_TTL_SECONDS;

  constructor(
    ds: DataSource,
    mailer: AccountMailer,
    private readonly config: AppConfig,
  ) {
    super(ds, mailer);
  }

  /** The member and the sanction, as `<user id> <sanction id>` (read back by `idsOf`). */
  protected override subjectOf(event: OutboxEvent): string {
    return `${String(event.payload.userId)} ${String(event.payload.sanctionId)}`;
  }

  /** The `[user id, sanction id]` of a subject `subjectOf` wrote, as every statement here takes them (`$1`, `$2`). */
  private idsOf(subject: string): [string, string] {
    const [userId, sanctionId] = subject.split(' ');
    return [userId, sanctionId];
  }

  protected override accountOf(subject: string): string {
    return this.idsOf(subject)[0];
  }

  protected override logFieldsOf(subject: string): { userId: string; sanctionId: string } {
    const [userId, sanctionId] = this.idsOf(subject);
    return { userId, sanctionId };
  }

  /**
   * The sanction while it bars its member site-wide, with their address only when it may be
   * e-mailed (confirmed, not bouncing, the account not deleted): null otherwise, so that a warning,
   * a silence, a sanction in one space or one over reads in this one statement and marks nothing
   * given up (`gaveUp`, asked for a barring sanction with no address).
   */
  protected async load(subject: string): Promise<Barring | null> {
    const [row]: Barring[] = await this.ds.query(
      `SELECT s.id, u.handle, CASE WHEN u.deleted_at IS NULL AND u.email_verified_at IS NOT NULL AND u.email_bounced_at IS NULL THEN u.email END AS email,
              u.is_placeholder, s.kind, s.reason, s.expires_at
         FROM (SELECT sa.id, sa.user_id, sa.kind, sa.reason, sa.expires_at FROM ${AccessService.barringSql('$1::uuid')} AND sa.id = $2::uuid) s
         JOIN users u ON u.id = s.user_id`,
      this.idsOf(subject),
    );
    return row ?? null;
  }

  /**
   * Claims the sanction's e-mail, in one statement with a last look that it is still in force
   * (nothing goes out for one lifted since `load`) and not e-mailed yet, unless another worker's
   * claim still holds: then this throws a wait (`OutboxWait`), and the outbox tries the event
   * again when the claim runs out, counting no failed attempt meanwhile (an event that had failed
   * often before is not parked while it waits), and takes the claim over then (its worker died
   * before the send). A sanction is claimed only
   * while it bars the member, whom the digest then sends nothing: a digest that could e-mail its
   * notice found it ended, so it finds this claim too, as it reads claims after the member's
   * standing. Answers the claim's stamp (`stampOf`), which the send renews while the message goes
   * (`renewClaim`): the digest holds the notice back for as long as the send is under way.
   */
  protected override async sending(subject: string): Promise<string | false> {
    const ids = this.idsOf(subject);
    // The sanction's row is locked first, as strongly as the update locks it (a claim under way
    // is waited for, then read as it committed), so one that is not claimed here is answered
    // with the claim that holds it, if any, by the same statement: the claim alone when free.
    const [row]: Array<{ claim: string | null; until: Date | null }> = await this.ds.query(
      `WITH mine AS (
         SELECT sa.id, sa.email_claimed_at FROM sanctions sa
          WHERE sa.id = $2::uuid AND sa.user_id = $1::uuid AND sa.emailed_at IS NULL AND sa.email_given_up_at IS NULL AND ${SANCTION_IN_FORCE}
          FOR NO KEY UPDATE
       ), claim AS (
         UPDATE sanctions sa SET email_claimed_at = now() FROM mine
          WHERE sa.id = mine.id AND (mine.email_claimed_at IS NULL OR mine.email_claimed_at <= now() - make_interval(secs => $3))
          RETURNING ${stampOf('sa.email_claimed_at')} AS claim
       )
       SELECT (SELECT claim FROM claim) AS claim, (SELECT mine.email_claimed_at + make_interval(secs => $3) FROM mine) AS until`,
      [...ids, MAIL_CLAIM_LEASE_SECONDS],
    );
    if (row.claim !== null) return row.claim;
    if (row.until) throw new OutboxWait(`sanction e-mail for user ${ids[0]} claimed by another worker until ${new Date(row.until).toISOString()}; tried again then`, new Date(row.until));
    return false;
  }

  /**
   * The claim (stamped `stamp`) renewed while its message goes, if it is still this worker's and
   * the sanction not e-mailed: the new stamp, else null (the send stops).
   */
  protected override async renewClaim(subject: string, stamp: string): Promise<string | null> {
    const [row] = rowsOf<{ claim: string }>(
      await this.ds.query(
        `UPDATE sanctions SET email_claimed_at = now()
          WHERE id = $2::uuid AND user_id = $1::uuid AND emailed_at IS NULL AND email_claimed_at = ${stampAt('$3')}
          RETURNING ${stampOf('email_claimed_at')} AS claim`,
        [...this.idsOf(subject), stamp],
      ),
    );
    return row?.claim ?? null;
  }

  /** The mail server took it: e-mailed, and the digest never e-mails its notice (whoever's claim it carries now: it went). */
  protected override async sent(subject: string): Promise<void> {
    await this.ds.query(`UPDATE sanctions SET emailed_at = now(), email_claimed_at = NULL WHERE id = $2::uuid AND user_id = $1::uuid`, this.idsOf(subject));
  }

  /** Refused by the mail server: this worker's claim (`stamp`) goes, and the digest may e-mail its notice after all; another's stays. */
  protected override async unsent(subject: string, stamp?: string): Promise<void> {
    await this.ds.query(
      `UPDATE sanctions SET email_claimed_at = NULL WHERE id = $2::uuid AND user_id = $1::uuid AND emailed_at IS NULL AND email_claimed_at = ${stampAt('$3')}`,
      [...this.idsOf(subject), stamp],
    );
  }

  /**
   * Refused for good, or for now on its event's last try before the outbox parks it, or not sent
   * for good (nothing to send it to, too late; unclaimed then): never claimed
   * again (`sending`), and the digest, which can now tell this
   * from an e-mail that may still go, e-mails its notice by the normal path at once, barring or
   * not (`email_given_up_at`, read by `mailableNowSql`). Unless another worker claimed it since
   * the claim went, which cannot happen for a sanction this worker's event holds, but a live claim
   * is never overruled.
   */
  protected override async gaveUp(subject: string): Promise<void> {
    await this.ds.query(
      `UPDATE sanctions SET email_given_up_at = now()
        WHERE id = $2::uuid AND user_id = $1::uuid AND emailed_at IS NULL
          AND (email_claimed_at IS NULL OR email_claimed_at <= now() - make_interval(secs => $3))`,
      [...this.idsOf(subject), MAIL_CLAIM_LEASE_SECONDS],
    );
  }

  protected async message(s: Barring & { email: string }) {
    const until = s.expires_at ? ` until ${new Date(s.expires_at).toISOString()}` : '';
    const text = [
      s.kind === 'BAN' ? `A moderator banned your account @${s.handle} on Parvis.` : `A moderator suspended your account @${s.handle} on Parvis${until}.`,
      '',
      'The reason they gave:',
      s.reason,
      '',
      s.kind === 'BAN' ? 'You can no longer sign in.' : 'Until then you cannot sign in.',
      `To appeal, sign in with your password at ${this.config.publicUrl}: instead of signing you in, Parvis shows you this sanction and lets you appeal it.`,
    ].join('\n');
    return {
      subject: s.kind === 'BAN' ? 'Your account on Parvis is banned' : 'Your account on Parvis is suspended',
      text,
      // One per sanction: sent twice (a worker dying after the server took it, before `sent`),
      // the second copy is the same message to the mail systems that keep one per Message-ID.
      messageId: `<sanction-${s.id}@${new URL(this.config.publicUrl).hostname}>`,
    };
  }
}
