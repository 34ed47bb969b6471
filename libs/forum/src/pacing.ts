import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../core/src/config/config';
import { AppError } from '../../core/src/errors';
import { Viewer } from '../../core/src/graphql/viewer';
import { RateLimiter, RateRule } from '../../core/src/rate-limit';
import { Queryable } from '../../core/src/database/unit-of-work';

/** Reactions a member gives or takes back, across all posts. */
export const REACTIONS_PACE: RateRule = { bucket: 'pace:react', limit: 60, windowSeconds: 60 };
/** Edits a member makes to their own posts (moderators' edits are not paced). */
export const EDITS_PACE: RateRule = { bucket: 'pace:edit', limit: 30, windowSeconds: 600 };
/** Idea votes a member casts or withdraws. */
export const VOTES_PACE: RateRule = { bucket: 'pace:vote', limit: 60, windowSeconds: 60 };
/** Poll votes a member casts, changes or withdraws. */
export const POLL_VOTES_PACE: RateRule = { bucket: 'pace:poll-vote', limit: 60, windowSeconds: 60 };
/** Bookmarks a member adds, changes or removes: a reader going through a topic, not a script. */
export const BOOKMARKS_PACE: RateRule = { bucket: 'pace:bookmark', limit: 60, windowSeconds: 60 };
/** Draft saves and deletions: a composer autosaves every few seconds, in a tab or two at once. */
export const DRAFTS_PACE: RateRule = { bucket: 'pace:draft', limit: 120, windowSeconds: 60 };

/**
 * Paces what any member may repeat at will and others hear about (live events, notifications,
 * the search index): reactions, edits, idea and poll votes; and bookmarks, which nobody else hears of
 * but each of which is a write. Posting has its own limits (PostingLimits); both are off with
 * POSTING_LIMITS=false.
 */
@Injectable()
export class Pacing {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
  ) {}

  /** Refuses past the rule's pace (RATE_LIMITED); inside a transaction (`m`), counted in it and undone with it. */
  async check(viewer: Viewer, rule: RateRule, message: string, m?: Queryable): Promise<void> {
    if (!this.config.POSTING_LIMITS || !viewer.id) return;
    await this.limiter.pace([[rule, viewer.id]], message, m);
  }

  /**
   * Before costly work (rendering, automod, the spam filter), as posting's `admit`: RATE_LIMITED
   * when the viewer has spent `rule` already. A read that counts nothing: `check`, in the
   * transaction, still counts and decides (parallel requests may all pass this look).
   */
  async admit(viewer: Viewer, rule: RateRule, message: string): Promise<void> {
    if (!this.config.POSTING_LIMITS || !viewer.id) return;
    const wait = await this.limiter.throttleWait([[rule, viewer.id]]);
    if (wait > 0) throw AppError.rateLimited(wait, message);
  }
}
