import { ArgsType, Field, ID, InputType } from '@nestjs/graphql';
import { IsBoolean, IsDate, IsOptional, IsUUID } from 'class-validator';
import { PageArgs } from '../../../../core/src/graphql/pagination';
import { OptionalPlainText } from '../../../../core/src/graphql/validators';
import { ID_VERSION } from '../../../../core/src/ids';

/** The longest note a bookmark keeps (a CHECK on post_bookmarks.note holds it too). */
export const BOOKMARK_NOTE_MAX = 500;

/** The furthest ahead a reminder may be set: a year (a reminder past that is a forgotten one). */
export const REMINDER_MAX_DAYS = 365;

/**
 * How far in the past a reminder's time may be and still be taken: a client's clock runs a
 * little apart from the server's, and "remind me now" should not be refused for it. Such a
 * reminder fires at the job's next run.
 */
export const REMINDER_CLOCK_SLACK_MS = 60_000;

@InputType()
export class BookmarkPostInput {
  @Field(() => ID, { description: 'The post; a topic’s first post stands for the topic.' })
  @IsUUID(ID_VERSION, { message: 'must be a post id' })
  postId!: string;

  @Field(() => String, {
    nullable: true,
    description: `A private note: plain text, up to ${BOOKMARK_NOTE_MAX} characters (line breaks and tabs, no other control characters). Given, it replaces the bookmark’s note; null or blank removes it; left out, the note stays as it is.`,
  })
  @OptionalPlainText(BOOKMARK_NOTE_MAX)
  note?: string | null;

  @Field(() => Date, {
    nullable: true,
    description:
      `When to be reminded of the post (a BOOKMARK_REMINDER notification, if they may still read it then): in the future, at most ${REMINDER_MAX_DAYS} days ahead. ` +
      'Given, it replaces the bookmark’s reminder; null removes it; left out, the reminder stays as it is. A reminder fires once, then is cleared.',
  })
  @IsOptional() @IsDate({ message: 'must be a date and time' })
  remindAt?: Date | null;
}

@ArgsType()
export class BookmarksArgs extends PageArgs {
  @Field(() => Boolean, { nullable: true, description: 'true: only bookmarks with a reminder to come; false: only those without; left out: all.' })
  @IsOptional() @IsBoolean()
  withReminder?: boolean | null;
}
