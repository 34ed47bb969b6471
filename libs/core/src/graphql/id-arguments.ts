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
 * What an argument's id is of, as the schema names it: `postId` (`postIds`) a Post's; a bare `id`
 * (`ids`) the type the field returns (`deletePost(id)`, a Post); else the one type named so at its
 * end whose rest the field's name holds (`publishArticle(revisionId)`, an ArticleRevision, not a
 * PostRevision); else the longest type the field's name holds (`articleRevisionDiff(fromId)`, an
 * ArticleRevision; `markNotificationsRead(ids)`, a Notification). Null where none is.
 */
function kindOf(schema: GraphQLSchema, types: readonly string[], field: GraphQLField<unknown, unknown>, arg: string): string | null {
  const objectType = (name: string) => isObjectType(schema.getType(name));
  const prefix = /^(\w+?)Ids?$/.exec(arg)?.[1];
  const named = prefix ? prefix[0].toUpperCase() + prefix.slice(1) : getNamedType(field.type).name;
  if ((prefix || /^ids?$/.test(arg)) && objectType(named)) return named;
  const fieldName = field.name.toLowerCase();
  const ending = prefix ? types.filter((t) => t !== named && t.endsWith(named) && fieldName.includes(t.slice(0, -named.length).toLowerCase())) : [];
  if (ending.length === 1) return ending[0];
  const held = types.filter((t) => fieldName.includes(t.toLowerCase())).sort((a, b) => b.length - a.length);
  return held.length && (held.length === 1 || held[0].length > held[1].length) ? held[0] : null;
}

/** The names of the schema's object types an id can be of (not its roots, not introspection's), read once per schema. */
function idKinds(schema: GraphQLSchema): string[] {
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  return Object.values(schema.getTypeMap()).filter((t) => isObjectType(t) && !t.name.startsWith('__') && !roots.includes(t)).map((t) => t.name);
}

/** 'must be a topic id', 'each must be an article revision id' ('an' before a, e, i, o: a user, an idea). */
function messageOf(schema: GraphQLSchema, types: readonly string[], field: GraphQLField<unknown, unknown>, arg: string, list: boolean): string {
  const kind = kindOf(schema, types, field, arg);
  const what = kind ? `${/^[aeio]/i.test(kind) ? 'an' : 'a'} ${words(kind)} id` : 'an id';
  return list ? `each must be ${what}` : `must be ${what}`;
}

/**
 * Schema transform: every field argument of type `ID` (or a list of them) is checked to be a
 * UUID (`isUuid`, ids.ts: the rule an input's `@IsUUID(ID_VERSION)` applies) before the field's
 * resolver runs, so that a malformed id (`"abc"`, `""`, 10,000 characters, a version 0) is BAD_USER_INPUT naming the argument, whoever asks and whatever the resolver
 * would do with it: no service looks it up, no rate limit is charged, nothing reaches PostgreSQL
 * (whose `uuid` type would refuse it as an error of its own). It runs where the validation pipe
 * would, before the resolver and so before any sign-in or permission check (there are no guards),
 * the order input objects' checks keep (an input's ids are checked there, by `@IsUUID`).
 *
 * Done on the schema rather than in the pipe because a pipe sees a bare argument as a string and
 * cannot tell an `ID` from a `String` (a handle, a slug); here every resolver that takes an id is
 * covered as it is added. A well-formed id of nothing is still the service's to answer (NOT_FOUND,
 * exactly as a row the viewer may not see). Ids inside input objects are their class's to check (`@IsUUID`), and the validation pipe
 * hands them on in lower case (lowerCaseInputIds).
 */
export function withIdArguments(schema: GraphQLSchema): GraphQLSchema {
  const types = idKinds(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const ids: IdArgument[] = [];
      for (const arg of field.args) {
        if (getNamedType(arg.type).name !== 'ID') continue;
        const list = isListType(isNonNullType(arg.type) ? arg.type.ofType : arg.type);
        ids.push({ name: arg.name, list, message: messageOf(schema, types, field, arg.name, list) });
      }
      if (!ids.length) continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args: Record<string, unknown>, context, info) => {
        const refused = malformedIds(ids, args);
        if (refused.length) throw AppError.badInput(refused);
        return resolve(source, asWritten(ids, args), context, info);
      };
    }
  }
  return schema;
}

/**
 * The arguments with their ids as the API writes them, in lower case: PostgreSQL reads
 * 'ABC…' as 'abc…', but a service comparing an id with the viewer's or a row's as text did not
 * (`ignoreUser` of one's own id in capitals passed 'you cannot ignore yourself' and failed
 * INTERNAL on the table's check), nor does a live room's name.
 */
function asWritten(ids: IdArgument[], args: Record<string, unknown>): Record<string, unknown> {
  const out = { ...args };
  for (const { name } of ids) {
    const value = out[name];
    if (typeof value === 'string') out[name] = value.toLowerCase();
    else if (Array.isArray(value)) out[name] = value.map((v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
  }
  return out;
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
