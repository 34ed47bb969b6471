import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import DataLoader from 'dataloader';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { SetGroupAutomaticDomainsInput } from './dto/group.inputs';
import { announceAccessGain, announceAccessLoss } from './group-access';
import { GroupMemberships } from './group-memberships';

/** A users row's (`u`) confirmed address's domain, lowercased; null without a confirmed address (or for a deleted account). */
const verifiedDomainSql = (u: string) =>
  `CASE WHEN ${u}.email IS NOT NULL AND ${u}.email_verified_at IS NOT NULL AND ${u}.deleted_at IS NULL AND NOT ${u}.is_placeholder
        THEN lower(split_part(${u}.email, '@', 2)) END`;

/**
 * SQL taking the transaction-scoped advisory lock that orders a group's creation against the
 * changes of confirmed domain under way: `exclusive` by `GroupsService.create`, its first lock,
 * and `shared` by `syncUser` (two changes of address do not wait for each other), held by both
 * until commit. A group made while a change is under way was not in the change's read of the
 * groups, and a list set on it before the change committed read the member's old address: each
 * missed the other (the member was left out of a group at their new domain, or kept in one at their
 * old). Now a creation waits for the changes under way to commit, and a change for a creation under way,
 * whose group it then reads (and holds) as any other. A constant key: creations are rare. A change
 * begun while a creation waits queues behind it (PostgreSQL queues a shared request behind a waiting
 * exclusive one): it waits, through the creation, for the changes begun before it.
 */
export const groupCreationLockSql = (mode: 'exclusive' | 'shared') =>
  `${mode === 'exclusive' ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(hashtextextended('parvis:group-creation', 0))`;

/** How many of the people a change of the list adds (and removes) its moderation-log entry names; it counts them all. */
export const AUTOMATIC_LOG_IDS_MAX = 1000;

/** Why the moderation log says a membership came or went. */
const REASON = 'automatic membership by e-mail domain';

/**
 * Automatic group membership by e-mail domain, as Discourse has it: a group lists domains
 * (`setGroupAutomaticDomains`), and every member whose confirmed address is at one of them is in
 * it: those there when the list is set, and whoever confirms such an address later (a sign-up's
 * link, an admin's invitation, a password reset, a changed address). The memberships the rule
 * made follow it: when the list drops the domain, or the member's confirmed address moves to
 * another domain, they end, and with them what the group's grants opened. People added by hand
 * stay whatever their address, and so do the group's owners (an admin made them so).
 */
