import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { AccessLevel, LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid, newId } from '../../../core/src/ids';
import { UserModel } from '../../../identity/src/users/user.model';
import { SessionsService } from '../../../identity/src/sessions/sessions.service';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { ContentState } from '../forum.enums';
import { EDITS_PACE, PaceCount, Pacing, POLL_VOTES_PACE } from '../pacing';
import { PostModel } from '../posts/post.model';
import { PlainTexts, PostingPolicy } from '../posting-policy';
import { assertEditable, topicRefuses } from '../posts/posts.service';
import { CreatePollInput, PollShapeInput, UpdatePollInput, VotePollInput } from './dto/poll.inputs';
import { PollKind, PollModel, PollOptionModel, PollResults, PollRow, resultsVisible, toPollModel } from './poll.model';
import { NewPoll, PollChange, PollEvent, PollPlaceRow, PollPushRow, PollsRepository } from './polls.repository';
import { checkTimeAhead } from '../../../core/src/time-ahead';

/** The furthest ahead a poll may close by itself. */
const MAX_OPEN_DAYS = 365;
/** How often the job tells polls whose closing time passed (`tellClosings`): their rooms hear of it within this. */
export const POLL_CLOSINGS_CHECK_MS = 15_000;
/** Polls told closed per transaction, and per run of the job. */
const CLOSINGS_PER_BATCH = 100;
const CLOSINGS_PER_RUN = 1000;
/** Most voters one PollOption.voters lists. */
export const MAX_VOTERS_LISTED = 100;

const POLLS = 'loader:polls';
const CHOICES = 'loader:pollChoices';

/** What `reachable` reads of a poll's post and topic: a vote's row and a management's place both carry it. */
type PlaceState = Pick<PollPlaceRow, 'space_id' | 'author_id' | 'post_state' | 'post_deleted_from' | 'topic_state' | 'topic_author_id' | 'topic_locked' | 'topic_closed'>;

/** The same option text, as polls compare them: trimmed, composed and case-folded. */
const folded = (text: string) => text.trim().normalize('NFC').toLocaleLowerCase('und');

/**
 * Polls in posts (Discourse's poll). A post's author, or a moderator of its space, adds one poll
 * to it while they may edit the post, and closes or reopens it. Members who may participate in
 * the space vote on open polls of posts they read in full, each vote replacing their choice.
 * Counts follow the poll's `results` rule for each viewer (`resultsVisible`), in fields and live
 * pushes alike; search never indexes polls. Votes stay with the poll when their voter's account
 * is deleted (as idea votes and reactions do): the voter shows as the anonymised account.
 */
@Injectable()
export class PollsService {
  constructor(
    private readonly repo: PollsRepository,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly pacing: Pacing,
    private readonly users: UsersLoader,
    private readonly audit: AuditLog,
    private readonly sessions: SessionsService,
    private readonly policy: PostingPolicy,
  ) {}

  /**
   * Post.poll: the post's poll as the viewer sees it, null without one or for a placeholder. One
   * statement a page (two signed in), none when no post on it has a poll (`posts.has_poll`).
   */
  async ofPost(viewer: Viewer, post: PostModel): Promise<PollModel | null> {
    if (post.view !== 'full' || post.hasPoll === false) return null;
    return this.load(viewer, post);
  }

  /** The poll of a post the viewer reads in full, as they see it. */
  private async load(viewer: Viewer, post: Pick<PostModel, 'id' | 'authorId' | 'viewerRank'>): Promise<PollModel | null> {
    const row = await this.pollsLoader(viewer).load(post.id);
    if (!row) return null;
    const myChoice = viewer.id ? await this.choicesLoader(viewer, viewer.id).load(row.id) : [];
    const authorOrModerator = post.authorId === viewer.id || post.viewerRank >= LEVEL_RANK.MODERATE;
    return toPollModel(row, myChoice, resultsVisible(row, { authorOrModerator, voted: myChoice.length > 0 }));
  }

