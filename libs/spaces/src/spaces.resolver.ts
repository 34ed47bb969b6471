import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AccessLevel } from '../../access/src/access-level';
import type { GqlContext } from '../../core/src/graphql/context';
import { isUuid } from '../../core/src/ids';
import { BoardModel } from './boards/board.model';
import { CreateBoardInput, CreateSpaceInput, SpaceGrantInput, UpdateBoardInput, UpdateSpaceInput } from './dto/space.inputs';
import { SpaceGrantModel } from './spaces/space-grant.model';
import { SpaceModel } from './spaces/space.model';
import { SpacesLoader } from './spaces.loader';
import { SpacesService } from './spaces.service';
import { found } from '../../core/src/errors';

@Resolver(() => SpaceModel)
export class SpacesResolver {
  constructor(
    private readonly service: SpacesService,
    private readonly loader: SpacesLoader,
  ) {}

  @Query(() => [SpaceModel], { description: 'The spaces the viewer may read.' })
  spaces(@Context() ctx: GqlContext): Promise<SpaceModel[]> {
    return this.service.list(ctx.viewer);
  }

  @Query(() => SpaceModel, { nullable: true, description: 'A space the viewer reads, by slug; NOT_FOUND (and null) otherwise.' })
  async space(@Args('slug') slug: string, @Context() ctx: GqlContext): Promise<SpaceModel | null> {
    return found(await this.service.bySlug(ctx.viewer, slug), 'Space');
  }

  @Query(() => BoardModel, { nullable: true, description: 'A board of a space the viewer reads; NOT_FOUND (and null) otherwise.' })
  async board(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext): Promise<BoardModel | null> {
    return found(isUuid(id) ? await this.loader.board(ctx.viewer, id) : null, 'Board');
  }

  @ResolveField(() => AccessLevel, { description: 'What the viewer may do here.' })
  viewerAccess(@Parent() space: SpaceModel, @Context() ctx: GqlContext): Promise<AccessLevel> {
    return this.service.viewerAccess(ctx.viewer, space.id);
  }

  @ResolveField(() => [BoardModel])
  boards(@Parent() space: SpaceModel, @Context() ctx: GqlContext): Promise<BoardModel[]> {
    return this.loader.boardsOf(ctx.viewer, space.id);
  }

  @ResolveField(() => [SpaceGrantModel], { nullable: true, description: 'Who has which access; space admins only (null otherwise). A grant to a group you may not see is listed without it (`groupHidden`).' })
  grants(@Parent() space: SpaceModel, @Context() ctx: GqlContext): Promise<SpaceGrantModel[] | null> {
    return this.service.grants(ctx.viewer, space.id);
  }

  @Mutation(() => SpaceModel, { description: 'Admins only.' })
  createSpace(@Args('input') input: CreateSpaceInput, @Context() ctx: GqlContext): Promise<SpaceModel> {
    return this.service.create(ctx.viewer, input);
  }

  @Mutation(() => SpaceModel, { description: 'Space admins.' })
  updateSpace(@Args('input') input: UpdateSpaceInput, @Context() ctx: GqlContext): Promise<SpaceModel> {
    return this.service.update(ctx.viewer, input);
  }

  @Mutation(() => SpaceModel, { description: 'Space admins: give a group or a user a level (replaces an existing grant). A group you may not see, a deleted account or the placeholder account of an imported author is NOT_FOUND, as a missing one.' })
  grantSpaceAccess(@Args('input') input: SpaceGrantInput, @Context() ctx: GqlContext): Promise<SpaceModel> {
    return this.service.grant(ctx.viewer, input);
  }

  @Mutation(() => SpaceModel, {
    description:
      'Space admins: remove a group’s or a user’s grant, or a grant by its id (`grantId`: how one to a group you may not see is removed; a group you may not see named is NOT_FOUND). None there, nothing changes.',
  })
  revokeSpaceAccess(@Args('input') input: SpaceGrantInput, @Context() ctx: GqlContext): Promise<SpaceModel> {
    return this.service.revoke(ctx.viewer, input);
  }

  @Mutation(() => BoardModel, {
    description:
      'Space admins: a board’s name, slug, description or position (null fields stay as they are; a request that changes nothing ' +
      'is BAD_USER_INPUT). Its kind cannot change. A slug another board of the space has is BAD_USER_INPUT on `slug`.',
  })
  updateBoard(@Args('input') input: UpdateBoardInput, @Context() ctx: GqlContext): Promise<BoardModel> {
    return this.service.updateBoard(ctx.viewer, input);
  }

  @Mutation(() => BoardModel, { description: 'Space admins.' })
  createBoard(@Args('input') input: CreateBoardInput, @Context() ctx: GqlContext): Promise<BoardModel> {
    return this.service.createBoard(ctx.viewer, input);
  }
}

@Resolver(() => BoardModel)
export class BoardsResolver {
  constructor(private readonly loader: SpacesLoader) {}

  @ResolveField(() => SpaceModel)
  space(@Parent() board: BoardModel, @Context() ctx: GqlContext): Promise<SpaceModel | null> {
    return this.loader.space(ctx.viewer, board.spaceId);
  }
}
