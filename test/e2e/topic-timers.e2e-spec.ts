import { AddressInfo } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { LEVEL_RANK } from '../../libs/access/src/access-level';
import { JobScheduler } from '../../libs/core/src/jobs';
import { newId } from '../../libs/core/src/ids';
import { TopicsService } from '../../libs/forum/src/topics/topics.service';
import { TopicTimersService } from '../../libs/forum/src/timers/topic-timers.service';
import { announceTimers, TIMERS_CHANGED } from '../../libs/forum/src/timers/timers-changed';
import { TopicTimerKind } from '../../libs/forum/src/timers/topic-timer.model';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { TopicTimersRepository } from '../../libs/forum/src/timers/topic-timers.repository';
import { fullVersion, newsVersion } from '../../libs/core/src/news-versions';
import { EventBus } from '../../libs/core/src/events';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { connectLive, heardLive } from '../support/live-client';
import { gateCalls } from '../support/gates';
import { backendPid, doneOrWaiting, gateHolder, waitForLockWaits } from '../support/lock-waits';
import { poolStatementsOf } from '../support/pool-statements';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const HOUR = 3600_000;
const SET = `mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { id timers { kind at afterHours } } }`;
const REMOVE = `mutation($i: RemoveTopicTimerInput!) { removeTopicTimer(input: $i) { id timers { kind } } }`;
const STATUS = `mutation($i: TopicStatusInput!) { setTopicStatus(input: $i) { id } }`;
const TOPIC = `query($id: ID!) { topic(id: $id) { state closed pinned lastActivityAt timers { kind at afterHours setBy { id } } } }`;

