import { Tx } from '../../../core/src/database/unit-of-work';

/**
 * Members who left `groupIds` may have lost access to the spaces those groups hold grants on:
 * live rooms there check their connections again (`space.access_changed`, once per space).
 */
export async function announceAccessLoss(tx: Tx, groupIds: string[]): Promise<void> {
  if (!groupIds.length) return;
  const spaces = await tx.query<{ space_id: string }>(`SELECT DISTINCT space_id FROM space_grants WHERE group_id = ANY ($1::uuid[])`, [groupIds]);
  for (const { space_id: spaceId } of spaces) {
    await tx.emit({ type: 'space.access_changed', aggregateType: 'space', aggregateId: spaceId, payload: { spaceId } });
  }
}
