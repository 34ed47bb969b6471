import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import { DomainEvent, EventBus } from '../../libs/core/src/events';
import { JobScheduler } from '../../libs/core/src/jobs';
import { PollsService } from '../../libs/forum/src/polls/polls.service';
import { TopicTimersService } from '../../libs/forum/src/timers/topic-timers.service';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { fullVersion, newsVersion } from '../../libs/core/src/news-versions';
import { PushedVersions } from '../../libs/realtime/src/pushed-versions';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { connectLive, heardLive, pushedSoFar } from '../support/live-client';
import { gateCalls } from '../support/gates';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const CREATE_POLL = `mutation($input: CreatePollInput!) { createPoll(input: $input) { id options { id } } }`;
const VOTE_POLL = `mutation($input: VotePollInput!) { votePoll(input: $input) { id } }`;
const CLOSE_POLL = `mutation($id: ID!) { closePoll(pollId: $id) { id } }`;
const REOPEN_POLL = `mutation($id: ID!) { reopenPoll(pollId: $id) { id } }`;
const UPDATE_POLL = `mutation($input: UpdatePollInput!) { updatePoll(input: $input) { id options { id } } }`;
const REACT = `mutation($input: ReactionInput!) { react(input: $input) { id } }`;
const VOTE_IDEA = `mutation($id: ID!) { voteIdea(topicId: $id) { id } }`;
const STATUS = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`;
const SET_TIMER = `mutation($input: SetTopicTimerInput!) { setTopicTimer(input: $input) { id } }`;
const REMOVE_TIMER = `mutation($input: RemoveTopicTimerInput!) { removeTopicTimer(input: $input) { id } }`;

/** The live pushes' own reads of what they send: a poll's (`forPush`), a post's (`whereIs`), an idea's (`pushIdea`). */
const POLL_READ = /JOIN topics t ON t\.id = p\.topic_id WHERE pl\.id = \$1$/;
const POST_READ = /FROM posts p JOIN topics t ON t\.id = p\.topic_id WHERE p\.id = \$1$/;
const IDEA_READ = /FROM ideas i JOIN topics t ON t\.id = i\.topic_id WHERE i\.topic_id = \$1$/;
/** A topic's settings' (`pushTopic`) and new posts' (`pushPosts`, whose board push is `topic:activity`). */
const TOPIC_READ = /pinned_globally_until(, version)?\s+FROM topics WHERE id = \$1$/;
const POSTS_READ = /WHERE p\.id = ANY\(\$1::uuid\[\]\) ORDER BY p\.topic_id, p\.number$/;

/**
 * Pushes of one thing's counts, fanned out apart, can be read in one order and sent in the
 * other: two votes back to back, the first's push reading before the second's commit and sent
 * after the second's. Its readers were left with the older count (polls' voterCount heard as
 * [2, 1] in a CI run). Each push now carries the version it read, and a node never sends an
 * older version of a thing after a newer one. Each case is shown twice: made to happen (the
 * first push's read held once it has read, by `gateCalls` on the app's own DataSource, until the
 * second push has been heard), and by many writes at once.
 */
describe('live pushes of counts, in order', () => {
  let t: TestApp;
  let url: string;
  let author: TestUser;
  let moderator: TestUser;
  let forumBoard: string;
  let ideasBoard: string;
  let spaceId: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    author = await makeUser(t);
    moderator = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    spaceId = space.id;
    forumBoard = await makeBoard(t, space.id);
    ideasBoard = await makeBoard(t, space.id, 'IDEAS');
  });
  afterAll(async () => {
    sockets.forEach((s) => s.disconnect());
    await t.close();
  });

  /** A room to join: a topic's (its id) or a board's. */
  type Room = string | { boardId: string };
  const joining = (room: Room): [string, object] => (typeof room === 'string' ? ['topic:join', { topicId: room }] : ['board:join', room]);

  /** Readers in a room, each with every `event` it hears from now on. */
  async function readers(room: Room, event: string, n = 2): Promise<Array<{ socket: Socket; heard: any[] }>> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const socket = await connectLive(url, sockets, i === 0 ? undefined : (await makeUser(t)).token);
      expect(await socket.timeout(5000).emitWithAck(...joining(room))).toEqual({ ok: true });
      const heard: any[] = [];
      socket.on(event, (e: any) => heard.push(e));
      out.push({ socket, heard });
    }
    return out;
  }

  /** Every push under way sent, and heard: one more answer on each connection, which anything sent before it precedes. */
  async function allHeard(rs: Array<{ socket: Socket }>, room: Room): Promise<void> {
    await t.get(LiveGateway).settled();
    for (const r of rs) expect(await r.socket.timeout(5000).emitWithAck(...joining(room))).toEqual({ ok: true });
  }

  /** What each reader heard ends with the final count, and its versions never go back (so a client keeping the newest shows the final count). */
  function expectInOrder(heard: any[], count: (e: any) => number, final: number): void {
    expect(heard.length).toBeGreaterThan(0);
    expect(count(heard[heard.length - 1])).toBe(final);
    const versions = heard.map((e) => e.version);
    for (const v of versions) expect(typeof v).toBe('number');
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    // A newer version never carries a lower count here: every write adds one.
    const counts = heard.map(count);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  }

  /**
   * The first push's read (`read`: a statement of the app's DataSource, or a call of a method)
   * held once it has read, `first` written and its push begun; then `second` written and its
   * push heard, picked by `theirs` (what the second write alone makes it say: an earlier write's
   * push still on its way, a push of the first write's not held, or another topic's on a board's
   * room is not taken for it); then the first let go.
   */
  async function firstPushLate(
    read: RegExp | { object: object; method: string },
    listener: Socket,
    event: string,
    first: () => Promise<unknown>,
    second: () => Promise<unknown>,
    theirs: (e: any) => boolean,
  ): Promise<void> {
    let picked = false;
    const gate =
      read instanceof RegExp
        ? gateCalls(t.get(DataSource), 'query', (sql: unknown) => !picked && typeof sql === 'string' && read.test(sql) && (picked = true), 'after')
        : gateCalls(read.object, read.method, () => !picked && (picked = true), 'after');
    try {
      await first();
      await gate.begun;
      const heard = heardLive(listener, event);
      await second();
      await heard.first(theirs);
    } finally {
      gate.restore();
    }
  }

  async function pollIn(): Promise<{ topicId: string; pollId: string; option: string }> {
    const topic = await createTopic(t, author.token, forumBoard);
    const input = { postId: topic.firstPostId, question: 'Which day?', options: ['Monday', 'Tuesday'], kind: 'SINGLE', results: 'ALWAYS', publicVoters: false };
    const poll = expectOk(await t.gql(CREATE_POLL, { input }, { token: author.token })).createPoll;
    return { topicId: topic.id, pollId: poll.id, option: poll.options[0].id };
  }
  const votePoll = async (pollId: string, option: string) => expectOk(await t.gql(VOTE_POLL, { input: { pollId, optionIds: [option] } }, { token: (await makeUser(t)).token }));

  it('a poll’s counts: a vote’s push read before the next vote and sent after it is not sent', async () => {
    const { topicId, pollId, option } = await pollIn();
    const rs = await readers(topicId, 'poll:updated');
    await firstPushLate(POLL_READ, rs[0].socket, 'poll:updated', () => votePoll(pollId, option), () => votePoll(pollId, option), (e) => e.pollId === pollId && e.voterCount === 2);
    await allHeard(rs, topicId);
    for (const r of rs) expectInOrder(r.heard, (e) => e.voterCount, 2);
  });

  it('a poll’s counts: the last push of many votes at once carries the final count', async () => {
    const { topicId, pollId, option } = await pollIn();
    const rs = await readers(topicId, 'poll:updated', 3);
    const voters = await Promise.all(Array.from({ length: 25 }, () => makeUser(t)));
    await Promise.all(voters.map(async (v) => expectOk(await t.gql(VOTE_POLL, { input: { pollId, optionIds: [option] } }, { token: v.token }))));
    await allHeard(rs, topicId);
    for (const r of rs) expectInOrder(r.heard, (e) => e.voterCount, 25);
  });

  it('a poll’s news without counts: a reopening’s push read before the poll closed again and sent after it is not sent', async () => {
    // ON_CLOSE: an anonymous reader and a member who did not vote see no counts while it is open.
    const topic = await createTopic(t, author.token, forumBoard);
    const input = { postId: topic.firstPostId, question: 'Which day?', options: ['Monday', 'Tuesday'], kind: 'SINGLE', results: 'ON_CLOSE', publicVoters: false };
    const poll = expectOk(await t.gql(CREATE_POLL, { input }, { token: author.token })).createPoll;
    const rs = await readers(topic.id, 'poll:updated');
    const close = async (closed: boolean) => expectOk(await t.gql(closed ? CLOSE_POLL : REOPEN_POLL, { id: poll.id }, { token: author.token }));
    await close(true);
    await allHeard(rs, topic.id);
    // The reopening's push (to them, news without counts) read and held until the closing's
    // (with the counts, to the whole room, them included) is heard.
    await firstPushLate(POLL_READ, rs[0].socket, 'poll:updated', () => close(false), () => close(true), (e) => e.pollId === poll.id && e.closed === true);
    await allHeard(rs, topic.id);
    for (const r of rs) expect(r.heard.at(-1)).toMatchObject({ closed: true, voterCount: 0 });
  });

  /**
   * What a client keeping the highest version of a thing shows once it heard these pushes, in
   * the order heard: each push's version a number, and one lower than the one shown dropped.
   */
  function shown<E extends { version: number }>(heard: E[]): E {
    for (const e of heard) expect(typeof e.version).toBe('number');
    return heard.reduce((kept, e) => (e.version >= kept.version ? e : kept));
  }

  /**
   * As two API nodes do: each node's filter (`PushedVersions`) knows only its own pushes, so a push
   * read before another node's and sent after it goes out, and only the client's rule orders
   * them. Here one node, whose filter admits everything while `work` runs.
   */
  async function asIfTwoNodes(work: () => Promise<void>): Promise<void> {
    const admit = jest.spyOn(PushedVersions.prototype, 'admit').mockReturnValue(true);
    try {
      await work();
    } finally {
      admit.mockRestore();
    }
  }

  /** An ON_CLOSE poll (no counts while it is open, but to its author and the space's moderators), and its closing and reopening. */
  async function onClosePoll(): Promise<{ topicId: string; pollId: string; option: string; close: (closed: boolean) => Promise<unknown> }> {
    const topic = await createTopic(t, author.token, forumBoard);
    const input = { postId: topic.firstPostId, question: 'Which day?', options: ['Monday', 'Tuesday'], kind: 'SINGLE', results: 'ON_CLOSE', publicVoters: false };
    const poll = expectOk(await t.gql(CREATE_POLL, { input }, { token: author.token })).createPoll;
    const close = async (closed: boolean) => expectOk(await t.gql(closed ? CLOSE_POLL : REOPEN_POLL, { id: poll.id }, { token: author.token }));
    return { topicId: topic.id, pollId: poll.id, option: poll.options[0].id, close };
  }

  it('a poll’s news without counts carries a version: a reopening’s push sent after another node’s closing is dropped by the client', async () => {
    const { topicId, close } = await onClosePoll();
    const rs = await readers(topicId, 'poll:updated');
    await close(true);
    await allHeard(rs, topicId);
    await asIfTwoNodes(async () => {
      // The reopening's push (news without counts, to them) held once read, until the closing's
      // (with the counts, to the whole room) is heard: then it goes out, as from another node.
      await firstPushLate(POLL_READ, rs[0].socket, 'poll:updated', () => close(false), () => close(true), (e) => e.topicId === topicId && e.closed === true);
      await allHeard(rs, topicId);
    });
    for (const r of rs) {
      // Heard last, as from another node; older than the closing, which the client keeps.
      expect(r.heard.at(-1)).toMatchObject({ closed: false });
      expect(r.heard.at(-1)).not.toHaveProperty('voterCount');
      expect(shown(r.heard)).toMatchObject({ closed: true, voterCount: 0 });
    }
  });

  it('a poll’s news without counts tells nothing of the votes between: its version is the same with votes as without', async () => {
    /** The versions an anonymous reader hears as the poll closes, reopens, takes `votes` votes (unheard) and closes again. */
    const versionsHeard = async (votes: number): Promise<number[]> => {
      const { topicId, pollId, option, close } = await onClosePoll();
      // The poll's creation pushed before the reader joins: it hears from the closing on.
      await t.get(LiveGateway).settled();
      const [r] = await readers(topicId, 'poll:updated', 1);
      // Each push heard before the next write: none reads what a later write made.
      await close(true);
      await allHeard([r], topicId);
      await close(false);
      await allHeard([r], topicId);
      for (let i = 0; i < votes; i++) await votePoll(pollId, option);
      await close(true);
      await allHeard([r], topicId);
      expect(r.heard.map((e) => [e.closed, e.voterCount])).toEqual([[true, 0], [false, undefined], [true, votes]]);
      return r.heard.map((e) => e.version);
    };
    const quiet = await versionsHeard(0);
    const voted = await versionsHeard(3);
    // The reopening's, without counts, the same. The closings' carry the counts, and with them the
    // full version (news * 2^31 + version), which the votes raise as they raise the counts shown.
    expect(voted[1]).toBe(quiet[1]);
    for (const versions of [quiet, voted]) {
      for (const v of versions) expect(typeof v).toBe('number');
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
    }
  });

  it('a poll’s news without counts read after votes tells nothing of them: its version is the news one, whatever the push read', async () => {
    /** The version an anonymous reader hears with a reopening whose push reads the poll after `votes` votes (unheard) committed. */
    const versionHeard = async (votes: number): Promise<number> => {
      const { topicId, pollId, option, close } = await onClosePoll();
      await t.get(LiveGateway).settled();
      const [r] = await readers(topicId, 'poll:updated', 1);
      await close(true);
      await allHeard([r], topicId);
      // The reopening's push held before its read of the poll while the votes commit: it reads them.
      let picked = false;
      const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown) => !picked && typeof sql === 'string' && POLL_READ.test(sql) && (picked = true), 'before');
      try {
        await close(false);
        await gate.begun;
        for (let i = 0; i < votes; i++) await votePoll(pollId, option);
      } finally {
        gate.restore();
      }
      await allHeard([r], topicId);
      expect(r.heard.map((e) => [e.closed, e.voterCount])).toEqual([[true, 0], [false, undefined]]);
      return r.heard[1].version;
    };
    const quiet = await versionHeard(0);
    expect(typeof quiet).toBe('number');
    expect(await versionHeard(3)).toBe(quiet);
  });

  /** An ON_CLOSE poll closing by itself in a day, with its readers: anonymous and a member (no counts while it is open), and its author (counts). */
  async function closingPoll(): Promise<{ topicId: string; pollId: string; option: string; rs: Array<{ socket: Socket; heard: any[] }>; passes: () => Promise<unknown> }> {
    const topic = await createTopic(t, author.token, forumBoard);
    const closesAt = new Date(Date.now() + 86_400_000).toISOString();
    const input = { postId: topic.firstPostId, question: 'Which day?', options: ['Monday', 'Tuesday'], kind: 'SINGLE', results: 'ON_CLOSE', publicVoters: false, closesAt };
    const poll = expectOk(await t.gql(CREATE_POLL, { input }, { token: author.token })).createPoll;
    await t.get(LiveGateway).settled();
    const rs = await readers(topic.id, 'poll:updated');
    const socket = await connectLive(url, sockets, author.token);
    expect(await socket.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const heard: any[] = [];
    socket.on('poll:updated', (e: any) => heard.push(e));
    // Its closing time passing, as the clock would make it pass.
    const passes = () => t.sql(`UPDATE polls SET closes_at = now() - interval '1 second' WHERE id = $1`, [poll.id]);
    return { topicId: topic.id, pollId: poll.id, option: poll.options[0].id, rs: [...rs, { socket, heard }], passes };
  }
  const newsOf = async (pollId: string): Promise<number> => (await t.sql(`SELECT news FROM polls WHERE id = $1`, [pollId]))[0].news;

  it('a poll closing by its time: the job tells it once, whichever node runs it, with a version above every push of it open', async () => {
    const { topicId, pollId, option, rs, passes } = await closingPoll();
    await votePoll(pollId, option);
    // Closed and reopened by hand: every reader heard it open, its closing time still ahead.
    for (const closed of [true, false]) expectOk(await t.gql(closed ? CLOSE_POLL : REOPEN_POLL, { id: pollId }, { token: author.token }));
    await allHeard(rs, topicId);
    const open = rs.map((r) => shown(r.heard));
    for (const o of open) expect(o).toMatchObject({ closed: false });
    await passes();
    const news = await newsOf(pollId);
    // Two nodes' jobs at once: the closing is told once (news raised by one, one event).
    const told = await Promise.all([t.get(PollsService).tellClosings(), t.get(PollsService).tellClosings()]);
    expect(told[0] + told[1]).toBe(1);
    expect(await newsOf(pollId)).toBe(news + 1);
    const events = await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND type = 'poll.updated'`, [pollId]);
    await allHeard(rs, topicId);
    for (const [i, r] of rs.entries()) {
      // Closed, counts and all (ON_CLOSE), above what each heard of it open.
      expect(shown(r.heard)).toMatchObject({ closed: true, voterCount: 1 });
      expect(shown(r.heard).version).toBeGreaterThan(open[i].version);
    }
    const heardBefore = rs.map((r) => r.heard.length);
    // Told already: another run (the worker's job) writes and announces nothing.
    expect(t.get(JobScheduler).names()).toContain('tell-poll-closings');
    expect(await t.get(JobScheduler).runNow('tell-poll-closings')).toBe(true);
    expect(await newsOf(pollId)).toBe(news + 1);
    expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND type = 'poll.updated'`, [pollId])).toEqual(events);
    await allHeard(rs, topicId);
    expect(rs.map((r) => r.heard.length)).toEqual(heardBefore);
  });

  it('a poll whose closing time passed, not told yet, is pushed closed with a version no push of it open carries, and its next change above it', async () => {
    for (const change of ['reopen', 'edit'] as const) {
      const { topicId, pollId, rs, passes } = await closingPoll();
      await allHeard(rs, topicId);
      const openNews = (await t.get(PollsService).forPush(pollId))!;
      expect(openNews.closed).toBe(false);
      await passes();
      // What a push reads once the time passed, before the job told it.
      const passed = (await t.get(PollsService).forPush(pollId))!;
      expect(passed.closed).toBe(true);
      expect(newsVersion(passed.news)).toBeGreaterThan(newsVersion(openNews.news));
      expect(fullVersion(passed)).toBeGreaterThan(fullVersion(openNews));
      // Reopened, or given another time ahead (no votes), before the job ran: open again, above the closed read.
      if (change === 'reopen') expectOk(await t.gql(REOPEN_POLL, { id: pollId }, { token: author.token }));
      else {
        const input = { pollId, question: 'Which day, then?', options: ['Monday', 'Tuesday'], kind: 'SINGLE', results: 'ON_CLOSE', publicVoters: false, closesAt: new Date(Date.now() + 86_400_000).toISOString() };
        expectOk(await t.gql(UPDATE_POLL, { input }, { token: author.token }));
      }
      await allHeard(rs, topicId);
      for (const r of rs) {
        expect(r.heard.at(-1)).toMatchObject({ closed: false });
        expect(r.heard.at(-1).version).toBeGreaterThan(r.heard.at(-1).voterCount === undefined ? newsVersion(passed.news) : fullVersion(passed));
      }
      // Nothing left to tell: the time that passed is gone (reopened) or replaced (edited).
      expect(await t.get(PollsService).tellClosings()).toBe(0);
    }
  });

  it('a poll’s readers without counts hear a change exactly when it raises the poll’s news, with that news: creation, edit, votes, closings by hand and by time, reopening', async () => {
    const topic = await createTopic(t, author.token, forumBoard);
    const [r] = await readers(topic.id, 'poll:updated', 1);
    // MODERATORS: an anonymous reader sees no counts, open or closed, so hears the news alone.
    const input = { postId: topic.firstPostId, question: 'Which day?', options: ['Monday', 'Tuesday'], kind: 'SINGLE', results: 'MODERATORS', publicVoters: false };
    const poll = expectOk(await t.gql(CREATE_POLL, { input }, { token: author.token })).createPoll;
    await allHeard([r], topic.id);
    /** What `change` raised the news by, and what the reader heard of it. */
    const step = async (change: () => Promise<unknown>): Promise<{ raised: number; heard: any[] }> => {
      const before = (await t.get(PollsService).forPush(poll.id))!.news;
      const from = r.heard.length;
      await change();
      await allHeard([r], topic.id);
      const after = (await t.get(PollsService).forPush(poll.id))!;
      const heard = r.heard.slice(from);
      // Whatever they heard carries the news read after it.
      for (const e of heard) expect(e.version).toBe(newsVersion(after.news));
      return { raised: after.news - before, heard };
    };
    expect(r.heard).toHaveLength(1);
    expect(r.heard[0]).toMatchObject({ closed: false, version: newsVersion(0) });
    const edit = { pollId: poll.id, ...input, postId: undefined, question: 'Which day, then?', closesAt: new Date(Date.now() + 86_400_000).toISOString() };
    const close = (closed: boolean) => async () => expectOk(await t.gql(closed ? CLOSE_POLL : REOPEN_POLL, { id: poll.id }, { token: author.token }));
    let options: Array<{ id: string }> = poll.options;
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['edit', async () => (options = expectOk(await t.gql(UPDATE_POLL, { input: edit }, { token: author.token })).updatePoll.options)],
      ['vote', () => votePoll(poll.id, options[0].id)],
      ['close', close(true)],
      ['reopen', close(false)],
      ['vote', () => votePoll(poll.id, options[1].id)],
      ['time passes', () => t.sql(`UPDATE polls SET closes_at = now() - interval '1 second' WHERE id = $1`, [poll.id])],
      ['told', () => t.get(PollsService).tellClosings()],
      ['reopen', close(false)],
    ];
    const outcome: Array<[string, number, number]> = [];
    for (const [name, change] of steps) {
      const { raised, heard } = await step(change);
      outcome.push([name, raised, heard.length]);
    }
    // Heard once for each change that raised the news, and never otherwise. (The closing by hand
    // raises it by two while the edit's closing time is ahead: one for that closing time, which a
    // push read once it passed may have carried. The closing time's passing raises the news its
    // pushes read, but writes nothing: the job's telling it is heard, with the same news.)
    expect(outcome).toEqual([
      ['edit', 1, 1], ['vote', 0, 0], ['close', 2, 1], ['reopen', 1, 1], ['vote', 0, 0],
      ['time passes', 1, 0], ['told', 0, 1], ['reopen', 1, 1],
    ]);
  });

  it('a poll told closed by the job but reopened before its push read it: the push shows it open, its counts to none but those who see them', async () => {
    const { topicId, pollId, option, rs, passes } = await closingPoll();
    await votePoll(pollId, option);
    await allHeard(rs, topicId);
    await passes();
    // The job's push held before its read of the poll while the author reopens it.
    let picked = false;
    const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown) => !picked && typeof sql === 'string' && POLL_READ.test(sql) && (picked = true), 'before');
    const from = rs.map((r) => r.heard.length);
    try {
      expect(await t.get(PollsService).tellClosings()).toBe(1);
      await gate.begun;
      expectOk(await t.gql(REOPEN_POLL, { id: pollId }, { token: author.token }));
    } finally {
      gate.restore();
    }
    await allHeard(rs, topicId);
    const [anonymous, member, ofAuthor] = rs.map((r, i) => r.heard.slice(from[i]));
    for (const heard of [anonymous, member]) {
      expect(heard.length).toBeGreaterThan(0);
      for (const e of heard) {
        expect(e).toMatchObject({ closed: false });
        expect(e).not.toHaveProperty('voterCount');
        expect(e).not.toHaveProperty('options');
      }
    }
    expect(shown(ofAuthor)).toMatchObject({ closed: false, voterCount: 1 });
    // Nor does the API show them: the poll open, ON_CLOSE, they did not vote.
    const POLL = `query($id: ID!) { post(id: $id) { poll { closed voterCount options { voteCount } } } }`;
    const postId = (await t.sql(`SELECT post_id FROM polls WHERE id = $1`, [pollId]))[0].post_id;
    expect(expectOk(await t.gql(POLL, { id: postId })).post.poll).toEqual({ closed: false, voterCount: null, options: [{ voteCount: null }, { voteCount: null }] });
  });

  const setTimer = async (topicId: string, kind: string, afterHours: number) =>
    expectOk(await t.gql(SET_TIMER, { input: { topicId, kind, afterHours } }, { token: moderator.token }));
  const removeTimer = async (topicId: string, kind: string) => expectOk(await t.gql(REMOVE_TIMER, { input: { topicId, kind } }, { token: moderator.token }));
  /** A topic's timers' push: its readers' users judged (`forReaders`), the timers read with them. */
  const TIMERS_READ = () => ({ object: t.get(TopicTimersService), method: 'forReaders' });

  /** Readers of a topic's timers: anonymous, a member, and a moderator of its space (every timer). */
  async function timerReaders(topicId: string): Promise<Array<{ socket: Socket; heard: any[] }>> {
    const rs = await readers(topicId, 'topic:timers');
    const socket = await connectLive(url, sockets, moderator.token);
    expect(await socket.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    const heard: any[] = [];
    socket.on('topic:timers', (e: any) => heard.push(e));
    return [...rs, { socket, heard }];
  }

  it('a topic’s timers: a change’s push read before the next change and sent after it is not sent', async () => {
    const topicId = (await createTopic(t, author.token, forumBoard)).id;
    const rs = await timerReaders(topicId);
    await firstPushLate(TIMERS_READ(), rs[0].socket, 'topic:timers', () => setTimer(topicId, 'CLOSE', 2), () => removeTimer(topicId, 'CLOSE'), (e) => e.topicId === topicId && e.timers.length === 0);
    await allHeard(rs, topicId);
    for (const r of rs) {
      expect(r.heard.at(-1)).toMatchObject({ topicId, timers: [] });
      const versions = r.heard.map((e) => e.version);
      for (const v of versions) expect(typeof v).toBe('number');
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
  });

  it('a topic’s timers carry a version: a change’s push sent after another node’s newer one is dropped by the client', async () => {
    const topicId = (await createTopic(t, author.token, forumBoard)).id;
    const rs = await timerReaders(topicId);
    await asIfTwoNodes(async () => {
      await firstPushLate(TIMERS_READ(), rs[0].socket, 'topic:timers', () => setTimer(topicId, 'CLOSE', 2), () => removeTimer(topicId, 'CLOSE'), (e) => e.topicId === topicId && e.timers.length === 0);
      await allHeard(rs, topicId);
    });
    for (const r of rs) {
      // Heard last, as from another node; older than the removal, which the client keeps.
      expect(r.heard.at(-1).timers.map((x: { kind: string }) => x.kind)).toEqual(['CLOSE']);
      expect(shown(r.heard)).toMatchObject({ topicId, timers: [] });
    }
  });

  it('a topic’s timers: readers who see the status timers only hear versions that tell nothing of the moderators’ own timers', async () => {
    /** The versions a member and a moderator hear as a CLOSE timer is set, then (with `unpin`) an UNPIN one, then the CLOSE one removed. */
    const versionsHeard = async (unpin: boolean): Promise<{ member: number[]; moderator: number[] }> => {
      const topicId = (await createTopic(t, author.token, forumBoard)).id;
      const [, member, mod] = await timerReaders(topicId);
      // Each push heard before the next change: none reads what a later change made.
      await setTimer(topicId, 'CLOSE', 2);
      await allHeard([member, mod], topicId);
      if (unpin) {
        await setTimer(topicId, 'UNPIN', 3);
        await allHeard([member, mod], topicId);
      }
      await removeTimer(topicId, 'CLOSE');
      await allHeard([member, mod], topicId);
      expect(member.heard.map((e) => e.timers.length)).toEqual([1, 0]);
      expect(mod.heard.map((e) => e.timers.length)).toEqual(unpin ? [1, 2, 1] : [1, 0]);
      return { member: member.heard.map((e) => e.version), moderator: mod.heard.map((e) => e.version) };
    };
    const without = await versionsHeard(false);
    const withUnpin = await versionsHeard(true);
    expect(withUnpin.member).toEqual(without.member);
    for (const versions of [without.member, withUnpin.moderator]) {
      for (const v of versions) expect(typeof v).toBe('number');
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
    }
  });

  it('a topic’s timers: a status change’s push read after a moderators’ timer was set tells the others nothing of it', async () => {
    /** The versions a member hears as a CLOSE timer is set and removed, the removal's push reading the timers after (with `unpin`) an UNPIN one was set. */
    const versionsHeard = async (unpin: boolean): Promise<number[]> => {
      const topicId = (await createTopic(t, author.token, forumBoard)).id;
      const [, member] = await timerReaders(topicId);
      await setTimer(topicId, 'CLOSE', 2);
      await allHeard([member], topicId);
      // The removal's push held before its read while the UNPIN timer is set: it reads that change.
      let picked = false;
      const { object, method } = TIMERS_READ();
      const gate = gateCalls(object, method, () => !picked && (picked = true), 'before');
      try {
        await removeTimer(topicId, 'CLOSE');
        await gate.begun;
        if (unpin) await setTimer(topicId, 'UNPIN', 3);
      } finally {
        gate.restore();
      }
      await allHeard([member], topicId);
      expect(member.heard.map((e) => e.timers.length)).toEqual([1, 0]);
      return member.heard.map((e) => e.version);
    };
    const without = await versionsHeard(false);
    for (const v of without) expect(typeof v).toBe('number');
    expect(await versionsHeard(true)).toEqual(without);
  });

  it('a topic’s timers: a moderator made a reader again keeps the news that follows, whose version passes the full one they heard', async () => {
    // A space of its own: `moderator` sets the timers, `demoted` moderates it until the grant is revoked.
    const demoted = await makeUser(t);
    const admin = await makeUser(t, { role: 'ADMIN' });
    const space = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }, { userId: demoted.id, level: 'MODERATE' }]);
    const topicId = (await createTopic(t, author.token, await makeBoard(t, space.id))).id;
    const socket = await connectLive(url, sockets, demoted.token);
    expect(await socket.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    const r = { socket, heard: [] as any[] };
    socket.on('topic:timers', (e: any) => r.heard.push(e));
    await setTimer(topicId, 'CLOSE', 2);
    await allHeard([r], topicId);
    // The moderators' own timer: a full version past the news one, which a reader's client never holds.
    await setTimer(topicId, 'UNPIN', 3);
    await allHeard([r], topicId);
    expect(r.heard.map((e) => e.timers.map((x: { kind: string }) => x.kind))).toEqual([['CLOSE'], ['CLOSE', 'UNPIN']]);
    const REVOKE = `mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`;
    expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, userId: demoted.id } }, { token: admin.token }));
    await allHeard([r], topicId);
    // The next change of a status timer reaches them as a reader: the news version, which must not
    // be lower than the full one they kept as a moderator, or their client would drop it.
    await setTimer(topicId, 'CLOSE', 4);
    await allHeard([r], topicId);
    expect(r.heard).toHaveLength(3);
    expect(shown(r.heard)).toEqual({ topicId, timers: [{ kind: 'CLOSE', at: expect.any(String), afterHours: null, setById: null, boardId: null }], version: expect.any(Number) });
  });

  const reactionIn = async () => {
    const topic = await createTopic(t, author.token, forumBoard);
    return { topicId: topic.id, postId: topic.firstPostId as string };
  };
  const react = async (postId: string, token?: string) =>
    expectOk(await t.gql(REACT, { input: { postId, kind: 'LIKE' } }, { token: token ?? (await makeUser(t)).token }));

  it('a post’s reactions: a reaction’s push read before the next reaction and sent after it is not sent', async () => {
    const { topicId, postId } = await reactionIn();
    const rs = await readers(topicId, 'reaction:updated');
    await firstPushLate(POST_READ, rs[0].socket, 'reaction:updated', () => react(postId), () => react(postId), (e) => e.postId === postId && e.counts.LIKE === 2);
    await allHeard(rs, topicId);
    for (const r of rs) expectInOrder(r.heard, (e) => e.counts.LIKE, 2);
  });

  it('a post’s reactions: the last push of many reactions at once carries the final count', async () => {
    const { topicId, postId } = await reactionIn();
    const rs = await readers(topicId, 'reaction:updated', 3);
    const fans = await Promise.all(Array.from({ length: 25 }, () => makeUser(t)));
    await Promise.all(fans.map((f) => react(postId, f.token)));
    await allHeard(rs, topicId);
    for (const r of rs) expectInOrder(r.heard, (e) => e.counts.LIKE, 25);
  });

  const voteIdea = async (topicId: string, token?: string) => expectOk(await t.gql(VOTE_IDEA, { id: topicId }, { token: token ?? (await makeUser(t)).token }));

  it('an idea’s votes: a vote’s push read before the next vote and sent after it is not sent', async () => {
    const topicId = (await createTopic(t, author.token, ideasBoard)).id;
    const rs = await readers(topicId, 'idea:updated');
    await firstPushLate(IDEA_READ, rs[0].socket, 'idea:updated', () => voteIdea(topicId), () => voteIdea(topicId), (e) => e.topicId === topicId && e.voteCount === 3);
    await allHeard(rs, topicId);
    // The author's own vote comes with the idea (voteCount 1 before these two).
    for (const r of rs) expectInOrder(r.heard, (e) => e.voteCount, 3);
  });

  it('an idea’s votes: the last push of many votes at once carries the final count', async () => {
    const topicId = (await createTopic(t, author.token, ideasBoard)).id;
    const rs = await readers(topicId, 'idea:updated', 3);
    const voters = await Promise.all(Array.from({ length: 25 }, () => makeUser(t)));
    await Promise.all(voters.map((v) => voteIdea(topicId, v.token)));
    await allHeard(rs, topicId);
    for (const r of rs) expectInOrder(r.heard, (e) => e.voteCount, 26);
  });
  it('a topic’s settings: a change’s push read before the next change and sent after it is not sent', async () => {
    const topicId = (await createTopic(t, author.token, forumBoard)).id;
    const rs = [...(await readers(topicId, 'topic:updated')), ...(await readers({ boardId: forumBoard }, 'topic:updated', 1))];
    const status = async (change: object) => expectOk(await t.gql(STATUS, { input: { topicId, ...change } }, { token: moderator.token }));
    await firstPushLate(TOPIC_READ, rs[0].socket, 'topic:updated', () => status({ pinned: true }), () => status({ closed: true }), (e) => e.topicId === topicId && e.closed === true);
    await allHeard(rs.slice(0, 2), topicId);
    await allHeard(rs.slice(2), { boardId: forumBoard });
    for (const r of rs) {
      const mine = r.heard.filter((e) => e.topicId === topicId);
      expect(mine.at(-1)).toMatchObject({ pinned: true, closed: true });
      const versions = mine.map((e) => e.version);
      for (const v of versions) expect(typeof v).toBe('number');
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
  });

  it('a post’s edit: its push read before the post was hidden and sent after the removal is not sent, to the room nor to a reader who came after', async () => {
    const topicId = (await createTopic(t, author.token, forumBoard)).id;
    const postId = (await reply(t, author.token, topicId)).id;
    /** A reader with the post's pushes, in the order heard. */
    const listening = async () => {
      const socket = await connectLive(url, sockets);
      expect(await socket.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
      const heard: Array<[string, any]> = [];
      socket.onAny((name: string, e: any) => (e?.postId === postId || e?.post?.id === postId) && heard.push([name, e]));
      return { socket, heard };
    };
    const early = await listening();
    await t.get(LiveGateway).settled();
    let later: Awaited<ReturnType<typeof listening>>;
    let picked = false;
    const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown) => !picked && typeof sql === 'string' && POSTS_READ.test(sql) && (picked = true), 'after');
    try {
      // The edit's push has read the post, visible; the hide commits and its removal is heard.
      expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body: 'Edited, then hidden.' } }, { token: author.token }));
      await gate.begun;
      const removal = heardLive(early.socket, 'post:removed');
      expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId, action: 'HIDE' } }, { token: moderator.token }));
      await removal.first((e) => e.postId === postId);
      // One who loads the page now is shown the placeholder (with the removal's version, which the next test holds the client's rule to).
      later = await listening();
    } finally {
      gate.restore();
    }
    await allHeard([early, later], topicId);
    // Until 2026-12-07 the edit's push went out after the removal: the early reader was left to drop it by its version,
    // and the later one, holding no version of the post, showed the hidden post in full.
    // The reply's own post:created is not what this is about: it is published after the reply's answer, so under load
    // it may reach the early reader after it joined (seen once, 2026-12-07, with a CI run beside it).
    const notCreation = ([name]: [string, any]) => name !== 'post:created';
    expect(early.heard.filter(notCreation).map(([name]) => name)).toEqual(['post:removed']);
    expect(later.heard.filter(notCreation)).toEqual([]);
  });

  /** The post `postId` of topic `topicId` as a signed-out reader's page shows it (`Topic.posts`). */
  async function onPage(topicId: string, postId: string): Promise<{ state: string; placeholder: string | null; version: number | null }> {
    const page = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { id state placeholder version } } } } }`, { id: topicId }));
    return page.topic.posts.edges.map((e: any) => e.node).find((n: any) => n.id === postId);
  }

  /** A new reply of the author's, and a signed-out reader in its topic's room once every push under way is sent. */
  async function replyWithReader(): Promise<{ topicId: string; postId: string; socket: Socket }> {
    const topicId = (await createTopic(t, author.token, forumBoard)).id;
    const postId = (await reply(t, author.token, topicId)).id;
    const socket = await connectLive(url, sockets);
    expect(await socket.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    await t.get(LiveGateway).settled();
    return { topicId, postId, socket };
  }

  it('a post’s edit from another node: its push read before the post was hidden and sent after the removal is dropped by a reader who loaded the page after the hide, by its placeholder’s version, the removal’s', async () => {
    const { topicId, postId, socket: early } = await replyWithReader();
    const later = await connectLive(url, sockets);
    const heardLater: Array<[string, any]> = [];
    later.onAny((name: string, e: any) => (e?.postId === postId || e?.post?.id === postId) && heardLater.push([name, e]));
    let removal!: { version: number };
    let shown!: Awaited<ReturnType<typeof onPage>>;
    await asIfTwoNodes(async () => {
      let picked = false;
      const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown) => !picked && typeof sql === 'string' && POSTS_READ.test(sql) && (picked = true), 'after');
      try {
        // The edit's push has read the post, visible; the hide commits and its removal is heard.
        expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body: 'Edited, then hidden.' } }, { token: author.token }));
        await gate.begun;
        const removed = heardLive(early, 'post:removed');
        expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId, action: 'HIDE' } }, { token: moderator.token }));
        removal = await removed.first((e) => e.postId === postId);
        // One who loads the page now is shown the placeholder, and joins the room.
        shown = await onPage(topicId, postId);
        expect(await later.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
      } finally {
        // Let go as another node's push would go: after the removal, unfiltered.
        gate.restore();
      }
      await allHeard([{ socket: early }, { socket: later }], topicId);
    });
    // The page's placeholder carries the removal's version (until 2026-12-07 none)…
    expect(shown).toMatchObject({ state: 'HIDDEN', placeholder: 'This post was hidden by a moderator.' });
    expect(typeof removal.version).toBe('number');
    expect(shown.version).toBe(removal.version);
    // …and the edit's push, heard after it, carries a lower one: the client's rule (README, Order) drops it.
    const edits = heardLater.filter(([name]) => name === 'post:updated').map(([, e]) => e);
    expect(edits).toHaveLength(1);
    expect(edits[0].post.bodyHtml).toContain('Edited, then hidden.');
    expect(edits[0].post.version).toBeLessThan(shown.version!);
  });

  it('a hidden post’s placeholder: a page shows the version its post:removed carried, which an edit of it leaves, a deletion of it moves on with its own post:removed, and a restore passes', async () => {
    const { topicId, postId, socket } = await replyWithReader();
    const heard: Array<[string, any]> = [];
    socket.onAny((name: string, e: any) => (e?.postId === postId || e?.post?.id === postId) && name !== 'post:created' && heard.push([name, e]));
    const moderate = async (action: string) => expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`, { input: { postId, action } }, { token: moderator.token })).moderatePost.state;
    const settled = () => allHeard([{ socket }], topicId);
    const stored = async () => (await t.sql(`SELECT version FROM posts WHERE id = $1`, [postId]))[0].version as number;

    expect(await moderate('HIDE')).toBe('HIDDEN');
    await settled();
    const hidden = heard.at(-1)!;
    expect(hidden).toEqual(['post:removed', { topicId, postId, placeholder: 'This post was hidden by a moderator.', version: expect.any(Number) }]);
    expect(await onPage(topicId, postId)).toMatchObject({ state: 'HIDDEN', version: hidden[1].version });

    // Its author edits it (they read it in full): the post's version grows, what readers are shown does not.
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body: 'Edited while hidden.' } }, { token: author.token }));
    await settled();
    expect(await stored()).toBeGreaterThan(hidden[1].version);
    expect(heard).toHaveLength(1);
    expect(await onPage(topicId, postId)).toMatchObject({ state: 'HIDDEN', version: hidden[1].version });

    // Deleted: a new placeholder, at the version its own post:removed carries, above the edit's.
    const edited = await stored();
    expect(await moderate('DELETE')).toBe('DELETED');
    await settled();
    const deleted = heard.at(-1)!;
    expect(deleted).toEqual(['post:removed', { topicId, postId, placeholder: 'This post was deleted.', version: expect.any(Number) }]);
    expect(deleted[1].version).toBeGreaterThan(edited);
    expect(await onPage(topicId, postId)).toMatchObject({ state: 'DELETED', version: deleted[1].version });

    // Restored, it is hidden again (as it was when deleted), shown at the restore's version, above the deletion's.
    expect(await moderate('RESTORE')).toBe('HIDDEN');
    const restored = await onPage(topicId, postId);
    expect(restored).toMatchObject({ state: 'HIDDEN', placeholder: 'This post was hidden by a moderator.' });
    expect(restored.version).toBeGreaterThan(deleted[1].version);
    expect(restored.version).toBe(await stored());

    // Unhidden: its readers hear it in full at a version above every placeholder's, which the page shows too.
    expect(await moderate('UNHIDE')).toBe('VISIBLE');
    await settled();
    const unhidden = heard.at(-1)!;
    expect(unhidden[0]).toBe('post:updated');
    expect(unhidden[1].post.version).toBeGreaterThan(restored.version!);
    expect(await onPage(topicId, postId)).toMatchObject({ state: 'VISIBLE', version: unhidden[1].post.version });
  });

  it('a board’s topic activity: a reply’s push read before the next reply and sent after it is not sent', async () => {
    const topicId = (await createTopic(t, author.token, forumBoard)).id;
    const board = { boardId: forumBoard };
    const rs = await readers(board, 'topic:activity');
    await firstPushLate(POSTS_READ, rs[0].socket, 'topic:activity', () => reply(t, author.token, topicId), () => reply(t, author.token, topicId), (e) => e.topicId === topicId && e.lastPostNumber === 3);
    await allHeard(rs, board);
    for (const r of rs) expectInOrder(r.heard.filter((e) => e.topicId === topicId), (e) => e.lastPostNumber, 3);
  });

  /**
   * `write`'s push held once its read (`read`, a statement of the app's DataSource) has read;
   * then `remove` committed and its news heard (`news`: a topic's, as a reader hears it), then
   * the push let go. Returns what `write` answered.
   */
  async function heldUntilRemoved<T extends { id: string }>(
    read: RegExp,
    write: () => Promise<T>,
    news: (topic: T) => Promise<{ first: (pick: (e: any) => boolean) => Promise<unknown> }>,
    remove: (topic: T) => Promise<unknown>,
  ): Promise<T> {
    let picked = false;
    const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown) => !picked && typeof sql === 'string' && read.test(sql) && (picked = true), 'after');
    try {
      const topic = await write();
      await gate.begun;
      const told = await news(topic);
      await remove(topic);
      await told.first((e) => e.topicId === topic.id);
      return topic;
    } finally {
      gate.restore();
    }
  }

  /**
   * A post's arrival read, held once it has read: a new topic's first post, whose push tells its
   * board `topic:created` with its title, or (`replying`) a reply to a topic written first, whose
   * push tells it `topic:activity`. Then `remove` (the topic moved away, its first post hidden)
   * committed and its news heard (`news`: where a reader hears it, the board's room or the
   * topic's), then the arrival let go. Returns what a reader of the board heard of the topic from
   * the arrival on, in order, as [event, payload].
   */
  async function arrivalLate(
    news: (topic: { id: string }, board: Socket) => Promise<{ first: (pick: (e: any) => boolean) => Promise<unknown> }>,
    remove: (topic: { id: string; firstPostId: string }) => Promise<unknown>,
    replying = false,
  ): Promise<Array<[string, any]>> {
    const title = 'A title its board may no longer read';
    const earlier = replying ? await createTopic(t, author.token, forumBoard, { title }) : undefined;
    await t.get(LiveGateway).settled();
    const board = await connectLive(url, sockets);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    board.onAny((name: string, e: any) => heard.push([name, e]));
    const arrive = async () => {
      if (!earlier) return createTopic(t, author.token, forumBoard, { title });
      await reply(t, author.token, earlier.id);
      return earlier;
    };
    const topic = await heldUntilRemoved(POSTS_READ, arrive, (x) => news(x, board), remove);
    await t.get(LiveGateway).settled();
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    return heard.filter(([, e]) => e?.topicId === topic.id || e?.topic?.id === topic.id);
  }

  const moveTopic = async (topicId: string, boardId: string) =>
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId, boardId } }, { token: moderator.token }));
  const hideFirstPost = async (topic: { firstPostId: string }) =>
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: topic.firstPostId, action: 'HIDE' } }, { token: moderator.token }));
  /** Where a reader of the topic hears its first post go: its room (joined while it may be read). */
  const inTopicRoom = async (topic: { id: string }) => {
    const room = await connectLive(url, sockets);
    expect(await room.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    return heardLive(room, 'post:removed');
  };

  it('a new topic’s arrival on its board: its push read before the topic moved away and sent after the board heard the move is not sent there', async () => {
    const elsewhere = await makeBoard(t, spaceId);
    const heard = await arrivalLate(async (_topic, board) => heardLive(board, 'topic:moved'), (topic) => moveTopic(topic.id, elsewhere));
    // Until 2026-12-07 the arrival went out after the move's news: the old board's readers listed a
    // topic that had left it (one moved into a space they may not read, with its title).
    expect(heard.map(([name]) => name)).toEqual(['topic:moved']);
  });

  it('a new topic’s arrival on its board: its push read before its first post was hidden and sent after the removal is not sent there', async () => {
    const heard = await arrivalLate(inTopicRoom, hideFirstPost);
    // Until 2026-12-07 the arrival went out after the hide: the board's readers were told the hidden topic's title.
    // The hide's own news (its id and version alone) is all they hear of it.
    expect(heard).toEqual([['topic:removed', { topicId: expect.any(String), version: expect.any(Number) }]]);
  });

  it('a board’s topic activity: a reply’s push read before the topic’s first post was hidden and sent after the removal is not sent there', async () => {
    const heard = await arrivalLate(inTopicRoom, hideFirstPost, true);
    expect(heard.map(([name]) => name)).toEqual(['topic:removed']);
  });

  it('a new topic’s arrival on its board: its push read before a reply and sent after the reply’s activity still goes out', async () => {
    // The news pass the topic's leavings of its board and note nothing (`boardNewsPasses`): had the
    // reply's activity noted its newer version, the arrival would be dropped and the board would
    // never list the topic.
    const heard = await arrivalLate(async (_topic, board) => heardLive(board, 'topic:activity'), (topic) => reply(t, author.token, topic.id));
    expect(heard.map(([name]) => name)).toEqual(['topic:activity', 'topic:created']);
  });

  it('a topic’s settings: a change’s push read before the topic moved away and sent after the old board heard the move is not sent there', async () => {
    const topic = await createTopic(t, author.token, forumBoard);
    const elsewhere = await makeBoard(t, spaceId);
    await t.get(LiveGateway).settled();
    const board = await connectLive(url, sockets);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    const heard: string[] = [];
    board.onAny((name: string, e: any) => e?.topicId === topic.id && heard.push(name));
    const pin = async () => {
      expectOk(await t.gql(STATUS, { input: { topicId: topic.id, pinned: true } }, { token: moderator.token }));
      return topic;
    };
    await heldUntilRemoved(TOPIC_READ, pin, async () => heardLive(board, 'topic:moved'), () => moveTopic(topic.id, elsewhere));
    await t.get(LiveGateway).settled();
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    expect(heard).toEqual(['topic:moved']);
  });

  /**
   * `topic` moved from `from` to `to`, the move's handling held before it reads where the topic
   * is (its re-check of the topic's room) until `meanwhile` committed; then everything pushed
   * heard. Returns what a reader of each board heard of the topic from the move on, in order, as
   * [event, payload], and the topic's version as the move left it.
   */
  async function movedMeanwhile(
    topic: { id: string },
    from: string,
    to: string,
    meanwhile: () => Promise<unknown>,
  ): Promise<{ heardLeft: Array<[string, any]>; heardWent: Array<[string, any]>; version: number }> {
    await t.get(LiveGateway).settled();
    const [left, went] = [await connectLive(url, sockets), await connectLive(url, sockets)];
    expect(await left.timeout(5000).emitWithAck('board:join', { boardId: from })).toEqual({ ok: true });
    expect(await went.timeout(5000).emitWithAck('board:join', { boardId: to })).toEqual({ ok: true });
    const [heardLeft, heardWent]: Array<Array<[string, any]>> = [[], []];
    left.onAny((name: string, e: any) => (e?.topicId === topic.id || e?.topic?.id === topic.id) && heardLeft.push([name, e]));
    went.onAny((name: string, e: any) => (e?.topicId === topic.id || e?.topic?.id === topic.id) && heardWent.push([name, e]));
    let picked = false;
    const gate = gateCalls(t.get(LiveGateway), 'recheckEverywhere', (r: { id?: string }) => !picked && r?.id === topic.id && (picked = true), 'before');
    try {
      await moveTopic(topic.id, to);
      await gate.begun;
      const [{ version }] = await t.get(DataSource).query(`SELECT version FROM topics WHERE id = $1`, [topic.id]);
      await meanwhile();
      gate.open();
      await t.get(LiveGateway).settled();
      for (const [s, boardId] of [[left, from], [went, to]] as const) expect(await s.timeout(5000).emitWithAck('board:join', { boardId })).toEqual({ ok: true });
      return { heardLeft, heardWent, version: Number(version) };
    } finally {
      gate.restore();
    }
  }

  it('a topic moved, then hidden before the move is handled: the board it left hears it go (`topic:removed`, no title), the board it went to no arrival', async () => {
    const topic = await createTopic(t, author.token, forumBoard, { title: 'Spam moved then hidden' });
    const elsewhere = await makeBoard(t, spaceId);
    const { heardLeft, heardWent, version } = await movedMeanwhile(topic, forumBoard, elsewhere, () => hideFirstPost(topic));
    // Until 2026-12-07 the board it left heard nothing (the move read it hidden, the hide told
    // the board it went to) and kept listing a hidden topic until a reload.
    expect(heardLeft).toEqual([['topic:removed', { topicId: topic.id, version }]]);
    // The board it went to hears the hide's own removal (its id and version), never its arrival nor its title.
    expect(heardWent.filter(([name]) => name !== 'topic:removed')).toEqual([]);
  });

  it('a topic moved, back and on again before the first move is handled: the board it left never hears the first `topic:moved` after the newer arrival and move', async () => {
    const topic = await createTopic(t, author.token, forumBoard);
    const [elsewhere, third] = [await makeBoard(t, spaceId), await makeBoard(t, spaceId)];
    let newest = 0;
    const { heardLeft, version } = await movedMeanwhile(topic, forumBoard, elsewhere, async () => {
      // Back on the board it left (its arrival there), then on to a third (its leaving): both handled, and heard, while the first waits.
      const watcher = await connectLive(url, sockets);
      expect(await watcher.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
      const [moved, arrived] = [heardLive(watcher, 'topic:moved'), heardLive(watcher, 'topic:created')];
      await moveTopic(topic.id, forumBoard);
      // Its arrival heard before it moves on: read after the next move committed, it finds the topic
      // on the third board and announces no arrival (a busy machine's run failed so, seen again by
      // holding that read past the next move).
      await arrived.first((e) => e.topic?.id === topic.id);
      await moveTopic(topic.id, third);
      newest = Number((await t.get(DataSource).query(`SELECT version FROM topics WHERE id = $1`, [topic.id]))[0].version);
      await moved.first((e) => e.topicId === topic.id && e.version === newest);
    });
    // Until 2026-12-07 the first move's `topic:moved` (noted under `listed` before its awaits) went out last, older than both.
    // (The news, `topic:updated`, ordered by its own key.)
    expect(heardLeft.filter(([name]) => name !== 'topic:updated').map(([name, e]) => [name, e.version])).toEqual([['topic:created', expect.any(Number)], ['topic:moved', newest]]);
    expect(heardLeft[0][1].version).toBeGreaterThan(version);
  });

  it('a topic moved while hidden, then unhidden on its new board before the move is handled: the board it left, never shown it, hears nothing of it', async () => {
    const topic = await createTopic(t, author.token, forumBoard, { title: 'Hidden when it moved' });
    const elsewhere = await makeBoard(t, spaceId);
    await hideFirstPost(topic);
    const { heardLeft, heardWent } = await movedMeanwhile(topic, forumBoard, elsewhere, () => unhideFirstPost(topic));
    // Until 2026-12-07 the board it left heard `topic:moved` (the move read it visible): of a topic it was not shown, its id.
    expect(heardLeft).toEqual([]);
    // The board it went to hears it arrive (from its unhiding, and from the move, which reads it visible there now).
    expect(heardWent.map(([name]) => name)).toContain('topic:created');
    expect(heardWent.map(([name]) => name)).not.toContain('topic:removed');
  });

  it('a merged idea moved, then hidden before the move is handled: the board it left, whose lists left it out, hears nothing of it', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const otherIdeas = await makeBoard(t, spaceId, 'IDEAS');
    const [source, target] = [await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' }), await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' })];
    expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: source.id, targetId: target.id } }, { token: admin.token }));
    const { heardLeft, heardWent } = await movedMeanwhile(source, ideasBoard, otherIdeas, () => hideFirstPost(source));
    // Until 2026-12-07 the board it left heard `topic:removed` (README: not sent for a merged idea).
    expect(heardLeft.filter(([name]) => name !== 'idea:updated')).toEqual([]);
    expect(heardWent.filter(([name]) => name !== 'idea:updated')).toEqual([]);
  });

  /**
   * An idea arriving on the board `listen`, by `arrive`, whose push reads it with its idea in `method`
   * (held once read); a vote meanwhile, its push heard on that board before the arrival (which a
   * list ignores for a topic it does not list yet); then the arrival let go. What the board heard of it.
   */
  async function voteBeforeArrival(idea: { id: string }, listen: string, method: string, arrive: () => Promise<unknown>): Promise<{ heard: Array<[string, any]>; count: number }> {
    await t.get(LiveGateway).settled();
    const board = await connectLive(url, sockets, (await makeUser(t)).token);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: listen })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    board.onAny((name: string, e: any) => (e?.topicId === idea.id || e?.topic?.id === idea.id) && heard.push([name, e]));
    let voted = { count: -1, version: -1 };
    const vote = async () => {
      await voteIdea(idea.id);
      const [row] = await t.get(DataSource).query(`SELECT vote_count, version FROM ideas WHERE topic_id = $1`, [idea.id]);
      voted = { count: Number(row.vote_count), version: Number(row.version) };
    };
    await firstPushLate({ object: t.get(LiveGateway), method }, board, 'idea:updated', arrive, vote, (e) => e.topicId === idea.id && e.version === voted.version);
    await allHeard([{ socket: board }], { boardId: listen });
    const names = heard.map(([name]) => name);
    expect(names.indexOf('idea:updated')).toBeLessThan(names.indexOf('topic:created'));
    return { heard: heard.slice(names.indexOf('topic:created') + 1).filter(([name]) => name === 'idea:updated'), count: voted.count };
  }

  it('an idea moved onto an idea board: a vote’s push sent there before the arrival, whose read is older, is followed by the idea as it is now, after the arrival', async () => {
    const otherIdeas = await makeBoard(t, spaceId, 'IDEAS');
    const idea = await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' });
    const { heard, count } = await voteBeforeArrival(idea, otherIdeas, 'readArrival', () => moveTopic(idea.id, otherIdeas));
    // After its arrival, the idea with both votes (its move's own read, with one, is older than the vote's push, and not sent):
    // until then the board listed it without them until a reload.
    expect(count).toBe(2);
    expect(heard.map(([, e]) => e.voteCount)).toEqual([2]);
  });

  it('an idea unmerged: a vote’s push sent to its board before the arrival, whose read is older, is followed by the idea as it is now, after the arrival', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [source, target] = [await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' }), await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' })];
    expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: source.id, targetId: target.id } }, { token: admin.token }));
    const unmerge = async () => expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: source.id }, { token: admin.token }));
    const { heard, count } = await voteBeforeArrival(source, ideasBoard, 'readArrival', unmerge);
    // Until then the unmerge's own `idea:updated`, older, was not sent, and the board listed it without the vote.
    expect(heard.map(([, e]) => e.voteCount)).toEqual([count]);
  });

  it('an idea unmerged, then merged again: its arrival read before the merge and sent after the merge’s news is not sent to its board', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [source, target] = [await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' }), await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' })];
    const merge = async () => expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: source.id, targetId: target.id } }, { token: admin.token }));
    await merge();
    await t.get(LiveGateway).settled();
    // A member's connection: its room ops count against its own budget, not the suite's address's.
    const board = await connectLive(url, sockets, (await makeUser(t)).token);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: ideasBoard })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    board.onAny((name: string, e: any) => (e?.topicId === source.id || e?.topic?.id === source.id) && heard.push([name, e]));
    const unmerge = async () => {
      expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: source.id }, { token: admin.token }));
      return source;
    };
    // The unmerge's arrival (its first post read with the topic) held once read; the idea merged
    // again meanwhile, its `idea:updated` (MERGED) heard on the board; then the arrival let go.
    await heldUntilRemoved(/p\.topic_id = \$1 AND p\.number = 1/, unmerge, async () => heardLive(board, 'idea:updated'), merge);
    await pushedSoFar(t, [board]);
    // Until 2026-12-07 the merge raised no topic version and noted nothing: the arrival, older,
    // went out after it and the board listed a merged idea until a reload.
    expect(heard.filter(([name]) => name === 'topic:created')).toEqual([]);
    expect(heard.map(([name, e]) => [name, e.status])).toContainEqual(['idea:updated', 'MERGED']);
  });

  it('an idea merged, then hidden before the merge is pushed: a reader of its board, who may no longer see it, hears nothing of it (its topic’s version included)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [source, target] = [await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' }), await createTopic(t, author.token, ideasBoard, { kind: 'IDEA' })];
    await t.get(LiveGateway).settled();
    // A member's connection, who is no moderator: a hidden idea is not theirs to see.
    const board = await connectLive(url, sockets, (await makeUser(t)).token);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: ideasBoard })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    board.onAny((name: string, e: any) => heard.push([name, e]));
    const targetHeard = heardLive(board, 'idea:updated');
    // The merge's push of the source held before it reads; its first post hidden meanwhile.
    let picked = false;
    const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown, params: unknown) => !picked && typeof sql === 'string' && IDEA_READ.test(sql) && (params as unknown[])[0] === source.id && (picked = true));
    try {
      expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: source.id, targetId: target.id } }, { token: admin.token }));
      await gate.begun;
      await hideFirstPost(source);
    } finally {
      gate.restore();
    }
    // The target's push, which follows the source's, heard: it names nothing of the source.
    expect(await targetHeard.first((e) => e.topicId === target.id)).toEqual({ topicId: target.id, status: expect.any(String), voteCount: expect.any(Number), mergedIntoId: null, version: expect.any(Number), topicVersion: expect.any(Number) });
    await pushedSoFar(t, [board]);
    expect(heard.filter(([, e]) => JSON.stringify(e).includes(source.id))).toEqual([]);
  });

  it('an idea’s votes: a vote’s push read before the idea’s first post was hidden and sent after the removal is not sent to its board', async () => {
    const topic = await createTopic(t, author.token, ideasBoard);
    await t.get(LiveGateway).settled();
    const board = await connectLive(url, sockets);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: ideasBoard })).toEqual({ ok: true });
    const heard = heardLive(board, 'idea:updated');
    const vote = async () => {
      await voteIdea(topic.id);
      return topic;
    };
    await heldUntilRemoved(IDEA_READ, vote, inTopicRoom, hideFirstPost);
    await t.get(LiveGateway).settled();
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: ideasBoard })).toEqual({ ok: true });
    expect(heard.soFar().filter((e) => e.topicId === topic.id)).toEqual([]);
  });
  const unhideFirstPost = async (topic: { firstPostId: string }) =>
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: topic.firstPostId, action: 'UNHIDE' } }, { token: moderator.token }));

  it('a topic back on its board: its arrival read before its first post was hidden again and sent after the removal is not sent there', async () => {
    const topic = await createTopic(t, author.token, forumBoard);
    await hideFirstPost(topic);
    await t.get(LiveGateway).settled();
    const board = await connectLive(url, sockets);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    board.onAny((name: string, e: any) => (e?.topicId === topic.id || e?.topic?.id === topic.id) && heard.push([name, e]));
    const unhide = async () => {
      await unhideFirstPost(topic);
      return topic;
    };
    // The unhide's push (its arrival on the board) held once read; the topic hidden again meanwhile.
    await heldUntilRemoved(POSTS_READ, unhide, async () => heardLive(board, 'topic:removed'), hideFirstPost);
    await t.get(LiveGateway).settled();
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    expect(heard).toEqual([['topic:removed', { topicId: topic.id, version: expect.any(Number) }]]);
  });

  it('a topic’s removal from its board heard again after the topic came back (an event delivered twice, or late) is not sent there after its newer arrival', async () => {
    const topic = await createTopic(t, author.token, forumBoard);
    await t.get(LiveGateway).settled();
    const board = await connectLive(url, sockets);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    board.onAny((name: string, e: any) => (e?.topicId === topic.id || e?.topic?.id === topic.id) && heard.push([name, e]));
    const hides: DomainEvent[] = [];
    const unsubscribe = t.get(EventBus).subscribe((e) => e.type === 'post.hidden' && e.aggregateId === topic.firstPostId && hides.push(e));
    try {
      const removed = heardLive(board, 'topic:removed');
      await hideFirstPost(topic);
      const gone = await removed.first((e) => e.topicId === topic.id);
      const back = heardLive(board, 'topic:created');
      await unhideFirstPost(topic);
      const again = await back.first((e) => e.topic?.id === topic.id);
      expect(again.version).toBeGreaterThan(gone.version);
      expect(hides).toHaveLength(1);
      // The hide once more, after the unhide's arrival went out.
      t.get(EventBus).publish(hides[0]);
    } finally {
      unsubscribe();
    }
    await t.get(LiveGateway).settled();
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    expect(heard.map(([name]) => name)).toEqual(['topic:removed', 'topic:created']);
  });

  it('a reply’s activity read before a change of its topic, sent after the topic’s arrival read after both, still goes out: an arrival notes nothing the news pass', async () => {
    // The arrival's read held before it reads (so it reads after the reply and the pin), the
    // reply's push held once it has read; then the pin committed and heard, the arrival let go and
    // heard, the reply's push let go. Until 2026-12-07 the arrival noted the version it read (the
    // pin's) under the key the board's news pass, and the reply's activity, read below it, was
    // dropped: the board's readers never heard of that reply, though the topic had not left.
    await t.get(LiveGateway).settled();
    const board = await connectLive(url, sockets);
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    let topicId: string | undefined;
    board.onAny((name: string, e: any) => heard.push([name, e]));
    const ds = t.get(DataSource);
    const real = ds.query.bind(ds);
    const gate = () => {
      let open!: () => void;
      let reached!: () => void;
      return { opened: new Promise<void>((r) => (open = r)), begun: new Promise<void>((r) => (reached = r)), open: () => open(), reach: () => reached() };
    };
    const [arrival, activity] = [gate(), gate()];
    let reads = 0;
    const spy = jest.spyOn(ds, 'query').mockImplementation((async (sql: unknown, params?: unknown[]) => {
      if (typeof sql !== 'string' || !POSTS_READ.test(sql) || reads >= 2) return real(sql as string, params);
      if (++reads === 1) {
        arrival.reach();
        await arrival.opened;
        return real(sql, params);
      }
      const rows = await real(sql, params);
      activity.reach();
      await activity.opened;
      return rows;
    }) as typeof ds.query);
    try {
      const topic = await createTopic(t, author.token, forumBoard);
      topicId = topic.id;
      await arrival.begun;
      await reply(t, author.token, topic.id);
      await activity.begun;
      const pinned = heardLive(board, 'topic:updated');
      expectOk(await t.gql(STATUS, { input: { topicId: topic.id, pinned: true } }, { token: moderator.token }));
      await pinned.first((e) => e.topicId === topic.id && e.pinned === true);
      const created = heardLive(board, 'topic:created');
      arrival.open();
      await created.first((e) => e.topic?.id === topic.id);
      activity.open();
      await t.get(LiveGateway).settled();
    } finally {
      arrival.open();
      activity.open();
      spy.mockRestore();
    }
    expect(await board.timeout(5000).emitWithAck('board:join', { boardId: forumBoard })).toEqual({ ok: true });
    const ours = heard.filter(([, e]) => e?.topicId === topicId || e?.topic?.id === topicId);
    expect(ours.map(([name]) => name)).toEqual(['topic:updated', 'topic:created', 'topic:activity']);
    // Read before the pin (its version below the pin's), sent last.
    expect(ours[2][1].version).toBeLessThan(ours[0][1].version);
    expect(ours[2][1]).toMatchObject({ lastPostNumber: 2 });
  });
});
