import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessService } from '../../../access/src/access.service';
import { AppConfig } from '../../../core/src/config/config';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { networkOf } from '../../../core/src/http/client-address';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { AUTHOR_COLUMNS, AuthorColumns, UserModel } from '../../../identity/src/users/user.model';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { ForumLoaders } from '../forum.loaders';
import { SUGGESTIONS_DEFAULT, UserSuggestionsArgs } from './user-suggestion.args';

/** LIKE's own characters, escaped (a prefix may hold `_`, and `\` is LIKE's escape). */
const likePrefix = (s: string) => `${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** How many of the latest visitors the names' branch walks before it sorts the matches instead (see `suggest`). */
export const NAME_WALK = 1000;

/**
 * @mention autocomplete (Discourse's user search in the composer): members whose handle, or a
 * word of whose display name, starts with what follows the @. Those who wrote visible posts
 * in the topic being replied to come first (latest writer first), then an exact handle, then
 * handles before names, then whoever visited most recently (a member who hides their profile
 * as one never seen, but to moderators and admins: the order would tell when they were last
 * seen). Left out: the viewer, deleted
 * accounts, members barred from the whole site, imported placeholders (nobody to tell), and
 * members the viewer ignores. Profiles are public (`user(handle)`), so this tells nobody
 * anything new, but it lists them wholesale: signed-in members only, at the search rate.
 */
@Injectable()
export class UserSuggestionsService {
  private readonly perUser: RateRule;
  private readonly perIp: RateRule;

  constructor(
    private readonly ds: DataSource,
    private readonly loaders: ForumLoaders,
    private readonly users: UsersLoader,
    private readonly limiter: RateLimiter,
    config: AppConfig,
  ) {
    this.perUser = { bucket: 'mentions:user', limit: config.SEARCH_RATE_PER_MINUTE, windowSeconds: 60 };
    this.perIp = { bucket: 'mentions:ip', limit: config.SEARCH_RATE_PER_MINUTE * 2, windowSeconds: 60 };
  }

  async suggest(viewer: Viewer, args: UserSuggestionsArgs): Promise<UserModel[]> {
    if (!viewer.id) throw AppError.unauthenticated();
    if (args.topicId && !(await this.loaders.topic(viewer, args.topicId))) throw AppError.notFound('Topic not found');
    await this.limiter.pace([[this.perUser, viewer.id], [this.perIp, networkOf(viewer.ip)]], 'Too many look-ups, try again shortly');
    // The last visit as the viewer may order by it (staff see a hidden profile's too), written
    // as the two indexes of migration `mention-order-by-last-visit` hold it: a branch ordered
    // by it can walk one in order and stop at a page, however many members match.
    const lastVisit = viewer.isGlobalModerator ? 'u.last_visit_on' : '(CASE WHEN u.hide_profile THEN NULL ELSE u.last_visit_on END)';
    const order = `${lastVisit} DESC NULLS LAST, u.handle`;
    const byName = `(lower(u.display_name) LIKE $2 OR lower(u.display_name) LIKE '% ' || $2)`;
    const eligible = `u.deleted_at IS NULL AND NOT u.is_placeholder AND u.id <> $1
          AND NOT EXISTS (SELECT 1 FROM user_ignores i WHERE i.user_id = $1 AND i.ignored_user_id = u.id)
          AND NOT ${AccessService.barredSiteWideSql('u.id')}`;
    // The page is among the topic's writers, the exact handle, and the first page of handles
    // and of names in visit order (each comes before whatever its branch left out). Handles:
    // the planner weighs a prefix by the handles' statistics, walking the index for a common
    // one and sorting a rare one's few matches. A word's start (LIKE '% a%') it cannot weigh,
    // and it walked every member for a rare one: so names are looked for among the NAME_WALK
    // latest visitors (ignored or barred ones left out after the walk, which they would make
    // sort), and only when less than a page of those is left are the names' matches sorted (by
    // the day plus nothing, which no index holds, so that they are found by name). Whom nobody
    // may mention (`eligible`) each branch leaves out, and the page does not check again.
    const rows: AuthorColumns[] = await this.ds.query(
      `WITH participants AS (
         SELECT p.author_id, max(p.created_at) AS wrote_at FROM posts p
          WHERE p.topic_id = $3::uuid AND p.state = 'VISIBLE' GROUP BY p.author_id
       ), named_recently AS (
         SELECT u.id FROM (SELECT u.id, u.handle, u.display_name, u.is_placeholder, u.deleted_at, ${lastVisit} AS seen FROM users u
                            WHERE u.deleted_at IS NULL AND NOT u.is_placeholder ORDER BY ${order} LIMIT ${NAME_WALK}) u
          WHERE ${byName} AND ${eligible} ORDER BY u.seen DESC NULLS LAST, u.handle LIMIT 2 * $5
       ), candidates AS (
         SELECT u.id FROM users u WHERE (u.id IN (SELECT author_id FROM participants) OR u.handle = $4) AND ${eligible}
         UNION (SELECT u.id FROM users u WHERE u.handle LIKE $2 AND ${eligible} ORDER BY ${order} LIMIT $5)
         UNION SELECT id FROM named_recently
         UNION SELECT named.id FROM (SELECT FROM named_recently HAVING count(*) < $5) few, LATERAL (
                 SELECT u.id FROM users u WHERE ${byName} AND ${eligible} ORDER BY ${lastVisit} + 0 DESC NULLS LAST, u.handle LIMIT $5) named
       )
       SELECT ${AUTHOR_COLUMNS} FROM candidates c JOIN users u ON u.id = c.id
         LEFT JOIN participants pa ON pa.author_id = u.id
        WHERE u.handle LIKE $2 OR ${byName}
        ORDER BY pa.wrote_at DESC NULLS LAST, u.handle = $4 DESC, u.handle LIKE $2 DESC, ${order}
        LIMIT $5`,
      [viewer.id, likePrefix(args.prefix), args.topicId ?? null, args.prefix, args.first ?? SUGGESTIONS_DEFAULT],
    );
    return rows.map((r) => this.users.authorOf(viewer, r));
  }
}
