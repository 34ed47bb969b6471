import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { GroupMentionsAndWithdrawnRequests1764997200000 } from '../../migrations/1764997200000-group-mentions-and-withdrawn-requests';
import { GroupRequestEndings1765018800000 } from '../../migrations/1765018800000-group-request-endings';
import { GroupRequestsEndedBySwitch1765076400000 } from '../../migrations/1765076400000-group-requests-ended-by-switch';
import { GROUP_MENTION_MAX_MEMBERS } from '../../libs/identity/src/groups/group.model';
import { makeBoard, makeUser, makeSpace, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { connectLive, heardLive } from '../support/live-client';
import { redoMigration } from '../support/migrations';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const LIST = `{ notifications(first: 50) { edges { node { kind data post { id } } } } }`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id slug mentionable } }`;
const UPDATE_GROUP = `mutation($input: UpdateGroupInput!) { updateGroup(input: $input) { id name description mentionable } }`;
const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;

describe('@group mentions', () => {
  let t: TestApp;
  let admin: TestUser;
  let moderator: TestUser;
  let author: TestUser;
  let board: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN' });
    moderator = await makeUser(t, { role: 'MODERATOR' });
    author = await makeUser(t);
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const drain = () => t.get(OutboxWorker).drain();
  const heard = async (u: TestUser) =>
    expectOk(await t.gql(LIST, {}, { token: u.token })).notifications.edges.map((e: any) => ({ kind: e.node.kind, group: JSON.parse(e.node.data).group, post: e.node.post?.id }));
  /** A group of `members` new users, mentionable as given, that its members see (MEMBERS, unless given). */
  const group = async (mentionable: string | undefined, members: TestUser[], visibility = 'MEMBERS', slug = `team-${randomBytes(4).toString('hex')}`) => {
    const g = expectOk(await t.gql(CREATE_GROUP, { input: { slug, name: slug, mentionable, visibility } }, { token: admin.token })).createGroup;
    for (const m of members) expectOk(await t.gql(`mutation($input: GroupMemberInput!) { addGroupMember(input: $input) { id } }`, { input: { groupId: g.id, userId: m.id } }, { token: admin.token }));
    return g as { id: string; slug: string; mentionable: string };
  };
  const users = (n: number) => Promise.all(Array.from({ length: n }, () => makeUser(t)));

  it('tells a mentionable group’s members once each (a name mention wins), never the writer, and only those who may read the post', async () => {
    const [a, b, writer] = await users(3);
    const insider = await makeUser(t);
    const g = await group('EVERYONE', [a, b, writer, insider]);
    const restricted = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ userId: insider.id, level: 'PARTICIPATE' }, { userId: writer.id, level: 'PARTICIPATE' }])).id);
    const topic = await createTopic(t, author.token, board);
    const post = await reply(t, writer.token, topic.id, `@${g.slug} can one of you answer? @${b.handle} especially`);
    const inside = await createTopic(t, writer.token, restricted, { body: `@${g.slug} inside` });
    await drain();
    expect(await heard(a)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
    expect(await heard(b)).toEqual([{ kind: 'MENTION', group: undefined, post: post.id }]);
    expect(await heard(writer)).toEqual([]);
    expect(await heard(insider)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: inside.firstPostId }, { kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
    // a is not in the restricted space: nothing of it reached them, stored or not.
    expect(await t.sql(`SELECT 1 FROM notifications WHERE user_id = $1 AND post_id = $2`, [a.id, inside.firstPostId])).toHaveLength(0);
  });

  it('tells only the members who see the group: of one seen by its owners alone (OWNERS), its owners and the admins', async () => {
    const [member, owner, writer] = await users(3);
    const g = await group('EVERYONE', [member, admin], 'OWNERS');
    expectOk(await t.gql(`mutation($input: SetGroupOwnerInput!) { setGroupOwner(input: $input) { id } }`, { input: { groupId: g.id, userId: owner.id, owner: true } }, { token: admin.token }));
    const topic = await createTopic(t, author.token, board);
    const post = await reply(t, writer.token, topic.id, `@${g.slug} anyone?`);
    await drain();
    for (const u of [owner, admin]) expect((await heard(u)).filter((n: any) => n.post === post.id)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
    expect(await heard(member)).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM notifications WHERE user_id = $1`, [member.id])).toEqual([]);
  });

  it('names the group of a mention only while its recipient still sees it: listed, counted and pushed as it is now', async () => {
    const [kept, removed, owner, writer] = await users(4);
    const g = await group('EVERYONE', [kept, removed]);
    expectOk(await t.gql(`mutation($input: SetGroupOwnerInput!) { setGroupOwner(input: $input) { id } }`, { input: { groupId: g.id, userId: owner.id, owner: true } }, { token: admin.token }));
    const topic = await createTopic(t, author.token, board);
    const post = await reply(t, writer.token, topic.id, `@${g.slug} could you look?`);
    await drain();
    for (const u of [kept, removed, owner]) expect(await heard(u)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
    // Taken out of the (MEMBERS) group, which they no longer see: the news of the post stays, without the group.
    expectOk(await t.gql(`mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { id } }`, { input: { groupId: g.id, userId: removed.id } }, { token: admin.token }));
    expect(await heard(removed)).toEqual([{ kind: 'GROUP_MENTION', group: null, post: post.id }]);
    expect(await heard(kept)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
    // The group seen by its owners alone: its plain members no longer learn its slug, its owner does.
    expectOk(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, visibility: 'OWNERS' } }, { token: admin.token }));
    expect(await heard(kept)).toEqual([{ kind: 'GROUP_MENTION', group: null, post: post.id }]);
    expect(await heard(owner)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
    const counts = expectOk(await t.gql(`{ notifications(unreadOnly: true) { totalCount } }`, {}, { token: kept.token })).notifications;
    expect(counts.totalCount).toBe(1);
    // A push of it after the change (a node that got to it late) reads it as the list does.
    const s = await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, kept.token);
    const pushed = heardLive(s, 'notification');
    await t.sql(`SELECT pg_notify('parvis_notifications', json_build_object('userId', user_id, 'id', id)::text) FROM notifications WHERE user_id = $1`, [kept.id]);
    expect(await pushed.first((n) => n.kind === 'GROUP_MENTION' && n.postId === post.id)).toMatchObject({ kind: 'GROUP_MENTION', postId: post.id, data: { group: null } });
  });

  it('names the group a mention was of by what it is now: renamed, by its new slug; its old slug taken by another group, not that one; gone, none', async () => {
    const [member, leaver, writer] = await users(3);
    const g = await group('EVERYONE', [member, leaver]);
    const topic = await createTopic(t, author.token, board);
    const post = await reply(t, writer.token, topic.id, `@${g.slug} could you look?`);
    await drain();
    const told = async (u: TestUser) => expectOk(await t.gql(LIST, {}, { token: u.token })).notifications.edges.map((e: any) => JSON.parse(e.node.data));
    expect(await told(member)).toEqual([expect.objectContaining({ number: post.number, group: g.slug, groupId: g.id })]);
    // Given a new slug (no mutation does it; a data fix may): still the group its member sees, as it is named now.
    const renamed = `${g.slug}-renamed`;
    await t.sql(`UPDATE groups SET slug = $2 WHERE id = $1`, [g.id, renamed]);
    expect(await heard(member)).toEqual([{ kind: 'GROUP_MENTION', group: renamed, post: post.id }]);
    // Its old slug now another group's, one `leaver` is in, while they were taken out of the group mentioned:
    // the other group is not the one the post named, so they are told of none.
    await group('EVERYONE', [leaver], 'MEMBERS', g.slug);
    expectOk(await t.gql(`mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { id } }`, { input: { groupId: g.id, userId: leaver.id } }, { token: admin.token }));
    expect(await told(leaver)).toEqual([expect.objectContaining({ number: post.number, group: null, groupId: null })]);
    expect(await heard(member)).toEqual([{ kind: 'GROUP_MENTION', group: renamed, post: post.id }]);
    // The group gone: none, for anyone.
    await t.sql(`DELETE FROM groups WHERE id = $1`, [g.id]);
    expect(await heard(member)).toEqual([{ kind: 'GROUP_MENTION', group: null, post: post.id }]);
  });

  it('gives notices stored with a slug the id of the group that has it, and none of them a slug (migration, down and up)', async () => {
    const [member, writer] = await users(2);
    const g = await group('EVERYONE', [member]);
    const topic = await createTopic(t, author.token, board);
    const post = await reply(t, writer.token, topic.id, 'mentions written before notices named groups by id');
    const old = (slug: string, source: string) =>
      t.sql(
        `INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source)
         VALUES (gen_random_uuid(), $1, 'GROUP_MENTION', $2, $3, $4, jsonb_build_object('number', $5::int, 'approved', false, 'group', $6::text), $7)`,
        [member.id, topic.id, post.id, writer.id, post.number, slug, source],
      );
    await old(g.slug, 'group-mention-ids-resolved');
    await old(`gone-${randomBytes(4).toString('hex')}`, 'group-mention-ids-gone');
    // Undone and done again (the later one that replaced its `withdrawn` too): the notices stored
    // by id already go back to a slug and return.
    await redoMigration(t, new GroupMentionsAndWithdrawnRequests1764997200000(), new GroupRequestEndings1765018800000(), new GroupRequestsEndedBySwitch1765076400000());
    expect(await t.sql(`SELECT source, data FROM notifications WHERE user_id = $1 ORDER BY source DESC`, [member.id])).toEqual([
      { source: 'group-mention-ids-resolved', data: { number: post.number, approved: false, groupId: g.id } },
      { source: 'group-mention-ids-gone', data: { number: post.number, approved: false } },
    ]);
    // Renamed since: the notice follows the group, not the slug it was written with.
    await t.sql(`UPDATE groups SET slug = $2 WHERE id = $1`, [g.id, `${g.slug}-renamed`]);
    expect((await heard(member)).map((n: any) => n.group).sort()).toEqual([`${g.slug}-renamed`, null].sort());
  });

  it('tells nobody when the writer may not mention the group: NOBODY (the default), MEMBERS to outsiders, STAFF to members', async () => {
    const [member, outsider, listener] = await users(3);
    const nobody = await group(undefined, [member, listener]);
    expect(nobody.mentionable).toBe('NOBODY');
    const members = await group('MEMBERS', [member, listener]);
    const staff = await group('STAFF', [member, listener]);
    const topic = await createTopic(t, author.token, board);
    await reply(t, member.token, topic.id, `@${nobody.slug} @${staff.slug}`);
    await reply(t, outsider.token, topic.id, `@${members.slug} @${staff.slug}`);
    await drain();
    expect(await heard(listener)).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM post_group_mentions WHERE group_id = ANY($1::uuid[])`, [[nobody.id, members.id, staff.id]])).toHaveLength(0);
    const byMember = await reply(t, member.token, topic.id, `@${members.slug} over to you`);
    const byStaff = await reply(t, moderator.token, topic.id, `@${staff.slug} and @${members.slug}`);
    await drain();
    expect(await heard(listener)).toEqual([
      // In both groups named: told once, of either.
      { kind: 'GROUP_MENTION', group: expect.stringMatching(new RegExp(`^(${staff.slug}|${members.slug})$`)), post: byStaff.id },
      { kind: 'GROUP_MENTION', group: members.slug, post: byMember.id },
    ]);
  });

  it('a user’s handle comes before a group’s slug, and a group too large to mention tells nobody', async () => {
    const [member, owner] = await users(2);
    const clash = await group('EVERYONE', [member]);
    await t.sql(`UPDATE users SET handle = $2 WHERE id = $1`, [owner.id, clash.slug]);
    const big = await group('EVERYONE', [member]);
    await t.sql(
      `INSERT INTO users (id, handle, email, display_name, password_hash)
       SELECT gen_random_uuid(), 'filler-' || $2 || '-' || n, 'filler-' || $2 || '-' || n || '@example.test', 'Filler', NULL FROM generate_series(1, $1::int) n`,
      [GROUP_MENTION_MAX_MEMBERS, big.slug],
    );
    await t.sql(`INSERT INTO group_members (group_id, user_id) SELECT $1, id FROM users WHERE handle LIKE 'filler-' || $2 || '-%'`, [big.id, big.slug]);
    const topic = await createTopic(t, author.token, board);
    const post = await reply(t, author.token, topic.id, `@${clash.slug} and @${big.slug}`);
    await drain();
    expect(await heard(owner)).toEqual([{ kind: 'MENTION', group: undefined, post: post.id }]);
    expect(await heard(member)).toEqual([]);
  });

  it('tells the members a later edit adds a group for, once, and not those who muted the topic', async () => {
    const [member, muting] = await users(2);
    const g = await group('EVERYONE', [member, muting]);
    const topic = await createTopic(t, author.token, board);
    const post = await reply(t, author.token, topic.id, 'no mention yet');
    expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: topic.id, level: 'MUTED' } }, { token: muting.token }));
    await drain();
    expectOk(await t.gql(EDIT, { input: { postId: post.id, body: `now asking @${g.slug}` } }, { token: author.token }));
    await drain();
    expect(await heard(member)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
    expectOk(await t.gql(EDIT, { input: { postId: post.id, body: `now asking @${g.slug}, typo fixed` } }, { token: author.token }));
    await drain();
    expect(await heard(member)).toHaveLength(1);
    expect(await heard(muting)).toEqual([]);
  });

  it('keeps a post’s group mentions when someone who could not make them edits it', async () => {
    const [member, listener, spaceMod] = await users(3);
    const g = await group('MEMBERS', [member, listener]);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }]);
    const topic = await createTopic(t, author.token, await makeBoard(t, space.id));
    const post = await reply(t, member.token, topic.id, `@${g.slug} over to you`);
    await drain();
    expectOk(await t.gql(EDIT, { input: { postId: post.id, body: `@${g.slug} over to you (typo fixed)`, reason: 'tidy' } }, { token: spaceMod.token }));
    await drain();
    expect(await t.sql(`SELECT group_id FROM post_group_mentions WHERE post_id = $1`, [post.id])).toEqual([{ group_id: g.id }]);
    expect(await heard(listener)).toEqual([{ kind: 'GROUP_MENTION', group: g.slug, post: post.id }]);
  });

  it('tells nobody of a held post approved after its group was made unmentionable', async () => {
    const [member, writer] = await users(2);
    const g = await group('EVERYONE', [member]);
    const space = await makeSpace(t, 'PUBLIC');
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [space.id]);
    const held = await createTopic(t, writer.token, await makeBoard(t, space.id), { body: `@${g.slug} can you look?` });
    await drain();
    expect(await heard(member)).toEqual([]);
    expectOk(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, mentionable: 'NOBODY' } }, { token: admin.token }));
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: held.firstPostId, action: 'APPROVE' } }, { token: moderator.token }));
    await drain();
    expect(await heard(member)).toEqual([]);
  });

  it('lets admins alone change who may mention a group, validated and logged', async () => {
    const g = await group(undefined, []);
    const changed = expectOk(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, mentionable: 'MEMBERS' } }, { token: admin.token })).updateGroup;
    expect(changed).toMatchObject({ id: g.id, name: g.slug, mentionable: 'MEMBERS' });
    expectError(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, mentionable: 'EVERYONE' } }, { token: moderator.token }), 'FORBIDDEN');
    expectError(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, mentionable: 'ALL' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, name: '   ' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(UPDATE_GROUP, { input: { groupId: '00000000-0000-4000-8000-000000000000', mentionable: 'EVERYONE' } }, { token: admin.token }), 'NOT_FOUND');
    // A slug no mention can name (mentions read 3–30 characters, as handles) cannot be mentionable.
    const short = expectError(await t.gql(CREATE_GROUP, { input: { slug: 'qa', name: 'QA', mentionable: 'EVERYONE' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expect(short.extensions.fields).toEqual([{ field: 'mentionable', message: expect.stringContaining('3–30') }]);
    const qa = expectOk(await t.gql(CREATE_GROUP, { input: { slug: `qa-${'x'.repeat(30)}`, name: 'QA' } }, { token: admin.token })).createGroup;
    expectError(await t.gql(UPDATE_GROUP, { input: { groupId: qa.id, mentionable: 'MEMBERS' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expect(await t.sql(`SELECT 1 FROM groups WHERE slug = 'qa'`)).toEqual([]);
    expectError(await t.gql(UPDATE_GROUP, { input: { groupId: g.id } }, { token: admin.token }), 'BAD_USER_INPUT');
    // Fields given as null change nothing, as absent ones: nothing asked.
    expectError(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, name: null, description: null, mentionable: null } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectOk(await t.gql(UPDATE_GROUP, { input: { groupId: g.id, mentionable: 'MEMBERS' } }, { token: admin.token })); // the same again: nothing to log
    const [row] = await t.sql(`SELECT name, mentionable FROM groups WHERE id = $1`, [g.id]);
    expect(row).toEqual({ name: g.slug, mentionable: 'MEMBERS' });
    const log = await t.sql(`SELECT before, after FROM moderation_log WHERE action = 'group.update' AND target_id = $1`, [g.id]);
    expect(log).toEqual([{ before: expect.objectContaining({ mentionable: 'NOBODY' }), after: expect.objectContaining({ mentionable: 'MEMBERS' }) }]);
  });
});
