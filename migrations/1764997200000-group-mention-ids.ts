import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A GROUP_MENTION was stored with the group's slug (`data.group`), and whether its recipient
 * still saw the group was judged by finding the group of that slug: a group given a new slug
 * since read as hidden to its own members, and a group that took the old slug was judged (and
 * named) in place of the one mentioned. It is now stored with the group's id (`data.groupId`),
 * and named as the group is when read (`asSeenSql`). The notices already there are given the id
 * of the group that has their slug now, which for nearly all of them is the group mentioned
 * (no mutation changes a slug or deletes a group: only a data fix could have moved one, and a
 * notice so moved cannot be told apart now); those whose slug no group has any more name none,
 * as a group gone does. No notice keeps a stored slug. Data only; down gives them back their
 * slug, as their group is named now.
 */
export class GroupMentionIds1764997200000 implements MigrationInterface {
  name = 'GroupMentionIds1764997200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE notifications n SET data = (n.data - 'group') || jsonb_build_object('groupId', g.id)
        FROM groups g
       WHERE n.kind = 'GROUP_MENTION' AND NOT n.data ? 'groupId' AND g.slug = n.data->>'group'
    `);
    await q.query(`UPDATE notifications SET data = data - 'group' WHERE kind = 'GROUP_MENTION' AND data ? 'group'`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Compared as text: a groupId of another shape never reaches a uuid cast.
    await q.query(`
      UPDATE notifications n SET data = (n.data - 'groupId') || jsonb_build_object('group', g.slug)
        FROM groups g
       WHERE n.kind = 'GROUP_MENTION' AND g.id::text = n.data->>'groupId'
    `);
    await q.query(`UPDATE notifications SET data = (data - 'groupId') || '{"group": null}'::jsonb WHERE kind = 'GROUP_MENTION' AND NOT data ? 'group'`);
  }
}
