import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { SearchAdmin } from '../../libs/search/src/search-admin';
import { SearchEngines } from '../../libs/search/src/search-engines';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const UPDATE_SPACE = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id language visibility } }`;

describe('search: a space changing language (review)', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN' });
  });
  afterAll(() => t.close());

  const drain = () => t.get(OutboxWorker).drain();
  const languages = async (spaceId: string) =>
    (await t.sql(`SELECT DISTINCT language FROM search_documents WHERE space_id = $1`, [spaceId])).map((r) => r.language);

  it('re-stems a space’s documents when its language changes alone', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    await createTopic(t, admin.token, await makeBoard(t, space.id), { title: 'Les cafetières italiennes', body: 'Nous torréfions.' });
    await drain();
    expect(await languages(space.id)).toEqual(['en']);
    expectOk(await t.gql(UPDATE_SPACE, { input: { spaceId: space.id, language: 'fr' } }, { token: admin.token }));
    await drain();
    expect(await languages(space.id)).toEqual(['fr']);
  });

  it('re-stems them too when the same change also sets who may read the space', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    await createTopic(t, admin.token, await makeBoard(t, space.id), { title: 'Les moulins à café', body: 'Nous moulons.' });
    await drain();
    expect(await languages(space.id)).toEqual(['en']);
    const updated = expectOk(await t.gql(UPDATE_SPACE, { input: { spaceId: space.id, language: 'fr', visibility: 'MEMBERS' } }, { token: admin.token }));
    expect(updated.updateSpace).toMatchObject({ language: 'fr', visibility: 'MEMBERS' });
    await drain();
    expect(await languages(space.id)).toEqual(['fr']);
    // Nothing the indexer consumes is left behind in the outbox.
    expect((await t.get(SearchAdmin).status()).outbox.pending).toBe(0);
  });

  it('counts an unprocessed space change in the indexing backlog', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    await t.sql(`DELETE FROM outbox WHERE processed_at IS NULL`);
    expectOk(await t.gql(UPDATE_SPACE, { input: { spaceId: space.id, visibility: 'MEMBERS' } }, { token: admin.token }));
    expect((await t.get(SearchAdmin).status()).outbox.pending).toBe(1);
    await drain();
    expect((await t.get(SearchAdmin).status()).outbox.pending).toBe(0);
  });

  it('shows a hit with its topic’s current title even before the index catches up', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const topic = await createTopic(t, admin.token, await makeBoard(t, space.id), { title: 'Original heading', body: 'marmaladeword' });
    await drain();
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: topic.firstPostId, body: 'marmaladeword', title: 'Renamed heading' } }, { token: admin.token }));
    const res = expectOk(await t.gql(`query { search(query: "marmaladeword") { edges { node { title topic { title } } } } }`, {}, { token: admin.token })).search;
    expect(res.edges.map((e: any) => e.node.title)).toEqual(['Renamed heading']);
  });

  // An engine's client may reject with anything: until 2026-12-07 status() read `.message` of it, and threw on null.
  it('reports an engine that rejects with something other than an error by its text, redacted, rather than throwing', async () => {
    const [engine] = t.get(SearchEngines).all();
    const count = engine.count;
    try {
      for (const [reason, text] of [
        [null, 'null'],
        [undefined, 'undefined'],
        ['refused by http://parvis:status-s3cret@meili.example/', 'refused by http://parvis:[redacted]@meili.example/'],
        [{ message: 'refused by http://parvis:status-s3cret@meili.example/' }, 'refused by http://parvis:[redacted]@meili.example/'],
      ] as const) {
        engine.count = () => Promise.reject(reason);
        const status = await t.get(SearchAdmin).status();
        expect(status.engines[0]).toEqual({ name: engine.name, documents: null, error: text });
      }
    } finally {
      engine.count = count;
    }
  });
});
