import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsDate, IsEnum, IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import { HasVisibleText, IsSingleLine, MaxCharacters, SingleLineText } from '../../../../core/src/graphql/validators';
import { POLL_OPTION_MAX, POLL_OPTIONS_MAX, POLL_OPTIONS_MIN, POLL_QUESTION_MAX, PollKind, PollResults } from '../poll.model';
import { ID_VERSION } from '../../../../core/src/ids';

const trimEach = ({ value }: { value: unknown }) => (Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim() : v)) : value);

/** What a poll is made of, as createPoll sets it and updatePoll replaces it. */
@InputType({ isAbstract: true })
export abstract class PollShapeInput {
  @Field({ description: `Plain text, one line, up to ${POLL_QUESTION_MAX} characters.` })
  @SingleLineText(POLL_QUESTION_MAX)
  question!: string;

  @Field(() => [String], {
    description: `${POLL_OPTIONS_MIN}–${POLL_OPTIONS_MAX} options in order, plain text of 1–${POLL_OPTION_MAX} characters each, all different once trimmed and ignoring case.`,
  })
  @Transform(trimEach) @IsArray() @ArrayMinSize(POLL_OPTIONS_MIN) @ArrayMaxSize(POLL_OPTIONS_MAX)
  @IsString({ each: true }) @HasVisibleText({ each: true }) @IsSingleLine({ each: true }) @MaxCharacters(POLL_OPTION_MAX, { each: true })
  options!: string[];

  @Field(() => PollKind, { description: 'SINGLE: one option per voter; MULTIPLE: between minChoices and maxChoices.' })
  @IsEnum(PollKind)
  kind!: PollKind;

  @Field(() => Int, { nullable: true, description: 'MULTIPLE only: the fewest options a vote picks (1 when left out).' })
  @IsOptional() @IsInt() @Min(1) @Max(POLL_OPTIONS_MAX)
  minChoices?: number | null;

  @Field(() => Int, { nullable: true, description: 'MULTIPLE only: the most options a vote picks (every option when left out).' })
  @IsOptional() @IsInt() @Min(1) @Max(POLL_OPTIONS_MAX)
  maxChoices?: number | null;

  @Field(() => Date, { nullable: true, description: 'When the poll closes by itself: in the future, within a year. Open until closed when left out.' })
  @IsOptional() @IsDate()
  closesAt?: Date | null;

  @Field(() => PollResults, { description: 'Who sees the counts, and when.' })
  @IsEnum(PollResults)
  results!: PollResults;

  @Field({ description: 'Whether those who see the counts also see who chose each option.' })
  @IsBoolean()
  publicVoters!: boolean;
}

@InputType()
export class CreatePollInput extends PollShapeInput {
  @Field(() => ID, { description: 'The post that carries the poll (one poll per post).' })
  @IsUUID(ID_VERSION, { message: 'must be a post id' })
  postId!: string;
}

@InputType()
export class UpdatePollInput extends PollShapeInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a poll id' }) pollId!: string;
}

@InputType()
export class VotePollInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a poll id' }) pollId!: string;

  @Field(() => [ID], { description: 'The options chosen, replacing the viewer’s earlier choice: exactly one for SINGLE, minChoices to maxChoices for MULTIPLE.' })
  @IsArray() @ArrayMaxSize(POLL_OPTIONS_MAX) @IsUUID(ID_VERSION, { each: true, message: 'must be option ids' })
  optionIds!: string[];
}
