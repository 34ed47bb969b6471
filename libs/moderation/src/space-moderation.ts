import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Tx } from '../../core/src/database/unit-of-work';
import { Viewer } from '../../core/src/graphql/viewer';

export type Premoderation = 'OFF' | 'NEW_USERS' | 'ALL';

export interface LadderStep {
  /** Upheld violations within the window that trigger this step. */
  violations: number;
  action: 'SILENCE' | 'SUSPEND' | 'PROPOSE_BAN';
  hours?: number;
}

/** About three reports from established (trust level 2) members. */
export const DEFAULT_AUTO_HIDE_THRESHOLD = 8;
export const DEFAULT_SPAM_THRESHOLD = 0.9;
/** Default ladder: 2nd upheld violation in 90 days → 24 h silence, 3rd → 7-day suspension, 4th → a ban proposed to an admin. */
export const DEFAULT_LADDER: LadderStep[] = [
  { violations: 2, action: 'SILENCE', hours: 24 },
  { violations: 3, action: 'SUSPEND', hours: 168 },
  { violations: 4, action: 'PROPOSE_BAN' },
];

export interface ModerationSettings {
  autoHideThreshold: number;
  premoderation: Premoderation;
  spamThreshold: number;
  escalation: LadderStep[];
}

/**
 * A space's moderation settings (spaces.moderation) with the defaults applied, in one
 * place. Read once per request when a viewer is given, however many rules ask.
 */
@Injectable()
export class SpaceModeration {
  constructor(private readonly ds: DataSource) {}

  async of(spaceId: string, scope: { viewer?: Viewer; tx?: Tx } = {}): Promise<ModerationSettings> {
    const load = async () => {
      const rows: Array<{ moderation: Record<string, any> | null }> = scope.tx
        ? await scope.tx.query(`SELECT moderation FROM spaces WHERE id = $1`, [spaceId])
        : await this.ds.query(`SELECT moderation FROM spaces WHERE id = $1`, [spaceId]);
      const m = rows[0]?.moderation ?? {};
      return {
        autoHideThreshold: Number(m.autoHideThreshold ?? DEFAULT_AUTO_HIDE_THRESHOLD),
        premoderation: (m.premoderation ?? 'OFF') as Premoderation,
        spamThreshold: Number(m.spamThreshold ?? DEFAULT_SPAM_THRESHOLD),
        escalation: Array.isArray(m.escalation) ? (m.escalation as LadderStep[]) : DEFAULT_LADDER,
      };
    };
    return scope.viewer ? scope.viewer.memoize(`moderation-settings:${spaceId}`, load) : load();
  }
}
