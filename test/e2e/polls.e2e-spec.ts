import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { LEVEL_RANK } from '../../libs/access/src/access-level';
import { EventBus } from '../../libs/core/src/events';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { PollsRepository } from '../../libs/forum/src/polls/polls.repository';
import { PollsService } from '../../libs/forum/src/polls/polls.service';
import { TopicTimersService } from '../../libs/forum/src/timers/topic-timers.service';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { fullVersion, newsVersion } from '../../libs/core/src/news-versions';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { draftArticle } from '../factories/knowledge';
import { connectLive, heardLive } from '../support/live-client';
import { gateCalls } from '../support/gates';
import { doneOrWaiting } from '../support/lock-waits';
import { HeldLock, withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const POLL_FIELDS = `id question kind minChoices maxChoices results publicVoters closed closesAt voterCount myChoice resultsVisible
  options { id text voteCount }`;
const CREATE = `mutation($input: CreatePollInput!) { createPoll(input: $input) { ${POLL_FIELDS} } }`;
const VOTE = `mutation($input: VotePollInput!) { votePoll(input: $input) { ${POLL_FIELDS} } }`;
const UNVOTE = `mutation($id: ID!) { unvotePoll(pollId: $id) { ${POLL_FIELDS} } }`;
const CLOSE = `mutation($id: ID!) { closePoll(pollId: $id) { ${POLL_FIELDS} } }`;
const REOPEN = `mutation($id: ID!) { reopenPoll(pollId: $id) { ${POLL_FIELDS} } }`;
const DELETE = `mutation($id: ID!) { deletePoll(pollId: $id) }`;
const UPDATE = `mutation($input: UpdatePollInput!) { updatePoll(input: $input) { ${POLL_FIELDS} } }`;
const STATUS = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { locked } }`;
const POST_POLL = `query($id: ID!) { post(id: $id) { id poll { ${POLL_FIELDS} } } }`;
const VOTERS = `query($id: ID!) { post(id: $id) { poll { options { text voteCount voters(first: 10) { id handle displayName } } } } }`;
/** The live push's own read of a poll (LiveGateway.pushPoll), which may land among a request's statements whenever it runs. */
const PUSH_READ = /JOIN topics t ON t\.id = p\.topic_id WHERE pl\.id = \$1$/;

/**
 * Polls in posts: who may add, vote and see what, and that a refusal writes nothing.
 */
describe('polls', () => {
  let t: TestApp;
  let author: TestUser;
  let moderator: TestUser;
  let member: TestUser;
  let spaceId: string;
  let boardId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    member = await makeUser(t);
    moderator = await makeUser(t);
    spaceId = (await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }])).id;
    boardId = await makeBoard(t, spaceId);
  });
  afterAll(() => t.close());

  const input = (postId: string, patch: Record<string, unknown> = {}) => ({
    postId,
    question: 'Which day suits the meetup?',
    options: ['Monday', 'Tuesday', 'Wednesday'],
    kind: 'SINGLE',
    results: 'ALWAYS',
    publicVoters: false,
    ...patch,
  });
  const create = (u: TestUser | null, postId: string, patch: Record<string, unknown> = {}) =>
    t.gql(CREATE, { input: input(postId, patch) }, u ? { token: u.token } : {});
  /** A new topic by the author whose first post carries a poll. */
  async function pollIn(patch: Record<string, unknown> = {}, board = boardId, by = author) {
    const topic = await createTopic(t, by.token, board);
    const poll = expectOk(await create(by, topic.firstPostId, patch)).createPoll;
    return { topic, postId: topic.firstPostId, poll, options: poll.options.map((o: any) => o.id as string) };
  }
  const vote = (u: TestUser | null, pollId: string, optionIds: string[]) => t.gql(VOTE, { input: { pollId, optionIds } }, u ? { token: u.token } : {});
  const seen = async (u: TestUser | null, postId: string) => expectOk(await t.gql(POST_POLL, { id: postId }, u ? { token: u.token } : {})).post.poll;
  const counts = (poll: any) => poll.options.map((o: any) => o.voteCount);
  /** What the tables hold, to tell that a refusal wrote nothing. */
  const rows = async () =>
    (await t.sql(`SELECT (SELECT count(*) FROM polls)::int AS polls, (SELECT count(*) FROM poll_options)::int AS options,
                         (SELECT count(*) FROM poll_votes)::int AS votes, (SELECT coalesce(sum(vote_count), 0) FROM poll_options)::int AS counted,
                         (SELECT coalesce(sum(voter_count), 0) FROM polls)::int AS voters, (SELECT count(*) FROM outbox)::int AS outbox`))[0];
  /** The stored counts of a poll agree with its votes. */
  async function expectConsistent(pollId: string) {
    const [c] = await t.sql(
      `SELECT (SELECT voter_count FROM polls WHERE id = $1) AS voter_count, (SELECT count(DISTINCT user_id) FROM poll_votes WHERE poll_id = $1)::int AS voters,
              (SELECT json_agg(vote_count ORDER BY position) FROM poll_options WHERE poll_id = $1) AS stored,
              (SELECT json_agg((SELECT count(*) FROM poll_votes v WHERE v.option_id = o.id) ORDER BY position) FROM poll_options o WHERE poll_id = $1) AS actual`,
      [pollId],
    );
    expect(c.voter_count).toBe(c.voters);
    expect(c.stored).toEqual(c.actual);
  }

  /** Runs `race` with a row lock held in a transaction of the test's own (`withLockHeld`). */
  const holding = <T>(sql: string, params: unknown[], race: (h: HeldLock) => Promise<T>) => withLockHeld(t, sql, params, race);

  describe('creating', () => {
    it('adds a poll to the author’s post, plain text kept as written, shown on the post', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const poll = expectOk(await create(author, topic.firstPostId, { question: '  Bold <b>or</b> not?  ', options: ['<script>alert(1)</script>', ' **plain** '] })).createPoll;
      expect(poll).toMatchObject({ question: 'Bold <b>or</b> not?', kind: 'SINGLE', minChoices: 1, maxChoices: 1, closed: false, closesAt: null, voterCount: 0, myChoice: [] });
      expect(poll.options.map((o: any) => [o.text, o.voteCount])).toEqual([['<script>alert(1)</script>', 0], ['**plain**', 0]]);
      expect((await seen(member, topic.firstPostId)).id).toBe(poll.id);
      expect((await seen(null, topic.firstPostId)).question).toBe('Bold <b>or</b> not?');
      // A post without one has none.
      const r = await reply(t, author.token, topic.id, 'no poll here');
      expect(await seen(member, r.id)).toBeNull();
    });

    it('lets a moderator add one to another’s post, but not another member; one poll per post (CONFLICT)', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const before = await rows();
      expectError(await create(member, topic.firstPostId), 'FORBIDDEN');
      expectError(await create(null, topic.firstPostId), 'UNAUTHENTICATED');
      expect(await rows()).toEqual(before);
      expectOk(await create(moderator, topic.firstPostId, { question: 'Moderated?' }));
      const once = await rows();
      expectError(await create(author, topic.firstPostId), 'CONFLICT');
      expect(await rows()).toEqual(once);
      expect((await seen(member, topic.firstPostId)).question).toBe('Moderated?');
    });

    it('answers NOT_FOUND for a post the member cannot read, and refuses a deleted post', async () => {
      const staff = await makeGroup(t);
      const insider = await makeUser(t, { groups: [staff] });
      const secretBoard = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id);
      const secret = await createTopic(t, insider.token, secretBoard);
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'soon gone');
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: r.id }, { token: author.token }));
      const before = await rows();
      expectError(await create(member, secret.firstPostId), 'NOT_FOUND');
      // Its author reads a placeholder now; a moderator reads it, but it takes no poll until restored.
      expectError(await create(author, r.id), 'NOT_FOUND');
      expectError(await create(moderator, r.id), 'CONFLICT');
      expect(await rows()).toEqual(before);
    });

    it('follows editPost’s rules: not in a locked topic unless moderating, never on an article’s opening post', async () => {
      const topic = await createTopic(t, author.token, boardId);
      expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: topic.id, locked: true } }, { token: moderator.token }));
      const before = await rows();
      expectError(await create(author, topic.firstPostId), 'FORBIDDEN');
      expect(await rows()).toEqual(before);
      expectOk(await create(moderator, topic.firstPostId));
      const articleId = await draftArticle(t, moderator.token, await makeBoard(t, spaceId, 'KNOWLEDGE'));
      const opening = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { firstPost { id } } }`, { id: articleId }, { token: moderator.token })).topic.firstPost.id;
      const refused = await create(moderator, opening);
      expectError(refused, 'BAD_USER_INPUT');
      expect(refused.errors![0].message).toMatch(/updateArticle/);
    });

    it('refuses a vote for an option of another poll, or for one option twice, writing nothing', async () => {
      const a = await pollIn({ kind: 'MULTIPLE' });
      const b = await pollIn();
      const before = await rows();
      expectError(await vote(member, a.poll.id, [b.options[0]]), 'BAD_USER_INPUT');
      expectError(await vote(member, a.poll.id, [a.options[0], a.options[0]]), 'BAD_USER_INPUT');
      expect(await rows()).toEqual(before);
    });

    it('changes a poll with updatePoll while nobody has voted, and freezes it after the first vote (CONFLICT)', async () => {
      const { postId, poll } = await pollIn();
      const update = (u: TestUser, patch: Record<string, unknown> = {}) => {
        const { postId: _post, ...shape } = input(postId, { question: 'Which days suit?', options: ['Thursday', 'Friday'], kind: 'MULTIPLE', results: 'ON_CLOSE', ...patch });
        return t.gql(UPDATE, { input: { ...shape, pollId: poll.id } }, { token: u.token });
      };
      const before = await rows();
      expectError(await update(member), 'FORBIDDEN');
      expectError(await update(author, { options: ['Friday', 'friday '] }), 'BAD_USER_INPUT');
      expect(await rows()).toEqual(before);
      const changed = expectOk(await update(author)).updatePoll;
      expect(changed).toMatchObject({ id: poll.id, question: 'Which days suit?', kind: 'MULTIPLE', minChoices: 1, maxChoices: 2, results: 'ON_CLOSE' });
      expect(changed.options.map((o: any) => o.text)).toEqual(['Thursday', 'Friday']);
      // The old options are gone: a vote naming one is refused.
      expectError(await vote(member, poll.id, [poll.options[0].id]), 'BAD_USER_INPUT');
      expectOk(await vote(member, poll.id, [changed.options[1].id]));
      const voted = await rows();
      expectError(await update(author, { question: 'Too late?' }), 'CONFLICT');
      expectError(await update(moderator, { question: 'Too late?' }), 'CONFLICT');
      expect(await rows()).toEqual(voted);
      expect((await seen(author, postId)).question).toBe('Which days suit?');
    });

    const tooLate = () => new Date(Date.now() + 367 * 86_400_000).toISOString();
    it.each([
      ['one option', { options: ['Only'] }, 'options'],
      ['21 options', { options: Array.from({ length: 21 }, (_, i) => `Option ${i}`) }, 'options'],
      ['an option of 201 characters', { options: ['x'.repeat(201), 'y'] }, 'options'],
      ['a blank option', { options: ['Yes', '   '] }, 'options'],
      ['an option on two lines', { options: ['Yes\nNo', 'Maybe'] }, 'options'],
      ['options the same but for case and spaces', { options: ['Yes', ' yES ', 'No'] }, 'options'],
      ['a question of 301 characters', { question: 'q'.repeat(301) }, 'question'],
      ['a blank question', { question: ' ' }, 'question'],
      ['a closing time past', { closesAt: new Date(Date.now() - 60_000).toISOString() }, 'closesAt'],
      ['a closing time beyond a year', { closesAt: tooLate() }, 'closesAt'],
      ['a SINGLE poll with two choices', { maxChoices: 2 }, 'maxChoices'],
      ['more choices than options', { kind: 'MULTIPLE', maxChoices: 4 }, 'maxChoices'],
      ['a minimum above the maximum', { kind: 'MULTIPLE', minChoices: 3, maxChoices: 2 }, 'minChoices'],
      ['no choice at all', { kind: 'MULTIPLE', minChoices: 0 }, 'minChoices'],
      ['a bad post id', { postId: 'nope' }, 'postId'],
    ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_what, patch, field) => {
      const topic = await createTopic(t, author.token, boardId);
      const before = await rows();
      const err = expectError(await t.gql(CREATE, { input: input(topic.firstPostId, patch) }, { token: author.token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields?.map((f) => f.field)).toContain(field);
      expect(await rows()).toEqual(before);
      // The same post takes a good poll afterwards: nothing was left half-written.
      expectOk(await create(author, topic.firstPostId));
    });
  });

  describe('voting', () => {
    it('counts, changes and withdraws a SINGLE vote', async () => {
      const { postId, poll, options: [mon, tue] } = await pollIn();
      let answer = expectOk(await vote(member, poll.id, [mon])).votePoll;
      expect(answer).toMatchObject({ myChoice: [mon], voterCount: 1 });
      expect(counts(answer)).toEqual([1, 0, 0]);
      answer = expectOk(await vote(member, poll.id, [tue])).votePoll;
      expect(answer).toMatchObject({ myChoice: [tue], voterCount: 1 });
      expect(counts(answer)).toEqual([0, 1, 0]);
      expectOk(await vote(author, poll.id, [tue]));
      expect(counts(await seen(moderator, postId))).toEqual([0, 2, 0]);
      expectError(await vote(member, poll.id, [mon, tue]), 'BAD_USER_INPUT');
      expectError(await vote(member, poll.id, []), 'BAD_USER_INPUT');
      answer = expectOk(await t.gql(UNVOTE, { id: poll.id }, { token: member.token })).unvotePoll;
      expect(answer).toMatchObject({ myChoice: [], voterCount: 1 });
      expect(counts(answer)).toEqual([0, 1, 0]);
      // Withdrawing again changes nothing.
      expect(expectOk(await t.gql(UNVOTE, { id: poll.id }, { token: member.token })).unvotePoll.voterCount).toBe(1);
      await expectConsistent(poll.id);
    });

    it('holds a MULTIPLE vote between its minimum and maximum, and the same choice again writes nothing', async () => {
      const { poll, options } = await pollIn({ kind: 'MULTIPLE', options: ['A', 'B', 'C', 'D'], minChoices: 2, maxChoices: 3 });
      expect(poll).toMatchObject({ minChoices: 2, maxChoices: 3 });
      const before = await rows();
      for (const bad of [[options[0]], options, [options[0], options[0]], [options[0], '01a207d7-22e1-733a-9303-5a2047c59e37']]) {
        expectError(await vote(member, poll.id, bad), 'BAD_USER_INPUT');
      }
      expect(await rows()).toEqual(before);
      let answer = expectOk(await vote(member, poll.id, [options[0], options[2]])).votePoll;
      expect(answer.myChoice).toEqual([options[0], options[2]]);
      expect(counts(answer)).toEqual([1, 0, 1, 0]);
      answer = expectOk(await vote(member, poll.id, [options[1], options[2], options[3]])).votePoll;
      expect(counts(answer)).toEqual([0, 1, 1, 1]);
      expect(answer.voterCount).toBe(1);
      const same = await t.countStatements(() => vote(member, poll.id, [options[3], options[1], options[2]]));
      expect(same.statements.join('\n')).not.toMatch(/INSERT INTO poll_votes|DELETE FROM poll_votes|INSERT INTO outbox/);
      await expectConsistent(poll.id);
      // A MULTIPLE poll with no bounds given takes one to all of its options.
      const open = await pollIn({ kind: 'MULTIPLE' });
      expect(open.poll).toMatchObject({ minChoices: 1, maxChoices: 3 });
      expectOk(await vote(member, open.poll.id, open.options));
    });

    it('refuses votes on a closed poll, closed by hand or by its time, until it is reopened', async () => {
      const { postId, poll, options } = await pollIn({ closesAt: new Date(Date.now() + 3_600_000).toISOString() });
      expectOk(await vote(member, poll.id, [options[0]]));
      expectError(await t.gql(CLOSE, { id: poll.id }, { token: member.token }), 'FORBIDDEN');
      expect(expectOk(await t.gql(CLOSE, { id: poll.id }, { token: author.token })).closePoll.closed).toBe(true);
      const before = await rows();
      expectError(await vote(member, poll.id, [options[1]]), 'BAD_USER_INPUT');
      expectError(await t.gql(UNVOTE, { id: poll.id }, { token: member.token }), 'BAD_USER_INPUT');
      expect(await rows()).toEqual(before);
      expect(expectOk(await t.gql(REOPEN, { id: poll.id }, { token: moderator.token })).reopenPoll.closed).toBe(false);
      expectOk(await vote(member, poll.id, [options[1]]));
      // Its closing time passes: closed at once, with no job to run.
      await t.sql(`UPDATE polls SET closes_at = now() - interval '1 second' WHERE id = $1`, [poll.id]);
      expect((await seen(member, postId)).closed).toBe(true);
      expectError(await vote(member, poll.id, [options[2]]), 'BAD_USER_INPUT');
      // Reopened, it drops the time that passed.
      expect(expectOk(await t.gql(REOPEN, { id: poll.id }, { token: author.token })).reopenPoll).toMatchObject({ closed: false, closesAt: null });
      expect(counts(expectOk(await vote(member, poll.id, [options[2]])).votePoll)).toEqual([0, 0, 1]);
    });

    it('refuses votes, changes and withdrawals in a closed topic (FORBIDDEN) but for its moderators, closed by hand or by its timer, while its polls are still managed', async () => {
      const TIMER = `mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { id } }`;
      const CLOSED = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { closed } }`;
      const a = await pollIn({ kind: 'MULTIPLE' });
      const voter = await makeUser(t);
      expectOk(await vote(voter, a.poll.id, [a.options[0]]));
      expect(expectOk(await t.gql(CLOSED, { input: { topicId: a.topic.id, closed: true } }, { token: moderator.token })).setTopicStatus).toEqual({ closed: true });
      const before = await rows();
      for (const res of [await vote(member, a.poll.id, [a.options[1]]), await vote(voter, a.poll.id, [a.options[1]]), await t.gql(UNVOTE, { id: a.poll.id }, { token: voter.token })]) {
        expect(expectError(res, 'FORBIDDEN').message).toBe('This topic is closed: its polls take no votes');
      }
      expect(await rows()).toEqual(before);
      expect(await seen(voter, a.postId)).toMatchObject({ closed: false, voterCount: 1, myChoice: [a.options[0]] });
      // Its moderators still vote there, as they still reply there.
      expect(expectOk(await vote(moderator, a.poll.id, [a.options[1]])).votePoll.voterCount).toBe(2);
      // Its author still closes and reopens the poll (the topic still takes edits: Discourse's toggle_status refuses only an archived topic).
      expect(expectOk(await t.gql(CLOSE, { id: a.poll.id }, { token: author.token })).closePoll.closed).toBe(true);
      expect(expectOk(await t.gql(REOPEN, { id: a.poll.id }, { token: author.token })).reopenPoll.closed).toBe(false);
      // Opened again: votes are taken again.
      expectOk(await t.gql(CLOSED, { input: { topicId: a.topic.id, closed: false } }, { token: moderator.token }));
      expect(expectOk(await vote(member, a.poll.id, [a.options[2]])).votePoll.voterCount).toBe(3);

      // Closed by its timer, as a moderator's CLOSE timer fires.
      const b = await pollIn();
      expectOk(await t.gql(TIMER, { i: { topicId: b.topic.id, kind: 'CLOSE', afterHours: 1 } }, { token: moderator.token }));
      expect(await t.get(TopicTimersService).fireDue(new Date(Date.now() + 2 * 3_600_000))).toMatchObject({ fired: 1 });
      expect(expectError(await vote(member, b.poll.id, [b.options[0]]), 'FORBIDDEN').message).toMatch(/closed/);
      expect(await seen(member, b.postId)).toMatchObject({ voterCount: 0 });
    });

    it('lets only members who may participate vote: not signed-out visitors, silenced or read-only members', async () => {
      const silenced = await makeUser(t);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silenced.id]);
      const readers = await makeGroup(t);
      const reader = await makeUser(t, { groups: [readers] });
      const writer = await makeUser(t, { groups: [readers] });
      const restricted = await makeSpace(t, 'RESTRICTED', [{ groupId: readers, level: 'READ' }, { userId: writer.id, level: 'PARTICIPATE' }]);
      const inPublic = await pollIn();
      const inRestricted = await pollIn({}, await makeBoard(t, restricted.id), writer);
      const before = await rows();
      expectError(await vote(null, inPublic.poll.id, [inPublic.options[0]]), 'UNAUTHENTICATED');
      expectError(await vote(silenced, inPublic.poll.id, [inPublic.options[0]]), 'FORBIDDEN');
      expectError(await vote(reader, inRestricted.poll.id, [inRestricted.options[0]]), 'FORBIDDEN');
      expect(await rows()).toEqual(before);
      // They still read the poll, and ALWAYS shows them the counts.
      expect(counts(await seen(silenced, inPublic.postId))).toEqual([0, 0, 0]);
      expect(counts(await seen(reader, inRestricted.postId))).toEqual([0, 0, 0]);
    });

    it('answers NOT_FOUND to a customer who cannot read the post, and never shows them the poll', async () => {
      const employees = await makeGroup(t);
      const employee = await makeUser(t, { groups: [employees] });
      const customer = await makeUser(t);
      const internal = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }])).id);
      const { postId, poll, options } = await pollIn({}, internal, employee);
      expectOk(await vote(employee, poll.id, [options[0]]));
      const before = await rows();
      for (const res of [await vote(customer, poll.id, [options[0]]), await t.gql(UNVOTE, { id: poll.id }, { token: customer.token }), await t.gql(CLOSE, { id: poll.id }, { token: customer.token })]) {
        expectError(res, 'NOT_FOUND');
        expect(JSON.stringify(res)).not.toMatch(/voteCount|voterCount/);
      }
      // As for a poll that does not exist.
      expectError(await vote(customer, '01a207d7-22e1-733a-9303-5a2047c59e37', [options[0]]), 'NOT_FOUND');
      expect(await rows()).toEqual(before);
      const res = await t.gql(POST_POLL, { id: postId }, { token: customer.token });
      expectError(res, 'NOT_FOUND');
      expect(res.data?.post ?? null).toBeNull();
    });

    it('keeps a hidden post’s poll from its readers: no poll, no votes; its author still sees it', async () => {
      const { topic, poll, options } = await pollIn();
      const r = await reply(t, author.token, topic.id, 'a reply with a poll');
      const replyPoll = expectOk(await create(author, r.id)).createPoll;
      expectOk(await vote(member, replyPoll.id, [replyPoll.options[0].id]));
      await setPostState(t, r.id, 'HIDDEN');
      expect(await seen(member, r.id)).toBeNull();
      expect(await seen(null, r.id)).toBeNull();
      expect((await seen(author, r.id)).options[0].voteCount).toBe(1);
      const before = await rows();
      expectError(await vote(member, replyPoll.id, [replyPoll.options[1].id]), 'NOT_FOUND');
      // Its author sees it, but a hidden post takes no votes.
      expectError(await vote(author, replyPoll.id, [replyPoll.options[1].id]), 'BAD_USER_INPUT');
      expect(await rows()).toEqual(before);
      // The topic's first post is untouched.
      expectOk(await vote(member, poll.id, [options[0]]));
    });

    it('stays consistent when one member votes many times at once, and when many vote at once', async () => {
      const { poll, options } = await pollIn();
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => vote(member, poll.id, [options[i % 3]])));
      for (const a of answers) expectOk(a);
      const mine = await t.sql(`SELECT option_id FROM poll_votes WHERE poll_id = $1 AND user_id = $2`, [poll.id, member.id]);
      expect(mine).toHaveLength(1);
      await expectConsistent(poll.id);
      const voters = await Promise.all(Array.from({ length: 6 }, () => makeUser(t)));
      await Promise.all(voters.map((u, i) => vote(u, poll.id, [options[i % 2]])));
      const [stored] = await t.sql(`SELECT voter_count FROM polls WHERE id = $1`, [poll.id]);
      expect(stored.voter_count).toBe(7);
      await expectConsistent(poll.id);
      const m = await makeUser(t);
      const multi = await pollIn({ kind: 'MULTIPLE' });
      await Promise.all([vote(m, multi.poll.id, [multi.options[0], multi.options[1]]), vote(m, multi.poll.id, [multi.options[2]]), t.gql(UNVOTE, { id: multi.poll.id }, { token: m.token })]);
      await expectConsistent(multi.poll.id);
    });

    it('reads the poll once under its lock for a vote or a withdrawal, then writes: no check runs twice', async () => {
      const { poll, options } = await pollIn({ kind: 'MULTIPLE' });
      const u = await makeUser(t);
      const reads = (statements: string[]) => statements.filter((q) => /FROM polls /.test(q));
      for (const run of [() => vote(u, poll.id, [options[0]]), () => vote(u, poll.id, [options[1], options[2]]), () => t.gql(UNVOTE, { id: poll.id }, { token: u.token })]) {
        let res!: GqlResult;
        const c = await t.countStatements(async () => (res = await run()));
        expectOk(res);
        // The live push's own read of the poll (an ALWAYS poll's, for the room) is not the vote's.
        const statements = c.statements.filter((q) => !PUSH_READ.test(q));
        const begin = statements.indexOf('START TRANSACTION');
        const commit = statements.indexOf('COMMIT');
        // Before the transaction, the session alone: no check reads the poll, its post or its topic ahead of the lock.
        expect(begin).toBe(1);
        // In it, the one read under the locks decides; then the voter's choice and the writes.
        const inTx = statements.slice(begin + 1, commit);
        expect(inTx[0]).toMatch(/FROM polls pl JOIN posts p .* FOR KEY SHARE OF t FOR SHARE OF fp FOR SHARE OF p FOR NO KEY UPDATE OF pl$/s);
        // Then the voter's access as it stands under the locks (viewerForUser), read once.
        expect(inTx[1]).toMatch(/FROM users u .*WHERE u\.id = ANY/s);
        expect(reads(inTx)).toHaveLength(1);
        expect(inTx.filter((q) => /^SELECT/.test(q))).toHaveLength(3);
        // After it, the answer reads the poll once.
        expect(reads(statements.slice(commit + 1))).toEqual([expect.stringMatching(/pl\.post_id = ANY/)]);
      }
      await expectConsistent(poll.id);
    });

    it('refuses, writing nothing, a vote for options updatePoll replaced while the vote waited for the poll', async () => {
      const { poll, options } = await pollIn();
      const before = await rows();
      // What updatePoll does under the poll's lock: the options replaced by others.
      const res = await holding(`SELECT id FROM polls WHERE id = $1 FOR NO KEY UPDATE`, [poll.id], async (h) => {
        await h.query(`DELETE FROM poll_options WHERE poll_id = $1`, [poll.id]);
        await h.query(`INSERT INTO poll_options (id, poll_id, position, text) VALUES (gen_random_uuid(), $1, 1, 'New one'), (gen_random_uuid(), $1, 2, 'New two')`, [poll.id]);
        const voting = vote(member, poll.id, [options[0]]);
        await h.waiting(1);
        await h.release();
        return voting;
      });
      expect(expectError(res, 'BAD_USER_INPUT').extensions.fields?.map((f) => f.field)).toEqual(['optionIds']);
      expect({ ...(await rows()), options: before.options }).toEqual(before);
      await expectConsistent(poll.id);
    });

    it('writes one poll.voted event, without counts, for each change', async () => {
      const { poll, options } = await pollIn();
      const u = await makeUser(t);
      expectOk(await vote(u, poll.id, [options[0]]));
      const events = await t.sql(`SELECT type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [poll.id]);
      expect(events.map((e: any) => e.type)).toEqual(['poll.updated', 'poll.voted']);
      expect(Object.keys(events[1].payload).sort()).toEqual(['pollId', 'postId', 'spaceId', 'topicId']);
    });
  });

  describe('races: each management decides under the topic’s, the post’s and the poll’s locks', () => {
    const POST_LOCK = `SELECT 1 FROM posts WHERE id = $1 FOR NO KEY UPDATE`;
    const POLL_LOCK = `SELECT 1 FROM polls WHERE id = $1 FOR NO KEY UPDATE`;
    const update = (u: TestUser, pollId: string, patch: Record<string, unknown> = {}) => {
      const { postId: _post, ...shape } = input('', { question: 'Which days suit now?', options: ['Thursday', 'Friday'], ...patch });
      return t.gql(UPDATE, { input: { ...shape, pollId } }, { token: u.token });
    };
    /** The polls of a post, what is left of a poll's options and votes, and the post's mark. */
    async function leftOf(postId: string, pollId: string) {
      const [r] = await t.sql(
        `SELECT ARRAY(SELECT question FROM polls WHERE post_id = $1 ORDER BY created_at) AS polls,
                (SELECT count(*) FROM poll_options WHERE poll_id = $2)::int AS options, (SELECT count(*) FROM poll_votes WHERE poll_id = $2)::int AS votes,
                (SELECT has_poll FROM posts WHERE id = $1) AS marked`,
        [postId, pollId],
      );
      return r;
    }
    /** A vote by `voter` on the poll, `meanwhile` done while it waits for the poll's lock. */
    const voteWhileWaiting = (voter: TestUser, p: { poll: any; options: string[] }, meanwhile: () => Promise<unknown>) =>
      holding(POLL_LOCK, [p.poll.id], async (h) => {
        const pending = vote(voter, p.poll.id, [p.options[0]]);
        await h.waiting(1);
        await meanwhile();
        await h.release();
        return pending;
      });
    /** Votes naming an option that is not (or no longer) one of their poll's. */
    const strayVotes = async (pollId: string) =>
      (await t.sql(`SELECT count(*)::int AS n FROM poll_votes v WHERE v.poll_id = $1 AND NOT EXISTS (SELECT 1 FROM poll_options o WHERE o.id = v.option_id AND o.poll_id = v.poll_id)`, [pollId]))[0].n;

    it('deletePoll and createPoll on one post go one after the other: a deletion finding the poll gone is NOT_FOUND, a second poll CONFLICT, nothing left behind', async () => {
      // Two deletions of the poll and a new poll, queued in that order behind the post's lock.
      const { postId, poll, options } = await pollIn();
      expectOk(await vote(member, poll.id, [options[0]]));
      const [first, second, created] = await holding(POST_LOCK, [postId], async (h) => {
        const first = t.gql(DELETE, { id: poll.id }, { token: author.token });
        await h.waiting(1);
        const second = t.gql(DELETE, { id: poll.id }, { token: moderator.token });
        await h.waiting(2);
        const created = create(moderator, postId, { question: 'The next poll?' });
        await h.waiting(3);
        await h.release();
        return Promise.all([first, second, created]);
      });
      expect(expectOk(first).deletePoll).toBe(true);
      expectError(second, 'NOT_FOUND');
      expectOk(created);
      expect(await leftOf(postId, poll.id)).toEqual({ polls: ['The next poll?'], options: 0, votes: 0, marked: true });
      // The gone poll's second deletion wrote nothing: no second event, no moderation log entry.
      expect((await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [poll.id])).map((e: any) => e.type)).toEqual(['poll.updated', 'poll.voted', 'poll.deleted']);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action = 'poll.delete'`, [postId])).toEqual([]);

      // A new poll queued before the deletion: the post has one, CONFLICT; then the deletion.
      const other = await pollIn();
      expectOk(await vote(member, other.poll.id, [other.options[1]]));
      const [refused, deleted] = await holding(POST_LOCK, [other.postId], async (h) => {
        const refused = create(moderator, other.postId, { question: 'A second one?' });
        await h.waiting(1);
        const deleted = t.gql(DELETE, { id: other.poll.id }, { token: author.token });
        await h.waiting(2);
        await h.release();
        return Promise.all([refused, deleted]);
      });
      expectError(refused, 'CONFLICT');
      expect(expectOk(deleted).deletePoll).toBe(true);
      expect(await leftOf(other.postId, other.poll.id)).toEqual({ polls: [], options: 0, votes: 0, marked: false });
    });

    it('updatePoll and votePoll queue on the poll: a vote first freezes it (CONFLICT), an update first refuses the vote; no vote ever names a removed option', async () => {
      const a = await pollIn();
      const [voted, frozen] = await holding(POLL_LOCK, [a.poll.id], async (h) => {
        const voted = vote(member, a.poll.id, [a.options[1]]);
        await h.waiting(1);
        const frozen = update(author, a.poll.id);
        await h.waiting(2);
        await h.release();
        return Promise.all([voted, frozen]);
      });
      expect(counts(expectOk(voted).votePoll)).toEqual([0, 1, 0]);
      expectError(frozen, 'CONFLICT');
      expect((await seen(author, a.postId)).options.map((o: any) => o.id)).toEqual(a.options);
      expect(await strayVotes(a.poll.id)).toBe(0);
      await expectConsistent(a.poll.id);

      const b = await pollIn();
      const [changed, refused] = await holding(POLL_LOCK, [b.poll.id], async (h) => {
        const changed = update(author, b.poll.id);
        await h.waiting(1);
        const refused = vote(member, b.poll.id, [b.options[0]]);
        await h.waiting(2);
        await h.release();
        return Promise.all([changed, refused]);
      });
      const now = expectOk(changed).updatePoll;
      expect(now.options.map((o: any) => o.text)).toEqual(['Thursday', 'Friday']);
      expect(expectError(refused, 'BAD_USER_INPUT').extensions.fields?.map((f) => f.field)).toEqual(['optionIds']);
      expect(await leftOf(b.postId, b.poll.id)).toEqual({ polls: ['Which days suit now?'], options: 2, votes: 0, marked: true });
      // A vote for the new options counts.
      expect(counts(expectOk(await vote(member, b.poll.id, [now.options[1].id])).votePoll)).toEqual([0, 1]);
      expect(await strayVotes(b.poll.id)).toBe(0);
      await expectConsistent(b.poll.id);
    });

    it('closePoll queued behind a deletePoll finds the poll gone (NOT_FOUND); a vote queued behind closePoll finds it closed, one ahead of it is counted', async () => {
      const a = await pollIn();
      const [deleted, closing] = await holding(POST_LOCK, [a.postId], async (h) => {
        const deleted = t.gql(DELETE, { id: a.poll.id }, { token: author.token });
        await h.waiting(1);
        // closePoll takes the post's lock first too, so it waits behind the deletion.
        const closing = t.gql(CLOSE, { id: a.poll.id }, { token: moderator.token });
        await h.waiting(2);
        await h.release();
        return Promise.all([deleted, closing]);
      });
      expect(expectOk(deleted).deletePoll).toBe(true);
      expectError(closing, 'NOT_FOUND');
      expect(await leftOf(a.postId, a.poll.id)).toEqual({ polls: [], options: 0, votes: 0, marked: false });
      expect((await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [a.poll.id])).map((e: any) => e.type)).toEqual(['poll.updated', 'poll.deleted']);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1`, [a.postId])).toEqual([]);

      const b = await pollIn();
      const [closed, late] = await holding(POLL_LOCK, [b.poll.id], async (h) => {
        const closed = t.gql(CLOSE, { id: b.poll.id }, { token: author.token });
        await h.waiting(1);
        const late = vote(member, b.poll.id, [b.options[0]]);
        await h.waiting(2);
        await h.release();
        return Promise.all([closed, late]);
      });
      expect(expectOk(closed).closePoll.closed).toBe(true);
      expect(expectError(late, 'BAD_USER_INPUT').message).toMatch(/closed/);
      expect(await leftOf(b.postId, b.poll.id)).toMatchObject({ votes: 0 });

      const c = await pollIn();
      const [early, closedAfter] = await holding(POLL_LOCK, [c.poll.id], async (h) => {
        const early = vote(member, c.poll.id, [c.options[2]]);
        await h.waiting(1);
        const closedAfter = t.gql(CLOSE, { id: c.poll.id }, { token: author.token });
        await h.waiting(2);
        await h.release();
        return Promise.all([early, closedAfter]);
      });
      expectOk(early);
      expect(expectOk(closedAfter).closePoll).toMatchObject({ closed: true, voterCount: 1 });
      await expectConsistent(c.poll.id);
    });

    it('judges a permission as it stands once the locks are held: a moderator demoted, an author silenced, or the post deleted, while the mutation waited', async () => {
      const admin = await makeUser(t, { role: 'ADMIN' });
      const deputy = await makeUser(t);
      const grant = `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`;
      const revoke = `mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`;
      /** `run` by a moderator whose grant is revoked while it waits for the post's lock. */
      async function demotedWhileWaiting(postId: string, run: () => Promise<GqlResult>): Promise<GqlResult> {
        expectOk(await t.gql(grant, { input: { spaceId, userId: deputy.id, level: 'MODERATE' } }, { token: admin.token }));
        return holding(POST_LOCK, [postId], async (h) => {
          const pending = run();
          await h.waiting(1);
          expectOk(await t.gql(revoke, { input: { spaceId, userId: deputy.id } }, { token: admin.token }));
          await h.release();
          return pending;
        });
      }
      const a = await pollIn();
      // What polls hold (the grants and the new topic write events of their own).
      const pollRows = async () => {
        const { outbox: _events, ...held } = await rows();
        return held;
      };
      const before = await pollRows();
      expectError(await demotedWhileWaiting(a.postId, () => t.gql(CLOSE, { id: a.poll.id }, { token: deputy.token })), 'FORBIDDEN');
      expectError(await demotedWhileWaiting(a.postId, () => t.gql(DELETE, { id: a.poll.id }, { token: deputy.token })), 'FORBIDDEN');
      expectError(await demotedWhileWaiting(a.postId, () => update(deputy, a.poll.id)), 'FORBIDDEN');
      const bare = await createTopic(t, author.token, boardId);
      expectError(await demotedWhileWaiting(bare.firstPostId, () => create(deputy, bare.firstPostId)), 'FORBIDDEN');
      expect(await pollRows()).toEqual(before);
      expect((await seen(author, a.postId)).closed).toBe(false);
      expect(await t.sql(`SELECT action FROM moderation_log WHERE actor_id = $1 AND action LIKE 'poll.%'`, [deputy.id])).toEqual([]);

      // An author silenced in the space while their deletePoll waits: read-only now, FORBIDDEN.
      const writer = await makeUser(t);
      const own = await pollIn({}, boardId, writer);
      const silenced = await holding(POST_LOCK, [own.postId], async (h) => {
        const pending = t.gql(DELETE, { id: own.poll.id }, { token: writer.token });
        await h.waiting(1);
        await t.sql(`INSERT INTO sanctions (id, user_id, kind, space_id, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', $2, 'test', now() + interval '1 day')`, [writer.id, spaceId]);
        await h.release();
        return pending;
      });
      expect(expectError(silenced, 'FORBIDDEN').message).toMatch(/silenced/);
      expect((await seen(writer, own.postId)).id).toBe(own.poll.id);

      // The post deleted (as deletePost does it, under its lock) while its author's updatePoll waits:
      // they read it as a placeholder now, so it has no poll for them; a moderator's is CONFLICT.
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'a reply with a poll, soon deleted');
      const poll = expectOk(await create(author, r.id)).createPoll;
      const DELETE_POST = `UPDATE posts SET state = 'DELETED', deleted_from = state, deleted_at = now(), deleted_by = $2 WHERE id = $1`;
      const gone = await holding(DELETE_POST, [r.id, moderator.id], async (h) => {
        const pending = update(author, poll.id);
        await h.waiting(1);
        await h.release();
        return pending;
      });
      expectError(gone, 'NOT_FOUND');
      expect(expectError(await update(moderator, poll.id), 'CONFLICT').message).toMatch(/deleted post/);
      expect((await seen(moderator, r.id)).question).toBe(poll.question);
    });

    it('judges a vote with the voter’s access as it stands once the locks are held: silenced site-wide or in the space, or a grant revoked, while it waited', async () => {
      const silence = (userId: string, where: string | null) =>
        t.sql(`INSERT INTO sanctions (id, user_id, kind, space_id, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', $2, 'test', now() + interval '1 day')`, [userId, where]);
      const a = await pollIn();
      const [everywhere, here] = [await makeUser(t), await makeUser(t)];
      const before = await rows();
      expect(expectError(await voteWhileWaiting(everywhere, a, () => silence(everywhere.id, null)), 'FORBIDDEN').message).toMatch(/silenced/);
      expect(expectError(await voteWhileWaiting(here, a, () => silence(here.id, spaceId)), 'FORBIDDEN').message).toMatch(/silenced/);
      expect(await rows()).toEqual(before);

      // A participant of a restricted space by a grant revoked while their vote waits: they read it no more.
      const guest = await makeUser(t);
      const restricted = await makeSpace(t, 'RESTRICTED', [{ userId: author.id, level: 'PARTICIPATE' }, { userId: guest.id, level: 'PARTICIPATE' }]);
      const b = await pollIn({}, await makeBoard(t, restricted.id));
      const beforeRevoked = await rows();
      expectError(await voteWhileWaiting(guest, b, () => t.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [restricted.id, guest.id])), 'NOT_FOUND');
      expect(await rows()).toEqual(beforeRevoked);
      await expectConsistent(a.poll.id);
      await expectConsistent(b.poll.id);
    });

    it('answers a vote with what it judged under the locks: a moderator demoted while their vote waited gets no hidden counts, one promoted gets them', async () => {
      const deputy = await makeUser(t);
      const risen = await makeUser(t);
      await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, $3)`, [spaceId, deputy.id, LEVEL_RANK.MODERATE]);
      const p = await pollIn({ results: 'ON_CLOSE' });
      const demoted = expectOk(await voteWhileWaiting(deputy, p, () => t.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [spaceId, deputy.id]))).votePoll;
      expect(demoted).toMatchObject({ resultsVisible: false, voterCount: null, myChoice: [p.options[0]] });
      const promoted = expectOk(
        await voteWhileWaiting(risen, p, () => t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, $3)`, [spaceId, risen.id, LEVEL_RANK.MODERATE])),
      ).votePoll;
      expect(promoted).toMatchObject({ resultsVisible: true, voterCount: 2 });
      // As Post.poll reads it for each of them now.
      expect((await seen(deputy, p.postId)).resultsVisible).toBe(false);
      expect((await seen(risen, p.postId)).resultsVisible).toBe(true);
    });

    it('queues a vote, and an author’s management of their polls, behind the topic being locked, and refuses them once it is', async () => {
      const a = await pollIn();
      const r = await reply(t, author.token, a.topic.id, 'a reply to carry a poll of its own');
      const voter = await makeUser(t);
      // What polls hold (the lock writes an event of its own).
      const pollRows = async () => {
        const { outbox: _events, ...held } = await rows();
        return held;
      };
      const before = await pollRows();
      // setTopicStatus locks the topic's row first, then logs its change: it holds the row while
      // the log's table is held here, and the poll mutations sent next queue behind it.
      const [locked, ...refused] = await holding(`LOCK TABLE moderation_log IN SHARE MODE`, [], async (h) => {
        const locking = t.gql(STATUS, { input: { topicId: a.topic.id, locked: true } }, { token: moderator.token });
        await h.waiting(1);
        const pending = [vote(voter, a.poll.id, [a.options[0]]), t.gql(CLOSE, { id: a.poll.id }, { token: author.token }), create(author, r.id)];
        await h.waiting(4);
        await h.release();
        return Promise.all([locking, ...pending]);
      });
      expect(expectOk(locked).setTopicStatus).toEqual({ locked: true });
      for (const res of refused) expect(expectError(res, 'FORBIDDEN').message).toMatch(/locked/);
      expect(await pollRows()).toEqual(before);
      expect(await seen(member, a.postId)).toMatchObject({ closed: false, voterCount: 0 });
    });

    it('queues votes and withdrawals behind the topic being closed, and refuses them once it is; its author’s management queued with them goes on', async () => {
      const CLOSING = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { closed } }`;
      const a = await pollIn();
      const [early, late] = [await makeUser(t), await makeUser(t)];
      expectOk(await vote(early, a.poll.id, [a.options[0]]));
      const before = await rows();
      // setTopicStatus holds the topic's row while the log's table is held here; the votes queue behind it.
      const [closed, managed, ...refused] = await holding(`LOCK TABLE moderation_log IN SHARE MODE`, [], async (h) => {
        const closing = t.gql(CLOSING, { input: { topicId: a.topic.id, closed: true } }, { token: moderator.token });
        await h.waiting(1);
        // As many as the app's pool (five connections, one of them the holder's) lets wait at once.
        const pending = [t.gql(CLOSE, { id: a.poll.id }, { token: author.token }), vote(late, a.poll.id, [a.options[1]]), t.gql(UNVOTE, { id: a.poll.id }, { token: early.token })];
        await h.waiting(4);
        await h.release();
        return Promise.all([closing, ...pending]);
      });
      expect(expectOk(closed).setTopicStatus).toEqual({ closed: true });
      expect(expectOk(managed).closePoll).toMatchObject({ closed: true, voterCount: 1 });
      for (const res of refused) expect(expectError(res, 'FORBIDDEN').message).toMatch(/topic is closed/);
      const { outbox: _events, ...held } = await rows();
      const { outbox: _before, ...heldBefore } = before;
      expect(held).toEqual(heldBefore);
      expect(await seen(early, a.postId)).toMatchObject({ closed: true, voterCount: 1, myChoice: [a.options[0]] });
      await expectConsistent(a.poll.id);
    });

    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    /** A moderator hides the post (the topic's first post: the topic with it). */
    const hide = (postId: string) => t.gql(MODERATE, { input: { postId, action: 'HIDE', reason: 'off topic' } }, { token: moderator.token });
    /** A topic by the author whose reply, by `by`, carries a poll. */
    async function replyPoll(by = author) {
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, by.token, topic.id, 'a reply that asks the room');
      const poll = expectOk(await create(by, r.id)).createPoll;
      return { topic, postId: r.id, poll, options: poll.options.map((o: any) => o.id as string) };
    }
    /**
     * `first` queued behind a lock the test holds (`sql`), then `second`: their answers, and
     * whether `second` ended or, first, waited for a lock too (for `first`) while it was held.
     */
    const queuedBehind = (sql: string, params: unknown[], first: () => Promise<GqlResult>, second: () => Promise<GqlResult>) =>
      holding(sql, params, async (h): Promise<[GqlResult, GqlResult, 'done' | 'waiting']> => {
        const one = first();
        await h.waiting(1);
        const two = second();
        const was = await doneOrWaiting(t, two, 2, h);
        await h.release();
        return [await one, await two, was];
      });

    describe('a vote on a reply’s poll and the topic hidden through its first post at once', () => {
      /** The vote's and the topic's events on the outbox, in the order they committed. */
      const eventsOf = async (a: { topic: { id: string }; poll: { id: string } }) =>
        (await t.sql(`SELECT type FROM outbox WHERE aggregate_id = ANY($1::uuid[]) AND type IN ('poll.voted', 'topic.hidden') ORDER BY id`, [[a.poll.id, a.topic.id]])).map((e: any) => e.type);

      it('holds the hiding back until a vote that found the topic visible, and waits for the poll, is counted: never counted in a topic hidden before it commits', async () => {
        const a = await replyPoll();
        const voter = await makeUser(t);
        // The vote reads the topic visible, then waits for the poll; the hiding waits for the vote
        // (it went through at once, its topic hidden under the waiting vote, without the fix).
        const [voted, hidden, hiding] = await queuedBehind(POLL_LOCK, [a.poll.id], () => vote(voter, a.poll.id, [a.options[0]]), () => hide(a.topic.firstPostId));
        expect(hiding).toBe('waiting');
        expect(expectOk(voted).votePoll).toMatchObject({ myChoice: [a.options[0]], voterCount: 1 });
        expect(expectOk(hidden).moderatePost).toEqual({ state: 'HIDDEN' });
        expect(await eventsOf(a)).toEqual(['poll.voted', 'topic.hidden']);
        // Hidden now: no more votes, the poll gone from the member's sight.
        expectError(await vote(member, a.poll.id, [a.options[1]]), 'NOT_FOUND');
        await expectConsistent(a.poll.id);
      });

      it('queues a vote behind a hiding under way, and judges it on the hidden topic: NOT_FOUND, nothing counted', async () => {
        const a = await replyPoll();
        const voter = await makeUser(t);
        const before = await rows();
        // The hiding has hidden the first post and the topic, and waits to log it; the vote waits for
        // the hiding (it read the topic as its statement began, visible, and was counted at once, without the fix).
        const [hidden, voted, voting] = await queuedBehind(`LOCK TABLE moderation_log IN SHARE MODE`, [], () => hide(a.topic.firstPostId), () => vote(voter, a.poll.id, [a.options[0]]));
        expect(voting).toBe('waiting');
        expect(expectOk(hidden).moderatePost).toEqual({ state: 'HIDDEN' });
        expectError(voted, 'NOT_FOUND');
        const { outbox: _events, ...held } = await rows();
        const { outbox: _before, ...heldBefore } = before;
        expect(held).toEqual(heldBefore);
        expect(await eventsOf(a)).toEqual(['topic.hidden']);
        // The author still reads the poll of their hidden topic, untouched.
        expect(await seen(author, a.postId)).toMatchObject({ voterCount: 0 });
      });
    });

    describe('a poll’s management on a reply and the topic hidden through its first post at once', () => {
      type Place = { writer: TestUser; topic: { id: string; firstPostId: string }; postId: string; poll: any };
      /** Each management by the reply's author: of its poll, or, createPoll, of a poll added to it. */
      const MANAGEMENTS: Array<[string, (a: Place) => Promise<GqlResult>]> = [
        ['createPoll', (a) => create(a.writer, a.postId, { question: 'A second thought?' })],
        ['updatePoll', (a) => update(a.writer, a.poll.id)],
        ['closePoll', (a) => t.gql(CLOSE, { id: a.poll.id }, { token: a.writer.token })],
        ['reopenPoll', (a) => t.gql(REOPEN, { id: a.poll.id }, { token: a.writer.token })],
        ['deletePoll', (a) => t.gql(DELETE, { id: a.poll.id }, { token: a.writer.token })],
      ];
      /**
       * A reply by a member of their own in the author's topic (hidden, the topic is NOT_FOUND to
       * them), ready for `what`: without a poll for createPoll, with a closed one for reopenPoll.
       */
      async function ready(what: string): Promise<Place> {
        const writer = await makeUser(t);
        if (what !== 'createPoll') {
          const a = await replyPoll(writer);
          if (what === 'reopenPoll') expectOk(await t.gql(CLOSE, { id: a.poll.id }, { token: writer.token }));
          return { writer, ...a };
        }
        const topic = await createTopic(t, author.token, boardId);
        return { writer, topic, postId: (await reply(t, writer.token, topic.id, 'a reply that will ask the room')).id, poll: null };
      }
      /** The last event on the outbox, to read those after it (`eventsSince`). */
      const lastEvent = async () => (await t.sql(`SELECT coalesce(max(id), 0)::text AS id FROM outbox`))[0].id as string;
      /** The topic's polls' events and its hiding after `since`, in the order they committed. */
      const eventsSince = async (topicId: string, since: string) =>
        (await t.sql(`SELECT type FROM outbox WHERE id > $2::bigint AND payload->>'topicId' = $1 AND (aggregate_type = 'poll' OR type = 'topic.hidden') ORDER BY id`, [topicId, since])).map((e: any) => e.type);
      /** What polls hold (a hiding writes events of its own). */
      const pollRows = async () => {
        const { outbox: _events, ...held } = await rows();
        return held;
      };

      it.each(MANAGEMENTS)('%s queued behind a hiding of the topic under way is judged on the hidden topic: NOT_FOUND to the reply’s author, nothing written', async (what, manage) => {
        const a = await ready(what);
        const [before, since] = [await pollRows(), await lastEvent()];
        // The hiding has hidden the first post and the topic, and waits to log it; the management waits
        // for the hiding (it read the topic as its statement began, visible, and went through at once, without the fix).
        const [hidden, managed, managing] = await queuedBehind(`LOCK TABLE moderation_log IN SHARE MODE`, [], () => hide(a.topic.firstPostId), () => manage(a));
        expect(managing).toBe('waiting');
        expect(expectOk(hidden).moderatePost).toEqual({ state: 'HIDDEN' });
        expectError(managed, 'NOT_FOUND');
        expect(await pollRows()).toEqual(before);
        expect(await eventsSince(a.topic.id, since)).toEqual(['topic.hidden']);
      });

      it.each(MANAGEMENTS)('%s holds back a hiding of the topic begun while it waits, and is done first', async (what, manage) => {
        const a = await ready(what);
        const since = await lastEvent();
        // The management holds the topic, its first post and the reply, and waits to write the poll; the hiding
        // waits for the management (it went through at once, hiding the topic under the waiting management, without the fix).
        const [managed, hidden, hiding] = await queuedBehind(`LOCK TABLE polls IN SHARE MODE`, [], () => manage(a), () => hide(a.topic.firstPostId));
        expect(hiding).toBe('waiting');
        expectOk(managed);
        expect(expectOk(hidden).moderatePost).toEqual({ state: 'HIDDEN' });
        expect(await eventsSince(a.topic.id, since)).toEqual([what === 'deletePoll' ? 'poll.deleted' : 'poll.updated', 'topic.hidden']);
      });
    });

    it('two deletions of a poll, or two new polls, on a topic’s first post or on a reply, queued behind a share lock of the post (a vote’s), go one after the other: no deadlock', async () => {
      const repo = t.get(PollsRepository);
      const [managed, marked] = [jest.spyOn(repo, 'lockToManage'), jest.spyOn(repo, 'markPost')];
      /** `first`, then `second`, queued behind a share lock of the post; their answers. */
      const queued = (postId: string, first: () => Promise<GqlResult>, second: () => Promise<GqlResult>) =>
        holding(`SELECT 1 FROM posts WHERE id = $1 FOR SHARE`, [postId], async (h) => {
          const one = first();
          await h.waiting(1);
          const two = second();
          await h.waiting(2);
          await h.release();
          return Promise.all([one, two]);
        });
      try {
        for (const a of [await pollIn(), await replyPoll()]) {
          managed.mockClear();
          marked.mockClear();
          const [deleted, gone] = await queued(a.postId, () => t.gql(DELETE, { id: a.poll.id }, { token: author.token }), () => t.gql(DELETE, { id: a.poll.id }, { token: moderator.token }));
          // Each ran once (one PostgreSQL aborted for a deadlock runs again, UnitOfWork), the first queued first.
          expect(managed).toHaveBeenCalledTimes(2);
          expect(expectOk(deleted).deletePoll).toBe(true);
          expectError(gone, 'NOT_FOUND');
          const [created, second] = await queued(a.postId, () => create(author, a.postId, { question: 'Again?' }), () => create(moderator, a.postId, { question: 'Once more?' }));
          // The deletion's mark cleared, and each creation's once.
          expect(marked).toHaveBeenCalledTimes(3);
          expectOk(created);
          expectError(second, 'CONFLICT');
        }
      } finally {
        managed.mockRestore();
        marked.mockRestore();
      }
    });

    it.each(['locked', 'closed'])('holds a topic’s status change (%s) back until the votes that found it open are counted', async (status) => {
      const a = await pollIn();
      const voter = await makeUser(t);
      const [voted, changed] = await holding(POLL_LOCK, [a.poll.id], async (h) => {
        // The vote holds the topic, its post and waits for the poll; the status change waits for the vote.
        const voting = vote(voter, a.poll.id, [a.options[0]]);
        await h.waiting(1);
        const changing = t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { ${status} } }`, { input: { topicId: a.topic.id, [status]: true } }, { token: moderator.token });
        await h.waiting(2);
        await h.release();
        return Promise.all([voting, changing]);
      });
      expect(expectOk(voted).votePoll).toMatchObject({ myChoice: [a.options[0]], voterCount: 1 });
      expect(expectOk(changed).setTopicStatus).toEqual({ [status]: true });
      // Both are kept, in that order: the vote's event before the status change's.
      const events = await t.sql(`SELECT type FROM outbox WHERE aggregate_id = ANY($1::uuid[]) AND type IN ('poll.voted', 'topic.updated') ORDER BY id`, [[a.poll.id, a.topic.id]]);
      expect(events.map((e: any) => e.type)).toEqual(['poll.voted', 'topic.updated']);
      expect(expectError(await vote(member, a.poll.id, [a.options[1]]), 'FORBIDDEN').message).toMatch(status);
      await expectConsistent(a.poll.id);
    });
  });

  describe('results', () => {
    /** What voteCount, voterCount and resultsVisible each of them reads. */
    async function sight(postId: string, who: Array<TestUser | null>) {
      return Promise.all(
        who.map(async (u) => {
          const p = await seen(u, postId);
          return p.resultsVisible ? (expect(p.voterCount).not.toBeNull(), counts(p).join(',')) : (expect([p.voterCount, ...counts(p)].every((c) => c === null)).toBe(true), 'hidden');
        }),
      );
    }

    it.each([
      // mode, [non-voter, voter, moderator, author, anonymous] while open, then once closed
      ['ALWAYS', ['1,0,0', '1,0,0', '1,0,0', '1,0,0', '1,0,0'], ['1,0,0', '1,0,0', '1,0,0', '1,0,0', '1,0,0']],
      ['ON_VOTE', ['hidden', '1,0,0', '1,0,0', '1,0,0', 'hidden'], ['1,0,0', '1,0,0', '1,0,0', '1,0,0', '1,0,0']],
      ['ON_CLOSE', ['hidden', 'hidden', '1,0,0', '1,0,0', 'hidden'], ['1,0,0', '1,0,0', '1,0,0', '1,0,0', '1,0,0']],
      ['MODERATORS', ['hidden', 'hidden', '1,0,0', '1,0,0', 'hidden'], ['hidden', 'hidden', '1,0,0', '1,0,0', 'hidden']],
    ])('%s shows the counts to whom it says', async (results, open, closed) => {
      const { postId, poll, options } = await pollIn({ results });
      const [bystander, voter] = [await makeUser(t), await makeUser(t)];
      // The answer to the vote itself follows the rule too.
      const answer = expectOk(await vote(voter, poll.id, [options[0]])).votePoll;
      expect(answer.resultsVisible).toBe(open[1] !== 'hidden');
      const who = [bystander, voter, moderator, author, null];
      expect(await sight(postId, who)).toEqual(open);
      expectOk(await t.gql(CLOSE, { id: poll.id }, { token: author.token }));
      expect(await sight(postId, who)).toEqual(closed);
    });

    it('lists voters only for public-voter polls whose results the viewer sees; a deleted account shows anonymised, its vote kept', async () => {
      const admin = await makeUser(t, { role: 'ADMIN' });
      const pub = await pollIn({ publicVoters: true, results: 'ON_VOTE' });
      const [a, b] = [await makeUser(t), await makeUser(t)];
      expectOk(await vote(a, pub.poll.id, [pub.options[0]]));
      expectOk(await vote(b, pub.poll.id, [pub.options[0]]));
      const listed = async (u: TestUser) => expectOk(await t.gql(VOTERS, { id: pub.postId }, { token: u.token })).post.poll.options;
      expect((await listed(a))[0].voters.map((v: any) => v.id)).toEqual([a.id, b.id]);
      // Results hidden from a non-voter: no voters either.
      expect((await listed(member)).map((o: any) => o.voters)).toEqual([null, null, null]);
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: a.id }, { token: admin.token }));
      const after = (await listed(b))[0];
      expect(after.voteCount).toBe(2);
      expect(after.voters[0].id).toBe(a.id);
      expect(after.voters[0].handle).toMatch(/^deleted-/);
      expect(after.voters[0].handle).not.toBe(a.handle);
      // Without public voters, nobody gets the list.
      const secret = await pollIn({ publicVoters: false });
      expectOk(await vote(b, secret.poll.id, [secret.options[0]]));
      expect(expectOk(await t.gql(VOTERS, { id: secret.postId }, { token: moderator.token })).post.poll.options[0]).toMatchObject({ voteCount: 1, voters: null });
    });

    it('counts every option a poll may hold, and their voters, in a query’s cost', async () => {
      const { topic } = await pollIn({ publicVoters: true });
      const page = (first: number) => `query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { poll { options { text voters(first: ${first}) { handle } } } } } } } }`;
      expectOk(await t.gql(page(1), { id: topic.id }, { token: member.token }));
      // 50 posts × 20 options × 100 voters: refused before it runs.
      expect(expectError(await t.gql(page(100), { id: topic.id }, { token: member.token }), 'BAD_USER_INPUT').message).toMatch(/too complex/);
    });

    it('logs a moderator’s management of another’s poll in the moderation log, not its author’s', async () => {
      const logged = async (postId: string) =>
        (await t.sql(`SELECT action, actor_id, space_id FROM moderation_log WHERE target_id = $1 ORDER BY id`, [postId])).map((r: any) => [r.action, r.actor_id, r.space_id]);
      const own = await pollIn();
      expectOk(await t.gql(CLOSE, { id: own.poll.id }, { token: author.token }));
      expectOk(await t.gql(DELETE, { id: own.poll.id }, { token: author.token }));
      expect(await logged(own.postId)).toEqual([]);
      const topic = await createTopic(t, author.token, boardId);
      const poll = expectOk(await create(moderator, topic.firstPostId)).createPoll;
      expectOk(await t.gql(CLOSE, { id: poll.id }, { token: moderator.token }));
      expectOk(await t.gql(REOPEN, { id: poll.id }, { token: moderator.token }));
      expectOk(await t.gql(DELETE, { id: poll.id }, { token: moderator.token }));
      expect(await logged(topic.firstPostId)).toEqual(['poll.create', 'poll.close', 'poll.reopen', 'poll.delete'].map((a) => [a, moderator.id, spaceId]));
    });

    it('keeps polls out of search: neither their text nor their counts are indexed', async () => {
      const topic = await createTopic(t, author.token, boardId, { title: 'Roasting day planning', body: 'Let us pick a quokkaberry roast' });
      const poll = expectOk(await create(author, topic.firstPostId, { question: 'Zanzibarian or not?', options: ['Marmaladish', 'Other'], results: 'MODERATORS' })).createPoll;
      expectOk(await vote(member, poll.id, [poll.options[0].id]));
      await t.get(OutboxWorker).drain();
      const found = async (q: string) =>
        expectOk(await t.gql(`query($q: String!) { search(query: $q) { totalCount edges { node { snippetHtml } } } }`, { q }, { token: member.token })).search;
      expect((await found('quokkaberry')).totalCount).toBe(1);
      for (const word of ['Zanzibarian', 'Marmaladish']) expect((await found(word)).totalCount).toBe(0);
      expect(JSON.stringify(await found('quokkaberry'))).not.toMatch(/Marmaladish|Zanzibarian/);
    });

    it('goes with deletePoll, its author or a moderator only', async () => {
      const { postId, poll, options } = await pollIn();
      expectOk(await vote(member, poll.id, [options[0]]));
      expectError(await t.gql(DELETE, { id: poll.id }, { token: member.token }), 'FORBIDDEN');
      expect(expectOk(await t.gql(DELETE, { id: poll.id }, { token: author.token })).deletePoll).toBe(true);
      expect(await seen(member, postId)).toBeNull();
      expect(await t.sql(`SELECT 1 FROM poll_votes WHERE poll_id = $1`, [poll.id])).toEqual([]);
      // The post takes a new one.
      expectOk(await create(author, postId));
    });
  });

  describe('watched words', () => {
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    let watchedBoard: string;
    beforeAll(async () => {
      const watched = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
      watchedBoard = await makeBoard(t, watched.id);
      for (const [pattern, action, publicReason] of [
        ['crypto*', 'BLOCK', 'No crypto promotions here'],
        ['darn', 'CENSOR', 'Mind your language'],
        ['competitor', 'REQUIRE_APPROVAL', 'Mentions of competitors are reviewed'],
        ['refund', 'FLAG', 'Refund requests go to support'],
      ]) {
        expectOk(await t.gql(RULE, { input: { spaceId: watched.id, pattern, kind: 'WORD', action, publicReason } }, { token: moderator.token }));
      }
    });
    const refusal = (res: GqlResult) => {
      const err = expectError(res, 'BAD_USER_INPUT');
      return [err.extensions.fields?.map((f) => f.field), err.message];
    };

    it('refuses a blocked word, or one that needs approval, in the question or an option, naming the field, writing nothing', async () => {
      const topic = await createTopic(t, author.token, watchedBoard);
      const before = await rows();
      expect(refusal(await create(author, topic.firstPostId, { question: 'Which CRYPTOcoin?' }))).toEqual([['question'], 'Your poll was refused: No crypto promotions here']);
      expect(refusal(await create(author, topic.firstPostId, { options: ['Yes', 'Buy cryptocoins'] }))).toEqual([['options'], 'Your poll was refused: No crypto promotions here']);
      // Nothing holds a poll for a moderator to approve: such a word refuses it, for a moderator too.
      expect(refusal(await create(moderator, topic.firstPostId, { options: ['Us', 'The competitor'] }))).toEqual([['options'], 'Your poll was refused: Mentions of competitors are reviewed']);
      expect(await rows()).toEqual(before);
      // Another space's rules do not reach it.
      expectOk(await create(author, (await createTopic(t, author.token, boardId)).firstPostId, { question: 'Which cryptocoin?' }));
    });

    it('masks a censored word where it is stored and shown, and flags the post for review', async () => {
      const topic = await createTopic(t, author.token, watchedBoard);
      const poll = expectOk(await create(author, topic.firstPostId, { question: 'Darn, which day?', options: ['Monday, darn it', 'A refund day'] })).createPoll;
      expect([poll.question, ...poll.options.map((o: any) => o.text)]).toEqual(['■■■■, which day?', 'Monday, ■■■■ it', 'A refund day']);
      const shown = await seen(member, topic.firstPostId);
      expect(JSON.stringify(shown)).not.toMatch(/darn/i);
      expect(await t.sql(`SELECT question FROM polls WHERE id = $1`, [poll.id])).toEqual([{ question: '■■■■, which day?' }]);
      const logged = await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action LIKE 'automod.%' ORDER BY id`, [topic.firstPostId]);
      expect(logged.map((r: any) => r.action)).toEqual(['automod.censor', 'automod.flag']);
      expect(await t.sql(`SELECT kind FROM review_items WHERE target_id = $1`, [topic.firstPostId])).toEqual([{ kind: 'AUTOMOD' }]);
      // Two options that differ only by what is masked are the same option.
      expect(refusal(await create(author, (await createTopic(t, author.token, watchedBoard)).firstPostId, { options: ['darn', 'dárn'] }))).toEqual([['options'], '“■■■■” is given twice (options differ by more than case and spaces)']);
    });

    it('screens updatePoll as createPoll: a blocked word leaves the poll as it was, a censored one is masked', async () => {
      const topic = await createTopic(t, author.token, watchedBoard);
      const poll = expectOk(await create(author, topic.firstPostId)).createPoll;
      const update = (patch: Record<string, unknown>) => {
        const { postId: _post, ...shape } = input(topic.firstPostId, patch);
        return t.gql(UPDATE, { input: { ...shape, pollId: poll.id } }, { token: author.token });
      };
      expect(refusal(await update({ options: ['Monday', 'crypto Tuesday'] }))).toEqual([['options'], 'Your poll was refused: No crypto promotions here']);
      expect((await seen(member, topic.firstPostId)).options.map((o: any) => o.text)).toEqual(['Monday', 'Tuesday', 'Wednesday']);
      const changed = expectOk(await update({ question: 'Which darn day?' })).updatePoll;
      expect(changed.question).toBe('Which ■■■■ day?');
    });
  });

  describe('statement counts', () => {
    const PAGE = `query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { id poll { id question closed voterCount myChoice options { id text voteCount } } } } } } }`;
    /** A topic of `n` posts, each with a poll the viewer voted in. */
    async function topicWithPolls(n: number, viewer: TestUser): Promise<string> {
      const topic = await createTopic(t, author.token, boardId);
      const ids = [topic.firstPostId];
      for (let i = 1; i < n; i++) ids.push((await reply(t, author.token, topic.id, `reply ${i}`)).id);
      for (const id of ids) {
        const poll = expectOk(await create(author, id, { results: 'ON_VOTE' })).createPoll;
        expectOk(await vote(viewer, poll.id, [poll.options[1].id]));
      }
      return topic.id;
    }

    it('reads the polls of a topic page in two statements, whatever its size', async () => {
      const viewer = await makeUser(t);
      const [small, large] = [await topicWithPolls(2, viewer), await topicWithPolls(12, viewer)];
      const cost = async (id: string, u: TestUser | null) => {
        let res!: GqlResult;
        const c = await t.countStatements(async () => (res = await t.gql(PAGE, { id }, u ? { token: u.token } : {})));
        return { count: c.count, nodes: expectOk(res).topic.posts.edges.map((e: any) => e.node) };
      };
      const [few, many] = [await cost(small, viewer), await cost(large, viewer)];
      expect(many.nodes).toHaveLength(12);
      expect(many.nodes.every((n: any) => n.poll.voterCount === 1 && n.poll.myChoice.length === 1 && n.poll.options[1].voteCount === 1)).toBe(true);
      expect(many.count).toBe(few.count);
      const plain = await t.countStatements(() => t.gql(`query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { id } } } } }`, { id: large }, { token: viewer.token }));
      expect(many.count).toBeLessThanOrEqual(plain.count + 2);
      // Signed out: the polls alone, one statement, counts hidden (ON_VOTE).
      const anonymous = await cost(large, null);
      expect(anonymous.nodes.every((n: any) => n.poll.voterCount === null && n.poll.myChoice.length === 0)).toBe(true);
      expect(anonymous.count).toBe((await cost(small, null)).count);
    });
  });

  describe('pages without polls', () => {
    const PAGE = `query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { id poll { id question } } } } } }`;
    /** The posts of a topic page with their polls, and the statements that read polls or choices for it. */
    async function page(topicId: string, u: TestUser | null) {
      let res!: GqlResult;
      const c = await t.countStatements(async () => (res = await t.gql(PAGE, { id: topicId }, u ? { token: u.token } : {})));
      const nodes = expectOk(res).topic.posts.edges.map((e: any) => e.node);
      return { polls: nodes.filter((n: any) => n.poll).map((n: any) => [n.id, n.poll.question]), statements: c.statements.filter((q) => /FROM (polls|poll_votes)\b/.test(q) && !PUSH_READ.test(q)).length };
    }

    it('runs no polls statement for a page none of whose posts has a poll, and one (two signed in) once one has', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'a reply that takes a poll');
      await reply(t, author.token, topic.id, 'and one that does not');
      expect(await page(topic.id, member)).toEqual({ polls: [], statements: 0 });
      expect(await page(topic.id, null)).toEqual({ polls: [], statements: 0 });
      const poll = expectOk(await create(author, r.id, { question: 'Halfway poll?' })).createPoll;
      expect(await page(topic.id, member)).toEqual({ polls: [[r.id, 'Halfway poll?']], statements: 2 });
      expect(await page(topic.id, null)).toEqual({ polls: [[r.id, 'Halfway poll?']], statements: 1 });
      expectOk(await t.gql(DELETE, { id: poll.id }, { token: author.token }));
      expect(await page(topic.id, member)).toEqual({ polls: [], statements: 0 });
    });

    it('keeps the mark right when a refused poll writes nothing, and when its post moves to another topic', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'a reply with a poll, soon split off');
      expectError(await create(author, r.id, { options: ['Same', 'same'] }), 'BAD_USER_INPUT');
      expectOk(await create(author, r.id, { question: 'Travelling poll?' }));
      // A second poll is refused: the post still has its first.
      expectError(await create(moderator, r.id), 'CONFLICT');
      expect(await t.sql(`SELECT has_poll FROM posts WHERE id = ANY($1::uuid[]) ORDER BY number`, [[topic.firstPostId, r.id]])).toEqual([{ has_poll: false }, { has_poll: true }]);
      const split = expectOk(
        await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [r.id], newTopic: { boardId, title: 'The poll on its own', tags: [] } } }, { token: moderator.token }),
      ).movePosts;
      expect(await page(topic.id, member)).toEqual({ polls: [], statements: 0 });
      expect(await page(split.id, member)).toEqual({ polls: [[r.id, 'Travelling poll?']], statements: 2 });
    });
  });

  describe('version', () => {
    const VERSION = `query($id: ID!) { post(id: $id) { poll { closed resultsVisible version } } }`;
    const asSeen = async (u: TestUser | null, postId: string) => expectOk(await t.gql(VERSION, { id: postId }, u ? { token: u.token } : {})).post.poll;
    /** The versions the live push of the poll would carry now (`LiveGateway.pushPoll`): with the counts, and without. */
    async function pushed(pollId: string) {
      const row = (await t.get(PollsService).forPush(pollId))!;
      return { counted: fullVersion(row), bare: newsVersion(row.news) };
    }

    it('is the version the viewer’s pushes carry: the counts’ where they see them, the news’ alone otherwise (no vote moves it), closed by its time above every open one', async () => {
      const { poll, postId, options } = await pollIn({ results: 'ON_CLOSE' });
      const open = await pushed(poll.id);
      expect(await asSeen(author, postId)).toEqual({ closed: false, resultsVisible: true, version: open.counted });
      expect(await asSeen(member, postId)).toEqual({ closed: false, resultsVisible: false, version: open.bare });
      expect(await asSeen(null, postId)).toEqual({ closed: false, resultsVisible: false, version: open.bare });

      expectOk(await vote(member, poll.id, [options[0]]));
      const voted = await pushed(poll.id);
      expect(voted.counted).toBeGreaterThan(open.counted);
      expect(voted.bare).toBe(open.bare);
      expect((await asSeen(moderator, postId)).version).toBe(voted.counted);
      expect((await asSeen(member, postId)).version).toBe(open.bare);

      // Past its closing time, not told yet: closed, the counts public, at a version above every one of it open; told, one more.
      await t.sql(`UPDATE polls SET closes_at = now() - interval '1 second' WHERE id = $1`, [poll.id]);
      const passed = await pushed(poll.id);
      expect(passed.bare).toBeGreaterThan(voted.counted);
      for (const u of [author, member, null]) expect(await asSeen(u, postId)).toEqual({ closed: true, resultsVisible: true, version: passed.counted });
      expect(await t.get(PollsService).tellClosings()).toBeGreaterThanOrEqual(1);
      const told = await pushed(poll.id);
      expect(told.bare).toBe(passed.bare);
      expect(await asSeen(null, postId)).toEqual({ closed: true, resultsVisible: true, version: passed.counted + 1 });
      expect(told.counted).toBe(passed.counted + 1);
    });

    it('follows the viewer’s audience: an ON_VOTE voter’s vote and withdrawal, a told closing reopened', async () => {
      const { poll, postId, options } = await pollIn({ results: 'ON_VOTE' });
      const open = await pushed(poll.id);
      const voted = expectOk(await t.gql(`mutation($input: VotePollInput!) { votePoll(input: $input) { resultsVisible version } }`, { input: { pollId: poll.id, optionIds: [options[0]] } }, { token: member.token })).votePoll;
      const afterVote = await pushed(poll.id);
      expect(voted).toEqual({ resultsVisible: true, version: afterVote.counted });
      // Withdrawn: back to the news' version, below the counted one the voter held (README, Order: no version orders a reader's own audience change).
      const withdrawn = expectOk(await t.gql(`mutation($id: ID!) { unvotePoll(pollId: $id) { resultsVisible myChoice version } }`, { id: poll.id }, { token: member.token })).unvotePoll;
      expect(withdrawn).toEqual({ resultsVisible: false, myChoice: [], version: open.bare });
      expect(withdrawn.version).toBeLessThan(voted.version);

      // A closing the job told, then reopened: the time dropped, open to every reader at the reopening's news.
      await t.sql(`UPDATE polls SET closes_at = now() - interval '1 second' WHERE id = $1`, [poll.id]);
      expect(await t.get(PollsService).tellClosings()).toBeGreaterThanOrEqual(1);
      const told = await pushed(poll.id);
      expect(await asSeen(member, postId)).toEqual({ closed: true, resultsVisible: true, version: told.counted });
      expectOk(await t.gql(REOPEN, { id: poll.id }, { token: author.token }));
      const reopened = await pushed(poll.id);
      expect(reopened.bare).toBeGreaterThan(told.counted);
      expect(await asSeen(member, postId)).toEqual({ closed: false, resultsVisible: false, version: reopened.bare });
      expect(await asSeen(author, postId)).toEqual({ closed: false, resultsVisible: true, version: reopened.counted });
    });
  });

  describe('closing by its time (tell-poll-closings)', () => {
    /** A poll of a new topic whose closing time passed a second ago, not told yet. */
    async function passedPoll() {
      const p = await pollIn();
      await t.sql(`UPDATE polls SET closes_at = now() - interval '1 second' WHERE id = $1`, [p.poll.id]);
      return p;
    }
    /** Inserts a vote row for `userId` on a connection of its own, giving up a wait for a lock after a while (lock_timeout); rolled back. */
    async function insertVote(pollId: string, optionId: string, userId: string): Promise<void> {
      const qr = t.ds.createQueryRunner();
      await qr.connect();
      try {
        await qr.startTransaction();
        await qr.query(`SET LOCAL lock_timeout = '2s'`);
        await qr.query(`INSERT INTO poll_votes (poll_id, option_id, user_id) VALUES ($1, $2, $3)`, [pollId, optionId, userId]);
      } finally {
        if (qr.isTransactionActive) await qr.rollbackTransaction();
        await qr.release();
      }
    }

    it('locks the polls it tells no harder than their update does: a vote row referencing one is inserted while the job holds it', async () => {
      const { poll, options } = await passedPoll();
      const voter = await makeUser(t);
      await withLockHeld(t, `SELECT 1`, [], async (job) => {
        // The job's own statement, in a transaction of the test's that keeps its locks.
        expect((await t.get(PollsRepository).tellClosings(job, 100)).map((p) => p.id)).toContain(poll.id);
        // The foreign keys' KEY SHARE on the poll: a FOR UPDATE lock makes it wait, and lock_timeout fail.
        await expect(insertVote(poll.id, options[0], voter.id)).resolves.toBeUndefined();
      });
    });

    it('a transaction begun before the closing time finds a closing the job told closed, at the told news, takes no vote in it and reopens it for good', async () => {
      const { poll } = await pollIn();
      const repo = t.get(PollsRepository);
      await withLockHeld(t, `SELECT 1`, [], async (reader) => {
        // Its now() is its start; the closing time comes after it, and the job (a transaction begun later still) tells it.
        await t.sql(`UPDATE polls SET closes_at = clock_timestamp() WHERE id = $1`, [poll.id]);
        expect(await t.get(PollsService).tellClosings()).toBeGreaterThanOrEqual(1);
        const told = (await repo.forPush(poll.id))!;
        expect(told.closed).toBe(true);
        // Read in the older transaction: not open at the news the closed pushes carry.
        const seen = (await repo.byId(poll.id, reader))!;
        expect({ closed: seen.closed, news: seen.news, version: seen.version }).toEqual({ closed: true, news: told.news, version: told.version });
        // A vote's read there finds it closed (the vote is refused), and a reopening there drops the told closing time.
        expect((await repo.lockForVote(reader, poll.id))!.closed).toBe(true);
        await repo.setClosed(reader, poll.id, false);
      });
      expect(await t.sql(`SELECT closes_at FROM polls WHERE id = $1`, [poll.id])).toEqual([{ closes_at: null }]);
      expect((await repo.byId(poll.id))!.closed).toBe(false);
    });
  });

  describe('live', () => {
    let url: string;
    const sockets: Socket[] = [];
    beforeAll(() => {
      url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    });
    afterAll(() => sockets.forEach((s) => s.disconnect()));

    const connect = (token?: string) => connectLive(url, sockets, token);
    const join = async (s: Socket, topicId: string) => expect(await s.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    /** Every poll:updated a socket hears from now on. */
    const heard = (s: Socket) => {
      const events: any[] = [];
      s.on('poll:updated', (e: any) => events.push(e));
      return events;
    };
    const settle = () => new Promise((r) => setTimeout(r, 500));

    it('pushes the counts of an ALWAYS poll to the topic’s room', async () => {
      const { topic, postId, poll, options } = await pollIn();
      const reader = await connect();
      await join(reader, topic.id);
      const got = heardLive(reader, 'poll:updated');
      expectOk(await vote(member, poll.id, [options[2]]));
      expect(await got.first((e) => e.pollId === poll.id && e.voterCount === 1)).toEqual({
        topicId: topic.id, postId, pollId: poll.id, closed: false, closesAt: null, voterCount: 1,
        options: options.map((id: string, i: number) => ({ id, voteCount: i === 2 ? 1 : 0 })),
        version: 2,
      });
    });

    it('pushes hidden counts only to those who may see them: the author, the space’s moderators, and voters of an ON_VOTE poll', async () => {
      const onVote = await pollIn({ results: 'ON_VOTE' });
      const [voter, bystander] = [await makeUser(t), await makeUser(t)];
      const [authorSocket, voterSocket, bystanderSocket, anonymous] = [await connect(author.token), await connect(voter.token), await connect(bystander.token), await connect()];
      for (const s of [authorSocket, voterSocket, bystanderSocket, anonymous]) await join(s, onVote.topic.id);
      const [toAuthor, toVoter, toBystander, toAnonymous] = [authorSocket, voterSocket, bystanderSocket, anonymous].map(heard);
      expectOk(await vote(voter, onVote.poll.id, [onVote.options[0]]));
      expectOk(await vote(member, onVote.poll.id, [onVote.options[1]]));
      await t.get(LiveGateway).settled();
      await settle();
      // The author, and the voter (with counts from their own vote on), hear the counts. The two
      // votes' pushes run apart, so the second's may be read and sent first: none older is sent
      // after it (live-order e2e), so what each hears ends with both votes, never going back.
      for (const counts of [toAuthor, toVoter]) {
        expect(counts.at(-1)).toMatchObject({ voterCount: 2 });
        const versions = counts.map((e) => e.version as number);
        expect(versions).toEqual([...versions].sort((a, b) => a - b));
      }
      // Others hear nothing of votes: how many pushes came would count them.
      expect(toBystander).toEqual([]);
      expect(toAnonymous).toEqual([]);
      // Closing is news for everyone; ON_VOTE shows the counts once closed.
      expectOk(await t.gql(CLOSE, { id: onVote.poll.id }, { token: author.token }));
      await settle();
      expect(toBystander).toEqual([expect.objectContaining({ pollId: onVote.poll.id, closed: true, voterCount: 2 })]);
      expect(toAnonymous).toHaveLength(1);

      // ON_CLOSE while open: the author and the space's moderators; not the voter, nor a
      // moderator silenced there (who reads as a member), nor a moderator of another space.
      const onClose = await pollIn({ results: 'ON_CLOSE' });
      const [silencedModerator, elsewhereModerator] = [await makeUser(t), await makeUser(t)];
      await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [spaceId, silencedModerator.id]);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at, space_id) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day', $2)`, [silencedModerator.id, spaceId]);
      await makeSpace(t, 'PUBLIC', [{ userId: elsewhereModerator.id, level: 'MODERATE' }]);
      const [moderatorSocket, silencedSocket, elsewhereSocket] = [await connect(moderator.token), await connect(silencedModerator.token), await connect(elsewhereModerator.token)];
      const [toModerator, toSilenced, toElsewhere] = [heard(moderatorSocket), heard(silencedSocket), heard(elsewhereSocket)];
      for (const s of [authorSocket, voterSocket, bystanderSocket, moderatorSocket, silencedSocket, elsewhereSocket]) await join(s, onClose.topic.id);
      const [authorBefore, voterBefore, bystanderBefore] = [toAuthor.length, toVoter.length, toBystander.length];
      expectOk(await vote(voter, onClose.poll.id, [onClose.options[0]]));
      await settle();
      expect(toAuthor.slice(authorBefore).map((e) => [e.pollId, e.voterCount])).toEqual([[onClose.poll.id, 1]]);
      expect(toModerator.map((e) => [e.pollId, e.voterCount])).toEqual([[onClose.poll.id, 1]]);
      expect(toVoter.slice(voterBefore)).toEqual([]);
      expect(toBystander.slice(bystanderBefore)).toEqual([]);
      expect(toSilenced).toEqual([]);
      expect(toElsewhere).toEqual([]);
    });

    it('pushes hidden counts to moderators by a group’s grant or a site-wide role, not to one silenced site-wide nor to a group of participants', async () => {
      const [mods, helpers] = [await makeGroup(t), await makeGroup(t)];
      const space = await makeSpace(t, 'PUBLIC', [{ groupId: mods, level: 'MODERATE' }, { groupId: helpers, level: 'PARTICIPATE' }]);
      const { topic, poll, options } = await pollIn({ results: 'MODERATORS' }, await makeBoard(t, space.id));
      const [groupModerator, globalModerator, admin, silencedGlobal, helper] = [
        await makeUser(t, { groups: [mods] }), await makeUser(t, { role: 'MODERATOR' }), await makeUser(t, { role: 'ADMIN' }), await makeUser(t, { role: 'MODERATOR' }), await makeUser(t, { groups: [helpers] }),
      ];
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silencedGlobal.id]);
      const who = [groupModerator, globalModerator, admin, silencedGlobal, helper];
      const sockets = await Promise.all(who.map((u) => connect(u.token)));
      for (const s of sockets) await join(s, topic.id);
      const events = sockets.map(heard);
      expectOk(await vote(helper, poll.id, [options[1]]));
      await settle();
      expect(events.map((e) => e.map((x) => x.voterCount))).toEqual([[1], [1], [1], [], []]);
    });

    it('sends a poll’s news to no socket that left the room while who sees its counts was read', async () => {
      const gateway = t.get(LiveGateway);
      const { topic, postId, poll } = await pollIn({ results: 'MODERATORS' });
      const [leavingModerator, leavingReader, reader] = [await makeUser(t, { role: 'MODERATOR' }), await makeUser(t), await makeUser(t)];
      const [goneModerator, goneReader, staysModerator, staysReader] = await Promise.all([leavingModerator, leavingReader, moderator, reader].map((u) => connect(u.token)));
      for (const s of [goneModerator, goneReader, staysModerator, staysReader]) await join(s, topic.id);
      await gateway.settled();
      const gone = [goneModerator, goneReader].map(heard);
      // The push's read of who sees the counts (the room's users, the leavers among them) waits at a gate.
      const gate = gateCalls(t.get(PollsService), 'whoSeesResults', (_poll, ids: string[]) => ids.includes(leavingModerator.id));
      try {
        const [counted, bare] = [heardLive(staysModerator, 'poll:updated'), heardLive(staysReader, 'poll:updated')];
        t.get(EventBus).publish({ type: 'poll.updated', aggregateType: 'poll', aggregateId: poll.id, payload: { pollId: poll.id, postId, topicId: topic.id, spaceId } });
        await gate.begun;
        // Out of the room after it was read, before the news goes out.
        for (const s of [goneModerator, goneReader]) expect(await s.timeout(5000).emitWithAck('topic:leave', { topicId: topic.id })).toEqual({ ok: true });
        gate.open();
        await gateway.settled();
        expect(await counted.first((e) => e.pollId === poll.id)).toMatchObject({ pollId: poll.id, voterCount: 0 });
        // Nor the poll's own version, which every vote raises (two of them would count the votes
        // between): its news version, none before its first edit, closing or reopening.
        const news = await bare.first((e) => e.pollId === poll.id);
        expect(news).not.toHaveProperty('voterCount');
        expect(news.version).toBe(0);
        // One more answer on each connection: news sent before it would have arrived first.
        for (const s of [goneModerator, goneReader]) expect(await s.timeout(5000).emitWithAck('topic:leave', { topicId: topic.id })).toEqual({ ok: true });
        expect(gone).toEqual([[], []]);
      } finally {
        gate.restore();
      }
    });

    it('reads the access of none but possible moderators to judge who sees hidden counts: one statement for a room of readers, voters and the author', async () => {
      const { poll, options } = await pollIn({ results: 'ON_VOTE' });
      const [voter, ...bystanders] = await Promise.all(Array.from({ length: 8 }, () => makeUser(t)));
      // Written directly: a vote through the API would push, and its push's statements could land among those counted here.
      await t.sql(`INSERT INTO poll_votes (poll_id, option_id, user_id) VALUES ($1, $2, $3)`, [poll.id, options[0], voter.id]);
      const polls = t.get(PollsService);
      const row = (await polls.forPush(poll.id))!;
      const room = [author.id, voter.id, ...bystanders.map((b) => b.id)];
      let sees!: Set<string>;
      let cost = await t.countStatements(async () => (sees = await polls.whoSeesResults(row, room)));
      expect([...sees].sort()).toEqual([author.id, voter.id].sort());
      expect(cost.count).toBe(1);
      expect(cost.statements.join('\n')).not.toMatch(/space_access/);
      // A moderator of the space in the room: their access alone is read, in one more statement.
      cost = await t.countStatements(async () => (sees = await polls.whoSeesResults(row, [...room, moderator.id])));
      expect([...sees].sort()).toEqual([author.id, voter.id, moderator.id].sort());
      expect(cost.count).toBe(2);
    });

    it('pushes nothing about a poll in a hidden post', async () => {
      const { topic, postId, poll, options } = await pollIn();
      const reader = await connect((await makeUser(t)).token);
      await join(reader, topic.id);
      const events = heard(reader);
      expectOk(await vote(member, poll.id, [options[0]]));
      await settle();
      expect(events).toHaveLength(1);
      await setPostState(t, postId, 'HIDDEN');
      // A vote committed just before the hide, whose event arrives after it, stays out of the room.
      t.get(EventBus).publish({ type: 'poll.voted', aggregateType: 'poll', aggregateId: poll.id, payload: { pollId: poll.id, postId, topicId: topic.id, spaceId } });
      await settle();
      expect(events).toHaveLength(1);
    });

    it('pushes a poll’s news to the topic its post is in now: a vote whose event arrives after movePosts took the post to a restricted space reaches its old room not at all', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'a reply whose poll moves away');
      const poll = expectOk(await create(author, r.id)).createPoll;
      const restricted = await makeSpace(t, 'RESTRICTED', [{ userId: moderator.id, level: 'MODERATE' }]);
      const split = expectOk(
        await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [r.id], newTopic: { boardId: await makeBoard(t, restricted.id), title: 'Moved where few read', tags: [] } } }, { token: moderator.token }),
      ).movePosts;
      await t.get(LiveGateway).settled();
      const [outsider, insider] = [await connect((await makeUser(t)).token), await connect(moderator.token)];
      await join(outsider, topic.id);
      await join(insider, split.id);
      const [toOutsider, toInsider] = [heard(outsider), heard(insider)];
      // A vote committed just before the move, whose event (naming the topic it was in) arrives after it.
      t.get(EventBus).publish({ type: 'poll.voted', aggregateType: 'poll', aggregateId: poll.id, payload: { pollId: poll.id, postId: r.id, topicId: topic.id, spaceId } });
      await settle();
      expect(toOutsider).toEqual([]);
      expect(toInsider).toEqual([expect.objectContaining({ topicId: split.id, postId: r.id, pollId: poll.id, voterCount: 0 })]);
      // Its deletion likewise (the row removed here: deletePoll's own event would name the new topic).
      await t.sql(`DELETE FROM polls WHERE id = $1`, [poll.id]);
      t.get(EventBus).publish({ type: 'poll.deleted', aggregateType: 'poll', aggregateId: poll.id, payload: { pollId: poll.id, postId: r.id, topicId: topic.id, spaceId } });
      await settle();
      expect(toOutsider).toEqual([]);
      expect(toInsider.slice(1)).toEqual([{ topicId: split.id, postId: r.id, pollId: poll.id, removed: true }]);
    });
  });
});

