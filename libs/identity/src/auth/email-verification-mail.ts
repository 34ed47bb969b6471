import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../core/src/config/config';
import { AccountMailer, AccountMailHandler } from './account-mailer';
import { EMAIL_VERIFICATION_REQUESTED, EMAIL_VERIFICATION_TTL_SECONDS, EmailVerificationService } from './email-verification';

/**
 * Sends the address confirmation e-mails sign-ups (and `resendEmailVerification`) queue, an
 * outbox consumer like `PasswordResetMail`, through `AccountMailer`: nothing of the message
 * reaches the log. Nothing is sent to an address confirmed meanwhile, nor without SMTP_URL
 * (the log notes that one was due).
 */
@Injectable()
export class EmailVerificationMail extends AccountMailHandler {
  readonly name = 'email-verification-mail';
  protected readonly eventType = EMAIL_VERIFICATION_REQUESTED;
  private readonly log = new Logger('EmailVerificationMail');

  constructor(
    ds: DataSource,
    private readonly config: AppConfig,
    private readonly verification: EmailVerificationService,
    private readonly mailer: AccountMailer,
  ) {
    super(ds);
  }

  protected async send(userId: string, requestedAt: Date): Promise<void> {
    const [user]: Array<{ id: string; handle: string; email: string | null; is_placeholder: boolean; email_verified_at: Date | null }> = await this.ds.query(
      `SELECT id, handle, email, is_placeholder, email_verified_at FROM users WHERE id = $1`,
      [userId],
    );
    if (!user?.email || user.is_placeholder || user.email_verified_at) return;
    // A link works for a week from the request, however late the worker gets to it.
    const ttl = AccountMailHandler.secondsLeft(EMAIL_VERIFICATION_TTL_SECONDS, requestedAt);
    if (ttl <= 0) return;
    if (!this.mailer.configured) {
      this.log.warn({ userId }, 'address confirmation e-mail not sent: no SMTP_URL configured');
      return;
    }
    const link = `${this.config.publicUrl}/verify-email?token=${await this.verification.token({ id: user.id, email: user.email }, ttl)}`;
    const text = [
      `Welcome to Parvis, @${user.handle}.`,
      '',
      `Confirm that this address is yours, and notification e-mails will start coming to it: ${link}`,
      '',
      'If you did not sign up, ignore this e-mail: nothing will be sent to this address.',
    ].join('\n');
    await this.mailer.send('address confirmation', userId, { to: user.email, subject: 'Confirm your e-mail address on Parvis', text });
  }
}
