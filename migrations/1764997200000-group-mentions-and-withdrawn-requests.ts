import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two things about groups that the client read wrongly because the database had forgotten them.
 *
 * A GROUP_MENTION was stored with the group's slug (`data.group`), and whether its recipient
 * still saw the group was judged by finding the group of that slug: a group given a new slug
 * since read as hidden to its own members, and a group that took the old slug was judged (and
 * named) in place of the one mentioned. It is now stored with the group's id (`data.groupId`),
 * and named as the group is when read (`asSeenSql`). The notices already there are given the id
 * of the group that has their slug now, which for nearly all of them is the group mentioned
 * (no mutation changes a slug or deletes a group: only a data fix could have moved one, and a
 * notice so moved cannot be told apart now); those whose slug no group has any more name none,
 * as a group gone does. No notice keeps a stored slug.
 *
 * A request to join a group that its requester withdrew was deleted, so a manager deciding it
 * afterwards was told NOT_FOUND, as if it had never been, where it no longer waits (CONFLICT).
 * A withdrawal now ends it as a decision does (`decided_at`, when it stopped waiting), marked
 * `withdrawn`, with no decision and nobody who decided: every read of the waiting requests
 * (`decided_at IS NULL`, the partial indexes) is unchanged. Requests withdrawn before this were
 * deleted and stay unknown.
 *
 * Down gives the notices back their slug, as their group is named now, and forgets the
 * withdrawn requests, as it did.
 */
export class GroupMentionsAndWithdrawnRequests1764997200000 implements MigrationInterface {
  name = 'GroupMentionsAndWithdrawnRequests1764997200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE notifications n SET data = (n.data - 'group') || jsonb_build_object('groupId', g.id)
        FROM groups g
       WHERE n.kind = 'GROUP_MENTION' AND NOT n.data ? 'groupId' AND g.slug = n.data->>'group'
    `);
    await q.query(`UPDATE notifications SET data = data - 'group' WHERE kind = 'GROUP_MENTION' AND data ? 'group'`);
    await q.query(`
      ALTER TABLE group_requests
        ADD COLUMN withdrawn boolean NOT NULL DEFAULT false,
        DROP CONSTRAINT group_requests_check,
        ADD CONSTRAINT group_requests_state CHECK (CASE WHEN withdrawn THEN decided_at IS NOT NULL AND accepted IS NULL AND decided_by IS NULL
                                                   ELSE (decided_at IS NULL) = (accepted IS NULL) END)
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM group_requests WHERE withdrawn;
      ALTER TABLE group_requests DROP CONSTRAINT group_requests_state, DROP COLUMN withdrawn, ADD CONSTRAINT group_requests_check CHECK ((decided_at IS NULL) = (accepted IS NULL))
    `);
    // Compared as text: a groupId of another shape never reaches a uuid cast.
    await q.query(`
      UPDATE notifications n SET data = (n.data - 'groupId') || jsonb_build_object('group', g.slug)
        FROM groups g
       WHERE n.kind = 'GROUP_MENTION' AND g.id::text = n.data->>'groupId'
    `);
    await q.query(`UPDATE notifications SET data = (data - 'groupId') || '{"group": null}'::jsonb WHERE kind = 'GROUP_MENTION' AND NOT data ? 'group'`);
  }
}
