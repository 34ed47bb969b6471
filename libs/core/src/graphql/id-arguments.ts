import { defaultFieldResolver, GraphQLField, GraphQLFieldResolver, GraphQLSchema, getNamedType, isListType, isNonNullType, isObjectType } from 'graphql';
import { AppError, FieldError } from '../errors';
import { isUuid } from '../ids';

/** How one `ID` argument of a field is checked: its name, whether it is a list, what a refusal says. */
interface IdArgument {
  name: string;
  list: boolean;
  message: string;
}

/** 'ReviewItem' → 'review item'. */
const words = (typeName: string) => typeName.replace(/(?<=[a-z0-9])(?=[A-Z])/g, ' ').toLowerCase();

/**
 * What an argument's id is of, where the schema says it: `postId` (or `postIds`) a Post's, a bare
 * `id` (`ids`) the type the field returns (`deletePost(id)`, a Post); otherwise just an id
 * (`fromId`, `revisionId`: no type is named so). 'an' before a, e, i, o: a user, an idea.
 */
function messageOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>, arg: string, list: boolean): string {
  const prefix = /^(\w+?)Ids?$/.exec(arg)?.[1];
  const typeName = prefix ? prefix[0].toUpperCase() + prefix.slice(1) : /^ids?$/.test(arg) ? getNamedType(field.type).name : '';
  const type = typeName ? schema.getType(typeName) : undefined;
  const what = type && isObjectType(type) ? `${/^[aeio]/i.test(typeName) ? 'an' : 'a'} ${words(typeName)} id` : 'an id';
  return list ? `each must be ${what}` : `must be ${what}`;
}

/**
 * Schema transform: every field argument of type `ID` (or a list of them) is checked to be a
 * UUID before the field's resolver runs, so that a malformed id (`"abc"`, `""`, 10,000
 * characters) is BAD_USER_INPUT naming the argument, whoever asks and whatever the resolver
 * would do with it: no service looks it up, no rate limit is charged, nothing reaches PostgreSQL
 * (whose `uuid` type would refuse it as an error of its own). It runs where the validation pipe
 * would, before the resolver and so before any sign-in or permission check (there are no guards),
 * the order input objects' checks keep (an input's ids are checked there, by `@IsUUID`).
 *
 * Done on the schema rather than in the pipe because a pipe sees a bare argument as a string and
 * cannot tell an `ID` from a `String` (a handle, a slug); here every resolver that takes an id is
 * covered as it is added. A well-formed id of nothing is still the service's to answer (NOT_FOUND,
 * exactly as a row the viewer may not see). Ids inside input objects are their class's to check.
 */
export function withIdArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const ids: IdArgument[] = [];
      for (const arg of field.args) {
        if (getNamedType(arg.type).name !== 'ID') continue;
        const list = isListType(isNonNullType(arg.type) ? arg.type.ofType : arg.type);
        ids.push({ name: arg.name, list, message: messageOf(schema, field, arg.name, list) });
      }
      if (!ids.length) continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args: Record<string, unknown>, context, info) => {
        const refused = malformedIds(ids, args);
        if (refused.length) throw AppError.badInput(refused);
        return resolve(source, args, context, info);
      };
    }
  }
  return schema;
}

/** The field's `ID` arguments that hold something other than UUIDs (null and absent are GraphQL's to judge). */
function malformedIds(ids: IdArgument[], args: Record<string, unknown>): FieldError[] {
  const out: FieldError[] = [];
  for (const { name, list, message } of ids) {
    const value = args[name];
    if (value === null || value === undefined) continue;
    const ok = list ? Array.isArray(value) && value.every((v) => v === null || isUuid(v)) : isUuid(value);
    if (!ok) out.push({ field: name, message });
  }
  return out;
}
