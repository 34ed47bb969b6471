import { Args, Context, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { GqlContext } from '../../../core/src/graphql/context';
import { SetUserRoleInput } from './dto/set-user-role.input';
import { UserModel } from './user.model';
import { UsersLoader } from './users.loader';
import { UsersService } from './users.service';
import { found } from '../../../core/src/errors';

@Resolver(() => UserModel)
export class UsersResolver {
  constructor(
    private readonly users: UsersService,
    private readonly loader: UsersLoader,
  ) {}

  @Query(() => UserModel, { nullable: true, description: 'The signed-in user; null when anonymous.' })
  me(@Context() ctx: GqlContext): Promise<UserModel | null> | null {
    return ctx.viewer.id ? this.loader.load(ctx.viewer, ctx.viewer.id) : null;
  }

  @Query(() => UserModel, { nullable: true, description: 'A public profile by handle (case-insensitive).' })
  async user(@Args('handle') handle: string): Promise<UserModel | null> {
    return found(await this.users.byHandle(handle), 'User');
  }

  @Mutation(() => UserModel, { description: 'Admins only: change a user’s global role.' })
  setUserRole(@Args('input') input: SetUserRoleInput, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.users.setRole(ctx.viewer, input.userId, input.role);
  }

  @ResolveField(() => String, { nullable: true, description: 'Only for the user themself (as on `me`); null for everybody else, admins included.' })
  email(@Parent() user: UserModel, @Context() ctx: GqlContext): string | null {
    return user.isAuthenticatedSelf || ctx.viewer.id === user.id ? user.emailAddress : null;
  }

  @ResolveField(() => Boolean, {
    nullable: true,
    description:
      'Whether the e-mail address is confirmed: notification e-mails go only to a confirmed one (`verifyEmail`, ' +
      '`resendEmailVerification`). Only for the user themself; null for everybody else.',
  })
  emailVerified(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<boolean> | null {
    return user.isAuthenticatedSelf || ctx.viewer.id === user.id ? this.users.emailVerified(user.id) : null;
  }
}