  /** PollOption.voters: null unless the poll lists its voters and the viewer sees its results. */
  async voters(viewer: Viewer, option: PollOptionModel, first: number): Promise<UserModel[] | null> {
    if (!option.votersListed) return null;
    const limit = Math.max(0, Math.min(first, MAX_VOTERS_LISTED));
    if (limit === 0) return [];
    const loader = viewer.memoize(`loader:pollVoters:${limit}`, () => new DataLoader<string, string[]>(async (ids) => {
      const byOption = await this.repo.votersOf(ids, limit);
      return ids.map((id) => byOption.get(id) ?? []);
    }));
    const users = await Promise.all((await loader.load(option.id)).map((id) => this.users.load(viewer, id)));
    return users.filter((u): u is UserModel => !!u);
  }

  /**
   * Adds a poll to a post (one per post: CONFLICT for a second). Every refusal writes nothing.
   * Judged first on the post as it stands (so its texts are screened only for someone who may
   * add it, and against its space's words), then again, with the viewer's access as it stands
   * then, under the post's lock in the transaction that adds it (`judgeUnderLock`).
   */
  async create(viewer: Viewer, input: CreatePollInput): Promise<PollModel> {
    this.member(viewer);
    const { place: seen, rank: seenRank } = await this.judge(viewer, isUuid(input.postId) ? await this.repo.placeOfPost(input.postId) : undefined, 'postId');
    const pace = await this.guardEdit(viewer, seenRank);
    const { shape, stored } = await this.screenedShape(viewer, seen, input);
    const pollId = newId();
    const { place, rank } = await this.uow.run(async (tx) => {
      // The post marked as carrying a poll, under a lock its deletion, and a vote, wait for.
      const { place, rank } = await this.judgeUnderLock(tx, viewer, await this.repo.markPost(tx, seen.post_id, true), 'postId', seen);
      await pace.count(tx, rank >= LEVEL_RANK.MODERATE);
      if (!(await this.repo.insert(tx, { ...shape, id: pollId, postId: place.post_id }))) throw AppError.conflict('This post has a poll already');
      // News at its first value (`news` 0): `PollEvent`.
      await tx.emit(this.event({ event: PollEvent.NEWS, version: 1 }, pollId, place));
      await stored(tx);
      await this.logModeration(tx, viewer, place, 'poll.create', null, { pollId, question: shape.question, options: shape.options.map((o) => o.text) });
      return { place, rank };
    });
    return this.reread(viewer, place, rank);
  }

  /**
   * Replaces a poll's question, options and settings, as createPoll would set them, while nobody
   * has voted (Discourse's rule: once someone has, the options are frozen, CONFLICT). Judged as
   * createPoll judges, on the poll as it stands, then under its locks (`lockToManage`).
   */
  async update(viewer: Viewer, input: UpdatePollInput): Promise<PollModel> {
    this.member(viewer);
    const { place: seen, rank: seenRank } = await this.judge(viewer, isUuid(input.pollId) ? await this.repo.managedPoll(input.pollId) : undefined, 'pollId');
    const pace = await this.guardEdit(viewer, seenRank);
    const { shape, stored } = await this.screenedShape(viewer, seen, input);
    const { place: poll, rank } = await this.uow.run(async (tx) => {
      const { place: poll, rank } = await this.judgeUnderLock(tx, viewer, await this.repo.lockToManage(tx, seen.id, 'SHARE'), 'pollId', seen);
      if (poll.voter_count > 0) throw AppError.conflict('Members have voted in this poll: its options are frozen (close it, or delete it and create another)');
      await pace.count(tx, rank >= LEVEL_RANK.MODERATE);
      // The options it had, read under the lock (the first statement's are as it began), for the moderation log alone.
      const was = this.logged(viewer, poll) ? await this.repo.byId(poll.id, tx) : undefined;
      await tx.emit(this.event(await this.repo.replace(tx, { ...shape, id: poll.id }), poll.id, poll));
      await stored(tx);
      if (was) {
        const texts = (question: string, options: Array<{ text: string }>) => ({ pollId: poll.id, question, options: options.map((o) => o.text) });
        await this.logModeration(tx, viewer, poll, 'poll.update', texts(was.question, was.options), texts(shape.question, shape.options));
      }
      return { place: poll, rank };
    });
    return this.reread(viewer, poll, rank);
  }

