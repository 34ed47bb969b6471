import { GraphQLField, GraphQLInputType, getNamedType, isCompositeType, isEnumType, isInputObjectType, isListType, isNonNullType } from 'graphql';
import { newId } from '../../libs/core/src/ids';

/**
 * Values and documents built from the schema the API serves, for tests that walk its root fields
 * (id-arguments, anonymous-mutations): a new resolver is then covered as it is added.
 */

/** A value of the type that GraphQL takes (the input's own checks may refuse it): required input fields filled, to a depth of 4; ids unknown (fresh UUIDv7s). */
export function ofType(type: GraphQLInputType, depth = 0): unknown {
  if (isNonNullType(type)) return ofType(type.ofType, depth);
  if (isListType(type)) return [ofType(type.ofType, depth)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) if (isNonNullType(f.type) && depth < 4) out[f.name] = ofType(f.type, depth + 1);
    return out;
  }
  return ({ ID: newId(), String: 'fuzz', Int: 1, Float: 1, Boolean: false, DateTime: new Date(Date.now() + 86_400_000).toISOString() } as Record<string, unknown>)[type.name];
}

/** The document sending every argument of a root field as a variable, selecting `__typename` of what it returns. */
export function documentOf({ kind, field }: { kind: 'query' | 'mutation'; field: GraphQLField<unknown, unknown> }): string {
  const vars = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${kind}${vars ? `(${vars})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`;
}
