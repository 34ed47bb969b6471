import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AccessService } from '../../../access/src/access.service';
import { AppError } from '../../../core/src/errors';
import { Tx } from '../../../core/src/database/unit-of-work';
import { Viewer } from '../../../core/src/graphql/viewer';
import { newId } from '../../../core/src/ids';
import { mayDecideAppealSql } from '../sanctions/appeal-deciders';
import { ReportTargetType, ReviewItemRow, ReviewStatus } from './review.model';

export type ReviewItemKind = 'REPORTS' | 'PENDING_CONTENT' | 'AUTOMOD' | 'BAN_PROPOSAL' | 'APPEAL' | 'ARTICLE_FEEDBACK';

export interface ReviewItemOpening {
  /** The space whose moderators review it; null for the global moderators' queue. */
  spaceId: string | null;
  targetType: ReportTargetType;
  targetId: string;
  kind: ReviewItemKind;
  /** Added to the item's score (reports' weights, feedback); without it the score stays as it is. */
  score?: number;
  /** Who asked for the review (null: the system), and the line it adds to the item's history. */
  actorId: string | null;
  action: string;
  note: string | null;
}

/**
 * Whether a viewer who moderates nothing may still claim and decide this item, asked inside the
 * claim's or the decision's transaction: whatever it reads, it reads on `manager` (that
 * transaction's connection), as the item and the viewer were read, not on the pool beside it.
 */
export type ReviewDecider = (manager: EntityManager, viewer: Viewer, item: ReviewItemRow) => Promise<boolean>;

/**
 * The same decider in SQL, for a claimant (`claimant`, SQL naming a user id) of an item
 * (`review_items`, unaliased): true while they may decide it now, as the decider would judge
 * them. A claim holds only while its claimant may handle the item (`claimHoldsSql`), whoever
 * lets them.
 */
export type ReviewDeciderSql = (claimant: string) => string;

/** The pending PENDING_CONTENT items of a post (`postId`, a parameter), or of its topic (`topicId`) for a first post. */
const heldItems = (postId: string, topicId: string) =>
  `kind = 'PENDING_CONTENT' AND status = 'PENDING' AND ((target_type = 'POST' AND target_id = ${postId}) OR (target_type = 'TOPIC' AND target_id = ${topicId}))`;

/**
 * The one way into the review queue, whoever sends content there (reports, pre-moderation,
 * watched words, the escalation ladder, appeals, article feedback): a target has at most one
 * pending item of a kind, so a second opening joins the first (adding its score), records
 * why in the item's history, and tells the space's moderators' live review room.
 */
@Injectable()
export class ReviewItems {
  private readonly deciders = new Map<ReviewItemKind, { decider: ReviewDecider; sql: ReviewDeciderSql }>();

  /**
   * Lets a module say who, besides the space's moderators, claims and decides items of a kind
   * (the knowledge base: an article's team its feedback), in JS for a viewer and in SQL for a
   * claimant, the two holding the same answer. Moderation never depends on them.
   */
  allowDeciders(kind: ReviewItemKind, decider: ReviewDecider, sql: ReviewDeciderSql): void {
    this.deciders.set(kind, { decider, sql });
  }

  /**
   * SQL true while a review item's claim (`review_items`, unaliased) holds: it has not run out,
   * and its claimant may still handle the item, as `lockItem` would judge them now: who moderates
   * its space, or the site for a space-less item (`AccessService.moderatesSql`, the access policy's
   * own SQL), or whom a module lets decide the kind (`allowDeciders`), only an admin for a
   * BAN_PROPOSAL (one not barred site-wide, whose session is anonymous), and for an APPEAL only
   * such a moderator who may decide it (`mayDecideAppealSql`: not the sanction's issuer, one who
   * could lift it). A claimant whose grant was taken away, who was silenced, suspended or banned
   * there, demoted, taken off an article's team, or whose account was deleted keeps nobody off
   * the item and is shown as its claimant to nobody. Every place that reads or checks a claim asks
   * this (`columns`, `assertHeldUnclaimed`, moderatePost's upholding of open reports).
   */
  claimHoldsSql(): string {
    const claimant = 'review_items.claimed_by';
    const others = [...this.deciders].map(([kind, d]) => `\n         OR (review_items.kind = '${kind}' AND ${d.sql(claimant)})`).join('');
    return `(${claimant} IS NOT NULL AND review_items.claimed_until > now() AND CASE WHEN review_items.kind = 'BAN_PROPOSAL'
       THEN EXISTS (SELECT 1 FROM users cu WHERE cu.id = ${claimant} AND cu.deleted_at IS NULL AND cu.role = 'ADMIN' AND NOT ${AccessService.barredSiteWideSql('cu.id')})
       WHEN review_items.kind = 'APPEAL'
       THEN ${AccessService.moderatesSql(claimant, 'review_items.space_id')} AND ${mayDecideAppealSql(claimant, 'review_items.target_id')}
       ELSE ${AccessService.moderatesSql(claimant, 'review_items.space_id')}${others} END)`;
  }

