import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * REACTIONS batches that name someone who has taken their reaction back (withdrawReactor used
 * to take them out of `data.reactors` and leave `actor_id`) name the first reactor left whose
 * account is still there, as the handler now keeps them. Data only: down has nothing to undo,
 * the actor it replaced was wrong.
 */
export class ReactionsActorStillReacting1764813600000 implements MigrationInterface {
  name = 'ReactionsActorStillReacting1764813600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE notifications n
         SET actor_id = (SELECT u.id FROM jsonb_array_elements_text(n.data->'reactors') WITH ORDINALITY AS r(id, i) JOIN users u ON u.id = r.id::uuid ORDER BY r.i LIMIT 1)
       WHERE n.kind = 'REACTIONS' AND n.actor_id IS NOT NULL AND jsonb_typeof(n.data->'reactors') = 'array'
         AND NOT (n.data->'reactors' ? n.actor_id::text)
    `);
  }

  async down(): Promise<void> {
    // Nothing: see above.
  }
}
