import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { AccessLevel, ContentView, LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService, SILENCED } from '../../../access/src/access.service';
import { validKeyValue } from '../../../forum/src/cursors';
import { SanctionInput } from '../sanctions/dto/sanction.inputs';
import { HeldSanctionLock, SanctionsService } from '../sanctions/sanctions.service';
import { SessionsService } from '../../../identity/src/sessions/sessions.service';
import { UsersRepository } from '../../../identity/src/users/users.repository';
import { SanctionKind } from '../sanctions/sanction.model';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Connection, decodeCursor, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { hasVisibleText } from '../../../core/src/graphql/validators';
import { isUuid, newId } from '../../../core/src/ids';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { ForumLoaders } from '../../../forum/src/forum.loaders';
import { ContentState, TopicKind } from '../../../forum/src/forum.enums';
import { POST_MOVED, PostsService } from '../../../forum/src/posts/posts.service';
import { WaitingPost } from '../../../forum/src/posting-policy';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Escalation } from '../appeals/escalation';
import { SpamFilter } from '../spam/spam-filter';
import { SpaceModeration } from '../space-moderation';
import { ModeratePostInput, ModerationAction, ReportInput, ResolveReviewInput, ReviewQueueArgs } from './dto/report.inputs';
import {
  ContentOutcome, ReportModel, ReportRow, ReportTargetType, ReviewAction, ReviewDecision, ReviewEventModel, ReviewItemModel, ReviewItemRow,
  ReviewSort, ReviewStatus, heldClaim, toReportModel, toReviewItemModel,
} from './review.model';
import { ReviewItems } from './review-items';
import { dropAddressBans } from '../sanctions/address-bans';

export const REPORTS_PER_DAY: RateRule = { bucket: 'report:user', limit: 20, windowSeconds: 86_400 };
const CLAIM_MINUTES = 30;
const STAFF_WEIGHT = 5;
/** A reporter's record counts once more than this many of their reports were decided. */
const RECORD_AFTER = 5;


/**
 * Moderation transitions of a post: from which states, to which state. Held (PENDING) content
 * is approved, rejected or deleted, never hidden: hidden content shows others a placeholder
 * and its author, and unhiding would publish it without its approval.
 */
const TRANSITIONS: Record<ModerationAction, { from: ContentState[]; to: ContentState }> = {
  HIDE: { from: [ContentState.VISIBLE], to: ContentState.HIDDEN },
  UNHIDE: { from: [ContentState.HIDDEN], to: ContentState.VISIBLE },
  DELETE: { from: [ContentState.VISIBLE, ContentState.PENDING, ContentState.HIDDEN], to: ContentState.DELETED },
  RESTORE: { from: [ContentState.DELETED], to: ContentState.VISIBLE },
  APPROVE: { from: [ContentState.PENDING], to: ContentState.VISIBLE },
  REJECT: { from: [ContentState.PENDING], to: ContentState.DELETED },
};

/** For refusals: "A hidden post cannot be hidden". */
const PAST_PARTICIPLES: Record<ModerationAction, string> = {
  HIDE: 'hidden', UNHIDE: 'unhidden', DELETE: 'deleted', RESTORE: 'restored', APPROVE: 'approved', REJECT: 'rejected',
};

interface Target {
  spaceId: string | null;
  authorId: string | null;
  /** The post whose state stands for the target (the first post for a topic). */
  post: { id: string; number: number; state: ContentState; topic: { id: string; boardId: string; spaceId: string } } | null;
}

/** A post `moderatePost` holds, with where it is now and what judges who may see it and its topic. */
interface HeldPost {
  topic_id: string;
  board_id: string;
  space_id: string;
  state: ContentState;
  author_id: string;
  deleted_from: ContentState | null;
  topic_state: ContentState;
  topic_author: string;
}

/** What judges who may see a held post and its topic (`heldView`). */
type SeenPost = Pick<HeldPost, 'space_id' | 'state' | 'author_id' | 'deleted_from' | 'topic_state' | 'topic_author'>;

/** The post a review item acts on, with its topic, as `moderationTarget` locks them. */
interface ModerationTarget {
  id: string;
  number: number;
  state: ContentState;
  topic: { id: string; boardId: string; spaceId: string; kind: TopicKind };
}

const ONLY_ADMINS_BAN = 'Only an admin decides a proposed ban';

/** The ban a ban proposal's APPROVE gives, judged and held (`proposedBan`), and whether its member stands banned site-wide already. */
interface ProposedBan {
  ban: SanctionInput;
  standing: boolean;
}

/** What of an appeal's sanction judges who may decide the appeal (`judgeAppealDecider`). */
interface AppealedSanction {
  user_id: string;
  issued_by: string | null;
  triggered_by: string | null;
  space_id: string | null;
}

/** An appeal's sanction as `lockTarget` holds it (FOR UPDATE), which its decision reads. */
interface HeldSanction extends AppealedSanction {
  id: string;
  kind: string;
  lifted: boolean;
}

/**
 * What a decision makes of an item and of the open reports gathered on it: the one mapping that
 * resolveReviewItem and moderatePost's upholding of open reports both write (and so what the
 * reporters are told, REPORT_RESOLVED, and what their record counts, `weigh`).
 */
const OUTCOMES: Record<ReviewDecision, { item: ReviewStatus; reports: 'UPHELD' | 'REJECTED' | 'IGNORED' }> = {
  APPROVE: { item: ReviewStatus.APPROVED, reports: 'UPHELD' },
  REJECT: { item: ReviewStatus.REJECTED, reports: 'REJECTED' },
  IGNORE: { item: ReviewStatus.IGNORED, reports: 'IGNORED' },
};

/**
 * An appeal goes to a moderator other than the one who sanctioned: who issued it, or, for an
 * automatic sanction, whose decision triggered it. They may neither decide nor claim it; nor may
 * its member, a moderator there once the sanction ran out (`mayDecideAppealSql` says so too), whom
 * `authorize`'s refusal of a sanction on oneself answered BAD_USER_INPUT on `userId`.
 */
function assertNotSanctioner(viewer: Viewer, sanction: { user_id: string; issued_by: string | null; triggered_by: string | null }): void {
  if (sanction.user_id === viewer.id) throw AppError.forbidden('Your own appeal is decided by another moderator');
  if (sanction.issued_by === viewer.id || sanction.triggered_by === viewer.id) {
    throw AppError.forbidden('A moderator other than the one who issued the sanction decides its appeal');
  }
}

/** Whether an item's decision judges content: reports or automod flags on a post or topic. */
const judgesContent = (item: ReviewItemRow): boolean =>
  (item.kind === 'REPORTS' || item.kind === 'AUTOMOD') && (item.target_type === ReportTargetType.POST || item.target_type === ReportTargetType.TOPIC);

/**
 * The state an APPROVE of reports or an automod flag leaves its post in, from the state it found
 * the post in and the `action` asked (HIDE unless said): hidden or deleted as asked; as it was
 * when it is so already, when it is deleted, for NONE, and for held content asked to be hidden
 * (held content is never hidden: others would see it as a placeholder, and unhiding would publish
 * it; it waits for its PENDING_CONTENT item). Where it differs from the state found, the APPROVE
 * makes it so; where it is hidden or deleted, the post's other open items are upheld with it.
 */
function approvedState(found: ContentState, action: ReviewAction | undefined): ContentState {
  const wanted = action ?? ReviewAction.HIDE;
  const to = wanted === ReviewAction.DELETE ? ContentState.DELETED : wanted === ReviewAction.HIDE ? ContentState.HIDDEN : null;
  if (!to || found === ContentState.DELETED || (found === ContentState.PENDING && to === ContentState.HIDDEN)) return found;
  return to;
}

/**
 * A decision's `action` and `reason` where the decision would not use them, refused (BAD_USER_INPUT
 * on each, before anything is written; after an item resolved already, CONFLICT) rather than ignored, which let a client believe they took
 * effect: `action` is what an APPROVE of reports or automod flags does to the content (a REJECT
 * of auto-hidden content restores it whatever it says); `reason` is what the content's author
 * reads once it is hidden (`Post.moderationNote`), a sanction's reason when it has none of its
 * own, or the ban's reason of a ban proposal's APPROVE. Nothing reads either of a REJECT or an
 * IGNORE, of held content, an appeal (its `note` is what the appellant reads) or article feedback;
 * nor, with no sanction, the `reason` of an APPROVE that leaves the content anything but hidden
 * (judged on `post` as held): shown (action NONE on visible content, or held content, which is
 * never hidden), or deleted (action DELETE, or a post found deleted), since the author reads it
 * only while the content is hidden (`moderationNote` is for hidden and held posts alone; a
 * removal's notice, POST_REMOVED, carries no reason; a post restored to hidden shows the reason of
 * what hid it, never a deletion's; the moderation log and `audit:export` keep what was written, a
 * record of the decision, not a reader of it: moderators' words go in `note`). With a sanction,
 * such an APPROVE's `reason` (or a user report's) is the sanction's, which the member reads;
 * beside a sanction's own reason it would be read by nobody, and is refused: the one reason goes
 * on the sanction, as the reason Discourse's "agree and silence/suspend" asks goes on the penalty.
 * Nor the `reason` of a ban proposal's APPROVE once its member is `banned` site-wide already (read
 * under their sanction lock, `proposedBan`): it bans nothing, and the member reads the standing
 * ban's reason.
 */
