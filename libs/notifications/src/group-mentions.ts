import { GROUP_MENTION_MAX_MEMBERS } from '../../identity/src/groups/group.model';
import { memberSeesGroupSql } from '../../identity/src/groups/group-visibility';
import { memberCountSql } from '../../identity/src/groups/groups.repository';

/**
 * The members told of a mention of the groups `groupIds` (SQL of a uuid[] or a subquery):
 * rows `(user_id, group_id, slug)`, for groups of at most GROUP_MENTION_MAX_MEMBERS members that may
 * still be mentioned (a group made NOBODY while a post waited for approval tells nobody).
 * Only the members who see the group (`memberSeesGroupSql`: all of them, but in a group of
 * visibility OWNERS its owners and the admins alone): a notice naming a group its own plain
 * members may not see would tell them it exists, and that they are in it.
 */
export function mentionedGroupMembersSql(groupIds: string): string {
  return `SELECT gm.user_id, g.id AS group_id, g.slug FROM groups g JOIN group_members gm ON gm.group_id = g.id
           WHERE g.id = ANY(${groupIds}) AND g.mentionable <> 'NOBODY' AND ${memberCountSql('g')} <= ${GROUP_MENTION_MAX_MEMBERS}
             AND ${memberSeesGroupSql('g', { owner: 'gm.owner', admin: "EXISTS (SELECT 1 FROM users ga WHERE ga.id = gm.user_id AND ga.role = 'ADMIN')" })}`;
}

/**
 * A JSON array of `[user_id, group_id]`, one per member a post's group mentions tell (see
 * mentionedGroupMembersSql), by the groups' slugs, as a scalar subquery; `postId` is the SQL of
 * the post's id. A GROUP_MENTION stores the group's id (`data.groupId`), never its slug: a slug
 * may change, or pass to another group, after the notice is written (`asSeenSql` names it).
 */
export function postGroupMentionsJsonSql(postId: string): string {
  return groupMentionsJsonSql(`ARRAY(SELECT group_id FROM post_group_mentions pg WHERE pg.post_id = ${postId})`);
}

/** postGroupMentionsJsonSql for the groups `groupIds` (the SQL of a uuid array) names: some of a post's, say those an edit added. */
export function groupMentionsJsonSql(groupIds: string): string {
  return `(SELECT COALESCE(json_agg(json_build_array(g.user_id, g.group_id) ORDER BY g.slug), '[]')
             FROM (${mentionedGroupMembersSql(groupIds)}) g)`;
}
