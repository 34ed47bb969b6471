import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { Tx } from '../../../core/src/database/unit-of-work';
import { Contribution, PostingCheck, Verdict } from '../../../forum/src/posting-policy';
import { SpamClassifier } from './classifier';
import { SpaceModeration } from '../space-moderation';

/** A community's model starts scoring once it has seen this many decisions of each kind. */
export const MIN_SAMPLES_PER_CLASS = 5;

/**
 * Per-community spam models: they learn from moderators' decisions (content upheld as
 * SPAM, content approved or wrongly reported) and score new posts from members below
 * trust level 2; a post scoring above the space's threshold is held for approval.
 */
@Injectable()
export class SpamFilter implements PostingCheck {
  readonly name = 'spam-filter';
  /** Deserialised models, reloaded when the stored one changes. */
  private readonly cache = new Map<string, { updatedAt: number; model: SpamClassifier }>();

  constructor(
    private readonly ds: DataSource,
    private readonly settings: SpaceModeration,
  ) {}

  async learn(tx: Tx, spaceId: string | null, text: string, spam: boolean): Promise<void> {
    if (!spaceId || !text.trim()) return;
    const row = await tx.one<{ model: unknown }>(`SELECT model FROM spam_models WHERE space_id = $1 FOR UPDATE`, [spaceId]);
    const model = row ? SpamClassifier.fromJSON(row.model as never) : new SpamClassifier();
    model.learn(text, spam);
    const json = model.toJSON();
    await tx.query(
      `INSERT INTO spam_models (space_id, model, ham, spam, updated_at) VALUES ($1, $2, $3, $4, clock_timestamp())
       ON CONFLICT (space_id) DO UPDATE SET model = EXCLUDED.model, ham = EXCLUDED.ham, spam = EXCLUDED.spam, updated_at = EXCLUDED.updated_at`,
      [spaceId, JSON.stringify(json), json.samples.ham, json.samples.spam],
    );
  }

  /** Probability of spam, or null while the community's model has seen too little. */
  async score(spaceId: string, text: string): Promise<number | null> {
    const [meta] = await this.ds.query(`SELECT updated_at, ham, spam FROM spam_models WHERE space_id = $1`, [spaceId]);
    if (!meta || meta.ham < MIN_SAMPLES_PER_CLASS || meta.spam < MIN_SAMPLES_PER_CLASS) return null;
    const stamp = new Date(meta.updated_at).getTime();
    let cached = this.cache.get(spaceId);
    if (!cached || cached.updatedAt !== stamp) {
      const [row] = await this.ds.query(`SELECT model FROM spam_models WHERE space_id = $1`, [spaceId]);
      cached = { updatedAt: stamp, model: SpamClassifier.fromJSON(row.model) };
      this.cache.set(spaceId, cached);
    }
    return cached.model.score(text);
  }

  async check(c: Contribution, verdict: Verdict): Promise<void> {
    if (c.rank >= LEVEL_RANK.MODERATE || (c.viewer.user?.trustLevel ?? 0) >= 2) return;
    // The title and tags say as much as the body (often more, for spam).
    const score = await this.score(c.spaceId, [c.title, ...(c.tags ?? []), c.body].filter((x) => x).join('\n'));
    if (score === null) return;
    if (score >= (await this.settings.of(c.spaceId, { viewer: c.viewer })).spamThreshold) {
      verdict.pending = true;
      verdict.reasons.push(`looks like spam (score ${score.toFixed(2)})`);
    }
  }
}
