import { ArgsType, Field } from '@nestjs/graphql';
import { HandleText } from '../../../../core/src/graphql/validators';
import { HANDLE_MAX, HANDLE_MIN } from '../../../../core/src/handles';

/** `user(handle:)`: a handle by the rule sign-up holds it to, else BAD_USER_INPUT before any look-up. */
@ArgsType()
export class UserHandleArgs {
  @Field({ description: `${HANDLE_MIN}–${HANDLE_MAX} characters of a-z, 0-9, _ and -, in any case; trimmed. Anything else is BAD_USER_INPUT.` })
  @HandleText()
  handle!: string;
}
