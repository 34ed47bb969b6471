import { ArgsType, Field, ID, InputType, Int } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsEnum, IsOptional, IsUUID, Matches } from 'class-validator';
import { ReactionKind } from '../../forum.enums';
import { BODY_MAX, normalizeTags, TAG_RE, TITLE_MAX, TITLE_MIN } from '../../topics/dto/topic.inputs';
import { MarkdownText, OptionalPlainText, SingleLineText } from '../../../../core/src/graphql/validators';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageArgs } from '../../../../core/src/graphql/pagination';
import { CacheableArgs } from '../../../../core/src/graphql/validated-args';
import { ValueOnly } from '../../../../core/src/graphql/value-only-checks';
import { ID_VERSION } from '../../../../core/src/ids';


@InputType()
export class ReplyInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field({ description: 'Markdown, 1–100,000 characters.' }) @MarkdownText(BODY_MAX) body!: string;
  @Field(() => ID, { nullable: true, description: 'The post this replies to, in the same topic.' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a post id' })
  replyToPostId?: string;
}

@InputType()
export class EditPostInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a post id' }) postId!: string;
  @Field({ description: 'Markdown, 1–100,000 characters.' }) @MarkdownText(BODY_MAX) body!: string;
  @Field({ nullable: true, description: 'Shown in the revision history: plain text, up to 200 characters (line breaks and tabs, no other control characters); empty for none.' }) @OptionalPlainText(200) reason?: string;
  @Field({ nullable: true, description: `First post only: a new topic title, ${TITLE_MIN}–${TITLE_MAX} characters.` }) @SingleLineText(TITLE_MAX, { min: TITLE_MIN, optional: true }) title?: string;
  @Field(() => [String], { nullable: true, description: 'First post only: new tags.' })
  @IsOptional() @Transform(normalizeTags) @ArrayMaxSize(5) @Matches(TAG_RE, { each: true, message: 'each tag must be 1–30 characters of a-z, 0-9 and -' })
  tags?: string[];
}

@InputType()
export class ReactionInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a post id' }) postId!: string;
  @Field(() => ReactionKind) @IsEnum(ReactionKind) kind!: ReactionKind;
}

/**
 * A topic's posts, read forwards (`first`, `after`), backwards (`last`, `before`: the posts
 * ahead of a cursor, or the topic's last ones), or opened at a post number (`near`: a link to
 * post 120 of a long thread, a notification, where the reader left off).
 */
@CacheableArgs()
@ArgsType()
export class TopicPostsArgs extends PageArgs {
  @Field(() => Int, { nullable: true, description: `Backwards: the last this many posts before \`before\` (or of the topic): default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}.` })
  @ValueOnly.IsOptional() @ValueOnly.IsInt() @ValueOnly.Min(1) @ValueOnly.Max(MAX_PAGE_SIZE)
  last?: number;

  @Field(() => String, { nullable: true, description: 'Backwards: the cursor of the first edge already seen (a page’s `startCursor`).' })
  @ValueOnly.IsOptional() @ValueOnly.IsString() @ValueOnly.MaxLength(500)
  before?: string;

  @Field(() => Int, {
    nullable: true,
    description:
      'Open the topic at this post number: the page (of `first`) starts at the first post numbered so or more that the viewer is shown, or, past the last, is the topic’s last page. ' +
      '`pageInfo.hasPreviousPage` and `startCursor` lead back from there.',
  })
  @ValueOnly.IsOptional() @ValueOnly.IsInt() @ValueOnly.Min(1) @ValueOnly.Max(2 ** 31 - 1)
  near?: number;
}
