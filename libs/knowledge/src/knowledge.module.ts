import { Module, OnModuleInit } from '@nestjs/common';
import { AccessLevel } from '../../access/src/access-level';
import { AccessService } from '../../access/src/access.service';
import { JobScheduler } from '../../core/src/jobs';
import { OutboxHandlers } from '../../core/src/outbox/outbox';
import { BoardKinds } from '../../forum/src/board-kinds';
import { ForumModule } from '../../forum/src/forum.module';
import { IdentityModule } from '../../identity/src/identity.module';
import { NotificationsModule } from '../../notifications/src/notifications.module';
import { NotificationVisibility } from '../../notifications/src/notifications';
import { SearchModule } from '../../search/src/search.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { ArticleLoaders, onNamedTeamSql } from './articles/article.loaders';
import { ArticleWrites } from './articles/article-writes';
import { ArticlesRepository } from './articles/articles.repository';
import {
  ARTICLE_USER_FIELDS, ArticleDetailsResolver, ArticleRevisionResolver, BoardArticlesResolver, KnowledgeResolver, TopicArticleResolver,
} from './articles/articles.resolver';
import { ArticlesService } from './articles/articles.service';
import { KnowledgeBoard } from './knowledge-board';
import { ArticleOwnerAudience, ArticleTeamAudience, KnowledgeNotifications } from './knowledge-notifications';
import { KnowledgeTreeKeeper } from './knowledge-tree-keeper';
import { KnowledgeSettingsResolver, KnowledgeSettingsService } from './knowledge-settings';
import { PromotionService } from './promotion.service';
import { RelatedArticles } from './related-articles';
import { VerificationReminders } from './verification';
import { ModerationModule } from '../../moderation/src/moderation.module';
import { ReviewItems } from '../../moderation/src/reports/review-items';

/** Every 15 minutes, owners of articles past their verification date are reminded (once per due date). */
export const VERIFICATION_REMINDER_EVERY_MS = 15 * 60_000;

/**
 * The knowledge base: articles (topics of KNOWLEDGE boards) with revisions, review and
 * publication, a tree per board, verification, helpfulness and promotion of forum answers.
 */
@Module({
  imports: [IdentityModule, SpacesModule, ForumModule, NotificationsModule, SearchModule, ModerationModule],
  providers: [
    ArticlesRepository, ArticleLoaders, ArticleWrites, ArticlesService, KnowledgeSettingsService, KnowledgeBoard, PromotionService, RelatedArticles,
    VerificationReminders, KnowledgeNotifications, ArticleTeamAudience, ArticleOwnerAudience, KnowledgeTreeKeeper,
    KnowledgeResolver, TopicArticleResolver, BoardArticlesResolver, ArticleDetailsResolver, ArticleRevisionResolver, KnowledgeSettingsResolver,
    ...ARTICLE_USER_FIELDS,
  ],
  exports: [ArticlesService, VerificationReminders, KnowledgeSettingsService],
})
export class KnowledgeModule implements OnModuleInit {
  constructor(
    private readonly kinds: BoardKinds,
    private readonly board: KnowledgeBoard,
    private readonly handlers: OutboxHandlers,
    private readonly notifications: KnowledgeNotifications,
    private readonly treeKeeper: KnowledgeTreeKeeper,
    private readonly jobs: JobScheduler,
    private readonly reminders: VerificationReminders,
    private readonly reviewItems: ReviewItems,
    private readonly loaders: ArticleLoaders,
    private readonly visibility: NotificationVisibility,
    private readonly teamAudience: ArticleTeamAudience,
    private readonly ownerAudience: ArticleOwnerAudience,
    private readonly access: AccessService,
  ) {}

  /** Plug articles into the forum's createTopic, and the worker's outbox and schedule. */
  onModuleInit(): void {
    this.kinds.register(this.board);
    this.handlers.register(this.notifications);
    this.visibility.register(this.teamAudience);
    this.visibility.register(this.ownerAudience);
    this.handlers.register(this.treeKeeper);
    this.jobs.register('knowledge-verification-reminders', VERIFICATION_REMINDER_EVERY_MS, () => this.reminders.remindDue());
    // "Not helpful" comments are the article team's to settle, whether or not they moderate; one
    // silenced in the space settles nothing there, as a silenced moderator does not (FORBIDDEN:
    // they still read the item, Article.openFeedback). The space is the article's, where the team's
    // rights are and the article is read (as onNamedTeamSql judges a claim), not the one the item
    // names: a rating that read the article's space before a move committed files it under the old one.
    // Read on the claim's or decision's transaction (`manager`), where the item is read and held.
    this.reviewItems.allowDeciders('ARTICLE_FEEDBACK', async (manager, viewer, item) => {
      const topic = await this.loaders.teamTopic(manager, viewer, item.target_id);
      if (!topic) return false;
      await this.access.require(viewer, topic.spaceId, AccessLevel.PARTICIPATE);
      return true;
    }, (claimant) => onNamedTeamSql(claimant, 'review_items.target_id'));
  }
}
