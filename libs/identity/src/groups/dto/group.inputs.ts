import { Field, ID, InputType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsEnum, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import { GroupJoining, GroupMentionable, GroupVisibility } from '../group.model';
import { trim } from '../../../../core/src/graphql/transforms';
import { HasVisibleText, IsPlainText, MaxCharacters, OptionalPlainText, SingleLineText } from '../../../../core/src/graphql/validators';
import { ID_VERSION } from '../../../../core/src/ids';

/** How long a request's message may be (the table's CHECK counts the same characters). */
export const GROUP_REQUEST_MESSAGE_MAX = 500;

const VISIBILITIES = 'must be PUBLIC, SIGNED_IN, MEMBERS or OWNERS';
const JOININGS = 'must be CLOSED, OPEN or REQUEST';

@InputType()
export class CreateGroupInput {
  @Field() @Transform(trim) @Matches(/^[a-z0-9][a-z0-9-]{1,39}$/, { message: 'must be 2–40 characters of a-z, 0-9 and -' })
  slug!: string;
  @Field({ description: 'One line, 1–80 characters.' }) @SingleLineText(80) name!: string;
  @Field({ nullable: true, description: 'Plain text, up to 500 characters (line breaks and tabs, no other control characters); empty for none.' }) @OptionalPlainText(500) description?: string;
  @Field(() => GroupMentionable, { nullable: true, description: 'NOBODY when absent.' })
  @IsOptional() @IsEnum(GroupMentionable, { message: 'must be NOBODY, STAFF, MEMBERS or EVERYONE' })
  mentionable?: GroupMentionable;
  @Field(() => GroupVisibility, { nullable: true, description: 'OWNERS when absent.' })
  @IsOptional() @IsEnum(GroupVisibility, { message: VISIBILITIES })
  visibility?: GroupVisibility;
  @Field(() => GroupJoining, { nullable: true, description: 'CLOSED when absent; OPEN and REQUEST need visibility SIGNED_IN or PUBLIC.' })
  @IsOptional() @IsEnum(GroupJoining, { message: JOININGS })
  joining?: GroupJoining;
}

@InputType({ description: 'What to change; fields left out stay as they are.' })
export class UpdateGroupInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a group id' }) groupId!: string;
  @Field({ nullable: true, description: 'One line, 1–80 characters.' }) @SingleLineText(80, { optional: true }) name?: string;
  @Field({ nullable: true, description: 'Plain text, up to 500 characters (line breaks and tabs, no other control characters); empty clears it.' }) @OptionalPlainText(500) description?: string;
  @Field(() => GroupMentionable, { nullable: true })
  @IsOptional() @IsEnum(GroupMentionable, { message: 'must be NOBODY, STAFF, MEMBERS or EVERYONE' })
  mentionable?: GroupMentionable;
  @Field(() => GroupVisibility, { nullable: true })
  @IsOptional() @IsEnum(GroupVisibility, { message: VISIBILITIES })
  visibility?: GroupVisibility;
  @Field(() => GroupJoining, { nullable: true, description: 'OPEN and REQUEST need visibility SIGNED_IN or PUBLIC (as it is after the change).' })
  @IsOptional() @IsEnum(GroupJoining, { message: JOININGS })
  joining?: GroupJoining;
}

@InputType()
export class GroupMemberInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a group id' }) groupId!: string;
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a user id' }) userId!: string;
}

@InputType()
export class SetGroupOwnerInput extends GroupMemberInput {
  @Field({ description: 'true makes them an owner (and a member, if they were not); false leaves them a member.' }) @IsBoolean() owner!: boolean;
}

@InputType()
export class GroupRequestInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a group id' }) groupId!: string;
  @Field({ description: `To the group's owners: why you ask (plain text, 1–${GROUP_REQUEST_MESSAGE_MAX} characters).` })
  @Transform(trim) @IsString() @HasVisibleText() @MaxCharacters(GROUP_REQUEST_MESSAGE_MAX) @IsPlainText()
  message!: string;
}

@InputType()
export class DecideGroupRequestInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a request id' }) requestId!: string;
  @Field({ description: 'true adds the requester to the group; false declines.' }) @IsBoolean() accept!: boolean;
}

/** A domain as an address ends: letters, digits and hyphens in dot-separated labels, a top-level label of letters. */
const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

@InputType()
export class SetGroupAutomaticDomainsInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a group id' }) groupId!: string;
  @Field(() => [String], { description: 'Up to 20 domains (brand.example: addresses @brand.example, not its subdomains); an empty list turns the rule off.' })
  @Transform(({ value }) => (Array.isArray(value) ? value.map((d) => (typeof d === 'string' ? d.trim().toLowerCase().replace(/^@/, '') : d)) : value))
  @IsArray() @ArrayMaxSize(20) @IsString({ each: true }) @Matches(DOMAIN_RE, { each: true, message: 'must be domains such as brand.example' })
  domains!: string[];
}