  /**
   * The edit pace of a poll's creation or update, looked at before its texts are screened (as
   * an edit's before its render): a member past it is refused without the watched words' work,
   * and nothing is spent. Counted in the storing transaction, for the rank found there under
   * the locks (moderators are not paced).
   */
  private guardEdit(viewer: Viewer, seenRank: number): Promise<PaceCount> {
    return this.pacing.guard(viewer, EDITS_PACE, { exempt: seenRank >= LEVEL_RANK.MODERATE });
  }

  /** Closes (or reopens) a poll: its post's author or the space's moderators, decided under its locks (`lockToManage`). */
  async setClosed(viewer: Viewer, pollId: string, closed: boolean): Promise<PollModel> {
    this.member(viewer);
    if (!isUuid(pollId)) throw AppError.notFound('Poll not found');
    // Nothing costly comes before the count: who manages the poll is known under its locks.
    const pace = await this.pacing.guard(viewer, EDITS_PACE, { lookFirst: false });
    const { place: poll, rank } = await this.uow.run(async (tx) => {
      const judged = await this.judgeUnderLock(tx, viewer, await this.repo.lockToManage(tx, pollId, 'SHARE'), 'pollId');
      const { place: poll } = judged;
      await pace.count(tx, judged.rank >= LEVEL_RANK.MODERATE);
      if (poll.closed === closed) return judged; // as asked already: nothing is written
      await tx.emit(this.event(await this.repo.setClosed(tx, pollId, closed), pollId, poll));
      await this.logModeration(tx, viewer, poll, closed ? 'poll.close' : 'poll.reopen', { pollId, closed: poll.closed }, { pollId, closed });
      return judged;
    });
    return this.reread(viewer, poll, rank);
  }

  /**
   * Removes a poll and its votes: its post's author or the space's moderators, decided under its
   * locks (`lockToManage`, the post's taken for writing: its mark goes with the poll). A poll
   * gone meanwhile, deleted by a request this one waited for, is NOT_FOUND, as it is afterwards.
   */
  async delete(viewer: Viewer, pollId: string): Promise<boolean> {
    this.member(viewer);
    if (!isUuid(pollId)) throw AppError.notFound('Poll not found');
    const pace = await this.pacing.guard(viewer, EDITS_PACE, { lookFirst: false });
    const poll = await this.uow.run(async (tx) => {
      const { place: poll, rank } = await this.judgeUnderLock(tx, viewer, await this.repo.lockToManage(tx, pollId, 'NO KEY UPDATE'), 'pollId');
      await pace.count(tx, rank >= LEVEL_RANK.MODERATE);
      const was = this.logged(viewer, poll) ? await this.repo.byId(pollId, tx) : undefined;
      await this.repo.remove(tx, pollId);
      // The post's one poll is gone, and none can be added while its lock is held here.
      await this.repo.markPost(tx, poll.post_id, false);
      await tx.emit(this.event({ event: PollEvent.DELETED, version: 1 }, pollId, poll));
      if (was) await this.logModeration(tx, viewer, poll, 'poll.delete', { pollId, question: was.question, options: was.options.map((o) => o.text), voterCount: was.voter_count }, null);
      return poll;
    });
    this.forget(viewer, poll.post_id);
    return true;
  }

