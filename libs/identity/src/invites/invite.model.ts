import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';

export enum InviteState {
  ACTIVE = 'ACTIVE',
  USED_UP = 'USED_UP',
  EXPIRED = 'EXPIRED',
  REVOKED = 'REVOKED',
}
registerEnumType(InviteState, {
  name: 'InviteState',
  description: 'ACTIVE: it may be redeemed. USED_UP: redeemed as often as it allows. EXPIRED: its time ran out. REVOKED: withdrawn (revokeInvite), or its maker may no longer do what it does: invite at all (suspended, banned or gone; a member silenced or below the trust level), or, for one into groups, put people in them (they are no admin).',
});

/** An invitation as its maker (or an admin) manages it (createInvite, invites, revokeInvite). */
@ObjectType('Invite')
export class InviteModel {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true, description: 'The address it is for (only that address may redeem it); null for a link anyone holding it may use.' })
  email!: string | null;
  @Field(() => Int) maxUses!: number;
  @Field(() => Int) uses!: number;
  @Field() expiresAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
  @Field() createdAt!: Date;
  @Field(() => InviteState) state!: InviteState;
  createdById!: string | null;
  groupIds!: string[];
}

export const InviteConnection = ConnectionType(InviteModel, 'Invite');

/** An invitation as whoever holds its link sees it (Query.invitation). */
@ObjectType('Invitation')
export class InvitationModel {
  @Field(() => InviteState) state!: InviteState;
  @Field() expiresAt!: Date;
  @Field(() => String, { nullable: true, description: 'The address it is for: sign up with it. Null for a link.' })
  email!: string | null;
  @Field(() => [String], { description: 'The names of the groups it joins that their members see (one seen by its owners alone is not named).' })
  groups!: string[];
  @Field(() => String, { nullable: true, description: 'The display name of whoever invited; null once their account is gone.' })
  invitedBy!: string | null;
}

export interface InviteRow {
  id: string;
  created_by: string | null;
  email: string | null;
  max_uses: number;
  uses: number;
  expires_at: Date;
  revoked_at: Date | null;
  created_at: Date;
  group_ids: string[];
  /** Whether its maker may still do what it does (`inviteStandsSql`, read with the row: `inviterStandsSql`). */
  inviter_stands: boolean;
}

export const INVITE_COLUMNS = `i.id, i.created_by, i.email, i.max_uses, i.uses, i.expires_at, i.revoked_at, i.created_at,
  ARRAY(SELECT ig.group_id FROM invite_groups ig WHERE ig.invite_id = i.id ORDER BY ig.group_id) AS group_ids`;

/**
 * An invitation's state, as redeeming it would find it: withdrawn, too, once its maker may no
 * longer do what it does (`inviter_stands`, `inviteStandsSql`), though nobody revoked it. Its
 * maker and the admins list it so, its holder reads it so, and redemption refuses it so.
 */
export function inviteState(r: Pick<InviteRow, 'revoked_at' | 'uses' | 'max_uses' | 'expires_at' | 'inviter_stands'>, now = Date.now()): InviteState {
  if (r.revoked_at) return InviteState.REVOKED;
  if (r.uses >= r.max_uses) return InviteState.USED_UP;
  if (new Date(r.expires_at).getTime() <= now) return InviteState.EXPIRED;
  return r.inviter_stands ? InviteState.ACTIVE : InviteState.REVOKED;
}

export function toInviteModel(r: InviteRow): InviteModel {
  return Object.assign(new InviteModel(), {
    id: r.id,
    email: r.email,
    maxUses: r.max_uses,
    uses: r.uses,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
    state: inviteState(r),
    createdById: r.created_by,
    groupIds: r.group_ids,
  });
}
