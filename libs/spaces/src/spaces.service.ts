import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessLevel, LEVEL_RANK, levelOfRank } from '../../access/src/access-level';
import { AccessService } from '../../access/src/access.service';
import { Tx, UnitOfWork } from '../../core/src/database/unit-of-work';
import { AppError } from '../../core/src/errors';
import { nestedPage } from '../../core/src/graphql/nested-pages';
import { Viewer } from '../../core/src/graphql/viewer';
import { newId } from '../../core/src/ids';
import { BoardModel, BoardRow, toBoardModel } from './boards/board.model';
import { CreateBoardInput, CreateSpaceInput, SpaceGrantInput, UpdateBoardInput, UpdateSpaceInput } from './dto/space.inputs';
import { SpaceGrantModel } from './spaces/space-grant.model';
import { SpaceModel, SpaceRow, toSpaceModel } from './spaces/space.model';
import { BOARD_COLUMNS, SPACE_COLUMNS, SpacesRepository } from './spaces.repository';
import { AuditLog } from '../../core/src/audit/audit-log';
import { seesGroupSql } from '../../identity/src/groups/group-visibility';
import { SessionsService } from '../../identity/src/sessions/sessions.service';
import { sanctionLockSql } from '../../access/src/sanction-lock';

const SPACE_RETURNING = `RETURNING ${SPACE_COLUMNS}`;

/**
 * SQL on a groups row `g`: whether the viewer ($2, an admin when $3) sees the group (identity's
 * rule). A group they may not see is, to them, no group at all: NOT_FOUND when they name it in a
 * grant, left unnamed in the grants they read.
 */
const SEES_GROUP = seesGroupSql('g', { viewer: '$2', admin: '$3' });

/**
 * The per-request loader of spaces' moderation settings (kept by the moderation module, which
 * sits above spaces): a change to a space drops it, so later fields read the settings afresh.
 */
export const SPACE_SETTINGS_LOADER = 'loader:moderation-settings';

@Injectable()
export class SpacesService {
  constructor(
    private readonly ds: DataSource,
    private readonly repo: SpacesRepository,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly sessions: SessionsService,
  ) {}

  /** Spaces the viewer may read, by name. */
  async list(viewer: Viewer): Promise<SpaceModel[]> {
    const rows = await this.repo.spacesByIds(await this.access.readableSpaceIds(viewer));
    return rows.map(toSpaceModel);
  }

  async bySlug(viewer: Viewer, slug: string): Promise<SpaceModel | null> {
    if (slug.length > 50) return null;
    const row = await this.repo.spaceBySlug(slug);
    if (!row || (await this.access.rankOn(viewer, row.id)) < LEVEL_RANK.READ) return null;
    return toSpaceModel(row);
  }

  async viewerAccess(viewer: Viewer, spaceId: string): Promise<AccessLevel> {
    return levelOfRank(await this.access.rankOn(viewer, spaceId));
  }

