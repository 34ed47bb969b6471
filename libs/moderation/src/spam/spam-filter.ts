import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { Tx } from '../../../core/src/database/unit-of-work';
import { Contribution, PostingCheck, spamReason, Verdict } from '../../../forum/src/posting-policy';
import { SpamClassifier } from './classifier';
import { SpaceModeration } from '../space-moderation';
import { ReportTargetType } from '../reports/review.model';

/** A community's model starts scoring once it has seen this many decisions of each kind. */
export const MIN_SAMPLES_PER_CLASS = 5;

/**
 * The text a contribution is scored on and learnt from: the title and tags say as much as
 * the body (often more, for spam), so a model learns from what it will be asked to score.
 */
export function spamText(c: { title?: string | null; tags?: readonly string[] | null; body: string }): string {
  return [c.title, ...(c.tags ?? []), c.body].filter((x) => x).join('\n');
}

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

  /**
   * Learns from a post as it now stands (for a topic, its first post): its body and, for a
   * first post, the topic's title and tags, as `check` scores them.
   */
  async learnFrom(tx: Tx, spaceId: string | null, target: { type: ReportTargetType.POST | ReportTargetType.TOPIC; id: string }, spam: boolean): Promise<void> {
    const row = await tx.one<{ body_source: string; title: string | null; tags: string[] | null }>(
      `SELECT p.body_source, CASE WHEN p.number = 1 THEN t.title END AS title, CASE WHEN p.number = 1 THEN t.tags END AS tags
         FROM posts p JOIN topics t ON t.id = p.topic_id
        WHERE ${target.type === ReportTargetType.POST ? 'p.id = $1' : 'p.topic_id = $1 AND p.number = 1'}`,
      [target.id],
    );
    if (row) await this.learn(tx, spaceId, spamText({ title: row.title, tags: row.tags, body: row.body_source }), spam);
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
    const score = await this.score(c.spaceId, spamText(c));
    if (score === null) return;
    if (score >= (await this.settings.of(c.spaceId, { viewer: c.viewer })).spamThreshold) {
      verdict.pending = true;
      verdict.reasons.push(spamReason(score));
    }
  }
}
