import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * News of a topic's removal (POST_REMOVED of a first post) was stored with the topic's title
 * and no topic, so it showed that title for ever, whether its recipient could still read the
 * topic or not, and after a retitling too. It is now about its topic (`topic_id`, `data.number`
 * 1), judged by the access rules and titled as the topic is when it is read: the notices already
 * there find their topic through their source (`removed:<post id>:<version>`), and no removal
 * keeps a stored title. Data only; down gives them back their old shape, titled as they are now.
 */
export class TopicRemovalNotices1764946800000 implements MigrationInterface {
  name = 'TopicRemovalNotices1764946800000';

  async up(q: QueryRunner): Promise<void> {
    // Compared as text: a source of another shape never reaches a uuid cast.
    await q.query(`
      UPDATE notifications n SET topic_id = p.topic_id, data = (n.data - 'title') || jsonb_build_object('number', 1)
        FROM posts p
       WHERE n.kind = 'POST_REMOVED' AND n.topic_id IS NULL AND n.post_id IS NULL
         AND p.id::text = split_part(n.source, ':', 2) AND n.source LIKE 'removed:%' AND p.number = 1
    `);
    await q.query(`UPDATE notifications SET data = data - 'title' WHERE kind = 'POST_REMOVED' AND data ? 'title'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE notifications n SET topic_id = NULL, data = (n.data - 'number') || jsonb_build_object('title', t.title)
        FROM topics t
       WHERE n.kind = 'POST_REMOVED' AND n.data->>'number' = '1' AND t.id = n.topic_id
    `);
  }
}
