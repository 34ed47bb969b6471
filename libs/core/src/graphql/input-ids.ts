import { getMetadataStorage } from 'class-validator';
import { isUuid } from '../ids';

/** class-validator's name for `@IsUUID`'s check (IS_UUID). */
const IS_UUID = 'isUuid';

/** The properties each input class (its parents' too) checks with `@IsUUID`, read once. */
const idsOf = new WeakMap<object, readonly string[]>();

function idPropertiesOf(target: object): readonly string[] {
  let ids = idsOf.get(target);
  if (!ids) {
    const checks = getMetadataStorage().getTargetValidationMetadatas(target as () => void, '', true, false);
    ids = [...new Set(checks.filter((c) => c.name === IS_UUID).map((c) => c.propertyName))];
    idsOf.set(target, ids);
  }
  return ids;
}

const lower = (v: unknown) => (isUuid(v) ? v.toLowerCase() : v);

/**
 * Writes every `@IsUUID` value of validated arguments (one, or each of a list) in lower case, in
 * place, through nested inputs (and lists of them) as class-transformer made them: a UUID in
 * capitals passes `@IsUUID(ID_VERSION)`, and PostgreSQL reads it as the same id, but services compare
 * ids as text (`userId === viewer.id`, loaders keyed by id, `includes()` of permitted spaces), so
 * the API hands them on as it writes them, as withIdArguments does bare `ID` arguments. Only a
 * value shaped as a UUID is touched (one a condition let through unchecked stays as sent).
 */
export function lowerCaseInputIds(value: unknown, depth = 0): void {
  if (typeof value !== 'object' || value === null || depth > 16) return;
  if (Array.isArray(value)) {
    for (const v of value) lowerCaseInputIds(v, depth + 1);
    return;
  }
  const target = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor;
  if (typeof target !== 'function' || target === Object) return;
  const args = value as Record<string, unknown>;
  for (const p of idPropertiesOf(target)) {
    const v = args[p];
    if (typeof v === 'string') args[p] = lower(v);
    else if (Array.isArray(v)) args[p] = v.map(lower);
  }
  for (const v of Object.values(args)) lowerCaseInputIds(v, depth + 1);
}
