import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { AppConfig } from '../../../core/src/config/config';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { SpaceModeration } from '../space-moderation';
import { Tx } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { Admission, Contribution, heldReasons, PostingCheck, StoredContribution, Verdict, WaitingPost } from '../../../forum/src/posting-policy';
import { ReviewItems } from '../reports/review-items';
import { ReportTargetType } from '../reports/review.model';

/** Defaults: new users (TL0) one post per 30 s, others one per 5 s. */
export const POST_INTERVAL_TL0: RateRule = { bucket: 'post:tl0', limit: 1, windowSeconds: 30 };
export const POST_INTERVAL: RateRule = { bucket: 'post:any', limit: 1, windowSeconds: 5 };
/** On their first day, new users may open 3 topics and write 10 replies. */
export const FIRST_DAY_TOPICS: RateRule = { bucket: 'topic:first-day', limit: 3, windowSeconds: 86_400 };
export const FIRST_DAY_REPLIES: RateRule = { bucket: 'reply:first-day', limit: 10, windowSeconds: 86_400 };
export const NEW_USER_MAX_LINKS = 2;
export const NEW_USER_MAX_MENTIONS = 2;
/** Everyone else (but moderators): each mention is a notification, so a post names at most this many people. */
export const MAX_MENTIONS = 10;
const DUPLICATE_WINDOW_MINUTES = 10;
/** A text as the duplicate check compares it: lower-case, runs of white space as one space, trimmed. */
const normalizedSql = (text: string) => `md5(lower(btrim(regexp_replace(${text}, '\\s+', ' ', 'g'))))`;

/**
 * Limits on posting by trust level, links and mentions for new users, mentions for everyone,
 * and refusing the same body twice in ten minutes. Moderators of the space are exempt.
 */
@Injectable()
export class PostingLimits implements PostingCheck {
  readonly name = 'posting-limits';

  constructor(
    private readonly ds: DataSource,
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
  ) {}

  /** Moderators of the space are exempt from every limit (and everybody when limits are off). */
  private exempt(c: Admission): boolean {
    return !this.config.POSTING_LIMITS || c.rank >= LEVEL_RANK.MODERATE;
  }

  /** What a post may hold applies to edits too; the pace of posting (rates, duplicates) only to new posts. */
  async check(c: Contribution): Promise<void> {
    if (this.exempt(c)) return;
    const user = c.viewer.user!;
    if (user.trustLevel === 0 && c.rendered.links > NEW_USER_MAX_LINKS) {
      throw AppError.badField('body', `new members may post at most ${NEW_USER_MAX_LINKS} links per post`);
    }
    if (user.trustLevel === 0 && c.rendered.mentions.length > NEW_USER_MAX_MENTIONS) {
      throw AppError.badField('body', `new members may mention at most ${NEW_USER_MAX_MENTIONS} people per post`);
    }
    if (c.rendered.mentions.length > MAX_MENTIONS) throw AppError.badField('body', `a post may mention at most ${MAX_MENTIONS} people`);
    if (c.kind === 'edit') return;
    // The same text whatever its case and spacing: a trailing space does not make it new.
    const [{ duplicate }] = await this.ds.query(
      `SELECT EXISTS (SELECT 1 FROM posts WHERE author_id = $1 AND created_at > now() - make_interval(mins => ${DUPLICATE_WINDOW_MINUTES})
                        AND ${normalizedSql('body_source')} = ${normalizedSql('$2::text')} AND state <> 'DELETED') AS duplicate`,
      [user.id, c.body],
    );
    if (duplicate) throw AppError.badField('body', 'you posted the same text a moment ago');
  }

  /**
   * A post the pace of posting would refuse is refused before it is rendered and checked: a
   * flood costs a read per post. This look is not the count: `stored` counts.
   */
  async admit(a: Admission): Promise<void> {
    if (this.exempt(a) || a.kind === 'edit') return;
    let wait = 0;
    for (const [rule, key] of await this.paceRules(a)) wait = Math.max(wait, await this.limiter.retryAfter(rule, key));
    if (wait > 0) throw AppError.rateLimited(wait);
  }

  /**
   * The rate limits are checked and counted once, in the storing transaction and under a lock,
   * so parallel posts cannot all pass before any of them is counted; a refusal rolls the post back.
   */
  async stored(tx: Tx, c: Contribution): Promise<void> {
    if (this.exempt(c) || c.kind === 'edit') return;
    await this.limiter.hitWithin(tx, await this.paceRules(c));
  }

  /** The rules that pace a new post: one post per interval, and a new member's first day. */
  private async paceRules(a: Admission): Promise<Array<[RateRule, string]>> {
    const user = a.viewer.user!;
    const rules: Array<[RateRule, string]> = [[user.trustLevel === 0 ? POST_INTERVAL_TL0 : POST_INTERVAL, user.id]];
    // Asked once per request (admit, then stored): an account's age does not change in between.
    const firstDay = user.trustLevel === 0 &&
      (await a.viewer.memoize('posting:first-day', async () =>
        (await this.ds.query(`SELECT created_at > now() - interval '1 day' AS first_day FROM users WHERE id = $1`, [user.id]))[0].first_day as boolean));
    if (firstDay) rules.push([a.kind === 'topic' ? FIRST_DAY_TOPICS : FIRST_DAY_REPLIES, user.id]);
    return rules;
  }
}