describe('topic timers', () => {
  let t: TestApp;
  let author: TestUser;
  let member: TestUser;
  let mod: TestUser;
  let spaceAdmin: TestUser;
  let globalMod: TestUser;
  let otherSpaceMod: TestUser;
  let outsider: TestUser;
  let spaceId: string;
  let boardId: string;
  let restrictedBoard: string;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    member = await makeUser(t);
    mod = await makeUser(t);
    spaceAdmin = await makeUser(t);
    globalMod = await makeUser(t, { role: 'MODERATOR' });
    otherSpaceMod = await makeUser(t);
    outsider = await makeUser(t);
    spaceId = (await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }, { userId: spaceAdmin.id, level: 'ADMIN' }])).id;
    boardId = await makeBoard(t, spaceId);
    await makeSpace(t, 'PUBLIC', [{ userId: otherSpaceMod.id, level: 'MODERATE' }]);
    const staff = await makeGroup(t);
    restrictedBoard = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }, { userId: mod.id, level: 'MODERATE' }])).id);
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [staff, author.id]);
  });
  // Firing handles every due timer of the database: each test starts with none.
  afterEach(() => t.sql(`DELETE FROM topic_timers`));
  afterAll(() => t.close());

  const timers = () => t.get(TopicTimersService);
  /** Fires what is due `hours` from now, as the job will then. */
  const fire = (hours: number) => timers().fireDue(new Date(Date.now() + hours * HOUR));
  const setTimer = async (topicId: string, kind: string, extra: { at?: string; afterHours?: number }, token = mod.token) =>
    expectOk(await t.gql(SET, { i: { topicId, kind, ...extra } }, { token })).setTopicTimer;
  /** A member given MODERATE in the space (to be demoted or suspended later). */
  const newModerator = async () => {
    const user = await makeUser(t);
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES ($1, $2, $3, $4)`, [newId(), spaceId, user.id, LEVEL_RANK.MODERATE]);
    return user;
  };
  const suspend = (user: TestUser) =>
    t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SUSPEND', 'test', now() + interval '1 day')`, [user.id]);
  const read = async (topicId: string, token?: string) => expectOk(await t.gql(TOPIC, { id: topicId }, { token })).topic;
  const written = async () =>
    (await t.sql(`SELECT (SELECT count(*) FROM topic_timers)::int AS timers, (SELECT count(*) FROM moderation_log)::int AS log, (SELECT count(*) FROM outbox)::int AS outbox, (SELECT coalesce(sum(version), 0) FROM topics)::int AS versions`))[0];
  const logOf = (topicId: string, postId: string, since: Mark = { outbox: 0, log: 0 }) =>
    t.sql(`SELECT action, actor_id, reason, before, after FROM moderation_log WHERE target_id = ANY($1::uuid[]) AND id > $2 ORDER BY id`, [[topicId, postId], since.log]);

  /**
   * What a change left behind, with the topic's own ids taken out so two topics compare: its
   * outbox events and its moderation log entries (timers' own events and entries aside, and
   * reasons aside). A first post's state event carries its topic's version (`topicVersion`),
   * which differs between the two topics: compared as present only.
   */
  async function effects(topic: { id: string; firstPostId: string }, since: Mark) {
    const events = await t.sql(
      `SELECT type, payload FROM outbox WHERE id > $1 AND (aggregate_id = $2 OR payload->>'topicId' = $2::text) AND type <> $3 ORDER BY id`,
      [since.outbox, topic.id, TIMERS_CHANGED],
    );
    const log = (await logOf(topic.id, topic.firstPostId, since)).filter((e) => !e.action.startsWith('topic.timer_'));
    const anonymous = (v: unknown) =>
      JSON.parse(JSON.stringify(v).replaceAll(topic.id, 'TOPIC').replaceAll(topic.firstPostId, 'POST').replace(/"topicVersion":\d+/g, '"topicVersion":"VERSION"'));
    return { events: anonymous(events), log: log.map((e) => anonymous({ action: e.action, actor: e.actor_id, before: e.before, after: e.after })) };
  }
  /** The kinds each timers-changed event for a topic named since `since`. */
  const timersChanged = async (topicId: string, since: Mark) =>
    (await t.sql(`SELECT payload FROM outbox WHERE id > $1 AND type = $2 AND aggregate_id = $3 ORDER BY id`, [since.outbox, TIMERS_CHANGED, topicId])).map((r) => r.payload.kinds);
  type Mark = { outbox: number; log: number };
  /** Where the outbox and the log are now: what comes after is a change's. */
  const mark = async (): Promise<Mark> => {
    const [m] = await t.sql(`SELECT (SELECT coalesce(max(id), 0) FROM outbox) AS outbox, (SELECT coalesce(max(id), 0) FROM moderation_log) AS log`);
    return { outbox: Number(m.outbox), log: Number(m.log) };
  };

  type KindCase = { kind: string; prepare?: (topicId: string) => Promise<unknown>; manual: (topic: { id: string; firstPostId: string }) => Promise<unknown>; after: Record<string, unknown> };
  const status = async (topicId: string, i: Record<string, boolean>) => expectOk(await t.gql(STATUS, { i: { topicId, ...i } }, { token: mod.token }));
  const cases: KindCase[] = [
    { kind: 'CLOSE', manual: (tp) => status(tp.id, { closed: true }), after: { closed: true } },
    { kind: 'OPEN', prepare: (id) => status(id, { closed: true }), manual: (tp) => status(tp.id, { closed: false }), after: { closed: false } },
    { kind: 'CLOSE_AFTER_LAST_POST', manual: (tp) => status(tp.id, { closed: true }), after: { closed: true } },
    { kind: 'UNPIN', prepare: (id) => status(id, { pinned: true }), manual: (tp) => status(tp.id, { pinned: false }), after: { pinned: false } },
    {
      kind: 'DELETE',
      manual: async (tp) => expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: tp.firstPostId }, { token: mod.token })),
      after: { state: 'DELETED' },
    },
  ];

  it.each(cases)('fires $kind when due, with the manual change’s effects (event, log entry as the moderator who set it)', async ({ kind, prepare, manual, after }) => {
    const byHand = await createTopic(t, author.token, boardId);
    const timed = await createTopic(t, author.token, boardId);
    await prepare?.(byHand.id);
    await prepare?.(timed.id);
    let since = await mark();
    await manual(byHand);
    const manualEffects = await effects(byHand, since);

    const beforeTimer = await mark();
    await setTimer(timed.id, kind, { afterHours: 2 });
    expect(await fire(1)).toEqual({ fired: 0, dropped: 0, postponed: 0 });
    const untouched = await read(timed.id, mod.token);
    expect(untouched.timers).toEqual([expect.objectContaining({ kind })]);
    since = await mark();
    expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 });
    expect(await read(timed.id, mod.token)).toMatchObject({ ...after, timers: [] });
    const timerEffects = await effects(timed, since);
    // Besides, the room hears its timer went.
    expect(await timersChanged(timed.id, since)).toEqual([[kind]]);
    expect(manualEffects.events.length).toBeGreaterThan(0);
    expect(manualEffects.log).toHaveLength(1);
    expect(timerEffects).toEqual(manualEffects);
    expect(timerEffects.log[0].actor).toBe(mod.id);
    // The log says a timer did it, and that it was set.
    const entries = await logOf(timed.id, timed.firstPostId, beforeTimer);
    expect(entries.map((e) => [e.action, e.actor_id, e.reason])).toEqual([
      ['topic.timer_set', mod.id, null],
      [kind === 'DELETE' ? 'post.delete' : 'topic.status', mod.id, `topic timer: ${kind}`],
    ]);
    expect(entries[0].after).toMatchObject({ kind, afterHours: kind === 'CLOSE_AFTER_LAST_POST' ? 2 : null, setBy: mod.id });
  });

  it('pushes the change to the topic’s live room as a manual change does', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const s: Socket = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: member.token }, reconnection: false, forceNew: true });
    try {
      await new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('connect_error', reject));
      expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      const updated = heardLive(s, 'topic:updated');
      await setTimer(topic.id, 'CLOSE', { afterHours: 1 });
      await fire(2);
      expect(await updated.first((e) => e.topicId === topic.id && e.closed === true)).toMatchObject({ topicId: topic.id, closed: true });
    } finally {
      s.disconnect();
    }
  });

  it('tells the topic’s live room of a timer set or removed, each reader as Topic.timers answers them', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const sockets: Socket[] = [];
    try {
      const [moderator, reader, anonymous, elsewhere] = await Promise.all([
        connectLive(url, sockets, mod.token),
        connectLive(url, sockets, member.token),
        connectLive(url, sockets),
        connectLive(url, sockets, globalMod.token),
      ]);
      for (const s of [moderator, reader, anonymous]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      const other = await createTopic(t, author.token, boardId);
      expect(await elsewhere.timeout(5000).emitWithAck('topic:join', { topicId: other.id })).toEqual({ ok: true });
      const heard = new Map<Socket, unknown[]>();
      for (const s of [moderator, reader, anonymous, elsewhere]) {
        heard.set(s, []);
        s.on('topic:timers', (p: unknown) => heard.get(s)!.push(p));
      }
      // What each of `of` hears from now on; then, of each, the first push about the topic that `where` picks (what the step alone makes it say).
      type Timers = { topicId: string; timers: any[]; version: number };
      const next = (...of: Socket[]) => {
        const listening = of.map((s) => heardLive<Timers>(s, 'topic:timers'));
        return (where: (timers: string[]) => boolean) => Promise.all(listening.map((h) => h.first((e) => e.topicId === topic.id && where(e.timers.map((x) => x.kind)))));
      };

      // A status timer: every reader hears of it, the moderators also of who set it.
      let coming = next(moderator, reader, anonymous);
      await setTimer(topic.id, 'CLOSE', { afterHours: 2 });
      const [toModerator, toReader, toAnonymous] = await coming((kinds) => kinds.includes('CLOSE'));
      const at = toModerator.timers[0]?.at;
      // Each with the timers' version (live-order e2e): the first news (a status timer's change),
      // moderators' with the timers' first change on top (news * 2^31 + changes).
      const NEWS = 2 ** 31;
      expect(toModerator).toEqual({ topicId: topic.id, timers: [{ kind: 'CLOSE', at: expect.any(String), afterHours: null, setById: mod.id, boardId: null }], version: NEWS + 1 });
      expect(toReader).toEqual({ topicId: topic.id, timers: [{ kind: 'CLOSE', at, afterHours: null, setById: null, boardId: null }], version: NEWS });
      expect(toAnonymous).toEqual(toReader);
      // An UNPIN timer: the moderators alone.
      coming = next(moderator);
      await setTimer(topic.id, 'UNPIN', { afterHours: 3 });
      const unpinned = (await coming((kinds) => kinds.includes('UNPIN')))[0];
      expect(unpinned.timers.map((x: { kind: string; setById: string }) => [x.kind, x.setById])).toEqual([['CLOSE', mod.id], ['UNPIN', mod.id]]);
      // The second change, no news: the moderators' version alone tells of it.
      expect(unpinned.version).toBe(NEWS + 2);
      // The status timer removed: everyone again, readers without the UNPIN one.
      coming = next(moderator, reader, anonymous);
      expectOk(await t.gql(REMOVE, { i: { topicId: topic.id, kind: 'CLOSE' } }, { token: mod.token }));
      const [afterModerator, afterReader, afterAnonymous] = await coming((kinds) => !kinds.includes('CLOSE'));
      expect(afterModerator.timers.map((x: { kind: string }) => x.kind)).toEqual(['UNPIN']);
      expect(afterModerator.version).toBe(2 * NEWS + 3);
      expect([afterReader, afterAnonymous]).toEqual([{ topicId: topic.id, timers: [], version: 2 * NEWS }, { topicId: topic.id, timers: [], version: 2 * NEWS }]);
      // Readers heard of nothing else (a push is sent to every socket of the room at once, and
      // each socket's arrive in order), and a socket in another topic's room of nothing.
      expect(heard.get(reader)).toEqual([toReader, afterReader]);
      expect(heard.get(anonymous)).toEqual([toAnonymous, afterAnonymous]);
      expect(heard.get(elsewhere)).toEqual([]);
    } finally {
      sockets.forEach((s) => s.disconnect());
    }
  });

  it('tells no socket that left the room while its readers were judged of the timers', async () => {
    const gateway = t.get(LiveGateway);
    const topic = await createTopic(t, author.token, boardId);
    await setTimer(topic.id, 'CLOSE', { afterHours: 2 });
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const sockets: Socket[] = [];
    const gate = gateCalls(timers(), 'forReaders', (_topicId, ids: string[]) => ids.includes(globalMod.id));
    try {
      const [goneModerator, goneReader, staysModerator, staysReader] = await Promise.all([globalMod, outsider, mod, member].map((u) => connectLive(url, sockets, u.token)));
      const ask = (s: Socket, event: string) => s.timeout(5000).emitWithAck(event, { topicId: topic.id });
      for (const s of [goneModerator, goneReader, staysModerator, staysReader]) expect(await ask(s, 'topic:join')).toEqual({ ok: true });
      await gateway.settled();
      const gone: unknown[] = [];
      for (const s of [goneModerator, goneReader]) s.on('topic:timers', (p: unknown) => gone.push(p));
      const [toModerator, toReader] = [staysModerator, staysReader].map((s) => heardLive<{ topicId: string; timers: Array<{ setById: string }> }>(s, 'topic:timers'));
      // The push's judging of the room's readers (the leavers among them) waits at a gate.
      t.get(EventBus).publish({ type: TIMERS_CHANGED, aggregateType: 'topic', aggregateId: topic.id, payload: { topicId: topic.id, kinds: ['CLOSE'] } });
      await gate.begun;
      // Out of the room after it was read, before the timers go out.
      for (const s of [goneModerator, goneReader]) expect(await ask(s, 'topic:leave')).toEqual({ ok: true });
      gate.open();
      await gateway.settled();
      expect((await toModerator.first((e) => e.topicId === topic.id)).timers.map((x) => x.setById)).toEqual([mod.id]);
      expect((await toReader.first((e) => e.topicId === topic.id)).timers.map((x) => x.setById)).toEqual([null]);
      // One more answer on each connection: timers sent before it would have arrived first.
      for (const s of [goneModerator, goneReader]) expect(await ask(s, 'topic:leave')).toEqual({ ok: true });
      expect(gone).toEqual([]);
    } finally {
      gate.restore();
      sockets.forEach((s) => s.disconnect());
    }
  });

  it('runs as the fire-topic-timers job, every 30 seconds (each tick, no job_runs record)', async () => {
    const topic = await createTopic(t, author.token, boardId);
    await setTimer(topic.id, 'CLOSE', { afterHours: 1 });
    expect(t.get(JobScheduler).names()).toContain('fire-topic-timers');
    expect(await t.get(JobScheduler).runNow('fire-topic-timers')).toBe(true);
    expect((await read(topic.id)).closed).toBe(false); // not due yet
    await t.sql(`UPDATE topic_timers SET due_at = now() - interval '1 second' WHERE topic_id = $1`, [topic.id]);
    expect(await t.get(JobScheduler).runNow('fire-topic-timers')).toBe(true);
    expect((await read(topic.id)).closed).toBe(true);
    expect(await t.sql(`SELECT 1 FROM job_runs WHERE name = 'fire-topic-timers'`)).toEqual([]);
  });

  it('CLOSE_AFTER_LAST_POST counts from the last post: a reply moves its time, and it fires only after that much quiet', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const set = await setTimer(topic.id, 'CLOSE_AFTER_LAST_POST', { afterHours: 24 });
    const first = await read(topic.id);
    expect(set.timers).toEqual([{ kind: 'CLOSE_AFTER_LAST_POST', at: new Date(Date.parse(first.lastActivityAt) + 24 * HOUR).toISOString(), afterHours: 24 }]);
    // Ten quiet hours go by...
    await t.sql(`UPDATE topics SET last_activity_at = last_activity_at - interval '10 hours' WHERE id = $1`, [topic.id]);
    await t.sql(`UPDATE topic_timers SET due_at = due_at - interval '10 hours' WHERE topic_id = $1`, [topic.id]);
    // ...then a reply: the topic now closes 24 hours after it.
    await reply(t, member.token, topic.id, 'still going');
    const replied = await read(topic.id);
    expect(Date.parse(replied.lastActivityAt)).toBeGreaterThan(Date.parse(first.lastActivityAt));
    expect(Date.parse(replied.timers[0].at)).toBe(Date.parse(replied.lastActivityAt) + 24 * HOUR);
    // 20 hours on, 24 since the topic started but not since the reply: it waits, stored at its new time, and its room hears so.
    const since = await mark();
    expect(await fire(20)).toEqual({ fired: 0, dropped: 0, postponed: 1 });
    expect(await timersChanged(topic.id, since)).toEqual([['CLOSE_AFTER_LAST_POST']]);
    expect((await read(topic.id)).closed).toBe(false);
    const [stored] = await t.sql(`SELECT due_at FROM topic_timers WHERE topic_id = $1`, [topic.id]);
    expect(stored.due_at.getTime()).toBe(Date.parse(replied.lastActivityAt) + 24 * HOUR);
    expect(await fire(20)).toEqual({ fired: 0, dropped: 0, postponed: 0 });
    expect(await fire(25)).toEqual({ fired: 1, dropped: 0, postponed: 0 });
    expect((await read(topic.id)).closed).toBe(true);
  });

  it('keeps one timer per kind: setting again replaces it, removing takes it away, and both are logged', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const soon = new Date(Date.now() + 2 * HOUR).toISOString();
    const later = new Date(Date.now() + 5 * HOUR).toISOString();
    expect((await setTimer(topic.id, 'CLOSE', { at: soon })).timers).toEqual([{ kind: 'CLOSE', at: soon, afterHours: null }]);
    await setTimer(topic.id, 'UNPIN', { afterHours: 48 });
    const replaced = await setTimer(topic.id, 'CLOSE', { at: later }, spaceAdmin.token);
    expect(replaced.timers.map((x: { kind: string; at: string }) => [x.kind, x.at])).toEqual([['CLOSE', later], ['UNPIN', expect.any(String)]]);
    expect(await t.sql(`SELECT kind, set_by FROM topic_timers WHERE topic_id = $1 ORDER BY kind`, [topic.id])).toEqual([
      { kind: 'CLOSE', set_by: spaceAdmin.id },
      { kind: 'UNPIN', set_by: mod.id },
    ]);
    // The replaced time no longer counts.
    expect(await fire(3)).toEqual({ fired: 0, dropped: 0, postponed: 0 });
    expect((await read(topic.id)).closed).toBe(false);
    const removed = expectOk(await t.gql(REMOVE, { i: { topicId: topic.id, kind: 'CLOSE' } }, { token: mod.token })).removeTopicTimer;
    expect(removed.timers).toEqual([{ kind: 'UNPIN' }]);
    const before = await written();
    // Nothing to remove: nothing written.
    expectOk(await t.gql(REMOVE, { i: { topicId: topic.id, kind: 'CLOSE' } }, { token: mod.token }));
    expect(await written()).toEqual(before);
    expect(await fire(6)).toEqual({ fired: 0, dropped: 0, postponed: 0 });
    expect((await read(topic.id)).closed).toBe(false);
    const log = await logOf(topic.id, topic.firstPostId);
    expect(log.map((e) => [e.action, e.actor_id, e.before?.at ?? null, e.after?.at ?? null])).toEqual([
      ['topic.timer_set', mod.id, null, soon],
      ['topic.timer_set', mod.id, null, expect.any(String)],
      ['topic.timer_set', spaceAdmin.id, soon, later],
      ['topic.timer_remove', mod.id, later, null],
    ]);
  });

  it('answers everyone else exactly as setTopicStatus does, and writes nothing', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const hidden = await createTopic(t, author.token, restrictedBoard);
    await setTimer(topic.id, 'CLOSE', { afterHours: 3 });
    const codeOf = (res: GqlResult) => res.errors?.[0]?.extensions.code ?? 'OK';
    const before = await written();
    for (const [who, token] of [['author', author.token], ['member', member.token], ['anonymous', undefined], ['moderator elsewhere', otherSpaceMod.token]] as const) {
      for (const target of [topic.id, hidden.id]) {
        const manual = codeOf(await t.gql(STATUS, { i: { topicId: target, pinned: false, closed: false } }, { token }));
        expect([who, manual]).not.toEqual([who, 'OK']);
        expect([who, codeOf(await t.gql(SET, { i: { topicId: target, kind: 'OPEN', afterHours: 2 } }, { token }))]).toEqual([who, manual]);
        expect([who, codeOf(await t.gql(REMOVE, { i: { topicId: target, kind: 'CLOSE' } }, { token }))]).toEqual([who, manual]);
      }
    }
    expect(codeOf(await t.gql(SET, { i: { topicId: hidden.id, kind: 'OPEN', afterHours: 2 } }, { token: outsider.token }))).toBe('NOT_FOUND');
    expect(codeOf(await t.gql(SET, { i: { topicId: topic.id, kind: 'OPEN', afterHours: 2 } }, { token: author.token }))).toBe('FORBIDDEN');
    expect(await written()).toEqual(before);
    // Those setTopicStatus lets through: the space's moderators and admins, global moderators.
    for (const who of [mod, spaceAdmin, globalMod]) await setTimer(topic.id, 'UNPIN', { afterHours: 2 }, who.token);
  });

  it.each([
    ['a time past', { at: new Date(Date.now() - 60_000).toISOString() }, 'at'],
    ['more than a year ahead', { at: new Date(Date.now() + 367 * 24 * HOUR).toISOString() }, 'at'],
    ['both a time and hours', { at: new Date(Date.now() + HOUR).toISOString(), afterHours: 2 }, 'afterHours'],
    ['neither', {}, 'afterHours'],
    ['no hours', { kind: 'CLOSE_AFTER_LAST_POST' }, 'afterHours'],
    ['a time for CLOSE_AFTER_LAST_POST', { kind: 'CLOSE_AFTER_LAST_POST', at: new Date(Date.now() + HOUR).toISOString() }, 'at'],
    ['zero hours', { afterHours: 0 }, 'afterHours'],
    ['past a year of hours', { afterHours: 8761 }, 'afterHours'],
  ])('refuses %s with BAD_USER_INPUT and writes nothing, leaving the timer there', async (_what, extra, field) => {
    const topic = await createTopic(t, author.token, boardId);
    await setTimer(topic.id, 'CLOSE', { afterHours: 3 });
    await setTimer(topic.id, 'UNPIN', { afterHours: 5 });
    const before = await written();
    const stored = await t.sql(`SELECT * FROM topic_timers ORDER BY kind`);
    const err = expectError(await t.gql(SET, { i: { topicId: topic.id, kind: 'CLOSE', ...extra } }, { token: mod.token }), 'BAD_USER_INPUT');
    expect(err.extensions.fields?.map((f) => f.field)).toEqual([field]);
    expect(await written()).toEqual(before);
    expect(await t.sql(`SELECT * FROM topic_timers ORDER BY kind`)).toEqual(stored);
  });

  it('drops a timer that no longer applies, writing nothing but its removal (and its room’s news of it)', async () => {
    const open = await createTopic(t, author.token, boardId);
    const deleted = await createTopic(t, author.token, boardId);
    const demoted = await createTopic(t, author.token, boardId);
    const exMod = await newModerator();
    await setTimer(open.id, 'OPEN', { afterHours: 1 });
    await setTimer(deleted.id, 'CLOSE', { afterHours: 1 });
    await setTimer(demoted.id, 'CLOSE', { afterHours: 1 }, exMod.token);
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.firstPostId }, { token: author.token }));
    await t.sql(`DELETE FROM space_grants WHERE user_id = $1`, [exMod.id]);
    const before = await written();
    const since = await mark();
    expect(await fire(2)).toEqual({ fired: 0, dropped: 3, postponed: 0 });
    // Nothing but the removals, each told to its room.
    expect(await written()).toEqual({ ...before, timers: before.timers - 3, outbox: before.outbox + 3 });
    for (const [topic, kind] of [[open, 'OPEN'], [deleted, 'CLOSE'], [demoted, 'CLOSE']] as const) expect(await timersChanged(topic.id, since)).toEqual([[kind]]);
    expect(await t.sql(`SELECT state, closed FROM topics WHERE id = ANY($1::uuid[]) ORDER BY state`, [[open.id, deleted.id, demoted.id]])).toEqual([
      { state: 'DELETED', closed: false },
      { state: 'VISIBLE', closed: false },
      { state: 'VISIBLE', closed: false },
    ]);
  });

  it('drops a timer whose setter is suspended since, and keeps one that failed for the next run', async () => {
    const suspendedMod = await newModerator();
    const theirs = await createTopic(t, author.token, boardId);
    await setTimer(theirs.id, 'CLOSE', { afterHours: 1 }, suspendedMod.token);
    await suspend(suspendedMod);
    expect(await fire(2)).toEqual({ fired: 0, dropped: 1, postponed: 0 });
    expect((await read(theirs.id)).closed).toBe(false);

    const failing = await createTopic(t, author.token, boardId);
    await setTimer(failing.id, 'CLOSE', { afterHours: 1 });
    const topics = t.get(TopicsService);
    const spy = jest.spyOn(topics, 'writeStatus').mockRejectedValueOnce(new Error('the database went away for a moment'));
    try {
      expect(await fire(2)).toEqual({ fired: 0, dropped: 0, postponed: 0 });
      expect((await t.sql(`SELECT count(*)::int AS n FROM topic_timers WHERE topic_id = $1`, [failing.id]))[0].n).toBe(1);
      expect(await fire(2)).toEqual({ fired: 1, dropped: 0, postponed: 0 });
    } finally {
      spy.mockRestore();
    }
    expect((await read(failing.id)).closed).toBe(true);
  });

  it('follows a topic moved where its setter still moderates, and is dropped once it is moved out of their reach', async () => {
    const MOVE = `mutation($i: MoveTopicInput!) { moveTopic(input: $i) { id } }`;
    const staysWithMod = await createTopic(t, author.token, boardId);
    const leavesMod = await createTopic(t, author.token, boardId);
    await setTimer(staysWithMod.id, 'CLOSE', { afterHours: 1 });
    await setTimer(leavesMod.id, 'CLOSE', { afterHours: 1 });
    const sameSpaceBoard = await makeBoard(t, spaceId);
    const elsewhere = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    expectOk(await t.gql(MOVE, { i: { topicId: staysWithMod.id, boardId: sameSpaceBoard } }, { token: globalMod.token }));
    expectOk(await t.gql(MOVE, { i: { topicId: leavesMod.id, boardId: elsewhere } }, { token: globalMod.token }));
    expect(await fire(2)).toEqual({ fired: 1, dropped: 1, postponed: 0 });
    expect(await t.sql(`SELECT id, closed FROM topics WHERE id = ANY($1::uuid[]) ORDER BY closed`, [[staysWithMod.id, leavesMod.id]])).toEqual([
      { id: leavesMod.id, closed: false },
      { id: staysWithMod.id, closed: true },
    ]);
    // Moved to another space: logged in both (the space it left, then the one it reached).
    expect((await logOf(leavesMod.id, leavesMod.firstPostId)).map((e) => e.action)).toEqual(['topic.timer_set', 'topic.move', 'topic.move']);
    expect(await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 AND type = 'topic.updated'`, [leavesMod.id])).toEqual([]);
  });

  it('handles each due timer on one connection: its setter and topic are read in the transaction that claims it', async () => {
    const closing = await createTopic(t, author.token, boardId);
    const deleting = await createTopic(t, author.token, boardId);
    const dropped = await createTopic(t, author.token, boardId);
    const suspendedMod = await newModerator();
    await setTimer(closing.id, 'CLOSE', { afterHours: 1 });
    await setTimer(deleting.id, 'DELETE', { afterHours: 1 });
    await setTimer(dropped.id, 'CLOSE', { afterHours: 1 }, suspendedMod.token);
    await suspend(suspendedMod);
    // A statement run on the pool while a timer's transaction is open takes a second connection.
    expect(await poolStatementsOf(t, async () => expect(await fire(2)).toEqual({ fired: 2, dropped: 1, postponed: 0 }))).toEqual([]);
    expect(await t.sql(`SELECT id, state, closed FROM topics WHERE id = ANY($1::uuid[]) ORDER BY id`, [[closing.id, deleting.id, dropped.id]])).toEqual(
      [
        { id: closing.id, state: 'VISIBLE', closed: true },
        { id: deleting.id, state: 'DELETED', closed: false },
        { id: dropped.id, state: 'VISIBLE', closed: false },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it('sets a timer reading the topic’s timers once (the one it replaces), answering the write with what it wrote', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const SET_ONLY = `mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { id } }`;
    /** The statements that touch the topic's timers, and the upsert among them. */
    const timerStatements = async (i: Record<string, unknown>) => {
      const { statements } = await t.countStatements(async () => expectOk(await t.gql(SET_ONLY, { i: { topicId: topic.id, ...i } }, { token: mod.token })));
      const touching = statements.filter((s) => /topic_timers/.test(s));
      const upsert = touching.find((s) => /INSERT INTO topic_timers/.test(s));
      return { kinds: touching.map((s) => (s === upsert ? 'upsert' : s.trim().split(/\s/)[0])), upsert: upsert ?? '' };
    };
    // One read (the timer it replaces, locked), then the upsert, which answers with its row.
    expect((await timerStatements({ kind: 'CLOSE_AFTER_LAST_POST', afterHours: 3 })).kinds).toEqual(['SELECT', 'upsert']);
    expect((await timerStatements({ kind: 'CLOSE_AFTER_LAST_POST', afterHours: 4 })).kinds).toEqual(['SELECT', 'upsert']);
    // The log holds the timer as written: for CLOSE_AFTER_LAST_POST, the last activity plus its hours.
    const [{ at }] = await t.sql(`SELECT after->>'at' AS at FROM moderation_log WHERE target_id = $1 AND action = 'topic.timer_set' ORDER BY id DESC LIMIT 1`, [topic.id]);
    const { lastActivityAt } = await read(topic.id, mod.token);
    expect(Date.parse(at)).toBe(Date.parse(lastActivityAt) + 4 * HOUR);
    // A publication's upsert answers with its board's space too (its log entry names a board of
    // the topic's own space), reading the board once.
    const news = await makeBoard(t, spaceId);
    const publishing = await timerStatements({ kind: 'PUBLISH_TO_BOARD', afterHours: 2, boardId: news });
    expect(publishing.kinds).toEqual(['SELECT', 'upsert']);
    expect(publishing.upsert.match(/\bboards\b/g)).toHaveLength(1);
    const [{ board }] = await t.sql(`SELECT after->'board' AS board FROM moderation_log WHERE target_id = $1 AND action = 'topic.timer_set' ORDER BY id DESC LIMIT 1`, [topic.id]);
    expect(board).toEqual({ boardId: news });
  });

  it('keeps one status timer per topic: CLOSE, OPEN and CLOSE_AFTER_LAST_POST replace each other, UNPIN and DELETE stand beside it', async () => {
    const topic = await createTopic(t, author.token, boardId);
    await setTimer(topic.id, 'UNPIN', { afterHours: 50 });
    await setTimer(topic.id, 'DELETE', { afterHours: 60 });
    const kinds = (set: { timers: Array<{ kind: string }> }) => set.timers.map((x) => x.kind).sort();
    expect(kinds(await setTimer(topic.id, 'CLOSE', { afterHours: 2 }))).toEqual(['CLOSE', 'DELETE', 'UNPIN']);
    expect(kinds(await setTimer(topic.id, 'CLOSE_AFTER_LAST_POST', { afterHours: 3 }))).toEqual(['CLOSE_AFTER_LAST_POST', 'DELETE', 'UNPIN']);
    expect(kinds(await setTimer(topic.id, 'OPEN', { afterHours: 4 }, spaceAdmin.token))).toEqual(['DELETE', 'OPEN', 'UNPIN']);
    expect(await t.sql(`SELECT kind, after_hours, set_by FROM topic_timers WHERE topic_id = $1 ORDER BY kind`, [topic.id])).toEqual([
      { kind: 'DELETE', after_hours: null, set_by: mod.id },
      { kind: 'OPEN', after_hours: null, set_by: spaceAdmin.id },
      { kind: 'UNPIN', after_hours: null, set_by: mod.id },
    ]);
    // Each replacement is logged with the timer it replaced, whatever its kind.
    const log = await t.sql(`SELECT before->>'kind' AS before, after->>'kind' AS after FROM moderation_log WHERE target_id = $1 AND action = 'topic.timer_set' ORDER BY id`, [topic.id]);
    expect(log.slice(2)).toEqual([
      { before: null, after: 'CLOSE' },
      { before: 'CLOSE', after: 'CLOSE_AFTER_LAST_POST' },
      { before: 'CLOSE_AFTER_LAST_POST', after: 'OPEN' },
    ]);
    // Removing a status kind the topic does not have (CLOSE, replaced) changes nothing.
    const before = await written();
    expect(kinds(expectOk(await t.gql(REMOVE, { i: { topicId: topic.id, kind: 'CLOSE' } }, { token: mod.token })).removeTopicTimer)).toEqual(['DELETE', 'OPEN', 'UNPIN']);
    expect(await written()).toEqual(before);
    // Two moderators setting different status timers at once leave one.
    const other = await createTopic(t, author.token, boardId);
    await Promise.all([setTimer(other.id, 'CLOSE', { afterHours: 2 }), setTimer(other.id, 'OPEN', { afterHours: 2 }, spaceAdmin.token), setTimer(other.id, 'CLOSE_AFTER_LAST_POST', { afterHours: 2 }, globalMod.token)]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM topic_timers WHERE topic_id = $1`, [other.id])).toEqual([{ n: 1 }]);
  });

  it('reads as gone a timer that would be dropped when due: its setter demoted, suspended or deleted, or its topic deleted', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const deletedTopic = await createTopic(t, author.token, boardId);
    const [demoted, suspended, gone] = [await newModerator(), await newModerator(), await newModerator()];
    await setTimer(topic.id, 'CLOSE', { afterHours: 5 }, demoted.token);
    await setTimer(topic.id, 'UNPIN', { afterHours: 6 }, suspended.token);
    await setTimer(topic.id, 'DELETE', { afterHours: 7 }, gone.token);
    await setTimer(deletedTopic.id, 'OPEN', { afterHours: 5 });
    const kinds = async (topicId: string, token?: string) => (await read(topicId, token)).timers.map((x: { kind: string }) => x.kind);
    expect(await kinds(topic.id, mod.token)).toEqual(['CLOSE', 'UNPIN', 'DELETE']);
    expect(await kinds(topic.id, member.token)).toEqual(['CLOSE']);
    expect(await kinds(deletedTopic.id, mod.token)).toEqual(['OPEN']);
    await t.sql(`DELETE FROM space_grants WHERE user_id = $1`, [demoted.id]);
    await suspend(suspended);
    await t.sql(`UPDATE users SET deleted_at = now(), email = NULL, password_hash = NULL WHERE id = $1`, [gone.id]);
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deletedTopic.firstPostId }, { token: author.token }));
    expect(await kinds(topic.id, mod.token)).toEqual([]);
    expect(await kinds(topic.id, member.token)).toEqual([]);
    expect(await kinds(deletedTopic.id, mod.token)).toEqual([]);
    // As the job finds them when they are due.
    expect(await fire(8)).toEqual({ fired: 0, dropped: 4, postponed: 0 });
  });

  it('has two moderators setting status timers at once take turns: the later logs the earlier’s as the one it replaced', async () => {
    const topic = await createTopic(t, author.token, boardId);
    // The topic row held: each set waits, with what it read so far, until it is let go.
    const holder = t.ds.createQueryRunner();
    await holder.connect();
    let sets: Promise<unknown>[] = [];
    try {
      await holder.startTransaction();
      await holder.query(`SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [topic.id]);
      sets = [setTimer(topic.id, 'CLOSE', { afterHours: 2 }), setTimer(topic.id, 'OPEN', { afterHours: 3 }, spaceAdmin.token)];
      await waitForLockWaits(t, 2, await backendPid(holder));
      await holder.commitTransaction();
      await Promise.all(sets);
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
      await Promise.allSettled(sets);
    }
    const log = await t.sql(`SELECT before->>'kind' AS before, after->>'kind' AS after FROM moderation_log WHERE target_id = $1 AND action = 'topic.timer_set' ORDER BY id`, [topic.id]);
    const [stored] = await t.sql(`SELECT kind FROM topic_timers WHERE topic_id = $1`, [topic.id]);
    expect(log).toEqual([
      { before: null, after: log[0].after },
      { before: log[0].after, after: stored.kind },
    ]);
    expect(log[0].after).not.toBe(stored.kind);
  });

  it('lets a timer set meanwhile on its topic raise the timers\' version while a firing waits for the topic, rather than deadlock with it', async () => {
    // The firing holds its topic FOR KEY SHARE until its change takes it FOR UPDATE, and raises
    // the version after the change: a set that inserted a timer (its foreign key's KEY SHARE on
    // the topic, which the firing's FOR UPDATE waits for) then raises the version without waiting
    // for the firing. Raised before the change (until 2026-12-07), the firing's UPDATE of the
    // topic made the set's raise wait for it while it waited for the set: a deadlock, one of the
    // two run again.
    const topic = await createTopic(t, author.token, boardId);
    await setTimer(topic.id, 'CLOSE', { afterHours: 1 });
    const [before] = await t.sql(`SELECT timers_version FROM topics WHERE id = $1`, [topic.id]);
    // The set's raise (UNPIN: no news) held until the firing waits behind the set's transaction.
    const gate = gateCalls(t.get(TopicTimersRepository), 'raiseVersion', (_tx, topicId: string, news: boolean) => topicId === topic.id && !news);
    const running: Promise<unknown>[] = [];
    try {
      const setting = setTimer(topic.id, 'UNPIN', { afterHours: 5 });
      running.push(setting);
      await gate.begun;
      const setter = await gateHolder(gate);
      const firing = fire(2);
      running.push(firing);
      await waitForLockWaits(t, 1, setter);
      const [{ pid: firer }] = await t.sql(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND $1::int = ANY (pg_blocking_pids(pid))`,
        [setter],
      );
      gate.open();
      expect(await doneOrWaiting(t, setting, 1, firer)).toBe('done');
      await setting;
      expect(await firing).toEqual({ fired: 1, dropped: 0, postponed: 0 });
    } finally {
      gate.restore();
      await Promise.allSettled(running);
    }
    expect((await read(topic.id, mod.token)).closed).toBe(true);
    expect(await t.sql(`SELECT tt.kind, t.timers_version FROM topic_timers tt JOIN topics t ON t.id = tt.topic_id WHERE t.id = $1`, [topic.id])).toEqual([
      { kind: 'UNPIN', timers_version: before.timers_version + 2 },
    ]);
  });

  it('goes with its topic when the topic row goes', async () => {
    const topic = await createTopic(t, author.token, boardId);
    await setTimer(topic.id, 'CLOSE', { afterHours: 1 });
    const [fk] = await t.sql(
      `SELECT confdeltype FROM pg_constraint WHERE conrelid = 'topic_timers'::regclass AND confrelid = 'topics'::regclass AND contype = 'f'`,
    );
    expect(fk.confdeltype).toBe('c');
    await t.sql(`DELETE FROM topics WHERE id = $1`, [topic.id]);
    expect(await t.sql(`SELECT 1 FROM topic_timers WHERE topic_id = $1`, [topic.id])).toEqual([]);
  });

  it('fires each timer once when workers run at the same time', async () => {
    const topics = await Promise.all(Array.from({ length: 12 }, () => createTopic(t, author.token, boardId)));
    for (const topic of topics) await setTimer(topic.id, 'CLOSE', { afterHours: 1 });
    const runs = await Promise.all([fire(2), fire(2), fire(2)]);
    const total = (k: 'fired' | 'dropped' | 'postponed') => runs.reduce((n, r) => n + r[k], 0);
    expect([total('fired'), total('dropped'), total('postponed')]).toEqual([12, 0, 0]);
    const ids = topics.map((x) => x.id);
    const perTopic = await t.sql(
      `SELECT (SELECT count(*) FROM moderation_log WHERE target_id = t.id AND action = 'topic.status')::int AS log,
              (SELECT count(*) FROM outbox WHERE aggregate_id = t.id AND type = 'topic.updated')::int AS events, t.closed
         FROM topics t WHERE t.id = ANY($1::uuid[])`,
      [ids],
    );
    expect(perTopic).toEqual(ids.map(() => ({ log: 1, events: 1, closed: true })));
  });

  it('reads the timers of a whole board page in two statements (the timers, whether their setters still may), and their setters in one more', async () => {
    const board = await makeBoard(t, spaceId);
    const LIST = (fields: string) => `query($id: ID!) { board(id: $id) { topics(first: 50) { edges { node { id ${fields} } } } } }`;
    const cost = async (fields: string, token?: string) => (await t.countStatements(async () => expectOk(await t.gql(LIST(fields), { id: board }, { token })))).count;
    // Each topic's timers set by another moderator (and a status timer by yet another), so a
    // standing read per topic or per setter costs more than one.
    const setters = [mod, globalMod, spaceAdmin];
    for (const size of [2, 6]) {
      for (let n = (await t.sql(`SELECT count(*)::int AS n FROM topics WHERE board_id = $1`, [board]))[0].n; n < size; n++) {
        const topic = await createTopic(t, author.token, board);
        await setTimer(topic.id, 'CLOSE', { afterHours: 5 }, setters[n % 3].token);
        await setTimer(topic.id, 'UNPIN', { afterHours: 6 }, setters[(n + 1) % 3].token);
      }
      const page = expectOk(await t.gql(LIST('timers { kind setBy { id } }'), { id: board }, { token: mod.token })).board.topics.edges;
      expect(page.map((e: { node: { timers: unknown[] } }) => e.node.timers.length)).toEqual(Array(size).fill(2));
      // The timers, their setters' access, then their setters' users (for moderators alone).
      const extra = async (token?: string) => (await cost('timers { kind setBy { id } } timersVersion', token)) - (await cost('', token));
      expect([size, await extra(mod.token), await extra(member.token), await extra(undefined)]).toEqual([size, 1 + 1 + 1, 1 + 1, 1 + 1]);
    }
  });

  describe('timersVersion', () => {
    const VERSION = `query($id: ID!) { topic(id: $id) { timersVersion timers { kind } } }`;
    const asSeen = async (token: string | undefined, topicId: string) => expectOk(await t.gql(VERSION, { id: topicId }, { token })).topic;
    /** The versions a live push of the topic's timers would carry now (`LiveGateway.pushTimers`): to its moderators, and to its other readers. */
    async function pushed(topicId: string) {
      const { version } = (await t.get(TopicTimersRepository).byTopicIds([topicId])).get(topicId)!;
      return { all: fullVersion(version), news: newsVersion(version.news) };
    }
    /** What each reader is answered: a moderator of the space, a global moderator, the author, a member, a signed-out reader. */
    const seen = async (topicId: string) => Promise.all([mod.token, globalMod.token, author.token, member.token, undefined].map((token) => asSeen(token, topicId)));

    it('is the version the viewer’s `topic:timers` pushes carry: the moderators’ full one, the others’ news one, which no UNPIN, DELETE or PUBLISH_TO_BOARD timer moves', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const states: Array<{ all: number; news: number }> = [];
      const check = async (kinds: string[], publicKinds: string[]) => {
        const v = await pushed(topic.id);
        states.push(v);
        const moderators = { timersVersion: v.all, timers: kinds.map((kind) => ({ kind })) };
        const readers = { timersVersion: v.news, timers: publicKinds.map((kind) => ({ kind })) };
        expect(await seen(topic.id)).toEqual([moderators, moderators, readers, readers, readers]);
      };
      await check([], []);
      expect(states[0]).toEqual({ all: 0, news: 0 });
      await setTimer(topic.id, 'CLOSE', { afterHours: 10 });
      await check(['CLOSE'], ['CLOSE']);
      await setTimer(topic.id, 'UNPIN', { afterHours: 20 });
      await check(['CLOSE', 'UNPIN'], ['CLOSE']);
      await setTimer(topic.id, 'DELETE', { afterHours: 30 });
      expectOk(await t.gql(REMOVE, { i: { topicId: topic.id, kind: 'UNPIN' } }, { token: mod.token }));
      await check(['CLOSE', 'DELETE'], ['CLOSE']);
      // The moderators' timers moved the moderators' version alone: the others' tells nothing of them.
      expect(states[3].all).toBeGreaterThan(states[2].all);
      expect(states[2].all).toBeGreaterThan(states[1].all);
      expect([states[2].news, states[3].news]).toEqual([states[1].news, states[1].news]);
      // A status timer's change is news, above every version before it, fired by the job too.
      expect(await fire(11)).toEqual({ fired: 1, dropped: 0, postponed: 0 });
      await check(['DELETE'], []);
      expect(states[4].news).toBeGreaterThan(states[3].all);
      // A mutation's answer carries it as well, read after its change.
      const answer = expectOk(await t.gql(`mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { timersVersion } }`, { i: { topicId: topic.id, kind: 'OPEN', afterHours: 5 } }, { token: mod.token }));
      expect(answer.setTopicTimer.timersVersion).toBe((await pushed(topic.id)).all);
    });

    it('moves when its topic moves, which decides which of its timers still stand, and tells the room', async () => {
      const MOVE = `mutation($i: MoveTopicInput!) { moveTopic(input: $i) { id } }`;
      const topic = await createTopic(t, author.token, boardId);
      const target = await makeBoard(t, spaceId);
      await setTimer(topic.id, 'CLOSE', { afterHours: 10 });
      await setTimer(topic.id, 'PUBLISH_TO_BOARD', { afterHours: 5, boardId: target } as { afterHours: number });
      const v0 = await pushed(topic.id);
      expect(await asSeen(mod.token, topic.id)).toEqual({ timersVersion: v0.all, timers: [{ kind: 'PUBLISH_TO_BOARD' }, { kind: 'CLOSE' }] });
      // Moved by hand into the board its PUBLISH_TO_BOARD timer publishes to: the moderators' list loses it.
      let since = await mark();
      expectOk(await t.gql(MOVE, { i: { topicId: topic.id, boardId: target } }, { token: mod.token }));
      const v1 = await pushed(topic.id);
      expect(await asSeen(mod.token, topic.id)).toEqual({ timersVersion: v1.all, timers: [{ kind: 'CLOSE' }] });
      expect(v1.all).toBeGreaterThan(v0.all);
      expect((await timersChanged(topic.id, since)).map((kinds: string[]) => [...kinds].sort())).toEqual([['CLOSE', 'PUBLISH_TO_BOARD']]);
      // Moved to a space its setter does not moderate: the status timer no longer stands, for every reader.
      const seenBefore = await asSeen(member.token, topic.id);
      expect(seenBefore).toEqual({ timersVersion: v1.news, timers: [{ kind: 'CLOSE' }] });
      since = await mark();
      expectOk(await t.gql(MOVE, { i: { topicId: topic.id, boardId: await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id) } }, { token: globalMod.token }));
      const v2 = await pushed(topic.id);
      expect(await asSeen(member.token, topic.id)).toEqual({ timersVersion: v2.news, timers: [] });
      expect(await asSeen(globalMod.token, topic.id)).toEqual({ timersVersion: v2.all, timers: [] });
      expect([v2.news > v1.news, v2.all > v1.all]).toEqual([true, true]);
      // The event names every timer the topic holds, standing or not (the push judges which stand).
      expect((await timersChanged(topic.id, since)).map((kinds: string[]) => [...kinds].sort())).toEqual([['CLOSE', 'PUBLISH_TO_BOARD']]);
      // A topic without timers moves as before: no version of its timers, no news of them.
      const plain = await createTopic(t, author.token, boardId);
      since = await mark();
      expectOk(await t.gql(MOVE, { i: { topicId: plain.id, boardId: target } }, { token: mod.token }));
      expect([await pushed(plain.id), await timersChanged(plain.id, since)]).toEqual([{ all: 0, news: 0 }, []]);
    });

    it('moves when its topic is deleted or restored, which no timer stands through', async () => {
      const topic = await createTopic(t, author.token, boardId);
      await setTimer(topic.id, 'OPEN', { afterHours: 10 });
      await setTimer(topic.id, 'UNPIN', { afterHours: 20 });
      const v0 = await pushed(topic.id);
      expect(await asSeen(mod.token, topic.id)).toEqual({ timersVersion: v0.all, timers: [{ kind: 'OPEN' }, { kind: 'UNPIN' }] });
      // Deleted by its author: its moderators still read it, without its timers.
      let since = await mark();
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: author.token }));
      const v1 = await pushed(topic.id);
      expect(await asSeen(mod.token, topic.id)).toEqual({ timersVersion: v1.all, timers: [] });
      expect([v1.all > v0.all, v1.news > v0.news]).toEqual([true, true]);
      expect(await timersChanged(topic.id, since)).toEqual([['OPEN', 'UNPIN']]);
      // Restored: they stand again, for every reader.
      since = await mark();
      expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: mod.token }));
      const v2 = await pushed(topic.id);
      expect(await asSeen(mod.token, topic.id)).toEqual({ timersVersion: v2.all, timers: [{ kind: 'OPEN' }, { kind: 'UNPIN' }] });
      expect(await asSeen(member.token, topic.id)).toEqual({ timersVersion: v2.news, timers: [{ kind: 'OPEN' }] });
      expect([v2.all > v1.all, v2.news > v1.news]).toEqual([true, true]);
      expect(await timersChanged(topic.id, since)).toEqual([['OPEN', 'UNPIN']]);
      // A reply deleted leaves them as they were.
      const answer = await reply(t, member.token, topic.id);
      since = await mark();
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: answer.id }, { token: member.token }));
      expect([await pushed(topic.id), await timersChanged(topic.id, since)]).toEqual([v2, []]);
    });

    it('moves once, with one event, when a DELETE or PUBLISH_TO_BOARD timer fires on a topic that holds other timers', async () => {
      const target = await makeBoard(t, spaceId);
      const raw = async (topicId: string) => (await t.sql(`SELECT timers_version, timers_news FROM topics WHERE id = $1`, [topicId]))[0];
      for (const kind of ['DELETE', 'PUBLISH_TO_BOARD']) {
        const topic = await createTopic(t, author.token, boardId);
        await setTimer(topic.id, 'CLOSE', { afterHours: 10 });
        await setTimer(topic.id, kind, { afterHours: 2, ...(kind === 'PUBLISH_TO_BOARD' ? { boardId: target } : {}) } as { afterHours: number });
        const before = await raw(topic.id);
        const since = await mark();
        const { statements } = await t.countStatements(async () => expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 }));
        // The timers' statements: one raise, and the fired kind added to the event the topic's change wrote (announceTimers).
        expect(statements.filter((q) => /^UPDATE topics SET timers_|^UPDATE outbox SET payload/.test(q)).map((q) => q.split(' SET ')[0])).toEqual(['UPDATE topics', 'UPDATE outbox']);
        // One raise (news too: the CLOSE timer stands no more on a deleted topic, or is told again after a move), one event
        // naming what the topic holds now (told by the deletion or move) and the kind that fired (gone).
        expect(await raw(topic.id)).toEqual({ timers_version: before.timers_version + 1, timers_news: before.timers_news + 1 });
        expect(await timersChanged(topic.id, since)).toEqual([['CLOSE', kind]]);
      }
    });

    it('is announced once per topic per transaction, whatever changed its timers there: one event naming every kind changed, one push of the timers as it left them', async () => {
      const topic = await createTopic(t, author.token, boardId);
      await setTimer(topic.id, 'UNPIN', { afterHours: 20 });
      const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
      const sockets: Socket[] = [];
      const published: Array<{ kinds: string[] }> = [];
      const stop = t.get(EventBus).subscribe((e) => {
        if (e.type === TIMERS_CHANGED && e.aggregateId === topic.id) published.push(e.payload as { kinds: string[] });
      });
      try {
        const [moderator, reader] = await Promise.all([connectLive(url, sockets, mod.token), connectLive(url, sockets, member.token)]);
        for (const s of [moderator, reader]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
        await t.get(LiveGateway).settled();
        const [toModerator, toReader] = [moderator, reader].map((s) => heardLive<{ topicId: string; timers: Array<{ kind: string }>; version: number }>(s, 'topic:timers'));
        const before = await pushed(topic.id);
        const [raw] = await t.sql(`SELECT timers_version, timers_news FROM topics WHERE id = $1`, [topic.id]);
        const since = await mark();
        const repo = t.get(TopicTimersRepository);
        const RAISE = /^UPDATE topics SET timers_(version|news) = /;
        const OUTBOX = /INSERT INTO outbox \(type|^UPDATE outbox SET payload/;
        // One transaction: the UNPIN timer removed (the moderators' business), then a CLOSE timer
        // set (every reader's), then the CLOSE timer told again (a caller that cannot know).
        const { statements } = await t.countStatements(() => t.get(UnitOfWork).run(async (tx) => {
          const unpin = (await repo.lockOne(tx, topic.id, TopicTimerKind.UNPIN))!;
          await repo.remove(tx, unpin.id);
          await announceTimers(tx, repo, topic.id, [TopicTimerKind.UNPIN]);
          await repo.upsert(tx, { id: newId(), topicId: topic.id, kind: TopicTimerKind.CLOSE, at: new Date(Date.now() + 10 * HOUR), afterHours: null, setBy: mod.id, boardId: null });
          await announceTimers(tx, repo, topic.id, [TopicTimerKind.CLOSE]);
          await announceTimers(tx, repo, topic.id, [TopicTimerKind.CLOSE]);
        }));
        // One event, written and published, naming both kinds: the room's readers hear of the CLOSE timer too.
        expect(await timersChanged(topic.id, since)).toEqual([['UNPIN', 'CLOSE']]);
        expect(published).toEqual([{ topicId: topic.id, kinds: ['UNPIN', 'CLOSE'] }]);
        // Its statements: the first telling's raise and event; the news the second adds, raised, and the event's
        // kinds rewritten; nothing for the third, which adds nothing. Each version raised once.
        expect(statements.filter((q) => RAISE.test(q)).map((q) => RAISE.exec(q)![1])).toEqual(['version', 'news']);
        expect(statements.filter((q) => OUTBOX.test(q)).map((q) => q.trim().split(/\s/)[0])).toEqual(['WITH', 'UPDATE']);
        const after = await pushed(topic.id);
        expect([after.all > before.all, after.news > before.news]).toEqual([true, true]);
        expect(await t.sql(`SELECT timers_version, timers_news FROM topics WHERE id = $1`, [topic.id])).toEqual([{ timers_version: raw.timers_version + 1, timers_news: raw.timers_news + 1 }]);
        // One push to each, of the timers as the transaction left them, with their versions.
        const close = { kind: 'CLOSE', at: expect.any(String), afterHours: null, boardId: null };
        expect(await toModerator.first((e) => e.topicId === topic.id)).toEqual({ topicId: topic.id, timers: [{ ...close, setById: mod.id }], version: after.all });
        expect(await toReader.first((e) => e.topicId === topic.id)).toEqual({ topicId: topic.id, timers: [{ ...close, setById: null }], version: after.news });
        // One more answer on each connection: a second push would have arrived before it.
        for (const s of [moderator, reader]) expect(await s.timeout(5000).emitWithAck('topic:leave', { topicId: topic.id })).toEqual({ ok: true });
        expect([toModerator.soFar().length, toReader.soFar().length]).toEqual([1, 1]);
      } finally {
        stop();
        sockets.forEach((s) => s.disconnect());
      }
    });

    it('costs a move, a deletion and a restoration of its topic one statement for its timers (their kinds), and two more when it has some (their versions, the event)', async () => {
      const there = await makeBoard(t, spaceId);
      const TIMERS_KINDS = /^SELECT kind FROM topic_timers WHERE topic_id = \$1 ORDER BY kind$/;
      const RAISE = /^UPDATE topics SET timers_version = timers_version \+ 1/;
      const costs = async (withTimers: boolean) => {
        const topic = await createTopic(t, author.token, boardId);
        if (withTimers) {
          await setTimer(topic.id, 'CLOSE', { afterHours: 10 });
          await setTimer(topic.id, 'UNPIN', { afterHours: 20 });
        }
        const cost = async (query: string, variables: Record<string, unknown>) => {
          const { count, statements } = await t.countStatements(async () => expectOk(await t.gql(query, variables, { token: mod.token })));
          return { count, kinds: statements.filter((q) => TIMERS_KINDS.test(q)).length, raised: statements.filter((q) => RAISE.test(q)).length };
        };
        return {
          move: await cost(`mutation($i: MoveTopicInput!) { moveTopic(input: $i) { id } }`, { i: { topicId: topic.id, boardId: there } }),
          delete: await cost(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: topic.firstPostId }),
          restore: await cost(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: topic.firstPostId }),
        };
      };
      const without = await costs(false);
      // Each path reads the topic's timer kinds once, in its transaction, and raises nothing without them.
      // A move's push reads nothing of the board it left, nobody being in its room (`mayBeHeard`;
      // until 2026-12-07 it read the topic's state there, 15), as the others' pushes read nothing there.
      expect(without).toEqual({ move: { count: 14, kinds: 1, raised: 0 }, delete: { count: 18, kinds: 1, raised: 0 }, restore: { count: 18, kinds: 1, raised: 0 } });
      expect(await costs(false)).toEqual(without);
      // With timers: their versions raised once and the event written once (the push reads nothing: nobody is in the room).
      const more = (c: { count: number }) => ({ count: c.count + 2, kinds: 1, raised: 1 });
      expect(await costs(true)).toEqual({ move: more(without.move), delete: more(without.delete), restore: more(without.restore) });
    });

    it('costs no statement more than Topic.timers on a board page', async () => {
      const board = await makeBoard(t, spaceId);
      for (let i = 0; i < 3; i++) await setTimer((await createTopic(t, author.token, board)).id, 'CLOSE', { afterHours: 5 });
      const LIST = (fields: string) => `query($id: ID!) { board(id: $id) { topics(first: 50) { edges { node { id ${fields} } } } } }`;
      const cost = async (fields: string) => (await t.countStatements(async () => expectOk(await t.gql(LIST(fields), { id: board }, { token: member.token })))).count;
      expect(await cost('timers { kind } timersVersion')).toBe(await cost('timers { kind }'));
    });

    it('moves for admins with the moderators on a PUBLISH_TO_BOARD timer and not for a restricted space’s reader, and answers nothing of a topic its viewer may not read', async () => {
      const admin = await makeUser(t, { role: 'ADMIN' });
      const topic = await createTopic(t, author.token, boardId);
      await setTimer(topic.id, 'CLOSE', { afterHours: 10 });
      const before = await pushed(topic.id);
      await setTimer(topic.id, 'PUBLISH_TO_BOARD', { afterHours: 5, boardId: await makeBoard(t, spaceId) } as { afterHours: number });
      const after = await pushed(topic.id);
      expect(after.all).toBeGreaterThan(before.all);
      expect(after.news).toBe(before.news);
      const moderators = { timersVersion: after.all, timers: [{ kind: 'PUBLISH_TO_BOARD' }, { kind: 'CLOSE' }] };
      const readers = { timersVersion: after.news, timers: [{ kind: 'CLOSE' }] };
      const tokens = [spaceAdmin.token, admin.token, author.token, undefined];
      expect(await Promise.all(tokens.map((token) => asSeen(token, topic.id)))).toEqual([moderators, moderators, readers, readers]);
      // A restricted space: its reader (the author, in its group) is told nothing of the moderators' timer; the others may not read the topic.
      const hidden = await createTopic(t, author.token, restrictedBoard);
      await setTimer(hidden.id, 'UNPIN', { afterHours: 5 });
      const v = await pushed(hidden.id);
      expect(v.all).toBeGreaterThan(0);
      expect(await asSeen(mod.token, hidden.id)).toEqual({ timersVersion: v.all, timers: [{ kind: 'UNPIN' }] });
      expect(await asSeen(author.token, hidden.id)).toEqual({ timersVersion: 0, timers: [] });
      for (const token of [member.token, outsider.token, otherSpaceMod.token, undefined]) {
        const res = await t.gql(VERSION, { id: hidden.id }, { token });
        expectError(res, 'NOT_FOUND');
        expect(res.data?.topic ?? null).toBeNull();
      }
    });
  });

  it('tells readers of CLOSE and OPEN timers, and only moderators of UNPIN and DELETE ones and of who set them', async () => {
    const topic = await createTopic(t, author.token, boardId);
    await setTimer(topic.id, 'CLOSE', { afterHours: 10 });
    await setTimer(topic.id, 'UNPIN', { afterHours: 20 });
    await setTimer(topic.id, 'DELETE', { afterHours: 30 });
    const kinds = async (token?: string) => (await read(topic.id, token)).timers.map((x: { kind: string; setBy: { id: string } | null }) => [x.kind, x.setBy?.id ?? null]);
    expect(await kinds(member.token)).toEqual([['CLOSE', null]]);
    expect(await kinds(author.token)).toEqual([['CLOSE', null]]);
    expect(await kinds()).toEqual([['CLOSE', null]]);
    expect(await kinds(mod.token)).toEqual([['CLOSE', mod.id], ['UNPIN', mod.id], ['DELETE', mod.id]]);
    expect(await kinds(globalMod.token)).toEqual([['CLOSE', mod.id], ['UNPIN', mod.id], ['DELETE', mod.id]]);
  });
});
