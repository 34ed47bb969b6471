import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { AccessService, SILENCED } from '../../../access/src/access.service';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { AppConfig } from '../../../core/src/config/config';
import { Queryable, Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Connection, decodeCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid, newId } from '../../../core/src/ids';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { normalizeEmail } from '../auth/auth.service';
import { GroupModel, GroupRow, toGroupModel } from '../groups/group.model';
import { GroupMemberships } from '../groups/group-memberships';
import { memberSeesGroupSql, seesGroupSql } from '../groups/group-visibility';
import { SELECT_GROUP } from '../groups/groups.repository';
import { CreateInviteInput } from './dto/invite.inputs';
import { INVITE_COLUMNS, InvitationModel, InviteModel, InviteRow, InviteState, inviteState, toInviteModel } from './invite.model';
import { refuseTakenOrBanned } from '../auth/address-standing';

/** The outbox event that e-mails an invitation to its address (InviteMail). */
export const INVITE_CREATED = 'invite.created';
const INVITE_PURPOSE = 'invite';
/** How many people a member's link may bring in (admins': 1,000). */
export const MEMBER_INVITE_MAX_USES = 10;
/**
 * Which of an invitation's groups its holder (and its e-mail) is told of, as SQL on groups `g`:
 * those its members see (`memberSeesGroupSql`), since the holder becomes one, a plain member. A
 * group seen by its owners alone (OWNERS) is no more named to someone it takes in than shown to
 * them once in it.
 */
export const namedToInviteesSql = (g: string) => memberSeesGroupSql(g, { owner: 'false', admin: 'false' });

/** Invitations a member (not an admin) may make a day. */
export const MEMBER_INVITES_PER_USER: RateRule = { bucket: 'invite:user', limit: 10, windowSeconds: 86400 };
const INVITES_CURSOR = 'invites';

/** Why an invitation cannot be redeemed, as its holder is told. */
const REFUSED: Record<Exclude<InviteState, InviteState.ACTIVE>, string> = {
  USED_UP: 'has been used already',
  EXPIRED: 'has expired',
  REVOKED: 'was withdrawn',
};

/**
 * Invitations (Discourse's invites). An admin invites an address (e-mailed the link, and the
 * only one that may redeem it, once) or makes a link for up to 1,000 people, into groups, for
 * 1–90 days. Members of INVITE_MIN_TRUST_LEVEL or above and global moderators invite too, as
 * Discourse lets them: an address or a link for up to MEMBER_INVITE_MAX_USES people, into no
 * group, MEMBER_INVITES_PER_USER attempts a day (each counted before anything is looked up),
 * unless silenced site-wide; they list and withdraw their own. Only an admin's invitation for
 * an address confirms the address at sign-up. An invitation stops letting anyone in once its
 * maker may no longer do what it does (`inviteStandsSql`): invite at all, or, into groups, put
 * people in them (an admin demoted); it reads as withdrawn, and is refused whole. Its token is
 * the invitation's id sealed with a key of its own (SignedTokens), so its maker can copy the
 * link again and nothing secret is stored; whether it still works is the row's (revoked, used
 * up, expired) and its maker's. Redeeming it, at sign-up or signed in, joins its groups in the
 * transaction that counts the use under the row's lock (its maker read again once the row and
 * the groups are held): a link for five lets five in, however many try at once. With
 * SIGN_UP=invite it is the only way to sign up.
 */
