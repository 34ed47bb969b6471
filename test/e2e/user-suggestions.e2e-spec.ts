import { randomBytes } from 'node:crypto';
import { NAME_WALK } from '../../libs/forum/src/mentions/user-suggestions.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { MentionOrderByLastVisit1765026000000 } from '../../migrations/1765026000000-mention-order-by-last-visit';
import { LastVisitCatchUp1765069200000 } from '../../migrations/1765069200000-last-visit-catch-up';
import { doneOrWaiting } from '../support/lock-waits';
import { redoMigration } from '../support/migrations';
import { withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const SUGGEST = `query($prefix: String!, $topicId: ID, $first: Int) { userSuggestions(prefix: $prefix, topicId: $topicId, first: $first) { id handle displayName } }`;

/** A handle stem no other test's users share, so each test sees only its own. */
const stem = () => `s${randomBytes(4).toString('hex')}`;

describe('@mention suggestions (Query.userSuggestions)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const suggest = async (token: string | undefined, prefix: string, extra: { topicId?: string; first?: number } = {}) =>
    (expectOk(await t.gql(SUGGEST, { prefix, ...extra }, { token })).userSuggestions as Array<{ handle: string }>).map((u) => u.handle);

  async function named(handle: string, displayName: string): Promise<TestUser> {
    const u = await makeUser(t, { handle });
    await t.sql(`UPDATE users SET display_name = $2 WHERE id = $1`, [u.id, displayName]);
    return u;
  }

  it('finds members by the start of their handle or of any word of their name, case-insensitively, @ or not', async () => {
    const s = stem();
    const viewer = await makeUser(t);
    const ada = await named(`${s}ada`, 'Ada Lovelace');
    const grace = await named(`${s}grace`, 'Grace Hopper');
    const hopper = await named(`x${s}`, `Rear Admiral ${s}Hopper`);
    expect((await suggest(viewer.token, s)).sort()).toEqual([ada.handle, grace.handle, hopper.handle].sort());
    expect(await suggest(viewer.token, `@${s}ADA`)).toEqual([ada.handle]);
    expect(await suggest(viewer.token, `${s}hop`)).toEqual([hopper.handle]);
    expect(await suggest(viewer.token, `x${s}`)).toEqual([hopper.handle]);
    // The middle of a word is not its start.
    expect(await suggest(viewer.token, s.slice(1))).toEqual([]);
  });

  it('reads `_` and other LIKE characters as themselves', async () => {
    const s = stem();
    const viewer = await makeUser(t);
    const under = await makeUser(t, { handle: `${s}_x` });
    await makeUser(t, { handle: `${s}ax` });
    expect(await suggest(viewer.token, `${s}_`)).toEqual([under.handle]);
  });

  it('leaves out the viewer, deleted accounts, placeholders, members barred site-wide and members the viewer ignores, but not the silenced or those barred from one space', async () => {
    const s = stem();
    const viewer = await makeUser(t, { handle: `${s}me` });
    const [deleted, placeholder, suspended, banned, ignored, silenced, spaceBanned, expired] = await Promise.all(
      ['del', 'pla', 'sus', 'ban', 'ign', 'sil', 'spb', 'exp'].map((x) => makeUser(t, { handle: `${s}${x}` })),
    );
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [deleted.id]);
    await t.sql(`UPDATE users SET is_placeholder = true WHERE id = $1`, [placeholder.id]);
    const space = await makeSpace(t, 'PUBLIC');
    const sanction = (u: TestUser, kind: string, spaceId: string | null, expires: string) =>
      t.sql(`INSERT INTO sanctions (id, user_id, kind, space_id, reason, expires_at) VALUES (gen_random_uuid(), $1, $2, $3, 'test', now() + $4::interval)`, [u.id, kind, spaceId, expires]);
    await sanction(suspended, 'SUSPEND', null, '1 day');
    await sanction(banned, 'BAN', null, '10 years');
    await sanction(silenced, 'SILENCE', null, '1 day');
    await sanction(spaceBanned, 'BAN', space.id, '1 day');
    await sanction(expired, 'SUSPEND', null, '-1 hour');
    await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2)`, [viewer.id, ignored.id]);
    expect((await suggest(viewer.token, s)).sort()).toEqual([silenced.handle, spaceBanned.handle, expired.handle].sort());
    // Someone else sees the one this viewer ignores, and the viewer.
    expect((await suggest((await makeUser(t)).token, s)).sort()).toEqual([viewer.handle, ignored.handle, silenced.handle, spaceBanned.handle, expired.handle].sort());
  });

  it('puts those who wrote in the topic first, latest first, and a hidden post’s author nowhere special; then an exact handle, handles before names, recent visitors', async () => {
    const s = stem();
    const viewer = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const [starter, replier, hidden, exact, visitor, quiet] = await Promise.all(
      ['zz-starter', 'zz-replier', 'zz-hidden', '', 'aa-visitor', 'ab-quiet'].map((x) => makeUser(t, { handle: `${s}${x}` })),
    );
    const byName = await named(`n${s}`, `Zed ${s}byname`);
    const topic = await createTopic(t, starter.token, board, { title: 'Who wrote here first' });
    await reply(t, replier.token, topic.id, 'I was here after the starter');
    const gone = await reply(t, hidden.token, topic.id, 'This one gets hidden');
    await setPostState(t, gone.id, 'HIDDEN');
    // Every session counts a visit: only these two have one, the others come after them by handle.
    await t.sql(`DELETE FROM user_visits WHERE user_id = ANY($1::uuid[])`, [[starter, replier, hidden, exact, visitor, quiet, byName].map((u) => u.id)]);
    await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, current_date), ($2, current_date - 30)`, [visitor.id, quiet.id]);
    expect(await suggest(viewer.token, s, { topicId: topic.id })).toEqual([replier.handle, starter.handle, exact.handle, visitor.handle, quiet.handle, hidden.handle, byName.handle]);
    // Without a topic: the exact handle first, then handles by last visit, then the name.
    expect(await suggest(viewer.token, s)).toEqual([exact.handle, visitor.handle, quiet.handle, hidden.handle, replier.handle, starter.handle, byName.handle]);
    expect(await suggest(viewer.token, s, { first: 2 })).toEqual([exact.handle, visitor.handle]);
  });

  it('finds names past the latest visitors the names are first looked for among, and a page of them when one found there is left out', async () => {
    const s = stem();
    const viewer = await makeUser(t);
    // The latest visitors but those of today, none of whom matches.
    await t.sql(
      `WITH f AS (INSERT INTO users (id, handle, display_name) SELECT gen_random_uuid(), $1 || g, 'Filler' FROM generate_series(1, $2::int) g RETURNING id)
       INSERT INTO user_visits (user_id, day) SELECT id, current_date - 1 FROM f`,
      [`f${stem()}`, NAME_WALK],
    );
    const [ignored, seen, early] = await Promise.all(['a', 'b', 'c'].map((x) => named(`n${s}${x}`, `Zed ${s}${x}`)));
    await t.sql(`DELETE FROM user_visits WHERE user_id = $1`, [early.id]);
    await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, current_date - 30)`, [early.id]);
    expect(await suggest(viewer.token, s)).toEqual([ignored.handle, seen.handle, early.handle]);
    await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2)`, [viewer.id, ignored.id]);
    expect(await suggest(viewer.token, s, { first: 2 })).toEqual([seen.handle, early.handle]);
  });

  it('orders a member who hides their profile as never seen for members, by handle or by name, and by their last visit for moderators and admins', async () => {
    const s = stem();
    const member = await makeUser(t);
    const moderator = await makeUser(t, { role: 'MODERATOR' });
    // By handle alone the hidden one comes first; by visit, for staff, too.
    const hidden = await named(`${s}a`, `Zed ${s}na`);
    const shown = await named(`${s}b`, `Zed ${s}nb`);
    const [hiddenByName, shownByName] = await Promise.all(['a', 'b'].map((x) => named(`n${x}${s}`, `Zed ${s}x${x}`)));
    const visits = [hidden, shown, hiddenByName, shownByName].map((u) => u.id);
    await t.sql(`DELETE FROM user_visits WHERE user_id = ANY($1::uuid[])`, [visits]);
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT unnest($1::uuid[]), current_date - 30`, [[shown.id, shownByName.id]]);
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT unnest($1::uuid[]), current_date`, [[hidden.id, hiddenByName.id]]);
    await t.sql(`UPDATE users SET hide_profile = true WHERE id = ANY($1::uuid[])`, [[hidden.id, hiddenByName.id]]);
    expect(await suggest(member.token, s)).toEqual([shown.handle, hidden.handle, shownByName.handle, hiddenByName.handle]);
    expect(await suggest(member.token, `${s}x`)).toEqual([shownByName.handle, hiddenByName.handle]);
    expect(await suggest(moderator.token, s)).toEqual([hidden.handle, shown.handle, hiddenByName.handle, shownByName.handle]);
    expect(await suggest(moderator.token, `${s}x`)).toEqual([hiddenByName.handle, shownByName.handle]);
  });

  /**
   * The session touch that writes a day's visit holds the session's row when the trigger comes
   * to the member's; a password change or an account deletion holds the member's row, then
   * revokes their sessions. The visit takes the row SKIP LOCKED: it does not wait (they would
   * deadlock), and the day on the row stays the one before until the member's next sign-in or
   * session touch (below).
   */
  it('writes a day’s visit without waiting for the member’s row held meanwhile (as a password change revoking their sessions does), the day on the row a visit behind', async () => {
    const u = await makeUser(t);
    const day = async () => (await t.sql(`SELECT last_visit_on::text AS day, (current_date - 3)::text AS before FROM users WHERE id = $1`, [u.id]))[0];
    await t.sql(`DELETE FROM user_visits WHERE user_id = $1`, [u.id]);
    await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, current_date - 3)`, [u.id]);
    // Last used an hour ago: the next request touches the session, and writes today's visit.
    await t.sql(`UPDATE sessions SET last_used_at = now() - interval '1 hour' WHERE user_id = $1`, [u.id]);
    await withLockHeld(t, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, [u.id], async (h) => {
      expect(await doneOrWaiting(t, suggest(u.token, stem()), 1, h)).toBe('done');
      await h.query(`UPDATE sessions SET revoked_at = now() WHERE user_id = $1`, [u.id]);
    });
    expect((await t.sql(`SELECT count(*)::int AS n FROM user_visits WHERE user_id = $1 AND day = current_date`, [u.id]))[0].n).toBe(1);
    const { day: kept, before } = await day();
    expect(kept).toBe(before);
  });

  it('catches the day on the row up at the member’s next session touch or sign-in once a visit was written while the row was held', async () => {
    const [touching, signing] = [await makeUser(t), await makeUser(t)];
    const ids = [touching.id, signing.id];
    const days = async () => (await t.sql(`SELECT current_date - last_visit_on AS ago FROM users WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`, [ids])).map((r) => r.ago);
    await t.sql(`DELETE FROM user_visits WHERE user_id = ANY($1::uuid[])`, [ids]);
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT unnest($1::uuid[]), current_date - 3`, [ids]);
    const aged = () => t.sql(`UPDATE sessions SET last_used_at = now() - interval '1 hour' WHERE user_id = ANY($1::uuid[])`, [ids]);
    await aged();
    // Today's visits written while their rows are held: the rows stay on the day before.
    await withLockHeld(t, `SELECT 1 FROM users WHERE id = ANY($1::uuid[]) FOR NO KEY UPDATE`, [ids], async (h) => {
      for (const u of [touching, signing]) expect(await doneOrWaiting(t, suggest(u.token, stem()), 1, h)).toBe('done');
    });
    expect((await t.sql(`SELECT count(*)::int AS n FROM user_visits WHERE user_id = ANY($1::uuid[]) AND day = current_date`, [ids]))[0].n).toBe(2);
    expect(await days()).toEqual([3, 3]);
    // Today's visit is there already, so nothing is inserted for the triggers to follow; the
    // next touch of a session, or a sign-in, catches the row up all the same.
    await aged();
    await suggest(touching.token, stem());
    await t.get(SessionsService).issue(signing.id, {});
    expect(await days()).toEqual([0, 0]);
    expect((await t.sql(`SELECT count(*)::int AS n FROM users u WHERE u.id = ANY($1::uuid[]) AND u.last_visit_on IS DISTINCT FROM (SELECT max(v.day) FROM user_visits v WHERE v.user_id = u.id)`, [ids]))[0].n).toBe(0);
  });

  it('takes each member’s latest visit day onto their row when migrated over existing visits, and none for one never seen', async () => {
    const s = stem();
    const [many, none, stale] = await Promise.all(['m', 'n', 's'].map((x) => makeUser(t, { handle: `${s}${x}` })));
    await t.sql(`DELETE FROM user_visits WHERE user_id = ANY($1::uuid[])`, [[many.id, none.id, stale.id]]);
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT $1, current_date - g FROM generate_series(2, 9) g`, [many.id]);
    await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, current_date - 20)`, [stale.id]);
    // A row a visit behind (its visit written while the row was held).
    await t.sql(`UPDATE users SET last_visit_on = current_date - 40 WHERE id = $1`, [stale.id]);
    await redoMigration(t, new MentionOrderByLastVisit1765026000000());
    const rows = await t.sql(
      `SELECT handle, (current_date - last_visit_on) AS ago FROM users WHERE id = ANY($1::uuid[]) ORDER BY handle`,
      [[many.id, none.id, stale.id]],
    );
    expect(rows).toEqual([{ handle: many.handle, ago: 2 }, { handle: none.handle, ago: null }, { handle: stale.handle, ago: 20 }]);
    expect((await t.sql(`SELECT count(*)::int AS n FROM users u WHERE u.last_visit_on IS DISTINCT FROM (SELECT max(v.day) FROM user_visits v WHERE v.user_id = u.id)`))[0].n).toBe(0);
    // The triggers are back: a visit moves the day.
    await t.sql(`INSERT INTO user_visits (user_id, day) VALUES ($1, current_date - 1)`, [none.id]);
    expect((await t.sql(`SELECT (current_date - last_visit_on) AS ago FROM users WHERE id = $1`, [none.id]))[0].ago).toBe(1);
    expect(await suggest((await makeUser(t)).token, s)).toEqual([none.handle, many.handle, stale.handle]);
  });

  it('catches up the rows left behind before sign-ins and touches caught them up (migration), and writes none that are not', async () => {
    const s = stem();
    const [behind, never, current] = await Promise.all(['b', 'n', 'c'].map((x) => makeUser(t, { handle: `${s}${x}` })));
    const ids = [behind.id, never.id, current.id];
    await t.sql(`DELETE FROM user_visits WHERE user_id = ANY($1::uuid[])`, [ids]);
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT unnest($1::uuid[]), current_date - 2`, [[behind.id, current.id]]);
    // Rows as a visit written while they were held left them: a day behind, and one never seen with a day.
    await t.sql(`UPDATE users SET last_visit_on = current_date - 9 WHERE id = $1`, [behind.id]);
    await t.sql(`UPDATE users SET last_visit_on = current_date - 5 WHERE id = $1`, [never.id]);
    const versions = async () => new Map<string, string>((await t.sql(`SELECT id, xmin::text AS v FROM users WHERE id = ANY($1::uuid[])`, [ids])).map((r) => [r.id, r.v]));
    const before = await versions();
    await redoMigration(t, new LastVisitCatchUp1765069200000());
    const rows = await t.sql(`SELECT handle, (current_date - last_visit_on) AS ago FROM users WHERE id = ANY($1::uuid[]) ORDER BY handle`, [ids]);
    expect(rows).toEqual([{ handle: behind.handle, ago: 2 }, { handle: current.handle, ago: 2 }, { handle: never.handle, ago: null }]);
    expect((await t.sql(`SELECT count(*)::int AS n FROM users u WHERE u.last_visit_on IS DISTINCT FROM (SELECT max(v.day) FROM user_visits v WHERE v.user_id = u.id)`))[0].n).toBe(0);
    const after = await versions();
    expect(ids.map((id) => before.get(id) === after.get(id))).toEqual([false, false, true]);
  });

  it('refuses a topic the viewer may not read as NOT_FOUND, and never lists its writers first', async () => {
    const s = stem();
    const employees = await makeGroup(t);
    const employee = await makeUser(t, { handle: `${s}emp`, groups: [employees] });
    await makeUser(t, { handle: `${s}aaa` });
    const customer = await makeUser(t);
    const internal = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
    const topic = await createTopic(t, employee.token, await makeBoard(t, internal.id), { title: 'Internal only' });
    expectError(await t.gql(SUGGEST, { prefix: s, topicId: topic.id }, { token: customer.token }), 'NOT_FOUND');
    expect(await suggest(employee.token, `${s}`, { topicId: topic.id })).toEqual([`${s}aaa`]);
    expect(await suggest((await makeUser(t, { groups: [employees] })).token, s, { topicId: topic.id })).toEqual([employee.handle, `${s}aaa`]);
  });

  it('answers signed-in members only, and refuses bad input with BAD_USER_INPUT', async () => {
    const viewer = await makeUser(t);
    expectError(await t.gql(SUGGEST, { prefix: 'abc' }), 'UNAUTHENTICATED');
    for (const vars of [{ prefix: '' }, { prefix: '  ' }, { prefix: '50%' }, { prefix: 'a b' }, { prefix: 'x'.repeat(31) }, { prefix: 'ab', first: 0 }, { prefix: 'ab', first: 21 }, { prefix: 'ab', topicId: 'nope' }]) {
      expectError(await t.gql(SUGGEST, vars, { token: viewer.token }), 'BAD_USER_INPUT');
    }
  });

  /** A viewer, and `count` members whose handles start with `s`, the first `wrote` of whom wrote in `topic`. */
  async function topicWriters(count: number, wrote: number) {
    const s = stem();
    const viewer = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const writers: TestUser[] = [];
    for (let i = 0; i < count; i++) writers.push(await makeUser(t, { handle: `${s}w${i}` }));
    const topic = await createTopic(t, writers[0].token, board, { title: 'Many writers' });
    for (const w of writers.slice(1, wrote)) await reply(t, w.token, topic.id, 'Me too');
    return { s, viewer, writers, topic };
  }

  it('costs the same statements for one match or twenty, with or without writers in the topic', async () => {
    const { s, viewer, topic } = await topicWriters(20, 10);
    const one = await t.countStatements(async () => expect(await suggest(viewer.token, `${s}w19`)).toHaveLength(1));
    const many = await t.countStatements(async () => expect(await suggest(viewer.token, s, { first: 20, topicId: topic.id })).toHaveLength(20));
    // The topic's access check is the one more.
    expect(many.count).toBeLessThanOrEqual(one.count + 1);
    expect(many.statements.filter((q) => /FROM users u/.test(q))).toHaveLength(1);
  });

  it('checks each candidate once for whom nobody may mention (the viewer, deleted, placeholders, barred, ignored)', async () => {
    const { s, viewer, writers, topic } = await topicWriters(12, 4);
    // Their names hold the stem too: every one of them is found by name as well.
    await t.sql(`UPDATE users SET display_name = 'Writer ' || handle WHERE id = ANY($1::uuid[])`, [writers.map((w) => w.id)]);
    const { statements } = await t.countStatements(async () => expect(await suggest(viewer.token, s, { first: 10, topicId: topic.id })).toHaveLength(10));
    const [sql] = statements.filter((q) => /FROM users u/.test(q));
    const [plan] = await t.sql(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, [viewer.id, `${s}%`, topic.id, s, 10]);
    const probes: Record<string, number> = {};
    const walk = (node: any) => {
      if (node['Relation Name']) probes[node['Relation Name']] = (probes[node['Relation Name']] ?? 0) + node['Actual Loops'];
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plan['QUERY PLAN'][0].Plan);
    // Each branch looks up in the ignores and the sanctions at most the members it finds: the
    // writers (4), the handles (12) and the names among the latest visitors (12). The page's
    // candidates checked again at the end, and the names counted again for the fallback, made
    // it 12 + 12 more.
    expect(probes.user_ignores).toBeLessThanOrEqual(4 + 12 + 12);
    expect(probes.sanctions).toBeLessThanOrEqual(4 + 12 + 12);
  });

  it('is rate-limited per member', async () => {
    const app = await bootTestApp({ SEARCH_RATE_PER_MINUTE: '2' });
    try {
      const u = await makeUser(app);
      for (let i = 0; i < 2; i++) expectOk(await app.gql(SUGGEST, { prefix: 'abc' }, { token: u.token }));
      expectError(await app.gql(SUGGEST, { prefix: 'abc' }, { token: u.token }), 'RATE_LIMITED');
      expectOk(await app.gql(SUGGEST, { prefix: 'abc' }, { token: (await makeUser(app)).token }));
    } finally {
      await app.close();
    }
  });
});
