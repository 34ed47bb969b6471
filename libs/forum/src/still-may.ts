import { AccessLevel } from '../../access/src/access-level';
import { AccessService } from '../../access/src/access.service';
import { Viewer } from '../../core/src/graphql/viewer';

/**
 * The rank `viewer` acts with once their write held its topic or post in `heldSpaceId` (the row
 * as the write locked or updated it): `rank`, judged where they read it (`readSpaceId`), while it
 * is still there; else `level` required again in the space a move committed meanwhile took it to
 * (a moderator of the space it left moderates nothing in the new one, and one who may not read
 * it is NOT_FOUND there), then `rule` when given. Either throws to refuse: the caller's
 * transaction rolls back.
 */
export async function stillMay(
  access: AccessService,
  viewer: Viewer,
  readSpaceId: string,
  heldSpaceId: string,
  level: AccessLevel,
  rank: number,
  rule?: (rank: number) => number,
): Promise<number> {
  if (heldSpaceId === readSpaceId) return rank;
  const held = await access.require(viewer, heldSpaceId, level);
  return rule ? rule(held) : held;
}
