import { Type } from '@nestjs/common';
import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { UserModel } from './user.model';
import { UsersLoader } from './users.loader';

/**
 * A resolver for a nullable `User` field of a small type (an actor, an author), through the
 * per-request user loader: the parent carries the id, null stays null. Register the returned
 * class as a provider of the module that owns the type.
 */
export function userField<T>(model: Type<T>, field: string, idOf: (parent: T) => string | null, description?: string): Type<unknown> {
  @Resolver(() => model)
  class UserFieldResolver {
    constructor(readonly users: UsersLoader) {}

    @ResolveField(field, () => UserModel, { nullable: true, description })
    resolve(@Parent() parent: T, @Context() ctx: GqlContext) {
      const id = idOf(parent);
      return id ? this.users.load(ctx.viewer, id) : null;
    }
  }
  Object.defineProperty(UserFieldResolver, 'name', { value: `${model.name}${field[0].toUpperCase()}${field.slice(1)}Resolver` });
  return UserFieldResolver;
}
