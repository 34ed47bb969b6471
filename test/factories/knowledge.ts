import { expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

/** What most knowledge tests read of an article. */
export const ARTICLE_FIELDS = `id title state kind firstPost { id state bodyHtml }
  article {
    state slug position hasUnpublishedChanges verified verifiedUntil submittedAt
    helpful { yes no }
    currentRevision { id number title summary bodyHtml bodySource }
    publishedRevision { id number title bodyHtml }
    revisions { id number title publishedAt }
    parent { id } children { id } breadcrumbs { id }
    changesRequested { reason by { handle } }
  }`;

export const ARTICLE = `query($id: ID!) { topic(id: $id) { ${ARTICLE_FIELDS} } }`;

const M = {
  create: `mutation($input: CreateTopicInput!) { createTopic(input: $input) { ${ARTICLE_FIELDS} } }`,
  update: `mutation($input: UpdateArticleInput!) { updateArticle(input: $input) { ${ARTICLE_FIELDS} } }`,
  submit: `mutation($id: ID!) { submitArticle(topicId: $id) { ${ARTICLE_FIELDS} } }`,
  changes: `mutation($input: ArticleChangesInput!) { requestArticleChanges(input: $input) { ${ARTICLE_FIELDS} } }`,
  publish: `mutation($id: ID!, $rev: ID) { publishArticle(topicId: $id, revisionId: $rev) { ${ARTICLE_FIELDS} } }`,
  archive: `mutation($id: ID!) { archiveArticle(topicId: $id) { ${ARTICLE_FIELDS} } }`,
  unarchive: `mutation($id: ID!) { unarchiveArticle(topicId: $id) { ${ARTICLE_FIELDS} } }`,
  restore: `mutation($rev: ID!, $id: ID) { restoreArticleRevision(revisionId: $rev, topicId: $id) { ${ARTICLE_FIELDS} } }`,
  move: `mutation($input: MoveArticleInput!) { moveArticle(input: $input) { ${ARTICLE_FIELDS} } }`,
  verify: `mutation($id: ID!) { verifyArticle(topicId: $id) { ${ARTICLE_FIELDS} } }`,
  rate: `mutation($input: RateArticleInput!) { rateArticle(input: $input) { ${ARTICLE_FIELDS} } }`,
  settings: `mutation($input: ArticleSettingsInput!) { updateArticleSettings(input: $input) { ${ARTICLE_FIELDS} } }`,
  promote: `mutation($input: PromotePostInput!) { promotePostToArticle(input: $input) { ${ARTICLE_FIELDS} } }`,
  spaceSettings: `mutation($input: KnowledgeSettingsInput!) { setKnowledgeSettings(input: $input) { id knowledgeSettings { twoPersonReview verificationIntervalDays } } }`,
};

/** The knowledge base's mutations, by a user's token; `.ok` expects success, `.err` an error code. */
export function kb(t: TestApp) {
  const run = (query: string) => (token: string | undefined, variables: Record<string, unknown>) => t.gql(query, variables, { token });
  const api = {
    create: (token: string, boardId: string, input: { title?: string; body?: string; parentId?: string } = {}) =>
      run(M.create)(token, { input: { boardId, title: input.title ?? 'An article', body: input.body ?? 'Its body', parentId: input.parentId } }),
    update: (token: string, input: Record<string, unknown>) => run(M.update)(token, { input }),
    submit: (token: string, id: string) => run(M.submit)(token, { id }),
    requestChanges: (token: string, id: string, reason: string) => run(M.changes)(token, { input: { topicId: id, reason } }),
    publish: (token: string, id: string, rev?: string) => run(M.publish)(token, { id, rev }),
    archive: (token: string, id: string) => run(M.archive)(token, { id }),
    unarchive: (token: string, id: string) => run(M.unarchive)(token, { id }),
    restore: (token: string, rev: string, id?: string) => run(M.restore)(token, { rev, id }),
    move: (token: string, input: Record<string, unknown>) => run(M.move)(token, { input }),
    verify: (token: string, id: string) => run(M.verify)(token, { id }),
    rate: (token: string, input: Record<string, unknown>) => run(M.rate)(token, { input }),
    settings: (token: string, input: Record<string, unknown>) => run(M.settings)(token, { input }),
    promote: (token: string, input: Record<string, unknown>) => run(M.promote)(token, { input }),
    spaceSettings: (token: string, input: Record<string, unknown>) => run(M.spaceSettings)(token, { input }),
    get: (token: string | undefined, id: string) => run(ARTICLE)(token, { id }),
  };
  return api;
}

/** The topic a knowledge mutation returned. */
export function topicOf(res: GqlResult): any {
  const data = expectOk(res) as Record<string, any>;
  return Object.values(data)[0];
}

/** Creates an article (a draft) and returns its topic id. */
export async function draftArticle(t: TestApp, token: string, boardId: string, input: { title?: string; body?: string; parentId?: string } = {}): Promise<string> {
  return topicOf(await kb(t).create(token, boardId, input)).id;
}

/** Creates and publishes an article (the editor publishes; no two-person rule assumed). */
export async function publishedArticle(t: TestApp, author: string, editor: string, boardId: string, input: { title?: string; body?: string; parentId?: string } = {}): Promise<string> {
  const id = await draftArticle(t, author, boardId, input);
  topicOf(await kb(t).publish(editor, id));
  return id;
}

export { expectError };
