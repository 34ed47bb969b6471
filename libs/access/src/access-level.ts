import { registerEnumType } from '@nestjs/graphql';

/** What a viewer may do in a space, in increasing order. */
export enum AccessLevel {
  NONE = 'NONE',
  READ = 'READ',
  PARTICIPATE = 'PARTICIPATE',
  MODERATE = 'MODERATE',
  ADMIN = 'ADMIN',
}
registerEnumType(AccessLevel, { name: 'AccessLevel', description: 'What the viewer may do in a space.' });

export const LEVEL_RANK: Record<AccessLevel, number> = {
  NONE: 0,
  READ: 1,
  PARTICIPATE: 2,
  MODERATE: 3,
  ADMIN: 4,
};
const BY_RANK = [AccessLevel.NONE, AccessLevel.READ, AccessLevel.PARTICIPATE, AccessLevel.MODERATE, AccessLevel.ADMIN];
export function levelOfRank(rank: number): AccessLevel {
  return BY_RANK[Math.max(0, Math.min(4, rank))];
}

export type ContentState = 'VISIBLE' | 'PENDING' | 'HIDDEN' | 'DELETED';

/** How much of one piece of content a viewer gets. */
export type ContentView = 'full' | 'placeholder' | 'none';
