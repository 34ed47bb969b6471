import { Tx } from '../../../core/src/database/unit-of-work';

/**
 * Members who left `groupIds` may have lost access to the spaces those groups hold grants on:
 * live rooms there check their connections again (`space.access_changed`, once per space).
 */
export function announceAccessLoss(tx: Tx, groupIds: string[]): Promise<void> {
  return announceForGrants(tx, groupIds, 'space.access_changed');
}

/**
 * Members who came into `groupIds` may have gained access to the spaces those groups hold grants
 * on: live connections go back to the rooms there they were sent away from, if they may read them
 * now (`space.access_gained`, once per space). Nobody loses access, so nothing is re-checked.
 */
export function announceAccessGain(tx: Tx, groupIds: string[]): Promise<void> {
  return announceForGrants(tx, groupIds, 'space.access_gained');
}

async function announceForGrants(tx: Tx, groupIds: string[], type: 'space.access_changed' | 'space.access_gained'): Promise<void> {
  if (!groupIds.length) return;
  const spaces = await tx.query<{ space_id: string }>(`SELECT DISTINCT space_id FROM space_grants WHERE group_id = ANY ($1::uuid[])`, [groupIds]);
  for (const { space_id: spaceId } of spaces) {
    await tx.emit({ type, aggregateType: 'space', aggregateId: spaceId, payload: { spaceId } });
  }
}
