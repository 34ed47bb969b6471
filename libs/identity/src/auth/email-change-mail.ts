import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../core/src/config/config';
import { AccountMailer, AccountMailHandler } from './account-mailer';
import { EMAIL_CHANGE_NOTICE, EMAIL_CHANGE_REQUESTED, EMAIL_CHANGE_TTL_SECONDS, EmailChangeService } from './email-change';

interface Waiting {
  id: string;
  handle: string;
  /** The address the change waits for (where this e-mail goes). */
  email: string | null;
  is_placeholder: boolean;
}

/**
 * Sends the link that confirms a change of address (`changeEmail`) to the new address, an
 * outbox consumer like `EmailVerificationMail`: nothing of the message reaches the log, and
 * nothing goes once the change is confirmed or cancelled.
 */
@Injectable()
export class EmailChangeMail extends AccountMailHandler<Waiting> {
  readonly name = 'email-change-mail';
  protected readonly eventType = EMAIL_CHANGE_REQUESTED;
  protected readonly what = 'address change';
  protected readonly ttlSeconds = EMAIL_CHANGE_TTL_SECONDS;

  constructor(
    ds: DataSource,
    mailer: AccountMailer,
    private readonly config: AppConfig,
    private readonly changes: EmailChangeService,
  ) {
    super(ds, mailer);
  }

  protected async load(userId: string): Promise<Waiting | null> {
    const [user]: Waiting[] = await this.ds.query(
      `SELECT id, handle, pending_email AS email, is_placeholder FROM users WHERE id = $1 AND pending_email IS NOT NULL`,
      [userId],
    );
    return user ?? null;
  }

  protected async message(user: Waiting & { email: string }, ttlSeconds: number) {
    const link = `${this.config.publicUrl}/confirm-email-change?token=${await this.changes.token({ id: user.id, pendingEmail: user.email }, ttlSeconds)}`;
    const text = [
      `@${user.handle} asked to use this address for their account on Parvis.`,
      '',
      `Confirm it within a day, and e-mail for the account will come here from then on: ${link}`,
      '',
      'If you did not ask for it, ignore this e-mail: this address will not be used.',
    ].join('\n');
    return { subject: 'Confirm your new e-mail address on Parvis', text };
  }
}

interface Current {
  id: string;
  handle: string;
  email: string | null;
  pending_email: string;
  is_placeholder: boolean;
}

/**
 * Tells the address an account has that a change to another was asked for, while the change
 * waits (a change confirmed or cancelled before the worker got to it tells nothing): the owner
 * of a session someone else holds hears of it, and can cancel it and change their password.
 * The new address is shown masked, as anyone who reads this mailbox may see it.
 */
@Injectable()
export class EmailChangeNotice extends AccountMailHandler<Current> {
  readonly name = 'email-change-notice';
  protected readonly eventType = EMAIL_CHANGE_NOTICE;
  protected readonly what = 'address change notice';
  protected readonly ttlSeconds = EMAIL_CHANGE_TTL_SECONDS;

  constructor(
    ds: DataSource,
    mailer: AccountMailer,
    private readonly config: AppConfig,
  ) {
    super(ds, mailer);
  }

  protected async load(userId: string): Promise<Current | null> {
    const [user]: Current[] = await this.ds.query(
      `SELECT id, handle, email, pending_email, is_placeholder FROM users WHERE id = $1 AND pending_email IS NOT NULL AND email_verified_at IS NOT NULL`,
      [userId],
    );
    return user ?? null;
  }

  protected async message(user: Current & { email: string }) {
    const text = [
      `Somebody signed in as @${user.handle} on Parvis asked to move the account's e-mail to ${maskAddress(user.pending_email)}.`,
      '',
      'Nothing changes until the link sent to that address is opened; until then, e-mail keeps coming here.',
      '',
      `If it was not you, cancel the change and change your password at once: ${this.config.publicUrl}/settings/account`,
    ].join('\n');
    return { subject: 'A change of your e-mail address on Parvis was asked for', text };
  }
}

/** An address with its local part and domain name reduced to their first letters: "a***@e***.org". */
export function maskAddress(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const first = (s: string) => `${[...s][0] ?? ''}***`;
  return `${first(local)}@${dot > 0 ? `${first(domain.slice(0, dot))}${domain.slice(dot)}` : first(domain)}`;
}
