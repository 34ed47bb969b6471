import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { Connection } from '../../../core/src/graphql/pagination';
import { PostModel } from '../posts/post.model';
import { BookmarkConnection, BookmarkEdgeFields } from './bookmark.model';
import { BookmarksService, MAX_BOOKMARKS } from './bookmarks.service';
import { BookmarkPostInput, BookmarksArgs } from './dto/bookmark.inputs';

@Resolver(() => PostModel)
export class BookmarksResolver {
  constructor(private readonly service: BookmarksService) {}

  @Query(() => BookmarkConnection, {
    description:
      'The signed-in member’s bookmarks, newest first: each edge holds the post, its note, its reminder and when it was bookmarked. ' +
      'Only posts the member may read now are listed and counted; a bookmark of one they lost comes back with access. ' +
      '`withReminder` keeps those with (true) or without (false) a reminder to come.',
  })
  bookmarks(@Args() args: BookmarksArgs, @Context() ctx: GqlContext): Promise<Connection<PostModel, BookmarkEdgeFields>> {
    return this.service.list(ctx.viewer, args);
  }

  @Mutation(() => PostModel, {
    description:
      'Bookmarks a post the signed-in member may read (a topic’s first post bookmarks the topic), with an optional private note ' +
      'and an optional reminder (`remindAt`: a BOOKMARK_REMINDER notification then, if they may still read the post); ' +
      `bookmarking it again changes the note or the reminder. Private: nobody else is told, and a silenced member may bookmark. At most ${MAX_BOOKMARKS.toLocaleString('en')} ` +
      'bookmarks (BAD_USER_INPUT beyond). A post the member may not read is NOT_FOUND.',
  })
  bookmarkPost(@Args('input') input: BookmarkPostInput, @Context() ctx: GqlContext): Promise<PostModel> {
    return this.service.bookmark(ctx.viewer, input);
  }

  @Mutation(() => Boolean, {
    description: 'Removes the signed-in member’s bookmark of a post they may read: true when there was one, false when there was none.',
  })
  removeBookmark(@Args('postId', { type: () => ID }) postId: string, @Context() ctx: GqlContext): Promise<boolean> {
    return this.service.remove(ctx.viewer, postId);
  }

  @ResolveField(() => Boolean, { description: 'Whether the post is in the viewer’s bookmarks (`bookmarkPost`). False when signed out, and for a placeholder.' })
  bookmarked(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<boolean> {
    return this.service.isBookmarked(ctx.viewer, p);
  }
}
