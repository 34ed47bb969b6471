import { DynamicModule, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { GraphQLModule } from '@nestjs/graphql';
import { LoggerModule } from 'nestjs-pino';
import { AccessModule } from '../../../libs/access/src/access.module';
import { AppConfig } from '../../../libs/core/src/config/config';
import { CoreModule, CoreOptions } from '../../../libs/core/src/core.module';
import { HealthController } from '../../../libs/core/src/http/health.controller';
import { HealthDatabase } from '../../../libs/core/src/http/health-database';
import { IdentityModule } from '../../../libs/identity/src/identity.module';
import { SessionsService } from '../../../libs/identity/src/sessions/sessions.service';
import { SpacesModule } from '../../../libs/spaces/src/spaces.module';
import { ContentModule } from '../../../libs/content/src/content.module';
import { ForumModule } from '../../../libs/forum/src/forum.module';
import { ModerationModule } from '../../../libs/moderation/src/moderation.module';
import { RealtimeModule } from '../../../libs/realtime/src/realtime.module';
import { NotificationsModule } from '../../../libs/notifications/src/notifications.module';
import { SearchModule } from '../../../libs/search/src/search.module';
import { IdeasModule } from '../../../libs/ideas/src/ideas.module';
import { KnowledgeModule } from '../../../libs/knowledge/src/knowledge.module';
import { graphqlOptions } from './graphql.config';
import { ParvisApolloDriver, ParvisDriverConfig } from './jit-driver';
import { loggerOptions } from './logging';

/** Feature modules, in dependency order. */
export const FEATURE_MODULES = [AccessModule, IdentityModule, SpacesModule, ContentModule, ForumModule, ModerationModule, NotificationsModule, SearchModule, IdeasModule, KnowledgeModule];

export interface AppOptions<S extends readonly unknown[] = readonly []> extends CoreOptions<S> {
  /** Where /health's own connection goes (`HealthDatabase`): the API's database unless a test points it elsewhere. */
  healthDatabaseUrl?: string;
}

@Module({})
export class AppModule {
  static forRoot<S extends readonly unknown[] = readonly []>(opts: AppOptions<S>): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot(loggerOptions(opts.config, opts.logStream)),
        CoreModule.forRoot(opts),
        ...FEATURE_MODULES,
        RealtimeModule,
        GraphQLModule.forRootAsync<ParvisDriverConfig>({
          driver: ParvisApolloDriver,
          imports: [IdentityModule],
          inject: [SessionsService, AppConfig, ModuleRef],
          useFactory: graphqlOptions,
        }),
      ],
      // The live gateway belongs to the API process only (not the worker or the CLI).
      controllers: [HealthController],
      providers: [{ provide: HealthDatabase, useFactory: (ds: DataSource) => HealthDatabase.like(ds, opts.healthDatabaseUrl), inject: [DataSource] }],
    };
  }
}
