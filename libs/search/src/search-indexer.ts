import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxEvent, OutboxHandler } from '../../core/src/outbox/outbox';
import { SearchDocuments } from './search-documents';
import { SearchEngines } from './search-engines';

const BATCH = 500;

/**
 * The outbox events the indexer consumes: every post and topic change, reaction counts, and
 * space updates (a new language re-stems the space). Access changes need nothing: queries
 * filter by the viewer's spaces as they are now. `SearchAdmin.status` counts the backlog
 * with the same list.
 */
export const INDEXED_EVENT_PREFIXES = ['post.', 'topic.'] as const;
export const INDEXED_EVENT_TYPES = ['reaction.updated', 'space.updated'] as const;

/** Events that change who may see a topic or a post (as `SearchService` leaves topics in flux out). */
export const AUDIENCE_EVENT_TYPES = ['topic.moved', 'topic.hidden', 'topic.deleted', 'topic.pending', 'post.hidden', 'post.deleted', 'post.pending', 'post.moved'];

export function isIndexedEvent(type: string): boolean {
  return INDEXED_EVENT_PREFIXES.some((p) => type.startsWith(p)) || (INDEXED_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * Keeps the index in step with the forum (an outbox consumer, so delivery is at least
 * once). Every event is turned into "re-read these posts now and write what they are":
 * repeating it is harmless, and the engines drop documents older than the stored ones.
 * Hidden, pending and deleted posts stay in the index with their state, so moderators
 * can find them; everyone else's queries filter them out. Permission changes need no
 * work here: each query is filtered by the viewer's readable spaces as they are now.
 */
@Injectable()
export class SearchIndexer implements OutboxHandler {
  readonly name = 'search';
  private readonly log = new Logger('SearchIndexer');

  constructor(
    private readonly ds: DataSource,
    private readonly documents: SearchDocuments,
    private readonly engines: SearchEngines,
  ) {}

  handles(type: string): boolean {
    return isIndexedEvent(type);
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    const postIds = new Set<string>();
    const topicIds = new Set<string>();
    const spaceIds = new Set<string>();
    // The posts whose audience the batch changed, for the external engine's queue.
    const audiencePosts = new Set<string>();
    const audienceTopics = new Set<string>();
    for (const e of events) {
      const audience = AUDIENCE_EVENT_TYPES.includes(e.type);
      // A move names the posts it moved (`post.moved`, one event per move), filed anew here with
      // their audience; the move's `topic.updated` of both topics (written when a visible post
      // moved, which changes them) re-files those topics' posts too.
      const named = e.type === 'post.moved' && Array.isArray(e.payload.posts) ? (e.payload.posts as Array<{ postId?: unknown }>).map((m) => m.postId).filter((id): id is string => typeof id === 'string') : null;
      if (named) {
        for (const id of named) {
          postIds.add(id);
          if (audience) audiencePosts.add(id);
        }
      } else if (e.aggregateType === 'space') spaceIds.add(String(e.payload.spaceId ?? e.aggregateId));
      else if (e.aggregateType === 'topic') {
        topicIds.add(e.aggregateId);
        if (audience) audienceTopics.add(e.aggregateId);
      } else {
        const postId = typeof e.payload.postId === 'string' ? e.payload.postId : e.aggregateType === 'post' ? e.aggregateId : null;
        if (postId) {
          postIds.add(postId);
          if (audience) audiencePosts.add(postId);
        }
      }
    }
    for (const id of spaceIds) await this.relanguage(id);
    // A topic's title, tags, kind, state or accepted answer shows in every one of its posts.
    for (const p of await this.documents.postsOfTopics([...topicIds])) {
      postIds.add(p.id);
      if (audienceTopics.has(p.topic_id)) audiencePosts.add(p.id);
    }
    await this.index([...postIds], audiencePosts);
  }

  /**
   * Re-reads the posts and writes them to PostgreSQL now, and queues them for the external
   * engine (those in `audience` marked as changing who may see them).
   */
  async index(postIds: string[], audience: ReadonlySet<string> = new Set()): Promise<number> {
    let written = 0;
    for (let i = 0; i < postIds.length; i += BATCH) {
      const ids = postIds.slice(i, i + BATCH);
      const { docs, missing } = await this.documents.load(ids);
      await this.engines.postgres.upsert(docs);
      await this.engines.postgres.remove(missing);
      if (this.engines.external) await this.enqueue(ids, ids.filter((id) => audience.has(id)));
      written += docs.length;
    }
    return written;
  }

  async enqueue(postIds: string[], audience: string[] = []): Promise<void> {
    await this.ds.query(
      `INSERT INTO search_sync_queue (post_id, audience) SELECT id, id = ANY($2::uuid[]) FROM unnest($1::uuid[]) AS id ORDER BY 1
       ON CONFLICT (post_id) DO UPDATE SET queued_at = now(), available_at = now(), attempts = 0,
                                           audience = search_sync_queue.audience OR EXCLUDED.audience`,
      [postIds, audience],
    );
  }

  /** A space's language changed: its documents are stemmed anew (only when any carries the old language). */
  private async relanguage(spaceId: string): Promise<void> {
    const [row] = await this.ds.query(
      `SELECT EXISTS (SELECT 1 FROM search_documents d JOIN spaces s ON s.id = d.space_id
                       WHERE d.space_id = $1 AND d.language <> CASE WHEN s.language IN ('en', 'fr') THEN s.language ELSE 'simple' END) AS stale`,
      [spaceId],
    );
    if (!row?.stale) return;
    let after: string | null = null;
    for (;;) {
      const ids = await this.documents.idsAfter(after, BATCH, spaceId);
      if (ids.length === 0) break;
      await this.index(ids);
      after = ids[ids.length - 1];
    }
    this.log.log(`space ${spaceId}: documents re-indexed under its new language`);
  }
}
