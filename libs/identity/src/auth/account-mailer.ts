import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import nodemailer, { Transporter } from 'nodemailer';
import { AppConfig } from '../../../core/src/config/config';
import { OutboxEvent, OutboxHandler } from '../../../core/src/outbox/outbox';

/**
 * The SMTP transport of the account e-mails (password resets, address confirmations), through
 * SMTP_URL and MAIL_FROM, the settings the notification digest sends with; identity sits below
 * notifications, so it builds its own transport from them rather than borrowing the digest's.
 * Nothing of these messages ever reaches the log, in any environment: their links open or
 * vouch for an account.
 */
@Injectable()
export class AccountMailer {
  private readonly transport?: Transporter;

  constructor(private readonly config: AppConfig) {
    this.transport = config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : undefined;
  }

  /** Whether e-mail can go out at all (SMTP_URL is set). */
  get configured(): boolean {
    return this.transport !== undefined;
  }

  /**
   * Sends one message. A refusal is thrown again, for the outbox to retry and log, without what
   * the mail server's error may quote (the address) or what the message held (a link).
   */
  async send(what: string, userId: string, message: { to: string; subject: string; text: string }): Promise<void> {
    if (!this.transport) throw new Error(`${what} e-mail for user ${userId} not sent: no SMTP_URL configured`);
    try {
      await this.transport.sendMail({ from: this.config.MAIL_FROM, ...message });
    } catch (err) {
      const e = err as { code?: unknown; responseCode?: unknown };
      throw new Error(`${what} e-mail for user ${userId} not sent (${String(e.code ?? 'error')}${e.responseCode ? ` ${String(e.responseCode)}` : ''})`);
    }
  }
}

/** How long the record of a sent account e-mail is kept: as long as its outbox event. */
export const ACCOUNT_MAILS_SENT_RETENTION_DAYS = 7;

/**
 * An outbox consumer sending one kind of account e-mail, one per event of `eventType` (whose
 * payload names the user). Each event is recorded before its e-mail goes out
 * (`account_mails_sent`, outside the outbox's transaction, so the record stays when that
 * rolls back): an event handled again, because another event of its batch failed, sends
 * nothing twice. A message the server refuses is un-recorded, to be tried again; a worker that
 * dies between the record and the send loses that one e-mail rather than sending it twice.
 */
export abstract class AccountMailHandler implements OutboxHandler {
  abstract readonly name: string;
  protected abstract readonly eventType: string;

  constructor(protected readonly ds: DataSource) {}

  handles(type: string): boolean {
    return type === this.eventType;
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    for (const event of events) {
      const claimed = await this.ds.query(`INSERT INTO account_mails_sent (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1`, [event.id]);
      if (claimed.length === 0) continue; // sent already, on an earlier try of its batch
      try {
        await this.send(String(event.payload.userId), event.createdAt);
      } catch (err) {
        await this.ds.query(`DELETE FROM account_mails_sent WHERE event_id = $1`, [event.id]);
        throw err;
      }
    }
  }

  protected abstract send(userId: string, requestedAt: Date): Promise<void>;

  /** What is left of a link's `ttlSeconds` since it was asked for, however late the worker gets to it. */
  protected static secondsLeft(ttlSeconds: number, requestedAt: Date): number {
    return ttlSeconds - Math.floor((Date.now() - new Date(requestedAt).getTime()) / 1000);
  }
}