function refuseUnusedInput(item: ReviewItemRow, input: ResolveReviewInput, post: { state: ContentState } | null, banned: boolean): void {
  const approve = input.decision === ReviewDecision.APPROVE;
  const fields: Array<{ field: string; message: string }> = [];
  if (input.action !== undefined && input.action !== null && !(approve && judgesContent(item))) {
    fields.push({ field: 'action', message: 'goes only with APPROVE of reports or automod flags on a post or topic' });
  }
  const sanctioned = (item.kind === 'REPORTS' || item.kind === 'AUTOMOD') && !!input.sanction;
  const reasonRead = approve && (item.kind === 'BAN_PROPOSAL' || judgesContent(item) || sanctioned);
  // What the APPROVE leaves the content as (null when it judges none, or the post is gone).
  const left = approve && judgesContent(item) && post ? approvedState(post.state, input.action) : null;
  const leftShown = left === ContentState.VISIBLE || left === ContentState.PENDING;
  const leftDeleted = left === ContentState.DELETED;
  if (input.reason !== undefined && input.reason !== null) {
    if (!reasonRead) {
      fields.push({ field: 'reason', message: 'goes only with APPROVE of reports or automod flags (what the author reads, or a sanction’s reason) or of a ban proposal (the ban’s reason)' });
    } else if (item.kind === 'BAN_PROPOSAL' && banned) {
      fields.push({ field: 'reason', message: 'is the ban’s reason: this member is banned site-wide already, and reads that ban’s reason (approve without one)' });
    } else if (leftShown && !sanctioned) {
      fields.push({ field: 'reason', message: 'is what the author reads once the content is hidden: this APPROVE leaves it shown (with no sanction to take it)' });
    } else if (leftDeleted && !sanctioned) {
      // Found deleted (its author's deletion, or a moderator's, since the moderator read it): said so, as what changed under them.
      const why = post!.state === ContentState.DELETED ? 'the post was deleted meanwhile (by its author or a moderator), which' : 'this APPROVE leaves it deleted, which';
      fields.push({ field: 'reason', message: `is what the author reads while the content is hidden: ${why} shows its author no reason (with no sanction to take it)` });
    } else if (sanctioned && input.sanction!.reason != null && (leftShown || leftDeleted || !judgesContent(item))) {
      fields.push({ field: 'reason', message: `is the sanction’s reason when it has none of its own: this APPROVE ${leftDeleted ? 'leaves the content deleted, which shows its author no reason' : 'hides nothing'}, and the sanction’s own reason is all the member reads` });
    }
  }
  if (fields.length) throw AppError.badInput(fields);
}

