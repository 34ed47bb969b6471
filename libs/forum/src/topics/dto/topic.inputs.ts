import { ArgsType, Field, ID, InputType, Int } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsBoolean, IsEnum, IsInt, IsOptional, IsUUID, Matches, Max, Min, ValidateNested } from 'class-validator';
import { PageArgs } from '../../../../core/src/graphql/pagination';
import { CacheableArgs } from '../../../../core/src/graphql/validated-args';
import { ValueOnly } from '../../../../core/src/graphql/value-only-checks';
import { TopicFeedView, TopicKind, TopicSort } from '../../forum.enums';
import { trim, valueOnlyTransform } from '../../../../core/src/graphql/transforms';
import { MarkdownText, SingleLineText } from '../../../../core/src/graphql/validators';
import { ID_VERSION } from '../../../../core/src/ids';

const normalizeTags = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? [...new Set(value.map((t) => (typeof t === 'string' ? t.trim().toLowerCase() : t)))] : value;

/** One tag as a filter, read as topics store them (trimmed, lower-case). */
export const normalizeTag = valueOnlyTransform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));

export const TAG_RE = /^[a-z0-9][a-z0-9-]{0,29}$/;
export const BODY_MAX = 100_000;
/** A topic title's bounds, in characters (code points, as MinCharacters counts): every way a title is written (a topic, a first post's edit, a move to a new topic, an article, an import) holds to them. */
export const TITLE_MIN = 3;
export const TITLE_MAX = 200;

@InputType()
export class CreateTopicInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a board id' }) boardId!: string;
  @Field({ description: `${TITLE_MIN}–${TITLE_MAX} characters.` }) @SingleLineText(TITLE_MAX, { min: TITLE_MIN }) title!: string;
  @Field({ description: 'Markdown, 1–100,000 characters.' }) @MarkdownText(BODY_MAX) body!: string;
  @Field(() => TopicKind, {
    nullable: true,
    description: 'Forum boards: DISCUSSION (default) or QUESTION. Idea and knowledge boards make IDEA and ARTICLE topics; the kind may be given, and must then be that one.',
  })
  @IsOptional() @IsEnum(TopicKind, { message: 'must be a topic kind' })
  kind?: TopicKind;
  @Field(() => [String], { nullable: true, description: 'Up to 5 lower-case tags (a-z, 0-9, -).' })
  @IsOptional() @Transform(normalizeTags) @ArrayMaxSize(5) @Matches(TAG_RE, { each: true, message: 'each tag must be 1–30 characters of a-z, 0-9 and -' })
  tags?: string[];
  @Field(() => ID, { nullable: true, description: 'Knowledge boards: the parent article (articles form a tree per board).' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' })
  parentId?: string;
}

@InputType()
export class TopicStatusInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field({ nullable: true }) @IsOptional() @IsBoolean() pinned?: boolean;
  @Field({ nullable: true }) @IsOptional() @IsBoolean() closed?: boolean;
  @Field({ nullable: true }) @IsOptional() @IsBoolean() locked?: boolean;
}

/** Slow mode's longest gap between a member's posts: a day, as Discourse offers. */
export const SLOW_MODE_MAX_SECONDS = 86_400;
/** The shortest gap: less is no slower than posting limits already are. */
export const SLOW_MODE_MIN_SECONDS = 10;

@InputType()
export class TopicSlowModeInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field(() => Int, { description: `Seconds each member waits between posts here: 10 to ${SLOW_MODE_MAX_SECONDS.toLocaleString('en')} (a day), or 0 to turn slow mode off.` })
  @IsInt() @Min(0) @Max(SLOW_MODE_MAX_SECONDS)
  seconds!: number;
  @Field(() => Int, { nullable: true, description: 'Hours until slow mode ends by itself (1 to 8,760, a year); left out, it lasts until turned off. Not with 0 seconds.' })
  @IsOptional() @IsInt() @Min(1) @Max(8_760)
  durationHours?: number;
}

@InputType()
export class GlobalPinInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field({ description: 'True pins it above every feed (again: it shows again to those who dismissed it); false unpins it.' })
  @IsBoolean() pinned!: boolean;
  @Field(() => Int, { nullable: true, description: 'Hours until the pin ends by itself (1 to 8,760, a year); left out, it lasts until unpinned. Only when pinning.' })
  @IsOptional() @IsInt() @Min(1) @Max(8_760)
  durationHours?: number;
}

@InputType()
export class MoveTopicInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field(() => ID, { description: 'A board of the same kind, in this space or another one the moderator moderates.' })
  @IsUUID(ID_VERSION, { message: 'must be a board id' }) boardId!: string;
}

@InputType()
export class MarkReadInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field(() => Int, { description: 'The highest post number read. The mark goes no further than the last post you are shown (a reply still held for approval after it is not passed).' }) @IsInt() @Min(1) @Max(10_000_000) postNumber!: number;
}

@CacheableArgs()
@ArgsType()
export class TopicListArgs extends PageArgs {
  @Field(() => TopicSort, { nullable: true, defaultValue: TopicSort.LATEST_ACTIVITY })
  @ValueOnly.IsOptional() @ValueOnly.IsEnum(TopicSort)
  sort?: TopicSort;
  @Field({ nullable: true }) @ValueOnly.IsOptional() @Transform(normalizeTag) @ValueOnly.Matches(TAG_RE, { message: 'must be a tag' })
  tag?: string;
}

/** The most suggested topics a topic's page asks for, and the most participants a topic lists. */
export const SUGGESTED_MAX = 10;
export const PARTICIPANTS_MAX = 10;

@ArgsType()
export class SuggestedTopicsArgs {
  @Field(() => Int, { nullable: true, description: `How many: default 5, at most ${SUGGESTED_MAX}.` })
  @IsOptional() @IsInt() @Min(1) @Max(SUGGESTED_MAX)
  first?: number;
}

@ArgsType()
export class ParticipantsArgs {
  @Field(() => Int, { nullable: true, description: `How many: default 5, at most ${PARTICIPANTS_MAX}.` })
  @IsOptional() @IsInt() @Min(1) @Max(PARTICIPANTS_MAX)
  first?: number;
}

@InputType()
export class TopicFeedFilter {
  @Field(() => [ID], { nullable: true, description: 'Only these spaces (among those the viewer may read; others are ignored).' })
  @IsOptional() @ArrayMaxSize(100) @IsUUID(ID_VERSION, { each: true, message: 'each must be a space id' })
  spaceIds?: string[];

  @Field({ nullable: true, description: 'Only topics with this tag.' })
  @IsOptional() @Transform(normalizeTag) @Matches(TAG_RE, { message: 'must be a tag' })
  tag?: string;

  @Field(() => TopicFeedView, { nullable: true, defaultValue: TopicFeedView.LATEST })
  @IsOptional() @IsEnum(TopicFeedView)
  view?: TopicFeedView;
}

@ArgsType()
export class TopicFeedArgs extends PageArgs {
  @Field(() => TopicFeedFilter, { nullable: true })
  @IsOptional() @ValidateNested() @Type(() => TopicFeedFilter)
  filter?: TopicFeedFilter;
}

/** Normalises tags the same way for edits. */
export { normalizeTags };