@Injectable()
export class AutomaticGroupsService {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly memberships: GroupMemberships,
  ) {}

  /**
   * Runs `write`, which may change a user's confirmed address (confirm it, replace it, reset the
   * password with a link to it), then `syncUser` with the domain it had before: the rule acts
   * only when the confirmed domain changed, so a member an admin or an owner removed, or who
   * left, is not put back by a second confirmation link or a password reset.
   */
  async following<T>(tx: Tx, userId: string, write: () => Promise<T>): Promise<T> {
    const [before] = await tx.query<{ domain: string | null }>(`SELECT ${verifiedDomainSql('u')} AS domain FROM users u WHERE u.id = $1`, [userId]);
    const result = await write();
    await this.syncUser(tx, userId, before?.domain ?? null);
    return result;
  }

  /**
   * After a user's confirmed address changed from one at `before` (null: none confirmed; a new
   * account), in the same transaction: their automatic memberships follow its domain, when it is
   * another one (else nothing changes). The rule's own statements write the rows; GroupMemberships
   * ends the requests of those it takes in and tells of every change, as for any other way in or out.
   */
  async syncUser(tx: Tx, userId: string, before: string | null): Promise<void> {
    // When the domain changed, the same statement takes the creation lock (`groupCreationLockSql`),
    // shared, before the groups are read in a statement of its own (its snapshot taken after the
    // lock): every group is then one this reads and holds, made before, or one made after this commits.
    const [me] = await tx.query<{ domain: string | null }>(
      `SELECT d.domain, CASE WHEN d.domain IS DISTINCT FROM $2::text THEN ${groupCreationLockSql('shared')} END AS held
         FROM (SELECT ${verifiedDomainSql('u')} AS domain FROM users u WHERE u.id = $1) d`,
      [userId, before],
    );
    const domain = me?.domain ?? null;
    if (domain === before) return;
    // Every group is held while it decides, since any group's list may be gaining the domain: a
    // list being set meanwhile (setDomains locks its group FOR UPDATE) waits for this, or this
    // reads it set; either way the member is in or out as the list says. FOR KEY SHARE, the
    // weakest lock FOR UPDATE waits for: a grant being given (FOR NO KEY UPDATE) does not hold up
    // a confirmation, and need not, since the rule takes people in whatever a group's grants (as
    // an admin does). In id order. The caller holds the account (ACCOUNT_LOCK), which setDomains,
    // taking the member in, never waits for: this waiting for its group is no deadlock.
    // No group is made after this statement's snapshot and before this commits: the creation
    // lock, taken above, holds creations off (until 2026-12-07 one made meanwhile was not held,
    // and a list set on it before this committed read the old address: it took the member in by
    // the old domain, kept, or missed them at the new one, left out for good).
    // `ruled`: the groups the member may be in by the rule, and so may leave: those they are in by
    // it (owners too, below), and those listing the domain they had, since a list set while this
    // waited for its group took them in by it after this statement's snapshot, which the
    // membership's read here does not see (the group's row, waited for, is read as it is now).
    const groups = await tx.query<{ id: string; listing: boolean; ruled: boolean }>(
      `SELECT g.id, COALESCE($1::text = ANY (g.automatic_domains), false) AS listing,
              COALESCE($2::text = ANY (g.automatic_domains), false)
                OR g.id IN (SELECT group_id FROM group_members WHERE user_id = $3 AND via_domain IS NOT NULL) AS ruled
         FROM groups g ORDER BY g.id FOR KEY SHARE OF g`,
      [domain, before, userId],
    );
    const listing = groups.filter((g) => g.listing).map((g) => g.id);
    // A loss is announced for the spaces the group holds grants on: the groups to be left are held
    // FOR SHARE, as every other removal holds its group (GroupMemberships.lock), so a grant given
    // meanwhile is read below or waits until the member is out. Before the memberships are
    // touched: a grant to the group holds it (FOR NO KEY UPDATE, `SpacesService.holdSpace`) and
    // then its admin's membership of it (`holdAdminRights`), so a member moving away while they
    // change, as a space admin through the group, its grant, deleted the membership and waited
    // for the group while the grant waited for the membership (a deadlock PostgreSQL ended and
    // UnitOfWork ran again). Now this waits for the grant, or the grant for this, holding neither.
    // The memberships the DELETE below removes are all in groups held here: the rule alone makes
    // them (every group is held above against `setDomains`, and the account by the caller), and
    // the groups the member owns by the rule are held too, so an owner an admin makes a plain
    // member (`GroupMembersService.setOwner`, which holds no account) after this and removed by
    // the DELETE leaves a held group. No such group (the member in none by the rule): no statement.
    const leaving = groups.filter((g) => g.ruled && !g.listing).map((g) => g.id);
    if (leaving.length) await tx.query(`SELECT 1 FROM groups WHERE id = ANY ($1::uuid[]) ORDER BY id FOR SHARE`, [leaving]);
    // The rule's memberships of groups that do not list the domain now (all of them without one).
    const removed = await tx.query<{ group_id: string }>(
      `DELETE FROM group_members WHERE user_id = $1 AND via_domain IS NOT NULL AND NOT owner AND NOT (group_id = ANY ($2::uuid[])) RETURNING group_id`,
      [userId, listing],
    );
    let added: Array<{ group_id: string }> = [];
    if (domain) {
      // A group that lists both the old domain and the new one keeps the member, now by the new one.
      await tx.query(`UPDATE group_members SET via_domain = $2 WHERE user_id = $1 AND via_domain IS NOT NULL AND via_domain <> $2`, [userId, domain]);
      await this.memberships.endRequests(tx, listing, [userId]);
      if (listing.length) {
        added = await tx.query<{ group_id: string }>(
          `INSERT INTO group_members (group_id, user_id, via_domain) SELECT unnest($3::uuid[]), $1, $2 ON CONFLICT DO NOTHING RETURNING group_id`,
          [userId, domain, listing],
        );
      }
    }
    const change = (groupId: string) => ({ groupId, userId, actorId: null, reason: REASON });
    await this.memberships.recordRule(tx, added.map((r) => ({ ...change(r.group_id), details: { domain } })), removed.map((r) => change(r.group_id)));
  }

  /**
   * Admins: the domains whose confirmed addresses put their members in the group. Members with
   * an address at a domain newly listed join at once; those the rule put in for a domain no
   * longer listed leave.
   * One moderation-log entry names the change and everyone it added and removed.
   */
  async setDomains(viewer: Viewer, input: SetGroupAutomaticDomainsInput): Promise<void> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (!viewer.isAdmin) throw AppError.forbidden('Only admins manage groups');
    const domains = [...new Set(input.domains)].sort();
    await this.uow.run(async (tx) => {
      const [group] = await tx.query<{ automatic_domains: string[] }>(`SELECT automatic_domains FROM groups WHERE id = $1 FOR UPDATE`, [input.groupId]);
      if (!group) throw AppError.notFound('Group not found');
      const before = [...group.automatic_domains].sort();
      if (before.join('\n') === domains.join('\n')) return;
      await tx.query(`UPDATE groups SET automatic_domains = $2 WHERE id = $1`, [input.groupId, domains]);
      const removed = await tx.query<{ user_id: string }>(
        `DELETE FROM group_members WHERE group_id = $1 AND via_domain IS NOT NULL AND NOT owner AND NOT (via_domain = ANY ($2::text[])) RETURNING user_id`,
        [input.groupId, domains],
      );
      // Only a domain the list did not hold takes people in: whoever is at one it held already
      // came in when it was listed or when they confirmed, and is out now because they left or
      // were removed, which another change of the list must not undo.
      const listed = domains.filter((d) => !before.includes(d));
      const added = listed.length === 0 ? [] : await tx.query<{ user_id: string }>(
        // The conditions of users_confirmed_domain_idx, spelled as it is, so the index finds them.
        `INSERT INTO group_members (group_id, user_id, via_domain)
         SELECT $1, u.id, lower(split_part(u.email, '@', 2)) FROM users u
          WHERE lower(split_part(u.email, '@', 2)) = ANY ($2::text[])
            AND u.email IS NOT NULL AND u.email_verified_at IS NOT NULL AND u.deleted_at IS NULL AND NOT u.is_placeholder
         ON CONFLICT DO NOTHING RETURNING user_id`,
        [input.groupId, listed],
      );
      // Their waiting requests end after they are in: a decision holds the group FOR SHARE, which this waited for.
      await this.memberships.endRequests(tx, [input.groupId], added.map((r) => r.user_id));
      await this.audit.append(tx, {
        actorId: viewer.id, action: 'group.automatic_domains', targetType: 'group', targetId: input.groupId, spaceId: null,
        before: { domains: before },
        // A whole company can come in at once: the entry names the first of them, and how many.
        after: {
          domains,
          added: added.slice(0, AUTOMATIC_LOG_IDS_MAX).map((r) => r.user_id), addedCount: added.length,
          removed: removed.slice(0, AUTOMATIC_LOG_IDS_MAX).map((r) => r.user_id), removedCount: removed.length,
        },
      });
      if (removed.length) await announceAccessLoss(tx, [input.groupId]);
      if (added.length) await announceAccessGain(tx, [input.groupId]);
    });
  }

  /** Group.automaticDomains, for every group a request asks it of in one statement. */
  domainsOf(viewer: Viewer, groupId: string): Promise<string[]> {
    const loader = viewer.memoize('loader:groupDomains', () => new DataLoader<string, string[]>(async (ids) => {
      const rows: Array<{ id: string; automatic_domains: string[] }> = await this.ds.query(`SELECT id, automatic_domains FROM groups WHERE id = ANY ($1::uuid[])`, [ids]);
      const byId = new Map(rows.map((r) => [r.id, r.automatic_domains]));
      return ids.map((id) => byId.get(id) ?? []);
    }));
    return loader.load(groupId);
  }
}
