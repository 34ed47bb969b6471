import { getMetadataStorage, ValidationTypes } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { TransformationType } from 'class-transformer';
import type { MetadataStorage as TransformMetadataStorage } from 'class-transformer/types/MetadataStorage';
import { LRUCache } from 'lru-cache';
import { isValueOnlyTransform } from './transforms';

// class-transformer keeps its decorators' metadata here and exports no reader of it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage: transforms } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformMetadataStorage };

/** How many validated flat arguments `InputValidationPipe` keeps, all marked classes together (least recently used first out). */
export const VALIDATED_ARGS_MAX = 1000;
/** The longest flat arguments (as JSON) it keeps: paging, not the text of a post. */
const VALIDATED_ARGS_KEY_MAX = 512;

/**
 * The checks whose answer is a function of the value alone (class-validator's, and ours in
 * validators.ts): no clock, no database, no state kept between calls. `matches` only with a
 * pattern that keeps no state (no `g` or `y` flag, whose `lastIndex` moves with each test).
 */
const VALUE_ONLY_CHECKS = new Set([
  'isOptional', 'isDefined', 'isInt', 'isNumber', 'isBoolean', 'isString', 'isEnum', 'isIn', 'isUuid',
  'min', 'max', 'minLength', 'maxLength', 'matches',
  'hasVisibleText', 'maxCharacters', 'minCharacters', 'isSingleLine', 'isPlainText',
]);

/** Each marked class's number in the keys: classes have no name of their own that is sure to differ. */
const marked = new WeakMap<object, number>();
let nextNumber = 0;

/** Why a check of an argument class may answer otherwise for the same value, or null when none can. */
function notValueOnly(check: ValidationMetadata): string | null {
  const name = check.name ?? check.type;
  if (check.validateIf) return `${check.propertyName} has a condition (validateIf) of its own`;
  // Nothing to check (Allow), or an input object's checks: objects are never kept (keyOf), only their absence.
  if (check.type === ValidationTypes.WHITELIST || check.type === ValidationTypes.NESTED_VALIDATION) return null;
  if (check.type === ValidationTypes.CONDITIONAL_VALIDATION && check.name !== 'isOptional') return `${check.propertyName} is checked under a condition (ValidateIf)`;
  if (!VALUE_ONLY_CHECKS.has(name)) return `${check.propertyName}'s check ${name} is not known to depend on the value alone`;
  const pattern: unknown = check.constraints?.[0];
  if (name === 'matches' && pattern instanceof RegExp && (pattern.global || pattern.sticky)) return `${check.propertyName}'s pattern keeps state (its g or y flag)`;
  return null;
}

/** The properties an instance of `target` holds before any argument is set (its initializers), or why none can be made. */
function setsItself(target: object): string[] {
  try {
    return Object.keys(new (target as new () => object)());
  } catch {
    return ['(the class cannot be made without arguments)'];
  }
}

/**
 * Marks an argument class (an `@ArgsType`, as a page's `first`/`after`) whose validated flat
 * arguments `InputValidationPipe` may keep and hand out again for the same values, without
 * validating them again.
 *
 * The rule: every check and transform of the class (those it inherits too) must answer from the
 * value alone, the same every time: no clock, no database, no request, no state kept between
 * calls. Marking a class that breaks it throws where the class is defined (so at start-up): a
 * check of a name not in VALUE_ONLY_CHECKS (a custom constraint, ValidateIf, a date "in the
 * future"), a `validateIf` option, a pattern with the g or y flag, a transform not made with
 * `valueOnlyTransform`, or a property the class sets itself (an initializer, run for every
 * instance: `@Field`'s `defaultValue` gives a default). Refusals are never kept, and only
 * arguments of primitives are (a nested input is validated every time). The mark is the class's own: a subclass that adds arguments is
 * validated every time until it is marked in turn.
 */
export function CacheableArgs(): ClassDecorator {
  return (target) => {
    const problems: string[] = [];
    const checks = getMetadataStorage().getTargetValidationMetadatas(target, '', true, false);
    for (const check of checks) {
      const problem = notValueOnly(check);
      if (problem) problems.push(problem);
    }
    for (const property of new Set(checks.map((c) => c.propertyName))) {
      for (const t of transforms.findTransformMetadatas(target, property, TransformationType.PLAIN_TO_CLASS)) {
        if (!isValueOnlyTransform(t.transformFn)) problems.push(`${property} has a transform not made with valueOnlyTransform`);
      }
    }
    // What the class sets itself (an initializer, `at = Date.now()`) is in every instance the checks make, and
    // kept, would be the first one's: defaults are @Field's defaultValue, which the request carries.
    for (const property of setsItself(target)) problems.push(`${property} is set by the class itself (an initializer): give its default with @Field's defaultValue`);
    if (problems.length) throw new Error(`${target.name} cannot be @CacheableArgs(): ${problems.join('; ')}`);
    if (!marked.has(target)) marked.set(target, nextNumber++);
  };
}

/** A value JSON writes back as it is: no undefined, NaN, infinity or -0, which it would change. */
const isPlainPrimitive = (v: unknown) =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0));

/** A copy of an instance with its own prototype: the resolver is handed one and may change it. */
const copyOf = (o: object): object => Object.assign(Object.create(Object.getPrototypeOf(o) as object | null) as object, o);

/**
 * The validated flat arguments of the classes marked `@CacheableArgs()`, by class and their
 * values' JSON (`{ first: 50 }`), in one LRU of VALIDATED_ARGS_MAX: the arguments every page
 * asks again stay, and those asked once (a cursor, an id) make way for them.
 */
export class ValidatedArgs {
  private readonly kept = new LRUCache<string, object>({ max: VALIDATED_ARGS_MAX });

  /** The key of `value` as arguments of `metatype`, or undefined when they are not kept: an unmarked class, or not flat primitives. */
  keyOf(metatype: unknown, value: unknown): string | undefined {
    const number = typeof metatype === 'function' ? marked.get(metatype) : undefined;
    if (number === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
    for (const v of Object.values(value)) if (!isPlainPrimitive(v)) return undefined;
    const json = JSON.stringify(value);
    return json.length <= VALIDATED_ARGS_KEY_MAX ? `${number}:${json}` : undefined;
  }

  /** A fresh copy of what the checks made of the arguments under `key`, if kept. */
  get(key: string): object | undefined {
    const kept = this.kept.get(key);
    return kept && copyOf(kept);
  }

  /** Keeps what the checks made, when it holds primitives alone: nothing one request could change for the next. */
  keep(key: string, result: unknown): void {
    if (typeof result !== 'object' || result === null) return;
    if (!Object.values(result).every((v) => v === null || (typeof v !== 'object' && typeof v !== 'function'))) return;
    this.kept.set(key, copyOf(result));
  }
}
