import { applyDecorators } from '@nestjs/common';
import { Field, InputType, ObjectType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, MaxLength, MinLength, ValidateBy } from 'class-validator';
import { DISPLAY_NAME_MAX } from '../../users/dto/update-profile.input';
import { UserModel } from '../../users/user.model';
import { trim } from '../../../../core/src/graphql/transforms';
import { HandleText, MaxCharacters, MinCharacters, SingleLineText } from '../../../../core/src/graphql/validators';
import { HANDLE_MAX, HANDLE_MIN } from '../../../../core/src/handles';

/** Trimmed, and the same letters whichever way they were typed: é as one character, or e and its accent. */
const trimmedComposed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().normalize('NFC') : value);

/**
 * Refuses an address with invisible characters (zero-width spaces, direction overrides) or
 * compatibility forms (full-width letters, ligatures): each would look like another account's
 * address, or like one it is not.
 */
function ShowsAsItIs(): PropertyDecorator {
  return ValidateBy({
    name: 'showsAsItIs',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !/[\p{Cc}\p{Cf}]/u.test(value) && value.normalize('NFKC') === value,
      defaultMessage: () => 'must not contain invisible characters or look-alike forms (full-width letters, ligatures)',
    },
  });
}

/** An e-mail address as accounts hold it (sign-up, password resets): composed (NFC), as typed otherwise. */
export function AccountEmail(field: { nullable?: boolean; description?: string } = {}): PropertyDecorator {
  return applyDecorators(
    Field(field),
    ...(field.nullable ? [IsOptional()] : []),
    Transform(trimmedComposed),
    IsEmail({}, { message: 'must be a valid e-mail address' }),
    ShowsAsItIs(),
    MaxLength(254),
  );
}

/**
 * The rules of a password being chosen, wherever it is chosen (sign-up, change, reset). That it
 * is not the account's e-mail or handle is checked by the service, which knows the account.
 */
function NewPassword(): PropertyDecorator {
  return applyDecorators(
    Field({ description: 'At least 10 characters; not your e-mail or handle.' }),
    IsString(),
    MinLength(10, { message: 'must be at least 10 characters' }),
    MaxLength(256),
  );
}

@InputType()
export class SignUpInput {
  @AccountEmail()
  email!: string;

  @Field({ description: `${HANDLE_MIN}–${HANDLE_MAX} characters of a-z, 0-9, _ and -; stored lower-case.` })
  @HandleText()
  handle!: string;

  @NewPassword()
  password!: string;

  @Field({ nullable: true }) @SingleLineText(DISPLAY_NAME_MAX, { optional: true })
  displayName?: string;

  @Field({ nullable: true, description: 'An invitation’s token (its link’s `token`): joins its groups, and confirms the address when the invitation was e-mailed to it. Required when sign-ups are by invitation only (SIGN_UP=invite). Up to 200 characters.' })
  // An empty token is a bad one, not none: it would make the account without the invitation.
  @IsOptional() @IsString() @MinCharacters(1, { message: 'is not a valid invitation' }) @MaxCharacters(200)
  inviteToken?: string;
}

@InputType()
export class SignInInput {
  @Field({ description: 'E-mail address or handle.' }) @Transform(trim) @IsString() @Length(1, 254)
  login!: string;

  @Field() @IsString() @Length(1, 256)
  password!: string;
}

@InputType()
export class ChangePasswordInput {
  @Field({ description: 'The password the account has now.' }) @IsString() @Length(1, 256)
  currentPassword!: string;

  @NewPassword()
  newPassword!: string;
}

@InputType()
export class DeleteMyAccountInput {
  @Field({ description: 'The password the account has now: deleting it asks for it again.' }) @IsString() @Length(1, 256)
  password!: string;
}

@InputType()
export class ChangeEmailInput {
  @AccountEmail()
  newEmail!: string;

  @Field({ description: 'The password the account has now: changing the address asks for it again.' }) @IsString() @Length(1, 256)
  currentPassword!: string;
}

@InputType()
export class ConfirmEmailChangeInput {
  @Field({ description: 'The token of the link e-mailed to the new address.' }) @IsString() @Length(1, 300)
  token!: string;
}

@InputType()
export class RequestPasswordResetInput {
  @AccountEmail()
  email!: string;
}

@InputType()
export class VerifyEmailInput {
  @Field({ description: 'The token of the confirmation link the e-mail carried.' }) @IsString() @Length(1, 300)
  token!: string;
}

@InputType()
export class ResetPasswordInput {
  @Field({ description: 'The token of the reset link the e-mail carried.' }) @IsString() @Length(1, 300)
  token!: string;

  @NewPassword()
  newPassword!: string;
}

@ObjectType()
export class AuthPayload {
  @Field({ description: 'Opaque session token: send it as `Authorization: Bearer <token>`. Also set as an HttpOnly cookie.' })
  token!: string;
  @Field(() => UserModel) user!: UserModel;
}
