import { Injectable } from '@nestjs/common';

/**
 * SQL of a condition on a topic (alias `t`) that is true when a signed-in member does not
 * want it in their feeds; `viewer` is the SQL of their id.
 */
export type TopicFeedExclusion = (viewer: string) => string;

/**
 * What other modules leave out of a signed-in member's site-wide topic feeds (Query.topics).
 * The forum owns the seam; notifications leave out what the member muted, so the forum
 * never depends on them. Access is not decided here: these only take away.
 */
@Injectable()
export class TopicFeedExclusions {
  private readonly exclusions: TopicFeedExclusion[] = [];

  register(exclusion: TopicFeedExclusion): void {
    this.exclusions.push(exclusion);
  }

  all(): readonly TopicFeedExclusion[] {
    return this.exclusions;
  }
}
