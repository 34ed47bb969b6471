import { Field, Float, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';

/**
 * What a review decision on a post or topic did to its content, written with its moderation log
 * entry (its `outcome` column, which readers match on, and `after.outcome`, which the hash
 * covers; entries written before either got it from their wording, migration 1765324800000): HIDDEN, DELETED (an APPROVE that hid or deleted it), RESTORED (a
 * REJECT that brought auto-hidden content back), PUBLISHED, REJECTED (held content),
 * EDIT_PUBLISHED, EDIT_DROPPED (a held edit), NONE (the content left as it was: `before.state`
 * says how). Readers match on it, never on `after.action`, its wording for people. The column
 * takes these alone (`moderation_log_outcome_check`, migration 1765332000000): a new one needs a
 * migration widening it.
 */
export type ContentOutcome = 'HIDDEN' | 'DELETED' | 'RESTORED' | 'PUBLISHED' | 'REJECTED' | 'EDIT_PUBLISHED' | 'EDIT_DROPPED' | 'NONE';

export enum ReportReason {
  SPAM = 'SPAM',
  ABUSE = 'ABUSE',
  OFF_TOPIC = 'OFF_TOPIC',
  ILLEGAL = 'ILLEGAL',
  OTHER = 'OTHER',
}
registerEnumType(ReportReason, { name: 'ReportReason', description: 'OTHER needs a note.' });

export enum ReportTargetType {
  POST = 'POST',
  TOPIC = 'TOPIC',
  USER = 'USER',
  /** Appeals: the sanction under review (not reportable). */
  SANCTION = 'SANCTION',
}
registerEnumType(ReportTargetType, { name: 'ReportTargetType' });

export enum ReviewStatus {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  IGNORED = 'IGNORED',
}
registerEnumType(ReviewStatus, { name: 'ReviewStatus', description: 'APPROVED: the reports were upheld. REJECTED: they were not.' });

export enum ReviewDecision {
  APPROVE = 'APPROVE',
  REJECT = 'REJECT',
  IGNORE = 'IGNORE',
}
registerEnumType(ReviewDecision, { name: 'ReviewDecision' });

export enum ReviewAction {
  HIDE = 'HIDE',
  DELETE = 'DELETE',
  NONE = 'NONE',
}
registerEnumType(ReviewAction, { name: 'ReviewAction', description: 'What an APPROVE does to reported content (default HIDE).' });

export enum ReviewSort {
  SCORE = 'SCORE',
  AGE = 'AGE',
}
registerEnumType(ReviewSort, { name: 'ReviewSort', description: 'SCORE: highest first. AGE: oldest first.' });

@ObjectType('Report')
export class ReportModel {
  @Field(() => ID) id!: string;
  @Field(() => ReportTargetType) targetType!: ReportTargetType;
  @Field(() => ID) targetId!: string;
  @Field(() => ReportReason) reason!: ReportReason;
  @Field(() => String, { nullable: true }) note!: string | null;
  @Field(() => Float, { description: 'What this report adds to its review item’s score.' }) weight!: number;
  @Field({ description: 'JSON: how the weight was computed (trust level or staff, the reporter’s record).' }) weightBreakdown!: string;
  @Field() status!: string;
  @Field() createdAt!: Date;
  reporterId!: string;
  reviewItemId!: string;
}

@ObjectType('ReviewEvent')
export class ReviewEventModel {
  @Field() action!: string;
  @Field(() => String, { nullable: true }) note!: string | null;
  @Field() at!: Date;
  actorId!: string | null;
}

@ObjectType('ReviewItem', { description: 'Reports (or other reasons for review) on one target, gathered for moderators.' })
export class ReviewItemModel {
  @Field(() => ID) id!: string;
  @Field(() => ReportTargetType) targetType!: ReportTargetType;
  @Field(() => ID) targetId!: string;
  @Field() kind!: string;
  @Field(() => ReviewStatus) status!: ReviewStatus;
  @Field(() => Float) score!: number;
  @Field({ description: 'Hidden automatically when its score reached the space’s threshold.' }) autoHidden!: boolean;
  @Field(() => Date, { nullable: true }) claimedUntil!: Date | null;
  @Field(() => Date, { nullable: true }) resolvedAt!: Date | null;
  @Field(() => String, { nullable: true }) decisionNote!: string | null;
  @Field() createdAt!: Date;
  spaceId!: string | null;
  claimedById!: string | null;
  resolvedById!: string | null;
}

export const ReviewItemConnection = ConnectionType(ReviewItemModel, 'ReviewItem');

export interface ReviewItemRow {
  id: string;
  space_id: string | null;
  target_type: ReportTargetType;
  target_id: string;
  kind: string;
  status: ReviewStatus;
  score: string;
  auto_hidden: boolean;
  /** The claimant while the claim holds (`ReviewItems.columns`), else null. */
  claimed_by: string | null;
  /** When the last claim runs out: the claim's only with `claimed_by` (`heldClaim`). */
  claimed_until: Date | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  decision_note: string | null;
  created_at: Date;
}

/** The claim on an item that holds now: its claimant (null once it does not hold) and its end. */
export function heldClaim(r: ReviewItemRow): { by: string; until: Date } | null {
  return r.claimed_by && r.claimed_until && new Date(r.claimed_until) > new Date() ? { by: r.claimed_by, until: r.claimed_until } : null;
}

export function toReviewItemModel(r: ReviewItemRow): ReviewItemModel {
  const claim = heldClaim(r);
  return Object.assign(new ReviewItemModel(), {
    id: r.id,
    targetType: r.target_type,
    targetId: r.target_id,
    kind: r.kind,
    status: r.status,
    score: Number(r.score),
    autoHidden: r.auto_hidden,
    claimedUntil: claim?.until ?? null,
    resolvedAt: r.resolved_at,
    decisionNote: r.decision_note,
    createdAt: r.created_at,
    spaceId: r.space_id,
    claimedById: claim?.by ?? null,
    resolvedById: r.resolved_by,
  });
}

export interface ReportRow {
  id: string;
  review_item_id: string;
  reporter_id: string;
  target_type: ReportTargetType;
  target_id: string;
  reason: ReportReason;
  note: string | null;
  weight: string;
  weight_breakdown: unknown;
  status: string;
  created_at: Date;
}

export function toReportModel(r: ReportRow): ReportModel {
  return Object.assign(new ReportModel(), {
    id: r.id,
    targetType: r.target_type,
    targetId: r.target_id,
    reason: r.reason,
    note: r.note,
    weight: Number(r.weight),
    weightBreakdown: JSON.stringify(r.weight_breakdown),
    status: r.status,
    createdAt: r.created_at,
    reporterId: r.reporter_id,
    reviewItemId: r.review_item_id,
  });
}
