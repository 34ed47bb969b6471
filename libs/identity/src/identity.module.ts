import { AutomaticGroupsService } from './groups/automatic-groups';
import { AutomaticGroupsResolver } from './groups/automatic-groups.resolver';
import { Module, OnModuleInit } from '@nestjs/common';
import { JobScheduler } from '../../core/src/jobs';
import { OUTBOX_RETENTION_DAYS, OutboxHandlers } from '../../core/src/outbox/outbox';
import { pruneInBatches } from '../../core/src/database/prune';
import { DataSource } from 'typeorm';
import { AccountMailer } from './auth/account-mailer';
import { EmailChangeService } from './auth/email-change';
import { EmailChangeMail, EmailChangeNotice } from './auth/email-change-mail';
import { EmailVerificationService } from './auth/email-verification';
import { EmailVerificationMail } from './auth/email-verification-mail';
import { PasswordResetMail } from './auth/password-reset-mail';
import { PasswordsService } from './auth/passwords.service';
import { AuthResolver } from './auth/auth.resolver';
import { AuthService } from './auth/auth.service';
import { GroupMembersService } from './groups/group-members.service';
import { GroupMemberships } from './groups/group-memberships';
import { GroupRequestsService } from './groups/group-requests.service';
import { GroupsRepository } from './groups/groups.repository';
import { GroupsResolver, UserGroupsResolver } from './groups/groups.resolver';
import { GroupsService } from './groups/groups.service';
import { SessionsService } from './sessions/sessions.service';
import { AccountDeletionService } from './users/account-deletion';
import { IgnoresService } from './users/ignores';
import { UsersLoader } from './users/users.loader';
import { UsersRepository } from './users/users.repository';
import { UsersResolver } from './users/users.resolver';
import { UsersService } from './users/users.service';
import { ProfileScreening } from './users/profile-screening';
import { ContentModule } from '../../content/src/content.module';
import { InviteMail } from './invites/invite-mail';
import { InvitesResolver } from './invites/invites.resolver';
import { InvitesService } from './invites/invites.service';

/** Accounts (passwords and their resets, e-mail address confirmation and change, deletion and anonymisation), sessions, groups, invitations and global roles. */
@Module({
  imports: [ContentModule],
  providers: [
    ProfileScreening, SessionsService, UsersRepository, UsersLoader, UsersService, AuthService, PasswordsService, AccountMailer, PasswordResetMail,
    EmailVerificationService, EmailVerificationMail, EmailChangeService, EmailChangeMail, EmailChangeNotice, GroupsRepository, GroupMemberships, GroupsService, GroupMembersService, GroupRequestsService, IgnoresService, AccountDeletionService,
    InvitesService, InviteMail, AuthResolver, UsersResolver, GroupsResolver, UserGroupsResolver, InvitesResolver, AutomaticGroupsService, AutomaticGroupsResolver,
  ],
  exports: [ProfileScreening, SessionsService, UsersRepository, UsersLoader, UsersService, AuthService, IgnoresService, AccountMailer],
})
export class IdentityModule implements OnModuleInit {
  constructor(
    private readonly ds: DataSource,
    private readonly jobs: JobScheduler,
    private readonly sessions: SessionsService,
    private readonly handlers: OutboxHandlers,
    private readonly resetMail: PasswordResetMail,
    private readonly verificationMail: EmailVerificationMail,
    private readonly changeMail: EmailChangeMail,
    private readonly changeNotice: EmailChangeNotice,
    private readonly inviteMail: InviteMail,
  ) {}

  onModuleInit(): void {
    this.jobs.register('prune-sessions', 3600_000, () => this.sessions.pruneEnded());
    // Records of account e-mails sent go with their outbox events.
    this.jobs.register('prune-account-mails-sent', 3600_000, () =>
      pruneInBatches(this.ds, 'account_mails_sent', `SELECT id FROM account_mails_sent WHERE sent_at < now() - make_interval(days => $2) LIMIT $1`, [OUTBOX_RETENTION_DAYS]),
    );
    this.handlers.register(this.resetMail);
    this.handlers.register(this.verificationMail);
    this.handlers.register(this.changeNotice);
    this.handlers.register(this.changeMail);
    this.handlers.register(this.inviteMail);
  }
}
