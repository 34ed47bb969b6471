import { Field, InputType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Length } from 'class-validator';
import { trim } from '../../../../core/src/graphql/transforms';
import { HasVisibleText, IsSingleLine } from '../../../../core/src/graphql/validators';

@InputType()
export class UpdateProfileInput {
  @Field({ nullable: true, description: 'The name shown next to the handle: 1–60 characters on one line, with some visible text.' })
  @IsOptional() @Transform(trim) @IsString() @Length(1, 60) @IsSingleLine() @HasVisibleText()
  displayName?: string;
}
