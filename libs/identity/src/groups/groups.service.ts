import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { newId } from '../../../core/src/ids';
import { GroupMentionable, GroupModel, GroupRow, toGroupModel } from './group.model';
import { CreateGroupInput, GroupMemberInput, UpdateGroupInput } from './dto/group.inputs';

export const SELECT_GROUP = `SELECT g.id, g.slug, g.name, g.description, g.mentionable, g.created_at,
  (SELECT count(*)::int FROM group_members gm WHERE gm.group_id = g.id) AS member_count FROM groups g`;

/**
 * A group that may be mentioned needs a slug a mention can name: as handles are, 3–30
 * characters (the renderer reads no other `@name`); a longer or shorter one would be
 * mentionable in name only.
 */
function assertMentionable(slug: string, mentionable: GroupMentionable | undefined): void {
  if (mentionable && mentionable !== GroupMentionable.NOBODY && (slug.length < 3 || slug.length > 30)) {
    throw AppError.badField('mentionable', 'a group is @mentioned by its slug, which must then be 3–30 characters long');
  }
}

/** Groups are administered by global admins only. */
@Injectable()
export class GroupsService {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
  ) {}

  private requireAdmin(viewer: Viewer): void {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (!viewer.isAdmin) throw AppError.forbidden('Only admins manage groups');
  }

  async list(viewer: Viewer): Promise<GroupModel[]> {
    this.requireAdmin(viewer);
    const rows: GroupRow[] = await this.ds.query(`${SELECT_GROUP} ORDER BY g.name, g.id`);
    return rows.map(toGroupModel);
  }

  private async get(id: string): Promise<GroupModel> {
    const rows: GroupRow[] = await this.ds.query(`${SELECT_GROUP} WHERE g.id = $1`, [id]);
    if (!rows[0]) throw AppError.notFound('Group not found');
    return toGroupModel(rows[0]);
  }

  async create(viewer: Viewer, input: CreateGroupInput): Promise<GroupModel> {
    this.requireAdmin(viewer);
    assertMentionable(input.slug, input.mentionable);
    const id = newId();
    await this.uow.run(async (tx) => {
      const rows = await tx.query(
        `INSERT INTO groups (id, slug, name, description, mentionable) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (slug) DO NOTHING RETURNING id`,
        [id, input.slug, input.name, input.description ?? '', input.mentionable ?? GroupMentionable.NOBODY],
      );
      if (rows.length === 0) throw AppError.badField('slug', 'is taken');
      await this.audit.append(tx, {
        actorId: viewer.id, action: 'group.create', targetType: 'group', targetId: id, spaceId: null,
        after: { slug: input.slug, name: input.name, mentionable: input.mentionable ?? GroupMentionable.NOBODY },
      });
    });
    return this.get(id);
  }

  /** Renames a group, or changes its description or who may mention it; logged with what it was. */
  async update(viewer: Viewer, input: UpdateGroupInput): Promise<GroupModel> {
    this.requireAdmin(viewer);
    // A field given as null changes nothing, as an absent one.
    if (input.name == null && input.description == null && input.mentionable == null) {
      throw AppError.badInput(['name', 'description', 'mentionable'].map((field) => ({ field, message: 'give at least one of name, description, mentionable' })));
    }
    await this.uow.run(async (tx) => {
      const [before] = await tx.query<{ slug: string; name: string; description: string; mentionable: GroupMentionable }>(
        `SELECT slug, name, description, mentionable FROM groups WHERE id = $1 FOR UPDATE`,
        [input.groupId],
      );
      if (!before) throw AppError.notFound('Group not found');
      const after = { name: input.name ?? before.name, description: input.description ?? before.description, mentionable: input.mentionable ?? before.mentionable };
      assertMentionable(before.slug, after.mentionable);
      if (after.name === before.name && after.description === before.description && after.mentionable === before.mentionable) return; // nothing to change or log
      await tx.query(`UPDATE groups SET name = $2, description = $3, mentionable = $4 WHERE id = $1`, [input.groupId, after.name, after.description, after.mentionable]);
      await this.audit.append(tx, { actorId: viewer.id, action: 'group.update', targetType: 'group', targetId: input.groupId, spaceId: null, before, after });
    });
    return this.get(input.groupId);
  }

  async addMember(viewer: Viewer, input: GroupMemberInput): Promise<GroupModel> {
    this.requireAdmin(viewer);
    await this.assertExists(input);
    await this.uow.run(async (tx) => {
      const added = await tx.query(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING user_id`, [input.groupId, input.userId]);
      if (added.length > 0) await this.logMembership(tx, viewer, 'group.member_add', input);
    });
    return this.get(input.groupId);
  }

  async removeMember(viewer: Viewer, input: GroupMemberInput): Promise<GroupModel> {
    this.requireAdmin(viewer);
    await this.assertExists(input);
    await this.uow.run(async (tx) => {
      const removed = await tx.query(`DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 RETURNING user_id`, [input.groupId, input.userId]);
      if (removed.length === 0) return;
      await this.logMembership(tx, viewer, 'group.member_remove', input);
      // The user may have lost access to the spaces the group holds grants on: live rooms check them again.
      const spaces = await tx.query<{ space_id: string }>(`SELECT DISTINCT space_id FROM space_grants WHERE group_id = $1`, [input.groupId]);
      for (const { space_id: spaceId } of spaces) {
        await tx.emit({ type: 'space.access_changed', aggregateType: 'space', aggregateId: spaceId, payload: { spaceId } });
      }
    });
    return this.get(input.groupId);
  }

  /** Group membership decides what restricted spaces a user reads: every change is in the moderation log. */
  private logMembership(tx: Tx, viewer: Viewer, action: string, input: GroupMemberInput): Promise<void> {
    return this.audit.append(tx, { actorId: viewer.id, action, targetType: 'user', targetId: input.userId, spaceId: null, after: { groupId: input.groupId } });
  }

  private async assertExists(input: GroupMemberInput): Promise<void> {
    const rows: Array<{ g: boolean; u: boolean }> = await this.ds.query(
      `SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1) AS g, EXISTS (SELECT 1 FROM users WHERE id = $2) AS u`,
      [input.groupId, input.userId],
    );
    if (!rows[0].g) throw AppError.notFound('Group not found');
    if (!rows[0].u) throw AppError.notFound('User not found');
  }
}