  /**
   * An item's columns (`review_items`, unaliased), its claimant (`claimed_by`) only while the claim
   * holds (`claimHoldsSql`), judged once per row: `claimed_until` is read plain and counts only with
   * it (`heldClaim`), so the rule, a few subqueries, is not run a second time for the other column.
   */
  columns(): string {
    return `id, space_id, target_type, target_id, kind, status, score, auto_hidden,
  CASE WHEN ${this.claimHoldsSql()} THEN review_items.claimed_by END AS claimed_by, claimed_until,
  resolved_by, resolved_at, decision_note, created_at`;
  }

  /** Whether a module's decider (`allowDeciders`) lets the viewer decide the item, read in the caller's transaction (`manager`). */
  mayDecide(manager: EntityManager, viewer: Viewer, item: ReviewItemRow): Promise<boolean> {
    const decider = this.deciders.get(item.kind as ReviewItemKind)?.decider;
    return decider ? decider(manager, viewer, item) : Promise.resolve(false);
  }

  async open(tx: Tx, o: ReviewItemOpening): Promise<ReviewItemRow> {
    const [item] = await tx.query<ReviewItemRow>(
      `INSERT INTO review_items (id, space_id, target_type, target_id, kind, score) VALUES ($1, $2, $3, $4, $5, COALESCE($6::numeric, 0))
       ON CONFLICT (target_type, target_id, kind) WHERE status = 'PENDING'
       DO UPDATE SET score = review_items.score + COALESCE($6::numeric, 0), updated_at = now()
       RETURNING ${this.columns()}`,
      [newId(), o.spaceId, o.targetType, o.targetId, o.kind, o.score ?? null],
    );
    await this.record(tx, item.id, o.actorId, o.action, o.note);
    await this.changed(tx, { id: item.id, spaceId: o.spaceId, score: Number(item.score) });
    return item;
  }

  /**
   * Approves the pending items `where` picks (a condition on `review_items`, unaliased, its
   * parameters `params` from $4 on) outside the queue's own decision, settled by what answered
   * them (a sanction lifted answers its appeal, a published revision its article's feedback and
   * pre-moderation hold): `resolvedBy` resolves them, with `note` as the decision's note, their
   * claims go, and each gets a line in its history (`action`, `note`) in the same statement, then
   * `review.updated` for its space's live review room and its reporters. Returns the ids settled:
   * none for an item settled meanwhile.
   */
  approvePending(tx: Tx, o: { where: string; params: unknown[]; resolvedBy: string | null; action: string; note: string | null }): Promise<string[]> {
    return this.settle(tx, { ...o, status: 'APPROVED', actorId: o.resolvedBy });
  }

