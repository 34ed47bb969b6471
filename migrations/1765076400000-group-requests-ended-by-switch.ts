import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A request to join a group ends, too, when its group stops taking requests (`updateGroup`
 * switching it from REQUEST to OPEN or CLOSED): `ended` JOINING_CHANGED, its requester told
 * (GROUP_REQUEST_CLOSED). Before, such a switch left them waiting on a decision nobody was asked
 * for any more: those still waiting in a group that is not REQUEST now are ended so here, and
 * their requesters told through the outbox, as the switch tells them
 * (`group.membership_request_closed`, with what the group is now).
 *
 * Down forgets the requests ended so, and their news (a kind the code before does not read as
 * news of a request), as the endings' migration forgot those it did not know, and the outbox
 * events that told of them (`group.membership_request_closed`, processed or still waiting: no
 * handler before reads them, and each names a request down deletes). It cannot take back only
 * what up wrote: up's requests, notices and events carry nothing that tells them from those a
 * switch (`updateGroup`) wrote since, and the code before can keep none of either, so all of
 * them go. What was pushed live or e-mailed of them stays told.
 */
export class GroupRequestsEndedBySwitch1765076400000 implements MigrationInterface {
  name = 'GroupRequestsEndedBySwitch1765076400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE group_requests
        DROP CONSTRAINT group_requests_ended_check,
        ADD CONSTRAINT group_requests_ended_check CHECK (ended IN ('WITHDRAWN', 'JOINED', 'ACCOUNT_DELETED', 'JOINING_CHANGED'))
    `);
    await q.query(`
      WITH ended AS (
        UPDATE group_requests r SET decided_at = now(), ended = 'JOINING_CHANGED'
          FROM groups g WHERE g.id = r.group_id AND g.joining <> 'REQUEST' AND r.decided_at IS NULL
        RETURNING r.id, r.group_id, r.user_id, g.joining)
      INSERT INTO outbox (type, aggregate_type, aggregate_id, payload)
      SELECT 'group.membership_request_closed', 'group', group_id,
             jsonb_build_object('requestId', id, 'groupId', group_id, 'userId', user_id, 'joining', joining)
        FROM ended ORDER BY id
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM outbox WHERE type = 'group.membership_request_closed'`);
    await q.query(`DELETE FROM notifications WHERE kind = 'GROUP_REQUEST_CLOSED'`);
    await q.query(`DELETE FROM group_requests WHERE ended = 'JOINING_CHANGED'`);
    await q.query(`
      ALTER TABLE group_requests
        DROP CONSTRAINT group_requests_ended_check,
        ADD CONSTRAINT group_requests_ended_check CHECK (ended IN ('WITHDRAWN', 'JOINED', 'ACCOUNT_DELETED'))
    `);
  }
}