@Injectable()
export class ReportsService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly limiter: RateLimiter,
    private readonly forum: ForumLoaders,
    private readonly posts: PostsService,
    private readonly escalation: Escalation,
    private readonly spam: SpamFilter,
    private readonly settings: SpaceModeration,
    private readonly reviewItems: ReviewItems,
    private readonly sanctions: SanctionsService,
    private readonly sessions: SessionsService,
    private readonly users: UsersRepository,
  ) {}

  /**
   * What is reported, as the reporter can see it; NOT_FOUND for anything they cannot. An
   * anonymised (deleted) account is no longer anyone to report: NOT_FOUND, as for an id that names
   * nobody; nor is an imported author's placeholder, which nobody signs in to or acts as (NOT_FOUND
   * as a trust level or a grant given to one is; `is_placeholder` never changes, so this read is
   * the one check). What either wrote stays, and is reported as anyone's content is.
   */
  private async target(viewer: Viewer, type: ReportTargetType, id: string): Promise<Target> {
    if (type === ReportTargetType.USER) {
      const rows: Array<{ id: string }> = await this.ds.query(`SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL AND NOT is_placeholder`, [id]);
      if (!rows[0]) throw AppError.notFound('User not found');
      return { spaceId: null, authorId: id, post: null };
    }
    const post = type === ReportTargetType.POST ? await this.forum.post(viewer, id) : await this.firstPostOf(viewer, id);
    if (!post || post.view !== 'full') throw AppError.notFound(type === ReportTargetType.POST ? 'Post not found' : 'Topic not found');
    const topic = await this.forum.topic(viewer, post.topicId);
    if (!topic) throw AppError.notFound('Topic not found');
    return {
      spaceId: post.spaceId,
      authorId: post.authorId,
      post: { id: post.id, number: post.number, state: post.state, topic: { id: topic.id, boardId: topic.boardId, spaceId: topic.spaceId } },
    };
  }

  private async firstPostOf(viewer: Viewer, topicId: string) {
    const topic = await this.forum.topic(viewer, topicId);
    return topic ? this.forum.firstPost(viewer, topic.id) : null;
  }

  /**
   * A report's weight: 5 for staff, else 1 + the reporter's trust level; once more than
   * five of their reports were decided, multiplied by 0.5 + the share that was upheld. Weighed in
   * the report's transaction, on the reporter as read there (`viewerNow`).
   */
  private async weigh(tx: Tx, reporter: Viewer, spaceId: string | null): Promise<{ weight: number; breakdown: Record<string, unknown> }> {
    const staff = (await this.access.moderatesSiteWide(reporter)) || (spaceId !== null && (await this.access.rankOn(reporter, spaceId)) >= LEVEL_RANK.MODERATE);
    const base = staff ? STAFF_WEIGHT : 1 + (reporter.user?.trustLevel ?? 0);
    const [record] = await tx.query<{ upheld: number; decided: number }>(
      `SELECT count(*) FILTER (WHERE status = 'UPHELD')::int AS upheld, count(*) FILTER (WHERE status IN ('UPHELD', 'REJECTED'))::int AS decided
         FROM reports WHERE reporter_id = $1`,
      [reporter.id],
    );
    const counts = record.decided > RECORD_AFTER;
    const multiplier = counts ? 0.5 + record.upheld / record.decided : 1;
    const weight = Math.round(base * multiplier * 100) / 100;
    return {
      weight,
      breakdown: {
        base,
        basis: staff ? 'staff' : `trust level ${reporter.user?.trustLevel ?? 0}`,
        record: { decided: record.decided, upheld: record.upheld, counted: counts, multiplier: Math.round(multiplier * 100) / 100 },
        weight,
      },
    };
  }

  /** Reporting is participating: readers, silenced users and anonymous visitors cannot. */
  private async assertMayReport(reporter: Viewer, spaceId: string | null): Promise<void> {
    if (spaceId) await this.access.require(reporter, spaceId, AccessLevel.PARTICIPATE);
    else if (await this.access.silencedSiteWide(reporter)) throw AppError.forbidden(SILENCED);
  }

  /**
   * The auto-hide threshold the report's score is held to, as it stands in `tx` once the post is
   * held: infinite (never hidden) outside a space, and for content whose author is staff there
   * (`underAutomaticModeration`, their row held as the ladder holds it: one made a moderator
   * meanwhile is staff, or becomes staff once the report committed). The space's settings are
   * read first; the author only when the score reaches them.
   */
  private async autoHideThreshold(tx: Tx, spaceId: string | null, authorId: string | null, score: number): Promise<number> {
    if (!spaceId || !authorId) return Number.POSITIVE_INFINITY;
    const threshold = (await this.settings.of(spaceId, { tx })).autoHideThreshold;
    if (score < threshold || !(await this.sanctions.underAutomaticModeration(authorId, spaceId, tx))) return Number.POSITIVE_INFINITY;
    return threshold;
  }

  async report(viewer: Viewer, input: ReportInput): Promise<ReportModel> {
    if (!viewer.user) throw AppError.unauthenticated();
    if (input.reason === 'OTHER' && !hasVisibleText(input.note)) throw AppError.badField('note', 'is required when the reason is OTHER');
    const target = await this.target(viewer, input.targetType, input.targetId);
    if (target.authorId === viewer.id) throw AppError.badField('targetId', 'you cannot report yourself or your own content');
    // Refused early, on the request's session, before any lock; judged again once the post is held.
    await this.assertMayReport(viewer, target.spaceId);
    // A topic's first post is the topic: reports of either gather on one item, with one score,
    // and one reporter reports it once (a reply split off into a new topic brings its open
    // reports there: `fileReportsOnNewTopic`).
    const first = target.post?.number === 1 ? target.post : null;
    const [targetType, targetId] = first ? [ReportTargetType.TOPIC, first.topic.id] : [input.targetType, input.targetId];

    const report = await this.uow.run(async (tx) => {
      // Checked and counted with the report itself, under a lock: parallel reports cannot exceed the day's limit.
      await this.limiter.hitWithin(tx, [[REPORTS_PER_DAY, viewer.user!.id]]);
      // The item goes to the queue of the content's space: a move waited for here, or one that
      // committed since `target` read it, would leave it in the old space's queue. The post's
      // row (moveTopic rewrites its space too) is locked as applyState locks it, after holding
      // its topic (PostsService.holdTopic: topics before posts). A reply `movePosts` took to
      // another topic meanwhile is CONFLICT (POST_MOVED, `lockInTopic`): its target (a post, or
      // the topic of a first post) was chosen on where it was, and its new topic is not held.
      const notFound = () => AppError.notFound(input.targetType === ReportTargetType.POST ? 'Post not found' : 'Topic not found');
      const now = target.post
        ? await this.posts.lockInTopic<SeenPost>(tx, target.post.topic.id, target.post.id, 'p.space_id, p.state, p.author_id, p.deleted_from', 't.state AS topic_state, t.author_id AS topic_author')
        : null;
      if (target.post) {
        // Deleted since it was read (by its author, say): there is nothing left to report.
        if (!now || (now.state === ContentState.DELETED && target.post.state !== ContentState.DELETED)) throw notFound();
      }
      // What the report decides on is read here, once the post is held, not before the
      // transaction: the reporter as they are now (`viewerNow`: one silenced, or whose grant was
      // revoked, meanwhile reports nothing, or weighs as what they are now), their weight, and
      // below the space's threshold and whether its author is under automatic moderation.
      const reporter = await this.sessions.viewerNow(viewer, tx);
      // A reported account is read again here, held as a write naming it holds it (`holdMember`,
      // FOR SHARE, which its deletion's ACCOUNT_LOCK waits for): one anonymised since `target`
      // found it is NOT_FOUND, nothing written; an anonymisation under way waits for the report.
      if (input.targetType === ReportTargetType.USER && !(await this.users.holdMember(tx, targetId))) throw AppError.notFound('User not found');
      // Whether they may see it is judged again too, as `target` judged it, on the post and topic
      // as held: a moderator demoted meanwhile no longer sees hidden or held content (NOT_FOUND).
      if (now && (await this.heldView(reporter, now)).view !== 'full') throw notFound();
      // Moved to another space meanwhile: judged above where it is now (one moved out of the
      // reporter's sight is NOT_FOUND, as if gone, never told of the move), then refused, to be
      // reported again where it is (its item would go to the old space's queue).
      if (now && now.space_id !== target.spaceId) throw AppError.conflict('The topic moved while your report was on its way: report it again');
      await this.assertMayReport(reporter, target.spaceId);
      const { weight, breakdown } = await this.weigh(tx, reporter, target.spaceId);
      // A moderator kept this content after this reporter's report (of the post, or of the topic
      // for a first post, as either was filed: a reply split off into a new topic was reported as
      // a post): the same report again would only re-score (and re-hide) it. An edit since then
      // makes it new content, open to reports.
      if (target.post) {
        const [cleared] = await tx.query(
          `SELECT 1 FROM reports r JOIN review_items i ON i.id = r.review_item_id
            WHERE r.reporter_id = $1 AND ((r.target_type = 'POST' AND r.target_id = $2) OR (r.target_type = 'TOPIC' AND r.target_id = $3)) AND r.status = 'REJECTED'
              AND i.resolved_at >= COALESCE((SELECT edited_at FROM posts WHERE id = $2), '-infinity'::timestamptz)
            LIMIT 1`,
          [viewer.id, target.post.id, first?.topic.id ?? null],
        );
        if (cleared) throw AppError.conflict('A moderator reviewed your report of this and kept it; you can report it again if it changes');
      }
      const item = await this.reviewItems.open(tx, {
        spaceId: target.spaceId, targetType, targetId, kind: 'REPORTS', score: weight,
        actorId: viewer.id, action: 'reported', note: `${input.reason}${input.note ? `: ${input.note}` : ''}`,
      });
      const inserted = await tx.query<ReportRow>(
        `INSERT INTO reports (id, review_item_id, reporter_id, target_type, target_id, reason, note, weight, weight_breakdown)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (reporter_id, target_type, target_id) WHERE status = 'OPEN' DO NOTHING RETURNING *`,
        [newId(), item.id, viewer.id, targetType, targetId, input.reason, input.note ?? null, weight, JSON.stringify(breakdown)],
      );
      if (inserted.length === 0) throw AppError.conflict('You already reported this; moderators will look at it');
      // Staff content is scored and queued like any other, but only a person hides it.
      const threshold = target.post && !item.auto_hidden ? await this.autoHideThreshold(tx, target.spaceId, target.authorId, Number(item.score)) : Number.POSITIVE_INFINITY;
      const autoHide = Number(item.score) >= threshold && target.post;
      if (autoHide && (await this.posts.applyStateFrom(tx, null, autoHide, autoHide.topic, [ContentState.VISIBLE], ContentState.HIDDEN)).changed) {
        await tx.query(`UPDATE review_items SET auto_hidden = true WHERE id = $1`, [item.id]);
        await this.reviewItems.record(tx, item.id, null, 'auto-hidden', `score ${Number(item.score)} reached ${threshold}`);
        await this.audit.append(tx, {
          actorId: null,
          action: 'post.auto_hide',
          targetType: 'post',
          targetId: autoHide.id,
          spaceId: target.spaceId,
          reason: `reports reached the auto-hide threshold (${Number(item.score)} ≥ ${threshold})`,
          before: { state: ContentState.VISIBLE },
          after: { state: ContentState.HIDDEN },
        });
      }
      return inserted[0];
    });
    return toReportModel(report);
  }

  /**
   * A claim by another moderator that holds (not run out, its claimant still able to handle the
   * item: `ReviewItems.claimHoldsSql`, which its `columns` apply) keeps everyone else off the item.
   */
  private assertUnclaimedByOthers(viewer: Viewer, item: ReviewItemRow): void {
    const claim = heldClaim(item);
    if (claim && claim.by !== viewer.id) {
      throw AppError.conflict('Another moderator is handling this item');
    }
  }

  /** Which review items the viewer may handle: their spaces; site-wide ones for global moderators. */
  private async scope(viewer: Viewer, spaceId?: string): Promise<{ spaces: string[]; global: boolean }> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (spaceId) {
      await this.access.require(viewer, spaceId, AccessLevel.MODERATE, 'Space not found');
      return { spaces: [spaceId], global: false };
    }
    const spaces = await this.access.moderatedSpaceIds(viewer);
    const global = await this.access.moderatesSiteWide(viewer);
    if (!global && spaces.length === 0) throw AppError.forbidden('Only moderators see the review queue');
    return { spaces, global };
  }

  async queue(viewer: Viewer, args: ReviewQueueArgs): Promise<Connection<ReviewItemModel>> {
    const { spaces, global } = await this.scope(viewer, args.spaceId);
    const status = args.status ?? ReviewStatus.PENDING;
    const sort = args.sort ?? ReviewSort.SCORE;
    const bySort = sort === ReviewSort.SCORE;
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, `review:${sort}`, 3) as [string, string, string] | undefined;
    // Each value's own type first: String([1]) passes the pattern, and the array would reach SQL.
    if (after && !(typeof after[0] === 'string' && /^-?\d{1,12}(\.\d{1,12})?$/.test(after[0]) && validKeyValue(after[1], 'timestamptz') && validKeyValue(after[2], 'uuid'))) {
      throw AppError.badField('after', 'is not a valid cursor');
    }
    const where = `(space_id = ANY($1::uuid[])${global ? ' OR space_id IS NULL' : ''}) AND status = $2`;
    // SCORE: highest first, then oldest; AGE: oldest first. Keyset on (score, created_at, id).
    const order = bySort ? 'score DESC, created_at, id' : 'created_at, id';
    const keyset = bySort ? `(-score, created_at, id) > (-$4::numeric, $5::timestamptz, $6::uuid)` : `(created_at, id) > ($4::timestamptz, $5::uuid)`;
    const params: unknown[] = [spaces, status, size + 1];
    // Only the values the sort's keyset reads: an unused parameter has no type PostgreSQL can infer.
    if (after) params.push(...(bySort ? after : after.slice(1)));
    const rows: Array<ReviewItemRow & { k_ts: string }> = await this.ds.query(
      `SELECT ${this.reviewItems.columns()}, created_at::text AS k_ts FROM review_items
        WHERE ${where} ${after ? `AND ${keyset}` : ''} ORDER BY ${order} LIMIT $3`,
      params,
    );
    return toConnection(
      rows,
      size,
      `review:${sort}`,
      (r) => [String(r.score), r.k_ts, r.id],
      toReviewItemModel,
      async () => (await this.ds.query(`SELECT count(*)::int AS n FROM review_items WHERE ${where}`, [spaces, status]))[0].n,
    );
  }

  /**
   * An item the viewer may handle, locked for update within `tx`, and who handles it as they are
   * now (`moderator`): judged once the item is held, on the moderator read again on the
   * transaction's connection (`viewerNow`), as an appeal's decider is (`assertMayDecideAppeal`),
   * not on the request's session: one whose grant was revoked, or who was demoted, silenced or
   * barred, while the handling waited for the item (or since the request began) handles nothing
   * (NOT_FOUND; UNAUTHENTICATED once barred site-wide or deleted). What the handling judges
   * after (a ban proposal's admin, an appeal's decider, a sanction given) asks `moderator`.
   */
  private async lockItem(tx: Tx, viewer: Viewer, id: string): Promise<{ item: ReviewItemRow; moderator: Viewer }> {
    const item = await this.itemRow(tx, id, 'FOR UPDATE');
    const moderator = await this.sessions.viewerNow(viewer, tx);
    await this.assertHandles(tx, moderator, item);
    return { item, moderator };
  }

  /**
   * The item `id`, read unlocked in `tx`, when the viewer, as the request's session has them,
   * may handle it (`assertHandles`): `lockTarget`'s early refusal, before any lock is taken;
   * `lockItem` judges again on the item held and the moderator as they are now.
   */
  private async handledItem(tx: Tx, viewer: Viewer, id: string): Promise<ReviewItemRow> {
    const item = await this.itemRow(tx, id);
    await this.assertHandles(tx, viewer, item);
    return item;
  }

  /** The item `id`, read in `tx` (with `lock`, if any); NOT_FOUND for an id that names nothing. */
  private async itemRow(tx: Tx, id: string, lock = ''): Promise<ReviewItemRow> {
    const item = isUuid(id) ? await tx.one<ReviewItemRow>(`SELECT ${this.reviewItems.columns()} FROM review_items WHERE id = $1 ${lock}`, [id]) : undefined;
    if (!item) throw AppError.notFound('Review item not found');
    return item;
  }

  /**
   * NOT_FOUND, as for an id that names nothing, unless the viewer may handle the item: its
   * space's moderators, site-wide ones for a space-less item, or whom a module lets decide its kind
   * (asked in `tx`, where the item was read).
   */
  private async assertHandles(tx: Tx, viewer: Viewer, item: ReviewItemRow): Promise<void> {
    const ok = item.space_id
      ? (await this.access.rankOn(viewer, item.space_id)) >= LEVEL_RANK.MODERATE
      : await this.access.moderatesSiteWide(viewer);
    if (!ok && !(await this.reviewItems.mayDecide(tx.manager, viewer, item))) throw AppError.notFound('Review item not found');
  }

  async claim(viewer: Viewer, id: string): Promise<ReviewItemModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const row = await this.uow.run(async (tx) => {
      const { item, moderator } = await this.lockItem(tx, viewer, id);
      if (item.status !== ReviewStatus.PENDING) throw AppError.conflict('This item is already resolved');
      // A claim keeps others off the item: only who may decide it may hold it.
      if (item.kind === 'BAN_PROPOSAL' && !moderator.isAdmin) throw AppError.forbidden(ONLY_ADMINS_BAN);
      if (item.kind === 'APPEAL') {
        const sanction = await tx.one<AppealedSanction>(`SELECT user_id, space_id, issued_by, triggered_by FROM sanctions WHERE id = $1`, [item.target_id]);
        if (sanction) await this.judgeAppealDecider(tx, moderator, sanction);
      }
      await this.assertNotOffender(tx, moderator, item);
      this.assertUnclaimedByOthers(moderator, item);
      const [claimed] = await tx.query<ReviewItemRow>(
        `UPDATE review_items SET claimed_by = $2, claimed_until = now() + make_interval(mins => ${CLAIM_MINUTES}), updated_at = now()
          WHERE id = $1 RETURNING ${this.reviewItems.columns()}`,
        [id, moderator.id],
      );
      await this.reviewItems.record(tx, id, moderator.id, 'claimed');
      await this.reviewItems.changed(tx, { id, spaceId: item.space_id, status: item.status, claimedBy: moderator.id! });
      await this.audit.append(tx, { actorId: moderator.id, action: 'review.claim', targetType: item.target_type.toLowerCase(), targetId: item.target_id, spaceId: item.space_id });
      return claimed;
    });
    this.forgetItems(viewer);
    return toReviewItemModel(row);
  }

  /**
   * APPROVE upholds the reports and acts on the content (hide by default, or delete);
   * REJECT restores auto-hidden content (not one a moderator unhid and hid again by hand since,
   * nor one whose other reports or flags a moderator upheld since while a claim kept this item
   * open: `keptHiddenSinceAutoHide`) and counts against the reporters' record;
   * IGNORE closes the item without judging the reports (held content and appeals are
   * approved or rejected: they wait on the decision).
   */
  async resolve(viewer: Viewer, input: ResolveReviewInput): Promise<ReviewItemModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { row, post } = await this.uow.run(async (tx) => {
      const { sanction, post, banLock } = await this.lockTarget(tx, viewer, input.id, input.decision);
      const { item, moderator } = await this.lockItem(tx, viewer, input.id);
      // Resolved meanwhile (by a moderator this one raced): said first, before input its resolution
      // leaves unused (a reason for a post it deleted), which was refused first, hiding the race.
      if (item.status !== ReviewStatus.PENDING) throw AppError.conflict('This item is already resolved');
      const ban = await this.proposedBan(tx, moderator, item, input, banLock);
      if (item.kind === 'APPEAL') await this.judgeAppealDecider(tx, moderator, sanction);
      // Reports on the moderator's own content: FORBIDDEN before their unused input or another's claim, as `claim` says it first.
      await this.assertNotOffender(tx, moderator, item);
      refuseUnusedInput(item, input, post, ban?.standing ?? false);
      this.assertUnclaimedByOthers(moderator, item);
      const { item: status, reports: reportStatus } = OUTCOMES[input.decision];
      let action = 'none';
      // What the decision did to the post, as data (`ContentOutcome`): readers match on it, never on `action`'s wording.
      let outcome: ContentOutcome | null = post ? 'NONE' : null;
      if (item.kind === 'APPEAL') {
        action = await this.decideAppeal(tx, moderator, sanction!, input);
      } else if (item.kind === 'BAN_PROPOSAL') {
        action = await this.decideBanProposal(tx, moderator, ban);
      } else if (item.kind === 'PENDING_CONTENT') {
        // A held contribution: approving publishes it, rejecting removes it. A held edit of a
        // visible post becomes its text, or is dropped (the post keeps the text it had).
        // Ignoring would leave it waiting with no item to decide it by: only what no longer
        // waits (a deleted post's) is closed that way. A deleted
        // post's held edit is rejected or ignored (dropped either way), never approved
        // (`decidePendingEdit`: CONFLICT).
        // (An article's draft waits for publishArticle, not for this item: that item may be closed.)
        const draft = post?.number === 1 && post.topic.kind === TopicKind.ARTICLE;
        if (input.decision === ReviewDecision.IGNORE && post && !draft && (post.state === ContentState.PENDING || (post.state !== ContentState.DELETED && (await this.posts.hasPendingEdit(tx, post.id))))) {
          throw AppError.badField('decision', 'held content is approved (APPROVE) or rejected (REJECT)');
        }
        if (post?.state === ContentState.PENDING && input.decision !== ReviewDecision.IGNORE) {
          const to = input.decision === ReviewDecision.APPROVE ? ContentState.VISIBLE : ContentState.DELETED;
          await this.posts.applyState(tx, moderator.id, post, post.topic, to);
          action = to === ContentState.VISIBLE ? 'published' : 'rejected';
          outcome = to === ContentState.VISIBLE ? 'PUBLISHED' : 'REJECTED';
        } else if (post && (input.decision !== ReviewDecision.IGNORE || post.state === ContentState.DELETED)) {
          // A deleted post's edit no longer waits: ignoring its item drops it too, as any
          // decision on it would, or restoring the post would bring back an edit with no item.
          const edit = await this.posts.decidePendingEdit(tx, post.id, input.decision === ReviewDecision.APPROVE);
          if (edit) {
            action = `edit ${edit.outcome}`;
            outcome = edit.outcome === 'published' ? 'EDIT_PUBLISHED' : 'EDIT_DROPPED';
          }
          // Nothing waits beside a deleted post (an item a deletion left before deletions settled
          // them: its author's withdraws it, a moderator's rejects it): approving would publish
          // nothing, yet record an approval and teach the spam model. Refused as an edit waiting
          // there is, nothing written. Rejecting or ignoring closes it, saying it found nothing.
          else if (post.state === ContentState.DELETED) {
            if (input.decision === ReviewDecision.APPROVE) {
              throw AppError.conflict('This post was deleted: nothing of it can be approved (restore the post first, or reject or ignore the item)');
            }
            action = 'nothing left: the post was deleted';
          }
        }
      } else if (post && input.decision === ReviewDecision.APPROVE && judgesContent(item)) {
        // Only reports and automod flags judge the content; other kinds (article feedback) just close.
        const to = approvedState(post.state, input.action);
        if (to !== post.state) {
          await this.posts.applyState(tx, moderator.id, post, post.topic, to);
          action = to === ContentState.DELETED ? 'deleted' : 'hidden';
          outcome = to === ContentState.DELETED ? 'DELETED' : 'HIDDEN';
          // Held content deleted here is rejected: its PENDING_CONTENT item is settled too.
          if (post.state === ContentState.PENDING) {
            await this.reviewItems.settleHeld(tx, { id: post.id, number: post.number, topicId: post.topic.id }, {
              status: ReviewStatus.REJECTED, resolvedBy: moderator.id, actorId: moderator.id, action: 'resolved: reject (deleted through an upheld flag)', note: input.note ?? null,
            });
          }
        } else if (post.state === ContentState.DELETED) {
          // Upheld all the same (its author deleting it escapes nothing): the record says why nothing was done to it.
          action = 'none: the post was already deleted';
        }
      }
      if (item.kind !== 'PENDING_CONTENT' && post && input.decision === ReviewDecision.REJECT && item.auto_hidden && post.state === ContentState.HIDDEN) {
        const kept = await this.keptHiddenSinceAutoHide(tx, item.id, post);
        if (kept) {
          action = `none: ${kept} by a moderator since it was hidden automatically`;
        } else {
          await this.posts.applyState(tx, moderator.id, post, post.topic, ContentState.VISIBLE);
          action = 'restored';
          outcome = 'RESTORED';
        }
      }
      await tx.query(`UPDATE reports SET status = $2 WHERE review_item_id = $1 AND status = 'OPEN'`, [item.id, reportStatus]);
      const [resolved] = await tx.query<ReviewItemRow>(
        `UPDATE review_items SET status = $2, resolved_by = $3, resolved_at = now(), decision_note = $4, claimed_by = NULL, claimed_until = NULL, updated_at = now()
          WHERE id = $1 RETURNING ${this.reviewItems.columns()}`,
        [item.id, status, moderator.id, input.note ?? null],
      );
      await this.teachSpamFilter(tx, item, input.decision);
      // The offender's sanction lock, when the sanction given here took it: the ladder climbed for
      // the post's other items below (the same author's) takes it as held.
      let held: { userId: string; lock: HeldSanctionLock } | undefined;
      if (input.sanction) {
        const given = await this.sanctionOffender(tx, moderator, item, input);
        action += `; ${given.action}`;
        if (given.lock) held = { userId: given.offender, lock: given.lock };
      } else if ((item.kind === 'REPORTS' || item.kind === 'AUTOMOD') && input.decision === ReviewDecision.APPROVE) {
        const offender = await this.offenderOf(tx, item);
        const escalated = offender ? await this.escalation.onViolation(tx, offender, item.space_id, moderator.id, item.id) : null;
        if (escalated) action += `; escalation: ${escalated}`;
      }
      // The content is dealt with: the other open reports and automod flags on it (its topic's
      // for a first post) are upheld with this item, as moderatePost HIDE and DELETE uphold them
      // (not one another moderator claimed). Left pending, they waited in the queue for content
      // already judged, and a REJECT of an auto-hidden one restored what this moderator upheld.
      // After this item's ladder step or sanction: theirs count the same post, which climbs once.
      const left = post && input.decision === ReviewDecision.APPROVE && judgesContent(item) ? approvedState(post.state, input.action) : null;
      if (post && (left === ContentState.HIDDEN || left === ContentState.DELETED)) {
        await this.upholdOpenReports(tx, moderator.id!, { id: post.id, number: post.number, topicId: post.topic.id }, { done: left === ContentState.DELETED ? 'deleted' : 'hidden', via: 'resolveReviewItem', reason: input.note ?? null }, held);
      }
      await this.reviewItems.record(tx, item.id, moderator.id, `resolved: ${input.decision.toLowerCase()} (${action})`, input.note ?? null, status);
      await this.audit.append(tx, {
        actorId: moderator.id,
        action: `review.${input.decision.toLowerCase()}`,
        targetType: item.target_type.toLowerCase(),
        targetId: item.target_id,
        spaceId: item.space_id,
        reason: input.note ?? null,
        before: post ? { state: post.state } : null,
        // The reason is the author's to read (Post.moderationNote); the note stays among moderators.
        // `outcome` is what readers match on (the log's `outcome` column), in `after` too, which the
        // hash covers; `action` says it for people.
        after: { decision: input.decision, action, ...(outcome ? { outcome } : {}), ...(input.reason ? { authorReason: input.reason } : {}) },
        outcome,
      });
      await this.reviewItems.changed(tx, { id: item.id, spaceId: item.space_id, status });
      return { row: resolved, post };
    });
    this.forgetItems(viewer);
    // The decision may have moved the content (published, hidden, deleted, restored, an edit
    // taken): later fields of the request read it, and what shows it, afresh, as after moderatePost.
    if (post) this.forum.forget(viewer, { topicId: post.topic.id, postId: post.id });
    return toReviewItemModel(row);
  }

  /**
   * Whether a person decided since the auto-hide of `itemId` that the post stays hidden, whose
   * decision a REJECT of its reports does not undo (answered as the history says it: 'hidden' or
   * 'upheld hidden'; null when nobody did, and the REJECT restores it):
   * - 'hidden': a moderator unhid it (`moderatePost` UNHIDE) after its latest auto-hide, and it
   *   is hidden again (`moderatePost` HIDE, another item's APPROVE, while a claim kept this item
   *   open). The log's entries are written at commit, in commit order (`AuditLog.append`): an
   *   unhide, which waited for the auto-hide's lock on the post, always comes after it.
   * - 'upheld hidden': another item's reports or automod flag on the post (or its topic, for a
   *   first post) was upheld after the auto-hide (an APPROVE that found it hidden, or one of the
   *   others it upheld with it, `upholdOpenReports`), while another moderator's claim kept this
   *   item open: the post's fate was decided then, and a claim keeps others off this item's
   *   decision on its reports, not off the content. The two history lines are ordered by their
   *   ids: the upholding, holding the post as every decision on it does, wrote its line only
   *   once the report that auto-hid it had committed.
   * One statement.
   */
  private async keptHiddenSinceAutoHide(tx: Tx, itemId: string, post: { id: string; number: number; topic: { id: string } }): Promise<'hidden' | 'upheld hidden' | null> {
    const [kept] = await tx.query<{ unhidden: boolean; upheld: boolean }>(
      `SELECT EXISTS (
                SELECT 1 FROM moderation_log u
                 WHERE u.target_type = 'post' AND u.target_id = $1 AND u.action = 'post.unhide'
                   AND u.id > COALESCE((SELECT max(a.id) FROM moderation_log a WHERE a.target_type = 'post' AND a.target_id = $1 AND a.action = 'post.auto_hide'), 0)
              ) AS unhidden,
              EXISTS (
                SELECT 1 FROM review_items o JOIN review_item_events e ON e.review_item_id = o.id
                 WHERE o.id <> $2 AND o.kind IN ('REPORTS', 'AUTOMOD') AND o.status = 'APPROVED'
                   AND ((o.target_type = 'POST' AND o.target_id = $1) OR (o.target_type = 'TOPIC' AND o.target_id = $3))
                   AND e.resolved_as = 'APPROVED'
                   AND e.id > COALESCE((SELECT max(h.id) FROM review_item_events h WHERE h.review_item_id = $2 AND h.action = 'auto-hidden'), 0)
              ) AS upheld`,
      [post.id, itemId, post.number === 1 ? post.topic.id : null],
    );
    return kept.unhidden ? 'hidden' : kept.upheld ? 'upheld hidden' : null;
  }

  /**
   * Moderators' decisions teach the community's spam model: reports upheld as SPAM are
   * spam; wrongly reported content and approved held content (here or with moderatePost) are not.
   */
  private async teachSpamFilter(tx: Tx, item: ReviewItemRow, decision: ReviewDecision): Promise<void> {
    if (item.target_type !== ReportTargetType.POST && item.target_type !== ReportTargetType.TOPIC) return;
    let spam: boolean | null = null;
    if (item.kind === 'REPORTS' && decision === ReviewDecision.APPROVE) {
      const [r] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM reports WHERE review_item_id = $1 AND reason = 'SPAM'`, [item.id]);
      if (r.n > 0) spam = true;
    } else if (item.kind === 'REPORTS' && decision === ReviewDecision.REJECT) {
      spam = false;
    } else if (item.kind === 'PENDING_CONTENT' && decision === ReviewDecision.APPROVE) {
      spam = false;
    }
    if (spam === null) return;
    await this.spam.learnFrom(tx, item.space_id, { type: item.target_type, id: item.target_id }, spam);
  }

  /**
   * The sanction a moderator gives with an APPROVE of reports or automod flags: to the content's
   * author (the reported user), in the item's space, judged as `sanctionUser` judges it. It
   * takes the place of the escalation ladder's step for this violation (which still counts).
   */
  private async sanctionOffender(tx: Tx, viewer: Viewer, item: ReviewItemRow, input: ResolveReviewInput): Promise<{ action: string; offender: string; lock: HeldSanctionLock | undefined }> {
    const wanted = input.sanction!;
    if (input.decision !== ReviewDecision.APPROVE || (item.kind !== 'REPORTS' && item.kind !== 'AUTOMOD')) {
      throw AppError.badField('sanction', 'goes only with APPROVE of reports or automod flags');
    }
    const offender = await this.offenderOf(tx, item);
    if (!offender) throw AppError.badField('sanction', 'this item has no author to sanction');
    // What the user reads: the sanction's own reason, else the one given to the author; never the moderators' note.
    const reason = wanted.reason ?? input.reason;
    if (!reason) throw AppError.badField('sanction', 'needs a reason the user will read (its own, or the decision’s `reason`)');
    const sanction = Object.assign(new SanctionInput(), { userId: offender, kind: wanted.kind, durationHours: wanted.durationHours, reason, spaceId: item.space_id ?? undefined });
    const { sanction: issued, lock } = await this.sanctions.issue(tx, viewer, sanction).catch((err: AppError) => {
      // Errors about the sanction's shape name this input's fields (sanction.durationHours).
      const field = err.code === 'BAD_USER_INPUT' ? err.details.fields?.[0]?.field : undefined;
      throw field ? AppError.badField(`sanction.${field}`, err.message) : err;
    });
    return { action: `sanction: ${issued.kind.toLowerCase()}${wanted.durationHours ? ` ${wanted.durationHours}h` : ''}`, offender, lock };
  }

  /** Whose content (or which user) a review item is about. */
  private async offenderOf(tx: Tx, item: ReviewItemRow): Promise<string | null> {
    if (item.target_type === ReportTargetType.USER) return item.target_id;
    const table = item.target_type === ReportTargetType.POST ? 'posts' : 'topics';
    const row = await tx.one<{ author_id: string }>(`SELECT author_id FROM ${table} WHERE id = $1`, [item.target_id]);
    return row?.author_id ?? null;
  }

  /** Reports and automod flags on a moderator's own content (or on them) are for another moderator to judge. */
  private async assertNotOffender(tx: Tx, viewer: Viewer, item: ReviewItemRow): Promise<void> {
    if (item.kind !== 'REPORTS' && item.kind !== 'AUTOMOD') return;
    if ((await this.offenderOf(tx, item)) === viewer.id) throw AppError.forbidden('Reports on your own content or account are decided by another moderator');
  }

  /**
   * Appeals are decided by a moderator other than the one who issued the sanction or, for an
   * automatic one, whose decision triggered it, and who could lift it (FORBIDDEN). Judged before
   * anything else of the decision (its unused input, another's claim): one who may not decide the
   * appeal is told so first, as a ban proposal's non-admin is told. `claim` judges the claimer by it
   * too (a sanction not found there is left to the decision).
   */
  private async judgeAppealDecider(tx: Tx, moderator: Viewer, sanction: AppealedSanction | undefined): Promise<void> {
    // Held and read before the item (`lockTarget`): the sanction before its appeal's item, as a
    // lift takes them. Held FOR UPDATE since, it is as read there (it was read here a second time).
    if (!sanction) throw AppError.notFound('Sanction not found');
    assertNotSanctioner(moderator, sanction);
    await this.sanctions.assertMayDecideAppeal(tx, moderator, sanction);
  }

  /** An appeal's decision, its decider judged (`judgeAppealDecider`): granted, the sanction is lifted; denied, it stands. */
  private async decideAppeal(tx: Tx, viewer: Viewer, sanction: HeldSanction, input: ResolveReviewInput): Promise<string> {
    if (input.decision === ReviewDecision.IGNORE) throw AppError.badField('decision', 'an appeal is granted (APPROVE) or denied (REJECT)');
    const granted = input.decision === ReviewDecision.APPROVE;
    // A sanction somebody lifted is not one to uphold: its appeal can only be granted.
    if (sanction.lifted && !granted) throw AppError.conflict('This sanction was lifted already: grant the appeal');
    if (granted) {
      await tx.query(`UPDATE sanctions SET lifted_at = COALESCE(lifted_at, now()), lifted_by = COALESCE(lifted_by, $2) WHERE id = $1`, [sanction.id, viewer.id]);
      await dropAddressBans(tx, [sanction.id]);
    }
    await tx.query(`UPDATE appeals SET status = $2, decided_by = $3, decided_at = now(), decision_note = $4 WHERE sanction_id = $1`, [
      sanction.id, granted ? 'GRANTED' : 'DENIED', viewer.id, input.note ?? null,
    ]);
    await tx.emit({ type: 'appeal.decided', aggregateType: 'user', aggregateId: sanction.user_id, payload: { userId: sanction.user_id, sanctionId: sanction.id, granted } });
    return granted ? 'sanction lifted' : 'appeal denied';
  }

  /**
   * A ban proposal's decision, as far as it is judged before anything is written: FORBIDDEN
   * unless its decider is an admin; for an APPROVE, the ban it gives, judged and held as
   * sanctionUser judges and holds one (`SanctionsService.judge`: not an admin, nor someone made
   * staff since it was proposed; the member's row, then their sanction lock), and whether the
   * member is banned site-wide already (`standing`), read under that lock: a ban sanctionUser
   * gave meanwhile is seen, committed (read before the lock, one it was giving was missed, and the
   * member banned twice). The lock is `lockTarget`'s (`held`, before the item), which `judge` takes
   * as held rather than asking for it again. `refuseUnusedInput` refuses the APPROVE's `reason` when there is a
   * standing ban; `decideBanProposal` acts on it. Judged before either, and before the claim: one
   * who may not decide the proposal is told so first, as `claim` tells them. Null for other items
   * and decisions.
   */
  private async proposedBan(tx: Tx, moderator: Viewer, item: ReviewItemRow, input: ResolveReviewInput, held: HeldSanctionLock | undefined): Promise<ProposedBan | null> {
    if (item.kind !== 'BAN_PROPOSAL') return null;
    if (!moderator.isAdmin) throw AppError.forbidden(ONLY_ADMINS_BAN);
    if (input.decision !== ReviewDecision.APPROVE) return null;
    // The member reads the decision's reason; its note is the admins'.
    const ban = Object.assign(new SanctionInput(), { userId: item.target_id, kind: SanctionKind.BAN, reason: input.reason ?? 'Ban after repeated upheld violations' });
    await this.sanctions.judge(tx, moderator, ban, held);
    // A statement after the lock's: its snapshot, taken as it starts, sees a ban committed while the lock was waited for.
    return { ban, standing: await this.sanctions.bannedSiteWide(tx, item.target_id) };
  }

  /**
   * The escalation ladder's last step: an admin decides whether to ban (`proposedBan`, null for a
   * REJECT or an IGNORE). A member banned site-wide already (meanwhile, by `sanctionUser`) is not
   * banned twice: the APPROVE closes the proposal and bans nothing.
   */
  private async decideBanProposal(tx: Tx, moderator: Viewer, proposed: ProposedBan | null): Promise<string> {
    if (!proposed) return 'no ban';
    if (proposed.standing) return 'already banned';
    await this.sanctions.write(tx, moderator, proposed.ban);
    return 'banned';
  }

  /**
   * What the review item `id` is about locked before the item's row, in the order every other
   * writer takes them, the target and then its items: the post (the first post for a topic), as
   * createReport, moderatePost, moveTopic and publishArticle settling an article's feedback take
   * them; an appeal's sanction, as liftSanction (the sanction, then granting its appeal's item)
   * and appealSanction (the sanction, then opening the item) take them. A decision holding the
   * item while it waited for the post, held by one of them waiting for the item, deadlocked; so
   * did an appeal's decision holding its item while it waited for the sanction, which a lift
   * held while it waited for the item. An item's target never changes but to name the same post
   * otherwise (a reported reply split off into a new topic: its reports go to the topic it opens,
   * `fileReportsOnNewTopic`), so the one read here is the one locked below. The item is read unlocked and one who may not handle it refused here
   * (NOT_FOUND), before any lock is taken: someone with an item's id alone held its post
   * (waiting for whoever held it) until `lockItem` refused them. `lockItem` judges again, on the
   * item as locked and the moderator as they are then. Answers what it holds, which the decision
   * acts on: an appeal's sanction (undefined for other targets, or a sanction not found), and a
   * post or topic's post with its topic (null for other targets, or a post gone), as read under
   * their locks, which keep them as read until the decision commits (the post locked; a move
   * of its topic takes the topic FOR UPDATE, which waits for its hold). A ban proposal's APPROVE
   * by anyone who may handle the item first takes its member's sanction lock
   * (`SanctionsService.holdOffAdminChanges`), the one its ban is judged and written under (answered
   * as `banLock`, which `proposedBan` hands `SanctionsService.judge`, so it is taken once): the
   * escalation ladder takes that lock and then opens the proposal (`ReviewItems.open`, writing a
   * pending one's row), so a decision holding the proposal's item while it waited for the lock,
   * held by a ladder of another space waiting for the item, deadlocked. Whether the decider is an
   * admin is not asked here: the request's session may say no of one made an admin since, whose
   * decision then took the lock after the item; `proposedBan` refuses a non-admin (FORBIDDEN) right
   * after the item is held, so their lock is held no longer than that.
   */
  private async lockTarget(
    tx: Tx, viewer: Viewer, id: string, decision: ReviewDecision,
  ): Promise<{ sanction: HeldSanction | undefined; post: ModerationTarget | null; banLock?: HeldSanctionLock }> {
    const target = await this.handledItem(tx, viewer, id);
    const banLock = target.kind === 'BAN_PROPOSAL' && decision === ReviewDecision.APPROVE ? await this.sanctions.holdOffAdminChanges(tx, target.target_id) : undefined;
    const post = target.target_type === ReportTargetType.POST || target.target_type === ReportTargetType.TOPIC ? await this.moderationTarget(tx, target) : null;
    if (target.target_type !== ReportTargetType.SANCTION) return { sanction: undefined, post, banLock };
    const sanction = await tx.one<HeldSanction>(
      `SELECT id, user_id, issued_by, triggered_by, kind, space_id, lifted_at IS NOT NULL AS lifted FROM sanctions WHERE id = $1 FOR UPDATE`,
      [target.target_id],
    );
    return { sanction, post };
  }

  /**
   * The post a review item acts on (the first post for a topic), with its topic, locked: the
   * topic held first (PostsService.holdTopic: topics before posts, as moves lock them), then the
   * post, locked only where it is in the topic held. A reply's topic is read unlocked first; one
   * that movePosts moved into another topic meanwhile is left unlocked, and looked for again in
   * its new one, held first in turn; CONFLICT (POST_MOVED) when it has moved on at each of three
   * looks. (Locking it wherever it was found, then holding its new topic, took the post before
   * the topic: a move on out of that topic, holding it and waiting for the post, deadlocked with
   * the decision, and none could move the post a third time.)
   */
  private async moderationTarget(tx: Tx, item: Pick<ReviewItemRow, 'target_type' | 'target_id'>): Promise<ModerationTarget | null> {
    const columns = `p.id, p.number, p.state, p.topic_id, t.board_id, t.space_id, t.kind`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const topicId = item.target_type === ReportTargetType.POST
        ? (await tx.one<{ topic_id: string }>(`SELECT topic_id FROM posts WHERE id = $1`, [item.target_id]))?.topic_id
        : item.target_id;
      if (!topicId) return null;
      await this.posts.holdTopic(tx, topicId);
      const post = await tx.one<{ id: string; number: number; state: ContentState; topic_id: string; board_id: string; space_id: string; kind: TopicKind }>(
        item.target_type === ReportTargetType.POST
          ? `SELECT ${columns} FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $1 AND p.topic_id = $2 FOR NO KEY UPDATE OF p`
          : `SELECT ${columns} FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.topic_id = $1 AND p.number = 1 FOR NO KEY UPDATE OF p`,
        item.target_type === ReportTargetType.POST ? [item.target_id, topicId] : [topicId],
      );
      if (post) return { id: post.id, number: post.number, state: post.state, topic: { id: post.topic_id, boardId: post.board_id, spaceId: post.space_id, kind: post.kind } };
      // A topic's first post never moves: gone. A reply gone is found so at the next look.
      if (item.target_type !== ReportTargetType.POST) return null;
    }
    throw AppError.conflict(POST_MOVED);
  }

  /** Moderators act on one post directly; every action is logged with the state before and after. */
  async moderatePost(viewer: Viewer, input: ModeratePostInput) {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const post = await this.forum.post(viewer, input.postId);
    if (!post) throw AppError.notFound('Post not found');
    await this.access.require(viewer, post.spaceId, AccessLevel.MODERATE, 'Post not found');
    // A held edit's version names the edit an APPROVE or REJECT decides; HIDE, UNHIDE, DELETE and
    // RESTORE decide no edit and never read it (it left the edit waiting): refused before the
    // transaction, once the post is found (a post nobody may moderate is NOT_FOUND first), as a
    // review decision's unread input is.
    if (input.pendingEditVersion != null && input.action !== ModerationAction.APPROVE && input.action !== ModerationAction.REJECT) {
      throw AppError.badField('pendingEditVersion', 'goes only with APPROVE or REJECT of a held edit');
    }
    const transition = TRANSITIONS[input.action];
    const topic = await this.forum.topic(viewer, post.topicId);
    if (!topic) throw AppError.notFound('Post not found');
    const deciding = input.action === ModerationAction.APPROVE || input.action === ModerationAction.REJECT;
    const row = await this.uow.run(async (tx) => {
      // The topic held, then the post locked in it (`lockInTopic`; a held edit's decision locks
      // the edit with it), with where it is now: a move of its topic to another
      // space, committed while this waited for the topic, is seen here, and the post judged,
      // logged and acted on in that space (`topic` and `post` were read before). A post
      // `movePosts` took to another topic meanwhile is CONFLICT (POST_MOVED).
      // Its state and its topic's, as held, judge a moderator who no longer moderates (`requireModeratesNow`).
      const here = await this.posts.lockInTopic<HeldPost>(
        tx, topic.id, post.id,
        'p.state, p.author_id, p.deleted_from',
        't.board_id, t.space_id, t.state AS topic_state, t.author_id AS topic_author',
      );
      if (!here) throw AppError.notFound('Post not found');
      const at = { ...topic, boardId: here.board_id, spaceId: here.space_id };
      // The moderator judged again once both are held, as they are now (`viewerNow`), as
      // `lockItem` judges the queue's: one whose grant was revoked, or who was demoted or
      // barred, while this waited for the topic or the post does nothing (refused as the
      // session's check above refuses; UNAUTHENTICATED once barred site-wide or deleted).
      // Everything after acts as `moderator`, their own post's undo refused as they are now.
      const moderator = await this.sessions.viewerNow(viewer, tx);
      await this.requireModeratesNow(moderator, here);
      if (input.action === ModerationAction.UNHIDE) await this.posts.refuseOwnUndo(moderator, post, 'unhide', tx.manager);
      if (input.action === ModerationAction.RESTORE) await this.posts.refuseOwnUndo(moderator, post, 'restore', tx.manager);
      // Every choice below is made on the state read under the post's lock (`here.state`), never
      // on `post.state`, read before: a post approved, hidden or deleted meanwhile is acted on as
      // it is now, as the same request made now would act on it.
      // Held content, or a held edit, another moderator claimed waits for them, whatever is
      // done to it: checked before anything is done (settleHeld checks again, harmlessly).
      if (here.state === ContentState.PENDING || deciding) await this.reviewItems.assertHeldUnclaimed(tx, post, moderator.id!);
      // A visible post's held edit: approving makes it the post's text, rejecting drops it. The
      // edit decided is the one the request names (`pendingEditVersion`); held content read while
      // it waited had none beside it (null: one written since, once another moderator approved
      // the post, was never seen and is left waiting); else the one waiting now.
      const seen = input.pendingEditVersion ?? (post.state === ContentState.PENDING ? null : undefined);
      const edit = deciding && here.state === ContentState.VISIBLE
        ? await this.posts.decidePendingEdit(tx, post.id, input.action === ModerationAction.APPROVE, seen)
        : null;
      if (edit) {
        await this.audit.append(tx, {
          actorId: moderator.id,
          action: `post.edit_${input.action.toLowerCase()}`,
          targetType: 'post',
          targetId: post.id,
          spaceId: at.spaceId,
          reason: input.reason ?? null,
          after: { edit: edit.outcome },
        });
        await this.settleHeldItems(tx, moderator, post, input);
        if (edit.outcome === 'published') await this.spam.learnFrom(tx, at.spaceId, { type: ReportTargetType.POST, id: post.id }, false);
        // Published: the post's new row; dropped: the post as it was.
        return edit.outcome === 'published' ? edit.row : null;
      }
      // Checked on the state read under the post's lock (`here.state`), held since and changed by
      // nothing above, so a moderator racing another cannot, say, hide a post just deleted (as
      // `applyStateFrom` checks it, which would lock the post a second time).
      if (!transition.from.includes(here.state)) throw AppError.conflict(`A ${here.state.toLowerCase()} post cannot be ${PAST_PARTICIPLES[input.action]}`);
      const changed = await this.posts.applyState(tx, moderator.id, post, at, transition.to);
      await this.audit.append(tx, {
        actorId: moderator.id,
        action: `post.${input.action.toLowerCase()}`,
        targetType: 'post',
        targetId: post.id,
        spaceId: at.spaceId,
        reason: input.reason ?? null,
        before: { state: changed.was },
        // The state it reached: a board kind may redirect it (a draft article returns to draft).
        after: { state: changed.state },
      });
      // Held content deleted is refused as surely as rejected: its item goes with it.
      if (deciding || changed.was === ContentState.PENDING) await this.settleHeldItems(tx, moderator, post, input);
      // Visible content hidden or deleted by hand: its open reports are upheld, as the queue's APPROVE would.
      if ((input.action === ModerationAction.HIDE || input.action === ModerationAction.DELETE) && changed.was !== ContentState.PENDING) {
        await this.upholdOpenReports(tx, moderator.id!, post, { done: input.action === ModerationAction.DELETE ? 'deleted' : 'hidden', via: 'moderatePost', reason: input.reason ?? null });
      }
      // Approving held content teaches the spam model, as resolveReviewItem's approval does.
      if (input.action === ModerationAction.APPROVE) await this.spam.learnFrom(tx, at.spaceId, { type: ReportTargetType.POST, id: post.id }, false);
      return changed;
    });
    this.forum.forget(viewer, { topicId: topic.id, postId: post.id });
    if (row) return this.forum.postFromRow(viewer, row);
    // A held edit dropped leaves the post as it was under the lock, which is not always as the
    // request read it first (approved meanwhile): read again.
    return (await this.forum.post(viewer, post.id)) ?? post;
  }

  /**
   * `moderatePost`'s judgement of its moderator as they are now (`viewerNow`, read in `tx` once
   * the post is held), refusing as the same request made now would be refused: NOT_FOUND when
   * they no longer see the post or its topic (held content, or a post deleted while held, which
   * only its author and moderators see), as `forum.post` finds none for them before any lock;
   * FORBIDDEN when they see it but no longer moderate (`access.require`). Judged on the post and
   * its topic as `moderatePost` holds them (`held`).
   */
  private async requireModeratesNow(moderator: Viewer, held: HeldPost): Promise<void> {
    const { rank, view } = await this.heldView(moderator, held);
    if (rank >= LEVEL_RANK.MODERATE) return;
    if (view === 'none') throw AppError.notFound('Post not found');
    await this.access.require(moderator, held.space_id, AccessLevel.MODERATE, 'Post not found');
  }

  /** What `viewer` gets of a post as held, its topic counted (`AccessService.postView`), and their rank on its space. */
  private async heldView(viewer: Viewer, held: SeenPost): Promise<{ rank: number; view: ContentView }> {
    const rank = await this.access.rankOn(viewer, held.space_id);
    const view = this.access.postView(
      viewer,
      { rank, state: held.topic_state, authorId: held.topic_author },
      { rank, state: held.state, authorId: held.author_id, deletedFrom: held.deleted_from },
    );
    return { rank, view };
  }

  /**
   * A moderator who hides or deletes reported content directly agrees with its reporters: the
   * open reports and automod flags on it (the post, or its topic for a first post) are upheld
   * as resolveReviewItem's APPROVE upholds them (reporters told, the spam model taught, the
   * violation counted on the ladder), so nothing waits in the queue for content already dealt
   * with. An item another moderator has claimed is left to them: a claim keeps everyone else off
   * the item's decision (what its reporters are told, their record, a sanction with it), not off
   * the content, which any moderator may hide or delete; and once it is upheld hidden, a REJECT of
   * that item restores nothing (`keptHiddenSinceAutoHide`). The queue's APPROVE of one item
   * that leaves the post hidden or deleted upholds the others the same way (`resolve`). A moderator's deletePost (or
   * their DELETE topic timer) of someone else's post others had read upholds them the same way
   * (`PostingPolicy.deletedShown`, `upholdOnDeletion`). `held`: the sanction lock a sanction given
   * with the decision took (`SanctionsService.issue`), which the ladder climbed for an item of that
   * member's takes as held (the one order, that lock before the ladder's, is kept).
   */
  private async upholdOpenReports(
    tx: Tx,
    moderatorId: string,
    post: { id: string; number: number; topicId: string },
    how: { done: 'deleted' | 'hidden'; via: 'moderatePost' | 'deletePost' | 'resolveReviewItem'; reason: string | null },
    held?: { userId: string; lock: HeldSanctionLock },
  ): Promise<void> {
    const items = await tx.query<ReviewItemRow>(
      `SELECT ${this.reviewItems.columns()} FROM review_items
        WHERE status = 'PENDING' AND kind IN ('REPORTS', 'AUTOMOD')
          AND ((target_type = 'POST' AND target_id = $1) OR (target_type = 'TOPIC' AND target_id = $2))
          AND (claimed_by = $3 OR NOT ${this.reviewItems.claimHoldsSql()})
        ORDER BY id FOR UPDATE`,
      [post.id, post.number === 1 ? post.topicId : null, moderatorId],
    );
    const upheld = OUTCOMES[ReviewDecision.APPROVE];
    for (const item of items) {
      await tx.query(`UPDATE reports SET status = $2 WHERE review_item_id = $1 AND status = 'OPEN'`, [item.id, upheld.reports]);
      await tx.query(
        `UPDATE review_items SET status = $4, resolved_by = $2, resolved_at = now(), decision_note = $3, claimed_by = NULL, claimed_until = NULL, updated_at = now() WHERE id = $1`,
        [item.id, moderatorId, how.reason, upheld.item],
      );
      await this.teachSpamFilter(tx, item, ReviewDecision.APPROVE);
      const offender = await this.offenderOf(tx, item);
      const escalated = offender ? await this.escalation.onViolation(tx, offender, item.space_id, moderatorId, item.id, offender === held?.userId ? held.lock : undefined) : null;
      await this.reviewItems.record(tx, item.id, moderatorId, `resolved: approve (${how.done} with ${how.via}${escalated ? `; escalation: ${escalated}` : ''})`, how.reason, upheld.item);
      await this.reviewItems.changed(tx, { id: item.id, spaceId: item.space_id, status: upheld.item });
    }
  }

  /** A moderator deleted someone else's post others had read with deletePost (or their DELETE topic timer, `reason`): its open reports are upheld (`upholdOpenReports`). */
  async upholdOnDeletion(tx: Tx, p: WaitingPost, reason: string | null): Promise<void> {
    if (p.actorId) await this.upholdOpenReports(tx, p.actorId, { id: p.postId, number: p.number, topicId: p.topicId }, { done: 'deleted', via: 'deletePost', reason });
  }

  /** Deciding on held content (or a held edit) with moderatePost settles its review item too. */
  private settleHeldItems(tx: Tx, viewer: Viewer, post: { id: string; number: number; topicId: string }, input: ModeratePostInput): Promise<void> {
    const approve = input.action === ModerationAction.APPROVE;
    return this.reviewItems.settleHeld(tx, post, {
      status: approve ? ReviewStatus.APPROVED : ReviewStatus.REJECTED,
      resolvedBy: viewer.id,
      actorId: viewer.id,
      action: `resolved: ${input.action.toLowerCase()} (moderatePost)`,
      note: input.reason ?? null,
    });
  }

  /** After a change, later fields of the same request (a second mutation) read items afresh. */
  private forgetItems(viewer: Viewer): void {
    viewer.forget('loader:reviewReports');
    viewer.forget('loader:reviewHistory');
  }

  /** The reports gathered on review items: one statement for a whole queue page. */
  reportsOf(viewer: Viewer, itemId: string): Promise<ReportModel[]> {
    const loader = viewer.memoize('loader:reviewReports', () => new DataLoader<string, ReportModel[]>(async (ids) => {
      const rows: ReportRow[] = await this.ds.query(`SELECT * FROM reports WHERE review_item_id = ANY($1::uuid[]) ORDER BY created_at, id`, [ids]);
      return ids.map((id) => rows.filter((r) => r.review_item_id === id).map(toReportModel));
    }));
    return loader.load(itemId);
  }

  /** What happened to review items, in order: one statement for a whole queue page. */
  history(viewer: Viewer, itemId: string): Promise<ReviewEventModel[]> {
    const loader = viewer.memoize('loader:reviewHistory', () => new DataLoader<string, ReviewEventModel[]>(async (ids) => {
      const rows: Array<{ review_item_id: string; action: string; note: string | null; at: Date; actor_id: string | null }> = await this.ds.query(
        `SELECT review_item_id, action, note, at, actor_id FROM review_item_events WHERE review_item_id = ANY($1::uuid[]) ORDER BY id`,
        [ids],
      );
      return ids.map((id) =>
        rows
          .filter((r) => r.review_item_id === id)
          .map((r) => Object.assign(new ReviewEventModel(), { action: r.action, note: r.note, at: r.at, actorId: r.actor_id })),
      );
    }));
    return loader.load(itemId);
  }
}