/**
 * Pre-moderation per space: OFF, NEW_USERS (trust level 0 waits for approval) or ALL.
 * Held contributions enter the review queue; approving publishes them. Edits are held too,
 * or an approved post could be edited into anything: the post keeps its approved text while
 * the edit waits (PostsService.decidePendingEdit).
 */
@Injectable()
export class PremoderationRule implements PostingCheck {
  readonly name = 'premoderation';

  constructor(
    private readonly settings: SpaceModeration,
    private readonly audit: AuditLog,
    private readonly reviewItems: ReviewItems,
  ) {}

  async check(c: Contribution, verdict: Verdict): Promise<void> {
    if (c.rank >= LEVEL_RANK.MODERATE) return;
    const mode = (await this.settings.of(c.spaceId, { viewer: c.viewer })).premoderation;
    if (mode === 'ALL' || (mode === 'NEW_USERS' && c.viewer.user!.trustLevel === 0)) {
      verdict.pending = true;
      verdict.reasons.push(mode === 'ALL' ? 'every post in this space is reviewed first' : 'posts by new members are reviewed first');
    }
  }

  /** Restored to waiting (it was deleted, or rejected, before anyone approved it): back in the queue. */
  async waitsAgain(tx: Tx, p: WaitingPost): Promise<void> {
    await this.reviewItems.open(tx, {
      spaceId: p.spaceId,
      targetType: p.number === 1 ? ReportTargetType.TOPIC : ReportTargetType.POST,
      targetId: p.number === 1 ? p.topicId : p.postId,
      kind: 'PENDING_CONTENT',
      actorId: p.actorId,
      action: 'restored',
      note: 'restored after it was deleted before approval: it waits for review again',
    });
  }

  /** Its author deleted the post while it, or its edit (gone with it), waited: the item that described it is settled as withdrawn. */
  async withdrawn(tx: Tx, p: WaitingPost, what: 'post' | 'edit'): Promise<void> {
    const note = what === 'edit' ? 'the author deleted the post while its edit waited for review' : 'the author deleted it while it waited for review';
    await this.settleWithdrawn(tx, { id: p.postId, number: p.number, topicId: p.topicId }, p.actorId, { action: 'withdrawn', note });
  }

  /**
   * A moderator deleted someone else's post while it waited (deletePost, or their DELETE topic
   * timer): its item is rejected by them, as moderatePost DELETE rejects it, even one another
   * moderator claimed (a claim does not hold deletePost back), so the queue keeps nothing that
   * could only be closed. Restored, the post waits again under a new item (`waitsAgain`).
   */
  async deletedWhileWaiting(tx: Tx, p: WaitingPost, reason: string | null): Promise<void> {
    await this.reviewItems.settleHeld(
      tx,
      { id: p.postId, number: p.number, topicId: p.topicId },
      { status: 'REJECTED', resolvedBy: p.actorId, actorId: p.actorId, action: 'resolved: reject (deleted with deletePost)', note: reason, overClaims: true },
    );
  }

  /** The author's own change settles the post's held item: IGNORED, resolved by nobody, the author in its history. */
  private settleWithdrawn(tx: Tx, post: { id: string; number: number; topicId: string }, authorId: string | null, settled: { action: string; note: string }): Promise<void> {
    return this.reviewItems.settleHeld(tx, post, { status: 'IGNORED', resolvedBy: null, actorId: authorId, ...settled });
  }

  async stored(tx: Tx, c: Contribution, verdict: Verdict, s: StoredContribution): Promise<void> {
    // The author's change settles the item that described the text before it: withdrawn (their
    // edit needed no approval), or superseded (a moderator approving the item they read would
    // publish a text they never saw; the new text waits under an item of its own).
    const settled = s.withdrewHeldEdit
      ? { action: 'withdrawn', note: 'the author edited the post again, and that edit needed no approval' }
      : s.changedWaiting
        ? { action: 'superseded', note: 'the author changed it while it waited; the new text is reviewed as a new item' }
        : null;
    if (settled) {
      await this.settleWithdrawn(tx, { id: s.postId, number: s.number, topicId: s.topicId }, c.viewer.id, settled);
    }
    if (!verdict.pending && !s.changedWaiting) return;
    const reasons = heldReasons(verdict) || 'the author changed it while it waited for review';
    await this.reviewItems.open(tx, {
      spaceId: c.spaceId,
      targetType: c.kind === 'topic' ? ReportTargetType.TOPIC : ReportTargetType.POST,
      targetId: c.kind === 'topic' ? s.topicId : s.postId,
      kind: 'PENDING_CONTENT',
      actorId: c.viewer.id,
      action: 'submitted',
      note: reasons,
    });
    // Holding a contribution is an automatic action: it goes in the moderation log.
    await this.audit.append(tx, { actorId: null, action: 'post.hold', targetType: c.kind === 'topic' ? 'topic' : 'post', targetId: c.kind === 'topic' ? s.topicId : s.postId, spaceId: c.spaceId, reason: reasons });
  }
}
