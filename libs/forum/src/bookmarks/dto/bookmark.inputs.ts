import { Field, ID, InputType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, IsUUID } from 'class-validator';
import { trim } from '../../../../core/src/graphql/transforms';
import { MaxCharacters } from '../../../../core/src/graphql/validators';

/** The longest note a bookmark keeps (a CHECK on post_bookmarks.note holds it too). */
export const BOOKMARK_NOTE_MAX = 500;

@InputType()
export class BookmarkPostInput {
  @Field(() => ID, { description: 'The post; a topic’s first post stands for the topic.' })
  @IsUUID('all', { message: 'must be a post id' })
  postId!: string;

  @Field(() => String, {
    nullable: true,
    description: `A private note, up to ${BOOKMARK_NOTE_MAX} characters. Given, it replaces the bookmark’s note; null or blank removes it; left out, the note stays as it is.`,
  })
  @IsOptional() @Transform(trim) @IsString() @MaxCharacters(BOOKMARK_NOTE_MAX)
  note?: string | null;
}
