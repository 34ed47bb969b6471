import { DataSource } from 'typeorm';
import { SignedTokens } from '../../libs/core/src/signed-tokens';
import { bootTestApp, TestApp } from '../support/test-app';
import { TableSnapshots } from '../support/refusals';

describe('signed tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  // An appeal token is signed in a refusal (a barred member's sign-in or password reset: refuseBarred), and a refused
  // request writes nothing: its key is made by migration 1765527000000, not on a process's first signing as others are.
  it('signs the first appeal token of a process without writing: its key is there before', async () => {
    const fresh = new SignedTokens(t.get(DataSource));
    const tables = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
    const before = await tables.take();
    const token = await fresh.sign('appeal', 'a-member', 60);
    expect(TableSnapshots.changed(before, await tables.take())).toEqual([]);
    expect(await t.get(SignedTokens).verify('appeal', token)).toBe('a-member');
  });

  it('recovers from a failed first read of a purpose’s key: the next token reads it again', async () => {
    const tokens = t.get(SignedTokens);
    const ds = t.get(DataSource);
    const query = ds.query;
    let failures = 1;
    ds.query = (async (sql: string, params?: unknown[]) => {
      if (failures > 0 && sql.includes('app_secrets')) {
        failures--;
        throw new Error('connection terminated unexpectedly');
      }
      return query.call(ds, sql, params);
    }) as typeof ds.query;
    try {
      await expect(tokens.sign('hiccup-test', 'subject', 60)).rejects.toThrow('connection terminated');
      const token = await tokens.sign('hiccup-test', 'subject', 60);
      expect(await tokens.verify('hiccup-test', token)).toBe('subject');
    } finally {
      ds.query = query;
    }
  });

  it('opens a token only as it was sealed: no other spelling of its MAC, even one that decodes to the same bytes', async () => {
    const tokens = t.get(SignedTokens);
    const token = await tokens.seal('spelling-test', 'a-subject');
    expect(await tokens.unseal('spelling-test', token)).toBe('a-subject');
    // The MAC's last character carries two spare bits: every other character there decodes alike.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      if (c === token.at(-1)) continue;
      expect(await tokens.unseal('spelling-test', token.slice(0, -1) + c)).toBeNull();
    }
    expect(await tokens.unseal('another-purpose', token)).toBeNull();
  });
});
