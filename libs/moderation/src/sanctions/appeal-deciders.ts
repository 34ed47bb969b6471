import { AccessService } from '../../../access/src/access.service';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { ROLE_POWER } from '../../../core/src/graphql/viewer';

/** SQL: the power of a global role (`ROLE_POWER`), for a users row's `role`. */
function powerSql(role: string): string {
  return `(CASE ${role} ${Object.entries(ROLE_POWER).map(([r, p]) => `WHEN '${r}' THEN ${p}`).join(' ')} END)`;
}

/**
 * SQL true while the user `claimant` (SQL naming a user id), who moderates where the sanction
 * `sanctionId` (SQL) was given, may decide its appeal, as the claim and the decision judge them
 * (`assertNotSanctioner`, `SanctionsService.assertMayDecideAppeal`): not the moderator who issued
 * it or whose decision triggered it, nor its member, and one who could lift it (`authorize`): its
 * member no admin, nor, site-wide, of their role or above, nor, in a space, a moderator there who
 * outranks them (a higher role, or the same one and a rank there as high), ranks from roles and
 * grants (`AccessService.baseRankSql`). A sanction not found forbids nothing, as there.
 */
export function mayDecideAppealSql(claimant: string, sanctionId: string): string {
  const target = AccessService.baseRankSql('dt.id', 'dt.role', 'ds.space_id');
  const own = AccessService.baseRankSql('dc.id', 'dc.role', 'ds.space_id');
  const [tp, cp] = [powerSql('dt.role'), powerSql('dc.role')];
  return `NOT EXISTS (SELECT 1 FROM sanctions ds JOIN users dt ON dt.id = ds.user_id JOIN users dc ON dc.id = ${claimant}
      WHERE ds.id = ${sanctionId} AND (dc.id = ds.issued_by OR dc.id = ds.triggered_by OR dc.id = dt.id OR dt.role = 'ADMIN'
        OR CASE WHEN ds.space_id IS NULL THEN ${tp} >= ${cp}
           ELSE ${target} >= ${LEVEL_RANK.MODERATE} AND (${tp} > ${cp} OR (${tp} = ${cp} AND ${target} >= ${own})) END))`;
}
