/**
 * How a caller takes a member's sanction lock (`sanctionLockSql`): `exclusive` by what writes a
 * sanction that restricts access, `shared` by a change that must not cross one (two such changes
 * do not wait for each other).
 */
type SanctionLockMode = 'exclusive' | 'shared';

/**
 * SQL calling for the lock that orders a sanction against its member's changes as an admin: a
 * transaction-scoped advisory lock on the member, taken `exclusive` by what
 * writes a sanction that restricts access (`SanctionsService.holdOffAdminChanges`; the escalation
 * ladder for every violation it counts, before its own lock, which a decision giving a sanction
 * takes after this one: the one order both take them in; a ban proposal's APPROVE before the
 * proposal's item, which the ladder opens under it), and `shared`
 * by a space admin's change before it reads its admin again
 * (`SpacesService.holdAdminRights`), by the confirmation of a change
 * of the member's e-mail address (`EmailChangeService.confirm`), and by a
 * password reset (`PasswordsService.resetPassword`, which issues a session), each before it reads
 * whether they stand barred: a suspension or ban given while the change is under way commits after it (and a ban of
 * the address reads the new one; a ban of a reset's account revokes the session the reset
 * issued), and a change that waited for one reads it and is refused. A
 * sanction is a new row, which no row lock of the change's can
 * wait for; and the one row both take, the member's account, a sanction and an admin's change
 * each hold only FOR KEY SHARE (the one stronger lock that conflicts, FOR UPDATE, would also hold
 * off the member's own profile updates and every row written with them as its author, for
 * nothing), and the FOR NO KEY UPDATE a confirmation and a reset hold does not conflict with it either (the
 * address's unique index is on an expression, no key). So of a change and a sanction of its
 * member, the second waits for the first to commit: a sanction given while the change is under
 * way commits after it, and a change that waited for a sanction reads it.
 * `userIdExpr` is the SQL of the member's id (a parameter).
 */
export function sanctionLockSql(userIdExpr: string, mode: SanctionLockMode): string {
  const take = mode === 'exclusive' ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared';
  return `${take}(hashtextextended('parvis:sanctions-of:' || ${userIdExpr}::uuid::text, 0))`;
}
