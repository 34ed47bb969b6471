import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../core/src/config/config';
import { UsersRepository } from '../users/users.repository';
import { AccountMailer, AccountMailHandler } from './account-mailer';
import { PASSWORD_RESET_REQUESTED, PASSWORD_RESET_TTL_SECONDS, PasswordsService } from './passwords.service';

type Credentials = NonNullable<Awaited<ReturnType<UsersRepository['findCredentials']>>>;

/**
 * Sends the password reset e-mails `requestPasswordReset` queues (an outbox consumer, so the
 * request answers before any mail server does, and a refused message is tried again). Nothing
 * of the message ever reaches the log, in any environment: the link opens the account to
 * whoever reads it. Should a message go twice, both links work until one is used.
 */
@Injectable()
export class PasswordResetMail extends AccountMailHandler<Credentials> {
  readonly name = 'password-reset-mail';
  protected readonly eventType = PASSWORD_RESET_REQUESTED;
  protected readonly what = 'password reset';
  protected readonly ttlSeconds = PASSWORD_RESET_TTL_SECONDS;

  constructor(
    ds: DataSource,
    mailer: AccountMailer,
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordsService,
  ) {
    super(ds, mailer);
  }

  protected load(userId: string) {
    return this.users.findCredentials(userId);
  }

  protected async message(user: Credentials, ttlSeconds: number) {
    const link = `${this.config.publicUrl}/reset-password?token=${await this.passwords.resetToken(user, ttlSeconds)}`;
    const text = [
      `Somebody asked to reset the password of @${user.handle} on Parvis.`,
      '',
      `Choose a new password within the hour: ${link}`,
      '',
      'The link works once, and signs you out everywhere. If you did not ask for it, ignore this e-mail: your password stays as it is.',
    ].join('\n');
    return { subject: 'Reset your password on Parvis', text };
  }
}
