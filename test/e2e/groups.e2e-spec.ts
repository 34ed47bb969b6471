import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { AUDIT_LOCK } from '../../libs/core/src/audit/audit-log';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { GROUP_ADDS_PER_OWNER, GROUP_JOINS_PER_USER } from '../../libs/identity/src/groups/group-members.service';
import { GROUP_REQUESTS_PER_USER } from '../../libs/identity/src/groups/group-requests.service';
import { GroupMemberships } from '../../libs/identity/src/groups/group-memberships';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { NotificationSubjectIds1765008000000 } from '../../migrations/1765008000000-notification-subject-ids';
import { GroupRequestEndings1765018800000 } from '../../migrations/1765018800000-group-request-endings';
import { GroupRequestsEndedBySwitch1765076400000 } from '../../migrations/1765076400000-group-requests-ended-by-switch';
import { redoMigration } from '../support/migrations';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { publishedArticle } from '../factories/knowledge';
import { connectLive, heardLive, heardRoom } from '../support/live-client';
import { doneOrWaiting, waitForLockWaits } from '../support/lock-waits';
import { withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectNotFound, expectOk, GqlResult, TestApp } from '../support/test-app';

const GROUP = `query($slug: String!) { group(slug: $slug) { id slug visibility joining viewerMembership memberCount
  members { totalCount edges { node { owner joinedAt user { handle } } } } } }`;
