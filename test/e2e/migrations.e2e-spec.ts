import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { seedDemoCommunity } from '../../apps/cli/src/seed/demo';
import { dataSourceOptions } from '../../libs/core/src/database/data-source';
import { migrateDatabase } from '../../libs/core/src/database/migrate';
import { newId } from '../../libs/core/src/ids';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { PostgresSearchEngine } from '../../libs/search/src/postgres/postgres.engine';
import { SearchIndexer } from '../../libs/search/src/search-indexer';
import { migrations } from '../../migrations';
import { SearchTermsTypoKeys1765083600000 } from '../../migrations/1765083600000-search-terms-typo-keys';
import { SearchTermsTypoKeysFirstLetter1765134000000 } from '../../migrations/1765134000000-search-terms-typo-keys-first-letter';
import { SearchTermsTypoKeysTidy1765148400000 } from '../../migrations/1765148400000-search-terms-typo-keys-tidy';
import { PlaceholderGroupMemberships1765166400000 } from '../../migrations/1765166400000-placeholder-group-memberships';
import { RolesOfAccountsThatCannotSignIn1765170000000 } from '../../migrations/1765170000000-roles-of-accounts-that-cannot-sign-in';
import { NotificationsAndWatchesOfAccountsThatCannotSignIn1765173600000 } from '../../migrations/1765173600000-notifications-and-watches-of-accounts-that-cannot-sign-in';
import { PersonalRowsOfAccountsThatCannotSignIn1765191600000 } from '../../migrations/1765191600000-personal-rows-of-accounts-that-cannot-sign-in';
import { ArticlesOwnedByAccountsThatCannotSignIn1765231200000 } from '../../migrations/1765231200000-articles-owned-by-accounts-that-cannot-sign-in';
import { DecidedReviewItemsFollowContent1765288800000 } from '../../migrations/1765288800000-decided-review-items-follow-content';
import { SearchCountsPerLanguage1765242000000 } from '../../migrations/1765242000000-search-counts-per-language';
import { OldArticleDraftsHidden1765285200000 } from '../../migrations/1765285200000-old-article-drafts-hidden';
import { ReviewItemEventsResolvedAs1765303200000 } from '../../migrations/1765303200000-review-item-events-resolved-as';
import { ModerationLogOutcome1765306800000 } from '../../migrations/1765306800000-moderation-log-outcome';
import { fillModerationLogOutcomes, ModerationLogOutcomeWritten1765324800000, OUTCOME_FILL_SETTING } from '../../migrations/1765324800000-moderation-log-outcome-written';
import { ModerationLogOutcomeCheck1765332000000 } from '../../migrations/1765332000000-moderation-log-outcome-check';
import { ModerationLogSealed1765335600000 } from '../../migrations/1765335600000-moderation-log-sealed';
import { ModerationLogHeadTruncateNamed1765398600000 } from '../../migrations/1765398600000-moderation-log-head-truncate-named';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { ContentVersions1765328400000 } from '../../migrations/1765328400000-content-versions';
import { PollClosingsTold1765350000000, tellPassedClosings } from '../../migrations/1765350000000-poll-closings-told';
import { backfillAddressBans } from '../../migrations/1765384200000-address-bans-per-sanction';
import { emailBannedSql, ipBannedSql } from '../../libs/identity/src/auth/address-bans';
import { PollsService } from '../../libs/forum/src/polls/polls.service';
import { AUDIT_LOCK, AuditLog, entryHash } from '../../libs/core/src/audit/audit-log';
import { SYSTEM_LOG_LOCK, systemEntryHash } from '../../migrations/support/system-log';
import { ERASED_IMPORT_DIGEST } from '../../libs/identity/src/users/erased-import-digest';
import { MOVED_POSTS_NOTIFICATIONS } from '../../libs/forum/src/posts/post-moves.service';
import { makeBoard, makeGroup, makeSpace, makeUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { draftArticle, kb, publishedArticle, topicOf } from '../factories/knowledge';
import { buildDistOnce } from '../support/dist';
import { doneOrWaiting, pollFor } from '../support/lock-waits';
import { redoMigration } from '../support/migrations';
import { holdLock } from '../support/row-locks';
import { searchDocument } from '../support/search-contract';
import { bootSecondNode, bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

/** The schema as a comparable list: columns, constraints and indexes, by name. */
const SCHEMA = `
  SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS item
    FROM information_schema.columns WHERE table_schema = current_schema()
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
  UNION ALL
  SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
  UNION ALL
  SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
  ORDER BY 1`;

/**
 * Every migration can be undone, newest first, on a database in use (the demo community and
 * the rows later features add), and applied again to the same schema, without writing twice
 * what the append-only moderation log already holds.
 */
describe('migrations', () => {
  let t: TestApp;
  // Booted before any test, so each one runs alone too (`-t`), making what it needs.
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t?.close());

  /**
   * Undoes the newest `count` migrations, newest first, each in its own transaction unless it
   * declares it runs in none (`transaction = false`, as the runner honours it on the way up).
   */
  const undo = async (count: number) => {
    const ds = new DataSource(dataSourceOptions({ url: t.db.url, poolSize: 1 }));
    await ds.initialize();
    try {
      for (let i = 0; i < count; i++) {
        const [last] = await ds.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
        const own = migrations.find((m) => m.name === last?.name) as (new () => MigrationInterface) | undefined;
        await ds.undoLastMigration({ transaction: own && new own().transaction === false ? 'none' : 'each' });
      }
    } finally {
      await ds.destroy();
    }
  };
  /** How many migrations to undo to be back to before `name`. */
  const backTo = (name: string) => migrations.length - migrations.findIndex((m) => m.name === name);
  /**
   * The newest typo-key index migration (search-terms-typo-keys-first-letter) undone, then applied again by a run (`first`, as a starting node's)
   * that holds the migration lock while its concurrent index build waits for `writer`'s write,
   * under way (its index still invalid) until the test ends that transaction.
   */
  const typoKeysBuildUnderWay = async () => {
    const space = await makeSpace(t, 'PUBLIC');
    await undo(backTo('SearchTermsTypoKeysFirstLetter1765134000000'));
    const writer = t.ds.createQueryRunner();
    await writer.startTransaction();
    await writer.query(`INSERT INTO search_terms (term, space_id) VALUES ('inflight', $1) ON CONFLICT DO NOTHING`, [space.id]);
    const first = migrateDatabase(t.db.url);
    const building = async () =>
      (await t.sql(`SELECT count(*)::int AS n FROM pg_stat_progress_create_index WHERE index_relid = to_regclass('search_terms_typo_keys_v2_idx')`))[0].n as number;
    while ((await building()) === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    return { writer, first };
  };
  /** The names of `name` and of the migrations after it: what migrating applies once back to before it. */
  const fromOn = (name: string) => migrations.slice(migrations.length - backTo(name)).map((m) => m.name);
  /** Locks on a table or index, by mode, granted or waited for, of any session. */
  const locks = async (name: string) =>
    (await t.sql(`SELECT mode, granted FROM pg_locks WHERE relation = to_regclass($1) ORDER BY mode, granted`, [name])).map((r) => `${r.mode} ${r.granted ? 'held' : 'waited'}`);
  /** The locks on `name` once one of `mode` (ACCESS EXCLUSIVE: a migration's ALTER) is seen waited for, or as they are after some 10 s without. */
  const exclusiveWaitSeen = async (name: string, mode = 'AccessExclusiveLock'): Promise<string[]> => {
    let seen: string[] = [];
    for (let i = 0; i < 500; i++) {
      seen = await locks(name);
      if (seen.includes(`${mode} waited`)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return seen;
  };
  /**
   * Migrates while a long transaction that read `table` holds it (AccessShareLock) until `meanwhile`,
   * run once the run is seen waiting for an ACCESS EXCLUSIVE lock on it, has returned; then the run's migrations.
   */
  const migrateWhileRead = async (table: string, meanwhile: () => Promise<void>): Promise<string[]> => {
    const reader = t.ds.createQueryRunner();
    await reader.startTransaction();
    await reader.query(`SELECT count(*) FROM ${table}`);
    const run = migrateDatabase(t.db.url);
    try {
      expect(await exclusiveWaitSeen(table)).toContain('AccessExclusiveLock waited');
      await meanwhile();
    } finally {
      await reader.rollbackTransaction();
      await reader.release();
    }
    return run;
  };
  /** How `statements`, run in one transaction rolled back after them (nothing stays), are answered: 'done', or the first error's message. */
  const tried = async (...statements: Array<[string, unknown[]?]>): Promise<string> => {
    const q = t.ds.createQueryRunner();
    try {
      await q.startTransaction();
      for (const [statement, params] of statements) await q.query(statement, params);
      return 'done';
    } catch (e) {
      return (e as Error).message;
    } finally {
      await q.rollbackTransaction();
      await q.release();
    }
  };
  /** Runs `migration`'s up on a runner of its own (as a later migration, or a second run, would). */
  /** The plan of `sql` (as JSON text) with sequential scans off: a table this small is read whole unless told otherwise. */
  const planWithoutSeqScan = async (sql: string, params: unknown[]): Promise<string> => {
    const runner = t.ds.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.query(`SET LOCAL enable_seqscan = off`);
      const [{ 'QUERY PLAN': plan }] = await runner.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      return JSON.stringify(plan);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  };
  const runUp = async (migration: MigrationInterface) => {
    const runner = t.ds.createQueryRunner();
    try {
      await migration.up(runner);
    } finally {
      await runner.release();
    }
  };
  /** Moderation log entries' outcomes, by id. */
  const outcomes = (ids: string[]) => t.sql(`SELECT l.id::text, l.outcome FROM moderation_log l WHERE l.id = ANY($1::bigint[]) ORDER BY l.id`, [ids]);
  /** A post reported and hidden by a moderator's APPROVE of the report (the application writing its log entry); its id. */
  const approveHiding = async (): Promise<string> => {
    const [author, mod] = [await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const p = await reply(t, author.token, (await createTopic(t, author.token, await makeBoard(t, space.id))).id, 'reported, then hidden');
    expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [p.id]);
    expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }));
    return p.id;
  };
  /** A review decision's log entry about a post (`state`: the post's before it, none for an appeal's). */
  const review = (action: string, state: string | null, after: Record<string, unknown>) => ({ action, before: state ? { state } : null, after });
  /**
   * Appends entries about posts as every release before 1765324800000 wrote them, naming no
   * `outcome` (generated then, null since), hash-chained under the log's lock with its head moved
   * as `AuditLog` does, so the chain verifies. Returns their ids.
   */
  const appendAsOlderRelease = async (entries: Array<{ action: string; before: unknown; after: unknown }>): Promise<string[]> => {
    const q = t.ds.createQueryRunner();
    const ids: string[] = [];
    try {
      await q.startTransaction();
      await q.query(`SELECT pg_advisory_xact_lock($1)`, [AUDIT_LOCK]);
      let [{ last_hash: prev }] = await q.query(`SELECT last_hash FROM moderation_log_head`);
      for (const e of entries) {
        const row = { at: new Date(), actor_id: null, action: e.action, target_type: 'post', target_id: newId(), space_id: null, reason: null, before: e.before, after: e.after };
        const hash = entryHash(prev, row);
        const [{ id }] = await q.query(
          `WITH e AS (
             INSERT INTO moderation_log (entry_id, at, action, target_type, target_id, before, after, prev_hash, hash)
             VALUES ($1, $2, $3, 'post', $4, $5, $6, $7, $8) RETURNING id),
           head AS (UPDATE moderation_log_head SET last_id = (SELECT id FROM e), last_hash = $8, entries = entries + 1)
           SELECT id::text FROM e`,
          [newId(), row.at, row.action, row.target_id, e.before === null ? null : JSON.stringify(e.before), JSON.stringify(e.after), prev, hash],
        );
        ids.push(id);
        prev = hash;
      }
      await q.commitTransaction();
    } catch (e) {
      await q.rollbackTransaction();
      throw e;
    } finally {
      await q.release();
    }
    return ids;
  };

  it('imports no application code into a migration or migrations/support, in any form, so each does what it did when written whatever becomes of the app', () => {
    const dir = path.join(__dirname, '../../migrations');
    const files = (sub: string): string[] =>
      readdirSync(path.join(dir, sub), { withFileTypes: true }).flatMap((d) =>
        d.isDirectory() ? files(path.join(sub, d.name)) : d.name.endsWith('.ts') ? [path.join(sub, d.name)] : [],
      );
    const all = files('.');
    expect(all).toEqual(expect.arrayContaining(['index.ts', 'support/system-log.ts', 'support/lock-wait.ts']));
    const found = all.flatMap((f) => outsideImports(f, readFileSync(path.join(dir, f), 'utf8')).map((spec) => `${f}: ${spec}`)).sort();
    // None: migrations/support/system-log.ts, which once imported AUDIT_LOCK and entryHash from libs/core, carries
    // frozen copies, held to the app's by the test below. A support file allowed an import of the app's would be named here, with why.
    expect(found).toEqual([]);
  });

  it("finds an import of the app's in every form, from a migration or a support file, and none of a package or another migration", () => {
    const bad = [
      `import { networkOf } from '../libs/core/src/network';`,
      `import { networkOf } from "../libs/core/src/network";`,
      `import { networkOf } from \`../libs/core/src/network\`;`,
      `import '../apps/api/src/main';`,
      `export { networkOf } from '../libs/core/src/network';`,
      `import {\n  networkOf,\n} from\n  '../libs/core/src/network';`,
      `const { networkOf } = require('../libs/core/src/network');`,
      `const { networkOf } = require( "../libs/core/src/network" );`,
      `const { networkOf } = await import('../libs/core/src/network');`,
      `const { networkOf } = await import ("../apps/cli/src/main");`,
      `import type { AppConfig } from '../libs/core/src/config/config';`,
    ];
    for (const line of bad) expect([line, outsideImports('1765000000000-planted.ts', line)]).toEqual([line, [expect.stringMatching(/^\.\.\/(libs|apps)\//)]]);
    // From a support file, one level further down.
    expect(outsideImports('support/planted.ts', `import { AUDIT_LOCK } from '../../libs/core/src/audit/audit-log';`)).toEqual(['../../libs/core/src/audit/audit-log']);
    expect(outsideImports('support/planted.ts', `const x = require("../../libs/core/src/ids");`)).toEqual(['../../libs/core/src/ids']);
    // A package, a builtin, another migration or support file: none is the app's.
    const fine = [
      `import { QueryRunner } from 'typeorm';`,
      `import { createHash } from 'node:crypto';`,
      `import stringify from "safe-stable-stringify";`,
      `import { alterGivingWay } from './support/lock-wait';`,
      `import { SEALED } from './1765335600000-moderation-log-sealed';`,
    ];
    for (const line of fine) expect([line, outsideImports('1765000000000-planted.ts', line)]).toEqual([line, []]);
    expect(outsideImports('support/planted.ts', `import { alterGivingWay } from './lock-wait';`)).toEqual([]);
    // A bare path that is no installed package (a path alias, say) counts as the app's too.
    expect(outsideImports('1765000000000-planted.ts', `import { newId } from 'libs/core/src/ids';`)).toEqual(['libs/core/src/ids']);
  });

  it("holds migrations/support/system-log.ts' frozen copies of the moderation log's lock and hash to the app's, so its entries chain as audit:verify checks them", () => {
    expect(SYSTEM_LOG_LOCK).toBe(AUDIT_LOCK);
    const rows = [
      { at: new Date('2026-12-06T10:00:00.123Z'), actor_id: null, action: 'user.role_change', target_type: 'user', target_id: newId(), space_id: null, reason: 'deleted account', before: { role: 'ADMIN' }, after: { role: 'MEMBER' } },
      { at: new Date(0), actor_id: newId(), action: 'post.hide', target_type: 'post', target_id: null, space_id: newId(), reason: null, before: null, after: { z: [1, 'é', { b: 2, a: null }], a: 'ü\u0308' } },
      { at: new Date('2030-01-01T00:00:00Z'), actor_id: null, action: 'x', target_type: 'y', target_id: null, space_id: null, reason: '', before: undefined, after: undefined },
    ];
    let prev: string | null = null;
    for (const row of rows) {
      expect(systemEntryHash(prev, row)).toBe(entryHash(prev, row));
      prev = entryHash(prev, row);
    }
  });

  it('undo to nothing on a populated database and apply again to the same schema', async () => {
    await seedDemoCommunity(t.app);
    const [admin, member] = await t.sql(`SELECT id FROM users WHERE handle IN ('admin', 'carol') ORDER BY handle`);
    const [post] = await t.sql(`SELECT id FROM posts ORDER BY created_at LIMIT 1`);
    // Rows of kinds later migrations added: a ban proposal, a held edit, a bookmark, a draft, a topic timer, an expiry already recorded.
    await t.sql(`INSERT INTO review_items (id, target_type, target_id, kind) VALUES (gen_random_uuid(), 'USER', $1, 'BAN_PROPOSAL')`, [member.id]);
    await t.sql(`INSERT INTO post_pending_edits (post_id, editor_id, base_revision, body_source, body_html) VALUES ($1, $2, 1, 'held', '<p>held</p>')`, [post.id, member.id]);
    await t.sql(`INSERT INTO post_bookmarks (user_id, post_id, note) VALUES ($1, $2, 'come back to it')`, [member.id, post.id]);
    await t.sql(`INSERT INTO drafts (id, user_id, topic_id, reply_to_post_id, body, sequence) SELECT gen_random_uuid(), $1, topic_id, id, 'half a reply', 3 FROM posts WHERE id = $2`, [member.id, post.id]);
    await t.sql(`INSERT INTO topic_timers (id, topic_id, kind, due_at, set_by) SELECT gen_random_uuid(), topic_id, 'CLOSE', now() + interval '1 day', $2 FROM posts WHERE id = $1`, [post.id, admin.id]);
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, issued_by, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'cool off', $2, now() - interval '1 hour')`, [member.id, admin.id]);
    expect(await t.get(SanctionsService).handleExpired()).toBe(1);
    const before = (await t.sql(SCHEMA)).map((r) => r.item as string);

    // Undone back to SanctionExpiry and applied again: the expiry the log holds is not recorded twice.
    const back = backTo('SanctionExpiry1764741600000');
    expect(back).toBeGreaterThanOrEqual(2);
    await undo(back);
    expect(await migrateDatabase(t.db.url)).toHaveLength(back);
    const again = await bootSecondNode(t); // a fresh process: the schema changed under the first one's statements
    try {
      expect(await again.get(SanctionsService).handleExpired()).toBe(0);
      expect(await again.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'sanction.expire'`)).toEqual([{ n: 1 }]);
    } finally {
      await again.close();
    }

    // Every migration undone, newest first, then all applied again.
    await undo(migrations.length);
    expect(await t.sql(`SELECT count(*)::int AS n FROM migrations`)).toEqual([{ n: 0 }]);
    expect(await migrateDatabase(t.db.url)).toHaveLength(migrations.length);
    expect((await t.sql(SCHEMA)).map((r) => r.item as string)).toEqual(before);
  }, 120_000);

  it('applies each pending migration once when processes migrate the same database together', async () => {
    const before = (await t.sql(SCHEMA)).map((r) => r.item as string);
    const back = 4;
    await undo(back);
    // Three processes starting at once (nodes, a worker): one applies what is pending, the others find nothing left.
    const runs = await Promise.all([migrateDatabase(t.db.url), migrateDatabase(t.db.url), migrateDatabase(t.db.url)]);
    expect(runs.map((r) => r.length).sort()).toEqual([0, 0, back]);
    expect(await t.sql(`SELECT name, count(*)::int AS n FROM migrations GROUP BY name HAVING count(*) > 1`)).toEqual([]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM migrations`)).toEqual([{ n: migrations.length }]);
    expect((await t.sql(SCHEMA)).map((r) => r.item as string)).toEqual(before);
  }, 120_000);

  it('composes stored e-mail addresses, unless the composed one is another account’s, and bans them both ways', async () => {
    // Back to before ComposedEmails: the addresses below are written as an older release wrote them.
    await undo(backTo('ComposedEmails1764810000000'));
    const user = async (handle: string, email: string) =>
      (await t.sql(`INSERT INTO users (id, handle, email, display_name) VALUES (gen_random_uuid(), $1, $2, $1) RETURNING id`, [handle, email]))[0].id as string;
    const alone = await user('nfdalone', 'rene\u0301@example.com');
    const twinNfc = await user('twinnfc', 'zoe\u0308@example.org'.normalize('NFC'));
    const twinNfd = await user('twinnfd', 'ZOE\u0308@example.org');
    await t.sql(`INSERT INTO banned_emails (email_lower) VALUES ($1)`, ['banned.noe\u0308l@example.com']);
    expect((await migrateDatabase(t.db.url))[0]).toBe('ComposedEmails1764810000000');
    const emails = await t.sql(`SELECT id, email FROM users WHERE id = ANY($1::uuid[])`, [[alone, twinNfc, twinNfd]]);
    expect(Object.fromEntries(emails.map((r) => [r.id, r.email]))).toEqual({
      [alone]: 'ren\u00e9@example.com',
      [twinNfc]: 'zo\u00eb@example.org',
      [twinNfd]: 'ZOE\u0308@example.org', // would collide with the other account: left as it was
    });
    expect((await t.sql(`SELECT email_lower FROM banned_emails WHERE email_lower LIKE 'banned.%' ORDER BY 1`)).map((r) => r.email_lower)).toEqual(
      ['banned.noe\u0308l@example.com', 'banned.no\u00ebl@example.com'].sort(),
    );
  });

  it('gives each standing ban the address rows its log entry says it banned and another ban held, so lifting that one leaves the address banned, and keeps one row per address once undone (migration 1765384200000)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [one, other, plain] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    await t.sql(`UPDATE sessions SET ip = '2001:db8:77:1::5' WHERE user_id = ANY($1::uuid[])`, [[one.id, other.id]]);
    const ban = async (userId: string, input: Record<string, unknown>) =>
      expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId, kind: 'BAN', reason: 'Spam ring', ...input } }, { token: admin.token })).sanctionUser.id as string;
    const lift = async (id: string) => expectOk(await t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id }, { token: admin.token }));
    const network = '2001:db8:77:1::/64';
    await undo(backTo('AddressBansPerSanction1765384200000'));
    let first: string, second: string, others: string, liftedOne: string, unlogged: string;
    try {
      // As releases before it left them: the first ban of an address holds its row, and the bans
      // after it of the same address (of the account, or of another on its network) wrote none.
      first = await ban(one.id, { banEmail: true, banIp: true });
      // The address itself, as releases before /64 networks banned it.
      await t.sql(`INSERT INTO banned_ips (ip, sanction_id) VALUES ('2001:db8:77:1::5', $1)`, [first]);
      second = await ban(one.id, { banEmail: true, banIp: true });
      others = await ban(other.id, { banIp: true });
      liftedOne = await ban(other.id, { banIp: true });
      await lift(liftedOne);
      unlogged = await ban(plain.id, {});
    } finally {
      await migrateDatabase(t.db.url);
    }
    const ids = [first, second, others, liftedOne, unlogged];
    const name = (id: string) => ['first', 'second', 'others', 'liftedOne', 'unlogged'][ids.indexOf(id)];
    const rows = async () =>
      (await t.sql(
        `SELECT email_lower AS address, sanction_id FROM banned_emails WHERE sanction_id = ANY($1::uuid[])
         UNION ALL SELECT ip, sanction_id FROM banned_ips WHERE sanction_id = ANY($1::uuid[])`,
        [ids],
      )).map((r) => `${name(r.sanction_id)} ${r.address}`).sort();
    const email = one.email.toLowerCase();
    const attributed = [
      `first ${email}`, `first ${network}`, 'first 2001:db8:77:1::5',
      `second ${email}`, `second ${network}`, 'second 2001:db8:77:1::5',
      `others ${network}`, 'others 2001:db8:77:1::5',
    ].sort();
    expect(await rows()).toEqual(attributed);

    // A batch a ban, and again: the same rows, none twice.
    await t.sql(`DELETE FROM banned_emails WHERE sanction_id = ANY($1::uuid[])`, [[second]]);
    await t.sql(`DELETE FROM banned_ips WHERE sanction_id = ANY($1::uuid[])`, [[second, others]]);
    const runner = t.ds.createQueryRunner();
    try {
      await backfillAddressBans(runner, 1);
      await backfillAddressBans(runner, 1);
    } finally {
      await runner.release();
    }
    expect(await rows()).toEqual(attributed);

    // Undone: one row per address, the oldest ban's; applied again, the rows come back.
    await undo(backTo('AddressBansPerSanction1765384200000'));
    try {
      expect(await rows()).toEqual([`first ${email}`, `first ${network}`, 'first 2001:db8:77:1::5'].sort());
    } finally {
      await migrateDatabase(t.db.url);
    }
    expect(await rows()).toEqual(attributed);

    // Lifting the ban that held the rows leaves the others banning; lifting the last frees them.
    const banned = async () =>
      (await t.sql(`SELECT ${emailBannedSql('$1')} AS email, ${ipBannedSql('$2::text[]')} AS ip`, [one.email, ['2001:db8:77:1::9', network]]))[0];
    await lift(first);
    await lift(others);
    expect(await banned()).toEqual({ email: true, ip: true });
    await lift(second);
    expect(await banned()).toEqual({ email: false, ip: false });
  });

  it('writes no address rows for a ban lifted after the backfill read it standing: its INSERT re-checks the ban is in force (migration 1765384200000)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    await t.sql(`UPDATE sessions SET ip = '2001:db8:78:1::5' WHERE user_id = $1`, [member.id]);
    const ban = async () =>
      expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banEmail: true, banIp: true } }, { token: admin.token })).sanctionUser.id as string;
    await ban();
    const second = await ban();
    // As releases before it left a second ban of the same addresses: no rows of its own.
    await t.sql(`WITH e AS (DELETE FROM banned_emails WHERE sanction_id = $1) DELETE FROM banned_ips WHERE sanction_id = $1`, [second]);
    const runner = t.ds.createQueryRunner();
    // The second ban lifted once the backfill has read it standing (and its log entry), before its INSERTs.
    let lifted = false;
    const liftingRunner = Object.assign(Object.create(runner), {
      query: async (sql: string, params?: unknown[]) => {
        const result = await runner.query(sql, params);
        if (!lifted && sql.includes('moderation_log') && (params?.[0] as string[]).includes(second)) {
          lifted = true;
          expectOk(await t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: second }, { token: admin.token }));
        }
        return result;
      },
    });
    try {
      await backfillAddressBans(liftingRunner);
    } finally {
      await runner.release();
    }
    expect(lifted).toBe(true);
    expect(await t.sql(`SELECT email_lower AS address FROM banned_emails WHERE sanction_id = $1 UNION ALL SELECT ip FROM banned_ips WHERE sanction_id = $1`, [second])).toEqual([]);
  });

  it('changes the banned addresses’ keys a table at a time, giving way to the sign-ups and bans queued behind each wait, and none held through the other’s wait or the backfill (migration 1765384200000)', async () => {
    /** A sign-up's check and a ban's row of each table as they come while the migration waits: done, not held until the reader ends. */
    const signUpsAndBans = () =>
      tried(
        [`SET LOCAL lock_timeout = '5s'`],
        [`SELECT ${emailBannedSql('$1')} AS email, ${ipBannedSql('$2::text[]')} AS ip`, ['waiting@example.com', ['192.0.2.77']]],
        [`INSERT INTO banned_emails (email_lower) VALUES ('waiting@example.com') ON CONFLICT DO NOTHING`],
        [`INSERT INTO banned_ips (ip) VALUES ('192.0.2.77') ON CONFLICT DO NOTHING`],
      );
    await undo(backTo('AddressBansPerSanction1765384200000'));
    // banned_emails' key is changed by then, banned_ips' waits for the reader: neither table held meanwhile.
    expect(await migrateWhileRead('banned_ips', async () => expect(await signUpsAndBans()).toBe('done'))).toEqual(fromOn('AddressBansPerSanction1765384200000'));
    // Undone the same way, and applied again while nothing waits: the keys as the migration leaves them.
    const keys = () =>
      t.sql(`SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid IN ('banned_emails'::regclass, 'banned_ips'::regclass) AND contype IN ('p', 'u') ORDER BY 1, 2`);
    const applied = await keys();
    await undo(backTo('AddressBansPerSanction1765384200000'));
    try {
      expect(await keys()).toEqual([
        { t: 'banned_emails', conname: 'banned_emails_pkey', def: 'PRIMARY KEY (email_lower)' },
        { t: 'banned_ips', conname: 'banned_ips_pkey', def: 'PRIMARY KEY (ip)' },
      ]);
    } finally {
      await migrateDatabase(t.db.url);
    }
    expect(await keys()).toEqual(applied);
    expect(applied.map((k) => k.conname)).toEqual(['banned_emails_ban_key', 'banned_ips_ban_key']);
  });

  it('adds the bounce list, whose mark goes when the address changes, and takes it away again', async () => {
    const [user] = await t.sql(`INSERT INTO users (id, handle, email, display_name) VALUES (gen_random_uuid(), 'bouncer', 'bouncer@example.com', 'Bouncer') RETURNING id`);
    const bounce = () => t.sql(`UPDATE users SET email_bounced_at = now() WHERE id = $1`, [user.id]);
    const bouncing = async () => (await t.sql(`SELECT email_bounced_at IS NOT NULL AS bouncing FROM users WHERE id = $1`, [user.id]))[0].bouncing;
    await bounce();
    await undo(backTo('EmailBounces1764831600000'));
    const left = await t.sql(
      `SELECT (SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_bounced_at') AS columns,
              (SELECT count(*)::int FROM pg_proc WHERE proname = 'users_email_bounce_reset') AS functions,
              (SELECT count(*)::int FROM pg_trigger WHERE tgname = 'users_email_bounce_reset') AS triggers`,
    );
    expect(left).toEqual([{ columns: 0, functions: 0, triggers: 0 }]);
    await t.sql(`UPDATE users SET email = 'bouncer.before@example.com' WHERE id = $1`, [user.id]);
    expect((await migrateDatabase(t.db.url))[0]).toBe('EmailBounces1764831600000');
    expect(await bouncing()).toBe(false);
    await bounce();
    await t.sql(`UPDATE users SET display_name = 'Bouncer B.' WHERE id = $1`, [user.id]);
    expect(await bouncing()).toBe(true);
    await t.sql(`UPDATE users SET email = 'bouncer.after@example.com' WHERE id = $1`, [user.id]);
    expect(await bouncing()).toBe(false);
  });

  it('leaves each topic one status timer, the one set last, and lets two stand again once undone', async () => {
    await undo(backTo('TopicStatusTimer1764892800000'));
    const [topic] = await t.sql(
      `WITH u AS (INSERT INTO users (id, handle, email, display_name) VALUES (gen_random_uuid(), 'timekeeper', 'timekeeper@example.com', 'Timekeeper') RETURNING id),
            s AS (INSERT INTO spaces (id, slug, name, visibility) VALUES (gen_random_uuid(), 'timed', 'Timed', 'PUBLIC') RETURNING id),
            b AS (INSERT INTO boards (id, space_id, kind, slug, name) SELECT gen_random_uuid(), s.id, 'FORUM', 'timed', 'Timed' FROM s RETURNING id, space_id)
       INSERT INTO topics (id, board_id, space_id, author_id, kind, title) SELECT gen_random_uuid(), b.id, b.space_id, u.id, 'DISCUSSION', 'Timed' FROM b, u
       RETURNING id, author_id`,
    );
    const timer = (kind: string, setHoursAgo: number) =>
      t.sql(
        `INSERT INTO topic_timers (id, topic_id, kind, due_at, after_hours, set_by, created_at)
         VALUES (gen_random_uuid(), $1, $2, now() + interval '1 day', CASE WHEN $2 = 'CLOSE_AFTER_LAST_POST' THEN 5 END, $3, now() - make_interval(hours => $4))`,
        [topic.id, kind, topic.author_id, setHoursAgo],
      );
    await timer('CLOSE', 3);
    await timer('CLOSE_AFTER_LAST_POST', 1);
    await timer('OPEN', 2);
    await timer('UNPIN', 4);
    expect((await migrateDatabase(t.db.url))[0]).toBe('TopicStatusTimer1764892800000');
    expect(await t.sql(`SELECT kind, slot FROM topic_timers WHERE topic_id = $1 ORDER BY kind`, [topic.id])).toEqual([
      { kind: 'CLOSE_AFTER_LAST_POST', slot: 'STATUS' },
      { kind: 'UNPIN', slot: 'UNPIN' },
    ]);
    await undo(backTo('TopicStatusTimer1764892800000'));
    await timer('CLOSE', 3);
    expect(await t.sql(`SELECT count(*)::int AS n FROM topic_timers WHERE topic_id = $1`, [topic.id])).toEqual([{ n: 3 }]);
    await t.sql(`DELETE FROM topic_timers WHERE topic_id = $1 AND kind = 'CLOSE'`, [topic.id]);
    await migrateDatabase(t.db.url);
  });

  it('marks the posts that carry a poll when it adds posts.has_poll', async () => {
    // Posts written by a fresh process (the schema changed under this one's statements), two of which get a poll once the mark is undone.
    const writer = await bootSecondNode(t);
    try {
      const author = await makeUser(writer);
      const topic = await createTopic(writer, author.token, await makeBoard(writer, (await makeSpace(writer, 'PUBLIC')).id));
      await reply(writer, author.token, topic.id, 'a reply with a poll');
      await reply(writer, author.token, topic.id, 'a reply without');
    } finally {
      await writer.close();
    }
    await undo(backTo('PostHasPoll1764889200000'));
    await t.sql(
      `INSERT INTO polls (id, post_id, question, kind, min_choices, max_choices, results)
       SELECT gen_random_uuid(), id, 'Before the mark?', 'SINGLE', 1, 1, 'ALWAYS' FROM posts WHERE number <= 2`,
    );
    const polled = (await t.sql(`SELECT post_id FROM polls ORDER BY post_id`)).map((r) => r.post_id);
    expect(polled).toHaveLength(2);
    expect((await migrateDatabase(t.db.url))[0]).toBe('PostHasPoll1764889200000');
    expect((await t.sql(`SELECT id FROM posts WHERE has_poll ORDER BY id`)).map((r) => r.id)).toEqual(polled);
  });

  it('counts every group’s members when it adds the member counters', async () => {
    // The people made first: the app signs them in as the latest schema has it (a sign-in
    // brings users.last_visit_on up to date, a column of a later migration).
    const people = await Promise.all([makeUser(t), makeUser(t), makeUser(t)]);
    await undo(backTo('GroupMemberCounts1764943200000'));
    // Memberships written with no counter to follow them, and a group nobody is in.
    const [full, empty] = [await makeGroup(t), await makeGroup(t)];
    for (const u of people) await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [full, u.id]);
    await t.sql(`DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, [full, people[0].id]);
    expect((await migrateDatabase(t.db.url))[0]).toBe('GroupMemberCounts1764943200000');
    const counts = await t.sql(
      `SELECT g.id, c.member_count AS counter, (SELECT count(*)::int FROM group_members gm WHERE gm.group_id = g.id) AS real
         FROM groups g LEFT JOIN group_member_counts c ON c.group_id = g.id`,
    );
    expect(counts.filter((r) => r.counter !== r.real)).toEqual([]);
    expect(counts.find((r) => r.id === full)).toMatchObject({ counter: 2 });
    expect(counts.find((r) => r.id === empty)).toMatchObject({ counter: 0 });
  });

  it('takes imported authors’ placeholders out of the groups earlier releases put them in, counted and logged as the system’s removals (migration 1765166400000)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [member, placeholder, owning] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const slug = `placeholders-${Date.now()}`;
    const [group, other] = [await makeGroup(t, slug), await makeGroup(t)];
    await t.sql(`UPDATE users SET is_placeholder = true WHERE id = ANY ($1::uuid[])`, [[placeholder.id, owning.id]]);
    // As an earlier release could write them: placeholders in two groups, one of them an owner.
    await t.sql(
      `INSERT INTO group_members (group_id, user_id, owner) VALUES ($1, $2, false), ($1, $3, false), ($1, $4, true), ($5, $3, false)`,
      [group, member.id, placeholder.id, owning.id, other],
    );
    const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM moderation_log`);
    await redoMigration(t, new PlaceholderGroupMemberships1765166400000());
    expect(await t.sql(`SELECT group_id, user_id FROM group_members WHERE group_id = ANY ($1::uuid[])`, [[group, other]])).toEqual([{ group_id: group, user_id: member.id }]);
    const counts = await t.sql(`SELECT group_id, member_count FROM group_member_counts WHERE group_id = ANY ($1::uuid[]) ORDER BY member_count DESC`, [[group, other]]);
    expect(counts).toEqual([{ group_id: group, member_count: 1 }, { group_id: other, member_count: 0 }]);
    const listed = expectOk(await t.gql(`query($s: String!) { group(slug: $s) { memberCount members { edges { node { user { id } } } } } }`, { s: slug }, { token: admin.token })).group;
    expect(listed).toEqual({ memberCount: 1, members: { edges: [{ node: { user: { id: member.id } } }] } });
    // One entry per membership, by no one (the system), as GroupMemberships.remove writes one; the chain still whole.
    const entries = await t.sql(`SELECT actor_id, action, target_type, target_id, space_id, reason, before, after FROM moderation_log WHERE id > $1`, [last]);
    const entry = (userId: string, groupId: string, before: unknown = null) =>
      ({ actor_id: null, action: 'group.member_remove', target_type: 'user', target_id: userId, space_id: null, reason: 'placeholder account', before, after: { groupId } });
    expect(entries).toHaveLength(3);
    expect(entries).toEqual(expect.arrayContaining([entry(placeholder.id, group), entry(owning.id, group, { owner: true }), entry(placeholder.id, other)]));
    expect(await t.get(AuditLog).verify()).toMatchObject({ ok: true });
    // Run again, it finds nothing left and logs nothing.
    await redoMigration(t, new PlaceholderGroupMemberships1765166400000());
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE id > $1`, [last])).toEqual([{ n: 3 }]);
  });

  it('counts each space’s visible documents and their lexemes when it adds the lexeme counts, and the triggers follow from there', async () => {
    await undo(backTo('SearchLexemeCounts1765141200000'));
    // Documents written with no counts to follow them: two spaces, a hidden one, one edited since.
    const engine = new PostgresSearchEngine(t.ds);
    const [space, other] = [newId(), newId()];
    const edited = searchDocument({ spaceId: space, title: 'Quokka husbandry', body: 'The zorblaxian method.' });
    await engine.upsert([
      edited,
      searchDocument({ spaceId: space, title: 'Marmalade tips', body: 'More marmalade.' }),
      searchDocument({ spaceId: space, title: 'Hidden quokka', body: 'Spam.', state: 'HIDDEN' }),
      searchDocument({ spaceId: other, title: 'Zorblaxian elsewhere', body: 'Marmalade.' }),
    ]);
    await engine.upsert([{ ...edited, body: 'Rewritten.', version: 2 }]);
    expect((await migrateDatabase(t.db.url))[0]).toBe('SearchLexemeCounts1765141200000');
    const rows = (sql: string) => t.sql(sql).then((r) => r.map((x) => Object.values(x).join(' ')).sort());
    const kept = () => rows(`SELECT space_id, lexeme, docs FROM search_lexeme_counts`);
    const counted = () =>
      rows(`SELECT d.space_id, l.lexeme, count(*)::int FROM search_documents d, unnest(tsvector_to_array(d.tsv)) AS l(lexeme) WHERE d.state = 'VISIBLE' GROUP BY 1, 2`);
    const spaces = `SELECT space_id, docs FROM search_space_documents`;
    const visible = `SELECT space_id, count(*)::int FROM search_documents WHERE state = 'VISIBLE' GROUP BY 1`;
    expect(await kept()).toEqual(await counted());
    expect(await kept()).toEqual(expect.arrayContaining([`${space} marmalad 1`, `${other} marmalad 1`, `${space} quokka 1`]));
    expect(await rows(spaces)).toEqual(await rows(visible));
    // From there on, writes move them, once folded in.
    await engine.upsert([{ ...edited, state: 'HIDDEN', version: 3 }]);
    expect(await engine.foldCounts()).toBe(1);
    expect(await kept()).toEqual(await counted());
    expect(await kept()).not.toContain(`${space} quokka 1`);
  });

  it('counts each space’s visible documents and their lexemes per language when it keeps the counts per language, and the triggers follow from there', async () => {
    await undo(backTo('SearchCountsPerLanguage1765242000000'));
    // A space being stemmed anew in French: one document done, one still English, a change queued unfolded.
    const engine = new PostgresSearchEngine(t.ds);
    const space = newId();
    const english = searchDocument({ spaceId: space, title: 'Running quokkas', body: 'Marmalade.' });
    const french = searchDocument({ spaceId: space, title: 'Running quokkas', body: 'Marmalade.', language: 'fr' });
    await engine.upsert([english, french]);
    expect((await migrateDatabase(t.db.url))[0]).toBe('SearchCountsPerLanguage1765242000000');
    // This space's alone (the database holds other tests' documents).
    const rows = (sql: string) => t.sql(sql).then((r) => r.map((x) => Object.values(x).join(' ')).filter((x) => x.startsWith(space)).sort());
    const kept = () => rows(`SELECT space_id, language, lexeme, docs FROM search_lexeme_counts`);
    const counted = () =>
      rows(`SELECT d.space_id, d.language, l.lexeme, count(*)::int FROM search_documents d, unnest(tsvector_to_array(d.tsv)) AS l(lexeme) WHERE d.state = 'VISIBLE' GROUP BY 1, 2, 3`);
    const spaces = () => rows(`SELECT space_id, language, docs FROM search_space_documents WHERE docs <> 0`);
    const visible = () => rows(`SELECT space_id, language, count(*)::int FROM search_documents WHERE state = 'VISIBLE' GROUP BY 1, 2`);
    expect(await kept()).toEqual(await counted());
    expect(await kept()).toEqual(expect.arrayContaining([`${space} en run 1`, `${space} fr running 1`, `${space} en quokka 1`, `${space} fr quokk 1`]));
    expect(await spaces()).toEqual([`${space} en 1`, `${space} fr 1`]);
    // The change queued before is in the documents counted: nothing left to fold. From there on, writes move them, once folded in.
    expect(await engine.foldCounts()).toBe(0);
    await engine.upsert([{ ...english, language: 'fr', version: 2 }]);
    expect(await engine.foldCounts()).toBe(1);
    expect(await kept()).toEqual(await counted());
    expect(await spaces()).toEqual(await visible());
    expect(await spaces()).toEqual([`${space} fr 2`]);
  });

  it('deletes the counts of a space’s documents left at zero when it makes the fold delete them, and the fold does from there', async () => {
    await undo(backTo('SearchSpaceDocumentsEmptied1765245600000'));
    // A space whose one document went, folded by the fold before: its count stays, at 0.
    const engine = new PostgresSearchEngine(t.ds);
    const space = newId();
    const doc = searchDocument({ spaceId: space, title: 'Quokka husbandry', body: 'Marmalade.' });
    await engine.upsert([doc]);
    await engine.foldCounts();
    await engine.remove([doc.id]);
    await engine.foldCounts();
    const spaces = () => t.sql(`SELECT language, docs FROM search_space_documents WHERE space_id = $1`, [space]);
    expect(await spaces()).toEqual([{ language: 'en', docs: 0 }]);
    expect((await migrateDatabase(t.db.url))[0]).toBe('SearchSpaceDocumentsEmptied1765245600000');
    expect(await spaces()).toEqual([]);
    // From there on, a count the fold takes to zero goes.
    await engine.upsert([{ ...doc, version: 2 }]);
    await engine.foldCounts();
    expect(await spaces()).toEqual([{ language: 'en', docs: 1 }]);
    await engine.upsert([{ ...doc, state: 'HIDDEN', version: 3 }]);
    await engine.foldCounts();
    expect(await spaces()).toEqual([]);
  });

  /**
   * search-counts-per-language may have run already: its statements stay as they ran when part of
   * them (the fold, countsFoldFunction) is shared with a later migration. The digests are of its up
   * and down as of dabcdf52, before the fold was shared (sharing it first added a blank line).
   */
  it('runs search-counts-per-language’s statements as they ran before its fold was shared with search-space-documents-emptied', async () => {
    const statements = async (direction: 'up' | 'down') => {
      const sql: string[] = [];
      await new SearchCountsPerLanguage1765242000000()[direction]({ query: async (text: string) => void sql.push(text) } as unknown as QueryRunner);
      return sql.map((text) => createHash('sha256').update(text).digest('hex'));
    };
    expect({ up: await statements('up'), down: await statements('down') }).toEqual({
      up: ['ccea5ad665672be628127650301cd02f94ac1cf84af3884ee8acfd7a3a84fd7a'],
      down: ['a57f56a95367addee6cb9333c7dd5ff85f64080ed169f33f12d3caa6d83a3a6c'],
    });
  });

  it('keeps the counts per language, and back, without taking search_documents from the searches reading it', async () => {
    // A search under way: its transaction holds search_documents (ACCESS SHARE), as each search's statement does.
    // Dropping the counts' triggers took the table ACCESS EXCLUSIVE, waiting for every search and every
    // search waiting for it, and deadlocked with one that held the table and waited for the counts it had truncated.
    const besideASearch = async <T>(work: () => Promise<T>): Promise<{ ended: 'done' | 'waiting'; result: T }> => {
      const search = await holdLock(t, `SELECT count(*) FROM search_documents`, []);
      const working = work();
      const ended = await doneOrWaiting(t, working, 1, search).finally(() => search.release());
      return { ended, result: await working };
    };
    // A later migration that builds an index CONCURRENTLY (`transaction = false`) waits for every older snapshot, the
    // search's too, by design (it takes no lock the search waits for): undone first and applied last, with no search
    // held. Until 2026-12-07 none came after this one, and the search-documents-newest-by-id migration made the undo wait.
    const from = migrations.findIndex((m) => m.name === 'SearchCountsPerLanguage1765242000000');
    const concurrent = migrations.findIndex((m, i) => i > from && new (m as new () => MigrationInterface)().transaction === false);
    const after = concurrent < 0 ? migrations.length : concurrent;
    await undo(migrations.length - after);
    expect((await besideASearch(() => undo(after - from))).ended).toBe('done');
    const { ended, result } = await besideASearch(async () => {
      const ds = new DataSource({ ...dataSourceOptions({ url: t.db.url, poolSize: 1 }), migrations: migrations.slice(0, after) });
      await ds.initialize();
      try {
        return (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name);
      } finally {
        await ds.destroy();
      }
    });
    expect(result[0]).toBe('SearchCountsPerLanguage1765242000000');
    expect(ended).toBe('done');
    expect(await migrateDatabase(t.db.url)).toEqual(migrations.slice(after).map((m) => m.name));
  });

  it('makes members of the deleted accounts and placeholders earlier releases left moderators or admins, logged as the system’s role changes (migration 1765170000000)', async () => {
    const member = await makeUser(t);
    const staff = await makeUser(t, { role: 'MODERATOR' });
    const [placeholderModerator, placeholderAdmin, deletedAdmin, deletedModerator] = [
      await makeUser(t, { role: 'MODERATOR' }), await makeUser(t, { role: 'ADMIN' }), await makeUser(t, { role: 'ADMIN' }), await makeUser(t, { role: 'MODERATOR' }),
    ];
    // As an earlier release could leave them: staff roles on placeholders and deleted accounts, which have no session.
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL WHERE id = ANY ($1::uuid[])`, [[placeholderModerator.id, placeholderAdmin.id]]);
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = ANY ($1::uuid[])`, [[deletedAdmin.id, deletedModerator.id]]);
    const gone = [placeholderModerator.id, placeholderAdmin.id, deletedAdmin.id, deletedModerator.id];
    await t.sql(`UPDATE sessions SET revoked_at = now() WHERE user_id = ANY ($1::uuid[])`, [gone]);
    const IGNORE = `mutation($id: ID!) { ignoreUser(userId: $id) { id ignoredByMe } }`;
    expect((await t.gql(IGNORE, { id: placeholderModerator.id }, { token: member.token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM moderation_log`);
    await redoMigration(t, new RolesOfAccountsThatCannotSignIn1765170000000());
    const roles = await t.sql(`SELECT id, role FROM users WHERE id = ANY ($1::uuid[])`, [[staff.id, ...gone]]);
    expect(Object.fromEntries(roles.map((r) => [r.id, r.role]))).toEqual({
      [staff.id]: 'MODERATOR', // signs in: left as it is
      ...Object.fromEntries(gone.map((id) => [id, 'MEMBER'])),
    });
    // A placeholder is a member like any other now: it can be ignored.
    expect(expectOk(await t.gql(IGNORE, { id: placeholderModerator.id }, { token: member.token })).ignoreUser).toEqual({ id: placeholderModerator.id, ignoredByMe: true });
    // One entry per account, by no one (the system), as setUserRole writes one; the chain still whole.
    const entries = await t.sql(`SELECT actor_id, action, target_type, target_id, space_id, reason, before, after FROM moderation_log WHERE id > $1 AND action = 'user.role_change'`, [last]);
    const entry = (userId: string, role: string, reason: string) =>
      ({ actor_id: null, action: 'user.role_change', target_type: 'user', target_id: userId, space_id: null, reason, before: { role }, after: { role: 'MEMBER' } });
    expect(entries).toHaveLength(4);
    expect(entries).toEqual(expect.arrayContaining([
      entry(placeholderModerator.id, 'MODERATOR', 'placeholder account'),
      entry(placeholderAdmin.id, 'ADMIN', 'placeholder account'),
      entry(deletedAdmin.id, 'ADMIN', 'deleted account'),
      entry(deletedModerator.id, 'MODERATOR', 'deleted account'),
    ]));
    expect(await t.get(AuditLog).verify()).toMatchObject({ ok: true });
    // Run again, it finds nothing left and logs nothing.
    const [{ after }] = await t.sql(`SELECT max(id)::text AS after FROM moderation_log`);
    await redoMigration(t, new RolesOfAccountsThatCannotSignIn1765170000000());
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE id > $1`, [after])).toEqual([{ n: 0 }]);
  });

  it('takes the notifications and watches earlier releases left to placeholders and deleted accounts, and no one else’s (migration 1765173600000)', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const board = await makeBoard(t, space.id);
    const [member, placeholder, gone] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const topic = await createTopic(t, member.token, board);
    // As an earlier release could leave them: each account with a notice of the topic and a watch of it, its board and a tag.
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [placeholder.id]);
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [gone.id]);
    const everyone = [member.id, placeholder.id, gone.id];
    await t.sql(
      `INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source)
       SELECT gen_random_uuid(), u, 'WATCHED_REPLY', $2, $3, $4, '{}', 'legacy:' || u FROM unnest($1::uuid[]) AS u`,
      [everyone, topic.id, topic.firstPostId, member.id],
    );
    await t.sql(`INSERT INTO topic_watches (user_id, topic_id, level) SELECT u, $2, 'WATCHING' FROM unnest($1::uuid[]) AS u ON CONFLICT DO NOTHING`, [everyone, topic.id]);
    await t.sql(`INSERT INTO board_watches (user_id, board_id, level) SELECT u, $2, 'WATCHING' FROM unnest($1::uuid[]) AS u`, [everyone, board]);
    await t.sql(`INSERT INTO tag_watches (user_id, tag, level) SELECT u, 'legacy', 'WATCHING' FROM unnest($1::uuid[]) AS u`, [everyone]);
    const left = async () =>
      (await t.sql(
        `SELECT 'notification' AS what, user_id FROM notifications WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'topic', user_id FROM topic_watches WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'board', user_id FROM board_watches WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'tag', user_id FROM tag_watches WHERE user_id = ANY($1::uuid[])`,
        [everyone],
      )).map((r) => `${r.what} ${r.user_id === member.id ? 'member' : r.user_id === placeholder.id ? 'placeholder' : 'deleted'}`).sort();
    expect(await left()).toHaveLength(12);
    const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM moderation_log`);
    await redoMigration(t, new NotificationsAndWatchesOfAccountsThatCannotSignIn1765173600000());
    expect(await left()).toEqual(['board member', 'notification member', 'tag member', 'topic member']);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE id > $1`, [last])).toEqual([{ n: 0 }]);
  });

  it('takes the read marks, bookmarks and reminders, drafts, ignores, e-mail settings, dismissed announcements and visits left to placeholders and deleted accounts, and no one else’s (migration 1765191600000)', async () => {
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const [member, placeholder, gone] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const topic = await createTopic(t, member.token, board);
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [placeholder.id]);
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [gone.id]);
    const everyone = [member.id, placeholder.id, gone.id];
    // As earlier releases or data fixes could leave them: each account with a row in every such table.
    await t.sql(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) SELECT u, $2, 1 FROM unnest($1::uuid[]) AS u ON CONFLICT DO NOTHING`, [everyone, topic.id]);
    await t.sql(`INSERT INTO post_bookmarks (user_id, post_id, remind_at) SELECT u, $2, now() + interval '1 day' FROM unnest($1::uuid[]) AS u`, [everyone, topic.firstPostId]);
    await t.sql(`INSERT INTO drafts (id, user_id, topic_id, body, sequence) SELECT gen_random_uuid(), u, $2, 'unsent', 0 FROM unnest($1::uuid[]) AS u`, [everyone, topic.id]);
    await t.sql(`INSERT INTO email_preferences (user_id, kind, enabled) SELECT u, 'MENTION', false FROM unnest($1::uuid[]) AS u`, [everyone]);
    await t.sql(`INSERT INTO topic_pin_dismissals (user_id, topic_id) SELECT u, $2 FROM unnest($1::uuid[]) AS u`, [everyone, topic.id]);
    await t.sql(`INSERT INTO user_visits (user_id, day) SELECT u, current_date - 3 FROM unnest($1::uuid[]) AS u`, [everyone]);
    // Ignores set by each of them; and the member's of the placeholder, which folds its posts away for the member.
    const someone = await makeUser(t);
    await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) SELECT u, $2 FROM unnest($1::uuid[]) AS u`, [everyone, someone.id]);
    await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2)`, [member.id, placeholder.id]);
    const left = async () =>
      (await t.sql(
        `SELECT 'read' AS what, user_id FROM topic_reads WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'bookmark', user_id FROM post_bookmarks WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'draft', user_id FROM drafts WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'email', user_id FROM email_preferences WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'dismissal', user_id FROM topic_pin_dismissals WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'visit', user_id FROM user_visits WHERE user_id = ANY($1::uuid[])
         UNION ALL SELECT 'ignore of ' || CASE WHEN ignored_user_id = $2 THEN 'placeholder' ELSE 'someone' END, user_id FROM user_ignores WHERE user_id = ANY($1::uuid[])`,
        [everyone, placeholder.id],
      )).map((r) => `${r.what} ${r.user_id === member.id ? 'member' : r.user_id === placeholder.id ? 'placeholder' : 'deleted'}`)
        // Each kind once per account (signing in already counted a visit today).
        .filter((row, i, all) => all.indexOf(row) === i)
        .sort();
    const members = ['bookmark member', 'dismissal member', 'draft member', 'email member', 'ignore of placeholder member', 'ignore of someone member', 'read member', 'visit member'];
    expect(await left()).toHaveLength(members.length + 2 * (members.length - 1));
    const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM moderation_log`);
    await redoMigration(t, new PersonalRowsOfAccountsThatCannotSignIn1765191600000());
    expect(await left()).toEqual(members);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE id > $1`, [last])).toEqual([{ n: 0 }]);
  });

  it('lets go of the articles earlier releases left owned by deleted accounts and placeholders, each one’s version bumped, and no one else’s (migration 1765231200000)', async () => {
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'KNOWLEDGE');
    const [member, placeholder, gone] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    // Each drafts an article, which its author owns; then, as an earlier release left them, two accounts cannot sign in and still own theirs.
    const articles = [await draftArticle(t, member.token, board), await draftArticle(t, placeholder.token, board), await draftArticle(t, gone.token, board)];
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [placeholder.id]);
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [gone.id]);
    const before = await t.sql(`SELECT topic_id, owner_user_id, version FROM articles WHERE topic_id = ANY($1::uuid[]) ORDER BY topic_id`, [articles]);
    expect(before.map((r) => r.owner_user_id).sort()).toEqual([member.id, placeholder.id, gone.id].sort());
    const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0)::text AS last FROM moderation_log`);
    await redoMigration(t, new ArticlesOwnedByAccountsThatCannotSignIn1765231200000());
    const after = await t.sql(`SELECT topic_id, owner_user_id, version FROM articles WHERE topic_id = ANY($1::uuid[]) ORDER BY topic_id`, [articles]);
    expect(after).toEqual(
      before.map((r) => (r.owner_user_id === member.id ? r : { ...r, owner_user_id: null, version: r.version + 1 })),
    );
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE id > $1`, [last])).toEqual([{ n: 0 }]);
  });

  it('draws versions from content_versions without rewriting the tables, and a post or topic counted before it, or by an older release meanwhile, still only grows (migration 1765328400000)', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id));
    const migration = new ContentVersions1765328400000();
    const runner = t.ds.createQueryRunner();
    const files = () => t.sql(`SELECT relname, pg_relation_filenode(oid::regclass) AS node FROM pg_class WHERE relname IN ('posts', 'topics', 'ideas') AND relnamespace = current_schema()::regnamespace ORDER BY relname`);
    const version = async (table: string, id: string) => (await t.sql(`SELECT version FROM ${table} WHERE id = $1`, [id]))[0].version as number;
    const edit = async (body: string) =>
      expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { version } }`, { input: { postId: topic.firstPostId, body } }, { token: author.token })).editPost
        .version as number;
    try {
      // As the release before it left them: versions counted per thing, a post and its topic changed a thousand times,
      // far past what the sequence, made anew, first hands out.
      await migration.down(runner);
      await t.sql(`UPDATE posts SET version = 1000 WHERE id = $1`, [topic.firstPostId]);
      await t.sql(`UPDATE topics SET version = 1000 WHERE id = $1`, [topic.id]);
      const before = await files();
      await migration.up(runner);
      expect(await files()).toEqual(before);
    } finally {
      await runner.release();
    }
    // A write of this release goes on from the thing's own count, not back to the sequence's start.
    const edited = await edit('changed once the sequence came');
    expect(edited).toBeGreaterThan(1000);
    expect(await version('posts', topic.firstPostId)).toBe(edited);
    await reply(t, author.token, topic.id, 'a reply raises the topic');
    expect(await version('topics', topic.id)).toBeGreaterThan(1000);
    // A node of the older release, still counting during the rolling upgrade, then one of this release: it still grows.
    await t.sql(`UPDATE posts SET version = version + 1 WHERE id = $1`, [topic.firstPostId]);
    expect(await edit('changed after an older node did')).toBeGreaterThan(edited + 1);
  });

  it('sets the version defaults a table at a time, giving way while one is busy, so a long transaction on topics holds up no read of posts (migration 1765328400000)', async () => {
    await undo(backTo('ContentVersions1765328400000'));
    // A long transaction that has read topics (as an import batch's does): its ACCESS SHARE lock stays until it ends.
    const held = await holdLock(t, `SELECT 1 FROM topics LIMIT 1`, []);
    let migrated: Promise<unknown> | undefined;
    try {
      migrated = migrateDatabase(t.db.url);
      // The migration is seen asking for topics' lock (it gives way and asks again while the transaction lasts).
      await pollFor(
        async () =>
          (await t.sql(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE topics ALTER COLUMN version%'`)).length ? true : undefined,
        'the migration asking for the lock of topics',
      );
      // Posts are read meanwhile: their default was set in a statement of its own, its lock long gone. In one
      // transaction with the others, the posts' lock was held while topics' was waited for, and this read waited.
      const reader = t.ds.createQueryRunner();
      try {
        await reader.startTransaction();
        await reader.query(`SET LOCAL lock_timeout = '5s'`);
        expect(await reader.query(`SELECT count(*)::int >= 0 AS read FROM posts`)).toEqual([{ read: true }]);
        await reader.commitTransaction();
      } finally {
        await reader.release();
      }
    } finally {
      await held.release();
      await migrated;
    }
    expect(await t.sql(`SELECT table_name AS t, column_default AS d FROM information_schema.columns WHERE table_schema = current_schema() AND table_name IN ('posts', 'topics', 'ideas') AND column_name = 'version' ORDER BY 1`)).toEqual([
      { t: 'ideas', d: "nextval('content_versions'::regclass)" },
      { t: 'posts', d: "nextval('content_versions'::regclass)" },
      { t: 'topics', d: "nextval('content_versions'::regclass)" },
    ]);
  });

  it('hides from readers the draft’s versions of the first posts of articles published before the first publication marked them, and nothing else (migration 1765285200000)', async () => {
    const [author, editor, reader] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }]);
    const [board, forum] = [await makeBoard(t, space.id, 'KNOWLEDGE'), await makeBoard(t, space.id, 'FORUM')];
    const api = kb(t);
    // Published twice: the draft's version (1), the first publication's (2), the second's (3).
    const old = await draftArticle(t, author.token, board, { title: 'Old article', body: 'First draft' });
    topicOf(await api.update(author.token, { topicId: old, body: 'Second draft' }));
    topicOf(await api.publish(editor.token, old));
    topicOf(await api.update(author.token, { topicId: old, body: 'Third text' }));
    topicOf(await api.publish(editor.token, old));
    // Published since the fix (its draft's version marked by the publication), a draft never published, a forum topic edited.
    const recent = await publishedArticle(t, author.token, editor.token, board, { title: 'Recent article' });
    const draft = await draftArticle(t, author.token, board, { title: 'Draft only' });
    topicOf(await api.update(author.token, { topicId: draft, body: 'Still a draft' }));
    const topic = await createTopic(t, author.token, forum, { body: 'A forum post' });
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: topic.firstPostId, body: 'Edited' } }, { token: author.token }));
    // As a release before the fix left the old article: none of its versions marked.
    await t.sql(`UPDATE post_revisions SET unpublished = false WHERE post_id = (SELECT id FROM posts WHERE topic_id = $1 AND number = 1)`, [old]);
    const REVISIONS = `query($id: ID!) { topic(id: $id) { firstPost { revisions { number reason editor { handle } } } } }`;
    const history = async (u: { token: string }, id: string) =>
      expectOk(await t.gql(REVISIONS, { id }, { token: u.token })).topic.firstPost.revisions.map((r: any) => [r.number, r.reason, r.editor.handle]);
    const whole = [[1, null, author.handle], [2, 'article revision 2', editor.handle], [3, 'article revision 3', editor.handle]];
    expect(await history(reader, old)).toEqual(whole);
    const marks = async () => (await t.sql(`SELECT r.id, r.unpublished, p.topic_id, r.number FROM post_revisions r JOIN posts p ON p.id = r.post_id ORDER BY r.id`)) as Array<{ id: string; unpublished: boolean; topic_id: string; number: number }>;
    const before = await marks();
    expect(before.filter((r) => [recent, draft, topic.id].includes(r.topic_id)).map((r) => [r.topic_id, r.number, r.unpublished]).sort()).toEqual(
      [[recent, 1, true], [recent, 2, false], [draft, 1, false], [topic.id, 1, false], [topic.id, 2, false]].sort(),
    );

    await redoMigration(t, new OldArticleDraftsHidden1765285200000());

    // Readers see the history from the version first published on, as of an article published today; its author and editors the whole of it.
    expect(await history(reader, old)).toEqual([[1, null, author.handle], [2, 'article revision 3', editor.handle]]);
    for (const u of [author, editor]) expect(await history(u, old)).toEqual(whole);
    // The draft's version of the old article is the one row changed.
    expect(await marks()).toEqual(before.map((r) => (r.topic_id === old && r.number === 1 ? { ...r, unpublished: true } : r)));
    // Run again, it changes nothing.
    await redoMigration(t, new OldArticleDraftsHidden1765285200000());
    expect(await marks()).toEqual(before.map((r) => (r.topic_id === old && r.number === 1 ? { ...r, unpublished: true } : r)));
  });

  it('files every review item of a post or topic under the space its content is in now, decided ones an earlier release left in the space it moved from among them, and no other item (migration 1765288800000)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [author, reporter, oldMod, newMod] = [await makeUser(t), await makeUser(t, { trustLevel: 2 }), await makeUser(t), await makeUser(t)];
    const s1 = await makeSpace(t, 'PUBLIC', [{ userId: oldMod.id, level: 'MODERATE' }]);
    // The space the content moves to is one the old space's moderator cannot read.
    const s2 = await makeSpace(t, 'RESTRICTED', [{ userId: newMod.id, level: 'MODERATE' }, { userId: reporter.id, level: 'PARTICIPATE' }]);
    const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    const QUEUE = `query($s: ID, $status: ReviewStatus) { reviewQueue(spaceId: $s, status: $status) { totalCount edges { node { id reports { reason } } } } }`;
    const MOVE_TOPIC = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
    const MOVE_POSTS = `mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`;
    const itemOf = async (targetType: string, targetId: string) => {
      expectOk(await t.gql(REPORT, { input: { targetType, targetId, reason: 'ABUSE', note: 'quotes it' } }, { token: reporter.token }));
      return (await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_type = $1 AND target_id = $2`, [targetType, targetId]))[0].id as string;
    };
    const decide = async (item: string, decision: string) => expectOk(await t.gql(RESOLVE, { input: { id: item, decision } }, { token: oldMod.token }));
    // A topic moved whole, its own item and a reply's decided; a reply movePosts merged into a topic of s2, decided.
    const moved = await createTopic(t, author.token, await makeBoard(t, s1.id));
    const movedReply = await reply(t, author.token, moved.id, 'a rude reply');
    const topicItem = await itemOf('TOPIC', moved.id);
    const replyItem = await itemOf('POST', movedReply.id);
    const merged = await reply(t, author.token, (await createTopic(t, author.token, await makeBoard(t, s1.id))).id, 'another rude reply');
    const mergedItem = await itemOf('POST', merged.id);
    await decide(topicItem, 'IGNORE');
    await decide(replyItem, 'APPROVE');
    await decide(mergedItem, 'REJECT');
    const s2Board = await makeBoard(t, s2.id);
    expectOk(await t.gql(MOVE_TOPIC, { input: { topicId: moved.id, boardId: s2Board } }, { token: admin.token }));
    const into = await createTopic(t, newMod.token, s2Board);
    expectOk(await t.gql(MOVE_POSTS, { input: { postIds: [merged.id], toTopicId: into.id } }, { token: admin.token }));
    // Filed correctly, not to be touched: a decided and an open item of content still in s1, an item of s2's content, a profile's report.
    const stayed = await createTopic(t, author.token, await makeBoard(t, s1.id));
    const stayedItem = await itemOf('TOPIC', stayed.id);
    await decide(stayedItem, 'REJECT');
    const openItem = await itemOf('POST', (await reply(t, author.token, stayed.id, 'still here')).id);
    const s2Item = await itemOf('TOPIC', into.id);
    const userItem = await itemOf('USER', author.id);
    // As releases before 6ab05842 left them: the decided items of the moved content still under s1.
    const stale = [topicItem, replyItem, mergedItem];
    await t.sql(`UPDATE review_items SET space_id = $2, updated_at = now() - interval '1 day' WHERE id = ANY($1::uuid[])`, [stale, s1.id]);
    const untouched = [stayedItem, openItem, s2Item, userItem];
    const rows = () => t.sql(`SELECT id, space_id, updated_at FROM review_items WHERE id = ANY($1::uuid[]) ORDER BY id`, [untouched]);
    const before = await rows();
    expect(before.map((r) => r.space_id).sort()).toEqual([s1.id, s1.id, s2.id, null].sort());
    const listed = async (who: { token: string }, s: string | undefined, status: string) => {
      const q = expectOk(await t.gql(QUEUE, { s, status }, { token: who.token })).reviewQueue;
      return { totalCount: q.totalCount, ids: q.edges.map((e: any) => e.node.id).sort() };
    };
    const decided = { IGNORED: [topicItem], APPROVED: [replyItem], REJECTED: [mergedItem] };
    for (const [status, items] of Object.entries(decided)) {
      const theirs = status === 'REJECTED' ? [...items, stayedItem].sort() : items;
      expect(await listed(oldMod, s1.id, status)).toEqual({ totalCount: theirs.length, ids: theirs });
    }
    await redoMigration(t, new DecidedReviewItemsFollowContent1765288800000());
    for (const [status, items] of Object.entries(decided)) {
      // The old space's moderator: none of them listed or counted, in s1 or in all they moderate, none found by id.
      const left = status === 'REJECTED' ? [stayedItem] : [];
      expect(await listed(oldMod, s1.id, status)).toEqual({ totalCount: left.length, ids: left });
      expect(await listed(oldMod, undefined, status)).toEqual({ totalCount: left.length, ids: left });
      for (const item of items) expectError(await t.gql(RESOLVE, { input: { id: item, decision: 'IGNORE' } }, { token: oldMod.token }), 'NOT_FOUND');
      // The new space's moderator finds them, reports and all.
      const there = expectOk(await t.gql(QUEUE, { s: s2.id, status }, { token: newMod.token })).reviewQueue;
      expect(there.edges.map((e: any) => [e.node.id, e.node.reports.length])).toEqual(items.map((i) => [i, 1]));
    }
    expect(await t.sql(`SELECT DISTINCT space_id FROM review_items WHERE id = ANY($1::uuid[])`, [stale])).toEqual([{ space_id: s2.id }]);
    expect(await rows()).toEqual(before);
  });

  it('marks the import links of accounts anonymised before it, their digests of the old profile gone, and no other link, and indexes users’ links by account, concurrently (migration 1765346400000)', async () => {
    const [gone, placeholder] = [await makeUser(t), await makeUser(t)];
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [placeholder.id]);
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL, deleted_at = now() WHERE id = $1`, [gone.id]);
    const source = `stackexchange:erased-${newId()}`;
    // As earlier releases left them: the anonymised account's link kept the dump's digest (or none, made before digests); a post it wrote has its own.
    const links: Array<[string, string, string, string | null]> = [
      ['user', '1', gone.id, 'raw1:of-the-person'],
      ['user', '2', placeholder.id, 'raw1:of-someone-else'],
      ['post', '10', newId(), 'raw1:of-a-post'],
    ];
    for (const [kind, ext, id, digest] of links) {
      await t.sql(`INSERT INTO import_links (source, kind, external_id, local_id, digest) VALUES ($1, $2, $3, $4, $5)`, [source, kind, ext, id, digest]);
    }
    await t.sql(`INSERT INTO import_links (source, kind, external_id, local_id) VALUES ($1, 'user', '3', $2)`, [`${source}-older`, gone.id]);
    const index = () => t.sql(`SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass('import_links_user_local_idx')`);
    await undo(backTo('ImportLinksErased1765346400000'));
    expect(await index()).toEqual([]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('ImportLinksErased1765346400000'));
    expect(await index()).toEqual([{ valid: true }]);
    expect(await t.sql(`SELECT source, kind, external_id, digest FROM import_links WHERE source LIKE $1 ORDER BY source, kind, external_id`, [`${source}%`])).toEqual([
      { source, kind: 'post', external_id: '10', digest: 'raw1:of-a-post' },
      { source, kind: 'user', external_id: '1', digest: ERASED_IMPORT_DIGEST },
      { source, kind: 'user', external_id: '2', digest: 'raw1:of-someone-else' },
      { source: `${source}-older`, kind: 'user', external_id: '3', digest: ERASED_IMPORT_DIGEST },
    ]);
    // The anonymisation's write of the mark can find the link by the index.
    expect(await planWithoutSeqScan(`UPDATE import_links SET digest = 'erased' WHERE kind = 'user' AND local_id = $1 AND digest IS DISTINCT FROM 'erased'`, [gone.id])).toContain(
      'import_links_user_local_idx',
    );
  });

  it('gives import links a dump identity and indexes erased users’ links by it, and takes both away when undone (migration 1765402200000)', async () => {
    const source = `stackexchange:identity-${newId()}`;
    const index = () => t.sql(`SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass('import_links_erased_identity_idx')`);
    const column = () => t.sql(`SELECT column_name FROM information_schema.columns WHERE table_name = 'import_links' AND column_name = 'dump_identity'`);
    await undo(backTo('ImportLinksDumpIdentity1765402200000'));
    expect([await index(), await column()]).toEqual([[], []]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('ImportLinksDumpIdentity1765402200000'));
    expect([await index(), await column()]).toEqual([[{ valid: true }], [{ column_name: 'dump_identity' }]]);
    await t.sql(`INSERT INTO import_links (source, kind, external_id, local_id, digest, dump_identity) VALUES ($1, 'user', '1', $2, $3, 'se1:of-the-person')`, [
      source,
      newId(),
      ERASED_IMPORT_DIGEST,
    ]);
    // The importer's look-up of people anonymised under another source (`erasedElsewhere`) can read the index.
    const lookup = `SELECT local_id FROM import_links WHERE kind = 'user' AND digest = $1 AND dump_identity = ANY($2::text[]) AND dump_identity IS NOT NULL AND source <> $3`;
    expect(await planWithoutSeqScan(lookup, [ERASED_IMPORT_DIGEST, ['se1:of-the-person'], 'stackexchange:another'])).toContain('import_links_erased_identity_idx');
  });

  it('gives each post a search offset of 0 without rewriting posts, giving way to the reads of posts queued behind its wait, and takes a moved post’s offset off its document before dropping it when undone (migration 1765420200000)', async () => {
    const author = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const topic = await createTopic(t, author.token, await makeBoard(t, space.id));
    const r = await reply(t, author.token, topic.id, 'An offset reply.');
    // As if moved out of a topic whose version was 1000 above its topic's now: the gap is in its document's version.
    await t.sql(`UPDATE posts SET search_offset = 1000 WHERE id = $1`, [r.id]);
    await t.get(SearchIndexer).index([r.id]);
    const sum = async (): Promise<string> => (await t.sql(`SELECT (p.version::bigint + t.version)::text AS v FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $1`, [r.id]))[0].v;
    const stored = async (): Promise<string> => (await t.sql(`SELECT version::text AS v FROM search_documents WHERE id = $1`, [r.id]))[0].v;
    expect(BigInt(await stored())).toBe(BigInt(await sum()) + 1000n);
    const column = () => t.sql(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'posts' AND column_name = 'search_offset'`);
    await undo(backTo('MovedPostsSearchOffset1765420200000'));
    expect(await column()).toEqual([]);
    // What the release before builds for it, the post's version plus its topic's: its updates of the post are taken again.
    expect(await stored()).toBe(await sum());
    const [{ file }] = await t.sql(`SELECT pg_relation_filenode('posts')::text AS file`);
    const run = migrateWhileRead('posts', async () => {
      // A read of posts queued behind the run's wait is not held there until the long transaction ends.
      expect(await t.sql(`SELECT count(*)::int AS n FROM posts WHERE id = '00000000-0000-0000-0000-000000000000'`)).toEqual([{ n: 0 }]);
      expect(await column()).toEqual([]);
    });
    expect(await run).toEqual(fromOn('MovedPostsSearchOffset1765420200000'));
    expect(await t.sql(`SELECT search_offset::text AS o FROM posts WHERE id = $1`, [r.id])).toEqual([{ o: '0' }]);
    expect(await t.sql(`SELECT pg_relation_filenode('posts')::text AS file`)).toEqual([{ file }]);
  });

  it('undoes the search offset in one step (migration 1765420200000): a node of the release still reindexing while the undo waits for the posts’ lock writes no offset back into a document', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id));
    const r = await reply(t, author.token, topic.id, 'A reindexed offset reply.');
    await t.sql(`UPDATE posts SET search_offset = 1000 WHERE id = $1`, [r.id]);
    await t.get(SearchIndexer).index([r.id]);
    const versions = async () =>
      (await t.sql(`SELECT d.version::text AS stored, (p.version::bigint + t.version)::text AS sum FROM search_documents d JOIN posts p ON p.id = d.id JOIN topics t ON t.id = p.topic_id WHERE d.id = $1`, [r.id]))[0];
    // A long transaction holds the posts as the undo starts: it waits for their lock, giving way.
    const reader = t.ds.createQueryRunner();
    await reader.startTransaction();
    await reader.query(`SELECT count(*) FROM posts`);
    const undone = undo(backTo('MovedPostsSearchOffset1765420200000'));
    try {
      expect(await exclusiveWaitSeen('posts')).toContain('AccessExclusiveLock waited');
      // Meanwhile a node of the release with the offset reindexes the post.
      await t.get(SearchIndexer).index([r.id]);
    } finally {
      await reader.rollbackTransaction();
      await reader.release();
    }
    await undone;
    const { stored, sum } = await versions();
    expect(stored).toBe(sum);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('MovedPostsSearchOffset1765420200000'));
  });

  it('gives a topic that moves took replies off the end of the highest number they had, from the moderation log, and no other topic one (migration 1765523400000)', async () => {
    const [admin, author] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const topicWith = async (replies: number) => {
      const topic = await createTopic(t, author.token, board);
      const posts: string[] = [];
      for (let i = 0; i < replies; i++) posts.push((await reply(t, author.token, topic.id, `Reply ${i + 2}.`)).id);
      return { id: topic.id, posts };
    };
    const MOVE = `mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`;
    const move = async (postIds: string[], toTopicId: string) => expectOk(await t.gql(MOVE, { input: { postIds, toTopicId } }, { token: admin.token }));
    // Replies 4 and 5 of `ended` moved off its end (twice: 5, then 4); reply 3 of `middle` out of its middle; `dest` took them all.
    const [ended, middle, dest] = [await topicWith(4), await topicWith(3), await topicWith(1)];
    await move([ended.posts[3]], dest.id);
    await move([ended.posts[2]], dest.id);
    await move([middle.posts[1]], dest.id);
    const numbers = async () =>
      Object.fromEntries(
        (await t.sql(`SELECT id, last_post_number, max_post_number FROM topics WHERE id = ANY($1::uuid[])`, [[ended.id, middle.id, dest.id]])).map((r) => [
          r.id === ended.id ? 'ended' : r.id === middle.id ? 'middle' : 'dest',
          [r.last_post_number, r.max_post_number],
        ]),
      );
    const kept = await numbers();
    expect(kept).toEqual({ ended: [3, 5], middle: [4, 4], dest: [5, 0] });
    await undo(backTo('TopicMaxPostNumber1765523400000'));
    expect(await t.sql(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'topics' AND column_name = 'max_post_number'`)).toEqual([]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('TopicMaxPostNumber1765523400000'));
    // As the moves kept them: a topic no move took replies off the end of stays at 0, its last number the highest.
    expect(await numbers()).toEqual({ ...kept, middle: [4, 0] });
    expect((await reply(t, author.token, ended.id, 'After the moves.')).number).toBe(6);
  });

  it('backfills max_post_number from every form a posts.move entry took: one entry with the source in before (a64cdea3, and 6acc5a79 with title and count after), and across spaces the source’s entry and the destination’s, which names no source (7236f977) (migration 1765523400000)', async () => {
    const [admin, author] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    const [space, otherSpace] = [await makeSpace(t, 'PUBLIC'), await makeSpace(t, 'PUBLIC')];
    const [board, otherBoard] = [await makeBoard(t, space.id), await makeBoard(t, otherSpace.id)];
    const topicWith = async (inBoard: string, replies: number) => {
      const topic = await createTopic(t, author.token, inBoard);
      const posts: string[] = [];
      for (let i = 0; i < replies; i++) posts.push((await reply(t, author.token, topic.id, `Reply ${i + 2}.`)).id);
      return { id: topic.id, posts };
    };
    // Across spaces, as this release logs it: 5 moves off `crossed`'s end into `arrived` (two entries).
    const [crossed, arrived] = [await topicWith(board, 4), await topicWith(otherBoard, 1)];
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [crossed.posts[3]], toTopicId: arrived.id } }, { token: admin.token }));
    const entries = await t.sql(`SELECT target_id, before, after FROM moderation_log WHERE action = 'posts.move' AND (target_id = $1 OR target_id = $2) ORDER BY id`, [crossed.id, arrived.id]);
    expect(entries).toEqual([
      { target_id: crossed.id, before: { topicId: crossed.id, spaceId: space.id, posts: [{ id: crossed.posts[3], number: 5 }] }, after: { anotherSpace: true, count: 1 } },
      { target_id: arrived.id, before: { anotherSpace: true }, after: expect.objectContaining({ topicId: arrived.id, posts: [{ id: crossed.posts[3], number: 3 }] }) },
    ]);
    // Older releases' moves, their entries written as those releases wrote them (one entry, on the
    // destination, the source in before) and their topics left as those moves left them: the
    // posts gone, last_post_number lowered to what remained, no max_post_number.
    const [first, firstDest, second, split] = [await topicWith(board, 4), await topicWith(board, 1), await topicWith(board, 4), await topicWith(board, 0)];
    const older = [
      // a64cdea3: 4 and 5 merged into firstDest.
      {
        targetId: firstDest.id,
        before: { topicId: first.id, spaceId: space.id, posts: [{ id: first.posts[2], number: 4 }, { id: first.posts[3], number: 5 }] },
        after: { topicId: firstDest.id, spaceId: space.id, newTopic: false, posts: [{ id: first.posts[2], number: 3 }, { id: first.posts[3], number: 4 }] },
      },
      // 6acc5a79: 4 and 5 split into a new topic, whose title and the count after too.
      {
        targetId: split.id,
        before: { topicId: second.id, spaceId: space.id, posts: [{ id: second.posts[2], number: 4 }, { id: second.posts[3], number: 5 }] },
        after: { topicId: split.id, spaceId: space.id, newTopic: true, title: 'A split', count: 2, posts: [{ id: second.posts[2], number: 1 }, { id: second.posts[3], number: 2 }] },
      },
    ];
    await t.get(UnitOfWork).run(async (tx) => {
      for (const e of older) await t.get(AuditLog).append(tx, { actorId: admin.id, action: 'posts.move', targetType: 'topic', targetId: e.targetId, spaceId: space.id, before: e.before, after: e.after });
    });
    for (const tp of [first, second]) {
      await t.sql(`DELETE FROM posts WHERE topic_id = $1 AND number > 3`, [tp.id]);
      await t.sql(`UPDATE topics SET last_post_number = 3, max_post_number = 0 WHERE id = $1`, [tp.id]);
    }
    const ids = { crossed: crossed.id, arrived: arrived.id, first: first.id, firstDest: firstDest.id, second: second.id, split: split.id };
    const numbers = async () => {
      const rows = await t.sql(`SELECT id, last_post_number, max_post_number FROM topics WHERE id = ANY($1::uuid[])`, [Object.values(ids)]);
      return Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, (({ last_post_number, max_post_number }) => [last_post_number, max_post_number])(rows.find((r) => r.id === id))]));
    };
    expect(await numbers()).toEqual({ crossed: [4, 5], arrived: [3, 0], first: [3, 0], firstDest: [2, 0], second: [3, 0], split: [1, 0] });
    await undo(backTo('TopicMaxPostNumber1765523400000'));
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('TopicMaxPostNumber1765523400000'));
    // Each source gets back the highest number moved off its end, whichever form logged it; no destination gets one.
    expect(await numbers()).toEqual({ crossed: [4, 5], arrived: [3, 0], first: [3, 5], firstDest: [2, 0], second: [3, 5], split: [1, 0] });
    for (const tp of [first, second, crossed]) expect((await reply(t, author.token, tp.id, 'After the upgrade.')).number).toBe(6);
    expect((await t.get(AuditLog).verify()).ok).toBe(true);
  });

  it('gives the hidden and deleted posts one removal version drawn for them all, above every version before it, which their placeholders answer, and a restore passes (migration 1765538800000)', async () => {
    const [author, mod] = [await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const topic = await createTopic(t, author.token, await makeBoard(t, space.id));
    const [visible, hidden, edited, deleted] = [await reply(t, author.token, topic.id, 'Stays.'), await reply(t, author.token, topic.id, 'Hidden.'), await reply(t, author.token, topic.id, 'Hidden, then edited.'), await reply(t, author.token, topic.id, 'Deleted.')];
    const moderate = async (postId: string, action: string) => expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`, { input: { postId, action } }, { token: mod.token }));
    for (const p of [hidden, edited]) await moderate(p.id, 'HIDE');
    await moderate(deleted.id, 'DELETE');
    // Edited by its author once hidden: its version is above the removal's, which readers heard.
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: edited.id, body: 'Edited while hidden.' } }, { token: author.token }));
    const posts = async () => t.sql(`SELECT id, version, removed_version FROM posts WHERE topic_id = $1 ORDER BY number`, [topic.id]);
    const before = await posts();
    await undo(backTo('PostRemovedVersion1765538800000'));
    expect(await t.sql(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'posts' AND column_name = 'removed_version'`)).toEqual([]);
    const [{ drawn }] = await t.sql(`SELECT last_value::int AS drawn FROM content_versions`);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('PostRemovedVersion1765538800000'));
    const after = await posts();
    // No post's own version moved; the first post and the visible reply have none; the three removed ones one value, drawn
    // after every version before, so above each one's (the edited one's included) and every push of theirs already sent.
    expect(after.map((r: any) => r.version)).toEqual(before.map((r: any) => r.version));
    const removed = new Map(after.map((r: any) => [r.id, r.removed_version]));
    expect([removed.get(topic.firstPostId), removed.get(visible.id)]).toEqual([null, null]);
    const filled = removed.get(hidden.id);
    expect(filled).toBeGreaterThan(drawn);
    expect([removed.get(edited.id), removed.get(deleted.id)]).toEqual([filled, filled]);
    // What readers' placeholders answer; a restore draws a version above it.
    const page = async () =>
      new Map<string, number | null>(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { edges { node { id version } } } } }`, { id: topic.id })).topic.posts.edges.map((e: any) => [e.node.id, e.node.version]));
    const shown = await page();
    expect([shown.get(hidden.id), shown.get(edited.id), shown.get(deleted.id)]).toEqual([filled, filled, filled]);
    await moderate(deleted.id, 'RESTORE');
    expect((await page()).get(deleted.id)).toBeGreaterThan(filled);
  });

  it('keeps an erased import link as it is, whatever an older release writes to it, but for its dump identity once given, and lets it be written again when undone (migration 1765404000000)', async () => {
    const [gone, other] = [await makeUser(t), await makeUser(t)];
    const source = `stackexchange:kept-${newId()}`;
    await t.sql(`INSERT INTO import_links (source, kind, external_id, local_id, digest) VALUES ($1, 'user', '1', $2, $3), ($1, 'user', '2', $4, 'raw1:of-someone')`, [
      source,
      gone.id,
      ERASED_IMPORT_DIGEST,
      other.id,
    ]);
    const links = () => t.sql(`SELECT external_id, local_id, digest, dump_identity FROM import_links WHERE source = $1 ORDER BY external_id`, [source]);
    const erasedLink = { external_id: '1', local_id: gone.id, digest: ERASED_IMPORT_DIGEST, dump_identity: null };
    // A node of a release before the mark writes the dump's digest over it (its rememberDigests had no guard), or worse.
    const olderWrites = async () => {
      await t.sql(`UPDATE import_links SET digest = 'raw1:of-the-person-again' WHERE source = $1 AND kind = 'user'`, [source]);
      await t.sql(`UPDATE import_links SET local_id = $2 WHERE source = $1 AND external_id = '1'`, [source, other.id]);
      await t.sql(`UPDATE import_links SET external_id = '3', digest = NULL WHERE source = $1 AND external_id = '1'`, [source]);
    };
    await olderWrites();
    expect(await links()).toEqual([erasedLink, { external_id: '2', local_id: other.id, digest: 'raw1:of-the-person-again', dump_identity: null }]);
    // Its dump identity, which a run of its source gives it: once given, kept too.
    for (const identity of ['se1:first', 'se1:second', null]) {
      await t.sql(`UPDATE import_links SET dump_identity = $2 WHERE source = $1 AND external_id = '1'`, [source, identity]);
    }
    expect((await links())[0]).toEqual({ ...erasedLink, dump_identity: 'se1:first' });

    await undo(backTo('ImportLinksErasedKept1765404000000'));
    // The release before: nothing but its code kept the mark.
    await t.sql(`UPDATE import_links SET digest = 'raw1:undone' WHERE source = $1 AND external_id = '1'`, [source]);
    expect(await t.sql(`SELECT digest FROM import_links WHERE source = $1 AND external_id = '1'`, [source])).toEqual([{ digest: 'raw1:undone' }]);
    await t.sql(`UPDATE import_links SET digest = $2, dump_identity = NULL WHERE source = $1 AND external_id = '1'`, [source, ERASED_IMPORT_DIGEST]);

    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('ImportLinksErasedKept1765404000000'));
    await olderWrites();
    expect((await links())[0]).toEqual(erasedLink);
  });

  it('counts a scheduled job’s failures in a row, none for the runs recorded before, and drops the count when undone, keeping the runs (migration 1765423800000)', async () => {
    const name = `test-job-${newId()}`;
    const failures = async () =>
      (await t.sql(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'job_runs' AND column_name = 'failures'`)).length;
    await undo(backTo('JobRunFailures1765423800000'));
    expect(await failures()).toBe(0);
    await t.sql(`INSERT INTO job_runs (name, last_run_at) VALUES ($1, now())`, [name]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('JobRunFailures1765423800000'));
    expect(await t.sql(`SELECT failures FROM job_runs WHERE name = $1`, [name])).toEqual([{ failures: 0 }]);
    await t.sql(`UPDATE job_runs SET failures = 3 WHERE name = $1`, [name]);
    await undo(backTo('JobRunFailures1765423800000'));
    expect(await failures()).toBe(0);
    expect(await t.sql(`SELECT count(*)::int AS n FROM job_runs WHERE name = $1`, [name])).toEqual([{ n: 1 }]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('JobRunFailures1765423800000'));
    expect(await failures()).toBe(1);
  });

  it('adds import links’ dump identity and their erased-link trigger giving way to the writes queued behind each wait: an import’s long batch holds up no anonymisation (migrations 1765402200000, 1765404000000)', async () => {
    const gone = await makeUser(t);
    /** An anonymisation's write of the mark, as it comes while the migration waits: done, not held until the batch ends. */
    const anonymisationWrites = async () => {
      const runner = t.ds.createQueryRunner();
      try {
        await runner.startTransaction();
        await runner.query(`SET LOCAL lock_timeout = '5s'`);
        await runner.query(`UPDATE import_links SET digest = $2 WHERE kind = 'user' AND local_id = $1 AND digest IS DISTINCT FROM $2`, [gone.id, ERASED_IMPORT_DIGEST]);
        await runner.commitTransaction();
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    };
    /** `name` and those after it run while an import's batch (a transaction that wrote links) lasts, which the migration waits for, seen waiting with a lock of `mode`. */
    const migrateWhileImporting = async (name: string, mode: string) => {
      await undo(backTo(name));
      const batch = t.ds.createQueryRunner();
      await batch.startTransaction();
      await batch.query(`LOCK TABLE import_links IN ROW EXCLUSIVE MODE`);
      const run = migrateDatabase(t.db.url);
      try {
        expect(await exclusiveWaitSeen('import_links', mode)).toContain(`${mode} waited`);
        await anonymisationWrites();
      } finally {
        await batch.rollbackTransaction();
        await batch.release();
      }
      expect(await run).toEqual(fromOn(name));
    };
    // The column (an ALTER: ACCESS EXCLUSIVE), then the trigger (CREATE TRIGGER: SHARE ROW EXCLUSIVE).
    await migrateWhileImporting('ImportLinksDumpIdentity1765402200000', 'AccessExclusiveLock');
    await migrateWhileImporting('ImportLinksErasedKept1765404000000', 'ShareRowExclusiveLock');
  });

  it('indexes review items by target, concurrently, and moveTopic and movePosts still take exactly the moved content’s items, open or decided, with it (migration 1765292400000)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [author, reporter, mod] = [await makeUser(t), await makeUser(t, { trustLevel: 2 }), await makeUser(t)];
    const s1 = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const s2 = await makeSpace(t, 'PUBLIC');
    const report = async (targetType: string, targetId: string) => {
      expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType, targetId, reason: 'ABUSE' } }, { token: reporter.token }));
      return (await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_type = $1 AND target_id = $2`, [targetType, targetId]))[0].id as string;
    };
    const decide = async (id: string) =>
      expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`, { input: { id, decision: 'REJECT' } }, { token: mod.token }));
    const target = () =>
      t.sql(`SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'review_items_target_idx'`);
    await undo(backTo('ReviewItemsTargetIndex1765292400000'));
    expect(await target()).toEqual([]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('ReviewItemsTargetIndex1765292400000'));
    expect(await target()).toEqual([{ name: 'review_items_target_idx', valid: true }]);
    // A topic, its first post's and two replies' items, one of each decided; a topic beside it and its item, which stay.
    const topic = await createTopic(t, author.token, await makeBoard(t, s1.id));
    const [r1, r2] = [await reply(t, author.token, topic.id, 'one'), await reply(t, author.token, topic.id, 'two')];
    const beside = await createTopic(t, author.token, await makeBoard(t, s1.id));
    const [topicItem, r1Item, r2Item, besideItem] = [await report('TOPIC', topic.id), await report('POST', r1.id), await report('POST', r2.id), await report('TOPIC', beside.id)];
    await decide(topicItem);
    await decide(r2Item);
    const spaces = async () =>
      Object.fromEntries(
        (await t.sql(`SELECT id, space_id FROM review_items WHERE id = ANY($1::uuid[])`, [[topicItem, r1Item, r2Item, besideItem]])).map((r) => [
          ({ [topicItem]: 'topic', [r1Item]: 'r1', [r2Item]: 'r2', [besideItem]: 'beside' })[r.id],
          r.space_id === s1.id ? 's1' : r.space_id === s2.id ? 's2' : r.space_id,
        ]),
      );
    const s2Board = await makeBoard(t, s2.id);
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: s2Board } }, { token: admin.token }));
    expect(await spaces()).toEqual({ topic: 's2', r1: 's2', r2: 's2', beside: 's1' });
    // movePosts takes a reply back into s1, its item with it, and leaves the others.
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [r2.id], toTopicId: beside.id } }, { token: admin.token }));
    expect(await spaces()).toEqual({ topic: 's2', r1: 's2', r2: 's1', beside: 's1' });
  }, 120_000);

  it('marks each review item history line that settled its item with the status it gave it, read from the line’s text, and no other line, once however often it runs (migration 1765303200000)', async () => {
    const [author, mod] = [await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const topic = await createTopic(t, author.token, await makeBoard(t, space.id));
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    const reported = async (body: string) => {
      const p = await reply(t, author.token, topic.id, body);
      expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
      return (await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [p.id]))[0].id as string;
    };
    // Decided in the queue (one claimed first, a line that settles nothing), and a held reply its author withdrew.
    const items: string[] = [];
    for (const decision of ['APPROVE', 'REJECT', 'IGNORE']) {
      const item = await reported(`reported, then ${decision}`);
      if (decision === 'REJECT') expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item }, { token: mod.token }));
      expectOk(await t.gql(RESOLVE, { input: { id: item, decision } }, { token: mod.token }));
      items.push(item);
    }
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [space.id]);
    const held = await reply(t, author.token, topic.id, 'held, then withdrawn');
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: held.id }, { token: author.token }));
    items.push((await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1`, [held.id]))[0].id);
    // A held reply a moderator deleted with moderatePost: its item rejected by a line worded after the action ('resolved: delete').
    const dropped = await reply(t, author.token, topic.id, 'held, then deleted by a moderator');
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`, { input: { postId: dropped.id, action: 'DELETE' } }, { token: mod.token }));
    items.push((await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1`, [dropped.id]))[0].id);
    const lines = () => t.sql(`SELECT id, review_item_id, action, resolved_as FROM review_item_events WHERE review_item_id = ANY($1::uuid[]) ORDER BY id`, [items]);
    const written = await lines();
    const settled = (item: string) => written.filter((l) => l.review_item_id === item).map((l) => [l.action.replace(/ \(.*$/, ''), l.resolved_as]);
    expect(items.map(settled)).toEqual([
      [['reported', null], ['resolved: approve', 'APPROVED']],
      [['reported', null], ['claimed', null], ['resolved: reject', 'REJECTED']],
      [['reported', null], ['resolved: ignore', 'IGNORED']],
      [['submitted', null], ['withdrawn', 'IGNORED']],
      [['submitted', null], ['resolved: delete', 'REJECTED']],
    ]);
    // As releases before it left them (no column), then filled from their text; again, changing nothing.
    await redoMigration(t, new ReviewItemEventsResolvedAs1765303200000());
    expect(await lines()).toEqual(written);
    const runner = t.ds.createQueryRunner();
    try {
      await new ReviewItemEventsResolvedAs1765303200000().up(runner);
    } finally {
      await runner.release();
    }
    expect(await lines()).toEqual(written);
  });

  it('gives each review decision on a post in the moderation log what it did to the content, from `after.outcome` or, for an entry written before, its wording, and leaves the chain whole (migration 1765306800000)', async () => {
    // Entries as every release before it worded them (`after.action`, no `outcome`), and what each did.
    const old: Array<[ReturnType<typeof review>, string | null]> = [
      [review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'hidden' }), 'HIDDEN'],
      [review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'hidden; escalation: warned', authorReason: 'Abusive' }), 'HIDDEN'],
      [review('review.approve', 'HIDDEN', { decision: 'APPROVE', action: 'deleted' }), 'DELETED'],
      [review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'none' }), 'NONE'],
      [review('review.approve', 'HIDDEN', { decision: 'APPROVE', action: 'none; escalation: silenced for 1 day' }), 'NONE'],
      [review('review.approve', 'DELETED', { decision: 'APPROVE', action: 'none: the post was already deleted' }), 'NONE'],
      [review('review.reject', 'HIDDEN', { decision: 'REJECT', action: 'restored' }), 'RESTORED'],
      [review('review.reject', 'HIDDEN', { decision: 'REJECT', action: 'none: upheld hidden by a moderator since it was hidden automatically' }), 'NONE'],
      [review('review.approve', 'PENDING', { decision: 'APPROVE', action: 'published' }), 'PUBLISHED'],
      [review('review.reject', 'PENDING', { decision: 'REJECT', action: 'rejected' }), 'REJECTED'],
      [review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'edit published' }), 'EDIT_PUBLISHED'],
      [review('review.reject', 'VISIBLE', { decision: 'REJECT', action: 'edit dropped' }), 'EDIT_DROPPED'],
      [review('review.ignore', 'DELETED', { decision: 'IGNORE', action: 'nothing left: the post was deleted' }), 'NONE'],
      // No post (an appeal), and no review decision: none.
      [review('review.approve', null, { decision: 'APPROVE', action: 'hidden' }), null],
      [{ action: 'post.hide', before: { state: 'VISIBLE' }, after: { state: 'HIDDEN' } }, null],
    ];
    await undo(backTo('ModerationLogOutcome1765306800000'));
    const oldIds = await appendAsOlderRelease(old.map(([e]) => e));
    await runUp(new ModerationLogOutcome1765306800000());
    expect((await outcomes(oldIds)).map((r) => r.outcome)).toEqual(old.map(([, o]) => o));
    // From then on only `after.outcome` counts: an entry worded 'hidden' without it is nothing, one worded anyhow with it is what it says.
    const newIds = await appendAsOlderRelease([
      review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'hidden' }),
      review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'concealed', outcome: 'HIDDEN' }),
    ]);
    expect((await outcomes(newIds)).map((r) => r.outcome)).toEqual([null, 'HIDDEN']);
    // Until 1765324800000 made the column plain and filled the first from its wording (an older release's entry: below).
    await migrateDatabase(t.db.url);
    expect((await outcomes(newIds)).map((r) => r.outcome)).toEqual(['HIDDEN', 'HIDDEN']);
    // The application writes it: a real APPROVE that hid a post.
    const p = await approveHiding();
    expect(await t.sql(`SELECT after->>'outcome' AS written, outcome FROM moderation_log WHERE action = 'review.approve' AND target_id = $1`, [p])).toEqual([{ written: 'HIDDEN', outcome: 'HIDDEN' }]);
    // Again: nothing changes; and no entry was rewritten (the chain verifies).
    const all = [...oldIds, ...newIds];
    const before = await outcomes(all);
    await runUp(new ModerationLogOutcome1765306800000());
    expect(await outcomes(all)).toEqual(before);
    expect((await t.get(AuditLog).verify()).ok).toBe(true);
  });

  it('makes the log’s outcome a plain column without rewriting the table, gives the entries older releases left without one the outcome their own fields say, in batches, and the append-only trigger lets nothing else through (migration 1765324800000)', async () => {
    await undo(backTo('ModerationLogOutcomeWritten1765324800000'));
    // Generated again (down), its wording read up to the entries of then: an entry of a release
    // before 1765306800000 written after them (a rolling upgrade) said nothing by its wording alone.
    const early = await appendAsOlderRelease([
      review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'hidden; escalation: warned' }),
      review('review.reject', 'HIDDEN', { decision: 'REJECT', action: 'restored', outcome: 'RESTORED' }),
    ]);
    expect((await outcomes(early)).map((r) => r.outcome)).toEqual([null, 'RESTORED']);
    const file = async () => (await t.sql(`SELECT pg_relation_filenode('moderation_log')::text AS f`))[0].f as string;
    const stored = await file();
    await migrateDatabase(t.db.url);
    expect(await file()).toBe(stored);
    expect(await t.sql(`SELECT is_generated FROM information_schema.columns WHERE table_name = 'moderation_log' AND column_name = 'outcome'`)).toEqual([{ is_generated: 'NEVER' }]);
    expect((await outcomes(early)).map((r) => r.outcome)).toEqual(['HIDDEN', 'RESTORED']);
    // As this migration left it, before 1765330200000 gave such entries their outcome on insert.
    await undo(backTo('ModerationLogOutcomeOnInsert1765330200000'));

    // A node of the release before, still running: its entries name no outcome (null), theirs in
    // `after.outcome` or their wording; filled when the fill runs again (one entry a batch here).
    const late = await appendAsOlderRelease([
      review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'concealed', outcome: 'HIDDEN' }),
      review('review.ignore', 'DELETED', { decision: 'IGNORE', action: 'nothing left: the post was deleted' }),
      review('review.approve', null, { decision: 'APPROVE', action: 'hidden' }),
      { action: 'post.hide', before: { state: 'VISIBLE' }, after: { state: 'HIDDEN' } },
      review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'deleted', outcome: 'DELETED' }),
    ]);
    const [hid, , appeal, hide] = late;
    expect((await outcomes(late)).map((r) => r.outcome)).toEqual([null, null, null, null, null]);
    const runner = t.ds.createQueryRunner();
    try {
      await fillModerationLogOutcomes(runner, 1);
      expect((await outcomes(late)).map((r) => r.outcome)).toEqual(['HIDDEN', 'NONE', null, null, 'DELETED']);
      await runUp(new ModerationLogOutcomeWritten1765324800000()); // again: nothing changes
      expect((await outcomes([...early, ...late])).map((r) => r.outcome)).toEqual(['HIDDEN', 'RESTORED', 'HIDDEN', 'NONE', null, null, 'DELETED']);
      // The trigger lets the fill through, and nothing else: not without the setting, not
      // anything but a null outcome set to what the entry says, not a DELETE.
      const refused = async (statement: string, params: unknown[], fill: boolean) => {
        await runner.startTransaction();
        try {
          if (fill) await runner.query(`SELECT set_config($1, 'on', true)`, [OUTCOME_FILL_SETTING]);
          await expect(runner.query(statement, params)).rejects.toThrow(/append-only/);
        } finally {
          await runner.rollbackTransaction();
        }
      };
      const set = `UPDATE moderation_log SET outcome = $2 WHERE id = $1`;
      await refused(set, [hid, 'DELETED'], true); // an outcome changed
      await refused(set, [hid, null], true); // or taken away
      await refused(set, [appeal, 'HIDDEN'], true); // one the entry does not say (no post)
      await refused(set, [hide, 'HIDDEN'], true); // nor this one (no review decision)
      await refused(`UPDATE moderation_log SET reason = 'rewritten' WHERE id = $1`, [appeal], true);
      await refused(`DELETE FROM moderation_log WHERE id = $1`, [appeal], true);
      // An entry written so later still, with its outcome to fill: not without the setting, not with
      // anything else changed beside it, nor a wrong one; what it says, alone, goes through.
      const [pending] = await appendAsOlderRelease([review('review.reject', 'PENDING', { decision: 'REJECT', action: 'rejected' })]);
      await refused(set, [pending, 'REJECTED'], false);
      await refused(`UPDATE moderation_log SET outcome = 'REJECTED', reason = 'rewritten' WHERE id = $1`, [pending], true);
      await refused(`UPDATE moderation_log SET outcome = 'REJECTED', after = after || '{"outcome": "REJECTED"}' WHERE id = $1`, [pending], true);
      await refused(set, [pending, 'PUBLISHED'], true);
      await refused(set, [pending, 'REJECTED'], false); // the setting went with its transaction
      expect((await outcomes([pending]))[0].outcome).toBeNull();
      await runner.startTransaction();
      await runner.query(`SELECT set_config($1, 'on', true)`, [OUTCOME_FILL_SETTING]);
      await runner.query(set, [pending, 'REJECTED']);
      await runner.commitTransaction();
      expect((await outcomes([pending]))[0].outcome).toBe('REJECTED');
    } finally {
      await runner.release();
    }
    // No entry was rewritten: the chain verifies.
    expect((await t.get(AuditLog).verify()).ok).toBe(true);
    // Undone (1765330200000 applied again first, so every migration is): generated again, each
    // entry with the outcome it has; the trigger with no exception; done again.
    await migrateDatabase(t.db.url);
    const all = () => t.sql(`SELECT id::text, outcome FROM moderation_log ORDER BY id`);
    const kept = await all();
    await undo(backTo('ModerationLogOutcomeWritten1765324800000'));
    expect(await all()).toEqual(kept);
    expect(await t.sql(`SELECT is_generated FROM information_schema.columns WHERE table_name = 'moderation_log' AND column_name = 'outcome'`)).toEqual([{ is_generated: 'ALWAYS' }]);
    expect(await t.sql(`SELECT prosrc LIKE '%' || $1 || '%' AS excepts FROM pg_proc WHERE proname = 'moderation_log_append_only'`, [OUTCOME_FILL_SETTING])).toEqual([{ excepts: false }]);
    await migrateDatabase(t.db.url);
    expect(await all()).toEqual(kept);
    expect((await t.get(AuditLog).verify()).ok).toBe(true);
  });

  it('gives an entry a node of the release before writes after 1765324800000 (naming no outcome) the outcome its own fields say as it is inserted, not null until a fill (migration 1765330200000)', async () => {
    // As 1765324800000 left it: an older node's entries stay without an outcome.
    await undo(backTo('ModerationLogOutcomeOnInsert1765330200000'));
    const [gap] = await appendAsOlderRelease([review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'hidden', outcome: 'HIDDEN' })]);
    expect((await outcomes([gap]))[0].outcome).toBeNull();
    await migrateDatabase(t.db.url);
    // What was left so is filled; from then on each entry is given it as it is written, from
    // `after.outcome` or an older release's wording, and none where its fields say none.
    expect((await outcomes([gap]))[0].outcome).toBe('HIDDEN');
    const late = await appendAsOlderRelease([
      review('review.approve', 'VISIBLE', { decision: 'APPROVE', action: 'concealed', outcome: 'HIDDEN' }),
      review('review.approve', 'HIDDEN', { decision: 'APPROVE', action: 'deleted; escalation: warned' }),
      review('review.ignore', 'DELETED', { decision: 'IGNORE', action: 'nothing left: the post was deleted' }),
      review('review.approve', null, { decision: 'APPROVE', action: 'hidden' }),
      { action: 'post.hide', before: { state: 'VISIBLE' }, after: { state: 'HIDDEN' } },
    ]);
    expect((await outcomes(late)).map((r) => r.outcome)).toEqual(['HIDDEN', 'DELETED', 'NONE', null, null]);
    // The writer's own outcome is kept as written (the application's: a real APPROVE that hid a post).
    expect(await t.sql(`SELECT outcome FROM moderation_log WHERE action = 'review.approve' AND target_id = $1`, [await approveHiding()])).toEqual([{ outcome: 'HIDDEN' }]);
    expect((await t.get(AuditLog).verify()).ok).toBe(true);
    // Undone: entries keep what they were given, and are written without it again; done again.
    await undo(backTo('ModerationLogOutcomeOnInsert1765330200000'));
    expect((await outcomes(late)).map((r) => r.outcome)).toEqual(['HIDDEN', 'DELETED', 'NONE', null, null]);
    const [undone] = await appendAsOlderRelease([review('review.reject', 'PENDING', { decision: 'REJECT', action: 'rejected' })]);
    expect((await outcomes([undone]))[0].outcome).toBeNull();
    await migrateDatabase(t.db.url);
    expect((await outcomes([undone]))[0].outcome).toBe('REJECTED');
    expect((await t.get(AuditLog).verify()).ok).toBe(true);
  });

  it('counts the closings of polls already past their time as told, once, and indexes those still to tell (migration 1765350000000)', async () => {
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const member = await makeUser(t);
    const topic = await createTopic(t, member.token, board);
    const posts = [topic.firstPostId];
    for (let i = 0; i < 3; i++) posts.push((await reply(t, member.token, topic.id, `Reply ${i}`)).id);
    await undo(backTo('PollClosingsTold1765350000000'));
    // Past its time; ahead of it; past it but closed by hand before; with no time.
    const polls = [newId(), newId(), newId(), newId()];
    const at = [`now() - interval '1 hour'`, `now() + interval '1 hour'`, `now() - interval '1 hour'`, 'NULL'];
    for (const [i, id] of polls.entries()) {
      await t.sql(
        `INSERT INTO polls (id, post_id, question, kind, min_choices, max_choices, results, public_voters, closes_at, closed_at, news, version)
         VALUES ($1, $2, 'Which?', 'SINGLE', 1, 1, 'ALWAYS', false, ${at[i]}, $3::timestamptz, 2, 5)`,
        [id, posts[i], i === 2 ? new Date(Date.now() - 7_200_000) : null],
      );
    }
    const state = () => t.sql(`SELECT news, version, closing_told_at IS NOT DISTINCT FROM closes_at AS told FROM polls WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`, [polls]);
    await migrateDatabase(t.db.url);
    const expected = [{ news: 3, version: 6, told: true }, { news: 2, version: 5, told: false }, { news: 2, version: 5, told: false }, { news: 2, version: 5, told: true }];
    expect(await state()).toEqual(expected);
    expect(await t.sql(`SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('polls_closing_untold')`)).toEqual([{ indisvalid: true }]);
    // Again: nothing more counted; and the job finds nothing to tell among them.
    await runUp(new PollClosingsTold1765350000000());
    expect(await state()).toEqual(expected);
    await t.get(PollsService).tellClosings();
    expect(await state()).toEqual(expected);
  });

  /** Polls on new replies, `news` 2 and `version` 5, their closing times `at` (SQL) and none told; their ids, in order. */
  const pollsClosingAt = async (...at: string[]): Promise<string[]> => {
    const member = await makeUser(t);
    const topic = await createTopic(t, member.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id));
    const ids = at.map(() => newId()).sort();
    for (const [i, id] of ids.entries()) {
      const post = await reply(t, member.token, topic.id, `Reply ${i}`);
      await t.sql(
        `INSERT INTO polls (id, post_id, question, kind, min_choices, max_choices, results, public_voters, closes_at, news, version)
         VALUES ($1, $2, 'Which?', 'SINGLE', 1, 1, 'ALWAYS', false, ${at[i]}, 2, 5)`,
        [id, post.id],
      );
    }
    return ids;
  };
  const pollNews = (ids: string[]) => t.sql(`SELECT news, version FROM polls WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids]);

  it('counts a closing passed and not told yet as told before its down drops the column, so the release before never pushes the poll below this one (migration 1765350000000)', async () => {
    // Past its time and not told (the job had not run yet); ahead of it.
    const polls = await pollsClosingAt(`now() - interval '1 hour'`, `now() + interval '1 hour'`);
    await undo(backTo('PollClosingsTold1765350000000'));
    try {
      expect(await pollNews(polls)).toEqual([{ news: 3, version: 6 }, { news: 2, version: 5 }]);
    } finally {
      await migrateDatabase(t.db.url);
    }
  });

  it('counts the closings already passed a batch a statement, each committed on its own: a poll held elsewhere holds up none before it (migration 1765350000000)', async () => {
    const polls = await pollsClosingAt(`now() - interval '2 hours'`, `now() - interval '1 hour'`);
    // The later one held (as a reopening under way would hold it) while the backfill runs, a poll a statement.
    const held = await holdLock(t, `SELECT 1 FROM polls WHERE id = $1 FOR UPDATE`, [polls[1]]);
    const runner = t.ds.createQueryRunner();
    let filled: Promise<number> | undefined;
    try {
      filled = tellPassedClosings(runner, 1);
      await held.waiting(1);
      // The first is counted and committed while the backfill waits for the second.
      expect(await pollNews(polls)).toEqual([{ news: 3, version: 6 }, { news: 2, version: 5 }]);
    } finally {
      await held.release();
      await filled;
      await runner.release();
    }
    expect(await pollNews(polls)).toEqual([{ news: 3, version: 6 }, { news: 3, version: 6 }]);
  });

  it('takes no outcome but a ContentOutcome in the moderation log, checked without holding the log while existing entries are read (migration 1765332000000)', async () => {
    /** Whether an entry naming `outcome` is written (in a transaction rolled back, so the chain is untouched). */
    const written = async (outcome: string) => {
      const q = t.ds.createQueryRunner();
      try {
        await q.startTransaction();
        await q.query(`INSERT INTO moderation_log (entry_id, at, action, target_type, target_id, before, after, hash, outcome)
                       VALUES ($1, now(), 'review.approve', 'post', $2, '{"state": "VISIBLE"}', '{"decision": "APPROVE", "action": "hidden"}', 'x', $3)`, [newId(), newId(), outcome]);
        return true;
      } catch (e) {
        expect(String(e)).toMatch(/moderation_log_outcome_check/);
        return false;
      } finally {
        await q.rollbackTransaction();
        await q.release();
      }
    };
    await undo(backTo('ModerationLogOutcomeCheck1765332000000'));
    expect(await written('HIDEN')).toBe(true);
    await migrateDatabase(t.db.url);
    expect(await written('HIDEN')).toBe(false);
    expect(await written('hidden')).toBe(false);
    for (const o of ['HIDDEN', 'DELETED', 'RESTORED', 'PUBLISHED', 'REJECTED', 'EDIT_PUBLISHED', 'EDIT_DROPPED', 'NONE']) expect(await written(o)).toBe(true);
    expect(await t.sql(`SELECT convalidated FROM pg_constraint WHERE conname = 'moderation_log_outcome_check'`)).toEqual([{ convalidated: true }]);
    // Again: nothing changes.
    await runUp(new ModerationLogOutcomeCheck1765332000000());
    expect(await t.sql(`SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'moderation_log_outcome_check'`)).toEqual([{ n: 1 }]);
  });

  it('indexes the notices of a post and the removal notices of one, concurrently, and movePosts’ rewrite of them reads those indexes, not the table (migration 1765227600000)', async () => {
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const member = await makeUser(t);
    const topic = await createTopic(t, member.token, board);
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push((await reply(t, member.token, topic.id, `Reply ${i}`)).id);
    const posts = [topic.firstPostId, ...replies];
    // 20,000 notices, as a community's table holds them: most name no post, some a post, a few a removed one.
    await t.sql(
      `INSERT INTO notifications (id, user_id, kind, topic_id, post_id, removed_post_id, data, source)
       SELECT gen_random_uuid(), $1,
              CASE WHEN i % 10 = 0 THEN 'WATCHED_REPLY' WHEN i % 97 = 1 THEN 'POST_REMOVED' ELSE 'GROUP_MENTION' END,
              CASE WHEN i % 10 = 0 OR i % 97 = 1 THEN $2::uuid END,
              CASE WHEN i % 10 = 0 THEN ($3::uuid[])[1 + i % cardinality($3::uuid[])] END,
              CASE WHEN i % 97 = 1 THEN ($3::uuid[])[1 + i % cardinality($3::uuid[])] END,
              '{}', 'seeded:' || i
         FROM generate_series(1, 20000) AS i`,
      [member.id, topic.id, posts],
    );
    await t.sql(`ANALYZE notifications`);
    const indexes = () =>
      t.sql(
        `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE c.relname IN ('notifications_post_id_idx', 'notifications_removed_post_id_idx') ORDER BY 1`,
      );
    /** How the planner reads notifications for moving two replies: the access paths on it, and the indexes they use. */
    const plan = async () => {
      const [{ 'QUERY PLAN': json }] = await t.sql(`EXPLAIN (FORMAT JSON) ${MOVED_POSTS_NOTIFICATIONS}`, [replies.slice(0, 2)]);
      const found = new Set<string>();
      const walk = (node: Record<string, unknown>) => {
        if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'notifications') found.add('Seq Scan');
        if (String(node['Index Name'] ?? '').startsWith('notifications')) found.add(`${node['Node Type']} ${node['Index Name']}`);
        for (const child of (node.Plans as Array<Record<string, unknown>>) ?? []) walk(child);
      };
      walk(json[0].Plan);
      return [...found].sort();
    };
    // Before it: the whole table read.
    await undo(backTo('NotificationsPostIndexes1765227600000'));
    expect(await indexes()).toEqual([]);
    expect(await plan()).toEqual(['Seq Scan']);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('NotificationsPostIndexes1765227600000'));
    expect(await indexes()).toEqual([
      { name: 'notifications_post_id_idx', valid: true },
      { name: 'notifications_removed_post_id_idx', valid: true },
    ]);
    expect(await plan()).toEqual(['Bitmap Index Scan notifications_post_id_idx', 'Bitmap Index Scan notifications_removed_post_id_idx']);
  }, 120_000);

  it('leaves each search document in one GIN index, its language’s, and gives the index of every language back when undone (migration 1765238400000)', async () => {
    const tsvIndexes = () =>
      t.sql(
        `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = 'search_documents'::regclass AND c.relname LIKE 'search\\_documents\\_tsv\\_%' ORDER BY c.relname COLLATE "C"`,
      );
    const perLanguage = ['en', 'fr', 'simple'].map((l) => ({ name: `search_documents_tsv_${l}_idx`, valid: true }));
    expect(await tsvIndexes()).toEqual(perLanguage);
    await undo(backTo('SearchDocumentsTsvIdxTidy1765238400000'));
    expect(await tsvIndexes()).toEqual([...perLanguage, { name: 'search_documents_tsv_idx', valid: true }].sort((a, b) => (a.name < b.name ? -1 : 1)));
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('SearchDocumentsTsvIdxTidy1765238400000'));
    expect(await tsvIndexes()).toEqual(perLanguage);
  }, 120_000);

  it('builds the typo-key indexes again over an invalid one a failed concurrent build left, and drops the former ones only then', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    await undo(backTo('SearchTermsTypoKeysFirstLetter1765134000000'));
    await t.sql(`INSERT INTO search_terms (term, space_id) VALUES ('kaboom', $1) ON CONFLICT DO NOTHING`, [space.id]);
    // A run that failed midway: its function there, and the first index's concurrent build failed
    // on a row (here a function that throws for one word), leaving the index INVALID.
    await t.sql(`
      CREATE FUNCTION parvis_typo_keys_v2(word text, deletions int) RETURNS text[] LANGUAGE plpgsql IMMUTABLE STRICT AS $$
      BEGIN
        IF word = 'kaboom' THEN RAISE EXCEPTION 'the build fails here'; END IF;
        RETURN ARRAY[word];
      END $$`);
    await expect(
      t.sql(`CREATE INDEX CONCURRENTLY search_terms_typo_keys_v2_idx ON search_terms USING gin (parvis_typo_keys_v2(term, CASE WHEN char_length(term) >= 7 THEN 2 ELSE 1 END))`),
    ).rejects.toThrow('the build fails here');
    const indexes = () =>
      t.sql(
        `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE c.relname ~ '^search_terms(_moderated)?_(typo_keys|typo_keys_v2|trgm)_idx$' ORDER BY 1`,
      );
    expect(await indexes()).toEqual([
      { name: 'search_terms_moderated_typo_keys_idx', valid: true },
      { name: 'search_terms_typo_keys_idx', valid: true },
      { name: 'search_terms_typo_keys_v2_idx', valid: false },
    ]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('SearchTermsTypoKeysFirstLetter1765134000000'));
    expect(await indexes()).toEqual([
      { name: 'search_terms_moderated_typo_keys_v2_idx', valid: true },
      { name: 'search_terms_typo_keys_v2_idx', valid: true },
    ]);
    // Built with the migration's function, which replaced the one that failed.
    expect(await t.sql(`SELECT parvis_typo_keys_v2('kaboom', 1) AS keys`)).toEqual([{ keys: ['kabom', 'kaboo', 'kaboom', 'kaoom', 'kboom'] }]);
    // Undone (concurrently, outside a transaction) and applied again, to the same indexes.
    await undo(backTo('SearchTermsTypoKeysFirstLetter1765134000000'));
    expect(await indexes()).toEqual([
      { name: 'search_terms_moderated_typo_keys_idx', valid: true },
      { name: 'search_terms_typo_keys_idx', valid: true },
    ]);
    await migrateDatabase(t.db.url);
    // And by a test's redoMigration, on a runner of its own outside any transaction; the
    // migration before it too (search-terms-typo-keys, trigrams to typo keys), which builds the
    // former indexes and drops the trigram ones the same way. The one after them
    // (search-terms-typo-keys-tidy) undone first: it gives back the former function,
    // which the first one's down builds its indexes with.
    await redoMigration(t, new SearchTermsTypoKeys1765083600000(), new SearchTermsTypoKeysFirstLetter1765134000000(), new SearchTermsTypoKeysTidy1765148400000());
    expect(await indexes()).toEqual([
      { name: 'search_terms_moderated_typo_keys_v2_idx', valid: true },
      { name: 'search_terms_typo_keys_v2_idx', valid: true },
    ]);
  });

  it('drops the former typo-key function, and gives it back as search-terms-typo-keys made it when undone', async () => {
    const former = async () =>
      (await t.sql(`SELECT pg_get_functiondef(p) AS def FROM to_regprocedure('parvis_typo_keys(text, int)') AS p WHERE p IS NOT NULL`)).map((r) => r.def as string);
    expect(await former()).toEqual([]);
    await undo(backTo('SearchTermsTypoKeysTidy1765148400000'));
    const [given] = await former();
    // Its keys, any of the 7 letters deleted (the first too, which the v2 keys keep).
    expect(await t.sql(`SELECT parvis_typo_keys('kaboom', 1) AS keys`)).toEqual([{ keys: ['aboom', 'kabom', 'kaboo', 'kaboom', 'kaoom', 'kboom'] }]);
    // The very function search-terms-typo-keys creates: that migration (and the one after it,
    // whose down builds the former indexes with this function) undone and run again.
    await redoMigration(t, new SearchTermsTypoKeys1765083600000(), new SearchTermsTypoKeysFirstLetter1765134000000());
    expect(await former()).toEqual([given]);
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('SearchTermsTypoKeysTidy1765148400000'));
    expect(await former()).toEqual([]);
    // The typo keys the engine looks words up with are there still, with their indexes.
    expect(await t.sql(`SELECT parvis_typo_keys_v2('kaboom', 1) AS keys`)).toEqual([{ keys: ['kabom', 'kaboo', 'kaboom', 'kaoom', 'kboom'] }]);
    expect(await t.sql(`SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indisvalid AND c.relname ~ '^search_terms(_moderated)?_typo_keys' ORDER BY 1`)).toEqual([
      { name: 'search_terms_moderated_typo_keys_v2_idx' },
      { name: 'search_terms_typo_keys_v2_idx' },
    ]);
  });

  it('writes new words straight into the typo-key indexes, with no pending list for each lookup to read, and flushes what was pending', async () => {
    const indexes = ['search_terms_moderated_typo_keys_v2_idx', 'search_terms_typo_keys_v2_idx'];
    const options = async () => (await t.sql(`SELECT reloptions AS options FROM pg_class WHERE relname = ANY($1) ORDER BY relname`, [indexes])).map((r) => r.options);
    // How many pages of new words were pending (gin_clean_pending_list moves them into the index).
    const pending = async () => (await t.sql(`SELECT gin_clean_pending_list(i::regclass)::int AS n FROM unnest($1::text[]) AS i ORDER BY i`, [indexes])).map((r) => r.n as number);
    const space = await makeSpace(t, 'PUBLIC');
    const write = async (term: string) => {
      for (const table of ['search_terms', 'search_terms_moderated']) await t.sql(`INSERT INTO ${table} (term, space_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [term, space.id]);
    };
    expect(await options()).toEqual([['fastupdate=off'], ['fastupdate=off']]);
    await write('zephyrloom');
    expect(await pending()).toEqual([0, 0]);
    // Undone: new words go to the pending list again.
    await undo(backTo('SearchTermsTypoKeysTidy1765148400000'));
    expect(await options()).toEqual([null, null]);
    await write('zephyrloomed');
    expect(await pending()).toEqual([1, 1]);
    // Applied over a pending list: flushed.
    await write('zephyrlooming');
    expect(await migrateDatabase(t.db.url)).toEqual(fromOn('SearchTermsTypoKeysTidy1765148400000'));
    expect(await pending()).toEqual([0, 0]);
    expect(await options()).toEqual([['fastupdate=off'], ['fastupdate=off']]);
  });

  it('sets the typo-key indexes one at a time, holding neither while it waits for the other, and gives way to the statements queued behind its wait', async () => {
    await undo(backTo('SearchTermsTypoKeysTidy1765148400000'));
    const options = async (name: string) => (await t.sql(`SELECT reloptions AS options FROM pg_class WHERE relname = $1`, [name]))[0].options;
    // A statement on the moderated vocabulary under way: its transaction holds the table's indexes (AccessShareLock).
    const reader = t.ds.createQueryRunner();
    await reader.startTransaction();
    await reader.query(`SELECT count(*) FROM search_terms_moderated WHERE term = 'zephyr'`);
    expect(await locks('search_terms_moderated_typo_keys_v2_idx')).toEqual(['AccessShareLock held']);
    const run = migrateDatabase(t.db.url);
    try {
      // The run waits for it on that vocabulary's index (seen during one of its waits: between
      // them, it waits for none)...
      expect(await exclusiveWaitSeen('search_terms_moderated_typo_keys_v2_idx')).toContain('AccessExclusiveLock waited');
      // ...with the other vocabulary's index set already, committed, and its lock let go: its
      // searches and writes go on (in one transaction, that index stayed locked through the wait).
      expect(await options('search_terms_typo_keys_v2_idx')).toEqual(['fastupdate=off']);
      expect(await locks('search_terms_typo_keys_v2_idx')).not.toContain('AccessExclusiveLock held');
      // A statement on the moderated vocabulary queued behind the run's wait is not held there
      // until the reader ends: the run gives its wait up (lock_timeout) and asks again later.
      expect(await t.sql(`SELECT count(*)::int AS n FROM search_terms_moderated WHERE term = 'zephyr'`)).toEqual([{ n: 0 }]);
      expect(await options('search_terms_moderated_typo_keys_v2_idx')).toBeNull();
    } finally {
      await reader.rollbackTransaction();
      await reader.release();
    }
    expect(await run).toEqual(fromOn('SearchTermsTypoKeysTidy1765148400000'));
    expect(await options('search_terms_moderated_typo_keys_v2_idx')).toEqual(['fastupdate=off']);
    expect(await options('search_terms_typo_keys_v2_idx')).toEqual(['fastupdate=off']);
  });

  it('refuses every UPDATE and DELETE of the moderation log again (the outcome fill’s too) and any TRUNCATE of it or its head, and a space with entries is kept by its foreign key, swapped without rewriting the log and giving way to the reads of spaces queued behind its wait (migration 1765335600000)', async () => {
    const audit = t.get(AuditLog);
    const logged = await makeSpace(t, 'PUBLIC');
    await t.get(UnitOfWork).run((tx) => audit.append(tx, { actorId: null, action: 'test.entry', targetType: 'space', targetId: logged.id, spaceId: logged.id }));
    const unlogged = await makeSpace(t, 'PUBLIC');
    // 1765324800000's fill: an entry left without the outcome it says (no insert trigger), given it under the setting.
    const entry = newId();
    const fill = () =>
      tried(
        [`ALTER TABLE moderation_log DISABLE TRIGGER moderation_log_outcome_on_insert`],
        [`INSERT INTO moderation_log (entry_id, at, action, target_type, target_id, before, after, hash)
          VALUES ($1, now(), 'review.approve', 'post', $2, '{"state": "VISIBLE"}', '{"decision": "APPROVE", "action": "hidden", "outcome": "HIDDEN"}', 'x')`, [entry, newId()]],
        [`SELECT set_config($1, 'on', true)`, [OUTCOME_FILL_SETTING]],
        [`UPDATE moderation_log SET outcome = 'HIDDEN' WHERE entry_id = $1`, [entry]],
      );
    const deleteSpace = (id: string) => tried([`DELETE FROM spaces WHERE id = $1`, [id]]);
    const reference = () => t.sql(`SELECT confdeltype, convalidated FROM pg_constraint WHERE conname = 'moderation_log_space_id_fkey'`);

    await undo(backTo('ModerationLogSealed1765335600000'));
    expect(await fill()).toBe('done');
    expect(await tried([`TRUNCATE moderation_log`])).toBe('done');
    expect(await tried([`TRUNCATE moderation_log_head`])).toBe('done');
    // Deleting a space with entries failed on the trigger, refusing the SET NULL of their space_id.
    expect(await deleteSpace(logged.id)).toMatch(/moderation_log is append-only/);
    expect(await reference()).toEqual([{ confdeltype: 'n', convalidated: true }]);

    const file = async () => (await t.sql(`SELECT pg_relation_filenode('moderation_log')::text AS f`))[0].f as string;
    const stored = await file();
    // The swap of the reference waits for spaces (ACCESS EXCLUSIVE, its old triggers there), held by
    // a long transaction that read them; a read of spaces queued behind the wait is not held there
    // until that transaction ends.
    const run = migrateWhileRead('spaces', async () => {
      expect(await t.sql(`SELECT count(*)::int AS n FROM spaces WHERE id = $1`, [logged.id])).toEqual([{ n: 1 }]);
    });
    expect(await run).toEqual(fromOn('ModerationLogSealed1765335600000'));
    expect(await file()).toBe(stored);
    expect(await reference()).toEqual([{ confdeltype: 'r', convalidated: true }]);

    // The fill's exception is gone; UPDATE, DELETE and TRUNCATE are refused, a cascade's too.
    expect(await fill()).toMatch(/moderation_log is append-only/);
    expect(await tried([`UPDATE moderation_log SET reason = 'rewritten'`])).toMatch(/moderation_log is append-only/);
    expect(await tried([`DELETE FROM moderation_log`])).toMatch(/moderation_log is append-only/);
    expect(await tried([`TRUNCATE moderation_log`])).toMatch(/moderation_log is append-only/);
    // (Refused since; worded for the head itself since 1765398600000, which this run applies too.)
    expect(await tried([`TRUNCATE moderation_log_head`])).toMatch(/^moderation_log_head only moves forward$/);
    expect(await tried([`TRUNCATE spaces CASCADE`])).toMatch(/moderation_log is append-only/);
    expect(await tried([`TRUNCATE users CASCADE`])).toMatch(/moderation_log is append-only/);
    // A space with entries is refused by the reference, which says so; one without is deleted.
    // PostgreSQL 18 words a RESTRICT refusal as such ("violates RESTRICT setting of foreign key constraint"); 15 does not.
    expect(await deleteSpace(logged.id)).toMatch(/violates (RESTRICT setting of )?foreign key constraint "moderation_log_space_id_fkey" on table "moderation_log"/);
    expect(await deleteSpace(unlogged.id)).toBe('done');
    expect((await audit.verify()).ok).toBe(true);

    // Again: nothing changes.
    await runUp(new ModerationLogSealed1765335600000());
    expect(await reference()).toEqual([{ confdeltype: 'r', convalidated: true }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'moderation_log_space_id_fkey'`)).toEqual([{ n: 1 }]);
    // Undone: as 1765332000000 left it; done again.
    await undo(backTo('ModerationLogSealed1765335600000'));
    expect(await fill()).toBe('done');
    expect(await tried([`TRUNCATE moderation_log`])).toBe('done');
    expect(await reference()).toEqual([{ confdeltype: 'n', convalidated: true }]);
    await migrateDatabase(t.db.url);
    expect(await fill()).toMatch(/moderation_log is append-only/);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('names the table a refused TRUNCATE fires on: the head, which only moves forward, is not called the log, whose refusals read as before (migration 1765398600000)', async () => {
    const audit = t.get(AuditLog);
    await t.get(UnitOfWork).run((tx) => audit.append(tx, { actorId: null, action: 'test.entry', targetType: 'user', targetId: null, spaceId: null }));
    const refusal = (statement: string) => tried([statement]);
    const theLogs = async () => {
      const refusals: string[] = [];
      for (const statement of ['UPDATE moderation_log SET reason = reason', 'DELETE FROM moderation_log', 'TRUNCATE moderation_log', 'TRUNCATE spaces CASCADE']) refusals.push(await refusal(statement));
      return refusals;
    };
    const asBefore = ['moderation_log is append-only', 'moderation_log is append-only', 'moderation_log is append-only', 'moderation_log is append-only'];
    const body = async () => (await t.sql(`SELECT prosrc FROM pg_proc WHERE proname = 'moderation_log_append_only'`)).map((r) => r.prosrc as string);
    // The function as 1765335600000 leaves it, which the down restores to the letter.
    await undo(backTo('ModerationLogSealed1765335600000'));
    await runUp(new ModerationLogSealed1765335600000());
    const sealed = await body();
    await migrateDatabase(t.db.url);

    await undo(backTo('ModerationLogHeadTruncateNamed1765398600000'));
    expect(await body()).toEqual(sealed);
    expect(await refusal('TRUNCATE moderation_log_head')).toBe('moderation_log is append-only');
    expect(await theLogs()).toEqual(asBefore);
    await migrateDatabase(t.db.url);
    expect(await refusal('TRUNCATE moderation_log_head')).toBe('moderation_log_head only moves forward');
    expect(await theLogs()).toEqual(asBefore);
    // The head's row trigger, its own, words a step back alike.
    expect(await refusal('UPDATE moderation_log_head SET entries = entries - 1')).toBe('moderation_log_head only moves forward');
    // Again: nothing changes. Undone: as 1765335600000 left it; done again.
    await runUp(new ModerationLogHeadTruncateNamed1765398600000());
    expect(await refusal('TRUNCATE moderation_log_head')).toBe('moderation_log_head only moves forward');
    await undo(backTo('ModerationLogHeadTruncateNamed1765398600000'));
    expect(await body()).toEqual(sealed);
    expect(await refusal('TRUNCATE moderation_log_head')).toBe('moderation_log is append-only');
    await migrateDatabase(t.db.url);
    expect(await refusal('TRUNCATE moderation_log_head')).toBe('moderation_log_head only moves forward');
    expect((await audit.verify()).ok).toBe(true);
  });

  it('adds the news versions one table at a time, holding neither table while it waits for the other, and gives way to the reads of topics queued behind its wait', async () => {
    await undo(backTo('NewsVersions1765321200000'));
    const added = async (table: string) =>
      (
        await t.sql(
          `SELECT column_name AS name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1 AND column_name IN ('news', 'timers_version', 'timers_news') ORDER BY 1`,
          [table],
        )
      ).map((r) => r.name);
    expect([await added('polls'), await added('topics')]).toEqual([[], []]);
    // A long transaction that read topics holds the table until it ends: the run waits for it
    // (seen during one of its waits: between them, it waits for none)...
    const run = migrateWhileRead('topics', async () => {
      // ...with polls' column added already, committed, and its lock let go: votes and reads of
      // polls go on (in one transaction, polls stayed locked through the wait for topics).
      expect(await added('polls')).toEqual(['news']);
      expect(await locks('polls')).not.toContain('AccessExclusiveLock held');
      // A read of topics queued behind the run's wait is not held there until the long
      // transaction ends: the run gives its wait up (lock_timeout) and asks again later.
      expect(await t.sql(`SELECT count(*)::int AS n FROM topics WHERE id = '00000000-0000-0000-0000-000000000000'`)).toEqual([{ n: 0 }]);
      expect(await added('topics')).toEqual([]);
    });
    expect(await run).toEqual(fromOn('NewsVersions1765321200000'));
    expect(await added('topics')).toEqual(['timers_news', 'timers_version']);
  });

  it('leaves a typo-key index another process is building concurrently alone: a second run waits for the first, a runner outside the lock fails', async () => {
    // A write under way holds the first run's concurrent build at its wait for writers, its index still invalid.
    const { writer, first } = await typoKeysBuildUnderWay();
    // Another process migrating waits its turn (migrateDatabase's advisory lock) and then finds nothing pending.
    const second = migrateDatabase(t.db.url);
    // A runner that does not take that lock (a hand-run migration) is refused rather than drop the index under the build.
    const outside = t.ds.createQueryRunner();
    try {
      await expect(new SearchTermsTypoKeysFirstLetter1765134000000().up(outside)).rejects.toThrow('index search_terms_typo_keys_v2_idx is being built by another session');
    } finally {
      await outside.release();
    }
    await writer.rollbackTransaction();
    await writer.release();
    expect(await first).toEqual(fromOn('SearchTermsTypoKeysFirstLetter1765134000000'));
    expect(await second).toEqual([]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM migrations WHERE name = 'SearchTermsTypoKeysFirstLetter1765134000000'`)).toEqual([{ n: 1 }]);
    const valid = await t.sql(`SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname ~ '^search_terms(_moderated)?_typo_keys(_v2)?_idx$' ORDER BY 1`);
    expect(valid).toEqual([
      { name: 'search_terms_moderated_typo_keys_v2_idx', valid: true },
      { name: 'search_terms_typo_keys_v2_idx', valid: true },
    ]);
  });

  it('runs `parvis migrate` (the CLI) under the same lock: started while a node migrates, it waits its turn and finds nothing left', async () => {
    const root = path.join(__dirname, '../..');
    await buildDistOnce();
    // A node's run holds the lock, its concurrent index build kept waiting.
    const { writer, first: node } = await typoKeysBuildUnderWay();
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
      delete env.REDIS_URL;
      const cli = spawn(process.execPath, [path.join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
      cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
      // Both asking for the lock: the node's run (which has it) and the command's (which waits).
      const asking = async () =>
        (await t.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'SELECT pg_try_advisory_lock%'`))[0].n as number;
      while ((await asking()) < 2 && cli.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
      // Still waiting, nothing applied: a command outside the lock would have run the migration beside the build (and been refused).
      expect([cli.exitCode, out]).toEqual([null, '']);
      await writer.rollbackTransaction();
      expect(await node).toEqual(fromOn('SearchTermsTypoKeysFirstLetter1765134000000'));
      expect([await exited, out.trim()]).toEqual([0, 'The database schema is up to date.']);
    } finally {
      if (writer.isTransactionActive) await writer.rollbackTransaction();
      await writer.release();
      await node.catch(() => undefined);
    }
    expect(await t.sql(`SELECT count(*)::int AS n FROM migrations WHERE name = 'SearchTermsTypoKeysFirstLetter1765134000000'`)).toEqual([{ n: 1 }]);
  }, 180_000);
});

