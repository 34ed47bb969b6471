import { isUUID } from 'class-validator';
import { v7 } from 'uuid';

/** Time-ordered UUIDv7: sorts by creation, which keeps B-tree inserts and keyset pages cheap. */
export function newId(): string {
  return v7();
}

/**
 * The one rule for what an id is, wherever one comes in: class-validator's `'all'` (a version 1
 * to 8 and RFC 9562's variant, 8, 9, a or b; or the nil or the max UUID), in either case. Every
 * input class checks its ids with `@IsUUID(ID_VERSION)`, and `isUuid` below (bare `ID` arguments,
 * cursors, live room events, services) answers the same, so an id refused as an argument is
 * refused inside a cursor or a socket event too. Every id Parvis makes (newId, PostgreSQL's
 * gen_random_uuid) passes it.
 */
export const ID_VERSION = 'all';

/** Whether `value` is an id by the rule above (ID_VERSION). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && isUUID(value, ID_VERSION);
}
