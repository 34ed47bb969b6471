import { ArgsType, Field } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { Matches } from 'class-validator';
import { trim } from '../../../../core/src/graphql/transforms';
import { HANDLE_MAX, HANDLE_MIN, HANDLE_RE, HANDLE_RULE } from '../../../../core/src/handles';

/** `user(handle:)`: a handle by the rule sign-up holds it to, else BAD_USER_INPUT before any look-up. */
@ArgsType()
export class UserHandleArgs {
  @Field({ description: `${HANDLE_MIN}–${HANDLE_MAX} characters of a-z, 0-9, _ and -, in any case; trimmed. Anything else is BAD_USER_INPUT.` })
  @Transform(trim)
  @Matches(HANDLE_RE, { message: HANDLE_RULE })
  handle!: string;
}
