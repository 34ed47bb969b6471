import { Args, Context, Info, Query, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import { Kind } from 'graphql';
import type { GqlContext } from '../../core/src/graphql/context';
import { searchOf } from '../../core/src/graphql/limits';
import { DEFAULT_PAGE_SIZE } from '../../core/src/graphql/pagination';
import { SideEffects } from '../../core/src/graphql/side-effects';
import { TopicModel } from '../../forum/src/topics/topic.model';
import { SearchArgs, SearchConnectionModel, SimilarTopicsArgs } from './search.model';
import { SearchService } from './search.service';

/** Whether the query selects `field` directly under this one (fragments count as maybe). */
function selects(info: GraphQLResolveInfo, field: string): boolean {
  const walk = (set: SelectionSetNode | undefined): boolean =>
    !!set?.selections.some((s) => (s.kind === Kind.FIELD ? s.name.value === field : s.kind === Kind.INLINE_FRAGMENT ? walk(s.selectionSet) : true));
  return info.fieldNodes.some((n) => walk(n.selectionSet));
}

@Resolver()
export class SearchResolver {
  constructor(private readonly search: SearchService) {}

  @Query(() => SearchConnectionModel, {
    name: 'search',
    description: 'Every contribution the viewer may read that matches, with highlights and facets (counted only when asked for).',
    complexity: searchOf(DEFAULT_PAGE_SIZE),
  })
  @SideEffects() // spends the search rate
  searchContributions(@Args() args: SearchArgs, @Context() ctx: GqlContext, @Info() info: GraphQLResolveInfo): Promise<SearchConnectionModel> {
    return this.search.search(ctx.viewer, args, { facets: selects(info, 'facets') });
  }

  @Query(() => [TopicModel], { description: 'Existing topics resembling a title being typed, best first. Archived knowledge-base articles are not suggested, with a board or without.', complexity: searchOf(5) })
  @SideEffects() // spends the search rate
  similarTopics(@Args() args: SimilarTopicsArgs, @Context() ctx: GqlContext): Promise<TopicModel[]> {
    return this.search.similarTopics(ctx.viewer, args);
  }
}
