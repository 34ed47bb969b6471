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

export async function reply(t: TestApp, token: string, topicId: string, body = 'A reply', replyToPostId?: string): Promise<{ id: string; number: number }> {
  const res = await t.gql(REPLY, { input: { topicId, body, replyToPostId } }, { token });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.replyToTopic;
}
