import { Module } from '@nestjs/common';
import { IdentityModule } from '../../identity/src/identity.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { AuditLog } from './audit/audit-log';
import { ModerationLogResolver } from './audit/moderation-log.resolver';
import { ModerationLogService } from './audit/moderation-log.service';
import { SanctionsResolver } from './sanctions/sanctions.resolver';
import { SanctionsService } from './sanctions/sanctions.service';

/** Moderation: sanctions and the tamper-evident moderation log (reports and the review queue come next). */
@Module({
  imports: [IdentityModule, SpacesModule],
  providers: [AuditLog, ModerationLogService, SanctionsService, ModerationLogResolver, SanctionsResolver],
  exports: [AuditLog, SanctionsService],
})
export class ModerationModule {}
