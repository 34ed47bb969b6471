/**
 * What a member inherits on a topic from its board and its tags, one row per member
 * `(user_id, level)`: MUTED if they muted any of them (muting is never overridden by
 * watching something else), else the closest of their levels: WATCHING, then
 * WATCHING_FIRST_POST, then TRACKING, then NORMAL. `topic` is the SQL of the topic's id.
 */
export function inheritedWatchesSql(topic: string): string {
  return `SELECT w.user_id,
                 CASE WHEN bool_or(w.level = 'MUTED') THEN 'MUTED'
                      ELSE (array_agg(w.level ORDER BY array_position(ARRAY['WATCHING', 'WATCHING_FIRST_POST', 'TRACKING', 'NORMAL'], w.level)))[1] END AS level
            FROM (SELECT bw.user_id, bw.level FROM board_watches bw JOIN topics bt ON bt.board_id = bw.board_id WHERE bt.id = ${topic}
                  UNION ALL
                  SELECT gw.user_id, gw.level FROM topics gt JOIN tag_watches gw ON gw.tag = ANY(gt.tags) WHERE gt.id = ${topic}) w
           GROUP BY w.user_id`;
}

/**
 * Everyone's watch level on a topic as notifications apply it: their own on the topic, else
 * what they inherit from its board and tags (see inheritedWatchesSql). `topic` is the SQL of
 * the topic's id; the rows are `(user_id, level)`, one per user. Every audience that follows
 * watching (replies, idea statuses, article steps) reads it here, so a board's or a tag's
 * WATCHING or MUTED means the same to all of them.
 */
export function effectiveWatchesSql(topic: string): string {
  return `SELECT tw.user_id, tw.level FROM topic_watches tw WHERE tw.topic_id = ${topic}
          UNION ALL
          SELECT i.user_id, i.level FROM (${inheritedWatchesSql(topic)}) i
           WHERE NOT EXISTS (SELECT 1 FROM topic_watches x WHERE x.topic_id = ${topic} AND x.user_id = i.user_id)`;
}

/**
 * Whether the member whose id `viewer` is (SQL) muted topic `t`, as topicLevel and
 * effectiveWatchesSql decide it: their own level on the topic when they set one, else MUTED
 * when they muted its board or any of its tags (see inheritedWatchesSql). Every look-up goes
 * by the member's key, so a list pays three index probes per topic it considers. Leaves
 * muted topics out of the member's topic feeds (TopicFeedExclusions).
 */
export function mutedTopicSql(viewer: string): string {
  return `COALESCE((SELECT tw.level = 'MUTED' FROM topic_watches tw WHERE tw.user_id = ${viewer} AND tw.topic_id = t.id),
    EXISTS (SELECT 1 FROM board_watches bw WHERE bw.user_id = ${viewer} AND bw.board_id = t.board_id AND bw.level = 'MUTED')
    OR EXISTS (SELECT 1 FROM tag_watches gw WHERE gw.user_id = ${viewer} AND gw.tag = ANY(t.tags) AND gw.level = 'MUTED'))`;
}
