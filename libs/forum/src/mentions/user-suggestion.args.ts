import { ArgsType, Field, ID, Int } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

export const SUGGESTIONS_DEFAULT = 8;
export const SUGGESTIONS_MAX = 20;

/** What an @mention may start with: a handle's characters, or the start of a word of a display name. */
const PREFIX_RE = /^[\p{L}\p{M}\p{N}_.'-]{1,30}$/u;

@ArgsType()
export class UserSuggestionsArgs {
  @Field({ description: 'What follows the @ so far: the start of a handle, or of a word of a display name (1–30 characters, case-insensitive).' })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim().replace(/^@/, '').normalize('NFC').toLowerCase() : value))
  @Matches(PREFIX_RE, { message: 'must be the start of a handle or a name (letters, digits, _ . \' -), 1–30 characters' })
  prefix!: string;

  @Field(() => ID, { nullable: true, description: 'The topic being replied to: those who wrote in it come first. NOT_FOUND when the viewer may not read it.' })
  // The id itself is checked by withIdArguments (every bare `ID` argument); @IsOptional keeps it past the pipe's whitelist.
  @IsOptional()
  topicId?: string;

  @Field(() => Int, { nullable: true, description: `How many: default ${SUGGESTIONS_DEFAULT}, at most ${SUGGESTIONS_MAX}.` })
  @IsOptional() @IsInt() @Min(1) @Max(SUGGESTIONS_MAX)
  first?: number;
}
