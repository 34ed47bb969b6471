import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { LEVEL_RANK } from '../../libs/access/src/access-level';
import { newId } from '../../libs/core/src/ids';
import { TestApp } from '../support/test-app';

/**
 * Fixtures written straight to the database, so each test builds exactly what it
 * needs without going through (and depending on) the API under test.
 */

export interface TestUser {
  id: string;
  handle: string;
  email: string;
  token: string;
}

let seq = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36).slice(-4)}${(seq++).toString(36)}`;

export async function makeUser(
  t: TestApp,
  opts: { handle?: string; role?: 'MEMBER' | 'MODERATOR' | 'ADMIN'; groups?: string[]; trustLevel?: number; passwordHash?: string; emailUnverified?: boolean } = {},
): Promise<TestUser> {
  const id = newId();
  const handle = opts.handle ?? unique('user');
  const email = `${handle}@example.com`;
  // Addresses are confirmed unless asked otherwise: most tests are about what comes after.
  await t.sql(
    `INSERT INTO users (id, email, handle, display_name, role, trust_level, password_hash, email_verified_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::boolean THEN NULL ELSE now() END)`,
    [id, email, handle, `User ${handle}`, opts.role ?? 'MEMBER', opts.trustLevel ?? 1, opts.passwordHash ?? null, opts.emailUnverified ?? false],
  );
  for (const g of opts.groups ?? []) await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [g, id]);
  const token = await t.get(SessionsService).issue(id, {});
  return { id, handle, email, token };
}

export async function makeGroup(t: TestApp, slug = unique('group')): Promise<string> {
  const id = newId();
  await t.sql(`INSERT INTO groups (id, slug, name) VALUES ($1, $2, $3)`, [id, slug, slug]);
  return id;
}

export type Level = 'READ' | 'PARTICIPATE' | 'MODERATE' | 'ADMIN';

export async function makeSpace(
  t: TestApp,
  visibility: 'PUBLIC' | 'MEMBERS' | 'RESTRICTED',
  grants: Array<{ groupId?: string; userId?: string; level: Level }> = [],
  slug = unique('space'),
): Promise<{ id: string; slug: string }> {
  const id = newId();
  await t.sql(`INSERT INTO spaces (id, slug, name, visibility) VALUES ($1, $2, $3, $4)`, [id, slug, `Space ${slug}`, visibility]);
  for (const g of grants) {
    await t.sql(`INSERT INTO space_grants (id, space_id, group_id, user_id, level) VALUES ($1, $2, $3, $4, $5)`, [
      newId(),
      id,
      g.groupId ?? null,
      g.userId ?? null,
      LEVEL_RANK[g.level],
    ]);
  }
  return { id, slug };
}

export async function makeBoard(t: TestApp, spaceId: string, kind: 'FORUM' | 'IDEAS' | 'KNOWLEDGE' = 'FORUM', slug = unique('board')): Promise<string> {
  const id = newId();
  await t.sql(`INSERT INTO boards (id, space_id, kind, slug, name) VALUES ($1, $2, $3, $4, $5)`, [id, spaceId, kind, slug, slug]);
  return id;
}
