import { Field, ObjectType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';
import { PostModel, PostRow } from '../posts/post.model';

/** What a bookmark adds to its post, on each edge of the viewer's bookmarks. */
@ObjectType({ isAbstract: true })
export class BookmarkEdgeFields {
  @Field(() => String, { nullable: true, description: 'The note kept with the bookmark, for its owner alone.' })
  note!: string | null;
  @Field({ description: 'When the post was bookmarked (changing the note or the reminder keeps this time).' })
  bookmarkedAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When its owner is to be reminded of the post (`bookmarkPost`’s `remindAt`), for its owner alone; null once the reminder has fired.' })
  remindAt!: Date | null;
}

export const BookmarkConnection = ConnectionType(PostModel, 'Bookmark', BookmarkEdgeFields);

/** A bookmark as its list reads it: the post, the note, the reminder, and the time as PostgreSQL text for cursors. */
export interface BookmarkRow extends PostRow {
  note: string | null;
  remind_at: Date | null;
  bookmarked_at: Date;
  k_ts: string;
}