  /**
   * Replaces the viewer's choice in an open poll (`optionIds` empty: withdraws it, as unvotePoll).
   * One read of the poll, under its lock in the vote's transaction (`lockForVote`), and one of
   * the voter's access once that lock is held, on the same connection (`viewerForUser`, as
   * `judgeUnderLock` reads a manager's), decide everything (whether the voter reads it, may vote
   * there, and the choice), then the write: nothing is read twice, and nothing decided before
   * the lock can have changed since (a voter silenced, or whose grant was revoked, while the
   * vote waited is judged as they are now; one suspended or banned meanwhile is signed out).
   */
  async vote(viewer: Viewer, input: VotePollInput, withdraw = false): Promise<PollModel> {
    const userId = this.member(viewer);
    if (!isUuid(input.pollId)) throw AppError.notFound('Poll not found');
    const pace = await this.pacing.guard(viewer, POLL_VOTES_PACE, { lookFirst: false });
    const { poll, rank } = await this.uow.run(async (tx) => {
      const row = await this.repo.lockForVote(tx, input.pollId);
      if (!row) throw AppError.notFound('Poll not found');
      // The voter as they stand now the locks are held, not as the request's session found them.
      const voter = await this.sessions.viewerForUser(userId, {}, tx);
      if (!voter) throw AppError.unauthenticated();
      const rank = await this.reachable(voter, row, 'Poll not found', 'vote');
      if (row.post_state !== ContentState.VISIBLE || row.topic_state !== ContentState.VISIBLE) throw AppError.badField('pollId', 'this poll’s post takes no votes now');
      if (row.closed) throw AppError.badField('pollId', 'this poll is closed');
      const chosen = withdraw ? [] : this.checkChoice(row, input.optionIds);
      // Paced once the vote is known to be good, in this transaction (on its connection: a second
      // one, taken while the poll is locked, could wait on a pool that voters queued on the same
      // lock have used up), so a vote refused after it, or a run undone by a deadlock, counts nothing.
      await pace.count(tx);
      const before = await this.repo.choiceOf(tx, row.id, userId);
      const removed = before.filter((id) => !chosen.includes(id));
      const added = chosen.filter((id) => !before.includes(id));
      if (removed.length === 0 && added.length === 0) return { poll: row, rank }; // the same choice: nothing is written
      const voterDelta = before.length === 0 ? 1 : chosen.length === 0 ? -1 : 0;
      const change = await this.repo.changeChoice(tx, row.id, userId, removed, added, voterDelta);
      // updatePoll replaced the options while this vote waited for the lock.
      if (change === null) throw AppError.badField('optionIds', 'must be options of this poll');
      await tx.emit(this.event(change, row.id, row));
      return { poll: row, rank };
    });
    // The answer as Post.poll reads it now, the vote committed (its counts with everyone's
    // votes), for the voter's rank as the vote judged it, as the management's answers are.
    return this.reread(viewer, poll, rank);
  }

  /**
   * The job (every POLL_CLOSINGS_CHECK_MS, on whichever process runs the jobs): tells every poll
   * whose closing time passed (`PollsRepository.tellClosings`: its news raised once, under its
   * row lock), in transactions of CLOSINGS_PER_BATCH, each emitting NEWS for its polls, so their
   * rooms hear them closed, with a version above every push of them open. At most
   * CLOSINGS_PER_RUN a run; the rest wait for the next. How many it told.
   */
  async tellClosings(): Promise<number> {
    let told = 0;
    while (told < CLOSINGS_PER_RUN) {
      const n = await this.uow.run(async (tx) => {
        const polls = await this.repo.tellClosings(tx, CLOSINGS_PER_BATCH);
        for (const p of polls) await tx.emit(this.event({ event: PollEvent.NEWS, version: p.version }, p.id, p));
        return polls.length;
      });
      told += n;
      if (n < CLOSINGS_PER_BATCH) break;
    }
    return told;
  }

  /** For a live push: the poll with its counts, its post's and topic's states, and its versions. */
  forPush(pollId: string): Promise<PollPushRow | undefined> {
    return this.repo.forPush(pollId);
  }

