import { Field, Float, ID, InputType, Int } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayUnique, IsEnum, IsIn, IsInt, IsOptional, IsUUID, Matches, Max, Min, ValidateNested } from 'class-validator';
import { AccessLevel } from '../../../access/src/access-level';
import { BoardKind } from '../boards/board.model';
import { SpaceVisibility } from '../spaces/space.model';
import { trim } from '../../../core/src/graphql/transforms';
import { OptionalPlainText, SingleLineText } from '../../../core/src/graphql/validators';
import { ID_VERSION } from '../../../core/src/ids';

/** A space's or a board's slug. */
export const SLUG = /^[a-z0-9][a-z0-9-]{1,49}$/;
const SLUG_MSG = 'must be 2–50 characters of a-z, 0-9 and -, starting with a letter or digit';
/** The longest board name, in characters (createBoard and updateBoard; an import cuts the name it makes to it). */
export const BOARD_NAME_MAX = 100;
export const SPACE_LANGUAGES = ['en', 'fr', 'simple'];

@InputType()
export class CreateSpaceInput {
  @Field() @Transform(trim) @Matches(SLUG, { message: SLUG_MSG }) slug!: string;
  @Field({ description: 'One line, 1–100 characters.' }) @SingleLineText(100) name!: string;
  @Field({ nullable: true, description: 'Plain text, up to 2,000 characters (line breaks and tabs, no other control characters); empty for none.' }) @OptionalPlainText(2000) description?: string;
  @Field(() => SpaceVisibility) @IsEnum(SpaceVisibility) visibility!: SpaceVisibility;
  @Field({ nullable: true, description: `Content language for search: ${SPACE_LANGUAGES.join(', ')} (default en).` })
  @IsOptional() @IsIn(SPACE_LANGUAGES)
  language?: string;
}

@InputType()
export class EscalationStepInput {
  @Field(() => Int, { description: 'Upheld violations within 90 days that trigger the step.' }) @IsInt() @Min(1) @Max(100) violations!: number;
  @Field({ description: 'SILENCE, SUSPEND or PROPOSE_BAN.' }) @IsIn(['SILENCE', 'SUSPEND', 'PROPOSE_BAN'], { message: 'must be SILENCE, SUSPEND or PROPOSE_BAN' }) action!: string;
  @Field(() => Int, { nullable: true, description: 'Duration for SILENCE and SUSPEND (24 when absent).' }) @IsOptional() @IsInt() @Min(1) @Max(87_600) hours?: number;
}

@InputType()
export class UpdateSpaceInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a space id' }) spaceId!: string;
  @Field({ nullable: true, description: 'One line, 1–100 characters.' }) @SingleLineText(100, { optional: true }) name?: string;
  @Field({ nullable: true, description: 'Plain text, up to 2,000 characters (line breaks and tabs, no other control characters); empty clears it.' }) @OptionalPlainText(2000) description?: string;
  @Field(() => SpaceVisibility, { nullable: true }) @IsOptional() @IsEnum(SpaceVisibility) visibility?: SpaceVisibility;
  @Field({ nullable: true }) @IsOptional() @IsIn(SPACE_LANGUAGES) language?: string;
  @Field(() => Int, { nullable: true, description: 'Report score at which content is hidden automatically (default 8).' })
  @IsOptional() @IsInt() @Min(1) @Max(1000)
  autoHideThreshold?: number;
  @Field({ nullable: true, description: 'OFF, NEW_USERS (trust level 0 waits for approval) or ALL.' })
  @IsOptional() @IsIn(['OFF', 'NEW_USERS', 'ALL'], { message: 'must be OFF, NEW_USERS or ALL' })
  premoderation?: string;
  @Field(() => Float, { nullable: true, description: 'Spam score (0–1) above which posts by members below TL2 are held (default 0.9).' })
  @IsOptional() @Min(0.5) @Max(1)
  spamThreshold?: number;
  @Field(() => [EscalationStepInput], { nullable: true, description: 'Escalation ladder; replaces the default (2 → silence 24 h, 3 → suspend 168 h, 4 → propose a ban).' })
  @IsOptional() @ArrayMaxSize(10) @ArrayUnique((s: EscalationStepInput) => s?.violations, { message: 'names each violation count once' })
  @ValidateNested({ each: true }) @Type(() => EscalationStepInput)
  escalationLadder?: EscalationStepInput[];
}

@InputType()
export class SpaceGrantInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a space id' }) spaceId!: string;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a group id' }) groupId?: string;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a user id' }) userId?: string;
  @Field(() => ID, {
    nullable: true,
    description: 'Revoking only, instead of groupId or userId: the grant’s id (SpaceGrant.id), how a grant to a group you may not see is revoked.',
  })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a grant id' })
  grantId?: string;
  @Field(() => AccessLevel, { nullable: true, description: 'Required to grant; ignored when revoking.' })
  @IsOptional() @IsIn([AccessLevel.READ, AccessLevel.PARTICIPATE, AccessLevel.MODERATE, AccessLevel.ADMIN], {
    message: 'must be READ, PARTICIPATE, MODERATE or ADMIN',
  })
  level?: AccessLevel;
}

@InputType()
export class CreateBoardInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a space id' }) spaceId!: string;
  @Field(() => BoardKind) @IsEnum(BoardKind) kind!: BoardKind;
  @Field({ description: `One line, 1–${BOARD_NAME_MAX} characters.` }) @SingleLineText(BOARD_NAME_MAX) name!: string;
  @Field() @Transform(trim) @Matches(SLUG, { message: SLUG_MSG }) slug!: string;
  @Field({ nullable: true, description: 'Plain text, up to 2,000 characters (line breaks and tabs, no other control characters); empty for none.' }) @OptionalPlainText(2000) description?: string;
  @Field(() => Int, { nullable: true }) @IsOptional() @IsInt() @Min(0) @Max(10000) position?: number;
}

@InputType()
export class UpdateBoardInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a board id' }) boardId!: string;
  @Field({ nullable: true, description: `One line, 1–${BOARD_NAME_MAX} characters.` }) @SingleLineText(BOARD_NAME_MAX, { optional: true }) name?: string;
  @Field({ nullable: true, description: 'A new slug, unique in the space: links with the old one stop working.' })
  @IsOptional() @Transform(trim) @Matches(SLUG, { message: SLUG_MSG }) slug?: string;
  @Field({ nullable: true, description: 'Plain text, up to 2,000 characters (line breaks and tabs, no other control characters); empty clears it.' }) @OptionalPlainText(2000) description?: string;
  @Field(() => Int, { nullable: true, description: 'Where the board is listed in its space (lower first; ties by name).' })
  @IsOptional() @IsInt() @Min(0) @Max(10000) position?: number;
}
