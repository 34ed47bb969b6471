import { Injectable } from '@nestjs/common';
import { RenderedContent } from '../../content/src/renderer';
import { Tx } from '../../core/src/database/unit-of-work';
import { Viewer } from '../../core/src/graphql/viewer';

/** A contribution about to be stored. */
export interface Contribution {
  viewer: Viewer;
  spaceId: string;
  /** Edits go through automod, the spam filter, what-a-post-may-hold limits and pre-moderation too; not through the pace of posting. */
  kind: 'topic' | 'reply' | 'edit';
  body: string;
  /** The topic's title and tags, when the contribution sets them (a new topic, an edit of its first post). */
  title?: string;
  tags?: string[];
  rendered: RenderedContent;
  /** The author's level in the space (moderators are exempt from most checks). */
  rank: number;
}

/** Who is about to contribute, and where: what is known before the text is rendered. */
export type Admission = Pick<Contribution, 'viewer' | 'spaceId' | 'kind' | 'rank'>;

/**
 * A topic's title and tags a moderator sets outside any post (the new topic movePosts splits
 * off, whose first post is somebody else's and is not screened again), in a space; `fields`
 * name them in a refusal. Screened as plain texts (`PostingPolicy.screenHeading`).
 */
export interface TopicHeading {
  viewer: Viewer;
  spaceId: string;
  title: string;
  tags: string[];
  fields: { title: string; tags: string };
}

/** A heading as screened: its title as it may be stored, and the plain texts it was screened as with their verdict, for `headingStored`. */
export interface ScreenedHeading {
  title: string;
  plain: PlainTexts;
  verdict: PlainVerdict;
}

/** A post back in the PENDING state, withdrawn from review by its author, or deleted while it waited by someone else, in its topic and space, and who did it. */
export interface WaitingPost {
  postId: string;
  topicId: string;
  number: number;
  spaceId: string;
  actorId: string | null;
}

/** What checks decided: PENDING holds the contribution for approval. */
export interface Verdict {
  pending: boolean;
  reasons: string[];
  /** Replaces the rendered HTML (e.g. censored words). */
  html?: string;
  /** Replaces the title (censored words). */
  title?: string;
}

/**
 * A spam filter's reason to hold a contribution: the score is for moderators (the review
 * queue's note); its author reads the reason without it (`noteForAuthor`), or a spammer
 * could tune their text until it slips under the threshold.
 */
export function spamReason(score: number): string {
  return `looks like spam (score ${score.toFixed(2)})`;
}

/** A held contribution's note as its author reads it: without what only moderators may read (spamReason's score). */
export function noteForAuthor(note: string): string {
  return note.replace(/ \(score \d+\.\d+\)/g, '');
}

/** Why a held contribution waits, as its author and the review queue are told (flags and censoring are not reasons to wait). */
export function heldReasons(verdict: Verdict): string {
  return verdict.reasons.filter((r) => !/^(flag|censor):/.test(r)).join('; ');
}

export interface StoredContribution {
  postId: string;
  topicId: string;
  number: number;
  pending: boolean;
  /** An edit by the author that needed no approval replaced the held edit they had waiting. */
  withdrewHeldEdit?: boolean;
  /**
   * The author changed content that waits for a moderator (a post still pending, or a held
   * edit they replaced): the review item a moderator may be reading no longer describes it.
   */
  changedWaiting?: boolean;
}

/**
 * Plain texts beside a post about to be stored, which nothing holds for a moderator's approval
 * (a poll's question and options, a split's new topic heading): each with the input field it
 * came from.
 */
export interface PlainTexts {
  viewer: Viewer;
  spaceId: string;
  /** What they make up, as a refusal names it (a heading's refusal names its title). */
  what: 'poll' | 'heading';
  /** `maskable: false` for a text that cannot be masked (a topic's tags): what a check would mask there, it refuses. */
  texts: Array<{ field: string; text: string; maskable?: boolean }>;
}

/** What checks made of plain texts: each as it will be stored (censored words masked), and notes for `plainStored` (`flag:<rule>`, `censor:<rule>`). */
export interface PlainVerdict {
  texts: string[];
  reasons: string[];
}

/**
 * A step of the content pipeline between rendering and storing (automod, rate limits,
 * pre-moderation). `admit` runs first, before the text is rendered, and may refuse cheaply
 * (the pace of posting); `check` may throw (BLOCK, RATE_LIMITED) or ask to hold the post;
 * `stored` runs inside the storing transaction.
 */
