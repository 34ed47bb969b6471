import { Field, ID, ObjectType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';
import { AuditRow } from '../../../core/src/audit/audit-log';

/** One entry of the append-only moderation log. */
@ObjectType('ModerationLogEntry')
export class ModerationLogEntryModel {
  @Field(() => ID) id!: string;
  @Field() at!: Date;
  @Field({ description: 'e.g. sanction.create, sanction.lift, post.hide' }) action!: string;
  @Field() targetType!: string;
  @Field(() => ID, { nullable: true, description: 'What it is about; null (with `groupId` null in before and after) for a space’s grant to a group you may not see.' })
  targetId!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'JSON of the state before, where content changed.' }) before!: string | null;
  @Field(() => String, { nullable: true, description: 'JSON of the state after.' }) after!: string | null;
  @Field({ description: 'Hash of this entry, chained to the previous one.' }) hash!: string;
  actorId!: string | null;
  spaceId!: string | null;
}

export const ModerationLogConnection = ConnectionType(ModerationLogEntryModel, 'ModerationLog');

export function toLogModel(r: AuditRow): ModerationLogEntryModel {
  return Object.assign(new ModerationLogEntryModel(), {
    id: r.entry_id,
    at: r.at,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    reason: r.reason,
    before: r.before === null ? null : JSON.stringify(r.before),
    after: r.after === null ? null : JSON.stringify(r.after),
    hash: r.hash,
    actorId: r.actor_id,
    spaceId: r.space_id,
  });
}
