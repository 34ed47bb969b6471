import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../core/src/config/config';
import { AppError } from '../../core/src/errors';
import { Viewer } from '../../core/src/graphql/viewer';
import { RateLimiter, RateRule } from '../../core/src/rate-limit';
import { Queryable } from '../../core/src/database/unit-of-work';

/** A member's pace for one kind of mutation (the throttle's rule), and what they hear past it. */
export interface Pace extends RateRule {
  message: string;
}

/** Reactions a member gives or takes back, across all posts. */
export const REACTIONS_PACE: Pace = { bucket: 'pace:react', limit: 60, windowSeconds: 60, message: 'Too many reactions, try again shortly' };
/** Edits a member makes to their own posts (moderators' edits are not paced), their polls and their articles' revisions. */
export const EDITS_PACE: Pace = { bucket: 'pace:edit', limit: 30, windowSeconds: 600, message: 'Too many edits, try again shortly' };
/** Idea votes a member casts or withdraws. */
export const VOTES_PACE: Pace = { bucket: 'pace:vote', limit: 60, windowSeconds: 60, message: 'Too many votes, try again shortly' };
/** Poll votes a member casts, changes or withdraws. */
export const POLL_VOTES_PACE: Pace = { bucket: 'pace:poll-vote', limit: 60, windowSeconds: 60, message: 'Too many votes, try again shortly' };
/** Bookmarks a member adds, changes or removes: a reader going through a topic, not a script. */
export const BOOKMARKS_PACE: Pace = { bucket: 'pace:bookmark', limit: 60, windowSeconds: 60, message: 'Too many bookmarks at once, try again shortly' };
/** Draft saves and deletions: a composer autosaves every few seconds, in a tab or two at once. */
export const DRAFTS_PACE: Pace = { bucket: 'pace:draft', limit: 120, windowSeconds: 60, message: 'Too many draft saves and deletions at once, try again shortly' };

/** One mutation's pace, for its viewer, from `Pacing.guard`. */
export interface PaceCount {
  /**
   * Counts the mutation, RATE_LIMITED past the pace (nothing counted then). In its transaction
   * (`m`): counted there and undone with it, so one refused after the count spends nothing;
   * without one (a mutation that is a single statement nothing refuses), on its own.
   * `exempt`: whether the viewer is exempt as decided under the transaction's locks, when that
   * may differ from what the guard was told before it.
   */
  count(m?: Queryable, exempt?: boolean): Promise<void>;
}

/**
 * Paces what any member may repeat at will and others hear about (live events, notifications,
 * the search index): reactions, edits, idea and poll votes; and bookmarks and drafts, which
 * nobody else hears of but each of which is a write. Posting has its own limits
 * (PostingLimits); both are off with POSTING_LIMITS=false.
 */
@Injectable()
export class Pacing {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
  ) {}

  /**
   * The one way a mutation is paced, in two steps bound to one viewer, pace and exemption. Now,
   * before the mutation's costly work (rendering, automod, the spam filter), as posting's
   * `admit`: a look at the pace that counts nothing (RATE_LIMITED when the viewer has spent it
   * already), so a flood past it costs a read each. Then the answer's `count`, in the
   * mutation's transaction, which counts and decides (parallel requests may all pass the look).
   * `exempt`: not paced (a moderator's edit). `lookFirst: false` for a mutation with nothing
   * costly before its count, which the look would only cost a read more.
   */
  async guard(viewer: Viewer, pace: Pace, opts: { exempt?: boolean; lookFirst?: boolean } = {}): Promise<PaceCount> {
    const userId = this.config.POSTING_LIMITS ? viewer.id : null;
    if (userId && !opts.exempt && opts.lookFirst !== false) {
      const wait = await this.limiter.throttleWait([[pace, userId]]);
      if (wait > 0) throw AppError.rateLimited(wait, pace.message);
    }
    return {
      count: async (m, exempt = opts.exempt) => {
        if (userId && !exempt) await this.limiter.pace([[pace, userId]], pace.message, m);
      },
    };
  }
}
