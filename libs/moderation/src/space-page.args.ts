import { ArgsType, Field, ID } from '@nestjs/graphql';
import { IsOptional } from 'class-validator';
import { PageArgs } from '../../core/src/graphql/pagination';

/** A page of a moderation list: one space's, or, without `spaceId`, everything within reach. */
@ArgsType()
export class SpacePageArgs extends PageArgs {
  // The id itself is checked by withIdArguments (every bare `ID` argument); @IsOptional keeps it past the pipe's whitelist.
  @Field(() => ID, { nullable: true }) @IsOptional() spaceId?: string;
}
