import { Field, ID, InputType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsEnum, IsOptional, IsString, IsUUID, Length, Matches, MaxLength } from 'class-validator';
import { ReactionKind } from '../../forum.enums';
import { BODY_MAX, normalizeTags, TAG_RE, TITLE_MAX } from '../../topics/dto/topic.inputs';
import { trim } from '../../../../core/src/graphql/transforms';
import { HasVisibleText, IsSingleLine } from '../../../../core/src/graphql/validators';


@InputType()
export class ReplyInput {
  @Field(() => ID) @IsUUID('all', { message: 'must be a topic id' }) topicId!: string;
  @Field({ description: 'Markdown, 1–100,000 characters.' }) @IsString() @Length(1, BODY_MAX) @HasVisibleText() body!: string;
  @Field(() => ID, { nullable: true, description: 'The post this replies to, in the same topic.' })
  @IsOptional() @IsUUID('all', { message: 'must be a post id' })
  replyToPostId?: string;
}

@InputType()
export class EditPostInput {
  @Field(() => ID) @IsUUID('all', { message: 'must be a post id' }) postId!: string;
  @Field() @IsString() @Length(1, BODY_MAX) @HasVisibleText() body!: string;
  @Field({ nullable: true, description: 'Shown in the revision history.' }) @IsOptional() @Transform(trim) @IsString() @MaxLength(200) reason?: string;
  @Field({ nullable: true, description: 'First post only: a new topic title.' }) @IsOptional() @Transform(trim) @IsString() @Length(3, TITLE_MAX) @HasVisibleText() @IsSingleLine() title?: string;
  @Field(() => [String], { nullable: true, description: 'First post only: new tags.' })
  @IsOptional() @Transform(normalizeTags) @ArrayMaxSize(5) @Matches(TAG_RE, { each: true, message: 'each tag must be 1–30 characters of a-z, 0-9 and -' })
  tags?: string[];
}

@InputType()
export class ReactionInput {
  @Field(() => ID) @IsUUID('all', { message: 'must be a post id' }) postId!: string;
  @Field(() => ReactionKind) @IsEnum(ReactionKind) kind!: ReactionKind;
}
