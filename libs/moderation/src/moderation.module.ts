import { Module, OnModuleInit } from '@nestjs/common';
import { JobScheduler } from '../../core/src/jobs';
import { PostingPolicy } from '../../forum/src/posting-policy';
import { PostingLimits, PremoderationRule } from './posting/posting-rules';
import { SpaceModerationResolver } from './posting/space-settings.resolver';
import { ModerationNoteResolver } from './posting/moderation-note.resolver';
import { WatchedWordsRule, WatchedWordsService } from './automod/watched-words';
import { WatchedWordsResolver } from './automod/watched-words.resolver';
import { ContentModule } from '../../content/src/content.module';
import { TrustLevelResolver, TrustLevelService } from './trust/trust-levels';
import { AppealsResolver, AppealsService } from './appeals/appeals';
import { Escalation } from './appeals/escalation';
import { SpamFilter } from './spam/spam-filter';
import { SpaceModeration } from './space-moderation';
import { IdentityModule } from '../../identity/src/identity.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { ForumModule } from '../../forum/src/forum.module';
import { ReportResolver, ReviewEventResolver, ReviewResolver } from './reports/reports.resolver';
import { ReportsService } from './reports/reports.service';
import { ReviewItems } from './reports/review-items';
import { ModerationLogResolver } from './audit/moderation-log.resolver';
import { ModerationLogService } from './audit/moderation-log.service';
import { SanctionsResolver } from './sanctions/sanctions.resolver';
import { SanctionsService } from './sanctions/sanctions.service';
import { SanctionMail } from './sanctions/sanction-mail';
import { OutboxHandlers } from '../../core/src/outbox/outbox';
import { UnacknowledgedWarningRule } from './sanctions/warnings-rule';
import { ProfileScreening } from '../../identity/src/users/profile-screening';

/** Moderation: reports and the review queue, moderator actions on posts, sanctions, and the tamper-evident log. */
@Module({
  imports: [IdentityModule, SpacesModule, ForumModule, ContentModule],
  providers: [SpaceModeration, SpamFilter, Escalation, AppealsService, AppealsResolver, TrustLevelService, TrustLevelResolver, PostingLimits, PremoderationRule, UnacknowledgedWarningRule, WatchedWordsRule, WatchedWordsService, WatchedWordsResolver, SpaceModerationResolver, ModerationNoteResolver, ModerationLogService, SanctionsService, SanctionMail, ReportsService, ModerationLogResolver, SanctionsResolver, ReviewResolver, ReviewEventResolver, ReportResolver, ReviewItems],
  exports: [SanctionsService, ReportsService, TrustLevelService, ReviewItems, WatchedWordsRule],
})
export class ModerationModule implements OnModuleInit {
  constructor(
    private readonly policy: PostingPolicy,
    private readonly limits: PostingLimits,
    private readonly premoderation: PremoderationRule,
    private readonly watchedWords: WatchedWordsRule,
    private readonly jobs: JobScheduler,
    private readonly trust: TrustLevelService,
    private readonly spam: SpamFilter,
    private readonly sanctions: SanctionsService,
    private readonly warnings: UnacknowledgedWarningRule,
    private readonly profiles: ProfileScreening,
    private readonly handlers: OutboxHandlers,
    private readonly sanctionMail: SanctionMail,
    private readonly reports: ReportsService,
  ) {}

  /** Plug the posting rules into the forum's content pipeline, and the watched words into profile changes. */
  onModuleInit(): void {
    this.policy.register(this.warnings);
    this.policy.register(this.watchedWords);
    this.policy.register(this.limits);
    this.policy.register(this.premoderation);
    this.policy.register(this.spam);
    // A moderator's deletePost of content others had read upholds its reports, as moderatePost DELETE does.
    this.policy.register({ name: 'reports', check: async () => undefined, deletedShown: (tx, p, reason) => this.reports.upholdOnDeletion(tx, p, reason) });
    this.profiles.register({
      name: 'watched-words',
      check: (c, verdict) => this.watchedWords.checkProfile(c, verdict),
      stored: (tx, c, verdict) => this.watchedWords.profileStored(tx, c, verdict),
    });
    this.jobs.register('recompute-trust-levels', 3600_000, () => this.trust.recompute());
    this.jobs.register('handle-expired-sanctions', 60_000, () => this.sanctions.handleExpired());
    this.handlers.register(this.sanctionMail);
  }
}
