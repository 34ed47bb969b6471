import { Field, ID, InputType } from '@nestjs/graphql';
import { IsEnum, IsUUID } from 'class-validator';
import { GlobalRoleEnum } from '../user.model';

@InputType()
export class SetUserRoleInput {
  @Field(() => ID) @IsUUID('all', { message: 'must be a user id' }) userId!: string;
  @Field(() => GlobalRoleEnum) @IsEnum(GlobalRoleEnum) role!: GlobalRoleEnum;
}