  async create(viewer: Viewer, input: CreateSpaceInput): Promise<SpaceModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (!viewer.isAdmin) throw AppError.forbidden('Only admins create spaces');
    return this.changingAccess(viewer, async (tx) => {
      // Again as the account is now (its role read on this connection, once held: `holdAdminRights`):
      // one demoted while this waited creates nothing, and a demotion asked meanwhile waits for it.
      await this.holdAdminRights(tx, viewer.id!, null);
      if (!(await this.sessions.viewerNow(viewer, tx)).isAdmin) throw AppError.forbidden('Only admins create spaces');
      const rows = await tx.query<SpaceRow>(
        `INSERT INTO spaces (id, slug, name, description, visibility, language)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO NOTHING ${SPACE_RETURNING}`,
        [newId(), input.slug, input.name, input.description ?? '', input.visibility, input.language ?? 'en'],
      );
      if (!rows[0]) throw AppError.badField('slug', 'is taken');
      await tx.emit({ type: 'space.created', aggregateType: 'space', aggregateId: rows[0].id, payload: { spaceId: rows[0].id } });
      return toSpaceModel(rows[0]);
    });
  }

  async update(viewer: Viewer, input: UpdateSpaceInput): Promise<SpaceModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    await this.access.require(viewer, input.spaceId, AccessLevel.ADMIN, 'Space not found');
    // Nothing to change is a mistake, not an update (it would still tell every listener of one).
    if (!Object.entries(input).some(([field, value]) => field !== 'spaceId' && value !== undefined && value !== null)) {
      throw AppError.badField('spaceId', 'give at least one setting to change');
    }
    return this.changingAccess(viewer, async (tx) => {
      await this.holdSpace(tx, viewer, input.spaceId);
      const before = await tx.one<{ visibility: string; moderation: Record<string, unknown> }>(`SELECT visibility, moderation FROM spaces WHERE id = $1`, [input.spaceId]);
      const rows = await tx.query<SpaceRow & { moderation: Record<string, unknown> }>(
        `UPDATE spaces SET name = COALESCE($2, name), description = COALESCE($3, description),
                visibility = COALESCE($4, visibility), language = COALESCE($5, language),
                moderation = moderation || jsonb_strip_nulls(jsonb_build_object('autoHideThreshold', $6::int, 'premoderation', $7::text,
                  'spamThreshold', $8::float, 'escalation', $9::jsonb)),
                updated_at = now()
          WHERE id = $1 ${SPACE_RETURNING}, moderation`,
        [input.spaceId, input.name ?? null, input.description ?? null, input.visibility ?? null, input.language ?? null,
         input.autoHideThreshold ?? null, input.premoderation ?? null, input.spamThreshold ?? null,
         input.escalationLadder ? JSON.stringify(input.escalationLadder.map((s) => ({ violations: s.violations, action: s.action, hours: s.hours ?? 24 }))) : null],
      );
      // Who may read a space and how it is moderated are rule changes: the moderation log keeps them.
      const after = rows[0] && { visibility: rows[0].visibility, moderation: rows[0].moderation };
      if (before && after && JSON.stringify(before) !== JSON.stringify(after)) {
        await this.audit.append(tx, { actorId: viewer.id, action: 'space.settings', targetType: 'space', targetId: input.spaceId, spaceId: input.spaceId, before, after });
      }
      // Every update is a space.updated (its language, say); a new visibility is also an access change.
      await tx.emit({ type: 'space.updated', aggregateType: 'space', aggregateId: input.spaceId, payload: { spaceId: input.spaceId } });
      if (input.visibility) await tx.emit({ type: 'space.access_changed', aggregateType: 'space', aggregateId: input.spaceId, payload: { spaceId: input.spaceId } });
      return toSpaceModel(rows[0]);
    });
  }

  /**
   * A space's grants, to its admins. A grant to a group the viewer may not see (`seesGroupSql`:
   * a space admin is not a site admin) is listed without the group (`groupHidden`): they run the
   * space and may revoke it (by its id), but the group is not theirs to learn of.
   */
  async grants(viewer: Viewer, spaceId: string): Promise<SpaceGrantModel[] | null> {
    if ((await this.access.rankOn(viewer, spaceId)) < LEVEL_RANK.ADMIN) return null;
    // Batched: an admin's list of spaces asks for each one's grants.
    const rows = await nestedPage(
      viewer,
      'space-grants',
      spaceId,
      (ids): Promise<Array<{ id: string; space_id: string; level: number; group_id: string | null; user_id: string | null; created_at: Date; seen: boolean }>> =>
        this.ds.query(
          `SELECT sg.id, sg.space_id, sg.level, sg.group_id, sg.user_id, sg.created_at,
                  sg.group_id IS NULL OR EXISTS (SELECT 1 FROM groups g WHERE g.id = sg.group_id AND ${SEES_GROUP}) AS seen
             FROM space_grants sg WHERE sg.space_id = ANY($1::uuid[]) ORDER BY sg.created_at, sg.id`,
          [ids, viewer.id, viewer.isAdmin],
        ),
      (r) => r.space_id,
    );
    return rows.map((r) =>
      Object.assign(new SpaceGrantModel(), { id: r.id, level: levelOfRank(r.level), groupId: r.seen ? r.group_id : null, userId: r.user_id, groupHidden: !r.seen, createdAt: r.created_at }),
    );
  }

  /** A grant names one grantee; a revocation may name the grant instead (`grantId`), which a grant cannot. */
  private checkGrantee(input: SpaceGrantInput, revoking: boolean): void {
    if (!revoking && input.grantId) throw AppError.badField('grantId', 'names a grant to revoke: grant to a groupId or a userId');
    const fields = revoking ? (['groupId', 'userId', 'grantId'] as const) : (['groupId', 'userId'] as const);
    if (fields.filter((f) => !!input[f]).length !== 1) {
      const message = `give exactly one of ${fields.join(revoking ? ', ' : ' or ')}`;
      throw AppError.badInput(fields.map((field) => ({ field, message })));
    }
  }

  async grant(viewer: Viewer, input: SpaceGrantInput): Promise<SpaceModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    this.checkGrantee(input, false);
    if (!input.level) throw AppError.badField('level', 'is required to grant access');
    await this.access.require(viewer, input.spaceId, AccessLevel.ADMIN, 'Space not found');
    return this.changingAccess(viewer, async (tx) => {
      await this.holdSpace(tx, viewer, input.spaceId, input.groupId);
      // A group's row is locked (by `holdSpace`, before the admin's rights): a change of its
      // membership (which holds it FOR SHARE, and lets only admins put people in a group that
      // moderates a space) is over before its grant changes, or comes after and sees it. A user's account is held FOR SHARE (as
      // UsersRepository.holdMember): a deleted one is NOT_FOUND, as a missing one, and a deletion
      // under way waits and takes the grant with the account's others. An imported author's
      // placeholder account (which cannot sign in) is NOT_FOUND too, as group admissions refuse it
      // (GroupMemberships.holdAccount).
      const exists = await tx.one<{ ok: boolean }>(
        input.groupId
          ? `SELECT true AS ok FROM groups g WHERE g.id = $1 AND ${SEES_GROUP}`
          : `SELECT true AS ok FROM users WHERE id = $1 AND deleted_at IS NULL AND NOT is_placeholder FOR SHARE`,
        input.groupId ? [input.groupId, viewer.id, viewer.isAdmin] : [input.userId],
      );
      if (!exists?.ok) throw AppError.notFound(input.groupId ? 'Group not found' : 'User not found');
      const conflict = input.groupId ? '(space_id, group_id) WHERE group_id IS NOT NULL' : '(space_id, user_id) WHERE user_id IS NOT NULL';
      const previous = await this.grantLevel(tx, input);
      await tx.query(
        `INSERT INTO space_grants (id, space_id, group_id, user_id, level) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ${conflict} DO UPDATE SET level = EXCLUDED.level`,
        [newId(), input.spaceId, input.groupId ?? null, input.userId ?? null, LEVEL_RANK[input.level!]],
      );
      if (previous !== input.level) await this.logGrant(tx, viewer, 'space.grant', input.spaceId, input, previous, input.level!);
      return this.accessChanged(tx, input.spaceId);
    });
  }

  /**
   * Removes a grant, named by its grantee or by its own id (`grantId`: how a space admin revokes
   * one to a group they may not see, which they cannot name); none there, nothing changes. A
   * group named that the viewer may not see is NOT_FOUND, as a missing one.
   */
  async revoke(viewer: Viewer, input: SpaceGrantInput): Promise<SpaceModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    this.checkGrantee(input, true);
    await this.access.require(viewer, input.spaceId, AccessLevel.ADMIN, 'Space not found');
    return this.changingAccess(viewer, async (tx) => {
      await this.holdSpace(tx, viewer, input.spaceId);
      if (input.groupId && !(await tx.one(`SELECT 1 FROM groups g WHERE g.id = $1 AND ${SEES_GROUP}`, [input.groupId, viewer.id, viewer.isAdmin]))) {
        throw AppError.notFound('Group not found');
      }
      const named = input.grantId ? 'id = $2' : input.groupId ? 'group_id = $2' : 'user_id = $2';
      const grant = await tx.one<{ id: string; level: number; group_id: string | null; user_id: string | null }>(
        `SELECT id, level, group_id, user_id FROM space_grants WHERE space_id = $1 AND ${named} FOR UPDATE`,
        [input.spaceId, input.grantId ?? input.groupId ?? input.userId],
      );
      // None there: nothing changed, and nothing is told (no space.access_changed event).
      if (!grant) return this.spaceOf(tx, input.spaceId);
      await tx.query(`DELETE FROM space_grants WHERE id = $1`, [grant.id]);
      // Logged by its grantee, whichever way it was named (the log's reader hides a group they may not see).
      const grantee = { groupId: grant.group_id ?? undefined, userId: grant.user_id ?? undefined };
      await this.logGrant(tx, viewer, 'space.revoke', input.spaceId, grantee, levelOfRank(grant.level), null);
      return this.accessChanged(tx, input.spaceId);
    });
  }

  /** The level a grant gives now (locked until the transaction ends), or null when there is none. */
  private async grantLevel(tx: Tx, input: SpaceGrantInput): Promise<AccessLevel | null> {
    const row = await tx.one<{ level: number }>(
      `SELECT level FROM space_grants WHERE space_id = $1 AND (group_id = $2 OR user_id = $3) FOR UPDATE`,
      [input.spaceId, input.groupId ?? null, input.userId ?? null],
    );
    return row ? levelOfRank(row.level) : null;
  }

  /** Grants decide who reads and who moderates: each change goes in the moderation log. */
  private logGrant(
    tx: Tx, viewer: Viewer, action: string, spaceId: string, to: { groupId?: string; userId?: string }, before: AccessLevel | null, after: AccessLevel | null,
  ): Promise<void> {
    const grantee = to.groupId ? { groupId: to.groupId } : { userId: to.userId };
    return this.audit.append(tx, {
      actorId: viewer.id, action, targetType: to.groupId ? 'group' : 'user', targetId: to.groupId ?? to.userId ?? null, spaceId,
      before: { ...grantee, level: before }, after: { ...grantee, level: after },
    });
  }

  /** After a change to a space's grants: the event live rooms re-check on, and the space as it is now. */
  private async accessChanged(tx: Tx, spaceId: string): Promise<SpaceModel> {
    await tx.emit({ type: 'space.access_changed', aggregateType: 'space', aggregateId: spaceId, payload: { spaceId } });
    return this.spaceOf(tx, spaceId);
  }

  private async spaceOf(tx: Tx, spaceId: string): Promise<SpaceModel> {
    const row = await tx.one<SpaceRow>(`SELECT ${SPACE_COLUMNS} FROM spaces WHERE id = $1`, [spaceId]);
    return toSpaceModel(row!);
  }

  /**
   * Whether the viewer may still run the space, with their access read now on the change's
   * connection (`SessionsService.viewerNow`), not taken from the request's session: an admin whose
   * grant was revoked, or who was demoted, silenced, barred or suspended, after the check before
   * the transaction changes nothing (NOT_FOUND, FORBIDDEN or UNAUTHENTICATED, as `require`
   * answers). Read once what makes them an admin is held (`holdAdminRights`), after what the
   * change changes was held (`holdSpace`, `updateBoard`).
   */
  private async stillAdmin(tx: Tx, viewer: Viewer, spaceId: string, notFound: string): Promise<void> {
    await this.holdAdminRights(tx, viewer.id!, spaceId);
    await this.access.require(await this.sessions.viewerNow(viewer, tx), spaceId, AccessLevel.ADMIN, notFound);
  }

  /**
   * Holds, until the change commits, the rows that make `userId` an admin (of the site, and of
   * `spaceId` when given), so that the read after this (`viewerNow`, in a statement of its own and
   * so a snapshot taken once these waited) sees a demotion under way, and one asked later waits
   * for the change: read unlocked, a demotion committed between that read and the change's commit
   * was not seen, and the demoted admin's change was saved. Each row with the weakest lock its
   * demotion's lock conflicts with: the account FOR KEY SHARE (setUserRole holds it FOR UPDATE;
   * no stronger, which held the admin's own profile updates); their memberships of groups with an
   * ADMIN grant on the space FOR KEY SHARE (a removal deletes the row; a change of ownership, a
   * plain update, needn't wait); the ADMIN grants reaching them, directly or through those groups,
   * FOR SHARE (a deletion, or a lowering of its level). Grants are changed by this service under
   * the space's row too (`holdSpace`); an account's deletion takes its direct grants and
   * memberships without it. Last, the lock a sanction of theirs takes (`sanctionLockSql`), shared:
   * a sanction is a new row, which no row lock can wait for, so one under way is waited for here
   * (and read after), and one given later waits for the change to commit. A statement of its own,
   * after the one holding what the change changes: its snapshot is taken once that waited, so a
   * grant or a membership made meanwhile is held too (held in that statement, it was not seen).
   * What holds a group and then deletes a membership held here (a removal from the group, a change
   * of address leaving a group of its old domain, `AutomaticGroupsService.syncUser`,
   * `setDomains`, the account's deletion, which holds every group FOR SHARE) would make a cycle
   * with a grant to that group waiting for it: `grant` holds its group first (`holdSpace`), so it
   * waits for those before holding anything here, or they wait for it.
   */
  private async holdAdminRights(tx: Tx, userId: string, spaceId: string | null): Promise<void> {
    await tx.query(
      `WITH account AS (SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE),
            direct AS (SELECT 1 FROM space_grants WHERE space_id = $2 AND user_id = $1 AND level >= $3 FOR SHARE),
            via_groups AS (SELECT 1 FROM space_grants sg JOIN group_members gm ON gm.group_id = sg.group_id AND gm.user_id = $1
                            WHERE sg.space_id = $2 AND sg.level >= $3 FOR SHARE OF sg FOR KEY SHARE OF gm),
            sanction AS (SELECT ${sanctionLockSql('$1', 'shared')})
       SELECT (SELECT count(*) FROM account) + (SELECT count(*) FROM direct) + (SELECT count(*) FROM via_groups) + (SELECT count(*) FROM sanction) AS held`,
      [userId, spaceId, LEVEL_RANK.ADMIN],
    );
  }

  /**
   * The space's row held (`FOR NO KEY UPDATE`: changes to its grants and boards, its knowledge
   * settings, and `update`, one at a time), then `stillAdmin`: of an admin's change and a
   * revocation of their own access racing, the one that comes second reads the first as it
   * committed. Also for a space admin's change made elsewhere (`KnowledgeSettingsService.set`).
   * With `groupId` (a grant to a group), that group's row too, FOR NO KEY UPDATE, in the same
   * statement and before the admin's rights (`holdAdminRights`): a removal of theirs from it
   * (which holds the group, then deletes the membership held there) no longer waits for this
   * while this waits for the group (a deadlock PostgreSQL ended one of).
   */
  async holdSpace(tx: Tx, viewer: Viewer, spaceId: string, groupId?: string): Promise<void> {
    await tx.query(
      groupId
        ? `SELECT (SELECT count(*) FROM (SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE) s)
                + (SELECT count(*) FROM (SELECT 1 FROM groups WHERE id = $2 FOR NO KEY UPDATE) g) AS held`
        : `SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE`,
      groupId ? [spaceId, groupId] : [spaceId],
    );
    await this.stillAdmin(tx, viewer, spaceId, 'Space not found');
  }

  /**
   * Runs a change to spaces or grants; the viewer's own access is then read afresh, in the
   * change's transaction once it wrote (`refreshWithin`): the answer's `viewerAccess` reads nothing
   * after the commit (a pool with no connection free then answered INTERNAL, the change saved).
   */
  private async changingAccess<T>(viewer: Viewer, work: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.uow.run(async (tx) => {
        const result = await work(tx);
        await this.access.refreshWithin(viewer, tx);
        return result;
      });
    } catch (err) {
      // Not saved: what it read of the viewer's access inside is read again, as it stands, if asked.
      this.access.invalidate(viewer);
      throw err;
    } finally {
      viewer.forget(SPACE_SETTINGS_LOADER);
    }
  }

  /**
   * A board's name, slug, description or place in its space, for the space's admins; its kind
   * stays (its contents are of that kind). A board the viewer cannot read is NOT_FOUND.
   */
  async updateBoard(viewer: Viewer, input: UpdateBoardInput): Promise<BoardModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const [board]: Array<{ space_id: string }> = await this.ds.query(`SELECT space_id FROM boards WHERE id = $1`, [input.boardId]);
    if (!board) throw AppError.notFound('Board not found');
    await this.access.require(viewer, board.space_id, AccessLevel.ADMIN, 'Board not found');
    // Nothing to change is a mistake, not an update, as for spaces.
    if (!Object.entries(input).some(([field, value]) => field !== 'boardId' && value !== undefined && value !== null)) {
      throw AppError.badField('boardId', 'give at least one setting to change');
    }
    return this.uow.run(async (tx) => {
      await tx.query(`SELECT 1 FROM boards WHERE id = $1 FOR NO KEY UPDATE`, [input.boardId]);
      await this.stillAdmin(tx, viewer, board.space_id, 'Board not found');
      const rows = await tx.query<BoardRow>(
        `UPDATE boards SET name = COALESCE($2, name), slug = COALESCE($3, slug), description = COALESCE($4, description),
                position = COALESCE($5, position)
          WHERE id = $1
            AND NOT EXISTS (SELECT 1 FROM boards o WHERE o.space_id = boards.space_id AND o.slug = $3 AND o.id <> boards.id)
          RETURNING ${BOARD_COLUMNS}`,
        [input.boardId, input.name ?? null, input.slug ?? null, input.description ?? null, input.position ?? null],
      ).catch((err: unknown) => {
        // Two renames to one slug at once: the unique index decides.
        if ((err as { code?: string }).code === '23505') throw AppError.badField('slug', 'is taken in this space');
        throw err;
      });
      if (!rows[0]) throw AppError.badField('slug', 'is taken in this space');
      await tx.emit({ type: 'board.updated', aggregateType: 'board', aggregateId: input.boardId, payload: { spaceId: rows[0].space_id, boardId: input.boardId } });
      return toBoardModel(rows[0]);
    });
  }

  async createBoard(viewer: Viewer, input: CreateBoardInput): Promise<BoardModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    await this.access.require(viewer, input.spaceId, AccessLevel.ADMIN, 'Space not found');
    return this.uow.run(async (tx) => {
      await this.holdSpace(tx, viewer, input.spaceId);
      const rows = await tx.query<BoardRow>(
        `INSERT INTO boards (id, space_id, kind, slug, name, description, position)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, (SELECT count(*) FROM boards WHERE space_id = $2)))
         ON CONFLICT (space_id, slug) DO NOTHING
         RETURNING ${BOARD_COLUMNS}`,
        [newId(), input.spaceId, input.kind, input.slug, input.name, input.description ?? '', input.position ?? null],
      );
      if (!rows[0]) throw AppError.badField('slug', 'is taken in this space');
      await tx.emit({ type: 'board.created', aggregateType: 'board', aggregateId: rows[0].id, payload: { spaceId: input.spaceId, boardId: rows[0].id } });
      return toBoardModel(rows[0]);
    });
  }
}