  /**
   * For a live push: which of these users (the readers in the poll's topic room) see its counts
   * now, by `resultsVisible` as Post.poll decides it, each as their access stands (a moderator
   * silenced is no moderator here either). At most two statements whatever their number, and
   * no one's access loaded but those whose role or grants could make them the space's
   * moderators: one statement picks the post's author and, for ON_VOTE, the voters, who see the
   * counts whatever their rank, and those possible moderators (`resultsCandidates`); only the
   * latter's access is then read (`viewersForUsers`) and judged. Everyone else sees no counts.
   */
  async whoSeesResults(poll: PollPushRow, userIds: readonly string[]): Promise<Set<string>> {
    if (PollsService.resultsPublic(poll)) return new Set(userIds);
    const sees = new Set<string>();
    if (userIds.length === 0) return sees;
    const candidates = await this.repo.resultsCandidates(poll, userIds, poll.results === PollResults.ON_VOTE);
    for (const c of candidates) if (c.sure) sees.add(c.id);
    const judged = candidates.filter((c) => !c.sure).map((c) => c.id);
    for (const [id, viewer] of await this.sessions.viewersForUsers(judged)) {
      const authorOrModerator = (await this.access.rankOn(viewer, poll.space_id)) >= LEVEL_RANK.MODERATE;
      if (resultsVisible(poll, { authorOrModerator, voted: false })) sees.add(id);
    }
    return sees;
  }

  /**
   * Whether everyone who may read the poll sees its counts now, whatever they did: its results
   * are ALWAYS shown, or shown on voting or closing and it is closed.
   */
  static resultsPublic(poll: Pick<PollRow, 'results' | 'closed'>): boolean {
    return resultsVisible(poll, { authorOrModerator: false, voted: false });
  }

  /**
   * What voting on a poll and managing one both ask of its place, by the viewer's rank on its
   * space: they read its post and topic in full, as Post.poll shows it (NOT_FOUND `missing`
   * otherwise: a post seen only as a placeholder has no poll for them), they participate there
   * (not silenced), and its topic takes what they do unless they moderate (`topicRefuses`,
   * FORBIDDEN): a locked topic neither votes nor management, a closed one no votes (Discourse's
   * "topic must be open to vote") but still its polls' management, as it still takes edits of
   * its posts (Discourse leaves closing and reopening a poll, and editing the post that holds
   * it, open in a closed topic). Both read `locked` and `closed` under the topic's lock
   * (`TOPIC_LOCK`), which waits for a status change under way (`TopicsService.writeStatus`),
   * so a vote racing the topic's closing is either counted before it or refused. Their rank.
   */
  private async reachable(viewer: Viewer, place: PlaceState, missing: string, what: 'vote' | 'edit'): Promise<number> {
    const rank = await this.access.rankOn(viewer, place.space_id);
    const reads = (state: ContentState, authorId: string, deletedFrom: ContentState | null) => this.access.contentView(viewer, rank, { state, authorId, deletedFrom }) === 'full';
    if (!reads(place.topic_state, place.topic_author_id, null) || !reads(place.post_state, place.author_id, place.post_deleted_from)) throw AppError.notFound(missing);
    await this.access.require(viewer, place.space_id, AccessLevel.PARTICIPATE);
    const refusal = topicRefuses({ locked: place.topic_locked, closed: place.topic_closed }, rank, what);
    if (refusal) throw AppError.forbidden(refusal);
    return rank;
  }

  /**
   * Whether the viewer may manage a poll in this place (add one, change, close, reopen or delete
   * it), by their rank on its space: they reach it as a voter does (`reachable`: read in full,
   * NOT_FOUND otherwise; participating, not silenced, an unlocked topic unless they moderate, as
   * editPost's `writableTopic` has it), may edit the post (`assertEditable`: not deleted,
   * not an article's opening post), and they are its author or a moderator: a wiki's other
   * editors change its text, not its author's poll and the votes in it. The place, and the rank.
   */
  private async judge<P extends PollPlaceRow>(viewer: Viewer, place: P | undefined, field: 'postId' | 'pollId'): Promise<{ place: P; rank: number }> {
    const missing = field === 'postId' ? 'Post not found' : 'Poll not found';
    if (!place) throw AppError.notFound(missing);
    const rank = await this.reachable(viewer, place, missing, 'edit');
    assertEditable(viewer, rank, { authorId: place.author_id, wiki: place.post_wiki, state: place.post_state, view: 'full', number: place.post_number }, { kind: place.topic_kind });
    if (rank < LEVEL_RANK.MODERATE && place.author_id !== viewer.id) throw AppError.forbidden('Only its author and moderators manage a post’s poll');
    return { place, rank };
  }

