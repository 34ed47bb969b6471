import { DataSource } from 'typeorm';
import { MeiliSearchEngine } from '../../libs/search/src/meili/meili.engine';
import { FoldingUnavailableError, ServerFolding } from '../../libs/search/src/postgres/unaccent-folding';
import { SearchRequest } from '../../libs/search/src/search-engine';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/**
 * The server's letter folding as a process holds it (`ServerFolding`), against a PostgreSQL of the
 * test's own whose `unaccent` the test writes (a SQL function standing in for the extension's, whose
 * rules come with the server's release): so that the server's rules can change under it, as an
 * upgrade from 15 to 18 changes them.
 */
describe('the server’s letter folding', () => {
  let db: TestDatabase;
  let ds: DataSource;
  /** The server's `unaccent` from now on: `reading`, a SQL expression of its text, $1. */
  const unaccentReads = (reading: string) => ds.query(`CREATE OR REPLACE FUNCTION unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT ${reading} $$`);

  beforeAll(async () => {
    db = await createTestDatabase({ empty: true });
    ds = await new DataSource({ type: 'postgres', url: db.url }).initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('is read again once an hour has passed, and then follows the server’s unaccent as it reads letters now', async () => {
    await unaccentReads(`translate($1, 'é', 'e')`);
    const folding = new ServerFolding(ds);
    const before = await folding.current();
    expect(before.fold('Café an der Straße')).toBe('Cafe an der Straße');
    // The server upgraded: its unaccent reads ß as ss too.
    await unaccentReads(`replace(translate($1, 'é', 'e'), 'ß', 'ss')`);
    // Within the hour, the rules as read.
    expect(await folding.current()).toBe(before);
    const hourLater = Date.now() + 3600_000 + 1000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => hourLater);
    try {
      // Past it: the use goes on with the rules as read, and the folding is read again beside it.
      expect(await folding.current()).toBe(before);
      await (folding as unknown as { refresh: Promise<void> | null }).refresh;
      const after = await folding.current();
      expect(after.fold('Café an der Straße')).toBe('Cafe an der Strasse');
      expect(after.fingerprint).not.toBe(before.fingerprint);
    } finally {
      clock.mockRestore();
    }
  });

  describe('when it cannot be read, a Meilisearch query', () => {
    // No Meilisearch at this address: a query that reached it would fail with a connection error instead.
    const nowhere = { url: 'http://127.0.0.1:9', timeoutMs: 200 };
    const request: SearchRequest = { query: 'Straße', filters: { spaceIds: ['00000000-0000-7000-8000-000000000001'] }, limit: 10, offset: 0 };

    it('fails as the folding could not be read, before asking Meilisearch, when the read fails', async () => {
      await ds.query(`DROP FUNCTION IF EXISTS unaccent(text)`);
      const engine = new MeiliSearchEngine(nowhere, new ServerFolding(ds));
      const failure = engine.search(request);
      await expect(failure).rejects.toBeInstanceOf(FoldingUnavailableError);
      await expect(failure).rejects.toThrow(/^the letter folding could not be read: function unaccent\(text\) does not exist/);
    });

    it('fails as the folding could not be read, before asking Meilisearch, when the read does not answer', async () => {
      // The chunk of letters holding A takes seconds: the read is given up on long before.
      await unaccentReads(`CASE WHEN strpos($1, 'A') > 0 THEN (SELECT $1 FROM pg_sleep(2)) ELSE $1 END`);
      const folding = new ServerFolding(ds);
      (folding as unknown as { readWaitMs: number }).readWaitMs = 200;
      const engine = new MeiliSearchEngine(nowhere, folding);
      const failure = engine.search(request);
      await expect(failure).rejects.toBeInstanceOf(FoldingUnavailableError);
      await expect(failure).rejects.toThrow('the letter folding could not be read: no answer after 200 ms');
    });
  });
});
