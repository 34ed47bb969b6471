import { Injectable } from '@nestjs/common';
import { Tx } from '../../../core/src/database/unit-of-work';
import { newId } from '../../../core/src/ids';
import { SpaceModeration } from '../space-moderation';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { HeldSanctionLock, holdsSanctionLock, SanctionsService } from '../sanctions/sanctions.service';
import { ReviewItems } from '../reports/review-items';
import { ReportTargetType } from '../reports/review.model';
import { sanctionLockSql } from '../../../access/src/sanction-lock';
import { holdAgainstDeletion } from '../../../identity/src/users/account-deletion';

export const LADDER_WINDOW_DAYS = 90;

/**
 * Sanctions that escalate on their own: after a moderator upholds reports against a
 * user's content, the user's upheld violations in the space are counted and the
 * space's ladder (spaces.moderation.escalation, or the default) says what follows.
 * The ladder only climbs for members (`SanctionsService.underAutomaticModeration`); for
 * admins and moderators the skipped step is logged for a person to decide.
 */
@Injectable()
export class Escalation {
  constructor(
    private readonly audit: AuditLog,
    private readonly settings: SpaceModeration,
    private readonly sanctions: SanctionsService,
    private readonly reviewItems: ReviewItems,
  ) {}

  /**
   * After review item `itemId` (reports or an automod flag) was upheld against `offenderId`'s
   * content. Violations are content, not items: a second item upheld on the same post (a
   * report of its topic, an automod flag) climbs nothing. `deciderId`: the moderator who upheld
   * it (they may not decide an appeal of what follows). `held`: the proof that `tx` holds the
   * offender's sanction lock already (a decision that gave them a sanction, `SanctionsService.issue`),
   * which is then not asked for again.
   */
  async onViolation(tx: Tx, offenderId: string, spaceId: string | null, deciderId: string | null, itemId: string, held?: HeldSanctionLock): Promise<string | null> {
    if (!spaceId) return null;
    const ladder = (await this.settings.of(spaceId, { tx })).escalation;
    // One offender's violations in a space are counted one decision at a time: two moderators
    // upholding at once would each count only their own, and the ladder would skip the step
    // (or take one twice). Waiting here, a decision then counts the other's committed one.
    // The lock a sanction of theirs takes (`sanctionLockSql`, exclusive) is taken first, in the
    // same statement, for the step's sanction below: a decision that gives a sanction of its own
    // takes it, and then this (upholding the post's other items); taken after this, a decision
    // here waited for it while holding this, which that one waited for, a deadlock. Held already
    // (a sanction this decision gave, judged under it), it is not asked for again: taken before
    // this lock all the same (an advisory xact lock, once taken, is held until the transaction ends).
    const escalationLock = `pg_advisory_xact_lock(hashtextextended($1, 0))`;
    const key = `escalation ${spaceId} ${offenderId}`;
    if (holdsSanctionLock(held, tx, offenderId)) await tx.query(`SELECT ${escalationLock}`, [key]);
    else await tx.query(`SELECT ${sanctionLockSql('$2', 'exclusive')}, ${escalationLock}`, [key, offenderId]);
    // A topic's item is about its first post; a user report is a violation of its own.
    const [count] = await tx.query<{ n: number; before: number }>(
      `WITH upheld AS (
         SELECT ri.id, CASE ri.target_type WHEN 'USER' THEN ri.id
                        WHEN 'TOPIC' THEN (SELECT p.id FROM posts p WHERE p.topic_id = ri.target_id AND p.number = 1)
                        ELSE ri.target_id END AS content
           FROM review_items ri
          WHERE ri.space_id = $2 AND ri.kind IN ('REPORTS', 'AUTOMOD') AND ri.status = 'APPROVED'
            AND ri.resolved_at > now() - make_interval(days => ${LADDER_WINDOW_DAYS})
            AND ((ri.target_type = 'USER' AND ri.target_id = $1)
              OR (ri.target_type = 'POST' AND ri.target_id IN (SELECT id FROM posts WHERE author_id = $1))
              OR (ri.target_type = 'TOPIC' AND ri.target_id IN (SELECT id FROM topics WHERE author_id = $1))))
       SELECT count(DISTINCT content)::int AS n, (count(DISTINCT content) FILTER (WHERE id <> $3))::int AS before FROM upheld`,
      [offenderId, spaceId, itemId],
    );
    if (count.n === count.before) return null;
    const step = ladder.find((s) => s.violations === count.n);
    if (!step) return null;
    const reason = `Escalation: ${count.n} upheld violations in ${LADDER_WINDOW_DAYS} days`;
    // Nobody is left to sanction, nor to propose a ban of: an anonymised (deleted) account, whose
    // content stays and is still judged, and an imported author's placeholder, which nobody signs
    // in to. Read with the account held against its deletion (`goneAccount`), so an anonymisation
    // under way is waited for and seen, and one begun after waits for this decision's commit (the
    // step taken stays, as any sanction given before the deletion). Read unlocked, an
    // anonymisation committed between this read and the decision's commit was sanctioned after it.
    const gone = await this.goneAccount(tx, offenderId);
    if (gone) {
      await this.audit.append(tx, { actorId: null, action: 'escalation.skipped', targetType: 'user', targetId: offenderId, spaceId, reason: `${reason}; ${gone}` });
      return `skipped: ${gone}`;
    }
    // Whether they are a member, asked with their account held as a sanction holds it
    // (`underAutomaticModeration` in this transaction: their row FOR KEY SHARE, then the read),
    // after the count's lock above, the one order the ladder takes them in: setUserRole (FOR
    // UPDATE) made an admin or a moderator of them before this, and is seen, or waits until
    // after. Read unlocked, one made staff meanwhile was sanctioned automatically, and an admin
    // silenced or suspended. Not FOR SHARE, which held their own profile's update (any plain
    // UPDATE of the row) until the decision committed, for nothing this reads.
    if (!(await this.sanctions.underAutomaticModeration(offenderId, spaceId, tx))) {
      await this.audit.append(tx, { actorId: null, action: 'escalation.skipped', targetType: 'user', targetId: offenderId, spaceId, reason: `${reason}; moderators and admins are only sanctioned by a person` });
      return 'skipped: the user moderates';
    }
    if (step.action === 'PROPOSE_BAN') {
      // No proposal to ban a member banned site-wide already: read under the member's sanction
      // lock taken above (a statement after it, seeing a ban committed while it was waited for),
      // the lock a ban (sanctionUser, a proposal's APPROVE) is given under.
      if (await this.sanctions.bannedSiteWide(tx, offenderId)) {
        await this.audit.append(tx, { actorId: null, action: 'escalation.skipped', targetType: 'user', targetId: offenderId, spaceId, reason: `${reason}; banned site-wide already` });
        return 'skipped: banned site-wide already';
      }
      await this.reviewItems.open(tx, { spaceId: null, targetType: ReportTargetType.USER, targetId: offenderId, kind: 'BAN_PROPOSAL', actorId: null, action: 'ban proposed', note: reason });
      await this.audit.append(tx, { actorId: null, action: 'escalation.propose_ban', targetType: 'user', targetId: offenderId, spaceId, reason });
      return 'ban proposed';
    }
    const [s] = await tx.query<{ id: string }>(
      `INSERT INTO sanctions (id, user_id, kind, space_id, reason, expires_at, automatic, triggered_by)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6::int), true, $7) RETURNING id`,
      [newId(), offenderId, step.action, spaceId, reason, step.hours ?? 24, deciderId],
    );
    await this.audit.append(tx, {
      actorId: null,
      action: 'sanction.auto',
      targetType: 'user',
      targetId: offenderId,
      spaceId,
      reason,
      after: { sanctionId: s.id, kind: step.action, hours: step.hours },
    });
    await tx.emit({ type: 'user.sanctioned', aggregateType: 'user', aggregateId: offenderId, payload: { userId: offenderId, sanctionId: s.id, kind: step.action, spaceId, automatic: true } });
    return `${step.action.toLowerCase()} ${step.hours}h`;
  }

  /**
   * Why nobody is left to sanction as `userId`, or null for an account someone may still use:
   * read once the account is held against its deletion until `tx` ends (`holdAgainstDeletion`,
   * not a row lock: one the deletion's write waits for held the offender's own profile update too).
   */
  private async goneAccount(tx: Tx, userId: string): Promise<string | null> {
    await holdAgainstDeletion(tx, userId);
    const row = await tx.one<{ deleted: boolean; placeholder: boolean }>(
      `SELECT deleted_at IS NOT NULL AS deleted, is_placeholder AS placeholder FROM users WHERE id = $1`,
      [userId],
    );
    if (!row || row.deleted) return 'the account was deleted';
    return row.placeholder ? 'nobody acts as an imported author' : null;
  }
}
