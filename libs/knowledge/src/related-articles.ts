import { Injectable } from '@nestjs/common';
import { AccessService } from '../../access/src/access.service';
import { Viewer } from '../../core/src/graphql/viewer';
import { ForumLoaders } from '../../forum/src/forum.loaders';
import { TopicModel } from '../../forum/src/topics/topic.model';
import { titleTerms } from '../../search/src/query-parser';
import { SearchService } from '../../search/src/search.service';
import { ArticleState } from './articles/article.model';
import { ArticleLoaders } from './articles/article.loaders';

/** Most suggestions one topic asks for. */
export const RELATED_MAX = 10;

/**
 * Published articles that resemble a topic, from search (the primary engine, PostgreSQL when
 * it fails): the viewer's readable spaces are the filter, and every hit is loaded again
 * through the forum's access checks, so drafts, archived articles and articles of spaces the
 * viewer cannot read never come back even from a stale index.
 */
@Injectable()
export class RelatedArticles {
  constructor(
    private readonly search: SearchService,
    private readonly access: AccessService,
    private readonly forum: ForumLoaders,
    private readonly loaders: ArticleLoaders,
  ) {}

  async of(viewer: Viewer, topic: TopicModel, first: number): Promise<TopicModel[]> {
    const spaceIds = await this.access.readableSpaceIds(viewer);
    // Every word of the title counts, none is required (as for similar topics).
    const words = titleTerms(topic.title);
    if (spaceIds.length === 0 || words.length === 0) return [];
    // A search like any other: asking it of a whole list of topics spends the search rate.
    await this.search.charge(viewer);
    const result = await this.search.query({
      query: `${words.join(' ')} `,
      filters: { spaceIds, kinds: ['ARTICLE'], topicsOnly: true },
      sort: 'RELEVANCE',
      limit: first + 1,
      offset: 0,
    });
    const candidates = await Promise.all(
      result.hits
        .filter((h) => h.topicId !== topic.id)
        .map(async (h) => {
          const t = await this.forum.topic(viewer, h.topicId);
          const row = t ? await this.loaders.row(viewer, t.id) : null;
          return t && row && t.state === 'VISIBLE' && row.published_revision_id && row.state !== ArticleState.ARCHIVED ? t : null;
        }),
    );
    return candidates.filter((t): t is TopicModel => t !== null).slice(0, first);
  }
}
