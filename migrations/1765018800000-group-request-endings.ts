import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Requests to join a group kept however they end, with how they ended. A withdrawn one was kept
 * already (`withdrawn`), but the others that ended without a decision were deleted: the
 * requester put in the group another way (an admin or owner adding them, an invitation, the
 * e-mail domain rule, joining a group opened since), or their account deleted. A manager going on
 * to decide one was told NOT_FOUND, as if it had never been, where it no longer waits (CONFLICT).
 * `ended` now says how one ended without a decision: WITHDRAWN (what `withdrawn` said), JOINED,
 * ACCOUNT_DELETED; ended, as decided, it has `decided_at` (when it stopped waiting), so every read
 * of the waiting requests (`decided_at IS NULL`, the partial indexes) is unchanged. An account's
 * deletion keeps its requests but erases their messages (what the person wrote, which nothing
 * reads once a request waits no more): only a request that waits no more may have none.
 *
 * Down forgets the requests that ended in a way it does not know, and those of deleted accounts,
 * as it did.
 */
export class GroupRequestEndings1765018800000 implements MigrationInterface {
  name = 'GroupRequestEndings1765018800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE group_requests
        ADD COLUMN ended text CHECK (ended IN ('WITHDRAWN', 'JOINED', 'ACCOUNT_DELETED')),
        ALTER COLUMN message DROP NOT NULL,
        ADD CONSTRAINT group_requests_message CHECK (message IS NOT NULL OR decided_at IS NOT NULL)
    `);
    await q.query(`UPDATE group_requests SET ended = 'WITHDRAWN' WHERE withdrawn`);
    await q.query(`
      ALTER TABLE group_requests
        DROP CONSTRAINT group_requests_state,
        DROP COLUMN withdrawn,
        ADD CONSTRAINT group_requests_state CHECK (CASE WHEN ended IS NOT NULL THEN decided_at IS NOT NULL AND accepted IS NULL AND decided_by IS NULL
                                                   ELSE (decided_at IS NULL) = (accepted IS NULL) END)
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM group_requests WHERE ended IN ('JOINED', 'ACCOUNT_DELETED') OR message IS NULL`);
    await q.query(`
      ALTER TABLE group_requests
        ADD COLUMN withdrawn boolean NOT NULL DEFAULT false,
        DROP CONSTRAINT group_requests_state
    `);
    await q.query(`UPDATE group_requests SET withdrawn = true WHERE ended = 'WITHDRAWN'`);
    await q.query(`
      ALTER TABLE group_requests
        DROP CONSTRAINT group_requests_message,
        DROP COLUMN ended,
        ALTER COLUMN message SET NOT NULL,
        ADD CONSTRAINT group_requests_state CHECK (CASE WHEN withdrawn THEN decided_at IS NOT NULL AND accepted IS NULL AND decided_by IS NULL
                                                   ELSE (decided_at IS NULL) = (accepted IS NULL) END)
    `);
  }
}
