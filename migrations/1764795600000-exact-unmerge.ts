import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What an unmerge gives back: when the merged idea's status last changed before the merge
 * (its place on the roadmap and in RECENTLY_UPDATED), and which of the target's watches the
 * merge copied from it (`via_merge_of`: the merged idea), so those go again. A watch its
 * member sets themselves afterwards is theirs (watchTopic clears the mark).
 */
export class ExactUnmerge1764795600000 implements MigrationInterface {
  name = 'ExactUnmerge1764795600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE ideas ADD COLUMN status_changed_before_merge timestamptz;
      ALTER TABLE topic_watches ADD COLUMN via_merge_of uuid REFERENCES topics(id) ON DELETE SET NULL;
      CREATE INDEX topic_watches_via_merge_idx ON topic_watches (via_merge_of) WHERE via_merge_of IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE topic_watches DROP COLUMN via_merge_of;
      ALTER TABLE ideas DROP COLUMN status_changed_before_merge;
    `);
  }
}