const GROUPS = `{ groups { slug } }`;
const USER_GROUPS = `query($h: String!) { user(handle: $h) { groups { slug } } }`;
const JOIN = `mutation($id: ID!) { joinGroup(groupId: $id) { id viewerMembership memberCount } }`;
const LEAVE = `mutation($id: ID!) { leaveGroup(groupId: $id) { id viewerMembership memberCount } }`;
const LEAVE_FULL = `mutation($id: ID!) { leaveGroup(groupId: $id) { id name viewerMembership memberCount } }`;
const WITHDRAW_FULL = `mutation($id: ID!) { withdrawGroupRequest(groupId: $id) { id name viewerMembership memberCount } }`;
const REQUEST = `mutation($input: GroupRequestInput!) { requestGroupMembership(input: $input) { id viewerMembership } }`;
const WITHDRAW = `mutation($id: ID!) { withdrawGroupRequest(groupId: $id) { id viewerMembership } }`;
const DECIDE = `mutation($input: DecideGroupRequestInput!) { decideGroupRequest(input: $input) { id memberCount } }`;
const ADD = `mutation($input: GroupMemberInput!) { addGroupMember(input: $input) { id memberCount } }`;
const REMOVE = `mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { id memberCount } }`;
const SET_OWNER = `mutation($input: SetGroupOwnerInput!) { setGroupOwner(input: $input) { id memberCount viewerMembership } }`;
const CREATE = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id slug visibility joining } }`;
const UPDATE = `mutation($input: UpdateGroupInput!) { updateGroup(input: $input) { id visibility joining } }`;
const REQUESTS = `query($slug: String!, $first: Int, $after: String) { group(slug: $slug) { requests(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id message createdAt user { handle } } } } } }`;
const NOTIFICATIONS = `{ notifications(first: 50) { edges { node { kind data } } } }`;
const TOPIC = `query($id: ID!) { topic(id: $id) { id } }`;
const MISSING = '00000000-0000-4000-8000-000000000000';

type Visibility = 'PUBLIC' | 'SIGNED_IN' | 'MEMBERS' | 'OWNERS';
type Joining = 'CLOSED' | 'OPEN' | 'REQUEST';

describe('groups: owners, visibility and self-service membership', () => {
  let t: TestApp;
  let url: string;
  const sockets: Socket[] = [];
  let admin: TestUser;

  beforeAll(async () => {
    t = await bootTestApp();
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    admin = await makeUser(t, { role: 'ADMIN' });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const drain = () => t.get(OutboxWorker).drain();
  const as = (u: TestUser | undefined) => (u ? { token: u.token } : {});
  /** A group written straight to the database: its settings, owners and members (joined in that order). */
  const makeG = async (opts: { visibility?: Visibility; joining?: Joining; owners?: TestUser[]; members?: TestUser[] } = {}) => {
    const id = await makeGroup(t);
    await t.sql(`UPDATE groups SET visibility = $2, joining = $3 WHERE id = $1`, [id, opts.visibility ?? 'OWNERS', opts.joining ?? 'CLOSED']);
    for (const o of opts.owners ?? []) await t.sql(`INSERT INTO group_members (group_id, user_id, owner) VALUES ($1, $2, true)`, [id, o.id]);
    for (const m of opts.members ?? []) await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [id, m.id]);
    const [{ slug }] = await t.sql(`SELECT slug FROM groups WHERE id = $1`, [id]);
    return { id, slug: slug as string };
  };
  const users = (n: number) => Promise.all(Array.from({ length: n }, () => makeUser(t)));
  const memberIds = async (groupId: string) => (await t.sql(`SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id`, [groupId])).map((r) => r.user_id);
  const log = (groupId: string) =>
    t.sql(`SELECT action, actor_id, target_id, reason, after FROM moderation_log WHERE action LIKE 'group.%' AND after->>'groupId' = $1 ORDER BY id`, [groupId]);
  const heard = async (u: TestUser) =>
    expectOk(await t.gql(NOTIFICATIONS, {}, as(u))).notifications.edges.map((e: any) => ({ kind: e.node.kind, data: JSON.parse(e.node.data) }));
  const request = (u: TestUser, groupId: string, message = 'I work on the hub firmware') => t.gql(REQUEST, { input: { groupId, message } }, as(u));
  const pendingOf = async (groupId: string, u: TestUser) =>
    (await t.sql(`SELECT id FROM group_requests WHERE group_id = $1 AND user_id = $2 AND decided_at IS NULL`, [groupId, u.id]))[0]?.id as string | undefined;

  describe('who sees a group', () => {
    it('shows each visibility to its audience alone, the group and its members alike, on every read', async () => {
      const [owner, member, outsider, author] = await users(4);
      const viewers: Record<string, TestUser | undefined> = { anonymous: undefined, outsider, member, owner, admin };
      const audience: Record<Visibility, string[]> = {
        PUBLIC: ['anonymous', 'outsider', 'member', 'owner', 'admin'],
        SIGNED_IN: ['outsider', 'member', 'owner', 'admin'],
        MEMBERS: ['member', 'owner', 'admin'],
        OWNERS: ['owner', 'admin'],
      };
      const groups = {} as Record<Visibility, { id: string; slug: string }>;
      for (const v of Object.keys(audience) as Visibility[]) groups[v] = await makeG({ visibility: v, owners: [owner], members: [member] });
      // A group met elsewhere (as an article's owner) is shown to its audience alone, as everywhere.
      const kbBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'KNOWLEDGE');
      const article = await publishedArticle(t, author.token, admin.token, kbBoard);
      const OWNER_OF = `query($id: ID!) { topic(id: $id) { article { owner { ... on Group { slug memberCount viewerMembership members { totalCount } } } } } }`;
      const missing = expectError(await t.gql(GROUP, { slug: 'no-such-group' }, as(owner)), 'NOT_FOUND');

      for (const [who, viewer] of Object.entries(viewers)) {
        const listed = expectOk(await t.gql(GROUPS, {}, as(viewer))).groups.map((g: { slug: string }) => g.slug);
        const ofMember = expectOk(await t.gql(USER_GROUPS, { h: member.handle }, as(viewer))).user.groups.map((g: { slug: string }) => g.slug);
        const standing = who === 'owner' ? 'OWNER' : who === 'member' ? 'MEMBER' : 'NONE';
        for (const v of Object.keys(audience) as Visibility[]) {
          const g = groups[v];
          const sees = audience[v].includes(who);
          const res = await t.gql(GROUP, { slug: g.slug }, as(viewer));
          if (sees) {
            expect({ who, v, group: expectOk(res).group }).toEqual({
              who, v,
              group: {
                id: g.id, slug: g.slug, visibility: v, joining: 'CLOSED', viewerMembership: standing, memberCount: 2,
                members: { totalCount: 2, edges: [{ node: { owner: true, joinedAt: expect.any(String), user: { handle: owner.handle } } }, { node: { owner: false, joinedAt: expect.any(String), user: { handle: member.handle } } }] },
              },
            });
          } else {
            expectNotFound(res, 'group');
            // Exactly as if it did not exist.
            expect(res.errors![0].message).toBe(missing.message);
          }
          expect({ who, v, listed: listed.includes(g.slug) }).toEqual({ who, v, listed: sees });
          expect({ who, v, onProfile: ofMember.includes(g.slug) }).toEqual({ who, v, onProfile: sees });
          await t.sql(`UPDATE articles SET owner_user_id = NULL, owner_group_id = $2 WHERE topic_id = $1`, [article, g.id]);
          const owned = expectOk(await t.gql(OWNER_OF, { id: article }, as(viewer))).topic.article.owner;
          expect({ who, v, owned }).toEqual({ who, v, owned: sees ? { slug: g.slug, memberCount: 2, viewerMembership: standing, members: { totalCount: 2 } } : null });
        }
      }
    });

    it('lists members owners first, then by when they joined, page by page', async () => {
      const [o1, o2, ...ms] = await users(5);
      const g = await makeG({ visibility: 'PUBLIC', members: [ms[0]] });
      await t.sql(`INSERT INTO group_members (group_id, user_id, owner) VALUES ($1, $2, true)`, [g.id, o1.id]);
      for (const m of ms.slice(1)) await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [g.id, m.id]);
      await t.sql(`INSERT INTO group_members (group_id, user_id, owner) VALUES ($1, $2, true)`, [g.id, o2.id]);
      const PAGE = `query($slug: String!, $after: String) { group(slug: $slug) { members(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { owner user { handle } } } } } }`;
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 3; page++) {
        const members: any = expectOk(await t.gql(PAGE, { slug: g.slug, after }, {})).group.members;
        expect(members.totalCount).toBe(5);
        seen.push(...members.edges.map((e: any) => e.node.user.handle));
        after = members.pageInfo.endCursor;
        expect(members.pageInfo.hasNextPage).toBe(page < 2);
      }
      expect(seen).toEqual([o1, o2, ...ms].map((u) => u.handle));
      expectError(await t.gql(PAGE, { slug: g.slug, after: 'forged' }), 'BAD_USER_INPUT');
    });

    it('keeps a member’s groups off their profile when they hide it, but for moderators and admins', async () => {
      const [member, other] = await users(2);
      const g = await makeG({ visibility: 'PUBLIC', members: [member] });
      await t.sql(`UPDATE users SET hide_profile = true WHERE id = $1`, [member.id]);
      expect(expectOk(await t.gql(USER_GROUPS, { h: member.handle }, as(other))).user.groups).toBeNull();
      expect(expectOk(await t.gql(USER_GROUPS, { h: member.handle })).user.groups).toBeNull();
      for (const viewer of [member, admin]) expect(expectOk(await t.gql(USER_GROUPS, { h: member.handle }, as(viewer))).user.groups).toEqual([{ slug: g.slug }]);
      // The group's own list still shows them: a profile hides the profile.
      expect(expectOk(await t.gql(GROUP, { slug: g.slug }, as(other))).group.members.totalCount).toBe(1);
    });

    it('answers a hidden group NOT_FOUND on every path, as a missing one', async () => {
      const [owner, member, outsider] = await users(3);
      for (const visibility of ['MEMBERS', 'OWNERS'] as const) {
        const g = await makeG({ visibility, owners: [owner], members: [member] });
        const viewer = visibility === 'OWNERS' ? member : outsider; // a member does not see an OWNERS group either
        const paths: Array<(id: string) => Promise<GqlResult>> = [
          (id) => t.gql(JOIN, { id }, as(viewer)),
          (id) => t.gql(LEAVE, { id }, as(viewer)),
          (id) => request(viewer, id),
          (id) => t.gql(WITHDRAW, { id }, as(viewer)),
          (id) => t.gql(ADD, { input: { groupId: id, userId: viewer.id } }, as(viewer)),
          (id) => t.gql(REMOVE, { input: { groupId: id, userId: member.id } }, as(viewer)),
        ];
        for (const path of paths) {
          const hidden = expectError(await path(g.id), 'NOT_FOUND');
          expect(hidden.message).toBe(expectError(await path(MISSING), 'NOT_FOUND').message);
        }
        expectNotFound(await t.gql(GROUP, { slug: g.slug }, as(viewer)), 'group');
      }
      expect(await t.sql(`SELECT 1 FROM group_requests WHERE user_id = ANY($1::uuid[])`, [[member.id, outsider.id]])).toEqual([]);
      // Signed out, a mutation asks for a sign-in first, whatever the group.
      const open = await makeG({ visibility: 'PUBLIC', joining: 'OPEN' });
      for (const id of [open.id, MISSING]) expectError(await t.gql(JOIN, { id }), 'UNAUTHENTICATED');
      // A request is the group's managers' business: NOT_FOUND to anyone else, as a missing one.
      const asking = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST', owners: [owner] });
      expectOk(await request(member, asking.id));
      const requestId = (await pendingOf(asking.id, member))!;
      for (const who of [member, outsider]) {
        const err = expectError(await t.gql(DECIDE, { input: { requestId, accept: true } }, as(who)), 'NOT_FOUND');
        expect(err.message).toBe(expectError(await t.gql(DECIDE, { input: { requestId: MISSING, accept: true } }, as(who)), 'NOT_FOUND').message);
      }
      expect(await pendingOf(asking.id, member)).toBe(requestId);
    });
    it('keeps a hidden group’s moderation-log entries (settings, who came and went) from a global moderator, listed and counted', async () => {
      const [moderator, member] = await Promise.all([makeUser(t, { role: 'MODERATOR' }), makeUser(t)]);
      const made: Record<string, string> = {};
      for (const visibility of ['OWNERS', 'PUBLIC'] as const) {
        const slug = `logged-${visibility.toLowerCase()}-${Date.now().toString(36)}`;
        made[visibility] = expectOk(await t.gql(CREATE, { input: { slug, name: slug, visibility } }, as(admin))).createGroup.id;
        expectOk(await t.gql(ADD, { input: { groupId: made[visibility], userId: member.id } }, as(admin)));
        expectOk(await t.gql(UPDATE, { input: { groupId: made[visibility], name: `${slug} renamed` } }, as(admin)));
      }
      const LOG = `query($after: String) { moderationLog(first: 50, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { action targetId after } } } }`;
      const read = async (u: TestUser) => {
        const entries: any[] = [];
        let after: string | null = null;
        let total = 0;
        do {
          const page: any = expectOk(await t.gql(LOG, { after }, as(u))).moderationLog;
          total = page.totalCount;
          entries.push(...page.edges.map((e: any) => e.node));
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        expect(entries.length).toBe(total);
        const about = (id: string) => entries.filter((e) => e.targetId === id || JSON.parse(e.after ?? '{}').groupId === id).map((e) => e.action).sort();
        return { hidden: about(made.OWNERS), shown: about(made.PUBLIC) };
      };
      const all = ['group.create', 'group.member_add', 'group.update'];
      expect(await read(admin)).toEqual({ hidden: all, shown: all });
      expect(await read(moderator)).toEqual({ hidden: [], shown: all });
    });
  });

  describe('joining and leaving', () => {
    it('joining an OPEN group opens the RESTRICTED space granted to it; leaving closes it and sends a live reader away', async () => {
      const [member, writer] = await users(2);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'OPEN' });
      const space = await makeSpace(t, 'RESTRICTED', [{ groupId: g.id, level: 'PARTICIPATE' }, { userId: writer.id, level: 'PARTICIPATE' }]);
      const topic = await createTopic(t, writer.token, await makeBoard(t, space.id));
      expectNotFound(await t.gql(TOPIC, { id: topic.id }, as(member)), 'topic');

      expect(expectOk(await t.gql(JOIN, { id: g.id }, as(member))).joinGroup).toEqual({ id: g.id, viewerMembership: 'MEMBER', memberCount: 1 });
      expect(expectOk(await t.gql(TOPIC, { id: topic.id }, as(member))).topic.id).toBe(topic.id);
      // Again: nothing changes, nothing more is logged.
      expect(expectOk(await t.gql(JOIN, { id: g.id }, as(member))).joinGroup.memberCount).toBe(1);

      const s = await connectLive(url, sockets, member.token);
      expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      const lost = heardLive(s, 'access:lost');
      expect(expectOk(await t.gql(LEAVE, { id: g.id }, as(member))).leaveGroup).toEqual({ id: g.id, viewerMembership: 'NONE', memberCount: 0 });
      await heardRoom(lost, `topic:${topic.id}`);
      expectNotFound(await t.gql(TOPIC, { id: topic.id }, as(member)), 'topic');

      // Leaving again changes nobody's access: no event.
      const events = async () => (await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'space.access_changed' AND aggregate_id = $1`, [space.id]))[0].n;
      const before = await events();
      expectOk(await t.gql(LEAVE, { id: g.id }, as(member)));
      expect(await events()).toBe(before);
      expect(await log(g.id)).toEqual([
        { action: 'group.member_add', actor_id: member.id, target_id: member.id, reason: 'joined', after: { groupId: g.id } },
        { action: 'group.member_remove', actor_id: member.id, target_id: member.id, reason: 'left', after: { groupId: g.id } },
      ]);
    });

    it('joins OPEN groups only, and leaves OPEN and REQUEST groups; a CLOSED group’s members are its owners’ to manage', async () => {
      const [member, owner, joiner] = await users(3);
      const closed = await makeG({ visibility: 'SIGNED_IN', joining: 'CLOSED', owners: [owner], members: [member] });
      const asking = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST', members: [member] });
      for (const g of [closed, asking]) expectError(await t.gql(JOIN, { id: g.id }, as(joiner)), 'FORBIDDEN');
      expectError(await t.gql(LEAVE, { id: closed.id }, as(member)), 'FORBIDDEN');
      expect(await memberIds(closed.id)).toContain(member.id);
      expect(expectOk(await t.gql(LEAVE, { id: asking.id }, as(member))).leaveGroup.viewerMembership).toBe('NONE');
      // Its owner leaves a CLOSED group (it is theirs to manage).
      expect(expectOk(await t.gql(LEAVE, { id: closed.id }, as(owner))).leaveGroup.viewerMembership).toBe('NONE');
      expect(await memberIds(closed.id)).toEqual([member.id]);
      expect(await t.sql(`SELECT 1 FROM group_members WHERE group_id = ANY($1::uuid[]) AND user_id = $2`, [[closed.id, asking.id], joiner.id])).toEqual([]);
      for (const id of ['nope', '']) expect(expectError(await t.gql(JOIN, { id }, as(joiner)), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('groupId');
    });

    it(`limits joins and leaves to ${GROUP_JOINS_PER_USER.limit} an hour per member, together; one that changes nothing does not count`, async () => {
      const member = await makeUser(t);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'OPEN' });
      await makeSpace(t, 'RESTRICTED', [{ groupId: g.id, level: 'READ' }]);
      for (let i = 0; i < GROUP_JOINS_PER_USER.limit / 2; i++) {
        expectOk(await t.gql(JOIN, { id: g.id }, as(member)));
        expectOk(await t.gql(JOIN, { id: g.id }, as(member))); // in already: not counted
        expectOk(await t.gql(LEAVE, { id: g.id }, as(member)));
      }
      const events = async () => (await t.sql(`SELECT (SELECT count(*) FROM moderation_log WHERE after->>'groupId' = $1)::int AS logged, (SELECT count(*) FROM outbox WHERE type = 'space.access_changed')::int AS rechecks`, [g.id]))[0];
      const before = await events();
      const limited = expectError(await t.gql(JOIN, { id: g.id }, as(member)), 'RATE_LIMITED');
      expect(limited.extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(await memberIds(g.id)).toEqual([]);
      expect(await events()).toEqual(before);
      // Leaving is counted too: in by an admin's hand, out by themselves no more this hour.
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: member.id } }, as(admin)));
      expectError(await t.gql(LEAVE, { id: g.id }, as(member)), 'RATE_LIMITED');
      expect(await memberIds(g.id)).toEqual([member.id]);
    });

    it('a join waiting on an admin closing the group is refused once it closes (the group’s row is locked)', async () => {
      const joiner = await makeUser(t);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'OPEN' });
      const res = await withLockHeld(t, `UPDATE groups SET joining = 'CLOSED' WHERE id = $1`, [g.id], async (holder) => {
        const join = t.gql(JOIN, { id: g.id }, as(joiner));
        await holder.waiting(1);
        await holder.release();
        return join;
      });
      expectError(res, 'FORBIDDEN');
      expect(await memberIds(g.id)).toEqual([]);
    });

    it('leaving answers the group as the leaver sees it now: as it is to one who still sees it, null to an owner who no longer does (the leave made all the same)', async () => {
      const [member, owner, other] = await users(3);
      // Still seen after: a SIGNED_IN group's member.
      const seen = await makeG({ visibility: 'SIGNED_IN', joining: 'OPEN', members: [member, other] });
      expect(expectOk(await t.gql(LEAVE_FULL, { id: seen.id }, as(member))).leaveGroup).toEqual({ id: seen.id, name: seen.slug, viewerMembership: 'NONE', memberCount: 1 });
      // Not seen after: an owner leaving their OWNERS, or MEMBERS, group learns nothing more of it.
      for (const visibility of ['OWNERS', 'MEMBERS'] as const) {
        const hidden = await makeG({ visibility, joining: 'CLOSED', owners: [owner], members: [other] });
        expect(expectOk(await t.gql(LEAVE_FULL, { id: hidden.id }, as(owner)))).toEqual({ leaveGroup: null });
        expect(await memberIds(hidden.id)).toEqual([other.id]);
        expect((await log(hidden.id)).map((e: any) => [e.action, e.target_id, e.reason])).toEqual([['group.member_remove', owner.id, 'left']]);
        expectNotFound(await t.gql(GROUP, { slug: hidden.slug }, as(owner)), 'group');
        // Again: a group they do not see, NOT_FOUND as a missing one.
        expectNotFound(await t.gql(LEAVE_FULL, { id: hidden.id }, as(owner)), 'leaveGroup');
      }
    });
  });

  describe('owners', () => {
    it('admins make owners (members, then); owners add and remove members, not other owners, and may leave; settings stay the admins’', async () => {
      const [o1, o2, m, stranger] = await users(4);
      const g = await makeG({ visibility: 'OWNERS', joining: 'CLOSED' });
      expectError(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: o1.id, owner: true } }, as(o1)), 'FORBIDDEN');
      expect(expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: o1.id, owner: true } }, as(admin))).setGroupOwner.memberCount).toBe(1);
      expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: o2.id, owner: true } }, as(admin)));
      // Again: nothing changes.
      expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: o2.id, owner: true } }, as(admin)));
      // The owner sees the group it owns (OWNERS), and adds to it though it is CLOSED.
      expect(expectOk(await t.gql(GROUP, { slug: g.slug }, as(o1))).group.viewerMembership).toBe('OWNER');
      expect(expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: m.id } }, as(o1))).addGroupMember.memberCount).toBe(3);
      expect(expectError(await t.gql(ADD, { input: { groupId: g.id, userId: MISSING } }, as(o1)), 'NOT_FOUND').message).toMatch(/User/);
      // A plain member sees nothing of an OWNERS group; a MEMBERS group they see, but may not manage.
      expectError(await t.gql(ADD, { input: { groupId: g.id, userId: stranger.id } }, as(m)), 'NOT_FOUND');
      const seen = await makeG({ visibility: 'MEMBERS', members: [m] });
      expectError(await t.gql(ADD, { input: { groupId: seen.id, userId: stranger.id } }, as(m)), 'FORBIDDEN');
      expectError(await t.gql(REMOVE, { input: { groupId: g.id, userId: o2.id } }, as(o1)), 'FORBIDDEN');
      expectOk(await t.gql(REMOVE, { input: { groupId: g.id, userId: m.id } }, as(o1)));
      for (const [q, input] of [[UPDATE, { groupId: g.id, name: 'Mine' }], [CREATE, { slug: 'owned-by-me', name: 'Mine' }]] as const) {
        expectError(await t.gql(q, { input }, as(o1)), 'FORBIDDEN');
      }
      expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: o2.id, owner: false } }, as(admin)));
      expect(expectOk(await t.gql(GROUP, { slug: g.slug }, as(admin))).group.members.edges.map((e: any) => [e.node.user.handle, e.node.owner])).toEqual([
        [o1.handle, true],
        [o2.handle, false],
      ]);
      // No longer an owner of an OWNERS group: it is gone for them.
      expectNotFound(await t.gql(GROUP, { slug: g.slug }, as(o2)), 'group');
      // An owner leaves, even a CLOSED group (removing themselves from this OWNERS group is refused: leaveGroup's, next test).
      expect(expectOk(await t.gql(LEAVE, { id: g.id }, as(o1)))).toEqual({ leaveGroup: null });
      expect(await memberIds(g.id)).toEqual([o2.id]);
      expect(await log(g.id)).toEqual([
        { action: 'group.member_add', actor_id: admin.id, target_id: o1.id, reason: 'made owner', after: { groupId: g.id } },
        { action: 'group.owner_add', actor_id: admin.id, target_id: o1.id, reason: null, after: { groupId: g.id } },
        { action: 'group.member_add', actor_id: admin.id, target_id: o2.id, reason: 'made owner', after: { groupId: g.id } },
        { action: 'group.owner_add', actor_id: admin.id, target_id: o2.id, reason: null, after: { groupId: g.id } },
        { action: 'group.member_add', actor_id: o1.id, target_id: m.id, reason: null, after: { groupId: g.id } },
        { action: 'group.member_remove', actor_id: o1.id, target_id: m.id, reason: null, after: { groupId: g.id } },
        { action: 'group.owner_remove', actor_id: admin.id, target_id: o2.id, reason: null, after: { groupId: g.id } },
        { action: 'group.member_remove', actor_id: o1.id, target_id: o1.id, reason: 'left', after: { groupId: g.id } },
      ]);
    });

    it('an owner removing themselves from a group they would no longer see (MEMBERS, OWNERS) is BAD_USER_INPUT pointing to leaveGroup, nothing written; one they still see answers it', async () => {
      const [owner, other] = await users(2);
      const REMOVE_FULL = `mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { id name viewerMembership memberCount } }`;
      for (const visibility of ['OWNERS', 'MEMBERS'] as const) {
        const hidden = await makeG({ visibility, joining: 'CLOSED', owners: [owner], members: [other] });
        const err = expectError(await t.gql(REMOVE_FULL, { input: { groupId: hidden.id, userId: owner.id } }, as(owner)), 'BAD_USER_INPUT');
        expect(err.extensions.fields).toEqual([{ field: 'userId', message: expect.stringMatching(/leaveGroup/) }]);
        expect(await memberIds(hidden.id)).toEqual([owner.id, other.id].sort());
        expect(await log(hidden.id)).toEqual([]);
        // leaveGroup does it, answering null.
        expect(expectOk(await t.gql(LEAVE_FULL, { id: hidden.id }, as(owner)))).toEqual({ leaveGroup: null });
        expect(await memberIds(hidden.id)).toEqual([other.id]);
      }
      // Still seen once out (SIGNED_IN): removed, and answered as they see it now.
      const seen = await makeG({ visibility: 'SIGNED_IN', joining: 'CLOSED', owners: [owner], members: [other] });
      expect(expectOk(await t.gql(REMOVE_FULL, { input: { groupId: seen.id, userId: owner.id } }, as(owner))).removeGroupMember).toEqual({ id: seen.id, name: seen.slug, viewerMembership: 'NONE', memberCount: 1 });
      // An admin sees every group: removing themselves from an OWNERS one answers it.
      const mine = await makeG({ visibility: 'OWNERS', owners: [admin] });
      expect(expectOk(await t.gql(REMOVE_FULL, { input: { groupId: mine.id, userId: admin.id } }, as(admin))).removeGroupMember).toEqual({ id: mine.id, name: mine.slug, viewerMembership: 'NONE', memberCount: 0 });
    });

    it(`limits an owner to ${GROUP_ADDS_PER_OWNER.limit} members added an hour, in all their groups; a refused one writes nothing; admins are not limited`, async () => {
      const owner = await makeUser(t);
      const [g, other] = [await makeG({ visibility: 'MEMBERS', owners: [owner] }), await makeG({ visibility: 'MEMBERS', owners: [owner] })];
      const people = await users(GROUP_ADDS_PER_OWNER.limit + 1);
      for (const [i, p] of people.slice(0, -1).entries()) {
        expectOk(await t.gql(ADD, { input: { groupId: i % 2 ? other.id : g.id, userId: p.id } }, as(owner)));
      }
      // In already: nothing changes, nothing counts.
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: people[0].id } }, as(owner)));
      const last = people[people.length - 1];
      const state = async () => (await t.sql(
        `SELECT (SELECT count(*) FROM group_members WHERE group_id = $1::uuid)::int AS members, (SELECT member_count FROM group_member_counts WHERE group_id = $1::uuid) AS counter,
                (SELECT count(*) FROM moderation_log WHERE after->>'groupId' = $1::text)::int AS logged, (SELECT count(*) FROM rate_events WHERE key = $2)::int AS counted`,
        [g.id, owner.id],
      ))[0];
      const before = await state();
      expect(before).toMatchObject({ members: 1 + GROUP_ADDS_PER_OWNER.limit / 2, counter: 1 + GROUP_ADDS_PER_OWNER.limit / 2, counted: GROUP_ADDS_PER_OWNER.limit });
      const limited = expectError(await t.gql(ADD, { input: { groupId: g.id, userId: last.id } }, as(owner)), 'RATE_LIMITED');
      expect(limited.extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(await state()).toEqual(before);
      expect(await memberIds(g.id)).not.toContain(last.id);
      // Removing is not limited; an admin adds whoever the owner could not.
      expectOk(await t.gql(REMOVE, { input: { groupId: g.id, userId: people[0].id } }, as(owner)));
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: last.id } }, as(admin)));
      expect(await memberIds(g.id)).toContain(last.id);
    });

    it('lets only admins put people in a group that moderates a space: owners remove and decline, nobody joins or asks by themselves', async () => {
      const [owner, member, asker, joiner, stranger] = await users(5);
      const g = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST', owners: [owner], members: [member] });
      expectOk(await request(asker, g.id));
      const requestId = (await pendingOf(g.id, asker))!;
      const space = await makeSpace(t, 'RESTRICTED');
      const GRANT = `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`;
      // Reading is the owners' to hand out; moderating is not.
      expectOk(await t.gql(GRANT, { input: { spaceId: space.id, groupId: g.id, level: 'READ' } }, as(admin)));
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: joiner.id } }, as(owner)));
      expectOk(await t.gql(REMOVE, { input: { groupId: g.id, userId: joiner.id } }, as(owner)));
      for (const level of ['MODERATE', 'ADMIN']) {
        expectOk(await t.gql(GRANT, { input: { spaceId: space.id, groupId: g.id, level } }, as(admin)));
        expectError(await t.gql(ADD, { input: { groupId: g.id, userId: stranger.id } }, as(owner)), 'FORBIDDEN');
        expectError(await t.gql(DECIDE, { input: { requestId, accept: true } }, as(owner)), 'FORBIDDEN');
        expectError(await request(joiner, g.id), 'FORBIDDEN');
      }
      await t.sql(`UPDATE groups SET joining = 'OPEN' WHERE id = $1`, [g.id]);
      expectError(await t.gql(JOIN, { id: g.id }, as(joiner)), 'FORBIDDEN');
      expect(await memberIds(g.id)).toEqual([owner.id, member.id].sort());
      expect(await t.sql(`SELECT user_id FROM group_requests WHERE group_id = $1`, [g.id])).toEqual([{ user_id: asker.id }]);
      // Its owners still take people out and decline; admins add them.
      expectOk(await t.gql(REMOVE, { input: { groupId: g.id, userId: member.id } }, as(owner)));
      expectOk(await t.gql(DECIDE, { input: { requestId, accept: false } }, as(owner)));
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: stranger.id } }, as(admin)));
      expect(await memberIds(g.id)).toEqual([owner.id, stranger.id].sort());

      // A grant being given waits for a change of the group's membership under way (its row is locked).
      const other = await makeG({ visibility: 'PUBLIC', joining: 'OPEN' });
      const granted = await withLockHeld(t, `SELECT 1 FROM groups WHERE id = $1 FOR SHARE`, [other.id], async (holder) => {
        const granting = t.gql(GRANT, { input: { spaceId: space.id, groupId: other.id, level: 'MODERATE' } }, as(admin));
        await holder.waiting(1);
        await holder.release();
        return granting;
      });
      expectOk(granted);
      expectError(await t.gql(JOIN, { id: other.id }, as(joiner)), 'FORBIDDEN');
    });

    it('puts no deleted account or imported placeholder in a group (NOT_FOUND, as a missing user), and writes nothing', async () => {
      const [owner, gone, placeholder] = await users(3);
      const g = await makeG({ visibility: 'MEMBERS', owners: [owner] });
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, as(admin)));
      await t.sql(`UPDATE users SET is_placeholder = true WHERE id = $1`, [placeholder.id]);
      const missing = expectError(await t.gql(ADD, { input: { groupId: g.id, userId: MISSING } }, as(owner)), 'NOT_FOUND').message;
      for (const u of [gone, placeholder]) {
        for (const [q, input, by] of [[ADD, { groupId: g.id, userId: u.id }, owner], [ADD, { groupId: g.id, userId: u.id }, admin], [SET_OWNER, { groupId: g.id, userId: u.id, owner: true }, admin]] as const) {
          expect(expectError(await t.gql(q, { input }, as(by)), 'NOT_FOUND').message).toBe(missing);
        }
      }
      expect(await memberIds(g.id)).toEqual([owner.id]);
      expect(await log(g.id)).toEqual([]);
    });

    it('lets only admins put an account suspended or banned site-wide in a group: an owner is refused adding it or accepting its request, and writes nothing', async () => {
      const [owner, suspended, banned, silenced, lifted, asker] = await users(6);
      const sanction = (u: TestUser, kind: string, spaceId: string | null = null) =>
        t.sql(`INSERT INTO sanctions (id, user_id, kind, space_id, reason, expires_at) VALUES (gen_random_uuid(), $1, $2, $3, 'test', now() + interval '1 day') RETURNING id`, [u.id, kind, spaceId]);
      await sanction(suspended, 'SUSPEND');
      await sanction(banned, 'BAN');
      await sanction(asker, 'BAN');
      // Neither a silence nor a suspension lifted bars anyone from a group.
      await sanction(silenced, 'SILENCE');
      const [{ id: liftedId }] = await sanction(lifted, 'SUSPEND');
      await t.sql(`UPDATE sanctions SET lifted_at = now() WHERE id = $1`, [liftedId]);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      // The requester asked before the ban (written directly: a banned account is signed out).
      const [{ id: requestId }] = await t.sql(`INSERT INTO group_requests (id, group_id, user_id, message) VALUES (gen_random_uuid(), $1, $2, 'let me in') RETURNING id`, [g.id, asker.id]);
      for (const u of [suspended, banned]) {
        expect(expectError(await t.gql(ADD, { input: { groupId: g.id, userId: u.id } }, as(owner)), 'FORBIDDEN').message).toBe('Only admins put an account suspended or banned site-wide in a group');
      }
      expect(expectError(await t.gql(DECIDE, { input: { requestId, accept: true } }, as(owner)), 'FORBIDDEN').message).toMatch(/suspended or banned/);
      expect(await memberIds(g.id)).toEqual([owner.id]);
      expect(await log(g.id)).toEqual([]);
      expect(await pendingOf(g.id, asker)).toBe(requestId);
      for (const u of [silenced, lifted]) expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: u.id } }, as(owner)));
      // Admins, who see and lift sanctions, put anyone in; an owner still declines.
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: suspended.id } }, as(admin)));
      expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: banned.id, owner: true } }, as(admin)));
      expectOk(await t.gql(DECIDE, { input: { requestId, accept: false } }, as(owner)));
      expect(new Set(await memberIds(g.id))).toEqual(new Set([owner.id, silenced.id, lifted.id, suspended.id, banned.id]));
      const [{ id: again }] = await t.sql(`INSERT INTO group_requests (id, group_id, user_id, message) VALUES (gen_random_uuid(), $1, $2, 'again') RETURNING id`, [g.id, asker.id]);
      expectOk(await t.gql(DECIDE, { input: { requestId: again, accept: true } }, as(admin)));
      expect(await memberIds(g.id)).toContain(asker.id);
    });

    it('lets admins set who sees a group and how people join, validated and logged; bad input writes nothing', async () => {
      const slug = `interest-${Date.now().toString(36)}`;
      const created = expectOk(await t.gql(CREATE, { input: { slug, name: 'Beta testers', visibility: 'PUBLIC', joining: 'REQUEST' } }, as(admin))).createGroup;
      expect(created).toMatchObject({ slug, visibility: 'PUBLIC', joining: 'REQUEST' });
      const defaults = expectOk(await t.gql(CREATE, { input: { slug: `${slug}-d`, name: 'Defaults' } }, as(admin))).createGroup;
      expect(defaults).toMatchObject({ visibility: 'OWNERS', joining: 'CLOSED' });
      const groups = async () => (await t.sql(`SELECT count(*)::int AS n FROM groups`))[0].n;
      const before = await groups();
      // Joining needs a group its joiners see: refused on `joining`.
      for (const input of [{ slug: `${slug}-x`, name: 'X', joining: 'OPEN' }, { slug: `${slug}-y`, name: 'Y', joining: 'REQUEST', visibility: 'MEMBERS' }]) {
        expect(expectError(await t.gql(CREATE, { input }, as(admin)), 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual(['joining']);
      }
      expect(expectError(await t.gql(UPDATE, { input: { groupId: created.id, visibility: 'MEMBERS' } }, as(admin)), 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual(['joining']);
      expectError(await t.gql(UPDATE, { input: { groupId: created.id, joining: 'SOMETIMES' } }, as(admin)), 'BAD_USER_INPUT');
      expectError(await t.gql(CREATE, { input: { slug: `${slug}-z`, name: 'Z', visibility: 'EVERYBODY' } }, as(admin)), 'BAD_USER_INPUT');
      expect(await groups()).toBe(before);
      expect(expectOk(await t.gql(UPDATE, { input: { groupId: created.id, visibility: 'MEMBERS', joining: 'CLOSED' } }, as(admin))).updateGroup).toMatchObject({ visibility: 'MEMBERS', joining: 'CLOSED' });
      expect(await t.sql(`SELECT action, before, after FROM moderation_log WHERE target_id = $1 ORDER BY id`, [created.id])).toEqual([
        { action: 'group.create', before: null, after: { slug, name: 'Beta testers', mentionable: 'NOBODY', visibility: 'PUBLIC', joining: 'REQUEST' } },
        {
          action: 'group.update',
          before: { name: 'Beta testers', description: '', mentionable: 'NOBODY', visibility: 'PUBLIC', joining: 'REQUEST' },
          after: { name: 'Beta testers', description: '', mentionable: 'NOBODY', visibility: 'MEMBERS', joining: 'CLOSED' },
        },
      ]);
      // The table holds the rule too, for writes around the API.
      await expect(t.sql(`UPDATE groups SET joining = 'OPEN' WHERE id = $1`, [created.id])).rejects.toThrow(/groups_joining_visible/);
    });
  });

  describe('requests', () => {
    it('a request tells the owners; accepting adds the requester, declining does not, and the requester hears which', async () => {
      const [o1, o2, asker, declined, member] = await users(5);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [o1, o2], members: [member] });
      expect(expectOk(await request(asker, g.id, '  I test the hub betas  \n')).requestGroupMembership.viewerMembership).toBe('REQUESTED');
      expectError(await request(asker, g.id), 'CONFLICT');
      expectError(await request(member, g.id), 'CONFLICT');
      expectOk(await request(declined, g.id, 'me too'));
      await drain();
      const requestId = (await pendingOf(g.id, asker))!;
      for (const owner of [o1, o2]) {
        expect((await heard(owner)).filter((n: any) => n.data.requester === asker.handle)).toEqual([
          { kind: 'GROUP_MEMBERSHIP_REQUEST', data: { requestId, groupId: g.id, group: g.slug, groupName: g.slug, requester: asker.handle } },
        ]);
      }
      for (const u of [asker, member]) expect(await heard(u)).toEqual([]);
      // Owners (and admins) read the requests, oldest first, whatever the group's visibility; others get null.
      const list = expectOk(await t.gql(REQUESTS, { slug: g.slug, first: 1 }, as(o1))).group.requests;
      expect(list).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, edges: [{ node: { id: requestId, message: 'I test the hub betas', user: { handle: asker.handle } } }] });
      const rest = expectOk(await t.gql(REQUESTS, { slug: g.slug, first: 1, after: list.pageInfo.endCursor }, as(admin))).group.requests;
      expect(rest.edges.map((e: any) => e.node.user.handle)).toEqual([declined.handle]);
      for (const u of [member, asker]) expect(expectOk(await t.gql(REQUESTS, { slug: g.slug }, as(u))).group.requests).toBeNull();

      expect(expectOk(await t.gql(DECIDE, { input: { requestId, accept: true } }, as(o1))).decideGroupRequest.memberCount).toBe(4);
      expectError(await t.gql(DECIDE, { input: { requestId, accept: false } }, as(o2)), 'CONFLICT');
      const declinedId = (await pendingOf(g.id, declined))!;
      expectOk(await t.gql(DECIDE, { input: { requestId: declinedId, accept: false } }, as(o2)));
      expect(await memberIds(g.id)).toEqual([o1.id, o2.id, asker.id, member.id].sort());
      expect(expectOk(await t.gql(GROUP, { slug: g.slug }, as(asker))).group.viewerMembership).toBe('MEMBER');
      expect(expectOk(await t.gql(GROUP, { slug: g.slug }, as(declined))).group.viewerMembership).toBe('NONE');
      await drain();
      expect(await heard(asker)).toEqual([{ kind: 'GROUP_MEMBERSHIP_DECIDED', data: { requestId, accepted: true, groupId: g.id, group: g.slug, groupName: g.slug } }]);
      expect(await heard(declined)).toEqual([{ kind: 'GROUP_MEMBERSHIP_DECIDED', data: { requestId: declinedId, accepted: false, groupId: g.id, group: g.slug, groupName: g.slug } }]);
      expect(await log(g.id)).toEqual([
        { action: 'group.member_add', actor_id: o1.id, target_id: asker.id, reason: 'request accepted', after: { groupId: g.id, requestId } },
      ]);
      // Delivered again (a redelivery), they double nothing.
      await t.sql(`UPDATE outbox SET processed_at = NULL WHERE type IN ('group.membership_requested', 'group.membership_decided')`);
      await drain();
      for (const u of [o1, asker, declined]) expect((await heard(u)).length).toBe(u === o1 ? 2 : 1);
      // Members of a REQUEST group leave by themselves.
      expect(expectOk(await t.gql(LEAVE, { id: g.id }, as(asker))).leaveGroup.viewerMembership).toBe('NONE');
    });

    it('a request to a group without owners tells the admins; a withdrawn one tells nobody', async () => {
      const [asker, other, late] = await users(3);
      const g = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST' });
      expectOk(await request(asker, g.id));
      await drain();
      expect((await heard(admin)).filter((n: any) => n.data.group === g.slug).map((n: any) => n.kind)).toEqual(['GROUP_MEMBERSHIP_REQUEST']);
      // Withdrawn before the worker came round to it: nobody hears of it.
      expectOk(await request(other, g.id));
      expect(expectOk(await t.gql(WITHDRAW, { id: g.id }, as(other))).withdrawGroupRequest.viewerMembership).toBe('NONE');
      expectOk(await t.gql(WITHDRAW, { id: g.id }, as(other)));
      await drain();
      expect((await heard(admin)).filter((n: any) => n.data.requester === other.handle)).toEqual([]);
      // Withdrawn once the admins were told: its news goes (the request is kept, marked withdrawn).
      expectOk(await request(late, g.id));
      await drain();
      expect((await heard(admin)).filter((n: any) => n.data.requester === late.handle).map((n: any) => n.kind)).toEqual(['GROUP_MEMBERSHIP_REQUEST']);
      expectOk(await t.gql(WITHDRAW, { id: g.id }, as(late)));
      expect((await heard(admin)).filter((n: any) => n.data.requester === late.handle)).toEqual([]);
      // The admin decides it.
      const requestId = (await pendingOf(g.id, asker))!;
      expectOk(await t.gql(DECIDE, { input: { requestId, accept: true } }, as(admin)));
      expect(await memberIds(g.id)).toEqual([asker.id]);
    });

    it('withdrawing answers the group as the requester sees it now: as it is to one who still sees it, null for a group hidden from them since they asked (withdrawn all the same)', async () => {
      const [asker, member] = await users(2);
      const seen = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST', members: [member] });
      expectOk(await request(asker, seen.id));
      expect(expectOk(await t.gql(WITHDRAW_FULL, { id: seen.id }, as(asker))).withdrawGroupRequest).toEqual({ id: seen.id, name: seen.slug, viewerMembership: 'NONE', memberCount: 1 });
      // Asked while the group took requests, hidden from them since (written directly: a request left waiting when a group stopped taking them).
      const hidden = await makeG({ visibility: 'MEMBERS', joining: 'CLOSED', members: [member] });
      await t.sql(`INSERT INTO group_requests (id, group_id, user_id, message) VALUES (gen_random_uuid(), $1, $2, 'let me in')`, [hidden.id, asker.id]);
      expect(expectOk(await t.gql(WITHDRAW_FULL, { id: hidden.id }, as(asker)))).toEqual({ withdrawGroupRequest: null });
      expect(await t.sql(`SELECT ended FROM group_requests WHERE group_id = $1 AND user_id = $2`, [hidden.id, asker.id])).toEqual([{ ended: 'WITHDRAWN' }]);
      // Nothing waits now: the group is no more theirs to name than anyone's (NOT_FOUND, as a missing one).
      expectNotFound(await t.gql(WITHDRAW_FULL, { id: hidden.id }, as(asker)), 'withdrawGroupRequest');
      expectNotFound(await t.gql(WITHDRAW_FULL, { id: MISSING }, as(asker)), 'withdrawGroupRequest');
    });

    it('tells a manager deciding a request that no longer waits (withdrawn, or decided) CONFLICT before anything they may not do; anyone else NOT_FOUND, as a missing one', async () => {
      const [owner, formerOwner, member, outsider, asker, decided] = await users(6);
      const g = await makeG({ visibility: 'MEMBERS', joining: 'CLOSED', owners: [owner, formerOwner], members: [member] });
      // Asked while the group took requests (written directly: a REQUEST group is seen by all signed in).
      const ask = async (u: TestUser) => (await t.sql(`INSERT INTO group_requests (id, group_id, user_id, message) VALUES (gen_random_uuid(), $1, $2, 'let me in') RETURNING id`, [g.id, u.id]))[0].id as string;
      const withdrawnId = await ask(asker);
      const decidedId = await ask(decided);
      expectOk(await t.gql(WITHDRAW, { id: g.id }, as(asker)));
      expectOk(await t.gql(DECIDE, { input: { requestId: decidedId, accept: false } }, as(owner)));
      expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: formerOwner.id, owner: false } }, as(admin)));
      // Accepting is what an owner may no longer do here (a group moderating a space: admins alone put people in), and the decided requester is banned since.
      const space = await makeSpace(t, 'RESTRICTED');
      expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, groupId: g.id, level: 'MODERATE' } }, as(admin)));
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason) VALUES (gen_random_uuid(), $1, 'BAN', 'test')`, [decided.id]);
      const before = await t.sql(`SELECT id, decided_at, accepted, decided_by FROM group_requests WHERE group_id = $1 ORDER BY id`, [g.id]);
      for (const [requestId, said] of [[withdrawnId, 'This request was withdrawn'], [decidedId, 'This request was decided already']]) {
        for (const accept of [true, false]) {
          for (const manager of [owner, admin]) {
            expect(expectError(await t.gql(DECIDE, { input: { requestId, accept } }, as(manager)), 'CONFLICT').message).toBe(said);
          }
          // Who may not manage the group learns nothing of it: not its plain member, not an owner no more, not an outsider it is hidden from.
          for (const who of [member, formerOwner, outsider]) {
            const err = expectError(await t.gql(DECIDE, { input: { requestId, accept } }, as(who)), 'NOT_FOUND');
            expect(err.message).toBe(expectError(await t.gql(DECIDE, { input: { requestId: MISSING, accept } }, as(who)), 'NOT_FOUND').message);
          }
        }
      }
      expect(await t.sql(`SELECT id, decided_at, accepted, decided_by FROM group_requests WHERE group_id = $1 ORDER BY id`, [g.id])).toEqual(before);
      expect(await memberIds(g.id)).toEqual([owner.id, formerOwner.id, member.id].sort());
      // Withdrawn, it no longer waits: the requester may ask again (of a group taking requests, moderating nothing), and that one is decided as any.
      await t.sql(`DELETE FROM space_grants WHERE group_id = $1`, [g.id]);
      await t.sql(`UPDATE groups SET visibility = 'SIGNED_IN', joining = 'REQUEST' WHERE id = $1`, [g.id]);
      expectOk(await request(asker, g.id));
      const again = (await pendingOf(g.id, asker))!;
      expect(again).not.toBe(withdrawnId);
      expectOk(await t.gql(DECIDE, { input: { requestId: again, accept: true } }, as(admin)));
      expect(await memberIds(g.id)).toContain(asker.id);
    });

    it('takes a request’s news from whoever may no longer see it: an owner no more, a requester the group is hidden from, a deleted requester', async () => {
      const [o1, o2, asker, gone] = await users(4);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [o1, o2] });
      for (const u of [asker, gone]) expectOk(await request(u, g.id));
      await drain();
      const ofGroup = async (u: TestUser) => (await heard(u)).filter((n: any) => n.data.group === g.slug);
      const COUNTS = `{ all: notifications(first: 50) { totalCount } unread: notifications(first: 50, unreadOnly: true) { totalCount } }`;
      const counts = async (u: TestUser) => expectOk(await t.gql(COUNTS, {}, as(u)));
      expect((await ofGroup(o1)).map((n: any) => n.data.requester).sort()).toEqual([asker.handle, gone.handle].sort());
      expect(await counts(o1)).toEqual({ all: { totalCount: 2 }, unread: { totalCount: 2 } });

      // No longer an owner: the requests are not theirs, nor is the news of them (listed, counted, e-mailed).
      expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: o1.id, owner: false } }, as(admin)));
      expect(await ofGroup(o1)).toEqual([]);
      expect(await counts(o1)).toEqual({ all: { totalCount: 0 }, unread: { totalCount: 0 } });
      await t.sql(`UPDATE notifications SET created_at = now() - interval '1 day' WHERE user_id = ANY($1::uuid[])`, [[o1.id, o2.id]]);
      const mails = await t.get(EmailDigest).sendDue();
      expect(mails.filter((m) => m.to === o1.email)).toEqual([]);
      expect(mails.find((m) => m.to === o2.email)?.text).toContain(asker.handle);
      // A requester's account deleted: its request, and the handle it had, are gone from the owners' news.
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, as(admin)));
      expect((await ofGroup(o2)).map((n: any) => n.data.requester)).toEqual([asker.handle]);

      // The decision is the requester's while they see the group.
      const requestId = (await pendingOf(g.id, asker))!;
      expectOk(await t.gql(DECIDE, { input: { requestId, accept: false } }, as(o2)));
      await drain();
      expect((await ofGroup(asker)).map((n: any) => n.kind)).toEqual(['GROUP_MEMBERSHIP_DECIDED']);
      expectOk(await t.gql(UPDATE, { input: { groupId: g.id, visibility: 'MEMBERS', joining: 'CLOSED' } }, as(admin)));
      expect(await ofGroup(asker)).toEqual([]);
      expect(await counts(asker)).toEqual({ all: { totalCount: 0 }, unread: { totalCount: 0 } });
      expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, as(asker))).markNotificationsRead).toBe(0);
      // Its owners, and the admins, still see it all.
      expect((await ofGroup(o2)).map((n: any) => n.kind)).toEqual(['GROUP_MEMBERSHIP_REQUEST']);
    });

    it('names the group of a request’s news as it is now, by its id: renamed, or given a new slug, in the list, a push and the e-mail', async () => {
      const [owner, asker] = await users(2);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      expectOk(await request(asker, g.id));
      await drain();
      const requestId = (await pendingOf(g.id, asker))!;
      expectOk(await t.gql(DECIDE, { input: { requestId, accept: true } }, as(owner)));
      await drain();
      // Stored by the group's id alone: neither its slug nor its name, which may change.
      expect(await t.sql(`SELECT kind, data FROM notifications WHERE data->>'requestId' = $1 ORDER BY kind DESC`, [requestId])).toEqual([
        { kind: 'GROUP_MEMBERSHIP_REQUEST', data: { requestId, groupId: g.id, requester: asker.handle } },
        { kind: 'GROUP_MEMBERSHIP_DECIDED', data: { requestId, accepted: true, groupId: g.id } },
      ]);
      // Renamed by an admin, and given a new slug (no mutation does it; a data fix may).
      expectOk(await t.gql(`mutation($input: UpdateGroupInput!) { updateGroup(input: $input) { id } }`, { input: { groupId: g.id, name: 'Hub firmware testers' } }, as(admin)));
      const slug = `${g.slug}-renamed`;
      await t.sql(`UPDATE groups SET slug = $2 WHERE id = $1`, [g.id, slug]);
      const now = { groupId: g.id, group: slug, groupName: 'Hub firmware testers' };
      expect(await heard(owner)).toEqual([{ kind: 'GROUP_MEMBERSHIP_REQUEST', data: { requestId, ...now, requester: asker.handle } }]);
      expect(await heard(asker)).toEqual([{ kind: 'GROUP_MEMBERSHIP_DECIDED', data: { requestId, accepted: true, ...now } }]);
      // A push of it now (a node that got to it late) reads it as the list does.
      const s = await connectLive(url, sockets, owner.token);
      const pushed = heardLive(s, 'notification');
      await t.sql(`SELECT pg_notify('parvis_notifications', json_build_object('userId', user_id, 'id', id)::text) FROM notifications WHERE user_id = $1`, [owner.id]);
      expect(await pushed.first((n) => n.kind === 'GROUP_MEMBERSHIP_REQUEST' && n.data?.requestId === requestId)).toMatchObject({ kind: 'GROUP_MEMBERSHIP_REQUEST', data: now });
      // The e-mail names it as it is named now.
      await t.sql(`UPDATE notifications SET created_at = now() - interval '1 day' WHERE user_id = ANY($1::uuid[])`, [[owner.id, asker.id]]);
      const mails = await t.get(EmailDigest).sendDue();
      for (const u of [owner, asker]) {
        const text = mails.find((m) => m.to === u.email)!.text;
        expect(text).toContain('— “Hub firmware testers”');
        expect(text).not.toContain(`“${g.slug}”`);
      }
    });

    it('gives news of requests stored with a slug and name their request’s group by id, and none of them a slug or name (migration, down and up)', async () => {
      const [owner, asker, other] = await users(3);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      expectOk(await request(asker, g.id));
      const requestId = (await pendingOf(g.id, asker))!;
      const gone = '01a207d7-22e1-733a-9303-5a2047c59e37';
      const old = (requestId: string, source: string) =>
        t.sql(
          `INSERT INTO notifications (id, user_id, kind, actor_id, data, source)
           VALUES (gen_random_uuid(), $1, 'GROUP_MEMBERSHIP_REQUEST', $2, jsonb_build_object('requestId', $3::text, 'group', 'slug-then', 'groupName', 'Name then', 'requester', $4::text), $5)`,
          [owner.id, asker.id, requestId, asker.handle, source],
        );
      await old(requestId, 'request-group-ids-resolved');
      await old(gone, 'request-group-ids-gone');
      // A slug taken since by another group names nothing: the request says which group it was.
      const taken = await makeG({ visibility: 'PUBLIC', owners: [other] });
      await t.sql(`UPDATE groups SET slug = 'slug-then' WHERE id = $1`, [taken.id]);
      // Undone and done again: the notices stored by id already go back to a slug and name, and return.
      await redoMigration(t, new NotificationSubjectIds1765008000000());
      expect(await t.sql(`SELECT source, data FROM notifications WHERE user_id = $1 AND source LIKE 'request-group-ids-%' ORDER BY source DESC`, [owner.id])).toEqual([
        { source: 'request-group-ids-resolved', data: { requestId, groupId: g.id, requester: asker.handle } },
        { source: 'request-group-ids-gone', data: { requestId: gone, requester: asker.handle } },
      ]);
      expect((await heard(owner)).filter((n: any) => n.data.requestId === requestId).map((n: any) => n.data)).toEqual([
        { requestId, groupId: g.id, group: g.slug, groupName: g.slug, requester: asker.handle },
      ]);
    });

    it('keeps withdrawn requests withdrawn, and forgets those that ended otherwise (as they were deleted) when undone (migration, down and up)', async () => {
      const [withdrawing, joining, deleted, waiting, accepted] = await users(5);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST' });
      for (const u of [withdrawing, joining, deleted, waiting, accepted]) expectOk(await request(u, g.id));
      const acceptedId = (await pendingOf(g.id, accepted))!;
      expectOk(await t.gql(DECIDE, { input: { requestId: acceptedId, accept: true } }, as(admin)));
      expectOk(await t.gql(WITHDRAW, { id: g.id }, as(withdrawing)));
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: joining.id } }, as(admin)));
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: deleted.id }, as(admin)));
      const states = () => t.sql(`SELECT user_id, ended, accepted FROM group_requests WHERE group_id = $1 ORDER BY user_id`, [g.id]);
      const before = await states();
      expect(before.map((r) => r.ended).sort()).toEqual(['ACCOUNT_DELETED', 'JOINED', 'WITHDRAWN', null, null].sort());
      await redoMigration(t, new GroupRequestEndings1765018800000(), new GroupRequestsEndedBySwitch1765076400000());
      expect(await states()).toEqual(before.filter((r) => r.user_id !== joining.id && r.user_id !== deleted.id));
      const withdrawnId = (await t.sql(`SELECT id FROM group_requests WHERE user_id = $1`, [withdrawing.id]))[0].id;
      expect(expectError(await t.gql(DECIDE, { input: { requestId: withdrawnId, accept: true } }, as(admin)), 'CONFLICT').message).toBe('This request was withdrawn');
    });

    it('a group that stops taking requests (REQUEST to OPEN or CLOSED) ends those waiting as it switches, tells each requester what it became, and leaves its managers none to decide', async () => {
      const [owner, a1, a2, a3, a4, declined] = await users(6);
      const toOpen = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      const toClosed = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST', owners: [owner] });
      const hidden = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      for (const u of [a1, a2, declined]) expectOk(await request(u, toOpen.id));
      expectOk(await request(a3, toClosed.id));
      expectOk(await request(a4, hidden.id));
      await drain();
      const declinedId = (await pendingOf(toOpen.id, declined))!;
      expectOk(await t.gql(DECIDE, { input: { requestId: declinedId, accept: false } }, as(owner)));
      const ids = { a1: (await pendingOf(toOpen.id, a1))!, a2: (await pendingOf(toOpen.id, a2))!, a3: (await pendingOf(toClosed.id, a3))!, a4: (await pendingOf(hidden.id, a4))! };
      const requestNews = async () => (await heard(owner)).filter((n: any) => n.kind === 'GROUP_MEMBERSHIP_REQUEST').map((n: any) => n.data.requester).sort();
      expect(await requestNews()).toEqual([a1, a2, declined, a3, a4].map((u) => u.handle).sort());
      expect(expectOk(await t.gql(REQUESTS, { slug: toOpen.slug }, as(owner))).group.requests.totalCount).toBe(2);

      // Bad input writes nothing: the requests still wait.
      expectError(await t.gql(UPDATE, { input: { groupId: toOpen.id, joining: 'OPEN', visibility: 'OWNERS' } }, as(admin)), 'BAD_USER_INPUT');
      // A change that keeps it taking requests ends none.
      expectOk(await t.gql(UPDATE, { input: { groupId: toOpen.id, visibility: 'PUBLIC' } }, as(admin)));
      expect(await pendingOf(toOpen.id, a1)).toBe(ids.a1);

      const live = await connectLive(url, sockets, a1.token);
      const pushed = heardLive(live, 'notification');
      expectOk(await t.gql(UPDATE, { input: { groupId: toOpen.id, joining: 'OPEN' } }, as(admin)));
      expectOk(await t.gql(UPDATE, { input: { groupId: toClosed.id, joining: 'CLOSED' } }, as(admin)));
      expectOk(await t.gql(UPDATE, { input: { groupId: hidden.id, joining: 'CLOSED', visibility: 'OWNERS' } }, as(admin)));
      // Ended in the switch's transaction, kept (how they ended said), the decided one untouched.
      const rows = await t.sql(`SELECT id, ended, decided_at IS NOT NULL AS over, accepted FROM group_requests WHERE id = ANY($1::uuid[]) ORDER BY id`, [[...Object.values(ids), declinedId]]);
      expect(rows).toEqual([...Object.values(ids).map((id) => ({ id, ended: 'JOINING_CHANGED', over: true, accepted: null })), { id: declinedId, ended: null, over: true, accepted: false }].sort((x, y) => (x.id < y.id ? -1 : 1)));
      const switchLog = await t.sql(`SELECT after->>'requestsEnded' AS n FROM moderation_log WHERE action = 'group.update' AND target_id = $1 ORDER BY id DESC LIMIT 1`, [toOpen.id]);
      expect(switchLog).toEqual([{ n: '2' }]);
      // Its managers have none left to decide: the list, its count, their news of them; deciding one is CONFLICT, saying why.
      for (const g of [toOpen, toClosed]) expect(expectOk(await t.gql(REQUESTS, { slug: g.slug }, as(owner))).group.requests).toMatchObject({ totalCount: 0, edges: [] });
      expect(await requestNews()).toEqual([declined.handle]);
      expect(expectError(await t.gql(DECIDE, { input: { requestId: ids.a1, accept: true } }, as(owner)), 'CONFLICT').message).toBe('This group no longer takes requests');
      expect(expectOk(await t.gql(GROUP, { slug: toOpen.slug }, as(a1))).group.viewerMembership).toBe('NONE');

      // Each requester is told what the group became (pushed live too); one the group is hidden from now, nothing.
      await drain();
      const closedNews = (n: { kind: string; data: any }, g: { id: string; slug: string }, requestId: string, joining: string) =>
        expect(n).toEqual({ kind: 'GROUP_REQUEST_CLOSED', data: { requestId, groupId: g.id, group: g.slug, groupName: g.slug, joining } });
      for (const [u, id] of [[a1, ids.a1], [a2, ids.a2]] as const) {
        const news = await heard(u);
        expect(news.length).toBe(1);
        closedNews(news[0], toOpen, id, 'OPEN');
      }
      expect(await pushed.first((n) => n.kind === 'GROUP_REQUEST_CLOSED' && n.data?.requestId === ids.a1)).toMatchObject({ kind: 'GROUP_REQUEST_CLOSED', data: { requestId: ids.a1, joining: 'OPEN', groupName: toOpen.slug } });
      const [news3] = await heard(a3);
      closedNews(news3, toClosed, ids.a3, 'CLOSED');
      expect(await heard(a4)).toEqual([]);
      expect(await heard(declined)).toEqual([{ kind: 'GROUP_MEMBERSHIP_DECIDED', data: { requestId: declinedId, accepted: false, groupId: toOpen.id, group: toOpen.slug, groupName: toOpen.slug } }]);
      // Delivered again, it doubles nothing.
      await t.sql(`UPDATE outbox SET processed_at = NULL WHERE type = 'group.membership_request_closed'`);
      await drain();
      expect((await heard(a1)).length).toBe(1);
      // E-mailed as it is: whether they may join by themselves.
      await t.sql(`UPDATE notifications SET created_at = now() - interval '1 day' WHERE user_id = ANY($1::uuid[])`, [[a1.id, a3.id]]);
      const mails = await t.get(EmailDigest).sendDue();
      expect(mails.find((m) => m.to === a1.email)!.text).toContain('A group you asked to join is open now: your request was closed, join it yourself — “' + toOpen.slug + '”');
      expect(mails.find((m) => m.to === a3.email)!.text).toContain('A group you asked to join no longer takes requests: your request was closed — “' + toClosed.slug + '”');
      // Open now: they join by themselves.
      expect(expectOk(await t.gql(JOIN, { id: toOpen.id }, as(a1))).joinGroup.viewerMembership).toBe('MEMBER');
    });

    it('ends requests left waiting in a group that no longer takes requests, and tells their requesters; forgets them when undone (migration, down and up)', async () => {
      const [asker, waiting] = await users(2);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'CLOSED' });
      const open = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST' });
      // Left waiting by a switch made before (written directly), and one in a group taking requests.
      const [{ id: leftId }] = await t.sql(`INSERT INTO group_requests (id, group_id, user_id, message) VALUES (gen_random_uuid(), $1, $2, 'let me in') RETURNING id`, [g.id, asker.id]);
      expectOk(await request(waiting, open.id));
      await redoMigration(t, new GroupRequestsEndedBySwitch1765076400000());
      expect(await t.sql(`SELECT ended, decided_at IS NOT NULL AS over FROM group_requests WHERE id = $1`, [leftId])).toEqual([{ ended: 'JOINING_CHANGED', over: true }]);
      expect(await pendingOf(open.id, waiting)).toBeDefined();
      await drain();
      expect(await heard(asker)).toEqual([{ kind: 'GROUP_REQUEST_CLOSED', data: { requestId: leftId, groupId: g.id, group: g.slug, groupName: g.slug, joining: 'CLOSED' } }]);
      // A switch since, whose event the worker has not reached yet.
      const [late] = await users(1);
      const switched = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST' });
      expectOk(await request(late, switched.id));
      expectOk(await t.gql(UPDATE, { input: { groupId: switched.id, joining: 'OPEN' } }, as(admin)));
      // Undone: the code before knows no such ending, nor its news.
      const runner = t.ds.createQueryRunner();
      try {
        await new GroupRequestsEndedBySwitch1765076400000().down(runner);
        expect(await t.sql(`SELECT 1 FROM group_requests WHERE id = $1`, [leftId])).toEqual([]);
        expect(await t.sql(`SELECT 1 FROM notifications WHERE kind = 'GROUP_REQUEST_CLOSED'`)).toEqual([]);
        // Nor the events that told of them (up's, delivered here, and one a switch wrote and the worker has not reached), which no handler before reads.
        expect(await t.sql(`SELECT 1 FROM outbox WHERE type = 'group.membership_request_closed'`)).toEqual([]);
      } finally {
        await new GroupRequestsEndedBySwitch1765076400000().up(runner);
        await runner.release();
      }
      expect(await pendingOf(open.id, waiting)).toBeDefined();
    });

    it('asks only of REQUEST groups, not while silenced, with a message of 1–500 characters; bad input writes nothing', async () => {
      const [asker, silenced] = await users(2);
      const g = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST' });
      const rows = async () => (await t.sql(`SELECT (SELECT count(*) FROM group_requests)::int AS r, (SELECT count(*) FROM outbox WHERE type = 'group.membership_requested')::int AS o, (SELECT count(*) FROM rate_events WHERE bucket = $1)::int AS e`, [GROUP_REQUESTS_PER_USER.bucket]))[0];
      const before = await rows();
      for (const message of ['', '   ', '\u200b\u200b', 'x'.repeat(501), '👍'.repeat(501)]) {
        expect([...new Set(expectError(await request(asker, g.id, message), 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field))]).toEqual(['message']);
      }
      expectError(await t.gql(REQUEST, { input: { groupId: 'nope', message: 'hi' } }, as(asker)), 'BAD_USER_INPUT');
      expectError(await t.gql(DECIDE, { input: { requestId: 'nope', accept: true } }, as(admin)), 'BAD_USER_INPUT');
      for (const joining of ['OPEN', 'CLOSED'] as const) expectError(await request(asker, (await makeG({ visibility: 'PUBLIC', joining })).id), 'FORBIDDEN');
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silenced.id]);
      expectError(await request(silenced, g.id), 'FORBIDDEN');
      expectError(await request(undefined as unknown as TestUser, g.id), 'UNAUTHENTICATED');
      expect(await rows()).toEqual(before);
      expectOk(await request(asker, g.id, 'x'.repeat(500)));
    });

    it(`limits requests to ${GROUP_REQUESTS_PER_USER.limit} a day per member; refused ones do not count`, async () => {
      const asker = await makeUser(t);
      const g = await makeG({ visibility: 'PUBLIC', joining: 'REQUEST' });
      for (let i = 0; i < GROUP_REQUESTS_PER_USER.limit; i++) {
        expectOk(await request(asker, g.id));
        expectError(await request(asker, g.id), 'CONFLICT'); // waits already: not counted
        expectOk(await t.gql(WITHDRAW, { id: g.id }, as(asker)));
      }
      const limited = expectError(await request(asker, g.id), 'RATE_LIMITED');
      expect(limited.extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(await pendingOf(g.id, asker)).toBeUndefined();
    });

    it('two owners deciding the same request at once: one wins, the other is CONFLICT (the request’s row is locked)', async () => {
      const [o1, o2, asker] = await users(3);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [o1, o2] });
      expectOk(await request(asker, g.id));
      const requestId = (await pendingOf(g.id, asker))!;
      const results = await withLockHeld(t, `SELECT 1 FROM group_requests WHERE id = $1 FOR UPDATE`, [requestId], async (holder) => {
        const accept = t.gql(DECIDE, { input: { requestId, accept: true } }, as(o1));
        const decline = t.gql(DECIDE, { input: { requestId, accept: false } }, as(o2));
        await holder.waiting(2);
        await holder.release();
        return Promise.all([accept, decline]);
      });
      const codes = results.map((r) => r.errors?.[0]?.extensions.code ?? 'OK').sort();
      expect(codes).toEqual(['CONFLICT', 'OK']);
      const [decided] = await t.sql(`SELECT accepted, decided_by FROM group_requests WHERE id = $1`, [requestId]);
      expect(await memberIds(g.id)).toEqual(decided.accepted ? [o1.id, o2.id, asker.id].sort() : [o1.id, o2.id].sort());
      expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'group.membership_decided' AND payload->>'requestId' = $1`, [requestId])).toEqual([{ n: 1 }]);
    });

    it('accepting a request as its requester deletes their account: no deadlock (the account is locked before the request), and the account ends in no group', async () => {
      const owner = await makeUser(t);
      const asker = await makeUser(t, { passwordHash: await hashPassword('a long enough password') });
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      const elsewhere = await makeG({ members: [asker] });
      expectOk(await request(asker, g.id));
      const requestId = (await pendingOf(g.id, asker))!;
      const attempts = jest.spyOn(t.get(GroupMemberships), 'lock');
      let results: GqlResult[] = [];
      let decisions = 0;
      try {
        // The deletion, holding the account, waits for one of its memberships (as an owner removing them holds it)...
        results = await withLockHeld(t, `SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2 FOR UPDATE`, [elsewhere.id, asker.id], async (holder) => {
          const deleting = t.gql(`mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) }`, { input: { password: 'a long enough password' } }, as(asker));
          await holder.waiting(1);
          // ...and the decision waits for the account, before it takes the request the deletion ends next.
          const accepting = t.gql(DECIDE, { input: { requestId, accept: true } }, as(owner));
          await holder.waiting(2);
          await holder.release();
          return Promise.all([deleting, accepting]);
        });
        decisions = attempts.mock.calls.length;
      } finally {
        attempts.mockRestore();
      }
      expect(expectOk(results[0]).deleteMyAccount).toBe(true);
      // Tried once (a deadlock is tried again): the account was gone, its request ended with it.
      expect([results[1].errors?.[0]?.extensions.code, results[1].errors?.[0]?.message, decisions]).toEqual(['CONFLICT', 'Its requester’s account was deleted', 1]);
      expect(await t.sql(`SELECT group_id FROM group_members WHERE user_id = $1`, [asker.id])).toEqual([]);
      expect(await t.sql(`SELECT id, ended, accepted FROM group_requests WHERE user_id = $1`, [asker.id])).toEqual([{ id: requestId, ended: 'ACCOUNT_DELETED', accepted: null }]);
    });

    const ownDeletions: Array<[string, Joining, (u: TestUser, groupId: string) => Promise<GqlResult>]> = [
      ['joining an OPEN group', 'OPEN', (u, groupId) => t.gql(JOIN, { id: groupId }, as(u))],
      ['asking to join a REQUEST group', 'REQUEST', (u, groupId) => request(u, groupId)],
    ];
    it.each(ownDeletions)('%s while one’s own account is being deleted: waits for the account (held after the group), finds it gone, and leaves nothing behind', async (_, joining, join) => {
      const member = await makeUser(t, { passwordHash: await hashPassword('a long enough password') });
      const g = await makeG({ visibility: 'PUBLIC', joining });
      // A membership elsewhere, whose end the deletion logs.
      await makeG({ members: [member] });
      // The deletion, holding the account (and the groups, FOR SHARE), waits for the moderation log...
      const { outcome, results } = await withLockHeld(t, `SELECT pg_advisory_xact_lock($1)`, [AUDIT_LOCK], async (holder) => {
        const deleting = t.gql(`mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) }`, { input: { password: 'a long enough password' } }, as(member));
        await waitForLockWaits(t, 1, holder);
        // ...and the join, on the session the deletion has not ended yet, waits for the account before it writes anything.
        const joiningNow = join(member, g.id);
        const outcome = await doneOrWaiting(t, joiningNow, 2, holder);
        await holder.release();
        return { outcome, results: await Promise.all([deleting, joiningNow]) };
      });
      expect(outcome).toBe('waiting');
      expect(expectOk(results[0]).deleteMyAccount).toBe(true);
      expectError(results[1], 'UNAUTHENTICATED');
      expect(await t.sql(`SELECT group_id FROM group_members WHERE user_id = $1`, [member.id])).toEqual([]);
      expect(await t.sql(`SELECT id FROM group_requests WHERE user_id = $1`, [member.id])).toEqual([]);
      expect(await log(g.id)).toEqual([]);
    });

    it('keeps a request that ends without a decision, saying how to a manager deciding it (CONFLICT), listed nowhere as waiting; NOT_FOUND once its group is gone', async () => {
      const owner = await makeUser(t);
      const leaving = await makeUser(t, { passwordHash: await hashPassword('a long enough password') });
      const [byAdmin, byOwner, madeOwner, invited, joiner, anonymized, decided] = await users(7);
      const g = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      const askers = [byAdmin, byOwner, madeOwner, invited, joiner, anonymized, leaving, decided];
      for (const u of askers) expectOk(await request(u, g.id));
      const ids = new Map<TestUser, string>();
      for (const u of askers) ids.set(u, (await pendingOf(g.id, u))!);
      await drain();
      expect((await heard(owner)).filter((n: any) => n.kind === 'GROUP_MEMBERSHIP_REQUEST')).toHaveLength(askers.length);
      expectOk(await t.gql(DECIDE, { input: { requestId: ids.get(decided), accept: false } }, as(owner)));

      // Put in another way: by an admin, by an owner, made an owner, by an invitation, joining the group once opened.
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: byAdmin.id } }, as(admin)));
      expectOk(await t.gql(ADD, { input: { groupId: g.id, userId: byOwner.id } }, as(owner)));
      expectOk(await t.gql(SET_OWNER, { input: { groupId: g.id, userId: madeOwner.id, owner: true } }, as(admin)));
      const { link } = expectOk(await t.gql(`mutation($input: CreateInviteInput!) { createInvite(input: $input) { link } }`, { input: { groupIds: [g.id] } }, as(admin))).createInvite;
      expect(expectOk(await t.gql(`mutation($token: String!) { redeemInvite(token: $token) }`, { token: new URL(link).searchParams.get('token') }, as(invited))).redeemInvite).toBe(true);
      await t.sql(`UPDATE groups SET joining = 'OPEN' WHERE id = $1`, [g.id]);
      expect(expectOk(await t.gql(JOIN, { id: g.id }, as(joiner))).joinGroup.viewerMembership).toBe('MEMBER');
      await t.sql(`UPDATE groups SET joining = 'REQUEST' WHERE id = $1`, [g.id]);
      // Accounts deleted: by an admin, by their owner; and one whose request was decided before.
      for (const u of [anonymized, decided]) expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: u.id }, as(admin)));
      expectOk(await t.gql(`mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) }`, { input: { password: 'a long enough password' } }, as(leaving)));

      // Kept, ended (no decision, nobody who decided), the deleted accounts' without what they wrote.
      const rows = await t.sql(`SELECT id, ended, accepted, decided_by, decided_at IS NOT NULL AS over, message IS NOT NULL AS worded FROM group_requests WHERE group_id = $1 ORDER BY id`, [g.id]);
      const ended = (u: TestUser, how: string | null, worded: boolean) => ({ id: ids.get(u), ended: how, accepted: how ? null : false, decided_by: how ? null : owner.id, over: true, worded });
      expect(rows).toEqual(
        [
          ...[byAdmin, byOwner, madeOwner, invited, joiner].map((u) => ended(u, 'JOINED', true)),
          ...[anonymized, leaving].map((u) => ended(u, 'ACCOUNT_DELETED', false)),
          ended(decided, null, false),
        ].sort((a, b) => a.id!.localeCompare(b.id!)),
      );
      // None waits: not in the group's list nor its count, nor in anyone's standing, nor in its owners' news.
      expect(expectOk(await t.gql(REQUESTS, { slug: g.slug }, as(owner))).group.requests).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
      for (const u of [byAdmin, byOwner, invited, joiner]) expect(expectOk(await t.gql(GROUP, { slug: g.slug }, as(u))).group.viewerMembership).toBe('MEMBER');
      expect((await heard(owner)).filter((n: any) => n.kind === 'GROUP_MEMBERSHIP_REQUEST')).toEqual([]);

      // Decided, each is CONFLICT saying how it ended, to its owners and the admins, and changes nothing.
      const said: Array<[TestUser, string]> = [
        ...[byAdmin, byOwner, madeOwner, invited, joiner].map((u) => [u, 'Its requester is in the group already'] as [TestUser, string]),
        [anonymized, 'Its requester’s account was deleted'],
        [leaving, 'Its requester’s account was deleted'],
        [decided, 'This request was decided already'],
      ];
      const members = await memberIds(g.id);
      for (const [u, message] of said) {
        for (const manager of [owner, admin]) {
          for (const accept of [true, false]) {
            expect({ u: u.handle, message: expectError(await t.gql(DECIDE, { input: { requestId: ids.get(u), accept } }, as(manager)), 'CONFLICT').message }).toEqual({ u: u.handle, message });
          }
        }
        // To a member who does not manage the group, as a missing one.
        const err = expectError(await t.gql(DECIDE, { input: { requestId: ids.get(u), accept: true } }, as(byAdmin)), 'NOT_FOUND');
        expect(err.message).toBe(expectError(await t.gql(DECIDE, { input: { requestId: MISSING, accept: true } }, as(byAdmin)), 'NOT_FOUND').message);
      }
      expect(await t.sql(`SELECT id, ended, accepted, decided_by, decided_at IS NOT NULL AS over, message IS NOT NULL AS worded FROM group_requests WHERE group_id = $1 ORDER BY id`, [g.id])).toEqual(rows);
      expect(await memberIds(g.id)).toEqual(members);

      // A group gone takes its requests with it: NOT_FOUND, as a missing one.
      const gone = await makeG({ visibility: 'SIGNED_IN', joining: 'REQUEST', owners: [owner] });
      expectOk(await request(byOwner, gone.id));
      const goneId = (await pendingOf(gone.id, byOwner))!;
      await t.sql(`DELETE FROM groups WHERE id = $1`, [gone.id]);
      expect(expectError(await t.gql(DECIDE, { input: { requestId: goneId, accept: true } }, as(admin)), 'NOT_FOUND').message).toBe(
        expectError(await t.gql(DECIDE, { input: { requestId: MISSING, accept: true } }, as(admin)), 'NOT_FOUND').message,
      );
    });
  });

  describe('statement counts', () => {
    it('groups { members } and a list of users’ groups cost the same whatever their number', async () => {
      const viewer = await makeUser(t);
      const QUERY = `{ groups { slug viewerMembership memberCount members(first: 10) { totalCount edges { node { owner joinedAt user { handle } } } } requests { totalCount } } }`;
      const groupsWith = async (n: number) => {
        for (let i = 0; i < n; i++) await makeG({ visibility: 'PUBLIC', owners: [viewer], members: await users(2) });
      };
      const cost = async () => {
        let listed = 0;
        const { count, statements } = await t.countStatements(async () => (listed = expectOk(await t.gql(QUERY, {}, as(viewer))).groups.length));
        return { count, listed, statements };
      };
      await groupsWith(1);
      const few = await cost();
      await groupsWith(4);
      const many = await cost();
      expect(many.listed).toBeGreaterThan(few.listed);
      expect(many.count).toBe(few.count);
      // memberCount and totalCount read the groups' counters: no statement counts memberships.
      expect(many.statements.filter((s) => /count\(\*\)(::int)?\s+FROM group_members/i.test(s))).toEqual([]);

      // A list of users (a group's members) with their groups: one statement for all of them.
      const MEMBERS = `query($slug: String!) { group(slug: $slug) { members(first: 50) { edges { node { user { handle groups { slug memberCount viewerMembership } } } } } } }`;
      const listOf = async (n: number) => {
        const people = await users(n);
        const g = await makeG({ visibility: 'PUBLIC', members: people });
        for (const p of people) await makeG({ visibility: 'SIGNED_IN', members: [p] });
        let seen = 0;
        const { count } = await t.countStatements(async () => {
          const edges = expectOk(await t.gql(MEMBERS, { slug: g.slug }, as(viewer))).group.members.edges;
          seen = edges.filter((e: any) => e.node.user.groups.length === 2).length;
        });
        return { count, seen };
      };
      const two = await listOf(2);
      const eight = await listOf(8);
      expect([two.seen, eight.seen]).toEqual([2, 8]);
      expect(eight.count).toBe(two.count);
    });
  });
});
