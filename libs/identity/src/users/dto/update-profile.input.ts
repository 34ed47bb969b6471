import { Field, InputType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, IsUrl } from 'class-validator';
import { trim } from '../../../../core/src/graphql/transforms';
import { HasVisibleText, IsSingleLine, MaxCharacters, SetsText, SingleLineText } from '../../../../core/src/graphql/validators';

/** The longest bio, in characters (markdown as written; a CHECK holds the column to it). */
export const BIO_MAX = 3000;
/** The longest display name, in characters (sign-up and updateProfile; an import cuts a longer one to it). */
export const DISPLAY_NAME_MAX = 60;
export const LOCATION_MAX = 100;
export const WEBSITE_MAX = 300;

@InputType()
export class UpdateProfileInput {
  @Field({ nullable: true, description: `The name shown next to the handle: 1–${DISPLAY_NAME_MAX} characters on one line, with some visible text.` })
  @SingleLineText(DISPLAY_NAME_MAX, { optional: true })
  displayName?: string;

  @Field({
    nullable: true,
    description: `About the member, in markdown as posts are written (rendered and sanitized as they are; @mentions notify nobody): at most ${BIO_MAX} characters. An empty text clears it.`,
  })
  @SetsText() @IsString() @MaxCharacters(BIO_MAX) @HasVisibleText()
  bio?: string;

  @Field({ nullable: true, description: `Where the member is: one line of plain text, at most ${LOCATION_MAX} characters. An empty text clears it.` })
  @Transform(trim) @SetsText() @IsString() @MaxCharacters(LOCATION_MAX) @IsSingleLine() @HasVisibleText()
  location?: string;

  @Field({ nullable: true, description: `The member's website: an http:// or https:// address of at most ${WEBSITE_MAX} characters. An empty text clears it.` })
  @Transform(trim) @SetsText() @IsString() @MaxCharacters(WEBSITE_MAX)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_valid_protocol: true, disallow_auth: true }, { message: 'must be an http:// or https:// address' })
  website?: string;

  @Field({
    nullable: true,
    description:
      'Hide my profile: others (signed in or not) get null for your bio, location, website, last seen and activity counts, and ' +
      'do not see you in topics’ presence and typing; you, the moderators and the admins still do. Your handle, name and posts stay visible.',
  })
  @IsOptional() @IsBoolean()
  hideProfile?: boolean;
}
