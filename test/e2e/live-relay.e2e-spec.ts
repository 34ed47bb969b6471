import { INestApplicationContext, Logger } from '@nestjs/common';
import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import type { QueryRunner } from 'typeorm';
import { createWorkerContext } from '../../apps/worker/src/worker.module';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { LIVE_EVENT_TYPES, LIVE_RELAY_CHANNEL, pruneLiveRelay, RELAYED_LATE } from '../../libs/core/src/database/live-relay';
import { PgListener } from '../../libs/core/src/database/pg-listener';
import { DomainEvent, EventBus } from '../../libs/core/src/events';
import { newId } from '../../libs/core/src/ids';
import { LiveRelayConsumer } from '../../libs/realtime/src/live-relay.consumer';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { TIMERS_CHANGED } from '../../libs/forum/src/timers/timers-changed';
import { TopicTimersRepository } from '../../libs/forum/src/timers/topic-timers.repository';
import { TopicTimersService } from '../../libs/forum/src/timers/topic-timers.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { SanctionKind } from '../../libs/moderation/src/sanctions/sanction.model';
import { PostsService } from '../../libs/forum/src/posts/posts.service';
import { ContentState } from '../../libs/forum/src/forum.enums';
import { makeBoard, makeGroup, makeSpace, makeUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { connectLive, heardLive, heardRoom, revocation } from '../support/live-client';
import { backendPid, waitForLockWaits } from '../support/lock-waits';
import { bootSecondNode, bootTestApp, expectOk, TestApp } from '../support/test-app';

const HOUR = 3600_000;

/**
 * An event the test relays: of a type the live gateway acts on (the relay carries no other),
 * about no idea, so the gateway pushes it nowhere.
 */
const probe = (aggregateId: string, payload: Record<string, unknown>): DomainEvent => ({
  type: 'idea.voted',
  aggregateType: 'test',
  aggregateId,
  payload: { topicId: aggregateId, ...payload },
});
const isProbe = (e: DomainEvent) => e.type === 'idea.voted' && e.aggregateType === 'test';

/**
 * The live relay: what a process without a live gateway (the separate worker, here its real
 * module set on the test's database) commits reaches the API nodes' live rooms, once.
 */
describe('the live relay from the worker process to the API nodes', () => {
  let a: TestApp;
  let worker: INestApplicationContext;
  const sockets: Socket[] = [];
  /** Every `probe` event each API node's bus published, by node. */
  const heard: Record<'a' | 'b', DomainEvent[]> = { a: [], b: [] };

  beforeAll(async () => {
    a = await bootTestApp();
    a.get(EventBus).subscribe((e) => isProbe(e) && heard.a.push(e));
    worker = await createWorkerContext(a.config, a.db.url);
  });
  afterEach(() => {
    heard.a.length = 0;
    heard.b.length = 0;
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await worker?.close();
    await a.close();
  });

  const emit = (aggregateId = newId()) =>
    worker.get(UnitOfWork).run((tx) => tx.emit(probe(aggregateId, { at: Date.now() })));
  /** Waits (polling, at most 10 s) until `done` holds. */
  const until = async (done: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await done()); i++) await new Promise((r) => setTimeout(r, 50));
    if (!(await done())) throw new Error('the relay did not deliver in time');
  };
  const waiting = async () => Number((await a.sql(`SELECT count(*)::int AS n FROM live_relay`))[0].n);
  /** A member of a RESTRICTED space, live in a topic of it on node A. */
  const memberInRestrictedTopic = async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const member = await makeUser(a);
    const space = await makeSpace(a, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(a, admin.token, await makeBoard(a, space.id));
    // The topic's own first post is pushed before the member joins: they hear only what comes next.
    await a.get(LiveGateway).settled();
    const s = await connectLive(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`, sockets, member.token);
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    return { admin, member, space, topic, s };
  };
  /** What `s` has heard, once what the server sent it before answering a request of its own has arrived. */
  const flushed = async (s: Socket, heard: string[]) => {
    expect(await s.timeout(5000).emitWithAck('topic:leave', { topicId: newId() })).toEqual({ ok: true });
    return heard;
  };
  /**
   * A member live in a topic of a RESTRICTED space, whose grant the worker revoked, the relay row
   * of which another node's claim has taken and holds, its transaction open (`frozen`: the test
   * ends it); `heard` lists what the member hears of replies and of lost access, in order.
   */
  const revokedUnderAnotherClaim = async () => {
    const { admin, member, space, topic, s } = await memberInRestrictedTopic();
    const heard: string[] = [];
    for (const event of ['post:created', 'access:lost']) s.on(event, () => heard.push(event));
    const frozen = a.ds.createQueryRunner();
    await frozen.connect();
    await unclaimed(async () => {
      await a.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [space.id, member.id]);
      const [row] = await a.sql(`INSERT INTO live_relay (event) VALUES ($1) RETURNING id`, [
        { type: 'space.access_changed', aggregateType: 'space', aggregateId: space.id, payload: { spaceId: space.id } },
      ]);
      await frozen.startTransaction();
      await frozen.query(`SELECT id FROM live_relay WHERE id = $1 FOR UPDATE`, [row.id]);
    });
    return { admin, topic, s, heard, frozen };
  };
  /**
   * Revokes a reader's access under another node's claim, wakes node A for it with `tune` applied and
   * replies through node A; `then` runs while that claim may still hold the change. The claim is
   * rolled back and released, and `untune` run, whatever `then` does.
   */
  const replyUnderAnotherClaim = async (
    tune: () => unknown,
    untune: () => unknown,
    then: (held: Awaited<ReturnType<typeof revokedUnderAnotherClaim>>) => Promise<void>,
  ) => {
    const held = await revokedUnderAnotherClaim();
    try {
      tune();
      await wakeForAccess(held.frozen);
      await reply(a, held.admin.token, held.topic.id);
      await then(held);
    } finally {
      untune();
      if (held.frozen.isTransactionActive) await held.frozen.rollbackTransaction();
      await held.frozen.release();
    }
  };
  /**
   * An access change's wake-up, as the worker's commit sends it: returns once node A has heard it
   * (it holds its pushes) and a claim waits for the rows another claim (`frozen`) holds. A reply
   * committed before node A hears of the change is pushed unheld, as the design leaves it.
   */
  const wakeForAccess = async (frozen: QueryRunner) => {
    const hold = jest.spyOn(a.get(LiveGateway), 'holdPushesUntil');
    try {
      await a.sql(`SELECT pg_notify('parvis_live', 'access')`);
      await until(() => hold.mock.calls.length > 0);
    } finally {
      hold.mockRestore();
    }
    await waitForLockWaits(a, 1, await backendPid(frozen));
  };
  /**
   * Resolves once node A's listener has passed on every relay wake-up committed before the call
   * (the worker's commit's included): PostgreSQL delivers a channel's NOTIFYs in commit order, so
   * once it has delivered one of the test's own, sent now, it has delivered those too.
   */
  const wakeUpsHeard = async () => {
    const marker = `test-${newId()}`;
    const listener = a.get(PgListener);
    let heard!: () => void;
    const arrived = new Promise<void>((resolve) => (heard = resolve));
    const mine = { message: (payload: string | undefined) => payload === marker && heard() };
    await listener.listen(LIVE_RELAY_CHANNEL, mine);
    try {
      await a.sql(`SELECT pg_notify($1, $2)`, [LIVE_RELAY_CHANNEL, marker]);
      await arrived;
    } finally {
      await listener.unlisten(LIVE_RELAY_CHANNEL, mine);
    }
  };
  /**
   * Runs `work` while node A claims nothing (as if its LISTEN and claims failed). Node A claims
   * again only once it has heard the wake-ups of what `work` committed and their claims are over:
   * a wake-up heard later (its NOTIFY reaches node A when it does) claimed the rows as the test
   * went on, before it looked at them or beside its own claim.
   */
  const unclaimed = async (work: () => Promise<unknown>) => {
    const held = jest.spyOn(a.get(LiveRelayConsumer), 'drain').mockResolvedValue(0);
    try {
      await a.get(LiveRelayConsumer).idle();
      await work();
      await wakeUpsHeard();
      await a.get(LiveRelayConsumer).idle();
    } finally {
      held.mockRestore();
    }
  };

  /** A reader live (node A) in a topic of a PUBLIC space whose moderator set a CLOSE timer on it, the push of which they heard (its timers' first news). */
  const readerOfTimer = async () => {
    const mod = await makeUser(a);
    const reader = await makeUser(a);
    const space = await makeSpace(a, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const topic = await createTopic(a, mod.token, await makeBoard(a, space.id));
    const s = await connectLive(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`, sockets, reader.token);
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const set = heardLive(s, 'topic:timers');
    expectOk(await a.gql(`mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { id } }`, { i: { topicId: topic.id, kind: 'CLOSE', afterHours: 1 } }, { token: mod.token }));
    expect(await set.first((e) => e.topicId === topic.id)).toMatchObject({ topicId: topic.id, timers: [{ kind: 'CLOSE' }], version: 2 ** 31 });
    return { space, topic, s };
  };

  it('pushes a topic timer the worker fires to the topic’s live room on an API node', async () => {
    const { topic, s } = await readerOfTimer();

    // The pushes of the timer's firing, picked by what it changed: an earlier push of the same name (the topic's own, the
    // timer's setting) may still be on its way.
    const updated = heardLive(s, 'topic:updated');
    const timers = heardLive(s, 'topic:timers');
    // The worker's own services fire it, as its job would two hours from now.
    expect(await worker.get(TopicTimersService).fireDue(new Date(Date.now() + 2 * HOUR))).toMatchObject({ fired: 1 });
    expect(await updated.first((d) => d.topicId === topic.id && d.closed === true, 10_000)).toMatchObject({ topicId: topic.id, closed: true });
    // The timers' second change of a status timer (set, then fired), as its version says.
    expect(await timers.first((d) => d.topicId === topic.id && d.timers.length === 0, 10_000)).toEqual({ topicId: topic.id, timers: [], version: 2 * 2 ** 31 });
    await until(async () => (await waiting()) === 0);
  });

  it('pushes the timers of an older worker\'s topic_timers.updated, written with the topic\'s spaceId (before 2026-12-07)', async () => {
    const { space, topic, s } = await readerOfTimer();
    // What an older worker committed of a change to the topic's timers: their versions raised, and the event as it wrote it.
    const timers = heardLive(s, 'topic:timers');
    await worker.get(UnitOfWork).run(async (tx) => {
      await worker.get(TopicTimersRepository).raiseVersion(tx, topic.id, true);
      await tx.emit({ type: TIMERS_CHANGED, aggregateType: 'topic', aggregateId: topic.id, payload: { topicId: topic.id, spaceId: space.id, kinds: ['CLOSE'] } });
    });
    expect(await timers.first((e) => e.topicId === topic.id, 10_000)).toMatchObject({ topicId: topic.id, timers: [{ kind: 'CLOSE' }], version: 2 * 2 ** 31 });
    await until(async () => (await waiting()) === 0);
  });

  it('relays each committed event once, in commit order, and nothing of a transaction rolled back', async () => {
    await expect(
      worker.get(UnitOfWork).run(async (tx) => {
        await tx.emit(probe(newId(), { rolledBack: true }));
        throw new Error('changed its mind');
      }),
    ).rejects.toThrow('changed its mind');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(newId());
      await emit(ids[i]);
    }
    await until(() => heard.a.length >= 5);
    expect(heard.a.map((e) => e.aggregateId)).toEqual(ids);
    expect(heard.a.some((e) => (e.payload as { rolledBack?: boolean }).rolledBack)).toBe(false);
    expect(await waiting()).toBe(0);
  });

  it('writes no relay row for an event the live gateway does not act on, alone or beside one it does', async () => {
    const unpushed = () => ({ type: 'appeal.decided', aggregateType: 'test', aggregateId: newId(), payload: { userId: newId() } });
    await unclaimed(async () => {
      await worker.get(UnitOfWork).run((tx) => tx.emit(unpushed()));
      expect(await waiting()).toBe(0);
      const pushed = newId();
      await worker.get(UnitOfWork).run(async (tx) => {
        await tx.emit(unpushed());
        await tx.emit(probe(pushed, {}));
        await tx.emit(unpushed());
      });
      const rows = await a.sql(`WITH d AS (DELETE FROM live_relay RETURNING event->>'type' AS type, event->>'aggregateId' AS id) SELECT type, id FROM d`);
      expect(rows).toEqual([{ type: 'idea.voted', id: pushed }]);
    });
  });

  it('publishes of the rows it claims only the types the live gateway acts on, and takes the others’ rows all the same', async () => {
    // An older worker, during a rolling upgrade, still writes types no longer relayed.
    const unlisted = newId();
    const listed = newId();
    const published: DomainEvent[] = [];
    let count = 0;
    const unsubscribe = a.get(EventBus).subscribe((e) => [unlisted, listed].includes(e.aggregateId) && published.push(e));
    try {
      await unclaimed(() =>
        a.sql(`INSERT INTO live_relay (event) VALUES ($1), ($2)`, [
          { type: 'appeal.decided', aggregateType: 'test', aggregateId: unlisted, payload: { userId: newId() } },
          probe(listed, {}),
        ]),
      );
      count = await a.get(LiveRelayConsumer).drain();
    } finally {
      unsubscribe();
    }
    expect(published.map((e) => [e.type, e.aggregateId])).toEqual([['idea.voted', listed]]);
    expect(count).toBe(1);
    expect(await waiting()).toBe(0);
  });

  it('says at debug level which types it drops, once per type, however many rows and claims', async () => {
    const consumer = a.get(LiveRelayConsumer);
    const debug = jest.spyOn((consumer as unknown as { log: Logger }).log, 'debug').mockImplementation(() => undefined);
    const unlisted = (type: string) => ({ type, aggregateType: 'test', aggregateId: newId(), payload: {} });
    // Types this node has not met before (it logs each once for as long as it runs).
    const [one, other] = [`test.dropped-${newId()}`, `test.dropped-${newId()}`];
    try {
      for (const types of [[one, other, one], [other, one]]) {
        await unclaimed(() => a.sql(`INSERT INTO live_relay (event) SELECT jsonb_array_elements($1::jsonb)`, [JSON.stringify([...types.map(unlisted), probe(newId(), {})])]));
        expect(await consumer.drain()).toBe(1);
      }
      const told = debug.mock.calls.map(([what]) => (what as { type?: string }).type);
      expect(told.sort()).toEqual([one, other].sort());
    } finally {
      debug.mockRestore();
    }
    expect(await waiting()).toBe(0);
  });

  it('writes a relay row for every type of event the live gateway acts on, in the order emitted', async () => {
    await unclaimed(async () => {
      await worker.get(UnitOfWork).run(async (tx) => {
        for (const type of LIVE_EVENT_TYPES) await tx.emit({ type, aggregateType: 'test', aggregateId: newId(), payload: {} });
      });
      const rows = await a.sql(`WITH d AS (DELETE FROM live_relay RETURNING id, event->>'type' AS type) SELECT type FROM d ORDER BY id`);
      expect(rows.map((r: { type: string }) => r.type)).toEqual([...LIVE_EVENT_TYPES]);
    });
  });

  it('dates an event by its commit, not its transaction’s start: a long transaction’s events are news when they commit', async () => {
    // Node A takes nothing while this looks at the row.
    await unclaimed(async () => {
      let began = '';
      await worker.get(UnitOfWork).run(async (tx) => {
        began = (await tx.query<{ now: string }>(`SELECT now()::text AS now`))[0].now;
        await tx.query(`SELECT pg_sleep(0.3)`);
        await tx.emit(probe(newId(), {}));
      });
      const [row] = await a.sql(`SELECT created_at - $1::timestamptz >= interval '0.3 seconds' AS at_commit FROM live_relay`, [began]);
      expect(row).toEqual({ at_commit: true });
    });
    await a.get(LiveRelayConsumer).drain();
    expect(await waiting()).toBe(0);
  });

  it('drops an event claimed too late to be news, and housekeeping deletes what no node took', async () => {
    // Node A takes nothing until housekeeping has looked: any wake-up meanwhile would claim both rows.
    const held = jest.spyOn(a.get(LiveRelayConsumer), 'drain').mockResolvedValue(0);
    try {
      await a.get(LiveRelayConsumer).idle();
      await a.sql(
        `INSERT INTO live_relay (event, created_at) VALUES ($1, now() - interval '2 minutes'), ($2, now() - interval '11 minutes')`,
        [
          probe(newId(), { stale: true }),
          probe(newId(), { stale: true }),
        ],
      );
      // Housekeeping first: only the row past ten minutes goes.
      expect(await pruneLiveRelay(a.ds)).toBe(1);
      expect(await waiting()).toBe(1);
    } finally {
      held.mockRestore();
    }
    const fresh = newId();
    await emit(fresh);
    await until(() => heard.a.length >= 1);
    await until(async () => (await waiting()) === 0);
    expect(heard.a.map((e) => e.aggregateId)).toEqual([fresh]);
  });

  it('still re-checks an access change claimed too late to be news: the reader who lost access leaves the room', async () => {
    const { member, space, topic, s } = await memberInRestrictedTopic();
    // Revoked by the worker two minutes ago, as if no API node had claimed it since (their LISTEN and claims failing).
    await unclaimed(async () => {
      await a.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [space.id, member.id]);
      await a.sql(`INSERT INTO live_relay (event, created_at) VALUES ($1, now() - interval '2 minutes')`, [
        { type: 'space.access_changed', aggregateType: 'space', aggregateId: space.id, payload: { spaceId: space.id } },
      ]);
    });
    const lost = heardLive(s, 'access:lost');
    await a.get(LiveRelayConsumer).drain();
    await heardRoom(lost, `topic:${topic.id}`);
    expect(await waiting()).toBe(0);
  });

  it('still re-checks a topic moved out of a reader’s sight, claimed too late to be news: the reader leaves its room', async () => {
    const { space, topic, s } = await memberInRestrictedTopic();
    const elsewhere = await makeBoard(a, (await makeSpace(a, 'RESTRICTED')).id);
    // Moved by the worker two minutes ago into a space the member may not read, as if no API node had claimed it since.
    await unclaimed(async () => {
      const to = (await a.sql(`SELECT id, space_id FROM boards WHERE id = $1`, [elsewhere]))[0];
      await a.sql(`UPDATE topics SET board_id = $2, space_id = $3 WHERE id = $1`, [topic.id, to.id, to.space_id]);
      await a.sql(`UPDATE posts SET space_id = $2 WHERE topic_id = $1`, [topic.id, to.space_id]);
      await a.sql(`INSERT INTO live_relay (event, created_at) VALUES ($1, now() - interval '2 minutes')`, [
        { type: 'topic.moved', aggregateType: 'topic', aggregateId: topic.id, payload: { topicId: topic.id, fromSpaceId: space.id, spaceId: to.space_id, boardId: to.id } },
      ]);
    });
    const lost = heardLive(s, 'access:lost');
    await a.get(LiveRelayConsumer).drain();
    await heardRoom(lost, `topic:${topic.id}`);
    expect(await waiting()).toBe(0);
  });

  /** A topic's first post, and the topic, as `PostsService.applyState` and `writeDelete` take them. */
  const firstPostOf = async (topic: { id: string }, space: { id: string }) => {
    const [first] = await a.sql(`SELECT p.id, p.author_id, t.board_id FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.topic_id = $1 AND p.number = 1`, [topic.id]);
    return { post: { id: first.id, number: 1, authorId: first.author_id, spaceId: space.id }, where: { id: topic.id, boardId: first.board_id, spaceId: space.id } };
  };
  /**
   * Commits `change` (the worker's, relaying an event of `type`) while node A claims nothing, its
   * rows aged two minutes, then has node A claim them: resolves with what `s` hears of `event` from before the claim on
   * (`heardLive`), for the test to pick its own push from.
   */
  const byWorkerClaimedLate = async (s: Socket, type: string, event: string, change: () => Promise<unknown>) => {
    await unclaimed(async () => {
      await change();
      await a.sql(`UPDATE live_relay SET created_at = now() - interval '2 minutes'`);
    });
    expect((await a.sql(`SELECT event->>'type' AS type FROM live_relay ORDER BY id`)).map((r) => r.type)).toContain(type);
    const heard = heardLive(s, event);
    await a.get(LiveRelayConsumer).drain();
    return heard;
  };

  for (const removal of ['post.hidden', 'post.deleted'] as const) {
    it(`still re-checks a topic whose first post the worker removed (${removal}), claimed too late to be news: the reader leaves its room, told nothing else`, async () => {
      const { admin, space, topic, s } = await memberInRestrictedTopic();
      const heardHere: string[] = [];
      for (const event of ['post:removed', 'access:lost']) s.on(event, () => heardHere.push(event));
      const { post, where } = await firstPostOf(topic, space);
      // The worker's own services remove it.
      const posts = worker.get(PostsService);
      const lost = await byWorkerClaimedLate(s, removal, 'access:lost', () =>
        worker.get(UnitOfWork).run((tx) => (removal === 'post.hidden' ? posts.applyState(tx, null, post, where, ContentState.HIDDEN) : posts.writeDelete(tx, admin.id, post, where))),
      );
      await heardRoom(lost, `topic:${topic.id}`);
      await a.get(LiveGateway).settled();
      // The re-check alone, not the removal it is no longer news of.
      expect(await flushed(s, heardHere)).toEqual(['access:lost']);
      expect(await waiting()).toBe(0);
    });
  }

  for (const back of ['post.unhidden', 'post.restored'] as const) {
    it(`still puts a reader back in a topic whose first post the worker brought back (${back}), claimed too late to be news: the room alone, no push`, async () => {
      const { admin, space, topic, s } = await memberInRestrictedTopic();
      const { post, where } = await firstPostOf(topic, space);
      // Removed through node A: the member, neither its author nor a moderator, is sent away from its room.
      const lost = heardLive(s, 'access:lost');
      const posts = a.get(PostsService);
      await a.get(UnitOfWork).run((tx) => (back === 'post.unhidden' ? posts.applyState(tx, admin.id, post, where, ContentState.HIDDEN) : posts.writeDelete(tx, admin.id, post, where)));
      await heardRoom(lost, `topic:${topic.id}`);
      await a.get(LiveGateway).settled();
      const heardHere: string[] = [];
      for (const event of ['post:updated', 'topic:created', 'access:restored']) s.on(event, () => heardHere.push(event));
      // The worker's own services bring it back.
      const restored = await byWorkerClaimedLate(s, back, 'access:restored', () =>
        worker.get(UnitOfWork).run((tx) => worker.get(PostsService).applyState(tx, admin.id, post, where, ContentState.VISIBLE)),
      );
      await heardRoom(restored, `topic:${topic.id}`);
      await a.get(LiveGateway).settled();
      expect([...a.get(LiveGateway).server.sockets.sockets.get(s.id!)!.rooms]).toContain(`topic:${topic.id}`);
      // The restore alone, read as access is now, not the push it is no longer news of.
      expect(await flushed(s, heardHere)).toEqual(['access:restored']);
      expect(await waiting()).toBe(0);
    });
  }

  /** `memberInRestrictedTopic`, whose grant an admin revoked through node A: the member's connection is out of the topic's room. */
  const memberSentAway = async () => {
    const held = await memberInRestrictedTopic();
    const lost = heardLive(held.s, 'access:lost');
    expectOk(await a.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: held.space.id, userId: held.member.id } }, { token: held.admin.token }));
    await heardRoom(lost, `topic:${held.topic.id}`);
    await a.get(LiveGateway).settled();
    return held;
  };
  /** What a worker (or CLI) commit gives the member back, and the event it relays. */
  const givenBack: Record<string, (space: { id: string }, member: { id: string }) => Promise<DomainEvent>> = {
    // A grant given back.
    'space.access_changed': async (space, member) => {
      await a.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES ($1, $2, $3, 1)`, [newId(), space.id, member.id]);
      return { type: 'space.access_changed', aggregateType: 'space', aggregateId: space.id, payload: { spaceId: space.id } };
    },
    // The member put in a group that holds a grant on the space.
    'space.access_gained': async (space, member) => {
      const group = await makeGroup(a);
      await a.sql(`INSERT INTO space_grants (id, space_id, group_id, level) VALUES ($1, $2, $3, 1)`, [newId(), space.id, group]);
      await a.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [group, member.id]);
      return { type: 'space.access_gained', aggregateType: 'space', aggregateId: space.id, payload: { spaceId: space.id } };
    },
  };
  for (const [type, give] of Object.entries(givenBack)) {
    it(`still puts a reader back in the room they were sent away from for access given back (${type}), claimed too late to be news`, async () => {
      const { space, member, topic, s } = await memberSentAway();
      await unclaimed(async () => {
        const event = await give(space, member);
        await a.sql(`INSERT INTO live_relay (event, created_at) VALUES ($1, now() - interval '2 minutes')`, [event]);
      });
      const restored = heardLive(s, 'access:restored');
      await a.get(LiveRelayConsumer).drain();
      await heardRoom(restored, `topic:${topic.id}`);
      await a.get(LiveGateway).settled();
      expect([...a.get(LiveGateway).server.sockets.sockets.get(s.id!)!.rooms]).toContain(`topic:${topic.id}`);
      expect(await waiting()).toBe(0);
    });
  }

  it('still puts a moderator whose role is given back, claimed too late to be news, in the review room it sent them away from', async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const mod = await makeUser(a, { role: 'MODERATOR' });
    const s = await connectLive(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`, sockets, mod.token);
    expect(await s.timeout(5000).emitWithAck('review:join', {})).toEqual({ ok: true });
    const lost = heardLive(s, 'access:lost');
    expectOk(await a.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id } }`, { input: { userId: mod.id, role: 'MEMBER' } }, { token: admin.token }));
    await heardRoom(lost, 'modqueue:global');
    await a.get(LiveGateway).settled();
    // Given back by a process without a gateway two minutes ago, as if no API node had claimed it since.
    await unclaimed(async () => {
      await a.sql(`UPDATE users SET role = 'MODERATOR' WHERE id = $1`, [mod.id]);
      await a.sql(`INSERT INTO live_relay (event, created_at) VALUES ($1, now() - interval '2 minutes')`, [
        { type: 'user.role_changed', aggregateType: 'user', aggregateId: mod.id, payload: { userId: mod.id, from: 'MEMBER', to: 'MODERATOR' } },
      ]);
    });
    const restored = heardLive(s, 'access:restored');
    await a.get(LiveRelayConsumer).drain();
    await heardRoom(restored, 'modqueue:global');
    expect(await waiting()).toBe(0);
  });

  it('still tells a member of a sanction the worker found run out, claimed too late to be news, and puts them back in the rooms it sent them away from', async () => {
    const { admin, member, space, topic, s } = await memberInRestrictedTopic();
    const lost = heardLive(s, 'access:lost');
    const viewer = await a.get(SessionsService).viewerForUser(admin.id);
    const sanction = await a.get(SanctionsService).sanction(viewer!, { userId: member.id, kind: SanctionKind.SUSPEND, reason: 'Heated', durationHours: 24, spaceId: space.id });
    await heardRoom(lost, `topic:${topic.id}`);
    await a.get(LiveGateway).settled();
    // The worker's own job finds it run out; node A claims nothing until the row is two minutes old.
    await unclaimed(async () => {
      await a.sql(`UPDATE sanctions SET expires_at = now() - interval '1 second' WHERE id = $1`, [sanction.id]);
      await worker.get(SanctionsService).handleExpired();
      await a.sql(`UPDATE live_relay SET created_at = now() - interval '2 minutes'`);
    });
    expect((await a.sql(`SELECT event->>'type' AS type FROM live_relay`)).map((r) => r.type)).toEqual(['user.sanction_lifted']);
    const told = heardLive(s, 'sanction:lifted');
    const restored = heardLive(s, 'access:restored');
    await a.get(LiveRelayConsumer).drain();
    expect(await told.first((e) => e.sanctionId === sanction.id)).toEqual({ sanctionId: sanction.id, kind: 'SUSPEND', spaceId: space.id, expired: true });
    await heardRoom(restored, `topic:${topic.id}`);
    expect(await waiting()).toBe(0);
  });

  it('fails loudly, rather than re-check nobody, on an access change claimed too late to be news whose payload lacks the id its re-check needs', async () => {
    const gateway = a.get(LiveGateway);
    const topicId = newId();
    await unclaimed(() =>
      a.sql(`INSERT INTO live_relay (event, created_at) VALUES ($1, now() - interval '2 minutes')`, [
        { type: 'topic.moved', aggregateType: 'topic', aggregateId: topicId, payload: { fromSpaceId: newId() } },
      ]),
    );
    const failed = jest.spyOn((gateway as unknown as { log: Logger }).log, 'error');
    try {
      await a.get(LiveRelayConsumer).drain();
      await gateway.settled();
      expect(failed).toHaveBeenCalledWith({ err: new Error(`the event's payload has no topicId`), type: 'topic.moved' }, 'live fan-out failed');
    } finally {
      failed.mockRestore();
    }
    expect(await waiting()).toBe(0);
  });

  it('refuses a removal of a reply marked late (the relay publishes none late: it is no access change), re-checking nothing, rather than act on what is no longer news', async () => {
    const { admin, member, space, topic, s } = await memberInRestrictedTopic();
    const gateway = a.get(LiveGateway);
    const removed = await reply(a, admin.token, topic.id, 'Removed later.');
    await gateway.settled();
    const heardHere: string[] = [];
    for (const event of ['post:removed', 'access:lost']) s.on(event, () => heardHere.push(event));
    // The member's access is gone, told to nobody: a re-check of the topic (`LATE_RECHECKS` of a
    // removal of its first post) would send them away from its room.
    await a.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [space.id, member.id]);
    const failed = jest.spyOn((gateway as unknown as { log: Logger }).log, 'error');
    try {
      // As a relay that marked it late would publish it (this one drops such an event, `publishedLate`).
      a.get(EventBus).publish({
        type: 'post.deleted', aggregateType: 'post', aggregateId: removed.id,
        payload: { postId: removed.id, topicId: topic.id, spaceId: space.id, number: 2, [RELAYED_LATE]: true },
      });
      await gateway.settled();
      expect(failed).toHaveBeenCalledWith({ err: new Error('post.deleted was relayed late, but the relay publishes no such event late'), type: 'post.deleted' }, 'live fan-out failed');
    } finally {
      failed.mockRestore();
    }
    expect(await flushed(s, heardHere)).toEqual([]);
  });

  it('closes, for a site-wide ban claimed too late to be news, the connections whose session no longer opens', async () => {
    const mod = await makeUser(a, { role: 'MODERATOR' });
    const banned = await makeUser(a);
    const s = await connectLive(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`, sockets, banned.token);
    // The worker's own services ban them; node A claims nothing until the row is two minutes old.
    await unclaimed(async () => {
      const viewer = await worker.get(SessionsService).viewerForUser(mod.id);
      await worker.get(SanctionsService).sanction(viewer!, { userId: banned.id, kind: SanctionKind.BAN, reason: 'Raid' });
      await a.sql(`UPDATE live_relay SET created_at = now() - interval '2 minutes'`);
    });
    const revoked = revocation(s);
    await a.get(LiveRelayConsumer).drain();
    // Closed by the re-check of its session, as a revocation's is (not told of a ban it no longer reads as news).
    expect(await revoked).toEqual([{ reason: 'signed out or revoked' }]);
    expect(await waiting()).toBe(0);
  });

  it('after an access change’s wake-up, waits for the rows another node is claiming, but not for ever: past the wait it takes the rest', async () => {
    const consumer = a.get(LiveRelayConsumer);
    const [locked, free] = [newId(), newId()];
    const frozen = a.ds.createQueryRunner();
    await frozen.connect();
    const wait = consumer.othersWaitMs;
    // Whether the claim waited for the locked row (and gave up), rather than skipping it at once.
    const warned = jest.spyOn((consumer as unknown as { log: Logger }).log, 'warn');
    try {
      // Set first: a claim woken as soon as node A takes rows again waits this long.
      consumer.othersWaitMs = 300;
      // Node A takes nothing until the first row is locked: a wake-up meanwhile (an earlier test's) would claim both.
      const held = jest.spyOn(consumer, 'drain').mockResolvedValue(0);
      try {
        await consumer.idle();
        // Written as the worker writes them, but with no wake-up yet.
        const rows = await a.sql(`INSERT INTO live_relay (event) VALUES ($1), ($2) RETURNING id`, [
          probe(locked, {}),
          probe(free, {}),
        ]);
        // Another node's claim of the first row, frozen with its transaction open.
        await frozen.startTransaction();
        await frozen.query(`SELECT id FROM live_relay WHERE id = $1 FOR UPDATE`, [rows[0].id]);
      } finally {
        held.mockRestore();
      }
      await a.sql(`SELECT pg_notify('parvis_live', 'access')`);
      await until(() => heard.a.length >= 1);
      expect(heard.a.map((e) => e.aggregateId)).toEqual([free]);
      expect(warned).toHaveBeenCalledWith(expect.stringContaining('stayed locked over 300 ms'));
    } finally {
      warned.mockRestore();
      consumer.othersWaitMs = wait;
      await frozen.rollbackTransaction().catch(() => undefined);
      await frozen.release();
    }
    // The frozen claim gone (rolled back), the row is taken at the next wake-up.
    await consumer.kick();
    expect(heard.a.map((e) => e.aggregateId)).toEqual([free, locked]);
    expect(await waiting()).toBe(0);
  });

  it('checks every connection again once its claim gives up waiting for the rows another node holds, before its pushes go on: the reader who lost access leaves, a reply never reaches them', async () => {
    const consumer = a.get(LiveRelayConsumer);
    const wait = consumer.othersWaitMs;
    // Set first: the claim woken next waits this long.
    await replyUnderAnotherClaim(
      () => (consumer.othersWaitMs = 1_000),
      () => (consumer.othersWaitMs = wait),
      async ({ s, heard }) => {
        await consumer.idle();
        await a.get(LiveGateway).settled();
        // The frozen claim still holds the change.
        expect(await flushed(s, heard)).toEqual(['access:lost']);
      },
    );
    // The frozen claim gone, the change is taken at the next wake-up (its re-check finds nobody left to send away).
    await consumer.kick();
    expect(await waiting()).toBe(0);
  });

  it('holds its pushes after an access change’s wake-up until the claim that answers it is over, not until every claim asked for later is', async () => {
    const consumer = a.get(LiveRelayConsumer);
    const gateway = a.get(LiveGateway);
    const drain = consumer.drain.bind(consumer);
    await consumer.idle();
    const holds: Array<Promise<unknown>> = [];
    const hold = jest.spyOn(gateway, 'holdPushesUntil').mockImplementation((work) => void holds.push(work));
    let runs = 0;
    let nextStarted!: () => void;
    const started = new Promise<void>((resolve) => (nextStarted = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The claim answering the wake-up is woken again meanwhile (the worker busy committing): the next claim hangs.
    const claims = jest.spyOn(consumer, 'drain').mockImplementation(async () => {
      if (++runs === 1) {
        void consumer.kick();
        return drain();
      }
      nextStarted();
      await gate;
      return 0;
    });
    try {
      await a.sql(`SELECT pg_notify('parvis_live', 'access')`);
      await started;
      expect(holds).toHaveLength(1);
      let over = false;
      void holds[0].then(() => (over = true));
      await new Promise((resolve) => setImmediate(resolve));
      // The answering claim is over: the pushes go on, whatever the claims after it do.
      expect(over).toBe(true);
    } finally {
      open();
      await consumer.idle();
      claims.mockRestore();
      hold.mockRestore();
    }
  });

  it('holds a reply after an access change’s wake-up for as long as its claim waits for the change, past the wait for re-checks: it never reaches the reader who lost access', async () => {
    const consumer = a.get(LiveRelayConsumer);
    const gateway = a.get(LiveGateway);
    // Another node's claim has taken the revocation's row and is slow to commit.
    const wait = gateway.recheckWaitMs;
    // Re-checks are waited for two seconds; the claim waits for another node's rows ten (othersWaitMs).
    // Node A's claim answering the wake-up waits for the row; a reply committed through node A meanwhile is held.
    await replyUnderAnotherClaim(
      () => (gateway.recheckWaitMs = 2_000),
      () => (gateway.recheckWaitMs = wait),
      async ({ s, heard, frozen }) => {
        // Longer than a re-check is waited for: the reply is still held, as the claim still waits for the change.
        await new Promise((resolve) => setTimeout(resolve, gateway.recheckWaitMs + 1_000));
        // The other node's claim ends without the row (rolled back, as by a node that stops): node A takes it.
        await frozen.rollbackTransaction();
        await consumer.idle();
        await gateway.settled();
        expect(await flushed(s, heard)).toEqual(['access:lost']);
      },
    );
    expect(await waiting()).toBe(0);
  });

  it('lets pushes go on, saying why, once a claim answering an access change’s wake-up is still under way past the hold’s wait: a hung claim holds nothing for ever', async () => {
    const gateway = a.get(LiveGateway);
    const { admin, topic } = await memberInRestrictedTopic();
    const s = await connectLive(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`, sockets, admin.token);
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const warned = jest.spyOn((gateway as unknown as { log: Logger }).log, 'warn');
    try {
      // A claim that never ends (a statement the database never answers).
      gateway.holdPushesUntil(new Promise(() => undefined), 300);
      // The reply's own push, by its id: an earlier one of the topic's could still be on its way.
      const created = heardLive(s, 'post:created');
      const replied = await reply(a, admin.token, topic.id);
      await created.first((e) => e.post?.id === replied.id);
      expect(warned).toHaveBeenCalledWith('the live relay’s claim answering an access change’s wake-up is still under way after 300 ms: pushes no longer wait for it');
    } finally {
      warned.mockRestore();
    }
  });

  it('claims what was committed while its LISTEN connection was down, once it is back', async () => {
    const consumer = a.get(LiveRelayConsumer);
    const listener = a.get(PgListener);
    const pid = listener.pid;
    await a.sql(`SELECT pg_terminate_backend($1)`, [pid]);
    // Written as the worker writes it, but its wake-up is sent while no connection listens.
    const missed = newId();
    await a.sql(`INSERT INTO live_relay (event) VALUES ($1)`, [probe(missed, {})]);
    await until(() => listener.pid !== undefined && listener.pid !== pid);
    await until(async () => (await waiting()) === 0);
    await consumer.idle();
    expect(heard.a.map((e) => e.aggregateId)).toEqual([missed]);
  });

  describe('with a second API node', () => {
    let b: TestApp | undefined;
    afterAll(() => b?.close());

    it('claims at start what was committed while no node listened, and shares the rest: each event goes to one node', async () => {
      // Written as the worker writes it, but with no wake-up: as if it committed while no API node listened.
      const missed = newId();
      await a.sql(`INSERT INTO live_relay (event) VALUES ($1)`, [probe(missed, {})]);
      b = await bootSecondNode(a);
      b.get(EventBus).subscribe((e) => isProbe(e) && heard.b.push(e));
      // Node B takes it as it starts (node A is never woken for it).
      await until(async () => (await waiting()) === 0);
      expect(heard.a).toEqual([]);
      // (Node B may have published it before this test heard its bus.)
      const heardOf = () => [...heard.a, ...heard.b].map((e) => e.aggregateId).filter((id) => id !== missed);

      const ids = Array.from({ length: 30 }, () => newId());
      await Promise.all(ids.map((id) => emit(id)));
      await until(() => heardOf().length >= ids.length);
      await Promise.all([a, b].map((node) => node.get(LiveRelayConsumer).idle()));
      expect(heardOf().sort()).toEqual([...ids].sort());
      expect(await waiting()).toBe(0);
    });
  });

  it('leaves, as its node stops, the rows its claim was still waiting for to the nodes that stay: its gateway no longer hears them', async () => {
    const consumer = a.get(LiveRelayConsumer);
    // A node going down, whose claim after an access change waits for the rows another node's claim holds.
    const leaving = new LiveRelayConsumer(a.ds, a.get(EventBus), a.get(PgListener), a.get(LiveGateway));
    const id = newId();
    const frozen = a.ds.createQueryRunner();
    await frozen.connect();
    // Node A takes nothing meanwhile: it is the node that stays.
    const held = jest.spyOn(consumer, 'drain').mockResolvedValue(0);
    try {
      await consumer.idle();
      const [row] = await a.sql(`INSERT INTO live_relay (event) VALUES ($1) RETURNING id`, [probe(id, {})]);
      await frozen.startTransaction();
      await frozen.query(`SELECT id FROM live_relay WHERE id = $1 FOR UPDATE`, [row.id]);
      // Its claim at start skips the locked row; the access change's wake-up waits for it.
      await leaving.onApplicationBootstrap();
      await leaving.idle();
      await a.sql(`SELECT pg_notify('parvis_live', 'access')`);
      await waitForLockWaits(a, 1, await backendPid(frozen));
      // The node begins to stop (its gateway, stopping alongside, no longer hears the bus); then the other claim ends.
      const stopping = leaving.onModuleDestroy();
      await frozen.rollbackTransaction();
      await stopping;
      expect(heard.a).toEqual([]);
      expect(await waiting()).toBe(1);
    } finally {
      held.mockRestore();
      if (frozen.isTransactionActive) await frozen.rollbackTransaction();
      await frozen.release();
      await leaving.onModuleDestroy();
    }
    // The node that stays takes it.
    await consumer.kick();
    expect(heard.a.map((e) => e.aggregateId)).toEqual([id]);
    expect(await waiting()).toBe(0);
  });

  it('pushes, once restarted, what was committed while it was down, in order, but not what went stale meanwhile', async () => {
    // Node A's relay stops, as the node would; the worker goes on committing (its wake-ups unheard).
    await a.get(LiveRelayConsumer).onModuleDestroy();
    await a.sql(`INSERT INTO live_relay (event, created_at) VALUES ($1, now() - interval '2 minutes')`, [
      probe(newId(), { stale: true }),
    ]);
    const fresh = [newId(), newId()];
    for (const id of fresh) await emit(id);
    expect(await waiting()).toBe(3);
    expect(heard.a).toEqual([]);
    // The node starts again: its relay claims at start, with no wake-up to prompt it.
    const restarted = new LiveRelayConsumer(a.ds, a.get(EventBus), a.get(PgListener), a.get(LiveGateway));
    try {
      await restarted.onApplicationBootstrap();
      await restarted.idle();
      expect(heard.a.map((e) => e.aggregateId)).toEqual(fresh);
      expect(await waiting()).toBe(0);
    } finally {
      await restarted.onModuleDestroy();
    }
  });
});
