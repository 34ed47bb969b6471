import { AuditLog } from '../../core/src/audit/audit-log';
import { Tx } from '../../core/src/database/unit-of-work';

/** One side of a move as its log entry names it: the space, the entry's target there, and what that side's state says. */
export interface MoveSide {
  spaceId: string;
  targetId: string;
  state: Record<string, unknown>;
}

/**
 * A moderator's move of content (`topic.move`, `posts.move`): `from` is the side it left (its
 * state as it was), `to` the side it reached (its state now); `common` is what both sides'
 * moderators may read (how many posts moved), added to each entry's `after`.
 */
export interface MoveEntry {
  actorId: string | null;
  action: string;
  targetType: string;
  from: MoveSide;
  to: MoveSide;
  common?: Record<string, unknown>;
  /** Why, when not the mover's own act (`topic timer: PUBLISH_TO_BOARD`): on each entry. */
  reason?: string;
}

/** What an entry says of the side its readers may not see (a timer's log entry says it of the board it publishes to). */
export const ANOTHER_SPACE = { anotherSpace: true } as const;

/**
 * Logs a move. Within a space: one entry, on `to`'s target, with both sides. Across spaces: one
 * in each space, the source's first, so each space's moderators see content leave or arrive
 * (Discourse and Khoros moderators see a split from either side). Each carries its own side
 * alone and `{ anotherSpace: true }` for the other: a space's moderators may not read the other
 * space, and its log would otherwise hand them its ids, board and titles (`moderationLog` shows
 * `before` and `after` as they are stored). A reader of both sees both entries, which name the
 * same moved content (the topic, or the posts' ids).
 */
export async function appendMove(audit: AuditLog, tx: Tx, m: MoveEntry): Promise<void> {
  const entry = { actorId: m.actorId, action: m.action, targetType: m.targetType, reason: m.reason ?? null };
  if (m.from.spaceId === m.to.spaceId) {
    await audit.append(tx, { ...entry, targetId: m.to.targetId, spaceId: m.to.spaceId, before: m.from.state, after: { ...m.to.state, ...m.common } });
    return;
  }
  await audit.append(tx, { ...entry, targetId: m.from.targetId, spaceId: m.from.spaceId, before: m.from.state, after: { ...ANOTHER_SPACE, ...m.common } });
  await audit.append(tx, { ...entry, targetId: m.to.targetId, spaceId: m.to.spaceId, before: ANOTHER_SPACE, after: { ...m.to.state, ...m.common } });
}
