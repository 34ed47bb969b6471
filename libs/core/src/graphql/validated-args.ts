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
 * The checks declared to answer from the value alone (`valueOnlyCheck`), by the metadata each
 * one registered. A check's name proves nothing: any `ValidateBy` may call itself `isInt`.
 */
const declaredValueOnly = new WeakSet<ValidationMetadata>();

/**
 * Declares a class-validator decorator (a factory of them) a function of the value alone: no
 * clock, no database, no request, no state kept between calls, and constraints nobody can change
 * afterwards (a list or an enum is copied and frozen by the caller: see ValueOnly). The checks
 * it registers are then the only ones a class marked `@CacheableArgs()` may hold.
 */
export function valueOnlyCheck<A extends unknown[]>(decorator: (...args: A) => PropertyDecorator): (...args: A) => PropertyDecorator {
  return (...args) => {
    const inner = decorator(...args);
    return (object, property) => {
      const storage = getMetadataStorage();
      const before = new Set(storage.getTargetValidationMetadatas(object.constructor, '', true, false));
      inner(object, property);
      for (const check of storage.getTargetValidationMetadatas(object.constructor, '', true, false)) {
        if (before.has(check)) continue;
        // The check reads its constraints from here at every call: none may change them later.
        if (check.constraints) Object.freeze(check.constraints);
        declaredValueOnly.add(check);
      }
    };
  };
}

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
  if (!declaredValueOnly.has(check)) return `${check.propertyName}'s check ${name} is not declared to depend on the value alone (take it from ValueOnly)`;
  const pattern: unknown = check.constraints?.[0];
  if (name === 'matches' && pattern instanceof RegExp && (pattern.global || pattern.sticky)) return `${check.propertyName}'s pattern keeps state (its g or y flag)`;
  return null;
}

/** The accessors and values `target`'s prototypes hold (methods aside): what reading or setting an argument may run or find there. */
function prototypeProblems(target: object): string[] {
  const problems: string[] = [];
  for (let p = (target as { prototype: object }).prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object) {
    for (const [property, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
      if (property === 'constructor' || typeof d.value === 'function') continue;
      problems.push(d.get || d.set ? `${property} is an accessor (get or set), which runs on every read or write` : `${property} is set on the prototype`);
    }
  }
  return problems;
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
 * calls, no list or enum changed afterwards. Marking a class that breaks it, or whose checks
 * cannot show they keep it, throws where the class is defined (so at start-up): a check not
 * declared with `valueOnlyCheck` (take class-validator's and ours from `ValueOnly`: a name is no
 * proof), ValidateIf, a `validateIf` option, a pattern with the g or y flag, a transform not made
 * with `valueOnlyTransform`, a conversion (`@Type`) but a nested input's, an accessor or a value on the prototype, or
 * a property the class sets itself (an initializer, run for every
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
      // @Type's function picks the conversion at every call, and nothing declares it pure. Under
      // ValidateNested, only an object passes, and objects are never kept; elsewhere it may make a
      // primitive (Number, String, Boolean) that is: convert with a valueOnlyTransform.
      const nested = checks.some((c) => c.propertyName === property && c.type === ValidationTypes.NESTED_VALIDATION);
      if (transforms.findTypeMetadata(target, property) && !nested) problems.push(`${property} has a conversion (@Type) outside ValidateNested: convert with a valueOnlyTransform`);
    }
    problems.push(...prototypeProblems(target));
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
