import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Discourse-style group owners and self-service membership. Who sees a group and its members
 * (`visibility`: OWNERS by default, what groups were before, so nothing existing becomes
 * visible), how people get in (`joining`: CLOSED by default, admins and owners add them; OPEN,
 * anyone who sees it joins; REQUEST, they ask), which members own it, and the requests to join.
 * A group people join or ask to join by themselves must be visible to them: the CHECK keeps
 * OPEN and REQUEST to SIGNED_IN and PUBLIC groups. At most one request per member and group
 * waits at a time (the partial unique index); decided ones stay, with who decided.
 */
export class GroupMembership1764921600000 implements MigrationInterface {
  name = 'GroupMembership1764921600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE groups
        ADD COLUMN visibility text NOT NULL DEFAULT 'OWNERS' CHECK (visibility IN ('PUBLIC', 'SIGNED_IN', 'MEMBERS', 'OWNERS')),
        ADD COLUMN joining text NOT NULL DEFAULT 'CLOSED' CHECK (joining IN ('CLOSED', 'OPEN', 'REQUEST')),
        ADD CONSTRAINT groups_joining_visible CHECK (joining = 'CLOSED' OR visibility IN ('SIGNED_IN', 'PUBLIC'));
      ALTER TABLE group_members ADD COLUMN owner boolean NOT NULL DEFAULT false;
      -- Group.members' order: owners first, then by when they joined.
      CREATE INDEX group_members_page_idx ON group_members (group_id, owner DESC, created_at, user_id);

      CREATE TABLE group_requests (
        id uuid PRIMARY KEY,
        group_id uuid NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        message text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 500),
        created_at timestamptz NOT NULL DEFAULT now(),
        decided_at timestamptz,
        decided_by uuid REFERENCES users(id) ON DELETE SET NULL,
        accepted boolean,
        CHECK ((decided_at IS NULL) = (accepted IS NULL))
      );
      CREATE UNIQUE INDEX group_requests_pending_key ON group_requests (group_id, user_id) WHERE decided_at IS NULL;
      -- Group.requests: a group's pending requests, oldest (lowest UUIDv7) first.
      CREATE INDEX group_requests_pending_idx ON group_requests (group_id, id) WHERE decided_at IS NULL;
      CREATE INDEX group_requests_user_idx ON group_requests (user_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE group_requests;
      DROP INDEX group_members_page_idx;
      ALTER TABLE group_members DROP COLUMN owner;
      ALTER TABLE groups DROP CONSTRAINT groups_joining_visible, DROP COLUMN joining, DROP COLUMN visibility;
    `);
  }
}
