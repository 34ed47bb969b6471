import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox events (by their id) whose account e-mail, a password reset or an address
 * confirmation, has gone out (AccountMailHandler): an event handled again, because another
 * event of its batch failed, sends nothing twice. Written beside the outbox's own
 * transaction, so it stays when that transaction rolls back. Pruned after the outbox's 7 days.
 */
export class AccountMailsSent1764784800000 implements MigrationInterface {
  name = 'AccountMailsSent1764784800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE account_mails_sent (id bigint PRIMARY KEY, sent_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE account_mails_sent`);
  }
}
