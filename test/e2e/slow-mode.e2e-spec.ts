import { AddressInfo } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, REPLY } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { heardLive } from '../support/live-client';

const SLOW = `mutation($input: TopicSlowModeInput!) { setTopicSlowMode(input: $input) { id slowModeSeconds slowModeUntil } }`;
const TOPIC = `query($id: ID!) { topic(id: $id) { id slowModeSeconds slowModeUntil } }`;

describe('slow mode (setTopicSlowMode)', () => {
  let t: TestApp;
  let mod: TestUser;
  let member: TestUser;
  let board: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    mod = await makeUser(t);
    member = await makeUser(t);
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }])).id);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const slow = (token: string, input: Record<string, unknown>) => t.gql(SLOW, { input }, { token });
  const post = (token: string, topicId: string, body = 'A reply in a slow topic') => t.gql(REPLY, { input: { topicId, body } }, { token });
  const trail = async (topicId: string) =>
    (await t.sql(
      `SELECT (SELECT count(*) FROM posts WHERE topic_id = $1)::int AS posts, (SELECT count(*) FROM moderation_log WHERE target_id = $1)::int AS log,
              (SELECT count(*) FROM outbox WHERE aggregate_id = $1)::int AS events, (SELECT version FROM topics WHERE id = $1) AS version`,
      [topicId],
    ))[0];
  /** Moves a member's posts in the topic back in time, as if they had waited. */
  const age = (topicId: string, userId: string, seconds: number) =>
    t.sql(`UPDATE posts SET created_at = created_at - make_interval(secs => $3) WHERE topic_id = $1 AND author_id = $2`, [topicId, userId, seconds]);

  it('lets each member post once every so many seconds, tells them how long to wait, writes nothing when refused, and never slows moderators', async () => {
    const topic = await createTopic(t, member.token, board, { title: 'A live Q&A' });
    expect(expectOk(await slow(mod.token, { topicId: topic.id, seconds: 60 })).setTopicSlowMode).toMatchObject({ slowModeSeconds: 60, slowModeUntil: null });
    // The opening post counts as the member's latest post here.
    const early = await post(member.token, topic.id);
    expectError(early, 'RATE_LIMITED');
    expect(early.errors![0].extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect(early.errors![0].extensions!.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(early.errors![0].message).toMatch(/slow mode/);
    await age(topic.id, member.id, 61);
    expectOk(await post(member.token, topic.id));
    const before = await trail(topic.id);
    expectError(await post(member.token, topic.id), 'RATE_LIMITED');
    expect(await trail(topic.id)).toEqual(before);
    // Another member has their own turn; the moderator is not slowed.
    expectOk(await post((await makeUser(t)).token, topic.id));
    for (let i = 0; i < 3; i++) expectOk(await post(mod.token, topic.id, `Moderator answer ${i}`));
  });

  it('gives no sooner turn for deleting one’s post', async () => {
    const topic = await createTopic(t, mod.token, board, { title: 'Delete and retry' });
    expectOk(await slow(mod.token, { topicId: topic.id, seconds: 600 }));
    const first = expectOk(await post(member.token, topic.id)).replyToTopic;
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: first.id }, { token: member.token }));
    const res = await post(member.token, topic.id);
    expectError(res, 'RATE_LIMITED');
    expect(res.errors![0].extensions!.retryAfterSeconds).toBeGreaterThan(500);
  });

  it('lets one of two replies sent at once through', async () => {
    const topic = await createTopic(t, mod.token, board, { title: 'Two at once' });
    expectOk(await slow(mod.token, { topicId: topic.id, seconds: 300 }));
    const racer = await makeUser(t);
    const results = await Promise.all([1, 2, 3].map((i) => post(racer.token, topic.id, `Racing reply ${i}`)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors?.[0].extensions?.code === 'RATE_LIMITED')).toHaveLength(2);
    expect((await t.sql(`SELECT count(*)::int AS n FROM posts WHERE topic_id = $1 AND author_id = $2`, [topic.id, racer.id]))[0].n).toBe(1);
  });

  it('ends by itself after durationHours, and turns off with 0; turning off what is off writes nothing', async () => {
    const topic = await createTopic(t, mod.token, board, { title: 'For a while' });
    const set = expectOk(await slow(mod.token, { topicId: topic.id, seconds: 3600, durationHours: 2 })).setTopicSlowMode;
    const until = new Date(set.slowModeUntil).getTime();
    const [{ expected }] = await t.sql(`SELECT extract(epoch FROM now() + interval '2 hours') * 1000 AS expected`);
    expect(Math.abs(until - Number(expected))).toBeLessThan(60_000);
    expectOk(await post(member.token, topic.id));
    expectError(await post(member.token, topic.id), 'RATE_LIMITED');
    // Its end passed: readers see it off, and members post again.
    await t.sql(`UPDATE topics SET slow_mode_until = now() - interval '1 second' WHERE id = $1`, [topic.id]);
    expect(expectOk(await t.gql(TOPIC, { id: topic.id }, { token: member.token })).topic).toMatchObject({ slowModeSeconds: 0, slowModeUntil: null });
    expectOk(await post(member.token, topic.id));
    // Turning off what has ended, or is off, writes nothing.
    const before = await trail(topic.id);
    expectOk(await slow(mod.token, { topicId: topic.id, seconds: 0 }));
    expect(await trail(topic.id)).toEqual(before);
    expectOk(await slow(mod.token, { topicId: topic.id, seconds: 30 }));
    expectOk(await slow(mod.token, { topicId: topic.id, seconds: 0 }));
    expectOk(await post(member.token, topic.id));
    const logged = await t.sql(`SELECT action, before, after FROM moderation_log WHERE target_id = $1 ORDER BY id`, [topic.id]);
    expect(logged.map((l) => [l.action, l.before.slowModeSeconds, l.after.slowModeSeconds])).toEqual([
      ['topic.slow_mode', 0, 3600],
      ['topic.slow_mode', 0, 30],
      ['topic.slow_mode', 30, 0],
    ]);
  });

  it('is for the space’s moderators: others are FORBIDDEN, outsiders NOT_FOUND, bad input BAD_USER_INPUT, and nothing is written', async () => {
    const staff = await makeGroup(t);
    const insider = await makeUser(t, { groups: [staff] });
    const internal = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id);
    const open = await createTopic(t, member.token, board, { title: 'Not yours to slow' });
    const hidden = await createTopic(t, insider.token, internal, { title: 'Internal topic' });
    const before = [await trail(open.id), await trail(hidden.id)];
    expectError(await t.gql(SLOW, { input: { topicId: open.id, seconds: 60 } }), 'UNAUTHENTICATED');
    expectError(await slow(member.token, { topicId: open.id, seconds: 60 }), 'FORBIDDEN');
    expectError(await slow(insider.token, { topicId: hidden.id, seconds: 60 }), 'FORBIDDEN');
    expectError(await slow(member.token, { topicId: hidden.id, seconds: 60 }), 'NOT_FOUND');
    expectError(await slow(mod.token, { topicId: hidden.id, seconds: 60 }), 'NOT_FOUND');
    for (const input of [
      { topicId: open.id, seconds: 5 },
      { topicId: open.id, seconds: -1 },
      { topicId: open.id, seconds: 86_401 },
      { topicId: open.id, seconds: 0, durationHours: 1 },
      { topicId: open.id, seconds: 60, durationHours: 0 },
      { topicId: open.id, seconds: 60, durationHours: 8_761 },
      { topicId: 'not-a-topic', seconds: 60 },
    ]) {
      expectError(await slow(mod.token, input), 'BAD_USER_INPUT');
    }
    expect([await trail(open.id), await trail(hidden.id)]).toEqual(before);
  });

  it('announces it to the topic’s room', async () => {
    const topic = await createTopic(t, member.token, board, { title: 'Watched live' });
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const s = await new Promise<Socket>((resolve, reject) => {
      const c = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: member.token }, reconnection: false, forceNew: true });
      sockets.push(c);
      c.once('connect', () => resolve(c));
      c.once('connect_error', reject);
    });
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const updated = heardLive(s, 'topic:updated');
    expectOk(await slow(mod.token, { topicId: topic.id, seconds: 120, durationHours: 1 }));
    // The topic's push that its slow mode made, not an earlier one of its name still on its way.
    const payload = await updated.first((e) => e.topicId === topic.id && e.slowModeSeconds === 120);
    expect(payload).toMatchObject({ topicId: topic.id, slowModeSeconds: 120 });
    expect(new Date(payload.slowModeUntil).getTime()).toBeGreaterThan(Date.now());
  });
});
