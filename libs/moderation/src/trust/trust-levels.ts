import { Injectable } from '@nestjs/common';
import { Args, Context, Field, ID, InputType, Int, Mutation, Resolver } from '@nestjs/graphql';
import { IsBoolean, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import type { GqlContext } from '../../../core/src/graphql/context';
import { GlobalRole, ROLE_POWER, Viewer } from '../../../core/src/graphql/viewer';
import { toUserModel, UserModel, UserRow } from '../../../identity/src/users/user.model';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { PlainText } from '../../../core/src/graphql/validators';
import { AccessService } from '../../../access/src/access.service';
import { ID_VERSION } from '../../../core/src/ids';

/**
 * What each automatic level asks for (Discourse-like defaults). Visit days for TL3 count
 * over the last 100 days; everything else is all-time. TL4 (leader) is only given by hand.
 */
export const TRUST_REQUIREMENTS = {
  1: { daysVisited: 1, topicsEntered: 5, postsRead: 30, replies: 0, reactionsGiven: 0, reactionsReceived: 0 },
  2: { daysVisited: 15, topicsEntered: 20, postsRead: 100, replies: 3, reactionsGiven: 1, reactionsReceived: 1 },
  3: { daysVisited: 50, topicsEntered: 100, postsRead: 500, replies: 10, reactionsGiven: 30, reactionsReceived: 20 },
} as const;
/**
 * Posts read are the posts a user could have read up to each read mark: those VISIBLE now,
 * numbered up to the mark in its topic. Not the mark itself: numbers are never given twice
 * (`topics.max_post_number`), so a topic has gaps where posts were moved out, and a hidden, held
 * (PENDING) or deleted post is no reading (the reader's own held reply neither). The topic's own
 * state is not read, nor whether the reader may still read its space: a visible post of a topic
 * hidden since, or of a space they have lost, was read when they could (as Discourse's count,
 * kept as they read, keeps it). A post hidden or deleted since is not counted, as it cannot be
 * told from one they never saw. Counted up to the most any level asks (TL3's 500: the
 * requirements are these constants, no setting), as no count past it changes a level: a user's
 * share of the run reads at most that many posts, through posts' (topic_id, number) index,
 * however long the topics they read (the stats a change logs say 500 for more).
 */
const POSTS_READ_COUNTED = Math.max(...Object.values(TRUST_REQUIREMENTS).map((r) => r.postsRead));
/** Upheld reports against a user (last 100 days) cap their level: 1+ → at most TL2, 3+ → at most TL1. */
export const UPHELD_CAPS: Array<[number, number]> = [[3, 1], [1, 2]];

export interface ActivityStats {
  days: number;
  recentDays: number;
  topicsEntered: number;
  postsRead: number;
  replies: number;
  reactionsGiven: number;
  reactionsReceived: number;
  upheldAgainst: number;
}

/**
 * The level a user's activity earns. TL1 and TL2 are kept once reached (only upheld
 * reports take them away); TL3 must keep being earned, as in Discourse.
 */
export function earnedLevel(current: number, s: ActivityStats): number {
  const meets = (lvl: 1 | 2 | 3) => {
    const r = TRUST_REQUIREMENTS[lvl];
    return (
      (lvl === 3 ? s.recentDays : s.days) >= r.daysVisited &&
      s.topicsEntered >= r.topicsEntered &&
      s.postsRead >= r.postsRead &&
      s.replies >= r.replies &&
      s.reactionsGiven >= r.reactionsGiven &&
      s.reactionsReceived >= r.reactionsReceived
    );
  };
  let level = meets(3) ? 3 : meets(2) ? 2 : meets(1) ? 1 : 0;
  level = Math.max(level, Math.min(current, 2));
  for (const [reports, cap] of UPHELD_CAPS) if (s.upheldAgainst >= reports) level = Math.min(level, cap);
  return level;
}

interface StatsRow {
  id: string;
  trust_level: number;
  days: number;
  recent_days: number;
  topics_entered: number;
  posts_read: number;
  replies: number;
  reactions_given: number;
  reactions_received: number;
  upheld_against: number;
}

@InputType()
export class SetTrustLevelInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a user id' }) userId!: string;
  @Field(() => Int) @IsInt() @Min(0) @Max(4) level!: number;
  @Field({ description: 'Kept in the moderation log, 3–500 characters.' }) @PlainText(500, { min: 3 }) reason!: string;
  @Field({ nullable: true, description: 'Keep the level from automatic changes (default true).' }) @IsOptional() @IsBoolean() locked?: boolean;
}