@Injectable()
export class InvitesService {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly tokens: SignedTokens,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
    private readonly access: AccessService,
    private readonly limiter: RateLimiter,
    private readonly memberships: GroupMemberships,
  ) {}

  async create(viewer: Viewer, input: CreateInviteInput): Promise<InviteModel> {
    const admin = await this.requireInviter(viewer);
    const email = input.email ? normalizeEmail(input.email) : null;
    const maxUses = input.maxUses ?? 1;
    if (email && maxUses !== 1) throw AppError.badField('maxUses', 'an invitation by e-mail is used once');
    if (!admin && maxUses > MEMBER_INVITE_MAX_USES) throw AppError.badField('maxUses', `a member’s link brings in at most ${MEMBER_INVITE_MAX_USES} people`);
    if (!admin && input.groupIds?.length) throw AppError.badField('groupIds', 'only admins invite into groups');
    // A member's attempt counts before anything is looked up: whether an address has an account
    // is an answer, as at sign-up, and is not theirs to ask for free.
    if (!admin) await this.limiter.reserve([[MEMBER_INVITES_PER_USER, viewer.id!]]);
    const groupIds = [...new Set(input.groupIds ?? [])];
    const found: Array<{ id: string }> = groupIds.length ? await this.ds.query(`SELECT id FROM groups WHERE id = ANY($1::uuid[])`, [groupIds]) : [];
    if (found.length !== groupIds.length) throw AppError.badField('groupIds', 'each must be an existing group');
    // Told to its maker in words of what to do instead (`AddressRefusals`).
    if (email) {
      await refuseTakenOrBanned(this.ds, email, {
        taken: () => AppError.badField('email', 'already has an account: add it to the groups instead'),
        banned: () => AppError.badField('email', 'cannot be invited'),
      });
    }
    const id = newId();
    const row = await this.uow.run(async (tx) => {
      const [created] = await tx.query<InviteRow>(
        `INSERT INTO invites AS i (id, created_by, email, max_uses, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))
         RETURNING ${INVITE_COLUMNS}, ${inviterStandsSql('i', '$6')}`,
        [id, viewer.id, email, maxUses, input.expiresInDays ?? 7, this.makerMinTrustLevel],
      );
      if (groupIds.length) await tx.query(`INSERT INTO invite_groups (invite_id, group_id) SELECT $1, unnest($2::uuid[])`, [id, groupIds]);
      if (email) await tx.emit({ type: INVITE_CREATED, aggregateType: 'invite', aggregateId: id, payload: { inviteId: id } });
      await this.audit.append(tx, {
        actorId: viewer.id, action: 'invite.create', targetType: 'invite', targetId: id, spaceId: null,
        after: { email, maxUses, groupIds, expiresAt: created.expires_at },
      });
      return { ...created, group_ids: [...groupIds].sort() };
    });
    return toInviteModel(row);
  }

  /**
   * Every invitation for admins, their own for other members (even once they may no longer
   * invite); newest first. Each in the state redeeming it would find (`inviteState`): whether its
   * maker still stands is read with the page, in its one statement.
   */
  async list(viewer: Viewer, args: PageArgs): Promise<Connection<InviteModel>> {
    const mine = this.ownedBy(viewer);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, INVITES_CURSOR, 1);
    if (after && !isUuid(after[0])) throw AppError.badField('after', 'is not a valid cursor');
    const rows: InviteRow[] = await this.ds.query(
      `SELECT ${INVITE_COLUMNS}, ${inviterStandsSql('i', '$4')}
         FROM invites i WHERE ($1::uuid IS NULL OR i.id < $1::uuid) AND ($3::uuid IS NULL OR i.created_by = $3) ORDER BY i.id DESC LIMIT $2`,
      [after?.[0] ?? null, size + 1, mine, this.makerMinTrustLevel],
    );
    const total = async () => (await this.ds.query(`SELECT count(*)::int AS n FROM invites WHERE $1::uuid IS NULL OR created_by = $1`, [mine]))[0].n;
    return toConnection(rows, size, INVITES_CURSOR, (r) => [r.id], toInviteModel, total);
  }

  /** Withdraws an invitation (admins any, other members their own: another's is NOT_FOUND); redeemed uses stay. */
  async revoke(viewer: Viewer, id: string): Promise<InviteModel> {
    const mine = this.ownedBy(viewer);
    if (!isUuid(id)) throw AppError.badField('id', 'must be an invitation id');
    // Which invitation the viewer may revoke (any, for an admin; else their own) and what is
    // answered of it, for the revocation and for the read of one revoked already alike.
    const theirs = `id = $1 AND ($2::uuid IS NULL OR created_by = $2)`;
    const answered = `${INVITE_COLUMNS}, ${inviterStandsSql('i', '$3')}`;
    const params = [id, mine, this.makerMinTrustLevel];
    const row = await this.uow.run(async (tx) => {
      // Revoked, whatever its maker is now: `inviter_stands` is read only to fill the row.
      const [revoked] = await tx.query<InviteRow>(`UPDATE invites i SET revoked_at = now() WHERE ${theirs} AND revoked_at IS NULL RETURNING ${answered}`, params);
      if (revoked) await this.audit.append(tx, { actorId: viewer.id, action: 'invite.revoke', targetType: 'invite', targetId: id, spaceId: null });
      // Revoked already (or not theirs: none): answered as it is.
      return revoked ?? (await tx.query<InviteRow>(`SELECT ${answered} FROM invites i WHERE ${theirs}`, params))[0];
    });
    if (!row) throw AppError.notFound('Invitation not found');
    return toInviteModel(row);
  }

  /** The link an invitation's holder opens (the app's page reads `token` from it). */
  async link(inviteId: string): Promise<string> {
    return `${this.config.publicUrl}/invite?token=${await this.tokens.seal(INVITE_PURPOSE, inviteId)}`;
  }

  /** An invitation as its holder sees it; NOT_FOUND for a token that is not one. */
  async invitation(token: string): Promise<InvitationModel> {
    const row = await this.byToken(this.ds, token, false);
    if (!row) throw AppError.notFound('Invitation not found');
    const [info] = await this.ds.query(
      `SELECT (SELECT display_name FROM users WHERE id = $1 AND deleted_at IS NULL) AS invited_by,
              ARRAY(SELECT g.name FROM groups g WHERE g.id = ANY($2::uuid[]) AND ${namedToInviteesSql('g')} ORDER BY g.name) AS groups`,
      [row.created_by, row.group_ids],
    );
    return Object.assign(new InvitationModel(), { state: inviteState(row), expiresAt: row.expires_at, email: row.email, groups: info.groups, invitedBy: info.invited_by });
  }

  /**
   * Checks an invitation before an account is made for `email` (sign-up): BAD_USER_INPUT on
   * `inviteToken`, signUp's name for it, when it cannot be redeemed by that address. Whether it was e-mailed to it
   * (so the address needs no confirming).
   */
  async check(token: string, email: string): Promise<{ emailBound: boolean }> {
    const row = await this.byToken(this.ds, token, false);
    return { emailBound: this.redeemable(row, email, 'inviteToken') };
  }

  /** A signed-in member redeems an invitation: whether it was redeemed now (false: they had before). */
  async redeem(viewer: Viewer, token: string): Promise<boolean> {
    if (!viewer.id) throw AppError.unauthenticated();
    const userId = viewer.id;
    return this.uow.run(async (tx) => {
      // Held (FOR SHARE) as an admin adding them would hold it: a deletion meanwhile comes first, or after.
      const [me] = await tx.query<{ email: string | null }>(`SELECT email FROM users WHERE id = $1 AND deleted_at IS NULL FOR SHARE`, [userId]);
      if (!me) throw AppError.unauthenticated();
      return (await this.redeemIn(tx, token, { id: userId, email: me.email }, 'token')).redeemed;
    });
  }

  /**
   * Redeems an invitation for a member in `tx`: counts the use under the invitation's lock, if
   * its maker may still do what it does (read again once its groups are held too), records it,
   * and joins its groups (each in the moderation log, as the admin who invited). BAD_USER_INPUT
   * on `field` (the token's argument in the caller's mutation: signUp's `inviteToken`,
   * redeemInvite's `token`) when it cannot be redeemed by them, writing nothing; a member redeeming
   * one again changes nothing. Whether it was redeemed now, and whether it vouches for the
   * member's address (an admin's, for it), as its maker is once all is held: a sign-up that
   * took the address as confirmed on the word of `check`, read before, asks it again.
   */
  async redeemIn(tx: Tx, token: string, member: { id: string; email: string | null }, field: TokenField): Promise<{ redeemed: boolean; vouches: boolean }> {
    const row = await this.byToken(tx, token, true);
    const [again] = row ? await tx.query(`SELECT 1 FROM invite_redemptions WHERE invite_id = $1 AND user_id = $2`, [row.id, member.id]) : [];
    if (again) return { redeemed: false, vouches: false };
    this.redeemable(row, member.email, field);
    // Its groups held as every way in holds a group, before anything is written or logged: a
    // change of their settings or a grant being given to one is over, or waits for this.
    const groupIds = await this.memberships.lockAll(tx, row!.group_ids);
    // The use counted only if its maker may still do all it does, read again now that all is
    // held: a demotion, a sanction or a deletion that came while this waited (for the row, a
    // group) refuses it whole, as withdrawn, before anything is written.
    const [counted] = await tx.query<{ by_admin: boolean }>(
      `UPDATE invites i SET uses = i.uses + 1 FROM users maker
        WHERE i.id = $1 AND maker.id = i.created_by AND maker.deleted_at IS NULL AND ${inviteStandsSql('i', 'maker', '$2')} RETURNING maker.role = 'ADMIN' AS by_admin`,
      [row!.id, this.makerMinTrustLevel],
    );
    if (!counted) throw refused(InviteState.REVOKED, field);
    await tx.query(`INSERT INTO invite_redemptions (invite_id, user_id) VALUES ($1, $2)`, [row!.id, member.id]);
    // Each as if the admin who invited added them: logged so, and a request of theirs to join goes.
    for (const groupId of groupIds) {
      await this.memberships.add(tx, { groupId, userId: member.id, actorId: row!.created_by, reason: 'invitation', details: { inviteId: row!.id } });
    }
    return { redeemed: true, vouches: row!.email !== null && counted.by_admin };
  }

  /** The lowest trust level whose members' invitations stand (`makerStandsSql`): with `admins`, 5, which no member reaches (levels run 0–4). */
  get makerMinTrustLevel(): number {
    return this.config.INVITE_MIN_TRUST_LEVEL === 'admins' ? 5 : this.config.INVITE_MIN_TRUST_LEVEL;
  }

  /**
   * The invitation a token names, or null (locked for the redeeming transaction when `lock`),
   * with what its maker is now: an admin (whose invitation for an address proves the address),
   * and whether they may still do what it does (else it no longer lets anyone in).
   */
  private async byToken(m: Queryable, token: string, lock: boolean): Promise<TokenRow | null> {
    const id = await this.tokens.unseal(INVITE_PURPOSE, token);
    if (!id || !isUuid(id)) return null;
    const [row] = await m.query(
      // Its maker joined once for both: `inviter_stands` as `inviterStandsSql` reads it (no maker, a deleted one: false).
      `SELECT ${INVITE_COLUMNS}, ${inviteStandsSql('i', 'maker', '$2')} AS inviter_stands, COALESCE(maker.role = 'ADMIN', false) AS by_admin
         FROM invites i LEFT JOIN users maker ON maker.id = i.created_by AND maker.deleted_at IS NULL
        WHERE i.id = $1${lock ? ' FOR UPDATE OF i' : ''}`,
      [id, this.makerMinTrustLevel],
    );
    return row ?? null;
  }

  /**
   * Refuses what `email` may not redeem, on `field` (the token's argument in the mutation
   * redeeming it); whether the invitation proves that address (an admin's, for it).
   */
  private redeemable(row: TokenRow | null, email: string | null, field: TokenField): boolean {
    if (!row) throw AppError.badField(field, 'is not a valid invitation');
    const state = inviteState(row);
    if (state !== InviteState.ACTIVE) throw refused(state, field);
    if (row.email === null) return false;
    if (!email || normalizeEmail(email).toLowerCase() !== row.email.toLowerCase()) throw AppError.badField(field, 'is for another e-mail address');
    // Only an admin's invitation for an address stands for the address: a member could invite
    // someone else's address to themselves, so their invitee confirms it as anyone does.
    return row.by_admin;
  }

  /**
   * Invite.groups: the groups of every invitation a request lists, in one statement; those the
   * viewer sees (`seesGroupSql`). An admin sees them all; a maker who is no admin any more (whose
   * invitation into groups no longer stands) still lists their own, but a group they may no
   * longer see is, to them, no group, as on every other path.
   */
  groupsOf(viewer: Viewer, invite: InviteModel): Promise<GroupModel[]> {
    const loader = viewer.memoize('loader:inviteGroups', () => new DataLoader<string, GroupModel | null>(async (ids) => {
      const rows: GroupRow[] = await this.ds.query(`${SELECT_GROUP} WHERE g.id = ANY($1::uuid[]) AND ${seesGroupSql('g', { viewer: '$2', admin: '$3' })}`, [
        ids, viewer.id, viewer.isAdmin,
      ]);
      const byId = new Map(rows.map((r) => [r.id, toGroupModel(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    }));
    return loader.loadMany(invite.groupIds).then((groups) => groups.filter((g): g is GroupModel => g instanceof GroupModel));
  }

  /** Whose invitations the viewer manages: null for an admin (everyone's), else their own. */
  private ownedBy(viewer: Viewer): string | null {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    return viewer.isAdmin ? null : viewer.id;
  }

  /**
   * Refuses who may not invite: signed out, below INVITE_MIN_TRUST_LEVEL (global moderators
   * excepted), silenced site-wide. Whether the viewer invites as an admin (any group, any size).
   */
  private async requireInviter(viewer: Viewer): Promise<boolean> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (viewer.isAdmin) return true;
    const min = this.config.INVITE_MIN_TRUST_LEVEL;
    if (min === 'admins') throw AppError.forbidden('Only admins invite people here');
    if (!viewer.isGlobalModerator && viewer.user!.trustLevel < min) throw AppError.forbidden(`Members invite people from trust level ${min}`);
    if (await this.access.silencedSiteWide(viewer)) throw AppError.forbidden(SILENCED);
    return false;
  }
}

/**
 * SQL: whether an invitation's maker (`maker`, their users row LEFT JOINed, without deleted
 * accounts) may still invite, as `createInvite` lets them: not suspended or banned site-wide
 * (such an account is signed out), and an admin, or a global moderator or a member of trust
 * level `min` (a parameter) or above, not silenced site-wide.
 */
export function makerStandsSql(maker: string, min: string): string {
  return `COALESCE(NOT ${AccessService.barredSiteWideSql(`${maker}.id`)} AND (${maker}.role = 'ADMIN' OR ((${maker}.role = 'MODERATOR' OR ${maker}.trust_level >= ${min}) AND NOT EXISTS (
            SELECT 1 FROM ${AccessService.siteWideSanctionsSql(`${maker}.id`, ['SILENCE'])}))), false)`;
}

/**
 * SQL: whether invitation `i`'s maker (`maker`, as for `makerStandsSql`) may still do all it
 * does: invite at all, and put people into each of its groups, which `createInvite` leaves to
 * admins. An invitation one of whose groups they may no longer fill stands for none of them: it
 * is refused whole, never half-applied.
 */
export function inviteStandsSql(i: string, maker: string, min: string): string {
  return `(${makerStandsSql(maker, min)} AND (${maker}.role = 'ADMIN' OR NOT EXISTS (SELECT 1 FROM invite_groups ig WHERE ig.invite_id = ${i}.id)))`;
}

/**
 * SQL, a column `inviter_stands`: whether invitation `i`'s maker may still do all it does
 * (`inviteStandsSql`, their account gone: no), `min` as `makerStandsSql` takes it. Read with
 * every invitation row (`InviteRow`), so each path that shows its state (the list, createInvite,
 * revokeInvite, its link) shows what redeeming it would find, with no statement of its own.
 */
function inviterStandsSql(i: string, min: string): string {
  return `COALESCE((SELECT ${inviteStandsSql(i, 'maker', min)} FROM users maker WHERE maker.id = ${i}.created_by AND maker.deleted_at IS NULL), false) AS inviter_stands`;
}

/** An invitation as a token reads it: with what its maker is now (an admin or not). */
type TokenRow = InviteRow & { by_admin: boolean };

/** The argument an invitation's token comes in: signUp's `inviteToken`, redeemInvite's `token`. */
export type TokenField = 'inviteToken' | 'token';

/** Why an invitation in `state` cannot be redeemed, as its holder is told, on `field`. */
function refused(state: Exclude<InviteState, InviteState.ACTIVE>, field: TokenField): AppError {
  return AppError.badField(field, `This invitation ${REFUSED[state]}`);
}
