import { Args, Context, Query, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { SideEffects } from '../../../core/src/graphql/side-effects';
import { UserModel } from '../../../identity/src/users/user.model';
import { SUGGESTIONS_MAX, UserSuggestionsArgs } from './user-suggestion.args';
import { UserSuggestionsService } from './user-suggestions.service';

@Resolver(() => UserModel)
export class UserSuggestionsResolver {
  constructor(private readonly service: UserSuggestionsService) {}

  @Query(() => [UserModel], {
    description:
      `Signed-in members: @mention autocomplete, at most ${SUGGESTIONS_MAX} members whose handle or a word of whose display name starts with \`prefix\`. ` +
      'Those who wrote in `topicId` come first, then an exact handle, handles before names, recent visitors first. ' +
      'Never the viewer, deleted accounts, members barred site-wide, imported placeholders or members the viewer ignores. Rate-limited as search is.',
  })
  @SideEffects() // spends the look-up rate
  userSuggestions(@Args() args: UserSuggestionsArgs, @Context() ctx: GqlContext): Promise<UserModel[]> {
    return this.service.suggest(ctx.viewer, args);
  }
}
