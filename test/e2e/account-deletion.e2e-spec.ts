import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { NotificationsHandler } from '../../libs/notifications/src/notifications.handler';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { EmailVerificationService } from '../../libs/identity/src/auth/email-verification';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { freshIp } from '../support/fresh-ip';
import { doneOrWaiting } from '../support/lock-waits';
import { holdLock, withLockHeld } from '../support/row-locks';
import { TableSnapshots } from '../support/refusals';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const DELETE = `mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) }`;
const ANONYMIZE = `mutation($id: ID!) { anonymizeUser(userId: $id) { id handle displayName role email } }`;
const SIGN_IN = `mutation($input: SignInInput!) { signIn(input: $input) { token } }`;
const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id handle } } }`;
const ME = `{ me { id } }`;
const TOPIC = `query($id: ID!) { topic(id: $id) { author { id handle displayName email emailVerified } posts { edges { node { author { id handle displayName } bodyHtml } } } } }`;
const NOTIFICATIONS = `{ notifications(first: 50) { edges { node { kind actor { id handle displayName email } } } } }`;
const LOG = `{ moderationLog(first: 50) { edges { node { action targetType targetId actor { id } before after reason } } } }`;

const PIN = `mutation($i: GlobalPinInput!) { setGlobalPin(input: $i) { id } }`;
const DISMISS_PIN = `mutation($id: ID!) { dismissPinnedTopic(topicId: $id) }`;

const PASSWORD = 'a long enough password';

/** Every table the anonymisation empties of the account's rows, and where the account is named. */
const CLEANED: Array<[string, string]> = [
  ['group_members', 'user_id = $1'],
  ['space_grants', 'user_id = $1'],
  ['user_ignores', 'user_id = $1 OR ignored_user_id = $1'],
  ['topic_watches', 'user_id = $1'],
  ['board_watches', 'user_id = $1'],
  ['tag_watches', 'user_id = $1'],
  ['email_preferences', 'user_id = $1'],
  ['notifications', 'user_id = $1'],
  ['topic_reads', 'user_id = $1'],
  ['user_visits', 'user_id = $1'],
  ['post_bookmarks', 'user_id = $1'],
  ['drafts', 'user_id = $1'],
  ['topic_pin_dismissals', 'user_id = $1'],
];
/** What stays: the community's content and the moderation history. */
const KEPT: Array<[string, string]> = [
  ['topics', 'author_id = $1'],
  ['posts', 'author_id = $1'],
  ['idea_votes', 'user_id = $1'],
  ['reactions', 'user_id = $1'],
  ['reports', 'reporter_id = $1'],
  ['notifications', 'actor_id = $1'],
  ['sanctions', 'user_id = $1'],
];

describe('account deletion and anonymisation', () => {
  let t: TestApp;
  let admin: TestUser;
  let other: TestUser;
  let space: { id: string; slug: string };
  let board: string;
  let ideaBoard: string;
  let seq = 0;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN' });
    other = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC');
    board = await makeBoard(t, space.id);
    ideaBoard = await makeBoard(t, space.id, 'IDEAS');
  });
  afterAll(() => t.close());

  const drain = () => t.get(OutboxWorker).drain();
  const count = async (table: string, where: string, id: string) => (await t.sql(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, [id]))[0].n as number;
  const counts = async (tables: Array<[string, string]>, id: string) => {
    const out: Record<string, number> = {};
    for (const [table, where] of tables) out[`${table} ${where}`] = await count(table, where, id);
    return out;
  };
  const userRow = async (id: string) =>
    (await t.sql(`SELECT handle, display_name, email, password_hash, email_verified_at, role, deleted_at, last_visit_on FROM users WHERE id = $1`, [id]))[0];
  const logSize = async () => (await t.sql(`SELECT count(*)::int AS n FROM moderation_log`))[0].n as number;
  const liveSessions = (id: string) => count('sessions', 'user_id = $1 AND revoked_at IS NULL', id);
  const signedIn = async (token: string) => expectOk(await t.gql(ME, {}, { token })).me?.id ?? null;
  const del = (u: TestUser, password: string) => t.gql(DELETE, { input: { password } }, { token: u.token, ip: freshIp() });
  /**
   * A write of the member's (`write`) held back on a lock the test holds (`hold`) while their
   * account is deleted: the deletion waits for the write or ends first. Answers the write's result.
   */
  const writtenWhileDeleting = async (u: TestUser, hold: string, params: unknown[], write: () => Promise<any>) => {
    const holder = await holdLock(t, hold, params);
    let written: Promise<any> | null = null;
    let deleted: Promise<unknown> | null = null;
    try {
      written = write();
      await holder.waiting(1);
      deleted = del(u, PASSWORD);
      await doneOrWaiting(t, deleted, 2, holder);
    } finally {
      await holder.release();
    }
    expectOk((await deleted) as any);
    return written;
  };
  /**
   * A request (`write`) made while the member's account is being deleted, the deletion holding
   * the account and waiting on one of its sessions (`session`, held by the test): the request
   * waits for the deletion or ends first. Answers the request's result.
   */
  const madeWhileDeletionWaits = async (u: TestUser, session: string, write: () => Promise<any>) => {
    const holder = await holdLock(t, `SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, [session]);
    let made: Promise<any> | null = null;
    let deleted: Promise<unknown> | null = null;
    try {
      deleted = del(u, PASSWORD);
      await holder.waiting(1);
      made = write();
      await doneOrWaiting(t, made, 2, holder);
    } finally {
      await holder.release();
    }
    expectOk((await deleted) as any);
    return made;
  };

  /** A member with a password and a bit of everything: content, votes, memberships, watches, news, ignores, a report, a bookmark, drafts (one posted since). */
  async function busyMember(role: 'MEMBER' | 'MODERATOR' | 'ADMIN' = 'MEMBER'): Promise<TestUser & { topicId: string; firstPostId: string; ideaId: string; otherTopicId: string }> {
    const group = await makeGroup(t);
    const u = await makeUser(t, { handle: `leaver${Date.now().toString(36).slice(-5)}${++seq}`, role, groups: [group], passwordHash: await hashPassword(PASSWORD) });
    const restricted = await makeSpace(t, 'RESTRICTED', [{ userId: u.id, level: 'PARTICIPATE' }]);
    expect(restricted.id).toBeTruthy();
    const topic = await createTopic(t, u.token, board, { title: `Leaving notes ${seq}`, body: `My own words about quernstones ${seq}, cc @${other.handle}`, tags: ['farewell'] });
    const idea = await createTopic(t, u.token, ideaBoard, { title: `An idea of mine ${seq}`, body: 'Worth doing' });
    const otherTopic = await createTopic(t, other.token, board, { title: `Another topic ${seq}`, body: 'Hello' });
    const otherIdea = await createTopic(t, other.token, ideaBoard, { title: `Their idea ${seq}`, body: 'Worth voting for' });
    expectOk(await t.gql(`mutation($id: ID!) { voteIdea(topicId: $id) { id } }`, { id: idea.id }, { token: other.token }));
    expectOk(await t.gql(`mutation($id: ID!) { voteIdea(topicId: $id) { id } }`, { id: otherIdea.id }, { token: u.token }));
    // u replies and reacts in other's topic, and reports it: other hears of u as the actor.
    const r = await reply(t, u.token, otherTopic.id, `Replying as ${u.handle}`);
    expect(r.id).toBeTruthy();
    expectOk(await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: otherTopic.firstPostId, kind: 'LIKE' } }, { token: u.token }));
    expectOk(await t.gql(`mutation($i: ReportInput!) { report(input: $i) { id } }`, { i: { targetType: 'POST', targetId: otherTopic.firstPostId, reason: 'OTHER', note: 'Looks off' } }, { token: u.token }));
    // Others reply to u: u hears of it.
    await reply(t, other.token, topic.id, 'A reply to you');
    expectOk(await t.gql(`mutation($i: WatchBoardInput!) { watchBoard(input: $i) { id } }`, { i: { boardId: board, level: 'WATCHING' } }, { token: u.token }));
    expectOk(await t.gql(`mutation($i: WatchInput!) { watchTopic(input: $i) { id } }`, { i: { topicId: otherTopic.id, level: 'WATCHING' } }, { token: u.token }));
    expectOk(await t.gql(`mutation($i: WatchTagInput!) { watchTag(input: $i) { tag } }`, { i: { tag: 'farewell', level: 'WATCHING' } }, { token: u.token }));
    await t.sql(`INSERT INTO email_preferences (user_id, kind, enabled) VALUES ($1, 'REACTIONS', false)`, [u.id]);
    expectOk(await t.gql(`mutation($i: MarkReadInput!) { markRead(input: $i) { id } }`, { i: { topicId: otherTopic.id, postNumber: 2 } }, { token: u.token }));
    expectOk(await t.gql(`mutation($i: BookmarkPostInput!) { bookmarkPost(input: $i) { id } }`, { i: { postId: otherTopic.firstPostId, note: `Ask ${other.handle} about it` } }, { token: u.token }));
    const draft = `mutation($i: SaveDraftInput!) { saveDraft(input: $i) { id } }`;
    expectOk(await t.gql(draft, { i: { target: { topicId: otherTopic.id }, sequence: 0, body: `Half a reply to ${other.handle}` } }, { token: u.token }));
    expectOk(await t.gql(draft, { i: { target: { boardId: board }, sequence: 0, title: 'Never posted', body: 'Some thoughts' } }, { token: u.token }));
    // An announcement they put away for themselves.
    expectOk(await t.gql(PIN, { i: { topicId: otherTopic.id, pinned: true } }, { token: admin.token }));
    expect(expectOk(await t.gql(DISMISS_PIN, { id: otherTopic.id }, { token: u.token })).dismissPinnedTopic).toBe(true);
    await drain();
    // Ignoring each other once the news above is delivered (news of an ignored member is left out of lists).
    await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2), ($2, $1)`, [u.id, other.id]);
    // Their sessions counted visits, which their row keeps the last of (users.last_visit_on).
    expect((await userRow(u.id)).last_visit_on).not.toBeNull();
    return { ...u, topicId: topic.id, firstPostId: topic.firstPostId, ideaId: idea.id, otherTopicId: otherTopic.id };
  }

  async function expectAnonymised(u: TestUser & { topicId: string }, before: Record<string, number>) {
    const row = await userRow(u.id);
    expect(row).toMatchObject({ display_name: 'Deleted user', email: null, password_hash: null, email_verified_at: null, role: 'MEMBER', last_visit_on: null });
    expect(row.handle).toMatch(/^deleted-[0-9a-f]{8}$/);
    expect(row.deleted_at).not.toBeNull();
    for (const [key, n] of Object.entries(await counts(CLEANED, u.id))) expect([key, n]).toEqual([key, 0]);
    expect(await counts(KEPT, u.id)).toEqual(before);
    expect(await liveSessions(u.id)).toBe(0);
    expect(await signedIn(u.token)).toBeNull();
    expect(await count('outbox', `type = 'user.anonymized' AND aggregate_id = $1`, u.id)).toBe(1);
    // Content stays, under the anonymised account; nothing shows the old handle, name or address.
    const topic = expectOk(await t.gql(TOPIC, { id: u.topicId }, { token: other.token })).topic;
    expect(topic.author).toEqual({ id: u.id, handle: row.handle, displayName: 'Deleted user', email: null, emailVerified: null });
    expect(topic.posts.edges[0].node.author).toEqual({ id: u.id, handle: row.handle, displayName: 'Deleted user' });
    // Mentions they wrote stay as they wrote them.
    expect(topic.posts.edges[0].node.bodyHtml).toContain(`@${other.handle}`);
    expect(JSON.stringify(topic)).not.toContain(u.handle);
    const news = expectOk(await t.gql(NOTIFICATIONS, {}, { token: other.token })).notifications.edges.map((e: any) => e.node);
    const fromThem = news.filter((n: any) => n.actor?.id === u.id);
    expect(fromThem.length).toBeGreaterThan(0);
    for (const n of fromThem) expect(n.actor).toEqual({ id: u.id, handle: row.handle, displayName: 'Deleted user', email: null });
    // The old handle names nobody.
    expectError(await t.gql(`query($h: String!) { user(handle: $h) { id } }`, { h: u.handle }), 'NOT_FOUND');
    return row;
  }

  it('deletes the signed-in member’s own account given its password, keeping their content', async () => {
    const u = await busyMember();
    const otherSession = await t.get(SessionsService).issue(u.id, {});
    const kept = await counts(KEPT, u.id);
    expect(Object.values(await counts(CLEANED, u.id)).every((n) => n > 0)).toBe(true);
    const res = await t.gql(DELETE, { input: { password: PASSWORD } }, { token: u.token, ip: freshIp() });
    expect(expectOk(res).deleteMyAccount).toBe(true);
    expect(String(res.headers['set-cookie'])).toMatch(/parvis_session=;/);
    await expectAnonymised(u, kept);
    expect(await signedIn(otherSession)).toBeNull();
    // Live connections of those sessions are closed through this event.
    expect(await count('outbox', `type = 'user.sessions_revoked' AND aggregate_id = $1`, u.id)).toBe(1);
    // A self-deletion is the owner's own act: nothing in the moderation log but its leaving its
    // group, logged as every membership change is, by the account's id.
    expect(await t.sql(`SELECT action, actor_id, reason FROM moderation_log WHERE target_id = $1`, [u.id])).toEqual([
      { action: 'group.member_remove', actor_id: u.id, reason: 'account deleted' },
    ]);
  });

  it('leaves sign-in, resets and new notifications to nobody, and frees the handle and address', async () => {
    const u = await busyMember();
    expectOk(await del(u, PASSWORD));
    for (const login of [u.email, u.handle, u.email.toUpperCase()]) {
      const err = expectError(await t.gql(SIGN_IN, { input: { login, password: PASSWORD } }, { ip: freshIp() }), 'UNAUTHENTICATED');
      expect(err.message).toBe('Wrong login or password');
    }
    expect(expectOk(await t.gql(`mutation($i: RequestPasswordResetInput!) { requestPasswordReset(input: $i) }`, { i: { email: u.email } }, { ip: freshIp() })).requestPasswordReset).toBe(true);
    expect(await count('outbox', `type = 'user.password_reset_requested' AND aggregate_id = $1`, u.id)).toBe(0);
    // Replies to their topic, votes on their idea: nobody is told any more.
    await reply(t, other.token, u.topicId, `Anyone there? @${(await userRow(u.id)).handle}`, u.firstPostId);
    await drain();
    expect(await count('notifications', 'user_id = $1', u.id)).toBe(0);
    // The handle and address are free again, for a new account of someone else.
    const fresh = expectOk(await t.gql(SIGN_UP, { input: { email: u.email, handle: u.handle, password: 'another long password' } }, { ip: freshIp() })).signUp;
    expect(fresh.user.handle).toBe(u.handle);
    expect(fresh.user.id).not.toBe(u.id);
    // Which does not inherit the old account's content.
    const topic = expectOk(await t.gql(TOPIC, { id: u.topicId }, { token: other.token })).topic;
    expect(topic.author.id).toBe(u.id);
    expect(topic.author.handle).toMatch(/^deleted-/);
  });

  /**
   * A session of the account used while its deletion runs: the request read it live, and its
   * touch counts a visit. One touched before the deletion revokes it is emptied with the other
   * visits; one that waited for the revocation writes nothing (the session is revoked by then).
   */
  it('leaves no visit of the account behind when one of its sessions is used while the deletion waits for another', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const sessionIds = async () => (await t.sql(`SELECT id FROM sessions WHERE user_id = $1`, [u.id])).map((r) => r.id as string);
    const [first] = await sessionIds();
    const signIn = async () => expectOk(await t.gql(SIGN_IN, { input: { login: u.handle, password: PASSWORD } }, { ip: freshIp() })).signIn.token as string;
    await signIn();
    const [held] = (await sessionIds()).filter((id) => id !== first);
    const used = await signIn();
    // Due for its touch, which counts the day's visit.
    await t.sql(`UPDATE sessions SET last_used_at = now() - interval '1 hour' WHERE user_id = $1 AND id <> ALL($2::uuid[])`, [u.id, [first, held]]);
    await t.sql(`DELETE FROM user_visits WHERE user_id = $1`, [u.id]);
    // The request reads its session live (the deletion is not committed) and touches it, or waits for its revocation.
    await madeWhileDeletionWaits(u, held, () => t.gql(ME, {}, { token: used }));
    expect(await signedIn(used)).toBeNull();
    expect([await count('user_visits', 'user_id = $1', u.id), (await userRow(u.id)).last_visit_on]).toEqual([0, null]);
  });

  /**
   * A read mark written as the account is deleted: its request read the session live, and its
   * insert waits (here on the topic, held) while the deletion runs. The mark holds the account
   * (FOR SHARE) before it writes, so the deletion waits for it and takes the mark with the rest.
   */
  it('leaves no read mark of the account behind when one is written while the deletion runs', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const theirs = await createTopic(t, other.token, board, { title: `Read while leaving ${++seq}`, body: 'Hello' });
    const MARK = `mutation($i: MarkReadInput!) { markRead(input: $i) { id } }`;
    const marked = await writtenWhileDeleting(u, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [theirs.id], () =>
      t.gql(MARK, { i: { topicId: theirs.id, postNumber: 1 } }, { token: u.token }),
    );
    expect(marked.errors ?? []).toEqual([]);
    expect((await userRow(u.id)).deleted_at).not.toBeNull();
    expect(await count('topic_reads', 'user_id = $1', u.id)).toBe(0);
    // Once deleted, its session is gone: a mark is refused and writes nothing.
    expectError(await t.gql(MARK, { i: { topicId: theirs.id, postNumber: 1 } }, { token: u.token }), 'UNAUTHENTICATED');
    expect(await count('topic_reads', 'user_id = $1', u.id)).toBe(0);
  });

  /**
   * Watches written as the account is deleted, held back on what they need past the account
   * (the topic, the board, the member's tag-watch lock): each holds the account first, so the
   * deletion waits for it and takes the watch with the rest.
   */
  it('leaves no watch of the account behind when one is set while the deletion runs', async () => {
    const theirs = await createTopic(t, other.token, board, { title: `Watched while leaving ${++seq}`, body: 'Hello' });
    const races: Array<[string, string, (u: TestUser) => unknown[], string, unknown]> = [
      ['topic_watches', `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, () => [theirs.id], `mutation($i: WatchInput!) { watchTopic(input: $i) { id } }`, { topicId: theirs.id, level: 'WATCHING' }],
      ['board_watches', `SELECT 1 FROM boards WHERE id = $1 FOR UPDATE`, () => [board], `mutation($i: WatchBoardInput!) { watchBoard(input: $i) { id } }`, { boardId: board, level: 'WATCHING' }],
      ['tag_watches', `SELECT pg_advisory_xact_lock(hashtextextended('parvis:tag-watches:' || $1::text, 0))`, (u) => [u.id], `mutation($i: WatchTagInput!) { watchTag(input: $i) { tag } }`, { tag: 'farewell', level: 'WATCHING' }],
    ];
    for (const [table, hold, params, mutation, input] of races) {
      const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
      await writtenWhileDeleting(u, hold, params(u), () => t.gql(mutation, { i: input }, { token: u.token }));
      expect([table, await count(table, 'user_id = $1', u.id)]).toEqual([table, 0]);
    }
  });

  it('leaves no watch of the account behind when its last post is delivered after the deletion', async () => {
    const u = await makeUser(t);
    const theirs = await createTopic(t, other.token, board, { title: `Replied then left ${++seq}`, body: 'Hello' });
    await drain();
    await reply(t, u.token, theirs.id, 'A last word');
    expectOk(await t.gql(ANONYMIZE, { id: u.id }, { token: admin.token }));
    await drain();
    expect(await count('topic_watches', 'user_id = $1', u.id)).toBe(0);
  });

  /**
   * A topic or a reply written as its author's account is deleted, held back on its board or
   * topic: the read mark its author gets on it is not left behind (the post either came first and
   * stays, its mark going with the account, or found the account gone and was not written).
   */
  it('leaves no read mark of the account behind when it posts while the deletion runs', async () => {
    const theirs = await createTopic(t, other.token, board, { title: `Replied while leaving ${++seq}`, body: 'Hello' });
    const races: Array<[string, string, string, string, unknown]> = [
      ['a topic', `SELECT 1 FROM boards WHERE id = $1 FOR UPDATE`, board, `mutation($i: CreateTopicInput!) { createTopic(input: $i) { id } }`, { boardId: board, title: `Posted while leaving ${seq}`, body: 'Goodbye' }],
      ['a reply', `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, theirs.id, `mutation($i: ReplyInput!) { replyToTopic(input: $i) { id } }`, { topicId: theirs.id, body: 'A last word' }],
    ];
    for (const [what, hold, id, mutation, input] of races) {
      const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
      const posted = await writtenWhileDeleting(u, hold, [id], () => t.gql(mutation, { i: input }, { token: u.token }));
      if (posted.errors) expectError(posted, 'UNAUTHENTICATED');
      expect([what, await count('topic_reads', 'user_id = $1', u.id)]).toEqual([what, 0]);
    }
  });

  /**
   * A space grant given to the account as it is deleted, held back on its space (the grant's
   * foreign key): it holds the account, so the deletion waits and takes it, or came first and the
   * grant is NOT_FOUND. Either way no grant of the account is left, for the space's admins to see.
   */
  it('leaves no space grant of the account behind when one is given while the deletion runs', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const restricted = await makeSpace(t, 'RESTRICTED');
    const granted = await writtenWhileDeleting(u, `SELECT 1 FROM spaces WHERE id = $1 FOR UPDATE`, [restricted.id], () =>
      t.gql(`mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`, { input: { spaceId: restricted.id, userId: u.id, level: 'READ' } }, { token: admin.token }),
    );
    if (granted.errors) expectError(granted, 'NOT_FOUND');
    expect(await count('space_grants', 'user_id = $1', u.id)).toBe(0);
  });

  /** An announcement dismissed as the account is deleted, held back on its topic: the dismissal holds the account, so the deletion takes it. */
  it('leaves no dismissed announcement of the account behind when one is dismissed while the deletion runs', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const theirs = await createTopic(t, other.token, board, { title: `Dismissed while leaving ${++seq}`, body: 'Hello' });
    expectOk(await t.gql(PIN, { i: { topicId: theirs.id, pinned: true } }, { token: admin.token }));
    await writtenWhileDeleting(u, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [theirs.id], () => t.gql(DISMISS_PIN, { id: theirs.id }, { token: u.token }));
    expect(await count('topic_pin_dismissals', 'user_id = $1', u.id)).toBe(0);
  });

  /**
   * An idea merged while one of its watchers' account is deleted: the merge gives the source's
   * watchers a watch of the target, and waits (here for its log entry, on its space) before it
   * commits. The watches it copies hold their accounts, so the deletion waits and takes the copy.
   */
  it('leaves no watch of the account behind when an idea it watches is merged while the deletion runs', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const ideas = await makeSpace(t, 'PUBLIC');
    const ideasBoard = await makeBoard(t, ideas.id, 'IDEAS');
    const source = await createTopic(t, other.token, ideasBoard, { title: `Merged while leaving ${++seq}`, body: 'A duplicate' });
    const target = await createTopic(t, other.token, ideasBoard, { title: `Kept while leaving ${seq}`, body: 'The original' });
    expectOk(await t.gql(`mutation($i: WatchInput!) { watchTopic(input: $i) { id } }`, { i: { topicId: source.id, level: 'WATCHING' } }, { token: u.token }));
    const MERGE = `mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`;
    const merging = withLockHeld(t, `SELECT 1 FROM spaces WHERE id = $1 FOR UPDATE`, [ideas.id], async (holder) => {
      const merged = t.gql(MERGE, { input: { sourceId: source.id, targetId: target.id } }, { token: admin.token });
      await holder.waiting(1);
      const deleted = del(u, PASSWORD);
      await doneOrWaiting(t, deleted, 2, holder);
      return { merged, deleted };
    });
    const { merged, deleted } = await merging;
    expectOk((await deleted) as any);
    expectOk(await merged);
    expect(await count('topic_watches', 'user_id = $1', u.id)).toBe(0);
  });

  /**
   * News delivered to the account as it is deleted: the delivery found it a recipient, and its
   * insert waits (here on the topic, its foreign key) while the deletion runs. The insert holds
   * the recipients' accounts, so the deletion waits and takes the notification with the rest.
   */
  it('leaves no notification of the account behind when one is delivered while the deletion runs', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const theirs = await createTopic(t, other.token, board, { title: `Told while leaving ${++seq}`, body: `Hello @${u.handle}` });
    await drain();
    await t.sql(`DELETE FROM notifications WHERE user_id = $1`, [u.id]);
    const news = { userId: u.id, kind: 'MENTION', topicId: theirs.id, postId: theirs.firstPostId, actorId: other.id, source: `race:${theirs.id}` };
    await writtenWhileDeleting(u, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [theirs.id], () => t.get(NotificationsHandler).deliver([news]));
    expect(await count('notifications', 'user_id = $1', u.id)).toBe(0);
  });

  /** An ignore set while the deletion holds the account (waiting here on another session's row) waits for it, and finds the account gone. */
  it('leaves no ignore of the account behind when one is set while the deletion runs', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const [held] = (await t.sql(`SELECT id FROM sessions WHERE user_id = $1`, [u.id])).map((r) => r.id as string);
    const used = expectOk(await t.gql(SIGN_IN, { input: { login: u.handle, password: PASSWORD } }, { ip: freshIp() })).signIn.token as string;
    const ignored = await madeWhileDeletionWaits(u, held, () => t.gql(`mutation($id: ID!) { ignoreUser(userId: $id) { id } }`, { id: other.id }, { token: used }));
    expectError(ignored, 'UNAUTHENTICATED');
    expect(await count('user_ignores', 'user_id = $1 OR ignored_user_id = $1', u.id)).toBe(0);
  });

  /**
   * An ignore of the account set while it is deleted, held back on the ignoring member's own row
   * (which it locks for its cap): it holds the ignored account too, so the deletion waits and
   * takes the ignore, or came first and the ignore is NOT_FOUND. Both orders of the two accounts' ids.
   */
  it('leaves no ignore of the account behind when someone ignores it while the deletion runs', async () => {
    for (const leaverFirst of [true, false]) {
      // Ids are time-ordered: the account made first has the lower id.
      const made = [await makeUser(t, { passwordHash: await hashPassword(PASSWORD) }), await makeUser(t, { passwordHash: await hashPassword(PASSWORD) })];
      const [u, me] = leaverFirst ? made : [made[1], made[0]];
      expect(u.id < me.id).toBe(leaverFirst);
      const ignored = await writtenWhileDeleting(u, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [me.id], () =>
        t.gql(`mutation($id: ID!) { ignoreUser(userId: $id) { id } }`, { id: u.id }, { token: me.token }),
      );
      if (ignored.errors) expectError(ignored, 'NOT_FOUND');
      expect([leaverFirst, await count('user_ignores', 'ignored_user_id = $1', u.id)]).toEqual([leaverFirst, 0]);
    }
  });

  /**
   * An address confirmation link opened as the account is deleted: its check read the address
   * before the deletion committed, and its write waited for the account (held by the deletion,
   * which waits here on one of its sessions). It finds the account deleted and confirms nothing.
   */
  it('confirms no address of the account when a confirmation link is opened while the deletion runs', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD), emailUnverified: true });
    const token = await t.get(EmailVerificationService).token({ id: u.id, email: u.email });
    const [held] = (await t.sql(`SELECT id FROM sessions WHERE user_id = $1`, [u.id])).map((r) => r.id as string);
    const verified = await madeWhileDeletionWaits(u, held, () => t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token } }));
    expectError(verified, 'BAD_USER_INPUT');
    expect((await userRow(u.id)).email_verified_at).toBeNull();
  });

  /**
   * The e-mail digest run while the account is deleted, with news of the account due: the
   * deletion holds the account (waiting here on one of its sessions) and is to delete that news.
   * The digest leaves a member whose account is held alone, for a later run, rather than claim
   * their news and then wait for their account, which the deletion would wait for in turn.
   */
  it('lets the e-mail digest run while the deletion runs, both ending, and nothing mailed to the account', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    await createTopic(t, other.token, board, { title: `Mailed while leaving ${++seq}`, body: `Hello @${u.handle}` });
    await drain();
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [u.id]);
    expect(await count('notifications', 'user_id = $1 AND emailed_at IS NULL', u.id)).toBeGreaterThan(0);
    const [held] = (await t.sql(`SELECT id FROM sessions WHERE user_id = $1`, [u.id])).map((r) => r.id as string);
    const mailed: Array<{ to: string }> = await madeWhileDeletionWaits(u, held, () => t.get(EmailDigest).sendDue());
    expect(mailed.filter((m) => m.to === u.email)).toEqual([]);
    expect(await count('notifications', 'user_id = $1', u.id)).toBe(0);
  });

  it('refuses a wrong password as sign-in does, counts it, and writes nothing else', async () => {
    const u = await busyMember();
    const row = await userRow(u.id);
    const before = { ...(await counts(CLEANED, u.id)), ...(await counts(KEPT, u.id)), sessions: await liveSessions(u.id) };
    const err = expectError(await del(u, 'not the password at all'), 'UNAUTHENTICATED');
    expect(err.message).toBe('Wrong password');
    expect(await userRow(u.id)).toEqual(row);
    expect({ ...(await counts(CLEANED, u.id)), ...(await counts(KEPT, u.id)), sessions: await liveSessions(u.id) }).toEqual(before);
    expect(await signedIn(u.token)).toBe(u.id);
    expect(await count('outbox', `type = 'user.anonymized' AND aggregate_id = $1`, u.id)).toBe(0);
    // Counted as a failed sign-in of the account: with signIn's, five in all, then the right password too is refused.
    expect(await count('rate_events', `bucket = 'signin:login' AND key = 'user:' || $1`, u.id)).toBe(1);
    expectError(await t.gql(SIGN_IN, { input: { login: u.handle, password: 'wrong again, by sign-in' } }, { ip: freshIp() }), 'UNAUTHENTICATED');
    for (let i = 0; i < 3; i++) expectError(await del(u, `wrong guess ${i}`), 'UNAUTHENTICATED');
    const limited = expectError(await del(u, PASSWORD), 'RATE_LIMITED');
    expect(limited.extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(await userRow(u.id)).toEqual(row);
    expect(await signedIn(u.token)).toBe(u.id);
  });

  it('limits wrong passwords per account to five an hour, whoever clears the sign-in failures', async () => {
    const u = await busyMember();
    for (let i = 0; i < 5; i++) {
      expectError(await del(u, `wrong guess ${i}`), 'UNAUTHENTICATED');
      // A successful sign-in clears the sign-in failures, not the deletion attempts.
      await t.sql(`DELETE FROM rate_events WHERE bucket = 'signin:login'`);
    }
    expectError(await del(u, PASSWORD), 'RATE_LIMITED');
    expect((await userRow(u.id)).deleted_at).toBeNull();
  });

  it('refuses moderators and admins, before counting anything, and without writing', async () => {
    for (const role of ['MODERATOR', 'ADMIN'] as const) {
      const u = await busyMember(role);
      const row = await userRow(u.id);
      const limits = await t.sql(`SELECT * FROM rate_events ORDER BY id`);
      const err = expectError(await del(u, PASSWORD), 'FORBIDDEN');
      expect(err.message).toMatch(/admin must make you a member first/);
      expect(await userRow(u.id)).toEqual(row);
      expect(await t.sql(`SELECT * FROM rate_events ORDER BY id`)).toEqual(limits);
      expect(await signedIn(u.token)).toBe(u.id);
    }
  });

  it('refuses a signed-in account without a password as FORBIDDEN (it is signed in), counting nothing and writing nothing', async () => {
    // No sign-in opens such a session; the factory's does. Staff are refused as staff first.
    for (const role of ['MEMBER', 'MODERATOR'] as const) {
      const u = await makeUser(t, { role });
      const row = await userRow(u.id);
      const limits = await t.sql(`SELECT * FROM rate_events ORDER BY id`);
      const err = expectError(await del(u, PASSWORD), 'FORBIDDEN');
      expect(err.message).toMatch(role === 'MEMBER' ? /has no password/ : /admin must make you a member first/);
      expect(await userRow(u.id)).toEqual(row);
      expect(await t.sql(`SELECT * FROM rate_events ORDER BY id`)).toEqual(limits);
      expect(await signedIn(u.token)).toBe(u.id);
    }
  });

  it('validates the input and asks for a session', async () => {
    const u = await busyMember();
    expectError(await t.gql(DELETE, { input: { password: PASSWORD } }, { ip: freshIp() }), 'UNAUTHENTICATED');
    expectError(await del(u, ''), 'BAD_USER_INPUT');
    expect((await userRow(u.id)).deleted_at).toBeNull();
  });

  it('lets an admin anonymise a member, logged by the account’s id alone; again is CONFLICT', async () => {
    const u = await busyMember();
    const kept = await counts(KEPT, u.id);
    const res = expectOk(await t.gql(ANONYMIZE, { id: u.id }, { token: admin.token })).anonymizeUser;
    expect(res).toMatchObject({ id: u.id, displayName: 'Deleted user', role: 'MEMBER', email: null });
    const row = await expectAnonymised(u, kept);
    expect(res.handle).toBe(row.handle);
    const entries = expectOk(await t.gql(LOG, {}, { token: admin.token })).moderationLog.edges.map((e: any) => e.node).filter((e: any) => e.targetId === u.id);
    expect(entries).toEqual([
      { action: 'user.anonymize', targetType: 'user', targetId: u.id, actor: { id: admin.id }, before: null, after: null, reason: null },
      { action: 'group.member_remove', targetType: 'user', targetId: u.id, actor: { id: admin.id }, before: null, after: expect.stringMatching(/^\{"groupId":"[0-9a-f-]{36}"\}$/), reason: 'account deleted' },
    ]);
    const stored = await t.sql(`SELECT to_jsonb(l) AS j FROM moderation_log l WHERE target_id = $1`, [u.id]);
    for (const secret of [u.handle, u.email, 'leaver']) expect(JSON.stringify(stored)).not.toContain(secret);
    // Once is enough: a second anonymisation is refused and writes nothing.
    const logged = await logSize();
    expectError(await t.gql(ANONYMIZE, { id: u.id }, { token: admin.token }), 'CONFLICT');
    expect(await logSize()).toBe(logged);
    expect(await userRow(u.id)).toEqual(row);
  });

  it('takes a moderator’s role with their account, and logs the role it took', async () => {
    const u = await busyMember('MODERATOR');
    expect(expectOk(await t.gql(ANONYMIZE, { id: u.id }, { token: admin.token })).anonymizeUser.role).toBe('MEMBER');
    const [entry] = await t.sql(`SELECT action, before, after FROM moderation_log WHERE target_id = $1 AND action = 'user.anonymize'`, [u.id]);
    expect(entry).toEqual({ action: 'user.anonymize', before: { role: 'MODERATOR' }, after: null });
  });

  it('takes the account out of its groups as any removal does: each logged by ids alone, and the live rooms of the spaces they opened check again', async () => {
    for (const byAdmin of [false, true]) {
      const u = await busyMember();
      const [member, owned] = [await makeGroup(t), await makeGroup(t)];
      await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [member, u.id]);
      await t.sql(`INSERT INTO group_members (group_id, user_id, owner) VALUES ($1, $2, true)`, [owned, u.id]);
      const restricted = await makeSpace(t, 'RESTRICTED', [{ groupId: owned, level: 'PARTICIPATE' }]);
      const [{ group_id: first }] = await t.sql(`SELECT group_id FROM group_members WHERE user_id = $1 AND group_id NOT IN ($2, $3)`, [u.id, member, owned]);
      expectOk(byAdmin ? await t.gql(ANONYMIZE, { id: u.id }, { token: admin.token }) : await del(u, PASSWORD));
      const actor = byAdmin ? admin.id : u.id;
      const removals = await t.sql(`SELECT actor_id, target_type, target_id, reason, before, after FROM moderation_log WHERE action = 'group.member_remove' AND target_id = $1 ORDER BY after->>'groupId'`, [u.id]);
      const entry = (groupId: string, before: unknown = null) => ({ actor_id: actor, target_type: 'user', target_id: u.id, reason: 'account deleted', before, after: { groupId } });
      expect(removals).toEqual([entry(first), entry(member), entry(owned, { owner: true })].sort((a, b) => (a.after.groupId < b.after.groupId ? -1 : 1)));
      expect(await count('outbox', `type = 'space.access_changed' AND aggregate_id = $1`, restricted.id)).toBe(1);
      // Nothing about the person: the account and the groups by their ids.
      for (const secret of [u.handle, u.email, 'leaver', 'Deleted user']) expect(JSON.stringify(removals)).not.toContain(secret);
    }
  });

  it('refuses admins as targets, non-admins as actors, and ids of nobody, writing nothing', async () => {
    const otherAdmin = await makeUser(t, { role: 'ADMIN' });
    const moderator = await makeUser(t, { role: 'MODERATOR' });
    const member = await makeUser(t);
    const logged = await logSize();
    expectError(await t.gql(ANONYMIZE, { id: otherAdmin.id }, { token: admin.token }), 'FORBIDDEN');
    expectError(await t.gql(ANONYMIZE, { id: admin.id }, { token: admin.token }), 'FORBIDDEN');
    expectError(await t.gql(ANONYMIZE, { id: member.id }, { token: moderator.token }), 'FORBIDDEN');
    expectError(await t.gql(ANONYMIZE, { id: member.id }, { token: other.token }), 'FORBIDDEN');
    expectError(await t.gql(ANONYMIZE, { id: member.id }), 'UNAUTHENTICATED');
    expect(expectError(await t.gql(ANONYMIZE, { id: 'not-a-uuid' }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'userId', message: 'must be a user id' }]);
    expectError(await t.gql(ANONYMIZE, { id: '01234567-89ab-7def-8123-456789abcdef' }, { token: admin.token }), 'NOT_FOUND');
    expect(await logSize()).toBe(logged);
    for (const u of [otherAdmin, member]) expect((await userRow(u.id)).deleted_at).toBeNull();
    expect(await signedIn(member.token)).toBe(member.id);
  });

  it('keeps a ban on the address: anonymising a banned account is no way back in', async () => {
    const u = await busyMember();
    expectOk(await t.gql(`mutation($i: SanctionInput!) { sanctionUser(input: $i) { id } }`, { i: { userId: u.id, kind: 'BAN', reason: 'Spam ring', banEmail: true } }, { token: admin.token }));
    const kept = await counts(KEPT, u.id);
    expectOk(await t.gql(ANONYMIZE, { id: u.id }, { token: admin.token }));
    await expectAnonymised(u, kept);
    expect(await t.sql(`SELECT email_lower FROM banned_emails WHERE email_lower = lower($1)`, [u.email])).toEqual([{ email_lower: u.email.toLowerCase() }]);
    expectError(await t.gql(SIGN_UP, { input: { email: u.email, handle: `back${seq}x`, password: 'another long password' } }, { ip: freshIp() }), 'FORBIDDEN');
  });

  it('refuses banEmail for an account whose address a deletion erased, writing nothing: the ban bans no address, and says so', async () => {
    const BAN = `mutation($i: SanctionInput!) { sanctionUser(input: $i) { id } }`;
    const u = await busyMember();
    expectOk(await del(u, PASSWORD));
    const snapshots = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
    const before = await snapshots.take();
    let res: GqlResult | undefined;
    const cost = await t.countStatements(async () => (res = await t.gql(BAN, { i: { userId: u.id, kind: 'BAN', reason: 'Spam ring', banEmail: true } }, { token: admin.token })));
    const refused = expectError(res!, 'BAD_USER_INPUT');
    // One hold against the deletion, then one read of the address, which refuses before any write: no ban of an address tried.
    expect(cost.statements.filter((q) => /parvis:account-deletion/.test(q))).toHaveLength(1);
    expect(cost.statements.filter((q) => /\bemail\b/.test(q) && /FROM users WHERE id = \$1/.test(q))).toHaveLength(1);
    expect(cost.statements.filter((q) => /banned_emails|INSERT INTO sanctions/.test(q))).toEqual([]);
    expect(refused.extensions.fields).toEqual([
      { field: 'banEmail', message: 'bans no address: this account has none (a deleted or anonymised account’s address was erased with it); ban without banEmail' },
    ]);
    expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
    // Without it, the ban is given; no address of the account's comes back.
    expectOk(await t.gql(BAN, { i: { userId: u.id, kind: 'BAN', reason: 'Spam ring' } }, { token: admin.token }));
    expect(await t.sql(`SELECT email_lower FROM banned_emails WHERE email_lower = lower($1)`, [u.email])).toEqual([]);
    expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [u.id])).toEqual([{ kind: 'BAN' }]);
  });

  it('waits with a banEmail for a deletion under way, and refuses it once the deletion erased the address (read before, the erased address was banned)', async () => {
    const BAN = `mutation($i: SanctionInput!) { sanctionUser(input: $i) { id } }`;
    const u = await busyMember();
    const { ban } = await withLockHeld(t, `SELECT pg_advisory_xact_lock(hashtextextended('parvis:account-deletion:' || $1::text, 0))`, [u.id], async (h) => {
      const ban = t.gql(BAN, { i: { userId: u.id, kind: 'BAN', reason: 'Spam ring', banEmail: true } }, { token: admin.token });
      await h.waiting(1);
      // The deletion's erasure, under its lock (a member's row may have no address: a placeholder's has none).
      await h.query(`UPDATE users SET email = NULL, email_verified_at = NULL WHERE id = $1`, [u.id]);
      return { ban };
    });
    expect(expectError(await ban, 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual(['banEmail']);
    expect(await t.sql(`SELECT email_lower FROM banned_emails WHERE email_lower = lower($1)`, [u.email])).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM sanctions WHERE user_id = $1`, [u.id])).toEqual([]);
  });

  it('lets a deletion through while a banEmail waits for the sanction lock (taken before the deletion hold, as the ladder takes them), then refuses the erased address', async () => {
    const BAN = `mutation($i: SanctionInput!) { sanctionUser(input: $i) { id } }`;
    const u = await busyMember();
    // The test holds the member's sanction lock, as the escalation ladder does before its own hold against the deletion.
    const { ban } = await withLockHeld(t, `SELECT pg_advisory_xact_lock(hashtextextended('parvis:sanctions-of:' || $1::uuid::text, 0))`, [u.id], async (h) => {
      const ban = t.gql(BAN, { i: { userId: u.id, kind: 'BAN', reason: 'Spam ring', banEmail: true } }, { token: admin.token });
      await h.waiting(1);
      // Waiting there, the ban holds nothing the deletion waits for: the deletion ends (the ladder's own hold would queue behind it otherwise).
      const deletion = del(u, PASSWORD);
      expect(await doneOrWaiting(t, deletion, 2, h)).toBe('done');
      expectOk(await deletion);
      return { ban };
    });
    expect(expectError(await ban, 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual(['banEmail']);
    expect(await t.sql(`SELECT email_lower FROM banned_emails WHERE email_lower = lower($1)`, [u.email])).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM sanctions WHERE user_id = $1`, [u.id])).toEqual([]);
  });

  it('leaves nothing of the account in search results', async () => {
    const u = await busyMember();
    expectOk(await del(u, PASSWORD));
    await drain();
    const q = `query($q: String!, $f: SearchFilter) { search(query: $q, filter: $f) { edges { node { post { author { id handle displayName email } } } } } }`;
    const hits = expectOk(await t.gql(q, { q: `quernstones` }, { token: other.token })).search.edges.map((e: any) => e.node.post.author);
    expect(hits.some((a: any) => a.id === u.id)).toBe(true);
    for (const a of hits.filter((h: any) => h.id === u.id)) expect(a).toMatchObject({ displayName: 'Deleted user', email: null, handle: expect.stringMatching(/^deleted-/) });
    expect(expectOk(await t.gql(q, { q: 'quernstones', f: { authorHandle: u.handle } }, { token: other.token })).search.edges).toEqual([]);
  });
});
