import { Module } from '@nestjs/common';
import { IdentityModule } from '../../identity/src/identity.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { ForumModule } from '../../forum/src/forum.module';
import { ReportResolver, ReviewResolver } from './reports/reports.resolver';
import { ReportsService } from './reports/reports.service';
import { AuditLog } from './audit/audit-log';
import { ModerationLogResolver } from './audit/moderation-log.resolver';
import { ModerationLogService } from './audit/moderation-log.service';
import { SanctionsResolver } from './sanctions/sanctions.resolver';
import { SanctionsService } from './sanctions/sanctions.service';

/** Moderation: reports and the review queue, moderator actions on posts, sanctions, and the tamper-evident log. */
@Module({
  imports: [IdentityModule, SpacesModule, ForumModule],
  providers: [AuditLog, ModerationLogService, SanctionsService, ReportsService, ModerationLogResolver, SanctionsResolver, ReviewResolver, ReportResolver],
  exports: [AuditLog, SanctionsService, ReportsService],
})
export class ModerationModule {}
