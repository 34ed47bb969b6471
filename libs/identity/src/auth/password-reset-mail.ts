import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../core/src/config/config';
import { UsersRepository } from '../users/users.repository';
import { AccountMailer, AccountMailHandler } from './account-mailer';
import { PASSWORD_RESET_REQUESTED, PASSWORD_RESET_TTL_SECONDS, PasswordsService } from './passwords.service';

/**
 * Sends the password reset e-mails `requestPasswordReset` queues (an outbox consumer, so the
 * request answers before any mail server does, and a refused message is tried again).
 *
 * Through `AccountMailer`: unlike the digest, nothing of the message ever reaches the log, in
 * any environment, since the link opens the account to whoever reads it. Without SMTP_URL the
 * log only notes that a reset e-mail was due, and no token is made.
 * A message sent twice (delivery is at least once) carries two links; both work until one is used.
 */
@Injectable()
export class PasswordResetMail extends AccountMailHandler {
  readonly name = 'password-reset-mail';
  protected readonly eventType = PASSWORD_RESET_REQUESTED;
  private readonly log = new Logger('PasswordResetMail');

  constructor(
    ds: DataSource,
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordsService,
    private readonly mailer: AccountMailer,
  ) {
    super(ds);
  }

  protected async send(userId: string, requestedAt: Date): Promise<void> {
    const user = await this.users.findCredentials(userId);
    if (!user?.email || user.is_placeholder) return;
    // A link works for an hour from the request, however late the worker gets to it.
    const ttl = AccountMailHandler.secondsLeft(PASSWORD_RESET_TTL_SECONDS, requestedAt);
    if (ttl <= 0) return;
    if (!this.mailer.configured) {
      this.log.warn({ userId }, 'password reset e-mail not sent: no SMTP_URL configured');
      return;
    }
    const link = `${this.config.publicUrl}/reset-password?token=${await this.passwords.resetToken(user, ttl)}`;
    const text = [
      `Somebody asked to reset the password of @${user.handle} on Parvis.`,
      '',
      `Choose a new password within the hour: ${link}`,
      '',
      'The link works once, and signs you out everywhere. If you did not ask for it, ignore this e-mail: your password stays as it is.',
    ].join('\n');
    await this.mailer.send('password reset', userId, { to: user.email, subject: 'Reset your password on Parvis', text });
  }
}