  /**
   * `judge` in the mutation's transaction, on the place its first statement read under the
   * post's lock, with the viewer's access as it stands now, read on the transaction's connection
   * once that lock is held (`viewerNow`): a moderator demoted, or a member silenced, while
   * the mutation waited is judged as they are now, not as the request's session found them; an
   * account deleted or barred meanwhile is signed out. `screened`: the place whose space's
   * watched words screened the texts, which a post moved to another space since is not
   * (CONFLICT: another try screens them there).
   */
  private async judgeUnderLock<P extends PollPlaceRow>(tx: Tx, viewer: Viewer, locked: P | undefined, field: 'postId' | 'pollId', screened?: PollPlaceRow): Promise<{ place: P; rank: number }> {
    const judged = await this.judge(await this.sessions.viewerNow(viewer, tx), locked, field);
    if (screened && screened.space_id !== judged.place.space_id) throw AppError.conflict('The post moved to another space meanwhile: try again');
    return judged;
  }

  /**
   * A poll's texts screened as a post's are (`PostingPolicy.screenPlain`, the site's and the
   * space's watched words: BLOCK and REQUIRE_APPROVAL refuse, naming `question` or `options`;
   * CENSOR masks, as stored and shown, as a title is masked), then its shape checked on them as
   * they will be stored (two options censored alike are the same option). `stored` records the
   * screening's flags and censoring in the storing transaction.
   */
  private async screenedShape(viewer: Viewer, place: PollPlaceRow, input: PollShapeInput): Promise<{ shape: Omit<NewPoll, 'id' | 'postId'>; stored: (tx: Tx) => Promise<void> }> {
    const texts: PlainTexts = { viewer, spaceId: place.space_id, what: 'poll', texts: [{ field: 'question', text: input.question }, ...input.options.map((text) => ({ field: 'options', text }))] };
    const verdict = await this.policy.screenPlain(texts);
    const [question, ...options] = verdict.texts;
    return { shape: this.shapeOf({ ...input, question, options }), stored: (tx) => this.policy.plainStored(tx, texts, verdict, place.post_id) };
  }

  /** A poll's shape, checked by the rules beyond each field's own: distinct options, coherent choices, a closing time ahead. */
  private shapeOf(input: PollShapeInput): Omit<NewPoll, 'id' | 'postId'> {
    const seen = new Set<string>();
    for (const text of input.options) {
      const key = folded(text);
      if (seen.has(key)) throw AppError.badField('options', `“${text}” is given twice (options differ by more than case and spaces)`);
      seen.add(key);
    }
    let minChoices = 1;
    let maxChoices = 1;
    if (input.kind === PollKind.SINGLE) {
      if ((input.minChoices ?? 1) !== 1 || (input.maxChoices ?? 1) !== 1) throw AppError.badField('maxChoices', 'a SINGLE poll takes exactly one choice: leave minChoices and maxChoices out');
    } else {
      minChoices = input.minChoices ?? 1;
      maxChoices = input.maxChoices ?? input.options.length;
      if (maxChoices > input.options.length) throw AppError.badField('maxChoices', `must be at most the number of options (${input.options.length})`);
      if (minChoices > maxChoices) throw AppError.badField('minChoices', 'must be at most maxChoices');
    }
    if (input.closesAt) {
      checkTimeAhead(input.closesAt, 'closesAt', MAX_OPEN_DAYS);
    }
    return {
      question: input.question, kind: input.kind, minChoices, maxChoices, results: input.results, publicVoters: input.publicVoters,
      closesAt: input.closesAt ?? null, options: input.options.map((text) => ({ id: newId(), text })),
    };
  }

