import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { ArrayMaxSize, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { AccountEmail } from '../../auth/dto/auth.inputs';
import { ID_VERSION } from '../../../../core/src/ids';

export const INVITE_MAX_GROUPS = 10;
export const INVITE_MAX_DAYS = 90;

@InputType()
export class CreateInviteInput {
  @AccountEmail({ nullable: true, description: 'Invite this address: it is e-mailed the link (when SMTP_URL is set), and only it may redeem it, once. Left out: a link to hand out.' })
  email?: string;

  @Field(() => [ID], { nullable: true, description: `Groups the invited join (at most ${INVITE_MAX_GROUPS}).` })
  @IsOptional() @ArrayMaxSize(INVITE_MAX_GROUPS) @IsUUID(ID_VERSION, { each: true, message: 'each must be a group id' })
  groupIds?: string[];

  @Field(() => Int, { nullable: true, description: 'How many people a link may bring in: 1 (default) to 1,000. An invitation by e-mail is used once.' })
  @IsOptional() @IsInt() @Min(1) @Max(1000)
  maxUses?: number;

  @Field(() => Int, { nullable: true, description: `Days it stays valid: 1 to ${INVITE_MAX_DAYS}, default 7.` })
  @IsOptional() @IsInt() @Min(1) @Max(INVITE_MAX_DAYS)
  expiresInDays?: number;
}
