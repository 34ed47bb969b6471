import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, setTopicState } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const PIN = `mutation($input: GlobalPinInput!) { setGlobalPin(input: $input) { id pinnedGlobally pinnedGloballyUntil } }`;
const PINNED = `{ pinnedTopics { id title author { handle } } }`;
const DISMISS = `mutation($id: ID!) { dismissPinnedTopic(topicId: $id) }`;

describe('site-wide pins (setGlobalPin, pinnedTopics)', () => {
  let t: TestApp;
  let mod: TestUser;
  let employee: TestUser;
  let customer: TestUser;
  let publicBoard: string;
  let internalBoard: string;

  beforeAll(async () => {
    t = await bootTestApp();
    mod = await makeUser(t, { role: 'MODERATOR' });
    const staff = await makeGroup(t);
    employee = await makeUser(t, { groups: [staff] });
    customer = await makeUser(t);
    publicBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    internalBoard = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id);
  });
  afterAll(() => t.close());

  const pin = (token: string | undefined, input: Record<string, unknown>) => t.gql(PIN, { input }, { token });
  const pinned = async (token?: string) => (expectOk(await t.gql(PINNED, {}, { token })).pinnedTopics as Array<{ id: string }>).map((p) => p.id);
  /** Unpins everything, so each test reads only its own pins. */
  const clear = () => t.sql(`UPDATE topics SET pinned_globally_at = NULL, pinned_globally_until = NULL`);
  const trail = async (topicId: string) =>
    (await t.sql(
      `SELECT (SELECT count(*) FROM moderation_log WHERE target_id = $1)::int AS log, (SELECT count(*) FROM outbox WHERE aggregate_id = $1)::int AS events,
              (SELECT version FROM topics WHERE id = $1) AS version, (SELECT count(*) FROM topic_pin_dismissals)::int AS dismissals`,
      [topicId],
    ))[0];

  beforeEach(clear);

  it('puts announcements above every feed for those who read them, newest pin first', async () => {
    const general = await createTopic(t, mod.token, publicBoard, { title: 'Welcome to the community' });
    const internal = await createTopic(t, employee.token, internalBoard, { title: 'All-hands on Friday' });
    expect(expectOk(await pin(mod.token, { topicId: general.id, pinned: true })).setGlobalPin).toMatchObject({ pinnedGlobally: true, pinnedGloballyUntil: null });
    const admin = await makeUser(t, { role: 'ADMIN' });
    expectOk(await pin(admin.token, { topicId: internal.id, pinned: true }));
    expect(await pinned(employee.token)).toEqual([internal.id, general.id]);
    expect(await pinned(customer.token)).toEqual([general.id]);
    expect(await pinned(undefined)).toEqual([general.id]);
    expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { pinnedGlobally } }`, { id: general.id })).topic.pinnedGlobally).toBe(true);
    // Hidden since: it is no announcement.
    await setTopicState(t, general.id, 'HIDDEN');
    expect(await pinned(customer.token)).toEqual([]);
  });

  it('lets each member dismiss one for themself, until it is pinned again', async () => {
    const topic = await createTopic(t, mod.token, publicBoard, { title: 'New release notes' });
    expectOk(await pin(mod.token, { topicId: topic.id, pinned: true }));
    expect(expectOk(await t.gql(DISMISS, { id: topic.id }, { token: customer.token })).dismissPinnedTopic).toBe(true);
    expect(await pinned(customer.token)).toEqual([]);
    expect(await pinned(employee.token)).toEqual([topic.id]);
    expectOk(await pin(mod.token, { topicId: topic.id, pinned: true }));
    expect(await pinned(customer.token)).toEqual([topic.id]);
    expectError(await t.gql(DISMISS, { id: topic.id }), 'UNAUTHENTICATED');
    const unpinned = await createTopic(t, mod.token, publicBoard, { title: 'Not an announcement' });
    expect(expectOk(await t.gql(DISMISS, { id: unpinned.id }, { token: customer.token })).dismissPinnedTopic).toBe(false);
    const hidden = await createTopic(t, employee.token, internalBoard, { title: 'Internal one' });
    expectError(await t.gql(DISMISS, { id: hidden.id }, { token: customer.token }), 'NOT_FOUND');
  });

  it('ends by itself after durationHours; unpinning what is not pinned writes nothing', async () => {
    const topic = await createTopic(t, mod.token, publicBoard, { title: 'Maintenance tonight' });
    const set = expectOk(await pin(mod.token, { topicId: topic.id, pinned: true, durationHours: 6 })).setGlobalPin;
    expect(new Date(set.pinnedGloballyUntil).getTime()).toBeGreaterThan(Date.now() + 5 * 3600_000);
    await t.sql(`UPDATE topics SET pinned_globally_until = now() - interval '1 second' WHERE id = $1`, [topic.id]);
    expect(await pinned(customer.token)).toEqual([]);
    expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { pinnedGlobally pinnedGloballyUntil } }`, { id: topic.id })).topic).toEqual({ pinnedGlobally: false, pinnedGloballyUntil: null });
    const before = await trail(topic.id);
    expectOk(await pin(mod.token, { topicId: topic.id, pinned: false }));
    expect(await trail(topic.id)).toEqual(before);
    expectOk(await pin(mod.token, { topicId: topic.id, pinned: true }));
    expectOk(await pin(mod.token, { topicId: topic.id, pinned: false }));
    expect(await pinned(customer.token)).toEqual([]);
    const log = await t.sql(`SELECT action, before, after FROM moderation_log WHERE target_id = $1 ORDER BY id`, [topic.id]);
    expect(log.map((l) => [l.action, l.before.pinnedGlobally, l.after.pinnedGlobally])).toEqual([
      ['topic.global_pin', false, true],
      ['topic.global_pin', false, true],
      ['topic.global_pin', true, false],
    ]);
  });

  it('is for site-wide moderators: others are refused, and nothing is written', async () => {
    const spaceMod = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }])).id);
    const topic = await createTopic(t, spaceMod.token, board, { title: 'A space moderator’s topic' });
    const internal = await createTopic(t, employee.token, internalBoard, { title: 'Internal, again' });
    const held = await createTopic(t, mod.token, publicBoard, { title: 'Waiting for approval' });
    await setTopicState(t, held.id, 'PENDING');
    const before = [await trail(topic.id), await trail(internal.id), await trail(held.id)];
    expectError(await pin(undefined, { topicId: topic.id, pinned: true }), 'UNAUTHENTICATED');
    expectError(await pin(customer.token, { topicId: topic.id, pinned: true }), 'FORBIDDEN');
    expectError(await pin(spaceMod.token, { topicId: topic.id, pinned: true }), 'FORBIDDEN');
    expectError(await pin(customer.token, { topicId: internal.id, pinned: true }), 'NOT_FOUND');
    expectError(await pin(mod.token, { topicId: held.id, pinned: true }), 'BAD_USER_INPUT');
    for (const input of [{ topicId: topic.id, pinned: false, durationHours: 2 }, { topicId: topic.id, pinned: true, durationHours: 0 }, { topicId: topic.id, pinned: true, durationHours: 8_761 }, { topicId: 'nope', pinned: true }]) {
      expectError(await pin(mod.token, input), 'BAD_USER_INPUT');
    }
    expect([await trail(topic.id), await trail(internal.id), await trail(held.id)]).toEqual(before);
  });

  it('lists two announcements or the ten it shows at most (of twelve) with their authors in the same statements', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const author = await makeUser(t);
      ids.push((await createTopic(t, author.token, publicBoard, { title: `Announcement number ${i}` })).id);
    }
    for (const id of ids.slice(0, 2)) expectOk(await pin(mod.token, { topicId: id, pinned: true }));
    const two = await t.countStatements(() => pinned(customer.token));
    for (const id of ids.slice(2)) expectOk(await pin(mod.token, { topicId: id, pinned: true }));
    const many = await t.countStatements(async () => expect(await pinned(customer.token)).toEqual(ids.slice(2).reverse()));
    expect(many.count).toBe(two.count);
  });
});
