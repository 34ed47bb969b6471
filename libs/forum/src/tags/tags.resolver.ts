import { Args, Context, Query, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { TagCountModel, TagsArgs } from './tag.model';
import { TagsService } from './tags.service';

@Resolver(() => TagCountModel)
export class TagsResolver {
  constructor(private readonly service: TagsService) {}

  @Query(() => [TagCountModel], {
    description:
      'Tags in use in the spaces the viewer reads, most used first (then by name), each with how many visible topics carry it there; ' +
      '`prefix` narrows them for a tag picker. Topics the viewer could see only as author or moderator (pending, hidden, unpublished) are not counted.',
  })
  tags(@Args() args: TagsArgs, @Context() ctx: GqlContext): Promise<TagCountModel[]> {
    return this.service.list(ctx.viewer, args);
  }
}
