import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../core/src/config/config';
import { OutboxEvent } from '../../../core/src/outbox/outbox';
import { rowsOf } from '../../../core/src/database/unit-of-work';
import { AccountMailer, AccountMailHandler } from '../../../identity/src/auth/account-mailer';

interface Barring {
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
 * A sanction e-mailed here is marked so (`sanctions.emailed_at`, see `sending`), and the digest
 * never e-mails its SANCTION notice: once the sanction ends, that notice is theirs to read, and
 * it would otherwise reach the digest too (a sanction lifted or run out within the digest's
 * delay was e-mailed twice). One not e-mailed here (lifted before the worker ran, refused by the
 * mail server) is not marked, and the digest e-mails it as any notice.
 */
@Injectable()
export class SanctionMail extends AccountMailHandler<Barring> {
  readonly name = 'sanction-mail';
  protected readonly eventType = 'user.sanctioned';
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

  protected async load(subject: string): Promise<Barring | null> {
    const [row]: Barring[] = await this.ds.query(
      `SELECT u.handle, u.email, u.is_placeholder, s.kind, s.reason, s.expires_at
         FROM sanctions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $2::uuid AND s.user_id = $1::uuid AND s.space_id IS NULL AND s.kind IN ('SUSPEND', 'BAN')
          AND s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now())
          AND u.deleted_at IS NULL AND u.email_verified_at IS NOT NULL AND u.email_bounced_at IS NULL`,
      this.idsOf(subject),
    );
    return row ?? null;
  }

  /**
   * Marks the sanction e-mailed, in one statement with a last look that it is still in force
   * (nothing goes out for one lifted since `load`). A sanction is marked only while it bars the
   * member, whom the digest then sends nothing: a digest that could e-mail its notice found it
   * ended, so it finds this mark too, as it reads the marks after the member's standing.
   */
  protected override async sending(subject: string): Promise<boolean> {
    const marked = await this.ds.query(
      `UPDATE sanctions SET emailed_at = now()
        WHERE id = $2::uuid AND user_id = $1::uuid AND emailed_at IS NULL
          AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > now())
        RETURNING 1`,
      this.idsOf(subject),
    );
    return rowsOf(marked).length > 0;
  }

  /** Refused by the mail server: the digest may e-mail its notice after all. */
  protected override async unsent(subject: string): Promise<void> {
    await this.ds.query(`UPDATE sanctions SET emailed_at = NULL WHERE id = $2::uuid AND user_id = $1::uuid`, this.idsOf(subject));
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
    return { subject: s.kind === 'BAN' ? 'Your account on Parvis is banned' : 'Your account on Parvis is suspended', text };
  }
}
