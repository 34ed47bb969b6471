import { Field, ID, InputType } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsOptional, IsUUID, Matches, ValidateNested } from 'class-validator';
import { SingleLineText } from '../../../../core/src/graphql/validators';
import { normalizeTags, TAG_RE, TITLE_MAX, TITLE_MIN } from '../../topics/dto/topic.inputs';
import { ID_VERSION } from '../../../../core/src/ids';

/** Most posts one movePosts takes. */
export const MOVE_POSTS_MAX = 200;

@InputType({ description: 'A new topic for the moved posts: the earliest of them opens it.' })
export class NewTopicForPostsInput {
  @Field(() => ID, { description: 'A forum board the moderator moderates.' }) @IsUUID(ID_VERSION, { message: 'must be a board id' }) boardId!: string;
  @Field({ description: `${TITLE_MIN}–${TITLE_MAX} characters.` }) @SingleLineText(TITLE_MAX, { min: TITLE_MIN }) title!: string;
  @Field(() => [String], { nullable: true, description: 'Up to 5 lower-case tags (a-z, 0-9, -).' })
  @IsOptional() @Transform(normalizeTags) @ArrayMaxSize(5) @Matches(TAG_RE, { each: true, message: 'each tag must be 1–30 characters of a-z, 0-9 and -' })
  tags?: string[];
}

@InputType()
export class MovePostsInput {
  @Field(() => [ID], { description: `1–${MOVE_POSTS_MAX} replies of one topic (not its first post: moveTopic moves a whole topic).` })
  @ArrayMinSize(1, { message: 'give at least one post' }) @ArrayMaxSize(MOVE_POSTS_MAX, { message: `at most ${MOVE_POSTS_MAX} posts at once` })
  @IsUUID(ID_VERSION, { each: true, message: 'each must be a post id' })
  postIds!: string[];

  @Field(() => ID, { nullable: true, description: 'An existing forum topic to append them to (give this or newTopic).' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a topic id' })
  toTopicId?: string;

  @Field(() => NewTopicForPostsInput, { nullable: true, description: 'A new topic to split them into (give this or toTopicId).' })
  @IsOptional() @ValidateNested() @Type(() => NewTopicForPostsInput)
  newTopic?: NewTopicForPostsInput;
}
