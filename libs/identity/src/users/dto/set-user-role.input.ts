import { Field, ID, InputType } from '@nestjs/graphql';
import { IsEnum, IsUUID } from 'class-validator';
import { GlobalRoleEnum } from '../user.model';
import { ID_VERSION } from '../../../../core/src/ids';

@InputType()
export class SetUserRoleInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a user id' }) userId!: string;
  @Field(() => GlobalRoleEnum) @IsEnum(GlobalRoleEnum) role!: GlobalRoleEnum;
}
