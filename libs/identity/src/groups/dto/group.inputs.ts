import { Field, ID, InputType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsEnum, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import { GroupMentionable } from '../group.model';
import { trim } from '../../../../core/src/graphql/transforms';
import { HasVisibleText, IsSingleLine } from '../../../../core/src/graphql/validators';


@InputType()
export class CreateGroupInput {
  @Field() @Transform(trim) @Matches(/^[a-z0-9][a-z0-9-]{1,39}$/, { message: 'must be 2–40 characters of a-z, 0-9 and -' })
  slug!: string;
  @Field() @Transform(trim) @IsString() @Length(1, 80) @HasVisibleText() @IsSingleLine() name!: string;
  @Field({ nullable: true }) @IsOptional() @Transform(trim) @IsString() @Length(0, 500) description?: string;
  @Field(() => GroupMentionable, { nullable: true, description: 'NOBODY when absent.' })
  @IsOptional() @IsEnum(GroupMentionable, { message: 'must be NOBODY, STAFF, MEMBERS or EVERYONE' })
  mentionable?: GroupMentionable;
}

@InputType({ description: 'What to change; fields left out stay as they are.' })
export class UpdateGroupInput {
  @Field(() => ID) @IsUUID('all', { message: 'must be a group id' }) groupId!: string;
  @Field({ nullable: true }) @IsOptional() @Transform(trim) @IsString() @Length(1, 80) @HasVisibleText() @IsSingleLine() name?: string;
  @Field({ nullable: true }) @IsOptional() @Transform(trim) @IsString() @Length(0, 500) description?: string;
  @Field(() => GroupMentionable, { nullable: true })
  @IsOptional() @IsEnum(GroupMentionable, { message: 'must be NOBODY, STAFF, MEMBERS or EVERYONE' })
  mentionable?: GroupMentionable;
}

@InputType()
export class GroupMemberInput {
  @Field(() => ID) @IsUUID('all', { message: 'must be a group id' }) groupId!: string;
  @Field(() => ID) @IsUUID('all', { message: 'must be a user id' }) userId!: string;
}
