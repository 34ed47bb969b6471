import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { htmlToText } from '../../content/src/renderer';
import { SearchDocument, SearchState, searchLanguage } from './search-engine';

interface DocumentRow {
  id: string;
  topic_id: string;
  number: number;
  space_id: string;
  board_id: string;
  kind: string;
  title: string;
  tags: string[];
  body_html: string;
  author_id: string;
  state: SearchState;
  language: string;
  accepted: boolean;
  reactions: number;
  created_at: Date;
  version: string;
}

/**
 * Builds search documents from the forum's rows as they are now. A post's effective
 * state is its own unless its topic is not visible (a reply under a hidden topic is
 * hidden too); its version is the sum of the post's and the topic's versions, which only
 * grow, and the post's `search_offset`, which a move of it raises by as much as the topic it
 * left had a higher version than the one it went to (PostMovesService, migration
 * 1765420200000), so a document built later never carries a lower version, even a moved post's
 * whose topic's version a move of posts readers cannot see leaves as it was (added as bigint:
 * both versions are drawn from one sequence, `content_versions`, and their sum may pass an
 * integer's range).
 */
@Injectable()
export class SearchDocuments {
  constructor(private readonly ds: DataSource) {}

  /** Documents for these posts; ids with no post any more come back in `missing`. */
  async load(postIds: string[]): Promise<{ docs: SearchDocument[]; missing: string[] }> {
    if (postIds.length === 0) return { docs: [], missing: [] };
    const rows: DocumentRow[] = await this.ds.query(`${SELECT} WHERE p.id = ANY($1::uuid[])`, [postIds]);
    const docs = rows.map(toDocument);
    const found = new Set(docs.map((d) => d.id));
    return { docs, missing: postIds.filter((id) => !found.has(id)) };
  }

  /** Post ids in id order after `after`, for rebuilding the index in batches. */
  async idsAfter(after: string | null, limit: number, spaceId?: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.ds.query(
      `SELECT id FROM posts WHERE ($1::uuid IS NULL OR id > $1) AND ($3::uuid IS NULL OR space_id = $3) ORDER BY id LIMIT $2`,
      [after, limit, spaceId ?? null],
    );
    return rows.map((r) => r.id);
  }

  async postIdsOfTopics(topicIds: string[]): Promise<string[]> {
    return (await this.postsOfTopics(topicIds)).map((r) => r.id);
  }

  /** The posts of these topics, with the topic each is in. */
  async postsOfTopics(topicIds: string[]): Promise<Array<{ id: string; topic_id: string }>> {
    if (topicIds.length === 0) return [];
    return this.ds.query(`SELECT id, topic_id FROM posts WHERE topic_id = ANY($1::uuid[])`, [topicIds]);
  }
}

const SELECT = `
  SELECT p.id, p.topic_id, p.number, t.space_id, t.board_id, t.kind, t.title, t.tags, p.body_html, p.author_id,
         CASE WHEN p.state <> 'VISIBLE' THEN p.state ELSE t.state END AS state,
         s.language, (t.accepted_post_id = p.id) IS TRUE AS accepted, p.reaction_total AS reactions, p.created_at,
         (p.version::bigint + t.version + p.search_offset)::text AS version
    FROM posts p
    JOIN topics t ON t.id = p.topic_id
    JOIN spaces s ON s.id = t.space_id`;

/**
 * Text as engines take it: well-formed (a lone surrogate breaks JSON and jsonb) and without
 * control characters (the engines mark highlights with some; a post holding them could forge
 * `<mark>` in its own snippet). Tabs and line breaks stay.
 */
export function searchableText(text: string): string {
  return text
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, ' ');
}

function toDocument(r: DocumentRow): SearchDocument {
  return {
    id: r.id,
    topicId: r.topic_id,
    postNumber: r.number,
    spaceId: r.space_id,
    boardId: r.board_id,
    kind: r.kind,
    title: searchableText(r.title),
    tags: r.tags,
    body: searchableText(htmlToText(r.body_html)),
    authorId: r.author_id,
    state: r.state,
    language: searchLanguage(r.language),
    accepted: r.accepted,
    reactions: r.reactions,
    createdAt: r.created_at,
    version: Number(r.version),
  };
}
