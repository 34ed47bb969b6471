import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two kinds of notice that named what they were about the wrong way.
 *
 * A moderator's removal (POST_REMOVED) is about the post's topic (`topic_id`), as a removed post
 * is nobody's to open; the post itself was known only from the notice's source
 * (`removed:<post id>:<version>`), which the e-mail read and the app could not, so the app showed
 * no post (`Notification.post` null) even once the post was restored and readable again. The
 * notice now stores the post (`removed_post_id`), which `NotificationVisibility.removedPosts`
 * shows only while its recipient reads it in full; the notices already there are given it from
 * their source, where that post is still there. Should the post go, the column is set null (not
 * the notice deleted, as `post_id` would have it): a post is deleted only with its topic, which
 * takes the notice with it (`topic_id`), but were one deleted alone, its notice would still be
 * about the topic.
 *
 * News of a request to join a group (GROUP_MEMBERSHIP_REQUEST, GROUP_MEMBERSHIP_DECIDED) was
 * stored with the group's slug and name (`data.group`, `data.groupName`), which read out of date
 * once the group was renamed (`updateGroup`) or given another slug. They now store its id
 * (`data.groupId`) and are named as the group is when read (`asSeenSql`, as a GROUP_MENTION is).
 * The notices already there are given the id of their request's group (exact: a request is of one
 * group for ever); those whose request is gone are shown to nobody (`groupNoticeSql`) and keep
 * none. No notice keeps a stored slug or name.
 *
 * Down drops the column, and gives the group notices back their slug and name as the group has
 * them now (null once it is gone).
 */
export class NotificationSubjectIds1765008000000 implements MigrationInterface {
  name = 'NotificationSubjectIds1765008000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notifications ADD COLUMN removed_post_id uuid REFERENCES posts(id) ON DELETE SET NULL`);
    // Compared as text: a source of another shape never reaches a uuid cast.
    await q.query(`
      UPDATE notifications n SET removed_post_id = p.id
        FROM posts p
       WHERE n.kind = 'POST_REMOVED' AND n.source LIKE 'removed:%' AND p.id::text = split_part(n.source, ':', 2)
    `);
    await q.query(`
      UPDATE notifications n SET data = (n.data - 'group' - 'groupName') || jsonb_build_object('groupId', r.group_id)
        FROM group_requests r
       WHERE n.kind IN ('GROUP_MEMBERSHIP_REQUEST', 'GROUP_MEMBERSHIP_DECIDED') AND NOT n.data ? 'groupId' AND r.id::text = n.data->>'requestId'
    `);
    await q.query(`
      UPDATE notifications SET data = data - 'group' - 'groupName'
       WHERE kind IN ('GROUP_MEMBERSHIP_REQUEST', 'GROUP_MEMBERSHIP_DECIDED') AND (data ? 'group' OR data ? 'groupName')
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE notifications n SET data = (n.data - 'groupId') || jsonb_build_object('group', g.slug, 'groupName', g.name)
        FROM groups g
       WHERE n.kind IN ('GROUP_MEMBERSHIP_REQUEST', 'GROUP_MEMBERSHIP_DECIDED') AND g.id::text = n.data->>'groupId'
    `);
    await q.query(`
      UPDATE notifications SET data = (data - 'groupId') || '{"group": null, "groupName": null}'::jsonb
       WHERE kind IN ('GROUP_MEMBERSHIP_REQUEST', 'GROUP_MEMBERSHIP_DECIDED') AND NOT data ? 'group'
    `);
    await q.query(`ALTER TABLE notifications DROP COLUMN removed_post_id`);
  }
}
