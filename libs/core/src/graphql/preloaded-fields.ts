import { Extensions } from '@nestjs/graphql';
import { defaultFieldResolver, GraphQLFieldResolver, GraphQLSchema, isObjectType } from 'graphql';

const PRELOADED = 'preloaded';

/**
 * Marks a `@ResolveField` whose value the parent may already carry, under the same name,
 * in its `preloaded` object (the topic page loads each post's author and the viewer's own
 * reactions in the page's statement).
 *
 * Nest runs every field resolver through its context pipeline (parameter extraction, pipes,
 * interceptors), a chain of promises per call; on a page of 50 posts that is a hundred
 * chains for values already in memory. `withPreloadedFields` answers such fields from
 * `preloaded` synchronously and calls the resolver only when the value is missing, so
 * whatever sets `preloaded` must store exactly what the resolver would have returned.
 */
export const Preloadable = (): MethodDecorator & ClassDecorator & PropertyDecorator => Extensions({ [PRELOADED]: true });

/** Schema transform: fields marked @Preloadable() read `parent.preloaded[field]` first. */
export function withPreloadedFields(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (!field.extensions?.[PRELOADED]) continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      const name = field.name;
      field.resolve = (source, args, context, info) => {
        const preloaded = (source as { preloaded?: Record<string, unknown> } | null)?.preloaded;
        const value = preloaded?.[name];
        return value !== undefined ? value : resolve(source, args, context, info);
      };
    }
  }
  return schema;
}
