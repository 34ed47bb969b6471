/**
 * Everyone's watch level on a topic as notifications apply it: their own on the topic, else
 * theirs on its board. `topic` is the SQL of the topic's id; the rows are `(user_id, level)`,
 * one per user. Every audience that follows watching (replies, idea statuses, article steps)
 * reads it here, so a board's WATCHING or MUTED means the same to all of them.
 */
export function effectiveWatchesSql(topic: string): string {
  return `SELECT tw.user_id, tw.level FROM topic_watches tw WHERE tw.topic_id = ${topic}
          UNION ALL
          SELECT bw.user_id, bw.level FROM board_watches bw JOIN topics bt ON bt.board_id = bw.board_id
           WHERE bt.id = ${topic} AND NOT EXISTS (SELECT 1 FROM topic_watches x WHERE x.topic_id = ${topic} AND x.user_id = bw.user_id)`;
}
