import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import { Allow, ArrayMaxSize, ArrayUnique, IsEnum, IsIn, IsInt, IsOptional, IsUUID, Matches, Max, Min, ValidateNested } from 'class-validator';
import { PageArgs } from '../../core/src/graphql/pagination';
import { listOf } from '../../core/src/graphql/limits';
import { MarkdownText, SingleLineText } from '../../core/src/graphql/validators';
import { TopicModel } from '../../forum/src/topics/topic.model';
import { normalizeTag, TAG_RE } from '../../forum/src/topics/dto/topic.inputs';
import { UserModel } from '../../identity/src/users/user.model';
import { ID_VERSION } from '../../core/src/ids';

/** Most ideas a roadmap column lists. */
export const ROADMAP_LIMIT = 100;

export enum IdeaStatus {
  NEW = 'NEW',
  UNDER_REVIEW = 'UNDER_REVIEW',
  PLANNED = 'PLANNED',
  IN_PROGRESS = 'IN_PROGRESS',
  COMPLETED = 'COMPLETED',
  DECLINED = 'DECLINED',
  MERGED = 'MERGED',
}
registerEnumType(IdeaStatus, {
  name: 'IdeaStatus',
  description: 'COMPLETED, DECLINED and MERGED close an idea: it takes no votes. A completed or declined idea’s votes return to their voters’ budgets; a merged one’s count where its merges end, while that idea is open.',
});

export const CLOSED_STATUSES: readonly IdeaStatus[] = [IdeaStatus.COMPLETED, IdeaStatus.DECLINED, IdeaStatus.MERGED];

export const DEFAULT_STATUS_LABELS: Record<IdeaStatus, string> = {
  NEW: 'New',
  UNDER_REVIEW: 'Under review',
  PLANNED: 'Planned',
  IN_PROGRESS: 'In progress',
  COMPLETED: 'Completed',
  DECLINED: 'Declined',
  MERGED: 'Merged',
};

export enum IdeaSort {
  TRENDING = 'TRENDING',
  TOP = 'TOP',
  NEWEST = 'NEWEST',
  RECENTLY_UPDATED = 'RECENTLY_UPDATED',
}
registerEnumType(IdeaSort, {
  name: 'IdeaSort',
  description:
    'TRENDING: (1 + recent activity) / sqrt(2 + age in days), where recent activity sums e^(-days ago / 7) over votes and half that over replies of the last 30 days. TOP: most votes. NEWEST: newest first. RECENTLY_UPDATED: latest reply or status change first.',
});

/** An idea row and what lists need with it. */
export interface IdeaRow {
  topic_id: string;
  status: IdeaStatus;
  vote_count: number;
  merged_into: string | null;
  response_html: string | null;
  response_author_id: string | null;
  response_at: Date | null;
  status_changed_at: Date;
  version: number;
  space_id: string;
  board_id: string;
  board_settings: Record<string, unknown>;
}

@ObjectType('IdeaResponse')
export class IdeaResponseModel {
  @Field({ description: 'Sanitized HTML.' }) body!: string;
  @Field(() => UserModel, { nullable: true }) author!: UserModel | null;
  @Field() at!: Date;
  authorId!: string | null;
}

@ObjectType('IdeaStatusChange')
export class IdeaStatusChangeModel {
  @Field(() => IdeaStatus) from!: IdeaStatus;
  @Field(() => IdeaStatus) to!: IdeaStatus;
  @Field() at!: Date;
  @Field(() => String, { nullable: true, description: 'The official response given with the change (sanitized HTML).' }) response!: string | null;
  @Field(() => UserModel, { nullable: true }) actor!: UserModel | null;
  actorId!: string | null;
}

@ObjectType('SegmentCount')
export class SegmentCountModel {
  @Field({ description: 'A group’s slug (employees, customers, partners…) or `other` for voters in no group the viewer sees.' }) segment!: string;
  @Field(() => Int) count!: number;
}

@ObjectType('IdeaDetails')
export class IdeaModel {
  @Field(() => IdeaStatus) status!: IdeaStatus;
  @Field({ description: 'The board’s label for the status.' }) statusLabel!: string;
  @Field(() => Int, { description: 'Distinct voters of the idea and of every idea merged into it.' }) voteCount!: number;
  @Field(() => IdeaResponseModel, { nullable: true }) officialResponse!: IdeaResponseModel | null;
  @Field() statusChangedAt!: Date;
  @Field(() => Int, {
    description: 'Grows with every change of the idea (votes, status, merges): the version `idea:updated` pushes carry. Keep the highest you applied, from this answer or a push, and drop a push of a lower one (README, Order). Drawn from one sequence the site shares: by how much it grows says nothing.',
  })
  version!: number;

