import { Injectable } from '@nestjs/common';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid } from '../../../core/src/ids';
import { rowsOf, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { GlobalRoleEnum, toUserModel, UserModel, UserRow } from './user.model';
import { EmailStatus, UsersRepository } from './users.repository';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { AccessService, SILENCED } from '../../../access/src/access.service';
import { UpdateProfileInput } from './dto/update-profile.input';
import { ContentRenderer } from '../../../content/src/renderer';
import { ProfileChange, ProfileScreening } from './profile-screening';
import { UsersLoader } from './users.loader';

/** Profile changes a member may make in an hour: a name changed on every page view is someone passing for others. */
export const PROFILE_CHANGES_PER_USER: RateRule = { bucket: 'profile:user', limit: 10, windowSeconds: 3600 };
/**
 * Hiding or showing one's profile, which is no change of it (PROFILE_CHANGES_PER_USER): ten at
 * once, then one a minute. Each switch re-sends presence to every live room the member is in.
 */
export const PROFILE_HIDING_PACE: RateRule = { bucket: 'pace:profile-hide', limit: 10, windowSeconds: 600 };

/** Why a member suspended or banned site-wide is not made an admin (CONFLICT). */
export const BARRED_NOT_ADMIN = 'A member suspended or banned site-wide cannot be made an admin: lift the sanction first';

@Injectable()
export class UsersService {
  constructor(
    private readonly repo: UsersRepository,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly limiter: RateLimiter,
    private readonly access: AccessService,
    private readonly renderer: ContentRenderer,
    private readonly screening: ProfileScreening,
    private readonly loader: UsersLoader,
  ) {}

  /**
   * The signed-in member's own profile: the name shown next to their handle (the handle stays,
   * as mentions and links are written with it), a bio in markdown, a location and a website,
   * and whether to hide it from all but themselves and staff (UsersLoader.profileShown).
   * Null leaves a field as it is, an empty text clears it (the name cannot be cleared). The bio
   * goes through the posts' renderer and sanitizer, and its mentions notify nobody. As for
   * posts, the hour's limit is looked at first (a spent hour is RATE_LIMITED before anything
   * else is checked), then the texts it sets are screened (ProfileScreening: the site's watched
   * words); a refusal writes nothing and, like a refused post, costs no change of the hour. A
   * member silenced site-wide may not change any of it but whether it is hidden (FORBIDDEN): a
   * name is shown with everything they wrote, and a profile is read by anyone. Hiding or showing
   * it alone changes nothing anyone reads of the member, so it is no change of the hour either,
   * and never waits for one: someone who spent their hour must still be able to hide at once
   * (it is paced on its own, PROFILE_HIDING_PACE). Only a switch spends of that pace: asking for
   * the setting the profile already has (a client retrying its call) is answered as a success and
   * costs nothing. Whether it switches is read under the member's row lock, in the transaction
   * that paces and writes it, so two requests racing each other are judged one after the other
   * and no real switch passes for a no-op. A request that asks nothing is BAD_USER_INPUT and
   * writes nothing.
   */
  async updateProfile(viewer: Viewer, input: UpdateProfileInput): Promise<UserModel> {
    if (!viewer.user || !viewer.sessionId) throw AppError.unauthenticated();
    const userId = viewer.user.id;
    if (input.displayName == null && input.bio == null && input.location == null && input.website == null && input.hideProfile == null) {
      throw AppError.badField('input', 'give something to change');
    }
    // Hiding the profile shows nothing new: a silenced member may do that alone.
    const hidingOnly = input.displayName == null && input.bio == null && input.location == null && input.website == null;
    if (!hidingOnly && (await this.access.silencedSiteWide(viewer))) throw AppError.forbidden(SILENCED);
    // As posts are paced (PostingLimits.admit): an hour's changes spent refuse the next attempt
    // before it is rendered and screened, whatever it holds. This look is not the count: the
    // transaction below counts, under its lock. Hiding alone is paced apart, in the transaction (see above).
    const wait = hidingOnly ? 0 : await this.limiter.retryAfter(PROFILE_CHANGES_PER_USER, userId);
    if (wait > 0) throw AppError.rateLimited(wait);
    const change: ProfileChange = {
      viewer,
      displayName: input.displayName ?? undefined,
      bio: input.bio ? { source: input.bio, html: this.renderer.render(input.bio).html } : undefined,
      location: input.location || undefined,
      website: input.website || undefined,
    };
    const verdict = await this.screening.evaluate(change);
    const bioHtml = change.bio ? (verdict.bioHtml ?? change.bio.html) : null;
    const row = await this.uow.run(async (tx) => {
      if (!hidingOnly) await this.limiter.hitWithin(tx.manager, [[PROFILE_CHANGES_PER_USER, userId]]);
      else {
        // A switch, seen under the row's lock, spends of the pace in this transaction (given back
        // if it rolls back); a no-op nothing. RATE_LIMITED rolls everything back.
        const hidden = await this.repo.lockProfileHidden(tx.manager, userId);
        if (hidden !== undefined && hidden !== input.hideProfile) await this.limiter.pace([[PROFILE_HIDING_PACE, userId]], undefined, tx.manager);
      }
      const updated = await this.repo.updateProfile(tx, userId, {
        displayName: input.displayName ?? null,
        bio: input.bio ?? null,
        bioHtml,
        location: input.location ?? null,
        website: input.website ?? null,
        hideProfile: input.hideProfile ?? null,
      });
      if (updated) await this.screening.stored(tx, change, verdict);
      // Live rooms the member is in tell their presence again, with or without them (when it changed).
      if (updated && input.hideProfile != null && updated.was_hidden !== input.hideProfile) {
        await tx.emit({ type: 'user.profile_hidden', aggregateType: 'user', aggregateId: userId, payload: { userId, hidden: input.hideProfile } });
      }
      return updated;
    });
    if (!row) throw AppError.unauthenticated();
    this.loader.forgetProfile(viewer, userId);
    return Object.assign(toUserModel(row), { isAuthenticatedSelf: true });
  }

  /**
   * Whether the user's e-mail address is confirmed (EmailVerificationService) and whether it is
   * on the bounce list (EmailDigest), read once per request for both fields.
   */
  emailStatus(viewer: Viewer, userId: string): Promise<EmailStatus> {
    return viewer.memoize(`email-status:${userId}`, () => this.repo.emailStatus(userId));
  }

  /** A handle held to the handle rule by the caller (UserHandleArgs), looked up case-insensitively. */
  async byHandle(handle: string): Promise<UserModel | null> {
    const row = await this.repo.findByHandle(handle);
    return row ? toUserModel(row) : null;
  }

  async setRole(viewer: Viewer, userId: string, role: GlobalRoleEnum): Promise<UserModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (!viewer.isAdmin) throw AppError.forbidden('Only admins change roles');
    if (!isUuid(userId)) throw AppError.notFound('User not found');
    return this.uow.run(async (tx) => {
      const m = tx.manager;
      // The member's row FOR UPDATE, and the acting admin's FOR KEY SHARE (which waits for a
      // change of their own role, setUserRole's FOR UPDATE, and for nothing their own profile
      // does), one at a time in id order as every path holding two accounts takes them: the
      // actor's rights are read as they are once held, not as the request's session had them.
      // An admin demoted (or barred) while this waited is refused, so two admins demoting each
      // other at once cannot both succeed: the later reads itself demoted.
      const held = new Map<string, UserRow & { deleted_at: Date | null; barred?: boolean }>();
      const ids = [...new Set([viewer.id!, userId])].sort();
      for (const id of ids) {
        const [row] = await m.query(`SELECT * FROM users WHERE id = $1 ${id === userId ? 'FOR UPDATE' : 'FOR KEY SHARE'}`, [id]);
        if (row) held.set(id, row);
      }
      // Their sanctions read once both rows are held, in a statement of its own: read in the
      // locking statement, they were read in its snapshot, taken before it waited, so a
      // suspension committed while this waited for the member's row (SanctionsService.issue
      // holds it FOR KEY SHARE) was missed, and the suspended member made an admin.
      for (const { id, barred } of await m.query(`SELECT id, ${AccessService.barredSiteWideSql('users.id')} AS barred FROM users WHERE id = ANY($1::uuid[])`, [ids])) {
        held.get(id)!.barred = barred;
      }
      const actor = held.get(viewer.id!);
      if (!actor || actor.role !== GlobalRoleEnum.ADMIN || actor.deleted_at || actor.barred) throw AppError.forbidden('Only admins change roles');
      const rows = held.has(userId) ? [held.get(userId)!] : [];
      if (!rows[0]) throw AppError.notFound('User not found');
      // A deleted account or an imported author's placeholder cannot sign in: staff, it would act
      // for nobody, yet count as the admin the last one leaves behind and be a peer no moderator
      // may sanction. NOT_FOUND, as a grant or a group admission of it; made a member, it is left
      // as it is. A deletion under way holds the row (ACCOUNT_LOCK): it is waited for and found.
      const signsIn = !rows[0].deleted_at && !rows[0].is_placeholder;
      if (!signsIn && role !== GlobalRoleEnum.MEMBER) throw AppError.notFound('User not found');
      // A member suspended or banned site-wide is not made an admin (CONFLICT): nobody could then
      // lift the sanction (admins are not sanctioned, nor their sanctions lifted, `authorize`),
      // their sessions stay ended, and they would not count among the admins who keep the site.
      // The sanction is read once the row is held, which SanctionsService.issue's lock holds off.
      if (role === GlobalRoleEnum.ADMIN && rows[0].role !== GlobalRoleEnum.ADMIN && rows[0].barred) {
        throw AppError.conflict(BARRED_NOT_ADMIN);
      }
      if (signsIn && rows[0].role === GlobalRoleEnum.ADMIN && role !== GlobalRoleEnum.ADMIN) {
        // Demotions of admins one at a time, each counting after the one before committed: two
        // admins stepping down at once would each count the other and leave none. Only admins who
        // can sign in and act count: not deleted accounts nor placeholders (an earlier release made
        // some admins), nor admins suspended or banned site-wide (one made an admin while under
        // such a sanction, as earlier releases allowed: it ends their sessions and keeps them out). Demoting one of those leaves
        // the site as many as it had. The set cannot shrink behind this count otherwise: admins are
        // not sanctioned (SanctionsService.issue re-reads the role under the row's lock) nor deleted.
        await m.query(`SELECT pg_advisory_xact_lock(hashtextextended('parvis:admin-demotion', 0))`);
        const [admins]: Array<{ n: number; counted: boolean }> = await m.query(
          `SELECT count(*)::int AS n, coalesce(bool_or(u.id = $1), false) AS counted FROM users u
            WHERE u.role = 'ADMIN' AND u.deleted_at IS NULL AND NOT u.is_placeholder AND NOT ${AccessService.barredSiteWideSql('u.id')}`,
          [userId],
        );
        if (admins.counted && admins.n <= 1) throw AppError.conflict('The last admin cannot be demoted');
      }
      const updated = rowsOf<UserRow>(await m.query(
        `UPDATE users SET role = $2, updated_at = now() WHERE id = $1
         RETURNING id, email, handle, display_name, role, trust_level, is_placeholder, created_at`,
        [userId, role],
      ));
      // A demoted moderator or admin must leave the rooms the old role let them into.
      if (rows[0].role !== role) {
        await tx.emit({ type: 'user.role_changed', aggregateType: 'user', aggregateId: userId, payload: { userId, from: rows[0].role, to: role } });
        await this.audit.append(tx, { actorId: viewer.id, action: 'user.role_change', targetType: 'user', targetId: userId, spaceId: null, before: { role: rows[0].role }, after: { role } });
      }
      return toUserModel(updated[0]);
    });
  }
}
