import { ArgsType, Field, ID, InputType, registerEnumType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsEnum, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { PageArgs } from '../../../../core/src/graphql/pagination';
import { ReportReason, ReportTargetType, ReviewAction, ReviewDecision, ReviewSort, ReviewStatus } from '../review.model';
import { trim } from '../../../../core/src/graphql/transforms';


@InputType()
export class ReportInput {
  @Field(() => ReportTargetType, { description: 'POST, TOPIC or USER.' })
  @IsIn([ReportTargetType.POST, ReportTargetType.TOPIC, ReportTargetType.USER], { message: 'must be POST, TOPIC or USER' })
  targetType!: ReportTargetType;
  @Field(() => ID) @IsUUID('all', { message: 'must be an id' }) targetId!: string;
  @Field(() => ReportReason) @IsEnum(ReportReason) reason!: ReportReason;
  @Field({ nullable: true, description: 'Required with OTHER.' }) @IsOptional() @Transform(trim) @IsString() @MaxLength(1000) note?: string;
}

@InputType()
export class ResolveReviewInput {
  @Field(() => ID) @IsUUID('all', { message: 'must be a review item id' }) id!: string;
  @Field(() => ReviewDecision) @IsEnum(ReviewDecision) decision!: ReviewDecision;
  @Field(() => ReviewAction, { nullable: true }) @IsOptional() @IsEnum(ReviewAction) action?: ReviewAction;
  @Field({ nullable: true }) @IsOptional() @Transform(trim) @IsString() @Length(0, 1000) note?: string;
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
  @Field(() => ID) @IsUUID('all', { message: 'must be a post id' }) postId!: string;
  @Field(() => ModerationAction, { description: 'HIDE, UNHIDE, DELETE, RESTORE, APPROVE (pending) or REJECT (pending).' })
  @IsEnum(ModerationAction, { message: 'must be HIDE, UNHIDE, DELETE, RESTORE, APPROVE or REJECT' })
  action!: ModerationAction;
  @Field({ nullable: true }) @IsOptional() @Transform(trim) @IsString() @MaxLength(1000) reason?: string;
}

@ArgsType()
export class ReviewQueueArgs extends PageArgs {
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID('all', { message: 'must be a space id' }) spaceId?: string;
  @Field(() => ReviewStatus, { nullable: true, defaultValue: ReviewStatus.PENDING }) @IsOptional() @IsEnum(ReviewStatus) status?: ReviewStatus;
  @Field(() => ReviewSort, { nullable: true, defaultValue: ReviewSort.SCORE }) @IsOptional() @IsEnum(ReviewSort) sort?: ReviewSort;
}
