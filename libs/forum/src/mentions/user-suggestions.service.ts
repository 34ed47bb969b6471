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
    const rows: AuthorColumns[] = await this.ds.query(
      `WITH participants AS (
         SELECT p.author_id, max(p.created_at) AS wrote_at FROM posts p
          WHERE p.topic_id = $3::uuid AND p.state = 'VISIBLE' GROUP BY p.author_id
       )
       SELECT ${AUTHOR_COLUMNS} FROM users u
         LEFT JOIN participants pa ON pa.author_id = u.id
        WHERE (u.handle LIKE $2 OR lower(u.display_name) LIKE $2 OR lower(u.display_name) LIKE '% ' || $2)
          AND u.deleted_at IS NULL AND NOT u.is_placeholder AND u.id <> $1
          AND NOT EXISTS (SELECT 1 FROM user_ignores i WHERE i.user_id = $1 AND i.ignored_user_id = u.id)
          AND NOT ${AccessService.barredSiteWideSql('u.id')}
        ORDER BY pa.wrote_at DESC NULLS LAST, u.handle = $4 DESC, u.handle LIKE $2 DESC,
                 (SELECT max(v.day) FROM user_visits v WHERE v.user_id = u.id AND (NOT u.hide_profile OR $6)) DESC NULLS LAST, u.handle
        LIMIT $5`,
      [viewer.id, likePrefix(args.prefix), args.topicId ?? null, args.prefix, args.first ?? SUGGESTIONS_DEFAULT, viewer.isGlobalModerator],
    );
    return rows.map((r) => this.users.authorOf(viewer, r));
  }
}
