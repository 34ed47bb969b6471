import { makeUser } from '../factories';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

describe('GraphQL limits and error hygiene', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_COMPLEXITY: '200' });
  });
  afterAll(() => t.close());

  it('refuses queries deeper than the limit', async () => {
    const deep = `{ spaces { boards { space { boards { space { boards { space { id } } } } } } } }`;
    expectError(await t.gql(deep), 'BAD_USER_INPUT');
    expectOk(await t.gql(`{ spaces { boards { space { id } } } }`));
  });

  it('refuses queries whose cost exceeds the limit', async () => {
    const wide = `{ a: spaces { id } b: spaces { id } ${Array.from({ length: 250 }, (_, i) => `f${i}: me { id }`).join(' ')} }`;
    const err = expectError(await t.gql(wide), 'BAD_USER_INPUT');
    expect(err.message).toMatch(/too complex/);
  });

  it('answers unknown fields with BAD_USER_INPUT', async () => {
    expectError(await t.gql(`{ nothingHere }`), 'BAD_USER_INPUT');
  });

  it('hides internals behind INTERNAL with a correlation id', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    await t.sql(`ALTER TABLE groups RENAME TO groups_gone`);
    try {
      const err = expectError(await t.gql(`{ groups { id } }`, {}, { token: admin.token }), 'INTERNAL');
      expect(err.extensions.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(err)).not.toMatch(/groups_gone|relation "|SELECT|at [A-Za-z]+ \(|node_modules/i);
    } finally {
      await t.sql(`ALTER TABLE groups_gone RENAME TO groups`);
    }
  });
});