  topicId!: string;
  spaceId!: string;
  boardId!: string;
  mergedIntoId!: string | null;
  /** The viewer's level in the space. */
  viewerRank!: number;
}

@ObjectType('IdeaStatusLabel')
export class IdeaStatusLabelModel {
  @Field(() => IdeaStatus) status!: IdeaStatus;
  @Field() label!: string;
}

@ObjectType('IdeaBoardSettings')
export class IdeaBoardSettingsModel {
  @Field(() => Int, { nullable: true, description: 'Open votes a member may hold in this board; null for no limit.' }) voteBudget!: number | null;
  @Field(() => [IdeaStatusLabelModel]) statusLabels!: IdeaStatusLabelModel[];
  @Field(() => Int, { nullable: true, description: 'Votes the viewer may still cast here; null without a budget or when signed out.' })
  viewerVotesLeft!: number | null;
}

@ObjectType('Roadmap')
export class RoadmapModel {
  @Field(() => [TopicModel], { description: `At most ${ROADMAP_LIMIT}, most voted first.`, complexity: listOf(ROADMAP_LIMIT) }) planned!: TopicModel[];
  @Field(() => [TopicModel], { description: `At most ${ROADMAP_LIMIT}, most voted first.`, complexity: listOf(ROADMAP_LIMIT) }) inProgress!: TopicModel[];
  @Field(() => [TopicModel], { description: `Completed in the last 90 days, latest first; at most ${ROADMAP_LIMIT}.`, complexity: listOf(ROADMAP_LIMIT) }) completed!: TopicModel[];
}

@InputType()
export class SetIdeaStatusInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an idea (topic) id' }) topicId!: string;
  @Field(() => IdeaStatus, { description: 'Any status but MERGED (use mergeIdea).' })
  @IsEnum(IdeaStatus) @IsIn(Object.values(IdeaStatus).filter((s) => s !== IdeaStatus.MERGED), { message: 'use mergeIdea to merge an idea' })
  status!: IdeaStatus;
  @Field({ nullable: true, description: 'The official response, in markdown (up to 10,000 characters).' })
  @MarkdownText(10_000, { optional: true })
  response?: string;
}

@InputType()
export class MergeIdeaInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an idea (topic) id' }) sourceId!: string;
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an idea (topic) id' }) targetId!: string;
}

@InputType()
export class IdeaStatusLabelInput {
  @Field(() => IdeaStatus) @IsEnum(IdeaStatus) status!: IdeaStatus;
  @Field({ description: 'One line, 1–40 characters.' }) @SingleLineText(40) label!: string;
}

@InputType()
export class UpdateIdeaBoardInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a board id' }) boardId!: string;
  @Field(() => Int, { nullable: true, description: 'Open votes per member; 0 removes the limit. Absent: unchanged.' })
  @IsOptional() @IsInt() @Min(0) @Max(1000)
  voteBudget?: number;
  @Field(() => [IdeaStatusLabelInput], { nullable: true, description: 'New labels for some statuses (the meaning of a status never changes).' })
  @IsOptional() @ArrayMaxSize(7) @ArrayUnique((l: IdeaStatusLabelInput) => l?.status, { message: 'names each status once' })
  @ValidateNested({ each: true }) @Type(() => IdeaStatusLabelInput)
  statusLabels?: IdeaStatusLabelInput[];
}

@ArgsType()
export class IdeaListArgs extends PageArgs {
  @Field(() => [IdeaStatus], { nullable: true, description: 'Only these statuses (merged ideas are left out unless asked for).' })
  @IsOptional() @ArrayMaxSize(7) @IsEnum(IdeaStatus, { each: true })
  statuses?: IdeaStatus[];
  @Field({ nullable: true }) @IsOptional() @Transform(normalizeTag) @Matches(TAG_RE, { message: 'must be a tag' })
  tag?: string;
  @Field(() => IdeaSort, { nullable: true, defaultValue: IdeaSort.TRENDING }) @IsOptional() @IsEnum(IdeaSort)
  sort?: IdeaSort;
}

@ArgsType()
export class IdeasCsvArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID) @Allow() boardId!: string;
  @Field(() => [IdeaStatus], { nullable: true }) @IsOptional() @ArrayMaxSize(7) @IsEnum(IdeaStatus, { each: true })
  statuses?: IdeaStatus[];
}
