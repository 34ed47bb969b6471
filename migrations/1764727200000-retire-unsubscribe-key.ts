import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Unsubscribe links are now `SignedTokens` of the purpose `unsubscribe`, under that purpose's
 * own key (`token:unsubscribe`, created on first use). The key the e-mail digest kept for
 * itself signs nothing any more: links in e-mails sent before this change stop working (the
 * page says so, and the settings still turn e-mail off).
 */
export class RetireUnsubscribeKey1764727200000 implements MigrationInterface {
  name = 'RetireUnsubscribeKey1764727200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM app_secrets WHERE name = 'unsubscribe'`);
  }

  async down(): Promise<void> {
    // A random key cannot be brought back; the old code creates a new one on first use.
  }
}