/** Packages a migration may import (package.json's), and Node's own modules. */
const PACKAGES = new Set(
  (({ dependencies, devDependencies }) => Object.keys({ ...dependencies, ...devDependencies }))(JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8'))),
);

/**
 * What `source` (the file `file`, a path under migrations/) imports from outside migrations/: every
 * specifier of an `import … from`, `export … from`, bare `import '…'`, `require(…)` or `import(…)`, in
 * any quotes, resolved against the file's folder, that leaves migrations/, or a bare one that names no
 * package (a path alias to the app, say).
 */
function outsideImports(file: string, source: string): string[] {
  // A statement's (at a line's start, up to its `from` with no string or `;` between: not SQL's FROM "table", not prose), or a call's.
  const specifier = /^\s*(?:(?:import|export)\b[^;'"`]*?\bfrom\s*|import\s*)(['"`])([^'"`\n]+)\1|\b(?:require|import)\s*\(\s*(['"`])([^'"`\n]+)\3/gm;
  const found: string[] = [];
  for (const m of source.matchAll(specifier)) {
    const spec = m[2] ?? m[4];
    if (spec.startsWith('.')) {
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (resolved === '..' || resolved.startsWith('../')) found.push(spec);
    } else if (!spec.startsWith('node:') && !PACKAGES.has(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])) {
      found.push(spec);
    }
  }
  return found;
}
