import { Module, OnModuleInit } from '@nestjs/common';
import { JobScheduler } from '../../core/src/jobs';
import { ContentModule } from '../../content/src/content.module';
import { IdentityModule } from '../../identity/src/identity.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { BoardKinds } from './board-kinds';
import { BookmarksRepository } from './bookmarks/bookmarks.repository';
import { BookmarksResolver } from './bookmarks/bookmarks.resolver';
import { BookmarksService, REMINDER_CHECK_MS } from './bookmarks/bookmarks.service';
import { ContentRebake } from './content-rebake';
import { CONTENT_VERSIONS_CHECK_MS, ContentVersionsUsage } from './content-versions';
import { ContentWriter } from './content-writer';
import { DraftsRepository } from './drafts/drafts.repository';
import { DraftsResolver } from './drafts/drafts.resolver';
import { DRAFT_RETENTION_DAYS, DraftsService } from './drafts/drafts.service';
import { ForumLoaders } from './forum.loaders';
import { Pacing } from './pacing';
import { PostingPolicy } from './posting-policy';
import { PostRevisionsResolver, PostsResolver, UserActivityResolver } from './posts/posts.resolver';
import { PostsRepository } from './posts/posts.repository';
import { PostsService } from './posts/posts.service';
import { PostMovesService } from './posts/post-moves.service';
import { BoardTopicsResolver, TopicsResolver } from './topics/topics.resolver';
import { TopicsRepository } from './topics/topics.repository';
import { TopicsService } from './topics/topics.service';
import { TopicReadListeners } from './read-listeners';
import { TopicFeedExclusions } from './feed-exclusions';
import { TopicTimersRepository } from './timers/topic-timers.repository';
import { TopicTimerResolver, TopicTimersResolver } from './timers/topic-timers.resolver';
import { TIMER_CHECK_MS, TopicTimersService } from './timers/topic-timers.service';
import { GlobalPinsResolver } from './topics/global-pins.resolver';
import { GlobalPinsService } from './topics/global-pins.service';
import { TagsResolver } from './tags/tags.resolver';
import { TagsService } from './tags/tags.service';
import { UserSuggestionsResolver } from './mentions/user-suggestions.resolver';
import { UserSuggestionsService } from './mentions/user-suggestions.service';
import { PollsRepository } from './polls/polls.repository';
import { PollOptionsResolver, PollsResolver } from './polls/polls.resolver';
import { POLL_CLOSINGS_CHECK_MS, PollsService } from './polls/polls.service';

/** Topics, posts, revisions, the rebake of stored rendered HTML (ContentRebake), the use of the content versions sequence (ContentVersionsUsage, checked hourly), reactions, accepted answers, read state, bookmarks (and their reminders), drafts, topic timers, site-wide pins, tag counts, @mention suggestions and polls. */
@Module({
  imports: [ContentModule, IdentityModule, SpacesModule],
  providers: [
    TopicsRepository, PostsRepository, ForumLoaders, BoardKinds, ContentWriter, ContentRebake, ContentVersionsUsage, PostingPolicy, Pacing, TopicReadListeners, TopicFeedExclusions, TopicsService, PostsService, PostMovesService, BookmarksRepository, BookmarksService, DraftsRepository, DraftsService, TopicTimersRepository, TopicTimersService, GlobalPinsService, TagsService, UserSuggestionsService, PollsRepository, PollsService,
    TopicsResolver, BoardTopicsResolver, PostsResolver, PostRevisionsResolver, UserActivityResolver, BookmarksResolver, DraftsResolver, TopicTimersResolver, TopicTimerResolver, GlobalPinsResolver, TagsResolver, UserSuggestionsResolver, PollsResolver, PollOptionsResolver,
  ],
  exports: [TopicsService, PostsService, ForumLoaders, PostingPolicy, Pacing, BoardKinds, ContentWriter, ContentRebake, ContentVersionsUsage, TopicReadListeners, TopicFeedExclusions, PollsService, TopicTimersService],
})
export class ForumModule implements OnModuleInit {
  constructor(
    private readonly jobs: JobScheduler,
    private readonly drafts: DraftsRepository,
    private readonly timers: TopicTimersService,
    private readonly bookmarks: BookmarksService,
    private readonly versions: ContentVersionsUsage,
    private readonly polls: PollsService,
  ) {}

  onModuleInit(): void {
    this.jobs.register('prune-drafts', 3600_000, () => this.drafts.pruneOlderThan(DRAFT_RETENTION_DAYS));
    this.jobs.register('fire-topic-timers', TIMER_CHECK_MS, () => this.timers.fireDue());
    this.jobs.register('fire-bookmark-reminders', REMINDER_CHECK_MS, () => this.bookmarks.fireReminders());
    // Soon after the worker starts (when no process checked within the hour), then hourly: how
    // much of content_versions is used, a warning in the log past CONTENT_VERSIONS_WARN_PERCENT.
    this.jobs.register('content-versions-usage', CONTENT_VERSIONS_CHECK_MS, () => this.versions.check());
    this.jobs.register('tell-poll-closings', POLL_CLOSINGS_CHECK_MS, () => this.polls.tellClosings());
  }
}