export interface PostingCheck {
  readonly name: string;
  admit?(a: Admission): Promise<void>;
  check(c: Contribution, verdict: Verdict): Promise<void>;
  /** A post waits for review again (restored after it was deleted while waiting, or rejected). */
  waitsAgain?(tx: Tx, p: WaitingPost): Promise<void>;
  /** Its author deleted a post while it (`post`) or its edit (`edit`, which went with it) waited for review (`PostsService.writeDelete`). */
  withdrawn?(tx: Tx, p: WaitingPost, what: 'post' | 'edit'): Promise<void>;
  /** A moderator (or their DELETE topic timer, `reason`) deleted someone else's post while it waited for review: refused, as rejecting it would (`PostsService.writeDelete`). */
  deletedWhileWaiting?(tx: Tx, p: WaitingPost, reason: string | null): Promise<void>;
  /** A moderator (or their DELETE topic timer, `reason`) deleted someone else's post others had read (visible or hidden): they agree with what judged it, as moderatePost DELETE does (`PostsService.writeDelete`). */
  deletedShown?(tx: Tx, p: WaitingPost, reason: string | null): Promise<void>;
  stored?(tx: Tx, c: Contribution, verdict: Verdict, s: StoredContribution): Promise<void>;
  /**
   * Screens plain texts (`PlainTexts`: a poll's, a split's heading): may throw to refuse them, or
   * replace them in `verdict` (masked) and note what `plainStored` records.
   */
  screenPlain?(p: PlainTexts, verdict: PlainVerdict): Promise<void>;
  /** Inside the transaction storing the plain texts screened into `verdict`, beside (or opening the topic of) the post `postId`. */
  plainStored?(tx: Tx, p: PlainTexts, verdict: PlainVerdict, postId: string): Promise<void>;
}

/**
 * The registry of posting checks. The forum owns the seam; moderation plugs its rules
 * in at start-up, so the forum never depends on moderation.
 */
@Injectable()
export class PostingPolicy {
  private readonly checks: PostingCheck[] = [];

  register(check: PostingCheck): void {
    if (!this.checks.some((c) => c.name === check.name)) this.checks.push(check);
  }

  /** Before rendering: a refusal here costs the author's flood no rendering and no transaction. */
  async admit(a: Admission): Promise<void> {
    for (const check of this.checks) await check.admit?.(a);
  }

  async evaluate(c: Contribution): Promise<Verdict> {
    const verdict: Verdict = { pending: false, reasons: [] };
    for (const check of this.checks) await check.check(c, verdict);
    return verdict;
  }

  /**
   * Inside the storing transaction, which may run again after a deadlock: each run hands the
   * checks a verdict of its own, so nothing one run changed in it is missing from the next.
   */
  async stored(tx: Tx, c: Contribution, verdict: Verdict, s: StoredContribution): Promise<void> {
    const own: Verdict = { ...verdict, reasons: [...verdict.reasons] };
    for (const check of this.checks) await check.stored?.(tx, c, own, s);
  }

  /**
   * Plain texts beside a post (a poll's question and options) through the checks that screen
   * them (watched words): refused as a post would be (BAD_USER_INPUT naming the field), or
   * returned as they are to be stored (censored words masked). Nothing holds them for approval.
   */
  async screenPlain(p: PlainTexts): Promise<PlainVerdict> {
    const verdict: PlainVerdict = { texts: p.texts.map((t) => t.text), reasons: [] };
    for (const check of this.checks) await check.screenPlain?.({ ...p, texts: p.texts.map((t, i) => ({ ...t, text: verdict.texts[i] })) }, verdict);
    return verdict;
  }

  /** Inside the storing transaction (which may run again): each run hands the checks a verdict of its own. */
  async plainStored(tx: Tx, p: PlainTexts, verdict: PlainVerdict, postId: string): Promise<void> {
    const own: PlainVerdict = { texts: [...verdict.texts], reasons: [...verdict.reasons] };
    for (const check of this.checks) await check.plainStored?.(tx, p, own, postId);
  }

  async waitsAgain(tx: Tx, p: WaitingPost): Promise<void> {
    for (const check of this.checks) await check.waitsAgain?.(tx, p);
  }

  async withdrawn(tx: Tx, p: WaitingPost, what: 'post' | 'edit'): Promise<void> {
    for (const check of this.checks) await check.withdrawn?.(tx, p, what);
  }

  async deletedWhileWaiting(tx: Tx, p: WaitingPost, reason: string | null): Promise<void> {
    for (const check of this.checks) await check.deletedWhileWaiting?.(tx, p, reason);
  }

  async deletedShown(tx: Tx, p: WaitingPost, reason: string | null): Promise<void> {
    for (const check of this.checks) await check.deletedShown?.(tx, p, reason);
  }

  /**
   * A heading is plain texts nothing holds (`screenPlain`): its title, and its tags as one text
   * that cannot be masked. Answers the title as every check lets it be stored; throws when one
   * refuses it.
   */
  async screenHeading(h: TopicHeading): Promise<ScreenedHeading> {
    const texts: PlainTexts['texts'] = [{ field: h.fields.title, text: h.title }];
    if (h.tags.length) texts.push({ field: h.fields.tags, text: h.tags.join(' '), maskable: false });
    const plain: PlainTexts = { viewer: h.viewer, spaceId: h.spaceId, what: 'heading', texts };
    const verdict = await this.screenPlain(plain);
    return { title: verdict.texts[0], plain, verdict };
  }

  /** Inside the transaction storing a heading's topic, whose first post is `postId`: as `plainStored`, on that post. */
  headingStored(tx: Tx, screened: ScreenedHeading, postId: string): Promise<void> {
    return this.plainStored(tx, screened.plain, screened.verdict, postId);
  }
}
