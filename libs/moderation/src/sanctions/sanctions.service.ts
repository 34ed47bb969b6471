import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessLevel, LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { Queryable, rowsOf, Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { networkOf } from '../../../core/src/http/client-address';
import { Connection, idFromCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { ROLE_POWER, Viewer } from '../../../core/src/graphql/viewer';
import { isUuid, newId } from '../../../core/src/ids';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { DomainEvent } from '../../../core/src/events';
import { SessionsService } from '../../../identity/src/sessions/sessions.service';
import { holdAgainstDeletion } from '../../../identity/src/users/account-deletion';
import { sanctionLockSql } from '../../../access/src/sanction-lock';
import { SanctionInput } from './dto/sanction.inputs';
import { ReviewItems } from '../reports/review-items';
import { SANCTION_COLUMNS, SanctionKind, SanctionModel, SanctionRow, toSanctionModel } from './sanction.model';
import { dropAddressBans } from './address-bans';

/**
 * A sanction lifted (`expired` false) or run out: what the live gateway tells its member's
 * connections (`sanction:lifted`), and puts them back in the rooms it took them out of.
 */
function sanctionEnded(s: { id: string; user_id: string; kind: string; space_id: string | null }, expired: boolean): DomainEvent {
  return {
    type: 'user.sanction_lifted',
    aggregateType: 'user',
    aggregateId: s.user_id,
    payload: { userId: s.user_id, sanctionId: s.id, kind: s.kind, spaceId: s.space_id, expired },
  };
}

/** What only `SanctionsService.holdOffAdminChanges` writes: a `HeldSanctionLock` cannot be made elsewhere. */
const heldBy = Symbol('sanction lock held by');

/**
 * Proof that a transaction holds a member's sanction lock (`sanctionLockSql`, exclusive): answered
 * by `SanctionsService.holdOffAdminChanges` once it has taken it, and nowhere else (its key is
 * this module's). A caller that takes the lock early hands it to `judge`, which then does not take
 * it again; a bare flag would let any caller say so.
 */
export interface HeldSanctionLock {
  readonly [heldBy]: { readonly tx: Tx; readonly userId: string };
}

/**
 * Whether `held` proves that `tx` holds `userId`'s sanction lock (false without one). A proof of
 * another member's lock or another transaction's is a caller's bug, thrown, not a reason to lock.
 * `judge` asks it, and the escalation ladder (`Escalation.onViolation`), which a decision that
 * gave a sanction hands the proof `issue` answered.
 */
export function holdsSanctionLock(held: HeldSanctionLock | undefined, tx: Tx, userId: string): boolean {
  if (!held) return false;
  const { tx: heldTx, userId: heldUser } = held[heldBy];
  if (heldTx !== tx || heldUser !== userId) throw new Error('A sanction lock held for another member or another transaction proves nothing here');
  return true;
}

/** Why a sanction of an admin is refused (FORBIDDEN). */
const ADMINS_NOT_SANCTIONED = 'Admins cannot be sanctioned';

/** Site-wide power: 0 member, 1 global moderator, 2 admin. */

@Injectable()
export class SanctionsService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly sessions: SessionsService,
    private readonly reviewItems: ReviewItems,
  ) {}

  /**
   * The target as a viewer (suspended or not), to ask the access policy what they may do. Read
   * on `m`: in a transaction, its own connection (on the pool, the read took a second connection
   * while the transaction's was held).
   */
  private targetViewer(userId: string, m: Queryable = this.ds): Promise<Viewer | null> {
    return this.sessions.viewerForUser(userId, { includeSuspended: true }, m);
  }

  /**
   * Whether automatic moderation may act on this user in this space (the escalation ladder's
   * sanctions, hiding their content when reports reach the threshold): only members; admins,
   * global moderators and the space's own moderators are judged by a person (`sanction`
   * checks who may sanction whom, and a moderator hides what needs hiding). In a transaction
   * about to act on the answer (the ladder's decision), `tx`: the member held and read there as a
   * sanction holds and reads them (`heldTarget`), so one made staff meanwhile is seen as staff,
   * or is made staff only once the caller committed.
   */
  async underAutomaticModeration(userId: string, spaceId: string, tx?: Tx): Promise<boolean> {
    const target = tx ? await this.heldTarget(tx, userId) : await this.targetViewer(userId);
    if (!target?.user || target.user.role !== 'MEMBER') return false;
    // Their grants, not what a sanction leaves them: a silenced moderator is judged by a person.
    return (await this.access.baseRankOn(target, spaceId)) < LEVEL_RANK.MODERATE;
  }

  /**
   * Who may sanction whom: a space's moderators within that space, global moderators
   * and admins anywhere; nobody sanctions an admin, themselves, or a moderator of the
   * same or higher rank (their rank from role and grants: a sanction they are under does not
   * hand them to their peers). Rank is the site role first, then the rank on the space: a
   * space's admin does not sanction a global moderator there, whom the global moderator's
   * role puts above every space's own staff (so two people never can sanction each other).
   * Lifting a sanction, or deciding its appeal, asks the same.
   */
  private async authorize(viewer: Viewer, target: Viewer, spaceId: string | null): Promise<void> {
    const actorRank = await this.sanctionsThere(viewer, target.id!, spaceId);
    const actorPower = ROLE_POWER[viewer.user!.role];
    const targetPower = ROLE_POWER[target.user!.role];
    if (target.user!.role === 'ADMIN') throw AppError.forbidden(ADMINS_NOT_SANCTIONED);
    if (spaceId === null) {
      if (targetPower >= actorPower) throw AppError.forbidden('You cannot sanction a moderator of your rank');
      return;
    }
    const targetRank = await this.access.baseRankOn(target, spaceId);
    if (targetRank >= LEVEL_RANK.MODERATE && (targetPower > actorPower || (targetPower === actorPower && targetRank >= actorRank))) {
      throw AppError.forbidden('You cannot sanction a moderator of your rank');
    }
  }

  /**
   * `authorize`'s refusals that need no target: UNAUTHENTICATED signed out, BAD_USER_INPUT for
   * oneself, and FORBIDDEN (NOT_FOUND for a space they cannot read) for one who sanctions nobody
   * where the sanction would be given (`spaceId`, null site-wide): a space's moderators there,
   * global moderators and admins anywhere. Their rank on the space (NONE for site-wide).
   */
  private async sanctionsThere(viewer: Viewer, userId: string, spaceId: string | null): Promise<number> {
    if (!viewer.user) throw AppError.unauthenticated();
    if (userId === viewer.id) throw AppError.badField('userId', 'you cannot sanction yourself');
    if (spaceId !== null) return this.access.require(viewer, spaceId, AccessLevel.MODERATE, 'Space not found');
    if (!(await this.access.moderatesSiteWide(viewer))) throw AppError.forbidden('Site-wide sanctions need a global moderator or an admin');
    return LEVEL_RANK.NONE;
  }

  /**
   * `sanctionUser`. One who may sanction nobody there is refused first, on the request's session
   * (`sanctionsThere`, nothing read of the target), before any transaction is opened or the
   * target's row held: any signed-in member held the row FOR KEY SHARE (holding off a role
   * change) until they were refused. The judgement is still the one in the transaction
   * (`judge`: `authorizeNow`, the issuer read as they are then), which this only anticipates.
   */
  async sanction(viewer: Viewer, input: SanctionInput): Promise<SanctionModel> {
    this.checkShape(input);
    await this.sanctionsThere(viewer, input.userId, input.spaceId ?? null);
    return toSanctionModel(await this.uow.run(async (tx) => {
      const issuer = await this.judge(tx, { session: viewer }, input);
      return this.write(tx, issuer, input);
    }));
  }

  /** A sanction's shape (BAD_USER_INPUT), before anything is read. */
  private checkShape(input: SanctionInput): void {
    const timed = input.kind === SanctionKind.SILENCE || input.kind === SanctionKind.SUSPEND;
    if (timed && !input.durationHours) throw AppError.badField('durationHours', `is required for ${input.kind}`);
    if (!timed && input.durationHours) throw AppError.badField('durationHours', `does not apply to ${input.kind}`);
    if ((input.banEmail || input.banIp) && (input.kind !== SanctionKind.BAN || (input.spaceId ?? null) !== null)) {
      throw AppError.badField(input.banEmail ? 'banEmail' : 'banIp', 'applies to site-wide bans only');
    }
  }

  /**
   * Whether `userId` stands banned site-wide (a ban in force, `AccessService.siteWideSanctionsSql`). Read by a
   * caller holding the member's sanction lock, in a statement after the lock's (its snapshot sees
   * a ban committed while the lock was waited for): a ban proposal's APPROVE, which bans no one
   * twice, and the escalation ladder, which proposes no ban of one banned already.
   */
  async bannedSiteWide(tx: Tx, userId: string): Promise<boolean> {
    const [standing] = await tx.query(`SELECT 1 FROM ${AccessService.siteWideSanctionsSql('$1', ['BAN'])}`, [userId]);
    return !!standing;
  }

  /**
   * Judges, in the caller's transaction, a sanction somebody asks for: its shape
   * (BAD_USER_INPUT), its target (NOT_FOUND) and whether `moderator` may give it to them
   * (FORBIDDEN), as things stand now (`authorizeNow`); then, for a sanction that restricts access,
   * takes the member's sanction lock (`holdOffAdminChanges`), which `write` needs held. `moderator`
   * is who acts as the caller read them on this transaction's connection
   * (`SessionsService.viewerNow`: a review decision's `lockItem`), not read again, or the request's
   * session (`{ session }`: `sanctionUser`), read here once the target is held. The one judgement
   * of a sanction, and where its lock is taken (a ban proposal's APPROVE holds it already, taken
   * before the proposal's item, `ReportsService.lockTarget`): `sanctionUser` and `issue` make it before
   * writing, and a review decision that looks at something else between the two (a ban proposal's
   * standing ban) makes it, reads that under the lock (a statement after the lock's, whose
   * snapshot sees a sanction committed while the lock was waited for), then `write`s. Answers the
   * actor as judged. The lock has one owner per transaction: `held`, the proof `holdOffAdminChanges`
   * answered a caller that took it already (a ban proposal's APPROVE, before the item), is taken as
   * such, and the lock is not asked for a second time; a proof of another member's lock, or of
   * another transaction's, is a bug, thrown as one.
   */
  async judge(tx: Tx, moderator: Viewer | { session: Viewer }, input: SanctionInput, held?: HeldSanctionLock): Promise<Viewer> {
    return (await this.judged(tx, moderator, input, held)).actor;
  }

  /** `judge`, answering also the proof of the sanction lock it holds (none for a warning). */
  private async judged(tx: Tx, moderator: Viewer | { session: Viewer }, input: SanctionInput, held?: HeldSanctionLock): Promise<{ actor: Viewer; lock: HeldSanctionLock | undefined }> {
    this.checkShape(input);
    const actor = await this.authorizeNow(tx, moderator, input.userId, input.spaceId ?? null);
    if (input.kind === SanctionKind.WARNING) return { actor, lock: undefined };
    return { actor, lock: holdsSanctionLock(held, tx, input.userId) ? held : await this.holdOffAdminChanges(tx, input.userId) };
  }

  /**
   * The target's row held FOR KEY SHARE, then the target read on the transaction's connection:
   * how a sanction, its lift and its appeal's decision (`authorizeNow`), and the escalation
   * ladder (`underAutomaticModeration`), hold and read their member, in one place and in that
   * order (the hold, then the read, which sees what the hold waited for). FOR KEY SHARE waits for
   * setUserRole's FOR UPDATE (or holds it off until this commits), so their role is read as it
   * stands until the caller commits. No stronger: FOR SHARE also held off every plain UPDATE of
   * the row (FOR NO KEY UPDATE: the member's profile, e-mail and password changes, the digest's
   * and trust levels' marks) until this committed, which nothing here needs: it reads their role
   * and their address, and a change of address is ordered against the sanction by the member's
   * sanction lock instead (`EmailChangeService.confirm` takes it shared, `judge` exclusively before
   * the address a ban bans is read): the ban bans the new address, or the change is refused.
   */
  private async heldTarget(tx: Tx, userId: string): Promise<Viewer | null> {
    await tx.query(`SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE`, [userId]);
    return this.targetViewer(userId, tx);
  }

  /**
   * `authorize` in the caller's transaction, before a sanction is written (`issue`) or lifted
   * (`lift`), or its appeal decided: the one place either is judged, not before the transaction
   * on the request's session too. The target held and read (`heldTarget`): one made an admin
   * since is not sanctioned (an admin suspended or banned site-wide would no longer count among
   * the admins who keep the site, setRole's last-admin guard, though the count let one step
   * down), and one made a moderator of the actor's rank is FORBIDDEN. The actor is read as they
   * are now too (`viewerNow`, on the transaction's connection), not taken from the request's
   * session: a moderator whose grant was revoked (or who was demoted, silenced or barred) since
   * the request began is refused. Read, not locked: a revocation or demotion still under way
   * reads no sanction, so this one simply came first. `actor` is a viewer the caller read so on
   * this transaction's connection already (a review decision's moderator, `lockItem`), or the
   * request's session (`{ session }`: `sanctionUser`, `liftSanction`), read here once the target is
   * held. Answers the actor as judged.
   */
  private async authorizeNow(tx: Tx, actor: Viewer | { session: Viewer }, userId: string, spaceId: string | null): Promise<Viewer> {
    const target = await this.heldTarget(tx, userId);
    if (!target) throw AppError.notFound('User not found');
    const now = actor instanceof Viewer ? actor : await this.sessions.viewerNow(actor.session, tx);
    await this.authorize(now, target, spaceId);
    return now;
  }

  /**
   * Judges (`judge`, `moderator` as read in `tx`) and writes (`write`) a sanction, in the caller's
   * transaction. Answers it and, for a sanction that restricts access, the proof of the sanction
   * lock `judge` took (`lock`), for what the caller does next under it: a decision that gives the
   * sanction and upholds the post's other items climbs the ladder for them, which takes this lock
   * for its member unless handed that proof.
   */
  async issue(tx: Tx, moderator: Viewer, input: SanctionInput): Promise<{ sanction: SanctionRow; lock: HeldSanctionLock | undefined }> {
    const { lock } = await this.judged(tx, moderator, input);
    return { sanction: await this.write(tx, moderator, input), lock };
  }

  /**
   * Holds off, until the caller commits, the member's changes as a space admin, and waits for
   * those under way (`sanctionLockSql`): a sanction is a new row, which they cannot wait for, so a
   * change judged before it was given committed after it. Taken once a sanction that restricts
   * access is judged, before it is written or anything it depends on is read (`judge`; the
   * escalation ladder takes it with its own lock, before it), not for a warning, which takes
   * nothing. After the member's row and the judgement: a change holds its
   * space and then this, never the other way round, and a sanction holds no space but `FOR KEY
   * SHARE`, which lets the change by. A decision that gives a sanction may then uphold the post's
   * other items, taking the ladder's lock after this one, as the ladder itself does.
   *
   * The exception: a ban proposal's APPROVE takes it first of all (`ReportsService.lockTarget`,
   * before the proposal's item, the member's row and the judgement), as the ladder, which takes it
   * and then opens the proposal, does: taken after the item, it deadlocked with a ladder of another
   * space. It holds no space there either. Answers the proof that `tx` holds it
   * (`HeldSanctionLock`), which that caller hands `judge`, so the lock is asked for once.
   */
  async holdOffAdminChanges(tx: Tx, userId: string): Promise<HeldSanctionLock> {
    await tx.query(`SELECT ${sanctionLockSql('$1', 'exclusive')}`, [userId]);
    return { [heldBy]: { tx, userId } };
  }

  /**
   * Writes a sanction `judge` allowed (and held) in the same transaction (logged, announced). `banEmail` bans
   * the address the account has as the ban reads it (once, `refuseBansOfNothing`); an account with none (deleted or
   * anonymised: the deletion erased it; an imported author's placeholder never had one) is
   * refused (BAD_USER_INPUT on `banEmail`), where the ban was written banning no address while the
   * log said `banEmail: true`. A deletion under way is waited for and one begun after waits for the
   * ban (`holdAgainstDeletion`, before anything is read or written: the deletion erases the address
   * and revokes the sessions a ban revokes): the ban comes wholly before it (its address banned,
   * which the deletion keeps, as it keeps every ban) or after it (refused). The hold comes after
   * the sanction lock (`holdOffAdminChanges`: taken by `judge`, or for a ban proposal's APPROVE by
   * `ReportsService.lockTarget` before it), the order the escalation ladder takes the two in
   * (`goneAccount`, after its lock): taken first, a ban waiting for the ladder held its member's
   * deletion off meanwhile, and the ladder's own hold then queued behind that deletion. `banIp`
   * likewise bans the networks of the account's sessions (ended ones too, until pruned) and is
   * refused (BAD_USER_INPUT on `banIp`) when they have none, where the log said `banIp: true` for a
   * ban of no address. Both are refused on plain reads before anything is written
   * (`refuseBansOfNothing`); they were found after the sanction's insert, the sessions' revocation
   * and the address's ban, all rolled back.
   */
  async write(tx: Tx, viewer: Viewer, input: SanctionInput): Promise<SanctionRow> {
    const spaceId = input.spaceId ?? null;
    if (input.banEmail) await holdAgainstDeletion(tx, input.userId);
    const { address, networks } = await this.refuseBansOfNothing(tx, input);
    const [s] = await tx.query<SanctionRow>(
      `INSERT INTO sanctions (id, user_id, kind, space_id, reason, issued_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(hours => $7::int) END)
       RETURNING ${SANCTION_COLUMNS}`,
      [newId(), input.userId, input.kind, spaceId, input.reason, viewer.id, input.durationHours ?? null],
    );
    let revokedSessions = 0;
    // A site-wide suspension or ban ends every session at once.
    if (spaceId === null && (input.kind === SanctionKind.SUSPEND || input.kind === SanctionKind.BAN)) {
      revokedSessions = (await tx.query(`UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`, [input.userId])).length;
    }
    if (address !== null) {
      // The address as the refusal read it (held against the deletion, it is there), not read again.
      await tx.query(`INSERT INTO banned_emails (email_lower, sanction_id) VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING`, [address, s.id]);
    }
    if (networks.length) {
      await tx.query(`INSERT INTO banned_ips (ip, sanction_id) SELECT unnest($1::text[]), $2::uuid ON CONFLICT DO NOTHING`, [networks, s.id]);
    }
    await this.audit.append(tx, {
      actorId: viewer.id,
      action: 'sanction.create',
      targetType: 'user',
      targetId: input.userId,
      spaceId,
      reason: input.reason,
      after: { sanctionId: s.id, kind: s.kind, expiresAt: s.expires_at, banEmail: !!input.banEmail, banIp: !!input.banIp, revokedSessions },
    });
    await tx.emit({
      type: 'user.sanctioned',
      aggregateType: 'user',
      aggregateId: input.userId,
      payload: { userId: input.userId, sanctionId: s.id, kind: s.kind, spaceId, issuedBy: viewer.id },
    });
    return s;
  }

  /**
   * `write`'s refusal of a `banEmail` or a `banIp` that would ban nothing (BAD_USER_INPUT, both
   * named at once), on reads alone, before `write` writes anything: the account's address,
   * lowercased as `banned_emails` keeps it (read once it is held against its deletion, which alone
   * erases one), and its sessions' networks (an IPv6 address stands for its whole /64). Answers
   * what it read, which `write` bans without reading it again (it was read twice, here and by the
   * ban's INSERT): the address (null without `banEmail`) and the networks (none without `banIp`).
   * An address changed between the two is banned as read here, as if the change came after.
   */
  private async refuseBansOfNothing(tx: Tx, input: SanctionInput): Promise<{ address: string | null; networks: string[] }> {
    const refused: Array<{ field: string; message: string }> = [];
    let address: string | null = null;
    if (input.banEmail) {
      const [account] = await tx.query<{ email_lower: string | null }>(`SELECT lower(email) AS email_lower FROM users WHERE id = $1`, [input.userId]);
      address = account?.email_lower ?? null;
      if (address === null) {
        refused.push({ field: 'banEmail', message: 'bans no address: this account has none (a deleted or anonymised account’s address was erased with it); ban without banEmail' });
      }
    }
    let networks: string[] = [];
    if (input.banIp) {
      const used: Array<{ ip: string }> = await tx.query(`SELECT DISTINCT ip FROM sessions WHERE user_id = $1 AND ip IS NOT NULL`, [input.userId]);
      networks = [...new Set(used.map((r) => networkOf(r.ip)))];
      if (!networks.length) {
        refused.push({ field: 'banIp', message: 'bans no address: no session of this account has one (none, or all pruned); ban without banIp' });
      }
    }
    if (refused.length) throw AppError.badInput(refused);
    return { address, networks };
  }

  private async load(id: string): Promise<SanctionRow | undefined> {
    if (!isUuid(id)) return undefined;
    return (await this.ds.query(`SELECT ${SANCTION_COLUMNS} FROM sanctions WHERE id = $1`, [id]))[0];
  }

  /**
   * FORBIDDEN unless the viewer could lift this sanction now (see authorize): an appeal's decision
   * lifts it or upholds it, so only those who could lift it decide (or claim) its appeal. Judged
   * in the caller's transaction as `lift` judges (`authorizeNow`: the member's row held FOR KEY
   * SHARE), on `moderator` as the caller read them on the transaction's connection (`lockItem`'s
   * `viewerNow`), not on the request's session: a moderator whose grant was revoked (or who was
   * demoted, silenced or barred) since decides and claims nothing.
   */
  async assertMayDecideAppeal(tx: Tx, moderator: Viewer, sanction: { user_id: string; space_id: string | null }): Promise<void> {
    await this.authorizeNow(tx, moderator, sanction.user_id, sanction.space_id).catch((err: AppError) => {
      throw err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND' ? AppError.forbidden('Only a moderator who could lift this sanction decides its appeal') : err;
    });
  }

  /**
   * A sanction lifted while its appeal waits has answered the appeal: it is granted, its item
   * settled, and the member told, so no moderator later denies an appeal of a sanction gone.
   */
  private async grantWaitingAppeal(tx: Tx, viewer: Viewer, s: SanctionRow): Promise<void> {
    const [appeal] = await tx.query<{ review_item_id: string | null }>(
      `UPDATE appeals SET status = 'GRANTED', decided_by = $2, decided_at = now(), decision_note = 'The sanction was lifted'
        WHERE sanction_id = $1 AND status = 'PENDING' RETURNING review_item_id`,
      [s.id, viewer.id],
    );
    if (!appeal) return;
    if (appeal.review_item_id) {
      await this.reviewItems.approvePending(tx, {
        where: 'id = $4', params: [appeal.review_item_id], resolvedBy: viewer.id, action: 'resolved: approve (sanction lifted with liftSanction)', note: null,
      });
    }
    await tx.emit({ type: 'appeal.decided', aggregateType: 'user', aggregateId: s.user_id, payload: { userId: s.user_id, sanctionId: s.id, granted: true } });
  }

  async lift(viewer: Viewer, id: string): Promise<SanctionModel> {
    if (!viewer.user) throw AppError.unauthenticated();
    const s = await this.load(id);
    // Only its member and those who read it in userSanctions learn that it exists.
    if (!s || (s.user_id !== viewer.id && !(await this.seesSanction(viewer, s)))) throw AppError.notFound('Sanction not found');
    if (s.user_id === viewer.id) throw AppError.forbidden('You cannot lift a sanction on yourself; appeal it instead');
    const row = await this.uow.run(async (tx) => {
      // Judged as things stand now (the lifter's grants and role, the member's role held), and
      // only here: a moderator whose grant was revoked since the request began lifts nothing.
      await this.authorizeNow(tx, { session: viewer }, s.user_id, s.space_id).catch((err: AppError) => {
        throw err.code === 'NOT_FOUND' ? AppError.notFound('Sanction not found') : err;
      });
      // Run out or lifted already: answered as it is, once the viewer may lift it.
      if (!s.active) return s;
      // Lifted once: of two racing lifts, the second finds it lifted and changes, logs and tells nothing.
      const [lifted] = await tx.query<SanctionRow>(
        `UPDATE sanctions SET lifted_at = now(), lifted_by = $2 WHERE id = $1 AND lifted_at IS NULL RETURNING ${SANCTION_COLUMNS}`,
        [id, viewer.id],
      );
      if (!lifted) return null;
      await dropAddressBans(tx, [id]);
      await this.audit.append(tx, {
        actorId: viewer.id,
        action: 'sanction.lift',
        targetType: 'user',
        targetId: s.user_id,
        spaceId: s.space_id,
        before: { sanctionId: id, kind: s.kind, expiresAt: s.expires_at },
      });
      await tx.emit(sanctionEnded(lifted, false));
      await this.grantWaitingAppeal(tx, viewer, s);
      return lifted;
    });
    return toSanctionModel(row ?? (await this.load(id))!);
  }

  /**
   * Records each sanction's expiry in the moderation log, once, as an automatic action (the
   * worker runs this every minute), and announces it as a lift is (`user.sanction_lifted`,
   * `expired`): the member's live connections learn it, and are put back in the rooms it sent
   * them away from. Access needs nothing: a sanction past its expiry restricts no one, and its
   * e-mail and IP bans ban nothing from then on (`emailBannedSql`); their rows go here, as a
   * lift's do. (They come with bans only, which the API never gives an end; one given an end
   * otherwise runs out as any sanction does.)
   */
  async handleExpired(batch = 500): Promise<number> {
    return this.uow.run(async (tx) => {
      const expired = await tx.query<{ id: string; user_id: string; space_id: string | null; kind: string; expires_at: Date }>(
        `UPDATE sanctions SET expiry_handled_at = now()
          WHERE id IN (SELECT id FROM sanctions
                        WHERE lifted_at IS NULL AND expiry_handled_at IS NULL AND expires_at <= now()
                        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id, user_id, space_id, kind, expires_at`,
        [batch],
      );
      if (expired.length) await dropAddressBans(tx, expired.map((s) => s.id));
      for (const s of expired) {
        await this.audit.append(tx, {
          actorId: null,
          action: 'sanction.expire',
          targetType: 'user',
          targetId: s.user_id,
          spaceId: s.space_id,
          before: { sanctionId: s.id, kind: s.kind, expiresAt: s.expires_at },
        });
        await tx.emit(sanctionEnded(s, true));
      }
      return expired.length;
    });
  }

  /** The user acknowledges a warning addressed to them. */
  async acknowledge(viewer: Viewer, id: string): Promise<SanctionModel> {
    if (!viewer.id) throw AppError.unauthenticated();
    const s = await this.load(id);
    if (!s || s.user_id !== viewer.id) throw AppError.notFound('Sanction not found');
    if (s.kind !== SanctionKind.WARNING) throw AppError.badField('id', 'only warnings are acknowledged');
    const [row] = rowsOf<SanctionRow>(
      await this.ds.query(`UPDATE sanctions SET acknowledged_at = COALESCE(acknowledged_at, now()) WHERE id = $1 RETURNING ${SANCTION_COLUMNS}`, [id]),
    );
    return toSanctionModel(row);
  }

  /** The viewer's own sanctions (warnings to acknowledge, silences...), newest first. */
  async mine(viewer: Viewer, args: PageArgs): Promise<Connection<SanctionModel>> {
    if (!viewer.id) throw AppError.unauthenticated();
    return this.page('my-sanctions', `user_id = $1`, [viewer.id], args);
  }

  /** Whether `ofUser` shows the viewer this sanction: a site-wide one to site-wide moderators, a space's to its moderators. */
  private async seesSanction(viewer: Viewer, s: { space_id: string | null }): Promise<boolean> {
    return s.space_id === null ? this.access.moderatesSiteWide(viewer) : (await this.access.rankOn(viewer, s.space_id)) >= LEVEL_RANK.MODERATE;
  }

  /** A user's sanctions, for moderators: site-wide ones and those in spaces the viewer moderates, newest first. */
  async ofUser(viewer: Viewer, userId: string, args: PageArgs): Promise<Connection<SanctionModel>> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const moderated = await this.access.moderatedSpaceIds(viewer);
    const siteWide = await this.access.moderatesSiteWide(viewer);
    if (!siteWide && moderated.length === 0) throw AppError.forbidden('Only moderators see sanctions');
    // A user who does not exist is NOT_FOUND, as every read by id is, not a user without sanctions.
    if (!isUuid(userId) || (await this.ds.query(`SELECT 1 FROM users WHERE id = $1`, [userId])).length === 0) throw AppError.notFound('User not found');
    return this.page('user-sanctions', `user_id = $1 AND (space_id = ANY($2::uuid[]) OR (space_id IS NULL AND $3))`, [userId, moderated, siteWide], args);
  }

  /** Newest first by their UUIDv7 ids; `list` names the cursors (see encodeCursor). */
  private async page(list: string, where: string, params: unknown[], args: PageArgs): Promise<Connection<SanctionModel>> {
    const size = pageSize(args.first);
    const after = idFromCursor(args.after, list);
    const n = params.length;
    const rows: SanctionRow[] = await this.ds.query(
      `SELECT ${SANCTION_COLUMNS} FROM sanctions WHERE ${where} AND ($${n + 1}::uuid IS NULL OR id < $${n + 1}) ORDER BY id DESC LIMIT $${n + 2}`,
      [...params, after, size + 1],
    );
    return toConnection(rows, size, list, (r) => [r.id], toSanctionModel, async () => (await this.ds.query(`SELECT count(*)::int AS n FROM sanctions WHERE ${where}`, params))[0].n);
  }
}
