import request from 'supertest';
import { bootTestApp, expectError, TestApp } from '../support/test-app';

describe('API basics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('reports the database state on /health', async () => {
    const res = await request(t.http).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.database.status).toBe('up');
  });

  it('sends GraphQL answers without an ETag or x-powered-by (nobody revalidates a POST)', async () => {
    const res = await t.gql('{ __typename }');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('answers BAD_USER_INPUT to a malformed query, without internals', async () => {
    const res = await t.gql('{ nope ');
    const err = expectError(res, 'BAD_USER_INPUT');
    expect(JSON.stringify(err)).not.toMatch(/stack|node_modules/);
  });
});
