import { ArgsType, Field, ID, InputType, Int } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { Allow, IsBoolean, IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { PageArgs } from '../../../../core/src/graphql/pagination';
import { trim } from '../../../../core/src/graphql/transforms';
import { BODY_MAX, TITLE_MAX, TITLE_MIN } from '../../../../forum/src/topics/dto/topic.inputs';
import { MAX_VERIFICATION_DAYS } from '../../knowledge-settings';
import { HasVisibleText, MarkdownText, IsPlainText, MaxCharacters, OptionalPlainText, PlainText, SingleLineText } from '../../../../core/src/graphql/validators';
import { ID_VERSION } from '../../../../core/src/ids';

export const SUMMARY_MAX = 500;
export const NOTE_MAX = 500;
export const REASON_MAX = 2000;
export const COMMENT_MAX = 2000;

/** Empty (after trimming) means "none". */
const blankToNull = ({ value }: { value: unknown }) => {
  const v = trim({ value });
  return v === '' ? null : v;
};

@InputType()
export class UpdateArticleInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' }) topicId!: string;
  @Field({ nullable: true, description: `${TITLE_MIN}–${TITLE_MAX} characters; unchanged when absent.` }) @SingleLineText(TITLE_MAX, { min: TITLE_MIN, optional: true }) title?: string;
  @Field({ nullable: true, description: `Markdown, 1–${BODY_MAX.toLocaleString('en')} characters; unchanged when absent.` }) @MarkdownText(BODY_MAX, { optional: true }) body?: string;
  @Field({ nullable: true, description: `A short abstract, up to ${SUMMARY_MAX} characters; unchanged when absent or null, cleared when empty (or blank).` }) @OptionalPlainText(SUMMARY_MAX) summary?: string;
  @Field({ nullable: true, description: `What changed, up to ${NOTE_MAX} characters.` }) @IsOptional() @Transform(blankToNull) @IsString() @MaxCharacters(NOTE_MAX) @IsPlainText() @HasVisibleText() note?: string;
  @Field(() => ID, { nullable: true, description: 'The revision this edit starts from: CONFLICT when someone saved a newer one meanwhile.' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a revision id' })
  baseRevisionId?: string;
}

@InputType()
export class ArticleChangesInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' }) topicId!: string;
  @Field({ description: `What to change, plain text of 1–${REASON_MAX} characters.` }) @PlainText(REASON_MAX) reason!: string;
}

@InputType()
export class MoveArticleInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' }) topicId!: string;
  @Field(() => ID, { nullable: true, description: 'The new parent, an article of the same board; null or absent for the top level.' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' })
  parentId?: string | null;
  @Field(() => Int, { nullable: true, description: 'Place among the new siblings, from 0; at the end when absent or beyond.' })
  @IsOptional() @IsInt() @Min(0) @Max(100_000)
  position?: number;
}

@InputType()
export class RateArticleInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' }) topicId!: string;
  @Field() @IsBoolean() helpful!: boolean;
  @Field({ nullable: true, description: `Up to ${COMMENT_MAX} characters. “Not helpful” with a comment reaches the article’s owner and editors.` })
  @IsOptional() @Transform(blankToNull) @IsString() @MaxCharacters(COMMENT_MAX) @IsPlainText() @HasVisibleText()
  comment?: string;
}

@InputType()
export class PromotePostInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a post id' }) postId!: string;
  @Field(() => ID, { description: 'A knowledge board.' }) @IsUUID(ID_VERSION, { message: 'must be a board id' }) boardId!: string;
  @Field({ description: `${TITLE_MIN}–${TITLE_MAX} characters.` }) @SingleLineText(TITLE_MAX, { min: TITLE_MIN }) title!: string;
  @Field(() => ID, { nullable: true, description: 'The parent article in that board.' }) @IsOptional() @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' }) parentId?: string;
}

@InputType()
export class ArticleSettingsInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be an article (topic) id' }) topicId!: string;
  @Field(() => ID, { nullable: true, description: 'The owner becomes this user (who must be able to read the space).' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a user id' })
  ownerUserId?: string;
  @Field(() => ID, { nullable: true, description: 'The owner becomes this group (one the editor sees: any other is refused as a missing one).' }) @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a group id' }) ownerGroupId?: string;
  @Field(() => Int, { nullable: true, description: `Days between verifications (1–${MAX_VERIFICATION_DAYS}); null for the space’s default.` })
  @IsOptional() @IsInt() @Min(1) @Max(MAX_VERIFICATION_DAYS)
  verificationIntervalDays?: number | null;
}

@ArgsType()
export class SpaceArticlesArgs extends PageArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID) @Allow() spaceId!: string;
}

@ArgsType()
export class ArticleBySlugArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID) @Allow() boardId!: string;
  @Field() @Transform(trim) @Matches(/^[a-z0-9-]{1,100}$/, { message: 'must be a slug (a-z, 0-9, -)' }) slug!: string;
}

@ArgsType()
export class ArticleDiffArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID) @Allow() fromId!: string;
  @Field(() => ID) @Allow() toId!: string;
}
