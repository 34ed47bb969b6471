/** class-transformer `@Transform` helpers shared by input types. */

const valueOnly = new WeakSet<object>();

/**
 * Declares a transform a function of the value alone (no clock, no database, no state kept
 * between calls): the only kind an argument class marked `@CacheableArgs()` may use.
 */
export function valueOnlyTransform<F extends (params: { value: unknown }) => unknown>(transform: F): F {
  valueOnly.add(transform);
  return transform;
}

/** Whether a transform was declared with valueOnlyTransform. */
export const isValueOnlyTransform = (transform: unknown): boolean => typeof transform === 'function' && valueOnly.has(transform);

/** Trims strings; leaves anything else for the validators to refuse. */
export const trim = valueOnlyTransform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));
