import { Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { fullVersion, newsVersion } from '../../../core/src/news-versions';
import { listOf } from '../../../core/src/graphql/limits';

/** Limits a poll keeps (CHECKs on polls and poll_options hold the lengths too). */
export const POLL_QUESTION_MAX = 300;
export const POLL_OPTION_MAX = 200;
export const POLL_OPTIONS_MIN = 2;
export const POLL_OPTIONS_MAX = 20;

export enum PollKind {
  SINGLE = 'SINGLE',
  MULTIPLE = 'MULTIPLE',
}
registerEnumType(PollKind, { name: 'PollKind', description: 'SINGLE: a vote picks one option; MULTIPLE: between the poll’s minChoices and maxChoices.' });

export enum PollResults {
  ALWAYS = 'ALWAYS',
  ON_VOTE = 'ON_VOTE',
  ON_CLOSE = 'ON_CLOSE',
  MODERATORS = 'MODERATORS',
}
registerEnumType(PollResults, {
  name: 'PollResults',
  description:
    'Who sees a poll’s counts: ALWAYS everyone who reads it; ON_VOTE those who voted, and everyone once it is closed; ON_CLOSE everyone once it is closed; ' +
    'MODERATORS only the space’s moderators. The post’s author and the space’s moderators always see them.',
});

@ObjectType('PollOption')
export class PollOptionModel {
  @Field(() => ID) id!: string;
  @Field({ description: 'Plain text, never HTML: escape it where it is shown.' }) text!: string;
  @Field(() => Int, { nullable: true, description: 'How many voters chose it; null when the poll’s results are hidden from the viewer.' })
  voteCount!: number | null;

  pollId!: string;
  /** Whether its voters may be listed to this viewer (a poll with public voters whose results they see). */
  votersListed!: boolean;
}

/** A poll in a post, as one viewer sees it. */
@ObjectType('Poll', { description: 'A poll in a post (`createPoll`). Counts follow its `results` rule for each viewer.' })
export class PollModel {
  @Field(() => ID) id!: string;
  @Field({ description: 'Plain text, never HTML.' }) question!: string;
  @Field(() => PollKind) kind!: PollKind;
  @Field(() => Int) minChoices!: number;
  @Field(() => Int) maxChoices!: number;
  @Field(() => PollResults) results!: PollResults;
  @Field({ description: 'Whether those who see the counts see who voted for what (`PollOption.voters`).' }) publicVoters!: boolean;
  // Each may list its voters: counted as many as a poll may hold.
  @Field(() => [PollOptionModel], { description: 'In the order they were given.', complexity: listOf(POLL_OPTIONS_MAX) })
  options!: PollOptionModel[];
  @Field(() => Int, { nullable: true, description: 'How many members voted; null when the results are hidden from the viewer.' })
  voterCount!: number | null;
  @Field({ description: 'Whether the poll takes no more votes (closed by its author or a moderator, or past closesAt). An open poll in a locked or closed topic (Topic.locked, Topic.closed) takes none either, but from the space’s moderators.' }) closed!: boolean;
  @Field(() => Date, { nullable: true, description: 'When the poll closes by itself, if it does.' }) closesAt!: Date | null;
  @Field(() => [ID], { description: 'The options the viewer chose (empty when they have not voted, or are signed out).' })
  myChoice!: string[];
  @Field({ description: 'Whether the viewer sees the counts (voteCount, voterCount) now.' }) resultsVisible!: boolean;
  @Field(() => Float, {
    description:
      'The version `poll:updated` pushes carry to the viewer, read with this answer: with the counts (resultsVisible), one every vote, edit, closing and reopening raises; without them, one only edits, closings (by hand or by closesAt) and reopenings raise, so it tells nothing of the votes; both on one scale. ' +
      'Keep the highest you applied, from this answer or a push, and drop a push of a lower one (README, Order). It orders the poll, not your part in it: take myChoice and resultsVisible from your own votePoll’s or unvotePoll’s answer whatever its version (a vote whose counts stay hidden from you raises none; a withdrawal from an open ON_VOTE poll answers below the counted version you held). A whole number from 2^31 on after the first edit or closing: a Float, exact (below 2^53), for it outgrows Int.',
  })
  version!: number;

  postId!: string;
}

/** A poll as its loader reads it, options included. */
export interface PollRow {
  id: string;
  post_id: string;
  question: string;
  kind: PollKind;
  min_choices: number;
  max_choices: number;
  results: PollResults;
  public_voters: boolean;
  closes_at: Date | null;
  closed: boolean;
  voter_count: number;
  /** Raised by every change of the poll (a vote, an edit, closing, reopening), under its row lock: live pushes carry a version made from it (`LiveGateway.pushPoll`). */
  version: number;
  /**
   * How many of its changes every reader hears of (an edit, a closing, a reopening, a closing by
   * its time: one more as soon as that time passed, told or not, `PollsRepository`'s `NEWS`),
   * read with `version` and `closed` in one statement: what orders its pushes to readers who see
   * no counts (`newsVersion`), and with `version` to those who do (`fullVersion`).
   */
  news: number;
  options: Array<{ id: string; text: string; vote_count: number }>;
}

/**
 * Whether a viewer sees a poll's counts: its post's author and the space's moderators always;
 * others as its `results` says (ON_VOTE once they voted, or once it closed).
 */
export function resultsVisible(poll: Pick<PollRow, 'results' | 'closed'>, viewer: { authorOrModerator: boolean; voted: boolean }): boolean {
  if (viewer.authorOrModerator) return true;
  switch (poll.results) {
    case PollResults.ALWAYS:
      return true;
    case PollResults.ON_VOTE:
      return viewer.voted || poll.closed;
    case PollResults.ON_CLOSE:
      return poll.closed;
    default:
      return false;
  }
}

export function toPollModel(r: PollRow, myChoice: string[], visible: boolean): PollModel {
  return Object.assign(new PollModel(), {
    id: r.id,
    question: r.question,
    kind: r.kind,
    minChoices: r.min_choices,
    maxChoices: r.max_choices,
    results: r.results,
    publicVoters: r.public_voters,
    options: r.options.map((o) =>
      Object.assign(new PollOptionModel(), { id: o.id, text: o.text, voteCount: visible ? o.vote_count : null, pollId: r.id, votersListed: visible && r.public_voters }),
    ),
    voterCount: visible ? r.voter_count : null,
    closed: r.closed,
    closesAt: r.closes_at,
    myChoice,
    resultsVisible: visible,
    // On the scale of the pushes this viewer hears (`LiveGateway.pushPoll`): the counts' version where they see the counts, the news' alone otherwise.
    version: visible ? fullVersion(r) : newsVersion(r.news),
    postId: r.post_id,
  });
}