describe('polls under the posting limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ POSTING_LIMITS: 'true' });
  });
  afterAll(() => t.close());

  it('paces votes: a burst of 60, then RATE_LIMITED with the wait, writing nothing', async () => {
    const author = await makeUser(t);
    const u = await makeUser(t);
    const topic = await createTopic(t, author.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id));
    const poll = expectOk(
      await t.gql(CREATE, { input: { postId: topic.firstPostId, question: 'Pace?', options: ['Yes', 'No'], kind: 'SINGLE', results: 'ALWAYS', publicVoters: false } }, { token: author.token }),
    ).createPoll;
    const [yes, no] = poll.options.map((o: any) => o.id);
    // The budget refills meanwhile, so the refusal comes after 60 votes or a few more, never fewer.
    let cast = 0;
    let refused: GqlResult | undefined;
    while (!refused && cast < 200) {
      const res = await t.gql(VOTE, { input: { pollId: poll.id, optionIds: [cast % 2 === 0 ? yes : no] } }, { token: u.token });
      if (res.errors) refused = res;
      else cast++;
    }
    expect(cast).toBeGreaterThanOrEqual(60);
    expect(expectError(refused!, 'RATE_LIMITED').extensions.retryAfterSeconds).toBeGreaterThan(0);
    const expected = cast % 2 === 1 ? yes : no;
    expect(await t.sql(`SELECT option_id FROM poll_votes WHERE user_id = $1`, [u.id])).toEqual([{ option_id: expected }]);
    // Someone else's pace is their own.
    expectOk(await t.gql(VOTE, { input: { pollId: poll.id, optionIds: [yes] } }, { token: author.token }));
  });
});
