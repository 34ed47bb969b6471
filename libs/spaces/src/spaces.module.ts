import { Module } from '@nestjs/common';
import { IdentityModule } from '../../identity/src/identity.module';
import { SpacesLoader } from './spaces.loader';
import { SpacesRepository } from './spaces.repository';
import { BoardsResolver, SpacesResolver } from './spaces.resolver';
import { SpacesService } from './spaces.service';

/** Spaces (communities) with their visibility, grants and boards. */
@Module({
  imports: [IdentityModule],
  providers: [SpacesRepository, SpacesLoader, SpacesService, SpacesResolver, BoardsResolver],
  exports: [SpacesRepository, SpacesLoader, SpacesService],
})
export class SpacesModule {}
