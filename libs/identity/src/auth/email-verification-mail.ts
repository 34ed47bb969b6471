import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../core/src/config/config';
import { AccountMailer, AccountMailHandler } from './account-mailer';
import { EMAIL_VERIFICATION_REQUESTED, EMAIL_VERIFICATION_TTL_SECONDS, EmailVerificationService } from './email-verification';

interface Unconfirmed {
  id: string;
  handle: string;
  email: string | null;
  is_placeholder: boolean;
  /** On the bounce list: confirmed once, until a mail server refused it for good. */
  bouncing: boolean;
}

/**
 * Sends the address confirmation e-mails sign-ups (and `resendEmailVerification`) queue, an
 * outbox consumer like `PasswordResetMail`: nothing of the message reaches the log, and
 * nothing goes to an address confirmed meanwhile (unless it is on the bounce list).
 */
@Injectable()
export class EmailVerificationMail extends AccountMailHandler<Unconfirmed> {
  readonly name = 'email-verification-mail';
  protected readonly eventType = EMAIL_VERIFICATION_REQUESTED;
  protected readonly what = 'address confirmation';
  protected readonly ttlSeconds = EMAIL_VERIFICATION_TTL_SECONDS;

  constructor(
    ds: DataSource,
    mailer: AccountMailer,
    private readonly config: AppConfig,
    private readonly verification: EmailVerificationService,
  ) {
    super(ds, mailer);
  }

  protected async load(userId: string): Promise<Unconfirmed | null> {
    const [user]: Unconfirmed[] = await this.ds.query(
      `SELECT id, handle, email, is_placeholder, email_bounced_at IS NOT NULL AS bouncing FROM users
        WHERE id = $1 AND (email_verified_at IS NULL OR email_bounced_at IS NOT NULL)`,
      [userId],
    );
    return user ?? null;
  }

  protected async message(user: Unconfirmed & { email: string }, ttlSeconds: number) {
    const link = `${this.config.publicUrl}/verify-email?token=${await this.verification.token(user, ttlSeconds)}`;
    const text = user.bouncing
      ? [
          `Hello @${user.handle},`,
          '',
          `Notification e-mails to this address stopped when a mail server refused one. Open this link, and they will start coming again: ${link}`,
          '',
          'If you did not ask for this, ignore this e-mail: nothing more will be sent to this address.',
        ].join('\n')
      : [
          `Welcome to Parvis, @${user.handle}.`,
          '',
          `Confirm that this address is yours, and notification e-mails will start coming to it: ${link}`,
          '',
          'If you did not sign up, ignore this e-mail: nothing will be sent to this address.',
        ].join('\n');
    return { subject: 'Confirm your e-mail address on Parvis', text };
  }
}
