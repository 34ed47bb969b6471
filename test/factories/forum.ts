import { TestApp } from '../support/test-app';

export const CREATE_TOPIC = `mutation($input: CreateTopicInput!) { createTopic(input: $input) { id title kind tags replyCount firstPost { id number bodyHtml } } }`;
export const REPLY = `mutation($input: ReplyInput!) { replyToTopic(input: $input) { id number bodyHtml } }`;

/** Creates a topic through the API (so it goes through the whole content pipeline). */
export async function createTopic(
  t: TestApp,
  token: string,
  boardId: string,
  extra: { title?: string; body?: string; kind?: string; tags?: string[] } = {},
): Promise<{ id: string; firstPostId: string }> {
  const res = await t.gql(CREATE_TOPIC, { input: { boardId, title: extra.title ?? 'A topic title', body: extra.body ?? 'The body', kind: extra.kind, tags: extra.tags } }, { token });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return { id: res.data.createTopic.id, firstPostId: res.data.createTopic.firstPost.id };
}

export async function reply(t: TestApp, token: string, topicId: string, body = 'A reply', replyToPostId?: string): Promise<{ id: string; number: number; bodyHtml: string }> {
  const res = await t.gql(REPLY, { input: { topicId, body, replyToPostId } }, { token });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.replyToTopic;
}

export type ContentStateName = 'VISIBLE' | 'PENDING' | 'HIDDEN' | 'DELETED';

/**
 * Moves a topic or a post to a state directly in the database, for states no forum mutation
 * reaches yet (PENDING from automod, HIDDEN from moderation). Counters are not touched:
 * use it on fixtures whose counters the test does not read, or set them too.
 */
export async function setTopicState(t: TestApp, topicId: string, state: ContentStateName): Promise<void> {
  await t.sql(`UPDATE topics SET state = $2 WHERE id = $1`, [topicId, state]);
}

export async function setPostState(t: TestApp, postId: string, state: ContentStateName): Promise<void> {
  await t.sql(`UPDATE posts SET state = $2 WHERE id = $1`, [postId, state]);
}

/** Row counts of every table a forum write touches, to assert that a refused mutation wrote nothing. */
export async function forumRowCounts(t: TestApp): Promise<Record<string, number>> {
  const [row] = await t.sql(
    `SELECT (SELECT count(*) FROM topics)::int AS topics, (SELECT count(*) FROM posts)::int AS posts,
            (SELECT count(*) FROM post_revisions)::int AS revisions, (SELECT count(*) FROM post_mentions)::int AS mentions,
            (SELECT count(*) FROM post_quotes)::int AS quotes, (SELECT count(*) FROM reactions)::int AS reactions,
            (SELECT count(*) FROM topic_reads)::int AS reads, (SELECT count(*) FROM outbox)::int AS outbox,
            (SELECT coalesce(sum(version), 0) FROM topics)::int AS topic_versions,
            (SELECT coalesce(sum(version), 0) FROM posts)::int AS post_versions`,
  );
  return row;
}