  /**
   * Settles the pending PENDING_CONTENT item of a post (or, for a first post, of its topic)
   * outside the queue's own decision: a moderator deciding on the post itself (CONFLICT while
   * another moderator's claim on the item holds), or its author withdrawing a held edit with
   * one that needs no approval (`resolvedBy` null, IGNORED). Settled as `approvePending` settles
   * (`settle`): `note` is the decision's note too.
   */
  async settleHeld(
    tx: Tx,
    post: { id: string; number: number; topicId: string },
    o: { status: 'APPROVED' | 'REJECTED' | 'IGNORED'; resolvedBy: string | null; actorId: string | null; action: string; note: string | null; overClaims?: boolean },
  ): Promise<void> {
    // A moderator deciding on the post respects another's claim on its item, as the queue does
    // (not when deleting it with deletePost, `overClaims`, which no claim holds back).
    const { overClaims, ...settled } = o;
    if (o.resolvedBy && !overClaims) await this.assertHeldUnclaimed(tx, post, o.resolvedBy);
    await this.settle(tx, { ...settled, where: heldItems('$4', '$5'), params: [post.id, post.number === 1 ? post.topicId : null] });
  }

  /**
   * The one statement settling pending items outside the queue's own decision (`approvePending`,
   * `settleHeld`): those `where` picks (its parameters `params` from $4 on) take `status`, resolved
   * by `resolvedBy` with `note` as the decision's note, their claims gone, each with a line in its
   * history (`actorId` did `action`, `note`, `resolved_as` the status) written by the same statement; then `review.updated`
   * for each, in id order. Returns the ids settled.
   */
  private async settle(
    tx: Tx,
    o: { where: string; params: unknown[]; status: 'APPROVED' | 'REJECTED' | 'IGNORED'; resolvedBy: string | null; actorId: string | null; action: string; note: string | null },
  ): Promise<string[]> {
    const status = `$${4 + o.params.length}`;
    const actor = `$${5 + o.params.length}`;
    const items = await tx.query<{ id: string; space_id: string | null }>(
      `WITH done AS (
         UPDATE review_items SET status = ${status}, resolved_by = $1, resolved_at = now(), decision_note = $2,
                claimed_by = NULL, claimed_until = NULL, updated_at = now()
          WHERE status = 'PENDING' AND (${o.where})
          RETURNING id, space_id),
       history AS (INSERT INTO review_item_events (review_item_id, actor_id, action, note, resolved_as) SELECT id, ${actor}::uuid, $3, $2, ${status} FROM done)
       SELECT id, space_id FROM done ORDER BY id`,
      [o.resolvedBy, o.note, o.action, ...o.params, o.status, o.actorId],
    );
    for (const i of items) await this.changed(tx, { id: i.id, spaceId: i.space_id, status: o.status });
    return items.map((i) => i.id);
  }

  /**
   * CONFLICT when another moderator's claim on the post's pending PENDING_CONTENT item holds:
   * whatever a moderator does to held content (approve, reject, hide, delete) waits for it.
   */
  async assertHeldUnclaimed(tx: Tx, post: { id: string; number: number; topicId: string }, moderatorId: string): Promise<void> {
    const claimed = await tx.query(
      `SELECT 1 FROM review_items WHERE ${heldItems('$1', '$2')} AND claimed_by <> $3 AND ${this.claimHoldsSql()} FOR UPDATE`,
      [post.id, post.number === 1 ? post.topicId : null, moderatorId],
    );
    if (claimed.length > 0) throw AppError.conflict('Another moderator is handling this item');
  }

  /**
   * A line in an item's history: who did what, and why; `resolvedAs` on the line that settles
   * the item, the status it gave it (`review_item_events.resolved_as`), which is what readers
   * match on (`action` is its wording for people).
   */
  async record(tx: Tx, itemId: string, actorId: string | null, action: string, note: string | null = null, resolvedAs: ReviewStatus | null = null): Promise<void> {
    await tx.query(`INSERT INTO review_item_events (review_item_id, actor_id, action, note, resolved_as) VALUES ($1, $2, $3, $4, $5)`, [itemId, actorId, action, note, resolvedAs]);
  }

  /**
   * After any change to an item: `review.updated` for the moderators' live review room (the
   * space's, or the site-wide one), and, once the item is settled, for its reporters' notifications.
   */
  async changed(tx: Tx, item: { id: string; spaceId: string | null; status?: string; score?: number; claimedBy?: string }): Promise<void> {
    const { id, ...rest } = item;
    await tx.emit({ type: 'review.updated', aggregateType: 'review_item', aggregateId: id, payload: { reviewItemId: id, ...rest } });
  }
}
