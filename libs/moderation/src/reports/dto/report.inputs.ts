import { ArgsType, Field, ID, InputType, Int, registerEnumType } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { IsEnum, IsIn, IsInt, IsOptional, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { SanctionKind } from '../../sanctions/sanction.model';
import { PageArgs } from '../../../../core/src/graphql/pagination';
import { ReportReason, ReportTargetType, ReviewAction, ReviewDecision, ReviewSort, ReviewStatus } from '../review.model';
import { OptionalPlainText, PlainText } from '../../../../core/src/graphql/validators';
import { ID_VERSION } from '../../../../core/src/ids';


@InputType()
export class ReportInput {
  @Field(() => ReportTargetType, { description: 'POST, TOPIC or USER.' })
  @IsIn([ReportTargetType.POST, ReportTargetType.TOPIC, ReportTargetType.USER], { message: 'must be POST, TOPIC or USER' })
  targetType!: ReportTargetType;
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an id' }) targetId!: string;
  @Field(() => ReportReason) @IsEnum(ReportReason) reason!: ReportReason;
  @Field({ nullable: true, description: 'Plain text, up to 1,000 characters (line breaks and tabs, no other control characters); empty for none. Required with OTHER.' }) @OptionalPlainText(1000) note?: string;
}

@InputType({ description: 'A sanction for the author of upheld content (or the reported user), in the item’s space (site-wide for a user report).' })
export class ReviewSanctionInput {
  @Field(() => SanctionKind) @IsEnum(SanctionKind) kind!: SanctionKind;
  @Field(() => Int, { nullable: true, description: 'Required for SILENCE and SUSPEND; BAN is permanent; WARNING has none.' })
  @IsOptional() @IsInt() @Min(1) @Max(87_600)
  durationHours?: number;
  @Field({ nullable: true, description: 'Shown to the user, plain text of 3–1,000 characters; the decision’s `reason` when absent (never its note). Given, the decision’s `reason` is only for the author of content the APPROVE leaves hidden: refused (BAD_USER_INPUT) when it leaves the content shown or deleted, and with a user’s reports.' }) @PlainText(1000, { min: 3, optional: true }) reason?: string;
}

@InputType()
export class ResolveReviewInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a review item id' }) id!: string;
  @Field(() => ReviewDecision) @IsEnum(ReviewDecision) decision!: ReviewDecision;
  @Field(() => ReviewAction, { nullable: true, description: 'APPROVE of reports or automod flags on a post or topic only: what it does to the content (default HIDE). Refused (BAD_USER_INPUT) with any other decision or item.' })
  @IsOptional() @IsEnum(ReviewAction)
  action?: ReviewAction;
  @Field({ nullable: true, description: 'For moderators: kept in the item’s history and the moderation log, never shown to the content’s author. On an APPEAL it is the decision the appellant reads. Plain text, up to 1,000 characters; empty for none.' })
  @OptionalPlainText(1000)
  note?: string;
  @Field({ nullable: true, description: 'For the content’s author: why it was hidden (`Post.moderationNote`). Without it they read “Hidden by a moderator”. Also the sanction’s reason when it has none, and a ban proposal’s ban reason (refused, BAD_USER_INPUT, when its member is banned site-wide already: nothing is banned, and they read the standing ban’s). APPROVE of reports, automod flags (of a user: with a sanction) or a ban proposal only: refused (BAD_USER_INPUT) with any other decision or item, and with an APPROVE of content it leaves shown (action NONE on visible content, or held content) or deleted (action DELETE, or content found deleted: nothing shows a deleted post’s author a reason), or of a user, unless it is the sanction’s reason (a sanction with none of its own). Plain text, 3–1,000 characters.' })
  @PlainText(1000, { min: 3, optional: true })
  reason?: string;
  @Field(() => ReviewSanctionInput, {
    nullable: true,
    description: 'APPROVE of reports or automod flags only: also sanction the offender, instead of the escalation ladder’s step for this violation.',
  })
  @IsOptional() @ValidateNested() @Type(() => ReviewSanctionInput)
  sanction?: ReviewSanctionInput;
}

export enum ModerationAction {
  HIDE = 'HIDE',
  UNHIDE = 'UNHIDE',
  DELETE = 'DELETE',
  RESTORE = 'RESTORE',
  APPROVE = 'APPROVE',
  REJECT = 'REJECT',
}
registerEnumType(ModerationAction, { name: 'ModerationAction', description: 'APPROVE and REJECT decide on pending (held) content.' });

@InputType()
export class ModeratePostInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a post id' }) postId!: string;
  @Field(() => ModerationAction, { description: 'HIDE, UNHIDE, DELETE, RESTORE, APPROVE (pending) or REJECT (pending).' })
  @IsEnum(ModerationAction, { message: 'must be HIDE, UNHIDE, DELETE, RESTORE, APPROVE or REJECT' })
  action!: ModerationAction;
  @Field({ nullable: true, description: 'Kept in the moderation log. Plain text, up to 1,000 characters (line breaks and tabs, no other control characters); empty for none.' })
  @OptionalPlainText(1000)
  reason?: string;
  @Field(() => Int, { nullable: true, description: 'APPROVE or REJECT of a held edit: the version you read (Post.pendingEdit.version), refused with CONFLICT when its author has replaced it since. Without it, the edit waiting now is decided (unless you read the post while it waited: one held since is CONFLICT). Refused (BAD_USER_INPUT) with HIDE, UNHIDE, DELETE or RESTORE, which decide no edit.' })
  @IsOptional() @IsInt() @Min(1)
  pendingEditVersion?: number;
}

@ArgsType()
export class ReviewQueueArgs extends PageArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID, { nullable: true }) @IsOptional() spaceId?: string;
  @Field(() => ReviewStatus, { nullable: true, defaultValue: ReviewStatus.PENDING }) @IsOptional() @IsEnum(ReviewStatus) status?: ReviewStatus;
  @Field(() => ReviewSort, { nullable: true, defaultValue: ReviewSort.SCORE }) @IsOptional() @IsEnum(ReviewSort) sort?: ReviewSort;
}
