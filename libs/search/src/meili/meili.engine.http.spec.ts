import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { searchDocument } from '../../../../test/support/search-contract';
import { FoldingUnavailableError, unaccentFolding } from '../postgres/unaccent-folding';
import { MeiliSearchEngine } from './meili.engine';

/**
 * The engine against a stand-in for Meilisearch's HTTP API (Meilisearch cannot run here; the
 * contract suite covers a real one when MEILI_URL is set): what it sends, and how it waits.
 */
describe('MeiliSearchEngine over HTTP', () => {
  let server: Server;
  let url: string;
  const requests: Array<{ method: string; path: string; body: any }> = [];
  /** Answers by method and path; tasks finish `taskMs` after they were enqueued. */
  let down = false;
  let taskMs = 0;
  const tasks = new Map<number, { type: string; at: number; error?: { code: string; message: string } }>();
  /** What a search answers: as it is, or made from the request (its crop marker, say). */
  let searchAnswer: unknown = { hits: [], estimatedTotalHits: 0, processingTimeMs: 0, query: '' };

  const enqueue = (type: string, error?: { code: string; message: string }) => {
    const uid = tasks.size + 1;
    tasks.set(uid, { type, at: Date.now(), error });
    return { taskUid: uid, indexUid: 'contributions', status: 'enqueued', type, enqueuedAt: new Date().toISOString() };
  };
  const readBody = async (req: IncomingMessage) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    return raw ? JSON.parse(raw) : null;
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const body = await readBody(req);
      requests.push({ method: req.method!, path, body });
      const send = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (down) return send(503, { message: 'unavailable', code: 'internal', type: 'internal', link: '' });
      const task = /^\/tasks\/(\d+)$/.exec(path);
      if (task) {
        const t = tasks.get(Number(task[1]))!;
        const done = Date.now() - t.at >= taskMs;
        const status = !done ? 'processing' : t.error ? 'failed' : 'succeeded';
        return send(200, { uid: Number(task[1]), indexUid: 'contributions', status, type: t.type, error: done ? (t.error ?? null) : null, enqueuedAt: new Date(t.at).toISOString() });
      }
      if (req.method === 'POST' && path === '/indexes') return send(202, enqueue('indexCreation', { code: 'index_already_exists', message: 'exists' }));
      if (req.method === 'PATCH' && path === '/indexes/contributions/settings') return send(202, enqueue('settingsUpdate'));
      if (req.method === 'POST' && path === '/indexes/contributions/documents/fetch') return send(200, { results: [], offset: 0, limit: 20, total: 0 });
      if (req.method === 'POST' && path === '/indexes/contributions/documents') return send(202, enqueue('documentAdditionOrUpdate'));
      if (req.method === 'POST' && path === '/indexes/contributions/search') return send(200, typeof searchAnswer === 'function' ? searchAnswer(body) : searchAnswer);
      return send(404, { message: `no route ${req.method} ${path}`, code: 'not_found', type: 'invalid_request', link: '' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    requests.length = 0;
    down = false;
    taskMs = 0;
  });

  /**
   * Some letters as a PostgreSQL server's unaccent reads them (this spec runs without a database;
   * the e2e suite reads the whole folding off one): letters Meilisearch's tokenizer keeps (ß, ø, ł,
   * þ, ı, Cyrillic ё), one that PostgreSQL 16 and later read (ª), and accents it takes off itself.
   */
  const readings: Array<[string, string]> = [
    ['ß', 'ss'], ['ẞ', 'SS'], ['ø', 'o'], ['Ø', 'O'], ['Ł', 'L'], ['þ', 'th'], ['Þ', 'TH'], ['ı', 'i'], ['ё', 'е'], ['ª', 'a'],
    ['é', 'e'], ['ó', 'o'], ['ö', 'o'], ['ü', 'u'], ['ź', 'z'],
  ];
  const folding = unaccentFolding(readings);
  const serverFolding = { current: async () => folding };

  const doc = searchDocument({ id: '01a23b00-0000-7000-8000-000000000001', title: 'Grinders', body: 'Burr grinders', spaceId: '01a23b00-0000-7000-8000-000000000003', createdAt: new Date('2026-01-01T00:00:00Z') });

  it('sends settings where a requested sort orders matches before typo, proximity and word position', async () => {
    await new MeiliSearchEngine({ url }, serverFolding).prepare();
    const settings = requests.find((r) => r.method === 'PATCH')!.body;
    expect(settings.rankingRules.slice(0, 2)).toEqual(['words', 'sort']);
    expect(settings.sortableAttributes).toContain('createdAtTs');
  });

  it('waits for a slow write longer than a query may take', async () => {
    const engine = new MeiliSearchEngine({ url, timeoutMs: 200 }, serverFolding);
    taskMs = 700;
    await expect(engine.upsert([doc])).resolves.toBeUndefined();
    expect(requests.filter((r) => r.path === '/indexes/contributions/documents')).toHaveLength(1);
  });

  it('prepares the index with the first write when it could not at start-up', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    down = true;
    await expect(engine.prepare()).rejects.toThrow();
    await expect(engine.upsert([doc])).rejects.toThrow();
    down = false;
    requests.length = 0;
    await engine.upsert([doc]);
    expect(requests.map((r) => `${r.method} ${r.path}`).filter((r) => !r.includes('/tasks/'))).toEqual([
      'POST /indexes',
      'PATCH /indexes/contributions/settings',
      'POST /indexes/contributions/documents/fetch',
      'POST /indexes/contributions/documents',
    ]);
    // Once prepared, a write goes straight to the documents.
    requests.length = 0;
    await engine.upsert([{ ...doc, version: 2 }]);
    expect(requests.map((r) => `${r.method} ${r.path}`).filter((r) => !r.includes('/tasks/'))).toEqual([
      'POST /indexes/contributions/documents/fetch',
      'POST /indexes/contributions/documents',
    ]);
  });

  it('shares one preparation between writes at the same moment', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    down = true;
    await expect(engine.prepare()).rejects.toThrow();
    down = false;
    requests.length = 0;
    await Promise.all([engine.upsert([doc]), engine.upsert([{ ...doc, id: '01a23b00-0000-7000-8000-000000000009' }])]);
    expect(requests.filter((r) => r.method === 'POST' && r.path === '/indexes')).toHaveLength(1);
  });

  it('reads the letter folding before it contacts Meilisearch: a write that cannot have it fails without a call', async () => {
    let readable = false;
    const engine = new MeiliSearchEngine({ url }, {
      current: async () => {
        if (!readable) throw new FoldingUnavailableError(new Error('unaccent unreachable'));
        return folding;
      },
    });
    await expect(engine.upsert([doc])).rejects.toBeInstanceOf(FoldingUnavailableError);
    expect(requests).toEqual([]);
    // Once it can be read, the same engine writes (preparing the index first).
    readable = true;
    await engine.upsert([doc]);
    expect(requests.filter((r) => r.method === 'POST' && r.path === '/indexes/contributions/documents')).toHaveLength(1);
  });

  it('gives Meilisearch ß as ss, in documents and queries alike, and shows snippets and titles with ß as written', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    const street = { ...doc, title: 'Die STRAẞE', body: 'Umleitung über die Hauptstraße … bis Montag, Fußweg frei.' };
    await engine.upsert([street, { ...doc, id: '01a23b00-0000-7000-8000-000000000002', title: 'Plain', body: 'No sharp s here.' }]);
    const [sent, plain] = requests.find((r) => r.method === 'POST' && r.path === '/indexes/contributions/documents')!.body;
    expect(sent).toMatchObject({ title: 'Die STRASSE', body: 'Umleitung über die Hauptstrasse … bis Montag, Fussweg frei.', titleAsWritten: street.title, bodyAsWritten: street.body });
    expect(plain).not.toHaveProperty('bodyAsWritten');
    expect(plain).not.toHaveProperty('titleAsWritten');

    // Meilisearch answers with the body as stored, cropped (with the marker asked for, shown as …) and marked; the snippet shows it as written.
    searchAnswer = ({ cropMarker }: { cropMarker: string }) => ({
      hits: [{ id: doc.id, topicId: doc.topicId, postNumber: 1, spaceId: doc.spaceId, kind: 'DISCUSSION', title: 'Die STRASSE', titleAsWritten: street.title, bodyAsWritten: street.body,
        _formatted: { body: `${cropMarker}die \u0001Hauptstrasse\u0002 … bis Montag, \u0001Fuss\u0002weg${cropMarker}` }, _rankingScore: 0.9 }],
      estimatedTotalHits: 1, processingTimeMs: 1, query: 'hauptstrasse fuss',
    });
    const res = await engine.search({ query: 'HAUPTSTRAẞE fuß', filters: { spaceIds: [doc.spaceId] }, limit: 10, offset: 0 });
    const asked = requests.find((r) => r.path === '/indexes/contributions/search')!.body;
    // A marker no stored text holds: an ellipsis the author wrote is never taken for it.
    expect(asked).toMatchObject({ q: 'HAUPTSTRASSE fuss', cropMarker: '\u0007' });
    expect(res.hits[0].title).toBe('Die STRAẞE');
    expect(res.hits[0].snippetHtml).toBe('…die <mark>Hauptstraße</mark> … bis Montag, <mark>Fuß</mark>weg…');
  });

  it('stores a text written with letters and their accents apart composed, and shows its snippet with the letters as written, not as folded', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    const cafe = { ...doc, title: 'Cafe\u0301', body: 'Cafe\u0301 an der Straße' };
    await engine.upsert([cafe]);
    const [sent] = requests.find((r) => r.method === 'POST' && r.path === '/indexes/contributions/documents')!.body;
    // Composed alone, the title has nothing folded: no title as written.
    expect(sent).toMatchObject({ title: 'Café', body: 'Café an der Strasse', bodyAsWritten: 'Café an der Straße' });
    expect(sent).not.toHaveProperty('titleAsWritten');

    // A document stored before, with the body as written apart, is shown as written all the same.
    searchAnswer = {
      hits: [{ id: doc.id, topicId: doc.topicId, postNumber: 1, spaceId: doc.spaceId, kind: 'DISCUSSION', title: 'Café', bodyAsWritten: cafe.body,
        _formatted: { body: 'Café an der \u0001Strasse\u0002' }, _rankingScore: 0.9 }],
      estimatedTotalHits: 1, processingTimeMs: 1, query: 'strasse',
    };
    const res = await engine.search({ query: 'Straße', filters: { spaceIds: [doc.spaceId] }, limit: 10, offset: 0 });
    expect(res.hits[0].snippetHtml).toBe('Café an der <mark>Straße</mark>');
  });

  it('shows where Meilisearch cropped as an ellipsis, its marker never, with nothing folded to put back as written', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    searchAnswer = (asked: { cropMarker: string }) => ({
      hits: [{ id: doc.id, topicId: doc.topicId, postNumber: 1, spaceId: doc.spaceId, kind: 'DISCUSSION', title: 'Notes',
        _formatted: { body: `${asked.cropMarker}the \u0001quarterly\u0002 report… came late${asked.cropMarker}` }, _rankingScore: 0.9 }],
      estimatedTotalHits: 1, processingTimeMs: 1, query: 'quarterly',
    });
    const res = await engine.search({ query: 'quarterly', filters: { spaceIds: [doc.spaceId] }, limit: 10, offset: 0 });
    expect(res.hits[0].snippetHtml).toBe('…the <mark>quarterly</mark> report… came late…');
  });

  it('shows each highlighted word as written where it stands, though the text up to an ellipsis of the author’s is found before it written another way', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    // The crop window starts at the second passage; cut at the author's ellipsis, its start is also the first's.
    const body = `Die Straße… ist zu. ${'Lange Umleitung. '.repeat(20)}Die Strasse… ist zu, sagt er.`;
    searchAnswer = (asked: { cropMarker: string }) => ({
      hits: [{ id: doc.id, topicId: doc.topicId, postNumber: 1, spaceId: doc.spaceId, kind: 'DISCUSSION', title: 'Umleitung', bodyAsWritten: body,
        _formatted: { body: `${asked.cropMarker}Die \u0001Strasse\u0002… ist zu, \u0001sagt\u0002 er.` }, _rankingScore: 0.9 }],
      estimatedTotalHits: 1, processingTimeMs: 1, query: 'strasse sagt',
    });
    const res = await engine.search({ query: 'strasse sagt', filters: { spaceIds: [doc.spaceId] }, limit: 10, offset: 0 });
    expect(res.hits[0].snippetHtml).toBe('…Die <mark>Strasse</mark>… ist zu, <mark>sagt</mark> er.');
  });

  it('gives Meilisearch ø, ł, þ, ı and the other letters unaccent reads otherwise as it reads them, and shows them as written', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    const trip = { ...doc, title: 'København – Łódź', body: 'Via ØRESUND, then Þórsmörk and Diyarbakır.' };
    await engine.upsert([trip]);
    const [sent] = requests.find((r) => r.method === 'POST' && r.path === '/indexes/contributions/documents')!.body;
    expect(sent).toMatchObject({ title: 'Kobenhavn – Lódź', body: 'Via ORESUND, then THórsmörk and Diyarbakir.', titleAsWritten: trip.title, bodyAsWritten: trip.body });

    searchAnswer = ({ cropMarker }: { cropMarker: string }) => ({
      hits: [{ id: doc.id, topicId: doc.topicId, postNumber: 1, spaceId: doc.spaceId, kind: 'DISCUSSION', title: sent.title, titleAsWritten: trip.title, bodyAsWritten: trip.body,
        _formatted: { body: `Via \u0001ORESUND\u0002, then \u0001THórsm\u0002örk${cropMarker}` }, _rankingScore: 0.9 }],
      estimatedTotalHits: 1, processingTimeMs: 1, query: 'oresund thorsm',
    });
    const res = await engine.search({ query: 'Øresund þórsm', filters: { spaceIds: [doc.spaceId] }, limit: 10, offset: 0 });
    expect(requests.find((r) => r.path === '/indexes/contributions/search')!.body).toMatchObject({ q: 'Oresund thórsm' });
    expect(res.hits[0].title).toBe(trip.title);
    expect(res.hits[0].snippetHtml).toBe('Via <mark>ØRESUND</mark>, then <mark>Þórsm</mark>örk…');
  });

  it('gives Meilisearch the letters as the server reads them, whatever its release, and leaves it the accents it takes off itself', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    const tree = { ...doc, title: 'Nª 5: ёлка', body: 'Le café, über alles.' };
    await engine.upsert([tree]);
    const [sent] = requests.find((r) => r.method === 'POST' && r.path === '/indexes/contributions/documents')!.body;
    expect(sent).toMatchObject({ title: 'Na 5: елка', body: 'Le café, über alles.', titleAsWritten: tree.title });
    expect(sent).not.toHaveProperty('bodyAsWritten');
    await engine.search({ query: 'ёлка café', filters: { spaceIds: [doc.spaceId] }, limit: 10, offset: 0 });
    expect(requests.find((r) => r.path === '/indexes/contributions/search')!.body).toMatchObject({ q: 'елка café' });
  });

  it('says a total of pagination.maxTotalHits is an estimate: Meilisearch caps estimatedTotalHits there, so 1,000 stands for 1,000 or more', async () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    const total = async (estimatedTotalHits: number) => {
      searchAnswer = { hits: [], estimatedTotalHits, processingTimeMs: 1, query: 'grinders' };
      const res = await engine.search({ query: 'grinders', filters: { spaceIds: [doc.spaceId] }, limit: 10, offset: 0 });
      return { total: res.total, totalIsEstimate: res.totalIsEstimate };
    };
    expect(await total(1000)).toEqual({ total: 1000, totalIsEstimate: true });
    expect(await total(999)).toEqual({ total: 999, totalIsEstimate: false });
  });

  it('records the folding it was given its documents with: another rebuilds the index when what it is given changes, not otherwise', () => {
    const engine = new MeiliSearchEngine({ url }, serverFolding);
    const fingerprint = (more: Array<[string, string]>) => engine.formatFingerprint(unaccentFolding([...readings, ...more]));
    // An accent its tokenizer takes off itself: nothing it is given changes.
    expect(fingerprint([['à', 'a']])).toBe(fingerprint([]));
    // A letter read as another (ℌ, which PostgreSQL 15 reads as x and 18 as H), or a Cyrillic accent: what it is given changes.
    expect(fingerprint([['ℌ', 'x']])).not.toBe(fingerprint([['ℌ', 'H']]));
    expect(fingerprint([['й', 'и']])).not.toBe(fingerprint([]));
  });
});
