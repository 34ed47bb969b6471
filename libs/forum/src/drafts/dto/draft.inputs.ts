import { ArgsType, Field, ID, InputType, Int } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsEnum, IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min, ValidateNested } from 'class-validator';
import { MaxCharacters } from '../../../../core/src/graphql/validators';
import { TopicKind } from '../../forum.enums';
import { BODY_MAX, normalizeTags, TAG_RE, TITLE_MAX } from '../../topics/dto/topic.inputs';
import { ID_VERSION } from '../../../../core/src/ids';

/** What a draft is for: a new topic in a board, a reply in a topic, or an edit of a post (exactly one of the three). */
@InputType()
export class DraftTargetInput {
  @Field(() => ID, { nullable: true, description: 'A new topic in this board.' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a board id' })
  boardId?: string;

  @Field(() => ID, { nullable: true, description: 'A reply in this topic.' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a topic id' })
  topicId?: string;

  @Field(() => ID, { nullable: true, description: 'An edit of this post.' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a post id' })
  postId?: string;
}

@InputType()
export class SaveDraftInput {
  @Field(() => DraftTargetInput)
  @ValidateNested() @Type(() => DraftTargetInput)
  target!: DraftTargetInput;

  @Field(() => Int, {
    description:
      'The sequence of the draft as this client last saw it (Draft.sequence, from loading or saving it), 0 when it saw none. ' +
      'Any other than the draft’s current one is CONFLICT, with the current one in extensions.currentSequence (0: there is no draft).',
  })
  @IsInt() @Min(0) @Max(2 ** 31 - 1)
  sequence!: number;

  @Field({ description: `The markdown as written so far, up to ${BODY_MAX.toLocaleString('en')} characters; may be blank. Stored as given, never rendered.` })
  @IsString() @MaxCharacters(BODY_MAX)
  body!: string;

  @Field(() => String, { nullable: true, description: `A new topic’s title (or a first post’s, in an edit’s draft) as written so far, up to ${TITLE_MAX} characters.` })
  @IsOptional() @IsString() @MaxCharacters(TITLE_MAX)
  title?: string | null;

  @Field(() => [String], { nullable: true, description: 'A new topic’s tags (or a first post’s, in an edit’s draft), as createTopic takes them (up to 5 of a-z, 0-9 and -).' })
  @IsOptional() @Transform(normalizeTags) @ArrayMaxSize(5) @Matches(TAG_RE, { each: true, message: 'each tag must be 1–30 characters of a-z, 0-9 and -' })
  tags?: string[] | null;

  @Field(() => ID, { nullable: true, description: 'A reply’s draft: the post of the topic it answers, as replyToTopic takes it.' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a post id' })
  replyToPostId?: string | null;

  @Field(() => TopicKind, { nullable: true, description: 'A new topic’s draft: the kind chosen so far, as createTopic takes it on the board.' })
  @IsOptional() @IsEnum(TopicKind)
  kind?: TopicKind | null;
}

@ArgsType()
export class DeleteDraftArgs {
  @Field(() => DraftTargetInput)
  @ValidateNested() @Type(() => DraftTargetInput)
  target!: DraftTargetInput;

  @Field(() => Int, {
    nullable: true,
    description: 'The sequence of the draft as this client last saw it: when given, any other than the draft’s current one is CONFLICT (extensions.currentSequence) and deletes nothing.',
  })
  @IsOptional() @IsInt() @Min(1) @Max(2 ** 31 - 1)
  sequence?: number | null;
}
