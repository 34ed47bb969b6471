import { Module, OnModuleInit } from '@nestjs/common';
import { OutboxHandlers } from '../../core/src/outbox/outbox';
import { ForumModule } from '../../forum/src/forum.module';
import { TopicReadListeners } from '../../forum/src/read-listeners';
import { TopicFeedExclusions } from '../../forum/src/feed-exclusions';
import { IdentityModule } from '../../identity/src/identity.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { NotificationsHandler } from './notifications.handler';
import { BoardWatchResolver, NotificationsResolver, NotificationsService, NotificationVisibility, TopicWatchResolver } from './notifications';
import { EmailDigest, EmailPreferencesResolver, UnsubscribeController } from './email';
import { JobScheduler } from '../../core/src/jobs';
import { mutedTopicSql } from './watch-levels';

/** Watching and in-app notifications (an outbox consumer). */
@Module({
  imports: [IdentityModule, SpacesModule, ForumModule],
  providers: [NotificationVisibility, NotificationsHandler, NotificationsService, NotificationsResolver, TopicWatchResolver, BoardWatchResolver, EmailDigest, EmailPreferencesResolver],
  controllers: [UnsubscribeController],
  exports: [NotificationsService, NotificationsHandler, EmailDigest, NotificationVisibility],
})
export class NotificationsModule implements OnModuleInit {
  constructor(
    private readonly handlers: OutboxHandlers,
    private readonly handler: NotificationsHandler,
    private readonly jobs: JobScheduler,
    private readonly digest: EmailDigest,
    private readonly notifications: NotificationsService,
    private readonly reads: TopicReadListeners,
    private readonly feeds: TopicFeedExclusions,
  ) {}

  onModuleInit(): void {
    this.handlers.register(this.handler);
    this.reads.register((tx, read) => this.notifications.readThrough(tx, read));
    // What a member muted stays out of their topic feeds, as it stays out of their notifications.
    this.feeds.register(mutedTopicSql);
    // A process that runs the jobs (the worker, or the API with it in-process) sends the e-mail:
    // it alone says at start-up that it has no SMTP_URL (not the CLI, nor an API beside a worker).
    this.jobs.register('email-unread-notifications', 60_000, () => this.digest.sendDue(), () => this.digest.warnIfLeavingEmail());
    this.jobs.register('prune-notifications', 3600_000, () => this.notifications.pruneOld());
  }
}
