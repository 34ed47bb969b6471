import { Module } from '@nestjs/common';
import { JobScheduler } from '../../core/src/jobs';
import { AuthResolver } from './auth/auth.resolver';
import { AuthService } from './auth/auth.service';
import { GroupsResolver } from './groups/groups.resolver';
import { GroupsService } from './groups/groups.service';
import { SessionsService } from './sessions/sessions.service';
import { UsersLoader } from './users/users.loader';
import { UsersRepository } from './users/users.repository';
import { UsersResolver } from './users/users.resolver';
import { UsersService } from './users/users.service';

/** Accounts, sessions, groups and global roles. */
@Module({
  providers: [SessionsService, UsersRepository, UsersLoader, UsersService, AuthService, GroupsService, AuthResolver, UsersResolver, GroupsResolver],
  exports: [SessionsService, UsersRepository, UsersLoader, UsersService, AuthService],
})
export class IdentityModule {
  constructor(jobs: JobScheduler, sessions: SessionsService) {
    jobs.register('prune-sessions', 3600_000, () => sessions.pruneEnded());
  }
}
