import { Module, OnModuleInit } from '@nestjs/common';
import { JobScheduler } from '../../core/src/jobs';
import { OutboxHandlers } from '../../core/src/outbox/outbox';
import { ForumModule } from '../../forum/src/forum.module';
import { IdentityModule } from '../../identity/src/identity.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { SearchAdmin } from './search-admin';
import { SearchDocuments } from './search-documents';
import { SearchEngines } from './search-engines';
import { SearchIndexer } from './search-indexer';
import { SearchSync } from './search-sync';
import { SearchResolver } from './search.resolver';
import { SearchService } from './search.service';

/** Search over every contribution: the engines, the outbox-driven indexer and the queries. */
@Module({
  imports: [IdentityModule, ForumModule, SpacesModule],
  providers: [SearchEngines, SearchDocuments, SearchIndexer, SearchSync, SearchAdmin, SearchService, SearchResolver],
  exports: [SearchEngines, SearchDocuments, SearchIndexer, SearchSync, SearchAdmin, SearchService],
})
export class SearchModule implements OnModuleInit {
  constructor(
    private readonly handlers: OutboxHandlers,
    private readonly indexer: SearchIndexer,
    private readonly jobs: JobScheduler,
    private readonly sync: SearchSync,
    private readonly engines: SearchEngines,
    private readonly admin: SearchAdmin,
  ) {}

  onModuleInit(): void {
    this.handlers.register(this.indexer);
    // Soon after start, then hourly: a rebuild once an upgrade changed the documents' format.
    this.jobs.register('search-index-format', 3600_000, () => this.admin.upgradeFormat());
    // What indexing changed in the lexeme counts per space, folded in (see PostgresSearchEngine.foldCounts).
    this.jobs.register('search-lexeme-counts', 10_000, () => this.engines.postgres.foldCounts());
    if (this.engines.external) this.jobs.register('search-sync', 2_000, () => this.sync.drain());
  }
}