@Injectable()
export class TrustLevelService {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly access: AccessService,
  ) {}

  /**
   * Recomputes levels (all users, or some), recording every promotion and demotion. Returns the
   * changes. Not of accounts that cannot sign in: a deleted one (its visits and reads are gone,
   * its posts and reactions stay) keeps the level it had, as does a placeholder.
   */
  async recompute(userIds?: string[]): Promise<Array<{ userId: string; from: number; to: number }>> {
    const rows: StatsRow[] = await this.ds.query(
      // Upheld reports of the last 100 days are counted once for everybody (reports has no index
      // by target), then joined: per user, it was a scan of the whole table.
      `WITH upheld AS (
         SELECT COALESCE(CASE WHEN rp.target_type = 'USER' THEN rp.target_id END, p.author_id, t.author_id) AS user_id,
                count(DISTINCT rp.review_item_id)::int AS n
           FROM reports rp
           LEFT JOIN posts p ON rp.target_type = 'POST' AND p.id = rp.target_id
           LEFT JOIN topics t ON rp.target_type = 'TOPIC' AND t.id = rp.target_id
          WHERE rp.status = 'UPHELD' AND rp.created_at > now() - interval '100 days'
          GROUP BY 1
       )
       SELECT u.id, u.trust_level,
              (SELECT count(*) FROM user_visits v WHERE v.user_id = u.id)::int AS days,
              (SELECT count(*) FROM user_visits v WHERE v.user_id = u.id AND v.day > current_date - 100)::int AS recent_days,
              (SELECT count(*) FROM topic_reads r WHERE r.user_id = u.id)::int AS topics_entered,
              (SELECT count(*) FROM (
                 SELECT FROM topic_reads r JOIN posts p ON p.topic_id = r.topic_id AND p.number <= r.last_read_number
                  WHERE r.user_id = u.id AND p.state = 'VISIBLE' LIMIT $2) counted)::int AS posts_read,
              authored.replies,
              (SELECT count(*) FROM reactions x WHERE x.user_id = u.id)::int AS reactions_given,
              authored.reactions_received,
              COALESCE(up.n, 0) AS upheld_against
         FROM users u LEFT JOIN upheld up ON up.user_id = u.id
         -- Replies and reactions received from one visit of the user's visible posts (an aggregate: one row, for a user
         -- without posts too): two subqueries read each post's row twice, through posts_author_idx.
         CROSS JOIN LATERAL (
           SELECT count(*) FILTER (WHERE p.number > 1)::int AS replies, COALESCE(sum(p.reaction_total), 0)::int AS reactions_received
             FROM posts p WHERE p.author_id = u.id AND p.state = 'VISIBLE'
         ) authored
        WHERE NOT u.is_placeholder AND u.deleted_at IS NULL AND NOT u.trust_level_locked AND u.trust_level < 4
          AND ($1::uuid[] IS NULL OR u.id = ANY($1::uuid[]))`,
      [userIds ?? null, POSTS_READ_COUNTED],
    );
    const changes: Array<{ userId: string; from: number; to: number; stats: ActivityStats }> = [];
    for (const r of rows) {
      const stats: ActivityStats = {
        days: r.days, recentDays: r.recent_days, topicsEntered: r.topics_entered, postsRead: r.posts_read,
        replies: r.replies, reactionsGiven: r.reactions_given, reactionsReceived: r.reactions_received, upheldAgainst: r.upheld_against,
      };
      const to = earnedLevel(r.trust_level, stats);
      if (to !== r.trust_level) changes.push({ userId: r.id, from: r.trust_level, to, stats });
    }
    const made: typeof changes = [];
    for (const c of changes) {
      // Counted once it commits (a transaction retried after a deadlock runs its body again).
      const committed = await this.uow.run(async (tx) => {
        // Only from the level read above, and never over a level set by hand meanwhile (locked):
        // a concurrent run or a setTrustLevel wins, and nothing is recorded twice. Nor of an
        // account that cannot sign in (deleted, or an imported author's placeholder), as the read
        // above skips: a deletion since the read holds the row, and this finds it deleted.
        const moved = await tx.query(
          `UPDATE users SET trust_level = $2, updated_at = now()
            WHERE id = $1 AND trust_level = $3 AND NOT trust_level_locked AND deleted_at IS NULL AND NOT is_placeholder RETURNING id`,
          [c.userId, c.to, c.from],
        );
        if (moved.length === 0) return false;
        const reason = c.to > c.from ? 'promoted by activity' : 'demoted: activity or upheld reports';
        await tx.query(`INSERT INTO trust_level_changes (user_id, from_level, to_level, reason) VALUES ($1, $2, $3, $4)`, [c.userId, c.from, c.to, reason]);
        await this.audit.append(tx, { actorId: null, action: 'trust_level.change', targetType: 'user', targetId: c.userId, spaceId: null, reason, before: { level: c.from }, after: { level: c.to, stats: c.stats } });
        return true;
      });
      if (committed) made.push(c);
    }
    return made.map(({ userId, from, to }) => ({ userId, from, to }));
  }

  /** Global moderators and admins set a level by hand (the only way to TL4). */
  async set(viewer: Viewer, input: SetTrustLevelInput): Promise<UserModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (!(await this.access.moderatesSiteWide(viewer))) throw AppError.forbidden('Only global moderators and admins set trust levels');
    // As with sanctions: not one's own level, nor that of someone of one's own role or above.
    if (input.userId === viewer.id) throw AppError.badField('userId', 'you cannot set your own trust level');
    const row = await this.uow.run(async (tx) => {
      // An account that cannot sign in (deleted, or an imported author's placeholder) is NOT_FOUND, as a grant to one is.
      const before = await tx.one<{ trust_level: number; role: GlobalRole }>(
        `SELECT trust_level, role FROM users WHERE id = $1 AND deleted_at IS NULL AND NOT is_placeholder FOR UPDATE`,
        [input.userId],
      );
      if (!before) throw AppError.notFound('User not found');
      if (ROLE_POWER[before.role] >= ROLE_POWER[viewer.user!.role]) throw AppError.forbidden('You cannot set the trust level of someone of your role or above');
      const [u] = await tx.query<UserRow>(
        `UPDATE users SET trust_level = $2, trust_level_locked = $3, updated_at = now() WHERE id = $1
         RETURNING id, email, handle, display_name, role, trust_level, is_placeholder, created_at`,
        [input.userId, input.level, input.locked ?? true],
      );
      await tx.query(`INSERT INTO trust_level_changes (user_id, from_level, to_level, reason, actor_id) VALUES ($1, $2, $3, $4, $5)`, [
        input.userId, before.trust_level, input.level, input.reason, viewer.id,
      ]);
      await this.audit.append(tx, { actorId: viewer.id, action: 'trust_level.set', targetType: 'user', targetId: input.userId, spaceId: null, reason: input.reason, before: { level: before.trust_level }, after: { level: input.level, locked: input.locked ?? true } });
      return u;
    });
    return toUserModel(row);
  }
}

@Resolver()
export class TrustLevelResolver {
  constructor(private readonly service: TrustLevelService) {}

  @Mutation(() => UserModel, { description: 'Global moderators and admins: set a user’s trust level (TL4 only this way). A deleted account or an imported author’s placeholder is NOT_FOUND, as a missing one.' })
  setTrustLevel(@Args('input') input: SetTrustLevelInput, @Context() ctx: GqlContext) {
    return this.service.set(ctx.viewer, input);
  }
}
