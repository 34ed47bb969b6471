import { SearchAdmin } from '../../libs/search/src/search-admin';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { bootTestApp, TestApp } from '../support/test-app';

/**
 * A rebuild's batches in flight each hold one of the pool's connections (DB_POOL_SIZE): more
 * would wait for one, and a wait past DB_CONNECTION_TIMEOUT_MS would fail the rebuild halfway.
 * SearchAdmin.rebuild keeps to the pool itself, whoever calls it (`search:reindex`, a script, the
 * bench): on a pool of one here.
 */
describe('search: a rebuild keeps to the pool (DB_POOL_SIZE)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ DB_POOL_SIZE: '1' });
    const author = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    await createTopic(t, author.token, await makeBoard(t, space.id), { title: 'Rebuilt on one connection', body: 'One batch at a time.' });
  });
  afterAll(() => t.close());

  const documents = async () => (await t.sql(`SELECT count(*)::int AS n FROM search_documents`))[0].n as number;

  it('refuses more batches at once than the pool has connections, or a count that is not a whole number from 1, writing nothing', async () => {
    const admin = t.get(SearchAdmin);
    await t.sql(`TRUNCATE search_documents CASCADE`);
    for (const concurrency of [2, 0, 1.5, Number.NaN]) {
      await expect(admin.rebuild(admin.targets('postgres'), undefined, concurrency)).rejects.toThrow(
        new RangeError(`A rebuild runs from 1 to DB_POOL_SIZE (1) batches at once, each on one of the pool's connections; asked for ${concurrency}`),
      );
    }
    expect(await documents()).toBe(0);
  });

  it('runs as many batches at once as the pool allows when not told (two, or fewer on a smaller pool)', async () => {
    const admin = t.get(SearchAdmin);
    await t.sql(`TRUNCATE search_documents CASCADE`);
    const [{ posts }] = await t.sql(`SELECT count(*)::int AS posts FROM posts`);
    expect(await admin.rebuild(admin.targets('postgres'))).toBe(posts);
    expect(await documents()).toBe(posts);
  });
});
