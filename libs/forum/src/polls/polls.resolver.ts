import { Args, Context, ID, Int, Mutation, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { UserModel } from '../../../identity/src/users/user.model';
import { PostModel } from '../posts/post.model';
import { CreatePollInput, UpdatePollInput, VotePollInput } from './dto/poll.inputs';
import { PollModel, PollOptionModel } from './poll.model';
import { MAX_VOTERS_LISTED, PollsService } from './polls.service';

@Resolver(() => PostModel)
export class PollsResolver {
  constructor(private readonly service: PollsService) {}

  @ResolveField(() => PollModel, { nullable: true, description: 'The post’s poll, if it has one; null for a placeholder.' })
  poll(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<PollModel | null> {
    return this.service.ofPost(ctx.viewer, p);
  }

  @Mutation(() => PollModel, {
    description:
      'Adds a poll to a post: its author or a moderator of the space, while they may edit it. One poll per post (CONFLICT for a second). ' +
      'Options and question are plain text; a bad input is BAD_USER_INPUT and writes nothing. They go through the watched words as a post does: ' +
      'a blocked word, or one that needs approval (nothing holds a poll for it), is BAD_USER_INPUT naming `question` or `options`; a censored word is masked.',
  })
  createPoll(@Args('input') input: CreatePollInput, @Context() ctx: GqlContext): Promise<PollModel> {
    return this.service.create(ctx.viewer, input);
  }

  @Mutation(() => PollModel, {
    description:
      'Replaces a poll’s question, options and settings (as createPoll takes them) while nobody has voted: once someone has, its options are frozen (CONFLICT). ' +
      'Its post’s author or a moderator of the space, while they may edit the post.',
  })
  updatePoll(@Args('input') input: UpdatePollInput, @Context() ctx: GqlContext): Promise<PollModel> {
    return this.service.update(ctx.viewer, input);
  }

  @Mutation(() => PollModel, {
    description:
      'Votes in an open poll, replacing the viewer’s earlier choice: members who may participate in the space, on a visible post they read. ' +
      'A poll they may not read is NOT_FOUND; a silenced or read-only member is FORBIDDEN, and so is a vote in a locked or closed topic but for the space’s moderators.',
  })
  votePoll(@Args('input') input: VotePollInput, @Context() ctx: GqlContext): Promise<PollModel> {
    return this.service.vote(ctx.viewer, input);
  }

  @Mutation(() => PollModel, { description: 'Withdraws the viewer’s vote from an open poll (nothing changes when they had none), where votePoll would take one: not in a locked or closed topic but for the space’s moderators (FORBIDDEN).' })
  unvotePoll(@Args('pollId', { type: () => ID }) pollId: string, @Context() ctx: GqlContext): Promise<PollModel> {
    return this.service.vote(ctx.viewer, { pollId, optionIds: [] }, true);
  }

  @Mutation(() => PollModel, { description: 'Closes a poll: it takes no more votes. Its post’s author or a moderator of the space.' })
  closePoll(@Args('pollId', { type: () => ID }) pollId: string, @Context() ctx: GqlContext): Promise<PollModel> {
    return this.service.setClosed(ctx.viewer, pollId, true);
  }

  @Mutation(() => PollModel, { description: 'Reopens a closed poll (a closing time already past is dropped). Its post’s author or a moderator of the space.' })
  reopenPoll(@Args('pollId', { type: () => ID }) pollId: string, @Context() ctx: GqlContext): Promise<PollModel> {
    return this.service.setClosed(ctx.viewer, pollId, false);
  }

  @Mutation(() => Boolean, {
    description:
      'Removes a poll and its votes: its post’s author or a moderator of the space. True once removed; a poll gone already, ' +
      'even one removed by a request this one waited for, is NOT_FOUND.',
  })
  deletePoll(@Args('pollId', { type: () => ID }) pollId: string, @Context() ctx: GqlContext): Promise<boolean> {
    return this.service.delete(ctx.viewer, pollId);
  }
}

@Resolver(() => PollOptionModel)
export class PollOptionsResolver {
  constructor(private readonly service: PollsService) {}

  @ResolveField(() => [UserModel], {
    nullable: true,
    description: `Who chose this option, first voters first (at most ${MAX_VOTERS_LISTED}): only for a poll with public voters whose results the viewer sees (null otherwise). Deleted accounts show anonymised.`,
  })
  voters(@Parent() o: PollOptionModel, @Args('first', { type: () => Int, defaultValue: 20 }) first: number, @Context() ctx: GqlContext): Promise<UserModel[] | null> {
    return this.service.voters(ctx.viewer, o, first);
  }
}