  /** The options a vote picks, checked against the poll: its own, each once, as many as its kind asks. */
  private checkChoice(poll: PollRow, optionIds: readonly string[]): string[] {
    const chosen = [...new Set(optionIds)];
    if (chosen.length !== optionIds.length) throw AppError.badField('optionIds', 'names an option twice');
    const own = new Set(poll.options.map((o) => o.id));
    if (!chosen.every((id) => own.has(id))) throw AppError.badField('optionIds', 'must be options of this poll');
    if (poll.kind === PollKind.SINGLE && chosen.length !== 1) throw AppError.badField('optionIds', 'this poll takes exactly one option');
    if (chosen.length < poll.min_choices || chosen.length > poll.max_choices) {
      throw AppError.badField('optionIds', poll.min_choices === poll.max_choices ? `pick exactly ${poll.min_choices} options` : `pick between ${poll.min_choices} and ${poll.max_choices} options`);
    }
    return chosen;
  }

  /** Whether the moderation log keeps the viewer's managing of a poll in this place: a moderator's, of someone else's post (only they may). */
  private logged(viewer: Viewer, place: PollPlaceRow): boolean {
    return place.author_id !== viewer.id;
  }

  /** The moderation log's entry for a moderator managing the poll of someone else's post (as it keeps their edits of it). */
  private async logModeration(tx: Tx, viewer: Viewer, place: PollPlaceRow, action: string, before: unknown, after: unknown): Promise<void> {
    if (!this.logged(viewer, place)) return;
    await this.audit.append(tx, { actorId: viewer.id, action, targetType: 'post', targetId: place.post_id, spaceId: place.space_id, before, after });
  }

  /** The event of a change (`PollChange`: the repository's write decides which it is). */
  private event(change: PollChange, pollId: string, at: { post_id: string; topic_id: string; space_id: string }) {
    // No counts in the event: the live push reads them for each room (see LiveGateway.pushPoll).
    return { type: change.event, aggregateType: 'poll', aggregateId: pollId, version: change.version, payload: { pollId, postId: at.post_id, topicId: at.topic_id, spaceId: at.space_id } };
  }

  /** The post's poll as the viewer sees it after they changed it, with their rank on its space (the post's own view was judged before). */
  private async reread(viewer: Viewer, place: Pick<PollPlaceRow, 'post_id' | 'author_id'>, rank: number): Promise<PollModel> {
    this.forget(viewer, place.post_id);
    const poll = await this.load(viewer, { id: place.post_id, authorId: place.author_id, viewerRank: rank });
    if (!poll) throw AppError.notFound('Poll not found');
    return poll;
  }

  private forget(viewer: Viewer, postId: string): void {
    viewer.peek<DataLoader<string, PollRow | null>>(POLLS)?.clear(postId);
    viewer.forget(CHOICES);
  }

  private pollsLoader(viewer: Viewer): DataLoader<string, PollRow | null> {
    return viewer.memoize(POLLS, () => new DataLoader<string, PollRow | null>(async (postIds) => {
      const byPost = new Map((await this.repo.byPostIds(postIds)).map((r) => [r.post_id, r]));
      return postIds.map((id) => byPost.get(id) ?? null);
    }));
  }

  private choicesLoader(viewer: Viewer, userId: string): DataLoader<string, string[]> {
    return viewer.memoize(CHOICES, () => new DataLoader<string, string[]>(async (pollIds) => {
      const mine = await this.repo.choicesAmong(userId, pollIds);
      return pollIds.map((id) => mine.get(id) ?? []);
    }));
  }

  private member(viewer: Viewer): string {
    if (!viewer.id) throw AppError.unauthenticated();
    return viewer.id;
  }
}

