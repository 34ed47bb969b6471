import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid } from '../../../core/src/ids';
import { GlobalRoleEnum, toUserModel, UserModel, UserRow } from './user.model';
import { USER_COLUMNS, UsersRepository } from './users.repository';

/** How many people one member may ignore: far more than anyone needs, and a bound on what each page reads. */
export const MAX_IGNORED = 500;

/**
 * Ignoring another member (Discourse's "ignore"): nothing they do notifies you any more
 * (mentions, replies, quotes, reactions, watched topics), what they did before is left out of
 * your notifications wherever they are read (the notifications lib's `fromIgnoredSql`, and
 * `asSeenSql` for their reactions in a batch with others': nothing here rewrites them, so
 * unignoring brings them back), and your pages can fold their posts
 * away (`Post.fromIgnoredUser`). It is private: they are not told, and nobody else sees it.
 * Staff (site-wide moderators and admins) cannot be ignored: their notices must reach people.
 * An imported author's placeholder account can, as anyone: it notifies nobody (imports notify
 * no one), but folding its old posts away is what a reader may want, so it is listed, counted
 * toward the cap and unignored as any other.
 */
@Injectable()
export class IgnoresService {
  constructor(
    private readonly ds: DataSource,
    private readonly users: UsersRepository,
  ) {}

  /** The ids the viewer ignores, read once per request: members only (one promoted since is staff, never ignored). */
  ignoredIds(viewer: Viewer): Promise<Set<string>> {
    const userId = viewer.id;
    if (!userId) return Promise.resolve(new Set());
    return viewer.memoize('ignored-ids', async () => {
      const rows: Array<{ ignored_user_id: string }> = await this.ds.query(
        `SELECT i.ignored_user_id FROM user_ignores i JOIN users u ON u.id = i.ignored_user_id AND u.role = 'MEMBER' WHERE i.user_id = $1`,
        [userId],
      );
      return new Set(rows.map((r) => r.ignored_user_id));
    });
  }

  async ignore(viewer: Viewer, userId: string): Promise<UserModel> {
    const target = await this.target(viewer, userId);
    if (target.role !== GlobalRoleEnum.MEMBER) throw AppError.forbidden('Moderators and admins cannot be ignored');
    await this.ds.transaction(async (m) => {
      // Under a lock on the member's own row, so parallel requests cannot pass the cap together,
      // and with the ignored account held FOR SHARE (`holdMember`): a deletion of either under
      // way is waited for and found (nothing written: UNAUTHENTICATED for the member's,
      // NOT_FOUND for the ignored one's), or waits and takes the ignore. Both in id order, so
      // two members ignoring each other at once wait for one another instead of deadlocking.
      const lockMe = async () => {
        const me = await m.query(`SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, [viewer.id]);
        if (me.length === 0) throw AppError.unauthenticated();
      };
      const holdTarget = async () => {
        if (!(await this.users.holdMember(m, target.id))) throw AppError.notFound('User not found');
      };
      for (const lock of viewer.id! < target.id ? [lockMe, holdTarget] : [holdTarget, lockMe]) await lock();
      const [{ n }]: Array<{ n: number }> = await m.query(`SELECT count(*)::int AS n FROM user_ignores WHERE user_id = $1`, [viewer.id]);
      const inserted = await m.query(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`, [viewer.id, target.id]);
      if (inserted.length > 0 && n >= MAX_IGNORED) throw AppError.badField('userId', `you ignore ${MAX_IGNORED} people already`);
    });
    viewer.forget('ignored-ids');
    return target;
  }

  async unignore(viewer: Viewer, userId: string): Promise<UserModel> {
    const target = await this.target(viewer, userId);
    // A deleted account is NOT_FOUND, as for `ignore`, and nothing is written: its deletion
    // removed every ignore of it (AccountDeletionService.anonymize), so none is left to clear. One statement.
    const live: unknown[] = await this.ds.query(
      `WITH live AS (SELECT 1 FROM users WHERE id = $2 AND deleted_at IS NULL),
            d AS (DELETE FROM user_ignores WHERE user_id = $1 AND ignored_user_id = $2 AND EXISTS (SELECT 1 FROM live))
       SELECT 1 FROM live`,
      [viewer.id, target.id],
    );
    if (live.length === 0) throw AppError.notFound('User not found');
    viewer.forget('ignored-ids');
    return target;
  }

  /** Whom the viewer ignores, most recently ignored first. */
  async list(viewer: Viewer): Promise<UserModel[]> {
    if (!viewer.id) throw AppError.unauthenticated();
    const rows: UserRow[] = await this.ds.query(
      `SELECT ${USER_COLUMNS('u')} FROM user_ignores i JOIN users u ON u.id = i.ignored_user_id WHERE i.user_id = $1 ORDER BY i.created_at DESC, u.id`,
      [viewer.id],
    );
    return rows.map(toUserModel);
  }

  private async target(viewer: Viewer, userId: string): Promise<UserModel & { role: GlobalRoleEnum }> {
    if (!viewer.id) throw AppError.unauthenticated();
    if (userId === viewer.id) throw AppError.badField('userId', 'you cannot ignore yourself');
    const [row] = isUuid(userId) ? await this.users.getByIds([userId]) : [];
    if (!row) throw AppError.notFound('User not found');
    return toUserModel(row);
  }
}
