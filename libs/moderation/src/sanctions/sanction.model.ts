import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';

export enum SanctionKind {
  WARNING = 'WARNING',
  SILENCE = 'SILENCE',
  SUSPEND = 'SUSPEND',
  BAN = 'BAN',
}
registerEnumType(SanctionKind, {
  name: 'SanctionKind',
  description: 'WARNING: a message to acknowledge. SILENCE: read-only. SUSPEND: no sign-in (in a space: no access). BAN: a permanent suspension.',
});

@ObjectType('Sanction')
export class SanctionModel {
  @Field(() => ID) id!: string;
  @Field(() => SanctionKind) kind!: SanctionKind;
  @Field() reason!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'Null for permanent sanctions.' }) expiresAt!: Date | null;
  @Field(() => Date, { nullable: true }) liftedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When the user acknowledged a warning.' }) acknowledgedAt!: Date | null;
  @Field({ description: 'In force now (not lifted, not expired).' }) active!: boolean;
  @Field(() => ID, { nullable: true, description: 'The space it applies to; null for site-wide.' }) spaceId!: string | null;
  userId!: string;
  issuedById!: string | null;
}

export interface SanctionRow {
  id: string;
  user_id: string;
  kind: SanctionKind;
  space_id: string | null;
  reason: string;
  issued_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  lifted_at: Date | null;
  acknowledged_at: Date | null;
  active: boolean;
}

export const SANCTION_COLUMNS = `id, user_id, kind, space_id, reason, issued_by, created_at, expires_at, lifted_at, acknowledged_at,
  (lifted_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS active`;

export function toSanctionModel(r: SanctionRow): SanctionModel {
  return Object.assign(new SanctionModel(), {
    id: r.id,
    kind: r.kind,
    reason: r.reason,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    liftedAt: r.lifted_at,
    acknowledgedAt: r.acknowledged_at,
    active: r.active,
    spaceId: r.space_id,
    userId: r.user_id,
    issuedById: r.issued_by,
  });
}

export const SanctionConnection = ConnectionType(SanctionModel, 'Sanction');
