import { Module, OnModuleInit } from '@nestjs/common';
import { OutboxHandlers } from '../../core/src/outbox/outbox';
import { BoardKinds } from '../../forum/src/board-kinds';
import { ForumModule } from '../../forum/src/forum.module';
import { IdentityModule } from '../../identity/src/identity.module';
import { NotificationsModule } from '../../notifications/src/notifications.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { IdeasHandler } from './ideas.handler';
import { IDEA_USER_FIELDS, IdeaBoardResolver, IdeaDetailsResolver, IdeaTopicResolver } from './ideas.resolver';
import { IdeasService } from './ideas.service';

/** Idea boards: votes, budgets, the status workflow, merges, trending and the roadmap. */
@Module({
  imports: [IdentityModule, SpacesModule, ForumModule, NotificationsModule],
  providers: [IdeasService, IdeasHandler, IdeaTopicResolver, IdeaDetailsResolver, IdeaBoardResolver, ...IDEA_USER_FIELDS],
  exports: [IdeasService],
})
export class IdeasModule implements OnModuleInit {
  constructor(
    private readonly kinds: BoardKinds,
    private readonly ideas: IdeasService,
    private readonly handlers: OutboxHandlers,
    private readonly handler: IdeasHandler,
  ) {}

  onModuleInit(): void {
    this.kinds.register(this.ideas);
    this.handlers.register(this.handler);
  }
}
