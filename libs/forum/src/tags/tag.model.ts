import { ArgsType, Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { normalizeTag, TAG_RE } from '../topics/dto/topic.inputs';

export const TAGS_DEFAULT = 30;
export const TAGS_MAX = 200;

@ObjectType('TagCount')
export class TagCountModel {
  @Field() name!: string;
  @Field(() => Int, { description: 'Visible topics carrying the tag, in the spaces asked about that the viewer reads.' })
  topicCount!: number;
}

@ArgsType()
export class TagsArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => [ID], { nullable: true, description: 'Only these spaces (among those the viewer may read; others are ignored).' })
  @IsOptional() @ArrayMaxSize(100)
  spaceIds?: string[];

  @Field({ nullable: true, description: 'Only tags starting with this (a tag picker’s search-as-you-type); trimmed and lower-cased, blank for none.' })
  @IsOptional() @Transform(normalizeTag) @Transform(({ value }) => (value === '' ? undefined : value)) @Matches(TAG_RE, { message: 'must be the start of a tag (a-z, 0-9, -)' })
  prefix?: string;

  @Field(() => Int, { nullable: true, description: `How many: default ${TAGS_DEFAULT}, at most ${TAGS_MAX}.` })
  @IsOptional() @IsInt() @Min(1) @Max(TAGS_MAX)
  first?: number;
}
