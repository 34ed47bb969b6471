import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { SPACE_SETTINGS_LOADER } from '../../spaces/src/spaces.service';
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
    if (scope.tx || !scope.viewer) {
      const sql = `SELECT moderation FROM spaces WHERE id = $1`;
      const rows: Array<{ moderation: Stored }> = scope.tx ? await scope.tx.query<{ moderation: Stored }>(sql, [spaceId]) : await this.ds.query(sql, [spaceId]);
      return withDefaults(rows[0]?.moderation);
    }
    // Per request, batched: a list of spaces asks for each one's settings.
    const loader = scope.viewer.memoize(SPACE_SETTINGS_LOADER, () => new DataLoader<string, ModerationSettings>(async (ids) => {
      const rows: Array<{ id: string; moderation: Stored }> = await this.ds.query(`SELECT id, moderation FROM spaces WHERE id = ANY($1::uuid[])`, [ids]);
      const byId = new Map(rows.map((r) => [r.id, r.moderation]));
      return ids.map((id) => withDefaults(byId.get(id)));
    }));
    return loader.load(spaceId);
  }
}

type Stored = Record<string, any> | null | undefined;

function withDefaults(m: Stored): ModerationSettings {
  const s = m ?? {};
  return {
    autoHideThreshold: Number(s.autoHideThreshold ?? DEFAULT_AUTO_HIDE_THRESHOLD),
    premoderation: (s.premoderation ?? 'OFF') as Premoderation,
    spamThreshold: Number(s.spamThreshold ?? DEFAULT_SPAM_THRESHOLD),
    escalation: Array.isArray(s.escalation) ? (s.escalation as LadderStep[]) : DEFAULT_LADDER,
  };
}
