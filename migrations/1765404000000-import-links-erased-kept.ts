import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';

/**
 * The mark an anonymisation leaves on an imported user's link (digest `erased`,
 * ERASED_IMPORT_DIGEST) is kept by the database, not only by the importer of this release: a node
 * of an earlier release running an import during a rolling deploy (or any code) that writes a
 * digest over it, points the link at another account, or moves it to another key, leaves the link
 * as it was. A trigger rather than a refusal, so that such an import goes on and ends as this
 * release's would; the one change let through is giving the link its dump identity when it has
 * none (`dump_identity`, which a run of the link's own source fills). Down drops the trigger.
 *
 * Outside a transaction (`transaction = false`): the function and the trigger in one statement
 * through `alterGivingWay` (CREATE TRIGGER's SHARE ROW EXCLUSIVE lock, which an import's batch
 * under way holds off, waited for half a second at a time), so the writes queued behind the wait,
 * an anonymisation's mark among them, go on. Idempotent; down the same way.
 */
export class ImportLinksErasedKept1765404000000 implements MigrationInterface {
  name = 'ImportLinksErasedKept1765404000000';

  /** Each lock taken in a statement of its own, given up while others wait (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(
      q,
      `CREATE OR REPLACE FUNCTION import_links_erased_kept() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.source := OLD.source;
        NEW.kind := OLD.kind;
        NEW.external_id := OLD.external_id;
        NEW.local_id := OLD.local_id;
        NEW.digest := OLD.digest;
        NEW.dump_identity := COALESCE(OLD.dump_identity, NEW.dump_identity);
        RETURN NEW;
      END $$;
      CREATE OR REPLACE TRIGGER import_links_erased_kept BEFORE UPDATE ON import_links
        FOR EACH ROW WHEN (OLD.digest = 'erased') EXECUTE FUNCTION import_links_erased_kept()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `DROP TRIGGER IF EXISTS import_links_erased_kept ON import_links; DROP FUNCTION IF EXISTS import_links_erased_kept()`);
  }
}
