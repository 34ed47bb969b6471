import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { IsBoolean, IsEnum, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { PlainText } from '../../../../core/src/graphql/validators';
import { SanctionKind } from '../sanction.model';
import { ID_VERSION } from '../../../../core/src/ids';


@InputType()
export class SanctionInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a user id' }) userId!: string;
  @Field(() => SanctionKind) @IsEnum(SanctionKind) kind!: SanctionKind;
  @Field({ description: 'Shown to the user and kept in the moderation log: plain text, 3–1,000 characters.' }) @PlainText(1000, { min: 3 }) reason!: string;
  @Field(() => Int, { nullable: true, description: 'Required for SILENCE and SUSPEND; BAN is permanent; WARNING has none.' })
  @IsOptional() @IsInt() @Min(1) @Max(87_600)
  durationHours?: number;
  @Field(() => ID, { nullable: true, description: 'Limit the sanction to one space; site-wide when absent (global moderators and admins).' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a space id' })
  spaceId?: string;
  @Field({ nullable: true, description: 'BAN only: also refuse new sign-ups with this e-mail address. Refused (BAD_USER_INPUT) for an account with none: a deleted or anonymised account’s address was erased with it, and nothing would be banned.' }) @IsOptional() @IsBoolean() banEmail?: boolean;
  @Field({ nullable: true, description: 'BAN only: also refuse new sign-ups from the IP addresses of the user’s sessions (ended ones too, until pruned). Refused (BAD_USER_INPUT) when they have none, as nothing would be banned.' }) @IsOptional() @IsBoolean() banIp?: boolean;
}
