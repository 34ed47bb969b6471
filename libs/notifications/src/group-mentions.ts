import { GROUP_MENTION_MAX_MEMBERS } from '../../identity/src/groups/group.model';

/**
 * The members told of a mention of the groups `groupIds` (SQL of a uuid[] or a subquery):
 * rows `(user_id, slug)`, for groups of at most GROUP_MENTION_MAX_MEMBERS members.
 */
export function mentionedGroupMembersSql(groupIds: string): string {
  return `SELECT gm.user_id, g.slug FROM groups g JOIN group_members gm ON gm.group_id = g.id
           WHERE g.id = ANY(${groupIds}) AND (SELECT count(*) FROM group_members c WHERE c.group_id = g.id) <= ${GROUP_MENTION_MAX_MEMBERS}`;
}
