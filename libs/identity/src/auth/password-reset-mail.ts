import { Injectable, Logger } from '@nestjs/common';
import nodemailer, { Transporter } from 'nodemailer';
import { AppConfig } from '../../../core/src/config/config';
import { OutboxEvent, OutboxHandler } from '../../../core/src/outbox/outbox';
import { UsersRepository } from '../users/users.repository';
import { PASSWORD_RESET_REQUESTED, PASSWORD_RESET_TTL_SECONDS, PasswordsService } from './passwords.service';

/**
 * Sends the password reset e-mails `requestPasswordReset` queues (an outbox consumer, so the
 * request answers before any mail server does, and a refused message is tried again).
 *
 * Through SMTP_URL and MAIL_FROM, the settings the notification digest sends with; identity
 * sits below notifications, so it builds its own transport from them rather than borrowing the
 * digest's. Unlike the digest, nothing of the message ever reaches the log, in any environment:
 * the link opens the account to whoever reads it. Without SMTP_URL the log only notes that a
 * reset e-mail was due, and no token is made.
 *
 * Delivery is at least once, as for every outbox consumer: a worker that dies after handing
 * a message over may send it again; both links then work until one is used.
 */
@Injectable()
export class PasswordResetMail implements OutboxHandler {
  readonly name = 'password-reset-mail';
  private readonly log = new Logger('PasswordResetMail');
  private readonly transport?: Transporter;

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordsService,
  ) {
    this.transport = config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : undefined;
  }

  handles(type: string): boolean {
    return type === PASSWORD_RESET_REQUESTED;
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    for (const event of events) await this.send(String(event.payload.userId), event.createdAt);
  }

  private async send(userId: string, requestedAt: Date): Promise<void> {
    const user = await this.users.findCredentials(userId);
    if (!user?.email || user.is_placeholder) return;
    // A link works for an hour from the request, however late the worker gets to it.
    const ttl = PASSWORD_RESET_TTL_SECONDS - Math.floor((Date.now() - new Date(requestedAt).getTime()) / 1000);
    if (ttl <= 0) return;
    if (!this.transport) {
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
    try {
      await this.transport.sendMail({ from: this.config.MAIL_FROM, to: user.email, subject: 'Reset your password on Parvis', text });
    } catch (err) {
      // Thrown again for the outbox to retry and log, without what the mail server's error may
      // quote (the address) or what the message held (the link).
      const e = err as { code?: unknown; responseCode?: unknown };
      throw new Error(`password reset e-mail for user ${userId} not sent (${String(e.code ?? 'error')}${e.responseCode ? ` ${String(e.responseCode)}` : ''})`);
    }
  }
}
